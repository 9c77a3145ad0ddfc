r"""Bradley-Terry fits with one free reward per action (tabular rewards).

The model :math:`p(y \succ y') = \sigma(r(y) - r(y'))` (Bradley and Terry 1952) fitted by maximum
likelihood: the reward-modelling step of RLHF (Christiano et al. 2017; Ouyang et al. 2022, Eq. 1;
Rafailov et al. 2023, Eq. 2).

- :func:`comparison_counts`, :func:`population_counts`: the win matrix of a dataset, of a population;
- :func:`bt_mle` (comparisons), :func:`bt_mle_counts` (a win matrix), :class:`BTFit`: the
  minimum-norm maximiser, and when it does not exist (Zermelo 1929; Ford 1957; Hunter 2004) the
  max-margin direction along which the likelihood approaches its supremum;
- :func:`fit_bradley_terry`: the ridge fit to a (possibly intransitive) preference matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, log_expit

from .._optim import damped_newton
from .._validation import (
    check_array,
    check_distribution,
    check_indices,
    check_integer,
    check_nonnegative,
    check_positive,
    check_preference_matrix,
)
from ..results import Result

__all__ = [
    "BTFit",
    "bt_mle",
    "bt_mle_counts",
    "comparison_counts",
    "fit_bradley_terry",
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
