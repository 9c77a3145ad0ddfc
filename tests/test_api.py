"""The public API: every object documented once, every result on the one base, every module mapped."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import prefrl
from prefrl.results import Result

ROOT = Path(prefrl.__file__).resolve().parent

# Public modules whose __all__ is documented by the API pages (automodule with :members:).
_SKIP = ("prefrl.torch", "prefrl.experiments", "prefrl.proofs_check")


def _public_modules():
    out = []
    for info in pkgutil.walk_packages(prefrl.__path__, "prefrl."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if name.startswith(_SKIP):
            continue
        out.append(importlib.import_module(name))
    return out


def test_every_public_object_is_in_one_all():
    owners: dict[int, list[str]] = {}
    objects = {}
    for mod in [prefrl, *_public_modules()]:
        for n in getattr(mod, "__all__", []):
            obj = getattr(mod, n)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            owners.setdefault(id(obj), []).append(f"{mod.__name__}.{n}")
            objects[id(obj)] = obj
    twice = {v[0]: v for v in owners.values() if len(v) > 1}
    assert not twice, twice


def _result_like_dataclasses():
    for mod in [prefrl, *_public_modules()]:
        for n in getattr(mod, "__all__", []):
            obj = getattr(mod, n)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                yield f"{mod.__name__}.{n}", obj


def test_results_with_iterations_have_converged_and_certificate():
    seen = False
    for name, cls in _result_like_dataclasses():
        if not issubclass(cls, Result):
            continue
        fields = {f.name for f in dataclasses.fields(cls)}
        if "iterations" in fields:
            seen = True
            for attr in ("converged", "certificate"):
                assert attr in fields or isinstance(getattr(cls, attr, None), property), (name, attr)
    assert seen


@pytest.mark.parametrize("path", sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_docstring_and_at_most_600_lines(path):
    text = path.read_text()
    doc = ast.get_docstring(ast.parse(text))
    assert doc, f"{path} has no module docstring"
    n = text.count("\n")
    assert n <= 600 or "Over 600 lines" in doc, f"{path}: {n} lines, and the docstring does not say why"
