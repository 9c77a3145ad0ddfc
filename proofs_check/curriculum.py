"""Theorems behind curricula and ROLLIN (Li et al. 2023), on random tabular MDPs.

The exact softmax policy gradient from ROLLIN's start distribution, the performance difference lemma
that the analysis rests on, and the distribution-mismatch coefficient with the gradient-domination
bound it enters (Agarwal et al. 2021). prefrl.curriculum computes each; here each is checked against
an independent computation.
"""

from __future__ import annotations

import numpy as np

from prefrl.curriculum import (
    mismatch_coefficient,
    policy_gradient,
    rollin_initial,
    softmax_pg_ascent,
)
from prefrl.mdp import TabularMDP
from prefrl.mdp.occupancy import discounted_state_distribution
from prefrl.proofs_check._draws import degenerate_transitions, tied_or_normal_rewards
from prefrl.registry import theorem


def draw_mdp_policies(rng: np.random.Generator) -> dict:
    """A small MDP (absorbing states, zeros, tied rewards), two policies, logits, start laws."""
    S, A = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    P = degenerate_transitions(rng, S, A)
    R = tied_or_normal_rewards(rng, (S, A))

    def dist(zeros):
        p = rng.dirichlet(np.ones(S)) * ((rng.random(S) < 0.6) if zeros else 1.0)
        return p / p.sum() if p.sum() > 0 else np.full(S, 1.0 / S)

    def pol():
        p = rng.dirichlet(np.ones(A) * rng.choice([0.2, 1.0]), size=S)
        if rng.random() < 0.3:  # deterministic
            p = np.eye(A)[rng.integers(A, size=S)]
        return p

    return {"P": P, "R": R, "gamma": float(rng.choice([0.0, 0.5, 0.9])),
            "rho": dist(True), "mu": dist(rng.random() < 0.3), "pi": pol(), "pi2": pol(),
            "theta": rng.normal(size=(S, A)) * rng.choice([0.0, 1.0, 3.0]),
            "tau": float(rng.choice([0.0, 0.1, 1.0])), "beta": float(rng.choice([0.0, 0.1, 0.5]))}


def _mdp(inst, initial=None) -> TabularMDP:
    return TabularMDP(inst["P"], inst["R"], inst["gamma"],
                      inst["rho"] if initial is None else initial)


@theorem(
    "curriculum.rollin_policy_gradient_equals_finite_differences",
    claim="the exact softmax policy gradient from ROLLIN's start distribution mu_k = beta d + "
    "(1 - beta) mu equals finite differences of J_tau(theta; mu_k), and one step of the fast "
    "ascent loop is theta + lr * that gradient",
    reference="Sutton et al. 2000, Thm 1; Agarwal et al. 2021, Lemma C.1; Li et al. 2023 (ROLLIN)",
    draw=draw_mdp_policies,
    tolerance=1e-7,
)
def rollin_gradient_fd(inst: dict) -> float:
    """Largest |exact - finite-difference| gradient entry (and loop-step mismatch), relative."""
    mdp = _mdp(inst)
    mu_k = rollin_initial(mdp, inst["pi"], inst["beta"], inst["mu"])
    theta, tau = inst["theta"], inst["tau"]
    pg = policy_gradient(mdp, theta, tau, initial=mu_k)

    def J(th):
        return policy_gradient(mdp, th, tau, initial=mu_k).value

    fd = np.zeros_like(theta)
    h = 2e-4
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = 1.0

        def central(step, e=e):
            return (J(theta + step * e) - J(theta - step * e)) / (2 * step)

        fd[idx] = (4 * central(h / 2) - central(h)) / 3
    scale = 1.0 + float(np.max(np.abs(pg.gradient)))
    err = float(np.max(np.abs(pg.gradient - fd))) / scale
    step = softmax_pg_ascent(mdp, theta, 0.5, target=np.inf, tau=tau, initial=mu_k,
                             eval_initial=mu_k, max_iter=1).theta
    return max(err, float(np.max(np.abs(step - (theta + 0.5 * pg.gradient)))) / scale)


@theorem(
    "curriculum.performance_difference_lemma",
    claim="V^pi'(rho) - V^pi(rho) = 1/(1-gamma) sum_s d^pi'_rho(s) sum_a pi'(a|s) A^pi(s, a)",
    reference="Kakade and Langford 2002, Lemma 6.1; Agarwal et al. 2021, Lemma 3.2",
    draw=draw_mdp_policies,
    tolerance=1e-9,
)
def performance_difference(inst: dict) -> float:
    """|left - right| of the lemma, relative to 1 + |V|."""
    mdp = _mdp(inst)
    pi, pi2 = inst["pi"], inst["pi2"]
    ev, ev2 = mdp.evaluate(pi), mdp.evaluate(pi2)
    adv = ev.q_values - ev.values[:, None]
    d2 = discounted_state_distribution(mdp, pi2)
    rhs = float(d2 @ np.sum(pi2 * adv, axis=1)) / (1.0 - mdp.gamma)
    lhs = ev2.expected_return - ev.expected_return
    return abs(lhs - rhs) / (1.0 + abs(ev.expected_return) + abs(ev2.expected_return))


@theorem(
    "curriculum.mismatch_coefficient_definition",
    claim="||d^pi*_rho / mu||_inf equals max_s of the power-series state distribution over mu "
    "(inf where mu misses a visited state), is >= 1, and bounds suboptimality by gradient "
    "domination: V*(rho) - V^pi(rho) <= C/(1-gamma) max_pibar (pibar - pi)^T grad_pi V^pi(mu)",
    reference="Agarwal et al. 2021, gradient domination (Lemma 4.1); Li et al. 2023 (ROLLIN)",
    draw=draw_mdp_policies,
    tolerance=1e-9,
)
def mismatch_definition(inst: dict) -> float:
    """Mismatch between the two computations of C, plus any excess of the bound's left side."""
    mdp = _mdp(inst)
    g = mdp.gamma
    star = mdp.solve("pi")
    pi_star = star.policy
    C = mismatch_coefficient(mdp, pi_star, inst["mu"])
    # Power series: d = (1 - gamma) sum_t gamma^t rho P^t, truncated where gamma^t < 1e-17.
    Ppi = np.einsum("sa,sat->st", pi_star, inst["P"])
    d, x = np.zeros_like(inst["rho"]), inst["rho"].copy()
    for t in range(2000):
        d += (1 - g) * g**t * x
        if g**t < 1e-17:
            break
        x = x @ Ppi
    mu = inst["mu"]
    # Same convention as mismatch_coefficient: d below 1e-14 max d is rounding, i.e. zero.
    pos = d > 1e-14 * d.max()
    with np.errstate(over="ignore"):
        C_ref = np.inf if np.any(pos & (mu == 0)) else float(np.max(d[pos] / mu[pos]))
    if np.isinf(C) or np.isinf(C_ref):
        return 0.0 if np.isinf(C) and np.isinf(C_ref) else 1.0
    viol = abs(C - C_ref) / C_ref + max(0.0, 1.0 - C)
    # Gradient domination for the policy pi (direct parameterisation).
    mdp_mu = _mdp(inst, initial=mu)
    ev = mdp_mu.evaluate(inst["pi"])
    adv = ev.q_values - ev.values[:, None]
    d_mu = discounted_state_distribution(mdp_mu, inst["pi"])
    # max_a A^pi(s, a) >= 0 exactly (sum_a pi A = 0); clip rounding before multiplying by C.
    best_ascent = float(d_mu @ np.maximum(adv.max(axis=1), 0.0)) / (1.0 - g)
    gap = float(inst["rho"] @ (star.values - mdp.evaluate(inst["pi"]).values))
    excess = gap - C / (1.0 - g) * best_ascent
    return viol + max(0.0, excess) / (1.0 + float(np.max(np.abs(star.values))))
