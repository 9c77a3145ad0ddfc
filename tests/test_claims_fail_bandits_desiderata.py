"""Every claim of the simpo_length and dpo_desiderata figures can fail.

Each case breaks one mechanism an experiment relies on (a library function monkeypatched in the
experiment module's namespace: the summed loss normalised after all, the normalised loss blind to
lengths, the margin dropped, DPO in place of the explicit loss, IPO in place of DPO, ...), reruns
the experiment in quick mode and checks that the claims about that mechanism fail. A last test
checks that the cases cover every claim and that every claim states its evidence.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from prefrl import bandits
from prefrl.experiments import dpo_desiderata, simpo_length

EXPERIMENTS = {m.__name__.rsplit(".", 1)[-1]: m for m in (simpo_length, dpo_desiderata)}


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- the broken mechanisms


def _summed_is_normalised(target):
    """The summed loss silently divides by the lengths."""
    real = bandits.simpo_population_optimum

    def broken(P, mu, lengths, beta, margin=0.0, *, normalize=True):
        return real(P, mu, lengths, beta, margin, normalize=True)

    return {"simpo_population_optimum": broken}


def _normalised_ignores_lengths(target):
    """The normalised loss is given unit lengths (it equals the summed one)."""
    real = bandits.simpo_population_optimum

    def broken(P, mu, lengths, beta, margin=0.0, *, normalize=True):
        return real(P, mu, np.ones(np.shape(lengths)), beta, margin, normalize=normalize)

    return {"simpo_population_optimum": broken}


def _solver_drops_margin(target):
    """The optimum is computed without the target margin."""
    real = bandits.simpo_population_optimum

    def broken(P, mu, lengths, beta, margin=0.0, *, normalize=True):
        return real(P, mu, lengths, beta, 0.0, normalize=normalize)

    return {"simpo_population_optimum": broken}


def _gap_drops_margin(target):
    """The closed-form gap forgets the margin: logit(p)."""
    return {"simpo_two_action_gap": lambda p, margin=0.0: bandits.simpo_two_action_gap(p, 0.0)}


def _loss_drops_margin(target):
    """The population loss is evaluated without the margin."""
    real = bandits.simpo_population_loss
    return {
        "simpo_population_loss": lambda pol, P, mu, L, beta, margin=0.5: real(
            pol, P, mu, L, beta, 0.0
        )
    }


def _explicit_is_ipo(target):
    """The explicit loss replaced by IPO at beta = lambda."""
    return {"explicit_bt_optimum": bandits.ipo_optimum}


def _explicit_ignores_weight(target):
    """The explicit loss solved with almost no KL weight, whatever lambda is asked for."""
    real = bandits.explicit_bt_optimum
    return {"explicit_bt_optimum": lambda P, mu, pi_ref, kl_weight: real(P, mu, pi_ref, 1e-6)}


def _dpo_is_ipo(target):
    """DPO's optimum replaced by IPO's."""
    return {"dpo_population_optimum": bandits.ipo_optimum}


def _ipo_is_explicit(target):
    """IPO's optimum replaced by the explicit loss's."""
    return {"ipo_optimum": bandits.explicit_bt_optimum}


CASES = [
    (
        "simpo_length",
        simpo_length,
        _summed_is_normalised,
        [
            "summed_ignores_lengths",
            "summed_inherits_length_slope",
            "normalisation_shortens_only_if_short_is_preferred",
            "two_action_normalised_longer",
        ],
    ),
    (
        "simpo_length",
        simpo_length,
        _normalised_ignores_lengths,
        [
            "normalised_prefers_short_at_ties",
            "two_action_normalised_longer",
            "normalisation_shortens_only_if_short_is_preferred",
            "summed_ignores_lengths",
        ],
    ),
    (
        "simpo_length",
        simpo_length,
        _solver_drops_margin,
        ["two_action_gap_closed_form", "margin_sharpens_optimum"],
    ),
    (
        "simpo_length",
        simpo_length,
        _gap_drops_margin,
        ["two_action_gap_closed_form", "margin_widens_every_gap"],
    ),
    ("simpo_length", simpo_length, _loss_drops_margin, ["deterministic_infimum_not_attained"]),
    (
        "dpo_desiderata",
        dpo_desiderata,
        _explicit_ignores_weight,
        ["explicit_interpolates_monotonically"],
    ),
    (
        "dpo_desiderata",
        dpo_desiderata,
        _explicit_is_ipo,
        [
            "explicit_preserves_good_prompt",
            "explicit_preserves_on_random_instances",
            "dpo_ipo_cannot_preserve_and_improve",
            "dpo_ipo_weak_limit_is_greedy",
            "unseen_response_keeps_ref",
            "ties_trade_off",
        ],
    ),
    (
        "dpo_desiderata",
        dpo_desiderata,
        _dpo_is_ipo,
        ["dpo_good_prompt_is_power_of_ref", "dpo_reaches_star_only_from_uniform_ref"],
    ),
    (
        "dpo_desiderata",
        dpo_desiderata,
        _ipo_is_explicit,
        ["dpo_ipo_cannot_preserve_and_improve", "dpo_ipo_weak_limit_is_greedy"],
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
    for attr, replacement in broken(target).items():
        assert hasattr(target, attr), f"{target!r} has no {attr!r} to break"
        monkeypatch.setattr(target, attr, replacement)
    after = {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}
    still = [c for c in must_fail if after[c].holds]
    assert not still, f"{name}: {still} still hold after {broken.__name__}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_claim_states_its_evidence_and_can_be_broken(name):
    claims = _claims(name)
    assert all(c.holds for c in claims.values()), [c.name for c in claims.values() if not c.holds]
    unstated = [c.name for c in claims.values() if c.status is None]
    assert not unstated, f"{name}: claims without a status: {unstated}"
    for c in claims.values():
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1, c.name
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip(), c.name
    covered = {claim for case in CASES if case[0] == name for claim in case[3]}
    assert covered == set(claims), f"{name}: no breaking case for {set(claims) - covered}"
