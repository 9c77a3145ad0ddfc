"""The reference checks under their module path of earlier releases (plain imports).

They live in :mod:`prefrl.testing` (file ``_reference.py``) and are documented there.
"""

from __future__ import annotations

from ._reference import assert_matches_reference, reference_value_and_grad  # noqa: F401
