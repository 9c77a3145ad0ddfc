"""Tests of eva in prefrl.curriculum: regret, informativeness proxies, the creator, the loop."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefrl.curriculum as cur
from prefrl.bandits import kl_regularized_optimum
from prefrl.curriculum import context_regret, creator_weights, eva, informativeness
from prefrl.policies import regularized_objective, softmax
from prefrl.proofs_check.eva import (
    KINDS,
    _enumerate,
    creator_monotone,
    expected_proxies_enumeration,
    inner_max_point_mass,
    max_min_zero_iff,
    proxy_ordering,
    solver_gradient_fd,
)

PROBS = st.sampled_from([0.0, 0.0, 1.0]) | st.floats(0.0, 1.0)
REWARDS = st.sampled_from([-1.0, 0.0, 1.0]) | st.floats(-5.0, 5.0)


@st.composite
def policies(draw, X, K):
    """Rows with zeros, deterministic rows and ties, normalised; never np.random."""
    w = draw(hnp.arrays(np.float64, (X, K), elements=PROBS))
    for x in range(X):
        if w[x].sum() == 0:
            w[x, draw(st.integers(0, K - 1))] = 1.0
    return w / w.sum(axis=1, keepdims=True)


@st.composite
def instances(draw, max_x=3, max_k=4, max_n=4):
    """A dict in the format of proofs_check.eva.draw_instance, drawn by hypothesis."""
    X, K = draw(st.integers(1, max_x)), draw(st.integers(1, max_k))
    rewards = draw(hnp.arrays(np.float64, (X, K), elements=REWARDS))
    info = draw(hnp.arrays(np.float64, (X,), elements=st.sampled_from([0.0, 1.0])
                           | st.floats(0.0, 10.0)))
    return {
        "rewards": rewards, "policy": draw(policies(X, K)), "pi_ref": draw(policies(X, K)),
        "theta": draw(hnp.arrays(np.float64, (X, K), elements=st.floats(-3.0, 3.0))),
        "q": draw(policies(1, X))[0], "n": draw(st.integers(1, max_n)),
        "beta": draw(st.sampled_from([0.05, 0.5, 2.0])), "info": info,
        "temperature": draw(st.sampled_from([0.1, 1.0, 3.0]) | st.floats(0.05, 10.0)),
        "buffer_mix": draw(st.sampled_from([0.0, 0.25, 1.0]) | st.floats(0.0, 1.0)),
    }


# ---------------------------------------------------------------------------------- theorems
@given(instances())
def test_expected_proxies_equal_enumeration(inst):
    assert expected_proxies_enumeration(inst) <= 1e-12


@given(instances(max_x=6))
def test_creator_weights_monotone_and_best_response_limit(inst):
    assert creator_monotone(inst) <= 1e-12


@given(instances(max_x=5))
def test_inner_max_of_regret_game_is_a_point_mass(inst):
    assert inner_max_point_mass(inst) <= 1e-9


@given(instances())
def test_expected_max_min_zero_iff_rewards_constant_on_support(inst):
    assert max_min_zero_iff(inst) == 0.0


@given(instances())
def test_proxy_ordering(inst):
    assert proxy_ordering(inst) <= 1e-12


@settings(max_examples=25)
@given(instances(max_x=2, max_k=3))
def test_solver_gradient_equals_finite_differences(inst):
    assert solver_gradient_fd(inst) <= 1e-7


# ---------------------------------------------------------------------------------- regret
@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_context_regret_definition(X, K, data):
    r = data.draw(hnp.arrays(np.float64, (X, K), elements=REWARDS))
    pi = data.draw(policies(X, K))
    reg = context_regret(pi, r)
    np.testing.assert_allclose(reg, r.max(axis=1) - np.sum(pi * r, axis=1), rtol=0,
                               atol=1e-12 * (1 + np.abs(r).max()))
    assert np.all(reg >= 0)
    greedy = np.eye(K)[np.argmax(r, axis=1)]
    np.testing.assert_array_equal(context_regret(greedy, r), 0.0)


def test_regret_of_nearly_greedy_policy_has_no_cancellation():
    eps = 1e-17
    pi = np.array([[1.0 - eps, eps]])  # 1 - 1e-17 rounds to 1; the tail is still counted
    assert context_regret(pi, [[1.0, 0.0]])[0] == pytest.approx(eps, rel=1e-12)


# ---------------------------------------------------------------------------------- proxies
@settings(max_examples=30)
@given(instances(max_x=2, max_k=4, max_n=5), st.sampled_from(KINDS))
def test_sampled_proxy_mean_matches_exact_expectation(inst, kind):
    """Monte Carlo with a seeded statistical tolerance (Hoeffding, failure probability 1e-9).

    Every proxy lies in [0, max r - min r], so the mean of M draws is within
    (max r - min r) sqrt(log(2e9) / (2M)) of its expectation with probability 1 - 1e-9. (The
    sample standard error is no tolerance: a policy putting 5e-5 on an action may show it in none
    of the draws, and then the sample spread is 0.)
    """
    pi, r, n = inst["policy"], inst["rewards"], inst["n"]
    M = 4000
    draws = informativeness(np.repeat(pi, M, axis=0), np.repeat(r, M, axis=0), n, kind,
                            rng=12345).reshape(r.shape[0], M)
    exact = informativeness(pi, r, n, kind, exact=True)
    spread = r.max(axis=1) - r.min(axis=1)
    tol = spread * np.sqrt(np.log(2e9) / (2 * M)) + 1e-9 * (1 + np.abs(r).max())
    assert np.all(np.abs(draws.mean(axis=1) - exact) <= tol)
    assert np.all(draws >= 0)


def test_exact_proxies_by_hand():
    pi = np.array([[0.5, 0.5, 0.0]])
    r = np.array([[1.0, 0.0, 5.0]])
    # Two draws from {1, 0}: max - min = 1 unless both equal (probability 1/2).
    assert informativeness(pi, r, 2, "max-min", exact=True)[0] == pytest.approx(0.5)
    # E max = 3/4, mean 1/2.
    assert informativeness(pi, r, 2, "max-mean", exact=True)[0] == pytest.approx(0.25)
    # The regret proxy knows the unsampled best response (5).
    assert informativeness(pi, r, 2, "regret", exact=True)[0] == pytest.approx(4.5)
    ref = _enumerate(pi, r, 3)
    for k in KINDS:
        assert informativeness(pi, r, 3, k, exact=True)[0] == pytest.approx(ref[k][0])


def test_max_mean_tends_to_regret_with_many_samples():
    pi = np.array([[0.9, 0.09, 0.01]])
    r = np.array([[0.0, 0.5, 1.0]])
    reg = context_regret(pi, r)[0]
    vals = [informativeness(pi, r, n, "max-mean", exact=True)[0] for n in (1, 10, 100, 3000)]
    assert vals[0] == 0.0 and np.all(np.diff(vals) > 0)
    assert vals[-1] == pytest.approx(reg, rel=1e-9)


def test_expected_max_min_positive_for_tiny_probabilities():
    # 1 - F^N - (1 - F)^N ~ N F must not cancel to 0 for F = 1e-300.
    pi = np.array([[1e-300, 1.0 - 1e-300]])
    val = informativeness(pi, [[0.0, 1.0]], 2, "max-min", exact=True)[0]
    assert val > 0 and val == pytest.approx(2e-300, rel=1e-6)


# ---------------------------------------------------------------------------------- creator
def test_creator_weights_examples():
    np.testing.assert_allclose(creator_weights([3.0, 1.0, 0.0]), [0.75, 0.25, 0.0])
    np.testing.assert_allclose(creator_weights([0.0, 0.0]), [0.5, 0.5])
    np.testing.assert_allclose(creator_weights([2.0, 1.0], buffer_mix=1.0), [0.5, 0.5])
    np.testing.assert_allclose(creator_weights([2.0, 1.0], temperature=1e-3), [1.0, 0.0],
                               atol=1e-300)
    # Huge informativeness and temperature: no overflow in log space.
    np.testing.assert_allclose(creator_weights([1e308, 1e307], temperature=0.01).sum(), 1.0)


# ---------------------------------------------------------------------------------- the loop
R2 = np.array([[1.0, 0.0, 0.5], [1.0, 0.2, 0.4], [0.3, 0.0, 1.0]])
REF2 = np.array([[0.8, 0.1, 0.1], [0.02, 0.49, 0.49], [0.5, 0.5, 0.0]])


def test_eva_first_step_is_the_exact_gradient_step():
    lr, beta = 0.7, 0.3
    res = eva(R2, REF2, beta, n_rounds=1, n_solver_steps=1, lr=lr, kind="regret", exact=True,
              buffer_mix=0.1)
    q = creator_weights(context_regret(REF2, R2), 1.0, 0.1)
    np.testing.assert_allclose(res.weights[0], q, rtol=1e-14)
    # At theta = log pi_ref the log-ratio vanishes, so the gradient is q pi_ref (r - E_ref r).
    grad = q[:, None] * REF2 * (R2 - np.sum(REF2 * R2, axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        expected = softmax(np.log(REF2) + lr * grad, axis=1)
    np.testing.assert_allclose(res.policy, expected, rtol=1e-12, atol=1e-15)
    assert res.policy[2, 2] == 0.0  # outside the reference's support forever


def test_eva_records_are_consistent():
    res = eva(R2, REF2, 0.1, n_rounds=4, n_solver_steps=3, n_samples=5, rng=7)
    assert res.iterations == 12
    assert res.policies.shape == (5, 3, 3) and res.weights.shape == (4, 3)
    assert res.informativeness.shape == (4, 3)
    assert res.average_regret.shape == res.worst_regret.shape == (13,)
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, rtol=1e-14)
    for t in range(5):
        np.testing.assert_allclose(res.regret[t], context_regret(res.policies[t], R2),
                                   rtol=1e-14)
    np.testing.assert_allclose(res.worst_regret[::3], res.regret.max(axis=1), rtol=1e-14)
    np.testing.assert_allclose(res.average_regret[::3], res.regret.mean(axis=1), rtol=1e-14)
    for w, info in zip(res.weights, res.informativeness):  # (a): monotone in the proxy
        np.testing.assert_allclose(w, creator_weights(info, 1.0, 0.25), rtol=1e-14)
    value = np.mean(regularized_objective(res.policy, R2, REF2, 0.1))
    assert res.value == pytest.approx(value, rel=1e-12)
    again = eva(R2, REF2, 0.1, n_rounds=4, n_solver_steps=3, n_samples=5, rng=7)
    np.testing.assert_array_equal(again.policy, res.policy)


def test_eva_with_full_buffer_is_the_uniform_curriculum():
    a = eva(R2, REF2, 0.1, n_rounds=3, n_solver_steps=4, buffer_mix=1.0, rng=0)
    b = eva(R2, REF2, 0.1, n_rounds=3, n_solver_steps=4, creator="uniform")
    np.testing.assert_allclose(a.policies, b.policies, rtol=1e-14)
    assert b.informativeness is None


@settings(max_examples=15)
@given(st.sampled_from(["uniform", "informativeness"]), st.sampled_from(KINDS))
def test_eva_solver_converges_to_the_kl_regularised_optimum(creator, kind):
    beta = 0.5
    res = eva(R2, REF2, beta, n_rounds=100, n_solver_steps=20, lr=5.0, creator=creator, kind=kind,
              exact=True)
    opt = kl_regularized_optimum(REF2, R2, beta)
    assert res.certificate <= 1e-8
    np.testing.assert_allclose(res.policy, opt.policy, atol=1e-5)
    assert res.value == pytest.approx(float(np.mean(opt.value)), abs=1e-8)


def test_eva_creator_focuses_on_the_hard_context():
    r = np.array([[1.0, 0.0], [1.0, 0.0]])
    ref = np.array([[0.9, 0.1], [0.1, 0.9]])
    res = eva(r, ref, 0.05, n_rounds=10, kind="regret", exact=True, buffer_mix=0.0)
    uni = eva(r, ref, 0.05, n_rounds=10, creator="uniform")
    assert res.weights[0, 1] == pytest.approx(0.9)
    assert res.worst_regret[-1] < uni.worst_regret[-1]


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: context_regret([[0.5, 0.5]], [[1.0, 0.0, 2.0]]), "policy must have the shape"),
        (lambda: context_regret([[0.5, 0.6]], [[1.0, 0.0]]), r"policy\[0, :\]"),
        (lambda: context_regret([[0.5, 0.5]], [[1.0, np.nan]]), r"rewards\[0, 1\]"),
        (lambda: context_regret([0.5, 0.5], [1.0, 0.0]), "rewards must have 2"),
        (lambda: informativeness([[1.0]], [[1.0]], 0, exact=True), "n_samples"),
        (lambda: informativeness([[1.0]], [[1.0]], 2, "spread", exact=True), "kind"),
        (lambda: informativeness([[1.0]], [[1.0]], 2), "rng"),
        (lambda: creator_weights([1.0, -0.5]), r"info\[1\]"),
        (lambda: creator_weights([1.0], temperature=0.0), "temperature"),
        (lambda: creator_weights([1.0], buffer_mix=1.5), "buffer_mix"),
        (lambda: eva(R2, REF2, 0.0, n_rounds=1, exact=True), "beta"),
        (lambda: eva(R2, REF2, 0.1, n_rounds=0, exact=True), "n_rounds"),
        (lambda: eva(R2, REF2, 0.1, n_rounds=1, creator="random"), "creator"),
        (lambda: eva(R2, REF2, 0.1, n_rounds=1, n_solver_steps=0, exact=True), "n_solver_steps"),
        (lambda: eva(R2, REF2, 0.1, n_rounds=1, lr=-1.0, exact=True), "lr"),
        (lambda: eva(R2, REF2, 0.1, n_rounds=1), "rng"),
        (lambda: eva(R2, REF2[:2], 0.1, n_rounds=1, exact=True), "pi_ref must have the shape"),
        (lambda: eva(R2, REF2, 0.1, n_rounds=1, n_samples=0, rng=0), "n_samples"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_doctests_of_eva_functions():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    names = ["context_regret", "informativeness", "creator_weights", "eva"]
    for name in names:
        for t in finder.find(getattr(cur, name), name, globs={"np": np, **vars(cur)}):
            runner.run(t)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted >= 6


def test_renamed_keywords_still_work_and_warn():
    new = eva(R2, REF2, 0.1, n_rounds=2, n_solver_steps=3, creator="uniform")
    with pytest.warns(DeprecationWarning, match="'rounds' is deprecated, use 'n_rounds'"):
        old = eva(R2, REF2, 0.1, rounds=2, n_solver_steps=3, creator="uniform")
    with pytest.warns(DeprecationWarning, match="'solver_steps' is deprecated"):
        eva(R2, REF2, 0.1, n_rounds=2, solver_steps=3, creator="uniform")
    np.testing.assert_array_equal(old.policy, new.policy)
    assert new.converged and new.iterations == 6


def test_kl_regularized_gradient_public_form():
    from prefrl.curriculum import kl_regularized_gradient

    theta = np.array([[0.3, -0.2, 0.1], [1.0, 0.0, -np.inf]])
    ref = np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    r = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 2.0]])
    g = kl_regularized_gradient(theta, r, ref, 0.5)
    # Uniform weights by default; the -inf logit gets no gradient; rows sum to zero.
    np.testing.assert_allclose(g, kl_regularized_gradient(theta, r, ref, 0.5, [0.5, 0.5]))
    assert g[1, 2] == 0.0
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-15)
    # Against central differences of the objective it differentiates.
    def J(th):
        return float(np.mean(regularized_objective(softmax(th, axis=1), r, ref, 0.5)))
    h = 1e-6
    for idx in [(0, 0), (0, 2), (1, 1)]:
        e = np.zeros_like(theta)
        e[idx] = h
        assert g[idx] == pytest.approx((J(theta + e) - J(theta - e)) / (2 * h), abs=1e-8)
    with pytest.raises(ValueError, match="weights"):
        kl_regularized_gradient(theta, r, ref, 0.5, [1.0, -1.0])
    with pytest.raises(ValueError, match="logits"):
        kl_regularized_gradient(theta[:1], r, ref, 0.5)
