"""The golden vectors under their module path of earlier releases (plain imports).

They live in :mod:`prefrl.testing` (file ``_golden.py``) and are documented there.
"""

from __future__ import annotations

from ._golden import golden_cases, golden_vectors  # noqa: F401
