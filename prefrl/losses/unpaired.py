"""KTO, DRO and PMPO under their module path of earlier releases (plain imports).

They live in :mod:`prefrl.losses` (file ``_unpaired.py``) and are documented there.
"""

from __future__ import annotations

from ._unpaired import dro, kto, kto_reference_point, pmpo  # noqa: F401
