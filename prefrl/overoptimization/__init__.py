r"""Reward-model over-optimisation and its mitigations, exactly, on bandits.

Optimising a proxy reward with less and less KL regularisation first raises the gold (true)
reward, then lowers it (Gao, Schulman and Hilton 2023). On a bandit the whole KL-regularised path
is a Gibbs tilt, so the curve, its peak (a zero of :math:`\mathrm{Cov}_{\pi_\beta}(r^*, r)`) and
the effect of each mitigation are computed exactly.

The map of the package:

=====================  ==========================================================================
``_curves.py``         the over-optimisation curve and the single-proxy mitigations:
                       :func:`correlated_proxy`, :func:`bt_proxy`, :func:`bootstrap_proxies`
                       (the ensemble; Coste et al. 2024), :func:`par_reward` (PAR: Fu et al.
                       2025), :func:`gold_value_derivative`, :func:`overoptimization_curve`,
                       :func:`kl_budget_policy`; :class:`OveroptimizationCurve`,
                       :class:`KLBudgetResult`
``_constrained.py``    Moskovitz et al. (2024), "Confronting Reward Model Overoptimization with
                       Constrained RLHF": :func:`constrained_rlhf` (dual ascent on the Lagrange
                       multipliers of the composite-reward problem, KKT certificate);
                       :class:`ConstrainedRLHFResult`
``_artifact.py``       reward hacking through an artifact (Pang et al. 2023; Singhal et al. 2023;
                       RRM: Liu et al. 2024): :func:`artifact_reward_fit`,
                       :func:`length_decomposition`; :class:`ArtifactFit`,
                       :class:`LengthDecomposition`
=====================  ==========================================================================

Conventions: ``beta`` is the KL weight (:math:`\pi_\beta \propto \pi_{ref} e^{r/\beta}`), ``gold``
the true reward :math:`r^*`, ``proxy`` the optimised one; ``rng`` is required where a function
samples.

>>> res = overoptimization_curve([0.25] * 4, [0.0, 1.0, 2.0, 0.5], [0.0, 1.0, 2.0, 3.0],
...                              np.logspace(1, -2, 40))
>>> res.peak["interior"]
True
"""

import numpy as np  # noqa: F401  (used by the doctest above)

from ._artifact import ArtifactFit, LengthDecomposition, artifact_reward_fit, length_decomposition
from ._constrained import ConstrainedRLHFResult, constrained_rlhf
from ._curves import (
    KLBudgetResult,
    OveroptimizationCurve,
    bootstrap_proxies,
    bt_proxy,
    correlated_proxy,
    gold_value_derivative,
    kl_budget_policy,
    overoptimization_curve,
    par_reward,
)

__all__ = [
    "ArtifactFit",
    "ConstrainedRLHFResult",
    "KLBudgetResult",
    "LengthDecomposition",
    "OveroptimizationCurve",
    "artifact_reward_fit",
    "bootstrap_proxies",
    "bt_proxy",
    "constrained_rlhf",
    "correlated_proxy",
    "gold_value_derivative",
    "kl_budget_policy",
    "length_decomposition",
    "overoptimization_curve",
    "par_reward",
]
