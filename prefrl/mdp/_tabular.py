r"""The tabular MDP: the model, its operators, exact evaluation, occupancy and roll-outs.

Notation used throughout :mod:`prefrl.mdp`: :math:`S` states, :math:`A` actions, transitions
:math:`P[s, a, s'] = \Pr(s_{t+1} = s' \mid s_t = s, a_t = a)`, expected rewards
:math:`r[s, a] = \sum_{s'} P[s, a, s'] R[s, a, s']`, discount :math:`\gamma`, initial distribution
:math:`\mu_0`. For a policy :math:`\pi` (row-stochastic, shape (S, A)),
:math:`P_\pi[s, s'] = \sum_a \pi(a|s) P[s, a, s']` and :math:`r_\pi(s) = \sum_a \pi(a|s) r[s, a]`.
The Bellman operators are

.. math::
    (T_\pi V)(s) = r_\pi(s) + \gamma (P_\pi V)(s), \qquad
    (T V)(s) = \max_a \big(r[s, a] + \gamma \textstyle\sum_{s'} P[s, a, s'] V(s')\big).

This file holds :class:`TabularMDP` (Puterman 1994, *Markov Decision Processes*, Ch. 4 and 6):

- the model: dense (S, A, S) or sparse CSR (S * A, S) transitions, validated; rewards (S, A) or
  (S, A, S); the accessors;
- the operators: :meth:`~TabularMDP.q_from_values` and the private sweeps (numba kernels of
  ``_kernels.py``, or one BLAS product for large dense problems), the exact linear solve of
  :math:`(I - \gamma P_\pi) x = b` (LAPACK with one step of iterative refinement; BiCGSTAB for
  large problems);
- exact evaluation (Puterman 1994, Thm 6.1.1 and Sec. 4.2): :meth:`~TabularMDP.evaluate`,
  :meth:`~TabularMDP.expected_return`; the discounted occupancy measure (Thm 6.9.1):
  :meth:`~TabularMDP.occupancy`; sampled episodes: :meth:`~TabularMDP.rollout`.

Its solvers are methods too, written in their own files: :meth:`~TabularMDP.solve` (the certified
VI, PI, MPI and LP of ``_solvers.py``), :meth:`~TabularMDP.soft_solve` and
:meth:`~TabularMDP.backward_induction` (``_soft.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dgesv as _dgesv
from scipy.linalg.lapack import dgetrs as _dgetrs

from .._validation import (
    ATOL,
    as_rng,
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    check_stochastic_matrix,
)
from . import _kernels as K
from . import _soft, _solvers
from ._results import Evaluation, Rollouts

__all__ = ["TabularMDP"]

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


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a``."""
    out = np.array(a, dtype=a.dtype, copy=True)
    out.flags.writeable = False
    return out


class TabularMDP:
    r"""A finite Markov decision process :math:`(S, A, P, R, \gamma, \mu_0)`, optionally with a horizon.

    .. math::
        J(\pi) = \mathbb{E}\Big[\sum_{t=0}^{H-1} \gamma^t R(s_t, a_t, s_{t+1})\Big], \quad
        s_0 \sim \mu_0,\ a_t \sim \pi(\cdot|s_t),\ s_{t+1} \sim P[s_t, a_t, \cdot],

    with :math:`H = \infty` (and :math:`\gamma < 1`) unless ``horizon`` is given. Puterman (1994),
    *Markov Decision Processes*, Ch. 4 (finite horizon) and Ch. 6 (discounted).

    Exact evaluation: :meth:`evaluate`, :meth:`expected_return`, :meth:`occupancy`; the optimum:
    :meth:`solve` (certified VI, PI, MPI or LP), :meth:`soft_solve` (KL-regularised),
    :meth:`backward_induction` (finite horizon, hard or soft); sampling: :meth:`rollout`.

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
        # the model owns read-only copies: mutating the caller's arrays afterwards changes nothing,
        # and nobody can change the model's arrays in place
        self._P = None if self._P is None else _frozen(self._P)
        self._R, self._r, self.initial = _frozen(R), _frozen(self._r), _frozen(self.initial)
        if self._csr is not None:
            self._csr = self._csr.copy()
            for part in (self._csr.data, self._csr.indices, self._csr.indptr):
                part.flags.writeable = False

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
        """Q = r + gamma P V for contiguous V (S,), with the MDP's r unless another is given."""
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

    def _layout(self):
        """The transitions as the kernels take them: (P, indptr, indices, data), the unused
        layout filled with the placeholders of ``_kernels``."""
        if self._P is not None:
            return (self._P, *K.EMPTY_CSR)
        c = self._csr
        return K.EMPTY_DENSE, c.indptr, c.indices, c.data

    def _greedy(self, V):
        """TV = max_a Q and the first maximising action, in one fused sweep (one BLAS product
        for large dense problems)."""
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
            return Evaluation(values=V, q_values=Q, expected_return=float(self.initial @ V))
        Ppi, rpi = self._policy_matrix(pi)
        V = self._solve_linear(Ppi, rpi)
        return Evaluation(values=V, q_values=self._q(V), expected_return=float(self.initial @ V))

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
        return Rollouts(states=states, actions=actions, rewards=rewards)

    # ------------------------------------------------------------------ solvers (other files)
    # Methods written in _solvers.py (certified VI, PI, MPI, LP) and _soft.py (the KL-regularised
    # optimum, backward induction): functions of `self`, bound here.
    solve = _solvers.solve
    _certify = _solvers.certify
    soft_solve = _soft.soft_solve
    backward_induction = _soft.backward_induction
