r"""Potential-based shaping (Ng, Harada and Russell 1999) and its potentials.

Ng, Harada and Russell (1999), "Policy invariance under reward transformations: theory and
application to reward shaping", ICML:

- the shaping reward :math:`F(s, a, s') = \gamma\Phi(s') - \Phi(s)` (Sec. 3):
  :func:`shaping_reward`, :func:`shape` (:math:`R + F`), :func:`shaped_mdp` (the MDP with the
  shaped reward);
- Theorem 1, sufficiency: every policy's value shifts by :math:`-\tilde\Phi`, so the optimal
  policies and the ordering of policies are unchanged (checked in ``proofs_check/shaping.py``);
- Theorem 1, necessity: :func:`is_potential_based` (the least-squares potential and its residual,
  :class:`PotentialFit`) and :func:`necessity_counterexample` (dynamics and a reward where a
  non-potential :math:`F` flips the optimal action, :class:`NecessityCounterexample`; the
  construction is ours);
- Sec. 4, the distance potential of a grid world: :func:`manhattan_potential`.

The terminal convention (``terminal``: the potential counts as 0 at terminal states and no
shaping reward is paid out of them) is described in :mod:`prefrl.shaping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._validation import check_array, check_integer, check_nonnegative, check_positive
from ..mdp import TabularMDP
from ..results import Result
from ._common import _as_sas, _check_gamma, _terminal_for, _terminal_mask

__all__ = [
    "NecessityCounterexample",
    "PotentialFit",
    "is_potential_based",
    "manhattan_potential",
    "necessity_counterexample",
    "shape",
    "shaped_mdp",
    "shaping_reward",
]


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
        Terminal states :math:`G` (see the terminal convention of :mod:`prefrl.shaping`).

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
    term = _terminal_for(mdp, terminal)
    R = shape(mdp.rewards, potential, mdp.gamma, term)
    return TabularMDP(mdp.transitions, R, mdp.gamma, mdp.initial, mdp.horizon,
                      state_labels=mdp.state_labels, action_labels=mdp.action_labels)


@dataclass(frozen=True, eq=False)
class PotentialFit(Result):
    r"""Result of :func:`is_potential_based`.

    Attributes
    ----------
    potential : array, shape (S,)
        Least-squares potential :math:`\hat\Phi` (minimum-norm when not unique, e.g. :math:`\gamma = 1`).
    certificate : float
        :math:`\max |F(s, a, s') - (\gamma\hat\Phi(s') - \hat\Phi(s))|` over the checked entries
        (the residual of the potential-based condition at :math:`\hat\Phi`; formerly
        ``residual``, which still works and warns).
    holds : bool
        Whether ``certificate <= atol * (1 + max |F|)``.
    gamma : float

    A fit is truthy when ``holds``.
    """

    potential: np.ndarray
    certificate: float
    holds: bool
    gamma: float
    _renamed: ClassVar[dict[str, str]] = {"residual": "certificate"}

    def __bool__(self) -> bool:
        return bool(self.holds)


def is_potential_based(F, gamma: float, support=None, atol: float = 1e-9) -> PotentialFit:
    r"""Whether :math:`F` is potential-based, with the least-squares potential and its residual.

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
        ``potential`` :math:`\hat\Phi`, ``certificate`` the residual, ``holds``.

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
        return PotentialFit(potential=np.zeros(S), certificate=0.0, holds=True, gamma=gamma)
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
    return PotentialFit(potential=phi, certificate=resid, holds=bool(holds), gamma=gamma)


@dataclass(frozen=True, eq=False)
class NecessityCounterexample(Result):
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
            f"F is potential-based (residual {fit.certificate:.3g}); shaping by it cannot "
            "change the optimal policies"
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
    return NecessityCounterexample(original=original, shaped=shaped, state=s, optimal_actions=best,
                                   shaped_optimal_actions=best_shaped,
                                   gap=min(gap, gap_shaped))


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
    goal = check_array(goal, "goal", ndim=1, shape=(2,))
    if not np.all(goal == np.round(goal)):
        raise ValueError(f"goal must be a (row, col) pair of integers, got {goal.tolist()}")
    goal = goal.astype(np.int64)
    return -np.abs(grid.cells - goal[None, :]).sum(axis=1).astype(float) / speed

