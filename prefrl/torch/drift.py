r"""Torch twins of the mirror-learning drifts of :mod:`prefrl.losses.drift`.

Same names, signatures and defaults; tensors in (float32 or float64, any device), tensors out,
differentiable by autograd. Re-exported by :mod:`prefrl.torch.losses`.
"""

from __future__ import annotations

import torch

from .._validation import check_in_range, check_positive
from ..losses import drift as _np_drift

__all__ = ["drift_objective", "lpo_drift", "ppo_drift"]


def _tensor(x, name):
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a tensor or an array of numbers")
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or an array of numbers: {exc}") from None
    if not torch.is_floating_point(x):
        x = x.to(torch.float64)
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~torch.isfinite(x.detach())
    if bool(bad.any()):
        idx = [int(i) for i in torch.nonzero(bad)[0]]
        raise ValueError(f"{name}{idx} is {x.detach()[tuple(idx)].item()}, must be finite")
    return x


def _inputs(ratio, advantages):
    r, A = _tensor(ratio, "ratio"), _tensor(advantages, "advantages")
    if r.shape != A.shape:
        raise ValueError(f"ratio and advantages must have the same shape, got {tuple(r.shape)} "
                         f"and {tuple(A.shape)}")
    bad = r.detach() <= 0
    if bool(bad.any()):
        idx = [int(i) for i in torch.nonzero(bad)[0]]
        raise ValueError(f"ratio{idx} = {r.detach()[tuple(idx)].item()}, must be > 0 "
                         "(a probability ratio)")
    dt = torch.promote_types(r.dtype, A.dtype)
    return r.to(dtype=dt), A.to(device=r.device, dtype=dt)


def _finite(v, name):
    if not bool(torch.isfinite(v.detach()).all()):
        raise ValueError(f"{name}: overflow for these inputs (a product ratio * advantage "
                         "exceeded the float range)")
    return v


def ppo_drift(ratio, advantages, clip=0.2):
    r, A = _inputs(ratio, advantages)
    eps = check_in_range(clip, "clip", 0.0, 1.0)
    return _finite(torch.relu((r - torch.clamp(r, 1 - eps, 1 + eps)) * A), "ppo_drift")


def lpo_drift(ratio, advantages, alpha=2.0, beta=0.6):
    r, A = _inputs(ratio, advantages)
    alpha = check_positive(alpha, "alpha")
    beta = check_positive(beta, "beta")
    pos = A >= 0
    x_pos = (r - 1) * A
    x_neg = torch.log(r) * A
    f_pos = torch.relu(x_pos - alpha * torch.tanh(x_pos / alpha))
    f_neg = torch.relu(x_neg - beta * torch.tanh(x_neg / beta))
    return _finite(torch.where(pos, f_pos, f_neg), "lpo_drift")


_DRIFTS = {"ppo": (ppo_drift, ("clip",)), "lpo": (lpo_drift, ("alpha", "beta"))}


def drift_objective(ratio, advantages, drift, **options):
    if not isinstance(drift, str) or drift not in _DRIFTS:
        raise ValueError(f"drift must be one of {sorted(_DRIFTS)}, got {drift!r}")
    fn, allowed = _DRIFTS[drift]
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise ValueError(f"options {extra} do not apply to drift {drift!r} (it takes {allowed})")
    r, A = _inputs(ratio, advantages)
    return _finite(r * A - fn(r, A, **options), "drift_objective")


_EXAMPLES = {
    "ppo_drift": """>>> from prefrl.torch import losses as tl
    >>> tl.ppo_drift([1.0, 1.5, 0.5, 0.5], [1.0, 2.0, 2.0, -1.0], clip=0.2)
    tensor([0.0000, 0.6000, 0.0000, 0.3000], dtype=torch.float64)""",
    "lpo_drift": """>>> from prefrl.torch import losses as tl
    >>> tl.lpo_drift([1.0, 3.0, 0.5, 2.0], [1.0, 2.0, 2.0, -1.0]).round(decimals=4)
    tensor([0.0000, 2.0719, 0.0000, 0.0000], dtype=torch.float64)""",
    "drift_objective": """>>> import torch
    >>> from prefrl.torch import losses as tl
    >>> r = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> tl.drift_objective(r, [1.0, -2.0], "lpo").sum().backward()
    >>> r.grad                     # at r = 1 the drift's gradient vanishes: dJ/dr = A
    tensor([ 1., -2.], dtype=torch.float64)""",
}


def _adopt_docs():
    """Each twin gets its numpy twin's docstring (the mathematics) with a torch example."""
    for name in __all__:
        doc = getattr(_np_drift, name).__doc__ or ""
        head = doc.split("    Examples\n    --------")[0].rstrip()
        summary, _, rest = head.partition("\n")
        globals()[name].__doc__ = (
            summary
            + "\n\n    Torch twin of :func:`prefrl.losses."
            + name
            + "`: tensors in (float32 or float64, any device), tensors out, differentiable by "
            "autograd.\n"
            + rest
            + "\n\n    Examples\n    --------\n    "
            + _EXAMPLES[name]
            + "\n    "
        )


_adopt_docs()
