r"""The DPO sigmoid family: DPO, conservative DPO, robust DPO and length-normalised DPO.

Each loss is a logistic loss of the scaled margin :math:`\beta (s_w - s_l)` of the (f-divergence
scored) log-ratios; see :mod:`prefrl.losses` for the inputs' convention.

- :func:`dpo` (registered also as TRL's ``sigmoid``): Rafailov et al. (2023), "Direct Preference
  Optimization", Eq. 7, with the label smoothing of cDPO and the f-divergence scores of Wang et
  al. (2024), "Beyond Reverse KL", Thm. 1.
- :func:`cdpo`: Mitchell (2023), "A note on DPO with noisy preferences" (cDPO).
- :func:`robust_dpo` (also ``robust``): Chowdhury, Kini and Natarajan (2024), "Provably Robust
  DPO", Eq. 9.
- :func:`sigmoid_norm`: Lambert et al. (2024), "Tülu 3", Eq. 6 (length-normalised DPO).
"""

from __future__ import annotations

from .._validation import check_in_range
from . import _pairwise_core as core
from ._math import sigmoid, softplus
from ._pairwise_core import LENGTHS
from ._registry import register_loss

__all__ = ["cdpo", "dpo", "robust_dpo", "sigmoid_norm"]


def _dpo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5, _name="dpo",
            _need_grad=True):
    b = core.positive_beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        x = b * (sw - sl)
        v = softplus(-x) if eps == 0 else (1 - eps) * softplus(-x) + eps * softplus(x)

        def grad():
            d = b * (-(1 - eps) * sigmoid(-x) + eps * sigmoid(x))
            return d, -d

        return v, grad

    return core.run(_name, kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha,
                    need_grad=_need_grad)


@register_loss("dpo", kind="pair", gradient=_dpo_vg, defaults=dict(beta=0.1),
               aliases=("sigmoid",), families=("pairwise",))
@core.doc
def dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    r"""Direct Preference Optimization loss (also registered as ``sigmoid``).

    .. math::
        \ell = -(1-\varepsilon)\log\sigma(\beta\,(s_w - s_l)) - \varepsilon\log\sigma(-\beta\,(s_w - s_l))

    with :math:`s_w = s(r_w)`, :math:`s_l = s(r_l)` the f-divergence scores of the log-ratios
    (:math:`s(r) = r` for the reverse KL), :math:`\beta` the KL weight and :math:`\varepsilon` the
    label smoothing (0 gives the DPO paper's loss).

    Rafailov et al. (2023), "Direct Preference Optimization", Eq. 7; label smoothing is cDPO
    (Mitchell 2023); scores from Wang et al. (2024), "Beyond Reverse KL", Thm. 1.

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon`. TRL 1.16 ``loss_type="sigmoid"`` ignores it (equals ``0``); TRL <= 0.28
        and OpenRLHF's ``DPOLoss`` apply it as here.
    {fdiv}

    Returns
    -------
    array, shape (n,)
        Per-pair loss. ``label_smoothing=0`` with reverse KL equals TRL 1.16 ``sigmoid``.

    Examples
    --------
    >>> dpo([-1.0, -2.0], [-2.0, -1.0], [-1.5, -1.5], [-1.5, -1.5], beta=1.0).round(4)
    array([0.3133, 1.3133])
    """
    return _dpo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   label_smoothing=label_smoothing, f_divergence=f_divergence,
                   f_alpha=f_alpha, _need_grad=False).values


def _cdpo_vg(*arrays, label_smoothing, **options):
    return _dpo_vg(*arrays, label_smoothing=label_smoothing, _name="cdpo", **options)


@register_loss("cdpo", kind="pair", gradient=_cdpo_vg,
               defaults=dict(beta=0.1, label_smoothing=0.1), families=("pairwise",))
@core.doc
def cdpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
         label_smoothing, f_divergence="reverse_kl", f_alpha=0.5):
    r"""Conservative DPO: DPO with the labels flipped with probability :math:`\varepsilon`.

    .. math::
        \ell = -(1-\varepsilon)\log\sigma(\beta h) - \varepsilon\log\sigma(-\beta h),
        \qquad h = s_w - s_l

    The gradient vanishes where :math:`\sigma(\beta h) = 1 - \varepsilon`, i.e. at
    :math:`h^* = \log((1-\varepsilon)/\varepsilon)/\beta`.

    Mitchell (2023), "A note on DPO with noisy preferences" (cDPO); the ``label_smoothing`` of
    TRL <= 0.28 ``sigmoid``, of TRL's ``aot`` and CPO ``sigmoid``, and of OpenRLHF ``DPOLoss``.

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon`, the probability that a label is flipped.
    {fdiv}

    Examples
    --------
    >>> import numpy as np
    >>> h = np.log(0.9 / 0.1)  # the stationary margin for beta=1, eps=0.1
    >>> from prefrl.losses import value_and_grad
    >>> g = value_and_grad("cdpo", [h], [0.0], [0.0], [0.0], beta=1.0, label_smoothing=0.1).grads
    >>> bool(abs(g[0][0]) < 1e-12)
    True
    """
    return _dpo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   label_smoothing=label_smoothing, f_divergence=f_divergence, f_alpha=f_alpha,
                   _name="cdpo", _need_grad=False).values


def _robust_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
               label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    b = core.positive_beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5, high_open=True)
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        x = b * (sw - sl)
        v = ((1 - eps) * softplus(-x) - eps * softplus(x)) / (1 - 2 * eps)
        d = b * (-(1 - eps) * sigmoid(-x) - eps * sigmoid(x)) / (1 - 2 * eps)
        return v, d, -d

    return core.run("robust_dpo", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@register_loss("robust_dpo", kind="pair", gradient=_robust_vg,
               defaults=dict(beta=0.1, label_smoothing=0.1), aliases=("robust",),
               families=("pairwise",))
@core.doc
def robust_dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
               label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    r"""Robust DPO (rDPO), unbiased under label noise of rate :math:`\varepsilon`; also ``robust``.

    .. math::
        \ell = \frac{-(1-\varepsilon)\log\sigma(\beta h) + \varepsilon\log\sigma(-\beta h)}
                    {1 - 2\varepsilon}, \qquad h = s_w - s_l

    Note the sign of the flipped term, opposite to :func:`cdpo`: the loss is unbounded below as
    :math:`h \to +\infty` (slope :math:`-\varepsilon\beta/(1-2\varepsilon)`) when
    :math:`\varepsilon > 0`.

    Chowdhury, Kini and Natarajan (2024), "Provably Robust DPO", Eq. 9. Equals TRL 1.16
    ``loss_type="robust"`` with the same ``label_smoothing``.

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5)
        :math:`\varepsilon`, the assumed label-flip rate.
    {fdiv}

    Examples
    --------
    >>> robust_dpo([0.0], [0.0], [0.0], [0.0], beta=1.0, label_smoothing=0.1).round(4)
    array([0.6931])
    """
    return _robust_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                      beta=beta, label_smoothing=label_smoothing, f_divergence=f_divergence,
                      f_alpha=f_alpha).values


def _sigmoid_norm_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                     chosen_lengths, rejected_lengths, f_divergence="reverse_kl", f_alpha=0.5):
    b = core.positive_beta(beta)
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = core.lengths(chosen_lengths, rejected_lengths, arrays[0], required=True)

    def kernel(sw, sl):
        x = b * (sw - sl)
        d = -b * sigmoid(-x)
        return softplus(-x), d, -d

    return core.run("sigmoid_norm", kernel, arrays, lengths=lengths, f_divergence=f_divergence,
                    f_alpha=f_alpha)


@register_loss("sigmoid_norm", kind="pair", gradient=_sigmoid_norm_vg, extras=LENGTHS,
               defaults=dict(beta=0.1), families=("pairwise",))
@core.doc
def sigmoid_norm(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 chosen_lengths, rejected_lengths, f_divergence="reverse_kl", f_alpha=0.5):
    r"""Length-normalised DPO: DPO on token-averaged log-ratios.

    .. math::
        \ell = -\log\sigma\Big(\beta\Big(\frac{s_w}{L_w} - \frac{s_l}{L_l}\Big)\Big)

    with :math:`L_w, L_l` the token counts. Lambert et al. (2024), "Tülu 3", Eq. 6 (length-normalised
    DPO); equals TRL 1.16 ``loss_type="sigmoid_norm"``.

    Parameters
    ----------
    {params}
    chosen_lengths, rejected_lengths : array, shape (n,)
        Token counts :math:`L_w, L_l > 0` (required).
    {fdiv}

    Examples
    --------
    >>> sigmoid_norm([-2.0], [-4.0], [-2.0], [-2.0], beta=1.0, chosen_lengths=[1],
    ...              rejected_lengths=[2]).round(4)
    array([0.3133])
    """
    return _sigmoid_norm_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                            beta=beta, chosen_lengths=chosen_lengths,
                            rejected_lengths=rejected_lengths, f_divergence=f_divergence,
                            f_alpha=f_alpha).values
