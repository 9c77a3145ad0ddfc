"""Exact facts behind the active preference-query rules of :mod:`prefrl.active`.

Each check compares a closed form of :mod:`prefrl.active` with an independent computation: a
direct log-determinant, finite differences of the Bradley-Terry log-likelihood, a brute-force
argmax over the pool, and the binary entropy in high precision (mpmath).

The checks (each with its instance generator):

- ``active.determinant_lemma_increment`` (:func:`determinant_lemma_increment`,
  :func:`draw_design`): :math:`\\log(1 + w x^T A^{-1} x)` equals
  :math:`\\log\\det(A + w xx^T) - \\log\\det A` (Harville 1997, Thm. 18.1.1).
- ``active.pair_fisher_information`` (:func:`pair_fisher_information`, :func:`draw_pair`): the
  Hessian of a pair's Bradley-Terry negative log-likelihood is :math:`p(1-p)xx^T` for either label
  (McCullagh and Nelder 1989, Sec. 4.4), against central finite differences.
- ``active.greedy_d_optimal_is_logdet_argmax`` (:func:`greedy_d_optimal_is_logdet_argmax`,
  :func:`draw_pool`): the pair chosen by the ``"d_optimal"`` rule maximises the exact
  :math:`\\log\\det` of the Fisher-weighted design over the pool (Kveton et al. 2025, Sec. 4).
- ``active.label_entropy_formula`` (:func:`label_entropy_formula`, :func:`draw_margins`): the
  log-space entropy of a Bradley-Terry label equals :math:`-p\\log p - (1-p)\\log(1-p)` computed
  with 60 digits (the score of Muldrew et al. 2024, read on a bandit).
"""

from __future__ import annotations

import mpmath
import numpy as np
from scipy.special import log_expit

from prefrl.active import (
    all_pairs,
    fisher_weights,
    label_entropy,
    logdet_increments,
    select_pair,
)
from prefrl.registry import theorem


def draw_design(rng: np.random.Generator) -> dict:
    """An SPD design (ill-conditioned at times), candidate rows (zeros included) and weights >= 0."""
    d = int(rng.integers(1, 5))
    B = rng.normal(size=(d, d)) * float(rng.choice([1e-3, 1.0, 10.0]))
    A = B @ B.T + float(rng.choice([1e-6, 1e-2, 1.0])) * np.eye(d)
    n = int(rng.integers(1, 6))
    X = rng.normal(size=(n, d)) * float(rng.choice([0.0, 1.0, 100.0]))
    w = rng.random(n) * float(rng.choice([0.0, 0.25]))
    return {"A": A, "X": X, "w": w}


@theorem(
    "active.determinant_lemma_increment",
    claim="log(1 + w x^T A^{-1} x) = log det(A + w x x^T) - log det A for every candidate row",
    reference="Harville 1997, Thm. 18.1.1 (the matrix determinant lemma); Kveton et al. 2025, "
    "Sec. 4 (greedy D-optimal design)",
    draw=draw_design,
    tolerance=1e-7,
)
def determinant_lemma_increment(inst: dict) -> float:
    """Largest relative gap between the lemma and a direct slogdet difference."""
    A, X, w = inst["A"], inst["X"], inst["w"]
    fast = logdet_increments(A, X, w)
    base = np.linalg.slogdet(A)[1]
    direct = np.array([np.linalg.slogdet(A + wk * np.outer(x, x))[1] - base for x, wk in zip(X, w)])
    return float(np.max(np.abs(fast - direct) / (1.0 + np.abs(direct))))


def draw_pair(rng: np.random.Generator) -> dict:
    """A difference row and a parameter: zero rows, moderate and large margins."""
    d = int(rng.integers(1, 4))
    x = rng.normal(size=d) * float(rng.choice([0.0, 0.5, 1.0, 3.0]))
    theta = rng.normal(size=d) * float(rng.choice([0.0, 1.0, 4.0]))
    return {"x": x, "theta": theta}


def _nll(theta: np.ndarray, x: np.ndarray, label: int) -> float:
    z = float(x @ theta)
    return -(log_expit(z) if label else log_expit(-z))


@theorem(
    "active.pair_fisher_information",
    claim="the Hessian of a pair's Bradley-Terry negative log-likelihood is p(1-p) x x^T for "
    "either label (so it is the Fisher information), p = sigma(x . theta)",
    reference="McCullagh and Nelder 1989, Sec. 4.4 (logistic regression); Bradley and Terry 1952",
    draw=draw_pair,
    tolerance=1e-5,
)
def pair_fisher_information(inst: dict) -> float:
    """Gap between p(1-p) xx^T and central second differences of the log-likelihood."""
    x, theta = inst["x"], inst["theta"]
    d = x.size
    closed = fisher_weights(x[None, :], theta)[0] * np.outer(x, x)
    h = 1e-4
    worst = 0.0
    for label in (0, 1):
        H = np.empty((d, d))
        for i in range(d):
            for j in range(d):
                ei, ej = np.eye(d)[i] * h, np.eye(d)[j] * h
                H[i, j] = (
                    _nll(theta + ei + ej, x, label)
                    - _nll(theta + ei - ej, x, label)
                    - _nll(theta - ei + ej, x, label)
                    + _nll(theta - ei - ej, x, label)
                ) / (4 * h * h)
        worst = max(worst, float(np.max(np.abs(H - closed)) / (1.0 + float(x @ x))))
    return worst


def draw_pool(rng: np.random.Generator) -> dict:
    """Features (repeated rows and zero features included), a pool, an estimate and labelled rows."""
    K, d = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    phi = rng.normal(size=(K, d))
    if rng.random() < 0.3:
        phi[1] = phi[0]  # a pair with x = 0
    if rng.random() < 0.2:
        phi[:, 0] = 1.0  # an unidentified direction
    pool = all_pairs(K)
    if rng.random() < 0.5 and len(pool) > 1:
        pool = pool[rng.choice(len(pool), size=int(rng.integers(1, len(pool) + 1)), replace=False)]
    theta = rng.normal(size=d) * float(rng.choice([0.0, 1.0, 5.0]))
    t = int(rng.integers(0, 6))
    labelled = rng.normal(size=(t, d))
    l2 = float(rng.choice([1e-3, 0.1, 1.0]))
    return {"phi": phi, "pool": pool, "theta": theta, "labelled": labelled, "l2": l2}


@theorem(
    "active.greedy_d_optimal_is_logdet_argmax",
    claim="the 'd_optimal' rule picks a pool pair maximising log det(A + w x x^T), A = l2 I + "
    "sum_t w_t x_t x_t^T, w = sigma'(x . theta), computed directly",
    reference="Kveton et al. 2025 (Active Learning for Direct Preference Optimization), Sec. 4",
    draw=draw_pool,
    tolerance=1e-9,
)
def greedy_d_optimal_is_logdet_argmax(inst: dict) -> float:
    """max over the pool of the direct log det minus the chosen pair's (0 when it is an argmax)."""
    phi, pool, theta, L, l2 = (inst[k] for k in ("phi", "pool", "theta", "labelled", "l2"))
    d = phi.shape[1]

    def weight(x):
        z = float(x @ theta)
        return float(np.exp(log_expit(z) + log_expit(-z)))

    A = l2 * np.eye(d)
    for x in L:
        A = A + weight(x) * np.outer(x, x)
    values = []
    for a, b in pool:
        x = phi[a] - phi[b]
        values.append(np.linalg.slogdet(A + weight(x) * np.outer(x, x))[1])
    values = np.array(values)
    k = select_pair("d_optimal", phi, pool, theta, L, l2=l2)
    return float((values.max() - values[k]) / (1.0 + abs(values.max())))


def draw_margins(rng: np.random.Generator) -> dict:
    """Margins z = x . theta: zero, tiny, moderate, large (up to 700) and negative."""
    z = rng.normal(size=int(rng.integers(1, 8))) * float(rng.choice([1e-8, 1.0, 10.0, 300.0]))
    z = np.clip(z, -690.0, 690.0)  # beyond, the entropy z e^{-z} is a subnormal float
    if rng.random() < 0.3:
        z[0] = 0.0
    return {"z": z}


@theorem(
    "active.label_entropy_formula",
    claim="label_entropy equals -p log p - (1-p) log(1-p), p = sigma(z), to 1e-12 relative, "
    "for margins from 0 to 690",
    reference="Muldrew et al. 2024 (Active Preference Learning for Large Language Models): the "
    "predictive-entropy acquisition, for a Bradley-Terry label",
    draw=draw_margins,
    tolerance=1e-12,
)
def label_entropy_formula(inst: dict) -> float:
    """Largest relative gap between label_entropy and the binary entropy with 60 digits."""
    z = inst["z"]
    ours = label_entropy(z[:, None], np.array([1.0]))
    worst = 0.0
    with mpmath.workdps(60):
        for zi, oi in zip(z, ours):
            zm = mpmath.mpf(float(zi))
            p, q = 1 / (1 + mpmath.exp(-zm)), 1 / (1 + mpmath.exp(zm))  # q is not 1 - p: it rounds
            # -log p = log(1 + e^{-z}), computed so that it keeps its digits when p is near 1
            hf = float(p * mpmath.log1p(mpmath.exp(-zm)) + q * mpmath.log1p(mpmath.exp(zm)))
            worst = max(worst, abs(oi - hf) / hf)
    return worst
