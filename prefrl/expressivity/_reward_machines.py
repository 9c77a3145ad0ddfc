r"""The reward-machine formalism (RM), evaluated exactly on the product chain.

Part of :mod:`prefrl.expressivity`. Formalism 4 (RM) of Subramani et al. (ICLR 2024), in the
transition-labelled convention of Icarte, Klassen, Valenzano and McIlraith (ICML 2018), "Using
Reward Machines for High-Level Task Specification and Decomposition in Reinforcement Learning"
(our reading of the paper's definition). The exact evaluation
on the product MDP is ours.

- :class:`RewardMachine`: the machine (a definition);
- :class:`RewardMachineObjective`: its objective in an environment, with
  :meth:`~RewardMachineObjective.product_mdp` and :meth:`~RewardMachineObjective.lift_policy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_in_range, check_integer, frozen_copy
from ..mdp import TabularMDP
from ..mdp.envs import one_state_env  # noqa: F401  (used by the doctests)
from ._objectives import _check_mdp, _Objective

__all__ = ["RewardMachine", "RewardMachineObjective"]


def _integer_array(x, name: str) -> np.ndarray:
    """An integer array (integral floats accepted), else ValueError naming ``name``."""
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integers")
    return a


def _check_labelling(mdp, labelling, n_letters, name="labelling"):
    S, A = mdp.n_states, mdp.n_actions
    L = np.asarray(labelling)
    if L.shape != (S, A, S):
        raise ValueError(f"{name} must have shape ({S}, {A}, {S}), got {L.shape}")
    L = _integer_array(L, name)
    bad = (L < 0) | (L >= n_letters)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}{list(idx)} = {L[idx]}, must be in [0, {n_letters})")
    return frozen_copy(L.astype(np.int64))


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
    (2024), in the transition-labelled convention of Icarte et al. (2018) (our reading of the
    paper's definition). A definition, not a result.

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
        d = _integer_array(d, "delta")
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
        object.__setattr__(self, "delta", frozen_copy(d.astype(np.int64)))
        object.__setattr__(self, "rewards", frozen_copy(R))
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
    mdp : TabularMDP
        The environment (``env`` is deprecated).
    machine : RewardMachine
    labelling : int array, shape (S, A, S)
        Letter :math:`L(s, a, s')` of each transition, in ``[0, machine.n_letters)``.

    Attributes
    ----------
    transition_rewards : array, shape (U, U, S, A, S)
        :math:`\delta_R(u, u')(s, a, s')`, the machine's rewards broadcast to every transition.

    Examples
    --------
    >>> # reward 1 on the first change of action, in the one-state environment
    >>> rm = RewardMachine([[1, 2], [1, 3], [3, 2], [3, 3]],
    ...                    [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], 0, 0.5)
    >>> J = RewardMachineObjective(one_state_env(), rm, [[[0], [1]]])
    >>> round(J([[0.5, 0.5]]), 6), round(J([[1.0, 0.0]]), 6)    # sum_t (gamma / 2)^t, t >= 1
    (0.333333, 0.0)
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, machine: RewardMachine, labelling):
        self.mdp = _check_mdp(mdp)
        if not isinstance(machine, RewardMachine):
            raise TypeError(f"machine must be a RewardMachine, got {type(machine).__name__}")
        self.machine = machine
        self.labelling = _check_labelling(mdp, labelling, machine.n_letters)
        S, A, U = mdp.n_states, mdp.n_actions, machine.n_states
        R = machine.rewards
        if R.ndim == 2:
            R = np.broadcast_to(R[:, :, None, None, None], (U, U, S, A, S))
        elif R.shape[2:] != (S, A, S):
            raise ValueError(f"machine.rewards must have shape ({U}, {U}) or "
                             f"({U}, {U}, {S}, {A}, {S}), got {R.shape}")
        self.transition_rewards = R
        self.gamma = machine.gamma
        self._product = self.product_mdp()

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
        mdp, m = self.mdp, self.machine
        S, A, U = mdp.n_states, mdp.n_actions, m.n_states
        P = mdp.dense_transitions()
        PX = np.zeros((S * U, A, S * U))
        RX = np.zeros((S * U, A, S * U))
        s, a, t = np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij")
        s, a, t = s.ravel(), a.ravel(), t.ravel()
        for u in range(U):
            v = m.delta[u, self.labelling[s, a, t]]
            PX[s * U + u, a, t * U + v] = P[s, a, t]
            RX[s * U + u, a, t * U + v] = self.transition_rewards[u, v, s, a, t]
        mu = np.zeros(S * U)
        mu[np.arange(S) * U + m.start] = mdp.initial
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
        pi = self.mdp.check_policy(policy)
        return np.repeat(pi, self.machine.n_states, axis=0)

    def values(self, policy) -> np.ndarray:
        return np.array([self._product.expected_return(self.lift_policy(policy))])
