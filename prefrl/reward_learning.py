r"""Reward learning from preferences between trajectory segments in tabular MDPs.

Christiano et al. (2017), "Deep Reinforcement Learning from Human Preferences" (NeurIPS 2017,
arXiv 1706.03741), Sec. 2.2, ask a human which of two short clips of behaviour is better and fit a
reward by a Bradley-Terry model on the clips' returns. In a tabular MDP this is exact:

* a **segment** is a sequence of state-action pairs :math:`\sigma = ((s_0, a_0), \dots,
  (s_{L-1}, a_{L-1}))`; its (discounted) **count features** are
  :math:`\phi(\sigma) = \sum_t \gamma^t e_{(s_t, a_t)} \in \mathbb{R}^{S A}`, so its return is
  :math:`\langle r, \phi(\sigma)\rangle` (:func:`segment_features`);
* the preference model is :math:`P[\sigma^1 \succ \sigma^2] = \sigma(\langle r, \phi(\sigma^1) -
  \phi(\sigma^2)\rangle)` (:func:`segment_preference_probability`; labels with Christiano's
  uniform-answer noise and ties: :func:`sample_segment_labels`);
* the maximum-likelihood reward is a logistic regression without intercept on the feature
  differences: convex, fitted by the one linear Bradley-Terry solver of prefrl
  (:mod:`prefrl.restricted`) in :func:`fit_segment_reward`.

The reward is identified only on :math:`V = \mathrm{span}\{\phi(\sigma^1_k) - \phi(\sigma^2_k)\}`:
adding any vector orthogonal to :math:`V` leaves every comparison probability unchanged. With
segments of equal length, the constant shift is such a vector; with :math:`\gamma = 1`,
potential-based shaping changes a segment's return by :math:`\Phi(s_L) - \Phi(s_0)`, so it is *not*
invisible to the comparisons unless the compared segments share their endpoints. See
:doc:`/theory/reward_learning`.

Segments are given either as an integer array of shape ``(n, L, 2)`` (``n`` segments of ``L``
steps, the last axis holding ``(state, action)``) or as a list of ``n`` integer arrays of shapes
``(L_i, 2)`` (ragged lengths, each ``L_i >= 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, ndtr, ndtri

from ._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_indices,
    check_integer,
    check_nonnegative,
    check_positive,
    check_probability,
)
from .bradley_terry import linear_bt_mle_differences, linear_bt_objective

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
class SegmentLoss:
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
class SegmentRewardFit:
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


def sample_segment_labels(reward, seg_a, seg_b, rng=None, *, gamma: float = 1.0,
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
    rng : numpy Generator or int seed, optional
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


# ----------------------------------------------------------------------------------------------
# P2R: the preference-to-reward interface (Wang, Liu and Jin 2023)
# ----------------------------------------------------------------------------------------------

__all__ += ["P2ROracle", "P2RStats", "inverse_link", "link_function"]

_LINKS = ("logistic", "probit")


def _check_link(link) -> str:
    if link not in _LINKS:
        raise ValueError(f"link must be one of {_LINKS}, got {link!r}")
    return link


def link_function(z, link: str = "logistic") -> np.ndarray:
    r"""The known link :math:`\sigma` of a utility-based preference model.

    .. math::
        \Pr[\tau \succ \tau'] = \sigma\big(r(\tau) - r(\tau')\big), \qquad
        \sigma(z) = \frac{1}{1 + e^{-z}} \ \text{(logistic)} \quad\text{or}\quad
        \sigma(z) = \Phi(z) \ \text{(probit, the standard normal CDF)},

    with :math:`z = r(\tau) - r(\tau')` the reward difference. Wang, Liu and Jin (2023), "Is RLHF
    More Difficult than Standard RL?", Sec. 3 (utility-based preferences with a known link).

    Parameters
    ----------
    z : array_like, any shape
        Reward differences.
    link : {"logistic", "probit"}

    Returns
    -------
    array, the shape of ``z``

    Examples
    --------
    >>> link_function([0.0, 1.0]).round(4)
    array([0.5   , 0.7311])
    >>> float(link_function(0.0, "probit"))
    0.5
    """
    z = check_array(z, "z", nonempty=False)
    if _check_link(link) == "logistic":
        return expit(z)
    return ndtr(z)


def inverse_link(p, link: str = "logistic") -> np.ndarray:
    r"""The inverse :math:`\sigma^{-1}` of the link: the reward difference of a probability.

    .. math::
        \sigma^{-1}(p) = \log\frac{p}{1 - p} \ \text{(logistic)}, \qquad
        \sigma^{-1}(p) = \Phi^{-1}(p) \ \text{(probit)},

    for a probability :math:`p \in (0, 1)` that :math:`\tau` is preferred to :math:`\tau'`
    (the endpoints map to :math:`\pm\infty`). Wang, Liu and Jin (2023), Sec. 4 (P2R inverts the
    link on the empirical preference frequency).

    Parameters
    ----------
    p : array_like, any shape, entries in [0, 1]
    link : {"logistic", "probit"}

    Returns
    -------
    array, the shape of ``p``

    Examples
    --------
    >>> float(inverse_link(link_function(1.5))[()]) == 1.5
    True
    >>> inverse_link([0.5, 0.75]).round(4)
    array([0.    , 1.0986])
    """
    p = check_array(p, "p", nonempty=False)
    bad = (p < 0) | (p > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if p.ndim else ()
        at = "[" + ", ".join(map(str, idx)) + "]" if idx else ""
        raise ValueError(f"p{at} = {p[idx]}, must be in [0, 1]")
    if _check_link(link) == "logistic":
        return logit(p)
    return ndtri(p)


def _link_slope(z: np.ndarray, link: str) -> np.ndarray:
    """sigma'(z); symmetric and decreasing in |z| for both links."""
    if link == "logistic":
        return expit(z) * expit(-z)
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


@dataclass(frozen=True)
class P2RStats:
    r"""Counters of a :class:`P2ROracle`.

    Attributes
    ----------
    n_calls : int
        Reward requests answered (by the RL algorithm).
    n_queries : int
        Calls that needed a preference query (a batch of ``m`` comparisons, or one exact
        probability in the deterministic mode).
    n_comparisons : int
        Individual comparisons asked: ``m * n_queries`` (``n_queries`` in the deterministic mode).
    queried : tuple of int
        Trajectory indices queried, in order.
    beta : float
        Current radius :math:`\beta_t` of the least-squares confidence set (0 in the
        deterministic mode).
    consistent : bool
        False if the confidence set was ever found empty (the true parameter is then not in it:
        impossible in the deterministic mode with a true parameter of norm at most ``bound``, and
        in the sampled mode only on the failure event of probability at most ``delta``).
    """

    n_calls: int
    n_queries: int
    n_comparisons: int
    queried: tuple
    beta: float
    consistent: bool


class P2ROracle:
    r"""P2R: answer an RL algorithm's reward requests from preference queries, only when needed.

    The preference-to-reward interface of Wang, Liu and Jin (2023), "Is RLHF More Difficult than
    Standard RL?" (NeurIPS 2023, arXiv 2306.14111), Sec. 4 (Algorithm 1, P2R), exactly on a finite
    set of trajectories :math:`\tau_1, \dots, \tau_N` with features :math:`\phi(\tau_i) \in
    \mathbb R^d` (tabular count features of trajectories, e.g. :func:`segment_features`, or
    one-hot arms of a bandit), a linear reward class and a known link :math:`\sigma`:

    .. math::
        r_\theta(\tau) = \langle\theta, \phi(\tau)\rangle, \quad \|\theta\|_2 \le B, \qquad
        \Pr[\tau \succ \tau_0] = \sigma\big(r_{\theta^*}(\tau) - r_{\theta^*}(\tau_0)\big)
        = \sigma(\langle\theta^*, x(\tau)\rangle), \quad x(\tau) = \phi(\tau) - \phi(\tau_0),

    with :math:`\tau_0` the fixed reference trajectory and :math:`\theta^*` the unknown true
    parameter. After :math:`t` queries :math:`(x_i, y_i)_{i \le t}` (:math:`y_i` the inverted
    preference frequency of :math:`x_i = x(\tau^{(i)})`) the **confidence set** is the paper's
    least-squares set restricted to the class,

    .. math::
        \mathcal C_t = \Big\{\theta \in \mathbb R^d : \|\theta\|_2 \le B,\
        \sum_{i=1}^t \big(\langle\theta, x_i\rangle - y_i\big)^2 \le \beta_t\Big\}.

    A request for :math:`r(\tau) - r(\tau_0)` computes the interval
    :math:`[\ell(\tau), u(\tau)] = \{\langle\theta, x(\tau)\rangle : \theta \in \mathcal C_t\}`
    and its **width** :math:`w(\tau) = u - \ell = \max_{\theta, \theta' \in \mathcal C_t}
    \langle\theta - \theta', x(\tau)\rangle`. If :math:`w(\tau) \le 2\epsilon_0` it answers the
    midpoint :math:`(\ell + u)/2` **without a query**; otherwise it asks :math:`m` comparisons
    :math:`(\tau, \tau_0)`, sets :math:`y = \sigma^{-1}(\bar p)` with :math:`\bar p` the
    frequency of :math:`\tau \succ \tau_0` clipped to
    :math:`[\sigma(-B\|x\|), \sigma(B\|x\|)]` (the range of the class: clipping moves
    :math:`\bar p` towards the truth, never away), adds :math:`(x(\tau), y)` and answers from
    the shrunk set.

    **Guarantee (deterministic).** Whenever :math:`\theta^* \in \mathcal C_t`, every answer
    :math:`\hat\Delta(\tau)` satisfies :math:`|\hat\Delta(\tau) - \langle\theta^*,
    x(\tau)\rangle| \le w(\tau)/2 \le \epsilon_0`. (Answering an arbitrary member of
    :math:`\mathcal C_t`, as in the paper, only gives :math:`2\epsilon_0`; the midpoint gives
    :math:`\epsilon_0`.)

    **Exact mode** (``exact=True``): each query returns the exact probability
    :math:`\sigma(\langle\theta^*, x\rangle)`, so :math:`y_i = \langle\theta^*, x_i\rangle`,
    :math:`\beta_t = 0` and :math:`\mathcal C_t = \{\theta : \|\theta\| \le B, X\theta = y\}`,
    which contains :math:`\theta^*` whenever :math:`\|\theta^*\| \le B`. Its interval has the
    closed form :math:`\langle\theta_0, x\rangle \pm \rho\|P_\perp x\|` with :math:`\theta_0` the
    minimum-norm solution of :math:`X\theta = y`, :math:`\rho^2 = B^2 - \|\theta_0\|^2` and
    :math:`P_\perp` the projection onto the null space of :math:`X` (norms below
    :math:`10^{-12}\|x\|` count as 0). A query happens only if :math:`P_\perp x \neq 0`, so the
    queried :math:`x_i` are linearly independent: **at most** :math:`\mathrm{rank}\{x(\tau)\}
    \le d` **queries**, however many requests.

    **Sampled mode** (``exact=False``): each query is :math:`m` independent comparisons. The
    radius is :math:`\beta_t = \sum_{i \le t} \eta_i^2`, :math:`\eta_i = \kappa_i
    \sqrt{\log(2 i (i+1)/\delta) / (2m)}`, :math:`\kappa_i = 1/\sigma'(B\|x_i\|)` (the Lipschitz
    constant of :math:`\sigma^{-1}` on the clipped range). *Statement, with its assumptions (not
    proved here):* if the comparisons are independent Bernoulli with the stated link and
    :math:`\|\theta^*\| \le B`, Hoeffding's inequality and a union bound over the queries give
    :math:`|y_i - \langle\theta^*, x_i\rangle| \le \eta_i` for all :math:`i` with probability at
    least :math:`1 - \delta`, hence :math:`\theta^* \in \mathcal C_t` for every :math:`t` and every
    answer is within :math:`\epsilon_0` of the truth. The interval is computed by Lagrangian
    duality: for :math:`s \in (0, 1]` the aggregated ellipsoid :math:`\{s(\|\theta\|^2 - B^2) +
    (1-s)(\|X\theta - y\|^2 - \beta_t) \le 0\} \supseteq \mathcal C_t` gives the closed-form
    bounds :math:`c_s^\top x \pm R_s\|x\|_{M_s^{-1}}`, valid for every :math:`s`; the oracle takes
    the best over :math:`s` (a quasi-convex 1-D problem, solved by a zooming grid on
    :math:`\log s`), which equals the exact interval by strong duality up to the grid's
    resolution, and is never narrower than it (so the guarantee is unaffected). A trajectory
    just queried has width at most :math:`2\sqrt{\beta_t}`: choose :math:`m` so that
    :math:`\beta_t \le \epsilon_0^2` over the run, or it may be queried again. The paper's
    query bound (eluder dimension times :math:`\kappa^2/\epsilon_0^2`, up to logs) is not
    claimed here.

    Parameters
    ----------
    features : array, shape (N, d)
        :math:`\phi(\tau_i)`, one row per trajectory.
    reference_index : int in [0, N)
        Index of :math:`\tau_0`.
    epsilon0 : float > 0
        :math:`\epsilon_0`, the accuracy asked by the RL algorithm.
    bound : float > 0
        :math:`B`, the radius of the reward class.
    exact : bool
        Deterministic mode (exact probabilities) instead of sampled comparisons.
    m_queries : int >= 1
        :math:`m`, comparisons per query (sampled mode; ignored in the exact mode).
    true_theta : array, shape (d,), optional
        :math:`\theta^*` (norm at most ``bound``): the oracle simulates the labeller.
    comparison_fn : callable, optional
        The labeller instead of ``true_theta``: ``comparison_fn(i)`` returns
        :math:`\Pr[\tau_i \succ \tau_0]` (exact mode) and ``comparison_fn(i, m)`` the number of wins
        of :math:`\tau_i` in ``m`` comparisons (sampled mode).
    rng : numpy Generator or int seed
        Randomness of the simulated comparisons (sampled mode with ``true_theta``).
    link : {"logistic", "probit"}
    delta : float in (0, 1)
        :math:`\delta`, the failure probability of the sampled mode's confidence set.

    Examples
    --------
    Three arms of a bandit, one-hot features, exact preferences: two queries suffice for any number
    of requests.

    >>> oracle = P2ROracle(np.eye(3), 0, epsilon0=0.01, bound=5.0, exact=True,
    ...                    true_theta=[0.0, 1.0, -2.0])
    >>> [round(oracle.reward(i), 6) for i in (0, 1, 2, 1, 2, 2)]
    [0.0, 1.0, -2.0, 1.0, -2.0, -2.0]
    >>> oracle.stats.n_calls, oracle.stats.n_queries
    (6, 2)
    """

    def __init__(self, features, reference_index: int = 0, *, epsilon0: float, bound: float,
                 exact: bool = False, m_queries: int | None = None, true_theta=None,
                 comparison_fn=None, rng=None, link: str = "logistic", delta: float = 0.05):
        phi = check_array(features, "features", ndim=2)
        N, d = phi.shape
        ref = check_integer(reference_index, "reference_index", minimum=0)
        if ref >= N:
            raise ValueError(f"reference_index must be in [0, {N}), got {ref}")
        self.epsilon0 = check_positive(epsilon0, "epsilon0")
        self.bound = check_positive(bound, "bound")
        self.exact = bool(exact)
        self.link = _check_link(link)
        self.delta = check_in_range(delta, "delta", 0.0, 1.0, low_open=True, high_open=True)
        if self.exact:
            self.m = None if m_queries is None else check_integer(m_queries, "m_queries",
                                                                 minimum=1)
        else:
            if m_queries is None:
                raise ValueError("m_queries must be given in the sampled mode (exact=False)")
            self.m = check_integer(m_queries, "m_queries", minimum=1)
        if (true_theta is None) == (comparison_fn is None):
            raise ValueError("give exactly one of true_theta and comparison_fn")
        if true_theta is not None:
            theta = check_array(true_theta, "true_theta", shape=(d,))
            nrm = float(np.linalg.norm(theta))
            if nrm > self.bound * (1 + 1e-12):
                raise ValueError(f"true_theta has norm {nrm:.6g}, must be <= bound = "
                                 f"{self.bound:.6g}")
            self.true_theta = theta
            if not self.exact:
                self._rng = as_rng(rng)
        else:
            if not callable(comparison_fn):
                raise TypeError("comparison_fn must be callable")
            self.true_theta = None
        self._fn = comparison_fn
        self.features = phi
        self.reference_index = ref
        self.diffs = phi - phi[ref]
        self._norms = np.linalg.norm(self.diffs, axis=1)
        self._X: list[np.ndarray] = []
        self._y: list[float] = []
        self._eta2: list[float] = []
        self._queried: list[int] = []
        self._n_calls = 0
        self._consistent = True
        self._version = 0
        self._cache: dict[int, tuple[int, float, float]] = {}
        self._refit()

    # -- the confidence set ---------------------------------------------------------------------
    @property
    def beta(self) -> float:
        r""":math:`\beta_t` (0 in the exact mode)."""
        return 0.0 if self.exact else float(sum(self._eta2))

    @property
    def stats(self) -> P2RStats:
        """The counters (a frozen :class:`P2RStats`)."""
        nq = len(self._queried)
        return P2RStats(n_calls=self._n_calls, n_queries=nq,
                        n_comparisons=nq if self.exact else nq * self.m,
                        queried=tuple(self._queried), beta=self.beta,
                        consistent=self._consistent)

    def _refit(self) -> None:
        d = self.diffs.shape[1]
        X = np.array(self._X).reshape(-1, d)
        y = np.array(self._y)
        self._version += 1
        if self.exact:
            if X.shape[0]:
                # Queried rows are linearly independent (see _interval_exact): QR gives the
                # null-space projector and the minimum-norm solution exactly.
                Q, R = np.linalg.qr(X.T)
                self._Q = Q
                self._theta0 = Q @ np.linalg.solve(R.T, y)
            else:
                self._Q = np.zeros((d, 0))
                self._theta0 = np.zeros(d)
            rho2 = self.bound**2 - float(self._theta0 @ self._theta0)
            if rho2 < -1e-9 * self.bound**2:
                self._consistent = False
            self._rho = float(np.sqrt(max(rho2, 0.0)))
        else:
            G = X.T @ X
            e, U = np.linalg.eigh(G)
            self._eig = np.maximum(e, 0.0)
            self._U = U
            self._g = U.T @ (X.T @ y)
            self._yy = float(y @ y)

    def _interval_exact(self, x: np.ndarray, nx: float) -> tuple[float, float]:
        perp = x - self._Q @ (self._Q.T @ x)
        np_ = float(np.linalg.norm(perp))
        if np_ <= 1e-12 * nx:
            np_ = 0.0
        mid = float(self._theta0 @ x)
        return mid - self._rho * np_, mid + self._rho * np_

    def _bounds_at(self, s: np.ndarray, w: np.ndarray):
        """Upper and lower bounds c_s.x +- R_s |x|_{M_s^-1} for a vector of s in (0, 1]."""
        B2, beta = self.bound**2, self.beta
        den = s[:, None] + (1.0 - s)[:, None] * self._eig[None, :]  # eigenvalues of M_s
        cx = (1.0 - s) * ((w * self._g)[None, :] / den).sum(axis=1)
        bMb = (1.0 - s) ** 2 * ((self._g**2)[None, :] / den).sum(axis=1)
        c = (1.0 - s) * (self._yy - beta) - s * B2
        R2 = bMb - c
        xn = np.sqrt(((w**2)[None, :] / den).sum(axis=1))
        R = np.sqrt(np.maximum(R2, 0.0))
        return cx + R * xn, cx - R * xn, R2

    def _interval_sampled(self, x: np.ndarray, nx: float) -> tuple[float, float]:
        if not self._X:
            return -self.bound * nx, self.bound * nx
        w = self._U.T @ x
        lo_s, hi_s = np.log(1e-14), 0.0
        best_u, best_l = np.inf, -np.inf
        empty = False
        for side in ("u", "l"):
            a, b = lo_s, hi_s
            for _ in range(5):  # zooming grid on log s; each s gives a valid bound
                ls = np.linspace(a, b, 17)
                u, l, R2 = self._bounds_at(np.exp(ls), w)
                if np.any(R2 < -1e-12 * max(1.0, self.bound**2 + self.beta)):
                    empty = True
                vals = u if side == "u" else -l
                k = int(np.argmin(vals))
                if side == "u":
                    best_u = min(best_u, float(u[k]))
                else:
                    best_l = max(best_l, float(l[k]))
                a, b = ls[max(k - 1, 0)], ls[min(k + 1, ls.size - 1)]
        if empty:
            self._consistent = False
            return -np.inf, np.inf
        return best_l, best_u

    def interval(self, tau_index: int) -> tuple[float, float]:
        r"""The interval :math:`\{r_\theta(\tau) - r_\theta(\tau_0) : \theta \in \mathcal C_t\}`.

        Neither a call nor a query is counted.

        Parameters
        ----------
        tau_index : int in [0, N)

        Returns
        -------
        tuple (lower, upper) of float

        Examples
        --------
        >>> oracle = P2ROracle(np.eye(2), 0, epsilon0=0.1, bound=1.0, exact=True,
        ...                    true_theta=[0.0, 0.5])
        >>> [round(v, 4) for v in oracle.interval(1)]    # before any query: |theta| <= 1
        [-1.4142, 1.4142]
        """
        i = self._index(tau_index)
        hit = self._cache.get(i)
        if hit is not None and hit[0] == self._version:
            return hit[1], hit[2]
        x, nx = self.diffs[i], float(self._norms[i])
        if nx == 0.0:
            lo = hi = 0.0
        elif self.exact:
            lo, hi = self._interval_exact(x, nx)
        else:
            lo, hi = self._interval_sampled(x, nx)
        self._cache[i] = (self._version, lo, hi)
        return lo, hi

    def width(self, tau_index: int) -> float:
        r"""The width :math:`\max_{\theta, \theta' \in \mathcal C_t} \langle\theta - \theta',
        x(\tau)\rangle` of the confidence set at a trajectory (no call counted).

        Parameters
        ----------
        tau_index : int in [0, N)

        Returns
        -------
        float

        Examples
        --------
        >>> oracle = P2ROracle(np.eye(2), 0, epsilon0=0.1, bound=1.0, exact=True,
        ...                    true_theta=[0.0, 0.5])
        >>> oracle.width(0), round(oracle.width(1), 4)
        (0.0, 2.8284)
        """
        lo, hi = self.interval(tau_index)
        return float(hi - lo)

    def _index(self, tau_index) -> int:
        i = check_integer(tau_index, "tau_index", minimum=0)
        if i >= self.diffs.shape[0]:
            raise ValueError(f"tau_index must be in [0, {self.diffs.shape[0]}), got {i}")
        return i

    # -- queries --------------------------------------------------------------------------------
    def _query(self, i: int) -> float:
        x, nx = self.diffs[i], float(self._norms[i])
        zmax = self.bound * nx
        p_lo, p_hi = link_function([-zmax, zmax], self.link)
        if self.exact:
            if self._fn is not None:
                p = check_probability(float(self._fn(i)), "comparison_fn(i)")
            else:
                p = float(link_function(self.true_theta @ x, self.link))
        else:
            if self._fn is not None:
                wins = check_integer(self._fn(i, self.m), "comparison_fn(i, m)", minimum=0)
                if wins > self.m:
                    raise ValueError(f"comparison_fn(i, m) = {wins}, must be <= m = {self.m}")
            else:
                p_true = float(link_function(self.true_theta @ x, self.link))
                wins = int(self._rng.binomial(self.m, p_true))
            p = wins / self.m
        y = float(inverse_link(min(max(p, p_lo), p_hi), self.link))
        if not np.isfinite(y):  # p_lo or p_hi rounded to 0 or 1: the class range, in z
            y = float(np.clip(np.sign(p - 0.5) * np.inf, -zmax, zmax))
        t = len(self._queried) + 1
        self._X.append(x.copy())
        self._y.append(y)
        if not self.exact:
            kappa = 1.0 / float(_link_slope(np.array(zmax), self.link))
            self._eta2.append(kappa**2 * np.log(2.0 * t * (t + 1) / self.delta) / (2.0 * self.m))
        self._queried.append(i)
        self._refit()
        return y

    def reward(self, tau_index: int) -> float:
        r"""The estimated reward difference :math:`\hat r(\tau) - \hat r(\tau_0)`.

        Answered without a query when the width of :math:`\mathcal C_t` at :math:`\tau` is at most
        :math:`2\epsilon_0`; otherwise after one query of ``m`` comparisons of
        :math:`(\tau, \tau_0)`. The answer is the midpoint of the interval (see the class).

        Parameters
        ----------
        tau_index : int in [0, N)

        Returns
        -------
        float

        Examples
        --------
        >>> oracle = P2ROracle([[0.0], [1.0], [2.0]], 0, epsilon0=0.01, bound=2.0, exact=True,
        ...                    true_theta=[0.7])
        >>> round(oracle.reward(2), 6), round(oracle.reward(1), 6), oracle.stats.n_queries
        (1.4, 0.7, 1)
        """
        i = self._index(tau_index)
        self._n_calls += 1
        lo, hi = self.interval(i)
        if hi - lo <= 2.0 * self.epsilon0:
            return 0.5 * (lo + hi)
        if self.exact and self._Q.shape[1] >= self.diffs.shape[1]:
            return 0.5 * (lo + hi)  # cannot happen: a full-rank X leaves width 0
        y = self._query(i)
        lo, hi = self.interval(i)
        if not np.isfinite(hi - lo):  # empty set (failure event): answer the fresh estimate
            return y
        return 0.5 * (lo + hi)

    def rewards(self, tau_indices) -> np.ndarray:
        """:meth:`reward` for each index in turn (each counts as a call).

        Parameters
        ----------
        tau_indices : int array, shape (n,)

        Returns
        -------
        array, shape (n,)

        Examples
        --------
        >>> oracle = P2ROracle(np.eye(2), 1, epsilon0=0.1, bound=3.0, exact=True,
        ...                    true_theta=[1.0, 0.0])
        >>> oracle.rewards([0, 1, 0]).round(6).tolist(), oracle.stats.n_calls
        ([1.0, 0.0, 1.0], 3)
        """
        idx = check_indices(tau_indices, "tau_indices", self.diffs.shape[0])
        return np.array([self.reward(int(i)) for i in idx])
