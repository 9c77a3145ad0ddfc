"""Theorems about objective-specification formalisms (Subramani et al., ICLR 2024).

The paper body was not read: the formalisms follow the project's notes, and the separating
environments (one state with two actions; stay/go) are the notes' own constructions.
"""

from __future__ import annotations

import numpy as np

from prefrl.expressivity import (
    LexicographicMultiObjective,
    LimitAverageReward,
    MarkovReward,
    OuterNonlinearMR,
    RegularisedRL,
    _cesaro_limit,
    discounted_occupancy,
    lar_expressible,
    limit_average_occupancy,
    mr_expressible,
    one_state_env,
    policy_ordering,
    stay_go_env,
)
from prefrl.mdp import TabularMDP
from prefrl.registry import theorem

REF = "Subramani et al. 2024 (ICLR), expressivity of objective-specification formalisms"


def random_env(rng: np.random.Generator, S: int | None = None, A: int | None = None) -> TabularMDP:
    """A random environment with sparse rows, sometimes with absorbing states and a point start."""
    S = int(rng.integers(1, 5)) if S is None else S
    A = int(rng.integers(1, 4)) if A is None else A
    P = rng.dirichlet(np.ones(S), size=(S, A)) * (rng.random((S, A, S)) < 0.6)
    P[..., 0] += P.sum(axis=2) == 0  # rows emptied by the mask go to state 0
    P /= P.sum(axis=2, keepdims=True)
    for s in range(S):
        if rng.random() < 0.25:  # absorbing state
            P[s] = 0.0
            P[s, :, s] = 1.0
    mu = np.eye(S)[int(rng.integers(S))] if rng.random() < 0.5 else rng.dirichlet(np.ones(S))
    return TabularMDP(P, np.zeros((S, A)), 0.0, mu)


def random_policy(rng: np.random.Generator, S: int, A: int) -> np.ndarray:
    """Stochastic, deterministic, or with zeros."""
    u = rng.random()
    if u < 0.3:
        return np.eye(A)[rng.integers(A, size=S)]
    pi = rng.dirichlet(np.ones(A), size=S)
    if u < 0.5:
        pi = pi * (rng.random((S, A)) < 0.6)
        pi[pi.sum(axis=1) == 0, 0] = 1.0
        pi /= pi.sum(axis=1, keepdims=True)
    return pi


def draw_mr_ordering(rng: np.random.Generator) -> dict:
    """Environment, reward (integer ones give ties), gamma, and up to 7 policies with duplicates."""
    env = random_env(rng)
    S, A = env.n_states, env.n_actions
    r = rng.integers(0, 2, size=(S, A)).astype(float) if rng.random() < 0.4 else rng.normal(size=(S, A))
    n = int(rng.integers(1, 8))
    pols = [random_policy(rng, S, A) for _ in range(n)]
    if n > 1 and rng.random() < 0.3:
        pols[-1] = pols[0].copy()
    gamma = float(rng.choice([0.0, 0.5, 0.9, 0.99]))
    return {"env": env, "reward": r, "gamma": gamma, "policies": pols}


@theorem(
    "expressivity.mr_orderings_are_mr_expressible",
    claim="the ordering a Markov reward induces on any finite policy set is found MR-expressible "
    "by the LP, and the LP's reward induces the same ordering",
    reference=REF + ", formalism MR (LP test ours)",
    draw=draw_mr_ordering,
    tolerance=0.0,
)
def mr_orderings_are_mr_expressible(inst: dict) -> float:
    """1 if the LP calls an MR ordering infeasible or its reward ranks the policies differently."""
    env, pols, g = inst["env"], inst["policies"], inst["gamma"]
    order = policy_ordering(MarkovReward(env, inst["reward"], g), pols)
    res = mr_expressible(env, order, pols, g)
    if not res.feasible:
        return 1.0
    again = policy_ordering(MarkovReward(env, res.reward, g), pols)
    return float(not np.array_equal(again.ranks, order.ranks))


def draw_occupancy(rng: np.random.Generator) -> dict:
    """Environment, an (S, A, S) reward, gamma and a policy."""
    env = random_env(rng)
    S, A = env.n_states, env.n_actions
    return {"env": env, "reward": rng.normal(size=(S, A, S)), "gamma": float(rng.uniform(0, 0.99)),
            "policy": random_policy(rng, S, A)}


@theorem(
    "expressivity.occupancy_identity",
    claim="J_R(pi) = <m^pi, r>: the discounted return equals the occupancy inner product with "
    "the expected reward r[s,a] = sum_s' P R",
    reference="Puterman 1994, Thm 6.9.1; the MR formalism of " + REF,
    draw=draw_occupancy,
    tolerance=1e-10,
)
def occupancy_identity(inst: dict) -> float:
    """Relative gap between mu0^T (I - gamma P_pi)^{-1} r_pi and <m^pi, r>."""
    env, R, g, pi = inst["env"], inst["reward"], inst["gamma"], inst["policy"]
    J = TabularMDP(env.transitions, R, g, env.initial).expected_return(pi)
    r = np.einsum("sat,sat->sa", env.dense_transitions(), R)
    inner = float(np.sum(discounted_occupancy(env, pi, g) * r))
    return abs(J - inner) / (1.0 + np.abs(r).max() / (1.0 - g))


def draw_mixture(rng: np.random.Generator) -> dict:
    """Environment with >= 2 actions, a base policy, a state and two actions to mix there."""
    env = random_env(rng, A=int(rng.integers(2, 4)))
    S, A = env.n_states, env.n_actions
    a, b = rng.choice(A, size=2, replace=False)
    return {"env": env, "policy": random_policy(rng, S, A), "state": int(rng.integers(S)),
            "actions": (int(a), int(b)), "gamma": float(rng.choice([0.0, 0.5, 0.9, 0.99]))}


@theorem(
    "expressivity.one_state_mixture_on_segment",
    claim="mixing two actions at one state with weight p moves the occupancy along the segment "
    "[m^{pi_0}, m^{pi_1}] monotonically in p, so every MR value is monotone in p (affine in p "
    "when the environment has one state)",
    reference="ours (linear-fractional form of the renewal at the mixed state); used for the "
    "MR separations in " + REF,
    draw=draw_mixture,
    tolerance=1e-9,
)
def one_state_mixture_on_segment(inst: dict) -> float:
    """Largest distance of m^{pi_p} from the segment plus any decrease of its position lambda(p)."""
    env, g, s = inst["env"], inst["gamma"], inst["state"]
    a, b = inst["actions"]
    base = inst["policy"].copy()

    def occ(p):
        pi = base.copy()
        pi[s] = 0.0
        pi[s, a], pi[s, b] = p, 1.0 - p
        return discounted_occupancy(env, pi, g)

    m0, m1 = occ(0.0), occ(1.0)
    dm = m1 - m0
    scale = 1.0 / (1.0 - g)
    norm2 = float(np.sum(dm * dm))
    worst, prev = 0.0, 0.0
    for p in np.linspace(0.0, 1.0, 11):
        mp = occ(p)
        if norm2 <= (1e-12 * scale) ** 2:
            worst = max(worst, float(np.max(np.abs(mp - m0))) / scale)
            continue
        lam = float(np.sum((mp - m0) * dm) / norm2)
        worst = max(worst, float(np.max(np.abs(mp - m0 - lam * dm))) / scale)
        worst = max(worst, prev - lam, lam - 1.0, -lam)
        prev = lam
    return worst


def draw_chain(rng: np.random.Generator) -> dict:
    """An environment and policy whose chain may have several recurrent classes or periods."""
    env = random_env(rng, S=int(rng.integers(1, 7)))
    pi = random_policy(rng, env.n_states, env.n_actions)
    if rng.random() < 0.3:  # a deterministic cycle: periodic chain
        S = env.n_states
        P = np.zeros((S, 1, S))
        P[np.arange(S), 0, (np.arange(S) + 1) % S] = 1.0
        env, pi = TabularMDP(P, np.zeros((S, 1)), 0.0, env.initial), np.ones((S, 1))
    return {"env": env, "policy": pi}


@theorem(
    "expressivity.cesaro_limit_identities",
    claim="the limit-average matrix P* satisfies P* P = P P* = P* P* = P*, rows sum to 1, and "
    "I - P + P* is nonsingular (the Cesaro limit of P), so LAR values are <nu^pi, r>",
    reference="Puterman 1994, Thm A.6 and Sec. A.4; the LAR formalism of " + REF,
    draw=draw_chain,
    tolerance=1e-9,
)
def cesaro_limit_identities(inst: dict) -> float:
    """Largest entry of P*P - P*, PP* - P*, P*P* - P*, row sums - 1; inf if I - P + P* singular."""
    env, pi = inst["env"], inst["policy"]
    P = np.einsum("sa,sat->st", pi, env.dense_transitions())
    Ps = _cesaro_limit(P)
    S = P.shape[0]
    if np.linalg.cond(np.eye(S) - P + Ps) > 1e12:
        return np.inf
    gaps = [Ps @ P - Ps, P @ Ps - Ps, Ps @ Ps - Ps, Ps.sum(axis=1) - 1.0, np.minimum(Ps, 0.0)]
    nu = limit_average_occupancy(env, pi)
    gaps.append(np.array([nu.sum() - 1.0]))
    return float(max(np.max(np.abs(x)) for x in gaps))


def draw_interior(rng: np.random.Generator) -> dict:
    """One-state two-action rewards (sometimes tied), gamma, RRL weight and an ONMR target."""
    r = rng.integers(0, 3, size=2).astype(float) if rng.random() < 0.3 else rng.normal(size=2)
    return {"reward": r[None, :], "gamma": float(rng.choice([0.0, 0.5, 0.9])),
            "alpha": float(abs(r[0] - r[1]) * rng.uniform(0.3, 3.0) + 10 ** rng.uniform(-2, 0)),
            "target": float(rng.uniform(0.2, 0.8)),
            "n_grid": int(rng.integers(5, 30))}


@theorem(
    "expressivity.onmr_rrl_not_mr",
    claim="in the one-state two-action environment the entropy-RRL ordering and the ONMR ordering "
    "J = -(J_R - c)^2 (c an interior return) on a p-grid, whenever the grid's best policy is "
    "interior, are not MR-expressible: the LP is infeasible with a Farkas certificate of "
    "residual ~0",
    reference="separation 1 of the project's notes (our construction) for RRL, ONMR vs MR of "
    + REF,
    draw=draw_interior,
    tolerance=1e-9,
)
def onmr_rrl_not_mr(inst: dict) -> float:
    """1 if a grid ordering with an interior optimum is called MR-expressible, else the residual."""
    env, r, g = one_state_env(), inst["reward"], inst["gamma"]
    worst = 0.0
    rrl = RegularisedRL(env, r, g, alpha=inst["alpha"])
    if r[0, 0] == r[0, 1]:
        r = np.array([[1.0, 0.0]])  # ONMR needs a non-constant return to have an interior optimum
    lo, hi = r.min() / (1 - g), r.max() / (1 - g)
    c = lo + inst["target"] * (hi - lo)
    onmr = OuterNonlinearMR(env, r, g, lambda x: -((x - c) ** 2))
    grid = np.linspace(0.0, 1.0, inst["n_grid"])
    pols = [np.array([[p, 1.0 - p]]) for p in grid]
    for J in (rrl, onmr):
        order = policy_ordering(J, pols)
        top = order.ranks == order.ranks.max()
        if top[0] or top[-1]:
            continue  # the claim is about interior optima (a monotone grid ordering is MR)
        res = mr_expressible(env, order, pols, g)
        scale = 1.0 / (1.0 - g)
        worst = max(worst, 1.0 if res.feasible else res.residual / scale)
    return worst


def draw_stay_go(rng: np.random.Generator) -> dict:
    """Gamma, a positive reward scale, a grid of p = pi(go) in (0, 1] and p = 0."""
    n = int(rng.integers(2, 12))
    grid = np.concatenate([[0.0], np.sort(rng.uniform(0.01, 1.0, size=n))])
    return {"gamma": float(rng.choice([0.0, 0.5, 0.9, 0.99])), "scale": float(rng.uniform(0.1, 10)),
            "grid": grid}


@theorem(
    "expressivity.lar_mr_incomparable",
    claim="in the stay/go environment the LAR ordering (reward on the absorbing state) is not "
    "MR-expressible for any gamma, and the MR ordering (reward on 'stay', gamma > 0) is not "
    "LAR-expressible; both LPs are infeasible with Farkas residual ~0",
    reference="separations 2 and 3 of the project's notes (our construction) for LAR vs MR of "
    + REF,
    draw=draw_stay_go,
    tolerance=1e-9,
)
def lar_mr_incomparable(inst: dict) -> float:
    """1 if either ordering is called expressible by the other formalism, else the residuals."""
    env, g, k = stay_go_env(), inst["gamma"], inst["scale"]
    pols = [np.array([[1.0 - p, p], [1.0, 0.0]]) for p in inst["grid"]]
    lar = policy_ordering(LimitAverageReward(env, [[0.0, 0.0], [k, k]]), pols)
    mr = policy_ordering(MarkovReward(env, [[k, 0.0], [0.0, 0.0]], max(g, 0.5)), pols)
    a = mr_expressible(env, lar, pols, g)
    b = lar_expressible(env, mr, pols)
    if a.feasible or b.feasible:
        return 1.0
    return max(a.residual * (1.0 - g), b.residual)


def draw_lexicographic(rng: np.random.Generator) -> dict:
    """As draw_mr_ordering, plus a second reward; the first is often 0/1 so that it ties policies."""
    inst = draw_mr_ordering(rng)
    S, A = inst["env"].n_states, inst["env"].n_actions
    inst["reward2"] = rng.integers(-1, 2, size=(S, A)).astype(float)
    if rng.random() < 0.5:
        inst["reward"] = np.zeros((S, A))  # the first objective ties everything
    return inst


@theorem(
    "expressivity.lexicographic_mr_is_mr_on_finite_sets",
    claim="on any finite set of policies, the lexicographic ordering of two MR objectives "
    "(a GOMORL objective) is MR-expressible (r1 + eps r2 for small eps), so separating GOMORL "
    "from MR needs infinitely many policies",
    reference="ours; GOMORL formalism of " + REF,
    draw=draw_lexicographic,
    tolerance=0.0,
)
def lexicographic_mr_is_mr_on_finite_sets(inst: dict) -> float:
    """1 if the LP calls the lexicographic ordering infeasible or its reward disagrees, else 0."""
    env, pols, g = inst["env"], inst["policies"], inst["gamma"]
    lex = LexicographicMultiObjective(env, [inst["reward"], inst["reward2"]], g)
    order = policy_ordering(lex, pols)
    res = mr_expressible(env, order, pols, g)
    if not res.feasible:
        return 1.0
    again = policy_ordering(MarkovReward(env, res.reward, g), pols)
    return float(not np.array_equal(again.ranks, order.ranks))
