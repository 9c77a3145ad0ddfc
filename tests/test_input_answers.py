"""Inputs the reliability issue found answered wrongly: each now gets a correct result or an error
naming the argument."""

import numpy as np
import pytest

from prefrl.bandits import ipo_population_loss
from prefrl.mdp import envs
from prefrl.restricted import k_sample_limit
from prefrl.reward_learning import inverse_link


def test_k_sample_limit_is_finite_and_exact_at_small_beta_r():
    """At beta_r = 1e-8 the Gibbs target underflows to zeros; the divergence is large, not inf."""
    r, phi = np.array([1.0, 0.0, -1.0]), np.eye(3)
    theta = np.zeros(3)
    value = k_sample_limit(theta, r, phi, beta_r=1e-8)
    # KL(uniform || star) with log star = (r - max r)/beta_r - log Z: (1/3)(0 + 1e8 + 2e8)
    assert np.isfinite(value) and value == pytest.approx(1e8, rel=1e-6)
    assert k_sample_limit(r, r, phi, beta_r=1.0) == pytest.approx(0.0, abs=1e-12)


def test_ipo_population_loss_overflow_is_a_value_error_naming_beta():
    with pytest.raises(ValueError, match="beta"):
        ipo_population_loss([0.5, 0.5], [[0.5, 0.8], [0.2, 0.5]], [0.5, 0.5], [0.5, 0.5],
                            beta=1e-300)


@pytest.mark.parametrize("p", [[0.0, 0.5], [0.5, 1.0]])
def test_inverse_link_of_0_or_1_names_p(p):
    with pytest.raises(ValueError, match=r"p\[\d\] = .*must be in \(0, 1\)"):
        inverse_link(p)


def test_random_mdp_sparse_must_be_a_bool():
    with pytest.raises(TypeError, match="sparse"):
        envs.random_mdp(3, 2, rng=0, sparse="no")


@pytest.mark.parametrize("bad", ["1", True, float("nan"), None])
def test_chain_goal_reward_must_be_a_real_number(bad):
    with pytest.raises((TypeError, ValueError), match="goal_reward"):
        envs.chain(4, goal_reward=bad)


@pytest.mark.parametrize("gamma", [5.0, -0.1, "0.5", True])
def test_discounted_returns_checks_gamma(gamma):
    from prefrl.mdp import Rollouts
    ro = Rollouts(states=np.zeros((2, 4), int), actions=np.zeros((2, 3), int),
                  rewards=np.ones((2, 3)))
    assert ro.discounted_returns(0.5) == pytest.approx([1.75, 1.75])
    with pytest.raises((TypeError, ValueError), match="gamma"):
        ro.discounted_returns(gamma)


@pytest.mark.parametrize("junk", [None, "x", 3])
def test_ltl_constructors_refuse_junk_naming_the_argument(junk):
    from prefrl.expressivity import always, eventually, next_, prop, until
    for build, name in ((eventually, "b"), (always, "b"), (next_, "formula")):
        with pytest.raises(TypeError, match=f"^{name} must be an LTL Formula"):
            build(junk)
    with pytest.raises(TypeError, match=r"^b2 must be"):
        until(prop(0), junk)


def test_trajectory_game_refuses_a_preference_with_p_plus_p_transpose_not_one():
    from prefrl.games import TrajectoryGame
    from prefrl.mdp import TabularMDP
    P = np.zeros((1, 2, 1))
    P[0, :, 0] = 1.0
    mdp = TabularMDP(P, np.zeros((1, 2)), gamma=1.0, horizon=2)
    with pytest.raises(ValueError, match=r"preference\(x, y\) \+ preference\(y, x\) = 1.8"):
        TrajectoryGame(mdp, lambda x, y: 0.9)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_optimiser_steps_refuse_a_non_finite_gradient(opt_name, bad):
    from prefrl import training
    opt = getattr(training, opt_name)(lr=0.1)
    params = np.zeros(3)
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"grad\[1\] = .*must be finite"):
        opt.update(params, np.array([0.0, bad, 0.0]), state)
    new, _ = opt.update(params, np.array([1.0, 0.0, 0.0]), state)
    assert np.all(np.isfinite(new))
