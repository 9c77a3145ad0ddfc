r"""Chains, combination locks and random MDPs: the exploration proxies and the generic instances.

- :func:`chain`: a chain of states with an absorbing goal at the end (the hard-exploration proxy
  of curricula; Li, Zhai, Ma and Levine 2023);
- :func:`combination_lock`: one action advances, every other resets to the start;
- :func:`random_mdp`: Dirichlet transitions over random successor sets, uniform rewards, dense or
  sparse (CSR).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..._validation import as_rng, check_in_range, check_integer, check_probability
from .._tabular import TabularMDP

__all__ = ["chain", "combination_lock", "random_mdp"]


def chain(n: int, *, slip: float = 0.0, goal_reward: float = 1.0, gamma: float = 0.9,
          horizon: int | None = None) -> TabularMDP:
    r"""A chain of ``n`` states: action 0 moves left, action 1 right; the last state is an absorbing goal.

    Start at state 0. With probability ``slip`` the other move is made. Entering state
    :math:`n-1` pays ``goal_reward``; the goal then loops with reward 0. Used as the hard-exploration
    proxy for curricula (Li, Zhai, Ma and Levine 2023).

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
    goal_reward = check_in_range(goal_reward, "goal_reward", -np.inf, np.inf, low_open=True,
                                 high_open=True)
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
    if not isinstance(sparse, (bool, np.bool_)):
        raise TypeError(f"sparse must be True or False, got {sparse!r}")
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
