"""Property tests for the core model: preferences, policies, validation."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from prefrl import policies, preferences
from prefrl._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_in_range,
    check_indices,
    check_integer,
    check_positive,
    check_preference_matrix,
    check_stochastic_matrix,
)
from prefrl.proofs_check import core as core_checks
from prefrl.testing.strategies import distributions as prob_vectors

# Multiples of 1e-3: ties and zeros are frequent, subnormal gaps (a tie in float) are not.
finite = st.integers(-10_000, 10_000).map(lambda i: i / 1000)


def distributions(k=None, allow_zeros=True):
    """Probability vectors (length 1-6 unless given), with zeros and ties."""
    sizes = st.integers(1, 6) if k is None else st.just(k)
    return sizes.flatmap(lambda n: prob_vectors(n, zeros=allow_zeros))


@st.composite
def reward_vectors(draw):
    k = draw(st.integers(1, 7))
    # Small integer rewards make ties frequent; floats cover the generic case.
    if draw(st.booleans()):
        return draw(arrays(np.float64, k, elements=st.integers(-2, 2).map(float)))
    return draw(arrays(np.float64, k, elements=finite))


# ---------------------------------------------------------------- preferences


@given(reward_vectors(), st.sampled_from([0.0, 0.3, 1.0, 5.0]))
def test_bradley_terry_is_valid_and_condorcet_is_argmax(r, temperature):
    P = preferences.bradley_terry(r, temperature)
    check_preference_matrix(P)
    assert (
        core_checks.bt_condorcet_winner_is_argmax({"rewards": r, "temperature": temperature}) == 0
    )
    best = np.flatnonzero(r == r.max())
    if best.size > 1:
        assert preferences.condorcet_winner(P) is None


def test_bt_condorcet_check_can_fail():
    # Lowest reward declared the winner: the check must report a violation.
    inst = {"rewards": np.array([0.0, 1.0]), "temperature": 1.0}
    assert core_checks.bt_condorcet_winner_is_argmax(inst) == 0
    import prefrl.preferences as prefs

    original = prefs.condorcet_winner
    try:
        core_checks.condorcet_winner = lambda P: 0
        assert core_checks.bt_condorcet_winner_is_argmax(inst) == 1
    finally:
        core_checks.condorcet_winner = original


@given(reward_vectors())
def test_bradley_terry_matches_logistic_formula(r):
    P = preferences.bradley_terry(r)
    i, j = 0, len(r) - 1
    np.testing.assert_allclose(P[i, j], 1 / (1 + np.exp(-(r[i] - r[j]))), rtol=1e-12)


@given(reward_vectors(), st.floats(0.1, 5))
def test_thurstone_valid_and_ordered_like_rewards(r, noise):
    P = preferences.thurstone(r, noise)
    check_preference_matrix(P)
    diff = r[:, None] - r[None, :]
    assert np.all(P[diff > 1e-9] > 0.5)
    assert np.all(P[diff == 0] == 0.5)
    assert np.all(P[diff >= 0] >= 0.5)


@given(st.integers(1, 4), st.integers(2, 5), st.data())
def test_mixture_of_bt_is_valid_and_linear(m, k, data):
    R = data.draw(arrays(np.float64, (m, k), elements=finite))
    w = data.draw(distributions(m))
    P = preferences.mixture_of_bradley_terry(R, w)
    check_preference_matrix(P)
    np.testing.assert_allclose(P, sum(w[i] * preferences.bradley_terry(R[i]) for i in range(m)))


@given(st.sampled_from([3, 5, 7]), st.floats(0.01, 0.5))
def test_rock_paper_scissors_balanced_and_no_condorcet(n, margin):
    P = preferences.rock_paper_scissors(n, margin)
    check_preference_matrix(P)
    assert preferences.condorcet_winner(P) is None
    # Every item beats half the others: the uniform policy is unexploitable.
    np.testing.assert_allclose(P @ np.full(n, 1 / n), 0.5)
    np.testing.assert_allclose(preferences.copeland_scores(P), (n - 1) / 2)


@given(st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_random_generators_are_valid(n, seed):
    check_preference_matrix(preferences.random_tournament(n, seed))
    check_preference_matrix(preferences.random_preference_matrix(n, seed))


def test_social_choice_scores_on_a_worked_example():
    P = np.array([[0.5, 0.9, 0.6], [0.1, 0.5, 0.5], [0.4, 0.5, 0.5]])
    assert preferences.condorcet_winner(P) == 0
    np.testing.assert_allclose(preferences.copeland_scores(P), [2.0, 0.5, 0.5])
    np.testing.assert_allclose(preferences.borda_scores(P), [1.5, 0.6, 0.9])
    np.testing.assert_allclose(
        preferences.win_rates(P, [1 / 3] * 3) * 3 - 0.5, preferences.borda_scores(P)
    )


def test_empirical_preferences_converge_to_P():
    rng = np.random.default_rng(0)
    P = preferences.random_preference_matrix(4, rng)
    mu = np.array([0.1, 0.2, 0.3, 0.4])
    w, l = preferences.sample_comparisons(P, mu, 200_000, rng)
    P_hat, counts = preferences.empirical_preferences(w, l, 4)
    # Each pair is seen at least ~ 2 * 0.1 * 0.2 * n = 8000 times: standard error < 0.006.
    assert counts[np.triu_indices(4, 1)].min() > 7000
    np.testing.assert_allclose(P_hat, P, atol=0.03)
    check_preference_matrix(P_hat)


@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(0, 50))
def test_sample_comparisons_deterministic_and_distinct(seed, k, n):
    P = preferences.bradley_terry(np.arange(k, dtype=float), temperature=0)
    w, l = preferences.sample_comparisons(P, np.full(k, 1 / k), n, seed, distinct=True)
    assert w.shape == l.shape == (n,)
    assert np.all(w > l)  # deterministic preferences: the higher reward always wins
    w2, l2 = preferences.sample_comparisons(P, np.full(k, 1 / k), n, seed, distinct=True)
    assert np.array_equal(w, w2) and np.array_equal(l, l2)


def test_sample_comparisons_respects_zero_mass():
    P = preferences.random_preference_matrix(3, 0)
    w, l = preferences.sample_comparisons(P, [0.5, 0.5, 0.0], 500, 1)
    assert not np.any(w == 2) and not np.any(l == 2)
    with pytest.raises(ValueError, match="mu"):
        preferences.sample_comparisons(P, [1.0, 0.0, 0.0], 3, 1, distinct=True)


def test_plackett_luce_sampling_matches_likelihood():
    rng = np.random.default_rng(3)
    r = np.array([1.0, 0.0, -0.5])
    ranks = preferences.plackett_luce_sample(r, 60_000, rng)
    perms, counts = np.unique(ranks, axis=0, return_counts=True)
    probs = np.exp(preferences.plackett_luce_log_likelihood(perms, r))
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(counts / counts.sum(), probs, atol=0.01)
    # First place follows the softmax of the rewards (Luce's choice axiom).
    first = np.bincount(ranks[:, 0], minlength=3) / len(ranks)
    np.testing.assert_allclose(first, policies.softmax(r), atol=0.01)


# ---------------------------------------------------------------- policies


@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e4, 1e4)))
def test_softmax_is_a_distribution_even_for_huge_logits(z):
    p = policies.softmax(z)
    check_distribution(p, "p")
    np.testing.assert_allclose(
        np.log(np.maximum(p, 1e-300)),
        np.maximum(policies.log_softmax(z), np.log(1e-300)),
        atol=1e-9,
    )


@given(distributions(), st.data())
def test_kl_nonnegative_and_zero_iff_equal(p, data):
    q = data.draw(distributions(len(p)))
    d = policies.kl(p, q)
    assert d >= 0
    assert policies.kl(p, p) == 0
    if d == 0:
        assert np.allclose(p, q, atol=1e-6)
    assert core_checks.kl_nonnegative_zero_iff_equal({"p": p, "q": q}) == 0


def test_kl_and_entropy_values():
    assert policies.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2))
    assert policies.kl([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert policies.entropy([0.25] * 4) == pytest.approx(np.log(4))
    assert policies.entropy([1.0, 0.0]) == 0.0
    np.testing.assert_allclose(policies.kl(np.eye(2), [[0.5, 0.5], [0.5, 0.5]]), [np.log(2)] * 2)


@given(distributions(), st.data(), st.floats(1e-2, 1e2))
def test_gibbs_beats_every_other_policy(pi_ref, data, beta):
    k = len(pi_ref)
    f = data.draw(arrays(np.float64, k, elements=finite))
    star = policies.gibbs(pi_ref, f, beta)
    j_star = policies.regularized_objective(star, f, pi_ref, beta)
    assert j_star == pytest.approx(policies.soft_value(pi_ref, f, beta), rel=1e-9, abs=1e-9)
    # Random competitors (absolutely continuous w.r.t. pi_ref, else KL is infinite).
    for _ in range(3):
        other = data.draw(distributions(k)) * (pi_ref > 0)
        assume(other.sum() > 0)
        other = other / other.sum()
        assert policies.regularized_objective(other, f, pi_ref, beta) <= j_star + 1e-9 * (
            1 + abs(j_star)
        )
    # A numerical optimiser over the softmax parameterisation does not beat it either.
    sup = pi_ref > 0

    def neg(z):
        logits = np.full(k, -np.inf)
        logits[sup] = z
        return -policies.regularized_objective(policies.softmax(logits), f, pi_ref, beta)

    res = minimize(neg, np.zeros(sup.sum()), method="BFGS")
    assert -res.fun <= j_star + 1e-7 * (1 + abs(j_star))
    assert np.all(star[pi_ref == 0] == 0)


@given(distributions(allow_zeros=False), st.data())
def test_gibbs_is_invariant_to_constant_shifts_and_tends_to_argmax(pi_ref, data):
    k = len(pi_ref)
    f = data.draw(arrays(np.float64, k, elements=finite))
    c = data.draw(finite)
    np.testing.assert_allclose(
        policies.gibbs(pi_ref, f, 0.7), policies.gibbs(pi_ref, f + c, 0.7), atol=1e-12
    )
    np.testing.assert_allclose(policies.gibbs(pi_ref, f, 1e6), pi_ref, atol=1e-4)
    greedy = policies.gibbs(pi_ref, f, 1e-6)
    assert greedy[f == f.max()].sum() == pytest.approx(1.0)


def test_gibbs_contextual_rows():
    pi_ref = np.array([[0.5, 0.5], [0.2, 0.8]])
    f = np.array([[1.0, 0.0], [0.0, 0.0]])
    out = policies.gibbs(pi_ref, f, 1.0)
    np.testing.assert_allclose(out[1], pi_ref[1])
    np.testing.assert_allclose(out[0], policies.gibbs(pi_ref[0], f[0], 1.0))


@given(st.integers(2, 6), st.integers(1, 3), st.data())
def test_log_linear_score_matches_finite_differences(k, d, data):
    phi = data.draw(arrays(np.float64, (k, d), elements=st.floats(-3, 3)))
    theta = data.draw(arrays(np.float64, d, elements=st.floats(-2, 2)))
    cls = policies.LogLinearPolicy(phi)
    g = cls.score(theta)
    eps = 1e-6
    for j in range(d):
        e = np.zeros(d)
        e[j] = eps
        fd = (cls.log_probs(theta + e) - cls.log_probs(theta - e)) / (2 * eps)
        np.testing.assert_allclose(g[:, j], fd, atol=1e-6)
    tab = policies.LogLinearPolicy(np.eye(k))
    np.testing.assert_allclose(tab.probs(np.zeros(k)), np.full(k, 1 / k))


# ---------------------------------------------------------------- validation

bad_values = st.sampled_from([np.nan, np.inf, -np.inf])


@given(st.integers(2, 5), st.data())
def test_preference_validation_errors_fire(k, data):
    P = preferences.random_preference_matrix(k, data.draw(st.integers(0, 1000)))
    i = data.draw(st.integers(0, k - 1))
    j = data.draw(st.integers(0, k - 1).filter(lambda x: x != i))
    bad = P.copy()
    bad[i, j] = data.draw(bad_values)
    with pytest.raises(ValueError, match=r"P\[\d+, \d+\]"):
        check_preference_matrix(bad)
    bad = P.copy()
    bad[i, j] = bad[i, j] + data.draw(st.floats(0.01, 0.4)) * (1 if bad[i, j] < 0.5 else -1)
    with pytest.raises(
        ValueError,
        match=rf"P\[{max(i, j)}, {min(i, j)}\] \+ P\[{min(i, j)}, {max(i, j)}\] = .*must be 1",
    ):
        check_preference_matrix(bad)
    bad = P.copy()
    bad[i, j] = -data.draw(st.floats(0.01, 2))
    with pytest.raises(ValueError, match="must be in \\[0, 1\\]"):
        check_preference_matrix(bad)
    with pytest.raises(ValueError, match="square"):
        check_preference_matrix(P[:, :-1])
    bad = P.copy()
    bad[i, i] = 0.4
    with pytest.raises(ValueError, match=f"P\\[{i}, {i}\\] = 0.4, must be 0.5"):
        check_preference_matrix(bad)


def test_error_message_of_the_issue():
    P = np.full((3, 3), 0.5)
    P[2, 0], P[0, 2] = 0.8, 0.5
    with pytest.raises(ValueError, match=r"P\[2, 0\] \+ P\[0, 2\] = 1.3, must be 1"):
        check_preference_matrix(P)


@given(st.integers(1, 6), st.data())
def test_distribution_validation_errors_fire(k, data):
    p = data.draw(distributions(k))
    i = data.draw(st.integers(0, k - 1))
    bad = p.copy()
    bad[i] = data.draw(bad_values)
    with pytest.raises(ValueError, match=rf"mu\[{i}\] is"):
        check_distribution(bad, "mu")
    bad = p.copy()
    bad[i] = -0.5
    with pytest.raises(ValueError, match=rf"mu\[{i}\] = -0.5, must be >= 0"):
        check_distribution(bad, "mu")
    with pytest.raises(ValueError, match="sums to"):
        check_distribution(p * 1.5, "mu")
    with pytest.raises(ValueError, match="dimension"):
        check_distribution(p[None], "mu")


def test_scalar_and_misc_validation():
    with pytest.raises(ValueError, match="beta must be > 0"):
        check_positive(-1.0, "beta")
    with pytest.raises(ValueError, match="beta must be finite"):
        check_positive(np.nan, "beta")
    with pytest.raises(TypeError, match="beta"):
        check_positive("1", "beta")
    with pytest.raises(TypeError, match="beta"):
        check_positive(True, "beta")
    with pytest.raises(ValueError, match="eps"):
        check_in_range(1.5, "eps", 0, 1)
    with pytest.raises(TypeError, match="n must be an integer"):
        check_integer(1.5, "n")
    with pytest.raises(ValueError, match="winners"):
        check_indices([0, -1], "winners", 3)
    with pytest.raises(TypeError, match="winners"):
        check_indices([0.5], "winners", 3)
    with pytest.raises(ValueError, match=r"policy\[1, :\] sums to"):
        check_stochastic_matrix([[1.0, 0.0], [0.3, 0.3]], "policy")
    with pytest.raises(ValueError, match="empty"):
        check_array([], "x")
    with pytest.raises(ValueError, match="shape"):
        check_array(np.zeros((2, 3)), "x", shape=(2, 2))
    with pytest.raises(ValueError, match="rng"):
        as_rng(None)
    with pytest.raises(TypeError, match="rng"):
        as_rng("seed")
    with pytest.raises(ValueError, match="beta"):
        policies.gibbs([0.5, 0.5], [1.0, 0.0], beta=0.0)
    with pytest.raises(ValueError, match="pi_ref"):
        policies.gibbs([0.5, 0.6], [1.0, 0.0], beta=1.0)
    with pytest.raises(ValueError, match="temperature"):
        preferences.bradley_terry([1.0, 2.0], temperature=-1)
    with pytest.raises(ValueError, match="n must be odd"):
        preferences.rock_paper_scissors(4)
    with pytest.raises(ValueError, match="rankings"):
        preferences.plackett_luce_log_likelihood([[0, 0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="losers"):
        preferences.empirical_preferences([0], [5], 3)


def test_the_old_sample_count_keyword_still_works_and_warns():
    P = preferences.bradley_terry([1.0, 0.0])
    with pytest.warns(DeprecationWarning, match="'n' is deprecated, use 'n_samples'"):
        old = preferences.sample_comparisons(P, [0.5, 0.5], n=5, rng=3)
    new = preferences.sample_comparisons(P, [0.5, 0.5], n_samples=5, rng=3)
    np.testing.assert_array_equal(old.winners, new.winners)
    with pytest.warns(DeprecationWarning, match="'n' is deprecated, use 'n_samples'"):
        ranks = preferences.plackett_luce_sample([1.0, 0.0], n=4, rng=0)
    np.testing.assert_array_equal(ranks, preferences.plackett_luce_sample([1.0, 0.0], 4, 0))
