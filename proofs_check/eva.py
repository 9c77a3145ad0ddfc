"""Theorems behind eva's creator-solver game on a contextual bandit (Ye et al. 2024).

eva (Ye, Agarwal, Liu, Joshi, Velury, Le, Tan and Liu, "Evolving Alignment via Asymmetric
Self-Play", arXiv 2411.00062) lets a creator reweight prompts by an informativeness proxy of the
solver's regret. prefrl.curriculum computes the proxies exactly (order statistics of a categorical
distribution), the creator's weights, and the solver's exact gradient; here each is checked
against an independent computation: enumeration of all N-tuples of responses, a linear program
over creator distributions, finite differences. Instances include ties in the rewards,
deterministic policies, zero probabilities, one context and one action.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from prefrl.curriculum import (
    context_regret,
    creator_weights,
    informativeness,
    kl_regularized_gradient,
)
from prefrl.policies import log_softmax
from prefrl.proofs_check._draws import tied_or_normal_rewards
from prefrl.registry import theorem

KINDS = ("max-min", "max-mean", "regret")


def _policy(rng: np.random.Generator, X: int, K: int) -> np.ndarray:
    u = rng.random()
    if u < 0.25:  # deterministic at every context
        return np.eye(K)[rng.integers(K, size=X)]
    p = rng.dirichlet(np.ones(K) * rng.choice([0.3, 1.0]), size=X)
    if u < 0.6:  # zero probabilities
        p = p * (rng.random((X, K)) < 0.6)
        empty = p.sum(axis=1) == 0
        p[empty, rng.integers(K)] = 1.0
        p = p / p.sum(axis=1, keepdims=True)
    return p


def draw_instance(rng: np.random.Generator) -> dict:
    """A small contextual bandit (ties, one context, one action), a policy, N, creator settings."""
    X = int(rng.choice([1, 2, 3, 4]))
    K = int(rng.choice([1, 2, 3, 4]))
    rewards = tied_or_normal_rewards(rng, (X, K)) * rng.choice([1.0, 3.0])
    if rng.random() < 0.15:  # every response ties
        rewards = np.broadcast_to(rewards[:, :1], (X, K)).copy()
    info = rng.random(X) * rng.choice([0.0, 1.0, 5.0])
    if X > 1 and rng.random() < 0.4:  # ties and zeros in the informativeness
        info[rng.integers(X)] = info[0]
        info[rng.integers(X)] = 0.0
    return {
        "rewards": rewards,
        "policy": _policy(rng, X, K),
        "pi_ref": _policy(rng, X, K),
        "theta": rng.normal(size=(X, K)) * rng.choice([0.0, 1.0, 2.0]),
        "q": rng.dirichlet(np.ones(X)),
        "n": int(rng.integers(1, 5)),
        "beta": float(rng.choice([0.05, 0.5, 2.0])),
        "info": info,
        "temperature": float(rng.choice([0.1, 1.0, 3.0])),
        "buffer_mix": float(rng.choice([0.0, 0.25, 0.9])),
    }


def _enumerate(policy: np.ndarray, rewards: np.ndarray, n: int) -> dict:
    """Expected proxies by summing over all K**n tuples of responses (slow, obvious)."""
    X, K = policy.shape
    out = {k: np.zeros(X) for k in KINDS}
    for x in range(X):
        for ys in itertools.product(range(K), repeat=n):
            w = float(np.prod(policy[x, list(ys)]))
            if w == 0.0:
                continue
            r = rewards[x, list(ys)]
            out["max-min"][x] += w * (r.max() - r.min())
            out["max-mean"][x] += w * (r.max() - r.mean())
            out["regret"][x] += w * (rewards[x].max() - r.mean())
    return out


@theorem(
    "eva.expected_proxies_match_enumeration",
    claim="the order-statistics formulas E[max-min] = sum_j gap_j (1 - F_j^N - G_j^N), "
    "E[max-mean] = sum_j gap_j (F_j - F_j^N), E[regret proxy] = sum_j gap_j F_j equal the "
    "expectation over all K^N tuples of iid responses",
    reference="Ye et al. 2024 (eva), Sec. 3, informativeness; order statistics of iid draws",
    draw=draw_instance,
    tolerance=1e-12,
)
def expected_proxies_enumeration(inst: dict) -> float:
    """Largest |closed form - enumeration| over contexts and kinds, relative to 1 + max|r|."""
    ref = _enumerate(inst["policy"], inst["rewards"], inst["n"])
    scale = 1.0 + float(np.max(np.abs(inst["rewards"])))
    return max(
        float(np.max(np.abs(informativeness(inst["policy"], inst["rewards"], inst["n"], k,
                                            exact=True) - ref[k])))
        for k in KINDS) / scale


@theorem(
    "eva.creator_weights_monotone",
    claim="the creator's weights q = (1 - lambda) iota^(1/T) / sum + lambda / X form a "
    "distribution, are monotone in the informativeness iota (iota(x) > iota(x') implies "
    "q(x) > q(x') for lambda < 1, equal iota gives equal q), and as T -> 0 with lambda = 0 "
    "tend to the creator's best response, uniform on argmax iota",
    reference="Ye et al. 2024 (eva), Sec. 3 (sample prompts in proportion to informativeness); "
    "tempering and uniform buffer ours",
    draw=draw_instance,
    tolerance=1e-12,
)
def creator_monotone(inst: dict) -> float:
    """Sum-to-one error, plus 1 per monotonicity failure, plus the T -> 0 limit error."""
    info, T, lam = inst["info"], inst["temperature"], inst["buffer_mix"]
    q = creator_weights(info, T, lam)
    w = creator_weights(info, T, 0.0)  # the informativeness part alone
    viol = abs(float(q.sum()) - 1.0) + float(np.sum(q < 0))
    for a, b in itertools.combinations(range(info.size), 2):
        if info[a] == info[b]:
            viol += abs(q[a] - q[b])
        elif (q[a] - q[b]) * (info[a] - info[b]) < 0:
            viol += 1.0  # order reversed
        elif lam < 1 and q[a] == q[b] and (1 - lam) * abs(w[a] - w[b]) > 1e-12 * q.max():
            # Ties are allowed only where the difference is below the rounding of the mixture
            # (or iota^(1/T) / sum underflows).
            viol += 1.0
    if info.max() > 0:
        best = (info == info.max()) / np.sum(info == info.max())
        viol += float(np.max(np.abs(creator_weights(info, 1e-3, 0.0) - best))) * (
            # (second / first)^(1000) is below 1e-12 once the ratio is below 0.97.
            float(np.max(np.where(info < info.max(), info, 0.0))) < 0.97 * info.max())
    return viol


@theorem(
    "eva.minimax_regret_inner_max_is_point_mass",
    claim="for a fixed solver pi, max over creator distributions q of E_{x~q} Regret(x, pi) "
    "(a linear program over the simplex) equals max_x Regret(x, pi), attained at a point mass; "
    "Regret(x, pi) = max_y r(x, y) - E_pi r(x, .) >= 0, and the exact regret proxy equals it",
    reference="Ye et al. 2024 (eva), Sec. 3, the minimax-regret objective "
    "min_pi max_q E_{x~q} Regret(x, pi)",
    draw=draw_instance,
    tolerance=1e-9,
)
def inner_max_point_mass(inst: dict) -> float:
    """|LP value - max_x Regret| + |closed form - direct regret| + exact-proxy mismatch."""
    pi, r = inst["policy"], inst["rewards"]
    reg = context_regret(pi, r)
    direct = r.max(axis=1) - np.sum(pi * r, axis=1)
    X = r.shape[0]
    lp = linprog(-reg, A_eq=np.ones((1, X)), b_eq=[1.0], bounds=[(0, None)] * X,
                 method="highs")
    if lp.status != 0:
        return np.inf
    scale = 1.0 + float(np.max(np.abs(r)))
    point = np.zeros(X)
    point[int(np.argmax(reg))] = 1.0
    return (abs(-lp.fun - reg.max()) + abs(point @ reg - reg.max())
            + float(np.max(np.abs(reg - direct))) + float(np.sum(np.maximum(-reg, 0.0)))
            + float(np.max(np.abs(informativeness(pi, r, inst["n"], "regret", exact=True)
                                  - reg)))) / scale


@theorem(
    "eva.expected_max_min_zero_iff_constant_on_support",
    claim="for N >= 2 the expected max-min proxy of a context is exactly 0 when the rewards are "
    "constant on the support of pi(.|x) (in particular when pi is deterministic) and positive "
    "otherwise (unless its exact value is below the normal float range); for N = 1 it is "
    "exactly 0",
    reference="Ye et al. 2024 (eva), Sec. 3 (informativeness); our corollary of the "
    "order-statistics formula",
    draw=draw_instance,
    tolerance=0.0,
)
def max_min_zero_iff(inst: dict) -> float:
    """Sum of |value| where it must be 0, plus 1 per context where it must be > 0 and is not."""
    pi, r, n = inst["policy"], inst["rewards"], inst["n"]
    val = informativeness(pi, r, n, "max-min", exact=True)
    viol = 0.0
    for x in range(r.shape[0]):
        on = r[x, pi[x] > 0]
        constant = bool(np.all(on == on[0]))
        if constant or n == 1:
            viol += abs(val[x])
        elif not val[x] > 0:
            # The exact value is >= max_j gap_j min(F_j, G_j) / 2; below the normal range it may
            # round to 0, which is not a failure of the formula.
            p = pi[x, np.argsort(r[x], kind="stable")]
            v = np.sort(r[x])
            F = np.cumsum(p)[:-1]
            G = np.cumsum(p[::-1])[::-1][1:]
            if np.max(np.diff(v) * np.minimum(F, G)) / 2 > 1e-300:
                viol += 1.0
    return viol


@theorem(
    "eva.proxy_ordering",
    claim="in expectation, max-min >= max-mean, max-mean is nondecreasing in N and never "
    "exceeds the regret (the proxy only sees sampled responses: E max_i r <= max_y r), and "
    "equals 0 for N = 1",
    reference="Ye et al. 2024 (eva), Sec. 3 (informativeness proxies); our derivation",
    draw=draw_instance,
    tolerance=1e-12,
)
def proxy_ordering(inst: dict) -> float:
    """Largest excess of any of the four inequalities, relative to 1 + max|r|."""
    pi, r, n = inst["policy"], inst["rewards"], inst["n"]
    e = {k: informativeness(pi, r, n, k, exact=True) for k in KINDS}
    nxt = informativeness(pi, r, n + 1, "max-mean", exact=True)
    one = informativeness(pi, r, 1, "max-mean", exact=True)
    scale = 1.0 + float(np.max(np.abs(r)))
    return max(float(np.max(e["max-mean"] - e["max-min"])),
               float(np.max(e["max-mean"] - nxt)),
               float(np.max(nxt - e["regret"])),
               float(np.max(np.abs(one))), 0.0) / scale


@theorem(
    "eva.solver_gradient_matches_finite_differences",
    claim="the solver's exact gradient q(x) pi(y|x) (g - E_pi g), g = r - beta log(pi/pi_ref), "
    "equals finite differences of sum_x q(x) [E_pi r - beta KL(pi(.|x) || pi_ref(.|x))] in the "
    "logits theta = log pi_ref + phi (entries where pi_ref = 0 stay at probability 0)",
    reference="Ye et al. 2024 (eva), Alg. 1 solver step (our exact KL-regularised policy "
    "gradient); Williams 1992 (softmax score function)",
    draw=draw_instance,
    tolerance=1e-7,
)
def solver_gradient_fd(inst: dict) -> float:
    """Largest |exact - finite-difference| gradient entry, relative to 1 + max|gradient|."""
    r, ref, q, beta = inst["rewards"], inst["pi_ref"], inst["q"], inst["beta"]
    with np.errstate(divide="ignore"):
        log_ref = np.log(ref)
    phi = inst["theta"]
    theta = log_ref + phi
    grad = kl_regularized_gradient(theta, r, ref, beta, q)

    def J(th):
        # sum_x q(x) [E_pi r - beta KL(pi || pi_ref)], written out here (an independent form:
        # log-space, dropping the responses where pi = 0).
        log_pi = log_softmax(th, axis=1)
        pi = np.exp(log_pi)
        on = pi > 0
        ratio = np.where(on, log_pi - np.where(on, log_ref, 0.0), 0.0)
        return float(q @ np.sum(np.where(on, pi * (r - beta * ratio), 0.0), axis=1))

    fd = np.zeros_like(theta)
    h = 1e-4
    for idx in zip(*np.nonzero(ref > 0)):
        e = np.zeros_like(theta)
        e[idx] = 1.0

        def central(step, e=e):
            return (J(theta + step * e) - J(theta - step * e)) / (2 * step)

        fd[idx] = (4 * central(h / 2) - central(h)) / 3
    bad_zero = float(np.max(np.abs(grad[ref == 0]))) if np.any(ref == 0) else 0.0
    return float(np.max(np.abs(grad - fd))) / (1.0 + float(np.max(np.abs(grad)))) + bad_zero
