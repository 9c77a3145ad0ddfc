"""The ``prefrl`` command: reproduce the papers' figures and run the theorem checks.

::

    prefrl list [--json]
    prefrl check [NAME ...] [--instances N] [--quick] [--seed S] [--jobs N] [--json]
    prefrl reproduce [NAME ...] [--quick] [--jobs N] [--out DIR] [--seed S] [--json]
    prefrl validate MODULE:FUNCTION --loss NAME [--token-level] [--backend B] [options]

``reproduce`` runs every figure of ``experiments/`` (writing ``NAME.png`` and ``NAME.json``) and
every theorem check of ``proofs_check/``, in parallel on the available cores, then prints a
one-screen summary (claims held per figure and per module of checks, by kind of evidence; every
failure in full). The output folder keeps ``records.json``, the latest record of every figure's
claims and every check, each stamped with the commit that produced it, and ``REPORT.md`` rendered
from it: ``prefrl reproduce NAME`` replaces only NAME's rows. Timings go to ``timings.json``
(ignored by git), so that two runs of the same commit write the same files. The exit status is 1
when any claim fails. A full run writes into the repository's ``paper_figures/``; ``--quick``
writes into a temporary folder unless ``--out`` is given, so quick pictures never overwrite the
committed ones.

``--jobs`` runs the figures and checks through :mod:`joblib`; inside
``joblib.parallel_config(backend=...)`` (for example Dask's or Ray's joblib backend) the same code
runs on a cluster. Each task runs with BLAS limited to one thread, so its numbers do not depend on
the machine's threading.
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

EXAMPLES = """examples:
  prefrl reproduce                      every figure and check, into paper_figures/ (minutes)
  prefrl reproduce --quick              short versions (about a minute), into a temporary folder
  prefrl reproduce ipo_two_action       one figure; REPORT.md keeps every other row
  prefrl check games --instances 50     the theorem checks of one module
  prefrl list                           what there is to run
  prefrl validate my_trainer:dpo_loss --loss dpo --token-level
"""


def _repo() -> Path | None:
    """The repository prefrl.experiments was installed from (None for an installed wheel)."""
    try:
        import prefrl.experiments

        repo = Path(prefrl.experiments.__file__).resolve().parent.parent
    except ImportError:  # pragma: no cover - the experiments ship with the package
        return None
    return repo if (repo / "paper_figures").is_dir() else None


def _default_out() -> Path:
    """The repository's ``paper_figures/`` (beside ``experiments/``), else ``./paper_figures``."""
    repo = _repo()
    return repo / "paper_figures" if repo is not None else Path.cwd() / "paper_figures"


def _select(available: dict, names: list[str], kind: str) -> list[str]:
    if not names:
        return list(available)
    chosen = []
    for n in names:
        if not n.strip():
            raise SystemExit(f"prefrl: error: an empty {kind} name; see `prefrl list`")
        matches = [a for a in available if a == n or a.startswith(n + ".") or a.startswith(n)]
        if not matches:
            raise SystemExit(f"prefrl: error: no {kind} named {n!r}; see `prefrl list`")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def _one_thread():
    """Limit BLAS/OpenMP pools to one thread (deterministic sums; no oversubscription)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def run_experiment(name: str, quick: bool, seed: int, out: str) -> list[dict]:
    """Run one experiment module; write its PNG and JSON; return one record per claim.

    Runs in a worker process under ``--jobs``, so it imports what it needs and never raises: a
    crash becomes a failed record carrying the traceback. Each record carries the figure's
    ``seconds`` (kept out of the figure's JSON).
    """
    import matplotlib

    matplotlib.use("Agg")
    from prefrl.registry import discover_experiments, to_jsonable

    mod = discover_experiments()[name]
    out_dir = Path(out)
    t0 = time.perf_counter()
    try:
        with _one_thread():
            numbers = mod.run(quick=quick, seed=seed)
            claims = list(mod.claims(numbers))
            mod.plot(numbers, out_dir / f"{name}.png")
    except Exception:
        return [
            {
                "kind": "figure",
                "name": f"{name}/runs",
                "claim": "the experiment runs",
                "holds": False,
                "ours": None,
                "paper": None,
                "status": None,
                "quick": quick,
                "seconds": round(time.perf_counter() - t0, 3),
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
        "claims": [c.__dict__ for c in claims],
        "numbers": numbers,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(to_jsonable(record), indent=1) + "\n")
    rows = []
    for c in claims:
        row = {
            "kind": "figure",
            "name": f"{name}/{c.name}",
            "claim": c.claim,
            "holds": c.holds,
            "ours": to_jsonable(c.ours),
            "paper": to_jsonable(c.paper),
            "status": c.status,
            "source": f"experiments/{name}.py",
            "reference": mod.PAPER,
            "quick": quick,
            "seconds": round(seconds, 3),
        }
        if c.instances is not None:
            row["instances"] = c.instances
        if c.sensitivity is not None:
            row["sensitivity"] = c.sensitivity
        rows.append(row)
    return rows


def run_check(name: str, n_instances: int, seed: int, quick: bool = False) -> dict:
    """Run one registered theorem check and return its record."""
    from prefrl.registry import discover_theorems, run_theorem

    t = discover_theorems()[name]
    t0 = time.perf_counter()
    with _one_thread():
        r = run_theorem(t, n_instances=n_instances, seed=seed)
    rec = {
        "kind": "theorem",
        "name": r.name,
        "claim": r.claim,
        "holds": r.holds,
        "ours": r.worst_violation,
        "paper": None,
        "status": r.status,
        "tolerance": r.tolerance,
        "n_instances": r.n_instances,
        "reference": r.reference,
        "source": t.module.removeprefix("prefrl.").replace(".", "/") + ".py",
        "quick": quick,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if not r.holds:
        rec["worst_instance"] = r.worst_instance
    return rec


def _progress(label: str, quiet: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        disable=quiet,
        transient=False,
        console=_console(stderr=True),
    )


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=max(80, int(os.environ.get("COLUMNS", 100))))


def _run_tasks(tasks, jobs: int, label: str, quiet: bool):
    """Run ``(fn, args)`` tasks with joblib, updating a progress bar as they finish."""
    from joblib import Parallel, delayed

    results = []
    with _progress(label, quiet) as progress:
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


def _print_summary(records: list[dict], title: str, out: Path | None = None) -> None:
    """One screen: claims held per figure and per module of checks, then every failure in full."""
    from rich.markup import escape
    from rich.table import Table

    from ._report import headline, summary_lines

    console = _console()
    table = Table(title=title, show_lines=False, pad_edge=False, box=None)
    for col in ("", "hold", "evidence"):
        table.add_column(col, overflow="ellipsis", no_wrap=True)
    for group, held, statuses in summary_lines(records):
        ok = held.split("/")[0] == held.split("/")[1]
        table.add_row(escape(group), held if ok else f"[bold red]{held}[/]", escape(statuses))
    console.print(table)
    console.print(f"[bold]{escape(headline(records))}[/]")
    for r in records:
        if r["holds"]:
            continue
        detail = r.get("error") or r.get("worst_instance") or ""
        console.print(
            f"[bold red]FAILED[/] {escape(r['name'])}: {escape(r['claim'])}\n"
            f"  ours {escape(str(r['ours']))}, paper's {escape(str(r['paper']))}"
            + (f", tolerance {r['tolerance']}" if "tolerance" in r else "")
            + (f"\n{escape(detail)}" if detail else ""),
            highlight=False,
        )
    if out is not None:
        console.print(f"Figures, numbers, records.json and REPORT.md are in {out}")


def cmd_list(args) -> int:
    from prefrl.registry import discover_experiments, discover_theorems

    exps = discover_experiments()
    thms = discover_theorems()
    records = [
        {"kind": "figure", "name": n, "title": m.TITLE, "paper": m.PAPER} for n, m in exps.items()
    ] + [
        {"kind": "theorem", "name": n, "title": t.claim, "paper": t.reference, "status": t.status}
        for n, t in thms.items()
    ]
    if args.json:
        print(json.dumps(records, indent=1))
        return 0
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"prefrl: {len(exps)} figures, {len(thms)} theorem checks")
    for col in ("kind", "name", "what", "paper"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(*(escape(r[k]) for k in ("kind", "name", "title", "paper")))
    _console().print(table)
    return 0


def _checks(names, n_instances, seed, jobs, quiet, quick=False):
    from prefrl.registry import discover_theorems

    chosen = _select(discover_theorems(), names, "theorem check")
    tasks = [(run_check, (n, n_instances, seed, quick)) for n in chosen]
    recs = _run_tasks(tasks, jobs, "theorems", quiet)
    return sorted(recs, key=lambda r: r["name"])


def cmd_check(args) -> int:
    n = args.instances or (QUICK_INSTANCES if args.quick else FULL_INSTANCES)
    records = _checks(args.names, n, args.seed, args.jobs, args.json, quick=n < FULL_INSTANCES)
    for r in records:
        r.pop("seconds", None)
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        _print_summary(records, f"Theorem checks ({n} random instances each)")
    return 0 if all(r["holds"] for r in records) else 1


def _check_out(path: str) -> Path:
    """The output folder, created if needed; a one-line error naming --out otherwise."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"prefrl: error: --out {path}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".prefrl-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SystemExit(
            f"prefrl: error: --out {path}: cannot write there ({exc.strerror})") from None
    return out


def cmd_reproduce(args) -> int:
    from prefrl.registry import discover_experiments, discover_theorems

    from ._report import (
        REPORT_FILE,
        TIMINGS_FILE,
        commit_stamp,
        render_report,
        update_store,
    )

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
        out = _check_out(args.out)
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="prefrl-quick-"))
    else:
        out = _check_out(str(_default_out()))
    if args.json:  # stdout carries the records; say where the files went on stderr
        print(f"prefrl: writing into {out}", file=sys.stderr)
    quiet = args.json
    n = QUICK_INSTANCES if args.quick else FULL_INSTANCES
    # one pool for figures and checks, the longest first (by the last run's timings.json)
    timings_path = out / TIMINGS_FILE
    try:
        old = json.loads(timings_path.read_text())
    except (OSError, ValueError):
        old = {}
    tasks = [(run_experiment, (name, args.quick, args.seed, str(out))) for name in exp_names]
    tasks += [(run_check, (name, n, args.seed, args.quick)) for name in thm_names]
    tasks.sort(key=lambda task: -float(old.get(task[1][0]) or 1e9))
    results = _run_tasks(tasks, args.jobs, "figures and checks", quiet)
    records = [r for res in results for r in (res if isinstance(res, list) else [res])]
    stamp = commit_stamp(_repo())
    timings = {}
    for r in records:
        owner = r["name"].split("/", 1)[0] if r["kind"] == "figure" else r["name"]
        timings[owner] = r.pop("seconds", None)
        r["commit"] = stamp
    timings_path.write_text(json.dumps({**old, **timings}, indent=1, sort_keys=True) + "\n")
    store = update_store(out, records, set(exp_names) | set(thm_names), set(exps) | set(thms))
    mode = "quick" if args.quick else "full"
    report = render_report(store, "prefrl reproduce: every figure's claims and every theorem check")
    (out / REPORT_FILE).write_text(report)
    records.sort(key=lambda r: (r["kind"] != "figure", r["name"]))
    if args.json:
        print(json.dumps(records, indent=1))
        print(f"prefrl: figures, records.json and REPORT.md are in {out}", file=sys.stderr)
    else:
        _print_summary(records, f"prefrl reproduce ({mode} mode, seed {args.seed})", out)
    return 0 if all(r["holds"] for r in records) else 1


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (or -1 for all cores), got {value}")
    return value


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the flag (``prefrl: error: ...``)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from prefrl import __version__

    p = _Parser(
        prog="prefrl",
        description="Reproduce the papers' figures and check the theorems of preference-based RL.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"prefrl {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sp = sub.add_parser("list", help="list the figures and theorem checks")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("check", help="run the theorem checks on random instances",
                        epilog="example: prefrl check games.nash --instances 50",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("names", nargs="*", help="checks to run (a name or a module prefix)")
    sp.add_argument("--instances", type=_positive_int, default=None,
                    help=f"random instances per theorem (default {FULL_INSTANCES})")
    sp.add_argument("--quick", action="store_true", help=f"{QUICK_INSTANCES} instances each")
    sp.add_argument("--seed", type=_seed, default=0, help="seed of every random draw (>= 0)")
    sp.add_argument("--jobs", type=_jobs, default=_cores(),
                    help="parallel workers (joblib; default: the available cores)")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("reproduce", help="run every figure and theorem check",
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("names", nargs="*", help="figures or checks to run (default: all)")
    sp.add_argument("--quick", action="store_true",
                    help="short versions (about a minute in all), into a temporary folder")
    sp.add_argument("--jobs", type=_jobs, default=_cores(),
                    help="parallel workers (joblib; default: the available cores)")
    sp.add_argument("--out", default=None, help="output folder (default: paper_figures/)")
    sp.add_argument("--seed", type=_seed, default=0, help="seed of every random draw (>= 0)")
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        # argparse would first complain that the command is missing: name the bad flag instead
        parser.error(f"unrecognised argument {argv[0]}; a command comes first "
                     "(list, check, reproduce, validate)")
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
