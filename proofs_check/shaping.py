"""Theorem checks of reward shaping (:mod:`prefrl.shaping`), one group per paper.

- ``shaping.ng_*``: Ng, Harada and Russell (1999), Theorem 1 (sufficiency and necessity);
- ``shaping.wiewiora_*``: Wiewiora (2003), shaping equals Q-value initialisation (exact);
- ``shaping.epic_*``: Gleave et al. (2021), EPIC's canonicalisation and pseudometric;
- ``shaping.redistribution_*``: Chan et al. (2024), redistribution keeps undiscounted values;
- ``shaping.dynamic_*``: Devlin and Kudenko (2012), dynamic potentials (invariance, truncation,
  and the shifted table that replaces Wiewiora's initialisation).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from prefrl.mdp import TabularMDP
from prefrl.mdp.envs import token_tree
from prefrl.registry import theorem
from prefrl.shaping import (
    canonicalize,
    dynamic_q_learning,
    dynamic_shaping_reward,
    epic_distance,
    evaluate_dynamic,
    is_potential_based,
    necessity_counterexample,
    q_learning,
    redistribute,
    sarsa,
    sequence_value,
    shape,
    shape_dynamic,
    shaped_mdp,
    shaping_reward,
    solve_dynamic,
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


def _absorbing_mask(P):
    """States every action keeps in place (P[s, a, s] = 1 up to 1e-12), shape (S,)."""
    S = P.shape[0]
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


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


def _optimal_sets_differ(q, q2, tol) -> bool:
    """Whether the argmax sets of q and q2 (over the last axis) differ outside the rounding band.

    An action counts as optimal within 10 tol of the best; entries of q whose advantage lies in
    the band (tol, 100 tol) are not judged.
    """
    adv = q - q.max(axis=-1, keepdims=True)
    adv2 = q2 - q2.max(axis=-1, keepdims=True)
    clear = (np.abs(adv) <= tol) | (np.abs(adv) >= 100 * tol)  # outside the rounding band
    differ = ((adv >= -10 * tol) != (adv2 >= -10 * tol)) & clear
    return bool(differ.any())


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
    return err + float(_optimal_sets_differ(q, q2, 1e-8 * scale))


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
    status="certified",  # exact rational arithmetic: each instance is settled exactly
)
def wiewiora(inst: dict) -> float:
    """1 if the action sequences differ, else the largest |Q'_t - Q_t - Phi| (exactly 0)."""
    P, S = inst["P"], inst["P"].shape[0]
    A = P.shape[1]
    mdp = TabularMDP(P, inst["R"], inst["gamma"])
    term = _absorbing_mask(P)
    phi = [Fraction(0) if t else Fraction(float(p)) for p, t in zip(inst["phi"], term)]
    q0_phi = np.array([[Fraction(float(q)) + phi[s] for q in inst["q0"][s]] for s in range(S)],
                      dtype=object)
    learner = sarsa if inst["sarsa"] else q_learning
    kw = dict(lr=0.5, epsilon=0.2, exploration=inst["exploration"], max_steps=10,
              record_q=True, exact=True, terminal=term)
    a = learner(mdp, 3, rng=inst["seed"], init=inst["q0"], potential=inst["phi"], **kw)
    b = learner(mdp, 3, rng=inst["seed"], init=q0_phi, **kw)
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
    """A token tree, sequence rewards, weights (sometimes negative or one-hot), mixing, a policy."""
    V, H = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    N = V**H
    r = _values(rng, N)
    W = rng.dirichlet(np.ones(H) * rng.choice([0.1, 1.0]), size=N)
    if rng.random() < 0.3:
        W = 2.0 * W - 1.0 / H
    mixing = float(rng.choice([0.0, 1.0])) if rng.random() < 0.3 else float(rng.random())
    tree = token_tree(V, H, sequence_rewards=r)
    pi = rng.dirichlet(np.ones(V), size=tree.n_states)
    return {"V": V, "H": H, "r": r, "W": W, "mixing": mixing, "pi": pi}


@theorem(
    "shaping.redistribution_preserves_undiscounted_values",
    claim="spreading each sequence reward over its tokens with weights summing to one leaves "
    "every policy's undiscounted (gamma = 1) value on a token tree unchanged; for gamma < 1 it "
    "does not hold in general (experiments/shaping_redistribution.py)",
    reference="Chan et al. 2024 (Dense Reward for Free in RLHF), Sec. 4; exact form ours",
    draw=draw_redistribution,
    tolerance=1e-10,
)
def redistribution(inst: dict) -> float:
    """|J_dense(pi) - J_sparse(pi)| at gamma = 1, relative to 1 + max|r|."""
    tree = token_tree(inst["V"], inst["H"], sequence_rewards=inst["r"])
    dense = redistribute(inst["r"], inst["W"], inst["mixing"])
    gap = sequence_value(tree, inst["pi"], dense, 1.0) - tree.evaluate(inst["pi"]).expected_return
    return abs(gap) / (1.0 + float(np.max(np.abs(inst["r"]))))


# ------------------------------------------------------- dynamic potentials (Devlin-Kudenko)
def draw_dynamic(rng: np.random.Generator) -> dict:
    """An MDP (absorbing states, ties, zeros), a time-varying potential and non-stationary policies.

    gamma in {0, 0.5, 0.99} or uniform (discounted), or a finite horizon with gamma in {0.5, 1};
    potentials zero, constant in time, annealed (c^t Phi) or arbitrary; Phi_H = 0 or not.
    """
    S, A = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    P = _transitions(rng, S, A)
    R = _values(rng, (S, A, S) if rng.random() < 0.5 else (S, A))
    finite = bool(rng.random() < 0.5)
    if finite:
        H = int(rng.integers(1, 6))
        gamma = float(rng.choice([0.5, 1.0, 1.0]))
        L = H + 1
    else:
        H = None
        gamma = float(rng.choice([0.0, 0.5, 0.99])) if rng.random() < 0.6 else float(
            rng.uniform(0, 0.99))
        L = int(rng.integers(1, 6))
    kind = int(rng.integers(4))
    if kind == 0:
        Phi = np.zeros((L, S))
    elif kind == 1:
        Phi = np.repeat(_values(rng, S, grid=(0.0, 1.0, -2.0, 5.0))[None], L, axis=0)
    elif kind == 2:
        Phi = float(rng.choice([0.0, 0.5, 2.0])) ** np.arange(L)[:, None] * _values(rng, S)[None]
    else:
        Phi = _values(rng, (L, S), grid=(0.0, 1.0, -2.0, 5.0))
    if finite and rng.random() < 0.7:
        Phi[-1] = 0.0
    n_layers = H if finite else L + 1
    pols = []
    for _ in range(3):
        k = int(rng.integers(1, n_layers + 1))
        if rng.random() < 0.5:
            pi = np.zeros((k, S, A))
            for t in range(k):
                pi[t, np.arange(S), rng.integers(A, size=S)] = 1.0
        else:
            pi = rng.dirichlet(np.ones(A), size=(k, S))
        pols.append(pi)
    term = _absorbing_mask(P) if rng.random() < 0.5 else None
    return {"P": P, "R": R, "gamma": gamma, "H": H, "mu": rng.dirichlet(np.ones(S)),
            "Phi": Phi, "policies": pols, "terminal": term}


def _dyn_mdp(inst):
    return TabularMDP(inst["P"], inst["R"], inst["gamma"], inst["mu"], inst["H"])


def _final_potential_zero(inst):
    """A copy of the instance with Phi_H = 0 for a finite horizon (unchanged if discounted)."""
    inst = dict(inst)
    if inst["H"] is not None:
        inst["Phi"] = inst["Phi"].copy()
        inst["Phi"][-1] = 0.0
    return inst


def _dyn_scale(inst):
    g, H = inst["gamma"], inst["H"]
    n = (H if H is not None else 1.0 / (1.0 - g)) if g < 1 or H is None else H
    return 1.0 + float(np.max(np.abs(inst["Phi"]))) + float(np.max(np.abs(inst["R"]))) * n


def _phi_eff(inst):
    """Phi~_t = Phi_t with the terminal states set to 0, shape (L, S)."""
    Phi = inst["Phi"]
    if inst["terminal"] is None:
        return Phi
    return np.where(inst["terminal"][None, :], 0.0, Phi)


@theorem(
    "shaping.dynamic_returns_telescope",
    claim="on every trajectory, sum_{t<T} gamma^t F_t(s_t, a_t, s_{t+1}) = gamma^T Phi_T(s_T) - "
    "Phi_0(s_0) for F_t = gamma Phi_{t+1}(s') - Phi_t(s) (all state-action sequences enumerated)",
    reference="Devlin and Kudenko 2012 (AAMAS), proof of single-agent policy invariance",
    draw=draw_dynamic,
    tolerance=1e-12,
)
def dynamic_telescoping(inst: dict) -> float:
    """Largest |shaping return - (gamma^T Phi_T(s_T) - Phi_0(s_0))| over all trajectories."""
    P, g, term = inst["P"], inst["gamma"], inst["terminal"]
    S, A = P.shape[0], P.shape[1]
    Phi = inst["Phi"]
    L = Phi.shape[0]
    Fd = dynamic_shaping_reward(Phi, g, A, term)
    Fs = shaping_reward(Phi[-1], g, A, term)
    pe = _phi_eff(inst)
    T = min(L + 1, 4) if S * A <= 6 else min(L + 1, 3)
    worst = 0.0
    # all state sequences (s_0..s_T) and action sequences, restricted to the dynamics' support
    # when the state is terminal (a terminal state only loops)
    seqs = [([s], [], 0.0) for s in range(S)]
    for t in range(T):
        nxt = []
        for states, acts, ret in seqs:
            s = states[-1]
            for a in range(A):
                for s2 in range(S):
                    if term is not None and term[s] and s2 != s:
                        continue
                    f = Fd[t, s, a, s2] if t < L - 1 else Fs[s, a, s2]
                    nxt.append(([*states, s2], [*acts, a], ret + g**t * f))
        seqs = nxt
    for states, _, ret in seqs:
        rhs = g**T * pe[min(T, L - 1), states[-1]] - pe[0, states[0]]
        worst = max(worst, abs(ret - rhs))
    return worst / (1.0 + float(np.max(np.abs(Phi))))


def _unshaped_layers(inst, pi):
    """Unshaped values V_t of a non-stationary policy, by a separate backward recursion."""
    mdp = _dyn_mdp(inst)
    P, r, g, H = inst["P"], mdp.expected_rewards, inst["gamma"], inst["H"]
    pis = pi if pi.ndim == 3 else pi[None]
    if H is None:
        L = max(inst["Phi"].shape[0], pis.shape[0])
        V = mdp.evaluate(pis[-1]).values
        Vs = [V]
        for t in range(L - 2, -1, -1):
            p = pis[min(t, pis.shape[0] - 1)]
            V = np.einsum("sa,sa->s", p, r + g * (P @ V))
            Vs.append(V)
        return np.array(Vs[::-1])
    V = np.zeros(P.shape[0])
    Vs = [V]
    for t in range(H - 1, -1, -1):
        p = pis[min(t, pis.shape[0] - 1)]
        V = np.einsum("sa,sa->s", p, r + g * (P @ V))
        Vs.append(V)
    return np.array(Vs[::-1])


def _terminal_potential_term(inst, pi):
    """gamma^{H-t} E[Phi_H(s_H) | s_t = s], shape (H + 1, S) (finite horizon)."""
    P, g, H = inst["P"], inst["gamma"], inst["H"]
    pis = pi if pi.ndim == 3 else pi[None]
    W = _phi_eff(inst)[H].copy()
    out = [W]
    for t in range(H - 1, -1, -1):
        p = pis[min(t, pis.shape[0] - 1)]
        W = g * np.einsum("sa,sat,t->s", p, P, W)
        out.append(W)
    return np.array(out[::-1])


@theorem(
    "shaping.dynamic_every_policy_value_shifts",
    claim="for every (non-stationary) policy and start time t, V'_t = V_t - Phi_t (discounted), "
    "and V'_t = V_t - Phi_t + gamma^(H-t) E[Phi_H(s_H)] for a finite horizon H (so exactly "
    "-Phi_t when Phi_H = 0)",
    reference="Devlin and Kudenko 2012 (AAMAS), single-agent policy invariance; "
    "the every-policy form is ours",
    draw=draw_dynamic,
    tolerance=1e-9,
)
def dynamic_value_shift(inst: dict) -> float:
    """Largest |V'_t - (V_t - Phi_t [+ terminal term])| over policies and layers, relative."""
    mdp = _dyn_mdp(inst)
    pe = _phi_eff(inst)
    worst = 0.0
    for pi in inst["policies"]:
        res = evaluate_dynamic(mdp, inst["Phi"], pi, terminal=inst["terminal"])
        V = _unshaped_layers(inst, pi)
        L = res.values.shape[0]
        expect = V - pe[np.minimum(np.arange(L), pe.shape[0] - 1)]
        if inst["H"] is not None:
            expect = expect + _terminal_potential_term(inst, pi)
            expect[-1] = 0.0  # no steps left: V'_H = 0
        worst = max(worst, float(np.max(np.abs(res.values - expect))))
    return worst / _dyn_scale(inst)


@theorem(
    "shaping.dynamic_policy_ordering_preserved",
    claim="J'(pi) - J'(pi') = J(pi) - J(pi') for all non-stationary policies (discounted, or "
    "finite horizon with Phi_H = 0): the whole ordering is unchanged",
    reference="Devlin and Kudenko 2012 (AAMAS), single-agent policy invariance; the ordering "
    "form is ours",
    draw=draw_dynamic,
    tolerance=1e-9,
)
def dynamic_ordering(inst: dict) -> float:
    """Largest change of a pairwise return difference (finite horizon: Phi_H set to 0)."""
    inst = _final_potential_zero(inst)
    mdp = _dyn_mdp(inst)
    J = np.array([inst["mu"] @ _unshaped_layers(inst, p)[0] for p in inst["policies"]])
    J2 = np.array([evaluate_dynamic(mdp, inst["Phi"], p, terminal=inst["terminal"]).expected_return
                   for p in inst["policies"]])
    d = (J2[:, None] - J2[None, :]) - (J[:, None] - J[None, :])
    return float(np.max(np.abs(d))) / _dyn_scale(inst)


@theorem(
    "shaping.dynamic_optimal_policies_unchanged",
    claim="Q'*_t = Q*_t - Phi_t(s) at every time t (discounted, or finite horizon with Phi_H = 0), "
    "hence the same optimal actions at every (t, s)",
    reference="Devlin and Kudenko 2012 (AAMAS), single-agent policy invariance",
    draw=draw_dynamic,
    tolerance=1e-8,
)
def dynamic_optimum(inst: dict) -> float:
    """|Q'*_t - (Q*_t - Phi_t)| relative, plus 1 if the argmax sets differ beyond rounding."""
    inst = _final_potential_zero(inst)
    mdp = _dyn_mdp(inst)
    res = solve_dynamic(mdp, inst["Phi"], terminal=inst["terminal"])
    pe = _phi_eff(inst)
    n = res.q_values.shape[0]
    if inst["H"] is None:
        Qs = np.repeat(mdp.solve("pi").q_values[None], n, axis=0)
    else:
        Qs = mdp.backward_induction().q_values
    shifted = Qs - pe[np.minimum(np.arange(n), pe.shape[0] - 1)][:, :, None]
    scale = _dyn_scale(inst)
    err = float(np.max(np.abs(res.q_values - shifted))) / scale
    return err + float(_optimal_sets_differ(Qs, res.q_values, 1e-8 * scale))


@theorem(
    "shaping.dynamic_constant_in_time_is_static",
    claim="with Phi_t = Phi for all t, dynamic shaping is static shaping: the same shaped reward "
    "at every t, the same policy values, and the same Q-learning run (exact arithmetic)",
    reference="Devlin and Kudenko 2012 (AAMAS): static PBRS is the special case",
    draw=draw_dynamic,
    tolerance=1e-12,
)
def dynamic_constant_is_static(inst: dict) -> float:
    """Largest difference between the dynamic and static constructions, 1 if runs differ."""
    P, g, term = inst["P"], inst["gamma"], inst["terminal"]
    S, A = P.shape[0], P.shape[1]
    phi = inst["Phi"][0]
    L = inst["Phi"].shape[0]
    Phi = np.repeat(phi[None], max(L, 2), axis=0)
    if inst["H"] is not None:
        Phi = np.repeat(phi[None], inst["H"] + 1, axis=0)
    scale = 1.0 + float(np.max(np.abs(phi))) + float(np.max(np.abs(inst["R"])))
    static = shape(inst["R"], phi, g, term)
    worst = float(np.max(np.abs(shape_dynamic(inst["R"], Phi, g, term) - static[None])))
    if inst["H"] is None:
        mdp = _dyn_mdp(inst)
        sm = shaped_mdp(mdp, phi, terminal=term)
        for pi in inst["policies"]:
            v = evaluate_dynamic(mdp, Phi, pi[-1], terminal=term).values[0]
            worst = max(worst, float(np.max(np.abs(v - sm.evaluate(pi[-1]).values)))
                        / _dyn_scale(inst))
    # the learners: exact arithmetic, the same random stream
    mdp = TabularMDP(P, inst["R"], g if g < 1 else 0.5)
    tm = _absorbing_mask(P) if term is None else term
    kw = dict(lr=0.5, epsilon=0.2, max_steps=6, exact=True, terminal=tm, record_q=True)
    a = q_learning(mdp, 3, rng=S * 7 + A, potential=phi, **kw)
    b = dynamic_q_learning(mdp, 3, potentials=Phi, rng=S * 7 + A, **kw)
    if not np.array_equal(a.actions, b.actions):
        return 1.0
    d = max(float(np.max(np.abs((qa - qb).astype(float))))
            for qa, qb in zip(a.q_history, b.q_history))
    return max(worst / scale, d)


def draw_wiewiora_dynamic(rng: np.random.Generator) -> dict:
    """A small MDP, a time-varying potential (sometimes constant), Q0, clock, learner."""
    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    L = int(rng.integers(1, 8))
    Phi = _values(rng, (L, S))
    if rng.random() < 0.2:
        Phi = np.repeat(Phi[:1], L, axis=0)
    return {
        "P": _transitions(rng, S, A),
        "R": _values(rng, (S, A, S)),
        "gamma": float(rng.choice([0.0, 0.9, 1.0])) if rng.random() < 0.3 else float(rng.random()),
        "Phi": Phi,
        "q0": _values(rng, (S, A)),
        "sarsa": bool(rng.random() < 0.5),
        "clock": str(rng.choice(["global", "episode"])),
        "exploration": str(rng.choice(["epsilon", "boltzmann"])),
        "seed": int(rng.integers(2**31)),
    }


def _clock_after_steps(run, clock):
    """The clock after each recorded step (index k + 1 of q_history), and 0 at the start."""
    T = run.iterations
    if clock == "global":
        return np.arange(T + 1)
    out = [0]
    ep, k = -1, 0
    for e in run.episodes:
        k = k + 1 if e == ep else 1
        ep = e
        out.append(k)
    return np.array(out)


@theorem(
    "shaping.dynamic_shifted_table_equals_dynamic_shaping",
    claim="Q-learning/SARSA on R + gamma Phi_{t+1}(s') - Phi_t(s) from Q0, and on R from "
    "Q0 + Phi_0 with the table shifted by Phi_{t+1} - Phi_t whenever the clock moves, choose "
    "identical actions from the same random numbers, with Q'_t - Q_t = Phi_t (exact arithmetic)",
    reference="ours: the corrected form of Wiewiora 2003 (JAIR 19), Theorem 1, for the dynamic "
    "potentials of Devlin and Kudenko 2012",
    draw=draw_wiewiora_dynamic,
    tolerance=0.0,
    status="certified",  # exact rational arithmetic: each instance is settled exactly
)
def dynamic_shifted_equivalence(inst: dict) -> float:
    """1 if the action sequences differ, else the largest |Q'_t - Q_t - Phi_t| (exactly 0)."""
    P, S = inst["P"], inst["P"].shape[0]
    mdp = TabularMDP(P, inst["R"], inst["gamma"] if inst["gamma"] < 1 else 0.5)
    term = _absorbing_mask(P)
    kw = dict(potentials=inst["Phi"], lr=0.5, epsilon=0.2, exploration=inst["exploration"],
              max_steps=8, record_q=True, exact=True, terminal=term, clock=inst["clock"],
              sarsa=inst["sarsa"], init=inst["q0"], gamma=inst["gamma"])
    a = dynamic_q_learning(mdp, 3, rng=inst["seed"], mode="shaped", **kw)
    b = dynamic_q_learning(mdp, 3, rng=inst["seed"], mode="shifted", **kw)
    if not np.array_equal(a.actions, b.actions):
        return 1.0
    L = inst["Phi"].shape[0]
    phi = [[Fraction(0) if term[s] else Fraction(float(p)) for s, p in enumerate(row)]
           for row in inst["Phi"]]
    worst = 0.0
    for k, c in enumerate(_clock_after_steps(a, inst["clock"])):
        shift = np.array([[phi[min(c, L - 1)][s]] * P.shape[1] for s in range(S)], dtype=object)
        d = (b.q_history[k] - a.q_history[k] - shift).astype(float)
        worst = max(worst, float(np.max(np.abs(d))))
    return worst


def draw_initialisation_gap(rng: np.random.Generator) -> dict:
    """The two-action instance of dynamic_initialisation_not_enough: step size, Q0 gap, Phi_0."""
    return {"lr": float(rng.choice([0.1, 0.5, 0.9])) if rng.random() < 0.5 else float(
                rng.uniform(0.05, 0.95)),
            "delta": float(rng.choice([0.1, 1.0, 5.0])),
            "phi0": float(rng.choice([0.0, -1.0, -10.0])),
            "margin": float(rng.choice([0.5, 1.0, 10.0])),
            "gamma": float(rng.choice([0.0, 0.5, 0.9])),
            "seed": int(rng.integers(2**31))}


def initialisation_gap_instance(inst: dict):
    """(mdp, Phi, q0): a state with two actions that both end the episode with reward 0.

    Q0(0, .) = (0, delta) and Phi_0(0) = c <= 0: episode 1 (global time 0) takes action 1 in both
    learners. The potential then jumps to Phi_1(0) = (1 - lr)(delta (1 - lr) - lr c)
    / lr + margin, so the shaped learner's second update, -lr Phi_1(0), pushes action 1
    below action 0, while the learner initialised at Q0 + Phi_0 still prefers action 1: from
    episode 3 on the greedy learners act differently.
    """
    a, d, c, m = inst["lr"], inst["delta"], inst["phi0"], inst["margin"]
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    mdp = TabularMDP(P, np.zeros((2, 2)), inst["gamma"], [1.0, 0.0])
    phi1 = (1 - a) * (d * (1 - a) - a * c) / a + m
    Phi = np.array([[c, 0.0], [phi1, 0.0]])
    q0 = np.array([[0.0, d], [0.0, 0.0]])
    return mdp, Phi, q0


@theorem(
    "shaping.dynamic_initialisation_not_enough",
    claim="Wiewiora's equivalence fails for dynamic potentials: a greedy Q-learner on the "
    "dynamically shaped reward and the unshaped learner started at Q0 + Phi_0 take different "
    "actions (two-action instance, every step size and gap drawn); the shifted table of "
    "dynamic_q_learning(mode='shifted') still matches",
    reference="the caveat that Wiewiora 2003 does not extend to the potentials of Devlin and "
    "Kudenko 2012 (no published source verified); the instance is ours",
    draw=draw_initialisation_gap,
    tolerance=0.0,
    status="certified",  # exact rational arithmetic: each instance is settled exactly
)
def dynamic_initialisation_fails(inst: dict) -> float:
    """1 if the initialised learner acts as the shaped one, or the shifted one does not."""
    mdp, Phi, q0 = initialisation_gap_instance(inst)
    kw = dict(lr=inst["lr"], epsilon=0.0, exact=True, terminal=[1], start=0)
    shaped = dynamic_q_learning(mdp, 4, potentials=Phi, rng=inst["seed"], init=q0, **kw)
    shifted = dynamic_q_learning(mdp, 4, potentials=Phi, rng=inst["seed"], init=q0,
                                 mode="shifted", **kw)
    q0_phi = np.array([[Fraction(float(q)) + Fraction(float(Phi[0, s])) for q in q0[s]]
                       for s in range(2)], dtype=object)
    q0_phi[1] = [Fraction(0), Fraction(0)]
    init = q_learning(mdp, 4, rng=inst["seed"], init=q0_phi, **kw)
    return float(np.array_equal(shaped.actions, init.actions)
                 or not np.array_equal(shaped.actions, shifted.actions))


def draw_truncation(rng: np.random.Generator) -> dict:
    """A discounted MDP and a long bounded potential sequence (periodic, annealed or arbitrary)."""
    inst = draw_dynamic(rng)
    S = inst["P"].shape[0]
    inst["H"] = None
    if inst["gamma"] >= 1.0:
        inst["gamma"] = 0.9
    n = 12
    kind = int(rng.integers(3))
    base = _values(rng, (2, S))
    if kind == 0:  # periodic: no eventually stationary representation
        long = base[np.arange(n) % 2]
    elif kind == 1:
        long = float(rng.choice([0.5, 0.9])) ** np.arange(n)[:, None] * base[:1]
    else:
        long = _values(rng, (n, S))
    inst["long"] = long
    inst["L"] = int(rng.integers(1, n))
    return inst


@theorem(
    "shaping.dynamic_truncation_exact",
    claim="for a discounted MDP, the values at times t < L under a bounded potential sequence "
    "depend on Phi_t only: keeping its first L rows (and holding the last) changes no value at "
    "t < L, although the two shaped rewards differ from time L - 1 on",
    reference="Devlin and Kudenko 2012 (AAMAS), policy invariance (values shift by -Phi(s, t)); "
    "the "
    "truncation form is ours",
    draw=draw_truncation,
    tolerance=1e-9,
)
def dynamic_truncation(inst: dict) -> float:
    """Largest |V'_t(long) - V'_t(first L rows)| over t < L and the policies, relative."""
    mdp = TabularMDP(inst["P"], inst["R"], inst["gamma"], inst["mu"])
    L = inst["L"]
    worst = 0.0
    for pi in inst["policies"]:
        a = evaluate_dynamic(mdp, inst["long"], pi, terminal=inst["terminal"]).values
        b = evaluate_dynamic(mdp, inst["long"][:L], pi, terminal=inst["terminal"]).values
        k = min(L, a.shape[0], b.shape[0])
        worst = max(worst, float(np.max(np.abs(a[:k] - b[:k]))))
    scale = 1.0 + float(np.max(np.abs(inst["long"]))) + float(np.max(np.abs(inst["R"]))) / (
        1.0 - inst["gamma"])
    return worst / scale
