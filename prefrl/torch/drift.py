"""The torch drifts under their module path of earlier releases (plain imports).

They live in :mod:`prefrl.torch.losses` (file ``_drift.py``) and are documented there.
"""

from __future__ import annotations

from ._drift import discovered_drift, drift_objective, lpo_drift, ppo_drift  # noqa: F401
