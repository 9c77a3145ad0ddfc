"""Reward redistribution (attention-based credit) keeps every undiscounted value, not discounted ones.

Chan, Sun, Holt and van der Schaar (2024), "Dense Reward for Free in RLHF" (ICML 2024), spread
the reward model's score r(y) of a generated sequence y over its tokens with the reward model's
attention weights: r_t(y) = m w_t(y) r(y) + (1 - m) r(y) 1[t = H - 1], sum_t w_t(y) = 1
(m is the ``mixing`` weight of :func:`prefrl.shaping.redistribute`, the paper's beta), and
argue that the optimal policy is unchanged. Exactly (our statement, on token trees): every
sequence keeps its undiscounted return, so every policy keeps its value at gamma = 1, whatever
the weights; with gamma < 1, early credit is discounted less than late credit, the values change
and the best sequence for the dense discounted return can be a worse one.

Setup (ours; the paper has no tabular experiment): token trees with a vocabulary of 3 and 4
tokens (81 sequences), sequence rewards r(y) ~ N(0, 1), attention-like weights
w(y) = softmax(z(y)) with z_t(y) ~ N(0, 2^2) drawn per sequence (so they depend on future
tokens), mixing m in {0.5, 1}. For each gamma we report (a) the largest gap between the dense and the
sparse discounted values, max over random policies of |J^dense_gamma - J^sparse_gamma|, and
(b) the regret, in the true sequence reward, of the sequence that maximises the dense discounted
return, and how often (over random instances) it is not the best sequence.
"""

from __future__ import annotations

import numpy as np

from prefrl.mdp.envs import token_tree
from prefrl.plotting import new_figure, save_figure
from prefrl.registry import Claim
from prefrl.shaping import redistribute, sequence_returns, sequence_value

TITLE = "Attention-based reward redistribution: exact at gamma = 1, not below"
PAPER = "Chan et al. 2024 (Dense Reward for Free in RLHF), Sec. 4 claim of policy invariance"

V, H = 3, 4
MIXINGS = (0.5, 1.0)


def _instance(rng):
    N = V**H
    r = rng.normal(size=N)
    z = 2.0 * rng.normal(size=(N, H))
    w = np.exp(z - z.max(axis=1, keepdims=True))
    return r, w / w.sum(axis=1, keepdims=True)


def run(quick: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    gammas = np.linspace(0.5, 1.0, 11 if quick else 26)
    n_instances = 20 if quick else 200
    n_policies = 10 if quick else 40
    tree = token_tree(V, H)
    value_gap = np.zeros((len(MIXINGS), gammas.size))
    regret = np.zeros((len(MIXINGS), gammas.size, n_instances))
    for i in range(n_instances):
        r, w = _instance(rng)
        pols = [rng.dirichlet(np.ones(V) * 0.5, size=tree.n_states) for _ in range(n_policies)]
        for b, mixing in enumerate(MIXINGS):
            dense = redistribute(r, w, mixing=mixing)
            sparse = redistribute(r, w, mixing=0.0)
            for k, g in enumerate(gammas):
                if i < 5:  # value gaps on the first instances (exact sums over the 81 sequences)
                    gap = max(abs(sequence_value(tree, p, dense, g)
                                  - sequence_value(tree, p, sparse, g)) for p in pols)
                    value_gap[b, k] = max(value_gap[b, k], gap)
                best_dense = int(np.argmax(sequence_returns(dense, g)))
                regret[b, k, i] = r.max() - r[best_dense]
    flipped = (regret > 1e-12).mean(axis=2)
    return {
        "gammas": gammas,
        "betas": list(MIXINGS),  # the mixing weights (the paper's beta; key kept)
        "max_value_gap": value_gap,
        "mean_regret": regret.mean(axis=2),
        "fraction_optimum_changed": flipped,
        "value_gap_at_gamma_1": float(value_gap[:, -1].max()),
        "regret_at_gamma_1": float(regret[:, -1].max()),
        "fraction_changed_at_lowest_gamma": float(flipped[:, 0].max()),
        "n_instances": n_instances,
        "notes": "Tabular setup ours; the paper's experiments are LLM-scale (IMDb, TL;DR, HH) "
        "and give no number to compare. Weights depend on the whole sequence, so the dense "
        "reward is evaluated by summing over sequences, not as a Markov reward of the prefix.",
    }


def claims(numbers: dict) -> list[Claim]:
    return [
        Claim(
            name="undiscounted_values_unchanged",
            claim="at gamma = 1 the redistributed reward gives every policy its sparse value "
            "(max gap <= 1e-12) and the same optimal sequence (regret 0)",
            ours={"value_gap": numbers["value_gap_at_gamma_1"],
                  "regret": numbers["regret_at_gamma_1"]},
            holds=numbers["value_gap_at_gamma_1"] <= 1e-12 and numbers["regret_at_gamma_1"] == 0,
            paper="optimal policy unchanged (stated as equivalence to potential-based shaping)",
            status="checked", instances=numbers["n_instances"],
        ),
        Claim(
            name="discounting_breaks_invariance",
            claim="with gamma = 0.5 the values differ and the best sequence for the dense "
            "discounted return is sometimes not the best sequence",
            ours={"value_gap": float(np.max(np.asarray(numbers["max_value_gap"])[:, 0])),
                  "fraction_changed": numbers["fraction_changed_at_lowest_gamma"]},
            holds=float(np.max(np.asarray(numbers["max_value_gap"])[:, 0])) > 1e-3
            and numbers["fraction_changed_at_lowest_gamma"] > 0,
            status="checked", instances=numbers["n_instances"],
        ),
    ]


def plot(numbers: dict, path) -> None:
    g = np.asarray(numbers["gammas"])
    fig, axes = new_figure(1, 2, width=4.2, height=3.3)
    for b, mixing in enumerate(numbers["betas"]):
        axes[0, 0].plot(g, np.asarray(numbers["max_value_gap"])[b], marker="o", ms=3,
                        label=f"mixing = {mixing}")
        axes[0, 1].plot(g, np.asarray(numbers["fraction_optimum_changed"])[b], marker="o", ms=3,
                        label=f"mixing = {mixing}")
    axes[0, 0].set_xlabel(r"discount $\gamma$")
    axes[0, 0].set_ylabel(r"max$_\pi$ |$J^{dense}_\gamma - J^{sparse}_\gamma$|")
    axes[0, 0].set_title("value gap (0 exactly at $\\gamma$ = 1)", fontsize=9)
    axes[0, 1].set_xlabel(r"discount $\gamma$")
    axes[0, 1].set_ylabel("fraction of instances")
    axes[0, 1].set_title("best dense-return sequence is not the best one", fontsize=9)
    for ax in axes[0]:
        ax.legend(fontsize=7)
    save_figure(fig, path)
