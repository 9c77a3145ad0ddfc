"""Reward machines, LTL satisfaction probabilities, INMR/FTR, and the five-way separation."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefrl.proofs_check.expressivity as pc
from prefrl import expressivity as ex
from prefrl.expressivity import holds_on_lasso, to_automaton
from prefrl.mdp import TabularMDP
from prefrl.mdp._strategies import policies, tabular_mdps

_R = st.sampled_from([-1.0, 0.0, 0.0, 1.0]) | st.floats(-2.0, 2.0)
_W = st.sampled_from([0.0, 0.0, 0.5, 1.0]) | st.floats(0.0, 1.0)
GAMMAS = st.sampled_from([0.0, 0.5, 0.9])


@st.composite
def machines(draw, S, A):
    U = draw(st.integers(1, 3))
    L = draw(st.integers(1, 3))
    delta = draw(hnp.arrays(np.int64, (U, L), elements=st.integers(0, U - 1)))
    shape = (U, U, S, A, S) if draw(st.booleans()) else (U, U)
    R = draw(hnp.arrays(np.float64, shape, elements=_R))
    m = ex.RewardMachine(delta, R, draw(st.integers(0, U - 1)), draw(GAMMAS))
    lab = draw(hnp.arrays(np.int64, (S, A, S), elements=st.integers(0, L - 1)))
    return m, lab


@st.composite
def rm_instances(draw):
    env = draw(tabular_mdps(max_states=3, max_actions=2))
    S, A = env.n_states, env.n_actions
    m, lab = draw(machines(S, A))
    return {"env": env, "machine": m, "labelling": lab, "policy": draw(policies(S, A)),
            "horizon": draw(st.integers(1, 4))}


@st.composite
def propositional(draw, k):
    b = ex.prop(draw(st.integers(0, k - 1)))
    if draw(st.booleans()):
        b = ~b
    if draw(st.integers(0, 3)) == 0:
        b = b & ex.prop(draw(st.integers(0, k - 1)))
    elif draw(st.integers(0, 3)) == 0:
        b = b | ex.prop(draw(st.integers(0, k - 1)))
    return b


@st.composite
def formulas(draw, k, depth=2):
    kind = draw(st.integers(0, 6 if depth > 0 else 5))
    b = draw(propositional(k))
    if kind == 0:
        f = b
    elif kind == 1:
        f = ex.eventually(b)
    elif kind == 2:
        f = ex.always(b)
    elif kind == 3:
        f = ex.until(b, draw(propositional(k)))
    elif kind == 4:
        f = ex.always_eventually(b)
    elif kind == 5:
        f = ex.eventually_always(b)
    else:
        f1, f2 = draw(formulas(k, depth - 1)), draw(formulas(k, depth - 1))
        f = draw(st.sampled_from([f1 & f2, f1 | f2, ~f1]))
    if draw(st.integers(0, 5)) == 0:
        f = ex.next_(f, draw(st.integers(1, 2)))
    return f


@st.composite
def dag_envs(draw):
    """Transitions only to higher states; rows without successors (and the last) absorbing."""
    S = draw(st.integers(1, 5))
    A = draw(st.integers(1, 2))
    W = draw(hnp.arrays(np.float64, (S, A, S), elements=_W))
    absorbing = draw(hnp.arrays(np.bool_, (S,), elements=st.booleans()))
    P = np.zeros((S, A, S))
    for s in range(S):
        row = W[s] * (np.arange(S) > s)
        if s == S - 1 or absorbing[s] or np.any(row.sum(axis=1) == 0):
            P[s, :, s] = 1.0
        else:
            P[s] = row / row.sum(axis=1, keepdims=True)
    mu_w = draw(hnp.arrays(np.float64, (S,), elements=_W))
    mu = mu_w / mu_w.sum() if mu_w.sum() > 0 else np.eye(S)[0]
    return TabularMDP(P, np.zeros((S, A)), 0.0, mu)


# ------------------------------------------------------------------ reward machines
@settings(max_examples=40)
@given(env=tabular_mdps(max_states=4, max_actions=3), data=st.data(), gamma=GAMMAS)
def test_one_state_machine_is_markov_reward(env, data, gamma):
    S, A = env.n_states, env.n_actions
    R = data.draw(hnp.arrays(np.float64, (S, A, S), elements=_R))
    pi = data.draw(policies(S, A))
    inst = {"env": env, "reward": R, "gamma": gamma, "policy": pi}
    assert pc.rm_one_state_is_mr(inst) <= 1e-10


@settings(max_examples=40)
@given(inst=rm_instances())
def test_machine_value_matches_trajectory_enumeration(inst):
    assert pc.rm_matches_trajectory_enumeration(inst) <= 1e-9


@settings(max_examples=30)
@given(inst=rm_instances(), data=st.data(), w=st.sampled_from([1.0, 0.1, 1e-4]))
def test_machine_value_is_lipschitz_in_the_policy(inst, data, w):
    S, A = inst["env"].n_states, inst["env"].n_actions
    inst["policy2"] = (1 - w) * inst["policy"] + w * data.draw(policies(S, A))
    assert pc.rm_value_lipschitz_in_policy(inst) <= 1e-10


def test_machine_that_counts_changes_is_the_gini_impurity():
    env, g = ex.one_state_env(3), 0.5
    J = ex.RewardMachineObjective(env, pc.change_machine(3, g), np.arange(3)[None, :, None])
    for pi in ([1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]):
        pi = np.array([pi])
        assert J(pi) == pytest.approx(g / (1 - g) * (1 - np.sum(pi**2)), abs=1e-12)


def test_machine_remembers_history_that_markov_rewards_cannot():
    # stay/go with a machine paying 1 on reaching the goal only if 'stay' was taken first.
    env = ex.stay_go_env()
    lab = np.zeros((2, 2, 2), dtype=int)
    lab[0, 0, 0] = 1  # letter 1: stayed in the start state; letter 0: anything else
    delta = [[2, 1], [3, 1], [2, 2], [3, 3]]  # 1: stayed once; 2: went directly; 3: paid
    R = np.zeros((4, 4))
    R[1, 3] = 1.0
    J = ex.RewardMachineObjective(env, ex.RewardMachine(delta, R, 0, 0.5), lab)
    for p in (0.0, 0.3, 1.0):  # first step stays w.p. 1 - p; then geometric wait for 'go'
        T = (1 - p) * sum(0.5**t * (1 - p) ** (t - 1) * p for t in range(1, 200))
        assert J([[1 - p, p], [1, 0]]) == pytest.approx(T, abs=1e-12)


# ------------------------------------------------------------------ LTL
@settings(max_examples=60)
@given(env=dag_envs(), data=st.data())
def test_ltl_probability_matches_lasso_semantics(env, data):
    k = data.draw(st.integers(1, 2))
    props = data.draw(hnp.arrays(np.bool_, (k, env.n_states), elements=st.booleans()))
    inst = {"env": env, "props": props, "formula": data.draw(formulas(k)),
            "policy": data.draw(policies(env.n_states, env.n_actions))}
    assert pc.ltl_matches_lasso_semantics(inst) <= 1e-10


@settings(max_examples=40)
@given(env=tabular_mdps(max_states=4, max_actions=3), data=st.data())
def test_ltl_boolean_identities_on_chains_with_cycles(env, data):
    S, A = env.n_states, env.n_actions
    k = data.draw(st.integers(1, 2))
    props = data.draw(hnp.arrays(np.bool_, (k, S, A, S), elements=st.booleans()))
    inst = {"env": env, "props": props, "f": data.draw(formulas(k)), "g": data.draw(formulas(k)),
            "policy": data.draw(policies(S, A))}
    try:
        v = pc.ltl_boolean_identities(inst)
    except ValueError as exc:  # subnormal leak probabilities: refused, not silently wrong
        assert "ill-conditioned" in str(exc)
        assume(False)
    assert v <= 1e-9


@settings(max_examples=40)
@given(env=tabular_mdps(max_states=5, max_actions=3), data=st.data())
def test_eventually_is_the_hitting_probability(env, data):
    # Independent reference: the minimal solution of h = 1_p + 1_{not p} P_pi h, computed by
    # zeroing the states that cannot reach p and solving the remaining linear system.
    S, A = env.n_states, env.n_actions
    p = data.draw(hnp.arrays(np.bool_, (S,), elements=st.booleans()))
    pi = data.draw(policies(S, A))
    P = np.einsum("sa,sat->st", pi, env.dense_transitions())
    reach = p.copy()
    for _ in range(S):
        reach = reach | ((P[:, reach] > 0).any(axis=1) & True)
    T = np.flatnonzero(reach & ~p)
    h = p.astype(float)
    try:
        res = ex.satisfaction_probability(env, pi, ex.eventually(ex.prop(0)), p[None])
    except ValueError as exc:
        assert "ill-conditioned" in str(exc)
        assume(False)
    if T.size:
        M = np.eye(T.size) - P[np.ix_(T, T)]
        assume(np.linalg.cond(M) < 1e8)
        h[T] = np.linalg.solve(M, P[np.ix_(T, np.flatnonzero(p))].sum(axis=1))
    assert abs(res.probability - env.initial @ h) <= 1e-9 * (1 + np.linalg.cond(M) if T.size else 1)
    assert 0.0 <= res.probability <= 1.0 and res.certificate <= 1e-9


def test_ltl_degenerate_formulas_and_recurrence():
    env = ex.switch_env()
    st0 = np.array([[True, False]])  # p0: "in state 0"
    valid, contra = ex.prop(0) | ~ex.prop(0), ex.prop(0) & ~ex.prop(0)
    for q0, q1 in [(0.0, 0.0), (0.5, 0.0), (0.3, 0.7), (1.0, 1.0)]:
        pi = pc.switch_policy(q0, q1)

        def P(f, pi=pi):
            return ex.satisfaction_probability(env, pi, f, st0).probability

        assert P(ex.always(valid)) == 1.0 and P(ex.eventually(contra)) == 0.0
        # GF p0 holds a.s. iff the chain returns to state 0 forever: q0 = 0, or both positive.
        assert P(ex.always_eventually(ex.prop(0))) == float(q0 == 0 or q1 > 0)
        assert P(ex.eventually_always(ex.prop(0))) == float(q0 == 0)
        assert P(ex.eventually_always(~ex.prop(0))) == float(q0 > 0 and q1 == 0)
    # X: the state at step 1 is 0 with probability 1 - q0.
    assert ex.satisfaction_probability(env, pc.switch_policy(0.3, 0.5), ex.next_(ex.prop(0)),
                                       st0).probability == pytest.approx(0.7, abs=1e-15)


def test_ltl_until_on_stay_go():
    env = ex.stay_go_env()
    at0 = np.array([True, False])
    props = np.stack([at0, ~at0])  # p0: at the start, p1: at the goal
    for p in (0.0, 0.2, 1.0):
        pi = [[1 - p, p], [1, 0]]
        u = ex.satisfaction_probability(env, pi, ex.until(ex.prop(0), ex.prop(1)), props)
        assert u.probability == float(p > 0)
        # G p0 is the complement (the run either reaches the goal or stays forever).
        g = ex.satisfaction_probability(env, pi, ex.always(ex.prop(0)), props)
        assert g.probability == float(p == 0)
        # The product's only bottom SCC is (goal, violated) when p > 0, (start, fine) when p = 0.
        assert (g.n_bsccs, g.n_accepting) == ((1, 0) if p > 0 else (1, 1))
        assert g.product_states[g.accepting].tolist() == ([] if p > 0 else [[0, 0]])


def test_subnormal_leak_is_exact_when_decided_by_the_graph():
    # State 1 leaks to the goal 0 with probability 2e-323, else cycles through state 2: the goal
    # is reached almost surely, which the graph precomputation decides without any solve.
    P = np.zeros((3, 1, 3))
    P[0, 0, 0] = 1.0
    P[1, 0] = [2e-323, 0.0, 1.0]
    P[2, 0, 1] = 1.0
    env = TabularMDP(P, np.zeros((3, 1)), 0.0, [0.0, 1.0, 0.0])
    res = ex.satisfaction_probability(env, np.ones((3, 1)), ex.eventually(ex.prop(0)),
                                      [[True, False, False]])
    assert res.probability == 1.0
    # Leaking to two different absorbing ends with tiny probabilities is refused, not guessed.
    Q = np.zeros((4, 1, 4))
    Q[0, 0, 0] = Q[3, 0, 3] = 1.0
    Q[1, 0] = [2e-323, 0.0, 1.0, 0.0]
    Q[2, 0] = [0.0, 1.0, 0.0, 2e-323]
    env = TabularMDP(Q, np.zeros((4, 1)), 0.0, [0.0, 1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="ill-conditioned"):
        ex.satisfaction_probability(env, np.ones((4, 1)), ex.eventually(ex.prop(0)),
                                    [[True, False, False, False]])


def test_lasso_reference_is_the_textbook_semantics():
    p0, p1 = ex.prop(0), ex.prop(1)
    assert holds_on_lasso(ex.until(p0, p1), [1, 1, 2], 0)  # p0 p0 p1 ...
    assert not holds_on_lasso(ex.until(p0, p1), [1, 0, 2], 0)
    assert holds_on_lasso(ex.always_eventually(p0), [0, 0], 1)
    assert not holds_on_lasso(ex.eventually_always(p0), [1, 1], 0)
    assert holds_on_lasso(ex.next_(p1, 2), [0, 0, 2], 0)


def test_automaton_sizes_and_complement():
    f = ex.eventually(ex.prop(0)) & ex.always_eventually(ex.prop(1))
    aut = to_automaton(f, 2)
    assert aut.n_states == 4 and aut.n_letters == 4
    comp = aut.complement()
    for inf in ([True, False, False, False], [False, True, False, True], [True] * 4):
        assert comp.accepts_inf(inf) != aut.accepts_inf(inf)


# ------------------------------------------------------------------ INMR / FTR
@settings(max_examples=40)
@given(env=tabular_mdps(max_states=3, max_actions=2), data=st.data(),
       H=st.integers(1, 5), gamma=st.sampled_from([0.5, 0.9, 1.0]))
def test_inmr_is_finite_horizon_mr_for_identity_and_ftr_in_general(env, data, H, gamma):
    S, A = env.n_states, env.n_actions
    R = data.draw(hnp.arrays(np.float64, (S, A, S), elements=_R))
    inst = {"env": env, "reward": R, "policy": data.draw(policies(S, A)), "horizon": H,
            "gamma": gamma}
    assert pc.inmr_identity_is_finite_horizon_mr(inst) <= 1e-9


def test_return_distribution_of_a_deterministic_chain_is_a_point_mass():
    env = ex.stay_go_env()
    d = ex.return_distribution(env, np.array([0, 0]), [[1.0, 0.0], [0.0, 0.0]], 3, gamma=0.5)
    np.testing.assert_array_equal(d.returns, [1.75])
    np.testing.assert_array_equal(d.probabilities, [1.0])


def test_inmr_risk_aversion_separates_equal_means():
    # Two actions with mean return 1 over H = 1: a sure 1, or 0/2 with equal odds.
    P = np.zeros((1, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1] = [0.5, 0.5]
    P2 = np.zeros((2, 2, 2))
    P2[0] = P[0]
    P2[1, :, 1] = 1.0
    env = TabularMDP(P2, np.zeros((2, 2)), 0.0, [1.0, 0.0])
    R = np.zeros((2, 2, 2))
    R[0, 0, 0] = 1.0
    R[0, 1, 0], R[0, 1, 1] = 0.0, 2.0
    mean = ex.InnerNonlinearMR(env, R, lambda g: g, 1)
    risk = ex.InnerNonlinearMR(env, R, lambda g: -((g - 1.0) ** 2), 1)
    safe, gamble = np.array([0, 0]), np.array([1, 0])
    assert mean(safe) == mean(gamble) == 1.0
    assert risk(safe) == 0.0 and risk(gamble) == -1.0


# ------------------------------------------------------------------ the five-way separation
def test_five_way_table_statuses():
    cells = pc.five_way_table(m=6, n_draws=8, rng=3)
    assert not [k for k, c in cells.items() if c["status"] == "failed"]
    five = {k: c for k, c in cells.items() if k.split(">")[1] != "MR"}
    assert len(five) == 20
    assert sum(c["status"] != "open" for c in five.values()) == 20
    for X in pc.FIVE:  # the LP certificates against MR (the minimum requirement) all hold
        assert cells[f"{X}>MR"]["status"] == "certified"


@settings(max_examples=30)
@given(r=hnp.arrays(np.float64, 3, elements=_R),
       which=st.sampled_from(["RRL", "RM", "LTL"]))
def test_line_lemma_finds_a_tie_that_the_witness_breaks(r, which):
    W = pc.five_way_witnesses()
    soft = np.exp([1.0, 0.0, 0.0])
    star = {"RRL": soft / soft.sum(), "RM": pc.rm_witness_optimum(),
            "LTL": np.full(3, 1 / 3)}[which]
    w = pc.line_witness(W[which][1], star, r)
    assert w["separated"] and w["tie_residual"] <= 1e-12
    # The ends are tied under every ONMR built from r (same <pi, r>).
    onmr = ex.OuterNonlinearMR(ex.one_state_env(3), r[None], 0.5, np.tanh)
    for e in w["ends"]:
        assert abs(onmr(e[None]) - onmr(star[None])) <= 1e-12


@settings(max_examples=20)
@given(R=hnp.arrays(np.float64, (2, 2), elements=_R), gamma=GAMMAS,
       alpha=st.sampled_from([0.0, 0.1, 1.0]))
def test_corner_lemma_on_switch_env(R, gamma, alpha):
    J = ex.RegularisedRL(ex.switch_env(), R, gamma, alpha=alpha)
    assert pc.corner_witness(lambda p: J(p))["holds"]


@settings(max_examples=20)
@given(w=hnp.arrays(np.float64, 3, elements=_W))
def test_gini_witness_is_ltl_expressible_so_the_rm_witness_is_tilted(w):
    pi = (w / w.sum() if w.sum() > 0 else np.full(3, 1 / 3))[None]
    p = [ex.prop(i) for i in range(3)]
    phi = (p[0] & ex.next_(~p[0])) | (p[1] & ex.next_(~p[1])) | (p[2] & ex.next_(~p[2]))
    J = ex.LTLObjective(ex.one_state_env(3), phi, np.eye(3, dtype=bool)[:, None, :, None])
    assert abs(J(pi) - (1 - np.sum(pi**2))) <= 1e-12
    assert pc.gini_is_ltl(pc.simplex_grid(5))


def test_lp_certificates_of_rm_and_ltl_recomputed():
    tri, g = ex.one_state_env(3), 0.5
    grid = pc.simplex_grid(6)
    F = np.array([ex.discounted_occupancy(tri, p, g).ravel() for p in grid])
    W = pc.five_way_witnesses(g)
    for name in ("RM", "LTL"):
        order = ex.policy_ordering(W[name][1], grid)
        res = ex.mr_expressible(tri, order, grid, g)
        assert not res.feasible
        D = F[res.strict_pairs[:, 0]] - F[res.strict_pairs[:, 1]]
        E = F[res.tie_pairs[:, 0]] - F[res.tie_pairs[:, 1]]
        y, z = res.multipliers, res.tie_multipliers
        assert np.all(y >= -1e-12) and abs(y.sum() - 1) < 1e-9
        assert np.max(np.abs(D.T @ y + (E.T @ z if len(E) else 0))) <= 1e-9


def test_registered_separation_checks_hold():
    rng = np.random.default_rng(0)
    for _ in range(3):
        assert pc.rm_ltl_not_mr(pc.draw_not_mr(rng)) <= 1e-9
    assert pc.five_way_separation({"m": 4, "seed": 1, "gamma": 0.5}) == 0.0


# ------------------------------------------------------------------ validation
def test_bad_input_names_the_argument():
    env = ex.one_state_env()
    with pytest.raises(ValueError, match="delta"):
        ex.RewardMachine([[0, 2]], [[0.0]], 0, 0.5)
    with pytest.raises(ValueError, match="rewards"):
        ex.RewardMachine([[0, 0]], [[0.0, 1.0]], 0, 0.5)
    with pytest.raises(ValueError, match="start"):
        ex.RewardMachine([[0, 0]], [[0.0]], 1, 0.5)
    with pytest.raises(ValueError, match="gamma"):
        ex.RewardMachine([[0, 0]], [[0.0]], 0, 1.0)
    rm = ex.RewardMachine([[0, 0]], [[0.0]], 0, 0.5)
    with pytest.raises(ValueError, match="labelling"):
        ex.RewardMachineObjective(env, rm, np.full((1, 2, 1), 2))
    with pytest.raises(ValueError, match="propositions"):
        ex.LTLObjective(env, ex.eventually(ex.prop(0)), np.ones((1, 3), bool))
    with pytest.raises(ValueError, match="n_props"):
        ex.LTLObjective(env, ex.eventually(ex.prop(1)), np.ones((1, 1), bool))
    with pytest.raises(ValueError, match="propositional"):
        ex.LTLObjective(env, ex.eventually(ex.eventually(ex.prop(0))), np.ones((1, 1), bool))
    with pytest.raises(ValueError, match="horizon"):
        ex.return_distribution(env, [[0.5, 0.5]], [[1.0, 0.0]], 0)
    with pytest.raises(ValueError, match="horizon"):
        ex.TrajectoryFunction(env, lambda s, a: 0.0, 40)
    with pytest.raises(ValueError, match="reward"):
        ex.InnerNonlinearMR(env, [[1.0, 0.0, 0.0]], lambda g: g, 2)
    with pytest.raises(TypeError, match="machine"):
        ex.RewardMachineObjective(env, "not a machine", np.zeros((1, 2, 1), int))
