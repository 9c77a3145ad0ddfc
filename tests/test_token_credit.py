"""Tests of prefrl.token_credit: the token-level view of DPO (Rafailov, Hejna, Park, Finn 2024)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.results import Result
from prefrl.token_credit import (
    SequenceDPOTokenPolicy,
    TokenCredit,
    random_token_tree_instance,
    sequence_dpo_token_policy,
    token_tree_credit,
)


def _brute_force(inst):
    """pi*(y) = pi_ref(y) e^{R/beta} / Z over whole sequences, and its token conditionals."""
    V, H, R, ref, beta = (inst[k] for k in ("vocab_size", "depth", "sequence_rewards", "pi_ref",
                                            "beta"))
    seqs = list(np.ndindex(*(V,) * H))  # lexicographic
    # breadth-first state of every prefix: root 0, child of s by token v is s * V + 1 + v
    def states(y):
        s, out = 0, []
        for v in y:
            out.append(s)
            s = s * V + 1 + v
        return out
    ref_seq = np.array([np.prod([ref[s, v] for s, v in zip(states(y), y)]) for y in seqs])
    w = ref_seq * np.exp(np.asarray(R) / beta)
    star = w / w.sum()
    S = ref.shape[0]
    mass = np.zeros((S, V))
    for p, y in zip(star, seqs):
        for s, v in zip(states(y), y):
            mass[s, v] += p
    return star, mass, beta * np.log(w.sum()), np.array(seqs)


@settings(max_examples=25)
@given(st.integers(0, 10**6))
def test_token_policy_is_the_sequence_gibbs_tilt(seed):
    inst = random_token_tree_instance(seed)
    res = token_tree_credit(**inst)
    _, mass, v_root, seqs = _brute_force(inst)
    inner = res.inner_states
    reached = mass[inner].sum(axis=1) > 1e-300
    cond = mass[inner][reached] / mass[inner][reached].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(res.policy[reached], cond, atol=1e-9)
    assert abs(res.value - v_root) <= 1e-9 * (1 + abs(v_root))
    np.testing.assert_array_equal(res.sequences, seqs)
    # the credits of a sequence add up to R(y) - V*(root), and their pi_ref-mean is <= 0
    np.testing.assert_allclose(res.token_credit.sum(axis=1), inst["sequence_rewards"] - v_root,
                               atol=1e-9)
    assert res.sequence_mean_implicit_reward <= 1e-12
    assert res.certificate <= 1e-10
    assert res.certificate == max(res.soft_bellman_error, res.telescope_error,
                                  res.closed_form_error, res.mean_identity_error)


def test_edge_credit_is_beta_log_ratio_and_mean_is_minus_beta_kl():
    inst = random_token_tree_instance(np.random.default_rng(3))
    res = token_tree_credit(**inst)
    ref = inst["pi_ref"][res.inner_states]
    np.testing.assert_allclose(res.edge_credit, inst["beta"] * np.log(res.policy / ref), atol=1e-12)
    kl = np.sum(ref * np.log(ref / res.policy), axis=1)
    np.testing.assert_allclose(np.sum(ref * res.edge_credit, axis=1), -inst["beta"] * kl,
                               atol=1e-12)
    assert res.max_node_mean_implicit_reward <= 1e-12


@settings(max_examples=15)
@given(st.integers(0, 10**6))
def test_sequence_dpo_recovers_the_token_policy_within_its_certified_bound(seed):
    inst = random_token_tree_instance(seed)
    exact = token_tree_credit(**inst)
    dpo = sequence_dpo_token_policy(**inst)
    assert dpo.tolerance >= 1e-10
    assert np.max(np.abs(dpo.policy - exact.policy)) <= dpo.tolerance
    assert abs(dpo.sequence_policy.sum() - 1) < 1e-12


def test_a_wrong_token_policy_is_caught():
    # The DPO read-back compared with the soft optimum at another beta must fail the bound.
    inst = {"vocab_size": 2, "depth": 2, "sequence_rewards": np.array([0.0, 1.0, 0.0, 2.0]),
            "pi_ref": np.full((7, 2), 0.5), "beta": 0.5}
    dpo = sequence_dpo_token_policy(**inst)
    other = token_tree_credit(**{**inst, "beta": 1.0})
    assert np.max(np.abs(dpo.policy - other.policy)) > 100 * dpo.tolerance


def test_results_and_instances():
    inst = random_token_tree_instance(0)
    assert set(inst) == {"vocab_size", "depth", "sequence_rewards", "pi_ref", "beta"}
    again = random_token_tree_instance(np.random.default_rng(0))
    np.testing.assert_array_equal(inst["pi_ref"], again["pi_ref"])
    res, dpo = token_tree_credit(**inst), sequence_dpo_token_policy(**inst)
    assert isinstance(res, TokenCredit) and isinstance(res, Result)
    assert isinstance(dpo, SequenceDPOTokenPolicy) and isinstance(dpo, Result)
    assert res["value"] == res.value and "policy" in res.keys()
    S = inst["pi_ref"].shape[0]
    V, H = inst["vocab_size"], inst["depth"]
    assert res.values.shape == (S,) and res.policy.shape == (S - V**H, V)
    assert res.token_credit.shape == (V**H, H)


@pytest.mark.parametrize("kwargs, name", [
    ({"pi_ref": np.c_[np.ones(7), np.zeros(7)]}, "pi_ref"),
    ({"pi_ref": np.full((6, 2), 0.5)}, "pi_ref"),
    ({"pi_ref": np.full((7, 2), 0.6)}, "pi_ref"),
    ({"sequence_rewards": [0.0, 1.0, 2.0]}, "sequence_rewards"),
    ({"beta": 0.0}, "beta"),
    ({"depth": 0}, "depth"),
])
def test_bad_input_names_the_argument(kwargs, name):
    args = {"vocab_size": 2, "depth": 2, "sequence_rewards": [0.0, 1.0, 2.0, 3.0],
            "pi_ref": np.full((7, 2), 0.5), "beta": 1.0, **kwargs}
    for fn in (token_tree_credit, sequence_dpo_token_policy):
        with pytest.raises(ValueError, match=name):
            fn(**args)
    with pytest.raises(ValueError, match="rng"):
        random_token_tree_instance(None)
