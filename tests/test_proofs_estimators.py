"""The estimator identities of proofs_check/estimators.py on hypothesis-drawn instances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import prefrl.losses as losses
from prefrl.proofs_check import estimators as checks

small = st.integers(-3, 3).map(float) | st.floats(-1e3, 1e3, allow_subnormal=False)


@given(st.integers(1, 4).flatmap(lambda p: st.integers(2, 6).flatmap(
    lambda g: arrays(np.float64, (p, g), elements=small))))
def test_rloo_identity(R):
    assert checks.rloo_leave_one_out_identity({"rewards": R}) <= 1e-12


@settings(max_examples=25)
@given(st.integers(2, 3).flatmap(lambda k: st.tuples(
    arrays(np.float64, k, elements=st.floats(-3, 3)),
    arrays(np.float64, k, elements=st.integers(-1, 1).map(float)),
    st.integers(2, 4))))
def test_rloo_gradient_unbiased(args):
    theta, r, G = args
    assert checks.rloo_gradient_unbiased({"theta": theta, "rewards": r, "group": G}) <= 1e-12


@given(st.integers(1, 3), st.integers(2, 5), st.data())
def test_reinforce_pp_is_whitened_return_to_go(B, T, data):
    low = 1 if B > 1 else 2  # whitening needs two unmasked tokens
    lengths = np.array(data.draw(st.lists(st.integers(low, T), min_size=B, max_size=B)))
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(float)
    rewards = data.draw(arrays(np.float64, (B, T), elements=st.floats(-5, 5))) * mask
    logp = data.draw(arrays(np.float64, (B, T), elements=st.floats(-8, 0)))
    ref = data.draw(arrays(np.float64, (B, T), elements=st.floats(-8, 0)))
    beta = data.draw(st.sampled_from([0.0, 0.1, 1.0]))
    inst = {"rewards": rewards, "mask": mask, "logp": logp, "ref_logp": ref, "beta": beta}
    assert checks.reinforce_pp_return_to_go(inst) <= 1e-9


@given(st.integers(1, 5).flatmap(lambda k: st.tuples(
    arrays(np.float64, k, elements=st.floats(0.01, 1)),
    arrays(np.float64, k, elements=st.floats(0.01, 1)))))
def test_kl_estimators_unbiased(args):
    p, q = (a / a.sum() for a in args)
    assert checks.kl_estimators_k1_k3_unbiased({"pi": p, "ref": q}) <= 1e-12


def test_the_checks_can_fail(monkeypatch):
    R = np.array([[1.0, 0.0, 3.0]])
    # A plain mean baseline (GRPO without scaling) is not the leave-one-out baseline.
    monkeypatch.setattr(checks, "rloo_advantages", lambda R: R - R.mean(axis=1, keepdims=True))
    assert checks.rloo_leave_one_out_identity({"rewards": R}) > 0.1
    # k2 is biased: swapping it in for k3 breaks the expectation identity.
    real = losses.kl_estimate
    monkeypatch.setattr(checks, "kl_estimate",
                        lambda lp, lr, kind: real(lp, lr, kind="k2" if kind == "k3" else kind))
    inst = {"pi": np.array([0.9, 0.1]), "ref": np.array([0.2, 0.8])}
    assert checks.kl_estimators_k1_k3_unbiased(inst) > 0.01


def test_a_baseline_that_uses_the_sample_biases_the_gradient(monkeypatch):
    # Including y_j in its own baseline (the plain group mean, unscaled) biases the estimator.
    monkeypatch.setattr(checks, "rloo_advantages", lambda R: R - R.mean(axis=1, keepdims=True))
    inst = {"theta": np.array([0.3, -0.2]), "rewards": np.array([1.0, 0.0]), "group": 2}
    assert checks.rloo_gradient_unbiased(inst) > 1e-3


def test_whitening_a_single_token_is_refused():
    with pytest.raises(ValueError, match="two unmasked tokens"):
        losses.reinforce_pp_advantages([[1.0]], [[1]])
