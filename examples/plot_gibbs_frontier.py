"""
The KL-regularised optimum and its reward-KL frontier
=====================================================

The Gibbs tilt :math:`\\pi_\\beta \\propto \\pi_{ref} e^{r/\\beta}` maximises
:math:`\\mathbb{E}_\\pi r - \\beta \\mathrm{KL}(\\pi \\| \\pi_{ref})`. Sweeping :math:`\\beta` traces the
best reward reachable for each KL budget; random policies all fall below it.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl.policies import gibbs, kl

rng = np.random.default_rng(0)
r = np.array([1.0, 0.5, 0.0, -0.5, -1.0])
pi_ref = np.array([0.1, 0.2, 0.4, 0.2, 0.1])

betas = np.logspace(-2, 2, 100)
policies = [gibbs(pi_ref, r, b) for b in betas]
frontier = np.array([[kl(p, pi_ref), p @ r] for p in policies])
others = rng.dirichlet(np.ones(5) * 0.5, size=2000)
cloud = np.array([[kl(p, pi_ref), p @ r] for p in others])

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(cloud[:, 0], cloud[:, 1], s=2, color="grey", alpha=0.4,
           label="random policies")
ax.plot(frontier[:, 0], frontier[:, 1], color="C3", lw=2,
        label=r"Gibbs policies $\pi_\beta$")
ax.set_xlabel(r"KL$(\pi \| \pi_{ref})$")
ax.set_ylabel(r"$\mathbb{E}_\pi r$")
ax.legend()
fig.tight_layout()
plt.show()
