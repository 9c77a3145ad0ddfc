r"""Online preference optimisation on bandits: online and iterative DPO, PILAF, expected gradients.

Online methods re-collect preference pairs from the current policy. This package makes them exact
on a bandit: the law of a sampled pair, the expected DPO gradient under it, and the learning loops.
It builds on :mod:`prefrl.restricted` (the log-linear class and :func:`prefrl.restricted.policy_value`)
and on :mod:`prefrl.games` (iterative DPO on a preference game).

The map of the package:

=======================  =======================================================================
``_samplers.py``         Feng et al. (2025), "PILAF: Optimal Human Preference Sampling for
                         Reward Modeling": :func:`pilaf_policies` (:class:`PilafPolicies`),
                         :func:`pilaf_pair_distribution`, :func:`on_policy_pair_distribution`;
                         the population DPO loss and its exact gradient under a pair law,
                         :func:`expected_dpo_gradient` (:class:`ExpectedDPOGradient`).
``_online_dpo.py``       online DPO in the log-linear class (Shi et al. 2025, "Understanding the
                         Performance Gap in Preference Learning: A Dichotomy of RLHF and DPO",
                         Sec. 3): sampled, :func:`online_dpo`, and on the exact expected loss,
                         :func:`online_dpo_expected` (:class:`OnlineDPOResult`).
(from prefrl.games)      :func:`iterative_dpo`: DPO re-run on pairs from the current policy of a
                         preference game (defined in :mod:`prefrl.games` on its self-play loop,
                         documented here).
=======================  =======================================================================

These names lived in :mod:`prefrl.restricted` before; ``prefrl.restricted.online_dpo`` and the
others still work.
"""

from __future__ import annotations

from ..games import iterative_dpo
from ._online_dpo import OnlineDPOResult, online_dpo, online_dpo_expected
from ._samplers import (
    ExpectedDPOGradient,
    PilafPolicies,
    expected_dpo_gradient,
    on_policy_pair_distribution,
    pilaf_pair_distribution,
    pilaf_policies,
)

__all__ = [
    "ExpectedDPOGradient",
    "OnlineDPOResult",
    "PilafPolicies",
    "expected_dpo_gradient",
    "iterative_dpo",
    "on_policy_pair_distribution",
    "online_dpo",
    "online_dpo_expected",
    "pilaf_pair_distribution",
    "pilaf_policies",
]
