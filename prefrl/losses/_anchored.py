r"""Pairwise losses on each log-ratio separately: NCA, BCO and the anchored APO losses.

Unlike DPO, which sees only the margin :math:`r_w - r_l`, these losses anchor each log-ratio
:math:`r_w = \log\pi(y_w) - \log\pi_{ref}(y_w)` and :math:`r_l` on its own (push the chosen
response up, the rejected one down); see :mod:`prefrl.losses` for the inputs' convention.

- :func:`nca_pair`: Chen et al. (2024), "Noise Contrastive Alignment of Language Models with
  Explicit Rewards", Eq. 12 (K = 2).
- :func:`bco_pair`: Jung et al. (2024), "Binary Classifier Optimization for Large Language Model
  Alignment", Eq. 8.
- :func:`apo_zero`, :func:`apo_down`: D'Oosterlinck et al. (2024), "Anchored Preference
  Optimization and Contrastive Revisions", Eqs. 7 and 8.
"""

from __future__ import annotations

import numpy as np

from . import _pairwise_core as core
from ._math import sigmoid, softplus
from ._registry import register_loss

__all__ = ["apo_down", "apo_zero", "bco_pair", "nca_pair"]


def _nca_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = core.positive_beta(beta)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        v = softplus(-b * rw) + 0.5 * softplus(b * rw) + 0.5 * softplus(b * rl)
        return v, b * (-sigmoid(-b * rw) + 0.5 * sigmoid(b * rw)), 0.5 * b * sigmoid(b * rl)

    return core.run("nca_pair", kernel, arrays)


@register_loss("nca_pair", kind="pair", gradient=_nca_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def nca_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""Noise-contrastive alignment (NCA) for pairs.

    .. math::
        \ell = -\log\sigma(\beta r_w) - \tfrac12\log\sigma(-\beta r_w) - \tfrac12\log\sigma(-\beta r_l)

    on the raw log-ratios. Chen et al. (2024), "Noise Contrastive Alignment of Language Models with
    Explicit Rewards", Eq. 12 (K = 2); equals TRL 1.16 ``loss_type="nca_pair"``.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> nca_pair([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.3863])
    """
    return _nca_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                   beta=beta).values


def _bco_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            delta=0.0):
    b = core.positive_beta(beta)
    if not np.isfinite(delta):
        raise ValueError(f"delta must be finite, got {delta}")
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        xw, xl = b * rw - delta, b * rl - delta
        return softplus(-xw) + softplus(xl), -b * sigmoid(-xw), b * sigmoid(xl)

    return core.run("bco_pair", kernel, arrays)


@register_loss("bco_pair", kind="pair", gradient=_bco_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def bco_pair(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             delta=0.0):
    r"""Binary classifier optimisation (BCO) on pairs.

    .. math::
        \ell = -\log\sigma(\beta r_w - \delta) - \log\sigma(-(\beta r_l - \delta))

    Jung et al. (2024), "Binary Classifier Optimization for Large Language Model Alignment", Eq. 8.
    ``delta=0`` (default) equals TRL 1.16 ``loss_type="bco_pair"``; TRL <= 0.28 used for
    :math:`\delta` a running mean of all :math:`\beta r` (pass it explicitly to reproduce).

    Parameters
    ----------
    {params}
    delta : float
        The reward shift :math:`\delta`, a constant here (no gradient flows through it).

    Examples
    --------
    >>> bco_pair([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.3863])
    """
    return _bco_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   delta=delta).values


def _apo_zero_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = core.positive_beta(beta)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        sw, sl = sigmoid(b * rw), sigmoid(b * rl)
        return sigmoid(-b * rw) + sl, -b * sw * sigmoid(-b * rw), b * sl * sigmoid(-b * rl)

    return core.run("apo_zero", kernel, arrays)


@register_loss("apo_zero", kind="pair", gradient=_apo_zero_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def apo_zero(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""Anchored preference optimisation, "zero" anchor: push chosen up and rejected down.

    .. math::
        \ell = \big(1 - \sigma(\beta r_w)\big) + \sigma(\beta r_l)

    D'Oosterlinck et al. (2024), "Anchored Preference Optimization and Contrastive Revisions",
    Eq. 7 (APO-zero); equals TRL 1.16 ``loss_type="apo_zero"``.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> apo_zero([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.])
    """
    return _apo_zero_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        beta=beta).values


def _apo_down_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    b = core.positive_beta(beta)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)

    def kernel(rw, rl):
        x = b * (rw - rl)
        sw = sigmoid(b * rw)
        dm = b * sigmoid(x) * sigmoid(-x)
        return sw + sigmoid(-x), b * sw * sigmoid(-b * rw) - dm, dm

    return core.run("apo_down", kernel, arrays)


@register_loss("apo_down", kind="pair", gradient=_apo_down_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def apo_down(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""Anchored preference optimisation, "down" anchor: push chosen down, rejected further down.

    .. math::
        \ell = \sigma(\beta r_w) + 1 - \sigma(\beta (r_w - r_l))

    D'Oosterlinck et al. (2024), Eq. 8 (APO-down); equals TRL 1.16 ``loss_type="apo_down"`` (raw
    log-ratios in both terms since TRL PR #6444).

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> apo_down([0.0], [0.0], [0.0], [0.0], beta=1.0).round(4)
    array([1.])
    """
    return _apo_down_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        beta=beta).values
