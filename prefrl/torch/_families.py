r"""Torch twins of the unpaired and listwise losses (``_unpaired``, ``_listwise`` of
:mod:`prefrl.losses`): :func:`kto`, :func:`kto_reference_point`, :func:`dro`, :func:`pmpo`;
:func:`plackett_luce_dpo`, :func:`exo`, :func:`dpo_k`.

Same names, signatures and defaults as the numpy references, on tensors, differentiable by
autograd; their docstrings are the numpy twins' (adopted by :mod:`prefrl.torch.losses`).
"""

from __future__ import annotations

import math

import torch

from .._validation import check_in_range, check_nonnegative, check_positive
from ._core import aux, finite, labels, same

__all__ = ["dpo_k", "dro", "exo", "kto", "kto_reference_point", "plackett_luce_dpo", "pmpo"]


def kto_reference_point(mismatched_logps, mismatched_ref_logps) -> float:
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.kto_reference_point([-3.0, -5.0], [-4.0, -5.5])
    0.75
    """
    a, b = same([("mismatched_logps", mismatched_logps),
                 ("mismatched_ref_logps", mismatched_ref_logps)])
    return max(0.0, float((a.detach().double() - b.detach().double()).mean()))


def kto(policy_logps, ref_logps, *, desirable, beta, reference_point=0.0, desirable_weight=1.0,
        undesirable_weight=1.0):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.kto([0.0, 0.0], [0.0, 0.0], desirable=[True, False], beta=1.0)
    tensor([0.5000, 0.5000], dtype=torch.float64)
    """
    b = check_positive(beta, "beta")
    z0 = check_in_range(reference_point, "reference_point", 0.0, math.inf)
    lam_d = check_nonnegative(desirable_weight, "desirable_weight")
    lam_u = check_nonnegative(undesirable_weight, "undesirable_weight")
    lp, lr = same([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    d = labels(desirable, "desirable", lp)
    r = lp - lr
    x = torch.where(d, b * (r - z0), b * (z0 - r))
    lam = torch.where(d, torch.full_like(lp, lam_d), torch.full_like(lp, lam_u))
    return finite(lam * torch.sigmoid(-x), "kto")


def dro(policy_logps, ref_logps, values, *, rewards, beta):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.dro([0.0], [0.0], [1.0], rewards=[1.0], beta=1.0)
    tensor([0.], dtype=torch.float64)
    """
    b = check_positive(beta, "beta")
    lp, lr, val, rew = same([("policy_logps", policy_logps), ("ref_logps", ref_logps),
                             ("values", values), ("rewards", rewards)])
    return finite(0.5 * (rew - val - b * (lp - lr)) ** 2, "dro")


def pmpo(policy_logps, ref_logps, *, accepted, alpha=0.5, beta=0.0):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.pmpo([-1.0, -2.0], [-1.0, -1.0], accepted=[True, False], alpha=0.5, beta=1.0)
    tensor([0.5000, 0.0000], dtype=torch.float64)
    """
    a = check_in_range(alpha, "alpha", 0.0, 1.0)
    b = check_nonnegative(beta, "beta")
    lp, lr = same([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    acc = labels(accepted, "accepted", lp)
    coef = torch.where(acc, torch.full_like(lp, -a), torch.full_like(lp, 1.0 - a))
    return finite(coef * lp + b * (lr - lp), "pmpo")


# ------------------------------------------------------------------------------------ listwise


def _two_d(named):
    ts = same(named, ndim=2)
    if ts[0].shape[1] < 2:
        raise ValueError(f"{named[0][0]} must have K >= 2 responses per row")
    return ts


def plackett_luce_dpo(policy_logps, ref_logps, *, beta, ranking=None):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.plackett_luce_dpo([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], beta=1.0).round(decimals=4)
    tensor([1.7918], dtype=torch.float64)
    """
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
    return finite((L - x).sum(dim=1), "plackett_luce_dpo")


def _soft_labels(policy_logps, ref_logps, rewards, beta, beta_r):
    b = check_positive(beta, "beta")
    br = b if beta_r is None else check_positive(beta_r, "beta_r")
    lp, lr = _two_d([("policy_logps", policy_logps), ("ref_logps", ref_logps)])
    r = aux(rewards, "rewards", lp)
    return br, r, torch.log_softmax(b * (lp - lr), dim=1)


def exo(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.exo([[1.0, 0.0]], [[0.0, 0.0]], rewards=[[1.0, 0.0]], beta=1.0)
    tensor([0.], dtype=torch.float64)
    """
    br, r, log_pf = _soft_labels(policy_logps, ref_logps, rewards, beta, beta_r)
    log_pr = torch.log_softmax(r / br, dim=1)
    return finite((log_pf.exp() * (log_pf - log_pr)).sum(dim=1), "exo")


def dpo_k(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.dpo_k([[0.0, 0.0]], [[0.0, 0.0]], rewards=[[0.0, 0.0]], beta=1.0).round(decimals=4)
    tensor([0.6931], dtype=torch.float64)
    """
    br, r, log_pf = _soft_labels(policy_logps, ref_logps, rewards, beta, beta_r)
    return finite(-(torch.softmax(r / br, dim=1) * log_pf).sum(dim=1), "dpo_k")
