"""Property tests of the tabular MDP engine (prefrl.mdp): solvers, certificates, soft and
finite-horizon optima, occupancy identities, policy gradients, validation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl.mdp import TabularMDP, softmax_policy, softmax_policy_gradient
from prefrl.mdp._strategies import mdp_arrays, policies, tabular_mdps


def _round(V):
    """Rounding slack of float64 sums and solves at the scale of V (not a modelling tolerance)."""
    return 1e-9 * (1.0 + float(np.max(np.abs(V))))


def brute_force_optimum(mdp: TabularMDP) -> np.ndarray:
    """V* as the componentwise max over all deterministic stationary policies (dense solves)."""
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.dense_transitions()
    r = mdp.expected_rewards
    best = np.full(S, -np.inf)
    for acts in itertools.product(range(A), repeat=S):
        idx = (np.arange(S), np.array(acts))
        V = np.linalg.solve(np.eye(S) - mdp.gamma * P[idx], r[idx])
        best = np.maximum(best, V)
    return best


# ----------------------------------------------------------------------------- solvers


@given(tabular_mdps(max_states=4, max_actions=3, sparse=None))
def test_policy_iteration_matches_brute_force(mdp):
    res = mdp.solve("pi")
    V = brute_force_optimum(mdp)
    assert res.converged
    np.testing.assert_allclose(res.values, V, atol=_round(V), rtol=0)
    assert res.suboptimality_bound <= _round(V)


@pytest.mark.parametrize("method", ["vi", "mpi", "lp"])
@given(mdp=tabular_mdps(sparse=None), tol=st.sampled_from([1e-3, 1e-6, 1e-10]))
@settings(max_examples=40)
def test_methods_agree_within_their_certificates(method, mdp, tol):
    ref = mdp.solve("pi")
    res = mdp.solve(method, tol=tol)
    assert res.converged and res.method == method
    if method in ("vi", "mpi"):
        # tol is the guaranteed suboptimality; the value estimate is within tol / 2.
        assert res.suboptimality_bound <= tol + _round(ref.values)
        assert res.value_error_bound <= tol / 2 + _round(ref.values)
    err = np.max(np.abs(res.values - ref.values))
    assert err <= res.value_error_bound + ref.value_error_bound + _round(ref.values)


@pytest.mark.parametrize("method", ["vi", "pi", "mpi", "lp"])
@given(mdp=tabular_mdps(sparse=None), tol=st.sampled_from([1e-2, 1e-5, 1e-9]))
@settings(max_examples=40)
def test_returned_policy_is_within_its_certificate(method, mdp, tol):
    """The exactly evaluated value of the returned policy is within suboptimality_bound of V*."""
    res = mdp.solve(method, tol=tol)
    star = mdp.solve("pi")
    Vpi = mdp.evaluate(res.policy).values
    gap = np.max(star.values - Vpi)
    assert gap <= res.suboptimality_bound + star.value_error_bound + _round(star.values)
    # and the certificate brackets V*: |values - V*| <= value_error_bound
    assert np.max(np.abs(res.values - star.values)) <= (
        res.value_error_bound + star.value_error_bound + _round(star.values)
    )


@given(tabular_mdps(sparse=None))
def test_bellman_optimality_at_the_exact_solution(mdp):
    res = mdp.solve("pi")
    Q = mdp.q_from_values(res.values)
    np.testing.assert_allclose(Q.max(axis=1), res.values, atol=_round(res.values), rtol=0)
    assert res.certificate <= _round(res.values)
    # the returned policy is greedy: it attains the max in every state
    np.testing.assert_allclose((res.policy * Q).sum(axis=1), Q.max(axis=1), atol=_round(Q))


def test_vi_tol_is_the_suboptimality_and_is_attained():
    """A slow-mixing chain where VI needs many sweeps: the stopping rule means what it says."""
    from prefrl.mdp.envs import chain

    mdp = chain(30, slip=0.1, gamma=0.99)
    star = mdp.solve("pi")
    for tol in (1e-1, 1e-4, 1e-8):
        res = mdp.solve("vi", tol=tol)
        assert res.suboptimality_bound <= tol
        true_gap = np.max(star.values - mdp.evaluate(res.policy).values)
        assert true_gap <= res.suboptimality_bound + 1e-12
        assert np.max(np.abs(res.values - star.values)) <= tol / 2 + 1e-12
    # a max_iter too small is reported, not hidden
    short = mdp.solve("vi", tol=1e-12, max_iter=3)
    assert not short.converged and short.suboptimality_bound > 1e-12


def test_breaking_the_certificate_is_detected():
    """Sanity check of the test machinery: a wrong value estimate yields a large certificate."""
    from prefrl.mdp.envs import chain

    mdp = chain(5, gamma=0.9)
    cert = mdp._certify(np.zeros(5))
    assert cert["suboptimality_bound"] > 0.5 and cert["certificate"] > 0.5


# ----------------------------------------------------------------------------- evaluation


@given(data=st.data(), mdp=tabular_mdps(sparse=None))
def test_evaluate_is_the_fixed_point_of_T_pi(data, mdp):
    pi = data.draw(policies(mdp.n_states, mdp.n_actions))
    ev = mdp.evaluate(pi)
    r_pi = (pi * mdp.expected_rewards).sum(axis=1)
    P = mdp.dense_transitions()
    P_pi = np.einsum("sa,sat->st", pi, P)
    np.testing.assert_allclose(ev.values, r_pi + mdp.gamma * P_pi @ ev.values,
                               atol=_round(ev.values), rtol=0)
    np.testing.assert_allclose((pi * ev.q_values).sum(axis=1), ev.values, atol=_round(ev.values))
    assert ev.expected_return == pytest.approx(mdp.initial @ ev.values, abs=1e-12)


def test_evaluate_matches_monte_carlo():
    """Discounted returns of roll-outs agree with V^pi: z-score of the mean below 5."""
    rng = np.random.default_rng(3)
    for sas in (False, True):
        S, A, gamma = 4, 3, 0.8
        P = rng.dirichlet(np.ones(S) * 0.5, size=(S, A))
        R = rng.normal(size=(S, A, S) if sas else (S, A))
        mdp = TabularMDP(P, R, gamma, rng.dirichlet(np.ones(S)))
        pi = rng.dirichlet(np.ones(A), size=S)
        ro = mdp.rollout(pi, rng, n_episodes=20000, length=80)
        G = ro.discounted_returns(gamma)
        z = abs(G.mean() - mdp.evaluate(pi).expected_return) / (G.std() / np.sqrt(G.size))
        assert z < 5
        # and the test has power: a different policy's value is rejected
        other = np.roll(pi, 1, axis=1)
        z_other = abs(G.mean() - mdp.evaluate(other).expected_return) / (
            G.std() / np.sqrt(G.size))
        assert z_other > 5 or abs(mdp.evaluate(other).expected_return
                                  - mdp.evaluate(pi).expected_return) < 0.05


@given(data=st.data(), mdp=tabular_mdps(sparse=None, gammas=(0.0, 0.5, 0.9, 0.99), horizon=None))
def test_occupancy_identities(data, mdp):
    """d(s, a) = sum_{t<H} gamma^t Pr(s_t = s, a_t = a), on discounted MDPs and on finite horizons
    with gamma < 1 as well as gamma = 1 (where a gamma^(t + 1) would go unseen)."""
    H, g = mdp.horizon, mdp.gamma
    time_dependent = H is not None and data.draw(st.booleans())
    pi = data.draw(policies(mdp.n_states, mdp.n_actions, horizon=H if time_dependent else None))
    d = mdp.occupancy(pi)
    mass = 1.0 / (1.0 - g) if H is None else sum(g**t for t in range(H))
    assert np.all(d >= 0)
    assert d.sum() == pytest.approx(mass, rel=1e-9, abs=1e-12)
    J = mdp.evaluate(pi).expected_return
    assert np.sum(d * mdp.expected_rewards) == pytest.approx(J, rel=1e-9, abs=1e-9 * mass)
    # Bellman flow: sum_a d(s', a) = mu0(s') + gamma sum_{s,a} P[s,a,s'] d(s,a) - gamma^H rho_H(s'),
    # rho_H the law of s_H (no last term when H is infinite)
    P = mdp.dense_transitions()
    flow = mdp.initial + g * np.einsum("sa,sat->t", d, P)
    if H is not None:
        rho = mdp.initial
        for t in range(H):
            rho = np.einsum("s,sa,sat->t", rho, pi[t] if time_dependent else pi, P)
        flow -= g**H * rho
    np.testing.assert_allclose(d.sum(axis=1), flow, atol=1e-9 * mass)
    # the policy is recovered from the occupancy on visited states
    if not time_dependent:
        ds = d.sum(axis=1)
        seen = ds > 1e-9
        np.testing.assert_allclose(d[seen] / ds[seen, None], pi[seen], atol=1e-7)


# ----------------------------------------------------------------------------- sparse


@given(mdp=tabular_mdps(sparse=False), method=st.sampled_from(["vi", "pi", "mpi", "lp"]))
@settings(max_examples=30)
def test_sparse_and_dense_agree(mdp, method):
    S, A = mdp.n_states, mdp.n_actions
    twin = TabularMDP(sp.csr_array(mdp.transitions.reshape(S * A, S)), mdp.rewards, mdp.gamma,
                      mdp.initial)
    a, b = mdp.solve(method, tol=1e-9), twin.solve(method, tol=1e-9)
    np.testing.assert_allclose(a.values, b.values, atol=2e-9 + _round(a.values))
    np.testing.assert_allclose(mdp.expected_rewards, twin.expected_rewards, atol=1e-14)
    pi = np.full((S, A), 1.0 / A)
    np.testing.assert_allclose(mdp.occupancy(pi), twin.occupancy(pi), atol=1e-9)
    sa, sb = mdp.soft_solve(0.3), twin.soft_solve(0.3)
    np.testing.assert_allclose(sa.values, sb.values, atol=1e-8 + _round(sa.values))


# ----------------------------------------------------------------------------- soft


def _regularised_value(mdp, pi, beta, logref):
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * (np.log(np.where(pi > 0, pi, 1.0)) - logref), 0.0).sum(axis=1)
    S = mdp.n_states
    P_pi = np.einsum("sa,sat->st", pi, mdp.dense_transitions())
    r_pi = (pi * mdp.expected_rewards).sum(axis=1) - beta * kl
    return np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, r_pi)


@given(
    data=st.data(),
    mdp=tabular_mdps(sparse=None),
    beta=st.sampled_from([1e-2, 0.1, 1.0, 10.0]) | st.floats(1e-2, 10.0),
)
def test_soft_bellman_equations_and_policy_value(data, mdp, beta):
    S, A = mdp.n_states, mdp.n_actions
    ref = None
    if data.draw(st.booleans()):
        ref = data.draw(policies(S, A, deterministic=False))
    res = mdp.soft_solve(beta, pi_ref=ref, tol=1e-11)
    logref = np.log(np.full((S, A), 1.0 / A) if ref is None else np.where(ref > 0, ref, 1e-300))
    logref = np.where((ref if ref is not None else np.ones((S, A))) > 0, logref, -np.inf)
    Q = mdp.q_from_values(res.values)
    np.testing.assert_allclose(res.q_values, Q, atol=1e-12 * (1 + np.abs(Q).max()))
    with np.errstate(divide="ignore"):
        m = (Q / beta + logref).max(axis=1, keepdims=True)
        soft = beta * (m[:, 0] + np.log(np.exp(Q / beta + logref - m).sum(axis=1)))
    assert np.max(np.abs(soft - res.values)) <= res.certificate + _round(res.values)
    assert res.value_error_bound <= 1e-10 + _round(res.values)
    np.testing.assert_allclose(res.policy.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(res.policy[np.isneginf(logref)] == 0)
    # the Gibbs policy attains the soft value: its exactly evaluated regularised value is V_beta
    Vpi = _regularised_value(mdp, res.policy, beta, logref)
    tol = res.value_error_bound / max(1e-12, 1 - mdp.gamma) + _round(res.values) / (1 - mdp.gamma)
    assert np.max(np.abs(Vpi - res.values)) <= 2 * tol + 1e-8
    # and no other policy does better (regularised)
    other = data.draw(policies(S, A))
    if ref is not None:
        other = np.where(ref > 0, other, 0.0)
        other[other.sum(axis=1) == 0] = ref[other.sum(axis=1) == 0]
        other /= other.sum(axis=1, keepdims=True)
    assert np.all(_regularised_value(mdp, other, beta, logref) <= res.values + 1e-8 * (
        1 + np.abs(res.values).max()))


@given(mdp=tabular_mdps(sparse=None, gammas=(0.0, 0.5, 0.9)))
def test_soft_solution_tends_to_hard_solution(mdp):
    star = mdp.solve("pi").values
    A = mdp.n_actions
    for beta in (1.0, 1e-2, 1e-4):
        soft = mdp.soft_solve(beta).values
        gap = beta * np.log(A) / (1 - mdp.gamma)
        assert np.all(soft <= star + 1e-9 * (1 + np.abs(star)))
        assert np.all(soft >= star - gap - 1e-9 * (1 + np.abs(star)))


# ----------------------------------------------------------------------------- finite horizon


@given(tabular_mdps(horizon=True))
def test_backward_induction_is_optimal_among_time_dependent_policies(mdp):
    res = mdp.backward_induction()
    H, S, A = res.horizon, mdp.n_states, mdp.n_actions
    ev = mdp.evaluate(res.policy)
    np.testing.assert_allclose(ev.values, res.values[0], atol=_round(res.values), rtol=0)
    # brute force over deterministic time-dependent policies for tiny instances
    if A**S <= 27 and H <= 3:
        best = np.full(S, -np.inf)
        for acts in itertools.product(range(A), repeat=S * H):
            pol = np.zeros((H, S, A))
            pol[np.repeat(np.arange(H), S), np.tile(np.arange(S), H), np.array(acts)] = 1.0
            best = np.maximum(best, mdp.evaluate(pol).values)
        np.testing.assert_allclose(best, res.values[0], atol=_round(best), rtol=0)


@given(tabular_mdps(horizon=True), st.sampled_from([0.1, 1.0, 5.0]))
def test_soft_backward_induction_satisfies_its_recursion(mdp, beta):
    res = mdp.backward_induction(beta=beta)
    for t in range(res.horizon):
        Q = mdp.q_from_values(res.values[t + 1])
        np.testing.assert_allclose(res.q_values[t], Q, atol=1e-12 * (1 + np.abs(Q).max()))
        expect = beta * np.log(np.mean(np.exp((Q - Q.max(1, keepdims=True)) / beta), axis=1)) \
            + Q.max(axis=1)
        np.testing.assert_allclose(res.values[t], expect, atol=_round(expect))
    hard = mdp.backward_induction()
    assert np.all(res.values[0] <= hard.values[0] + _round(hard.values))


@given(tabular_mdps(gammas=(0.0, 0.5, 0.8)), st.integers(1, 60))
@settings(max_examples=40)
def test_finite_horizon_approaches_discounted(mdp, H):
    star = mdp.solve("pi").values
    fh = mdp.backward_induction(horizon=H)
    bound = mdp.gamma**H * np.max(np.abs(star))
    assert np.max(np.abs(fh.values[0] - star)) <= bound + _round(star)
    fh_soft = mdp.backward_induction(horizon=H, beta=0.5)
    soft = mdp.soft_solve(0.5, tol=1e-12).values
    assert np.max(np.abs(fh_soft.values[0] - soft)) <= (
        mdp.gamma**H * np.max(np.abs(soft)) + 1e-10 + _round(soft))


# ----------------------------------------------------------------------------- policy gradient


@given(
    mdp=tabular_mdps(max_states=4, max_actions=3, gammas=(0.0, 0.5, 0.9)),
    theta=hnp.arrays(np.float64, (4, 3), elements=st.floats(-3, 3)),
    beta=st.sampled_from([0.0, 0.0, 0.1, 1.0]),
    with_ref=st.booleans(),
)
@settings(max_examples=40)
def test_policy_gradient_matches_finite_differences(mdp, theta, beta, with_ref):
    S, A = mdp.n_states, mdp.n_actions
    th = theta[:S, :A]
    ref = np.linspace(1.0, 2.0, A) / np.linspace(1.0, 2.0, A).sum() if with_ref else None
    pg = softmax_policy_gradient(mdp, th, beta=beta, pi_ref=ref)
    np.testing.assert_allclose(pg.policy, softmax_policy(mdp, th, pi_ref=ref), atol=1e-15)
    h = 1e-6
    fd = np.zeros_like(th)
    for s in range(S):
        for a in range(A):
            e = np.zeros_like(th)
            e[s, a] = h
            fd[s, a] = (softmax_policy_gradient(mdp, th + e, beta, ref).value
                        - softmax_policy_gradient(mdp, th - e, beta, ref).value) / (2 * h)
    scale = 1.0 + np.max(np.abs(mdp.expected_rewards)) / (1 - mdp.gamma) + beta * 10 / (
        1 - mdp.gamma)
    np.testing.assert_allclose(pg.gradient, fd, atol=1e-6 * scale, rtol=1e-5)
    # gradient of each state sums to zero (softmax invariance to a per-state shift)
    np.testing.assert_allclose(pg.gradient.sum(axis=1), 0.0, atol=1e-10 * scale)
    if beta == 0:
        assert pg.value == pytest.approx(mdp.evaluate(pg.policy).expected_return, abs=1e-9)


# ----------------------------------------------------------------------------- validation


@given(mdp_arrays(), st.data())
def test_validation_rejects_bad_input(arrays, data):
    P, R, mu = arrays
    S, A, _ = P.shape
    kind = data.draw(st.sampled_from(["sum", "neg", "nan", "shape", "gamma", "rshape", "mu"]))
    s = data.draw(st.integers(0, S - 1))
    a = data.draw(st.integers(0, A - 1))
    P = P.copy()
    gamma = 0.9
    match = "transitions"
    if kind == "sum":
        P[s, a] *= 1.5
    elif kind == "neg":
        P[s, a] = 0.0
        P[s, a, 0] = -0.5
        P[s, a, -1] += 1.5 if S > 1 else 0.0
    elif kind == "nan":
        P[s, a, 0] = np.nan
    elif kind == "shape":
        P = P[:, :, :-1] if S > 1 else np.zeros((1, A, 2))
    elif kind == "gamma":
        gamma, match = 1.0, "gamma"
    elif kind == "rshape":
        R, match = np.zeros((S + 1, A)), "rewards"
    else:
        mu, match = np.full(S, 2.0 / S), "initial"
    with pytest.raises(ValueError, match=match):
        TabularMDP(P, R, gamma, mu)


def test_validation_messages_and_policies():
    P = np.ones((2, 1, 2)) / 2
    with pytest.raises(ValueError, match=r"transitions\[0, 0, :\] sums to 1.5"):
        TabularMDP(np.array([[[1.0, 0.5]], [[0.5, 0.5]]]), np.zeros((2, 1)), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        TabularMDP(P, np.zeros((2, 1)), 1.5)
    with pytest.raises(ValueError, match="horizon"):
        TabularMDP(P, np.zeros((2, 1)), 0.9, horizon=0)
    with pytest.raises(ValueError, match="sparse transitions"):
        TabularMDP(sp.csr_array(np.ones((3, 2)) / 2), np.zeros((2, 1)), 0.9)
    with pytest.raises(ValueError, match="must be >= 0"):
        TabularMDP(sp.csr_array(np.array([[1.5, -0.5], [0.5, 0.5]])), np.zeros((2, 1)), 0.9)
    mdp = TabularMDP(P, np.zeros((2, 1)), 0.9)
    with pytest.raises(ValueError, match="policy"):
        mdp.evaluate([[0.5], [0.5]])
    with pytest.raises(ValueError, match="policy"):
        mdp.evaluate(np.array([0, 1]))
    with pytest.raises(ValueError, match="method"):
        mdp.solve("qlearning")
    with pytest.raises(ValueError, match="beta"):
        mdp.soft_solve(0.0)
    with pytest.raises(ValueError, match="horizon"):
        mdp.backward_induction()
    with pytest.raises(ValueError, match="finite horizon"):
        TabularMDP(P, np.zeros((2, 1)), 1.0, horizon=3).solve()
    with pytest.raises(ValueError, match="state_labels"):
        TabularMDP(P, np.zeros((2, 1)), 0.9, state_labels=["a"])
    assert "S=2" in repr(mdp)


def test_results_are_frozen():
    mdp = TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], 0.5)
    res = mdp.solve()
    with pytest.raises(AttributeError):
        res.values = None
    assert res.actions.tolist() == [0]


@given(mdp=tabular_mdps(sparse=False, gammas=(0.0, 0.5, 0.9)),
       max_iter=st.sampled_from([1, 2, 5, 100_000]))
@settings(max_examples=15)
def test_blas_sweeps_match_numba_kernels(mdp, max_iter):
    """Large dense problems sweep with BLAS; force that path and compare with the numba one."""
    par = TabularMDP(mdp.transitions, mdp.rewards, mdp.gamma, mdp.initial)
    par._blas = True  # what the constructor sets for >= _BLAS_MIN_ENTRIES entries
    assert par._blas and not mdp._blas
    star = mdp.solve("pi")
    for method in ("vi", "mpi", "pi"):
        a = mdp.solve(method, tol=1e-9, max_iter=max_iter)
        b = par.solve(method, tol=1e-9, max_iter=max_iter)
        assert a.iterations == b.iterations and a.converged == b.converged
        np.testing.assert_allclose(a.values, b.values, atol=_round(a.values))
        # converged or not, the certificate holds for what is returned
        assert np.max(np.abs(b.values - star.values)) <= b.value_error_bound + _round(star.values)
        gap = np.max(star.values - par.evaluate(b.policy).values)
        assert gap <= b.suboptimality_bound + _round(star.values)
    np.testing.assert_allclose(par.q_from_values(star.values), star.q_values,
                               atol=_round(star.values))


@pytest.mark.parametrize("kind", ["dense_mixing", "dense_slow_chain", "sparse_mixing",
                                  "sparse_slow_chain"])
def test_large_evaluations_match_a_direct_solve(kind):
    """Large problems are evaluated by BiCGSTAB + refinement (with a direct fallback when it
    stalls); the values must still solve (I - gamma P_pi) V = r_pi to rounding level."""
    from prefrl.mdp.envs import random_mdp

    rng = np.random.default_rng(0)
    if kind.startswith("dense"):
        S, sparse_ = 450, False
    else:
        S, sparse_ = 3500, True
    if kind.endswith("mixing"):
        mdp = random_mdp(S, 2, rng, n_successors=5, gamma=0.99, sparse=sparse_)
    else:
        # a ring that moves one step with probability 0.999: eigenvalues near the unit circle
        rows = np.arange(S * 2)
        s = rows // 2
        cols = np.stack([s, (s + 1) % S], axis=1).ravel()
        vals = np.tile([0.001, 0.999], S * 2)
        T = sp.csr_array((vals, (np.repeat(rows, 2), cols)), shape=(S * 2, S))
        T = T if sparse_ else T.toarray().reshape(S, 2, S)
        mdp = TabularMDP(T, rng.random((S, 2)), 0.999)
    pi = rng.dirichlet(np.ones(2), size=S)
    ev = mdp.evaluate(pi)
    P_pi, r_pi = mdp._policy_matrix(pi)
    res = ev.values - mdp.gamma * (P_pi @ ev.values) - r_pi
    assert np.max(np.abs(res)) <= 1e-12 * max(1.0, np.abs(r_pi).max())
    d = mdp.occupancy(pi)
    assert d.sum() == pytest.approx(1 / (1 - mdp.gamma), rel=1e-9)
    assert np.sum(d * mdp.expected_rewards) == pytest.approx(ev.expected_return, rel=1e-9)


# ----------------------------------------------------------------------------- renames and paths


def test_old_keywords_and_fields_still_work_and_warn():
    """reference -> pi_ref, bellman_residual -> certificate, objective -> value (one release)."""
    mdp = TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], 0.5)
    ref = np.array([0.25, 0.75])
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated, use 'pi_ref'"):
        old = mdp.soft_solve(1.0, reference=ref)
    new = mdp.soft_solve(1.0, pi_ref=ref)
    np.testing.assert_array_equal(old.values, new.values)
    with pytest.warns(DeprecationWarning, match="SoftSolveResult.bellman_residual is deprecated"):
        assert new.bellman_residual == new.certificate
    solved = mdp.solve("vi")
    with pytest.warns(DeprecationWarning, match="SolveResult.bellman_residual is deprecated"):
        assert solved.bellman_residual == solved.certificate
    finite = TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], 1.0, horizon=2)
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated"):
        fh = finite.backward_induction(beta=1.0, reference=ref)
    np.testing.assert_array_equal(fh.policy, finite.backward_induction(beta=1.0, pi_ref=ref).policy)
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated"):
        pi = softmax_policy(mdp, np.zeros((1, 2)), reference=ref)
    np.testing.assert_allclose(pi, [ref])
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated"):
        pg = softmax_policy_gradient(mdp, np.zeros((1, 2)), reference=ref)
    with pytest.warns(DeprecationWarning, match="PolicyGradient.objective is deprecated"):
        assert pg.objective == pg.value
    with pytest.raises(TypeError, match="got both"):
        mdp.soft_solve(1.0, reference=ref, pi_ref=ref)


def test_results_share_the_base_and_old_module_paths_work():
    from prefrl.mdp import (
        Evaluation,
        FiniteHorizonResult,
        PolicyGradient,
        Rollouts,
        SoftSolveResult,
        SolveResult,
    )
    from prefrl.mdp.core import TabularMDP as OldTabularMDP
    from prefrl.mdp.gradients import softmax_policy_gradient as old_gradient
    from prefrl.results import Result

    assert OldTabularMDP is TabularMDP and old_gradient is softmax_policy_gradient
    for cls in (Evaluation, SolveResult, SoftSolveResult, FiniteHorizonResult, PolicyGradient,
                Rollouts):
        assert issubclass(cls, Result)
    mdp = TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], 0.5)
    res = mdp.solve("mpi")
    assert res["certificate"] == res.certificate and "converged" in res.keys()
    assert mdp.soft_solve(1.0).to_dict()["converged"]
