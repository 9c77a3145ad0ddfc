"""
EXO seeks a mode, DPO spreads between modes
===========================================

When the policy class cannot represent the target :math:`\\pi^*`, the :math:`K\\to\\infty` limits
of the K-sample EXO and DPO losses part ways: EXO minimises the reverse KL
:math:`\\mathrm{KL}(\\pi_\\theta\\,\\|\\,\\pi^*)` and settles on one mode, DPO the forward KL
:math:`\\mathrm{KL}(\\pi^*\\,\\|\\,\\pi_\\theta)` and spreads its mass between the modes. Here the
class is log-linear with features :math:`(y, y^2)` (discretised Gaussians) and the target is
bimodal over 30 ordered actions; both projections are exact (:mod:`prefrl.restricted`).
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl.restricted import forward_kl_projection, reverse_kl_projection

x = np.linspace(-4, 4, 30)
target = (0.6 * np.exp(-0.5 * ((x + 1.5) / 0.5) ** 2)
          + 0.4 * np.exp(-0.5 * ((x - 1.5) / 0.5) ** 2))
target /= target.sum()
features = np.c_[x, x**2]

rev = reverse_kl_projection(target, features, rng=0)   # EXO's K -> infinity fit
fwd = forward_kl_projection(target, features)   # DPO's K -> infinity fit
print(f"reverse KL fit: mean {rev.policy @ x:+.2f}, KL {rev.value:.3f}, "
      f"gradient {rev.certificate:.1e};")
print(f"  local minima found {np.unique(rev.start_values.round(3))}")
print(f"forward KL fit: mean {fwd.policy @ x:+.2f} (target mean {target @ x:+.2f})")

fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.fill_between(x, target, step="mid", color="grey", alpha=0.35,
                label=r"target $\pi^*$")
ax.plot(x, rev.policy, lw=2, label=r"reverse KL (EXO, $K\to\infty$)")
ax.plot(x, fwd.policy, lw=2, label=r"forward KL (DPO, $K\to\infty$)")
ax.set_xlabel("action y")
ax.set_ylabel("probability")
ax.legend()
fig.tight_layout()
plt.show()
