"""Theorems behind BARFI's exact bi-level gradients (Gupta et al. 2023), on random tabular MDPs.

The inner problem is entropy-regularised and solved exactly (prefrl.barfi), so the implicit
gradient, its Neumann-series approximations and the effect of potential-based auxiliary rewards can
be checked to rounding level. The constructions are ours.
"""

from __future__ import annotations

import numpy as np

from prefrl.barfi import (
    BilevelProblem,
    alignment_parameterisation,
    potential_based_reward,
    weighted_sum_parameterisation,
)
from prefrl.mdp import TabularMDP
from prefrl.proofs_check._draws import degenerate_transitions, tied_or_normal_rewards
from prefrl.registry import theorem


def draw_bilevel(rng: np.random.Generator) -> dict:
    """A small MDP (absorbing states, zeros, tied rewards), an auxiliary reward, tau, phi."""
    S, A = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    P = degenerate_transitions(rng, S, A)
    r_p = tied_or_normal_rewards(rng, (S, A))
    r_aux = rng.normal(size=(S, A)) * float(rng.choice([0.0, 1.0, 3.0]))
    mu = rng.dirichlet(np.ones(S)) * (rng.random(S) < 0.7)
    mu = mu / mu.sum() if mu.sum() > 0 else np.full(S, 1.0 / S)
    return {
        "P": P, "r_p": r_p, "r_aux": r_aux, "mu": mu,
        "gamma": float(rng.choice([0.0, 0.5, 0.9])),
        "tau": float(rng.choice([0.2, 0.5, 2.0])),
        "alignment": bool(rng.random() < 0.3),
        "learn_gamma": bool(rng.random() < 0.4),
        "phi_scale": float(rng.choice([0.0, 1.0])),
        "seed": int(rng.integers(2**31)),
        "potential": rng.normal(size=S),
        "weight": float(rng.normal() * 3),
    }


def _problem(inst: dict) -> tuple[BilevelProblem, np.ndarray]:
    mdp = TabularMDP(inst["P"], inst["r_p"], inst["gamma"], inst["mu"])
    make = alignment_parameterisation if inst["alignment"] else weighted_sum_parameterisation
    prob = BilevelProblem(mdp, make(inst["r_p"], inst["r_aux"]), inst["tau"],
                          learn_gamma=inst["learn_gamma"])
    rng = np.random.default_rng(inst["seed"])
    phi = rng.normal(size=prob.n_params) * inst["phi_scale"]
    if inst["learn_gamma"]:
        phi[-1] = rng.uniform(-1.0, 2.0)
    return prob, phi


def _richardson(f, phi, i, h=2e-4):
    """Central difference along coordinate i, Richardson-extrapolated (error O(h^4))."""
    e = np.zeros_like(phi)
    e[i] = 1.0

    def central(step):
        return (f(phi + step * e) - f(phi - step * e)) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


@theorem(
    "barfi.implicit_gradient_equals_finite_differences",
    claim="the implicit-function-theorem gradient -B^T H^+ g (pseudo-inverse along the softmax's "
    "flat directions) equals finite differences of J(theta*(phi)), reward weights and learned "
    "discount alike",
    reference="Gupta et al. 2023 (BARFI), the implicit gradient (our reading, unverified); "
    "tabular form ours",
    draw=draw_bilevel,
    tolerance=1e-7,
)
def implicit_gradient_fd(inst: dict) -> float:
    """Largest |implicit - finite-difference| over the parameters, relative to 1 + |gradient|."""
    prob, phi = _problem(inst)
    grad = prob.implicit_gradient(phi).gradient
    # Steps shrink with tau (derivatives of theta* = Q*/tau scale like 1/tau) but stay well above
    # the rounding level of J (the inner solve is exact to ~1e-13, so h ~ 1e-3 balances both).
    h = 1e-3 * min(1.0, inst["tau"] / 0.5)
    fd = np.array([_richardson(prob.outer_value, phi, i, h) for i in range(prob.n_params)])
    return float(np.max(np.abs(grad - fd)) / (1.0 + np.max(np.abs(grad))))


@theorem(
    "barfi.neumann_series_converges_to_implicit_gradient",
    claim="the K-term Neumann estimate alpha B^T sum_{j<=K} (I + alpha H)^j g is within "
    "||B|| ||H^+|| rho^(K+1) ||g|| of the exact implicit gradient (rho < 1 for alpha = 1/||H||), "
    "hence converges to it as K grows",
    reference="Lorraine, Vicol and Duvenaud 2020 (Neumann-series inverse Hessian); used by "
    "BARFI's code (Gupta et al. 2023)",
    draw=draw_bilevel,
    tolerance=1e-9,
)
def neumann_converges(inst: dict) -> float:
    """Largest excess of the Neumann error over its geometric bound, for K in {0, 1, 5, 50}."""
    prob, phi = _problem(inst)
    exact = prob.implicit_gradient(phi).gradient
    H, B, g = prob.implicit_system(phi)
    ev = np.linalg.eigvalsh(H)
    top = float(np.max(np.abs(ev))) if ev.size else 0.0
    scale = 1.0 + float(np.max(np.abs(exact)))
    if top == 0.0:
        # No curvature: g = 0 and every estimate is 0.
        return float(np.max(np.abs(prob.neumann_gradient(phi, 3).gradient - exact))) / scale
    # H is negative semi-definite: rounding-level positive eigenvalues are zeros.
    lam = np.abs(np.minimum(ev, 0.0))
    nonzero = lam > 1e-12 * top
    alpha = 1.0 / top
    small = float(np.min(lam[nonzero]))
    # rho = max |1 - alpha lam| = 1 - small / top for alpha = 1 / top; log1p keeps it exact.
    log_rho = np.log1p(-small / top) if small < top else -np.inf
    c = np.linalg.norm(B, 2) * np.linalg.norm(g) / small
    worst = 0.0
    for K in (0, 1, 5, 50):
        err = np.linalg.norm(prob.neumann_gradient(phi, K, alpha).gradient - exact)
        bound = c * np.exp((K + 1) * log_rho)
        worst = max(worst, (err - bound) / scale)
    return max(worst, 0.0)


@theorem(
    "barfi.potential_aux_leaves_inner_optimum_unchanged",
    claim="with a potential-based auxiliary reward F = gamma P Phi - Phi, the exact (soft) inner "
    "optimum does not depend on F's weight, and the BARFI gradient along that weight is 0",
    reference="Ng, Harada and Russell 1999, Thm 1; BARFI setting of Gupta et al. 2023",
    draw=draw_bilevel,
    tolerance=1e-9,
)
def potential_aux_invariance(inst: dict) -> float:
    """max |pi*(r_p + w F) - pi*(r_p)| plus |dJ/dw|, relative to the gradient's scale."""
    mdp = TabularMDP(inst["P"], inst["r_p"], inst["gamma"], inst["mu"])
    F = potential_based_reward(mdp, inst["potential"])
    prob = BilevelProblem(mdp, weighted_sum_parameterisation(inst["r_p"], F), inst["tau"])
    base = prob.inner_solve([1.0, 0.0]).policy
    shaped = prob.inner_solve([1.0, inst["weight"]])
    grad = prob.implicit_gradient([1.0, inst["weight"]]).gradient
    return float(np.max(np.abs(shaped.policy - base))) + abs(float(grad[1])) / (
        1.0 + abs(float(grad[0]))
    )
