r"""The reference side of the kit: values and gradients of a registered loss, sequence level
(:func:`reference_value_and_grad`) or per token (``token_reference``: :func:`prefrl.losses.
sequence_logps`, then the loss; the token gradients by the chain rule).
"""

from __future__ import annotations

import numpy as np

from .. import losses as _losses
from ._specs import SPECS
from .strategies import LENGTH_INPUTS

__all__ = ["reference_value_and_grad", "token_reference"]


def reference_value_and_grad(name, arrays, kwargs, options):
    r"""Reference values of ``name`` and, where registered, the gradients of their sum.

    .. math::
        \ell = f(x^{(1)}, \dots, x^{(m)}), \qquad g^{(j)} = \partial \textstyle\sum_i \ell_i /
        \partial x^{(j)}

    Parameters
    ----------
    name : str
        A function of :mod:`prefrl.losses`.
    arrays : sequence of arrays
        Its positional array inputs :math:`x^{(j)}`.
    kwargs, options : dict
        Drawn keyword inputs and options.

    Returns
    -------
    (array, tuple of arrays or None)
        Values, and gradients (None for functions without one, such as advantages).

    Examples
    --------
    >>> v, g = reference_value_and_grad("ipo", [[0.5], [0.0], [0.0], [0.0]], {}, {"beta": 1.0})
    >>> float(v[0]), float(g[0][0])
    (0.0, 0.0)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in _losses.GRADIENTS and not callable(getattr(_losses, name, None)):
        raise ValueError(f"name must name a registered loss or a function of prefrl.losses, "
                         f"got {name!r}")
    if not (isinstance(arrays, (list, tuple)) or (isinstance(arrays, np.ndarray) and arrays.ndim)):
        raise TypeError(f"arrays must be a sequence of arrays, got {type(arrays).__name__}")
    for arg, value in (("kwargs", kwargs), ("options", options)):
        if not isinstance(value, dict):
            raise TypeError(f"{arg} must be a dict, got {type(value).__name__}")
    try:
        if name in _losses.GRADIENTS:
            v, g = _losses.GRADIENTS[name](*arrays, **kwargs, **options)
            return np.asarray(v), tuple(np.asarray(x) for x in g)
        return np.asarray(getattr(_losses, name)(*arrays, **kwargs, **options)), None
    except (ValueError, TypeError) as exc:  # name the argument the bad input came in
        raise type(exc)(f"arrays, kwargs or options of {name}: {exc}") from exc


def token_reference(inp, options):
    """The reference of a per-token pairwise call: sequence_logps, then the sequence loss; the
    token gradients by the chain rule (d seq / d token = mask, mask / length or mask / T)."""
    kind = SPECS[inp.name]["kind"]
    if kind not in ("pair", "pair2"):
        return reference_value_and_grad(inp.name, inp.arrays, inp.kwargs, options)
    k = 4 if kind == "pair" else 2
    tokens, (mc, mr) = inp.arrays[:k], inp.arrays[k:]
    masks = [mc, mr, mc, mr][:k]
    seq = [_losses.sequence_logps(t, m, inp.reduction) for t, m in zip(tokens, masks)]
    kwargs = dict(inp.kwargs)
    if any(e in LENGTH_INPUTS for e in SPECS[inp.name]["extras"]):
        kwargs["chosen_lengths"] = mc.sum(axis=1).astype(np.float64)
        kwargs["rejected_lengths"] = mr.sum(axis=1).astype(np.float64)
    v, g = reference_value_and_grad(inp.name, seq, kwargs, options)
    if g is None:
        return v, None
    out = []
    for gj, m in zip(g, masks):
        w = m.astype(np.float64)
        if inp.reduction == "mean":
            w = w / np.maximum(w.sum(axis=1, keepdims=True), 1.0)
        elif inp.reduction == "sum-norm":
            w = w / m.shape[1]
        out.append(gj[:, None] * w)
    return v, (*out, None, None)
