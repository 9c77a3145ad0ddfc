"""Fuzz every public function: bad values argument by argument, and float32 against float64.

Every function in a public module's ``__all__`` is called once with a valid input taken from the
first call of it in its own docstring example (so a new public function without a runnable
example fails here). Then each argument is probed in turn:

- each numeric argument is replaced by NaN, inf, a string, None, a complex number and (for
  scalars) a bool;
- each string option is replaced by a value no function accepts (``"no-such-option"``);
- each array argument is replaced by an empty array and by one with an extra entry on its last
  axis (a wrong shape).

The outcome is classified:

- ``named``: a ValueError or TypeError whose message names the argument (what every bad input
  must give);
- ``unnamed``: a ValueError or TypeError that does not name it;
- ``accepted``: no error (wrong for a bad value, except where the signature's default is None
  and None is passed, which is classed ``default``, or where :data:`DOCUMENTED` says the value
  has a documented meaning); an empty or mis-shaped array may be accepted (a batch of one more
  row is often valid) provided the result holds no NaN, else ``silent_nan``;
- ``other``: any other exception; ``hang``: no answer within 20 s.

The valid call is also checked not to modify its array arguments (``mutates``), and each float64
array argument is passed as float32: ``float32_agrees`` (the result equals the float64 one to
1e-3 relative), ``float32_differs`` or ``float32_raises``. The torch twins of
:mod:`prefrl.torch.losses` get the same bad values as tensors.

``tests/data/fuzz_baseline.json`` records, per module, how many probes end in each outcome, and
the functions without an example. The bad outcomes must stay at zero in every module
(:func:`test_no_bad_answers`); the baseline is the record of what was measured (rewrite it with
``PREFRL_FUZZ_WRITE=1``).
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
BAD_OUTCOMES = ("unnamed", "accepted", "other", "hang", "silent_nan", "mutates",
                "float32_differs", "float32_raises")
BAD_OPTION = "no-such-option"

#: Values that look bad but have a documented meaning: ``(function, argument, kind)``.
DOCUMENTED = {
    # "inf runs max_iter steps" (the docstring of the target)
    ("prefrl.curriculum.softmax_pg_ascent", "target", "inf"),
    # a NaN sample is a seed without a value at that point: a gap in the plot
    ("prefrl.plotting.band", "samples", "nan"),
    # dual_clip=None is "no dual clip", the PPO default
    ("prefrl.losses.checks.check_ppo_options", "dual_clip", "none"),
}

#: String arguments that are free text or a path, not an option with a fixed set of values.
FREE_TEXT = {
    ("prefrl.losses.register_loss", "name"),
    ("prefrl.plotting.band", "label"),
    ("prefrl.registry.theorem", "name"),
    ("prefrl.registry.theorem", "claim"),
    ("prefrl.registry.theorem", "reference"),
    ("prefrl.testing.golden_vectors", "path"),
}


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


def _classify(fn, bound, arg, qualname, kind):
    try:
        result = _call(fn, bound)
    except (ValueError, TypeError) as exc:
        return "named" if arg in str(exc) else "unnamed"
    except _Timeout:
        return "hang"
    except Exception:
        return "other"
    if (qualname, arg, kind) in DOCUMENTED:
        return "documented"
    if kind == "none" and _default_is_none(fn, arg):
        return "default"
    if kind in ("empty", "shape"):
        return "silent_nan" if _has_nan(result) else "accepted_shape"
    return "accepted"


def _default_is_none(fn, arg):
    param = inspect.signature(fn).parameters.get(arg)
    return param is not None and param.default is None


def _has_nan(result):
    try:
        arr = np.asarray(result, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.isnan(arr).any())


def _array_probes(value):
    """An empty array and one with an extra entry on its last axis, of the value's dtype."""
    arr = np.asarray(value)
    empty = np.zeros((*arr.shape[:-1], 0), dtype=arr.dtype)
    pad = np.take(arr, [-1], axis=-1)
    return {"empty": empty, "shape": np.concatenate([arr, pad], axis=-1)}


def _snapshot(arguments):
    return {k: np.array(v, copy=True) for k, v in arguments.items()
            if isinstance(v, np.ndarray)}


def probe(qualname, fn):
    """The outcome of every probe of one function: ``[(arg, kind, outcome)]``."""
    call = valid_call(qualname, fn)
    if call is None:
        return None
    sig = inspect.signature(fn)
    try:
        base = sig.bind_partial(*call[0], **call[1])
    except TypeError:
        return None
    out = []
    before = _snapshot(base.arguments)
    try:
        _call(fn, base)
        changed = [k for k, v in before.items()
                   if not np.array_equal(v, base.arguments[k], equal_nan=True)]
        out.extend((k, "valid", "mutates") for k in changed)
    except Exception:
        pass
    for arg, value in list(base.arguments.items()):
        if isinstance(value, str):
            if (qualname, arg) in FREE_TEXT:
                continue
            bound = sig.bind_partial(*call[0], **call[1])
            bound.arguments[arg] = BAD_OPTION
            out.append((arg, "option", _classify(fn, bound, arg, qualname, "option")))
            continue
        if not _numeric(value):
            continue
        for kind in KINDS:
            if kind == "bool" and np.ndim(value) != 0:
                continue
            bound = sig.bind_partial(*call[0], **call[1])
            bound.arguments[arg] = _bad(value, kind)
            out.append((arg, kind, _classify(fn, bound, arg, qualname, kind)))
        arr = np.asarray(value)
        if arr.ndim >= 1:
            for kind, bad in _array_probes(arr).items():
                bound = sig.bind_partial(*call[0], **call[1])
                bound.arguments[arg] = bad
                out.append((arg, kind, _classify(fn, bound, arg, qualname, kind)))
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


def _to_tensor(value, torch):
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        return torch.tensor(arr, dtype=torch.float64)
    if arr.dtype.kind in "iub":
        return torch.tensor(arr)
    return value


def _bad_tensor(value, kind, torch):
    """A bad value for a tensor argument: NaN/inf in the first entry, a complex tensor, or the
    plain bad values (a string, None, a bool)."""
    if kind in ("str", "none", "bool"):
        return _bad(value, kind)
    arr = np.array(value, dtype=float)
    if kind == "complex":
        return torch.tensor(arr + 1j)
    arr.flat[0] = float("nan") if kind == "nan" else float("inf")
    return torch.tensor(arr)


def probe_torch(name, twin, numpy_fn, torch):
    """Probes of a torch twin with the valid call of its numpy twin, arrays as tensors."""
    call = valid_call(f"prefrl.losses.{name}", numpy_fn)
    if call is None:
        return None
    sig = inspect.signature(twin)
    try:
        base = sig.bind_partial(*call[0], **call[1])
    except TypeError:
        return None
    arrays = {k: v for k, v in base.arguments.items()
              if _numeric(v) and np.ndim(v) >= 1}
    for k, v in arrays.items():
        base.arguments[k] = _to_tensor(v, torch)
    out = []
    for arg, value in arrays.items():
        if np.asarray(value).dtype.kind != "f" and not isinstance(value, list):
            continue
        if np.asarray(value).dtype.kind not in "fi":
            continue
        for kind in ("nan", "inf", "str", "none", "complex"):
            if kind in ("nan", "inf", "complex") and np.asarray(value).dtype.kind != "f":
                continue
            bound = sig.bind_partial(*base.args, **base.kwargs)
            bound.arguments[arg] = _bad_tensor(value, kind, torch)
            out.append((arg, kind, _classify(twin, bound, arg, f"prefrl.torch.losses.{name}",
                                             kind)))
        if np.asarray(value).dtype.kind == "f":
            bound = sig.bind_partial(*base.args, **base.kwargs)
            try:
                want = _call(twin, bound)
                bound.arguments[arg] = bound.arguments[arg].to(torch.float32)
                got = _call(twin, bound)
                outcome = "float32_agrees" if _close_torch(got, want) else "float32_differs"
            except Exception:
                outcome = "float32_raises"
            out.append((arg, "float32", outcome))
    return out


def _close_torch(a, b):
    def numbers(x):
        if isinstance(x, tuple):
            return [numbers(y) for y in x]
        return x.detach().double().numpy() if hasattr(x, "detach") else x
    return _close(numbers(a), numbers(b)) if not isinstance(a, tuple) else all(
        _close(numbers(x), numbers(y)) for x, y in zip(a, b))


@functools.cache
def measure_torch():
    """Counts of each outcome over the torch twins of :mod:`prefrl.torch.losses`."""
    torch = pytest.importorskip("torch")
    import prefrl.losses as np_losses
    import prefrl.torch.losses as twins

    counts, missing = collections.Counter(), []
    for name in twins.__all__:
        twin, numpy_fn = getattr(twins, name), getattr(np_losses, name, None)
        if not callable(twin) or not inspect.isfunction(numpy_fn):
            continue
        results = probe_torch(name, twin, numpy_fn, torch)
        if results is None:
            missing.append(name)
            continue
        counts.update(outcome for _, _, outcome in results)
    return dict(sorted(counts.items())), sorted(missing)


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
    doc = {"counts": counts, "without_example": missing}
    try:
        doc["torch"] = dict(zip(("counts", "without_example"), measure_torch()))
    except pytest.skip.Exception:
        doc["torch"] = _baseline().get("torch")
    BASELINE.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def test_every_public_function_has_a_runnable_example():
    """A new public function must show a valid call in its docstring example."""
    _, missing = measure()
    new = sorted(set(missing) - set(_baseline()["without_example"]))
    assert not new, f"public functions without a valid call in their example: {new}"


def _bad_outcomes(counts):
    return [f"{module}: {outcome} {c[outcome]}" for module, c in counts.items()
            for outcome in BAD_OUTCOMES if c.get(outcome, 0)]


def test_no_bad_answers():
    """Every bad value gets a ValueError/TypeError naming its argument, in every module: no
    unnamed error, no silently accepted value, no other exception, no hang, no NaN from an
    empty or mis-shaped array, no mutated input, float32 equal to float64."""
    counts, _ = measure()
    bad = _bad_outcomes(counts)
    assert not bad, "; ".join(bad)


def test_torch_twins_answer_bad_inputs():
    """The torch twins of prefrl.torch.losses, called with tensors: the same bar."""
    counts, missing = measure_torch()
    bad = [f"{outcome} {counts[outcome]}" for outcome in BAD_OUTCOMES if counts.get(outcome)]
    assert not bad, "; ".join(bad)
    assert counts.get("named", 0) > 500 and counts.get("float32_agrees", 0) > 100
    assert set(missing) <= {"cdpo"}


def test_the_fuzz_probe_classifies_correctly():
    """The harness itself: a function that names its argument, one that does not, one that
    accepts anything, one that ignores an unknown option, one that modifies its input."""
    def good(x):
        """>>> good(1.0)"""
        if not np.all(np.isfinite(np.asarray(x, dtype=float))):
            raise ValueError("x must be finite")
        return x

    def silent(x):
        """>>> silent(1.0)"""
        return x

    def any_mode(x, mode="a"):
        """>>> any_mode(1.0, mode="b")"""
        if not np.isfinite(x):
            raise ValueError("x must be finite")
        return x

    def mutating(x):
        """>>> mutating(np.array([1.0, 2.0]))"""
        x = np.asarray(x)
        if not np.all(np.isfinite(x)):
            raise ValueError("x must be finite")
        x *= 2
        return x

    assert {o for _, k, o in probe("m.good", good) if k in ("nan", "inf")} == {"named"}
    assert {o for _, k, o in probe("m.silent", silent)} == {"accepted"}
    assert ("mode", "option", "accepted") in probe("m.any_mode", any_mode)
    assert ("x", "valid", "mutates") in probe("m.mutating", mutating)


def _model_instances():
    """``(qualname, instance)`` of every public class that is not a result, built by the first
    example of its docstring."""
    from prefrl.results import Result

    seen = set()
    for mod in _public_modules():
        for attr in getattr(mod, "__all__", ()):
            cls = getattr(mod, attr, None)
            if not inspect.isclass(cls) or id(cls) in seen or issubclass(cls, (Result, Exception)):
                continue
            seen.add(id(cls))
            tests = doctest.DocTestFinder(recurse=False).find(cls, attr, globs={})
            namespace = dict(vars(importlib.import_module(cls.__module__)), np=np)
            for example in tests[0].examples if tests else ():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(example.source, "<example>", "exec"), namespace)
                except Exception:
                    continue
            for value in namespace.values():
                if type(value) is cls:
                    yield f"{mod.__name__}.{attr}", value
                    break


def test_model_objects_own_read_only_arrays():
    """A model object (an MDP, an objective, a game, an optimiser, ...) keeps read-only copies of
    its arrays: mutating the caller's array afterwards, or the attribute, changes nothing."""
    checked, writable = 0, []
    for qualname, obj in _model_instances():
        fields = vars(obj) if hasattr(obj, "__dict__") else {}
        for name, value in fields.items():
            if isinstance(value, np.ndarray) and not name.startswith("_"):
                checked += 1
                if value.flags.writeable:
                    writable.append(f"{qualname}.{name}")
    assert not writable, f"writable arrays in model objects: {writable}"
    assert checked >= 20
