"""
Expressivity: reward machines, LTL and the five-way separation
==============================================================

In the one-state environment with three actions a stationary policy is a point of the
triangle. Four objectives from four formalisms order these points very differently:
entropy-regularised RL (a unique interior optimum), an outer nonlinear Markov reward (a
threshold on a linear return: a jump along a line), a reward machine paying for every change of
action plus a small reward on action 0 (computed exactly on the product chain; its optimum
((1 + 1/e)/3, ...) is transcendental, which no LTL objective's optimum can be), and the LTL formula
"eventually action 0 and eventually action 1" (probability 1 exactly when both actions have
positive mass, computed exactly from the product with a deterministic automaton). No Markov
reward induces any of them (each has an LP Farkas certificate); the table printed at the end says
how each pair of the five formalisms RRL, ONMR, RM, LTL, LAR is separated in prefrl (certified,
argued with checked premises, or open). The witnesses and arguments are ours; the paper's
abstract states the five-way separation.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl import expressivity as ex
from prefrl.mdp.envs import one_state_env

W = ex.five_way_witnesses()
tri = one_state_env(3)
grid = ex.simplex_grid(30)
P = np.array([p[0] for p in grid])
# Barycentric -> plane: action 0 at the top, 1 bottom left, 2 bottom right.
x = P[:, 2] + 0.5 * P[:, 0]
y = P[:, 0] * np.sqrt(3) / 2

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
for ax, name in zip(axes, ("RRL", "ONMR", "RM", "LTL")):
    J = W[name][1]
    v = np.array([J(p) for p in grid])
    sc = ax.scatter(x, y, c=v, s=18, cmap="viridis")
    best = np.flatnonzero(v >= v.max() - 1e-12)
    # mark a unique optimum; large tied top classes are visible by colour
    if best.size < 5:
        ax.scatter(x[best], y[best], s=40, facecolors="none", edgecolors="red")
    order = ex.policy_ordering(J, grid[::7])
    lp = ex.mr_expressible(tri, order, grid[::7], gamma=0.5)
    ax.set_title(f"{name}: MR-expressible? {lp.feasible}", fontsize=9)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.colorbar(sc, ax=ax, shrink=0.7)
fig.suptitle("Four orderings of the policies of a one-state, three-action "
             "environment (red circle: the unique best policy)", fontsize=10)

cells = ex.five_way_table(m=6, n_draws=4, rng=0)
print(f"{'X > Y':12s} status     argument")
for key, cell in cells.items():
    if not key.endswith(">MR"):
        print(f"{key:12s} {cell['status']:10s} {cell['method'][:60]}")
plt.show()
