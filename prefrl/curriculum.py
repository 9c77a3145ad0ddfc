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
)
from .mdp import PolicyGradient, TabularMDP, softmax_policy_gradient

__all__ = [
    "CurriculumResult",
    "PolicyGradientRun",
    "discounted_state_distribution",
    "goal_chain",
    "mismatch_coefficient",
    "policy_gradient",
    "rollin",
    "rollin_initial",
    "sampled_policy_gradient",
    "softmax_pg_ascent",
]


# ---------------------------------------------------------------------------------- environments
def goal_chain(n: int, goal: int, *, reset: bool = True, gamma: float = 0.9) -> TabularMDP:
    r"""A chain of ``n`` states whose context is the goal: reward 1 while at ``goal``.

    Actions are back (to state 0 when ``reset``, a combination-lock-style reset; else one step
    left), stay, forward (one step right, the last state stays); the start is state 0. Only the
    reward depends on the context, as in Li et al. (2023):

    .. math::
        P[s, \text{back}] = \delta_{0 \text{ or } \max(s-1, 0)}, \quad
        P[s, \text{stay}] = \delta_s, \quad
        P[s, \text{fwd}] = \delta_{\min(s+1, n-1)}, \quad
        r_g(s, a) = \mathbb{1}[s = g], \quad \mu = \delta_0 .

    A uniformly random policy reaches state :math:`n-1` with probability exponentially small in
    :math:`n` (with ``reset``), so policy gradient from scratch is slow; the optimal policy goes
    forward to :math:`g` and stays, with :math:`J^* = \gamma^g / (1 - \gamma)`. Our construction.

    Parameters
    ----------
    n : int >= 2
    goal : int in [0, n)
    reset : bool
    gamma : float in [0, 1)

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> mdp = goal_chain(4, 3, gamma=0.5)
    >>> float(mdp.solve().values[0].round(6)), mdp.action_labels      # gamma^3 / (1 - gamma)
    (0.25, ('back', 'stay', 'forward'))
    """
    n = check_integer(n, "n", minimum=2)
    goal = check_integer(goal, "goal", minimum=0)
    if goal >= n:
        raise ValueError(f"goal must be < n = {n}, got {goal}")
    P = np.zeros((n, 3, n))
    s = np.arange(n)
    P[s, 0, 0 if reset else np.maximum(s - 1, 0)] = 1.0
    P[s, 1, s] = 1.0
    P[s, 2, np.minimum(s + 1, n - 1)] = 1.0
    r = np.zeros((n, 3))
    r[goal] = 1.0
    mu = np.zeros(n)
    mu[0] = 1.0
    return TabularMDP(P, r, gamma, mu, action_labels=("back", "stay", "forward"))


# ---------------------------------------------------------------------------------- distributions
def _with_initial(mdp: TabularMDP, initial) -> TabularMDP:
    if initial is None:
        return mdp
    mu = check_distribution(initial, "initial", size=mdp.n_states)
    return TabularMDP(mdp.transitions, mdp.rewards, mdp.gamma, mu, mdp.horizon,
                      state_labels=mdp.state_labels, action_labels=mdp.action_labels)


def discounted_state_distribution(mdp: TabularMDP, policy, initial=None) -> np.ndarray:
    r"""The normalised discounted state distribution :math:`d^\pi_\rho`.

    .. math::
        d^\pi_\rho(s) = (1 - \gamma) \sum_{t \ge 0} \gamma^t \Pr(s_t = s \mid s_0 \sim \rho, \pi)
        = (1 - \gamma)\, \big[\rho^\top (I - \gamma P_\pi)^{-1}\big](s).

    Agarwal, Kakade, Lee and Mahajan (2021), "On the Theory of Policy Gradient Methods" (JMLR),
    the discounted state visitation distribution.

    Parameters
    ----------
    mdp : TabularMDP
        Infinite-horizon.
    policy : array, shape (S, A)
    initial : array, shape (S,), optional
        :math:`\rho`; the MDP's :math:`\mu_0` by default.

    Returns
    -------
    array, shape (S,), sums to 1

    Examples
    --------
    >>> mdp = goal_chain(3, 2, gamma=0.5)
    >>> discounted_state_distribution(mdp, np.array([2, 2, 1]))     # always forward
    array([0.5 , 0.25, 0.25])
    """
    if mdp.horizon is not None:
        raise ValueError("discounted_state_distribution needs an infinite-horizon MDP")
    occ = mdp.occupancy(policy, initial)
    return (1.0 - mdp.gamma) * occ.sum(axis=1)


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
