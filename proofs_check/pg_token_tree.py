"""Token-level rewards and per-state KL weights on a token tree (RTO; critical-token KL relaxation).

Each check recomputes the claim by enumerating every sequence of a small tree, independently of
the backward induction in :mod:`prefrl.pg_theory`:

- ``pg_token_tree.dense_return_telescopes``: the dense reward beta log(pi_DPO/pi_ref) summed along
  a sequence is beta log(pi_DPO(y)/pi_ref(y)) (Zhong et al. 2024, "DPO Meets PPO", Sec. 4).
- ``pg_token_tree.sequence_law_is_geometric_mixture``: the soft optimum at KL weight beta' with the
  dense reward induces the sequence law pi_ref^(1-b) pi_DPO^b / Z, b = beta/beta', and
  V(root) = beta' log Z.
- ``pg_token_tree.equal_weights_recover_pi_dpo``: at beta' = beta the optimal token policy is pi_DPO.
- ``pg_token_tree.token_policy_carries_continuation``: the optimal token policy is the per-token
  mixture reweighted by the Hölder sum C(s') = sum over continuations of pi_ref^(1-b) pi_DPO^b
  (<= 1 for b <= 1, >= 1 for b >= 1); it is the per-token mixture iff C is constant over the
  children (the figure rto_dense_reward shows the gap is positive on generic trees).
- ``pg_token_tree.per_state_kl_optimum``: backward induction with per-state KL weights (zeros
  included) attains the largest objective, evaluated by enumeration, among random and perturbed
  policies, with zero gradient (Vassoyan, Beau and Plaud 2025, the per-token KL weight).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from prefrl.mdp.envs import token_tree
from prefrl.pg_theory import (
    dense_dpo_reward,
    per_state_soft_optimum,
    random_rto_instance,
    soft_optimal_sequence_law,
    tree_policy_gradient,
)
from prefrl.registry import theorem


def _paths(S: int, V: int):
    """Depth, every sequence and the states it visits, by enumeration (children: s V + 1 + a)."""
    H = 0
    while sum(V**h for h in range(H + 1)) < S:
        H += 1
    seqs = np.array(np.meshgrid(*[np.arange(V)] * H, indexing="ij")).reshape(H, -1).T
    states = np.zeros_like(seqs)
    for t in range(1, H):
        states[:, t] = states[:, t - 1] * V + 1 + seqs[:, t - 1]
    return H, seqs, states


def _seq_log(p, seqs, states):
    return np.log(p[states, seqs]).sum(axis=1)


def draw_rto(rng: np.random.Generator) -> dict:
    """A random RTO instance (vocabulary 1-3, depth 1-3, pi_DPO = pi_ref or beta' = beta at times)."""
    return random_rto_instance(rng)


@theorem(
    "pg_token_tree.dense_return_telescopes",
    claim="sum_t beta log(pi_DPO(y_t|y_<t)/pi_ref(y_t|y_<t)) = beta log(pi_DPO(y)/pi_ref(y)) for "
    "every sequence y",
    reference="Zhong et al. 2024, DPO Meets PPO (RTO), Sec. 4",
    draw=draw_rto,
    tolerance=1e-10,
)
def dense_return_telescopes(inst: dict) -> float:
    """Largest gap between the summed dense reward and beta log(pi_DPO(y)/pi_ref(y)), by sequence."""
    ref, dpo, beta = inst["pi_ref"], inst["pi_dpo"], inst["beta"]
    r = dense_dpo_reward(ref, dpo, beta)
    _, seqs, states = _paths(*ref.shape)
    total = r[states, seqs].sum(axis=1)
    seq_ratio = np.log(np.prod(dpo[states, seqs], axis=1) / np.prod(ref[states, seqs], axis=1))
    return float(np.max(np.abs(total - beta * seq_ratio)) / (1 + np.max(np.abs(total))))


@theorem(
    "pg_token_tree.sequence_law_is_geometric_mixture",
    claim="the KL-regularised optimum at weight beta' with the dense DPO reward induces the "
    "sequence law pi_ref(y)^(1-b) pi_DPO(y)^b / Z (b = beta/beta') and V(root) = beta' log Z",
    reference="Zhong et al. 2024, DPO Meets PPO (RTO), Sec. 4; soft Bellman recursion",
    draw=draw_rto,
    tolerance=1e-10,
)
def sequence_law_is_geometric_mixture(inst: dict) -> float:
    """Gap between the induced sequence law and the enumerated geometric mixture, and in V(root)."""
    ref, dpo = inst["pi_ref"], inst["pi_dpo"]
    b = inst["beta"] / inst["beta_prime"]
    res = soft_optimal_sequence_law(**inst)
    V = ref.shape[1]
    _, seqs, states = _paths(*ref.shape)
    log_mix = (1 - b) * _seq_log(ref, seqs, states) + b * _seq_log(dpo, seqs, states)
    log_Z = logsumexp(log_mix)
    law = token_tree(V, seqs.shape[1]).sequence_probabilities(res.policy)
    value_err = abs(res.value - inst["beta_prime"] * log_Z) / (1 + abs(res.value))
    return float(max(np.max(np.abs(law - np.exp(log_mix - log_Z))), value_err))


@theorem(
    "pg_token_tree.equal_weights_recover_pi_dpo",
    claim="at beta' = beta the soft-optimal token policy under the dense DPO reward is pi_DPO at "
    "every non-leaf state",
    reference="Zhong et al. 2024, DPO Meets PPO (RTO), Sec. 4",
    draw=draw_rto,
    tolerance=1e-10,
)
def equal_weights_recover_pi_dpo(inst: dict) -> float:
    """Largest |pi*(a|s) - pi_DPO(a|s)| over non-leaf states at beta' = beta."""
    inst = {**inst, "beta_prime": inst["beta"]}
    res = soft_optimal_sequence_law(**inst)
    S, V = inst["pi_ref"].shape
    n_inner = (S - 1) // V
    return float(np.max(np.abs(res.policy - inst["pi_dpo"])[:n_inner]))


@theorem(
    "pg_token_tree.token_policy_carries_continuation",
    claim="pi*(a|s) is proportional to pi_ref(a|s)^(1-b) pi_DPO(a|s)^b C(sa), with C(s') the sum "
    "over continuations of pi_ref^(1-b) pi_DPO^b (1 at leaves; <= 1 for b <= 1, >= 1 for b >= 1); "
    "so pi* is the per-token mixture iff C is constant over the children of s",
    reference="Zhong et al. 2024, DPO Meets PPO (RTO), Sec. 4; Hölder's inequality",
    draw=draw_rto,
    tolerance=1e-9,
)
def token_policy_carries_continuation(inst: dict) -> float:
    """Gap to the mixture-times-continuation form (C enumerated), plus any Hölder-sign violation."""
    ref, dpo = inst["pi_ref"], inst["pi_dpo"]
    b = inst["beta"] / inst["beta_prime"]
    res = soft_optimal_sequence_law(**inst)
    S, V = ref.shape
    H, seqs, states = _paths(S, V)
    log_m = (1 - b) * np.log(ref) + b * np.log(dpo)  # unnormalised per-token mixture
    # C by enumeration: for every state visited at depth t, sum the continuation weights.
    logC = np.full(S, -np.inf)
    logC[S - V**H :] = 0.0
    for t in range(H - 1, -1, -1):
        tail = log_m[states[:, t:], seqs[:, t:]].sum(axis=1)
        for s in np.unique(states[:, t]):
            logC[s] = logsumexp(tail[states[:, t] == s])
    worst = 0.0
    for s in range(S - V**H):
        child = s * V + 1 + np.arange(V)
        w = log_m[s] + logC[child]
        worst = max(worst, float(np.max(np.abs(res.policy[s] - np.exp(w - logsumexp(w))))))
    inner = logC[: S - V**H]
    if b <= 1:
        worst = max(worst, float(np.max(inner)) if inner.size else 0.0)
    if b >= 1:
        worst = max(worst, float(-np.min(inner)) if inner.size else 0.0)
    return worst


def draw_weights(rng: np.random.Generator) -> dict:
    """A tiny tree, token rewards (ties possible) and per-state KL weights with zeros."""
    V, H = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)
    ref = np.maximum(rng.dirichlet(np.ones(V) * float(rng.choice([0.3, 1.0, 5.0])), size=S), 1e-3)
    ref /= ref.sum(axis=1, keepdims=True)
    r = (
        rng.integers(-1, 2, size=(S, V)).astype(float)
        if rng.random() < 0.4
        else rng.normal(size=(S, V))
    )
    w = 10 ** rng.uniform(-1, 1, size=S) * (rng.random(S) < float(rng.choice([0.7, 1.0])))
    if rng.random() < 0.2:
        w[:] = w[0]  # uniform weight
    return {"pi_ref": ref, "token_rewards": r, "kl_weights": w, "seed": int(rng.integers(2**31))}


def _objective(pi, ref, r, w, seqs, states) -> float:
    """E_y sum_t (r - w log pi/ref), by enumerating sequences."""
    p = np.prod(pi[states, seqs], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0) / ref), 0.0)
    per = (r[states, seqs] - w[states] * ratio[states, seqs]).sum(axis=1)
    return float(p @ np.where(p > 0, per, 0.0))


@theorem(
    "pg_token_tree.per_state_kl_optimum",
    claim="backward induction with per-state KL weights beta_s >= 0 maximises E sum_t (r - "
    "beta_s log pi/pi_ref): its value equals the objective by enumeration and no random or "
    "perturbed policy does better; the exact softmax gradient vanishes there",
    reference="Vassoyan, Beau and Plaud 2025 (per-token KL weight); Gibbs variational principle",
    draw=draw_weights,
    tolerance=1e-9,
)
def per_state_kl_optimum(inst: dict) -> float:
    """Value mismatch, best improvement by another policy, and the gradient at the optimum."""
    ref, r, w = inst["pi_ref"], inst["token_rewards"], inst["kl_weights"]
    rng = np.random.default_rng(inst["seed"])
    opt = per_state_soft_optimum(ref, r, w)
    _, seqs, states = _paths(*ref.shape)
    best = _objective(opt.policy, ref, r, w, seqs, states)
    worst = abs(best - opt.value) / (1 + abs(best))
    for k in range(30):
        if k % 2:
            cand = rng.dirichlet(np.ones(ref.shape[1]), size=ref.shape[0])
        else:
            cand = opt.policy * np.exp(rng.normal(size=ref.shape) * 10 ** rng.uniform(-4, 0))
            cand /= cand.sum(axis=1, keepdims=True)
        worst = max(worst, _objective(cand, ref, r, w, seqs, states) - best)
    g = tree_policy_gradient(opt.policy, r, ref, w)
    worst = max(worst, float(np.max(np.abs(g.gradient))), abs(g.value - opt.value))
    if np.all(w == w[0]) and w[0] > 0:
        V = ref.shape[1]
        bi = token_tree(V, seqs.shape[1], token_rewards=r).backward_induction(None, w[0], ref)
        worst = max(worst, abs(bi.expected_return - opt.value) / (1 + abs(opt.value)))
    return float(worst)
