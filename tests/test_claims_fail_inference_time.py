"""Every claim of the inference-time frontier figure can fail.

Each case breaks one mechanism the experiment relies on (a library function it calls,
monkeypatched in the experiment's namespace or in ``prefrl.inference_time._vas``: ties split
by index, the KL measured the wrong way round, the formula taken as an equality, best-of-n mixed
with its reference, the frontier at half the budget, one draw too many in Q-probe, a Gibbs limit at
the wrong temperature, VAS at the wrong temperature or replaced by the optimum, the Gibbs
improvement at the wrong KL weight, one step of soft policy iteration short), reruns the
experiment in quick mode and checks that the claims about that mechanism fail. A last test checks
that the cases cover every claim and that every claim states its evidence.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import numpy as np
import pytest

import prefrl.inference_time._vas as vas_module
from prefrl import inference_time as it
from prefrl import policies
from prefrl.experiments import inference_time_frontier as exp

NAME = "inference_time_frontier"


def _run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exp.run(quick=True, seed=0)


@functools.cache
def _claims():
    return {c.name: c for c in exp.claims(_run())}


def _ties_by_index(_):
    """Tied maximisers resolved by index (the last one wins), not uniformly."""

    def bon(pi, r, n):
        r = np.asarray(r, dtype=float)
        return it.best_of_n_distribution(pi, r + 1e-9 * np.arange(r.size), n)

    return {"best_of_n_distribution": bon}


def _reverse_kl(_):
    """KL(pi_ref || pi_n) reported for KL(pi_n || pi_ref)."""

    def bon(pi, r, n):
        res = it.best_of_n_distribution(pi, r, n)
        return dataclasses.replace(res, kl=float(policies.kl(np.asarray(pi, float), res.policy)))

    return {"best_of_n_distribution": bon}


def _bound_is_log_n(_):
    """The bound taken as log n (the (n-1)/n term dropped)."""

    def bon(pi, r, n):
        res = it.best_of_n_distribution(pi, r, n)
        return dataclasses.replace(res, kl_bound=float(np.log(n)))

    return {"best_of_n_distribution": bon}


def _formula_as_equality(_):
    """The KL of best-of-n taken to be log n - (n-1)/n exactly (the claim Beirami et al. refute)."""

    def bon(pi, r, n):
        res = it.best_of_n_distribution(pi, r, n)
        return dataclasses.replace(res, kl=res.kl_bound)

    return {"best_of_n_distribution": bon}


def _half_best_of_n(_):
    """Best-of-n mixed half and half with the reference: less reward for its KL."""

    def bon(pi, r, n):
        res = it.best_of_n_distribution(pi, r, n)
        pi = np.asarray(pi, dtype=float)
        mix = 0.5 * (res.policy + pi)
        return dataclasses.replace(
            res, policy=mix, value=float(mix @ np.asarray(r, float)), kl=float(policies.kl(mix, pi))
        )

    return {"best_of_n_distribution": bon}


def _frontier_at_half_budget(_):
    """The 'optimum' solved at half the KL budget: it falls below the rules it bounds."""
    return {"kl_constrained_optimum": lambda pi, r, b: it.kl_constrained_optimum(pi, r, b / 2)}


def _one_draw_too_many(_):
    """Q-probe computed with k + 1 draws."""
    return {
        "q_probe_distribution": lambda pi, q, beta, k, **kw: it.q_probe_distribution(
            pi, q, beta, k + 1, **kw
        )
    }


def _limit_at_wrong_temperature(_):
    """Q-probe sampled at 1.2 beta, its limit taken at beta: the distance no longer vanishes."""

    def qp(pi, q, beta, k, **kw):
        res = it.q_probe_distribution(pi, q, 1.2 * beta, k, **kw)
        lim = policies.gibbs(pi, q, beta)
        return dataclasses.replace(
            res, gibbs_limit=lim, tv_to_limit=float(0.5 * np.abs(res.policy - lim).sum())
        )

    return {"q_probe_distribution": qp}


def _vas_at_double_temperature(_):
    """VAS tilted with twice the inverse temperature (the KL weight halved)."""
    real = vas_module.value_augmented_policy
    return {
        "value_augmented_policy": lambda mdp, pi0, inverse_temperature: real(
            mdp, pi0, inverse_temperature=2 * inverse_temperature
        )
    }


def _vas_is_the_optimum(_):
    """VAS replaced by the soft optimum (as if it tilted by soft values): no gap."""
    real = vas_module.value_augmented_policy

    def vas(mdp, pi0, inverse_temperature):
        opt = mdp.backward_induction(beta=1 / inverse_temperature, pi_ref=pi0)
        return dataclasses.replace(
            real(mdp, pi0, inverse_temperature=inverse_temperature), policy=opt.policy
        )

    return {"value_augmented_policy": vas}


def _gibbs_at_double_beta(_):
    """Every Gibbs tilt of the VAS file at twice the KL weight."""
    return {"gibbs": lambda p, f, beta: policies.gibbs(p, f, 2 * beta)}


def _one_step_short(_):
    """Soft policy iteration stopped one step before the depth."""
    return {
        "soft_policy_iteration": lambda tree, pi0, beta, n: it.soft_policy_iteration(
            tree, pi0, beta, n - 1
        )
    }


CASES = [
    (exp, _ties_by_index, ["bon_law_equals_enumeration"]),
    (exp, _reverse_kl, ["bon_kl_bound_holds_strictly", "bon_bound_loose_as_n_grows"]),
    (exp, _formula_as_equality, ["bon_kl_bound_holds_strictly"]),
    (exp, _bound_is_log_n, ["bon_bound_tight_in_continuous_limit"]),
    (exp, _half_best_of_n, ["bon_nearly_optimal"]),
    (
        exp,
        _frontier_at_half_budget,
        ["bon_below_optimal_frontier", "q_probe_below_frontier", "vas_below_frontier"],
    ),
    (exp, _one_draw_too_many, ["q_probe_law_equals_enumeration", "q_probe_k1_is_reference"]),
    (exp, _limit_at_wrong_temperature, ["q_probe_tends_to_gibbs"]),
    (vas_module, _vas_at_double_temperature, ["vas_depth1_is_optimal"]),
    (vas_module, _vas_is_the_optimum, ["vas_gap_positive_on_deep_trees"]),
    (vas_module, _gibbs_at_double_beta, ["soft_policy_iteration_exact_after_depth"]),
    (exp, _one_step_short, ["soft_policy_iteration_exact_after_depth"]),
]


@pytest.mark.parametrize(
    "target, broken, must_fail", CASES, ids=[c[1].__name__.strip("_") for c in CASES]
)
def test_breaking_the_mechanism_fails_the_claim(target, broken, must_fail, monkeypatch):
    before = _claims()
    assert all(before[c].holds for c in must_fail), f"{must_fail} should hold unbroken"
    for attr, replacement in broken(target).items():
        assert hasattr(target, attr), f"{target!r} has no {attr!r} to break"
        monkeypatch.setattr(target, attr, replacement)
    after = {c.name: c for c in exp.claims(_run())}
    still = [c for c in must_fail if after[c].holds]
    assert not still, f"{still} still hold after {broken.__name__}"


def test_every_claim_states_its_evidence_and_can_be_broken():
    claims = _claims()
    unstated = [c.name for c in claims.values() if c.status is None]
    assert not unstated, f"claims without a status: {unstated}"
    for c in claims.values():
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1, c.name
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip(), c.name
    covered = {claim for case in CASES for claim in case[2]}
    assert covered == set(claims), f"{NAME}: no breaking case for {set(claims) - covered}"
