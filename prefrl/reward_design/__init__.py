r"""Reward design: the teacher's sparsest reward, and the start bias of KL-regularised fine-tuning.

=====================  ===========================================================================
file                   papers and public names
=====================  ===========================================================================
``_teacher.py``        Devidze (2025), "Reward Design for Reinforcement Learning Agents"
                       (thesis); Devidze, Radanovic, Kamalaruban and Singla (2021), "Explicable
                       Reward Design for Reinforcement Learning Agents": the L1-sparsest reward
                       with :math:`|R| \le R_{\max}` that keeps a target policy optimal with margin
                       :math:`\delta` (an LP, with a local-horizon variant and an adaptive variant
                       for the learner's current policy). :func:`target_q_map`,
                       :func:`design_reward` (:class:`RewardDesign`),
                       :func:`adaptive_teacher_q_learning` (:class:`AdaptiveTeacherRun`)
``_memoryless.py``     Domingo-Enrich, Drozdzal, Karrer and Chen (2025), "Adjoint Matching":
                       KL-regularised control of a finite Markov chain whose initial law is not
                       controlled tilts the terminal law by a per-start factor
                       :math:`e^{-V_0(x_0)/\beta}`; it reaches :math:`p_{\mathrm{base}}
                       e^{r/\beta}/Z` only for a memoryless chain or a point-mass start (or when
                       the start is controlled too). :func:`controlled_terminal_law`
                       (:class:`TerminalLaw`), :func:`tilted_target`, :func:`start_dependence`
                       (:class:`StartDependence`), :func:`mixing_kernels`
=====================  ===========================================================================

>>> from prefrl.mdp import envs
>>> mdp = envs.chain(4, gamma=0.9)
>>> design_reward(mdp, mdp.solve().policy, delta=0.1).n_nonzero
3
"""

from ._memoryless import (
    StartDependence,
    TerminalLaw,
    controlled_terminal_law,
    mixing_kernels,
    start_dependence,
    tilted_target,
)
from ._teacher import (
    AdaptiveTeacherRun,
    RewardDesign,
    adaptive_teacher_q_learning,
    design_reward,
    target_q_map,
)

__all__ = [
    "AdaptiveTeacherRun",
    "RewardDesign",
    "StartDependence",
    "TerminalLaw",
    "adaptive_teacher_q_learning",
    "controlled_terminal_law",
    "design_reward",
    "mixing_kernels",
    "start_dependence",
    "target_q_map",
    "tilted_target",
]
