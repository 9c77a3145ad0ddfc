r"""The result of the bandit optima of ``_psipo.py`` and ``_dpo.py`` in :mod:`prefrl.bandits`.

No paper of its own: :class:`BanditOptimum`, shared by the closed-form population optima
(:func:`~prefrl.bandits.kl_regularized_optimum`, :func:`~prefrl.bandits.psipo_optimum`,
:func:`~prefrl.bandits.ipo_optimum`) and the loss minimisers
(:func:`~prefrl.bandits.dpo_population_optimum`, :func:`~prefrl.bandits.dpo_dataset_optimum`,
:func:`~prefrl.bandits.rlhf_optimum`, :func:`~prefrl.bandits.ipo_dataset_optimum`). The results of
DRO, PMPO and VAS live with their functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import Result

__all__ = ["BanditOptimum"]


@dataclass(frozen=True, eq=False)
class BanditOptimum(Result):
    """The optimum of a bandit preference objective and what certifies it.

    Attributes
    ----------
    policy : array, shape (K,) or (S, K)
        The optimal policy (for ``exists=False``: the limit policy).
    value : float or array of shape (S,)
        The objective at the optimum: the maximised regularised objective for the population optima
        (:func:`kl_regularized_optimum`, :func:`psipo_optimum`, :func:`ipo_optimum`,
        :func:`rlhf_optimum`), the minimised (or infimum of the) mean loss for the loss minimisers
        (:func:`dpo_population_optimum`, :func:`dpo_dataset_optimum`, :func:`ipo_dataset_optimum`).
    iterations : int
        Solver iterations (0 for closed forms; with contexts, the most over the contexts).
    certificate : float
        Largest residual of the optimality condition, computed on the returned solution.
    exists : bool
        Whether a finite optimum is attained (False when DPO's logits diverge).
    unique : bool
        Whether the optimal policy is unique.
    reward : array or None
        The reward (or, for IPO on a dataset, :math:`\\beta g`) the policy is the Gibbs tilt of.
    direction : array or None
        When ``exists`` is False, the unit direction along which the reward diverges.
    components : array of int or None
        Connected component of each action in the comparison graph (dataset optima).
    converged : bool
        Whether the solver's stopping rule was met: True for closed forms; for the Bradley-Terry
        based optima (DPO, RLHF), that of the Newton fit (:class:`prefrl.bradley_terry.BTFit`), in
        every context.
    """

    policy: np.ndarray
    value: float | np.ndarray
    iterations: int
    certificate: float
    exists: bool = True
    unique: bool = True
    reward: np.ndarray | None = None
    direction: np.ndarray | None = None
    components: np.ndarray | None = None
    converged: bool = True
