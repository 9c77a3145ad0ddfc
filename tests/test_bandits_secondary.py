"""DRO, PMPO, SimPO, VAS and PAR in prefrl.bandits, and the theorem checks of
proofs_check/dpo_secondary.py on hypothesis-drawn instances (with their power)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax

import prefrl.bandits as B
from prefrl.bandits import (
    dro_optimum,
    dro_population_loss,
    kl_regularized_optimum,
    pmpo_objective,
    pmpo_optimum,
    preference_as_reward,
    simpo_population_loss,
    value_augmented_policy,
)
from prefrl.losses import pmpo, value_and_grad
from prefrl.mdp import TabularMDP
from prefrl.mdp._strategies import mdp_arrays, policies, tabular_mdps
from prefrl.proofs_check import dpo_secondary as checks
from prefrl.registry import run_theorem
from prefrl.testing.strategies import distributions

betas = st.sampled_from([0.1, 0.5, 1.0, 2.0, 5.0])
sizes = st.integers(1, 5)
rewards_el = st.one_of(st.floats(-3, 3), st.sampled_from([-1.0, 0.0, 1.0]))
counts_el = st.one_of(st.sampled_from([0.0, 0.0, 1.0, 2.0]), st.floats(0, 3))


# ----------------------------------------------------------------------------------------------
# strategies
# ----------------------------------------------------------------------------------------------


@st.composite
def dro_instances(draw):
    K = draw(sizes)
    mu = draw(distributions(K, min_mass=0.01))
    ref = draw(distributions(K, min_mass=0.01))
    ref = np.where(mu > 0, np.maximum(ref, 0.05), ref)
    return {"rewards": draw(hnp.arrays(np.float64, K, elements=rewards_el)), "mu": mu,
            "pi_ref": ref / ref.sum(), "beta": draw(betas),
            "shift": draw(st.sampled_from([0.1, 1.0, 5.0])),
            "z": draw(hnp.arrays(np.float64, K, elements=st.floats(-2, 2)))}


@st.composite
def pmpo_instances(draw, alpha=None):
    K = draw(sizes)
    return {"accepted": draw(hnp.arrays(np.float64, K, elements=counts_el)),
            "rejected": draw(hnp.arrays(np.float64, K, elements=counts_el)),
            "pi_ref": draw(distributions(K, min_mass=0.01)),
            "alpha": draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1))
            if alpha is None else alpha,
            "beta": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]) | st.floats(0, 6)),
            "others": draw(hnp.arrays(np.float64, (4, K), elements=st.floats(0.01, 1)))}


# ----------------------------------------------------------------------------------------------
# DRO
# ----------------------------------------------------------------------------------------------


@given(dro_instances())
def test_dro_zero_loss_point(inst):
    assert checks.dro_zero_loss(inst) <= 1e-12
    res = dro_optimum(inst["rewards"], inst["mu"], inst["pi_ref"], inst["beta"])
    assert res.unique == bool(np.all(inst["mu"] > 0))
    assert res.min_value <= res.value + 1e-12


@given(dro_instances())
def test_dro_zero_loss_set(inst):
    assert checks.dro_zero_loss_set(inst) <= 1e-9


@given(dro_instances())
@settings(max_examples=30)
def test_dro_optimum_is_stationary_for_the_loss_gradient(inst):
    """The losses.dro gradient (policy log-probs via the softmax score, and V) vanishes at pi*."""
    r, mu, ref, beta = inst["rewards"], inst["mu"], inst["pi_ref"], inst["beta"]
    res = dro_optimum(r, mu, ref, beta)
    on = np.flatnonzero(mu > 0)
    lp = np.log(res.policy[on])
    _, (g_lp, _, g_v) = value_and_grad("dro", lp, np.log(ref[on]), np.full(on.size, res.value),
                                       rewards=r[on], beta=beta)
    assert abs(float(mu[on] @ g_v)) <= 1e-12 * (1 + abs(res.value))
    assert np.all(np.abs(g_lp) <= 1e-12 * (1 + np.abs(r[on]).max() + abs(res.value)))


def test_dro_loss_matches_its_formula_and_contexts():
    r = np.array([[1.0, 0.0, -2.0], [0.5, 0.5, 3.0]])
    mu = np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    ref = np.array([0.2, 0.3, 0.5])
    pi = np.array([[0.3, 0.3, 0.4], [0.1, 0.6, 0.3]])
    V = np.array([0.4, -1.0])
    got = dro_population_loss(pi, V, r, mu, ref, 2.0)
    want = 0.5 * np.sum(mu * (r - V[:, None] - 2.0 * np.log(pi / ref)) ** 2, axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    res = dro_optimum(r, mu, ref, 2.0)
    for s in range(2):
        one = dro_optimum(r[s], mu[s], ref, 2.0)
        np.testing.assert_allclose(res.policy[s], one.policy, rtol=1e-14)
        assert res.value[s] == pytest.approx(one.value, rel=1e-14)
    assert not res.unique and res.min_value[1] < res.value[1]
    np.testing.assert_allclose(res.policy, kl_regularized_optimum(np.tile(ref, (2, 1)), r, 2.0).policy)


def test_dro_validation_names_arguments():
    with pytest.raises(ValueError, match="pi_ref"):
        dro_optimum([1.0, 0.0], [0.5, 0.5], [1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="beta"):
        dro_optimum([1.0, 0.0], [0.5, 0.5], [0.5, 0.5], 0.0)
    with pytest.raises(ValueError, match="mu"):
        dro_optimum([1.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="rewards"):
        dro_optimum([1.0, np.nan], [0.5, 0.5], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="contexts"):
        dro_optimum(np.zeros((2, 2)), np.full((3, 2), 0.5), [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="policy"):
        dro_population_loss([1.0, 0.0], 0.0, [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="value"):
        dro_population_loss([0.5, 0.5], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], 1.0)


# ----------------------------------------------------------------------------------------------
# PMPO
# ----------------------------------------------------------------------------------------------


@given(pmpo_instances())
def test_pmpo_closed_form(inst):
    assert checks.pmpo_closed_form(inst) <= 1e-9


@given(pmpo_instances(alpha=0.0))
def test_pmpo_negatives_only_threshold(inst):
    d = inst["rejected"]
    if d.sum() == 0:
        d = inst["pi_ref"] * 3.0
    viol = checks.pmpo_negatives_threshold({"rejected": d, "pi_ref": inst["pi_ref"],
                                            "beta": inst["beta"]})
    assert viol == 0


@given(pmpo_instances())
@settings(max_examples=40)
def test_pmpo_objective_agrees_with_the_loss(inst):
    """-J = sum_y a pmpo(acc) + sum_y d pmpo(rej) (beta=0) + sum_y pi_ref pmpo(KL term), and at a
    bounded, attained optimum the gradient of that loss in the logits vanishes."""
    a, d, ref, alpha, beta = (inst[k] for k in ("accepted", "rejected", "pi_ref", "alpha", "beta"))
    K = ref.size
    an = a / a.sum() if a.sum() > 0 else a
    dn = d / d.sum() if d.sum() > 0 else d
    ones, zeros = np.ones(K, bool), np.zeros(K, bool)

    def neg_J(lp):
        lr = np.log(np.where(ref > 0, ref, 1.0))
        v = an @ pmpo(lp, lr, accepted=ones, alpha=alpha, beta=0.0)
        v += dn @ pmpo(lp, lr, accepted=zeros, alpha=alpha, beta=0.0)
        on = ref > 0
        v += ref[on] @ pmpo(lp[on], lr[on], accepted=ones[on], alpha=0.0, beta=beta)
        return v  # the last term is beta sum ref (log ref - lp) = beta KL(pi_ref || pi)

    for pi in inst["others"]:
        pi = pi / pi.sum()
        want = pmpo_objective(pi, a, d, ref, alpha, beta)
        assert -neg_J(np.log(pi)) == pytest.approx(want, rel=1e-10, abs=1e-10)
    res = pmpo_optimum(a, d, ref, alpha, beta)
    if res.bounded and res.attained and res.unique and np.all(res.policy > 0):
        lp = np.log(res.policy)
        lr = np.log(np.where(ref > 0, ref, 1.0))  # where ref = 0 the KL term has weight 0
        g = an * value_and_grad("pmpo", lp, lr, accepted=ones, alpha=alpha, beta=0.0).grads[0]
        g = g + dn * value_and_grad("pmpo", lp, lr, accepted=zeros, alpha=alpha, beta=0.0).grads[0]
        g = g + ref * value_and_grad("pmpo", lp, lr, accepted=ones, alpha=0.0, beta=beta).grads[0]
        score = g - res.policy * g.sum()  # chain rule through log-softmax
        assert np.abs(score).max() <= 1e-12 * (1 + np.abs(g).max())


def test_pmpo_cases_by_hand():
    ref = np.array([0.5, 0.5])
    # The closed form with both sets nonempty: (alpha a - (1-alpha) d + beta ref) / (2 alpha - 1 + beta)
    res = pmpo_optimum([3, 1], [1, 3], ref, alpha=0.5, beta=1.0)
    np.testing.assert_allclose(res.policy, (0.5 * np.array([0.75, 0.25]) - 0.5
                                            * np.array([0.25, 0.75]) + ref) / 1.0)
    assert res.multiplier == pytest.approx(1.0)
    # Boundary: c(0) = 0 with a rejection there: sup approached, not attained.
    res = pmpo_optimum([0, 0], [1, 0], ref, alpha=0.0, beta=2.0)
    assert res.bounded and not res.attained and res.policy.tolist() == [0.0, 1.0]
    assert res.value == pytest.approx(2 * np.log(2.0), rel=1e-14)
    vals = [pmpo_objective([e, 1 - e], [0, 0], [1, 0], ref, 0.0, 2.0) for e in (0.1, 1e-3, 1e-6)]
    assert vals[0] < vals[1] < vals[2] < res.value
    # Flat case: beta = 1, d = pi_ref: J is constant.
    res = pmpo_optimum([0, 0], [1, 1], ref, alpha=0.0, beta=1.0)
    assert res.bounded and not res.unique and res.multiplier == 0.0
    assert pmpo_objective([0.9, 0.1], [0, 0], [1, 1], ref, 0.0, 1.0) == pytest.approx(res.value)
    # beta = 0: positives only -> the empirical distribution; negatives only -> unbounded.
    np.testing.assert_allclose(pmpo_optimum([1, 3], [0, 0], ref, 1.0, 0.0).policy, [0.25, 0.75])
    res = pmpo_optimum([0, 0], [1, 3], ref, 0.0, 0.0)
    assert not res.bounded and res.policy is None and res.value == np.inf and res.escape == 1
    # A rejected action outside supp(pi_ref) can never be held back by the KL.
    res = pmpo_optimum([0, 0, 0], [0, 0, 1], [0.5, 0.5, 0.0], 0.0, 100.0)
    assert not res.bounded and res.beta_threshold == np.inf
    # One action: trivially bounded.
    assert pmpo_optimum([0], [1], [1.0], 0.0, 0.0).policy.tolist() == [1.0]


def test_pmpo_validation_names_arguments():
    ref = [0.5, 0.5]
    with pytest.raises(ValueError, match="alpha"):
        pmpo_optimum([1, 0], [0, 1], ref, 1.5, 1.0)
    with pytest.raises(ValueError, match="beta"):
        pmpo_optimum([1, 0], [0, 1], ref, 0.5, -1.0)
    with pytest.raises(ValueError, match="accepted"):
        pmpo_optimum([1, -1], [0, 1], ref, 0.5, 1.0)
    with pytest.raises(ValueError, match="rejected"):
        pmpo_optimum([1, 0], [0, 1, 0], ref, 0.5, 1.0)
    with pytest.raises(ValueError, match="pi_ref"):
        pmpo_optimum([1, 0], [0, 1], [0.5, 0.6], 0.5, 1.0)
    with pytest.raises(ValueError, match="policy"):
        pmpo_objective([1.0, 0.0, 0.0], [1, 0, 0], [0, 1, 0], [0.2, 0.2, 0.6], 0.5, 1.0)
    with pytest.raises(ValueError, match="policy"):
        pmpo_objective([[0.5, 0.5]], [1, 0], [0, 1], ref, 0.5, 1.0)


# ----------------------------------------------------------------------------------------------
# SimPO
# ----------------------------------------------------------------------------------------------


@st.composite
def simpo_instances(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    return checks.draw_simpo_instance(np.random.default_rng(seed))


@given(simpo_instances())
@settings(max_examples=30)
def test_simpo_no_finite_optimum(inst):
    assert checks.simpo_no_optimum(inst) == 0


def test_simpo_loss_matches_formula_and_validates():
    P = np.array([[0.5, 0.7, 1.0], [0.3, 0.5, 0.4], [0.0, 0.6, 0.5]])
    mu, pi, L = np.array([0.2, 0.5, 0.3]), np.array([0.5, 0.3, 0.2]), np.array([3.0, 5.0, 2.0])
    u = 2.0 * np.log(pi) / L
    want = np.sum(np.outer(mu, mu) * P * np.logaddexp(0, -(u[:, None] - u[None] - 0.5)))
    assert simpo_population_loss(pi, P, mu, L, 2.0, 0.5) == pytest.approx(want, rel=1e-13)
    with pytest.raises(ValueError, match="lengths"):
        simpo_population_loss(pi, P, mu, [3.0, 0.0, 2.0], 2.0)
    with pytest.raises(ValueError, match="policy"):
        simpo_population_loss([1.0, 0.0, 0.0], P, mu, L, 2.0)
    with pytest.raises(ValueError, match="margin"):
        simpo_population_loss(pi, P, mu, L, 2.0, margin=-1.0)


def test_simpo_old_keyword_gamma_still_works_and_warns():
    P = np.array([[0.5, 0.7], [0.3, 0.5]])
    args = ([0.6, 0.4], P, [0.5, 0.5], [2.0, 3.0], 2.0)
    with pytest.warns(DeprecationWarning, match="simpo_population_loss.*'gamma'.*'margin'"):
        old = simpo_population_loss(*args, gamma=0.3)
    assert old == simpo_population_loss(*args, margin=0.3) == simpo_population_loss(*args, 0.3)


# ----------------------------------------------------------------------------------------------
# VAS
# ----------------------------------------------------------------------------------------------


@st.composite
def vas_instances(draw):
    mdp = draw(tabular_mdps(max_states=4, max_actions=3, sparse=None, horizon=draw(st.booleans())))
    pi0 = draw(policies(mdp.n_states, mdp.n_actions))
    return {"mdp": mdp, "pi0": pi0, "beta": draw(st.sampled_from([0.0, 0.1, 1.0, 10.0]))}


@given(vas_instances())
@settings(max_examples=40)
def test_vas_improves_every_state(inst):
    assert checks.vas_improvement(inst) <= 1e-9


@given(hnp.arrays(np.float64, st.integers(1, 5), elements=rewards_el), st.data())
@settings(max_examples=30)
def test_vas_one_step_is_kl_optimum(r, data):
    pi0 = data.draw(distributions(r.size, min_mass=0.01))
    beta = data.draw(st.sampled_from([0.1, 1.0, 10.0]))
    assert checks.vas_one_step({"rewards": r, "pi0": pi0, "beta": beta}) <= 1e-12


def test_vas_top_k_can_lose_the_guarantee_and_beta_zero_is_identity():
    mdp = TabularMDP(np.ones((1, 2, 1)), [[0.0, 1.0]], gamma=1.0, horizon=1)
    pi0 = np.array([[0.6, 0.4]])
    full = value_augmented_policy(mdp, pi0, inverse_temperature=1.0)
    top1 = value_augmented_policy(mdp, pi0, inverse_temperature=1.0, top_k=1)
    assert full.improvement > 0 and top1.improvement == pytest.approx(-0.4)
    np.testing.assert_allclose(value_augmented_policy(mdp, pi0, 1.0, top_k=2).policy,
                               full.policy)
    np.testing.assert_allclose(value_augmented_policy(mdp, pi0, 0.0).policy[0], pi0)


@given(mdp_arrays(max_states=3, max_actions=3), st.data())
@settings(max_examples=20)
def test_vas_time_dependent_base_policy(arrs, data):
    P, R, mu = arrs
    S, A = P.shape[:2]
    mdp = TabularMDP(P, R, 1.0, mu, horizon=3)
    pi0 = np.stack([data.draw(policies(S, A)) for _ in range(3)])
    res = value_augmented_policy(mdp, pi0, inverse_temperature=2.0)
    assert res.policy.shape == (3, S, A) and res.improvement >= -1e-12
    np.testing.assert_allclose(mdp.evaluate(res.policy).values, res.values, atol=1e-12)


def test_vas_validation_names_arguments():
    mdp = TabularMDP(np.ones((1, 2, 1)), [[0.0, 1.0]], gamma=0.5)
    with pytest.raises(ValueError, match="inverse_temperature"):
        value_augmented_policy(mdp, [[0.5, 0.5]], -1.0)
    with pytest.raises(ValueError, match="top_k"):
        value_augmented_policy(mdp, [[0.5, 0.5]], 1.0, top_k=0)
    with pytest.raises(ValueError, match="base_policy"):
        value_augmented_policy(mdp, [[0.5, 0.6]], 1.0)


def test_vas_old_keyword_beta_still_works_and_warns():
    mdp = TabularMDP(np.ones((1, 2, 1)), [[0.0, 1.0]], gamma=0.5)
    pi0 = np.array([[0.6, 0.4]])
    new = value_augmented_policy(mdp, pi0, inverse_temperature=2.0)
    with pytest.warns(DeprecationWarning, match="value_augmented_policy.*'beta'.*'inverse_temp"):
        old = value_augmented_policy(mdp, pi0, beta=2.0)
    np.testing.assert_array_equal(old.policy, new.policy)
    with pytest.raises(TypeError, match="beta"):
        value_augmented_policy(mdp, pi0, beta=2.0, inverse_temperature=2.0)


def test_results_subclass_the_result_base():
    from prefrl.results import Result

    mdp = TabularMDP(np.ones((1, 2, 1)), [[0.0, 1.0]], gamma=0.5)
    results = [
        B.kl_regularized_optimum([0.5, 0.5], [1.0, 0.0], 1.0),
        B.dpo_dataset_optimum([0, 1, 1], [1, 0, 0], [0.5, 0.5], 1.0),
        dro_optimum([1.0, 0.0], [0.5, 0.5], [0.5, 0.5], 1.0),
        pmpo_optimum([1, 0], [0, 1], [0.5, 0.5], 0.5, 1.0),
        value_augmented_policy(mdp, [[0.5, 0.5]], 1.0),
    ]
    for res in results:
        assert isinstance(res, Result)
        if "iterations" in res:
            assert {"converged", "certificate"} <= set(res.keys())
            assert res.converged is True
    assert results[1].iterations > 0  # a Newton fit, converged as its BTFit says


# ----------------------------------------------------------------------------------------------
# PAR
# ----------------------------------------------------------------------------------------------


@st.composite
def par_instances(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    inst = checks.draw_par_instance(np.random.default_rng(seed))
    grid = st.sampled_from([-1.0, 0.0, 1.0]) | st.floats(-50, 50)
    inst["r"] = draw(hnp.arrays(np.float64, 6, elements=grid))
    inst["r_ref"] = draw(hnp.arrays(np.float64, st.integers(1, 4), elements=grid))
    return inst


@given(par_instances())
@settings(max_examples=40)
def test_par_properties_and_variance_bound(inst):
    assert checks.par_properties(inst) == 0
    assert checks.par_variance(inst) <= 1e-9


def test_par_shapes_and_validation():
    assert preference_as_reward(0.0, [0.0]) == 0.5
    out = preference_as_reward([0.0, 1.0], [[0.0, 2.0], [1.0, 1.0]])
    np.testing.assert_allclose(out, [0.5 * (0.5 + 1 / (1 + np.exp(2.0))), 0.5])
    assert preference_as_reward(1e4, [0.0]) == 1.0  # saturates, no overflow
    with pytest.raises(ValueError, match="r_ref"):
        preference_as_reward([0.0, 1.0], [[0.0], [1.0], [2.0]])
    with pytest.raises(ValueError, match="r"):
        preference_as_reward([np.inf], [0.0])


def test_return_variance_matches_monte_carlo():
    """The second-moment solver behind the PAR check, against simulation."""
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(2), size=(2, 2))
    R = np.array([[0.1, 0.9], [0.5, 0.2]])
    mdp = TabularMDP(P, R, 0.5)
    pi = np.array([[0.3, 0.7], [0.5, 0.5]])
    var = checks._return_variance(mdp, pi)
    G = np.zeros(20000)
    s = np.zeros(G.size, int)
    for t in range(40):
        a = (rng.random(G.size) < pi[s, 1]).astype(int)
        G += 0.5**t * R[s, a]
        s = (rng.random(G.size) < P[s, a, 1]).astype(int)
    assert var[0] == pytest.approx(G.var(), rel=0.05)


# ----------------------------------------------------------------------------------------------
# From r to Q*: implicit rewards fall
# ----------------------------------------------------------------------------------------------


@given(dro_instances())
def test_implicit_rewards_fall(inst):
    assert checks.implicit_rewards_fall(inst) <= 1e-12


# ----------------------------------------------------------------------------------------------
# The checks have power, the registry runs them, the docstrings run
# ----------------------------------------------------------------------------------------------


def test_checks_fail_on_wrong_solvers(monkeypatch):
    rng = np.random.default_rng(3)
    # PMPO: the un-normalised numerator (no Lagrange multiplier) is not the maximiser.
    inst = {"accepted": np.array([3.0, 1.0, 0.0]), "rejected": np.array([0.0, 1.0, 1.0]),
            "pi_ref": np.array([0.2, 0.3, 0.5]), "alpha": 0.5, "beta": 2.0,
            "others": rng.dirichlet(np.ones(3), size=8)}
    assert checks.pmpo_closed_form(inst) <= 1e-9
    real = B.pmpo_optimum

    def wrong(*args):
        res = real(*args)
        pol = np.array([0.4, 0.3, 0.3])
        return B.PMPOOptimum(pol, res.value + 0.01, 0, res.certificate, True, True, True,
                             res.coefficients, res.multiplier, res.beta_threshold)

    monkeypatch.setattr(checks, "pmpo_optimum", wrong)
    assert checks.pmpo_closed_form(inst) > 1e-3
    monkeypatch.undo()
    # VAS: tilting the wrong way (exp(-beta Q)) lowers the value.
    mdp = TabularMDP(np.ones((1, 2, 1)), [[0.0, 1.0]], gamma=0.5)
    monkeypatch.setattr(checks, "value_augmented_policy", _anti_vas)
    assert checks.vas_improvement({"mdp": mdp, "pi0": np.array([[0.5, 0.5]]), "beta": 1.0}) > 0.1
    monkeypatch.undo()
    # DRO: a V off by a constant has positive loss.
    inst = checks.draw_dro_instance(np.random.default_rng(5))
    real_dro = B.dro_optimum

    def off(*args):
        res = real_dro(*args)
        return B.DROOptimum(res.policy, res.value + 0.5, res.loss, 0, res.certificate, res.unique,
                            res.min_value)

    monkeypatch.setattr(checks, "dro_optimum", off)
    assert checks.dro_zero_loss(inst) > 1e-3


def _anti_vas(mdp, pi0, beta):
    """VAS with the sign of the tilt flipped (a wrong implementation)."""
    Q0 = mdp.evaluate(pi0).q_values
    z = np.log(pi0) - beta * Q0
    pi = np.exp(log_softmax(z, axis=1))
    V0, V = mdp.evaluate(pi0).values, mdp.evaluate(pi).values
    one = np.einsum("sa,sa->s", pi, Q0) - V0
    return B.VASResult(pi, Q0, V, V0, float(np.min(V - V0)), float(np.min(one)))


@pytest.mark.parametrize("name", [
    "dpo_secondary.dro_zero_loss_point", "dpo_secondary.dro_zero_loss_set",
    "dpo_secondary.pmpo_closed_form", "dpo_secondary.pmpo_negatives_only_threshold",
    "dpo_secondary.vas_improves_every_state", "dpo_secondary.vas_one_step_is_kl_optimum",
    "dpo_secondary.par_bounded_centred_monotone", "dpo_secondary.par_return_variance_bound",
    "dpo_secondary.implicit_rewards_fall", "dpo_secondary.simpo_no_finite_optimum"])
def test_registered_theorems_hold(name):
    assert run_theorem(name, n_instances=60, seed=7).holds


@pytest.mark.parametrize("obj", [
    B.dro_optimum, B.dro_population_loss, B.pmpo_objective, B.pmpo_optimum,
    B.simpo_population_loss, B.value_augmented_policy, B.preference_as_reward])
def test_docstring_examples_run(obj):
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in finder.find(obj, globs={"np": np, **vars(B)}):
        runner.run(t)
    assert runner.failures == 0 and runner.tries > 0
