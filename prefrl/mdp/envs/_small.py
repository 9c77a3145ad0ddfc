r"""The small named worlds of the expressivity separations and of the curriculum experiments.

- :func:`one_state_env`, :func:`switch_env`, :func:`stay_go_env`: the separating environments of
  prefrl's expressivity witnesses (Subramani, Williams, Heitmann, Holm, Griffin and Skalse, ICLR
  2024, "On the Expressivity of Objective-Specification Formalisms in Reinforcement Learning"; the
  environments are our constructions);
- :func:`goal_chain`: a chain whose context is the goal, for the curricula of Li, Zhai, Ma and
  Levine (2023), "Understanding the Complexity Gains of Single-Task RL with a Curriculum" (our
  construction).
"""

from __future__ import annotations

import numpy as np

from ..._validation import check_integer
from .._tabular import TabularMDP

__all__ = ["goal_chain", "one_state_env", "stay_go_env", "switch_env"]


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
