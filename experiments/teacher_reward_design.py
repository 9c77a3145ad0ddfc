"""Teacher-driven reward design: the L1-sparsest reward that keeps pi* optimal, and a Q-learner on it.

Devidze (2025, thesis) and Devidze et al. (2021, ExpRD): a teacher who knows the optimal policy
pi* of a 5x5 gridworld (sparse reward: 1 on entering the goal corner, gamma = 0.9) designs the
reward of smallest L1 norm, |R| <= R_max = 1, under which pi* keeps an action gap >= delta in
every state (an LP, prefrl.reward_design.design_reward; our formulation: the papers' ExpRD
maximises a hinge informativeness under an l0 budget). Every designed reward is certified by an
independent TabularMDP solve (pi* optimal, gap >= delta) and by the dual LP, solved here
separately (weak duality gives a lower bound equal to the LP's value).

Learning curves (the ExpRD protocol: Q-learning with lr 0.5, epsilon 0.1, episodes of at most
50 steps, mean over seeds; prefrl.shaping.q_learning, the one TD loop) of the learner's greedy
policy (ties shared uniformly), scored by its expected return under the TRUE reward relative to
pi*'s: on the original sparse reward, on the designed reward, on the original reward shaped by
the potential V* (Ng et al. 1999), and under the adaptive teacher (the reward re-designed every
2 episodes with margin delta where the learner's greedy action is wrong and delta/10 where it
is right; prefrl.reward_design.adaptive_teacher_q_learning). With margin 0 where the learner
agrees the target stays optimal but not uniquely, and the learner drifts between tied actions
(shown as a dashed curve, no claim).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from prefrl.mdp import TabularMDP, envs
from prefrl.plotting import new_figure, save_figure
from prefrl.registry import Claim
from prefrl.reward_design import adaptive_teacher_q_learning, design_reward, target_q_map
from prefrl.shaping import q_learning, shaping_reward

TITLE = "A teacher's sparsest reward keeps pi* optimal and speeds up Q-learning"
PAPER = (
    "Devidze 2025, 'Reward Design for Reinforcement Learning Agents' (thesis); Devidze et "
    "al. 2021, 'Explicable Reward Design for Reinforcement Learning Agents'"
)

DELTA, R_MAX, LR, EPS, MAX_STEPS, PHASE_EPISODES = 0.5, 1.0, 0.5, 0.1, 50, 2


def _world():
    return envs.gridworld(5, 5, gamma=0.9, start=(0, 0))


def _live(mdp):
    P = mdp.dense_transitions()
    S = mdp.n_states
    return ~(P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


def _score(mdp, Q, j_star):
    """Expected true return of the greedy policy (ties shared uniformly), relative to pi*'s."""
    ties = (Q >= Q.max(axis=1, keepdims=True) - 1e-9).astype(float)
    return mdp.expected_return(ties / ties.sum(axis=1, keepdims=True)) / j_star


def _curve(mdp, env, seed, n_phases, j_star, potential=None):
    rng = np.random.default_rng(seed)
    Q = np.zeros((mdp.n_states, mdp.n_actions))
    out = [_score(mdp, Q, j_star)]
    for _ in range(n_phases):
        run = q_learning(
            env,
            PHASE_EPISODES,
            lr=LR,
            epsilon=EPS,
            rng=rng,
            init=Q,
            max_steps=MAX_STEPS,
            potential=potential,
        )
        Q = np.asarray(run.q_values, dtype=float)
        out.append(_score(mdp, Q, j_star))
    return out


def _independent_check(mdp, des, act, live, delta):
    """Solve the MDP with the designed reward: is pi* the optimum, with gap >= delta?"""
    m = TabularMDP(mdp.dense_transitions(), des.rewards, mdp.gamma, initial=mdp.initial)
    sol = m.solve(tol=1e-12)
    Q = m.q_from_values(sol.values)
    own = Q[np.arange(m.n_states), act]
    Qo = Q.copy()
    Qo[np.arange(m.n_states), act] = -np.inf
    gap = (own - Qo.max(axis=1))[live]
    return float(gap.min() - delta), bool(np.all(sol.policy.argmax(axis=1)[live] == act[live]))


def _dual_value(mdp, act, live, delta, r_max):
    """max delta 1'y - r_max 1'w, y, w >= 0, |D'y| <= 1 + w (D: margin rows of the Q map)."""
    S, A = mdp.n_states, mdp.n_actions
    M = target_q_map(mdp, act)
    rows = [
        M[s * A + act[s]] - M[s * A + a]
        for s in range(S)
        if live[s]
        for a in range(A)
        if a != act[s]
    ]
    D = np.array(rows)[:, np.repeat(live, A)]  # rewards on absorbing states are fixed to 0
    m, n = D.shape
    c = np.concatenate([-delta * np.ones(m), r_max * np.ones(n)])
    A_ub = np.block([[D.T, -np.eye(n)], [-D.T, -np.eye(n)]])
    res = linprog(c, A_ub=A_ub, b_ub=np.ones(2 * n), bounds=(0, None), method="highs")
    return float(-res.fun)


def run(quick: bool = False, seed: int = 0) -> dict:
    mdp = _world()
    sol = mdp.solve(tol=1e-12)
    pi = sol.policy
    act = pi.argmax(axis=1)
    live = _live(mdp)
    j_star = mdp.expected_return(pi)
    A = mdp.n_actions
    n_seeds, n_phases = (10, 20) if quick else (40, 30)
    seeds = [seed * 1000 + i for i in range(n_seeds)]
    # --- the LP across margins, with and without the local horizon h = 1
    deltas = np.linspace(0.05, 1.0, 6 if quick else 20)
    sweep = {
        "l1": [],
        "nnz": [],
        "l1_h1": [],
        "nnz_h1": [],
        "gap_excess": [],
        "optimal": [],
        "kkt": [],
        "dual_gap": [],
    }
    for d in deltas:
        des = design_reward(mdp, pi, delta=float(d), r_max=R_MAX)
        excess, same = _independent_check(mdp, des, act, live, float(d))
        sweep["l1"].append(des.value)
        sweep["nnz"].append(des.n_nonzero)
        sweep["gap_excess"].append(excess)
        sweep["optimal"].append(same)
        sweep["kkt"].append(des.certificate)
        sweep["dual_gap"].append(abs(des.value - _dual_value(mdp, act, live, float(d), R_MAX)))
        try:
            h1 = design_reward(mdp, pi, delta=float(d), r_max=R_MAX, horizon=1)
            sweep["l1_h1"].append(h1.value)
            sweep["nnz_h1"].append(h1.n_nonzero)
        except ValueError:  # infeasible under r_max
            sweep["l1_h1"].append(None)
            sweep["nnz_h1"].append(None)
    des = design_reward(mdp, pi, delta=DELTA, r_max=R_MAX)
    designed = TabularMDP(mdp.dense_transitions(), des.rewards, mdp.gamma, initial=mdp.initial)
    F = shaping_reward(sol.values, mdp.gamma, A, terminal=~live)
    pbrs_r = mdp.expected_rewards + np.einsum("sat,sat->sa", mdp.dense_transitions(), F)
    curves = {
        "original": [_curve(mdp, mdp, s, n_phases, j_star) for s in seeds],
        "designed": [_curve(mdp, designed, s, n_phases, j_star) for s in seeds],
        "pbrs_vstar": [_curve(mdp, mdp, s, n_phases, j_star, potential=sol.values) for s in seeds],
    }
    nnz_adaptive = {}
    for name, base in (("adaptive", DELTA / 10), ("adaptive_base0", 0.0)):
        runs = [
            adaptive_teacher_q_learning(
                mdp,
                pi,
                n_phases=n_phases,
                phase_episodes=PHASE_EPISODES,
                delta=DELTA,
                r_max=R_MAX,
                base_margin=base,
                lr=LR,
                epsilon=EPS,
                rng=s,
                max_steps=MAX_STEPS,
            )
            for s in seeds
        ]
        curves[name] = [[_score(mdp, Q, j_star) for Q in r.q_history] for r in runs]
        nnz_adaptive[name] = float(np.mean([r.n_nonzero.mean() for r in runs]))
    mean = {k: np.mean(v, axis=0) for k, v in curves.items()}
    sem = {k: np.std(v, axis=0) / np.sqrt(len(v)) for k, v in curves.items()}
    return {
        "episodes": (np.arange(n_phases + 1) * PHASE_EPISODES).tolist(),
        "mean": {k: v.tolist() for k, v in mean.items()},
        "sem": {k: v.tolist() for k, v in sem.items()},
        "area": {k: float(v.mean()) for k, v in mean.items()},
        "n_seeds": n_seeds,
        "deltas": deltas.tolist(),
        "sweep": sweep,
        "designed_l1": des.value,
        "designed_nnz": des.n_nonzero,
        "designed_rewards": des.rewards.tolist(),
        "original_nnz": int(np.sum(np.abs(mdp.expected_rewards[live]) > 1e-9)),
        "pbrs_nnz": int(np.sum(np.abs(pbrs_r[live]) > 1e-9)),
        "adaptive_mean_nnz": nnz_adaptive,
        "n_live_entries": int(live.sum() * A),
        "notes": "Our LP reading of ExpRD (L1 for l0, margins as constraints); the adaptive "
        "teacher re-solves with margin delta only where the learner's greedy action "
        "is wrong (delta/10 elsewhere). Scores: true expected return of the greedy "
        "policy (ties shared uniformly) over pi*'s.",
    }


def _first_reach(curve, level=0.95):
    idx = np.flatnonzero(np.asarray(curve) >= level)
    return int(idx[0]) if idx.size else len(curve)


def claims(numbers: dict) -> list[Claim]:
    sw = numbers["sweep"]
    mean, area = numbers["mean"], numbers["area"]
    l1 = np.asarray(sw["l1"])
    reach = {k: _first_reach(v) for k, v in mean.items()}
    return [
        Claim(
            name="designed_reward_keeps_target_optimal",
            claim="for every margin delta on the grid, an independent solve of the MDP with the "
            "designed reward returns pi* with action gap >= delta (to 1e-9)",
            ours={
                "min_gap_excess": float(min(sw["gap_excess"])),
                "all_optimal": all(sw["optimal"]),
            },
            holds=all(sw["optimal"]) and min(sw["gap_excess"]) > -1e-9,
            status="certified",
        ),
        Claim(
            name="designed_reward_is_l1_minimal",
            claim="the LP's L1 norm equals the value of the separately solved dual LP (a lower "
            "bound on every feasible reward), and the KKT certificate is below 1e-9",
            ours={"max_dual_gap": float(max(sw["dual_gap"])), "max_kkt": float(max(sw["kkt"]))},
            holds=max(sw["dual_gap"]) < 1e-7 and max(sw["kkt"]) < 1e-9,
            status="certified",
        ),
        Claim(
            name="sparsity_cost_grows_with_margin",
            claim="the minimal L1 norm is nondecreasing in delta (nested constraint sets), and "
            "the local-horizon (h = 1) design costs at least as much",
            ours={"l1": l1.round(4).tolist()},
            holds=bool(np.all(np.diff(l1) >= -1e-9))
            and all(b is None or b >= a - 1e-9 for a, b in zip(sw["l1"], sw["l1_h1"])),
            status="certified",
        ),
        Claim(
            name="sparsity_trade_off_with_pbrs",
            claim="at the smallest margin the designed reward has fewer non-zero entries than the "
            "reward shaped by the potential V*; at the learning margin delta = 0.5 it has "
            "more (informativeness costs sparsity)",
            ours={
                "designed_smallest_delta": numbers["sweep"]["nnz"][0],
                "designed_delta_0.5": numbers["designed_nnz"],
                "pbrs": numbers["pbrs_nnz"],
                "original": numbers["original_nnz"],
            },
            holds=numbers["sweep"]["nnz"][0] < numbers["pbrs_nnz"] < numbers["designed_nnz"],
            status="certified",
        ),
        Claim(
            name="designed_faster_than_original",
            claim="Q-learning on the designed reward reaches 95% of pi*'s true return earlier "
            "and has a larger area under the mean learning curve than on the sparse reward",
            ours={
                "area": {k: round(area[k], 4) for k in ("original", "designed")},
                "first_phase_95": {k: reach[k] for k in ("original", "designed")},
            },
            holds=area["designed"] > area["original"] and reach["designed"] < reach["original"],
            status="measured",
            sensitivity="seeds, the grid, the margin delta (0.1 is no faster than the sparse "
            "reward), lr and epsilon",
        ),
        Claim(
            name="adaptive_teacher_sparser_and_as_fast",
            claim="the adaptive teacher uses on average fewer non-zero reward entries than the "
            "fixed design and its learning curve's area is within 5% of the fixed design's",
            ours={
                "mean_nnz": numbers["adaptive_mean_nnz"]["adaptive"],
                "fixed_nnz": numbers["designed_nnz"],
                "area": {k: round(area[k], 4) for k in ("designed", "adaptive")},
            },
            holds=numbers["adaptive_mean_nnz"]["adaptive"] < numbers["designed_nnz"]
            and area["adaptive"] >= 0.95 * area["designed"],
            status="measured",
            sensitivity="seeds, the re-design period, the base margin (0 makes the learner "
            "drift between tied actions)",
        ),
    ]


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(1, 2, width=4.6, height=3.4)
    ax = axes[0, 0]
    x = np.asarray(numbers["episodes"])
    style = {
        "original": ("C0", "-", "sparse reward"),
        "designed": ("C3", "-", "designed (LP)"),
        "pbrs_vstar": ("C2", "-", r"shaped by $V^*$"),
        "adaptive": ("C1", "-", "adaptive teacher"),
        "adaptive_base0": ("C1", ":", "adaptive, base margin 0"),
    }
    for k, (c, ls, lab) in style.items():
        m, s = np.asarray(numbers["mean"][k]), np.asarray(numbers["sem"][k])
        ax.plot(x, m, color=c, ls=ls, label=lab)
        ax.fill_between(x, m - s, m + s, color=c, alpha=0.15, lw=0)
    ax.set_xlabel("episode")
    ax.set_ylabel(r"true return of greedy policy / $J(\pi^*)$")
    ax.set_title(f"Q-learning, {numbers['n_seeds']} seeds")
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    d = numbers["deltas"]
    sw = numbers["sweep"]
    ax.plot(d, sw["l1"], "o-", color="C3", label=r"$\|R\|_1$, full horizon")
    h1 = [np.nan if v is None else v for v in sw["l1_h1"]]
    ax.plot(d, h1, "s--", color="C4", label=r"$\|R\|_1$, also $h = 1$")
    ax.set_xlabel(r"margin $\delta$")
    ax.set_ylabel(r"minimal $\|R\|_1$")
    ax2 = ax.twinx()
    ax2.plot(d, sw["nnz"], color="k", lw=0.8, label="non-zeros")
    ax2.set_ylabel("non-zero entries")
    ax.set_title(r"The LP, $|R| \leq 1$")
    ax.legend(fontsize=6, loc="upper left")
    save_figure(fig, path)
