"""Tests of prefrl.overoptimization: the slope identity, the peak, dual ascent, RRM, the length split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.overoptimization import (
    artifact_reward_fit,
    bootstrap_proxies,
    bt_proxy,
    constrained_rlhf,
    correlated_proxy,
    gold_value_derivative,
    kl_budget_policy,
    length_decomposition,
    overoptimization_curve,
    par_reward,
)
from prefrl.policies import gibbs, kl
from prefrl.proofs_check import overoptimization as checks

seeds = st.integers(0, 2**31 - 1)


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_slope_identity_and_peak(seed):
    inst = checks.draw_path(np.random.default_rng(seed))
    assert checks.gold_slope_is_covariance(inst) < 1e-6
    assert checks.peak_is_covariance_zero(inst) < 1e-9


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_dual_ascent_kkt_and_length_split(seed):
    rng = np.random.default_rng(seed)
    assert checks.dual_ascent_kkt(checks.draw_constrained(rng)) < 1e-8
    assert checks.length_decomposition_exact(checks.draw_lengths(rng)) < 1e-12


def test_constrained_matches_a_direct_solve():
    """Against scipy's SLSQP on the primal (a separate solver)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    K = 6
    p0 = np.full(K, 1 / K)
    R = rng.normal(size=(2, K))
    r0 = R.sum(axis=0)
    theta = R @ p0 + 0.2
    beta = 0.3
    res = constrained_rlhf(p0, r0, R, theta, beta)

    def negobj(z):
        pi = np.exp(z - z.max())
        pi /= pi.sum()
        return -(pi @ r0 - beta * np.sum(pi * np.log(pi / p0)))

    cons = [
        {
            "type": "ineq",
            "fun": (
                lambda z, i=i: theta[i] - R[i] @ (np.exp(z - z.max()) / np.exp(z - z.max()).sum())
            ),
        }
        for i in range(2)
    ]
    ref = minimize(
        negobj,
        np.zeros(K),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert -ref.fun == pytest.approx(res.value, abs=1e-6)
    assert res.converged and res.certificate < 1e-9
    # fixed weights = frozen multipliers: the same tilt
    np.testing.assert_allclose(gibbs(p0, r0 - res.multipliers @ R, beta), res.policy, atol=1e-12)


def test_correlated_proxy_is_exact_and_bt_proxy_converges():
    rng = np.random.default_rng(0)
    gold = rng.normal(size=12)
    p0 = np.full(12, 1 / 12)
    for rho in (-0.4, 0.0, 0.7, 1.0):
        r = correlated_proxy(gold, rho, 1, p0)
        z = (gold - gold.mean()) / gold.std()
        assert np.mean(r) == pytest.approx(0, abs=1e-12)
        assert np.mean(r * z) == pytest.approx(rho, abs=1e-12)
        assert np.mean(r**2) == pytest.approx(1, abs=1e-12)
    # Monte Carlo: a BT fit on many comparisons recovers the gold reward up to a constant
    fit = bt_proxy(gold, p0, 60000, rng=1, l2=1e-3)
    np.testing.assert_allclose(fit - fit.mean(), gold - gold.mean(), atol=0.15)


def test_curve_shapes_kl_monotone_and_budget():
    rng = np.random.default_rng(2)
    gold, p0 = rng.normal(size=10), np.full(10, 0.1)
    proxy = correlated_proxy(gold, 0.5, rng, p0)
    res = overoptimization_curve(p0, gold, proxy, np.logspace(1, -2, 30))
    assert res.kl.shape == res.gold_value.shape == (30,)
    assert np.all(np.diff(res.kl) >= -1e-12)
    b = kl_budget_policy(p0, proxy, 0.5 * res.kl[-1])
    assert b.kl == pytest.approx(0.5 * res.kl[-1], abs=1e-9)
    np.testing.assert_allclose(b.policy, gibbs(p0, proxy, b.beta), atol=1e-12)
    assert kl_budget_policy(p0, proxy, 100.0).beta == 0.0
    assert gold_value_derivative(p0, gold, proxy, res.peak["beta"]) == pytest.approx(0, abs=1e-9)


def test_par_and_ensemble():
    p0 = np.array([0.2, 0.3, 0.5])
    r = np.array([0.0, 1.0, -2.0])
    par = par_reward(r, p0)
    assert np.all((par > 0) & (par < 1))
    assert np.argsort(par).tolist() == np.argsort(r).tolist()  # strictly increasing transform
    R = bootstrap_proxies([0, 0, 1, 2, 1], [1, 2, 2, 0, 0], 3, 5, rng=0)
    assert R.shape == (5, 3) and np.all(np.isfinite(R))


def test_artifact_fit_and_rrm_limit():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 5, size=(3, 5)).astype(float)
    q = 0.5 * a + rng.normal(size=(3, 5))
    mu = np.full((3, 5), 0.2)
    assert artifact_reward_fit(q, a, mu, labeller_bias=0.2).artifact_weight == pytest.approx(
        0.2, abs=1e-7
    )
    ws = [
        artifact_reward_fit(q, a, mu, labeller_bias=0.2, augmentation=al).artifact_weight
        for al in (0.0, 1.0, 10.0, 1000.0)
    ]
    assert np.all(np.diff(ws) < 0) and abs(ws[-1]) < 1e-2
    # an imperfect quality signal: a spurious length weight without any labeller bias
    noisy = artifact_reward_fit(q, a, mu, quality_signal=q - 0.5 * a)
    assert noisy.artifact_weight > 0.1


def test_length_decomposition_example_and_support():
    res = length_decomposition([0.2, 0.8], [0.5, 0.5], [1.0, 3.0], [1, 2])
    assert res.gain == pytest.approx(res.length_shift + res.within_length, abs=1e-15)
    with pytest.raises(ValueError, match="length 2"):
        length_decomposition([0.0, 1.0], [1.0, 0.0], [1.0, 3.0], [1, 2])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: overoptimization_curve([0.5, 0.5], [1.0, 0.0], [1.0, 0.0], [1.0, -1.0]), "betas"),
        (lambda: overoptimization_curve([0.5, 0.5], [1.0, np.nan], [1.0, 0.0], [1.0]), "gold"),
        (lambda: overoptimization_curve([0.5, 0.5], [1.0, 0.0], [1.0, 0.0, 2.0], [1.0]), "proxy"),
        (lambda: correlated_proxy([1.0, 1.0, 1.0], 0.5, 0), "gold"),
        (lambda: correlated_proxy([1.0, 2.0, 3.0], 1.5, 0), "rho"),
        (lambda: bt_proxy([0.0, 1.0], [0.5, 0.5], 0, 0), "n_samples"),
        (lambda: kl_budget_policy([0.5, 0.5], [1.0, 0.0], -1.0), "budget"),
        (lambda: constrained_rlhf([0.5, 0.5], [1.0, 0.0], [[1.0, 0.0]], [-1.0], 1.0), "thresholds"),
        (
            lambda: constrained_rlhf([0.5, 0.5], [1.0, 0.0], [[1.0, 0.0]], [0.5, 0.5], 1.0),
            "thresholds",
        ),
        (lambda: artifact_reward_fit([[0.0, 1.0]], [[1.0]], [[0.5, 0.5]]), "artifact"),
        (
            lambda: artifact_reward_fit(
                [[0.0, 1.0]], [[1.0, 0.0]], [[0.5, 0.5]], augmentation=-1.0
            ),
            "augmentation",
        ),
    ],
)
def test_validation_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="beta"):
        gold_value_derivative([0.5, 0.5], [1.0, 0.0], [1.0, 0.0], True)
    with pytest.raises(TypeError, match="labeller_bias"):
        artifact_reward_fit([[0.0, 1.0]], [[1.0, 0.0]], [[0.5, 0.5]], labeller_bias="x")


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(5)
    gold, p0 = rng.normal(size=8), rng.dirichlet(np.ones(8))
    proxy = 0.5 * gold + rng.normal(size=8)
    betas = np.logspace(1, -1, 10)
    a = overoptimization_curve(p0, gold, proxy, betas)
    b = overoptimization_curve(
        p0.astype(np.float32),
        gold.astype(np.float32),
        proxy.astype(np.float32),
        betas.astype(np.float32),
    )
    np.testing.assert_allclose(a.gold_value, b.gold_value, atol=1e-5)
    R = rng.normal(size=(2, 8))
    th = R @ p0 + 0.1
    c64 = constrained_rlhf(p0, R.sum(0), R, th, 0.5)
    c32 = constrained_rlhf(
        p0.astype(np.float32),
        R.sum(0).astype(np.float32),
        R.astype(np.float32),
        th.astype(np.float32),
        np.float32(0.5),
    )
    np.testing.assert_allclose(c64.policy, c32.policy, atol=1e-5)
    assert kl(c64.policy, c32.policy) < 1e-8
