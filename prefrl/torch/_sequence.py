r"""Torch twin of :func:`prefrl.losses.sequence_logps` (per-token log-probs to sequence log-probs).

The reductions and their conventions are documented once, on the numpy twin; the option check
(:func:`prefrl.losses.checks.check_reduction`) is shared.
"""

from __future__ import annotations

import torch

from ..losses.checks import check_reduction
from ._core import as_mask, mask01, tensor

__all__ = ["sequence_logps"]


def sequence_logps(token_logps, mask, reduction="sum", *, horizon=None):
    r"""Torch twin.

    Examples
    --------
    >>> import torch
    >>> from prefrl.torch import losses as tl
    >>> lp = torch.tensor([[-1.0, -2.0, 99.0], [-4.0, 0.0, 0.0]], requires_grad=True)
    >>> s = tl.sequence_logps(lp, [[1, 1, 0], [1, 0, 0]], "mean")
    >>> s.sum().backward()
    >>> s.tolist(), lp.grad.tolist()
    ([-1.5, -4.0], [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    """
    check_reduction(reduction, horizon)
    if isinstance(token_logps, torch.Tensor):
        m0 = as_mask(mask, token_logps.device)
        if m0.shape == token_logps.shape:  # masked entries may be non-finite: never read them
            token_logps = torch.where(m0.bool(), token_logps, torch.zeros_like(token_logps))
    lp = tensor(token_logps, "token_logps", ndim=2)
    w = mask01(mask, lp)
    s = torch.where(w > 0, lp, torch.zeros_like(lp)).sum(dim=1)
    if reduction == "sum":
        return s
    if reduction == "mean":
        n = w.sum(dim=1)
        empty = n == 0
        if bool(empty.any()):
            i = int(torch.nonzero(empty)[0, 0])
            raise ValueError(f"mask[{i}] has no token: its mean log-probability is undefined "
                             "(use reduction='sum', or drop the row)")
        return s / n
    H = float(lp.shape[1]) if horizon is None else float(horizon)
    return s / H
