"""IPO paper, Figure 1: DPO turns greedy on a total order, IPO stays regularised.

Setup (Azar et al. 2024, Sec. 5.4): three actions (a, b, c), the policy softmax(theta) with theta
started at zero, uniform pi_ref, each pair sampled once. D1 = {(a,b), (b,c), (a,c)} (a total
order), D2 = {(a,b), (b,c), (c,a)} (a cycle). Adam with lr 0.01, 18000 steps, mini-batches of 9
drawn uniformly with replacement, 10 seeds, tau in {0.1, 0.5, 1}; mean and 95% band over seeds.

Ambiguities, and what we do:

* the batch size is 9 in the arXiv text but 90 in the AISTATS appendix (as cited by TRL's paper
  index); we use 9. With replacement, the batch size only scales the gradient noise;
* the text states a uniform pi_ref for Sec. 5.3.1 only; we assume it here too;
* the tau grid is only in the figure; we use {0.1, 0.5, 1}.

The paper reports curves, not numbers. The IPO fixed points on D1 are the least-squares solution
g_a - g_b = g_b - g_c = 1/(3 tau), computed exactly by prefrl.bandits.ipo_dataset_optimum:
(0.9644, 0.0344, 0.0012), (0.5627, 0.2889, 0.1483), (0.4484, 0.3213, 0.2302); the exact DPO
"optimum" on D1 does not exist (c never wins, a never loses) and its limit is (1, 0, 0). On D2 both
exact optima are uniform. With a constant learning rate, Adam hovers around the fixed point; the
claims compare the seed mean of the time-averaged policy over the last quarter of the run with the
closed form, within 4 standard errors across seeds (the protocol's own noise).
"""

from __future__ import annotations

import numpy as np

from prefrl.experiments._ipo_protocol import plot_panels, run_protocol
from prefrl.plotting import save_figure
from prefrl.registry import Claim

TITLE = "Figure 1: action probabilities under DPO and IPO on a total order (D1) and a cycle (D2)"
PAPER = "Azar et al. 2024, 'A General Theoretical Paradigm to Understand Learning from Human " \
    "Preferences' (IPO), Sec. 5.4 and Fig. 1"

DATASETS = {"D1": np.array([[0, 1], [1, 2], [0, 2]]), "D2": np.array([[0, 1], [1, 2], [2, 0]])}
TAUS = (0.1, 0.5, 1.0)
#: The targets as quoted in the issue (closed form; the paper shows only the curves).
QUOTED_IPO_D1 = {0.1: (0.9644, 0.0344, 0.0012), 0.5: (0.5627, 0.2889, 0.1483),
                 1.0: (0.4484, 0.3213, 0.2302)}


def run(quick: bool = False, seed: int = 0) -> dict:
    out = run_protocol(DATASETS, TAUS, quick, rng=seed)
    out["notes"] = (
        "batch 9 (arXiv) not 90 (AISTATS App. C.1); uniform pi_ref assumed; tau grid "
        "{0.1, 0.5, 1} assumed; the paper reports curves only; the quoted IPO values are the exact "
        "least-squares optimum; Adam noise is compared at 4 standard errors across seeds of the "
        "time-averaged policy (last quarter of the run)."
    )
    return out


def claims(numbers: dict) -> list[Claim]:
    out = []
    fin, ex = numbers["final"], numbers["exact"]
    for t in TAUS:
        k = f"ipo/0/tau={t}"
        mean, se, exact = (np.asarray(fin[k]["mean"]), np.asarray(fin[k]["se"]),
                           np.asarray(ex[k]))
        out.append(Claim(
            name=f"ipo_D1_tau={t}",
            claim=f"IPO on D1, tau={t}: trained policy within 4 s.e. of the closed form "
            "g_a - g_b = g_b - g_c = 1/(3 tau); the closed form matches the quoted values (5e-5)",
            ours={"trained": mean.round(4).tolist(), "exact": exact.round(4).tolist(),
                  "tolerance": float((4 * se).max())},
            paper=list(QUOTED_IPO_D1[t]),
            holds=bool(np.all(np.abs(mean - exact) <= 4 * se + 1e-12)
                       and np.all(np.abs(exact - QUOTED_IPO_D1[t]) < 5e-5)),
            status="measured", sensitivity=(
                "trained over 10 seeds (Adam, lr 0.01, 18000 steps, batches of 9); the tolerance "
                "is 4 standard errors"),
        ))
    dpo_a = [float(np.asarray(fin[f"dpo/0/tau={t}"]["last_mean"])[0]) for t in TAUS]
    ipo_a = [float(np.asarray(fin[f"ipo/0/tau={t}"]["last_mean"])[0]) for t in TAUS]
    # DPO's logits grow without bound (slowly): after the quick run's 2000 steps pi(a) is past
    # 0.95 and still rising; after the paper's 18000 steps it is past 0.999.
    threshold = 0.999 if numbers["protocol"]["n_steps"] >= 18000 else 0.95
    steps = np.asarray(numbers["runs"]["dpo"]["steps"])
    k34 = int(np.searchsorted(steps, steps[-1] * 3 // 4))
    rising = all(
        np.asarray(numbers["runs"]["dpo"]["mean"][f"0/tau={t}"])[-1, 0]
        >= np.asarray(numbers["runs"]["dpo"]["mean"][f"0/tau={t}"])[k34, 0]
        for t in TAUS
    )
    out.append(Claim(
        name="dpo_D1_greedy",
        claim=f"DPO on D1 goes to the deterministic (1, 0, 0) for every tau: exact limit (no finite "
        f"minimiser); trained pi(a) > {threshold}, still rising, above IPO's",
        ours={"trained_pi_a": [round(v, 5) for v in dpo_a],
              "exact": [np.asarray(ex[f"dpo/0/tau={t}"]).tolist() for t in TAUS]},
        paper=[1.0, 1.0, 1.0],
        holds=all(v > threshold for v in dpo_a) and rising
        and all(d > i for d, i in zip(dpo_a, ipo_a))
        and all(np.asarray(ex[f"dpo/0/tau={t}"]).tolist() == [1.0, 0.0, 0.0] for t in TAUS)
        and not any(ex[f"dpo_exists/0/tau={t}"] for t in TAUS),
        status="measured", sensitivity=(
            "trained over 10 seeds (Adam, lr 0.01, batches of 9): DPO's pi(a) still rises, so the "
            "threshold depends on the run length (0.95 after 2000 steps, 0.999 after 18000)"),
    ))
    ok, worst = True, 0.0
    for loss in ("ipo", "dpo"):
        for t in TAUS:
            k = f"{loss}/1/tau={t}"
            mean, se = np.asarray(fin[k]["mean"]), np.asarray(fin[k]["se"])
            ok &= bool(np.allclose(ex[k], 1 / 3, atol=1e-12))
            ok &= bool(np.all(np.abs(mean - 1 / 3) <= 4 * se + 1e-12))
            worst = max(worst, float(np.abs(mean - 1 / 3).max()))
    out.append(Claim(
        name="D2_cycle_uniform",
        claim="on the cycle D2 both losses stay uniform: exact optima uniform, trained policies "
        "within 4 s.e. of 1/3",
        ours={"max_deviation": round(worst, 5)},
        paper="uniform (text)",
        holds=ok,
        status="measured", sensitivity=(
            "trained over 10 seeds (Adam, lr 0.01, 18000 steps, batches of 9); the tolerance is 4 "
            "standard errors"),
    ))
    return out


def plot(numbers: dict, path) -> None:
    fig, axes = plot_panels(numbers, TAUS, exact_ipo=True, title_size=9)
    axes[0, 0].legend(fontsize=6, ncol=2, loc="center right")
    fig.suptitle("IPO (solid) vs DPO (dashed); dotted: exact IPO optimum; bands: 95% over "
                 f"{numbers['protocol']['n_seeds']} seeds", fontsize=9)
    save_figure(fig, path)
