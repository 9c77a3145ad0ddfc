"""
Potential-based shaping: same task, faster learning
===================================================

On the 10x10 grid of Ng, Harada and Russell (1999) (reward -1 per step, moves succeed with
probability 0.8), we shape the reward with the potential Phi0 = -(distance to the goal)/0.8.
Exactly, nothing about the task changes: every policy's value shifts by -Phi, the optimal
actions are the same, and EPIC puts the two rewards at distance 0. What changes is how fast
Q-learning finds the goal.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl import shaping
from prefrl.mdp import envs

grid = envs.ng_harada_russell_grid(10)
phi0 = shaping.manhattan_potential(grid, speed=0.8)
shaped = shaping.shaped_mdp(grid, phi0, terminal=grid.goals)

rng = np.random.default_rng(0)
pi = rng.dirichlet(np.ones(4), size=grid.n_states)  # any policy at all
shift = shaped.evaluate(pi).values - grid.evaluate(pi).values
print("V'^pi - V^pi = -Phi0 for a random policy:", np.allclose(shift, -phi0))
q, q2 = grid.solve().q_values, shaped.solve().q_values
same = np.array_equal(q >= q.max(1, keepdims=True) - 1e-8,
                      q2 >= q2.max(1, keepdims=True) - 1e-8)
print("same optimal actions in every state:", same)
# EPIC compares rewards on *all* transitions, impossible ones included, so we
# measure the plain shaping R + gamma Phi0(s') - Phi0(s) (the terminal convention
# changes F only out of the goal).
dense = shaping.shape(grid.rewards, phi0, grid.gamma)
print("EPIC distance between R and R + F:",
      round(shaping.epic_distance(grid.rewards, dense, grid.gamma), 12))

# %%
# Q-learning (lr = 0.1, epsilon = 0.1, Q0 = 0) with Phi = 0, 0.5 Phi0 and Phi0, five seeds.

n_trials, seeds = 100, range(5)
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for c, label in [(0.0, "no shaping"), (0.5, "0.5 Phi0"), (1.0, "Phi0")]:
    runs = [shaping.q_learning(grid, n_trials, lr=0.1, epsilon=0.1, rng=s, start=0,
                               potential=c * phi0) for s in seeds]
    steps = [run.episode_lengths for run in runs]
    ax0.plot(np.arange(1, n_trials + 1), np.mean(steps, axis=0), label=label)
ax0.set_yscale("log")
ax0.set_xlabel("trial")
ax0.set_ylabel("steps to the goal (mean of 5 seeds)")
ax0.legend()

im = ax1.imshow(grid.to_grid(phi0), cmap="viridis")
# up, right, down, left
arrows = {0: (0, -0.35), 1: (0.35, 0), 2: (0, 0.35), 3: (-0.35, 0)}
for s, a in enumerate(shaped.solve().actions):
    if s in grid.goals:
        continue
    r, col = grid.cells[s]
    dx, dy = arrows[int(a)]
    ax1.arrow(col - dx / 2, r - dy / 2, dx, dy, head_width=0.15, color="white")
ax1.set_title("Phi0 and the optimal action (shaped = unshaped)")
fig.colorbar(im, ax=ax1)
plt.show()
