r"""The tensor plumbing shared by the torch twins, and the docstrings they adopt.

Inputs may be tensors (float32 or float64, any device) or array-likes (converted to float64
tensors on the CPU); validation raises ValueError (or TypeError) naming the argument, as the
numpy references do, and synchronises with the device once per check. The option checks
themselves are shared with numpy (:mod:`prefrl.losses.checks`).

Private helpers: ``tensor``, ``same``, ``aux``, ``finite``, ``softplus``, ``log_sigmoid``,
``labels``, ``mask01``; ``adopt_docs`` gives each twin its numpy twin's docstring (the
mathematics) with a torch example.
"""

from __future__ import annotations

import torch

from .. import losses as _np_losses


def tensor(x, name, ndim=None, like=None):
    """A floating tensor (float64 unless ``like`` gives the dtype), non-empty and finite."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a tensor or an array of numbers")
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x, dtype=torch.float64 if like is None else like.dtype,
                                device=None if like is None else like.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or an array of numbers: {exc}") from None
    if x.is_complex():
        raise TypeError(f"{name} must be real, got a complex tensor (take .real explicitly)")
    if x.dtype == torch.bool:
        raise TypeError(f"{name} must be a tensor of numbers, got booleans")
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


def same(named, ndim=1):
    """Tensors of one shape, promoted to their common floating dtype."""
    ts = [tensor(x, n, ndim=ndim) for n, x in named]
    for (n, _), t in zip(named[1:], ts[1:]):
        if t.shape != ts[0].shape:
            raise ValueError(f"{named[0][0]} and {n} must have the same shape, got "
                             f"{tuple(ts[0].shape)} and {tuple(t.shape)}")
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return [t.to(dt) for t in ts]


def aux(x, name, like):
    """A per-example input of ``like``'s shape, dtype and device."""
    t = tensor(x, name, like=like).to(dtype=like.dtype, device=like.device)
    if t.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(t.shape)}")
    return t


def finite(v, name, why="(a score or exponential exceeded the float range)"):
    """``v``, after checking that it is finite (ValueError naming the loss otherwise)."""
    if not bool(torch.isfinite(v.detach()).all()):
        raise ValueError(f"{name}: the loss overflowed {why}")
    return v


def softplus(x):
    """log(1 + e^x), exact for every finite x (no threshold approximation)."""
    return torch.logaddexp(torch.zeros((), dtype=x.dtype, device=x.device), x)


def log_sigmoid(x):
    """log sigma(x) = -softplus(-x)."""
    return -softplus(-x)


def labels(x, name, like):
    """Boolean labels of ``like``'s shape (booleans, or 0/1)."""
    t = torch.as_tensor(x, device=like.device)
    if t.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(t.shape)}")
    if t.dtype != torch.bool:
        if not bool(((t == 0) | (t == 1)).all()):
            raise ValueError(f"{name} must hold booleans (or 0/1)")
        t = t.bool()
    return t


def as_mask(mask, device, name="mask"):
    """``mask`` as a tensor on ``device`` (not yet checked for 0/1), or a TypeError naming it."""
    if mask is None or isinstance(mask, (str, bytes)):
        raise TypeError(f"{name} must be a tensor or an array of 0/1 or booleans, got "
                        f"{type(mask).__name__}")
    try:
        m = torch.as_tensor(mask, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a tensor or an array of 0/1 or booleans: {exc}") from None
    if m.is_complex():
        raise TypeError(f"{name} must be real, got a complex tensor")
    return m


def mask01(mask, like, name="mask"):
    """A 0/1 (or boolean) mask of ``like``'s shape, as ``like``'s dtype."""
    m = as_mask(mask, like.device, name)
    if m.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(m.shape)}")
    if m.dtype != torch.bool and not bool(((m == 0) | (m == 1)).all()):
        raise ValueError(f"{name} must hold 0/1 or booleans")
    return m.to(like.dtype)


_EXAMPLES = "    Examples\n    --------"

_PAIR_EXAMPLE = """>>> import torch
    >>> from prefrl.torch import losses as tl
    >>> h = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    >>> z = torch.zeros(2, dtype=torch.float64)
    >>> v = tl.{name}(h, z, z, z{options})
    >>> v.sum().backward()
    >>> bool(torch.isfinite(v).all() and torch.isfinite(h.grad).all())
    True"""

# what a generated example passes for each kind of keyword input (two pairs)
_EXAMPLE_EXTRAS = {"lengths": ("[2, 3]", "[4, 1]"), "probs": ("[0.7, 0.6]", "[0.2, 0.5]"),
                   "rewards": ("[1.0, 0.0]", "[0.0, 0.5]")}


def _pair_example(spec) -> str:
    """A generated torch example for a pairwise loss: its default options, beta = 0.5."""
    opts = {**spec.defaults, **({"beta": 0.5} if "beta" in spec.defaults else {})}
    parts = [f", {k}={v!r}" for k, v in opts.items()]
    for k, what in spec.extras.items():
        parts.append(f", {k}={_EXAMPLE_EXTRAS[what][0 if k.startswith('chosen') else 1]}")
    return _PAIR_EXAMPLE.format(name=spec.name, options="".join(parts))


def adopt_docs(twins) -> None:
    """Each twin gets its numpy twin's docstring (the mathematics) and a torch example.

    A twin's own docstring, if it has one, is its example (the lines after ``Examples``); a
    pairwise twin without one gets an example generated from its declaration.
    """
    for fn in twins:
        name = fn.__name__
        doc = getattr(_np_losses, name).__doc__ or ""
        head = doc.split(_EXAMPLES)[0].rstrip()
        summary, _, rest = head.partition("\n")
        own = fn.__doc__ or ""
        if _EXAMPLES in own:
            ex = own.split(_EXAMPLES)[1].strip()
        else:
            ex = _pair_example(_np_losses.LOSSES[name])
        fn.__doc__ = (
            summary
            + "\n\n    Torch twin of :func:`prefrl.losses."
            + name
            + "`: tensors in (float32 or float64, any device), tensors out, differentiable by "
            "autograd.\n"
            + rest
            + "\n\n" + _EXAMPLES + "\n    "
            + ex
            + "\n    "
        )
