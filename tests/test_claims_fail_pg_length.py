"""Every claim of the length-bias and P3O-invariance figures can fail.

Each case breaks one mechanism an experiment relies on (weights that grow with the length instead
of falling, a token-mean that ignores the group size, the natural gradient in place of the
softmax one, a baseline that is never subtracted, a pairwise update on one reward instead of a
difference, an unclipped PPO, an off-policy expectation, a wrong optimum), reruns the experiment
in quick mode and checks that the claims about that mechanism fail. A last test checks that the
cases cover every claim and that every claim states what kind of evidence it is.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from prefrl import policies
from prefrl.experiments import length_bias, p3o_invariance
from prefrl.pg_theory import _length, _pairwise, expected_length_update

# The globals of the library functions themselves (a doctest run may import a second copy of the
# module; patching these reaches the functions the experiments call).
LIB = expected_length_update.__globals__

EXPERIMENTS = {"length_bias": length_bias, "p3o_invariance": p3o_invariance}


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- the broken mechanisms


def _weights_grow_with_length(_):
    """The misreading 'seq-mean-token-sum weighs a sequence by L': every weight times L^2."""
    real = LIB["length_weights"]

    def wrong(lengths, probs, mode, **k):
        return real(lengths, probs, mode, **k) * np.asarray(lengths, float) ** 2

    return {"length_weights": wrong}


def _token_mean_ignores_group(_):
    """token-mean always at its large-batch limit (the random normaliser forgotten)."""
    real = LIB["length_weights"]

    def wrong(lengths, probs, mode, *, horizon=None, group_size=None):
        if mode == "token-mean":
            group_size = None
        return real(lengths, probs, mode, horizon=horizon, group_size=group_size)

    return {"length_weights": wrong}


def _natural_gradient_only(_):
    """The drift computed under the natural gradient whatever is asked."""
    real = _length.expected_length_drift
    return {"expected_length_drift": lambda *a, **k: real(*a, **{**k, "geometry": "natural"})}


def _baseline_never_subtracted(_):
    """The mean baseline dropped: every trajectory uses the raw reward."""
    real = _length.length_trajectory
    return {"length_trajectory": lambda *a, **k: real(*a, **{**k, "baseline": "none"})}


def _pairwise_on_one_reward(_):
    """A 'pairwise' update carrying r(y) instead of r(y) - r(y')."""

    def wrong(theta, rewards, y, yp, *, context=0):
        r = np.array(rewards, float)
        r[context, yp] = 0.0
        return _pairwise.pairwise_update(theta, r, y, yp, context=context)

    return {"pairwise_update": wrong}


def _perfect_baseline(_):
    """Advantages re-centred by the exact policy mean: the baseline is no longer imperfect."""
    real = _pairwise.ppo_sample_updates

    def centred(theta, theta_old, A, **k):
        pi = policies.softmax(np.asarray(theta_old, float), axis=-1)
        A = np.asarray(A, float)
        return real(theta, theta_old, A - (pi * A).sum(axis=-1, keepdims=True), **k)

    return {"ppo_sample_updates": centred}


def _uniform_sampling(_):
    """The expected update taken under uniform sampling instead of the behaviour policy."""

    def wrong(theta, theta_old, A, **k):
        U = _pairwise.ppo_sample_updates(theta, theta_old, A)
        return U.mean(axis=1) / U.shape[0]

    return {"expected_ppo_update": wrong}


def _no_clipping(_):
    """PPO with a clip range it never leaves (clip_low = 1, clip_high = 1e9)."""
    real = _pairwise.expected_ppo_update
    return {"expected_ppo_update": lambda *a, **k: real(*a, clip_low=1.0, clip_high=1e9)}


def _unclipped_training(_):
    real = _pairwise.relative_feedback_training
    return {
        "relative_feedback_training": lambda *a, **k: real(
            *a, **{**k, "clip_low": 1.0, "clip_high": 1e9}
        )
    }


def _p3o_is_reinforce(_):
    """Training's P3O replaced by REINFORCE with the learned baseline."""
    real = _pairwise.relative_feedback_training
    return {
        "relative_feedback_training": lambda r, ref, m, **k: real(
            r, ref, "reinforce" if m == "p3o" else m, **k
        )
    }


def _exact_training(_):
    """Sampled training silently replaced by exact expectations."""
    real = _pairwise.relative_feedback_training
    return {
        "relative_feedback_training": lambda *a, **k: real(
            *a, **{**k, "n_samples": None, "rng": None}
        )
    }


def _halved_pairwise(_):
    """The expected pairwise update with the paper's 1/2 (factor 1, not 2)."""
    return {
        "expected_pairwise_update": lambda *a, **k: (
            0.5 * _pairwise.expected_pairwise_update(*a, **k)
        )
    }


def _optimum_at_double_beta(_):
    return {"gibbs": lambda ref, r, b: policies.gibbs(ref, r, 2 * b)}


LB, P3 = "length_bias", "p3o_invariance"
CASES = [
    (
        LB,
        LIB,
        _weights_grow_with_length,
        [
            "two_length_sign_rule",
            "constant_normaliser_no_drift",
            "token_mean_bias_shrinks_with_G",
            "natural_gradient_never_flips",
            "wrong_answers_lengthen",
            "second_phase_shortens",
        ],
    ),
    (
        LB,
        LIB,
        _token_mean_ignores_group,
        ["two_length_sign_rule", "token_mean_bias_shrinks_with_G"],
    ),
    (LB, length_bias, _natural_gradient_only, ["three_length_sign_flip"]),
    (LB, length_bias, _baseline_never_subtracted, ["no_drift_with_mean_baseline_or_horizon"]),
    (P3, p3o_invariance, _pairwise_on_one_reward, ["p3o_per_sample_invariant"]),
    (P3, p3o_invariance, _perfect_baseline, ["reinforce_per_sample_moves_by_shift"]),
    (P3, p3o_invariance, _uniform_sampling, ["reinforce_expectation_invariant"]),
    (P3, p3o_invariance, _no_clipping, ["ppo_expectation_not_invariant"]),
    (P3, p3o_invariance, _halved_pairwise, ["p3o_expected_is_twice_reinforce"]),
    (P3, p3o_invariance, _p3o_is_reinforce, ["sampled_p3o_trajectory_invariant"]),
    (P3, p3o_invariance, _exact_training, ["sampled_reinforce_trajectory_moves"]),
    (P3, p3o_invariance, _unclipped_training, ["exact_ppo_trajectory_moves"]),
    (P3, p3o_invariance, _optimum_at_double_beta, ["frontier_near_optimum"]),
]


@pytest.mark.parametrize(
    "name, target, broken, must_fail",
    CASES,
    ids=[f"{c[0]}-{c[2].__name__.strip('_')}" for c in CASES],
)
def test_breaking_the_mechanism_fails_the_claim(name, target, broken, must_fail, monkeypatch):
    before = _claims(name)
    assert all(before[c].holds for c in must_fail), f"{name}: {must_fail} should hold unbroken"
    for attr, replacement in broken(target).items():
        if isinstance(target, dict):  # a module's globals
            assert attr in target, f"no {attr!r} to break"
            monkeypatch.setitem(target, attr, replacement)
            continue
        assert hasattr(target, attr), f"{target!r} has no {attr!r} to break"
        monkeypatch.setattr(target, attr, replacement)
    after = {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}
    still = [c for c in must_fail if after[c].holds]
    assert not still, f"{name}: {still} still hold after {broken.__name__}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_claim_states_its_evidence_and_can_be_broken(name):
    claims = _claims(name)
    unstated = [c.name for c in claims.values() if c.status is None]
    assert not unstated, f"{name}: claims without a status: {unstated}"
    for c in claims.values():
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1, c.name
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip(), c.name
    covered = {claim for case in CASES if case[0] == name for claim in case[3]}
    assert covered == set(claims), f"{name}: no breaking case for {set(claims) - covered}"
