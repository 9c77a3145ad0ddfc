r"""Restricted policy and reward classes: KL projections, RLHF and DPO within classes, EXO vs DPO.

When every policy is available, RLHF, DPO and EXO share one optimum, the Gibbs tilt
:math:`\pi^* = \pi_{ref} e^{r^*/\beta}/Z`. At scale the classes are restricted, and the methods part
ways. This package makes the bandit version exact.

* The **policy class** is log-linear, :math:`\pi_\theta(y) \propto \pi_{ref}(y)\exp(\theta^\top
  \phi(y))` with user features :math:`\phi` of shape ``(K, d)`` (see
  :class:`prefrl.policies.LogLinearPolicy`); ``features = np.eye(K)`` is the full class.
* The **reward class** is linear, :math:`r_w(y) = w^\top \psi(y)` with features :math:`\psi` of
  shape ``(K, m)`` (the fits are :mod:`prefrl.bradley_terry`'s ``linear_bt_*``).

The map of the package:

=======================  =======================================================================
``_projections.py``      :func:`forward_kl_projection` (moment matching, mean-seeking) and
                         :func:`reverse_kl_projection` (mode-seeking; RLHF's policy step), with
                         :class:`ProjectionResult`.
``_classes.py``          Shi et al. (2025), "Understanding the Performance Gap in Preference
                         Learning: A Dichotomy of RLHF and DPO": :func:`rlhf_restricted`,
                         :func:`dpo_restricted`, their finite-sample versions
                         :func:`rlhf_restricted_dataset`, :func:`dpo_restricted_dataset`, the
                         yardstick :func:`policy_value`, and :class:`RestrictedFit`.
``_k_sample.py``         Ji et al. (2024), "Towards Efficient Exact Optimization of Language Model
                         Alignment" (EXO): :func:`k_sample_loss`, :func:`k_sample_value_and_grad`,
                         :func:`k_sample_limit`, :func:`k_sample_expected_loss`,
                         :func:`train_k_sample` and :class:`KSampleTraining`.
``_common.py``           private numerics shared by the files (a lean log-softmax, feature units,
                         input checks, the rng fallback).
=======================  =======================================================================

DPO within the log-linear class is a logistic regression in :math:`\beta\theta` (the reference
and the normaliser cancel in the margin), so it is the Bradley-Terry fit in the *implicit* reward
class :math:`\{\beta\theta^\top\phi\}`. The K-sample EXO loss tends to the reverse KL and the
K-sample DPO loss to the forward KL, which is why, in a class that cannot represent :math:`\pi^*`,
EXO settles on a mode and DPO spreads between modes.

Every solver returns a result object (:class:`prefrl.results.Result`) with a certificate (the
max-norm of the gradient of the objective it minimises, computed at the returned point, with
respect to the parameters in units where each feature column spans at most 1, so that the
tolerances do not depend on how the features are scaled).

Online DPO, the PILAF sampler and the exact expected DPO gradients moved to :mod:`prefrl.online`
(which builds on this package); the old paths ``prefrl.restricted.online_dpo``, ... still work.
"""

from __future__ import annotations

import importlib

from ..bradley_terry import (  # noqa: F401  (moved to prefrl.bradley_terry; importable here)
    LinearBTFit,
    linear_bt_mle,
    linear_bt_mle_dataset,
)
from ._classes import (
    RestrictedFit,
    dpo_restricted,
    dpo_restricted_dataset,
    policy_value,
    rlhf_restricted,
    rlhf_restricted_dataset,
)
from ._k_sample import (
    KSampleTraining,
    k_sample_expected_loss,
    k_sample_limit,
    k_sample_loss,
    k_sample_value_and_grad,
    train_k_sample,
)
from ._projections import ProjectionResult, forward_kl_projection, reverse_kl_projection

__all__ = [
    "KSampleTraining",
    "ProjectionResult",
    "RestrictedFit",
    "dpo_restricted",
    "dpo_restricted_dataset",
    "forward_kl_projection",
    "k_sample_expected_loss",
    "k_sample_limit",
    "k_sample_loss",
    "k_sample_value_and_grad",
    "policy_value",
    "reverse_kl_projection",
    "rlhf_restricted",
    "rlhf_restricted_dataset",
    "train_k_sample",
]

# Names that moved up to prefrl.online (a plain move, no warning). prefrl.online imports this
# package, so they are looked up lazily, on first access, never at import time.
_MOVED_TO_ONLINE = frozenset({
    "ExpectedDPOGradient",
    "OnlineDPOResult",
    "PilafPolicies",
    "expected_dpo_gradient",
    "on_policy_pair_distribution",
    "online_dpo",
    "online_dpo_expected",
    "pilaf_pair_distribution",
    "pilaf_policies",
})


def __getattr__(name: str):
    if name in _MOVED_TO_ONLINE:
        return getattr(importlib.import_module("prefrl.online"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_MOVED_TO_ONLINE})
