"""The reward-KL frontier of the Gibbs policies: no policy earns more reward for the same KL budget.

The KL-regularised optimum pi_beta = pi_ref exp(r/beta)/Z traces, as beta varies, the upper
boundary of the set {(KL(pi || pi_ref), E_pi r)} over all policies: by Lagrangian duality, pi_beta
maximises E_pi r subject to KL(pi || pi_ref) <= KL(pi_beta || pi_ref). This is the frontier that
the DPO paper plots (Rafailov et al. 2023, Fig. 2, left) for learned policies. Here it is exact.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from prefrl.plotting import new_figure, save_figure
from prefrl.policies import gibbs, kl
from prefrl.registry import Claim

TITLE = "Gibbs policies trace the exact reward-KL frontier of a 6-armed bandit"
PAPER = "Rafailov et al. 2023 (DPO), Eq. 4 and the reward-KL frontier of Fig. 2"


def _frontier_reward_at(kl_budget, r, pi_ref):
    """E_{pi_beta} r for the beta with KL(pi_beta || pi_ref) = kl_budget (KL is monotone in beta)."""
    if kl_budget <= 0:
        return float(pi_ref @ r)
    kl_max = -np.log(pi_ref[r == r.max()].sum())
    if kl_budget >= kl_max:
        return float(r.max())

    def gap(log_beta):
        return kl(gibbs(pi_ref, r, np.exp(log_beta)), pi_ref) - kl_budget

    lb = brentq(gap, -12.0, 12.0, xtol=1e-12)
    return float(gibbs(pi_ref, r, np.exp(lb)) @ r)


def run(quick: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    K = 6
    r = np.round(rng.normal(size=K), 3)
    pi_ref = rng.dirichlet(np.ones(K) * 2)
    betas = np.logspace(-2, 2, 40 if quick else 200)
    frontier = np.array([[kl(gibbs(pi_ref, r, b), pi_ref), gibbs(pi_ref, r, b) @ r] for b in betas])
    n = 300 if quick else 5000
    # Random policies of every concentration, from near-deterministic to near-uniform.
    conc = 10 ** rng.uniform(-1.5, 1.5, size=n)
    others = np.array([rng.dirichlet(np.ones(K) * c) for c in conc])
    pts = np.array([[kl(p, pi_ref), p @ r] for p in others])
    excess = np.array([y - _frontier_reward_at(x, r, pi_ref) for x, y in pts])
    return {
        "rewards": r,
        "pi_ref": pi_ref,
        "betas": betas,
        "frontier_kl": frontier[:, 0],
        "frontier_reward": frontier[:, 1],
        "random_kl": pts[:, 0],
        "random_reward": pts[:, 1],
        "max_excess_over_frontier": float(excess.max()),
        "n_random": n,
    }


def claims(numbers: dict) -> list[Claim]:
    return [
        Claim(
            name="no_policy_above_frontier",
            claim="no random policy earns more reward than the Gibbs policy of the same KL "
            "(max excess <= 1e-9)",
            ours=numbers["max_excess_over_frontier"],
            holds=numbers["max_excess_over_frontier"] <= 1e-9,
            status="checked", instances=numbers["n_random"],
        )
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(width=5.0, height=3.6)
    ax = axes[0, 0]
    ax.scatter(
        numbers["random_kl"],
        numbers["random_reward"],
        s=3,
        alpha=0.3,
        color="grey",
        label=f"{numbers['n_random']} random policies",
    )
    ax.plot(
        numbers["frontier_kl"],
        numbers["frontier_reward"],
        color="C3",
        lw=2,
        label=r"Gibbs $\pi_\beta \propto \pi_{ref} e^{r/\beta}$, $\beta \in [10^{-2}, 10^2]$",
    )
    ax.set_xlabel(r"KL$(\pi \,\|\, \pi_{ref})$")
    ax.set_ylabel(r"$\mathbb{E}_\pi r$")
    ax.set_title("Exact reward-KL frontier")
    ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, path)
