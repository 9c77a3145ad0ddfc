"""The old module path of :class:`prefrl.mdp.TabularMDP` (kept importable; nothing new here).

:class:`~prefrl.mdp.TabularMDP` is implemented in ``prefrl/mdp/_tabular.py`` (the model, its
operators, evaluation, occupancy, roll-outs), with its solvers in ``_solvers.py`` (VI, PI, MPI,
LP) and ``_soft.py`` (the KL-regularised optimum, backward induction); import it from
:mod:`prefrl.mdp`.
"""

from ._tabular import TabularMDP  # noqa: F401  (the old path prefrl.mdp.core.TabularMDP)

__all__: list[str] = []
