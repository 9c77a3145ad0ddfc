"""The dtype policy: low-precision input accepted with a tolerance scaled to its precision,
results in float64; complex, boolean and string input refused with a TypeError naming the
argument; messages show the violation; softmax normalised for any finite logits."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl import policies, preferences
from prefrl._validation import (
    check_array,
    check_distribution,
    check_preference_matrix,
    check_stochastic_matrix,
)
from prefrl.mdp import TabularMDP, softmax_policy


def _normalised(x, dtype):
    x = np.asarray(x, dtype=dtype)
    return x / x.sum(axis=-1, keepdims=True)


@given(hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(1e-3, 1.0)),
       st.sampled_from([np.float16, np.float32, np.float64]))
def test_low_precision_distributions_are_accepted_and_renormalised(w, dtype):
    p = _normalised(w, dtype)
    out = check_distribution(p, "mu")
    assert out.dtype == np.float64
    assert abs(out.sum() - 1.0) <= 1e-12
    np.testing.assert_allclose(out, p.astype(np.float64), rtol=4 * np.finfo(dtype).eps * len(w))


def test_float32_policies_and_preference_matrices_work_like_float64():
    rng = np.random.default_rng(0)
    pi = _normalised(rng.random((4, 3)), np.float32)
    assert check_stochastic_matrix(pi, "policy").dtype == np.float64
    P64 = preferences.bradley_terry(rng.normal(size=5))
    P32 = P64.astype(np.float32)
    out = check_preference_matrix(P32)
    np.testing.assert_allclose(out + out.T, 1.0, atol=1e-15)
    np.testing.assert_allclose(out, P64, atol=1e-6)
    w64 = preferences.win_rates(P64, np.full(5, 0.2))
    w32 = preferences.win_rates(P32, np.full(5, 0.2, dtype=np.float32))
    np.testing.assert_allclose(w32, w64, atol=1e-6)


def test_bfloat16_and_float16_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    for dtype in (torch.bfloat16, torch.float16):
        p = torch.tensor([0.1, 0.2, 0.7], dtype=dtype)
        out = check_distribution(p, "mu")
        assert out.dtype == np.float64 and abs(out.sum() - 1) < 1e-12


def test_float64_input_keeps_its_tight_tolerance():
    with pytest.raises(ValueError, match=r"mu sums to 1\.0000001, must sum to 1"):
        check_distribution([0.5, 0.5000001], "mu")
    # the same violation is within float32's precision... but not 1e-3
    check_distribution(np.array([0.5, 0.5000001], dtype=np.float32), "mu")
    with pytest.raises(ValueError, match="must sum to 1"):
        check_distribution(np.array([0.5, 0.501], dtype=np.float32), "mu")


def test_messages_print_enough_digits_to_show_the_violation():
    with pytest.raises(ValueError, match=r"sums to 1\.0000001, must sum to 1"):
        check_distribution([0.5, 0.50000005], "mu")
    with pytest.raises(ValueError, match=r"P\[1, 0\] \+ P\[0, 1\] = 1\.0000001"):
        check_preference_matrix([[0.5, 0.7], [0.3000001, 0.5]])


@pytest.mark.parametrize("bad, kind", [
    ([1 + 1j, 2.0], "complex"),
    (np.array([True, False]), "booleans"),
    (["0.5", "0.5"], "numbers"),
    ("0.5", "numbers"),
    ([[1.0, 2.0], [3.0]], "ragged"),
    (np.array([None, 1.0], dtype=object), "numbers"),
])
def test_non_real_input_is_a_type_error_naming_the_argument(bad, kind):
    with pytest.raises(TypeError, match=f"logits.*{kind}"):
        check_array(bad, "logits")
    with pytest.raises(TypeError, match="logits"):
        policies.softmax(bad)


@given(hnp.arrays(np.float64, st.integers(1, 8),
                  elements=st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)))
def test_softmax_is_normalised_for_any_finite_logits(z):
    p = policies.softmax(z)
    assert np.all(p >= 0) and abs(p.sum() - 1.0) <= 1e-12
    assert p[np.argmax(z)] >= 1.0 / len(z) - 1e-15
    np.testing.assert_allclose(np.exp(policies.log_softmax(z)), p, atol=1e-15)
    logits = np.log(np.full(len(z), 1.0 / len(z)))  # shifting the logits changes nothing
    np.testing.assert_allclose(policies.softmax(z + 1.0 * (np.abs(z).max() < 1e299)), p,
                               atol=1e-12)
    del logits


def test_huge_equal_logits_split_the_mass():
    np.testing.assert_array_equal(policies.softmax([1e17, 1e17, 0.0]), [0.5, 0.5, 0.0])
    mdp = TabularMDP(np.ones((1, 3, 1)), [[1.0, 0.0, 0.0]], gamma=0.5)
    np.testing.assert_allclose(softmax_policy(mdp, [[1e17, 1e17, 0.0]]), [[0.5, 0.5, 0.0]])
    pol = policies.LogLinearPolicy(np.eye(3), np.full(3, 1 / 3))
    np.testing.assert_allclose(pol.probs([1e17, 1e17, 0.0]), [0.5, 0.5, 0.0])


def test_gibbs_overflow_is_a_value_error_not_nan():
    with pytest.raises(ValueError, match="overflows"):
        policies.gibbs([0.5, 0.5], [1e300, 0.0], beta=1e-10)


def test_tabular_mdp_owns_read_only_copies_of_its_arrays():
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1
    P[:, 1, 1] = 1
    R = np.array([[0.0, 1.0], [0.0, 1.0]])
    mu = np.array([0.5, 0.5])
    mdp = TabularMDP(P, R, gamma=0.5, initial=mu)
    before = mdp.solve().values.copy()
    R[0, 1], P[0, 0] = 100.0, [0.0, 1.0]
    mu[:] = [1.0, 0.0]
    np.testing.assert_array_equal(mdp.solve().values, before)
    np.testing.assert_array_equal(mdp.initial, [0.5, 0.5])
    for arr in (mdp.initial, mdp.expected_rewards):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0


def test_log_linear_policy_owns_read_only_copies_of_its_arrays():
    phi = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    ref = np.array([0.2, 0.3, 0.5])
    policy = policies.LogLinearPolicy(phi, ref)
    before = policy.probs([0.5, -1.0])
    phi[0, 0], ref[:] = 50.0, [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(policy.probs([0.5, -1.0]), before)
    for arr in (policy.features, policy.pi_ref):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
