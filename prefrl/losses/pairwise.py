r"""Pairwise preference losses on sequence log-probabilities (DPO and its family).

Every loss takes four 1-D arrays of the same shape ``(n,)``: the policy's log-probabilities of the
chosen and rejected responses and the reference model's log-probabilities of the same responses,

.. math::
    r_w = \log\pi(y_w) - \log\pi_{ref}(y_w), \qquad r_l = \log\pi(y_l) - \log\pi_{ref}(y_l),
    \qquad h = r_w - r_l,

and returns the unreduced per-pair loss, shape ``(n,)``. Sequence log-probabilities are sums of
token log-probabilities (the DPO paper's convention and TRL's); the length-normalised variants take
the token counts ``chosen_lengths`` / ``rejected_lengths`` explicitly.

Conventions follow TRL 1.16.0 ``DPOTrainer`` (``loss_type`` of the same name) unless the docstring
says otherwise; see :doc:`/theory/loss_conventions`. All losses are written with log-sigmoid and
softplus so that margins of :math:`\pm 10^4` stay finite in float32 and float64; float32 input
gives float32 output. Gradients: :func:`prefrl.losses.value_and_grad`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_in_range, check_nonnegative, check_positive, check_same_shape
from ._math import common, float_array, log_sigmoid, positive_lengths, sigmoid, softplus
from ._registry import ValueAndGrad, register_gradient

__all__ = [
    "F_DIVERGENCES",
    "PAIRWISE",
    "REFERENCE_FREE",
    "aot",
    "aot_unpaired",
    "apo_down",
    "apo_zero",
    "bco_pair",
    "cdpo",
    "discopop",
    "dno",
    "dpo",
    "exo_pair",
    "hinge",
    "ipo",
    "nca_pair",
    "orpo",
    "rebel",
    "robust_dpo",
    "sigmoid_norm",
    "simpo",
    "sppo",
    "sppo_hard",
]

#: The f-divergences of TRL's ``f_divergence_type`` (DPO scores :math:`s(r)`, Wang et al. 2024).
F_DIVERGENCES = ("reverse_kl", "forward_kl", "js_divergence", "alpha_divergence")

_PARAMS = """chosen_logps : array, shape (n,)
        :math:`\\log\\pi(y_w)`, summed over the chosen response's tokens.
    rejected_logps : array, shape (n,)
        :math:`\\log\\pi(y_l)`, summed over the rejected response's tokens.
    ref_chosen_logps : array, shape (n,)
        :math:`\\log\\pi_{ref}(y_w)`.
    ref_rejected_logps : array, shape (n,)
        :math:`\\log\\pi_{ref}(y_l)`.
    beta : float > 0
        The KL weight :math:`\\beta` (TRL's ``beta``; the IPO paper's :math:`\\tau`)."""

_FDIV = """f_divergence : {"reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"}
        Replace each log-ratio :math:`r` by the score :math:`s(r)` of TRL's ``f_divergence_type``:
        :math:`r`, :math:`1-e^{-r}`, :math:`\\log 2 + \\log\\sigma(r)`, or
        :math:`(e^{(\\alpha-1) r}-1)/(\\alpha-1)`. Default reverse KL (the paper's DPO). TRL clamps
        the alpha exponent at 80; prefrl does not, and raises if a score overflows.
    f_alpha : float
        :math:`\\alpha` of the alpha divergence (TRL's ``f_alpha_divergence_coef``, default 0.5)."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("{params}", _PARAMS).replace("{fdiv}", _FDIV)
    return fn


# --------------------------------------------------------------------------------------------
# plumbing: validation, scores, chain rule


def _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps):
    return common(
        ("chosen_logps", chosen_logps),
        ("rejected_logps", rejected_logps),
        ("ref_chosen_logps", ref_chosen_logps),
        ("ref_rejected_logps", ref_rejected_logps),
    )


def _scores(r, f_divergence, f_alpha):
    """s(r) and ds/dr for the f-divergence scores."""
    if f_divergence == "reverse_kl":
        return r, 1.0
    with np.errstate(over="ignore"):
        if f_divergence == "forward_kl":
            e = np.exp(-r)
            return -np.expm1(-r), e
        if f_divergence == "js_divergence":
            return np.log(2.0).astype(r.dtype) + log_sigmoid(r), sigmoid(-r)
        if f_divergence == "alpha_divergence":
            a = f_alpha - 1.0
            if abs(a) < 1e-6:  # the alpha -> 1 limit is the reverse KL
                return r, np.ones_like(r)
            return np.expm1(a * r) / a, np.exp(a * r)
    raise ValueError(f"f_divergence must be one of {F_DIVERGENCES}, got {f_divergence!r}")


def _check_fdiv(f_divergence, f_alpha, allowed=True):
    if f_divergence not in F_DIVERGENCES:
        raise ValueError(f"f_divergence must be one of {F_DIVERGENCES}, got {f_divergence!r}")
    if not allowed and f_divergence != "reverse_kl":
        raise ValueError(
            f"f_divergence={f_divergence!r} is not defined for this loss (it uses raw log-ratios; "
            "TRL 1.16 rejects the combination too)"
        )
    if not np.isfinite(f_alpha):
        raise ValueError(f"f_alpha must be finite, got {f_alpha}")


def _finite(values, grads, name):
    if not np.all(np.isfinite(values)) or any(not np.all(np.isfinite(g)) for g in grads):
        raise ValueError(
            f"{name}: the loss overflowed (a score or exponential exceeded the float range); "
            "this option is unbounded for these log-ratios"
        )


def _run(name, kernel, arrays, *, lengths=None, f_divergence="reverse_kl", f_alpha=0.5,
         need_grad=True):
    """Apply ``kernel(s_w, s_l) -> (v, dv/ds_w, dv/ds_l)`` to the (scored, normalised) log-ratios.

    A kernel may instead return ``(v, grad_fn)`` with ``grad_fn() -> (dv/ds_w, dv/ds_l)``, so
    that the plain loss functions do not pay for gradients (``need_grad=False``).
    """
    c, r, rc, rr = arrays
    rw, rl = c - rc, r - rr
    sw, dsw = _scores(rw, f_divergence, f_alpha)
    sl, dsl = _scores(rl, f_divergence, f_alpha)
    if lengths is not None:
        lw, ll = lengths
        sw, dsw, sl, dsl = sw / lw, dsw / lw, sl / ll, dsl / ll
    with np.errstate(over="ignore", invalid="ignore"):
        out = kernel(sw, sl)
        v = out[0]
        if not need_grad:
            _finite(v, (), name)
            return ValueAndGrad(v, ())
        gw, gl = out[1]() if len(out) == 2 else out[1:]
        gw, gl = gw * dsw, gl * dsl
    grads = (gw, gl, -gw, -gl)
    _finite(v, grads, name)
    return ValueAndGrad(v, grads)


def _lengths(chosen_lengths, rejected_lengths, like, required=False):
    if chosen_lengths is None and rejected_lengths is None:
        if required:
            raise ValueError("chosen_lengths and rejected_lengths are required for this loss")
        return None
    if chosen_lengths is None or rejected_lengths is None:
        raise ValueError("give both chosen_lengths and rejected_lengths, or neither")
    return (
        positive_lengths(chosen_lengths, "chosen_lengths", like),
        positive_lengths(rejected_lengths, "rejected_lengths", like),
    )


def _beta(beta):
    return check_positive(beta, "beta")


def _smoothed_sigmoid(x, eps):
    """-(1-eps) log sig(x) - eps log sig(-x) and its derivative in x."""
    v = (1 - eps) * softplus(-x) + eps * softplus(x)
    return v, -(1 - eps) * sigmoid(-x) + eps * sigmoid(x)


# --------------------------------------------------------------------------------------------
# DPO, cDPO, robust DPO, hinge, IPO


def _dpo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5, _name="dpo",
            _need_grad=True):
    b = _beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        x = b * (sw - sl)
        v = softplus(-x) if eps == 0 else (1 - eps) * softplus(-x) + eps * softplus(x)

        def grad():
            d = b * (-(1 - eps) * sigmoid(-x) + eps * sigmoid(x))
            return d, -d

        return v, grad

    return _run(_name, kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha,
                need_grad=_need_grad)


@_doc
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


@_doc
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
    b = _beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5, high_open=True)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        x = b * (sw - sl)
        v = ((1 - eps) * softplus(-x) - eps * softplus(x)) / (1 - 2 * eps)
        d = b * (-(1 - eps) * sigmoid(-x) - eps * sigmoid(x)) / (1 - 2 * eps)
        return v, d, -d

    return _run("robust_dpo", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@_doc
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


def _hinge_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
              f_divergence="reverse_kl", f_alpha=0.5):
    b = _beta(beta)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(sw, sl):
        z = 1 - b * (sw - sl)
        d = np.where(z > 0, -b, 0.0).astype(z.dtype)
        return np.maximum(z, 0), d, -d

    return _run("hinge", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@_doc
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
    b = _beta(beta)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = _lengths(chosen_lengths, rejected_lengths, arrays[0])
    target = 1.0 / (2.0 * b)

    def kernel(sw, sl):
        z = (sw - sl) - target
        return z * z, lambda: (2 * z, -2 * z)

    return _run("ipo", kernel, arrays, lengths=lengths, f_divergence=f_divergence,
                f_alpha=f_alpha, need_grad=_need_grad)


@_doc
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


def _sigmoid_norm_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                     chosen_lengths, rejected_lengths, f_divergence="reverse_kl", f_alpha=0.5):
    b = _beta(beta)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = _lengths(chosen_lengths, rejected_lengths, arrays[0], required=True)

    def kernel(sw, sl):
        x = b * (sw - sl)
        d = -b * sigmoid(-x)
        return softplus(-x), d, -d

    return _run("sigmoid_norm", kernel, arrays, lengths=lengths, f_divergence=f_divergence,
                f_alpha=f_alpha)


@_doc
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


# --------------------------------------------------------------------------------------------
# EXO, NCA, BCO, SPPO, APO, DiscoPOP


def _exo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            label_smoothing=1e-3, f_divergence="reverse_kl", f_alpha=0.5):
    b = _beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0, low_open=True,
                         high_open=True)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    la, lb = float(np.log1p(-eps)), float(np.log(eps))

    def kernel(sw, sl):
        x = b * (sw - sl)
        q, qm = sigmoid(x), sigmoid(-x)
        # q and 1-q multiply log-sigmoids that may be -1e4; 0 * finite is 0, never NaN.
        v = q * (log_sigmoid(x) - la) + qm * (log_sigmoid(-x) - lb)
        d = b * q * qm * (x - (la - lb))
        return v, d, -d

    return _run("exo_pair", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@_doc
def exo_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             label_smoothing=1e-3, f_divergence="reverse_kl", f_alpha=0.5):
    r"""EXO for preference pairs: KL from the model's pair distribution to the smoothed labels.

    .. math::
        \ell = q\,\big(\log q - \log(1-\varepsilon)\big) + (1-q)\big(\log(1-q) - \log\varepsilon\big),
        \qquad q = \sigma(\beta\,(s_w - s_l))

    i.e. :math:`\mathrm{KL}(\mathrm{Bern}(q)\,\|\,\mathrm{Bern}(1-\varepsilon))`, minimised at
    :math:`q = 1-\varepsilon`. Ji et al. (2024), "Towards Efficient Exact Optimization of Language
    Model Alignment", Eq. 16 (``exo-pref``); equals TRL 1.16 ``loss_type="exo_pair"``.

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
    """
    return _exo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   label_smoothing=label_smoothing, f_divergence=f_divergence,
                   f_alpha=f_alpha).values


def _nca_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = _beta(beta)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        v = softplus(-b * rw) + 0.5 * softplus(b * rw) + 0.5 * softplus(b * rl)
        return v, b * (-sigmoid(-b * rw) + 0.5 * sigmoid(b * rw)), 0.5 * b * sigmoid(b * rl)

    return _run("nca_pair", kernel, arrays)


@_doc
def nca_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""Noise-contrastive alignment (NCA) for pairs.

    .. math::
        \ell = -\log\sigma(\beta r_w) - \tfrac12\log\sigma(-\beta r_w) - \tfrac12\log\sigma(-\beta r_l)

    on the raw log-ratios. Chen et al. (2024), "Noise Contrastive Alignment of Language Models with
    Explicit Rewards", Eq. 12 (K = 2); equals TRL 1.16 ``loss_type="nca_pair"``.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> nca_pair([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.3863])
    """
    return _nca_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                   beta=beta).values


def _bco_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            delta=0.0):
    b = _beta(beta)
    if not np.isfinite(delta):
        raise ValueError(f"delta must be finite, got {delta}")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        xw, xl = b * rw - delta, b * rl - delta
        return softplus(-xw) + softplus(xl), -b * sigmoid(-xw), b * sigmoid(xl)

    return _run("bco_pair", kernel, arrays)


@_doc
def bco_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             delta=0.0):
    r"""Binary classifier optimisation (BCO) on pairs.

    .. math::
        \ell = -\log\sigma(\beta r_w - \delta) - \log\sigma(-(\beta r_l - \delta))

    Jung et al. (2024), "Binary Classifier Optimization for Large Language Model Alignment", Eq. 8.
    ``delta=0`` (default) equals TRL 1.16 ``loss_type="bco_pair"``; TRL <= 0.28 used for
    :math:`\delta` a running mean of all :math:`\beta r` (pass it explicitly to reproduce).

    Parameters
    ----------
    {params}
    delta : float
        The reward shift :math:`\delta`, a constant here (no gradient flows through it).

    Examples
    --------
    >>> bco_pair([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.3863])
    """
    return _bco_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   delta=delta).values


def _win_prob(p, name, like):
    arr = float_array(p, name).astype(like.dtype, copy=False)
    check_same_shape(name, arr, "chosen_logps", like)
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {arr[i]}, must be in [0, 1]")
    return arr


def _sppo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             chosen_win_prob, rejected_win_prob, _name="sppo"):
    b = _beta(beta)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    pw = _win_prob(chosen_win_prob, "chosen_win_prob", arrays[0])
    pl = _win_prob(rejected_win_prob, "rejected_win_prob", arrays[0])

    def kernel(rw, rl):
        zw, zl = rw - (pw - 0.5) / b, rl - (pl - 0.5) / b
        return zw * zw + zl * zl, 2 * zw, 2 * zl

    return _run(_name, kernel, arrays)


@_doc
def sppo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
         chosen_win_prob, rejected_win_prob):
    r"""Self-Play Preference Optimization (soft), given each response's win probability.

    .. math::
        \ell = \Big(r_w - \frac{p_w - 1/2}{\beta}\Big)^2 + \Big(r_l - \frac{p_l - 1/2}{\beta}\Big)^2

    with :math:`p = \hat P(y \succ \pi_t)` the estimated probability that the response beats the
    current policy and :math:`1/\beta` the paper's step size :math:`\eta`. Wu et al. (2024),
    "Self-Play Preference Optimization for Language Model Alignment", Eq. 4.7.

    Parameters
    ----------
    {params}
    chosen_win_prob, rejected_win_prob : array, shape (n,)
        :math:`p_w, p_l \in [0, 1]` (constants: no gradient is returned for them).

    Examples
    --------
    >>> sppo([0.5], [-0.5], [0.0], [0.0], beta=1.0, chosen_win_prob=[1.0],
    ...      rejected_win_prob=[0.0]).round(4)
    array([0.])
    """
    return _sppo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                    chosen_win_prob=chosen_win_prob, rejected_win_prob=rejected_win_prob).values


def _sppo_hard_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    c = np.ones(np.shape(chosen_logps))
    return _sppo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                    chosen_win_prob=c, rejected_win_prob=0 * c, _name="sppo_hard")


@_doc
def sppo_hard(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""SPPO with hard labels (the winner wins for sure).

    .. math::
        \ell = \Big(r_w - \frac{1}{2\beta}\Big)^2 + \Big(r_l + \frac{1}{2\beta}\Big)^2

    :func:`sppo` with :math:`p_w = 1, p_l = 0`; minimised at :math:`r_w = -r_l = 1/(2\beta)`.
    Wu et al. (2024), Eq. 4.7; equals TRL 1.16 ``loss_type="sppo_hard"``.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> sppo_hard([0.0], [0.0], [0.0], [0.0], beta=0.5).round(4)
    array([2.])
    """
    return _sppo_hard_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                         beta=beta).values


def _apo_zero_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = _beta(beta)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        sw, sl = sigmoid(b * rw), sigmoid(b * rl)
        return sigmoid(-b * rw) + sl, -b * sw * sigmoid(-b * rw), b * sl * sigmoid(-b * rl)

    return _run("apo_zero", kernel, arrays)


@_doc
def apo_zero(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""Anchored preference optimisation, "zero" anchor: push chosen up and rejected down.

    .. math::
        \ell = \big(1 - \sigma(\beta r_w)\big) + \sigma(\beta r_l)

    D'Oosterlinck et al. (2024), "Anchored Preference Optimization and Contrastive Revisions",
    Eq. 7 (APO-zero); equals TRL 1.16 ``loss_type="apo_zero"``.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> apo_zero([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.])
    """
    return _apo_zero_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        beta=beta).values


def _apo_down_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = _beta(beta)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        x = b * (rw - rl)
        sw = sigmoid(b * rw)
        dm = b * sigmoid(x) * sigmoid(-x)
        return sw + sigmoid(-x), b * sw * sigmoid(-b * rw) - dm, dm

    return _run("apo_down", kernel, arrays)


@_doc
def apo_down(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""Anchored preference optimisation, "down" anchor: push chosen down, rejected further down.

    .. math::
        \ell = \sigma(\beta r_w) + 1 - \sigma(\beta (r_w - r_l))

    D'Oosterlinck et al. (2024), Eq. 8 (APO-down); equals TRL 1.16 ``loss_type="apo_down"`` (raw
    log-ratios in both terms since TRL PR #6444).

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> apo_down([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.])
    """
    return _apo_down_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        beta=beta).values


def _discopop_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 tau=0.05, f_divergence="reverse_kl", f_alpha=0.5):
    b = _beta(beta)
    t = check_positive(tau, "tau")
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

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

    return _run("discopop", kernel, arrays, f_divergence=f_divergence, f_alpha=f_alpha)


@_doc
def discopop(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             tau=0.05, f_divergence="reverse_kl", f_alpha=0.5):
    r"""DiscoPOP: a log-ratio-modulated blend of the logistic and exponential losses.

    .. math::
        \ell = (1 - m)\,\big(-\log\sigma(\rho)\big) + m\,e^{-\rho},
        \qquad \rho = \beta\,(s_w - s_l), \quad m = \sigma(\rho/\tau)

    Chris Lu et al. (2024), "Discovering Preference Optimization Algorithms with and for Large
    Language Models", Eq. 5 (LRML); equals TRL 1.16 ``loss_type="discopop"`` with
    ``discopop_tau=tau``. The term :math:`m e^{-\rho}` is computed as
    :math:`\exp(\log\sigma(\rho/\tau) - \rho)`, finite for all margins when :math:`\tau < 1`.

    Parameters
    ----------
    {params}
    tau : float > 0
        The temperature :math:`\tau` of the mixing weight (TRL's ``discopop_tau``, default 0.05).
    {fdiv}

    Examples
    --------
    >>> discopop([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([0.8466])
    """
    return _discopop_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        beta=beta, tau=tau, f_divergence=f_divergence, f_alpha=f_alpha).values


# --------------------------------------------------------------------------------------------
# AOT: batch-sorted (distributional) alignment


def _aot_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            label_smoothing=0.0):
    b = _beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    pol, ref = c - r, rc - rr
    ip, ir = np.argsort(pol, kind="stable"), np.argsort(ref, kind="stable")
    x = pol[ip] - ref[ir]
    v, d = _smoothed_sigmoid(b * x, eps)
    d = b * d
    g_pol, g_ref = np.empty_like(d), np.empty_like(d)
    g_pol[ip], g_ref[ir] = d, -d
    grads = (g_pol, -g_pol, g_ref, -g_ref)
    _finite(v, grads, "aot")
    return ValueAndGrad(v, grads)


@_doc
def aot(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0):
    r"""Alignment via optimal transport (paired): smoothed DPO on batch-sorted log-ratios.

    .. math::
        x_{(i)} = \mathrm{sort}(\log\pi(y_w) - \log\pi(y_l))_i
                - \mathrm{sort}(\log\pi_{ref}(y_w) - \log\pi_{ref}(y_l))_i, \\
        \ell_i = -(1-\varepsilon)\log\sigma(\beta x_{(i)}) - \varepsilon\log\sigma(-\beta x_{(i)})

    Sorting runs over the batch, so entry :math:`i` of the output belongs to the :math:`i`-th
    smallest margins, not to pair :math:`i`, and the loss depends on the batch composition.
    Melnyk et al. (2024), "Distributional Preference Alignment of LLMs via Optimal Transport",
    Eq. 9; equals TRL 1.16 ``loss_type="aot"``.

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon`.

    Examples
    --------
    >>> aot([0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], beta=1.0).round(4)
    array([0.6931, 0.3133])
    """
    return _aot_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   label_smoothing=label_smoothing).values


def _aot_unpaired_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                     label_smoothing=0.0):
    b = _beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw, rl = c - rc, r - rr
    iw, il = np.argsort(rw, kind="stable"), np.argsort(rl, kind="stable")
    x = rw[iw] - rl[il]
    v, d = _smoothed_sigmoid(b * x, eps)
    d = b * d
    gw, gl = np.empty_like(d), np.empty_like(d)
    gw[iw], gl[il] = d, -d
    grads = (gw, gl, -gw, -gl)
    _finite(v, grads, "aot_unpaired")
    return ValueAndGrad(v, grads)


@_doc
def aot_unpaired(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 label_smoothing=0.0):
    r"""Alignment via optimal transport (unpaired): sort chosen and rejected log-ratios separately.

    .. math::
        x_{(i)} = \mathrm{sort}(r_w)_i - \mathrm{sort}(r_l)_i, \qquad
        \ell_i = -(1-\varepsilon)\log\sigma(\beta x_{(i)}) - \varepsilon\log\sigma(-\beta x_{(i)})

    Melnyk et al. (2024), Eq. 8 (unpaired first-order stochastic dominance); equals TRL 1.16
    ``loss_type="aot_unpaired"``. Output entries are in sorted order (see :func:`aot`).

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon`.

    Examples
    --------
    >>> aot_unpaired([1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], beta=1.0).round(4)
    array([0.6931, 0.6931])
    """
    return _aot_unpaired_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                            beta=beta, label_smoothing=label_smoothing).values


# --------------------------------------------------------------------------------------------
# reference-free and reward-regression losses: SimPO, ORPO, REBEL, DNO

_PARAMS2 = """chosen_logps : array, shape (n,)
        :math:`\\log\\pi(y_w)`, summed over the chosen response's tokens.
    rejected_logps : array, shape (n,)
        :math:`\\log\\pi(y_l)`, summed over the rejected response's tokens."""


def _simpo_vg(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths,
              gamma=0.5, label_smoothing=0.0):
    b = _beta(beta)
    g = check_nonnegative(gamma, "gamma")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r = common(("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps))
    lw, lr = _lengths(chosen_lengths, rejected_lengths, c, required=True)
    x = b * (c / lw - r / lr) - g
    v, d = _smoothed_sigmoid(x, eps)
    grads = (b * d / lw, -b * d / lr)
    _finite(v, grads, "simpo")
    return ValueAndGrad(v, grads)


def simpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, gamma=0.5,
          label_smoothing=0.0):
    r"""SimPO: reference-free, length-averaged DPO with a target margin.

    .. math::
        \ell = -(1-\varepsilon)\log\sigma(x) - \varepsilon\log\sigma(-x), \qquad
        x = \beta\Big(\frac{\log\pi(y_w)}{L_w} - \frac{\log\pi(y_l)}{L_l}\Big) - \gamma

    with :math:`L_w, L_l` the token counts, :math:`\beta` SimPO's reward scale (typically 2-2.5,
    **not** a KL weight), :math:`\gamma` the target margin and :math:`\varepsilon` label smoothing.

    Meng, Xia and Chen (2024), "SimPO", Eq. 6. Equals TRL 1.16 ``CPOTrainer(loss_type="simpo",
    cpo_alpha=0, simpo_gamma=gamma)``; with TRL's default ``cpo_alpha=1`` TRL adds an NLL term
    (CPO-SimPO). The official code's ``gamma_beta_ratio`` is :math:`\gamma/\beta`.

    Parameters
    ----------
    {params2}
    beta : float > 0
        The reward scale :math:`\beta`.
    chosen_lengths, rejected_lengths : array, shape (n,)
        Token counts :math:`L_w, L_l > 0`.
    gamma : float >= 0
        Target margin :math:`\gamma` (TRL's ``simpo_gamma``, default 0.5).
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon` (TRL CPO's ``label_smoothing``).

    Examples
    --------
    >>> simpo([-4.0], [-12.0], beta=2.0, chosen_lengths=[4], rejected_lengths=[6],
    ...       gamma=1.0).round(4)
    array([0.3133])
    """
    return _simpo_vg(chosen_logps, rejected_logps, beta=beta, chosen_lengths=chosen_lengths,
                     rejected_lengths=rejected_lengths, gamma=gamma,
                     label_smoothing=label_smoothing).values


def _log1mexp(a):
    """log(1 - e^a) for a < 0, switching at -ln 2 (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(a > -np.log(2.0), np.log(-np.expm1(np.minimum(a, 0))),
                        np.log1p(-np.exp(np.minimum(a, 0))))


def _orpo_vg(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths,
             nll=None):
    b = _beta(beta)
    c, r = common(("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps))
    lw, lr = _lengths(chosen_lengths, rejected_lengths, c, required=True)
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
        nll_v = float_array(nll, "nll").astype(c.dtype, copy=False)
        check_same_shape("nll", nll_v, "chosen_logps", c)
        dnll = 0.0
    z = (aw - al) - (_log1mexp(aw) - _log1mexp(al))
    v = nll_v + b * softplus(-z)
    dz = -b * sigmoid(-z)
    # d z / d a = 1 / (1 - e^a) = -1 / expm1(a)
    grads = (dnll + dz * (-1.0 / np.expm1(aw)) / lw, -dz * (-1.0 / np.expm1(al)) / lr)
    grads = tuple(np.asarray(g, dtype=c.dtype) for g in grads)
    _finite(v, grads, "orpo")
    return ValueAndGrad(v, grads)


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


def _rebel_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, eta,
              chosen_rewards, rejected_rewards):
    e = check_positive(eta, "eta")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw = float_array(chosen_rewards, "chosen_rewards").astype(arrays[0].dtype, copy=False)
    rl = float_array(rejected_rewards, "rejected_rewards").astype(arrays[0].dtype, copy=False)
    check_same_shape("chosen_rewards", rw, "chosen_logps", arrays[0])
    check_same_shape("rejected_rewards", rl, "chosen_logps", arrays[0])

    def kernel(sw, sl):
        z = (sw - sl) - e * (rw - rl)
        return z * z, 2 * z, -2 * z

    return _run("rebel", kernel, arrays)


def rebel(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, eta,
          chosen_rewards, rejected_rewards):
    r"""REBEL: regress the log-ratio difference onto :math:`\eta` times the reward difference.

    .. math::
        \ell = \big(h - \eta\,(R(y_w) - R(y_l))\big)^2, \qquad
        h = \log\frac{\pi(y_w)}{\pi_t(y_w)} - \log\frac{\pi(y_l)}{\pi_t(y_l)}

    with :math:`\pi_t` the previous iterate (passed as the "reference" log-probs) and :math:`\eta`
    the step size. Gao et al. (2024), "REBEL: Reinforcement Learning via Regressing Relative
    Rewards", Eq. 4, which writes :math:`(h/\eta - \Delta R)^2 = \ell/\eta^2`; the minimiser is the
    same, at :math:`h = \eta\,\Delta R` (a mirror-descent step).

    Parameters
    ----------
    {params}
    eta : float > 0
        Step size :math:`\eta` (in place of :math:`\beta`; :math:`\eta = 1/\beta`).
    chosen_rewards, rejected_rewards : array, shape (n,)
        Rewards :math:`R(y_w), R(y_l)` (constants).

    Examples
    --------
    >>> rebel([1.0], [0.0], [0.0], [0.0], eta=0.5, chosen_rewards=[2.0], rejected_rewards=[0.0])
    array([0.])
    """
    return _rebel_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, eta=eta,
                     chosen_rewards=chosen_rewards, rejected_rewards=rejected_rewards).values


def _dno_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            chosen_rewards, rejected_rewards):
    b = _beta(beta)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw = float_array(chosen_rewards, "chosen_rewards").astype(arrays[0].dtype, copy=False)
    rl = float_array(rejected_rewards, "rejected_rewards").astype(arrays[0].dtype, copy=False)
    check_same_shape("chosen_rewards", rw, "chosen_logps", arrays[0])
    check_same_shape("rejected_rewards", rl, "chosen_logps", arrays[0])
    p = sigmoid(rw - rl)

    def kernel(sw, sl):
        x = b * (sw - sl)
        v = p * softplus(-x) + (1 - p) * softplus(x)
        d = b * (sigmoid(x) - p)
        return v, d, -d

    return _run("dno", kernel, arrays)


def dno(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_rewards, rejected_rewards):
    r"""Direct Nash Optimization: soft-label cross-entropy toward the reward preference.

    .. math::
        \ell = -p\,\log\sigma(\beta h) - (1-p)\log\sigma(-\beta h), \qquad
        p = \sigma\big(R(y_w) - R(y_l)\big)

    i.e. DPO with the Bradley-Terry probability of the (possibly learned) rewards as soft label;
    the minimum is at :math:`\beta h = R(y_w) - R(y_l)`. Rosset et al. (2024), "Direct Nash
    Optimization", Algorithm 1 / Eq. 5 (the regression of the implicit reward onto the preference
    function, written as a binary cross-entropy).

    Parameters
    ----------
    {params}
    chosen_rewards, rejected_rewards : array, shape (n,)
        Rewards defining the soft label (constants).

    Examples
    --------
    >>> dno([0.0], [0.0], [0.0], [0.0], beta=1.0, chosen_rewards=[0.0], rejected_rewards=[0.0])
    array([0.69314718])
    """
    return _dno_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   chosen_rewards=chosen_rewards, rejected_rewards=rejected_rewards).values


for _f in (simpo, orpo):
    _f.__doc__ = _f.__doc__.replace("{params2}", _PARAMS2)
for _f in (rebel, dno):
    _f.__doc__ = _f.__doc__.replace("{params}", _PARAMS)


# --------------------------------------------------------------------------------------------
# registries

#: name -> loss function, all called as ``f(chosen_logps, rejected_logps, ref_chosen_logps,
#: ref_rejected_logps, *, beta, ...)``; includes every TRL 1.16 ``loss_type`` of ``DPOTrainer``
#: except ``sft``. (:func:`rebel` takes ``eta`` instead of ``beta`` and is not listed.)
PAIRWISE = {
    "dpo": dpo,
    "sigmoid": dpo,
    "cdpo": cdpo,
    "robust_dpo": robust_dpo,
    "robust": robust_dpo,
    "hinge": hinge,
    "ipo": ipo,
    "exo_pair": exo_pair,
    "nca_pair": nca_pair,
    "bco_pair": bco_pair,
    "sppo": sppo,
    "sppo_hard": sppo_hard,
    "apo_zero": apo_zero,
    "apo_down": apo_down,
    "discopop": discopop,
    "aot": aot,
    "aot_unpaired": aot_unpaired,
    "sigmoid_norm": sigmoid_norm,
    "dno": dno,
}

register_gradient("dpo", "sigmoid")(_dpo_vg)
register_gradient("cdpo")(
    lambda *a, label_smoothing, **k: _dpo_vg(*a, label_smoothing=label_smoothing, _name="cdpo", **k)
)
register_gradient("robust_dpo", "robust")(_robust_vg)
register_gradient("hinge")(_hinge_vg)
register_gradient("ipo")(_ipo_vg)
register_gradient("sigmoid_norm")(_sigmoid_norm_vg)
register_gradient("exo_pair")(_exo_vg)
register_gradient("nca_pair")(_nca_vg)
register_gradient("bco_pair")(_bco_vg)
register_gradient("sppo")(_sppo_vg)
register_gradient("sppo_hard")(_sppo_hard_vg)
register_gradient("apo_zero")(_apo_zero_vg)
register_gradient("apo_down")(_apo_down_vg)
register_gradient("discopop")(_discopop_vg)
register_gradient("aot")(_aot_vg)
register_gradient("aot_unpaired")(_aot_unpaired_vg)
register_gradient("simpo")(_simpo_vg)
register_gradient("orpo")(_orpo_vg)
register_gradient("rebel")(_rebel_vg)
register_gradient("dno")(_dno_vg)

#: reference-free pairwise losses (two positional arrays: chosen and rejected log-probs)
REFERENCE_FREE = {"simpo": simpo, "orpo": orpo}
