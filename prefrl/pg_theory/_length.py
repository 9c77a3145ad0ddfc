r"""Length bias of token aggregation: how each mode of :func:`prefrl.losses.aggregate` moves
the expected response length.

A softmax bandit over whole responses :math:`y` with logits :math:`\theta`,
:math:`\pi = \mathrm{softmax}(\theta)`; response :math:`y` has :math:`L_y` tokens and an outcome
advantage :math:`A_y`, the same on each of its tokens. The per-token losses
:math:`-A_y \log\pi_t` of a sampled response have scores that sum to
:math:`\nabla\log\pi(y) = e_y - \pi`, and every mode of :func:`prefrl.losses.aggregate` puts one
weight :math:`c_i` on all tokens of sequence :math:`i`, so the update of a group of :math:`G`
responses is :math:`\sum_i c_i A_{y_i}(e_{y_i} - \pi) = \frac1G \sum_i w_i A_{y_i}(e_{y_i}-\pi)`:

============================  ==========================  ===================================
mode                          :math:`c_i`                 per-sequence weight :math:`w_i`
============================  ==========================  ===================================
``seq-mean-token-sum``        :math:`1/G`                 :math:`1` (unbiased)
``seq-mean-token-mean``       :math:`1/(G L_i)`           :math:`1/L_i` (GRPO, Shao et al. 2024)
``seq-mean-token-sum-norm``   :math:`1/(G H)`             :math:`1/H` (Dr. GRPO, Liu et al. 2025)
``token-mean``                :math:`1/\sum_j L_j`        :math:`G/\sum_j L_j` (random)
``token-sum``                 :math:`1`                   :math:`G`
============================  ==========================  ===================================

A weight that falls with :math:`L` biases the length (Fatemi et al. 2025, "Concise Reasoning via
Reinforcement Learning", Sec. 4; Liu et al. 2025, "Understanding R1-Zero-Like Training: A
Critical Perspective", Sec. 3.1).

Public functions:

- :func:`length_weights`: the expected per-sequence weight :math:`\bar w_y` of each mode (the
  ``token-mean`` one exact for a group of :math:`G` by the law of the other :math:`G-1` lengths).
- :func:`expected_length_update`: :math:`g = \pi \odot (u - \mathbb{E}_\pi u)`,
  :math:`u = \bar w \odot A`.
- :func:`expected_length_drift`: :math:`\frac{d}{dt}\mathbb{E}_\pi L` along :math:`g`.
- :func:`length_drift_sign_flip` (:class:`LengthFlip`): a policy on three lengths where the drift
  has the sign opposite to the two-length rule.
- :func:`length_trajectory` (:class:`LengthTrajectory`): exact training (expected updates) and
  its :math:`\mathbb{E}_\pi L`.

The pairwise updates of P3O, on the same response bandit, are in :mod:`._pairwise`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .._validation import check_array, check_distribution, check_integer, check_positive
from ..losses import aggregation_weights
from ..losses.checks import check_mode
from ..policies import softmax
from ..results import Result

__all__ = [
    "LengthFlip",
    "LengthTrajectory",
    "expected_length_drift",
    "expected_length_update",
    "length_drift_sign_flip",
    "length_trajectory",
    "length_weights",
]


def _lengths(lengths):
    L = check_array(lengths, "lengths", ndim=1)
    bad = (L < 1) | (L != np.round(L))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"lengths[{i}] = {L[i]:g}, must be a positive integer (a token count)")
    return L


def _lengths_probs(lengths, probs):
    L = _lengths(lengths)
    pi = check_distribution(probs, "probs")
    if pi.size != L.size:
        raise ValueError(f"probs and lengths must have the same length, got {pi.size} and {L.size}")
    return L, pi


def length_weights(lengths, probs, mode, *, horizon=None, group_size=None) -> np.ndarray:
    r"""The expected per-sequence weight :math:`\bar w_y` each aggregation mode gives response y.

    .. math::
        \mathbb{E}[\text{update}] = \sum_y \pi_y\, \bar w_y A_y (e_y - \pi), \qquad
        \bar w_y = \begin{cases} 1, \ 1/L_y, \ 1/H, \ G & \text{(seq-mean-token-sum, -token-mean,
        -token-sum-norm; token-sum)} \\
        G\, \mathbb{E}\big[1/(L_y + S_{G-1})\big] & \text{token-mean, } S_{G-1} =
        \textstyle\sum_{j<G} L_{y_j},\ y_j \sim \pi \\
        1/\mathbb{E}_\pi L & \text{token-mean, } G \to \infty \end{cases}

    The sequence modes read :math:`c_i` off :func:`prefrl.losses.aggregation_weights`; the
    ``token-mean`` normaliser is exact by the law of the other :math:`G-1` lengths (Liu et al.
    2025, Sec. 3.1; Fatemi et al. 2025, Sec. 4).

    Parameters
    ----------
    lengths : array of positive integers, shape (K,)
    probs : array, shape (K,)
        :math:`\pi`.
    mode : str
        One of :data:`prefrl.losses.checks.AGGREGATION_MODES`.
    horizon : float > 0, optional
        :math:`H` for ``seq-mean-token-sum-norm`` (default ``max(lengths)``).
    group_size : int >= 1, optional
        :math:`G`; needed for ``token-sum``; for ``token-mean`` None is the limit
        :math:`G\to\infty`.

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> length_weights([2, 4], [0.5, 0.5], "seq-mean-token-mean")
    array([0.5 , 0.25])
    >>> length_weights([2, 4], [0.5, 0.5], "token-mean", group_size=2).round(4)
    array([0.4167, 0.2917])
    """
    L, pi = _lengths_probs(lengths, probs)
    check_mode(mode)
    if group_size is not None:
        group_size = check_integer(group_size, "group_size", minimum=1)
    if horizon is not None:
        horizon = check_positive(horizon, "horizon")
    if mode == "token-sum":
        if group_size is None:
            raise ValueError("group_size is needed for mode 'token-sum' (its update grows with G)")
        return np.full(L.size, float(group_size))
    if mode == "token-mean":
        if group_size is None:
            return np.full(L.size, 1.0 / float(pi @ L))
        Li = L.astype(int)
        law = np.array([1.0])  # the law of S_{G-1}, the other G - 1 lengths (sparse steps)
        for _ in range(group_size - 1):
            nxt = np.zeros(law.size + Li.max())
            for Ly, p in zip(Li, pi):
                nxt[Ly : Ly + law.size] += p * law
            law = nxt
        s = np.flatnonzero(law)
        return group_size * (1.0 / (L[:, None] + s[None, :])) @ law[s]
    mask = (np.arange(int(L.max()))[None, :] < L[:, None]).astype(float)
    W = aggregation_weights(mask, mode, horizon)
    return L.size * W[:, 0]  # c_y on every token of y, times the number of sequences


def expected_length_update(
    lengths, probs, advantages, mode, *, horizon=None, group_size=None
) -> np.ndarray:
    r"""The exact expected update of the logits under a token aggregation mode.

    .. math::
        g = \mathbb{E}\Big[-\nabla_\theta \sum_{i,t} W_{it}\,(-A_{y_i} \log\pi_t)\Big]
          = \sum_y \pi_y \bar w_y A_y (e_y - \pi) = \pi \odot (u - \mathbb{E}_\pi u),
        \qquad u = \bar w \odot A,

    with :math:`\bar w` from :func:`length_weights` (Liu et al. 2025, Eq. 4 and Sec. 3.1).

    Parameters
    ----------
    lengths : array of positive integers, shape (K,)
    probs : array, shape (K,)
    advantages : array, shape (K,)
        :math:`A_y`, the same on every token of :math:`y`.
    mode, horizon, group_size
        As in :func:`length_weights`.

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> expected_length_update([2, 4], [0.5, 0.5], [-1.0, -1.0], "seq-mean-token-mean")
    array([-0.0625,  0.0625])
    """
    w = length_weights(lengths, probs, mode, horizon=horizon, group_size=group_size)
    pi = check_distribution(probs, "probs")
    A = check_array(advantages, "advantages", ndim=1)
    if A.size != pi.size:
        raise ValueError(
            f"advantages and lengths must have the same length, got {A.size} and {pi.size}"
        )
    u = w * A
    return pi * (u - pi @ u)


def expected_length_drift(
    lengths, probs, advantages, mode, *, horizon=None, group_size=None, geometry="softmax"
) -> float:
    r"""The first-order change of :math:`\mathbb{E}_\pi L` per unit step along the expected update.

    .. math::
        \frac{d}{dt}\mathbb{E}_{\pi}L =
        \begin{cases} \nabla_\theta \mathbb{E}_\pi L \cdot g =
        \sum_y \pi_y^2 (L_y - \mathbb{E}_\pi L)(u_y - \mathbb{E}_\pi u) & \text{softmax} \\
        \mathrm{Cov}_\pi(L, u) & \text{natural}\end{cases}

    with :math:`u = \bar w \odot A` (:func:`expected_length_update`); "softmax" is the vanilla
    gradient on the logits, "natural" the natural gradient (the replicator flow
    :math:`\dot\pi = \pi\odot(u - \mathbb{E}_\pi u)`). With two lengths the softmax drift is
    :math:`2p^2(1-p)^2 \Delta L\,\Delta u` when each length has one response. Fatemi et al. 2025,
    Sec. 4; Liu et al. 2025, Sec. 3.1.

    Parameters
    ----------
    lengths, probs, advantages, mode, horizon, group_size
        As in :func:`expected_length_update`.
    geometry : {"softmax", "natural"}

    Returns
    -------
    float

    Examples
    --------
    >>> expected_length_drift([2, 4], [0.5, 0.5], [-1.0, -1.0], "seq-mean-token-mean")
    0.0625
    """
    if geometry not in ("softmax", "natural"):
        raise ValueError(f"geometry must be 'softmax' or 'natural', got {geometry!r}")
    L, pi = _lengths_probs(lengths, probs)
    g = expected_length_update(L, pi, advantages, mode, horizon=horizon, group_size=group_size)
    if geometry == "softmax":
        return float((pi * (L - pi @ L)) @ g)
    return float((L - pi @ L) @ g)


@dataclass(frozen=True, eq=False)
class LengthFlip(Result):
    """Result of :func:`length_drift_sign_flip`: ``policy`` (the probabilities found), ``value``
    (the drift at a constant advantage -1 divided by E L), ``flips`` (value < 0), and the two
    means between which a length must lie for a flip (``harmonic_mean``, ``mean_length``)."""

    policy: np.ndarray
    value: float
    flips: bool
    harmonic_mean: float
    mean_length: float


def length_drift_sign_flip(lengths, mode="seq-mean-token-mean", *, horizon=None, n_grid=60):
    r"""Search the simplex for a policy whose length drift breaks the two-length sign rule.

    For a constant advantage :math:`A` and a weight :math:`\bar w` falling with :math:`L`, the
    softmax drift is :math:`A\sum_y \pi_y^2 (L_y - \bar L)(\bar w_y - \mathbb{E}_\pi\bar w)`.
    With two lengths the sum is negative (sign :math:`-A`: negative rewards lengthen). With
    :math:`1/L` weights a response with :math:`\mathrm{HM}_\pi(L) < L_y < \bar L` (between the
    harmonic and the arithmetic mean) adds a positive term; when such responses carry enough of
    :math:`\sum\pi_y^2` the sign flips (Fatemi et al. 2025, Sec. 4, argue with two lengths).
    The search minimises :math:`\mathrm{drift}(A=-1)/\bar L` over a grid of every three-response
    support (the other probabilities zero); a negative minimum is a flip.

    Parameters
    ----------
    lengths : array of positive integers, shape (K,), K >= 3
    mode : str
        A mode of :func:`length_weights` (``token-mean`` at :math:`G\to\infty`).
    horizon : float, optional
    n_grid : int >= 3
        Grid points per simplex edge.

    Returns
    -------
    LengthFlip

    Examples
    --------
    >>> res = length_drift_sign_flip([1, 10, 100], n_grid=30)
    >>> res.flips, bool(res.harmonic_mean < 10 < res.mean_length)
    (True, True)
    """
    L = _lengths(lengths)
    if L.size < 3:
        raise ValueError(f"lengths must have at least 3 entries, got {L.size}")
    n_grid = check_integer(n_grid, "n_grid", minimum=3)
    check_mode(mode)
    t = np.arange(1, n_grid) / n_grid
    best = (np.inf, None)
    for trip in itertools.combinations(range(L.size), 3):
        for a in t:
            for b in t[t < 1 - a - 1e-12]:
                pi = np.zeros(L.size)
                pi[list(trip)] = (a, b, 1 - a - b)
                d = expected_length_drift(L, pi, -np.ones(L.size), mode, horizon=horizon)
                v = d / float(pi @ L)
                if v < best[0]:
                    best = (v, pi)
    v, pi = best
    return LengthFlip(pi, float(v), bool(v < 0), float(1.0 / (pi @ (1.0 / L))), float(pi @ L))


@dataclass(frozen=True, eq=False)
class LengthTrajectory(Result):
    """Result of :func:`length_trajectory`: ``policy`` (last), ``logits`` (last),
    ``policies`` (n_steps + 1, K) and ``mean_lengths`` (n_steps + 1,)."""

    policy: np.ndarray
    logits: np.ndarray
    policies: np.ndarray
    mean_lengths: np.ndarray


def length_trajectory(
    lengths, init, rewards, mode, *, lr, n_steps, baseline="none", horizon=None, group_size=None
) -> LengthTrajectory:
    r"""Exact training of the response bandit with expected updates; :math:`\mathbb{E}_\pi L`.

    .. math::
        \theta_{k+1} = \theta_k + \eta\, g(\theta_k), \qquad A_y = r_y - b(\pi_{\theta_k}),

    with :math:`g` from :func:`expected_length_update`, :math:`b = 0` (``"none"``: the raw
    reward, Fatemi et al. 2025, Sec. 4) or :math:`b = \mathbb{E}_\pi r` (``"mean"``: a
    group-mean baseline of infinite group, Liu et al. 2025).

    Parameters
    ----------
    lengths : array of positive integers, shape (K,)
    init : array, shape (K,)
        Initial logits.
    rewards : array, shape (K,)
    mode, horizon, group_size
        As in :func:`length_weights`.
    lr : float > 0
    n_steps : int >= 0
    baseline : {"none", "mean"}

    Returns
    -------
    LengthTrajectory

    Examples
    --------
    >>> res = length_trajectory([2, 4], [0.0, 0.0], [-1.0, -1.0], "seq-mean-token-mean",
    ...                         lr=1.0, n_steps=3)
    >>> bool(res.mean_lengths[-1] > res.mean_lengths[0])
    True
    """
    L = _lengths(lengths)
    theta, r = check_array(init, "init", ndim=1), check_array(rewards, "rewards", ndim=1)
    for name, v in (("init", theta), ("rewards", r)):
        if v.size != L.size:
            raise ValueError(
                f"{name} and lengths must have the same length, got {v.size} and {L.size}"
            )
    lr = check_positive(lr, "lr")
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    if baseline not in ("none", "mean"):
        raise ValueError(f"baseline must be 'none' or 'mean', got {baseline!r}")
    pis = [softmax(theta)]
    for _ in range(n_steps):
        pi = pis[-1]
        A = r - (pi @ r if baseline == "mean" else 0.0)
        theta = theta + lr * expected_length_update(
            L, pi, A, mode, horizon=horizon, group_size=group_size
        )
        pis.append(softmax(theta))
    P = np.array(pis)
    return LengthTrajectory(P[-1], theta, P, P @ L)
