"""The theorem checks of proofs_check/mdp.py on hypothesis-drawn instances, and the registry run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefrl.proofs_check.mdp as pm
from prefrl.mdp._strategies import mdp_arrays, policies
from prefrl.registry import run_theorem


@st.composite
def instances(draw):
    P, R, mu = draw(mdp_arrays(max_states=5, max_actions=3))
    S, A, _ = P.shape
    return {
        "P": P, "R": R, "mu": mu,
        "gamma": draw(st.sampled_from([0.0, 0.5, 0.9, 0.99])),
        "pi": draw(policies(S, A)), "pi2": draw(policies(S, A)),
        "theta": draw(hnp.arrays(np.float64, (S, A), elements=st.floats(-3, 3))),
        "tol": draw(st.sampled_from([1e-2, 1e-5, 1e-9])),
        "beta": draw(st.sampled_from([0.01, 0.1, 1.0])),
        "H": draw(st.integers(1, 40)),
    }


CHECKS = [
    pm.vi_certificate,
    pm.occupancy_identities,
    pm.performance_difference,
    pm.soft_optimum,
    pm.finite_to_discounted,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.theorem.name)
@given(inst=instances())
@settings(max_examples=30)
def test_theorem_holds_on_drawn_instances(check, inst):
    assert check(inst) <= check.theorem.tolerance


@given(inst=instances())
@settings(max_examples=10)
def test_policy_gradient_theorem_on_drawn_instances(inst):
    assert pm.policy_gradient(inst) <= pm.policy_gradient.theorem.tolerance


@pytest.mark.parametrize("check", [*CHECKS, pm.policy_gradient], ids=lambda f: f.theorem.name)
def test_registry_runs_the_mdp_theorems(check):
    res = run_theorem(check.theorem, n_instances=15, seed=1)
    assert res.holds, res


def test_checks_detect_a_false_claim(monkeypatch):
    """The checks can fail: a 1% error in the occupancy measure is reported as a violation."""
    from prefrl.mdp import TabularMDP

    inst = pm.draw_mdp(np.random.default_rng(0))
    assert pm.occupancy_identities(inst) <= 1e-9
    original = TabularMDP.occupancy
    monkeypatch.setattr(TabularMDP, "occupancy", lambda self, pi: 1.01 * original(self, pi))
    assert pm.occupancy_identities(inst) > 1e-3
