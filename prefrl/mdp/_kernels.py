"""numba kernels for the Bellman sweeps of :mod:`prefrl.mdp` (private; plain arrays only).

Dense transitions are a C-contiguous ``(S, A, S)`` float64 array; sparse ones are the three CSR
arrays ``(indptr, indices, data)`` of the ``(S * A, S)`` matrix whose row ``s * A + a`` is
``P[s, a, :]``. Every kernel fuses the matrix-vector product with the max (or log-sum-exp) over
actions, so a sweep reads the transitions exactly once and allocates nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Reassociation lets LLVM vectorise the dot products (a different, equally accurate summation
# order); the no-NaN/no-inf flags of full fastmath are NOT used: -inf marks excluded actions.
_FM = {"reassoc", "contract"}

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
    """TV = max_a (r + gamma P V); greedy = the first maximising action."""
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
def dense_vi(P, r, gamma, V, tol, max_iter):
    """Value iteration from V until gamma * span(TV - V) / (1 - gamma) <= tol.

    Returns (V_last, TV_last, greedy_wrt_V_last, iterations, converged).
    """
    S = r.shape[0]
    TV = np.empty(S)
    greedy = np.zeros(S, dtype=np.int64)
    V = V.copy()
    factor = gamma / (1.0 - gamma)
    it = 0
    converged = False
    while True:
        dense_bellman(P, r, gamma, V, TV, greedy)
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


@njit(cache=True, fastmath=_FM)
def dense_policy_matrix(P, r, policy):
    """P_pi[s, s'] = sum_a pi[s, a] P[s, a, s'] and r_pi[s] = sum_a pi[s, a] r[s, a]."""
    S, A = r.shape
    Ppi = np.zeros((S, S))
    rpi = np.zeros(S)
    for s in range(S):
        for a in range(A):
            w = policy[s, a]
            if w != 0.0:
                rpi[s] += w * r[s, a]
                row = P[s, a]
                for t in range(S):
                    Ppi[s, t] += w * row[t]
    return Ppi, rpi


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
def dense_soft_vi(P, r, gamma, beta, logref, V, tol, max_iter):
    """Soft value iteration until gamma * span(TV - V) / (1 - gamma) <= tol.

    Returns (V_last, TV_last, iterations, converged).
    """
    S, A = r.shape
    Q = np.empty((S, A))
    TV = np.empty(S)
    V = V.copy()
    factor = gamma / (1.0 - gamma)
    it = 0
    converged = False
    while True:
        dense_q(P, r, gamma, V, Q)
        for s in range(S):
            TV[s] = _soft_backup_row(Q[s], logref[s], beta)
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
    return V, TV, it, converged


# ----------------------------------------------------------------------------- sparse (CSR)


@njit(cache=True, fastmath=_FM)
def sparse_q(indptr, indices, data, r, gamma, V, Q):
    """Q[s, a] = r[s, a] + gamma * sum_s' P[s, a, s'] V[s'] for CSR transitions."""
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
    """TV = max_a (r + gamma P V) and the first maximising action, for CSR transitions."""
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
def sparse_vi(indptr, indices, data, r, gamma, V, tol, max_iter):
    """Sparse twin of :func:`dense_vi`."""
    S = r.shape[0]
    TV = np.empty(S)
    greedy = np.zeros(S, dtype=np.int64)
    V = V.copy()
    factor = gamma / (1.0 - gamma)
    it = 0
    converged = False
    while True:
        sparse_bellman(indptr, indices, data, r, gamma, V, TV, greedy)
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


@njit(cache=True, fastmath=_FM)
def sparse_soft_vi(indptr, indices, data, r, gamma, beta, logref, V, tol, max_iter):
    """Sparse twin of :func:`dense_soft_vi`."""
    S, A = r.shape
    Q = np.empty((S, A))
    TV = np.empty(S)
    V = V.copy()
    factor = gamma / (1.0 - gamma)
    it = 0
    converged = False
    while True:
        sparse_q(indptr, indices, data, r, gamma, V, Q)
        for s in range(S):
            TV[s] = _soft_backup_row(Q[s], logref[s], beta)
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
    return V, TV, it, converged
