"""Potential-based shaping speeds up Q-learning on the 10x10 grid of Ng, Harada and Russell (1999).

Setup (Ng, Harada and Russell 1999, Sec. 4 and their first figure): a 10x10 grid, start in the
top-left corner, an absorbing goal in the bottom-right corner, reward -1 per step, four moves
that succeed with probability 0.8 and otherwise make a uniformly random move
(:func:`prefrl.mdp.envs.ng_harada_russell_grid`). The learner is tabular Q-learning from
Q0 = 0 with the shaped reward R + gamma Phi(s') - Phi(s), for Phi = 0, 0.5 Phi0 and Phi0,
Phi0(s) = -(Manhattan distance to the goal) / 0.8; episodes stop at the goal, where the
potential counts as 0.

What is ours (the paper's learning parameters were not verified): Q-learning
with epsilon-greedy exploration, epsilon = 0.1 and step size lr = 0.1 (standard tabular
choices; lr small enough for the 20% random moves, epsilon the usual 10%), ties broken at
random, gamma = 0.99 (the paper's task is undiscounted; gamma = 0.99 lets the exact solvers
certify the optimal policy of the same MDP the learner sees), and a cap of 10,000 steps per
trial (never reached here). The curves average the steps per trial over independent seeds.

Exact checks beside the curves: the optimal Q-values of the three shaped MDPs are Q* - Phi
and the three sets of optimal actions coincide (Ng et al., Theorem 1), and Wiewiora (2003):
the learner on R + F_Phi0 takes exactly the same steps as the unshaped learner started at
Q0 = Phi0 with the same random numbers.
"""

from __future__ import annotations

import numpy as np

from prefrl.mdp.envs import ng_harada_russell_grid
from prefrl.plotting import band, new_figure, save_figure
from prefrl.registry import Claim
from prefrl.shaping import manhattan_potential, q_learning, shaped_mdp

TITLE = "Shaping with Phi0 = -distance/0.8 speeds Q-learning on the 10x10 grid, same optimal policy"
PAPER = "Ng, Harada and Russell 1999 (ICML), Sec. 4, 10x10 grid-world figure"

LR = 0.1
EPSILON = 0.1
SCALES = (0.0, 0.5, 1.0)
LABELS = ("no shaping", r"$\Phi = 0.5\,\Phi_0$", r"$\Phi = \Phi_0$")


def _expected_steps(grid, policy) -> float:
    """Expected number of steps from the start to the goal under a stochastic policy (exact)."""
    P = grid.dense_transitions()
    Ppi = np.einsum("sa,sat->st", policy, P)
    keep = np.setdiff1d(np.arange(grid.n_states), grid.goals)
    M = np.eye(keep.size) - Ppi[np.ix_(keep, keep)]
    t = np.linalg.solve(M, np.ones(keep.size))
    return float(t[np.searchsorted(keep, 0)])


def _optimal_sets(q, tol):
    return q >= q.max(axis=1, keepdims=True) - tol


def run(quick: bool = False, seed: int = 0) -> dict:
    grid = ng_harada_russell_grid(10)
    phi0 = manhattan_potential(grid, speed=0.8)
    n_trials = 60 if quick else 400
    n_seeds = 4 if quick else 30
    seeds = np.random.SeedSequence(seed).spawn(n_seeds)
    steps = np.zeros((len(SCALES), n_seeds, n_trials))
    final_values = np.zeros((len(SCALES), n_seeds))
    base = grid.solve("pi")
    max_q_shift_error = 0.0
    same_sets = True
    for k, c in enumerate(SCALES):
        mdp = shaped_mdp(grid, c * phi0, terminal=grid.goals)
        sol = mdp.solve("pi")
        err = np.abs(sol.q_values - (base.q_values - c * phi0[:, None]))
        max_q_shift_error = max(max_q_shift_error, float(err.max()))
        same_sets &= bool(np.array_equal(_optimal_sets(sol.q_values, 1e-8),
                                         _optimal_sets(base.q_values, 1e-8)))
        for i, ss in enumerate(seeds):
            res = q_learning(mdp, n_trials, lr=LR, epsilon=EPSILON,
                             rng=np.random.default_rng(ss), start=0)
            steps[k, i] = res.episode_lengths
            final_values[k, i] = grid.evaluate(res.policy).values[0]
    # Wiewiora (2003): shaping by Phi0 == starting the unshaped learner at Q0 = Phi0.
    rng_w = np.random.SeedSequence(seed).spawn(n_seeds + 1)[-1]
    shaped_run = q_learning(shaped_mdp(grid, phi0, terminal=grid.goals), n_trials, lr=LR,
                            epsilon=EPSILON, rng=np.random.default_rng(rng_w), start=0)
    init_run = q_learning(grid, n_trials, lr=LR, epsilon=EPSILON,
                          rng=np.random.default_rng(rng_w), start=0,
                          init=np.repeat(phi0[:, None], 4, axis=1))
    wiewiora_same = bool(np.array_equal(shaped_run.actions, init_run.actions))
    wiewiora_q = float(np.abs(init_run.q_values - shaped_run.q_values - phi0[:, None]).max())
    optimal = base.policy
    eps_optimal = (1 - EPSILON) * optimal + EPSILON / grid.n_actions
    n_early = min(50, n_trials)
    early = steps[:, :, :n_early].mean(axis=(1, 2))
    late = steps[:, :, -max(1, n_trials // 10):].mean(axis=(1, 2))
    return {
        "trials": np.arange(1, n_trials + 1),
        "steps": steps,
        "scales": list(SCALES),
        "n_seeds": n_seeds,
        "alpha": LR,  # the step size lr (key kept)
        "epsilon": EPSILON,
        "gamma": grid.gamma,
        "mean_steps_first_trials": early,
        "n_first_trials": n_early,
        "mean_steps_last_tenth": late,
        "total_steps": steps.sum(axis=2).mean(axis=1),
        "optimal_expected_steps": _expected_steps(grid, optimal),
        "eps_greedy_optimal_expected_steps": _expected_steps(grid, eps_optimal),
        "optimal_value_start": float(base.values[0]),
        "final_greedy_value_start": final_values.mean(axis=1),
        "max_q_shift_error": max_q_shift_error,
        "same_optimal_action_sets": same_sets,
        "wiewiora_identical_actions": wiewiora_same,
        "wiewiora_max_q_error": wiewiora_q,
        "notes": "Learning parameters are ours (alpha=0.1, epsilon=0.1, Q0=0, gamma=0.99, "
        "random tie-breaking); the paper's were not verified. The paper "
        "reports curves only, no numbers.",
    }


def claims(numbers: dict) -> list[Claim]:
    early = numbers["mean_steps_first_trials"]
    n = numbers["n_first_trials"]
    return [
        Claim(
            name="same_optimal_policy",
            claim="Q* of every shaped MDP is Q* - Phi (max error <= 1e-8) and the optimal "
            "action sets of Phi = 0, 0.5 Phi0, Phi0 coincide",
            ours={"max_q_shift_error": numbers["max_q_shift_error"],
                  "same_sets": numbers["same_optimal_action_sets"]},
            holds=numbers["max_q_shift_error"] <= 1e-8 and numbers["same_optimal_action_sets"],
            paper="same optimal policy (Theorem 1)",
            status="certified",
        ),
        Claim(
            name="shaping_learns_faster",
            claim=f"mean steps per trial over the first {n} trials: Phi0 < 0.5 Phi0 < no shaping",
            ours=[float(x) for x in early],
            holds=bool(early[2] < early[1] < early[0]),
            paper="shaped agents learn much faster (figure; no numbers given)",
            status="measured", sensitivity=(
                "Q-learning's step size and exploration, the seeds (30 in the full run, 4 in "
                "quick mode) and the potential's scale"),
        ),
        Claim(
            name="wiewiora_equivalence",
            claim="the learner on R + F_Phi0 and the unshaped learner from Q0 = Phi0 choose the "
            "same actions with the same random numbers, with Q' - Q = Phi0 (<= 1e-9)",
            ours={"identical_actions": numbers["wiewiora_identical_actions"],
                  "max_q_error": numbers["wiewiora_max_q_error"]},
            holds=numbers["wiewiora_identical_actions"] and numbers["wiewiora_max_q_error"] <= 1e-9,
            paper="Wiewiora 2003, JAIR 19, Theorem 1",
            status="certified",
        ),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(width=5.6, height=3.8)
    ax = axes[0, 0]
    x = np.asarray(numbers["trials"])
    steps = np.asarray(numbers["steps"], dtype=float)
    for k, label in enumerate(LABELS):
        band(ax, x, steps[k], label=label, color=f"C{k}")
    ax.axhline(numbers["eps_greedy_optimal_expected_steps"], color="k", ls="--", lw=1,
               label=rf"optimal policy, $\epsilon$-greedy ({numbers['eps_greedy_optimal_expected_steps']:.1f})")
    ax.axhline(numbers["optimal_expected_steps"], color="grey", ls=":", lw=1,
               label=f"optimal policy ({numbers['optimal_expected_steps']:.1f})")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("steps to the goal")
    ax.set_title(f"Q-learning on the 10x10 grid, mean of {numbers['n_seeds']} seeds "
                 rf"($\alpha$={numbers['alpha']}, $\epsilon$={numbers['epsilon']})", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    save_figure(fig, path)
