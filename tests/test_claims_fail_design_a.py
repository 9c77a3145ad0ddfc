"""Every claim of the expressivity, P2R, eva and ROLLIN figures can fail.

For each claim of ``expressivity_hasse``, ``expressivity_separations``, ``p2r_queries``,
``eva_curriculum`` and ``curriculum_rollin_scaling`` a test breaks the mechanism the claim is
about and checks that the claim no longer holds. Where the experiment is fast, the break is made
in the library (a premise of a lemma that fails, an evaluation off by a small error, a P2R that
queries on every request or mis-reads the link, a creator that prefers the least informative
prompts, a curriculum reduced to its target, without roll-in or with a roll-in that covers every state) and the
experiment is rerun in quick mode; otherwise the quick-mode numbers are perturbed the way the
broken mechanism would perturb them. A last test checks that every claim states its evidence.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest

import prefrl.curriculum._eva as eva_lib
import prefrl.curriculum._rollin as rollin_lib
import prefrl.expressivity._crosschecks as crosschecks
import prefrl.expressivity._lemmas as lemmas
import prefrl.expressivity._separations as separations
from prefrl.expressivity import (
    InnerNonlinearMR,
    MarkovReward,
    RegularisedRL,
    RewardMachineObjective,
    rm_witness_optimum,
)
from prefrl.registry import STATUSES, discover_experiments
from prefrl.reward_learning import P2ROracle, inverse_link, link_function

EXPERIMENTS = discover_experiments()
MINE = ("expressivity_hasse", "expressivity_separations", "p2r_queries", "eva_curriculum",
        "curriculum_rollin_scaling")


@functools.cache
def _numbers(name):
    return EXPERIMENTS[name].run(quick=True, seed=0)


@pytest.fixture(autouse=True, scope="module")
def _unbroken_numbers():
    """The quick-mode numbers of the intact experiments, computed before any test breaks one."""
    for name in MINE:
        _numbers(name)


def _claims(name, numbers):
    return {c.name: c for c in EXPERIMENTS[name].claims(numbers)}


def _rerun(name):
    return _claims(name, EXPERIMENTS[name].run(quick=True, seed=0))


def _fails(name, claims, *which):
    real = _claims(name, _numbers(name))
    for w in which:
        assert real[w].holds, f"{name}/{w} should hold without the break"
        assert not claims[w].holds, f"{name}/{w} still holds with its mechanism broken"


def _perturbed(name, perturb):
    numbers = copy.deepcopy(_numbers(name))
    perturb(numbers)
    return _claims(name, numbers)


# ------------------------------------------------------------------ every claim states a status


@pytest.mark.parametrize("name", MINE)
def test_every_claim_states_its_evidence(name):
    claims = EXPERIMENTS[name].claims(_numbers(name))
    assert claims
    for c in claims:
        assert c.status is not None and c.status in STATUSES, f"{name}/{c.name}"
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1
        if c.status == "measured":
            assert c.sensitivity


def test_every_claim_has_a_failure_test():
    covered = {(n, c) for n, cs in COVERED.items() for c in cs}
    for name in MINE:
        for c in EXPERIMENTS[name].claims(_numbers(name)):
            assert (name, c.name) in covered, f"{name}/{c.name} has no failure test"


# ------------------------------------------------------------------ expressivity_hasse


def test_hasse_lemma_premises_failing_fail_the_cells(monkeypatch):
    # LTL values that are not rational over Q (both rational-form premises) and reward machines
    # that are not Lipschitz in the policy: the edge, transcendental-optimum and
    # irrational-slope lemmas lose a premise, so their cells and the table's count fail.
    monkeypatch.setattr(separations, "ltl_rational_gap_on_segment", lambda *a, **k: 1.0)
    monkeypatch.setattr(separations, "ltl_rational_gap_on_switch", lambda *a, **k: 1.0)
    monkeypatch.setattr(separations, "rm_lipschitz_excess", lambda *a, **k: 1.0)
    _fails("expressivity_hasse", _rerun("expressivity_hasse"), "RRL_not_RM", "RRL_not_LTL",
           "RM_not_LTL", "LAR_not_LTL", "five_way_cells_settled")


def test_hasse_kl_lemma_fails_when_the_rm_witness_is_rrl(monkeypatch):
    # The KL lemma's premise is a tie of the RM witness between two policies that
    # -KL(. || pi*) ranks apart. A "reward machine" whose values are those of the entropy-RRL
    # objective with the same optimum has no such tie.
    star = rm_witness_optimum()
    monkeypatch.setattr(lemmas, "RewardMachineObjective", lambda env, machine, labelling: (
        RegularisedRL(env, [list(np.log(star))], 0.5, alpha=1.0)))
    _fails("expressivity_hasse", _rerun("expressivity_hasse"), "RM_not_RRL")


def test_hasse_ltl_not_mr_fails_for_a_markov_ltl_witness(monkeypatch):
    real = separations.five_way_witnesses

    def markov_ltl(gamma):
        W = dict(real(gamma))
        env = W["LTL"][0]
        W["LTL"] = (env, MarkovReward(env, [[1.0, 0.5, 0.0]], gamma))
        return W

    monkeypatch.setattr(separations, "five_way_witnesses", markov_ltl)
    _fails("expressivity_hasse", _rerun("expressivity_hasse"), "LTL_not_MR")


def test_hasse_rm_not_mr_fails_for_a_markov_rm_witness(monkeypatch):
    real = separations.five_way_witnesses

    def markov_rm(gamma):
        W = dict(real(gamma))
        env = W["RM"][0]
        W["RM"] = (env, MarkovReward(env, [[0.0, 1.0, 0.3]], gamma))
        return W

    monkeypatch.setattr(separations, "five_way_witnesses", markov_rm)
    _fails("expressivity_hasse", _rerun("expressivity_hasse"), "RM_not_MR")


def test_hasse_embeddings_fail_when_an_evaluation_is_off(monkeypatch):
    # Each exact evaluation off by 1e-6: the product chain of reward machines, the return law of
    # INMR, and the automaton/BSCC probability of LTL.
    def off(real):
        return lambda self, policy: real(self, policy) + 1e-6

    monkeypatch.setattr(RewardMachineObjective, "values", off(RewardMachineObjective.values))
    monkeypatch.setattr(InnerNonlinearMR, "values", off(InnerNonlinearMR.values))
    real_sat = crosschecks.satisfaction_probability

    def sat(*a, **k):
        res = real_sat(*a, **k)
        return type(res)(**{**res.__dict__, "probability": res.probability + 1e-6})

    monkeypatch.setattr(crosschecks, "satisfaction_probability", sat)
    _fails("expressivity_hasse", _rerun("expressivity_hasse"), "MR_embedding_RM",
           "MR_embedding_INMR", "RM_embedding_FTR", "INMR_embedding_FTR", "LTL_embedding_FTR")


def test_hasse_incomparability_fails_without_a_certificate():
    def feasible(numbers):  # an LP that finds a reward: the "residual" is 1
        for e in numbers["edges"]:
            if e["kind"] == "incomparable":
                e["max_gap"] = 1.0

    _fails("expressivity_hasse", _perturbed("expressivity_hasse", feasible),
           "MR_incomparable_LAR")


# ------------------------------------------------------------------ expressivity_separations


def test_separations_fail_when_the_objectives_become_markov(monkeypatch):
    ex = EXPERIMENTS["expressivity_separations"]
    real_rrl, real_onmr = ex.RegularisedRL, ex.OuterNonlinearMR
    # alpha = 0 (no regulariser) and f = identity: both objectives are Markov rewards.
    monkeypatch.setattr(ex, "RegularisedRL",
                        lambda env, R, g, alpha: real_rrl(env, R, g, alpha=0.0))
    monkeypatch.setattr(ex, "OuterNonlinearMR", lambda env, R, g, f: real_onmr(env, R, g,
                                                                               lambda x: x))
    # A limit-average objective replaced by the Markov reward of the same reward.
    monkeypatch.setattr(ex, "LimitAverageReward",
                        lambda env, R: MarkovReward(env, R, ex.GAMMA))
    _fails("expressivity_separations", _rerun("expressivity_separations"), "RRL_not_le_MR",
           "ONMR_not_le_MR", "LAR_not_le_MR")


def test_separations_fail_on_a_certificate_that_does_not_close():
    def broken(numbers):
        for row in numbers["separations"]:
            if row["separation"] == "MR not <= LAR":
                row["residual"] = 1e-3

    _fails("expressivity_separations", _perturbed("expressivity_separations", broken),
           "MR_not_le_LAR")


def test_separation_controls_fail_when_the_lp_reward_does_not_reproduce(monkeypatch):
    ex = EXPERIMENTS["expressivity_separations"]
    real = ex.mr_expressible

    def wrong_reward(env, order, pols, gamma):
        res = real(env, order, pols, gamma)
        if res.feasible:  # the LP's reward, negated: it reverses every strict preference
            res = type(res)(**{**res.__dict__, "reward": -res.reward})
        return res

    monkeypatch.setattr(ex, "mr_expressible", wrong_reward)
    _fails("expressivity_separations", _rerun("expressivity_separations"), "controls_feasible",
           "random_mr_orderings_expressible")


# ------------------------------------------------------------------ p2r_queries


class _AlwaysQueries(P2ROracle):
    """A P2R without a confidence set: every request is a preference query."""

    def reward(self, tau_index):
        i = self._index(tau_index)
        self._n_calls += 1
        self._queried.append(i)
        z = float(self.true_theta @ self.diffs[i])
        if self.exact:
            return z
        m = self.n_comparisons_per_query
        p = self._rng.binomial(m, float(link_function(z))) / m
        return float(inverse_link(np.clip(p, 1e-12, 1 - 1e-12)))


class _Overconfident(P2ROracle):
    """A P2R whose confidence radius is 1e4 times too small."""

    @property
    def radius(self):
        return 1e-4 * super().radius


def test_p2r_that_always_queries_fails(monkeypatch):
    ex = EXPERIMENTS["p2r_queries"]
    monkeypatch.setattr(ex, "P2ROracle", _AlwaysQueries)
    _fails("p2r_queries", _rerun("p2r_queries"), "exact_queries_at_most_rank",
           "sampled_queries_flatten")


def test_p2r_with_a_misread_link_fails(monkeypatch):
    # The labeller answers with the probit link while P2R inverts the logistic one.
    ex = EXPERIMENTS["p2r_queries"]

    def probit_labeller(features, ref, **kw):
        if kw.get("exact"):
            theta = np.asarray(kw.pop("true_theta"))
            x = np.asarray(features) - np.asarray(features)[ref]
            kw["comparison_fn"] = lambda i: float(link_function(x[i] @ theta, "probit"))
        return P2ROracle(features, ref, **kw)

    monkeypatch.setattr(ex, "P2ROracle", probit_labeller)
    _fails("p2r_queries", _rerun("p2r_queries"), "exact_answers_within_epsilon0")


def test_p2r_with_an_overconfident_radius_fails(monkeypatch):
    ex = EXPERIMENTS["p2r_queries"]
    monkeypatch.setattr(ex, "P2ROracle", _Overconfident)
    _fails("p2r_queries", _rerun("p2r_queries"), "sampled_guarantee_needs_small_radius")


def test_p2r_with_too_few_comparisons_fails(monkeypatch):
    ex = EXPERIMENTS["p2r_queries"]
    monkeypatch.setattr(ex, "M_QUERIES", 10**4)  # beta_t > epsilon0^2 in the main runs
    _fails("p2r_queries", _rerun("p2r_queries"), "sampled_answers_within_epsilon0")


def test_p2r_with_reversed_preferences_fails(monkeypatch):
    ex = EXPERIMENTS["p2r_queries"]

    def reversed_labeller(features, ref, **kw):
        kw["true_theta"] = -np.asarray(kw["true_theta"])
        return P2ROracle(features, ref, **kw)

    monkeypatch.setattr(ex, "P2ROracle", reversed_labeller)
    _fails("p2r_queries", _rerun("p2r_queries"), "p2r_learns_like_true_reward")


# ------------------------------------------------------------------ eva_curriculum


def test_eva_with_a_uniform_creator_fails(monkeypatch):
    ex = EXPERIMENTS["eva_curriculum"]
    real = ex.eva

    def uniform(*args, **kw):
        kw.pop("kind", None), kw.pop("exact", None)
        kw["creator"] = "uniform"
        return real(*args, **kw)

    monkeypatch.setattr(ex, "eva", uniform)
    _fails("eva_curriculum", _rerun("eva_curriculum"), "eva_reaches_low_worst_regret_sooner",
           "eva_lowers_average_regret", "creator_upweights_hard_contexts")


def test_eva_with_a_creator_that_prefers_uninformative_prompts_fails(monkeypatch):
    real = eva_lib.creator_weights

    def inverted(info, temperature=1.0, buffer_mix=0.0):
        info = np.asarray(info, dtype=float)
        return real(1.0 / (info + 1e-3), temperature, buffer_mix)

    monkeypatch.setattr(eva_lib, "creator_weights", inverted)
    _fails("eva_curriculum", _rerun("eva_curriculum"),
           "eva_regret_creator_never_slower_across_instances",
           "eva_creators_never_slower_across_instances")


def test_eva_max_min_that_sees_the_regret_fails(monkeypatch):
    # A sample-only proxy that sees the regret has no blind spot in the first round.
    monkeypatch.setattr(eva_lib, "_sample_proxies",
                        lambda pi, r, n, kind, gen: eva_lib._expected_proxies(pi, r, n)["regret"])
    _fails("eva_curriculum", _rerun("eva_curriculum"),
           "max_min_creator_misreads_hard_contexts_first")


# ------------------------------------------------------------------ curriculum_rollin_scaling


def test_curriculum_reduced_to_its_target_fails(monkeypatch):
    # No curriculum: every stage is the target context, so the first stage learns it from
    # scratch and the others have nothing left to do.
    ex = EXPERIMENTS["curriculum_rollin_scaling"]
    real = ex.rollin
    monkeypatch.setattr(ex, "rollin", lambda contexts, mixing, lr, **kw: real(
        [contexts[-1]] * len(contexts), mixing, lr, **kw))
    _fails("curriculum_rollin_scaling", _rerun("curriculum_rollin_scaling"),
           "scratch_grows_faster_than_rollin")


def test_curriculum_without_roll_in_fails(monkeypatch):
    ex = EXPERIMENTS["curriculum_rollin_scaling"]
    real = ex.rollin
    monkeypatch.setattr(ex, "rollin",
                        lambda contexts, mixing, lr, **kw: real(contexts, 0.0, lr, **kw))
    # Without the roll-in (beta = 0) ROLLIN is the warm-started curriculum, which grows like
    # learning from scratch in this proxy.
    _fails("curriculum_rollin_scaling", _rerun("curriculum_rollin_scaling"),
           "warm_start_alone_is_not_enough", "scratch_grows_faster_than_rollin")


def test_curriculum_with_a_small_cap_fails(monkeypatch):
    ex = EXPERIMENTS["curriculum_rollin_scaling"]
    real = ex.rollin
    monkeypatch.setattr(ex, "rollin", lambda contexts, mixing, lr, **kw: real(
        contexts, mixing, lr, **{**kw, "max_iter": 20}))
    _fails("curriculum_rollin_scaling", _rerun("curriculum_rollin_scaling"), "rollin_converges")


def test_roll_in_that_covers_every_state_fails_the_mismatch_claim(monkeypatch):
    real = rollin_lib.rollin_initial

    def covering(mdp, previous_policy, mixing, initial=None):
        mu = real(mdp, previous_policy, mixing, initial)
        return 0.5 * mu + 0.5 / mu.size

    monkeypatch.setattr(rollin_lib, "rollin_initial", covering)
    _fails("curriculum_rollin_scaling", _rerun("curriculum_rollin_scaling"),
           "mismatch_stays_huge_under_rollin")


COVERED = {
    "expressivity_hasse": (
        "RRL_not_RM", "RRL_not_LTL", "RM_not_LTL", "LAR_not_LTL", "five_way_cells_settled",
        "RM_not_RRL", "LTL_not_MR", "RM_not_MR", "MR_embedding_RM", "MR_embedding_INMR",
        "RM_embedding_FTR", "INMR_embedding_FTR", "LTL_embedding_FTR", "MR_incomparable_LAR"),
    "expressivity_separations": (
        "RRL_not_le_MR", "ONMR_not_le_MR", "LAR_not_le_MR", "MR_not_le_LAR", "controls_feasible",
        "random_mr_orderings_expressible"),
    "p2r_queries": (
        "exact_queries_at_most_rank", "sampled_queries_flatten", "exact_answers_within_epsilon0",
        "sampled_guarantee_needs_small_radius", "sampled_answers_within_epsilon0",
        "p2r_learns_like_true_reward"),
    "eva_curriculum": (
        "eva_reaches_low_worst_regret_sooner", "eva_lowers_average_regret",
        "creator_upweights_hard_contexts", "eva_regret_creator_never_slower_across_instances",
        "eva_creators_never_slower_across_instances",
        "max_min_creator_misreads_hard_contexts_first"),
    "curriculum_rollin_scaling": (
        "scratch_grows_faster_than_rollin", "warm_start_alone_is_not_enough", "rollin_converges",
        "mismatch_stays_huge_under_rollin"),
}
