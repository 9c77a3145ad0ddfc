"""Length bias of token aggregation and the P3O invariance (prefrl.pg_theory._length, _pairwise).

Property tests of the identities of proofs_check/pg_length.py on hypothesis-drawn instances,
Monte Carlo agreement of the exact expectations with fixed seeds, validation and float32.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prefrl.losses import aggregate, value_and_grad
from prefrl.pg_theory import (
    expected_length_drift,
    expected_length_update,
    expected_pairwise_update,
    expected_ppo_update,
    length_drift_sign_flip,
    length_trajectory,
    length_weights,
    pairwise_update,
    ppo_sample_updates,
    relative_feedback_training,
)
from prefrl.policies import gibbs, softmax
from prefrl.proofs_check import pg_length as checks

MODES = checks.MODES


@st.composite
def length_instances(draw):
    K = draw(st.integers(2, 4))
    mode = draw(st.sampled_from(MODES))
    return {
        "lengths": np.array(draw(st.lists(st.integers(1, 9), min_size=K, max_size=K)), float),
        "theta": draw(arrays(np.float64, K, elements=st.floats(-4, 4))),
        "advantages": draw(arrays(np.float64, K, elements=st.floats(-3, 3) | st.just(0.0))),
        "mode": mode,
        "group_size": draw(st.integers(1, 3))
        if mode == "token-sum"
        else draw(st.none() | st.integers(1, 3)),
        "horizon": draw(st.none() | st.floats(1, 20)),
    }


@settings(max_examples=40)
@given(length_instances())
def test_drift_is_the_derivative_and_matches_enumeration(inst):
    assert checks.drift_equals_finite_difference(inst) <= 1e-6
    assert checks.token_mean_weight_by_enumeration(inst) <= 1e-12
    assert checks.constant_horizon_zero_drift(inst) <= 1e-14
    assert checks.natural_drift_never_flips(inst) <= 1e-15


@settings(max_examples=40)
@given(st.integers(2, 5), st.integers(1, 30), st.integers(1, 30), st.data())
def test_two_length_sign_rule(K, a, b, data):
    if a == b:
        b = a + 1
    L = np.array(
        [a, b, *data.draw(st.lists(st.sampled_from([a, b]), min_size=K - 2, max_size=K - 2))], float
    )
    inst = {
        "lengths": L,
        "theta": data.draw(arrays(np.float64, K, elements=st.floats(-4, 4))),
        "A": data.draw(st.sampled_from([-2.0, -1.0, 0.5, 3.0])),
        "group_size": data.draw(st.integers(2, 4)),
    }
    assert checks.two_length_sign_rule(inst) == 0.0


@settings(max_examples=30)
@given(st.integers(1, 3), st.integers(2, 4), st.data())
def test_p3o_identities(n, K, data):
    inst = {
        "theta": data.draw(arrays(np.float64, (n, K), elements=st.floats(-5, 5))),
        "rewards": data.draw(arrays(np.float64, (n, K), elements=st.floats(-10, 10))),
        "shift": data.draw(arrays(np.float64, n, elements=st.floats(-1e3, 1e3))),
        "mu": softmax(data.draw(arrays(np.float64, n, elements=st.floats(-2, 2)))),
    }
    assert checks.p3o_per_sample_invariance(inst) <= 1e-12
    assert checks.p3o_expected_twice_reinforce(inst) <= 1e-12


def test_two_lengths_closed_form():
    # one response per length: drift = 2 p^2 (1-p)^2 (L2 - L1)(u2 - u1)
    for p in (0.1, 0.5, 0.8):
        d = expected_length_drift([3, 7], [1 - p, p], [-1.0, -1.0], "seq-mean-token-mean")
        assert d == pytest.approx(2 * p**2 * (1 - p) ** 2 * 4 * (-1 / 7 + 1 / 3), rel=1e-12)


def test_monte_carlo_token_mean_through_aggregate():
    """Sample groups, differentiate prefrl.losses.aggregate, compare with the exact update."""
    rng = np.random.default_rng(0)
    L, pi, A, G = np.array([1, 3, 6]), np.array([0.5, 0.3, 0.2]), np.array([-1.0, 0.5, 2.0]), 3
    total, n = np.zeros(3), 20000
    for _ in range(n):
        ys = rng.choice(3, size=G, p=pi)
        mask = (np.arange(6)[None, :] < L[ys][:, None]).astype(float)
        _, (W, _) = value_and_grad("aggregate", np.zeros((G, 6)), mask, mode="token-mean")
        per_seq = W[:, 0]  # d loss / d (token loss), constant along a row
        total += ((per_seq * A[ys])[:, None] * (np.eye(3)[ys] - pi)).sum(axis=0)
    exact = expected_length_update(L, pi, A, "token-mean", group_size=G)
    assert np.allclose(total / n, exact, atol=4e-3)
    assert float(aggregate(np.ones((1, 2)), [[1, 1]])) == 1.0


def test_monte_carlo_ppo_and_pairwise():
    rng = np.random.default_rng(1)
    th_old = rng.normal(size=(2, 3))
    th = th_old + 0.5 * rng.normal(size=(2, 3))
    A = rng.normal(size=(2, 3))
    U = ppo_sample_updates(th, th_old, A)
    p_old = softmax(th_old, axis=-1)
    n = 40000
    mc = np.zeros((2, 3))
    for x in range(2):
        ys = rng.choice(3, size=n, p=p_old[x])
        mc[x] = 0.5 * U[x, ys].mean(axis=0)
    assert np.allclose(mc, expected_ppo_update(th, th_old, A), atol=1e-2)
    pairs = [(rng.choice(3, p=softmax(th[0])), rng.choice(3, p=softmax(th[0]))) for _ in range(n)]
    pw = np.mean([pairwise_update(th[0], A[0], y, yp) for y, yp in pairs], axis=0)
    assert np.allclose(pw, expected_pairwise_update(th[0], A[0]), atol=2e-2)


def test_ppo_at_the_old_policy_is_reinforce():
    th, A = np.array([[0.3, -0.2, 1.0]]), np.array([[1.0, -2.0, 0.5]])
    U = ppo_sample_updates(th, th, A)
    pi = softmax(th[0])
    assert np.allclose(U[0], A[0][:, None] * (np.eye(3) - pi), atol=1e-15)


def test_trajectories_and_flip():
    res = length_trajectory(
        [2, 5, 9], [0.0, 0.0, 0.0], [-1.0] * 3, "seq-mean-token-mean", lr=5.0, n_steps=20
    )
    assert np.all(np.diff(res.mean_lengths) > 0) and res.policies.shape == (21, 3)
    flip = length_drift_sign_flip([1, 10, 100], n_grid=20)
    assert flip.flips and flip.harmonic_mean < 10 < flip.mean_length
    assert expected_length_drift([1, 10, 100], flip.policy, [-1.0] * 3, "seq-mean-token-mean") < 0
    assert not length_drift_sign_flip([1, 2, 3], n_grid=20).flips


def test_training_converges_to_gibbs_and_p3o_is_shift_invariant():
    r, ref = np.array([[1.0, 0.0, 0.5]]), np.array([[0.2, 0.5, 0.3]])
    a = relative_feedback_training(r, ref, "p3o", beta=0.5, lr=2.0, n_steps=400)
    assert np.allclose(a.policy, gibbs(ref, r, 0.5), atol=1e-8)
    b = relative_feedback_training(r + 7.0, ref, "ppo", beta=0.5, lr=1.0, n_steps=400, n_epochs=2)
    assert np.allclose(b.policy, gibbs(ref, r, 0.5), atol=1e-6)
    s1, s2 = (
        relative_feedback_training(
            r + c, ref, "p3o", beta=0.1, lr=1.0, n_steps=20, n_samples=3, rng=5
        )
        for c in (0.0, 9.0)
    )
    assert np.allclose(s1.policies, s2.policies, atol=1e-12)


@pytest.mark.parametrize(
    "call, name, exc",
    [
        (lambda: length_weights([0, 2], [0.5, 0.5], "token-mean"), "lengths", ValueError),
        (lambda: length_weights([1.5, 2], [0.5, 0.5], "token-mean"), "lengths", ValueError),
        (lambda: length_weights([1, 2], [0.5, 0.6], "token-mean"), "probs", ValueError),
        (lambda: length_weights([1, 2], [0.5, 0.5], "tokens"), "mode", ValueError),
        (lambda: length_weights([1, 2], [0.5, 0.5], "token-sum"), "group_size", ValueError),
        (
            lambda: length_weights([1, 2], [0.5, 0.5], "token-mean", group_size=True),
            "group_size",
            TypeError,
        ),
        (
            lambda: length_weights([1, 2], [0.5, 0.5], "seq-mean-token-sum-norm", horizon=np.nan),
            "horizon",
            ValueError,
        ),
        (lambda: length_weights("ab", [0.5, 0.5], "token-mean"), "lengths", TypeError),
        (
            lambda: expected_length_update([1, 2], [0.5, 0.5], [np.nan, 1.0], "token-mean"),
            "advantages",
            ValueError,
        ),
        (
            lambda: expected_length_update([1, 2], [0.5, 0.5], [1j, 1.0], "token-mean"),
            "advantages",
            TypeError,
        ),
        (
            lambda: expected_length_drift(
                [1, 2], [0.5, 0.5], [1.0, 1.0], "token-mean", geometry="x"
            ),
            "geometry",
            ValueError,
        ),
        (lambda: length_drift_sign_flip([1, 2]), "lengths", ValueError),
        (
            lambda: length_trajectory(
                [1, 2], [0.0, 0.0], [1.0, 1.0], "token-mean", lr=-1.0, n_steps=2
            ),
            "lr",
            ValueError,
        ),
        (
            lambda: length_trajectory(
                [1, 2], [0.0, 0.0], [1.0, 1.0], "token-mean", lr=1.0, n_steps=2, baseline="x"
            ),
            "baseline",
            ValueError,
        ),
        (lambda: pairwise_update([0.0, 0.0], [1.0, 0.0], 0, 2), "y_prime", ValueError),
        (lambda: pairwise_update([[0.0, 0.0]], [1.0, 0.0], 0, 1), "rewards", ValueError),
        (
            lambda: pairwise_update([[0.0, 0.0]], [[1.0, 0.0]], 0, 1, context=1),
            "context",
            ValueError,
        ),
        (lambda: expected_pairwise_update([[0.0, 0.0]], [[np.inf, 0.0]]), "rewards", ValueError),
        (lambda: expected_ppo_update([0.0, 0.0], [0.0], [1.0, 0.0]), "theta_old", ValueError),
        (
            lambda: ppo_sample_updates([0.0, 0.0], [0.0, 0.0], [1.0, 0.0], clip_low=2.0),
            "clip_low",
            ValueError,
        ),
        (
            lambda: relative_feedback_training(
                [[1.0, 0.0]], [[0.5, 0.5]], "p3o", beta=0.1, lr=1.0, n_steps=2, n_samples=2
            ),
            "rng",
            ValueError,
        ),
        (
            lambda: relative_feedback_training(
                [[1.0, 0.0]], [[0.5, 0.5]], "dpo", beta=0.1, lr=1.0, n_steps=2
            ),
            "method",
            ValueError,
        ),
        (
            lambda: relative_feedback_training(
                [[1.0, 0.0]], [[1.0, 0.0]], "p3o", beta=0.1, lr=1.0, n_steps=2
            ),
            "pi_ref",
            ValueError,
        ),
    ],
)
def test_validation_names_the_argument(call, name, exc):
    with pytest.raises(exc, match=name):
        call()


def test_float32_agrees_with_float64():
    L = np.array([3, 5, 11])
    pi = np.array([0.2, 0.5, 0.3])
    A = np.array([-1.0, 0.3, 2.0])
    for mode in MODES:
        g = 2 if mode == "token-sum" else None
        d64 = expected_length_drift(L, pi, A, mode, group_size=g)
        d32 = expected_length_drift(
            L.astype(np.float32), pi.astype(np.float32), A.astype(np.float32), mode, group_size=g
        )
        assert d32 == pytest.approx(d64, rel=1e-5, abs=1e-7)
    th, r = np.array([[0.1, -0.4, 0.9]]), np.array([[1.0, 0.2, -0.5]])
    assert np.allclose(
        expected_pairwise_update(th.astype(np.float32), r.astype(np.float32)),
        expected_pairwise_update(th, r),
        atol=1e-6,
    )
    assert np.allclose(
        expected_ppo_update(th.astype(np.float32), th, r.astype(np.float32)),
        expected_ppo_update(th, th, r),
        atol=1e-6,
    )
