"""The pairwise losses under their module path of earlier releases (plain imports).

The losses live in the private files of :mod:`prefrl.losses` (``_dpo``, ``_margin``,
``_anchored``, ``_aot``, ``_selfplay``, ``_reference_free``) and are documented there;
``prefrl.losses.pairwise.dpo`` is ``prefrl.losses.dpo``.
"""

from __future__ import annotations

from ._anchored import apo_down, apo_zero, bco_pair, nca_pair  # noqa: F401
from ._aot import aot, aot_unpaired  # noqa: F401
from ._dpo import cdpo, dpo, robust_dpo, sigmoid_norm  # noqa: F401
from ._margin import discopop, exo_pair, hinge, ipo  # noqa: F401
from ._reference_free import orpo, simpo  # noqa: F401
from ._registry import PAIRWISE, REFERENCE_FREE  # noqa: F401
from ._selfplay import dno, rebel, sppo, sppo_hard  # noqa: F401
from .checks import F_DIVERGENCES  # noqa: F401
