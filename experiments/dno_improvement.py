"""DNO and SPPO: every step wins against the previous iterate; the regression recovers the SPI target.

Setup (Rosset et al. 2024, "Direct Nash Optimization", Alg. 1 and 2, Sec. 3.1; Wu et al. 2025,
SPPO): a random intransitive preference matrix over 8 responses and a skewed initial policy.

- Left: the conceptual DNO step pi_{t+1} = pi_t exp(r_t/eta)/Z (r_t the win rate against pi_t)
  wins against pi_t with probability at least 1/2 + eta KL(pi_{t+1} || pi_t) (Sec. 3.1); we plot
  both sides over the iterations. The worst margin over many random instances, temperatures and
  steps is recorded.
- Middle: exploitability over iterations, of the average and of the last iterate, for conceptual
  DNO, batched on-policy DNO (8 samples per iteration, win rates estimated from sampled
  comparisons, soft-label regression against the previous iterate; mean over seeds), SPPO with
  sampled win rates, and reward-model RLHF (Bradley-Terry) for reference.
- The DNO regression (Eq. 11-12) is minimised numerically on random instances; its minimiser's
  log-ratio differences match the soft-policy-iteration target's, r_t(y1) - r_t(y2), to 1e-10.

The paper's experiments are LLM-scale (AlpacaEval win rates, Table 1); only its bandit statements
are reproduced here. Batched DNO uses soft labels sigma(r_hat(y1) - r_hat(y2)) (Eq. 11) rather
than the hard large-margin pairs of Alg. 2 (unbounded in a tabular class); see prefrl.games.dno.
Here eta is the paper's temperature, the KL weight ``beta`` of prefrl.games.dno; the random
instances are prefrl.games.random_learner_instance, the same that ``prefrl check`` draws.
"""

from __future__ import annotations

import numpy as np

from prefrl.games import (
    bt_rlhf,
    dno,
    dno_regression_minimiser,
    exploitability,
    one_step_improvement,
    random_learner_instance,
    sppo,
)
from prefrl.plotting import band, new_figure, save_figure
from prefrl.preferences import random_preference_matrix
from prefrl.registry import Claim

TITLE = "DNO/SPPO: P(pi_{t+1} > pi_t) >= 1/2 + eta KL(pi_{t+1}||pi_t); regression = SPI target"
PAPER = "Rosset et al. 2024 (DNO), Sec. 3.1, Eq. 9 and 11-12, Alg. 1-2; Wu et al. 2025 (SPPO)"


def run(quick: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    K = 8
    P = random_preference_matrix(K, rng)
    init = rng.dirichlet(0.5 * np.ones(K))
    T = 60 if quick else 300
    eta = float(np.sqrt(T / (8 * np.log(K))))  # DNO temperature = 1 / (Hedge's tuned step)
    ex = dno(P, T, beta=eta, init=init)
    pis = ex.policies
    win, lower = one_step_improvement(P, pis, eta)
    n_seeds = 4 if quick else 16
    batched_avg = np.empty((n_seeds, T))
    batched_last = np.empty((n_seeds, T))
    sppo_avg = np.empty((n_seeds, T))
    for s in range(n_seeds):
        b = dno(P, T, beta=eta, init=init, mode="batched", n_samples=8, rng=seed * 1000 + s)
        batched_avg[s] = b.exploitability
        batched_last[s] = exploitability(P, b.policies[1:])
        sp = sppo(P, T, eta=1 / eta, init=init, n_samples=8, rng=seed * 1000 + 500 + s)
        sppo_avg[s] = sp.exploitability
    bt = bt_rlhf(P, 50, beta=0.01)
    # Many random instances: worst margin of the improvement bound, worst regression error.
    n_inst = 40 if quick else 400
    margins, errors = [], []
    for _ in range(n_inst):
        inst = random_learner_instance(rng)
        margins.append(_worst_shortfall(inst))
        errors.append(_regression_error(inst))
    return {
        "P": P,
        "init": init,
        "eta": eta,
        "T": T,
        "win_rate": win,
        "lower_bound": lower,
        "dno_exact_average": ex.exploitability,
        "dno_exact_last": np.asarray(exploitability(P, pis[1:])),
        "dno_batched_average": batched_avg,
        "dno_batched_last": batched_last,
        "sppo_sampled_average": sppo_avg,
        "bt_rlhf_exploitability": float(exploitability(P, bt.last_policy)),
        "initial_exploitability": float(exploitability(P, init)),
        "worst_improvement_shortfall": float(max(margins)),
        "worst_regression_error": float(max(errors)),
        "n_instances": n_inst,
        "notes": "eta is DNO's temperature (divides the win rate); SPPO uses step 1/eta. "
        "Batched curves are means over seeds with 95% bands.",
    }


def _worst_shortfall(inst: dict) -> float:
    """Largest 1/2 + eta KL(pi_{t+1} || pi_t) - P(pi_{t+1} > pi_t) over min(T, 20) DNO steps."""
    P, eta = inst["P"], inst["eta"]
    res = dno(P, min(inst["T"], 20), beta=eta, init=inst["init"])
    win, lower = one_step_improvement(P, res.policies, eta)
    return float(max(0.0, (lower - win).max()))


def _regression_error(inst: dict) -> float:
    """Largest |u_i - u_j - (r_i - r_j)| at the minimiser u of the DNO regression, r = P pi_t."""
    P, prev = inst["P"], inst["init"]
    if P.shape[0] < 2:
        return 0.0
    r = P @ prev
    u = dno_regression_minimiser(prev, r, inst["eta"])
    i, j = np.triu_indices(P.shape[0], 1)
    return float(np.abs(u[i] - u[j] - (r[i] - r[j])).max())


def claims(numbers: dict) -> list[Claim]:
    gap = numbers["win_rate"] - numbers["lower_bound"]
    init = numbers["initial_exploitability"]
    b_final = float(np.mean(numbers["dno_batched_average"][:, -1]))
    return [
        Claim(
            name="one_step_improvement",
            claim="P(pi_{t+1} > pi_t) >= 1/2 + eta KL(pi_{t+1} || pi_t) at every step, on the "
            f"figure's game and on {numbers['n_instances']} random instances (worst shortfall "
            "<= 1e-12)",
            ours={"min_margin_main": float(gap.min()),
                  "worst_shortfall": numbers["worst_improvement_shortfall"]},
            paper=">= 0.5 + eta KL",
            holds=gap.min() >= -1e-12 and numbers["worst_improvement_shortfall"] <= 1e-12,
            status="checked", instances=numbers["n_instances"] + 1,
        ),
        Claim(
            name="regression_is_spi_target",
            claim="the minimiser of the DNO soft-label regression (found by Newton's method on the "
            "loss) has the SPI target's log-ratio differences r_t(y1) - r_t(y2), on "
            f"{numbers['n_instances']} random instances (max error <= 1e-10)",
            ours=numbers["worst_regression_error"],
            paper="Eq. 9 (exact in the realisable case)",
            holds=numbers["worst_regression_error"] <= 1e-10,
            status="checked", instances=numbers["n_instances"],
        ),
        Claim(
            name="exploitability_decreases",
            claim="the average iterate's exploitability falls below 1/3 of the initial policy's, "
            "for conceptual and batched DNO, and ends below BT-RLHF's",
            ours={"initial": init, "dno_exact": float(numbers["dno_exact_average"][-1]),
                  "dno_batched": b_final, "bt_rlhf": numbers["bt_rlhf_exploitability"]},
            holds=numbers["dno_exact_average"][-1] < init / 3 and b_final < init / 3
            and b_final < numbers["bt_rlhf_exploitability"],
            status="measured", sensitivity=(
                "the game, the step eta, the number of iterations and (batched DNO) the sample "
                "size"),
        ),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(1, 2, width=4.8, height=3.5)
    ax = axes[0, 0]
    t = np.arange(1, numbers["T"] + 1)
    ax.plot(t, numbers["win_rate"], label=r"$P(\pi_{t+1} \succ \pi_t)$")
    ax.plot(t, numbers["lower_bound"], "--", label=r"$1/2 + \eta\,$KL$(\pi_{t+1}\|\pi_t)$")
    ax.axhline(0.5, color="grey", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("iteration t")
    ax.set_ylabel("win probability")
    ax.set_title(f"Conceptual DNO, eta = {numbers['eta']:.2f}")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.plot(t, numbers["dno_exact_average"], color="C0", label="DNO conceptual: average")
    ax.plot(t, numbers["dno_exact_last"], ":", color="C0", label="  last iterate")
    band(ax, t, numbers["dno_batched_average"], color="C1", label="DNO batched: average")
    band(ax, t, numbers["dno_batched_last"], color="C1", label="  last iterate")
    ax.lines[-1].set_linestyle(":")
    band(ax, t, numbers["sppo_sampled_average"], color="C2", label="SPPO sampled: average")
    ax.axhline(numbers["bt_rlhf_exploitability"], color="C3", ls="--", label="BT-RLHF")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration t")
    ax.set_ylabel("exploitability")
    ax.set_title("Towards the minimax winner")
    ax.legend(fontsize=6)
    save_figure(fig, path)
