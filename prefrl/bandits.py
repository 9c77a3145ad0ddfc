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
from scipy.optimize import minimize
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
from .policies import gibbs, kl, log_gibbs, soft_value

__all__ = [
    "BTFit",
    "BanditOptimum",
    "bt_mle",
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


@dataclass(frozen=True, eq=False)
class BTFit:
    """A Bradley-Terry maximum-likelihood fit (see :func:`bt_mle`).

    Attributes
    ----------
    rewards : array, shape (K,)
        The (minimum-norm) maximiser; when ``exists`` is False, the finite part, fitted on the
        comparisons inside strongly connected components.
    value : float
        The minimised penalised negative log-likelihood (its infimum when ``exists`` is False).
    iterations : int
        Newton iterations.
    certificate : float
        Max-norm of the gradient at ``rewards`` (plus the margin shortfall of ``direction``).
    exists : bool
        Whether the maximiser is finite: ``l2 > 0``, or every connected component of the comparison
        graph is strongly connected (Zermelo 1929; Ford 1957; Hunter 2004, Assumption 1).
    direction : array, shape (K,) or None
        When ``exists`` is False: the unit max-margin direction :math:`d` (constant on strongly
        connected components, :math:`d_w > d_l` for every comparison between them); the
        likelihood tends to its supremum along ``rewards + t * direction``, ``t -> inf``.
    components : array of int, shape (K,)
        Connected component of each action (undirected comparison graph).
    strong_components : array of int, shape (K,)
        Strongly connected component of each action (directed graph ``winner -> loser``).
    """

    rewards: np.ndarray
    value: float
    iterations: int
    certificate: float
    exists: bool
    direction: np.ndarray | None
    components: np.ndarray
    strong_components: np.ndarray


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


def _win_counts(winners, losers, n_actions: int, weights=None) -> np.ndarray:
    K = check_integer(n_actions, "n_actions", minimum=1)
    w = check_indices(winners, "winners", K)
    lo = check_indices(losers, "losers", K)
    if w.shape != lo.shape:
        raise ValueError(f"winners and losers must have the same length, got {w.size} and {lo.size}")
    if weights is None:
        wt = np.ones(w.size)
    else:
        wt = check_array(weights, "weights", ndim=1, nonempty=False)
        if wt.shape != w.shape:
            raise ValueError(f"weights must have the length of winners ({w.size}), got {wt.size}")
        if (wt < 0).any():
            i = int(np.argmax(wt < 0))
            raise ValueError(f"weights[{i}] = {wt[i]:.6g}, must be >= 0")
    W = np.zeros((K, K))
    # A response compared with itself carries no information: it adds the constant
    # -log sigma(0) = log 2 to the loss, kept on the diagonal of W for the loss's value.
    np.add.at(W, (w, lo), wt)
    return W


def _bt_nll_grad_hess(r, W, l2):
    # The diagonal of W (self-comparisons) contributes log 2 each and nothing to the derivatives.
    D = r[:, None] - r[None, :]
    nll = -(W * log_expit(D)).sum() + 0.5 * l2 * r @ r
    S = expit(-D)  # S[i, j] = sigma(r_j - r_i)
    grad = -(W * S).sum(axis=1) + (W.T * S.T).sum(axis=1) + l2 * r
    C = (W + W.T) * expit(D) * S
    H = np.diag(C.sum(axis=1)) - C + l2 * np.eye(r.size)
    return nll, grad, H


def _component_projector(labels: np.ndarray) -> np.ndarray:
    """Sum over components of 1_k 1_k^T (fills the null space of a graph Laplacian)."""
    return (labels[:, None] == labels[None, :]).astype(float)


def _newton_bt(W, l2, labels, tol=1e-12, max_iter=200):
    """Damped Newton on the (penalised) BT negative log-likelihood from r = 0 (min-norm iterates)."""
    K = W.shape[0]
    r = np.zeros(K)
    J = _component_projector(labels) if l2 == 0 else 0.0
    scale = max(1.0, float(W.sum()))
    nll, grad, H = _bt_nll_grad_hess(r, W, l2)
    it = 0
    for it in range(1, max_iter + 1):
        if not np.any(grad):
            it -= 1
            break
        try:
            step = -np.linalg.solve(H + J, grad)
        except np.linalg.LinAlgError:
            # Curvature below float range (preferences within 1e-300 of deterministic).
            step = -np.linalg.lstsq(H + J, grad, rcond=None)[0]
        # Backtracking (Armijo) line search; the slack 1e-13 |nll| absorbs rounding near the optimum.
        t = 1.0
        for _ in range(40):
            cand = r + t * step
            nll_c, grad_c, H_c = _bt_nll_grad_hess(cand, W, l2)
            if nll_c <= nll + 1e-4 * t * (grad @ step) + 1e-13 * (1.0 + abs(nll)):
                break
            t *= 0.5
        moved = np.max(np.abs(cand - r)) if K else 0.0
        r, nll, grad, H = cand, nll_c, grad_c, H_c
        # Stop on the size of the Newton step, not on the gradient: with tiny comparison weights
        # the Hessian is tiny too, and a small gradient can hide a large error in r. Newton
        # converges quadratically, so once a step is this small the next would be below rounding.
        if moved <= 1e3 * tol * (1.0 + np.max(np.abs(r))) and np.max(np.abs(grad)) <= tol * scale:
            break
    if l2 == 0:
        # Newton steps keep sum-zero per component up to rounding; restore it exactly.
        for k in np.unique(labels):
            m = labels == k
            r[m] -= r[m].mean()
        nll, grad, H = _bt_nll_grad_hess(r, W, l2)
    return r, float(nll), it, float(np.max(np.abs(grad))) if K else 0.0


def _max_margin_direction(W, strong):
    """Min-norm d, constant on strong components, with d_w - d_l >= 1 on every cross comparison."""
    n_scc = int(strong.max()) + 1
    counts = np.bincount(strong, minlength=n_scc).astype(float)
    pairs = sorted(
        {(int(strong[i]), int(strong[j])) for i, j in zip(*np.nonzero(W)) if strong[i] != strong[j]}
    )
    A = np.zeros((len(pairs), n_scc))
    for row, (a, b) in enumerate(pairs):
        A[row, a], A[row, b] = 1.0, -1.0

    def obj(D):
        return 0.5 * np.sum(counts * D * D)

    def jac(D):
        return counts * D

    res = minimize(
        obj,
        np.zeros(n_scc),
        jac=jac,
        constraints=[{"type": "ineq", "fun": lambda D: A @ D - 1.0, "jac": lambda D: A}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    D = res.x
    # Polish: solve the equality-constrained problem on the active set exactly (KKT system).
    active = A @ D - 1.0 <= 1e-6
    if active.any():
        Aa = A[active]
        Ninv = 1.0 / counts
        M = (Aa * Ninv) @ Aa.T
        lam = np.linalg.lstsq(M, np.ones(Aa.shape[0]), rcond=None)[0]
        D_pol = Ninv * (Aa.T @ lam)
        if np.all(A @ D_pol >= 1.0 - 1e-9):
            D = D_pol
    d = D[strong]
    d[np.abs(d) < 1e-12] = 0.0
    shortfall = float(max(0.0, 1.0 - (A @ D).min())) if len(pairs) else 0.0
    norm = np.linalg.norm(d)
    return d / norm if norm > 0 else d, shortfall


def _bt_fit(W: np.ndarray, l2: float) -> BTFit:
    n_comp, comp = connected_components((W + W.T) > 0, directed=False)
    n_scc, strong = connected_components(W > 0, directed=True, connection="strong")
    exists = l2 > 0 or n_scc == n_comp
    if exists:
        r, nll, it, gnorm = _newton_bt(W, l2, comp)
        return BTFit(r, nll, it, gnorm, True, None, comp, strong)
    # Keep only the comparisons inside strongly connected components: they have a finite MLE,
    # the others are separated and their likelihood tends to 1 along the direction d.
    inside = strong[:, None] == strong[None, :]
    W_in = np.where(inside, W, 0.0)
    r, nll, it, gnorm = _newton_bt(W_in, 0.0, strong)
    d, shortfall = _max_margin_direction(W, strong)
    return BTFit(r, nll, it, max(gnorm, shortfall), False, d, comp, strong)


def bt_mle(winners, losers, n_actions: int, l2: float = 0.0, *, weights=None) -> BTFit:
    r"""Bradley-Terry maximum-likelihood rewards from pairwise comparisons.

    .. math::
        \hat r = \arg\min_{r \in \mathbb{R}^K}\; -\sum_{k=1}^{n} w_k \log \sigma\big(r(y^w_k) -
        r(y^l_k)\big) + \frac{\lambda}{2} \lVert r \rVert^2,

    where :math:`y^w_k \succ y^l_k` is comparison :math:`k`, :math:`w_k \ge 0` its weight,
    :math:`\sigma` the logistic function and :math:`\lambda` = ``l2``. With :math:`\lambda = 0` the
    rewards are fixed only up to a constant per connected component of the comparison graph; the
    minimum-norm maximiser (zero sum per component, 0 on actions never compared) is returned. The
    maximiser is finite iff :math:`\lambda > 0` or every connected component is *strongly*
    connected in the directed graph winner :math:`\to` loser (Zermelo 1929; Ford 1957; Hunter
    2004). Otherwise ``exists`` is False and the likelihood approaches its supremum along
    ``rewards + t * direction``. This is the reward-modelling step of RLHF (Rafailov et al. 2023,
    Eq. 2; Azar et al. 2024, Sec. 4).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
        Comparison ``k`` says ``winners[k]`` beat ``losers[k]``; self-comparisons are ignored.
    n_actions : int
        Number of actions K.
    l2 : float >= 0
        Ridge penalty :math:`\lambda` on the rewards (on the summed, not averaged, likelihood, so
        its effect fades as n grows).
    weights : array, shape (n,), optional
        Nonnegative weights :math:`w_k` (1 by default).

    Returns
    -------
    BTFit

    Examples
    --------
    >>> fit = bt_mle([0, 1, 0], [1, 0, 1], n_actions=2)
    >>> fit.exists, round(float(fit.rewards[0] - fit.rewards[1]), 4)   # log(2/1)
    (True, 0.6931)
    >>> fit = bt_mle([0, 1], [1, 2], n_actions=3)                      # a chain: no finite MLE
    >>> fit.exists, fit.direction.round(4)
    (False, array([ 0.7071,  0.    , -0.7071]))
    """
    W = _win_counts(winners, losers, n_actions, weights)
    l2 = check_nonnegative(l2, "l2")
    return _bt_fit(W, l2)


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
        out.append(_finish_dpo(_bt_fit(W, 0.0), pi_ref[s], beta, 1.0))
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
        W = _win_counts(w, lo, K)
        out.append(_finish_dpo(_bt_fit(W, 0.0), ref, beta, float(w.size)))
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
        fit = _bt_fit(_win_counts(w, lo, ref.size), l2)
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
        Wc = _win_counts(w, lo, K)
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

