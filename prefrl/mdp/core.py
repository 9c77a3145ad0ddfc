r"""The tabular MDP: exact evaluation, occupancy measures and certified solvers.

Notation used throughout: :math:`S` states, :math:`A` actions, transitions
:math:`P[s, a, s'] = \Pr(s_{t+1} = s' \mid s_t = s, a_t = a)`, expected rewards
:math:`r[s, a] = \sum_{s'} P[s, a, s'] R[s, a, s']`, discount :math:`\gamma`, initial distribution
:math:`\mu_0`. For a policy :math:`\pi` (row-stochastic, shape (S, A)),
:math:`P_\pi[s, s'] = \sum_a \pi(a|s) P[s, a, s']` and :math:`r_\pi(s) = \sum_a \pi(a|s) r[s, a]`.
The Bellman operators are

.. math::
    (T_\pi V)(s) = r_\pi(s) + \gamma (P_\pi V)(s), \qquad
    (T V)(s) = \max_a \big(r[s, a] + \gamma \textstyle\sum_{s'} P[s, a, s'] V(s')\big).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dgesv as _dgesv
from scipy.linalg.lapack import dgetrs as _dgetrs
from scipy.optimize import linprog
from scipy.special import logsumexp

from .._validation import (
    ATOL,
    as_rng,
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    check_positive,
    check_stochastic_matrix,
)
from . import _kernels as K
from ._results import (
    Evaluation,
    FiniteHorizonResult,
    Rollouts,
    SoftSolveResult,
    SolveResult,
)

__all__ = ["TabularMDP"]

_METHODS = ("vi", "pi", "mpi", "lp")
#: Dense problems with at least this many transition entries (8 MB) sweep with one BLAS
#: matrix-vector product: out of cache a sweep is bound by memory bandwidth, which BLAS reaches
#: (multi-threaded where the machine allows); smaller ones use the fused numba kernels.
_BLAS_MIN_ENTRIES = 1 << 20


def _check_sparse_transitions(P, S_expected=None):
    P = sp.csr_array(P, dtype=np.float64, copy=True)  # canonicalised below, in place
    if P.ndim != 2:
        raise ValueError(f"sparse transitions must be 2-D of shape (S * A, S), got {P.shape}")
    SA, S = P.shape
    if S == 0 or SA == 0 or SA % S != 0:
        raise ValueError(
            f"sparse transitions must have shape (S * A, S) with row s * A + a = P[s, a, :], "
            f"got {P.shape}"
        )
    P.sum_duplicates()
    P.sort_indices()
    data = P.data
    if not np.all(np.isfinite(data)):
        j = int(np.argmax(~np.isfinite(data)))
        row = int(np.searchsorted(P.indptr, j, side="right") - 1)
        raise ValueError(f"transitions[{row}, {P.indices[j]}] is {data[j]}, must be finite")
    if np.any(data < 0):
        j = int(np.argmax(data < 0))
        row = int(np.searchsorted(P.indptr, j, side="right") - 1)
        raise ValueError(f"transitions[{row}, {P.indices[j]}] = {data[j]:.6g}, must be >= 0")
    sums = np.asarray(P.sum(axis=1)).ravel()
    bad = np.abs(sums - 1.0) > ATOL * max(1, S)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"transitions[{i}, :] sums to {sums[i]:.6g}, must sum to 1")
    return P


class TabularMDP:
    r"""A finite Markov decision process :math:`(S, A, P, R, \gamma, \mu_0)`, optionally with a horizon.

    .. math::
        J(\pi) = \mathbb{E}\Big[\sum_{t=0}^{H-1} \gamma^t R(s_t, a_t, s_{t+1})\Big], \quad
        s_0 \sim \mu_0,\ a_t \sim \pi(\cdot|s_t),\ s_{t+1} \sim P[s_t, a_t, \cdot],

    with :math:`H = \infty` (and :math:`\gamma < 1`) unless ``horizon`` is given. Puterman (1994),
    *Markov Decision Processes*, Ch. 4 (finite horizon) and Ch. 6 (discounted).

    Parameters
    ----------
    transitions : array, shape (S, A, S), or scipy.sparse matrix, shape (S * A, S)
        :math:`P[s, a, s']`; every row is a distribution. The sparse form stores ``P[s, a, :]`` in
        row ``s * A + a`` (CSR is used internally).
    rewards : array, shape (S, A) or (S, A, S)
        :math:`r[s, a]` or :math:`R[s, a, s']` (the latter is averaged over :math:`P` into
        ``expected_rewards``).
    gamma : float
        Discount in [0, 1); 1 is allowed only with a finite ``horizon``.
    initial : array, shape (S,), optional
        :math:`\mu_0`; uniform by default.
    horizon : int >= 1, optional
        Finite horizon :math:`H` (None: infinite, discounted).
    state_labels, action_labels : sequence of str, optional
        Names, of lengths S and A.

    Examples
    --------
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1   # action a moves to state a
    >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=0.5)
    >>> mdp.solve().values.round(6)
    array([2., 2.])
    >>> TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=1.0)
    Traceback (most recent call last):
        ...
    ValueError: gamma = 1 needs a finite horizon (pass horizon=H)
    """

    def __init__(
        self,
        transitions,
        rewards,
        gamma: float,
        initial=None,
        horizon: int | None = None,
        *,
        state_labels: Sequence[str] | None = None,
        action_labels: Sequence[str] | None = None,
    ):
        if sp.issparse(transitions):
            Pcsr = _check_sparse_transitions(transitions)
            S = Pcsr.shape[1]
            A = Pcsr.shape[0] // S
            self._P = None
            self._csr = Pcsr
        else:
            P = check_array(transitions, "transitions", ndim=3)
            S, A, S2 = P.shape
            if S2 != S:
                raise ValueError(
                    f"transitions must have shape (S, A, S), got {P.shape} ({S} != {S2})"
                )
            P = np.ascontiguousarray(check_stochastic_matrix(P, "transitions"))
            self._P = P
            self._csr = None
        self._blas = self._csr is None and self._P.size >= _BLAS_MIN_ENTRIES
        R = check_array(rewards, "rewards", ndim=(2, 3))
        if R.shape[:2] != (S, A) or (R.ndim == 3 and R.shape[2] != S):
            want = f"({S}, {A}) or ({S}, {A}, {S})"
            raise ValueError(f"rewards must have shape {want} to match transitions, got {R.shape}")
        self._R = R
        if R.ndim == 3:
            if self._P is not None:
                r = np.einsum("sat,sat->sa", self._P, R)
            else:
                rows = np.repeat(np.arange(S * A), np.diff(self._csr.indptr))
                vals = self._csr.data * R.reshape(S * A, S)[rows, self._csr.indices]
                r = np.bincount(rows, weights=vals, minlength=S * A).reshape(S, A)
        else:
            r = R
        self._r = np.ascontiguousarray(r, dtype=np.float64)
        if horizon is not None:
            horizon = check_integer(horizon, "horizon", minimum=1)
        self.horizon = horizon
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0)
        if self.gamma == 1.0 and horizon is None:
            raise ValueError("gamma = 1 needs a finite horizon (pass horizon=H)")
        self.initial = (
            np.full(S, 1.0 / S) if initial is None else check_distribution(initial, "initial", size=S)
        )
        self.state_labels = self._labels(state_labels, S, "state_labels")
        self.action_labels = self._labels(action_labels, A, "action_labels")
        self.n_states, self.n_actions = S, A

    @staticmethod
    def _labels(labels, n, name):
        if labels is None:
            return None
        labels = tuple(str(x) for x in labels)
        if len(labels) != n:
            raise ValueError(f"{name} must have length {n}, got {len(labels)}")
        return labels

    # ------------------------------------------------------------------ basic accessors
    @property
    def is_sparse(self) -> bool:
        """Whether the transitions are stored as a sparse CSR matrix."""
        return self._csr is not None

    @property
    def transitions(self):
        """Transitions: dense array (S, A, S), or CSR sparse array (S * A, S)."""
        return self._P if self._P is not None else self._csr

    @property
    def rewards(self) -> np.ndarray:
        """The rewards as given, shape (S, A) or (S, A, S)."""
        return self._R

    @property
    def expected_rewards(self) -> np.ndarray:
        r""":math:`r[s, a] = \sum_{s'} P[s, a, s'] R[s, a, s']`, shape (S, A)."""
        return self._r

    def dense_transitions(self) -> np.ndarray:
        """Transitions as a dense (S, A, S) array (materialised from the sparse form if needed)."""
        if self._P is not None:
            return self._P
        return self._csr.toarray().reshape(self.n_states, self.n_actions, self.n_states)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        h = "" if self.horizon is None else f", horizon={self.horizon}"
        return (
            f"TabularMDP(S={self.n_states}, A={self.n_actions}, gamma={self.gamma}{h}, {kind})"
        )

    # ------------------------------------------------------------------ validation helpers
    def check_policy(self, policy, name: str = "policy", *, time_dependent: bool = False):
        """Validate a policy: (S, A) row-stochastic, or an integer action per state (S,).

        With ``time_dependent=True`` an (H, S, A) array is also accepted (finite horizon).
        Returns a float array of shape (S, A) or (H, S, A).
        """
        S, A = self.n_states, self.n_actions
        arr = np.asarray(policy)
        if arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer):
            if arr.shape[0] != S:
                raise ValueError(f"{name} must have length {S} (one action per state)")
            if np.any((arr < 0) | (arr >= A)):
                i = int(np.argmax((arr < 0) | (arr >= A)))
                raise ValueError(f"{name}[{i}] = {arr[i]}, must be in [0, {A})")
            out = np.zeros((S, A))
            out[np.arange(S), arr] = 1.0
            return out
        if time_dependent and arr.ndim == 3:
            H = self.horizon
            return check_stochastic_matrix(policy, name, shape=(H, S, A))
        return check_stochastic_matrix(policy, name, shape=(S, A))

    def _check_values(self, V, name="values"):
        return check_array(V, name, shape=(self.n_states,))

    # ------------------------------------------------------------------ operators
    def q_from_values(self, values) -> np.ndarray:
        r"""One-step look-ahead :math:`Q[s, a] = r[s, a] + \gamma \sum_{s'} P[s, a, s'] V(s')`.

        Parameters
        ----------
        values : array, shape (S,)

        Returns
        -------
        array, shape (S, A)

        Examples
        --------
        >>> P = np.ones((2, 1, 2)) / 2
        >>> TabularMDP(P, [[1.0], [0.0]], gamma=0.5).q_from_values([2.0, 0.0])
        array([[1.5],
               [0.5]])
        """
        V = np.ascontiguousarray(self._check_values(values))
        return self._q(V)

    def _q(self, V, r=None):
        r = self._r if r is None else r
        if self._blas:
            S, A = self.n_states, self.n_actions
            return r + self.gamma * (self._P.reshape(S * A, S) @ V).reshape(S, A)
        Q = np.empty((self.n_states, self.n_actions))
        if self._P is not None:
            K.dense_q(self._P, r, self.gamma, V, Q)
        else:
            c = self._csr
            K.sparse_q(c.indptr, c.indices, c.data, r, self.gamma, V, Q)
        return Q

    def _policy_matrix(self, pi):
        """P_pi (dense (S, S) or CSR) and r_pi (S,)."""
        S, A = self.n_states, self.n_actions
        rpi = np.einsum("sa,sa->s", pi, self._r)
        if self._P is not None:
            Ppi = np.einsum("sa,sat->st", pi, self._P)
            return Ppi, rpi
        W = sp.csr_array(
            (pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A)
        )
        return (W @ self._csr).tocsr(), rpi

    def _solve_linear(self, Ppi, b, *, transpose=False, x0=None):
        r"""Solve :math:`(I - \gamma P_\pi) x = b` (or its transpose), exactly up to rounding."""
        S, g = self.n_states, self.gamma
        if not sp.issparse(Ppi):
            A = Ppi.T if transpose else Ppi
            # M = I - gamma A, built in Fortran order so that LAPACK factorises it in place.
            M = np.empty((S, S), order="F")
            np.multiply(A, -g, out=M)
            M[np.diag_indices(S)] += 1.0
            if S > 400:
                x = self._krylov(M, b, x0)
                if x is not None:
                    return x
            # LAPACK's gesv directly: I - gamma P_pi is nonsingular for gamma < 1 (its
            # eigenvalues lie in the disc of radius gamma around 1), so no checks are needed.
            lu, piv, x, info = _dgesv(M, b, overwrite_a=1, overwrite_b=0)
            if info != 0:  # pragma: no cover - only for gamma = 1 without a horizon
                raise np.linalg.LinAlgError(f"I - gamma P_pi is singular (gesv info={info})")
            # One step of iterative refinement with the same factors: O(S^2), and it brings
            # the residual to rounding level even when gamma is close to 1.
            dx, _ = _dgetrs(lu, piv, b - (x - g * (A @ x)))
            return x + dx
        M = (sp.eye_array(S, format="csr") - g * (Ppi.T if transpose else Ppi)).tocsr()
        if S > 3000:
            x = self._krylov(M, b, x0)
            if x is not None:
                return x
        return spla.spsolve(M.tocsc(), b)

    def _krylov(self, M, b, x0):
        """BiCGSTAB (capped well below the cost of an LU factorisation) with iterative refinement;
        returns None unless the residual reaches rounding level (the caller then solves directly).
        """
        scale = max(1.0, float(np.max(np.abs(b))))
        cap = max(10, min(200, b.shape[0] // 20))
        x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64)
        for _ in range(3):
            res = b - M @ x
            if float(np.max(np.abs(res))) <= 1e-13 * scale:
                return x
            dx, _ = spla.bicgstab(M, res, rtol=1e-12, atol=0.0, maxiter=cap)
            if not np.all(np.isfinite(dx)):
                return None
            x = x + dx
        return x if float(np.max(np.abs(b - M @ x))) <= 1e-12 * scale else None

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, policy) -> Evaluation:
        r"""Exact values of a stochastic policy by a linear solve (or backward recursion).

        .. math::
            V^\pi = (I - \gamma P_\pi)^{-1} r_\pi, \qquad Q^\pi = r + \gamma P V^\pi,
            \qquad J(\pi) = \mu_0^\top V^\pi.

        With a finite horizon :math:`H`: :math:`V_H = 0`,
        :math:`Q_t = r + \gamma P V_{t+1}`, :math:`V_t(s) = \sum_a \pi_t(a|s) Q_t(s, a)`, and the
        time-0 values are returned. Puterman (1994), Thm 6.1.1 and Sec. 4.2.

        Parameters
        ----------
        policy : array, shape (S, A), or (H, S, A) with a horizon, or int array (S,)
            :math:`\pi(a|s)` (an integer array gives a deterministic action per state).

        Returns
        -------
        Evaluation
            ``values`` (S,), ``q_values`` (S, A), ``expected_return``.

        Examples
        --------
        >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
        >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=0.5)
        >>> mdp.evaluate(np.full((2, 2), 0.5)).values
        array([1., 1.])
        """
        pi = self.check_policy(policy, time_dependent=self.horizon is not None)
        if self.horizon is not None:
            V = np.zeros(self.n_states)
            Q = None
            for t in reversed(range(self.horizon)):
                pit = pi[t] if pi.ndim == 3 else pi
                Q = self._q(V)
                V = np.einsum("sa,sa->s", pit, Q)
            return Evaluation(V, Q, float(self.initial @ V))
        Ppi, rpi = self._policy_matrix(pi)
        V = self._solve_linear(Ppi, rpi)
        return Evaluation(V, self._q(V), float(self.initial @ V))

    def occupancy(self, policy, initial=None) -> np.ndarray:
        r"""Discounted state-action occupancy measure of a policy.

        .. math::
            d^\pi(s, a) = \sum_{t=0}^{H-1} \gamma^t \Pr(s_t = s, a_t = a), \qquad
            d^\pi_S = (I - \gamma P_\pi^\top)^{-1} \mu_0, \quad d^\pi(s, a) = d^\pi_S(s)\,\pi(a|s),

        so that :math:`J(\pi) = \langle d^\pi, r \rangle` and
        :math:`\sum_{s,a} d^\pi(s, a) = \sum_{t<H} \gamma^t` (:math:`1/(1-\gamma)` when
        :math:`H = \infty`). Puterman (1994), Thm 6.9.1; the dual LP variables.

        Parameters
        ----------
        policy : array, shape (S, A) (or (H, S, A) with a horizon)
        initial : array, shape (S,), optional
            Start distribution; the MDP's :math:`\mu_0` by default.

        Returns
        -------
        array, shape (S, A)

        Examples
        --------
        >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
        >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=0.5, initial=[1.0, 0.0])
        >>> mdp.occupancy(np.array([1, 1])).round(6)
        array([[0., 1.],
               [0., 1.]])
        """
        pi = self.check_policy(policy, time_dependent=self.horizon is not None)
        mu = self.initial if initial is None else check_distribution(
            initial, "initial", size=self.n_states
        )
        if self.horizon is not None:
            rho = mu.copy()
            occ = np.zeros((self.n_states, self.n_actions))
            for t in range(self.horizon):
                pit = pi[t] if pi.ndim == 3 else pi
                sa = rho[:, None] * pit
                occ += self.gamma**t * sa
                rho = self._push(sa)
            return occ
        Ppi, _ = self._policy_matrix(pi)
        d = self._solve_linear(Ppi, mu, transpose=True)
        return np.maximum(d, 0.0)[:, None] * pi

    def _push(self, sa):
        """State distribution after one step from the state-action distribution ``sa`` (S, A)."""
        if self._P is not None:
            return np.einsum("sa,sat->t", sa, self._P)
        return self._csr.T @ sa.ravel()

    def expected_return(self, policy) -> float:
        r""":math:`J(\pi) = \mu_0^\top V^\pi` (see :meth:`evaluate`).

        Examples
        --------
        >>> P = np.ones((1, 2, 1))
        >>> TabularMDP(P, [[0.0, 1.0]], gamma=0.5).expected_return([[0.5, 0.5]])
        1.0
        """
        return self.evaluate(policy).expected_return

    # ------------------------------------------------------------------ certified solvers
    def _certify(self, V, prev_bound=np.inf, Q=None):
        """Values, Q, greedy policy and certificate at the values V (see SolveResult).

        ``Q`` may be passed when already computed at exactly these values.
        """
        g = self.gamma
        Q = self._q(V) if Q is None else Q
        TV = Q.max(axis=1)
        d = TV - V
        lo, hi = float(d.min()), float(d.max())
        f = g / (1.0 - g)
        # McQueen bounds: V* and V^pi (pi greedy wrt V) lie in [TV + f lo, TV + f hi].
        value_err = float(np.max(np.maximum(np.abs(d + f * lo), np.abs(d + f * hi))))
        policy = np.zeros_like(Q)
        policy[np.arange(self.n_states), np.argmax(Q, axis=1)] = 1.0
        return dict(
            values=V,
            q_values=Q,
            policy=policy,
            bellman_residual=float(np.max(np.abs(d))),
            value_error_bound=min(value_err, prev_bound),
            suboptimality_bound=f * (hi - lo),
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
        :math:`\|\hat V - V^*\|_\infty`.

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
        converged = True
        if method == "vi":
            if self._blas:
                V, TV, it, converged = self._vi_loop(V0, tol, max_iter)
            elif self._P is not None:
                V, TV, _, it, converged = K.dense_vi(self._P, self._r, g, V0, tol, max_iter)
            else:
                c = self._csr
                V, TV, _, it, converged = K.sparse_vi(
                    c.indptr, c.indices, c.data, self._r, g, V0, tol, max_iter
                )
            d = TV - V
            f = g / (1.0 - g)
            lo, hi = float(d.min()), float(d.max())
            Vhat = TV + f * 0.5 * (lo + hi)
            prev_bound = f * 0.5 * (hi - lo)
        elif method == "mpi":
            Vhat, it, converged, prev_bound = self._mpi(V0, tol, max_iter, mpi_sweeps)
        Qhat = None
        if method == "pi":
            Vhat, Qhat, it, converged = self._pi(V0, max_iter)
        elif method == "lp":
            Vhat, it = self._lp()
        cert = self._certify(np.ascontiguousarray(Vhat), prev_bound, Qhat)
        return SolveResult(iterations=int(it), method=method, converged=bool(converged), **cert)

    def _vi_loop(self, V, tol, max_iter):
        """Value iteration with BLAS sweeps (large dense problems); as K.dense_vi."""
        f = self.gamma / (1.0 - self.gamma)
        it = 0
        while True:
            TV = self._q(V).max(axis=1)
            it += 1
            d = TV - V
            if f * (float(d.max()) - float(d.min())) <= tol:
                return V, TV, it, True
            if it >= max_iter:
                return V, TV, it, False
            V = TV

    def _policy_sweeps(self, act, V, k):
        """k applications of T_pi for the deterministic policy ``act``."""
        if self._blas:
            # Large dense: gather P_pi once (S x S, contiguous) and let BLAS stream through it.
            rows = np.arange(self.n_states)
            Ppi, rpi = self._P[rows, act], self._r[rows, act]
            for _ in range(k):
                V = rpi + self.gamma * (Ppi @ V)
            return V
        if self._P is not None:
            return K.dense_policy_sweeps(self._P, self._r, self.gamma, act, V, k)
        c = self._csr
        return K.sparse_policy_sweeps(c.indptr, c.indices, c.data, self._r, self.gamma, act, V, k)

    def _greedy(self, V):
        if self._blas:
            Q = self._q(V)
            return Q.max(axis=1), np.argmax(Q, axis=1)
        TV = np.empty(self.n_states)
        act = np.empty(self.n_states, dtype=np.int64)
        if self._P is not None:
            K.dense_bellman(self._P, self._r, self.gamma, V, TV, act)
        else:
            c = self._csr
            K.sparse_bellman(c.indptr, c.indices, c.data, self._r, self.gamma, V, TV, act)
        return TV, act

    def _mpi(self, V, tol, max_iter, k):
        f = self.gamma / (1.0 - self.gamma)
        for it in range(1, max_iter + 1):
            TV, act = self._greedy(V)
            d = TV - V
            lo, hi = float(d.min()), float(d.max())
            if f * (hi - lo) <= tol:
                return TV + f * 0.5 * (lo + hi), it, True, f * 0.5 * (hi - lo)
            V = self._policy_sweeps(act, TV, k)
        return V, max_iter, False, np.inf

    def _evaluate_actions(self, act, x0=None):
        S = self.n_states
        rows = np.arange(S)
        rpi = self._r[rows, act]
        if self._P is not None:
            Ppi = self._P[rows, act]  # (S, S) gather
        else:
            Ppi = self._csr[rows * self.n_actions + act]
        return self._solve_linear(Ppi, rpi, x0=x0)

    def _pi(self, V0, max_iter):
        S = self.n_states
        rows = np.arange(S)
        _, act = self._greedy(V0)
        V = None
        for it in range(1, max_iter + 1):
            V = self._evaluate_actions(act, x0=V)
            Q = self._q(V)
            best = Q.max(axis=1)
            # Switch only on a strict improvement beyond rounding, so ties cannot cycle.
            scale = 1e-12 * (1.0 + np.abs(V))
            improve = best > Q[rows, act] + scale
            if not improve.any():
                return V, Q, it, True
            act = np.where(improve, np.argmax(Q, axis=1), act)
        return V, Q, max_iter, False

    def _lp(self):
        S, A, g = self.n_states, self.n_actions, self.gamma
        Psa = sp.csr_array(self._P.reshape(S * A, S)) if self._P is not None else self._csr
        E = sp.csr_array((np.ones(S * A), (np.arange(S * A), np.repeat(np.arange(S), A))),
                         shape=(S * A, S))
        A_ub = (g * Psa - E).tocsr()
        res = linprog(np.ones(S), A_ub=A_ub, b_ub=-self._r.ravel(), bounds=(None, None),
                      method="highs")
        if res.status != 0:  # pragma: no cover - HiGHS failure on a bounded feasible LP
            raise RuntimeError(f"LP solver failed: {res.message}")
        _, act = self._greedy(np.ascontiguousarray(res.x))
        V = self._evaluate_actions(act)
        return V, int(getattr(res, "nit", 0))

    # ------------------------------------------------------------------ soft (KL-regularised)
    def _log_reference(self, reference):
        S, A = self.n_states, self.n_actions
        if reference is None:
            return np.full((S, A), -np.log(A))
        ref = check_array(reference, "reference", ndim=(1, 2))
        if ref.ndim == 1:
            ref = np.broadcast_to(check_distribution(ref, "reference", size=A), (S, A))
        ref = check_stochastic_matrix(ref, "reference", shape=(S, A))
        with np.errstate(divide="ignore"):
            return np.ascontiguousarray(np.log(ref))

    def _soft_backup(self, Q, logref, beta):
        with np.errstate(divide="ignore"):
            return beta * logsumexp(Q / beta + logref, axis=1)

    def soft_solve(
        self, beta: float, reference=None, tol: float = 1e-10, max_iter: int = 1_000_000
    ) -> SoftSolveResult:
        r"""KL-regularised optimum by soft value iteration.

        Maximises :math:`\mathbb{E}\sum_t \gamma^t \big(r(s_t,a_t) - \beta\,
        \mathrm{KL}(\pi(\cdot|s_t) \,\|\, \pi_{ref}(\cdot|s_t))\big)`, whose optimum solves

        .. math::
            Q(s,a) = r(s,a) + \gamma \sum_{s'} P[s,a,s'] V(s'), \quad
            V(s) = \beta \log \sum_a \pi_{ref}(a|s)\, e^{Q(s,a)/\beta}, \quad
            \pi(a|s) = \pi_{ref}(a|s)\, e^{(Q(s,a) - V(s))/\beta}.

        With a uniform reference this is the entropy-regularised (maximum-entropy) problem
        :math:`\max \mathbb{E}\sum_t\gamma^t(r + \beta \mathcal{H}(\pi(\cdot|s_t)))` shifted by
        :math:`-\beta \log A/(1-\gamma)`. As :math:`\beta \to 0`,
        :math:`V^* - \beta \max_{s,a} \log(1/\pi_{ref}(a|s))/(1-\gamma) \le V_\beta \le V^*` when
        the reference has full support. Ziebart (2010) thesis, Sec. 6.2; Haarnoja et al. (2017),
        Thm 1; Geist, Scherrer and Pietquin (2019), Sec. 3. The soft operator is a
        :math:`\gamma`-contraction with :math:`T(V + c) = TV + \gamma c`, so the same span rule and
        McQueen bounds as :meth:`solve` certify ``value_error_bound``.

        Parameters
        ----------
        beta : float > 0
            KL weight (temperature; some papers call it alpha or tau).
        reference : array, shape (A,) or (S, A), optional
            :math:`\pi_{ref}`; uniform by default. Zeros are allowed (those actions get 0).
        tol : float > 0
            Stop when :math:`\frac{\gamma}{1-\gamma}\mathrm{span}(TV - V) \le` ``tol``.
        max_iter : int

        Returns
        -------
        SoftSolveResult

        Examples
        --------
        >>> P = np.ones((1, 2, 1))      # one state, two actions, reward 1 or 0
        >>> res = TabularMDP(P, [[1.0, 0.0]], gamma=0.5).soft_solve(beta=1.0)
        >>> res.policy.round(4), res.values.round(4)
        (array([[0.7311, 0.2689]]), array([1.2402]))
        """
        if self.horizon is not None:
            raise ValueError(
                "this MDP has a finite horizon; use backward_induction(beta=...) instead"
            )
        beta = check_positive(beta, "beta")
        tol = check_positive(tol, "tol")
        max_iter = check_integer(max_iter, "max_iter", minimum=1)
        logref = self._log_reference(reference)
        g = self.gamma
        V0 = self._soft_backup(self._r, logref, beta)
        if self._P is not None:
            V, TV, it, conv = K.dense_soft_vi(self._P, self._r, g, beta, logref, V0, tol, max_iter)
        else:
            c = self._csr
            V, TV, it, conv = K.sparse_soft_vi(c.indptr, c.indices, c.data, self._r, g, beta,
                                               logref, V0, tol, max_iter)
        f = g / (1.0 - g)
        d = TV - V
        lo, hi = float(d.min()), float(d.max())
        Vhat = TV + f * 0.5 * (lo + hi)
        prev = f * 0.5 * (hi - lo)
        Q = self._q(Vhat)
        TVh = self._soft_backup(Q, logref, beta)
        dh = TVh - Vhat
        lo2, hi2 = float(dh.min()), float(dh.max())
        err = float(np.max(np.maximum(np.abs(dh + f * lo2), np.abs(dh + f * hi2))))
        with np.errstate(divide="ignore", invalid="ignore"):
            logpi = np.where(np.isneginf(logref), -np.inf, logref + (Q - TVh[:, None]) / beta)
        logpi = logpi - logsumexp(logpi, axis=1, keepdims=True)
        return SoftSolveResult(
            values=Vhat,
            q_values=Q,
            policy=np.exp(logpi),
            log_policy=logpi,
            iterations=int(it),
            beta=beta,
            bellman_residual=float(np.max(np.abs(dh))),
            value_error_bound=min(err, prev),
            converged=bool(conv),
        )

    # ------------------------------------------------------------------ finite horizon
    def backward_induction(
        self, horizon: int | None = None, beta: float | None = None, reference=None, terminal=None
    ) -> FiniteHorizonResult:
        r"""Exact finite-horizon optimum (hard or KL-regularised) by backward induction.

        .. math::
            V_H = V_{term}, \quad Q_t = r + \gamma P V_{t+1}, \quad
            V_t(s) = \max_a Q_t(s, a) \ \text{ or } \
            V_t(s) = \beta \log \sum_a \pi_{ref}(a|s) e^{Q_t(s,a)/\beta},

        for :math:`t = H-1, \dots, 0`, with the time-dependent policy greedy in :math:`Q_t`
        (first maximiser) or :math:`\pi_t \propto \pi_{ref} e^{Q_t/\beta}`. Puterman (1994),
        Sec. 4.5 (the hard case); the soft case is the same recursion with the log-sum-exp backup.
        For :math:`\gamma < 1`, :math:`\|V_0 - V^*\|_\infty \le \gamma^H \|V^* - V_{term}\|_\infty`.

        Parameters
        ----------
        horizon : int >= 1, optional
            :math:`H`; the MDP's own horizon by default (required if the MDP has none).
        beta : float > 0, optional
            KL weight; None solves the unregularised problem.
        reference : array, shape (A,) or (S, A), optional
            :math:`\pi_{ref}` for the soft case; uniform by default.
        terminal : array, shape (S,), optional
            :math:`V_{term}`; zeros by default.

        Returns
        -------
        FiniteHorizonResult

        Examples
        --------
        >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
        >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=1.0, horizon=3)
        >>> res = mdp.backward_induction()
        >>> res.values[0], res.policy.shape
        (array([3., 3.]), (3, 2, 2))
        """
        H = self.horizon if horizon is None else check_integer(horizon, "horizon", minimum=1)
        if H is None:
            raise ValueError("horizon must be given for an MDP without a finite horizon")
        S, A = self.n_states, self.n_actions
        if beta is not None:
            beta = check_positive(beta, "beta")
            logref = self._log_reference(reference)
        V = np.zeros(S) if terminal is None else self._check_values(terminal, "terminal").copy()
        values = np.empty((H + 1, S))
        Qs = np.empty((H, S, A))
        pol = np.zeros((H, S, A))
        values[H] = V
        for t in reversed(range(H)):
            Q = self._q(np.ascontiguousarray(values[t + 1]))
            Qs[t] = Q
            if beta is None:
                values[t] = Q.max(axis=1)
                pol[t, np.arange(S), np.argmax(Q, axis=1)] = 1.0
            else:
                values[t] = self._soft_backup(Q, logref, beta)
                with np.errstate(divide="ignore", invalid="ignore"):
                    lp = np.where(np.isneginf(logref), -np.inf,
                                  logref + (Q - values[t][:, None]) / beta)
                pol[t] = np.exp(lp - logsumexp(lp, axis=1, keepdims=True))
        return FiniteHorizonResult(values, Qs, pol, float(self.initial @ values[0]), beta)

    # ------------------------------------------------------------------ sampling
    def rollout(self, policy, rng, n_episodes: int, length: int, start=None) -> Rollouts:
        r"""Sample episodes :math:`s_0 \sim \mu_0, a_t \sim \pi(\cdot|s_t), s_{t+1} \sim P`.

        The reward of a step is :math:`R[s_t, a_t, s_{t+1}]` when rewards were given as
        (S, A, S), else :math:`r[s_t, a_t]`.

        Parameters
        ----------
        policy : array, shape (S, A)
        rng : numpy Generator or int seed
        n_episodes, length : int >= 1
        start : int, optional
            Start every episode in this state instead of drawing from :math:`\mu_0`.

        Returns
        -------
        Rollouts
            ``states`` (n, L + 1), ``actions`` (n, L), ``rewards`` (n, L).

        Examples
        --------
        >>> P = np.ones((1, 2, 1))
        >>> ro = TabularMDP(P, [[1.0, 0.0]], gamma=0.5).rollout(np.array([0]), 0, 2, 3)
        >>> ro.rewards, ro.discounted_returns(0.5)
        (array([[1., 1., 1.],
               [1., 1., 1.]]), array([1.75, 1.75]))
        """
        pi = self.check_policy(policy)
        rng = as_rng(rng)
        n = check_integer(n_episodes, "n_episodes", minimum=1)
        L = check_integer(length, "length", minimum=1)
        S = self.n_states
        states = np.empty((n, L + 1), dtype=np.int64)
        actions = np.empty((n, L), dtype=np.int64)
        rewards = np.empty((n, L))
        if start is None:
            states[:, 0] = rng.choice(S, size=n, p=self.initial)
        else:
            states[:, 0] = check_integer(start, "start", minimum=0)
            if states[0, 0] >= S:
                raise ValueError(f"start must be < {S}, got {start}")
        cpi = np.cumsum(pi, axis=1)
        for t in range(L):
            s = states[:, t]
            a = np.minimum((cpi[s] < rng.random(n)[:, None]).sum(axis=1), self.n_actions - 1)
            u = rng.random(n)
            if self._P is not None:
                rows = np.cumsum(self._P[s, a], axis=1)
                nxt = np.minimum((rows < u[:, None]).sum(axis=1), S - 1)
            else:
                c = self._csr
                nxt = np.empty(n, dtype=np.int64)
                for i, row in enumerate(s * self.n_actions + a):
                    lo, hi = c.indptr[row], c.indptr[row + 1]
                    cs = np.cumsum(c.data[lo:hi])
                    nxt[i] = c.indices[lo + min(int((cs < u[i]).sum()), hi - lo - 1)]
            actions[:, t] = a
            states[:, t + 1] = nxt
            rewards[:, t] = self._R[s, a, nxt] if self._R.ndim == 3 else self._r[s, a]
        return Rollouts(states, actions, rewards)
