"""The four formerly open cells of the five-way separation (RRL vs RM, RRL vs LTL, RM vs LTL,
LAR vs LTL): witnesses, the premises of their lemmas, and the table (our constructions)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefrl.proofs_check.expressivity as pc
from prefrl import expressivity as ex
from prefrl.expressivity import DeterministicAutomaton

sympy = pytest.importorskip("sympy")

GAMMAS = st.sampled_from([0.0, 0.25, 0.5, 0.9])
_W = st.floats(0.0, 1.0, allow_nan=False)
TRI = ex.one_state_env(3)
ACTS = np.arange(3)[None, :, None]


def _simplex(w):
    return (w / w.sum() if w.sum() > 0 else np.full(3, 1 / 3))[None]


# ------------------------------------------------------------------ the table
def test_all_twenty_cells_settled_and_none_fails():
    cells = pc.five_way_table(m=4, n_draws=8, rng=5)
    five = {k: c for k, c in cells.items() if k.split(">")[1] != "MR"}
    assert len(five) == 20
    assert {c["status"] for c in five.values()} == {"certified", "argued"}
    for key in ("RRL>RM", "RRL>LTL", "RM>LTL", "LAR>LTL", "RM>RRL"):
        assert cells[key]["status"] == "argued", key
    assert all(cells[f"{X}>MR"]["status"] == "certified" for X in pc.FIVE)
    assert pc.five_way_separation({"m": 3, "seed": 2, "gamma": 0.25}) == 0.0


# ------------------------------------------------------------------ the RM witness
@settings(max_examples=40)
@given(w=hnp.arrays(np.float64, 3, elements=_W), gamma=st.sampled_from([0.25, 0.5, 0.9]))
def test_tilted_machine_closed_form_and_unique_optimum(w, gamma):
    pi = _simplex(w)
    J = ex.RewardMachineObjective(TRI, pc.tilted_change_machine(gamma), ACTS)
    tau = pc.E_INV
    closed = (gamma * tau * pi[0, 0] + gamma * (1 - np.sum(pi**2))) / (1 - gamma)
    assert abs(J(pi) - closed) <= 1e-12 * (1 + abs(closed))
    star = pc.rm_witness_optimum()
    # strictly concave quadratic: J(pi*) - J(pi) = gamma ||pi - pi*||^2 / (1 - gamma)
    gap = J(star[None]) - J(pi)
    assert abs(gap - gamma * np.sum((pi[0] - star) ** 2) / (1 - gamma)) <= 1e-12


def test_tilted_optimum_is_the_transcendental_point():
    e = np.e
    assert np.allclose(pc.rm_witness_optimum(), [(1 + 1 / e) / 3, (1 - 1 / (2 * e)) / 3,
                                                 (1 - 1 / (2 * e)) / 3], atol=0, rtol=1e-15)
    J = pc.five_way_witnesses(0.5)["RM"][1]
    assert pc.transcendental_optimum_witness(J, (1 + 1 / e) / 3)["holds"]
    # a wrong optimum is detected (the check can fail)
    assert not pc.transcendental_optimum_witness(J, 1 / 3)["holds"]
    # the untilted machine peaks at 1/3: rational, so the lemma does not apply to it
    G = ex.RewardMachineObjective(TRI, pc.change_machine(3, 0.5), ACTS)
    assert pc.transcendental_optimum_witness(G, 1 / 3)["holds"]


def test_rrl_witness_optimum_is_e_over_e_plus_2():
    J = pc.five_way_witnesses(0.5)["RRL"][1]
    w = pc.transcendental_optimum_witness(J, np.e / (np.e + 2))
    assert w["holds"] and abs(w["derivative_at_p_star"]) < 1e-8
    assert not pc.transcendental_optimum_witness(J, 0.5)["holds"]


# ------------------------------------------------------------------ LTL is rational over Q
@st.composite
def automata(draw, n_letters):
    """Random automata; with sinks (accepting, rejecting) the probability is rarely 0 or 1."""
    Q = draw(st.integers(1, 3))
    sinks = draw(st.booleans())
    n = Q + 2 * sinks
    delta = draw(hnp.arrays(np.int64, (n, n_letters), elements=st.integers(0, n - 1)))
    masks = [draw(hnp.arrays(np.bool_, n)) for _ in range(2)]
    if sinks:
        delta[Q], delta[Q + 1] = Q, Q + 1
        for m in masks:
            m[Q], m[Q + 1] = True, False
    kind = draw(st.sampled_from(["inf", "fin", "and", "or"]))
    if kind in ("inf", "fin"):
        acc = (kind, masks[0])
    else:
        acc = (kind, ("inf", masks[0]), ("fin", masks[1]))
    return DeterministicAutomaton(delta, draw(st.integers(0, Q - 1)), acc)


def test_random_ltl_draws_are_not_all_trivial():
    # the premise checks are not vacuous: many drawn objectives depend on the policy
    rng = np.random.default_rng(0)
    p = sympy.Symbol("p")
    n = 0
    for _ in range(30):
        inst = pc.draw_ltl_segment(rng)
        R, _ = pc.ltl_rational_form(TRI, inst["automaton"], inst["props"],
                                    [[p, (1 - p) / 2, (1 - p) / 2]], pc.segment_policy(0.5))
        n += not R.is_constant()
    assert n >= 6


@settings(max_examples=25, deadline=None)
@given(data=st.data(), k=st.integers(1, 2),
       x=st.floats(0.01, 0.99, allow_nan=False))
def test_ltl_on_the_segment_is_a_rational_function_over_q(data, k, x):
    props = data.draw(hnp.arrays(np.bool_, (k, 1, 3, 1)))
    aut = data.draw(automata(2**k))
    inst = {"automaton": aut, "props": props, "points": np.array([x, 0.5])}
    assert pc.ltl_is_rational_over_q_on_segments(inst) <= 1e-9


@settings(max_examples=20, deadline=None)
@given(data=st.data(), k=st.integers(1, 2),
       q=hnp.arrays(np.float64, 2, elements=st.floats(0.01, 0.99, allow_nan=False)))
def test_ltl_on_the_switch_env_is_a_rational_function_over_q(data, k, q):
    props = data.draw(hnp.arrays(np.bool_, (k, 2, 2, 2)))
    aut = data.draw(automata(2**k))
    inst = {"automaton": aut, "props": props, "points": q[None]}
    assert pc.ltl_is_rational_over_q_on_switch_env(inst) <= 1e-9


def test_rational_form_of_a_known_formula():
    # F p0 & F p1 on sigma(p): 1 on full support
    p = sympy.Symbol("p")
    aut = ex.to_automaton(ex.eventually(ex.prop(0)) & ex.eventually(ex.prop(1)), 2)
    R, _ = pc.ltl_rational_form(TRI, aut, np.eye(3, dtype=bool)[:2, None, :, None],
                                [[p, (1 - p) / 2, (1 - p) / 2]], pc.segment_policy(0.5))
    assert sympy.simplify(R - 1) == 0
    # "the first action is a0 and the second is not": p (1 - p), a non-trivial polynomial
    phi = ex.prop(0) & ex.next_(~ex.prop(0))
    aut = ex.to_automaton(phi, 1)
    R, _ = pc.ltl_rational_form(TRI, aut, np.eye(3, dtype=bool)[:1, None, :, None],
                                [[p, (1 - p) / 2, (1 - p) / 2]], pc.segment_policy(0.5))
    assert sympy.expand(R - p * (1 - p)) == 0
    assert ex.is_rational_function_over_q(R, [p])
    assert not ex.is_rational_function_over_q(sympy.sqrt(2) * p, [p])


# ------------------------------------------------------------------ the LAR witness
@settings(max_examples=40)
@given(q=hnp.arrays(np.float64, 2, elements=st.one_of(st.just(0.0), st.just(1.0),
                                                      st.floats(1e-6, 1.0))))
def test_lar_witness_closed_form_with_absorbing_boundaries(q):
    # (switch probabilities below ~1e-300 make the chain numerically reducible: LAR raises)
    J = pc.five_way_witnesses()["LAR"][1]
    q0, q1 = q
    v = J(pc.switch_policy(q0, q1))
    if q0 == 0.0:
        expected = 1.0  # never leaves state 0
    elif q1 == 0.0:
        expected = 0.0  # ends in state 1
    else:
        expected = q1 * (1 + pc.E_INV * q0) / (q0 + q1)
    assert abs(v - expected) <= 1e-12


@settings(max_examples=30)
@given(c=st.floats(0.05, 20.0), u=st.floats(1e-6, 1.0))
def test_lar_level_curves_are_tie_classes(c, u):
    J = pc.five_way_witnesses()["LAR"][1]
    t = u / max(1.0, c)  # keeps q1 <= c t <= 1
    assert abs(J(pc.lar_level_curve(c, t)) - c / (1 + c)) <= 1e-12


def test_irrational_slope_premises_and_a_wrong_slope_fails():
    assert pc.irrational_slope_witness()["holds"]
    # the closed-form gradient uses kappa: evaluated with another kappa it no longer matches
    w = pc.irrational_slope_witness(kappa=pc.E_INV)
    assert w["gradient_gap"] <= 1e-6
    env = ex.switch_env()
    J = ex.LimitAverageReward(env, pc.lar_witness_reward(0.5))
    vals = [J(pc.lar_level_curve(2.0, t, pc.E_INV)) for t in (0.5, 0.1)]
    assert abs(vals[0] - vals[1]) > 1e-3  # curves of one kappa are not level sets of another


# ------------------------------------------------------------------ the edge lemma (RRL vs RM)
@settings(max_examples=40)
@given(x=st.floats(0.05, 0.95), y=st.floats(0.05, 0.95), eps=st.floats(1e-12, 0.5),
       alpha=st.floats(0.1, 3.0), gamma=GAMMAS)
def test_entropy_grouping_identity_across_the_edge(x, y, eps, alpha, gamma):
    r = np.array([1.0, 0.0, -0.5])
    J = ex.RegularisedRL(TRI, r[None], gamma, alpha=alpha)
    ep = np.array([y, 1 - y, 0.0])
    pe = (1 - eps) * ep + eps * np.eye(3)[2]
    h = -eps * np.log(eps) - (1 - eps) * np.log1p(-eps)
    lhs = J(pe[None]) * (1 - gamma)
    rhs = (1 - eps) * J(ep[None]) * (1 - gamma) + eps * r[2] + alpha * h
    assert abs(lhs - rhs) <= 1e-12 * (1 + abs(lhs))


def test_edge_ties_shrink_faster_than_the_step():
    w = pc.edge_tie_witness()
    assert w["holds"]
    assert np.all(np.diff(w["ratios"], axis=1) < 0)
    assert w["last_ratio"] < 0.15 and w["tie_residual"] <= 1e-12 and w["vertex_gap"] == 2.0


def test_edge_lemma_premise_fails_without_entropy():
    # alpha = 0 is MR (affine): no tie across the edge, the check must say so
    assert not pc.edge_tie_witness(alpha=0.0)["holds"]


@settings(max_examples=20)
@given(w=hnp.arrays(np.float64, (2, 3), elements=_W), gamma=GAMMAS, seed=st.integers(0, 2**16))
def test_rm_values_are_lipschitz_on_the_one_state_simplex(w, gamma, seed):
    # the edge lemma's premise, on random machines of the witness environment
    a, b = _simplex(w[0]), _simplex(w[1])
    rng = np.random.default_rng(seed)
    m = pc.random_machine(rng, 1, 3)
    J = ex.RewardMachineObjective(TRI, m, rng.integers(0, m.n_letters, size=(1, 3, 1)))
    rmax = float(np.abs(J.transition_rewards).max())
    bound = rmax * np.abs(a - b).sum() / (1 - m.gamma) ** 2
    assert abs(J(a) - J(b)) <= bound + 1e-12 * (1 + rmax / (1 - m.gamma))


# ------------------------------------------------------------------ the KL lemma (RM vs RRL)
@settings(max_examples=40)
@given(r=hnp.arrays(np.float64, 3, elements=st.floats(-3, 3)), alpha=st.floats(0.05, 5.0),
       w=hnp.arrays(np.float64, 3, elements=_W), ref=hnp.arrays(np.float64, 3,
                                                              elements=st.floats(0.05, 1.0)),
       gamma=GAMMAS)
def test_one_state_rrl_is_minus_kl_to_its_optimum(r, alpha, w, ref, gamma):
    pi = _simplex(w)[0]
    ref = ref / ref.sum()
    J = ex.RegularisedRL(TRI, r[None], gamma, alpha=alpha, pi_ref=ref)
    rp = r + alpha * np.log(ref)
    logz = np.logaddexp.reduce(rp / alpha)
    star = np.exp(rp / alpha - logz)
    kl = float(np.sum(np.where(pi > 0, pi * np.log(np.where(pi > 0, pi, 1) / star), 0.0)))
    assert abs(J(pi[None]) - alpha * (logz - kl) / (1 - gamma)) <= 1e-10 * (1 + abs(J(pi[None])))


def test_kl_lemma_witness():
    u = pc.interior_max_witness()
    assert u["holds"] and u["rm_best_is_pi_star"]
    # the RM tie is exact (symmetric quadratic), the KL gap is large
    assert abs(u["J_rm"][0] - u["J_rm"][1]) <= 1e-12
    assert abs(u["J_kl"][0] - u["J_kl"][1]) > 5e-3


@pytest.mark.parametrize("gamma", [0.25, 0.5])
def test_witness_grid_orderings_still_not_mr_or_lar(gamma):
    cells = pc.five_way_table(m=4, n_draws=4, rng=0, gamma=gamma)
    for key in ("RM>MR", "RM>LAR", "LAR>MR"):
        assert cells[key]["status"] == "certified"
        assert cells[key]["evidence"]["residual"] <= 1e-9


def test_bad_input():
    with pytest.raises(ValueError, match="gamma"):
        pc.tilted_change_machine(1.0)


# ------------------------------------------------------------------ the constructions in prefrl.expressivity
def test_instances_are_reproducible_valid_and_keyed_like_the_checks():
    for draw, keys in ((ex.draw_rm, {"env", "machine", "labelling", "policy", "horizon"}),
                       (ex.draw_lipschitz, {"env", "machine", "labelling", "policy", "horizon",
                                            "policy2"}),
                       (ex.draw_inmr, {"env", "reward", "policy", "horizon", "gamma"}),
                       (ex.draw_ltl_dag, {"env", "props", "formula", "policy"}),
                       (ex.draw_ltl_segment, {"automaton", "props", "points"}),
                       (ex.draw_ltl_switch, {"automaton", "props", "points"})):
        for seed in range(5):
            a, b = draw(seed), draw(np.random.default_rng(seed))
            assert set(a) == keys
            if "policy" in a:
                np.testing.assert_array_equal(a["policy"], b["policy"])
                a["env"].check_policy(a["policy"])
    for seed in range(20):
        env = ex.random_env(seed)
        P = env.dense_transitions()
        assert np.allclose(P.sum(axis=2), 1) and abs(env.initial.sum() - 1) < 1e-12
        dag = ex.dag_env(seed, 4).dense_transitions()
        assert all(np.all(dag[s, :, :s] == 0) for s in range(4)) and np.all(dag[3, :, 3] == 1)
        pi = ex.random_policy(seed, 3, 2)
        assert np.allclose(pi.sum(axis=1), 1) and np.all(pi >= 0)
    m = ex.random_machine(0, 2, 3, n_machine_states=2, n_letters=3, sas=True)
    assert m.rewards.shape == (2, 2, 2, 3, 2) and m.delta.shape == (2, 3)
    aut = ex.random_automaton(0, 4, n_states=3)
    assert aut.n_letters == 4 and aut.n_states in (3, 5)
    assert max(ex.random_formula(1, 3).props()) < 3
    with pytest.warns(DeprecationWarning, match="'U' is deprecated"):
        assert ex.random_machine(0, 1, 2, U=3).n_states == 3


def test_crosschecks_vanish_on_draws_and_detect_errors(monkeypatch):
    import prefrl.expressivity._crosschecks as cc

    rng = np.random.default_rng(4)
    for _ in range(5):
        i = ex.draw_rm(rng)
        assert ex.rm_enumeration_gap(i["env"], i["machine"], i["labelling"], i["policy"],
                                     i["horizon"]) <= 1e-9
        i = ex.draw_inmr(rng)
        assert ex.inmr_ftr_gap(i["env"], i["reward"], i["policy"], i["horizon"], i["gamma"]) <= 1e-9
        assert ex.inmr_ftr_gap(i["env"], i["reward"][:, :, 0], i["policy"], i["horizon"],
                               i["gamma"]) <= 1e-9  # an (S, A) reward
    # a machine return computed wrongly along trajectories is detected
    i = {"env": ex.one_state_env(), "machine": ex.RewardMachine([[0, 0]], [[1.0]], 0, 0.5),
         "labelling": np.zeros((1, 2, 1), int), "policy": np.array([[0.5, 0.5]]), "horizon": 3}
    assert ex.rm_enumeration_gap(*i.values()) <= 1e-12
    monkeypatch.setattr(cc, "_run_machine", lambda *a: 0.0)  # every trajectory returns 0
    assert ex.rm_enumeration_gap(*i.values()) > 0.1
    monkeypatch.undo()
    with pytest.raises(ValueError, match="propositions"):
        ex.ltl_lasso_gap(ex.stay_go_env(), [[1, 0], [1, 0]], ex.eventually(ex.prop(0)),
                         np.ones((1, 2, 2, 2), bool))
    # stay/go: certified with p = 0 on the grid; without it LAR's ordering is a tie, MR-expressible
    assert ex.stay_go_incomparability(0.5, 2.0, [0.0, 0.3, 1.0]) <= 1e-9
    assert ex.stay_go_incomparability(0.5, 2.0, [0.3, 1.0]) == 1.0


def test_lipschitz_excess_is_tight_for_a_one_state_machine():
    # J(pi) = pi_0 r / (1 - gamma): |J(pi) - J(pi')| = r |dp| / (1 - gamma) <= r 2|dp| / (1 - gamma)^2
    m = ex.RewardMachine([[0, 0]], np.array([[[[[1.0], [0.0]]]]]), 0, 0.5)
    lab = np.zeros((1, 2, 1), int)
    assert ex.rm_lipschitz_excess(ex.one_state_env(), m, lab, [[1.0, 0.0]], [[0.0, 1.0]]) == 0.0
    with pytest.raises(ValueError, match="other"):
        ex.rm_lipschitz_excess(ex.one_state_env(), m, lab, [[1.0, 0.0]], [[0.5, 0.6]])


def test_witness_families():
    for m in (1, 3, 6):
        g = ex.simplex_grid(m)
        assert len(g) == (m + 1) * (m + 2) // 2
        assert all(p.shape == (1, 3) and abs(p.sum() - 1) < 1e-12 and p.min() >= 0 for p in g)
    assert len(ex.switch_grid()) == 25
    np.testing.assert_array_equal(ex.segment_policy(1.0), [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ex.switch_policy(0.0, 1.0), [[1.0, 0.0], [0.0, 1.0]])
    # the rays are the curves with kappa = 0
    np.testing.assert_array_equal(ex.lar_level_curve(2.0, 0.25, kappa=0.0), ex.switch_policy(0.25, 0.5))
    assert pc.ray_intervals(np.sum) == ex.curve_intervals(np.sum, kappa=0.0)
    assert tuple(ex.five_way_witnesses()) == ex.FIVE
    u = ex.uniform_max_witness()
    assert u["holds"] and u["rm_best_is_uniform"] and abs(u["J_rm"][0] - u["J_rm"][1]) <= 1e-12


def test_rational_gaps_accept_formulas_and_automata():
    acts = np.eye(3, dtype=bool)[:1, None, :, None]
    phi = ex.prop(0) & ex.next_(~ex.prop(0))
    assert ex.ltl_rational_gap_on_segment(phi, acts, [0.1, 0.5]) <= 1e-12
    assert ex.ltl_rational_gap_on_segment(ex.to_automaton(phi, 1), acts, [0.1, 0.5]) <= 1e-12
    at0 = np.array([[True, False]])
    assert ex.ltl_rational_gap_on_switch(ex.eventually_always(ex.prop(0)), at0,
                                         [(0.2, 0.9), (0.5, 0.5)]) <= 1e-12


def test_five_way_table_rng_rule():
    with pytest.warns(DeprecationWarning, match="'seed' is deprecated"):
        old = ex.five_way_table(m=3, n_draws=4, seed=1)
    with pytest.warns(DeprecationWarning, match="pass rng"):
        default = ex.five_way_table(m=3, n_draws=4)
    new, zero = ex.five_way_table(m=3, n_draws=4, rng=1), ex.five_way_table(m=3, n_draws=4, rng=0)
    assert old["RRL>RM"]["evidence"] == new["RRL>RM"]["evidence"]
    assert default["LAR>ONMR"]["evidence"]["min_overlap"] == zero["LAR>ONMR"]["evidence"]["min_overlap"]
    assert new["LAR>ONMR"]["evidence"]["min_overlap"] != zero["LAR>ONMR"]["evidence"]["min_overlap"]
    with pytest.raises(ValueError, match="m"):
        ex.five_way_table(m=0, rng=0)
