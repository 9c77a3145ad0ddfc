"""Tests of prefrl.pg_theory's token-tree part: RTO's dense DPO reward (Zhong et al. 2024) and
per-state KL weights for critical tokens (Vassoyan, Beau and Plaud 2025)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.mdp.envs import token_tree
from prefrl.pg_theory import (
    KLPolicyGradientPath,
    PerStateSoftOptimum,
    REINFORCEMoments,
    RTOSoftOptimum,
    TreePolicyGradient,
    critical_token_tree,
    dense_dpo_reward,
    kl_regularized_policy_gradient,
    per_state_soft_optimum,
    random_rto_instance,
    reinforce_estimator_moments,
    sample_reinforce_gradients,
    soft_optimal_sequence_law,
    tree_policy_gradient,
)
from prefrl.proofs_check import pg_token_tree as checks
from prefrl.results import Result


def _tree(V=2, H=3, seed=0, conc=2.0):
    rng = np.random.default_rng(seed)
    S = (V ** (H + 1) - 1) // (V - 1)
    return rng.dirichlet(np.full(V, conc), size=S), rng.dirichlet(np.full(V, conc), size=S)


# ----------------------------------------------------------------------------- identities
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_rto_identities_on_random_trees(seed):
    inst = random_rto_instance(seed)
    assert checks.dense_return_telescopes(inst) <= 1e-10
    assert checks.sequence_law_is_geometric_mixture(inst) <= 1e-10
    assert checks.equal_weights_recover_pi_dpo(inst) <= 1e-10
    assert checks.token_policy_carries_continuation(inst) <= 1e-9
    assert soft_optimal_sequence_law(**inst).certificate <= 1e-10


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_per_state_optimum_beats_every_policy(seed):
    inst = checks.draw_weights(np.random.default_rng(seed))
    assert checks.per_state_kl_optimum(inst) <= 1e-9
    res = per_state_soft_optimum(inst["pi_ref"], inst["token_rewards"], inst["kl_weights"])
    assert res.certificate <= 1e-9


def test_token_mixture_gap_zero_at_ends_positive_between():
    ref, dpo = _tree(3, 3, seed=1)
    gaps = {
        q: soft_optimal_sequence_law(ref, dpo, 1.0, q).token_mixture_gap
        for q in (0.3, 1.0, 3.0, 1e6)
    }
    assert gaps[1.0] <= 1e-12 and gaps[1e6] <= 1e-5
    assert gaps[0.3] > 1e-3 and gaps[3.0] > 1e-3
    # depth 1: no continuation, the per-token mixture is the optimum
    r1, d1 = _tree(3, 1, seed=2)
    assert soft_optimal_sequence_law(r1, d1, 1.0, 3.0).token_mixture_gap <= 1e-12


def test_continuation_is_hoelder_sum():
    ref, dpo = _tree(2, 3, seed=3)
    for bp, sign in ((2.0, -1), (0.5, 1)):
        res = soft_optimal_sequence_law(ref, dpo, 1.0, bp)
        assert np.all(sign * np.log(res.continuation) >= -1e-12)
        assert np.isclose(res.value, bp * np.log(res.continuation[0]))


def test_gradient_matches_finite_differences():
    ref, pi = _tree(3, 2, seed=4)
    rng = np.random.default_rng(0)
    r = rng.normal(size=ref.shape)
    w = rng.uniform(0, 1, size=ref.shape[0])

    def J(theta):
        p = np.exp(theta - theta.max(axis=1, keepdims=True))
        return tree_policy_gradient(p / p.sum(axis=1, keepdims=True), r, ref, w).value

    theta = np.log(pi)
    g = tree_policy_gradient(pi, r, ref, w).gradient
    fd = np.zeros_like(theta)
    for idx in np.ndindex(*theta.shape):
        e = np.zeros_like(theta)
        e[idx] = 1e-6
        fd[idx] = (J(theta + e) - J(theta - e)) / 2e-6
    assert np.max(np.abs(fd - g)) < 1e-8


def test_uniform_weights_match_mdp_backward_induction():
    ref, _ = _tree(3, 3, seed=5)
    r = np.random.default_rng(1).normal(size=ref.shape)
    opt = per_state_soft_optimum(ref, r, 0.7)
    bi = token_tree(3, 3, token_rewards=r).backward_induction(None, 0.7, ref)
    assert abs(opt.value - bi.expected_return) < 1e-12


def test_zero_weight_is_hard_max_over_support():
    ref = np.array([[0.5, 0.5, 0.0]] + [[1 / 3] * 3] * 3)
    r = np.array([[1.0, 2.0, 5.0]] + [[0.0] * 3] * 3)
    res = per_state_soft_optimum(ref, r, np.zeros(4))
    assert res.value == 2.0 and np.allclose(res.policy[0], [0, 1, 0])


def test_training_converges_to_per_state_optimum():
    ref = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]] + [[0.5, 0.5]] * 4)
    r = np.zeros((7, 2))
    r[1:3, 1] = 1.0
    w = np.array([0.5, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5])
    path = kl_regularized_policy_gradient(ref, r, w, lr=3.0, n_steps=3000, tol=1e-7)
    opt = per_state_soft_optimum(ref, r, w)
    assert path.converged and path.certificate < 1e-7
    assert np.max(np.abs(path.policy - opt.policy)) < 1e-5
    assert abs(path.objective[-1] - opt.value) < 1e-10
    assert np.all(np.diff(path.objective) >= -1e-12)
    assert path.policies.shape == (3001, 7, 2)


def test_critical_tree_structure():
    ct = critical_token_tree(
        np.full((15, 2), 0.5),
        critical_depth=1,
        right_token=1,
        right_mass=0.05,
        kl_weight=0.3,
        factor=0.0,
    )
    assert np.allclose(ct["pi_ref"][ct["critical"], 1], 0.05)
    assert ct["critical"].sum() == 2
    assert np.allclose(ct["relaxed_weights"][ct["critical"]], 0.0)
    seqs = np.array(list(np.ndindex(2, 2, 2)))
    assert np.array_equal(ct["sequence_rewards"], (seqs[:, 1] == 1).astype(float))


# ----------------------------------------------------------------------------- Monte Carlo
def test_reinforce_monte_carlo_matches_exact_moments():
    ref, dpo = _tree(2, 3, seed=6)
    r = dense_dpo_reward(ref, dpo, 0.5)
    mom = reinforce_estimator_moments(ref, r)
    assert np.max(np.abs(mom.sparse_mean - mom.gradient)) < 1e-12
    assert np.max(np.abs(mom.dense_mean - mom.gradient)) < 1e-12
    rng = np.random.default_rng(0)
    n, reps = 8, 3000
    err = np.zeros(2)
    mean = np.zeros((2, *ref.shape))
    for _ in range(reps):
        sp, de = sample_reinforce_gradients(ref, r, n, rng)
        err += [np.sum((sp - mom.gradient) ** 2), np.sum((de - mom.gradient) ** 2)]
        mean += [sp, de]
    err *= n / reps
    assert np.allclose(err, [mom.sparse_variance, mom.dense_variance], rtol=0.1)
    assert np.max(np.abs(mean / reps - mom.gradient)) < 5 * np.sqrt(mom.sparse_variance / n / reps)


def test_sampling_is_reproducible():
    ref, dpo = _tree(2, 2, seed=7)
    r = dense_dpo_reward(ref, dpo, 1.0)
    a = sample_reinforce_gradients(ref, r, 5, 3)
    b = sample_reinforce_gradients(ref, r, 5, np.random.default_rng(3))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# ----------------------------------------------------------------------------- validation
def test_results_are_results():
    ref, dpo = _tree(2, 2)
    r = dense_dpo_reward(ref, dpo, 1.0)
    for res, cls in (
        (soft_optimal_sequence_law(ref, dpo, 1.0, 2.0), RTOSoftOptimum),
        (tree_policy_gradient(ref, r), TreePolicyGradient),
        (reinforce_estimator_moments(ref, r), REINFORCEMoments),
        (per_state_soft_optimum(ref, r, 1.0), PerStateSoftOptimum),
        (kl_regularized_policy_gradient(ref, r, 1.0, 0.1, 2), KLPolicyGradientPath),
    ):
        assert isinstance(res, cls) and isinstance(res, Result)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pi_ref": np.full((6, 2), 0.5)}, "pi_ref"),
        ({"pi_dpo": np.full((3, 2), 0.5)}, "pi_dpo"),
        ({"beta": 0.0}, "beta"),
        ({"beta": np.nan}, "beta"),
        ({"beta": np.inf}, "beta"),
        ({"beta_prime": -1.0}, "beta_prime"),
        ({"pi_ref": np.array([[1.0, 0.0]] + [[0.5, 0.5]] * 6)}, "pi_ref"),
        ({"pi_dpo": np.array([[0.5, 0.6]] + [[0.5, 0.5]] * 6)}, "pi_dpo"),
    ],
)
def test_value_errors_name_the_argument(kwargs, match):
    ref, dpo = _tree(2, 2)
    args = {"pi_ref": ref, "pi_dpo": dpo, "beta": 1.0, "beta_prime": 2.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        soft_optimal_sequence_law(**args)


@pytest.mark.parametrize("bad", [True, "1", 1 + 1j])
def test_type_errors_name_the_argument(bad):
    ref, dpo = _tree(2, 2)
    with pytest.raises(TypeError, match="beta"):
        dense_dpo_reward(ref, dpo, bad)
    with pytest.raises((TypeError, ValueError), match="pi_ref"):
        dense_dpo_reward(np.full((7, 2), bad, dtype=object), dpo, 1.0)


def test_other_validation():
    ref, _ = _tree(2, 2)
    r = np.zeros_like(ref)
    with pytest.raises(ValueError, match="kl_weights"):
        per_state_soft_optimum(ref, r, -np.ones(7))
    with pytest.raises(ValueError, match="token_rewards"):
        tree_policy_gradient(ref, np.zeros((7, 3)))
    with pytest.raises(ValueError, match="token_rewards"):
        tree_policy_gradient(ref, np.full((7, 2), np.nan))
    with pytest.raises(ValueError, match="n_samples"):
        sample_reinforce_gradients(ref, r, 0, 0)
    with pytest.raises(ValueError, match="rng"):
        sample_reinforce_gradients(ref, r, 3, None)
    with pytest.raises(ValueError, match="lr"):
        kl_regularized_policy_gradient(ref, r, 1.0, 0.0, 3)
    with pytest.raises(ValueError, match="n_steps"):
        kl_regularized_policy_gradient(ref, r, 1.0, 0.1, -1)
    with pytest.raises(ValueError, match="critical_depth"):
        critical_token_tree(ref, critical_depth=2)
    with pytest.raises(ValueError, match="right_mass"):
        critical_token_tree(ref, critical_depth=0, right_mass=1.0)
    with pytest.raises(ValueError, match="right_token"):
        critical_token_tree(ref, critical_depth=0, right_token=2)
    with pytest.raises(ValueError, match="rng"):
        random_rto_instance(None)


def test_float32_agrees_with_float64():
    ref, dpo = _tree(3, 2, seed=8)
    ref32, dpo32 = ref.astype(np.float32), dpo.astype(np.float32)
    a = soft_optimal_sequence_law(ref, dpo, 0.5, 1.5)
    b = soft_optimal_sequence_law(ref32, dpo32, np.float32(0.5), np.float32(1.5))
    assert b.policy.dtype == np.float64
    assert np.allclose(a.policy, b.policy, atol=1e-5)
    assert np.allclose(a.sequence_policy, b.sequence_policy, atol=1e-5)
    r = dense_dpo_reward(ref, dpo, 0.5)
    g64 = tree_policy_gradient(ref, r, ref, 0.3)
    g32 = tree_policy_gradient(ref32, r.astype(np.float32), ref32, np.float32(0.3))
    assert np.allclose(g64.gradient, g32.gradient, atol=1e-5)
    o64 = per_state_soft_optimum(ref, r, 0.3)
    o32 = per_state_soft_optimum(ref32, r.astype(np.float32), np.float32(0.3))
    assert np.allclose(o64.policy, o32.policy, atol=1e-5)
