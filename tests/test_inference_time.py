"""prefrl.inference_time: best-of-n and Q-probe laws, the KL-constrained optimum, VAS on trees."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.bandits import value_augmented_policy
from prefrl.inference_time import (
    best_of_n_distribution,
    best_of_n_kl_bound,
    kl_constrained_optimum,
    q_probe_distribution,
    soft_policy_iteration,
    vas_vs_optimum,
)
from prefrl.mdp.envs import token_tree
from prefrl.policies import gibbs, kl
from prefrl.proofs_check import inference_time as checks
from prefrl.registry import run_theorem


@st.composite
def tiny_bandits(draw, max_k=4, max_m=4):
    K = draw(st.integers(1, max_k))
    weights = draw(st.lists(st.integers(0, 4), min_size=K, max_size=K))
    if sum(weights) == 0:
        weights[0] = 1
    pi = np.array(weights, dtype=float) / sum(weights)
    r = np.array(
        draw(st.lists(st.integers(-2, 2) | st.floats(-3, 3), min_size=K, max_size=K)), dtype=float
    )
    return {
        "pi_ref": pi,
        "reward": r,
        "m": draw(st.integers(1, max_m)),
        "beta": draw(st.sampled_from([0.1, 0.5, 1.0, 5.0])),
    }


@settings(max_examples=40, deadline=None)
@given(tiny_bandits())
def test_best_of_n_law_is_the_enumeration(inst):
    assert checks.bon_law_enumeration(inst) <= 1e-12


@settings(max_examples=40, deadline=None)
@given(tiny_bandits(max_k=12, max_m=60))
def test_best_of_n_kl_bound(inst):
    assert checks.bon_kl_bound(inst) <= 1e-12


@settings(max_examples=30, deadline=None)
@given(tiny_bandits(max_k=3, max_m=4))
def test_q_probe_law_is_the_enumeration(inst):
    assert checks.q_probe_law_enumeration(inst) <= 1e-11


@settings(max_examples=30, deadline=None)
@given(tiny_bandits(max_k=5, max_m=1))
def test_q_probe_one_draw_is_reference(inst):
    assert checks.q_probe_one_draw_is_reference(inst) <= 1e-14


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_vas_and_soft_policy_iteration_on_random_trees(seed):
    inst = checks.draw_tree(np.random.default_rng(seed))
    assert checks.vas_depth_one_is_gibbs(inst) <= 1e-12
    assert checks.soft_pi_exact_after_depth(inst) <= 1e-10


@pytest.mark.parametrize(
    "name",
    [
        "bon_law_enumeration",
        "bon_kl_bound",
        "q_probe_law_enumeration",
        "q_probe_one_draw_is_reference",
        "vas_depth_one_is_gibbs",
        "soft_policy_iteration_exact_after_depth",
    ],
)
def test_registered_checks_hold(name):
    assert run_theorem(f"inference_time.{name}", n_instances=30, seed=3).holds


def test_best_of_n_by_hand_and_limits():
    # two equally likely responses, n = 3: the better one unless all three draws are the worse
    res = best_of_n_distribution([0.5, 0.5], [0.0, 1.0], 3)
    np.testing.assert_allclose(res.policy, [0.125, 0.875])
    np.testing.assert_allclose(res.kl, kl([0.125, 0.875], [0.5, 0.5]))
    assert res.kl < res.kl_bound == pytest.approx(np.log(3) - 2 / 3)
    pi, r = np.array([0.2, 0.3, 0.5]), np.array([1.0, 3.0, 2.0])
    np.testing.assert_allclose(best_of_n_distribution(pi, r, 1).policy, pi)
    np.testing.assert_allclose(best_of_n_distribution(pi, r, 2000).policy, [0, 1, 0], atol=1e-12)
    # reward grows with n, KL stays below -log pi(best)
    vals = [best_of_n_distribution(pi, r, n) for n in range(1, 30)]
    assert np.all(np.diff([v.value for v in vals]) > 0)
    assert max(v.kl for v in vals) < -np.log(0.3)
    # only the order matters
    np.testing.assert_allclose(
        best_of_n_distribution(pi, np.exp(r), 5).policy, best_of_n_distribution(pi, r, 5).policy
    )


def test_best_of_n_continuous_limit_is_tight():
    gaps = []
    for K in (10, 100, 1000):
        b = best_of_n_distribution(np.full(K, 1 / K), np.arange(K, dtype=float), 4)
        gaps.append(b.kl_bound - b.kl)
    assert gaps[0] > gaps[1] > gaps[2] > 0 and gaps[2] < 1e-5


def test_kl_constrained_optimum_spends_its_budget_and_beats_random_policies():
    rng = np.random.default_rng(0)
    pi, r = rng.dirichlet(np.ones(6)), rng.normal(size=6)
    for budget in (0.0, 0.05, 0.4, 1.0, 50.0):
        o = kl_constrained_optimum(pi, r, budget)
        assert o.kl <= budget + 1e-10
        if 0 < budget < -np.log(pi[np.argmax(r)]):
            assert abs(o.kl - budget) <= 1e-9 and o.converged
            np.testing.assert_allclose(o.policy, gibbs(pi, r, o.beta), atol=1e-12)
        for p in rng.dirichlet(np.ones(6) * 0.5, size=200):
            if kl(p, pi) <= budget:
                assert p @ r <= o.value + 1e-12
    assert kl_constrained_optimum(pi, np.zeros(6), 1.0).kl == 0.0


def _sample_best_of_n(rng, pi, r, n, n_samples):
    draws = rng.choice(pi.size, p=pi, size=(n_samples, n))
    vals = r[draws] + rng.random(draws.shape) * 1e-9 * (r[draws] == r[draws].max(1, keepdims=True))
    return draws[np.arange(n_samples), np.argmax(vals, axis=1)]


def test_best_of_n_monte_carlo_with_ties():
    rng = np.random.default_rng(7)
    pi, r = np.array([0.1, 0.2, 0.3, 0.4]), np.array([1.0, 1.0, 0.0, 0.5])
    out = _sample_best_of_n(rng, pi, r, 3, 200_000)
    freq = np.bincount(out, minlength=4) / out.size
    np.testing.assert_allclose(freq, best_of_n_distribution(pi, r, 3).policy, atol=5e-3)


def test_q_probe_monte_carlo():
    rng = np.random.default_rng(11)
    pi, q, beta, k = np.array([0.5, 0.3, 0.2]), np.array([0.0, 1.0, 2.0]), 0.7, 5
    n = 100_000
    draws = rng.choice(3, p=pi, size=(n, k))
    w = np.exp(q[draws] / beta)
    cum = np.cumsum(w / w.sum(1, keepdims=True), axis=1)
    pick = np.minimum((cum < rng.random((n, 1))).sum(1), k - 1)
    freq = np.bincount(draws[np.arange(n), pick], minlength=3) / n
    np.testing.assert_allclose(freq, q_probe_distribution(pi, q, beta, k).policy, atol=5e-3)


def test_q_probe_methods_agree_and_converge_at_rate_one_over_k():
    rng = np.random.default_rng(2)
    pi, q = rng.dirichlet(np.ones(4)), rng.normal(size=4)
    for k in (2, 7, 30):
        a = q_probe_distribution(pi, q, 0.5, k, method="multinomial").policy
        b = q_probe_distribution(pi, q, 0.5, k, method="laplace").policy
        np.testing.assert_allclose(a, b, atol=1e-12)
    kt = [k * q_probe_distribution(pi, q, 0.5, k).tv_to_limit for k in (1000, 4000)]
    assert abs(kt[0] - kt[1]) / kt[1] < 0.01
    # a far-out weight (q / beta spread of 40) stays exact
    far = q_probe_distribution(pi, 40 * np.arange(4.0), 1.0, 6, method="laplace")
    ref = q_probe_distribution(pi, 40 * np.arange(4.0), 1.0, 6, method="multinomial")
    np.testing.assert_allclose(far.policy, ref.policy, atol=1e-12)


def test_vas_is_soft_policy_iterations_first_step_and_not_the_optimum():
    rng = np.random.default_rng(4)
    tree = token_tree(2, 3, sequence_rewards=rng.normal(size=8) * 2)
    pi0 = rng.dirichlet(np.ones(2), size=tree.n_states)
    beta = 0.4
    res = vas_vs_optimum(tree, pi0, beta)
    vas = value_augmented_policy(tree, pi0, inverse_temperature=1 / beta).policy
    spi = soft_policy_iteration(tree, pi0, beta, 3)
    for h in range(3):
        s = tree.states_at_depth(h)
        np.testing.assert_allclose(res.policy[s], vas[h][s])
        np.testing.assert_allclose(spi.policies[1][h][s], res.policy[s], atol=1e-14)
        np.testing.assert_allclose(spi.policy[h][s], res.optimum_policy[s], atol=1e-12)
    assert res.gap > 1e-6 and np.all(np.diff(spi.objectives) > 0)
    np.testing.assert_allclose(
        res.optimum_sequence_law, gibbs(res.base_sequence_law, res.sequence_rewards, beta)
    )
    assert soft_policy_iteration(tree, pi0, beta, 2).certificate > 1e-6
    assert soft_policy_iteration(tree, pi0, beta, 0).objectives[0] == pytest.approx(
        res.base_sequence_law @ res.sequence_rewards
    )


def test_float32_agrees():
    rng = np.random.default_rng(5)
    pi, r = rng.dirichlet(np.ones(5)), rng.normal(size=5)
    p32, r32 = pi.astype(np.float32), r.astype(np.float32)
    np.testing.assert_allclose(
        best_of_n_distribution(p32, r32, 4).policy,
        best_of_n_distribution(pi, r, 4).policy,
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        q_probe_distribution(p32, r32, 0.5, 6).policy,
        q_probe_distribution(pi, r, 0.5, 6).policy,
        rtol=1e-5,
        atol=1e-6,
    )
    assert kl_constrained_optimum(p32, r32, 0.3).value == pytest.approx(
        kl_constrained_optimum(pi, r, 0.3).value, rel=1e-5
    )


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: best_of_n_distribution([0.5, np.nan], [0.0, 1.0], 2), ValueError, "pi_ref"),
        (lambda: best_of_n_distribution([0.5, 0.5], [0.0, 1.0, 2.0], 2), ValueError, "reward"),
        (lambda: best_of_n_distribution([0.5, 0.5], [0.0, np.inf], 2), ValueError, "reward"),
        (lambda: best_of_n_distribution([0.5, 0.5], [0.0, 1.0], 0), ValueError, "n"),
        (lambda: best_of_n_distribution([0.5, 0.5], [0.0, 1.0], True), TypeError, "n"),
        (lambda: best_of_n_kl_bound(2.5), TypeError, "n"),
        (lambda: kl_constrained_optimum([0.5, 0.5], [0.0, 1.0], -1.0), ValueError, "kl_budget"),
        (lambda: q_probe_distribution([0.5, 0.5], [0.0, 1.0], 0.0, 2), ValueError, "beta"),
        (lambda: q_probe_distribution([0.5, 0.5], [0.0, 1.0], 1.0, 0), ValueError, "k"),
        (lambda: q_probe_distribution([0.5, 0.5], ["a", "b"], 1.0, 2), TypeError, "q"),
        (
            lambda: q_probe_distribution([0.5, 0.5], [0.0, 1.0], 1.0, 2, method="mc"),
            ValueError,
            "method",
        ),
        (lambda: q_probe_distribution([0.5, 0.5], [0.0, 1e10], 1e-300, 2), ValueError, "beta"),
        (
            lambda: q_probe_distribution(
                np.full(50, 0.02), np.zeros(50), 1.0, 60, method="multinomial"
            ),
            ValueError,
            "method",
        ),
        (lambda: vas_vs_optimum(np.eye(2), np.full((7, 2), 0.5), 1.0), TypeError, "tree"),
        (
            lambda: vas_vs_optimum(token_tree(2, 2, gamma=0.9), np.full((7, 2), 0.5), 1.0),
            ValueError,
            "tree",
        ),
        (
            lambda: vas_vs_optimum(token_tree(2, 2), np.full((7, 3), 1 / 3), 1.0),
            ValueError,
            "base_policy",
        ),
        (
            lambda: soft_policy_iteration(token_tree(2, 2), np.full((7, 2), 0.5), 1.0, -1),
            ValueError,
            "n_steps",
        ),
    ],
)
def test_bad_inputs_name_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
