"""Every claim of the IPO, EXO, dichotomy, PMPO, Gibbs-frontier and value-iteration figures can fail.

Each case breaks one mechanism an experiment relies on (a library function it calls, monkeypatched
in the experiment's namespace: the closed form at the wrong KL weight, DPO trained with IPO's
bounded loss, a mislabelled comparison, the K-sample losses swapped, a Bellman backup that is not
the MDP's, ...), reruns the experiment in quick mode and checks that the claims about that
mechanism fail. A last test checks that the cases cover every claim of these experiments and that
every claim states what kind of evidence it is.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax

from prefrl import bandits, policies, restricted, training
from prefrl.experiments import (
    _ipo_protocol,
    core_gibbs_frontier,
    dichotomy_sparse_samples,
    dichotomy_value_gap,
    exo_vs_dpo,
    ipo_fig1,
    ipo_fig2_never_wins,
    ipo_finite_sample,
    ipo_two_action,
    mdp_vi_certificate,
    pmpo_negative_feedback,
)
from prefrl.mdp import TabularMDP

EXPERIMENTS = {m.__name__.rsplit(".", 1)[-1]: m for m in (
    ipo_two_action, ipo_fig1, ipo_fig2_never_wins, ipo_finite_sample, exo_vs_dpo,
    core_gibbs_frontier, dichotomy_sparse_samples, dichotomy_value_gap, pmpo_negative_feedback,
    mdp_vi_certificate)}


def _run(name):
    with warnings.catch_warnings():  # a broken mechanism may well overflow or take log(0)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return EXPERIMENTS[name].run(quick=True, seed=0)


@functools.cache
def _claims(name):
    return {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}


# ----------------------------------------------------------------- the broken mechanisms
# Each returns {attribute: replacement} for one target (a module or a class).

def _ipo_at_double_tau(target):
    """The IPO closed form solved at twice the KL weight."""
    if target is ipo_two_action:
        return {"ipo_optimum": lambda P, mu, ref, tau: bandits.ipo_optimum(P, mu, ref, 2 * tau)}
    return {"ipo_dataset_optimum":
            lambda w, lo, u, tau, **k: bandits.ipo_dataset_optimum(w, lo, u, 2 * tau, **k)}


def _dpo_with_ipo_loss(_):
    """DPO trained with IPO's bounded square loss (its logits can no longer run away)."""
    train = training.train_pairwise
    return {"train_pairwise": lambda loss, *a, **k: train("ipo" if loss == "dpo" else loss, *a, **k)}


def _regularised_dpo_optimum(_):
    """A 'DPO optimum' that exists and is regularised (the IPO one)."""
    return {"dpo_population_optimum": lambda P, mu, ref, tau: dataclasses.replace(
        bandits.ipo_optimum(P, mu, ref, tau), exists=True)}


def _slow_sgd(_):
    """Full-batch gradient descent at a hundredth of the step size."""
    return {"SGD": lambda lr: training.SGD(lr=lr / 100)}


def _third_comparison_reversed(_):
    """The third comparison of every dataset labelled the wrong way round."""
    train = training.train_pairwise

    def go(loss, winners, losers, **k):
        w, lo = np.array(winners), np.array(losers)
        w[:, 2], lo[:, 2] = lo[:, 2].copy(), w[:, 2].copy()
        return train(loss, w, lo, **k)
    return {"train_pairwise": go}


def _own_log_ratio_loss(_):
    """A loss on each response's own log-ratio (NCA), which moves the normaliser, not their gap."""
    train = training.train_pairwise
    return {"train_pairwise": lambda loss, *a, **k: train("nca_pair", *a, **k)}


def _ridge_mle_reward(_):
    """RLHF's 'unregularised' reward fit carries a ridge after all."""
    fit = bandits.rlhf_optimum
    return {"rlhf_optimum": lambda w, lo, u, b, l2=0.0: fit(w, lo, u, b, l2=max(l2, 0.5))}


def _dpo_is_ridge_rlhf(_):
    """DPO replaced by RLHF with the ridge reward (no longer overfits)."""
    fit = bandits.rlhf_optimum
    return {"dpo_dataset_optimum": lambda w, lo, u, b: fit(w, lo, u, b, l2=ipo_finite_sample.L2)}


def _ipo_population_at_double_tau(_):
    """IPO's population target at the wrong KL weight: the estimates converge elsewhere."""
    return {"ipo_optimum": lambda P, mu, ref, b: bandits.ipo_optimum(P, mu, ref, 2 * b)}


def _wrong_binomial_law(_):
    """The exact expectation taken under p = 0.7, the Monte Carlo draws under 0.8."""
    class Wrong:
        @staticmethod
        def pmf(k, n, p):
            return stats.binom.pmf(k, n, p - 0.1)
    return {"binom": Wrong}


def _reverse_projection_is_forward(_):
    """The reverse-KL projection computed in the forward direction (mean-seeking)."""
    fwd = restricted.forward_kl_projection
    return {"reverse_kl_projection": lambda t, f, r, **k: fwd(t, f, r)}


def _forward_projection_is_reverse(_):
    """The forward-KL projection computed in the reverse direction (mode-seeking)."""
    rev = restricted.reverse_kl_projection
    return {"forward_kl_projection": lambda t, f, r: rev(t, f, r, rng=0)}


def _exo_trained_as_dpo(_):
    train = restricted.train_k_sample
    return {"train_k_sample": lambda *a, method, **k: train(
        *a, method="dpo" if method == "exo" else method, **k)}


def _dpo_trained_as_exo_on_a_mode(_):
    """DPO replaced by the mode-seeking EXO loss, started (as EXO's best start is) on a mode."""
    train = restricted.train_k_sample
    left = exo_vs_dpo._mode_start(exo_vs_dpo.setup(), -1.5)
    return {"train_k_sample": lambda *a, method, init, **k: train(
        *a, method="exo", init=left, **k) if method == "dpo" else train(
        *a, method=method, init=init, **k)}


def _dpo_barely_trained(_):
    train = restricted.train_k_sample
    return {"train_k_sample": lambda *a, method, lr, **k: train(
        *a, method=method, lr=lr / 1000 if method == "dpo" else lr, **k)}


def _tilt_of_wrong_reference(_):
    """The Gibbs tilt of sqrt(pi_ref) (renormalised) instead of pi_ref."""
    gibbs = policies.gibbs
    return {"gibbs": lambda p, r, b: gibbs(np.sqrt(p) / np.sqrt(p).sum(), r, b)}


def _full_reward_class(_):
    """RLHF's reward model fitted in the full (tabular) class: the sparsity is not used."""
    fit = restricted.rlhf_restricted_dataset
    return {"rlhf_restricted_dataset": lambda w, lo, psi, phi, ref, b, **k: fit(
        w, lo, np.eye(psi.shape[0]), phi, ref, b, **k)}


def _coin_flip_labels(_):
    """Comparisons labelled by a fair coin, not by the reward."""
    def sample(rng, r, ref, n):
        a = rng.choice(r.size, size=n, p=ref)
        b = rng.choice(r.size, size=n, p=ref)
        first = rng.random(n) < 0.5
        return np.where(first, a, b), np.where(first, b, a)
    return {"_sample": sample}


def _dpo_at_double_beta(_):
    fit = restricted.dpo_restricted
    return {"dpo_restricted": lambda P, mu, phi, ref, b: fit(P, mu, phi, ref, 2 * b)}


def _rlhf_ignores_beta(_):
    """RLHF's policy step at beta = 0.05 whatever beta is asked."""
    fit = restricted.rlhf_restricted
    return {"rlhf_restricted": lambda P, mu, psi, phi, ref, b, **k: fit(P, mu, psi, phi, ref, 0.05,
                                                                        **k)}


def _rlhf_is_dpo(_):
    """'RLHF' that returns DPO's policy (no reward model)."""
    fit = restricted.dpo_restricted
    return {"rlhf_restricted": lambda P, mu, psi, phi, ref, b, **k: fit(P, mu, phi, ref, b)}


def _dpo_is_rlhf_with_full_rewards(_):
    fit = restricted.rlhf_restricted
    return {"dpo_restricted": lambda P, mu, phi, ref, b: fit(P, mu, np.eye(3), phi, ref, b, rng=0)}


def _threshold_off_by_one_percent(_):
    solve = bandits.pmpo_optimum

    def go(a, d, ref, alpha, beta):
        res = solve(a, d, ref, alpha, beta)
        return dataclasses.replace(res, beta_threshold=res.beta_threshold * 1.01)
    return {"pmpo_optimum": go}


def _ascent_step_too_small(_):
    ascent = pmpo_negative_feedback._ascent
    return {"_ascent": lambda c, n_steps, lr, record: ascent(c, n_steps, lr / 1000, record)}


def _log_probabilities_floored(_):
    """A parametrisation whose log-probabilities cannot go below -5."""
    return {"log_softmax": lambda x, axis: np.maximum(log_softmax(x, axis=axis), -5.0)}


def _alpha_weights_swapped(_):
    """alpha weighting the rejected set and 1 - alpha the accepted one."""
    solve = bandits.pmpo_optimum
    return {"pmpo_optimum": lambda a, d, ref, alpha, beta: solve(a, d, ref, 1.0 - alpha, beta)}


def _kl_weight_doubled(_):
    solve = bandits.pmpo_optimum
    return {"pmpo_optimum": lambda a, d, ref, alpha, beta: solve(a, d, ref, alpha, 2 * beta)}


def _backup_with_bonus(_):
    """A Bellman backup with a bonus of 0.1 on one action per state: not the MDP's operator."""
    q = TabularMDP.q_from_values

    def go(self, values):
        Q = q(self, values)
        S, A = Q.shape
        return Q + 0.1 * (np.arange(A)[None, :] == (np.arange(S) % A)[:, None])
    return {"q_from_values": go}


def _solver_ignores_tol(_):
    solve = TabularMDP.solve
    return {"solve": lambda self, method="pi", tol=1e-8, **k: solve(self, method, tol=tol * 1e4, **k)}


_P = _ipo_protocol
# (experiment, where to patch, the broken mechanism, the claims that must fail)
CASES = [
    ("ipo_two_action", ipo_two_action, _ipo_at_double_tau,
     ["ipo_tau=0.1", "ipo_tau=0.5", "ipo_tau=1.0"]),
    ("ipo_two_action", ipo_two_action, _regularised_dpo_optimum, ["dpo_greedy_every_tau"]),
    ("ipo_two_action", ipo_two_action, _slow_sgd, ["gradient_descent_agrees"]),
    ("ipo_fig1", _P, _ipo_at_double_tau, ["ipo_D1_tau=0.1", "ipo_D1_tau=0.5", "ipo_D1_tau=1.0"]),
    ("ipo_fig1", _P, _dpo_with_ipo_loss, ["dpo_D1_greedy"]),
    ("ipo_fig1", _P, _third_comparison_reversed, ["D2_cycle_uniform"]),
    ("ipo_fig2_never_wins", _P, _own_log_ratio_loss, ["printed_D3_leaves_c_untouched"]),
    ("ipo_fig2_never_wins", _P, _dpo_with_ipo_loss, ["dpo_never_wins_to_zero"]),
    ("ipo_fig2_never_wins", _P, _ipo_at_double_tau,
     ["ipo_never_wins_tau=1.0", "ipo_never_wins_tau=0.5", "ipo_never_wins_tau=0.1"]),
    ("ipo_finite_sample", ipo_finite_sample, _ridge_mle_reward, ["rlhf_mle_equals_dpo"]),
    ("ipo_finite_sample", ipo_finite_sample, _dpo_is_ridge_rlhf, ["dpo_overfits_small_n"]),
    ("ipo_finite_sample", ipo_finite_sample, _ipo_population_at_double_tau, ["all_consistent"]),
    ("ipo_finite_sample", ipo_finite_sample, _wrong_binomial_law, ["monte_carlo_matches_exact"]),
    ("exo_vs_dpo", exo_vs_dpo, _reverse_projection_is_forward,
     ["reverse_projection_on_taller_mode", "reverse_projection_is_stationary"]),
    ("exo_vs_dpo", exo_vs_dpo, _forward_projection_is_reverse,
     ["forward_projection_matches_moments"]),
    ("exo_vs_dpo", exo_vs_dpo, _exo_trained_as_dpo,
     ["exo_K16_on_mode", "exo_K16_near_reverse_limit"]),
    ("exo_vs_dpo", exo_vs_dpo, _dpo_trained_as_exo_on_a_mode, ["dpo_spreads"]),
    ("exo_vs_dpo", exo_vs_dpo, _dpo_barely_trained, ["dpo_K16_near_forward_limit"]),
    ("core_gibbs_frontier", core_gibbs_frontier, _tilt_of_wrong_reference,
     ["no_policy_above_frontier"]),
    ("dichotomy_sparse_samples", dichotomy_sparse_samples, _full_reward_class,
     ["rlhf_better_at_every_n", "large_gap"]),
    ("dichotomy_sparse_samples", dichotomy_sparse_samples, _coin_flip_labels,
     ["both_consistent"]),
    ("dichotomy_value_gap", dichotomy_value_gap, _dpo_at_double_beta,
     ["a_both_reach_optimum", "b_isomorphic_identical", "d_dpo_never_worse"]),
    ("dichotomy_value_gap", dichotomy_value_gap, _rlhf_ignores_beta, ["c_rlhf_never_worse"]),
    ("dichotomy_value_gap", dichotomy_value_gap, _rlhf_is_dpo,
     ["c_strict_gap", "c_rlhf_is_best_in_class", "d_strict_gap"]),
    ("dichotomy_value_gap", dichotomy_value_gap, _dpo_is_rlhf_with_full_rewards,
     ["c_dpo_uniform"]),
    ("pmpo_negative_feedback", pmpo_negative_feedback, _threshold_off_by_one_percent,
     ["threshold_negatives_only"]),
    ("pmpo_negative_feedback", pmpo_negative_feedback, _ascent_step_too_small,
     ["ascent_converges_above_threshold"]),
    ("pmpo_negative_feedback", pmpo_negative_feedback, _log_probabilities_floored,
     ["ascent_diverges_below_threshold"]),
    ("pmpo_negative_feedback", pmpo_negative_feedback, _alpha_weights_swapped,
     ["threshold_falls_with_alpha"]),
    ("pmpo_negative_feedback", pmpo_negative_feedback, _kl_weight_doubled,
     ["closed_form_alpha_half"]),
    ("mdp_vi_certificate", TabularMDP, _backup_with_bonus,
     ["ng_grid.certificate_is_valid", "random_mdp.certificate_is_valid"]),
    ("mdp_vi_certificate", TabularMDP, _solver_ignores_tol,
     ["ng_grid.solver_stops_on_span_rule", "ng_grid.solver_certificate_is_valid",
      "random_mdp.solver_stops_on_span_rule", "random_mdp.solver_certificate_is_valid"]),
]


@pytest.mark.parametrize("name, target, broken, must_fail", CASES,
                         ids=[f"{c[0]}-{c[2].__name__.strip('_')}" for c in CASES])
def test_breaking_the_mechanism_fails_the_claim(name, target, broken, must_fail, monkeypatch):
    before = _claims(name)
    assert all(before[c].holds for c in must_fail), f"{name}: {must_fail} should hold unbroken"
    for attr, replacement in broken(target).items():
        assert hasattr(target, attr), f"{target!r} has no {attr!r} to break"
        monkeypatch.setattr(target, attr, replacement)
    after = {c.name: c for c in EXPERIMENTS[name].claims(_run(name))}
    still = [c for c in must_fail if after[c].holds]
    assert not still, f"{name}: {still} still hold after {broken.__name__}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_claim_states_its_evidence_and_can_be_broken(name):
    claims = _claims(name)
    unstated = [c.name for c in claims.values() if c.status is None]
    assert not unstated, f"{name}: claims without a status: {unstated}"
    for c in claims.values():
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1, c.name
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip(), c.name
    covered = {claim for case in CASES if case[0] == name for claim in case[3]}
    assert covered == set(claims), f"{name}: no breaking case for {set(claims) - covered}"
