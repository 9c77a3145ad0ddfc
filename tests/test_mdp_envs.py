"""Tests of the named environments in prefrl.mdp.envs: exact values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl.mdp import envs


@given(n=st.integers(2, 12), gamma=st.sampled_from([0.0, 0.5, 0.9]))
def test_chain_values(n, gamma):
    mdp = envs.chain(n, gamma=gamma)
    V = mdp.solve("pi").values
    expect = np.array([gamma ** (n - 2 - s) for s in range(n - 1)] + [0.0])
    np.testing.assert_allclose(V, expect, atol=1e-12)


@given(n=st.integers(2, 8), A=st.integers(1, 4), gamma=st.sampled_from([0.5, 0.9]))
def test_combination_lock(n, A, gamma):
    lock = envs.combination_lock(n, A, gamma=gamma)
    res = lock.solve("pi")
    np.testing.assert_array_equal(res.actions[: n - 1], np.arange(n - 1) % A)
    assert res.values[0] == pytest.approx(gamma ** (n - 2))
    if A > 1 and n > 2:
        uniform = np.full((n, A), 1.0 / A)
        assert lock.evaluate(uniform).values[0] < res.values[0]


def test_ng_harada_russell_grid():
    g = envs.ng_harada_russell_grid()
    assert (g.n_states, g.n_actions, g.goals) == (100, 4, (99,))
    np.testing.assert_allclose(g.dense_transitions().sum(axis=2), 1.0)
    # an intended move has probability 0.8 + 0.2 / 4
    s = g.state_of(4, 4)
    assert g.dense_transitions()[s, 1, g.state_of(4, 5)] == pytest.approx(0.85)
    res = g.solve("pi")
    assert g.initial[g.state_of(0, 0)] == 1.0
    # the deterministic version: 18 steps at -1 each from the start
    det = envs.ng_harada_russell_grid(success=1.0, gamma=0.9)
    v0 = det.solve("pi").values[det.state_of(0, 0)]
    assert v0 == pytest.approx(-sum(0.9**t for t in range(18)))
    # slipping costs: the stochastic start value is lower than the deterministic one
    assert res.values[0] < envs.ng_harada_russell_grid(success=1.0).solve().values[0]
    assert np.isnan(g.to_grid(res.values)).sum() == 0


def test_gridworld_walls_slip_and_labels():
    g = envs.gridworld(3, 3, walls=[(1, 1)], goals={(2, 2): 5.0, (0, 2): -1.0}, slip=0.2,
                       step_cost=0.1, gamma=0.9, start=(0, 0))
    assert g.n_states == 8 and len(g.goals) == 2
    grid = g.to_grid(np.arange(8.0))
    assert np.isnan(grid[1, 1])
    # walls are never entered
    assert g.dense_transitions()[:, :, :].sum(axis=(0, 1)).min() > 0
    res = g.solve("pi")
    assert np.all(res.values[list(g.goals)] == 0)
    with pytest.raises(ValueError, match="walls"):
        envs.gridworld(2, 2, walls=[(5, 5)])
    with pytest.raises(ValueError, match="start"):
        envs.gridworld(2, 2, walls=[(0, 0)], start=(0, 0))
    with pytest.raises(ValueError, match="slip"):
        envs.gridworld(2, 2, slip=1.5)


def test_epic_grid_is_deterministic_with_five_actions():
    g = envs.epic_grid()
    P = g.dense_transitions()
    assert set(np.unique(P)) == {0.0, 1.0}
    # stay keeps the state; moving off the grid stays
    assert np.all(P[np.arange(9), 0, np.arange(9)] == 1)
    assert P[g.state_of(0, 0), 2, g.state_of(0, 0)] == 1  # up from the top row
    V = g.solve("pi").values
    # from the goal corner, staying forever collects 1 per step
    assert V[g.state_of(2, 2)] == pytest.approx(1 / (1 - 0.99))


@given(S=st.integers(1, 30), A=st.integers(1, 4), k=st.integers(1, 30), seed=st.integers(0, 99),
       sparse=st.booleans())
@settings(max_examples=30)
def test_random_mdp_structure(S, A, k, seed, sparse):
    k = min(k, S)
    mdp = envs.random_mdp(S, A, seed, n_successors=k, sparse=sparse)
    P = mdp.dense_transitions()
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-12)
    assert np.all((P > 0).sum(axis=2) <= k)
    again = envs.random_mdp(S, A, seed, n_successors=k, sparse=sparse)
    np.testing.assert_array_equal(again.dense_transitions(), P)
    with pytest.raises(ValueError, match="n_successors"):
        envs.random_mdp(S, A, seed, n_successors=S + 1)


@given(V=st.integers(1, 3), H=st.integers(1, 4), data=st.data())
@settings(max_examples=30)
def test_token_tree_sequence_identity(V, H, data):
    """J(pi) = sum_y pi(y) r(y), and the optimum is max_y r(y) (sequence-level bandit)."""
    r = data.draw(hnp.arrays(np.float64, (V**H,), elements=st.floats(-2, 2)))
    tree = envs.token_tree(V, H, sequence_rewards=r)
    logits = data.draw(hnp.arrays(np.float64, (tree.n_states, V), elements=st.floats(-2, 2)))
    pi = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p = tree.sequence_probabilities(pi)
    assert p.sum() == pytest.approx(1.0)
    assert tree.evaluate(pi).expected_return == pytest.approx(p @ r, abs=1e-12)
    assert tree.backward_induction().expected_return == pytest.approx(r.max(), abs=1e-12)
    # prefixes map to states and back through the transitions
    leaf = tree.state_of([V - 1] * H)
    assert leaf == tree.leaves()[-1]
    if H >= 1:
        parent = tree.state_of([V - 1] * (H - 1))
        assert tree.dense_transitions()[parent, V - 1, leaf] == 1.0
    # soft optimum over sequences is the Gibbs distribution pi_ref(y) exp(r(y)/beta) / Z
    beta = 0.7
    soft = tree.backward_induction(beta=beta)
    gibbs = np.exp(r / beta) / np.exp(r / beta).sum()
    np.testing.assert_allclose(tree.sequence_probabilities(soft.policy[0]) if H == 1 else
                               _time_policy_sequences(tree, soft.policy), gibbs, atol=1e-10)


def _time_policy_sequences(tree, policy):
    """Sequence probabilities under a time-dependent policy (state h uses policy[h])."""
    V, H = tree.vocab_size, tree.depth
    prob = np.ones(1)
    for h in range(H):
        states = tree._offset(h) + np.arange(V**h)
        prob = (prob[:, None] * policy[h][states]).ravel()
    return prob


def test_token_tree_validation():
    with pytest.raises(ValueError, match="sequence_rewards"):
        envs.token_tree(2, 2, sequence_rewards=[1.0, 2.0])
    with pytest.raises(ValueError, match="prefix"):
        envs.token_tree(2, 2).state_of([2])


def test_token_tree_states_at_depth():
    tree = envs.token_tree(3, 2)
    assert tree.states_at_depth(0).tolist() == [0]
    assert tree.states_at_depth(1).tolist() == [1, 2, 3]
    np.testing.assert_array_equal(tree.states_at_depth(2), tree.leaves())
    assert tree.state_of([2, 1]) == tree.states_at_depth(2)[2 * 3 + 1]
    with pytest.raises(ValueError, match="h must be <= depth"):
        tree.states_at_depth(3)
