r"""Policies over finite action sets: softmax, KL, entropy, the Gibbs tilt and log-linear classes.

A bandit policy is a probability vector of shape ``(K,)``; a contextual or tabular policy is a
row-stochastic array of shape ``(S, K)``. Every function here works along the last axis, so the same
call serves one context or many.

All computations are in log space (``logsumexp``), so logits of size 1e4 and zero reference
probabilities are handled without overflow or NaN.

- :func:`log_softmax`, :func:`softmax`;
- :func:`kl` (Kullback-Leibler divergence; Gibbs' inequality, Cover and Thomas, Thm 2.6.3) and
  :func:`entropy`;
- the KL-regularised optimum, :math:`\pi^* \propto \pi_{ref}\, e^{f/\beta}`: :func:`gibbs`,
  :func:`log_gibbs`, its value :func:`soft_value` and the objective :func:`regularized_objective`
  (Rafailov et al. 2023, "Direct Preference Optimization", Eq. 4; Azar et al. 2024, "A General
  Theoretical Paradigm to Understand Learning from Human Preferences", App. A.1);
- :class:`LogLinearPolicy`, :math:`\pi_\theta \propto \pi_{ref} \exp(\theta^\top \phi)` (the
  restricted class of Shi et al. 2025 and Ji et al. 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ._deprecation import warn_deprecated
from ._numerics import log_normalize
from ._validation import (
    check_array,
    check_distribution,
    check_positive,
    check_same_shape,
    check_stochastic_matrix,
)

__all__ = [
    "LogLinearPolicy",
    "entropy",
    "gibbs",
    "kl",
    "log_gibbs",
    "log_softmax",
    "regularized_objective",
    "soft_value",
    "softmax",
]


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    r"""Log of the softmax, :math:`\log \mathrm{softmax}(z)_i = z_i - \log \sum_j e^{z_j}`.

    Parameters
    ----------
    logits : array, shape (..., K)
        Real scores; ``-inf`` entries get probability zero.
    axis : int
        The axis of the categories.

    Examples
    --------
    >>> log_softmax([0.0, 0.0]).round(4)
    array([-0.6931, -0.6931])
    >>> log_softmax([1e17, 1e17]).round(4)
    array([-0.6931, -0.6931])
    """
    shifted, total = _shifted_exp_sum(logits, axis)
    return shifted - np.log(total)


def _shifted_exp_sum(logits, axis: int):
    """``z - max z`` and ``sum exp(z - max z)`` along ``axis`` (the sum lies in [1, K])."""
    z = check_array(logits, "logits", finite=False)
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits must not contain NaN or +inf")
    if z.ndim == 0:
        raise ValueError("logits must have at least one dimension (the categories)")
    try:
        np.empty(z.shape).sum(axis=axis)
    except (ValueError, IndexError):  # numpy's AxisError is both
        raise ValueError(f"axis {axis} is out of range for logits of shape {z.shape}") from None
    if np.isneginf(z).all(axis=axis).any():
        raise ValueError("logits must have at least one finite entry along the category axis")
    # shift by the largest logit: the largest exponent is 0, the sum lies in [1, K], so the
    # result is normalised for any finite logits (1e17 included, where log(sum) + max would
    # lose the log 2 of two equal logits)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted, np.exp(shifted).sum(axis=axis, keepdims=True)


def softmax(logits, axis: int = -1) -> np.ndarray:
    r"""Softmax, :math:`\mathrm{softmax}(z)_i = e^{z_i} / \sum_j e^{z_j}`, computed stably.

    Parameters
    ----------
    logits : array, shape (..., K)
    axis : int

    Examples
    --------
    >>> softmax([0.0, np.log(3.0)])
    array([0.25, 0.75])
    >>> softmax([1e17, 1e17, 0.0])
    array([0.5, 0.5, 0. ])
    """
    shifted, total = _shifted_exp_sum(logits, axis)
    return np.exp(shifted) / total


def _xlogy_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise p log(p / q) with 0 log 0 = 0 and +inf where p > 0 = q."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return out


def kl(p, q) -> np.ndarray | float:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \,\|\, q) = \sum_i p_i \log(p_i / q_i)`.

    With the conventions :math:`0 \log(0/q) = 0` and :math:`p \log(p/0) = +\infty` for ``p > 0``.
    Nonnegative, and zero exactly when ``p == q`` (Gibbs' inequality, Cover and Thomas, Thm 2.6.3).

    Parameters
    ----------
    p, q : array, shape (..., K)
        Probability vectors along the last axis.

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    >>> round(kl([0.5, 0.5], [0.25, 0.75]), 6)
    0.143841
    >>> kl([1.0, 0.0], [0.0, 1.0])
    inf
    """
    p = check_stochastic_matrix(p, "p")
    q = check_stochastic_matrix(q, "q")
    check_same_shape("p", p, "q", q)
    out = _xlogy_ratio(p, q).sum(axis=-1)
    # Rounding can leave -1e-17 for p == q; KL is nonnegative by Gibbs' inequality.
    out = np.maximum(out, 0.0)
    return float(out) if out.ndim == 0 else out


def entropy(p) -> np.ndarray | float:
    r"""Shannon entropy :math:`H(p) = -\sum_i p_i \log p_i` in nats.

    Parameters
    ----------
    p : array, shape (..., K)

    Examples
    --------
    >>> round(entropy([0.5, 0.5]), 6)
    0.693147
    """
    p = check_stochastic_matrix(p, "p")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)
    out = np.maximum(out, 0.0)
    return float(out) if out.ndim == 0 else out


def _broadcast_like(x, name, like, like_name):
    """``x`` broadcast to ``like``'s shape, or a ValueError naming both arguments."""
    if x.shape == like.shape:
        return x
    try:
        if x.ndim > like.ndim:
            raise ValueError
        return np.broadcast_to(x, like.shape)
    except ValueError:
        raise ValueError(f"{name} has shape {x.shape}, which does not broadcast to the shape "
                         f"{like.shape} of {like_name}") from None


def _check_gibbs_args(pi_ref, f, beta):
    pi_ref = check_stochastic_matrix(pi_ref, "pi_ref")
    f = _broadcast_like(check_array(f, "f"), "f", pi_ref, "pi_ref")
    beta = check_positive(beta, "beta")
    return pi_ref, f, beta


def log_gibbs(pi_ref, f, beta) -> np.ndarray:
    r"""Log of the Gibbs tilt, :math:`\log \pi_{ref} + f/\beta - \log Z`.

    See :func:`gibbs`. Entries where ``pi_ref`` is zero are ``-inf``.

    Examples
    --------
    >>> log_gibbs([0.5, 0.5], [1.0, 0.0], beta=1.0).round(4)
    array([-0.3133, -1.3133])
    """
    pi_ref, f, beta = _check_gibbs_args(pi_ref, f, beta)
    with np.errstate(divide="ignore", over="ignore"):
        z = np.log(pi_ref) + f / beta
    if np.isposinf(z).any():
        raise ValueError(f"f / beta overflows (beta = {beta:g} is too small for f of size "
                         f"{np.max(np.abs(f)):.3g}); rescale f and beta together")
    return log_normalize(z, axis=-1)


def gibbs(pi_ref, f, beta) -> np.ndarray:
    r"""The Gibbs (exponential) tilt of a reference policy, the KL-regularised optimum.

    .. math::
        \pi^*(y) = \frac{\pi_{ref}(y)\, e^{f(y)/\beta}}{Z}, \qquad
        Z = \sum_{y'} \pi_{ref}(y')\, e^{f(y')/\beta},

    the unique maximiser of :math:`\mathbb{E}_{\pi} f - \beta\, \mathrm{KL}(\pi \,\|\, \pi_{ref})`
    (Rafailov et al. 2023, "Direct Preference Optimization", Eq. 4; Azar et al. 2024, App. A.1).
    Computed in log space, so large ``f / beta`` does not overflow.

    Parameters
    ----------
    pi_ref : array, shape (K,) or (S, K)
        Reference policy (rows are distributions).
    f : array, same shape as ``pi_ref`` (or broadcastable)
        The function being tilted towards (a reward, a win rate, ...).
    beta : float > 0
        KL weight (the IPO paper's tau).

    Returns
    -------
    array, same shape as ``pi_ref``

    Examples
    --------
    >>> gibbs([0.5, 0.5], [1.0, 0.0], beta=1.0).round(4)
    array([0.7311, 0.2689])
    >>> gibbs([0.5, 0.5], [1e4, 0.0], beta=1e-2)
    array([1., 0.])
    """
    return np.exp(log_gibbs(pi_ref, f, beta))


def soft_value(pi_ref, f, beta) -> np.ndarray | float:
    r"""Optimal value of the KL-regularised objective, :math:`\beta \log \sum_y \pi_{ref}(y) e^{f(y)/\beta}`.

    Equal to :math:`\max_\pi \mathbb{E}_\pi f - \beta \mathrm{KL}(\pi\|\pi_{ref})` (Azar et al. 2024,
    App. A.1), attained by :func:`gibbs`.

    Examples
    --------
    >>> round(soft_value([0.5, 0.5], [1.0, 0.0], beta=1.0), 6)
    0.620115
    """
    pi_ref, f, beta = _check_gibbs_args(pi_ref, f, beta)
    with np.errstate(divide="ignore"):
        z = np.log(pi_ref) + f / beta
    out = beta * logsumexp(z, axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def regularized_objective(policy, f, pi_ref, beta) -> np.ndarray | float:
    r"""The KL-regularised objective :math:`J(\pi) = \mathbb{E}_{\pi} f - \beta\, \mathrm{KL}(\pi \,\|\, \pi_{ref})`.

    Parameters
    ----------
    policy, pi_ref : array, shape (..., K)
    f : array, shape (..., K)
    beta : float >= 0

    Examples
    --------
    >>> round(regularized_objective([0.5, 0.5], [1.0, 0.0], [0.5, 0.5], 1.0), 6)
    0.5
    """
    policy = check_stochastic_matrix(policy, "policy")
    pi_ref = check_stochastic_matrix(pi_ref, "pi_ref")
    check_same_shape("policy", policy, "pi_ref", pi_ref)
    f = _broadcast_like(check_array(f, "f"), "f", policy, "policy")
    beta = check_positive(beta, "beta", allow_zero=True)
    value = (policy * f).sum(axis=-1)
    if beta > 0:
        value = value - beta * np.asarray(kl(policy, pi_ref))
    return float(value) if np.ndim(value) == 0 else value


@dataclass(frozen=True, init=False)
class LogLinearPolicy:
    r"""A log-linear policy class over ``K`` actions with user-given features.

    .. math::
        \pi_\theta(y) = \frac{\pi_{ref}(y) \exp(\theta^\top \phi(y))}{\sum_{y'} \pi_{ref}(y')
        \exp(\theta^\top \phi(y'))},

    the restricted class used for the RLHF-vs-DPO dichotomy (Shi et al. 2025) and the EXO mode-seeking
    picture (Ji et al. 2024). With ``features = np.eye(K)`` it is the full (tabular softmax) class.

    Parameters
    ----------
    features : array, shape (K, d)
        Row ``y`` is :math:`\phi(y)`.
    pi_ref : array, shape (K,), optional
        :math:`\pi_{ref}`; uniform by default. (``reference`` is its deprecated name.)

    Examples
    --------
    >>> cls = LogLinearPolicy(np.array([[0.0], [1.0], [2.0]]))
    >>> cls.probs(np.array([np.log(2.0)])).round(4)
    array([0.1429, 0.2857, 0.5714])
    >>> cls.score(np.zeros(1)).ravel()
    array([-1.,  0.,  1.])
    """

    features: np.ndarray
    pi_ref: np.ndarray

    def __init__(self, features, pi_ref=None, *, reference=None):
        if reference is not None:
            if pi_ref is not None:
                raise TypeError("LogLinearPolicy() got both 'reference' (deprecated) and 'pi_ref'")
            warn_deprecated("LogLinearPolicy(): the keyword 'reference' is deprecated, use 'pi_ref'")
            pi_ref = reference
        phi = check_array(features, "features", ndim=2)
        K = phi.shape[0]
        ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
        # read-only copies: changing the caller's arrays afterwards changes nothing here
        phi, ref = np.array(phi, dtype=float), np.array(ref, dtype=float)
        phi.flags.writeable = ref.flags.writeable = False
        object.__setattr__(self, "features", phi)
        object.__setattr__(self, "pi_ref", ref)

    @property
    def reference(self) -> np.ndarray:
        """Deprecated name of :attr:`pi_ref`."""
        warn_deprecated("LogLinearPolicy.reference is deprecated, use LogLinearPolicy.pi_ref")
        return self.pi_ref

    @property
    def n_actions(self) -> int:
        """Number of actions K."""
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        """Number of parameters d."""
        return self.features.shape[1]

    def _theta(self, theta) -> np.ndarray:
        return check_array(theta, "theta", shape=(self.dim,))

    def log_probs(self, theta) -> np.ndarray:
        """Log-probabilities, shape (K,)."""
        theta = self._theta(theta)
        with np.errstate(divide="ignore", over="ignore"):
            z = np.log(self.pi_ref) + self.features @ theta
        if not np.isfinite(z).any() or np.isposinf(z).any() or np.isnan(z).any():
            raise ValueError("features @ theta overflows: theta is out of the representable "
                             "range for these features")
        return log_normalize(z)

    def probs(self, theta) -> np.ndarray:
        """Probabilities, shape (K,)."""
        return np.exp(self.log_probs(theta))

    def score(self, theta) -> np.ndarray:
        r"""Gradient of :math:`\log \pi_\theta(y)` in :math:`\theta`: :math:`\phi(y) - \mathbb{E}_{\pi_\theta}\phi`, shape (K, d)."""
        p = self.probs(theta)
        return self.features - p @ self.features
