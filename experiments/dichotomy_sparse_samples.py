"""The statistical side of the RLHF-DPO dichotomy: a sparse reward is learned from fewer samples.

Shi et al. (2025), "Understanding the Performance Gap in Preference Learning" (arXiv 2505.19770),
Sec. 4, show a separation in a specified model: when the true reward is (implicitly) sparse,
two-stage RLHF, whose reward model only has to find the few relevant directions, needs far fewer
comparisons than DPO, which fits the policy's many parameters directly. Their construction and
rates are not available to us; this is OUR OWN instance of the same mechanism, exact except for
the sampling of the data:

* 30 actions, uniform reference, beta = 0.5;
* 4 reward features psi(y) (random Gaussian, seeded); the true reward uses only the first one,
  r*(y) = 1.5 psi_1(y) (sparse in the feature basis);
* RLHF: ridge BT-MLE in the linear reward class {w . psi}, then the KL-regularised policy in the
  full class (so both classes are realisable: at the population level both methods are optimal);
* DPO: ridge logistic regression in the full (tabular) policy class, 30 parameters;
* data: n pairs y, y' drawn from the reference, labelled by Bradley-Terry on r*; the same ridge
  l2 = 0.1 on the summed likelihood for both (on w for RLHF, on beta*theta for DPO).

The error is the suboptimality max V* - V*(pi_hat), averaged over seeds, against n.
"""

from __future__ import annotations

import numpy as np

from prefrl.plotting import band, new_figure, save_figure
from prefrl.policies import gibbs
from prefrl.registry import Claim
from prefrl.restricted import dpo_restricted_dataset, policy_value, rlhf_restricted_dataset

TITLE = "Sparse reward: suboptimality of RLHF vs DPO against the number of comparisons"
PAPER = (
    "Shi et al. 2025, 'Understanding the Performance Gap in Preference Learning' "
    "(arXiv 2505.19770), Sec. 4 (statistical separation with an implicitly sparse reward)"
)

N_ACTIONS, N_FEATURES, BETA, L2 = 30, 4, 0.5, 0.1


def setup(seed: int = 0) -> dict:
    """Features, the sparse true reward and the uniform reference (seeded, not from the paper)."""
    rng = np.random.default_rng(10_000 + seed)
    psi = rng.normal(size=(N_ACTIONS, N_FEATURES))
    r = 1.5 * psi[:, 0]
    ref = np.full(N_ACTIONS, 1.0 / N_ACTIONS)
    return {"psi": psi, "reward": r, "reference": ref}


def _sample(rng, r, ref, n):
    a = rng.choice(r.size, size=n, p=ref)
    b = rng.choice(r.size, size=n, p=ref)
    first = rng.random(n) < 1.0 / (1.0 + np.exp(-(r[a] - r[b])))
    return np.where(first, a, b), np.where(first, b, a)


def run(quick: bool = False, seed: int = 0) -> dict:
    s = setup(seed)
    psi, r, ref = s["psi"], s["reward"], s["reference"]
    ns = np.array([25, 50, 100, 200, 400, 800] if quick else [25, 50, 100, 200, 400, 800, 1600,
                                                               3200])
    n_seeds = 6 if quick else 40
    v_opt = policy_value(gibbs(ref, r, BETA), r, ref, BETA)
    rng = np.random.default_rng(seed)
    sub = {"rlhf": np.zeros((n_seeds, ns.size)), "dpo": np.zeros((n_seeds, ns.size))}
    eye = np.eye(N_ACTIONS)
    for i in range(n_seeds):
        for j, n in enumerate(ns):
            w, lo = _sample(rng, r, ref, int(n))
            R = rlhf_restricted_dataset(w, lo, psi, eye, ref, BETA, l2=L2, n_starts=1)
            D = dpo_restricted_dataset(w, lo, eye, ref, BETA, l2=L2)
            sub["rlhf"][i, j] = v_opt - policy_value(R.policy, r, ref, BETA)
            sub["dpo"][i, j] = v_opt - policy_value(D.policy, r, ref, BETA)
    return {
        "ns": ns,
        "n_seeds": n_seeds,
        "v_opt": v_opt,
        "suboptimality_rlhf": sub["rlhf"],
        "suboptimality_dpo": sub["dpo"],
        "mean_rlhf": sub["rlhf"].mean(axis=0),
        "mean_dpo": sub["dpo"].mean(axis=0),
        "notes": "Our own sparse-reward instance; the paper's construction and rates are not "
        "available. Same ridge for both methods.",
    }


def claims(numbers: dict) -> list[Claim]:
    mr, md = np.asarray(numbers["mean_rlhf"]), np.asarray(numbers["mean_dpo"])
    ratio = md / mr
    sens = (f"{numbers['n_seeds']} seeds of sampled datasets per n on the stated instance (the "
            "features' seed); the sample sizes")
    return [
        Claim("rlhf_better_at_every_n", "mean suboptimality of RLHF < DPO at every sample size",
              ratio.tolist(), bool(np.all(ratio > 1.0)),
              paper="RLHF needs fewer samples (qualitative)",
              status="measured", sensitivity=sens),
        Claim("large_gap", "the median over n of DPO's / RLHF's mean suboptimality is > 3",
              float(np.median(ratio)), np.median(ratio) > 3.0,
              status="measured", sensitivity=sens),
        Claim("both_consistent", "both errors fall by > 3x from the smallest to the largest n",
              [float(mr[0] / mr[-1]), float(md[0] / md[-1])],
              mr[0] / mr[-1] > 3.0 and md[0] / md[-1] > 3.0,
              status="measured", sensitivity=sens),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(width=5.0, height=3.6)
    ax = axes[0, 0]
    ns = np.asarray(numbers["ns"])
    band(ax, ns, numbers["suboptimality_rlhf"], label="RLHF (4-feature reward model)")
    band(ax, ns, numbers["suboptimality_dpo"], label="DPO (30-parameter policy)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of comparisons n")
    ax.set_ylabel(r"$\max V^* - V^*(\hat\pi)$")
    ax.set_title(f"Sparse reward, {numbers['n_seeds']} seeds (95% band)", fontsize=10)
    ax.legend(fontsize=8)
    save_figure(fig, path)
