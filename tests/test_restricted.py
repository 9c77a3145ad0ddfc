"""Tests of prefrl.restricted (projections, RLHF/DPO within classes, K-sample EXO/DPO) and r -> Q*."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import prefrl.proofs_check.restricted as pcr
from prefrl.bandits import bt_mle, dpo_dataset_optimum, dpo_population_optimum, rlhf_optimum
from prefrl.policies import LogLinearPolicy, gibbs, kl, regularized_objective, soft_value
from prefrl.restricted import (
    dpo_restricted,
    dpo_restricted_dataset,
    forward_kl_projection,
    k_sample_expected_loss,
    k_sample_limit,
    k_sample_loss,
    linear_bt_mle,
    linear_bt_mle_dataset,
    online_dpo,
    policy_value,
    reverse_kl_projection,
    rlhf_restricted,
    rlhf_restricted_dataset,
    train_k_sample,
)
from prefrl.token_credit import sequence_dpo_token_policy, token_tree_credit

# ---------------------------------------------------------------------------------------------
# strategies

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@st.composite
def distributions(draw, K, zeros=True, low=0.0):
    """Probability vectors of length K, with ties and (optionally) zeros."""
    w = draw(arrays(np.float64, K, elements=st.sampled_from([0.0, 0.5, 1.0, 2.0]) if zeros
                    else st.floats(0.05, 3.0)))
    if w.sum() == 0:
        w[0] = 1.0
    p = w / w.sum()
    if low > 0:
        p = np.maximum(p, low)
        p /= p.sum()
    return p


@st.composite
def projection_instances(draw, zeros=True):
    K = draw(st.integers(2, 6))
    d = draw(st.integers(1, K))
    phi = draw(arrays(np.float64, (K, d), elements=finite))
    target = draw(distributions(K, zeros=zeros, low=0.0 if zeros else 1e-3))
    return target, phi


@st.composite
def bandit_instances(draw):
    K = draw(st.integers(2, 5))
    r = draw(arrays(np.float64, K, elements=st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0])
                    | st.floats(-2, 2)))
    ref = draw(distributions(K, zeros=False))
    d = draw(st.integers(1, max(1, K - 2)))
    feats = draw(arrays(np.float64, (K, 3), elements=finite))
    beta = draw(st.sampled_from([0.2, 0.5, 1.0, 3.0]))
    return {"reward": r, "reference": ref, "beta": beta, "d": d, "features": feats}


def bt(r):
    return 1.0 / (1.0 + np.exp(-(r[:, None] - r[None, :])))


# ---------------------------------------------------------------------------------------------
# projections


@settings(max_examples=40)
@given(projection_instances())
def test_forward_projection_matches_moments_and_is_optimal(inst):
    target, phi = inst
    res = forward_kl_projection(target, phi)
    cls = LogLinearPolicy(phi)
    if res.converged:
        np.testing.assert_allclose(res.policy @ phi, target @ phi, atol=1e-8)
    rng = np.random.default_rng(0)
    for th in rng.normal(size=(10, phi.shape[1])):
        assert res.value <= kl(target, cls.probs(th)) + 1e-9


def test_forward_projection_boundary_moment_is_flagged():
    # A point mass on an extreme feature: the infimum KL = 0 is approached only as theta -> inf.
    res = forward_kl_projection([1.0, 0.0, 0.0], np.array([[1.0], [0.0], [-1.0]]))
    assert not res.converged and res.policy[0] > 0.99


@settings(max_examples=25)
@given(projection_instances(zeros=False))
def test_reverse_projection_stationary_and_beats_random(inst):
    target, phi = inst
    res = reverse_kl_projection(target, phi, rng=0)
    cls = LogLinearPolicy(phi)
    assert res.certificate <= 1e-8
    np.testing.assert_allclose(res.value, kl(res.policy, target), atol=1e-12)
    for th in np.random.default_rng(1).normal(size=(10, phi.shape[1])) * 2:
        assert res.value <= kl(cls.probs(th), target) + 1e-10


def test_reverse_projection_gradient_matches_finite_differences():
    from prefrl.restricted._projections import _reverse_kl_parts

    rng = np.random.default_rng(3)
    phi = rng.normal(size=(6, 2))
    p = rng.dirichlet(np.ones(6))
    cls = LogLinearPolicy(phi)
    th = rng.normal(size=2)
    _, g, H = _reverse_kl_parts(cls, np.log(p), th)
    e = 1e-6
    for i in range(2):
        dp, dm = th + e * np.eye(2)[i], th - e * np.eye(2)[i]
        fd = (_reverse_kl_parts(cls, np.log(p), dp)[0] - _reverse_kl_parts(cls, np.log(p), dm)[0])
        assert abs(fd / (2 * e) - g[i]) < 1e-6
        fdg = (_reverse_kl_parts(cls, np.log(p), dp)[1] - _reverse_kl_parts(cls, np.log(p), dm)[1])
        np.testing.assert_allclose(fdg / (2 * e), H[i], atol=1e-5)


def test_reverse_projection_is_mode_seeking_and_forward_is_mean_seeking():
    y = np.arange(20.0)
    target = 0.6 * np.exp(-0.5 * ((y - 5) / 1.2) ** 2) + 0.4 * np.exp(-0.5 * ((y - 14) / 1.2) ** 2)
    target /= target.sum()
    phi = np.c_[y, y**2]
    rev, fwd = reverse_kl_projection(target, phi, rng=0), forward_kl_projection(target, phi)
    assert abs(rev.policy @ y - 5) < 0.3
    assert abs(fwd.policy @ y - target @ y) < 1e-8
    assert rev.value < rev.start_values.max() - 0.1  # another (worse) local minimum exists


@settings(max_examples=25)
@given(bandit_instances())
def test_reverse_projection_of_gibbs_maximises_regularised_objective(inst):
    # E_pi r - beta KL(pi || ref) = beta log Z - beta KL(pi || Gibbs): the RLHF policy step.
    r, ref, beta = inst["reward"], inst["reference"], inst["beta"]
    phi = inst["features"][:, : inst["d"]]
    res = reverse_kl_projection(gibbs(ref, r, beta), phi, ref, rng=0)
    cls = LogLinearPolicy(phi, ref)
    j = regularized_objective(res.policy, r, ref, beta)
    np.testing.assert_allclose(j, soft_value(ref, r, beta) - beta * res.value, atol=1e-10)
    for th in np.random.default_rng(2).normal(size=(10, phi.shape[1])):
        assert j >= regularized_objective(cls.probs(th), r, ref, beta) - 1e-10


# ---------------------------------------------------------------------------------------------
# Bradley-Terry and DPO in classes


@settings(max_examples=30)
@given(bandit_instances())
def test_linear_bt_recovers_realisable_reward_and_matches_bandits(inst):
    r, ref = inst["reward"], inst["reference"]
    fit = linear_bt_mle(bt(r), ref, np.eye(r.size))
    np.testing.assert_allclose(fit.rewards - fit.rewards.mean(), r - r.mean(), atol=1e-8)
    other = dpo_population_optimum(bt(r), ref, ref, 1.0).reward
    np.testing.assert_allclose(fit.rewards - fit.rewards.mean(), other - other.mean(), atol=1e-8)


@settings(max_examples=30)
@given(bandit_instances())
def test_dpo_restricted_full_class_is_bandits_dpo_and_implicit_reward_identity(inst):
    r, ref, beta = inst["reward"], inst["reference"], inst["beta"]
    K = r.size
    full = dpo_restricted(bt(r), ref, np.eye(K), ref, beta)
    np.testing.assert_allclose(full.policy, dpo_population_optimum(bt(r), ref, ref, beta).policy,
                               atol=1e-8)
    phi = inst["features"][:, : inst["d"]]
    fit = dpo_restricted(bt(r), ref, phi, ref, beta)
    w = linear_bt_mle(bt(r), ref, phi).weights
    np.testing.assert_allclose(beta * fit.theta, w, atol=1e-10)
    np.testing.assert_allclose(fit.reward, phi @ w, atol=1e-10)


@settings(max_examples=20)
@given(bandit_instances())
def test_dichotomy_theorems_on_hypothesis_instances(inst):
    assert pcr.realisable_both_optimal(inst) <= 1e-7
    assert pcr.isomorphic_identical(inst) <= 1e-7
    assert pcr.reward_realisable_rlhf_wins(inst) <= 1e-8
    assert pcr.policy_realisable_dpo_wins(inst) <= 1e-8


def test_strict_gaps_of_our_instances():
    from prefrl.experiments.dichotomy_value_gap import U3, instances

    inst = instances()
    c, d = inst["c_policy_misspecified"], inst["d_reward_misspecified"]
    beta = 0.1
    Rc = rlhf_restricted(bt(c["reward"]), U3, c["psi"], c["phi"], None, beta, rng=0)
    Dc = dpo_restricted(bt(c["reward"]), U3, c["phi"], None, beta)
    gap_c = policy_value(Rc.policy, c["reward"], U3, beta) - policy_value(Dc.policy, c["reward"],
                                                                          U3, beta)
    Rd = rlhf_restricted(bt(d["reward"]), U3, d["psi"], d["phi"], None, beta, rng=0)
    Dd = dpo_restricted(bt(d["reward"]), U3, d["phi"], None, beta)
    gap_d = policy_value(Dd.policy, d["reward"], U3, beta) - policy_value(Rd.policy, d["reward"],
                                                                          U3, beta)
    assert gap_c > 0.1 and gap_d > 0.1
    np.testing.assert_allclose(Dc.policy, U3, atol=1e-12)  # DPO's theta = 0 for every beta


def test_dataset_versions_match_bandits_in_full_class():
    w, lo = [0, 0, 1, 2, 2, 1], [1, 2, 2, 0, 1, 0]
    ref = np.array([0.2, 0.5, 0.3])
    for beta in (0.3, 2.0):
        a = dpo_restricted_dataset(w, lo, np.eye(3), ref, beta)
        np.testing.assert_allclose(a.policy, dpo_dataset_optimum(w, lo, ref, beta).policy, atol=1e-9)
        b = rlhf_restricted_dataset(w, lo, np.eye(3), np.eye(3), ref, beta, l2=0.5, rng=0)
        np.testing.assert_allclose(b.policy, rlhf_optimum(w, lo, ref, beta, l2=0.5).policy,
                                   atol=1e-8)
    fit = linear_bt_mle_dataset(w, lo, np.eye(3))
    np.testing.assert_allclose(fit.rewards - fit.rewards.mean(),
                               bt_mle(w, lo, 3).rewards, atol=1e-9)


def test_separable_dataset_reported_not_converged():
    fit = linear_bt_mle_dataset([1, 1], [0, 0], np.array([[0.0], [1.0]]))
    assert not fit.converged
    assert linear_bt_mle_dataset([1, 1], [0, 0], np.array([[0.0], [1.0]]), l2=1.0).converged


def test_deterministic_preferences_have_no_finite_fit():
    # P in {0, 1}: the Bradley-Terry likelihood is maximised only at infinity (DPO's overfitting).
    P = [[0.5, 1.0, 1.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.5]]
    fit = dpo_restricted(P, np.full(3, 1 / 3), np.array([[1.0], [0.0], [-1.0]]), None, 1.0)
    assert not fit.converged and fit.policy[0] > 0.99
    # A feature tie between the two better actions leaves the data separable (w -> inf) ...
    tied = linear_bt_mle(P, np.full(3, 1 / 3), np.array([[1.0], [1.0], [0.0]]))
    assert not tied.converged
    # ... while a feature that ranks them against the data gives a finite fit (here w = 0).
    mixed = linear_bt_mle(P, np.full(3, 1 / 3), np.array([[0.0], [1.0], [0.0]]))
    assert mixed.converged


def test_online_dpo_improves_value_and_approaches_optimum_in_full_class():
    r = np.array([1.0, 0.0, -0.5])
    res = online_dpo(r, np.eye(3), None, 1.0, n_rounds=40, pairs_per_round=256, rng=0)
    star = gibbs(np.ones(3) / 3, r, 1.0)
    assert res.values[-1] > res.values[0]
    assert np.max(np.abs(res.policy - star)) < 0.05
    assert res.thetas.shape == (41, 3)


# ---------------------------------------------------------------------------------------------
# K-sample EXO and DPO


def _direct_losses(s, t):
    """Textbook formulas: reverse KL and cross-entropy between softmax(s) and softmax(t)."""
    pf = np.exp(s - np.log(np.exp(s).sum()))
    pr = np.exp(t - np.log(np.exp(t).sum()))
    return float(np.sum(pf * np.log(pf / pr))), float(-np.sum(pr * np.log(pf)))


@settings(max_examples=30)
@given(st.integers(2, 5), st.integers(1, 3), st.integers(0, 10**6))
def test_k_sample_loss_matches_textbook_formulas(n, d, seed):
    rng = np.random.default_rng(seed)
    phi, r, th = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
    ref = rng.dirichlet(np.ones(n))
    Y = rng.integers(0, n, size=(4, 3))
    cls = LogLinearPolicy(phi, ref)
    g = np.log(cls.probs(th)) - np.log(ref)
    exo = k_sample_loss(th, Y, r, phi, ref, beta_r=0.7, beta_pi=1.3, method="exo")
    dpo = k_sample_loss(th, Y, r, phi, ref, beta_r=0.7, beta_pi=1.3, method="dpo")
    for i, y in enumerate(Y):
        e, c = _direct_losses(1.3 * g[y], r[y] / 0.7)
        assert abs(exo[i] - e) < 1e-10 and abs(dpo[i] - c) < 1e-10


def test_k_sample_gradient_matches_finite_differences():
    from prefrl.restricted._k_sample import _k_sample_value_and_grad

    rng = np.random.default_rng(0)
    phi, r, th = rng.normal(size=(5, 2)), rng.normal(size=5), rng.normal(size=2)
    ref = rng.dirichlet(np.ones(5))
    cls = LogLinearPolicy(phi, ref)
    Y = rng.integers(0, 5, size=(7, 4))
    for method in ("exo", "dpo"):
        _, g = _k_sample_value_and_grad(cls, th, Y, r, 0.8, 1.5, method)
        e = 1e-6
        for i in range(2):
            up = _k_sample_value_and_grad(cls, th + e * np.eye(2)[i], Y, r, 0.8, 1.5, method)[0]
            dn = _k_sample_value_and_grad(cls, th - e * np.eye(2)[i], Y, r, 0.8, 1.5, method)[0]
            assert abs((up.sum() - dn.sum()) / (2 * e) - g[i]) < 1e-6


@settings(max_examples=25)
@given(st.integers(0, 10**6))
def test_exo_equals_dpo_in_unrestricted_class(seed):
    inst = pcr.draw_k_sample(np.random.default_rng(seed))
    assert pcr.exo_equals_dpo_unrestricted(inst) <= 1e-9


def test_exo_and_dpo_minimisers_coincide_by_direct_minimisation():
    from scipy.optimize import minimize

    r, ref = np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.3, 0.2])
    star = gibbs(ref, r, 1.0)
    for method in ("exo", "dpo"):
        res = minimize(lambda t, m=method: k_sample_expected_loss(t, r, np.eye(3), ref, K=3,
                                                                 method=m),
                       np.zeros(3), method="BFGS", options={"gtol": 1e-10})
        np.testing.assert_allclose(LogLinearPolicy(np.eye(3), ref).probs(res.x), star, atol=1e-5)


@settings(max_examples=10)
@given(st.integers(0, 10**6))
def test_k_sample_limits_monte_carlo(seed):
    inst = pcr.draw_limit(np.random.default_rng(seed))
    assert pcr.k_sample_limits(inst) == 0.0


def test_k_sample_limit_check_can_fail():
    # Swapping the two limits must be caught by the Monte Carlo check.
    inst = {"reward": np.array([1.5, 0.0, -1.0]), "features": np.array([[1.0], [0.0], [1.0]]),
            "theta": np.array([1.0]), "seed": 0}
    orig = pcr.k_sample_limit
    try:
        pcr.k_sample_limit = lambda *a, method, **k: orig(
            *a, method="dpo" if method == "exo" else "exo", **k)
        assert pcr.k_sample_limits(inst) > 0.01
    finally:
        pcr.k_sample_limit = orig


def test_trained_k_sample_fits_in_full_class_reach_target():
    r, ref = np.array([1.0, 0.0, -1.0]), np.array([0.4, 0.3, 0.3])
    star = gibbs(ref, r, 1.0)
    for method in ("exo", "dpo"):
        res = train_k_sample(r, np.eye(3), ref, K=4, method=method, n_steps=800, batch=32,
                             rng=1)
        assert np.max(np.abs(res.policy - star)) < 0.03
        assert k_sample_limit(res.theta, r, np.eye(3), ref, method=method) < 0.01 + (
            0 if method == "exo" else k_sample_limit(np.log(star / ref), r, np.eye(3), ref,
                                                     method="dpo"))


# ---------------------------------------------------------------------------------------------
# r -> Q*


@st.composite
def trees(draw):
    V = draw(st.integers(1, 3))
    H = draw(st.integers(1, 3))
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)
    R = draw(arrays(np.float64, V**H, elements=st.sampled_from([0.0, 1.0]) | st.floats(-3, 3)))
    w = draw(arrays(np.float64, (S, V), elements=st.floats(0.01, 1.0)))
    beta = draw(st.sampled_from([0.1, 0.5, 1.0, 5.0]))
    return V, H, R, w / w.sum(axis=1, keepdims=True), beta


@settings(max_examples=30)
@given(trees())
def test_q_star_telescoping_on_hypothesis_trees(tree):
    V, H, R, ref, beta = tree
    a = token_tree_credit(V, H, R, ref, beta)
    assert a.soft_bellman_error <= 1e-10
    assert a.telescope_error <= 1e-10
    assert a.closed_form_error <= 1e-10
    assert a.mean_identity_error <= 1e-10
    assert a.max_node_mean_implicit_reward <= 1e-12
    dpo = sequence_dpo_token_policy(V, H, R, ref, beta)
    assert np.max(np.abs(dpo.policy - a.policy)) / dpo.tolerance <= 1.0


# ---------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: forward_kl_projection([0.5, 0.6], np.eye(2)), "target"),
        (lambda: forward_kl_projection([0.5, 0.5], np.eye(3)), "target"),
        (lambda: forward_kl_projection([0.5, 0.5], [1.0, 2.0]), "features"),
        (lambda: forward_kl_projection([0.5, 0.5], np.eye(2), [1.0, 0.0]), "target"),
        (lambda: reverse_kl_projection([1.0, 0.0], np.eye(2)), "target"),
        (lambda: reverse_kl_projection([0.5, 0.5], np.eye(2), n_starts=0), "n_starts"),
        (lambda: linear_bt_mle([[0.5, 0.9], [0.3, 0.5]], [0.5, 0.5], np.eye(2)), "P"),
        (lambda: linear_bt_mle_dataset([0, 3], [1, 0], np.eye(2)), "winners"),
        (lambda: dpo_restricted(bt(np.zeros(2)), [0.5, 0.5], np.eye(2), None, 0.0), "beta"),
        (lambda: rlhf_restricted(bt(np.zeros(2)), [0.5, 0.5], np.eye(3), np.eye(2), None, 1.0),
         "reward_features"),
        (lambda: k_sample_loss([0.0, 0.0], [[0, 5]], [0.0, 0.0], np.eye(2)), "samples"),
        (lambda: k_sample_loss([0.0, 0.0], [[0, 1]], [0.0, 0.0], np.eye(2), method="ipo"),
         "method"),
        (lambda: train_k_sample([0.0, 0.0], np.eye(2), K=1, rng=0), "K"),
        (lambda: online_dpo([0.0, 0.0], np.eye(2), None, 1.0, n_rounds=0, rng=0), "rounds"),
        (lambda: k_sample_expected_loss([0.0] * 5, [0.0] * 5, np.eye(5), K=9), "max_tuples"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# the reorganisation: renamed keywords, the rng rule, results, one home


def _bimodal():
    y = np.arange(9.0)
    target = 0.6 * np.exp(-(y - 2) ** 2) + 0.4 * np.exp(-(y - 6) ** 2)
    return target / target.sum(), np.c_[y, y**2]


def test_reference_keyword_still_works_and_warns():
    target, phi = _bimodal()
    ref = np.linspace(1.0, 2.0, 9) / np.linspace(1.0, 2.0, 9).sum()
    new = forward_kl_projection(target, phi, pi_ref=ref)
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated, use 'pi_ref'"):
        old = forward_kl_projection(target, phi, reference=ref)
    np.testing.assert_array_equal(new.theta, old.theta)
    with pytest.raises(TypeError, match="both"):
        forward_kl_projection(target, phi, pi_ref=ref, reference=ref)


def test_random_starts_need_an_rng():
    target, phi = _bimodal()
    with pytest.warns(DeprecationWarning, match="reverse_kl_projection.*pass rng"):
        old = reverse_kl_projection(target, phi)
    np.testing.assert_array_equal(old.theta, reverse_kl_projection(target, phi, rng=0).theta)
    r = np.array([0.0, 0.0, -2.0])
    args = (bt(r), np.full(3, 1 / 3), np.eye(3), np.array([[1.0], [-1.0], [0.0]]), None, 0.1)
    with pytest.warns(DeprecationWarning, match="rlhf_restricted.*pass rng"):
        old = rlhf_restricted(*args)
    np.testing.assert_array_equal(old.theta, rlhf_restricted(*args, rng=0).theta)
    # no random start, no rng needed: two generic starts, or a target inside the class
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reverse_kl_projection(target, phi, n_starts=2)
        reverse_kl_projection(gibbs(np.full(9, 1 / 9), np.arange(9.0), 1.0), phi)


def test_train_k_sample_renamed_keywords_and_rng():
    r, ref = np.array([1.0, 0.0, -1.0]), np.array([0.4, 0.3, 0.3])
    new = train_k_sample(r, np.eye(3), ref, K=2, n_steps=20, rng=3, init=[0.1, 0.0, 0.0])
    with pytest.warns(DeprecationWarning) as record:
        old = train_k_sample(r, np.eye(3), reference=ref, K=2, steps=20, rng=3,
                             theta0=[0.1, 0.0, 0.0])
    assert len(record) == 3
    np.testing.assert_array_equal(new.theta, old.theta)
    with pytest.warns(DeprecationWarning, match="train_k_sample.*pass rng"):
        unseeded = train_k_sample(r, np.eye(3), ref, K=2, n_steps=20)
    np.testing.assert_array_equal(unseeded.theta,
                                  train_k_sample(r, np.eye(3), ref, K=2, n_steps=20, rng=0).theta)


def test_train_k_sample_is_adam_on_the_k_sample_gradient():
    # The loop written out by hand (Adam with bias correction, Polyak average of the second half).
    from prefrl.restricted import k_sample_value_and_grad

    rng = np.random.default_rng(1)
    phi, r, ref = rng.normal(size=(4, 2)), rng.normal(size=4), np.array([0.1, 0.2, 0.3, 0.4])
    res = train_k_sample(r, phi, ref, K=3, method="exo", n_steps=30, batch=5, lr=0.1, rng=7)
    gen, theta = np.random.default_rng(7), np.zeros(2)
    m1, m2, avg = np.zeros(2), np.zeros(2), []
    for t in range(1, 31):
        Y = gen.choice(4, size=(5, 3), p=ref)
        _, g = k_sample_value_and_grad(theta, Y, r, phi, ref, method="exo")
        g = g / 5
        m1, m2 = 0.9 * m1 + 0.1 * g, 0.999 * m2 + (1 - 0.999) * g * g
        theta = theta - 0.1 * (m1 / (1 - 0.9**t)) / (np.sqrt(m2 / (1 - 0.999**t)) + 1e-8)
        if t > 15:
            avg.append(theta)
    np.testing.assert_allclose(res.theta, np.mean(avg, axis=0), rtol=1e-12, atol=1e-14)
    assert res.iterations == 30 and res.losses.shape == (30,)


def test_public_k_sample_gradient_matches_finite_differences_and_the_loss():
    from prefrl.restricted import k_sample_value_and_grad

    rng = np.random.default_rng(2)
    phi, r, th = rng.normal(size=(5, 2)), rng.normal(size=5), rng.normal(size=2)
    Y = rng.integers(0, 5, size=(6, 3))
    for method in ("exo", "dpo"):
        values, g = k_sample_value_and_grad(th, Y, r, phi, method=method, beta_pi=1.3)
        np.testing.assert_array_equal(values, k_sample_loss(th, Y, r, phi, method=method,
                                                            beta_pi=1.3))
        for i in range(2):
            e = 1e-6 * np.eye(2)[i]
            fd = (k_sample_loss(th + e, Y, r, phi, method=method, beta_pi=1.3).sum()
                  - k_sample_loss(th - e, Y, r, phi, method=method, beta_pi=1.3).sum()) / 2e-6
            assert abs(fd - g[i]) < 1e-6


def test_restricted_results_are_results():
    from prefrl.restricted import KSampleTraining, ProjectionResult, RestrictedFit
    from prefrl.results import Result

    target, phi = _bimodal()
    proj = forward_kl_projection(target, phi)
    assert isinstance(proj, ProjectionResult) and isinstance(proj, Result)
    assert proj.keys()[:2] == ("policy", "theta") and proj["converged"]
    fit = dpo_restricted(bt(np.array([1.0, 0.0])), [0.5, 0.5], np.eye(2), None, 1.0)
    assert isinstance(fit, RestrictedFit) and isinstance(fit, Result)
    res = train_k_sample([1.0, 0.0], np.eye(2), K=2, n_steps=10, rng=0)
    assert isinstance(res, KSampleTraining) and isinstance(res, Result)
    assert res.converged == (res.certificate <= 1e-8)
