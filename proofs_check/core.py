"""Theorems about the core model: Bradley-Terry preferences and the Gibbs (KL-regularised) optimum."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from prefrl.policies import gibbs, kl, regularized_objective, soft_value, softmax
from prefrl.preferences import bradley_terry, condorcet_winner
from prefrl.registry import theorem


def draw_rewards(rng: np.random.Generator) -> dict:
    """Rewards over 1-8 items; half of the draws are integers in {0, 1, 2}, so ties are common."""
    K = int(rng.integers(1, 9))
    r = rng.integers(0, 3, size=K).astype(float) if rng.random() < 0.5 else rng.normal(size=K)
    temperature = float(rng.choice([0.0, 0.1, 1.0, 10.0]))
    return {"rewards": r, "temperature": temperature}


@theorem(
    "core.bt_condorcet_winner_is_argmax",
    claim="Bradley-Terry preferences are a valid preference matrix whose Condorcet winner is the "
    "unique argmax of the reward (none when the argmax is tied)",
    reference="Bradley and Terry (1952); Condorcet (1785)",
    draw=draw_rewards,
    tolerance=0.0,
)
def bt_condorcet_winner_is_argmax(inst: dict) -> float:
    """1 if the Condorcet winner disagrees with the argmax of r (or P is invalid), else 0."""
    r = np.asarray(inst["rewards"], dtype=float)
    P = bradley_terry(r, inst["temperature"])
    if not (np.allclose(P + P.T, 1.0) and np.all((P >= 0) & (P <= 1))):
        return 1.0
    best = np.flatnonzero(r == r.max())
    expected = int(best[0]) if best.size == 1 else None
    got = condorcet_winner(P)
    if expected is not None and inst["temperature"] > 0 and r.size > 1:
        # A reward gap far below float resolution gives sigma(gap / T) == 1/2 exactly: a tie in P.
        gap = r.max() - np.max(np.delete(r, expected))
        if gap / inst["temperature"] < 1e-12:
            return 0.0 if got in (expected, None) else 1.0
    return 0.0 if got == expected else 1.0


def draw_gibbs(rng: np.random.Generator) -> dict:
    """A reference policy (sometimes with zeros), a function f, and beta spanning 1e-2 to 1e2."""
    K = int(rng.integers(1, 7))
    pi_ref = rng.dirichlet(np.ones(K))
    if K > 1 and rng.random() < 0.3:
        pi_ref[rng.integers(K)] = 0.0
        pi_ref /= pi_ref.sum()
    f = rng.normal(size=K) * float(rng.choice([0.0, 1.0, 10.0]))
    beta = float(10 ** rng.uniform(-2, 2))
    others = rng.dirichlet(np.ones(K), size=8) * (pi_ref > 0)
    others /= others.sum(axis=1, keepdims=True)
    return {"pi_ref": pi_ref, "f": f, "beta": beta, "others": others}


@theorem(
    "core.gibbs_maximises_regularised_objective",
    claim="pi_ref exp(f/beta)/Z maximises E_pi f - beta KL(pi || pi_ref), with value "
    "beta log E_ref exp(f/beta)",
    reference="Rafailov et al. 2023 (DPO), Eq. 4; Azar et al. 2024 (IPO), App. A.1",
    draw=draw_gibbs,
    tolerance=1e-7,
)
def gibbs_maximises_regularised_objective(inst: dict) -> float:
    """Largest gain of another policy (random ones and a scipy optimum) over the Gibbs policy."""
    pi_ref, f, beta = inst["pi_ref"], inst["f"], inst["beta"]
    star = gibbs(pi_ref, f, beta)
    j_star = regularized_objective(star, f, pi_ref, beta)
    scale = 1.0 + abs(j_star)
    worst = abs(j_star - soft_value(pi_ref, f, beta)) / scale
    for other in inst["others"]:
        worst = max(worst, (regularized_objective(other, f, pi_ref, beta) - j_star) / scale)
    support = pi_ref > 0

    def neg(z):
        logits = np.full(pi_ref.size, -np.inf)
        logits[support] = z
        return -regularized_objective(softmax(logits), f, pi_ref, beta)

    res = minimize(neg, np.zeros(support.sum()), method="BFGS")
    return max(worst, (-res.fun - j_star) / scale)


def draw_kl_pair(rng: np.random.Generator) -> dict:
    """Two distributions; a third of the time they are equal, sometimes with zeros."""
    K = int(rng.integers(1, 7))
    p = rng.dirichlet(np.ones(K) * rng.choice([0.1, 1.0]))
    q = p.copy() if rng.random() < 1 / 3 else rng.dirichlet(np.ones(K))
    return {"p": p, "q": q}


@theorem(
    "core.kl_nonnegative_zero_iff_equal",
    claim="KL(p || q) >= 0 with equality exactly when p = q",
    reference="Gibbs' inequality (Cover and Thomas, Elements of Information Theory, Thm 2.6.3)",
    draw=draw_kl_pair,
    tolerance=0.0,
)
def kl_nonnegative_zero_iff_equal(inst: dict) -> float:
    """1 if KL is negative, or zero for different p, q, or nonzero for equal ones."""
    p, q = inst["p"], inst["q"]
    d = kl(p, q)
    if d < 0:
        return 1.0
    equal = np.array_equal(p, q)
    return 1.0 if (d == 0) != equal and (equal or np.max(np.abs(p - q)) > 1e-6) else 0.0
