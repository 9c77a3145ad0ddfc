r"""The ``prefrl validate`` command: run the validation kit on a function from the shell.

::

    prefrl validate MODULE:FUNCTION --loss NAME [--token-level] [--reduction R]
                    [--backend auto|torch|numpy] [--check-grad] [--option KEY=VALUE ...]
                    [--max-examples N] [--rtol X] [--atol X] [--moderate]

``MODULE`` is a dotted module name or a path to a ``.py`` file. The command runs
:func:`prefrl.testing.assert_matches_reference` and prints a one-screen verdict: what was checked
(backend, dtype, tolerances), whether the function matches, the worst discrepancy and the shrunk
example, and which of the conventions of the public trainers it matches (the reductions of a
token-level pairwise loss, the aggregation modes, the KL clamps, the GRPO settings of TRL, verl
and OpenRLHF; see :doc:`/theory/loss_conventions`). Exit status: 0 (matches), 1 (differs),
2 (bad arguments, or the function cannot be imported).

:func:`add_parser` adds the sub-command to the ``prefrl`` parser; :func:`run` executes it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path

from ..losses import AGGREGATION_MODES, SEQUENCE_REDUCTIONS
from ._reference import assert_matches_reference
from ._specs import SPECS

__all__ = ["CONVENTIONS", "add_parser", "load_function", "run"]

#: loss name (or kind) -> the conventions the verdict lists: (label, options)
CONVENTIONS = {
    "kl_estimate": [("exact (TRL)", {"clamp": None}), ("verl kl_penalty", {"clamp": "verl"}),
                    ("OpenRLHF compute_approx_kl", {"clamp": "openrlhf"})],
    "grpo_advantages": [("TRL (eps 1e-4)", {}),
                        ("verl (eps 1e-6, singleton R)", {"eps": 1e-6, "singleton": "reward"}),
                        ("OpenRLHF group_norm (eps 1e-9)", {"eps": 1e-9}),
                        ("Dr. GRPO (no std)", {"scale": "none"})],
}


def _conventions(name, token_level):
    if name in CONVENTIONS:
        return CONVENTIONS[name]
    spec = SPECS[name]
    if token_level and spec["kind"] in ("pair", "pair2"):
        return [(f"reduction={r!r}", {"reduction": r}) for r in SEQUENCE_REDUCTIONS]
    if "mode" in spec["defaults"]:
        return [(f"mode={m!r}", {"mode": m}) for m in AGGREGATION_MODES]
    return []


def load_function(target):
    """``MODULE:FUNCTION`` (a dotted module or a ``.py`` path) -> the function.

    Examples
    --------
    >>> load_function("prefrl.torch.losses:dpo").__name__
    'dpo'
    >>> load_function("prefrl.losses")
    Traceback (most recent call last):
    ...
    ValueError: target must be MODULE:FUNCTION, got 'prefrl.losses'
    """
    mod_name, sep, fn_name = str(target).rpartition(":")
    if not sep or not mod_name or not fn_name:
        raise ValueError(f"target must be MODULE:FUNCTION, got {target!r}")
    if mod_name.endswith(".py"):
        path = Path(mod_name)
        if not path.is_file():
            raise ValueError(f"target: no file {mod_name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        if "" not in sys.path:
            sys.path.insert(0, "")
        module = importlib.import_module(mod_name)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise ValueError(f"target: {mod_name} has no function {fn_name!r}")
    return fn


def _value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def add_parser(subparsers):
    """Add ``validate`` to the ``prefrl`` sub-command parsers; returns the new parser.

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser(prog="prefrl").add_subparsers(dest="command")
    >>> p = add_parser(sub)
    >>> a = p.parse_args(["m:f", "--loss", "dpo", "--option", "beta=0.2"])
    >>> a.loss, a.option, a.func is run
    ('dpo', ['beta=0.2'], True)
    """
    p = subparsers.add_parser(
        "validate", help="check a loss implementation against prefrl's reference",
        description="Run prefrl.testing.assert_matches_reference on MODULE:FUNCTION and print a "
                    "one-screen verdict (conventions matched, worst discrepancy, shrunk example).")
    p.add_argument("target", help="MODULE:FUNCTION (a dotted module or a path to a .py file)")
    p.add_argument("--loss", required=True, help="the reference: a name of prefrl.losses")
    p.add_argument("--token-level", action="store_true",
                   help="check the per-token form (token log-probs and masks)")
    p.add_argument("--reduction", choices=SEQUENCE_REDUCTIONS, default=None,
                   help="token-level pairwise losses: how the reference reduces token log-probs")
    p.add_argument("--backend", choices=("auto", "torch", "numpy"), default="auto")
    p.add_argument("--check-grad", action="store_true", help="compare autograd gradients too")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the loss (repeat): beta=0.1, mode='token-mean', ...")
    p.add_argument("--max-examples", type=int, default=100)
    p.add_argument("--rtol", default="auto", help="a number, or auto (by dtype)")
    p.add_argument("--atol", default="auto", help="a number, or auto (by dtype)")
    p.add_argument("--moderate", action="store_true",
                   help="no extreme margins (extreme=False), e.g. for bfloat16")
    p.set_defaults(func=run)
    return p


def _tol(x):
    return x if x == "auto" else float(x)


def _ratio(msg):
    m = re.search(r"= ([0-9.e+\-]+|inf) > 1", msg)
    return m.group(1) if m else "?"


def run(args, out=None) -> int:
    """Execute ``prefrl validate``; print the verdict to ``out`` (stdout); return the exit status.

    Examples
    --------
    >>> import argparse, io
    >>> sub = argparse.ArgumentParser(prog="prefrl").add_subparsers(dest="command")
    >>> args = add_parser(sub).parse_args(["prefrl.torch.losses:ipo", "--loss", "ipo",
    ...                                     "--option", "beta=0.1", "--max-examples", "10"])
    >>> buf = io.StringIO()
    >>> run(args, out=buf)
    0
    >>> print(buf.getvalue().splitlines()[1])
    verdict: MATCHES prefrl.losses.ipo
    """
    out = sys.stdout if out is None else out

    def say(*lines):
        for line in lines:
            print(line, file=out)

    try:
        fn = load_function(args.target)
        options = {}
        for item in args.option:
            key, eq, val = item.partition("=")
            if not eq or not key:
                raise ValueError(f"--option must be KEY=VALUE, got {item!r}")
            options[key.strip()] = _value(val.strip())
        common = dict(max_examples=args.max_examples, rtol=_tol(args.rtol),
                      atol=_tol(args.atol), extreme=not args.moderate, backend=args.backend,
                      token_level=args.token_level)
        report = assert_matches_reference(fn, args.loss, check_grad=args.check_grad,
                                          reduction=args.reduction, **common, **options)
        failure = None
    except AssertionError as exc:
        report, failure = None, str(exc)
    except (ValueError, TypeError, ImportError, AttributeError, OSError) as exc:
        say(f"prefrl validate: {type(exc).__name__}: {exc}")
        return 2
    level = " (token level)" if args.token_level else ""
    say(f"prefrl validate {args.target} --loss {args.loss}{level}")
    if failure is None:
        say(f"verdict: MATCHES prefrl.losses.{args.loss}", f"  {report}")
    else:
        lines = failure.splitlines()
        m = re.search(r"\(((?:values|d/d\S+), [^;]*)", lines[0])
        say(f"verdict: DIFFERS from prefrl.losses.{args.loss}",
            "  worst discrepancy: " + (m.group(1) if m else lines[0]),
            *("  " + ln.strip() for ln in lines[1:3]))
        start = next((i for i, ln in enumerate(lines) if ln.strip().startswith("inputs:")), None)
        if start is not None:
            example = [lines[start].strip()[len("inputs: "):], *lines[start + 1:start + 12]]
            say("  shrunk example:", *("    " + ln for ln in example))
            if len(lines) > start + 12:
                say("    ...")
    rows = []
    for label, extra in _conventions(args.loss, args.token_level):
        opts = {**options, **extra}
        red = opts.pop("reduction", args.reduction)
        try:
            assert_matches_reference(fn, args.loss, reduction=red,
                                     **{**common, "max_examples": min(args.max_examples, 30)},
                                     **opts)
            rows.append((label, "matches", ""))
        except AssertionError as exc:
            rows.append((label, "differs", f"worst ratio {_ratio(str(exc))}"))
        except (ValueError, TypeError) as exc:
            rows.append((label, "n/a", str(exc).splitlines()[0][:60]))
    if rows:
        say("conventions:")
        width = max(len(r[0]) for r in rows)
        for label, verdict, why in rows:
            say(f"  {label:<{width}}  {verdict:<8} {why}".rstrip())
    return 0 if failure is None else 1
