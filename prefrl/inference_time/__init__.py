r"""Inference-time alignment: best-of-n, Q-probe sampling and VAS, exact, against the optimum.

Each rule samples from a reference (base) policy :math:`\pi_{ref}` and reweights or selects, with
no training of the policy. Here every rule's output law is computed exactly (no Monte Carlo), so
its expected reward and its KL to :math:`\pi_{ref}` can be set against the exact reward-KL
frontier of the KL-regularised optimum :math:`\pi_{ref} e^{r/\beta}/Z`.

The map of the package:

==================  ==============================================================================
``_best_of_n.py``   Beirami et al. (2024), "Theoretical guarantees on the best-of-n alignment
                    policy": :func:`best_of_n_distribution` (the exact law, ties broken
                    uniformly), :func:`best_of_n_kl_bound` (:math:`\log n - (n-1)/n`, Thm. 3.1);
                    the frontier :func:`kl_constrained_optimum`; :class:`BestOfNResult`,
                    :class:`KLConstrainedOptimum`
``_q_probe.py``     Li et al. (2024), "Q-Probe: A Lightweight Approach to Reward Maximization for
                    Language Models": :func:`q_probe_distribution` (the exact law for every
                    :math:`k`, by multinomial enumeration or a one-dimensional integral),
                    :class:`QProbeResult`
``_vas.py``         Han et al. (2024), "Value Augmented Sampling for Language Model Alignment and
                    Personalization" on a token tree: :func:`vas_vs_optimum` (VAS against the
                    KL-regularised optimum: sequence laws, rewards, KLs, the gap),
                    :func:`soft_policy_iteration` (VAS is its first step; exact after
                    depth-many steps); :class:`VASComparison`,
                    :class:`SoftPolicyIterationResult`
==================  ==============================================================================

Conventions: ``beta`` is the KL weight (Q-probe's softmax temperature is the KL weight of its
limit; VAS's inverse temperature is :math:`1/\beta`); ``pi_ref`` the reference policy,
``base_policy`` the frozen base policy of VAS; ``n`` the draws of best-of-n, ``k`` those of
Q-probe.

>>> best_of_n_distribution([0.5, 0.5], [0.0, 1.0], n=3).policy
array([0.125, 0.875])
"""

from ._best_of_n import (
    BestOfNResult,
    KLConstrainedOptimum,
    best_of_n_distribution,
    best_of_n_kl_bound,
    kl_constrained_optimum,
)
from ._q_probe import QProbeResult, q_probe_distribution
from ._vas import (
    SoftPolicyIterationResult,
    VASComparison,
    soft_policy_iteration,
    vas_vs_optimum,
)

__all__ = [
    "BestOfNResult",
    "KLConstrainedOptimum",
    "QProbeResult",
    "SoftPolicyIterationResult",
    "VASComparison",
    "best_of_n_distribution",
    "best_of_n_kl_bound",
    "kl_constrained_optimum",
    "q_probe_distribution",
    "soft_policy_iteration",
    "vas_vs_optimum",
]
