"""Theorem checks of :mod:`prefrl.reward_design`: the teacher's LP and the start bias of fine-tuning.

- ``reward_design.q_map_is_target_q``: the linear map of :func:`target_q_map` gives the target's
  action values (against :meth:`TabularMDP.evaluate`);
- ``reward_design.margin_keeps_target_optimal``: the designed reward keeps the target optimal with
  action gap >= delta (an independent :meth:`TabularMDP.solve`), and the h-step look-ahead gaps
  too (Devidze et al. 2021; Puterman 1994, policy improvement);
- ``reward_design.l1_minimal_by_dual``: the LP's L1 norm equals the value of the dual LP, built
  here from unit-reward evaluations and solved separately (weak duality makes it a lower bound);
- ``reward_design.terminal_law_by_enumeration``: the controlled terminal law against the optimal
  path law found by enumerating every path (Domingo-Enrich et al. 2025, discrete analogue);
- ``reward_design.memoryless_unbiased``, ``reward_design.point_mass_unbiased``,
  ``reward_design.controlled_start_unbiased``: the three cases where the fine-tuned law is the
  tilted target.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from prefrl.mdp import TabularMDP
from prefrl.registry import theorem
from prefrl.reward_design import (
    controlled_terminal_law,
    design_reward,
    target_q_map,
    tilted_target,
)

from ._draws import degenerate_transitions, tied_or_normal_rewards


def _absorbing(P):
    S = P.shape[0]
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


def draw_mdp(rng: np.random.Generator) -> dict:
    """A small MDP (absorbing states, zeros, ties), a deterministic target, a margin, a horizon."""
    S, A = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    P = degenerate_transitions(rng, S, A)
    gamma = float(rng.choice([0.0, 0.5, 0.9]))
    R = tied_or_normal_rewards(rng, (S, A))
    mdp = TabularMDP(P, R, gamma)
    if rng.random() < 0.5:
        target = mdp.solve(tol=1e-12).policy.argmax(axis=1)
    else:
        target = rng.integers(A, size=S)
    return {
        "mdp": mdp,
        "target": target,
        "delta": float(rng.choice([0.0, 0.1, 0.5])),
        "r_max": float(rng.choice([0.5, 1.0, 3.0])),
        "horizon": [None, 1, 2, 4][int(rng.integers(4))],
    }


@theorem(
    "reward_design.q_map_is_target_q",
    claim="M_pi R (M_pi = I + gamma P~ (I - gamma Pi P~)^{-1} Pi) equals Q^pi of the reward R "
    "(zero on absorbing states), computed by TabularMDP.evaluate",
    reference="Puterman 1994, Thm 6.1.1; the linear map behind Devidze et al. 2021",
    draw=draw_mdp,
    tolerance=1e-9,
)
def q_map_is_target_q(inst: dict) -> float:
    """Largest gap between M_pi R and TabularMDP.evaluate(pi).q_values, relative."""
    mdp, target = inst["mdp"], inst["target"]
    P = mdp.dense_transitions()
    R = np.where(_absorbing(P)[:, None], 0.0, mdp.expected_rewards)
    q = TabularMDP(P, R, mdp.gamma).evaluate(target).q_values
    M = target_q_map(mdp, target)
    return float(np.abs(M @ R.ravel() - q.ravel()).max() / (1.0 + np.abs(q).max()))


def _h_step_q(P, R, gamma, act, h):
    """h-step look-ahead values of the target, by explicit recursion (no bootstrap at G)."""
    S = P.shape[0]
    live = ~_absorbing(P)
    Pt = P * live[None, None, :]
    V = np.zeros(S)
    for _ in range(h - 1):
        V = R[np.arange(S), act] + gamma * Pt[np.arange(S), act] @ V
    return R + gamma * np.einsum("sat,t->sa", Pt, V)


@theorem(
    "reward_design.margin_keeps_target_optimal",
    claim="under the designed reward the target is optimal with action gap >= delta at every "
    "non-absorbing state (an independent solve), and its h-step look-ahead gaps are >= "
    "delta when a horizon is asked for",
    reference="Devidze et al. 2021 (ExpRD); Puterman 1994, policy improvement (policy improvement)",
    draw=draw_mdp,
    tolerance=1e-7,
)
def margin_keeps_target_optimal(inst: dict) -> float:
    """Largest shortfall of an action gap below delta (or of |R| above r_max) on the solve."""
    mdp, act, delta = inst["mdp"], inst["target"], inst["delta"]
    P = mdp.dense_transitions()
    S, A = P.shape[:2]
    live = ~_absorbing(P)
    try:
        des = design_reward(mdp, act, delta=delta, r_max=inst["r_max"], horizon=inst["horizon"])
    except ValueError:
        # infeasible is only allowed when r_max < delta (R(s, a) = -delta off target is feasible)
        return 0.0 if inst["r_max"] < delta else 1.0
    R = des.rewards
    m = TabularMDP(P, R, mdp.gamma)
    sol = m.solve(tol=1e-13)
    Q = m.q_from_values(sol.values)
    viol = [float(np.abs(R).max() - inst["r_max"]), float(np.abs(R[~live]).max(initial=0.0))]
    qs = [Q] + ([_h_step_q(P, R, mdp.gamma, act, inst["horizon"])] if inst["horizon"] else [])
    for q in qs:
        own = q[np.arange(S), act]
        for s in np.flatnonzero(live):
            for a in range(A):
                if a != act[s]:
                    viol.append(float(delta - (own[s] - q[s, a])))
    return max(0.0, *viol)


@theorem(
    "reward_design.l1_minimal_by_dual",
    claim="the designed reward's L1 norm equals the optimum of the dual LP max delta 1'y - "
    "r_max 1'w s.t. |D'y| <= 1 + w, y, w >= 0 (a lower bound on every feasible reward)",
    reference="LP duality; the sparsity objective of Devidze et al. 2021",
    draw=draw_mdp,
    tolerance=1e-7,
)
def l1_minimal_by_dual(inst: dict) -> float:
    """|primal L1 - dual optimum| / (1 + primal L1), the dual built from unit-reward Q^pi."""
    mdp, act, delta, r_max = inst["mdp"], inst["target"], inst["delta"], inst["r_max"]
    if r_max < delta:
        return 0.0
    P = mdp.dense_transitions()
    S, A = P.shape[:2]
    live = ~_absorbing(P)
    des = design_reward(mdp, act, delta=delta, r_max=r_max)
    # the columns of the Q map, one unit reward at a time, by exact evaluation
    cols = []
    for s, a in itertools.product(np.flatnonzero(live), range(A)):
        e = np.zeros((S, A))
        e[s, a] = 1.0
        cols.append(TabularMDP(P, e, mdp.gamma).evaluate(act).q_values)
    rows = [
        [c[s, act[s]] - c[s, a] for c in cols]
        for s in np.flatnonzero(live)
        for a in range(A)
        if a != act[s]
    ]
    if not rows:
        return abs(des.value)
    D = np.array(rows)
    m, n = D.shape
    c = np.concatenate([-delta * np.ones(m), r_max * np.ones(n)])
    A_ub = np.block([[D.T, -np.eye(n)], [-D.T, -np.eye(n)]])
    res = linprog(c, A_ub=A_ub, b_ub=np.ones(2 * n), bounds=(0, None), method="highs")
    return abs(des.value - (-res.fun)) / (1.0 + des.value)


def draw_chain(rng: np.random.Generator) -> dict:
    """A start law (zeros, point masses), kernels (zeros, rank one), a reward and a KL weight."""
    n, T = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    K = rng.random((T, n, n)) * (rng.random((T, n, n)) < rng.choice([0.5, 1.0]))
    K[K.sum(axis=2) == 0, 0] = 1.0
    K /= K.sum(axis=2, keepdims=True)
    p0 = rng.dirichlet(np.ones(n)) * (rng.random(n) < 0.7)
    if p0.sum() == 0 or rng.random() < 0.2:
        p0 = np.eye(n)[rng.integers(n)]
    p0 = p0 / p0.sum()
    r = rng.integers(-1, 2, size=n).astype(float) if rng.random() < 0.3 else rng.normal(size=n) * 2
    memoryless = K.copy()
    t = int(rng.integers(T))
    memoryless[t] = np.repeat(rng.dirichlet(np.ones(n))[None], n, axis=0)
    return {
        "p0": p0,
        "kernels": K,
        "memoryless_kernels": memoryless,
        "reward": r,
        "beta": float(rng.choice([0.1, 1.0, 10.0])),
    }


def _enumerated_law(p0, K, r, beta):
    n, T = p0.size, K.shape[0]
    law = np.zeros(n)
    for x0 in np.flatnonzero(p0 > 0):
        w = np.zeros(n)
        for path in itertools.product(range(n), repeat=T):
            prob, x = 1.0, x0
            for t, y in enumerate(path):
                prob *= K[t, x, y]
                x = y
            w[x] += prob * np.exp(r[x] / beta)
        law += p0[x0] * w / w.sum()
    return law


@theorem(
    "reward_design.terminal_law_by_enumeration",
    claim="the controlled terminal law (backward induction) and the closed form e^{r/beta} "
    "sum_x0 p0 Kbar e^{-V0/beta} both equal the optimal path law of enumeration",
    reference="Domingo-Enrich et al. 2025 (Adjoint Matching), discrete analogue",
    draw=draw_chain,
    tolerance=1e-10,
)
def terminal_law_by_enumeration(inst: dict) -> float:
    """Largest gap of the solver's law and of the closed form to the enumerated law."""
    p0, K, r, beta = inst["p0"], inst["kernels"], inst["reward"], inst["beta"]
    res = controlled_terminal_law(p0, K, r, beta)
    Kbar = np.linalg.multi_dot([np.eye(p0.size), *K])
    closed = np.exp(r / beta) * ((p0 * np.exp(-res.values[0] / beta)) @ Kbar)
    brute = _enumerated_law(p0, K, r, beta)
    return float(max(np.abs(res.terminal_law - brute).max(), np.abs(closed - brute).max()))


@theorem(
    "reward_design.memoryless_unbiased",
    claim="if one base kernel has identical rows (X_T independent of X_0) the controlled "
    "terminal law is the tilted target p_base e^{r/beta}/Z",
    reference="Domingo-Enrich et al. 2025 (Adjoint Matching), the memoryless schedule",
    draw=draw_chain,
    tolerance=1e-10,
)
def memoryless_unbiased(inst: dict) -> float:
    """Largest gap between the controlled law of a memoryless chain and the tilted target."""
    res = controlled_terminal_law(
        inst["p0"], inst["memoryless_kernels"], inst["reward"], inst["beta"]
    )
    target = tilted_target(inst["p0"], inst["memoryless_kernels"], inst["reward"], inst["beta"])
    return float(np.abs(res.terminal_law - target).max())


@theorem(
    "reward_design.point_mass_unbiased",
    claim="with a point-mass start the controlled terminal law is the tilted target",
    reference="Domingo-Enrich et al. 2025 (Adjoint Matching), the memoryless condition",
    draw=draw_chain,
    tolerance=1e-10,
)
def point_mass_unbiased(inst: dict) -> float:
    """Largest gap between the controlled law from a point mass and the tilted target."""
    n = inst["p0"].size
    x0 = int(np.argmax(inst["p0"]))
    p0 = np.eye(n)[x0]
    res = controlled_terminal_law(p0, inst["kernels"], inst["reward"], inst["beta"])
    return float(np.abs(res.terminal_law - res.target).max())


@theorem(
    "reward_design.controlled_start_unbiased",
    claim="controlling the start law too (q_0 ∝ p_0 e^{V_0/beta}) gives the tilted target for "
    "every chain",
    reference="Domingo-Enrich et al. 2025 (Adjoint Matching), the memoryless condition",
    draw=draw_chain,
    tolerance=1e-10,
)
def controlled_start_unbiased(inst: dict) -> float:
    """Largest gap between the law with a controlled start and the tilted target."""
    res = controlled_terminal_law(
        inst["p0"], inst["kernels"], inst["reward"], inst["beta"], control_initial=True
    )
    target = tilted_target(inst["p0"], inst["kernels"], inst["reward"], inst["beta"])
    return float(np.abs(res.terminal_law - target).max())
