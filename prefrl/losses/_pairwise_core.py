r"""The plumbing shared by the pairwise losses: inputs, f-divergence scores, the chain rule.

Every pairwise loss takes four 1-D arrays of the same shape ``(n,)``: the policy's
log-probabilities of the chosen and rejected responses and the reference model's
log-probabilities of the same responses,

.. math::
    r_w = \log\pi(y_w) - \log\pi_{ref}(y_w), \qquad r_l = \log\pi(y_l) - \log\pi_{ref}(y_l),
    \qquad h = r_w - r_l,

and returns the unreduced per-pair loss, shape ``(n,)``. A loss written as a *kernel* of the
(scored, length-normalised) log-ratios :math:`s_w = s(r_w)/L_w`, :math:`s_l = s(r_l)/L_l` goes
through ``run``, which applies the chain rule of the scores and the lengths and returns the
values and the gradients in the four log-probabilities. The scores :math:`s(r)` are those of
TRL's ``f_divergence_type`` (Wang et al. 2024, "Beyond Reverse KL", Thm. 1), listed in
:data:`prefrl.losses.checks.F_DIVERGENCES`.

Conventions follow TRL 1.16.0 ``DPOTrainer`` (``loss_type`` of the same name) unless a loss's
docstring says otherwise (see :doc:`/theory/loss_conventions`). Sequence log-probabilities are
sums of token log-probabilities (the DPO paper's convention and TRL's); the length-normalised
variants take the token counts ``chosen_lengths`` / ``rejected_lengths`` explicitly. All losses
are written with log-sigmoid and softplus, so that margins of :math:`\pm 10^4` stay finite in
float32 and float64; float32 input gives float32 output.

Private helpers: ``inputs``, ``scores``, ``check_fdiv``, ``run``, ``lengths``, ``positive_beta``,
``smoothed_sigmoid``, ``doc`` (the shared parameter blocks of the docstrings); the extras that
the kit draws (``LENGTHS``, ``REWARDS``).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive
from ._math import check_finite, common, log_sigmoid, positive_lengths, sigmoid, softplus
from ._registry import ValueAndGrad
from .checks import F_DIVERGENCES, check_f_divergence, lengths_given

#: keyword inputs of the token counts, as the kit draws them
LENGTHS = {"chosen_lengths": "lengths", "rejected_lengths": "lengths"}
#: keyword inputs of the rewards of the two responses, as the kit draws them
REWARDS = {"chosen_rewards": "rewards", "rejected_rewards": "rewards"}

ARRAYS = """chosen_logps : array, shape (n,)
        :math:`\\log\\pi(y_w)`, summed over the chosen response's tokens.
    rejected_logps : array, shape (n,)
        :math:`\\log\\pi(y_l)`, summed over the rejected response's tokens.
    ref_chosen_logps : array, shape (n,)
        :math:`\\log\\pi_{ref}(y_w)`.
    ref_rejected_logps : array, shape (n,)
        :math:`\\log\\pi_{ref}(y_l)`."""

PARAMS = ARRAYS + """
    beta : float > 0
        The KL weight :math:`\\beta` (TRL's ``beta``; the IPO paper's :math:`\\tau`)."""

PARAMS2 = """chosen_logps : array, shape (n,)
        :math:`\\log\\pi(y_w)`, summed over the chosen response's tokens.
    rejected_logps : array, shape (n,)
        :math:`\\log\\pi(y_l)`, summed over the rejected response's tokens."""

FDIV = """f_divergence : {"reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"}
        Replace each log-ratio :math:`r` by the score :math:`s(r)` of TRL's ``f_divergence_type``:
        :math:`r`, :math:`1-e^{-r}`, :math:`\\log 2 + \\log\\sigma(r)`, or
        :math:`(e^{(\\alpha-1) r}-1)/(\\alpha-1)`. Default reverse KL (the paper's DPO). TRL clamps
        the alpha exponent at 80; prefrl does not, and raises if a score overflows.
    f_alpha : float
        :math:`\\alpha` of the alpha divergence (TRL's ``f_alpha_divergence_coef``, default 0.5)."""

_OVERFLOW = ("(a score or exponential exceeded the float range); this option is unbounded for "
             "these log-ratios")


def doc(fn):
    """Fill the shared blocks ``{arrays}``, ``{params}``, ``{params2}``, ``{fdiv}`` of a doc."""
    fn.__doc__ = (fn.__doc__.replace("{arrays}", ARRAYS).replace("{params}", PARAMS)
                  .replace("{params2}", PARAMS2).replace("{fdiv}", FDIV))
    return fn


def inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps):
    """The four log-probability arrays, validated, of one shape and one float dtype."""
    return common(
        ("chosen_logps", chosen_logps),
        ("rejected_logps", rejected_logps),
        ("ref_chosen_logps", ref_chosen_logps),
        ("ref_rejected_logps", ref_rejected_logps),
    )


def scores(r, f_divergence, f_alpha):
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


check_fdiv = check_f_divergence


def finite(values, grads, name):
    """The overflow check of the pairwise losses."""
    check_finite(values, grads, name, _OVERFLOW)


def run(name, kernel, arrays, *, lengths=None, f_divergence="reverse_kl", f_alpha=0.5,
        need_grad=True):
    """Apply ``kernel(s_w, s_l) -> (v, dv/ds_w, dv/ds_l)`` to the (scored, normalised) log-ratios.

    A kernel may instead return ``(v, grad_fn)`` with ``grad_fn() -> (dv/ds_w, dv/ds_l)``, so
    that the plain loss functions do not pay for gradients (``need_grad=False``).
    """
    c, r, rc, rr = arrays
    rw, rl = c - rc, r - rr
    sw, dsw = scores(rw, f_divergence, f_alpha)
    sl, dsl = scores(rl, f_divergence, f_alpha)
    if lengths is not None:
        lw, ll = lengths
        sw, dsw, sl, dsl = sw / lw, dsw / lw, sl / ll, dsl / ll
    with np.errstate(over="ignore", invalid="ignore"):
        out = kernel(sw, sl)
        v = out[0]
        if not need_grad:
            finite(v, (), name)
            return ValueAndGrad(v, ())
        gw, gl = out[1]() if len(out) == 2 else out[1:]
        gw, gl = gw * dsw, gl * dsl
    grads = (gw, gl, -gw, -gl)
    finite(v, grads, name)
    return ValueAndGrad(v, grads)


def lengths(chosen_lengths, rejected_lengths, like, required=False):
    """The token counts (both or neither), validated, or None."""
    if not lengths_given(chosen_lengths, rejected_lengths, required):
        return None
    return (
        positive_lengths(chosen_lengths, "chosen_lengths", like),
        positive_lengths(rejected_lengths, "rejected_lengths", like),
    )


def positive_beta(beta):
    """``beta`` as a float > 0 (ValueError naming beta otherwise)."""
    return check_positive(beta, "beta")


def smoothed_sigmoid(x, eps):
    """-(1-eps) log sig(x) - eps log sig(-x) and its derivative in x."""
    v = (1 - eps) * softplus(-x) + eps * softplus(x)
    return v, -(1 - eps) * sigmoid(-x) + eps * sigmoid(x)
