"""prefrl.active: design identities, the pair-selection rules, the learning loop, its validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from prefrl.active import (
    RULES,
    acquisition_scores,
    active_learning_run,
    all_pairs,
    confidence_widths,
    fisher_information,
    fisher_weights,
    identifiable_error,
    kl_regret,
    label_entropy,
    logdet_increments,
    pair_differences,
    random_linear_bt_instance,
    select_pair,
)
from prefrl.online import pilaf_pair_distribution
from prefrl.policies import gibbs
from prefrl.proofs_check import active as checks
from prefrl.registry import run_theorem

seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------ the identities (hypothesis)


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_determinant_lemma(seed):
    inst = checks.draw_design(np.random.default_rng(seed))
    assert checks.determinant_lemma_increment(inst) <= 1e-7


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_pair_fisher_information_is_the_hessian(seed):
    assert checks.pair_fisher_information(checks.draw_pair(np.random.default_rng(seed))) <= 1e-5


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_greedy_d_optimal_is_logdet_argmax(seed):
    inst = checks.draw_pool(np.random.default_rng(seed))
    assert checks.greedy_d_optimal_is_logdet_argmax(inst) <= 1e-9


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_label_entropy_formula(seed):
    assert checks.label_entropy_formula(checks.draw_margins(np.random.default_rng(seed))) <= 1e-12


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=6), st.floats(-3, 3))
def test_entropy_and_weights_are_even_and_bounded(z, scale):
    X = np.array(z)[:, None]
    th = np.array([scale])
    h, w = label_entropy(X, th), fisher_weights(X, th)
    np.testing.assert_allclose(h, label_entropy(-X, th), rtol=1e-12, atol=0)
    assert np.all(h <= np.log(2) + 1e-15) and np.all(h >= 0)
    z = X[:, 0] * scale
    np.testing.assert_allclose(w, expit(z) * expit(-z), rtol=1e-9, atol=1e-300)  # p (1 - p)


def test_fisher_information_is_the_weighted_sum():
    rng = np.random.default_rng(0)
    X, th = rng.normal(size=(7, 3)), rng.normal(size=3)
    w = fisher_weights(X, th)
    direct = 0.3 * np.eye(3) + sum(wk * np.outer(x, x) for wk, x in zip(w, X))
    np.testing.assert_allclose(fisher_information(X, th, 0.3), direct, rtol=1e-12)
    np.testing.assert_allclose(fisher_information(np.zeros((0, 3)), th, 2.0), 2 * np.eye(3))
    # the width and the unit-weight log-det gain are the same number
    A = direct
    np.testing.assert_allclose(
        logdet_increments(A, X), np.log1p(confidence_widths(A, X) ** 2), rtol=1e-12
    )


def test_fisher_information_is_the_score_covariance_monte_carlo():
    rng = np.random.default_rng(1)
    x, th = np.array([1.0, -0.5]), np.array([0.8, 0.3])
    p = expit(x @ th)
    labels = rng.random(200_000) < p
    score = np.where(labels, 1 - p, -p)[:, None] * x  # gradient of the log-likelihood
    empirical = score.T @ score / labels.size
    closed = fisher_weights(x[None], th)[0] * np.outer(x, x)
    np.testing.assert_allclose(empirical, closed, atol=5e-3)


def test_pairs_and_differences():
    assert all_pairs(4).shape == (6, 2)
    np.testing.assert_array_equal(pair_differences(np.eye(2), [[1, 0]]), [[-1.0, 1.0]])


# ------------------------------------------------------------------ the rules


def _state(seed=0, K=6, d=3, t=4):
    rng = np.random.default_rng(seed)
    phi, theta = random_linear_bt_instance(rng, K, d)
    return phi, theta, rng.normal(size=(t, d))


def test_entropy_picks_the_smallest_margin_and_certainty_the_largest():
    phi, theta, L = _state()
    X = pair_differences(phi, all_pairs(6))
    m = np.abs(X @ theta)
    assert select_pair("entropy", phi, None, theta, L) == int(np.argmin(m))
    assert select_pair("certainty", phi, None, theta, L) == int(np.argmax(m))


def test_dpo_certainty_is_the_unweighted_width():
    phi, theta, L = _state(1)
    X = pair_differences(phi, all_pairs(6))
    G = np.eye(3) + L.T @ L
    assert select_pair("dpo_certainty", phi, None, theta, L) == int(
        np.argmax(confidence_widths(G, X))
    )


def test_optimistic_pair_contains_the_optimistic_best_response():
    phi, theta, L = _state(2)
    pool = all_pairs(6)
    s = acquisition_scores("optimistic", phi, pool, theta, L, exploration=2.0)
    finite = pool[np.isfinite(s)]
    common = set(finite[0]).intersection(*map(set, finite))
    assert len(common) == 1 and len(finite) == 5
    # with no exploration the optimistic response is the greedy one
    s0 = acquisition_scores("optimistic", phi, pool, theta, L, exploration=0.0)
    assert int(np.argmax(phi @ theta)) in set(pool[np.isfinite(s0)].ravel())


def test_pilaf_scores_are_the_pilaf_law_on_the_pool():
    phi, theta, L = _state(3)
    pool = all_pairs(6)[[0, 3, 7, 10]]
    q = acquisition_scores("pilaf", phi, pool, theta, L, beta=0.5)
    ref = np.full(6, 1 / 6)
    mu = pilaf_pair_distribution(gibbs(ref, phi @ theta, 0.5), ref, 0.5)
    direct = mu[pool[:, 0], pool[:, 1]] + mu[pool[:, 1], pool[:, 0]]
    np.testing.assert_allclose(q, direct / direct.sum(), rtol=1e-12)
    counts = (
        np.bincount(
            [
                select_pair(
                    "pilaf", phi, pool, theta, L, rng=np.random.default_rng([5, i]), beta=0.5
                )
                for i in range(4000)
            ],
            minlength=4,
        )
        / 4000
    )
    np.testing.assert_allclose(counts, q, atol=0.03)


def test_sampling_rules_need_an_rng():
    phi, theta, L = _state()
    for rule in ("random", "pilaf"):
        with pytest.raises(ValueError, match="rng"):
            select_pair(rule, phi, None, theta, L)


# ------------------------------------------------------------------ the loop and its metrics


def test_metrics_ignore_the_unidentified_direction():
    phi = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -2.0]])
    star = np.array([0.3, 1.0])
    moved = star + np.array([7.0, 0.0])
    assert identifiable_error(moved, star, phi) == pytest.approx(0.0, abs=1e-12)
    assert kl_regret(moved, star, phi, beta=0.5) == pytest.approx(0.0, abs=1e-12)
    assert kl_regret(np.zeros(2), star, phi, beta=0.5) > 0
    batch = kl_regret(np.stack([moved, np.zeros(2)]), star, phi, beta=0.5)
    assert batch.shape == (2,) and batch[1] == pytest.approx(kl_regret([0, 0], star, phi, 0.5))


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_runs_and_learns(rule):
    phi, theta = random_linear_bt_instance(0, 8, 2, 2.0)
    res = active_learning_run(rule, phi, theta, 30, rng=3)
    assert res.errors.shape == res.regrets.shape == (31,) and res.converged
    assert np.all(res.regrets >= -1e-12)
    assert res.errors[-1] < res.errors[0]
    again = active_learning_run(rule, phi, theta, 30, rng=3)
    np.testing.assert_array_equal(res.chosen, again.chosen)


def test_labels_follow_bradley_terry_monte_carlo():
    phi, theta = random_linear_bt_instance(4, 5, 2, 2.0)
    res = active_learning_run("random", phi, theta, 3000, rng=0, batch_size=1000)
    X = pair_differences(phi, res.pairs)[res.chosen]
    p = expit(X @ theta)
    assert abs(res.first_preferred.mean() - p.mean()) < 4 * np.sqrt((p * (1 - p)).sum()) / 3000


def test_batches_do_not_repeat_a_pair_and_record_each_refit():
    phi, theta = random_linear_bt_instance(1, 6, 3)
    res = active_learning_run("entropy", phi, theta, 12, rng=0, batch_size=5)
    np.testing.assert_array_equal(res.n_labels, [0, 5, 10, 12])
    assert len(set(res.chosen[:5])) == 5 and res.iterations == 3


def test_float32_agrees():
    phi, theta, L = _state()
    a = acquisition_scores("d_optimal", phi, None, theta, L)
    b = acquisition_scores(
        "d_optimal", phi.astype(np.float32), None, theta.astype(np.float32), L.astype(np.float32)
    )
    np.testing.assert_allclose(a, b, rtol=1e-4)
    e = kl_regret(theta.astype(np.float32) * 0.5, theta, phi.astype(np.float32), 1.0)
    assert e == pytest.approx(kl_regret(theta * 0.5, theta, phi, 1.0), rel=1e-4)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda p, t, L: select_pair("greedy", p, None, t, L), ValueError, "rule"),
        (lambda p, t, L: select_pair(3, p, None, t, L), TypeError, "rule"),
        (lambda p, t, L: select_pair("entropy", p, [[0, 0]], t, L), ValueError, "pairs"),
        (lambda p, t, L: select_pair("entropy", p, [[0, 9]], t, L), ValueError, "pairs"),
        (lambda p, t, L: select_pair("entropy", p, None, t * np.nan, L), ValueError, "theta"),
        (lambda p, t, L: select_pair("d_optimal", p, None, t, L, l2=0.0), ValueError, "l2"),
        (lambda p, t, L: select_pair("d_optimal", p, None, t, L, l2=True), TypeError, "l2"),
        (lambda p, t, L: select_pair("d_optimal", p, None, t, L[:, :2]), ValueError, "labelled"),
        (lambda p, t, L: active_learning_run("random", p, t, 0, rng=0), ValueError, "n_queries"),
        (lambda p, t, L: active_learning_run("random", p, t, 5, rng=None), ValueError, "rng"),
        (
            lambda p, t, L: active_learning_run("random", p, t, 5, rng=0, batch_size=0),
            ValueError,
            "batch_size",
        ),
        (lambda p, t, L: logdet_increments(-np.eye(3), L), ValueError, "A"),
        (lambda p, t, L: logdet_increments(np.eye(3), L, -np.ones(4)), ValueError, "weights"),
        (lambda p, t, L: kl_regret(t, t, p, beta=-1.0), ValueError, "beta"),
        (lambda p, t, L: identifiable_error(t[:2], t, p), ValueError, "theta_hat"),
    ],
)
def test_bad_inputs_name_the_argument(call, exc, name):
    phi, theta, L = _state()
    with pytest.raises(exc, match=name):
        call(phi, theta, L)


def test_theorem_checks_hold():
    for name in (
        "determinant_lemma_increment",
        "pair_fisher_information",
        "greedy_d_optimal_is_logdet_argmax",
        "label_entropy_formula",
    ):
        assert run_theorem(f"active.{name}", n_instances=30, seed=7).holds, name
