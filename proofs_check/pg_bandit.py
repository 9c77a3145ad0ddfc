"""Policy-gradient estimators on the multi-prompt Bernoulli bandit, by exact enumeration.

Each check compares :mod:`prefrl.pg_theory` (closed forms in the number ``k`` of correct answers)
with an independent computation: every one of the ``2^G`` groups of 0/1 answers enumerated, the
advantages computed by :mod:`prefrl.losses` (``grpo_advantages``, ``rloo_advantages``) or from
their definition, and the logit step ``(1/G) sum_j A_j (y_j - p)`` averaged with its probability.

The checks (each with its instance generator):

- ``pg_bandit.closed_forms_equal_enumeration`` (:func:`closed_forms_equal_enumeration`,
  :func:`draw_bandit`): mean and variance of every estimator of
  :func:`prefrl.pg_theory.expected_update`; Shao et al. 2024 (GRPO), Ahmadian et al. 2024 (RLOO),
  Liu et al. 2025 (Dr. GRPO), Hu 2025 (REINFORCE++), Dong et al. 2023 (RAFT), Xiong et al. 2025
  (Reinforce-Rej).
- ``pg_bandit.unbiased_estimators`` (:func:`unbiased_estimators`, :func:`draw_large_group`):
  REINFORCE, REINFORCE with the true baseline and RLOO have mean ``p(1-p)``; mean-centring
  without leave-one-out has ``(G-1)/G p(1-p)``.
- ``pg_bandit.grpo_sqrt_scaling`` (:func:`grpo_sqrt_scaling`, :func:`draw_large_group`): GRPO's
  expected step lies within ``|1-2p|/sqrt(G) + sqrt(p(1-p))/G`` below ``sqrt(p(1-p))`` (times
  ``sqrt((G-ddof)/G)``), and never above.
- ``pg_bandit.zero_advantage_identity`` (:func:`zero_advantage_identity`,
  :func:`draw_large_group`): ``p^G + (1-p)^G`` is the probability of a constant group.
- ``pg_bandit.reinforce_rej_rescales_dr_grpo`` (:func:`reinforce_rej_rescales_dr_grpo`,
  :func:`draw_bandit`): rejection only rescales the mean-centred step.
- ``pg_bandit.greso_recursion`` (:func:`greso_recursion`, :func:`draw_greso`): Zheng et al. 2025,
  the skip recursion against enumeration of every path of outcomes and skip coins.
"""

from __future__ import annotations

import itertools

import numpy as np

from prefrl.losses import grpo_advantages, rloo_advantages
from prefrl.pg_theory import (
    ESTIMATORS,
    expected_update,
    greso_selective_rollouts,
    zero_advantage_probability,
)
from prefrl.registry import theorem


def _draw_p(rng: np.random.Generator, n: int) -> np.ndarray:
    """Success probabilities with the degenerate values 0, 1, 1/2 and tiny ones frequent."""
    special = np.array([0.0, 1.0, 0.5, 1e-6, 1 - 1e-6])
    p = rng.random(n)
    pick = rng.random(n) < 0.4
    p[pick] = rng.choice(special, size=int(pick.sum()))
    return p


def draw_bandit(rng: np.random.Generator) -> dict:
    """1-3 prompts, a group of 1-8, an estimator, GRPO's eps and ddof, a Reinforce-Rej normaliser."""
    G = int(rng.integers(1, 9))
    return {
        "p": _draw_p(rng, int(rng.integers(1, 4))),
        "group_size": G,
        "estimator": str(rng.choice(ESTIMATORS)),
        "eps": float(rng.choice([0.0, 1e-4, 0.5])),
        "ddof": int(rng.integers(0, min(2, G))) if G > 1 else 1,
        "normaliser": str(rng.choice(["batch", "prompt", "none"])),
    }


def _enumerate(inst: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the per-group step of every prompt, over all 2^G groups."""
    p, G, name = inst["p"], inst["group_size"], inst["estimator"]
    Y = np.array(list(itertools.product([0.0, 1.0], repeat=G)))  # (2^G, G)
    k = Y.sum(axis=1)
    probs = np.array([pi**k * (1 - pi) ** (G - k) for pi in p])  # (n, 2^G)
    constant = (k == 0) | (k == G)
    centred = grpo_advantages(Y, scale="none")
    if name in ("reinforce", "raft"):
        adv = [Y] * p.size
    elif name == "reinforce_baseline":
        adv = [Y - pi for pi in p]
    elif name == "rloo":
        adv = [rloo_advantages(Y)] * p.size
    elif name == "grpo":
        adv = [grpo_advantages(Y, eps=inst["eps"], ddof=inst["ddof"])] * p.size
    elif name in ("grpo_no_std", "dr_grpo"):
        adv = [centred] * p.size
    elif name == "reinforce_pp":
        mu = float(np.mean(probs @ Y.mean(axis=1)))  # the batch's mean reward
        var = float(np.mean(probs @ ((Y - mu) ** 2).mean(axis=1)))
        adv = [(Y - mu) / np.sqrt(var + 1e-8)] * p.size
    elif name == "reinforce_pp_baseline":
        var = float(np.mean(probs @ (centred**2).mean(axis=1)))
        adv = [centred / np.sqrt(var + 1e-8)] * p.size
    else:  # reinforce_rej: drop constant groups, divide by the kept fraction
        kept = probs @ (~constant)
        kappa = {"batch": np.full(p.size, kept.mean()), "prompt": kept, "none": np.ones(p.size)}
        kappa = kappa[inst["normaliser"]]
        if G == 1:
            kappa = np.ones(p.size)  # a singleton group has advantage 0
        safe = np.where(kappa > 0, kappa, 1.0)
        adv = [centred * (~constant)[:, None] / c for c in safe]
    if G == 1 and name in ("grpo", "grpo_no_std", "dr_grpo", "reinforce_rej"):
        adv = [np.zeros_like(Y)] * p.size
    steps = np.array([(a * (Y - pi)).mean(axis=1) for a, pi in zip(adv, p)])  # (n, 2^G)
    mean = (probs * steps).sum(axis=1)
    var = (probs * (steps - mean[:, None]) ** 2).sum(axis=1)
    return mean, var


@theorem(
    "pg_bandit.closed_forms_equal_enumeration",
    claim="the closed forms U_k of expected_update give the exact mean and variance of each "
    "estimator's per-group logit step (1/G) sum_j A_j (y_j - p), computed over all 2^G groups "
    "with the advantages of prefrl.losses",
    reference="Shao et al. 2024, Eq. 3; Ahmadian et al. 2024, Eq. 6; Liu et al. 2025; Hu 2025, "
    "Eqs. 4-7; Dong et al. 2023; Xiong et al. 2025",
    draw=draw_bandit,
    tolerance=1e-10,
)
def closed_forms_equal_enumeration(inst: dict) -> float:
    """Largest gap in mean and variance between expected_update and enumeration (relative)."""
    res = expected_update(
        inst["estimator"],
        inst["p"],
        inst["group_size"],
        eps=inst["eps"],
        ddof=inst["ddof"],
        normaliser=inst["normaliser"],
    )
    mean, var = _enumerate(inst)
    scale = 1.0 + np.max(np.abs(mean))
    return float(max(np.max(np.abs(res.mean - mean)), np.max(np.abs(res.variance - var))) / scale)


def draw_large_group(rng: np.random.Generator) -> dict:
    """Up to 16 prompts and a group of 1 to 1024 (large groups frequent)."""
    G = int(rng.choice([1, 2, 3, int(rng.integers(2, 64)), int(rng.integers(64, 1025)), 1024]))
    return {
        "p": _draw_p(rng, int(rng.integers(1, 17))),
        "group_size": G,
        "ddof": int(rng.integers(0, 2)) if G > 1 else 0,
    }


@theorem(
    "pg_bandit.unbiased_estimators",
    claim="REINFORCE (A = r), REINFORCE with the true baseline (A = r - p) and RLOO have expected "
    "logit step p(1-p) = dJ/dtheta; the group-mean baseline without leave-one-out has "
    "(G-1)/G p(1-p)",
    reference="Williams 1992; Kool, van Hoof and Welling 2019; Ahmadian et al. 2024, Eq. 6",
    draw=draw_large_group,
    tolerance=1e-12,
)
def unbiased_estimators(inst: dict) -> float:
    """Largest gap between each estimator's exact mean and its closed form."""
    p, G = inst["p"], inst["group_size"]
    v = p * (1 - p)
    gaps = [expected_update(e, p, G).mean - v for e in ("reinforce", "reinforce_baseline", "rloo")]
    gaps.append(expected_update("dr_grpo", p, G).mean - (G - 1) / G * v)
    return float(np.max(np.abs(gaps)))


@theorem(
    "pg_bandit.grpo_sqrt_scaling",
    claim="with eps = 0, GRPO's expected logit step E_G satisfies "
    "c(sqrt(v) - |1-2p|/sqrt(G) - sqrt(v)/G) <= E_G <= c sqrt(v), v = p(1-p), "
    "c = sqrt((G-ddof)/G): it tends to sqrt(p(1-p)), not p(1-p)",
    reference="Shao et al. 2024, Eq. 3 (group std normalisation); Jensen for the upper bound, "
    "sqrt(v) - sqrt(y) <= |v - y| / sqrt(v) for the lower",
    draw=draw_large_group,
    tolerance=1e-12,
)
def grpo_sqrt_scaling(inst: dict) -> float:
    """Amount by which GRPO's exact mean leaves the bracket (0 when inside)."""
    p, G, ddof = inst["p"], inst["group_size"], inst["ddof"]
    if G == 1:
        return float(np.max(np.abs(expected_update("grpo", p, 1, eps=0.0).mean)))
    E = expected_update("grpo", p, G, eps=0.0, ddof=ddof).mean
    v = p * (1 - p)
    c = np.sqrt((G - ddof) / G)
    upper = c * np.sqrt(v)
    lower = c * (np.sqrt(v) - np.abs(1 - 2 * p) / np.sqrt(G) - np.sqrt(v) / G)
    return float(max(0.0, np.max(lower - E), np.max(E - upper)))


@theorem(
    "pg_bandit.zero_advantage_identity",
    claim="zero_advantage_probability(p, G) (log space) = P(k in {0, G}) = p^G + (1-p)^G "
    "(naive powers; every group enumerated for G <= 10)",
    reference="Zheng et al. 2025, Sec. 3; Xiong et al. 2025, Sec. 3",
    draw=draw_large_group,
    tolerance=1e-12,
)
def zero_advantage_identity(inst: dict) -> float:
    """Relative gap between the log-space formula and the pmf (and enumeration)."""
    p, G = inst["p"], inst["group_size"]
    z = zero_advantage_probability(p, G)
    ref = p**G + (1 - p) ** G  # the naive powers, against the log-space formula
    # relative where the probability is representable, absolute among the subnormal ones
    gap = float(np.max(np.abs(z - ref) / np.maximum(ref, 1e-250)))
    if G <= 10:
        Y = np.array(list(itertools.product([0, 1], repeat=G)))
        k = Y.sum(axis=1)
        const = (k == 0) | (k == G)
        enum = np.array([np.sum(pi**k * (1 - pi) ** (G - k) * const) for pi in p])
        gap = max(gap, float(np.max(np.abs(z - enum))))
    return gap


@theorem(
    "pg_bandit.reinforce_rej_rescales_dr_grpo",
    claim="Reinforce-Rej's expected step is Dr. GRPO's divided by the batch's kept fraction "
    "mean_i(1 - z(p_i)) (by 1 - z(p_i) with the per-prompt normaliser, then it is "
    "E[U | kept]): constant groups already have zero mean-centred step, rejection only rescales",
    reference="Xiong et al. 2025, Sec. 3 (Reinforce-Rej); Liu et al. 2025 (Dr. GRPO)",
    draw=draw_bandit,
    tolerance=1e-12,
)
def reinforce_rej_rescales_dr_grpo(inst: dict) -> float:
    """Gap between Reinforce-Rej's mean and Dr. GRPO's mean over the enumerated kept fraction."""
    p, G = inst["p"], inst["group_size"]
    if G == 1:
        return float(np.max(np.abs(expected_update("reinforce_rej", p, 1).mean)))
    Y = np.array(list(itertools.product([0, 1], repeat=G)))
    k = Y.sum(axis=1)
    kept = np.array([np.sum(pi**k * (1 - pi) ** (G - k) * ((k > 0) & (k < G))) for pi in p])
    dr = _enumerate({**inst, "estimator": "grpo_no_std"})[0]
    out = 0.0
    for norm, kappa in (("batch", np.full(p.size, kept.mean())), ("prompt", kept)):
        rej = expected_update("reinforce_rej", p, G, normaliser=norm).mean
        want = np.where(kappa > 0, dr / np.where(kappa > 0, kappa, 1.0), 0.0)
        out = max(out, float(np.max(np.abs(rej - want))))
    return out


def draw_greso(rng: np.random.Generator) -> dict:
    """A short trajectory (1-4 epochs, 1-3 prompts), a group of 1-8, a skip probability."""
    E, n = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    return {
        "p": _draw_p(rng, E * n).reshape(E, n),
        "group_size": int(rng.integers(1, 9)),
        "skip_probability": float(rng.choice([0.0, 1.0, rng.random()])),
    }


@theorem(
    "pg_bandit.greso_recursion",
    claim="GRESO-style skipping (skip with probability q a prompt whose last observed group had "
    "zero advantage): the recursion of greso_selective_rollouts gives the exact expected "
    "rollouts saved and informative groups lost, against every path of outcomes and skip coins",
    reference="Zheng et al. 2025, Alg. 1 (one-parameter form)",
    draw=draw_greso,
    tolerance=1e-12,
)
def greso_recursion(inst: dict) -> float:
    """Gap between the recursion and the enumeration of all paths, per epoch."""
    P, G, q = inst["p"], inst["group_size"], inst["skip_probability"]
    E, n = P.shape
    z = P**G + (1 - P) ** G
    saved, lost = np.zeros(E), np.zeros(E)
    for i in range(n):
        for zeros in itertools.product([False, True], repeat=E):
            pz = np.prod([z[e, i] if zeros[e] else 1 - z[e, i] for e in range(E)])
            for coins in itertools.product([False, True], repeat=E):
                pc = np.prod([q if c else 1 - q for c in coins])
                status = zeros[0]
                for e in range(1, E):
                    if status and coins[e]:
                        saved[e] += pz * pc * G
                        lost[e] += pz * pc * (not zeros[e])
                    else:
                        status = zeros[e]
    res = greso_selective_rollouts(P, G, q)
    return float(
        max(
            np.max(np.abs(res.rollouts_saved - saved)) / G,
            np.max(np.abs(res.informative_lost - lost)),
        )
    )
