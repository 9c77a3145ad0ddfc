r"""The result objects of :mod:`prefrl.mdp`, on the one base :class:`prefrl.results.Result`.

- :class:`Evaluation`: :meth:`TabularMDP.evaluate`, exact :math:`V^\pi`, :math:`Q^\pi` and
  :math:`J(\pi)` (a closed form);
- :class:`SolveResult`: :meth:`TabularMDP.solve`, the certified optimum (VI, PI, MPI or LP) with
  McQueen's bounds;
- :class:`SoftSolveResult`: :meth:`TabularMDP.soft_solve`, the KL-regularised optimum;
- :class:`FiniteHorizonResult`: :meth:`TabularMDP.backward_induction` (exact);
- :class:`PolicyGradient`: :func:`softmax_policy_gradient` (exact);
- :class:`Rollouts`: :meth:`TabularMDP.rollout`, sampled episodes.

Renamed fields keep their old name for one release (reading it warns): ``bellman_residual`` is
now ``certificate`` (:class:`SolveResult`, :class:`SoftSolveResult`), and ``objective`` is now
``value`` (:class:`PolicyGradient`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._validation import check_in_range
from ..results import Result

__all__ = [
    "Evaluation",
    "FiniteHorizonResult",
    "PolicyGradient",
    "Rollouts",
    "SoftSolveResult",
    "SolveResult",
]


@dataclass(frozen=True, eq=False)
class Evaluation(Result):
    r"""Exact values of one policy.

    Attributes
    ----------
    values : array, shape (S,)
        :math:`V^\pi` (at time 0 for a finite-horizon MDP).
    q_values : array, shape (S, A)
        :math:`Q^\pi = r + \gamma P V^\pi` (at time 0 for a finite horizon).
    expected_return : float
        :math:`J(\pi) = \sum_s \mu_0(s) V^\pi(s)`.
    """

    values: np.ndarray
    q_values: np.ndarray
    expected_return: float


@dataclass(frozen=True, eq=False)
class SolveResult(Result):
    r"""Result of :meth:`TabularMDP.solve <prefrl.mdp.TabularMDP.solve>`, with its certificate.

    Attributes
    ----------
    values : array, shape (S,)
        Estimate :math:`\hat V` of :math:`V^*`.
    q_values : array, shape (S, A)
        :math:`r + \gamma P \hat V`.
    policy : array, shape (S, A)
        Deterministic (one-hot) policy greedy with respect to ``q_values`` (first maximiser).
    iterations : int
        Sweeps (VI, MPI), policy improvements (PI) or simplex/IPM iterations (LP).
    method : str
        ``"vi"``, ``"pi"``, ``"mpi"`` or ``"lp"``.
    certificate : float
        The Bellman residual :math:`\|T\hat V - \hat V\|_\infty` of the returned values
        (``bellman_residual`` is its deprecated name).
    value_error_bound : float
        Guaranteed :math:`\|\hat V - V^*\|_\infty`.
    suboptimality_bound : float
        Guaranteed :math:`\|V^* - V^{\pi}\|_\infty` for the returned policy (from every state).
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    iterations: int
    method: str
    certificate: float
    value_error_bound: float
    suboptimality_bound: float
    converged: bool
    _renamed: ClassVar[dict[str, str]] = {"bellman_residual": "certificate"}

    @property
    def actions(self) -> np.ndarray:
        """The greedy action of every state, shape (S,)."""
        return np.argmax(self.policy, axis=1)


@dataclass(frozen=True, eq=False)
class SoftSolveResult(Result):
    r"""Result of :meth:`TabularMDP.soft_solve <prefrl.mdp.TabularMDP.soft_solve>`.

    Attributes
    ----------
    values : array, shape (S,)
        Estimate of the soft optimal value :math:`V^*_\beta`.
    q_values : array, shape (S, A)
        :math:`r + \gamma P V`.
    policy : array, shape (S, A)
        :math:`\pi \propto \pi_{ref}\, e^{Q/\beta}`.
    log_policy : array, shape (S, A)
        Its logarithm (``-inf`` where :math:`\pi_{ref}` is zero).
    iterations : int
        Soft value-iteration sweeps.
    beta : float
        The KL weight.
    certificate : float
        The soft Bellman residual :math:`\|T_\beta V - V\|_\infty` of the returned values
        (``bellman_residual`` is its deprecated name).
    value_error_bound : float
        Guaranteed :math:`\|V - V^*_\beta\|_\infty`.
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    log_policy: np.ndarray
    iterations: int
    beta: float
    certificate: float
    value_error_bound: float
    converged: bool
    _renamed: ClassVar[dict[str, str]] = {"bellman_residual": "certificate"}


@dataclass(frozen=True, eq=False)
class FiniteHorizonResult(Result):
    r"""Result of :meth:`TabularMDP.backward_induction
    <prefrl.mdp.TabularMDP.backward_induction>` (exact; no iteration error).

    Attributes
    ----------
    values : array, shape (H + 1, S)
        :math:`V_t`, with ``values[H]`` the terminal values.
    q_values : array, shape (H, S, A)
        :math:`Q_t = r + \gamma P V_{t+1}`.
    policy : array, shape (H, S, A)
        Time-dependent optimal policy (one-hot when ``beta`` is None, Gibbs otherwise).
    expected_return : float
        :math:`\sum_s \mu_0(s) V_0(s)`.
    beta : float or None
        The KL weight (None for the unregularised problem).
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    expected_return: float
    beta: float | None

    @property
    def horizon(self) -> int:
        """The horizon H."""
        return self.q_values.shape[0]


@dataclass(frozen=True, eq=False)
class PolicyGradient(Result):
    r"""Exact objective and gradient of a tabular softmax policy (a closed form).

    Attributes
    ----------
    value : float
        The objective :math:`J_\beta(\theta)` (regularised when ``beta > 0``; ``objective`` is its
        deprecated name).
    gradient : array, shape (S, A)
        :math:`\nabla_\theta J_\beta(\theta)`.
    policy : array, shape (S, A)
        :math:`\pi_\theta`.
    occupancy : array, shape (S, A)
        Discounted state-action occupancy of :math:`\pi_\theta`.
    advantages : array, shape (S, A)
        (Soft) advantages :math:`A_\beta(s, a)` of :math:`\pi_\theta`.
    """

    value: float
    gradient: np.ndarray
    policy: np.ndarray
    occupancy: np.ndarray
    advantages: np.ndarray
    _renamed: ClassVar[dict[str, str]] = {"objective": "value"}


@dataclass(frozen=True, eq=False)
class Rollouts(Result):
    """Sampled episodes: ``states`` (n, L + 1), ``actions`` (n, L), ``rewards`` (n, L)."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray

    def discounted_returns(self, gamma: float) -> np.ndarray:
        r"""Per-episode :math:`\sum_{t<L} \gamma^t r_t`, shape (n,); ``gamma`` in [0, 1]."""
        gamma = check_in_range(gamma, "gamma", 0.0, 1.0)
        L = self.rewards.shape[1]
        return self.rewards @ (gamma ** np.arange(L))
