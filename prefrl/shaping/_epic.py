r"""EPIC: a pseudometric on rewards that ignores potential shaping (Gleave et al. 2021).

Gleave, Dennis, Legg, Russell and Leike (2021), "Quantifying Differences in Reward Functions",
ICLR:

- Definition 4.1, the canonically shaped reward
  :math:`C(R) = R + \gamma m(s') - m(s) - \gamma\bar m` (:func:`canonicalize`);
- Definition 4.2, the Pearson distance :math:`\sqrt{(1 - \rho)/2}` (:func:`pearson_distance`);
- Definition 4.3 and Theorem 4.7, the EPIC distance, a pseudometric in [0, 1] that is zero
  between rewards equal up to positive scaling, potential shaping and constants
  (:func:`epic_distance`), under a coverage distribution of transitions
  (:func:`transition_coverage`, the one of the paper's gridworld illustration).
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_array,
    check_distribution,
    check_nonnegative,
    check_same_shape,
    check_stochastic_matrix,
)
from ..mdp import TabularMDP
from ._common import _as_sas, _check_gamma

__all__ = ["canonicalize", "epic_distance", "pearson_distance", "transition_coverage"]


def _dists(S, A, state_dist, action_dist):
    DS = np.full(S, 1.0 / S) if state_dist is None else check_distribution(
        state_dist, "state_dist", size=S)
    DA = np.full(A, 1.0 / A) if action_dist is None else check_distribution(
        action_dist, "action_dist", size=A)
    return DS, DA


def canonicalize(rewards, gamma: float, state_dist=None, action_dist=None) -> np.ndarray:
    r"""The canonically shaped reward of EPIC.

    .. math::
        C(R)(s, a, s') = R(s, a, s') + \mathbb{E}\big[\gamma R(s', A, S') - R(s, A, S')
        - \gamma R(S, A, S')\big], \qquad S, S' \sim D_S \text{ i.i.d.},\ A \sim D_A,

    i.e. :math:`C(R) = R + \gamma m(s') - m(s) - \gamma \bar m` with
    :math:`m(x) = \mathbb{E}_{A, S'} R(x, A, S')` and :math:`\bar m = \mathbb{E}_S m(S)`.
    Gleave, Dennis, Legg, Russell and Leike (2021), "Quantifying Differences in Reward
    Functions", Definition 4.1. :math:`C` is linear, removes potential shaping and constants
    (:math:`C(R + \gamma\Phi(s') - \Phi(s) + c) = C(R)`), and is idempotent
    (:math:`C(C(R)) = C(R)`, since :math:`m \equiv 0` for :math:`C(R)`), for any :math:`D_S`,
    :math:`D_A`.

    Parameters
    ----------
    rewards : array, shape (S, A, S) or (S, A)
    gamma : float in [0, 1]
    state_dist : array, shape (S,), optional
        :math:`D_S` (uniform by default).
    action_dist : array, shape (A,), optional
        :math:`D_A` (uniform by default).

    Returns
    -------
    array, shape (S, A, S)

    Examples
    --------
    >>> from prefrl.shaping import shape
    >>> R = shape(np.zeros((2, 1, 2)), [3.0, -1.0], gamma=0.9) + 5.0  # shaping plus a constant
    >>> bool(np.abs(canonicalize(R, 0.9)).max() < 1e-12)
    True
    """
    R = _as_sas(rewards)
    gamma = _check_gamma(gamma)
    S, A, _ = R.shape
    DS, DA = _dists(S, A, state_dist, action_dist)
    m = np.einsum("xat,a,t->x", R, DA, DS)
    mbar = float(DS @ m)
    return R + gamma * m[None, None, :] - m[:, None, None] - gamma * mbar


def pearson_distance(x, y, weights=None, atol: float = 0.0) -> float:
    r"""The Pearson distance :math:`\sqrt{(1 - \rho(X, Y))/2}` under a weighting.

    .. math::
        \rho = \frac{\mathbb{E}_w[(X - \mathbb{E}_w X)(Y - \mathbb{E}_w Y)]}
        {\sigma_w(X)\,\sigma_w(Y)}, \qquad
        D_\rho(X, Y) = \sqrt{\tfrac{1 - \rho}{2}} = \tfrac12 \big\lVert \hat X - \hat Y \big\rVert_w,

    with :math:`w` the weights (uniform by default) and :math:`\hat X = (X - \mathbb{E}_w X) /
    \sigma_w(X)` the standardised vector. Gleave et al. (2021), Definition 4.2. A vector whose
    weighted standard deviation is at most ``atol`` is constant: it is standardised to
    :math:`\hat X = 0`, so two constant vectors are at distance 0 and a constant and a
    non-constant one at distance :math:`1/2` (the midpoint between :math:`Y` and :math:`-Y`).
    This keeps :math:`D_\rho` a pseudometric (a Euclidean distance between the :math:`\hat X`).

    Parameters
    ----------
    x, y : arrays of the same shape
    weights : array of that shape, optional
        Nonnegative, summing to 1.
    atol : float >= 0
        Standard deviations at or below this count as zero.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> pearson_distance([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]), pearson_distance([1.0, 2.0], [2.0, 1.0])
    (0.0, 1.0)
    >>> pearson_distance([1.0, 2.0], [5.0, 5.0])
    0.5
    """
    x = check_array(x, "x")
    y = check_array(y, "y")
    check_same_shape("x", x, "y", y)
    atol = check_nonnegative(atol, "atol")
    if weights is None:
        w = np.full(x.size, 1.0 / x.size)
    else:
        w = check_array(weights, "weights")
        check_same_shape("x", x, "weights", w)
        w = check_distribution(w.ravel(), "weights")
    x, y = x.ravel(), y.ravel()
    xc = x - w @ x
    yc = y - w @ y
    sx = float(np.sqrt(w @ (xc * xc)))
    sy = float(np.sqrt(w @ (yc * yc)))
    cx, cy = sx <= atol, sy <= atol
    if cx and cy:
        return 0.0
    if cx or cy:
        return 0.5
    # (1 - rho) / 2 = |xhat - yhat|^2 / 4: the difference form keeps full relative accuracy
    # near 0, where sqrt(1 - rho) would turn rounding of rho into errors of 1e-8.
    # sqrt(w) * xhat has unit norm, so nothing overflows even for tiny weights.
    sw = np.sqrt(w)
    diff = sw * xc / sx - sw * yc / sy
    return float(min(1.0, 0.5 * np.sqrt(diff @ diff)))


def transition_coverage(transitions, state_dist=None, action_dist=None) -> np.ndarray:
    r"""The coverage distribution of feasible transitions, :math:`D(s, a, s') = D_S(s) D_A(a) P(s, a, s')`.

    .. math::
        D(s, a, s') = D_S(s)\, D_A(a)\, P[s, a, s'] .

    The coverage used for the EPIC gridworld illustration of Gleave et al. (2021) (uniform
    :math:`D_S`, :math:`D_A`, transitions of the environment).

    Parameters
    ----------
    transitions : array, shape (S, A, S), or TabularMDP
    state_dist : array, shape (S,), optional
    action_dist : array, shape (A,), optional

    Returns
    -------
    array, shape (S, A, S), summing to 1

    Examples
    --------
    >>> P = np.zeros((2, 1, 2)); P[:, 0, 1] = 1.0
    >>> transition_coverage(P)[:, 0, :]
    array([[0. , 0.5],
           [0. , 0.5]])
    """
    P = transitions.dense_transitions() if isinstance(transitions, TabularMDP) else transitions
    P = check_array(P, "transitions", ndim=3)
    S, A, _ = P.shape
    P = check_stochastic_matrix(P, "transitions", shape=(S, A, S))
    DS, DA = _dists(S, A, state_dist, action_dist)
    return DS[:, None, None] * DA[None, :, None] * P


def epic_distance(R1, R2, gamma: float, coverage=None, state_dist=None, action_dist=None,
                  rtol: float = 1e-10, *, metric: str = "pearson") -> float:
    r"""The EPIC pseudometric between two rewards.

    .. math::
        D_{EPIC}(R_1, R_2) = D_\rho\big(C(R_1)(S, A, S'),\ C(R_2)(S, A, S')\big),
        \qquad (S, A, S') \sim \mathcal{D},

    with :math:`C` the canonicalisation (:func:`canonicalize`, with :math:`D_S`, :math:`D_A`)
    and :math:`D_\rho` the Pearson distance (:func:`pearson_distance`) under the coverage
    :math:`\mathcal{D}`. Gleave et al. (2021), Definition 4.3 and Theorem 4.7: a pseudometric
    with values in [0, 1], zero between rewards that differ by positive scaling, potential
    shaping and constant shifts, and :math:`D(R, -R) = 1`. A canonical reward whose standard
    deviation is at most ``rtol`` times the largest :math:`|R_i|` is treated as constant (such a
    reward ranks all policies equal); see :func:`pearson_distance` for that convention.

    ``metric="l1"`` replaces the Pearson distance by half the L1 distance of the L1-normalised
    canonical rewards under the coverage,

    .. math::
        D_{L1}(R_1, R_2) = \tfrac12\,\mathbb{E}_{\mathcal{D}}\Big|
        \frac{C(R_1)}{\mathbb{E}_{\mathcal{D}}|C(R_1)|} - \frac{C(R_2)}{\mathbb{E}_{\mathcal{D}}|C(R_2)|}
        \Big| \in [0, 1],

    the quantity the authors' public evaluation code draws for the gridworld heatmap (over the
    feasible transitions), which is not the EPIC of the paper's definition. It has the same
    invariances (positive scaling, potential shaping, constants: all act through :math:`C` or
    cancel in the normalisation), :math:`D_{L1}(R, -R) = 1`, and 1/2 between a constant and a
    non-constant reward.

    Parameters
    ----------
    R1, R2 : arrays, shape (S, A, S) or (S, A)
    gamma : float in [0, 1]
    coverage : array, shape (S, A, S), optional
        :math:`\mathcal{D}` (uniform over :math:`S \times A \times S` by default; see
        :func:`transition_coverage` for feasible transitions).
    state_dist, action_dist : arrays, shapes (S,) and (A,), optional
        :math:`D_S`, :math:`D_A` of the canonicalisation (uniform by default).
    rtol : float >= 0
    metric : {"pearson", "l1"}
        The distance between canonical rewards: the Pearson distance of the definition, or the
        normalised L1 distance above.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> from prefrl.shaping import shape
    >>> rng = np.random.default_rng(0)
    >>> R = rng.normal(size=(3, 2, 3))
    >>> equivalent = 2.0 * shape(R, [1.0, -4.0, 2.0], gamma=0.9) + 7.0
    >>> round(epic_distance(R, equivalent, 0.9), 12), epic_distance(R, -R, 0.9)
    (0.0, 1.0)
    >>> round(epic_distance(R, equivalent, 0.9, metric="l1"), 12)
    0.0
    """
    A1 = _as_sas(R1, "R1")
    A2 = _as_sas(R2, "R2")
    check_same_shape("R1", A1, "R2", A2)
    rtol = check_nonnegative(rtol, "rtol")
    if metric not in ("pearson", "l1"):
        raise ValueError(f"metric must be 'pearson' or 'l1', got {metric!r}")
    C1 = canonicalize(A1, gamma, state_dist, action_dist)
    C2 = canonicalize(A2, gamma, state_dist, action_dist)
    w = None
    if coverage is not None:
        w = check_array(coverage, "coverage", shape=A1.shape)
    # Constancy is judged per reward, relative to its own scale.
    x1 = _is_constant(C1, w, rtol * float(np.max(np.abs(A1))))
    x2 = _is_constant(C2, w, rtol * float(np.max(np.abs(A2))))
    if x1 and x2:
        return 0.0
    if x1 or x2:
        return 0.5
    if metric == "l1":
        return _l1_distance(C1, C2, w)
    return pearson_distance(C1, C2, w, atol=0.0)


def _l1_distance(C1, C2, w) -> float:
    """Half the weighted L1 distance of the L1-normalised arrays (uniform weights by default)."""
    c1, c2 = C1.ravel(), C2.ravel()
    w = np.full(c1.size, 1.0 / c1.size) if w is None else check_distribution(w.ravel(), "coverage")
    n1, n2 = w @ np.abs(c1), w @ np.abs(c2)
    return float(min(1.0, 0.5 * (w @ np.abs(c1 / n1 - c2 / n2))))


def _is_constant(C, w, atol) -> bool:
    c = C.ravel()
    w = np.full(c.size, 1.0 / c.size) if w is None else check_distribution(w.ravel(), "coverage")
    cc = c - w @ c
    return bool(np.sqrt(w @ (cc * cc)) <= atol)

