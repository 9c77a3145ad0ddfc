"""numpy reference losses vs their torch twins on the CPU, and batched bandit training.

Run on demand (never as a timed test)::

    python benchmarks/bench_losses.py            # 10^6 pairs, (4096, 1024) tokens
    python benchmarks/bench_losses.py --quick    # 10x smaller, seconds
    python benchmarks/bench_losses.py --bandits  # also train 10^5 IPO bandits (GPU if present)

For each case it prints the best-of-``--repeat`` wall time of the numpy reference and of
``prefrl.torch.losses`` (same process, float64, ``torch.set_num_threads(--threads)``; numpy
is single-threaded, so 1 thread is the like-for-like comparison), their ratio (target: numpy
within 1.5x of torch), and the peak resident-memory increase of each, measured in a fresh
subprocess per (case, backend) from ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

CASES = ("dpo", "ipo", "aggregate", "ppo_clip_loss")


def _inputs(case, quick, backend):
    rng = np.random.default_rng(0)
    if case in ("dpo", "ipo"):
        n = 10**5 if quick else 10**6
        arrays = [rng.normal(-50, 5, n) for _ in range(4)]
    else:
        B, T = (512, 1024) if quick else (4096, 1024)
        lp = -rng.exponential(1.0, (B, T))
        mask = np.arange(T)[None] < rng.integers(1, T + 1, B)[:, None]
        if case == "aggregate":
            arrays = [lp, mask]
        else:
            arrays = [lp, lp + 0.1 * rng.normal(size=(B, T)), rng.normal(size=(B, T)), mask]
    if backend == "torch":
        import torch

        arrays = [torch.from_numpy(a) for a in arrays]
    return arrays


def _fn(case, backend):
    if backend == "numpy":
        from prefrl import losses
    else:
        from prefrl.torch import losses
    f = getattr(losses, case)
    if case in ("dpo", "ipo"):
        return lambda *a: f(*a, beta=0.1)
    if case == "aggregate":
        return lambda *a: f(*a, mode="seq-mean-token-mean")
    return lambda *a: f(*a, clip_low=0.2, clip_high=0.28, mode="token-mean")


def _time(case, backend, quick, repeat):
    arrays = _inputs(case, quick, backend)
    f = _fn(case, backend)
    f(*arrays)  # warm-up
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        f(*arrays)
        best = min(best, time.perf_counter() - t)
    return best


def _rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _child_memory(case, backend, quick, threads):
    """Run in a subprocess: peak RSS increase (MiB) during one call, above inputs and imports.

    A thread samples the resident set size every 0.2 ms while the call runs (``ru_maxrss`` is
    useless here: building the inputs already set the process's peak).
    """
    import threading

    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    arrays = _inputs(case, quick, backend)
    f = _fn(case, backend)
    f(*[a[:2] for a in arrays])  # import and warm up on a tiny slice
    base = _rss_mib()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(2e-4)

    th = threading.Thread(target=sample)
    th.start()
    f(*arrays)
    done.set()
    th.join()
    print(json.dumps({"peak_mib": peak[0] - base}))


def _memory(case, backend, quick, threads):
    cmd = [sys.executable, __file__, "--child", case, backend, "--threads", str(threads)]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


# ------------------------------------------------------------------------------- bandits


def _numpy_train_ipo(N, steps, lr, beta, w, lo):
    """N independent 3-action bandits, full-batch Adam on the IPO loss: prefrl's numpy trainer."""
    from prefrl.training import Adam, train_pairwise

    res = train_pairwise("ipo", w, lo, beta=beta, n_steps=steps, batch_size=None,
                         optimizer=Adam(lr=lr), init=np.zeros(3), record_every=steps)
    return res.logits


def bench_bandits(N, steps, device):
    import torch

    from prefrl.torch import train_bandits

    rng = np.random.default_rng(0)
    w = rng.integers(0, 3, (N, 6))
    lo = (w + rng.integers(1, 3, (N, 6))) % 3
    ref = torch.zeros(N, 3, dtype=torch.float64, device=device)
    tw, tlo = torch.as_tensor(w, device=device), torch.as_tensor(lo, device=device)
    train_bandits(tw[:8], tlo[:8], loss="ipo", beta=0.5, ref_logits=ref[:8], n_steps=2)
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    res = train_bandits(tw, tlo, loss="ipo", beta=0.5, ref_logits=ref, n_steps=steps, lr=0.01)
    if device == "cuda":
        torch.cuda.synchronize()
    t_torch = time.perf_counter() - t
    n_np = min(N, 10**4)
    t = time.perf_counter()
    theta = _numpy_train_ipo(n_np, steps, 0.01, 0.5, w[:n_np], lo[:n_np])
    t_np = time.perf_counter() - t
    gap = np.abs(res.logits[:n_np].cpu().numpy() - theta).max()
    return {"instances": N, "steps": steps, "device": device,
            "torch_instance_steps_per_s": N * steps / t_torch,
            "numpy_instance_steps_per_s": n_np * steps / t_np,
            "max_logit_gap_torch_vs_numpy": float(gap),
            "note": "the gap is Adam's, not the loss's: where balanced data makes a gradient exactly "
                    "zero in one backend and ~1e-17 in the other, Adam's normalised step turns the "
                    "rounding into a step of order lr; the first step agrees to 1e-10"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bandits", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("CASE", "BACKEND"))
    args = ap.parse_args(argv)
    if args.child:
        _child_memory(*args.child, args.quick, args.threads)
        return
    import torch

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), numpy {np.__version__}, float64")
    print(f"{'case':<16}{'numpy s':>10}{'torch s':>10}{'np/torch':>10}{'np MiB':>9}"
          f"{'torch MiB':>10}")
    rows = {}
    for case in CASES:
        tn = _time(case, "numpy", args.quick, args.repeat)
        tt = _time(case, "torch", args.quick, args.repeat)
        mn = mt = float("nan")
        if not args.no_memory:
            mn = _memory(case, "numpy", args.quick, args.threads)
            mt = _memory(case, "torch", args.quick, args.threads)
        rows[case] = dict(numpy_s=tn, torch_s=tt, ratio=tn / tt, numpy_mib=mn, torch_mib=mt)
        print(f"{case:<16}{tn:>10.4f}{tt:>10.4f}{tn / tt:>10.2f}{mn:>9.0f}{mt:>10.0f}")
    if args.bandits:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        N = 10**5 if device == "cuda" else 10**4
        steps = 200 if args.quick else 1000
        rows["bandits"] = bench_bandits(N, steps, device)
        print(json.dumps(rows["bandits"], indent=1))
    return rows


if __name__ == "__main__":
    main()
