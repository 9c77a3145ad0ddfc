"""The ``prefrl`` command: reproduce the papers' figures and run the theorem checks.

::

    prefrl list [--json]
    prefrl check [NAME ...] [--instances N] [--seed S] [--json]
    prefrl reproduce [NAME ...] [--quick] [--jobs N] [--out DIR] [--seed S] [--json]
    prefrl validate MODULE:FUNCTION --loss NAME [--token-level] [--backend B] [options]

``reproduce`` runs every figure of ``experiments/`` (writing ``NAME.png`` and ``NAME.json``) and
every theorem check of ``proofs_check/``, then prints a table (name, claim, ours, paper's, holds) and
writes it to ``REPORT.md`` in the output folder. The exit status is 1 when any claim fails. A full
run writes into the repository's ``paper_figures/``; ``--quick`` writes into a temporary folder
unless ``--out`` is given, so quick pictures never overwrite the committed ones.

``--jobs`` runs the figures through :mod:`joblib`; inside ``joblib.parallel_config(backend=...)``
(for example Dask's or Ray's joblib backend) the same code runs on a cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

__all__ = ["main"]

#: Number of random instances per theorem in a full check, and in ``--quick`` mode.
FULL_INSTANCES = 200
QUICK_INSTANCES = 25


def _default_out() -> Path:
    """The repository's ``paper_figures/`` (beside ``experiments/``), else ``./paper_figures``."""
    try:
        import prefrl.experiments

        # prefrl.experiments is installed from the repository's top-level experiments/ folder.
        repo = Path(prefrl.experiments.__file__).resolve().parent.parent
        if (repo / "paper_figures").is_dir():
            return repo / "paper_figures"
    except ImportError:
        pass
    return Path.cwd() / "paper_figures"


def _select(available: dict, names: list[str], kind: str) -> list[str]:
    if not names:
        return list(available)
    chosen = []
    for n in names:
        matches = [a for a in available if a == n or a.startswith(n + ".") or a.startswith(n)]
        if not matches:
            raise SystemExit(f"prefrl: no {kind} named {n!r}; see `prefrl list`")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def _fmt(x, width: int = 28) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        s = f"{x:.4g}"
    elif isinstance(x, (list, tuple)):
        s = "[" + ", ".join(_fmt(v, 12) for v in x) + "]"
    elif isinstance(x, dict):
        s = ", ".join(f"{k}={_fmt(v, 24)}" for k, v in x.items())
    else:
        s = str(x)
    return s if len(s) <= width else s[: width - 3] + "..."


def run_experiment(name: str, quick: bool, seed: int, out: str) -> list[dict]:
    """Run one experiment module; write its PNG and JSON; return one record per claim.

    Runs in a worker process under ``--jobs``, so it imports what it needs and never raises: a
    crash becomes a failed record carrying the traceback.
    """
    import matplotlib

    matplotlib.use("Agg")
    from prefrl.registry import discover_experiments, to_jsonable

    mod = discover_experiments()[name]
    out_dir = Path(out)
    t0 = time.perf_counter()
    try:
        numbers = mod.run(quick=quick, seed=seed)
        claims = list(mod.claims(numbers))
        mod.plot(numbers, out_dir / f"{name}.png")
    except Exception:
        return [
            {
                "kind": "figure",
                "name": name,
                "claim": "the experiment runs",
                "holds": False,
                "ours": None,
                "paper": None,
                "error": traceback.format_exc(),
            }
        ]
    seconds = time.perf_counter() - t0
    record = {
        "name": name,
        "title": mod.TITLE,
        "paper": mod.PAPER,
        "quick": quick,
        "seed": seed,
        "seconds": round(seconds, 3),
        "claims": [c.__dict__ for c in claims],
        "numbers": numbers,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(to_jsonable(record), indent=1) + "\n")
    return [
        {
            "kind": "figure",
            "name": f"{name}/{c.name}",
            "claim": c.claim,
            "holds": c.holds,
            "ours": to_jsonable(c.ours),
            "paper": to_jsonable(c.paper),
            "source": f"experiments/{name}.py",
            "reference": mod.PAPER,
        }
        for c in claims
    ]


def run_check(name: str, n_instances: int, seed: int) -> dict:
    """Run one registered theorem check and return its record."""
    from prefrl.registry import discover_theorems, run_theorem

    t = discover_theorems()[name]
    r = run_theorem(t, n_instances=n_instances, seed=seed)
    rec = {
        "kind": "theorem",
        "name": r.name,
        "claim": r.claim,
        "holds": r.holds,
        "ours": r.worst_violation,
        "paper": None,
        "tolerance": r.tolerance,
        "n_instances": r.n_instances,
        "reference": r.reference,
        "source": t.module.removeprefix("prefrl.").replace(".", "/") + ".py",
    }
    if not r.holds:
        rec["worst_instance"] = r.worst_instance
    return rec


def _progress(total: int, label: str, quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        disable=quiet,
        transient=False,
        console=_console(stderr=True),
    )


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=max(100, int(os.environ.get("COLUMNS", 120))))


def _run_tasks(tasks, jobs: int, label: str, quiet: bool):
    """Run ``(fn, args)`` tasks with joblib, updating a progress bar as they finish."""
    from joblib import Parallel, delayed

    results = []
    with _progress(len(tasks), label, quiet) as progress:
        bar = progress.add_task("", total=len(tasks))
        if jobs == 1:
            for fn, args in tasks:
                progress.update(bar, description=str(args[0]))
                results.append(fn(*args))
                progress.advance(bar)
        else:
            gen = Parallel(n_jobs=jobs, return_as="generator_unordered")(
                delayed(fn)(*args) for fn, args in tasks
            )
            for res in gen:
                results.append(res)
                progress.advance(bar)
    return results


def _md(text: str) -> str:
    """Escape a table cell for Markdown."""
    return text.replace("|", "\\|")


def _table(records: list[dict], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "| name | claim | ours | paper's | holds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in records:
        claim = r["claim"].replace("|", "\\|")
        lines.append(
            f"| {r['name']} | {claim} | {_md(_fmt(r['ours'], 80))} | {_md(_fmt(r['paper'], 80))} | "
            f"{'yes' if r['holds'] else '**NO**'} |"
        )
    n_ok = sum(r["holds"] for r in records)
    lines += ["", f"{n_ok} of {len(records)} claims hold."]
    return "\n".join(lines) + "\n"


def _print_table(records: list[dict], title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in ("name", "claim", "ours", "paper's", "holds"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(
            escape(r["name"]),
            escape(r["claim"]),
            escape(_fmt(r["ours"])),
            escape(_fmt(r["paper"])),
            "[green]yes[/]" if r["holds"] else "[bold red]NO[/]",
        )
    console = _console()
    console.print(table)
    n_ok = sum(r["holds"] for r in records)
    console.print(f"{n_ok} of {len(records)} claims hold.")
    for r in records:
        if not r["holds"] and r.get("error"):
            console.print(
                f"[red]{r['name']} failed:[/]\n{r['error']}", markup=True, highlight=False
            )


def cmd_list(args) -> int:
    from prefrl.registry import discover_experiments, discover_theorems

    exps = discover_experiments()
    thms = discover_theorems()
    records = [
        {"kind": "figure", "name": n, "title": m.TITLE, "paper": m.PAPER} for n, m in exps.items()
    ] + [
        {"kind": "theorem", "name": n, "title": t.claim, "paper": t.reference}
        for n, t in thms.items()
    ]
    if args.json:
        print(json.dumps(records, indent=1))
        return 0
    from rich.table import Table

    table = Table(title=f"prefrl: {len(exps)} figures, {len(thms)} theorem checks")
    for col in ("kind", "name", "what", "paper"):
        table.add_column(col, overflow="fold")
    from rich.markup import escape

    for r in records:
        table.add_row(*(escape(r[k]) for k in ("kind", "name", "title", "paper")))
    _console().print(table)
    return 0


def _checks(names, n_instances, seed, jobs, quiet):
    from prefrl.registry import discover_theorems

    chosen = _select(discover_theorems(), names, "theorem check")
    tasks = [(run_check, (n, n_instances, seed)) for n in chosen]
    recs = _run_tasks(tasks, jobs, "theorems", quiet)
    return sorted(recs, key=lambda r: r["name"])


def cmd_check(args) -> int:
    n = args.instances or (QUICK_INSTANCES if args.quick else FULL_INSTANCES)
    records = _checks(args.names, n, args.seed, args.jobs, args.json)
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        _print_table(records, f"Theorem checks ({n} random instances each)")
    return 0 if all(r["holds"] for r in records) else 1


def cmd_reproduce(args) -> int:
    from prefrl.registry import discover_experiments, discover_theorems

    exps = discover_experiments()
    thms = discover_theorems()
    if args.names:
        everything = {**exps, **thms}
        chosen = _select(everything, args.names, "figure or theorem check")
        exp_names = [n for n in chosen if n in exps]
        thm_names = [n for n in chosen if n in thms]
    else:
        exp_names, thm_names = list(exps), list(thms)
    if args.out:
        out = Path(args.out)
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="prefrl-quick-"))
    else:
        out = _default_out()
    out.mkdir(parents=True, exist_ok=True)
    quiet = args.json
    tasks = [(run_experiment, (n, args.quick, args.seed, str(out))) for n in exp_names]
    fig_records = [r for recs in _run_tasks(tasks, args.jobs, "figures", quiet) for r in recs]
    fig_records.sort(key=lambda r: r["name"])
    n = QUICK_INSTANCES if args.quick else FULL_INSTANCES
    thm_records = _checks(thm_names, n, args.seed, args.jobs, quiet) if thm_names else []
    records = fig_records + thm_records
    mode = "quick" if args.quick else "full"
    report = _table(records, f"prefrl reproduce ({mode} mode, seed {args.seed})")
    (out / "REPORT.md").write_text(report)
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        _print_table(records, f"prefrl reproduce ({mode} mode)")
        _console().print(f"Figures, numbers and REPORT.md written to {out}")
    return 0 if all(r["holds"] for r in records) else 1


def build_parser() -> argparse.ArgumentParser:
    from prefrl import __version__

    p = argparse.ArgumentParser(
        prog="prefrl",
        description="Reproduce the papers' figures and check the theorems of preference-based RL.",
    )
    p.add_argument("--version", action="version", version=f"prefrl {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("list", help="list the figures and theorem checks")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("check", help="run the theorem checks on random instances")
    sp.add_argument("names", nargs="*", help="checks to run (a name or a module prefix)")
    sp.add_argument("--instances", type=int, default=None, help="random instances per theorem")
    sp.add_argument("--quick", action="store_true", help=f"{QUICK_INSTANCES} instances each")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib)")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("reproduce", help="run every figure and theorem check")
    sp.add_argument("names", nargs="*", help="figures or checks to run (default: all)")
    sp.add_argument("--quick", action="store_true", help="seconds-long versions")
    sp.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib)")
    sp.add_argument("--out", default=None, help="output folder (default: paper_figures/)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_reproduce)
    try:  # prefrl validate needs the test extra (hypothesis)
        from .testing._validate_cli import add_parser as _add_validate_parser
    except ImportError:
        _add_validate_parser = None
    if _add_validate_parser is not None:
        _add_validate_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``prefrl`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "jobs", 1) < 1 and args.jobs != -1:
        raise SystemExit("prefrl: --jobs must be >= 1 (or -1 for all cores)")
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
