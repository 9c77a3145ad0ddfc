"""The records behind ``prefrl reproduce``: a store that is the union of the latest results, the
Markdown report rendered from it, and the one-screen summary.

A run of some figures or checks replaces only their rows: ``records.json`` in the output folder
maps each row's name to its latest record, stamped with the commit that produced it, and
``REPORT.md`` is rendered from the whole store. Rows of figures or checks that no longer exist are
dropped when the report is written. Nothing here depends on the clock: two runs of the same commit
write the same bytes (timings go to ``timings.json``, which git ignores).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

from .registry import STATUSES

__all__ = [
    "RECORDS_FILE",
    "REPORT_FILE",
    "TIMINGS_FILE",
    "commit_stamp",
    "format_value",
    "headline",
    "load_store",
    "render_report",
    "status_counts",
    "summary_lines",
    "update_store",
]

RECORDS_FILE = "records.json"
REPORT_FILE = "REPORT.md"
TIMINGS_FILE = "timings.json"


#: The paths whose code produces the figures and checks: the commit stamp is the last commit that
#: changed one of them, so committing figures, docs or notes does not change it.
CODE_PATHS = ("prefrl", "experiments", "proofs_check")


def commit_stamp(repo: Path | None) -> str:
    """The short hash of the last commit that changed the code, ``+`` when the code has changes.

    The code is :data:`CODE_PATHS`; commits that touch only figures, docs or notes do not move
    the stamp, so a fresh clone that reproduces the committed figures writes the same bytes.
    ``"unknown"`` outside a git checkout (an installed wheel).
    """
    if repo is None or not (repo / ".git").exists():
        return "unknown"
    try:
        last = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h", "--abbrev=10",
                               "--", *CODE_PATHS],
                              capture_output=True, text=True, check=True, timeout=10).stdout
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--",
             *CODE_PATHS],
            capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not last.strip():
        return "unknown"
    return last.strip() + ("+" if dirty.strip() else "")


def format_value(x, width: int = 28) -> str:
    """A short rendering of a record's value (4 significant digits, lists and dicts shortened)."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        s = str(x)
    elif isinstance(x, float):
        s = f"{x:.4g}"
    elif isinstance(x, (list, tuple)):
        s = "[" + ", ".join(format_value(v, 12) for v in x) + "]"
    elif isinstance(x, dict):
        s = ", ".join(f"{k}={format_value(v, 24)}" for k, v in x.items())
    else:
        s = str(x)
    return s if len(s) <= width else s[: width - 3] + "..."


def load_store(out: Path) -> dict[str, dict]:
    """The records of ``out/records.json`` by name (empty when there is none or it is unreadable)."""
    path = Path(out) / RECORDS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, list):
        return {}
    return {r["name"]: r for r in data if isinstance(r, dict) and "name" in r}


def _owner(record: dict) -> str:
    """The figure or check a record belongs to (a figure's rows are ``figure/claim``)."""
    return record["name"].split("/", 1)[0] if record["kind"] == "figure" else record["name"]


def update_store(out: Path, records: list[dict], ran: set[str], known: set[str]) -> list[dict]:
    """Replace the rows of the figures and checks in ``ran`` by ``records``; keep the others.

    Rows whose figure or check is not in ``known`` (removed or renamed) are dropped. Writes
    ``out/records.json`` and returns the whole store, sorted (figures first, then checks).
    """
    store = {n: r for n, r in load_store(out).items() if _owner(r) not in ran}
    store.update({r["name"]: r for r in records})
    rows = sorted((r for r in store.values() if _owner(r) in known),
                  key=lambda r: (r["kind"] != "figure", r["name"]))
    (Path(out) / RECORDS_FILE).write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def status_counts(records: list[dict]) -> Counter:
    """How many rows hold, by status (``"unstated"`` for rows without one)."""
    return Counter(r.get("status") or "unstated" for r in records if r["holds"])


def _headline(records: list[dict]) -> str:
    n_ok = sum(r["holds"] for r in records)
    counts = status_counts(records)
    parts = [f"{counts[s]} {s}" for s in (*STATUSES, "unstated") if counts[s]]
    return f"{n_ok} of {len(records)} claims hold" + (f": {', '.join(parts)}" if parts else "")


def _evidence(r: dict) -> str:
    status = r.get("status") or "unstated"
    n = r.get("instances") or (r.get("n_instances") if r["kind"] == "theorem" else None)
    return f"{status} ({n})" if status == "checked" and n else status


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_report(records: list[dict], title: str) -> str:
    """The Markdown report: the headline by status, then one table row per record."""
    lines = [
        f"# {title}",
        "",
        _headline(records) + ".",
        "",
        "Evidence: certified (an exact certificate or an identity to rounding), checked (N random "
        "instances), argued (a lemma whose premises are checked), measured (a tendency on a stated "
        "instance), qualitative. Each row names the commit that produced it and the mode of the "
        "run.",
        "",
        "| name | claim | evidence | ours | paper's | holds | commit |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        commit = r.get("commit", "unknown") + (" (quick)" if r.get("quick") else "")
        lines.append(
            f"| {_md(r['name'])} | {_md(r['claim'])} | {_evidence(r)} | "
            f"{_md(format_value(r['ours'], 80))} | {_md(format_value(r['paper'], 80))} | "
            f"{'yes' if r['holds'] else '**NO**'} | {commit} |"
        )
    return "\n".join(lines) + "\n"


def summary_lines(records: list[dict]) -> list[tuple[str, str, str]]:
    """One ``(group, held/total, statuses)`` row per figure, and per module of theorem checks."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        key = (f"figure {_owner(r)}" if r["kind"] == "figure"
               else f"checks {r['name'].split('.', 1)[0]}")
        groups[key].append(r)
    rows = []
    for key in sorted(groups, key=lambda k: (not k.startswith("figure"), k)):
        rs = groups[key]
        c = Counter(r.get("status") or "unstated" for r in rs)
        rows.append((key, f"{sum(r['holds'] for r in rs)}/{len(rs)}",
                     ", ".join(f"{c[s]} {s}" for s in (*STATUSES, "unstated") if c[s])))
    return rows


def headline(records: list[dict]) -> str:
    """``"N of M claims hold: a certified, b checked, ..."``."""
    return _headline(records)
