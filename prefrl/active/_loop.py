r"""The active preference-learning loop on a linear Bradley-Terry bandit, and its outcome metrics.

Setting: :math:`K` responses with features :math:`\phi\in\mathbb{R}^{K\times d}`, a true reward
:math:`r^* = \phi\theta^*` and labels from the Bradley-Terry model
:math:`p(y\succ y') = \sigma(r^*(y) - r^*(y'))` (Bradley and Terry 1952). A learner labels pairs of
a candidate pool one at a time (or in batches), chosen by a rule of :mod:`prefrl.active`
(Kveton et al. 2025; Muldrew et al. 2024; Feng et al. 2025; Mehta et al. 2025), and refits
:math:`\hat\theta` by ridge-penalised Bradley-Terry maximum likelihood
(:func:`prefrl.bradley_terry.linear_bt_mle_differences`) after each batch.

- :func:`active_learning_run` (:class:`ActiveLearningResult`): the loop, with the parameter
  error and the policy regret after every refit;
- :func:`identifiable_error`: :math:`\lVert\Pi(\hat\theta - \theta^*)\rVert`, the error in the
  subspace the comparisons can identify (Bradley-Terry rewards are defined up to a shift);
- :func:`kl_regret`: :math:`J(\pi^*) - J(\hat\pi)` with :math:`J(\pi) = \mathbb{E}_\pi r^* -
  \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})`, :math:`\hat\pi` the KL-regularised optimum
  (:func:`prefrl.policies.gibbs`) of the fitted reward (the RLHF policy, which is also the DPO
  optimum of the log-linear class :class:`prefrl.policies.LogLinearPolicy` with parameter
  :math:`\hat\theta/\beta`);
- :func:`random_linear_bt_instance`: Gaussian features and a true parameter of a given norm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_integer,
    check_positive,
)
from ..bradley_terry import linear_bt_mle_differences
from ..policies import gibbs, regularized_objective
from ..results import Result
from ._rules import _SAMPLED, _check_rule, _pick, _pool, _scores

__all__ = [
    "ActiveLearningResult",
    "active_learning_run",
    "identifiable_error",
    "kl_regret",
    "random_linear_bt_instance",
]

#: Gradient tolerance of the refits (relative to 1 + the loss); tight enough for the metrics.
FIT_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class ActiveLearningResult(Result):
    """One run of active preference learning (see :func:`active_learning_run`).

    Attributes
    ----------
    rule : str
        The pair-selection rule.
    pairs : int array, shape (n_pairs, 2)
        The candidate pool.
    chosen : int array, shape (n_queries,)
        The pool row labelled at each query.
    first_preferred : bool array, shape (n_queries,)
        Whether the first response of the chosen pair won.
    n_labels : int array, shape (m,)
        Labels seen by each fit (0 for the start, :math:`\\hat\\theta = 0`).
    thetas : array, shape (m, d)
        :math:`\\hat\\theta` after each refit (row 0: zeros).
    errors : array, shape (m,)
        :func:`identifiable_error` of each row of ``thetas``.
    regrets : array, shape (m,)
        :func:`kl_regret` of each row of ``thetas``.
    theta : array, shape (d,)
        The final estimate.
    iterations : int
        Number of refits.
    converged : bool
        Every refit met its stopping rule.
    certificate : float
        The gradient max-norm of the final fit's loss at ``theta``.
    """

    rule: str
    pairs: np.ndarray
    chosen: np.ndarray
    first_preferred: np.ndarray
    n_labels: np.ndarray
    thetas: np.ndarray
    errors: np.ndarray
    regrets: np.ndarray
    theta: np.ndarray
    iterations: int
    converged: bool
    certificate: float


def _identifiable_projector(phi: np.ndarray) -> np.ndarray:
    """Orthogonal projector onto span{phi(y) - phi(y')}."""
    D = phi - phi[0]
    U, s, _ = np.linalg.svd(D.T, full_matrices=False)
    keep = s > max(D.shape) * np.finfo(float).eps * (s[0] if s.size and s[0] > 0 else 1.0)
    U = U[:, keep]
    return U @ U.T


def _check_theta_pair(theta_hat, theta_star, features):
    phi = check_array(features, "features", ndim=2)
    d = phi.shape[1]
    th = check_array(theta_hat, "theta_hat", shape=None)
    if th.ndim == 0 or th.shape[-1] != d:
        raise ValueError(
            f"theta_hat must have last axis of length {d} (the columns of "
            f"features), got shape {th.shape}"
        )
    star = check_array(theta_star, "theta_star", ndim=1, shape=(d,), like="features")
    return th, star, phi


def identifiable_error(theta_hat, theta_star, features) -> np.ndarray | float:
    r"""Parameter error in the identifiable subspace: :math:`\lVert\Pi(\hat\theta - \theta^*)\rVert_2`.

    .. math::
        e(\hat\theta) = \big\lVert \Pi\,(\hat\theta - \theta^*)\big\rVert_2,\qquad
        \Pi = \text{orthogonal projector onto } \mathrm{span}\{\phi(y) - \phi(y')\},

    the part of the error that Bradley-Terry comparisons can see: a component of :math:`\theta`
    orthogonal to every difference shifts all rewards by the same constant (Bradley and Terry
    1952: only differences are identified).

    Parameters
    ----------
    theta_hat : array, shape (..., d)
    theta_star : array, shape (d,)
    features : array, shape (K, d)

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    A constant feature is not identified: its error does not count.

    >>> phi = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> identifiable_error([5.0, 1.5], [0.0, 1.0], phi)
    0.5
    """
    th, star, phi = _check_theta_pair(theta_hat, theta_star, features)
    out = np.linalg.norm((th - star) @ _identifiable_projector(phi), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def kl_regret(theta_hat, theta_star, features, beta, pi_ref=None) -> np.ndarray | float:
    r"""Policy regret of the KL-regularised optimum of a fitted linear reward.

    .. math::
        \mathrm{Reg}(\hat\theta) = J(\pi^*) - J(\hat\pi),\qquad
        J(\pi) = \mathbb{E}_{\pi} r^* - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref}),\\
        \pi^* \propto \pi_{ref}\,e^{\phi\theta^*/\beta},\qquad
        \hat\pi \propto \pi_{ref}\,e^{\phi\hat\theta/\beta},

    nonnegative since :math:`\pi^*` maximises :math:`J` (Rafailov et al. 2023, Eq. 4;
    :func:`prefrl.policies.gibbs`, :func:`prefrl.policies.regularized_objective`); zero iff
    :math:`\phi\hat\theta - \phi\theta^*` is constant.

    Parameters
    ----------
    theta_hat : array, shape (..., d)
    theta_star : array, shape (d,)
    features : array, shape (K, d)
    beta : float > 0
    pi_ref : array, shape (K,), optional
        Uniform by default.

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    >>> round(kl_regret([0.0], [1.0], np.array([[0.0], [1.0]]), beta=1.0), 6)
    0.120115
    """
    th, star, phi = _check_theta_pair(theta_hat, theta_star, features)
    beta = check_positive(beta, "beta")
    K = phi.shape[0]
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    out = _regret(th.reshape(-1, phi.shape[1]), star, phi, beta, ref).reshape(th.shape[:-1])
    return float(out) if np.ndim(out) == 0 else out


def _regret(
    thetas: np.ndarray, star: np.ndarray, phi: np.ndarray, beta: float, ref: np.ndarray
) -> np.ndarray:
    r_star = phi @ star
    refs = np.broadcast_to(ref, (thetas.shape[0], ref.size))
    pi_hat = gibbs(refs, thetas @ phi.T, beta)
    best = regularized_objective(gibbs(ref, r_star, beta), r_star, ref, beta)
    return best - np.asarray(regularized_objective(pi_hat, r_star, refs, beta))


def random_linear_bt_instance(rng, n_responses=8, dim=3, norm=3.0):
    r"""A random linear Bradley-Terry bandit: Gaussian features and a true parameter of given norm.

    .. math::
        \phi_{yj}\sim\mathcal{N}(0, 1/d),\qquad \theta^* = \text{norm}\cdot u,\quad
        u\ \text{uniform on the unit sphere},

    so that reward gaps :math:`r^*(y) - r^*(y')` are of order ``norm`` (the Bradley-Terry labels
    are informative but not deterministic for norms of a few units). The instance of the active
    preference figure.

    Parameters
    ----------
    rng : numpy Generator or int seed
    n_responses : int >= 2
        :math:`K`.
    dim : int >= 1
        :math:`d`.
    norm : float >= 0
        :math:`\lVert\theta^*\rVert`.

    Returns
    -------
    (array of shape (K, d), array of shape (d,))
        ``features`` and ``theta_star``.

    Examples
    --------
    >>> phi, theta = random_linear_bt_instance(0, n_responses=5, dim=2, norm=3.0)
    >>> phi.shape, round(float(np.linalg.norm(theta)), 6)
    ((5, 2), 3.0)
    """
    gen = as_rng(rng)
    K = check_integer(n_responses, "n_responses", minimum=2)
    d = check_integer(dim, "dim", minimum=1)
    norm = check_positive(norm, "norm", allow_zero=True)
    phi = gen.normal(size=(K, d)) / np.sqrt(d)
    u = gen.normal(size=d)
    return phi, norm * u / np.linalg.norm(u)


def active_learning_run(
    rule,
    features,
    theta_star,
    n_queries,
    rng,
    *,
    pairs=None,
    l2=1.0,
    beta=1.0,
    pi_ref=None,
    batch_size=1,
    exploration=1.0,
) -> ActiveLearningResult:
    r"""Label ``n_queries`` pairs chosen by a rule, refitting the Bradley-Terry reward after each batch.

    .. math::
        k_t = \text{rule}(\hat\theta_{t-1}, x_{1:t-1}),\qquad
        \ell_t\sim\text{Bernoulli}\big(\sigma(x_{k_t}^\top\theta^*)\big),\\
        \hat\theta_t = \arg\min_\theta -\sum_{s\le t}\log\sigma\big(\pm x_{k_s}^\top\theta\big)
        + \tfrac{\lambda}{2}\lVert\theta\rVert^2,

    with :math:`x_k = \phi(y_k) - \phi(y'_k)` the pool pair's difference row, the sign that of the
    label (winner minus loser), the rule one of :data:`prefrl.active.RULES`
    (:func:`prefrl.active.select_pair`; Kveton et al. 2025, Muldrew et al. 2024, Feng et al.
    2025, Mehta et al. 2025) and the fit :func:`prefrl.bradley_terry.linear_bt_mle_differences`.
    In a batch of ``batch_size`` the estimate is fixed; the design rules add the pending rows to
    their design (greedy batch design) and the deterministic rules do not repeat a pending pair.
    After each refit the error :func:`identifiable_error` and the regret :func:`kl_regret` are
    recorded (row 0: :math:`\hat\theta = 0`, before any label).

    Parameters
    ----------
    rule : str
        One of :data:`prefrl.active.RULES`.
    features : array, shape (K, d)
    theta_star : array, shape (d,)
        The true parameter :math:`\theta^*`.
    n_queries : int >= 1
        Labels to collect.
    rng : numpy Generator or int seed
        Draws the labels (and the pairs of ``"random"`` and ``"pilaf"``, and ties).
    pairs : int array, shape (n, 2), optional
        The candidate pool (every pair by default).
    l2 : float > 0
        Ridge :math:`\lambda` of the fit and of the designs.
    beta : float > 0
        KL weight of the policy (``"pilaf"`` and the regret).
    pi_ref : array, shape (K,), optional
        Reference policy (uniform by default).
    batch_size : int >= 1
        Labels per refit.
    exploration : float >= 0
        Optimism of ``"optimistic"``.

    Returns
    -------
    ActiveLearningResult

    Examples
    --------
    >>> phi, theta = random_linear_bt_instance(0, n_responses=6, dim=2)
    >>> res = active_learning_run("d_optimal", phi, theta, 20, rng=1)
    >>> res.errors.shape, bool(res.errors[-1] < res.errors[0])
    ((21,), True)
    """
    rule = _check_rule(rule)
    phi = check_array(features, "features", ndim=2)
    K, d = phi.shape
    star = check_array(theta_star, "theta_star", ndim=1, shape=(d,), like="features")
    n_queries = check_integer(n_queries, "n_queries", minimum=1)
    gen = as_rng(rng)
    pool = _pool(pairs, K)
    l2 = check_positive(l2, "l2")
    beta = check_positive(beta, "beta")
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    exploration = check_positive(exploration, "exploration", allow_zero=True)
    return _run(rule, phi, star, n_queries, gen, pool, l2, beta, ref, batch_size, exploration)


def _run(rule, phi, star, n_queries, gen, pool, l2, beta, ref, batch_size, exploration):
    d = phi.shape[1]
    X = phi[pool[:, 0]] - phi[pool[:, 1]]
    p_first = expit(X @ star)
    theta = np.zeros(d)
    chosen = np.empty(n_queries, dtype=np.int64)
    first = np.empty(n_queries, dtype=bool)
    thetas, n_labels = [theta], [0]
    converged, certificate, t = True, 0.0, 0
    while t < n_queries:
        b = min(batch_size, n_queries - t)
        for j in range(b):
            scores = _scores(rule, phi, pool, theta, X[chosen[: t + j]], l2, beta, ref, exploration)
            if rule not in _SAMPLED and j:
                masked = scores.copy()
                masked[chosen[t : t + j]] = -np.inf
                if np.isfinite(masked).any():
                    scores = masked
            chosen[t + j] = _pick(rule, scores, gen)
        idx = chosen[t : t + b]
        first[t : t + b] = gen.random(b) < p_first[idx]
        t += b
        signs = np.where(first[:t], 1.0, -1.0)
        fit = linear_bt_mle_differences(signs[:, None] * X[chosen[:t]], l2=l2, tol=FIT_TOL)
        theta = fit.weights
        converged &= bool(fit.converged)
        certificate = float(fit.certificate)
        thetas.append(theta)
        n_labels.append(t)
    thetas = np.array(thetas)
    errors = np.linalg.norm((thetas - star) @ _identifiable_projector(phi), axis=-1)
    return ActiveLearningResult(
        rule=rule,
        pairs=pool,
        chosen=chosen,
        first_preferred=first,
        n_labels=np.array(n_labels),
        thetas=thetas,
        errors=errors,
        regrets=_regret(thetas, star, phi, beta, ref),
        theta=theta,
        iterations=len(n_labels) - 1,
        converged=converged,
        certificate=certificate,
    )
