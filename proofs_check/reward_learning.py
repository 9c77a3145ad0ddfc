"""Theorems about reward learning from segment comparisons (Christiano et al. 2017, tabular form).

Identifiability of a Bradley-Terry reward on segment returns, what shaping does to segment
preferences, and the convexity of the negative log-likelihood. Every instance is small; the draws
include ties (integer rewards), identical segments, segments with equal feature counts, equal and
unequal lengths, zero rewards and zero potentials, discounts 1 and below 1.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from prefrl.registry import theorem
from prefrl.reward_learning import (
    fit_segment_reward,
    segment_features,
    segment_preference_loss,
    segment_preference_probability,
    segment_returns,
)
from prefrl.shaping import shape

from ._draws import degenerate_transitions, tied_or_normal_rewards


def _segment(rng, S, A, L):
    return np.stack([rng.integers(0, S, L), rng.integers(0, A, L)], axis=1)


def draw_segment_pairs(rng: np.random.Generator, equal_lengths: bool | None = None) -> dict:
    """Pairs of segments on 1-4 states and 1-3 actions, with a reward of moderate scale.

    A fifth of the partners are copies (zero feature difference) or reorderings (equal counts);
    rewards are integers in {-1, 0, 1} half of the time (ties) and sometimes all zero.
    """
    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    n = int(rng.integers(1, 9))
    same_len = rng.random() < 0.5 if equal_lengths is None else equal_lengths
    L0 = int(rng.integers(1, 5))
    seg_a, seg_b = [], []
    for _ in range(n):
        La = L0 if same_len else int(rng.integers(1, 5))
        Lb = L0 if same_len else int(rng.integers(1, 5))
        a = _segment(rng, S, A, La)
        u = rng.random()
        if u < 0.1:
            b = a.copy()
        elif u < 0.2:
            b = a[rng.permutation(La)]
        else:
            b = _segment(rng, S, A, Lb)
        seg_a.append(a)
        seg_b.append(b)
    reward = tied_or_normal_rewards(rng, (S, A)) * float(rng.choice([0.0, 0.5, 1.0]))
    gamma = float(rng.choice([1.0, 0.9, 0.5]))
    return {"S": S, "A": A, "seg_a": seg_a, "seg_b": seg_b, "reward": reward, "gamma": gamma}


@theorem(
    "reward_learning.population_recovery_on_identifiable_subspace",
    claim="with population labels sigma(<r*, phi(a) - phi(b)>) the Bradley-Terry MLE exists and "
    "equals P_V r*, V = span of the feature differences (r* is recovered exactly on V, and the "
    "minimum-norm fit has no component outside V)",
    reference="Christiano et al. 2017, Sec. 2.2.3 (Eq. 1), tabular form; logistic regression "
    "first-order condition",
    draw=draw_segment_pairs,
    tolerance=1e-7,
)
def population_recovery(inst: dict) -> float:
    """max |P_V (r_hat - r*)| + max |r_hat - P_V r_hat|, or 1 if the MLE is reported missing."""
    S, A, g = inst["S"], inst["A"], inst["gamma"]
    a, b, r = inst["seg_a"], inst["seg_b"], inst["reward"]
    p = segment_preference_probability(r, a, b, gamma=g)
    fit = fit_segment_reward(a, b, p, S, A, gamma=g)
    if not (fit.exists and fit.converged):
        return 1.0
    on_v = np.abs(fit.project(fit.reward - r)).max()
    off_v = np.abs(fit.reward - fit.projected_reward).max()
    return float(on_v + off_v)


def _equal_length_pairs(rng: np.random.Generator) -> dict:
    inst = draw_segment_pairs(rng, equal_lengths=True)
    inst["shift"] = float(rng.choice([-3.0, 0.5, 10.0]))
    return inst


@theorem(
    "reward_learning.constant_shift_unidentifiable",
    claim="when all segments have equal length, the constant reward is orthogonal to every feature "
    "difference (also discounted): r and r + c give the same comparison probabilities, and the "
    "fitted reward sums to 0",
    reference="Christiano et al. 2017, Sec. 2.2 (tabular form: only span{phi(a) - phi(b)} is "
    "identified)",
    draw=_equal_length_pairs,
    tolerance=1e-9,
)
def constant_shift_unidentifiable(inst: dict) -> float:
    """|P_V 1| + max |P(r + c) - P(r)| + |sum(r_hat)| (scaled)."""
    S, A, g = inst["S"], inst["A"], inst["gamma"]
    a, b, r, c = inst["seg_a"], inst["seg_b"], inst["reward"], inst["shift"]
    p = segment_preference_probability(r, a, b, gamma=g)
    p_shift = segment_preference_probability(r + c, a, b, gamma=g)
    fit = fit_segment_reward(a, b, p, S, A, gamma=g)
    ones = np.ones((S, A))
    return float(np.abs(fit.project(ones)).max() + np.abs(p - p_shift).max()
                 + abs(fit.reward.sum()) / (1 + np.abs(fit.reward).max()))


def draw_shaping(rng: np.random.Generator) -> dict:
    """A random MDP (absorbing states, zero probabilities), a potential (sometimes 0 or tied) and
    state-action paths of 1-5 steps that follow the dynamics; half of the partner paths are
    forced to share both endpoints with their first segment."""
    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    P = degenerate_transitions(rng, S, A)
    reward = tied_or_normal_rewards(rng, (S, A))
    u = rng.random()
    phi = np.zeros(S) if u < 0.15 else (rng.integers(-1, 2, S).astype(float) if u < 0.5
                                        else rng.normal(size=S) * 2)
    n = int(rng.integers(1, 7))
    paths_a, paths_b = [], []
    for _ in range(n):
        pa = _path(rng, P, int(rng.integers(1, 6)))
        if rng.random() < 0.5:
            pb = _path(rng, P, int(rng.integers(1, 6)))
        else:  # same start and end state, other actions and middle states
            L = int(rng.integers(1, 6))
            pb = _path(rng, P, L)
            pb["states"][0], pb["states"][-1] = pa["states"][0], pa["states"][-1]
        paths_a.append(pa)
        paths_b.append(pb)
    return {"P": P, "reward": reward, "potential": phi, "paths_a": paths_a, "paths_b": paths_b}


def _path(rng, P, L):
    S, A, _ = P.shape
    states = [int(rng.integers(S))]
    actions = []
    for _ in range(L):
        a = int(rng.integers(A))
        actions.append(a)
        states.append(int(rng.choice(S, p=P[states[-1], a])))
    return {"states": np.array(states), "actions": np.array(actions)}


def _shaped_return(R_sas, path):
    s, a = path["states"], path["actions"]
    return float(R_sas[s[:-1], a, s[1:]].sum())


def _segments(paths):
    return [np.stack([p["states"][:-1], p["actions"]], axis=1) for p in paths]


@theorem(
    "reward_learning.shaping_shifts_segment_returns_by_endpoint_potentials",
    claim="with gamma = 1, potential-based shaping changes a segment's return by Phi(s_L) - "
    "Phi(s_0); so Bradley-Terry segment preferences change (strictly) unless the two segments' "
    "potential differences coincide, e.g. when they share both endpoints",
    reference="Ng, Harada, Russell 1999 (shaping F = gamma Phi(s') - Phi(s)); Christiano et al. "
    "2017, Eq. 1 (tabular form)",
    draw=draw_shaping,
    tolerance=1e-9,
)
def shaping_visible_to_segments(inst: dict) -> float:
    """Largest error of the return identity and of the shaped probability; 1 if a change that
    should be visible (potential terms differing by > 1e-6, moderate margin) is not."""
    P, r, phi = inst["P"], inst["reward"], inst["potential"]
    R_shaped = shape(r, phi, gamma=1.0)  # (S, A, S)
    worst = 0.0
    delta = {}
    for side in ("paths_a", "paths_b"):
        paths = inst[side]
        base = segment_returns(r, _segments(paths))
        for i, p in enumerate(paths):
            d = phi[p["states"][-1]] - phi[p["states"][0]]
            delta[side, i] = (base[i], d)
            worst = max(worst, abs(_shaped_return(R_shaped, p) - base[i] - d))
    for i, (pa, pb) in enumerate(zip(inst["paths_a"], inst["paths_b"])):
        (ga, da), (gb, db) = delta["paths_a", i], delta["paths_b", i]
        z = ga - gb
        p_before = expit(z)
        p_after = expit(_shaped_return(R_shaped, pa) - _shaped_return(R_shaped, pb))
        worst = max(worst, abs(p_after - expit(z + da - db)))
        same_ends = (pa["states"][0] == pb["states"][0]) and (pa["states"][-1] == pb["states"][-1])
        if same_ends:
            worst = max(worst, abs(p_after - p_before))
        elif abs(da - db) > 1e-6 and abs(z) < 20 and p_after == p_before:
            worst = 1.0
    del P
    return float(worst)


def draw_loss_point(rng: np.random.Generator) -> dict:
    """Segment pairs, labels in {0, 1/2, 1} or soft, a reward point, a direction, a ridge."""
    inst = draw_segment_pairs(rng)
    n = len(inst["seg_a"])
    u = rng.random()
    inst["labels"] = (rng.integers(0, 3, n) / 2.0 if u < 0.5 else rng.random(n))
    inst["point"] = rng.normal(size=(inst["S"], inst["A"])) * float(rng.choice([0.0, 0.5, 2.0]))
    inst["direction"] = rng.normal(size=(inst["S"], inst["A"]))
    inst["l2"] = float(rng.choice([0.0, 0.0, 0.1]))
    return inst


@theorem(
    "reward_learning.nll_convex_and_gradient_exact",
    claim="the segment Bradley-Terry NLL is convex (Hessian PSD; midpoint convexity along random "
    "lines) and its analytic gradient and Hessian match central finite differences",
    reference="Christiano et al. 2017, Sec. 2.2.3 (the loss); logistic regression is convex",
    draw=draw_loss_point,
    tolerance=1e-6,
)
def nll_convex_and_gradient_exact(inst: dict) -> float:
    """Largest of: -min eig(H), gradient and Hessian-vector errors vs finite differences, and the
    midpoint-convexity violation, each relative to the scale of the loss."""
    S, A, g = inst["S"], inst["A"], inst["gamma"]
    a, b, mu, l2 = inst["seg_a"], inst["seg_b"], inst["labels"], inst["l2"]
    x, v = inst["point"], inst["direction"]

    def loss(r):
        return segment_preference_loss(r, a, b, mu, gamma=g, l2=l2)

    at = loss(x)
    scale = 1.0 + abs(at.value) + float(np.abs(segment_features(a, S, A, g)).sum())
    worst = max(0.0, -float(np.linalg.eigvalsh(at.hessian).min())) / scale
    h = 1e-5
    for idx in np.ndindex(S, A):
        e = np.zeros((S, A))
        e[idx] = h
        fd = (loss(x + e).value - loss(x - e).value) / (2 * h)
        worst = max(worst, abs(fd - at.gradient[idx]) / scale)
    hv = (loss(x + h * v).gradient - loss(x - h * v).gradient).ravel() / (2 * h)
    worst = max(worst, float(np.abs(hv - at.hessian @ v.ravel()).max()) / scale)
    mid = loss(x + v).value
    avg = 0.5 * (loss(x).value + loss(x + 2 * v).value)
    return float(max(worst, (mid - avg) / scale))
