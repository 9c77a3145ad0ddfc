"""Hypothesis strategies for random tabular MDPs (private; used by the tests and by users' tests).

Degenerate cases are drawn on purpose: absorbing states, zero-probability transitions, rewards on
a small integer grid (so ties between actions are common), gamma = 0, a single state or action.
Finite horizons come with a discount below 1 (gamma = 0 included) as often as with gamma = 1, so
that an identity checked on them sees where the discount enters (gamma^t, not gamma^(t + 1)).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._tabular import TabularMDP

_WEIGHTS = st.sampled_from([0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 3.0]) | st.floats(0.0, 1.0)
_REWARDS = st.sampled_from([-1.0, 0.0, 0.0, 1.0]) | st.floats(-1.0, 1.0)


@st.composite
def mdp_arrays(draw, max_states: int = 6, max_actions: int = 4, sas_rewards: bool | None = None):
    """(P, R, mu0): transitions (S, A, S), rewards (S, A) or (S, A, S), initial (S,)."""
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    W = draw(hnp.arrays(np.float64, (S, A, S), elements=_WEIGHTS))
    fallback = draw(hnp.arrays(np.int64, (S, A), elements=st.integers(0, S - 1)))
    empty = W.sum(axis=2) <= 0
    s_idx, a_idx = np.nonzero(empty)
    W[s_idx, a_idx, fallback[s_idx, a_idx]] = 1.0
    absorbing = draw(hnp.arrays(np.bool_, (S,), elements=st.booleans()))
    for s in np.flatnonzero(absorbing & (np.arange(S) % 2 == 0)):
        W[s] = 0.0
        W[s, :, s] = 1.0
    P = W / W.sum(axis=2, keepdims=True)
    use_sas = draw(st.booleans()) if sas_rewards is None else sas_rewards
    shape = (S, A, S) if use_sas else (S, A)
    R = draw(hnp.arrays(np.float64, shape, elements=_REWARDS))
    mu_w = draw(hnp.arrays(np.float64, (S,), elements=_WEIGHTS))
    mu = mu_w / mu_w.sum() if mu_w.sum() > 0 else np.full(S, 1.0 / S)
    return P, R, mu


@st.composite
def tabular_mdps(
    draw,
    max_states: int = 6,
    max_actions: int = 4,
    gammas=(0.0, 0.5, 0.9, 0.95),
    sparse: bool | None = False,
    horizon: bool | None = False,
    max_horizon: int = 6,
):
    """A :class:`TabularMDP` drawn from :func:`mdp_arrays` (optionally sparse, or finite-horizon).

    ``horizon``: False, infinite (discounted); True, a horizon in 1..``max_horizon``; None, either.
    With a horizon, gamma is drawn from ``gammas`` (below 1, 0 included) half the time and is 1
    otherwise; ``sparse=None`` likewise draws either storage.
    """
    import scipy.sparse as sp

    P, R, mu = draw(mdp_arrays(max_states, max_actions))
    gamma = draw(st.sampled_from(gammas) | st.floats(0.0, max(gammas)))
    finite = draw(st.booleans()) if horizon is None else horizon
    H = draw(st.integers(1, max_horizon)) if finite else None
    if finite and draw(st.booleans()):
        gamma = 1.0
    use_sparse = draw(st.booleans()) if sparse is None else sparse
    S, A, _ = P.shape
    T = sp.csr_array(P.reshape(S * A, S)) if use_sparse else P
    return TabularMDP(T, R, gamma, mu, H)


@st.composite
def policies(draw, n_states: int, n_actions: int, deterministic: bool | None = None,
             horizon: int | None = None):
    """A row-stochastic (S, A) policy, sometimes deterministic, sometimes with zeros.

    With ``horizon=H``: a time-dependent (H, S, A) policy, one such policy per step.
    """
    if horizon is not None:
        return np.stack([draw(policies(n_states, n_actions, deterministic))
                         for _ in range(horizon)])
    det = draw(st.booleans()) if deterministic is None else deterministic
    if det:
        acts = draw(hnp.arrays(np.int64, (n_states,), elements=st.integers(0, n_actions - 1)))
        out = np.zeros((n_states, n_actions))
        out[np.arange(n_states), acts] = 1.0
        return out
    W = draw(hnp.arrays(np.float64, (n_states, n_actions), elements=_WEIGHTS))
    W[W.sum(axis=1) <= 0, 0] = 1.0
    return W / W.sum(axis=1, keepdims=True)
