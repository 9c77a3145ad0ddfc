r"""Objective-specification formalisms as orderings of policies, and expressivity certificates.

An *environment* is a tabular MDP without its reward: transitions :math:`P[s, a, s']`, initial
distribution :math:`\mu_0` (a :class:`~prefrl.mdp.TabularMDP` whose own reward is ignored). An
*objective* of a formalism induces a total preorder on the stationary policies of the environment.
Subramani, Williams, Heitmann, Holm, Griffin and Skalse (ICLR 2024), "On the Expressivity of
Objective-Specification Formalisms in Reinforcement Learning", compare 17 formalisms by the
orderings they can induce. Six of them are implemented here, each computed exactly from occupancy
measures:

=========  ==========================================================================
MR         Markov reward, :math:`J(\pi) = \langle m^\pi_\gamma, r \rangle`
LAR        limit-average reward, :math:`J(\pi) = \langle \nu^\pi, r \rangle`
ONMR       outer nonlinear MR, :math:`J(\pi) = f(\langle m^\pi_\gamma, r \rangle)`
RRL        regularised RL (entropy or KL to a reference)
OMORL      outer multi-objective, :math:`J(\pi) = f(J_{r_1}(\pi), \dots, J_{r_k}(\pi))`
GOMORL     generalised OMORL with the lexicographic order on :math:`(J_{r_i}(\pi))_i`
=========  ==========================================================================

.. note::
   The paper body was **not** read when this module was written: the definitions of the
   formalisms follow the project's paper notes (written from memory, consistent with the
   abstract), and the separating environments used in the tests, the theorem checks and the
   figure are the notes' own constructions, not the paper's appendix environments.

Both MR and LAR values are *linear in the reward* for a fixed policy, so "is this ordering of a
finite set of policies induced by some Markov (or limit-average) reward?" is a linear-programming
feasibility question; :func:`mr_expressible` and :func:`lar_expressible` answer it with either a
reward or a Farkas certificate of infeasibility.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components
from scipy.special import xlogy

from ._validation import (
    check_array,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
    check_stochastic_matrix,
)
from .mdp import TabularMDP

__all__ = [
    "LexicographicMultiObjective",
    "LimitAverageReward",
    "LinearExpressibility",
    "MarkovReward",
    "OuterMultiObjective",
    "OuterNonlinearMR",
    "PolicyOrdering",
    "RegularisedRL",
    "discounted_occupancy",
    "lar_expressible",
    "limit_average_occupancy",
    "mr_expressible",
    "one_state_env",
    "policy_ordering",
    "stay_go_env",
]


# ---------------------------------------------------------------------------- environments
def _check_env(env) -> TabularMDP:
    if not isinstance(env, TabularMDP):
        raise TypeError(f"env must be a prefrl.mdp.TabularMDP, got {type(env).__name__}")
    if env.horizon is not None:
        raise ValueError("env must be an infinite-horizon TabularMDP (horizon=None)")
    return env


def _check_reward(env, reward, name="reward"):
    """Expected reward r[s, a] (S, A) from an (S, A) or (S, A, S) reward."""
    S, A = env.n_states, env.n_actions
    R = check_array(reward, name, ndim=(2, 3))
    if R.shape[:2] != (S, A) or (R.ndim == 3 and R.shape[2] != S):
        raise ValueError(f"{name} must have shape ({S}, {A}) or ({S}, {A}, {S}), got {R.shape}")
    if R.ndim == 3:
        R = np.einsum("sat,sat->sa", env.dense_transitions(), R)
    return R


def _with_gamma(env, gamma):
    gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
    return TabularMDP(env.transitions, np.zeros((env.n_states, env.n_actions)), gamma, env.initial)


def one_state_env(n_actions: int = 2) -> TabularMDP:
    r"""The one-state environment: every action returns to the single state.

    A policy is a distribution :math:`\pi = (p, 1 - p)` (for two actions) and its discounted
    occupancy is :math:`m^\pi = \pi / (1 - \gamma)`, affine in :math:`p`. Separating environment 1
    of the project's notes on Subramani et al. (2024) (our construction).

    Parameters
    ----------
    n_actions : int >= 1

    Returns
    -------
    TabularMDP
        Transitions of shape (1, n_actions, 1), zero reward, gamma 0 (the formalisms take their own).

    Examples
    --------
    >>> one_state_env().dense_transitions().shape
    (1, 2, 1)
    """
    n = check_integer(n_actions, "n_actions", minimum=1)
    return TabularMDP(np.ones((1, n, 1)), np.zeros((1, n)), 0.0)


def stay_go_env() -> TabularMDP:
    r"""The stay/go environment: state 0 has ``stay`` (self-loop) and ``go`` (to absorbing state 1).

    State 1 is absorbing under both actions. Start in state 0. With :math:`p = \pi(\mathrm{go}|0)`
    the chain leaves state 0 after a geometric time, so every :math:`p > 0` has the same recurrent
    class :math:`\{1\}`. Separating environments 2 and 3 of the project's notes (our construction).

    Returns
    -------
    TabularMDP
        Transitions of shape (2, 2, 2), actions ``(stay, go)``, zero reward.

    Examples
    --------
    >>> env = stay_go_env()
    >>> env.dense_transitions()[0].tolist(), env.initial.tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0])
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    return TabularMDP(P, np.zeros((2, 2)), 0.0, [1.0, 0.0], action_labels=("stay", "go"))


# ---------------------------------------------------------------------------- occupancies
def discounted_occupancy(env, policy, gamma: float) -> np.ndarray:
    r"""Discounted state-action occupancy of a stationary policy.

    .. math::
        m^\pi_\gamma(s, a) = \sum_{t \ge 0} \gamma^t \Pr_{\mu_0, \pi}(s_t = s, a_t = a),
        \qquad J_r(\pi) = \langle m^\pi_\gamma, r \rangle,

    with :math:`\mu_0` the environment's initial distribution, :math:`\gamma \in [0, 1)` the
    discount and :math:`r[s, a]` an expected reward.

    Parameters
    ----------
    env : TabularMDP
        The environment (its reward and discount are ignored).
    policy : array, shape (S, A), or int array (S,)
    gamma : float in [0, 1)

    Returns
    -------
    array, shape (S, A)

    Examples
    --------
    >>> discounted_occupancy(one_state_env(), [[0.25, 0.75]], gamma=0.5)
    array([[0.5, 1.5]])
    """
    env = _check_env(env)
    return _with_gamma(env, gamma).occupancy(policy)


def _gth_stationary(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible stochastic matrix by the GTH elimination.

    Grassmann, Taksar and Heyman (1985): state censoring with no subtraction, so tiny transition
    probabilities keep their relative accuracy.
    """
    A = np.array(P, dtype=np.float64)
    n = A.shape[0]
    for k in range(n - 1, 0, -1):
        out = A[k, :k].sum()
        if not out > 0:
            raise ValueError("the policy's chain is numerically reducible (a transition "
                             "probability underflows); the limit-average distribution is undefined")
        A[:k, k] /= out
        A[:k, :k] += np.outer(A[:k, k], A[k, :k])
    x = np.zeros(n)
    x[0] = 1.0
    for j in range(1, n):
        x[j] = x[:j] @ A[:j, j]
    return x / x.sum()


def _cesaro_limit(Ppi: np.ndarray) -> np.ndarray:
    """Cesaro limit P* = lim_N (1/N) sum_{t<N} P^t of a stochastic matrix, by its recurrent classes."""
    S = Ppi.shape[0]
    n, labels = connected_components(Ppi > 0, directed=True, connection="strong")
    Pstar = np.zeros((S, S))
    closed = []
    for c in range(n):
        idx = np.flatnonzero(labels == c)
        # A class is recurrent iff it is closed: no edge of the support graph leaves it.
        if not np.any(np.delete(Ppi[idx], idx, axis=1) > 0):
            stat = _gth_stationary(Ppi[np.ix_(idx, idx)])
            Pstar[np.ix_(idx, idx)] = np.broadcast_to(stat, (len(idx), len(idx)))
            closed.append((idx, stat))
    trans = np.flatnonzero(~np.isin(np.arange(S), np.concatenate([c[0] for c in closed])))
    if trans.size:
        # Absorption probabilities into each closed class: (I - P_TT) X = P_TC 1. The diagonal
        # 1 - P[s, s] is formed as the sum of the row's other entries, which keeps its accuracy
        # when P[s, s] is within rounding of 1.
        M = -Ppi[np.ix_(trans, trans)]
        off = np.array([np.delete(Ppi[s], s).sum() for s in trans])
        M[np.diag_indices(trans.size)] = off
        B = np.stack([Ppi[np.ix_(trans, idx)].sum(axis=1) for idx, _ in closed], axis=1)
        try:
            X = np.linalg.solve(M, B)
        except np.linalg.LinAlgError:
            X = np.full(B.shape, np.nan)
        if not (np.all(np.isfinite(X)) and np.allclose(X.sum(axis=1), 1.0, atol=1e-8)):
            raise ValueError("the policy's chain is numerically ill-conditioned (a transient class "
                             "leaks with a probability below rounding); its limit-average "
                             "distribution cannot be computed reliably")
        X = np.clip(X, 0.0, None)
        for j, (idx, stat) in enumerate(closed):
            Pstar[np.ix_(trans, idx)] = np.outer(X[:, j], stat)
    return Pstar


def limit_average_occupancy(env, policy) -> np.ndarray:
    r"""Limit-average (Cesàro) state-action distribution of a stationary policy.

    .. math::
        \nu^\pi(s, a) = \lim_{N \to \infty} \frac1N \sum_{t < N} \Pr_{\mu_0, \pi}(s_t = s, a_t = a)
        = \big(\mu_0^\top P_\pi^*\big)(s)\, \pi(a|s),
        \qquad P_\pi^* = \lim_{N\to\infty} \frac1N \sum_{t<N} P_\pi^t,

    so the limit-average value of an expected reward :math:`r[s, a]` is
    :math:`\langle \nu^\pi, r \rangle`. :math:`P_\pi[s, s'] = \sum_a \pi(a|s) P[s, a, s']`. The
    Cesàro limit exists for every finite chain (Puterman 1994, Thm A.6) and is computed exactly:
    each closed communicating class :math:`C` (found on the support graph of :math:`P_\pi`) has a
    unique stationary distribution :math:`\sigma_C`; a transient state :math:`s` reaches :math:`C`
    with probability :math:`x_C(s)` from :math:`(I - P_{TT}) x_C = P_{TC}\mathbf 1`; and
    :math:`P^*[s, \cdot] = \sum_C x_C(s)\, \sigma_C` (Puterman 1994, Sec. A.4). Several recurrent
    classes and periodic chains are handled exactly. The stationary distributions use the
    subtraction-free GTH elimination (Grassmann, Taksar and Heyman 1985), so tiny transition
    probabilities keep their relative accuracy. Since :math:`\nu^\pi` is discontinuous in the
    support of :math:`P_\pi`, a chain whose transient class leaks only with probability below
    rounding raises ValueError rather than returning an unreliable answer.

    Parameters
    ----------
    env : TabularMDP
        The environment (reward and discount ignored).
    policy : array, shape (S, A), or int array (S,)

    Returns
    -------
    array, shape (S, A), summing to 1

    Examples
    --------
    >>> limit_average_occupancy(stay_go_env(), [[0.9, 0.1], [0.5, 0.5]])
    array([[0. , 0. ],
           [0.5, 0.5]])
    """
    env = _check_env(env)
    pi = env.check_policy(policy)
    Ppi = np.einsum("sa,sat->st", pi, env.dense_transitions())
    nu_s = env.initial @ _cesaro_limit(Ppi)
    return np.maximum(nu_s, 0.0)[:, None] * pi


# ---------------------------------------------------------------------------- objectives
class _Objective:
    """Base of the formalisms: ``values(policy)`` returns a 1-D vector compared lexicographically."""

    env: TabularMDP

    def values(self, policy) -> np.ndarray:  # pragma: no cover - overridden
        r"""The objective's value vector :math:`v(\pi) \in \mathbb{R}^k` (k = 1 unless lexicographic).

        Parameters
        ----------
        policy : array, shape (S, A), or int array (S,)

        Returns
        -------
        array, shape (k,)

        Examples
        --------
        >>> MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5).values([[1.0, 0.0]])
        array([2.])
        """
        raise NotImplementedError

    def __call__(self, policy) -> float:
        r"""The real value :math:`J(\pi)` (ValueError for a lexicographic objective).

        Examples
        --------
        >>> MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5)([[1.0, 0.0]])
        2.0
        """
        v = self.values(policy)
        if v.size != 1:
            raise ValueError(f"{type(self).__name__} is not real-valued; use policy_ordering")
        return float(v[0])


class MarkovReward(_Objective):
    r"""Markov reward (MR): discounted expected return.

    .. math::
        J(\pi) = \mathbb{E}_{\mu_0,\pi}\Big[\sum_{t\ge0} \gamma^t R(s_t, a_t, s_{t+1})\Big]
        = \langle m^\pi_\gamma, r \rangle,

    :math:`r[s,a] = \sum_{s'} P[s,a,s'] R[s,a,s']`, :math:`m^\pi_\gamma` the discounted occupancy
    (:func:`discounted_occupancy`). Formalism 1 of Subramani et al. (2024) (definition from the
    project's notes; paper body not read).

    Parameters
    ----------
    env : TabularMDP
        Environment (its own reward and discount are ignored).
    reward : array, shape (S, A) or (S, A, S)
    gamma : float in [0, 1)

    Examples
    --------
    >>> round(MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5)([[0.25, 0.75]]), 6)
    0.5
    """

    def __init__(self, env, reward, gamma: float):
        self.env = _check_env(env)
        self.reward = _check_reward(env, reward)
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
        self._mdp = _with_gamma(env, self.gamma)

    def values(self, policy) -> np.ndarray:
        return np.array([float(np.sum(self._mdp.occupancy(policy) * self.reward))])


class LimitAverageReward(_Objective):
    r"""Limit-average reward (LAR).

    .. math::
        J(\pi) = \lim_{N\to\infty} \frac1N\, \mathbb{E}_{\mu_0,\pi}\Big[\sum_{t<N}
        R(s_t, a_t, s_{t+1})\Big] = \langle \nu^\pi, r \rangle,

    :math:`\nu^\pi` the Cesàro state-action distribution (:func:`limit_average_occupancy`); the
    limit exists for stationary policies of finite MDPs, so lim and liminf agree. Formalism 2 of
    Subramani et al. (2024) (definition from the project's notes; paper body not read).

    Parameters
    ----------
    env : TabularMDP
    reward : array, shape (S, A) or (S, A, S)

    Examples
    --------
    >>> round(LimitAverageReward(stay_go_env(), [[0.0, 0.0], [1.0, 1.0]])([[0.99, 0.01], [1, 0]]), 6)
    1.0
    """

    def __init__(self, env, reward):
        self.env = _check_env(env)
        self.reward = _check_reward(env, reward)

    def values(self, policy) -> np.ndarray:
        return np.array([float(np.sum(limit_average_occupancy(self.env, policy) * self.reward))])


class OuterNonlinearMR(_Objective):
    r"""Outer nonlinear Markov reward (ONMR): a function of the expected return.

    .. math::
        J(\pi) = f\big(\langle m^\pi_\gamma, r \rangle\big), \qquad f: \mathbb{R} \to \mathbb{R}.

    Formalism 6 of Subramani et al. (2024) (definition from the project's notes).

    Parameters
    ----------
    env : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    gamma : float in [0, 1)
    f : callable float -> float

    Examples
    --------
    >>> J = OuterNonlinearMR(one_state_env(), [[1.0, 0.0]], 0.5, lambda x: -(x - 1.0) ** 2)
    >>> [round(J([[p, 1 - p]]), 6) for p in (0.0, 0.5, 1.0)]
    [-1.0, 0.0, -1.0]
    """

    def __init__(self, env, reward, gamma: float, f: Callable[[float], float]):
        if not callable(f):
            raise TypeError("f must be callable")
        self.inner = MarkovReward(env, reward, gamma)
        self.env, self.f = self.inner.env, f

    def values(self, policy) -> np.ndarray:
        out = float(self.f(self.inner(policy)))
        if not np.isfinite(out):
            raise ValueError(f"f returned {out}, must be finite")
        return np.array([out])


class RegularisedRL(_Objective):
    r"""Regularised RL (RRL): discounted reward minus a per-state policy regulariser.

    .. math::
        J(\pi) = \mathbb{E}_{\mu_0,\pi}\Big[\sum_{t\ge0}\gamma^t\big(r(s_t,a_t)
        - \alpha\, F(\pi(\cdot|s_t))\big)\Big]
        = \sum_s d^\pi_\gamma(s)\Big(\sum_a \pi(a|s) r[s,a] - \alpha F_s(\pi(\cdot|s))\Big),

    with :math:`d^\pi_\gamma(s) = \sum_a m^\pi_\gamma(s,a)`, :math:`\alpha \ge 0` the weight, and
    :math:`F_s(q) = \sum_a q_a \log q_a` (negative entropy) when ``reference`` is None, else
    :math:`F_s(q) = \mathrm{KL}(q \,\|\, \pi_{ref}(\cdot|s))` (infinite outside the reference's
    support, which raises). Evaluated exactly from the occupancy; with a reference its maximiser is
    :meth:`prefrl.mdp.TabularMDP.soft_solve` with ``beta = alpha``. Formalism 12 of Subramani et
    al. (2024) (definition from the project's notes).

    Parameters
    ----------
    env : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    gamma : float in [0, 1)
    alpha : float >= 0
        Regulariser weight (``beta`` in :meth:`~prefrl.mdp.TabularMDP.soft_solve`).
    reference : array, shape (A,) or (S, A), optional

    Examples
    --------
    >>> J = RegularisedRL(one_state_env(), [[1.0, 0.0]], 0.0, alpha=1.0)
    >>> round(J([[0.5, 0.5]]), 6), round(float(np.log(2)) + 0.5, 6)
    (1.193147, 1.193147)
    """

    def __init__(self, env, reward, gamma: float, alpha: float, reference=None):
        self.env = _check_env(env)
        self.reward = _check_reward(env, reward)
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
        self.alpha = check_nonnegative(alpha, "alpha")
        S, A = env.n_states, env.n_actions
        if reference is None:
            self.reference = None
        else:
            ref = check_array(reference, "reference", ndim=(1, 2))
            if ref.ndim == 1:
                ref = np.broadcast_to(ref, (S, A))
            self.reference = check_stochastic_matrix(ref, "reference", shape=(S, A))
        self._mdp = _with_gamma(env, self.gamma)

    def values(self, policy) -> np.ndarray:
        pi = self.env.check_policy(policy)
        d = self._mdp.occupancy(pi).sum(axis=1)
        neg_ent = xlogy(pi, pi).sum(axis=1)
        if self.reference is None:
            F = neg_ent
        else:
            outside = (pi > 0) & (self.reference == 0)
            if np.any(outside & (d[:, None] > 0)):
                s, a = np.argwhere(outside & (d[:, None] > 0))[0]
                raise ValueError(
                    f"policy[{s}, {a}] > 0 where reference is 0: the KL regulariser is infinite"
                )
            with np.errstate(divide="ignore"):
                F = neg_ent - xlogy(pi, np.where(outside, 1.0, self.reference)).sum(axis=1)
        per_state = np.einsum("sa,sa->s", pi, self.reward) - self.alpha * F
        return np.array([float(d @ per_state)])


class OuterMultiObjective(_Objective):
    r"""Outer multi-objective RL (OMORL): a function of several expected returns.

    .. math::
        J(\pi) = f\big(J_{r_1}(\pi), \dots, J_{r_k}(\pi)\big), \qquad
        J_{r_i}(\pi) = \langle m^\pi_\gamma, r_i \rangle,\quad f: \mathbb{R}^k \to \mathbb{R}.

    Formalism 8 of Subramani et al. (2024) (definition from the project's notes).

    Parameters
    ----------
    env : TabularMDP
    rewards : array, shape (k, S, A)
    gamma : float in [0, 1)
    f : callable, array (k,) -> float

    Examples
    --------
    >>> J = OuterMultiObjective(one_state_env(), [[[1.0, 0.0]], [[0.0, 1.0]]], 0.0, np.min)
    >>> round(J([[0.5, 0.5]]), 6), round(J([[1.0, 0.0]]), 6)
    (0.5, 0.0)
    """

    def __init__(self, env, rewards, gamma: float, f: Callable[[np.ndarray], float]):
        if not callable(f):
            raise TypeError("f must be callable")
        self.env = _check_env(env)
        R = check_array(rewards, "rewards", shape=(None, env.n_states, env.n_actions))
        self.rewards, self.f = R, f
        self._mdp = _with_gamma(env, gamma)
        self.gamma = self._mdp.gamma

    def returns(self, policy) -> np.ndarray:
        """The vector :math:`(J_{r_i}(\\pi))_i`, shape (k,)."""
        return np.einsum("sa,ksa->k", self._mdp.occupancy(policy), self.rewards)

    def values(self, policy) -> np.ndarray:
        out = float(self.f(self.returns(policy)))
        if not np.isfinite(out):
            raise ValueError(f"f returned {out}, must be finite")
        return np.array([out])


class LexicographicMultiObjective(OuterMultiObjective):
    r"""Generalised OMORL (GOMORL) with the lexicographic order: a comparator, not a real value.

    .. math::
        \pi_1 \succeq \pi_2 \iff \big(J_{r_1}(\pi_1), \dots, J_{r_k}(\pi_1)\big)
        \succeq_{\mathrm{lex}} \big(J_{r_1}(\pi_2), \dots, J_{r_k}(\pi_2)\big),

    :math:`J_{r_i}(\pi) = \langle m^\pi_\gamma, r_i\rangle`. On a continuum of policies a
    lexicographic order can have no real-valued representation, so this objective is only
    compared, through :func:`policy_ordering`. Formalism 13 of Subramani et al. (2024)
    (definition from the project's notes).

    Parameters
    ----------
    env : TabularMDP
    rewards : array, shape (k, S, A)
        :math:`r_1` is the most important.
    gamma : float in [0, 1)

    Examples
    --------
    >>> lex = LexicographicMultiObjective(one_state_env(3), [[[1.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]], 0.0)
    >>> policy_ordering(lex, [[[0, 1, 0]], [[1, 0, 0]], [[0, 0, 1]]]).ranks
    array([1, 2, 0])
    """

    def __init__(self, env, rewards, gamma: float):
        super().__init__(env, rewards, gamma, lambda x: 0.0)

    def values(self, policy) -> np.ndarray:
        return self.returns(policy)


# ---------------------------------------------------------------------------- orderings
@dataclass(frozen=True, eq=False)
class PolicyOrdering:
    r"""The total preorder an objective induces on a finite list of policies.

    Attributes
    ----------
    ranks : int array, shape (n,)
        Dense ranks, 0 for the worst class; equal ranks are ties.
    values : array, shape (n, k)
        Each policy's objective vector (k = 1 for real-valued objectives).
    tolerance : float
        Values closer than this (per component) were treated as tied.
    """

    ranks: np.ndarray
    values: np.ndarray
    tolerance: float

    def compare(self) -> np.ndarray:
        """Matrix C[i, j] = sign(rank_i - rank_j), shape (n, n): 1 when policy i is preferred.

        Examples
        --------
        >>> PolicyOrdering(np.array([0, 1]), np.zeros((2, 1)), 0.0).compare()
        array([[ 0, -1],
               [ 1,  0]])
        """
        return np.sign(self.ranks[:, None] - self.ranks[None, :]).astype(int)


def _lex_ranks(V: np.ndarray, tol: float) -> np.ndarray:
    """Dense lexicographic ranks; a component's values split where sorted gaps exceed tol."""
    n, k = V.shape
    keys = np.zeros((n, k), dtype=int)
    groups = [np.arange(n)]
    for j in range(k):
        new_groups = []
        for g in groups:
            order = g[np.argsort(V[g, j], kind="stable")]
            cls, start = 0, 0
            for i in range(len(order)):
                if i > 0 and V[order[i], j] - V[order[i - 1], j] > tol:
                    new_groups.append(order[start:i])
                    cls, start = cls + 1, i
                keys[order[i], j] = cls
            new_groups.append(order[start:])
        groups = new_groups
    _, ranks = np.unique(keys, axis=0, return_inverse=True)
    return ranks.ravel().astype(int)


def policy_ordering(objective, policies: Sequence, tol: float | None = None) -> PolicyOrdering:
    r"""The preorder an objective induces on a finite set of policies, as ranks with ties.

    .. math::
        \pi_i \succeq \pi_j \iff v(\pi_i) \succeq_{\mathrm{lex}} v(\pi_j),

    where :math:`v(\pi) \in \mathbb{R}^k` is the objective's value vector (:math:`k = 1` for the
    real-valued formalisms; the :math:`k` returns for :class:`LexicographicMultiObjective`).
    Numerical ties: component values are sorted and a new class starts wherever consecutive
    sorted values differ by more than ``tol`` (single linkage, so the result is always a total
    preorder). The default ``tol`` is :math:`10^{-9}(1 + \max |v|)`, well above the rounding of
    the exact linear solves and below any gap the examples rely on.

    Parameters
    ----------
    objective : one of this module's objectives, or a callable policy -> float
    policies : sequence of n arrays, each of shape (S, A) (or int (S,))
    tol : float >= 0, optional

    Returns
    -------
    PolicyOrdering

    Examples
    --------
    >>> J = MarkovReward(one_state_env(), [[1.0, 1.0]], 0.5)   # a constant reward ties everything
    >>> policy_ordering(J, [[[1, 0]], [[0, 1]]]).ranks
    array([0, 0])
    """
    if len(policies) == 0:
        raise ValueError("policies must not be empty")
    if hasattr(objective, "values") and callable(objective.values):
        V = np.array([np.atleast_1d(objective.values(p)) for p in policies], dtype=float)
    elif callable(objective):
        V = np.array([[float(objective(p))] for p in policies])
    else:
        raise TypeError("objective must be an objective of prefrl.expressivity or a callable")
    if not np.all(np.isfinite(V)):
        raise ValueError("objective returned a non-finite value")
    if tol is None:
        tol = 1e-9 * (1.0 + float(np.max(np.abs(V))))
    tol = check_nonnegative(tol, "tol")
    return PolicyOrdering(_lex_ranks(V, tol), V, tol)


# ---------------------------------------------------------------------------- expressibility
@dataclass(frozen=True, eq=False)
class LinearExpressibility:
    r"""Verdict of :func:`mr_expressible` / :func:`lar_expressible`.

    Attributes
    ----------
    feasible : bool
        Whether some reward induces the ordering.
    reward : array (S, A) or None
        A reward of least max-norm with strict gaps at least ``margin`` (when feasible).
    multipliers : array (n_strict,) or None
        Farkas certificate when infeasible: :math:`y \ge 0`, :math:`\sum y = 1`.
    tie_multipliers : array (n_ties,) or None
        The free multipliers :math:`z` of the tie equalities.
    residual : float
        :math:`\|D^\top y + E^\top z\|_\infty` of the certificate (0 up to rounding when it proves
        infeasibility), or the worst constraint violation of ``reward`` when feasible.
    strict_pairs, tie_pairs : int arrays, shape (n_strict, 2) and (n_ties, 2)
        The constraints used: (better, worse) and (i, j) index pairs into ``policies``.
    iterations : int
        Simplex/IPM iterations of the LP that decided.
    """

    feasible: bool
    reward: np.ndarray | None
    multipliers: np.ndarray | None
    tie_multipliers: np.ndarray | None
    residual: float
    strict_pairs: np.ndarray
    tie_pairs: np.ndarray
    iterations: int


def _constraints(ranks):
    """Tie pairs (each member with its class head) and strict pairs (consecutive class heads)."""
    classes = np.unique(ranks)
    heads = [int(np.flatnonzero(ranks == c)[0]) for c in classes]
    ties = [(h, int(i)) for c, h in zip(classes, heads) for i in np.flatnonzero(ranks == c) if i != h]
    strict = [(heads[i + 1], heads[i]) for i in range(len(heads) - 1)]
    return np.array(strict, dtype=int).reshape(-1, 2), np.array(ties, dtype=int).reshape(-1, 2)


def _linear_expressible(F: np.ndarray, ranks, margin: float) -> LinearExpressibility:
    n, d = F.shape
    ranks = np.asarray(ranks)
    if ranks.shape != (n,) or not np.issubdtype(ranks.dtype, np.integer):
        if ranks.shape == (n,) and np.all(ranks == np.round(ranks)):
            ranks = ranks.astype(int)
        else:
            raise ValueError(f"ordering must be {n} integer ranks (one per policy), got {ranks}")
    strict, ties = _constraints(ranks)
    D = F[strict[:, 0]] - F[strict[:, 1]]
    E = F[ties[:, 0]] - F[ties[:, 1]]
    # Primal: min t s.t. D r >= margin, E r = 0, -t <= r <= t. Variables (r, t).
    c = np.zeros(d + 1)
    c[-1] = 1.0
    I = np.eye(d)
    A_ub = np.vstack([np.hstack([-D, np.zeros((len(D), 1))]),
                      np.hstack([I, -np.ones((d, 1))]), np.hstack([-I, -np.ones((d, 1))])])
    b_ub = np.concatenate([-margin * np.ones(len(D)), np.zeros(2 * d)])
    A_eq = np.hstack([E, np.zeros((len(E), 1))]) if len(E) else None
    b_eq = np.zeros(len(E)) if len(E) else None
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                  bounds=[(None, None)] * d + [(0, None)], method="highs")
    if res.status == 0:
        r = res.x[:d]
        viol = max(float(np.max(margin - D @ r, initial=0.0)), float(np.max(np.abs(E @ r), initial=0.0)))
        return LinearExpressibility(True, r, None, None, viol, strict, ties, int(res.nit))
    if res.status != 2:
        raise RuntimeError(f"the expressibility LP failed: {res.message}")
    # Farkas alternative: y >= 0, sum y = 1, z free, minimise ||D^T y + E^T z||_1 (0 iff infeasible).
    m, q = len(D), len(E)
    # variables y (m), z (q), u (d) with -u <= D^T y + E^T z <= u
    c2 = np.concatenate([np.zeros(m + q), np.ones(d)])
    G = np.hstack([D.T, E.T]) if q else D.T
    A2 = np.vstack([np.hstack([G, -np.eye(d)]), np.hstack([-G, -np.eye(d)])])
    A2eq = np.concatenate([np.ones(m), np.zeros(q + d)])[None, :]
    res2 = linprog(c2, A_ub=A2, b_ub=np.zeros(2 * d), A_eq=A2eq, b_eq=[1.0],
                   bounds=[(0, None)] * m + [(None, None)] * q + [(0, None)] * d, method="highs")
    y, z = res2.x[:m], res2.x[m:m + q]
    resid = float(np.max(np.abs(D.T @ y + (E.T @ z if q else 0.0))))
    return LinearExpressibility(False, None, y, z, resid, strict, ties, int(res2.nit))


def _check_policies(env, policies):
    if len(policies) == 0:
        raise ValueError("policies must not be empty")
    return [env.check_policy(p, f"policies[{i}]") for i, p in enumerate(policies)]


def _ordering_ranks(ordering, n):
    if isinstance(ordering, PolicyOrdering):
        return ordering.ranks
    return np.asarray(ordering)


def mr_expressible(env, ordering, policies: Sequence, gamma: float, margin: float = 1.0):
    r"""Is an ordering of finitely many policies induced by some Markov reward (fixed gamma)?

    For a fixed environment and discount, :math:`J_r(\pi) = \langle m^\pi_\gamma, r\rangle` is
    linear in :math:`r[s, a]` (an :math:`R[s,a,s']` reward acts only through its expectation, so
    (S, A) rewards lose nothing). With tie classes sorted from worst to best, the ordering is
    MR-expressible iff the linear system

    .. math::
        D r \ge \mathbf 1, \qquad E r = 0

    is feasible, where each row of :math:`D` is :math:`m^{\pi_i}_\gamma - m^{\pi_j}_\gamma` for
    consecutive classes (:math:`\pi_i` better) and each row of :math:`E` the difference between a
    tied policy and its class head (a strict gap :math:`\delta > 0` can be rescaled to 1 =
    ``margin``). When feasible the LP returns a reward of least max-norm. When not, by Farkas'
    lemma there are :math:`y \ge 0` with :math:`\sum y = 1` and a free :math:`z` with
    :math:`D^\top y + E^\top z = 0`: for any :math:`r`, :math:`0 = y^\top D r + z^\top E r \ge 1`
    would follow, a contradiction; the certificate and its residual are returned. The formalism
    is Subramani et al. (2024)'s MR; the LP test is ours.

    Parameters
    ----------
    env : TabularMDP
        Environment (transitions and initial distribution).
    ordering : PolicyOrdering or int array, shape (n,)
        Ranks (higher is better, equal is a tie).
    policies : sequence of n policies, each (S, A) or int (S,)
    gamma : float in [0, 1)
    margin : float > 0
        Required gap between consecutive classes (any positive value gives the same verdict).

    Returns
    -------
    LinearExpressibility

    Examples
    --------
    >>> env = one_state_env()
    >>> pols = [[[p, 1 - p]] for p in (0.0, 0.5, 1.0)]
    >>> mr_expressible(env, [0, 1, 2], pols, gamma=0.5).feasible
    True
    >>> cert = mr_expressible(env, [0, 2, 1], pols, gamma=0.5)   # interior optimum
    >>> cert.feasible, bool(cert.residual < 1e-9)
    (False, True)
    """
    env = _check_env(env)
    pols = _check_policies(env, policies)
    mdp = _with_gamma(env, gamma)
    F = np.array([mdp.occupancy(p).ravel() for p in pols])
    out = _linear_expressible(F, _ordering_ranks(ordering, len(pols)), check_positive(margin, "margin"))
    if out.reward is not None:
        out = _replace_reward(out, env)
    return out


def lar_expressible(env, ordering, policies: Sequence, margin: float = 1.0):
    r"""Is an ordering of finitely many policies induced by some limit-average reward?

    The same linear test as :func:`mr_expressible`, with the Cesàro distributions
    :math:`\nu^\pi` (:func:`limit_average_occupancy`) in place of :math:`m^\pi_\gamma`: rows of
    :math:`D` are :math:`\nu^{\pi_i} - \nu^{\pi_j}` for consecutive classes, rows of :math:`E`
    differences of tied policies, and the ordering is LAR-expressible iff
    :math:`D r \ge \mathbf 1,\ E r = 0` is feasible (Farkas certificate otherwise). Formalism 2 of
    Subramani et al. (2024); the LP test is ours.

    Parameters
    ----------
    env : TabularMDP
    ordering : PolicyOrdering or int array, shape (n,)
    policies : sequence of n policies
    margin : float > 0

    Returns
    -------
    LinearExpressibility

    Examples
    --------
    >>> env = stay_go_env()
    >>> pols = [[[1 - p, p], [1, 0]] for p in (0.0, 0.5, 1.0)]
    >>> # reward 1 on 'stay' under MR ranks p = 0 > 0.5 > 1; LAR must tie p = 0.5 and p = 1
    >>> lar_expressible(env, [2, 1, 0], pols).feasible
    False
    """
    env = _check_env(env)
    pols = _check_policies(env, policies)
    F = np.array([limit_average_occupancy(env, p).ravel() for p in pols])
    out = _linear_expressible(F, _ordering_ranks(ordering, len(pols)), check_positive(margin, "margin"))
    if out.reward is not None:
        out = _replace_reward(out, env)
    return out


def _replace_reward(out, env):
    return LinearExpressibility(True, out.reward.reshape(env.n_states, env.n_actions), None, None,
                                out.residual, out.strict_pairs, out.tie_pairs, out.iterations)
