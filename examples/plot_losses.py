"""
Pairwise preference losses as functions of the margin
=====================================================

Every DPO-family loss in :mod:`prefrl.losses` is a function of the log-ratio margin
:math:`h = r_w - r_l` (some also of :math:`r_w` alone). We plot the losses of TRL's registry with
:math:`\\beta = 1` and their analytic derivatives from :func:`prefrl.losses.value_and_grad`. The
derivative shows where each loss stops pushing: DPO and SLiC push forever (no finite optimum on
separable data), cDPO and EXO stop at :math:`\\sigma(\\beta h) = 1-\\varepsilon`, IPO at
:math:`h = 1/(2\\beta)`, while robust DPO keeps a negative slope.
"""

import matplotlib.pyplot as plt
import numpy as np

from prefrl.losses import value_and_grad

h = np.linspace(-6, 6, 601)
z = np.zeros_like(h)
beta, eps = 1.0, 0.1
curves = {
    "dpo (sigmoid)": ("dpo", {}),
    "cdpo, eps=0.1": ("cdpo", {"label_smoothing": eps}),
    "robust, eps=0.1": ("robust", {"label_smoothing": eps}),
    "hinge (SLiC)": ("hinge", {}),
    "ipo": ("ipo", {}),
    "exo_pair, eps=0.1": ("exo_pair", {"label_smoothing": eps}),
    "discopop": ("discopop", {}),
}

fig, (ax_v, ax_g) = plt.subplots(1, 2, figsize=(10, 3.8))
for i, (label, (name, opts)) in enumerate(curves.items()):
    # the margin is carried by the chosen log-ratio; the rejected one is 0
    values, grads = value_and_grad(name, h, z, z, z, beta=beta, **opts)
    lw = 2.5 if name == "dpo" else 1.5
    ax_v.plot(h, values, color=f"C{i}", label=label, lw=lw)
    ax_g.plot(h, grads[0], color=f"C{i}", label=label)

h_cdpo = np.log((1 - eps) / eps) / beta
for ax in (ax_v, ax_g):
    ax.axvline(1 / (2 * beta), color="C4", ls=":", lw=1)
    ax.axvline(h_cdpo, color="C1", ls=":", lw=1)
    ax.set_xlabel("margin h = r_w - r_l")
ax_g.axhline(0, color="black", lw=0.6)
ax_g.set_ylim(-1.3, 0.8)  # IPO's linear gradient leaves the frame
ax_v.set_ylim(-1, 6)
ax_v.set_ylabel("per-pair loss")
ax_g.set_ylabel("d loss / d chosen_logps")
ax_v.set_title(f"losses, beta = {beta}")
ax_g.set_title("analytic gradients; dotted: IPO and cDPO/EXO optima")
ax_g.legend(fontsize=7, loc="lower right")
fig.tight_layout()
plt.show()
