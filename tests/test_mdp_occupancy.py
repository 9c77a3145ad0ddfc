"""prefrl.mdp.occupancy: discounted, normalised and limit-average occupancies; the Cesàro limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.mdp import TabularMDP, envs
from prefrl.mdp._strategies import policies, tabular_mdps
from prefrl.mdp.occupancy import (
    cesaro_limit,
    discounted_occupancy,
    discounted_state_distribution,
    limit_average_occupancy,
)


@st.composite
def stochastic_matrices(draw, max_n=5):
    n = draw(st.integers(1, max_n))
    rows = []
    for _ in range(n):
        w = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 1.0, 0.5, 2.0]), min_size=n,
                                   max_size=n)))
        if not w.any():
            w[draw(st.integers(0, n - 1))] = 1.0
        rows.append(w / w.sum())
    return np.array(rows)


@given(stochastic_matrices())
@settings(max_examples=60, deadline=None)
def test_cesaro_limit_is_the_invariant_projection(P):
    Ps = cesaro_limit(P)
    np.testing.assert_allclose(Ps.sum(axis=1), 1.0, atol=1e-12)
    for M in (Ps @ P, P @ Ps, Ps @ Ps):
        np.testing.assert_allclose(M, Ps, atol=1e-10)
    # the running average of the powers approaches it
    # (entries are >= 1/20 where positive, so the chain mixes fast: the error is O(period / N))
    avg, Pt, N = np.zeros_like(P), np.eye(P.shape[0]), 2000
    for _ in range(N):
        avg += Pt / N
        Pt = Pt @ P
    assert np.max(np.abs(avg - Ps)) <= 0.02


def test_cesaro_limit_validation():
    with pytest.raises(ValueError, match="P"):
        cesaro_limit([[0.5, 0.6], [1.0, 0.0]])
    with pytest.raises(ValueError, match="square"):
        cesaro_limit([[0.5, 0.5]])


@given(tabular_mdps(max_states=4, max_actions=3), st.data())
@settings(max_examples=30, deadline=None)
def test_discounted_occupancy_and_state_distribution(mdp, data):
    if mdp.horizon is not None or mdp.gamma >= 1:
        return
    pi = data.draw(policies(mdp.n_states, mdp.n_actions))
    np.testing.assert_array_equal(discounted_occupancy(mdp, pi), mdp.occupancy(pi))
    m = discounted_occupancy(mdp, pi, gamma=0.5)
    assert abs(m.sum() - 2.0) <= 1e-9
    d = discounted_state_distribution(mdp, pi)
    assert abs(d.sum() - 1.0) <= 1e-9
    np.testing.assert_allclose(d, (1 - mdp.gamma) * mdp.occupancy(pi).sum(axis=1), atol=1e-12)
    nu = limit_average_occupancy(mdp, pi)
    assert abs(nu.sum() - 1.0) <= 1e-8


def test_the_env_keyword_still_works_and_warns():
    with pytest.warns(DeprecationWarning, match="'env' is deprecated, use 'mdp'"):
        m = discounted_occupancy(env=envs.one_state_env(), policy=[[0.5, 0.5]], gamma=0.5)
    np.testing.assert_allclose(m, [[1.0, 1.0]])


def test_bad_mdps_are_refused():
    with pytest.raises(TypeError, match=r"mdp must be a prefrl\.mdp\.TabularMDP"):
        discounted_occupancy(np.eye(2), [[1.0]], 0.5)
    finite = TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 1.0, horizon=3)
    with pytest.raises(ValueError, match="infinite-horizon"):
        limit_average_occupancy(finite, [[1.0]])
    with pytest.raises(ValueError, match="gamma"):
        discounted_occupancy(envs.one_state_env(), [[0.5, 0.5]], gamma=1.0)
