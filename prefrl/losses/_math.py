"""Private numerically stable primitives shared by the reference losses (numpy, dtype-preserving)."""

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


def common(*named):
    """Validate 1-D arrays of one shape and cast them to their common floating dtype."""
    arrays = [float_array(x, n) for n, x in named]
    for (n, _), a in zip(named[1:], arrays[1:]):
        check_same_shape(named[0][0], arrays[0], n, a)
    dt = np.result_type(*arrays)
    return [a.astype(dt, copy=False) for a in arrays]


def positive_lengths(x, name, like):
    """Token counts: same shape as ``like``, strictly positive."""
    arr = float_array(x, name).astype(like.dtype, copy=False)
    check_same_shape(name, arr, "chosen_logps", like)
    bad = arr <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {arr[i]}, must be > 0 (a token count)")
    return arr
