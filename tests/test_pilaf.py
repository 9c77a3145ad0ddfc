"""Tests of the PILAF sampler (Feng et al. 2025) and the exact expected DPO gradient in prefrl.online."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import brentq

import prefrl.proofs_check.restricted as pcr
from prefrl.online import (
    expected_dpo_gradient,
    on_policy_pair_distribution,
    online_dpo,
    online_dpo_expected,
    pilaf_pair_distribution,
    pilaf_policies,
)
from prefrl.policies import LogLinearPolicy, gibbs
from prefrl.restricted import policy_value

finite = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def references(draw, K, zeros=True):
    """Reference distributions with ties, a floor, and (optionally) one zero."""
    w = draw(arrays(np.float64, K, elements=st.sampled_from([0.5, 1.0, 2.0]) | st.floats(0.05, 3)))
    if zeros and K > 2 and draw(st.booleans()):
        w[draw(st.integers(0, K - 1))] = 0.0
    return w / w.sum()


@st.composite
def pilaf_instances(draw, zeros=True):
    """Log-linear bandit classes with tied rows, zero columns and zero reference entries."""
    K = draw(st.integers(2, 5))
    d = draw(st.integers(1, 3))
    phi = draw(arrays(np.float64, (K, d), elements=finite | st.sampled_from([0.0, 1.0])))
    if draw(st.booleans()):
        phi[1] = phi[0]  # a tie
    theta = draw(arrays(np.float64, d, elements=finite))
    h = draw(arrays(np.float64, K, elements=st.sampled_from([0.0, 1.0, -1.0, 2.0]) | finite))
    other = draw(arrays(np.float64, K, elements=finite))
    beta = draw(st.sampled_from([0.1, 0.5, 1.0, 3.0]) | st.floats(0.05, 5.0))
    return {"features": phi, "reference": draw(references(K, zeros)), "theta": theta,
            "direction": h, "beta": beta, "other_reward": other}


def bt(r):
    return 1.0 / (1.0 + np.exp(-(r[:, None] - r[None, :])))


# ---------------------------------------------------------------------------------------------
# the sampler


@settings(max_examples=40)
@given(pilaf_instances())
def test_pilaf_pair_distribution_is_a_law_with_the_stated_marginals(inst):
    cls = LogLinearPolicy(inst["features"], inst["reference"])
    pi, ref, beta = cls.probs(inst["theta"]), inst["reference"], inst["beta"]
    mu = pilaf_pair_distribution(pi, ref, beta)
    pp = pilaf_policies(pi, ref, beta)
    assert mu.shape == (pi.size, pi.size) and np.all(mu >= 0)
    assert abs(mu.sum() - 1.0) < 1e-12
    w = pp.on_policy_weight
    np.testing.assert_allclose(mu.sum(axis=1), w * pi + (1 - w) * pp.plus, atol=1e-12)
    np.testing.assert_allclose(mu.sum(axis=0), w * pi + (1 - w) * pp.minus, atol=1e-12)
    # Cauchy-Schwarz: Z+ Z- >= 1, so the on-policy weight is at most 1/2
    assert pp.log_z_plus + pp.log_z_minus >= -1e-12 and w <= 0.5 + 1e-12
    # nothing is ever sampled where the reference is zero
    assert np.all(mu[ref == 0] == 0) and np.all(mu[:, ref == 0] == 0)


@settings(max_examples=40)
@given(pilaf_instances(zeros=False))
def test_pilaf_policies_are_the_power_interpolations(inst):
    cls = LogLinearPolicy(inst["features"], inst["reference"])
    pi, ref, beta = cls.probs(inst["theta"]), inst["reference"], inst["beta"]
    pp = pilaf_policies(pi, ref, beta)
    for sign, got in ((1, pp.plus), (-1, pp.minus)):
        logits = (1 + sign * beta) * np.log(pi) - sign * beta * np.log(ref)
        want = np.exp(logits - logits.max())
        np.testing.assert_allclose(got, want / want.sum(), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(pp.on_policy_weight,
                               1 / (1 + np.exp(pp.log_z_plus + pp.log_z_minus)), rtol=1e-12)


def test_pilaf_at_the_reference_is_on_policy_and_weight_is_respected():
    ref = np.array([0.2, 0.3, 0.5])
    mu = pilaf_pair_distribution(ref, ref, beta=0.7)
    np.testing.assert_allclose(mu, on_policy_pair_distribution(ref), atol=1e-15)
    assert pilaf_policies(ref, ref, 0.7).on_policy_weight == 0.5
    pi = np.array([0.7, 0.2, 0.1])
    pp = pilaf_policies(pi, ref, 0.7, weight=0.25)
    mu = pilaf_pair_distribution(pi, ref, 0.7, weight=0.25)
    np.testing.assert_allclose(mu, 0.25 * np.outer(pi, pi) + 0.75 * np.outer(pp.plus, pp.minus))
    assert pp.plus[0] > pi[0] > pp.minus[0]  # + extrapolates away from the reference, - back


def test_pilaf_extreme_tilts_stay_finite():
    pi = np.array([1 - 2e-300, 1e-300, 1e-300])
    pp = pilaf_policies(pi, [1 / 3] * 3, beta=50.0)
    assert np.all(np.isfinite(pp.plus)) and np.all(np.isfinite(pp.minus))
    assert np.isfinite(pp.on_policy_weight) and pp.on_policy_weight < 1e-10
    mu = pilaf_pair_distribution([1.0, 0.0], [0.5, 0.5], beta=1.0)  # a zero in the policy
    assert abs(mu.sum() - 1) < 1e-15 and mu[1, 1] == 0.0


# ---------------------------------------------------------------------------------------------
# the theorem: first-order alignment, and the on-policy counterexample


@settings(max_examples=40)
@given(pilaf_instances())
def test_pilaf_gradient_aligns_with_grad_value_to_first_order(inst):
    assert pcr.pilaf_gradient_aligns_first_order(inst) <= 1e-9


def test_alignment_check_fails_for_the_equal_weight_mixture(monkeypatch):
    # With the fixed 1/2 weight the identities are off: the check must notice.
    inst = pcr.draw_pilaf(np.random.default_rng(4))
    inst["theta"] = np.ones_like(inst["theta"])
    inst["reference"] = np.full(inst["reference"].size, 1.0 / inst["reference"].size)
    inst["features"] = np.arange(inst["reference"].size * inst["features"].shape[1],
                                 dtype=float).reshape(inst["features"].shape) / 3
    orig = pcr.pilaf_pair_distribution
    monkeypatch.setattr(pcr, "pilaf_pair_distribution",
                        lambda p, r, b: orig(p, r, b, weight=0.5))
    assert pcr.pilaf_gradient_aligns_first_order(inst) > 1e-6  # tolerance is 1e-9


@settings(max_examples=30)
@given(st.floats(-0.74, -0.61), st.sampled_from([1e-5, 1e-3, 1e-2, 0.05]))
def test_on_policy_sampler_descends_value_on_the_counterexample(theta, eps):
    inst = {**pcr.COUNTEREXAMPLE, "theta": np.array([theta]), "eps": eps}
    a = pcr.on_policy_alignment(inst)
    assert a["on_policy"] < 0 < a["pilaf"]
    assert pcr.on_policy_sampler_not_aligned(inst) == 0.0


def test_first_order_error_is_second_order_for_pilaf_and_first_order_for_on_policy():
    # Along r* = r_theta + eps h, |step/|step| - grad V*/|grad V*|| shrinks like eps for PILAF
    # (aligned to first order) but not for the on-policy sampler (misaligned at first order).
    rng = np.random.default_rng(7)
    phi = rng.normal(size=(4, 2))
    ref = np.full(4, 0.25)
    cls = LogLinearPolicy(phi, ref)
    theta, beta, h = rng.normal(size=2), 0.8, rng.normal(size=4)
    pi = cls.probs(theta)
    rt = beta * np.log(pi / ref)
    c = phi - pi @ phi
    gv = (pi * h) @ c
    errs = {"pilaf": [], "on": []}
    for eps in (1e-2, 1e-3):
        P = bt(rt + eps * h)
        for name, mu in (("pilaf", pilaf_pair_distribution(pi, ref, beta)),
                         ("on", on_policy_pair_distribution(pi))):
            step = -expected_dpo_gradient(theta, P, mu, phi, ref, beta).gradient
            errs[name].append(np.linalg.norm(step / np.linalg.norm(step) - gv / np.linalg.norm(gv)))
    assert errs["pilaf"][1] < errs["pilaf"][0] / 5  # O(eps)
    assert errs["on"][1] > 0.01 and abs(errs["on"][1] - errs["on"][0]) < 0.01  # O(1)


# ---------------------------------------------------------------------------------------------
# the expected gradient


@settings(max_examples=30)
@given(pilaf_instances())
def test_expected_gradient_matches_finite_differences_of_the_loss(inst):
    phi, ref, theta, beta = inst["features"], inst["reference"], inst["theta"], inst["beta"]
    cls = LogLinearPolicy(phi, ref)
    mu = pilaf_pair_distribution(cls.probs(theta), ref, beta)
    P = bt(inst["other_reward"])
    res = expected_dpo_gradient(theta, P, mu, phi, ref, beta)
    e = 1e-6
    for j in range(theta.size):
        up = expected_dpo_gradient(theta + e * np.eye(theta.size)[j], P, mu, phi, ref, beta).value
        dn = expected_dpo_gradient(theta - e * np.eye(theta.size)[j], P, mu, phi, ref, beta).value
        assert abs((up - dn) / (2 * e) - res.gradient[j]) <= 1e-6 * (1 + abs(res.gradient[j]))


def test_expected_gradient_is_the_mean_of_sampled_gradients():
    rng = np.random.default_rng(0)
    phi, beta, theta = rng.normal(size=(3, 2)), 0.7, np.array([0.3, -0.4])
    r = np.array([1.0, 0.0, -1.0])
    mu = pilaf_pair_distribution(LogLinearPolicy(phi).probs(theta), np.ones(3) / 3, beta)
    n = 200_000
    idx = rng.choice(9, size=n, p=mu.ravel())
    a, b = idx // 3, idx % 3
    first = rng.random(n) < 1 / (1 + np.exp(-(r[a] - r[b])))
    win, lose = np.where(first, a, b), np.where(first, b, a)
    D = phi[win] - phi[lose]
    per = -(1 / (1 + np.exp(beta * (D @ theta))))[:, None] * D * beta
    g = expected_dpo_gradient(theta, bt(r), mu, phi, None, beta).gradient
    se = per.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(per.mean(axis=0) - g) < 5 * se)


def test_expected_gradient_deterministic_preferences_stay_finite():
    P = np.array([[0.5, 1.0], [0.0, 0.5]])
    res = expected_dpo_gradient([1e4], P, [[0.25, 0.25], [0.25, 0.25]], [[1.0], [0.0]], None, 1.0)
    assert np.isfinite(res.value) and np.all(np.isfinite(res.gradient)) and res.value >= 0


# ---------------------------------------------------------------------------------------------
# online DPO with the new sampler


def test_online_dpo_default_unchanged():
    # Numbers recorded with the code before the sampler option existed (same seed).
    res = online_dpo([0.0, 0.0, -2.0], np.array([[1.0], [-1.0], [0.0]]), None, 0.3, n_rounds=7,
                     pairs_per_round=16, steps_per_round=5, lr=0.3, rng=123)
    np.testing.assert_allclose(res.thetas.ravel(), [
        0.0, 0.041516591163797065, 0.08139595038771777, 0.1209161119074833, 0.1009056873174562,
        0.14038434064828445, 0.11882640912038064, 0.11389869223096237], rtol=1e-12)
    np.testing.assert_allclose(res.values[-1], -0.6650862157955424, rtol=1e-12)
    res = online_dpo([1.0, 0.0, 0.5, -1.0], np.random.default_rng(0).normal(size=(4, 2)),
                     [0.1, 0.2, 0.3, 0.4], 0.7, n_rounds=4, rng=5, sampler="on-policy")
    np.testing.assert_allclose(res.thetas[-1], [-0.96979006808784, -0.6133869868180569],
                               rtol=1e-12)
    assert res.certificate == pytest.approx(0.006678650089844182, rel=1e-10)


def test_online_dpo_pilaf_approaches_the_optimum_in_the_full_class():
    r = np.array([1.0, 0.0, -0.5])
    res = online_dpo(r, np.eye(3), None, 1.0, n_rounds=40, pairs_per_round=256, rng=0,
                     sampler="pilaf")
    assert res.values[-1] > res.values[0]
    assert np.max(np.abs(res.policy - gibbs(np.ones(3) / 3, r, 1.0))) < 0.05
    again = online_dpo(r, np.eye(3), None, 1.0, n_rounds=40, pairs_per_round=256, rng=0,
                       sampler="pilaf")
    np.testing.assert_array_equal(res.thetas, again.thetas)


@pytest.mark.parametrize("sampler", ["on-policy", "pilaf"])
def test_online_dpo_expected_reaches_pi_star_in_the_full_class(sampler):
    r = np.array([0.5, 0.0, -1.0])
    ref = np.array([0.2, 0.5, 0.3])
    res = online_dpo_expected(r, np.eye(3), ref, 0.5, sampler=sampler, n_rounds=300, lr=1.0)
    np.testing.assert_allclose(res.policy, gibbs(ref, r, 0.5), atol=1e-8)
    assert res.certificate < 1e-8
    assert np.all(np.diff(res.values) > -1e-12)  # V* never decreases here


def test_online_pilaf_fixed_point_is_closer_to_the_best_in_class_when_nearly_realisable():
    phi = np.arange(4.0)[:, None]
    ref = np.full(4, 0.25)
    r = 1.0 * phi[:, 0] + 0.1 * np.array([0.0, 1.0, -1.0, 0.0])
    cls = LogLinearPolicy(phi, ref)

    def grad_v(t):  # Cov_pi(r - beta log(pi / ref), phi), the gradient of V* in theta
        pi = cls.probs([t])
        return pi @ ((r - np.log(pi / ref)) * (phi[:, 0] - pi @ phi[:, 0]))

    best = policy_value(cls.probs([brentq(grad_v, 0.5, 1.5, xtol=1e-14)]), r, ref, 1.0)
    gaps = {}
    for s in ("on-policy", "pilaf"):
        res = online_dpo_expected(r, phi, ref, 1.0, sampler=s, n_rounds=200, lr=0.5)
        gaps[s] = best - res.values[-1]
    assert gaps["pilaf"] < gaps["on-policy"] / 10
    assert gaps["on-policy"] > 1e-5


# ---------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("call, name", [
    (lambda: pilaf_pair_distribution([0.5, 0.5], [0.5, 0.5], 0.0), "beta"),
    (lambda: pilaf_pair_distribution([0.5, 0.6], [0.5, 0.5], 1.0), "policy"),
    (lambda: pilaf_pair_distribution([0.5, 0.5], [0.5, 0.5, 0.0], 1.0), "pi_ref"),
    (lambda: pilaf_pair_distribution([0.5, 0.5], [1.0, 0.0], 1.0), "policy\\[1\\]"),
    (lambda: pilaf_pair_distribution([0.5, 0.5], [0.5, 0.5], 1.0, weight=1.5), "weight"),
    (lambda: pilaf_policies([0.5, 0.5], [0.5, 0.5], -1.0), "beta"),
    (lambda: on_policy_pair_distribution([0.5, 0.4]), "policy"),
    (lambda: expected_dpo_gradient([0.0], [[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0], [0.0, 0.0]],
                                   [[1.0]], None, 1.0), "P"),
    (lambda: expected_dpo_gradient([0.0], [[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.1], [0.0, 0.0]],
                                   [[1.0], [0.0]], None, 1.0), "pairs"),
    (lambda: expected_dpo_gradient([0.0], [[0.5, 0.5], [0.5, 0.5]], [[1.5, -0.5], [0.0, 0.0]],
                                   [[1.0], [0.0]], None, 1.0), "pairs\\[0, 1\\]"),
    (lambda: expected_dpo_gradient([0.0, 1.0], [[0.5, 0.5], [0.5, 0.5]],
                                   [[1.0, 0.0], [0.0, 0.0]], [[1.0], [0.0]], None, 1.0), "theta"),
    (lambda: online_dpo([1.0, 0.0], np.eye(2), None, 1.0, sampler="best-of-n"), "sampler"),
    (lambda: online_dpo([1.0, 0.0], np.eye(2), None, 1.0, sampler="pilaf", pilaf_weight=-0.1),
     "pilaf_weight"),
    (lambda: online_dpo_expected([1.0, 0.0], np.eye(2), None, 1.0, sampler="vanilla"), "sampler"),
    (lambda: online_dpo_expected([1.0, 0.0], np.eye(2), None, 1.0, n_rounds=0), "rounds"),
    (lambda: online_dpo_expected([1.0, 0.0], np.eye(2), None, 1.0, init=[0.0]), "init"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
