r"""KL projections onto a log-linear policy class: forward (moment matching) and reverse (modes).

The policy class is :math:`\pi_\theta(y) \propto \pi_{ref}(y)\exp(\theta^\top\phi(y))` with
features :math:`\phi` of shape ``(K, d)`` (:class:`prefrl.policies.LogLinearPolicy`).

* :func:`forward_kl_projection`, :math:`\min_\theta \mathrm{KL}(p \,\|\, \pi_\theta)`: convex,
  solved by moment matching :math:`\mathbb{E}_{\pi_\theta}\phi = \mathbb{E}_p\phi` (damped Newton,
  prefrl's one Newton solver); mean-seeking. It is the :math:`K\to\infty` limit of the
  K-sample DPO loss of Ji et al. (2024), "Towards Efficient Exact Optimization of Language Model
  Alignment".
* :func:`reverse_kl_projection`, :math:`\min_\theta \mathrm{KL}(\pi_\theta \,\|\, p)`:
  non-convex, solved by trust-region Newton from several starts; mode-seeking. It is the
  :math:`K\to\infty` limit of the K-sample EXO loss (Ji et al. 2024) and, for
  :math:`p = \pi_{ref}e^{r/\beta}/Z`, RLHF's policy step within the class (Shi et al. 2025,
  "Understanding the Performance Gap in Preference Learning", Sec. 3).

Both return a :class:`ProjectionResult` whose ``certificate`` is the max-norm of the gradient of
the divergence at the returned parameter, in units where each feature column spans at most 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize

from .._deprecation import renamed_parameters
from .._loglinear import log_partition, log_probs
from .._optim import damped_newton
from .._validation import as_rng, check_array, check_integer, seed_zero_if_none
from ..policies import LogLinearPolicy, kl
from ..results import Result
from ._common import _check_target, _column_scales

__all__ = ["ProjectionResult", "forward_kl_projection", "reverse_kl_projection"]


@dataclass(frozen=True, eq=False)
class ProjectionResult(Result):
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


@renamed_parameters(reference="pi_ref")
def forward_kl_projection(target, features, pi_ref=None) -> ProjectionResult:
    r"""Forward-KL (moment-matching) projection of a distribution onto a log-linear class.

    .. math::
        \hat\theta = \arg\min_{\theta \in \mathbb{R}^d} \mathrm{KL}(p \,\|\, \pi_\theta), \qquad
        \pi_\theta(y) = \frac{\pi_{ref}(y)\, e^{\theta^\top\phi(y)}}{\sum_{y'} \pi_{ref}(y')\,
        e^{\theta^\top\phi(y')}},

    where :math:`p` is the target, :math:`\phi(y) \in \mathbb{R}^d` the features and
    :math:`\pi_{ref}` the reference policy. The objective is :math:`\log Z_\theta - \theta^\top
    \mathbb{E}_p\phi` plus a constant, convex, with first-order condition
    :math:`\mathbb{E}_{\pi_\theta}\phi = \mathbb{E}_p\phi` (moment matching, as for maximum likelihood
    in an exponential family). It is the :math:`K\to\infty` limit of the K-sample DPO loss (Ji et al. 2024,
    "Towards Efficient Exact Optimization of Language Model Alignment"): mean-seeking.
    Solved by damped Newton (Hessian :math:`\mathrm{Cov}_{\pi_\theta}\phi`) from
    :math:`\theta = 0`, which gives the minimum-norm :math:`\hat\theta` when the features are
    rank-deficient.

    Parameters
    ----------
    target : array, shape (K,)
        :math:`p`, zero wherever ``pi_ref`` is zero.
    features : array, shape (K, d)
        Row ``y`` is :math:`\phi(y)`.
    pi_ref : array, shape (K,), optional
        :math:`\pi_{ref}`; uniform by default (``reference`` is its deprecated name).

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
    cls = LogLinearPolicy(features, pi_ref)
    p = _check_target(target, cls.n_actions)
    off = (cls.pi_ref == 0) & (p > 0)
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(
            f"target[{i}] = {p[i]:.6g} > 0 where pi_ref[{i}] = 0: every policy in the class has "
            "infinite forward KL"
        )
    phi = cls.features
    m = p @ phi
    scale = _column_scales(phi[cls.pi_ref > 0])  # solve for v = scale * theta (units of 1)

    def fgh(v):
        theta = v / scale
        lp = log_probs(cls, theta)
        q = np.exp(lp)
        mean = q @ phi
        c = (phi - mean) / scale
        return (float(log_partition(cls, theta) - theta @ m), (mean - m) / scale,
                (c * q[:, None]).T @ c)

    newton = damped_newton(fgh, np.zeros(cls.dim))
    v, it, cert, ok = newton.x, newton.iterations, newton.certificate, newton.converged
    # the minimum-norm theta: drop the part along directions that no policy of the class sees
    C = phi[cls.pi_ref > 0] - phi[cls.pi_ref > 0].mean(axis=0)
    theta = np.linalg.lstsq(C, C @ (v / scale), rcond=None)[0]
    policy = cls.probs(theta)
    value = float(kl(p, policy))
    ok = ok and _in_relative_interior(phi[cls.pi_ref > 0], m)
    return ProjectionResult(policy=policy, theta=theta, value=value, iterations=it,
                            certificate=cert, converged=ok, start_values=np.array([value]))


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
    """Reverse KL(pi_theta || p), its gradient Cov(phi, l) and Hessian, on supp(pi_ref)."""
    on = cls.pi_ref > 0
    lp = log_probs(cls, theta)
    q = np.where(on, np.exp(lp), 0.0)
    ell = np.where(on, lp - np.where(on, log_target, 0.0), 0.0)
    L = float(q @ ell)
    c = cls.features - q @ cls.features
    grad = (q * ell) @ c
    cov = (c * q[:, None]).T @ c
    hess = cov + (c * (q * (ell - L))[:, None]).T @ c
    return L, grad, hess


@renamed_parameters(reference="pi_ref")
def reverse_kl_projection(
    target, features, pi_ref=None, *, n_starts: int = 4, rng=None, extra_starts=None
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
        :math:`p`, positive wherever ``pi_ref`` is positive.
    features : array, shape (K, d)
    pi_ref : array, shape (K,), optional
        :math:`\pi_{ref}`; uniform by default (``reference`` is its deprecated name).
    n_starts : int >= 1
        Number of generic starts (zero and the forward projection come first, then random ones);
        the concentrated starts come on top. When the target lies in the class (its forward
        projection has reverse KL <= 1e-13), that point is the global minimum and is returned.
    rng : int or numpy.random.Generator, optional
        Seeds the random starts; required when random starts are drawn (``n_starts > 2`` and the
        target not in the class). For one release, ``None`` there warns (DeprecationWarning) and
        uses seed 0, the old default.
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
    >>> res = reverse_kl_projection(target, np.c_[y, y**2], rng=0)
    >>> int(np.argmax(res.policy)), bool(res.converged), bool(res.value < res.start_values.max())
    (2, True, True)
    """
    return _reverse_kl_projection(target, features, pi_ref, n_starts, rng, extra_starts,
                                  "reverse_kl_projection()", 6)


def _reverse_kl_projection(target, features, pi_ref, n_starts, rng, extra_starts, where,
                           stacklevel):
    """:func:`reverse_kl_projection`; ``where`` and ``stacklevel`` place the rng warning."""
    cls = LogLinearPolicy(features, pi_ref)
    p = _check_target(target, cls.n_actions)
    n_starts = check_integer(n_starts, "n_starts", minimum=1)
    gen = None if rng is None else as_rng(rng)
    on = cls.pi_ref > 0
    bad = on & (p <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"target[{i}] = 0 where pi_ref[{i}] > 0: every policy in the class has infinite "
            "reverse KL"
        )
    log_p = np.full(cls.n_actions, -np.inf)
    log_p[p > 0] = np.log(p[p > 0])
    d = cls.dim
    # Search in units where each feature spans at most 1 on the support (the same class of
    # policies; theta = theta_scaled / units), so that the stopping tolerances mean the same for
    # features of size 1e-9 and 1e9.
    units = _column_scales(cls.features[on])
    cls = LogLinearPolicy(cls.features / units, cls.pi_ref)
    fwd = forward_kl_projection(p, cls.features, cls.pi_ref)
    if fwd.converged and _reverse_kl_parts(cls, log_p, fwd.theta)[0] <= 1e-13:
        # The target is in the class: KL = 0 is the global minimum, no search needed.
        n_starts, starts = 1, [fwd.theta]
    else:
        starts = [np.zeros(d), fwd.theta][:n_starts]
    scale = 1.0 / (1.0 + np.std(cls.features[on], axis=0))
    if len(starts) < n_starts and gen is None:
        gen = as_rng(seed_zero_if_none(rng, where + " with random starts (n_starts > 2)",
                                       stacklevel=stacklevel - 2))
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
        policy=cls.probs(theta), theta=theta / units, value=float(L), iterations=total_it,
        certificate=cert, converged=cert <= 1e-8, start_values=np.array(values),
    )
