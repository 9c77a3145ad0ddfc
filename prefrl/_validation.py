"""Shared input checks.

Every public function of prefrl validates its inputs with these helpers, so that bad input fails early
with a :class:`ValueError` (or :class:`TypeError`) that names the argument and the first offending
entry, e.g. ``"P[2, 0] + P[0, 2] = 1.3, must be 1"``. Never ``assert``, never a silent NaN.

The helpers return the validated value converted to a numpy array (float64 unless said otherwise), so
callers write ``P = check_preference_matrix(P)`` and go on.

- arrays: :func:`check_array`, :func:`check_same_shape`, :func:`check_indices`;
- numbers: :func:`check_positive`, :func:`check_nonnegative`, :func:`check_in_range`,
  :func:`check_probability`, :func:`check_integer`;
- distributions: :func:`check_distribution`, :func:`check_stochastic_matrix`,
  :func:`check_preference_matrix` (``P + P.T == 1`` within :data:`ATOL`);
- randomness: :func:`as_rng` (a Generator or a seed; None is refused);
- model objects: :func:`frozen_copy` (a read-only copy of an input array);
- messages: :func:`format_index`, :func:`renamed_errors` (re-raise a helper's error under the
  caller's argument name).

A private module (not in the API pages); the helpers are described in ``DEVELOPING.md``.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = [
    "ATOL",
    "as_rng",
    "check_array",
    "check_distribution",
    "check_in_range",
    "check_indices",
    "check_integer",
    "check_nonnegative",
    "check_positive",
    "check_preference_matrix",
    "check_probability",
    "check_same_shape",
    "check_stochastic_matrix",
    "format_index",
    "frozen_copy",
    "input_eps",
    "input_tolerance",
    "renamed_errors",
]

#: Absolute tolerance used for "sums to one" and "P + P.T == 1" checks of float64 input; input of
#: lower precision (float32, float16, bfloat16) gets a tolerance scaled to its machine epsilon
#: (see :func:`input_tolerance`).
ATOL = 1e-8


def input_eps(x) -> float:
    """The machine epsilon of ``x``'s floating dtype (float64's for Python numbers and lists).

    Examples
    --------
    >>> input_eps(np.ones(2, dtype=np.float32))
    1.1920928955078125e-07
    >>> input_eps([0.5, 0.5])
    2.220446049250313e-16
    """
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return float(np.finfo(np.float64).eps)
    if str(dtype).endswith("bfloat16"):  # torch.bfloat16 or ml_dtypes' bfloat16
        return 2.0**-7
    try:
        dtype = np.dtype(dtype)
    except TypeError:  # a torch dtype other than bfloat16: by its name
        name = str(dtype).rsplit(".", 1)[-1]
        dtype = np.dtype(name) if name in ("float16", "float32", "float64") else np.float64
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(
        np.finfo(np.float64).eps)


def input_tolerance(x, n: int, atol: float = ATOL) -> float:
    """The tolerance of a sum-to-one (or ``P + P.T == 1``) check of ``n`` entries of ``x``.

    ``atol * max(1, n)`` for float64 input; for input of lower precision, at least
    ``4 * eps * max(1, n)`` with ``eps`` its machine epsilon (a float32 distribution normalised in
    float32 sums to one within a few ulps per entry).

    Examples
    --------
    >>> float(input_tolerance(np.ones(4, dtype=np.float32), 4))
    1.9073486328125e-06
    """
    n = max(1, int(n))
    eps = input_eps(x)
    if eps <= np.finfo(np.float64).eps:
        return atol * n
    return max(atol, 4.0 * eps) * n


def _show(value: float, target: float) -> str:
    """``value`` with 6 significant digits, or the fewest that tell it from ``target``."""
    value = float(value)
    for digits in range(6, 18):
        text = f"{value:.{digits}g}"
        if float(text) != target or value == target:
            return text
    return repr(value)


def format_index(idx: Sequence[int] | tuple | int) -> str:
    """Format a numpy index as ``"[i, j]"`` for error messages."""
    if isinstance(idx, (int, np.integer)):
        return f"[{int(idx)}]"
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def frozen_copy(a) -> np.ndarray:
    """A read-only copy of the array ``a``, for a model object that owns its arrays.

    Examples
    --------
    >>> x = np.zeros(2); y = frozen_copy(x); x[0] = 1.0
    >>> y.tolist(), y.flags.writeable
    ([0.0, 0.0], False)
    """
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out


@contextlib.contextmanager
def renamed_errors(old: str, new: str) -> Iterator[None]:
    """Re-raise a ValueError/TypeError whose message starts with ``old`` as one naming ``new``.

    For a helper that validates its input under a fixed name (an objective checks its ``policy``)
    called on an element of the user's argument (``policies[3]``)::

        with renamed_errors("policy", "policies[3]"):
            objective.values(p)

    Examples
    --------
    >>> with renamed_errors("policy", "policies[3]"):
    ...     check_array([float("nan")], "policy")
    Traceback (most recent call last):
        ...
    ValueError: policies[3][0] is nan, must be finite
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if msg.startswith(old) and not msg.startswith(new):
            raise type(exc)(new + msg[len(old):]) from exc
        raise


def _first_bad(mask: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_array(
    x,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    dtype=np.float64,
    finite: bool = True,
    nonempty: bool = True,
    like: str | None = None,
) -> np.ndarray:
    """Convert ``x`` to an array and check its rank, shape and finiteness.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int, optional
        Allowed number of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    dtype : numpy dtype, optional
        Target dtype (float64 by default; ``None`` keeps the input's floating dtype).
    finite : bool
        Reject NaN and infinite entries.
    nonempty : bool
        Reject arrays with no entries.
    like : str, optional
        The argument ``shape`` was taken from, named in the message of a shape mismatch (both
        arguments are then named: either may be the wrong one).

    Examples
    --------
    >>> check_array([1, 2], "x")
    array([1., 2.])
    >>> check_array([[1.0, float("nan")]], "x")
    Traceback (most recent call last):
        ...
    ValueError: x[0, 1] is nan, must be finite
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    if hasattr(x, "detach") and hasattr(x, "cpu") and not isinstance(x, np.ndarray):
        # a torch tensor (any device); bfloat16 has no numpy dtype: widen it first
        x = x.detach().cpu()
        if str(x.dtype).endswith("bfloat16"):
            x = x.float()
    raw = x if isinstance(x, np.ndarray) else None
    if raw is None and not hasattr(x, "__array__"):
        try:
            raw = np.asarray(x)
        except (TypeError, ValueError):  # ragged nesting: numpy refuses it
            raise TypeError(f"{name} must be an array of numbers (a ragged nesting of lists "
                            "is not an array)") from None
    kind = raw.dtype.kind if raw is not None else None
    if kind == "c":
        raise TypeError(f"{name} must be real, got a complex array (take .real explicitly)")
    if kind == "b":
        raise TypeError(f"{name} must be an array of numbers, got booleans")
    if kind in ("U", "S", "O") and raw.size:
        if kind != "O" or not all(isinstance(v, (numbers.Real, np.number)) and not isinstance(
                v, (bool, np.bool_)) for v in raw.ravel()):
            raise TypeError(f"{name} must be an array of numbers, got {raw.dtype} entries")
    try:
        arr = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if dtype is None and not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape)
        ):
            want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
            source = f" (from {like})" if like else ""
            raise ValueError(f"{name} must have shape {want}{source}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if finite and np.issubdtype(arr.dtype, np.number):
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = _first_bad(bad) if arr.ndim else ()
            where = format_index(idx) if idx else ""
            raise ValueError(f"{name}{where} is {arr[idx]}, must be finite")
    return arr


def check_positive(x, name: str, *, allow_zero: bool = False) -> float:
    """Check that a scalar is a finite positive (or nonnegative) real number and return it as float.

    Examples
    --------
    >>> check_positive(0.5, "beta")
    0.5
    >>> check_positive(0, "beta")
    Traceback (most recent call last):
        ...
    ValueError: beta must be > 0, got 0
    """
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if isinstance(x, np.ndarray) and x.ndim == 0:
            x = x.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if allow_zero:
        if x < 0:
            raise ValueError(f"{name} must be >= 0, got {x}")
    elif x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    return float(x)


def check_nonnegative(x, name: str) -> float:
    """Check that a scalar is a finite real number >= 0."""
    return check_positive(x, name, allow_zero=True)


def check_in_range(
    x, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """Check ``low <= x <= high`` (or with open ends) for a finite real scalar.

    Examples
    --------
    >>> check_in_range(0.2, "label_smoothing", 0.0, 0.5, high_open=True)
    0.2
    >>> check_in_range(0.5, "label_smoothing", 0.0, 0.5, high_open=True)
    Traceback (most recent call last):
        ...
    ValueError: label_smoothing must be in [0.0, 0.5), got 0.5
    """
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    ok_low = x > low if low_open else x >= low
    ok_high = x < high if high_open else x <= high
    if not (np.isfinite(x) and ok_low and ok_high):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{rb}, got {x}")
    return x


def check_probability(x, name: str) -> float:
    """Check that a scalar lies in [0, 1]."""
    return check_in_range(x, name, 0.0, 1.0)


def check_integer(x, name: str, *, minimum: int | None = None) -> int:
    """Check that ``x`` is an integer (not a bool), optionally ``>= minimum``.

    Examples
    --------
    >>> check_integer(3, "n", minimum=1)
    3
    >>> check_integer(0, "n", minimum=1)
    Traceback (most recent call last):
        ...
    ValueError: n must be >= 1, got 0
    """
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    x = int(x)
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    return x


def check_distribution(p, name: str, *, size: int | None = None, atol: float = ATOL) -> np.ndarray:
    """Check a probability vector: 1-D, finite, nonnegative, sums to one.

    Examples
    --------
    >>> check_distribution([0.25, 0.75], "mu")
    array([0.25, 0.75])
    >>> check_distribution([0.5, -0.1, 0.6], "mu")
    Traceback (most recent call last):
        ...
    ValueError: mu[1] = -0.1, must be >= 0
    """
    raw_p = p
    p = check_array(p, name, ndim=1)
    if size is not None and p.shape[0] != size:
        raise ValueError(f"{name} must have length {size}, got {p.shape[0]}")
    neg = p < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise ValueError(f"{name}[{i}] = {p[i]:.6g}, must be >= 0")
    s = p.sum()
    tol = input_tolerance(raw_p, p.size, atol)
    if not abs(s - 1.0) <= tol:
        raise ValueError(f"{name} sums to {_show(s, 1.0)}, must sum to 1 (within {tol:.2g})")
    if tol > atol * max(1, p.size):  # low-precision input: renormalised in float64
        p = p / s
    return p


def check_stochastic_matrix(
    M, name: str, *, shape: tuple[int | None, ...] | None = None, atol: float = ATOL
) -> np.ndarray:
    """Check that every slice along the last axis is a probability vector.

    Used for policies ``(S, A)`` and transition kernels ``(S, A, S)``.

    Examples
    --------
    >>> check_stochastic_matrix([[0.5, 0.5], [1.0, 0.0]], "policy")
    array([[0.5, 0.5],
           [1. , 0. ]])
    >>> check_stochastic_matrix([[0.5, 0.6]], "policy")
    Traceback (most recent call last):
        ...
    ValueError: policy[0, :] sums to 1.1, must sum to 1 (within 2e-08)
    """
    raw_m = M
    M = check_array(M, name, shape=shape)
    if M.ndim < 1:
        raise ValueError(f"{name} must have at least one dimension")
    neg = M < 0
    if neg.any():
        idx = _first_bad(neg)
        raise ValueError(f"{name}{format_index(idx)} = {M[idx]:.6g}, must be >= 0")
    sums = M.sum(axis=-1)
    tol = input_tolerance(raw_m, M.shape[-1], atol)
    bad = ~(np.abs(sums - 1.0) <= tol)
    if bad.any():
        idx = _first_bad(bad) if sums.ndim else ()
        where = "[" + ", ".join([*(str(i) for i in idx), ":"]) + "]"
        raise ValueError(f"{name}{where} sums to {_show(sums[idx], 1.0)}, must sum to 1 "
                         f"(within {tol:.2g})")
    if tol > atol * max(1, M.shape[-1]):  # low-precision input: renormalised in float64
        M = M / sums[..., None]
    return M


def check_preference_matrix(P, name: str = "P", *, atol: float = ATOL) -> np.ndarray:
    """Check a preference matrix: square, entries in [0, 1], ``P + P.T == 1``, diagonal 1/2.

    ``P[i, j]`` is the probability that item ``i`` is preferred to item ``j``.

    Examples
    --------
    >>> check_preference_matrix([[0.5, 0.7], [0.3, 0.5]])
    array([[0.5, 0.7],
           [0.3, 0.5]])
    >>> check_preference_matrix([[0.5, 0.7], [0.6, 0.5]])
    Traceback (most recent call last):
        ...
    ValueError: P[1, 0] + P[0, 1] = 1.3, must be 1
    """
    raw_P = P
    P = check_array(P, name, ndim=2)
    if P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be square, got shape {P.shape}")
    low_precision = input_tolerance(raw_P, 1, atol) > atol
    atol = input_tolerance(raw_P, 1, atol)
    out = (P < -atol) | (P > 1 + atol)
    if out.any():
        idx = _first_bad(out)
        raise ValueError(f"{name}{format_index(idx)} = {P[idx]:.6g}, must be in [0, 1]")
    # Sums of mixture weights can land at 1 + 2e-16: bring such rounding back into [0, 1].
    P = np.clip(P, 0.0, 1.0)
    diag = np.abs(np.diag(P) - 0.5) > atol
    if diag.any():
        i = int(np.argmax(diag))
        raise ValueError(f"{name}[{i}, {i}] = {_show(P[i, i], 0.5)}, must be 0.5")
    asym = np.abs(P + P.T - 1.0) > atol
    if asym.any():
        # Report the lower-triangle entry first, as in "P[2, 0] + P[0, 2]".
        i, j = _first_bad(np.tril(asym))
        raise ValueError(
            f"{name}[{i}, {j}] + {name}[{j}, {i}] = {_show(P[i, j] + P[j, i], 1.0)}, must be 1"
        )
    if low_precision:  # symmetrise the float64 copy exactly: P + P.T = 1, diagonal 1/2
        P = np.clip(0.5 * (P + 1.0 - P.T), 0.0, 1.0)
    return P


def check_same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same shape."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}"
        )


def check_indices(idx, name: str, n: int) -> np.ndarray:
    """Check a 1-D array of integer indices in ``[0, n)``.

    Examples
    --------
    >>> check_indices([0, 2], "winners", 3)
    array([0, 2])
    >>> check_indices([0, 3], "winners", 3)
    Traceback (most recent call last):
        ...
    ValueError: winners[1] = 3, must be in [0, 3)
    """
    arr = np.asarray(idx)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if (
            np.issubdtype(arr.dtype, np.floating)
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {arr[i]}, must be in [0, {n})")
    return arr


def as_rng(rng) -> np.random.Generator:
    """Turn ``rng`` (a Generator, a seed, or None) into a :class:`numpy.random.Generator`.

    ``None`` is refused: prefrl has no hidden global randomness, so pass a seed.

    Examples
    --------
    >>> as_rng(0).integers(10)
    np.int64(8)
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise ValueError("rng must be a numpy.random.Generator or an integer seed, got None")
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng must be a nonnegative seed, got {rng}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator or an integer seed, got {type(rng).__name__}"
    )


def seed_zero_if_none(rng, where: str, *, stacklevel: int = 3):
    """The rng rule's one-release fallback for functions that used to default to ``rng=0``.

    Returns ``rng`` unchanged, or, when it is None, 0 after a DeprecationWarning saying that ``rng``
    will be required (``where`` names the function). ``stacklevel`` counts from the caller of this
    function, as for :func:`warnings.warn`.

    >>> seed_zero_if_none(5, "f()")
    5
    """
    if rng is None:
        import warnings

        warnings.warn(
            f"{where}: rng=None is deprecated; pass rng (a seed or a generator), it will be "
            "required. Seed 0 is used for now.",
            DeprecationWarning,
            stacklevel=stacklevel + 1,
        )
        return 0
    return rng
