"""Every claim of the rto_dense_reward and critical_tokens figures can fail.

Each case breaks one mechanism an experiment relies on (monkeypatched in the experiment's
namespace, or a private helper of prefrl.pg_theory): the RL stage returning the per-token mixture,
the soft optimum solved at the wrong KL weight, a score function without its baseline term, the
dense and sparse estimators swapped, the relaxation switched off, unequal reference masses on the
critical token, the endpoint solved at twice the KL weight. It reruns the experiment in quick mode
and checks that the claims about that mechanism fail. A last test checks that the cases cover every
claim and that every claim states its evidence.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from prefrl.experiments import critical_tokens, rto_dense_reward
from prefrl.mdp.envs import token_tree

EXPERIMENTS = {"rto_dense_reward": rto_dense_reward, "critical_tokens": critical_tokens}


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- the broken mechanisms
def _per_token_mixture_policy(target):
    """The RL stage returns the per-token geometric mixture instead of the soft optimum."""
    orig = target.soft_optimal_sequence_law

    def broken(pi_ref, pi_dpo, beta, beta_prime):
        res = orig(pi_ref, pi_dpo, beta, beta_prime)
        S, V = res.policy.shape
        H = round(np.log(res.mixture.size) / np.log(V)) if V > 1 else S - 1
        seq = token_tree(V, H).sequence_probabilities(res.token_mixture)
        return res.replace(
            policy=res.token_mixture,
            sequence_policy=seq,
            token_mixture_gap=0.0,
            sequence_gap=float(np.max(np.abs(seq - res.mixture))),
            certificate=float(np.max(np.abs(seq - res.mixture))),
        )

    return {"soft_optimal_sequence_law": broken}


def _wrong_kl_weight(target):
    """The soft optimum solved at 1.5 beta' (the dense reward is not rescaled)."""
    orig = target.soft_optimal_sequence_law
    return {
        "soft_optimal_sequence_law": lambda pi_ref, pi_dpo, beta, beta_prime: orig(
            pi_ref, pi_dpo, beta, 1.5 * beta_prime
        )
    }


def _score_without_baseline(target):
    """The score of a token is e_a instead of e_a - pi(.|s): the estimators become biased."""

    def broken(pi, seqs, states, weights, S, V):
        g = np.zeros((S, V))
        for t in range(seqs.shape[1]):
            np.add.at(g, (states[:, t], seqs[:, t]), weights[:, t])
        return g / seqs.shape[0]

    return {"_estimate": broken}


def _swap_dense_and_sparse(target):
    """The sparse and dense estimators exchanged (sampled and exact)."""
    sample, moments = target.sample_reinforce_gradients, target.reinforce_estimator_moments

    def swapped_moments(policy, token_rewards):
        m = moments(policy, token_rewards)
        return m.replace(
            sparse_mean=m.dense_mean,
            dense_mean=m.sparse_mean,
            sparse_variance=m.dense_variance,
            dense_variance=m.sparse_variance,
        )

    return {
        "sample_reinforce_gradients": lambda *a, **k: sample(*a, **k)[::-1],
        "reinforce_estimator_moments": swapped_moments,
    }


def _no_relaxation(target):
    """The critical position keeps the full KL weight (factor 1)."""
    orig = target.critical_token_tree
    return {"critical_token_tree": lambda *a, **k: orig(*a, **{**k, "factor": 1.0})}


def _unequal_critical_mass(target):
    """The reference mass on the right token differs across the critical states."""
    orig = target.critical_token_tree

    def broken(*a, **k):
        ct = orig(*a, **k)
        ref = ct["pi_ref"].copy()
        crit = np.flatnonzero(ct["critical"])
        ref[crit, 0] *= np.linspace(0.3, 3.0, crit.size)
        ref[crit] /= ref[crit].sum(axis=1, keepdims=True)
        return {**ct, "pi_ref": ref}

    return {"critical_token_tree": broken}


def _endpoint_at_double_weight(target):
    """The 'exact endpoint' solved at twice the KL weights."""
    orig = target.per_state_soft_optimum
    return {
        "per_state_soft_optimum": lambda pi_ref, r, w: orig(
            pi_ref, r, 2 * np.asarray(w, dtype=float)
        )
    }


CASES = [
    (
        "rto_dense_reward",
        rto_dense_reward,
        _per_token_mixture_policy,
        ["sequence_law_is_geometric_mixture", "token_policy_is_not_token_mixture"],
    ),
    ("rto_dense_reward", rto_dense_reward, _wrong_kl_weight, ["equal_weights_recover_pi_dpo"]),
    (
        "rto_dense_reward",
        "estimator_globals",
        _score_without_baseline,
        ["reinforce_estimators_unbiased"],
    ),
    ("rto_dense_reward", rto_dense_reward, _swap_dense_and_sparse, ["dense_reinforce_lower_mse"]),
    (
        "critical_tokens",
        critical_tokens,
        _no_relaxation,
        [
            "relaxed_kl_reaches_success_faster",
            "uniform_kl_caps_success",
            "relaxed_kl_raises_noncritical_kl_in_training",
        ],
    ),
    (
        "critical_tokens",
        critical_tokens,
        _unequal_critical_mass,
        ["endpoint_noncritical_kl_is_zero", "uniform_kl_caps_success"],
    ),
    (
        "critical_tokens",
        critical_tokens,
        _endpoint_at_double_weight,
        ["training_is_monotone_below_optimum", "uniform_kl_caps_success"],
    ),
]


@pytest.mark.parametrize(
    "name, target, broken, must_fail",
    CASES,
    ids=[f"{c[0]}-{c[2].__name__.strip('_')}" for c in CASES],
)
def test_breaking_the_mechanism_fails_the_claim(name, target, broken, must_fail, monkeypatch):
    before = _claims(name)
    assert all(before[c].holds for c in must_fail), f"{name}: {must_fail} should hold unbroken"
    if target == "estimator_globals":
        # the namespace the estimators really run in (a doctest run may import the file again)
        space = EXPERIMENTS[name].reinforce_estimator_moments.__globals__
        for attr, replacement in broken(target).items():
            assert attr in space, f"the estimators' namespace has no {attr!r} to break"
            monkeypatch.setitem(space, attr, replacement)
    else:
        for attr, replacement in broken(target).items():
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
