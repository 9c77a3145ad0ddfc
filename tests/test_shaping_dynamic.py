"""Tests of dynamic potential-based shaping (Devlin and Kudenko 2012) in prefrl.shaping."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefrl.proofs_check.shaping as ps
from prefrl import shaping as sh
from prefrl.mdp import TabularMDP, envs
from prefrl.mdp._strategies import mdp_arrays

_PHI = st.sampled_from([0.0, 0.0, 1.0, -2.0]) | st.floats(-5.0, 5.0)
_W = st.sampled_from([0.0, 0.0, 1.0]) | st.floats(0.0, 1.0)


def absorbing(P):
    S = P.shape[0]
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


@st.composite
def stacked_policies(draw, n_layers, S, A):
    """A non-stationary policy (L', S, A), sometimes deterministic, with zeros."""
    k = draw(st.integers(1, n_layers))
    if draw(st.booleans()):
        acts = draw(hnp.arrays(np.int64, (k, S), elements=st.integers(0, A - 1)))
        return np.eye(A)[acts]
    W = draw(hnp.arrays(np.float64, (k, S, A), elements=_W))
    W[W.sum(axis=2) <= 0, 0] = 1.0
    return W / W.sum(axis=2, keepdims=True)


@st.composite
def dynamic_instances(draw, max_states=4, max_actions=3, finite=None, phi_h_zero=None):
    """The instance dicts of proofs_check.shaping.draw_dynamic, drawn by hypothesis."""
    P, R, mu = draw(mdp_arrays(max_states, max_actions))
    S, A, _ = P.shape
    fin = draw(st.booleans()) if finite is None else finite
    if fin:
        H = draw(st.integers(1, 5))
        gamma = draw(st.sampled_from([0.0, 0.5, 1.0, 1.0]) | st.floats(0.0, 1.0))
        L = H + 1
    else:
        H = None
        gamma = draw(st.sampled_from([0.0, 0.5, 0.99]) | st.floats(0.0, 0.99))
        L = draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["zero", "constant", "annealed", "free"]))
    row = draw(hnp.arrays(np.float64, (S,), elements=_PHI))
    if kind == "zero":
        Phi = np.zeros((L, S))
    elif kind == "constant":
        Phi = np.repeat(row[None], L, axis=0)
    elif kind == "annealed":
        c = draw(st.sampled_from([0.0, 0.5, 2.0]))
        Phi = c ** np.arange(L)[:, None] * row[None]
    else:
        Phi = draw(hnp.arrays(np.float64, (L, S), elements=_PHI))
    zero_h = draw(st.booleans()) if phi_h_zero is None else phi_h_zero
    if fin and zero_h:
        Phi[-1] = 0.0
    n_layers = H if fin else L + 1
    pols = [draw(stacked_policies(n_layers, S, A)) for _ in range(3)]
    term = absorbing(P) if draw(st.booleans()) else None
    return {"P": P, "R": R, "gamma": gamma, "H": H, "mu": mu, "Phi": Phi, "policies": pols,
            "terminal": term}


def mdp_of(inst):
    return TabularMDP(inst["P"], inst["R"], inst["gamma"], inst["mu"], inst["H"])


# ------------------------------------------------------------------------------ the reward itself
@given(Phi=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=_PHI),
       gamma=st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0.0, 1.0),
       A=st.integers(1, 3), data=st.data())
def test_dynamic_shaping_reward_matches_its_definition(Phi, gamma, A, data):
    L, S = Phi.shape
    term = data.draw(hnp.arrays(np.bool_, (S,), elements=st.booleans()))
    F = sh.dynamic_shaping_reward(Phi, gamma, A, terminal=term)
    assert F.shape == (L - 1, S, A, S)
    pt = np.where(term[None, :], 0.0, Phi)
    for t in range(L - 1):
        for s in range(S):
            for a in range(A):
                for s2 in range(S):
                    want = 0.0 if term[s] else gamma * pt[t + 1, s2] - pt[t, s]
                    assert F[t, s, a, s2] == want


@given(data=st.data(), L=st.integers(1, 4))
def test_constant_in_time_potential_is_static_shaping(data, L):
    P, R, _ = data.draw(mdp_arrays(4, 3))
    S = P.shape[0]
    phi = data.draw(hnp.arrays(np.float64, (S,), elements=_PHI))
    gamma = data.draw(st.sampled_from([0.0, 0.5, 0.99, 1.0]))
    Rt = sh.shape_dynamic(R, np.repeat(phi[None], L, axis=0), gamma)
    assert Rt.shape[0] == L - 1
    for t in range(L - 1):
        np.testing.assert_array_equal(Rt[t], sh.shape(R, phi, gamma))


# ------------------------------------------------------------------------- the theorem checks
@settings(max_examples=30)
@given(inst=dynamic_instances(max_states=3, max_actions=2))
def test_returns_telescope_on_every_trajectory(inst):
    assert ps.dynamic_telescoping(inst) <= 1e-12


@given(inst=dynamic_instances())
def test_every_policy_value_shifts_by_minus_phi_t(inst):
    assert ps.dynamic_value_shift(inst) <= 1e-9


@given(inst=dynamic_instances())
def test_the_ordering_of_policies_is_preserved(inst):
    assert ps.dynamic_ordering(inst) <= 1e-9


@given(inst=dynamic_instances())
def test_optimal_q_shifts_and_optimal_actions_are_unchanged(inst):
    assert ps.dynamic_optimum(inst) <= 1e-8


@settings(max_examples=30)
@given(inst=dynamic_instances(max_states=3))
def test_constant_in_time_equals_static_everywhere(inst):
    assert ps.dynamic_constant_is_static(inst) <= 1e-12


def test_value_shift_uses_the_start_time_potential():
    # a concrete check of the identity V'_0 = V_0 - Phi_0 on the 5x5 grid of Ng et al.
    grid = envs.ng_harada_russell_grid(5)
    phi0 = sh.manhattan_potential(grid, speed=0.8)
    Phi = np.array([phi0 * (1.0 - t / 10) for t in range(11)])
    pi = np.full((grid.n_states, 4), 0.25)
    res = sh.evaluate_dynamic(grid, Phi, pi, terminal=grid.goals)
    v = grid.evaluate(pi).values
    phi_eff = np.where(np.isin(np.arange(grid.n_states), grid.goals), 0.0, Phi[0])
    np.testing.assert_allclose(res.values[0], v - phi_eff, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.values[5], v - 0.5 * phi_eff, rtol=0, atol=1e-9)


def test_nonzero_final_potential_breaks_finite_horizon_invariance():
    # H = 1, action a moves to state a; Phi_H = (0, 10) makes "go to 1" optimal although the
    # unshaped reward prefers state 0: the condition Phi_H = 0 is needed.
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = P[:, 1, 1] = 1.0
    mdp = TabularMDP(P, [[1.0, 0.0], [1.0, 0.0]], 1.0, [1.0, 0.0], horizon=1)
    bad = sh.solve_dynamic(mdp, [[0.0, 0.0], [0.0, 10.0]])
    good = sh.solve_dynamic(mdp, [[0.0, 0.0], [0.0, 0.0]])
    assert bad.policy[0, 0].argmax() == 1 and good.policy[0, 0].argmax() == 0
    assert mdp.backward_induction().policy[0, 0].argmax() == 0


# --------------------------------------------------------- slow obvious implementation agrees
@settings(max_examples=30)
@given(inst=dynamic_instances(max_states=3, max_actions=2))
def test_layers_agree_with_the_time_expanded_mdp(inst):
    mdp = mdp_of(inst)
    big = sh.time_expanded_mdp(mdp, inst["Phi"], terminal=inst["terminal"])
    S, L = mdp.n_states, inst["Phi"].shape[0]
    scale = ps._dyn_scale(inst)
    for pi in inst["policies"]:
        if inst["H"] is None and pi.shape[0] > L:
            pi = pi[:L]  # the expanded MDP holds the policy of its last layer
        res = sh.evaluate_dynamic(mdp, inst["Phi"], pi, terminal=inst["terminal"])
        v = big.evaluate(sh.expand_policy(pi, L)).values[:S]
        np.testing.assert_allclose(res.values[0], v, rtol=0, atol=1e-9 * scale)
    opt = sh.solve_dynamic(mdp, inst["Phi"], terminal=inst["terminal"])
    v = big.solve("pi").values if inst["H"] is None else big.backward_induction().values[0]
    np.testing.assert_allclose(opt.values[0], v[:S], rtol=0, atol=1e-8 * scale)
    assert opt.value_error_bound <= 1e-8 * scale


# ------------------------------------------------------------------------- learners (Wiewiora)
@settings(max_examples=25)
@given(data=st.data())
def test_shifted_table_learner_equals_the_dynamically_shaped_learner(data):
    P, R, _ = data.draw(mdp_arrays(4, 3, sas_rewards=True))
    S, A, _ = P.shape
    L = data.draw(st.integers(1, 6))
    inst = {
        "P": P, "R": R,
        "gamma": data.draw(st.sampled_from([0.0, 0.9, 1.0]) | st.floats(0.0, 1.0)),
        "Phi": data.draw(hnp.arrays(np.float64, (L, S), elements=_PHI)),
        "q0": data.draw(hnp.arrays(np.float64, (S, A), elements=_PHI)),
        "sarsa": data.draw(st.booleans()),
        "clock": data.draw(st.sampled_from(["global", "episode"])),
        "exploration": data.draw(st.sampled_from(["epsilon", "boltzmann"])),
        "seed": data.draw(st.integers(0, 2**31 - 1)),
    }
    assert ps.dynamic_shifted_equivalence(inst) == 0.0


@settings(max_examples=25)
@given(lr=st.sampled_from([0.1, 0.5, 0.9]) | st.floats(0.05, 0.95),
       delta=st.sampled_from([0.1, 1.0, 5.0]), phi0=st.sampled_from([0.0, -1.0, -10.0]),
       margin=st.sampled_from([0.5, 1.0, 10.0]), gamma=st.sampled_from([0.0, 0.5, 0.9]),
       seed=st.integers(0, 1000))
def test_initialising_at_phi0_does_not_replace_dynamic_shaping(lr, delta, phi0, margin, gamma,
                                                              seed):
    inst = dict(lr=lr, delta=delta, phi0=phi0, margin=margin, gamma=gamma, seed=seed)
    assert ps.dynamic_initialisation_fails(inst) == 0.0


def test_initialisation_gap_instance_trajectories():
    inst = dict(lr=0.5, delta=1.0, phi0=0.0, margin=1.0, gamma=0.9, seed=0)
    mdp, Phi, q0 = ps.initialisation_gap_instance(inst)
    kw = dict(lr=0.5, epsilon=0.0, terminal=[1], start=0, rng=0, init=q0)
    shaped = sh.dynamic_q_learning(mdp, 4, potentials=Phi, **kw)
    init = sh.q_learning(mdp, 4, **{**kw, "init": q0 + np.array([[0.0], [0.0]])})
    assert shaped.actions.tolist() == [1, 1, 0, 1]
    assert init.actions.tolist() == [1, 1, 1, 1]


@settings(max_examples=20)
@given(data=st.data(), sarsa=st.booleans())
def test_constant_potential_reproduces_q_learning_in_floats(data, sarsa):
    P, R, mu = data.draw(mdp_arrays(4, 3))
    S = P.shape[0]
    mdp = TabularMDP(P, R, 0.9, mu)
    phi = data.draw(hnp.arrays(np.float64, (S,), elements=_PHI))
    seed = data.draw(st.integers(0, 1000))
    learner = sh.sarsa if sarsa else sh.q_learning
    a = learner(mdp, 4, lr=0.3, epsilon=0.2, rng=seed, potential=phi, max_steps=15)
    b = sh.dynamic_q_learning(mdp, 4, potentials=np.stack([phi, phi, phi]), lr=0.3,
                              epsilon=0.2, rng=seed, sarsa=sarsa, max_steps=15)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.q_values, b.q_values)


def test_exact_shifted_run_keeps_fractions():
    mdp = envs.chain(3, gamma=0.5)
    Phi = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.0]])
    run = sh.dynamic_q_learning(mdp, 2, potentials=Phi, lr=0.5, epsilon=0.3, rng=0,
                                mode="shifted", exact=True)
    assert all(isinstance(q, Fraction) for q in run.q_values.ravel())


# ---------------------------------------------------------------------------------- bad input
def test_bad_inputs_name_the_argument():
    mdp = envs.chain(3, gamma=0.5)
    Phi = np.zeros((2, 3))
    pi = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="potentials"):
        sh.dynamic_shaping_reward(np.zeros(3), 0.5, 2)
    with pytest.raises(ValueError, match="gamma"):
        sh.dynamic_shaping_reward(Phi, 1.5, 2)
    with pytest.raises(ValueError, match="n_actions"):
        sh.dynamic_shaping_reward(Phi, 0.5, 0)
    with pytest.raises(ValueError, match="potentials"):
        sh.shape_dynamic(np.zeros((3, 2)), np.zeros((2, 4)), 0.5)
    with pytest.raises(ValueError, match="potentials"):
        sh.evaluate_dynamic(mdp, np.zeros((2, 4)), pi)
    with pytest.raises(ValueError, match="potentials"):
        sh.evaluate_dynamic(mdp, np.array([[np.nan, 0.0, 0.0]]), pi)
    with pytest.raises(ValueError, match="policy"):
        sh.evaluate_dynamic(mdp, Phi, None)
    with pytest.raises(ValueError, match="policy"):
        sh.evaluate_dynamic(mdp, Phi, np.full((2, 3, 2), 0.7))
    with pytest.raises(ValueError, match="terminal"):
        sh.evaluate_dynamic(mdp, Phi, pi, terminal=[0])
    fin = TabularMDP(mdp.transitions, mdp.rewards, 1.0, horizon=2)
    with pytest.raises(ValueError, match="potentials"):
        sh.solve_dynamic(fin, Phi)
    with pytest.raises(ValueError, match="policy"):
        sh.evaluate_dynamic(fin, np.zeros((3, 3)), np.full((3, 3, 2), 0.5))
    with pytest.raises(ValueError, match="potentials"):
        sh.time_expanded_mdp(fin, Phi)
    with pytest.raises(ValueError, match="n_layers"):
        sh.expand_policy(pi, 0)
    with pytest.raises(TypeError, match="mdp"):
        sh.solve_dynamic("mdp", Phi)
    kw = dict(potentials=Phi, lr=0.5, epsilon=0.1, rng=0)
    with pytest.raises(ValueError, match="mode"):
        sh.dynamic_q_learning(mdp, 1, mode="initialised", **kw)
    with pytest.raises(ValueError, match="clock"):
        sh.dynamic_q_learning(mdp, 1, clock="wall", **kw)
    with pytest.raises(ValueError, match="lr"):
        sh.dynamic_q_learning(mdp, 1, **{**kw, "lr": 0.0})
    with pytest.raises(ValueError, match="potentials"):
        sh.dynamic_q_learning(mdp, 1, **{**kw, "potentials": np.zeros((2, 5))})


@settings(max_examples=30)
@given(inst=dynamic_instances(finite=False), L=st.integers(1, 6),
       period=st.sampled_from(["periodic", "free"]))
def test_truncating_a_bounded_potential_is_exact(inst, L, period):
    S = inst["P"].shape[0]
    base = np.vstack([inst["Phi"][:1], -inst["Phi"][:1] + 1.0])
    long = base[np.arange(10) % 2] if period == "periodic" else np.vstack(
        [inst["Phi"], np.arange(10 * S, dtype=float).reshape(10, S) % 3])
    assert ps.dynamic_truncation({**inst, "long": long, "L": L}) <= 1e-9


# ----------------------------------------------------- result objects and renamed keywords
def test_dynamic_result_is_a_result_with_a_certificate():
    from prefrl.results import Result

    mdp = envs.chain(4, gamma=0.9)
    Phi = np.array([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]])
    opt = sh.solve_dynamic(mdp, Phi)
    ev = sh.evaluate_dynamic(mdp, Phi, np.full((4, 2), 0.5))
    for res in (opt, ev):
        assert isinstance(res, Result) and res.converged
        assert res.certificate <= 1e-12
    fin = TabularMDP(mdp.transitions, mdp.rewards, 1.0, mdp.initial, horizon=2)
    res = sh.solve_dynamic(fin, np.zeros((3, 4)))
    assert res.converged and res.certificate == 0.0
    # a wrong value table has a certificate
    assert opt.replace(values=opt.values + 0.5).certificate == pytest.approx(0.5)


def test_dynamic_q_learning_old_keywords_warn_and_modes_certify_alike():
    mdp = envs.chain(4, gamma=0.9)
    Phi = np.array([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]])
    kw = dict(potentials=Phi, epsilon=0.2, rng=1)
    new = sh.dynamic_q_learning(mdp, 5, lr=0.5, init=np.ones((4, 2)), **kw)
    with pytest.warns(DeprecationWarning) as caught:
        old = sh.dynamic_q_learning(mdp, 5, alpha=0.5, q_init=np.ones((4, 2)), **kw)
    assert {str(w.message).split("'")[1] for w in caught} == {"alpha", "q_init"}
    np.testing.assert_array_equal(old.q_values, new.q_values)
    shifted = sh.dynamic_q_learning(mdp, 5, lr=0.5, init=np.ones((4, 2)), mode="shifted", **kw)
    np.testing.assert_array_equal(shifted.actions, new.actions)
    assert shifted.certificate == pytest.approx(new.certificate, abs=1e-12)
