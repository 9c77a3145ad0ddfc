"""Tests for prefrl.games: minimax winners, the regularised equilibrium, and the self-play learners."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prefrl import games
from prefrl.policies import gibbs, kl
from prefrl.preferences import (
    bradley_terry,
    condorcet_winner,
    rock_paper_scissors,
)
from prefrl.proofs_check import games as checks

# ------------------------------------------------------------------------------ strategies

# Entries: exact ties and deterministic preferences are frequent, generic values cover the rest.
entries = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0]), st.integers(0, 1000).map(lambda i: i / 1000)
)


@st.composite
def preference_matrices(draw, min_k=1, max_k=7):
    k = draw(st.integers(min_k, max_k))
    upper = draw(arrays(np.float64, (k, k), elements=entries))
    return checks.preference_matrix_from_upper(upper)


@st.composite
def generic_preference_matrices(draw, min_k=2, max_k=6):
    """Off-diagonal entries on a fine grid away from 0, 1/2, 1: no exact ties."""
    k = draw(st.integers(min_k, max_k))
    upper = draw(
        arrays(np.float64, (k, k), elements=st.integers(1, 999).filter(lambda i: i != 500)
               .map(lambda i: i / 1000 + 1e-7 * (i % 7)))
    )
    return checks.preference_matrix_from_upper(upper)


@st.composite
def distributions(draw, k, allow_zeros=True):
    w = draw(arrays(np.float64, k, elements=st.integers(0 if allow_zeros else 1, 100).map(float)))
    if w.sum() == 0:
        w = np.ones(k)
    return w / w.sum()


@st.composite
def games_with_reference(draw, allow_zeros=True):
    P = draw(preference_matrices())
    mu = draw(distributions(P.shape[0], allow_zeros=allow_zeros))
    beta = draw(st.sampled_from([0.05, 0.2, 1.0, 5.0]))
    return P, mu, beta


@st.composite
def learner_instances(draw):
    P = draw(preference_matrices())
    init = draw(distributions(P.shape[0], allow_zeros=False))
    eta = draw(st.sampled_from([0.03, 0.3, 1.0, 5.0]))
    T = draw(st.integers(1, 60))
    return {"P": P, "init": init, "eta": eta, "T": T}


# ------------------------------------------------------------------------------ minimax winners


@given(preference_matrices())
def test_minimax_winner_has_zero_exploitability_and_value_half(P):
    res = games.minimax_winner(P)
    assert res.policy.shape == (P.shape[0],)
    assert np.all(res.policy >= 0) and abs(res.policy.sum() - 1) < 1e-12
    assert res.exploitability <= 1e-9
    assert abs(res.value - 0.5) <= 1e-9
    # The certificate: no response beats the winner more than half the time.
    assert (P @ res.policy).max() <= 0.5 + 1e-9
    assert checks.minimax_value_half(P) <= 1e-9


@settings(max_examples=25)
@given(preference_matrices(max_k=6))
def test_cvxpy_method_agrees_on_exploitability(P):
    res = games.minimax_winner(P, method="cvxpy")
    assert res.method == "cvxpy"
    assert res.exploitability <= 1e-7
    assert abs(res.value - 0.5) <= 1e-7


@given(preference_matrices())
def test_condorcet_winner_gives_point_mass(P):
    assert checks.condorcet_winner_is_point_mass(P) <= 1e-9
    c = condorcet_winner(P)
    if c is not None:
        assert games.minimax_winner(P, method="cvxpy").policy[c] >= 1 - 1e-6


@given(
    arrays(np.float64, st.integers(1, 7), elements=st.integers(-3, 3).map(float)),
    st.sampled_from([0.0, 0.5, 2.0]),
)
def test_bradley_terry_winner_is_argmax(r, temperature):
    best = np.flatnonzero(r == r.max())
    assume(best.size == 1)
    res = games.minimax_winner(bradley_terry(r, temperature))
    np.testing.assert_allclose(res.policy, np.eye(r.size)[best[0]], atol=1e-9)


def test_rock_paper_scissors_winner_is_uniform_under_both_methods():
    for n in (3, 5, 7):
        for method in ("lp", "cvxpy"):
            res = games.minimax_winner(rock_paper_scissors(n), method=method)
            np.testing.assert_allclose(res.policy, np.full(n, 1 / n), atol=1e-7)


def test_degenerate_game_all_ties_lp_returns_a_vertex():
    # Every policy is a minimax winner; the LP returns a vertex (the first point mass),
    # cvxpy a point of the relative interior. Both have exploitability 0.
    P = np.full((4, 4), 0.5)
    lp = games.minimax_winner(P)
    np.testing.assert_array_equal(lp.policy, [1.0, 0.0, 0.0, 0.0])
    cv = games.minimax_winner(P, method="cvxpy")
    assert cv.exploitability <= 1e-9 and lp.exploitability == 0.0
    assert cv.policy.min() > 0.1  # interior, not a vertex


def test_degenerate_game_clones_of_a_winner():
    # Responses 0 and 1 are clones that beat everyone else: every mixture of them is a winner.
    P = np.array([[0.5, 0.5, 1, 0.9], [0.5, 0.5, 1, 0.9], [0, 0, 0.5, 0.7], [0.1, 0.1, 0.3, 0.5]])
    for method in ("lp", "cvxpy"):
        res = games.minimax_winner(P, method=method)
        assert res.exploitability <= 1e-8
        assert res.policy[:2].sum() >= 1 - 1e-7


@settings(max_examples=30)
@given(preference_matrices(min_k=2, max_k=5))
def test_peer_nashpy_linear_program(P):
    """nashpy's LP (row player of Game(A, -A)) and ours: same value and exploitability; same
    policy whenever support enumeration finds a unique equilibrium."""
    nashpy = pytest.importorskip("nashpy")
    A = P - 0.5
    game = nashpy.Game(A, -A)
    row, _ = game.linear_program()
    row = np.clip(row, 0, None)
    row = row / row.sum()
    ours = games.minimax_winner(P)
    assert abs(games.exploitability(P, row) - ours.exploitability) <= 1e-8
    assert abs(float((row @ P).min()) - ours.value) <= 1e-8
    # Support enumeration can miss equilibria of degenerate games (nashpy issues #39, #82), so
    # uniqueness of the minimax winner is decided by LPs over the set of winners instead.
    lo, hi = _winner_range(P)
    if np.all(hi - lo <= 1e-7):
        np.testing.assert_allclose(ours.policy, row, atol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nashpy flags degenerate games
            eqs = list(game.support_enumeration())
        for e in eqs:
            np.testing.assert_allclose(ours.policy, e[0], atol=1e-6)


def _winner_range(P):
    """Smallest and largest value of each coordinate over the set of minimax winners (2K LPs)."""
    from scipy.optimize import linprog

    K = P.shape[0]
    lo, hi = np.empty(K), np.empty(K)
    for i in range(K):
        for sign, out in ((1.0, lo), (-1.0, hi)):
            res = linprog(sign * np.eye(K)[i], A_ub=P - 0.5, b_ub=np.full(K, 1e-12),
                          A_eq=np.ones((1, K)), b_eq=[1.0], bounds=(0, None), method="highs")
            out[i] = res.x[i]
    return lo, hi


@given(generic_preference_matrices(max_k=5))
def test_generic_games_have_a_unique_winner_both_methods_agree(P):
    lo, hi = _winner_range(P)
    assume(np.all(hi - lo < 1e-7))  # unique winner (generic games; degenerate draws are skipped)
    lp = games.minimax_winner(P)
    cv = games.minimax_winner(P, method="cvxpy")
    np.testing.assert_allclose(lp.policy, cv.policy, atol=1e-6)


# ------------------------------------------------------------------------------ exploitability


@given(preference_matrices(), st.data())
def test_exploitability_is_half_the_duality_gap(P, data):
    pi = data.draw(distributions(P.shape[0]))
    assert checks.exploitability_is_half_the_duality_gap({"P": P, "policy": pi}) <= 1e-12


def test_exploitability_of_a_point_mass_and_stack():
    P = rock_paper_scissors()
    assert games.exploitability(P, [1.0, 0.0, 0.0]) == 0.5
    out = games.exploitability(P, np.eye(3))
    np.testing.assert_allclose(out, [0.5, 0.5, 0.5])


def test_self_play_regret_matches_definition_by_hand():
    P = np.array([[0.5, 0.8], [0.2, 0.5]])
    pis = np.array([[0.0, 1.0], [0.5, 0.5]])
    # gains: P pi_1 = (0.8, 0.5), P pi_2 = (0.65, 0.35); best fixed: response 0 with 1.45.
    np.testing.assert_allclose(games.self_play_regret(P, pis), [0.3, 0.45])


# ------------------------------------------------------------------------------ regularised Nash


@settings(max_examples=40)
@given(games_with_reference())
def test_regularized_nash_is_the_fixed_point_and_satisfies_the_bias_bound(inst):
    P, mu, beta = inst
    res = games.regularized_nash(P, mu, beta)
    target = gibbs(mu, P @ res.policy, beta)
    np.testing.assert_allclose(res.policy, target, atol=1e-10)
    assert res.gap <= 1e-10
    assert np.all(res.policy[mu == 0] == 0)
    assert checks.regularized_equilibrium_bias({"P": P, "mu": mu, "beta": beta}) <= 1e-10


@settings(max_examples=20)
@given(games_with_reference())
def test_regularized_nash_fixed_point_agrees_with_cvxpy(inst):
    P, mu, beta = inst
    inst = {"P": P, "mu": mu, "beta": beta}
    assert checks.regularized_fixed_point_matches_cvxpy(inst) <= 1e-4


@settings(max_examples=30)
@given(games_with_reference(allow_zeros=False), st.data())
def test_regularized_gap_is_kl_to_best_response(inst, data):
    """G(pi) = beta KL(pi || BR(pi)) with BR(pi) = mu exp(P pi / beta) / Z: >= 0, 0 only at pi*."""
    P, mu, beta = inst
    pi = data.draw(distributions(P.shape[0], allow_zeros=False))
    G = games.regularized_exploitability(P, pi, mu, beta)
    np.testing.assert_allclose(G, beta * kl(pi, gibbs(mu, P @ pi, beta)), atol=1e-12, rtol=1e-9)


def test_regularized_nash_rps_values():
    P, mu = rock_paper_scissors(), np.array([0.6, 0.3, 0.1])
    expl = [games.regularized_nash(P, mu, b).exploitability for b in (1.0, 0.1, 0.01)]
    assert expl[0] > expl[1] > expl[2]
    for b, e in zip((1.0, 0.1, 0.01), expl):
        assert e <= b * np.log(10)


def test_regularized_nash_rps_in_the_standard_labelling():
    # Rock-paper-scissors labelled (rock, paper, scissors) with paper beating rock, P[1, 0] = 1, is
    # the transpose of prefrl's cyclic matrix (item i beats i + 1). With a non-uniform reference
    # the labelling matters: these exploitabilities pin the standard one.
    P, mu = rock_paper_scissors().T, np.array([0.6, 0.3, 0.1])
    assert P[1, 0] == 1.0 and P[0, 2] == 1.0
    expl = [games.regularized_nash(P, mu, b).exploitability for b in (1.0, 0.1, 0.01)]
    np.testing.assert_allclose(expl, [0.2169409, 0.0741986, 0.0094867], rtol=1e-5)
    expl_cyclic = [games.regularized_nash(P.T, mu, b).exploitability for b in (1.0, 0.1, 0.01)]
    assert not np.allclose(expl, expl_cyclic, rtol=1e-3)


# ------------------------------------------------------------------------------ learners


@given(learner_instances(), st.sampled_from(["exact", "sampled"]))
def test_spo_exploitability_equals_regret_over_t(inst, feedback):
    res = games.spo(inst["P"], inst["T"], eta=inst["eta"], init=inst["init"], feedback=feedback,
                    n_samples=2, rng=0)
    t = np.arange(1, inst["T"] + 1)
    np.testing.assert_allclose(res.exploitability, res.regret / t, atol=1e-12)
    assert res.policies.shape == (inst["T"] + 1, inst["P"].shape[0])
    np.testing.assert_allclose(res.average_policy, res.policies[:-1].mean(axis=0), atol=1e-12)


@given(learner_instances())
def test_spo_hedge_rate(inst):
    assert checks.spo_hedge_rate(inst) <= 1e-12


def test_spo_average_converges_and_last_iterate_cycles_on_rps():
    P = rock_paper_scissors()
    res = games.spo(P, 3000, eta=0.1, init=[0.6, 0.3, 0.1])
    d = np.asarray(kl(np.full((4, 3), 1 / 3), res.policies[[0, 1000, 2000, 3000]]))
    assert np.all(np.diff(d) > 0)  # the last iterate spirals away from the minimax winner
    assert games.exploitability(P, res.last_policy) > 0.1
    assert res.exploitability[-1] < 0.02


@given(learner_instances())
def test_dno_one_step_improvement_and_equivalence_with_hedge(inst):
    assert checks.dno_one_step_improvement(inst) <= 1e-12
    a = games.dno(inst["P"], min(inst["T"], 20), beta=inst["eta"], init=inst["init"]).policies
    b = games.spo(inst["P"], min(inst["T"], 20), eta=1 / inst["eta"], init=inst["init"]).policies
    np.testing.assert_allclose(a, b, atol=1e-12)


@given(learner_instances())
def test_dno_regression_minimiser_is_the_spi_target(inst):
    assert checks.dno_regression_minimiser_is_spi_target(inst) <= 1e-10


def test_dno_loss_is_minimal_at_the_target_and_finite_for_huge_margins():
    r = np.array([0.9, 0.2, 0.5])
    prev = np.log([0.2, 0.5, 0.3])
    i, j = np.array([0, 0, 1]), np.array([1, 2, 2])
    eta = 0.5
    target = prev + r / eta
    base = games.dno_loss(target, prev, r, i, j, eta)
    for delta in (np.array([0.1, 0.0, 0.0]), np.array([0.0, -0.2, 0.3])):
        assert np.all(games.dno_loss(target + delta, prev, r, i, j, eta).sum() > base.sum())
    big = games.dno_loss(prev + np.array([1e4, -1e4, 0.0]), prev, r, i, j, eta)
    assert np.all(np.isfinite(big))


def test_dno_batched_improves_on_the_initial_policy():
    P = checks.preference_matrix_from_upper(np.random.default_rng(3).random((5, 5)))
    res = games.dno(P, 150, mode="batched", n_samples=8, rng=1, init=[0.8, 0.05, 0.05, 0.05, 0.05])
    assert res.exploitability[-1] < 0.5 * res.exploitability[0]


@given(learner_instances())
def test_rebel_exact_regression_is_mirror_descent(inst):
    assert checks.rebel_regression_is_mirror_descent(inst) <= 1e-10


def test_rebel_sampled_pairs_learns():
    P = rock_paper_scissors(5)
    res = games.rebel(P, 300, eta=0.2, n_pairs=30, rng=0, init=[0.5, 0.2, 0.1, 0.1, 0.1])
    assert res.exploitability[-1] < 0.1


@given(learner_instances())
def test_sppo_exact_is_hedge(inst):
    a = games.sppo(inst["P"], inst["T"], eta=inst["eta"], init=inst["init"]).policies
    b = games.spo(inst["P"], inst["T"], eta=inst["eta"], init=inst["init"]).policies
    np.testing.assert_allclose(a, b, atol=1e-12)


@settings(max_examples=30)
@given(games_with_reference(allow_zeros=False), st.integers(1, 80))
def test_nash_md_last_iterate_bound(inst, T):
    P, mu, beta = inst
    star = games.regularized_nash(P, mu, beta).policy
    res = games.nash_md(P, T, beta, pi_ref=mu)
    assert kl(star, res.last_policy) <= 8 / (beta**2 * (T + 1)) + 1e-12
    assert checks.nash_md_last_iterate_bound({"P": P, "mu": mu, "beta": beta}) <= 1e-12


def test_nash_md_constant_step_converges_to_a_ball():
    P, mu = rock_paper_scissors(), np.array([0.6, 0.3, 0.1])
    star = games.regularized_nash(P, mu, 0.5).policy
    res = games.nash_md(P, 400, 0.5, pi_ref=mu, eta=0.2)
    assert kl(star, res.last_policy) < 1e-2


def test_fit_bradley_terry_recovers_rewards_and_is_stationary():
    r = np.array([1.0, -0.5, 0.3, 0.0])
    fit = games.fit_bradley_terry(bradley_terry(r), l2=1e-12)
    np.testing.assert_allclose(fit, r - r.mean(), atol=1e-8)


@given(preference_matrices(min_k=2))
def test_fit_bradley_terry_first_order_condition(P):
    K = P.shape[0]
    l2 = 1e-3
    fit = games.fit_bradley_terry(P, l2=l2)
    # Gradient of -sum_{i != j} W P_ij log sigma(r_i - r_j) / sum W + l2/2 |r|^2 vanishes.
    W = np.ones((K, K)) - np.eye(K)
    W /= W.sum()
    s = 1 / (1 + np.exp(-(fit[:, None] - fit[None, :])))
    G = W * P * (1 - s)
    grad = -(G.sum(1) - G.sum(0)) + l2 * fit
    np.testing.assert_allclose(grad, 0, atol=1e-10)
    assert abs(fit.sum()) < 1e-9


def test_bt_rlhf_is_exploitable_under_intransitive_preferences():
    # Response 2 has the best Borda score (it beats 0 and 3 by 0.9) and so the largest fitted
    # reward, but response 1 beats it by 0.9: the reward-model policy is exploitable.
    P = np.array([[0.5, 0.6, 0.1, 0.6], [0.4, 0.5, 0.9, 0.2], [0.9, 0.1, 0.5, 0.9],
                  [0.4, 0.8, 0.1, 0.5]])
    res = games.bt_rlhf(P, 50, beta=0.01)
    mw = games.minimax_winner(P)
    assert mw.exploitability <= 1e-12
    np.testing.assert_allclose(mw.policy, [0, 4 / 11, 3 / 11, 4 / 11], atol=1e-9)
    assert res.reward is not None and int(np.argmax(res.reward)) == 2
    assert games.exploitability(P, res.last_policy) > 0.39


def test_iterative_dpo_is_the_gibbs_policy_under_bradley_terry():
    r = np.array([0.5, 0.0, -1.0])
    res = games.iterative_dpo(bradley_terry(r), 4, beta=0.5, l2=1e-12)
    np.testing.assert_allclose(res.last_policy, gibbs(np.full(3, 1 / 3), r, 0.5), atol=1e-8)
    sampled = games.iterative_dpo(bradley_terry(r), 3, beta=0.5, n_pairs=500, rng=0)
    assert sampled.policies.shape == (4, 3)


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: games.minimax_winner([[0.5, 0.7], [0.4, 0.5]]), r"P\[1, 0\] \+ P\[0, 1\]"),
        (lambda: games.minimax_winner(rock_paper_scissors(), method="simplex"), "method"),
        (lambda: games.exploitability(rock_paper_scissors(), [0.5, 0.5]), "policy"),
        (lambda: games.regularized_nash(rock_paper_scissors(), beta=0.0), "beta"),
        (lambda: games.regularized_nash(rock_paper_scissors(), [0.5, 0.6, -0.1]), "pi_ref"),
        (lambda: games.spo(rock_paper_scissors(), 0), "n_steps"),
        (lambda: games.spo(rock_paper_scissors(), 5, init=[1.0, 0.0]), "init"),
        (lambda: games.spo(rock_paper_scissors(), 5, feedback="bandit"), "feedback"),
        (lambda: games.spo(rock_paper_scissors(), 5, feedback="sampled"), "rng"),
        (lambda: games.nash_md(rock_paper_scissors(), 5, 1.0, eta=2.0), "eta"),
        (lambda: games.dno(rock_paper_scissors(), 5, mode="online"), "mode"),
        (lambda: games.dno(rock_paper_scissors(), 5, beta=-1.0), "beta"),
        (lambda: games.fit_bradley_terry(rock_paper_scissors(), -np.ones((3, 3))), "weights"),
        (lambda: games.dno_loss([0.0, 0.0], [0.0, 0.0], [0.5, 0.5], [0], [2], 1.0), "y2"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_results_are_frozen():
    res = games.minimax_winner(rock_paper_scissors())
    with pytest.raises(AttributeError):
        res.value = 0.0


# ------------------------------------------------------------------------------ sequential SPO


def _one_state_mdp(A, H):
    from prefrl.mdp import TabularMDP

    P = np.zeros((1, A, 1))
    P[0, :, 0] = 1.0
    return TabularMDP(P, np.zeros((1, A)), gamma=1.0, horizon=H)


@settings(max_examples=20)
@given(preference_matrices(min_k=2, max_k=4), st.integers(1, 40), st.sampled_from([0.1, 1.0]))
def test_sequential_spo_with_horizon_one_is_bandit_spo(P, T, eta):
    game = games.TrajectoryGame(_one_state_mdp(P.shape[0], 1), P)
    seq = games.sequential_spo(game, T, eta=eta)
    bandit = games.spo(P, T, eta=eta)
    np.testing.assert_allclose(seq.distributions, bandit.policies, atol=1e-12)
    np.testing.assert_allclose(seq.exploitability, bandit.exploitability, atol=1e-12)


@st.composite
def small_mdp_games(draw):
    """A random finite-horizon MDP (some transitions deterministic, some absorbing) with a drawn
    trajectory preference matrix."""
    from prefrl.mdp import TabularMDP

    S, A, H = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    w = draw(arrays(np.float64, (S, A, S), elements=st.sampled_from([0.0, 0.0, 1.0, 2.0])))
    w[w.sum(axis=2) == 0] = np.eye(S)[0]  # unspecified rows: absorbing into state 0
    mdp = TabularMDP(w / w.sum(axis=2, keepdims=True), np.zeros((S, A)), gamma=1.0, horizon=H)
    L = games.TrajectoryGame.enumerate(mdp).shape[0]
    upper = draw(arrays(np.float64, (L, L), elements=entries))
    return games.TrajectoryGame(mdp, checks.preference_matrix_from_upper(upper))


@settings(max_examples=25)
@given(small_mdp_games(), st.integers(1, 30), st.sampled_from([0.3, 3.0]), st.booleans())
def test_sequential_spo_identity_and_distributions(game, T, eta, spread):
    res = games.sequential_spo(game, T, eta=eta, spread=spread)
    assert np.allclose(res.distributions.sum(axis=1), 1.0)
    np.testing.assert_allclose(res.exploitability, res.regret / np.arange(1, T + 1), atol=1e-12)
    assert np.all(res.exploitability >= -1e-12)
    # The best response really is best: no Markovian deterministic policy beats it.
    H, S, A = game.horizon, game.mdp.n_states, game.mdp.n_actions
    r = game.preference @ res.average_distribution
    best = res.exploitability[-1] + 0.5
    for k in range(min(A ** (S * H), 64)):
        acts = np.array([(k // A**i) % A for i in range(S * H)]).reshape(H, S)
        pol = np.eye(A)[acts]
        assert game.distribution(pol) @ r <= best + 1e-12


def test_trajectory_game_callable_and_errors():
    mdp = _one_state_mdp(2, 2)
    game = games.TrajectoryGame(mdp, lambda x, y: 0.5 + 0.5 * np.sign(x[1::2].sum() - y[1::2].sum()))
    assert game.trajectories.shape == (4, 5)
    np.testing.assert_array_equal(game.features.sum(axis=1), [2, 2, 2, 2])
    with pytest.raises(ValueError, match="preference"):
        games.TrajectoryGame(mdp, np.full((3, 3), 0.5))
    with pytest.raises(TypeError, match="game"):
        games.sequential_spo(rock_paper_scissors(), 3)
    with pytest.raises(ValueError, match="policy"):
        game.distribution(np.full((3, 1, 2), 0.5))


def test_reward_model_rlhf_recovers_markovian_preferences_and_fails_non_markovian():
    from prefrl.experiments.spo_sequential_mdp import preference_matrices, rooms_mdp

    mdp = rooms_mdp()
    prefs = preference_matrices(games.TrajectoryGame.enumerate(mdp))
    markov = games.TrajectoryGame(mdp, prefs["Markovian (BT on return)"])
    assert games.reward_model_rlhf(markov).exploitability <= 1e-9
    constrained = games.TrajectoryGame(mdp, prefs["non-Markovian (room 1 at most once)"])
    rm = games.reward_model_rlhf(constrained, beta=0.1)
    spo_res = games.sequential_spo(constrained, 300, eta=5.0)
    assert rm.exploitability > 0.1 > 0.01 > spo_res.exploitability[-1]


# ------------------------------------------------------------------------------ the reorganisation


def test_sampled_learners_draw_as_before_on_the_one_loop():
    """Iterates of every sampling learner, computed before the learners shared one loop: the
    sequence of rng draws and the arithmetic of each update are unchanged."""
    P, init = rock_paper_scissors(5), [0.4, 0.3, 0.1, 0.1, 0.1]
    runs = {
        "spo": games.spo(P, 6, eta=0.5, init=init, feedback="sampled", n_samples=2, rng=0),
        "sppo": games.sppo(P, 6, eta=0.5, init=init, n_samples=3, rng=5),
        "dno": games.dno(P, 6, beta=2.0, init=init, mode="batched", n_samples=4, rng=1),
        "rebel": games.rebel(P, 6, eta=0.5, init=init, n_pairs=5, rng=2),
        "bt_rlhf": games.bt_rlhf(P, 6, beta=0.5, n_comparisons=30, rng=4),
        "nash_md": games.nash_md(P, 6, 0.5, pi_ref=np.array(init)),
    }
    before = {
        "spo": [0.327004298556436, 0.11584941993044791, 0.04958453323307554, 0.2222224606484892,
                0.28533928763155153],
        "sppo": [0.4075868508514677, 0.21903655530993435, 0.07301218510331148,
                 0.10189671271286686, 0.19846769602241973],
        "dno": [0.5856316198370985, 0.1756234505739577, 0.04955401379102842, 0.07516832476778837,
                0.11402259103012695],
        "rebel": [0.45955980846246836, 0.17851781071623182, 0.06155465183582929,
                  0.11711909988121917, 0.18324862910425144],
        "bt_rlhf": [0.31198060532299154, 0.1863712665954682, 0.18539742250944324,
                    0.07706474210528383, 0.23918596346681317],
        "nash_md": [0.4344043942320323, 0.20807781430349143, 0.06573475689222133,
                    0.12824971191753398, 0.16353332265472104],
    }
    for name, res in runs.items():
        np.testing.assert_allclose(res.last_policy, before[name], rtol=1e-12, err_msg=name)
        assert res.policies.shape == (7, 5)
        np.testing.assert_allclose(res.policies.sum(axis=1), 1.0, atol=1e-12)
    idpo = games.iterative_dpo(bradley_terry([1.0, 0.0, 0.5, 0.2, -1.0]), 3, beta=0.5, n_pairs=50,
                               rng=3, l2=0.1)
    np.testing.assert_allclose(idpo.last_policy, [0.27059046953471666, 0.14292142603998095,
                                                  0.21274707668087625, 0.2580059033338346,
                                                  0.11573512441059147], rtol=1e-12)
    np.testing.assert_allclose(idpo.reward, [0.17757403080333117, -0.14158171138066022,
                                             0.057322796486152724, 0.153762016021198,
                                             -0.24707713193002168], rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda P: games.sppo(P, 3, n_samples=2),
        lambda P: games.dno(P, 3, mode="batched"),
        lambda P: games.rebel(P, 3, n_pairs=4),
        lambda P: games.bt_rlhf(P, 3, n_comparisons=10),
        lambda P: games.iterative_dpo(P, 3, n_pairs=10),
    ],
)
def test_rng_is_required_exactly_when_sampling(call):
    with pytest.raises(ValueError, match="rng"):
        call(rock_paper_scissors())


def test_old_keywords_still_work_and_warn():
    P, mu = rock_paper_scissors(), np.array([0.6, 0.3, 0.1])
    with pytest.warns(DeprecationWarning, match="'mu' is deprecated, use 'pi_ref'"):
        old = games.regularized_nash(P, mu=mu, beta=0.5)
    np.testing.assert_array_equal(old.policy, games.regularized_nash(P, pi_ref=mu, beta=0.5).policy)
    with pytest.warns(DeprecationWarning, match="'mu'"):
        g = games.regularized_exploitability(P, [1 / 3] * 3, mu=mu, beta=0.5)
    assert g == games.regularized_exploitability(P, [1 / 3] * 3, mu, 0.5)
    with pytest.warns(DeprecationWarning) as caught:
        a = games.nash_md(P, 5, 0.5, mu=mu, step=0.2)
    assert {str(w.message).split(": ")[1] for w in caught} == {
        "the keyword 'mu' is deprecated, use 'pi_ref'", "the keyword 'step' is deprecated, use 'eta'"}
    np.testing.assert_array_equal(a.policies, games.nash_md(P, 5, 0.5, pi_ref=mu, eta=0.2).policies)
    with pytest.warns(DeprecationWarning, match="'eta' is deprecated, use 'beta'"):
        d = games.dno(P, 5, eta=2.0)
    np.testing.assert_array_equal(d.policies, games.dno(P, 5, beta=2.0).policies)
    lp = np.log([0.5, 0.25, 0.25])
    with pytest.warns(DeprecationWarning, match="'eta'"):
        v = games.dno_loss(lp, lp, [1.0, 0.0, 0.5], [0], [1], eta=1.0)
    np.testing.assert_array_equal(v, games.dno_loss(lp, lp, [1.0, 0.0, 0.5], [0], [1], beta=1.0))
    res = games.regularized_nash(P, mu, 0.5)
    with pytest.warns(DeprecationWarning, match="residual is deprecated"):
        assert res.residual == res.certificate


def test_results_share_the_base_and_certify():
    from prefrl.results import Result

    P, mu = rock_paper_scissors(), np.array([0.6, 0.3, 0.1])
    mm = games.minimax_winner(P)
    assert mm.certificate == mm.exploitability and mm.converged and mm.iterations >= 0
    cv = games.minimax_winner(P, method="cvxpy")
    assert cv.converged and cv.certificate <= 1e-9
    rn = games.regularized_nash(P, mu, 0.5)
    assert rn.converged and rn.certificate <= 1e-12
    assert games.regularized_nash(P, mu, 0.5, method="cvxpy").converged
    sp = games.spo(P, 50, eta=0.3, init=mu)
    assert sp.converged and sp.certificate == sp.exploitability[-1]
    assert sp.certificate == games.exploitability(P, sp.average_policy)
    game = games.TrajectoryGame(_one_state_mdp(3, 1), P)
    seq = games.sequential_spo(game, 20)
    assert seq.converged and seq.certificate == seq.exploitability[-1]
    rm = games.reward_model_rlhf(game)
    for res in (mm, rn, sp, seq, rm):
        assert isinstance(res, Result)
        assert "iterations" not in res.keys() or {"converged", "certificate"} <= set(dir(res))
    assert sp["method"] == "spo[exact]" and "regret" in sp.to_dict()


def test_moved_names_importable_but_documented_elsewhere():
    from prefrl.bradley_terry import fit_bradley_terry

    assert games.fit_bradley_terry is fit_bradley_terry
    assert "fit_bradley_terry" not in games.__all__
    assert "iterative_dpo" not in games.__all__ and callable(games.iterative_dpo)
    for name in games.__all__:
        assert getattr(games, name).__module__.startswith("prefrl.games")


def test_dno_loss_is_the_pairwise_loss_of_prefrl_losses():
    from scipy.special import expit, log_expit

    from prefrl.losses import dno as pairwise_dno

    rng = np.random.default_rng(0)
    lp, lq = np.log(rng.dirichlet(np.ones(4))), np.log(rng.dirichlet(np.ones(4)))
    r = rng.random(4)
    i, j = np.triu_indices(4, 1)
    ours = games.dno_loss(lp, lq, r, i, j, 0.7)
    np.testing.assert_array_equal(
        ours, pairwise_dno(lp[i], lp[j], lq[i], lq[j], beta=0.7, chosen_rewards=r[i],
                           rejected_rewards=r[j]))
    d = 0.7 * ((lp - lq)[i] - (lp - lq)[j])
    s = r[i] - r[j]
    closed = -expit(s) * log_expit(d) - expit(-s) * log_expit(-d)
    np.testing.assert_allclose(ours, closed, rtol=1e-14, atol=1e-16)
    # -inf off the compared responses is allowed
    lp2 = lp.copy()
    lp2[3] = -np.inf
    assert np.isfinite(games.dno_loss(lp2, lq, r, [0, 1], [2, 2], 1.0)).all()


@given(learner_instances())
def test_dno_regression_minimiser_is_the_soft_policy_iteration_target(inst):
    P, prev, beta = inst["P"], inst["init"], inst["eta"]
    r = P @ prev
    u = games.dno_regression_minimiser(prev, r, beta)
    assert u.shape == r.shape and (u.size == 0 or u[0] == 0.0)
    np.testing.assert_allclose(u - u[0], r - r[0], atol=1e-10)


def test_dno_regression_minimiser_validates():
    with pytest.raises(ValueError, match="prev"):
        games.dno_regression_minimiser([0.5, 0.5, 0.0], [0.1, 0.2, 0.3], 1.0)
    with pytest.raises(ValueError, match="reward"):
        games.dno_regression_minimiser([0.5, 0.5], [0.1, 0.2, 0.3], 1.0)
    with pytest.raises(ValueError, match="beta"):
        games.dno_regression_minimiser([0.5, 0.5], [0.1, 0.2], 0.0)
    np.testing.assert_array_equal(games.dno_regression_minimiser([1.0], [0.5], 1.0), [0.0])


def test_one_step_improvement_by_hand_and_on_dno():
    P = np.array([[0.5, 0.8], [0.2, 0.5]])
    win, bound = games.one_step_improvement(P, [[0.5, 0.5], [1.0, 0.0]], beta=0.1)
    np.testing.assert_allclose(win, [0.65])  # (1, 0) P (1/2, 1/2)
    np.testing.assert_allclose(bound, [0.5 + 0.1 * np.log(2)])
    res = games.dno(rock_paper_scissors(), 30, beta=0.5, init=[0.6, 0.3, 0.1])
    win, bound = games.one_step_improvement(rock_paper_scissors(), res.policies, 0.5)
    assert win.shape == bound.shape == (30,) and np.all(win >= bound - 1e-12)
    with pytest.raises(ValueError, match="policies"):
        games.one_step_improvement(P, [[0.5, 0.5]], beta=0.1)


def test_random_instances_are_valid_reproducible_and_varied():
    kinds = set()
    for seed in range(60):
        P = games.random_preference_game(seed)
        np.testing.assert_array_equal(P, games.random_preference_game(np.random.default_rng(seed)))
        np.testing.assert_allclose(P + P.T, 1.0, atol=1e-15)
        assert 1 <= P.shape[0] <= 7
        kinds.add("tournament" if np.isin(P, [0.0, 0.5, 1.0]).all() else "other")
        inst = games.random_learner_instance(seed)
        assert set(inst) == {"P", "eta", "init", "T"} and 1 <= inst["T"] < 200
        assert 10**-1.5 <= inst["eta"] <= 10 and abs(inst["init"].sum() - 1) < 1e-12
    assert kinds == {"tournament", "other"}
    with pytest.raises(ValueError, match="rng"):
        games.random_preference_game(None)
    with pytest.raises(ValueError, match="upper"):
        games.preference_matrix_from_upper([[0.5, 1.5], [0.0, 0.5]])
    with pytest.raises(ValueError, match="square"):
        games.preference_matrix_from_upper(np.zeros((2, 3)))
