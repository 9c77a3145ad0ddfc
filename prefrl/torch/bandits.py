"""The batched bandit trainer under its module path of earlier releases (plain imports).

It lives in :mod:`prefrl.torch` (file ``_bandits.py``) and is documented there.
"""

from __future__ import annotations

from ._bandits import BanditTrainingResult, train_bandits  # noqa: F401
