r"""Listwise losses over :math:`K` responses per prompt: Plackett-Luce DPO, EXO and DPO-K.

Inputs are arrays of shape ``(n, K)``: for each of :math:`n` prompts, the summed log-probabilities
of :math:`K` responses under the policy and the reference. Outputs are per-prompt, shape ``(n,)``.

- :func:`plackett_luce_dpo`: Rafailov et al. (2023), "Direct Preference Optimization",
  Appendix A.3, Eq. 18.
- :func:`exo`, :func:`dpo_k`: Ji et al. (2024), "Towards Efficient Exact Optimization of Language
  Model Alignment", Eqs. 10 and 12 (:mod:`prefrl.restricted` trains them on restricted classes).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax

from .._validation import check_array, check_positive, check_same_shape
from ._math import check_finite, common
from ._registry import ValueAndGrad, register_loss

__all__ = ["dpo_k", "exo", "plackett_luce_dpo"]


def _two_d(*named):
    arrays = common(*named, ndim=2)
    if arrays[0].shape[1] < 2:
        raise ValueError(f"{named[0][0]} must have K >= 2 responses per row, got shape "
                         f"{arrays[0].shape}")
    return arrays


def _ranking(ranking, shape):
    if ranking is None:
        return None
    r = np.asarray(ranking)
    if r.shape != shape:
        raise ValueError(f"ranking must have shape {shape}, got {r.shape}")
    if not np.issubdtype(r.dtype, np.integer):
        raise TypeError(f"ranking must hold integers, got dtype {r.dtype}")
    if not np.all(np.sort(r, axis=1) == np.arange(shape[1])):
        raise ValueError("each row of ranking must be a permutation of 0..K-1")
    return r


def _pl_vg(policy_logps, ref_logps, *, beta, ranking=None):
    b = check_positive(beta, "beta")
    lp, lr = _two_d(("policy_logps", policy_logps), ("ref_logps", ref_logps))
    perm = _ranking(ranking, lp.shape)
    x = b * (lp - lr)
    if perm is not None:
        x = np.take_along_axis(x, perm, axis=1)
    # L_k = logsumexp_{j >= k} x_j: reverse cumulative logaddexp
    L = np.flip(np.logaddexp.accumulate(np.flip(x, axis=1), axis=1), axis=1)
    v = np.sum(L - x, axis=1)
    # d v / d x_m = -1 + sum_{k <= m} exp(x_m - L_k)   (each term <= 1)
    K = x.shape[1]
    tri = np.tril(np.ones((K, K), dtype=bool))  # tri[m, k] = k <= m
    W = np.exp(np.where(tri[None], x[:, :, None] - L[:, None, :], -np.inf))
    dx = W.sum(axis=2) - 1.0
    if perm is not None:
        out = np.empty_like(dx)
        np.put_along_axis(out, perm, dx, axis=1)
        dx = out
    grads = (b * dx, -b * dx)
    check_finite(v, grads, "plackett_luce_dpo")
    return ValueAndGrad(v, grads)


@register_loss("plackett_luce_dpo", kind="list", gradient=_pl_vg, defaults=dict(beta=0.1),
               optional={"ranking": "ranking"})
def plackett_luce_dpo(policy_logps, ref_logps, *, beta, ranking=None):
    r"""DPO for rankings of :math:`K` responses under the Plackett-Luce model.

    .. math::
        \ell = -\sum_{k=1}^{K} \log \frac{\exp(\beta\, g_{\tau(k)})}
                                           {\sum_{j=k}^{K}\exp(\beta\, g_{\tau(j)})}, \qquad
        g_y = \log\pi(y) - \log\pi_{ref}(y)

    with :math:`\tau(1), \dots, \tau(K)` the responses from best to worst (the :math:`k = K`
    term is zero). :math:`K = 2` is :func:`prefrl.losses.dpo`. Rafailov et al. (2023), "Direct
    Preference Optimization", Appendix A.3, Eq. 18.

    Parameters
    ----------
    policy_logps, ref_logps : array, shape (n, K)
        Summed log-probabilities of the :math:`K` responses of each prompt.
    beta : float > 0
        KL weight :math:`\beta`.
    ranking : int array, shape (n, K), optional
        ``ranking[i]`` lists the column indices of row ``i`` from best to worst; by default the
        columns are already in that order.

    Examples
    --------
    >>> plackett_luce_dpo([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], beta=1.0).round(4)  # log 3!
    array([1.7918])
    """
    return _pl_vg(policy_logps, ref_logps, beta=beta, ranking=ranking).values


def _soft_labels(policy_logps, ref_logps, rewards, beta, beta_r):
    """beta, beta_r, the rewards and log p_f = log softmax(beta (log pi - log pi_ref)) per row."""
    b = check_positive(beta, "beta")
    br = b if beta_r is None else check_positive(beta_r, "beta_r")
    lp, lr = _two_d(("policy_logps", policy_logps), ("ref_logps", ref_logps))
    r = check_array(rewards, "rewards", ndim=2, dtype=None).astype(lp.dtype, copy=False)
    check_same_shape("rewards", r, "policy_logps", lp)
    f = b * (lp - lr)
    return b, br, r, log_softmax(f, axis=1)


def _exo_vg(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    b, br, r, log_pf = _soft_labels(policy_logps, ref_logps, rewards, beta, beta_r)
    log_pr = log_softmax(r / br, axis=1)
    pf = np.exp(log_pf)
    v = np.sum(pf * (log_pf - log_pr), axis=1)
    df = pf * ((log_pf - log_pr) - v[:, None])
    grads = (b * df, -b * df)
    check_finite(v, grads, "exo")
    return ValueAndGrad(v, grads)


@register_loss("exo", kind="list", gradient=_exo_vg, extras={"rewards": "list_rewards"},
               defaults=dict(beta=0.1))
def exo(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    r"""EXO over :math:`K` samples: reverse KL from the model's to the reward's distribution.

    .. math::
        \ell = \sum_{i=1}^K p_f(i)\log\frac{p_f(i)}{p_r(i)}, \qquad
        p_f = \mathrm{softmax}_i\big(\beta\,(\log\pi(y_i) - \log\pi_{ref}(y_i))\big), \quad
        p_r = \mathrm{softmax}_i\big(R_i / \beta_r\big)

    Ji et al. (2024), "Towards Efficient Exact Optimization of Language Model Alignment", Eq. 10
    (:math:`\beta` is their :math:`\beta_\pi`, :math:`\beta_r` the reward temperature). Mode-seeking;
    compare :func:`dpo_k` (forward KL, mean-seeking).

    Parameters
    ----------
    policy_logps, ref_logps : array, shape (n, K)
        Summed log-probabilities of :math:`K` samples per prompt.
    rewards : array, shape (n, K)
        Rewards :math:`R_i` (constants).
    beta : float > 0
        :math:`\beta_\pi`.
    beta_r : float > 0, optional
        :math:`\beta_r`; defaults to ``beta``.

    Examples
    --------
    >>> exo([[1.0, 0.0]], [[0.0, 0.0]], rewards=[[1.0, 0.0]], beta=1.0)
    array([0.])
    """
    return _exo_vg(policy_logps, ref_logps, rewards=rewards, beta=beta, beta_r=beta_r).values


def _dpo_k_vg(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    b, br, r, log_pf = _soft_labels(policy_logps, ref_logps, rewards, beta, beta_r)
    pr = softmax(r / br, axis=1)
    v = -np.sum(pr * log_pf, axis=1)
    df = np.exp(log_pf) - pr
    grads = (b * df, -b * df)
    check_finite(v, grads, "dpo_k")
    return ValueAndGrad(v, grads)


@register_loss("dpo_k", kind="list", gradient=_dpo_k_vg, extras={"rewards": "list_rewards"},
               defaults=dict(beta=0.1))
def dpo_k(policy_logps, ref_logps, *, rewards, beta, beta_r=None):
    r"""DPO generalised to :math:`K` samples with soft reward labels (EXO's "DPO-rw").

    .. math::
        \ell = -\sum_{i=1}^K p_r(i)\log p_f(i)

    with :math:`p_f, p_r` as in :func:`exo`: the cross-entropy, i.e. the forward KL
    :math:`\mathrm{KL}(p_r\|p_f)` up to the entropy of :math:`p_r`. Ji et al. (2024), Eq. 12; for
    :math:`K = 2` and a hard label it is :func:`prefrl.losses.dpo`.

    Parameters
    ----------
    policy_logps, ref_logps : array, shape (n, K)
        Summed log-probabilities of :math:`K` samples per prompt.
    rewards : array, shape (n, K)
        Rewards :math:`R_i` (constants).
    beta : float > 0
        :math:`\beta_\pi`.
    beta_r : float > 0, optional
        :math:`\beta_r`; defaults to ``beta``.

    Examples
    --------
    >>> dpo_k([[0.0, 0.0]], [[0.0, 0.0]], rewards=[[0.0, 0.0]], beta=1.0).round(4)
    array([0.6931])
    """
    return _dpo_k_vg(policy_logps, ref_logps, rewards=rewards, beta=beta, beta_r=beta_r).values
