r"""Bradley-Terry fits in a linear reward class :math:`r_w(y) = w^\top\psi(y)`.

A logistic regression on feature differences: the reward step of RLHF in a restricted reward class
(Shi et al. 2025, Sec. 3), and the segment-comparison reward learning of Christiano et al. (2017).

- :func:`linear_bt_objective`: value, gradient and Hessian of the loss on difference rows;
- :func:`linear_bt_mle_differences`: its minimum-norm minimiser, the separable case (no finite
  maximiser) found by a linear program;
- :func:`linear_bt_mle` (population), :func:`linear_bt_mle_dataset` (comparisons),
  :func:`linear_bt_mle_counts` (a win matrix), returning :class:`LinearBTFit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.special import log_expit

from .._optim import MIN_UNIT, damped_newton
from .._validation import check_array, check_integer, check_nonnegative, check_positive
from ..results import Result
from ._tabular import comparison_counts, population_counts

__all__ = [
    "LinearBTFit",
    "linear_bt_mle",
    "linear_bt_mle_counts",
    "linear_bt_mle_dataset",
    "linear_bt_mle_differences",
    "linear_bt_objective",
]


@dataclass(frozen=True, eq=False)
class LinearBTFit(Result):
    """A Bradley-Terry maximum-likelihood fit in a linear reward class (see :func:`linear_bt_mle`).

    Attributes
    ----------
    weights : array, shape (m,)
        The minimum-norm maximiser :math:`\\hat w`.
    rewards : array, shape (K,) or None
        :math:`\\hat r = \\psi \\hat w` (None for :func:`linear_bt_mle_differences`, which sees no
        features).
    value : float
        The minimised (weighted) negative log-likelihood.
    iterations : int
        Newton iterations.
    certificate : float
        Max-norm of the gradient at ``weights``.
    converged : bool
        Newton's stopping rule was met and the maximiser is finite.
    exists : bool
        False when the likelihood has no finite maximiser (comparisons separable by a feature
        direction, checked by a linear program, and ``l2 = 0``).
    """

    weights: np.ndarray
    rewards: np.ndarray | None
    value: float
    iterations: int
    certificate: float
    converged: bool
    exists: bool = True


def linear_bt_objective(D, weights, l2, w):
    r"""Value, gradient and Hessian of the weighted linear Bradley-Terry negative log-likelihood.

    .. math::
        f(w) = -\sum_{k=1}^n c_k \log\sigma(d_k^\top w) + \frac12 \sum_j \lambda_j w_j^2,
        \quad \nabla f = -\sum_k c_k \sigma(-d_k^\top w)\, d_k + \lambda \odot w,
        \quad \nabla^2 f = \sum_k c_k \sigma(z_k)\sigma(-z_k)\, d_k d_k^\top + \mathrm{diag}(\lambda),

    for difference rows :math:`d_k = \psi(y^w_k) - \psi(y^l_k)` (winner minus loser features),
    weights :math:`c_k \ge 0` and a ridge :math:`\lambda` (a number or one per column);
    :math:`z_k = d_k^\top w`. Computed in log space (finite for margins of any size).

    Parameters
    ----------
    D : array, shape (n, m)
    weights : array, shape (n,)
    l2 : float or array of shape (m,)
    w : array, shape (m,)

    Returns
    -------
    (float, array of shape (m,), array of shape (m, m))

    Examples
    --------
    >>> f, g, H = linear_bt_objective(np.array([[1.0]]), np.array([1.0]), 0.0, np.zeros(1))
    >>> round(f, 4), g, H     # log 2, -1/2, 1/4
    (0.6931, array([-0.5]), array([[0.25]]))
    """
    D = check_array(D, "D", ndim=2, nonempty=False)
    weights = check_array(weights, "weights", ndim=1, shape=(D.shape[0],), nonempty=False,
                          like="D")
    w = check_array(w, "w", ndim=1, shape=(D.shape[1],), nonempty=False, like="D")
    l2 = check_nonnegative(l2, "l2")
    return _linear_objective(D, weights, l2, w)


def _linear_objective(D: np.ndarray, wts: np.ndarray, l2, w: np.ndarray):
    z = D @ w
    f = float(-(wts * log_expit(z)).sum() + 0.5 * (w @ (l2 * w)))
    s = np.exp(log_expit(-z))  # sigma(-z)
    g = -(wts * s) @ D + l2 * w
    B = D * np.sqrt(wts * s * (1.0 - s))[:, None]
    H = B.T @ B  # B.T @ B is a symmetric rank-k update, many times faster
    H[np.diag_indices(w.size)] += l2
    return f, g, H


def _l2_is_zero(l2) -> bool:
    return bool(np.all(np.asarray(l2) == 0))


def _separable(D: np.ndarray) -> bool:
    """Whether some w has D @ w >= 0 with a strict inequality (the likelihood has no maximiser)."""
    m = D.shape[1]
    res = linprog(-D.sum(axis=0), A_ub=-D, b_ub=np.zeros(D.shape[0]), bounds=[(-1, 1)] * m,
                  method="highs")
    return bool(res.status == 0 and -res.fun > 1e-9)


def _linear_differences(D: np.ndarray, wts: np.ndarray, l2, *, max_iter: int = 100,
                        tol: float = 1e-11) -> LinearBTFit:
    # Without a ridge, solve in units where every column of D spans at most 1 (v = s w), so that
    # the gradient test means the same for features of size 1e-9 and 1e9. With a ridge the problem
    # is strongly convex in w and is solved as posed.
    if _l2_is_zero(l2):
        scale = np.max(np.abs(D), axis=0) if D.shape[0] else np.ones(D.shape[1])
        scale = np.where(scale > 0, np.maximum(scale, MIN_UNIT), 1.0)
    else:
        scale = np.ones(D.shape[1])
    Ds = D / scale

    res = damped_newton(lambda v: _linear_objective(Ds, wts, l2, v), np.zeros(D.shape[1]),
                        tol=tol, max_iter=max_iter, polish=8)
    pos = wts > 0
    # Back to the original units, then onto the row space of the weighted differences: the
    # minimum-norm minimiser (the rescaling would otherwise move the part of w that the data
    # cannot identify).
    w = res.x / scale
    if pos.any() and _l2_is_zero(l2):
        w = np.linalg.lstsq(D[pos], D[pos] @ w, rcond=None)[0]
    separable = bool(_l2_is_zero(l2) and D.size and pos.any() and _separable(Ds[pos]))
    return LinearBTFit(w, None, res.value, res.iterations, res.certificate,
                       res.converged and not separable, not separable)


def linear_bt_mle_differences(D, weights=None, l2=0.0, *, tol: float = 1e-11,
                              max_iter: int = 100) -> LinearBTFit:
    r"""Minimum-norm minimiser of the linear Bradley-Terry loss on difference rows.

    .. math::
        \hat w = \arg\min_{w\in\mathbb{R}^m} -\sum_{k=1}^n c_k \log\sigma(d_k^\top w)
        + \frac12 \sum_j \lambda_j w_j^2

    (:func:`linear_bt_objective`), a logistic regression through the origin on the rows
    :math:`d_k`. Without a ridge only the projection of :math:`w` on the span of the rows is
    identified, and the minimum-norm minimiser is returned; the minimiser is infinite when the rows
    with :math:`c_k > 0` are separable (some :math:`w` has :math:`d_k^\top w \ge 0` for all
    :math:`k`, one strict), checked by a linear program (``exists`` False). Damped Newton
    (:mod:`prefrl._optim`), stopping when the gradient's max-norm is at most ``tol (1 + |f|)`` in
    units where each column of ``D`` spans at most 1.

    Parameters
    ----------
    D : array, shape (n, m)
        Difference rows.
    weights : array, shape (n,), optional
        :math:`c_k \ge 0` (1 by default).
    l2 : float >= 0 or array of shape (m,)
        Ridge :math:`\lambda`.
    tol : float > 0
    max_iter : int >= 1

    Returns
    -------
    LinearBTFit
        With ``rewards`` None.

    Examples
    --------
    Two wins and one loss along one feature: :math:`\hat w = \log 2`.

    >>> fit = linear_bt_mle_differences(np.array([[1.0], [1.0], [-1.0]]))
    >>> round(float(fit.weights[0]), 4), fit.exists
    (0.6931, True)
    """
    D = check_array(D, "D", ndim=2, nonempty=False)
    if weights is None:
        wts = np.ones(D.shape[0])
    else:
        wts = check_array(weights, "weights", ndim=1, shape=(D.shape[0],), nonempty=False,
                          like="D")
        if (wts < 0).any():
            i = int(np.argmax(wts < 0))
            raise ValueError(f"weights[{i}] = {wts[i]:.6g}, must be >= 0")
    if np.ndim(l2) == 0:
        l2 = check_nonnegative(l2, "l2")
    else:
        l2 = check_array(l2, "l2", ndim=1, shape=(D.shape[1],))
        if (l2 < 0).any():
            i = int(np.argmax(l2 < 0))
            raise ValueError(f"l2[{i}] = {l2[i]:.6g}, must be >= 0")
    tol = check_positive(tol, "tol")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    return _linear_differences(D, wts, l2, tol=tol, max_iter=max_iter)


def _linear_counts(W: np.ndarray, psi: np.ndarray, l2: float, *, tol: float = 1e-11) -> LinearBTFit:
    iu = np.nonzero(W > 0)
    D = psi[iu[0]] - psi[iu[1]]  # (n_pairs, m): psi(winner) - psi(loser)
    fit = _linear_differences(D, W[iu], l2, tol=tol)
    return fit.replace(rewards=psi @ fit.weights)


def linear_bt_mle_counts(W, features, l2: float = 0.0, *, tol: float = 1e-11) -> LinearBTFit:
    r"""Bradley-Terry maximum likelihood in a linear reward class, from a win matrix.

    .. math::
        \hat w = \arg\min_{w} -\sum_{i, j} W_{ij} \log\sigma\big(w^\top(\psi(i) - \psi(j))\big)
        + \frac{\lambda}{2}\lVert w\rVert^2, \qquad \hat r = \psi \hat w,

    with :math:`W_{ij} \ge 0` the weight of ":math:`i` beat :math:`j`" (counts, or
    :math:`\mu\mu^\top\odot P`; it need not be normalised) and :math:`\psi` the reward features.
    See :func:`linear_bt_mle_differences` for the solver and the separable case.

    Parameters
    ----------
    W : array, shape (K, K), entries >= 0
    features : array, shape (K, m)
    l2 : float >= 0
    tol : float > 0

    Returns
    -------
    LinearBTFit

    Examples
    --------
    >>> fit = linear_bt_mle_counts([[0.0, 1.0], [2.0, 0.0]], np.array([[0.0], [1.0]]))
    >>> round(float(fit.weights[0]), 4)   # log(2/1)
    0.6931
    """
    psi = check_array(features, "features", ndim=2)
    W = check_array(W, "W", ndim=2, shape=(psi.shape[0], psi.shape[0]))
    if (W < 0).any():
        i, j = np.unravel_index(int(np.argmax(W < 0)), W.shape)
        raise ValueError(f"W[{i}, {j}] = {W[i, j]:.6g}, must be >= 0")
    W = W.copy()
    np.fill_diagonal(W, 0.0)
    return _linear_counts(W, psi, check_nonnegative(l2, "l2"), tol=check_positive(tol, "tol"))


def linear_bt_mle(P, mu, features) -> LinearBTFit:
    r"""Population Bradley-Terry maximum likelihood in a linear reward class.

    .. math::
        \hat w = \arg\min_{w\in\mathbb{R}^m} \sum_{y, y'} \mu(y)\mu(y')\,P[y, y']\,
        \big(-\log\sigma\big(w^\top(\psi(y) - \psi(y'))\big)\big), \qquad \hat r = \psi\hat w,

    where :math:`P[y, y'] = p^*(y \succ y')`, :math:`\mu` the distribution the compared responses
    are drawn from, :math:`\psi(y)\in\mathbb{R}^m` the reward features and :math:`\sigma` the
    logistic function. Convex (a logistic regression on feature differences); the minimum-norm
    minimiser is returned. This is RLHF's reward step in the class :math:`\mathcal F = \{w^\top
    \psi\}` (Shi et al. 2025, Sec. 3; Rafailov et al. 2023, Eq. 2 for the full class).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix.
    mu : array, shape (K,)
    features : array, shape (K, m)
        Row ``y`` is :math:`\psi(y)`.

    Returns
    -------
    LinearBTFit

    Examples
    --------
    A realisable reward is recovered up to a constant:

    >>> r = np.array([0.0, 1.0, 3.0])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> fit = linear_bt_mle(P, [1/3] * 3, r[:, None])
    >>> fit.weights.round(6)
    array([1.])
    """
    W = population_counts(P, mu)
    psi = check_array(features, "features", ndim=2, shape=(W.shape[0], None))
    return _linear_counts(W, psi, 0.0)


def _dataset_counts(winners, losers, K: int) -> np.ndarray:
    W = comparison_counts(winners, losers, K)
    if np.size(winners) == 0:
        raise ValueError("winners must not be empty")
    np.fill_diagonal(W, 0.0)
    return W


def linear_bt_mle_dataset(winners, losers, features, l2: float = 0.0) -> LinearBTFit:
    r"""Bradley-Terry maximum likelihood in a linear reward class, from comparisons.

    .. math::
        \hat w = \arg\min_{w} -\sum_{k=1}^n \log\sigma\big(w^\top(\psi(y^w_k) - \psi(y^l_k))\big)
        + \frac{\lambda}{2}\lVert w\rVert^2,

    where :math:`y^w_k \succ y^l_k` is comparison :math:`k`, :math:`\psi` the reward features
    and :math:`\lambda` = ``l2``. Without a ridge the maximiser is infinite when the comparisons
    are separable by a feature direction (``exists`` and ``converged`` are then False).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    features : array, shape (K, m)
    l2 : float >= 0

    Returns
    -------
    LinearBTFit

    Examples
    --------
    >>> fit = linear_bt_mle_dataset([1, 1, 0], [0, 0, 1], np.array([[0.0], [1.0]]))
    >>> round(float(fit.weights[0]), 4)   # log(2/1)
    0.6931
    """
    psi = check_array(features, "features", ndim=2)
    W = _dataset_counts(winners, losers, psi.shape[0])
    return _linear_counts(W, psi, check_nonnegative(l2, "l2"))
