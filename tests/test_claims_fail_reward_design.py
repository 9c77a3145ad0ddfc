"""Every claim of the teacher_reward_design and memoryless_bias figures can fail.

Each case breaks one mechanism an experiment relies on (monkeypatched in the experiment's
namespace: the LP asked for a smaller margin than the check, a reward that is not L1-minimal,
a teacher that pays nothing, a start law that is controlled when it should not be, ...),
reruns the experiment in quick mode and checks that the claims about that mechanism fail. A
last test checks that the cases cover every claim and that every claim states its evidence.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from prefrl import reward_design as rd
from prefrl.experiments import memoryless_bias, teacher_reward_design

EXPERIMENTS = {"teacher_reward_design": teacher_reward_design, "memoryless_bias": memoryless_bias}


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- teacher_reward_design
def _half_margin(module):
    """The LP asked for half the margin the experiment checks."""

    def design(mdp, target, *, delta=0.1, **kw):
        return rd.design_reward(mdp, target, delta=0.5 * np.asarray(delta), **kw)

    return {"design_reward": design}


def _padded_reward(module):
    """A feasible but not minimal reward: every entry pushed away from zero by 0.01."""

    def design(mdp, target, **kw):
        res = rd.design_reward(mdp, target, **kw)
        live = res.margins > 0
        R = res.rewards + 0.01 * live[:, None]
        return res.replace(
            rewards=R, value=float(np.abs(R).sum()), n_nonzero=int(np.sum(np.abs(R) > 1e-9)) + 1000
        )

    return {"design_reward": design}


def _l1_shrinks(module):
    """The margin sweep reported in reverse (a cost that falls with delta)."""

    def design(mdp, target, *, delta=0.1, **kw):
        return rd.design_reward(mdp, target, delta=max(0.05, 1.05 - float(delta)), **kw)

    return {"design_reward": design}


def _teacher_pays_nothing(module):
    """Q-learning on the designed MDP really learns on a zero reward."""
    real = module.q_learning

    def q_learning(env, *args, **kw):
        if kw.get("potential") is None and env.expected_rewards.min() < 0:
            env = rd_mdp_zero(env)
        return real(env, *args, **kw)

    return {"q_learning": q_learning}


def rd_mdp_zero(env):
    from prefrl.mdp import TabularMDP

    return TabularMDP(
        env.dense_transitions(), np.zeros_like(env.expected_rewards), env.gamma, initial=env.initial
    )


def _adaptive_dense(module):
    """The adaptive teacher asks for no margin at all, and its reward counts as dense."""

    def adaptive(mdp, pi, **kw):
        kw["delta"] = 0.0
        kw["base_margin"] = 0.0
        run = rd.adaptive_teacher_q_learning(mdp, pi, **kw)
        return run.replace(n_nonzero=run.n_nonzero + 1000)

    return {"adaptive_teacher_q_learning": adaptive}


# ----------------------------------------------------------------- memoryless_bias
def _always_controlled(module):
    """The start law is controlled even when the experiment says it is not."""

    def law(p0, K, r, beta, control_initial=False):
        return rd.controlled_terminal_law(p0, K, r, beta, control_initial=True)

    return {"controlled_terminal_law": law}


def _never_controlled_law(module):
    """The control ignores the start flag and a point mass is replaced by the uniform law."""

    def law(p0, K, r, beta, control_initial=False):
        p0 = np.asarray(p0, dtype=float)
        if p0.max() == 1.0:
            p0 = np.full(p0.size, 1.0 / p0.size)
        return rd.controlled_terminal_law(p0, K, r, beta)

    return {"controlled_terminal_law": law}


def _tempered_law(module):
    """The terminal law computed at twice the KL weight (a wrong backward induction)."""

    def law(p0, K, r, beta, control_initial=False):
        res = rd.controlled_terminal_law(p0, K, r, 2 * beta, control_initial=control_initial)
        target = rd.tilted_target(p0, K, r, beta)
        return res.replace(
            target=target, bias_tv=float(0.5 * np.abs(res.terminal_law - target).sum())
        )

    return {"controlled_terminal_law": law}


def _noisy_bias(module):
    """A bias that does not grow with the dependence (a start weight read at the wrong end)."""

    def law(p0, K, r, beta, control_initial=False):
        res = rd.controlled_terminal_law(p0, K, r, beta, control_initial=control_initial)
        m = 1.0 - K[0, 0, 0] + K[0, 0, 1]
        return res.replace(bias_tv=res.bias_tv + 0.05 * np.sin(40 * m) ** 2)

    return {"controlled_terminal_law": law}


CASES = [
    (
        "teacher_reward_design",
        teacher_reward_design,
        _half_margin,
        ["designed_reward_keeps_target_optimal"],
    ),
    (
        "teacher_reward_design",
        teacher_reward_design,
        _padded_reward,
        ["designed_reward_is_l1_minimal", "sparsity_trade_off_with_pbrs"],
    ),
    (
        "teacher_reward_design",
        teacher_reward_design,
        _l1_shrinks,
        ["sparsity_cost_grows_with_margin"],
    ),
    (
        "teacher_reward_design",
        teacher_reward_design,
        _teacher_pays_nothing,
        ["designed_faster_than_original"],
    ),
    (
        "teacher_reward_design",
        teacher_reward_design,
        _adaptive_dense,
        ["adaptive_teacher_sparser_and_as_fast"],
    ),
    (
        "memoryless_bias",
        memoryless_bias,
        _tempered_law,
        ["terminal_law_matches_path_enumeration", "memoryless_chain_unbiased"],
    ),
    (
        "memoryless_bias",
        memoryless_bias,
        _never_controlled_law,
        ["point_mass_start_unbiased", "controlled_start_unbiased"],
    ),
    (
        "memoryless_bias",
        memoryless_bias,
        _always_controlled,
        ["uncontrolled_start_biased_with_memory"],
    ),
    ("memoryless_bias", memoryless_bias, _noisy_bias, ["bias_grows_with_dependence"]),
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
    assert not [c.name for c in claims.values() if c.status is None]
    for c in claims.values():
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1, c.name
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip(), c.name
    covered = {claim for case in CASES if case[0] == name for claim in case[3]}
    assert covered == set(claims), f"{name}: no breaking case for {set(claims) - covered}"
