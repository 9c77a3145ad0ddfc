"""Deprecation helpers: renamed keywords, renamed module attributes and moved names.

Renames in prefrl keep the old spelling working for one release with a :class:`DeprecationWarning`
that names the new spelling (see the glossary in ``DEVELOPING.md``):

- :func:`renamed_parameters` wraps a function whose keyword arguments were renamed;
- :func:`deprecated_names` builds a module ``__getattr__`` for attributes that were renamed;
- :class:`prefrl.results.Result` subclasses list renamed fields in ``_renamed``.

>>> import warnings
>>> @renamed_parameters(reference="pi_ref")
... def f(x, pi_ref=None):
...     return x, pi_ref
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     f(1, reference=2)
(1, 2)
>>> str(caught[0].message)
"f(): the keyword 'reference' is deprecated, use 'pi_ref'"
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["deprecated_names", "renamed_parameters", "warn_deprecated"]


def warn_deprecated(message: str, stacklevel: int = 3) -> None:
    """Emit a :class:`DeprecationWarning` pointing at the caller's caller."""
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)


def renamed_parameters(**old_to_new: str) -> Callable:
    """Decorator: accept the old keyword names ``old=new`` with a DeprecationWarning.

    Passing both the old and the new name raises TypeError naming both. The wrapped function keeps
    its signature (``inspect.signature`` follows ``__wrapped__``) and its docstring.
    """

    def deco(fn: Callable) -> Callable:
        name = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{name}() got both {old!r} (deprecated) and {new!r}; pass only {new!r}"
                        )
                    warn_deprecated(
                        f"{name}(): the keyword {old!r} is deprecated, use {new!r}", stacklevel=3
                    )
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.__renamed_parameters__ = dict(old_to_new)  # type: ignore[attr-defined]
        return wrapper

    return deco


def deprecated_names(module: str, renamed: dict[str, tuple[str, Callable[[], Any]]]) -> Callable:
    """A module ``__getattr__`` serving renamed attributes with a DeprecationWarning.

    ``renamed`` maps the old name to ``(new dotted name, function returning the object)``; the
    object is looked up lazily, so moving it causes no import cycle.

    >>> __getattr__ = deprecated_names("m", {"old": ("m.new", lambda: 42)})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     __getattr__("old")
    42
    """

    def __getattr__(name: str):
        if name in renamed:
            new, get = renamed[name]
            warn_deprecated(f"{module}.{name} is deprecated, use {new}", stacklevel=3)
            return get()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
