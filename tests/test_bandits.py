"""Tests of prefrl.bandits: exact optima of RLHF, DPO, IPO and PsiPO in bandits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from prefrl.bandits import (
    BanditOptimum,
    bt_mle,
    dpo_dataset_optimum,
    dpo_population_loss,
    dpo_population_optimum,
    ipo_dataset_optimum,
    ipo_optimum,
    ipo_population_loss,
    kl_regularized_optimum,
    psipo_objective,
    psipo_optimum,
    rlhf_optimum,
)
from prefrl.policies import gibbs, regularized_objective, softmax
from prefrl.testing.strategies import distributions, preference_matrices

# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
betas = st.sampled_from([0.05, 0.1, 0.5, 1.0, 3.0])


@st.composite
def datasets(draw, max_k=5, max_n=12):
    K = draw(st.integers(2, max_k))
    n = draw(st.integers(0, max_n))
    w = draw(arrays(np.int64, n, elements=st.integers(0, K - 1)))
    lo = draw(arrays(np.int64, n, elements=st.integers(0, K - 1)))
    return K, w, lo


def _nll(r, w, lo, l2=0.0):
    return -log_expit(r[w] - r[lo]).sum() + 0.5 * l2 * r @ r


def _existence_brute_force(K, w, lo):
    """Zermelo/Ford: every split of a connected component has wins in both directions."""
    keep = w != lo
    w, lo = w[keep], lo[keep]
    adj = np.zeros((K, K), bool)
    adj[w, lo] = adj[lo, w] = True
    # connected components by flood fill
    comp = -np.ones(K, int)
    for s in range(K):
        if comp[s] >= 0:
            continue
        stack, comp[s] = [s], s
        while stack:
            u = stack.pop()
            for v in np.flatnonzero(adj[u]):
                if comp[v] < 0:
                    comp[v] = s
                    stack.append(v)
    for c in np.unique(comp):
        members = np.flatnonzero(comp == c)
        for size in range(1, members.size):
            for S in itertools.combinations(members, size):
                inS = np.isin(np.arange(K), S)
                if not (inS[w] & ~inS[lo]).any() or not (~inS[w] & inS[lo] & np.isin(w, members)).any():
                    return False
    return True


# ---------------------------------------------------------------------------------------------
# KL-regularised optimum, PsiPO, IPO
# ---------------------------------------------------------------------------------------------


@given(st.integers(1, 5).flatmap(lambda K: st.tuples(distributions(K), arrays(np.float64, K, elements=finite))), betas)
def test_kl_optimum_beats_other_policies(args, beta):
    pi_ref, r = args
    res = kl_regularized_optimum(pi_ref, r, beta)
    assert isinstance(res, BanditOptimum)
    assert res.certificate < 1e-10
    j = regularized_objective(res.policy, r, pi_ref, beta)
    assert abs(j - res.value) <= 1e-9 * (1 + abs(j))
    for p in np.eye(pi_ref.size)[pi_ref > 0]:
        assert regularized_objective(p, r, pi_ref, beta) <= j + 1e-9


def test_ipo_two_action_closed_form():
    """Section 5.3.1: pi*(y1) = sigmoid(0.5 / tau) exactly."""
    P = [[0.5, 1.0], [0.0, 0.5]]
    for tau in (0.1, 0.5, 1.0, 7.0):
        res = ipo_optimum(P, [0.5, 0.5], [0.5, 0.5], tau)
        np.testing.assert_allclose(res.policy[0], expit(0.5 / tau), rtol=1e-12)


@settings(max_examples=30)
@given(st.integers(2, 4).flatmap(lambda K: st.tuples(preference_matrices(K), distributions(K), distributions(K, zeros=False))), betas, st.sampled_from(["identity", "cube"]))
def test_psipo_optimum_maximises_objective(args, beta, which):
    P, mu, pi_ref = args
    psi = "identity" if which == "identity" else (lambda p: (p - 0.5) ** 3)
    res = psipo_optimum(P, mu, pi_ref, beta, psi=psi)
    assert res.certificate < 1e-10
    j = psipo_objective(res.policy, P, mu, pi_ref, beta, psi=psi)
    assert abs(j - res.value) <= 1e-9 * (1 + abs(j))

    def neg(z):
        return -psipo_objective(softmax(z), P, mu, pi_ref, beta, psi=psi)

    best = minimize(neg, np.zeros(len(mu)), method="BFGS")
    assert -best.fun <= j + 1e-8


def test_psipo_rejects_decreasing_and_unbounded_psi():
    P = [[0.5, 0.8], [0.2, 0.5]]
    with pytest.raises(ValueError, match="non-decreasing"):
        psipo_optimum(P, [0.5, 0.5], [0.5, 0.5], 1.0, psi=lambda p: -p)
    with pytest.raises(ValueError, match="unbounded"):
        psipo_optimum([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], [0.5, 0.5], 1.0, psi="logit")
    with pytest.raises(ValueError, match="psi"):
        psipo_optimum(P, [0.5, 0.5], [0.5, 0.5], 1.0, psi="tanh")


def test_contextual_population_optima_match_per_context():
    P = np.stack([[[0.5, 0.9, 0.3], [0.1, 0.5, 0.6], [0.7, 0.4, 0.5]], np.full((3, 3), 0.5)])
    mu = np.array([[0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    ref = np.array([0.5, 0.25, 0.25])
    for fn in (ipo_optimum, dpo_population_optimum):
        both = fn(P, mu, ref, 0.3)
        assert both.policy.shape == (2, 3)
        for s in range(2):
            np.testing.assert_allclose(both.policy[s], fn(P[s], mu[s], ref, 0.3).policy, rtol=1e-10)
    with pytest.raises(ValueError, match="contexts"):
        ipo_optimum(P, mu[:1].repeat(3, 0), ref, 0.3)


# ---------------------------------------------------------------------------------------------
# Bradley-Terry MLE
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(datasets(), st.sampled_from([0.0, 0.0, 0.5]))
def test_bt_mle_existence_and_optimality(data, l2):
    K, w, lo = data
    fit = bt_mle(w, lo, K, l2=l2)
    expected = l2 > 0 or _existence_brute_force(K, w, lo)
    assert fit.exists == expected
    assert fit.certificate < 1e-8
    if fit.exists:
        # Optimal: no perturbation lowers the penalised likelihood, and BFGS agrees.
        best = minimize(_nll, np.zeros(K), args=(w, lo, l2), method="BFGS", options={"gtol": 1e-10})
        assert fit.value <= best.fun + 1e-8
        assert abs(_nll(fit.rewards, w, lo, l2) - fit.value) < 1e-9
        # minimum-norm convention: zero sum on every component
        for c in np.unique(fit.components):
            assert abs(fit.rewards[fit.components == c].sum()) < 1e-9
    else:
        d = fit.direction
        keep = w != lo
        margins = d[w[keep]] - d[lo[keep]]
        assert margins.min() >= -1e-12 and margins.max() > 0
        vals = [_nll(fit.rewards + t * d, w, lo) for t in (0.0, 10.0, 100.0, 1000.0)]
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(vals))
        assert abs(vals[-1] - fit.value) < 1e-6


def test_bt_mle_known_values_and_errors():
    fit = bt_mle([0, 0, 1], [1, 1, 0], 2)
    np.testing.assert_allclose(fit.rewards, [np.log(2) / 2, -np.log(2) / 2], rtol=1e-12)
    with pytest.raises(ValueError, match="winners"):
        bt_mle([0, 3], [1, 0], 3)
    with pytest.raises(ValueError, match="l2"):
        bt_mle([0], [1], 2, l2=-1.0)
    with pytest.raises(ValueError, match="weights"):
        bt_mle([0], [1], 2, weights=[-1.0])
    with pytest.raises(ValueError, match="same length"):
        bt_mle([0, 1], [1], 2)


# ---------------------------------------------------------------------------------------------
# DPO / RLHF / IPO on datasets
# ---------------------------------------------------------------------------------------------


def _dpo_logit_grad(theta, w, lo, ref, beta):
    """Analytic gradient of the mean DPO loss in the softmax logits (independent cross-check)."""
    K = theta.size
    logp = theta - np.log(np.exp(theta - theta.max()).sum()) - theta.max()
    h = (logp[w] - np.log(ref[w])) - (logp[lo] - np.log(ref[lo]))
    coef = -beta * expit(-beta * h)  # d loss / d h
    E = np.eye(K)
    return (coef[:, None] * (E[w] - E[lo])).mean(axis=0)


@settings(max_examples=40)
@given(datasets(), betas)
def test_dpo_dataset_optimum_is_stationary_or_diverges(data, beta):
    K, w, lo = data
    ref = np.full(K, 1.0 / K)
    res = dpo_dataset_optimum(w, lo, ref, beta)
    same = rlhf_optimum(w, lo, ref, beta)
    np.testing.assert_allclose(res.policy, same.policy, atol=1e-12)
    if w.size == 0:
        np.testing.assert_allclose(res.policy, ref)
        return
    if res.exists:
        g = _dpo_logit_grad(np.log(res.policy), w, lo, ref, beta)
        assert np.max(np.abs(g)) < 1e-9
        # beta * (logit gaps) does not depend on beta
        other = dpo_dataset_optimum(w, lo, ref, 2 * beta)
        np.testing.assert_allclose(
            beta * np.log(res.policy / res.policy[0]),
            2 * beta * np.log(other.policy / other.policy[0]),
            atol=1e-8,
        )
    else:
        # every action that never beats anything but loses gets probability 0
        never = np.setdiff1d(lo[w != lo], w[w != lo])
        assert np.all(res.policy[never] == 0.0)


def test_dpo_never_wins_and_degenerate_d3():
    """Fig. 2 as printed ({(a,b),(b,a)}) leaves c untouched; {(a,c),(b,c)} sends pi(c) to 0."""
    u = np.full(3, 1 / 3)
    for beta in (0.1, 0.5, 1.0):
        printed = dpo_dataset_optimum([0, 1], [1, 0], u, beta)
        np.testing.assert_allclose(printed.policy, u, atol=1e-12)
        assert not printed.unique
        fixed = dpo_dataset_optimum([0, 2 - 1], [2, 2], u, beta)
        assert not fixed.exists and fixed.policy[2] == 0.0
        ipo = ipo_dataset_optimum([0, 1], [2, 2], u, beta)
        np.testing.assert_allclose(ipo.policy, softmax([0.5 / beta, 0.5 / beta, 0.0]), rtol=1e-12)


def test_ipo_dataset_fig1_closed_forms():
    u = np.full(3, 1 / 3)
    for tau in (0.1, 0.5, 1.0):
        d1 = ipo_dataset_optimum([0, 1, 0], [1, 2, 2], u, tau)
        gap = 1.0 / (3.0 * tau)
        np.testing.assert_allclose(d1.policy, softmax([gap, 0.0, -gap]), rtol=1e-12)
        d2 = ipo_dataset_optimum([0, 1, 2], [1, 2, 0], u, tau)
        np.testing.assert_allclose(d2.policy, u, rtol=1e-12)
        assert d1.unique and d2.unique
        assert dpo_dataset_optimum([0, 1, 0], [1, 2, 2], u, tau).policy[0] == 1.0
        np.testing.assert_allclose(dpo_dataset_optimum([0, 1, 2], [1, 2, 0], u, tau).policy, u)


@settings(max_examples=40)
@given(datasets(), betas)
def test_ipo_dataset_optimum_least_squares(data, beta):
    K, w, lo = data
    ref = np.full(K, 1.0 / K)
    res = ipo_dataset_optimum(w, lo, ref, beta)
    g = res.reward / beta
    # zero gradient of sum_k (g_w - g_l - 1/(2 beta))^2
    resid = g[w] - g[lo] - 1 / (2 * beta)
    grad = np.zeros(K)
    np.add.at(grad, w, resid)
    np.add.at(grad, lo, -resid)
    assert np.max(np.abs(grad)) < 1e-8 * (1 + 1 / beta) * max(1, w.size)
    np.testing.assert_allclose(res.policy, gibbs(ref, g, 1.0), rtol=1e-12)
    if w.size:
        assert abs(np.mean(resid**2) - res.value) < 1e-9 * (1 + res.value)
    n_comp = np.unique(res.components).size
    assert res.unique == (n_comp == 1)


def test_rlhf_l2_keeps_reward_finite():
    w, lo = [0, 0, 0], [1, 1, 1]
    for l2 in (0.1, 1.0, 10.0):
        res = rlhf_optimum(w, lo, [0.5, 0.5], 1.0, l2=l2)
        assert res.exists and 0.5 < res.policy[0] < 1.0
        a = res.reward[0]
        # stationarity of 3 log sigma(2a) - l2 a^2
        assert abs(3 * 2 * expit(-2 * a) - 2 * l2 * a) < 1e-9
    assert rlhf_optimum(w, lo, [0.5, 0.5], 1.0).policy[1] == 0.0


def test_contextual_dataset_optima():
    ref = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    w, lo, c = [0, 1, 0, 2, 1], [1, 0, 1, 1, 2], [0, 0, 0, 1, 1]
    both = dpo_dataset_optimum(w, lo, ref, 0.5, contexts=c)
    np.testing.assert_allclose(both.policy[0], dpo_dataset_optimum([0, 1, 0], [1, 0, 1], ref[0], 0.5).policy)
    both = ipo_dataset_optimum(w, lo, ref, 0.5, contexts=c)
    np.testing.assert_allclose(both.policy[1], ipo_dataset_optimum([2, 1], [1, 2], ref[1], 0.5).policy)
    with pytest.raises(ValueError, match="contexts"):
        dpo_dataset_optimum(w, lo, ref, 0.5)


def test_dataset_input_errors():
    with pytest.raises(ValueError, match="pi_ref"):
        dpo_dataset_optimum([0], [2], [0.5, 0.5, 0.0], 1.0)
    with pytest.raises(ValueError, match="beta"):
        ipo_dataset_optimum([0], [1], [0.5, 0.5], 0.0)
    with pytest.raises(ValueError, match="losers"):
        ipo_dataset_optimum([0], [5], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="reward"):
        kl_regularized_optimum([0.5, 0.5], [1.0, 2.0, 3.0], 1.0)


# ---------------------------------------------------------------------------------------------
# Population DPO (Prop. 4) and the IPO losses
# ---------------------------------------------------------------------------------------------


@settings(max_examples=25)
@given(st.integers(2, 4).flatmap(lambda K: st.tuples(preference_matrices(K), distributions(K, zeros=False))), betas)
def test_dpo_population_optimum_minimises_population_loss(args, beta):
    P, mu = args
    ref = np.full(len(mu), 1.0 / len(mu))
    res = dpo_population_optimum(P, mu, ref, beta)
    assume(res.exists and np.all(res.policy > 0))  # extreme P can underflow pi to 0
    loss = dpo_population_loss(res.policy, P, mu, ref, beta)
    assert abs(loss - res.value) < 1e-9
    def loss_of_logits(z):  # in log space, so BFGS can visit extreme logits
        g = z - np.log(ref)
        return -(np.outer(mu, mu) * P * log_expit(beta * (g[:, None] - g[None, :]))).sum()

    assert abs(loss_of_logits(np.log(res.policy)) - loss) < 1e-9
    best = minimize(loss_of_logits, np.zeros(len(mu)), method="BFGS", options={"gtol": 1e-10})
    assert loss <= best.fun + 1e-9


def test_dpo_population_deterministic_preferences():
    """Sec. 4.2: if y beats y' for sure (and y' beats nothing for sure), pi(y') = 0 for every beta."""
    P = np.array([[0.5, 1.0, 0.7], [0.0, 0.5, 0.0], [0.3, 1.0, 0.5]])
    for beta in (0.01, 1.0, 100.0):
        res = dpo_population_optimum(P, [1 / 3] * 3, [1 / 3] * 3, beta)
        assert not res.exists and res.policy[1] == 0.0 and res.policy[0] > 0


def test_ipo_population_loss_minimised_by_ipo_optimum():
    P = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.6], [0.8, 0.4, 0.5]])
    mu, ref = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1])
    star = ipo_optimum(P, mu, ref, 0.4).policy
    assert ipo_population_loss(star, P, mu, ref, 0.4) < 1e-25
    for form in ("eq13", "eq16"):
        base = ipo_population_loss(star, P, mu, ref, 0.4, form=form)
        for z in np.eye(3):
            assert ipo_population_loss(softmax(z), P, mu, ref, 0.4, form=form) > base
    with pytest.raises(ValueError, match="form"):
        ipo_population_loss(star, P, mu, ref, 0.4, form="eq99")


@settings(max_examples=40)
@given(st.integers(1, 5).flatmap(lambda K: st.tuples(preference_matrices(K),
                                                     distributions(K, zeros=True),
                                                     distributions(K, zeros=False),
                                                     distributions(K, zeros=False))), betas)
def test_dpo_population_loss_is_the_mean_of_the_pairwise_dpo_loss(args, beta):
    """The population loss is prefrl.losses.dpo summed over pairs, bitwise the direct formula."""
    from prefrl.losses import dpo

    P, mu, ref, pi = args
    g = np.where(mu > 0, np.log(pi) - np.log(ref), 0.0)
    W = np.outer(mu, mu) * P
    direct = float(-(W * log_expit(beta * (g[:, None] - g[None, :]))).sum())
    assert dpo_population_loss(pi, P, mu, ref, beta) == direct
    i, j = np.nonzero(W > 0)
    per = dpo(np.log(pi[i]), np.log(pi[j]), np.log(ref[i]), np.log(ref[j]), beta=beta)
    assert dpo_population_loss(pi, P, mu, ref, beta) == pytest.approx(W[i, j] @ per, rel=1e-12,
                                                                       abs=1e-300)


def test_contextual_optimum_reports_convergence_of_every_context():
    res = dpo_dataset_optimum([0, 0, 1, 1, 1, 0], [1, 1, 0, 0, 0, 1], [[0.5, 0.5], [0.3, 0.7]],
                              1.0, contexts=[0, 0, 0, 1, 1, 1])
    assert res.converged is True and res.iterations > 0 and res.policy.shape == (2, 2)
    assert ipo_optimum([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], [0.5, 0.5], 1.0).converged is True
