r"""A kit to validate other implementations of preference and policy-gradient losses.

- :func:`assert_matches_reference` runs your numpy or torch function against
  :mod:`prefrl.losses` on inputs drawn by hypothesis (sequence log-probs, or per-token log-probs
  and masks with ``token_level=True``) and fails with the worst discrepancy and the offending
  example; it returns a :class:`KitReport` (backend, dtype, tolerances from :data:`TOLERANCES`).
- :mod:`prefrl.testing.strategies` has the strategies (extreme margins, ties, unequal lengths,
  masks, groups of size 1) for your own property tests; :func:`~prefrl.testing.strategies.
  loss_inputs` draws the inputs of any registered loss.
- :func:`golden_vectors` writes every loss's inputs, values and gradients as JSON, for
  implementations in other languages.
- :func:`check_loss` checks that a loss declared with :func:`prefrl.losses.register_loss` has
  every part (values, analytic gradient against finite differences, torch twin).

The map of the package: ``_specs.py`` (:data:`SPECS`, the kit's view of the loss registry),
``_values.py`` (:func:`reference_value_and_grad`, the per-token reference), ``_reference.py``
(:func:`assert_matches_reference`, :class:`KitReport`, :data:`TOLERANCES`), ``_arguments.py``
(the kit's own argument checks, before any drawing), ``_validate_cli.py`` (``prefrl validate``),
``_golden.py`` (:func:`golden_cases`, :func:`golden_vectors`), ``_check.py`` (:func:`check_loss`),
``strategies.py`` (public: the hypothesis strategies). The modules ``prefrl.testing.reference`` and
``prefrl.testing.golden`` of earlier releases still import the same names.

See :doc:`/howto/validate_losses`.

>>> from prefrl.testing import assert_matches_reference
>>> import numpy as np
>>> report = assert_matches_reference(
...     lambda cw, cl, rw, rl, beta: np.logaddexp(0, -beta * ((cw - rw) - (cl - rl))),
...     "dpo", beta=0.1, max_examples=10)
>>> report.backend, report.n_examples
('numpy', 10)
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - hypothesis is in the test extra
    raise ImportError(
        "prefrl.testing needs hypothesis, which is not installed: pip install prefrl[test]"
    ) from exc

from . import strategies
from ._check import check_loss
from ._golden import golden_cases, golden_vectors
from ._reference import TOLERANCES, KitReport, assert_matches_reference
from ._specs import SPECS
from ._values import reference_value_and_grad

# Kept importable here (documented in prefrl.testing.strategies) and the modules of earlier
# releases.
from .strategies import LossInputs, loss_inputs  # noqa: F401  # isort: skip
from . import golden, reference  # noqa: F401  # isort: skip

__all__ = [
    "SPECS",
    "TOLERANCES",
    "KitReport",
    "assert_matches_reference",
    "check_loss",
    "golden_cases",
    "golden_vectors",
    "reference_value_and_grad",
    "strategies",
]
