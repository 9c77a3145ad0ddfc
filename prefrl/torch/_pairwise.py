r"""Torch twins of the pairwise losses (the files ``_dpo``, ``_margin``, ``_anchored``, ``_aot``,
``_selfplay`` and ``_reference_free`` of :mod:`prefrl.losses`).

Same names, signatures and defaults as the numpy references; each twin computes the same
mathematics on tensors, differentiable by autograd (the numpy side also carries the analytic
gradients, which autograd replaces here). Their docstrings are the numpy twins' (adopted by
:mod:`prefrl.torch.losses`). Twins: :func:`dpo`, :func:`cdpo`, :func:`robust_dpo`,
:func:`sigmoid_norm` (DPO family); :func:`ipo`, :func:`hinge`, :func:`exo_pair`,
:func:`discopop`; :func:`nca_pair`, :func:`bco_pair`, :func:`apo_zero`, :func:`apo_down`;
:func:`aot`, :func:`aot_unpaired`; :func:`sppo`, :func:`sppo_hard`, :func:`rebel`, :func:`dno`;
:func:`simpo`, :func:`orpo`.
"""

from __future__ import annotations

import math

import torch

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_nonnegative, check_positive
from ..losses.checks import F_DIVERGENCES, check_f_divergence, lengths_given
from ._core import aux, finite, log_sigmoid, same, softplus

__all__ = [
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


def _inputs(c, r, rc, rr):
    return same([("chosen_logps", c), ("rejected_logps", r), ("ref_chosen_logps", rc),
                 ("ref_rejected_logps", rr)])


def _scores(r, f_divergence, f_alpha):
    if f_divergence == "reverse_kl":
        return r
    if f_divergence == "forward_kl":
        return -torch.expm1(-r)
    if f_divergence == "js_divergence":
        return math.log(2.0) + log_sigmoid(r)
    if f_divergence == "alpha_divergence":
        a = f_alpha - 1.0
        if abs(a) < 1e-6:
            return r
        return torch.expm1(a * r) / a
    raise ValueError(f"f_divergence must be one of {F_DIVERGENCES}, got {f_divergence!r}")


def _lengths(chosen_lengths, rejected_lengths, like, required=False):
    if not lengths_given(chosen_lengths, rejected_lengths, required):
        return None
    out = []
    for name, x in (("chosen_lengths", chosen_lengths), ("rejected_lengths", rejected_lengths)):
        t = aux(x, name, like)
        if bool((t <= 0).any()):
            i = int(torch.nonzero(t <= 0)[0, 0])
            raise ValueError(f"{name}[{i}] = {t[i].item()}, must be > 0 (a token count)")
        out.append(t)
    return out


def _sw_sl(arrays, f_divergence="reverse_kl", f_alpha=0.5, lengths=None):
    c, r, rc, rr = arrays
    sw, sl = _scores(c - rc, f_divergence, f_alpha), _scores(r - rr, f_divergence, f_alpha)
    if lengths is not None:
        sw, sl = sw / lengths[0], sl / lengths[1]
    return sw, sl


def _smoothed(x, eps):
    return (1 - eps) * softplus(-x) + eps * softplus(x)


# ------------------------------------------------------------------------------------ pairwise


def dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    check_f_divergence(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    sw, sl = _sw_sl(arrays, f_divergence, f_alpha)
    return finite(_smoothed(b * (sw - sl), eps), "dpo")


def cdpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
         label_smoothing, f_divergence="reverse_kl", f_alpha=0.5):
    return dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
               label_smoothing=label_smoothing, f_divergence=f_divergence, f_alpha=f_alpha)


def robust_dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
               label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5, high_open=True)
    check_f_divergence(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    x = b * (sw - sl)
    return finite(((1 - eps) * softplus(-x) - eps * softplus(x)) / (1 - 2 * eps), "robust_dpo")


def hinge(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
          f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    check_f_divergence(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    return finite(torch.relu(1 - b * (sw - sl)), "hinge")


def ipo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_lengths=None, rejected_lengths=None, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    check_f_divergence(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = _lengths(chosen_lengths, rejected_lengths, arrays[0])
    sw, sl = _sw_sl(arrays, f_divergence, f_alpha, lengths)
    return finite((sw - sl - 1.0 / (2.0 * b)) ** 2, "ipo")


def sigmoid_norm(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 chosen_lengths, rejected_lengths, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    check_f_divergence(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = _lengths(chosen_lengths, rejected_lengths, arrays[0], required=True)
    sw, sl = _sw_sl(arrays, f_divergence, f_alpha, lengths)
    return finite(softplus(-b * (sw - sl)), "sigmoid_norm")


def exo_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             label_smoothing=1e-3, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0, low_open=True,
                         high_open=True)
    check_f_divergence(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    x = b * (sw - sl)
    q, qm = torch.sigmoid(x), torch.sigmoid(-x)
    v = q * (log_sigmoid(x) - math.log1p(-eps)) + qm * (log_sigmoid(-x) - math.log(eps))
    return finite(v, "exo_pair")


def nca_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    v = softplus(-b * rw) + 0.5 * softplus(b * rw) + 0.5 * softplus(b * rl)
    return finite(v, "nca_pair")


def bco_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             delta=0.0):
    b = check_positive(beta, "beta")
    if not math.isfinite(delta):
        raise ValueError(f"delta must be finite, got {delta}")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return finite(softplus(-(b * rw - delta)) + softplus(b * rl - delta), "bco_pair")


def _rewards(chosen_rewards, rejected_rewards, like):
    return aux(chosen_rewards, "chosen_rewards", like), aux(rejected_rewards, "rejected_rewards",
                                                            like)


def _probs(p, name, like):
    t = aux(p, name, like)
    if bool(((t < 0) | (t > 1)).any()):
        i = int(torch.nonzero((t < 0) | (t > 1))[0, 0])
        raise ValueError(f"{name}[{i}] = {t[i].item()}, must be in [0, 1]")
    return t


def sppo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
         chosen_win_prob, rejected_win_prob):
    b = check_positive(beta, "beta")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    pw = _probs(chosen_win_prob, "chosen_win_prob", arrays[0])
    pl = _probs(rejected_win_prob, "rejected_win_prob", arrays[0])
    rw, rl = _sw_sl(arrays)
    return finite((rw - (pw - 0.5) / b) ** 2 + (rl - (pl - 0.5) / b) ** 2, "sppo")


def sppo_hard(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return finite((rw - 0.5 / b) ** 2 + (rl + 0.5 / b) ** 2, "sppo_hard")


def apo_zero(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return finite(torch.sigmoid(-b * rw) + torch.sigmoid(b * rl), "apo_zero")


def apo_down(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return finite(torch.sigmoid(b * rw) + torch.sigmoid(-b * (rw - rl)), "apo_down")


@renamed_parameters(tau="temperature")
def discopop(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             temperature=0.05, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    t = check_positive(temperature, "temperature")
    check_f_divergence(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    rho = b * (sw - sl)
    v = torch.exp(log_sigmoid(-rho / t)) * softplus(-rho) + torch.exp(log_sigmoid(rho / t) - rho)
    return finite(v, "discopop")


def _sorted_smoothed(a, b, beta, eps):
    """The smoothed logistic loss of sort(a) - sort(b) (AOT's batch-sorted margins)."""
    x = torch.sort(a, stable=True).values - torch.sort(b, stable=True).values
    return _smoothed(beta * x, eps)


def aot(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    return finite(_sorted_smoothed(c - r, rc - rr, b, eps), "aot")


def aot_unpaired(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 label_smoothing=0.0):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    return finite(_sorted_smoothed(c - rc, r - rr, b, eps), "aot_unpaired")


@renamed_parameters(gamma="margin")
def simpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, margin=0.5,
          label_smoothing=0.0):
    r"""Torch twin.

    Examples
    --------
    >>> import torch
    >>> from prefrl.torch import losses as tl
    >>> tl.simpo(torch.tensor([-4.0]), torch.tensor([-12.0]), beta=2.0, chosen_lengths=[4],
    ...          rejected_lengths=[6], margin=1.0).round(decimals=4)
    tensor([0.3133])
    """
    b = check_positive(beta, "beta")
    g = check_nonnegative(margin, "margin")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r = same([("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps)])
    lw, lr = _lengths(chosen_lengths, rejected_lengths, c, required=True)
    return finite(_smoothed(b * (c / lw - r / lr) - g, eps), "simpo")


def _log1mexp(a):
    ln2 = math.log(2.0)
    # clamp each branch's input to its own region so the unused branch has a finite gradient
    near = torch.log(-torch.expm1(torch.clamp(a, min=-ln2, max=0.0)))
    far = torch.log1p(-torch.exp(torch.clamp(a, max=-ln2)))
    return torch.where(a > -ln2, near, far)


def orpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, nll=None):
    r"""Torch twin.

    Examples
    --------
    >>> import torch
    >>> from prefrl.torch import losses as tl
    >>> tl.orpo([-2.0], [-2.0], beta=0.1, chosen_lengths=[2], rejected_lengths=[2]).round(decimals=4)
    tensor([1.0693], dtype=torch.float64)
    """
    b = check_positive(beta, "beta")
    c, r = same([("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps)])
    lw, lr = _lengths(chosen_lengths, rejected_lengths, c, required=True)
    aw, al = c / lw, r / lr
    for name, a in (("chosen_logps", aw), ("rejected_logps", al)):
        if bool((a >= 0).any()):
            i = int(torch.nonzero(a >= 0)[0, 0])
            raise ValueError(f"{name}[{i}] / length = {a[i].item()}, must be < 0")
    nll_v = -aw if nll is None else aux(nll, "nll", c).detach()
    z = (aw - al) - (_log1mexp(aw) - _log1mexp(al))
    return finite(nll_v + b * softplus(-z), "orpo")


def rebel(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, eta,
          chosen_rewards, rejected_rewards):
    r"""Torch twin.

    Examples
    --------
    >>> import torch
    >>> from prefrl.torch import losses as tl
    >>> z = torch.zeros(1, dtype=torch.float64)
    >>> tl.rebel(z + 1, z, z, z, eta=0.5, chosen_rewards=[2.0], rejected_rewards=[0.0])
    tensor([0.], dtype=torch.float64)
    """
    e = check_positive(eta, "eta")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw, rl = _rewards(chosen_rewards, rejected_rewards, arrays[0])
    sw, sl = _sw_sl(arrays)
    return finite((sw - sl - e * (rw - rl)) ** 2, "rebel")


def dno(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_rewards, rejected_rewards):
    b = check_positive(beta, "beta")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw, rl = _rewards(chosen_rewards, rejected_rewards, arrays[0])
    p = torch.sigmoid(rw - rl)
    sw, sl = _sw_sl(arrays)
    x = b * (sw - sl)
    return finite(p * softplus(-x) + (1 - p) * softplus(x), "dno")
