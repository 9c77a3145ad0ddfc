r"""numba kernels for the Bellman sweeps of :mod:`prefrl.mdp` (private; plain arrays only).

Dense transitions are a C-contiguous ``(S, A, S)`` float64 array; sparse ones are the three CSR
arrays ``(indptr, indices, data)`` of the ``(S * A, S)`` matrix whose row ``s * A + a`` is
``P[s, a, :]``. Every sweep fuses the matrix-vector product with the max (or log-sum-exp) over
actions, so a sweep reads the transitions exactly once and allocates nothing.

- :func:`dense_q`, :func:`sparse_q`: :math:`Q = r + \gamma P V`;
- :func:`dense_bellman`, :func:`sparse_bellman`: :math:`TV = \max_a Q` and the greedy action;
- :func:`dense_policy_sweeps`, :func:`sparse_policy_sweeps`: :math:`k` applications of
  :math:`T_\pi` for a deterministic policy (modified policy iteration);
- :func:`value_iteration`: the one span-stopping loop of hard and soft (KL-regularised) value
  iteration, on dense or sparse transitions (Puterman 1994, Thm 6.6.6, the McQueen bounds).

The dense and sparse sweeps are twins (the same sweep on two storage layouts), kept as separate
kernels for speed: the dense inner loop is a contiguous dot product that LLVM vectorises, and one
kernel branching on the layout measured two to three times slower. The loop around them is one
(:func:`value_iteration`), for both layouts and both backups; the BLAS path of large dense
problems keeps its own Python loop (``_solvers.py``), for the same reason.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "EMPTY_CSR",
    "EMPTY_DENSE",
    "EMPTY_LOGREF",
    "dense_bellman",
    "dense_policy_sweeps",
    "dense_q",
    "sparse_bellman",
    "sparse_policy_sweeps",
    "sparse_q",
    "value_iteration",
]

# Reassociation lets LLVM vectorise the dot products (a different, equally accurate summation
# order); the no-NaN/no-inf flags of full fastmath are NOT used: -inf marks excluded actions.
_FM = {"reassoc", "contract"}

#: Placeholders for the storage layout not in use, and for the pi_ref of a hard (beta = 0) sweep.
EMPTY_DENSE = np.empty((0, 0, 0))
EMPTY_CSR = (np.zeros(1, dtype=np.int32), np.empty(0, dtype=np.int32), np.empty(0))
EMPTY_LOGREF = np.empty((0, 0))

# ----------------------------------------------------------------------------- dense


@njit(cache=True, fastmath=_FM)
def dense_q(P, r, gamma, V, Q):
    """Q[s, a] = r[s, a] + gamma * sum_s' P[s, a, s'] V[s']."""
    S, A = r.shape
    for s in range(S):
        for a in range(A):
            acc = 0.0
            row = P[s, a]
            for t in range(S):
                acc += row[t] * V[t]
            Q[s, a] = r[s, a] + gamma * acc


@njit(cache=True, fastmath=_FM)
def dense_bellman(P, r, gamma, V, TV, greedy):
    """TV = max_a (r + gamma P V); greedy = the first maximising action.

    Fused (not ``dense_q`` then a max) so that a sweep writes no (S, A) array.
    """
    S, A = r.shape
    for s in range(S):
        best = -np.inf
        arg = 0
        for a in range(A):
            acc = 0.0
            row = P[s, a]
            for t in range(S):
                acc += row[t] * V[t]
            q = r[s, a] + gamma * acc
            if q > best:
                best = q
                arg = a
        TV[s] = best
        greedy[s] = arg


@njit(cache=True, fastmath=_FM)
def dense_policy_sweeps(P, r, gamma, actions, V, k):
    """k applications of T_pi for the deterministic policy ``actions`` (S,), in place on a copy."""
    S = V.shape[0]
    W = np.empty(S)
    V = V.copy()
    for _ in range(k):
        for s in range(S):
            a = actions[s]
            row = P[s, a]
            acc = 0.0
            for t in range(S):
                acc += row[t] * V[t]
            W[s] = r[s, a] + gamma * acc
        V, W = W, V
    return V


# ----------------------------------------------------------------------------- sparse (CSR)


@njit(cache=True, fastmath=_FM)
def sparse_q(indptr, indices, data, r, gamma, V, Q):
    """Sparse twin of :func:`dense_q`."""
    S, A = r.shape
    for s in range(S):
        for a in range(A):
            i = s * A + a
            acc = 0.0
            for j in range(indptr[i], indptr[i + 1]):
                acc += data[j] * V[indices[j]]
            Q[s, a] = r[s, a] + gamma * acc


@njit(cache=True, fastmath=_FM)
def sparse_bellman(indptr, indices, data, r, gamma, V, TV, greedy):
    """Sparse twin of :func:`dense_bellman`."""
    S, A = r.shape
    for s in range(S):
        best = -np.inf
        arg = 0
        for a in range(A):
            i = s * A + a
            acc = 0.0
            for j in range(indptr[i], indptr[i + 1]):
                acc += data[j] * V[indices[j]]
            q = r[s, a] + gamma * acc
            if q > best:
                best = q
                arg = a
        TV[s] = best
        greedy[s] = arg


@njit(cache=True, fastmath=_FM)
def sparse_policy_sweeps(indptr, indices, data, r, gamma, actions, V, k):
    """Sparse twin of :func:`dense_policy_sweeps`.

    The rows of the policy are first copied into a compact CSR matrix (S rows), so that the k
    sweeps stream through contiguous memory.
    """
    S, A = r.shape
    ptr = np.empty(S + 1, dtype=np.int64)
    ptr[0] = 0
    for s in range(S):
        i = s * A + actions[s]
        ptr[s + 1] = ptr[s] + indptr[i + 1] - indptr[i]
    idx = np.empty(ptr[S], dtype=indices.dtype)
    val = np.empty(ptr[S])
    rew = np.empty(S)
    for s in range(S):
        i = s * A + actions[s]
        lo = indptr[i]
        for j in range(ptr[s], ptr[s + 1]):
            idx[j] = indices[lo + j - ptr[s]]
            val[j] = data[lo + j - ptr[s]]
        rew[s] = r[s, actions[s]]
    W = np.empty(S)
    V = V.copy()
    for _ in range(k):
        for s in range(S):
            acc = 0.0
            for j in range(ptr[s], ptr[s + 1]):
                acc += val[j] * V[idx[j]]
            W[s] = rew[s] + gamma * acc
        V, W = W, V
    return V


# ----------------------------------------------------------------------------- value iteration


@njit(cache=True, fastmath=_FM)
def _soft_backup_row(qrow, logref, beta):
    """beta * log sum_a ref[a] exp(q[a] / beta), in log space (logref may hold -inf)."""
    A = qrow.shape[0]
    m = -np.inf
    for a in range(A):
        if logref[a] > -np.inf:
            z = qrow[a] / beta + logref[a]
            if z > m:
                m = z
    acc = 0.0
    for a in range(A):
        if logref[a] > -np.inf:
            acc += np.exp(qrow[a] / beta + logref[a] - m)
    return beta * (m + np.log(acc))


@njit(cache=True, fastmath=_FM)
def _sweep(P, indptr, indices, data, r, gamma, beta, logref, V, TV, greedy, Q):
    """TV = T V: the hard backup (beta = 0: max and greedy action) or the soft one (beta > 0:
    log-sum-exp against pi_ref, through Q); on dense P when it has entries, else on the CSR."""
    dense = P.size > 0
    if beta == 0.0:
        if dense:
            dense_bellman(P, r, gamma, V, TV, greedy)
        else:
            sparse_bellman(indptr, indices, data, r, gamma, V, TV, greedy)
        return
    if dense:
        dense_q(P, r, gamma, V, Q)
    else:
        sparse_q(indptr, indices, data, r, gamma, V, Q)
    for s in range(r.shape[0]):
        TV[s] = _soft_backup_row(Q[s], logref[s], beta)


@njit(cache=True, fastmath=_FM)
def value_iteration(P, indptr, indices, data, r, gamma, beta, logref, V, tol, max_iter):
    """(Soft) value iteration from V until gamma * span(TV - V) / (1 - gamma) <= tol.

    The transitions are dense ``P`` (S, A, S), or, when ``P`` is :data:`EMPTY_DENSE`, the CSR
    arrays (pass :data:`EMPTY_CSR` with a dense P). ``beta = 0`` is the hard Bellman operator
    (``logref`` is then unused: pass :data:`EMPTY_LOGREF`); ``beta > 0`` the soft one against
    ``exp(logref)``. Returns (V_last, TV_last, greedy_wrt_V_last, iterations, converged); the
    greedy actions are those of the last hard sweep (zeros for the soft one).
    """
    S, A = r.shape
    TV = np.empty(S)
    greedy = np.zeros(S, dtype=np.int64)
    Q = np.empty((S, A)) if beta > 0.0 else np.empty((0, 0))
    V = V.copy()
    factor = gamma / (1.0 - gamma)
    it = 0
    converged = False
    while True:
        _sweep(P, indptr, indices, data, r, gamma, beta, logref, V, TV, greedy, Q)
        it += 1
        lo = np.inf
        hi = -np.inf
        for s in range(S):
            d = TV[s] - V[s]
            lo = min(lo, d)
            hi = max(hi, d)
        if factor * (hi - lo) <= tol:
            converged = True
            break
        if it >= max_iter:
            break  # (V, TV) stays a consistent pair: TV = T V
        V, TV = TV, V
    return V, TV, greedy, it, converged
