"""Every claim can fail: break the mechanism it is about and watch it fail.

These tests feed an experiment's ``claims`` the numbers a broken mechanism would produce (an
identity off by a rounding-sized error turned into a real one, a bound exceeded, an ordering
reversed), starting from the real quick-mode numbers, so that a claim whose test cannot fail is
caught: it would pass the perturbed numbers too. The tests that break the mechanisms themselves
and rerun the experiments are in ``tests/test_claims_fail_{losses,games,design_a,design_b}.py``.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest

from prefrl.registry import discover_experiments

EXPERIMENTS = discover_experiments()


@functools.cache
def _numbers(name):
    return EXPERIMENTS[name].run(quick=True, seed=0)


def _claims(name, numbers):
    return {c.name: c for c in EXPERIMENTS[name].claims(numbers)}


def _holds_after(name, claim, perturb):
    numbers = copy.deepcopy(_numbers(name))
    assert _claims(name, numbers)[claim].holds, f"{name}/{claim} should hold unperturbed"
    perturb(numbers)
    return _claims(name, numbers)[claim].holds


def _set(*path, value):
    def go(numbers):
        d = numbers
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return go


def _scale(*path, by):
    def go(numbers):
        d = numbers
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = np.asarray(d[path[-1]], dtype=float) * by
    return go


def _reverse(*path):
    def go(numbers):
        d = numbers
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = np.asarray(d[path[-1]])[::-1].copy()
    return go


# (experiment, claim, perturbation: what a broken mechanism would produce)
PERTURBED = [
    ("core_gibbs_frontier", "no_policy_above_frontier", _set("max_excess_over_frontier", value=1e-3)),
    ("dno_improvement", "regression_is_spi_target", _set("worst_regression_error", value=1e-4)),
    ("dno_improvement", "one_step_improvement", _set("worst_improvement_shortfall", value=1e-3)),
    ("epic_gridworld", "equivalent_rewards_at_distance_zero", _set("max_within_equivalent", value=0.01)),
    ("epic_gridworld", "pseudometric_on_the_table", _set("max_triangle_violation", value=0.01)),
    ("epic_gridworld", "l1_table_matches_authors_heatmap",
     lambda n: n["table_l1"].update(n["table"])),  # the Pearson values: the wrong metric
    ("epic_gridworld", "penalty_at_distance_one",
     lambda n: n["table"].update({"sparse_goal vs sparse_penalty": 0.9})),
    ("expressivity_separations", "random_mr_orderings_expressible",
     lambda n: n.update(random_mr_expressible=n["n_random"] - 1)),
    ("ipo_finite_sample", "rlhf_mle_equals_dpo", _set("max_rlhf_mle_vs_dpo_policy_gap", value=1e-3)),
    ("nash_md_convergence", "nash_md_bound", _set("max_bound_excess", value=1e-3)),
    ("nash_md_convergence", "solvers_agree", _set("max_fixed_point_vs_cvxpy", value=1e-2)),
    ("pmpo_negative_feedback", "threshold_negatives_only",
     lambda n: n.update(beta_star_bisection=n["beta_star"] * 1.01)),
    ("pmpo_negative_feedback", "threshold_falls_with_alpha", _reverse("threshold_vs_alpha")),
    ("shaping_dynamic", "wiewiora_fails_shifted_table_holds",
     _set("shifted_max_q_error", value=1e-3)),
    ("shaping_dynamic", "wiewiora_fails_shifted_table_holds",
     _set("wiewiora_init_identical_actions", value=True)),
    ("shaping_dynamic", "dynamic_potentials_speed_up_early_learning",
     _reverse("mean_steps_early")),
    ("shaping_ng_grid", "same_optimal_policy", _set("same_optimal_action_sets", value=False)),
    ("shaping_ng_grid", "same_optimal_policy", _set("max_q_shift_error", value=1e-3)),
    ("shaping_ng_grid", "wiewiora_equivalence", _set("wiewiora_identical_actions", value=False)),
    ("shaping_ng_grid", "shaping_learns_faster", _reverse("mean_steps_first_trials")),
    ("shaping_redistribution", "undiscounted_values_unchanged",
     _set("value_gap_at_gamma_1", value=1e-3)),
    ("shaping_redistribution", "discounting_breaks_invariance",
     _set("fraction_changed_at_lowest_gamma", value=0.0)),
    ("spo_minimax_winner", "expl_equals_regret_over_T", _set("max_identity_error", value=1e-6)),
    ("spo_sequential_mdp", "sequential_identity", _set("max_identity_error", value=1e-6)),
    ("token_credit", "implicit_reward_mean_nonpositive",
     _set("random_max_mean_implicit_reward", value=1e-3)),
    ("token_credit", "soft_bellman_identity", _set("main", "soft_bellman_err", value=1e-6)),
    ("token_credit", "telescopes_to_sequence_reward", _set("main", "telescope_err", value=1e-6)),
    ("token_credit", "backward_induction_is_sequence_gibbs",
     _set("random_worst", "closed_form_err", value=1e-6)),
    ("token_credit", "sequence_dpo_recovers_token_policy", _set("main", "dpo_token_err", value=1e-6)),
    ("dichotomy_sparse_samples", "rlhf_better_at_every_n",
     lambda n: n.update(mean_rlhf=n["mean_dpo"], mean_dpo=n["mean_rlhf"])),
    ("segment_reward_learning", "finite_sample_error_decreases",
     lambda n: n["error"].update({k: np.asarray(v)[:, ::-1] for k, v in n["error"].items()})),
    ("eva_curriculum", "eva_regret_creator_never_slower_across_instances",
     lambda n: n["sweep"]["instances"][0].update(speedup=0.9)),
    ("p2r_queries", "exact_answers_within_epsilon0",
     lambda n: n["max_error"].update(exact=2 * n["epsilon0"])),
    ("p2r_queries", "sampled_answers_within_epsilon0",
     lambda n: n["max_error"].update(sampled=2 * n["epsilon0"])),
    ("p2r_queries", "sampled_guarantee_needs_small_radius",
     lambda n: n["sweep"].update(max_error=np.full_like(np.asarray(n["sweep"]["max_error"]), 1.0))),
    ("expressivity_hasse", "five_way_cells_settled",
     lambda n: n["counts"].update(failed=1)),
]


@pytest.mark.parametrize("name, claim, perturb", PERTURBED,
                         ids=[f"{n}/{c}" for n, c, _ in PERTURBED])
def test_claim_fails_on_the_numbers_of_a_broken_mechanism(name, claim, perturb):
    assert not _holds_after(name, claim, perturb)
