"""Test configuration: hypothesis profiles.

- ``default``: 60 examples per property, no deadline (numba compiles on first call).
- ``ci``: 40 examples, derandomised so CI runs are reproducible; chosen when ``CI`` is set.
- ``thorough``: 1000 examples, for a long local run (``HYPOTHESIS_PROFILE=thorough pytest``).
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("default", max_examples=60, **_common)
settings.register_profile("ci", max_examples=40, derandomize=True, print_blob=True, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
