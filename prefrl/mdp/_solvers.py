r"""The certified solvers of :class:`~prefrl.mdp.TabularMDP`: VI, PI, MPI and LP, and McQueen's bounds.

Every method returns values :math:`\hat V` and the policy greedy in them, certified at
:math:`\hat V` by McQueen's bounds (Puterman 1994, *Markov Decision Processes*, Thm 6.6.6): with
:math:`d = T\hat V - \hat V` and :math:`f = \gamma / (1 - \gamma)`, both :math:`V^*` and the value
of the greedy policy lie in :math:`[T\hat V + f \min d,\ T\hat V + f \max d]`.

- :func:`solve` (bound as :meth:`TabularMDP.solve <prefrl.mdp.TabularMDP.solve>`): value iteration
  with the span stopping rule (Puterman 1994, Thm 6.6.6; Williams and Baird 1993), Howard's policy
  iteration (Sec. 6.4), modified policy iteration (Sec. 6.5), the primal LP (Sec. 6.9, HiGHS);
- :func:`certify` (bound as ``TabularMDP._certify``): values, greedy policy and certificate at
  given values; :func:`mcqueen_midpoint` and :func:`mcqueen_error`, the two halves of the bounds,
  shared with the soft solver of ``_soft.py``.

The functions whose first argument is ``self`` are the methods of :class:`TabularMDP`, bound in its
class body (``_tabular.py``); this file imports nothing of that class.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._validation import check_integer, check_positive
from . import _kernels as K
from ._results import SolveResult

__all__ = ["certify", "mcqueen_error", "mcqueen_midpoint", "solve"]

_METHODS = ("vi", "pi", "mpi", "lp")


def mcqueen_midpoint(V, TV, gamma: float) -> tuple[np.ndarray, float, float]:
    r"""The midpoint of McQueen's bracket at V, its guaranteed distance to V*, and the bracket's width.

    With :math:`d = TV - V` and :math:`f = \gamma/(1-\gamma)`: the midpoint
    :math:`TV + f (\min d + \max d) / 2`, the half-width :math:`f\,\mathrm{span}(d)/2` and the width
    :math:`f\,\mathrm{span}(d)` (the span stopping rule's quantity).
    """
    d = TV - V
    f = gamma / (1.0 - gamma)
    lo, hi = float(d.min()), float(d.max())
    return TV + f * 0.5 * (lo + hi), f * 0.5 * (hi - lo), f * (hi - lo)


def mcqueen_error(V, TV, gamma: float) -> tuple[float, float, float]:
    r"""At V itself: the guaranteed :math:`\|V - V^*\|_\infty`, the width :math:`f\,\mathrm{span}(d)`
    (the suboptimality of the greedy policy) and the residual :math:`\|TV - V\|_\infty`."""
    d = TV - V
    lo, hi = float(d.min()), float(d.max())
    f = gamma / (1.0 - gamma)
    err = float(np.max(np.maximum(np.abs(d + f * lo), np.abs(d + f * hi))))
    return err, f * (hi - lo), float(np.max(np.abs(d)))


def certify(self, V, prev_bound=np.inf, Q=None) -> dict:
    r"""Values, Q, greedy policy and certificate at the values V (the fields of SolveResult).

    ``Q`` may be passed when already computed at exactly these values; ``prev_bound`` is a bound on
    :math:`\|V - V^*\|_\infty` already known (the tighter one is kept).
    """
    Q = self._q(V) if Q is None else Q
    # McQueen bounds: V* and V^pi (pi greedy wrt V) lie in [TV + f lo, TV + f hi].
    value_err, width, residual = mcqueen_error(V, Q.max(axis=1), self.gamma)
    policy = np.zeros_like(Q)
    policy[np.arange(self.n_states), np.argmax(Q, axis=1)] = 1.0
    return dict(
        values=V,
        q_values=Q,
        policy=policy,
        certificate=residual,
        value_error_bound=min(value_err, prev_bound),
        suboptimality_bound=width,
    )


def solve(
    self, method: str = "pi", tol: float = 1e-8, max_iter: int = 100_000, mpi_sweeps: int = 20
) -> SolveResult:
    r"""Optimal values and a certified (near-)optimal deterministic policy.

    Every method returns values :math:`\hat V` and the policy greedy in
    :math:`\hat Q = r + \gamma P \hat V`, certified at :math:`\hat V` by McQueen's bounds
    (Puterman 1994, Thm 6.6.6): with :math:`d = T\hat V - \hat V`,

    .. math::
        T\hat V + \tfrac{\gamma}{1-\gamma} \min_s d(s) \;\le\; V^{\pi}, V^* \;\le\;
        T\hat V + \tfrac{\gamma}{1-\gamma} \max_s d(s),

    so the returned policy :math:`\pi` satisfies
    :math:`\|V^* - V^{\pi}\|_\infty \le \frac{\gamma}{1-\gamma}\,\mathrm{span}(d)`
    (``suboptimality_bound``), and ``value_error_bound`` bounds
    :math:`\|\hat V - V^*\|_\infty`; ``certificate`` is the Bellman residual
    :math:`\|d\|_\infty`.

    - ``"vi"``: value iteration :math:`V_{k+1} = T V_k`. **tol is the guaranteed
      suboptimality**: it stops at the first :math:`k` with
      :math:`\frac{\gamma}{1-\gamma}\mathrm{span}(T V_k - V_k) \le` ``tol`` and returns the
      McQueen midpoint, so ``suboptimality_bound <= tol`` and
      ``value_error_bound <= tol / 2`` (up to rounding). This is the span rule, not the
      sup-norm rule :math:`\|V_{k+1} - V_k\|_\infty < \epsilon(1-\gamma)/(2\gamma)` of older
      toolboxes, whose epsilon is the same guarantee reached more slowly.
    - ``"pi"``: Howard's policy iteration with exact (linear-solve) evaluation; terminates
      when no state improves by more than rounding; the certificate is then at rounding level.
    - ``"mpi"``: modified policy iteration (``mpi_sweeps`` applications of :math:`T_\pi`
      per improvement), same stopping rule and meaning of ``tol`` as VI
      (Puterman 1994, Sec. 6.5).
    - ``"lp"``: the primal LP :math:`\min_V \sum_s V(s)` s.t.
      :math:`V(s) \ge r[s,a] + \gamma P[s,a] V` (HiGHS), then one exact evaluation of its
      greedy policy, so the certificate is at rounding level.

    Parameters
    ----------
    method : {"pi", "vi", "mpi", "lp"}
    tol : float > 0
        Target suboptimality for VI and MPI.
    max_iter : int
        Cap on sweeps or improvements; ``converged`` says whether the rule was met.
    mpi_sweeps : int >= 1
        Partial-evaluation sweeps per improvement for MPI.

    Returns
    -------
    SolveResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=0.9)
    >>> res = mdp.solve("vi", tol=1e-6)
    >>> res.actions, bool(res.suboptimality_bound <= 1e-6), res.values.round(4)
    (array([1, 1]), True, array([10., 10.]))
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if self.horizon is not None:
        raise ValueError(
            "this MDP has a finite horizon; use backward_induction() for its optimum"
        )
    tol = check_positive(tol, "tol")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    mpi_sweeps = check_integer(mpi_sweeps, "mpi_sweeps", minimum=1)
    g = self.gamma
    V0 = self._r.max(axis=1).copy()
    prev_bound = np.inf
    Qhat = None
    if method == "vi":
        if self._blas:
            V, TV, it, converged = _vi_blas(self, V0, tol, max_iter)
        else:
            V, TV, _, it, converged = K.value_iteration(
                *self._layout(), self._r, g, 0.0, K.EMPTY_LOGREF, V0, tol, max_iter
            )
        Vhat, prev_bound, _ = mcqueen_midpoint(V, TV, g)
    elif method == "mpi":
        Vhat, it, converged, prev_bound = _mpi(self, V0, tol, max_iter, mpi_sweeps)
    elif method == "pi":
        Vhat, Qhat, it, converged = _pi(self, V0, max_iter)
    else:
        Vhat, it = _lp(self)
        converged = True
    cert = certify(self, np.ascontiguousarray(Vhat), prev_bound, Qhat)
    return SolveResult(iterations=int(it), method=method, converged=bool(converged), **cert)


def _vi_blas(mdp, V, tol, max_iter):
    """Value iteration with BLAS sweeps: the loop of ``_kernels.value_iteration``, kept in Python
    for speed on large dense problems, whose sweeps one BLAS product does faster."""
    f = mdp.gamma / (1.0 - mdp.gamma)
    it = 0
    while True:
        TV = mdp._q(V).max(axis=1)
        it += 1
        d = TV - V
        if f * (float(d.max()) - float(d.min())) <= tol:
            return V, TV, it, True
        if it >= max_iter:
            return V, TV, it, False
        V = TV


def _mpi(mdp, V, tol, max_iter, k):
    """Modified policy iteration (Puterman 1994, Sec. 6.5): greedy step, then k sweeps of T_pi."""
    for it in range(1, max_iter + 1):
        TV, act = mdp._greedy(V)
        mid, half, width = mcqueen_midpoint(V, TV, mdp.gamma)
        if width <= tol:
            return mid, it, True, half
        V = mdp._policy_sweeps(act, TV, k)
    return V, max_iter, False, np.inf


def _evaluate_actions(mdp, act, x0=None):
    """Exact values of the deterministic policy ``act`` (S,) by one linear solve."""
    S = mdp.n_states
    rows = np.arange(S)
    rpi = mdp._r[rows, act]
    if mdp._P is not None:
        Ppi = mdp._P[rows, act]  # (S, S) gather
    else:
        Ppi = mdp._csr[rows * mdp.n_actions + act]
    return mdp._solve_linear(Ppi, rpi, x0=x0)


def _pi(mdp, V0, max_iter):
    """Howard's policy iteration (Puterman 1994, Sec. 6.4) from the policy greedy in V0."""
    S = mdp.n_states
    rows = np.arange(S)
    _, act = mdp._greedy(V0)
    V = None
    for it in range(1, max_iter + 1):
        V = _evaluate_actions(mdp, act, x0=V)
        Q = mdp._q(V)
        best = Q.max(axis=1)
        # Switch only on a strict improvement beyond rounding, so ties cannot cycle.
        scale = 1e-12 * (1.0 + np.abs(V))
        improve = best > Q[rows, act] + scale
        if not improve.any():
            return V, Q, it, True
        act = np.where(improve, np.argmax(Q, axis=1), act)
    return V, Q, max_iter, False


def _lp(mdp):
    """The primal LP (Puterman 1994, Sec. 6.9) by HiGHS, then the exact value of its greedy policy."""
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Psa = sp.csr_array(mdp._P.reshape(S * A, S)) if mdp._P is not None else mdp._csr
    E = sp.csr_array((np.ones(S * A), (np.arange(S * A), np.repeat(np.arange(S), A))),
                     shape=(S * A, S))
    A_ub = (g * Psa - E).tocsr()
    res = linprog(np.ones(S), A_ub=A_ub, b_ub=-mdp._r.ravel(), bounds=(None, None),
                  method="highs")
    if res.status != 0:  # pragma: no cover - HiGHS failure on a bounded feasible LP
        raise RuntimeError(f"LP solver failed: {res.message}")
    _, act = mdp._greedy(np.ascontiguousarray(res.x))
    V = _evaluate_actions(mdp, act)
    return V, int(getattr(res, "nit", 0))
