r"""Direct Nash Optimization (DNO) on a preference bandit: the learner, its loss, its theorems.

Rosset et al. (2024), "Direct Nash Optimization: Teaching Language Models to Self-Improve with
General Preferences":

- :func:`dno`: the conceptual algorithm (Alg. 1, Eq. 9: soft policy iteration on the win rate,
  :math:`\pi_{t+1} \propto \pi_t e^{r_t/\beta}`) and a batched on-policy version (after Alg. 2
  and Eq. 11-12: sampled responses, estimated win rates, the soft-label regression);
- :func:`dno_loss`: the soft-label regression (Eq. 11-12) on a bandit's responses, which is
  :func:`prefrl.losses.dno` indexed by response;
- :func:`dno_regression_minimiser`: the minimiser of the population regression (Eq. 9: the
  soft-policy-iteration target);
- :func:`one_step_improvement`: :math:`P(\pi_{t+1} \succ \pi_t) \ge 1/2 + \beta\,
  \mathrm{KL}(\pi_{t+1}\|\pi_t)` along a trajectory (Sec. 3.1).

``beta`` is the KL weight of the soft policy iteration, the paper's temperature :math:`\eta`.
The learner runs on the one self-play loop (:mod:`prefrl.games._loop`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .._deprecation import renamed_parameters
from .._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_indices,
    check_integer,
    check_positive,
    check_preference_matrix,
    check_stochastic_matrix,
)
from ..policies import kl
from ._loop import (
    anchor_log_ratios,
    check_learner_args,
    default_step,
    normalize_log,
    run_self_play,
    safe_log,
)
from ._results import SelfPlayResult

__all__ = ["dno", "dno_loss", "dno_regression_minimiser", "one_step_improvement"]


@renamed_parameters(eta="beta")
def dno(
    P,
    n_steps: int,
    *,
    beta: float | None = None,
    init=None,
    mode: str = "exact",
    n_samples: int = 8,
    rng=None,
) -> SelfPlayResult:
    r"""Direct Nash Optimization (DNO) on a preference bandit: conceptual or batched on-policy.

    Conceptual version (Rosset et al. 2024, "Direct Nash Optimization", Alg. 1, Eq. 9):

    .. math::
        r_t(y) = P(y \succ \pi_t), \qquad
        \pi_{t+1}(y) = \frac{\pi_t(y)\, e^{r_t(y)/\beta}}{Z_t}
        = \arg\max_\pi\; P(\pi \succ \pi_t) - \beta\,\mathrm{KL}(\pi\|\pi_t),

    soft policy iteration on the win-rate reward with KL weight :math:`\beta` (the paper's
    temperature :math:`\eta`; it *divides* the reward, where the step ``eta`` of
    :func:`~prefrl.games.spo` multiplies it: ``dno(beta=b)`` is ``spo(eta=1/b)``). Each step
    improves on the last: :math:`P(\pi_{t+1} \succ \pi_t) \ge \tfrac12 +
    \beta\,\mathrm{KL}(\pi_{t+1}\|\pi_t)` (Sec. 3.1; :func:`one_step_improvement`), and the
    mixture of the iterates approaches the minimax winner.

    Batched on-policy version (``mode="batched"``, after Alg. 2 and Eq. 11-12): draw ``n_samples``
    responses from :math:`\pi_t`; estimate each sampled response's win rate :math:`\hat r_t(y)` by
    one preference draw against each of the other samples; fit :math:`\log\pi_{t+1}/\pi_t` on the
    sampled responses by minimising the soft-label regression :func:`dno_loss` over all pairs of
    distinct sampled responses (a DPO-style logistic regression whose reference is the previous
    iterate). The regression fixes the log-ratios only up to a constant; we take the constant
    that matches :math:`\beta \log(\pi_{t+1}/\pi_t) = \hat r_t - 1/2` on average under
    :math:`\pi_t` over the sampled set, and leave unsampled responses' log-ratios at zero (the
    SPPO normalisation, :math:`\mathbb{E}_{\pi_t} r_t = 1/2`). The paper's hard labels with a
    margin filter are not used: in a tabular class they make the regression unbounded.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    beta : float > 0, optional
        KL weight (the paper's temperature :math:`\eta`; the keyword ``eta`` is deprecated);
        default :math:`1/\sqrt{8\log K/T}` (the Hedge-tuned step, inverted).
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
    >>> from prefrl.policies import kl
    >>> res = dno(rock_paper_scissors(), 3, beta=2.0, init=[0.6, 0.3, 0.1])
    >>> pi, P = res.policies, rock_paper_scissors()
    >>> bool(pi[1] @ P @ pi[0] >= 0.5 + 2.0 * kl(pi[1], pi[0]))
    True
    """
    P, K, T, pi0 = check_learner_args(P, n_steps, init)
    beta = 1.0 / default_step(K, T) if beta is None else check_positive(beta, "beta")
    if mode not in ("exact", "batched"):
        raise ValueError(f"mode must be 'exact' or 'batched', got {mode!r}")
    if mode == "batched":
        n_samples = check_integer(n_samples, "n_samples", minimum=2)
        rng = as_rng(rng)

    def soft_policy_iteration(t, log_pi, pi):
        return normalize_log(log_pi + (P @ pi) / beta)

    def batched_step(t, log_pi, pi):
        ys = rng.choice(K, size=n_samples, p=pi)
        wins = rng.random((n_samples, n_samples)) < P[ys[:, None], ys[None, :]]
        np.fill_diagonal(wins, False)
        per_sample = wins.sum(axis=1) / (n_samples - 1)
        S, inv = np.unique(ys, return_inverse=True)
        r_hat = np.bincount(inv, weights=per_sample) / np.bincount(inv)
        h = np.zeros(K)
        if S.size >= 2:
            ii, jj = np.triu_indices(S.size, 1)
            # Warm start at the realisable solution r_hat / beta (the loss has zero gradient
            # there when all pairs are compared; the solver confirms it).
            hS = _fit_log_ratio(ii, jj, r_hat, beta, r_hat / beta)
            h[S] = anchor_log_ratios(hS, (r_hat - 0.5) / beta, pi[S])
        return normalize_log(log_pi + h)

    update = soft_policy_iteration if mode == "exact" else batched_step
    return run_self_play(P, safe_log(pi0), T, update, f"dno[{mode}]")


def _fit_log_ratio(i, j, reward, beta, start):
    """Minimise the DNO loss summed over the pairs ``(i, j)`` over log-ratios h, from ``start``.

    The loss of a pair is :func:`prefrl.losses.dno` with the log-ratios as the policy's log-probs
    (reference 0) and soft label sigma(reward_i - reward_j); L-BFGS on its analytic gradient
    (:func:`prefrl.losses.value_and_grad`). Returns the minimiser centred to mean 0.
    """
    from ..losses import value_and_grad

    zero = np.zeros(i.size)
    n = start.size

    def f(h):
        v, (g_i, g_j, _, _) = value_and_grad("dno", h[i], h[j], zero, zero, beta=beta,
                                             chosen_rewards=reward[i], rejected_rewards=reward[j])
        g = np.zeros(n)
        np.add.at(g, i, g_i)
        np.add.at(g, j, g_j)
        return float(v.sum()), g

    res = minimize(f, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    return res.x - res.x.mean()


@renamed_parameters(eta="beta")
def dno_loss(log_policy, log_prev, reward, y1, y2, beta: float) -> np.ndarray:
    r"""The DNO soft-label regression loss for pairs of responses (per pair, unreduced).

    .. math::
        \ell(y_1, y_2) = -\sigma(\Delta^*)\log\sigma(\Delta_\pi) - \sigma(-\Delta^*)\log\sigma(-\Delta_\pi),
        \qquad
        \Delta_\pi = \beta\log\frac{\pi(y_1)}{\pi_t(y_1)} - \beta\log\frac{\pi(y_2)}{\pi_t(y_2)},
        \quad \Delta^* = r_t(y_1) - r_t(y_2),

    a binary cross-entropy with the *soft* label :math:`\sigma(r_t(y_1) - r_t(y_2))` (Rosset et al.
    2024, "Direct Nash Optimization", Eq. 11-12; Alg. 1, line 4). Here :math:`\beta` is the KL
    weight of DNO's soft policy iteration (the paper's temperature :math:`\eta`), :math:`\sigma`
    the logistic function and :math:`r_t(y) = P(y\succ\pi_t)`. Over tabular policies with pairs
    covering all responses, the minimiser is the soft-policy-iteration target
    :math:`\pi_t e^{r_t/\beta}/Z` (Eq. 9; :func:`dno_regression_minimiser`).

    This is the pairwise loss :func:`prefrl.losses.dno` (which it calls) on the compared pairs,
    with ``chosen_logps = log_policy[y1]``, ``ref_chosen_logps = log_prev[y1]``,
    ``chosen_rewards = reward[y1]`` (and ``y2`` for the rejected side): indexed by responses of a
    bandit instead of given per pair. Finite for any margin.

    Parameters
    ----------
    log_policy, log_prev : array, shape (K,)
        :math:`\log\pi` and :math:`\log\pi_t` (finite on the compared responses).
    reward : array, shape (K,)
        :math:`r_t`.
    y1, y2 : int arrays, shape (n,)
        The compared responses.
    beta : float > 0
        The KL weight (the paper's :math:`\eta`; the keyword ``eta`` is deprecated).

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> lp = np.log([0.5, 0.5])
    >>> dno_loss(lp, lp, [1.0, 0.0], [0], [1], beta=1.0).round(4)
    array([0.6931])
    """
    from ..losses import dno as pairwise_dno

    lp = check_array(log_policy, "log_policy", ndim=1, finite=False)
    lq = check_array(log_prev, "log_prev", ndim=1, finite=False)
    r = check_array(reward, "reward", ndim=1)
    K = r.size
    if lp.shape != (K,) or lq.shape != (K,):
        raise ValueError(f"log_policy and log_prev must have shape ({K},) (the shape of reward), "
                         f"got {lp.shape} and {lq.shape}")
    a = check_indices(y1, "y1", K)
    b = check_indices(y2, "y2", K)
    if a.shape != b.shape:
        raise ValueError(f"y1 and y2 must have the same length, got {a.size} and {b.size}")
    beta = check_positive(beta, "beta")
    used = np.union1d(a, b)
    if not np.all(np.isfinite(lp[used] - lq[used])):
        raise ValueError("log_policy and log_prev must be finite on the compared responses")
    return pairwise_dno(lp[a], lp[b], lq[a], lq[b], beta=beta, chosen_rewards=r[a],
                        rejected_rewards=r[b])


def dno_regression_minimiser(prev, reward, beta: float, *, max_iter: int = 100) -> np.ndarray:
    r"""The minimiser of DNO's population soft-label regression over tabular policies.

    .. math::
        u^* = \arg\min_{u \in \mathbb R^K,\, u_0 = 0} \sum_{i < j} w_{ij}\,
        \ell_{ij}\big(\log\pi_t + u/\beta\big), \qquad w_{ij} \propto \pi_t(i)\pi_t(j),

    with :math:`\ell_{ij}` the DNO loss :func:`dno_loss` of the pair :math:`(i, j)` (all pairs
    compared, weighted as pairs drawn from :math:`\pi_t`) and :math:`u = \beta\log(\pi/\pi_t)` up
    to a constant (the loss sees only differences; :math:`u_0 = 0` fixes it). Rosset et al.
    (2024, "Direct Nash Optimization", Eq. 9 and 11-12): the minimiser is the soft-policy-
    iteration target, :math:`u^*_i - u^*_j = r_t(i) - r_t(j)`, which ``prefrl check`` verifies
    on random instances with this function.

    Computed by Newton's method on the convex loss in :math:`u`, each linear system row-scaled
    by the Hessian's diagonal so that pairs of rare responses (weights down to 1e-30) are not lost
    to rounding; every step is checked against the loss itself (:func:`dno_loss`, a halving line
    search) and the iteration stops when a step is below 1e-15 or after ``max_iter`` steps.

    Parameters
    ----------
    prev : array, shape (K,)
        The previous iterate :math:`\pi_t`, positive.
    reward : array, shape (K,)
        :math:`r_t`, e.g. the win rates :math:`P\pi_t`.
    beta : float > 0
        The KL weight (DNO's temperature).
    max_iter : int >= 1
        Newton steps at most.

    Returns
    -------
    array, shape (K,)
        :math:`u^* = \beta\log(\pi^*/\pi_t)`, with :math:`u^*_0 = 0` (zeros when K = 1).

    Examples
    --------
    >>> prev, r = np.array([0.2, 0.5, 0.3]), np.array([0.9, 0.2, 0.5])
    >>> u = dno_regression_minimiser(prev, r, beta=0.5)
    >>> bool(np.allclose(u, r - r[0], atol=1e-12))
    True
    """
    prev = check_distribution(prev, "prev")
    K = prev.size
    if np.any(prev <= 0):
        raise ValueError("prev must be positive (the regression compares every pair)")
    r = check_array(reward, "reward", ndim=1)
    if r.shape != (K,):
        raise ValueError(f"reward must have shape ({K},), got {r.shape}")
    beta = check_positive(beta, "beta")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    if K < 2:
        return np.zeros(K)
    i, j = np.triu_indices(K, 1)
    w = prev[i] * prev[j]
    w = w / w.sum()
    log_prev = np.log(prev)
    labels = 1.0 / (1.0 + np.exp(-(r[i] - r[j])))

    def loss(u):
        return float(w @ dno_loss(log_prev + u / beta, log_prev, r, i, j, beta))

    # Newton with its own derivatives (prefrl.losses gives values and gradients, not Hessians) and
    # its own halving search rather than prefrl._optim.damped_newton: the check
    # games.dno_regression_minimiser_is_spi_target and the figure dno_improvement record these
    # iterates' errors bit for bit.
    u = np.zeros(K)
    for _ in range(max_iter):
        d = u[i] - u[j]
        s = 1.0 / (1.0 + np.exp(-d))
        g, H = np.zeros(K), np.zeros((K, K))
        np.add.at(g, i, w * (s - labels))
        np.add.at(g, j, -w * (s - labels))
        c = w * s * (1 - s)
        np.add.at(H, (i, i), c)
        np.add.at(H, (j, j), c)
        np.add.at(H, (i, j), -c)
        np.add.at(H, (j, i), -c)
        scale = 1.0 / np.diag(H)[1:]
        step = np.zeros(K)
        step[1:] = np.linalg.solve(H[1:, 1:] * scale[:, None], -g[1:] * scale)
        if np.abs(step).max() < 1e-15:
            break
        t, f0 = 1.0, loss(u)
        while loss(u + t * step) > f0 + 1e-15 * abs(f0) and t > 1e-8:
            t *= 0.5
        u = u + t * step
    return u


def one_step_improvement(P, policies, beta: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Both sides of DNO's one-step improvement, :math:`P(\pi_{t+1} \succ \pi_t) \ge \tfrac12 +
    \beta\,\mathrm{KL}(\pi_{t+1}\|\pi_t)`, along a trajectory.

    Rosset et al. (2024, "Direct Nash Optimization", Sec. 3.1): the soft-policy-iteration step
    :math:`\pi_{t+1} = \arg\max_\pi P(\pi \succ \pi_t) - \beta\mathrm{KL}(\pi\|\pi_t)` (:func:`dno`
    with KL weight ``beta``) beats :math:`\pi_t`, by at least :math:`\beta` times its KL
    divergence, because the objective equals 1/2 at :math:`\pi = \pi_t`.

    Parameters
    ----------
    P : array, shape (K, K)
    policies : array, shape (T + 1, K)
        The iterates, e.g. ``dno(P, T, beta=beta).policies``.
    beta : float > 0

    Returns
    -------
    win_rates : array, shape (T,)
        :math:`P(\pi_{t+1} \succ \pi_t) = \pi_{t+1}^\top P \pi_t`.
    lower_bounds : array, shape (T,)
        :math:`\tfrac12 + \beta\,\mathrm{KL}(\pi_{t+1}\|\pi_t)`.

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> P = rock_paper_scissors()
    >>> win, bound = one_step_improvement(P, dno(P, 5, beta=2.0, init=[0.6, 0.3, 0.1]).policies, 2.0)
    >>> bool(np.all(win >= bound))
    True
    """
    P = check_preference_matrix(P)
    pis = check_stochastic_matrix(policies, "policies")
    if pis.ndim != 2 or pis.shape[1] != P.shape[0] or pis.shape[0] < 2:
        raise ValueError(f"policies must have shape (T + 1, {P.shape[0]}) with T >= 1, "
                         f"got {pis.shape}")
    beta = check_positive(beta, "beta")
    T = pis.shape[0] - 1
    win = np.array([pis[t + 1] @ P @ pis[t] for t in range(T)])
    lower = 0.5 + beta * np.array([kl(pis[t + 1], pis[t]) for t in range(T)])
    return win, lower
