r"""Reward-model over-optimisation on a bandit: gold value along the exact KL-regularised path.

Papers
------
* Gao, Schulman and Hilton (2023), "Scaling Laws for Reward Model Overoptimization": optimising a
  proxy reward raises the gold reward up to a point, then lowers it; the peak moves out with the
  reward model's data.
* Fu, Zhao, Yao, Wang, Han and Xiao (2025), "Reward Shaping to Mitigate Reward Hacking in RLHF"
  (PAR, the bounded transform, reused from :func:`prefrl.bandits.preference_as_reward`).
* Coste, Anwar, Kirk and Krueger (2024), "Reward Model Ensembles Help Mitigate Overoptimization"
  (the worst-case ensemble: the minimum over reward models).

The path and its peak (derived)
-------------------------------
With a proxy :math:`r` and :math:`\pi_\beta = \pi_{ref} e^{r/\beta}/Z` (:func:`prefrl.policies.gibbs`),
write :math:`t = 1/\beta`. Then :math:`\partial_t \pi_t(y) = \pi_t(y)(r(y) - \mathbb{E}_{\pi_t} r)`,
so for any function :math:`g`

.. math::
    \frac{d}{dt}\mathbb{E}_{\pi_t} g = \mathrm{Cov}_{\pi_t}(g, r), \qquad
    \frac{d}{dt}\mathrm{KL}(\pi_t\|\pi_{ref}) = t\,\mathrm{Var}_{\pi_t}(r) \ge 0 .

With :math:`g = r^*` the gold value rises while :math:`\mathrm{Cov}_{\pi_t}(r^*, r) > 0` and falls
after; an interior peak is a zero of that covariance. KL grows with :math:`t`, so the gold value
is a function of KL along the path (the axis of the over-optimisation plots).

Public functions and results
----------------------------
* :func:`correlated_proxy` -- :math:`r = \rho z(r^*) + \sqrt{1-\rho^2}\,\xi`, exact correlation
  :math:`\rho` under :math:`\pi_{ref}`;
* :func:`bt_proxy` -- a Bradley-Terry fit from ``n_samples`` comparisons sampled under
  BT(:math:`r^*`); :func:`bootstrap_proxies` -- fits on bootstrap resamples (the ensemble);
* :func:`par_reward` -- PAR's bounded transform against the reference policy;
* :func:`gold_value_derivative` -- :math:`\mathrm{Cov}_{\pi_\beta}(r^*, r)`;
* :func:`overoptimization_curve` -> :class:`OveroptimizationCurve`;
* :func:`kl_budget_policy` -> :class:`KLBudgetResult` (stop the path at a KL budget).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
)
from ..bandits import preference_as_reward
from ..bradley_terry import bt_mle
from ..policies import gibbs, kl
from ..preferences import bradley_terry, sample_comparisons
from ..results import Result

__all__ = [
    "KLBudgetResult",
    "OveroptimizationCurve",
    "bootstrap_proxies",
    "bt_proxy",
    "correlated_proxy",
    "gold_value_derivative",
    "kl_budget_policy",
    "overoptimization_curve",
    "par_reward",
]


def _check_pair(pi_ref, gold, proxy):
    pi_ref = check_distribution(pi_ref, "pi_ref")
    K = pi_ref.size
    gold = check_array(gold, "gold", ndim=1, shape=(K,), like="pi_ref")
    proxy = check_array(proxy, "proxy", ndim=1, shape=(K,), like="pi_ref")
    return pi_ref, gold, proxy


def _cov(p: np.ndarray, f: np.ndarray, g: np.ndarray) -> float:
    return float(p @ ((f - p @ f) * (g - p @ g)))


def correlated_proxy(gold, rho, rng, pi_ref=None) -> np.ndarray:
    r"""A proxy reward with correlation exactly :math:`\rho` to the gold reward under :math:`\pi_{ref}`.

    .. math::
        r = \rho\, z(r^*) + \sqrt{1 - \rho^2}\; \tilde\xi, \qquad
        z(f) = \frac{f - \mathbb{E}_{\pi_{ref}} f}{\mathrm{sd}_{\pi_{ref}}(f)},

    where :math:`\xi \sim \mathcal N(0, I_K)` and :math:`\tilde\xi` is :math:`\xi` centred,
    made orthogonal to :math:`z(r^*)` and scaled to unit variance, all under :math:`\pi_{ref}`. So
    :math:`\mathbb{E}_{\pi_{ref}} r = 0`, :math:`\mathrm{Var}_{\pi_{ref}} r = 1` and
    :math:`\mathrm{Corr}_{\pi_{ref}}(r, r^*) = \rho` exactly (the standardised noisy proxy of the
    over-optimisation studies, e.g. Gao et al. 2023, made exact).

    Parameters
    ----------
    gold : array, shape (K,)
        :math:`r^*`, not constant on the support of ``pi_ref``.
    rho : float in [-1, 1]
    rng : numpy Generator or int seed
        Required (the noise is sampled).
    pi_ref : array, shape (K,), optional
        Uniform by default. The support needs three items unless :math:`|\rho| = 1`.

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> r = correlated_proxy([0.0, 1.0, 2.0, 3.0], 0.5, rng=0)
    >>> z = (np.arange(4) - 1.5) / np.std(np.arange(4))
    >>> round(float(np.mean(r * z)), 6), round(float(np.mean(r ** 2)), 6)
    (0.5, 1.0)
    """
    g = check_array(gold, "gold", ndim=1)
    rho = check_in_range(rho, "rho", -1.0, 1.0)
    rng = as_rng(rng)
    p = (
        np.full(g.size, 1.0 / g.size)
        if pi_ref is None
        else check_distribution(pi_ref, "pi_ref", size=g.size)
    )
    var = _cov(p, g, g)
    if not var > 1e-24 * (1.0 + float(np.max(np.abs(g)))) ** 2:
        raise ValueError(
            "gold is constant on the support of pi_ref: its correlation with a proxy is undefined"
        )
    z = (g - p @ g) / np.sqrt(var)
    xi = rng.standard_normal(g.size)
    if abs(rho) == 1.0:
        return rho * z
    xi = xi - p @ xi
    xi = xi - (p @ (xi * z)) * z
    nv = float(p @ xi**2)
    if not nv > 1e-20:
        raise ValueError(
            "pi_ref must put mass on at least three items when |rho| < 1 (the "
            "noise has no direction orthogonal to gold)"
        )
    return rho * z + np.sqrt(1.0 - rho**2) * xi / np.sqrt(nv)


def bt_proxy(gold, mu, n_samples, rng, *, l2: float = 0.1) -> np.ndarray:
    r"""A Bradley-Terry reward model fitted to comparisons sampled under BT(gold).

    .. math::
        y, y' \sim \mu,\quad P(y \succ y') = \sigma(r^*(y) - r^*(y')),\qquad
        \hat r = \arg\min_r -\sum_k \log\sigma(r(y^w_k) - r(y^l_k)) + \tfrac{\lambda}{2}\|r\|^2,

    the reward step of RLHF (Ouyang et al. 2022, Eq. 1), by
    :func:`prefrl.preferences.sample_comparisons` and :func:`prefrl.bradley_terry.bt_mle`. The
    ridge keeps the fit finite for small ``n_samples`` (items never compared get reward 0).

    Parameters
    ----------
    gold : array, shape (K,)
    mu : array, shape (K,)
        The distribution the compared responses are drawn from.
    n_samples : int >= 1
    rng : numpy Generator or int seed
        Required (comparisons are sampled).
    l2 : float > 0

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> r = bt_proxy([0.0, 1.0, 2.0], [1/3, 1/3, 1/3], 3000, rng=0)
    >>> bool(r[0] < r[1] < r[2])
    True
    """
    mu = check_distribution(mu, "mu")
    g = check_array(gold, "gold", ndim=1, shape=mu.shape, like="mu")
    n = check_integer(n_samples, "n_samples", minimum=1)
    l2 = check_positive(l2, "l2")
    w, lo = sample_comparisons(bradley_terry(g), mu, n, as_rng(rng))
    return bt_mle(w, lo, g.size, l2=l2).rewards


def bootstrap_proxies(winners, losers, n_actions, n_models, rng, *, l2: float = 0.1) -> np.ndarray:
    r"""Bradley-Terry fits on bootstrap resamples of one comparison set (a reward-model ensemble).

    .. math::
        \hat r_m = \mathrm{BT}\big(\{(y^w_{k}, y^l_{k}) : k \in B_m\}\big), \qquad
        B_m \text{ drawn with replacement from } \{1..n\},\ m = 1..M;

    the conservative ensemble reward is ``proxies.min(axis=0)`` (Coste et al. 2024, worst-case
    optimisation). Each fit is :func:`prefrl.bradley_terry.bt_mle` with ridge ``l2``.

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    n_actions : int >= 1
    n_models : int >= 1
    rng : numpy Generator or int seed
        Required (resampling).
    l2 : float > 0

    Returns
    -------
    array, shape (M, K)

    Examples
    --------
    >>> R = bootstrap_proxies([0, 0, 1, 2], [1, 2, 2, 0], 3, n_models=4, rng=0)
    >>> R.shape
    (4, 3)
    """
    w = check_array(winners, "winners", ndim=1, dtype=None)
    lo = check_array(losers, "losers", ndim=1, dtype=None, shape=w.shape, like="winners")
    K = check_integer(n_actions, "n_actions", minimum=1)
    M = check_integer(n_models, "n_models", minimum=1)
    l2 = check_positive(l2, "l2")
    rng = as_rng(rng)
    out = np.empty((M, K))
    for m in range(M):
        idx = rng.integers(0, w.size, size=w.size)
        out[m] = bt_mle(w[idx], lo[idx], K, l2=l2).rewards
    return out


def par_reward(proxy, pi_ref) -> np.ndarray:
    r"""PAR's bounded transform of a proxy, centred on the reference policy's responses.

    .. math::
        r_{PAR}(y) = \sum_{y'} \pi_{ref}(y')\, \sigma\big(r(y) - r(y')\big) \in (0, 1),

    the limit of :func:`prefrl.bandits.preference_as_reward` with many reference samples
    :math:`y' \sim \pi_{ref}` (Fu et al. 2025, the PAR shaping). Strictly increasing in :math:`r`,
    so its Gibbs path ends where the proxy's does; it moves along it more slowly in :math:`\beta`.

    Parameters
    ----------
    proxy : array, shape (K,)
    pi_ref : array, shape (K,)

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> par_reward([0.0, 0.0], [0.5, 0.5])
    array([0.5, 0.5])
    """
    pi_ref = check_distribution(pi_ref, "pi_ref")
    r = check_array(proxy, "proxy", ndim=1, shape=(pi_ref.size,), like="pi_ref")
    each = np.stack([preference_as_reward(r, r[j : j + 1]) for j in range(r.size)], axis=1)
    return each @ pi_ref


def gold_value_derivative(pi_ref, gold, proxy, beta) -> float:
    r"""The slope of the gold value in the inverse KL weight: a covariance under :math:`\pi_\beta`.

    .. math::
        \frac{d}{d(1/\beta)}\, \mathbb{E}_{\pi_\beta} r^* = \mathrm{Cov}_{\pi_\beta}(r^*, r),
        \qquad \pi_\beta = \frac{\pi_{ref}\, e^{r/\beta}}{Z},

    derived in the module docstring (the score of the exponential family). Positive before the
    over-optimisation peak, zero at an interior peak, negative after it.

    Parameters
    ----------
    pi_ref, gold, proxy : arrays, shape (K,)
    beta : float > 0

    Returns
    -------
    float

    Examples
    --------
    >>> round(gold_value_derivative([0.5, 0.5], [1.0, 0.0], [1.0, 0.0], 1.0), 6)
    0.196612
    """
    pi_ref, gold, proxy = _check_pair(pi_ref, gold, proxy)
    return _cov(gibbs(pi_ref, proxy, check_positive(beta, "beta")), gold, proxy)


@dataclass(frozen=True, eq=False)
class OveroptimizationCurve(Result):
    r"""Gold and proxy values along the KL-regularised path of a proxy (:func:`overoptimization_curve`).

    Attributes
    ----------
    betas : array, shape (n,)
        The KL weights, sorted from large to small.
    kl : array, shape (n,)
        :math:`\mathrm{KL}(\pi_\beta\|\pi_{ref})`, nondecreasing.
    gold_value, proxy_value : arrays, shape (n,)
        :math:`\mathbb{E}_{\pi_\beta} r^*` and :math:`\mathbb{E}_{\pi_\beta} r`.
    covariance : array, shape (n,)
        :math:`\mathrm{Cov}_{\pi_\beta}(r^*, r)`, the slope of ``gold_value`` in :math:`1/\beta`.
    peak : dict
        ``beta``, ``kl``, ``gold_value``, ``proxy_value`` at the maximiser of the gold value over
        :math:`1/\beta` in the grid's range, refined to a zero of the covariance when interior;
        ``interior`` (bool).
    policy : array, shape (K,)
        :math:`\pi_\beta` at the peak.
    iterations : int
        Root-finder iterations of the refinement (0 at an end of the range).
    converged : bool
    certificate : float
        The optimality residual at the peak: :math:`|\mathrm{Cov}|` inside the range; at an end,
        the covariance's wrong-signed part (0 when the end is a one-sided maximum).
    """

    betas: np.ndarray
    kl: np.ndarray
    gold_value: np.ndarray
    proxy_value: np.ndarray
    covariance: np.ndarray
    peak: dict
    policy: np.ndarray
    iterations: int
    converged: bool
    certificate: float


def _path_point(pi_ref, gold, proxy, t):
    p = gibbs(pi_ref, proxy, 1.0 / t)
    return p, float(p @ gold), float(p @ proxy), _cov(p, gold, proxy)


def overoptimization_curve(pi_ref, gold, proxy, betas) -> OveroptimizationCurve:
    r"""The over-optimisation curve: gold value against KL along the exact path of a proxy.

    .. math::
        \pi_\beta = \frac{\pi_{ref}\, e^{r/\beta}}{Z_\beta}, \quad
        \beta_1 > \dots > \beta_n, \qquad
        \big(\mathrm{KL}(\pi_\beta\|\pi_{ref}),\ \mathbb{E}_{\pi_\beta} r^*\big),

    the maximiser of :math:`\mathbb{E}_\pi r - \beta\mathrm{KL}(\pi\|\pi_{ref})` (Rafailov et al.
    2023, Eq. 4) for each KL weight, scored by the gold reward :math:`r^*`, as in the
    over-optimisation plots of Gao et al. (2023). The peak is the maximiser of the gold value over
    :math:`t = 1/\beta \in [1/\beta_1, 1/\beta_n]`: the grid's best point, refined (Brent's method)
    to the zero of :math:`\mathrm{Cov}_{\pi_t}(r^*, r)` between it and a neighbour where the
    covariance changes sign from positive to negative.

    Parameters
    ----------
    pi_ref : array, shape (K,)
    gold : array, shape (K,)
        :math:`r^*`.
    proxy : array, shape (K,)
        :math:`r`, the reward being optimised.
    betas : array, shape (n,), entries > 0
        The KL weights (any order; sorted from large to small).

    Returns
    -------
    OveroptimizationCurve

    Examples
    --------
    >>> res = overoptimization_curve([0.25] * 4, [0.0, 1.0, 2.0, 0.5], [0.0, 1.0, 2.0, 3.0],
    ...                              np.logspace(1, -2, 40))
    >>> res.peak["interior"], round(res.peak["gold_value"], 4), round(res.certificate, 12)
    (True, 0.9473, 0.0)
    """
    pi_ref, gold, proxy = _check_pair(pi_ref, gold, proxy)
    b = check_array(betas, "betas", ndim=1)
    if (b <= 0).any():
        i = int(np.argmax(b <= 0))
        raise ValueError(f"betas[{i}] = {b[i]:.6g}, must be > 0")
    b = np.sort(b)[::-1]
    t = 1.0 / b
    pts = [_path_point(pi_ref, gold, proxy, ti) for ti in t]
    pols = [p[0] for p in pts]
    G = np.array([p[1] for p in pts])
    R = np.array([p[2] for p in pts])
    C = np.array([p[3] for p in pts])
    klv = np.array([kl(p, pi_ref) for p in pols])
    i = int(np.argmax(G))
    scale = 1e-12 * (1.0 + np.max(np.abs(gold))) * (1.0 + np.max(np.abs(proxy)))
    lo_hi = None
    if C[i] > 0 and i + 1 < t.size and C[i + 1] < 0:
        lo_hi = (t[i], t[i + 1])
    elif C[i] < 0 and i > 0 and C[i - 1] > 0:
        lo_hi = (t[i - 1], t[i])
    if lo_hi is not None and abs(C[i]) > scale:
        ts, info = brentq(
            lambda s: _path_point(pi_ref, gold, proxy, s)[3],
            *lo_hi,
            xtol=1e-14 * lo_hi[1],
            rtol=4 * np.finfo(float).eps,
            full_output=True,
        )
        p, g, r, c = _path_point(pi_ref, gold, proxy, ts)
        interior, iters, cert, conv = True, int(info.iterations), abs(c), bool(info.converged)
    else:
        ts, p, g, r, c = t[i], pols[i], G[i], R[i], C[i]
        interior = 0 < i < t.size - 1 or (lo_hi is not None)
        iters, conv = 0, True
        if interior:
            cert = abs(c)
        elif i == t.size - 1:
            cert = max(0.0, -c) if t.size > 1 else 0.0
        else:
            cert = max(0.0, c)
    peak = {
        "beta": float(1.0 / ts),
        "kl": float(kl(p, pi_ref)),
        "gold_value": float(g),
        "proxy_value": float(r),
        "interior": bool(interior),
    }
    return OveroptimizationCurve(
        betas=b,
        kl=klv,
        gold_value=G,
        proxy_value=R,
        covariance=C,
        peak=peak,
        policy=p,
        iterations=iters,
        converged=conv,
        certificate=float(cert),
    )


@dataclass(frozen=True, eq=False)
class KLBudgetResult(Result):
    r"""The point of a KL-regularised path at a KL budget (:func:`kl_budget_policy`).

    Attributes
    ----------
    policy : array, shape (K,)
    beta : float
        The KL weight with :math:`\mathrm{KL}(\pi_\beta\|\pi_{ref})` = ``budget`` (``inf`` when the
        budget is 0, 0 when the budget is at least the path's limit KL).
    kl : float
    iterations : int
    converged : bool
    certificate : float
        :math:`|\mathrm{KL} - \text{budget}|` (0 when the budget is not binding).
    """

    policy: np.ndarray
    beta: float
    kl: float
    iterations: int
    converged: bool
    certificate: float


def kl_budget_policy(pi_ref, proxy, budget) -> KLBudgetResult:
    r"""Stop the KL-regularised path of a proxy where its KL reaches a budget.

    .. math::
        \pi = \pi_{\beta_\epsilon}, \qquad
        \beta_\epsilon:\ \mathrm{KL}(\pi_{\beta_\epsilon}\|\pi_{ref}) = \epsilon,

    the maximiser of :math:`\mathbb{E}_\pi r` subject to :math:`\mathrm{KL}(\pi\|\pi_{ref}) \le
    \epsilon` (Lagrange duality; :math:`\beta_\epsilon` is the multiplier). KL increases in
    :math:`1/\beta` (module docstring) from 0 to :math:`-\log \pi_{ref}(\arg\max r)`, so the root is
    unique; a budget at or beyond that limit returns the limit policy (:math:`\pi_{ref}` restricted
    to the proxy's maximisers) with ``beta`` 0. The KL budget is the first mitigation of
    over-optimisation (Gao et al. 2023 plot gold against this KL).

    Parameters
    ----------
    pi_ref, proxy : arrays, shape (K,)
    budget : float >= 0

    Returns
    -------
    KLBudgetResult

    Examples
    --------
    >>> res = kl_budget_policy([0.5, 0.5], [1.0, 0.0], 0.1)
    >>> round(res.kl, 10), round(res.beta, 4)
    (0.1, 1.0599)
    """
    pi_ref = check_distribution(pi_ref, "pi_ref")
    r = check_array(proxy, "proxy", ndim=1, shape=(pi_ref.size,), like="pi_ref")
    eps = check_nonnegative(budget, "budget")
    on = pi_ref > 0
    top = on & (r >= np.max(r[on]))
    limit = pi_ref * top / pi_ref[top].sum()
    kl_max = float(kl(limit, pi_ref))
    if eps == 0.0:
        return KLBudgetResult(pi_ref.copy(), float("inf"), 0.0, 0, True, 0.0)
    if eps >= kl_max:
        return KLBudgetResult(limit, 0.0, kl_max, 0, True, 0.0)
    spread = float(np.max(r[on]) - np.min(r[on]))

    def gap(log_t):
        return kl(gibbs(pi_ref, r, np.exp(-log_t)), pi_ref) - eps

    lo, hi = np.log(1e-6 / spread), np.log(1.0 / spread)
    while gap(hi) < 0:
        lo, hi = hi, hi + 2.0
    while gap(lo) > 0:
        lo -= 2.0
    lt, info = brentq(gap, lo, hi, xtol=1e-13, full_output=True)
    p = gibbs(pi_ref, r, np.exp(-lt))
    v = float(kl(p, pi_ref))
    return KLBudgetResult(
        p, float(np.exp(-lt)), v, int(info.iterations), bool(info.converged), abs(v - eps)
    )
