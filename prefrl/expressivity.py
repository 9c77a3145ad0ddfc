r"""Objective-specification formalisms as orderings of policies, and expressivity certificates.

An *environment* is a tabular MDP without its reward: transitions :math:`P[s, a, s']`, initial
distribution :math:`\mu_0` (a :class:`~prefrl.mdp.TabularMDP` whose own reward is ignored). An
*objective* of a formalism induces a total preorder on the stationary policies of the environment.
Subramani, Williams, Heitmann, Holm, Griffin and Skalse (ICLR 2024), "On the Expressivity of
Objective-Specification Formalisms in Reinforcement Learning", compare 17 formalisms by the
orderings they can induce. Ten of them are implemented here, each computed exactly (from
occupancy measures, product chains with automata, or return distributions):

=========  ==========================================================================
MR         Markov reward, :math:`J(\pi) = \langle m^\pi_\gamma, r \rangle`
LAR        limit-average reward, :math:`J(\pi) = \langle \nu^\pi, r \rangle`
ONMR       outer nonlinear MR, :math:`J(\pi) = f(\langle m^\pi_\gamma, r \rangle)`
RRL        regularised RL (entropy or KL to a reference)
OMORL      outer multi-objective, :math:`J(\pi) = f(J_{r_1}(\pi), \dots, J_{r_k}(\pi))`
GOMORL     generalised OMORL with the lexicographic order on :math:`(J_{r_i}(\pi))_i`
RM         reward machine, exact on the product chain :math:`(s, u)`
LTL        :math:`J(\pi) = \Pr_\pi(\xi \models \varphi)`, exact through a deterministic
           automaton and the bottom SCCs of the product chain (a fragment of LTL)
INMR       :math:`J(\pi) = \mathbb E[f(G_R(\xi))]` over a finite horizon (exact return law)
FTR        :math:`J(\pi) = \mathbb E[f(\xi)]` over a finite horizon (exact enumeration)
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

from ._automata import DeterministicAutomaton, Formula, to_automaton
from ._validation import (
    check_array,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
    check_stochastic_matrix,
)
from .mdp import TabularMDP
from .mdp.envs import one_state_env, stay_go_env, switch_env  # noqa: F401  (moved; importable here)
from .mdp.occupancy import discounted_occupancy, limit_average_occupancy  # noqa: F401

__all__ = [
    "InnerNonlinearMR",
    "LTLObjective",
    "LexicographicMultiObjective",
    "LimitAverageReward",
    "LinearExpressibility",
    "MarkovReward",
    "OuterMultiObjective",
    "OuterNonlinearMR",
    "PolicyOrdering",
    "RegularisedRL",
    "ReturnDistribution",
    "RewardMachine",
    "RewardMachineObjective",
    "SatisfactionResult",
    "TrajectoryFunction",
    "always",
    "always_eventually",
    "eventually",
    "eventually_always",
    "lar_expressible",
    "mr_expressible",
    "next_",
    "policy_ordering",
    "prop",
    "return_distribution",
    "satisfaction_probability",
    "transition_labels",
    "until",
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


# ---------------------------------------------------------------------------- labels
def transition_labels(env, propositions) -> np.ndarray:
    r"""Letters of the environment's transitions from atomic propositions.

    .. math::
        \sigma(s, a, s') = \sum_{i < k} 2^i\, \mathbb 1[p_i \text{ holds on } (s, a, s')],

    so a letter is the bitmask of the propositions true on a transition. A state proposition
    (shape (k, S)) holds on every transition that *leaves* a state where it is true, so the
    letter read at time :math:`t` describes :math:`s_t`.

    Parameters
    ----------
    env : TabularMDP
    propositions : bool array, shape (k, S) or (k, S, A, S)

    Returns
    -------
    int array, shape (S, A, S), entries in [0, 2^k)

    Examples
    --------
    >>> transition_labels(stay_go_env(), [[False, True]])[:, 0, 0].tolist()
    [0, 1]
    """
    env = _check_env(env)
    S, A = env.n_states, env.n_actions
    props = np.asarray(propositions)
    if props.ndim == 1:
        props = props[None]
    if props.dtype != bool:
        if not np.all(np.isin(props, (0, 1))):
            raise ValueError("propositions must be boolean (or 0/1)")
        props = props.astype(bool)
    if props.ndim == 2 and props.shape[1] == S:
        props = np.broadcast_to(props[:, :, None, None], (props.shape[0], S, A, S))
    if props.ndim != 4 or props.shape[1:] != (S, A, S):
        raise ValueError(f"propositions must have shape (k, {S}) or (k, {S}, {A}, {S}), "
                         f"got {np.shape(propositions)}")
    if props.shape[0] > 16:
        raise ValueError("propositions: at most 16 atomic propositions")
    weights = (1 << np.arange(props.shape[0]))[:, None, None, None]
    return (props * weights).sum(axis=0).astype(np.int64)


def _check_labelling(env, labelling, n_letters, name="labelling"):
    S, A = env.n_states, env.n_actions
    L = np.asarray(labelling)
    if L.shape != (S, A, S):
        raise ValueError(f"{name} must have shape ({S}, {A}, {S}), got {L.shape}")
    if not np.issubdtype(L.dtype, np.integer):
        if np.issubdtype(L.dtype, np.floating) and np.all(L == np.round(L)):
            L = L.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer letters")
    bad = (L < 0) | (L >= n_letters)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}{list(idx)} = {L[idx]}, must be in [0, {n_letters})")
    return L.astype(np.int64)


def _backward_closure(G: np.ndarray, target: np.ndarray) -> np.ndarray:
    """States of the support graph G (bool (n, n)) with a path to a state of ``target``."""
    can = target.copy()
    while True:
        new = can | G[:, can].any(axis=1)
        if np.array_equal(new, can):
            return can
        can = new


def _product_chain(env, pi, delta, labelling, start):
    """Chain on the product states (s, q) reachable from mu0 x {start}.

    Returns (M, states, init): the transition matrix (n, n), the (s, q) pairs (n, 2), and the
    initial distribution over them (n,). Only reachable pairs are built, so products of
    automata stay small.
    """
    P = env.dense_transitions()
    W = pi[:, :, None] * P
    out = [[(int(t), int(labelling[s, a, t]), float(W[s, a, t]))
            for a, t in zip(*np.nonzero(W[s] > 0))] for s in range(env.n_states)]
    index: dict = {}
    states = []
    for s in np.flatnonzero(env.initial > 0):
        index[(int(s), start)] = len(states)
        states.append((int(s), start))
    rows, cols, vals = [], [], []
    i = 0
    while i < len(states):
        s, q = states[i]
        for t, letter, w in out[s]:
            key = (t, int(delta[q, letter]))
            j = index.get(key)
            if j is None:
                j = index[key] = len(states)
                states.append(key)
            rows.append(i)
            cols.append(j)
            vals.append(w)
        i += 1
    n = len(states)
    M = np.zeros((n, n))
    np.add.at(M, (np.array(rows, dtype=int), np.array(cols, dtype=int)), np.array(vals))
    st = np.array(states, dtype=int).reshape(-1, 2)
    init = np.zeros(n)
    init[: int(np.count_nonzero(env.initial > 0))] = env.initial[env.initial > 0]
    return M, st, init


# ---------------------------------------------------------------------------- reward machines
@dataclass(frozen=True, eq=False)
class RewardMachine:
    r"""A reward machine: a finite automaton on transition labels that emits rewards.

    .. math::
        u_{t+1} = \delta_U\big(u_t, L(s_t, a_t, s_{t+1})\big), \qquad
        r_t = \delta_R(u_t, u_{t+1})(s_t, a_t, s_{t+1}), \qquad
        J(\pi) = \mathbb E_{\mu_0, \pi}\Big[\sum_{t \ge 0} \gamma^t r_t\Big],

    with machine states :math:`u \in \{0, \dots, U-1\}`, start :math:`u_0`, letters
    :math:`L(s, a, s') \in \{0, \dots, n_{letters}-1\}` given by a labelling of the
    environment's transitions (passed to :class:`RewardMachineObjective`), and the reward
    :math:`\delta_R(u, u')` a scalar or an (S, A, S) array. Formalism 4 (RM) of Subramani et al.
    (2024), in the transition-labelled convention of Icarte et al. (2018) (definition from the
    project's notes; paper body not read).

    Parameters
    ----------
    delta : int array, shape (U, n_letters)
        Deterministic machine transitions.
    rewards : array, shape (U, U) or (U, U, S, A, S)
        :math:`\delta_R(u, u')`: a scalar per machine edge, or a reward of the environment
        transition.
    start : int in [0, U)
    gamma : float in [0, 1)

    Examples
    --------
    >>> rm = RewardMachine([[1, 0], [1, 0]], [[0.0, 1.0], [0.0, 0.0]], start=0, gamma=0.5)
    >>> rm.n_states, rm.n_letters
    (2, 2)
    """

    delta: np.ndarray
    rewards: np.ndarray
    start: int
    gamma: float

    def __post_init__(self):
        d = np.asarray(self.delta)
        if d.ndim != 2 or d.size == 0:
            raise ValueError(f"delta must be a non-empty (U, n_letters) array, got shape {d.shape}")
        if not np.issubdtype(d.dtype, np.integer):
            if np.issubdtype(d.dtype, np.floating) and np.all(d == np.round(d)):
                d = d.astype(np.int64)
            else:
                raise ValueError("delta must hold integer machine states")
        U = d.shape[0]
        bad = (d < 0) | (d >= U)
        if bad.any():
            i, j = (int(x) for x in np.argwhere(bad)[0])
            raise ValueError(f"delta[{i}, {j}] = {d[i, j]}, must be in [0, {U})")
        R = check_array(self.rewards, "rewards", ndim=(2, 5))
        if R.shape[:2] != (U, U):
            raise ValueError(f"rewards must have shape ({U}, {U}) or ({U}, {U}, S, A, S), "
                             f"got {R.shape}")
        start = check_integer(self.start, "start", minimum=0)
        if start >= U:
            raise ValueError(f"start must be in [0, {U}), got {start}")
        object.__setattr__(self, "delta", d.astype(np.int64))
        object.__setattr__(self, "rewards", R)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "gamma",
                           check_in_range(self.gamma, "gamma", 0.0, 1.0, high_open=True))

    @property
    def n_states(self) -> int:
        """Number of machine states U."""
        return self.delta.shape[0]

    @property
    def n_letters(self) -> int:
        """Alphabet size."""
        return self.delta.shape[1]

    @classmethod
    def from_markov_reward(cls, reward, gamma: float) -> RewardMachine:
        r"""The one-state machine with :math:`\delta_R(0, 0) = R`: it is MR with the same discount.

        Parameters
        ----------
        reward : array, shape (S, A, S)
        gamma : float in [0, 1)

        Examples
        --------
        >>> RewardMachine.from_markov_reward(np.ones((1, 2, 1)), 0.5).n_states
        1
        """
        R = check_array(reward, "reward", ndim=3)
        return cls(np.zeros((1, 1), dtype=np.int64), R[None, None], 0, gamma)


class RewardMachineObjective(_Objective):
    r"""The RM objective of a :class:`RewardMachine` in an environment, evaluated exactly.

    The policy sees only the environment state (the formalisms order stationary Markov policies
    of the environment), so :math:`(s_t, u_t)` is a Markov chain, and

    .. math::
        J(\pi) = \sum_s \mu_0(s)\, V(s, u_0), \qquad
        V = (I - \gamma P^\times_\pi)^{-1} r^\times_\pi,

    where :math:`P^\times_\pi[(s,u),(s',u')] = \sum_a \pi(a|s) P[s,a,s']\,
    \mathbb 1[u' = \delta_U(u, L(s,a,s'))]` and :math:`r^\times_\pi(s, u) = \sum_{a, s'}
    \pi(a|s) P[s, a, s']\, \delta_R(u, \delta_U(u, L(s,a,s')))(s, a, s')`. Evaluated by
    :meth:`prefrl.mdp.TabularMDP.expected_return` on the product MDP :meth:`product_mdp`
    (states :math:`s U + u`). Formalism 4 of Subramani et al. (2024).

    Parameters
    ----------
    env : TabularMDP
    machine : RewardMachine
    labelling : int array, shape (S, A, S)
        Letter :math:`L(s, a, s')` of each transition, in ``[0, machine.n_letters)``.

    Examples
    --------
    >>> # reward 1 on the first change of action, in the one-state environment
    >>> rm = RewardMachine([[1, 2], [1, 3], [3, 2], [3, 3]],
    ...                    [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], 0, 0.5)
    >>> J = RewardMachineObjective(one_state_env(), rm, [[[0], [1]]])
    >>> round(J([[0.5, 0.5]]), 6), round(J([[1.0, 0.0]]), 6)    # sum_t (gamma / 2)^t, t >= 1
    (0.333333, 0.0)
    """

    def __init__(self, env, machine: RewardMachine, labelling):
        self.env = _check_env(env)
        if not isinstance(machine, RewardMachine):
            raise TypeError(f"machine must be a RewardMachine, got {type(machine).__name__}")
        self.machine = machine
        self.labelling = _check_labelling(env, labelling, machine.n_letters)
        S, A, U = env.n_states, env.n_actions, machine.n_states
        R = machine.rewards
        if R.ndim == 2:
            R = np.broadcast_to(R[:, :, None, None, None], (U, U, S, A, S))
        elif R.shape[2:] != (S, A, S):
            raise ValueError(f"machine.rewards must have shape ({U}, {U}) or "
                             f"({U}, {U}, {S}, {A}, {S}), got {R.shape}")
        self._R = R
        self.gamma = machine.gamma
        self._mdp = self.product_mdp()

    def product_mdp(self) -> TabularMDP:
        r"""The product MDP on :math:`(s, u)` (index :math:`sU + u`), shape (SU, A, SU).

        Returns
        -------
        TabularMDP
            Transitions :math:`P[s,a,s']\,\mathbb 1[u' = \delta_U(u, L(s,a,s'))]`, reward
            :math:`\delta_R(u, u')(s, a, s')`, the machine's discount, start
            :math:`\mu_0 \otimes \delta_{u_0}`.

        Examples
        --------
        >>> rm = RewardMachine.from_markov_reward(np.ones((1, 2, 1)), 0.5)
        >>> RewardMachineObjective(one_state_env(), rm, np.zeros((1, 2, 1), int)).product_mdp()
        TabularMDP(S=1, A=2, gamma=0.5, dense)
        """
        env, m = self.env, self.machine
        S, A, U = env.n_states, env.n_actions, m.n_states
        P = env.dense_transitions()
        PX = np.zeros((S * U, A, S * U))
        RX = np.zeros((S * U, A, S * U))
        s, a, t = np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij")
        s, a, t = s.ravel(), a.ravel(), t.ravel()
        for u in range(U):
            v = m.delta[u, self.labelling[s, a, t]]
            PX[s * U + u, a, t * U + v] = P[s, a, t]
            RX[s * U + u, a, t * U + v] = self._R[u, v, s, a, t]
        mu = np.zeros(S * U)
        mu[np.arange(S) * U + m.start] = env.initial
        return TabularMDP(PX, RX, m.gamma, mu)

    def lift_policy(self, policy) -> np.ndarray:
        r"""The product policy :math:`\pi^\times(a | s, u) = \pi(a | s)`, shape (SU, A).

        Examples
        --------
        >>> rm = RewardMachine.from_markov_reward(np.ones((1, 2, 1)), 0.5)
        >>> RewardMachineObjective(one_state_env(), rm, np.zeros((1, 2, 1), int)).lift_policy(
        ...     [[0.25, 0.75]]).tolist()
        [[0.25, 0.75]]
        """
        pi = self.env.check_policy(policy)
        return np.repeat(pi, self.machine.n_states, axis=0)

    def values(self, policy) -> np.ndarray:
        return np.array([self._mdp.expected_return(self.lift_policy(policy))])


# ---------------------------------------------------------------------------- LTL
def prop(i: int) -> Formula:
    r"""The atomic proposition :math:`p_i` (true on the first transition when it holds there).

    Parameters
    ----------
    i : int >= 0
        Index into the ``propositions`` array of :class:`LTLObjective`.

    Examples
    --------
    >>> str(prop(0) & ~prop(1))
    '(p0 & !p1)'
    """
    return Formula("prop", (check_integer(i, "i", minimum=0),))


def next_(formula: Formula, k: int = 1) -> Formula:
    r""":math:`X^k \varphi`: :math:`\varphi` holds from step :math:`k` on (any formula of the fragment).

    Examples
    --------
    >>> str(next_(prop(0), 2))
    'X X p0'
    """
    k = check_integer(k, "k", minimum=0)
    for _ in range(k):
        formula = Formula("next", (formula,))
    return formula


def eventually(b: Formula) -> Formula:
    r""":math:`\mathbf F b`: the propositional formula :math:`b` holds on some transition.

    Examples
    --------
    >>> str(eventually(prop(0)))
    'F p0'
    """
    return Formula("eventually", (b,))


def always(b: Formula) -> Formula:
    r""":math:`\mathbf G b`: the propositional formula :math:`b` holds on every transition.

    Examples
    --------
    >>> str(always(~prop(0)))
    'G !p0'
    """
    return Formula("always", (b,))


def until(b1: Formula, b2: Formula) -> Formula:
    r""":math:`b_1 \mathbf U b_2`: :math:`b_2` holds at some step and :math:`b_1` at every step before.

    Examples
    --------
    >>> str(until(prop(0), prop(1)))
    '(p0 U p1)'
    """
    return Formula("until", (b1, b2))


def always_eventually(b: Formula) -> Formula:
    r""":math:`\mathbf{G F} b`: :math:`b` holds infinitely often (a Büchi condition).

    Examples
    --------
    >>> str(always_eventually(prop(0)))
    'GF p0'
    """
    return Formula("gf", (b,))


def eventually_always(b: Formula) -> Formula:
    r""":math:`\mathbf{F G} b`: :math:`b` holds from some step on (a co-Büchi condition).

    Examples
    --------
    >>> str(eventually_always(prop(0)))
    'FG p0'
    """
    return Formula("fg", (b,))


@dataclass(frozen=True, eq=False)
class SatisfactionResult:
    r"""Exact probability that the environment's run under a policy is accepted by an automaton.

    Attributes
    ----------
    probability : float
        :math:`\Pr_{\mu_0,\pi}(\xi \models \varphi)`.
    product_states : int array, shape (n, 2)
        The product states :math:`(s, q)` reachable from :math:`\mu_0 \times \{q_0\}` (only
        these are built).
    accepting : bool array, shape (n,)
        Whether each lies in an accepting bottom strongly connected component.
    reach : array, shape (n,)
        Probability of reaching an accepting BSCC from each.
    n_bsccs, n_accepting : int
        Bottom SCCs of the product chain, and how many of them accept.
    residual : float
        :math:`\|(I - P_{TT})x_T - P_{TO}\mathbf 1\|_\infty` of the linear solve (the certificate).
    """

    probability: float
    product_states: np.ndarray
    accepting: np.ndarray
    reach: np.ndarray
    n_bsccs: int
    n_accepting: int
    residual: float


def _n_props(propositions) -> int:
    return int(np.shape(propositions)[0]) if np.ndim(propositions) > 1 else 1


def _as_automaton(spec, n_props):
    if isinstance(spec, DeterministicAutomaton):
        if spec.n_letters != 2**n_props:
            raise ValueError(f"automaton reads {spec.n_letters} letters, expected 2^{n_props}")
        return spec
    if isinstance(spec, Formula):
        return to_automaton(spec, n_props)
    raise TypeError(f"formula must be an LTL Formula or a DeterministicAutomaton, "
                    f"got {type(spec).__name__}")


def satisfaction_probability(env, policy, formula, propositions) -> SatisfactionResult:
    r"""Exact :math:`\Pr_\pi(\xi \models \varphi)` for a stationary policy, through the product chain.

    The formula is turned into a deterministic automaton :math:`(Q, \delta, q_0, \mathrm{Acc})`
    over letters :math:`\sigma_t = L(s_t, a_t, s_{t+1})` (:func:`transition_labels`). On the
    product chain :math:`(s_t, q_t)`,
    :math:`P^\times[(s,q),(s',q')] = \sum_a \pi(a|s) P[s,a,s']\,\mathbb 1[q'=\delta(q, L(s,a,s'))]`,
    a run almost surely ends in a bottom strongly connected component (BSCC) :math:`C` and
    visits all its states infinitely often, so it is accepted iff the automaton states of
    :math:`C` satisfy :math:`\mathrm{Acc}` (Emerson-Lei: Büchi, co-Büchi, Rabin, Streett).
    With :math:`A` the union of accepting BSCCs,

    .. math::
        \Pr(\xi \models \varphi) = \sum_s \mu_0(s)\, x(s, q_0), \qquad
        x = 0 \text{ on } Z,\quad x = 1 \text{ on } O,\quad
        (I - P^\times_{TT}) x_T = P^\times_{TO} \mathbf 1,

    where :math:`Z` (the states that cannot reach :math:`A`) and :math:`O \supseteq A` (the states
    that cannot reach :math:`Z`) are found on the support graph, and :math:`T` is the rest
    (nonsingular: every state of :math:`T` reaches :math:`A`). A chain whose transient states leak
    only with probabilities below rounding raises ValueError rather than return an unreliable
    number.
    BSCCs by :func:`scipy.sparse.csgraph.connected_components`; Baier and Katoen (2008),
    *Principles of Model Checking*, Sec. 10.3. The LTL formalism (3) of Subramani et al. (2024).

    Parameters
    ----------
    env : TabularMDP
    policy : array, shape (S, A), or int array (S,)
    formula : Formula (the fragment of :func:`eventually`, :func:`always`, :func:`until`,
        :func:`always_eventually`, :func:`eventually_always`, :func:`next_`, ``& | ~``) or a
        ``prefrl._automata.DeterministicAutomaton`` over :math:`2^k` letters
    propositions : bool array, shape (k, S) or (k, S, A, S)

    Returns
    -------
    SatisfactionResult

    Examples
    --------
    >>> env, goal = stay_go_env(), [[False, True]]
    >>> round(satisfaction_probability(env, [[0.9, 0.1], [1, 0]], eventually(prop(0)), goal)
    ...       .probability, 12)
    1.0
    >>> satisfaction_probability(env, [[1.0, 0.0], [1, 0]], eventually(prop(0)), goal).probability
    0.0
    """
    env = _check_env(env)
    pi = env.check_policy(policy)
    letters = transition_labels(env, propositions)
    aut = _as_automaton(formula, _n_props(propositions))
    M, states, init = _product_chain(env, pi, aut.delta, letters, aut.start)
    G = M > 0
    n, lab = connected_components(G, directed=True, connection="strong")
    # A component is bottom iff no edge of the support graph leaves it.
    r, c = np.nonzero(G)
    leaves = np.zeros(n, dtype=bool)
    leaves[lab[r[lab[r] != lab[c]]]] = True
    acc = np.zeros(len(states), dtype=bool)
    n_b = n_a = 0
    for comp in np.flatnonzero(~leaves):
        idx = np.flatnonzero(lab == comp)
        n_b += 1
        inf_mask = np.zeros(aut.n_states, dtype=bool)
        inf_mask[states[idx, 1]] = True
        if aut.accepts_inf(inf_mask):
            n_a += 1
            acc[idx] = True
    # Prob0: states that cannot reach A; Prob1: states that cannot reach Prob0 (graph
    # precomputations, exact whatever the size of the positive probabilities).
    can = _backward_closure(G, acc)
    sure = ~_backward_closure(G, ~can)
    T = np.flatnonzero(can & ~sure)
    x = sure.astype(float)
    resid = 0.0
    if T.size:
        B = M[np.ix_(T, np.flatnonzero(sure))].sum(axis=1)
        A = -M[np.ix_(T, T)]
        # 1 - P[s, s] formed as the sum of the row's other entries keeps its relative accuracy.
        A[np.diag_indices(T.size)] = np.array([np.delete(M[i], i).sum() for i in T])
        try:
            xT = np.linalg.solve(A, B)
            resid = float(np.max(np.abs(A @ xT - B)))
        except np.linalg.LinAlgError:
            xT, resid = np.full(T.size, np.nan), np.inf
        if not (np.all(np.isfinite(xT)) and resid <= 1e-9
                and np.all(xT > -1e-9) and np.all(xT < 1 + 1e-9)):
            raise ValueError("the product chain is numerically ill-conditioned (a transient "
                             "class leaks with a probability below rounding); the satisfaction "
                             "probability cannot be computed reliably")
        x[T] = np.clip(xT, 0.0, 1.0)
    p = float(np.clip(init @ x, 0.0, 1.0))
    return SatisfactionResult(p, states, acc, x, n_b, n_a, resid)


class LTLObjective(_Objective):
    r"""The LTL objective: the probability that the run satisfies a formula.

    .. math::
        J(\pi) = \Pr_{\mu_0, \pi}(\xi \models \varphi), \qquad
        \xi = (s_0, a_0, s_1, a_1, \dots),\quad \sigma_t = L(s_t, a_t, s_{t+1}),

    computed exactly by :func:`satisfaction_probability`. Supported fragment: boolean
    combinations (``&``, ``|``, ``~``) of :math:`X^k` of the fragment, :math:`\mathbf F b`,
    :math:`\mathbf G b`, :math:`b_1 \mathbf U b_2`, :math:`\mathbf{GF} b`, :math:`\mathbf{FG} b`
    with propositional :math:`b` (each has a deterministic automaton of at most three states;
    boolean combinations are products and complements with Emerson-Lei acceptance), or any
    deterministic automaton given directly. Formalism 3 (LTL) of Subramani et al. (2024)
    (definition from the project's notes; paper body not read).

    Parameters
    ----------
    env : TabularMDP
    formula : Formula or DeterministicAutomaton
    propositions : bool array, shape (k, S) or (k, S, A, S)

    Examples
    --------
    >>> env = one_state_env(3)
    >>> acts = np.eye(3, dtype=bool)[:, None, :, None]        # p_i: "action i is taken"
    >>> J = LTLObjective(env, eventually(prop(0)) & eventually(prop(1)), acts)
    >>> J([[0.2, 0.3, 0.5]]), J([[0.5, 0.0, 0.5]])
    (1.0, 0.0)
    """

    def __init__(self, env, formula, propositions):
        self.env = _check_env(env)
        self.propositions = np.asarray(propositions)
        transition_labels(env, propositions)  # validates
        self.automaton = _as_automaton(formula, _n_props(propositions))
        self.formula = formula

    def values(self, policy) -> np.ndarray:
        res = satisfaction_probability(self.env, policy, self.automaton, self.propositions)
        return np.array([res.probability])


# ---------------------------------------------------------------------------- INMR / FTR
@dataclass(frozen=True, eq=False)
class ReturnDistribution:
    r"""The exact distribution of the return :math:`G_R(\xi)` of a policy over a finite horizon.

    Attributes
    ----------
    returns : array, shape (n,)
        Distinct return values, sorted increasingly.
    probabilities : array, shape (n,)
        Their probabilities (summing to 1).
    iterations : int
        The horizon H (number of dynamic-programming steps).
    """

    returns: np.ndarray
    probabilities: np.ndarray
    iterations: int

    def expect(self, f: Callable[[float], float]) -> float:
        r""":math:`\mathbb E[f(G)] = \sum_i p_i f(g_i)` (ValueError if f is not finite).

        Examples
        --------
        >>> ReturnDistribution(np.array([0.0, 1.0]), np.array([0.5, 0.5]), 1).expect(lambda g: g)
        0.5
        """
        vals = np.array([float(f(g)) for g in self.returns])
        if not np.all(np.isfinite(vals)):
            raise ValueError("f returned a non-finite value")
        return float(vals @ self.probabilities)


_MAX_ATOMS = 200_000


def return_distribution(env, policy, reward, horizon: int, gamma: float = 1.0) -> ReturnDistribution:
    r"""Exact distribution of the discounted return over a finite horizon, by dynamic programming.

    .. math::
        G_R(\xi) = \sum_{t=0}^{H-1} \gamma^t R(s_t, a_t, s_{t+1}), \qquad
        \rho_{t+1}(s', g + \gamma^t R(s,a,s')) \mathrel{+}= \rho_t(s, g)\, \pi(a|s)\, P[s,a,s'],

    starting from :math:`\rho_0(s, 0) = \mu_0(s)`; the law of :math:`G_R` is the marginal of
    :math:`\rho_H` over returns. Exact (a finite distribution); its size is at most the number of
    distinct partial returns, small when rewards take few values. For an episodic environment
    whose absorbing states have zero reward and are reached surely within :math:`H` steps (a
    tree, a DAG), this is the law of the infinite-horizon return. Raises ValueError beyond
    200000 atoms.

    Parameters
    ----------
    env : TabularMDP
    policy : array, shape (S, A), or int array (S,)
    reward : array, shape (S, A) or (S, A, S)
    horizon : int >= 1
    gamma : float in [0, 1]

    Returns
    -------
    ReturnDistribution

    Examples
    --------
    >>> d = return_distribution(one_state_env(), [[0.5, 0.5]], [[1.0, 0.0]], horizon=2)
    >>> d.returns.tolist(), d.probabilities.tolist()
    ([0.0, 1.0, 2.0], [0.25, 0.5, 0.25])
    """
    env = _check_env(env)
    pi = env.check_policy(policy)
    H = check_integer(horizon, "horizon", minimum=1)
    gamma = check_in_range(gamma, "gamma", 0.0, 1.0)
    S, A = env.n_states, env.n_actions
    R = check_array(reward, "reward", ndim=(2, 3))
    if R.shape[:2] != (S, A) or (R.ndim == 3 and R.shape[2] != S):
        raise ValueError(f"reward must have shape ({S}, {A}) or ({S}, {A}, {S}), got {R.shape}")
    if R.ndim == 2:
        R = np.broadcast_to(R[:, :, None], (S, A, S))
    P = env.dense_transitions()
    W = pi[:, :, None] * P  # Pr(a, s' | s)
    layer = {(s, 0.0): float(env.initial[s]) for s in range(S) if env.initial[s] > 0}
    for t in range(H):
        nxt: dict = {}
        disc = gamma**t
        for (s, g), p in layer.items():
            a_idx, t_idx = np.nonzero(W[s])
            for a, s2 in zip(a_idx, t_idx):
                key = (int(s2), g + disc * float(R[s, a, s2]))
                nxt[key] = nxt.get(key, 0.0) + p * W[s, a, s2]
        if len(nxt) > _MAX_ATOMS:
            raise ValueError(f"horizon: the return distribution exceeds {_MAX_ATOMS} atoms at "
                             f"step {t + 1}; use a shorter horizon or fewer reward values")
        layer = nxt
    marg: dict = {}
    for (_, g), p in layer.items():
        marg[g] = marg.get(g, 0.0) + p
    g = np.array(sorted(marg))
    return ReturnDistribution(g, np.array([marg[x] for x in g]), H)


class InnerNonlinearMR(_Objective):
    r"""Inner nonlinear Markov reward (INMR) over a finite horizon: a function of the return.

    .. math::
        J(\pi) = \mathbb E_{\mu_0, \pi}\big[f(G_R(\xi))\big], \qquad
        G_R(\xi) = \sum_{t=0}^{H-1} \gamma^t R(s_t, a_t, s_{t+1}),

    computed exactly from :func:`return_distribution`. Restriction: a finite horizon :math:`H`
    (exact for episodic environments absorbed with zero reward within :math:`H` steps); the
    infinite-horizon law of :math:`G_R` is in general not finite. Formalism 5 of Subramani et al.
    (2024) (definition from the project's notes).

    Parameters
    ----------
    env : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    f : callable float -> float
    horizon : int >= 1
    gamma : float in [0, 1]

    Examples
    --------
    >>> J = InnerNonlinearMR(one_state_env(), [[1.0, 0.0]], lambda g: float(g == 1), horizon=2)
    >>> [round(J([[p, 1 - p]]), 6) for p in (0.0, 0.5, 1.0)]   # Pr(G = 1) = 2 p (1 - p)
    [0.0, 0.5, 0.0]
    """

    def __init__(self, env, reward, f: Callable[[float], float], horizon: int, gamma: float = 1.0):
        if not callable(f):
            raise TypeError("f must be callable")
        self.env = _check_env(env)
        self.reward = check_array(reward, "reward", ndim=(2, 3))
        _check_reward(env, self.reward)  # shape (S, A) or (S, A, S)
        self.f = f
        self.horizon = check_integer(horizon, "horizon", minimum=1)
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0)

    def values(self, policy) -> np.ndarray:
        d = return_distribution(self.env, policy, self.reward, self.horizon, self.gamma)
        return np.array([d.expect(self.f)])


class TrajectoryFunction(_Objective):
    r"""Functions from trajectories to reals (FTR) over a finite horizon, by exact enumeration.

    .. math::
        J(\pi) = \mathbb E_{\mu_0, \pi}\big[f(s_0, a_0, s_1, \dots, a_{H-1}, s_H)\big]
        = \sum_{\xi} \mu_0(s_0) \prod_{t<H} \pi(a_t|s_t) P[s_t, a_t, s_{t+1}]\, f(\xi),

    the sum over the trajectories of positive probability. Restriction: a finite horizon
    :math:`H` and at most :math:`10^5` trajectories (:math:`(S A)^H`); exact for episodic
    environments absorbed within :math:`H` steps when :math:`f` ignores the absorbed tail.
    Formalism 9 of Subramani et al. (2024) (definition from the project's notes).

    Parameters
    ----------
    env : TabularMDP
    f : callable (states int array (H+1,), actions int array (H,)) -> float
    horizon : int >= 1

    Examples
    --------
    >>> J = TrajectoryFunction(one_state_env(), lambda s, a: float(a[0] != a[1]), horizon=2)
    >>> round(J([[0.25, 0.75]]), 6)
    0.375
    """

    def __init__(self, env, f, horizon: int):
        if not callable(f):
            raise TypeError("f must be callable")
        self.env = _check_env(env)
        self.f = f
        self.horizon = check_integer(horizon, "horizon", minimum=1)
        if (env.n_states * env.n_actions) ** self.horizon > 100_000:
            raise ValueError("horizon: more than 1e5 trajectories to enumerate")

    def values(self, policy) -> np.ndarray:
        pi = self.env.check_policy(policy)
        P, H = self.env.dense_transitions(), self.horizon
        total = 0.0
        stack = [([int(s)], [], float(self.env.initial[s]))
                 for s in np.flatnonzero(self.env.initial > 0)]
        while stack:
            states, acts, p = stack.pop()
            if len(acts) == H:
                v = float(self.f(np.array(states), np.array(acts, dtype=int)))
                if not np.isfinite(v):
                    raise ValueError(f"f returned {v}, must be finite")
                total += p * v
                continue
            s = states[-1]
            for a in np.flatnonzero(pi[s] > 0):
                for s2 in np.flatnonzero(P[s, a] > 0):
                    stack.append(([*states, int(s2)], [*acts, int(a)], p * pi[s, a] * P[s, a, s2]))
        return np.array([total])
