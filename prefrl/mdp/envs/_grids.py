r"""Gridworlds: a generic one with slip, walls and goals, and the grids of two papers.

- :class:`GridMDP`: a :class:`~prefrl.mdp.TabularMDP` on the free cells of a grid, with layout
  helpers (:meth:`~GridMDP.state_of`, :meth:`~GridMDP.to_grid`);
- :func:`gridworld`: the generic gridworld (slip, walls, absorbing goals, a step cost);
- :func:`ng_harada_russell_grid`: the 10x10 grid of Ng, Harada and Russell (1999), "Policy
  invariance under reward transformations: theory and application to reward shaping", Sec. 4;
- :func:`epic_grid`: the deterministic 3x3, five-action grid of Gleave, Dennis, Legg, Russell and
  Leike (2021), "Quantifying Differences in Reward Functions" (EPIC), gridworld appendix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..._validation import check_array, check_integer, check_probability
from .._tabular import TabularMDP

__all__ = ["GridMDP", "epic_grid", "gridworld", "ng_harada_russell_grid"]

_MOVES4 = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}
_MOVES5 = {"stay": (0, 0), "left": (0, -1), "up": (-1, 0), "right": (0, 1), "down": (1, 0)}


class GridMDP(TabularMDP):
    """A :class:`TabularMDP` on the free cells of a grid, with layout helpers.

    Attributes
    ----------
    shape : tuple (n_rows, n_cols)
    cells : int array, shape (S, 2)
        ``cells[s] = (row, col)`` of state ``s`` (walls are not states).
    goals : tuple of int
        Indices of the absorbing goal states.
    """

    def __init__(self, *args, shape, cells, goals=(), **kw):
        super().__init__(*args, **kw)
        self.shape = tuple(shape)
        self.cells = np.asarray(cells, dtype=np.int64)
        self.goals = tuple(int(g) for g in goals)

    def state_of(self, row: int, col: int) -> int:
        """Index of the state at cell (row, col); ValueError for walls or cells off the grid."""
        hit = np.flatnonzero((self.cells[:, 0] == row) & (self.cells[:, 1] == col))
        if hit.size == 0:
            raise ValueError(f"cell ({row}, {col}) is not a free cell of the grid")
        return int(hit[0])

    def to_grid(self, x) -> np.ndarray:
        """Lay out a per-state array (S,) on the grid, shape (n_rows, n_cols), NaN on walls.

        Examples
        --------
        >>> g = gridworld(1, 3, walls=[(0, 1)], goals={(0, 2): 1.0})
        >>> g.to_grid(np.arange(2.0))
        array([[ 0., nan,  1.]])
        """
        x = check_array(x, "x", shape=(self.n_states,))
        out = np.full(self.shape, np.nan)
        out[self.cells[:, 0], self.cells[:, 1]] = x
        return out


def gridworld(
    n_rows: int,
    n_cols: int,
    *,
    goals: Mapping[tuple[int, int], float] | None = None,
    walls: Iterable[tuple[int, int]] = (),
    slip: float = 0.0,
    step_cost: float = 0.0,
    gamma: float = 0.95,
    start: tuple[int, int] | None = None,
    stay_action: bool = False,
    horizon: int | None = None,
) -> GridMDP:
    r"""A generic gridworld with slip, walls, absorbing goals and a step cost.

    States are the free (non-wall) cells, numbered row by row. Actions are up, right, down, left
    (and stay, first, if ``stay_action``). With probability :math:`1 - p` the intended move is
    made, with probability :math:`p` (``slip``) a uniformly random action of the action set is
    made instead (possibly the intended one); a move off the grid or into a wall stays put:

    .. math::
        P[s, a, s'] = (1-p)\,\mathbb{1}[s' = m(s, a)] + \frac{p}{|A|} \sum_{b} \mathbb{1}[s' = m(s, b)].

    Rewards: :math:`R[s, a, s'] = -c + g(s')\,\mathbb{1}[s' \in G]` for a non-goal :math:`s`
    (``step_cost`` :math:`c`, goal reward :math:`g`), and goals are absorbing with reward 0.

    Parameters
    ----------
    n_rows, n_cols : int >= 1
    goals : dict {(row, col): reward}, optional
        Absorbing goal cells; ``{(n_rows - 1, n_cols - 1): 1.0}`` by default.
    walls : iterable of (row, col)
    slip : float in [0, 1]
    step_cost : float
        Cost :math:`c` paid on every step out of a non-goal state.
    gamma : float
    start : (row, col), optional
        Start cell (:math:`\mu_0` is a point mass there); uniform over non-goal cells by default.
    stay_action : bool
    horizon : int, optional

    Returns
    -------
    GridMDP

    Examples
    --------
    >>> g = gridworld(2, 2, goals={(1, 1): 1.0}, gamma=0.5, start=(0, 0))
    >>> g.solve().values.round(4)          # two steps from the corner: 0.5 * 1
    array([0.5, 1. , 1. , 0. ])
    """
    n_rows = check_integer(n_rows, "n_rows", minimum=1)
    n_cols = check_integer(n_cols, "n_cols", minimum=1)
    slip = check_probability(slip, "slip")
    step_cost = float(check_array(step_cost, "step_cost", ndim=0))
    goals = {(n_rows - 1, n_cols - 1): 1.0} if goals is None else dict(goals)
    wall_set = {tuple(int(v) for v in w) for w in walls}
    for name, cells in (("walls", wall_set), ("goals", goals.keys())):
        for r, c in cells:
            if not (0 <= r < n_rows and 0 <= c < n_cols):
                raise ValueError(f"{name} cell ({r}, {c}) is off the {n_rows}x{n_cols} grid")
    if wall_set & set(goals):
        raise ValueError(f"cells {sorted(wall_set & set(goals))} are both walls and goals")
    free = [(r, c) for r in range(n_rows) for c in range(n_cols) if (r, c) not in wall_set]
    if not free:
        raise ValueError("walls cover the whole grid")
    index = {cell: i for i, cell in enumerate(free)}
    moves = list((_MOVES5 if stay_action else _MOVES4).values())
    S, A = len(free), len(moves)
    nxt = np.empty((S, A), dtype=np.int64)
    for i, (r, c) in enumerate(free):
        for a, (dr, dc) in enumerate(moves):
            target = (r + dr, c + dc)
            nxt[i, a] = index.get(target, i)
    goal_idx = [index[g] for g in goals]
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    goal_reward = np.zeros(S)
    for g, val in goals.items():
        goal_reward[index[g]] = float(val)
    for i in range(S):
        if i in goal_idx:
            P[i, :, i] = 1.0
            continue
        for a in range(A):
            P[i, a, nxt[i, a]] += 1.0 - slip
            for b in range(A):
                P[i, a, nxt[i, b]] += slip / A
        R[i] = -step_cost + np.where(np.isin(np.arange(S), goal_idx), goal_reward, 0.0)[None, :]
    if start is None:
        mu = np.ones(S)
        mu[goal_idx] = 0.0
        if mu.sum() == 0:
            mu[:] = 1.0
        mu /= mu.sum()
    else:
        if tuple(start) not in index:
            raise ValueError(f"start cell {tuple(start)} is not a free cell")
        mu = np.zeros(S)
        mu[index[tuple(start)]] = 1.0
    labels = [f"({r},{c})" for r, c in free]
    action_labels = list((_MOVES5 if stay_action else _MOVES4).keys())
    return GridMDP(P, R, gamma, mu, horizon, state_labels=labels, action_labels=action_labels,
                   shape=(n_rows, n_cols), cells=free, goals=goal_idx)


def ng_harada_russell_grid(size: int = 10, success: float = 0.8, gamma: float = 0.99) -> GridMDP:
    r"""The grid of Ng, Harada and Russell (1999), Sec. 4: -1 per step, absorbing goal corner.

    A ``size`` x ``size`` grid (10 in the paper), start at the top-left corner (0, 0), absorbing
    goal at the bottom-right corner; each of the four moves succeeds with probability
    ``success`` (0.8), otherwise a uniformly random move among the four is made (our reading of
    "a random move"; the paper's text does not say whether the intended one is included).
    Reward :math:`-1` per step until the goal. The paper runs undiscounted episodes; here
    :math:`\gamma` = 0.99 by default so that the infinite-horizon solvers apply (any
    :math:`\gamma < 1` has the same optimal policy up to ties on this grid's shortest paths).
    Their shaping potential is :math:`\Phi_0(s) = -\mathrm{manhattan}(s, goal) / 0.8`.

    .. math::
        P[s, a, \cdot] = q\, \delta_{m(s,a)} + \frac{1-q}{4} \sum_b \delta_{m(s,b)}, \qquad
        R[s, a, s'] = -1 \ (s \ne goal),

    with :math:`q` = ``success``.

    Parameters
    ----------
    size : int >= 2
    success : float in [0, 1]
    gamma : float in [0, 1)

    Returns
    -------
    GridMDP

    Examples
    --------
    >>> g = ng_harada_russell_grid()
    >>> g.n_states, g.n_actions, g.goals
    (100, 4, (99,))
    """
    size = check_integer(size, "size", minimum=2)
    success = check_probability(success, "success")
    slip = 1.0 - success
    return gridworld(size, size, goals={(size - 1, size - 1): 0.0}, slip=slip, step_cost=1.0,
                     gamma=gamma, start=(0, 0))


def epic_grid(state_rewards=None, gamma: float = 0.99) -> GridMDP:
    r"""The deterministic 3x3, five-action gridworld used to illustrate EPIC.

    Gleave et al. (2021), "Quantifying Differences in Reward Functions", gridworld appendix:
    actions stay, left, up, right, down; moves off the grid stay; no absorbing state;
    :math:`\gamma = 0.99`. Rewards are state-only: :math:`R[s, a, s'] = r(s)` with ``r`` given as a
    3x3 array (default: the sparse goal, 1 at the corner (2, 2)).

    .. math::
        P[s, a, s'] = \mathbb{1}[s' = m(s, a)], \qquad R[s, a, s'] = r(s).

    Parameters
    ----------
    state_rewards : array, shape (3, 3), optional
    gamma : float

    Returns
    -------
    GridMDP

    Examples
    --------
    >>> g = epic_grid()
    >>> g.n_states, g.action_labels
    (9, ('stay', 'left', 'up', 'right', 'down'))
    """
    r = np.zeros((3, 3)) if state_rewards is None else check_array(
        state_rewards, "state_rewards", shape=(3, 3)
    )
    if state_rewards is None:
        r[2, 2] = 1.0
    g = gridworld(3, 3, goals={}, gamma=gamma, stay_action=True)
    R = np.broadcast_to(r.reshape(9)[:, None, None], (9, 5, 9)).copy()
    return GridMDP(g.transitions, R, gamma, None, None, state_labels=g.state_labels,
                   action_labels=g.action_labels, shape=(3, 3), cells=g.cells, goals=())

