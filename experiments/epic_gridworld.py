"""EPIC distances between the illustrative rewards of a 3x3 gridworld.

Gleave, Dennis, Legg, Russell and Leike (2021), "Quantifying Differences in Reward Functions"
(ICLR 2021), illustrate EPIC on a deterministic 3x3 gridworld with five actions (stay, left, up,
right, down; moves off the grid stay) and gamma = 0.99, with state rewards r(s) shaped by a
potential: R(s, a, s') = r(s) + gamma Phi(s') - Phi(s). The rewards (our reading of the
paper's illustration; MH = Manhattan distance to the goal corner (2, 2)):

- equivalent to the sparse goal (1 at (2, 2)): shifted by +1, scaled by 10, shaped by -MH
  (dense) or +MH (antidense), and 4 r - 1 shaped by -3 MH (transformed);
- not equivalent: the goal in the centre, a dirt path [[0,-1,-1],[0,0,0],[-1,-1,4]], a cliff walk
  [[0,-1,-1],[0,0,0],[-4,-4,4]], and the sparse penalty -r.

EPIC canonicalises with uniform D_S and D_A and takes the Pearson distance under a coverage
distribution; we use uniform coverage over S x A x S and, as in the authors' gridworld script,
uniform over feasible transitions (every cell of this grid has exactly five incoming moves, so
the two agree). The reference table (``NOTES_VALUES``) is an earlier, independent computation
of ours: these are not the paper's numbers; the paper's appendix heatmap may show NPEC, and the
public repository has several versions of these rewards (one uses a goal of 5, a cliff of -9
and 10 r - 1 shaped by -10 MH). The distances are computed here, never typed in; the reference
values are only compared with them.
"""

from __future__ import annotations

import numpy as np

from prefrl.mdp.envs import epic_grid
from prefrl.plotting import new_figure, save_figure
from prefrl.registry import Claim
from prefrl.shaping import epic_distance, manhattan_potential, shape, transition_coverage

TITLE = "EPIC distances between ten gridworld rewards (3x3 grid, gamma = 0.99)"
PAPER = ("Gleave et al. 2021 (EPIC), gridworld illustration (appendix); reference values "
         "are an earlier computation of ours, not the paper's")

GAMMA = 0.99

#: Our earlier, independent EPIC values (uniform D_S, D_A and coverage), rounded to 4 decimals.
#: Reference numbers only: they are compared with ours, never plotted.
NOTES_VALUES = {
    ("sparse_goal", "center_goal"): 0.7500,
    ("sparse_goal", "dirt_path"): 0.1602,
    ("sparse_goal", "cliff_walk"): 0.3676,
    ("sparse_goal", "sparse_penalty"): 1.0000,
    ("center_goal", "dirt_path"): 0.7071,
    ("center_goal", "cliff_walk"): 0.6692,
    ("center_goal", "sparse_penalty"): 0.6614,
    ("dirt_path", "cliff_walk"): 0.2672,
    ("dirt_path", "sparse_penalty"): 0.9871,
    ("cliff_walk", "sparse_penalty"): 0.9300,
}

EQUIVALENT = ("sparse_goal", "shift", "scale", "dense", "antidense", "transformed_goal")


def gridworld_rewards(gamma: float = GAMMA) -> dict[str, np.ndarray]:
    """The ten rewards R(s, a, s') = r(s) + gamma Phi(s') - Phi(s), each of shape (9, 5, 9)."""
    sparse = np.zeros((3, 3))
    sparse[2, 2] = 1.0
    center = np.zeros((3, 3))
    center[1, 1] = 1.0
    dirt = np.array([[0.0, -1, -1], [0, 0, 0], [-1, -1, 4]])
    cliff = np.array([[0.0, -1, -1], [0, 0, 0], [-4, -4, 4]])
    grid = epic_grid(gamma=gamma)
    mh = -manhattan_potential(grid, goal=(2, 2))  # Manhattan distance to the goal

    def reward(r, phi=None):
        R = epic_grid(r, gamma=gamma).rewards
        return R if phi is None else shape(R, phi, gamma)

    return {
        "sparse_goal": reward(sparse),
        "shift": reward(sparse + 1.0),
        "scale": reward(10.0 * sparse),
        "dense": reward(sparse, -mh),
        "antidense": reward(sparse, mh),
        "transformed_goal": reward(4.0 * sparse - 1.0, -3.0 * mh),
        "center_goal": reward(center),
        "dirt_path": reward(dirt),
        "cliff_walk": reward(cliff),
        "sparse_penalty": reward(-sparse),
    }


def run(quick: bool = False, seed: int = 0) -> dict:
    del quick, seed  # exact and cheap: the same computation in both modes
    rewards = gridworld_rewards()
    names = list(rewards)
    n = len(names)
    cov = transition_coverage(epic_grid(gamma=GAMMA))
    D = np.zeros((n, n))
    Dfeas = np.zeros((n, n))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            D[i, j] = epic_distance(rewards[a], rewards[b], GAMMA)
            Dfeas[i, j] = epic_distance(rewards[a], rewards[b], GAMMA, coverage=cov)
    idx = {k: i for i, k in enumerate(names)}
    eq = [idx[k] for k in EQUIVALENT]
    triangle = max(
        D[i, k] - D[i, j] - D[j, k] for i in range(n) for j in range(n) for k in range(n)
    )
    table = {f"{a} vs {b}": float(D[idx[a], idx[b]]) for a, b in NOTES_VALUES}
    notes = {f"{a} vs {b}": v for (a, b), v in NOTES_VALUES.items()}
    return {
        "names": names,
        "distances": D,
        "distances_feasible_coverage": Dfeas,
        "max_within_equivalent": float(D[np.ix_(eq, eq)].max()),
        "max_coverage_difference": float(np.abs(D - Dfeas).max()),
        "max_triangle_violation": float(max(triangle, 0.0)),
        "max_asymmetry": float(np.abs(D - D.T).max()),
        "table": table,
        "notes_table": notes,
        "max_difference_from_notes": float(max(abs(table[k] - notes[k]) for k in table)),
        "notes": "Reference values are an earlier computation of ours, not the paper's; the "
        "paper's appendix heatmap may use NPEC, and the authors' repository has other versions "
        "of these rewards.",
    }


def claims(numbers: dict) -> list[Claim]:
    sp = numbers["table"]["sparse_goal vs sparse_penalty"]
    return [
        Claim(
            name="equivalent_rewards_at_distance_zero",
            claim="shifted, scaled and potential-shaped versions of the sparse goal are at EPIC "
            "distance 0 from it and from each other (max <= 1e-9)",
            ours=numbers["max_within_equivalent"],
            holds=numbers["max_within_equivalent"] <= 1e-9,
            paper=0.0,
        ),
        Claim(
            name="penalty_at_distance_one",
            claim="the sparse penalty -r is at distance exactly 1 from the sparse goal r",
            ours=sp,
            holds=abs(sp - 1.0) <= 1e-12,
            paper=1.0,
        ),
        Claim(
            name="matches_notes_table",
            claim="our EPIC table matches our earlier, independent values (not the paper's) "
            "to their 4 decimals",
            ours=numbers["table"],
            holds=numbers["max_difference_from_notes"] <= 5e-5,
            paper=None,
        ),
        Claim(
            name="pseudometric_on_the_table",
            claim="the 10x10 table is symmetric and satisfies the triangle inequality",
            ours=max(numbers["max_triangle_violation"], numbers["max_asymmetry"]),
            holds=numbers["max_triangle_violation"] <= 1e-12 and numbers["max_asymmetry"] == 0,
        ),
        Claim(
            name="uniform_and_feasible_coverage_agree",
            claim="uniform coverage and uniform-over-feasible-transitions coverage give the same "
            "distances on this grid",
            ours=numbers["max_coverage_difference"],
            holds=numbers["max_coverage_difference"] <= 1e-12,
        ),
    ]


def plot(numbers: dict, path) -> None:
    names = numbers["names"]
    D = np.asarray(numbers["distances"])
    fig, axes = new_figure(width=6.4, height=5.4)
    ax = axes[0, 0]
    im = ax.imshow(D, vmin=0.0, vmax=1.0, cmap="viridis")
    n = len(names)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{D[i, j]:.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if D[i, j] < 0.55 else "black")
    labels = [s.replace("_", " ") for s in names]
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.axhline(5.5, color="white", lw=1.0)
    ax.axvline(5.5, color="white", lw=1.0)
    ax.set_title(r"EPIC distance, 3x3 gridworld, $\gamma = 0.99$" "\n"
                 "first six: the sparse goal up to shift, scale and shaping", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8, label=r"$D_{EPIC}$")
    save_figure(fig, path)
