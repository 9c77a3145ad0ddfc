r"""A kit to validate other implementations of preference and policy-gradient losses.

- :func:`assert_matches_reference` runs your numpy or torch function against
  :mod:`prefrl.losses` on inputs drawn by hypothesis and fails with the worst discrepancy and the
  offending example.
- :mod:`prefrl.testing.strategies` has the strategies (extreme margins, ties, unequal lengths,
  masks, groups of size 1) for your own property tests.
- :func:`golden_vectors` writes every loss's inputs, values and gradients as JSON, for
  implementations in other languages.

See :doc:`/howto/validate_losses`.

>>> from prefrl.testing import assert_matches_reference
>>> import numpy as np
>>> assert_matches_reference(lambda cw, cl, rw, rl, beta: np.logaddexp(0, -beta * ((cw - rw) - (cl - rl))),
...                          "dpo", beta=0.1, max_examples=10)
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - hypothesis is in the test extra
    raise ImportError(
        "prefrl.testing needs hypothesis, which is not installed: pip install prefrl[test]"
    ) from exc

from . import strategies
from ._specs import SPECS
from .golden import golden_cases, golden_vectors
from .reference import assert_matches_reference, reference_value_and_grad
from .strategies import LossInputs, loss_inputs

__all__ = [
    "SPECS",
    "LossInputs",
    "assert_matches_reference",
    "golden_cases",
    "golden_vectors",
    "loss_inputs",
    "reference_value_and_grad",
    "strategies",
]
