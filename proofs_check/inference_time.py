"""Exact laws of inference-time alignment rules (best-of-n, Q-probe, VAS) against brute force.

Each check compares :mod:`prefrl.inference_time` with an independent computation: the law of a
sampling rule by enumeration of every tuple of draws (all K^n of them), the KL bound of
best-of-n, and VAS on a depth-1 token tree against the Gibbs tilt of :mod:`prefrl.policies`.

The checks (each with its instance generator):

- ``inference_time.bon_law_enumeration`` (:func:`bon_law_enumeration`, :func:`draw_tiny_bandit`):
  the best-of-n law, ties broken uniformly among the tied maximisers (Beirami et al. 2024, Lemma 1,
  extended to ties).
- ``inference_time.bon_kl_bound`` (:func:`bon_kl_bound`, :func:`draw_bandit`): KL(pi_n || pi_ref)
  <= log n - (n-1)/n, strictly for n >= 2 (Beirami et al. 2024, Thm. 3.1).
- ``inference_time.q_probe_law_enumeration`` (:func:`q_probe_law_enumeration`,
  :func:`draw_tiny_bandit`): the Q-probe law by both exact methods (Li et al. 2024, Sec. 3).
- ``inference_time.q_probe_one_draw_is_reference`` (:func:`q_probe_one_draw_is_reference`,
  :func:`draw_bandit`): k = 1 returns pi_ref.
- ``inference_time.vas_depth_one_is_gibbs`` (:func:`vas_depth_one_is_gibbs`, :func:`draw_tree`):
  on a depth-1 tree VAS is the KL-regularised optimum (Han et al. 2024).
- ``inference_time.soft_policy_iteration_exact_after_depth`` (:func:`soft_pi_exact_after_depth`,
  :func:`draw_tree`): soft policy iteration from the base policy (VAS is its first step) improves
  monotonically and is the optimum after depth-many steps.
"""

from __future__ import annotations

import itertools

import numpy as np

from prefrl.inference_time import (
    best_of_n_distribution,
    q_probe_distribution,
    soft_policy_iteration,
    vas_vs_optimum,
)
from prefrl.mdp.envs import token_tree
from prefrl.policies import gibbs
from prefrl.registry import theorem


def _reference(rng, K: int) -> np.ndarray:
    """A reference policy; sometimes with zeros, sometimes near-deterministic, sometimes uniform."""
    u = rng.random()
    if u < 0.2:
        return np.full(K, 1.0 / K)
    pi = rng.dirichlet(np.full(K, float(rng.choice([0.2, 1.0, 5.0]))))
    if u < 0.4 and K > 1:
        pi[rng.integers(K)] = 0.0
        pi = pi / pi.sum() if pi.sum() > 0 else np.full(K, 1.0 / K)
    return pi


def draw_tiny_bandit(rng: np.random.Generator) -> dict:
    """K <= 4 responses, n or k <= 4 draws, tied rewards half the time, beta over decades."""
    K, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if rng.random() < 0.5:
        r = rng.integers(0, 2, size=K).astype(float)  # many ties, constant rewards too
    else:
        r = rng.normal(size=K)
    return {
        "pi_ref": _reference(rng, K),
        "reward": r,
        "m": m,
        "beta": float(10 ** rng.uniform(-1.5, 1.0)),
    }


def draw_bandit(rng: np.random.Generator) -> dict:
    """K <= 30 responses, n up to 200, ties sometimes."""
    K = int(rng.integers(1, 31))
    r = rng.integers(0, 3, size=K).astype(float) if rng.random() < 0.3 else rng.normal(size=K)
    n = int(rng.choice([1, 2, 3, int(rng.integers(1, 201))]))
    return {
        "pi_ref": _reference(rng, K),
        "reward": r,
        "m": n,
        "beta": float(10 ** rng.uniform(-1.5, 1.0)),
    }


def _brute_best_of_n(pi, r, n):
    law = np.zeros(pi.size)
    for ys in itertools.product(range(pi.size), repeat=n):
        p = float(np.prod(pi[list(ys)]))
        if p == 0:
            continue
        vals = r[list(ys)]
        best = [y for y, v in zip(ys, vals, strict=True) if v == vals.max()]
        for y in best:
            law[y] += p / len(best)
    return law


@theorem(
    "inference_time.bon_law_enumeration",
    claim="the best-of-n law (F(r_y)^n - F(r_y^-)^n) pi_ref(y) / pi_ref(level of y) equals the "
    "law of 'draw n iid, return a tied maximiser uniformly' enumerated over all K^n draws",
    reference="Beirami et al. 2024, Lemma 1 (distinct rewards); ties derived",
    draw=draw_tiny_bandit,
    tolerance=1e-12,
)
def bon_law_enumeration(inst: dict) -> float:
    """Largest gap between the closed-form best-of-n law and the enumeration."""
    pi, r, n = inst["pi_ref"], inst["reward"], inst["m"]
    return float(
        np.max(np.abs(best_of_n_distribution(pi, r, n).policy - _brute_best_of_n(pi, r, n)))
    )


@theorem(
    "inference_time.bon_kl_bound",
    claim="KL(pi_n || pi_ref) <= log n - (n-1)/n for every reference, reward (ties included) and "
    "n, with strict inequality when n >= 2 and the best-of-n law differs from pi_ref",
    reference="Beirami et al. 2024, Thm. 3.1",
    draw=draw_bandit,
    tolerance=1e-12,
)
def bon_kl_bound(inst: dict) -> float:
    """max(0, KL - bound), plus 1 when n >= 2 and the bound is attained by a nontrivial law."""
    res = best_of_n_distribution(inst["pi_ref"], inst["reward"], inst["m"])
    excess = max(0.0, res.kl - res.kl_bound)
    attained = res.n >= 2 and res.kl > 1e-12 and res.kl_bound - res.kl <= 1e-12
    return excess + float(attained)


def _brute_q_probe(pi, q, beta, k):
    law = np.zeros(pi.size)
    for ys in itertools.product(range(pi.size), repeat=k):
        p = float(np.prod(pi[list(ys)]))
        if p == 0:
            continue
        z = q[list(ys)] / beta
        w = np.exp(z - z.max())
        w = w / w.sum()
        for y, wy in zip(ys, w, strict=True):
            law[y] += p * wy
    return law


@theorem(
    "inference_time.q_probe_law_enumeration",
    claim="the Q-probe law k pi_ref(y) E[w_y / (w_y + S_{k-1})] (multinomial sum and the integral "
    "k pi_ref(y) int_0^1 G_y(v)^{k-1} dv) equals the enumeration over all K^k draws",
    reference="Li et al. 2024, Sec. 3 (the sampling rule); the closed forms derived",
    draw=draw_tiny_bandit,
    tolerance=1e-11,
)
def q_probe_law_enumeration(inst: dict) -> float:
    """Largest gap between either exact Q-probe law and the enumeration."""
    pi, q, beta, k = inst["pi_ref"], inst["reward"], inst["beta"], inst["m"]
    brute = _brute_q_probe(pi, q, beta, k)
    a = q_probe_distribution(pi, q, beta, k, method="multinomial").policy
    b = q_probe_distribution(pi, q, beta, k, method="laplace").policy
    return float(max(np.max(np.abs(a - brute)), np.max(np.abs(b - brute))))


@theorem(
    "inference_time.q_probe_one_draw_is_reference",
    claim="Q-probe sampling with k = 1 draw returns pi_ref",
    reference="Li et al. 2024, Sec. 3",
    draw=draw_bandit,
    tolerance=1e-14,
)
def q_probe_one_draw_is_reference(inst: dict) -> float:
    """max |P_1 - pi_ref|."""
    pi = inst["pi_ref"]
    return float(
        np.max(np.abs(q_probe_distribution(pi, inst["reward"], inst["beta"], 1).policy - pi))
    )


def draw_tree(rng: np.random.Generator) -> dict:
    """A token tree (vocabulary 1-3, depth 1-4), random or constant rewards, a random base policy."""
    V, H = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    R = rng.normal(size=V**H) * float(rng.choice([0.0, 1.0, 3.0]))
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)
    pi0 = rng.dirichlet(np.full(V, float(rng.choice([0.3, 1.0, 10.0]))), size=S)
    return {
        "vocab_size": V,
        "depth": H,
        "sequence_rewards": R,
        "base_policy": pi0,
        "beta": float(10 ** rng.uniform(-1.0, 1.0)),
    }


@theorem(
    "inference_time.vas_depth_one_is_gibbs",
    claim="on a depth-1 token tree VAS, pi_0 e^{Q^{pi_0}/beta}/Z, is the KL-regularised optimum "
    "pi_0 e^{r/beta}/Z and the objective gap is 0",
    reference="Han et al. 2024 (the VAS decoding rule); Rafailov et al. 2023, Eq. 4",
    draw=draw_tree,
    tolerance=1e-12,
)
def vas_depth_one_is_gibbs(inst: dict) -> float:
    """|VAS root policy - Gibbs| + |gap| on the depth-1 version of the drawn tree."""
    V = inst["vocab_size"]
    R = inst["sequence_rewards"][:V]
    tree = token_tree(V, 1, sequence_rewards=R)
    pi0 = inst["base_policy"][: tree.n_states]
    res = vas_vs_optimum(tree, pi0, inst["beta"])
    return float(np.max(np.abs(res.policy[0] - gibbs(pi0[0], R, inst["beta"]))) + abs(res.gap))


@theorem(
    "inference_time.soft_policy_iteration_exact_after_depth",
    claim="soft policy iteration from pi_0 (whose first step is VAS) has nondecreasing objectives, "
    "its first step equals VAS, and after depth-many steps it is the KL-regularised optimum",
    reference="Haarnoja et al. 2018, Lemmas 1-2; Han et al. 2024 (VAS); derived for token trees",
    draw=draw_tree,
    tolerance=1e-10,
)
def soft_pi_exact_after_depth(inst: dict) -> float:
    """Largest of: objective decrease, |step 1 - VAS|, H-step certificate, |value - optimum|."""
    tree = token_tree(inst["vocab_size"], inst["depth"], sequence_rewards=inst["sequence_rewards"])
    pi0, beta, H = inst["base_policy"], inst["beta"], inst["depth"]
    spi = soft_policy_iteration(tree, pi0, beta, H)
    cmp = vas_vs_optimum(tree, pi0, beta)
    step1 = spi.policies[1]
    step1_err = max(
        float(
            np.max(np.abs(step1[h][tree.states_at_depth(h)] - cmp.policy[tree.states_at_depth(h)]))
        )
        for h in range(H)
    )
    decrease = max(0.0, -float(np.min(np.diff(spi.objectives))))
    scale = 1.0 + float(np.max(np.abs(inst["sequence_rewards"])))
    return max(
        decrease / scale, step1_err, spi.certificate, abs(spi.value - cmp.optimum_value) / scale
    )
