r"""Constrained RLHF with a composite reward model: exact dual ascent on the Lagrange multipliers.

Paper
-----
Moskovitz, Singh, Strouse, Sandholm, Salakhutdinov, Dragan and McAleer (2024), "Confronting Reward
Model Overoptimization with Constrained RLHF" (ICLR 2024): each component reward model
:math:`r_i` is a useful proxy only up to a threshold :math:`\theta_i` (its "proxy point"); keep
each below its threshold with a Lagrange multiplier instead of a fixed weight.

The problem on a bandit (derived)
---------------------------------
.. math::
    \max_{\pi \in \Delta_K}\ \mathbb{E}_\pi r_0 - \beta\,\mathrm{KL}(\pi\|\pi_{ref})
    \quad \text{s.t.} \quad \mathbb{E}_\pi r_i \le \theta_i,\ i = 1..m .

Its Lagrangian :math:`\mathbb{E}_\pi(r_0 - \sum_i \lambda_i r_i) - \beta\mathrm{KL} +
\lambda^\top\theta` is maximised in :math:`\pi` by the Gibbs tilt
:math:`\pi_\lambda = \pi_{ref} e^{(r_0 - \lambda^\top R)/\beta}/Z_\lambda` (closed form), and the
dual function :math:`g(\lambda) = \beta\log Z_\lambda + \lambda^\top\theta` is convex with

.. math::
    \nabla g(\lambda) = \theta - R\,\pi_\lambda, \qquad
    \nabla^2 g(\lambda) = \mathrm{Cov}_{\pi_\lambda}(R)/\beta
    \preceq \tfrac{1}{4\beta}\textstyle\sum_i (\max r_i - \min r_i)^2\, I .

Dual ascent here is a projected Newton method on :math:`g` over :math:`\lambda \ge 0` (Bertsekas
1982; the Hessian is the small :math:`m \times m` covariance above) with Armijo backtracking. Slater's condition (a strictly feasible policy on
:math:`\pi_{ref}`'s support, checked by a linear program) makes the duality gap zero, and
:math:`\pi_{\lambda^*}` solves the problem iff the KKT conditions hold: primal feasibility,
:math:`\lambda \ge 0`, complementary slackness :math:`\lambda_i(\theta_i - \mathbb{E} r_i) = 0`
(stationarity holds by the closed form).

Public function and result
--------------------------
* :func:`constrained_rlhf` -> :class:`ConstrainedRLHFResult`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from .._validation import check_array, check_distribution, check_integer, check_positive
from ..policies import gibbs, kl, soft_value
from ..results import Result

__all__ = ["ConstrainedRLHFResult", "constrained_rlhf"]


@dataclass(frozen=True, eq=False)
class ConstrainedRLHFResult(Result):
    r"""The solution of the constrained composite-reward problem (:func:`constrained_rlhf`).

    Attributes
    ----------
    policy : array, shape (K,)
        :math:`\pi_{\lambda} \propto \pi_{ref} e^{(r_0 - \lambda^\top R)/\beta}`.
    multipliers : array, shape (m,)
        :math:`\lambda \ge 0`.
    multiplier_path : array, shape (T + 1, m)
        The dual-ascent iterates (row 0 the initial point).
    constraint_values : array, shape (m,)
        :math:`\mathbb{E}_\pi r_i`.
    objective_value : float
        :math:`\mathbb{E}_\pi r_0`.
    value : float
        :math:`\mathbb{E}_\pi r_0 - \beta\,\mathrm{KL}(\pi\|\pi_{ref})`.
    kl : float
    iterations : int
    converged : bool
    certificate : float
        The KKT residual :math:`\max_i \max\big(\mathbb{E}_\pi r_i - \theta_i,\
        |\lambda_i(\theta_i - \mathbb{E}_\pi r_i)|\big)` (and :math:`\max(0, -\lambda_i)`).
    """

    policy: np.ndarray
    multipliers: np.ndarray
    multiplier_path: np.ndarray
    constraint_values: np.ndarray
    objective_value: float
    value: float
    kl: float
    iterations: int
    converged: bool
    certificate: float


def _slater_margin(pi_ref: np.ndarray, R: np.ndarray, theta: np.ndarray) -> float:
    """min over policies on the support of max_i (E_pi r_i - theta_i): < 0 iff strictly feasible."""
    on = np.flatnonzero(pi_ref > 0)
    n, m = on.size, R.shape[0]
    c = np.zeros(n + 1)
    c[-1] = 1.0
    A = np.hstack([R[:, on], -np.ones((m, 1))])
    res = linprog(
        c,
        A_ub=A,
        b_ub=theta,
        A_eq=np.r_[np.ones(n), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * n + [(None, None)],
        method="highs",
    )
    return float(res.fun)


def _kkt(lam, values, theta):
    slack = theta - values
    return float(
        max(
            np.max(np.maximum(-slack, 0.0)),
            np.max(np.abs(lam * slack)),
            np.max(np.maximum(-lam, 0.0)),
        )
    )


def constrained_rlhf(
    pi_ref,
    objective,
    constraints,
    thresholds,
    beta,
    *,
    init=None,
    max_iter: int = 500,
    tol: float = 1e-10,
) -> ConstrainedRLHFResult:
    r"""Maximise a reward under thresholds on component rewards, with KL regularisation, exactly.

    .. math::
        \max_{\pi}\ \mathbb{E}_\pi r_0 - \beta\,\mathrm{KL}(\pi\|\pi_{ref})
        \ \text{ s.t. }\ \mathbb{E}_\pi r_i \le \theta_i \ (i = 1..m),
        \qquad \pi^* = \frac{\pi_{ref}\, e^{(r_0 - \sum_i \lambda^*_i r_i)/\beta}}{Z},

    the constrained RLHF problem of Moskovitz et al. (2024), Sec. 4 (component reward models
    :math:`r_i` kept at or below their proxy points :math:`\theta_i`), on a bandit. The multipliers
    :math:`\lambda^* \ge 0` minimise the convex dual :math:`g(\lambda) = \beta\log Z_\lambda +
    \lambda^\top\theta` (module docstring); they are found by dual ascent (projected Newton steps
    :math:`\lambda \leftarrow [\lambda - t H^{-1}(\theta - \mathbb{E}_{\pi_\lambda}R)]_+`, the
    Hessian :math:`H = \mathrm{Cov}_{\pi_\lambda}(R)/\beta` on the free multipliers, :math:`t` by
    backtracking) until the KKT residual is below ``tol`` (times the reward scale). A fixed-weight composite
    :math:`r_0 - \sum_i w_i r_i` is the same tilt with :math:`\lambda` frozen at :math:`w`.

    Parameters
    ----------
    pi_ref : array, shape (K,)
    objective : array, shape (K,)
        :math:`r_0` (e.g. the sum of the components).
    constraints : array, shape (m, K)
        Row :math:`i` is :math:`r_i`.
    thresholds : array, shape (m,)
        :math:`\theta_i`; some policy on the support of ``pi_ref`` must satisfy every constraint
        strictly (Slater), else a ValueError names ``thresholds``.
    beta : float > 0
    init : array, shape (m,), optional
        Initial multipliers (0 by default; negative entries are projected to 0).
    max_iter : int >= 1
    tol : float > 0

    Returns
    -------
    ConstrainedRLHFResult

    Examples
    --------
    >>> res = constrained_rlhf([0.5, 0.5], [1.0, 0.0], [[1.0, 0.0]], [0.6], beta=1.0)
    >>> res.policy.round(6), res.multipliers.round(6)
    (array([0.6, 0.4]), array([0.594535]))
    """
    pi_ref = check_distribution(pi_ref, "pi_ref")
    K = pi_ref.size
    r0 = check_array(objective, "objective", ndim=1, shape=(K,), like="pi_ref")
    R = check_array(constraints, "constraints", ndim=2, shape=(None, K), like="pi_ref")
    m = R.shape[0]
    theta = check_array(thresholds, "thresholds", ndim=1, shape=(m,), like="constraints")
    beta = check_positive(beta, "beta")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol")
    lam = (
        np.zeros(m)
        if init is None
        else np.maximum(check_array(init, "init", ndim=1, shape=(m,), like="thresholds"), 0.0)
    )
    margin = _slater_margin(pi_ref, R, theta)
    if not margin < 0:
        raise ValueError(
            f"thresholds admit no strictly feasible policy on the support of pi_ref "
            f"(the best policy exceeds a threshold by {margin:.3g})"
        )
    on = pi_ref > 0
    scale = 1.0 + float(np.max(np.abs(R[:, on]))) + float(np.max(np.abs(theta)))

    span2 = max(float(np.sum(np.ptp(R[:, on], axis=1) ** 2)), 1e-300)

    def dual(v):
        return soft_value(pi_ref, r0 - v @ R, beta) + v @ theta

    path = [lam.copy()]
    g_lam = dual(lam)
    it, converged = 0, False
    for it in range(1, max_iter + 1):
        pi = gibbs(pi_ref, r0 - lam @ R, beta)
        vals = R @ pi
        kkt_now = _kkt(lam, vals, theta)
        if kkt_now <= tol * scale:
            converged = True
            it -= 1
            break
        grad = theta - vals
        Rc = R - vals[:, None]
        H = (Rc * pi) @ Rc.T / beta
        # Projected Newton (Bertsekas 1982): multipliers at 0 pushed below 0 stay fixed.
        free = ~((lam <= 0) & (grad > 0))
        step = grad * beta / span2
        if free.any():
            # A tiny ridge keeps the Newton system regular where the covariance is singular;
            # backtracking then shortens the (long) step.
            nf = int(free.sum())
            mu = 1e-10 * span2 / beta
            step[free] = np.linalg.solve(H[np.ix_(free, free)] + mu * np.eye(nf), grad[free])
        t, g_c, cand = 1.0, np.inf, lam
        for _ in range(80):  # Armijo backtracking along the projected arc
            cand = np.maximum(lam - t * step, 0.0)
            with np.errstate(over="ignore", invalid="ignore"):
                g_c = dual(cand) if np.all(np.isfinite(cand)) else np.inf
            if g_c <= g_lam - 1e-4 * float(grad @ (lam - cand)):
                break
            # Near the solution the dual is flat to rounding: accept a step that halves the
            # KKT residual instead.
            if (
                abs(g_c - g_lam) <= 1e-11 * (1.0 + abs(g_lam))
                and _kkt(cand, R @ gibbs(pi_ref, r0 - cand @ R, beta), theta) <= 0.5 * kkt_now
            ):
                break
            t *= 0.5
        if not (g_c <= g_lam or t >= 2.0**-79):
            break
        lam, g_lam = cand, g_c
        path.append(lam.copy())
    pi = gibbs(pi_ref, r0 - lam @ R, beta)
    vals = R @ pi
    d = float(kl(pi, pi_ref))
    return ConstrainedRLHFResult(
        policy=pi,
        multipliers=lam,
        multiplier_path=np.array(path),
        constraint_values=vals,
        objective_value=float(pi @ r0),
        value=float(pi @ r0 - beta * d),
        kl=d,
        iterations=it,
        converged=converged,
        certificate=_kkt(lam, vals, theta),
    )
