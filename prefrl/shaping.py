r"""Reward shaping: potential-based shaping, EPIC distances and reward redistribution.

Notation: :math:`S` states, :math:`A` actions, transitions :math:`P[s, a, s']`, rewards
:math:`R[s, a, s']` (an ``(S, A)`` reward is read as :math:`R[s, a, s'] = r[s, a]` for every
:math:`s'`), discount :math:`\gamma`, potential :math:`\Phi: S \to \mathbb{R}`.

- **Potential-based shaping** (Ng, Harada and Russell 1999): :math:`R' = R + F` with
  :math:`F(s, a, s') = \gamma \Phi(s') - \Phi(s)` shifts *every* policy's value by
  :math:`-\Phi`, so it changes neither the optimal policies nor the ordering of policies
  (:func:`shape`, :func:`shaped_mdp`, :func:`is_potential_based`); a non-potential :math:`F` can
  flip the optimal action (:func:`necessity_counterexample`).
- **Wiewiora (2003)**: a TD learner on :math:`R + F` started at :math:`Q_0` and one on :math:`R`
  started at :math:`Q_0 + \Phi` make the same choices from the same random numbers
  (:func:`q_learning`, :func:`sarsa`).
- **EPIC** (Gleave et al. 2021): the Pearson distance between canonically shaped rewards
  (:func:`canonicalize`, :func:`pearson_distance`, :func:`epic_distance`).
- **Reward redistribution** (Chan et al. 2024, attention-based credit): spreading a sequence
  reward over the tokens with weights that sum to one keeps every undiscounted return
  (:func:`redistribute`, :func:`sequence_returns`, :func:`sequence_value`).

**Terminal convention.** An MDP here runs forever; an episode that "ends" in a goal state is an
absorbing state with zero reward. Without further care the shaping reward
:math:`(\gamma - 1)\Phi(g)` is paid on every self-loop of an absorbing :math:`g`, and the identity
:math:`V' = V - \Phi` holds everywhere, :math:`g` included. When the episode really *stops* at
:math:`g` (a learner that does not bootstrap from :math:`g`, or an undiscounted episodic task),
pass ``terminal``: the potential is then taken to be 0 at terminal states (the condition of
Ng et al. for the undiscounted episodic case) and no shaping reward is paid out of them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
    check_same_shape,
)
from .mdp.core import TabularMDP

__all__ = [
    "NecessityCounterexample",
    "PotentialFit",
    "TDTrajectory",
    "canonicalize",
    "epic_distance",
    "is_potential_based",
    "manhattan_potential",
    "necessity_counterexample",
    "pearson_distance",
    "q_learning",
    "redistribute",
    "sarsa",
    "sequence_returns",
    "sequence_value",
    "shape",
    "shaped_mdp",
    "shaping_reward",
    "transition_coverage",
]


# ---------------------------------------------------------------------------------------- helpers
def _as_sas(rewards, name: str = "rewards") -> np.ndarray:
    """Rewards as an (S, A, S) array: an (S, A) reward is repeated over the next state."""
    R = check_array(rewards, name, ndim=(2, 3))
    if R.ndim == 2:
        S = R.shape[0]
        return np.repeat(R[:, :, None], S, axis=2)
    if R.shape[2] != R.shape[0]:
        raise ValueError(f"{name} must have shape (S, A) or (S, A, S), got {R.shape}")
    return R


def _terminal_mask(terminal, S: int) -> np.ndarray:
    """A boolean (S,) mask from None, a boolean mask or a sequence of state indices."""
    if terminal is None:
        return np.zeros(S, dtype=bool)
    arr = np.asarray(terminal)
    if arr.dtype == bool:
        if arr.shape != (S,):
            raise ValueError(f"terminal must be a boolean mask of shape ({S},), got {arr.shape}")
        return arr.copy()
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        return np.zeros(S, dtype=bool)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("terminal must be a boolean mask or a 1-D sequence of state indices")
    bad = (arr < 0) | (arr >= S)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"terminal[{i}] = {arr[i]}, must be a state index in [0, {S})")
    mask = np.zeros(S, dtype=bool)
    mask[arr] = True
    return mask


def _check_gamma(gamma, *, allow_one: bool = True) -> float:
    return check_in_range(gamma, "gamma", 0.0, 1.0, high_open=not allow_one)


# ------------------------------------------------------------------------ potential-based shaping
def shaping_reward(potential, gamma: float, n_actions: int, terminal=None) -> np.ndarray:
    r"""The potential-based shaping reward :math:`F(s, a, s') = \gamma \Phi(s') - \Phi(s)`.

    .. math::
        F(s, a, s') = \gamma\, \tilde\Phi(s') - \tilde\Phi(s) \quad (s \notin G), \qquad
        F(s, a, s') = 0 \quad (s \in G), \qquad
        \tilde\Phi(s) = \Phi(s)\, \mathbb{1}[s \notin G],

    where :math:`G` is the set of terminal states (empty by default) and :math:`\Phi` the
    potential. Ng, Harada and Russell (1999), "Policy invariance under reward transformations",
    Definition of potential-based shaping (Sec. 3) and the condition :math:`\Phi(s_0) = 0` at the
    absorbing state for undiscounted episodic tasks.

    Parameters
    ----------
    potential : array, shape (S,)
        :math:`\Phi(s)`.
    gamma : float in [0, 1]
        :math:`\gamma`.
    n_actions : int >= 1
        :math:`A` (``F`` does not depend on the action, but has the shape of a reward).
    terminal : bool array (S,) or int sequence, optional
        Terminal states :math:`G` (see the module's terminal convention).

    Returns
    -------
    array, shape (S, A, S)

    Examples
    --------
    >>> shaping_reward([0.0, 1.0], gamma=0.5, n_actions=1)[:, 0, :]
    array([[ 0. ,  0.5],
           [-1. , -0.5]])
    """
    phi = check_array(potential, "potential", ndim=1)
    gamma = _check_gamma(gamma)
    A = check_integer(n_actions, "n_actions", minimum=1)
    S = phi.shape[0]
    term = _terminal_mask(terminal, S)
    phi = np.where(term, 0.0, phi)
    F = gamma * phi[None, None, :] - phi[:, None, None]
    F = np.broadcast_to(F, (S, A, S)).copy()
    F[term] = 0.0
    return F


def shape(rewards, potential, gamma: float, terminal=None) -> np.ndarray:
    r"""Potential-based shaping of a reward: :math:`R'(s, a, s') = R(s, a, s') + \gamma\Phi(s') - \Phi(s)`.

    .. math::
        R'(s, a, s') = R(s, a, s') + F(s, a, s'), \qquad
        V^\pi_{R'}(s) = V^\pi_R(s) - \tilde\Phi(s) \ \text{for every policy } \pi,

    with :math:`F` from :func:`shaping_reward` and :math:`\tilde\Phi` the potential set to 0 on
    terminal states. The value identity (valid whenever terminal states are absorbing) gives
    Ng, Harada and Russell (1999), Theorem 1: :math:`Q^*_{R'} = Q^*_R - \tilde\Phi(s)`, so the
    optimal actions, and indeed the whole ordering of policies under any start distribution, are
    unchanged.

    Parameters
    ----------
    rewards : array, shape (S, A) or (S, A, S)
        :math:`R` (an (S, A) reward is repeated over :math:`s'`).
    potential : array, shape (S,)
        :math:`\Phi`.
    gamma : float in [0, 1]
    terminal : bool array (S,) or int sequence, optional
        Terminal (absorbing) states, where the potential counts as 0.

    Returns
    -------
    array, shape (S, A, S)

    Examples
    --------
    >>> R = np.zeros((2, 1, 2)); R[0, 0, 1] = 1.0
    >>> shape(R, [2.0, 0.0], gamma=0.9)[:, 0, :]
    array([[-0.2, -1. ],
           [ 1.8,  0. ]])
    """
    R = _as_sas(rewards)
    S, A, _ = R.shape
    phi = check_array(potential, "potential", ndim=1)
    if phi.shape[0] != S:
        raise ValueError(f"potential must have shape ({S},) to match rewards, got {phi.shape}")
    return R + shaping_reward(phi, gamma, A, terminal)


def shaped_mdp(mdp: TabularMDP, potential, terminal=None) -> TabularMDP:
    r"""The MDP with the same dynamics and the shaped reward :math:`R + \gamma\Phi(s') - \Phi(s)`.

    .. math::
        M' = (S, A, P, R + F_\Phi, \gamma, \mu_0), \qquad V^\pi_{M'} = V^\pi_M - \tilde\Phi .

    For a finite horizon :math:`H` the identity holds at time :math:`t` when the terminal values
    are shifted too, :math:`V'_H = V_H - \tilde\Phi`; with zero terminal values the two differ by
    :math:`\gamma^{H-t}\,\mathbb{E}[\tilde\Phi(s_H)]` (the reason for :math:`\Phi = 0` at the end
    of an episode). Ng, Harada and Russell (1999), Theorem 1.

    Parameters
    ----------
    mdp : TabularMDP
    potential : array, shape (S,)
    terminal : bool array (S,) or int sequence, optional
        Terminal states; each must be absorbing (:math:`P[g, a, g] = 1` for every :math:`a`).

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(3, gamma=0.5)
    >>> phi = np.array([1.0, 2.0, 0.0])
    >>> pi = np.full((3, 2), 0.5)
    >>> bool(np.allclose(shaped_mdp(mdp, phi).evaluate(pi).values, mdp.evaluate(pi).values - phi))
    True
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S = mdp.n_states
    term = _terminal_mask(terminal, S)
    if term.any():
        leaving = ~_absorbing(mdp) & term
        if leaving.any():
            bad = int(np.argmax(leaving))
            raise ValueError(f"terminal state {bad} is not absorbing (P[{bad}, a, {bad}] < 1)")
    R = shape(mdp.rewards, potential, mdp.gamma, term)
    return TabularMDP(mdp.transitions, R, mdp.gamma, mdp.initial, mdp.horizon,
                      state_labels=mdp.state_labels, action_labels=mdp.action_labels)


@dataclass(frozen=True, eq=False)
class PotentialFit:
    r"""Result of :func:`is_potential_based`.

    Attributes
    ----------
    potential : array, shape (S,)
        Least-squares potential :math:`\hat\Phi` (minimum-norm when not unique, e.g. :math:`\gamma = 1`).
    residual : float
        :math:`\max |F(s, a, s') - (\gamma\hat\Phi(s') - \hat\Phi(s))|` over the checked entries.
    holds : bool
        Whether ``residual <= atol * (1 + max |F|)``.
    gamma : float
    """

    potential: np.ndarray
    residual: float
    holds: bool
    gamma: float

    def __bool__(self) -> bool:
        return bool(self.holds)


def is_potential_based(F, gamma: float, support=None, atol: float = 1e-9) -> PotentialFit:
    r"""Whether :math:`F` is potential-based, with the least-squares potential and the residual.

    .. math::
        \hat\Phi = \arg\min_{\Phi \in \mathbb{R}^S} \sum_{(s,a,s') \in \mathcal{D}}
        \big(F(s, a, s') - \gamma\Phi(s') + \Phi(s)\big)^2, \qquad
        \text{residual} = \max_{(s,a,s') \in \mathcal{D}} \big|F(s,a,s') - \gamma\hat\Phi(s') + \hat\Phi(s)\big|,

    where :math:`\mathcal{D}` is ``support`` (all of :math:`S \times A \times S` by default).
    :math:`F` is potential-based (Ng, Harada and Russell 1999, Sec. 3) exactly when the
    residual is 0; here when it is at most ``atol`` times :math:`1 + \max|F|`.

    Parameters
    ----------
    F : array, shape (S, A, S) (or (S, A), read as independent of :math:`s'`)
        :math:`F(s, a, s')`.
    gamma : float in [0, 1]
    support : bool array, shape (S, A, S), optional
        The triples on which the identity must hold (e.g. ``P > 0``: shaping off the support of
        the dynamics never matters).
    atol : float >= 0
        Relative tolerance for ``holds``.

    Returns
    -------
    PotentialFit

    Examples
    --------
    >>> F = shaping_reward([1.0, -2.0, 0.5], gamma=0.9, n_actions=2)
    >>> fit = is_potential_based(F, gamma=0.9)
    >>> bool(fit), fit.potential.round(6)
    (True, array([ 1. , -2. ,  0.5]))
    >>> F[0, 1, 2] += 1.0
    >>> bool(is_potential_based(F, gamma=0.9))
    False
    """
    F = _as_sas(F, "F")
    gamma = _check_gamma(gamma)
    atol = check_nonnegative(atol, "atol")
    S = F.shape[0]
    if support is None:
        mask = np.ones(F.shape, dtype=bool)
    else:
        mask = np.asarray(support)
        if mask.shape != F.shape:
            raise ValueError(f"support must have shape {F.shape}, got {mask.shape}")
        mask = mask.astype(bool)
    counts = mask.sum(axis=1)  # (S, S): how many actions constrain the pair (s, s')
    s_idx, t_idx = np.nonzero(counts)
    if s_idx.size == 0:
        return PotentialFit(np.zeros(S), 0.0, True, gamma)
    means = np.where(mask, F, 0.0).sum(axis=1)[s_idx, t_idx] / counts[s_idx, t_idx]
    # Weighted least squares: the A constraints on one pair are replaced by their mean, weighted
    # by their number (same minimiser).
    w = np.sqrt(counts[s_idx, t_idx])
    M = np.zeros((s_idx.size, S))
    rows = np.arange(s_idx.size)
    np.add.at(M, (rows, t_idx), gamma)
    np.add.at(M, (rows, s_idx), -1.0)
    phi = np.linalg.lstsq(M * w[:, None], means * w, rcond=None)[0]
    fitted = gamma * phi[None, None, :] - phi[:, None, None]
    resid = float(np.max(np.abs(F - fitted)[mask]))
    holds = resid <= atol * (1.0 + float(np.max(np.abs(F))))
    return PotentialFit(phi, resid, bool(holds), gamma)


@dataclass(frozen=True, eq=False)
class NecessityCounterexample:
    r"""An MDP in which shaping by a non-potential :math:`F` changes the optimal action.

    Attributes
    ----------
    original : TabularMDP
        :math:`M = (S, A, P, R, \gamma, \delta_s)`.
    shaped : TabularMDP
        :math:`M' = (S, A, P, R + F, \gamma, \delta_s)`.
    state : int
        The state :math:`s` where the optimal actions differ.
    optimal_actions : tuple of int
        :math:`\arg\max_a Q^*_M(s, a)`.
    shaped_optimal_actions : tuple of int
        :math:`\arg\max_a Q^*_{M'}(s, a)`, disjoint from ``optimal_actions``.
    gap : float
        The smallest margin by which a non-optimal action loses, in either MDP.
    """

    original: TabularMDP
    shaped: TabularMDP
    state: int
    optimal_actions: tuple
    shaped_optimal_actions: tuple
    gap: float


def _optimal_set(mdp: TabularMDP, s: int):
    res = mdp.solve("pi")
    q = res.q_values[s]
    scale = 1e-9 * (1.0 + np.max(np.abs(q)))
    best = tuple(int(a) for a in np.flatnonzero(q >= q.max() - scale))
    others = q[q < q.max() - scale]
    gap = float(q.max() - others.max()) if others.size else np.inf
    return best, gap


def necessity_counterexample(F, gamma: float, atol: float = 1e-9) -> NecessityCounterexample:
    r"""Build dynamics and a reward where shaping by a non-potential :math:`F` flips the optimum.

    Ng, Harada and Russell (1999), Theorem 1 (necessity): if :math:`F` is not potential-based,
    some :math:`(P, R)` has no optimal policy of :math:`M' = (P, R + F)` that is optimal in
    :math:`M = (P, R)`. Our construction (not the paper's):

    - *F depends on the action* at some :math:`(s, s')`: every action leads to :math:`s'`;
      with :math:`a_+ = \arg\max_a F(s,a,s')`, :math:`a_- = \arg\min_a F(s,a,s')` and
      :math:`\delta = (F(s,a_+,s') - F(s,a_-,s'))/2`, set :math:`R(s,a_-,s') = \delta`,
      :math:`R(s,a_+,s') = 0` and :math:`R(s,a,s') = -(4\delta + 1)` otherwise. Then
      :math:`a_-` is the unique optimum at :math:`s` in :math:`M` and :math:`a_+` in :math:`M'`.
    - *F = G(s, s')* does not depend on the action: with
      :math:`\Phi(s) = G(s, s)/(\gamma - 1)` (forced by the self-loops) there is :math:`s \ne s'`
      with :math:`\Delta = G(s, s') - \gamma\Phi(s') + \Phi(s) \ne 0`. In state :math:`s`
      action 0 goes to the absorbing :math:`s'` with reward :math:`-\Delta/2`, the others stay at
      :math:`s` with reward 0; every other state is absorbing with reward 0. Going beats staying
      by :math:`-\Delta/2` in :math:`M` and by :math:`+\Delta/2` in :math:`M'`:

    .. math::
        Q^*_{M'}(s, \mathrm{go}) - V^{\mathrm{stay}}_{M'}(s)
        = \big(Q^*_M(s, \mathrm{go}) - V^{\mathrm{stay}}_M(s)\big) + \Delta .

    Parameters
    ----------
    F : array, shape (S, A, S)
        A shaping reward that is not potential-based (see :func:`is_potential_based`).
    gamma : float in [0, 1)
    atol : float >= 0
        Tolerance of the potential-based test.

    Returns
    -------
    NecessityCounterexample

    Examples
    --------
    >>> F = np.zeros((2, 2, 2)); F[0, 1, 1] = 1.0          # a bonus for action 1 in state 0
    >>> ce = necessity_counterexample(F, gamma=0.9)
    >>> ce.state, ce.optimal_actions, ce.shaped_optimal_actions
    (0, (0,), (1,))
    """
    F = _as_sas(F, "F")
    gamma = _check_gamma(gamma, allow_one=False)
    S, A, _ = F.shape
    if A < 2:
        raise ValueError("F must have at least 2 actions: with one action every policy is optimal")
    fit = is_potential_based(F, gamma, atol=atol)
    if fit.holds:
        raise ValueError(
            f"F is potential-based (residual {fit.residual:.3g}); shaping by it cannot change "
            "the optimal policies"
        )
    scale = atol * (1.0 + float(np.max(np.abs(F))))
    spread = F.max(axis=1) - F.min(axis=1)  # (S, S)
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    if spread.max() > scale:
        s, t = (int(i) for i in np.unravel_index(np.argmax(spread), spread.shape))
        hi, lo = int(np.argmax(F[s, :, t])), int(np.argmin(F[s, :, t]))
        delta = 0.5 * float(spread[s, t])
        P[:, :, t] = 1.0
        R[s, :, t] = -(4.0 * delta + 1.0)
        R[s, lo, t] = delta
        R[s, hi, t] = 0.0
    else:
        G = F.mean(axis=1)
        phi = np.diag(G) / (gamma - 1.0)
        D = G - gamma * phi[None, :] + phi[:, None]
        np.fill_diagonal(D, 0.0)
        s, t = (int(i) for i in np.unravel_index(np.argmax(np.abs(D)), D.shape))
        for x in range(S):
            P[x, :, x] = 1.0
        P[s, 0, :] = 0.0
        P[s, 0, t] = 1.0
        R[s, 0, t] = -0.5 * float(D[s, t])
    mu = np.zeros(S)
    mu[s] = 1.0
    original = TabularMDP(P, R, gamma, mu)
    shaped = TabularMDP(P, R + F, gamma, mu)
    best, gap = _optimal_set(original, s)
    best_shaped, gap_shaped = _optimal_set(shaped, s)
    return NecessityCounterexample(original, shaped, s, best, best_shaped, min(gap, gap_shaped))


def manhattan_potential(grid, goal=None, speed: float = 1.0) -> np.ndarray:
    r"""The distance potential :math:`\Phi(s) = -\lVert c(s) - c(g)\rVert_1 / v` of a grid world.

    .. math::
        \Phi(s) = -\frac{|\mathrm{row}(s) - \mathrm{row}(g)| + |\mathrm{col}(s) - \mathrm{col}(g)|}{v},

    with :math:`c(s)` the cell of state :math:`s`, :math:`g` the goal and :math:`v` the expected
    progress per step. Ng, Harada and Russell (1999), Sec. 4 use :math:`\Phi_0` with
    :math:`v = 0.8` (the success probability of a move) on their 10x10 grid.

    Parameters
    ----------
    grid : GridMDP
        A grid world from :mod:`prefrl.mdp.envs` (it has ``cells`` and ``goals``).
    goal : (row, col), optional
        The goal cell; the grid's first goal by default.
    speed : float > 0
        :math:`v`.

    Returns
    -------
    array, shape (S,)

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> envs.epic_grid().to_grid(manhattan_potential(envs.epic_grid(), goal=(2, 2)))
    array([[-4., -3., -2.],
           [-3., -2., -1.],
           [-2., -1.,  0.]])
    """
    if not hasattr(grid, "cells"):
        raise TypeError("grid must be a GridMDP (with cells and goals)")
    speed = check_positive(speed, "speed")
    if goal is None:
        if not grid.goals:
            raise ValueError("goal must be given for a grid without goal states")
        goal = tuple(grid.cells[grid.goals[0]])
    goal = np.asarray(goal, dtype=np.int64)
    if goal.shape != (2,):
        raise ValueError(f"goal must be a (row, col) pair, got {goal.tolist()}")
    return -np.abs(grid.cells - goal[None, :]).sum(axis=1).astype(float) / speed


# ---------------------------------------------------------------------------- Wiewiora learners
@dataclass(frozen=True, eq=False)
class TDTrajectory:
    r"""Everything a tabular TD-control run did (:func:`q_learning`, :func:`sarsa`).

    Attributes
    ----------
    q_values : array, shape (S, A)
        Final :math:`Q` (an object array of :class:`fractions.Fraction` when ``exact=True``).
    policy : array, shape (S, A)
        The greedy policy of the final :math:`Q` (first maximiser).
    iterations : int
        Total number of steps :math:`T`.
    states, actions, next_states : int arrays, shape (T,)
        :math:`s_t, a_t, s_{t+1}` of every step.
    rewards : array, shape (T,)
        The reward the learner was paid at each step: :math:`R(s_t, a_t, s_{t+1})`, plus the
        shaping reward when a potential shapes it.
    episodes : int array, shape (T,)
        Episode index of every step.
    episode_lengths : int array, shape (n_episodes,)
        Steps per episode (a truncated episode has ``max_steps``).
    q_history : array, shape (T + 1, S, A), or None
        :math:`Q_t` before step :math:`t` and after the last (only with ``record_q=True``).
    """

    q_values: np.ndarray
    policy: np.ndarray
    iterations: int
    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray
    rewards: np.ndarray
    episodes: np.ndarray
    episode_lengths: np.ndarray
    q_history: np.ndarray | None


class _Uniforms:
    """Uniform draws from a Generator, served one at a time from blocks (a fixed stream)."""

    def __init__(self, rng: np.random.Generator, block: int = 8192):
        self.rng, self.block = rng, block
        self.buf: list[float] = []
        self.i = 0

    def __call__(self) -> float:
        if self.i == len(self.buf):
            self.buf = self.rng.random(self.block).tolist()
            self.i = 0
        x = self.buf[self.i]
        self.i += 1
        return x


def _td_control(mdp, n_episodes, alpha, epsilon, rng, q_init, terminal, max_steps, start,
                exploration, temperature, tie_tol, gamma, record_q, exact, on_policy,
                potential=None, *, potentials=None, shifted=False, clock="global"):
    """Tabular Q-learning / SARSA, the one loop behind q_learning, sarsa and dynamic_q_learning.

    ``potential`` (S,) is a static potential; ``potentials`` (L, S) a dynamic one read at the
    clock ``min(c, L - 1)`` (``clock``: steps so far, or steps in the episode). With
    ``shifted=False`` the learner is paid ``r + gamma Psi_{c+1}(s') - Psi_c(s)``; with
    ``shifted=True`` it learns on ``r`` and its table is shifted by ``Psi`` (see
    dynamic_q_learning). A static potential is the case L = 1.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    n_episodes = check_integer(n_episodes, "n_episodes", minimum=1)
    alpha = check_in_range(alpha, "alpha", 0.0, 1.0, low_open=True)
    epsilon = check_in_range(epsilon, "epsilon", 0.0, 1.0)
    rng = as_rng(rng)
    max_steps = check_integer(max_steps, "max_steps", minimum=1)
    tie_tol = check_nonnegative(tie_tol, "tie_tol")
    gamma = mdp.gamma if gamma is None else _check_gamma(gamma)
    if exploration not in ("epsilon", "boltzmann"):
        raise ValueError(f"exploration must be 'epsilon' or 'boltzmann', got {exploration!r}")
    temperature = check_positive(temperature, "temperature")
    q_exact = None
    if q_init is not None and exact and np.asarray(q_init).dtype == object:
        # Rational initial values (e.g. Q0 + Phi computed exactly) are kept as they are.
        q_exact = np.asarray(q_init)
        check_array(q_exact.astype(np.float64), "q_init", shape=(S, A))
        q_exact = [[Fraction(x) for x in row] for row in q_exact.tolist()]
    Q0 = np.zeros((S, A)) if q_init is None or q_exact is not None else check_array(
        q_init, "q_init", shape=(S, A))
    term = _terminal_mask(terminal, S) if terminal is not None else _absorbing(mdp)
    if start is not None:
        start = check_integer(start, "start", minimum=0)
        if start >= S:
            raise ValueError(f"start must be < {S}, got {start}")

    num = Fraction if exact else float
    P = mdp.dense_transitions()
    cdf = np.cumsum(P, axis=2)
    cdf[..., -1] = np.inf  # rounding of the cumulative sum must never lose the last state
    cdf = cdf.tolist()
    mu_cdf = np.cumsum(mdp.initial)
    mu_cdf[-1] = np.inf
    mu_cdf = mu_cdf.tolist()
    Rl = [[[num(x) for x in row] for row in Rs] for Rs in _as_sas(mdp.rewards).tolist()]
    Q = q_exact if q_exact is not None else [[num(x) for x in row] for row in Q0.tolist()]
    a_, g_, tt = num(alpha), num(gamma), num(tie_tol)
    term_l = term.tolist()
    if potential is not None:
        potentials = check_array(potential, "potential", shape=(S,))[None, :]
    if potentials is not None:  # Psi = Phi with 0 on terminal states, in the learner's arithmetic
        phi_rows = [[num(x) for x in row]
                    for row in np.where(term[None, :], 0.0, potentials).tolist()]
    L = 0 if potentials is None else len(phi_rows)

    def psi(c):
        return phi_rows[min(c, L - 1)]

    def move_clock(c_old, c_new):  # shifted table: Q' <- Q' + (Psi_new - Psi_old), row by row
        nonlocal Q
        if not shifted or min(c_old, L - 1) == min(c_new, L - 1):
            return
        p_old, p_new = psi(c_old), psi(c_new)
        Q = [[q + (p_new[x] - p_old[x]) for q in Q[x]] if p_new[x] != p_old[x] else Q[x]
             for x in range(S)]

    if shifted:
        p0 = psi(0)
        Q = [[q + p0[x] for q in Q[x]] for x in range(S)]
    u = _Uniforms(rng)
    boltz = exploration == "boltzmann"

    def act(s):
        u1, u2 = u(), u()  # always two draws, so both learners read the same stream
        row = Q[s]
        m = max(row)
        if boltz:
            w = [np.exp(float(q - m) / temperature) for q in row]
            tot = sum(w)
            acc = 0.0
            for a in range(A):
                acc += w[a] / tot
                if u2 < acc:
                    return a
            return A - 1
        if u1 < epsilon:
            return min(int(u2 * A), A - 1)
        ties = [a for a in range(A) if row[a] >= m - tt]
        return ties[min(int(u2 * len(ties)), len(ties) - 1)]

    hist = [[r[:] for r in Q]] if record_q else None
    st_, ac_, nx_, rw_, ep_ = [], [], [], [], []
    lengths = []
    c = 0  # the clock of the potential
    for ep in range(n_episodes):
        if clock == "episode":
            move_clock(c, 0)
            c = 0
        u0 = u()
        s = start if start is not None else bisect.bisect_right(mu_cdf, u0)
        steps = 0
        a = act(s) if (on_policy and not term_l[s]) else None
        while not term_l[s] and steps < max_steps:
            if not on_policy:
                a = act(s)
            s2 = bisect.bisect_right(cdf[s][a], u())
            r = Rl[s][a][s2]
            q_sa = Q[s][a]  # Q_t(s, a) (or Q'_t), before the clock moves
            if shifted:
                move_clock(c, c + 1)
            elif L:  # F = gamma Psi_{c+1}(s') - Psi_c(s), in the learner's arithmetic
                r = r + g_ * psi(c + 1)[s2] - psi(c)[s]
            if term_l[s2]:
                target = r
                a2 = None
            elif on_policy:
                a2 = act(s2)
                target = r + g_ * Q[s2][a2]
            else:
                a2 = None
                target = r + g_ * max(Q[s2])
            Q[s][a] = Q[s][a] + a_ * (target - q_sa)
            c += 1
            st_.append(s)
            ac_.append(a)
            nx_.append(s2)
            rw_.append(float(r))
            ep_.append(ep)
            if record_q:
                hist.append([row[:] for row in Q])
            s, a = s2, a2
            steps += 1
        lengths.append(steps)
    dtype = object if exact else np.float64
    Qa = np.array(Q, dtype=dtype)
    greedy = np.zeros((S, A))
    greedy[np.arange(S), np.argmax(np.array(Q, dtype=float), axis=1)] = 1.0
    return TDTrajectory(
        q_values=Qa,
        policy=greedy,
        iterations=len(st_),
        states=np.array(st_, dtype=np.int64),
        actions=np.array(ac_, dtype=np.int64),
        next_states=np.array(nx_, dtype=np.int64),
        rewards=np.array(rw_, dtype=np.float64),
        episodes=np.array(ep_, dtype=np.int64),
        episode_lengths=np.array(lengths, dtype=np.int64),
        q_history=None if hist is None else np.array(hist, dtype=dtype),
    )


def _absorbing(mdp: TabularMDP) -> np.ndarray:
    """States that every action keeps in place with probability 1 (up to 1e-12)."""
    P = mdp.dense_transitions()
    S = mdp.n_states
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


_TD_PARAMS = r"""
    Parameters
    ----------
    mdp : TabularMDP
        The environment (rewards :math:`R(s, a, s')` or :math:`r(s, a)`).
    n_episodes : int >= 1
    alpha : float in (0, 1]
        Step size :math:`\alpha`.
    epsilon : float in [0, 1]
        Exploration rate of the epsilon-greedy rule.
    rng : numpy Generator or int seed
        The only source of randomness. It is read in a way that depends on the trajectory
        only, never on the values: two uniforms per action choice (explore or not, which
        action), one per transition and one per episode start. Two learners fed the same
        ``rng`` that have taken the same steps so far therefore see the same random numbers.
    q_init : array, shape (S, A), optional
        :math:`Q_0` (zeros by default). With ``exact=True`` an object array of
        :class:`fractions.Fraction` is kept exactly.
    terminal : bool array (S,) or int sequence, optional
        States that end an episode (not bootstrapped); the absorbing states by default.
    max_steps : int >= 1
        Steps after which an episode is cut (without a terminal update).
    start : int, optional
        Start state of every episode (else drawn from :math:`\mu_0`).
    exploration : {"epsilon", "boltzmann"}
        Epsilon-greedy (ties within ``tie_tol`` of the maximum broken uniformly at random) or
        Boltzmann :math:`\pi(a|s) \propto e^{(Q(s,a) - \max_b Q(s,b))/\tau}`.
    temperature : float > 0
        :math:`\tau` of the Boltzmann rule.
    tie_tol : float >= 0
        Actions within ``tie_tol`` of the best value count as tied.
    gamma : float in [0, 1], optional
        Discount of the learner (the MDP's by default; 1 for undiscounted episodes).
    record_q : bool
        Keep :math:`Q_t` after every step (``q_history``).
    exact : bool
        Run in rational arithmetic (:class:`fractions.Fraction`; floats are converted
        exactly), so that identities such as Wiewiora's hold with no rounding at all. Slow:
        for checks on small problems.
    potential : array, shape (S,), optional
        Learn on the shaped reward :math:`R + \gamma\tilde\Phi(s') - \tilde\Phi(s)`
        (:math:`\tilde\Phi = 0` on terminal states, :math:`\gamma` the learner's), added in the
        learner's arithmetic: with ``exact=True`` the shaping is exact even when
        :func:`shape` would round.

    Returns
    -------
    TDTrajectory

"""


def q_learning(mdp: TabularMDP, n_episodes: int, *, alpha: float, epsilon: float, rng,
               q_init=None, terminal=None, max_steps: int = 10_000, start: int | None = None,
               exploration: str = "epsilon", temperature: float = 1.0, tie_tol: float = 1e-9,
               gamma: float | None = None, record_q: bool = False,
               exact: bool = False, potential=None) -> TDTrajectory:
    r"""Tabular Q-learning (Watkins 1989), with a fixed random stream.

    .. math::
        Q_{t+1}(s_t, a_t) = Q_t(s_t, a_t) + \alpha\Big(r_t + \gamma\,\mathbb{1}[s_{t+1} \notin G]
        \max_{a'} Q_t(s_{t+1}, a') - Q_t(s_t, a_t)\Big),

    with :math:`r_t = R(s_t, a_t, s_{t+1})`, :math:`G` the terminal states and :math:`a_t`
    chosen epsilon-greedily (or by Boltzmann exploration) from :math:`Q_t(s_t, \cdot)`.

    Wiewiora (2003), "Potential-based shaping and Q-value initialization are equivalent",
    JAIR 19: the run on :math:`R + F_\Phi` from :math:`Q_0` and the run on :math:`R` from
    :math:`Q_0 + \tilde\Phi(s)` (with :math:`\tilde\Phi = 0` on :math:`G`, see :func:`shape`)
    choose the same actions from the same ``rng``, and :math:`Q'_t = Q_t + \tilde\Phi(s)` at
    every step.
    {td_params}
    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> run = q_learning(envs.chain(4, gamma=0.9), 50, alpha=0.5, epsilon=0.1, rng=0)
    >>> run.policy.argmax(axis=1)[:3], int(run.episode_lengths[-1])
    (array([1, 1, 1]), 3)
    """
    return _td_control(mdp, n_episodes, alpha, epsilon, rng, q_init, terminal, max_steps, start,
                       exploration, temperature, tie_tol, gamma, record_q, exact, False,
                       potential)


def sarsa(mdp: TabularMDP, n_episodes: int, *, alpha: float, epsilon: float, rng,
          q_init=None, terminal=None, max_steps: int = 10_000, start: int | None = None,
          exploration: str = "epsilon", temperature: float = 1.0, tie_tol: float = 1e-9,
          gamma: float | None = None, record_q: bool = False, exact: bool = False,
          potential=None) -> TDTrajectory:
    r"""Tabular SARSA (Rummery and Niranjan 1994), with a fixed random stream.

    .. math::
        Q_{t+1}(s_t, a_t) = Q_t(s_t, a_t) + \alpha\Big(r_t + \gamma\,\mathbb{1}[s_{t+1} \notin G]
        Q_t(s_{t+1}, a_{t+1}) - Q_t(s_t, a_t)\Big),

    with :math:`a_{t+1}` drawn from the exploration rule at :math:`Q_t(s_{t+1}, \cdot)` before
    the update. Wiewiora (2003)'s equivalence holds as for :func:`q_learning`.
    {td_params}
    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> run = sarsa(envs.chain(4, gamma=0.9), 50, alpha=0.5, epsilon=0.1, rng=0)
    >>> run.policy.argmax(axis=1)[:3]
    array([1, 1, 1])
    """
    return _td_control(mdp, n_episodes, alpha, epsilon, rng, q_init, terminal, max_steps, start,
                       exploration, temperature, tie_tol, gamma, record_q, exact, True,
                       potential)


q_learning.__doc__ = q_learning.__doc__.replace("    {td_params}\n", _TD_PARAMS)
sarsa.__doc__ = sarsa.__doc__.replace("    {td_params}\n", _TD_PARAMS)


# ------------------------------------------------------------------------------------------ EPIC
def _dists(S, A, state_dist, action_dist):
    DS = np.full(S, 1.0 / S) if state_dist is None else check_distribution(
        state_dist, "state_dist", size=S)
    DA = np.full(A, 1.0 / A) if action_dist is None else check_distribution(
        action_dist, "action_dist", size=A)
    return DS, DA


def canonicalize(rewards, gamma: float, state_dist=None, action_dist=None) -> np.ndarray:
    r"""The canonically shaped reward of EPIC.

    .. math::
        C(R)(s, a, s') = R(s, a, s') + \mathbb{E}\big[\gamma R(s', A, S') - R(s, A, S')
        - \gamma R(S, A, S')\big], \qquad S, S' \sim D_S \text{ i.i.d.},\ A \sim D_A,

    i.e. :math:`C(R) = R + \gamma m(s') - m(s) - \gamma \bar m` with
    :math:`m(x) = \mathbb{E}_{A, S'} R(x, A, S')` and :math:`\bar m = \mathbb{E}_S m(S)`.
    Gleave, Dennis, Legg, Russell and Leike (2021), "Quantifying Differences in Reward
    Functions", Definition 4.1. :math:`C` is linear, removes potential shaping and constants
    (:math:`C(R + \gamma\Phi(s') - \Phi(s) + c) = C(R)`), and is idempotent
    (:math:`C(C(R)) = C(R)`, since :math:`m \equiv 0` for :math:`C(R)`), for any :math:`D_S`,
    :math:`D_A`.

    Parameters
    ----------
    rewards : array, shape (S, A, S) or (S, A)
    gamma : float in [0, 1]
    state_dist : array, shape (S,), optional
        :math:`D_S` (uniform by default).
    action_dist : array, shape (A,), optional
        :math:`D_A` (uniform by default).

    Returns
    -------
    array, shape (S, A, S)

    Examples
    --------
    >>> R = shape(np.zeros((2, 1, 2)), [3.0, -1.0], gamma=0.9) + 5.0  # shaping plus a constant
    >>> bool(np.abs(canonicalize(R, 0.9)).max() < 1e-12)
    True
    """
    R = _as_sas(rewards)
    gamma = _check_gamma(gamma)
    S, A, _ = R.shape
    DS, DA = _dists(S, A, state_dist, action_dist)
    m = np.einsum("xat,a,t->x", R, DA, DS)
    mbar = float(DS @ m)
    return R + gamma * m[None, None, :] - m[:, None, None] - gamma * mbar


def pearson_distance(x, y, weights=None, atol: float = 0.0) -> float:
    r"""The Pearson distance :math:`\sqrt{(1 - \rho(X, Y))/2}` under a weighting.

    .. math::
        \rho = \frac{\mathbb{E}_w[(X - \mathbb{E}_w X)(Y - \mathbb{E}_w Y)]}
        {\sigma_w(X)\,\sigma_w(Y)}, \qquad
        D_\rho(X, Y) = \sqrt{\tfrac{1 - \rho}{2}} = \tfrac12 \big\lVert \hat X - \hat Y \big\rVert_w,

    with :math:`w` the weights (uniform by default) and :math:`\hat X = (X - \mathbb{E}_w X) /
    \sigma_w(X)` the standardised vector. Gleave et al. (2021), Definition 4.2. A vector whose
    weighted standard deviation is at most ``atol`` is constant: it is standardised to
    :math:`\hat X = 0`, so two constant vectors are at distance 0 and a constant and a
    non-constant one at distance :math:`1/2` (the midpoint between :math:`Y` and :math:`-Y`).
    This keeps :math:`D_\rho` a pseudometric (a Euclidean distance between the :math:`\hat X`).

    Parameters
    ----------
    x, y : arrays of the same shape
    weights : array of that shape, optional
        Nonnegative, summing to 1.
    atol : float >= 0
        Standard deviations at or below this count as zero.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> pearson_distance([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]), pearson_distance([1.0, 2.0], [2.0, 1.0])
    (0.0, 1.0)
    >>> pearson_distance([1.0, 2.0], [5.0, 5.0])
    0.5
    """
    x = check_array(x, "x")
    y = check_array(y, "y")
    check_same_shape("x", x, "y", y)
    atol = check_nonnegative(atol, "atol")
    if weights is None:
        w = np.full(x.size, 1.0 / x.size)
    else:
        w = check_array(weights, "weights")
        check_same_shape("x", x, "weights", w)
        w = check_distribution(w.ravel(), "weights")
    x, y = x.ravel(), y.ravel()
    xc = x - w @ x
    yc = y - w @ y
    sx = float(np.sqrt(w @ (xc * xc)))
    sy = float(np.sqrt(w @ (yc * yc)))
    cx, cy = sx <= atol, sy <= atol
    if cx and cy:
        return 0.0
    if cx or cy:
        return 0.5
    # (1 - rho) / 2 = |xhat - yhat|^2 / 4: the difference form keeps full relative accuracy
    # near 0, where sqrt(1 - rho) would turn rounding of rho into errors of 1e-8.
    # sqrt(w) * xhat has unit norm, so nothing overflows even for tiny weights.
    sw = np.sqrt(w)
    diff = sw * xc / sx - sw * yc / sy
    return float(min(1.0, 0.5 * np.sqrt(diff @ diff)))


def transition_coverage(transitions, state_dist=None, action_dist=None) -> np.ndarray:
    r"""The coverage distribution of feasible transitions, :math:`D(s, a, s') = D_S(s) D_A(a) P(s, a, s')`.

    .. math::
        D(s, a, s') = D_S(s)\, D_A(a)\, P[s, a, s'] .

    The coverage used for the EPIC gridworld illustration of Gleave et al. (2021) (uniform
    :math:`D_S`, :math:`D_A`, transitions of the environment).

    Parameters
    ----------
    transitions : array, shape (S, A, S), or TabularMDP
    state_dist : array, shape (S,), optional
    action_dist : array, shape (A,), optional

    Returns
    -------
    array, shape (S, A, S), summing to 1

    Examples
    --------
    >>> P = np.zeros((2, 1, 2)); P[:, 0, 1] = 1.0
    >>> transition_coverage(P)[:, 0, :]
    array([[0. , 0.5],
           [0. , 0.5]])
    """
    P = transitions.dense_transitions() if isinstance(transitions, TabularMDP) else transitions
    P = check_array(P, "transitions", ndim=3)
    S, A, _ = P.shape
    DS, DA = _dists(S, A, state_dist, action_dist)
    return DS[:, None, None] * DA[None, :, None] * P


def epic_distance(R1, R2, gamma: float, coverage=None, state_dist=None, action_dist=None,
                  rtol: float = 1e-10) -> float:
    r"""The EPIC pseudometric between two rewards.

    .. math::
        D_{EPIC}(R_1, R_2) = D_\rho\big(C(R_1)(S, A, S'),\ C(R_2)(S, A, S')\big),
        \qquad (S, A, S') \sim \mathcal{D},

    with :math:`C` the canonicalisation (:func:`canonicalize`, with :math:`D_S`, :math:`D_A`)
    and :math:`D_\rho` the Pearson distance (:func:`pearson_distance`) under the coverage
    :math:`\mathcal{D}`. Gleave et al. (2021), Definition 4.3 and Theorem 4.7: a pseudometric
    with values in [0, 1], zero between rewards that differ by positive scaling, potential
    shaping and constant shifts, and :math:`D(R, -R) = 1`. A canonical reward whose standard
    deviation is at most ``rtol`` times the largest :math:`|R_i|` is treated as constant (such a
    reward ranks all policies equal); see :func:`pearson_distance` for that convention.

    Parameters
    ----------
    R1, R2 : arrays, shape (S, A, S) or (S, A)
    gamma : float in [0, 1]
    coverage : array, shape (S, A, S), optional
        :math:`\mathcal{D}` (uniform over :math:`S \times A \times S` by default; see
        :func:`transition_coverage` for feasible transitions).
    state_dist, action_dist : arrays, shapes (S,) and (A,), optional
        :math:`D_S`, :math:`D_A` of the canonicalisation (uniform by default).
    rtol : float >= 0

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> R = rng.normal(size=(3, 2, 3))
    >>> equivalent = 2.0 * shape(R, [1.0, -4.0, 2.0], gamma=0.9) + 7.0
    >>> round(epic_distance(R, equivalent, 0.9), 12), epic_distance(R, -R, 0.9)
    (0.0, 1.0)
    """
    A1 = _as_sas(R1, "R1")
    A2 = _as_sas(R2, "R2")
    check_same_shape("R1", A1, "R2", A2)
    rtol = check_nonnegative(rtol, "rtol")
    C1 = canonicalize(A1, gamma, state_dist, action_dist)
    C2 = canonicalize(A2, gamma, state_dist, action_dist)
    w = None
    if coverage is not None:
        w = check_array(coverage, "coverage", shape=A1.shape)
    # Constancy is judged per reward, relative to its own scale.
    x1 = _is_constant(C1, w, rtol * float(np.max(np.abs(A1))))
    x2 = _is_constant(C2, w, rtol * float(np.max(np.abs(A2))))
    if x1 and x2:
        return 0.0
    if x1 or x2:
        return 0.5
    return pearson_distance(C1, C2, w, atol=0.0)


def _is_constant(C, w, atol) -> bool:
    c = C.ravel()
    w = np.full(c.size, 1.0 / c.size) if w is None else check_distribution(w.ravel(), "coverage")
    cc = c - w @ c
    return bool(np.sqrt(w @ (cc * cc)) <= atol)


# ------------------------------------------------------------------------ reward redistribution
def redistribute(sequence_rewards, weights, beta: float = 1.0) -> np.ndarray:
    r"""Spread each sequence's reward over its tokens (attention-based credit).

    .. math::
        r_t(y) = \beta\, w_t(y)\, r(y) + (1 - \beta)\, r(y)\, \mathbb{1}[t = H - 1],
        \qquad \sum_{t=0}^{H-1} w_t(y) = 1,

    for a sequence :math:`y` of :math:`H` tokens with reward :math:`r(y)`. Chan, Sun, Holt and
    van der Schaar (2024), "Dense Reward for Free in RLHF", Sec. 4 (with :math:`w_t` the reward
    model's attention over the response; :math:`\beta = 0` is the sparse reward of vanilla
    RLHF). Since :math:`\sum_t r_t(y) = r(y)` for every :math:`y` and :math:`\beta`, every
    *undiscounted* return, hence every policy's value, is unchanged; with :math:`\gamma < 1`
    it is not (see :func:`sequence_value`). The weights may depend on the whole sequence
    (future tokens included) and need not be nonnegative.

    Parameters
    ----------
    sequence_rewards : array, shape (N,)
        :math:`r(y)` for :math:`N` sequences.
    weights : array, shape (N, H)
        :math:`w_t(y)`, each row summing to 1.
    beta : float in [0, 1]

    Returns
    -------
    array, shape (N, H)

    Examples
    --------
    >>> redistribute([2.0], [[0.25, 0.25, 0.5]], beta=0.5)
    array([[0.25, 0.25, 1.5 ]])
    """
    r = check_array(sequence_rewards, "sequence_rewards", ndim=1)
    w = check_array(weights, "weights", ndim=2)
    if w.shape[0] != r.shape[0]:
        raise ValueError(f"weights must have shape ({r.shape[0]}, H), got {w.shape}")
    sums = w.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-8 * max(1.0, float(np.max(np.abs(w))) * w.shape[1])
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"weights[{i}, :] sums to {sums[i]:.6g}, must sum to 1")
    beta = check_in_range(beta, "beta", 0.0, 1.0)
    out = beta * w * r[:, None]
    out[:, -1] += (1.0 - beta) * r
    return out


def sequence_returns(token_rewards, gamma: float) -> np.ndarray:
    r"""Discounted return of each sequence, :math:`G_\gamma(y) = \sum_{t=0}^{H-1} \gamma^t r_t(y)`.

    .. math::
        G_\gamma(y) = \sum_{t=0}^{H-1} \gamma^t\, r_t(y) .

    Parameters
    ----------
    token_rewards : array, shape (N, H)
    gamma : float in [0, 1]

    Returns
    -------
    array, shape (N,)

    Examples
    --------
    >>> sequence_returns([[1.0, 1.0, 1.0]], 0.5)
    array([1.75])
    """
    r = check_array(token_rewards, "token_rewards", ndim=2)
    gamma = _check_gamma(gamma)
    return r @ (gamma ** np.arange(r.shape[1]))


def sequence_value(tree, policy, token_rewards, gamma: float) -> float:
    r"""Exact value of a token-level policy on a token tree under per-sequence token rewards.

    .. math::
        J(\pi) = \sum_{y \in \mathcal{V}^H} \pi(y)\, G_\gamma(y), \qquad
        \pi(y) = \prod_{t=0}^{H-1} \pi(y_t \mid y_{<t}),

    summing over the :math:`V^H` complete sequences of the tree (lexicographic order, as
    :meth:`~prefrl.mdp.envs.TokenTreeMDP.leaves`). Exact even when :math:`r_t(y)` depends on
    future tokens (then it is no Markov reward of the prefix tree). For the sparse reward
    (:math:`r_{H-1}(y) = r(y)`) and :math:`\gamma = 1` this is the tree's
    :meth:`~prefrl.mdp.TabularMDP.evaluate`. Used to check Chan et al. (2024), Sec. 4: the
    redistributed reward leaves every :math:`J(\pi)` unchanged when :math:`\gamma = 1`.

    Parameters
    ----------
    tree : TokenTreeMDP
        From :func:`prefrl.mdp.envs.token_tree`.
    policy : array, shape (S, V)
    token_rewards : array, shape (V**H, H)
    gamma : float in [0, 1]

    Returns
    -------
    float

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> tree = envs.token_tree(2, 2, sequence_rewards=[0.0, 1.0, 2.0, 3.0])
    >>> pi = np.full((tree.n_states, 2), 0.5)
    >>> dense = redistribute([0.0, 1.0, 2.0, 3.0], np.full((4, 2), 0.5))
    >>> sequence_value(tree, pi, dense, 1.0), tree.evaluate(pi).expected_return
    (1.5, 1.5)
    """
    if not hasattr(tree, "sequence_probabilities"):
        raise TypeError("tree must be a TokenTreeMDP (see prefrl.mdp.envs.token_tree)")
    r = check_array(token_rewards, "token_rewards",
                    shape=(tree.vocab_size**tree.depth, tree.depth))
    return float(tree.sequence_probabilities(policy) @ sequence_returns(r, gamma))


# ------------------------------------------------------------------------ dynamic potentials
# Devlin and Kudenko (AAMAS 2012): the potential may change with time, Phi(s, t).
#
# Representation. A time-varying potential is an array ``potentials`` of shape (L, S) read as
# *eventually stationary*: Phi_t = potentials[min(t, L - 1)]. For a finite horizon H the array has
# exactly H + 1 rows (Phi_H matters: it is the potential at the end of the episode). Policies may
# be non-stationary in the same way: an (L', S, A) array is read as pi_t = policy[min(t, L' - 1)].
# Exact values are computed layer by layer (time in the state): the last layer is a static
# problem (a static shaped MDP, solved exactly by the existing solvers), the others are backward
# steps. ``time_expanded_mdp`` builds the same problem as one TabularMDP on (t, s) pairs.


from ._validation import check_stochastic_matrix  # noqa: E402


def _check_potentials(potentials, S: int, name: str = "potentials") -> np.ndarray:
    Phi = check_array(potentials, name, ndim=2)
    if Phi.shape[1] != S:
        raise ValueError(
            f"{name} must have shape (L, {S}) (one row per time step), got {Phi.shape}")
    return Phi


def dynamic_shaping_reward(potentials, gamma: float, n_actions: int, terminal=None) -> np.ndarray:
    r"""The dynamic shaping reward :math:`F_t(s, a, s') = \gamma \Phi_{t+1}(s') - \Phi_t(s)`.

    .. math::
        F_t(s, a, s') = \gamma\, \tilde\Phi_{t+1}(s') - \tilde\Phi_t(s) \quad (s \notin G),
        \qquad F_t(s, a, s') = 0 \quad (s \in G), \qquad
        \tilde\Phi_t(s) = \Phi_t(s)\, \mathbb{1}[s \notin G],

    for :math:`t = 0, \dots, L-2`, where :math:`\Phi_t` is row :math:`t` of ``potentials``,
    :math:`G` the terminal states and :math:`\gamma` the discount. A transition that leaves
    :math:`s` at time :math:`t` and arrives in :math:`s'` at :math:`t + 1` is paid :math:`F_t`.
    Devlin and Kudenko (2012), "Dynamic Potential-Based Reward Shaping", AAMAS, the shaping
    reward :math:`F(s, t, s', t') = \gamma\Phi(s', t') - \Phi(s, t)`. From time :math:`L - 1`
    on the potential is held (:math:`\Phi_t = \Phi_{L-1}`), so :math:`F_t` is the static
    :func:`shaping_reward` of :math:`\Phi_{L-1}`.

    Parameters
    ----------
    potentials : array, shape (L, S)
        :math:`\Phi_t(s)`, one row per time step (:math:`L \ge 1`).
    gamma : float in [0, 1]
    n_actions : int >= 1
    terminal : bool array (S,) or int sequence, optional
        Terminal states :math:`G`, where every potential counts as 0.

    Returns
    -------
    array, shape (L - 1, S, A, S)
        :math:`F_t` for :math:`t < L - 1` (empty when :math:`L = 1`).

    Examples
    --------
    >>> F = dynamic_shaping_reward([[0.0, 1.0], [2.0, 0.0]], gamma=0.5, n_actions=1)
    >>> F[0, :, 0, :]          # 0.5 * Phi_1(s') - Phi_0(s)
    array([[ 1.,  0.],
           [ 0., -1.]])
    """
    Phi = check_array(potentials, "potentials", ndim=2)
    gamma = _check_gamma(gamma)
    A = check_integer(n_actions, "n_actions", minimum=1)
    L, S = Phi.shape
    term = _terminal_mask(terminal, S)
    Phi = np.where(term[None, :], 0.0, Phi)
    F = gamma * Phi[1:, None, None, :] - Phi[:-1, :, None, None]
    F = np.broadcast_to(F, (L - 1, S, A, S)).copy()
    F[:, term] = 0.0
    return F


def shape_dynamic(rewards, potentials, gamma: float, terminal=None) -> np.ndarray:
    r"""Dynamic potential-based shaping: :math:`R'_t = R + \gamma\Phi_{t+1}(s') - \Phi_t(s)`.

    .. math::
        R'_t = R + F_t, \qquad
        \sum_{t=0}^{T-1} \gamma^t F_t(s_t, a_t, s_{t+1})
        = \gamma^T \tilde\Phi_T(s_T) - \tilde\Phi_0(s_0)

    on every trajectory (the returns telescope), with :math:`F_t` from
    :func:`dynamic_shaping_reward`. Devlin and Kudenko (2012): their single-agent policy
    invariance result rests on this identity.

    Parameters
    ----------
    rewards : array, shape (S, A) or (S, A, S)
        :math:`R` (time-independent).
    potentials : array, shape (L, S)
    gamma : float in [0, 1]
    terminal : bool array (S,) or int sequence, optional

    Returns
    -------
    array, shape (L - 1, S, A, S)
        :math:`R'_t` for :math:`t < L - 1`; for :math:`t \ge L - 1` the reward is
        :func:`shape` with :math:`\Phi_{L-1}`.

    Examples
    --------
    >>> R = np.zeros((2, 1, 2))
    >>> Rt = shape_dynamic(R, [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], gamma=1.0)
    >>> Rt.shape, Rt[0, 0, 0, 1], Rt[1, 0, 0, 1]
    ((2, 2, 1, 2), np.float64(1.0), np.float64(0.0))
    """
    R = _as_sas(rewards)
    S, A, _ = R.shape
    Phi = _check_potentials(potentials, S)
    return R[None] + dynamic_shaping_reward(Phi, gamma, A, terminal)


@dataclass(frozen=True, eq=False)
class DynamicShapingResult:
    r"""Exact values of a problem with a time-varying reward, layer by layer (time in the state).

    Attributes
    ----------
    values : array, shape (L, S)
        :math:`V_t(s)`: the value of starting in :math:`s` at time :math:`t` (for a finite
        horizon :math:`H`, :math:`L = H + 1` and ``values[H] = 0``).
    q_values : array, shape (L, S, A) or (H, S, A)
        :math:`Q_t(s, a)`.
    policy : array, shape (L, S, A) or (H, S, A)
        The evaluated policy, or the greedy (first maximiser) optimal one.
    expected_return : float
        :math:`\sum_s \mu_0(s) V_0(s)`.
    iterations : int
        Backward steps taken (the last, static layer of a discounted problem is solved by
        :meth:`~prefrl.mdp.TabularMDP.solve` or :meth:`~prefrl.mdp.TabularMDP.evaluate`).
    value_error_bound : float
        Certified :math:`\max_{t, s} |V_t(s) - V^{exact}_t(s)|`: 0 up to rounding for an
        evaluation or a finite horizon, the static solver's bound for a discounted optimum.
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    expected_return: float
    iterations: int
    value_error_bound: float


def _policy_layers(mdp: TabularMDP, policy, name="policy") -> np.ndarray:
    """A policy as an (L', S, A) stack (an (S, A) or int (S,) policy is one layer)."""
    arr = np.asarray(policy)
    if arr.ndim == 3:
        S, A = mdp.n_states, mdp.n_actions
        return check_stochastic_matrix(arr, name, shape=(None, S, A))
    return mdp.check_policy(policy, name)[None]


def _terminal_for(mdp: TabularMDP, terminal) -> np.ndarray:
    term = _terminal_mask(terminal, mdp.n_states)
    if term.any():
        leaving = ~_absorbing(mdp) & term
        if leaving.any():
            bad = int(np.argmax(leaving))
            raise ValueError(f"terminal state {bad} is not absorbing (P[{bad}, a, {bad}] < 1)")
    return term


def _dynamic_layers(mdp: TabularMDP, potentials, policy, terminal) -> DynamicShapingResult:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Phi = _check_potentials(potentials, S)
    term = _terminal_for(mdp, terminal)
    pis = None if policy is None else _policy_layers(mdp, policy)
    P = mdp.dense_transitions()
    r = mdp.expected_rewards
    Phi = np.where(term[None, :], 0.0, Phi)
    live = (~term).astype(float)[:, None]
    H = mdp.horizon
    if H is not None:
        if Phi.shape[0] != H + 1:
            raise ValueError(f"potentials must have H + 1 = {H + 1} rows for horizon {H}, "
                             f"got {Phi.shape[0]}")
        if pis is not None and pis.shape[0] > H:
            raise ValueError(f"policy must have at most H = {H} layers, got {pis.shape[0]}")
        L, n_q = H + 1, H
        V = np.zeros(S)
        bound = 0.0
    else:
        L = max(Phi.shape[0], 1 if pis is None else pis.shape[0])
        n_q = L
    values = np.zeros((L, S))
    Qs = np.zeros((n_q, S, A))
    pol = np.zeros((n_q, S, A))

    def phi_at(t):
        return Phi[min(t, Phi.shape[0] - 1)]

    def shaped_r(t):  # expected shaped reward r + gamma P Phi_{t+1} - Phi_t (none out of G)
        return r + live * (g * (P @ phi_at(t + 1)) - phi_at(t)[:, None])

    start = L - 1
    if H is None:
        last = TabularMDP(P, r + live * (g * (P @ phi_at(L - 1)) - phi_at(L - 1)[:, None]), g,
                          mdp.initial)
        if pis is None:
            res = last.solve("pi")
            V, Q, pl, bound = res.values, res.q_values, res.policy, float(res.value_error_bound)
        else:
            pl = pis[min(L - 1, pis.shape[0] - 1)]
            ev = last.evaluate(pl)
            V, Q, bound = ev.values, ev.q_values, 0.0
        values[L - 1], Qs[L - 1], pol[L - 1] = V, Q, pl
        start = L - 2
    else:
        values[H] = V
        start = H - 1
    for t in range(start, -1, -1):
        Q = shaped_r(t) + g * (P @ V)
        if pis is None:
            pl = np.zeros((S, A))
            pl[np.arange(S), np.argmax(Q, axis=1)] = 1.0
            V = Q.max(axis=1)
        else:
            pl = pis[min(t, pis.shape[0] - 1)]
            V = np.einsum("sa,sa->s", pl, Q)
        values[t], Qs[t], pol[t] = V, Q, pl
    return DynamicShapingResult(values, Qs, pol, float(mdp.initial @ values[0]), start + 1, bound)


def evaluate_dynamic(mdp: TabularMDP, potentials, policy, terminal=None) -> DynamicShapingResult:
    r"""Exact values of a (possibly non-stationary) policy under dynamic potential-based shaping.

    .. math::
        V'_t(s) = \mathbb{E}_\pi\Big[\sum_{k \ge t}^{H-1} \gamma^{k-t}
        \big(R(s_k, a_k, s_{k+1}) + \gamma\tilde\Phi_{k+1}(s_{k+1}) - \tilde\Phi_k(s_k)\big)
        \,\Big|\, s_t = s\Big]
        = V^\pi_t(s) - \tilde\Phi_t(s)
        + \gamma^{H-t}\,\mathbb{E}_\pi[\tilde\Phi_H(s_H) \mid s_t = s],

    the second equality because the shaping rewards telescope (Devlin and Kudenko 2012,
    single-agent policy invariance). For a discounted infinite horizon the last term vanishes
    (bounded :math:`\Phi`), so every policy's value shifts by exactly :math:`-\tilde\Phi_t`;
    for a finite horizon :math:`H` it vanishes when :math:`\Phi_H \equiv 0` (and is a
    policy-independent constant when :math:`\Phi_H` is constant over states). Here :math:`V^\pi_t` is the unshaped
    value, :math:`\tilde\Phi_t = \Phi_t \mathbb{1}[s \notin G]`, and the expectation is over
    :math:`a_k \sim \pi_k(\cdot|s_k)`, :math:`s_{k+1} \sim P[s_k, a_k, \cdot]`.

    Computed without using the identity: backward steps
    :math:`Q'_t = r'_t + \gamma P V'_{t+1}`, :math:`V'_t = \sum_a \pi_t Q'_t`, where for a
    discounted problem the last layer :math:`t = L - 1` (potential and policy held from then on)
    is the static shaped MDP of :math:`\Phi_{L-1}`, evaluated by a linear solve.

    **Truncation.** A bounded potential that never becomes stationary (periodic, annealed
    geometrically) is given by its first :math:`L` rows: since :math:`V'_t` depends on the
    potentials only through :math:`\Phi_t`, the values at times :math:`t < L` are exact, with
    no tail term (checked against longer sequences in ``proofs_check/shaping.py``). Without
    the identity, the a-priori bound on the error at time :math:`t` would be
    :math:`2(1+\gamma)\gamma^{L-1-t} \sup_{k}\lVert\Phi_k\rVert_\infty / (1 - \gamma)`.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted (``horizon`` None) or finite-horizon.
    potentials : array, shape (L, S)
        :math:`\Phi_t = ` ``potentials[min(t, L-1)]``; exactly :math:`H + 1` rows for a finite
        horizon.
    policy : array, shape (S, A), (L', S, A) or int (S,)
        :math:`\pi_t = ` ``policy[min(t, L'-1)]`` (at most :math:`H` layers for a finite horizon).
    terminal : bool array (S,) or int sequence, optional
        Absorbing terminal states, where the potentials count as 0.

    Returns
    -------
    DynamicShapingResult
        ``values`` has one row per start time (:math:`\max(L, L')` rows, or :math:`H + 1`).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(3, gamma=0.5)
    >>> Phi = np.array([[1.0, 2.0, 0.0], [0.0, 5.0, -1.0], [3.0, 3.0, 3.0]])
    >>> pi = np.full((3, 2), 0.5)
    >>> res = evaluate_dynamic(mdp, Phi, pi)
    >>> bool(np.allclose(res.values[0], mdp.evaluate(pi).values - Phi[0]))
    True
    """
    if policy is None:
        raise ValueError("policy must be given (use solve_dynamic for the optimum)")
    return _dynamic_layers(mdp, potentials, policy, terminal)


def solve_dynamic(mdp: TabularMDP, potentials, terminal=None) -> DynamicShapingResult:
    r"""Exact optimum of an MDP under dynamic potential-based shaping (time in the state).

    .. math::
        Q'^*_t(s, a) = r(s, a) + \sum_{s'} P[s, a, s']\big(\gamma\tilde\Phi_{t+1}(s')
        - \tilde\Phi_t(s) + \gamma V'^*_{t+1}(s')\big), \qquad V'^*_t = \max_a Q'^*_t,

    with :math:`V'^*_H = 0` for a finite horizon, and for a discounted problem
    :math:`V'^*_{L-1}` the optimum of the static shaped MDP of :math:`\Phi_{L-1}`. Devlin and
    Kudenko (2012), single-agent policy invariance:
    :math:`Q'^*_t = Q^*_t - \tilde\Phi_t(s)` (when
    :math:`\Phi_H \equiv 0` for a finite horizon), so the optimal actions at every
    :math:`(t, s)` are those of the unshaped problem.

    Parameters
    ----------
    mdp : TabularMDP
    potentials : array, shape (L, S)
        As in :func:`evaluate_dynamic`.
    terminal : bool array (S,) or int sequence, optional

    Returns
    -------
    DynamicShapingResult
        ``policy`` is the greedy time-dependent optimal policy (first maximiser).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> Phi = np.array([[0.0, 0.0, 0.0, 0.0], [9.0, -3.0, 4.0, 1.0]])
    >>> res = solve_dynamic(mdp, Phi)
    >>> bool((res.policy.argmax(axis=2) == mdp.solve().actions).all())
    True
    """
    return _dynamic_layers(mdp, potentials, None, terminal)


def time_expanded_mdp(mdp: TabularMDP, potentials, terminal=None) -> TabularMDP:
    r"""The dynamically shaped problem as one :class:`~prefrl.mdp.TabularMDP`, time in the state.

    .. math::
        \bar s = (t, s) \mapsto t S + s, \qquad
        \bar P[(t, s), a, (t^+, s')] = P[s, a, s'], \quad t^+ = \min(t + 1, L - 1), \qquad
        \bar R[(t, s), a, (t^+, s')] = R(s, a, s') + \gamma\tilde\Phi_{t+1}(s') - \tilde\Phi_t(s),

    with :math:`\bar\mu_0` = :math:`\mu_0` on layer 0. For a finite horizon :math:`H`
    (:math:`L = H + 1`) layer :math:`H` is absorbing with zero reward and the expanded MDP has
    horizon :math:`H`. A stationary policy of the expanded MDP is a time-dependent policy of the
    original one (time in the state, as in the invariance argument of Devlin and Kudenko
    2012). Sparse transitions, :math:`LS` states. A slow, obvious cross-check of
    :func:`evaluate_dynamic`.

    Parameters
    ----------
    mdp : TabularMDP
    potentials : array, shape (L, S)
    terminal : bool array (S,) or int sequence, optional

    Returns
    -------
    TabularMDP
        With ``L * S`` states.

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(3, gamma=0.5)
    >>> Phi = np.array([[1.0, 2.0, 0.0], [0.0, 5.0, -1.0]])
    >>> big = time_expanded_mdp(mdp, Phi)
    >>> big.n_states, bool(np.allclose(big.solve().values[:3], solve_dynamic(mdp, Phi).values[0]))
    (6, True)
    """
    import scipy.sparse as sp

    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Phi = _check_potentials(potentials, S)
    term = _terminal_for(mdp, terminal)
    H = mdp.horizon
    if H is not None and Phi.shape[0] != H + 1:
        raise ValueError(f"potentials must have H + 1 = {H + 1} rows for horizon {H}, "
                         f"got {Phi.shape[0]}")
    L = Phi.shape[0]
    P = mdp.dense_transitions()
    R = _as_sas(mdp.rewards)
    Phi = np.where(term[None, :], 0.0, Phi)
    rows, cols, vals = [], [], []
    Rbar = np.zeros((L * S, A, L * S))
    for t in range(L):
        nxt = min(t + 1, L - 1)
        for s in range(S):
            for a in range(A):
                row = (t * S + s) * A + a
                if H is not None and t == H:
                    rows.append(row)
                    cols.append(t * S + s)
                    vals.append(1.0)
                    continue
                for s2 in np.flatnonzero(P[s, a]):
                    rows.append(row)
                    cols.append(nxt * S + s2)
                    vals.append(P[s, a, s2])
                    f = 0.0 if term[s] else g * Phi[nxt, s2] - Phi[t, s]
                    Rbar[t * S + s, a, nxt * S + s2] = R[s, a, s2] + f
    Pbar = sp.csr_array((vals, (rows, cols)), shape=(L * S * A, L * S))
    mu = np.zeros(L * S)
    mu[:S] = mdp.initial
    return TabularMDP(Pbar, Rbar, g, mu, H)


def expand_policy(policy, n_layers: int) -> np.ndarray:
    r"""A time-dependent policy as a stationary policy of :func:`time_expanded_mdp`.

    .. math::
        \bar\pi(a \mid (t, s)) = \pi_{\min(t, L'-1)}(a \mid s), \qquad t = 0, \dots, L - 1 .

    Parameters
    ----------
    policy : array, shape (S, A) or (L', S, A)
    n_layers : int >= 1
        :math:`L`.

    Returns
    -------
    array, shape (L * S, A)
        Layers of ``policy`` beyond :math:`L - 1` are not used (the expanded MDP's last layer
        holds :math:`\pi_{L-1}`).

    Examples
    --------
    >>> expand_policy(np.eye(2), 3).shape        # a stationary policy on three layers
    (6, 2)
    """
    pi = check_array(policy, "policy", ndim=(2, 3))
    L = check_integer(n_layers, "n_layers", minimum=1)
    if pi.ndim == 2:
        pi = pi[None]
    idx = np.minimum(np.arange(L), pi.shape[0] - 1)
    return pi[idx].reshape(L * pi.shape[1], pi.shape[2])


def dynamic_q_learning(mdp: TabularMDP, n_episodes: int, *, potentials, alpha: float,
                       epsilon: float, rng, mode: str = "shaped", clock: str = "global",
                       sarsa: bool = False, q_init=None, terminal=None, max_steps: int = 10_000,
                       start: int | None = None, exploration: str = "epsilon",
                       temperature: float = 1.0, tie_tol: float = 1e-9,
                       gamma: float | None = None, record_q: bool = False,
                       exact: bool = False) -> TDTrajectory:
    r"""Tabular Q-learning (or SARSA) with a dynamic potential, shaped or by shifting the table.

    With a clock :math:`c_t` (the global step count, or the step within the episode) and
    :math:`\Psi_t = \tilde\Phi_{c_t}` (:math:`\Phi_c` = ``potentials[min(c, L-1)]``, 0 on
    terminal states), ``mode="shaped"`` learns on the dynamic shaping reward of Devlin and
    Kudenko (2012):

    .. math::
        Q_{t+1}(s_t, a_t) = Q_t(s_t, a_t) + \alpha\big(r_t + \gamma\Psi_{t+1}(s_{t+1})
        - \Psi_t(s_t) + \gamma\,\mathbb{1}[s_{t+1} \notin G]\max_{a'} Q_t(s_{t+1}, a')
        - Q_t(s_t, a_t)\big),

    while ``mode="shifted"`` learns on :math:`R` alone, starting at
    :math:`Q'_0 = Q_0 + \Psi_0(s)` and, whenever the clock moves, first adding
    :math:`\Psi_{t+1}(x) - \Psi_t(x)` to every row :math:`Q'(x, \cdot)`:

    .. math::
        \bar Q = Q'_t + (\Psi_{t+1} - \Psi_t), \qquad
        Q'_{t+1}(s_t, a_t) = \bar Q(s_t, a_t) + \alpha\big(r_t
        + \gamma\,\mathbb{1}[s_{t+1} \notin G]\max_{a'} \bar Q(s_{t+1}, a') - Q'_t(s_t, a_t)\big),

    and :math:`Q'_{t+1} = \bar Q` elsewhere. By induction :math:`Q'_t = Q_t + \Psi_t(s)` at every
    step (the TD errors are equal), so the two runs choose the same actions from the same
    ``rng``: the corrected form of Wiewiora's equivalence for dynamic potentials (ours, checked
    in exact arithmetic by ``proofs_check/shaping.py``). Initialising once at
    :math:`Q_0 + \Phi_0` (Wiewiora 2003) does *not* suffice when :math:`\Phi` changes. SARSA
    (``sarsa=True``) bootstraps on :math:`\bar Q(s_{t+1}, a_{t+1})` with :math:`a_{t+1}` chosen
    from :math:`\bar Q(s_{t+1}, \cdot)`. The random stream is read exactly as by
    :func:`q_learning` and :func:`sarsa`, so a constant-in-time potential reproduces
    ``q_learning(..., potential=Phi)`` step for step.

    Parameters
    ----------
    mdp : TabularMDP
    n_episodes : int >= 1
    potentials : array, shape (L, S)
        :math:`\Phi_c` for clock values :math:`c = 0, \dots, L-1` (held beyond).
    alpha : float in (0, 1]
    epsilon : float in [0, 1]
    rng : numpy Generator or int seed
    mode : {"shaped", "shifted"}
    clock : {"global", "episode"}
        The time of the potential: total steps taken so far, or steps since the episode began.
    sarsa : bool
        SARSA instead of Q-learning.
    q_init, terminal, max_steps, start, exploration, temperature, tie_tol, gamma, record_q, exact
        As in :func:`q_learning`; with ``record_q`` the history holds :math:`Q_t` (shaped) or
        :math:`Q'_t` (shifted) before each step.

    Returns
    -------
    TDTrajectory
        ``rewards`` are those the learner was paid: :math:`r_t + F_t` (shaped) or :math:`r_t`
        (shifted).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> Phi = np.array([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]])
    >>> a = dynamic_q_learning(mdp, 5, potentials=Phi, alpha=0.5, epsilon=0.2, rng=1)
    >>> b = dynamic_q_learning(mdp, 5, potentials=Phi, alpha=0.5, epsilon=0.2, rng=1,
    ...                        mode="shifted")
    >>> bool(np.array_equal(a.actions, b.actions))
    True
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    if mode not in ("shaped", "shifted"):
        raise ValueError(f"mode must be 'shaped' or 'shifted', got {mode!r}")
    if clock not in ("global", "episode"):
        raise ValueError(f"clock must be 'global' or 'episode', got {clock!r}")
    Phi = _check_potentials(potentials, mdp.n_states)
    return _td_control(mdp, n_episodes, alpha, epsilon, rng, q_init, terminal, max_steps, start,
                       exploration, temperature, tie_tol, gamma, record_q, exact, bool(sarsa),
                       potentials=Phi, shifted=mode == "shifted", clock=clock)


__all__ += [
    "DynamicShapingResult",
    "dynamic_q_learning",
    "dynamic_shaping_reward",
    "evaluate_dynamic",
    "expand_policy",
    "shape_dynamic",
    "solve_dynamic",
    "time_expanded_mdp",
]
