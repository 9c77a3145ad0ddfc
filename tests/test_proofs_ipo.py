"""The IPO/DPO theorem checks of proofs_check/ipo.py on hypothesis-drawn instances, and their power."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prefrl.bandits import ipo_optimum
from prefrl.proofs_check import ipo as checks
from prefrl.registry import run_theorem
from prefrl.testing.strategies import distributions as _distributions
from prefrl.testing.strategies import preference_matrices

betas = st.sampled_from([0.05, 0.1, 0.5, 1.0, 4.0])


def distributions(K, zeros=True):
    """Masses are 0 or >= 0.01: supports matter, 1e-39 only makes the lstsq checks ill-posed."""
    return _distributions(K, zeros=zeros, min_mass=0.01)


sizes = st.integers(2, 5)


@st.composite
def bt_instances(draw):
    K = draw(sizes)
    r = draw(arrays(np.float64, K, elements=st.one_of(st.floats(-3, 3), st.sampled_from([0.0, 1.0]))))
    return {"rewards": r, "mu": draw(distributions(K)), "pi_ref": draw(distributions(K, zeros=False)),
            "beta": draw(betas)}


@st.composite
def ipo_instances(draw):
    K = draw(sizes)
    mu = draw(distributions(K))
    ref = draw(distributions(K, zeros=False)) * (mu > 0)
    return {"P": draw(preference_matrices(K)), "mu": mu, "pi_ref": ref / ref.sum(),
            "beta": draw(betas)}


@st.composite
def a2_instances(draw):
    K = draw(st.integers(3, 5))
    mu = draw(distributions(K, zeros=False))
    n_off = draw(st.integers(1, K - 2))
    off = draw(st.permutations(range(K)))[:n_off]
    mu[list(off)] = 0.0
    return {"P": draw(preference_matrices(K)), "mu": mu / mu.sum(), "beta": draw(betas),
            "shift": draw(st.sampled_from([-3.0, -1.0, 1.0, 2.5]))}


@st.composite
def prop3_instances(draw):
    inst = draw(ipo_instances())
    K = inst["P"].shape[0]
    pols = draw(arrays(np.float64, (3, K), elements=st.floats(0.01, 1.0)))
    pols = np.vstack([pols * (inst["mu"] > 0), inst["pi_ref"]])
    inst["policies"] = pols / pols.sum(axis=1, keepdims=True)
    return inst


@st.composite
def prop4_instances(draw):
    K = draw(sizes)
    return {"P": draw(preference_matrices(K, margin=0.02)), "mu": draw(distributions(K, zeros=False)),
            "pi_ref": draw(distributions(K, zeros=False)), "beta": draw(betas)}


@st.composite
def tiered_instances(draw):
    K = draw(sizes)
    return {"tiers": draw(arrays(np.int64, K, elements=st.integers(0, 2))),
            "rewards": draw(arrays(np.float64, K, elements=st.floats(-2, 2))),
            "mu": draw(distributions(K, zeros=False)), "pi_ref": draw(distributions(K, zeros=False)),
            "betas": [0.01, 1.0, 100.0]}


@st.composite
def shift_instances(draw):
    S, K = draw(st.integers(1, 3)), draw(sizes)
    return {"rewards": draw(arrays(np.float64, (S, K), elements=st.floats(-5, 5))),
            "shift": draw(arrays(np.float64, S, elements=st.floats(-100, 100))),
            "pi_ref": np.stack([draw(distributions(K)) for _ in range(S)]),
            "beta": draw(betas),
            "rankings": np.array([draw(st.permutations(range(K))) for _ in range(2)])}


@st.composite
def datasets(draw):
    K = draw(st.integers(2, 5))
    n = draw(st.integers(0, 10))
    return {"K": K, "winners": draw(arrays(np.int64, n, elements=st.integers(0, K - 1))),
            "losers": draw(arrays(np.int64, n, elements=st.integers(0, K - 1)))}


CASES = [
    (checks.prop1, bt_instances(), 30),
    (checks.thm2, ipo_instances(), 30),
    (checks.a2, a2_instances(), 30),
    (checks.prop3, prop3_instances(), 30),
    (checks.prop4, prop4_instances(), 20),
    (checks.sec42, tiered_instances(), 20),
    (checks.dpo_lemma1, shift_instances(), 30),
    (checks.dpo_lemma2, shift_instances(), 30),
    (checks.bt_existence, datasets(), 40),
]


@pytest.mark.parametrize("fn,strategy,n", CASES, ids=[c[0].__name__ for c in CASES])
def test_check_holds_on_hypothesis_instances(fn, strategy, n):
    @settings(max_examples=n)
    @given(strategy)
    def inner(inst):
        v = fn(inst)
        assert v <= fn.theorem.tolerance, (v, inst)

    inner()


def test_registered_checks_hold_on_their_own_draws():
    for fn, _, _ in CASES:
        r = run_theorem(fn.theorem, n_instances=15, seed=7)
        assert r.holds, (r.name, r.worst_violation, r.worst_instance)


# ------------------------------------------------------------------------------------------
# Power: each check fails when the claim is made false.
# ------------------------------------------------------------------------------------------


def test_thm2_detects_a_wrong_closed_form(monkeypatch):
    inst = {"P": np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.7], [0.8, 0.3, 0.5]]),
            "mu": np.array([0.3, 0.3, 0.4]), "pi_ref": np.array([0.2, 0.5, 0.3]), "beta": 0.5}
    assert checks.thm2(inst) < 1e-9

    def wrong(P, mu, pi_ref, beta):  # the common bug: target tau h instead of h
        return ipo_optimum(P, mu, pi_ref, beta * beta)

    monkeypatch.setattr(checks, "ipo_optimum", wrong)
    assert checks.thm2(inst) > 1e-3


def test_thm2_detects_non_uniqueness():
    inst = {"P": np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.7], [0.8, 0.3, 0.5]]),
            "mu": np.array([0.5, 0.5, 0.0]), "pi_ref": np.array([0.2, 0.5, 0.3]), "beta": 0.5}
    # supp(mu) != supp(pi_ref): Thm 2's hypothesis fails, and so does the claim (a minimiser of
    # the loss differs from the closed form)
    assert checks.thm2(inst) > 1e-3


def test_prop1_fails_for_identity_psi(monkeypatch):
    inst = {"rewards": np.array([2.0, 0.0, -1.0]), "mu": np.array([0.2, 0.3, 0.5]),
            "pi_ref": np.full(3, 1 / 3), "beta": 0.5}
    real = checks.psipo_optimum
    monkeypatch.setattr(checks, "psipo_optimum",
                        lambda P, mu, ref, beta, psi: real(P, mu, ref, beta, psi="identity"))
    assert checks.prop1(inst) > 0.1


def test_sec42_fails_for_ipo(monkeypatch):
    inst = {"tiers": np.array([1, 0, 0]), "rewards": np.zeros(3), "mu": np.full(3, 1 / 3),
            "pi_ref": np.full(3, 1 / 3), "betas": [1.0]}
    assert checks.sec42(inst) == 0.0
    monkeypatch.setattr(checks, "dpo_population_optimum",
                        lambda P, mu, ref, beta: ipo_optimum(P, mu, ref, beta))
    assert checks.sec42(inst) > 0.1


def test_bt_existence_catches_a_wrong_flag(monkeypatch):
    inst = {"K": 3, "winners": np.array([0, 1]), "losers": np.array([1, 2])}
    assert checks.bt_existence(inst) == 0.0 or checks.bt_existence(inst) < 1e-8
    assert not checks.ford_condition(3, inst["winners"], inst["losers"])
    assert checks.ford_condition(2, [0, 1], [1, 0])
    monkeypatch.setattr(checks, "ford_condition", lambda K, w, lo: True)
    assert checks.bt_existence(inst) == 1.0


def test_prop3_fails_for_a_policy_dependent_difference(monkeypatch):
    inst = {"P": np.array([[0.5, 0.9], [0.1, 0.5]]), "mu": np.array([0.5, 0.5]),
            "pi_ref": np.array([0.5, 0.5]), "beta": 1.0,
            "policies": np.array([[0.5, 0.5], [0.9, 0.1]])}
    assert checks.prop3(inst) < 1e-12
    real = checks.ipo_population_loss

    def shifted(pi, P, mu, ref, beta, form="eq13"):  # Eq. 16 with the target 1/(2 beta): wrong
        return real(pi, P, mu, ref, 2 * beta if form == "eq16" else beta, form=form)

    monkeypatch.setattr(checks, "ipo_population_loss", shifted)
    assert checks.prop3(inst) > 1e-3
