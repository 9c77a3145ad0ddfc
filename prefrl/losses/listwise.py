"""Plackett-Luce DPO, EXO and DPO-K under their module path of earlier releases (plain imports).

They live in :mod:`prefrl.losses` (file ``_listwise.py``) and are documented there.
"""

from __future__ import annotations

from ._listwise import dpo_k, exo, plackett_luce_dpo  # noqa: F401
