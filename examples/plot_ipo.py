"""
IPO stays regularised where DPO turns greedy
============================================

On the total order :math:`a \\succ b \\succ c` (each pair compared once), the DPO loss has no
minimiser: its logits diverge and :math:`\\pi(a) \\to 1` whatever the KL weight :math:`\\tau`. IPO
regresses each log-ratio margin onto :math:`1/(2\\tau)` and settles at the least-squares optimum
:math:`g_a - g_b = g_b - g_c = 1/(3\\tau)` (Azar et al. 2024, Fig. 1). We train both with Adam from
uniform logits, several seeds and values of :math:`\\tau` at once, and draw the exact optima from
:mod:`prefrl.bandits` as dotted lines.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl.bandits import dpo_dataset_optimum, ipo_dataset_optimum
from prefrl.training import Adam, expand_grid, train_pairwise

winners, losers = np.array([0, 1, 0]), np.array([1, 2, 2])
taus = [0.1, 0.5, 1.0]
grid = expand_grid(tau=taus, seed=range(4))
runs = {
    loss: train_pairwise(loss, winners, losers, beta=grid["tau"], n_steps=1500,
                         batch_size=9, optimizer=Adam(lr=0.01), rng=0, n_actions=3,
                         record_every=10)
    for loss in ("ipo", "dpo")
}

fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
u = np.full(3, 1 / 3)
for ax, tau in zip(axes, taus):
    m = grid["tau"] == tau
    exact = ipo_dataset_optimum(winners, losers, u, tau).policy
    for a, name in enumerate("abc"):
        for loss, ls in (("ipo", "-"), ("dpo", "--")):
            r = runs[loss]
            label = f"{loss.upper()} pi({name})" if tau == taus[0] else None
            ax.plot(r.steps, r.policies[:, m, a].mean(axis=1), ls=ls, color=f"C{a}",
                    label=label)
        ax.axhline(exact[a], color=f"C{a}", ls=":", lw=0.8)
    ax.set_title(f"tau = {tau}")
    ax.set_xlabel("Adam step")
axes[0].set_ylabel("action probability")
axes[0].legend(fontsize=6, ncol=2)
fig.tight_layout()
plt.show()

# %%
# The exact DPO "optimum" is a limit: the maximum-likelihood reward does not exist.
res = dpo_dataset_optimum(winners, losers, u, 1.0)
print("DPO optimum exists:", res.exists, "limit policy:", res.policy)
