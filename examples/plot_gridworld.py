"""
Solving a gridworld with a certificate
======================================

A 6x8 gridworld with walls, a 10% slip, a step cost, one rewarding exit and one trap.
We solve it with policy iteration and value iteration, check that the value-iteration policy is as
good as its certificate promises, and plot the optimal values with the greedy actions.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl.mdp import envs

walls = [(1, 2), (2, 2), (3, 2), (3, 5), (4, 5), (1, 5)]
goals = {(0, 7): 10.0, (5, 7): -10.0}
grid = envs.gridworld(6, 8, walls=walls, goals=goals, slip=0.1, step_cost=0.2,
                      gamma=0.95, start=(5, 0))

exact = grid.solve("pi")
vi = grid.solve("vi", tol=1e-3)
true_gap = np.max(exact.values - grid.evaluate(vi.policy).values)
print(f"policy iteration: {exact.iterations} improvements, certificate "
      f"{exact.suboptimality_bound:.1e}")
print(f"value iteration:  {vi.iterations} sweeps, certificate "
      f"{vi.suboptimality_bound:.1e}, true suboptimality {true_gap:.1e}")

# %%
# The optimal values, with the greedy action of every non-goal cell.

values = grid.to_grid(exact.values)
fig, ax = plt.subplots(figsize=(6.4, 4.2))
im = ax.imshow(values, cmap="viridis")
fig.colorbar(im, ax=ax, label=r"$V^*(s)$")
# up, right, down, left
arrows = {0: (0, -0.3), 1: (0.3, 0), 2: (0, 0.3), 3: (-0.3, 0)}
for s, (r, c) in enumerate(grid.cells):
    if s in grid.goals:
        label = "+10" if r == 0 else "-10"
        ax.text(c, r, label, ha="center", va="center", color="w")
        continue
    dx, dy = arrows[int(exact.actions[s])]
    ax.arrow(c - dx / 2, r - dy / 2, dx, dy, head_width=0.15, color="w",
             length_includes_head=True)
for r, c in walls:
    ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.3"))
ax.set_title("Optimal values and greedy actions")
ax.set_xticks([])
ax.set_yticks([])
plt.show()
