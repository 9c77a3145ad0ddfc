r"""The one damped Newton method of prefrl, for the smooth convex fits (Bradley-Terry, projections).

:func:`damped_newton` minimises :math:`f` given a function returning :math:`(f(x), \nabla f(x),
\nabla^2 f(x))`. Each iteration solves the Newton system for a step :math:`d`, backtracks
(Armijo, :math:`f(x + t d) \le f(x) + 10^{-4}\, t\, \nabla f^\top d`, halving :math:`t`) and moves.
It stops when the gradient's max-norm is at most ``tol`` times a scale (and, with ``xtol``, the
last step moved at most ``xtol (1 + max|x|)``), or when the gradient is exactly zero.

Two ways to solve the Newton system, for the two kinds of singular Hessians met in prefrl:

- ``"lstsq"`` (default): the minimum-norm least-squares step, replaced by :math:`-\nabla f` when it
  is not a descent direction. Started from 0, the iterates stay in the row space of the Hessian, so
  a rank-deficient problem converges to its minimum-norm minimiser.
- ``"solve"``: :math:`(\nabla^2 f + J)\, d = -\nabla f` for a caller-supplied ``shift`` :math:`J`
  that fills the Hessian's known null space (a graph Laplacian's component indicators), with a
  least-squares fallback when the matrix is numerically singular.

Callers are :mod:`prefrl.bradley_terry` (every Bradley-Terry fit) and the KL projections of
:mod:`prefrl.restricted`.

>>> import numpy as np
>>> A = np.array([[2.0, 0.0], [0.0, 1.0]])
>>> res = damped_newton(lambda x: (0.5 * x @ A @ x - x.sum(), A @ x - 1.0, A), np.zeros(2))
>>> res.x, res.iterations, res.converged
(array([0.5, 1. ]), 1, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .results import Result

__all__ = ["MIN_UNIT", "NewtonResult", "damped_newton"]

#: Features spanning less than this are not rescaled further when a solver works in the features'
#: units (the parameters would overflow).
MIN_UNIT = 1e-100


@dataclass(frozen=True, eq=False)
class NewtonResult(Result):
    """Result of :func:`damped_newton`.

    Attributes
    ----------
    x : array, shape (n,)
        The last iterate.
    value : float
        :math:`f(x)`.
    gradient : array, shape (n,)
        :math:`\\nabla f(x)`.
    hessian : array, shape (n, n)
        :math:`\\nabla^2 f(x)`.
    iterations : int
        Newton steps taken (polishing steps included).
    converged : bool
        Whether the stopping rule was met (see :func:`damped_newton`).
    certificate : float
        :math:`\\max_i |\\nabla f(x)_i|`.
    """

    x: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray
    iterations: int
    converged: bool
    certificate: float


def _gmax(g: np.ndarray) -> float:
    return float(np.max(np.abs(g))) if g.size else 0.0


def damped_newton(
    fun_grad_hess,
    x0,
    *,
    tol: float = 1e-11,
    max_iter: int = 200,
    gradient_scale: float | None = None,
    xtol: float | None = None,
    linear_solver: str = "lstsq",
    shift=None,
    armijo_slack: float = 0.0,
    max_halvings: int = 47,
    on_failed_search: str = "stop",
    stall_tol: float = 1e-7,
    polish: int = 0,
) -> NewtonResult:
    r"""Minimise a smooth convex function by damped Newton steps.

    Parameters
    ----------
    fun_grad_hess : callable
        ``x -> (f, g, H)``: value, gradient (n,) and Hessian (n, n).
    x0 : array, shape (n,)
        Start.
    tol : float
        Gradient tolerance: stop when :math:`\max|g| \le` ``tol * scale``.
    max_iter : int
        At most this many Newton steps (before polishing).
    gradient_scale : float, optional
        The scale of the gradient test; ``None`` means :math:`1 + |f(x)|`.
    xtol : float, optional
        With it, the gradient test also needs the last step to have moved at most
        :math:`\mathrm{xtol}\,(1 + \max|x|)` (for problems whose curvature can be tiny, where a small
        gradient can hide a large error in :math:`x`).
    linear_solver : {"lstsq", "solve"}
        How the Newton system is solved (see the module docstring).
    shift : array, shape (n, n), optional
        Added to the Hessian by ``"solve"``.
    armijo_slack : float
        Relative slack :math:`s` of the sufficient-decrease test (adds :math:`s (1 + |f|)`), which
        absorbs the rounding of :math:`f` near the optimum.
    max_halvings : int
        Step sizes :math:`1, 1/2, \dots, 2^{-(\text{max\_halvings} - 1)}` are tried.
    on_failed_search : {"stop", "accept"}
        When no step size passes: stop (converged if :math:`\max|g| \le` ``stall_tol`` ``(1 +
        |f|)``), or accept the smallest step tried and go on.
    stall_tol : float
        See ``on_failed_search``.
    polish : int
        After the damped iterations, up to this many full Newton (``"lstsq"``) steps, each kept
        only while it shrinks the gradient's max-norm; it stops as soon as the gradient test holds.
        Near the optimum the decrease of :math:`f` falls below its rounding and the line search
        stalls while the gradient can still shrink.

    Returns
    -------
    NewtonResult
    """
    if linear_solver not in ("lstsq", "solve"):
        raise ValueError(f"linear_solver must be 'lstsq' or 'solve', got {linear_solver!r}")
    if on_failed_search not in ("stop", "accept"):
        raise ValueError(f"on_failed_search must be 'stop' or 'accept', got {on_failed_search!r}")
    x = np.array(x0, dtype=float)
    f, g, H = fun_grad_hess(x)

    def threshold(f):
        return tol * (1.0 + abs(f) if gradient_scale is None else gradient_scale)

    moved = np.inf
    converged = False
    iterations = max_iter
    for it in range(1, max_iter + 2):
        gmax = _gmax(g)
        if gmax == 0.0 or (
            gmax <= threshold(f) and (xtol is None or moved <= xtol * (1.0 + _gmax(x)))
        ):
            converged, iterations = True, it - 1
            break
        if it > max_iter:
            break
        if linear_solver == "solve":
            M = H if shift is None else H + shift
            try:
                step = -np.linalg.solve(M, g)
            except np.linalg.LinAlgError:
                # Curvature below float range (e.g. preferences within 1e-300 of deterministic).
                step = -np.linalg.lstsq(M, g, rcond=None)[0]
        else:
            step = np.linalg.lstsq(H, -g, rcond=1e-13)[0]
            if not np.all(np.isfinite(step)) or step @ g >= 0:
                step = -g
        slope = step @ g
        slack = armijo_slack * (1.0 + abs(f))
        t = 1.0
        for _ in range(max_halvings):
            cand = x + t * step
            fc, gc, Hc = fun_grad_hess(cand)
            if np.isfinite(fc) and fc <= f + 1e-4 * t * slope + slack:
                break
            t *= 0.5
        else:
            if on_failed_search == "stop":
                converged, iterations = gmax <= stall_tol * (1.0 + abs(f)), it
                break
        moved = _gmax(cand - x)
        x, f, g, H = cand, fc, gc, Hc
    for _ in range(polish):
        cert = _gmax(g)
        if cert <= threshold(f):
            converged = True
            break
        xn = x + np.linalg.lstsq(H, -g, rcond=1e-13)[0]
        fn, gn, Hn = fun_grad_hess(xn)
        if not (np.isfinite(fn) and _gmax(gn) < cert):
            break
        x, f, g, H, iterations = xn, fn, gn, Hn, iterations + 1
    return NewtonResult(x, float(f), g, H, iterations, bool(converged), _gmax(g))
