"""The policy-gradient family under its module path of earlier releases (plain imports).

It lives in :mod:`prefrl.losses` (files ``_advantages.py``, ``_kl.py``, ``_surrogates.py``) and is
documented there; the option lists in :mod:`prefrl.losses.checks`.
"""

from __future__ import annotations

from ._advantages import (  # noqa: F401
    grpo_advantages,
    reinforce_pp_advantages,
    remax_advantages,
    rloo_advantages,
)
from ._kl import kl_estimate  # noqa: F401
from ._surrogates import aggregate, aggregation_weights, cispo_loss, ppo_clip_loss  # noqa: F401
from .checks import AGGREGATION_MODES, KL_KINDS  # noqa: F401
