"""Identities of the policy-gradient estimators used by RLHF trainers (RLOO, REINFORCE++, KL).

Each check compares :mod:`prefrl.losses` with an independent computation: the leave-one-out
baseline computed by brute force, the expectation of an estimator computed by exact enumeration
over every group of samples of a small softmax bandit, the return-to-go summed directly.

The checks (each with its instance generator):

- ``estimators.rloo_leave_one_out_identity`` (:func:`rloo_leave_one_out_identity`,
  :func:`draw_groups`): Kool, van Hoof and Welling (2019); Ahmadian et al. (2024), Eq. 6.
- ``estimators.rloo_gradient_unbiased`` (:func:`rloo_gradient_unbiased`, :func:`draw_bandit`):
  the RLOO policy gradient is unbiased, by exact enumeration of every group of samples.
- ``estimators.reinforce_pp_return_to_go`` (:func:`reinforce_pp_return_to_go`,
  :func:`draw_tokens`): Hu (2025), "REINFORCE++", Eqs. 4-7.
- ``estimators.kl_estimators_k1_k3_unbiased`` (:func:`kl_estimators_k1_k3_unbiased`,
  :func:`draw_pair`): Schulman (2020), "Approximating KL divergence".
"""

from __future__ import annotations

import itertools

import numpy as np

from prefrl.losses import kl_estimate, reinforce_pp_advantages, rloo_advantages
from prefrl.policies import kl, softmax
from prefrl.registry import theorem


def draw_groups(rng: np.random.Generator) -> dict:
    """Rewards of shape (prompts, group size); ties and constant groups are frequent."""
    P, G = int(rng.integers(1, 5)), int(rng.integers(2, 7))
    if rng.random() < 0.5:
        R = rng.integers(0, 2, size=(P, G)).astype(float)  # pass/fail rewards: many ties
    else:
        R = rng.normal(size=(P, G)) * float(rng.choice([1e-3, 1.0, 1e3]))
    return {"rewards": R}


@theorem(
    "estimators.rloo_leave_one_out_identity",
    claim="the RLOO advantage R_j - mean_{k != j} R_k equals G/(G-1) (R_j - mean R)",
    reference="Kool, van Hoof and Welling 2019; Ahmadian et al. 2024, Eq. 6",
    draw=draw_groups,
    tolerance=1e-12,
)
def rloo_leave_one_out_identity(inst: dict) -> float:
    """Largest gap between prefrl's RLOO advantages and the brute-force leave-one-out baseline."""
    R = inst["rewards"]
    G = R.shape[1]
    brute = np.array(
        [[R[i, j] - np.delete(R[i], j).mean() for j in range(G)] for i in range(R.shape[0])]
    )
    return float(np.max(np.abs(rloo_advantages(R) - brute)) / (1.0 + np.max(np.abs(R))))


def draw_bandit(rng: np.random.Generator) -> dict:
    """A softmax bandit with 2-3 arms, a reward per arm (ties possible) and a group size 2-4."""
    K, G = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    theta = rng.normal(size=K) * float(rng.choice([0.0, 1.0, 3.0]))
    r = rng.integers(-1, 2, size=K).astype(float) if rng.random() < 0.5 else rng.normal(size=K)
    return {"theta": theta, "rewards": r, "group": G}


@theorem(
    "estimators.rloo_gradient_unbiased",
    claim="with G samples from pi_theta, (1/G) sum_j A_j grad log pi(y_j) with RLOO advantages "
    "is an unbiased estimate of grad E_pi r (exact expectation over all K^G groups)",
    reference="Kool, van Hoof and Welling 2019 (the leave-one-out baseline is independent of y_j)",
    draw=draw_bandit,
    tolerance=1e-12,
)
def rloo_gradient_unbiased(inst: dict) -> float:
    """|E[estimator] - grad J| by enumeration of every group of G samples."""
    theta, r, G = inst["theta"], inst["rewards"], inst["group"]
    K = theta.size
    pi = softmax(theta)
    exact = pi * (r - pi @ r)  # d/d theta_y of sum_y pi(y) r(y) for the softmax
    mean = np.zeros(K)
    for ys in itertools.product(range(K), repeat=G):
        ys = np.array(ys)
        prob = float(np.prod(pi[ys]))
        A = rloo_advantages(r[ys][None, :])[0]
        score = np.eye(K)[ys] - pi  # grad of log pi(y_j) in theta, shape (G, K)
        mean += prob * (A[:, None] * score).mean(axis=0)
    return float(np.max(np.abs(mean - exact)) / (1.0 + np.max(np.abs(r))))


def draw_tokens(rng: np.random.Generator) -> dict:
    """A batch of token rewards with masks (rows of length 1 too), log-probs and a KL weight.

    Whitening needs two unmasked tokens in the batch, so a single row has length >= 2.
    """
    B, T = int(rng.integers(1, 4)), int(rng.integers(2, 6))
    lengths = rng.integers(1 if B > 1 else 2, T + 1, size=B)
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(float)
    rewards = np.zeros((B, T))
    rewards[np.arange(B), lengths - 1] = rng.normal(size=B)  # outcome reward on the last token
    logp = -rng.exponential(size=(B, T))
    ref = -rng.exponential(size=(B, T))
    beta = float(rng.choice([0.0, 0.05, 1.0]))
    return {"rewards": rewards, "mask": mask, "logp": logp, "ref_logp": ref, "beta": beta}


@theorem(
    "estimators.reinforce_pp_return_to_go",
    claim="REINFORCE++ advantages are the batch-whitened returns-to-go of the KL-shaped token "
    "rewards r_t - beta (log pi_old - log pi_ref)",
    reference="Hu 2025, REINFORCE++, Eqs. 4-7",
    draw=draw_tokens,
    tolerance=1e-9,
)
def reinforce_pp_return_to_go(inst: dict) -> float:
    """Gap between prefrl's advantages and whitened returns-to-go summed directly per token."""
    R, m, lp, lr, beta = (inst[k] for k in ("rewards", "mask", "logp", "ref_logp", "beta"))
    shaped = (R - beta * (lp - lr)) * m
    B, T = R.shape
    G = np.array([[shaped[b, t:].sum() for t in range(T)] for b in range(B)]) * m
    vals = G[m > 0]
    var = vals.var(ddof=1) if vals.size > 1 else 0.0
    expected = (G - vals.mean()) / np.sqrt(var + 1e-8) * m
    got = reinforce_pp_advantages(R, m, logp=lp, ref_logp=lr, beta=beta)
    return float(np.max(np.abs(got - expected)) / (1.0 + np.max(np.abs(expected))))


def draw_pair(rng: np.random.Generator) -> dict:
    """A policy and a reference on 1-5 tokens (near-deterministic ones included)."""
    K = int(rng.integers(1, 6))
    conc = float(rng.choice([0.05, 1.0, 10.0]))
    return {"pi": rng.dirichlet(np.ones(K) * conc) * 0.999 + 0.001 / K,
            "ref": rng.dirichlet(np.ones(K))}


@theorem(
    "estimators.kl_estimators_k1_k3_unbiased",
    claim="E_{a~pi}[k1] = E_{a~pi}[k3] = KL(pi || pi_ref) and k3 >= 0 (exact expectation)",
    reference="Schulman 2020, Approximating KL divergence",
    draw=draw_pair,
    tolerance=1e-12,
)
def kl_estimators_k1_k3_unbiased(inst: dict) -> float:
    """Largest |E[k] - KL| for k1 and k3 by exact expectation, plus any negative k3 value."""
    pi, ref = inst["pi"], inst["ref"]
    lp, lr = np.log(pi), np.log(ref)
    truth = kl(pi, ref)
    k1 = pi @ kl_estimate(lp, lr, kind="k1")
    k3_vals = kl_estimate(lp, lr, kind="k3")
    k3 = pi @ k3_vals
    worst = max(abs(k1 - truth), abs(k3 - truth), max(0.0, -float(k3_vals.min())))
    return float(worst / (1.0 + truth))
