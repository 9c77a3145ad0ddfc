"""The Bernoulli-bandit policy-gradient theory (prefrl.pg_theory._bernoulli).

Property tests of the closed forms against enumeration (the checks of proofs_check/pg_bandit.py on
hypothesis-drawn instances), Monte Carlo agreement with the estimators of prefrl.losses, the
training simulator and the GRESO computations, validation and float32 agreement.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prefrl.losses import grpo_advantages, reinforce_pp_advantages, rloo_advantages
from prefrl.pg_theory import (
    ESTIMATORS,
    expected_update,
    greso_selective_rollouts,
    simulate_greso,
    train_bernoulli,
    zero_advantage_probability,
)
from prefrl.proofs_check import pg_bandit as checks

# no subnormal p: Reinforce-Rej's per-prompt normaliser would divide by a kept probability
# below the smallest normal number (tested apart: a ValueError naming p)
probs = st.sampled_from([0.0, 1.0, 0.5, 1e-6, 1e-300]) | st.floats(0.0, 1.0, allow_subnormal=False)
p_vectors = arrays(np.float64, st.integers(1, 3), elements=probs)


@settings(max_examples=40)
@given(
    p_vectors,
    st.integers(1, 7),
    st.sampled_from(ESTIMATORS),
    st.sampled_from([0.0, 1e-4, 0.5]),
    st.integers(0, 1),
    st.sampled_from(["batch", "prompt", "none"]),
)
def test_closed_forms_equal_enumeration(p, G, estimator, eps, ddof, normaliser):
    inst = {
        "p": p,
        "group_size": G,
        "estimator": estimator,
        "eps": eps,
        "ddof": ddof if G > 1 else 1,
        "normaliser": normaliser,
    }
    assert checks.closed_forms_equal_enumeration(inst) <= 1e-10
    assert checks.reinforce_rej_rescales_dr_grpo(inst) <= 1e-12


@settings(max_examples=30)
@given(
    arrays(np.float64, st.integers(1, 8), elements=probs),
    st.sampled_from([1, 2, 3, 17, 256, 1024]),
    st.integers(0, 1),
)
def test_unbiased_grpo_bracket_and_zero_identity(p, G, ddof):
    inst = {"p": p, "group_size": G, "ddof": ddof if G > 1 else 0}
    assert checks.unbiased_estimators(inst) <= 1e-12
    assert checks.grpo_sqrt_scaling(inst) <= 1e-12
    assert checks.zero_advantage_identity(inst) <= 1e-12


@settings(max_examples=15)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 2)), elements=probs),
    st.integers(1, 5),
    st.sampled_from([0.0, 1.0, 0.3]),
)
def test_greso_recursion_against_every_path(P, G, q):
    assert checks.greso_recursion({"p": P, "group_size": G, "skip_probability": q}) <= 1e-12


# ----------------------------------------------------------------- Monte Carlo with prefrl.losses

P_MC = np.array([0.1, 0.5, 0.85])
G_MC = 8


def _groups(n, rng):
    """n groups per prompt: rewards of shape (n_prompts * n, G) and the prompt of each row."""
    which = np.repeat(np.arange(P_MC.size), n)
    Y = (rng.random((which.size, G_MC)) < P_MC[which, None]).astype(float)
    return Y, which


def _agree(step, which, estimator, **kw):
    res = expected_update(estimator, P_MC, G_MC, **kw)
    for i in range(P_MC.size):
        s = step[which == i]
        se = s.std(ddof=1) / np.sqrt(s.size)
        assert abs(s.mean() - res.mean[i]) < 5 * se + 1e-12, (estimator, i)
        assert abs(s.var() - res.variance[i]) < 0.05 * res.variance[i] + 1e-9, (estimator, i)


@pytest.mark.parametrize(
    "estimator", ["rloo", "grpo", "grpo_no_std", "reinforce", "raft", "reinforce_baseline"]
)
def test_monte_carlo_matches_prefrl_losses(estimator):
    rng = np.random.default_rng(0)
    Y, which = _groups(40_000, rng)
    p = P_MC[which, None]
    A = {
        "rloo": lambda: rloo_advantages(Y),
        "grpo": lambda: grpo_advantages(Y),
        "grpo_no_std": lambda: grpo_advantages(Y, scale="none"),
        "reinforce": lambda: Y,
        "raft": lambda: Y,
        "reinforce_baseline": lambda: Y - p,
    }[estimator]()
    _agree((A * (Y - p)).mean(axis=1), which, estimator)


def test_reinforce_pp_is_the_large_batch_limit_of_the_library():
    rng = np.random.default_rng(1)
    Y, which = _groups(40_000, rng)
    p = P_MC[which, None]
    A = reinforce_pp_advantages(Y.reshape(-1, 1), np.ones((Y.size, 1))).reshape(Y.shape)
    _agree((A * (Y - p)).mean(axis=1), which, "reinforce_pp")


def test_reinforce_rej_is_the_mean_over_kept_groups():
    rng = np.random.default_rng(2)
    Y, which = _groups(40_000, rng)
    p = P_MC[which, None]
    k = Y.sum(axis=1)
    kept = (k > 0) & (k < G_MC)
    step = (grpo_advantages(Y, scale="none") * (Y - p)).mean(axis=1) * kept / kept.mean()
    _agree(step, which, "reinforce_rej")


# ----------------------------------------------------------------- closed forms and limits


def test_grpo_tends_to_sqrt_and_is_stable_for_large_groups():
    p = np.array([0.0, 1e-9, 0.2, 0.5, 1 - 1e-9, 1.0])
    res = expected_update("grpo", p, 1024, eps=0.0)
    assert np.all(np.isfinite(res.mean)) and np.all(np.isfinite(res.variance))
    v = p * (1 - p)
    np.testing.assert_allclose(res.mean[2:4], np.sqrt(v[2:4]), rtol=3e-3)
    z = zero_advantage_probability([0.5, 1e-300, 1.0], 1024)
    assert z[0] > 0 and z[1] == 1.0 and z[2] == 1.0


def test_reinforce_pp_direction_and_rejection_normalisers():
    p = np.array([0.2, 0.6])
    pp = expected_update("reinforce_pp", p, 4).mean
    mu = p.mean()
    np.testing.assert_allclose(pp, p * (1 - p) / np.sqrt(mu * (1 - mu) + 1e-8), rtol=1e-12)
    dr = expected_update("dr_grpo", p, 4).mean
    assert np.allclose(expected_update("reinforce_rej", p, 4, normaliser="none").mean, dr)
    kept = 1 - zero_advantage_probability(p, 4)
    assert np.allclose(expected_update("reinforce_rej", p, 4, normaliser="prompt").mean, dr / kept)


def test_train_bernoulli_kl_and_reward():
    th0 = np.array([-3.0, 0.0, 2.0])
    run = train_bernoulli("grpo", th0, 8, 0.5, 50)
    assert run.kl[0] == 0 and np.all(np.diff(run.kl) >= 0) and np.all(np.diff(run.mean_reward) > 0)
    p, p0 = run.p[-1], run.p[0]
    direct = np.sum(p * np.log(p / p0) + (1 - p) * np.log((1 - p) / (1 - p0)))
    assert abs(run.kl[-1] - direct) < 1e-10
    a, b = train_bernoulli("raft", th0, 8, 0.5, 20), train_bernoulli("reinforce", th0, 8, 0.5, 20)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert train_bernoulli("rloo", th0, 8, 0.1, 0).theta.shape == (1, 3)


def test_greso_exact_against_simulation_and_edge_cases():
    p = np.array([0.02, 0.3, 0.95, 1.0])
    ex = greso_selective_rollouts(p, 4, 0.7, n_epochs=6)
    sim = simulate_greso(p, 4, 0.7, n_epochs=6, n_runs=20_000, rng=3)
    assert np.all(
        np.abs(ex.rollouts_saved - sim.rollouts_saved) <= 4.5 * sim.rollouts_saved_se + 1e-12
    )
    assert np.all(
        np.abs(ex.informative_lost - sim.informative_lost) <= 4.5 * sim.informative_lost_se + 1e-12
    )
    assert np.all(greso_selective_rollouts(p, 4, 0.0, n_epochs=3).rollouts_saved == 0)
    z = zero_advantage_probability(p, 4)
    two = greso_selective_rollouts(p, 4, 0.7)
    assert np.isclose(two.rollouts_saved[1], 4 * 0.7 * z.sum())
    assert np.isclose(two.informative_lost[1], 0.7 * (z * (1 - z)).sum())


# ----------------------------------------------------------------- validation and dtypes


@pytest.mark.parametrize(
    "call, name, exc",
    [
        (lambda: expected_update("ppo", [0.5], 4), "estimator", ValueError),
        (lambda: expected_update(3, [0.5], 4), "estimator", TypeError),
        (lambda: expected_update("grpo", [np.nan], 4), "p", ValueError),
        (lambda: expected_update("grpo", [1.5], 4), "p", ValueError),
        (lambda: expected_update("grpo", "a", 4), "p", TypeError),
        (lambda: expected_update("grpo", [True], 4), "p", TypeError),
        (lambda: expected_update("grpo", [0.5 + 1j], 4), "p", TypeError),
        (lambda: expected_update("grpo", [0.5], 0), "group_size", ValueError),
        (lambda: expected_update("grpo", [0.5], True), "group_size", TypeError),
        (lambda: expected_update("grpo", [0.5], 4, eps=-1.0), "eps", ValueError),
        (lambda: expected_update("grpo", [0.5], 4, eps=np.inf), "eps", ValueError),
        (lambda: expected_update("grpo", [0.5], 4, ddof=4), "ddof", ValueError),
        (
            lambda: expected_update("reinforce_rej", [0.5], 4, normaliser="mean"),
            "normaliser",
            ValueError,
        ),
        (lambda: zero_advantage_probability([-0.1], 4), "p", ValueError),
        (
            lambda: expected_update("reinforce_rej", [5e-324], 2, normaliser="prompt"),
            "p",
            ValueError,
        ),
        (lambda: greso_selective_rollouts([0.5], 4, 1.5), "skip_probability", ValueError),
        (lambda: greso_selective_rollouts([0.5], 4, 0.5, n_epochs=0), "n_epochs", ValueError),
        (lambda: simulate_greso([0.5], 4, 0.5, rng=None), "rng", ValueError),
        (lambda: simulate_greso([0.5], 4, 0.5, n_runs=1, rng=0), "n_runs", ValueError),
        (lambda: train_bernoulli("grpo", [np.inf], 4, 0.1, 3), "theta0", ValueError),
        (lambda: train_bernoulli("grpo", [0.0], 4, 0.0, 3), "lr", ValueError),
        (lambda: train_bernoulli("grpo", [0.0], 4, 0.1, -1), "n_steps", ValueError),
        (lambda: train_bernoulli("nope", [0.0], 4, 0.1, 3), "estimator", ValueError),
    ],
)
def test_bad_input_names_the_argument(call, name, exc):
    with pytest.raises(exc, match=name):
        call()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_float32_agrees_with_float64(estimator):
    p = np.array([0.05, 0.3, 0.5, 0.9])
    a = expected_update(estimator, p.astype(np.float32), 16)
    b = expected_update(estimator, p, 16)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-5, atol=1e-7)
    assert a.mean.dtype == np.float64


def test_float32_other_functions():
    p = np.array([0.05, 0.3, 0.9])
    np.testing.assert_allclose(
        zero_advantage_probability(p.astype(np.float32), 8),
        zero_advantage_probability(p, 8),
        rtol=1e-5,
    )
    g32 = greso_selective_rollouts(p.astype(np.float32), 8, 0.5, n_epochs=3)
    np.testing.assert_allclose(
        g32.rollouts_saved,
        greso_selective_rollouts(p, 8, 0.5, n_epochs=3).rollouts_saved,
        rtol=1e-5,
    )
    th = np.array([-1.0, 0.5])
    np.testing.assert_allclose(
        train_bernoulli("grpo", th.astype(np.float32), 8, 0.5, 5).kl,
        train_bernoulli("grpo", th, 8, 0.5, 5).kl,
        rtol=1e-5,
        atol=1e-9,
    )
