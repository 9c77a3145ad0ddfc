r"""Reference-free pairwise losses: SimPO and ORPO (two arrays, no reference model).

Both take the chosen and rejected sequence log-probabilities and the token counts; ``beta`` is
the reward scale that takes DPO's KL weight's place.

- :func:`simpo`: Meng, Xia and Chen (2024), "SimPO: Simple Preference Optimization with a
  Reference-Free Reward", Eq. 6.
- :func:`orpo`: Hong, Lee and Thorne (2024), "ORPO: Monolithic Preference Optimization without
  Reference Model", Eqs. 6-7.
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_nonnegative
from . import _pairwise_core as core
from ._math import aligned, common, sigmoid, softplus
from ._pairwise_core import LENGTHS
from ._registry import ValueAndGrad, register_loss

__all__ = ["orpo", "simpo"]


@renamed_parameters(gamma="margin")
def _simpo_vg(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths,
              margin=0.5, label_smoothing=0.0):
    b = core.positive_beta(beta)
    g = check_nonnegative(margin, "margin")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r = common(("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps))
    lw, lr = core.lengths(chosen_lengths, rejected_lengths, c, required=True)
    x = b * (c / lw - r / lr) - g
    v, d = core.smoothed_sigmoid(x, eps)
    grads = (b * d / lw, -b * d / lr)
    core.finite(v, grads, "simpo")
    return ValueAndGrad(v, grads)


@register_loss("simpo", kind="pair2", gradient=_simpo_vg, extras=LENGTHS,
               defaults=dict(beta=2.0, margin=0.5), families=("reference_free",))
@renamed_parameters(gamma="margin")
@core.doc
def simpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, margin=0.5,
          label_smoothing=0.0):
    r"""SimPO: reference-free, length-averaged DPO with a target margin.

    .. math::
        \ell = -(1-\varepsilon)\log\sigma(x) - \varepsilon\log\sigma(-x), \qquad
        x = \beta\Big(\frac{\log\pi(y_w)}{L_w} - \frac{\log\pi(y_l)}{L_l}\Big) - \gamma

    with :math:`L_w, L_l` the token counts, :math:`\beta` SimPO's reward scale (typically 2-2.5,
    **not** a KL weight), :math:`\gamma` the target margin and :math:`\varepsilon` label smoothing.

    Meng, Xia and Chen (2024), "SimPO", Eq. 6. Equals TRL 1.16 ``CPOTrainer(loss_type="simpo",
    cpo_alpha=0, simpo_gamma=margin)``; with TRL's default ``cpo_alpha=1`` TRL adds an NLL term
    (CPO-SimPO). The official code's ``gamma_beta_ratio`` is :math:`\gamma/\beta`.

    Parameters
    ----------
    {params2}
    beta : float > 0
        The reward scale :math:`\beta`.
    chosen_lengths, rejected_lengths : array, shape (n,)
        Token counts :math:`L_w, L_l > 0`.
    margin : float >= 0
        The target margin :math:`\gamma` (the paper's :math:`\gamma`, TRL's ``simpo_gamma``,
        default 0.5; the keyword ``gamma`` is deprecated: ``gamma`` in prefrl is the discount).
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon` (TRL CPO's ``label_smoothing``).

    Examples
    --------
    >>> simpo([-4.0], [-12.0], beta=2.0, chosen_lengths=[4], rejected_lengths=[6],
    ...       margin=1.0).round(4)
    array([0.3133])
    """
    return _simpo_vg(chosen_logps, rejected_logps, beta=beta, chosen_lengths=chosen_lengths,
                     rejected_lengths=rejected_lengths, margin=margin,
                     label_smoothing=label_smoothing).values


def _log1mexp(a):
    """log(1 - e^a) for a < 0, switching at -ln 2 (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(a > -np.log(2.0), np.log(-np.expm1(np.minimum(a, 0))),
                        np.log1p(-np.exp(np.minimum(a, 0))))


def _orpo_vg(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths,
             nll=None):
    b = core.positive_beta(beta)
    c, r = common(("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps))
    lw, lr = core.lengths(chosen_lengths, rejected_lengths, c, required=True)
    aw, al = c / lw, r / lr
    for name, a in (("chosen_logps", aw), ("rejected_logps", al)):
        bad = a >= 0
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] / length = {a[i]}, must be < 0 (a log-probability "
                             "of a response with probability < 1)")
    if nll is None:
        nll_v, dnll = -aw, -1.0 / lw
    else:
        nll_v = aligned(nll, "nll", c)
        dnll = 0.0
    z = (aw - al) - (_log1mexp(aw) - _log1mexp(al))
    v = nll_v + b * softplus(-z)
    dz = -b * sigmoid(-z)
    # d z / d a = 1 / (1 - e^a) = -1 / expm1(a)
    grads = (dnll + dz * (-1.0 / np.expm1(aw)) / lw, -dz * (-1.0 / np.expm1(al)) / lr)
    grads = tuple(np.asarray(g, dtype=c.dtype) for g in grads)
    core.finite(v, grads, "orpo")
    return ValueAndGrad(v, grads)


@register_loss("orpo", kind="pair2", gradient=_orpo_vg, extras=LENGTHS,
               defaults=dict(beta=0.1), families=("reference_free",))
@core.doc
def orpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, nll=None):
    r"""ORPO: negative log-likelihood plus a log-odds-ratio preference term; no reference model.

    .. math::
        \ell = \mathcal{L}_{NLL} - \beta\log\sigma\Big(\log\frac{\mathrm{odds}(y_w)}
               {\mathrm{odds}(y_l)}\Big), \qquad
        \log\mathrm{odds}(y) = a(y) - \log(1 - e^{a(y)}), \quad a(y) = \frac{\log\pi(y)}{L_y}

    with :math:`a` the token-averaged log-probability, :math:`L_y` the token count and
    :math:`\beta` the weight (the paper's :math:`\lambda`). Hong, Lee and Thorne (2024), "ORPO",
    Eqs. 6-7. The NLL convention: by default :math:`\mathcal{L}_{NLL} = -a(y_w)`, the token-mean
    NLL of the chosen *completion* (the paper's). TRL 1.16 ``ORPOTrainer`` instead averages the
    NLL over the whole chosen sequence **including the prompt** (batch token-mean); pass that
    per-example value as ``nll`` to reproduce it (then no gradient flows through it).

    Parameters
    ----------
    {params2}
    beta : float > 0
        Weight :math:`\beta` of the odds-ratio term (TRL's ``beta``, default 0.1).
    chosen_lengths, rejected_lengths : array, shape (n,)
        Token counts; :math:`a = \log\pi / L` must be < 0.
    nll : array, shape (n,), optional
        A precomputed NLL term replacing :math:`-a(y_w)`.

    Examples
    --------
    >>> orpo([-2.0], [-2.0], beta=0.1, chosen_lengths=[2], rejected_lengths=[2]).round(4)
    array([1.0693])
    """
    return _orpo_vg(chosen_logps, rejected_logps, beta=beta, chosen_lengths=chosen_lengths,
                    rejected_lengths=rejected_lengths, nll=nll).values
