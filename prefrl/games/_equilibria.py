r"""Minimax winners and the KL-regularised Nash equilibrium of a preference game.

A preference matrix ``P`` (``P[i, j]`` the probability that response ``i`` is preferred to ``j``,
``P + P.T == 1``) defines a symmetric zero-sum game, :math:`P(\pi \succ \pi') = \pi^\top P \pi'`.

Minimax (von Neumann) winners, the target of SPO (Swamy et al. 2024, "A Minimaximalist Approach
to Reinforcement Learning from Human Feedback", Sec. 2-3) and DNO (Rosset et al. 2024, "Direct
Nash Optimization", Eq. 3); Fishburn's maximal lotteries (1984):

- :func:`exploitability`: :math:`\max_i (P\pi)_i - 1/2`, half the duality gap;
- :func:`minimax_winner`: the linear program (HiGHS) or a conic program (cvxpy);
- :func:`self_play_regret`: the regret of self-play, whose average is Reg(T)/T-exploitable.

The KL-regularised game of Nash-MD (Munos et al. 2024, "Nash Learning from Human Feedback",
Sec. 3), solved by entropic extragradient (Cen, Wei and Chi 2021, "Fast policy extragradient
methods for competitive games with entropy regularization", Thm. 1) and Newton's method:

- :func:`regularized_exploitability`: its duality gap;
- :func:`regularized_nash`: its unique equilibrium :math:`\pi^*_\beta \propto
  \pi_{ref}\, e^{P\pi^*_\beta/\beta}`.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linprog
from scipy.special import logsumexp

from .._deprecation import renamed_parameters
from .._numerics import log_normalize
from .._validation import (
    check_distribution,
    check_integer,
    check_positive,
    check_preference_matrix,
    check_stochastic_matrix,
)
from ..policies import gibbs, kl
from ._results import MinimaxResult, RegularizedNashResult

__all__ = [
    "exploitability",
    "minimax_winner",
    "regularized_exploitability",
    "regularized_nash",
    "self_play_regret",
]


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
        ``policy`` (K,), ``value`` (1/2), ``exploitability`` (0, also its ``certificate``),
        ``iterations``, ``method``, ``converged``.

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
        pi, nit, ok = np.ones(1), 0, True
    elif method == "lp":
        pi, nit, ok = _minimax_lp(P)
    else:
        pi, nit, ok = _minimax_cvxpy(P)
    pi = np.clip(pi, 0.0, None)
    pi = pi / pi.sum()
    return MinimaxResult(
        policy=pi,
        value=float((pi @ P).min()),
        exploitability=float(exploitability(P, pi)),
        iterations=int(nit),
        method=method,
        converged=ok,
    )


def _minimax_lp(P: np.ndarray) -> tuple[np.ndarray, int, bool]:
    # Standard form, valid because the value 1/2 is positive: with x = pi / t,
    #   min t s.t. P pi <= t 1, 1'pi = 1, pi >= 0   <=>   max 1'x s.t. P x <= 1, x >= 0,
    # and pi = x / 1'x, 1/t = 1'x = 2. Bounded because P has 1/2 on its diagonal.
    K = P.shape[0]
    res = linprog(-np.ones(K), A_ub=P, b_ub=np.ones(K), bounds=(0.0, None), method="highs-ipm")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"HiGHS failed on the minimax LP: {res.message}")
    return np.asarray(res.x), int(getattr(res, "nit", 0)), True


def _minimax_cvxpy(P: np.ndarray) -> tuple[np.ndarray, int, bool]:
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
    return np.asarray(p.value), int(nit or 0), prob.status == cp.OPTIMAL


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
# The KL-regularised Nash equilibrium
# --------------------------------------------------------------------------------------------


@renamed_parameters(mu="pi_ref")
def regularized_exploitability(P, policy, pi_ref, beta) -> float:
    r"""Exploitability of a policy in the KL-regularised preference game (a duality gap).

    .. math::
        G_\beta(\pi) = \max_{\pi'} \big[P(\pi' \succ \pi) - \beta\,\mathrm{KL}(\pi'\|\pi_{ref})\big]
        - \big[P(\pi \succ \pi) - \beta\,\mathrm{KL}(\pi\|\pi_{ref})\big]
        = \beta \log \sum_i \pi_{ref}(i)\, e^{(P\pi)_i/\beta} - \tfrac12
        + \beta\,\mathrm{KL}(\pi\|\pi_{ref}),

    the gain of the best response in the regularised game of Munos et al. (2024, "Nash Learning
    from Human Feedback", Sec. 3), :math:`P_\beta(\pi \succ \pi') = P(\pi \succ \pi') -
    \beta\mathrm{KL}(\pi\|\pi_{ref}) + \beta\mathrm{KL}(\pi'\|\pi_{ref})` (the paper's reference
    :math:`\mu` is ``pi_ref``). It is :math:`\ge 0`, and zero
    exactly at the unique regularised equilibrium :func:`regularized_nash`.

    Parameters
    ----------
    P : array, shape (K, K)
    policy : array, shape (K,)
    pi_ref : array, shape (K,)
        Reference policy (the paper's :math:`\mu`; the keyword ``mu`` is deprecated).
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
    mu = check_distribution(pi_ref, "pi_ref", size=K)
    beta = check_positive(beta, "beta")
    d = kl(pi, mu)
    if not np.isfinite(d):
        return float("inf")
    with np.errstate(divide="ignore"):
        soft = beta * logsumexp(np.log(mu) + (P @ pi) / beta)
    return float(max(soft - float(pi @ P @ pi) + beta * d, 0.0))


@renamed_parameters(mu="pi_ref")
def regularized_nash(
    P,
    pi_ref=None,
    beta: float = 1.0,
    *,
    method: str = "fixed_point",
    tol: float = 1e-12,
    max_iter: int = 100_000,
) -> RegularizedNashResult:
    r"""The unique Nash equilibrium of the KL-regularised preference game.

    .. math::
        \pi^*_\beta(y) = \frac{\pi_{ref}(y) \exp\big(P(y \succ \pi^*_\beta)/\beta\big)}{Z},
        \qquad P(y \succ \pi) = (P\pi)_y,

    the symmetric equilibrium of :math:`P_\beta(\pi\succ\pi') = P(\pi\succ\pi') -
    \beta\mathrm{KL}(\pi\|\pi_{ref}) + \beta\mathrm{KL}(\pi'\|\pi_{ref})` (Munos et al. 2024, "Nash Learning from
    Human Feedback", Sec. 3, unique for :math:`\beta > 0`). Equivalently it maximises the concave
    function

    .. math::
        g(\pi) = -\beta \log \sum_j \pi_{ref}(j)\, e^{-(P^\top \pi)_j/\beta}
        - \beta\,\mathrm{KL}(\pi\|\pi_{ref}),

    the row player's guaranteed regularised payoff. Its exploitability in the unregularised game is
    at most :math:`\beta \log(1/\min_y \pi_{ref}(y))` when :math:`\pi_{ref}` has full support.

    ``method="fixed_point"`` follows the equilibrium along :math:`\beta` (a homotopy: halving
    :math:`\beta` from 1, each solve warm-started at the previous one) with damped Newton steps on
    the fixed-point equations; where Newton stalls, the entropic extragradient method (linear
    convergence at rate :math:`1 - \eta\beta`, :math:`\eta = 1/(1+\beta)`; Cen, Wei and Chi 2021,
    "Fast policy extragradient methods for competitive games with entropy regularization",
    Thm. 1) takes over until Newton can resume. It reaches residuals of 1e-12 down to
    :math:`\beta \approx 10^{-4}`; below, float64 resolves the fixed point only to about
    :math:`8\varepsilon(1 + \max|P - 1/2|/\beta)`, and ``tol`` is raised to that floor.
    ``method="cvxpy"`` maximises :math:`g` with a conic solver (exponential cone), an independent
    check (its own accuracy is about 1e-6 to 1e-5 at small :math:`\beta`).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix.
    pi_ref : array, shape (K,), optional
        Reference policy (the paper's :math:`\mu`); uniform by default. Zero entries stay zero.
        The keyword ``mu`` is deprecated.
    beta : float >= 1e-10
        KL weight (Nash-MD's :math:`\tau`). Below :math:`10^{-10}` the equilibrium is not
        resolvable in float64 (a ValueError); its :math:`\beta \to 0` limit is a maximal lottery,
        :func:`minimax_winner`.
    method : {"fixed_point", "cvxpy"}
    tol : float > 0
        Stop when the fixed-point residual :math:`\|\pi - \pi_{ref} e^{P\pi/\beta}/Z\|_1` is below
        ``max(tol, 8 eps (1 + max|P - 1/2| / beta))`` (``"fixed_point"`` only).
    max_iter : int
        Cap on the Newton and extragradient iterations together; when it is reached before the
        tolerance, the result says ``converged=False`` and a RuntimeWarning is issued.

    Returns
    -------
    RegularizedNashResult

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> res = regularized_nash(rock_paper_scissors(), [0.6, 0.3, 0.1], beta=0.1)
    >>> res.policy.round(4), bool(res.certificate < 1e-12), res.converged
    (array([0.4321, 0.2303, 0.3376]), True, True)
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    mu = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    beta = check_positive(beta, "beta")
    if beta < 1e-10:
        raise ValueError(f"beta must be >= 1e-10, got {beta:g}: below, float64 cannot resolve the "
                         "regularised equilibrium (P pi / beta loses every digit); the beta -> 0 "
                         "limit is a maximal lottery, games.minimax_winner")
    tol = max(check_positive(tol, "tol"), _rounding_floor(P, beta))
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    if method not in ("fixed_point", "cvxpy"):
        raise ValueError(f"method must be 'fixed_point' or 'cvxpy', got {method!r}")
    S = np.flatnonzero(mu > 0)
    A = P[np.ix_(S, S)] - 0.5
    log_mu = np.log(mu[S])
    if method == "fixed_point":
        pi_S, nit = _regnash_fixed_point(A, log_mu, beta, tol, max_iter)
        ok = None
    else:
        pi_S, nit, ok = _regnash_cvxpy(A, mu[S], beta)
    pi = np.zeros(K)
    pi[S] = pi_S
    # P pi and (P - 1/2) pi differ by a constant, which the normalisation removes; the centred
    # form keeps the exponent small, so the residual is not rounding of 0.5 / beta
    target = gibbs(mu, (P - 0.5) @ pi, beta)
    residual = float(np.abs(pi - target).sum())
    converged = bool(residual <= tol) if ok is None else ok
    if not converged and method == "fixed_point":
        warnings.warn(f"regularized_nash: residual {residual:.2e} > tol {tol:.2e} after {nit} "
                      "iterations (max_iter); the result says converged=False", RuntimeWarning,
                      stacklevel=2)
    return RegularizedNashResult(
        policy=pi,
        value=float(pi @ P @ pi),
        gap=regularized_exploitability(P, pi, mu, beta),
        certificate=residual,
        exploitability=float(exploitability(P, pi)),
        iterations=int(nit),
        method=method,
        converged=converged,
    )


def _fp_residual(A, z, log_mu, beta) -> float:
    p = np.exp(z)
    t = log_mu + (A @ p) / beta
    return float(np.abs(p - np.exp(log_normalize(t))).sum())


def _rounding_floor(P, beta: float) -> float:
    r"""The smallest fixed-point residual float64 can resolve at this :math:`\beta`.

    An error of one unit in the last place of :math:`\pi` moves the exponent
    :math:`(P\pi)/\beta` by about :math:`\varepsilon \max|P - 1/2| / \beta`, so residuals below
    :math:`8\varepsilon(1 + \max_{ij}|P_{ij} - 1/2| / \beta)` are rounding, not error.
    """
    return 8.0 * np.finfo(float).eps * (1.0 + float(np.max(np.abs(P - 0.5))) / beta)


def _newton(A, z, log_mu, beta, tol, max_steps=100):
    """Damped Newton on F(z, c) = [z - log mu - A e^z / beta - c, sum e^z - 1].

    Each step is halved until the fixed-point residual falls (backtracking), so a step never makes
    the iterate worse; stops at ``tol`` or when no step size improves the residual.
    """
    res = _fp_residual(A, z, log_mu, beta)
    n, steps = z.size, 0
    while steps < max_steps and res > tol:
        p = np.exp(z)
        g = z - log_mu - (A @ p) / beta
        c = float(np.mean(g))
        F = np.concatenate([g - c, [p.sum() - 1.0]])
        J = np.zeros((n + 1, n + 1))
        J[:n, :n] = np.eye(n) - (A * p[None, :]) / beta
        J[:n, n] = -1.0
        J[n, :n] = p
        try:
            step = np.linalg.solve(J, -F)[:n]
        except np.linalg.LinAlgError:  # pragma: no cover - J is nonsingular near the solution
            break
        steps += 1
        t = 1.0
        while t > 1e-12:
            z_new = log_normalize(z + t * step)
            new_res = _fp_residual(A, z_new, log_mu, beta)
            if np.isfinite(new_res) and new_res < res:
                z, res = z_new, new_res
                break
            t *= 0.5
        else:
            break
    return z, res, steps


def _extragradient(A, log_pi, log_mu, beta, target, max_iter):
    """Entropic extragradient (symmetric play) until the residual is below ``target``."""
    eta = 1.0 / (1.0 + beta)
    w = eta * beta
    it = 0
    while it < max_iter:
        base = (1.0 - w) * log_pi + w * log_mu
        mid = log_normalize(base + eta * (A @ np.exp(log_pi)))
        log_pi = log_normalize(base + eta * (A @ np.exp(mid)))
        it += 1
        if it % 10 == 0 and _fp_residual(A, log_pi, log_mu, beta) <= target:
            break
    return log_pi, it


def _regnash_fixed_point(A, log_mu, beta, tol, max_iter):
    """Homotopy in beta with damped Newton; the extragradient method where Newton stalls.

    The equilibrium is smooth in beta, and at beta >= 1 Newton converges from pi_ref itself; so
    beta is halved from max(1, beta) down to beta, each solve warm-started at the previous one
    (about log2(1/beta) solves of a few Newton steps each). Where a Newton solve stalls above its
    tolerance, the globally convergent extragradient method (linear rate 1 - beta/(1 + beta))
    takes over until the residual has fallen a hundredfold, and Newton resumes.
    """
    log_mu = log_normalize(log_mu)
    z, it = log_mu.copy(), 0
    b = max(beta, 1.0)
    while True:
        target = tol if b == beta else max(tol, 1e-10)
        z, res, steps = _newton(A, z, log_mu, b, target, max_steps=min(100, max_iter - it))
        it += steps
        while res > target and it < max_iter:  # Newton stalled: extragradient, then Newton
            z, n_eg = _extragradient(A, z, log_mu, b, res / 100, max_iter - it)
            it += n_eg
            z, res, steps = _newton(A, z, log_mu, b, target, max_steps=min(100, max_iter - it))
            it += steps
        if b == beta or res > target:
            return np.exp(z), it
        b = max(beta, b / 2)


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
    return x / x.sum(), int(nit or 0), prob.status == cp.OPTIMAL
