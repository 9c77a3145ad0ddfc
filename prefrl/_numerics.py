"""Numerically sound primitives shared by the policy and MDP code.

- :func:`log_normalize`: ``z - log sum exp z`` along an axis, shifted by the largest entry first, so
  the result is normalised for any finite ``z`` (``[1e17, 1e17, 0]`` included, where
  ``z - logsumexp(z)`` loses the ``log 2`` of the two equal entries to rounding).
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_normalize"]


def log_normalize(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""The normalised log-probabilities :math:`z_i - \log\sum_j e^{z_j}` along ``axis``.

    Computed as :math:`(z_i - m) - \log\sum_j e^{z_j - m}` with :math:`m = \max_j z_j`, so that the
    sum lies in :math:`[1, K]` and ``exp`` of the result sums to one within rounding for any
    finite ``z``. Entries equal to ``-inf`` stay ``-inf``; every slice must have a finite entry.

    Examples
    --------
    >>> np.exp(log_normalize(np.array([1e17, 1e17, 0.0])))
    array([0.5, 0.5, 0. ])
    """
    m = np.max(z, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore"):
        shifted = z - m
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
