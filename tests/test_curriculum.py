"""Tests of prefrl.curriculum: ROLLIN, the mismatch coefficient and exact softmax policy gradient."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl.curriculum import (
    discounted_state_distribution,
    goal_chain,
    mismatch_coefficient,
    policy_gradient,
    rollin,
    rollin_initial,
    sampled_policy_gradient,
    softmax_pg_ascent,
)
from prefrl.mdp import TabularMDP, envs, softmax_policy_gradient
from prefrl.mdp._strategies import mdp_arrays, policies
from prefrl.proofs_check.curriculum import (
    mismatch_definition,
    performance_difference,
    rollin_gradient_fd,
)

WEIGHTS = st.sampled_from([0.0, 0.0, 0.5, 1.0]) | st.floats(0.0, 1.0)


@st.composite
def instances(draw, max_states=4, max_actions=3):
    """A dict in the format of proofs_check.curriculum.draw_mdp_policies, drawn by hypothesis."""
    P, R, rho = draw(mdp_arrays(max_states, max_actions, sas_rewards=False))
    S, A = R.shape
    mu_w = draw(hnp.arrays(np.float64, (S,), elements=WEIGHTS))
    mu = mu_w / mu_w.sum() if mu_w.sum() > 0 else np.full(S, 1.0 / S)
    return {
        "P": P, "R": R, "rho": rho, "mu": mu,
        "gamma": draw(st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0.0, 0.95)),
        "pi": draw(policies(S, A)), "pi2": draw(policies(S, A)),
        "theta": draw(hnp.arrays(np.float64, (S, A), elements=st.floats(-3.0, 3.0))),
        "tau": draw(st.sampled_from([0.0, 0.1, 1.0])),
        "beta": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
    }


# ---------------------------------------------------------------------------------- environment
@given(st.integers(2, 12), st.data(), st.sampled_from([0.0, 0.5, 0.9]), st.booleans())
def test_goal_chain_optimal_value_is_gamma_to_the_goal(n, data, gamma, reset):
    g = data.draw(st.integers(0, n - 1))
    mdp = goal_chain(n, g, reset=reset, gamma=gamma)
    res = mdp.solve()
    assert res.values[0] == pytest.approx(gamma**g / (1 - gamma), rel=1e-9, abs=1e-12)
    # Optimal (ties allowed): forward before the goal, stay at it.
    Q = res.q_values
    assert Q[g, 1] >= Q[g].max() - 1e-9
    if gamma > 0:
        assert np.all(Q[:g, 2] >= Q[:g].max(axis=1) - 1e-9)
        assert np.all(Q[:g, 2] > Q[:g, 1] + 1e-12)


def test_goal_chain_dynamics():
    mdp = goal_chain(4, 2, reset=True)
    P = mdp.transitions
    assert P[3, 0, 0] == 1 and P[3, 2, 3] == 1 and P[1, 1, 1] == 1
    mdp = goal_chain(4, 2, reset=False)
    assert mdp.transitions[3, 0, 2] == 1 and mdp.transitions[0, 0, 0] == 1
    np.testing.assert_array_equal(mdp.expected_rewards[:, 0], [0, 0, 1, 0])


# ---------------------------------------------------------------------------------- distributions
@settings(max_examples=40)
@given(instances())
def test_discounted_state_distribution_properties(inst):
    mdp = TabularMDP(inst["P"], inst["R"], inst["gamma"], inst["rho"])
    d = discounted_state_distribution(mdp, inst["pi"])
    assert d.sum() == pytest.approx(1.0, abs=1e-9)
    # d >= (1 - gamma) rho, and d = (1-gamma) rho + gamma d P_pi (the flow equation).
    assert np.all(d >= (1 - mdp.gamma) * inst["rho"] - 1e-12)
    Ppi = np.einsum("sa,sat->st", inst["pi"], inst["P"])
    np.testing.assert_allclose(d, (1 - mdp.gamma) * inst["rho"] + mdp.gamma * d @ Ppi,
                               atol=1e-10)


@settings(max_examples=40)
@given(instances())
def test_mismatch_coefficient_matches_definition_and_gradient_domination(inst):
    assert mismatch_definition(inst) <= 1e-9


@settings(max_examples=40)
@given(instances())
def test_rollin_initial_is_the_mixture(inst):
    mdp = TabularMDP(inst["P"], inst["R"], inst["gamma"], inst["rho"])
    b = inst["beta"]
    mu_k = rollin_initial(mdp, inst["pi"], b, inst["mu"])
    d = discounted_state_distribution(mdp, inst["pi"], inst["mu"])
    np.testing.assert_allclose(mu_k, b * d + (1 - b) * inst["mu"], atol=1e-12)
    # ROLLIN covers d: the mismatch of pi against mu_k is at most 1/beta.
    if b > 0:
        assert mismatch_coefficient(mdp, inst["pi"], mu_k, inst["mu"]) <= 1 / b + 1e-9


def test_mismatch_coefficient_special_cases():
    mdp = goal_chain(3, 2, gamma=0.5)
    fwd = np.array([2, 2, 1])
    d = discounted_state_distribution(mdp, fwd)
    assert mismatch_coefficient(mdp, fwd, d) == pytest.approx(1.0)
    assert mismatch_coefficient(mdp, fwd, [1.0, 0.0, 0.0]) == np.inf
    # Absorbing start: d = delta_0 and any mu covering state 0 gives 1 / mu(0).
    stay = np.array([1, 1, 1])
    assert mismatch_coefficient(mdp, stay, [0.25, 0.25, 0.5]) == pytest.approx(4.0)


# ---------------------------------------------------------------------------------- policy gradient
@settings(max_examples=15)
@given(instances(max_states=3))
def test_rollin_policy_gradient_equals_finite_differences(inst):
    assert rollin_gradient_fd(inst) <= 1e-7


@settings(max_examples=40)
@given(instances())
def test_performance_difference_lemma(inst):
    assert performance_difference(inst) <= 1e-9


def test_policy_gradient_uses_the_given_start_distribution():
    mdp = goal_chain(4, 3, gamma=0.9)
    theta = np.zeros((4, 3))
    g0 = policy_gradient(mdp, theta).gradient
    g2 = policy_gradient(mdp, theta, 0.3, initial=[0.0, 0.0, 1.0, 0.0]).gradient
    ref = TabularMDP(mdp.transitions, mdp.rewards, mdp.gamma, [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(g2, softmax_policy_gradient(ref, theta, beta=0.3).gradient,
                               rtol=1e-12, atol=1e-15)
    assert np.abs(g2 - g0).max() > 1e-3 and g2[2].argmax() == 2


def test_pg_ascent_monotone_and_censoring():
    mdp = goal_chain(6, 5, gamma=0.9)
    target = 0.9 * 0.9**5 / 0.1
    run = softmax_pg_ascent(mdp, np.zeros((6, 3)), lr=0.5, target=target)
    assert run.converged and run.value >= target
    # Censored: a tiny budget does not reach the target.
    short = softmax_pg_ascent(mdp, np.zeros((6, 3)), lr=0.5, target=target, max_iter=3)
    assert not short.converged and short.iterations == 3 and short.value < target
    # Values along the path increase for a small step.
    vals = [softmax_pg_ascent(mdp, np.zeros((6, 3)), lr=0.5, target=np.inf, max_iter=k).value
            for k in range(0, 40, 5)]
    assert np.all(np.diff(vals) > 0)
    # Target already met: zero iterations.
    assert softmax_pg_ascent(mdp, np.zeros((6, 3)), lr=0.5, target=-1.0).iterations == 0


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_sampled_policy_gradient_is_unbiased(tau):
    """Batch means of the REINFORCE estimate agree with the exact gradient within 5 standard
    errors (plus the truncation bias gamma^L / (1 - gamma) * max|reward|)."""
    mdp = goal_chain(4, 2, reset=False, gamma=0.7)
    theta = np.array([[0.3, -0.2, 0.5], [0.0, 1.0, -1.0], [0.2, 0.2, 0.0], [1.0, 0.0, 0.0]])
    rho = [0.5, 0.25, 0.25, 0.0]
    exact = policy_gradient(mdp, theta, tau, initial=rho).gradient
    L = 60
    batches = np.array([sampled_policy_gradient(mdp, theta, seed, 1500, L, tau=tau, initial=rho)
                        for seed in range(12)])
    mean = batches.mean(axis=0)
    se = batches.std(axis=0, ddof=1) / np.sqrt(len(batches))
    bias = 0.7**L / 0.3 * (1.0 + tau * np.log(3) + tau * 2.0)
    assert np.all(np.abs(mean - exact) <= 5 * se + bias + 1e-12)
    assert np.abs(exact).max() > 10 * se.max()      # the test can tell gradients apart


# ---------------------------------------------------------------------------------- ROLLIN
def test_rollin_single_context_is_learning_from_scratch():
    mdp = goal_chain(8, 7, gamma=0.9)
    res = rollin([mdp], mixing=0.5, lr=1.0, tau=0.1, eps=0.1)
    target = float(mdp.initial @ mdp.soft_solve(0.1).values) - 0.1 * float(
        mdp.initial @ mdp.solve().values)
    run = softmax_pg_ascent(mdp, np.zeros((8, 3)), 1.0, target=target, tau=0.1)
    assert res.total_iterations == run.iterations and res.all_converged
    assert res.mismatch[0] == np.inf      # mu = delta_0 misses visited states


def test_rollin_beats_learning_from_scratch_on_a_long_chain():
    n = 14
    contexts = [goal_chain(n, g) for g in range(1, n)]
    res = rollin(contexts, mixing=0.5, lr=1.0, tau=0.1, eps=0.1, max_iter=5000)
    scratch = rollin(contexts[-1:], mixing=0.5, lr=1.0, tau=0.1, eps=0.1, max_iter=5000)
    assert res.all_converged and scratch.all_converged
    assert scratch.total_iterations > 3 * res.total_iterations
    assert res.stage_iterations.shape == (n - 1,) and np.all(np.isfinite(res.mismatch[1:]))
    warm = rollin(contexts, mixing=0.0, lr=1.0, tau=0.1, eps=0.1, max_iter=5000)
    assert np.all(np.isinf(warm.mismatch))


# ---------------------------------------------------------------------------------- validation
def test_bad_inputs_raise_value_errors_naming_the_argument():
    with pytest.raises(ValueError, match="goal"):
        goal_chain(4, 4)
    with pytest.raises(ValueError, match="n must be"):
        goal_chain(1, 0)
    mdp = goal_chain(4, 3)
    with pytest.raises(ValueError, match="mu"):
        mismatch_coefficient(mdp, np.array([2, 2, 2, 1]), [0.5, 0.6, 0.0, 0.0])
    with pytest.raises(ValueError, match="mixing"):
        rollin_initial(mdp, np.array([2, 2, 2, 1]), 1.5)
    with pytest.raises(ValueError, match="init"):
        softmax_pg_ascent(mdp, np.zeros((3, 3)), 1.0, target=1.0)
    with pytest.raises(ValueError, match="lr"):
        softmax_pg_ascent(mdp, np.zeros((4, 3)), 0.0, target=1.0)
    with pytest.raises(ValueError, match="initial"):
        policy_gradient(mdp, np.zeros((4, 3)), initial=[1.0, 0.0])
    with pytest.raises(ValueError, match="contexts must not be empty"):
        rollin([], 0.5, 1.0)
    with pytest.raises(ValueError, match="share the dynamics"):
        rollin([goal_chain(4, 1), goal_chain(4, 2, reset=False)], 0.5, 1.0)
    with pytest.raises(ValueError, match="share the dynamics"):
        rollin([goal_chain(4, 1), envs.chain(4)], 0.5, 1.0)
    with pytest.raises(ValueError, match="eps"):
        rollin([goal_chain(4, 1)], 0.5, 1.0, eps=0.0)
    with pytest.raises(ValueError, match="n_episodes"):
        sampled_policy_gradient(mdp, np.zeros((4, 3)), 0, 0, 5)
    with pytest.raises(ValueError, match="rng"):
        sampled_policy_gradient(mdp, np.zeros((4, 3)), None, 5, 5)
    with pytest.raises(ValueError, match="infinite-horizon"):
        discounted_state_distribution(envs.chain(3, gamma=1.0, horizon=3), np.zeros(3, int))


def test_renamed_keywords_still_work_and_warn():
    ctx = [goal_chain(5, g) for g in range(1, 5)]
    new = rollin(ctx, mixing=0.5, lr=1.0, init=np.zeros((5, 3)))
    with pytest.warns(DeprecationWarning, match="'beta' is deprecated, use 'mixing'"):
        old = rollin(ctx, beta=0.5, lr=1.0)
    with pytest.warns(DeprecationWarning, match="'theta0' is deprecated, use 'init'"):
        rollin(ctx, 0.5, 1.0, theta0=np.zeros((5, 3)))
    assert old.total_iterations == new.total_iterations and old.mixing == 0.5
    with pytest.warns(DeprecationWarning, match="CurriculumResult.beta is deprecated"):
        assert old.beta == 0.5
    mdp = goal_chain(3, 2, gamma=0.5)
    with pytest.warns(DeprecationWarning, match="'mu' is deprecated, use 'initial'"):
        mu_k = rollin_initial(mdp, np.array([2, 2, 1]), 0.5, mu=[1.0, 0.0, 0.0])
    np.testing.assert_array_equal(mu_k, rollin_initial(mdp, np.array([2, 2, 1]), 0.5))
    with pytest.warns(DeprecationWarning, match="'theta0' is deprecated, use 'init'"):
        run = softmax_pg_ascent(mdp, lr=1.0, target=1.0, theta0=np.zeros((3, 3)))
    assert run.iterations == softmax_pg_ascent(mdp, np.zeros((3, 3)), 1.0, target=1.0).iterations


def test_results_are_results_with_a_certificate():
    from prefrl.results import Result

    mdp = goal_chain(6, 5, gamma=0.9)
    target = 0.9 * 0.9**5 / 0.1
    done = softmax_pg_ascent(mdp, np.zeros((6, 3)), lr=0.5, target=target)
    short = softmax_pg_ascent(mdp, np.zeros((6, 3)), lr=0.5, target=target, max_iter=3)
    assert isinstance(done, Result) and done.certificate == 0.0
    assert short.certificate == pytest.approx(target - short.value) and short.certificate > 0
    res = rollin([mdp], mixing=0.5, lr=1.0)
    assert isinstance(res, Result) and res["mixing"] == 0.5
