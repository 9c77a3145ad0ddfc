r"""Named tabular environments: gridworlds, chains, combination locks, random MDPs, token trees,
and the small worlds of the expressivity separations and the curriculum experiments.

Every constructor returns a :class:`~prefrl.mdp.TabularMDP` (or a subclass carrying layout
helpers), with the transitions built exactly, so the solvers' answers can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import scipy.sparse as sp

from .._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_integer,
    check_probability,
)
from .core import TabularMDP

__all__ = [
    "GridMDP",
    "TokenTreeMDP",
    "chain",
    "combination_lock",
    "epic_grid",
    "goal_chain",
    "gridworld",
    "ng_harada_russell_grid",
    "one_state_env",
    "random_mdp",
    "stay_go_env",
    "switch_env",
    "token_tree",
]

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


def chain(n: int, *, slip: float = 0.0, goal_reward: float = 1.0, gamma: float = 0.9,
          horizon: int | None = None) -> TabularMDP:
    r"""A chain of ``n`` states: action 0 moves left, action 1 right; the last state is an absorbing goal.

    Start at state 0. With probability ``slip`` the other move is made. Entering state
    :math:`n-1` pays ``goal_reward``; the goal then loops with reward 0. Used as the hard-exploration
    proxy for curricula (Li et al. 2023).

    .. math::
        P[s, 1, \min(s+1, n-1)] \mathrel{+}= 1 - p,\ P[s, 0, \max(s-1, 0)] \mathrel{+}= 1 - p
        \ (\text{and } p \text{ on the other move}), \quad R[s, a, n-1] = g \ (s < n-1).

    Parameters
    ----------
    n : int >= 2
    slip : float in [0, 1]
    goal_reward : float
    gamma : float
    horizon : int, optional

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> chain(4, gamma=0.5).solve().values.round(4)
    array([0.25, 0.5 , 1.  , 0.  ])
    """
    n = check_integer(n, "n", minimum=2)
    slip = check_probability(slip, "slip")
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2, n))
    for s in range(n - 1):
        left, right = max(s - 1, 0), s + 1
        P[s, 0, left] += 1 - slip
        P[s, 0, right] += slip
        P[s, 1, right] += 1 - slip
        P[s, 1, left] += slip
        R[s, :, n - 1] = goal_reward
    P[n - 1, :, n - 1] = 1.0
    mu = np.zeros(n)
    mu[0] = 1.0
    return TabularMDP(P, R, gamma, mu, horizon, action_labels=("left", "right"))


def combination_lock(n: int, n_actions: int = 2, *, code=None, goal_reward: float = 1.0,
                     gamma: float = 0.9, horizon: int | None = None) -> TabularMDP:
    r"""A combination lock of length ``n``: one action advances, every other resets to the start.

    States :math:`0, \dots, n-1`, start 0; in state :math:`s < n-1` action ``code[s]`` moves to
    :math:`s+1` and any other action to 0; entering :math:`n-1` pays ``goal_reward`` and
    :math:`n-1` is absorbing. A uniformly random policy needs about :math:`|A|^{n-1}` steps to
    open it.

    .. math::
        P[s, a, s'] = \mathbb{1}[a = c_s]\,\mathbb{1}[s' = s+1] + \mathbb{1}[a \ne c_s]\,\mathbb{1}[s' = 0].

    Parameters
    ----------
    n : int >= 2
    n_actions : int >= 1
    code : int array, shape (n - 1,), optional
        The correct action of each state; ``s mod n_actions`` by default.
    goal_reward, gamma, horizon

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> lock = combination_lock(3, 2, gamma=0.5)
    >>> lock.solve().actions[:2]
    array([0, 1])
    """
    n = check_integer(n, "n", minimum=2)
    A = check_integer(n_actions, "n_actions", minimum=1)
    code = np.arange(n - 1) % A if code is None else np.asarray(code)
    if code.shape != (n - 1,) or not np.issubdtype(code.dtype, np.integer):
        raise ValueError(f"code must be an integer array of shape ({n - 1},)")
    if np.any((code < 0) | (code >= A)):
        raise ValueError(f"code entries must be in [0, {A})")
    P = np.zeros((n, A, n))
    R = np.zeros((n, A, n))
    for s in range(n - 1):
        P[s, :, 0] = 1.0
        P[s, code[s], 0] = 0.0
        P[s, code[s], s + 1] = 1.0
    R[: n - 1, :, n - 1] = goal_reward
    P[n - 1, :, n - 1] = 1.0
    mu = np.zeros(n)
    mu[0] = 1.0
    return TabularMDP(P, R, gamma, mu, horizon)


def random_mdp(n_states: int, n_actions: int, rng, n_successors: int | None = None, *,
               gamma: float = 0.9, sparse: bool = False) -> TabularMDP:
    r"""A random MDP: Dirichlet(1) transitions over random successor sets, uniform rewards.

    Each pair :math:`(s, a)` draws ``n_successors`` distinct next states uniformly (all states by
    default) and weights :math:`w \sim \mathrm{Dirichlet}(\mathbf{1})` on them;
    :math:`r[s, a] \sim U[0, 1)`.

    Parameters
    ----------
    n_states, n_actions : int >= 1
    rng : numpy Generator or int seed
    n_successors : int in [1, n_states], optional
    gamma : float in [0, 1)
    sparse : bool
        Store the transitions as a CSR matrix (S * A, S).

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> mdp = random_mdp(5, 2, rng=0, n_successors=2, sparse=True)
    >>> mdp.is_sparse, mdp.transitions.nnz
    (True, 20)
    """
    S = check_integer(n_states, "n_states", minimum=1)
    A = check_integer(n_actions, "n_actions", minimum=1)
    k = S if n_successors is None else check_integer(n_successors, "n_successors", minimum=1)
    if k > S:
        raise ValueError(f"n_successors must be <= n_states = {S}, got {k}")
    check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
    rng = as_rng(rng)
    w = rng.dirichlet(np.ones(k), size=S * A)
    r = rng.random((S, A))
    if k == S and not sparse:
        P = w.reshape(S, A, S)
        P /= P.sum(axis=2, keepdims=True)  # renormalise away the rounding of the draws
        return TabularMDP(P, r, gamma)
    if k == S:
        cols = np.broadcast_to(np.arange(S), (S * A, S))
    elif S * A * S <= 5e7:
        # k distinct successors per row: the k smallest of S uniform keys.
        cols = np.argpartition(rng.random((S * A, S)), k - 1, axis=1)[:, :k]
    else:
        # Large and sparse: draw k indices per row and redraw the rows that repeat one.
        cols = rng.integers(0, S, size=(S * A, k))
        while True:
            srt = np.sort(cols, axis=1)
            dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
            if not dup.any():
                break
            cols[dup] = rng.integers(0, S, size=(int(dup.sum()), k))
    rows = np.repeat(np.arange(S * A), k)
    M = sp.csr_array((w.ravel(), (rows, cols.ravel())), shape=(S * A, S))
    M = sp.csr_array(sp.diags_array(1.0 / np.asarray(M.sum(axis=1)).ravel()) @ M)
    P = M if sparse else M.toarray().reshape(S, A, S)
    return TabularMDP(P, r, gamma)


class TokenTreeMDP(TabularMDP):
    """A :class:`TabularMDP` whose states are token prefixes (see :func:`token_tree`)."""

    def __init__(self, *args, vocab_size, depth, **kw):
        super().__init__(*args, **kw)
        self.vocab_size = vocab_size
        self.depth = depth

    def _offset(self, h):
        V = self.vocab_size
        return h if V == 1 else (V**h - 1) // (V - 1)

    def states_at_depth(self, h: int) -> np.ndarray:
        """State indices of the prefixes of length ``h``, in lexicographic order, shape (V**h,).

        The states are numbered breadth first: the root is 0, then the prefixes of length 1, ...

        Examples
        --------
        >>> token_tree(2, 2).states_at_depth(1)
        array([1, 2])
        """
        h = check_integer(h, "h", minimum=0)
        if h > self.depth:
            raise ValueError(f"h must be <= depth = {self.depth}, got {h}")
        return self._offset(h) + np.arange(self.vocab_size**h)

    def state_of(self, prefix) -> int:
        """State index of a prefix (a sequence of tokens, length <= depth)."""
        prefix = [int(t) for t in prefix]
        if len(prefix) > self.depth or any(t < 0 or t >= self.vocab_size for t in prefix):
            raise ValueError(f"prefix {prefix} is not a prefix of this tree")
        code = 0
        for t in prefix:
            code = code * self.vocab_size + t
        return self._offset(len(prefix)) + code

    def leaves(self) -> np.ndarray:
        """State indices of the complete sequences, in lexicographic order, shape (V**H,)."""
        return self._offset(self.depth) + np.arange(self.vocab_size**self.depth)

    def sequence_probabilities(self, policy) -> np.ndarray:
        r"""Probability of each complete sequence, :math:`\prod_t \pi(y_t | y_{<t})`, shape (V**H,).

        Examples
        --------
        >>> tree = token_tree(2, 2)
        >>> tree.sequence_probabilities(np.full((tree.n_states, 2), 0.5))
        array([0.25, 0.25, 0.25, 0.25])
        """
        pi = self.check_policy(policy)
        V = self.vocab_size
        prob = np.ones(1)
        for h in range(self.depth):
            states = self._offset(h) + np.arange(V**h)
            prob = (prob[:, None] * pi[states]).ravel()
        return prob


def token_tree(vocab_size: int, depth: int, sequence_rewards=None, token_rewards=None,
               gamma: float = 1.0) -> TokenTreeMDP:
    r"""The deterministic token-tree MDP: states are prefixes, actions are tokens.

    A state is a prefix :math:`y_{<t}` of length :math:`t \le H`; action :math:`y_t` moves to
    :math:`y_{\le t}`; the horizon is :math:`H` (``depth``). With ``sequence_rewards``
    :math:`r(y)` the reward is paid on the last token, so that
    :math:`J(\pi) = \sum_y \pi(y)\, r(y)` with :math:`\pi(y) = \prod_t \pi(y_t | y_{<t})` (the
    sequence-level bandit of RLHF); ``token_rewards`` (S, A) adds per-token rewards. Complete
    sequences (depth :math:`H`) are absorbing. There are :math:`\sum_{h=0}^{H} V^h` states;
    the root is state 0 and :math:`\mu_0` is a point mass on it.

    .. math::
        P[y_{<t}, v, y_{<t} v] = 1, \qquad R[y_{<H}, v] = r(y_{<H} v) .

    Parameters
    ----------
    vocab_size : int >= 1
        :math:`V`.
    depth : int >= 1
        :math:`H`.
    sequence_rewards : array, shape (V**H,), optional
        :math:`r(y)` for complete sequences in lexicographic order (zeros by default).
    token_rewards : array, shape (S, A), optional
    gamma : float
        1 by default (the sequence-level identity holds for gamma = 1).

    Returns
    -------
    TokenTreeMDP

    Examples
    --------
    >>> tree = token_tree(2, 2, sequence_rewards=[0.0, 1.0, 2.0, 3.0])
    >>> tree.n_states, tree.backward_induction().expected_return
    (7, 3.0)
    """
    V = check_integer(vocab_size, "vocab_size", minimum=1)
    H = check_integer(depth, "depth", minimum=1)
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)
    if S > 2_000_000:
        raise ValueError(f"a token tree with vocab_size={V}, depth={H} has {S} states; too many")
    parents = np.arange(S - V**H)  # every non-leaf state
    rows, cols = [], []
    # Children of the k-th state overall: BFS numbering gives child = k * V + 1 + v.
    for v in range(V):
        rows.append(parents * V + v)
        cols.append(parents * V + 1 + v)
    leaves = np.arange(S - V**H, S)
    for v in range(V):
        rows.append(leaves * V + v)
        cols.append(leaves)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    Pm = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(S * V, S))
    r = np.zeros((S, V))
    if sequence_rewards is not None:
        seq = check_array(sequence_rewards, "sequence_rewards", shape=(V**H,))
        last = np.arange(S - V**H - V ** (H - 1), S - V**H)  # depth H - 1 states
        r[last] += seq.reshape(V ** (H - 1), V)
    if token_rewards is not None:
        r += check_array(token_rewards, "token_rewards", shape=(S, V))
    mu = np.zeros(S)
    mu[0] = 1.0
    P = Pm if S * V * S > 5e6 else Pm.toarray().reshape(S, V, S)
    return TokenTreeMDP(P, r, gamma, mu, H, vocab_size=V, depth=H)


# ---------------------------------------------------------------------------- small named worlds
def one_state_env(n_actions: int = 2) -> TabularMDP:
    r"""The one-state environment: every action returns to the single state.

    A policy is a distribution :math:`\pi = (p, 1 - p)` (for two actions) and its discounted
    occupancy is :math:`m^\pi = \pi / (1 - \gamma)`, affine in :math:`p`. One of the separating
    environments of prefrl's expressivity witnesses (Subramani et al. 2024; our construction).

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


def switch_env() -> TabularMDP:
    r"""Two states, ``stay`` or ``switch`` in each; start in state 0.

    With :math:`q_0 = \pi(\mathrm{switch}|0)` and :math:`q_1 = \pi(\mathrm{switch}|1)`, both
    positive, the chain is irreducible with stationary mass :math:`\nu(0) = q_1 / (q_0 + q_1)` in
    state 0, constant along each ray :math:`q_1 = c\, q_0`; :math:`q_0 = 0` keeps the run in state
    0 forever and :math:`q_0 > 0 = q_1` ends in state 1. The separating environment of LAR from
    the continuous formalisms (our construction).

    Returns
    -------
    TabularMDP
        Transitions of shape (2, 2, 2), actions ``(stay, switch)``, zero reward.

    Examples
    --------
    >>> switch_env().dense_transitions()[:, 1].tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[0, 1, 1] = P[1, 1, 0] = 1.0
    return TabularMDP(P, np.zeros((2, 2)), 0.0, [1.0, 0.0], action_labels=("stay", "switch"))


def stay_go_env() -> TabularMDP:
    r"""The stay/go environment: state 0 has ``stay`` (self-loop) and ``go`` (to absorbing state 1).

    State 1 is absorbing under both actions. Start in state 0. With :math:`p = \pi(\mathrm{go}|0)`
    the chain leaves state 0 after a geometric time, so every :math:`p > 0` has the same recurrent
    class :math:`\{1\}`. A separating environment of prefrl's expressivity witnesses (our
    construction).

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
