"""Tests of the DPO desiderata (reconstructed explicit loss) and SimPO's length-aware optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, softmax

from prefrl.bandits import (
    SimPOOptimum,
    bt_optimal_policy,
    dpo_population_optimum,
    explicit_bt_optimum,
    explicit_bt_population_loss,
    simpo_population_loss,
    simpo_population_optimum,
    simpo_two_action_gap,
)
from prefrl.proofs_check import bandits_desiderata as checks


def _bt(r):
    r = np.asarray(r, dtype=float)
    return expit(r[:, None] - r[None, :])


seeds = st.integers(0, 2**31 - 1)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_theorem_checks_hold_on_hypothesis_instances(seed):
    rng = np.random.default_rng(seed)
    assert checks.explicit_keeps_bt_optimal_reference(checks.draw_bt(rng)) < 1e-9
    assert checks.dpo_moves_bt_optimal_reference(checks.draw_bt(rng)) < 1e-9
    inst = checks.draw_unseen(rng)
    assert checks.explicit_unseen_keeps_reference(inst) < 1e-9
    assert checks.explicit_path_monotone(inst) < 1e-9
    s = checks.draw_simpo(rng)
    assert checks.simpo_summed_length_free(s) < 1e-9
    assert checks.simpo_normalised_ties(s) < 1e-9
    assert checks.simpo_two_action_stationarity(checks.draw_two(rng)) < 1e-9


@settings(max_examples=15, deadline=None)
@given(seeds)
def test_simpo_optimum_beats_perturbations(seed):
    assert checks.simpo_optimum_minimises(checks.draw_simpo(np.random.default_rng(seed))) < 1e-10


def test_explicit_optimum_matches_gradient_descent():
    """Full-batch gradient descent on the logits reaches the Newton optimum."""
    P = _bt([1.0, 0.0, -0.5])
    mu, ref, lam = np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.3, 0.6]), 0.7
    theta = np.log(ref)
    for _ in range(4000):
        pi = softmax(theta)
        W = np.outer(mu, mu) * P
        x = np.log(pi)[:, None] - np.log(pi)[None, :]
        G = W * expit(-x)
        g = -G.sum(axis=1) + G.sum(axis=0) + lam * (pi - ref)
        theta = theta - 2.0 * g
    res = explicit_bt_optimum(P, mu, ref, lam)
    assert np.abs(softmax(theta) - res.policy).max() < 1e-8
    assert res.certificate < 1e-12


def test_explicit_limits():
    P, mu = _bt([1.0, 0.2, -0.3, 0.0]), np.full(4, 0.25)
    ref = softmax([-1.0, 0.5, 0.0, 0.3])
    star = bt_optimal_policy(P, mu)
    assert np.abs(explicit_bt_optimum(P, mu, ref, 1e-6).policy - star).max() < 1e-4
    assert np.abs(explicit_bt_optimum(P, mu, ref, 1e6).policy - ref).max() < 1e-5


def test_explicit_exists_for_deterministic_preferences():
    res = explicit_bt_optimum([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], [0.5, 0.5], 1.0)
    assert res.converged and abs(res.policy[0] - 0.6) < 1e-12  # -(1-q)/4 + q - 1/2 = 0


def test_explicit_loss_is_minimised_at_the_optimum():
    rng = np.random.default_rng(3)
    P, mu, ref = _bt(rng.normal(size=4)), rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
    res = explicit_bt_optimum(P, mu, ref, 0.3)
    assert abs(res.value - explicit_bt_population_loss(res.policy, P, mu, ref, 0.3)) < 1e-12
    for _ in range(20):
        q = softmax(np.log(res.policy) + 0.05 * rng.normal(size=4))
        assert explicit_bt_population_loss(q, P, mu, ref, 0.3) >= res.value - 1e-12


def test_contexts_solve_separately():
    P = np.stack([_bt([1.0, 0.0]), _bt([0.0, 2.0])])
    mu, ref = np.full((2, 2), 0.5), np.array([[0.3, 0.7], [0.6, 0.4]])
    both = explicit_bt_optimum(P, mu, ref, 0.5)
    for s in range(2):
        one = explicit_bt_optimum(P[s], mu[s], ref[s], 0.5)
        assert np.allclose(both.policy[s], one.policy, atol=1e-12)
    assert bt_optimal_policy(P, mu).shape == (2, 2)
    assert explicit_bt_population_loss(both.policy, P, mu, ref, 0.5).shape == (2,)


def test_dpo_good_prompt_drifts():
    P, mu = _bt([1.0, 0.0, -1.0]), np.full(3, 1 / 3)
    star = bt_optimal_policy(P, mu)
    assert np.allclose(star, softmax([1.0, 0.0, -1.0]))
    pol = dpo_population_optimum(P, mu, star, 1.0).policy
    assert np.allclose(pol, softmax(2 * np.log(star)))


def test_simpo_ties_closed_form_and_monotone():
    L = np.array([3.0, 1.0, 7.0])
    res = simpo_population_optimum(np.full((3, 3), 0.5), [0.2, 0.3, 0.5], L, 2.0)
    t = -res.implicit_reward.mean() / 2.0
    assert np.allclose(res.policy, np.exp(-t * L), atol=1e-12)
    assert res.policy[1] > res.policy[0] > res.policy[2]
    assert isinstance(res, SimPOOptimum) and res.normalize


def test_simpo_summed_is_softmax_of_bt_reward():
    r = np.array([0.4, -0.2, 1.1])
    res = simpo_population_optimum(_bt(r), [0.3, 0.3, 0.4], [5, 1, 2], 2.5, normalize=False)
    assert np.allclose(res.policy, softmax(r / 2.5), atol=1e-10)


def test_simpo_margin_gap_limits():
    assert abs(simpo_two_action_gap(0.8) - np.log(4.0)) < 1e-12
    assert simpo_two_action_gap(0.5, 7.0) == 0.0
    assert abs(simpo_two_action_gap(0.9, 60.0) - 60.0 - np.log(0.8 / 0.1)) < 1e-9
    assert abs(simpo_two_action_gap(0.2, 60.0) + 60.0 - np.log(0.2 / 0.6)) < 1e-9
    gaps = [simpo_two_action_gap(0.6, g) for g in np.linspace(0, 10, 21)]
    assert np.all(np.diff(gaps) > 0)


def test_simpo_solver_matches_gap_for_large_margins():
    for p in (0.05, 0.7, 0.99):
        for g in (0.0, 3.0, 25.0):
            u = simpo_population_optimum([[0.5, p], [1 - p, 0.5]], [0.4, 0.6], [2, 2], 1.0, g)
            assert (
                abs(u.implicit_reward[0] - u.implicit_reward[1] - simpo_two_action_gap(p, g)) < 1e-8
            )
            assert u.converged


def test_simpo_monte_carlo_loss_agrees():
    """Monte Carlo: one labelled comparison per pair of draws. The population loss weighs ordered
    pairs by mu mu P, so it is half the mean loss per comparison."""
    rng = np.random.default_rng(0)
    P, mu, L = _bt([0.5, 0.0, -0.5]), np.array([0.3, 0.3, 0.4]), np.array([2.0, 5.0, 3.0])
    res = simpo_population_optimum(P, mu, L, 2.0, 0.5)
    n = 200_000
    y, yp = rng.choice(3, size=n, p=mu), rng.choice(3, size=n, p=mu)
    win = rng.random(n) < P[y, yp]
    w, lo = np.where(win, y, yp), np.where(win, yp, y)
    u = res.implicit_reward
    per = np.logaddexp(0.0, -(u[w] - u[lo] - 0.5)) / 2.0
    assert abs(per.mean() - res.value) < 4 * per.std() / np.sqrt(n)


def test_float32_agrees():
    P, mu, ref = _bt([1.0, 0.0, -1.0]), np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2])
    a = explicit_bt_optimum(P, mu, ref, 0.5).policy
    b = explicit_bt_optimum(
        P.astype(np.float32), mu.astype(np.float32), ref.astype(np.float32), 0.5
    )
    assert np.abs(a - b.policy).max() < 1e-5
    L = np.array([1.0, 3.0, 2.0])
    a = simpo_population_optimum(P, mu, L, 2.0, 0.5).policy
    b = simpo_population_optimum(
        P.astype(np.float32), mu.astype(np.float32), L.astype(np.float32), 2.0, 0.5
    ).policy
    assert np.abs(a - b).max() < 1e-5
    assert (
        abs(simpo_two_action_gap(np.float32(0.7), np.float32(1.0)) - simpo_two_action_gap(0.7, 1.0))
        < 1e-6
    )


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: simpo_population_optimum([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], [1, 1], 1.0), "P"),
        (lambda: simpo_population_optimum(_bt([0, 1]), [1.0, 0.0], [1, 1], 1.0), "mu"),
        (lambda: simpo_population_optimum(_bt([0, 1]), [0.5, 0.5], [1, 0], 1.0), "lengths"),
        (lambda: simpo_population_optimum(_bt([0, 1]), [0.5, 0.5], [1, 1], -1.0), "beta"),
        (lambda: simpo_population_optimum(_bt([0, 1]), [0.5, 0.5], [1, 1], 1.0, -1.0), "margin"),
        (
            lambda: simpo_population_optimum(_bt([0, 1]), [0.5, 0.5], [1, 1], 1.0, float("nan")),
            "margin",
        ),
        (lambda: simpo_two_action_gap(1.0), "p"),
        (lambda: simpo_two_action_gap(1.5), "p"),
        (lambda: explicit_bt_optimum(_bt([0, 1]), [0.5, 0.5], [1.0, 0.0], 1.0), "pi_ref"),
        (lambda: explicit_bt_optimum(_bt([0, 1]), [0.5, 0.5], [0.5, 0.5], 0.0), "kl_weight"),
        (
            lambda: explicit_bt_population_loss(
                [1.0, 0.0], _bt([0, 1]), [0.5, 0.5], [0.5, 0.5], 1.0
            ),
            "policy",
        ),
        (lambda: bt_optimal_policy([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5]), "P"),
        (lambda: bt_optimal_policy(_bt([0, 1]), [1.0, 0.0]), "mu"),
    ],
)
def test_validation_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="normalize"):
        simpo_population_optimum(_bt([0, 1]), [0.5, 0.5], [1, 1], 1.0, normalize="yes")
    with pytest.raises(TypeError, match="kl_weight"):
        explicit_bt_optimum(_bt([0, 1]), [0.5, 0.5], [0.5, 0.5], True)


def test_simpo_value_is_the_population_loss():
    P, mu, L = _bt([0.3, -0.3]), [0.5, 0.5], [4.0, 1.0]
    res = simpo_population_optimum(P, mu, L, 2.0, 1.0)
    assert abs(res.value - simpo_population_loss(res.policy, P, mu, L, 2.0, 1.0)) < 1e-15
