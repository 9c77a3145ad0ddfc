r"""DPO, RLHF and IPO as loss minimisers: population and dataset optima, population losses.

Papers
------
* Rafailov, Sharma, Mitchell, Ermon, Manning and Finn (2023), "Direct Preference Optimization:
  Your Language Model is Secretly a Reward Model" (NeurIPS): the DPO loss (Eq. 7), the RLHF
  pipeline (Eqs. 2-4).
* Azar, Guo, Piot, Munos, Rowland, Valko and Calandriello (2024), "A General Theoretical Paradigm
  to Understand Learning from Human Preferences" (AISTATS; the IPO paper): the population DPO loss
  (Eq. 5) and Prop. 4 (its minimiser is the Gibbs tilt of the population Bradley-Terry MLE), DPO's
  overfitting on deterministic preferences (Sec. 4.2), the IPO losses (Eqs. 13, 16, 17), Prop. 3,
  the non-uniqueness example of App. A.2.
* Soudry, Hoffer, Nacson, Gunasekar and Srebro (2018), "The Implicit Bias of Gradient Descent on
  Separable Data" (JMLR), and Ji and Telgarsky (2019), "The Implicit Bias of Gradient Descent on
  Nonseparable Data" (COLT): the max-margin direction along which DPO's logits diverge.

Public functions
----------------
* :func:`dpo_population_optimum` -- minimiser of the population DPO loss (Eq. 5, Prop. 4);
* :func:`dpo_dataset_optimum` -- minimiser of the empirical DPO loss (DPO Eq. 7);
* :func:`rlhf_optimum` -- ridge Bradley-Terry reward, then its Gibbs policy (DPO Eqs. 2-4);
* :func:`ipo_dataset_optimum` -- minimiser of the empirical IPO loss (Eq. 17), least squares on the
  comparison graph;
* :func:`dpo_population_loss` -- the population DPO loss (Eq. 5), per pair
  :func:`prefrl.losses.dpo`;
* :func:`ipo_population_loss` -- the population IPO loss, Eq. 13 or Eq. 16.

The Bradley-Terry fits are :func:`prefrl.bradley_terry.bt_mle_counts` (one damped Newton). Under-
determined problems return the minimum-norm log-ratio offset with ``unique=False``; a divergent
DPO returns the limit policy along the max-margin direction with ``exists=False`` (see the
package docstring).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components

from .._validation import check_indices, check_nonnegative, check_positive
from ..bradley_terry import BTFit, bt_mle_counts, comparison_counts
from ..losses import dpo as _dpo_loss
from ..policies import gibbs, soft_value
from ._common import _check_policy_like, _check_ref_on, _population_args
from ._results import BanditOptimum

__all__ = [
    "dpo_dataset_optimum",
    "dpo_population_loss",
    "dpo_population_optimum",
    "ipo_dataset_optimum",
    "ipo_population_loss",
    "rlhf_optimum",
]


def _policy_from_fit(fit: BTFit, pi_ref: np.ndarray, beta: float) -> np.ndarray:
    """Gibbs tilt of the fitted reward; for a divergent fit, the limit along the direction."""
    if fit.exists:
        return gibbs(pi_ref, fit.rewards, beta)
    d = fit.direction
    on = pi_ref > 0
    top = on & (d >= d[on].max() - 1e-9)
    ref_top = np.where(top, pi_ref, 0.0)
    return gibbs(ref_top / ref_top.sum(), fit.rewards, beta)


def _unique_policy(components: np.ndarray, pi_ref: np.ndarray) -> bool:
    return np.unique(components[pi_ref > 0]).size <= 1


def _from_fit(fit: BTFit, pi_ref, beta, value: float, unique: bool) -> BanditOptimum:
    """The optimum of one context from its Bradley-Terry fit (DPO and RLHF alike)."""
    return BanditOptimum(
        policy=_policy_from_fit(fit, pi_ref, beta),
        value=value,
        iterations=fit.iterations,
        certificate=fit.certificate,
        exists=fit.exists,
        unique=unique,
        reward=fit.rewards,
        direction=fit.direction,
        components=fit.components,
        converged=fit.converged,
    )


def _finish_dpo(fit: BTFit, pi_ref, beta, total: float) -> BanditOptimum:
    value = float(fit.value / total) if total > 0 else 0.0
    unique = fit.exists and _unique_policy(fit.components, pi_ref)
    return _from_fit(fit, pi_ref, beta, value, unique)


def _stack(results: list[BanditOptimum]) -> BanditOptimum:
    """One result with a context axis from one result per context."""
    def arr(name):
        vals = [getattr(r, name) for r in results]
        return None if any(v is None for v in vals) else np.stack(vals)

    return BanditOptimum(
        policy=np.stack([r.policy for r in results]),
        value=np.array([r.value for r in results], dtype=float),
        iterations=int(max(r.iterations for r in results)),
        certificate=float(max(r.certificate for r in results)),
        exists=all(r.exists for r in results),
        unique=all(r.unique for r in results),
        reward=arr("reward"),
        direction=arr("direction"),
        components=arr("components"),
        converged=all(r.converged for r in results),
    )


def _dataset_args(winners, losers, pi_ref, contexts):
    """Validate a comparison dataset; return ``[(winners, losers, pi_ref)]`` per context."""
    pi_ref = _check_policy_like(pi_ref, "pi_ref")
    K = pi_ref.shape[-1]
    w = check_indices(winners, "winners", K)
    lo = check_indices(losers, "losers", K)
    if w.shape != lo.shape:
        raise ValueError(f"winners and losers must have the same length, got {w.size} and {lo.size}")
    if contexts is None:
        if pi_ref.ndim != 1:
            raise ValueError("pi_ref has a context axis: pass contexts (one per comparison)")
        return [(w, lo, pi_ref)], False
    if pi_ref.ndim != 2:
        raise ValueError(f"with contexts, pi_ref must have shape (S, K), got {pi_ref.shape}")
    c = check_indices(contexts, "contexts", pi_ref.shape[0])
    if c.shape != w.shape:
        raise ValueError(f"contexts must have the length of winners ({w.size}), got {c.size}")
    return [(w[c == s], lo[c == s], pi_ref[s]) for s in range(pi_ref.shape[0])], True


def _check_ref_on_compared(pi_ref: np.ndarray, winners: np.ndarray, losers: np.ndarray) -> None:
    K = pi_ref.size
    _check_ref_on(pi_ref, np.isin(np.arange(K), np.concatenate([winners, losers])))


def dpo_population_optimum(P, mu, pi_ref, beta) -> BanditOptimum:
    r"""Minimiser of the population DPO loss: the Gibbs tilt of the population BT-MLE reward.

    .. math::
        \min_\pi\; \sum_{y, y'} \mu(y)\mu(y')\, P[y, y']
        \big(-\log \sigma(\beta\, h_\pi(y, y'))\big), \qquad
        \pi^* = \frac{\pi_{ref}\, e^{\hat r/\beta}}{Z},\quad
        \hat r = \arg\min_r \sum_{y, y'} \mu(y)\mu(y') P[y, y'] \big(-\log\sigma(r(y) - r(y'))\big),

    where :math:`h_\pi(y, y') = \log\frac{\pi(y)}{\pi_{ref}(y)} - \log\frac{\pi(y')}{\pi_{ref}(y')}`,
    :math:`\mu` the behaviour distribution, :math:`P[y, y'] = p^*(y \succ y')`, :math:`\sigma` the
    logistic function and :math:`\beta` the KL weight (the IPO paper's :math:`\tau`). Azar et al.
    (2024), Eq. 5 and Prop. 4: this holds for any :math:`P`, Bradley-Terry or not. When the BT-MLE
    does not exist (deterministic preferences, Sec. 4.2), the limit policy is returned with
    ``exists=False``: actions that are beaten for sure get probability 0 for every ``beta``.

    Parameters
    ----------
    P : array, shape (K, K) or (S, K, K)
    mu : array, shape (K,) or (S, K)
    pi_ref : array, shape (K,) or (S, K)
        Must be positive on :math:`\mathrm{supp}(\mu)`.
    beta : float > 0

    Returns
    -------
    BanditOptimum
        With contexts, ``policy`` and ``reward`` have shape (S, K) and ``exists``/``unique`` hold
        for every context.

    Examples
    --------
    >>> P = [[0.5, 0.8], [0.2, 0.5]]
    >>> dpo_population_optimum(P, [0.5, 0.5], [0.5, 0.5], beta=1.0).policy.round(4)
    array([0.8, 0.2])
    >>> res = dpo_population_optimum([[.5, 1.], [0., .5]], [.5, .5], [.5, .5], beta=10.0)
    >>> res.exists, res.policy
    (False, array([1., 0.]))
    """
    Ps, mu, pi_ref, contextual = _population_args(P, mu, pi_ref)
    beta = check_positive(beta, "beta")
    out = []
    for s in range(Ps.shape[0]):
        _check_ref_on(pi_ref[s], mu[s] > 0)
        W = np.outer(mu[s], mu[s]) * Ps[s]
        out.append(_finish_dpo(bt_mle_counts(W, 0.0), pi_ref[s], beta, 1.0))
    return out[0] if not contextual else _stack(out)


def dpo_dataset_optimum(winners, losers, pi_ref, beta, *, contexts=None) -> BanditOptimum:
    r"""Minimiser of the empirical DPO loss on a comparison dataset.

    .. math::
        \min_\pi\; \frac{1}{n}\sum_{k=1}^n -\log \sigma\big(\beta\, h_\pi(y^w_k, y^l_k)\big),
        \qquad h_\pi(y, y') = \log\frac{\pi(y)}{\pi_{ref}(y)} - \log\frac{\pi(y')}{\pi_{ref}(y')},

    where :math:`y^w_k \succ y^l_k` are the comparisons, :math:`\sigma` the logistic function and
    :math:`\beta` the KL weight. Rafailov et al. (2023), Eq. 7 (the IPO paper's Eq. 4). Writing
    :math:`r = \beta g_\pi` turns it into the Bradley-Terry likelihood, so the minimiser is
    :math:`\pi_{ref} e^{\hat r/\beta}/Z` with :math:`\hat r` from
    :func:`prefrl.bradley_terry.bt_mle`: finite iff every connected component of the comparison
    graph is strongly connected. Otherwise (e.g. an action that never wins) the loss has no
    minimiser and the limit policy along the divergence direction is returned with
    ``exists=False``; this is DPO's overfitting (Azar et al. 2024, Sec. 4.2).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    pi_ref : array, shape (K,), or (S, K) with ``contexts``
        Must be positive on every compared action.
    beta : float > 0
    contexts : int array, shape (n,), optional
        Context of each comparison; each context is solved separately.

    Returns
    -------
    BanditOptimum
        ``value`` is the minimum (or infimum) of the mean loss, ``reward`` the BT-MLE (its finite
        part), ``direction`` the divergence direction.

    Examples
    --------
    Figure 2 of the IPO paper with the dataset {(a, c), (b, c)}: c never wins, so pi(c) = 0.

    >>> res = dpo_dataset_optimum([0, 1], [2, 2], [1/3, 1/3, 1/3], beta=1.0)
    >>> res.exists, res.policy.round(4)
    (False, array([0.5, 0.5, 0. ]))
    """
    groups, contextual = _dataset_args(winners, losers, pi_ref, contexts)
    beta = check_positive(beta, "beta")
    out = []
    for w, lo, ref in groups:
        _check_ref_on_compared(ref, w, lo)
        W = comparison_counts(w, lo, ref.size)
        out.append(_finish_dpo(bt_mle_counts(W, 0.0), ref, beta, float(w.size)))
    return _stack(out) if contextual else out[0]


def rlhf_optimum(winners, losers, pi_ref, beta, l2: float = 0.0, *, contexts=None) -> BanditOptimum:
    r"""The two-stage RLHF pipeline: a (ridge) Bradley-Terry reward, then its Gibbs policy.

    .. math::
        \hat r = \arg\min_r -\sum_k \log\sigma\big(r(y^w_k) - r(y^l_k)\big)
        + \frac{\lambda}{2}\lVert r\rVert^2, \qquad
        \pi^* = \arg\max_\pi \mathbb{E}_\pi \hat r - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})
        = \frac{\pi_{ref} e^{\hat r/\beta}}{Z},

    where :math:`\lambda` = ``l2``, :math:`\sigma` the logistic function and :math:`\beta` the KL
    weight. Rafailov et al. (2023), Eqs. 2-4; Azar et al. (2024), Sec. 4.2. With
    :math:`\lambda = 0` this equals :func:`dpo_dataset_optimum` (Prop. 4 on the empirical
    distribution); :math:`\lambda > 0` keeps the reward finite, which is what spares RLHF DPO's
    overfitting on small datasets.

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    pi_ref : array, shape (K,), or (S, K) with ``contexts``
    beta : float > 0
    l2 : float >= 0
        Ridge penalty :math:`\lambda` of the reward model.
    contexts : int array, shape (n,), optional

    Returns
    -------
    BanditOptimum
        ``value`` is the maximised regularised objective :math:`\beta\log Z` for the fitted reward.

    Examples
    --------
    >>> rlhf_optimum([0, 0, 0], [1, 1, 1], [0.5, 0.5], beta=1.0).policy   # no finite MLE
    array([1., 0.])
    >>> rlhf_optimum([0, 0, 0], [1, 1, 1], [0.5, 0.5], beta=1.0, l2=1.0).policy.round(4)
    array([0.7846, 0.2154])
    """
    groups, contextual = _dataset_args(winners, losers, pi_ref, contexts)
    beta = check_positive(beta, "beta")
    l2 = check_nonnegative(l2, "l2")
    out = []
    for w, lo, ref in groups:
        fit = bt_mle_counts(comparison_counts(w, lo, ref.size), l2)
        value = float(soft_value(ref, fit.rewards, beta)) if fit.exists else float("inf")
        unique = fit.exists and (l2 > 0 or _unique_policy(fit.components, ref))
        out.append(_from_fit(fit, ref, beta, value, unique))
    return _stack(out) if contextual else out[0]


def ipo_dataset_optimum(winners, losers, pi_ref, beta, *, contexts=None) -> BanditOptimum:
    r"""Minimiser of the empirical IPO loss: least squares on the comparison graph.

    .. math::
        \min_\pi\; \frac1n \sum_{k=1}^n \Big(h_\pi(y^w_k, y^l_k) - \frac{1}{2\beta}\Big)^2,
        \qquad h_\pi(y, y') = g(y) - g(y'),\quad g = \log\frac{\pi}{\pi_{ref}},

    Azar et al. (2024), Eq. 17 (the paper's :math:`\tau` is ``beta``; the target :math:`1/(2\beta)`
    is on the raw margin :math:`h`). The normal equations are :math:`L g = b/(2\beta)` with
    :math:`L` the Laplacian of the comparison multigraph and :math:`b_y` = wins minus losses of
    :math:`y`; the minimum-norm solution is returned. The policy is unique iff the comparison graph
    connects all of :math:`\mathrm{supp}(\pi_{ref})`; otherwise ``unique=False`` (the App. A.2
    example) and the mass of each component stays where gradient descent from :math:`\pi_{ref}`
    leaves it.

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    pi_ref : array, shape (K,), or (S, K) with ``contexts``
        Must be positive on every compared action.
    beta : float > 0
    contexts : int array, shape (n,), optional

    Returns
    -------
    BanditOptimum
        ``reward`` is :math:`\beta g`; ``certificate`` the normal-equation residual.

    Examples
    --------
    Figure 1's D1 = {(a, b), (b, c), (a, c)}: gaps :math:`1/(3\tau)`.

    >>> ipo_dataset_optimum([0, 1, 0], [1, 2, 2], [1/3] * 3, beta=0.5).policy.round(4)
    array([0.5627, 0.2889, 0.1483])
    """
    groups, contextual = _dataset_args(winners, losers, pi_ref, contexts)
    beta = check_positive(beta, "beta")
    out = []
    for w, lo, ref in groups:
        K = ref.size
        _check_ref_on_compared(ref, w, lo)
        Wc = comparison_counts(w, lo, K)
        C = Wc + Wc.T
        L = np.diag(C.sum(axis=1)) - C
        b = (Wc.sum(axis=1) - Wc.sum(axis=0)) / (2.0 * beta)
        g = np.linalg.lstsq(L, b, rcond=None)[0]
        _, comp = connected_components(C > 0, directed=False)
        for k in np.unique(comp):  # exact min-norm: zero sum per component
            m = comp == k
            g[m] -= g[m].mean()
        resid = float(np.max(np.abs(L @ g - b))) / (1.0 + float(np.max(np.abs(b))))
        h = g[w] - g[lo]
        value = float(np.mean((h - 1.0 / (2.0 * beta)) ** 2)) if w.size else 0.0
        out.append(
            BanditOptimum(
                policy=gibbs(ref, g, 1.0),
                value=value,
                iterations=0,
                certificate=resid,
                unique=_unique_policy(comp, ref),
                reward=beta * g,
                components=comp,
            )
        )
    return _stack(out) if contextual else out[0]


def _log_ratio(policy, pi_ref, support):
    _check_ref_on(pi_ref, support)
    bad = support & (policy <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"policy[{i}] = 0 on supp(mu): the log-ratio is -inf")
    g = np.zeros_like(policy)
    g[support] = np.log(policy[support]) - np.log(pi_ref[support])
    return g


def _one_context_log_ratio(caller: str, policy, P, mu, pi_ref, beta):
    """Validate the arguments of a population loss (one context); return P, mu, g, beta.

    ``g = log(policy / pi_ref)`` on the support of ``mu`` (0 elsewhere).
    """
    Ps, mu_, ref, contextual = _population_args(P, mu, pi_ref)
    if contextual:
        raise ValueError(f"{caller} takes a single context: P must have shape (K, K)")
    beta = check_positive(beta, "beta")
    policy = _check_policy_like(policy, "policy", Ps.shape[-1], "P")
    g = _log_ratio(policy, ref[0], mu_[0] > 0)
    return Ps[0], mu_[0], g, beta


def dpo_population_loss(policy, P, mu, pi_ref, beta) -> float:
    r"""The population DPO loss (Azar et al. 2024, Eq. 5).

    .. math::
        L_{DPO}(\pi) = \sum_{y, y'} \mu(y)\,\mu(y')\, P[y, y']\,
        \big(-\log \sigma(\beta\, h_\pi(y, y'))\big),

    with :math:`h_\pi(y, y') = g(y) - g(y')`, :math:`g = \log(\pi/\pi_{ref})`, :math:`\sigma` the
    logistic function, :math:`\mu` the behaviour distribution, :math:`P[y, y'] = p^*(y \succ y')`.
    The per-pair terms are :func:`prefrl.losses.dpo` (Rafailov et al. 2023, Eq. 7).

    Parameters
    ----------
    policy, mu, pi_ref : arrays, shape (K,)
        ``policy`` and ``pi_ref`` positive on :math:`\mathrm{supp}(\mu)`.
    P : array, shape (K, K)
    beta : float > 0

    Returns
    -------
    float

    Examples
    --------
    >>> round(dpo_population_loss([.5, .5], [[.5, 1.], [0., .5]], [.5, .5], [.5, .5], 1.0), 4)
    0.3466
    """
    P0, m, g, beta = _one_context_log_ratio("dpo_population_loss", policy, P, mu, pi_ref, beta)
    K = g.size
    # Every ordered pair (y, y'): chosen log-ratio g(y), rejected g(y'), with zero reference
    # log-probabilities (g already is the log-ratio), so that the per-pair loss is
    # -log sigma(beta (g(y) - g(y'))), prefrl.losses.dpo's formula.
    chosen, rejected = np.repeat(g, K), np.tile(g, K)
    zeros = np.zeros(K * K)
    per = _dpo_loss(chosen, rejected, zeros, zeros, beta=beta).reshape(K, K)
    W = np.outer(m, m) * P0
    return float((W * per).sum())


def ipo_population_loss(policy, P, mu, pi_ref, beta, *, form: str = "eq13") -> float:
    r"""The population IPO loss in either of the paper's two forms (Azar et al. 2024).

    .. math::
        \text{Eq. 13:}\quad L(\pi) = \mathbb{E}_{y, y' \sim \mu}\Big[\Big(h_\pi(y, y') -
        \frac{p^*(y \succ \mu) - p^*(y' \succ \mu)}{\beta}\Big)^2\Big],

        \text{Eq. 16:}\quad L(\pi) = \mathbb{E}_{y, y' \sim \mu}\Big[P[y, y']
        \Big(h_\pi(y, y') - \frac1\beta\Big)^2 + \big(1 - P[y, y']\big)\, h_\pi(y, y')^2\Big],

    with :math:`h_\pi(y, y') = g(y) - g(y')`, :math:`g = \log(\pi/\pi_{ref})`,
    :math:`p^*(y \succ \mu) = \sum_{y'} \mu(y') P[y, y']` and :math:`\beta` the paper's :math:`\tau`.
    Eq. 16 is the expectation of the sampled loss with :math:`I(y, y') \sim
    \mathrm{Bernoulli}(P[y, y'])`; Prop. 3 says the two differ by a constant.

    Parameters
    ----------
    policy, mu, pi_ref : arrays, shape (K,)
    P : array, shape (K, K)
    beta : float > 0
    form : {"eq13", "eq16"}

    Examples
    --------
    >>> from prefrl.bandits import ipo_optimum
    >>> P, u = [[.5, 1.], [0., .5]], [.5, .5]
    >>> pi = ipo_optimum(P, u, u, 1.0).policy
    >>> round(ipo_population_loss(pi, P, u, u, 1.0), 12)
    0.0
    """
    if form not in ("eq13", "eq16"):
        raise ValueError(f"form must be 'eq13' or 'eq16', got {form!r}")
    P0, m, g, beta = _one_context_log_ratio("ipo_population_loss", policy, P, mu, pi_ref, beta)
    h = g[:, None] - g[None, :]
    M = np.outer(m, m)
    with np.errstate(over="ignore", invalid="ignore"):
        if form == "eq13":
            wr = P0 @ m
            value = float((M * (h - (wr[:, None] - wr[None, :]) / beta) ** 2).sum())
        else:
            value = float((M * (P0 * (h - 1.0 / beta) ** 2 + (1.0 - P0) * h**2)).sum())
    if not np.isfinite(value):
        raise ValueError(f"the IPO loss overflows at beta = {beta:g}: its targets 1/beta are too "
                         "large for float64; rescale beta")
    return value


