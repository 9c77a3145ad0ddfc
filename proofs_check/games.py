"""Theorems about preference games: minimax winners, regularised equilibria and self-play learners.

Each check returns the violation of its claim on one instance (0 when it holds exactly). The draws
include degenerate games: deterministic tournaments, matrices full of ties, a single response,
references with zeros.
"""

from __future__ import annotations

import numpy as np

from prefrl.games import (
    dno,
    dno_regression_minimiser,
    exploitability,
    minimax_winner,
    nash_md,
    one_step_improvement,
    preference_matrix_from_upper,  # noqa: F401  (moved to prefrl.games; importable here)
    rebel,
    regularized_nash,
    spo,
)
from prefrl.games import random_learner_instance as draw_learner
from prefrl.games import random_preference_game as draw_game
from prefrl.policies import kl
from prefrl.preferences import bradley_terry, condorcet_winner
from prefrl.registry import theorem


def draw_game_and_reference(rng: np.random.Generator) -> dict:
    """A game, a reference policy (sometimes with zeros) and a KL weight beta in [0.05, 10]."""
    P = draw_game(rng)
    K = P.shape[0]
    mu = rng.dirichlet(np.ones(K))
    if K > 1 and rng.random() < 0.3:
        mu[rng.integers(K)] = 0.0
        mu /= mu.sum()
    return {"P": P, "mu": mu, "beta": float(10 ** rng.uniform(-1.3, 1.0))}


@theorem(
    "games.minimax_value_half",
    claim="the LP minimax winner has exploitability 0 and guarantees win probability 1/2 "
    "against every response (game value 1/2 by antisymmetry)",
    reference="von Neumann (1928); Swamy et al. 2024 (SPO), Sec. 2; Rosset et al. 2024 (DNO), Eq. 3",
    draw=draw_game,
    tolerance=1e-9,
)
def minimax_value_half(P) -> float:
    """exploitability + |value - 1/2| of the LP solution."""
    res = minimax_winner(P)
    return float(res.exploitability + abs(res.value - 0.5))


@theorem(
    "games.condorcet_winner_is_point_mass",
    claim="when a Condorcet winner exists, the minimax winner is the point mass on it",
    reference="Fishburn (1984), maximal lotteries (a Condorcet winner is the unique one)",
    draw=draw_game,
    tolerance=1e-9,
)
def condorcet_winner_is_point_mass(P) -> float:
    """L1 distance between the LP winner and the Condorcet point mass (0 when none exists)."""
    c = condorcet_winner(P)
    if c is None:
        return 0.0
    target = np.zeros(P.shape[0])
    target[c] = 1.0
    return float(np.abs(minimax_winner(P).policy - target).sum())


def draw_rewards(rng: np.random.Generator) -> dict:
    """Rewards with a unique argmax (sometimes ties below it) and a temperature."""
    K = int(rng.integers(1, 8))
    r = rng.integers(0, 3, size=K).astype(float) if rng.random() < 0.5 else rng.normal(size=K)
    r[rng.integers(K)] = r.max() + float(rng.choice([1e-3, 0.5, 3.0]))
    return {"rewards": r, "temperature": float(rng.choice([0.0, 0.1, 1.0, 10.0]))}


@theorem(
    "games.bradley_terry_winner_is_argmax",
    claim="under Bradley-Terry preferences with a unique best response, the minimax winner is the "
    "point mass on argmax r",
    reference="Bradley and Terry (1952); Swamy et al. 2024 (SPO), Sec. 2",
    draw=draw_rewards,
    tolerance=1e-9,
)
def bradley_terry_winner_is_argmax(inst: dict) -> float:
    """L1 distance between the LP winner and the point mass on argmax r."""
    r = inst["rewards"]
    target = np.zeros(r.size)
    target[int(np.argmax(r))] = 1.0
    return float(np.abs(minimax_winner(bradley_terry(r, inst["temperature"])).policy - target).sum())


@theorem(
    "games.spo_exploitability_is_regret_over_T",
    claim="the exploitability of the average of self-play iterates equals Regret(T)/T exactly, "
    "at every T",
    reference="Swamy et al. 2024 (SPO), Sec. 3 (self-play reduction)",
    draw=draw_learner,
    tolerance=1e-12,
)
def spo_exploitability_is_regret_over_t(inst: dict) -> float:
    """max_t |expl(mean of first t iterates) - Reg(t)/t| for Hedge self-play."""
    res = spo(inst["P"], inst["T"], eta=inst["eta"], init=inst["init"])
    t = np.arange(1, res.iterations + 1)
    return float(np.abs(res.exploitability - res.regret / t).max())


@theorem(
    "games.spo_hedge_rate",
    claim="SPO with Hedge from the uniform policy and eta = sqrt(8 log K / T) has "
    "exploitability <= sqrt(log K / (2T)) after T rounds",
    reference="Swamy et al. 2024 (SPO), Sec. 3; Hedge regret (Freund and Schapire 1997)",
    draw=draw_learner,
    tolerance=1e-12,
)
def spo_hedge_rate(inst: dict) -> float:
    """Excess of the average's exploitability over sqrt(log K / (2T))."""
    P, T = inst["P"], inst["T"]
    K = P.shape[0]
    res = spo(P, T)
    bound = np.sqrt(np.log(max(K, 2)) / (2 * T))
    return float(max(res.exploitability[-1] - bound, 0.0))


@theorem(
    "games.regularized_equilibrium_bias",
    claim="the KL-regularised equilibrium is a fixed point pi = mu exp(P pi / beta)/Z and, for "
    "full-support mu, has exploitability <= beta log(1 / min mu)",
    reference="Munos et al. 2024 (Nash-MD), Sec. 3 (the fixed point); the bias bound is ours, "
    "from beta log sum_i mu_i exp((P pi)_i / beta) <= 1/2 at the fixed point",
    draw=draw_game_and_reference,
    tolerance=1e-10,
)
def regularized_equilibrium_bias(inst: dict) -> float:
    """Fixed-point residual plus the excess of exploitability over the bias bound."""
    P, mu, beta = inst["P"], inst["mu"], inst["beta"]
    res = regularized_nash(P, mu, beta)
    excess = 0.0
    if np.all(mu > 0):
        excess = max(res.exploitability - beta * np.log(1.0 / mu.min()), 0.0)
    return float(res.certificate + excess)


@theorem(
    "games.regularized_fixed_point_matches_cvxpy",
    claim="the fixed-point solver and the concave program (cvxpy) give the same regularised "
    "equilibrium (to the conic solver's accuracy, 1e-4)",
    reference="Munos et al. 2024 (Nash-MD), Sec. 3 (uniqueness of the regularised equilibrium)",
    draw=draw_game_and_reference,
    tolerance=1e-4,
)
def regularized_fixed_point_matches_cvxpy(inst: dict) -> float:
    """Max-norm distance between the two solutions."""
    a = regularized_nash(inst["P"], inst["mu"], inst["beta"]).policy
    b = regularized_nash(inst["P"], inst["mu"], inst["beta"], method="cvxpy").policy
    return float(np.abs(a - b).max())


@theorem(
    "games.nash_md_last_iterate_bound",
    claim="Nash-MD with step 2/(beta (t+2)) has KL(pi*_beta || pi_T) <= 8 / (beta^2 (T+1)) at "
    "every T >= 1",
    reference="Munos et al. 2024 (Nash-MD), Thm. 1",
    draw=draw_game_and_reference,
    tolerance=1e-12,
)
def nash_md_last_iterate_bound(inst: dict) -> float:
    """Largest excess of KL(pi* || pi_T) over the bound, T = 1..100."""
    P, mu, beta = inst["P"], inst["mu"], inst["beta"]
    star = regularized_nash(P, mu, beta).policy
    res = nash_md(P, 100, beta, pi_ref=mu)
    T = np.arange(1, 101)
    kls = np.asarray(kl(np.broadcast_to(star, res.policies[1:].shape), res.policies[1:]))
    return float(max((kls - 8.0 / (beta**2 * (T + 1))).max(), 0.0))


@theorem(
    "games.dno_one_step_improvement",
    claim="each conceptual DNO step beats the previous iterate: "
    "P(pi_{t+1} > pi_t) >= 1/2 + eta KL(pi_{t+1} || pi_t)",
    reference="Rosset et al. 2024 (DNO), Sec. 3.1",
    draw=draw_learner,
    tolerance=1e-12,
)
def dno_one_step_improvement(inst: dict) -> float:
    """Largest shortfall over the first min(T, 20) steps (the instance's ``eta`` is DNO's KL
    weight ``beta``, the paper's temperature eta)."""
    P, eta = inst["P"], inst["eta"]
    res = dno(P, min(inst["T"], 20), beta=eta, init=inst["init"])
    win, lower = one_step_improvement(P, res.policies, eta)
    return float(max(0.0, (lower - win).max()))


@theorem(
    "games.dno_regression_minimiser_is_spi_target",
    claim="over tabular policies with all pairs compared, the DNO soft-label regression is "
    "minimised by the soft-policy-iteration target pi_t exp(r_t/eta)/Z",
    reference="Rosset et al. 2024 (DNO), Eq. 9 and 11-12",
    draw=draw_learner,
    tolerance=1e-10,
)
def dno_regression_minimiser_is_spi_target(inst: dict) -> float:
    """Largest |u_i - u_j - (r_i - r_j)| at the numerical argmin u = eta log(pi / pi_t) of the
    regression (:func:`prefrl.games.dno_regression_minimiser`, Newton's method checked against
    :func:`prefrl.games.dno_loss`); r = P pi_t.

    The SPI target has eta log(pi/pi_t) = r + const, so this is 0 exactly when the minimiser is
    the target.
    """
    P, eta, prev = inst["P"], inst["eta"], inst["init"]
    K = P.shape[0]
    if K < 2:
        return 0.0
    r = P @ prev
    u = dno_regression_minimiser(prev, r, eta)
    i, j = np.triu_indices(K, 1)
    return float(np.abs(u[i] - u[j] - (r[i] - r[j])).max())


@theorem(
    "games.rebel_regression_is_mirror_descent",
    claim="REBEL's exact least-squares step on win-rate differences equals the mirror-descent "
    "step pi_t exp(eta r_t)/Z",
    reference="Gao et al. 2024 (REBEL), Sec. 3 (REBEL reduces to NPG/MD in the tabular case)",
    draw=draw_learner,
    tolerance=1e-10,
)
def rebel_regression_is_mirror_descent(inst: dict) -> float:
    """Max-norm distance between REBEL's and Hedge's iterates over min(T, 20) steps."""
    P, eta, init = inst["P"], inst["eta"], inst["init"]
    T = min(inst["T"], 20)
    a = rebel(P, T, eta=eta, init=init).policies
    b = spo(P, T, eta=eta, init=init).policies
    return float(np.abs(a - b).max())


def exploitability_nonnegative_draw(rng: np.random.Generator) -> dict:
    """A game and a random policy (sometimes a point mass)."""
    P = draw_game(rng)
    K = P.shape[0]
    pi = np.eye(K)[rng.integers(K)] if rng.random() < 0.3 else rng.dirichlet(np.ones(K))
    return {"P": P, "policy": pi}


@theorem(
    "games.exploitability_is_half_the_duality_gap",
    claim="exploitability max_i (P pi)_i - 1/2 is >= 0 and equals half the duality gap "
    "max_i (P pi)_i - min_j (pi^T P)_j",
    reference="antisymmetry of P - 1/2 (ours); Swamy et al. 2024 (SPO), Sec. 3 measure minimax "
    "winners by this gap",
    draw=exploitability_nonnegative_draw,
    tolerance=1e-12,
)
def exploitability_is_half_the_duality_gap(inst: dict) -> float:
    """Negative part of the exploitability plus |2 expl - gap|."""
    P, pi = inst["P"], inst["policy"]
    e = exploitability(P, pi)
    gap = float((P @ pi).max() - (pi @ P).min())
    return float(max(-e, 0.0) + abs(2 * e - gap))
