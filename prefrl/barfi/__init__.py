r"""Bi-level reward optimisation (BARFI), solved exactly on bandits and tabular MDPs.

Gupta, Chandak, Jordan, Thomas and da Silva (2023), "Behavior Alignment via Reward Function
Optimization" (NeurIPS 2023, arXiv 2310.19007) choose the parameters :math:`\phi` of the reward
(and discount) that an inner RL algorithm optimises, so that the policy it converges to is good for
the *primary* objective:

.. math::
    \max_\phi\ J(\theta^*(\phi)), \qquad
    J(\theta) = \mathbb{E}_{\pi_\theta}\Big[\sum_t \gamma^t r_p(s_t, a_t)\Big], \qquad
    \theta^*(\phi) = \arg\max_\theta J_\phi(\theta).

Here the inner objective is entropy-regularised (KL to the uniform policy, weight :math:`\tau`),

.. math::
    J_\phi(\theta) = \mathbb{E}_{s_0 \sim \mu_0,\, \pi_\theta}\Big[\sum_t \gamma_\phi^t
        \big(r_\phi(s_t, a_t) - \tau \log(A\, \pi_\theta(a_t|s_t))\big)\Big],

with the tabular softmax policy :math:`\pi_\theta(a|s) \propto e^{\theta[s, a]}`, so that
:math:`\theta^*(\phi)` is the soft-optimal policy and every gradient is exact.

=========================  ==================================================================
``_parameterisations.py``  rewards linear in :math:`\phi` and a potential-based auxiliary
                           reward: :class:`RewardParameterisation`,
                           :func:`weighted_sum_parameterisation`,
                           :func:`alignment_parameterisation`, :func:`potential_based_reward`
``_bilevel.py``            the bi-level problem, its exact inner optimum, the implicit and
                           Neumann gradients: :class:`BilevelProblem`, :class:`InnerSolution`,
                           :class:`ImplicitSystem`, :class:`BarfiGradient`
``_bandit.py``             the K-armed bandit case and its closed form:
                           :func:`bandit_problem`, :func:`bandit_inner_optimum`
``_ascent.py``             the outer loop: :func:`outer_ascent`, :class:`OuterAscentResult`
=========================  ==================================================================

**What is ours, not the paper's.** The linear reward
parameterisation :math:`r_\phi = b + \sum_i \phi_i F_i` covers our reading of the paper's
:math:`\phi_1 r_p + \phi_2 r_{aux}` and of the form in the authors' released code,
:math:`r_p + \phi_1(s) + \phi_2(s) r_{aux}`, with a learned discount :math:`\gamma_\phi =
\sigma(\psi)` (both unverified). The exact entropy-regularised inner problem, the closed forms and
the tabular environments are our constructions. See :doc:`/theory/barfi`.

>>> from prefrl.barfi import bandit_problem
>>> round(bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0).outer_value([1.0, 0.0]), 4)
0.7311
"""

from ._ascent import OuterAscentResult, outer_ascent
from ._bandit import bandit_inner_optimum, bandit_problem
from ._bilevel import BarfiGradient, BilevelProblem, ImplicitSystem, InnerSolution
from ._parameterisations import (
    RewardParameterisation,
    alignment_parameterisation,
    potential_based_reward,
    weighted_sum_parameterisation,
)

__all__ = [
    "BarfiGradient",
    "BilevelProblem",
    "ImplicitSystem",
    "InnerSolution",
    "OuterAscentResult",
    "RewardParameterisation",
    "alignment_parameterisation",
    "bandit_inner_optimum",
    "bandit_problem",
    "outer_ascent",
    "potential_based_reward",
    "weighted_sum_parameterisation",
]
