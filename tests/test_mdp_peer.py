"""Peer test: prefrl.mdp against QuantEcon's DiscreteDP on drawn instances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.mdp import TabularMDP
from prefrl.mdp._strategies import mdp_arrays

qe = pytest.importorskip("quantecon")


@given(arrays=mdp_arrays(max_states=8, max_actions=4),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 0.95]), sparse=st.booleans())
@settings(max_examples=30)
def test_optimal_values_agree_with_quantecon(arrays, gamma, sparse):
    P, R, mu = arrays
    S, A, _ = P.shape
    T = sp.csr_array(P.reshape(S * A, S)) if sparse else P
    mdp = TabularMDP(T, R, gamma, mu)
    ddp = qe.markov.DiscreteDP(mdp.expected_rewards, P, gamma)
    theirs = ddp.solve("policy_iteration")
    ours = mdp.solve("pi")
    scale = 1e-9 * (1 + np.abs(ours.values).max())
    np.testing.assert_allclose(ours.values, theirs.v, atol=scale, rtol=0)
    # their optimal policy, evaluated by us, is optimal too (policies may differ on ties)
    np.testing.assert_allclose(mdp.evaluate(np.asarray(theirs.sigma)).values, ours.values,
                               atol=scale, rtol=0)
    # their value of our policy agrees with ours
    np.testing.assert_allclose(ddp.evaluate_policy(ours.actions), ours.values, atol=scale)
    if gamma > 0:
        eps = 1e-6
        # DiscreteDP stops silently after max_iter=250 sweeps by default: lift the cap.
        vi = ddp.solve("value_iteration", epsilon=eps, max_iter=10**6)
        assert np.max(np.abs(vi.v - ours.values)) <= eps  # their eps/2 promise, with room
        ours_vi = mdp.solve("vi", tol=eps)
        assert ours_vi.iterations <= vi.num_iter + 1  # the span rule never needs more sweeps
