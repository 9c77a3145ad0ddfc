"""Tests of prefrl.shaping: potential-based shaping, Wiewiora's equivalence, EPIC, redistribution."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl import shaping as sh
from prefrl.mdp import TabularMDP, envs
from prefrl.mdp._strategies import policies, tabular_mdps

_PHI = st.sampled_from([0.0, 0.0, 1.0, -2.0]) | st.floats(-5.0, 5.0)
_R = st.sampled_from([-1.0, 0.0, 0.0, 1.0]) | st.floats(-3.0, 3.0)


def potentials(S):
    return hnp.arrays(np.float64, (S,), elements=_PHI)


def absorbing(mdp):
    P = mdp.dense_transitions()
    S = mdp.n_states
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


def scale_of(mdp, phi):
    r = np.max(np.abs(mdp.expected_rewards))
    return 1.0 + float(np.max(np.abs(phi))) + r / (1.0 - mdp.gamma)


# ------------------------------------------------------------------- Ng, Harada and Russell 1999
@given(data=st.data(), mdp=tabular_mdps(max_states=6, max_actions=3), use_terminal=st.booleans())
def test_shaping_shifts_every_policy_value_by_minus_phi(data, mdp, use_terminal):
    S, A = mdp.n_states, mdp.n_actions
    phi = data.draw(potentials(S))
    pi = data.draw(policies(S, A))
    term = absorbing(mdp) if use_terminal else None
    shaped = sh.shaped_mdp(mdp, phi, terminal=term)
    phi_eff = np.where(term, 0.0, phi) if use_terminal else phi
    v, v2 = mdp.evaluate(pi).values, shaped.evaluate(pi).values
    np.testing.assert_allclose(v2, v - phi_eff, rtol=0, atol=1e-9 * scale_of(mdp, phi))
    # ... hence J shifts by the constant -E_mu0 phi, for any start distribution
    assert abs(shaped.expected_return(pi) - mdp.expected_return(pi) + mdp.initial @ phi_eff) <= (
        1e-9 * scale_of(mdp, phi)
    )


@given(data=st.data(), mdp=tabular_mdps(max_states=6, max_actions=4))
def test_optimal_q_shifts_and_optimal_action_sets_are_equal(data, mdp):
    phi = data.draw(potentials(mdp.n_states))
    shaped = sh.shaped_mdp(mdp, phi)
    q, q2 = mdp.solve("pi").q_values, shaped.solve("pi").q_values
    tol = 1e-8 * scale_of(mdp, phi)
    np.testing.assert_allclose(q2, q - phi[:, None], rtol=0, atol=tol)
    adv, adv2 = q - q.max(axis=1, keepdims=True), q2 - q2.max(axis=1, keepdims=True)
    np.testing.assert_allclose(adv2, adv, rtol=0, atol=2 * tol)
    # Equal argmax sets (instances with a near-tie inside the numerical band are skipped).
    assume(not np.any((np.abs(adv) > tol) & (np.abs(adv) < 100 * tol)))
    np.testing.assert_array_equal(adv >= -10 * tol, adv2 >= -10 * tol)


@settings(max_examples=30)
@given(data=st.data(), mdp=tabular_mdps(max_states=5, max_actions=3))
def test_shaping_preserves_the_ordering_of_policies(data, mdp):
    S, A = mdp.n_states, mdp.n_actions
    phi = data.draw(potentials(S))
    shaped = sh.shaped_mdp(mdp, phi)
    pis = [data.draw(policies(S, A)) for _ in range(4)]
    J = np.array([mdp.expected_return(p) for p in pis])
    J2 = np.array([shaped.expected_return(p) for p in pis])
    tol = 1e-9 * scale_of(mdp, phi)
    # Every pairwise difference is unchanged, hence so is the ordering.
    np.testing.assert_allclose(J2[:, None] - J2[None, :], J[:, None] - J[None, :], atol=2 * tol)


@settings(max_examples=30)
@given(data=st.data(), mdp=tabular_mdps(max_states=5, max_actions=3, horizon=True))
def test_finite_horizon_needs_the_terminal_values_shifted(data, mdp):
    phi = data.draw(potentials(mdp.n_states))
    shaped = sh.shaped_mdp(mdp, phi)
    base = mdp.backward_induction()
    exact = shaped.backward_induction(terminal=-phi)
    tol = 1e-9 * (1.0 + np.max(np.abs(phi)) + mdp.horizon * np.max(np.abs(mdp.expected_rewards)))
    np.testing.assert_allclose(exact.values, base.values - phi[None, :], atol=tol)
    # With zero terminal values V'_0 = V_0 - phi + gamma^H E[phi(s_H)] under the optimal policy.
    plain = shaped.evaluate(base.policy).values
    H, g = mdp.horizon, mdp.gamma
    P = mdp.dense_transitions()
    dist = np.eye(mdp.n_states)
    for t in range(H):
        dist = np.einsum("is,sa,sat->it", dist, base.policy[t], P)
    np.testing.assert_allclose(plain, base.values[0] - phi + g**H * dist @ phi, atol=tol)


def test_terminal_convention_on_the_ng_grid():
    grid = envs.ng_harada_russell_grid(4)
    phi = sh.manhattan_potential(grid, speed=0.8) - 1.0  # nonzero at the goal on purpose
    F = sh.shaping_reward(phi, grid.gamma, 4, terminal=grid.goals)
    assert np.all(F[grid.goals[0]] == 0.0)
    # Entering the goal uses phi(goal) = 0.
    s = grid.state_of(3, 2)
    assert F[s, 0, grid.goals[0]] == pytest.approx(-phi[s])
    with pytest.raises(ValueError, match="not absorbing"):
        sh.shaped_mdp(grid, phi, terminal=[0])
    with pytest.raises(ValueError, match="terminal"):
        sh.shaping_reward(phi, 0.9, 4, terminal=[99])


@given(data=st.data(), S=st.integers(1, 5), A=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 1.0]))
def test_is_potential_based_recovers_the_potential(data, S, A, gamma):
    phi = data.draw(potentials(S))
    F = sh.shaping_reward(phi, gamma, A)
    fit = sh.is_potential_based(F, gamma)
    assert fit.holds and fit.certificate <= 1e-9 * (1 + np.max(np.abs(phi)))
    fitted = sh.shaping_reward(fit.potential, gamma, A)
    np.testing.assert_allclose(fitted, F, atol=1e-9 * (1 + np.max(np.abs(phi))))
    if gamma < 1:  # unique when gamma < 1 (the self-loops pin phi down)
        np.testing.assert_allclose(fit.potential, phi, atol=1e-9 * (1 + np.max(np.abs(phi))))
    # One changed entry breaks it, unless it lies off the declared support.
    i, a, j = (data.draw(st.integers(0, n - 1)) for n in (S, A, S))
    G = F.copy()
    G[i, a, j] += 0.5
    bad = sh.is_potential_based(G, gamma)
    if S == 1 and A == 1 and gamma < 1:  # one self-loop: any F is gamma Phi - Phi for some Phi
        assert bad.holds
    else:
        assert not bad.holds and bad.certificate > 0.05
    support = np.ones_like(G, dtype=bool)
    support[i, a, j] = False
    assert sh.is_potential_based(G, gamma, support=support).holds


@given(data=st.data(), S=st.integers(1, 4), A=st.integers(2, 3),
       gamma=st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0.0, 0.99),
       action_free=st.booleans())
def test_necessity_a_non_potential_F_flips_the_optimal_action(data, S, A, gamma, action_free):
    if action_free:
        G = data.draw(hnp.arrays(np.float64, (S, S), elements=_R))
        F = np.repeat(G[:, None, :], A, axis=1)
    else:
        F = data.draw(hnp.arrays(np.float64, (S, A, S), elements=_R))
    fit = sh.is_potential_based(F, gamma, atol=1e-6)
    if fit.holds:
        with pytest.raises(ValueError, match="potential-based"):
            sh.necessity_counterexample(F, gamma, atol=1e-6)
        return
    ce = sh.necessity_counterexample(F, gamma, atol=1e-6)
    assert not set(ce.optimal_actions) & set(ce.shaped_optimal_actions)
    assert ce.gap > 0
    # Independent check with the solvers: the optimal policy of M' is not optimal in M.
    pol = ce.shaped.solve("pi").policy
    gap = ce.original.solve("pi").values[ce.state] - ce.original.evaluate(pol).values[ce.state]
    assert gap > 1e-9


def test_necessity_rejects_bad_input():
    F = sh.shaping_reward([1.0, 2.0], 0.9, 2)
    with pytest.raises(ValueError, match="potential-based"):
        sh.necessity_counterexample(F, 0.9)
    with pytest.raises(ValueError, match="at least 2 actions"):
        sh.necessity_counterexample(np.ones((2, 1, 2)), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        sh.necessity_counterexample(np.ones((2, 2, 2)), 1.0)


# ---------------------------------------------------------------------------- Wiewiora 2003
# Dyadic numbers: R + gamma phi(s') - phi(s) and Q0 + phi are then exact in floating point, so
# the rational-arithmetic learners below see exactly the rewards and initial values of the theorem.
_DYADIC = st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0, 3.25, -0.75])


@settings(max_examples=25)
@given(data=st.data(), base=tabular_mdps(max_states=4, max_actions=3),
       gamma=st.sampled_from([0.0, 0.5, 0.75, 0.875]),
       method=st.sampled_from(["q", "sarsa"]), exploration=st.sampled_from(["epsilon", "boltzmann"]),
       seed=st.integers(0, 2**16))
def test_wiewiora_shaping_equals_q_initialisation_exactly(data, base, gamma, method, exploration,
                                                          seed):
    S, A = base.n_states, base.n_actions
    R = data.draw(hnp.arrays(np.float64, (S, A, S), elements=_DYADIC))
    mdp = TabularMDP(base.transitions, R, gamma, base.initial)
    phi = data.draw(hnp.arrays(np.float64, (S,), elements=_DYADIC))
    q0 = data.draw(hnp.arrays(np.float64, (S, A), elements=_DYADIC))
    term = absorbing(mdp)
    phi_eff = np.where(term, 0.0, phi)
    learner = sh.q_learning if method == "q" else sh.sarsa
    kw = dict(lr=0.5, epsilon=0.2, exploration=exploration, max_steps=12, record_q=True,
              exact=True, terminal=term)
    shaped = learner(sh.shaped_mdp(mdp, phi, terminal=term), 4, rng=seed, init=q0, **kw)
    init = learner(mdp, 4, rng=seed, init=q0 + phi_eff[:, None], **kw)
    np.testing.assert_array_equal(shaped.actions, init.actions)
    np.testing.assert_array_equal(shaped.states, init.states)
    shift = np.array([[Fraction(float(p))] * A for p in phi_eff], dtype=object)
    for q_shaped, q_init in zip(shaped.q_history, init.q_history):
        assert np.all(q_init - q_shaped == shift)  # exact, in rational arithmetic


@settings(max_examples=20)
@given(data=st.data(), mdp=tabular_mdps(max_states=4, max_actions=3),
       method=st.sampled_from(["q", "sarsa"]), seed=st.integers(0, 2**16))
def test_wiewiora_exact_for_any_float_inputs(data, mdp, method, seed):
    """With potential= and rational Q0 + Phi, the identity is exact for arbitrary floats."""
    S, A = mdp.n_states, mdp.n_actions
    phi = data.draw(potentials(S))
    q0 = data.draw(hnp.arrays(np.float64, (S, A), elements=_R))
    term = absorbing(mdp)
    phi_eff = [Fraction(0) if t else Fraction(float(p)) for p, t in zip(phi, term)]
    q0_plus = np.array([[Fraction(float(q)) + phi_eff[s] for q in q0[s]] for s in range(S)],
                       dtype=object)
    learner = sh.q_learning if method == "q" else sh.sarsa
    kw = dict(lr=0.3, epsilon=0.2, max_steps=10, record_q=True, exact=True, terminal=term)
    shaped = learner(mdp, 3, rng=seed, init=q0, potential=phi, **kw)
    init = learner(mdp, 3, rng=seed, init=q0_plus, **kw)
    np.testing.assert_array_equal(shaped.actions, init.actions)
    shift = np.array([[p] * A for p in phi_eff], dtype=object)
    for q_shaped, q_init in zip(shaped.q_history, init.q_history):
        assert np.all(q_init - q_shaped == shift)


def test_potential_argument_matches_the_shaped_mdp_in_floating_point():
    grid = envs.ng_harada_russell_grid(5)
    phi = sh.manhattan_potential(grid, speed=0.8)
    a = sh.q_learning(grid, 10, lr=0.2, epsilon=0.1, rng=1, potential=phi)
    b = sh.q_learning(sh.shaped_mdp(grid, phi, terminal=grid.goals), 10, lr=0.2, epsilon=0.1,
                      rng=1)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_allclose(a.q_values, b.q_values, atol=1e-9)
    np.testing.assert_allclose(a.rewards, b.rewards, atol=1e-12)


def test_wiewiora_in_floating_point_on_the_ng_grid():
    grid = envs.ng_harada_russell_grid(6)
    phi = sh.manhattan_potential(grid, speed=0.8)
    shaped = sh.q_learning(sh.shaped_mdp(grid, phi, terminal=grid.goals), 20, lr=0.2,
                           epsilon=0.1, rng=3, record_q=True)
    init = sh.q_learning(grid, 20, lr=0.2, epsilon=0.1, rng=3, record_q=True,
                         init=np.repeat(phi[:, None], 4, axis=1))
    np.testing.assert_array_equal(shaped.actions, init.actions)
    np.testing.assert_allclose(init.q_history - shaped.q_history, np.broadcast_to(
        phi[None, :, None], shaped.q_history.shape), atol=1e-9)


def test_wiewiora_fails_without_the_terminal_convention():
    """If phi(goal) != 0 is used for shaping but the learner stops at the goal, Q' - Q drifts."""
    grid = envs.ng_harada_russell_grid(3)
    phi = sh.manhattan_potential(grid, speed=0.8) - 1.0
    shaped = sh.q_learning(sh.shaped_mdp(grid, phi), 5, lr=0.5, epsilon=0.1, rng=0,
                           record_q=True, exact=True)
    init = sh.q_learning(grid, 5, lr=0.5, epsilon=0.1, rng=0, record_q=True, exact=True,
                         init=np.repeat(phi[:, None], 4, axis=1))
    diff = (init.q_history[-1] - shaped.q_history[-1]).astype(float)
    assert np.max(np.abs(diff - phi[:, None])) > 0.1


def test_td_learners_validate_and_learn():
    mdp = envs.chain(4, gamma=0.9)
    run = sh.q_learning(mdp, 30, lr=0.5, epsilon=0.1, rng=0)
    assert run.iterations == run.episode_lengths.sum() == run.states.size
    np.testing.assert_array_equal(run.policy.argmax(axis=1)[:3], [1, 1, 1])
    assert run.q_history is None
    with pytest.raises(ValueError, match="lr"):
        sh.q_learning(mdp, 3, lr=0.0, epsilon=0.1, rng=0)
    with pytest.raises(ValueError, match="epsilon"):
        sh.sarsa(mdp, 3, lr=0.5, epsilon=1.5, rng=0)
    with pytest.raises(ValueError, match="exploration"):
        sh.sarsa(mdp, 3, lr=0.5, epsilon=0.1, rng=0, exploration="ucb")
    with pytest.raises(ValueError, match="init"):
        sh.q_learning(mdp, 3, lr=0.5, epsilon=0.1, rng=0, init=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="rng"):
        sh.q_learning(mdp, 3, lr=0.5, epsilon=0.1, rng=None)
    # A truncated episode stops at max_steps.
    stuck = sh.q_learning(mdp, 2, lr=0.5, epsilon=1.0, rng=0, max_steps=2, start=0)
    assert stuck.episode_lengths.max() <= 2


# ------------------------------------------------------------------------------------- EPIC
# Rewards whose differences are far above the rounding of the transformations applied to them
# (a reward varying by 1e-119 is not distinguishable from a constant after adding 1).
_R_EPIC = st.sampled_from([-1.0, 0.0, 0.0, 1.0]) | st.floats(-3.0, 3.0).filter(
    lambda x: x == 0 or abs(x) > 1e-3)


def sas_rewards(S, A):
    return hnp.arrays(np.float64, (S, A, S), elements=_R_EPIC)


@given(data=st.data(), S=st.integers(1, 4), A=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.9, 0.99, 1.0]) | st.floats(0.0, 1.0))
def test_epic_is_a_pseudometric(data, S, A, gamma):
    R1, R2, R3 = (data.draw(sas_rewards(S, A)) for _ in range(3))
    d12, d21 = sh.epic_distance(R1, R2, gamma), sh.epic_distance(R2, R1, gamma)
    d13, d23 = sh.epic_distance(R1, R3, gamma), sh.epic_distance(R2, R3, gamma)
    assert 0.0 <= d12 <= 1.0 and d12 == d21
    assert sh.epic_distance(R1, R1, gamma) <= 1e-7
    assert d13 <= d12 + d23 + 1e-9


@given(data=st.data(), S=st.integers(1, 4), A=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.9, 1.0]) | st.floats(0.0, 1.0),
       lam=st.sampled_from([1.0, 1e-3, 1e3]) | st.floats(0.01, 100.0), c=_PHI,
       feasible=st.booleans())
def test_epic_is_invariant_to_shaping_scaling_and_shift(data, S, A, gamma, lam, c, feasible):
    R = data.draw(sas_rewards(S, A))
    phi = data.draw(potentials(S))
    equiv = lam * sh.shape(R, phi, gamma) + c
    cov = None
    if feasible:
        W = data.draw(hnp.arrays(np.float64, (S, A, S), elements=st.floats(0.0, 1.0)))
        assume(W.sum() > 0.1)
        cov = W / W.sum()
    assert sh.epic_distance(R, equiv, gamma, coverage=cov) <= 1e-6
    C = sh.canonicalize(R, gamma)
    tol = 1e-9 * (1 + np.max(np.abs(R))) * (1 + lam) + 1e-9 * (np.max(np.abs(phi)) + abs(c))
    np.testing.assert_allclose(sh.canonicalize(equiv, gamma), lam * C, atol=tol * 10)
    # D(R, -R) = 1 unless R is equivalent to a constant (then 0)
    d = sh.epic_distance(R, -R, gamma, coverage=cov)
    assert d == 0.0 or abs(d - 1.0) <= 1e-9


@given(data=st.data(), S=st.integers(1, 4), A=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.9, 1.0]) | st.floats(0.0, 1.0))
def test_canonicalisation_is_idempotent_and_linear(data, S, A, gamma):
    R1, R2 = data.draw(sas_rewards(S, A)), data.draw(sas_rewards(S, A))
    DS = data.draw(hnp.arrays(np.float64, (S,), elements=st.floats(0.01, 1.0)))
    DA = data.draw(hnp.arrays(np.float64, (A,), elements=st.floats(0.01, 1.0)))
    DS, DA = DS / DS.sum(), DA / DA.sum()
    C1 = sh.canonicalize(R1, gamma, DS, DA)
    np.testing.assert_allclose(sh.canonicalize(C1, gamma, DS, DA), C1, atol=1e-12)
    np.testing.assert_allclose(
        sh.canonicalize(2 * R1 - 3 * R2, gamma, DS, DA),
        2 * C1 - 3 * sh.canonicalize(R2, gamma, DS, DA), atol=1e-12)


def test_epic_of_state_only_rewards_is_the_pearson_distance_of_the_state_rewards():
    """For R(s, a, s') = r(s), C(R) = gamma (r(s') - mean r): EPIC is the Pearson distance of r."""
    rng = np.random.default_rng(0)
    grid = envs.epic_grid()
    cov = sh.transition_coverage(grid)
    for _ in range(5):
        r1, r2 = rng.normal(size=9), rng.normal(size=9)
        R1 = np.broadcast_to(r1[:, None, None], (9, 5, 9))
        R2 = np.broadcast_to(r2[:, None, None], (9, 5, 9))
        want = np.sqrt((1 - np.corrcoef(r1, r2)[0, 1]) / 2)
        assert sh.epic_distance(R1, R2, 0.99) == pytest.approx(want, abs=1e-12)
        # every cell of the 3x3 grid has exactly 5 incoming transitions: same answer
        assert sh.epic_distance(R1, R2, 0.99, coverage=cov) == pytest.approx(want, abs=1e-12)


def test_epic_gridworld_l1_reproduces_the_authors_heatmap():
    from prefrl.experiments.epic_gridworld import AUTHORS_L1, GAMMA, gridworld_rewards

    rewards = gridworld_rewards()
    cov = sh.transition_coverage(envs.epic_grid(gamma=GAMMA))
    for (a, b), want in AUTHORS_L1.items():
        got = sh.epic_distance(rewards[a], rewards[b], GAMMA, coverage=cov, metric="l1")
        assert got == pytest.approx(want, abs=5e-5), (a, b)
    # EPIC by its definition is another quantity: sqrt((1 + 1/8) / 2) for the two goals
    pearson = sh.epic_distance(rewards["sparse_goal"], rewards["center_goal"], GAMMA)
    assert pearson == pytest.approx(np.sqrt((1 + 1 / 8) / 2), abs=1e-12)


def test_pearson_distance_conventions_and_errors():
    assert sh.pearson_distance([1.0, 2.0], [3.0, 3.0]) == 0.5
    assert sh.pearson_distance([1.0, 1.0], [3.0, 3.0]) == 0.0
    assert sh.pearson_distance([1.0, 2.0, 4.0], [1.0, 2.0, 3.0], weights=[0.5, 0.5, 0.0]) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        sh.pearson_distance([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="weights"):
        sh.pearson_distance([1.0, 2.0], [1.0, 3.0], weights=[0.7, 0.7])
    with pytest.raises(ValueError, match="R2"):
        sh.epic_distance(np.zeros((2, 1, 2)), np.zeros((3, 1, 3)), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        sh.canonicalize(np.zeros((2, 1, 2)), 1.5)
    with pytest.raises(ValueError, match="state_dist"):
        sh.canonicalize(np.zeros((2, 1, 2)), 0.5, state_dist=[0.5, 0.6])


# ------------------------------------------------------------------- reward redistribution
@settings(max_examples=40)
@given(data=st.data(), V=st.integers(1, 3), H=st.integers(1, 3), beta=st.floats(0.0, 1.0),
       negative=st.booleans())
def test_redistribution_preserves_every_undiscounted_value(data, V, H, beta, negative):
    N = V**H
    r = data.draw(hnp.arrays(np.float64, (N,), elements=_R))
    W = data.draw(hnp.arrays(np.float64, (N, H), elements=st.floats(0.0, 1.0)))
    W[W.sum(axis=1) <= 0, -1] = 1.0
    W = W / W.sum(axis=1, keepdims=True)
    if negative:  # weights that sum to one but are not a distribution
        W = 2.0 * W - 1.0 / H
    tree = envs.token_tree(V, H, sequence_rewards=r)
    pi = data.draw(policies(tree.n_states, V))
    dense = sh.redistribute(r, W, beta)
    np.testing.assert_allclose(dense.sum(axis=1), r, atol=1e-12)
    assert sh.sequence_value(tree, pi, dense, 1.0) == pytest.approx(
        tree.evaluate(pi).expected_return, abs=1e-10)


def test_redistribution_with_discount_changes_values_and_the_optimum():
    V, H, gamma = 2, 3, 0.9
    r = np.array([1.0, 0, 0, 0, 0, 0, 0, 1.05])  # sequences 000 and 111 are the good ones
    W = np.zeros((8, 3))
    W[:, -1] = 1.0
    W[0] = [1.0, 0.0, 0.0]  # all of 000's credit on its first token
    dense = sh.redistribute(r, W)
    G = sh.sequence_returns(dense, gamma)
    sparse = sh.sequence_returns(sh.redistribute(r, W, mixing=0.0), gamma)
    assert np.argmax(r) == 7 and np.argmax(sparse) == 7 and np.argmax(G) == 0
    tree = envs.token_tree(V, H, sequence_rewards=r)
    pi = np.full((tree.n_states, V), 0.5)
    gap = sh.sequence_value(tree, pi, dense, gamma) - sh.sequence_value(tree, pi, dense, 1.0)
    assert abs(gap) > 1e-3
    with pytest.raises(ValueError, match=r"weights\[0, :\] sums"):
        sh.redistribute([1.0], [[0.5, 0.6]])
    with pytest.raises(ValueError, match="mixing"):
        sh.redistribute([1.0], [[0.5, 0.5]], mixing=2.0)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), mixing=st.floats(0.0, 1.0), gamma=st.floats(0.0, 1.0))
def test_redistributed_discounted_return_rescales_each_sequence(seed, mixing, gamma):
    # G_gamma(y) = r(y) (m sum_t gamma^t w_t(y) + (1 - m) gamma^(H-1)): equal to the sparse
    # gamma^(H-1) r(y) for every weight only when gamma = 1 (or m = 0)
    rng = np.random.default_rng(seed)
    N, H = 9, 3
    r, W = rng.normal(size=N), rng.dirichlet(np.ones(H), size=N)
    g = gamma ** np.arange(H)
    expected = r * (mixing * (W @ g) + (1.0 - mixing) * g[-1])
    np.testing.assert_allclose(sh.sequence_returns(sh.redistribute(r, W, mixing), gamma),
                               expected, atol=1e-12)


def test_redistributed_reward_is_not_a_reward_of_the_prefix():
    # r_t(y) = m w_t(y) r(y) depends on the tokens after t through r(y), even with weights that
    # depend on the prefix only: no potential-based term gamma Phi(y_<=t) - Phi(y_<t) equals it
    r = np.array([0.0, 1.0, 2.0, 3.0])  # sequences 00, 01, 10, 11 of a 2-token vocabulary
    dense = sh.redistribute(r, np.full((4, 2), 0.5), mixing=1.0)
    assert dense[0, 0] != dense[1, 0]  # same first token, different first-token reward
    sparse = sh.redistribute(r, np.full((4, 2), 0.5), mixing=0.0)
    assert np.all(sparse[:, 0] == 0.0)  # the sparse reward is Markov: paid on the full sequence


def test_manhattan_potential_and_errors():
    grid = envs.ng_harada_russell_grid()
    phi0 = sh.manhattan_potential(grid, speed=0.8)
    assert phi0[0] == pytest.approx(-18 / 0.8) and phi0[grid.goals[0]] == 0.0
    with pytest.raises(ValueError, match="speed"):
        sh.manhattan_potential(grid, speed=0.0)
    with pytest.raises(ValueError, match="goal"):
        sh.manhattan_potential(envs.epic_grid())
    with pytest.raises(TypeError, match="TabularMDP"):
        sh.shaped_mdp(np.zeros((2, 2, 2)), [0.0, 0.0])
    with pytest.raises(ValueError, match="potential"):
        sh.shape(np.zeros((2, 1)), [0.0, 0.0, 1.0], 0.9)
    assert isinstance(sh.shaped_mdp(envs.chain(3), [0.0, 1.0, 0.0]), TabularMDP)


# ----------------------------------------------------- result objects and renamed keywords
def test_results_subclass_the_result_base():
    from prefrl.results import Result

    F = np.zeros((2, 2, 2))
    F[0, 1, 1] = 1.0
    fit = sh.is_potential_based(F, gamma=0.9)
    assert isinstance(fit, Result) and fit.keys() == ("potential", "certificate", "holds", "gamma")
    assert isinstance(sh.necessity_counterexample(F, gamma=0.9), Result)
    run = sh.q_learning(envs.chain(4, gamma=0.9), 3, lr=0.5, epsilon=0.1, rng=0)
    assert isinstance(run, Result)
    assert {"iterations", "converged", "certificate"} <= set(run.keys())


def test_potential_fit_residual_is_renamed_certificate():
    F = sh.shaping_reward([1.0, -2.0], gamma=0.5, n_actions=2)
    F[0, 1, 1] += 1.0
    fit = sh.is_potential_based(F, gamma=0.5)
    with pytest.warns(DeprecationWarning, match="certificate"):
        old = fit.residual
    assert old == fit.certificate > 0.1


def test_td_old_keywords_still_work_and_warn():
    mdp = envs.chain(4, gamma=0.9)
    q0 = np.ones((4, 2))
    for learner in (sh.q_learning, sh.sarsa):
        new = learner(mdp, 5, lr=0.5, epsilon=0.2, rng=3, init=q0)
        with pytest.warns(DeprecationWarning, match="'alpha' is deprecated, use 'lr'"):
            old = learner(mdp, 5, alpha=0.5, epsilon=0.2, rng=3, init=q0)
        np.testing.assert_array_equal(old.q_values, new.q_values)
        with pytest.warns(DeprecationWarning, match="'q_init' is deprecated, use 'init'"):
            old = learner(mdp, 5, lr=0.5, epsilon=0.2, rng=3, q_init=q0)
        np.testing.assert_array_equal(old.q_values, new.q_values)
        with pytest.raises(TypeError, match="alpha"):
            learner(mdp, 5, lr=0.5, alpha=0.5, epsilon=0.2, rng=3)


def test_redistribute_old_beta_keyword_warns():
    new = sh.redistribute([2.0], [[0.25, 0.75]], mixing=0.5)
    with pytest.warns(DeprecationWarning, match="'beta' is deprecated, use 'mixing'"):
        old = sh.redistribute([2.0], [[0.25, 0.75]], beta=0.5)
    np.testing.assert_array_equal(old, new)


def test_td_certificate_is_the_bellman_residual_and_converged_flags_cut_episodes():
    mdp = envs.chain(4, gamma=0.9)  # deterministic, absorbing goal
    q_star = mdp.solve().q_values
    at_opt = sh.q_learning(mdp, 10, lr=0.5, epsilon=0.3, rng=0, init=q_star)
    assert at_opt.certificate <= 1e-12 and at_opt.converged
    off = q_star.copy()
    off[0, 1] += 0.25  # the residual at (0, right) is 0.25, the greedy values elsewhere unchanged
    run = sh.q_learning(mdp, 1, lr=1e-9, epsilon=0.0, rng=0, init=off, max_steps=1)
    assert run.certificate == pytest.approx(0.25, abs=1e-6)
    assert not run.converged  # the only episode was cut after one step
    # Wiewiora: the shaped learner and the initialised one certify the same table
    grid = envs.ng_harada_russell_grid(4)
    phi = sh.manhattan_potential(grid, speed=0.8)
    shaped = sh.q_learning(grid, 5, lr=0.5, epsilon=0.1, rng=2, potential=phi)
    init = sh.q_learning(grid, 5, lr=0.5, epsilon=0.1, rng=2,
                         init=np.repeat(np.where(np.isin(np.arange(grid.n_states), grid.goals),
                                                 0.0, phi)[:, None], 4, axis=1))
    np.testing.assert_array_equal(shaped.actions, init.actions)
    assert shaped.certificate == pytest.approx(init.certificate, abs=1e-9)
    assert shaped.converged and init.converged
