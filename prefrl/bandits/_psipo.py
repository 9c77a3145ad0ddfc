r"""The KL-regularised optimum and the PsiPO family in closed form (population level).

Papers
------
* Azar, Guo, Piot, Munos, Rowland, Valko and Calandriello (2024), "A General Theoretical Paradigm
  to Understand Learning from Human Preferences" (AISTATS; the IPO paper): the PsiPO objective
  (Eq. 6), its maximiser (Eq. 7/9), IPO as Psi = identity (Eq. 8), Prop. 1 (Psi = logit under
  Bradley-Terry is RLHF/DPO), Thm. 2 (IPO's optimum is the unique minimiser of its loss).
* Rafailov, Sharma, Mitchell, Ermon, Manning and Finn (2023), "Direct Preference Optimization:
  Your Language Model is Secretly a Reward Model" (NeurIPS), Eq. 4: the KL-regularised optimum
  for a known reward, :math:`\pi^* \propto \pi_{ref} e^{r/\beta}`.

Public functions
----------------
* :func:`kl_regularized_optimum` -- the Gibbs policy of a known reward (DPO Eq. 4);
* :func:`psipo_objective` -- :math:`J_\Psi(\pi)` (IPO Eq. 6);
* :func:`psipo_optimum` -- its maximiser :math:`\pi_{ref} e^{g/\beta}/Z`,
  :math:`g(y) = \mathbb{E}_{y'\sim\mu}\Psi(P[y, y'])` (Eq. 7/9);
* :func:`ipo_optimum` -- Psi the identity (Eq. 8).

Each returns a :class:`~prefrl.bandits.BanditOptimum` whose ``certificate`` is the stationarity
residual :math:`\max |\beta\log(\pi/\pi_{ref}) - f + V|` (relative) on the support of
:math:`\pi_{ref}`, computed on the returned policy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import logit

from .._validation import check_array, check_positive
from ..policies import kl, log_gibbs, soft_value
from ._common import _check_policy_like, _population_args, _squeeze, _value
from ._results import BanditOptimum

__all__ = ["ipo_optimum", "kl_regularized_optimum", "psipo_objective", "psipo_optimum"]


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
    policy = np.broadcast_to(_check_policy_like(policy, "policy", Ps.shape[-1], "P"), mu.shape)
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
