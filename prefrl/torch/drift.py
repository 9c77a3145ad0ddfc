"""The torch drifts under their module path of earlier releases (plain imports).

They live in :mod:`prefrl.torch.losses` (file ``_drift.py``) and are documented there.
"""

from __future__ import annotations

from .._deprecation import deprecated_names
from ._drift import discovered_drift, drift_objective, ppo_drift  # noqa: F401

# The former name of discovered_drift (Lu et al. 2022 call LPO their learned drift, and the closed
# form distilled from it DPO, Discovered Policy Optimisation): served with a DeprecationWarning.
__getattr__ = deprecated_names(__name__, {
    "lpo_drift": ("prefrl.torch.losses.discovered_drift", lambda: discovered_drift),
})
