r"""prefrl's reference losses on torch tensors, differentiable by autograd.

Same names, signatures, defaults and registries as :mod:`prefrl.losses`; each function's
docstring repeats the numpy twin's mathematics. Inputs may be tensors (float32 or float64, any
device) or array-likes (converted to float64 tensors on the CPU); outputs are tensors of the
inputs' dtype and device. Validation (shapes, NaN, ``beta > 0``, ranges) raises ValueError as in
numpy; the NaN check synchronises with the device once per call.

Every loss declared in :data:`prefrl.losses.LOSSES` has its twin here, under the same name;
:func:`prefrl.testing.check_loss` checks that the twin exists, that its values equal the
reference's and that autograd's gradient equals :func:`prefrl.losses.value_and_grad`.

The map of the twins (private files): ``_pairwise.py`` (the pairwise losses: DPO family, IPO,
SLiC, EXO, DiscoPOP, NCA, BCO, APO, AOT, SPPO, REBEL, DNO, SimPO, ORPO), ``_families.py``
(KTO, DRO, PMPO; Plackett-Luce DPO, EXO, DPO-K), ``_policy_gradient.py`` (GRPO, RLOO,
REINFORCE++, ReMax advantages; KL estimators; aggregation; PPO/GSPO, CISPO), ``_sequence.py``
(per-token log-probs to sequence log-probs), ``_drift.py`` (the mirror-learning drifts), ``_core.py`` (the tensor plumbing and the adopted docstrings).
"""

from __future__ import annotations

from .. import losses as _np_losses
from .._deprecation import deprecated_names
from ._core import adopt_docs
from ._drift import discovered_drift, drift_objective, ppo_drift
from ._families import dpo_k, dro, exo, kto, kto_reference_point, plackett_luce_dpo, pmpo
from ._pairwise import (
    aot,
    aot_unpaired,
    apo_down,
    apo_zero,
    bco_pair,
    cdpo,
    discopop,
    dno,
    dpo,
    exo_pair,
    hinge,
    ipo,
    nca_pair,
    orpo,
    rebel,
    robust_dpo,
    sigmoid_norm,
    simpo,
    sppo,
    sppo_hard,
)
from ._policy_gradient import (
    aggregate,
    aggregation_weights,
    cispo_loss,
    grpo_advantages,
    kl_estimate,
    ppo_clip_loss,
    reinforce_pp_advantages,
    remax_advantages,
    rloo_advantages,
)
from ._sequence import sequence_logps

__all__ = [
    "PAIRWISE",
    "REFERENCE_FREE",
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
    "reinforce_pp_advantages",
    "remax_advantages",
    "rloo_advantages",
    "robust_dpo",
    "sequence_logps",
    "sigmoid_norm",
    "simpo",
    "sppo",
    "sppo_hard",
]

adopt_docs([globals()[name] for name in __all__ if name not in ("PAIRWISE", "REFERENCE_FREE")])

# the other names of two losses (TRL's loss types), importable, documented under their own name
sigmoid = dpo
robust = robust_dpo

# The former name of discovered_drift (Lu et al. 2022 call LPO their learned drift, and the closed
# form distilled from it DPO, Discovered Policy Optimisation): served with a DeprecationWarning.
__getattr__ = deprecated_names(__name__, {
    "lpo_drift": ("prefrl.torch.losses.discovered_drift", lambda: discovered_drift),
})

#: name -> torch twin, the keys of :data:`prefrl.losses.PAIRWISE`
PAIRWISE = {name: globals()[fn.__name__] for name, fn in _np_losses.PAIRWISE.items()}
#: the reference-free twins, the keys of :data:`prefrl.losses.REFERENCE_FREE`
REFERENCE_FREE = {name: globals()[fn.__name__] for name, fn in _np_losses.REFERENCE_FREE.items()}
