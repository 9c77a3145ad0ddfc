"""Every claim of the active-preference-queries figure can fail.

Each case breaks one mechanism the experiment relies on: a pair-selection rule is swapped for
another inside the learning loop the experiment calls (``active_learning_run``, monkeypatched in
the experiment's namespace), the experiment reruns in quick mode and the claims about that rule
must fail. A last test checks that the cases cover every claim and that every claim states what
kind of evidence it is.
"""

from __future__ import annotations

import functools

import pytest

from prefrl import active
from prefrl.experiments import active_preference_queries as exp


@functools.cache
def _claims():
    return {c.name: c for c in exp.claims(exp.run(quick=True, seed=0))}


def _swap(old: str, new: str):
    """The learning loop with rule ``old`` replaced by rule ``new``."""

    def broken(rule, *args, **kwargs):
        return active.active_learning_run(new if rule == old else rule, *args, **kwargs)

    broken.__name__ = f"{old}_runs_{new}"
    return broken


CASES = [
    # the D-optimal rule labels the most certain pairs instead
    (
        _swap("d_optimal", "certainty"),
        [
            "d_optimal_lowers_error",
            "d_optimal_lowers_regret",
            "d_optimal_choice_is_exact_logdet_argmax",
        ],
    ),
    # the unweighted DPO-logit design labels near-tied pairs instead
    (_swap("dpo_certainty", "entropy"), ["dpo_certainty_lowers_error"]),
    # uncertainty sampling replaced by the design it was compared with
    (_swap("entropy", "d_optimal"), ["entropy_worse_than_random_on_error"]),
    (_swap("certainty", "d_optimal"), ["certainty_worse_than_random_on_error"]),
    # PILAF's pairs replaced by the most certain ones
    (_swap("pilaf", "certainty"), ["pilaf_lowers_final_regret_not_error"]),
    # the optimistic rule is D-optimal design: no longer worse than it
    (_swap("optimistic", "d_optimal"), ["optimistic_not_better_than_d_optimal"]),
]


@pytest.mark.parametrize("broken, must_fail", CASES, ids=[c[0].__name__ for c in CASES])
def test_breaking_the_mechanism_fails_the_claim(broken, must_fail, monkeypatch):
    before = _claims()
    assert all(before[c].holds for c in must_fail), f"{must_fail} should hold unbroken"
    monkeypatch.setattr(exp, "active_learning_run", broken)
    after = {c.name: c for c in exp.claims(exp.run(quick=True, seed=0))}
    still = [c for c in must_fail if after[c].holds]
    assert not still, f"{still} still hold after {broken.__name__}"


def test_every_claim_states_its_evidence_and_can_be_broken():
    claims = _claims()
    assert all(c.status is not None for c in claims.values())
    for c in claims.values():
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1, c.name
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip(), c.name
    covered = {claim for case in CASES for claim in case[1]}
    assert covered == set(claims), f"no breaking case for {set(claims) - covered}"
