r"""Reward learning from preferences between trajectory segments in tabular MDPs.

Christiano, Leike, Brown, Martic, Legg and Amodei (2017), "Deep Reinforcement Learning from Human
Preferences" (NeurIPS 2017, arXiv 1706.03741), Sec. 2.2, ask a human which of two short clips of
behaviour is better and fit a reward by a Bradley-Terry model on the clips' returns. In a tabular
MDP this is exact:

* a **segment** is a sequence of state-action pairs :math:`\sigma = ((s_0, a_0), \dots,
  (s_{L-1}, a_{L-1}))`; its (discounted) **count features** are
  :math:`\phi(\sigma) = \sum_t \gamma^t e_{(s_t, a_t)} \in \mathbb{R}^{S A}`, so its return is
  :math:`\langle r, \phi(\sigma)\rangle` (:func:`segment_features`, :func:`segment_returns`);
* the preference model is :math:`P[\sigma^1 \succ \sigma^2] = \sigma(\langle r, \phi(\sigma^1) -
  \phi(\sigma^2)\rangle)` (their Eq. 1; :func:`segment_preference_probability`; labels with
  Christiano's uniform-answer noise and ties: :func:`sample_segment_labels`);
* the maximum-likelihood reward is a logistic regression without intercept on the feature
  differences (their Sec. 2.2.3): the loss with its gradient and Hessian
  (:func:`segment_preference_loss`, :class:`SegmentLoss`) and its minimum-norm minimiser, fitted
  by the one linear Bradley-Terry solver of prefrl (:mod:`prefrl.bradley_terry`) in
  :func:`fit_segment_reward` (:class:`SegmentRewardFit`).

The reward is identified only on :math:`V = \mathrm{span}\{\phi(\sigma^1_k) - \phi(\sigma^2_k)\}`:
adding any vector orthogonal to :math:`V` leaves every comparison probability unchanged. With
segments of equal length, the constant shift is such a vector; with :math:`\gamma = 1`,
potential-based shaping changes a segment's return by :math:`\Phi(s_L) - \Phi(s_0)`, so it is *not*
invisible to the comparisons unless the compared segments share their endpoints. See
:doc:`/theory/reward_learning`. The tabular, exact form is ours.

Segments are given either as an integer array of shape ``(n, L, 2)`` (``n`` segments of ``L``
steps, the last axis holding ``(state, action)``) or as a list of ``n`` integer arrays of shapes
``(L_i, 2)`` (ragged lengths, each ``L_i >= 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_probability,
)
from ..bradley_terry import linear_bt_mle_differences, linear_bt_objective
from ..results import Result

__all__ = [
    "SegmentLoss",
    "SegmentRewardFit",
    "fit_segment_reward",
    "sample_segment_labels",
    "segment_features",
    "segment_preference_loss",
    "segment_preference_probability",
    "segment_returns",
]


# ----------------------------------------------------------------------------------------------
# Result objects
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SegmentLoss(Result):
    """The Bradley-Terry negative log-likelihood of segment comparisons at one reward.

    Attributes
    ----------
    value : float
        The loss.
    gradient : array, shape (S, A)
        Its gradient with respect to the reward.
    hessian : array, shape (S * A, S * A)
        Its Hessian with respect to the flattened reward (row-major, index ``s * A + a``); positive
        semi-definite (the loss is convex).
    """

    value: float
    gradient: np.ndarray
    hessian: np.ndarray


@dataclass(frozen=True, eq=False)
class SegmentRewardFit(Result):
    r"""A maximum-likelihood reward from segment comparisons (see :func:`fit_segment_reward`).

    Attributes
    ----------
    reward : array, shape (S, A)
        The minimum-norm maximiser :math:`\hat r` (it lies in :math:`V`).
    basis : array, shape (S * A, k)
        Orthonormal basis of the identifiable subspace :math:`V = \mathrm{span}\{\phi(\sigma^1_k)
        - \phi(\sigma^2_k)\}` (``k`` its dimension, 0 when every pair has equal features).
    projected_reward : array, shape (S, A)
        :math:`P_V \hat r`, the part of the fit that the data determine. It equals ``reward``
        (up to rounding): the minimum-norm fit has no component outside :math:`V`.
    value : float
        The minimised negative log-likelihood (plus the ridge).
    iterations : int
        Newton iterations.
    certificate : float
        Max-norm of the gradient at ``reward``.
    exists : bool
        Whether a finite maximiser exists: always with ``l2 > 0``; with ``l2 = 0`` exactly when
        no direction :math:`d` has :math:`\langle d, \phi(\sigma^w) - \phi(\sigma^l)\rangle \ge 0`
        on every comparison with one strict inequality (checked by a linear program). When False,
        ``reward`` is where Newton's method stopped: only its direction is meaningful.
    converged : bool
        Whether Newton's method met its tolerance (and ``exists``).
    """

    reward: np.ndarray
    basis: np.ndarray
    projected_reward: np.ndarray
    value: float
    iterations: int
    certificate: float
    exists: bool
    converged: bool

    def project(self, reward) -> np.ndarray:
        r"""Orthogonal projection :math:`P_V r` of a reward onto the identifiable subspace.

        Parameters
        ----------
        reward : array, shape (S, A)

        Returns
        -------
        array, shape (S, A)
        """
        r = check_array(reward, "reward", shape=self.reward.shape)
        flat = r.ravel()
        return (self.basis @ (self.basis.T @ flat)).reshape(r.shape)


# ----------------------------------------------------------------------------------------------
# Segments and their features
# ----------------------------------------------------------------------------------------------


def _check_pairs(arr: np.ndarray, where: str, S: int, A: int) -> np.ndarray:
    """Integer (state, action) entries in range; ``arr`` has a last axis of length 2."""
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr))
                and np.all(arr == np.round(arr))):
            raise TypeError(f"{where} must hold integer (state, action) pairs")
        arr = arr.astype(np.int64)
    for col, size, what in ((0, S, "a state"), (1, A, "an action")):
        bad = (arr[..., col] < 0) | (arr[..., col] >= size)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            at = ", ".join(map(str, (*idx, col)))
            raise ValueError(f"{where}[{at}] = {arr[(*idx, col)]}, must be {what} in "
                             f"[0, {size})")
    return arr.astype(np.int64, copy=False)


def _segments(segments, name: str, S: int, A: int) -> list[np.ndarray] | np.ndarray:
    """Validated segments: an int array (n, L, 2), or a list of int arrays (L_i, 2)."""
    if isinstance(segments, np.ndarray) and segments.dtype != object:
        if segments.ndim != 3 or segments.shape[2] != 2 or segments.shape[1] < 1:
            raise ValueError(f"{name} must have shape (n, L, 2) with L >= 1 or be a list of "
                             f"(L, 2) arrays, got shape {segments.shape}")
        if segments.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one segment")
        return _check_pairs(segments, name, S, A)
    if not isinstance(segments, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be an int array (n, L, 2) or a list of (L, 2) int arrays, "
                        f"got {type(segments).__name__}")
    items = list(segments)
    if not items:
        raise ValueError(f"{name} must hold at least one segment")
    out = []
    for i, seg in enumerate(items):
        arr = np.asarray(seg)
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
            raise ValueError(f"{name}[{i}] must have shape (L, 2) with L >= 1, got {arr.shape}")
        out.append(_check_pairs(arr, f"{name}[{i}]", S, A))
    return out


def _features(segs, S: int, A: int, gamma: float) -> np.ndarray:
    if isinstance(segs, np.ndarray):  # (n, L, 2): one vectorised scatter
        n, L, _ = segs.shape
        disc = np.broadcast_to(gamma ** np.arange(L) if gamma != 1.0 else np.ones(L), (n, L))
        phi = np.zeros((n, S * A))
        rows = np.broadcast_to(np.arange(n)[:, None], (n, L))
        np.add.at(phi, (rows, segs[..., 0] * A + segs[..., 1]), disc)
        return phi
    phi = np.zeros((len(segs), S * A))
    for i, seg in enumerate(segs):
        disc = gamma ** np.arange(seg.shape[0]) if gamma != 1.0 else np.ones(seg.shape[0])
        np.add.at(phi[i], seg[:, 0] * A + seg[:, 1], disc)
    return phi


def _sizes(n_states, n_actions) -> tuple[int, int]:
    return (check_integer(n_states, "n_states", minimum=1),
            check_integer(n_actions, "n_actions", minimum=1))


def _gamma(gamma) -> float:
    return check_in_range(gamma, "gamma", 0.0, 1.0)


def segment_features(segments, n_states: int, n_actions: int, gamma: float = 1.0) -> np.ndarray:
    r"""(Discounted) state-action count features of trajectory segments.

    .. math::
        \phi(\sigma)[s A + a] = \sum_{t=0}^{L-1} \gamma^t\, \mathbb{1}[(s_t, a_t) = (s, a)],
        \qquad \langle r, \phi(\sigma)\rangle = \sum_{t=0}^{L-1} \gamma^t r(s_t, a_t),

    for a segment :math:`\sigma = ((s_0, a_0), \dots, (s_{L-1}, a_{L-1}))` of :math:`L` steps,
    :math:`S` states, :math:`A` actions and discount :math:`\gamma` (1 gives plain counts, the
    undiscounted segment return of Christiano et al. 2017, Sec. 2.2.1).

    Parameters
    ----------
    segments : int array, shape (n, L, 2), or list of n int arrays, shapes (L_i, 2)
        Row ``t`` of a segment is ``(s_t, a_t)``.
    n_states, n_actions : int >= 1
    gamma : float in [0, 1]

    Returns
    -------
    array, shape (n, n_states * n_actions)

    Examples
    --------
    >>> segment_features([[[0, 1], [1, 0], [0, 1]]], n_states=2, n_actions=2)
    array([[0., 2., 1., 0.]])
    >>> segment_features([[[0, 1], [0, 1]]], 2, 2, gamma=0.5)
    array([[0. , 1.5, 0. , 0. ]])
    """
    S, A = _sizes(n_states, n_actions)
    return _features(_segments(segments, "segments", S, A), S, A, _gamma(gamma))


def _reward(reward) -> np.ndarray:
    return check_array(reward, "reward", ndim=2)


def segment_returns(reward, segments, gamma: float = 1.0) -> np.ndarray:
    r"""Returns of segments under a reward, :math:`\langle r, \phi(\sigma_i)\rangle`.

    .. math::
        G(\sigma_i) = \sum_{t=0}^{L_i - 1} \gamma^t\, r(s_t, a_t)

    (see :func:`segment_features` for :math:`\phi`, the segment format and :math:`\gamma`).

    Parameters
    ----------
    reward : array, shape (S, A)
    segments : int array (n, L, 2) or list of (L_i, 2) int arrays
    gamma : float in [0, 1]

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> segment_returns([[0.0, 1.0], [2.0, 0.0]], [[[0, 1], [1, 0]], [[1, 1]]])
    array([3., 0.])
    """
    r = _reward(reward)
    S, A = r.shape
    return _features(_segments(segments, "segments", S, A), S, A, _gamma(gamma)) @ r.ravel()


def _pair(seg_a, seg_b, S, A, gamma):
    a = _segments(seg_a, "seg_a", S, A)
    b = _segments(seg_b, "seg_b", S, A)
    if len(a) != len(b):
        raise ValueError(f"seg_a and seg_b must hold as many segments, got {len(a)} and {len(b)}")
    return _features(a, S, A, gamma) - _features(b, S, A, gamma)


def segment_preference_probability(reward, seg_a, seg_b, *, gamma: float = 1.0,
                                   temperature: float = 1.0, noise: float = 0.0) -> np.ndarray:
    r"""Probability that segment ``seg_a[i]`` is preferred to ``seg_b[i]`` (Bradley-Terry).

    .. math::
        P[\sigma^1 \succ \sigma^2] = \frac{\epsilon}{2} + (1 - \epsilon)\,
        \sigma\Big(\frac{\langle r, \phi(\sigma^1) - \phi(\sigma^2)\rangle}{T}\Big),

    with :math:`\sigma` the logistic function, :math:`\phi` the count features
    (:func:`segment_features`), :math:`T` the temperature and :math:`\epsilon` the probability
    that the answer is uniformly random. Christiano et al. (2017), Eq. 1 (:math:`T = 1`,
    :math:`\epsilon = 0`) and Sec. 2.2.3 (their :math:`\epsilon = 0.1`). :math:`T = 0` is the
    synthetic oracle that prefers the higher return, 1/2 for equal returns.

    Parameters
    ----------
    reward : array, shape (S, A)
        :math:`r`.
    seg_a, seg_b : segments (see :func:`segment_features`), n each
    gamma : float in [0, 1]
    temperature : float >= 0
    noise : float in [0, 1]
        :math:`\epsilon`.

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> r = [[0.0, 1.0]]
    >>> segment_preference_probability(r, [[[0, 1]]], [[[0, 0]]]).round(4)
    array([0.7311])
    >>> segment_preference_probability(r, [[[0, 1]]], [[[0, 0]]], temperature=0, noise=0.1)
    array([0.95])
    """
    r = _reward(reward)
    S, A = r.shape
    D = _pair(seg_a, seg_b, S, A, _gamma(gamma))
    T = check_nonnegative(temperature, "temperature")
    eps = check_probability(noise, "noise")
    z = D @ r.ravel()
    p = np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5)) if T == 0 else expit(z / T)
    return eps / 2 + (1 - eps) * p


def sample_segment_labels(reward, seg_a, seg_b, rng, *, gamma: float = 1.0,
                          temperature: float = 1.0, noise: float = 0.1,
                          tie_tolerance: float | None = None) -> np.ndarray:
    r"""Sample preference labels :math:`\mu_i \in \{0, \tfrac12, 1\}` for segment pairs.

    .. math::
        \mu_i = \begin{cases}
        B_i \sim \mathrm{Bernoulli}(1/2) & \text{with probability } \epsilon \text{ (random answer)},\\
        \tfrac12 & \text{else, if } |\Delta_i| \le \tau \text{ (a tie)},\\
        \mathrm{Bernoulli}\big(\sigma(\Delta_i / T)\big) & \text{otherwise},
        \end{cases}
        \qquad \Delta_i = \langle r, \phi(\sigma^a_i) - \phi(\sigma^b_i)\rangle,

    where :math:`\mu_i` is the mass the label puts on ``seg_a[i]`` (Christiano et al. 2017,
    Sec. 2.2.1: :math:`\mu` uniform when the two are judged equally preferable), :math:`\epsilon`
    the uniform-answer probability (their 10%), :math:`\tau` the tie tolerance and :math:`T` the
    temperature (:math:`T = 0`: the synthetic oracle, deterministic, ties at :math:`\Delta = 0`).
    Christiano et al. put :math:`\epsilon` into the *fitted* model; here it is in the labeller,
    and :func:`fit_segment_reward` fits the convex :math:`\epsilon = 0` model (a label noise of
    :math:`\epsilon` then shrinks the fitted reward towards 0).

    Parameters
    ----------
    reward : array, shape (S, A)
    seg_a, seg_b : segments (see :func:`segment_features`), n each
    rng : numpy Generator or int seed
        Required (labels are always sampled).
    gamma : float in [0, 1]
    temperature : float >= 0
    noise : float in [0, 1]
        :math:`\epsilon`.
    tie_tolerance : float >= 0, optional
        :math:`\tau`; None means no ties (except exact ones at :math:`T = 0`).

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> r = [[0.0, 1.0]]
    >>> sample_segment_labels(r, [[[0, 1]], [[0, 0]]], [[[0, 0]], [[0, 0]]], rng=0,
    ...                       temperature=0, noise=0.0)
    array([1. , 0.5])
    """
    r = _reward(reward)
    S, A = r.shape
    D = _pair(seg_a, seg_b, S, A, _gamma(gamma))
    T = check_nonnegative(temperature, "temperature")
    eps = check_probability(noise, "noise")
    tau = None if tie_tolerance is None else check_nonnegative(tie_tolerance, "tie_tolerance")
    rng = as_rng(rng)
    z = D @ r.ravel()
    n = z.size
    u_noise, u_coin, u_label = rng.random(n), rng.random(n), rng.random(n)
    if T == 0:
        mu = np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))
    else:
        mu = (u_label < expit(z / T)).astype(float)
    if tau is not None:
        mu = np.where(np.abs(z) <= tau, 0.5, mu)
    return np.where(u_noise < eps, (u_coin < 0.5).astype(float), mu)


# ----------------------------------------------------------------------------------------------
# The likelihood and its maximiser
# ----------------------------------------------------------------------------------------------


def _labels(labels, n: int) -> np.ndarray:
    mu = check_array(labels, "labels", ndim=1)
    if mu.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) (one per pair), got {mu.shape}")
    bad = (mu < 0) | (mu > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"labels[{i}] = {mu[i]}, must be in [0, 1]")
    return mu


def _rows(D: np.ndarray, mu: np.ndarray):
    """Difference rows and weights: label mu on "a beat b" (row D), 1 - mu on "b beat a" (-D)."""
    return np.concatenate([D, -D]), np.concatenate([mu, 1.0 - mu])


def segment_preference_loss(reward, seg_a, seg_b, labels, *, gamma: float = 1.0,
                            l2: float = 0.0) -> SegmentLoss:
    r"""Bradley-Terry negative log-likelihood of segment comparisons, with gradient and Hessian.

    .. math::
        \mathcal L(r) = -\sum_{i=1}^n \Big[\mu_i \log\sigma(\langle r, d_i\rangle)
        + (1 - \mu_i)\log\sigma(-\langle r, d_i\rangle)\Big] + \frac{\lambda}{2}\lVert r\rVert^2,
        \qquad d_i = \phi(\sigma^a_i) - \phi(\sigma^b_i),

    .. math::
        \nabla\mathcal L = \sum_i \big(\sigma(\langle r, d_i\rangle) - \mu_i\big) d_i + \lambda r,
        \qquad \nabla^2\mathcal L = \sum_i \sigma(z_i)(1 - \sigma(z_i))\, d_i d_i^\top + \lambda I
        \succeq 0,

    with :math:`\mu_i` the label mass on ``seg_a[i]``, :math:`\sigma` the logistic function,
    :math:`z_i = \langle r, d_i\rangle`, :math:`\phi` the count features and :math:`\lambda` the
    ridge. Christiano et al. (2017), Sec. 2.2.3 (the loss; :math:`\mu = 1/2` for ties). Convex:
    a logistic regression without intercept.

    Parameters
    ----------
    reward : array, shape (S, A)
    seg_a, seg_b : segments (see :func:`segment_features`), n each
    labels : array, shape (n,), entries in [0, 1]
    gamma : float in [0, 1]
    l2 : float >= 0

    Returns
    -------
    SegmentLoss

    Examples
    --------
    >>> loss = segment_preference_loss([[0.0, 0.0]], [[[0, 1]]], [[[0, 0]]], [1.0])
    >>> round(loss.value, 4), loss.gradient.tolist()
    (0.6931, [[0.5, -0.5]])
    """
    r = _reward(reward)
    S, A = r.shape
    D = _pair(seg_a, seg_b, S, A, _gamma(gamma))
    mu = _labels(labels, D.shape[0])
    rows, wts = _rows(D, mu)
    f, g, H = linear_bt_objective(rows, wts, check_nonnegative(l2, "l2"), r.ravel())
    return SegmentLoss(value=f, gradient=g.reshape(S, A), hessian=H)


def _basis(D: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the row space of D (SVD of the small triangular factor of D = QR)."""
    if not np.any(D):
        return np.zeros((D.shape[1], 0))
    R = np.linalg.qr(D, mode="r") if D.shape[0] > D.shape[1] else D
    _, s, Vt = np.linalg.svd(R, full_matrices=False)
    rank = int(np.sum(s > s[0] * max(D.shape) * np.finfo(float).eps))
    return Vt[:rank].T.copy()


def fit_segment_reward(seg_a, seg_b, labels, n_states: int, n_actions: int, l2: float = 0.0, *,
                       gamma: float = 1.0) -> SegmentRewardFit:
    r"""Maximum-likelihood reward from preferences between segments (Christiano et al. 2017).

    .. math::
        \hat r = \arg\min_{r \in \mathbb{R}^{S \times A}} -\sum_{i=1}^n \Big[\mu_i
        \log\sigma(\langle r, d_i\rangle) + (1-\mu_i)\log\sigma(-\langle r, d_i\rangle)\Big]
        + \frac{\lambda}{2}\lVert r\rVert^2, \qquad d_i = \phi(\sigma^a_i) - \phi(\sigma^b_i),

    the minimum-norm minimiser, with :math:`\mu_i \in [0, 1]` the label mass on ``seg_a[i]``
    (1, 0, 1/2 for a tie, or a population probability), :math:`\phi` the (discounted) count
    features, :math:`\sigma` the logistic function and :math:`\lambda` = ``l2``. Only
    :math:`P_V r` is identified, :math:`V = \mathrm{span}\{d_i\}`: the loss depends on :math:`r`
    through :math:`\langle r, d_i\rangle` alone. With population labels
    :math:`\mu_i = \sigma(\langle r^*, d_i\rangle)` and :math:`\lambda = 0` the fit is exactly
    :math:`P_V r^*`. Without a ridge the maximiser is infinite when the comparisons are separable
    (``exists`` is False). Christiano et al. (2017), Sec. 2.2.3, Eq. 1; the solver is prefrl's
    linear Bradley-Terry fit (:func:`prefrl.bradley_terry.linear_bt_mle_differences`).

    Parameters
    ----------
    seg_a, seg_b : segments (see :func:`segment_features`), n each
    labels : array, shape (n,), entries in [0, 1]
    n_states, n_actions : int >= 1
    l2 : float >= 0
        :math:`\lambda` (on the summed, not averaged, loss).
    gamma : float in [0, 1]
        Discount of the segment returns.

    Returns
    -------
    SegmentRewardFit

    Examples
    --------
    Population labels of a reward are fitted exactly on the identifiable subspace (here the
    constant shift is not identified: both segments have one step):

    >>> r = np.array([[0.0, 1.0], [0.5, -1.0]])
    >>> a, b = [[[0, 1]], [[1, 0]], [[1, 1]]], [[[0, 0]], [[0, 0]], [[0, 1]]]
    >>> fit = fit_segment_reward(a, b, segment_preference_probability(r, a, b), 2, 2)
    >>> bool(np.allclose(fit.reward, fit.project(r))), fit.basis.shape[1], fit.exists
    (True, 3, True)
    """
    S, A = _sizes(n_states, n_actions)
    D = _pair(seg_a, seg_b, S, A, _gamma(gamma))
    mu = _labels(labels, D.shape[0])
    l2 = check_nonnegative(l2, "l2")
    rows, wts = _rows(D, mu)
    keep = wts > 0  # mu + (1 - mu) = 1: at least one row per pair stays
    rows, wts = rows[keep], wts[keep]
    fit = linear_bt_mle_differences(rows, wts, l2)
    w = fit.weights
    basis = _basis(D)
    w_proj = basis @ (basis.T @ w)
    return SegmentRewardFit(
        reward=w.reshape(S, A),
        basis=basis,
        projected_reward=w_proj.reshape(S, A),
        value=fit.value,
        iterations=fit.iterations,
        certificate=fit.certificate,
        exists=fit.exists,
        converged=fit.converged,
    )
