"""Reward-KL frontiers of inference-time alignment: best-of-n, Q-probe and VAS against the optimum.

Every point is exact (no Monte Carlo): the law of each sampling rule is computed in closed form by
prefrl.inference_time, and set against the exact KL-constrained optimum (the Gibbs tilt
pi_ref e^{r/beta}/Z at the KL weight that spends the same KL; prefrl.policies.gibbs).

Left panel, an 8-armed bandit (rewards and reference drawn from the seed):
- best-of-n for n = 1..N (Beirami et al. 2024): its law, its KL and the bound log n - (n-1)/n;
- Q-probe with q = r for three temperatures beta and k = 1, 2, 4, ... draws (Li et al. 2024),
  which starts at pi_ref (k = 1) and tends to the Gibbs point of the same beta;
- the optimum's frontier.
Right panel, a token tree (vocabulary 3, depth 3, Gaussian sequence rewards, a random base
policy): the sequence-level (KL, reward) of VAS (Han et al. 2024) over a grid of KL weights,
against the sequence-level frontier and best-of-n over whole sequences.

Setup and thresholds are ours: the papers have no tabular figure. The bound of Beirami et al.
(2024, Thm. 3.1) is an upper bound, strict for n >= 2: at a fixed reference it is not tight as n
grows (the KL stays below -log pi_ref(best)), it is tight in the continuous limit (uniform
reference over K distinct rewards, K -> infinity). "Best-of-n is nearly optimal" (Beirami et al.
2024, Sec. 7; Yang et al. 2024, "Asymptotics of language model alignment", show an asymptotic
equivalence for long sequences) is measured here as the share of the optimum's reward gain that
best-of-n attains at the same KL; on small bandits it is smallest at n = 2. VAS tilts by the
base policy's values: it is the optimum on a depth-1 tree and one step of soft policy iteration
on deeper ones (positive objective gap).
"""

from __future__ import annotations

import itertools

import numpy as np

from prefrl.inference_time import (
    best_of_n_distribution,
    kl_constrained_optimum,
    q_probe_distribution,
    soft_policy_iteration,
    vas_vs_optimum,
)
from prefrl.mdp.envs import token_tree
from prefrl.plotting import new_figure, save_figure
from prefrl.policies import gibbs, kl
from prefrl.registry import Claim

TITLE = "Best-of-n, Q-probe and VAS against the exact reward-KL frontier"
PAPER = (
    "Beirami et al. 2024, 'Theoretical guarantees on the best-of-n alignment policy' (Thm. 3.1); "
    "Li et al. 2024, 'Q-Probe' (Thm. 3.1); Han et al. 2024, 'Value Augmented Sampling'; "
    "Yang et al. 2024, 'Asymptotics of language model alignment'"
)

NEAR_OPTIMAL_SHARE = 0.85  # the median share of the optimum's gain best-of-n keeps at worst n


def _worst_share(pi, r, ns):
    """Smallest share, over n in ns, of the optimum's reward gain that best-of-n attains."""
    base = float(pi @ r)
    shares = []
    for n in ns:
        bn = best_of_n_distribution(pi, r, int(n))
        shares.append((bn.value - base) / (kl_constrained_optimum(pi, r, bn.kl).value - base))
    return float(min(shares))


def _enumerate_laws(pi, r, m, beta):
    """Best-of-m and Q-probe laws by listing every tuple of m draws (vectorised enumeration)."""
    K = pi.size
    tuples = np.array(list(itertools.product(range(K), repeat=m)))
    prob = np.prod(pi[tuples], axis=1)
    vals = r[tuples]
    best = vals == vals.max(axis=1, keepdims=True)
    bon_w = best / best.sum(axis=1, keepdims=True)
    z = vals / beta
    qp_w = np.exp(z - z.max(axis=1, keepdims=True))
    qp_w = qp_w / qp_w.sum(axis=1, keepdims=True)
    bon, qp = np.zeros(K), np.zeros(K)
    np.add.at(bon, tuples.ravel(), (prob[:, None] * bon_w).ravel())
    np.add.at(qp, tuples.ravel(), (prob[:, None] * qp_w).ravel())
    return bon, qp


def _bandit(rng, quick):
    K = 8
    r = np.round(rng.normal(size=K), 3)
    pi = rng.dirichlet(np.full(K, 2.0))
    n_max = 64 if quick else 256
    ns = np.arange(1, n_max + 1)
    bon = [best_of_n_distribution(pi, r, int(n)) for n in ns]
    opt = [kl_constrained_optimum(pi, r, b.kl) for b in bon]
    base = float(pi @ r)
    # the share of the optimum's gain, for n >= 2 (at n = 1 both gains are rounding noise)
    share = [1.0] + [
        (bb.value - base) / (o.value - base) for bb, o in zip(bon[1:], opt[1:], strict=True)
    ]
    betas_frontier = np.logspace(-2.5, 1.5, 60 if quick else 200)
    front = [gibbs(pi, r, b) for b in betas_frontier]
    # enumeration on the figure's own bandit (with a tied copy of the reward), m <= 3 draws
    r_tied = np.where(r > np.median(r), np.round(r), r)
    enum_err_bon, enum_err_qp, n_enum = 0.0, 0.0, 0
    for rr in (r, r_tied):
        for m in (1, 2, 3):
            for beta in (0.3, 1.0):
                e_bon, e_qp = _enumerate_laws(pi, rr, m, beta)
                enum_err_bon = max(
                    enum_err_bon,
                    float(np.max(np.abs(best_of_n_distribution(pi, rr, m).policy - e_bon))),
                )
                for method in ("multinomial", "laplace"):
                    enum_err_qp = max(
                        enum_err_qp,
                        float(
                            np.max(
                                np.abs(
                                    q_probe_distribution(pi, rr, beta, m, method=method).policy
                                    - e_qp
                                )
                            )
                        ),
                    )
                n_enum += 1
    # Q-probe with q = r
    qp_betas = [0.25, 0.5, 1.0]
    ks = [2**j for j in range(0, 13 if quick else 15)]
    qprobe = {}
    for beta in qp_betas:
        res = [q_probe_distribution(pi, r, beta, k) for k in ks]
        w = np.exp((r - r.max()) / beta)
        mu = float(pi @ w)
        var = float(pi @ (w - mu) ** 2)
        star = res[0].gibbs_limit
        rate = 0.5 * float(np.sum(star * np.abs(mu - w + var / mu)) / mu)
        opt_at = [kl_constrained_optimum(pi, r, q.kl).value for q in res]
        qprobe[str(beta)] = {
            "k": ks,
            "kl": [q.kl for q in res],
            "reward": [q.value for q in res],
            "tv": [q.tv_to_limit for q in res],
            "k_times_tv": [k * q.tv_to_limit for k, q in zip(ks, res, strict=True)],
            "predicted_k_times_tv": rate,
            "k1_error": float(np.max(np.abs(res[0].policy - pi))),
            "excess_over_frontier": float(
                max(q.value - o for q, o in zip(res, opt_at, strict=True))
            ),
            "gibbs_kl": float(kl(star, pi)),
            "gibbs_reward": float(star @ r),
        }
    n_random = 30 if quick else 200
    worst = [
        _worst_share(rng.dirichlet(np.full(K, 2.0)), rng.normal(size=K), range(2, 17))
        for _ in range(n_random)
    ]
    return {
        "random_worst_share": worst,
        "n_random": n_random,
        "rewards": r,
        "pi_ref": pi,
        "n": ns,
        "bon_kl": [b.kl for b in bon],
        "bon_reward": [b.value for b in bon],
        "bon_bound": [b.kl_bound for b in bon],
        "opt_reward_at_bon_kl": [o.value for o in opt],
        "bon_share_of_gain": share,
        "kl_top": float(-np.log(pi[r == r.max()].sum())),
        "frontier_kl": [float(kl(p, pi)) for p in front],
        "frontier_reward": [float(p @ r) for p in front],
        "enum_err_bon": enum_err_bon,
        "enum_err_qp": enum_err_qp,
        "n_enum": n_enum,
        "q_probe": qprobe,
    }


def _continuous_limit(n=4):
    Ks = [10, 100, 1000, 10000]
    gaps = []
    for K in Ks:
        b = best_of_n_distribution(np.full(K, 1.0 / K), np.arange(K, dtype=float), n)
        gaps.append(b.kl_bound - b.kl)
    return {"n": n, "K": Ks, "gap": gaps}


def _tree(rng, quick):
    V, H = 3, 3
    tree = token_tree(V, H, sequence_rewards=rng.normal(size=V**H))
    pi0 = rng.dirichlet(np.full(V, 1.5), size=tree.n_states)
    betas = np.logspace(-1.3, 1.0, 12 if quick else 40)
    comps = [vas_vs_optimum(tree, pi0, b) for b in betas]
    R, p0 = comps[0].sequence_rewards, comps[0].base_sequence_law
    front = [gibbs(p0, R, b) for b in np.logspace(-2.5, 1.5, 60 if quick else 200)]
    vas_opt_at = [kl_constrained_optimum(p0, R, c.kl).value for c in comps]
    bon = [best_of_n_distribution(p0, R, n) for n in range(1, 33)]
    spi = soft_policy_iteration(tree, pi0, float(betas[len(betas) // 2]), H)
    # random trees: depth 1 (gap 0) and depth >= 2 with Gaussian rewards (gap > 0)
    n_random = 20 if quick else 150
    max_gap_depth1, min_gap_deep = 0.0, np.inf
    for _ in range(n_random):
        Vr = int(rng.integers(2, 4))
        beta = float(10 ** rng.uniform(-1, 1))
        t1 = token_tree(Vr, 1, sequence_rewards=rng.normal(size=Vr))
        c1 = vas_vs_optimum(t1, rng.dirichlet(np.ones(Vr), size=t1.n_states), beta)
        max_gap_depth1 = max(max_gap_depth1, abs(c1.gap))
        Hr = int(rng.integers(2, 5))
        td = token_tree(Vr, Hr, sequence_rewards=rng.normal(size=Vr**Hr))
        cd = vas_vs_optimum(td, rng.dirichlet(np.ones(Vr), size=td.n_states), beta)
        min_gap_deep = min(min_gap_deep, cd.gap)
    return {
        "betas": betas,
        "vas_kl": [c.kl for c in comps],
        "vas_reward": [c.reward for c in comps],
        "opt_kl": [c.optimum_kl for c in comps],
        "opt_reward": [c.optimum_reward for c in comps],
        "gap": [c.gap for c in comps],
        "opt_reward_at_vas_kl": vas_opt_at,
        "gibbs_certificate": float(max(c.certificate for c in comps)),
        "frontier_kl": [float(kl(p, p0)) for p in front],
        "frontier_reward": [float(p @ R) for p in front],
        "bon_kl": [b.kl for b in bon],
        "bon_reward": [b.value for b in bon],
        "spi_objectives": spi.objectives,
        "spi_certificate": spi.certificate,
        "spi_optimum": float(comps[len(betas) // 2].optimum_value),
        "depth": H,
        "n_random": n_random,
        "max_gap_depth1": float(max_gap_depth1),
        "min_gap_deep": float(min_gap_deep),
    }


def run(quick: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "bandit": _bandit(rng, quick),
        "continuous_limit": _continuous_limit(),
        "tree": _tree(rng, quick),
        "near_optimal_share": NEAR_OPTIMAL_SHARE,
        "notes": "Setup ours (the papers have no tabular figure). The best-of-n KL formula "
        "log n - (n-1)/n is an upper bound (Beirami et al. 2024), strict for n >= 2: not tight as "
        "n grows at a fixed reference, tight only in the continuous limit. 'Nearly optimal' is "
        "measured as best-of-n's share of the optimum's reward gain at the same KL.",
    }


def claims(numbers: dict) -> list[Claim]:
    b, t, c = numbers["bandit"], numbers["tree"], numbers["continuous_limit"]
    kl_, bound = np.array(b["bon_kl"]), np.array(b["bon_bound"])
    n = np.array(b["n"])
    bound_gap = bound - kl_
    excess = float(np.max(np.array(b["bon_reward"]) - np.array(b["opt_reward_at_bon_kl"])))
    share = float(min(b["bon_share_of_gain"]))
    med, worst = float(np.median(b["random_worst_share"])), float(min(b["random_worst_share"]))
    qp = b["q_probe"]
    k1 = max(v["k1_error"] for v in qp.values())
    rate_err = max(
        abs(v["k_times_tv"][-1] - v["predicted_k_times_tv"]) / v["predicted_k_times_tv"]
        for v in qp.values()
    )
    tv_decreasing = all(np.all(np.diff(v["tv"]) < 0) for v in qp.values())
    qp_excess = max(v["excess_over_frontier"] for v in qp.values())
    vas_excess = float(np.max(np.array(t["vas_reward"]) - np.array(t["opt_reward_at_vas_kl"])))
    spi = np.array(t["spi_objectives"])
    return [
        Claim(
            "bon_law_equals_enumeration",
            "the best-of-n law (ties split in proportion to "
            "pi_ref) equals the enumeration of every tuple of m <= 3 draws, with distinct and "
            "tied rewards (max error <= 1e-12)",
            b["enum_err_bon"],
            b["enum_err_bon"] <= 1e-12,
            status="checked",
            instances=b["n_enum"],
        ),
        Claim(
            "bon_kl_bound_holds_strictly",
            "KL(pi_n || pi_ref) <= log n - (n-1)/n for every n, "
            "strictly for n >= 2 (min gap over n >= 2)",
            float(np.min(bound_gap[n >= 2])),
            bool(np.all(bound_gap >= -1e-12) and np.all(bound_gap[n >= 2] > 0)),
            paper="log n - (n-1)/n is an upper bound (Thm. 3.1)",
            status="checked",
            instances=int(n.size),
        ),
        Claim(
            "bon_bound_loose_as_n_grows",
            "at a fixed reference the bound is not tight as n "
            "grows: the KL stays below -log pi_ref(best) while the bound grows like log n (the "
            "gap at the largest n exceeds the gap at n = 2)",
            [float(bound_gap[1]), float(bound_gap[-1]), b["kl_top"]],
            bool(bound_gap[-1] > bound_gap[1] and kl_[-1] <= b["kl_top"] + 1e-12),
            status="argued",
        ),
        Claim(
            "bon_bound_tight_in_continuous_limit",
            "uniform reference over K distinct rewards, "
            "n = 4: the gap bound - KL decreases with K and is below 1e-6 at K = 10^4",
            c["gap"],
            bool(np.all(np.diff(c["gap"]) < 0) and c["gap"][-1] < 1e-6),
            status="measured",
            sensitivity="the gap decays like 1/K^2 for uniform references "
            "(0.0075 at K = 10); it is larger for larger n",
        ),
        Claim(
            "bon_below_optimal_frontier",
            "best-of-n earns no more reward than the KL-constrained "
            "optimum of the same KL, at every n (max excess <= 1e-9)",
            excess,
            excess <= 1e-9,
            status="checked",
            instances=int(n.size),
        ),
        Claim(
            "bon_nearly_optimal",
            "best-of-n keeps most of the optimum's reward gain over pi_ref at the same KL: over "
            "random 8-armed bandits, the median of the smallest share over n = 2..16 is "
            f">= {NEAR_OPTIMAL_SHARE} (ours: [median, worst random bandit, the figure's bandit "
            "over every n])",
            [med, worst, share],
            med >= NEAR_OPTIMAL_SHARE,
            paper="best-of-n is asymptotically equivalent to the KL-constrained optimum "
            "(Yang et al. 2024); very good trade-offs (Beirami et al. 2024, Sec. 7)",
            status="measured",
            sensitivity="instance-dependent: Dirichlet(2) references and Gaussian rewards on 8 "
            "arms; the worst random bandits keep only about 60-70%, so near-optimality is "
            "typical, not uniform, on small discrete bandits",
        ),
        Claim(
            "q_probe_law_equals_enumeration",
            "the Q-probe law (multinomial sum and the integral "
            "form) equals the enumeration of every tuple of k <= 3 draws (max error <= 1e-12)",
            b["enum_err_qp"],
            b["enum_err_qp"] <= 1e-12,
            status="checked",
            instances=b["n_enum"],
        ),
        Claim(
            "q_probe_k1_is_reference",
            "Q-probe with k = 1 returns pi_ref (max error <= 1e-14)",
            k1,
            k1 <= 1e-14,
            status="checked",
            instances=len(qp),
        ),
        Claim(
            "q_probe_tends_to_gibbs",
            "the total variation between the Q-probe law and the Gibbs "
            "tilt pi_ref e^{q/beta}/Z decreases in k, and k TV tends to the derived constant "
            "(1/2) sum pi*(y) |mu - w_y + sigma^2/mu| / mu (relative error <= 5% at the largest "
            "k)",
            [float(rate_err)],
            bool(tv_decreasing and rate_err <= 0.05),
            paper="converges to the KL-constrained optimum as k grows (Thm. 3.1)",
            status="measured",
            sensitivity="the constant depends on pi_ref, q and beta; the "
            "relative error at the largest k shrinks like 1/k",
        ),
        Claim(
            "q_probe_below_frontier",
            "Q-probe earns no more reward than the optimum of the same "
            "KL, at every k and beta (max excess <= 1e-9)",
            qp_excess,
            qp_excess <= 1e-9,
            status="checked",
            instances=sum(len(v["k"]) for v in qp.values()),
        ),
        Claim(
            "vas_depth1_is_optimal",
            "on depth-1 trees VAS is the KL-regularised optimum: "
            "objective gap 0 (max |gap| <= 1e-12)",
            t["max_gap_depth1"],
            t["max_gap_depth1"] <= 1e-12,
            status="checked",
            instances=t["n_random"],
        ),
        Claim(
            "vas_gap_positive_on_deep_trees",
            "on trees of depth 2-4 with Gaussian rewards, and "
            "at every KL weight on the figure's tree, the optimum's objective exceeds VAS's "
            "(VAS is one step of soft policy iteration)",
            [t["min_gap_deep"], float(min(t["gap"]))],
            bool(t["min_gap_deep"] > 1e-12 and min(t["gap"]) > 1e-12),
            status="checked",
            instances=t["n_random"] + len(t["gap"]),
        ),
        Claim(
            "vas_below_frontier",
            "VAS's sequence-level (KL, reward) lies on or below the "
            "sequence-level frontier (max excess <= 1e-9), and the optimum is the sequence Gibbs "
            "tilt (error <= 1e-12)",
            [vas_excess, t["gibbs_certificate"]],
            bool(vas_excess <= 1e-9 and t["gibbs_certificate"] <= 1e-12),
            status="checked",
            instances=len(t["gap"]),
        ),
        Claim(
            "soft_policy_iteration_exact_after_depth",
            "soft policy iteration from the base "
            "policy (step 1 = VAS) improves at every step and reaches the optimum after depth "
            "(= 3) steps (certificate and value error <= 1e-12)",
            [t["spi_certificate"], float(abs(spi[-1] - t["spi_optimum"]))],
            bool(
                np.all(np.diff(spi) >= -1e-12)
                and t["spi_certificate"] <= 1e-12
                and abs(spi[-1] - t["spi_optimum"]) <= 1e-12
            ),
            status="checked",
            instances=1,
        ),
    ]


def plot(numbers: dict, path) -> None:
    b, t = numbers["bandit"], numbers["tree"]
    fig, axes = new_figure(1, 2, width=5.0, height=3.8)
    ax = axes[0, 0]
    ax.plot(
        b["frontier_kl"],
        b["frontier_reward"],
        color="k",
        lw=1.5,
        label=r"optimum $\pi_{ref}e^{r/\beta}/Z$",
    )
    ax.plot(b["bon_kl"], b["bon_reward"], "o", ms=3, color="C0", label="best-of-n")
    ax.plot(
        b["bon_bound"][: len(b["bon_reward"])],
        b["bon_reward"],
        ":",
        color="C0",
        lw=1,
        label=r"best-of-n at $\log n - (n-1)/n$",
    )
    for i, (beta, v) in enumerate(b["q_probe"].items()):
        ax.plot(
            v["kl"],
            v["reward"],
            "s-",
            ms=3,
            lw=0.8,
            color=f"C{i + 1}",
            label=rf"Q-probe $\beta$={beta}, k=1..{v['k'][-1]}",
        )
        ax.plot([v["gibbs_kl"]], [v["gibbs_reward"]], "*", ms=9, color=f"C{i + 1}")
    ax.set_xlim(0, 1.1 * b["kl_top"])
    ax.set_xlabel(r"KL$(\pi \| \pi_{ref})$")
    ax.set_ylabel(r"$\mathbb{E}_\pi r$")
    ax.set_title("8-armed bandit (stars: Gibbs limits of Q-probe)", fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
    ax = axes[0, 1]
    ax.plot(t["frontier_kl"], t["frontier_reward"], color="k", lw=1.5, label="optimum (sequence)")
    ax.plot(t["vas_kl"], t["vas_reward"], "^-", ms=3, lw=0.8, color="C4", label="VAS")
    ax.plot(t["opt_kl"], t["opt_reward"], "x", ms=4, color="k", label="optimum, same beta")
    ax.plot(t["bon_kl"], t["bon_reward"], "o", ms=3, color="C0", label="best-of-n, n=1..32")
    ax.set_xlabel(r"sequence KL$(\pi \| \pi_0)$")
    ax.set_ylabel(r"$\mathbb{E}_\pi R(y)$")
    ax.set_title(f"token tree, depth {t['depth']}: VAS is one soft PI step", fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
    save_figure(fig, path)
