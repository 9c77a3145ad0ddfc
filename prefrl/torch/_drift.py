r"""Torch twins of the mirror-learning drifts (``_drift`` of :mod:`prefrl.losses`):
:func:`ppo_drift`, :func:`discovered_drift` (formerly ``lpo_drift``) and :func:`drift_objective`
(Kuba et al. 2022; Lu et al. 2022, "Discovered Policy Optimisation").

Same names, signatures and defaults; tensors in (float32 or float64, any device), tensors out,
differentiable by autograd. Their docstrings are the numpy twins' (adopted by
:mod:`prefrl.torch.losses`, which re-exports them).
"""

from __future__ import annotations

import torch

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_positive
from ..losses.checks import check_drift
from ._core import finite, same

__all__ = ["discovered_drift", "drift_objective", "ppo_drift"]


def _inputs(ratio, advantages):
    r, A = same([("ratio", ratio), ("advantages", advantages)], ndim=None)
    bad = r.detach() <= 0
    if bool(bad.any()):
        idx = [int(i) for i in torch.nonzero(bad)[0]]
        raise ValueError(f"ratio{idx} = {r.detach()[tuple(idx)].item()}, must be > 0 "
                         "(a probability ratio)")
    return r, A.to(device=r.device)


def _finite(v, name):
    return finite(v, name, "for these inputs (a product ratio * advantage exceeded the float "
                  "range)")


def ppo_drift(ratio, advantages, clip=0.2):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.ppo_drift([1.0, 1.5, 0.5, 0.5], [1.0, 2.0, 2.0, -1.0], clip=0.2)
    tensor([0.0000, 0.6000, 0.0000, 0.3000], dtype=torch.float64)
    """
    r, A = _inputs(ratio, advantages)
    eps = check_in_range(clip, "clip", 0.0, 1.0)
    return _finite(torch.relu((r - torch.clamp(r, 1 - eps, 1 + eps)) * A), "ppo_drift")


@renamed_parameters(beta="alpha_neg")
def discovered_drift(ratio, advantages, alpha=2.0, alpha_neg=0.6):
    r"""Torch twin.

    Examples
    --------
    >>> from prefrl.torch import losses as tl
    >>> tl.discovered_drift([1.0, 3.0, 0.5, 2.0], [1.0, 2.0, 2.0, -1.0]).round(decimals=4)
    tensor([0.0000, 2.0719, 0.0000, 0.0000], dtype=torch.float64)
    """
    r, A = _inputs(ratio, advantages)
    alpha = check_positive(alpha, "alpha")
    alpha_neg = check_positive(alpha_neg, "alpha_neg")
    pos = A >= 0
    x_pos = (r - 1) * A
    x_neg = torch.log(r) * A
    f_pos = torch.relu(x_pos - alpha * torch.tanh(x_pos / alpha))
    f_neg = torch.relu(x_neg - alpha_neg * torch.tanh(x_neg / alpha_neg))
    return _finite(torch.where(pos, f_pos, f_neg), "discovered_drift")


_DRIFTS = {"ppo": ppo_drift, "discovered": discovered_drift, "lpo": discovered_drift}


def drift_objective(ratio, advantages, drift, **options):
    r"""Torch twin.

    Examples
    --------
    >>> import torch
    >>> from prefrl.torch import losses as tl
    >>> r = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> tl.drift_objective(r, [1.0, -2.0], "discovered").sum().backward()
    >>> r.grad                     # at r = 1 the drift's gradient vanishes: dJ/dr = A
    tensor([ 1., -2.], dtype=torch.float64)
    """
    options = check_drift(drift, options, stacklevel=4)
    r, A = _inputs(ratio, advantages)
    return _finite(r * A - _DRIFTS[drift](r, A, **options), "drift_objective")
