"""
Minimax winners and self-play on intransitive preferences
=========================================================

Three raters rank three responses cyclically, so the aggregate preference is a Condorcet cycle
and no reward explains it. The minimax (von Neumann) winner, computed by a linear program, is the
policy no response beats more than half the time. Self-play (SPO with Hedge) finds it on average,
with exploitability equal to its regret divided by the number of rounds, while its last iterate
keeps cycling. A Bradley-Terry reward model, on a 4-response instance whose favourite by average
score is beaten 90% of the time, returns an exploitable policy.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl.games import bt_rlhf, exploitability, minimax_winner, spo
from prefrl.preferences import mixture_of_bradley_terry

# Three raters, rewards over responses (a, b, c); each compares deterministically.
raters = np.array([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0]])
P = mixture_of_bradley_terry(raters, temperature=0)
winner = minimax_winner(P)
print("preference matrix:\n", P.round(3))
print("minimax winner:", winner.policy.round(3),
      "exploitability:", winner.exploitability)

run = spo(P, 3000, eta=0.3, init=[0.7, 0.2, 0.1])
t = np.arange(1, 3001)
gap = np.abs(run.exploitability - run.regret / t).max()
print("max |expl(average) - Regret/T| =", gap)

trap = np.array([[0.5, 0.6, 0.1, 0.6], [0.4, 0.5, 0.9, 0.2],
                 [0.9, 0.1, 0.5, 0.9], [0.4, 0.8, 0.1, 0.5]])
rlhf = bt_rlhf(trap, 50, beta=0.01)
scores = {
    "minimax winner": minimax_winner(trap).exploitability,
    "SPO average": spo(trap, 3000).exploitability[-1],
    "BT-RLHF": exploitability(trap, rlhf.last_policy),
}

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
ax = axes[0]
ax.plot(run.policies[:, 0], run.policies[:, 1], lw=0.6, label="last iterate")
avg = np.cumsum(run.policies[:-1], axis=0) / t[:, None]
ax.plot(avg[:, 0], avg[:, 1], lw=1.5, label="average")
ax.plot(*winner.policy[:2], "k*", ms=12, label="minimax winner")
ax.set_xlabel(r"$\pi(a)$")
ax.set_ylabel(r"$\pi(b)$")
ax.set_title("SPO on a Condorcet cycle")
ax.legend(fontsize=7)
ax = axes[1]
ax.loglog(t, run.exploitability, label="expl(average)")
ax.loglog(t, run.regret / t, "--", label="Regret(T)/T")
ax.loglog(t, exploitability(P, run.policies[1:]), lw=0.5,
          label="expl(last iterate)")
ax.set_xlabel("round T")
ax.set_title("exploitability = Regret / T")
ax.legend(fontsize=7)
ax = axes[2]
ax.bar(range(3), list(scores.values()), color=["C2", "C0", "C3"])
ax.set_xticks(range(3), list(scores), fontsize=8)
ax.set_ylabel("exploitability")
ax.set_title("reward model vs minimax winner")
fig.tight_layout()
plt.show()
