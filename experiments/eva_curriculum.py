"""eva's creator on a contextual bandit: reweighting prompts by informativeness vs a uniform curriculum.

Our exact bandit analogue of eva (Ye, Agarwal, Liu, Joshi, Velury, Le, Tan and Liu 2024, "Evolving
Alignment via Asymmetric Self-Play", arXiv 2411.00062). The prompts are the contexts of a bandit
with many easy contexts (the reference policy already puts 0.6 on the best response) and a few
hard ones (the best response, reward 1, has reference probability 0.02; the others earn 0.5
down to 0.1). The bandit is fixed; the seed drives the creator's sampled responses. The solver takes exact KL-regularised softmax policy-gradient steps (beta = 0.02), the
context weights of each step summing to 1, so every creator spends the same compute. The creator
either keeps the prompt set uniform or, every round, estimates each prompt's informativeness from
N = 8 sampled responses (max-min or max-mean reward spread; or the regret proxy, which knows the
best response) and samples prompts in proportion to it, mixed 3:1 with the uniform buffer. eva's
LLM step that rewrites prompts into new ones has no analogue here: the creator only reweights a
fixed prompt set. Three informativeness proxies are shown; the figure does not assume which one
is the paper's default.

The headline number is the solver steps until every context's regret max_y r - E_pi r is below
0.1 (worst-context regret, the creator-solver game's objective), at equal compute per step. The
sample-only proxies see the spread of the sampled rewards, not the regret: in the first round the
max-min creator gives the hard contexts less than their uniform share, because the easy contexts'
rewards are spread wider (0.8 to 0) than the hard ones' (0.5 to 0.1), and the hard contexts look
solved once the solver sits on their second-best response. The regret proxy, which knows the best
response, has neither blind spot.

The speed-ups are measured on the named instance (16 easy and 4 hard contexts, reference
probability 0.02 on the hard contexts' best response), and the thresholds of its claim (1.25x for
every creator, 2x for the exact-regret creator) were chosen on it. A sweep over nine instances
(2, 4 or 8 hard contexts; reference probability 0.02, 0.05 or 0.1) reports the min, median and
max speed-up of each creator: on other instances the sampled creators' speed-ups fall below the
named instance's (the max-min creator's to about 1.1x), so the thresholds are not general.

The paper reports LLM results (Arena-Hard win rates of Gemma-2-9B-it) that this bandit does not
reproduce; they are recorded in the JSON as context only, with no claim about them.
"""

from __future__ import annotations

import numpy as np

from prefrl.curriculum import context_regret, eva
from prefrl.plotting import band, new_figure, save_figure
from prefrl.registry import Claim

TITLE = ("eva's informativeness creator vs a uniform prompt curriculum on a contextual bandit: "
         "worst-context regret at equal compute")
PAPER = ("Ye et al. 2024, eva (arXiv 2411.00062), creator-solver minimax-regret game, Sec. 3 "
         "(exact contextual-bandit analogue; our construction, not the paper's numbers)")

N_EASY, N_HARD, K = 16, 4, 6
P_BEST_HARD, P_BEST_EASY = 0.02, 0.6
BETA, LR, STEPS, N_SAMPLES, BUFFER = 0.02, 10.0, 5, 8, 0.25
ROUNDS, THRESHOLD = 80, 0.1
VARIANTS = {
    "uniform": {"creator": "uniform"},
    "eva max-min": {"kind": "max-min"},
    "eva max-mean": {"kind": "max-mean"},
    "eva regret (exact)": {"kind": "regret", "exact": True},
}
SAMPLED = ("eva max-min", "eva max-mean")


def bandit(n_hard: int | None = None, p_best_hard: float | None = None):
    """Rewards and reference policy, shape (N_EASY + n_hard, K); hard contexts come last.

    Every context has the best response 0 with reward 1 and the others on an evenly spaced grid:
    from 0.8 down to 0 in an easy context, from 0.5 down to 0.1 in a hard one. The reference
    policy gives the best response P_BEST_EASY or P_BEST_HARD and spreads the rest evenly.
    """
    n_hard = N_HARD if n_hard is None else n_hard
    p_best_hard = P_BEST_HARD if p_best_hard is None else p_best_hard
    X = N_EASY + n_hard
    r = np.empty((X, K))
    ref = np.empty((X, K))
    for x in range(X):
        hard = x >= N_EASY
        r[x, 1:] = np.linspace(0.5, 0.1, K - 1) if hard else np.linspace(0.8, 0.0, K - 1)
        r[x, 0] = 1.0
        p_best = p_best_hard if hard else P_BEST_EASY
        ref[x] = (1.0 - p_best) / (K - 1)
        ref[x, 0] = p_best
    return r, ref


def _steps_to_threshold(r, ref, n_rounds, rng=None, **kw):
    res = eva(r, ref, BETA, n_rounds=n_rounds, n_solver_steps=STEPS, lr=LR,
              n_samples=N_SAMPLES, buffer_mix=BUFFER, rng=rng, **kw)
    below = np.nonzero(res.worst_regret <= THRESHOLD)[0]
    return int(below[0]) if below.size else res.iterations + 1


def instance_sweep(quick: bool, seed: int = 0) -> dict:
    """Speed-up of each eva creator over the uniform curriculum on a grid of instances.

    The number of hard contexts and the reference probability of their best response vary. The
    exact-regret creator and the uniform curriculum are deterministic; the sampled creators are
    averaged over seeds (the speed-up is uniform steps over the seed-mean steps). The budget is
    twice the figure's, so that no run is censored (censoring is recorded).
    """
    hards = (2, 4) if quick else (2, 4, 8)
    probs = (0.02, 0.05) if quick else (0.02, 0.05, 0.1)
    n_seeds = 2 if quick else 5
    rounds = 2 * ROUNDS
    budget = rounds * STEPS
    rows = []
    for n_hard in hards:
        for p in probs:
            r, ref = bandit(n_hard, p)
            u = _steps_to_threshold(r, ref, rounds, creator="uniform")
            steps = {"eva regret (exact)": [_steps_to_threshold(r, ref, rounds, kind="regret",
                                                                exact=True)]}
            for name in SAMPLED:
                steps[name] = [_steps_to_threshold(r, ref, rounds, rng=1000 * seed + s,
                                                   **VARIANTS[name]) for s in range(n_seeds)]
            by = {k: u / float(np.mean(v)) for k, v in steps.items()}
            rows.append({"n_hard": n_hard, "p_best_hard": p, "uniform": u,
                         "eva_regret": steps["eva regret (exact)"][0],
                         "speedup": by["eva regret (exact)"],
                         "steps_by_creator": steps, "speedup_by_creator": by,
                         "censored": bool(max(u, *(max(v) for v in steps.values())) > budget)})
    summary = {}
    for k in ("eva regret (exact)", *SAMPLED):
        x = [row["speedup_by_creator"][k] for row in rows]
        summary[k] = {"min": min(x), "median": float(np.median(x)), "max": max(x),
                      "n_below_1.25": int(sum(v < 1.25 for v in x))}
    return {"instances": rows, "budget": budget, "n_seeds": n_seeds,
            "speedup_min": min(x["speedup"] for x in rows),
            "speedup_median": float(np.median([x["speedup"] for x in rows])),
            "speedup_max": max(x["speedup"] for x in rows),
            "by_creator": summary}


def run(quick: bool = False, seed: int = 0) -> dict:
    rounds = ROUNDS
    n_seeds = 5 if quick else 20
    r, ref = bandit()
    hard = np.arange(N_EASY, N_EASY + N_HARD)
    out = {"threshold": THRESHOLD, "n_easy": N_EASY, "n_hard": N_HARD, "K": K, "beta": BETA, "lr": LR,
           "rounds": rounds, "solver_steps": STEPS, "n_samples": N_SAMPLES,
           "buffer_mix": BUFFER, "n_seeds": n_seeds, "variants": list(VARIANTS),
           "initial_regret": context_regret(ref, r)}
    for name, kw in VARIANTS.items():
        seeds = range(n_seeds) if name in SAMPLED else range(1)
        worst, avg, hard_w, hard_reg, hit = [], [], [], [], []
        for s in seeds:
            rng = 1000 * seed + s if name in SAMPLED else None
            res = eva(r, ref, BETA, n_rounds=rounds, n_solver_steps=STEPS, lr=LR,
                      n_samples=N_SAMPLES, buffer_mix=BUFFER, rng=rng, **kw)
            worst.append(res.worst_regret)
            avg.append(res.average_regret)
            hard_w.append(res.weights[:, hard].sum(axis=1))
            hard_reg.append(res.regret[:, hard].mean(axis=1))
            below = np.nonzero(res.worst_regret <= THRESHOLD)[0]
            # Censored at the budget: budget + 1 is a lower bound on the steps needed.
            hit.append(int(below[0]) if below.size else res.iterations + 1)
        out[name] = {"worst_regret": np.array(worst), "average_regret": np.array(avg),
                     "hard_weight": np.array(hard_w), "hard_regret": np.array(hard_reg),
                     "steps_to_threshold": np.array(hit),
                     "censored": bool(max(hit) > rounds * STEPS)}
    out["sweep"] = instance_sweep(quick, seed)
    out["paper_context"] = {
        "arena_hard_win_rate_gemma2_9b_it": {"DPO": [51.6, 60.1], "RLOO": [52.6, 62.4]},
        "note": "LLM results (before -> after eva); not reproduced by this bandit, no claim.",
    }
    out["notes"] = (
        "Exact contextual-bandit analogue of ours: the creator reweights a fixed prompt set "
        "(no LLM rewriting), weights proportional to the informativeness (temperature 1) mixed "
        "with a uniform buffer (share 0.25); the solver is exact KL-regularised softmax policy "
        "gradient (the objective RLOO estimates), not DPO. Equal compute: rounds x solver_steps "
        "gradient steps whose context weights sum to 1. Regret is measured without the KL term, "
        "max_y r - E_pi r, averaged uniformly over the prompt set or maximised over it. Sampled "
        "proxies (max-min, max-mean) are averaged over seeds; the exact regret proxy and the "
        "uniform creator are deterministic. Three proxies are shown; none is assumed to be the "
        "paper's default. "
        "Headline: solver steps until the worst-context regret is <= 0.1. The max-min "
        "creator starts below the hard contexts' uniform share (0.2): it measures reward spread, "
        "which is wider in the easy contexts here, not regret. The speed-ups of the headline "
        "claim and its thresholds (1.25x, 2x) are for the named instance (16 easy, 4 hard "
        "contexts, reference probability 0.02); 'sweep' reports min/median/max speed-ups of "
        "every creator over a grid of instances, where they are smaller for the sampled "
        "creators."
    )
    return out


def _mean(numbers, name, key, last=False):
    a = np.asarray(numbers[name][key], dtype=float)
    return float(np.mean(a[:, -1] if last else a))


def claims(numbers: dict) -> list[Claim]:
    evas = [v for v in numbers["variants"] if v != "uniform"]
    hit = {v: _mean(numbers, v, "steps_to_threshold") for v in numbers["variants"]}
    speedup = {v: hit["uniform"] / hit[v] for v in evas}
    censored = {v: numbers[v]["censored"] for v in evas}
    area = {v: _mean(numbers, v, "average_regret") for v in numbers["variants"]}
    share = numbers["n_hard"] / (numbers["n_easy"] + numbers["n_hard"])
    half = numbers["rounds"] // 2
    early = {v: float(np.mean(np.asarray(numbers[v]["hard_weight"], dtype=float)[:, :half]))
             for v in evas}
    first = {v: np.asarray(numbers[v]["hard_weight"], dtype=float)[:, 0] for v in evas}
    named = (f"on the named instance ({numbers['n_easy']} easy and {numbers['n_hard']} hard "
             "contexts, reference probability 0.02 on the hard contexts' best response)")
    sweep = numbers["sweep"]
    rows = sweep["instances"]
    grid = (f"over the grid of {len(rows)} instances (hard contexts "
            f"{sorted({x['n_hard'] for x in rows})}, reference probability of the best response "
            f"{sorted({x['p_best_hard'] for x in rows})})")
    by = sweep["by_creator"]
    return [
        Claim("eva_reaches_low_worst_regret_sooner",
              f"{named}, at equal compute per step, every eva creator brings the worst-context "
              f"regret below {numbers['threshold']} in >= 1.25x fewer solver steps than the "
              "uniform curriculum (mean over seeds; a censored uniform run only strengthens "
              "this), and the exact-regret creator in >= 2x fewer; the thresholds were chosen "
              "on this instance",
              {"steps": hit, "uniform_censored": numbers["uniform"]["censored"],
               "speedup": speedup},
              all(x >= 1.25 for x in speedup.values()) and not any(censored.values())
              and speedup["eva regret (exact)"] >= 2.0,
              paper="eva's minimax-regret motivation (qualitative; LLM numbers not comparable)",
              status="measured", sensitivity=(
                  "the instance: on the sweep's other instances the sampled creators' speed-ups "
                  "fall below 1.25x (see eva_creators_never_slower_across_instances); also the "
                  "seeds of the sampled responses and the solver's step size")),
        Claim("eva_regret_creator_never_slower_across_instances",
              f"{grid}, the exact-regret creator reaches worst-context regret <= 0.1 in no more "
              "solver steps than the uniform curriculum on every instance (no run censored); "
              "its speed-up varies with the instance (min, median, max reported)",
              {k: round(sweep[k], 3) for k in ("speedup_min", "speedup_median", "speedup_max")},
              all(x["speedup"] >= 1.0 and not x["censored"] for x in rows),
              status="measured", sensitivity=(
                  "the instance grid (hard contexts, reference probability of the best response) "
                  "and the solver's step size; the exact-regret creator is deterministic")),
        Claim("eva_creators_never_slower_across_instances",
              f"{grid}, every sampled eva creator (max-min, max-mean) reaches worst-context "
              f"regret <= 0.1 in no more solver steps than uniform on every instance (mean over "
              f"{sweep['n_seeds']} seeds, no run censored), but its speed-up is instance-"
              "dependent: min/median/max and the number of instances below the named "
              "instance's 1.25x are reported, so the 1.25x threshold is not general",
              {k: {q: round(v, 3) for q, v in by[k].items()} for k in SAMPLED},
              all(x["speedup_by_creator"][k] >= 1.0 for x in rows for k in SAMPLED)
              and not any(x["censored"] for x in rows),
              status="measured", sensitivity=(
                  "the instance grid, the seeds of the sampled responses (single seeds can be "
                  "slower than uniform where the mean speed-up is near 1, e.g. 8 hard contexts "
                  "with reference probability 0.1) and the solver's step size")),
        Claim("eva_lowers_average_regret",
              f"{named}, averaged over all solver steps, every eva creator also has a lower "
              "average regret over the prompt set than the uniform curriculum",
              area, all(area[v] < area["uniform"] for v in evas),
              status="measured", sensitivity=(
                  "the named instance (16 easy and 4 hard contexts, 8 samples per context), 20 "
                  "seeds")),
        Claim("creator_upweights_hard_contexts",
              f"{named}, over the first half of the rounds every eva creator puts more weight "
              "on the hard contexts than their uniform share",
              {"uniform_share": share, **early}, all(e > share for e in early.values()),
              status="measured", sensitivity=(
                  "the named instance (16 easy and 4 hard contexts, 8 samples per context), 20 "
                  "seeds")),
        Claim("max_min_creator_misreads_hard_contexts_first",
              f"{named}, in the first round the max-min creator gives the hard contexts less "
              "than their uniform share on every seed (the easy contexts' rewards are spread "
              "wider: spread is not regret), while the exact-regret creator gives them more",
              {"uniform_share": share,
               "eva max-min (max over seeds)": float(first["eva max-min"].max()),
               "eva max-min (seed mean)": float(first["eva max-min"].mean()),
               "eva regret (exact)": float(first["eva regret (exact)"][0])},
              bool(first["eva max-min"].max() < share and first["eva regret (exact)"][0] > share),
              status="measured", sensitivity=(
                  "the reward spreads of the named instance (0.8 to 0 in easy contexts, 0.5 to "
                  "0.1 in hard ones), N = 8 samples per context, and the seeds")),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(1, 3, width=4.0, height=3.4)
    steps = np.arange(np.asarray(numbers["uniform"]["worst_regret"]).shape[1])
    rounds = np.arange(numbers["rounds"])
    colors = dict(zip(numbers["variants"], ("k", "C0", "C2", "C3")))
    for name in numbers["variants"]:
        d = numbers[name]
        label = name if name == "uniform" else name + (
            f" (N = {numbers['n_samples']}, {numbers['n_seeds']} seeds)" if name in SAMPLED
            else "")
        band(axes[0, 0], steps, np.asarray(d["worst_regret"], dtype=float), label=label,
             color=colors[name])
        band(axes[0, 1], steps, np.asarray(d["average_regret"], dtype=float), label=label,
             color=colors[name])
        band(axes[0, 2], rounds, np.asarray(d["hard_weight"], dtype=float), label=label,
             color=colors[name])
    ax = axes[0, 0]
    ax.axhline(numbers["threshold"], color="grey", lw=0.8, ls="--")
    for name in numbers["variants"]:
        ax.plot(np.mean(numbers[name]["steps_to_threshold"]), numbers["threshold"], "v",
                color=colors[name], ms=7)
    ax.text(0.03, 0.03, "triangles: first step with\n"
            f"max regret <= {numbers['threshold']} (seed mean)", transform=ax.transAxes,
            ha="left", fontsize=7)
    ax.set_xlabel("solver gradient steps (equal compute)")
    ax.set_ylabel(r"$\max_x$ Regret$(x, \pi_t)$")
    ax.set_title("worst-context regret", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.set_xlabel("solver gradient steps (equal compute)")
    ax.set_ylabel(r"mean$_x$ Regret$(x, \pi_t)$")
    ax.set_title("average regret over the prompt set", fontsize=10)
    ax = axes[0, 2]
    ax.set_xlabel("round (creator update every "
                  f"{numbers['solver_steps']} solver steps)")
    ax.set_ylabel("creator's weight on the hard contexts")
    ax.set_title(f"{numbers['n_hard']} hard of {numbers['n_easy'] + numbers['n_hard']} "
                 "contexts", fontsize=10)
    ax.set_ylim(0, 1)
    fig.suptitle("eva on a contextual bandit: the creator reweights prompts by informativeness "
                 rf"(exact softmax PG solver, $\beta$ = {numbers['beta']}); our analogue, "
                 "no prompt rewriting", fontsize=9)
    save_figure(fig, path)
