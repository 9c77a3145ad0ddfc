r"""Every Bradley-Terry maximum-likelihood fit in prefrl, in one place.

The Bradley-Terry model (Bradley and Terry 1952) says :math:`p(y \succ y') = \sigma(r(y) - r(y'))`
with :math:`\sigma` the logistic function. Fitting :math:`r` to comparisons by maximum likelihood is
the reward-modelling step of RLHF (Christiano et al. 2017; Ouyang et al. 2022, Eq. 1; Rafailov et
al. 2023, Eq. 2), and, through the implicit reward :math:`\beta \log \pi/\pi_{ref}`, what DPO
solves (Azar et al. 2024, Sec. 4). Every module that fits a Bradley-Terry model calls this one.

**Tabular rewards** (one free reward per action):

- :func:`comparison_counts`: the win matrix :math:`W[i, j]` (weighted number of times i beat j);
- :func:`bt_mle`: the fit from comparisons, :func:`bt_mle_counts` from a win matrix,
  :func:`fit_bradley_terry` from a preference matrix with a ridge (the intransitive case).
  The maximiser is finite iff a ridge is used or every connected component of the comparison
  graph is strongly connected (Zermelo 1929; Ford 1957; Hunter 2004); otherwise the likelihood's
  supremum is approached along the max-margin direction, which :class:`BTFit` returns.

**Linear rewards** :math:`r_w(y) = w^\top \psi(y)` (a logistic regression on feature
differences):

- :func:`linear_bt_objective`: value, gradient and Hessian of the loss on difference rows;
- :func:`linear_bt_mle_differences`: its minimum-norm minimiser, with the separable case (no
  finite maximiser) found by a linear program;
- :func:`linear_bt_mle` (population), :func:`linear_bt_mle_dataset` (comparisons) and
  :func:`linear_bt_mle_counts` (a win matrix), returning :class:`LinearBTFit`.

All fits run the one damped Newton of :mod:`prefrl._optim`, from zero (so rank-deficient problems
end at their minimum-norm minimiser), and report ``iterations`` and a ``certificate`` (the
gradient's max-norm at the returned point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, log_expit

from ._optim import MIN_UNIT, damped_newton
from ._validation import (
    check_array,
    check_distribution,
    check_indices,
    check_integer,
    check_nonnegative,
    check_positive,
    check_preference_matrix,
)
from .results import Result

__all__ = [
    "BTFit",
    "LinearBTFit",
    "bt_mle",
    "bt_mle_counts",
    "comparison_counts",
    "fit_bradley_terry",
    "linear_bt_mle",
    "linear_bt_mle_counts",
    "linear_bt_mle_dataset",
    "linear_bt_mle_differences",
    "linear_bt_objective",
    "population_counts",
]


@dataclass(frozen=True, eq=False)
class BTFit(Result):
    """A Bradley-Terry maximum-likelihood fit (see :func:`bt_mle`).

    Attributes
    ----------
    rewards : array, shape (K,)
        The (minimum-norm) maximiser; when ``exists`` is False, the finite part, fitted on the
        comparisons inside strongly connected components.
    value : float
        The minimised penalised negative log-likelihood (its infimum when ``exists`` is False).
    iterations : int
        Newton iterations.
    certificate : float
        Max-norm of the gradient at ``rewards`` (plus the margin shortfall of ``direction``).
    exists : bool
        Whether the maximiser is finite: ``l2 > 0``, or every connected component of the comparison
        graph is strongly connected (Zermelo 1929; Ford 1957; Hunter 2004, Assumption 1).
    direction : array, shape (K,) or None
        When ``exists`` is False: the unit max-margin direction :math:`d` (constant on strongly
        connected components, :math:`d_w > d_l` for every comparison between them); the
        likelihood tends to its supremum along ``rewards + t * direction``, ``t -> inf``.
    components : array of int, shape (K,)
        Connected component of each action (undirected comparison graph).
    strong_components : array of int, shape (K,)
        Strongly connected component of each action (directed graph ``winner -> loser``).
    converged : bool
        Whether Newton's stopping rule was met.
    """

    rewards: np.ndarray
    value: float
    iterations: int
    certificate: float
    exists: bool
    direction: np.ndarray | None
    components: np.ndarray
    strong_components: np.ndarray
    converged: bool = True


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


# ----------------------------------------------------------------------------------------------
# Tabular rewards
# ----------------------------------------------------------------------------------------------


def comparison_counts(winners, losers, n_actions: int, weights=None) -> np.ndarray:
    r"""The win matrix of a set of comparisons.

    .. math::
        W[i, j] = \sum_{k:\, y^w_k = i,\, y^l_k = j} w_k,

    the (weighted) number of times action :math:`i` beat action :math:`j`. Self-comparisons
    stay on the diagonal (they carry no information; :func:`bt_mle_counts` ignores them in the
    derivatives and counts :math:`\log 2` each in the loss).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    n_actions : int >= 1
    weights : array, shape (n,), optional
        Nonnegative weights :math:`w_k` (1 by default).

    Returns
    -------
    array, shape (K, K)

    Examples
    --------
    >>> comparison_counts([0, 0, 2], [1, 1, 0], 3)
    array([[0., 2., 0.],
           [0., 0., 0.],
           [1., 0., 0.]])
    """
    K = check_integer(n_actions, "n_actions", minimum=1)
    w = check_indices(winners, "winners", K)
    lo = check_indices(losers, "losers", K)
    if w.shape != lo.shape:
        raise ValueError(f"winners and losers must have the same length, got {w.size} and {lo.size}")
    if weights is None:
        wt = np.ones(w.size)
    else:
        wt = check_array(weights, "weights", ndim=1, nonempty=False)
        if wt.shape != w.shape:
            raise ValueError(f"weights must have the length of winners ({w.size}), got {wt.size}")
        if (wt < 0).any():
            i = int(np.argmax(wt < 0))
            raise ValueError(f"weights[{i}] = {wt[i]:.6g}, must be >= 0")
    W = np.zeros((K, K))
    np.add.at(W, (w, lo), wt)
    return W


def _bt_nll_grad_hess(r, W, l2):
    # The diagonal of W (self-comparisons) contributes log 2 each and nothing to the derivatives.
    D = r[:, None] - r[None, :]
    nll = -(W * log_expit(D)).sum() + 0.5 * l2 * r @ r
    S = expit(-D)  # S[i, j] = sigma(r_j - r_i)
    grad = -(W * S).sum(axis=1) + (W.T * S.T).sum(axis=1) + l2 * r
    C = (W + W.T) * expit(D) * S
    H = np.diag(C.sum(axis=1)) - C + l2 * np.eye(r.size)
    return nll, grad, H


def _newton_bt(W, l2, labels, tol=1e-12, max_iter=200):
    """Damped Newton on the (penalised) BT negative log-likelihood from r = 0 (min-norm iterates).

    Without a ridge the Hessian (a graph Laplacian) is singular along the indicator of each
    component; the shift ``J = sum_k 1_k 1_k^T`` fills that null space. Stops on the size of the
    Newton step as well as on the gradient: with tiny comparison weights the Hessian is tiny too,
    and a small gradient can hide a large error in r (Newton converges quadratically, so once a
    step is this small the next would be below rounding).
    """
    K = W.shape[0]
    shift = (labels[:, None] == labels[None, :]).astype(float) if l2 == 0 else None
    res = damped_newton(
        lambda r: _bt_nll_grad_hess(r, W, l2),
        np.zeros(K),
        tol=tol,
        max_iter=max_iter,
        gradient_scale=max(1.0, float(W.sum())),
        xtol=1e3 * tol,
        linear_solver="solve",
        shift=shift,
        armijo_slack=1e-13,
        max_halvings=40,
        on_failed_search="accept",
    )
    r, nll, grad = res.x, res.value, res.gradient
    if l2 == 0:
        # Newton steps keep sum-zero per component up to rounding; restore it exactly.
        for k in np.unique(labels):
            m = labels == k
            r[m] -= r[m].mean()
        nll, grad, _ = _bt_nll_grad_hess(r, W, l2)
    return r, float(nll), res.iterations, float(np.max(np.abs(grad))) if K else 0.0, res.converged


def _max_margin_direction(W, strong):
    """Min-norm d, constant on strong components, with d_w - d_l >= 1 on every cross comparison."""
    n_scc = int(strong.max()) + 1
    counts = np.bincount(strong, minlength=n_scc).astype(float)
    pairs = sorted(
        {(int(strong[i]), int(strong[j])) for i, j in zip(*np.nonzero(W)) if strong[i] != strong[j]}
    )
    A = np.zeros((len(pairs), n_scc))
    for row, (a, b) in enumerate(pairs):
        A[row, a], A[row, b] = 1.0, -1.0

    def obj(D):
        return 0.5 * np.sum(counts * D * D)

    def jac(D):
        return counts * D

    res = minimize(
        obj,
        np.zeros(n_scc),
        jac=jac,
        constraints=[{"type": "ineq", "fun": lambda D: A @ D - 1.0, "jac": lambda D: A}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    D = res.x
    # Polish: solve the equality-constrained problem on the active set exactly (KKT system).
    active = A @ D - 1.0 <= 1e-6
    if active.any():
        Aa = A[active]
        Ninv = 1.0 / counts
        M = (Aa * Ninv) @ Aa.T
        lam = np.linalg.lstsq(M, np.ones(Aa.shape[0]), rcond=None)[0]
        D_pol = Ninv * (Aa.T @ lam)
        if np.all(A @ D_pol >= 1.0 - 1e-9):
            D = D_pol
    d = D[strong]
    d[np.abs(d) < 1e-12] = 0.0
    shortfall = float(max(0.0, 1.0 - (A @ D).min())) if len(pairs) else 0.0
    norm = np.linalg.norm(d)
    return d / norm if norm > 0 else d, shortfall


def _bt_counts(W: np.ndarray, l2: float) -> BTFit:
    n_comp, comp = connected_components((W + W.T) > 0, directed=False)
    n_scc, strong = connected_components(W > 0, directed=True, connection="strong")
    exists = l2 > 0 or n_scc == n_comp
    if exists:
        r, nll, it, gnorm, ok = _newton_bt(W, l2, comp)
        return BTFit(r, nll, it, gnorm, True, None, comp, strong, ok)
    # Keep only the comparisons inside strongly connected components: they have a finite MLE,
    # the others are separated and their likelihood tends to 1 along the direction d.
    inside = strong[:, None] == strong[None, :]
    W_in = np.where(inside, W, 0.0)
    r, nll, it, gnorm, ok = _newton_bt(W_in, 0.0, strong)
    d, shortfall = _max_margin_direction(W, strong)
    return BTFit(r, nll, it, max(gnorm, shortfall), False, d, comp, strong, ok)


def bt_mle_counts(W, l2: float = 0.0) -> BTFit:
    r"""Bradley-Terry maximum likelihood from a win matrix.

    .. math::
        \hat r = \arg\min_{r \in \mathbb{R}^K}\; -\sum_{i \ne j} W_{ij} \log \sigma(r_i - r_j)
        + \frac{\lambda}{2} \lVert r \rVert^2,

    with :math:`W_{ij} \ge 0` the (weighted) number of times :math:`i` beat :math:`j` (see
    :func:`comparison_counts`; a population :math:`W = \mu\mu^\top \odot P` works too) and
    :math:`\lambda` = ``l2``. See :func:`bt_mle` for the conventions (minimum-norm maximiser,
    the non-existent case).

    Parameters
    ----------
    W : array, shape (K, K), entries >= 0
    l2 : float >= 0

    Returns
    -------
    BTFit

    Examples
    --------
    >>> fit = bt_mle_counts([[0.0, 2.0], [1.0, 0.0]])
    >>> round(float(fit.rewards[0] - fit.rewards[1]), 4)   # log(2/1)
    0.6931
    """
    W = check_array(W, "W", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    if (W < 0).any():
        i, j = np.unravel_index(int(np.argmax(W < 0)), W.shape)
        raise ValueError(f"W[{i}, {j}] = {W[i, j]:.6g}, must be >= 0")
    return _bt_counts(W, check_nonnegative(l2, "l2"))


def bt_mle(winners, losers, n_actions: int, l2: float = 0.0, *, weights=None) -> BTFit:
    r"""Bradley-Terry maximum-likelihood rewards from pairwise comparisons.

    .. math::
        \hat r = \arg\min_{r \in \mathbb{R}^K}\; -\sum_{k=1}^{n} w_k \log \sigma\big(r(y^w_k) -
        r(y^l_k)\big) + \frac{\lambda}{2} \lVert r \rVert^2,

    where :math:`y^w_k \succ y^l_k` is comparison :math:`k`, :math:`w_k \ge 0` its weight,
    :math:`\sigma` the logistic function and :math:`\lambda` = ``l2``. With :math:`\lambda = 0` the
    rewards are fixed only up to a constant per connected component of the comparison graph; the
    minimum-norm maximiser (zero sum per component, 0 on actions never compared) is returned. The
    maximiser is finite iff :math:`\lambda > 0` or every connected component is *strongly*
    connected in the directed graph winner :math:`\to` loser (Zermelo 1929; Ford 1957; Hunter
    2004). Otherwise ``exists`` is False and the likelihood approaches its supremum along
    ``rewards + t * direction``. This is the reward-modelling step of RLHF (Rafailov et al. 2023,
    Eq. 2; Azar et al. 2024, Sec. 4).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
        Comparison ``k`` says ``winners[k]`` beat ``losers[k]``; self-comparisons are ignored.
    n_actions : int
        Number of actions K.
    l2 : float >= 0
        Ridge penalty :math:`\lambda` on the rewards (on the summed, not averaged, likelihood, so
        its effect fades as n grows).
    weights : array, shape (n,), optional
        Nonnegative weights :math:`w_k` (1 by default).

    Returns
    -------
    BTFit

    Examples
    --------
    >>> fit = bt_mle([0, 1, 0], [1, 0, 1], n_actions=2)
    >>> fit.exists, round(float(fit.rewards[0] - fit.rewards[1]), 4)   # log(2/1)
    (True, 0.6931)
    >>> fit = bt_mle([0, 1], [1, 2], n_actions=3)                      # a chain: no finite MLE
    >>> fit.exists, fit.direction.round(4)
    (False, array([ 0.7071,  0.    , -0.7071]))
    """
    W = comparison_counts(winners, losers, n_actions, weights)
    l2 = check_nonnegative(l2, "l2")
    return _bt_counts(W, l2)


def fit_bradley_terry(P, weights=None, *, l2: float = 1e-8) -> np.ndarray:
    r"""Maximum-likelihood Bradley-Terry reward from (possibly intransitive) pairwise preferences.

    .. math::
        \hat r = \arg\min_r \; -\sum_{i \ne j} W_{ij}\, P_{ij} \log \sigma(r_i - r_j)
        + \tfrac{\lambda}{2}\|r\|^2,

    the population (or empirical, with ``W`` the comparison counts) reward-modelling loss of
    RLHF (Ouyang et al. 2022, Eq. 1; Christiano et al. 2017), with :math:`\sigma` the logistic
    function, :math:`W` the symmetric pair weights (normalised to sum to one, so that the ridge acts
    per comparison) and :math:`\lambda` a small ridge that makes the minimiser unique and finite
    (deterministic, transitive data has no finite MLE). When ``P`` is intransitive no reward fits
    it; the MLE is the best Bradley-Terry approximation. The minimiser has
    :math:`\sum_i \hat r_i = 0`. Solved by Newton's method (strictly convex).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix (population or empirical).
    weights : array, shape (K, K), optional
        Symmetric nonnegative pair weights :math:`W` (e.g. :math:`\mu\mu^\top`, or counts);
        all ones by default.
    l2 : float > 0
        Ridge :math:`\lambda`.

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> from prefrl.preferences import bradley_terry
    >>> fit_bradley_terry(bradley_terry([1.0, 0.0, -1.0]), l2=1e-12).round(6)
    array([ 1.,  0., -1.])
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    W = np.ones((K, K)) if weights is None else check_array(weights, "weights", shape=(K, K))
    if np.any(W < 0):
        raise ValueError("weights must be nonnegative")
    if not np.allclose(W, W.T):
        raise ValueError("weights must be symmetric")
    l2 = check_positive(l2, "l2")
    W = W.copy()
    np.fill_diagonal(W, 0.0)
    scale = max(float(W.sum()), 1e-300)
    W = W / scale  # normalised so the ridge acts on a per-comparison scale
    # W_ij P_ij is the (weighted) number of times i beat j.
    r = _bt_counts(W * P, l2).rewards
    return r - r.mean()


# ----------------------------------------------------------------------------------------------
# Linear rewards
# ----------------------------------------------------------------------------------------------


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
    weights = check_array(weights, "weights", ndim=1, shape=(D.shape[0],), nonempty=False)
    w = check_array(w, "w", ndim=1, shape=(D.shape[1],), nonempty=False)
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
        wts = check_array(weights, "weights", ndim=1, shape=(D.shape[0],), nonempty=False)
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


def population_counts(P, mu) -> np.ndarray:
    r"""The population win matrix: the expected :func:`comparison_counts` per comparison.

    .. math::
        W[i, j] = \mu(i)\,\mu(j)\,P[i, j] \quad (i \ne j), \qquad W[i, i] = 0,

    for responses drawn independently from :math:`\mu` and compared with
    :math:`P[i, j] = p(i \succ j)` (Azar et al. 2024, Sec. 4: the population losses weigh each pair
    so).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix.
    mu : array, shape (K,)
        Distribution of the compared responses.

    Returns
    -------
    array, shape (K, K)

    Examples
    --------
    >>> population_counts([[0.5, 0.75], [0.25, 0.5]], [0.5, 0.5])
    array([[0.    , 0.1875],
           [0.0625, 0.    ]])
    """
    P = check_preference_matrix(P, "P")
    mu = check_distribution(mu, "mu", size=P.shape[0])
    W = np.outer(mu, mu) * P
    np.fill_diagonal(W, 0.0)
    return W


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
