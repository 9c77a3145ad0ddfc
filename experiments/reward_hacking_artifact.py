"""Reward hacking through an artifact: a length weight in the reward model, amplified by the policy.

A multi-context bandit: C = 8 prompts, K = 12 responses each, a length a in {1..6} and a quality
q = 0.5 (a - 3.5) + N(0, 1) (longer responses are better on average: the artifact correlates with
quality in the comparison data). The gold reward is q. Labellers compare two responses to a prompt
under BT(q + b a) with a small length bias b = 0.3 (Pang et al. 2023: the spurious signal enters
the preference data). The reward model is linear in (q, a), fitted exactly on the population of
comparisons (prefrl.overoptimization.artifact_reward_fit): its artifact weight is b.

Along the KL-regularised path of the fitted reward (pi_ref uniform per prompt) the expected length
grows and the gold reward falls behind the gold-optimal path at the same beta. RRM's augmentation
(Liu et al. 2024: pairs whose responses come from different prompts, labelled by which one answers
its own prompt, and ties between two off-prompt responses) drives the fitted artifact weight to 0
as its weight alpha grows: in the pooled data the winner's length advantage and the correlation of
length with quality differences are diluted. The proxy gain splits exactly into a shift of the
length distribution plus a gain within lengths (Singhal et al. 2023,
prefrl.overoptimization.length_decomposition).
"""

from __future__ import annotations

import numpy as np

from prefrl.overoptimization import artifact_reward_fit, length_decomposition
from prefrl.plotting import new_figure, save_figure
from prefrl.policies import gibbs, kl
from prefrl.registry import Claim

TITLE = "Reward hacking through length: the fitted artifact weight, its amplification, and RRM"
PAPER = (
    "Singhal et al. 2023, 'A Long Way to Go: Investigating Length Correlations in RLHF'; "
    "Liu et al. 2024, 'RRM: Robust Reward Model Training Mitigates Reward Hacking'; Pang et "
    "al. 2023, 'Reward Gaming in Conditional Text Generation'"
)

C, K = 8, 12
BIAS = 0.3
ALPHAS = (0.0, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0)


def _instance(seed: int):
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 7, size=(C, K)).astype(float)
    q = 0.5 * (a - 3.5) + rng.standard_normal((C, K))
    return q, a


def _path(pi_ref, reward, q, a, betas):
    rows = {"gold": [], "length": [], "kl": []}
    for b in betas:
        p = gibbs(pi_ref, reward, b)
        rows["gold"].append(float(np.mean(np.sum(p * q, axis=1))))
        rows["length"].append(float(np.mean(np.sum(p * a, axis=1))))
        rows["kl"].append(float(np.mean(kl(p, pi_ref))))
    return {k: np.array(v) for k, v in rows.items()}


def run(quick: bool = False, seed: int = 0) -> dict:
    q, a = _instance(seed)
    pi_ref = np.full((C, K), 1.0 / K)
    betas = np.logspace(1, -1.5, 12 if quick else 40)
    fits = {
        alpha: artifact_reward_fit(q, a, pi_ref, labeller_bias=BIAS, augmentation=alpha)
        for alpha in ALPHAS
    }
    unbiased = artifact_reward_fit(q, a, pi_ref, labeller_bias=0.0)
    rm, rrm = fits[0.0], fits[ALPHAS[-1]]
    paths = {
        "gold": _path(pi_ref, q, q, a, betas),
        "rm": _path(pi_ref, rm.rewards, q, a, betas),
        "rrm": _path(pi_ref, rrm.rewards, q, a, betas),
    }
    decomp = {}
    beta_d = float(betas[-1])
    for name, r in (("rm", rm.rewards), ("rrm", rrm.rewards)):
        p = gibbs(pi_ref, r, beta_d)
        d = length_decomposition((p / C).ravel(), (pi_ref / C).ravel(), r.ravel(), a.ravel())
        decomp[name] = {
            "gain": d.gain,
            "length_shift": d.length_shift,
            "within_length": d.within_length,
            "certificate": d.certificate,
            "policy_length": d.policy_length,
            "ref_length": d.ref_length,
        }
    return {
        "C": C,
        "K": K,
        "labeller_bias": BIAS,
        "alphas": list(ALPHAS),
        "betas": betas,
        "artifact_weight": [fits[al].artifact_weight for al in ALPHAS],
        "quality_weight": [float(fits[al].weights[0]) for al in ALPHAS],
        "artifact_advantage": [fits[al].artifact_advantage for al in ALPHAS],
        "correlation": [fits[al].correlation for al in ALPHAS],
        "fit_certificate": max(f.certificate for f in fits.values()),
        "unbiased_artifact_weight": unbiased.artifact_weight,
        "quality_length_correlation": float(np.corrcoef(q.ravel(), a.ravel())[0, 1]),
        "paths": paths,
        "decomposition_beta": beta_d,
        "decomposition": decomp,
        "notes": "Population (exact) fits; RRM's augmentation weight alpha is relative to the "
        "original comparisons' total weight 1.",
    }


def claims(numbers: dict) -> list[Claim]:
    w = np.asarray(numbers["artifact_weight"])
    adv = np.asarray(numbers["artifact_advantage"])
    cor = np.asarray(numbers["correlation"])
    P = numbers["paths"]
    d = numbers["decomposition"]
    gap = max(abs(d[k]["gain"] - d[k]["length_shift"] - d[k]["within_length"]) for k in d)
    share = {k: d[k]["length_shift"] / d[k]["gain"] for k in d}
    return [
        Claim(
            name="fitted_artifact_weight_is_the_bias",
            claim="the population linear BT fit on (quality, length) recovers the labellers' "
            "length bias exactly (w_a = b; w_a = 0 without a bias, despite the "
            "quality-length correlation)",
            ours={
                "w_a": round(float(w[0]), 8),
                "w_a_unbiased": round(numbers["unbiased_artifact_weight"], 8),
                "corr(q, a)": round(numbers["quality_length_correlation"], 3),
            },
            paper=None,
            holds=abs(w[0] - numbers["labeller_bias"]) < 1e-6
            and abs(numbers["unbiased_artifact_weight"]) < 1e-6
            and numbers["quality_length_correlation"] > 0.3,
            status="certified",
        ),
        Claim(
            name="policy_amplifies_length",
            claim="as beta falls the fitted reward's policy gets longer (E_pi[a] up by > 1), "
            "longer than the gold reward's (at every beta below the first), and ends "
            "with less gold",
            ours={
                "length_rm_end": round(float(P["rm"]["length"][-1]), 3),
                "length_gold_end": round(float(P["gold"]["length"][-1]), 3),
                "gold_rm_end": round(float(P["rm"]["gold"][-1]), 3),
                "gold_gold_end": round(float(P["gold"]["gold"][-1]), 3),
            },
            holds=P["rm"]["length"][-1] - P["rm"]["length"][0] > 1
            and bool(np.all(P["rm"]["length"][1:] > P["gold"]["length"][1:]))
            and P["rm"]["gold"][-1] < P["gold"]["gold"][-1],
            status="certified",
        ),
        Claim(
            name="rrm_drives_artifact_weight_to_zero",
            claim="RRM's cross-prompt augmentation shrinks the fitted length weight "
            "monotonically in its weight alpha, below 5% of b at the largest alpha",
            ours=[round(float(x), 4) for x in w],
            holds=bool(np.all(np.diff(w) < 0)) and abs(w[-1]) < 0.05 * numbers["labeller_bias"],
            status="certified",
        ),
        Claim(
            name="rrm_breaks_the_correlation",
            claim="in the pooled comparisons the winner's length advantage falls monotonically "
            "in alpha, and the correlation of length with quality differences falls "
            "below a third of its value without augmentation (not monotonically: the "
            "own-prompt response keeps its length-quality link)",
            ours={
                "advantage": [round(float(x), 3) for x in adv],
                "correlation": [round(float(x), 3) for x in cor],
            },
            holds=bool(np.all(np.diff(adv) < 0)) and cor[-1] < cor[0] / 3,
            status="certified",
        ),
        Claim(
            name="rrm_policy_shorter_and_better",
            claim="at the smallest beta the RRM reward's policy is shorter and has more gold "
            "than the plain reward model's",
            ours={
                "length": [
                    round(float(P["rrm"]["length"][-1]), 3),
                    round(float(P["rm"]["length"][-1]), 3),
                ],
                "gold": [
                    round(float(P["rrm"]["gold"][-1]), 3),
                    round(float(P["rm"]["gold"][-1]), 3),
                ],
            },
            holds=P["rrm"]["length"][-1] < P["rm"]["length"][-1]
            and P["rrm"]["gold"][-1] > P["rm"]["gold"][-1],
            status="measured",
            sensitivity="one random instance (seed 0); the gap grows with b",
        ),
        Claim(
            name="length_decomposition_exact",
            claim="the proxy gain equals the length-shift term plus the within-length term "
            "(to rounding); the length shift is a larger share of the gain for the plain "
            "reward model than for RRM's",
            ours={
                "max_gap": gap,
                "length_share": {k: round(float(v), 3) for k, v in share.items()},
            },
            holds=gap < 1e-12 and share["rm"] > share["rrm"],
            status="certified",
        ),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(1, 3, width=4.2, height=3.4)
    ax = axes[0, 0]
    al = np.asarray(numbers["alphas"], dtype=float)
    x = np.where(al > 0, al, al[1] / 4)
    ax.semilogx(x, numbers["artifact_weight"], "o-", label=r"fitted length weight $w_a$")
    ax.semilogx(x, numbers["correlation"], "s--", label=r"corr($\Delta a$, $\Delta q$) in the data")
    ax.axhline(numbers["labeller_bias"], color="k", lw=0.8, ls=":", label="labeller bias b")
    ax.set_xlabel(r"RRM augmentation weight $\alpha$ (leftmost: 0)")
    ax.set_title("RRM shrinks the artifact weight", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    b = numbers["betas"]
    for i, (k, lab) in enumerate((("gold", "gold reward"), ("rm", "reward model"), ("rrm", "RRM"))):
        ax.semilogx(b, numbers["paths"][k]["length"], color=f"C{i}", label=f"{lab}: E length")
        ax.semilogx(b, numbers["paths"][k]["gold"], color=f"C{i}", ls="--", label=f"{lab}: E gold")
    ax.invert_xaxis()
    ax.set_xlabel(r"$\beta$ (decreasing)")
    ax.set_title("length is amplified as beta falls", fontsize=9)
    ax.legend(fontsize=5)
    ax = axes[0, 2]
    d = numbers["decomposition"]
    names = list(d)
    shift = [d[k]["length_shift"] for k in names]
    within = [d[k]["within_length"] for k in names]
    ax.bar(names, shift, label="length shift")
    ax.bar(names, within, bottom=shift, label="within length")
    ax.set_ylabel("proxy gain over pi_ref")
    ax.set_title(rf"gain split at $\beta$ = {numbers['decomposition_beta']:.3g}", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path)
