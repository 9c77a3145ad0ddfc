"""Theorems of reward shaping: Ng-Harada-Russell, Wiewiora, EPIC and reward redistribution."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from prefrl.mdp import TabularMDP
from prefrl.mdp.envs import token_tree
from prefrl.registry import theorem
from prefrl.shaping import (
    canonicalize,
    epic_distance,
    is_potential_based,
    necessity_counterexample,
    q_learning,
    redistribute,
    sarsa,
    sequence_value,
    shape,
    shaped_mdp,
)


def _transitions(rng, S, A):
    """Dirichlet rows with zeros, and some absorbing states."""
    P = rng.dirichlet(np.ones(S) * rng.choice([0.2, 1.0]), size=(S, A))
    P[P < 0.05] = 0.0
    for s, a in zip(*np.nonzero(P.sum(axis=2) == 0)):
        P[s, a, rng.integers(S)] = 1.0
    for s in range(S):
        if rng.random() < 0.25:
            P[s] = 0.0
            P[s, :, s] = 1.0
    return P / P.sum(axis=2, keepdims=True)


def _values(rng, shape_, grid=(-1.0, 0.0, 1.0)):
    """Half the time on a small grid (ties and zeros), else normal with a random scale."""
    if rng.random() < 0.5:
        return rng.choice(grid, size=shape_)
    return rng.normal(size=shape_) * float(rng.choice([0.1, 1.0, 10.0]))


def draw_shaping(rng: np.random.Generator) -> dict:
    """A random MDP (absorbing states, zeros, ties, gamma = 0 sometimes), potential and policies."""
    S, A = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    P = _transitions(rng, S, A)
    R = _values(rng, (S, A, S) if rng.random() < 0.5 else (S, A))
    gamma = float(rng.choice([0.0, 0.5, 0.9, 0.99])) if rng.random() < 0.5 else float(
        rng.uniform(0, 0.99))
    phi = np.zeros(S) if rng.random() < 0.15 else _values(rng, S, grid=(0.0, 1.0, -2.0, 5.0))
    mu = rng.dirichlet(np.ones(S))
    pols = []
    for _ in range(4):
        if rng.random() < 0.5:
            pi = np.zeros((S, A))
            pi[np.arange(S), rng.integers(A, size=S)] = 1.0
        else:
            pi = rng.dirichlet(np.ones(A), size=S)
        pols.append(pi)
    return {"P": P, "R": R, "gamma": gamma, "mu": mu, "phi": phi, "policies": pols}


def _mdps(inst):
    mdp = TabularMDP(inst["P"], inst["R"], inst["gamma"], inst["mu"])
    return mdp, shaped_mdp(mdp, inst["phi"])


def _scale(mdp, phi):
    return 1.0 + float(np.max(np.abs(phi))) + float(np.max(np.abs(mdp.expected_rewards))) / (
        1.0 - mdp.gamma)


@theorem(
    "shaping.ng_every_policy_value_shifts_by_minus_phi",
    claim="with R' = R + gamma Phi(s') - Phi(s), V'^pi = V^pi - Phi for every policy pi",
    reference="Ng, Harada and Russell 1999 (ICML), proof of Theorem 1",
    draw=draw_shaping,
    tolerance=1e-9,
)
def ng_every_policy_value_shifts(inst: dict) -> float:
    """Largest |V'^pi - (V^pi - Phi)| over the drawn policies, relative to the value scale."""
    mdp, shaped = _mdps(inst)
    worst = 0.0
    for pi in inst["policies"]:
        d = shaped.evaluate(pi).values - (mdp.evaluate(pi).values - inst["phi"])
        worst = max(worst, float(np.max(np.abs(d))))
    return worst / _scale(mdp, inst["phi"])


@theorem(
    "shaping.ng_optimal_q_shift_same_optimal_actions",
    claim="Q*' = Q* - Phi(s), hence the same optimal actions in every state",
    reference="Ng, Harada and Russell 1999 (ICML), Theorem 1 (sufficiency)",
    draw=draw_shaping,
    tolerance=1e-8,
)
def ng_optimal_q_shift(inst: dict) -> float:
    """|Q*' - (Q* - Phi)| relative to scale, plus 1 if the argmax sets differ (beyond rounding)."""
    mdp, shaped = _mdps(inst)
    phi = inst["phi"]
    q, q2 = mdp.solve("pi").q_values, shaped.solve("pi").q_values
    scale = _scale(mdp, phi)
    err = float(np.max(np.abs(q2 - (q - phi[:, None])))) / scale
    adv = q - q.max(axis=1, keepdims=True)
    adv2 = q2 - q2.max(axis=1, keepdims=True)
    tol = 1e-8 * scale
    clear = (np.abs(adv) <= tol) | (np.abs(adv) >= 100 * tol)  # outside the rounding band
    differ = ((adv >= -10 * tol) != (adv2 >= -10 * tol)) & clear
    return err + float(differ.any())


@theorem(
    "shaping.ng_policy_ordering_preserved",
    claim="J'(pi) - J'(pi') = J(pi) - J(pi') for all policies and start distributions: shaping "
    "preserves the whole ordering of policies",
    reference="Ng, Harada and Russell 1999 (ICML), Theorem 1; the ordering form is standard",
    draw=draw_shaping,
    tolerance=1e-9,
)
def ng_policy_ordering(inst: dict) -> float:
    """Largest change of a pairwise return difference, relative to the value scale."""
    mdp, shaped = _mdps(inst)
    J = np.array([mdp.expected_return(p) for p in inst["policies"]])
    J2 = np.array([shaped.expected_return(p) for p in inst["policies"]])
    d = (J2[:, None] - J2[None, :]) - (J[:, None] - J[None, :])
    return float(np.max(np.abs(d))) / _scale(mdp, inst["phi"])


def draw_non_potential(rng: np.random.Generator) -> dict:
    """A shaping reward F, often action-independent, sometimes potential-based plus a small kick."""
    S, A = int(rng.integers(1, 5)), int(rng.integers(2, 4))
    gamma = float(rng.choice([0.0, 0.5, 0.9])) if rng.random() < 0.5 else float(rng.uniform(0, .99))
    kind = rng.integers(3)
    if kind == 0:
        F = _values(rng, (S, A, S))
    else:
        phi = _values(rng, S)
        F = gamma * phi[None, None, :] - phi[:, None, None] + np.zeros((S, A, S))
        if kind == 1:  # action-independent but not potential-based
            i, j = rng.integers(S, size=2)
            F[i, :, j] += rng.choice([-1.0, 0.3, 2.0])
        else:  # one action gets a bonus
            F[rng.integers(S), rng.integers(A), rng.integers(S)] += rng.choice([-0.5, 0.01, 3.0])
    return {"F": F, "gamma": gamma}


@theorem(
    "shaping.ng_necessity_non_potential_flips_optimum",
    claim="for every non-potential F there are dynamics and a reward where no optimal policy "
    "of R + F is optimal for R (constructed by necessity_counterexample)",
    reference="Ng, Harada and Russell 1999 (ICML), Theorem 1 (necessity)",
    draw=draw_non_potential,
    tolerance=0.0,
)
def ng_necessity(inst: dict) -> float:
    """1 if the constructed MDPs share an optimal action at the chosen state (0 if F is potential-based)."""
    F, gamma = inst["F"], inst["gamma"]
    if is_potential_based(F, gamma, atol=1e-6).holds:
        return 0.0
    ce = necessity_counterexample(F, gamma, atol=1e-6)
    shared = set(ce.optimal_actions) & set(ce.shaped_optimal_actions)
    pol = ce.shaped.solve("pi").policy
    loss = ce.original.solve("pi").values[ce.state] - ce.original.evaluate(pol).values[ce.state]
    return float(bool(shared) or not ce.gap > 0 or not loss > 0)


def draw_wiewiora(rng: np.random.Generator) -> dict:
    """A small MDP (absorbing states, ties), a potential, Q0, learner and exploration rule."""
    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    return {
        "P": _transitions(rng, S, A),
        "R": _values(rng, (S, A, S)),
        "gamma": float(rng.choice([0.0, 0.9])) if rng.random() < 0.3 else float(rng.random()),
        "phi": _values(rng, S),
        "q0": _values(rng, (S, A)),
        "sarsa": bool(rng.random() < 0.5),
        "exploration": str(rng.choice(["epsilon", "boltzmann"])),
        "seed": int(rng.integers(2**31)),
    }


@theorem(
    "shaping.wiewiora_shaping_equals_q_initialisation",
    claim="Q-learning/SARSA on R + F_Phi from Q0 and on R from Q0 + Phi choose identical actions "
    "from the same random numbers, with Q'_t - Q_t = Phi at every step (exact arithmetic)",
    reference="Wiewiora 2003, JAIR 19:205-208, Theorem 1",
    draw=draw_wiewiora,
    tolerance=0.0,
)
def wiewiora(inst: dict) -> float:
    """1 if the action sequences differ, else the largest |Q'_t - Q_t - Phi| (exactly 0)."""
    P, S = inst["P"], inst["P"].shape[0]
    A = P.shape[1]
    mdp = TabularMDP(P, inst["R"], inst["gamma"])
    term = (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)
    phi = [Fraction(0) if t else Fraction(float(p)) for p, t in zip(inst["phi"], term)]
    q0_phi = np.array([[Fraction(float(q)) + phi[s] for q in inst["q0"][s]] for s in range(S)],
                      dtype=object)
    learner = sarsa if inst["sarsa"] else q_learning
    kw = dict(alpha=0.5, epsilon=0.2, exploration=inst["exploration"], max_steps=10,
              record_q=True, exact=True, terminal=term)
    a = learner(mdp, 3, rng=inst["seed"], q_init=inst["q0"], potential=inst["phi"], **kw)
    b = learner(mdp, 3, rng=inst["seed"], q_init=q0_phi, **kw)
    if not np.array_equal(a.actions, b.actions):
        return 1.0
    shift = np.array([[p] * A for p in phi], dtype=object)
    return max(float(np.max(np.abs((qb - qa - shift).astype(float))))
               for qa, qb in zip(a.q_history, b.q_history))


def draw_epic(rng: np.random.Generator) -> dict:
    """Three rewards (sometimes constant or potential-only), a potential, a scale, a shift."""
    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    gamma = float(rng.choice([0.0, 0.9, 0.99, 1.0])) if rng.random() < 0.5 else float(rng.random())
    Rs = [_values(rng, (S, A, S)) for _ in range(3)]
    if rng.random() < 0.2:  # a reward equivalent to a constant
        Rs[0] = shape(np.full((S, A, S), float(rng.normal())), rng.normal(size=S), gamma)
    cov = None
    if rng.random() < 0.5:
        cov = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.7)
        cov = cov / cov.sum() if cov.sum() > 0 else None
    return {"R": Rs, "gamma": gamma, "phi": _values(rng, S), "lam": float(10 ** rng.uniform(-2, 2)),
            "c": float(rng.normal() * 5), "coverage": cov}


@theorem(
    "shaping.epic_invariant_to_shaping_scale_shift",
    claim="D_EPIC(R, lambda (R + gamma Phi(s') - Phi(s)) + c) = 0 for lambda > 0, any Phi, c",
    reference="Gleave et al. 2021 (EPIC), Proposition 4.2 and Theorem 4.7",
    draw=draw_epic,
    tolerance=1e-7,
)
def epic_invariance(inst: dict) -> float:
    """The EPIC distance between R and an equivalent reward."""
    R, g = inst["R"][0], inst["gamma"]
    equiv = inst["lam"] * shape(R, inst["phi"], g) + inst["c"]
    return epic_distance(R, equiv, g, coverage=inst["coverage"])


@theorem(
    "shaping.epic_pseudometric",
    claim="D_EPIC is symmetric, in [0, 1], zero on the diagonal, satisfies the triangle "
    "inequality, and D(R, -R) = 1 unless R is equivalent to a constant",
    reference="Gleave et al. 2021 (EPIC), Theorem 4.7",
    draw=draw_epic,
    tolerance=1e-12,
)
def epic_pseudometric(inst: dict) -> float:
    """Largest violation among symmetry, range, identity, triangle and D(R, -R) = 1."""
    R1, R2, R3 = inst["R"]
    g, cov = inst["gamma"], inst["coverage"]
    d12, d21 = epic_distance(R1, R2, g, cov), epic_distance(R2, R1, g, cov)
    d13, d23 = epic_distance(R1, R3, g, cov), epic_distance(R2, R3, g, cov)
    v = max(abs(d12 - d21), max(0.0, d13 - d12 - d23), epic_distance(R1, R1, g, cov),
            max(0.0, d12 - 1.0), max(0.0, -d12))
    dneg = epic_distance(R2, -R2, g, cov)
    return max(v, min(dneg, abs(1.0 - dneg)))


@theorem(
    "shaping.epic_canonicalisation_idempotent",
    claim="C(C(R)) = C(R), and C(R + gamma Phi(s') - Phi(s) + c) = C(R)",
    reference="Gleave et al. 2021 (EPIC), Definition 4.1 and Proposition 4.2",
    draw=draw_epic,
    tolerance=1e-12,
)
def epic_canonical(inst: dict) -> float:
    """Largest |C(C(R)) - C(R)| and |C(shaped R) - C(R)|, relative to max|R| + max|Phi| + |c|."""
    R, g = inst["R"][1], inst["gamma"]
    C = canonicalize(R, g)
    scale = 1.0 + np.max(np.abs(R)) + np.max(np.abs(inst["phi"])) + abs(inst["c"])
    a = np.max(np.abs(canonicalize(C, g) - C))
    b = np.max(np.abs(canonicalize(shape(R, inst["phi"], g) + inst["c"], g) - C))
    return float(max(a, b) / scale)


def draw_redistribution(rng: np.random.Generator) -> dict:
    """A token tree, sequence rewards, weights (sometimes negative or one-hot), beta, a policy."""
    V, H = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    N = V**H
    r = _values(rng, N)
    W = rng.dirichlet(np.ones(H) * rng.choice([0.1, 1.0]), size=N)
    if rng.random() < 0.3:
        W = 2.0 * W - 1.0 / H
    beta = float(rng.choice([0.0, 1.0])) if rng.random() < 0.3 else float(rng.random())
    tree = token_tree(V, H, sequence_rewards=r)
    pi = rng.dirichlet(np.ones(V), size=tree.n_states)
    return {"V": V, "H": H, "r": r, "W": W, "beta": beta, "pi": pi}


@theorem(
    "shaping.redistribution_preserves_undiscounted_values",
    claim="spreading each sequence reward over its tokens with weights summing to one leaves "
    "every policy's undiscounted value on a token tree unchanged",
    reference="Chan et al. 2024 (Dense Reward for Free in RLHF), Sec. 4; exact form ours",
    draw=draw_redistribution,
    tolerance=1e-10,
)
def redistribution(inst: dict) -> float:
    """|J_dense(pi) - J_sparse(pi)| at gamma = 1, relative to 1 + max|r|."""
    tree = token_tree(inst["V"], inst["H"], sequence_rewards=inst["r"])
    dense = redistribute(inst["r"], inst["W"], inst["beta"])
    gap = sequence_value(tree, inst["pi"], dense, 1.0) - tree.evaluate(inst["pi"]).expected_return
    return abs(gap) / (1.0 + float(np.max(np.abs(inst["r"]))))
