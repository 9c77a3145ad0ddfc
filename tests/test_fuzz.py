"""Fuzz every public function: bad values argument by argument, and float32 against float64.

Every function in a public module's ``__all__`` is called once with a valid input taken from the
first call of it in its own docstring example (so a new public function without a runnable
example fails here). Then each numeric argument in turn is replaced by NaN, inf, a string, None,
a complex number and (for scalars) a bool, and the outcome is classified:

- ``named``: a ValueError or TypeError whose message names the argument (what every bad input
  must give);
- ``unnamed``: a ValueError or TypeError that does not name it;
- ``accepted``: no error (correct for None where None means a default, wrong otherwise);
- ``other``: any other exception; ``hang``: no answer within 20 s.

Each float64 array argument is also passed as float32; the outcome is ``agrees`` (the result
equals the float64 one to 1e-3 relative), ``differs`` or ``raises``.

``tests/data/fuzz_baseline.json`` records, per module, how many probes end in each outcome other
than ``named``/``agrees``, and the functions without an example. The tests fail when a module
gets worse or a function loses its example; when a module gets better, lower its baseline (run
this file with ``PREFRL_FUZZ_WRITE=1`` to rewrite the file).
"""

from __future__ import annotations

import collections
import doctest
import functools
import importlib
import inspect
import json
import os
import pkgutil
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest

import prefrl

BASELINE = Path(__file__).parent / "data" / "fuzz_baseline.json"
KINDS = ("nan", "inf", "str", "none", "complex", "bool")
BAD_OUTCOMES = ("unnamed", "accepted", "other", "hang", "float32_differs", "float32_raises")


def _public_modules():
    skip = ("prefrl.experiments", "prefrl.proofs_check", "prefrl.cli", "prefrl.torch")
    for info in pkgutil.walk_packages(prefrl.__path__, "prefrl."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or info.name.startswith(skip):
            continue
        yield importlib.import_module(info.name)


@functools.cache
def public_functions():
    """``{"module.name": function}``, each function once, at the first public path found."""
    seen, out = set(), {}
    for mod in _public_modules():
        for attr in getattr(mod, "__all__", ()):
            obj = getattr(mod, attr, None)
            if inspect.isfunction(obj) and id(obj) not in seen:
                seen.add(id(obj))
                out[f"{mod.__name__}.{attr}"] = obj
    return out


class _Captured(Exception):
    pass


def valid_call(qualname, fn):
    """``(args, kwargs)`` of the first call of ``fn`` in its docstring example, or None."""
    tests = doctest.DocTestFinder(recurse=False).find(fn, qualname, globs={})
    if not tests:
        return None
    name = qualname.rsplit(".", 1)[1]
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        raise _Captured

    namespace = dict(vars(importlib.import_module(fn.__module__)))
    namespace.update(np=np, **{name: spy})
    for example in tests[0].examples:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(example.source, "<example>", "exec"), namespace)
        except _Captured:
            return calls[0]
        except Exception:  # a setup line that needs more context: go on
            continue
    return None


def _numeric(value):
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    try:
        arr = np.asarray(value)
    except Exception:
        return False
    return arr.dtype.kind in "fi" and arr.size > 0


def _bad(value, kind):
    if kind == "str":
        return "x"
    if kind == "none":
        return None
    if kind == "bool":
        return True
    scalar = np.ndim(value) == 0
    if kind == "complex":
        return complex(float(np.real(value)), 1.0) if scalar else np.asarray(value) + 1j
    bad = float("nan") if kind == "nan" else float("inf")
    if scalar:
        return bad
    arr = np.array(value, dtype=float)
    arr.flat[0] = bad
    return arr


class _Timeout(Exception):
    pass


def _call(fn, bound, seconds=20):
    def alarm(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*bound.args, **bound.kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _close(a, b):
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return True  # a result object: compared through its numbers elsewhere
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-3, atol=1e-6, equal_nan=True))


def probe(qualname, fn):
    """The outcome of every bad-value and float32 probe of one function: ``[(arg, kind, out)]``."""
    call = valid_call(qualname, fn)
    if call is None:
        return None
    sig = inspect.signature(fn)
    try:
        base = sig.bind_partial(*call[0], **call[1])
    except TypeError:
        return None
    out = []
    for arg, value in list(base.arguments.items()):
        if not _numeric(value):
            continue
        for kind in KINDS:
            if kind == "bool" and np.ndim(value) != 0:
                continue
            bound = sig.bind_partial(*call[0], **call[1])
            bound.arguments[arg] = _bad(value, kind)
            try:
                _call(fn, bound)
                outcome = "accepted"
            except (ValueError, TypeError) as exc:
                outcome = "named" if arg in str(exc) else "unnamed"
            except _Timeout:
                outcome = "hang"
            except Exception:
                outcome = "other"
            out.append((arg, kind, outcome))
        arr = np.asarray(value)
        if arr.dtype == np.float64 and arr.ndim >= 1:
            bound = sig.bind_partial(*call[0], **call[1])
            try:
                want = _call(fn, bound)
                bound.arguments[arg] = arr.astype(np.float32)
                got = _call(fn, bound)
                outcome = "float32_agrees" if _close(got, want) else "float32_differs"
            except Exception:
                outcome = "float32_raises"
            out.append((arg, "float32", outcome))
    return out


@functools.cache
def measure():
    """Per module, the count of each outcome, and the functions without an example."""
    counts = collections.defaultdict(collections.Counter)
    missing = []
    for qualname, fn in public_functions().items():
        module = qualname.split(".")[1]
        results = probe(qualname, fn)
        if results is None:
            missing.append(qualname)
            continue
        for _, _, outcome in results:
            counts[module][outcome] += 1
    return {m: dict(sorted(c.items())) for m, c in sorted(counts.items())}, sorted(missing)


def _baseline():
    return json.loads(BASELINE.read_text())


def test_write_baseline_on_request():
    if not os.environ.get("PREFRL_FUZZ_WRITE"):
        pytest.skip("set PREFRL_FUZZ_WRITE=1 to rewrite tests/data/fuzz_baseline.json")
    counts, missing = measure()
    BASELINE.write_text(json.dumps({"counts": counts, "without_example": missing}, indent=1,
                                   sort_keys=True) + "\n")


def test_every_public_function_has_a_runnable_example():
    """A new public function must show a valid call in its docstring example."""
    _, missing = measure()
    new = sorted(set(missing) - set(_baseline()["without_example"]))
    assert not new, f"public functions without a valid call in their example: {new}"


def test_bad_inputs_are_answered_no_worse_than_the_baseline():
    counts, _ = measure()
    base = _baseline()["counts"]
    worse = []
    for module, c in counts.items():
        for outcome in BAD_OUTCOMES:
            if c.get(outcome, 0) > base.get(module, {}).get(outcome, 0):
                worse.append(f"{module}: {outcome} {base.get(module, {}).get(outcome, 0)} -> "
                             f"{c.get(outcome, 0)}")
    assert not worse, "; ".join(worse)
    assert sum(c.get("hang", 0) for c in counts.values()) == 0


def test_the_fuzz_probe_classifies_correctly():
    """The harness itself: a function that names its argument, one that does not, one that
    accepts anything."""
    def good(x):
        """>>> good(1.0)"""
        if not np.all(np.isfinite(np.asarray(x, dtype=float))):
            raise ValueError("x must be finite")
        return x

    def silent(x):
        """>>> silent(1.0)"""
        return x

    assert {o for _, k, o in probe("m.good", good) if k in ("nan", "inf")} == {"named"}
    assert {o for _, k, o in probe("m.silent", silent)} == {"accepted"}
