r"""Losses on single (unpaired) responses: KTO, DRO and PMPO.

Each response comes with its policy and reference log-probabilities (sums over tokens), shape
``(n,)``, and a label or a reward; every function returns the unreduced per-response loss.

- :func:`kto`, :func:`kto_reference_point`: Ethayarajh et al. (2024), "KTO: Model Alignment as
  Prospect Theoretic Optimization", Eq. 8 and Sec. 4.1.
- :func:`dro`: Richemond et al. (2024), "Offline Regularised Reinforcement Learning for Large
  Language Models Alignment", Eq. 6 (the population loss of :mod:`prefrl.bandits` calls it).
- :func:`pmpo`: Abdolmaleki et al. (2024), "Preference Optimization as Probabilistic Inference",
  Eq. 9.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_in_range, check_positive
from ._math import check_finite, common, labels, sigmoid
from ._registry import ValueAndGrad, register_loss

__all__ = ["dro", "kto", "kto_reference_point", "pmpo"]


def kto_reference_point(mismatched_logps, mismatched_ref_logps) -> float:
    r"""KTO's reference point :math:`z_0`: the clamped mean log-ratio on mismatched pairs.

    .. math::
        z_0 = \max\Big(0,\ \frac1m\sum_{j=1}^m \big(\log\pi(y'_j \mid x_j)
              - \log\pi_{ref}(y'_j \mid x_j)\big)\Big)

    where :math:`(x_j, y'_j)` pairs each prompt with the completion of *another* example (TRL
    rotates the completions of a batch by one position), so the mean estimates
    :math:`\mathrm{KL}(\pi \| \pi_{ref})`. Ethayarajh et al. (2024), "KTO", Eq. 8 and Sec. 4.1;
    equals TRL 1.16 ``KTOTrainer``'s ``kl`` (computed without gradient, and gathered across devices
    there: pass all devices' pairs here).

    Parameters
    ----------
    mismatched_logps : array, shape (m,)
        :math:`\log\pi(y'_j \mid x_j)`, summed over tokens.
    mismatched_ref_logps : array, shape (m,)
        :math:`\log\pi_{ref}(y'_j \mid x_j)`.

    Returns
    -------
    float
        :math:`z_0 \ge 0` (a constant for :func:`kto`: no gradient flows through it).

    Examples
    --------
    >>> kto_reference_point([-3.0, -5.0], [-4.0, -5.5])
    0.75
    >>> kto_reference_point([-5.0], [-4.0])
    0.0
    """
    a, b = common(("mismatched_logps", mismatched_logps),
                  ("mismatched_ref_logps", mismatched_ref_logps))
    return float(max(0.0, float(np.mean(a.astype(np.float64) - b))))


def _kto_vg(policy_logps, ref_logps, *, desirable, beta, reference_point=0.0,
            desirable_weight=1.0, undesirable_weight=1.0):
    b = check_positive(beta, "beta")
    z0 = check_in_range(reference_point, "reference_point", 0.0, np.inf)
    lam_d = check_positive(desirable_weight, "desirable_weight", allow_zero=True)
    lam_u = check_positive(undesirable_weight, "undesirable_weight", allow_zero=True)
    lp, lr = common(("policy_logps", policy_logps), ("ref_logps", ref_logps))
    d = labels(desirable, "desirable", lp)
    x = np.where(d, b * ((lp - lr) - z0), b * (z0 - (lp - lr)))
    lam = np.where(d, lam_d, lam_u).astype(lp.dtype)
    v = lam * sigmoid(-x)
    # d/dx (1 - sigma(x)) = -sigma(x) sigma(-x); dx/dlp = +b (desirable) or -b (undesirable)
    dx = -lam * sigmoid(x) * sigmoid(-x)
    g = np.where(d, b, -b).astype(lp.dtype) * dx
    grads = (g, -g)
    check_finite(v, grads, "kto")
    return ValueAndGrad(v, grads)


@register_loss("kto", kind="single", gradient=_kto_vg, extras={"desirable": "bool"},
               defaults=dict(beta=0.1, reference_point=0.0))
def kto(policy_logps, ref_logps, *, desirable, beta, reference_point=0.0, desirable_weight=1.0,
        undesirable_weight=1.0):
    r"""Kahneman-Tversky Optimization loss for single labelled responses.

    .. math::
        \ell_i = \begin{cases}
            \lambda_D\,\big(1 - \sigma(\beta(r_i - z_0))\big) & y_i \text{ desirable} \\
            \lambda_U\,\big(1 - \sigma(\beta(z_0 - r_i))\big) & y_i \text{ undesirable}
        \end{cases}, \qquad r_i = \log\pi(y_i) - \log\pi_{ref}(y_i)

    with :math:`z_0` the reference point (a constant; see :func:`kto_reference_point`),
    :math:`\beta` the KL weight and :math:`\lambda_D, \lambda_U` the class weights.

    Ethayarajh et al. (2024), "KTO: Model Alignment as Prospect Theoretic Optimization", Eq. 8.
    Equals TRL 1.16 ``KTOTrainer`` (``loss_type="kto"``) per example; TRL then averages over the
    concatenated desirable and undesirable examples, so classes weigh by their counts.
    ``reference_point=0`` gives TRL's ``apo_zero_unpaired``.

    Parameters
    ----------
    policy_logps : array, shape (n,)
        :math:`\log\pi(y_i)`, summed over tokens.
    ref_logps : array, shape (n,)
        :math:`\log\pi_{ref}(y_i)`.
    desirable : array of bool, shape (n,)
        True for desirable responses.
    beta : float > 0
        :math:`\beta` (TRL default 0.1).
    reference_point : float >= 0
        :math:`z_0`.
    desirable_weight, undesirable_weight : float >= 0
        :math:`\lambda_D, \lambda_U` (TRL defaults 1).

    Examples
    --------
    >>> kto([0.0, 0.0], [0.0, 0.0], desirable=[True, False], beta=1.0).round(4)
    array([0.5, 0.5])
    """
    return _kto_vg(policy_logps, ref_logps, desirable=desirable, beta=beta,
                   reference_point=reference_point, desirable_weight=desirable_weight,
                   undesirable_weight=undesirable_weight).values


def _dro_vg(policy_logps, ref_logps, values, *, rewards, beta):
    b = check_positive(beta, "beta")
    lp, lr, val, rew = common(("policy_logps", policy_logps), ("ref_logps", ref_logps),
                              ("values", values), ("rewards", rewards))
    z = rew - val - b * (lp - lr)
    v = 0.5 * z * z
    grads = (-b * z, b * z, -z)
    check_finite(v, grads, "dro")
    return ValueAndGrad(v, grads)


@register_loss("dro", kind="single", gradient=_dro_vg, extras={"rewards": "values"},
               defaults=dict(beta=0.1))
def dro(policy_logps, ref_logps, values, *, rewards, beta):
    r"""Direct Reward Optimisation: a squared soft-Bellman residual on single responses.

    .. math::
        \ell_i = \tfrac12\Big(R_i - V(x_i) - \beta\log\frac{\pi(y_i \mid x_i)}{\pi_{ref}(y_i \mid x_i)}\Big)^2

    with :math:`R_i` the scalar reward of response :math:`y_i`, :math:`V(x_i)` the value estimate
    of its prompt and :math:`\beta` the KL weight (the paper's :math:`\tau`). The loss is zero
    exactly at :math:`\pi^* = \pi_{ref} e^{R/\beta}/Z`, :math:`V^* = \beta\log Z`.

    Richemond et al. (2024), "Offline Regularised Reinforcement Learning for Large Language Models
    Alignment", Eq. 6. No public trainer ships it (TRL 1.16 and verl have none).

    Parameters
    ----------
    policy_logps, ref_logps : array, shape (n,)
        :math:`\log\pi(y_i)`, :math:`\log\pi_{ref}(y_i)`, summed over tokens.
    values : array, shape (n,)
        :math:`V(x_i)` (trainable: its gradient is returned).
    rewards : array, shape (n,)
        :math:`R_i`.
    beta : float > 0
        :math:`\beta`.

    Examples
    --------
    >>> dro([0.0], [0.0], [1.0], rewards=[1.0], beta=1.0)
    array([0.])
    """
    return _dro_vg(policy_logps, ref_logps, values, rewards=rewards, beta=beta).values


def _pmpo_vg(policy_logps, ref_logps, *, accepted, alpha=0.5, beta=0.0):
    a = check_in_range(alpha, "alpha", 0.0, 1.0)
    b = check_positive(beta, "beta", allow_zero=True)
    lp, lr = common(("policy_logps", policy_logps), ("ref_logps", ref_logps))
    acc = labels(accepted, "accepted", lp)
    coef = np.where(acc, -a, 1.0 - a).astype(lp.dtype)
    v = coef * lp + b * (lr - lp)
    grads = (coef - b, np.full_like(lp, b))
    check_finite(v, grads, "pmpo")
    return ValueAndGrad(v, grads)


@register_loss("pmpo", kind="single", gradient=_pmpo_vg, extras={"accepted": "bool"},
               defaults=dict(alpha=0.5, beta=0.1))
def pmpo(policy_logps, ref_logps, *, accepted, alpha=0.5, beta=0.0):
    r"""Preference-based MPO: raise the likelihood of accepted, lower that of rejected samples.

    .. math::
        \ell_i = \begin{cases} -\alpha\log\pi(y_i) & y_i \in D_a \\
                               (1-\alpha)\log\pi(y_i) & y_i \in D_r \end{cases}
                 + \beta\,\big(\log\pi_{ref}(y_i) - \log\pi(y_i)\big)

    with :math:`\alpha \in [0,1]` the weight of the accepted set and :math:`\beta` the weight of
    the :math:`\mathrm{KL}(\pi_{ref}\|\pi)` regulariser, estimated per sample (exact in expectation
    when the samples come from :math:`\pi_{ref}`). Averaging over each set separately gives the
    paper's objective :math:`-J`.

    Abdolmaleki et al. (2024), "Preference Optimization as Probabilistic Inference" (PMPO), Eq. 9.
    Without the KL term (:math:`\beta = 0`) negative-only learning is unbounded.

    Parameters
    ----------
    policy_logps, ref_logps : array, shape (n,)
        Summed log-probabilities under the policy and the reference.
    accepted : array of bool, shape (n,)
        True for samples in :math:`D_a`, False for :math:`D_r`.
    alpha : float in [0, 1]
        :math:`\alpha`.
    beta : float >= 0
        :math:`\beta`.

    Examples
    --------
    >>> pmpo([-1.0, -2.0], [-1.0, -1.0], accepted=[True, False], alpha=0.5, beta=1.0)
    array([0.5, 0. ])
    """
    return _pmpo_vg(policy_logps, ref_logps, accepted=accepted, alpha=alpha, beta=beta).values
