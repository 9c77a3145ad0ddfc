r"""Reference preference and policy-gradient losses in numpy, with analytic gradients.

Every loss returns the unreduced per-example value; :func:`value_and_grad` returns those values
and the gradient of their sum with respect to every array input. Each loss is declared once with
:func:`register_loss` (its function, gradient, other names, registries and the spec from which
:mod:`prefrl.testing` draws inputs); its torch twin of the same name is in
:mod:`prefrl.torch.losses`, and :func:`prefrl.testing.check_loss` checks that a loss has every
part. Conventions follow TRL 1.16.0 (``DPOTrainer``'s ``loss_type`` names), verl 0.9.1 and
OpenRLHF 0.11 where the docstrings say so; see :doc:`/theory/loss_conventions`.

The map of the package (private files; every name is imported from ``prefrl.losses``):

================================  =============================================================
``_registry.py``                  :func:`register_loss`, :data:`LOSSES`, :class:`LossSpec`,
                                  :func:`register_gradient`, :data:`GRADIENTS`,
                                  :func:`value_and_grad`, :class:`ValueAndGrad`,
                                  :data:`PAIRWISE` (TRL's loss types), :data:`REFERENCE_FREE`
``_pairwise_core.py``             the pairwise plumbing: f-divergence scores (Wang et al. 2024),
                                  the chain rule of the log-ratios
``_dpo.py``                       :func:`dpo` (Rafailov et al. 2023), :func:`cdpo` (Mitchell
                                  2023), :func:`robust_dpo` (Chowdhury et al. 2024),
                                  :func:`sigmoid_norm` (Lambert et al. 2024)
``_margin.py``                    :func:`ipo` (Azar et al. 2024), :func:`hinge` (Zhao et al.
                                  2023), :func:`exo_pair` (Ji et al. 2024) and its two
                                  smoothings :data:`EXO_EPSILON_TRL`,
                                  :data:`EXO_EPSILON_AUTHORS`, :func:`discopop` (Lu et al. 2024)
``_anchored.py``                  :func:`nca_pair` (Chen et al. 2024), :func:`bco_pair` (Jung et
                                  al. 2024), :func:`apo_zero`, :func:`apo_down`
                                  (D'Oosterlinck et al. 2024)
``_aot.py``                       :func:`aot`, :func:`aot_unpaired` (Melnyk et al. 2024)
``_selfplay.py``                  :func:`sppo`, :func:`sppo_hard` (Wu et al. 2024),
                                  :func:`rebel` (Gao et al. 2024), :func:`dno` (Rosset et al.
                                  2024)
``_reference_free.py``            :func:`simpo` (Meng et al. 2024), :func:`orpo` (Hong et al.
                                  2024)
``_unpaired.py``                  :func:`kto`, :func:`kto_reference_point` (Ethayarajh et al.
                                  2024), :func:`dro` (Richemond et al. 2024), :func:`pmpo`
                                  (Abdolmaleki et al. 2024)
``_listwise.py``                  :func:`plackett_luce_dpo` (Rafailov et al. 2023, App. A.3),
                                  :func:`exo`, :func:`dpo_k` (Ji et al. 2024)
``_advantages.py``                :func:`grpo_advantages` (Shao et al. 2024),
                                  :func:`rloo_advantages` (Kool et al. 2019),
                                  :func:`reinforce_pp_advantages` (Hu 2025),
                                  :func:`remax_advantages` (Li et al. 2024)
``_kl.py``                        :func:`kl_estimate` (Schulman 2020)
``_surrogates.py``                :func:`aggregation_weights`, :func:`aggregate`,
                                  :func:`ppo_clip_loss` (Schulman et al. 2017; GSPO, Zheng et
                                  al. 2025), :func:`cispo_loss` (MiniMax 2025)
``_drift.py``                     :func:`ppo_drift`, :func:`discovered_drift` (formerly
                                  ``lpo_drift``), :func:`drift_objective` (Kuba et al. 2022;
                                  Lu et al. 2022)
``checks.py`` (public)            option checks shared with the torch twins, and the option
                                  lists ``F_DIVERGENCES``, ``KL_KINDS``, ``AGGREGATION_MODES``
================================  =============================================================

The modules ``prefrl.losses.pairwise``, ``unpaired``, ``listwise``, ``policy_gradient`` and
``drift`` of earlier releases still import the same names.

>>> from prefrl.losses import PAIRWISE, value_and_grad
>>> PAIRWISE["ipo"]([0.5], [0.0], [0.0], [0.0], beta=1.0)
array([0.])
"""

from __future__ import annotations

from .._deprecation import deprecated_names
from . import checks  # noqa: F401  (a public submodule, documented on its own)
from ._advantages import (
    grpo_advantages,
    reinforce_pp_advantages,
    remax_advantages,
    rloo_advantages,
)
from ._anchored import apo_down, apo_zero, bco_pair, nca_pair
from ._aot import aot, aot_unpaired
from ._dpo import cdpo, dpo, robust_dpo, sigmoid_norm
from ._drift import discovered_drift, drift_objective, ppo_drift
from ._kl import kl_estimate
from ._listwise import dpo_k, exo, plackett_luce_dpo
from ._margin import EXO_EPSILON_AUTHORS, EXO_EPSILON_TRL, discopop, exo_pair, hinge, ipo
from ._reference_free import orpo, simpo
from ._registry import (
    GRADIENTS,
    LOSSES,
    PAIRWISE,
    REFERENCE_FREE,
    LossSpec,
    ValueAndGrad,
    register_gradient,
    register_loss,
    value_and_grad,
)
from ._selfplay import dno, rebel, sppo, sppo_hard
from ._sequence import sequence_logps
from ._surrogates import aggregate, aggregation_weights, cispo_loss, ppo_clip_loss
from ._unpaired import dro, kto, kto_reference_point, pmpo

# Kept importable under their earlier names (documented once, elsewhere): the TRL names of two
# losses, the option lists (documented in prefrl.losses.checks, a public submodule) and the
# modules of earlier releases.
from .checks import (  # noqa: F401  # isort: skip
    AGGREGATION_MODES,
    F_DIVERGENCES,
    KL_KINDS,
    SEQUENCE_REDUCTIONS,
)
from . import drift, listwise, pairwise, policy_gradient, unpaired  # noqa: F401  # isort: skip

sigmoid = dpo
robust = robust_dpo

# The former name of discovered_drift (Lu et al. 2022 call LPO their learned drift, and the closed
# form distilled from it DPO, Discovered Policy Optimisation): served with a DeprecationWarning.
__getattr__ = deprecated_names(__name__, {
    "lpo_drift": ("prefrl.losses.discovered_drift", lambda: discovered_drift),
})

__all__ = [
    "EXO_EPSILON_AUTHORS",
    "EXO_EPSILON_TRL",
    "GRADIENTS",
    "LOSSES",
    "PAIRWISE",
    "REFERENCE_FREE",
    "LossSpec",
    "ValueAndGrad",
    "aggregate",
    "aggregation_weights",
    "aot",
    "aot_unpaired",
    "apo_down",
    "apo_zero",
    "bco_pair",
    "cdpo",
    "cispo_loss",
    "discopop",
    "discovered_drift",
    "dno",
    "dpo",
    "dpo_k",
    "drift_objective",
    "dro",
    "exo",
    "exo_pair",
    "grpo_advantages",
    "hinge",
    "ipo",
    "kl_estimate",
    "kto",
    "kto_reference_point",
    "nca_pair",
    "orpo",
    "plackett_luce_dpo",
    "pmpo",
    "ppo_clip_loss",
    "ppo_drift",
    "rebel",
    "register_gradient",
    "register_loss",
    "reinforce_pp_advantages",
    "remax_advantages",
    "rloo_advantages",
    "robust_dpo",
    "sequence_logps",
    "sigmoid_norm",
    "simpo",
    "sppo",
    "sppo_hard",
    "value_and_grad",
]
