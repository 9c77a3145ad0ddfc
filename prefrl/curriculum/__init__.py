r"""Curricula: ROLLIN over the contexts of an MDP family, eva over the prompts of a bandit.

Two papers, one file each, on one exact softmax policy-gradient learner:

================================  ===============================================================
``_policy_gradient.py``           the learner: exact and REINFORCE softmax policy gradients from a
                                  chosen start distribution (Sutton et al. 2000; Williams 1992;
                                  Agarwal et al. 2021; Mei et al. 2020), exact PG ascent to a
                                  target: :func:`policy_gradient`,
                                  :func:`sampled_policy_gradient`, :func:`softmax_pg_ascent`,
                                  :class:`PolicyGradientRun`
``_rollin.py``                    ROLLIN (Li, Zhai, Ma and Levine 2023, "Understanding the
                                  Complexity Gains of Single-Task RL with a Curriculum"): the
                                  start distribution :math:`\mu_k = \beta d^{\pi^*_{k-1}}_\mu +
                                  (1-\beta)\mu`, the distribution-mismatch coefficient, the
                                  curriculum: :func:`rollin_initial`,
                                  :func:`mismatch_coefficient`, :func:`rollin`,
                                  :class:`CurriculumResult`
``_eva.py``                       eva (Ye et al. 2024, "Evolving Alignment via Asymmetric
                                  Self-Play"), exactly on a contextual bandit: regret,
                                  informativeness proxies, the creator, the solver's gradient,
                                  the loop: :func:`context_regret`, :func:`informativeness`,
                                  :func:`creator_weights`, :func:`kl_regularized_gradient`,
                                  :func:`eva`, :class:`EvaResult`
================================  ===============================================================

The chain of goals of the ROLLIN experiments is :func:`prefrl.mdp.envs.goal_chain` and the
normalised discounted state distribution is
:func:`prefrl.mdp.occupancy.discounted_state_distribution`; both are still importable from here.
See :doc:`/theory/curriculum` and :doc:`/theory/eva`.

>>> from prefrl.curriculum import rollin
>>> from prefrl.mdp.envs import goal_chain
>>> rollin([goal_chain(6, g) for g in range(1, 6)], mixing=0.5, lr=1.0).all_converged
True
"""

from ..mdp.envs import goal_chain  # noqa: F401  (moved to prefrl.mdp.envs; importable here)
from ..mdp.occupancy import discounted_state_distribution  # noqa: F401  (moved likewise)
from ._eva import (
    EvaResult,
    context_regret,
    creator_weights,
    eva,
    informativeness,
    kl_regularized_gradient,
)
from ._policy_gradient import (
    PolicyGradientRun,
    policy_gradient,
    sampled_policy_gradient,
    softmax_pg_ascent,
)
from ._rollin import CurriculumResult, mismatch_coefficient, rollin, rollin_initial

__all__ = [
    "CurriculumResult",
    "EvaResult",
    "PolicyGradientRun",
    "context_regret",
    "creator_weights",
    "eva",
    "informativeness",
    "kl_regularized_gradient",
    "mismatch_coefficient",
    "policy_gradient",
    "rollin",
    "rollin_initial",
    "sampled_policy_gradient",
    "softmax_pg_ascent",
]
