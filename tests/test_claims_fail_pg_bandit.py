"""Every claim of the grpo_components and zero_advantage_groups figures can fail.

Each case breaks one mechanism an experiment relies on (a library function monkeypatched in the
experiment's namespace: one estimator swapped for another, GRPO's epsilon forced large,
Reinforce-Rej with the wrong normaliser, training that does not learn or runs backwards, prompts of
one difficulty, a wrong skip probability, a wrong zero-advantage probability), reruns the
experiment in quick mode and checks that the claims about that mechanism fail. A last test checks
that the cases cover every claim and that every claim states its evidence.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from prefrl import pg_theory
from prefrl.experiments import grpo_components, zero_advantage_groups

EXPERIMENTS = {m.__name__.rsplit(".", 1)[-1]: m for m in (grpo_components, zero_advantage_groups)}


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- the broken mechanisms


def _swapped(swap: dict, **forced):
    """expected_update and train_bernoulli with estimators swapped and options forced."""
    real_update, real_train = pg_theory.expected_update, pg_theory.train_bernoulli

    def update(estimator, *args, **kw):
        if estimator in swap:
            estimator, extra = swap[estimator]
            kw = {**kw, **extra}
        return real_update(estimator, *args, **{**kw, **forced})

    def train(estimator, *args, **kw):
        if estimator in swap:
            estimator, extra = swap[estimator]
            kw = {**kw, **extra}
        return real_train(estimator, *args, **kw)

    return {"expected_update": update, "train_bernoulli": train}


def _rloo_without_leave_one_out(module):
    """RLOO computed with the plain group mean (biased by (G-1)/G)."""
    return _swapped({"rloo": ("dr_grpo", {})})


def _grpo_eps_half(module):
    """GRPO's epsilon forced to 0.5 (the std normalisation swamped)."""
    real = pg_theory.expected_update

    def update(estimator, *args, **kw):
        if estimator == "grpo":
            kw = {**kw, "eps": 0.5}
        return real(estimator, *args, **kw)

    return {"expected_update": update}


def _grpo_without_std(module):
    """GRPO's std normalisation dropped (GRPO is Dr. GRPO)."""
    return _swapped({"grpo": ("dr_grpo", {})})


def _negatives_with_true_baseline(module):
    """The mean-centred rung replaced by REINFORCE with the true mean baseline."""
    return _swapped({"dr_grpo": ("reinforce_baseline", {})})


def _raft_with_true_baseline(module):
    """RAFT replaced by REINFORCE with the true baseline (same mean, other variance)."""
    return _swapped({"raft": ("reinforce_baseline", {})})


def _rejection_per_prompt(module):
    """Reinforce-Rej normalised per prompt instead of by the batch's kept fraction."""
    return _swapped({"reinforce_rej": ("reinforce_rej", {"normaliser": "prompt"})})


def _zero_is_all_wrong_only(module):
    """The zero-advantage probability counts only the all-wrong groups, (1-p)^G."""

    def z(p, group_size):
        return (1 - np.asarray(p, dtype=float)) ** group_size

    return {"zero_advantage_probability": z}


def _zero_is_all_correct_only(module):
    """The zero-advantage probability counts only the all-correct groups, p^G."""

    def z(p, group_size):
        return np.asarray(p, dtype=float) ** group_size

    return {"zero_advantage_probability": z}


def _no_learning(module):
    """Training with a step size 1e-9 times the asked one: p stays put."""
    real = pg_theory.train_bernoulli

    def train(estimator, theta0, group_size, lr, n_steps, **kw):
        return real(estimator, theta0, group_size, lr * 1e-9, n_steps, **kw)

    return {"train_bernoulli": train}


def _training_runs_backwards(module):
    """The trajectory played backwards: prompts get unsolved."""
    real = pg_theory.train_bernoulli

    def train(*args, **kw):
        res = real(*args, **kw)
        return res.replace(theta=res.theta[::-1], p=res.p[::-1])

    return {"train_bernoulli": train}


def _one_difficulty(module):
    """Every prompt starts at the mean initial logit (no spread of p)."""
    real = pg_theory.train_bernoulli

    def train(estimator, theta0, *args, **kw):
        th = np.asarray(theta0, dtype=float)
        return real(estimator, np.full_like(th, th.mean()), *args, **kw)

    return {"train_bernoulli": train}


def _simulation_skips_less(module):
    """The simulation run with 0.8 times the skip probability."""
    real = pg_theory.simulate_greso

    def sim(p, group_size, q, **kw):
        return real(p, group_size, 0.8 * q, **kw)

    return {"simulate_greso": sim}


def _exact_skips_less(module):
    """The exact recursion run with 0.8 times the skip probability."""
    real = pg_theory.greso_selective_rollouts

    def exact(p, group_size, q, **kw):
        return real(p, group_size, 0.8 * q, **kw)

    return {"greso_selective_rollouts": exact}


GC, ZA = grpo_components, zero_advantage_groups
CASES = [
    ("grpo_components", GC, _rloo_without_leave_one_out, ["unbiased_p1mp"]),
    ("grpo_components", GC, _grpo_eps_half, ["grpo_tends_to_sqrt"]),
    (
        "grpo_components",
        GC,
        _grpo_without_std,
        ["grpo_upweights_extremes", "std_changes_direction", "grpo_more_kl_efficient"],
    ),
    ("grpo_components", GC, _negatives_with_true_baseline, ["negatives_rescale_only"]),
    ("grpo_components", GC, _raft_with_true_baseline, ["negatives_variance_crossing"]),
    ("grpo_components", GC, _zero_is_all_wrong_only, ["rejection_is_a_learning_rate"]),
    (
        "grpo_components",
        GC,
        _rejection_per_prompt,
        ["rejection_is_a_learning_rate", "std_changes_direction", "same_direction_same_frontier"],
    ),
    ("zero_advantage_groups", ZA, _zero_is_all_correct_only, ["zero_probability_identity"]),
    ("zero_advantage_groups", ZA, _no_learning, ["zero_groups_grow_in_training"]),
    (
        "zero_advantage_groups",
        ZA,
        _training_runs_backwards,
        ["zero_groups_grow_in_training", "greso_saves_more_wastes_less_late"],
    ),
    ("zero_advantage_groups", ZA, _one_difficulty, ["zero_groups_persist"]),
    ("zero_advantage_groups", ZA, _simulation_skips_less, ["greso_exact_matches_simulation"]),
    (
        "zero_advantage_groups",
        ZA,
        _exact_skips_less,
        ["greso_exact_matches_simulation", "greso_two_epoch_closed_form"],
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
        if attr == "train_bernoulli" and not hasattr(target, attr):
            continue  # an experiment that does not train
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
