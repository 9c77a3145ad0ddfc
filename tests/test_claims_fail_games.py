"""The claims of the game, self-play, online-DPO and token-credit figures fail when their mechanism
is broken.

Each test breaks the mechanism a claim is about, inside the library or the experiment (a self-play
learner that does not move or climbs the wrong way, a DNO step too large for its temperature, a
regression toward the wrong label, Nash-MD anchored with the wrong weight, an equilibrium solver
stopped early, PILAF pairs that are not PILAF's, a soft backward induction whose values and policy
disagree, DPO with the wrong KL weight, ...), reruns the experiment in quick mode and checks that
the claim no longer holds; the unbroken quick run must satisfy it. A last test checks that every
claim of these experiments states its kind of evidence.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import prefrl.games._self_play as self_play_module
import prefrl.token_credit as token_credit_module
from prefrl.experiments import (
    dno_improvement,
    nash_md_convergence,
    pilaf_online_dpo,
    spo_minimax_winner,
    spo_sequential_mdp,
    token_credit,
)
from prefrl.games import exploitability
from prefrl.mdp import TabularMDP
from prefrl.online import on_policy_pair_distribution, pilaf_pair_distribution
from prefrl.registry import STATUSES

EXPERIMENTS = {ex.__name__.rsplit(".", 1)[-1]: ex for ex in (
    dno_improvement, nash_md_convergence, pilaf_online_dpo, spo_minimax_winner,
    spo_sequential_mdp, token_credit)}


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


def _wrap(module, attr, change):
    """A breaker replacing ``module.attr`` by ``change(real)``."""
    def breaker(monkeypatch):
        monkeypatch.setattr(module, attr, change(getattr(module, attr)))
    return breaker


def _with_kwargs(**overrides):
    """``change`` for :func:`_wrap`: call the real function with some keywords overridden."""
    def change(real):
        def broken(*args, **kwargs):
            return real(*args, **{**kwargs, **overrides})
        return broken
    return change


# ------------------------------------------------------------------------------------- DNO


def _dno_step_too_large(real):
    """Conceptual DNO stepping with temperature eta/3 while the bound is stated with eta."""
    def broken(P, n_steps, *, beta=None, mode="exact", **kw):
        if mode == "exact" and beta is not None:
            beta = beta / 3
        return real(P, n_steps, beta=beta, mode=mode, **kw)
    return broken


def _dno_label_doubled(real):
    """The regression fitted toward the soft label sigma(2 (r_i - r_j)): the wrong target."""
    return lambda prev, reward, beta, **kw: real(prev, 2.0 * np.asarray(reward), beta, **kw)


# ------------------------------------------------------------------------------------ Nash-MD


def _nash_md_climbs_down(real):
    """Nash-MD fed the transposed game: every step lowers the learner's win rate."""
    return lambda P, *args, **kw: real(np.asarray(P, dtype=float).T, *args, **kw)


def _solver_stopped_early(real):
    """The fixed-point solver of the regularised game stopped after two iterations (its warning
    that it has not converged silenced)."""
    def broken(*args, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return real(*args, **{**kw, "max_iter": 2})
    return broken


def _regularised_nash_too_strong(real):
    """The regularised equilibrium computed with 50 times the KL weight (too close to mu)."""
    def broken(P, pi_ref=None, beta=1.0, **kw):
        if kw.get("method", "fixed_point") == "fixed_point":
            beta = 50.0 * beta
        return real(P, pi_ref, beta, **kw)
    return broken


# -------------------------------------------------------------------------------------- SPO


def _spo_descends(monkeypatch):
    """Hedge fed the negated win rates: the learner climbs towards the worst responses."""
    real = self_play_module.win_rate_oracle

    def broken(P, n_samples, rng):
        oracle = real(P, n_samples, rng)
        return lambda pi: -oracle(pi)

    monkeypatch.setattr(self_play_module, "win_rate_oracle", broken)


def _lp_winner_uniform(real):
    """A 'minimax winner' that is the uniform policy, not the LP's solution."""
    def broken(P, *args, **kw):
        P = np.asarray(P, dtype=float)
        u = np.full(P.shape[0], 1.0 / P.shape[0])
        return SimpleNamespace(policy=u, exploitability=float(exploitability(P, u)))
    return broken


def _greedy_plan_is_soft(real):
    """Reward-model RLHF whose 'greedy' planner is a near-uniform soft one (KL weight 10)."""
    def broken(game, *, beta=None, **kw):
        return real(game, beta=10.0 if beta is None else beta, **kw)
    return broken


# ------------------------------------------------------------------------- token credit


def _backward_induction_mismatch(keep):
    """Soft backward induction whose values (``keep="policy"``) or policy (``keep="values"``)
    come from the solve at twice the KL weight: the two no longer satisfy the soft Bellman
    equations together."""
    def breaker(monkeypatch):
        real = TabularMDP.backward_induction

        def broken(self, horizon=None, beta=None, *args, **kw):
            res = real(self, horizon, beta, *args, **kw)
            other = real(self, horizon, 2.0 * beta, *args, **kw)
            swap = {"values": other.values} if keep == "policy" else {"policy": other.policy}
            return dataclasses.replace(res, **swap)

        monkeypatch.setattr(TabularMDP, "backward_induction", broken)
    return breaker


def _dpo_wrong_beta(real):
    """Sequence-level DPO solved with 1.5 times the KL weight."""
    return lambda P, mu, pi_ref, beta, **kw: real(P, mu, pi_ref, 1.5 * beta, **kw)


# ---------------------------------------------------------------------------------- PILAF


def _uniform_pairs(real):
    """PILAF pairs replaced by uniform pairs (offline DPO's data)."""
    def broken(policy, *args, **kw):
        return on_policy_pair_distribution(np.full(np.asarray(policy).shape, 1.0 / len(policy)))
    return broken


def _on_policy_instead_of_pilaf(real):
    """PILAF pairs replaced by on-policy pairs."""
    return lambda policy, *args, **kw: on_policy_pair_distribution(policy)


def _pilaf_instead_of_on_policy(real):
    """On-policy pairs replaced by T-PILAF pairs (with beta = 1, the near-realisable family's)."""
    def broken(policy):
        policy = np.asarray(policy, dtype=float)
        return pilaf_pair_distribution(policy, np.full(policy.size, 1.0 / policy.size), 1.0)
    return broken


def _rlhf_reward_in_policy_class(real):
    """RLHF whose reward model uses the policy features: a reward class that misses r*."""
    def broken(P, ref, psi, phi, *args, **kw):
        return real(P, ref, phi, phi, *args, **kw)
    return broken


# (experiment, claims that must fail, how the mechanism is broken)
BROKEN = [
    ("dno_improvement", ["one_step_improvement"],
     _wrap(dno_improvement, "dno", _dno_step_too_large)),
    ("dno_improvement", ["regression_is_spi_target"],
     _wrap(dno_improvement, "dno_regression_minimiser", _dno_label_doubled)),
    ("dno_improvement", ["exploitability_decreases"],
     _wrap(dno_improvement, "dno", _with_kwargs(beta=1e12))),  # a learner that does not move
    ("nash_md_convergence", ["nash_md_bound", "last_iterate_converges"],
     _wrap(nash_md_convergence, "nash_md", _nash_md_climbs_down)),
    ("nash_md_convergence", ["solvers_agree"],
     _wrap(nash_md_convergence, "regularized_nash", _solver_stopped_early)),
    ("nash_md_convergence", ["regularisation_bias"],
     _wrap(nash_md_convergence, "regularized_nash", _regularised_nash_too_strong)),
    ("spo_minimax_winner", ["expl_equals_regret_over_T", "rate_slope", "last_iterate_cycles"],
     _wrap(spo_minimax_winner, "spo", _with_kwargs(eta=1e-12))),  # a learner that does not move
    ("spo_minimax_winner", ["hedge_bound"], _spo_descends),
    ("spo_minimax_winner", ["bt_rlhf_exploitable"],
     _wrap(spo_minimax_winner, "minimax_winner", _lp_winner_uniform)),
    ("spo_sequential_mdp", ["sequential_identity", "spo_robust_rm_misled"],
     _wrap(spo_sequential_mdp, "sequential_spo", _with_kwargs(eta=1e-12))),
    ("spo_sequential_mdp", ["markovian_both_succeed"],
     _wrap(spo_sequential_mdp, "reward_model_rlhf", _greedy_plan_is_soft)),
    ("token_credit", ["soft_bellman_identity", "telescopes_to_sequence_reward"],
     _backward_induction_mismatch(keep="policy")),
    ("token_credit", ["backward_induction_is_sequence_gibbs", "implicit_reward_mean_nonpositive"],
     _backward_induction_mismatch(keep="values")),
    ("token_credit", ["sequence_dpo_recovers_token_policy"],
     _wrap(token_credit_module, "dpo_population_optimum", _dpo_wrong_beta)),
    ("pilaf_online_dpo", ["c_online_beats_offline_dpo", "c_online_reaches_rlhf"],
     _wrap(pilaf_online_dpo, "online_dpo_expected", _with_kwargs(lr=1e-12))),
    ("pilaf_online_dpo", ["c_sampled_runs_escape_uniform"],
     _wrap(pilaf_online_dpo, "online_dpo", _with_kwargs(lr=1e-12))),
    ("pilaf_online_dpo", ["c_rlhf_is_best_in_class"],
     _wrap(pilaf_online_dpo, "rlhf_restricted", _rlhf_reward_in_policy_class)),
    ("pilaf_online_dpo", ["b_online_pilaf_beats_both", "b_pilaf_at_least_on_policy"],
     _wrap(pilaf_online_dpo, "pilaf_pair_distribution", _uniform_pairs)),
    ("pilaf_online_dpo", ["c_pilaf_alignment_is_only_first_order", "near_realisable_pilaf_slope"],
     _wrap(pilaf_online_dpo, "pilaf_pair_distribution", _on_policy_instead_of_pilaf)),
    ("pilaf_online_dpo", ["near_realisable_on_policy_slope"],
     _wrap(pilaf_online_dpo, "on_policy_pair_distribution", _pilaf_instead_of_on_policy)),
]


@pytest.mark.parametrize("name, names, breaker", BROKEN,
                         ids=[f"{n}/{'+'.join(c)}" for n, c, _ in BROKEN])
def test_claims_fail_when_the_mechanism_is_broken(name, names, breaker, monkeypatch):
    assert _still_holding(name, names, breaker, monkeypatch) == []


def test_every_claim_of_these_experiments_is_broken_by_a_test():
    covered = {(n, c) for n, names, _ in BROKEN for c in names}
    stated = {(n, c) for n in EXPERIMENTS for c in _claims(n, copy.deepcopy(_baseline(n)))}
    assert stated == covered


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_claim_states_its_evidence(name):
    for c in EXPERIMENTS[name].claims(copy.deepcopy(_baseline(name))):
        assert c.status is not None, f"{name}/{c.name} states no status"
        assert c.status in STATUSES
        if c.status == "checked":
            assert isinstance(c.instances, int) and c.instances >= 1
        if c.status == "measured":
            assert c.sensitivity and c.sensitivity.strip()
