r"""Other losses of the pairwise margin: IPO's square, SLiC's hinge, EXO's KL, DiscoPOP's blend.

Each is a function of the (f-divergence scored) margin :math:`s_w - s_l` of the log-ratios other
than DPO's logistic loss; see :mod:`prefrl.losses` for the inputs' convention.

- :func:`ipo`: Azar et al. (2024), "A General Theoretical Paradigm to Understand Learning from
  Human Preferences", Eq. 17 (regress the margin onto :math:`1/(2\beta)`).
- :func:`hinge`: Zhao et al. (2023), "SLiC-HF", Eq. 1.
- :func:`exo_pair`: Ji et al. (2024), "Towards Efficient Exact Optimization of Language Model
  Alignment", Eq. 16 (``exo-pref``).
- :func:`discopop`: Chris Lu et al. (2024), "Discovering Preference Optimization Algorithms with
  and for Large Language Models", Eq. 5 (LRML).
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_positive
from . import _pairwise_core as core
from ._math import log_sigmoid, sigmoid, softplus
from ._pairwise_core import LENGTHS
from ._registry import register_loss

__all__ = ["EXO_EPSILON_AUTHORS", "EXO_EPSILON_TRL", "discopop", "exo_pair", "hinge", "ipo"]

#: EXO's label smoothing in TRL (``loss_type="exo_pair"``; TRL <= 0.28 replaced
#: ``label_smoothing=0`` by 1e-3): the default of :func:`exo_pair`; stationary margin
#: :math:`\beta h = \log 999 \approx 6.9068`.
EXO_EPSILON_TRL = 1e-3

#: EXO's label smoothing in the authors' public implementation: its ``exo-pref`` labels are the
#: log-weights 0 (chosen) and -10 (rejected), i.e. :math:`\varepsilon = \sigma(-10) =
#: 1/(1+e^{10}) \approx 4.5398\times 10^{-5}`; stationary margin :math:`\beta h = 10` exactly.
EXO_EPSILON_AUTHORS = float(1.0 / (1.0 + np.exp(10.0)))


def _hinge_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
              f_divergence="reverse_kl", f_alpha=0.5):
    b = core.positive_beta(beta)
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        z = 1 - b * (sw - sl)
        d = np.where(z > 0, -b, 0.0).astype(z.dtype)
        return np.maximum(z, 0), d, -d

    return core.run("hinge", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@register_loss("hinge", kind="pair", gradient=_hinge_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def hinge(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
          f_divergence="reverse_kl", f_alpha=0.5):
    r"""SLiC hinge loss on the scaled log-ratio margin.

    .. math::
        \ell = \max(0,\ 1 - \beta\,(s_w - s_l))

    Zhao et al. (2023), "SLiC-HF", Eq. 1 (with the reference log-ratio in place of the raw
    log-probability, as in TRL); equals TRL 1.16 ``loss_type="hinge"``. The margin 1 of the paper
    is :math:`1/\beta` in units of :math:`h`. The gradient at the kink is taken as 0 (torch's).

    Parameters
    ----------
    {params}
    {fdiv}

    Examples
    --------
    >>> hinge([0.0, 3.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], beta=0.5).round(4)
    array([1., 0.])
    """
    return _hinge_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                     beta=beta, f_divergence=f_divergence, f_alpha=f_alpha).values


def _ipo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            chosen_lengths=None, rejected_lengths=None, f_divergence="reverse_kl", f_alpha=0.5,
            _need_grad=True):
    b = core.positive_beta(beta)
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = core.lengths(chosen_lengths, rejected_lengths, arrays[0])
    target = 1.0 / (2.0 * b)

    def kernel(sw, sl):
        z = (sw - sl) - target
        return z * z, lambda: (2 * z, -2 * z)

    return core.run("ipo", kernel, arrays, lengths=lengths, f_divergence=f_divergence,
                    f_alpha=f_alpha, need_grad=_need_grad)


@register_loss("ipo", kind="pair", gradient=_ipo_vg, defaults=dict(beta=0.1),
               optional=LENGTHS, families=("pairwise",))
@core.doc
def ipo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_lengths=None, rejected_lengths=None, f_divergence="reverse_kl", f_alpha=0.5):
    r"""Identity Preference Optimization: regress the log-ratio margin onto :math:`1/(2\beta)`.

    .. math::
        \ell = \Big(\frac{s_w}{L_w} - \frac{s_l}{L_l} - \frac{1}{2\beta}\Big)^2

    with :math:`L_w = L_l = 1` by default (the paper's summed log-probabilities) or the token
    counts when ``chosen_lengths`` / ``rejected_lengths`` are given. The target is on the raw
    margin :math:`h`, **not** on :math:`\beta h` (a common bug puts :math:`\beta` inside the square).
    The minimum is at :math:`h^* = 1/(2\beta)`.

    Azar et al. (2024), "A General Theoretical Paradigm to Understand Learning from Human
    Preferences", Eq. 17 (their :math:`\tau` is :math:`\beta`).

    Parameters
    ----------
    {params}
    chosen_lengths, rejected_lengths : array, shape (n,), optional
        Token counts :math:`L_w, L_l > 0`. Given: the token-averaged convention of TRL 1.16
        ``loss_type="ipo"`` (TRL PR #1265). Omitted (default): summed log-probs, as in the paper,
        TRL ``OnlineDPOTrainer`` and OpenRLHF ``DPOLoss(ipo=True)``.
    {fdiv}

    Examples
    --------
    >>> ipo([0.5, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], beta=1.0).round(4)
    array([0.  , 0.25])
    >>> ipo([-4.0], [-6.0], [-5.0], [-5.0], beta=1.0, chosen_lengths=[2], rejected_lengths=[4])
    array([0.0625])
    """
    return _ipo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   chosen_lengths=chosen_lengths, rejected_lengths=rejected_lengths,
                   f_divergence=f_divergence, f_alpha=f_alpha, _need_grad=False).values


def _exo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            label_smoothing=1e-3, f_divergence="reverse_kl", f_alpha=0.5):
    b = core.positive_beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0, low_open=True,
                         high_open=True)
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    la, lb = float(np.log1p(-eps)), float(np.log(eps))

    def kernel(sw, sl):
        x = b * (sw - sl)
        q, qm = sigmoid(x), sigmoid(-x)
        # q and 1-q multiply log-sigmoids that may be -1e4; 0 * finite is 0, never NaN.
        v = q * (log_sigmoid(x) - la) + qm * (log_sigmoid(-x) - lb)
        d = b * q * qm * (x - (la - lb))
        return v, d, -d

    return core.run("exo_pair", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@register_loss("exo_pair", kind="pair", gradient=_exo_vg,
               defaults=dict(beta=0.1, label_smoothing=EXO_EPSILON_TRL), families=("pairwise",))
@core.doc
def exo_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             label_smoothing=EXO_EPSILON_TRL, f_divergence="reverse_kl", f_alpha=0.5):
    r"""EXO for preference pairs: KL from the model's pair distribution to the smoothed labels.

    .. math::
        \ell = q\,\big(\log q - \log(1-\varepsilon)\big) + (1-q)\big(\log(1-q) - \log\varepsilon\big),
        \qquad q = \sigma(\beta\,(s_w - s_l))

    i.e. :math:`\mathrm{KL}(\mathrm{Bern}(q)\,\|\,\mathrm{Bern}(1-\varepsilon))`, minimised at
    :math:`q = 1-\varepsilon`, that is at the stationary margin
    :math:`\beta(s_w - s_l) = \log\big((1-\varepsilon)/\varepsilon\big)`. Ji et al. (2024),
    "Towards Efficient Exact Optimization of Language Model Alignment", Eq. 16 (``exo-pref``);
    equals TRL 1.16 ``loss_type="exo_pair"``.

    The smoothing :math:`\varepsilon` sets how far the pair is pushed apart, and two values are in
    use: TRL's :data:`EXO_EPSILON_TRL` = 1e-3 (prefrl's default; stationary margin
    :math:`\log 999 \approx 6.91`) and the authors' implementation's
    :data:`EXO_EPSILON_AUTHORS` = :math:`\sigma(-10) \approx 4.54\times 10^{-5}` (labels with
    log-weights 0 and -10; stationary margin exactly 10). The paper's text does not state
    :math:`\varepsilon`; pass the one of the trainer you compare with.

    Parameters
    ----------
    {params}
    label_smoothing : float in (0, 1)
        :math:`\varepsilon`; 0 is an error here and in TRL 1.x (TRL <= 0.28 silently used 1e-3,
        which is prefrl's default).
    {fdiv}

    Examples
    --------
    >>> import numpy as np
    >>> h = np.log(0.9 / 0.1)
    >>> exo_pair([h], [0.0], [0.0], [0.0], beta=1.0, label_smoothing=0.1).round(12)
    array([0.])
    >>> [round(float(np.log((1 - e) / e)), 4) for e in (EXO_EPSILON_TRL, EXO_EPSILON_AUTHORS)]
    [6.9068, 10.0]
    """
    return _exo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   label_smoothing=label_smoothing, f_divergence=f_divergence,
                   f_alpha=f_alpha).values


@renamed_parameters(tau="temperature")
def _discopop_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 temperature=0.05, f_divergence="reverse_kl", f_alpha=0.5):
    b = core.positive_beta(beta)
    t = check_positive(temperature, "temperature")
    core.check_fdiv(f_divergence, f_alpha)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        rho = b * (sw - sl)
        ls_p, ls_m = log_sigmoid(rho / t), log_sigmoid(-rho / t)
        one_m = np.exp(ls_m)  # 1 - m
        m = np.exp(ls_p)
        sp = softplus(-rho)
        me = np.exp(ls_p - rho)  # m * exp(-rho), finite whenever tau < 1
        mm = np.exp(ls_p + ls_m)  # m (1 - m)
        mme = np.exp(ls_p + ls_m - rho)  # m (1 - m) exp(-rho)
        v = one_m * sp + me
        d = -(mm / t) * sp - one_m * sigmoid(-rho) + mme / t - me
        del m
        return v, b * d, -b * d

    return core.run("discopop", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@register_loss("discopop", kind="pair", gradient=_discopop_vg,
               defaults=dict(beta=0.1, temperature=0.05), families=("pairwise",))
@renamed_parameters(tau="temperature")
@core.doc
def discopop(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             temperature=0.05, f_divergence="reverse_kl", f_alpha=0.5):
    r"""DiscoPOP: a log-ratio-modulated blend of the logistic and exponential losses.

    .. math::
        \ell = (1 - m)\,\big(-\log\sigma(\rho)\big) + m\,e^{-\rho},
        \qquad \rho = \beta\,(s_w - s_l), \quad m = \sigma(\rho/\tau)

    Chris Lu et al. (2024), "Discovering Preference Optimization Algorithms with and for Large
    Language Models", Eq. 5 (LRML); equals TRL 1.16 ``loss_type="discopop"`` with
    ``discopop_tau=temperature``. The term :math:`m e^{-\rho}` is computed as
    :math:`\exp(\log\sigma(\rho/\tau) - \rho)`, finite for all margins when :math:`\tau < 1`.

    Parameters
    ----------
    {params}
    temperature : float > 0
        The temperature :math:`\tau` of the mixing weight (the paper's :math:`\tau`, TRL's
        ``discopop_tau``, default 0.05; the keyword ``tau`` is deprecated: ``tau`` in prefrl is
        the entropy weight).
    {fdiv}

    Examples
    --------
    >>> discopop([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([0.8466])
    """
    return _discopop_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        beta=beta, temperature=temperature, f_divergence=f_divergence,
                        f_alpha=f_alpha).values
