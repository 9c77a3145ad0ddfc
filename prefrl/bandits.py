r"""Exact optima of preference-learning objectives in (contextual) bandits.

A bandit has ``K`` actions (responses) ``y``; a contextual bandit is one such bandit per context
``x``, and every population-level function here accepts a leading context axis: preference matrices
``(S, K, K)``, distributions and policies ``(S, K)``. Dataset-level functions take comparisons
``winners[k] > losers[k]`` (and optionally ``contexts[k]``).

Notation, as in Azar et al. (2024), "A General Theoretical Paradigm to Understand Learning from
Human Preferences" (the IPO paper):

* :math:`\pi_{ref}` the reference policy, :math:`\mu` the behaviour distribution of compared
  responses, :math:`P[y, y'] = p^*(y \succ y')` the preference matrix;
* :math:`g_\pi(y) = \log \pi(y) - \log \pi_{ref}(y)` the log-ratio, :math:`h_\pi(y, y') = g_\pi(y) -
  g_\pi(y')` the margin;
* ``beta`` is the KL weight, which the IPO paper calls :math:`\tau` (TRL's ``beta``).

Every solver returns a frozen :class:`BanditOptimum` (or :class:`BTFit`) holding the policy, the
objective's value, the number of iterations and a certificate: a residual of the optimality
condition that is computed, not assumed.

Conventions for under-determined problems. When the comparison graph does not connect all actions,
the losses only fix log-ratios up to a constant per connected component. We then return the
*minimum-norm* log-ratio offset (zero sum over each component, zero on actions never compared),
which is the point that gradient descent on the logits started at :math:`\pi_{ref}` converges to,
and flag ``unique=False``. When the Bradley-Terry maximum likelihood does not exist, the DPO logits
diverge; we return the limit along the max-margin ray (the direction gradient descent heads to;
Soudry et al. 2018, Ji and Telgarsky 2019) with ``exists=False`` and the ``direction``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, log_expit, logit

from ._validation import (
    check_array,
    check_indices,
    check_integer,
    check_nonnegative,
    check_positive,
    check_preference_matrix,
    check_stochastic_matrix,
)
from .bradley_terry import (
    BTFit,
    bt_mle,  # noqa: F401  (moved to prefrl.bradley_terry; importable here)
    bt_mle_counts,
    comparison_counts,
)
from .policies import gibbs, kl, log_gibbs, soft_value

__all__ = [
    "BanditOptimum",
    "dpo_dataset_optimum",
    "dpo_population_loss",
    "dpo_population_optimum",
    "ipo_dataset_optimum",
    "ipo_optimum",
    "ipo_population_loss",
    "kl_regularized_optimum",
    "psipo_objective",
    "psipo_optimum",
    "rlhf_optimum",
]


# ----------------------------------------------------------------------------------------------
# Result objects
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BanditOptimum:
    """The optimum of a bandit preference objective and what certifies it.

    Attributes
    ----------
    policy : array, shape (K,) or (S, K)
        The optimal policy (for ``exists=False``: the limit policy).
    value : float or array of shape (S,)
        The objective at the optimum: the maximised regularised objective for the population optima
        (:func:`kl_regularized_optimum`, :func:`psipo_optimum`, :func:`ipo_optimum`,
        :func:`rlhf_optimum`), the minimised (or infimum of the) mean loss for the loss minimisers
        (:func:`dpo_population_optimum`, :func:`dpo_dataset_optimum`, :func:`ipo_dataset_optimum`).
    iterations : int
        Solver iterations (0 for closed forms).
    certificate : float
        Largest residual of the optimality condition, computed on the returned solution.
    exists : bool
        Whether a finite optimum is attained (False when DPO's logits diverge).
    unique : bool
        Whether the optimal policy is unique.
    reward : array or None
        The reward (or, for IPO on a dataset, :math:`\\beta g`) the policy is the Gibbs tilt of.
    direction : array or None
        When ``exists`` is False, the unit direction along which the reward diverges.
    components : array of int or None
        Connected component of each action in the comparison graph (dataset optima).
    """

    policy: np.ndarray
    value: float | np.ndarray
    iterations: int
    certificate: float
    exists: bool = True
    unique: bool = True
    reward: np.ndarray | None = None
    direction: np.ndarray | None = None
    components: np.ndarray | None = None



# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def _check_policy_like(p, name: str, K: int | None = None) -> np.ndarray:
    p = check_stochastic_matrix(p, name)
    if p.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (K,) or (S, K), got {p.shape}")
    if K is not None and p.shape[-1] != K:
        raise ValueError(f"{name} must have {K} actions on its last axis, got shape {p.shape}")
    return p


def _population_args(P, mu, pi_ref):
    """Validate (P, mu, pi_ref) and return them with a context axis, plus whether one was given."""
    P = check_array(P, "P", ndim=(2, 3))
    K = P.shape[-1]
    if P.ndim == 3:
        Ps = np.stack([check_preference_matrix(P[s], f"P[{s}]") for s in range(P.shape[0])])
    else:
        Ps = check_preference_matrix(P)[None]
    mu = _check_policy_like(mu, "mu", K)
    pi_ref = _check_policy_like(pi_ref, "pi_ref", K)
    sizes = set()
    if P.ndim == 3:
        sizes.add(Ps.shape[0])
    for a in (mu, pi_ref):
        if a.ndim == 2:
            sizes.add(a.shape[0])
    if len(sizes) > 1:
        raise ValueError(f"P, mu and pi_ref disagree on the number of contexts: {sorted(sizes)}")
    contextual = bool(sizes)
    S = sizes.pop() if sizes else 1
    Ps = np.broadcast_to(Ps, (S, K, K))
    mu = np.broadcast_to(mu, (S, K))
    pi_ref = np.broadcast_to(pi_ref, (S, K))
    return Ps, mu, pi_ref, contextual


def _psi_function(psi) -> Callable[[np.ndarray], np.ndarray]:
    if callable(psi):
        return psi
    if psi == "identity":
        return lambda p: np.asarray(p, dtype=float)
    if psi == "logit":
        def _logit(p):
            with np.errstate(divide="ignore"):
                return logit(np.asarray(p, dtype=float))
        return _logit
    raise ValueError(f"psi must be 'identity', 'logit' or a callable, got {psi!r}")


def _apply_psi(psi, P: np.ndarray) -> np.ndarray:
    """Psi(P) elementwise, checked to be finite and non-decreasing in P."""
    fn = _psi_function(psi)
    vals = np.asarray(fn(P), dtype=float)
    if vals.shape != P.shape:
        raise ValueError(f"psi must act elementwise: psi(P) has shape {vals.shape}, P has {P.shape}")
    bad = ~np.isfinite(vals)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"psi(P{list(idx)}) = psi({P[idx]:.6g}) is {vals[idx]}: the PsiPO objective is "
            "unbounded (for deterministic preferences with psi='logit', use dpo_population_optimum "
            "for the limit policy)"
        )
    order = np.argsort(P, axis=None, kind="stable")
    p_sorted, v_sorted = P.ravel()[order], vals.ravel()[order]
    # Equal P must give equal Psi, and larger P no smaller Psi.
    dec = np.diff(v_sorted) < -1e-12 * (1 + np.abs(v_sorted[1:]))
    if dec.any():
        k = int(np.argmax(dec))
        raise ValueError(
            f"psi must be non-decreasing: psi({p_sorted[k + 1]:.6g}) = {v_sorted[k + 1]:.6g} < "
            f"psi({p_sorted[k]:.6g}) = {v_sorted[k]:.6g}"
        )
    return vals


def _stationarity_residual(log_policy, pi_ref, f, beta) -> float:
    r"""max over the support of |beta log(pi/pi_ref) - f + V|, V the soft value (0 at the optimum)."""
    V = np.broadcast_to(np.asarray(soft_value(pi_ref, f, beta))[..., None], f.shape)
    supp = pi_ref > 0
    if np.any(np.isfinite(log_policy[~supp])):
        return float("inf")
    res = beta * (log_policy[supp] - np.log(pi_ref[supp])) - f[supp] + V[supp]
    out = np.abs(res) / (1.0 + np.abs(f[supp]) + np.abs(V[supp]))
    return float(np.max(out)) if np.all(np.isfinite(out)) else float("inf")


def _squeeze(x, contextual: bool):
    x = np.asarray(x)
    return x if contextual else x[0]


def _value(x, contextual: bool):
    x = np.asarray(x, dtype=float)
    return x if contextual else float(x[0])


# ----------------------------------------------------------------------------------------------
# Population optima with closed forms
# ----------------------------------------------------------------------------------------------


def kl_regularized_optimum(pi_ref, reward, beta) -> BanditOptimum:
    r"""The KL-regularised (RLHF) optimum for a known reward: the Gibbs policy.

    .. math::
        \pi^* = \arg\max_\pi \; \mathbb{E}_{y \sim \pi} r(y) - \beta\,\mathrm{KL}(\pi \,\|\, \pi_{ref}),
        \qquad \pi^*(y) = \frac{\pi_{ref}(y)\, e^{r(y)/\beta}}{\sum_{y'} \pi_{ref}(y') e^{r(y')/\beta}},

    with value :math:`\beta \log \sum_y \pi_{ref}(y) e^{r(y)/\beta}`. Here :math:`r` is the reward,
    :math:`\beta > 0` the KL weight and :math:`\pi_{ref}` the reference policy. Rafailov et al.
    (2023), "Direct Preference Optimization", Eq. 4; Azar et al. (2024), App. A.1.

    Parameters
    ----------
    pi_ref : array, shape (K,) or (S, K)
        Reference policy (one row per context).
    reward : array, shape (K,) or (S, K)
        Reward :math:`r(x, y)`.
    beta : float > 0
        KL weight (the IPO paper's tau).

    Returns
    -------
    BanditOptimum
        ``certificate`` is the residual of the stationarity condition
        :math:`\beta \log(\pi/\pi_{ref}) = r - V` on the support.

    Examples
    --------
    >>> res = kl_regularized_optimum([0.5, 0.5], [1.0, 0.0], beta=1.0)
    >>> res.policy.round(4), round(res.value, 4), res.certificate < 1e-12
    (array([0.7311, 0.2689]), 0.6201, True)
    """
    pi_ref = _check_policy_like(pi_ref, "pi_ref")
    reward = check_array(reward, "reward")
    if reward.shape != pi_ref.shape:
        raise ValueError(f"reward must have the shape of pi_ref {pi_ref.shape}, got {reward.shape}")
    beta = check_positive(beta, "beta")
    log_policy = log_gibbs(pi_ref, reward, beta)
    value = soft_value(pi_ref, reward, beta)
    return BanditOptimum(
        policy=np.exp(log_policy),
        value=value,
        iterations=0,
        certificate=_stationarity_residual(log_policy, pi_ref, reward, beta),
        reward=reward,
    )


def psipo_objective(policy, P, mu, pi_ref, beta, psi="identity") -> float | np.ndarray:
    r"""The PsiPO objective of a policy (Azar et al. 2024, Eq. 6).

    .. math::
        J_\Psi(\pi) = \mathbb{E}_{y \sim \pi,\, y' \sim \mu}\, \Psi\big(P[y, y']\big)
        - \beta\, \mathrm{KL}(\pi \,\|\, \pi_{ref}),

    where :math:`P[y, y'] = p^*(y \succ y')`, :math:`\mu` is the behaviour distribution,
    :math:`\Psi : [0, 1] \to \mathbb{R}` is non-decreasing and :math:`\beta > 0` (the paper's
    :math:`\tau`).

    Parameters
    ----------
    policy : array, shape (K,) or (S, K)
    P : array, shape (K, K) or (S, K, K)
    mu : array, shape (K,) or (S, K)
    pi_ref : array, shape (K,) or (S, K)
    beta : float > 0
    psi : {"identity", "logit"} or callable
        Applied elementwise to ``P``; ``"identity"`` gives IPO, ``"logit"`` RLHF/DPO under
        Bradley-Terry preferences (Prop. 1).

    Returns
    -------
    float, or array of shape (S,) with contexts

    Examples
    --------
    >>> P = [[0.5, 1.0], [0.0, 0.5]]
    >>> round(psipo_objective([0.5, 0.5], P, [0.5, 0.5], [0.5, 0.5], beta=1.0), 4)
    0.5
    """
    Ps, mu, pi_ref, contextual = _population_args(P, mu, pi_ref)
    beta = check_positive(beta, "beta")
    policy = np.broadcast_to(_check_policy_like(policy, "policy", Ps.shape[-1]), mu.shape)
    g = np.einsum("skj,sj->sk", _apply_psi(psi, Ps), mu)
    val = (policy * g).sum(axis=-1) - beta * np.asarray(kl(policy, pi_ref))
    return _value(val, contextual)


def psipo_optimum(P, mu, pi_ref, beta, psi="identity") -> BanditOptimum:
    r"""Maximiser of the PsiPO objective (Azar et al. 2024, Eq. 6, closed form Eq. 7/9).

    .. math::
        \pi^*(y) = \frac{\pi_{ref}(y) \exp\big(g(y)/\beta\big)}{Z}, \qquad
        g(y) = \mathbb{E}_{y' \sim \mu}\, \Psi\big(P[y, y']\big) = \sum_{y'} \mu(y')\,\Psi(P[y, y']),

    where :math:`P[y, y'] = p^*(y \succ y')`, :math:`\mu` the behaviour distribution,
    :math:`\pi_{ref}` the reference policy, :math:`\beta > 0` the KL weight (the paper's
    :math:`\tau`), :math:`Z` the normaliser; the maximum is :math:`\beta \log Z`.

    Parameters
    ----------
    P : array, shape (K, K) or (S, K, K)
        Preference matrix (per context).
    mu : array, shape (K,) or (S, K)
        Behaviour distribution.
    pi_ref : array, shape (K,) or (S, K)
        Reference policy.
    beta : float > 0
        KL weight.
    psi : {"identity", "logit"} or callable
        Non-decreasing map applied elementwise to ``P``. A callable is checked to be
        non-decreasing on the entries of ``P``, and :math:`\Psi(P)` must be finite (``"logit"``
        with deterministic preferences makes the objective unbounded: use
        :func:`dpo_population_optimum`).

    Returns
    -------
    BanditOptimum
        ``reward`` holds :math:`g`; ``certificate`` the stationarity residual.

    Examples
    --------
    >>> P = [[0.5, 0.8], [0.2, 0.5]]
    >>> psipo_optimum(P, [0.5, 0.5], [0.5, 0.5], beta=1.0, psi="logit").policy.round(4)
    array([0.8, 0.2])
    >>> psipo_optimum(P, [0.5, 0.5], [0.5, 0.5], beta=1.0, psi=lambda p: p**2).policy.round(4)
    array([0.5744, 0.4256])
    """
    Ps, mu, pi_ref, contextual = _population_args(P, mu, pi_ref)
    beta = check_positive(beta, "beta")
    g = np.einsum("skj,sj->sk", _apply_psi(psi, Ps), mu)
    log_policy = log_gibbs(pi_ref, g, beta)
    return BanditOptimum(
        policy=_squeeze(np.exp(log_policy), contextual),
        value=_value(soft_value(pi_ref, g, beta), contextual),
        iterations=0,
        certificate=_stationarity_residual(log_policy, pi_ref, g, beta),
        reward=_squeeze(g, contextual),
    )


def ipo_optimum(P, mu, pi_ref, beta) -> BanditOptimum:
    r"""Maximiser of the IPO objective (PsiPO with :math:`\Psi` the identity).

    .. math::
        \pi^* = \arg\max_\pi\; p^*(\pi \succ \mu) - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref}), \qquad
        \pi^*(y) \propto \pi_{ref}(y)\, \exp\big(p^*(y \succ \mu)/\beta\big),

    with :math:`p^*(y \succ \mu) = \sum_{y'} \mu(y') P[y, y']` the win rate against the behaviour
    distribution :math:`\mu`, :math:`\pi_{ref}` the reference policy and :math:`\beta` the KL weight.
    Azar et al. (2024), Eq. 8; by Theorem 2 it is the unique minimiser of the IPO loss (Eq. 13)
    when :math:`\mathrm{supp}(\mu) = \mathrm{supp}(\pi_{ref})`. The paper's :math:`\tau` is ``beta``
    here, as in TRL's ``loss_type="ipo"``.

    Parameters
    ----------
    P : array, shape (K, K) or (S, K, K)
    mu : array, shape (K,) or (S, K)
    pi_ref : array, shape (K,) or (S, K)
    beta : float > 0

    Returns
    -------
    BanditOptimum

    Examples
    --------
    Section 5.3.1: two actions, :math:`y_1` always preferred, so :math:`\pi^*(y_1) = \sigma(0.5/\tau)`.

    >>> [round(float(ipo_optimum([[.5, 1.], [0., .5]], [.5, .5], [.5, .5], b).policy[0]), 4)
    ...  for b in (0.1, 0.5, 1.0)]
    [0.9933, 0.7311, 0.6225]
    """
    return psipo_optimum(P, mu, pi_ref, beta, psi="identity")


# ----------------------------------------------------------------------------------------------
# Bradley-Terry maximum likelihood
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# DPO, IPO and RLHF optima
# ----------------------------------------------------------------------------------------------


def _policy_from_fit(fit: BTFit, pi_ref: np.ndarray, beta: float) -> np.ndarray:
    """Gibbs tilt of the fitted reward; for a divergent fit, the limit along the direction."""
    if fit.exists:
        return gibbs(pi_ref, fit.rewards, beta)
    d = fit.direction
    on = pi_ref > 0
    top = on & (d >= d[on].max() - 1e-9)
    ref_top = np.where(top, pi_ref, 0.0)
    return gibbs(ref_top / ref_top.sum(), fit.rewards, beta)


def _check_ref_on(pi_ref: np.ndarray, used: np.ndarray) -> None:
    bad = used & (pi_ref <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"pi_ref[{i}] = 0 but action {i} is compared: its log-ratio log pi/pi_ref is undefined"
        )


def _unique_policy(components: np.ndarray, pi_ref: np.ndarray) -> bool:
    return np.unique(components[pi_ref > 0]).size <= 1


def _finish_dpo(fit: BTFit, pi_ref, beta, total: float) -> BanditOptimum:
    policy = _policy_from_fit(fit, pi_ref, beta)
    return BanditOptimum(
        policy=policy,
        value=float(fit.value / total) if total > 0 else 0.0,
        iterations=fit.iterations,
        certificate=fit.certificate,
        exists=fit.exists,
        unique=fit.exists and _unique_policy(fit.components, pi_ref),
        reward=fit.rewards,
        direction=fit.direction,
        components=fit.components,
    )


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


def _stack(results: list[BanditOptimum]) -> BanditOptimum:
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
    )


def _dataset_args(winners, losers, pi_ref, contexts):
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


def dpo_dataset_optimum(winners, losers, pi_ref, beta, *, contexts=None) -> BanditOptimum:
    r"""Minimiser of the empirical DPO loss on a comparison dataset.

    .. math::
        \min_\pi\; \frac{1}{n}\sum_{k=1}^n -\log \sigma\big(\beta\, h_\pi(y^w_k, y^l_k)\big),
        \qquad h_\pi(y, y') = \log\frac{\pi(y)}{\pi_{ref}(y)} - \log\frac{\pi(y')}{\pi_{ref}(y')},

    where :math:`y^w_k \succ y^l_k` are the comparisons, :math:`\sigma` the logistic function and
    :math:`\beta` the KL weight. Rafailov et al. (2023), Eq. 7 (the IPO paper's Eq. 4). Writing
    :math:`r = \beta g_\pi` turns it into the Bradley-Terry likelihood, so the minimiser is
    :math:`\pi_{ref} e^{\hat r/\beta}/Z` with :math:`\hat r` from :func:`bt_mle`: finite iff every
    connected component of the comparison graph is strongly connected. Otherwise (e.g. an action
    that never wins) the loss has no minimiser and the limit policy along the divergence direction
    is returned with ``exists=False``; this is DPO's overfitting (Azar et al. 2024, Sec. 4.2).

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
        K = ref.size
        _check_ref_on(ref, np.isin(np.arange(K), np.concatenate([w, lo])))
        W = comparison_counts(w, lo, K)
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
        policy = _policy_from_fit(fit, ref, beta)
        value = float(soft_value(ref, fit.rewards, beta)) if fit.exists else float("inf")
        out.append(
            BanditOptimum(
                policy=policy,
                value=value,
                iterations=fit.iterations,
                certificate=fit.certificate,
                exists=fit.exists,
                unique=fit.exists and (l2 > 0 or _unique_policy(fit.components, ref)),
                reward=fit.rewards,
                direction=fit.direction,
                components=fit.components,
            )
        )
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
        _check_ref_on(ref, np.isin(np.arange(K), np.concatenate([w, lo])))
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


# ----------------------------------------------------------------------------------------------
# Population losses (objectives whose minimisers the functions above compute)
# ----------------------------------------------------------------------------------------------


def _log_ratio(policy, pi_ref, support):
    _check_ref_on(pi_ref, support)
    bad = support & (policy <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"policy[{i}] = 0 on supp(mu): the log-ratio is -inf")
    g = np.zeros_like(policy)
    g[support] = np.log(policy[support]) - np.log(pi_ref[support])
    return g


def dpo_population_loss(policy, P, mu, pi_ref, beta) -> float:
    r"""The population DPO loss (Azar et al. 2024, Eq. 5).

    .. math::
        L_{DPO}(\pi) = \sum_{y, y'} \mu(y)\,\mu(y')\, P[y, y']\,
        \big(-\log \sigma(\beta\, h_\pi(y, y'))\big),

    with :math:`h_\pi(y, y') = g(y) - g(y')`, :math:`g = \log(\pi/\pi_{ref})`, :math:`\sigma` the
    logistic function, :math:`\mu` the behaviour distribution, :math:`P[y, y'] = p^*(y \succ y')`.

    Parameters
    ----------
    policy, mu, pi_ref : arrays, shape (K,)
        ``policy`` and ``pi_ref`` positive on :math:`\mathrm{supp}(\mu)`.
    P : array, shape (K, K)
    beta : float > 0

    Examples
    --------
    >>> round(dpo_population_loss([.5, .5], [[.5, 1.], [0., .5]], [.5, .5], [.5, .5], 1.0), 4)
    0.3466
    """
    Ps, mu_, ref, contextual = _population_args(P, mu, pi_ref)
    if contextual:
        raise ValueError("dpo_population_loss takes a single context: P must have shape (K, K)")
    beta = check_positive(beta, "beta")
    policy = _check_policy_like(policy, "policy", Ps.shape[-1])
    g = _log_ratio(policy, ref[0], mu_[0] > 0)
    h = g[:, None] - g[None, :]
    W = np.outer(mu_[0], mu_[0]) * Ps[0]
    return float(-(W * log_expit(beta * h)).sum())


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
    >>> P, u = [[.5, 1.], [0., .5]], [.5, .5]
    >>> pi = ipo_optimum(P, u, u, 1.0).policy
    >>> round(ipo_population_loss(pi, P, u, u, 1.0), 12)
    0.0
    """
    Ps, mu_, ref, contextual = _population_args(P, mu, pi_ref)
    if contextual:
        raise ValueError("ipo_population_loss takes a single context: P must have shape (K, K)")
    beta = check_positive(beta, "beta")
    if form not in ("eq13", "eq16"):
        raise ValueError(f"form must be 'eq13' or 'eq16', got {form!r}")
    policy = _check_policy_like(policy, "policy", Ps.shape[-1])
    P0, m = Ps[0], mu_[0]
    g = _log_ratio(policy, ref[0], m > 0)
    h = g[:, None] - g[None, :]
    M = np.outer(m, m)
    if form == "eq13":
        wr = P0 @ m
        return float((M * (h - (wr[:, None] - wr[None, :]) / beta) ** 2).sum())
    return float((M * (P0 * (h - 1.0 / beta) ** 2 + (1.0 - P0) * h**2)).sum())



# ----------------------------------------------------------------------------------------------
# Secondary DPO-family papers: DRO, PMPO, SimPO, VAS, PAR
# ----------------------------------------------------------------------------------------------

__all__ += [
    "DROOptimum",
    "PMPOOptimum",
    "VASResult",
    "dro_optimum",
    "dro_population_loss",
    "pmpo_objective",
    "pmpo_optimum",
    "preference_as_reward",
    "simpo_population_loss",
    "value_augmented_policy",
]


@dataclass(frozen=True, eq=False)
class DROOptimum:
    r"""The zero-loss point of the population DRO loss (see :func:`dro_optimum`).

    Attributes
    ----------
    policy : array, shape (K,) or (S, K)
        :math:`\pi^* = \pi_{ref} e^{r/\beta} / Z`.
    value : float or array of shape (S,)
        :math:`V^* = \beta \log Z`, the value head at the optimum.
    loss : float or array of shape (S,)
        The population DRO loss at :math:`(\pi^*, V^*)`, computed with :func:`prefrl.losses.dro`
        (0 up to rounding).
    iterations : int
        0 (closed form).
    certificate : float
        Largest relative residual :math:`|r - V^* - \beta\log(\pi^*/\pi_{ref})|` on
        :math:`\mathrm{supp}(\mu)` (the square root of twice the per-sample loss).
    unique : bool
        Whether :math:`(\pi^*, V^*)` is the only zero-loss point: iff :math:`\mu(y) > 0` for every
        action (in every context).
    min_value : float or array of shape (S,)
        :math:`\beta\log\sum_{y \in \mathrm{supp}\,\mu} \pi_{ref}(y) e^{r(y)/\beta}`: the zero-loss
        values :math:`V` fill :math:`[V_{min}, \infty)` when :math:`\mu` misses an action (equal to
        ``value`` otherwise).
    """

    policy: np.ndarray
    value: float | np.ndarray
    loss: float | np.ndarray
    iterations: int
    certificate: float
    unique: bool
    min_value: float | np.ndarray


def _dro_args(rewards, mu, pi_ref):
    r = check_array(rewards, "rewards", ndim=(1, 2))
    K = r.shape[-1]
    mu = _check_policy_like(mu, "mu", K)
    pi_ref = _check_policy_like(pi_ref, "pi_ref", K)
    sizes = {a.shape[0] for a in (r, mu, pi_ref) if a.ndim == 2}
    if len(sizes) > 1:
        raise ValueError(f"rewards, mu and pi_ref disagree on the number of contexts: {sorted(sizes)}")
    contextual = bool(sizes)
    S = sizes.pop() if sizes else 1
    r, mu, pi_ref = (np.broadcast_to(a, (S, K)) for a in (r, mu, pi_ref))
    for s in range(S):
        _check_ref_on(pi_ref[s], mu[s] > 0)
    return r, mu, pi_ref, contextual


def _dro_loss_from_logs(log_pi, log_ref, V, r, mu, beta):
    """Population DRO loss per context from log-probabilities, via prefrl.losses.dro."""
    from .losses.unpaired import dro as _dro

    out = np.zeros(r.shape[0])
    for s in range(r.shape[0]):
        on = mu[s] > 0
        n = int(on.sum())
        per = _dro(log_pi[s][on], log_ref[s][on], np.full(n, V[s]), rewards=r[s][on], beta=beta)
        out[s] = float(mu[s][on] @ per)
    return out


def dro_population_loss(policy, value, rewards, mu, pi_ref, beta) -> float | np.ndarray:
    r"""The population DRO loss of a policy and a value (Richemond et al. 2024, Eq. 6).

    .. math::
        L(\pi, V) = \frac12\, \mathbb{E}_{y \sim \mu}\Big[\Big(r(y) - V - \beta
        \log\frac{\pi(y)}{\pi_{ref}(y)}\Big)^2\Big],

    where :math:`r(y)` is the scalar reward of response :math:`y`, :math:`\mu` the distribution of
    the logged responses, :math:`V` the value head, :math:`\pi_{ref}` the reference policy and
    :math:`\beta > 0` the KL weight (the paper's :math:`\tau`). With contexts the loss of each
    context is returned (average them with your context distribution). The per-sample terms are
    :func:`prefrl.losses.dro`.

    Parameters
    ----------
    policy : array, shape (K,) or (S, K)
        Must be positive on :math:`\mathrm{supp}(\mu)` (else the loss is infinite).
    value : float, or array of shape (S,) with contexts
        :math:`V(x)`.
    rewards : array, shape (K,) or (S, K)
        :math:`r(x, y)`.
    mu : array, shape (K,) or (S, K)
        Behaviour distribution of the logged responses.
    pi_ref : array, shape (K,) or (S, K)
        Positive on :math:`\mathrm{supp}(\mu)`.
    beta : float > 0

    Returns
    -------
    float, or array of shape (S,) with contexts

    Examples
    --------
    >>> round(dro_population_loss([0.5, 0.5], 0.0, [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], 1.0), 4)
    0.25
    """
    r, mu_, ref, contextual = _dro_args(rewards, mu, pi_ref)
    beta = check_positive(beta, "beta")
    S, K = r.shape
    pol = _check_policy_like(policy, "policy", K)
    if pol.ndim == 2 and pol.shape[0] != S:
        raise ValueError(f"policy must have {S} rows (contexts), got shape {pol.shape}")
    pol = np.broadcast_to(pol, (S, K))
    V = check_array(value, "value", ndim=(0, 1))
    if V.ndim == 1 and V.size != S:
        raise ValueError(f"value must have one entry per context ({S}), got shape {V.shape}")
    V = np.broadcast_to(V, (S,))
    bad = (mu_ > 0) & (pol <= 0)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"[{idx[1]}]" if not contextual else f"[{idx[0]}, {idx[1]}]"
        raise ValueError(f"policy{where} = 0 on supp(mu): the DRO loss is infinite")
    with np.errstate(divide="ignore"):
        out = _dro_loss_from_logs(np.log(pol), np.log(ref), V, r, mu_, beta)
    return _value(out, contextual)


def dro_optimum(rewards, mu, pi_ref, beta) -> DROOptimum:
    r"""The zero-loss point of Direct Reward Optimisation (DRO) in a (contextual) bandit.

    .. math::
        \pi^*(y) = \frac{\pi_{ref}(y)\, e^{r(y)/\beta}}{Z}, \qquad
        V^* = \beta \log Z, \qquad Z = \sum_y \pi_{ref}(y)\, e^{r(y)/\beta},

    so that :math:`r(y) - V^* - \beta\log(\pi^*(y)/\pi_{ref}(y)) = 0` for every :math:`y` and the
    loss of :func:`dro_population_loss`,
    :math:`L(\pi, V) = \tfrac12 \mathbb{E}_{y\sim\mu}[(r - V - \beta\log\pi/\pi_{ref})^2]`, is zero:
    DRO recovers the KL-regularised optimum (:func:`kl_regularized_optimum`) from single
    rated responses. Here :math:`r` is the reward, :math:`\mu` the distribution of logged responses,
    :math:`\pi_{ref}` the reference and :math:`\beta > 0` the KL weight (the paper's :math:`\tau`).
    Richemond et al. (2024), "Offline Regularised Reinforcement Learning for Large Language Models
    Alignment", Eq. 6 and Sec. 3.

    The set of zero-loss points (derived here): :math:`L = 0` iff
    :math:`\pi(y) = \pi_{ref}(y) e^{(r(y) - V)/\beta}` for every :math:`y \in \mathrm{supp}(\mu)`.
    Summing, :math:`e^{-V/\beta} Z_\mu \le 1` with
    :math:`Z_\mu = \sum_{y \in \mathrm{supp}\,\mu} \pi_{ref}(y) e^{r(y)/\beta}`, and the leftover mass
    :math:`1 - e^{-V/\beta} Z_\mu` may go to the actions outside :math:`\mathrm{supp}(\mu)` in any
    way. So the minimiser is unique iff :math:`\mu(y) > 0` for every action; otherwise every
    :math:`V \ge \beta\log Z_\mu` (``min_value``) has zero-loss policies, :math:`(\pi^*, V^*)` among
    them.

    Parameters
    ----------
    rewards : array, shape (K,) or (S, K)
        :math:`r(x, y)`.
    mu : array, shape (K,) or (S, K)
        Behaviour distribution of the logged responses.
    pi_ref : array, shape (K,) or (S, K)
        Reference policy, positive on :math:`\mathrm{supp}(\mu)`.
    beta : float > 0
        KL weight :math:`\beta` (the paper's :math:`\tau`).

    Returns
    -------
    DROOptimum

    Examples
    --------
    >>> res = dro_optimum([1.0, 0.0], [0.5, 0.5], [0.5, 0.5], beta=1.0)
    >>> res.policy.round(4), round(res.value, 4), res.loss < 1e-20, res.unique
    (array([0.7311, 0.2689]), 0.6201, True, True)
    >>> dro_optimum([1.0, 0.0, 2.0], [0.5, 0.5, 0.0], [1/3, 1/3, 1/3], beta=1.0).unique
    False
    """
    r, mu_, ref, contextual = _dro_args(rewards, mu, pi_ref)
    beta = check_positive(beta, "beta")
    log_pi = log_gibbs(ref, r, beta)
    V = np.atleast_1d(soft_value(ref, r, beta))
    with np.errstate(divide="ignore"):
        log_ref = np.log(ref)
        V_min = beta * np.logaddexp.reduce(np.where(mu_ > 0, log_ref + r / beta, -np.inf), axis=-1)
        loss = _dro_loss_from_logs(log_pi, log_ref, V, r, mu_, beta)
    on = mu_ > 0
    Vb = np.broadcast_to(V[:, None], r.shape)
    resid = r[on] - Vb[on] - beta * (log_pi[on] - log_ref[on])
    res = np.abs(resid) / (1.0 + np.abs(r[on]) + np.abs(Vb[on]))
    return DROOptimum(
        policy=_squeeze(np.exp(log_pi), contextual),
        value=_value(V, contextual),
        loss=_value(loss, contextual),
        iterations=0,
        certificate=float(res.max()),
        unique=bool(np.all(on)),
        min_value=_value(V_min, contextual),
    )


@dataclass(frozen=True, eq=False)
class PMPOOptimum:
    r"""The maximiser (or the unboundedness) of the PMPO objective (see :func:`pmpo_optimum`).

    Attributes
    ----------
    policy : array of shape (K,), or None
        The maximiser :math:`\pi^* = c / \sum_y c(y)` when the objective is bounded above
        (:math:`\pi_{ref}` when :math:`c \equiv 0` and every policy is optimal); None when it is
        unbounded.
    value : float
        :math:`\sup_\pi J(\pi)`: ``inf`` when unbounded.
    iterations : int
        0 (closed form).
    certificate : float
        Bounded: the KKT residual :math:`\max_y |c(y) - \lambda\,\pi^*(y)| / (1 + \max_y |c(y)|)`
        with :math:`\lambda = \sum_y c(y)`. Unbounded: the slope :math:`-\min_y c(y) > 0` with which
        :math:`J` grows per unit of :math:`-\log\pi(y_{esc})` as :math:`\pi(y_{esc}) \to 0`.
    bounded : bool
        Whether :math:`\sup J < \infty`: iff :math:`c(y) \ge 0` for every action (or K = 1).
    attained : bool
        Whether the supremum is a maximum. False when some action has :math:`c(y) = 0` while one of
        its terms is present (e.g. :math:`d(y) > 0`): :math:`\pi^*(y) = 0` there and :math:`J` is
        only approached as :math:`\pi(y) \to 0` (its terms are :math:`\infty - \infty` at 0).
    unique : bool
        Whether the maximiser is unique (False iff :math:`c \equiv 0`, when :math:`J` is constant).
    coefficients : array, shape (K,)
        :math:`c(y) = \alpha a(y) - (1 - \alpha) d(y) + \beta \pi_{ref}(y)`.
    multiplier : float
        The Lagrange multiplier of :math:`\sum_y \pi(y) = 1`: :math:`\lambda = \sum_y c(y)`, which is
        :math:`2\alpha - 1 + \beta` when both sets are nonempty.
    beta_threshold : float
        The smallest :math:`\beta` for which :math:`J` is bounded, the other inputs fixed:
        :math:`\max(0, \max_y ((1-\alpha) d(y) - \alpha a(y)) / \pi_{ref}(y))` (``inf`` if a rejected
        action outside :math:`\mathrm{supp}(\pi_{ref})` outweighs its acceptances).
    escape : int or None
        When unbounded, the action with the most negative :math:`c(y)`.
    """

    policy: np.ndarray | None
    value: float
    iterations: int
    certificate: float
    bounded: bool
    attained: bool
    unique: bool
    coefficients: np.ndarray
    multiplier: float
    beta_threshold: float
    escape: int | None = None


def _frequencies(x, name: str, K: int) -> np.ndarray:
    v = check_array(x, name, ndim=1)
    if v.size != K:
        raise ValueError(f"{name} must have length {K} (one entry per action), got {v.size}")
    neg = v < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise ValueError(f"{name}[{i}] = {v[i]:.6g}, must be >= 0 (a count or a frequency)")
    total = v.sum()
    return v / total if total > 0 else v


def _entropy(p: np.ndarray) -> float:
    """Shannon entropy of a validated distribution (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -float(np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)))


def _pmpo_args(accepted, rejected, pi_ref, alpha, beta):
    from ._validation import check_distribution, check_in_range

    ref = check_distribution(pi_ref, "pi_ref")
    K = ref.size
    a = _frequencies(accepted, "accepted", K)
    d = _frequencies(rejected, "rejected", K)
    alpha = check_in_range(alpha, "alpha", 0.0, 1.0)
    beta = check_nonnegative(beta, "beta")
    pos, neg = alpha * a + beta * ref, (1.0 - alpha) * d
    c = pos - neg
    # c(y) is a difference of two nonnegative terms: within rounding of their size it is zero.
    c[np.abs(c) <= 8 * np.finfo(float).eps * (pos + neg)] = 0.0
    return a, d, ref, alpha, beta, c, pos + neg


def pmpo_objective(policy, accepted, rejected, pi_ref, alpha, beta) -> float:
    r"""The PMPO objective of a bandit policy (Abdolmaleki et al. 2024).

    .. math::
        J(\pi) = \alpha\, \mathbb{E}_{y \sim a} \log\pi(y) - (1 - \alpha)\, \mathbb{E}_{y \sim d}
        \log\pi(y) - \beta\, \mathrm{KL}(\pi_{ref} \,\|\, \pi)
        = \sum_y c(y) \log\pi(y) + \beta H(\pi_{ref}),

    with :math:`a, d` the empirical distributions of the accepted set :math:`D_a` and the rejected
    set :math:`D_r`, :math:`\alpha \in [0, 1]` their trade-off, :math:`\beta \ge 0` the weight of
    the (reverse) KL to the reference :math:`\pi_{ref}`, :math:`H` the entropy and
    :math:`c(y) = \alpha a(y) - (1-\alpha) d(y) + \beta\pi_{ref}(y)`. At the boundary
    (:math:`\pi(y) = 0`) :math:`J` is extended by continuity: :math:`-\infty` if :math:`c(y) > 0`,
    :math:`+\infty` if :math:`c(y) < 0`, nothing if :math:`c(y) = 0`. Its per-sample estimate is
    :func:`prefrl.losses.pmpo` (the negative of each term).

    Parameters
    ----------
    policy : array, shape (K,)
    accepted, rejected : array, shape (K,)
        Counts or frequencies of each action in :math:`D_a` and :math:`D_r` (normalised here; an
        all-zero vector is an empty set, whose term vanishes).
    pi_ref : array, shape (K,)
    alpha : float in [0, 1]
    beta : float >= 0

    Returns
    -------
    float
        May be ``inf`` or ``-inf`` on the boundary of the simplex (see above).

    Examples
    --------
    >>> round(pmpo_objective([0.8, 0.2], [1, 0], [0, 1], [0.5, 0.5], alpha=0.5, beta=1.0), 4)
    0.47
    """
    _, _, ref, alpha, beta, c, _ = _pmpo_args(accepted, rejected, pi_ref, alpha, beta)
    pol = _check_policy_like(policy, "policy", ref.size)
    if pol.ndim != 1:
        raise ValueError(f"policy must have shape ({ref.size},), got {pol.shape}")
    zero = pol <= 0
    up, down = bool((zero & (c < 0)).any()), bool((zero & (c > 0)).any())
    if up and down:
        raise ValueError("policy is 0 on actions with c > 0 and with c < 0: J is inf - inf there")
    if up or down:
        return float("inf") if up else float("-inf")
    on = c != 0
    return float(c[on] @ np.log(pol[on])) + beta * _entropy(ref)


def pmpo_optimum(accepted, rejected, pi_ref, alpha, beta) -> PMPOOptimum:
    r"""Exact maximiser of the PMPO objective over the simplex, or a proof that there is none.

    .. math::
        \max_{\pi \in \Delta_K} J(\pi), \quad
        J(\pi) = \alpha\,\mathbb{E}_{a}\log\pi - (1-\alpha)\,\mathbb{E}_{d}\log\pi
        - \beta\,\mathrm{KL}(\pi_{ref}\|\pi) = \sum_y c(y)\log\pi(y) + \beta H(\pi_{ref}),

    .. math::
        c(y) = \alpha\, a(y) - (1-\alpha)\, d(y) + \beta\, \pi_{ref}(y), \qquad
        \pi^*(y) = \frac{c(y)}{\sum_{y'} c(y')}
        = \frac{\alpha a(y) - (1-\alpha) d(y) + \beta\pi_{ref}(y)}{2\alpha - 1 + \beta},

    where :math:`a, d` are the empirical distributions of accepted and rejected samples,
    :math:`\alpha \in [0,1]`, :math:`\beta \ge 0` the KL weight, :math:`\pi_{ref}` the reference
    and :math:`H` the entropy (the last denominator assumes both sets nonempty). Abdolmaleki et al.
    (2024), "Preference Optimization as Probabilistic Inference" / "Learning from negative
    feedback, or positive feedback or both" (PMPO), arXiv 2410.04166, the objective of Eq. 9 as in
    :func:`prefrl.losses.pmpo`.

    Derivation (KKT). :math:`J` is concave in :math:`\pi` where it is finite.

    * If every :math:`c(y) \ge 0` and :math:`\lambda = \sum_y c(y) > 0`: Gibbs' inequality gives
      :math:`\sum_y c(y)\log\pi(y) \le \sum_y c(y)\log(c(y)/\lambda)`, with equality iff
      :math:`\pi = c/\lambda`: the unique maximiser; it satisfies the KKT conditions
      :math:`c(y) = \lambda\pi(y)` (stationarity on the support, complementary slackness where
      :math:`c(y) = 0`). Actions with :math:`c(y) = 0` get :math:`\pi^*(y) = 0`; if such an action
      has rejections, :math:`J(\pi^*)` is :math:`\infty - \infty` and the supremum is only
      approached (``attained=False``).
    * If every :math:`c(y) = 0`, :math:`J \equiv \beta H(\pi_{ref})`: every policy is optimal
      (``unique=False``; :math:`\pi_{ref}` is returned, where gradient ascent stays).
    * If some :math:`c(y) < 0` (and :math:`K \ge 2`): :math:`J \to +\infty` as :math:`\pi(y) \to 0`
      with the other probabilities fixed proportions: **unbounded, no maximiser, no boundary
      optimum**.

    So :math:`J` is bounded iff :math:`(1-\alpha) d \le \alpha a + \beta\pi_{ref}` elementwise. With
    negatives only (:math:`\alpha = 0`) this is :math:`d \le \beta \pi_{ref}`, which forces
    :math:`\beta \ge 1` (sum it), with :math:`\beta = 1` only for :math:`d = \pi_{ref}` (the flat
    case): the threshold is :math:`\beta^* = \max_y d(y)/\pi_{ref}(y) \ge 1`.

    A coefficient within rounding of zero (8 machine epsilons of
    :math:`\alpha a(y) + (1-\alpha) d(y) + \beta\pi_{ref}(y)`) is taken as exactly zero, so that
    e.g. :math:`d = \pi_{ref}` at :math:`\beta = 1` is recognised as the flat case.

    Parameters
    ----------
    accepted, rejected : array, shape (K,)
        Counts or frequencies of each action in :math:`D_a` and :math:`D_r` (normalised; an
        all-zero vector is an empty set).
    pi_ref : array, shape (K,)
    alpha : float in [0, 1]
        Weight of the accepted set (:math:`\alpha = 0`: negatives only).
    beta : float >= 0
        Weight of :math:`\mathrm{KL}(\pi_{ref}\|\pi)`.

    Returns
    -------
    PMPOOptimum

    Examples
    --------
    Negatives only: one rejected action under a uniform reference needs :math:`\beta \ge 2`.

    >>> res = pmpo_optimum([0, 0], [1, 0], [0.5, 0.5], alpha=0.0, beta=3.0)
    >>> res.bounded, res.policy.round(4), res.beta_threshold
    (True, array([0.25, 0.75]), 2.0)
    >>> pmpo_optimum([0, 0], [1, 0], [0.5, 0.5], alpha=0.0, beta=1.5).bounded
    False
    """
    a, d, ref, alpha, beta, c, size = _pmpo_args(accepted, rejected, pi_ref, alpha, beta)
    K = ref.size
    with np.errstate(divide="ignore", invalid="ignore"):
        need = (1.0 - alpha) * d - alpha * a
        ratio = np.where(ref > 0, need / np.where(ref > 0, ref, 1.0), np.where(need > 0, np.inf, 0))
    threshold = 0.0 if K == 1 else float(max(0.0, ratio.max()))
    lam = float(c.sum())
    ent = _entropy(ref)
    if K == 1:
        return PMPOOptimum(np.ones(1), beta * ent, 0, 0.0, True, True, True, c, lam, 0.0)
    if (c < 0).any():
        esc = int(np.argmin(c))
        return PMPOOptimum(None, float("inf"), 0, float(-c[esc]), False, False, False, c, lam,
                           threshold, esc)
    if lam == 0.0:  # c == 0: J is constant
        return PMPOOptimum(ref.copy(), beta * ent, 0, 0.0, True, True, False, c, lam, threshold)
    policy = c / lam
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.sum(np.where(c > 0, c * np.log(np.where(c > 0, policy, 1.0)), 0.0)))
    value += beta * ent
    attained = not bool(((c == 0) & (size > 0)).any())
    cert = float(np.max(np.abs(c - lam * policy))) / (1.0 + float(np.max(np.abs(c))))
    return PMPOOptimum(policy, value, 0, cert, True, attained, True, c, lam, threshold)


def simpo_population_loss(policy, P, mu, lengths, beta, gamma=0.5) -> float:
    r"""The population SimPO loss of a bandit policy; it has no minimiser under deterministic data.

    .. math::
        L(\pi) = \sum_{y, y'} \mu(y)\,\mu(y')\, P[y, y']\;
        \Big(-\log\sigma\Big(\beta\Big(\frac{\log\pi(y)}{L_y} - \frac{\log\pi(y')}{L_{y'}}\Big)
        - \gamma\Big)\Big),

    where :math:`P[y, y'] = p^*(y \succ y')`, :math:`\mu` the behaviour distribution,
    :math:`L_y > 0` the length of response :math:`y`, :math:`\beta` SimPO's reward scale (not a KL
    weight: there is no reference model), :math:`\gamma` the target margin and :math:`\sigma` the
    logistic function. Meng, Xia and Chen (2024), "SimPO", Eq. 6, in expectation over pairs; the
    per-pair terms are :func:`prefrl.losses.simpo`.

    No finite optimum with deterministic preferences (derived; as for DPO, Azar et al. 2024, Sec.
    4.2): if an action :math:`y \in \mathrm{supp}(\mu)` loses every comparison
    (:math:`P[y, y'] = 0` for :math:`y' \ne y` in :math:`\mathrm{supp}\,\mu`) and all lengths are
    equal, moving its mass proportionally onto the other actions leaves every other term unchanged
    and strictly lowers the terms of :math:`y`, so the infimum is approached only as
    :math:`\pi(y) \to 0`, where the loss is undefined (:math:`\log 0`). With two actions this holds
    for any lengths.

    Parameters
    ----------
    policy : array, shape (K,)
        Positive on :math:`\mathrm{supp}(\mu)`.
    P : array, shape (K, K)
    mu : array, shape (K,)
    lengths : array, shape (K,)
        Token counts :math:`L_y > 0`.
    beta : float > 0
    gamma : float >= 0

    Returns
    -------
    float

    Examples
    --------
    >>> P = [[0.5, 1.0], [0.0, 0.5]]
    >>> [round(simpo_population_loss([1 - e, e], P, [.5, .5], [1, 1], beta=2.0, gamma=0.5), 4)
    ...  for e in (0.5, 0.1, 0.001)]   # decreasing towards 0.2435, never attained
    [0.487, 0.2486, 0.2435]
    """
    from .losses.pairwise import simpo as _simpo

    P0 = check_preference_matrix(P)
    K = P0.shape[0]
    m = _check_policy_like(mu, "mu", K)
    if m.ndim != 1:
        raise ValueError(f"mu must have shape ({K},) (one context), got {m.shape}")
    beta = check_positive(beta, "beta")
    gamma = check_nonnegative(gamma, "gamma")
    pol = _check_policy_like(policy, "policy", K)
    if pol.ndim != 1:
        raise ValueError(f"policy must have shape ({K},), got {pol.shape}")
    L = check_array(lengths, "lengths", shape=(K,))
    if (L <= 0).any():
        i = int(np.argmax(L <= 0))
        raise ValueError(f"lengths[{i}] = {L[i]:.6g}, must be > 0 (a token count)")
    bad = (m > 0) & (pol <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"policy[{i}] = 0 on supp(mu): the SimPO loss is infinite")
    W = np.outer(m, m) * P0
    i, j = np.nonzero(W > 0)
    lp = np.log(pol[i]), np.log(pol[j])
    per = _simpo(lp[0], lp[1], beta=beta, chosen_lengths=L[i], rejected_lengths=L[j], gamma=gamma)
    return float(W[i, j] @ per)


@dataclass(frozen=True, eq=False)
class VASResult:
    r"""A value-augmented (one soft policy-improvement step) policy (see :func:`value_augmented_policy`).

    Attributes
    ----------
    policy : array, shape (S, A), or (H, S, A) with a finite horizon
        :math:`\pi(a|s) \propto \pi_0(a|s)\, e^{\beta Q^{\pi_0}(s, a)}`.
    base_q : array, same shape as ``policy``
        :math:`Q^{\pi_0}` (per time step with a horizon).
    values : array, shape (S,)
        :math:`V^{\pi}` of the new policy, unregularised (at time 0 with a horizon).
    base_values : array, shape (S,)
        :math:`V^{\pi_0}` (at time 0).
    improvement : float
        :math:`\min_{t, s} V^{\pi}_t(s) - V^{\pi_0}_t(s)`; :math:`\ge 0` by the theorem when
        ``top_k`` is None.
    certificate : float
        :math:`\min_{t, s} \big(\sum_a \pi(a|s) Q^{\pi_0}(s, a) - V^{\pi_0}(s)\big)`: nonnegative
        one-step improvement, which implies ``improvement >= 0`` (policy improvement lemma).
    """

    policy: np.ndarray
    base_q: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    improvement: float
    certificate: float


def _tilt(pi0: np.ndarray, q: np.ndarray, beta: float, top_k: int | None) -> np.ndarray:
    """pi0 * exp(beta q) / Z along the last axis, optionally on the top_k actions of pi0."""
    with np.errstate(divide="ignore"):
        z = np.log(pi0) + beta * q
    if top_k is not None and top_k < pi0.shape[-1]:
        order = np.argsort(-pi0, axis=-1, kind="stable")
        keep = np.zeros(pi0.shape, dtype=bool)
        np.put_along_axis(keep, order[..., :top_k], True, axis=-1)
        z = np.where(keep, z, -np.inf)
    from scipy.special import logsumexp

    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def value_augmented_policy(mdp, base_policy, beta, *, top_k: int | None = None) -> VASResult:
    r"""Value Augmented Sampling: tilt a base policy by the exponential of its own Q-values.

    .. math::
        \pi(a \mid s) = \frac{\pi_0(a \mid s)\, e^{\beta\, Q^{\pi_0}(s, a)}}
        {\sum_{a'} \pi_0(a' \mid s)\, e^{\beta\, Q^{\pi_0}(s, a')}},

    where :math:`\pi_0` is the frozen base policy, :math:`Q^{\pi_0}` its exact (unregularised)
    action values in ``mdp`` (per time step :math:`Q_t^{\pi_0}` with a finite horizon) and
    :math:`\beta \ge 0` an **inverse** temperature, as in the paper (the KL weight is
    :math:`1/\beta`). With ``top_k``, only the :math:`k` most likely actions of :math:`\pi_0` are
    kept (ties by index). Han et al. (2024), "Value Augmented Sampling for Language Model Alignment
    and Personalization", arXiv 2405.06639, the VAS decoding rule (with the value of the
    continuation :math:`V^{\pi_0}(s \cdot a)`, which is :math:`Q^{\pi_0}(s, a)` minus the reward in
    a deterministic token MDP).

    Theorem (derived): with ``top_k=None``, :math:`V^{\pi}_t(s) \ge V^{\pi_0}_t(s)` at every state
    and time. Tilting raises the mean:
    :math:`\mathbb{E}_\pi Q - \mathbb{E}_{\pi_0} Q = \mathrm{Cov}_{\pi_0}(Q, e^{\beta Q}) /
    \mathbb{E}_{\pi_0} e^{\beta Q} \ge 0` (Chebyshev's sum inequality), so
    :math:`\sum_a \pi(a|s) Q^{\pi_0}(s, a) \ge V^{\pi_0}(s)`, and the policy improvement lemma
    (Puterman 1994, Sec. 6.4; by backward induction with a horizon) gives the claim. It is one soft
    policy-improvement step, not the soft optimum; for a one-step bandit it *is* the
    KL-regularised optimum :func:`kl_regularized_optimum` with KL weight :math:`1/\beta`.
    Truncation to ``top_k`` can lose the guarantee (it may drop the best action).

    Parameters
    ----------
    mdp : prefrl.mdp.TabularMDP
        Discounted, or with a finite horizon.
    base_policy : array, shape (S, A), or (H, S, A) with a horizon
        :math:`\pi_0`.
    beta : float >= 0
        Inverse temperature (0 returns :math:`\pi_0`).
    top_k : int >= 1, optional
        Keep the :math:`k` most likely actions of :math:`\pi_0` in each state.

    Returns
    -------
    VASResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1   # action a moves to state a
    >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=0.5)
    >>> res = value_augmented_policy(mdp, np.full((2, 2), 0.5), beta=2.0)
    >>> res.policy.round(4)[0], res.values.round(4), res.base_values.round(4)
    (array([0.1192, 0.8808]), array([1.7616, 1.7616]), array([1., 1.]))
    """
    beta = check_nonnegative(beta, "beta")
    if top_k is not None:
        top_k = check_integer(top_k, "top_k", minimum=1)
    H = mdp.horizon
    pi0 = mdp.check_policy(base_policy, "base_policy", time_dependent=H is not None)
    if H is None:
        ev0 = mdp.evaluate(pi0)
        Q0, V0 = ev0.q_values, ev0.values
        pi = _tilt(pi0, Q0, beta, top_k)
        V = mdp.evaluate(pi).values
        one_step = np.einsum("sa,sa->s", pi, Q0) - V0
        return VASResult(pi, Q0, V, V0, float(np.min(V - V0)), float(np.min(one_step)))
    pi0 = np.broadcast_to(pi0, (H, mdp.n_states, mdp.n_actions))
    Q0 = np.empty(pi0.shape)
    pi = np.empty(pi0.shape)
    V0_next = np.zeros(mdp.n_states)
    V_next = np.zeros(mdp.n_states)
    improvement, certificate = np.inf, np.inf
    for t in reversed(range(H)):
        Q0[t] = mdp.q_from_values(V0_next)
        V0_t = np.einsum("sa,sa->s", pi0[t], Q0[t])
        pi[t] = _tilt(pi0[t], Q0[t], beta, top_k)
        V_t = np.einsum("sa,sa->s", pi[t], mdp.q_from_values(V_next))
        certificate = min(certificate, float(np.min(np.einsum("sa,sa->s", pi[t], Q0[t]) - V0_t)))
        improvement = min(improvement, float(np.min(V_t - V0_t)))
        V0_next, V_next = V0_t, V_t
    return VASResult(pi, Q0, V_next, V0_next, improvement, certificate)


def preference_as_reward(r, r_ref) -> float | np.ndarray:
    r"""Preference As Reward (PAR): the sigmoid of the reward centred on reference samples.

    .. math::
        r_{RL}(x, y) = \frac1M \sum_{m=1}^{M} \sigma\big(r(x, y) - r(x, y^{ref}_m)\big),

    where :math:`r` is the proxy reward model, :math:`y^{ref}_1, \dots, y^{ref}_M` are responses of
    the reference (SFT) policy to the same prompt and :math:`\sigma` the logistic function: the
    estimated probability that :math:`y` beats a reference response. Fu et al. (2025), "Reward
    Shaping to Mitigate Reward Hacking in RLHF", arXiv 2502.18770 (the PAR shaping). Bounded in
    :math:`(0, 1)`, centred (:math:`1/2` when :math:`r` equals every reference reward), strictly
    increasing in :math:`r` and saturating; with rewards in :math:`(0, 1)` the discounted return
    :math:`G` has :math:`\mathrm{Var}[G] \le 1/(1-\gamma)^2` (indeed
    :math:`\le 1/(4(1-\gamma)^2)`, Popoviciu).

    Parameters
    ----------
    r : float or array, shape (n,)
        Rewards :math:`r(x_i, y_i)` of the responses being shaped.
    r_ref : array, shape (M,) or (n, M)
        Rewards of the :math:`M` reference responses: shared by every response, or one row per
        response (its prompt's references).

    Returns
    -------
    float, or array of shape (n,)

    Examples
    --------
    >>> preference_as_reward(0.0, [0.0, 0.0])
    0.5
    >>> preference_as_reward([1.0, -1.0], [[0.0], [0.0]]).round(4)
    array([0.7311, 0.2689])
    """
    x = check_array(r, "r", ndim=(0, 1))
    ref = check_array(r_ref, "r_ref", ndim=(1, 2))
    if ref.ndim == 2:
        if x.ndim != 1 or ref.shape[0] != x.size:
            raise ValueError(
                f"r_ref with shape {ref.shape} needs one row per reward: r must have shape "
                f"({ref.shape[0]},), got {x.shape}"
            )
        out = expit(x[:, None] - ref).mean(axis=-1)
    else:
        out = expit(x[..., None] - ref).mean(axis=-1)
    return float(out) if out.ndim == 0 else out
