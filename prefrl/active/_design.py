r"""Optimal-design quantities of a linear Bradley-Terry model: Fisher weights, log-det gains, entropy.

A pair :math:`(y, y')` of responses with features :math:`\phi` enters a linear Bradley-Terry model
(Bradley and Terry 1952) through its difference :math:`x = \phi(y) - \phi(y')`: the label
"y preferred" has probability :math:`p = \sigma(x^\top\theta)`. The experimental-design view of
which pair to label next (Kiefer and Wolfowitz 1960; Pukelsheim 2006, Ch. 9, for D-optimality;
Kveton et al. 2025, "Active Learning for Direct Preference Optimization", for its use with DPO)
rests on a few exact facts, computed here:

- :func:`all_pairs`, :func:`pair_differences`: the candidate pool and its difference rows;
- :func:`fisher_weights`, :func:`fisher_information`: the Fisher information of one label,
  :math:`\sigma'(x^\top\theta)\,xx^\top = p(1-p)\,xx^\top` (it does not depend on the label), and
  the information of a labelled set plus a ridge, :math:`A = \lambda I + \sum_t w_t x_tx_t^\top`,
  which is the Hessian of the ridge-penalised negative log-likelihood
  (:func:`prefrl.bradley_terry.linear_bt_objective`);
- :func:`logdet_increments`: the gain :math:`\log\det(A + w\,xx^\top) - \log\det A =
  \log(1 + w\,x^\top A^{-1}x)` of adding one pair (the matrix determinant lemma);
- :func:`confidence_widths`: :math:`\lVert x\rVert_{A^{-1}} = \sqrt{x^\top A^{-1}x}`;
- :func:`label_entropy`: the predictive entropy of the label, :math:`H(p) = -p\log p -
  (1-p)\log(1-p)` (in nats), the acquisition score of uncertainty sampling (Muldrew et al. 2024,
  "Active Preference Learning for Large Language Models", Sec. 4, whose entropy is the one of
  the language model's completions; here it is the entropy of the Bradley-Terry label).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit

from .._validation import check_array, check_integer, check_nonnegative
from ..bradley_terry import linear_bt_objective

__all__ = [
    "all_pairs",
    "confidence_widths",
    "fisher_information",
    "fisher_weights",
    "label_entropy",
    "logdet_increments",
    "pair_differences",
]


def all_pairs(n_responses) -> np.ndarray:
    r"""Every unordered pair :math:`\{y, y'\}`, :math:`y < y'`, of ``n_responses`` responses.

    .. math::
        \mathcal{P} = \{(y, y') : 0 \le y < y' < K\},\qquad |\mathcal{P}| = K(K-1)/2.

    The default candidate pool of the active learners (:func:`prefrl.active.select_pair`).

    Parameters
    ----------
    n_responses : int >= 2
        :math:`K`.

    Returns
    -------
    int array, shape (K (K - 1) / 2, 2)

    Examples
    --------
    >>> all_pairs(3)
    array([[0, 1],
           [0, 2],
           [1, 2]])
    """
    K = check_integer(n_responses, "n_responses", minimum=2)
    i, j = np.triu_indices(K, k=1)
    return np.stack([i, j], axis=1).astype(np.int64)


def _check_pairs(pairs, n_responses: int, name: str = "pairs") -> np.ndarray:
    """Check an (n, 2) array of distinct response indices in [0, n_responses)."""
    if isinstance(pairs, (str, bytes)) or pairs is None:
        raise TypeError(
            f"{name} must be an integer array of shape (n, 2), got {type(pairs).__name__}"
        )
    arr = np.asarray(pairs)
    if arr.dtype == bool or arr.dtype.kind in "cUSOV":
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, 2) with n >= 1, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= n_responses)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{name}[{i}, {j}] = {arr[i, j]}, must be in [0, {n_responses})")
    same = arr[:, 0] == arr[:, 1]
    if same.any():
        i = int(np.argmax(same))
        raise ValueError(
            f"{name}[{i}] = ({arr[i, 0]}, {arr[i, 1]}) compares a response with itself"
        )
    return arr


def pair_differences(features, pairs) -> np.ndarray:
    r"""Difference rows :math:`x_k = \phi(y_k) - \phi(y'_k)` of a list of pairs.

    .. math::
        x_k = \phi(y_k) - \phi(y'_k)\in\mathbb{R}^d,

    the regressor of a pair in the linear Bradley-Terry model
    :math:`p(y\succ y') = \sigma(x^\top\theta)` (Bradley and Terry 1952).

    Parameters
    ----------
    features : array, shape (K, d)
        :math:`\phi`.
    pairs : int array, shape (n, 2)
        Rows :math:`(y, y')` with :math:`y \ne y'`.

    Returns
    -------
    array, shape (n, d)

    Examples
    --------
    >>> pair_differences(np.eye(3), [[0, 1], [2, 0]])
    array([[ 1., -1.,  0.],
           [-1.,  0.,  1.]])
    """
    phi = check_array(features, "features", ndim=2)
    pairs = _check_pairs(pairs, phi.shape[0])
    return phi[pairs[:, 0]] - phi[pairs[:, 1]]


def _rows_and_theta(differences, theta, *, nonempty=True):
    X = check_array(differences, "differences", ndim=2, nonempty=nonempty)
    theta = check_array(theta, "theta", ndim=1, shape=(X.shape[1],), like="differences")
    return X, theta


def fisher_weights(differences, theta) -> np.ndarray:
    r"""Fisher weight :math:`\sigma'(x^\top\theta) = p(1-p)` of each pair's Bradley-Terry label.

    .. math::
        w(x) = \sigma(x^\top\theta)\,\sigma(-x^\top\theta) = p(1-p),\qquad
        I_x(\theta) = -\mathbb{E}\,\nabla^2_\theta \log p_\theta(\text{label}) = w(x)\,xx^\top,

    for a label drawn from :math:`p = \sigma(x^\top\theta)` (the logistic model's Fisher
    information; McCullagh and Nelder 1989, Sec. 4.4). Computed in log space, so it is
    :math:`e^{-|z|}`-small, never NaN, for large margins :math:`z = x^\top\theta`.

    Parameters
    ----------
    differences : array, shape (n, d)
        Rows :math:`x`.
    theta : array, shape (d,)

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> fisher_weights([[1.0, 0.0], [0.0, 0.0]], [0.0, 2.0])
    array([0.25, 0.25])
    """
    X, theta = _rows_and_theta(differences, theta)
    z = X @ theta
    return np.exp(log_expit(z) + log_expit(-z))


def fisher_information(differences, theta, l2=0.0) -> np.ndarray:
    r"""The Fisher information of a labelled set plus a ridge, :math:`\lambda I + \sum_t w_t x_tx_t^\top`.

    .. math::
        A(\theta) = \lambda I + \sum_{t=1}^n \sigma'(x_t^\top\theta)\,x_t x_t^\top,

    the Hessian of the ridge-penalised Bradley-Terry negative log-likelihood at :math:`\theta`
    (it does not depend on the labels), computed by
    :func:`prefrl.bradley_terry.linear_bt_objective`; the design matrix of the D-optimal rule
    (Kveton et al. 2025, "Active Learning for Direct Preference Optimization", Sec. 4, in the
    log-linear case). The sign of a row does not matter.

    Parameters
    ----------
    differences : array, shape (n, d)
        The labelled rows (``n`` may be 0).
    theta : array, shape (d,)
    l2 : float >= 0
        The ridge :math:`\lambda`.

    Returns
    -------
    array, shape (d, d)

    Examples
    --------
    >>> fisher_information([[1.0, 0.0]], [0.0, 0.0], l2=1.0)
    array([[1.25, 0.  ],
           [0.  , 1.  ]])
    """
    X, theta = _rows_and_theta(differences, theta, nonempty=False)
    l2 = check_nonnegative(l2, "l2")
    return linear_bt_objective(X, np.ones(X.shape[0]), l2, theta)[2]


def _check_spd(A, name: str = "A") -> tuple[np.ndarray, np.ndarray]:
    """A symmetric positive definite matrix and its Cholesky factor, or a ValueError naming it."""
    A = check_array(A, name, ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be square, got shape {A.shape}")
    scale = max(1.0, float(np.max(np.abs(A))))
    if np.max(np.abs(A - A.T)) > 1e-6 * scale:
        raise ValueError(f"{name} must be symmetric")
    try:
        L = np.linalg.cholesky(0.5 * (A + A.T))
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    return A, L


def _quadratic_forms(L: np.ndarray, X: np.ndarray) -> np.ndarray:
    """x^T A^{-1} x for each row of X, with A = L L^T."""
    V = np.linalg.solve(L, X.T)  # L is d x d with d small: a plain solve is fastest here
    return np.einsum("ij,ij->j", V, V)


def confidence_widths(A, differences) -> np.ndarray:
    r"""The confidence width :math:`\lVert x\rVert_{A^{-1}} = \sqrt{x^\top A^{-1} x}` of each row.

    .. math::
        \lVert x\rVert_{A^{-1}} = \sqrt{x^\top A^{-1}x},

    the half-width (up to a radius) of the confidence interval of the reward margin
    :math:`x^\top\theta` under the design :math:`A` (Abbasi-Yadkori, Pal and Szepesvari 2011;
    the uncertainty term of the optimistic dueling rule of Mehta et al. 2025, "Sample Efficient
    Preference Alignment in LLMs via Active Exploration").

    Parameters
    ----------
    A : array, shape (d, d)
        Symmetric positive definite.
    differences : array, shape (n, d)

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> confidence_widths(4 * np.eye(2), [[1.0, 0.0], [3.0, 4.0]])
    array([0.5, 2.5])
    """
    A, L = _check_spd(A)
    X = check_array(differences, "differences", ndim=2, shape=(None, A.shape[0]), like="A")
    return np.sqrt(_quadratic_forms(L, X))


def logdet_increments(A, differences, weights=None) -> np.ndarray:
    r"""The log-det gain of adding each row to the design: :math:`\log(1 + w\,x^\top A^{-1}x)`.

    .. math::
        \log\det\big(A + w\,xx^\top\big) - \log\det A = \log\big(1 + w\,x^\top A^{-1}x\big),

    by the matrix determinant lemma :math:`\det(A + uv^\top) = (1 + v^\top A^{-1}u)\det A`
    (Harville 1997, Thm. 18.1.1). The greedy D-optimal rule picks the row with the largest gain
    (Kveton et al. 2025, "Active Learning for Direct Preference Optimization", Sec. 4; with
    :math:`w` the Fisher weight of :func:`fisher_weights`).

    Parameters
    ----------
    A : array, shape (d, d)
        The current design, symmetric positive definite.
    differences : array, shape (n, d)
        Candidate rows :math:`x`.
    weights : array, shape (n,), optional
        :math:`w \ge 0` (1 by default).

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> logdet_increments(np.eye(2), [[1.0, 0.0], [1.0, 1.0]], [1.0, 0.5]).round(4)
    array([0.6931, 0.6931])
    """
    A, L = _check_spd(A)
    X = check_array(differences, "differences", ndim=2, shape=(None, A.shape[0]), like="A")
    if weights is None:
        w = np.ones(X.shape[0])
    else:
        w = check_array(weights, "weights", ndim=1, shape=(X.shape[0],), like="differences")
        if (w < 0).any():
            i = int(np.argmax(w < 0))
            raise ValueError(f"weights[{i}] = {w[i]:.6g}, must be >= 0")
    return np.log1p(w * _quadratic_forms(L, X))


def label_entropy(differences, theta) -> np.ndarray:
    r"""Predictive entropy (nats) of each pair's Bradley-Terry label under :math:`\theta`.

    .. math::
        H(x) = -p\log p - (1-p)\log(1-p),\qquad p = \sigma(x^\top\theta),

    computed as :math:`-\sigma(z)\log\sigma(z) - \sigma(-z)\log\sigma(-z)` with
    :math:`\log\sigma` in log space; :math:`H = \log 2` at :math:`z = 0` and decreases in
    :math:`|z|`. The uncertainty-sampling score, our bandit reading of the predictive-entropy
    acquisition of Muldrew et al. (2024), "Active Preference Learning for Large Language Models",
    Sec. 4 (they take the entropy of the language model's completions; a bandit has one label
    per pair, whose entropy is this).

    Parameters
    ----------
    differences : array, shape (n, d)
    theta : array, shape (d,)

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> label_entropy([[0.0], [1.0]], [2.0]).round(4)
    array([0.6931, 0.3653])
    """
    X, theta = _rows_and_theta(differences, theta)
    z = X @ theta
    lp, lq = log_expit(z), log_expit(-z)
    return -(np.exp(lp) * lp + np.exp(lq) * lq)
