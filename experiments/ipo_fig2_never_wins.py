"""IPO paper, Figure 2: "when an action never wins, DPO sets its probability to 0 for every tau".

The dataset printed with the figure, D3 = {(a,b), (b,a)} with "(a,c) unobserved", cannot show this:
c appears in no comparison, so neither loss depends on its logit. A pairwise loss that depends on
the margin only has d loss / d chosen = - d loss / d rejected, so the gradient in theta_c is exactly
zero and c keeps its initial logit under DPO and IPO alike (its probability only moves because
pi(a) and pi(b) fluctuate). We run it as printed and show exactly that.

The claim of the text is reproduced with D = {(a,c), (b,c)}, where c is compared and never wins
(our substitute; most likely what the figure shows, but we could not check the AISTATS PDF):

* DPO: the Bradley-Terry MLE does not exist (c never wins), the loss has no minimiser and
  pi(c) -> 0 for every tau; the exact limit policy (prefrl.bandits.dpo_dataset_optimum) is
  (1/2, 1/2, 0);
* IPO: the least-squares optimum is softmax(1/(2 tau), 1/(2 tau), 0), so pi(c) = 0.2327, 0.1554,
  0.0034 at tau = 1, 0.5, 0.1.

Protocol as for Figure 1 (Azar et al. 2024, Sec. 5.4): softmax logits from zero, uniform pi_ref,
Adam lr 0.01, mini-batch 9 with replacement, 18000 steps (2000 in quick mode), 10 seeds.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from prefrl.experiments._ipo_protocol import plot_panels, run_protocol
from prefrl.plotting import save_figure
from prefrl.registry import Claim

TITLE = "Figure 2: an action that never wins; DPO sends it to 0 for every tau, IPO does not"
PAPER = "Azar et al. 2024, 'A General Theoretical Paradigm to Understand Learning from Human " \
    "Preferences' (IPO), Sec. 5.4 and Fig. 2"

DATASETS = {
    "D3 as printed {(a,b),(b,a)}": np.array([[0, 1], [1, 0]]),
    "substitute {(a,c),(b,c)}": np.array([[0, 2], [1, 2]]),
}
TAUS = (1.0, 0.5, 0.1)
#: pi(c) under IPO on the substitute dataset, as quoted in the issue (closed form).
QUOTED_IPO_PI_C = {1.0: 0.2327, 0.5: 0.1554, 0.1: 0.0034}


def run(quick: bool = False, seed: int = 0) -> dict:
    out = run_protocol(DATASETS, TAUS, quick, rng=seed + 10)
    out["notes"] = (
        "The printed dataset D3 = {(a,b),(b,a)} leaves c out of every comparison, so neither loss "
        "touches its logit: the figure's claim cannot come from it (a typo). We reproduce the claim "
        "with the substitute D = {(a,c),(b,c)}, in which c is compared and never wins."
    )
    return out


def claims(numbers: dict) -> list[Claim]:
    fin, ex = numbers["final"], numbers["exact"]
    out = []
    untouched = all(fin[f"{loss}/0/tau={t}"]["max_abs_logit_change"][2] == 0.0
                    for loss in ("ipo", "dpo") for t in TAUS)
    exact_uniform = all(np.allclose(ex[f"{loss}/0/tau={t}"], 1 / 3, atol=1e-12)
                        for loss in ("ipo", "dpo") for t in TAUS)
    out.append(Claim(
        name="printed_D3_leaves_c_untouched",
        claim="as printed, D3 = {(a,b),(b,a)}: c's logit gets exactly zero gradient under both "
        "losses (theta_c ends exactly where it started in every run) and both exact optima are uniform, so the "
        "printed dataset cannot show the claim",
        ours={"theta_c_zero": untouched, "exact_uniform": exact_uniform},
        paper="claim stated for this dataset (a typo)",
        holds=untouched and exact_uniform,
        status="certified",
    ))
    threshold = 0.005 if numbers["protocol"]["n_steps"] >= 18000 else 0.05
    dpo_c = [float(np.asarray(fin[f"dpo/1/tau={t}"]["last_mean"])[2]) for t in TAUS]
    exact_c = [float(np.asarray(ex[f"dpo/1/tau={t}"])[2]) for t in TAUS]
    out.append(Claim(
        name="dpo_never_wins_to_zero",
        claim=f"substitute {{(a,c),(b,c)}}: DPO's pi(c) -> 0 for every tau (exact limit 0, no "
        f"finite minimiser; trained pi(c) < {threshold})",
        ours={"trained": [round(v, 5) for v in dpo_c], "exact_limit": exact_c},
        paper=[0.0, 0.0, 0.0],
        holds=all(v < threshold for v in dpo_c) and all(v == 0.0 for v in exact_c)
        and not any(ex[f"dpo_exists/1/tau={t}"] for t in TAUS),
        status="measured", sensitivity=(
            "trained over 10 seeds (Adam, lr 0.01, batches of 9): DPO's pi(c) still falls, so the "
            "threshold depends on the run length (0.05 after 2000 steps, 0.005 after 18000)"),
    ))
    for t in TAUS:
        f = fin[f"ipo/1/tau={t}"]
        mean, se = np.asarray(f["mean"]), np.asarray(f["se"])
        exact = np.asarray(ex[f"ipo/1/tau={t}"])
        closed = softmax([0.5 / t, 0.5 / t, 0.0])
        out.append(Claim(
            name=f"ipo_never_wins_tau={t}",
            claim=f"substitute dataset, IPO, tau={t}: pi(c) = softmax(1/(2tau), 1/(2tau), 0)[c] "
            "exactly, and the trained policy is within 4 s.e. of it",
            ours={"exact_pi_c": round(float(exact[2]), 6), "trained_pi_c": round(float(mean[2]), 5),
                  "tolerance": float((4 * se).max())},
            paper=QUOTED_IPO_PI_C[t],
            holds=bool(np.allclose(exact, closed, rtol=1e-12)
                       and abs(exact[2] - QUOTED_IPO_PI_C[t]) < 5e-5
                       and np.all(np.abs(mean - exact) <= 4 * se + 1e-12)),
            status="measured", sensitivity=(
                "trained over 10 seeds (Adam, lr 0.01, 18000 steps, batches of 9); the tolerance "
                "is 4 standard errors"),
        ))
    return out


def plot(numbers: dict, path) -> None:
    fig, axes = plot_panels(numbers, TAUS, exact_ipo=False, title_size=8)
    axes[0, 0].legend(fontsize=6, ncol=2, loc="upper right")
    fig.suptitle("Top: the dataset as printed leaves c untouched (pi(c) stays 1/3 under both). "
                 "Bottom: our substitute, c never wins:\nDPO (dashed) sends pi(c) to 0 for every "
                 "tau, IPO (solid) keeps it at softmax(1/(2tau), 1/(2tau), 0)", fontsize=8)
    save_figure(fig, path)
