"""Tests of prefrl.expressivity: formalisms as policy orderings, and MR/LAR expressibility LPs."""

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefrl.proofs_check.expressivity as pc
from prefrl import expressivity as ex
from prefrl.mdp import TabularMDP
from prefrl.mdp._strategies import policies, tabular_mdps
from prefrl.mdp.occupancy import cesaro_limit

_R = st.sampled_from([-1.0, 0.0, 0.0, 1.0]) | st.floats(-2.0, 2.0)
GAMMAS = st.sampled_from([0.0, 0.5, 0.9, 0.99])


@st.composite
def env_and_policies(draw, max_policies=6):
    env = draw(tabular_mdps(max_states=4, max_actions=3))
    S, A = env.n_states, env.n_actions
    n = draw(st.integers(1, max_policies))
    pols = [draw(policies(S, A)) for _ in range(n)]
    if n > 1 and draw(st.booleans()):
        pols[-1] = pols[0].copy()  # an exact tie
    return env, pols


def check_certificate(F, res):
    """Recompute D^T y + E^T z from the features and the pairs: it must vanish, y >= 0, sum 1."""
    D = F[res.strict_pairs[:, 0]] - F[res.strict_pairs[:, 1]]
    E = F[res.tie_pairs[:, 0]] - F[res.tie_pairs[:, 1]]
    y, z = res.multipliers, res.tie_multipliers
    assert np.all(y >= -1e-12) and abs(y.sum() - 1.0) < 1e-9
    combo = D.T @ y + (E.T @ z if len(E) else 0.0)
    # rounding in D^T y + E^T z grows with the multipliers (large when two policies nearly tie)
    size = 1.0 + max(np.abs(y).max(initial=0.0), np.abs(z).max(initial=0.0))
    assert np.max(np.abs(combo)) <= 1e-9 * (1.0 + np.abs(F).max()) * size


# ------------------------------------------------------------------ exact values
@given(env=tabular_mdps(max_states=5, max_actions=3), data=st.data(), gamma=GAMMAS)
def test_markov_reward_matches_exact_evaluation(env, data, gamma):
    pi = data.draw(policies(env.n_states, env.n_actions))
    R = data.draw(hnp.arrays(np.float64, (env.n_states, env.n_actions, env.n_states), elements=_R))
    J = ex.MarkovReward(env, R, gamma)(pi)
    ref = TabularMDP(env.transitions, R, gamma, env.initial).expected_return(pi)
    assert abs(J - ref) <= 1e-9 * (1.0 + np.abs(R).max() / (1.0 - gamma))


def test_limit_average_two_recurrent_classes_and_periodic_chain():
    P = np.zeros((3, 1, 3))
    P[0, 0] = [0.0, 0.3, 0.7]
    P[1, 0, 1] = P[2, 0, 2] = 1.0
    env = TabularMDP(P, np.zeros((3, 1)), 0.0, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(ex.limit_average_occupancy(env, np.ones((3, 1)))[:, 0], [0, 0.3, 0.7],
                               atol=1e-15)
    C = np.zeros((2, 1, 2))
    C[0, 0, 1] = C[1, 0, 0] = 1.0  # period 2: P^t does not converge, its Cesaro average does
    env = TabularMDP(C, np.zeros((2, 1)), 0.0, [1.0, 0.0])
    np.testing.assert_allclose(ex.limit_average_occupancy(env, np.ones((2, 1)))[:, 0], [0.5, 0.5])


@settings(max_examples=30)
@given(env=tabular_mdps(max_states=5, max_actions=3), data=st.data())
def test_limit_average_is_the_cesaro_average(env, data):
    # |(1/N) sum_{t<N} mu P^t - mu P*| = |mu (I - P^N) H| / N <= 2 ||H||_inf / N, with
    # H = (I - P + P*)^{-1} (I - P*) the deviation matrix (Puterman 1994, Thm A.7).
    pi = data.draw(policies(env.n_states, env.n_actions))
    P = np.einsum("sa,sat->st", pi, env.dense_transitions())
    Ps = cesaro_limit(P)
    S = P.shape[0]
    try:
        H = np.linalg.solve(np.eye(S) - P + Ps, np.eye(S) - Ps)
    except np.linalg.LinAlgError:
        # I - P + P* is invertible, but numerically singular for a chain that mixes only below
        # float resolution (e.g. P[0, 1] = 1e-300): its Cesaro average after N steps is then not
        # close to the limit either, and the bound below has no finite value
        reject()
    N = 2000
    avg, row = np.zeros(S), env.initial.copy()
    for _ in range(N):
        avg += row
        row = row @ P
    bound = 2 * np.abs(H).sum(axis=1).max() / N + 1e-12
    nu = ex.limit_average_occupancy(env, pi).sum(axis=1)
    assert np.max(np.abs(avg / N - nu)) <= bound


@given(env=tabular_mdps(max_states=4, max_actions=3), data=st.data(), gamma=GAMMAS)
def test_rrl_kl_to_uniform_is_maximised_by_soft_value_iteration(env, data, gamma):
    S, A = env.n_states, env.n_actions
    beta = data.draw(st.sampled_from([0.1, 1.0, 5.0]))
    mdp = TabularMDP(env.transitions, env.expected_rewards, gamma, env.initial)
    res = mdp.soft_solve(beta=beta)
    J = ex.RegularisedRL(env, env.expected_rewards, gamma, alpha=beta, pi_ref=np.full(A, 1 / A))
    best = J(res.policy)
    tol = res.value_error_bound + 1e-9 * (1 + np.abs(res.values).max())
    assert abs(best - env.initial @ res.values) <= tol
    for _ in range(3):
        assert J(data.draw(policies(S, A))) <= best + tol
    # Entropy form = KL-to-uniform form + alpha log A / (1 - gamma) on every policy.
    H = ex.RegularisedRL(env, env.expected_rewards, gamma, alpha=beta)
    pi = data.draw(policies(S, A))
    assert abs(H(pi) - J(pi) - beta * np.log(A) / (1 - gamma)) <= 1e-9 * (1 + abs(H(pi))) * (
        1 + 1 / (1 - gamma))


@given(r1=_R, r2=_R, alpha=st.floats(0.2, 5.0), gamma=st.sampled_from([0.0, 0.5, 0.9]))
def test_entropy_rrl_optimum_is_sigmoid_in_one_state(r1, r2, alpha, gamma):
    J = ex.RegularisedRL(ex.one_state_env(), [[r1, r2]], gamma, alpha=alpha)
    p_star = 1.0 / (1.0 + np.exp(-(r1 - r2) / alpha))
    best = J([[p_star, 1 - p_star]])
    for p in (0.0, 0.3, 0.5, 0.9, 1.0, p_star + 1e-3, p_star - 1e-3):
        if 0 <= p <= 1:
            assert J([[p, 1 - p]]) <= best + 1e-12 / (1 - gamma)


def test_onmr_omorl_and_lexicographic_values():
    env = ex.one_state_env()
    J = ex.OuterNonlinearMR(env, [[1.0, 0.0]], 0.5, lambda x: -abs(x - 1.0))
    assert J([[0.5, 0.5]]) == pytest.approx(0.0) and J([[1, 0]]) == pytest.approx(-1.0)
    O = ex.OuterMultiObjective(env, [[[1.0, 0.0]], [[0.0, 2.0]]], 0.5, np.prod)
    assert O([[0.5, 0.5]]) == pytest.approx(1.0 * 2.0)  # J1 = 1, J2 = 2
    lex = ex.LexicographicMultiObjective(env, [[[1.0, 1.0]], [[1.0, 0.0]]], 0.5)
    order = ex.policy_ordering(lex, [[[0.0, 1.0]], [[1.0, 0.0]], [[0.5, 0.5]]])
    np.testing.assert_array_equal(order.ranks, [0, 2, 1])  # first reward ties all; second decides
    with pytest.raises(ValueError, match="not real-valued"):
        lex([[1.0, 0.0]])


# ------------------------------------------------------------------ orderings
@given(hnp.arrays(np.float64, st.integers(1, 12),
                  elements=st.sampled_from([0.0, 1.0, 2.0]) | st.floats(-3, 3)))
def test_policy_ordering_is_a_total_preorder_consistent_with_values(v):
    pols = list(range(v.size))
    order = ex.policy_ordering(lambda i: v[i], pols)
    r = order.ranks
    assert set(np.unique(r)) == set(range(r.max() + 1))  # dense ranks
    i, j = np.meshgrid(pols, pols)
    assert np.all((v[i] == v[j]) <= (r[i] == r[j]))
    assert np.all((v[i] > v[j] + order.tolerance) <= (r[i] > r[j]))
    np.testing.assert_array_equal(order.compare(), np.sign(r[:, None] - r[None, :]))


# ------------------------------------------------------------------ expressibility LPs
@settings(max_examples=40)
@given(data=env_and_policies(), gamma=GAMMAS, rewards=st.data())
def test_mr_orderings_are_mr_expressible(data, gamma, rewards):
    env, pols = data
    R = rewards.draw(hnp.arrays(np.float64, (env.n_states, env.n_actions), elements=_R))
    inst = {"env": env, "reward": R, "gamma": gamma, "policies": pols}
    assert pc.mr_orderings_are_mr_expressible(inst) == 0.0


@settings(max_examples=30)
@given(data=env_and_policies(), rewards=st.data())
def test_lar_orderings_are_lar_expressible(data, rewards):
    env, pols = data
    R = rewards.draw(hnp.arrays(np.float64, (env.n_states, env.n_actions), elements=_R))
    try:
        order = ex.policy_ordering(ex.LimitAverageReward(env, R), pols)
    except ValueError as err:
        # documented refusal: a chain that leaks (or mixes) only below float resolution, e.g. a
        # transition probability of 2e-323, has no reliably computable limit average
        assert "numerically" in str(err)
        reject()
    res = ex.lar_expressible(env, order, pols)
    assert res.feasible
    again = ex.policy_ordering(ex.LimitAverageReward(env, res.reward), pols)
    np.testing.assert_array_equal(again.ranks, order.ranks)


@settings(max_examples=30)
@given(data=env_and_policies(max_policies=5), gamma=GAMMAS, perm=st.randoms(use_true_random=False))
def test_verdicts_come_with_a_reward_or_a_valid_farkas_certificate(data, gamma, perm):
    env, pols = data
    ranks = np.array([perm.randint(0, 3) for _ in pols])  # an arbitrary ordering, ties included
    res = ex.mr_expressible(env, ranks, pols, gamma)
    F = np.array([ex.discounted_occupancy(env, p, gamma).ravel() for p in pols])
    if res.feasible:
        J = F @ res.reward.ravel()
        for a, b in res.strict_pairs:
            assert J[a] - J[b] >= 1.0 - 1e-7
        for a, b in res.tie_pairs:
            assert abs(J[a] - J[b]) <= 1e-7 * (1 + np.abs(J).max())
    else:
        check_certificate(F, res)


@given(st.fixed_dictionaries({"reward": hnp.arrays(np.float64, (1, 2), elements=_R),
                              "gamma": st.sampled_from([0.0, 0.5, 0.9]),
                              "alpha": st.floats(0.05, 5.0), "target": st.floats(0.2, 0.8),
                              "n_grid": st.integers(5, 25)}))
def test_onmr_and_rrl_interior_optima_are_not_mr(inst):
    assert pc.onmr_rrl_not_mr(inst) <= 1e-9


@given(st.fixed_dictionaries({
    "gamma": st.sampled_from([0.0, 0.5, 0.9, 0.99]), "scale": st.floats(0.1, 10.0),
    "grid": hnp.arrays(np.float64, st.integers(2, 10), elements=st.floats(0.01, 1.0),
                       unique=True).map(lambda g: np.concatenate([[0.0], np.sort(g)]))
    # the LP certificates resolve policies a little apart: with p = 0.99999 and p = 1 HiGHS meets
    # the tie within its feasibility tolerance by a huge reward, so the grid keeps gaps >= 1e-3
    .filter(lambda g: np.min(np.diff(g)) >= 1e-3)}))
def test_lar_and_mr_are_incomparable_on_stay_go(inst):
    assert pc.lar_mr_incomparable(inst) <= 1e-9


def test_separation_certificates_recomputed():
    env, g = ex.one_state_env(), 0.9
    pols = [np.array([[p, 1 - p]]) for p in np.linspace(0, 1, 11)]
    order = ex.policy_ordering(ex.RegularisedRL(env, [[1.0, 0.0]], g, alpha=1.0), pols)
    res = ex.mr_expressible(env, order, pols, g)
    assert not res.feasible
    check_certificate(np.array([ex.discounted_occupancy(env, p, g).ravel() for p in pols]), res)
    # With alpha = 0 RRL is MR, and the same LP is feasible.
    order0 = ex.policy_ordering(ex.RegularisedRL(env, [[1.0, 0.0]], g, alpha=0.0), pols)
    assert ex.mr_expressible(env, order0, pols, g).feasible


@given(pc_inst=st.fixed_dictionaries({"gamma": st.sampled_from([0.0, 0.5, 0.9, 0.99])}),
       seed=st.integers(0, 2**16))
@settings(max_examples=20)
def test_registered_checks_hold_on_their_own_draws(pc_inst, seed):
    rng = np.random.default_rng(seed)
    assert pc.occupancy_identity(pc.draw_occupancy(rng)) <= 1e-10
    assert pc.one_state_mixture_on_segment(pc.draw_mixture(rng)) <= 1e-9
    assert pc.cesaro_limit_identities(pc.draw_chain(rng)) <= 1e-9


def test_mixture_check_detects_a_non_segment():
    # A wrong occupancy (quadratic in p) must be flagged: replace discounted_occupancy temporarily.
    orig = pc.discounted_occupancy
    try:
        pc.discounted_occupancy = lambda env, pi, g: np.array([[pi[0, 0] ** 2, pi[0, 1]]])
        inst = {"env": ex.one_state_env(), "policy": np.array([[0.5, 0.5]]), "state": 0,
                "actions": (0, 1), "gamma": 0.5}
        assert pc.one_state_mixture_on_segment(inst) > 1e-3
    finally:
        pc.discounted_occupancy = orig


# ------------------------------------------------------------------ validation
def test_bad_input_names_the_argument():
    env = ex.one_state_env()
    with pytest.raises(ValueError, match="reward"):
        ex.MarkovReward(env, [[1.0, 0.0, 2.0]], 0.5)
    with pytest.raises(ValueError, match="gamma"):
        ex.MarkovReward(env, [[1.0, 0.0]], 1.0)
    with pytest.raises(ValueError, match="alpha"):
        ex.RegularisedRL(env, [[1.0, 0.0]], 0.5, alpha=-1.0)
    with pytest.raises(ValueError, match="ordering"):
        ex.mr_expressible(env, [0, 1], [[[1.0, 0.0]]], 0.5)
    with pytest.raises(ValueError, match=r"policies\[1\]"):
        ex.mr_expressible(env, [0, 1], [[[1.0, 0.0]], [[0.7, 0.7]]], 0.5)
    with pytest.raises(ValueError, match="policy"):
        ex.RegularisedRL(env, [[1.0, 0.0]], 0.5, 1.0, pi_ref=[1.0, 0.0])([[0.5, 0.5]])
    with pytest.raises(ValueError, match="margin"):
        ex.mr_expressible(env, [0], [[[1.0, 0.0]]], 0.5, margin=0.0)
    with pytest.raises(TypeError, match="env"):
        ex.MarkovReward(np.ones((1, 2, 1)), [[1.0, 0.0]], 0.5)
    with pytest.raises(ValueError, match="policies"):
        ex.policy_ordering(lambda p: 0.0, [])


@settings(max_examples=30)
@given(data=env_and_policies(), gamma=GAMMAS, rewards=st.data(), tie_first=st.booleans())
def test_lexicographic_mr_orderings_are_mr_expressible_on_finite_sets(data, gamma, rewards,
                                                                      tie_first):
    env, pols = data
    shape = (env.n_states, env.n_actions)
    r1 = np.zeros(shape) if tie_first else rewards.draw(hnp.arrays(np.float64, shape, elements=_R))
    r2 = rewards.draw(hnp.arrays(np.float64, shape, elements=_R))
    inst = {"env": env, "reward": r1, "reward2": r2, "gamma": gamma, "policies": pols}
    assert pc.lexicographic_mr_is_mr_on_finite_sets(inst) == 0.0


# ------------------------------------------------------------------ the package's layout and names
def test_results_subclass_the_result_base_and_renamed_fields_warn():
    from prefrl.results import Result

    env = ex.one_state_env()
    pols = [[[p, 1 - p]] for p in (0.0, 0.5, 1.0)]
    order = ex.policy_ordering(ex.MarkovReward(env, [[1.0, 0.0]], 0.5), pols)
    res = ex.mr_expressible(env, [0, 2, 1], pols, 0.5)
    sat = ex.satisfaction_probability(ex.stay_go_env(), [[0.5, 0.5], [1, 0]],
                                      ex.eventually(ex.prop(0)), [[False, True]])
    dist = ex.return_distribution(env, [[0.5, 0.5]], [[1.0, 0.0]], horizon=3)
    for r in (order, res, sat, dist):
        assert isinstance(r, Result)
    assert not res.feasible and res.converged and res.certificate < 1e-9
    assert dist.converged and dist.certificate <= 1e-15 and dist.iterations == 3
    with pytest.warns(DeprecationWarning, match="certificate"):
        assert res.residual == res.certificate
    with pytest.warns(DeprecationWarning, match="certificate"):
        assert sat.residual == sat.certificate
    # definitions are not results
    assert not issubclass(ex.RewardMachine, Result) and not issubclass(ex.Formula, Result)
    assert not issubclass(ex.DeterministicAutomaton, Result)


def test_old_keywords_and_attributes_still_work_and_warn():
    env = ex.one_state_env()
    with pytest.warns(DeprecationWarning, match="'env' is deprecated"):
        J = ex.MarkovReward(env=env, reward=[[1.0, 0.0]], gamma=0.5)
    assert J.mdp is env
    with pytest.warns(DeprecationWarning, match="MarkovReward.env"):
        assert J.env is env
    with pytest.warns(DeprecationWarning, match="'env' is deprecated"):
        res = ex.mr_expressible(env=env, ordering=[0, 1], policies=[[[0, 1]], [[1, 0]]], gamma=0.5)
    assert res.feasible
    with pytest.warns(DeprecationWarning, match="'env' is deprecated"):
        p = ex.satisfaction_probability(env=ex.stay_go_env(), policy=[[0, 1], [1, 0]],
                                        formula=ex.eventually(ex.prop(0)),
                                        propositions=[[False, True]]).probability
    assert p == 1.0
    ref = np.array([0.25, 0.75])
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated"):
        old = ex.RegularisedRL(env, [[1.0, 0.0]], 0.5, alpha=1.0, reference=ref)
    new = ex.RegularisedRL(env, [[1.0, 0.0]], 0.5, alpha=1.0, pi_ref=ref)
    assert old([[0.5, 0.5]]) == new([[0.5, 0.5]])
    with pytest.warns(DeprecationWarning, match="pi_ref"):
        np.testing.assert_array_equal(new.reference, new.pi_ref)
    with pytest.warns(DeprecationWarning, match="'S' is deprecated"):
        assert ex.random_env(0, S=2).n_states == 2


def test_moved_names_keep_their_old_paths():
    import prefrl._automata as old_automata
    import prefrl.mdp.envs as envs
    import prefrl.mdp.occupancy as occ

    assert old_automata.to_automaton is ex.to_automaton
    assert old_automata.DeterministicAutomaton is ex.DeterministicAutomaton
    assert old_automata.holds_on_lasso is ex.holds_on_lasso and old_automata.Formula is ex.Formula
    assert ex.one_state_env is envs.one_state_env and ex.switch_env is envs.switch_env
    assert ex.discounted_occupancy is occ.discounted_occupancy
    for name in ("one_state_env", "discounted_occupancy", "limit_average_occupancy"):
        assert name not in ex.__all__
    # the constructions the checks use are the library's, importable from the checks too
    for name in ("five_way_table", "five_way_witnesses", "FIVE", "random_env", "random_policy",
                 "draw_rm", "draw_inmr", "draw_ltl_dag", "simplex_grid", "edge_tie_witness",
                 "ltl_rational_form", "random_automaton", "E_INV"):
        assert getattr(pc, name) is getattr(ex, name), name


def test_experiments_and_example_use_only_the_library():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for rel in ("experiments/expressivity_hasse.py", "experiments/expressivity_separations.py",
                "examples/plot_expressivity.py"):
        tree = ast.parse((root / rel).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                mods = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                    [a.name for a in node.names]
                names = [a.name for a in node.names]
                assert not any("proofs_check" in m for m in mods), (rel, mods)
                assert not any(m.startswith("prefrl") and "._" in m for m in mods), (rel, mods)
                if any(m.startswith("prefrl") for m in mods):
                    assert not any(n.startswith("_") for n in names), (rel, names)


def test_every_public_name_is_documented_with_an_example():
    for name in ex.__all__:
        obj = getattr(ex, name)
        if not callable(obj):
            continue
        doc = obj.__doc__ or ""
        assert ">>>" in doc, name
