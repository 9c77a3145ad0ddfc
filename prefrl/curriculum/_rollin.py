r"""ROLLIN: a curriculum of contexts, each learned from a mixture of the previous optimum's states.

Li, Zhai, Ma and Levine (2023), "Understanding the Complexity Gains of Single-Task RL with a
Curriculum" (ICML 2023, arXiv 2212.12809), study a family of MDPs :math:`M(\omega)` that share their
dynamics and differ in the reward. A curriculum :math:`\omega_0 \to \dots \to \omega_K` ends at the
hard target task. ROLLIN warm-starts the policy of each context from the previous one and runs
policy gradient from the start distribution

.. math::
    \mu_k = \beta\, d^{\pi^*_{k-1}}_\mu + (1 - \beta)\, \mu

(:func:`rollin_initial`; the paper's mixing weight :math:`\beta` is the keyword ``mixing``), a
mixture of the previous optimal policy's discounted state distribution and the original
:math:`\mu`. What drives policy-gradient complexity is the distribution-mismatch coefficient
:math:`\|d^{\pi^*}_\mu / \mu_k\|_\infty` (:func:`mismatch_coefficient`; Agarwal, Kakade, Lee and
Mahajan 2021, "On the Theory of Policy Gradient Methods", Lemma 4.1; Mei, Xiao, Szepesvári and
Schuurmans 2020). :func:`rollin` runs the curriculum and returns a :class:`CurriculumResult`.

**What is ours.** The start distribution above is this project's formalisation of the paper's
algorithm. The paper uses a stochastic, two-phase
entropy-regularised policy gradient and robotic goal-reaching tasks. Here the policy gradient is
exact (entropy-regularised, tabular softmax; :func:`softmax_pg_ascent`), the contexts are goals on
a chain (:func:`prefrl.mdp.envs.goal_chain`) and the rollin policy is the exact soft-optimal
policy of the previous context. The paper's bounds and constants are not reproduced, and neither
is its mechanism: in the ``curriculum_rollin_scaling`` figure's chains ROLLIN's mismatch
coefficient stays astronomically large (the new goal state gets a tiny share of
:math:`\mu_k`), so the exact-gradient proxy reproduces the iteration gap, not the bounded
distribution mismatch through which the paper explains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import logsumexp

from .._deprecation import renamed_parameters
from .._validation import (
    check_array,
    check_distribution,
    check_positive,
    check_probability,
)
from ..mdp import TabularMDP
from ..mdp.envs import goal_chain  # noqa: F401  (used by the examples)
from ..mdp.occupancy import discounted_state_distribution
from ..results import Result
from ._policy_gradient import softmax_pg_ascent

__all__ = ["CurriculumResult", "mismatch_coefficient", "rollin", "rollin_initial"]


def mismatch_coefficient(mdp: TabularMDP, policy, mu, initial=None) -> float:
    r"""The distribution-mismatch coefficient :math:`\|d^{\pi}_\rho / \mu\|_\infty`.

    .. math::
        C(\pi, \rho, \mu) = \max_s \frac{d^\pi_\rho(s)}{\mu(s)}, \qquad 0/0 = 0,\ x/0 = \infty
        \ (x > 0),

    with :math:`d^\pi_\rho` from :func:`prefrl.mdp.occupancy.discounted_state_distribution`. With
    :math:`\pi = \pi^*` it is the constant in the gradient-domination bound
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


@renamed_parameters(beta="mixing", mu="initial")
def rollin_initial(mdp: TabularMDP, previous_policy, mixing: float, initial=None) -> np.ndarray:
    r"""ROLLIN's start distribution :math:`\mu_k = \beta\, d^{\pi_{k-1}}_\mu + (1-\beta)\,\mu`.

    .. math::
        \mu_k(s) = \beta\, d^{\pi_{k-1}}_\mu(s) + (1 - \beta)\, \mu(s),

    with :math:`\beta` the mixing weight (``mixing``), :math:`\mu` the original start distribution
    and :math:`d` the normalised discounted state distribution of the previous context's
    (near-)optimal policy :math:`\pi_{k-1}` from :math:`\mu`. Li et al. (2023), ROLLIN (our
    reading of the paper).

    Parameters
    ----------
    mdp : TabularMDP
        Any context (the dynamics are shared).
    previous_policy : array, shape (S, A)
    mixing : float in [0, 1]
        :math:`\beta` (``beta`` is its deprecated name).
    initial : array, shape (S,), optional
        :math:`\mu`, the original start distribution; the MDP's by default (``mu`` is its
        deprecated name).

    Returns
    -------
    array, shape (S,)

    Examples
    --------
    >>> mdp = goal_chain(3, 2, gamma=0.5)
    >>> rollin_initial(mdp, np.array([2, 2, 1]), mixing=0.5)
    array([0.75 , 0.125, 0.125])
    """
    beta = check_probability(mixing, "mixing")
    mu = mdp.initial if initial is None else check_distribution(initial, "initial",
                                                                size=mdp.n_states)
    previous_policy = mdp.check_policy(previous_policy, "previous_policy")
    d = discounted_state_distribution(mdp, previous_policy, mu)
    out = beta * d + (1.0 - beta) * mu
    return out / out.sum()


@dataclass(frozen=True, eq=False)
class CurriculumResult(Result):
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
    mixing : float
        ROLLIN's mixing weight :math:`\beta` (``beta`` is its deprecated name).
    """

    stage_iterations: np.ndarray
    total_iterations: int
    converged: np.ndarray
    mismatch: np.ndarray
    theta: np.ndarray
    policy: np.ndarray
    mixing: float

    _renamed: ClassVar[dict[str, str]] = {"beta": "mixing"}

    @property
    def all_converged(self) -> bool:
        """Whether every stage reached its target (False means the total is censored)."""
        return bool(np.all(self.converged))


@renamed_parameters(beta="mixing", theta0="init")
def rollin(contexts: Sequence[TabularMDP], mixing: float, lr: float, *, tau: float = 0.01,
           eps: float = 0.1, max_iter: int = 10_000, init=None) -> CurriculumResult:
    r"""ROLLIN: warm-started exact policy gradient over a curriculum of contexts.

    For :math:`k = 0, \dots, K-1`: start from the previous logits, set
    :math:`\mu_k = \beta\, d^{\pi^*_{k-1}}_\mu + (1-\beta)\mu` (:math:`\mu_0 = \mu`;
    :func:`rollin_initial`), and run :func:`softmax_pg_ascent` on context :math:`k` from
    :math:`\mu_k` until

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
    mixing : float in [0, 1]
        The mixing weight :math:`\beta` (``beta`` is its deprecated name).
    lr : float > 0
    tau : float > 0
        Entropy (KL-to-uniform) weight.
    eps : float > 0
        Relative suboptimality that counts as solved.
    max_iter : int >= 0
        Cap per stage.
    init : array, shape (S, A), optional
        Initial logits (zeros: the uniform policy; ``theta0`` is its deprecated name).

    Returns
    -------
    CurriculumResult

    Examples
    --------
    >>> ctx = [goal_chain(6, g) for g in range(1, 6)]
    >>> res = rollin(ctx, mixing=0.5, lr=1.0)
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
    beta = check_probability(mixing, "mixing")
    tau = check_positive(tau, "tau")
    eps = check_positive(eps, "eps")
    theta = np.zeros((S, A)) if init is None else check_array(init, "init", shape=(S, A))
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
    return CurriculumResult(stage_iterations=np.array(iters), total_iterations=int(np.sum(iters)),
                            converged=np.array(conv), mismatch=np.array(mism), theta=theta,
                            policy=pi, mixing=beta)
