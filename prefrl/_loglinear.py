r"""The lean numerics of the log-linear policy class, shared by the restricted and online solvers.

For :math:`\pi_\theta(y) \propto \pi_{ref}(y)\, e^{\theta^\top\phi(y)}` (see
:class:`prefrl.policies.LogLinearPolicy`): :func:`lse` (log-sum-exp), :func:`log_reference`
(:math:`\log\pi_{ref}`, ``-inf`` off its support), :func:`log_probs` and :func:`log_partition`.
``LogLinearPolicy`` has its own ``log_probs`` (through :func:`scipy.special.logsumexp`); these lean
versions are kept (a fast path, on purpose) because scipy's logsumexp is slow on the tiny arrays
that the Newton and trust-region solvers evaluate thousands of times, and because scipy sums in
another order, so switching would move the figures' numbers in the last bits.
"""

from __future__ import annotations

import numpy as np

from .policies import LogLinearPolicy

__all__ = ["log_partition", "log_probs", "log_reference", "lse"]


def lse(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """A lean logsumexp (scipy's is slow on tiny arrays); ``z`` has a finite entry per slice."""
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_reference(cls: LogLinearPolicy) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(cls.pi_ref)


def log_probs(cls: LogLinearPolicy, theta: np.ndarray) -> np.ndarray:
    # Not cls.log_probs(theta): that one sums through scipy's logsumexp, in another order (the
    # figures' numbers would move in the last bits) and slower on these tiny arrays.
    z = log_reference(cls) + cls.features @ theta
    return z - lse(z)


def log_partition(cls: LogLinearPolicy, theta: np.ndarray) -> float:
    return float(lse(log_reference(cls) + cls.features @ theta))
