r"""Preference games: minimax (von Neumann) winners, the KL-regularised Nash equilibrium, self-play.

A preference matrix ``P`` of shape ``(K, K)`` (``P[i, j]`` the probability that response ``i`` is
preferred to response ``j``, ``P + P.T == 1``) defines a symmetric two-player zero-sum game: a
policy :math:`\pi` beats a policy :math:`\pi'` with probability
:math:`P(\pi \succ \pi') = \pi^\top P \pi'`. Its solutions are the *minimax winners*
(von Neumann winners, maximal lotteries), the policies that no other policy beats more than half
the time. When preferences are intransitive no reward explains them, and Bradley-Terry reward
modelling returns an exploitable policy, while self-play learners (SPO, SPPO, DNO, REBEL, Nash-MD)
find the minimax winner.

Conventions
-----------
- ``policies`` returned by the learners have shape ``(T + 1, K)``: row ``t`` is the policy after
  ``t`` updates (row 0 the initial policy). The first ``T`` rows are the *played* iterates, whose
  uniform mixture is ``average_policy``; ``regret[t - 1]`` is the self-play regret
  :math:`\mathrm{Reg}(t)` of the first ``t`` played iterates.
- ``eta`` is a step size that *multiplies* the win rate (Hedge, SPPO, REBEL, Nash-MD) except in
  :func:`dno`, where it is the DNO paper's temperature that *divides* it (Rosset et al. 2024, Eq. 4).
- ``beta`` is the KL weight (Nash-MD's :math:`\tau`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import expit, log_expit, logsumexp

from ._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_integer,
    check_positive,
    check_preference_matrix,
    check_stochastic_matrix,
)
from .bradley_terry import (
    fit_bradley_terry,  # moved to prefrl.bradley_terry; importable here
    linear_bt_mle_counts,
)
from .policies import gibbs, kl

__all__ = [
    "MinimaxResult",
    "RegularizedNashResult",
    "RewardModelResult",
    "SelfPlayResult",
    "SequentialSelfPlayResult",
    "TrajectoryGame",
    "bt_rlhf",
    "dno",
    "dno_loss",
    "exploitability",
    "iterative_dpo",
    "minimax_winner",
    "nash_md",
    "rebel",
    "regularized_exploitability",
    "regularized_nash",
    "reward_model_rlhf",
    "self_play_regret",
    "sequential_spo",
    "spo",
    "sppo",
]


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinimaxResult:
    r"""A minimax winner of a preference game.

    Attributes
    ----------
    policy : array, shape (K,)
        The minimax winner :math:`\pi^*`.
    value : float
        :math:`\min_j (\pi^{*\top} P)_j`, the worst-case win probability; 1/2 at a minimax winner.
    exploitability : float
        :math:`\max_i (P \pi^*)_i - 1/2`, the certificate (0 at a minimax winner).
    iterations : int
        Solver iterations (simplex/interior-point), 0 when not reported.
    method : str
        ``"lp"`` or ``"cvxpy"``.
    """

    policy: np.ndarray
    value: float
    exploitability: float
    iterations: int
    method: str


@dataclass(frozen=True)
class RegularizedNashResult:
    r"""The Nash equilibrium of the KL-regularised preference game.

    Attributes
    ----------
    policy : array, shape (K,)
        :math:`\pi^*_\beta`.
    value : float
        The regularised game value :math:`\pi^{*\top} P \pi^* = 1/2` evaluated at the returned policy.
    gap : float
        Regularised exploitability (see :func:`regularized_exploitability`), the certificate.
    residual : float
        Fixed-point residual :math:`\|\pi - \mu e^{P\pi/\beta}/Z\|_1`.
    exploitability : float
        Unregularised exploitability :math:`\max_i (P\pi)_i - 1/2`.
    iterations : int
    method : str
    """

    policy: np.ndarray
    value: float
    gap: float
    residual: float
    exploitability: float
    iterations: int
    method: str


@dataclass(frozen=True)
class SelfPlayResult:
    r"""The trajectory of a self-play (or reward-model) learner on a preference game.

    Attributes
    ----------
    policies : array, shape (T + 1, K)
        Row ``t`` is the policy after ``t`` updates.
    average_policy : array, shape (K,)
        Uniform mixture of the ``T`` played iterates ``policies[:T]``.
    regret : array, shape (T,)
        ``regret[t-1]`` is the self-play regret of the first ``t`` played iterates
        (:func:`self_play_regret`).
    exploitability : array, shape (T,)
        ``exploitability[t-1]`` is the exploitability of the mixture of the first ``t`` iterates.
    iterations : int
        ``T``.
    method : str
        The learner's name.
    reward : array, shape (K,) or None
        The fitted reward model (reward-model baselines only).
    """

    policies: np.ndarray
    average_policy: np.ndarray
    regret: np.ndarray
    exploitability: np.ndarray
    iterations: int
    method: str
    reward: np.ndarray | None = None

    @property
    def last_policy(self) -> np.ndarray:
        """The last iterate ``policies[-1]``."""
        return self.policies[-1]


# --------------------------------------------------------------------------------------------
# Minimax winners
# --------------------------------------------------------------------------------------------


def exploitability(P, policy):
    r"""Exploitability of a policy in the preference game: how much the best response beats it.

    .. math::
        \mathrm{expl}(\pi) = \max_{i} (P \pi)_i - \tfrac12
        = \max_{\pi'} P(\pi' \succ \pi) - \tfrac12 \;\ge\; 0,

    where :math:`(P\pi)_i = \sum_j P[i, j]\, \pi(j)` is the win rate of response :math:`i` against
    :math:`\pi`. It is zero exactly at the minimax winners, and it is half the duality gap
    :math:`\max_{\pi'} P(\pi' \succ \pi) - \min_{\pi'} P(\pi \succ \pi')` (antisymmetry of
    :math:`P - 1/2`). Swamy et al. (2024, "A Minimaximalist Approach to RLHF", Sec. 3) measure
    approximate minimax winners by this gap.

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix, ``P + P.T == 1``.
    policy : array, shape (..., K)
        One policy or a stack of policies (rows are distributions).

    Returns
    -------
    float, or array of shape (...)

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> exploitability(rock_paper_scissors(), [1/3, 1/3, 1/3])
    0.0
    >>> exploitability(rock_paper_scissors(), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    array([0.5 , 0.25])
    """
    P = check_preference_matrix(P)
    pi = check_stochastic_matrix(policy, "policy")
    if pi.shape[-1] != P.shape[0]:
        raise ValueError(f"policy must have {P.shape[0]} entries along its last axis, got {pi.shape}")
    # max_i (P pi)_i >= pi' P pi = 1/2 exactly; clip the rounding error below zero.
    out = np.maximum((pi @ P.T).max(axis=-1) - 0.5, 0.0)
    return float(out) if out.ndim == 0 else out


def minimax_winner(P, method: str = "lp") -> MinimaxResult:
    r"""A minimax (von Neumann) winner of the preference game, by linear programming.

    .. math::
        \pi^* \in \arg\min_{\pi \in \Delta_K} \max_i (P\pi)_i
        \quad\Longleftrightarrow\quad
        \min_{\pi, t}\; t \;\;\text{s.t.}\;\; P\pi \le t\,\mathbf 1,\; \mathbf 1^\top \pi = 1,\;
        \pi \ge 0,

    whose optimal value is :math:`t^* = 1/2` because :math:`P - 1/2` is antisymmetric (von
    Neumann's minimax theorem): no response beats :math:`\pi^*` more than half the time, so
    :math:`\min_{\pi'} P(\pi^* \succ \pi') = 1/2`. This is the target of SPO (Swamy et al. 2024,
    Def. of the minimax winner), DNO (Rosset et al. 2024, Eq. 3) and Nash-MD (Munos et al. 2024,
    Sec. 3); in social choice it is Fishburn's maximal lottery. When a Condorcet winner exists it is
    the unique minimax winner.

    **Degenerate games.** The set of minimax winners is a convex polytope and may hold more than
    one point (e.g. a matrix of ties, or several clones of a Condorcet winner). ``method="lp"``
    (scipy's HiGHS interior point followed by crossover to a basic solution) returns a *vertex* of
    that polytope, deterministically for a given ``P`` but without any further preference among
    winners (for a matrix of ties it is the point mass on the first response); ``method="cvxpy"`` (an interior-point
    conic solver) tends to a point in its *relative interior*. So the two methods may return
    different policies; both have exploitability 0 (to solver accuracy, about 1e-9 for cvxpy).
    Compare winners by their exploitability, not coordinate-wise, unless the winner is unique (as
    it is for tournaments with an odd number of items, Laffond, Laslier and Le Breton 1993, and for
    generic real-valued ``P``).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix, ``P + P.T == 1``, diagonal 1/2.
    method : {"lp", "cvxpy"}
        ``"lp"``: one LP in standard form, :math:`\max \mathbf 1^\top x` s.t.
        :math:`Px \le \mathbf 1, x \ge 0`, :math:`\pi^* = x/\mathbf 1^\top x`, solved by HiGHS
        (the default; K = 1000 in about 3 s). ``"cvxpy"``: the same program through cvxpy (Clarabel), an
        independent check.

    Returns
    -------
    MinimaxResult
        ``policy`` (K,), ``value`` (1/2), ``exploitability`` (0), ``iterations``, ``method``.

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> res = minimax_winner(rock_paper_scissors())
    >>> res.policy.round(4), round(res.value, 9), round(res.exploitability, 9)
    (array([0.3333, 0.3333, 0.3333]), 0.5, 0.0)
    >>> minimax_winner([[0.5, 0.6], [0.4, 0.5]]).policy  # Condorcet winner: a point mass
    array([1., 0.])
    """
    P = check_preference_matrix(P)
    if method not in ("lp", "cvxpy"):
        raise ValueError(f"method must be 'lp' or 'cvxpy', got {method!r}")
    K = P.shape[0]
    if K == 1:
        pi, nit = np.ones(1), 0
    elif method == "lp":
        pi, nit = _minimax_lp(P)
    else:
        pi, nit = _minimax_cvxpy(P)
    pi = np.clip(pi, 0.0, None)
    pi = pi / pi.sum()
    return MinimaxResult(
        policy=pi,
        value=float((pi @ P).min()),
        exploitability=float(exploitability(P, pi)),
        iterations=int(nit),
        method=method,
    )


def _minimax_lp(P: np.ndarray) -> tuple[np.ndarray, int]:
    # Standard form, valid because the value 1/2 is positive: with x = pi / t,
    #   min t s.t. P pi <= t 1, 1'pi = 1, pi >= 0   <=>   max 1'x s.t. P x <= 1, x >= 0,
    # and pi = x / 1'x, 1/t = 1'x = 2. Bounded because P has 1/2 on its diagonal.
    K = P.shape[0]
    res = linprog(-np.ones(K), A_ub=P, b_ub=np.ones(K), bounds=(0.0, None), method="highs-ipm")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"HiGHS failed on the minimax LP: {res.message}")
    return np.asarray(res.x), int(getattr(res, "nit", 0))


def _minimax_cvxpy(P: np.ndarray) -> tuple[np.ndarray, int]:
    import cvxpy as cp

    K = P.shape[0]
    p = cp.Variable(K, nonneg=True)
    t = cp.Variable()
    prob = cp.Problem(cp.Minimize(t), [(P - 0.5) @ p <= t, cp.sum(p) == 1])
    # Tight tolerances: near-degenerate games turn a 1e-8 duality gap into a 1e-6 policy error.
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if p.value is None:  # pragma: no cover
        raise RuntimeError(f"cvxpy failed on the minimax program: {prob.status}")
    nit = prob.solver_stats.num_iters if prob.solver_stats is not None else 0
    return np.asarray(p.value), int(nit or 0)


def self_play_regret(P, policies) -> np.ndarray:
    r"""Cumulative self-play regret of a sequence of policies, after each round.

    .. math::
        \mathrm{Reg}(t) = \max_{i} \sum_{s=1}^{t} (P\pi_s)_i - \sum_{s=1}^{t} \pi_s^\top P \pi_s,

    the regret of a learner that plays :math:`\pi_s` against itself and receives the win rates
    :math:`r_s = P\pi_s` as gains. Because :math:`\pi^\top P \pi = 1/2`, the mixture
    :math:`\bar\pi_t = \frac1t \sum_{s \le t} \pi_s` has exploitability exactly
    :math:`\mathrm{Reg}(t)/t` (Swamy et al. 2024, Sec. 3: self-play with a no-regret learner yields
    an approximate minimax winner at the rate of its regret).

    Parameters
    ----------
    P : array, shape (K, K)
    policies : array, shape (T, K)

    Returns
    -------
    array, shape (T,)

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> self_play_regret(rock_paper_scissors(), [[1, 0, 0], [1, 0, 0]])
    array([0.5, 1. ])
    """
    P = check_preference_matrix(P)
    pis = check_stochastic_matrix(policies, "policies")
    if pis.ndim != 2 or pis.shape[1] != P.shape[0]:
        raise ValueError(f"policies must have shape (T, {P.shape[0]}), got {pis.shape}")
    gains = pis @ P.T  # (T, K): win rate of each response against pi_s
    self_payoff = np.einsum("tk,tk->t", gains, pis)
    return np.cumsum(gains, axis=0).max(axis=1) - np.cumsum(self_payoff)


# --------------------------------------------------------------------------------------------
# KL-regularised Nash equilibrium
# --------------------------------------------------------------------------------------------


def regularized_exploitability(P, policy, mu, beta) -> float:
    r"""Exploitability of a policy in the KL-regularised preference game (a duality gap).

    .. math::
        G_\beta(\pi) = \max_{\pi'} \big[P(\pi' \succ \pi) - \beta\,\mathrm{KL}(\pi'\|\mu)\big]
        - \big[P(\pi \succ \pi) - \beta\,\mathrm{KL}(\pi\|\mu)\big]
        = \beta \log \sum_i \mu_i e^{(P\pi)_i/\beta} - \tfrac12 + \beta\,\mathrm{KL}(\pi\|\mu),

    the gain of the best response in the regularised game of Munos et al. (2024, "Nash Learning
    from Human Feedback", Sec. 3), :math:`P_\beta(\pi \succ \pi') = P(\pi \succ \pi') -
    \beta\mathrm{KL}(\pi\|\mu) + \beta\mathrm{KL}(\pi'\|\mu)`. It is :math:`\ge 0`, and zero
    exactly at the unique regularised equilibrium :func:`regularized_nash`.

    Parameters
    ----------
    P : array, shape (K, K)
    policy : array, shape (K,)
    mu : array, shape (K,)
        Reference policy :math:`\mu`.
    beta : float > 0

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> round(regularized_exploitability(rock_paper_scissors(), [1/3] * 3, [1/3] * 3, 0.1), 12)
    0.0
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    pi = check_distribution(policy, "policy", size=K)
    mu = check_distribution(mu, "mu", size=K)
    beta = check_positive(beta, "beta")
    d = kl(pi, mu)
    if not np.isfinite(d):
        return float("inf")
    with np.errstate(divide="ignore"):
        soft = beta * logsumexp(np.log(mu) + (P @ pi) / beta)
    return float(max(soft - float(pi @ P @ pi) + beta * d, 0.0))


def regularized_nash(
    P,
    mu=None,
    beta: float = 1.0,
    *,
    method: str = "fixed_point",
    tol: float = 1e-12,
    max_iter: int = 1_000_000,
) -> RegularizedNashResult:
    r"""The unique Nash equilibrium of the KL-regularised preference game.

    .. math::
        \pi^*_\beta(y) = \frac{\mu(y) \exp\big(P(y \succ \pi^*_\beta)/\beta\big)}{Z},
        \qquad P(y \succ \pi) = (P\pi)_y,

    the symmetric equilibrium of :math:`P_\beta(\pi\succ\pi') = P(\pi\succ\pi') -
    \beta\mathrm{KL}(\pi\|\mu) + \beta\mathrm{KL}(\pi'\|\mu)` (Munos et al. 2024, "Nash Learning from
    Human Feedback", Sec. 3, unique for :math:`\beta > 0`). Equivalently it maximises the concave
    function

    .. math::
        g(\pi) = -\beta \log \sum_j \mu_j e^{-(P^\top \pi)_j/\beta} - \beta\,\mathrm{KL}(\pi\|\mu),

    the row player's guaranteed regularised payoff. Its exploitability in the unregularised game is
    at most :math:`\beta \log(1/\min_{y:\mu(y)>0} \mu(y))` when :math:`\mu` has full support.

    ``method="fixed_point"`` solves the fixed point by the entropic extragradient method (linear
    convergence at rate :math:`1 - \eta\beta`, :math:`\eta = 1/(1+\beta)`; Cen, Wei and Chi 2021,
    "Fast policy extragradient methods for competitive games with entropy regularization",
    Thm. 1), polished by Newton's method. ``method="cvxpy"`` maximises :math:`g` with a conic solver
    (exponential cone), an independent check to about 1e-7.

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix.
    mu : array, shape (K,), optional
        Reference policy :math:`\mu`; uniform by default. Zero entries stay zero.
    beta : float > 0
        KL weight (Nash-MD's :math:`\tau`).
    method : {"fixed_point", "cvxpy"}
    tol : float > 0
        Stop when the fixed-point residual :math:`\|\pi - \mu e^{P\pi/\beta}/Z\|_1` is below
        ``tol`` (``"fixed_point"`` only; Newton stops earlier if rounding stalls it).
    max_iter : int
        Iteration cap of the extragradient phase.

    Returns
    -------
    RegularizedNashResult

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> res = regularized_nash(rock_paper_scissors(), [0.6, 0.3, 0.1], beta=0.1)
    >>> res.policy.round(4), bool(res.residual < 1e-12)
    (array([0.4321, 0.2303, 0.3376]), True)
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    mu = np.full(K, 1.0 / K) if mu is None else check_distribution(mu, "mu", size=K)
    beta = check_positive(beta, "beta")
    tol = check_positive(tol, "tol")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    if method not in ("fixed_point", "cvxpy"):
        raise ValueError(f"method must be 'fixed_point' or 'cvxpy', got {method!r}")
    S = np.flatnonzero(mu > 0)
    A = P[np.ix_(S, S)] - 0.5
    log_mu = np.log(mu[S])
    if method == "fixed_point":
        pi_S, nit = _regnash_fixed_point(A, log_mu, beta, tol, max_iter)
    else:
        pi_S, nit = _regnash_cvxpy(A, mu[S], beta)
    pi = np.zeros(K)
    pi[S] = pi_S
    target = gibbs(mu, P @ pi, beta)
    return RegularizedNashResult(
        policy=pi,
        value=float(pi @ P @ pi),
        gap=regularized_exploitability(P, pi, mu, beta),
        residual=float(np.abs(pi - target).sum()),
        exploitability=float(exploitability(P, pi)),
        iterations=int(nit),
        method=method,
    )


def _reg_gap(A, log_pi, log_mu, beta) -> float:
    pi = np.exp(log_pi)
    soft = beta * logsumexp(log_mu + (A @ pi) / beta)
    return float(soft - pi @ A @ pi + beta * float(pi @ (log_pi - log_mu)))


def _fp_residual(A, z, log_mu, beta) -> float:
    p = np.exp(z)
    t = log_mu + (A @ p) / beta
    return float(np.abs(p - np.exp(t - logsumexp(t))).sum())


def _regnash_fixed_point(A, log_mu, beta, tol, max_iter):
    """Entropic extragradient (symmetric play), then Newton on the fixed-point equations."""
    eta = 1.0 / (1.0 + beta)
    w = eta * beta
    log_pi = log_mu - logsumexp(log_mu)
    it = 0
    # Phase 1: globally convergent extragradient until close enough for Newton.
    while it < max_iter:
        base = (1.0 - w) * log_pi + w * log_mu
        mid = base + eta * (A @ np.exp(log_pi))
        mid -= logsumexp(mid)
        log_pi = base + eta * (A @ np.exp(mid))
        log_pi -= logsumexp(log_pi)
        it += 1
        if it % 10 == 0 and _fp_residual(A, log_pi, log_mu, beta) <= max(1e-4, tol):
            break
    # Phase 2: Newton on F(z, c) = [z - log mu - A e^z / beta - c, sum e^z - 1] (quadratic).
    z = log_pi.copy()
    res = _fp_residual(A, z, log_mu, beta)
    n = z.size
    for _ in range(50):
        if res <= tol:
            break
        p = np.exp(z)
        c = float(np.mean(z - log_mu - (A @ p) / beta))
        F = np.concatenate([z - log_mu - (A @ p) / beta - c, [p.sum() - 1.0]])
        J = np.zeros((n + 1, n + 1))
        J[:n, :n] = np.eye(n) - (A * p[None, :]) / beta
        J[:n, n] = -1.0
        J[n, :n] = p
        try:
            step = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:  # pragma: no cover - J is nonsingular near the solution
            break
        z_new = z + step[:n]
        z_new -= logsumexp(z_new)
        new_res = _fp_residual(A, z_new, log_mu, beta)
        if not np.isfinite(new_res) or new_res >= res:
            break
        z, res = z_new, new_res
        it += 1
    return np.exp(z), it


def _regnash_cvxpy(A, mu, beta):
    import cvxpy as cp

    n = mu.size
    p = cp.Variable(n, nonneg=True)
    objective = -beta * cp.log_sum_exp(np.log(mu) - (A.T @ p) / beta) - beta * cp.sum(
        cp.rel_entr(p, mu)
    )
    prob = cp.Problem(cp.Maximize(objective), [cp.sum(p) == 1])
    prob.solve(solver=cp.CLARABEL)
    if p.value is None:  # pragma: no cover
        raise RuntimeError(f"cvxpy failed on the regularised game: {prob.status}")
    x = np.clip(np.asarray(p.value), 0.0, None)
    nit = prob.solver_stats.num_iters if prob.solver_stats is not None else 0
    return x / x.sum(), int(nit or 0)


# --------------------------------------------------------------------------------------------
# Learners: shared helpers
# --------------------------------------------------------------------------------------------


def _check_learner_args(P, n_steps, init):
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    pi0 = np.full(K, 1.0 / K) if init is None else check_distribution(init, "init", size=K)
    return P, K, T, pi0


def _default_step(K: int, T: int) -> float:
    """Hedge's horizon-tuned step sqrt(8 log K / T), for gains in [0, 1]."""
    return float(np.sqrt(8.0 * np.log(max(K, 2)) / T))


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _normalize_log(z: np.ndarray) -> np.ndarray:
    return z - logsumexp(z)


def _trajectory(P, policies, method, reward=None) -> SelfPlayResult:
    policies = np.asarray(policies, dtype=float)
    played = policies[:-1]
    T = played.shape[0]
    running = np.cumsum(played, axis=0) / np.arange(1, T + 1)[:, None]
    running /= running.sum(axis=1, keepdims=True)
    return SelfPlayResult(
        policies=policies,
        average_policy=running[-1],
        regret=self_play_regret(P, played),
        exploitability=np.asarray(exploitability(P, running)),
        iterations=T,
        method=method,
        reward=reward,
    )


def _sampled_win_rates(P, pi, n_samples, rng) -> np.ndarray:
    """Unbiased estimate of P pi: each response is compared with n_samples draws from pi."""
    K = P.shape[0]
    opp = rng.choice(K, size=n_samples, p=pi)
    return (rng.random((K, n_samples)) < P[:, opp]).mean(axis=1)


def _mix_log(a: float, x: np.ndarray, b: float, y: np.ndarray) -> np.ndarray:
    """a*x + b*y for log-probabilities, with 0 * (-inf) = 0."""
    ax = np.where(a == 0, 0.0, a * np.where(np.isneginf(x), -np.inf, x)) if a else np.zeros_like(x)
    by = b * y if b else np.zeros_like(y)
    return ax + by


# --------------------------------------------------------------------------------------------
# Learners
# --------------------------------------------------------------------------------------------


def spo(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    feedback: str = "exact",
    n_samples: int = 1,
    rng=None,
) -> SelfPlayResult:
    r"""Self-Play Preference Optimisation (SPO) with Hedge, on a preference bandit.

    .. math::
        r_t(y) = P(y \succ \pi_t) = (P\pi_t)_y, \qquad
        \pi_{t+1}(y) = \frac{\pi_t(y)\, e^{\eta\, r_t(y)}}{\sum_{y'} \pi_t(y')\, e^{\eta\, r_t(y')}},
        \qquad \bar\pi_T = \frac1T\sum_{t=1}^T \pi_t,

    one no-regret learner (Hedge / multiplicative weights) playing against its own iterates
    (Swamy et al. 2024, "A Minimaximalist Approach to RLHF", Alg. 1 and Sec. 3). Since the game is
    symmetric, :math:`\mathrm{expl}(\bar\pi_T) = \mathrm{Reg}(T)/T`; Hedge's regret for gains in
    [0, 1] is at most :math:`\log K/\eta + \eta T/8`, i.e. :math:`\sqrt{T \log K / 2}` with the
    default :math:`\eta = \sqrt{8 \log K / T}` and a uniform start. The last iterate need not
    converge (it cycles on rock-paper-scissors).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix.
    n_steps : int >= 1
        Number of rounds ``T``.
    eta : float > 0, optional
        Step size (multiplies the win rate); default :math:`\sqrt{8\log K/T}`.
    init : array, shape (K,), optional
        :math:`\pi_1`; uniform by default.
    feedback : {"exact", "sampled"}
        ``"exact"``: the expected win rates :math:`P\pi_t`. ``"sampled"``: each response is
        compared with ``n_samples`` opponents drawn from :math:`\pi_t`, and the fraction of wins (a
        Bernoulli draw per comparison) is the unbiased gain. Regret is always measured with the
        exact win rates.
    n_samples : int >= 1
        Comparisons per response and round (``"sampled"`` only).
    rng : numpy Generator or int seed
        Required for ``"sampled"``.

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> res = spo(rock_paper_scissors(), 2000, init=[0.6, 0.3, 0.1])
    >>> res.average_policy.round(2), bool(res.exploitability[-1] <= np.sqrt(np.log(3) / 4000))
    (array([0.33, 0.34, 0.33]), True)
    """
    P, K, T, pi0 = _check_learner_args(P, n_steps, init)
    eta = _default_step(K, T) if eta is None else check_positive(eta, "eta")
    if feedback not in ("exact", "sampled"):
        raise ValueError(f"feedback must be 'exact' or 'sampled', got {feedback!r}")
    if feedback == "sampled":
        n_samples = check_integer(n_samples, "n_samples", minimum=1)
        rng = as_rng(rng)
    logs = np.empty((T + 1, K))
    logs[0] = _log(pi0)
    for t in range(T):
        pi = np.exp(logs[t])
        r = P @ pi if feedback == "exact" else _sampled_win_rates(P, pi, n_samples, rng)
        logs[t + 1] = _normalize_log(logs[t] + eta * r)
    return _trajectory(P, np.exp(logs), f"spo[{feedback}]")


def sppo(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    n_samples: int | None = None,
    rng=None,
) -> SelfPlayResult:
    r"""Self-Play Preference Optimization (SPPO) on a preference bandit, solved exactly.

    .. math::
        \pi_{t+1} = \arg\min_{\pi} \; \mathbb{E}_{y \sim \pi_t}\Big[\Big(\log\frac{\pi(y)}{\pi_t(y)}
        - \eta\big(\hat P(y \succ \pi_t) - \tfrac12\big) + \log \frac{Z_t}{e^{\eta/2}} \Big)^2\Big]
        \;\Longrightarrow\;
        \pi_{t+1}(y) = \frac{\pi_t(y)\, e^{\eta \hat P(y \succ \pi_t)}}{Z_t},

    Wu et al. (2025, "Self-Play Preference Optimization for Language Model Alignment", Eq. 4.4 and
    the square loss of Eq. 4.5): with the exact log-partition :math:`\log Z_t` the regression's
    minimiser over tabular policies is the multiplicative-weights step (the paper approximates
    :math:`\log Z_t \approx \eta/2`, exact at :math:`\eta \to 0` since
    :math:`\mathbb{E}_{\pi_t}P(y\succ\pi_t) = 1/2`). With ``n_samples`` the win rate
    :math:`\hat P(y \succ \pi_t)` is estimated from that many sampled comparisons per response, as
    the paper estimates it from a small batch (K = 5) scored by a preference model.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    eta : float > 0, optional
        Step size; default :math:`\sqrt{8\log K/T}`.
    init : array, shape (K,), optional
    n_samples : int, optional
        ``None`` for exact win rates.
    rng : numpy Generator or int seed
        Required with ``n_samples``.

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> P = [[0.5, 0.7], [0.3, 0.5]]
    >>> sppo(P, 20, eta=1.0).last_policy.round(3)
    array([0.982, 0.018])
    """
    P, K, T, pi0 = _check_learner_args(P, n_steps, init)
    eta = _default_step(K, T) if eta is None else check_positive(eta, "eta")
    if n_samples is not None:
        n_samples = check_integer(n_samples, "n_samples", minimum=1)
        rng = as_rng(rng)
    logs = np.empty((T + 1, K))
    logs[0] = _log(pi0)
    for t in range(T):
        pi = np.exp(logs[t])
        r = P @ pi if n_samples is None else _sampled_win_rates(P, pi, n_samples, rng)
        # The regression target log pi_t + eta (r - 1/2); subtracting the exact log-partition
        # (rather than eta/2) makes it a distribution.
        logs[t + 1] = _normalize_log(logs[t] + eta * (r - 0.5))
    return _trajectory(P, np.exp(logs), "sppo" if n_samples is None else "sppo[sampled]")


def dno_loss(log_policy, log_prev, reward, y1, y2, eta: float) -> np.ndarray:
    r"""The DNO soft-label regression loss for pairs of responses (per pair, unreduced).

    .. math::
        \ell(y_1, y_2) = -\sigma(\Delta^*)\log\sigma(\Delta_\pi) - \sigma(-\Delta^*)\log\sigma(-\Delta_\pi),
        \qquad
        \Delta_\pi = \eta\log\frac{\pi(y_1)}{\pi_t(y_1)} - \eta\log\frac{\pi(y_2)}{\pi_t(y_2)},
        \quad \Delta^* = r_t(y_1) - r_t(y_2),

    a binary cross-entropy with the *soft* label :math:`\sigma(r_t(y_1) - r_t(y_2))` (Rosset et al.
    2024, "Direct Nash Optimization", Eq. 11-12; Alg. 1, line 4). Here :math:`\eta` is DNO's
    temperature, :math:`\sigma` the logistic function and :math:`r_t(y) = P(y\succ\pi_t)`. Over
    tabular policies with pairs covering all responses, the minimiser is the soft-policy-iteration
    target :math:`\pi_t e^{r_t/\eta}/Z` (Eq. 9). Computed with ``log_expit``, finite for any margin.

    Parameters
    ----------
    log_policy, log_prev : array, shape (K,)
        :math:`\log\pi` and :math:`\log\pi_t` (finite on the compared responses).
    reward : array, shape (K,)
        :math:`r_t`.
    y1, y2 : int arrays, shape (n,)
        The compared responses.
    eta : float > 0

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> lp = np.log([0.5, 0.5])
    >>> dno_loss(lp, lp, [1.0, 0.0], [0], [1], eta=1.0).round(4)
    array([0.6931])
    """
    lp = check_array(log_policy, "log_policy", ndim=1, finite=False)
    lq = check_array(log_prev, "log_prev", ndim=1, finite=False)
    r = check_array(reward, "reward", ndim=1)
    K = r.size
    if lp.shape != (K,) or lq.shape != (K,):
        raise ValueError(f"log_policy and log_prev must have shape ({K},)")
    from ._validation import check_indices

    a = check_indices(y1, "y1", K)
    b = check_indices(y2, "y2", K)
    if a.shape != b.shape:
        raise ValueError(f"y1 and y2 must have the same length, got {a.size} and {b.size}")
    eta = check_positive(eta, "eta")
    h = lp - lq
    used = np.union1d(a, b)
    if not np.all(np.isfinite(h[used])):
        raise ValueError("log_policy and log_prev must be finite on the compared responses")
    d_pi = eta * (h[a] - h[b])
    d_star = r[a] - r[b]
    return -expit(d_star) * log_expit(d_pi) - expit(-d_star) * log_expit(-d_pi)


def _fit_log_ratio(pairs_w, labels, eta, n, start):
    """Minimise the weighted DNO loss over log-ratios h (n,) from ``start``; centred output."""
    i, j, w = pairs_w

    def f(h):
        d = eta * (h[i] - h[j])
        val = -(w * (labels * log_expit(d) + (1 - labels) * log_expit(-d))).sum()
        g_d = -w * (labels - expit(d)) * eta
        g = np.zeros(n)
        np.add.at(g, i, g_d)
        np.add.at(g, j, -g_d)
        return val, g

    res = minimize(f, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    return res.x - res.x.mean()


def dno(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    mode: str = "exact",
    n_samples: int = 8,
    rng=None,
) -> SelfPlayResult:
    r"""Direct Nash Optimization (DNO) on a preference bandit: conceptual or batched on-policy.

    Conceptual version (Rosset et al. 2024, "Direct Nash Optimization", Alg. 1, Eq. 9):

    .. math::
        r_t(y) = P(y \succ \pi_t), \qquad
        \pi_{t+1}(y) = \frac{\pi_t(y)\, e^{r_t(y)/\eta}}{Z_t},

    soft policy iteration on the win-rate reward with temperature :math:`\eta` (which *divides*
    the reward, unlike the step of :func:`spo`). Each step improves on the last:
    :math:`P(\pi_{t+1} \succ \pi_t) \ge \tfrac12 + \eta\,\mathrm{KL}(\pi_{t+1}\|\pi_t)` (Sec. 3.1),
    and the mixture of the iterates approaches the minimax winner.

    Batched on-policy version (``mode="batched"``, after Alg. 2 and Eq. 11-12): draw ``n_samples``
    responses from :math:`\pi_t`; estimate each sampled response's win rate :math:`\hat r_t(y)` by
    one preference draw against each of the other samples; fit :math:`\log\pi_{t+1}/\pi_t` on the
    sampled responses by minimising the soft-label regression :func:`dno_loss` over all pairs of
    distinct sampled responses (a DPO-style logistic regression whose reference is the previous
    iterate). The regression fixes the log-ratios only up to a constant; we take the constant
    that matches :math:`\eta \log(\pi_{t+1}/\pi_t) = \hat r_t - 1/2` on average under
    :math:`\pi_t` over the sampled set, and leave unsampled responses' log-ratios at zero (the
    SPPO normalisation, :math:`\mathbb{E}_{\pi_t} r_t = 1/2`). The paper's hard labels with a
    margin filter are not used: in a tabular class they make the regression unbounded.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    eta : float > 0, optional
        Temperature; default :math:`1/\sqrt{8\log K/T}` (the Hedge-tuned step, inverted).
    init : array, shape (K,), optional
    mode : {"exact", "batched"}
    n_samples : int >= 2
        Responses sampled per iteration (``"batched"``).
    rng : numpy Generator or int seed
        Required for ``"batched"``.

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> res = dno(rock_paper_scissors(), 3, eta=2.0, init=[0.6, 0.3, 0.1])
    >>> pi, P = res.policies, rock_paper_scissors()
    >>> bool(pi[1] @ P @ pi[0] >= 0.5 + 2.0 * kl(pi[1], pi[0]))
    True
    """
    P, K, T, pi0 = _check_learner_args(P, n_steps, init)
    eta = 1.0 / _default_step(K, T) if eta is None else check_positive(eta, "eta")
    if mode not in ("exact", "batched"):
        raise ValueError(f"mode must be 'exact' or 'batched', got {mode!r}")
    if mode == "batched":
        n_samples = check_integer(n_samples, "n_samples", minimum=2)
        rng = as_rng(rng)
    logs = np.empty((T + 1, K))
    logs[0] = _log(pi0)
    for t in range(T):
        pi = np.exp(logs[t])
        if mode == "exact":
            logs[t + 1] = _normalize_log(logs[t] + (P @ pi) / eta)
            continue
        ys = rng.choice(K, size=n_samples, p=pi)
        wins = rng.random((n_samples, n_samples)) < P[ys[:, None], ys[None, :]]
        np.fill_diagonal(wins, False)
        per_sample = wins.sum(axis=1) / (n_samples - 1)
        S, inv = np.unique(ys, return_inverse=True)
        r_hat = np.bincount(inv, weights=per_sample) / np.bincount(inv)
        h = np.zeros(K)
        if S.size >= 2:
            ii, jj = np.triu_indices(S.size, 1)
            labels = expit(r_hat[ii] - r_hat[jj])
            # Warm start at the realisable solution r_hat / eta (the loss has zero gradient there
            # when all pairs are compared; the solver confirms it).
            hS = _fit_log_ratio((ii, jj, np.ones(ii.size)), labels, eta, S.size, r_hat / eta)
            w = pi[S] / pi[S].sum()
            hS += float(w @ ((r_hat - 0.5) / eta - hS))
            h[S] = hS
        logs[t + 1] = _normalize_log(logs[t] + h)
    return _trajectory(P, np.exp(logs), f"dno[{mode}]")


def rebel(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    n_pairs: int | None = None,
    rng=None,
) -> SelfPlayResult:
    r"""REBEL on a preference bandit: regress log-ratio differences onto win-rate differences.

    .. math::
        \pi_{t+1} = \arg\min_\pi \sum_{y, y'} w_t(y, y')
        \Big(\tfrac1\eta\Big[\log\tfrac{\pi(y)}{\pi_t(y)} - \log\tfrac{\pi(y')}{\pi_t(y')}\Big]
        - \big[r_t(y) - r_t(y')\big]\Big)^2,
        \qquad r_t(y) = P(y \succ \pi_t),

    Gao et al. (2024, "REBEL: Reinforcement Learning via Regressing Relative Rewards", Eq. 1, with
    the win rate against the current policy as the reward, their extension to general
    preferences). Pairs are weighted by :math:`w_t = \pi_t \otimes \pi_t` (``n_pairs=None``) or by
    the counts of ``n_pairs`` pairs sampled from it. Over tabular policies the regression is a
    weighted graph-Laplacian least-squares problem; when the pairs connect all responses its
    solution is exactly the mirror-descent step :math:`\pi_{t+1} \propto \pi_t e^{\eta r_t}`
    (the partition function cancels in differences), i.e. REBEL here *is* Hedge self-play.
    With sampled pairs, responses never sampled keep their log-ratio at zero, and the constant of
    the sampled responses is fixed as in :func:`dno`.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    eta : float > 0, optional
        Step size; default :math:`\sqrt{8\log K/T}`.
    init : array, shape (K,), optional
    n_pairs : int, optional
        ``None``: exact pair weights. Otherwise the number of pairs sampled per step.
    rng : numpy Generator or int seed

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> P = [[0.5, 0.9, 0.2], [0.1, 0.5, 0.6], [0.8, 0.4, 0.5]]
    >>> a = rebel(P, 5, eta=0.5).policies
    >>> b = spo(P, 5, eta=0.5).policies
    >>> bool(np.allclose(a, b, atol=1e-12))
    True
    """
    P, K, T, pi0 = _check_learner_args(P, n_steps, init)
    eta = _default_step(K, T) if eta is None else check_positive(eta, "eta")
    if n_pairs is not None:
        n_pairs = check_integer(n_pairs, "n_pairs", minimum=1)
        rng = as_rng(rng)
    logs = np.empty((T + 1, K))
    logs[0] = _log(pi0)
    for t in range(T):
        pi = np.exp(logs[t])
        r = P @ pi
        if n_pairs is None:
            W = np.outer(pi, pi)
        else:
            a = rng.choice(K, size=n_pairs, p=pi)
            b = rng.choice(K, size=n_pairs, p=pi)
            W = np.zeros((K, K))
            np.add.at(W, (a, b), 1.0)
        W = W + W.T
        np.fill_diagonal(W, 0.0)
        h = _laplacian_regression(W, eta * r, pi, eta / 2)
        logs[t + 1] = _normalize_log(logs[t] + h)
    return _trajectory(P, np.exp(logs), "rebel" if n_pairs is None else "rebel[sampled]")


def _laplacian_regression(W, target, pi, offset):
    """argmin_h sum_{y<y'} W (h_y - h_y' - (target_y - target_y'))^2 on the pairs' support.

    The normal equations L h = L target (L = D - W the weighted Laplacian, D the degrees) are
    solved by least squares after scaling row y by 1/D_y, an equivalent system whose matrix
    I - D^{-1} W is well conditioned even when pairs of rare responses carry weights near 1e-30.
    On a connected support the solutions are target + const; the constant is fixed so that
    h = target - offset on average under pi over the compared set (the SPPO normalisation,
    offset = eta/2). Outside the compared set h = 0.
    """
    K = W.shape[0]
    deg = W.sum(axis=1)
    S = np.flatnonzero(deg > 0)
    h = np.zeros(K)
    if S.size < 2:
        return h
    M = np.eye(S.size) - W[np.ix_(S, S)] / deg[S, None]
    hS = np.linalg.lstsq(M, M @ target[S], rcond=None)[0]
    w = pi[S] / pi[S].sum()
    h[S] = hS + float(w @ (target[S] - offset - hS))
    return h


def bt_rlhf(
    P,
    n_steps: int,
    beta: float = 0.1,
    *,
    mu=None,
    pi_ref=None,
    n_comparisons: int | None = None,
    rng=None,
    l2: float = 1e-8,
) -> SelfPlayResult:
    r"""The Bradley-Terry RLHF baseline: fit a reward to comparisons, then KL-regularised RL on it.

    .. math::
        \hat r = \text{fit\_bradley\_terry}(P, \mu\mu^\top), \qquad
        \pi_{t+1}(y) \propto \pi_t(y)^{1/2}\, \pi_{ref}(y)^{1/2}\, e^{\hat r(y)/(2\beta)}
        \;\longrightarrow\; \pi^*(y) \propto \pi_{ref}(y)\, e^{\hat r(y)/\beta},

    Stage 1 (reward modelling) and stage 2 (KL-regularised policy optimisation, here exact
    mirror descent with step :math:`1/(2\beta)`, which converges geometrically to the Gibbs
    policy) of RLHF (Ouyang et al. 2022; Ziegler et al. 2019). With intransitive ``P`` the
    reward cannot represent the preferences, and the policy concentrates on
    :math:`\arg\max \hat r` (roughly the Borda winner), which a minimax winner generally is not:
    the returned policy is exploitable (Swamy et al. 2024, Sec. 2 and 5).

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
        Mirror-descent steps of stage 2.
    beta : float > 0
        KL weight.
    mu : array, shape (K,), optional
        Distribution of the compared responses (uniform by default).
    pi_ref : array, shape (K,), optional
        Reference and initial policy (uniform by default).
    n_comparisons : int, optional
        ``None``: the population loss; otherwise that many comparisons sampled from ``mu``.
    rng : numpy Generator or int seed
    l2 : float > 0
        Ridge of the reward fit.

    Returns
    -------
    SelfPlayResult
        With ``reward`` set to :math:`\hat r`.

    Examples
    --------
    >>> from prefrl.preferences import bradley_terry
    >>> res = bt_rlhf(bradley_terry([2.0, 0.0, 1.0]), 60, beta=0.01)
    >>> res.reward.round(3), res.last_policy.round(3)
    (array([ 1., -1.,  0.]), array([1., 0., 0.]))
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    beta = check_positive(beta, "beta")
    mu = np.full(K, 1.0 / K) if mu is None else check_distribution(mu, "mu", size=K)
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    if n_comparisons is None:
        r_hat = fit_bradley_terry(P, np.outer(mu, mu), l2=l2)
    else:
        from .preferences import empirical_preferences, sample_comparisons

        n_comparisons = check_integer(n_comparisons, "n_comparisons", minimum=1)
        w, lo = sample_comparisons(P, mu, n_comparisons, as_rng(rng))
        P_hat, counts = empirical_preferences(w, lo, K)
        r_hat = fit_bradley_terry(P_hat, counts, l2=l2)
    logs = np.empty((T + 1, K))
    log_ref = _log(ref)
    logs[0] = log_ref
    for t in range(T):
        logs[t + 1] = _normalize_log(_mix_log(0.5, logs[t], 0.5, log_ref) + r_hat / (2 * beta))
    return _trajectory(P, np.exp(logs), "bt_rlhf", reward=r_hat)


def iterative_dpo(
    P,
    n_steps: int,
    beta: float = 0.1,
    *,
    pi_ref=None,
    n_pairs: int | None = None,
    rng=None,
    l2: float = 1e-8,
) -> SelfPlayResult:
    r"""Iterative (online) DPO on a preference bandit: refit DPO on pairs from the current policy.

    .. math::
        \pi_{t+1} = \arg\min_\pi\; -\mathbb{E}_{y, y' \sim \pi_t}\Big[P(y\succ y')
        \log\sigma\Big(\beta\log\tfrac{\pi(y)}{\pi_{ref}(y)} - \beta\log\tfrac{\pi(y')}{\pi_{ref}(y')}\Big)\Big]
        = \frac{\pi_{ref}\, e^{\hat r_t/\beta}}{Z},
        \qquad \hat r_t = \text{fit\_bradley\_terry}(P, \pi_t\pi_t^\top),

    the online iterative DPO of Xiong et al. (2024, "Iterative Preference Learning from Human
    Feedback", Alg. 1) in its exact tabular form: the DPO loss with reference :math:`\pi_{ref}`
    on pairs from :math:`\pi_t` is a Bradley-Terry likelihood in the implicit reward
    :math:`\beta\log(\pi/\pi_{ref})` (Rafailov et al. 2023, Eq. 7), so its minimiser tilts
    :math:`\pi_{ref}` by the fitted reward. Under intransitive preferences it inherits the
    failure of the reward model.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    beta : float > 0
        DPO's :math:`\beta`.
    pi_ref : array, shape (K,), optional
        Reference and initial policy (uniform by default).
    n_pairs : int, optional
        ``None``: population loss; otherwise pairs sampled from :math:`\pi_t` with sampled labels.
    rng : numpy Generator or int seed
    l2 : float > 0
        Ridge of the reward fit (gives never-compared responses reward 0).

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.preferences import bradley_terry
    >>> iterative_dpo(bradley_terry([1.0, 0.0]), 3, beta=1.0).last_policy.round(4)
    array([0.7311, 0.2689])
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    beta = check_positive(beta, "beta")
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    if n_pairs is not None:
        from .preferences import empirical_preferences, sample_comparisons

        n_pairs = check_integer(n_pairs, "n_pairs", minimum=1)
        rng = as_rng(rng)
    pols = np.empty((T + 1, K))
    pols[0] = ref
    r_hat = np.zeros(K)
    for t in range(T):
        pi = pols[t]
        if n_pairs is None:
            r_hat = fit_bradley_terry(P, np.outer(pi, pi), l2=l2)
        else:
            w, lo = sample_comparisons(P, pi, n_pairs, rng)
            P_hat, counts = empirical_preferences(w, lo, K)
            r_hat = fit_bradley_terry(P_hat, counts, l2=l2) if counts.any() else np.zeros(K)
        pols[t + 1] = gibbs(ref, r_hat, beta)
    return _trajectory(P, pols, "iterative_dpo", reward=r_hat)


def nash_md(
    P,
    n_steps: int,
    beta: float,
    *,
    mu=None,
    init=None,
    step: float | None = None,
) -> SelfPlayResult:
    r"""Nash mirror descent (Nash-MD) on a preference bandit: last-iterate convergence to the regularised equilibrium.

    .. math::
        \pi_t^\mu(y) \propto \pi_t(y)^{1-\eta_t\beta}\, \mu(y)^{\eta_t\beta}, \qquad
        \pi_{t+1}(y) \propto \pi_t^\mu(y)\, e^{\eta_t P(y \succ \pi_t^\mu)}, \qquad
        \eta_t = \frac{2}{\beta(t+2)},

    Munos et al. (2024, "Nash Learning from Human Feedback", Sec. 5, tabular Nash-MD), with
    :math:`t = 0, 1, \dots` and :math:`\pi_0` = ``init``. With the default decreasing step the
    last iterate satisfies :math:`\mathrm{KL}(\pi^*_\beta \| \pi_T) \le 8/(\beta^2 (T+1))` for
    :math:`T \ge 1`, where :math:`\pi^*_\beta` is :func:`regularized_nash` (their Thm. 1, from
    the one-step inequality :math:`\mathrm{KL}_{t+1} \le (1-\eta_t\beta)\mathrm{KL}_t + 2\eta_t^2`).

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    beta : float > 0
        KL weight (the paper's :math:`\tau`).
    mu : array, shape (K,), optional
        Reference policy (uniform by default).
    init : array, shape (K,), optional
        :math:`\pi_0` (``mu`` by default).
    step : float, optional
        A constant step :math:`\eta` with :math:`\eta\beta \le 1`; default the decreasing
        :math:`2/(\beta(t+2))`.

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> P, mu = rock_paper_scissors(), np.array([0.6, 0.3, 0.1])
    >>> res = nash_md(P, 1000, beta=0.5, mu=mu)
    >>> star = regularized_nash(P, mu, 0.5).policy
    >>> bool(kl(star, res.last_policy) <= 8 / (0.5**2 * 1001))
    True
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    beta = check_positive(beta, "beta")
    mu = np.full(K, 1.0 / K) if mu is None else check_distribution(mu, "mu", size=K)
    pi0 = mu if init is None else check_distribution(init, "init", size=K)
    if step is not None:
        step = check_positive(step, "step")
        if step * beta > 1.0:
            raise ValueError(f"step * beta must be <= 1, got {step * beta}")
    log_mu = _log(mu)
    logs = np.empty((T + 1, K))
    logs[0] = _log(pi0)
    for t in range(T):
        eta = 2.0 / (beta * (t + 2)) if step is None else step
        w = min(eta * beta, 1.0)
        mix = _normalize_log(_mix_log(1.0 - w, logs[t], w, log_mu))
        logs[t + 1] = _normalize_log(mix + eta * (P @ np.exp(mix)))
    return _trajectory(P, np.exp(logs), "nash_md")


# --------------------------------------------------------------------------------------------
# Sequential self-play: trajectory-level preferences in a finite-horizon tabular MDP
# --------------------------------------------------------------------------------------------


class TrajectoryGame:
    r"""The preference game over the trajectories of a finite-horizon tabular MDP.

    A trajectory is :math:`\xi = (s_0, a_0, s_1, \dots, a_{H-1}, s_H)`; a history-dependent
    policy :math:`\pi(a \mid h_t)` (:math:`h_t = (s_0, a_0, \dots, s_t)`) induces the distribution
    :math:`d_\pi(\xi) = \mu_0(s_0)\prod_t \pi(a_t\mid h_t) P(s_{t+1}\mid s_t, a_t)`, and

    .. math::
        P(\pi \succ \pi') = \sum_{\xi, \xi'} d_\pi(\xi)\, \mathcal P(\xi, \xi')\, d_{\pi'}(\xi'),

    with :math:`\mathcal P(\xi, \xi')` the probability that :math:`\xi` is preferred to
    :math:`\xi'`, which may be non-Markovian (any function of the two trajectories) and
    intransitive (e.g. a vote of several raters). This is the setting of SPO (Swamy et al. 2024,
    Sec. 3-4). All reachable trajectories are enumerated, so everything is exact; keep
    :math:`(S A)^H` in the thousands.

    Parameters
    ----------
    mdp : prefrl.mdp.TabularMDP
        Dynamics, initial distribution and ``horizon`` :math:`H` (its rewards are not used).
    preference : array, shape (L, L), or callable
        :math:`\mathcal P` over the enumerated trajectories (``P + P.T == 1``), or a function
        ``f(xi, xi2) -> probability`` on two int arrays of length :math:`2H + 1` (called for
        ``i < j`` only). Build the array after enumeration with :meth:`enumerate` if needed.

    Attributes
    ----------
    trajectories : int array, shape (L, 2H + 1)
        Row ``i`` is :math:`(s_0, a_0, \dots, a_{H-1}, s_H)`.
    features : array, shape (L, S * A)
        State-action visit counts of each trajectory (:math:`\sum_t e_{(s_t, a_t)}`).
    preference : array, shape (L, L)

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0   # one state, two actions
    >>> mdp = TabularMDP(P, np.zeros((1, 2)), gamma=1.0, horizon=2)
    >>> game = TrajectoryGame(mdp, lambda x, y: 0.5 + 0.5 * np.sign(x[1::2].sum() - y[1::2].sum()))
    >>> game.trajectories[:, 1::2].tolist()    # the action sequences
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    >>> game.distribution(np.full((2, 1, 2), 0.5)).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> round(game.exploitability(np.full(4, 0.25)), 6)   # the best response plays 1, 1
    0.375
    """

    @staticmethod
    def enumerate(mdp) -> np.ndarray:
        """The reachable trajectories of ``mdp``, int array of shape (L, 2H + 1), in tree order."""
        return _TrajectoryTree(mdp).trajectories

    def __init__(self, mdp, preference):
        self.mdp = mdp
        self._tree = _TrajectoryTree(mdp)
        L = self._tree.trajectories.shape[0]
        if callable(preference):
            X = self._tree.trajectories
            Pm = np.full((L, L), 0.5)
            for i in range(L):
                for j in range(i + 1, L):
                    p = float(preference(X[i], X[j]))
                    Pm[i, j], Pm[j, i] = p, 1.0 - p
            preference = Pm
        self.preference = check_preference_matrix(preference, "preference")
        if self.preference.shape[0] != L:
            raise ValueError(f"preference must have shape ({L}, {L}) for the {L} trajectories")

    @property
    def trajectories(self) -> np.ndarray:
        return self._tree.trajectories

    @property
    def features(self) -> np.ndarray:
        return self._tree.features

    @property
    def horizon(self) -> int:
        return self._tree.H

    def distribution(self, policy) -> np.ndarray:
        r"""Trajectory distribution :math:`d_\pi` of a Markovian time-dependent policy, shape (L,).

        ``policy`` has shape (H, S, A) (or (S, A), used at every step); a history-dependent
        policy is given as a list of H arrays, entry ``t`` of shape (n_t, A) over the histories
        of length ``t`` in tree order.
        """
        return self._tree.forward(self._tree.tree_policy(policy))

    def exploitability(self, distribution) -> float:
        r"""Exploitability of a trajectory distribution, over history-dependent best responses.

        .. math::
            \mathrm{expl}(d) = \max_{\pi'} \sum_{\xi} d_{\pi'}(\xi)\, (\mathcal P d)(\xi) - \tfrac12,

        computed exactly by backward induction on the history tree with terminal reward
        :math:`(\mathcal P d)(\xi)`. Zero exactly at a minimax-winning policy.
        """
        d = check_distribution(distribution, "distribution", size=self.preference.shape[0])
        return float(self._tree.best_response_value(self.preference @ d) - 0.5)


class _TrajectoryTree:
    """Histories of a finite-horizon MDP as a tree, level by level."""

    def __init__(self, mdp):
        H = getattr(mdp, "horizon", None)
        if H is None:
            raise ValueError("mdp must have a finite horizon")
        T = mdp.dense_transitions()
        S, A = mdp.n_states, mdp.n_actions
        self.H, self.S, self.A, self.T = H, S, A, T
        roots = np.flatnonzero(mdp.initial > 0)
        self.state = [roots]
        self.prob0 = mdp.initial[roots]
        self.parent, self.action, self.tp = [None], [None], [None]
        paths = [roots[:, None]]
        for _t in range(H):
            st = self.state[-1]
            par, act, nxt, tp = [], [], [], []
            for h, s in enumerate(st):
                for a in range(A):
                    for s2 in np.flatnonzero(T[s, a] > 0):
                        par.append(h)
                        act.append(a)
                        nxt.append(s2)
                        tp.append(T[s, a, s2])
            par, act, nxt = (np.array(x, dtype=np.int64) for x in (par, act, nxt))
            self.parent.append(par)
            self.action.append(act)
            self.state.append(nxt)
            self.tp.append(np.array(tp))
            paths.append(np.column_stack([paths[-1][par], act, nxt]))
        self.trajectories = paths[-1]
        L = self.trajectories.shape[0]
        self.features = np.zeros((L, S * A))
        for t in range(H):
            s, a = self.trajectories[:, 2 * t], self.trajectories[:, 2 * t + 1]
            np.add.at(self.features, (np.arange(L), s * A + a), 1.0)

    def n_nodes(self, t: int) -> int:
        return self.state[t].size

    def tree_policy(self, policy) -> list[np.ndarray]:
        if isinstance(policy, (list, tuple)):
            out = [check_stochastic_matrix(p, f"policy[{t}]", shape=(self.n_nodes(t), self.A))
                   for t, p in enumerate(policy)]
            if len(out) != self.H:
                raise ValueError(f"policy must have {self.H} levels, got {len(out)}")
            return out
        pi = check_stochastic_matrix(policy, "policy")
        if pi.shape == (self.S, self.A):
            pi = np.broadcast_to(pi, (self.H, self.S, self.A))
        if pi.shape != (self.H, self.S, self.A):
            raise ValueError(f"policy must have shape ({self.H}, {self.S}, {self.A}) or "
                             f"({self.S}, {self.A}), got {pi.shape}")
        return [pi[t][self.state[t]] for t in range(self.H)]

    def forward(self, tree_pi: list[np.ndarray]) -> np.ndarray:
        prob = self.prob0
        for t in range(self.H):
            par, act = self.parent[t + 1], self.action[t + 1]
            prob = prob[par] * tree_pi[t][par, act] * self.tp[t + 1]
        return prob

    def backup(self, t: int, values_next: np.ndarray) -> np.ndarray:
        """Q(h, a) = sum over children of P(s'|s, a) * values_next(child), shape (n_t, A)."""
        Q = np.zeros((self.n_nodes(t), self.A))
        np.add.at(Q, (self.parent[t + 1], self.action[t + 1]), self.tp[t + 1] * values_next)
        return Q

    def best_response_value(self, leaf_reward: np.ndarray) -> float:
        V = leaf_reward
        for t in reversed(range(self.H)):
            V = self.backup(t, V).max(axis=1)
        return float(self.prob0 @ V)


@dataclass(frozen=True)
class SequentialSelfPlayResult:
    r"""Trajectory of sequential SPO on a :class:`TrajectoryGame`.

    Attributes
    ----------
    distributions : array, shape (T + 1, L)
        Trajectory distribution of each iterate (row 0: the initial policy).
    average_distribution : array, shape (L,)
        Mixture of the ``T`` played iterates (a valid policy: pick an iterate at random, then play it).
    regret : array, shape (T,)
        Self-play regret over history-dependent policies after each round.
    exploitability : array, shape (T,)
        Exploitability of the mixture of the first ``t`` iterates (equal to ``regret / t``).
    last_policy : list of arrays
        The last history-dependent policy, level ``t`` of shape (n_t, A).
    iterations : int
    """

    distributions: np.ndarray
    average_distribution: np.ndarray
    regret: np.ndarray
    exploitability: np.ndarray
    last_policy: list
    iterations: int


def sequential_spo(
    game: TrajectoryGame, n_steps: int, *, eta: float = 1.0, spread: bool = True, init=None
) -> SequentialSelfPlayResult:
    r"""SPO in a finite-horizon MDP: history-dependent soft policy iteration on win-rate rewards.

    .. math::
        r_k(\xi) = \sum_{\xi'} \mathcal P(\xi, \xi')\, d_{\pi_k}(\xi'), \qquad
        \pi_{k+1}(a \mid h_t) \propto \pi_k(a \mid h_t)\, e^{\eta\, Q_k(h_t, a)}, \qquad
        Q_k(h_t, a) = \mathbb{E}_{\pi_k}\Big[\sum_{t' \ge t} \tfrac{r_k(\xi)}{H} \,\Big|\, h_t, a\Big],

    the sequential self-play of Swamy et al. (2024, "A Minimaximalist Approach to RLHF", Sec. 4):
    each trajectory's reward is its win rate against the current policy, spread as :math:`r/H`
    over its :math:`H` steps (``spread=True``; ``False`` gives it all at the end), and a
    history-dependent natural policy gradient / soft policy iteration step (a no-regret learner
    on the tree of histories) updates the policy. As in the bandit case (:func:`spo`), the
    mixture of the iterates has exploitability exactly :math:`\mathrm{Reg}(T)/T`, where the regret
    is against the best history-dependent policy in hindsight. Exact: rewards, Q-values and best
    responses are computed on the enumerated trajectory tree.

    Parameters
    ----------
    game : TrajectoryGame
    n_steps : int >= 1
    eta : float > 0
        Step size of the soft policy iteration.
    spread : bool
        Spread the trajectory reward as :math:`r/H` per step (the SPO paper's choice).
    init : list of arrays or array (H, S, A), optional
        Initial policy; uniform by default.

    Returns
    -------
    SequentialSelfPlayResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((1, 3, 1)); P[0, :, 0] = 1.0        # one state, three actions, H = 1
    >>> mdp = TabularMDP(P, np.zeros((1, 3)), gamma=1.0, horizon=1)
    >>> from prefrl.preferences import rock_paper_scissors
    >>> game = TrajectoryGame(mdp, rock_paper_scissors())
    >>> res = sequential_spo(game, 500, eta=0.1, init=np.array([[[0.6, 0.3, 0.1]]]))
    >>> res.average_distribution.round(2), bool(res.exploitability[-1] < 0.05)
    (array([0.32, 0.34, 0.34]), True)
    """
    if not isinstance(game, TrajectoryGame):
        raise TypeError(f"game must be a TrajectoryGame, got {type(game).__name__}")
    T = check_integer(n_steps, "n_steps", minimum=1)
    eta = check_positive(eta, "eta")
    tree, Pm = game._tree, game.preference
    H = tree.H
    A = tree.A
    pi0 = tree.tree_policy(np.full((H, tree.S, A), 1.0 / A) if init is None else init)
    logits = [_log(p) for p in pi0]
    L = Pm.shape[0]
    dists = np.empty((T + 1, L))
    for k in range(T + 1):
        pis = [np.exp(z) for z in logits]
        d = tree.forward(pis)
        dists[k] = d
        if k == T:
            break
        r = Pm @ d
        # G_t(h, a) = E[r(xi) | h_t, a] under pi_k, computed backwards.
        G = r
        for t in reversed(range(H)):
            Ga = tree.backup(t, G)
            q = Ga * ((H - t) / H if spread else 1.0)
            logits[t] = logits[t] + eta * q
            logits[t] = logits[t] - logsumexp(logits[t], axis=1, keepdims=True)
            G = (pis[t] * Ga).sum(axis=1)
    played = dists[:-1]
    cum = np.cumsum(played, axis=0)
    regret = np.empty(T)
    expl = np.empty(T)
    self_payoff = np.cumsum(np.einsum("ti,ij,tj->t", played, Pm, played))
    for t in range(T):
        regret[t] = tree.best_response_value(Pm @ cum[t]) - self_payoff[t]
        expl[t] = tree.best_response_value(Pm @ (cum[t] / (t + 1))) - 0.5
    return SequentialSelfPlayResult(
        distributions=dists,
        average_distribution=cum[-1] / T,
        regret=regret,
        exploitability=expl,
        last_policy=[np.exp(z) for z in logits],
        iterations=T,
    )


@dataclass(frozen=True)
class RewardModelResult:
    r"""Reward-model RLHF on a :class:`TrajectoryGame`.

    Attributes
    ----------
    reward : array, shape (S, A)
        The fitted Markovian reward :math:`\hat R`.
    policy : array, shape (H, S, A)
        The (KL-regularised) optimal policy for :math:`\hat R`, by backward induction.
    distribution : array, shape (L,)
        Its trajectory distribution.
    exploitability : float
        Its exploitability under the true trajectory preferences.
    """

    reward: np.ndarray
    policy: np.ndarray
    distribution: np.ndarray
    exploitability: float


def reward_model_rlhf(
    game: TrajectoryGame, *, beta: float | None = None, behaviour=None, l2: float = 1e-6
) -> RewardModelResult:
    r"""Reward-model RLHF on trajectory comparisons: fit a Markovian Bradley-Terry reward, then plan.

    .. math::
        \hat R = \arg\min_{R} -\sum_{\xi, \xi'} d_b(\xi) d_b(\xi')\, \mathcal P(\xi, \xi')
        \log\sigma\Big(\sum_t R(s_t, a_t) - \sum_t R(s'_t, a'_t)\Big) + \tfrac{\lambda}{2}\|R\|^2,

    the trajectory-return Bradley-Terry model of Christiano et al. (2017, Sec. 2.2) fitted on the
    population of comparisons between trajectories of a behaviour policy :math:`b` (uniform by
    default), followed by exact (``beta=None``) or KL-regularised backward induction on
    :math:`\hat R` (:meth:`prefrl.mdp.TabularMDP.backward_induction`). This is the baseline SPO is
    compared with (Swamy et al. 2024, Sec. 5): a Markovian reward cannot represent
    intransitive or non-Markovian preferences, so the planned policy can be exploitable.

    Parameters
    ----------
    game : TrajectoryGame
    beta : float > 0, optional
        KL weight of the planning step (uniform reference); None for the hard optimum.
    behaviour : array, shape (H, S, A) or (S, A), optional
        Policy generating the compared trajectories; uniform by default.
    l2 : float > 0
        Ridge of the reward fit.

    Returns
    -------
    RewardModelResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0
    >>> mdp = TabularMDP(P, np.zeros((1, 2)), gamma=1.0, horizon=2)
    >>> game = TrajectoryGame(mdp, lambda x, y: 0.5 + 0.4 * np.sign(x[1::2].sum() - y[1::2].sum()))
    >>> res = reward_model_rlhf(game)
    >>> res.policy[:, 0].tolist(), round(res.exploitability, 9)
    ([[0.0, 1.0], [0.0, 1.0]], 0.0)
    """
    from .mdp import TabularMDP

    if not isinstance(game, TrajectoryGame):
        raise TypeError(f"game must be a TrajectoryGame, got {type(game).__name__}")
    l2 = check_positive(l2, "l2")
    tree, Pm = game._tree, game.preference
    S, A, H = tree.S, tree.A, tree.H
    b = np.full((H, S, A), 1.0 / A) if behaviour is None else behaviour
    d_b = tree.forward(tree.tree_policy(b))
    W = np.outer(d_b, d_b)
    np.fill_diagonal(W, 0.0)
    W /= max(W.sum(), 1e-300)
    # W_ij P_ij weighs "trajectory i beat trajectory j": prefrl's one linear BT fit, on the (s, a)
    # count features of the trajectories. The tolerance is tight because with a ridge of 1e-6 a
    # gradient of 1e-11 could still leave theta 1e-5 away from the minimiser.
    theta = linear_bt_mle_counts(W * Pm, tree.features, l2, tol=1e-15).weights
    R_hat = theta.reshape(S, A)
    planner = TabularMDP(tree.T, R_hat, gamma=1.0, initial=game.mdp.initial, horizon=H)
    pol = planner.backward_induction(beta=beta).policy
    d = game.distribution(pol)
    return RewardModelResult(reward=R_hat, policy=pol, distribution=d,
                             exploitability=game.exploitability(d))
