"""prefrl.bradley_terry: the one home of every Bradley-Terry fit, and the Newton it runs on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl import bradley_terry as bt
from prefrl._optim import damped_newton
from prefrl.preferences import bradley_terry


@st.composite
def comparisons(draw, max_k=5, max_n=12):
    K = draw(st.integers(1, max_k))
    n = draw(st.integers(0, max_n))
    w = draw(st.lists(st.integers(0, K - 1), min_size=n, max_size=n))
    lo = draw(st.lists(st.integers(0, K - 1), min_size=n, max_size=n))
    return K, np.array(w, dtype=int), np.array(lo, dtype=int)


@given(comparisons())
@settings(max_examples=40, deadline=None)
def test_counts_and_fits_agree(data):
    K, w, lo = data
    W = bt.comparison_counts(w, lo, K)
    assert W.sum() == w.size
    for i, j in zip(w, lo):
        assert W[i, j] >= 1
    a, b = bt.bt_mle(w, lo, K), bt.bt_mle_counts(W)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    assert a.exists == b.exists and a.iterations == b.iterations


def test_bt_mle_counts_recovers_a_population_reward():
    r = np.array([1.0, 0.0, -0.5])
    fit = bt.bt_mle_counts(bt.population_counts(bradley_terry(r), np.full(3, 1 / 3)))
    np.testing.assert_allclose(fit.rewards, r - r.mean(), atol=1e-9)
    assert fit.converged and fit.certificate < 1e-10


def test_population_counts():
    P = bradley_terry([0.3, 0.0])
    W = bt.population_counts(P, [0.25, 0.75])
    np.testing.assert_allclose(W, [[0.0, 0.1875 * P[0, 1]], [0.1875 * P[1, 0], 0.0]])


@given(st.integers(1, 4), st.integers(1, 8), st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_linear_objective_derivatives(m, n, seed):
    rng = np.random.default_rng(seed)
    D, c, w = rng.normal(size=(n, m)), rng.random(n), rng.normal(size=m)
    f, g, H = bt.linear_bt_objective(D, c, 0.3, w)
    direct = -(c * np.log(1 / (1 + np.exp(-D @ w)))).sum() + 0.15 * w @ w
    assert abs(f - direct) <= 1e-10 * (1 + abs(f))
    eps = 1e-6
    for j in range(m):
        e = np.eye(m)[j] * eps
        fp, gp, _ = bt.linear_bt_objective(D, c, 0.3, w + e)
        fm, gm, _ = bt.linear_bt_objective(D, c, 0.3, w - e)
        assert abs((fp - fm) / (2 * eps) - g[j]) <= 1e-6 * (1 + abs(g[j]))
        np.testing.assert_allclose((gp - gm) / (2 * eps), H[:, j], atol=1e-6)


def test_linear_differences_matches_dataset_fit_and_min_norm():
    psi = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])  # rank one: only w1 + w2 is identified
    w, lo = [1, 2, 2, 0, 1], [0, 1, 0, 1, 2]
    a = bt.linear_bt_mle_dataset(w, lo, psi)
    b = bt.linear_bt_mle_differences(psi[w] - psi[lo])
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-12)
    assert abs(a.weights[0] - a.weights[1]) < 1e-12  # the minimum-norm minimiser
    assert b.rewards is None and a.rewards.shape == (3,)
    assert a.exists and a.converged


def test_separable_differences_have_no_maximiser():
    fit = bt.linear_bt_mle_differences(np.array([[1.0], [2.0]]))
    assert not fit.exists and not fit.converged
    assert bt.linear_bt_mle_differences(np.array([[1.0], [2.0]]), l2=0.1).exists


def test_linear_counts_equals_population_fit():
    r = np.array([0.0, 1.0, 3.0])
    P, mu = bradley_terry(r), np.full(3, 1 / 3)
    a = bt.linear_bt_mle(P, mu, r[:, None])
    b = bt.linear_bt_mle_counts(bt.population_counts(P, mu) * 7.0, r[:, None])
    np.testing.assert_allclose(a.weights, [1.0], atol=1e-9)
    np.testing.assert_allclose(b.weights, [1.0], atol=1e-9)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: bt.comparison_counts([0], [1, 0], 2), "winners and losers"),
        (lambda: bt.comparison_counts([0], [1], 2, weights=[-1.0]), "weights"),
        (lambda: bt.comparison_counts([0], [2], 2), "losers"),
        (lambda: bt.bt_mle_counts([[0.0, -1.0], [0.0, 0.0]]), "W"),
        (lambda: bt.bt_mle_counts(np.zeros((2, 3))), "W"),
        (lambda: bt.bt_mle_counts(np.zeros((2, 2)), l2=-1.0), "l2"),
        (lambda: bt.linear_bt_mle_differences(np.ones((2, 1)), [1.0, -1.0]), "weights"),
        (lambda: bt.linear_bt_mle_differences(np.ones((2, 1)), l2=[-1.0]), "l2"),
        (lambda: bt.linear_bt_mle_differences(np.ones((2, 1)), tol=0.0), "tol"),
        (lambda: bt.linear_bt_mle_counts(np.ones((3, 3)), np.ones((2, 1))), "W"),
        (lambda: bt.linear_bt_objective(np.ones((2, 1)), np.ones(3), 0.0, np.ones(1)), "weights"),
        (lambda: bt.population_counts([[0.5, 0.5], [0.5, 0.5]], [1.0]), "mu"),
    ],
)
def test_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ----------------------------------------------------------------------------------------------
# The damped Newton method
# ----------------------------------------------------------------------------------------------


def test_newton_rank_deficient_quadratic_ends_at_min_norm():
    A = np.array([[1.0, 1.0], [1.0, 1.0]])  # singular: only x1 + x2 matters
    b = np.array([2.0, 2.0])
    res = damped_newton(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b, A), np.zeros(2))
    np.testing.assert_allclose(res.x, [1.0, 1.0])
    assert res.converged and res.certificate < 1e-12


def test_newton_shifted_solve_and_line_search():
    # f(x) = log(1 + e^x) + log(1 + e^-x) - x/2: convex, minimum where sigma(x) - sigma(-x) = 1/2.
    def fgh(x):
        s = 1 / (1 + np.exp(-x[0]))
        return (float(np.log1p(np.exp(x[0])) + np.log1p(np.exp(-x[0])) - x[0] / 2),
                np.array([2 * s - 1 - 0.5]), np.array([[2 * s * (1 - s)]]))

    for solver in ("lstsq", "solve"):
        res = damped_newton(fgh, [5.0], linear_solver=solver)
        assert res.converged
        np.testing.assert_allclose(res.x, [np.log(3.0)], atol=1e-10)


def test_newton_reports_non_convergence():
    res = damped_newton(lambda x: (float(np.exp(-x[0])), -np.exp(-x), np.exp(-x)[:, None]),
                        [0.0], max_iter=3)
    assert not res.converged and res.iterations == 3


@pytest.mark.parametrize("kw", [{"linear_solver": "cg"}, {"on_failed_search": "retry"}])
def test_newton_bad_options(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        damped_newton(lambda x: (0.0, x, np.eye(1)), [0.0], **kw)
