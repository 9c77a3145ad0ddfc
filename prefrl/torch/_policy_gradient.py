r"""Torch twins of the policy-gradient family (``_advantages``, ``_kl``, ``_surrogates`` of
:mod:`prefrl.losses`): :func:`grpo_advantages`, :func:`rloo_advantages`,
:func:`reinforce_pp_advantages`, :func:`remax_advantages`; :func:`kl_estimate`;
:func:`aggregation_weights`, :func:`aggregate`, :func:`ppo_clip_loss`, :func:`cispo_loss`.

Same names, signatures and defaults as the numpy references, on tensors, differentiable by
autograd (CISPO's importance weight and the straight-through KL kinds detach as their
definitions say); the option checks are the numpy ones (:mod:`prefrl.losses.checks`). Their
docstrings are the numpy twins' (adopted by :mod:`prefrl.torch.losses`).
"""

from __future__ import annotations

import math

import torch

from .._validation import check_in_range, check_nonnegative, check_positive
from ..losses.checks import (
    check_clip,
    check_grpo_options,
    check_kl_options,
    check_mode,
    check_ppo_options,
)
from ._core import as_mask, finite, mask01, same, tensor

__all__ = [
    "aggregate",
    "aggregation_weights",
    "cispo_loss",
    "grpo_advantages",
    "kl_estimate",
    "ppo_clip_loss",
    "reinforce_pp_advantages",
    "remax_advantages",
    "rloo_advantages",
]


def grpo_advantages(rewards, *, scale="group", eps=1e-4, ddof=1, singleton="zero"):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.grpo_advantages([[1.0, 0.0], [1.0, 1.0]], eps=0.0).round(decimals=4)
    tensor([[ 0.7071, -0.7071],
            [ 0.0000,  0.0000]], dtype=torch.float64)
    """
    R = tensor(rewards, "rewards", ndim=2)
    eps = check_nonnegative(eps, "eps")
    check_grpo_options(scale, singleton, ddof)
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
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.rloo_advantages([[1.0, 0.0, 2.0]])
    tensor([[ 0.0000, -1.5000,  1.5000]], dtype=torch.float64)
    """
    R = tensor(rewards, "rewards", ndim=2)
    G = R.shape[1]
    if G == 1:
        return R.clone()
    return (R - R.mean(dim=1, keepdim=True)) * (G / (G - 1))


def reinforce_pp_advantages(token_rewards, mask, *, logp=None, ref_logp=None, beta=0.0,
                            gamma=1.0):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> A = tl.reinforce_pp_advantages([[0.0, 1.0], [0.0, 0.0]], [[1, 1], [1, 1]])
    >>> bool(abs(A.sum()) < 1e-12)
    True
    """
    r = tensor(token_rewards, "token_rewards", ndim=2)
    m = mask01(mask, r)
    b = check_nonnegative(beta, "beta")
    g = check_in_range(gamma, "gamma", 0.0, 1.0)
    if b > 0:
        if logp is None or ref_logp is None:
            raise ValueError("logp and ref_logp are required when beta > 0")
        lp, lr = same([("logp", logp), ("ref_logp", ref_logp)], ndim=2)
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
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.remax_advantages([1.0, 0.0], [0.5, 0.5], [[1, 1], [1, 0]])
    tensor([[ 0.5000,  0.5000],
            [-0.5000, -0.0000]], dtype=torch.float64)
    """
    R, b = same([("rewards", rewards), ("greedy_rewards", greedy_rewards)])
    m = as_mask(mask, R.device)
    if m.ndim != 2 or m.shape[0] != R.shape[0]:
        raise ValueError(f"mask must have shape ({R.shape[0]}, T), got {tuple(m.shape)}")
    return (R - b)[:, None] * mask01(m, torch.zeros(m.shape, dtype=R.dtype, device=R.device))


def kl_estimate(logp, ref_logp, *, kind="k3", clamp=None):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.kl_estimate([0.0, -1.0], [0.0, 0.0], kind="k3").round(decimals=4)
    tensor([0.0000, 0.7183], dtype=torch.float64)
    """
    check_kl_options(kind, clamp)
    lp, lr = same([("logp", logp), ("ref_logp", ref_logp)], ndim=None)
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
    return finite(v, "kl_estimate")


def aggregation_weights(mask, mode="token-mean", horizon=None, *, dtype=torch.float64,
                        device=None):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.aggregation_weights([[1, 1], [1, 0]], "seq-mean-token-mean")
    tensor([[0.2500, 0.2500],
            [0.5000, 0.0000]], dtype=torch.float64)
    """
    check_mode(mode)
    m = as_mask(mask, device)
    if m.ndim != 2:
        raise ValueError(f"mask must have 2 dimensions, got shape {tuple(m.shape)}")
    m = mask01(m, torch.zeros(m.shape, dtype=dtype, device=m.device))
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
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> float(tl.aggregate([[1.0, 3.0], [2.0, 0.0]], [[1, 1], [1, 0]], "seq-mean-token-sum"))
    3.0
    """
    ell = tensor(token_losses, "token_losses", ndim=2)
    m = as_mask(mask, ell.device)
    if m.shape != ell.shape:
        raise ValueError(f"mask must have shape {tuple(ell.shape)}, got {tuple(m.shape)}")
    W = aggregation_weights(m, mode, horizon, dtype=ell.dtype, device=ell.device)
    return (W * torch.where(W > 0, ell, torch.zeros_like(ell))).sum()


def _advantages(advantages, like):
    A = tensor(advantages, "advantages", ndim=(1, 2)).to(dtype=like.dtype, device=like.device)
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
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> float(tl.ppo_clip_loss([[0.0, 0.5]], [[0.0, 0.0]], [[1.0, 1.0]], [[1, 1]]))
    -1.1
    """
    lp, old = same([("logp", logp), ("old_logp", old_logp)], ndim=2)
    m = mask01(mask, lp)
    A = _advantages(advantages, lp)
    el, eh, c = check_ppo_options(clip_low, clip_high, dual_clip, level)
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
        return finite(L, "ppo_clip_loss")
    W = aggregation_weights(m, mode, horizon, dtype=lp.dtype, device=lp.device)
    return finite((W * L).sum(), "ppo_clip_loss")


def cispo_loss(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None,
               max_ratio=None, mode="token-mean", horizon=None):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> float(tl.cispo_loss([[-1.0]], [[-1.0]], [[2.0]], [[1]]))
    2.0
    """
    lp, old = same([("logp", logp), ("old_logp", old_logp)], ndim=2)
    m = mask01(mask, lp)
    A = _advantages(advantages, lp)
    with torch.no_grad():
        rho = torch.exp(_log_ratio(lp, old, m, "token"))
        if max_ratio is not None:
            w = torch.clamp(rho, max=check_positive(max_ratio, "max_ratio"))
        else:
            el, eh = check_clip(clip_low, clip_high)
            w = torch.clamp(rho, 1 - el, 1 + eh)
    L = -w * A * torch.where(m > 0, lp, torch.zeros_like(lp)) * m
    if mode is None:
        return finite(L, "cispo_loss")
    W = aggregation_weights(m, mode, horizon, dtype=lp.dtype, device=lp.device)
    return finite((W * L).sum(), "cispo_loss")
