r"""Tabular MDPs: exact evaluation, occupancy measures, certified solvers and named environments.

Puterman (1994), *Markov Decision Processes*, for the model, the evaluation and the solvers.

=========================  ======================================================================
``_tabular.py``            :class:`TabularMDP`: the model (dense or sparse transitions), its
                           operators, exact evaluation (:meth:`~TabularMDP.evaluate`,
                           :meth:`~TabularMDP.expected_return`), the discounted occupancy
                           (:meth:`~TabularMDP.occupancy`) and roll-outs
                           (:meth:`~TabularMDP.rollout`)
``_solvers.py``            :meth:`TabularMDP.solve`: value iteration with the span rule, policy
                           iteration, modified policy iteration and the LP, each certified by
                           McQueen's bounds (Puterman 1994, Thm 6.6.6)
``_soft.py``               :meth:`TabularMDP.soft_solve`, the KL-regularised optimum (Ziebart
                           2010; Haarnoja et al. 2017; Geist et al. 2019), and
                           :meth:`TabularMDP.backward_induction`, the finite-horizon optimum
``_kernels.py``            the numba sweeps (dense and CSR) and the one span-stopping loop
``_gradients.py``          :func:`softmax_policy`, :func:`softmax_policy_gradient` (Sutton et
                           al. 2000; Agarwal et al. 2021; Mei et al. 2020)
``_results.py``            :class:`Evaluation`, :class:`SolveResult`, :class:`SoftSolveResult`,
                           :class:`FiniteHorizonResult`, :class:`PolicyGradient`,
                           :class:`Rollouts`
``occupancy.py``           :mod:`prefrl.mdp.occupancy`: discounted (any discount), normalised
                           and limit-average occupancies, the Cesàro limit
``envs/``                  :mod:`prefrl.mdp.envs`: gridworlds, chains, locks, random MDPs, token
                           trees, the small named worlds
``_strategies.py``         hypothesis strategies of random MDPs (for tests)
``core.py``                the old module path of :class:`TabularMDP` (kept importable)
``gradients.py``           the old module path of :func:`softmax_policy` and
                           :func:`softmax_policy_gradient` (kept importable)
=========================  ======================================================================

>>> from prefrl.mdp import TabularMDP, envs
>>> grid = envs.ng_harada_russell_grid()
>>> res = grid.solve("pi")
>>> bool(res.suboptimality_bound < 1e-9)
True
"""

from . import envs, occupancy
from ._gradients import softmax_policy, softmax_policy_gradient
from ._results import (
    Evaluation,
    FiniteHorizonResult,
    PolicyGradient,
    Rollouts,
    SoftSolveResult,
    SolveResult,
)
from ._tabular import TabularMDP

__all__ = [
    "Evaluation",
    "FiniteHorizonResult",
    "PolicyGradient",
    "Rollouts",
    "SoftSolveResult",
    "SolveResult",
    "TabularMDP",
    "envs",
    "occupancy",
    "softmax_policy",
    "softmax_policy_gradient",
]
