"""Tests of prefrl.reward_design: the teacher's LP and the start bias of KL-regularised control."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.mdp import TabularMDP, envs
from prefrl.proofs_check import reward_design as checks
from prefrl.reward_design import (
    adaptive_teacher_q_learning,
    controlled_terminal_law,
    design_reward,
    mixing_kernels,
    start_dependence,
    target_q_map,
    tilted_target,
)

SEEDS = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------ the theorem checks, by hypothesis
@settings(max_examples=40, deadline=None)
@given(seed=SEEDS)
def test_q_map_and_margin_and_dual(seed):
    inst = checks.draw_mdp(np.random.default_rng(seed))
    assert checks.q_map_is_target_q(inst) < 1e-9
    assert checks.margin_keeps_target_optimal(inst) < 1e-7
    assert checks.l1_minimal_by_dual(inst) < 1e-7


@settings(max_examples=40, deadline=None)
@given(seed=SEEDS)
def test_terminal_law_and_the_three_unbiased_cases(seed):
    inst = checks.draw_chain(np.random.default_rng(seed))
    assert checks.terminal_law_by_enumeration(inst) < 1e-10
    assert checks.memoryless_unbiased(inst) < 1e-10
    assert checks.point_mass_unbiased(inst) < 1e-10
    assert checks.controlled_start_unbiased(inst) < 1e-10


# ------------------------------------------------------------------ the teacher's LP
def test_chain_design_is_the_obvious_one():
    mdp = envs.chain(5, gamma=0.9)
    res = design_reward(mdp, mdp.solve().policy, delta=0.2, r_max=1.0)
    # one non-zero of size delta per live state is necessary (the gap is delta) and sufficient
    assert res.n_nonzero == 4 and abs(res.value - 0.8) < 1e-9
    assert res.certificate < 1e-9 and abs(res.dual_value - res.value) < 1e-9
    np.testing.assert_allclose(res.action_gaps[:4], 0.2, atol=1e-9)


def test_adaptive_margins_only_where_the_learner_is_wrong():
    mdp = envs.gridworld(3, 3, gamma=0.9, start=(0, 0))
    pi = mdp.solve().policy
    full = design_reward(mdp, pi, delta=0.5)
    learner = pi.copy()
    learner[0] = np.roll(learner[0], 1)  # wrong in state 0 only
    ada = design_reward(mdp, pi, delta=0.5, learner_policy=learner, base_margin=0.0)
    assert ada.margins[0] == 0.5 and np.all(ada.margins[1:] == 0.0)
    assert ada.value < full.value and ada.action_gaps[0] >= 0.5 - 1e-9
    assert np.all(ada.action_gaps >= -1e-9)  # the target stays optimal


def test_state_form_and_horizon_cost_at_least_as_much():
    mdp = envs.gridworld(3, 3, gamma=0.9, start=(0, 0))
    pi = mdp.solve().policy
    base = design_reward(mdp, pi, delta=0.1).value
    assert design_reward(mdp, pi, delta=0.1, horizon=1).value >= base - 1e-9
    st_form = design_reward(mdp, pi, delta=0.1, form="state", r_max=10.0)
    R = st_form.rewards
    assert np.allclose(R, R[:, :1])  # R(s, a) = r(s)
    assert st_form.value >= base - 1e-9


def test_infeasible_margin_names_delta():
    mdp = envs.chain(4, gamma=0.9)
    with pytest.raises(ValueError, match="delta"):
        design_reward(mdp, mdp.solve().policy, delta=2.0, r_max=1.0)


def test_target_q_map_horizon_one_is_identity():
    mdp = envs.chain(4, gamma=0.9)
    np.testing.assert_array_equal(target_q_map(mdp, [1, 1, 1, 0], horizon=1), np.eye(8))


def test_adaptive_teacher_is_reproducible_and_learns():
    mdp = envs.gridworld(3, 3, gamma=0.9, start=(0, 0))
    pi = mdp.solve().policy
    a = adaptive_teacher_q_learning(
        mdp, pi, n_phases=15, phase_episodes=2, delta=0.5, base_margin=0.05, rng=3
    )
    b = adaptive_teacher_q_learning(
        mdp, pi, n_phases=15, phase_episodes=2, delta=0.5, base_margin=0.05, rng=3
    )
    np.testing.assert_array_equal(a.q_values, b.q_values)
    assert mdp.expected_return(a.policy) >= mdp.expected_return(pi) - 1e-9
    assert a.q_history.shape == (16, 9, 4) and a.certificate < 1e-9
    fixed = adaptive_teacher_q_learning(
        mdp, pi, n_phases=3, phase_episodes=2, rng=3, adaptive=False
    )
    assert len(set(fixed.n_nonzero.tolist())) == 1


# ------------------------------------------------------------------ the start bias
def test_terminal_law_matches_monte_carlo():
    rng = np.random.default_rng(0)
    K = mixing_kernels(3, 3, 0.4)
    p0 = np.array([0.6, 0.3, 0.1])
    res = controlled_terminal_law(p0, K, [0.0, 1.0, 2.0], beta=1.0)
    n = 40_000
    x = rng.choice(3, size=n, p=res.initial_law)
    for t in range(3):
        u = rng.random(n)
        cdf = np.cumsum(res.policy[t][x], axis=1)
        x = (u[:, None] > cdf).sum(axis=1).clip(max=2)
    freq = np.bincount(x, minlength=3) / n
    assert np.abs(freq - res.terminal_law).max() < 4 * np.sqrt(0.25 / n)
    assert res.bias_tv > 1e-3  # and it is not the tilted target


def test_start_weights_give_the_bias_exactly():
    K = mixing_kernels(4, 2, 0.3)
    p0 = np.array([0.1, 0.2, 0.3, 0.4])
    r = np.array([1.0, -1.0, 0.5, 0.0])
    res = controlled_terminal_law(p0, K, r, 0.5)
    Kbar = start_dependence(p0, K).terminal_kernel
    tilt = np.exp(r / 0.5)
    Z = p0 @ Kbar @ tilt
    np.testing.assert_allclose(
        res.terminal_law, tilt * ((p0 * res.start_weights) @ Kbar) / Z, atol=1e-12
    )
    assert res.certificate < 1e-12
    np.testing.assert_allclose(res.target, tilted_target(p0, K, r, 0.5))


def test_value_is_the_objective_of_the_returned_control():
    K = mixing_kernels(3, 2, 0.5)
    p0, r, beta = np.array([0.5, 0.25, 0.25]), np.array([0.0, 1.0, 3.0]), 0.7
    for ci in (False, True):
        res = controlled_terminal_law(p0, K, r, beta, control_initial=ci)
        q0, q = res.initial_law, res.policy
        kl = float(np.sum(q0[q0 > 0] * np.log(q0[q0 > 0] / p0[q0 > 0])))
        law = q0.copy()
        for t in range(2):
            kl += float(np.sum(law[:, None] * np.where(q[t] > 0, q[t] * np.log(q[t] / K[t]), 0)))
            law = law @ q[t]
        assert abs(res.value - (law @ r - beta * kl)) < 1e-12


def test_dependence_measures():
    dep = start_dependence([0.5, 0.5], mixing_kernels(2, 3, 0.2))
    assert abs(dep.dobrushin - 0.8**3) < 1e-12 and dep.mutual_information > 0
    assert start_dependence([1.0, 0.0], mixing_kernels(2, 3, 0.2)).dobrushin == 0.0
    assert start_dependence([0.5, 0.5], mixing_kernels(2, 3, 1.0)).mutual_information < 1e-15


# ------------------------------------------------------------------ validation and dtypes
def test_validation_names_the_argument():
    mdp = envs.chain(4, gamma=0.9)
    with pytest.raises(ValueError, match="form"):
        design_reward(mdp, [1, 1, 1, 0], form="dense")
    with pytest.raises(ValueError, match="target"):
        design_reward(mdp, [1, 1, 5, 0])
    with pytest.raises(ValueError, match="target"):
        design_reward(mdp, np.full((4, 2), 0.5))
    with pytest.raises(TypeError, match="target"):
        design_reward(mdp, "up")
    with pytest.raises(ValueError, match="r_max"):
        design_reward(mdp, [1, 1, 1, 0], r_max=float("nan"))
    with pytest.raises(TypeError, match="mdp"):
        design_reward(None, [1, 1, 1, 0])
    K = mixing_kernels(2, 2, 0.5)
    with pytest.raises(ValueError, match="beta"):
        controlled_terminal_law([0.5, 0.5], K, [0.0, 1.0], beta=0.0)
    with pytest.raises(ValueError, match="p0"):
        controlled_terminal_law([0.5, 0.6], K, [0.0, 1.0], beta=1.0)
    with pytest.raises(ValueError, match="kernels"):
        controlled_terminal_law([0.5, 0.5], K * 2, [0.0, 1.0], beta=1.0)
    with pytest.raises(ValueError, match="reward"):
        controlled_terminal_law([0.5, 0.5], K, [0.0, np.inf], beta=1.0)
    with pytest.raises(TypeError, match="control_initial"):
        controlled_terminal_law([0.5, 0.5], K, [0.0, 1.0], 1.0, control_initial="yes")
    with pytest.raises(ValueError, match="beta"):
        controlled_terminal_law([0.5, 0.5], K, [0.0, 1e3], beta=1e-308)
    with pytest.raises(ValueError, match="mixing"):
        mixing_kernels(2, 2, 1.5)


def test_float32_agrees_with_float64():
    K = mixing_kernels(3, 2, 0.3)
    p0, r = np.array([0.2, 0.3, 0.5]), np.array([1.0, 0.0, -1.0])
    a = controlled_terminal_law(p0, K, r, 0.5)
    b = controlled_terminal_law(
        p0.astype(np.float32), K.astype(np.float32), r.astype(np.float32), np.float32(0.5)
    )
    np.testing.assert_allclose(a.terminal_law, b.terminal_law, atol=1e-6)
    mdp = envs.chain(4, gamma=0.9)
    pi = mdp.solve().policy
    assert (
        abs(
            design_reward(mdp, pi.astype(np.float32), delta=np.float32(0.1)).value
            - design_reward(mdp, pi, delta=0.1).value
        )
        < 1e-6
    )


def test_degenerate_mdps():
    # a single absorbing state: nothing to design
    P = np.ones((1, 2, 1))
    res = design_reward(TabularMDP(P, np.zeros((1, 2)), 0.9), [0], delta=0.5)
    assert res.value == 0.0 and res.n_nonzero == 0
    # one action: no margin constraint, the zero reward
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    res = design_reward(TabularMDP(P, np.ones((2, 1)), 0.9), [0, 0], delta=0.5)
    assert res.value == 0.0
