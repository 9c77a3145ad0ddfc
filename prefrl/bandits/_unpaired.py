r"""Unpaired feedback: DRO (single rated responses) and PMPO (accepted and rejected sets).

Papers
------
* Richemond, Tang, Guo, Calandriello et al. (2024), "Offline Regularised Reinforcement Learning
  for Large Language Models Alignment", arXiv 2405.19107 (DRO): the squared loss
  :math:`\tfrac12\mathbb{E}_\mu[(r - V - \beta\log\pi/\pi_{ref})^2]` (Eq. 6) and its zero-loss point
  (Sec. 3), the KL-regularised optimum.
* Abdolmaleki et al. (2024), "Preference Optimization as Probabilistic Inference" (PMPO; v3
  "Learning from negative feedback, or positive feedback or both"), arXiv 2410.04166: the
  objective of Eq. 9, :math:`\alpha\mathbb{E}_a\log\pi - (1-\alpha)\mathbb{E}_d\log\pi
  - \beta\mathrm{KL}(\pi_{ref}\|\pi)`, whose exact maximiser and boundedness threshold on a
  categorical policy are derived here.

Public functions and results
----------------------------
* :func:`dro_population_loss` -- the population DRO loss (per sample :func:`prefrl.losses.dro`);
* :func:`dro_optimum` -> :class:`DROOptimum` -- its zero-loss point and the set of them;
* :func:`pmpo_objective` -- the PMPO objective of a policy (per sample :func:`prefrl.losses.pmpo`);
* :func:`pmpo_optimum` -> :class:`PMPOOptimum` -- the maximiser :math:`c/\sum c`, or the proof
  that the objective is unbounded (and the threshold :math:`\beta^*`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (
    check_array,
    check_distribution,
    check_in_range,
    check_nonnegative,
    check_positive,
)
from ..losses import dro as _dro
from ..policies import entropy, log_gibbs, soft_value
from ..results import Result
from ._common import _check_policy_like, _check_ref_on, _n_contexts, _rows, _squeeze, _value

__all__ = [
    "DROOptimum",
    "PMPOOptimum",
    "dro_optimum",
    "dro_population_loss",
    "pmpo_objective",
    "pmpo_optimum",
]


@dataclass(frozen=True, eq=False)
class DROOptimum(Result):
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
    converged : bool
        True (closed form).
    """

    policy: np.ndarray
    value: float | np.ndarray
    loss: float | np.ndarray
    iterations: int
    certificate: float
    unique: bool
    min_value: float | np.ndarray
    converged: bool = True


def _dro_args(rewards, mu, pi_ref):
    r = check_array(rewards, "rewards", ndim=(1, 2))
    K = r.shape[-1]
    mu = _check_policy_like(mu, "mu", K, "rewards")
    pi_ref = _check_policy_like(pi_ref, "pi_ref", K, "rewards")
    S, contextual = _n_contexts(rewards=_rows(r), mu=_rows(mu), pi_ref=_rows(pi_ref))
    r, mu, pi_ref = (np.broadcast_to(a, (S, K)) for a in (r, mu, pi_ref))
    for s in range(S):
        _check_ref_on(pi_ref[s], mu[s] > 0)
    return r, mu, pi_ref, contextual


def _dro_loss_from_logs(log_pi, log_ref, V, r, mu, beta):
    """Population DRO loss per context from log-probabilities, via prefrl.losses.dro."""
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
    pol = _check_policy_like(policy, "policy", K, "rewards")
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
class PMPOOptimum(Result):
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
    converged : bool
        True (closed form).
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
    converged: bool = True


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


def _pmpo_args(accepted, rejected, pi_ref, alpha, beta):
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
    pol = _check_policy_like(policy, "policy", ref.size, "pi_ref")
    if pol.ndim != 1:
        raise ValueError(f"policy must have shape ({ref.size},), got {pol.shape}")
    zero = pol <= 0
    up, down = bool((zero & (c < 0)).any()), bool((zero & (c > 0)).any())
    if up and down:
        raise ValueError("policy is 0 on actions with c > 0 and with c < 0: J is inf - inf there")
    if up or down:
        return float("inf") if up else float("-inf")
    on = c != 0
    return float(c[on] @ np.log(pol[on])) + beta * entropy(ref)


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
    ent = entropy(ref)

    def result(policy, value, certificate, bounded, attained, unique, threshold, escape=None):
        return PMPOOptimum(
            policy=policy, value=value, iterations=0, certificate=certificate, bounded=bounded,
            attained=attained, unique=unique, coefficients=c, multiplier=lam,
            beta_threshold=threshold, escape=escape,
        )

    if K == 1:
        return result(np.ones(1), beta * ent, 0.0, True, True, True, 0.0)
    if (c < 0).any():
        esc = int(np.argmin(c))
        return result(None, float("inf"), float(-c[esc]), False, False, False, threshold, esc)
    if lam == 0.0:  # c == 0: J is constant
        return result(ref.copy(), beta * ent, 0.0, True, True, False, threshold)
    policy = c / lam
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.sum(np.where(c > 0, c * np.log(np.where(c > 0, policy, 1.0)), 0.0)))
    value += beta * ent
    attained = not bool(((c == 0) & (size > 0)).any())
    cert = float(np.max(np.abs(c - lam * policy))) / (1.0 + float(np.max(np.abs(c))))
    return result(policy, value, cert, True, attained, True, threshold)

