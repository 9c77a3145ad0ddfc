"""The start bias of KL-regularised fine-tuning: zero only for a memoryless chain or a fixed start.

Domingo-Enrich et al. (2025), "Adjoint Matching", in a discrete analogue of ours: a base
sampler is a Markov chain X_0 -> ... -> X_T (5 states, T = 4 steps) whose kernels keep the state
with probability 1 - m and resample it uniformly with probability m (prefrl.reward_design.
mixing_kernels: Dobrushin's coefficient of the T-step kernel is (1 - m)^T). Fine-tuning maximises
E[r(X_T)] - beta KL(controlled path law || base path law) with the transitions controlled and the
start law p_0 fixed. Backward induction (prefrl.reward_design.controlled_terminal_law) gives the
controlled terminal law p*(y) = e^{r(y)/beta} sum_x0 p_0(x0) Kbar(x0, y) e^{-V_0(x0)/beta}; the
target is the tilt p_base e^{r/beta}/Z. The figure shows the total-variation bias against the
dependence of X_T on X_0, for three KL weights: zero at m = 1 (memoryless), zero for a point-mass
start and zero when the start law is controlled too; at m = 0 the chain cannot move at all and
the "fine-tuned" law is p_0 itself. The closed form is checked against the optimal path law found
by enumerating every path (the Gibbs variational principle applied path by path).
"""

from __future__ import annotations

import itertools

import numpy as np

from prefrl.plotting import new_figure, save_figure
from prefrl.registry import Claim
from prefrl.reward_design import (
    controlled_terminal_law,
    mixing_kernels,
    start_dependence,
    tilted_target,
)

TITLE = "Fine-tuning with an uncontrolled start reaches the tilted law only when memoryless"
PAPER = (
    "Domingo-Enrich, Drozdzal, Karrer and Chen 2025, 'Adjoint Matching: Fine-tuning Flow "
    "and Diffusion Generative Models with Memoryless Stochastic Optimal Control'"
)

N, T = 5, 4
P0 = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
REWARD = np.array([0.0, 0.5, 1.0, 1.5, 2.0])[::-1] * 1.0  # the start's likely states pay most
BETAS = (0.25, 1.0, 4.0)


def _enumerate_terminal_law(p0, K, r, beta):
    """The optimal path law, path by path: q(path) = p0(x0) p(path | x0) e^{r/beta} / Z(x0)."""
    n, steps = p0.size, K.shape[0]
    law = np.zeros(n)
    for x0 in range(n):
        if p0[x0] == 0:
            continue
        w = np.zeros(n)
        for path in itertools.product(range(n), repeat=steps):
            prob, x = 1.0, x0
            for t, y in enumerate(path):
                prob *= K[t, x, y]
                x = y
            w[x] += prob * np.exp(r[x] / beta)
        law += p0[x0] * w / w.sum()
    return law


def run(quick: bool = False, seed: int = 0) -> dict:
    mixings = np.linspace(0.0, 1.0, 11 if quick else 41)
    point = np.eye(N)[0]
    out = {
        b: {"bias": [], "bias_point_mass": [], "bias_controlled": [], "max_weight_spread": []}
        for b in BETAS
    }
    dob, mi = [], []
    for m in mixings:
        K = mixing_kernels(N, T, float(m))
        dep = start_dependence(P0, K)
        dob.append(dep.dobrushin)
        mi.append(dep.mutual_information)
        for b in BETAS:
            res = controlled_terminal_law(P0, K, REWARD, b)
            out[b]["bias"].append(res.bias_tv)
            out[b]["max_weight_spread"].append(
                float(res.start_weights.max() - res.start_weights.min())
            )
            out[b]["bias_point_mass"].append(controlled_terminal_law(point, K, REWARD, b).bias_tv)
            out[b]["bias_controlled"].append(
                controlled_terminal_law(P0, K, REWARD, b, control_initial=True).bias_tv
            )
    # the closed form against path enumeration, and the m = 0 chain
    check_m = [0.0, 0.3, 0.7, 1.0] if quick else [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    enum_err = 0.0
    for m, b in itertools.product(check_m, BETAS):
        K = mixing_kernels(N, T, m)
        res = controlled_terminal_law(P0, K, REWARD, b)
        enum_err = max(
            enum_err,
            float(np.abs(res.terminal_law - _enumerate_terminal_law(P0, K, REWARD, b)).max()),
        )
    K0 = mixing_kernels(N, T, 0.0)
    frozen = controlled_terminal_law(P0, K0, REWARD, 1.0)
    mid = mixing_kernels(N, T, 0.3)
    laws = {
        "p0": P0.tolist(),
        "base": start_dependence(P0, mid).base_terminal.tolist(),
        "target": tilted_target(P0, mid, REWARD, 1.0).tolist(),
        "controlled": controlled_terminal_law(P0, mid, REWARD, 1.0).terminal_law.tolist(),
        "controlled_start": controlled_terminal_law(
            P0, mid, REWARD, 1.0, control_initial=True
        ).terminal_law.tolist(),
    }
    return {
        "mixings": mixings.tolist(),
        "dobrushin": dob,
        "mutual_information": mi,
        "betas": list(BETAS),
        "by_beta": {str(b): v for b, v in out.items()},
        "enumeration_error": enum_err,
        "frozen_chain_law_minus_p0": float(np.abs(frozen.terminal_law - P0).max()),
        "laws_at_m_0.3_beta_1": laws,
        "notes": "A discrete analogue of ours (the paper is in continuous time): the control acts "
        "on the transitions, never on p_0; bias = total variation to the tilted target.",
    }


def claims(numbers: dict) -> list[Claim]:
    by = numbers["by_beta"]
    mix = np.asarray(numbers["mixings"])
    memoryless = [by[b]["bias"][-1] for b in by]
    inner = mix < 1.0
    dob = np.asarray(numbers["dobrushin"])[inner]
    ratio = [min(np.asarray(by[b]["bias"])[inner] / dob**2) for b in by]
    monotone = all(np.all(np.diff(np.asarray(by[b]["bias"])[::-1]) >= -1e-12) for b in by)
    return [
        Claim(
            name="terminal_law_matches_path_enumeration",
            claim="the closed form p* ∝ e^{r/beta} sum_x0 p0 Kbar e^{-V0/beta} equals the optimal "
            "path law found by enumerating every path (max abs error < 1e-12)",
            ours=numbers["enumeration_error"],
            holds=numbers["enumeration_error"] < 1e-12,
            status="certified",
        ),
        Claim(
            name="memoryless_chain_unbiased",
            claim="at m = 1 (X_T independent of X_0) the controlled terminal law is the tilted "
            "target for every beta",
            ours=max(memoryless),
            holds=max(memoryless) < 1e-12,
            status="certified",
        ),
        Claim(
            name="point_mass_start_unbiased",
            claim="with a point-mass start the controlled law is the tilted target at every m",
            ours=max(max(by[b]["bias_point_mass"]) for b in by),
            holds=max(max(by[b]["bias_point_mass"]) for b in by) < 1e-12,
            status="certified",
        ),
        Claim(
            name="controlled_start_unbiased",
            claim="controlling the start law too (q_0 ∝ p_0 e^{V_0/beta}) removes the bias at "
            "every m and beta",
            ours=max(max(by[b]["bias_controlled"]) for b in by),
            holds=max(max(by[b]["bias_controlled"]) for b in by) < 1e-12,
            status="certified",
        ),
        Claim(
            name="uncontrolled_start_biased_with_memory",
            claim="for every m < 1 the uncontrolled start leaves a positive bias, of order the "
            "squared Dobrushin coefficient near the memoryless end (bias / delta^2 > 0.01), "
            "and at m = 0 the controlled law is p_0 itself (the chain cannot be steered)",
            ours={
                "min_bias_over_dobrushin_sq": float(min(ratio)),
                "frozen_law_minus_p0": numbers["frozen_chain_law_minus_p0"],
            },
            holds=min(ratio) > 0.01 and numbers["frozen_chain_law_minus_p0"] < 1e-12,
            status="measured",
            sensitivity="the instance (p_0, reward, the mixing family) and rounding near m = 1, "
            "where the bias is below 1e-12",
        ),
        Claim(
            name="bias_grows_with_dependence",
            claim="on this chain the bias grows monotonically with Dobrushin's coefficient "
            "(1 - m)^T, for each beta",
            ours={b: round(max(by[b]["bias"]), 4) for b in by},
            holds=monotone,
            status="measured",
            sensitivity="the instance (p_0, reward, the mixing family); not a general theorem",
        ),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax = axes[0, 0]
    x = np.asarray(numbers["dobrushin"])
    for i, b in enumerate(numbers["betas"]):
        v = numbers["by_beta"][str(b)]
        ax.plot(x, v["bias"], color=f"C{i}", label=rf"$p_0$ fixed, $\beta$ = {b}")
        ax.plot(x, v["bias_controlled"], color=f"C{i}", ls=":", lw=1)
    ax.plot(
        x,
        numbers["by_beta"][str(numbers["betas"][0])]["bias_point_mass"],
        color="k",
        ls="--",
        lw=1,
        label="point-mass start / start controlled",
    )
    ax.set_xlabel(r"dependence of $X_T$ on $X_0$: Dobrushin $(1-m)^T$")
    ax.set_ylabel(r"TV$(p^*, p_{\mathrm{base}} e^{r/\beta}/Z)$")
    ax.set_title("Bias of the fine-tuned terminal law")
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    laws = numbers["laws_at_m_0.3_beta_1"]
    xs = np.arange(len(laws["p0"]))
    w = 0.18
    for j, (k, lab) in enumerate(
        [
            ("base", "base"),
            ("target", "tilted target"),
            ("controlled", "control, $p_0$ fixed"),
            ("controlled_start", "control incl. start"),
        ]
    ):
        ax.bar(xs + (j - 1.5) * w, laws[k], width=w, label=lab, color=f"C{j}")
    ax.set_xlabel(r"terminal state $x_T$")
    ax.set_ylabel("probability")
    ax.set_title(r"Laws at $m = 0.3$, $\beta = 1$")
    ax.legend(fontsize=6)
    save_figure(fig, path)
