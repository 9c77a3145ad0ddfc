"""P2R (Wang, Liu and Jin 2023): the preference-to-reward oracle of prefrl.reward_learning.

Exact mode: answers within epsilon0, at most rank{x(tau)} queries, invariance to a constant shift,
the closed-form interval of {|theta| <= B, X theta = y}. Sampled mode: the dual interval equals the
exact one (a second-order cone program solved by cvxpy), answers within epsilon0 with high
frequency (a seeded statistical test), queries flatten. Input validation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl.proofs_check.p2r import (
    constant_shift_invariance,
    draw_p2r_instance,
    exact_answers_within_epsilon0,
    exact_queries_at_most_rank,
    logistic_inversion_exact,
)
from prefrl.reward_learning import P2ROracle, P2RStats, inverse_link, link_function

_feature_entries = st.one_of(st.sampled_from([0.0, 1.0, 2.0, -1.0]), st.floats(-2.0, 2.0))


@st.composite
def p2r_instances(draw):
    """Features (N <= 8, d <= 4; copies, zero rows, d = 1), a reference, B, theta* with
    |theta*| <= B (0 or on the boundary sometimes), epsilon0, a request sequence and a shift."""
    d = draw(st.integers(1, 4))
    N = draw(st.integers(1, 8))
    phi = draw(hnp.arrays(np.float64, (N, d), elements=_feature_entries))
    for i in range(1, N):
        kind = draw(st.sampled_from(["keep", "keep", "keep", "copy", "zero"]))
        if kind == "copy":
            phi[i] = phi[draw(st.integers(0, i - 1))]
        elif kind == "zero":
            phi[i] = 0.0
    ref = draw(st.integers(0, N - 1))
    xmax = float(np.linalg.norm(phi - phi[ref], axis=1).max())
    B = (8.0 / xmax if xmax > 0 else 1.0) * draw(st.sampled_from([1.0, 0.5, 0.1]))
    direction = draw(hnp.arrays(np.float64, d, elements=st.floats(-1.0, 1.0)))
    scale = draw(st.sampled_from([0.0, 1.0, 0.5, 0.9999]))
    nrm = float(np.linalg.norm(direction))
    theta = direction * (B * scale / nrm) if nrm > 0 else np.zeros(d)
    eps0 = draw(st.sampled_from([1e-3, 0.05, 0.5]))
    calls = np.array(draw(st.lists(st.integers(0, N - 1), min_size=1, max_size=30)))
    shift = draw(st.sampled_from([-5.0, 0.0, 3.0, 100.0]))
    return {"features": phi, "ref": ref, "bound": B, "theta": theta, "epsilon0": eps0,
            "calls": calls, "shift": shift}


# ---------------------------------------------------------------------------------------------
# Exact mode
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(p2r_instances())
def test_exact_answers_within_epsilon0(inst):
    assert exact_answers_within_epsilon0(inst) <= 1e-7


@settings(max_examples=60)
@given(p2r_instances())
def test_exact_queries_at_most_rank(inst):
    assert exact_queries_at_most_rank(inst) == 0


@settings(max_examples=40)
@given(p2r_instances())
def test_constant_shift_invariance(inst):
    assert constant_shift_invariance(inst) <= 1e-9


@given(st.one_of(st.floats(-8.0, 8.0), st.sampled_from([0.0, 5e-324, -1e-300, 8.0, -8.0])))
def test_logistic_inversion_exact(z):
    assert logistic_inversion_exact(z) <= 1e-11


@given(st.floats(-4.0, 4.0))
def test_probit_inversion(z):
    # Phi'(4) ~ 1.3e-4: the rounding of Phi(z) (<= 1.2e-16) costs at most ~1e-12 in z
    assert abs(float(inverse_link(link_function(z, "probit"), "probit")) - z) <= 1e-11


def test_theorem_draws_run():
    rng = np.random.default_rng(0)
    for _ in range(20):
        inst = draw_p2r_instance(rng)
        assert exact_answers_within_epsilon0(inst) <= 1e-7
        assert exact_queries_at_most_rank(inst) == 0


@settings(max_examples=40)
@given(p2r_instances(), st.data())
def test_exact_interval_is_the_confidence_set(inst, data):
    """Closed-form interval == {<theta, x> : |theta| <= B, X theta = y}: its ends are attained by
    members of the set, and members drawn from the set stay inside."""
    o = P2ROracle(inst["features"], inst["ref"], epsilon0=inst["epsilon0"], bound=inst["bound"],
                  exact=True, true_theta=inst["theta"])
    for i in inst["calls"]:
        o.reward(int(i))
    X = np.array(o._X).reshape(-1, o.diffs.shape[1])
    y = np.array(o._y)
    theta0 = np.linalg.pinv(X) @ y if X.shape[0] else np.zeros(o.diffs.shape[1])
    null = np.eye(X.shape[1]) - np.linalg.pinv(X) @ X if X.shape[0] else np.eye(X.shape[1])
    rho = np.sqrt(max(inst["bound"] ** 2 - theta0 @ theta0, 0.0))
    k = data.draw(st.integers(0, o.diffs.shape[0] - 1))
    x = o.diffs[k]
    lo, hi = o.interval(k)
    perp = null @ x
    npp = np.linalg.norm(perp)
    scale = 1.0 + inst["bound"] * np.linalg.norm(x)
    if npp > 1e-12 * max(np.linalg.norm(x), 1e-300):
        for sgn, end in ((1, hi), (-1, lo)):
            theta = theta0 + sgn * rho * perp / npp
            assert np.linalg.norm(theta) <= inst["bound"] * (1 + 1e-9)
            if X.shape[0]:
                assert np.allclose(X @ theta, y, atol=1e-9 * scale)
            assert abs(theta @ x - end) <= 1e-9 * scale
    else:
        assert abs(hi - lo) <= 1e-9 * scale
    z = data.draw(hnp.arrays(np.float64, x.size, elements=st.floats(-1.0, 1.0)))
    z = null @ z
    if np.linalg.norm(z) > 1e-9:  # else rounding noise, no direction
        theta = theta0 + rho * data.draw(st.floats(0.0, 1.0)) * z / np.linalg.norm(z)
        assert lo - 1e-9 * scale <= theta @ x <= hi + 1e-9 * scale
    # the truth is in the set, hence in every interval
    assert lo - 1e-9 * scale <= inst["theta"] @ x <= hi + 1e-9 * scale


def test_bandit_example_counts():
    o = P2ROracle(np.eye(4), 2, epsilon0=0.01, bound=3.0, exact=True,
                  true_theta=[0.5, -1.0, 0.0, 2.0])
    ans = o.rewards([0, 1, 2, 3] * 25)
    assert np.allclose(ans, np.tile([0.5, -1.0, 0.0, 2.0], 25), atol=1e-12)
    st_ = o.stats
    assert isinstance(st_, P2RStats)
    assert (st_.n_calls, st_.n_queries, st_.n_comparisons) == (100, 3, 3)
    assert st_.queried == (0, 1, 3) and st_.radius == 0.0 and st_.consistent


def test_no_query_when_width_small():
    # |theta| <= 0.01 and |x| = 1: the width 0.02 <= 2 epsilon0 without any query
    o = P2ROracle([[0.0], [1.0]], 0, epsilon0=0.01, bound=0.01, exact=True, true_theta=[0.005])
    assert abs(o.reward(1) - 0.005) <= 0.01
    assert o.stats.n_queries == 0


def test_comparison_fn_exact_mode_and_d1_zero_features():
    o = P2ROracle(np.zeros((3, 1)), 1, epsilon0=0.1, bound=1.0, exact=True,
                  comparison_fn=lambda i: 0.5)
    assert o.rewards([0, 1, 2]).tolist() == [0.0, 0.0, 0.0]
    assert o.stats.n_queries == 0
    o = P2ROracle([[0.0], [2.0]], 0, epsilon0=0.1, bound=1.0, exact=True,
                  comparison_fn=lambda i: float(link_function(2.0 * 0.3)))
    assert abs(o.reward(1) - 0.6) <= 1e-12 and o.stats.n_queries == 1


# ---------------------------------------------------------------------------------------------
# Sampled mode
# ---------------------------------------------------------------------------------------------


def _socp_interval(o, k):
    cp = pytest.importorskip("cvxpy")
    X, y = np.array(o._X), np.array(o._y)
    t = cp.Variable(o.diffs.shape[1])
    cons = [cp.norm(t) <= o.bound, cp.sum_squares(X @ t - y) <= o.radius]
    x = o.diffs[k]
    hi = cp.Problem(cp.Maximize(x @ t), cons).solve(solver=cp.CLARABEL)
    lo = cp.Problem(cp.Minimize(x @ t), cons).solve(solver=cp.CLARABEL)
    return lo, hi


@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_interval_matches_socp(seed):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(6, 3))
    theta = rng.normal(size=3)
    theta *= 1.2 / np.linalg.norm(theta)
    o = P2ROracle(phi, 0, epsilon0=0.2, bound=1.5, n_comparisons_per_query=3000,
                  true_theta=theta, rng=seed)
    for i in (1, 2, 3):
        o.reward(i)
    assert o.stats.n_queries >= 1
    for k in range(6):
        lo, hi = o.interval(k)
        slo, shi = _socp_interval(o, k)
        # every aggregated ellipsoid contains the set: never narrower (up to the solver) ...
        assert lo <= slo + 1e-6 and hi >= shi - 1e-6
        # ... and the best one is tight (strong duality), to the grid's resolution
        assert hi - lo <= (shi - slo) + 1e-4 * (1 + abs(shi - slo))


def test_sampled_answers_within_epsilon0_with_high_frequency():
    """The set contains theta* with probability >= 1 - delta (Hoeffding + union bound), and then
    every answer is within epsilon0. Over 20 seeded runs with delta = 0.05 the expected number of
    failing runs is <= 1; we allow 5 (P[Binomial(20, 0.05) >= 6] ~ 2e-4 if the bound held with
    equality; in fact it is loose and no run fails)."""
    K = 5
    theta = np.array([0.0, 0.4, -0.3, 0.8, 0.1])
    failures, answers, bad = 0, 0, 0
    for seed in range(20):
        o = P2ROracle(np.eye(K), 0, epsilon0=0.1, bound=1.0, n_comparisons_per_query=200_000,
                      true_theta=theta, rng=seed, delta=0.05)
        calls = np.random.default_rng([seed, 1]).integers(0, K, 60)
        err = np.abs(o.rewards(calls) - theta[calls])
        failures += bool(err.max() > 0.1)
        answers += err.size
        bad += int((err > 0.1).sum())
        assert o.stats.n_queries <= 2 * (K - 1)   # queries flatten: 60 requests, few queries
        assert o.stats.n_comparisons == 200_000 * o.stats.n_queries
    assert failures <= 5
    assert bad / answers <= 0.05


def test_sampled_query_once_when_radius_small():
    o = P2ROracle(np.eye(3), 0, epsilon0=0.1, bound=1.0, n_comparisons_per_query=10**7,
                  true_theta=[0.0, 0.5, -0.5], rng=3)
    o.reward(1)
    assert o.stats.n_queries == 1 and np.sqrt(o.radius) <= 0.1
    assert o.width(1) <= 2 * np.sqrt(o.radius) + 1e-9
    o.reward(1)
    assert o.stats.n_queries == 1


def test_sampled_comparison_fn_wins():
    rng = np.random.default_rng(0)
    o = P2ROracle([[0.0], [1.0]], 0, epsilon0=0.2, bound=1.0, n_comparisons_per_query=10**6,
                  comparison_fn=lambda i, m: int(rng.binomial(m, link_function(0.3))))
    assert abs(o.reward(1) - 0.3) <= 0.2
    o = P2ROracle([[0.0], [1.0]], 0, epsilon0=0.2, bound=1.0, n_comparisons_per_query=10,
                  comparison_fn=lambda i, m: 11)
    with pytest.raises(ValueError, match="comparison_fn"):
        o.reward(1)


def test_sampled_all_wins_clipped_to_class_range():
    # every comparison won: the frequency 1 is clipped to sigma(B |x|), so y = B |x| stays finite
    o = P2ROracle([[0.0], [1.0]], 0, epsilon0=0.01, bound=2.0, n_comparisons_per_query=5,
                  comparison_fn=lambda i, m: m)
    assert np.isfinite(o.reward(1))
    assert o._y[0] == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"features": [1.0, 2.0]}, "features"),
        ({"reference_index": 5}, "reference_index"),
        ({"epsilon0": 0.0}, "epsilon0"),
        ({"bound": -1.0}, "bound"),
        ({"true_theta": [3.0, 0.0]}, "true_theta"),
        ({"true_theta": [0.1]}, "true_theta"),
        ({"link": "cauchy"}, "link"),
        ({"delta": 1.0}, "delta"),
        ({"exact": False}, "n_comparisons_per_query"),
        ({"exact": False, "n_comparisons_per_query": 0}, "n_comparisons_per_query"),
        ({"comparison_fn": lambda i: 0.5}, "true_theta"),
    ],
)
def test_validation(kwargs, name):
    base = {"features": np.eye(2), "reference_index": 0, "epsilon0": 0.1, "bound": 1.0,
            "exact": True, "true_theta": [0.0, 0.5]}
    base.update(kwargs)
    feats, ref = base.pop("features"), base.pop("reference_index")
    with pytest.raises(ValueError, match=name):
        P2ROracle(feats, ref, **base)


def test_validation_calls_and_links():
    o = P2ROracle(np.eye(2), 0, epsilon0=0.1, bound=1.0, exact=True, true_theta=[0.0, 0.5])
    with pytest.raises(ValueError, match="tau_index"):
        o.reward(2)
    with pytest.raises(ValueError, match="tau_indices"):
        o.rewards([0, 7])
    with pytest.raises(ValueError, match="p"):
        inverse_link([0.5, 1.5])
    with pytest.raises(ValueError, match="link"):
        link_function(0.0, "tanh")
    with pytest.raises(ValueError, match="comparison_fn"):
        P2ROracle(np.eye(2), 0, epsilon0=0.1, bound=1.0, exact=True,
                  comparison_fn=lambda i: 1.5).reward(1)


def test_sampled_confidence_set_covers_truth_with_few_comparisons():
    """Coverage is the statement behind the guarantee: with m = 30 comparisons per query the
    intervals are wide, but theta* stays in the set (every interval contains the truth) in all but
    a delta fraction of runs. 40 seeded runs, delta = 0.05: we allow 6 failures
    (P[Binomial(40, 0.05) >= 7] ~ 0.014 if the bound were tight; it is loose, none fail)."""
    theta = np.array([0.0, 0.7, -0.4, 0.2])
    phi = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0],
                    [0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.5, 0.0, 0.5]])
    truth = phi @ theta
    failures = 0
    for seed in range(40):
        o = P2ROracle(phi, 0, epsilon0=0.05, bound=1.0, n_comparisons_per_query=30,
                      true_theta=theta, rng=seed, delta=0.05)
        o.rewards([1, 2, 3, 4, 5, 1, 2])
        ivs = np.array([o.interval(k) for k in range(phi.shape[0])])
        failures += bool(np.any((truth < ivs[:, 0] - 1e-9) | (truth > ivs[:, 1] + 1e-9))
                         or not o.stats.consistent)
    assert failures <= 6


def test_sampled_radius_formula():
    o = P2ROracle(np.eye(3), 0, epsilon0=1e-3, bound=1.5, n_comparisons_per_query=100,
                  true_theta=[0.0, 1.0, -1.0], rng=0, delta=0.1, link="probit")
    o.rewards([1, 2, 1])
    x_norm = np.sqrt(2.0)
    kappa = np.sqrt(2 * np.pi) * np.exp(0.5 * (1.5 * x_norm) ** 2)  # 1 / Phi'(B |x|)
    t = np.arange(1, o.stats.n_queries + 1)
    expected = float(np.sum(kappa**2 * np.log(2 * t * (t + 1) / 0.1) / 200))
    assert o.stats.n_queries == 3
    assert o.radius == pytest.approx(expected, rel=1e-12)


def test_renamed_names_still_work_and_warn():
    with pytest.warns(DeprecationWarning, match="'m_queries' is deprecated"):
        o = P2ROracle(np.eye(3), 0, epsilon0=1e-3, bound=1.5, m_queries=100,
                      true_theta=[0.0, 1.0, -1.0], rng=0, delta=0.1)
    assert o.n_comparisons_per_query == 100
    o.rewards([1, 2])
    with pytest.warns(DeprecationWarning, match="P2ROracle.beta is deprecated"):
        assert o.beta == o.radius > 0
    with pytest.warns(DeprecationWarning, match="P2ROracle.m is deprecated"):
        assert o.m == 100
    with pytest.warns(DeprecationWarning, match="P2RStats.beta is deprecated"):
        assert o.stats.beta == o.radius
    assert isinstance(o.stats, P2RStats) and o.stats["radius"] == o.radius
