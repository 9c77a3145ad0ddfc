r"""Reward hacking through an artifact (length): the fitted artifact weight, RRM, the length split.

Papers
------
* Pang, Padmakumar, Sellam, Parikh and He (2023), "Reward Gaming in Conditional Text Generation":
  a spurious correlation in the preference data gives the reward model a weight on a feature the
  labels do not reward, and RL amplifies it.
* Singhal, Goyal, Xu and Durrett (2023), "A Long Way to Go: Investigating Length Correlations in
  RLHF": the reward gain splits into a shift of the length distribution and a gain within lengths.
* Liu et al. (2024), "RRM: Robust Reward Model Training Mitigates Reward Hacking" (arXiv
  2409.13156): augment the comparisons with responses taken from other prompts.

The model: a multi-context bandit
---------------------------------
Contexts :math:`x = 1..C` (uniform), responses :math:`y = 1..K` drawn from :math:`\mu(\cdot|x)`,
quality :math:`q(x, y)` (the gold reward :math:`r^* = q`) and an artifact :math:`a(x, y)` (length)
that may correlate with quality. Labellers compare two responses to one prompt under
:math:`\mathrm{BT}(q + b\,a)` (:math:`b`: a small artifact bias). The reward model is linear in
:math:`\psi(x, y) = (s(x, y), a(x, y))`, :math:`s` its quality signal (:math:`s = q` unless given).

RRM's augmentation (derived). A response :math:`y'` of another prompt :math:`x'`, put under
:math:`x`, answers nothing: its quality signal and gold reward are :math:`q_{irr}` (below every
quality) while its artifact :math:`a(x', y')` comes along. Two kinds of pairs, each of weight
:math:`\alpha/2` against the original data's 1:

1. own vs other: :math:`(x, y)` against :math:`(x, y')`, the own response winning with
   probability :math:`\sigma(q(x, y) - q_{irr})` (judged on whether it answers the prompt, with no
   artifact bias). The artifact of the other response is independent of the label.
2. other vs other: two responses of other prompts, a tie (each order with weight 1/2). Here
   :math:`\Delta s = 0`, and the loss :math:`\sum_k c_k \log(1 + e^{-w_a \Delta a_k})` over the
   symmetric pairs is minimised at :math:`w_a = 0` with curvature
   :math:`\tfrac14 \sum_k c_k \Delta a_k^2`: an artifact-only ridge.

Both kinds are fitted exactly by :math:`w = (1, 0)` when :math:`s = q`, so as :math:`\alpha \to
\infty` the fitted artifact weight goes to 0, and in the pooled data the winner's artifact
advantage :math:`\mathbb{E}[a_w - a_l]` and the correlation of :math:`\Delta a` with
:math:`\Delta s` are diluted: the augmentation breaks the artifact-quality correlation.

Public functions and results
----------------------------
* :func:`artifact_reward_fit` -> :class:`ArtifactFit` (population linear Bradley-Terry fit,
  :func:`prefrl.bradley_terry.linear_bt_mle_differences`, with or without the augmentation);
* :func:`length_decomposition` -> :class:`LengthDecomposition` (Singhal et al. 2023, exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .._validation import (
    check_array,
    check_distribution,
    check_in_range,
    check_nonnegative,
    check_stochastic_matrix,
)
from ..bradley_terry import linear_bt_mle_differences
from ..results import Result

__all__ = ["ArtifactFit", "LengthDecomposition", "artifact_reward_fit", "length_decomposition"]


@dataclass(frozen=True, eq=False)
class ArtifactFit(Result):
    r"""A linear Bradley-Terry reward model on (quality signal, artifact) (:func:`artifact_reward_fit`).

    Attributes
    ----------
    weights : array, shape (2,)
        :math:`(\hat w_s, \hat w_a)`.
    artifact_weight : float
        :math:`\hat w_a`.
    rewards : array, shape (C, K)
        :math:`\hat r(x, y) = \hat w_s s(x, y) + \hat w_a a(x, y)`.
    artifact_advantage : float
        :math:`\mathbb{E}[a(y_w) - a(y_l)]` over the fitted comparisons (winner minus loser).
    correlation : float
        The weighted correlation of :math:`\Delta a` and :math:`\Delta s` over the fitted
        (winner - loser) rows.
    iterations : int
    converged : bool
    certificate : float
        Max-norm of the loss gradient at ``weights``.
    """

    weights: np.ndarray
    artifact_weight: float
    rewards: np.ndarray
    artifact_advantage: float
    correlation: float
    iterations: int
    converged: bool
    certificate: float


def _wcorr(c: np.ndarray, u: np.ndarray, v: np.ndarray) -> float:
    c = c / c.sum()
    u, v = u - c @ u, v - c @ v
    den = np.sqrt((c @ u**2) * (c @ v**2))
    return float(c @ (u * v) / den) if den > 0 else 0.0


def artifact_reward_fit(
    quality,
    artifact,
    mu,
    *,
    labeller_bias=0.0,
    augmentation=0.0,
    quality_signal=None,
    irrelevant_quality=None,
) -> ArtifactFit:
    r"""Population linear Bradley-Terry fit on (quality, artifact), optionally with RRM augmentation.

    .. math::
        \hat w = \arg\min_{w}\ \sum_{x}\tfrac1C \sum_{y, y'} \mu(y|x)\mu(y'|x)\,
        \sigma\big(\Delta_{yy'}(q + b a)\big)\,\big(-\log\sigma(w^\top(\psi(x,y) - \psi(x,y')))\big)
        \ +\ \tfrac{\alpha}{2}\,\mathcal L_{own/other}(w) + \tfrac{\alpha}{2}\,\mathcal L_{tie}(w),

    with :math:`\psi = (s, a)`, labels from :math:`\mathrm{BT}(q + b\,a)` (Pang et al. 2023: the
    labellers' small artifact bias, or a spurious correlation when :math:`s \ne q`) and the two
    cross-prompt losses of the module docstring (Liu et al. 2024, RRM's augmentation, on a
    bandit). Exact: every comparison enters with its population probability, and the convex fit
    is :func:`prefrl.bradley_terry.linear_bt_mle_differences`.

    Parameters
    ----------
    quality : array, shape (C, K)
        :math:`q`, the gold reward.
    artifact : array, shape (C, K)
        :math:`a` (e.g. length).
    mu : array, shape (C, K)
        Rows: the response distribution per context (also that of other prompts' responses).
    labeller_bias : float
        :math:`b`.
    augmentation : float >= 0
        :math:`\alpha`, the weight of the cross-prompt pairs (the original data weighs 1).
    quality_signal : array, shape (C, K), optional
        :math:`s`, the reward model's quality feature (:math:`q` by default).
    irrelevant_quality : float, optional
        :math:`q_{irr}` (default :math:`\min q - 1`).

    Returns
    -------
    ArtifactFit

    Examples
    --------
    >>> q = np.array([[0.0, 1.0, 2.0], [0.5, 1.5, 0.0]])
    >>> a = q + np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    >>> mu = np.full((2, 3), 1 / 3)
    >>> round(artifact_reward_fit(q, a, mu, labeller_bias=0.3).artifact_weight, 6)
    0.3
    >>> abs(artifact_reward_fit(q, a, mu, labeller_bias=0.3, augmentation=50.0).artifact_weight) < 0.05
    True
    """
    q = check_array(quality, "quality", ndim=2)
    a = check_array(artifact, "artifact", ndim=2, shape=q.shape, like="quality")
    mu = check_stochastic_matrix(mu, "mu", shape=q.shape)
    b = check_in_range(labeller_bias, "labeller_bias", -np.inf, np.inf)
    alpha = check_nonnegative(augmentation, "augmentation")
    s = (
        q
        if quality_signal is None
        else check_array(quality_signal, "quality_signal", ndim=2, shape=q.shape, like="quality")
    )
    if irrelevant_quality is None:
        q_irr = float(np.min(q)) - 1.0
    else:
        q_irr = check_in_range(irrelevant_quality, "irrelevant_quality", -np.inf, np.inf)
    C, K = q.shape
    lab = q + b * a
    rows, wts = [], []
    for x in range(C):  # original within-prompt comparisons, winner minus loser
        pw = expit(lab[x][:, None] - lab[x][None, :])
        c = mu[x][:, None] * mu[x][None, :] * pw / C
        D = np.stack([s[x][:, None] - s[x][None, :], a[x][:, None] - a[x][None, :]], axis=-1)
        rows.append(D.reshape(-1, 2))
        wts.append(c.reshape(-1))
    if alpha > 0 and C > 1:
        pool = (mu / C).reshape(-1)  # a response of any prompt, with its artifact
        a_pool = a.reshape(-1)
        ctx = np.repeat(np.arange(C), K)
        for x in range(C):  # own vs other: the own response answers the prompt
            other = (ctx != x) * pool
            other = other / other.sum()
            p_own = expit(q[x] - q_irr)
            d_s = np.repeat(s[x] - q_irr, a_pool.size)
            d_a = (a[x][:, None] - a_pool[None, :]).reshape(-1)
            base = (mu[x][:, None] * other[None, :]).reshape(-1) * alpha / (2 * C)
            rows.append(np.stack([d_s, d_a], axis=1))
            wts.append(base * np.repeat(p_own, a_pool.size))
            rows.append(-np.stack([d_s, d_a], axis=1))
            wts.append(base * np.repeat(1 - p_own, a_pool.size))
        d_a = (a_pool[:, None] - a_pool[None, :]).reshape(-1)  # other vs other: a tie
        rows.append(np.stack([np.zeros_like(d_a), d_a], axis=1))
        wts.append((pool[:, None] * pool[None, :]).reshape(-1) * alpha / 4)
        rows.append(np.stack([np.zeros_like(d_a), -d_a], axis=1))
        wts.append((pool[:, None] * pool[None, :]).reshape(-1) * alpha / 4)
    D = np.concatenate(rows)
    c = np.concatenate(wts)
    keep = c > 0
    D, c = D[keep], c[keep]
    fit = linear_bt_mle_differences(D, c)
    w = fit.weights
    return ArtifactFit(
        weights=w,
        artifact_weight=float(w[1]),
        rewards=w[0] * s + w[1] * a,
        artifact_advantage=float(c @ D[:, 1] / c.sum()),
        correlation=_wcorr(c, D[:, 0], D[:, 1]),
        iterations=fit.iterations,
        converged=fit.converged,
        certificate=fit.certificate,
    )


@dataclass(frozen=True, eq=False)
class LengthDecomposition(Result):
    r"""The reward gain split into a length shift and a within-length gain (:func:`length_decomposition`).

    Attributes
    ----------
    gain : float
        :math:`\mathbb{E}_\pi r - \mathbb{E}_{ref} r`.
    length_shift : float
        :math:`\sum_L (\pi(L) - \pi_{ref}(L))\,\mathbb{E}_{ref}[r|L]`.
    within_length : float
        :math:`\sum_L \pi(L)\,(\mathbb{E}_\pi[r|L] - \mathbb{E}_{ref}[r|L])`.
    lengths : array, shape (B,)
        The distinct lengths (the bins).
    policy_length, ref_length : arrays, shape (B,)
        :math:`\pi(L)`, :math:`\pi_{ref}(L)`.
    certificate : float
        :math:`|\text{gain} - \text{length\_shift} - \text{within\_length}|` (rounding only).
    """

    gain: float
    length_shift: float
    within_length: float
    lengths: np.ndarray
    policy_length: np.ndarray
    ref_length: np.ndarray
    certificate: float


def length_decomposition(policy, pi_ref, reward, lengths) -> LengthDecomposition:
    r"""Split a reward gain into a shift of the length distribution plus a gain within lengths.

    .. math::
        \mathbb{E}_\pi r - \mathbb{E}_{ref} r
        = \underbrace{\sum_L \big(\pi(L) - \pi_{ref}(L)\big)\, \mathbb{E}_{ref}[r \mid L]}_{\text{length shift}}
        + \underbrace{\sum_L \pi(L)\big(\mathbb{E}_\pi[r\mid L] - \mathbb{E}_{ref}[r\mid L]\big)}_{\text{within length}},

    exact (add and subtract :math:`\sum_L \pi(L)\mathbb{E}_{ref}[r|L]`); Singhal et al. (2023),
    Sec. 3, the length-stratified analysis of the reward gain. Bins are the distinct values of
    ``lengths``; every length the policy uses must have reference mass.

    Parameters
    ----------
    policy, pi_ref : arrays, shape (n,)
        Distributions over the same items (for several prompts, the joint law of (prompt,
        response), flattened).
    reward : array, shape (n,)
    lengths : array, shape (n,)

    Returns
    -------
    LengthDecomposition

    Examples
    --------
    >>> res = length_decomposition([0.0, 0.5, 0.5], [0.5, 0.25, 0.25], [0.0, 1.0, 2.0],
    ...                            [1, 2, 2])
    >>> res.gain, res.length_shift, res.within_length
    (0.75, 0.75, 0.0)
    """
    ref = check_distribution(pi_ref, "pi_ref")
    pi = check_distribution(policy, "policy", size=ref.size)
    r = check_array(reward, "reward", ndim=1, shape=ref.shape, like="pi_ref")
    ell = check_array(lengths, "lengths", ndim=1, shape=ref.shape, like="pi_ref")
    bins, inv = np.unique(ell, return_inverse=True)
    B = bins.size
    pL = np.bincount(inv, weights=pi, minlength=B)
    rL = np.bincount(inv, weights=ref, minlength=B)
    bad = (pL > 0) & (rL <= 0)
    if bad.any():
        L = bins[int(np.argmax(bad))]
        raise ValueError(f"policy puts mass on length {L:g}, which pi_ref never produces")
    with np.errstate(invalid="ignore", divide="ignore"):
        e_ref = np.where(rL > 0, np.bincount(inv, weights=ref * r, minlength=B) / rL, 0.0)
        e_pi = np.where(pL > 0, np.bincount(inv, weights=pi * r, minlength=B) / pL, 0.0)
    gain = float(pi @ r - ref @ r)
    shift = float((pL - rL) @ e_ref)
    within = float(pL @ (e_pi - e_ref))
    return LengthDecomposition(
        gain=gain,
        length_shift=shift,
        within_length=within,
        lengths=bins,
        policy_length=pL,
        ref_length=rL,
        certificate=abs(gain - shift - within),
    )
