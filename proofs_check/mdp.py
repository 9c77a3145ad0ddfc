"""Theorems of tabular MDP theory, checked on random instances with prefrl.mdp.

Each check returns the violation of the claim (0 when it holds exactly, rounding otherwise).
"""

from __future__ import annotations

import numpy as np

from prefrl.mdp import TabularMDP, softmax_policy_gradient
from prefrl.proofs_check._draws import degenerate_transitions, tied_or_normal_rewards
from prefrl.registry import theorem


def draw_mdp(rng: np.random.Generator) -> dict:
    """A small random MDP with zeros, absorbing states and tied integer rewards, and a policy."""
    S, A = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    P = degenerate_transitions(rng, S, A)
    R = tied_or_normal_rewards(rng, (S, A, S) if rng.random() < 0.5 else (S, A))
    gamma = float(rng.choice([0.0, 0.5, 0.9, 0.99]))
    pi = rng.dirichlet(np.ones(A) * rng.choice([0.2, 1.0]), size=S)
    pi2 = rng.dirichlet(np.ones(A), size=S)
    theta = rng.normal(size=(S, A)) * rng.choice([0.0, 1.0, 3.0])
    return {"P": P, "R": R, "gamma": gamma, "mu": rng.dirichlet(np.ones(S)), "pi": pi,
            "pi2": pi2, "theta": theta, "tol": float(rng.choice([1e-2, 1e-5, 1e-9])),
            "beta": float(rng.choice([0.01, 0.1, 1.0])), "H": int(rng.integers(1, 40))}


def _mdp(inst, **kw) -> TabularMDP:
    return TabularMDP(inst["P"], inst["R"], kw.get("gamma", inst["gamma"]), inst["mu"],
                      kw.get("horizon"))


def _scale(V) -> float:
    return 1.0 + float(np.max(np.abs(V)))


@theorem(
    "mdp.vi_stopping_rule_certifies_suboptimality",
    claim="value iteration stopped by gamma/(1-gamma) span(TV - V) <= tol returns a policy whose "
    "exact value is within tol of V* in every state, and values within tol/2",
    reference="Puterman (1994), Thm 6.6.6 (McQueen bounds); Williams and Baird (1993)",
    draw=draw_mdp,
    tolerance=1e-9,
)
def vi_certificate(inst: dict) -> float:
    """Excess of the greedy policy's true suboptimality over the certificate VI reports."""
    mdp = _mdp(inst)
    tol = inst["tol"]
    res = mdp.solve("vi", tol=tol)
    star = mdp.solve("pi").values
    gap = float(np.max(star - mdp.evaluate(res.policy).values))
    err = float(np.max(np.abs(res.values - star)))
    return max(0.0, gap - tol, err - tol / 2, res.suboptimality_bound - tol) / _scale(star)


@theorem(
    "mdp.occupancy_identities",
    claim="J(pi) = <d^pi, r>, sum d^pi = 1/(1-gamma), and d^pi satisfies the Bellman flow "
    "equations",
    reference="Puterman (1994), Thm 6.9.1 (the dual LP); Syed, Bowling and Schapire (2008)",
    draw=draw_mdp,
    tolerance=1e-9,
)
def occupancy_identities(inst: dict) -> float:
    """Largest error of the three occupancy identities, relative to the scale of the values."""
    mdp = _mdp(inst)
    g = mdp.gamma
    d = mdp.occupancy(inst["pi"])
    J = mdp.evaluate(inst["pi"]).expected_return
    flow = d.sum(axis=1) - mdp.initial - g * np.einsum("sa,sat->t", d, inst["P"])
    return max(abs(J - float(np.sum(d * mdp.expected_rewards))) / _scale(J),
               abs(d.sum() * (1 - g) - 1.0), float(np.max(np.abs(flow))) * (1 - g))


@theorem(
    "mdp.performance_difference_lemma",
    claim="J(pi') - J(pi) = sum_{s,a} d^{pi'}(s, a) A^pi(s, a)",
    reference="Kakade and Langford (2002), Lemma 6.1",
    draw=draw_mdp,
    tolerance=1e-9,
)
def performance_difference(inst: dict) -> float:
    """|J(pi') - J(pi) - <d^{pi'}, A^pi>|, relative to the scale of the values."""
    mdp = _mdp(inst)
    ev = mdp.evaluate(inst["pi"])
    adv = ev.q_values - ev.values[:, None]
    lhs = mdp.expected_return(inst["pi2"]) - ev.expected_return
    rhs = float(np.sum(mdp.occupancy(inst["pi2"]) * adv))
    return abs(lhs - rhs) / _scale(ev.values)


@theorem(
    "mdp.soft_optimum_is_gibbs",
    claim="soft value iteration's V solves V = beta log sum_a pi_ref e^{(r + gamma P V)/beta}, and "
    "the Gibbs policy pi_ref e^{(Q - V)/beta} attains it; V* - beta log A/(1-gamma) <= V_beta <= V*",
    reference="Ziebart (2010), Sec. 6.2; Haarnoja et al. (2017), Thm 1",
    draw=draw_mdp,
    tolerance=1e-7,
)
def soft_optimum(inst: dict) -> float:
    """Residual of the soft Bellman equation and of the Gibbs form of the returned policy."""
    mdp = _mdp(inst)
    beta, g, A = inst["beta"], mdp.gamma, mdp.n_actions
    res = mdp.soft_solve(beta, tol=1e-11)
    pi = res.policy
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * (np.log(np.where(pi > 0, pi, 1.0)) + np.log(A)), 0.0).sum(1)
    P_pi = np.einsum("sa,sat->st", pi, inst["P"])
    r_pi = (pi * mdp.expected_rewards).sum(1) - beta * kl
    V_pi = np.linalg.solve(np.eye(mdp.n_states) - g * P_pi, r_pi)
    star = mdp.solve("pi").values
    sc = _scale(star)
    below = float(np.max(res.values - star))
    above = float(np.max(star - beta * np.log(A) / (1 - g) - res.values))
    return max(res.certificate / sc, float(np.max(np.abs(V_pi - res.values))) / sc * (1 - g),
               below / sc, above / sc, 0.0)


@theorem(
    "mdp.softmax_policy_gradient",
    claim="d J(theta)/d theta[s, a] = d^pi(s, a) A^pi(s, a) for the tabular softmax policy, with "
    "and without entropy regularisation (checked against central finite differences)",
    reference="Sutton et al. (2000), Thm 1; Agarwal et al. (2021), Lemma C.1; Mei et al. (2020), "
    "Lemma 10",
    draw=draw_mdp,
    tolerance=1e-5,
)
def policy_gradient(inst: dict) -> float:
    """Largest gap between the analytic softmax policy gradient and central finite differences."""
    mdp = _mdp(inst, gamma=min(inst["gamma"], 0.9))
    theta = inst["theta"]
    worst = 0.0
    for beta in (0.0,) if inst["H"] % 2 else (inst["beta"],):
        pg = softmax_policy_gradient(mdp, theta, beta=beta)
        h = 1e-6
        for s in range(mdp.n_states):
            for a in range(mdp.n_actions):
                e = np.zeros_like(theta)
                e[s, a] = h
                fd = (softmax_policy_gradient(mdp, theta + e, beta).value
                      - softmax_policy_gradient(mdp, theta - e, beta).value) / (2 * h)
                worst = max(worst, abs(fd - pg.gradient[s, a]) / _scale(pg.value))
    return worst


@theorem(
    "mdp.finite_horizon_approaches_discounted",
    claim="backward induction over H steps is within gamma^H ||V*|| of the discounted optimum",
    reference="Puterman (1994), Sec. 4.5 and Thm 6.3.1 (VI from V = 0 after H sweeps)",
    draw=draw_mdp,
    tolerance=1e-9,
)
def finite_to_discounted(inst: dict) -> float:
    """Excess of |V_H - V*| over the bound gamma^H |V*|, relative to the scale of V*."""
    mdp = _mdp(inst, gamma=min(inst["gamma"], 0.9))
    star = mdp.solve("pi").values
    H = inst["H"]
    fh = mdp.backward_induction(horizon=H).values[0]
    excess = float(np.max(np.abs(fh - star))) - mdp.gamma**H * float(np.max(np.abs(star)))
    return max(0.0, excess) / _scale(star)
