r"""Restricted policy and reward classes: KL projections, RLHF and DPO within classes, EXO vs DPO.

When every policy is available, RLHF, DPO and EXO share one optimum, the Gibbs tilt
:math:`\pi^* = \pi_{ref} e^{r^*/\beta}/Z`. At scale the classes are restricted, and the methods part
ways. This module makes the bandit version exact.

* The **policy class** is log-linear, :math:`\pi_\theta(y) \propto \pi_{ref}(y)\exp(\theta^\top
  \phi(y))` with user features :math:`\phi` of shape ``(K, d)`` (see
  :class:`prefrl.policies.LogLinearPolicy`); ``features = np.eye(K)`` is the full class.
* The **reward class** is linear, :math:`r_w(y) = w^\top \psi(y)` with features :math:`\psi` of
  shape ``(K, m)``.

Two projections onto the policy class do all the work:

* :func:`forward_kl_projection`, :math:`\min_\theta \mathrm{KL}(p \,\|\, \pi_\theta)`: convex,
  solved by moment matching :math:`\mathbb{E}_{\pi_\theta}\phi = \mathbb{E}_p\phi` (mean-seeking);
* :func:`reverse_kl_projection`, :math:`\min_\theta \mathrm{KL}(\pi_\theta \,\|\, p)`: non-convex,
  solved from several starts (mode-seeking). Since
  :math:`\mathbb{E}_\pi r - \beta\mathrm{KL}(\pi\|\pi_{ref}) = \beta\log Z - \beta\,
  \mathrm{KL}(\pi \,\|\, \pi_{ref}e^{r/\beta}/Z)`, it is also RLHF's policy step within the class.

DPO within the log-linear class is a logistic regression in :math:`\beta\theta` (the reference
and the normaliser cancel in the margin), so it is the Bradley-Terry fit in the *implicit* reward
class :math:`\{\beta\theta^\top\phi\}` (Shi et al. 2025, "Understanding the Performance Gap in
Preference Learning"). The K-sample EXO loss tends to the reverse KL and the K-sample DPO loss to
the forward KL (Ji et al. 2024, "Towards Efficient Exact Optimization of Language Model
Alignment"), which is why, in a class that cannot represent :math:`\pi^*`, EXO settles on a mode and
DPO spreads between modes.

Every solver returns a frozen result object with a certificate (the max-norm of the gradient of
the objective it minimises, computed at the returned point, with respect to the parameters in
units where each feature column spans at most 1, so that the tolerances do not depend on how the
features are scaled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import log_expit

from ._optim import MIN_UNIT, damped_newton
from ._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_indices,
    check_integer,
    check_nonnegative,
    check_positive,
    check_preference_matrix,
    check_probability,
)
from .bradley_terry import (
    LinearBTFit,  # noqa: F401  (moved to prefrl.bradley_terry; importable here)
    comparison_counts,
    linear_bt_mle,  # noqa: F401
    linear_bt_mle_counts,
    linear_bt_mle_dataset,  # noqa: F401
    population_counts,
)
from .losses import value_and_grad
from .policies import LogLinearPolicy, gibbs, kl, regularized_objective

__all__ = [
    "ExpectedDPOGradient",
    "KSampleTraining",
    "OnlineDPOResult",
    "PilafPolicies",
    "ProjectionResult",
    "RestrictedFit",
    "dpo_restricted",
    "dpo_restricted_dataset",
    "expected_dpo_gradient",
    "forward_kl_projection",
    "k_sample_expected_loss",
    "k_sample_limit",
    "k_sample_loss",
    "on_policy_pair_distribution",
    "online_dpo",
    "online_dpo_expected",
    "pilaf_pair_distribution",
    "pilaf_policies",
    "policy_value",
    "reverse_kl_projection",
    "rlhf_restricted",
    "rlhf_restricted_dataset",
    "train_k_sample",
]


# ----------------------------------------------------------------------------------------------
# Result objects
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProjectionResult:
    """A KL projection onto a log-linear class.

    Attributes
    ----------
    policy : array, shape (K,)
        The projected policy :math:`\\pi_{\\hat\\theta}`.
    theta : array, shape (d,)
        Its parameter (the minimum-norm one when the features are rank-deficient).
    value : float
        The divergence at the optimum (forward or reverse KL to the target).
    iterations : int
        Solver iterations (summed over starts for the reverse projection).
    certificate : float
        Max-norm of the gradient of the divergence at ``theta`` (first-order condition), in
        units where each feature spans at most 1.
    converged : bool
        Whether ``certificate`` reached the solver tolerance. False for a forward projection whose
        moment lies on the boundary of the feature hull: the infimum is then not attained.
    start_values : array
        The local minima found from every start (reverse projection; one entry for the forward one).
    """

    policy: np.ndarray
    theta: np.ndarray
    value: float
    iterations: int
    certificate: float
    converged: bool
    start_values: np.ndarray


@dataclass(frozen=True, eq=False)
class RestrictedFit:
    """The policy that RLHF or DPO returns within a restricted class.

    Attributes
    ----------
    policy : array, shape (K,)
    theta : array, shape (d,)
        Parameter of the log-linear policy.
    value : float
        The method's own objective at the optimum: the maximised :math:`V_{\\hat r}` for RLHF, the
        minimised DPO loss for DPO.
    iterations : int
    certificate : float
        Largest first-order residual of the stages (reward fit and policy step).
    converged : bool
    reward : array, shape (K,)
        The reward the method fits: :math:`\\hat r = \\psi\\hat w` for RLHF, the implicit reward
        :math:`\\beta\\hat\\theta^\\top\\phi` for DPO.
    """

    policy: np.ndarray
    theta: np.ndarray
    value: float
    iterations: int
    certificate: float
    converged: bool
    reward: np.ndarray


@dataclass(frozen=True, eq=False)
class OnlineDPOResult:
    """Trajectory of online DPO (see :func:`online_dpo`).

    Attributes
    ----------
    policy : array, shape (K,)
        The final policy.
    theta : array, shape (d,)
    thetas : array, shape (rounds + 1, d)
        The parameter after every round (row 0 is the start, zero).
    values : array, shape (rounds + 1,)
        :math:`V^*(\\pi_{\\theta_t})` after every round.
    iterations : int
        Gradient steps taken.
    certificate : float
        Max-norm of the gradient of the last round's sampled loss at the final parameter.
    """

    policy: np.ndarray
    theta: np.ndarray
    thetas: np.ndarray
    values: np.ndarray
    iterations: int
    certificate: float


@dataclass(frozen=True, eq=False)
class KSampleTraining:
    """Result of K-sample EXO or DPO training on a log-linear class (see :func:`train_k_sample`).

    Attributes
    ----------
    policy : array, shape (K,)
        :math:`\\pi_{\\theta}^{\\beta_\\pi} \\propto \\pi_{ref}\\, e^{\\beta_\\pi \\theta^\\top\\phi}`,
        the policy the loss compares with the target (equal to :math:`\\pi_\\theta` for
        :math:`\\beta_\\pi = 1`).
    theta : array, shape (d,)
        The final (Polyak-averaged over the last half of the steps) parameter.
    losses : array, shape (steps,)
        Mean minibatch loss at every step.
    iterations : int
        Steps taken.
    certificate : float
        Max-norm of the gradient of the K -> infinity limit of the loss at ``theta`` (how far the
        fit is from the limit's stationary point; it tends to 0 only as K grows).
    """

    policy: np.ndarray
    theta: np.ndarray
    losses: np.ndarray
    iterations: int
    certificate: float


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def _policy_class(features, reference) -> LogLinearPolicy:
    phi = check_array(features, "features", ndim=2)
    if reference is not None:
        reference = check_distribution(reference, "reference", size=phi.shape[0])
    return LogLinearPolicy(phi, reference)


def _check_target(target, K: int) -> np.ndarray:
    return check_distribution(target, "target", size=K)


def _weights_from_dataset(winners, losers, K: int) -> np.ndarray:
    W = comparison_counts(winners, losers, K)
    if np.size(winners) == 0:
        raise ValueError("winners must not be empty")
    np.fill_diagonal(W, 0.0)
    return W


def _lse(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """A lean logsumexp (scipy's is slow on tiny arrays); ``z`` has a finite entry per slice."""
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_ref(cls: LogLinearPolicy) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(cls.pi_ref)


def _log_probs(cls: LogLinearPolicy, theta: np.ndarray) -> np.ndarray:
    z = _log_ref(cls) + cls.features @ theta
    return z - _lse(z)


def _log_partition(cls: LogLinearPolicy, theta: np.ndarray) -> float:
    return float(_lse(_log_ref(cls) + cls.features @ theta))




def _column_scales(F: np.ndarray) -> np.ndarray:
    """Per-column spread max_i F[i, j] - min_i F[i, j] (1 where a column is constant; at least 1e-100).

    The Newton solvers stop on the gradient, whose size scales with the features: fitting on
    F / scales and dividing the solution by the scales makes the stopping rule independent of the
    features' units (features of size 1e-9 otherwise stop the fit far from the optimum).
    """
    if F.shape[0] == 0:
        return np.ones(F.shape[1])
    s = F.max(axis=0) - F.min(axis=0)
    return np.where(s > 0, np.maximum(s, MIN_UNIT), 1.0)


# ----------------------------------------------------------------------------------------------
# Projections
# ----------------------------------------------------------------------------------------------


def forward_kl_projection(target, features, reference=None) -> ProjectionResult:
    r"""Forward-KL (moment-matching) projection of a distribution onto a log-linear class.

    .. math::
        \hat\theta = \arg\min_{\theta \in \mathbb{R}^d} \mathrm{KL}(p \,\|\, \pi_\theta), \qquad
        \pi_\theta(y) = \frac{\pi_{ref}(y)\, e^{\theta^\top\phi(y)}}{\sum_{y'} \pi_{ref}(y')\,
        e^{\theta^\top\phi(y')}},

    where :math:`p` is the target, :math:`\phi(y) \in \mathbb{R}^d` the features and
    :math:`\pi_{ref}` the reference. The objective is :math:`\log Z_\theta - \theta^\top
    \mathbb{E}_p\phi` plus a constant, convex, with first-order condition
    :math:`\mathbb{E}_{\pi_\theta}\phi = \mathbb{E}_p\phi` (moment matching, as for maximum likelihood
    in an exponential family). It is the :math:`K\to\infty` limit of the K-sample DPO loss (Ji et al. 2024,
    "Towards Efficient and Exact Optimization of Language Model Alignment"): mean-seeking.
    Solved by damped Newton (Hessian :math:`\mathrm{Cov}_{\pi_\theta}\phi`) from
    :math:`\theta = 0`, which gives the minimum-norm :math:`\hat\theta` when the features are
    rank-deficient.

    Parameters
    ----------
    target : array, shape (K,)
        :math:`p`, zero wherever the reference is zero.
    features : array, shape (K, d)
        Row ``y`` is :math:`\phi(y)`.
    reference : array, shape (K,), optional
        :math:`\pi_{ref}`; uniform by default.

    Returns
    -------
    ProjectionResult
        ``converged`` is False when :math:`\mathbb{E}_p\phi` lies on the relative boundary of the
        convex hull of the features (checked by a linear program): the minimiser is then at
        infinity, and the returned policy approaches it.

    Examples
    --------
    The Gaussian-like class with features :math:`(y, y^2)` matches mean and second moment:

    >>> y = np.arange(5.0)
    >>> target = np.array([0.4, 0.1, 0.0, 0.1, 0.4])
    >>> res = forward_kl_projection(target, np.c_[y, y**2])
    >>> bool(np.allclose(res.policy @ y, target @ y)), bool(np.allclose(res.policy @ y**2, target @ y**2))
    (True, True)
    """
    cls = _policy_class(features, reference)
    p = _check_target(target, cls.n_actions)
    off = (cls.pi_ref == 0) & (p > 0)
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(
            f"target[{i}] = {p[i]:.6g} > 0 where reference[{i}] = 0: every policy in the class has "
            "infinite forward KL"
        )
    phi = cls.features
    m = p @ phi
    scale = _column_scales(phi[cls.pi_ref > 0])  # solve for v = scale * theta (units of 1)

    def fgh(v):
        theta = v / scale
        lp = _log_probs(cls, theta)
        q = np.exp(lp)
        mean = q @ phi
        c = (phi - mean) / scale
        return (float(_log_partition(cls, theta) - theta @ m), (mean - m) / scale,
                (c * q[:, None]).T @ c)

    newton = damped_newton(fgh, np.zeros(cls.dim))
    v, it, cert, ok = newton.x, newton.iterations, newton.certificate, newton.converged
    # the minimum-norm theta: drop the part along directions that no policy of the class sees
    C = phi[cls.pi_ref > 0] - phi[cls.pi_ref > 0].mean(axis=0)
    theta = np.linalg.lstsq(C, C @ (v / scale), rcond=None)[0]
    policy = cls.probs(theta)
    value = float(kl(p, policy))
    ok = ok and _in_relative_interior(phi[cls.pi_ref > 0], m)
    return ProjectionResult(policy, theta, value, it, cert, ok, np.array([value]))


def _in_relative_interior(points: np.ndarray, m: np.ndarray) -> bool:
    """Whether m = sum_y lam_y points[y] with every lam_y > 0 (the moment is attained)."""
    n = points.shape[0]
    # max t  s.t.  lam >= t, sum lam = 1, lam @ points = m  (variables lam_1..n, t)
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_eq = np.zeros((1 + points.shape[1], n + 1))
    A_eq[0, :n] = 1.0
    A_eq[1:, :n] = points.T
    b_eq = np.r_[1.0, m]
    A_ub = np.c_[-np.eye(n), np.ones(n)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=b_eq,
                  bounds=[(0, None)] * n + [(None, 1.0)], method="highs")
    return bool(res.status == 0 and -res.fun > 1e-9)


def _reverse_kl_parts(cls: LogLinearPolicy, log_target: np.ndarray, theta: np.ndarray):
    """Reverse KL(pi_theta || p), its gradient Cov(phi, l) and Hessian, on supp(reference)."""
    on = cls.pi_ref > 0
    lp = _log_probs(cls, theta)
    q = np.where(on, np.exp(lp), 0.0)
    ell = np.where(on, lp - np.where(on, log_target, 0.0), 0.0)
    L = float(q @ ell)
    c = cls.features - q @ cls.features
    grad = (q * ell) @ c
    cov = (c * q[:, None]).T @ c
    hess = cov + (c * (q * (ell - L))[:, None]).T @ c
    return L, grad, hess


def reverse_kl_projection(
    target, features, reference=None, *, n_starts: int = 4, rng=0, extra_starts=None
) -> ProjectionResult:
    r"""Reverse-KL (mode-seeking) projection of a distribution onto a log-linear class.

    .. math::
        \hat\theta = \arg\min_{\theta \in \mathbb{R}^d} \mathrm{KL}(\pi_\theta \,\|\, p)
        = \arg\min_\theta \sum_y \pi_\theta(y) \log\frac{\pi_\theta(y)}{p(y)},

    with :math:`\pi_\theta(y) \propto \pi_{ref}(y)\, e^{\theta^\top\phi(y)}` as in
    :func:`forward_kl_projection`. The gradient is :math:`\mathrm{Cov}_{\pi_\theta}(\phi, \ell)`
    with :math:`\ell = \log\pi_\theta - \log p`, and the Hessian
    :math:`\mathrm{Cov}_{\pi_\theta}\phi + \mathbb{E}_{\pi_\theta}[(\phi-\bar\phi)(\phi-\bar\phi)^\top
    (\ell - \mathrm{KL})]`, which can be indefinite: the problem is non-convex (a bimodal target
    has a local minimum on each mode). For :math:`p = \pi_{ref} e^{r/\beta}/Z`,

    .. math::
        \mathbb{E}_\pi r - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref}) = \beta \log Z - \beta\,
        \mathrm{KL}(\pi \,\|\, p),

    so this is the RLHF policy step within the class (Shi et al. 2025, "Understanding the
    Performance Gap in Preference Learning", Sec. 3), and the :math:`K\to\infty` limit of the
    K-sample EXO loss (Ji et al. 2024). Trust-region Newton runs from ``n_starts`` starts
    (zero, the forward projection and random ones), from a concentrated start near each of the 64
    most likely actions of the target (the moment match of :math:`0.9\,\delta_y + 0.1\,p`) and from
    ``extra_starts``; the best local minimum is returned with its first-order certificate.

    Parameters
    ----------
    target : array, shape (K,)
        :math:`p`, positive wherever the reference is positive.
    features : array, shape (K, d)
    reference : array, shape (K,), optional
        Uniform by default.
    n_starts : int >= 1
        Number of generic starts (zero and the forward projection come first, then random ones);
        the concentrated starts come on top. When the target lies in the class (its forward
        projection has reverse KL <= 1e-13), that point is the global minimum and is returned.
    rng : int or numpy.random.Generator
        Seeds the random starts.
    extra_starts : array, shape (n, d), optional
        Further starting points (e.g. one per mode of the target).

    Returns
    -------
    ProjectionResult
        ``start_values`` lists the local minima from every start; ``converged`` says whether the
        best one meets the gradient tolerance.

    Examples
    --------
    A bimodal target over 9 ordered actions and the Gaussian-like class: the reverse projection
    sits on the taller mode (at 2), with a smaller KL than the local minimum on the other mode.

    >>> y = np.arange(9.0)
    >>> target = np.exp(-(y - 2) ** 2) * 0.6 + np.exp(-(y - 6) ** 2) * 0.4
    >>> target /= target.sum()
    >>> res = reverse_kl_projection(target, np.c_[y, y**2])
    >>> int(np.argmax(res.policy)), bool(res.converged), bool(res.value < res.start_values.max())
    (2, True, True)
    """
    cls = _policy_class(features, reference)
    p = _check_target(target, cls.n_actions)
    n_starts = check_integer(n_starts, "n_starts", minimum=1)
    gen = as_rng(rng)
    on = cls.pi_ref > 0
    bad = on & (p <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"target[{i}] = 0 where reference[{i}] > 0: every policy in the class has infinite "
            "reverse KL"
        )
    log_p = np.full(cls.n_actions, -np.inf)
    log_p[p > 0] = np.log(p[p > 0])
    d = cls.dim
    # Search in units where each feature spans at most 1 on the support (the same class of
    # policies; theta = theta_scaled / units), so that the stopping tolerances mean the same for
    # features of size 1e-9 and 1e9.
    units = _column_scales(cls.features[on])
    cls = _policy_class(cls.features / units, cls.pi_ref)
    fwd = forward_kl_projection(p, cls.features, cls.pi_ref)
    if fwd.converged and _reverse_kl_parts(cls, log_p, fwd.theta)[0] <= 1e-13:
        # The target is in the class: KL = 0 is the global minimum, no search needed.
        n_starts, starts = 1, [fwd.theta]
    else:
        starts = [np.zeros(d), fwd.theta][:n_starts]
    scale = 1.0 / (1.0 + np.std(cls.features[on], axis=0))
    while len(starts) < n_starts:
        starts.append(gen.normal(size=d) * 3.0 * scale)
    # Concentrated starts: the moment match of 0.9 * point mass + 0.1 * target at each of the
    # (up to 64) most likely actions, so that a local minimum on every mode is visited.
    for y in np.argsort(-p, kind="stable")[: min(64, int(on.sum())) if n_starts > 1 else 0]:
        q = 0.1 * p + 0.9 * np.eye(cls.n_actions)[y]
        starts.append(forward_kl_projection(q, cls.features, cls.pi_ref).theta)
    if extra_starts is not None:
        extra = check_array(extra_starts, "extra_starts", ndim=2, shape=(None, d))
        starts.extend(list(extra * units))

    cache: dict = {}

    def parts(t):
        key = t.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = _reverse_kl_parts(cls, log_p, t)
        return cache[key]

    best, values, total_it = None, [], 0
    for x0 in starts:
        res = minimize(
            lambda t: parts(t)[0],
            x0,
            jac=lambda t: parts(t)[1],
            hess=lambda t: parts(t)[2],
            method="trust-exact",
            options={"gtol": 1e-12, "maxiter": 500},
        )
        theta = res.x
        L, g, _ = _reverse_kl_parts(cls, log_p, theta)
        total_it += int(res.nit)
        values.append(L)
        cert = float(np.max(np.abs(g)))
        if best is None or L < best[0] - 1e-12 or (abs(L - best[0]) <= 1e-12 and cert < best[2]):
            best = (L, theta, cert)
    L, theta, cert = best
    return ProjectionResult(
        cls.probs(theta), theta / units, float(L), total_it, cert, cert <= 1e-8, np.array(values)
    )


# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
# RLHF and DPO within classes
# ----------------------------------------------------------------------------------------------


def policy_value(policy, reward, reference, beta) -> float:
    r"""The true KL-regularised value :math:`V^*(\pi) = \mathbb{E}_\pi r^* - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})`.

    The yardstick of the RLHF-DPO dichotomy (Shi et al. 2025, their measure of performance); maximised over all policies
    by :math:`\pi^* = \pi_{ref}e^{r^*/\beta}/Z`.

    Parameters
    ----------
    policy, reference : arrays, shape (K,)
    reward : array, shape (K,)
        :math:`r^*`.
    beta : float > 0

    Examples
    --------
    >>> round(policy_value([0.5, 0.5], [1.0, 0.0], [0.5, 0.5], 1.0), 4)
    0.5
    """
    return float(regularized_objective(policy, reward, reference, check_positive(beta, "beta")))


def _rlhf(W, reward_features, policy_features, reference, beta, l2, n_starts, rng):
    cls = _policy_class(policy_features, reference)
    psi = check_array(reward_features, "reward_features", ndim=2, shape=(cls.n_actions, None))
    beta = check_positive(beta, "beta")
    fit = linear_bt_mle_counts(W, psi, l2)
    target = gibbs(cls.pi_ref, fit.rewards, beta)
    proj = reverse_kl_projection(target, cls.features, cls.pi_ref, n_starts=n_starts, rng=rng)
    value = float(regularized_objective(proj.policy, fit.rewards, cls.pi_ref, beta))
    return RestrictedFit(
        proj.policy,
        proj.theta,
        value,
        fit.iterations + proj.iterations,
        max(fit.certificate, proj.certificate),
        fit.converged and proj.converged,
        fit.rewards,
    )


def _dpo(W, policy_features, reference, beta, l2):
    cls = _policy_class(policy_features, reference)
    beta = check_positive(beta, "beta")
    fit = linear_bt_mle_counts(W, cls.features, l2)
    theta = fit.weights / beta
    return RestrictedFit(
        cls.probs(theta),
        theta,
        float(fit.value / W.sum()),
        fit.iterations,
        fit.certificate,
        fit.converged,
        fit.rewards,
    )


def rlhf_restricted(
    P, mu, reward_features, policy_features, reference, beta, *, n_starts: int = 4, rng=0
) -> RestrictedFit:
    r"""Population RLHF within classes: BT-MLE in the reward class, then the best policy in the class.

    .. math::
        \hat w = \arg\min_w \sum_{y,y'}\mu(y)\mu(y')P[y,y']\big(-\log\sigma(r_w(y) - r_w(y'))\big),
        \qquad \hat\theta = \arg\max_{\theta}\; \mathbb{E}_{\pi_\theta} r_{\hat w} - \beta\,
        \mathrm{KL}(\pi_\theta\,\|\,\pi_{ref}),

    with :math:`r_w = \psi w` (reward features :math:`\psi`, shape ``(K, m)``) and
    :math:`\pi_\theta \propto \pi_{ref} e^{\phi\theta}` (policy features :math:`\phi`, shape
    ``(K, d)``). The second step is :func:`reverse_kl_projection` of
    :math:`\pi_{ref}e^{r_{\hat w}/\beta}/Z`. Shi et al. (2025), "Understanding the Performance Gap
    in Preference Learning", Sec. 3 (the two-stage pipeline with reward class :math:`\mathcal F`
    and policy class :math:`\Pi`). When :math:`r^*\in\mathcal F`, it attains
    :math:`\max_{\pi\in\Pi} V^*(\pi)`.

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix :math:`P[y, y'] = p^*(y\succ y')`.
    mu : array, shape (K,)
        Distribution of the compared responses.
    reward_features : array, shape (K, m)
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None).
    beta : float > 0
    n_starts : int
        Starts of the (non-convex) policy step.
    rng : int or Generator
        Seeds the random starts.

    Returns
    -------
    RestrictedFit
        ``reward`` is :math:`\psi\hat w`; ``value`` is :math:`V_{\hat r}` at the returned policy.

    Examples
    --------
    Full classes: RLHF returns the Gibbs policy of the true reward.

    >>> r = np.array([1.0, 0.0, -1.0])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> fit = rlhf_restricted(P, [1/3] * 3, np.eye(3), np.eye(3), None, beta=0.5)
    >>> bool(np.allclose(fit.policy, gibbs(np.ones(3) / 3, r, 0.5)))
    True
    """
    W = population_counts(P, mu)
    return _rlhf(W, reward_features, policy_features, reference, beta, 0.0, n_starts, rng)


def dpo_restricted(P, mu, policy_features, reference, beta) -> RestrictedFit:
    r"""Population DPO within a log-linear policy class: a convex logistic regression.

    .. math::
        \hat\theta = \arg\min_\theta \sum_{y,y'}\mu(y)\mu(y')P[y,y']
        \Big(-\log\sigma\Big(\beta\log\frac{\pi_\theta(y)}{\pi_{ref}(y)} -
        \beta\log\frac{\pi_\theta(y')}{\pi_{ref}(y')}\Big)\Big),

    and since :math:`\beta\log\frac{\pi_\theta(y)}{\pi_{ref}(y)} - \beta\log\frac{\pi_\theta(y')}
    {\pi_{ref}(y')} = \beta\theta^\top(\phi(y) - \phi(y'))`, :math:`\beta\hat\theta` is the
    Bradley-Terry MLE in the implicit reward class :math:`\mathcal F_\Pi = \{\beta\theta^\top\phi\}`
    (:func:`linear_bt_mle` with features :math:`\phi`). Rafailov et al. (2023), Eq. 7, restricted
    to :math:`\Pi`; Shi et al. (2025), Sec. 3. When :math:`\pi^*\in\Pi` (and :math:`\mu` has full
    support) it returns :math:`\pi^*`.

    Parameters
    ----------
    P : array, shape (K, K)
    mu : array, shape (K,)
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
    beta : float > 0

    Returns
    -------
    RestrictedFit
        ``value`` is the minimised population DPO loss; ``reward`` the implicit reward
        :math:`\beta\phi\hat\theta`.

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> fit = dpo_restricted(P, [1/3] * 3, r[:, None], None, beta=0.5)   # pi* is in the class
    >>> fit.theta.round(6)
    array([2.])
    """
    W = population_counts(P, mu)
    return _dpo(W, policy_features, reference, beta, 0.0)


def rlhf_restricted_dataset(
    winners, losers, reward_features, policy_features, reference, beta, *, l2: float = 0.0,
    n_starts: int = 4, rng=0,
) -> RestrictedFit:
    r"""Finite-sample RLHF within classes: ridge BT-MLE in the reward class, then the policy step.

    .. math::
        \hat w = \arg\min_w -\sum_{k=1}^n \log\sigma\big(r_w(y^w_k) - r_w(y^l_k)\big)
        + \frac\lambda2\lVert w\rVert^2,\qquad
        \hat\theta = \arg\max_\theta \mathbb{E}_{\pi_\theta} r_{\hat w} - \beta\,
        \mathrm{KL}(\pi_\theta\,\|\,\pi_{ref}),

    with :math:`r_w = \psi w`, :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}` and
    :math:`\lambda` = ``l2``. Shi et al. (2025), Sec. 4 (the statistical comparison).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    reward_features : array, shape (K, m)
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
    beta : float > 0
    l2 : float >= 0
    n_starts : int
    rng : int or Generator

    Examples
    --------
    >>> fit = rlhf_restricted_dataset([0, 0, 1], [1, 1, 0], np.eye(2), np.eye(2), None, 1.0)
    >>> fit.policy.round(4)
    array([0.6667, 0.3333])
    """
    cls = _policy_class(policy_features, reference)
    W = _weights_from_dataset(winners, losers, cls.n_actions)
    return _rlhf(W, reward_features, cls.features, cls.pi_ref, beta,
                 check_nonnegative(l2, "l2"), n_starts, rng)


def dpo_restricted_dataset(
    winners, losers, policy_features, reference, beta, *, l2: float = 0.0
) -> RestrictedFit:
    r"""Finite-sample DPO within a log-linear class (logistic regression in :math:`\beta\theta`).

    .. math::
        \hat\theta = \arg\min_\theta -\sum_{k=1}^n\log\sigma\big(\beta\theta^\top(\phi(y^w_k) -
        \phi(y^l_k))\big) + \frac{\lambda}{2}\lVert\beta\theta\rVert^2,

    Rafailov et al. (2023), Eq. 7, in the class :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`;
    :math:`\lambda` = ``l2`` is a ridge on the implicit reward weights (0 is plain DPO).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
    beta : float > 0
    l2 : float >= 0

    Examples
    --------
    >>> fit = dpo_restricted_dataset([0, 0, 1], [1, 1, 0], np.eye(2), None, 1.0)
    >>> fit.policy.round(4)
    array([0.6667, 0.3333])
    """
    cls = _policy_class(policy_features, reference)
    W = _weights_from_dataset(winners, losers, cls.n_actions)
    return _dpo(W, cls.features, cls.pi_ref, beta, check_nonnegative(l2, "l2"))


def online_dpo(
    reward, policy_features, reference, beta, *, rounds: int = 50, pairs_per_round: int = 64,
    steps_per_round: int = 20, lr: float = 0.5, rng=0, sampler: str = "on-policy",
    pilaf_weight=None,
) -> OnlineDPOResult:
    r"""Online DPO: sample pairs from the current policy, label them by Bradley-Terry, take DPO steps.

    At round :math:`t`, draw ``pairs_per_round`` pairs :math:`(y, y')` from the pair
    distribution of ``sampler`` at :math:`\pi_{\theta_t}`, label :math:`y\succ y'` with
    probability :math:`\sigma(r^*(y) - r^*(y'))`, and take ``steps_per_round`` gradient steps on
    the mean DPO loss

    .. math::
        \ell(\theta) = -\frac1n\sum_{k}\log\sigma\big(\beta\theta^\top(\phi(y^w_k) -
        \phi(y^l_k))\big),

    with :math:`\pi_\theta \propto \pi_{ref}e^{\phi\theta}` (the reference stays fixed). With
    ``sampler="on-policy"`` (the default) both responses are drawn independently from
    :math:`\pi_{\theta_t}`; with ``sampler="pilaf"`` the pair is drawn from
    :func:`pilaf_pair_distribution` (Feng et al. 2025, "PILAF: Optimal Human Preference Sampling
    for Reward Modeling", arXiv 2502.04270: with probability :math:`w` both from
    :math:`\pi_{\theta_t}`, otherwise :math:`y\sim\pi^+_{\theta_t}`, :math:`y'\sim
    \pi^-_{\theta_t}`). This is the online variant discussed by Shi et al. (2025), Sec. 3, in the
    log-linear class; :func:`online_dpo_expected` runs the same loop on the exact expected loss.

    Parameters
    ----------
    reward : array, shape (K,)
        True reward :math:`r^*` behind the labels.
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
    beta : float > 0
    rounds, pairs_per_round, steps_per_round : int >= 1
    lr : float > 0
        Step size on :math:`\theta`.
    rng : int or Generator
    sampler : {"on-policy", "pilaf"}
        How each round's pairs are drawn. The default draws exactly the random numbers it drew
        before the option existed, so seeded results are unchanged.
    pilaf_weight : float in [0, 1] or None
        PILAF only: probability :math:`w` of an on-policy pair; ``None`` is the T-PILAF weight
        :math:`1/(1 + Z^+Z^-)` (see :func:`pilaf_pair_distribution`).

    Returns
    -------
    OnlineDPOResult

    Examples
    --------
    >>> res = online_dpo([1.0, 0.0], np.eye(2), None, 1.0, rounds=5, rng=0)
    >>> bool(res.policy[0] > 0.5), res.values.shape
    (True, (6,))
    >>> res = online_dpo([1.0, 0.0], np.eye(2), None, 1.0, rounds=5, rng=0, sampler="pilaf")
    >>> bool(res.policy[0] > 0.5)
    True
    """
    cls = _policy_class(policy_features, reference)
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    beta = check_positive(beta, "beta")
    rounds = check_integer(rounds, "rounds", minimum=1)
    n = check_integer(pairs_per_round, "pairs_per_round", minimum=1)
    steps = check_integer(steps_per_round, "steps_per_round", minimum=1)
    lr = check_positive(lr, "lr")
    sampler = _check_sampler(sampler)
    if pilaf_weight is not None:
        pilaf_weight = check_probability(pilaf_weight, "pilaf_weight")
    gen = as_rng(rng)
    theta = np.zeros(cls.dim)
    thetas, values = [theta.copy()], [policy_value(cls.probs(theta), r, cls.pi_ref, beta)]
    g = np.zeros(cls.dim)
    K = cls.n_actions
    for _ in range(rounds):
        pi = cls.probs(theta)
        if sampler == "on-policy":
            a = gen.choice(K, size=n, p=pi)
            b = gen.choice(K, size=n, p=pi)
        else:
            parts = _pilaf_parts(_log_probs(cls, theta), _log_ref(cls), beta, pilaf_weight)
            mixed = gen.random(n) < parts.on_policy_weight
            a = np.where(mixed, gen.choice(K, size=n, p=pi), gen.choice(K, size=n, p=parts.plus))
            b = np.where(mixed, gen.choice(K, size=n, p=pi), gen.choice(K, size=n, p=parts.minus))
        first = gen.random(n) < np.exp(log_expit(r[a] - r[b]))
        win, lose = np.where(first, a, b), np.where(first, b, a)
        D = cls.features[win] - cls.features[lose]
        for _ in range(steps):
            z = beta * (D @ theta)
            g = -(np.exp(log_expit(-z)) @ D) * beta / n
            theta = theta - lr * g
        thetas.append(theta.copy())
        values.append(policy_value(cls.probs(theta), r, cls.pi_ref, beta))
    return OnlineDPOResult(
        cls.probs(theta), theta, np.array(thetas), np.array(values), rounds * steps,
        float(np.max(np.abs(g))),
    )


# ----------------------------------------------------------------------------------------------
# PILAF: the pair sampler of Feng et al. (2025), and exact expected DPO gradients
# ----------------------------------------------------------------------------------------------

_SAMPLERS = ("on-policy", "pilaf")


def _check_sampler(sampler: str) -> str:
    if sampler not in _SAMPLERS:
        raise ValueError(f"sampler must be one of {_SAMPLERS}, got {sampler!r}")
    return sampler


@dataclass(frozen=True, eq=False)
class PilafPolicies:
    r"""The two tilted policies of the PILAF sampler and its mixture weight.

    Attributes
    ----------
    plus, minus : array, shape (K,)
        :math:`\pi^\pm \propto \pi\,(\pi/\pi_{ref})^{\pm\beta}`.
    on_policy_weight : float
        Probability :math:`w` of drawing both responses from :math:`\pi`.
    log_z_plus, log_z_minus : float
        :math:`\log Z^\pm = \log\sum_y\pi(y)(\pi(y)/\pi_{ref}(y))^{\pm\beta}`; by Cauchy-Schwarz
        :math:`Z^+Z^-\ge 1`, so the T-PILAF weight :math:`1/(1+Z^+Z^-)` is at most 1/2.
    """

    plus: np.ndarray
    minus: np.ndarray
    on_policy_weight: float
    log_z_plus: float
    log_z_minus: float


def _pilaf_parts(log_pi: np.ndarray, log_ref: np.ndarray, beta: float, weight) -> PilafPolicies:
    """PILAF's tilted policies from log-probabilities (-inf allowed where the policy is zero)."""
    on = np.isfinite(log_pi)
    implicit = np.where(on, beta * (np.where(on, log_pi, 0.0) - np.where(on, log_ref, 0.0)), 0.0)
    zp = np.where(on, log_pi + implicit, -np.inf)
    zm = np.where(on, log_pi - implicit, -np.inf)
    lzp, lzm = float(_lse(zp)), float(_lse(zm))
    w = float(np.exp(log_expit(-(lzp + lzm)))) if weight is None else float(weight)
    return PilafPolicies(np.exp(zp - lzp), np.exp(zm - lzm), w, lzp, lzm)


def _check_policy_and_reference(policy, reference):
    pi = check_distribution(policy, "policy")
    ref = check_distribution(reference, "reference", size=pi.size)
    bad = (pi > 0) & (ref == 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"policy[{i}] = {pi[i]:.6g} > 0 where reference[{i}] = 0: the implicit reward "
            "beta log(policy / reference) is infinite"
        )
    with np.errstate(divide="ignore"):
        return np.log(pi), np.log(ref)


def pilaf_policies(policy, reference, beta, *, weight=None) -> PilafPolicies:
    r"""The interpolated and extrapolated policies :math:`\pi^\pm` that PILAF samples from.

    .. math::
        \pi^\pm(y) = \frac{\pi(y)\,e^{\pm r_\pi(y)}}{Z^\pm}
        = \frac{\pi(y)^{1\pm\beta}\,\pi_{ref}(y)^{\mp\beta}}{Z^\pm},\qquad
        r_\pi(y) = \beta\log\frac{\pi(y)}{\pi_{ref}(y)},

    where :math:`\pi` is the current policy, :math:`\pi_{ref}` the reference, :math:`r_\pi` the
    DPO implicit reward and :math:`Z^\pm = \sum_y \pi(y)e^{\pm r_\pi(y)}`. Feng et al. (2025),
    "PILAF: Optimal Human Preference Sampling for Reward Modeling" (arXiv 2502.04270), Sec. 4
    and Table 1 (one response from :math:`\pi^+` or :math:`\pi`, the other from :math:`\pi^-` or
    :math:`\pi`); in a bandit their token-level logit interpolation
    :math:`(1\pm\beta)h_\theta \mp\beta h_{ref}` is exactly this tilt. The mixture weight
    :math:`w = 1/(1+Z^+Z^-)` of the on-policy pair is the one that makes the expected DPO
    gradient align with :math:`\nabla V^*` (derived here; see :func:`pilaf_pair_distribution`).

    Parameters
    ----------
    policy : array, shape (K,)
        :math:`\pi`, zero wherever the reference is zero.
    reference : array, shape (K,)
        :math:`\pi_{ref}`.
    beta : float > 0
        The KL weight of the DPO loss.
    weight : float in [0, 1] or None
        Probability of an on-policy pair; ``None`` gives :math:`1/(1+Z^+Z^-)` (T-PILAF).

    Returns
    -------
    PilafPolicies

    Examples
    --------
    >>> pp = pilaf_policies([0.5, 0.25, 0.25], [1/3, 1/3, 1/3], beta=1.0)
    >>> pp.plus.round(4), pp.minus.round(4)
    (array([0.6667, 0.1667, 0.1667]), array([0.3333, 0.3333, 0.3333]))
    >>> round(pp.on_policy_weight, 4)
    0.4706
    """
    log_pi, log_ref = _check_policy_and_reference(policy, reference)
    beta = check_positive(beta, "beta")
    if weight is not None:
        weight = check_probability(weight, "weight")
    return _pilaf_parts(log_pi, log_ref, beta, weight)


def on_policy_pair_distribution(policy) -> np.ndarray:
    r"""Joint law of a pair drawn independently from the current policy: :math:`\mu = \pi\otimes\pi`.

    .. math::
        \mu(y, y') = \pi(y)\,\pi(y'),

    the plain ("vanilla") sampler of online DPO (Feng et al. 2025, Table 1).

    Parameters
    ----------
    policy : array, shape (K,)

    Returns
    -------
    array, shape (K, K)
        ``mu[y, y']``, the probability that the first response is ``y`` and the second ``y'``.

    Examples
    --------
    >>> on_policy_pair_distribution([0.5, 0.5])
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    pi = check_distribution(policy, "policy")
    return np.outer(pi, pi)


def pilaf_pair_distribution(policy, reference, beta, *, weight=None) -> np.ndarray:
    r"""Exact joint law of a PILAF pair :math:`(y, y')` in a bandit.

    .. math::
        \mu_{PILAF}(y, y') = w\,\pi(y)\pi(y') + (1 - w)\,\pi^+(y)\,\pi^-(y'),\qquad
        w = \frac{1}{1 + Z^+Z^-},

    with :math:`\pi^\pm \propto \pi\,e^{\pm r_\pi}`, :math:`r_\pi = \beta\log(\pi/\pi_{ref})` and
    :math:`Z^\pm` as in :func:`pilaf_policies` (Feng et al. 2025, arXiv 2502.04270: the sampler
    of T-PILAF; their practical PILAF mixes the two kinds of pair with fixed probabilities, pass
    ``weight`` for that). With this :math:`w` the symmetrised law is

    .. math::
        \frac{\mu(y, y') + \mu(y', y)}{2} = \frac{\pi(y)\pi(y')}
        {2(1 + Z^+Z^-)\,\sigma'\big(r_\pi(y) - r_\pi(y')\big)},\qquad
        \sigma'(z) = \sigma(z)\sigma(-z),

    because :math:`1/\sigma'(z) = 2 + e^z + e^{-z}`: PILAF over-samples exactly the pairs whose
    Bradley-Terry probability is least sensitive, and the expected DPO gradient becomes
    :math:`\beta/(1+Z^+Z^-)` times :math:`\nabla_\theta V^*(\pi_\theta)` to first order in
    :math:`r^* - r_\pi` (see :func:`expected_dpo_gradient` and the check
    ``restricted.pilaf_gradient_aligns_first_order``). The order of the pair does not matter for
    the DPO loss, which is symmetric in it.

    Parameters
    ----------
    policy : array, shape (K,)
        Current policy :math:`\pi`, zero wherever the reference is zero.
    reference : array, shape (K,)
    beta : float > 0
    weight : float in [0, 1] or None
        Probability :math:`w` of the on-policy pair; ``None`` is T-PILAF's :math:`1/(1+Z^+Z^-)`.

    Returns
    -------
    array, shape (K, K)
        ``mu[y, y']`` (rows: first response, from :math:`\pi^+` or :math:`\pi`).

    Examples
    --------
    >>> mu = pilaf_pair_distribution([0.5, 0.25, 0.25], [1/3, 1/3, 1/3], beta=1.0)
    >>> round(float(mu.sum()), 12), mu.shape
    (1.0, (3, 3))
    >>> pilaf_pair_distribution([0.5, 0.5], [0.5, 0.5], beta=0.3)  # at the reference: on-policy
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    pi = check_distribution(policy, "policy")
    pp = pilaf_policies(pi, reference, beta, weight=weight)
    w = pp.on_policy_weight
    return w * np.outer(pi, pi) + (1.0 - w) * np.outer(pp.plus, pp.minus)


@dataclass(frozen=True, eq=False)
class ExpectedDPOGradient:
    """The population DPO loss under a pair distribution, and its exact gradient.

    Attributes
    ----------
    value : float
        The expected loss :math:`L_\\mu(\\theta)`.
    gradient : array, shape (d,)
        :math:`\\nabla_\\theta L_\\mu(\\theta)`.
    """

    value: float
    gradient: np.ndarray


def expected_dpo_gradient(theta, P, pairs, policy_features, reference, beta) -> ExpectedDPOGradient:
    r"""Exact expected DPO loss and gradient when pairs are drawn from ``pairs`` and labelled by ``P``.

    .. math::
        L_\mu(\theta) = -\sum_{y,y'}\mu(y,y')\Big[P[y,y']\log\sigma(\beta\Delta_\theta)
        + P[y',y]\log\sigma(-\beta\Delta_\theta)\Big],\qquad
        \Delta_\theta = \theta^\top(\phi(y) - \phi(y')),

        \nabla_\theta L_\mu = -\beta\sum_{y,y'}\mu(y,y')\big(P[y,y'] - \sigma(\beta\Delta_\theta)
        \big)\big(\phi(y) - \phi(y')\big),

    where :math:`\mu` is the law of the sampled pair (``pairs``, e.g. from
    :func:`pilaf_pair_distribution`), :math:`P[y,y']` the probability that :math:`y` is preferred,
    :math:`\phi` the policy features and :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`: the
    reference cancels in the DPO margin :math:`\beta\log\frac{\pi_\theta(y)}{\pi_{ref}(y)} -
    \beta\log\frac{\pi_\theta(y')}{\pi_{ref}(y')} = \beta\Delta_\theta` (Rafailov et al. 2023,
    Eq. 7, in expectation over the labels; no sampling noise). Since the margin is linear in
    :math:`w = \beta\theta`, this is also :math:`\beta` times the gradient of the Bradley-Terry
    negative log-likelihood of the linear reward :math:`w^\top\phi` (reward modelling, the
    setting of Feng et al. 2025), evaluated at :math:`w = \beta\theta`.

    Parameters
    ----------
    theta : array, shape (d,)
    P : array, shape (K, K)
        Preference matrix (e.g. Bradley-Terry, :math:`P[y,y'] = \sigma(r^*(y) - r^*(y'))`).
    pairs : array, shape (K, K)
        :math:`\mu`, nonnegative, summing to one.
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
        Only checked (it cancels in the margin).
    beta : float > 0

    Returns
    -------
    ExpectedDPOGradient

    Examples
    --------
    At the Bradley-Terry optimum of the full class the gradient vanishes under any sampler:

    >>> r = np.array([1.0, 0.0, -0.5])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> pi = gibbs(np.ones(3) / 3, r, 0.5)
    >>> mu = pilaf_pair_distribution(pi, np.ones(3) / 3, 0.5)
    >>> g = expected_dpo_gradient(r / 0.5, P, mu, np.eye(3), None, 0.5).gradient
    >>> bool(np.max(np.abs(g)) < 1e-12)
    True
    """
    cls = _policy_class(policy_features, reference)
    K = cls.n_actions
    theta = check_array(theta, "theta", shape=(cls.dim,))
    P = check_preference_matrix(P, "P")
    if P.shape[0] != K:
        raise ValueError(f"P must have shape ({K}, {K}), got {P.shape}")
    mu = check_array(pairs, "pairs", shape=(K, K))
    neg = mu < 0
    if neg.any():
        i, j = (int(v) for v in np.argwhere(neg)[0])
        raise ValueError(f"pairs[{i}, {j}] = {mu[i, j]:.6g}, must be >= 0")
    if abs(mu.sum() - 1.0) > 1e-8 * K:
        raise ValueError(f"pairs sums to {mu.sum():.6g}, must sum to 1")
    beta = check_positive(beta, "beta")
    return _expected_dpo(cls.features, theta, P, mu, beta)


def _expected_dpo(phi, theta, P, mu, beta) -> ExpectedDPOGradient:
    u = phi @ theta
    z = beta * (u[:, None] - u[None, :])
    value = float(-(mu * (P * log_expit(z) + P.T * log_expit(-z))).sum())
    coef = mu * (P - np.exp(log_expit(z)))  # (K, K)
    # sum_{y,y'} coef[y,y'] (phi(y) - phi(y')) = (row sums - column sums) @ phi
    grad = -beta * ((coef.sum(axis=1) - coef.sum(axis=0)) @ phi)
    return ExpectedDPOGradient(value, grad)


def online_dpo_expected(
    reward, policy_features, reference, beta, *, sampler: str = "on-policy", rounds: int = 50,
    steps_per_round: int = 20, lr: float = 0.5, pilaf_weight=None, theta0=None,
) -> OnlineDPOResult:
    r"""Online DPO on the exact expected loss: :func:`online_dpo` with infinitely many pairs per round.

    At round :math:`t` the pair law :math:`\mu_t` is frozen at :math:`\pi_{\theta_t}`
    (:func:`on_policy_pair_distribution` or :func:`pilaf_pair_distribution`) and
    ``steps_per_round`` gradient steps are taken on the population loss

    .. math::
        \theta \leftarrow \theta - \eta\,\nabla_\theta L_{\mu_t}(\theta),\qquad
        L_\mu(\theta) = -\mathbb{E}_{(y,y')\sim\mu}\big[\sigma(\Delta r^*)\log\sigma(\beta\Delta_\theta)
        + \sigma(-\Delta r^*)\log\sigma(-\beta\Delta_\theta)\big],

    with :math:`\Delta r^* = r^*(y) - r^*(y')`, :math:`\Delta_\theta = \theta^\top(\phi(y)-\phi(y'))`
    and :math:`\eta` = ``lr`` (see :func:`expected_dpo_gradient`). No randomness: it is the
    mean-field limit of the sampled loop (Shi et al. 2025, Sec. 3; Feng et al. 2025).

    Parameters
    ----------
    reward : array, shape (K,)
        :math:`r^*`.
    policy_features : array, shape (K, d)
    reference : array, shape (K,) or None
    beta : float > 0
    sampler : {"on-policy", "pilaf"}
    rounds, steps_per_round : int >= 1
    lr : float > 0
    pilaf_weight : float in [0, 1] or None
        As in :func:`online_dpo`.
    theta0 : array, shape (d,), optional
        Start (zero by default).

    Returns
    -------
    OnlineDPOResult
        ``certificate`` is the max-norm of the last expected gradient (0 at a fixed point of the
        loop, which is not in general a stationary point of :math:`V^*`).

    Examples
    --------
    >>> res = online_dpo_expected([1.0, 0.0], np.eye(2), None, 1.0, sampler="pilaf", rounds=200)
    >>> bool(np.allclose(res.policy, gibbs([0.5, 0.5], [1.0, 0.0], 1.0), atol=1e-6))
    True
    """
    cls = _policy_class(policy_features, reference)
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    beta = check_positive(beta, "beta")
    sampler = _check_sampler(sampler)
    rounds = check_integer(rounds, "rounds", minimum=1)
    steps = check_integer(steps_per_round, "steps_per_round", minimum=1)
    lr = check_positive(lr, "lr")
    if pilaf_weight is not None:
        pilaf_weight = check_probability(pilaf_weight, "pilaf_weight")
    theta = (np.zeros(cls.dim) if theta0 is None
             else check_array(theta0, "theta0", shape=(cls.dim,)).copy())
    P = np.exp(log_expit(r[:, None] - r[None, :]))
    log_ref = _log_ref(cls)
    thetas, values = [theta.copy()], [policy_value(cls.probs(theta), r, cls.pi_ref, beta)]
    g = np.zeros(cls.dim)
    for _ in range(rounds):
        lp = _log_probs(cls, theta)
        pi = np.exp(lp)
        if sampler == "on-policy":
            mu = np.outer(pi, pi)
        else:
            pp = _pilaf_parts(lp, log_ref, beta, pilaf_weight)
            w = pp.on_policy_weight
            mu = w * np.outer(pi, pi) + (1.0 - w) * np.outer(pp.plus, pp.minus)
        for _ in range(steps):
            g = _expected_dpo(cls.features, theta, P, mu, beta).gradient
            theta = theta - lr * g
        thetas.append(theta.copy())
        values.append(policy_value(cls.probs(theta), r, cls.pi_ref, beta))
    return OnlineDPOResult(
        cls.probs(theta), theta, np.array(thetas), np.array(values), rounds * steps,
        float(np.max(np.abs(g))) if g.size else 0.0,
    )


# ----------------------------------------------------------------------------------------------
# K-sample EXO and DPO on a restricted class
# ----------------------------------------------------------------------------------------------

_METHODS = ("exo", "dpo")


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method


def _k_sample_value_and_grad(cls, theta, Y, r, beta_r, beta_pi, method):
    """Per-group losses (prefrl.losses.exo / dpo_k) and the gradient of their sum in theta."""
    lp = _log_probs(cls, theta)
    lr = _log_ref(cls)
    name = "exo" if method == "exo" else "dpo_k"
    values, (g_lp, _) = value_and_grad(name, lp[Y], lr[Y], rewards=r[Y], beta=beta_pi,
                                       beta_r=beta_r)
    score = cls.features - np.exp(lp) @ cls.features  # grad of log pi_theta(y), (n_actions, d)
    return values, np.einsum("bk,bkd->d", g_lp, score[Y])


def k_sample_loss(theta, samples, reward, features, reference=None, *, beta_r=1.0, beta_pi=1.0,
                  method: str = "exo") -> np.ndarray:
    r"""The K-sample EXO or DPO loss of a log-linear policy on groups of sampled actions.

    For a group :math:`y_1,\dots,y_K \sim \pi_{ref}`, with :math:`f_\theta = \log\pi_\theta -
    \log\pi_{ref}`,

    .. math::
        p_f(i) = \frac{e^{\beta_\pi f_\theta(y_i)}}{\sum_j e^{\beta_\pi f_\theta(y_j)}},\qquad
        p_r(i) = \frac{e^{r(y_i)/\beta_r}}{\sum_j e^{r(y_j)/\beta_r}},

        \ell_{EXO} = \sum_{i=1}^K p_f(i)\log\frac{p_f(i)}{p_r(i)}, \qquad
        \ell_{DPO} = -\sum_{i=1}^K p_r(i)\log p_f(i).

    Ji et al. (2024), "Towards Efficient and Exact Optimization of Language Model Alignment",
    EXO (``exo-rw`` in the authors' code) and the K-sample DPO generalisation (``dpo-rw``); the
    values come from :func:`prefrl.losses.exo` and :func:`prefrl.losses.dpo_k` applied to the log-probabilities
    of the log-linear policy.

    Parameters
    ----------
    theta : array, shape (d,)
    samples : int array, shape (n, K)
        ``n`` groups of ``K`` sampled actions.
    reward : array, shape (n_actions,)
        :math:`r`.
    features : array, shape (n_actions, d)
    reference : array, shape (n_actions,), optional
    beta_r, beta_pi : float > 0
        The target's and the policy's temperatures (the paper's :math:`\beta_r`, :math:`\beta_\pi`).
    method : {"exo", "dpo"}

    Returns
    -------
    array, shape (n,)
        One loss per group (unreduced).

    Examples
    --------
    At the target the EXO loss is zero on every group:

    >>> r = np.array([1.0, 0.0, -1.0])
    >>> k_sample_loss(r, [[0, 1], [2, 0]], r, np.eye(3)).round(12)
    array([0., 0.])
    """
    cls = _policy_class(features, reference)
    theta = check_array(theta, "theta", shape=(cls.dim,))
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    Y = np.atleast_2d(np.asarray(samples))
    if Y.ndim != 2:
        raise ValueError(f"samples must have shape (n, K), got {np.shape(samples)}")
    check_indices(Y.ravel(), "samples", cls.n_actions)
    beta_r, beta_pi = check_positive(beta_r, "beta_r"), check_positive(beta_pi, "beta_pi")
    method = _check_method(method)
    return _k_sample_value_and_grad(cls, theta, Y, r, beta_r, beta_pi, method)[0]


def k_sample_limit(theta, reward, features, reference=None, *, beta_r=1.0, beta_pi=1.0,
                   method: str = "exo") -> float:
    r"""The :math:`K\to\infty` limit of the expected K-sample EXO or DPO loss.

    With :math:`\pi^* = \pi_{ref}e^{r/\beta_r}/Z` and :math:`\pi_\theta^{\beta_\pi}
    \propto \pi_\theta^{\beta_\pi}\pi_{ref}^{1-\beta_\pi} = \pi_{ref}e^{\beta_\pi\theta^\top\phi}/Z'`,

    .. math::
        \lim_{K\to\infty}\mathbb{E}\,\ell_{EXO} = \mathrm{KL}(\pi_\theta^{\beta_\pi}\,\|\,\pi^*),
        \qquad
        \lim_{K\to\infty}\big(\mathbb{E}\,\ell_{DPO} - \log K\big) =
        \mathrm{KL}(\pi^*\,\|\,\pi_\theta^{\beta_\pi}) - \mathrm{KL}(\pi^*\,\|\,\pi_{ref}),

    by the law of large numbers for the self-normalised weights :math:`K p_f(i) \to
    (\pi_\theta^{\beta_\pi}/\pi_{ref})(y_i)` (Ji et al. 2024: EXO minimises the
    reverse KL, DPO the forward KL). For DPO the value returned is the right-hand side (the
    :math:`\log K` is left out, since it does not depend on :math:`\theta`).

    Parameters
    ----------
    theta : array, shape (d,)
    reward : array, shape (n_actions,)
    features : array, shape (n_actions, d)
    reference : array, shape (n_actions,), optional
    beta_r, beta_pi : float > 0
    method : {"exo", "dpo"}

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0])
    >>> k_sample_limit(r, r, np.eye(3)), k_sample_limit(r, r, np.eye(3), method="dpo") < 0
    (0.0, True)
    """
    cls = _policy_class(features, reference)
    theta = check_array(theta, "theta", shape=(cls.dim,))
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    beta_r, beta_pi = check_positive(beta_r, "beta_r"), check_positive(beta_pi, "beta_pi")
    method = _check_method(method)
    star = gibbs(cls.pi_ref, r, beta_r)
    model = cls.probs(beta_pi * theta)
    if method == "exo":
        return float(kl(model, star))
    return float(kl(star, model) - kl(star, cls.pi_ref))


def k_sample_expected_loss(theta, reward, features, reference=None, *, K: int, beta_r=1.0,
                           beta_pi=1.0, method: str = "exo", max_tuples: int = 200_000) -> float:
    r"""Exact expectation of the K-sample EXO or DPO loss, by enumerating all :math:`n^K` groups.

    .. math::
        \mathbb{E}_{y_1,\dots,y_K\overset{iid}{\sim}\pi_{ref}}\,\ell(y_{1:K}) =
        \sum_{y_{1:K}}\prod_{i}\pi_{ref}(y_i)\,\ell(y_{1:K}),

    with :math:`\ell` from :func:`k_sample_loss` (Ji et al. 2024). Used to check that in the
    full class EXO and DPO have the same minimiser for every finite K.

    Parameters
    ----------
    theta : array, shape (d,)
    reward : array, shape (n_actions,)
    features : array, shape (n_actions, d)
    reference : array, shape (n_actions,), optional
    K : int >= 2
        Group size.
    beta_r, beta_pi : float > 0
    method : {"exo", "dpo"}
    max_tuples : int
        Refuse instances with more than this many groups.

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0])
    >>> round(k_sample_expected_loss(r, r, np.eye(3), K=2), 12)
    0.0
    """
    cls = _policy_class(features, reference)
    K = check_integer(K, "K", minimum=2)
    n = cls.n_actions
    if n**K > check_integer(max_tuples, "max_tuples", minimum=1):
        raise ValueError(f"K = {K} gives {n}^{K} groups, more than max_tuples = {max_tuples}")
    Y = np.stack(np.meshgrid(*([np.arange(n)] * K), indexing="ij"), axis=-1).reshape(-1, K)
    w = np.prod(cls.pi_ref[Y], axis=1)
    keep = w > 0
    loss = k_sample_loss(theta, Y[keep], reward, cls.features, cls.pi_ref, beta_r=beta_r,
                         beta_pi=beta_pi, method=method)
    return float(w[keep] @ loss)


def _limit_grad(cls, theta, r, beta_r, beta_pi, method):
    star = gibbs(cls.pi_ref, r, beta_r)
    model = cls.probs(beta_pi * theta)
    c = cls.features - model @ cls.features
    if method == "dpo":
        return beta_pi * (model - star) @ cls.features
    on = cls.pi_ref > 0
    ell = np.where(on, np.log(np.where(on, model, 1.0)) - np.log(np.where(on, star, 1.0)), 0.0)
    return beta_pi * (model * ell) @ c


def train_k_sample(reward, features, reference=None, *, K: int, method: str = "exo",
                   beta_r=1.0, beta_pi=1.0, steps: int = 2000, batch: int = 64, lr: float = 0.05,
                   rng=0, theta0=None) -> KSampleTraining:
    r"""Train a log-linear policy with the K-sample EXO or DPO loss by Adam on sampled groups.

    Each step draws ``batch`` groups :math:`y_{1:K}\overset{iid}{\sim}\pi_{ref}` and follows the
    analytic gradient of the mean :func:`k_sample_loss`,

    .. math::
        \nabla_\theta\,\ell = \sum_{i=1}^K \frac{\partial\ell}{\partial s_i}\,\beta_\pi\,
        \nabla_\theta\log\pi_\theta(y_i),\qquad
        \frac{\partial\ell_{EXO}}{\partial s_i} = p_f(i)\big(\log\tfrac{p_f(i)}{p_r(i)} -
        \ell_{EXO}\big),\quad \frac{\partial\ell_{DPO}}{\partial s_i} = p_f(i) - p_r(i),

    with :math:`s_i = \beta_\pi f_\theta(y_i)` and :math:`\nabla_\theta\log\pi_\theta` the score of
    :class:`prefrl.policies.LogLinearPolicy` (Ji et al. 2024); the
    per-sample gradients come from ``prefrl.losses.value_and_grad("exo" | "dpo_k", ...)``. The returned
    parameter is the average of the iterates over the second half of training, which removes most
    of the minibatch noise; the expected loss it minimises depends on K, and tends to the reverse
    (EXO) or forward (DPO) KL projection as :math:`K\to\infty` (:func:`k_sample_limit`).

    Parameters
    ----------
    reward : array, shape (n_actions,)
        :math:`r`; the target is :math:`\pi^* = \pi_{ref}e^{r/\beta_r}/Z`.
    features : array, shape (n_actions, d)
    reference : array, shape (n_actions,), optional
    K : int >= 2
    method : {"exo", "dpo"}
    beta_r, beta_pi : float > 0
    steps, batch : int >= 1
    lr : float > 0
        Adam step size (Adam's betas 0.9, 0.999).
    rng : int or Generator
    theta0 : array, shape (d,), optional
        Start (zero by default).

    Returns
    -------
    KSampleTraining

    Examples
    --------
    Two actions, full class: both losses drive :math:`\pi_\theta` to :math:`\pi^*`.

    >>> r = np.array([1.0, 0.0])
    >>> res = train_k_sample(r, np.eye(2), K=2, method="dpo", steps=600, rng=0)
    >>> bool(abs(res.policy[0] - gibbs([0.5, 0.5], r, 1.0)[0]) < 0.03)
    True
    """
    cls = _policy_class(features, reference)
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    K = check_integer(K, "K", minimum=2)
    method = _check_method(method)
    beta_r, beta_pi = check_positive(beta_r, "beta_r"), check_positive(beta_pi, "beta_pi")
    steps = check_integer(steps, "steps", minimum=1)
    batch = check_integer(batch, "batch", minimum=1)
    lr = check_positive(lr, "lr")
    gen = as_rng(rng)
    theta = np.zeros(cls.dim) if theta0 is None else check_array(theta0, "theta0", shape=(cls.dim,)).copy()
    m1, m2 = np.zeros(cls.dim), np.zeros(cls.dim)
    b1, b2, eps = 0.9, 0.999, 1e-8
    losses = np.empty(steps)
    avg, n_avg = np.zeros(cls.dim), 0
    for t in range(1, steps + 1):
        Y = gen.choice(cls.n_actions, size=(batch, K), p=cls.pi_ref)
        loss, g = _k_sample_value_and_grad(cls, theta, Y, r, beta_r, beta_pi, method)
        g = g / batch
        losses[t - 1] = loss.mean()
        m1 = b1 * m1 + (1 - b1) * g
        m2 = b2 * m2 + (1 - b2) * g * g
        theta = theta - lr * (m1 / (1 - b1**t)) / (np.sqrt(m2 / (1 - b2**t)) + eps)
        if t > steps // 2:
            avg += theta
            n_avg += 1
    theta = avg / n_avg
    cert = float(np.max(np.abs(_limit_grad(cls, theta, r, beta_r, beta_pi, method))))
    return KSampleTraining(cls.probs(beta_pi * theta), theta, losses, steps, cert)

