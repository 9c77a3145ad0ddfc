"""Reward learning from segment comparisons: features, the preference model, label sampling, the
maximum-likelihood fit (existence, identifiability, first-order conditions) and the theorem
checks of proofs_check.reward_learning on hypothesis-drawn instances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl.proofs_check.reward_learning import (
    constant_shift_unidentifiable,
    nll_convex_and_gradient_exact,
    population_recovery,
    shaping_visible_to_segments,
)
from prefrl.restricted import linear_bt_mle_dataset
from prefrl.reward_learning import (
    fit_segment_reward,
    sample_segment_labels,
    segment_features,
    segment_preference_loss,
    segment_preference_probability,
    segment_returns,
)

_reward_entries = st.one_of(st.sampled_from([-1.0, 0.0, 1.0]), st.floats(-1.0, 1.0))


@st.composite
def segment_pairs(draw, equal_lengths=None, max_n=6):
    """S, A, n pairs of segments (lists of (L, 2) int arrays), a reward and a discount; partners
    are sometimes copies or reorderings (zero feature difference)."""
    S, A = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    n = draw(st.integers(1, max_n))
    same = draw(st.booleans()) if equal_lengths is None else equal_lengths
    L0 = draw(st.integers(1, 4))

    def seg(L):
        states = draw(hnp.arrays(np.int64, L, elements=st.integers(0, S - 1)))
        actions = draw(hnp.arrays(np.int64, L, elements=st.integers(0, A - 1)))
        return np.stack([states, actions], axis=1)

    seg_a, seg_b = [], []
    for _ in range(n):
        a = seg(L0 if same else draw(st.integers(1, 4)))
        kind = draw(st.sampled_from(["other", "other", "other", "copy", "reversed"]))
        b = a.copy() if kind == "copy" else a[::-1].copy() if kind == "reversed" else seg(
            L0 if same else draw(st.integers(1, 4)))
        seg_a.append(a)
        seg_b.append(b)
    reward = draw(hnp.arrays(np.float64, (S, A), elements=_reward_entries))
    gamma = draw(st.sampled_from([1.0, 0.9, 0.5]))
    return {"S": S, "A": A, "seg_a": seg_a, "seg_b": seg_b, "reward": reward, "gamma": gamma}


def _slow_features(segs, S, A, gamma):
    out = np.zeros((len(segs), S * A))
    for i, seg in enumerate(segs):
        for t, (s, a) in enumerate(seg):
            out[i, s * A + a] += gamma**t
    return out


@given(inst=segment_pairs())
def test_features_and_returns_match_a_loop(inst):
    S, A, g, r = inst["S"], inst["A"], inst["gamma"], inst["reward"]
    segs = inst["seg_a"] + inst["seg_b"]
    phi = segment_features(segs, S, A, gamma=g)
    np.testing.assert_allclose(phi, _slow_features(segs, S, A, g), rtol=1e-15, atol=0)
    direct = [sum(g**t * r[s, a] for t, (s, a) in enumerate(seg)) for seg in segs]
    np.testing.assert_allclose(segment_returns(r, segs, gamma=g), direct, rtol=1e-12, atol=1e-12)
    if len({len(s) for s in segs}) == 1:  # the (n, L, 2) array form gives the same
        np.testing.assert_array_equal(segment_features(np.stack(segs), S, A, gamma=g), phi)


@given(inst=segment_pairs(), T=st.sampled_from([0.0, 0.5, 1.0]), eps=st.sampled_from([0, 0.1, 1]))
def test_preference_probability(inst, T, eps):
    r, a, b, g = inst["reward"], inst["seg_a"], inst["seg_b"], inst["gamma"]
    p = segment_preference_probability(r, a, b, gamma=g, temperature=T, noise=eps)
    q = segment_preference_probability(r, b, a, gamma=g, temperature=T, noise=eps)
    np.testing.assert_allclose(p + q, 1.0, rtol=0, atol=1e-15)
    z = segment_returns(r, a, gamma=g) - segment_returns(r, b, gamma=g)
    base = np.sign(z) / 2 + 0.5 if T == 0 else 1 / (1 + np.exp(-z / T))
    # at T = 0 a return gap within rounding of 0 may be decided either way
    ok = (np.abs(z) > 1e-12) | (T > 0)
    np.testing.assert_allclose(p[ok], (eps / 2 + (1 - eps) * base)[ok], rtol=1e-12, atol=1e-15)
    same = [np.array_equal(x, y) for x, y in zip(a, b)]
    assert np.all(p[same] == 0.5)


def test_label_sampling_frequencies_noise_and_ties():
    r = np.array([[0.0, 1.0, 0.25]])
    a = [np.array([[0, 1]]), np.array([[0, 2]]), np.array([[0, 0]])]
    b = [np.array([[0, 0]]), np.array([[0, 0]]), np.array([[0, 0]])]
    n = 20000
    A_, B_ = a * n, b * n
    for T, eps in ((1.0, 0.0), (1.0, 0.1), (0.5, 0.3)):
        mu = sample_segment_labels(r, A_, B_, rng=1, temperature=T, noise=eps).reshape(n, 3)
        want = segment_preference_probability(r, a, b, temperature=T, noise=eps)
        sd = np.sqrt(want * (1 - want) / n)
        assert np.all(np.abs(mu.mean(axis=0) - want) <= 5 * sd + 1e-12)
        assert set(np.unique(mu)) <= {0.0, 1.0}
    # the synthetic oracle: deterministic, exact ties at 1/2, and a tie tolerance
    np.testing.assert_array_equal(
        sample_segment_labels(r, a, b, rng=0, temperature=0, noise=0.0), [1.0, 1.0, 0.5])
    np.testing.assert_array_equal(
        sample_segment_labels(r, a, b, rng=0, temperature=0, noise=0.0, tie_tolerance=0.3),
        [1.0, 0.5, 0.5])
    # noise = 1: uniform random answers, never ties
    mu = sample_segment_labels(r, A_, B_, rng=2, temperature=0, noise=1.0)
    assert set(np.unique(mu)) == {0.0, 1.0} and abs(mu.mean() - 0.5) < 5 * np.sqrt(0.25 / mu.size)
    # reproducible from a seed
    np.testing.assert_array_equal(sample_segment_labels(r, A_[:30], B_[:30], rng=7),
                                  sample_segment_labels(r, A_[:30], B_[:30], rng=7))


@settings(max_examples=30)
@given(inst=segment_pairs())
def test_population_recovery_theorem(inst):
    assert population_recovery(inst) <= 1e-7


@settings(max_examples=30)
@given(inst=segment_pairs(equal_lengths=True), c=st.sampled_from([-3.0, 0.5, 10.0]))
def test_constant_shift_theorem(inst, c):
    assert constant_shift_unidentifiable({**inst, "shift": c}) <= 1e-9


@settings(max_examples=30)
@given(inst=segment_pairs(),
       labels=st.one_of(hnp.arrays(np.float64, 6, elements=st.sampled_from([0.0, 0.5, 1.0])),
                        hnp.arrays(np.float64, 6, elements=st.floats(0.0, 1.0))),
       point_scale=st.sampled_from([0.0, 0.5, 2.0]), l2=st.sampled_from([0.0, 0.1]))
def test_convexity_theorem(inst, labels, point_scale, l2):
    n = len(inst["seg_a"])
    shape = (inst["S"], inst["A"])
    rng_free_point = np.linspace(-1, 1, shape[0] * shape[1]).reshape(shape)
    direction = np.cos(np.arange(shape[0] * shape[1])).reshape(shape)
    assert nll_convex_and_gradient_exact({**inst, "labels": labels[:n], "l2": l2,
                                          "point": point_scale * rng_free_point,
                                          "direction": direction}) <= 1e-6


@st.composite
def shaping_instances(draw):
    """A deterministic-or-stochastic MDP is irrelevant to the identity: paths are arbitrary
    state-action sequences; half of the partners share both endpoints."""
    S, A = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    phi = draw(st.one_of(hnp.arrays(np.float64, S, elements=st.sampled_from([-1.0, 0.0, 1.0])),
                         hnp.arrays(np.float64, S, elements=st.floats(-3, 3))))
    reward = draw(hnp.arrays(np.float64, (S, A), elements=_reward_entries))

    def path(L):
        return {"states": draw(hnp.arrays(np.int64, L + 1, elements=st.integers(0, S - 1))),
                "actions": draw(hnp.arrays(np.int64, L, elements=st.integers(0, A - 1)))}

    pa, pb = [], []
    for _ in range(draw(st.integers(1, 5))):
        a, b = path(draw(st.integers(1, 5))), path(draw(st.integers(1, 5)))
        if draw(st.booleans()):
            b["states"][0], b["states"][-1] = a["states"][0], a["states"][-1]
        pa.append(a)
        pb.append(b)
    P = np.full((S, A, S), 1.0 / S)
    return {"P": P, "reward": reward, "potential": phi, "paths_a": pa, "paths_b": pb}


@settings(max_examples=40)
@given(inst=shaping_instances())
def test_shaping_theorem(inst):
    assert shaping_visible_to_segments(inst) <= 1e-9


def test_shaping_is_visible_on_a_concrete_pair():
    # two one-step segments from different start states with equal rewards: shaping decides
    r = np.zeros((2, 1))
    inst = {"P": np.full((2, 1, 2), 0.5), "reward": r, "potential": np.array([0.0, 1.0]),
            "paths_a": [{"states": np.array([0, 1]), "actions": np.array([0])}],
            "paths_b": [{"states": np.array([1, 1]), "actions": np.array([0])}]}
    assert shaping_visible_to_segments(inst) == 0.0
    from prefrl.shaping import shape

    R = shape(r, inst["potential"], gamma=1.0)
    assert R[0, 0, 1] - R[1, 0, 1] == 1.0  # a's return rises by Phi(1) - Phi(0) = 1, b's by 0


def test_matches_the_bandit_bt_fit_for_one_step_segments():
    """One-step segments in a one-state MDP are items: the fit is linear_bt_mle_dataset's."""
    winners, losers = np.array([0, 0, 1, 2, 1, 0]), np.array([1, 2, 2, 1, 0, 1])
    a = [np.array([[0, w]]) for w in winners]
    b = [np.array([[0, lo]]) for lo in losers]
    for l2 in (0.0, 0.3):
        fit = fit_segment_reward(a, b, np.ones(6), 1, 3, l2=l2)
        ref = linear_bt_mle_dataset(winners, losers, np.eye(3), l2=l2)
        np.testing.assert_allclose(fit.reward[0], ref.weights, rtol=1e-9, atol=1e-10)
        assert fit.exists and fit.converged == ref.converged
        assert fit.value == pytest.approx(ref.value, rel=1e-12)


@settings(max_examples=30)
@given(inst=segment_pairs(), bits=hnp.arrays(np.int64, 6, elements=st.integers(0, 2)),
       l2=st.sampled_from([0.01, 1.0]))
def test_ridge_fit_first_order_condition(inst, bits, l2):
    a, b, g = inst["seg_a"], inst["seg_b"], inst["gamma"]
    mu = bits[: len(a)] / 2.0
    fit = fit_segment_reward(a, b, mu, inst["S"], inst["A"], l2=l2, gamma=g)
    assert fit.exists and fit.converged
    grad = segment_preference_loss(fit.reward, a, b, mu, gamma=g, l2=l2).gradient
    assert np.abs(grad).max() <= 1e-9
    np.testing.assert_allclose(fit.reward, fit.projected_reward, atol=1e-10)


def test_existence_of_the_mle():
    a, b = [np.array([[0, 1]])], [np.array([[0, 0]])]
    hard = fit_segment_reward(a, b, [1.0], 1, 2)
    assert not hard.exists and not hard.converged  # separable: a beat b always
    assert hard.reward[0, 1] > hard.reward[0, 0]  # ... but the direction is right
    ridge = fit_segment_reward(a, b, [1.0], 1, 2, l2=1.0)
    assert ridge.exists and ridge.converged and np.all(np.isfinite(ridge.reward))
    tie = fit_segment_reward(a, b, [0.5], 1, 2)
    assert tie.exists and np.abs(tie.reward).max() <= 1e-12
    both = fit_segment_reward(a + b, b + a, [1.0, 1.0], 1, 2)  # a beat b and b beat a
    assert both.exists and np.abs(both.reward).max() <= 1e-12
    same = fit_segment_reward(a, a, [1.0], 1, 2)  # nothing identified
    assert same.exists and same.basis.shape == (2, 0) and not same.reward.any()


def test_validation_errors():
    a, b = [np.array([[0, 1]])], [np.array([[0, 0]])]
    with pytest.raises(ValueError, match="seg_a"):
        fit_segment_reward([np.array([[0, 2]])], b, [1.0], 1, 2)
    with pytest.raises(ValueError, match="seg_b"):
        fit_segment_reward(a, [np.array([[3, 0]])], [1.0], 1, 2)
    with pytest.raises(ValueError, match="seg_a and seg_b"):
        fit_segment_reward(a + a, b, [1.0, 1.0], 1, 2)
    with pytest.raises(ValueError, match="labels"):
        fit_segment_reward(a, b, [1.5], 1, 2)
    with pytest.raises(ValueError, match="labels"):
        fit_segment_reward(a, b, [1.0, 0.0], 1, 2)
    with pytest.raises(ValueError, match="l2"):
        fit_segment_reward(a, b, [1.0], 1, 2, l2=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        segment_features(a, 1, 2, gamma=1.5)
    with pytest.raises(ValueError, match="segments"):
        segment_features(np.zeros((2, 3)), 1, 2)
    with pytest.raises(ValueError, match="segments"):
        segment_features([np.zeros((0, 2), dtype=int)], 1, 2)
    with pytest.raises(TypeError, match="integer"):
        segment_features([np.array([[0.5, 0.0]])], 1, 2)
    with pytest.raises(ValueError, match=r"segments\[0, 1, 0\] = 3, must be a state"):
        segment_features(np.array([[[0, 1], [3, 0]]]), 2, 2)
    with pytest.raises(ValueError, match=r"segments\[0\]\[1, 1\] = 5, must be an action"):
        segment_features([np.array([[0, 1], [1, 5]])], 2, 2)
    with pytest.raises(TypeError, match="segments"):
        segment_features("abc", 2, 2)
    with pytest.raises(ValueError, match="n_states"):
        segment_features(a, 0, 2)
    with pytest.raises(ValueError, match="temperature"):
        segment_preference_probability([[0.0, 1.0]], a, b, temperature=-1.0)
    with pytest.raises(ValueError, match="noise"):
        sample_segment_labels([[0.0, 1.0]], a, b, 0, noise=2.0)
    with pytest.raises(ValueError, match="reward"):
        segment_returns([[0.0, np.nan]], a)
    with pytest.raises(ValueError, match="reward"):
        fit_segment_reward(a, b, [1.0], 1, 2).project(np.zeros(3))


def test_sample_segment_labels_requires_rng():
    with pytest.raises(TypeError, match="rng"):
        sample_segment_labels([[0.0, 1.0]], [[[0, 1]]], [[[0, 0]]])
    with pytest.raises(ValueError, match="rng"):
        sample_segment_labels([[0.0, 1.0]], [[[0, 1]]], [[[0, 0]]], None)


def test_results_subclass_the_result_base():
    from prefrl.results import Result

    a, b = [[[0, 1]], [[1, 0]]], [[[0, 0]], [[0, 0]]]
    loss = segment_preference_loss([[0.0, 0.0], [0.0, 0.0]], a, b, [1.0, 0.0])
    fit = fit_segment_reward(a, b, [0.7, 0.4], 2, 2)
    assert isinstance(loss, Result) and isinstance(fit, Result)
    assert fit.converged and fit.certificate <= 1e-8 and "reward" in fit.keys()
