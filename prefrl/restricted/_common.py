r"""Shared numerics of the log-linear class: lean log-softmax, input checks, feature units.

Private helpers of :mod:`prefrl.restricted` (and of :mod:`prefrl.online`, which sits on top of it):

* the lean log-partition and log-probabilities of the log-linear class live in
  :mod:`prefrl._loglinear` (shared with :mod:`prefrl.online`);
* :func:`_column_scales`: feature units in which the solvers' gradient tolerances mean the same
  for features of any size;
* :func:`_check_target`, :func:`_weights_from_dataset`: input checks shared by several files;
"""

from __future__ import annotations

import numpy as np

from .._optim import MIN_UNIT
from .._validation import check_distribution
from ..bradley_terry import comparison_counts


def _check_target(target, K: int) -> np.ndarray:
    return check_distribution(target, "target", size=K)


def _weights_from_dataset(winners, losers, K: int) -> np.ndarray:
    W = comparison_counts(winners, losers, K)
    if np.size(winners) == 0:
        raise ValueError("winners must not be empty")
    np.fill_diagonal(W, 0.0)
    return W


def _column_scales(F: np.ndarray) -> np.ndarray:
    """Per-column spread max_i F[i, j] - min_i F[i, j] (1 where a column is constant; at least 1e-100).

    The Newton solvers stop on the gradient, whose size scales with the features: fitting on
    F / scales and dividing the solution by the scales makes the stopping rule independent of the
    features' units (features of size 1e-9 otherwise stop the fit far from the optimum).
    """
    if F.shape[0] == 0:
        return np.ones(F.shape[1])
    s = F.max(axis=0) - F.min(axis=0)
    return np.where(s > 0, np.maximum(s, MIN_UNIT), 1.0)
