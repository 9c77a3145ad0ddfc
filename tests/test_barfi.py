"""Tests of prefrl.barfi: exact bi-level reward optimisation (BARFI) on bandits and tabular MDPs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl.barfi import (
    BilevelProblem,
    alignment_parameterisation,
    bandit_inner_optimum,
    bandit_problem,
    outer_ascent,
    potential_based_reward,
    weighted_sum_parameterisation,
)
from prefrl.mdp import TabularMDP, envs, softmax_policy_gradient
from prefrl.mdp._strategies import mdp_arrays
from prefrl.proofs_check.barfi import (
    implicit_gradient_fd,
    neumann_converges,
    potential_aux_invariance,
)

REWARDS = st.sampled_from([-1.0, 0.0, 0.0, 1.0]) | st.floats(-2.0, 2.0)
TAUS = st.sampled_from([0.2, 0.5, 1.0, 3.0])


@st.composite
def bandits(draw):
    K = draw(st.integers(1, 5))
    r_p = draw(hnp.arrays(np.float64, (K,), elements=REWARDS))
    r_aux = draw(hnp.arrays(np.float64, (K,), elements=REWARDS))
    phi = draw(hnp.arrays(np.float64, (2,), elements=st.floats(-2.0, 2.0)))
    return r_p, r_aux, draw(TAUS), phi


@st.composite
def bilevel_instances(draw, max_states=4, max_actions=3):
    """A dict in the format of proofs_check.barfi.draw_bilevel, drawn by hypothesis."""
    P, R, mu = draw(mdp_arrays(max_states, max_actions, sas_rewards=False))
    S, A = R.shape
    return {
        "P": P, "r_p": R, "mu": mu,
        "r_aux": draw(hnp.arrays(np.float64, (S, A), elements=REWARDS)),
        "gamma": draw(st.sampled_from([0.0, 0.5, 0.9])),
        "tau": draw(TAUS),
        "alignment": draw(st.booleans()),
        "learn_gamma": draw(st.booleans()),
        "phi_scale": draw(st.sampled_from([0.0, 1.0])),
        "seed": draw(st.integers(0, 2**31 - 1)),
        "potential": draw(hnp.arrays(np.float64, (S,), elements=REWARDS)),
        "weight": draw(st.floats(-3.0, 3.0)),
    }


# ---------------------------------------------------------------------------------- bandit closed forms
@given(bandits())
def test_bandit_inner_optimum_and_gradient_closed_forms(inst):
    r_p, r_aux, tau, phi = inst
    prob = bandit_problem(r_p, r_aux, tau)
    r_phi = phi[0] * r_p + phi[1] * r_aux
    pi = bandit_inner_optimum(r_phi, tau)
    np.testing.assert_allclose(prob.inner_solve(phi).policy[0], pi, rtol=1e-9, atol=1e-12)
    # grad = (1/tau) F (diag pi - pi pi^T) r_p
    F = np.stack([r_p, r_aux])
    expected = F @ ((np.diag(pi) - np.outer(pi, pi)) @ r_p) / tau
    got = prob.implicit_gradient(phi).gradient
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert prob.outer_value(phi) == pytest.approx(pi @ r_p, rel=1e-12, abs=1e-12)


def test_bandit_degenerate_cases():
    # Tied primary rewards: J is constant, so the gradient is exactly zero.
    prob = bandit_problem([1.0, 1.0, 1.0], [0.0, 3.0, -1.0], tau=0.5)
    assert np.all(prob.implicit_gradient([1.0, 1.0]).gradient == 0.0)
    # Zero auxiliary reward: no gradient along its weight.
    prob = bandit_problem([1.0, 0.0], [0.0, 0.0], tau=0.5)
    assert prob.implicit_gradient([0.3, 2.0]).gradient[1] == 0.0
    # A single arm: nothing to learn.
    prob = bandit_problem([2.0], [1.0], tau=1.0)
    assert prob.outer_value([1.0, 1.0]) == 2.0
    assert np.all(prob.implicit_gradient([1.0, 1.0]).gradient == 0.0)
    # Nearly deterministic inner optimum (tau tiny): finite, no NaN.
    prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1e-4)
    g = prob.implicit_gradient([1.0, 2.0])
    assert np.all(np.isfinite(g.gradient)) and g.value == pytest.approx(0.0, abs=1e-12)


def test_bandit_alignment_parameterisation_matches_offset_and_weight():
    prob = bandit_problem([1.0, 0.0, 0.5], [0.0, 2.0, 0.0], tau=0.5, parameterisation="alignment")
    # offset phi1 does not change a one-state policy; weight phi2 scales r_aux.
    np.testing.assert_allclose(prob.inner_solve([3.0, 0.25]).policy,
                               prob.inner_solve([0.0, 0.25]).policy, rtol=1e-12)
    grad = prob.implicit_gradient([0.0, 1.0]).gradient
    assert grad[0] == pytest.approx(0.0, abs=1e-15) and grad[1] < 0


# ---------------------------------------------------------------------------------- implicit gradient
@settings(max_examples=15)
@given(bilevel_instances())
def test_implicit_gradient_equals_finite_differences(inst):
    assert implicit_gradient_fd(inst) <= 1e-7


@settings(max_examples=25)
@given(bilevel_instances())
def test_implicit_gradient_equals_dense_pseudo_inverse(inst):
    from prefrl.proofs_check.barfi import _problem

    prob, phi = _problem(inst)
    H, B, g = prob.implicit_system(phi)
    dense = -B.T @ np.linalg.pinv(H, rcond=1e-12, hermitian=True) @ g
    got = prob.implicit_gradient(phi).gradient
    np.testing.assert_allclose(got, dense, rtol=1e-6, atol=1e-9 * (1 + np.abs(got).max()))


@settings(max_examples=12)
@given(bilevel_instances(max_states=3))
def test_hessian_and_cross_derivatives_match_the_exact_policy_gradient(inst):
    """H and B against finite differences of prefrl.mdp's exact (entropy-regularised) gradient."""
    from prefrl.proofs_check.barfi import _problem

    prob, phi = _problem(inst)
    S, A = inst["r_p"].shape
    sol = prob.inner_solve(phi)
    H, B, _ = prob.implicit_system(phi)

    def inner_grad(theta, p):
        mdp = TabularMDP(inst["P"], prob.inner_reward(p), prob.inner_discount(p), inst["mu"])
        return softmax_policy_gradient(mdp, theta.reshape(S, A), beta=prob.tau).gradient.ravel()

    h = 1e-5
    theta = sol.theta.ravel()
    H_fd = np.stack([(inner_grad(theta + h * e, phi) - inner_grad(theta - h * e, phi)) / (2 * h)
                     for e in np.eye(S * A)], axis=1)
    B_fd = np.stack([(inner_grad(theta, phi + h * e) - inner_grad(theta, phi - h * e)) / (2 * h)
                     for e in np.eye(prob.n_params)], axis=1)
    scale = 1.0 + np.abs(H).max() + np.abs(B).max()
    assert np.abs(H - H_fd).max() <= 1e-6 * scale
    assert np.abs(B - B_fd).max() <= 1e-6 * scale
    # theta* is a stationary point of the inner objective.
    assert np.abs(inner_grad(theta, phi)).max() <= 1e-9 * scale


# ---------------------------------------------------------------------------------- Neumann series
@settings(max_examples=25)
@given(bilevel_instances())
def test_neumann_error_within_geometric_bound(inst):
    assert neumann_converges(inst) <= 1e-9


def test_neumann_series_converges_and_first_order_is_k0():
    prob = bandit_problem([1.0, 0.0, 0.5], [0.0, 2.0, 0.3], tau=1.0)
    phi = np.array([1.0, 0.7])
    exact = prob.implicit_gradient(phi).gradient
    errs = [np.linalg.norm(prob.neumann_gradient(phi, K).gradient - exact) for K in (0, 1, 3, 200)]
    assert errs[0] > errs[1] > errs[2] > 1e-6 and errs[3] <= 1e-12 * np.linalg.norm(exact)
    np.testing.assert_array_equal(prob.first_order_gradient(phi, alpha=0.3).gradient,
                                  prob.neumann_gradient(phi, 0, alpha=0.3).gradient)
    fo = prob.first_order_gradient(phi)
    assert fo.method == "first_order" and fo.n_terms == 0


# ---------------------------------------------------------------------------------- shaping
@settings(max_examples=25)
@given(bilevel_instances())
def test_potential_based_aux_leaves_inner_optimum_unchanged(inst):
    assert potential_aux_invariance(inst) <= 1e-9


def test_non_potential_aux_does_change_the_optimum():
    """The invariance check can fail: an action-dependent aux reward changes the policy."""
    mdp = envs.chain(4, gamma=0.9)
    aux = np.zeros((4, 2))
    aux[:, 0] = 1.0
    prob = BilevelProblem(mdp, weighted_sum_parameterisation(mdp.expected_rewards, aux), 0.3)
    a, b = prob.inner_solve([1.0, 0.0]).policy, prob.inner_solve([1.0, 2.0]).policy
    assert np.abs(a - b).max() > 0.1
    assert prob.implicit_gradient([1.0, 0.0]).gradient[1] < -1e-3


def test_potential_based_reward_values():
    mdp = envs.chain(3, gamma=0.5)
    F = potential_based_reward(mdp, [1.0, 2.0, 4.0], gamma=0.5)
    # state 0: left stays at 0 -> 0.5*1 - 1; right goes to 1 -> 0.5*2 - 1
    np.testing.assert_allclose(F[0], [-0.5, 0.0])
    np.testing.assert_allclose(F[2], [-2.0, -2.0])


# ---------------------------------------------------------------------------------- learned discount
def test_learned_discount_gradient_and_value():
    mdp = envs.chain(5, gamma=0.95)
    aux = np.zeros((5, 2))
    prob = BilevelProblem(mdp, weighted_sum_parameterisation(mdp.expected_rewards, aux), 0.2,
                          learn_gamma=True)
    phi = np.array([1.0, 0.0, 0.0])       # gamma_phi = 0.5: myopic inner agent
    assert prob.inner_discount(phi) == 0.5
    grad = prob.implicit_gradient(phi).gradient
    # A far-sighted inner agent reaches the goal more reliably: raise gamma_phi.
    assert grad[2] > 0
    h = 1e-4
    e = np.array([0.0, 0.0, h])
    fd = (prob.outer_value(phi + e) - prob.outer_value(phi - e)) / (2 * h)
    assert grad[2] == pytest.approx(fd, rel=1e-6)
    with pytest.raises(ValueError, match="gamma_phi = 1"):
        prob.inner_solve([1.0, 0.0, 800.0])


# ---------------------------------------------------------------------------------- outer ascent
def test_outer_ascent_switches_off_a_bad_aux_reward_and_keeps_a_good_one():
    r_p = np.array([1.0, 0.0, 0.5])
    bad = bandit_problem(r_p, [0.0, 2.0, 0.0], tau=0.5)
    res = outer_ascent(bad, [1.0, 1.0], n_steps=200, lr=1.0)
    assert res.values[-1] > bad.outer_value([1.0, 0.0]) > res.values[0]
    assert res.params[-1, 1] / res.params[-1, 0] < 0.2
    assert np.all(np.diff(res.values) >= -1e-12)       # small steps: monotone ascent
    good = bandit_problem(r_p, [2.0, 0.0, 0.0], tau=0.5)
    res = outer_ascent(good, [1.0, 1.0], n_steps=50, lr=1.0, method="neumann", n_terms=20)
    assert res.params[-1, 1] > 1.0 and res.values[-1] >= res.values[0]
    assert res.params.shape == (51, 2) and res.values.shape == (51,) and res.iterations == 50


def test_outer_ascent_zero_steps():
    prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
    res = outer_ascent(prob, [1.0, 1.0], n_steps=0, lr=1.0, method="first_order")
    assert res.params.shape == (1, 2) and res.values.shape == (1,)


# ---------------------------------------------------------------------------------- validation
def test_bad_inputs_raise_value_errors_naming_the_argument():
    with pytest.raises(ValueError, match="tau"):
        bandit_problem([1.0, 0.0], [0.0, 1.0], tau=0.0)
    with pytest.raises(ValueError, match="r_p and r_aux"):
        bandit_problem([1.0, 0.0], [0.0, 1.0, 2.0], tau=1.0)
    with pytest.raises(ValueError, match="parameterisation"):
        bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0, parameterisation="other")
    prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
    with pytest.raises(ValueError, match="phi"):
        prob.implicit_gradient([1.0, 0.0, 3.0])
    with pytest.raises(ValueError, match="phi"):
        prob.outer_value([np.nan, 1.0])
    with pytest.raises(ValueError, match="terms"):
        prob.neumann_gradient([1.0, 0.0], n_terms=-1)
    with pytest.raises(ValueError, match="alpha"):
        prob.neumann_gradient([1.0, 0.0], n_terms=1, alpha=-1.0)
    with pytest.raises(ValueError, match="method"):
        outer_ascent(prob, [1.0, 1.0], n_steps=1, lr=1.0, method="sgd")
    with pytest.raises(ValueError, match="lr"):
        outer_ascent(prob, [1.0, 1.0], n_steps=1, lr=0.0)
    mdp = envs.chain(3)
    with pytest.raises(ValueError, match="reward must have shapes"):
        BilevelProblem(mdp, weighted_sum_parameterisation([1.0, 0.0], [0.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="inner_gamma"):
        BilevelProblem(mdp, alignment_parameterisation(mdp.expected_rewards,
                                                       mdp.expected_rewards), 1.0, inner_gamma=1.0)
    with pytest.raises(ValueError, match=r"infinite-horizon"):
        BilevelProblem(envs.chain(3, gamma=1.0, horizon=4),
                       weighted_sum_parameterisation(np.zeros((3, 2)), np.zeros((3, 2))), 1.0)
    with pytest.raises(ValueError, match="potential"):
        potential_based_reward(mdp, [1.0, 2.0])
    with pytest.raises(ValueError, match="r_phi"):
        bandit_inner_optimum([np.inf, 0.0], 1.0)


def test_renamed_names_still_work_and_warn():
    prob = bandit_problem([1.0, 0.0, 0.5], [0.0, 2.0, 0.3], tau=1.0)
    new = outer_ascent(prob, [1.0, 1.0], n_steps=3, lr=1.0, method="neumann", n_terms=2)
    with pytest.warns(DeprecationWarning, match="'phi0' is deprecated, use 'init'"):
        old = outer_ascent(prob, phi0=[1.0, 1.0], n_steps=3, lr=1.0)
    np.testing.assert_array_equal(old.params, outer_ascent(prob, [1.0, 1.0], 3, 1.0).params)
    with pytest.warns(DeprecationWarning, match="'steps' is deprecated, use 'n_steps'"):
        outer_ascent(prob, [1.0, 1.0], steps=3, lr=1.0)
    with pytest.warns(DeprecationWarning, match="'terms' is deprecated, use 'n_terms'"):
        again = outer_ascent(prob, [1.0, 1.0], n_steps=3, lr=1.0, method="neumann", terms=2)
    np.testing.assert_array_equal(again.params, new.params)
    with pytest.warns(DeprecationWarning, match="'terms' is deprecated"):
        g = prob.neumann_gradient([1.0, 1.0], terms=4)
    with pytest.warns(DeprecationWarning, match="BarfiGradient.terms is deprecated"):
        assert g.terms == g.n_terms == 4
    with pytest.warns(DeprecationWarning, match="BarfiGradient.stationarity is deprecated"):
        assert g.stationarity == g.certificate
    sol = prob.inner_solve([1.0, 1.0])
    with pytest.warns(DeprecationWarning, match="InnerSolution.bellman_residual is deprecated"):
        assert sol.bellman_residual == sol.certificate


def test_results_subclass_the_result_base():
    from prefrl.results import Result

    mdp = envs.chain(4, gamma=0.9)
    prob = BilevelProblem(mdp, weighted_sum_parameterisation(mdp.expected_rewards,
                                                             np.zeros((4, 2))), 0.3)
    sol = prob.inner_solve([1.0, 0.5])
    assert isinstance(sol, Result) and sol.converged and sol.certificate <= 1e-12
    g = prob.implicit_gradient([1.0, 0.5])
    assert isinstance(g, Result) and g.certificate <= 1e-9 and g.n_terms == -1
    assert isinstance(prob.implicit_system([1.0, 0.5]), Result)
    res = outer_ascent(prob, [1.0, 0.5], n_steps=2, lr=0.1)
    assert isinstance(res, Result) and res.converged
    assert res.certificate == res.gradient_norms[-1]
