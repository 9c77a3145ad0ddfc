"""Registry of paper figures (``experiments/``) and theorem checks (``proofs_check/``).

Adding a figure or a theorem is one module, found automatically:

**An experiment** is a module ``experiments/NAME.py`` (any name not starting with ``_``) that defines

- ``TITLE`` (str): what the figure shows, in one line;
- ``PAPER`` (str): the paper, and the figure/table/section reproduced;
- ``run(quick: bool, seed: int) -> dict``: computes every number (JSON-serialisable; numpy arrays are
  fine). ``quick=True`` must finish in seconds and is run by the test suite;
- ``claims(numbers: dict) -> list[Claim]``: the headline claims, each with our number, the paper's
  number (or ``None``), and whether the claim holds;
- ``plot(numbers: dict, path: pathlib.Path) -> None``: writes the PNG.

**A theorem check** is a function in a module ``proofs_check/NAME.py`` decorated with
:func:`theorem`: it receives one instance (drawn by the ``draw`` function given to the decorator
from a numpy Generator, or by a hypothesis strategy in the tests) and returns the violation of the
claim on that instance (0 when it holds exactly). The runner keeps the worst violation over many
instances and compares it with the tolerance.

- records: :class:`Claim` (one statement of a figure), :class:`Theorem` (a registered check),
  :class:`CheckResult` (its outcome); records, not solver results, so they do not subclass
  :class:`prefrl.results.Result`;
- :func:`theorem` (the decorator), :func:`run_theorem`, :func:`discover_theorems`,
  :func:`discover_experiments`, :func:`to_jsonable`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from ._validation import as_rng, check_integer

__all__ = [
    "STATUSES",
    "CheckResult",
    "Claim",
    "Theorem",
    "discover_experiments",
    "discover_theorems",
    "run_theorem",
    "theorem",
    "to_jsonable",
]


#: The kinds of evidence a claim or a theorem check rests on, strongest first.
#:
#: - ``certified``: an exact certificate (an LP's Farkas vector, a closed form), or an identity
#:   checked to rounding on the stated instance;
#: - ``checked``: a property checked on ``instances`` random instances (none violating it);
#: - ``argued``: a written lemma whose premises are checked numerically; the conclusion is not;
#: - ``measured``: an empirical tendency on a stated instance, with its ``sensitivity`` (what
#:   changes it, and by how much, when known);
#: - ``qualitative``: a description of a picture or a trend, with no threshold of its own.
STATUSES = ("certified", "checked", "argued", "measured", "qualitative")


def _check_status(status, instances, sensitivity, owner):
    if status is None:  # not stated yet; tests/test_claims_status.py requires every claim to state it
        return
    if status not in STATUSES:
        raise ValueError(f"{owner}: status must be one of {', '.join(STATUSES)}, got {status!r}")
    if status == "checked" and (isinstance(instances, bool) or not isinstance(instances, int)
                                or instances < 1):
        raise ValueError(f"{owner}: a 'checked' claim needs instances, the number of random "
                         f"instances checked (an int >= 1), got {instances!r}")
    if status == "measured" and not (isinstance(sensitivity, str) and sensitivity.strip()):
        raise ValueError(f"{owner}: a 'measured' claim needs sensitivity, a sentence on what "
                         "changes the measurement (instance, seed, sample size)")


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a figure: our number, the paper's number, whether it holds, and
    what kind of evidence it is.

    Parameters
    ----------
    name : str
        Short identifier, unique within the experiment (e.g. ``"ipo_tau=0.1"``).
    claim : str
        The statement in words.
    ours : Any
        Our computed number(s), JSON-serialisable.
    holds : bool
        Whether the claim holds for our numbers.
    paper : Any, optional
        The paper's reported number, or ``None`` when the paper gives none.
    status : str
        One of :data:`STATUSES`: ``"certified"``, ``"checked"``, ``"argued"``, ``"measured"``,
        ``"qualitative"`` (every claim of a figure states one; the report shows ``None`` as
        "unstated").
    instances : int, optional
        For ``"checked"``: how many random instances were checked (required).
    sensitivity : str, optional
        For ``"measured"``: what the measurement depends on (required).

    Raises
    ------
    ValueError
        If ``status`` is not one of :data:`STATUSES`, a ``"checked"`` claim has no ``instances``
        or a ``"measured"`` one no ``sensitivity``.

    Examples
    --------
    >>> Claim("half", "sigmoid(0) = 1/2", 0.5, True, paper=0.5, status="certified").status
    'certified'
    >>> Claim("x", "a trend", 1.0, True, status="measured")
    Traceback (most recent call last):
    ...
    ValueError: claim 'x': a 'measured' claim needs sensitivity, a sentence on what changes the measurement (instance, seed, sample size)
    """

    name: str
    claim: str
    ours: Any
    holds: bool
    paper: Any = None
    status: str | None = None
    instances: int | None = None
    sensitivity: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "holds", bool(self.holds))
        _check_status(self.status, self.instances, self.sensitivity, f"claim {self.name!r}")


@dataclass(frozen=True)
class Theorem:
    """A registered theorem check (see :func:`theorem`)."""

    name: str
    claim: str
    reference: str
    draw: Callable[[np.random.Generator], Any]
    violation: Callable[[Any], float]
    tolerance: float
    module: str = ""
    status: str = "checked"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of running a theorem check on random instances.

    ``holds`` is ``worst_violation <= tolerance``.
    """

    name: str
    claim: str
    reference: str
    worst_violation: float
    tolerance: float
    n_instances: int
    worst_instance: str = field(default="", repr=False)
    status: str = "checked"

    @property
    def holds(self) -> bool:
        """Whether the worst violation found is within the tolerance."""
        return bool(np.isfinite(self.worst_violation) and self.worst_violation <= self.tolerance)


_THEOREMS: dict[str, Theorem] = {}


def theorem(name: str, *, claim: str, reference: str, draw: Callable, tolerance: float = 1e-9,
            status: str = "checked"):
    r"""Register a theorem check.

    The decorated function maps one instance to the violation of the claim on it (a float >= 0; 0
    when the claim holds exactly). It is returned unchanged, so tests can call it on instances drawn
    by hypothesis.

    Parameters
    ----------
    name : str
        Unique name, ``"module.short_name"`` by convention.
    claim : str
        The statement, in words.
    reference : str
        Paper and theorem/equation number.
    draw : callable
        ``draw(rng) -> instance``; must sometimes produce degenerate instances (ties, zeros, ...).
    tolerance : float
        Largest violation that still counts as "holds" (numerical error of the check).
    status : {"checked", "argued", "certified"}
        What a pass shows: ``"checked"`` (default), the claim holds on every random instance drawn;
        ``"argued"``, the check verifies the premises of a written lemma, not its conclusion;
        ``"certified"``, each instance carries an exact certificate of a statement about that
        instance only (see :data:`STATUSES`).

    Examples
    --------
    >>> @theorem("doc.square_nonneg", claim="x^2 >= 0", reference="folklore",
    ...          draw=lambda rng: rng.normal())
    ... def square_nonneg(x):
    ...     return max(0.0, -x * x)
    >>> run_theorem("doc.square_nonneg", n_instances=10, seed=0).holds
    True
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if status not in ("checked", "argued", "certified"):
        raise ValueError(f"status must be 'checked', 'argued' or 'certified', got {status!r}")

    def deco(fn):
        _THEOREMS[name] = Theorem(
            name=name,
            claim=claim,
            reference=reference,
            draw=draw,
            violation=fn,
            tolerance=float(tolerance),
            module=getattr(fn, "__module__", ""),
            status=status,
        )
        fn.theorem = _THEOREMS[name]
        return fn

    return deco


def run_theorem(name_or_theorem, n_instances: int = 100, seed: int = 0) -> CheckResult:
    """Run a theorem check on ``n_instances`` instances drawn from ``seed``; keep the worst violation.

    A violation that is NaN, or an exception raised by the check, counts as an infinite violation.

    Examples
    --------
    >>> import prefrl.proofs_check.core  # registers the core theorems
    >>> run_theorem("core.gibbs_maximises_regularised_objective", n_instances=5).holds
    True
    """
    if isinstance(name_or_theorem, str):
        if name_or_theorem not in _THEOREMS:
            raise ValueError(f"name_or_theorem {name_or_theorem!r} is not a registered theorem "
                             "(import its proofs_check module first)")
        t = _THEOREMS[name_or_theorem]
    elif isinstance(name_or_theorem, Theorem):
        t = name_or_theorem
    else:
        raise TypeError("name_or_theorem must be a theorem's name or a registered theorem, got "
                        f"{type(name_or_theorem).__name__}")
    n_instances = check_integer(n_instances, "n_instances", minimum=1)
    rng = as_rng(seed)
    worst, worst_inst = -np.inf, ""
    for _ in range(n_instances):
        inst = t.draw(rng)
        try:
            v = float(t.violation(inst))
        except Exception as exc:  # a crash on a valid instance is a failed check
            v, inst = np.inf, {"instance": inst, "error": repr(exc)}
        if np.isnan(v):
            v = np.inf
        if v > worst:
            worst, worst_inst = v, inst
    return CheckResult(
        name=t.name,
        claim=t.claim,
        reference=t.reference,
        worst_violation=float(max(worst, 0.0)),
        tolerance=t.tolerance,
        n_instances=n_instances,
        worst_instance=_short_repr(worst_inst),
        status=t.status,
    )


def _short_repr(x, limit: int = 2000) -> str:
    with np.printoptions(precision=6, threshold=50):
        s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


def _import_all(package: str) -> list[ModuleType]:
    pkg = importlib.import_module(package)
    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{package}.{info.name}"))
    return mods


def discover_theorems(package: str = "prefrl.proofs_check") -> dict[str, Theorem]:
    """Import every module of ``package`` and return the registered theorems, by name.

    Examples
    --------
    >>> thms = discover_theorems()
    >>> "core.kl_nonnegative_zero_iff_equal" in thms
    True
    """
    for mod in _import_all(package):
        del mod
    return dict(sorted(_THEOREMS.items()))


_REQUIRED = ("TITLE", "PAPER", "run", "claims", "plot")


def discover_experiments(package: str = "prefrl.experiments") -> dict[str, ModuleType]:
    """Import every module of ``package`` that defines an experiment; return them by name.

    Raises
    ------
    ValueError
        If a module lacks one of ``TITLE``, ``PAPER``, ``run``, ``claims``, ``plot``.

    Examples
    --------
    >>> exps = discover_experiments()
    >>> exps["core_gibbs_frontier"].PAPER.startswith("Rafailov")
    True
    """
    out = {}
    for mod in _import_all(package):
        missing = [a for a in _REQUIRED if not hasattr(mod, a)]
        if missing:
            raise ValueError(f"experiment module {mod.__name__} lacks {', '.join(missing)}")
        out[mod.__name__.rsplit(".", 1)[-1]] = mod
    return out


def to_jsonable(x):
    """Convert numpy scalars and arrays (nested in dicts, lists, tuples) to JSON-serialisable values.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"``.

    Examples
    --------
    >>> to_jsonable({"a": np.arange(2), "b": np.float64(np.inf)})
    {'a': [0, 1], 'b': 'inf'}
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if np.isnan(x):
            return "nan"
        if np.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, Claim):
        return to_jsonable(x.__dict__)
    return x
