r"""Softmax policy gradients from a chosen start distribution (exact, sampled) and exact PG ascent.

The learner of ROLLIN (Li, Zhai, Ma and Levine 2023, "Understanding the Complexity Gains of
Single-Task RL with a Curriculum", ICML 2023) is policy gradient on a tabular softmax policy
:math:`\pi_\theta(a|s) \propto e^{\theta[s, a]}`, started from a distribution :math:`\rho` that is
not the task's own. This file holds that learner:

- :func:`policy_gradient`: the exact gradient :math:`d^{\pi_\theta}_\rho(s, a)\, A_\tau(s, a)` of
  the entropy-regularised objective from :math:`\rho` (policy-gradient theorem: Sutton, McAllester,
  Singh and Mansour 2000, "Policy Gradient Methods for Reinforcement Learning with Function
  Approximation", Thm 1; softmax form: Agarwal, Kakade, Lee and Mahajan 2021, "On the Theory of
  Policy Gradient Methods", Lemma C.1; entropy-regularised: Mei, Xiao, Szepesvári and Schuurmans
  2020, "On the Global Convergence Rates of Softmax Policy Gradient Methods", Lemma 10), through
  :func:`prefrl.mdp.softmax_policy_gradient`;
- :func:`sampled_policy_gradient`: its REINFORCE (reward-to-go) Monte-Carlo estimate (Williams
  1992, "Simple Statistical Gradient-Following Algorithms for Connectionist Reinforcement
  Learning");
- :func:`softmax_pg_ascent` and its result :class:`PolicyGradientRun`: exact gradient ascent until
  the value from an evaluation distribution reaches a target.

What is ours: the exact (rather than stochastic, two-phase) gradient and the stopping rule; the
paper's own learner is not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._deprecation import renamed_parameters
from .._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_integer,
    check_positive,
)
from ..mdp import PolicyGradient, TabularMDP, softmax_policy_gradient
from ..mdp.envs import goal_chain  # noqa: F401  (used by the examples)
from ..results import Result

__all__ = [
    "PolicyGradientRun",
    "policy_gradient",
    "sampled_policy_gradient",
    "softmax_pg_ascent",
]


def _with_initial(mdp: TabularMDP, initial) -> TabularMDP:
    """The same MDP started from ``initial`` (the MDP itself when None)."""
    if initial is None:
        return mdp
    mu = check_distribution(initial, "initial", size=mdp.n_states)
    return TabularMDP(mdp.transitions, mdp.rewards, mdp.gamma, mu, mdp.horizon,
                      state_labels=mdp.state_labels, action_labels=mdp.action_labels)


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
        Required (the estimate always samples).
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
class PolicyGradientRun(Result):
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
        :math:`J_\tau(\theta)` from the evaluation distribution.
    target : float
        The value that counts as :math:`\epsilon`-optimal.
    certificate : float (property)
        The residual of the stopping condition :math:`J_\tau(\theta) \ge` ``target`` at the
        returned point, :math:`\max(\text{target} - J_\tau(\theta), 0)`: 0 exactly when
        ``converged``.
    """

    theta: np.ndarray
    policy: np.ndarray
    iterations: int
    converged: bool
    value: float
    target: float

    @property
    def certificate(self) -> float:
        """``max(target - value, 0)``, the shortfall from the target (0 when converged)."""
        return max(self.target - self.value, 0.0)


def _pg_loop(P, r, gamma, tau, mu_grad, mu_eval, theta, lr, target, max_iter):
    """Exact softmax PG ascent (dense, small S): returns theta, iterations, converged, value.

    A fast path kept for speed: it evaluates the policy by hand instead of through
    :meth:`prefrl.mdp.TabularMDP.evaluate` and :meth:`~prefrl.mdp.TabularMDP.occupancy`, because
    the regularised reward changes at every step, and building a TabularMDP per step (validation
    of P, a refined solve) makes a step about three times slower; the ROLLIN figure takes about
    170,000 steps. Each step is :func:`policy_gradient`'s gradient, as the theorem check
    ``curriculum.rollin_policy_gradient_equals_finite_differences`` verifies.
    """
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


@renamed_parameters(theta0="init")
def softmax_pg_ascent(mdp: TabularMDP, init, lr: float, *, target: float, tau: float = 0.0,
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
    init : array, shape (S, A)
        Initial logits :math:`\theta_0` (``theta0`` is its deprecated name).
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
    theta = check_array(init, "init", shape=(S, A)).copy()
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
    return PolicyGradientRun(theta=theta, policy=pi, iterations=int(it), converged=bool(conv),
                             value=value, target=target)
