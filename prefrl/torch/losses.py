r"""prefrl's reference losses on torch tensors, differentiable by autograd.

Same names, signatures, defaults and registries as :mod:`prefrl.losses`; each function's
docstring repeats the numpy twin's mathematics. Inputs may be tensors (float32 or float64, any
device) or array-likes (converted to float64 tensors on the CPU); outputs are tensors of the
inputs' dtype and device. Validation (shapes, NaN, ``beta > 0``, ranges) raises ValueError as in
numpy; the NaN check synchronises with the device once per call.

The tests check that autograd's gradient equals :func:`prefrl.losses.value_and_grad` (rtol 1e-6,
float64) and that :func:`torch.autograd.gradcheck` passes.
"""

from __future__ import annotations

import math

import torch

from .. import losses as _np_losses
from .._validation import check_in_range, check_nonnegative, check_positive

__all__ = [
    "PAIRWISE",
    "REFERENCE_FREE",
    "aggregate",
    "aggregation_weights",
    "aot",
    "aot_unpaired",
    "apo_down",
    "apo_zero",
    "bco_pair",
    "cdpo",
    "cispo_loss",
    "discopop",
    "dno",
    "dpo",
    "dpo_k",
    "dro",
    "exo",
    "exo_pair",
    "grpo_advantages",
    "hinge",
    "ipo",
    "kl_estimate",
    "kto",
    "kto_reference_point",
    "nca_pair",
    "orpo",
    "plackett_luce_dpo",
    "pmpo",
    "ppo_clip_loss",
    "rebel",
    "reinforce_pp_advantages",
    "remax_advantages",
    "rloo_advantages",
    "robust",
    "robust_dpo",
    "sigmoid",
    "sigmoid_norm",
    "simpo",
    "sppo",
    "sppo_hard",
]


# ------------------------------------------------------------------------------------ plumbing


def _tensor(x, name, ndim=None, like=None):
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a tensor or an array of numbers")
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x, dtype=torch.float64 if like is None else like.dtype,
                                device=None if like is None else like.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or an array of numbers: {exc}") from None
    if not torch.is_floating_point(x):
        x = x.to(torch.float64 if like is None else like.dtype)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~torch.isfinite(x.detach())
    if bool(bad.any()):
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"{name}{list(idx)} is {x.detach()[idx].item()}, must be finite")
    return x


def _same(named, ndim=1):
    ts = [_tensor(x, n, ndim=ndim) for n, x in named]
    for (n, _), t in zip(named[1:], ts[1:]):
        if t.shape != ts[0].shape:
            raise ValueError(f"{named[0][0]} and {n} must have the same shape, got "
                             f"{tuple(ts[0].shape)} and {tuple(t.shape)}")
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return [t.to(dt) for t in ts]


def _aux(x, name, like):
    t = _tensor(x, name, like=like).to(dtype=like.dtype, device=like.device)
    if t.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(t.shape)}")
    return t


def _finite(v, name):
    if not bool(torch.isfinite(v.detach()).all()):
        raise ValueError(f"{name}: the loss overflowed (a score or exponential exceeded the "
                         "float range)")
    return v


def _softplus(x):
    """log(1 + e^x), exact for every finite x (no threshold approximation)."""
    return torch.logaddexp(torch.zeros((), dtype=x.dtype, device=x.device), x)


def _log_sigmoid(x):
    return -_softplus(-x)


def _inputs(c, r, rc, rr):
    return _same([("chosen_logps", c), ("rejected_logps", r), ("ref_chosen_logps", rc),
                  ("ref_rejected_logps", rr)])


def _scores(r, f_divergence, f_alpha):
    if f_divergence == "reverse_kl":
        return r
    if f_divergence == "forward_kl":
        return -torch.expm1(-r)
    if f_divergence == "js_divergence":
        return math.log(2.0) + _log_sigmoid(r)
    if f_divergence == "alpha_divergence":
        a = f_alpha - 1.0
        if abs(a) < 1e-6:
            return r
        return torch.expm1(a * r) / a
    raise ValueError(f"f_divergence must be one of {_np_losses.F_DIVERGENCES}, got "
                     f"{f_divergence!r}")


def _check_fdiv(f_divergence, f_alpha):
    if f_divergence not in _np_losses.F_DIVERGENCES:
        raise ValueError(f"f_divergence must be one of {_np_losses.F_DIVERGENCES}, got "
                         f"{f_divergence!r}")
    if not math.isfinite(f_alpha):
        raise ValueError(f"f_alpha must be finite, got {f_alpha}")


def _lengths(chosen_lengths, rejected_lengths, like, required=False):
    if chosen_lengths is None and rejected_lengths is None:
        if required:
            raise ValueError("chosen_lengths and rejected_lengths are required for this loss")
        return None
    if chosen_lengths is None or rejected_lengths is None:
        raise ValueError("give both chosen_lengths and rejected_lengths, or neither")
    out = []
    for name, x in (("chosen_lengths", chosen_lengths), ("rejected_lengths", rejected_lengths)):
        t = _aux(x, name, like)
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
    return (1 - eps) * _softplus(-x) + eps * _softplus(x)


# ------------------------------------------------------------------------------------ pairwise


def dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    sw, sl = _sw_sl(arrays, f_divergence, f_alpha)
    return _finite(_smoothed(b * (sw - sl), eps), "dpo")


def cdpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
         label_smoothing, f_divergence="reverse_kl", f_alpha=0.5):
    return dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
               label_smoothing=label_smoothing, f_divergence=f_divergence, f_alpha=f_alpha)


def robust_dpo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
               label_smoothing=0.0, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5, high_open=True)
    _check_fdiv(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    x = b * (sw - sl)
    return _finite(((1 - eps) * _softplus(-x) - eps * _softplus(x)) / (1 - 2 * eps), "robust_dpo")


def hinge(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
          f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    _check_fdiv(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    return _finite(torch.relu(1 - b * (sw - sl)), "hinge")


def ipo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_lengths=None, rejected_lengths=None, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = _lengths(chosen_lengths, rejected_lengths, arrays[0])
    sw, sl = _sw_sl(arrays, f_divergence, f_alpha, lengths)
    return _finite((sw - sl - 1.0 / (2.0 * b)) ** 2, "ipo")


def sigmoid_norm(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 chosen_lengths, rejected_lengths, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    _check_fdiv(f_divergence, f_alpha)
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    lengths = _lengths(chosen_lengths, rejected_lengths, arrays[0], required=True)
    sw, sl = _sw_sl(arrays, f_divergence, f_alpha, lengths)
    return _finite(_softplus(-b * (sw - sl)), "sigmoid_norm")


def exo_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             label_smoothing=1e-3, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0, low_open=True,
                         high_open=True)
    _check_fdiv(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    x = b * (sw - sl)
    q, qm = torch.sigmoid(x), torch.sigmoid(-x)
    v = q * (_log_sigmoid(x) - math.log1p(-eps)) + qm * (_log_sigmoid(-x) - math.log(eps))
    return _finite(v, "exo_pair")


def nca_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    v = _softplus(-b * rw) + 0.5 * _softplus(b * rw) + 0.5 * _softplus(b * rl)
    return _finite(v, "nca_pair")


def bco_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             delta=0.0):
    b = check_positive(beta, "beta")
    if not math.isfinite(delta):
        raise ValueError(f"delta must be finite, got {delta}")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return _finite(_softplus(-(b * rw - delta)) + _softplus(b * rl - delta), "bco_pair")


def _probs(p, name, like):
    t = _aux(p, name, like)
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
    return _finite((rw - (pw - 0.5) / b) ** 2 + (rl - (pl - 0.5) / b) ** 2, "sppo")


def sppo_hard(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return _finite((rw - 0.5 / b) ** 2 + (rl + 0.5 / b) ** 2, "sppo_hard")


def apo_zero(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return _finite(torch.sigmoid(-b * rw) + torch.sigmoid(b * rl), "apo_zero")


def apo_down(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = check_positive(beta, "beta")
    rw, rl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps))
    return _finite(torch.sigmoid(b * rw) + torch.sigmoid(-b * (rw - rl)), "apo_down")


def discopop(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             tau=0.05, f_divergence="reverse_kl", f_alpha=0.5):
    b = check_positive(beta, "beta")
    t = check_positive(tau, "tau")
    _check_fdiv(f_divergence, f_alpha)
    sw, sl = _sw_sl(_inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps),
                    f_divergence, f_alpha)
    rho = b * (sw - sl)
    v = torch.exp(_log_sigmoid(-rho / t)) * _softplus(-rho) + torch.exp(_log_sigmoid(rho / t) - rho)
    return _finite(v, "discopop")


def aot(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    x = torch.sort(c - r, stable=True).values - torch.sort(rc - rr, stable=True).values
    return _finite(_smoothed(b * x, eps), "aot")


def aot_unpaired(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 label_smoothing=0.0):
    b = check_positive(beta, "beta")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    x = torch.sort(c - rc, stable=True).values - torch.sort(r - rr, stable=True).values
    return _finite(_smoothed(b * x, eps), "aot_unpaired")


def simpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, gamma=0.5,
          label_smoothing=0.0):
    b = check_positive(beta, "beta")
    g = check_nonnegative(gamma, "gamma")
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r = _same([("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps)])
    lw, lr = _lengths(chosen_lengths, rejected_lengths, c, required=True)
    return _finite(_smoothed(b * (c / lw - r / lr) - g, eps), "simpo")


def _log1mexp(a):
    ln2 = math.log(2.0)
    # clamp each branch's input to its own region so the unused branch has a finite gradient
    near = torch.log(-torch.expm1(torch.clamp(a, min=-ln2, max=0.0)))
    far = torch.log1p(-torch.exp(torch.clamp(a, max=-ln2)))
    return torch.where(a > -ln2, near, far)


def orpo(chosen_logps, rejected_logps, *, beta, chosen_lengths, rejected_lengths, nll=None):
    b = check_positive(beta, "beta")
    c, r = _same([("chosen_logps", chosen_logps), ("rejected_logps", rejected_logps)])
    lw, lr = _lengths(chosen_lengths, rejected_lengths, c, required=True)
    aw, al = c / lw, r / lr
    for name, a in (("chosen_logps", aw), ("rejected_logps", al)):
        if bool((a >= 0).any()):
            i = int(torch.nonzero(a >= 0)[0, 0])
            raise ValueError(f"{name}[{i}] / length = {a[i].item()}, must be < 0")
    nll_v = -aw if nll is None else _aux(nll, "nll", c).detach()
    z = (aw - al) - (_log1mexp(aw) - _log1mexp(al))
    return _finite(nll_v + b * _softplus(-z), "orpo")


def rebel(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, eta,
          chosen_rewards, rejected_rewards):
    e = check_positive(eta, "eta")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw = _aux(chosen_rewards, "chosen_rewards", arrays[0])
    rl = _aux(rejected_rewards, "rejected_rewards", arrays[0])
    sw, sl = _sw_sl(arrays)
    return _finite((sw - sl - e * (rw - rl)) ** 2, "rebel")


def dno(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_rewards, rejected_rewards):
    b = check_positive(beta, "beta")
    arrays = _inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw = _aux(chosen_rewards, "chosen_rewards", arrays[0])
    rl = _aux(rejected_rewards, "rejected_rewards", arrays[0])
    p = torch.sigmoid(rw - rl)
    sw, sl = _sw_sl(arrays)
    x = b * (sw - sl)
    return _finite(p * _softplus(-x) + (1 - p) * _softplus(x), "dno")


sigmoid = dpo
robust = robust_dpo

PAIRWISE = {name: globals()[fn.__name__] for name, fn in _np_losses.PAIRWISE.items()}
REFERENCE_FREE = {"simpo": simpo, "orpo": orpo}


# ------------------------------------------------------------------------------------ unpaired


def _labels(x, name, like):
    t = torch.as_tensor(x, device=like.device)
    if t.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(t.shape)}")
    if t.dtype != torch.bool:
        if not bool(((t == 0) | (t == 1)).all()):
            raise ValueError(f"{name} must hold booleans (or 0/1)")
        t = t.bool()
    return t


def kto_reference_point(mismatched_logps, mismatched_ref_logps) -> float:
    a, b = _same([("mismatched_logps", mismatched_logps),
                  ("mismatched_ref_logps", mismatched_ref_logps)])
    return max(0.0, float((a.detach().double() - b.detach().double()).mean()))


def kto(policy_logps, ref_logps, *, desirable, beta, reference_point=0.0, desirable_weight=1.0,
        undesirable_weight=1.0):
    b = check_positive(beta, "beta")
    z0 = check_in_range(reference_point, "reference_point", 0.0, math.inf)
    lam_d = check_nonnegative(desirable_weight, "desirable_weight")
    lam_u = check_nonnegative(undesirable_weight, "undesirable_weight")
    lp, lr = _same([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    d = _labels(desirable, "desirable", lp)
    r = lp - lr
    x = torch.where(d, b * (r - z0), b * (z0 - r))
    lam = torch.where(d, torch.full_like(lp, lam_d), torch.full_like(lp, lam_u))
    return _finite(lam * torch.sigmoid(-x), "kto")


def dro(policy_logps, ref_logps, values, *, rewards, beta):
    b = check_positive(beta, "beta")
    lp, lr, val, rew = _same([("policy_logps", policy_logps), ("ref_logps", ref_logps),
                              ("values", values), ("rewards", rewards)])
    return _finite(0.5 * (rew - val - b * (lp - lr)) ** 2, "dro")


def pmpo(policy_logps, ref_logps, *, accepted, alpha=0.5, beta=0.0):
    a = check_in_range(alpha, "alpha", 0.0, 1.0)
    b = check_nonnegative(beta, "beta")
    lp, lr = _same([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    acc = _labels(accepted, "accepted", lp)
    coef = torch.where(acc, torch.full_like(lp, -a), torch.full_like(lp, 1.0 - a))
    return _finite(coef * lp + b * (lr - lp), "pmpo")


# ------------------------------------------------------------------------------------ listwise


def _two_d(named):
    ts = _same(named, ndim=2)
    if ts[0].shape[1] < 2:
        raise ValueError(f"{named[0][0]} must have K >= 2 responses per row")
    return ts


def plackett_luce_dpo(policy_logps, ref_logps, *, beta, ranking=None):
    b = check_positive(beta, "beta")
    lp, lr = _two_d([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    x = b * (lp - lr)
    if ranking is not None:
        perm = torch.as_tensor(ranking, device=x.device)
        if perm.shape != x.shape:
            raise ValueError(f"ranking must have shape {tuple(x.shape)}, got {tuple(perm.shape)}")
        if perm.dtype.is_floating_point or perm.dtype == torch.bool:
            raise TypeError("ranking must hold integers")
        ar = torch.arange(x.shape[1], device=x.device).expand_as(perm)
        if not bool((torch.sort(perm, dim=1).values == ar).all()):
            raise ValueError("each row of ranking must be a permutation of 0..K-1")
        x = torch.gather(x, 1, perm.long())
    L = torch.flip(torch.logcumsumexp(torch.flip(x, [1]), dim=1), [1])
    return _finite((L - x).sum(dim=1), "plackett_luce_dpo")


def exo(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    b = check_positive(beta, "beta")
    br = b if beta_r is None else check_positive(beta_r, "beta_r")
    lp, lr = _two_d([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    r = _aux(rewards, "rewards", lp)
    log_pf = torch.log_softmax(b * (lp - lr), dim=1)
    log_pr = torch.log_softmax(r / br, dim=1)
    return _finite((log_pf.exp() * (log_pf - log_pr)).sum(dim=1), "exo")


def dpo_k(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    b = check_positive(beta, "beta")
    br = b if beta_r is None else check_positive(beta_r, "beta_r")
    lp, lr = _two_d([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    r = _aux(rewards, "rewards", lp)
    log_pf = torch.log_softmax(b * (lp - lr), dim=1)
    return _finite(-(torch.softmax(r / br, dim=1) * log_pf).sum(dim=1), "dpo_k")


# ----------------------------------------------------------------------------- policy gradient


def grpo_advantages(rewards, *, scale="group", eps=1e-4, ddof=1, singleton="zero"):
    R = _tensor(rewards, "rewards", ndim=2)
    eps = check_nonnegative(eps, "eps")
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    if singleton not in ("zero", "reward"):
        raise ValueError(f"singleton must be 'zero' or 'reward', got {singleton!r}")
    if isinstance(ddof, bool) or not isinstance(ddof, int) or ddof < 0:
        raise ValueError(f"ddof must be a nonnegative integer, got {ddof!r}")
    G = R.shape[1]
    if G == 1 and scale != "batch":
        return R / (1.0 + eps) if singleton == "reward" else torch.zeros_like(R)
    constant = (R.amax(dim=1, keepdim=True) - R.amin(dim=1, keepdim=True)) == 0
    centred = torch.where(constant, torch.zeros_like(R), R - R.mean(dim=1, keepdim=True))
    if scale == "none" or not bool(centred.any()):
        return centred
    if scale == "group":
        if G <= ddof:
            raise ValueError(f"groups of size {G} have no std with ddof={ddof}")
        s = centred.abs().amax(dim=1, keepdim=True)
    else:
        if R.numel() <= ddof:
            raise ValueError(f"a batch of {R.numel()} rewards has no std with ddof={ddof}")
        s = centred.abs().amax().reshape(1, 1)
    s = torch.where(s > 0, s, torch.ones_like(s))
    c = centred / s
    if scale == "group":
        sd = c.std(dim=1, correction=ddof, keepdim=True)
    else:
        mR = R.abs().amax()
        sd = (R / mR).std(correction=ddof) * (mR / s)
    denom = sd + eps / s
    return torch.where(c == 0, torch.zeros_like(c), c / torch.where(c == 0, 1.0, denom))


def rloo_advantages(rewards):
    R = _tensor(rewards, "rewards", ndim=2)
    G = R.shape[1]
    if G == 1:
        return R.clone()
    return (R - R.mean(dim=1, keepdim=True)) * (G / (G - 1))


def _mask(mask, like, name="mask"):
    m = torch.as_tensor(mask, device=like.device)
    if m.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(m.shape)}")
    if m.dtype != torch.bool and not bool(((m == 0) | (m == 1)).all()):
        raise ValueError(f"{name} must hold 0/1 or booleans")
    return m.to(like.dtype)


def reinforce_pp_advantages(token_rewards, mask, *, logp=None, ref_logp=None, beta=0.0,
                            gamma=1.0):
    r = _tensor(token_rewards, "token_rewards", ndim=2)
    m = _mask(mask, r)
    b = check_nonnegative(beta, "beta")
    g = check_in_range(gamma, "gamma", 0.0, 1.0)
    if b > 0:
        if logp is None or ref_logp is None:
            raise ValueError("logp and ref_logp are required when beta > 0")
        lp, lr = _same([("logp", logp), ("ref_logp", ref_logp)], ndim=2)
        r = r - b * torch.where(m > 0, lp - lr, torch.zeros_like(lp))
    r = r * m
    G = torch.zeros_like(r)
    running = torch.zeros_like(r[:, 0])
    for t in range(r.shape[1] - 1, -1, -1):
        running = r[:, t] + g * running
        G[:, t] = running
        running = running * m[:, t]
    n = m.sum()
    if n < 2:
        raise ValueError("whitening needs at least two unmasked tokens")
    mean = (G * m).sum() / n
    var = (((G - mean) ** 2) * m).sum() / (n - 1)
    return (G - mean) / torch.sqrt(var + 1e-8) * m


def remax_advantages(rewards, greedy_rewards, mask):
    R, b = _same([("rewards", rewards), ("greedy_rewards", greedy_rewards)])
    m = torch.as_tensor(mask, device=R.device)
    if m.ndim != 2 or m.shape[0] != R.shape[0]:
        raise ValueError(f"mask must have shape ({R.shape[0]}, T), got {tuple(m.shape)}")
    return (R - b)[:, None] * _mask(m, torch.zeros(m.shape, dtype=R.dtype, device=R.device))


def kl_estimate(logp, ref_logp, *, kind="k3", clamp=None):
    if kind not in _np_losses.KL_KINDS:
        raise ValueError(f"kind must be one of {_np_losses.KL_KINDS}, got {kind!r}")
    if clamp not in (None, "verl", "openrlhf"):
        raise ValueError(f"clamp must be None, 'verl' or 'openrlhf', got {clamp!r}")
    lp, lr = _same([("logp", logp), ("ref_logp", ref_logp)], ndim=None)
    x = lp - lr
    base = kind.rstrip("+")
    if base == "k1":
        v = x
    elif base == "k2":
        v = 0.5 * x * x
    else:
        d = -x
        if clamp == "verl":
            d = torch.clamp(d, -20.0, 20.0)
        v = torch.exp(d) - d - 1
    if clamp == "openrlhf" or (clamp == "verl" and base == "k3"):
        v = torch.clamp(v, -10.0, 10.0)
    if kind.endswith("+"):
        k2 = 0.5 * x * x
        v = v.detach() + (k2 - k2.detach())
    return _finite(v, "kl_estimate")


def aggregation_weights(mask, mode="token-mean", horizon=None, *, dtype=torch.float64,
                        device=None):
    if mode not in _np_losses.AGGREGATION_MODES:
        raise ValueError(f"mode must be one of {_np_losses.AGGREGATION_MODES}, got {mode!r}")
    m = torch.as_tensor(mask, device=device)
    if m.ndim != 2:
        raise ValueError(f"mask must have 2 dimensions, got shape {tuple(m.shape)}")
    m = _mask(m, torch.zeros(m.shape, dtype=dtype, device=m.device))
    n_tok = m.sum()
    if bool(n_tok == 0):
        raise ValueError("mask has no tokens (all zero)")
    lengths = m.sum(dim=1)
    b_seq = (lengths > 0).sum().to(dtype)
    if mode == "token-mean":
        return m / n_tok
    if mode == "token-sum":
        return m
    if mode == "seq-mean-token-sum":
        return m / b_seq
    if mode == "seq-mean-token-mean":
        safe = torch.where(lengths > 0, lengths, torch.ones_like(lengths))
        return m / (safe[:, None] * b_seq)
    H = float(m.shape[1]) if horizon is None else check_positive(horizon, "horizon")
    return m / (b_seq * H)


def aggregate(token_losses, mask, mode="token-mean", horizon=None):
    ell = _tensor(token_losses, "token_losses", ndim=2)
    m = torch.as_tensor(mask, device=ell.device)
    if m.shape != ell.shape:
        raise ValueError(f"mask must have shape {tuple(ell.shape)}, got {tuple(m.shape)}")
    W = aggregation_weights(m, mode, horizon, dtype=ell.dtype, device=ell.device)
    return (W * torch.where(W > 0, ell, torch.zeros_like(ell))).sum()


def _advantages(advantages, like):
    A = _tensor(advantages, "advantages", ndim=(1, 2)).to(dtype=like.dtype, device=like.device)
    if A.ndim == 1:
        if A.shape[0] != like.shape[0]:
            raise ValueError(f"advantages must have shape ({like.shape[0]},) or "
                             f"{tuple(like.shape)}, got {tuple(A.shape)}")
        return A[:, None].expand_as(like)
    if A.shape != like.shape:
        raise ValueError(f"advantages must have shape {tuple(like.shape)}, got {tuple(A.shape)}")
    return A


def _log_ratio(lp, old, m, level):
    lr = torch.where(m > 0, lp - old, torch.zeros_like(lp))
    if level == "token":
        return lr
    lengths = m.sum(dim=1)
    s = lr.sum(dim=1) / torch.where(lengths > 0, lengths, torch.ones_like(lengths))
    return s[:, None].expand_as(lp)


def ppo_clip_loss(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None,
                  dual_clip=None, level="token", mode="token-mean", horizon=None):
    lp, old = _same([("logp", logp), ("old_logp", old_logp)], ndim=2)
    m = _mask(mask, lp)
    A = _advantages(advantages, lp)
    el = check_in_range(clip_low, "clip_low", 0.0, 1.0)
    eh = el if clip_high is None else check_nonnegative(clip_high, "clip_high")
    if dual_clip is not None:
        c = check_positive(dual_clip, "dual_clip")
        if c <= 1:
            raise ValueError(f"dual_clip must be > 1, got {dual_clip}")
    if level not in ("token", "sequence"):
        raise ValueError(f"level must be 'token' or 'sequence', got {level!r}")
    log_rho = _log_ratio(lp, old, m, level)
    with torch.no_grad():
        # entries whose value does not depend on the ratio: a clipped branch is selected or the
        # dual clip is active. Their exp(log_rho) is not formed, so an overflowing ratio there
        # gives neither inf nor a NaN gradient.
        lr_d = log_rho.detach()
        clipped = ((A > 0) & (lr_d > math.log1p(eh))) | (
            (A < 0) & (lr_d < (math.log1p(-el) if el < 1 else -math.inf)))
        fixed = clipped
        dual = torch.zeros_like(clipped)
        if dual_clip is not None:
            # for A < 0 the loss is |A| max(rho, clip(rho)); the dual clip binds when that > c
            lo_val = torch.where(clipped, torch.full_like(lr_d, 1 - el), torch.exp(lr_d))
            dual = (A < 0) & (lo_val > c)
            fixed = fixed | dual
    # A = 0: the value is 0 whatever the ratio; cap the exponent so 0 * inf cannot appear
    safe = torch.where((A == 0) & (log_rho > 80), torch.full_like(log_rho, 80.0), log_rho)
    rho = torch.exp(torch.where(fixed, torch.zeros_like(log_rho), safe))
    bound = torch.where(A > 0, torch.full_like(A, 1 + eh), torch.full_like(A, 1 - el))
    u = -A * rho
    k = -A * torch.clamp(rho, 1 - el, 1 + eh)
    L = torch.where(clipped, -A * bound, torch.maximum(u, k))
    if dual_clip is not None:
        L = torch.where(dual, -A * c, torch.where(A < 0, torch.minimum(L, -A * c), L))
    L = L * m
    if mode is None:
        return _finite(L, "ppo_clip_loss")
    W = aggregation_weights(m, mode, horizon, dtype=lp.dtype, device=lp.device)
    return _finite((W * L).sum(), "ppo_clip_loss")


def cispo_loss(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None,
               max_ratio=None, mode="token-mean", horizon=None):
    lp, old = _same([("logp", logp), ("old_logp", old_logp)], ndim=2)
    m = _mask(mask, lp)
    A = _advantages(advantages, lp)
    with torch.no_grad():
        rho = torch.exp(_log_ratio(lp, old, m, "token"))
        if max_ratio is not None:
            w = torch.clamp(rho, max=check_positive(max_ratio, "max_ratio"))
        else:
            el = check_in_range(clip_low, "clip_low", 0.0, 1.0)
            eh = el if clip_high is None else check_nonnegative(clip_high, "clip_high")
            w = torch.clamp(rho, 1 - el, 1 + eh)
    L = -w * A * torch.where(m > 0, lp, torch.zeros_like(lp)) * m
    if mode is None:
        return _finite(L, "cispo_loss")
    W = aggregation_weights(m, mode, horizon, dtype=lp.dtype, device=lp.device)
    return _finite((W * L).sum(), "cispo_loss")


# ------------------------------------------------------------------------------------ docs

_PAIR_EXAMPLE = """>>> import torch
    >>> from prefrl.torch import losses as tl
    >>> h = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    >>> z = torch.zeros(2, dtype=torch.float64)
    >>> v = tl.{name}(h, z, z, z, beta=0.5{extra})
    >>> v.sum().backward()
    >>> bool(torch.isfinite(v).all() and torch.isfinite(h.grad).all())
    True"""

_EXTRA = {
    "cdpo": ", label_smoothing=0.1",
    "robust_dpo": ", label_smoothing=0.1",
    "sigmoid_norm": ", chosen_lengths=[2, 3], rejected_lengths=[4, 1]",
    "sppo": ", chosen_win_prob=[0.7, 0.6], rejected_win_prob=[0.2, 0.5]",
    "rebel": None,
    "dno": ", chosen_rewards=[1.0, 0.0], rejected_rewards=[0.0, 0.5]",
}

_OTHER_EXAMPLES = {
    "rebel": """>>> import torch
    >>> from prefrl.torch import losses as tl
    >>> z = torch.zeros(1, dtype=torch.float64)
    >>> tl.rebel(z + 1, z, z, z, eta=0.5, chosen_rewards=[2.0], rejected_rewards=[0.0])
    tensor([0.], dtype=torch.float64)""",
    "simpo": """>>> import torch
    >>> from prefrl.torch import losses as tl
    >>> tl.simpo(torch.tensor([-4.0]), torch.tensor([-12.0]), beta=2.0, chosen_lengths=[4],
    ...          rejected_lengths=[6], gamma=1.0).round(decimals=4)
    tensor([0.3133])""",
    "orpo": """>>> import torch
    >>> from prefrl.torch import losses as tl
    >>> tl.orpo([-2.0], [-2.0], beta=0.1, chosen_lengths=[2], rejected_lengths=[2]).round(decimals=4)
    tensor([1.0693], dtype=torch.float64)""",
    "kto_reference_point": """>>> from prefrl.torch import losses as tl
    >>> tl.kto_reference_point([-3.0, -5.0], [-4.0, -5.5])
    0.75""",
    "kto": """>>> from prefrl.torch import losses as tl
    >>> tl.kto([0.0, 0.0], [0.0, 0.0], desirable=[True, False], beta=1.0)
    tensor([0.5000, 0.5000], dtype=torch.float64)""",
    "dro": """>>> from prefrl.torch import losses as tl
    >>> tl.dro([0.0], [0.0], [1.0], rewards=[1.0], beta=1.0)
    tensor([0.], dtype=torch.float64)""",
    "pmpo": """>>> from prefrl.torch import losses as tl
    >>> tl.pmpo([-1.0, -2.0], [-1.0, -1.0], accepted=[True, False], alpha=0.5, beta=1.0)
    tensor([0.5000, 0.0000], dtype=torch.float64)""",
    "plackett_luce_dpo": """>>> from prefrl.torch import losses as tl
    >>> tl.plackett_luce_dpo([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], beta=1.0).round(decimals=4)
    tensor([1.7918], dtype=torch.float64)""",
    "exo": """>>> from prefrl.torch import losses as tl
    >>> tl.exo([[1.0, 0.0]], [[0.0, 0.0]], rewards=[[1.0, 0.0]], beta=1.0)
    tensor([0.], dtype=torch.float64)""",
    "dpo_k": """>>> from prefrl.torch import losses as tl
    >>> tl.dpo_k([[0.0, 0.0]], [[0.0, 0.0]], rewards=[[0.0, 0.0]], beta=1.0).round(decimals=4)
    tensor([0.6931], dtype=torch.float64)""",
    "grpo_advantages": """>>> from prefrl.torch import losses as tl
    >>> tl.grpo_advantages([[1.0, 0.0], [1.0, 1.0]], eps=0.0).round(decimals=4)
    tensor([[ 0.7071, -0.7071],
            [ 0.0000,  0.0000]], dtype=torch.float64)""",
    "rloo_advantages": """>>> from prefrl.torch import losses as tl
    >>> tl.rloo_advantages([[1.0, 0.0, 2.0]])
    tensor([[ 0.0000, -1.5000,  1.5000]], dtype=torch.float64)""",
    "reinforce_pp_advantages": """>>> from prefrl.torch import losses as tl
    >>> A = tl.reinforce_pp_advantages([[0.0, 1.0], [0.0, 0.0]], [[1, 1], [1, 1]])
    >>> bool(abs(A.sum()) < 1e-12)
    True""",
    "remax_advantages": """>>> from prefrl.torch import losses as tl
    >>> tl.remax_advantages([1.0, 0.0], [0.5, 0.5], [[1, 1], [1, 0]])
    tensor([[ 0.5000,  0.5000],
            [-0.5000, -0.0000]], dtype=torch.float64)""",
    "kl_estimate": """>>> from prefrl.torch import losses as tl
    >>> tl.kl_estimate([0.0, -1.0], [0.0, 0.0], kind="k3").round(decimals=4)
    tensor([0.0000, 0.7183], dtype=torch.float64)""",
    "aggregation_weights": """>>> from prefrl.torch import losses as tl
    >>> tl.aggregation_weights([[1, 1], [1, 0]], "seq-mean-token-mean")
    tensor([[0.2500, 0.2500],
            [0.5000, 0.0000]], dtype=torch.float64)""",
    "aggregate": """>>> from prefrl.torch import losses as tl
    >>> float(tl.aggregate([[1.0, 3.0], [2.0, 0.0]], [[1, 1], [1, 0]], "seq-mean-token-sum"))
    3.0""",
    "ppo_clip_loss": """>>> from prefrl.torch import losses as tl
    >>> float(tl.ppo_clip_loss([[0.0, 0.5]], [[0.0, 0.0]], [[1.0, 1.0]], [[1, 1]]))
    -1.1""",
    "cispo_loss": """>>> from prefrl.torch import losses as tl
    >>> float(tl.cispo_loss([[-1.0]], [[-1.0]], [[2.0]], [[1]]))
    2.0""",
}


def _adopt_docs():
    """Each torch twin gets its numpy twin's docstring, with a torch example."""
    for name in __all__:
        fn = globals()[name]
        if not callable(fn) or name in ("sigmoid", "robust"):
            continue
        np_fn = getattr(_np_losses, name)
        doc = np_fn.__doc__ or ""
        head = doc.split("    Examples\n    --------")[0].rstrip()
        summary, _, rest = head.partition("\n")
        if name in _OTHER_EXAMPLES:
            ex = _OTHER_EXAMPLES[name]
        else:
            ex = _PAIR_EXAMPLE.format(name=name, extra=_EXTRA.get(name) or "")
        fn.__doc__ = (
            summary
            + "\n\n    Torch twin of :func:`prefrl.losses."
            + name
            + "`: tensors in (float32 or float64, any device), tensors out, differentiable by "
            "autograd.\n"
            + rest
            + "\n\n    Examples\n    --------\n    "
            + ex
            + "\n    "
        )


_adopt_docs()

# The mirror-learning drifts (their docstrings come from prefrl.torch.drift).
from .drift import drift_objective, lpo_drift, ppo_drift  # noqa: E402

__all__ += ["drift_objective", "lpo_drift", "ppo_drift"]
