"""Private numerically stable primitives and input checks shared by the reference losses.

Numpy, dtype-preserving (float32 input stays float32): ``softplus``, ``log_sigmoid``,
``sigmoid``; validation of float arrays (``float_array``, ``common``, ``aligned``), token counts
(``positive_lengths``), boolean labels (``labels``), 0/1 masks (``mask01``); and the one overflow
check of every loss (``check_finite``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._validation import check_array, check_same_shape


def softplus(x):
    """log(1 + e^x) without overflow."""
    return np.logaddexp(np.zeros((), dtype=np.result_type(x, np.float32)), x)


def log_sigmoid(x):
    """log sigma(x) = -softplus(-x)."""
    return -softplus(-x)


def sigmoid(x):
    """The logistic function, stable for any finite x."""
    return expit(x)


def float_array(x, name, *, ndim=1):
    """Validated floating array; float32 input stays float32, everything else becomes float64."""
    arr = check_array(x, name, ndim=ndim, dtype=None)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return arr


def common(*named, ndim=1):
    """Validate arrays of one shape (1-D by default) and cast them to their common float dtype."""
    arrays = [float_array(x, n, ndim=ndim) for n, x in named]
    for (n, _), a in zip(named[1:], arrays[1:]):
        check_same_shape(named[0][0], arrays[0], n, a)
    dt = np.result_type(*arrays)
    return [a.astype(dt, copy=False) for a in arrays]


def aligned(x, name, like, like_name="chosen_logps"):
    """A per-example input of ``like``'s shape (checked) and dtype (cast)."""
    arr = float_array(x, name).astype(like.dtype, copy=False)
    check_same_shape(name, arr, like_name, like)
    return arr


def positive_lengths(x, name, like):
    """Token counts: same shape as ``like``, strictly positive."""
    arr = aligned(x, name, like)
    bad = arr <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {arr[i]}, must be > 0 (a token count)")
    return arr


def _from(like_name):
    return f" (the shape of {like_name})" if like_name else ""


def labels(x, name, like, like_name="policy_logps"):
    """Boolean labels of ``like``'s shape (booleans, or 0/1)."""
    arr = np.asarray(x)
    if arr.shape != like.shape:
        raise ValueError(f"{name} must have shape {like.shape}{_from(like_name)}, got {arr.shape}")
    if arr.dtype != bool:
        if not np.all(np.isin(arr, (0, 1))):
            raise ValueError(f"{name} must hold booleans (or 0/1)")
        arr = arr.astype(bool)
    return arr


def mask01(mask, like, name="mask", like_name=None):
    """A 0/1 (or boolean) mask of ``like``'s shape (the shape of the argument ``like_name``), as
    ``like``'s dtype."""
    m = np.asarray(mask)
    if m.shape != like.shape:
        raise ValueError(f"{name} must have shape {like.shape}{_from(like_name)}, got {m.shape}")
    if m.dtype != bool:
        m = check_array(m, name, dtype=None)
        if not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must hold 0/1 or booleans")
    return m.astype(like.dtype)


def check_finite(values, grads, name, why="for these inputs"):
    """Raise ValueError naming the loss when a value or a gradient is not finite."""
    if not np.all(np.isfinite(values)) or any(not np.all(np.isfinite(g)) for g in grads):
        raise ValueError(f"{name}: the loss overflowed {why}")
