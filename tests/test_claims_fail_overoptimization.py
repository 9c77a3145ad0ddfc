"""Every claim of the over-optimisation, constrained-RLHF and artifact figures can fail.

Each case breaks one mechanism an experiment relies on (monkeypatched in the experiment's
namespace: a peak that is not refined to the covariance zero, a proxy that ignores rho or n, a
reward model fitted on a hundred times more data, a KL budget of zero, an ensemble that takes the
maximum, PAR replaced by the raw proxy, dual ascent cut short or with slack thresholds, fixed
weights that never move, a fit that ignores the labellers' bias or the augmentation, a length
split weighted by the wrong distribution, a policy that never leaves pi_ref), reruns the
experiment in quick mode and checks that the claims about that mechanism fail. A last test checks
that the cases cover every claim and that every claim states its evidence.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from prefrl.experiments import constrained_rlhf, overoptimization_curves, reward_hacking_artifact

EXPERIMENTS = {
    m.__name__.rsplit(".", 1)[-1]: m
    for m in (overoptimization_curves, constrained_rlhf, reward_hacking_artifact)
}

OC, CR, RH = overoptimization_curves, constrained_rlhf, reward_hacking_artifact


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- the broken mechanisms


def _unrefined_peak(target):
    """The peak moved to the grid point after the best one (not a zero of the covariance)."""
    real = target.overoptimization_curve

    def broken(pi_ref, gold, proxy, betas):
        res = real(pi_ref, gold, proxy, betas)
        j = min(int(np.argmax(res.gold_value)) + 1, res.betas.size - 1)
        return res.replace(peak=dict(res.peak, beta=float(res.betas[j]), interior=True))

    return {"overoptimization_curve": broken}


def _proxy_ignores_rho(target):
    real = target.correlated_proxy
    return {"correlated_proxy": lambda gold, rho, rng, pi_ref=None: real(gold, 0.5, rng, pi_ref)}


def _proxy_ignores_n(target):
    real = target.bt_proxy
    return {"bt_proxy": lambda gold, mu, n, rng, l2=0.1: real(gold, mu, 300, rng, l2=l2)}


def _hundredfold_data(target):
    """The mitigation instance's reward model fitted on 100 times more comparisons."""
    real = target.sample_comparisons
    return {"sample_comparisons": lambda P, mu, n, rng: real(P, mu, 100 * n, rng)}


def _zero_budget(target):
    real = target.kl_budget_policy
    return {"kl_budget_policy": lambda pi_ref, proxy, budget: real(pi_ref, proxy, 0.0)}


def _ensemble_takes_max(target):
    real = target.bootstrap_proxies
    return {"bootstrap_proxies": lambda *a, **k: -real(*a, **k)}


def _par_is_identity(target):
    return {"par_reward": lambda proxy, pi_ref: np.asarray(proxy, dtype=float)}


def _one_dual_step(target):
    real = target.constrained_rlhf
    return {
        "constrained_rlhf": lambda p, r0, R, th, beta, init=None: real(
            p, r0, R, th, beta, max_iter=1
        )
    }


def _slack_thresholds(target):
    """Thresholds far above reach: the multipliers stay 0 (the fixed-weight composite)."""
    real = target.constrained_rlhf
    return {
        "constrained_rlhf": lambda p, r0, R, th, beta, init=None: real(
            p, r0, R, np.asarray(th) + 100.0, beta, init=init
        )
    }


def _frozen_fixed_weights(target):
    return {"_fixed_weights": lambda pi_ref, objective, beta: np.asarray(pi_ref)}


def _fit_ignores_bias(target):
    real = target.artifact_reward_fit
    return {
        "artifact_reward_fit": lambda q, a, mu, labeller_bias=0.0, augmentation=0.0: real(
            q, a, mu, labeller_bias=0.0, augmentation=augmentation
        )
    }


def _fit_ignores_augmentation(target):
    real = target.artifact_reward_fit
    return {
        "artifact_reward_fit": lambda q, a, mu, labeller_bias=0.0, augmentation=0.0: real(
            q, a, mu, labeller_bias=labeller_bias
        )
    }


def _split_weighted_by_ref(target):
    """The within-length term weighted by pi_ref(L) instead of pi(L): no longer sums to the gain."""
    real = target.length_decomposition

    def broken(policy, pi_ref, reward, lengths):
        res = real(policy, pi_ref, reward, lengths)
        ratio = np.divide(
            res.ref_length,
            res.policy_length,
            out=np.zeros_like(res.ref_length),
            where=res.policy_length > 0,
        )
        return res.replace(within_length=float(res.within_length * np.mean(ratio)))

    return {"length_decomposition": broken}


def _policy_stays_near_ref(target):
    real = target.gibbs
    return {"gibbs": lambda p, f, b: real(p, f, max(float(b), 5.0))}


CASES = [
    ("overoptimization_curves", OC, _unrefined_peak, ["peak_is_covariance_zero"]),
    (
        "overoptimization_curves",
        OC,
        _proxy_ignores_rho,
        ["rho_moves_peak_out_and_up", "rho_shrinks_the_fall"],
    ),
    ("overoptimization_curves", OC, _proxy_ignores_n, ["n_moves_peak_up"]),
    ("overoptimization_curves", OC, _hundredfold_data, ["overoptimization_at_n200"]),
    ("overoptimization_curves", OC, _zero_budget, ["kl_budget_beats_the_end"]),
    ("overoptimization_curves", OC, _ensemble_takes_max, ["ensemble_min_beats_single"]),
    ("overoptimization_curves", OC, _par_is_identity, ["par_slows_the_path"]),
    ("constrained_rlhf", CR, _one_dual_step, ["dual_ascent_satisfies_kkt"]),
    (
        "constrained_rlhf",
        CR,
        _slack_thresholds,
        ["constrained_stays_at_or_below_thresholds", "constrained_keeps_more_gold"],
    ),
    ("constrained_rlhf", CR, _frozen_fixed_weights, ["fixed_weights_overshoot_one"]),
    (
        "reward_hacking_artifact",
        RH,
        _fit_ignores_bias,
        ["fitted_artifact_weight_is_the_bias", "rrm_policy_shorter_and_better"],
    ),
    (
        "reward_hacking_artifact",
        RH,
        _fit_ignores_augmentation,
        ["rrm_drives_artifact_weight_to_zero", "rrm_breaks_the_correlation"],
    ),
    ("reward_hacking_artifact", RH, _split_weighted_by_ref, ["length_decomposition_exact"]),
    ("reward_hacking_artifact", RH, _policy_stays_near_ref, ["policy_amplifies_length"]),
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
