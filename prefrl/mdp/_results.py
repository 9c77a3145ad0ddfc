"""Frozen result objects returned by the solvers of :mod:`prefrl.mdp`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Evaluation",
    "FiniteHorizonResult",
    "PolicyGradient",
    "Rollouts",
    "SoftSolveResult",
    "SolveResult",
]


@dataclass(frozen=True, eq=False)
class Evaluation:
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
class SolveResult:
    r"""Result of :meth:`TabularMDP.solve`, with its certificate.

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
    bellman_residual : float
        :math:`\|T\hat V - \hat V\|_\infty` for the returned values.
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
    bellman_residual: float
    value_error_bound: float
    suboptimality_bound: float
    converged: bool

    @property
    def actions(self) -> np.ndarray:
        """The greedy action of every state, shape (S,)."""
        return np.argmax(self.policy, axis=1)


@dataclass(frozen=True, eq=False)
class SoftSolveResult:
    r"""Result of :meth:`TabularMDP.soft_solve` (KL-regularised optimum).

    Attributes
    ----------
    values : array, shape (S,)
        Estimate of the soft optimal value :math:`V^*_\beta`.
    q_values : array, shape (S, A)
        :math:`r + \gamma P V`.
    policy : array, shape (S, A)
        :math:`\pi \propto \pi_{ref}\, e^{Q/\beta}`.
    log_policy : array, shape (S, A)
        Its logarithm (``-inf`` where the reference is zero).
    iterations : int
    beta : float
    bellman_residual : float
        :math:`\|T_\beta V - V\|_\infty` for the returned values.
    value_error_bound : float
        Guaranteed :math:`\|V - V^*_\beta\|_\infty`.
    converged : bool
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    log_policy: np.ndarray
    iterations: int
    beta: float
    bellman_residual: float
    value_error_bound: float
    converged: bool


@dataclass(frozen=True, eq=False)
class FiniteHorizonResult:
    r"""Result of :meth:`TabularMDP.backward_induction` (exact; no iteration error).

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
        Regularisation weight (None for the unregularised problem).
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
class PolicyGradient:
    r"""Exact objective and gradient of a tabular softmax policy.

    Attributes
    ----------
    objective : float
        :math:`J(\theta)` (regularised when ``beta > 0``).
    gradient : array, shape (S, A)
        :math:`\nabla_\theta J(\theta)`.
    policy : array, shape (S, A)
        :math:`\pi_\theta`.
    occupancy : array, shape (S, A)
        Discounted state-action occupancy of :math:`\pi_\theta`.
    advantages : array, shape (S, A)
        (Soft) advantages :math:`A(s, a)` of :math:`\pi_\theta`.
    """

    objective: float
    gradient: np.ndarray
    policy: np.ndarray
    occupancy: np.ndarray
    advantages: np.ndarray


@dataclass(frozen=True, eq=False)
class Rollouts:
    """Sampled episodes: ``states`` (n, L + 1), ``actions`` (n, L), ``rewards`` (n, L)."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray

    def discounted_returns(self, gamma: float) -> np.ndarray:
        r"""Per-episode :math:`\sum_{t<L} \gamma^t r_t`, shape (n,)."""
        L = self.rewards.shape[1]
        return self.rewards @ (float(gamma) ** np.arange(L))
