"""The training protocol of the IPO paper's Sec. 5.4, shared by its Figures 1 and 2.

Three actions, softmax logits from zero, uniform pi_ref, Adam with lr 0.01, mini-batches of 9
drawn with replacement from the dataset, 18000 steps (2000 in quick mode), 10 seeds, one run per
(dataset, tau, seed) and loss, all vectorised in one call of prefrl.training.train_pairwise.
Not an experiment itself (the leading underscore keeps it out of the registry).
"""

from __future__ import annotations

import numpy as np

from prefrl.bandits import dpo_dataset_optimum, ipo_dataset_optimum
from prefrl.plotting import new_figure
from prefrl.training import Adam, expand_grid, train_pairwise

ACTIONS = ("a", "b", "c")
LOSSES = ("ipo", "dpo")


def protocol(quick: bool) -> dict:
    """The settings of Sec. 5.4 (batch 9 as in the arXiv text; see ipo_fig1 for the ambiguities)."""
    return {
        "optimizer": "Adam", "lr": 0.01, "batch_size": 9, "replacement": True,
        "n_steps": 2000 if quick else 18000, "n_seeds": 10, "init_logits": 0.0,
        "pi_ref": "uniform",
    }


def run_protocol(datasets: dict, taus, quick: bool, rng: int) -> dict:
    """Train IPO and DPO on every (dataset, tau, seed) and compute the exact optima.

    Keys use the dataset's index ``d`` in ``datasets``:

    - ``runs[loss]``: ``steps`` and the seed mean / 95% half-width of each action's probability
      per record, under ``"{d}/tau={t}"``;
    - ``final["{loss}/{d}/tau={t}"]``: seed mean and standard error of the policy averaged over
      the last quarter of the run, the mean final policy, and the largest change of each logit;
    - ``exact["ipo|dpo|dpo_exists/{d}/tau={t}"]``: the exact dataset optima (prefrl.bandits).
    """
    proto = {**protocol(quick), "taus": list(taus)}
    names = list(datasets)
    grid = expand_grid(data=range(len(names)), tau=taus, seed=range(proto["n_seeds"]))
    pairs = np.stack([datasets[n] for n in names])[grid["data"]]
    u = np.full(len(ACTIONS), 1.0 / len(ACTIONS))
    out = {"protocol": proto, "datasets": {n: datasets[n].tolist() for n in names},
           "grid": grid, "runs": {}, "final": {}, "exact": {}}
    n_steps = proto["n_steps"]
    for k, loss in enumerate(LOSSES):
        res = train_pairwise(
            loss, pairs[:, :, 0], pairs[:, :, 1], beta=grid["tau"], n_steps=n_steps,
            batch_size=proto["batch_size"], optimizer=Adam(lr=proto["lr"]), rng=rng + k,
            n_actions=len(ACTIONS), record_every=max(1, n_steps // 200),
        )
        avg = res.policies[res.steps >= n_steps * 3 // 4].mean(axis=0)  # last-quarter average
        mean, half = {}, {}
        for d in range(len(names)):
            for t in taus:
                m = (grid["data"] == d) & (grid["tau"] == t)
                pol = res.policies[:, m, :]  # (records, seeds, K)
                mean[f"{d}/tau={t}"] = pol.mean(axis=1).round(7)
                half[f"{d}/tau={t}"] = (1.96 * pol.std(axis=1, ddof=1) / np.sqrt(m.sum())).round(7)
                out["final"][f"{loss}/{d}/tau={t}"] = {
                    "mean": avg[m].mean(axis=0),
                    "se": avg[m].std(axis=0, ddof=1) / np.sqrt(m.sum()),
                    "last_mean": res.policy[m].mean(axis=0),
                    "max_abs_logit_change": np.abs(res.logits[m] - np.log(u)).max(axis=0),
                }
        out["runs"][loss] = {"steps": res.steps, "mean": mean, "half_width_95": half}
    for d, name in enumerate(names):
        w, lo = datasets[name][:, 0], datasets[name][:, 1]
        for t in taus:
            out["exact"][f"ipo/{d}/tau={t}"] = ipo_dataset_optimum(w, lo, u, t).policy
            opt = dpo_dataset_optimum(w, lo, u, t)
            out["exact"][f"dpo/{d}/tau={t}"] = opt.policy
            out["exact"][f"dpo_exists/{d}/tau={t}"] = bool(opt.exists)
    return out


def plot_panels(numbers: dict, taus, *, exact_ipo: bool, title_size: float = 9):
    """One panel per (dataset, tau): IPO solid, DPO dashed, 95% bands; optionally the exact IPO
    optimum dotted. Returns ``(fig, axes)`` for the caller's legend and title."""
    names = list(numbers["datasets"])
    fig, axes = new_figure(len(names), len(taus), width=3.6, height=2.8, sharey=True)
    for d, name in enumerate(names):
        for j, t in enumerate(taus):
            ax = axes[d, j]
            for loss, ls in zip(LOSSES, ("-", "--")):
                run = numbers["runs"][loss]
                steps = np.asarray(run["steps"])
                mean = np.asarray(run["mean"][f"{d}/tau={t}"])
                half = np.asarray(run["half_width_95"][f"{d}/tau={t}"])
                for a in range(len(ACTIONS)):
                    ax.plot(steps, mean[:, a], color=f"C{a}", ls=ls,
                            label=f"{loss.upper()} $\\pi({ACTIONS[a]})$" if d == j == 0 else None)
                    ax.fill_between(steps, mean[:, a] - half[:, a], mean[:, a] + half[:, a],
                                    color=f"C{a}", alpha=0.25, linewidth=0)
            if exact_ipo:
                exact = np.asarray(numbers["exact"][f"ipo/{d}/tau={t}"])
                for a in range(len(ACTIONS)):
                    ax.axhline(exact[a], color=f"C{a}", lw=0.6, ls=":")
            ax.set_title(f"{name}, $\\tau$ = {t}", fontsize=title_size)
            ax.set_ylim(-0.03, 1.03)
            if d == len(names) - 1:
                ax.set_xlabel("Adam step")
            if j == 0:
                ax.set_ylabel("action probability")
    return fig, axes
