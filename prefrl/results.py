r"""The one base of prefrl's result objects, and their canonical field names.

Every solver, fit and learner in prefrl returns a frozen dataclass that subclasses :class:`Result`
(in the spirit of scipy's ``OptimizeResult``). The same quantity has the same name everywhere:

==================  ===========================================================================
``policy``          the returned policy: shape (K,) for a bandit, (S, A) for an MDP, (H, S, A)
                    for a finite horizon (``policies`` for a trajectory of them)
``value``           the objective at the returned point (a number; the minimised loss for a
                    loss minimiser, the maximised objective for an optimum)
``values``          per-state values :math:`V(s)`, shape (S,) (``q_values``: :math:`Q(s, a)`)
``iterations``      solver iterations or learner steps taken (0 for a closed form)
``converged``       whether the stopping rule was met (True for a closed form)
``certificate``     the largest residual of the optimality condition, computed on the returned
                    point (0 up to rounding when exact); for an MDP solve, the Bellman residual
==================  ===========================================================================

A result of an iterative or certified solver has ``iterations``, ``converged`` and
``certificate`` (a field or a property). Results also behave a little like a mapping:
``res.keys()``, ``res["policy"]``, ``res.to_dict()``; and ``repr`` shows arrays by shape.

A field renamed to its canonical name keeps its old name for one release: a subclass lists it in
``_renamed: ClassVar[dict[str, str]]`` (old name to new), and reading the old name warns.

>>> from dataclasses import dataclass
>>> from typing import ClassVar
>>> import numpy as np
>>> @dataclass(frozen=True, eq=False)
... class Fit(Result):
...     policy: np.ndarray
...     iterations: int
...     converged: bool
...     certificate: float
...     _renamed: ClassVar[dict[str, str]] = {"residual": "certificate"}
>>> res = Fit(np.array([0.25, 0.75]), 3, True, 1e-12)
>>> res
Fit(policy=array([0.25, 0.75]), iterations=3, converged=True, certificate=1e-12)
>>> res.keys(), res["iterations"]
(('policy', 'iterations', 'converged', 'certificate'), 3)
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

__all__ = ["CANONICAL_FIELDS", "Result"]

#: The canonical names, in the order a reader looks for them.
CANONICAL_FIELDS = ("policy", "value", "values", "q_values", "iterations", "converged", "certificate")

_ARRAY_SHOWN = 8  # arrays up to this size are printed, larger ones by shape


def _short(x: Any) -> str:
    if isinstance(x, np.ndarray):
        if x.size <= _ARRAY_SHOWN:
            return "array(" + np.array2string(x, separator=", ", precision=6, prefix="array(") + ")"
        return f"<array shape={x.shape} dtype={x.dtype}>"
    shape = getattr(x, "shape", None)
    if shape is not None and hasattr(x, "dtype") and not isinstance(x, np.generic):
        # another array type (a torch tensor, ...): by shape when large
        if int(np.prod(tuple(shape))) > _ARRAY_SHOWN:
            return f"<{type(x).__name__} shape={tuple(shape)} dtype={x.dtype}>"
        return repr(x)
    if isinstance(x, float | np.floating):
        return f"{float(x):.6g}"
    if isinstance(x, list | tuple) and len(x) > _ARRAY_SHOWN:
        return f"<{type(x).__name__} of {len(x)}>"
    return repr(x)


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """Base of every result object (see the module docstring for the canonical names)."""

    _renamed: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # dataclass() writes a __repr__ only where the class has none: keep the compact one.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__

    def __getattr__(self, name: str):
        renamed = type(self)._renamed
        if name in renamed:
            new = renamed[name]
            warnings.warn(
                f"{type(self).__name__}.{name} is deprecated, use {type(self).__name__}.{new}",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(self, new)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def keys(self) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(f.name for f in dataclasses.fields(self))

    def __getitem__(self, key: str):
        if key in self.keys():
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (values not copied; nested results stay objects)."""
        return {k: getattr(self, k) for k in self.keys()}

    def replace(self, **changes):
        """A copy with some fields changed (:func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={_short(getattr(self, k))}" for k in self.keys())
        return f"{type(self).__name__}({body})"
