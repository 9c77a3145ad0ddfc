r"""Tabular MDPs: exact evaluation, occupancy measures, certified solvers and named environments.

>>> from prefrl.mdp import TabularMDP, envs
>>> grid = envs.ng_harada_russell_grid()
>>> res = grid.solve("pi")
>>> bool(res.suboptimality_bound < 1e-9)
True
"""

from . import envs, occupancy
from ._results import (
    Evaluation,
    FiniteHorizonResult,
    PolicyGradient,
    Rollouts,
    SoftSolveResult,
    SolveResult,
)
from .core import TabularMDP
from .gradients import softmax_policy, softmax_policy_gradient

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
