"""The claims of the shaping, EPIC, BARFI and segment-learning figures fail when their mechanism
is broken.

Each test breaks one mechanism a claim is about, inside the library or the experiment (EPIC
without its canonicalisation, shaping with a term that is not potential-based, BARFI with a zero
outer gradient, a labeller that ignores the reward, ...), reruns the experiment in quick mode and
checks that the claim no longer holds; the unbroken quick run must satisfy it. Where a rerun
cannot isolate a claim, the test feeds ``claims`` the numbers a broken mechanism would produce.
A last test checks that every claim of these experiments states its kind of evidence.
"""

from __future__ import annotations

import copy
import dataclasses
import functools

import numpy as np
import pytest

import prefrl.shaping._epic as epic_module
from prefrl.barfi import BilevelProblem, potential_based_reward
from prefrl.experiments import (
    barfi_good_bad_aux,
    epic_gridworld,
    segment_reward_learning,
    shaping_dynamic,
    shaping_ng_grid,
    shaping_redistribution,
)
from prefrl.mdp import TabularMDP
from prefrl.registry import STATUSES

EXPERIMENTS = {ex.__name__.rsplit(".", 1)[-1]: ex for ex in (
    barfi_good_bad_aux, epic_gridworld, segment_reward_learning, shaping_dynamic,
    shaping_ng_grid, shaping_redistribution)}


@functools.cache
def _baseline(name):
    """The unbroken quick-mode numbers (computed once)."""
    return EXPERIMENTS[name].run(quick=True, seed=0)


def _claims(name, numbers):
    return {c.name: c for c in EXPERIMENTS[name].claims(numbers)}


def _still_holding(name, names, breaker, monkeypatch):
    """Check that the named claims hold unbroken, break the mechanism (``breaker(monkeypatch)``),
    rerun the experiment in quick mode and return the claims that wrongly still hold."""
    base = _claims(name, copy.deepcopy(_baseline(name)))
    for c in names:
        assert base[c].holds, f"{name}/{c} must hold before the mechanism is broken"
    breaker(monkeypatch)
    claims = _claims(name, EXPERIMENTS[name].run(quick=True, seed=0))
    return [c for c in names if claims[c].holds]


# -------------------------------------------------------------------------------------- EPIC
def _no_canonicalisation(mp):
    # EPIC on the raw rewards: shaping, scale and shift are no longer removed
    mp.setattr(epic_module, "canonicalize",
               lambda R, gamma, state_dist=None, action_dist=None: np.asarray(R, float))


def _pearson_without_half(mp):
    # sqrt(1 - rho) instead of sqrt((1 - rho) / 2): D(R, -R) = sqrt(2)
    real = epic_module.pearson_distance
    mp.setattr(epic_module, "pearson_distance",
               lambda x, y, weights=None, atol=0.0: np.sqrt(2.0) * real(x, y, weights, atol))


def _pearson_squared(mp):
    # (1 - rho) / 2, the square of the distance: not a metric (no triangle inequality)
    real = epic_module.pearson_distance
    mp.setattr(epic_module, "pearson_distance",
               lambda x, y, weights=None, atol=0.0: real(x, y, weights, atol) ** 2)


def _l1_is_pearson(mp):
    # the wrong metric: the Pearson distance where the authors' heatmap uses the L1 one
    mp.setattr(epic_module, "_l1_distance",
               lambda C1, C2, w: epic_module.pearson_distance(C1, C2, w))


@pytest.mark.parametrize("claim, breaker", [
    ("equivalent_rewards_at_distance_zero", _no_canonicalisation),
    ("penalty_at_distance_one", _pearson_without_half),
    ("pseudometric_on_the_table", _pearson_squared),
    ("l1_table_matches_authors_heatmap", _l1_is_pearson),
    ("l1_table_matches_authors_heatmap", _no_canonicalisation),
], ids=["no-canonicalisation", "pearson-without-half", "pearson-squared", "l1-is-pearson",
        "l1-without-canonicalisation"])
def test_epic_claims_fail(monkeypatch, claim, breaker):
    assert _still_holding("epic_gridworld", [claim], breaker, monkeypatch) == []


# ---------------------------------------------------------------------- segment reward learning
def test_segment_fit_fails_with_a_mis_scaled_labeller(monkeypatch):
    # the population labels come from 2 r*, not r*: the fit recovers 2 r*, not r*, on V_N and V
    ex = segment_reward_learning
    real = ex.segment_preference_probability

    def breaker(mp):
        mp.setattr(ex, "segment_preference_probability",
                   lambda r, a, b, **kw: real(2.0 * np.asarray(r), a, b, **kw))

    names = ["population_exact_on_identifiable_subspace", "population_coverage_completes"]
    assert _still_holding("segment_reward_learning", names, breaker, monkeypatch) == []


def test_segment_coverage_fails_when_the_pairs_do_not_span_v():
    # pairs that never span V leave the error on V where it is at the smallest N
    numbers = copy.deepcopy(_baseline("segment_reward_learning"))
    assert _claims("segment_reward_learning", numbers)["population_coverage_completes"].holds
    e = np.asarray(numbers["error_population_V"]["population"], dtype=float)
    e[:, -1] = e[:, 0]
    numbers["error_population_V"]["population"] = e
    assert not _claims("segment_reward_learning", numbers)["population_coverage_completes"].holds


def test_segment_learning_fails_with_labels_that_ignore_the_reward(monkeypatch):
    ex = segment_reward_learning

    def coin_flips(reward, seg_a, seg_b, rng, **kw):
        return (rng.random(len(seg_a)) < 0.5).astype(float)

    names = ["finite_sample_error_decreases", "regret_shrinks_with_comparisons"]
    assert _still_holding("segment_reward_learning", names,
                          lambda mp: mp.setattr(ex, "sample_segment_labels", coin_flips),
                          monkeypatch) == []


# -------------------------------------------------------------------------------------- BARFI
class _ZeroOuterGradient:
    """A bilevel problem whose implicit gradient, as seen by the outer loop, is 0."""

    def __init__(self, problem):
        self._problem = problem

    def __getattr__(self, attr):
        return getattr(self._problem, attr)

    def implicit_gradient(self, phi):
        est = self._problem.implicit_gradient(phi)
        return dataclasses.replace(est, gradient=np.zeros_like(est.gradient))


def test_barfi_outer_claims_fail_with_a_zero_outer_gradient(monkeypatch):
    ex = barfi_good_bad_aux
    real = ex.outer_ascent

    def breaker(mp):
        mp.setattr(ex, "outer_ascent",
                   lambda problem, *args, **kw: real(_ZeroOuterGradient(problem), *args, **kw))

    names = ["barfi_switches_off_bad_aux", "barfi_improves_with_good_aux"]
    assert _still_holding("barfi_good_bad_aux", names, breaker, monkeypatch) == []


def test_barfi_gradient_claims_fail_without_the_inverse_hessian(monkeypatch):
    # the first-order estimate in place of -B^T H^+ g: not the derivative of J(theta*(phi))
    names = ["bad_implicit_gradient_matches_fd", "good_implicit_gradient_matches_fd"]
    assert _still_holding("barfi_good_bad_aux", names,
                          lambda mp: mp.setattr(BilevelProblem, "implicit_gradient",
                                                lambda self, phi: self.first_order_gradient(phi)),
                          monkeypatch) == []


def test_barfi_naive_claim_fails_when_the_bad_aux_cannot_be_farmed(monkeypatch):
    # a potential-based aux reward (Phi = 0.06 on the central region) leaves the soft optimum of
    # r_p + r_aux unchanged: the naive combination is then as good as r_p alone
    ex = barfi_good_bad_aux
    real = ex._world

    def world():
        g, aux = real()
        c = g.cells
        region = (c[:, 0] >= 2) & (c[:, 0] <= 3) & (c[:, 1] >= 2) & (c[:, 1] <= 3)
        aux["bad"] = potential_based_reward(g, 0.06 * region)
        return g, aux

    assert _still_holding("barfi_good_bad_aux", ["naive_bad_aux_is_suboptimal"],
                          lambda mp: mp.setattr(ex, "_world", world), monkeypatch) == []


def test_barfi_neumann_claim_fails_with_a_mis_estimated_hessian(monkeypatch):
    # a Hessian off by a factor 0.4: the Neumann series converges, to 2.5 times the gradient
    real = BilevelProblem.implicit_system

    def wrong(self, phi):
        system = real(self, phi)
        H, B, g = system
        return type(system)(0.4 * H, B, g)

    assert _still_holding("barfi_good_bad_aux", ["neumann_converges"],
                          lambda mp: mp.setattr(BilevelProblem, "implicit_system", wrong),
                          monkeypatch) == []


# ------------------------------------------------------------------------- shaping: Ng et al.
def _bonus_mdp(mdp, bonus_action=1, bonus=0.1):
    """mdp with a reward bonus for one action outside the goals: a term that is no potential."""
    R = np.array(mdp.rewards, dtype=float)
    extra = np.zeros((mdp.n_states, mdp.n_actions))
    extra[:, bonus_action] = bonus
    extra[list(getattr(mdp, "goals", []))] = 0.0
    R = R + (extra[:, :, None] if R.ndim == 3 else extra)
    return TabularMDP(mdp.transitions, R, mdp.gamma, mdp.initial, mdp.horizon)


def test_ng_claims_fail_with_a_non_potential_term(monkeypatch):
    ex = shaping_ng_grid
    real = ex.shaped_mdp

    def breaker(mp):
        mp.setattr(ex, "shaped_mdp", lambda mdp, potential, terminal=None: _bonus_mdp(
            real(mdp, potential, terminal=terminal), bonus_action=1))

    names = ["same_optimal_policy", "wiewiora_equivalence"]
    assert _still_holding("shaping_ng_grid", names, breaker, monkeypatch) == []


def test_ng_speed_up_fails_when_the_potential_is_ignored(monkeypatch):
    ex = shaping_ng_grid
    assert _still_holding("shaping_ng_grid", ["shaping_learns_faster"],
                          lambda mp: mp.setattr(ex, "shaped_mdp",
                                                lambda mdp, potential, terminal=None: mdp),
                          monkeypatch) == []


# ---------------------------------------------------------------- shaping: dynamic potentials
def test_dynamic_invariance_fails_with_a_non_potential_term(monkeypatch):
    ex = shaping_dynamic
    real_solve, real_eval = ex.solve_dynamic, ex.evaluate_dynamic

    def breaker(mp):
        goals = ex.ng_harada_russell_grid(ex.SIZE).goals
        mp.setattr(ex, "solve_dynamic", lambda mdp, Phi, terminal=None: real_solve(
            _bonus_mdp(mdp), Phi, terminal=goals))
        mp.setattr(ex, "evaluate_dynamic", lambda mdp, Phi, pi, terminal=None: real_eval(
            _bonus_mdp(mdp), Phi, pi, terminal=goals))

    names = ["same_optimal_policy_every_time", "ranking_unchanged"]
    assert _still_holding("shaping_dynamic", names, breaker, monkeypatch) == []


def test_dynamic_speed_up_fails_when_the_potentials_are_ignored(monkeypatch):
    ex = shaping_dynamic
    real = ex.dynamic_q_learning

    def unshaped(mdp, n, *, potentials, **kw):
        if kw.get("mode", "shaped") == "shaped":
            potentials = np.zeros_like(np.asarray(potentials, dtype=float))
        return real(mdp, n, potentials=potentials, **kw)

    assert _still_holding("shaping_dynamic", ["dynamic_potentials_speed_up_early_learning"],
                          lambda mp: mp.setattr(ex, "dynamic_q_learning", unshaped),
                          monkeypatch) == []


def test_dynamic_claims_fail_when_the_annealing_is_switched_off(monkeypatch):
    # the 'annealed' potential kept at Phi0: it learns as the static one, and Wiewiora's
    # initialisation then matches it
    ex = shaping_dynamic
    real = ex._setup

    def setup():
        grid, phi0, pots = real()
        pots["annealed"] = pots["static"]
        return grid, phi0, pots

    names = ["annealing_costs_later", "wiewiora_fails_shifted_table_holds"]
    assert _still_holding("shaping_dynamic", names,
                          lambda mp: mp.setattr(ex, "_setup", setup), monkeypatch) == []


def test_dynamic_shifted_table_fails_without_its_shift(monkeypatch):
    # the 'shifted' learner whose table is not moved when the potential changes: it is the
    # learner initialised at Q0 + Phi_0, which does not act as the annealed one
    ex = shaping_dynamic
    real = ex.dynamic_q_learning

    def unshifted(mdp, n, *, potentials, **kw):
        if kw.get("mode") == "shifted":
            potentials = np.asarray(potentials, dtype=float)[:1]
        return real(mdp, n, potentials=potentials, **kw)

    assert _still_holding("shaping_dynamic", ["wiewiora_fails_shifted_table_holds"],
                          lambda mp: mp.setattr(ex, "dynamic_q_learning", unshifted),
                          monkeypatch) == []


# ----------------------------------------------------------------------- reward redistribution
def test_redistribution_claims_fail_with_the_sparse_reward(monkeypatch):
    # no redistribution at all: nothing changes below gamma = 1 and the reward is Markov
    ex = shaping_redistribution
    real = ex.redistribute
    names = ["undiscounted_values_unchanged", "discounting_breaks_invariance",
             "not_markov_potential_shaping"]
    assert _still_holding("shaping_redistribution", names,
                          lambda mp: mp.setattr(ex, "redistribute",
                                                lambda r, w, mixing=1.0: real(r, w, mixing=0.0)),
                          monkeypatch) == []


def test_redistribution_equivalence_fails_with_weights_that_do_not_sum_to_one(monkeypatch):
    # dense credit that sums to (1 + 0.1 mixing) r(y): the gamma = 1 values move
    ex = shaping_redistribution
    real = ex.redistribute

    def breaker(mp):
        mp.setattr(ex, "redistribute",
                   lambda r, w, mixing=1.0: real(r, w, mixing=mixing) * (1.0 + 0.1 * mixing))

    assert _still_holding("shaping_redistribution", ["undiscounted_values_unchanged"],
                          breaker, monkeypatch) == []


# --------------------------------------------------------------------------------- statuses
@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_claim_states_its_evidence(name):
    claims = EXPERIMENTS[name].claims(copy.deepcopy(_baseline(name)))
    assert claims
    for c in claims:
        assert c.status in STATUSES, f"{name}/{c.name} states no status"
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip()
