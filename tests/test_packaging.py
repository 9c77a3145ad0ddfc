"""The package's structure: what is installed, and an import graph that only goes downward."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_installed():
    cfg = _pyproject()["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "prefrl").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    found |= {"prefrl.experiments", "prefrl.proofs_check"}
    assert listed == found
    assert cfg["package-dir"] == {"prefrl.experiments": "experiments",
                                  "prefrl.proofs_check": "proofs_check"}


def test_no_top_level_experiments_or_proofs_check(tmp_path):
    import prefrl.experiments
    import prefrl.proofs_check

    assert Path(prefrl.experiments.__file__).parent == ROOT / "experiments"
    assert Path(prefrl.proofs_check.__file__).parent == ROOT / "proofs_check"
    # In a fresh interpreter outside the repository (the test session may have the repository on
    # sys.path), only prefrl is installed: no top-level experiments or proofs_check.
    code = ("import importlib.util as u; "
            "print([n for n in ('experiments', 'proofs_check') if u.find_spec(n)])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True, env={k: v for k, v in os.environ.items()
                                                     if k != "PYTHONPATH"})
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------
# The import graph
# ----------------------------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in ("experiments", "proofs_check"):
        parts = ["prefrl", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources():
    for folder in ("prefrl", "experiments", "proofs_check"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" not in p.parts:
                yield p


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """prefrl modules imported by ``path``, at any depth (function-level imports count too)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # "from pkg import name": the submodule pkg.name if there is one, else pkg itself
            names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem
                     for a in node.names]
        else:
            continue
        for n in names:
            # the longest prefix that is a module of ours
            while n and n not in modules:
                n = n.rpartition(".")[0]
            if n and n != module:
                out.add(n)
    return out


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in _sources()}
    modules = set(files)
    return {m: _imports(p, m, modules) for m, p in files.items()}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package_level(graph):
    """The graph between top-level parts of prefrl (prefrl.X), package __init__ edges ignored."""
    def top(m):
        parts = m.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 else m

    out = {}
    for m, deps in graph.items():
        a = top(m)
        for d in deps:
            b = top(d)
            if a != b and b != "prefrl":
                out.setdefault(a, set()).add(b)
    return out


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert _cycles(graph) == []
    assert _cycles(_package_level(graph)) == []


def test_experiments_and_checks_do_not_import_each_other():
    graph = import_graph()
    for m, deps in graph.items():
        for a, b in (("prefrl.experiments", "prefrl.proofs_check"),
                     ("prefrl.proofs_check", "prefrl.experiments")):
            if m.startswith(a):
                assert not {d for d in deps if d.startswith(b)}, m


def test_library_does_not_import_experiments_or_checks():
    graph = import_graph()
    for m, deps in graph.items():
        if m.startswith(("prefrl.experiments", "prefrl.proofs_check")) or m in (
            "prefrl.cli", "prefrl.registry"
        ):
            continue
        bad = {d for d in deps if d.startswith(("prefrl.experiments", "prefrl.proofs_check"))}
        assert not bad, (m, bad)
