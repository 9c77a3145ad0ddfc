r"""The result objects of :mod:`prefrl.games` (all subclass :class:`prefrl.results.Result`).

- :class:`MinimaxResult`: :func:`~prefrl.games.minimax_winner` (certificate: the exploitability).
- :class:`RegularizedNashResult`: :func:`~prefrl.games.regularized_nash` (certificate: the
  fixed-point residual; ``residual`` is its old name).
- :class:`SelfPlayResult`: the self-play learners on a preference bandit (:func:`~prefrl.games.spo`,
  :func:`~prefrl.games.sppo`, :func:`~prefrl.games.dno`, :func:`~prefrl.games.rebel`,
  :func:`~prefrl.games.nash_md`, :func:`~prefrl.games.bt_rlhf`, and iterative DPO).
- :class:`SequentialSelfPlayResult`: :func:`~prefrl.games.sequential_spo`.
- :class:`RewardModelResult`: :func:`~prefrl.games.reward_model_rlhf`.

The learners run a fixed budget of ``n_steps`` updates, which is their stopping rule, so their
``converged`` is always True; their ``certificate`` is the exploitability of the returned average
(zero exactly at a minimax winner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..results import Result

__all__ = [
    "MinimaxResult",
    "RegularizedNashResult",
    "RewardModelResult",
    "SelfPlayResult",
    "SequentialSelfPlayResult",
]


class _FixedBudget:
    """``converged`` and ``certificate`` of a learner's trajectory that records ``exploitability``."""

    @property
    def converged(self) -> bool:
        """True: the fixed budget of ``iterations`` updates is the learners' stopping rule."""
        return True

    @property
    def certificate(self) -> float:
        """The exploitability of the returned average (``exploitability[-1]``)."""
        return float(self.exploitability[-1])


@dataclass(frozen=True, eq=False)
class MinimaxResult(Result):
    r"""A minimax winner of a preference game.

    Attributes
    ----------
    policy : array, shape (K,)
        The minimax winner :math:`\pi^*`.
    value : float
        :math:`\min_j (\pi^{*\top} P)_j`, the worst-case win probability; 1/2 at a minimax winner.
    exploitability : float
        :math:`\max_i (P \pi^*)_i - 1/2`, half the duality gap (0 at a minimax winner).
    iterations : int
        Solver iterations (simplex/interior-point), 0 when not reported.
    method : str
        ``"lp"`` or ``"cvxpy"``.
    converged : bool
        Whether the solver reported an optimal solution (HiGHS always does, or an error is
        raised; cvxpy's status is ``"optimal"``).
    certificate : float
        (Property.) The exploitability.
    """

    policy: np.ndarray
    value: float
    exploitability: float
    iterations: int
    method: str
    converged: bool = True

    @property
    def certificate(self) -> float:
        """The exploitability :math:`\\max_i (P\\pi^*)_i - 1/2` (half the duality gap)."""
        return self.exploitability


@dataclass(frozen=True, eq=False)
class RegularizedNashResult(Result):
    r"""The Nash equilibrium of the KL-regularised preference game.

    Attributes
    ----------
    policy : array, shape (K,)
        :math:`\pi^*_\beta`.
    value : float
        The regularised game value :math:`\pi^{*\top} P \pi^* = 1/2` evaluated at the returned policy.
    gap : float
        Regularised exploitability (see :func:`~prefrl.games.regularized_exploitability`).
    certificate : float
        Fixed-point residual :math:`\|\pi - \pi_{ref} e^{P\pi/\beta}/Z\|_1` (``residual`` before;
        the old name still works and warns).
    exploitability : float
        Unregularised exploitability :math:`\max_i (P\pi)_i - 1/2`.
    iterations : int
    method : str
    converged : bool
        ``"fixed_point"``: whether the certificate is at most ``tol``; ``"cvxpy"``: whether the
        solver's status is ``"optimal"``.
    """

    policy: np.ndarray
    value: float
    gap: float
    certificate: float
    exploitability: float
    iterations: int
    method: str
    converged: bool = True

    _renamed: ClassVar[dict[str, str]] = {"residual": "certificate"}


@dataclass(frozen=True, eq=False)
class SelfPlayResult(_FixedBudget, Result):
    r"""The trajectory of a self-play (or reward-model) learner on a preference game.

    Attributes
    ----------
    policies : array, shape (T + 1, K)
        Row ``t`` is the policy after ``t`` updates.
    average_policy : array, shape (K,)
        Uniform mixture of the ``T`` played iterates ``policies[:T]``.
    regret : array, shape (T,)
        ``regret[t-1]`` is the self-play regret of the first ``t`` played iterates
        (:func:`~prefrl.games.self_play_regret`).
    exploitability : array, shape (T,)
        ``exploitability[t-1]`` is the exploitability of the mixture of the first ``t`` iterates.
    iterations : int
        ``T``.
    method : str
        The learner's name.
    reward : array, shape (K,) or None
        The fitted reward model (reward-model baselines only).
    last_policy : array, shape (K,)
        (Property.) ``policies[-1]``.

    Notes
    -----
    Two properties complete the canonical names: ``converged`` is always True (the learners run a
    fixed budget of ``T`` updates, their stopping rule; how far the average is from a minimax
    winner is the certificate), and ``certificate`` is ``exploitability[-1]``, the exploitability
    of ``average_policy``.
    """

    policies: np.ndarray
    average_policy: np.ndarray
    regret: np.ndarray
    exploitability: np.ndarray
    iterations: int
    method: str
    reward: np.ndarray | None = None

    @property
    def last_policy(self) -> np.ndarray:
        """The last iterate ``policies[-1]``."""
        return self.policies[-1]


@dataclass(frozen=True, eq=False)
class SequentialSelfPlayResult(_FixedBudget, Result):
    r"""Trajectory of sequential SPO on a :class:`~prefrl.games.TrajectoryGame`.

    Attributes
    ----------
    distributions : array, shape (T + 1, L)
        Trajectory distribution of each iterate (row 0: the initial policy).
    average_distribution : array, shape (L,)
        Mixture of the ``T`` played iterates (a valid policy: pick an iterate at random, then play it).
    regret : array, shape (T,)
        Self-play regret over history-dependent policies after each round.
    exploitability : array, shape (T,)
        Exploitability of the mixture of the first ``t`` iterates (equal to ``regret / t``).
    last_policy : list of arrays
        The last history-dependent policy, level ``t`` of shape (n_t, A).
    iterations : int

    Notes
    -----
    Two properties complete the canonical names: ``converged`` is always True (a fixed budget of
    ``T`` updates) and ``certificate`` is ``exploitability[-1]``, the exploitability of
    ``average_distribution``.
    """

    distributions: np.ndarray
    average_distribution: np.ndarray
    regret: np.ndarray
    exploitability: np.ndarray
    last_policy: list
    iterations: int


@dataclass(frozen=True, eq=False)
class RewardModelResult(Result):
    r"""Reward-model RLHF on a :class:`~prefrl.games.TrajectoryGame`.

    Attributes
    ----------
    reward : array, shape (S, A)
        The fitted Markovian reward :math:`\hat R`.
    policy : array, shape (H, S, A)
        The (KL-regularised) optimal policy for :math:`\hat R`, by backward induction.
    distribution : array, shape (L,)
        Its trajectory distribution.
    exploitability : float
        Its exploitability under the true trajectory preferences.
    """

    reward: np.ndarray
    policy: np.ndarray
    distribution: np.ndarray
    exploitability: float
