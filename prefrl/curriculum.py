r"""Curricula over contexts and ROLLIN, with exact softmax policy gradients on tabular MDPs.

Li, Zhai, Ma and Levine (2023), "Understanding the Complexity Gains of Single-Task RL with a
Curriculum" (ICML 2023, arXiv 2212.12809), study a family of MDPs :math:`M(\omega)` that share
their dynamics and differ in the reward. A curriculum :math:`\omega_0 \to \omega_1 \to \dots \to
\omega_K` ends at the hard target task. Their algorithm ROLLIN warm-starts the policy of each
context from the previous one and runs policy gradient from the start distribution

.. math::
    \mu_k = \beta\, d^{\pi^*_{k-1}}_\mu + (1 - \beta)\, \mu,

a mixture of the previous optimal policy's discounted state distribution and the original
:math:`\mu`. The quantity that drives policy-gradient complexity is the distribution-mismatch
coefficient :math:`\|d^{\pi^*}_\mu / \mu_k\|_\infty` (Agarwal et al. 2021; Mei et al. 2020).

**What is ours.** The paper body was not read (``shared/papers/papers_reward_design.md``,
Sec. 4); the paper uses a stochastic, two-phase entropy-regularised policy gradient and robotic
goal-reaching tasks. Here the policy gradient is exact (entropy-regularised, tabular softmax), the
contexts are goals on a chain (:func:`goal_chain`), and the rollin policy is the exact
soft-optimal policy of the previous context. Bounds and constants of the paper are not reproduced.

**eva** (Ye et al. 2024, "Evolving Alignment via Asymmetric Self-Play", arXiv 2411.00062) is a
curriculum over prompts: a creator reweights contexts by an informativeness proxy of the solver's
sampled responses, the solver learns on the creator's distribution. Its contextual-bandit form,
with exact expectations of the proxies, is :func:`context_regret`, :func:`informativeness`,
:func:`creator_weights` and :func:`eva` (see :doc:`/theory/eva`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_integer,
    check_positive,
    check_probability,
    check_stochastic_matrix,
)
from .mdp import PolicyGradient, TabularMDP, softmax_policy_gradient
from .mdp.envs import goal_chain  # noqa: F401  (moved to prefrl.mdp.envs; importable here)
from .mdp.occupancy import discounted_state_distribution

__all__ = [
    "CurriculumResult",
    "PolicyGradientRun",
    "mismatch_coefficient",
    "policy_gradient",
    "rollin",
    "rollin_initial",
    "sampled_policy_gradient",
    "softmax_pg_ascent",
]


# ---------------------------------------------------------------------------------- distributions
def _with_initial(mdp: TabularMDP, initial) -> TabularMDP:
    if initial is None:
        return mdp
    mu = check_distribution(initial, "initial", size=mdp.n_states)
    return TabularMDP(mdp.transitions, mdp.rewards, mdp.gamma, mu, mdp.horizon,
                      state_labels=mdp.state_labels, action_labels=mdp.action_labels)


def mismatch_coefficient(mdp: TabularMDP, policy, mu, initial=None) -> float:
    r"""The distribution-mismatch coefficient :math:`\|d^{\pi}_\rho / \mu\|_\infty`.

    .. math::
        C(\pi, \rho, \mu) = \max_s \frac{d^\pi_\rho(s)}{\mu(s)}, \qquad 0/0 = 0,\ x/0 = \infty
        \ (x > 0),

    with :math:`d^\pi_\rho` from :func:`discounted_state_distribution`. With :math:`\pi = \pi^*`
    it is the constant in the gradient-domination bound
    :math:`V^*(\rho) - V^\pi(\rho) \le \frac{1}{1-\gamma} C(\pi^*, \rho, \mu)
    \max_{\bar\pi} (\bar\pi - \pi)^\top \nabla_\pi V^\pi(\mu)` (Agarwal et al. 2021, Lemma 4.1)
    and in the rates of softmax policy gradient (Mei et al. 2020); ROLLIN (Li et al. 2023)
    lowers it by mixing :math:`d^{\pi^*_{k-1}}` into :math:`\mu`. Always :math:`\ge 1`.
    Entries of :math:`d` below :math:`10^{-14} \max_s d(s)` (the rounding level of the linear
    solve) count as zero.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array, shape (S, A)
        :math:`\pi` (usually an optimal policy).
    mu : array, shape (S,)
        The start distribution of the policy gradient.
    initial : array, shape (S,), optional
        :math:`\rho`; the MDP's :math:`\mu_0` by default.

    Returns
    -------
    float (``inf`` when :math:`\mu` misses a state that :math:`d^\pi_\rho` visits)

    Examples
    --------
    >>> mdp = goal_chain(3, 2, gamma=0.5)
    >>> mismatch_coefficient(mdp, np.array([2, 2, 1]), [1/3, 1/3, 1/3])
    1.5
    >>> mismatch_coefficient(mdp, np.array([2, 2, 1]), [1.0, 0.0, 0.0])
    inf
    """
    mu = check_distribution(mu, "mu", size=mdp.n_states)
    d = discounted_state_distribution(mdp, policy, initial)
    # Entries at the rounding level of the linear solve are zeros of the exact d.
    pos = d > 1e-14 * d.max()
    if np.any(pos & (mu == 0)):
        return float("inf")
    with np.errstate(over="ignore"):  # a ratio beyond the float range is inf
        return float(np.max(d[pos] / mu[pos])) if pos.any() else 0.0


def rollin_initial(mdp: TabularMDP, previous_policy, beta: float, mu=None) -> np.ndarray:
    r"""ROLLIN's start distribution :math:`\mu_k = \beta\, d^{\pi_{k-1}}_\mu + (1-\beta)\,\mu`.

    .. math::
        \mu_k(s) = \beta\, d^{\pi_{k-1}}_\mu(s) + (1 - \beta)\, \mu(s),

    with :math:`d` the normalised discounted state distribution of the previous context's
    (near-)optimal policy :math:`\pi_{k-1}` from :math:`\mu`. Li et al. (2023), ROLLIN,
    as recalled in the notes (unverified details).

    Parameters
    ----------
    mdp : TabularMDP
        Any context (the dynamics are shared).
    previous_policy : array, shape (S, A)
    beta : float in [0, 1]
    mu : array, shape (S,), optional
        The original start distribution; the MDP's by default.

    Returns
    -------
    array, shape (S,)

    Examples
    --------
    >>> mdp = goal_chain(3, 2, gamma=0.5)
    >>> rollin_initial(mdp, np.array([2, 2, 1]), beta=0.5)
    array([0.75 , 0.125, 0.125])
    """
    beta = check_probability(beta, "beta")
    mu = mdp.initial if mu is None else check_distribution(mu, "mu", size=mdp.n_states)
    d = discounted_state_distribution(mdp, previous_policy, mu)
    out = beta * d + (1.0 - beta) * mu
    return out / out.sum()


# ---------------------------------------------------------------------------------- policy gradient
def policy_gradient(mdp: TabularMDP, theta, tau: float = 0.0, initial=None) -> PolicyGradient:
    r"""Exact gradient of the (entropy-regularised) softmax objective from a chosen start distribution.

    .. math::
        \frac{\partial J_\tau(\theta; \rho)}{\partial \theta[s, a]}
        = d^{\pi_\theta}_{\rho}(s, a)\, A_\tau(s, a),

    with the unnormalised occupancy from :math:`\rho` and the soft advantage of
    :func:`prefrl.mdp.softmax_policy_gradient` (KL to the uniform policy, weight :math:`\tau`).
    This is the gradient ROLLIN follows with :math:`\rho = \mu_k`. Sutton et al. (2000), Thm 1;
    Agarwal et al. (2021), Lemma C.1; Mei et al. (2020), Lemma 10.

    Parameters
    ----------
    mdp : TabularMDP
    theta : array, shape (S, A)
    tau : float >= 0
    initial : array, shape (S,), optional
        :math:`\rho`; the MDP's :math:`\mu_0` by default.

    Returns
    -------
    PolicyGradient

    Examples
    --------
    >>> mdp = goal_chain(3, 2, gamma=0.5)
    >>> pg = policy_gradient(mdp, np.zeros((3, 3)), initial=[0.0, 1.0, 0.0])
    >>> int(pg.gradient[1].argmax())           # from state 1, move forward
    2
    """
    return softmax_policy_gradient(_with_initial(mdp, initial), theta, beta=tau)


def sampled_policy_gradient(mdp: TabularMDP, theta, rng, n_episodes: int, length: int, *,
                            tau: float = 0.0, initial=None) -> np.ndarray:
    r"""Monte-Carlo (REINFORCE, reward-to-go) estimate of the softmax policy gradient.

    .. math::
        \widehat{\nabla}_\theta J_\tau = \frac{1}{N}\sum_{i=1}^{N} \sum_{t<L} \gamma^t\,
        \nabla_\theta \log \pi_\theta(a^i_t|s^i_t)\, \sum_{t'=t}^{L-1} \gamma^{t'-t}
        \big(r(s^i_{t'}, a^i_{t'}) - \tau \log(A\,\pi_\theta(a^i_{t'}|s^i_{t'}))\big),

    over :math:`N` episodes of length :math:`L` from :math:`s_0 \sim \rho`, with
    :math:`\nabla_{\theta[s, \cdot]} \log\pi_\theta(a|s) = e_a - \pi_\theta(\cdot|s)`. The
    regulariser's own score term has mean zero and is dropped. The estimate is unbiased for
    :func:`policy_gradient` up to the truncation at :math:`L`, whose bias is at most
    :math:`\gamma^L L_{max}` entrywise, with :math:`L_{max}` bounding the truncated return.
    Williams (1992); Sutton et al. (2000), Thm 1. This is the kind of estimator that the
    stochastic PG analysed by Li et al. (2023) uses (theirs is two-phase; ours is plain).

    Parameters
    ----------
    mdp : TabularMDP
    theta : array, shape (S, A)
    rng : numpy Generator or int seed
    n_episodes, length : int >= 1
        :math:`N` and :math:`L`.
    tau : float >= 0
    initial : array, shape (S,), optional
        :math:`\rho`; the MDP's :math:`\mu_0` by default.

    Returns
    -------
    array, shape (S, A)

    Examples
    --------
    >>> mdp = goal_chain(3, 2, gamma=0.5)
    >>> est = sampled_policy_gradient(mdp, np.zeros((3, 3)), 0, 4000, 30)
    >>> exact = policy_gradient(mdp, np.zeros((3, 3))).gradient
    >>> bool(np.abs(est - exact).max() < 0.05)
    True
    """
    S, A = mdp.n_states, mdp.n_actions
    theta = check_array(theta, "theta", shape=(S, A))
    rng = as_rng(rng)
    n = check_integer(n_episodes, "n_episodes", minimum=1)
    L = check_integer(length, "length", minimum=1)
    tau = check_positive(tau, "tau", allow_zero=True)
    logpi = theta - logsumexp(theta, axis=1, keepdims=True)
    pi = np.exp(logpi)
    ro = _with_initial(mdp, initial).rollout(pi, rng, n, L)
    s, a = ro.states[:, :L], ro.actions
    rew = mdp.expected_rewards[s, a] - tau * (logpi[s, a] + np.log(A))
    g = mdp.gamma
    togo = np.zeros_like(rew)
    acc = np.zeros(n)
    for t in reversed(range(L)):
        acc = rew[:, t] + g * acc
        togo[:, t] = acc
    w = (g ** np.arange(L))[None, :] * togo          # gamma^t G_t, shape (n, L)
    grad = np.zeros((S, A))
    # sum_t w_t (e_{a_t} - pi(.|s_t)) accumulated per state.
    np.add.at(grad, (s.ravel(), a.ravel()), w.ravel())
    per_state = np.bincount(s.ravel(), weights=w.ravel(), minlength=S)
    grad -= per_state[:, None] * pi
    return grad / n


@dataclass(frozen=True, eq=False)
class PolicyGradientRun:
    r"""Result of :func:`softmax_pg_ascent`.

    Attributes
    ----------
    theta : array, shape (S, A)
        Final logits.
    policy : array, shape (S, A)
        :math:`\pi_\theta`.
    iterations : int
        Gradient steps taken (the first :math:`t` with :math:`J_\tau(\theta_t) \ge` ``target``,
        or ``max_iter``).
    converged : bool
        Whether ``target`` was reached (False: the run is censored at ``max_iter``).
    value : float
        :math:`J_\tau(\theta)` from the evaluation distribution, the certificate of the stop.
    target : float
        The value that counts as :math:`\epsilon`-optimal.
    """

    theta: np.ndarray
    policy: np.ndarray
    iterations: int
    converged: bool
    value: float
    target: float


def _pg_loop(P, r, gamma, tau, mu_grad, mu_eval, theta, lr, target, max_iter):
    """Exact softmax PG ascent (dense, small S): returns theta, iterations, converged, value."""
    S, A = r.shape
    eye = np.eye(S)
    logA = np.log(A)
    value = -np.inf
    for it in range(max_iter + 1):
        logpi = theta - logsumexp(theta, axis=1, keepdims=True)
        pi = np.exp(logpi)
        rr = r - tau * (logpi + logA) if tau > 0 else r
        Ppi = np.einsum("sa,sat->st", pi, P)
        V = np.linalg.solve(eye - gamma * Ppi, np.einsum("sa,sa->s", pi, rr))
        value = float(mu_eval @ V)
        if value >= target:
            return theta, it, True, value
        if it == max_iter:
            break
        Q = rr + gamma * (P @ V)
        d = np.linalg.solve(eye - gamma * Ppi.T, mu_grad)
        theta = theta + lr * np.maximum(d, 0.0)[:, None] * pi * (Q - V[:, None])
    return theta, max_iter, False, value


def softmax_pg_ascent(mdp: TabularMDP, theta0, lr: float, *, target: float, tau: float = 0.0,
                      initial=None, eval_initial=None, max_iter: int = 10_000
                      ) -> PolicyGradientRun:
    r"""Exact softmax policy-gradient ascent until the value reaches ``target``.

    .. math::
        \theta_{t+1} = \theta_t + \eta\, \nabla_\theta J_\tau(\theta_t; \rho), \qquad
        \text{stop at the first } t \text{ with } J_\tau(\theta_t; \mu_{eval}) \ge
        \text{target},

    with the exact gradient of :func:`policy_gradient` from the start distribution :math:`\rho`
    (``initial``; ROLLIN's :math:`\mu_k`) and the value measured from :math:`\mu_{eval}`
    (``eval_initial``; the task's own :math:`\mu`). Agarwal et al. (2021) (softmax PG);
    Mei et al. (2020) (entropy-regularised softmax PG).

    Parameters
    ----------
    mdp : TabularMDP
        Infinite-horizon, dense.
    theta0 : array, shape (S, A)
    lr : float > 0
        :math:`\eta`.
    target : float
        Stop once :math:`J_\tau(\theta_t; \mu_{eval})` reaches it (``inf``: run ``max_iter``
        steps).
    tau : float >= 0
        KL-to-uniform (entropy) weight.
    initial, eval_initial : array, shape (S,), optional
        :math:`\rho` and :math:`\mu_{eval}`; the MDP's :math:`\mu_0` by default.
    max_iter : int >= 0

    Returns
    -------
    PolicyGradientRun

    Examples
    --------
    >>> mdp = goal_chain(4, 3, gamma=0.9)
    >>> run = softmax_pg_ascent(mdp, np.zeros((4, 3)), lr=1.0, target=0.9 * 0.9**3 / 0.1)
    >>> run.converged, run.iterations
    (True, 5)
    """
    if mdp.horizon is not None:
        raise ValueError("softmax_pg_ascent needs an infinite-horizon MDP")
    S, A = mdp.n_states, mdp.n_actions
    theta = check_array(theta0, "theta0", shape=(S, A)).copy()
    lr = check_positive(lr, "lr")
    tau = check_positive(tau, "tau", allow_zero=True)
    target = float(check_array(target, "target", ndim=0, finite=False))
    if np.isnan(target):
        raise ValueError("target is nan, must be a number (inf runs max_iter steps)")
    max_iter = check_integer(max_iter, "max_iter", minimum=0)
    rho = mdp.initial if initial is None else check_distribution(initial, "initial", size=S)
    mu_eval = mdp.initial if eval_initial is None else check_distribution(
        eval_initial, "eval_initial", size=S)
    theta, it, conv, value = _pg_loop(mdp.dense_transitions(), mdp.expected_rewards, mdp.gamma,
                                      tau, rho, mu_eval, theta, lr, target, max_iter)
    pi = np.exp(theta - logsumexp(theta, axis=1, keepdims=True))
    return PolicyGradientRun(theta, pi, int(it), bool(conv), value, target)


# ---------------------------------------------------------------------------------- ROLLIN
@dataclass(frozen=True, eq=False)
class CurriculumResult:
    r"""Result of :func:`rollin` over a sequence of contexts.

    Attributes
    ----------
    stage_iterations : int array, shape (K,)
        Policy-gradient steps spent on each context.
    total_iterations : int
        Their sum (the complexity ROLLIN pays for the target).
    converged : bool array, shape (K,)
        Whether each stage reached :math:`\epsilon`-optimality within ``max_iter``.
    mismatch : array, shape (K,)
        :math:`\|d^{\pi^*_k}_\mu / \mu_k\|_\infty` of each stage (``inf`` when :math:`\mu_k`
        misses a visited state).
    theta : array, shape (S, A)
        Final logits (on the last context).
    policy : array, shape (S, A)
    beta : float
    """

    stage_iterations: np.ndarray
    total_iterations: int
    converged: np.ndarray
    mismatch: np.ndarray
    theta: np.ndarray
    policy: np.ndarray
    beta: float

    @property
    def all_converged(self) -> bool:
        """Whether every stage reached its target (False means the total is censored)."""
        return bool(np.all(self.converged))


def rollin(contexts: Sequence[TabularMDP], beta: float, lr: float, *, tau: float = 0.01,
           eps: float = 0.1, max_iter: int = 10_000, theta0=None) -> CurriculumResult:
    r"""ROLLIN: warm-started exact policy gradient over a curriculum of contexts.

    For :math:`k = 0, \dots, K-1`: start from the previous logits, set
    :math:`\mu_k = \beta\, d^{\pi^*_{k-1}}_\mu + (1-\beta)\mu` (:math:`\mu_0 = \mu`), and run
    :func:`softmax_pg_ascent` on context :math:`k` from :math:`\mu_k` until

    .. math::
        J_\tau^{(k)}(\theta; \mu) \ge J_\tau^{(k)*}(\mu) - \epsilon\, J^{(k)*}(\mu),

    i.e. :math:`\epsilon`-optimal, relative to the unregularised optimum, from the task's own
    :math:`\mu`. :math:`\pi^*_{k-1}` is the exact soft-optimal policy of context :math:`k-1`
    (:meth:`~prefrl.mdp.TabularMDP.soft_solve`). With :math:`\beta = 0` this is a plain
    warm-started curriculum; with one context, learning from scratch. Li et al. (2023), ROLLIN
    (our exact-gradient reading; the paper uses stochastic two-phase PG).

    Parameters
    ----------
    contexts : sequence of TabularMDP
        Same dynamics and :math:`\mu`; the last one is the target.
    beta : float in [0, 1]
    lr : float > 0
    tau : float > 0
        Entropy (KL-to-uniform) weight.
    eps : float > 0
        Relative suboptimality that counts as solved.
    max_iter : int >= 0
        Cap per stage.
    theta0 : array, shape (S, A), optional
        Initial logits (zeros: the uniform policy).

    Returns
    -------
    CurriculumResult

    Examples
    --------
    >>> ctx = [goal_chain(6, g) for g in range(1, 6)]
    >>> res = rollin(ctx, beta=0.5, lr=1.0)
    >>> res.all_converged, int(res.total_iterations)
    (True, 56)
    """
    contexts = list(contexts)
    if not contexts:
        raise ValueError("contexts must not be empty")
    first = contexts[0]
    S, A = first.n_states, first.n_actions
    for i, m in enumerate(contexts):
        if not isinstance(m, TabularMDP):
            raise TypeError(f"contexts[{i}] must be a TabularMDP, got {type(m).__name__}")
        if (m.n_states, m.n_actions) != (S, A) or m.gamma != first.gamma or not np.array_equal(
                m.initial, first.initial) or not np.array_equal(m.dense_transitions(),
                                                               first.dense_transitions()):
            raise ValueError(f"contexts[{i}] must share the dynamics, gamma and mu of contexts[0]")
    beta = check_probability(beta, "beta")
    tau = check_positive(tau, "tau")
    eps = check_positive(eps, "eps")
    theta = np.zeros((S, A)) if theta0 is None else check_array(theta0, "theta0", shape=(S, A))
    mu = first.initial
    iters, conv, mism = [], [], []
    prev = None
    for m in contexts:
        mu_k = mu if prev is None else rollin_initial(m, prev, beta, mu)
        soft = m.soft_solve(tau)
        target = float(mu @ soft.values) - eps * abs(float(mu @ m.solve().values))
        run = softmax_pg_ascent(m, theta, lr, target=target, tau=tau, initial=mu_k,
                                eval_initial=mu, max_iter=max_iter)
        theta = run.theta
        iters.append(run.iterations)
        conv.append(run.converged)
        mism.append(mismatch_coefficient(m, soft.policy, mu_k, mu))
        prev = soft.policy
    pi = np.exp(theta - logsumexp(theta, axis=1, keepdims=True))
    return CurriculumResult(np.array(iters), int(np.sum(iters)), np.array(conv),
                            np.array(mism), theta, pi, beta)


# ---------------------------------------------------------------------------------- eva
# Ye, Agarwal, Liu, Joshi, Velury, Le, Tan and Liu (2024), "Evolving Alignment via Asymmetric
# Self-Play" (eva, arXiv 2411.00062), as an exact contextual-bandit curriculum: contexts are the
# prompts, a creator reweights them by an informativeness proxy of the solver's regret, and the
# solver takes exact KL-regularised policy-gradient steps under the creator's weights.


_EVA_KINDS = ("max-min", "max-mean", "regret")


def _check_bandit_pair(policy, rewards, policy_name: str = "policy"):

    rewards = check_array(rewards, "rewards", ndim=2)
    policy = check_array(policy, policy_name, ndim=2)
    if policy.shape != rewards.shape:
        raise ValueError(f"{policy_name} must have the shape of rewards {rewards.shape}, "
                         f"got {policy.shape}")
    return check_stochastic_matrix(policy, policy_name), rewards


def _sorted_gaps(policy: np.ndarray, rewards: np.ndarray):
    """Gaps between sorted rewards and the lower / upper tail masses at each gap.

    With the rewards of context x sorted, v_0 <= ... <= v_{K-1}, returns (gaps, F, G), each of shape
    (X, K-1): gaps[j] = v_{j+1} - v_j, F[j] = Pr(r(Y) <= v_j) summed over the sorted positions <= j
    and G[j] = Pr over positions > j, both summed directly (no 1 - F cancellation). Ties give zero gaps.
    """
    order = np.argsort(rewards, axis=1, kind="stable")
    v = np.take_along_axis(rewards, order, axis=1)
    p = np.take_along_axis(policy, order, axis=1)
    F = np.clip(np.cumsum(p, axis=1)[:, :-1], 0.0, 1.0)
    G = np.clip(np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:], 0.0, 1.0)
    return np.diff(v, axis=1), F, G


def _one_minus_pow(F: np.ndarray, G: np.ndarray, n: int) -> np.ndarray:
    """1 - F**n with G = 1 - F given separately, accurate for F near 1 (G small) and F small."""
    with np.errstate(divide="ignore"):
        via_g = -np.expm1(n * np.log1p(-np.minimum(G, 1.0)))
    return np.where(G <= 0.5, via_g, 1.0 - F**n)


def _expected_proxies(policy: np.ndarray, rewards: np.ndarray, n: int) -> dict:
    """Exact expectations of the three proxies for n iid draws (order statistics), per context."""
    gaps, F, G = _sorted_gaps(policy, rewards)
    # E[max] = v_max - sum_j gap_j F_j^n ;  E[min] = v_min + sum_j gap_j G_j^n ;  E[r] is n = 1.
    # max - min: sum_j gap_j (1 - F_j^n - G_j^n), written so that each term keeps its sign.
    maxmin = np.where(F <= G, _one_minus_pow(G, F, n) - F**n, _one_minus_pow(F, G, n) - G**n)
    if n == 1:  # one draw: max = min exactly (1 - F - G is 0 only up to the rows' rounding)
        maxmin = np.zeros_like(F)
    # max - mean: sum_j gap_j (F_j - F_j^n) = sum_j gap_j F_j (1 - F_j^(n-1)).
    maxmean = F * _one_minus_pow(F, G, n - 1) if n > 1 else np.zeros_like(F)
    # Rounding can leave -1e-17 where the exact term is 0; every term is >= 0 in exact arithmetic.
    return {"max-min": np.sum(gaps * np.maximum(maxmin, 0.0), axis=1),
            "max-mean": np.sum(gaps * np.maximum(maxmean, 0.0), axis=1),
            "regret": np.sum(gaps * F, axis=1)}


def context_regret(policy, rewards) -> np.ndarray:
    r"""The solver's regret at every context of a contextual bandit.

    .. math::
        \mathrm{Regret}(x, \pi) = \max_{y} r(x, y) - \mathbb{E}_{y \sim \pi(\cdot|x)} r(x, y)
        = \sum_{j=0}^{K-2} \big(v_{j+1}(x) - v_j(x)\big)\, \Pr_{y \sim \pi(\cdot|x)}
        \big(r(x, y) \le v_j(x)\big),

    with :math:`r(x, y)` the reward of response :math:`y` to context (prompt) :math:`x`,
    :math:`\pi(\cdot|x)` the solver's policy and :math:`v_0(x) \le \dots \le v_{K-1}(x)` the
    rewards of context :math:`x` sorted. The second form (summation by parts) is how it is
    computed: every term is nonnegative, so a nearly greedy policy gets its small regret without
    cancellation. Ye et al. (2024), "Evolving Alignment via Asymmetric Self-Play" (eva, arXiv
    2411.00062), the regret in the creator-solver game, Sec. 3.

    Parameters
    ----------
    policy : array, shape (X, K)
        :math:`\pi(y|x)`, rows are distributions.
    rewards : array, shape (X, K)
        :math:`r(x, y)`.

    Returns
    -------
    array, shape (X,), nonnegative

    Examples
    --------
    >>> context_regret([[0.5, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]])
    array([0.5, 2. ])
    """
    policy, rewards = _check_bandit_pair(policy, rewards)
    return _expected_proxies(policy, rewards, 1)["regret"]


def _sample_proxies(policy: np.ndarray, rewards: np.ndarray, n: int, kind: str,
                    rng: np.random.Generator) -> np.ndarray:
    X = policy.shape[0]
    cum = np.cumsum(policy, axis=1)
    cum = cum / cum[:, -1:]            # the last entry is exactly 1, so u < 1 picks an index < K
    u = rng.random((X, n))
    # Inverse CDF: action k when cum[k-1] <= u < cum[k]; zero-probability actions never appear.
    idx = np.sum(cum[:, None, :] <= u[:, :, None], axis=2)
    r = np.take_along_axis(rewards, idx, axis=1)
    if kind == "max-min":
        return r.max(axis=1) - r.min(axis=1)
    if kind == "max-mean":
        return np.maximum(r.max(axis=1) - r.mean(axis=1), 0.0)
    return np.maximum(rewards.max(axis=1) - r.mean(axis=1), 0.0)


def _check_kind(kind) -> str:
    if kind not in _EVA_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _EVA_KINDS))}, got {kind!r}")
    return kind


def informativeness(policy, rewards, n_samples: int, kind: str = "max-min", rng=None, *,
                    exact: bool = False) -> np.ndarray:
    r"""eva's informativeness proxy of a context: the spread of rewards among sampled responses.

    For each context :math:`x`, draw :math:`N` responses :math:`y_1, \dots, y_N` iid from
    :math:`\pi(\cdot|x)` and score them with the reward :math:`r(x, \cdot)`:

    .. math::
        \text{max-min}:\ \max_i r(x, y_i) - \min_i r(x, y_i), \qquad
        \text{max-mean}:\ \max_i r(x, y_i) - \frac{1}{N}\sum_i r(x, y_i), \qquad
        \text{regret}:\ \max_y r(x, y) - \frac{1}{N}\sum_i r(x, y_i).

    The first two see only the sampled responses (the paper's reward-advantage proxies); the
    third uses the true best response, which the bandit knows, and is an unbiased estimate of
    :func:`context_regret`. With ``exact=True`` the expectation over the :math:`N` draws is
    returned instead, from the order statistics of a categorical distribution: with
    :math:`v_0 \le \dots \le v_{K-1}` the sorted rewards of :math:`x`, :math:`\Delta_j =
    v_{j+1} - v_j`, :math:`F_j = \Pr(r(x, y) \le v_j)` and :math:`G_j = 1 - F_j`,

    .. math::
        \mathbb{E}[\max_i r] = v_{K-1} - \sum_j \Delta_j F_j^N, \quad
        \mathbb{E}[\min_i r] = v_0 + \sum_j \Delta_j G_j^N, \quad
        \mathbb{E}[\text{max-min}] = \sum_j \Delta_j (1 - F_j^N - G_j^N), \quad
        \mathbb{E}[\text{max-mean}] = \sum_j \Delta_j (F_j - F_j^N), \quad
        \mathbb{E}[\text{regret}] = \sum_j \Delta_j F_j .

    Each term is nonnegative. Hence, for :math:`N \ge 2`, the expected max-min proxy of
    :math:`x` is 0 exactly when :math:`r(x, \cdot)` is constant on the support of
    :math:`\pi(\cdot|x)` (in particular when :math:`\pi(\cdot|x)` is deterministic) and positive
    otherwise (barring underflow below the normal float range); for :math:`N = 1` both
    sample-only proxies are 0. Also
    :math:`\mathbb{E}[\text{max-mean}]` increases with :math:`N` to the regret.
    Ye et al. (2024), eva (arXiv 2411.00062), Sec. 3 (informativeness); which proxy is the
    paper's default is not verified here (the project's notes mark it [?]).

    Parameters
    ----------
    policy : array, shape (X, K)
        The solver :math:`\pi(y|x)`.
    rewards : array, shape (X, K)
        The reward model :math:`r(x, y)`.
    n_samples : int >= 1
        :math:`N`, responses per context.
    kind : {"max-min", "max-mean", "regret"}
    rng : numpy Generator or int seed
        Needed unless ``exact``.
    exact : bool
        Return the expectation over the draws instead of one draw.

    Returns
    -------
    array, shape (X,), nonnegative

    Examples
    --------
    >>> pi, r = [[0.5, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]]
    >>> informativeness(pi, r, 2, "max-min", exact=True)          # 1 - 0.5**2 - 0.5**2
    array([0.5, 0. ])
    >>> informativeness(pi, r, 3, "regret", rng=0).round(4)
    array([0.3333, 2.    ])
    """
    policy, rewards = _check_bandit_pair(policy, rewards)
    n = check_integer(n_samples, "n_samples", minimum=1)
    kind = _check_kind(kind)
    if exact:
        return _expected_proxies(policy, rewards, n)[kind]
    if rng is None:
        raise ValueError("rng must be a numpy Generator or a seed when exact is False")
    return _sample_proxies(policy, rewards, n, kind, as_rng(rng))


def creator_weights(info, temperature: float = 1.0, buffer_mix: float = 0.0) -> np.ndarray:
    r"""eva's creator: a distribution over contexts proportional to tempered informativeness.

    .. math::
        q(x) = (1 - \lambda)\, \frac{\iota(x)^{1/T}}{\sum_{x'} \iota(x')^{1/T}}
        + \lambda\, \frac{1}{X},

    with :math:`\iota(x) \ge 0` the informativeness of context :math:`x` (:func:`informativeness`),
    :math:`T > 0` the temperature (:math:`T = 1`: proportional; :math:`T \to 0`: uniform on the
    most informative contexts, the creator's best response; :math:`T \to \infty`: uniform on the
    contexts with :math:`\iota > 0`), :math:`\lambda \in [0, 1]` the share of the buffer (the
    fixed prompt set, uniform) and :math:`X` the number of contexts. When every
    :math:`\iota(x) = 0` the first part is uniform too. Computed in log space. Monotone: for
    :math:`\lambda < 1` and some :math:`\iota > 0`, :math:`\iota(x) > \iota(x')` implies
    :math:`q(x) > q(x')` (unless the first part underflows) and :math:`\iota(x) = \iota(x')`
    implies :math:`q(x) = q(x')`. Ye et al. (2024), eva, Sec. 3 (sample prompts in proportion to
    informativeness, then mix with a buffer); the power tempering and the uniform buffer are ours.

    Parameters
    ----------
    info : array, shape (X,)
        :math:`\iota`, nonnegative.
    temperature : float > 0
        :math:`T`.
    buffer_mix : float in [0, 1]
        :math:`\lambda`.

    Returns
    -------
    array, shape (X,), sums to 1

    Examples
    --------
    >>> creator_weights([3.0, 1.0, 0.0])
    array([0.75, 0.25, 0.  ])
    >>> creator_weights([3.0, 1.0, 0.0], temperature=0.5, buffer_mix=0.3).round(4)
    array([0.73, 0.17, 0.1 ])
    """
    info = check_array(info, "info", ndim=1)
    neg = info < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise ValueError(f"info[{i}] = {info[i]:.6g}, must be >= 0")
    T = check_positive(temperature, "temperature")
    lam = check_probability(buffer_mix, "buffer_mix")
    X = info.shape[0]
    if np.all(info == 0):
        return np.full(X, 1.0 / X)
    with np.errstate(divide="ignore"):
        # Relative to the largest entry before dividing by T: z <= 0 with max 0, so a large
        # |log iota| / T cannot cost digits in the normalisation.
        z = (np.log(info) - np.log(info.max())) / T
    w = np.exp(z - logsumexp(z))
    return (1.0 - lam) * w + lam / X


def _log_policy(theta: np.ndarray) -> np.ndarray:
    return theta - logsumexp(theta, axis=1, keepdims=True)


def _regularised_values(log_pi, rewards, log_ref, beta):
    """J_x(pi) = E_pi r - beta KL(pi || pi_ref) per context; supports where log_pi = -inf drop."""
    pi = np.exp(log_pi)
    on = pi > 0
    ratio = np.where(on, log_pi - np.where(on, log_ref, 0.0), 0.0)
    return np.sum(np.where(on, pi * (rewards - beta * ratio), 0.0), axis=1)


def _solver_gradient(theta, rewards, log_ref, beta, q):
    r"""Exact gradient of sum_x q(x) J_x(softmax(theta[x])) with respect to the logits."""
    log_pi = _log_policy(theta)
    pi = np.exp(log_pi)
    on = pi > 0
    g = np.where(on, rewards - beta * (log_pi - np.where(on, log_ref, 0.0)), 0.0)
    adv = g - np.sum(pi * g, axis=1, keepdims=True)
    return q[:, None] * pi * adv


@dataclass(frozen=True, eq=False)
class EvaResult:
    r"""Result of :func:`eva`.

    Attributes
    ----------
    policy : array, shape (X, K)
        The solver after the last round.
    value : float
        :math:`\frac{1}{X}\sum_x J_x(\pi)`, the KL-regularised objective
        :math:`J_x(\pi) = \mathbb{E}_\pi r(x, \cdot) - \beta\,\mathrm{KL}(\pi(\cdot|x) \| \pi_{ref}(\cdot|x))`
        averaged uniformly over the fixed prompt set.
    iterations : int
        Solver gradient steps in all (``rounds * solver_steps``), the compute.
    certificate : float
        :math:`\max_x \big(V^*_x - J_x(\pi)\big) \ge 0`, the largest gap to the KL-regularised
        optimum :math:`V^*_x = \beta \log \sum_y \pi_{ref}(y|x) e^{r(x, y)/\beta}`.
    policies : array, shape (rounds + 1, X, K)
        The solver at the start of every round and at the end.
    weights : array, shape (rounds, X)
        The creator's distribution over contexts in every round.
    informativeness : array, shape (rounds, X), or None
        The proxy the creator saw (None for the uniform creator).
    regret : array, shape (rounds + 1, X)
        :func:`context_regret` of ``policies``.
    average_regret, worst_regret : array, shape (iterations + 1,)
        :math:`\frac1X\sum_x \mathrm{Regret}(x, \pi_t)` and :math:`\max_x \mathrm{Regret}(x, \pi_t)`
        after every solver step :math:`t` (entry 0: :math:`\pi_{ref}`).
    """

    policy: np.ndarray
    value: float
    iterations: int
    certificate: float
    policies: np.ndarray
    weights: np.ndarray
    informativeness: np.ndarray | None
    regret: np.ndarray
    average_regret: np.ndarray
    worst_regret: np.ndarray


def eva(rewards, pi_ref, beta: float, *, rounds: int, creator: str = "informativeness",
        kind: str = "max-min", temperature: float = 1.0, solver_steps: int = 10,
        lr: float = 1.0, n_samples: int = 8, buffer_mix: float = 0.25, exact: bool = False,
        rng=None) -> EvaResult:
    r"""eva's creator-solver loop on a contextual bandit, with an exact policy-gradient solver.

    Round :math:`t = 0, \dots, R-1`:

    1. the creator estimates the informativeness :math:`\iota_t(x)` of every context under the
       current solver :math:`\pi_t` (:func:`informativeness`: ``n_samples`` draws, or their
       expectation with ``exact``);
    2. it sets the context distribution :math:`q_t = ` :func:`creator_weights`
       :math:`(\iota_t, T, \lambda)`, or :math:`q_t` uniform for ``creator="uniform"``;
    3. the solver takes ``solver_steps`` exact gradient-ascent steps on the logits :math:`\theta`
       (initialised at :math:`\log\pi_{ref}`) of

    .. math::
        \mathcal{J}_{q_t}(\theta) = \sum_x q_t(x) \Big[\mathbb{E}_{y \sim \pi_\theta(\cdot|x)}
        r(x, y) - \beta\, \mathrm{KL}\big(\pi_\theta(\cdot|x) \,\|\, \pi_{ref}(\cdot|x)\big)\Big],
        \qquad
        \frac{\partial \mathcal{J}_{q}}{\partial \theta[x, y]} = q(x)\, \pi_\theta(y|x)
        \big(g(x, y) - \mathbb{E}_{\pi_\theta} g(x, \cdot)\big),

    with :math:`g(x, y) = r(x, y) - \beta \log(\pi_\theta(y|x)/\pi_{ref}(y|x))`. The solver's loss
    is the KL-regularised RL objective in expectation (what RLOO estimates), not DPO. Both
    creators spend the same compute: ``solver_steps`` steps per round with a gradient whose
    context weights sum to 1. The creator plays the inner player of eva's minimax-regret game
    :math:`\min_\pi \max_{q} \mathbb{E}_{x \sim q} \mathrm{Regret}(x, \pi)` (for fixed
    :math:`\pi` the inner maximum is :math:`\max_x \mathrm{Regret}(x, \pi)`, attained at a point
    mass, since the objective is linear in :math:`q`); proxy, tempering and buffer soften its best
    response.

    **The bandit analogue.** eva's creator *evolves* prompts (an LLM rewrites the informative
    ones into new prompts). Here the prompt set is fixed and the creator only *reweights* it;
    there is no rewriting step. Ye et al. (2024), "Evolving Alignment via Asymmetric Self-Play"
    (arXiv 2411.00062), Sec. 3 and Alg. 1 (estimate, sample, evolve, mix with buffer, solve).

    Parameters
    ----------
    rewards : array, shape (X, K)
        :math:`r(x, y)`.
    pi_ref : array, shape (X, K)
        Reference (initial) policy, rows are distributions.
    beta : float > 0
        KL weight.
    rounds : int >= 1
        :math:`R`.
    creator : {"informativeness", "uniform"}
    kind : {"max-min", "max-mean", "regret"}
        The proxy (:func:`informativeness`).
    temperature : float > 0
        :math:`T` of :func:`creator_weights`.
    solver_steps : int >= 1
        Gradient steps per round.
    lr : float > 0
        Step size.
    n_samples : int >= 1
        Responses per context for the proxy.
    buffer_mix : float in [0, 1]
        :math:`\lambda`, the uniform (buffer) share of the creator's distribution.
    exact : bool
        Use the proxy's expectation instead of a sampled value.
    rng : numpy Generator or int seed
        Needed for the informativeness creator unless ``exact``.

    Returns
    -------
    EvaResult

    Examples
    --------
    >>> r = [[1.0, 0.0], [1.0, 0.0]]
    >>> ref = [[0.9, 0.1], [0.1, 0.9]]              # context 1 is hard: its best response is rare
    >>> res = eva(r, ref, 0.05, rounds=3, kind="regret", exact=True, buffer_mix=0.0)
    >>> res.weights.round(3)              # proportional to the regret of each context
    array([[0.1  , 0.9  ],
           [0.206, 0.794],
           [0.455, 0.545]])
    >>> uni = eva(r, ref, 0.05, rounds=3, creator="uniform")
    >>> bool(res.worst_regret[-1] < uni.worst_regret[-1])
    True
    """
    pi_ref, rewards = _check_bandit_pair(pi_ref, rewards, "pi_ref")
    beta = check_positive(beta, "beta")
    rounds = check_integer(rounds, "rounds", minimum=1)
    if creator not in ("informativeness", "uniform"):
        raise ValueError(f"creator must be 'informativeness' or 'uniform', got {creator!r}")
    kind = _check_kind(kind)
    T = check_positive(temperature, "temperature")
    steps = check_integer(solver_steps, "solver_steps", minimum=1)
    lr = check_positive(lr, "lr")
    n = check_integer(n_samples, "n_samples", minimum=1)
    lam = check_probability(buffer_mix, "buffer_mix")
    sampled = creator == "informativeness" and not exact
    if sampled and rng is None:
        raise ValueError("rng must be a numpy Generator or a seed for the informativeness "
                         "creator with exact=False")
    gen = as_rng(rng) if sampled else None
    X = rewards.shape[0]
    with np.errstate(divide="ignore"):
        log_ref = np.log(pi_ref)
    theta = log_ref.copy()
    uniform = np.full(X, 1.0 / X)
    policies, weights, infos, regrets = [], [], [], []
    avg, worst = [], []

    def record_regret(th):
        reg = _expected_proxies(np.exp(_log_policy(th)), rewards, 1)["regret"]
        avg.append(float(reg.mean()))
        worst.append(float(reg.max()))
        return reg

    regrets.append(record_regret(theta))
    for _ in range(rounds):
        pi = np.exp(_log_policy(theta))
        policies.append(pi)
        if creator == "uniform":
            q = uniform
        else:
            info = (_expected_proxies(pi, rewards, n)[kind] if exact
                    else _sample_proxies(pi, rewards, n, kind, gen))
            infos.append(info)
            q = creator_weights(info, T, lam)
        weights.append(q)
        for _ in range(steps):
            theta = theta + lr * _solver_gradient(theta, rewards, log_ref, beta, q)
            reg = record_regret(theta)
        regrets.append(reg)
    log_pi = _log_policy(theta)
    pi = np.exp(log_pi)
    policies.append(pi)
    J = _regularised_values(log_pi, rewards, log_ref, beta)
    with np.errstate(divide="ignore"):
        V = beta * logsumexp(log_ref + rewards / beta, axis=1)
    return EvaResult(
        policy=pi, value=float(J.mean()), iterations=rounds * steps,
        certificate=float(max(np.max(V - J), 0.0)), policies=np.array(policies),
        weights=np.array(weights), informativeness=np.array(infos) if infos else None,
        regret=np.array(regrets), average_regret=np.array(avg), worst_regret=np.array(worst))


__all__ += ["EvaResult", "context_regret", "creator_weights", "eva", "informativeness"]
