r"""Alignment via optimal transport (AOT): smoothed DPO on batch-sorted log-ratios.

Melnyk et al. (2024), "Distributional Preference Alignment of LLMs via Optimal Transport": the
paired form :func:`aot` (Eq. 9) sorts the policy's and the reference's margins over the batch,
the unpaired form :func:`aot_unpaired` (Eq. 8) sorts the chosen and the rejected log-ratios
separately; both apply the label-smoothed logistic loss to the sorted differences, so entry
:math:`i` of the output belongs to the :math:`i`-th smallest values, not to pair :math:`i`. One
helper, :func:`_sorted_difference`, computes both (values and the gradient scattered back through
the sorting permutations).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_in_range
from . import _pairwise_core as core
from ._registry import ValueAndGrad, register_loss

__all__ = ["aot", "aot_unpaired"]


def _sorted_difference(a, b, beta, eps):
    """Smoothed logistic loss of sort(a) - sort(b) and its gradients in a and in b."""
    ia, ib = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
    x = a[ia] - b[ib]
    v, d = core.smoothed_sigmoid(beta * x, eps)
    d = beta * d
    ga, gb = np.empty_like(d), np.empty_like(d)
    ga[ia], gb[ib] = d, -d
    return v, ga, gb


def _aot_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            label_smoothing=0.0):
    b = core.positive_beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    v, g_pol, g_ref = _sorted_difference(c - r, rc - rr, b, eps)
    grads = (g_pol, -g_pol, g_ref, -g_ref)
    core.finite(v, grads, "aot")
    return ValueAndGrad(v, grads)


def _aot_unpaired_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                     label_smoothing=0.0):
    b = core.positive_beta(beta)
    eps = check_in_range(label_smoothing, "label_smoothing", 0.0, 0.5)
    c, r, rc, rr = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    v, gw, gl = _sorted_difference(c - rc, r - rr, b, eps)
    grads = (gw, gl, -gw, -gl)
    core.finite(v, grads, "aot_unpaired")
    return ValueAndGrad(v, grads)


@register_loss("aot", kind="pair", gradient=_aot_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def aot(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        label_smoothing=0.0):
    r"""Alignment via optimal transport (paired): smoothed DPO on batch-sorted log-ratios.

    .. math::
        x_{(i)} = \mathrm{sort}(\log\pi(y_w) - \log\pi(y_l))_i
                - \mathrm{sort}(\log\pi_{ref}(y_w) - \log\pi_{ref}(y_l))_i, \\
        \ell_i = -(1-\varepsilon)\log\sigma(\beta x_{(i)}) - \varepsilon\log\sigma(-\beta x_{(i)})

    Sorting runs over the batch, so entry :math:`i` of the output belongs to the :math:`i`-th
    smallest margins, not to pair :math:`i`, and the loss depends on the batch composition.
    Melnyk et al. (2024), "Distributional Preference Alignment of LLMs via Optimal Transport",
    Eq. 9; equals TRL 1.16 ``loss_type="aot"``.

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon`.

    Examples
    --------
    >>> aot([0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], beta=1.0).round(4)
    array([0.6931, 0.3133])
    """
    return _aot_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   label_smoothing=label_smoothing).values



@register_loss("aot_unpaired", kind="pair", gradient=_aot_unpaired_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def aot_unpaired(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
                 label_smoothing=0.0):
    r"""Alignment via optimal transport (unpaired): sort chosen and rejected log-ratios separately.

    .. math::
        x_{(i)} = \mathrm{sort}(r_w)_i - \mathrm{sort}(r_l)_i, \qquad
        \ell_i = -(1-\varepsilon)\log\sigma(\beta x_{(i)}) - \varepsilon\log\sigma(-\beta x_{(i)})

    Melnyk et al. (2024), Eq. 8 (unpaired first-order stochastic dominance); equals TRL 1.16
    ``loss_type="aot_unpaired"``. Output entries are in sorted order (see :func:`aot`).

    Parameters
    ----------
    {params}
    label_smoothing : float in [0, 0.5]
        :math:`\varepsilon`.

    Examples
    --------
    >>> aot_unpaired([1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], beta=1.0).round(4)
    array([0.6931, 0.6931])
    """
    return _aot_unpaired_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                            beta=beta, label_smoothing=label_smoothing).values
