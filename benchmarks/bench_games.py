"""Benchmark: prefrl.games.minimax_winner against nashpy on random preference games.

For K in {10, 50, 200, 1000} (``--quick``: {10, 50, 200}) a random intransitive preference matrix
P (upper triangle uniform on [0, 1]) is solved by

- ``prefrl``: :func:`prefrl.games.minimax_winner` (one LP in standard form, HiGHS);
- ``nashpy``: ``nashpy.Game(A, -A).linear_program()`` with ``A = P - 1/2`` (one LP per player,
  scipy ``linprog``);
- ``nashpy`` support enumeration on a small game (K = 6), where it is feasible at all.

Reports wall time (best of ``--repeat`` runs, one process, same machine), the time ratio
nashpy / prefrl, and the exploitability of each solution (max_i (P pi)_i - 1/2, ideally 0).
Run: ``python benchmarks/bench_games.py [--quick] [--repeat N] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from prefrl.games import exploitability, minimax_winner
from prefrl.preferences import random_preference_matrix


def _best_time(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _normalise(p):
    p = np.clip(np.asarray(p, dtype=float), 0, None)
    return p / p.sum()


def main(argv=None) -> list[dict]:
    import nashpy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    sizes = (10, 50, 200) if args.quick else (10, 50, 200, 1000)
    rows = []
    for K in sizes:
        P = random_preference_matrix(K, rng=K)
        A = P - 0.5
        rep = args.repeat if K < 1000 else 1
        t_ours, res = _best_time(lambda P=P: minimax_winner(P), rep)
        t_nash, (row, _col) = _best_time(lambda A=A: nashpy.Game(A, -A).linear_program(), rep)
        rows.append({
            "K": K,
            "method": "nashpy linear_program",
            "prefrl_s": t_ours,
            "peer_s": t_nash,
            "ratio_peer_over_prefrl": t_nash / t_ours,
            "prefrl_exploitability": res.exploitability,
            "peer_exploitability": float(exploitability(P, _normalise(row))),
        })
    K = 6
    P = random_preference_matrix(K, rng=K)
    A = P - 0.5
    t_ours, res = _best_time(lambda: minimax_winner(P), args.repeat)

    def enum():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return list(nashpy.Game(A, -A).support_enumeration())

    t_enum, eqs = _best_time(enum, args.repeat)
    rows.append({
        "K": K,
        "method": "nashpy support_enumeration",
        "prefrl_s": t_ours,
        "peer_s": t_enum,
        "ratio_peer_over_prefrl": t_enum / t_ours,
        "prefrl_exploitability": res.exploitability,
        "peer_exploitability": max(float(exploitability(P, _normalise(e[0]))) for e in eqs),
    })
    print(f"{'K':>5} {'peer':<28} {'prefrl (s)':>11} {'peer (s)':>10} {'ratio':>7} "
          f"{'expl prefrl':>12} {'expl peer':>10}")
    for r in rows:
        print(f"{r['K']:>5} {r['method']:<28} {r['prefrl_s']:>11.4f} {r['peer_s']:>10.4f} "
              f"{r['ratio_peer_over_prefrl']:>7.1f} {r['prefrl_exploitability']:>12.1e} "
              f"{r['peer_exploitability']:>10.1e}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
