"""Length bias of token aggregation and the reward-shift invariance of P3O, on softmax bandits.

Each check compares :mod:`prefrl.pg_theory` with an independent computation: finite differences
of E_pi[L], the negative gradient of :func:`prefrl.losses.aggregate` over every group of
samples, the REINFORCE update written out by hand.

- ``pg_length.drift_equals_finite_difference`` (:func:`drift_equals_finite_difference`,
  :func:`draw_lengths`): the drift formula is the derivative of E_pi[L] along the expected update.
- ``pg_length.token_mean_weight_by_enumeration`` (:func:`token_mean_weight_by_enumeration`):
  the expected update of every mode equals the enumeration over all K^G groups of the
  negative gradient of ``aggregate`` (Liu et al. 2025, Sec. 3.1).
- ``pg_length.two_length_sign_rule`` (:func:`two_length_sign_rule`, :func:`draw_two_lengths`):
  with two distinct lengths and a constant advantage A, the drift under per-sequence token
  averaging (and batch token averaging at finite G) has sign -sign(A) (Fatemi et al. 2025, Sec. 4).
- ``pg_length.natural_drift_never_flips`` (:func:`natural_drift_never_flips`): under the natural
  gradient, any number of lengths, the drift for a constant A has sign -sign(A) (Chebyshev).
- ``pg_length.constant_horizon_zero_drift`` (:func:`constant_horizon_zero_drift`): a constant
  normaliser and a constant advantage give a zero update (Liu et al. 2025, Eq. 4).
- ``pg_length.p3o_per_sample_invariance`` (:func:`p3o_per_sample_invariance`,
  :func:`draw_contexts`): Wu et al. 2023, Sec. 4.
- ``pg_length.p3o_expected_twice_reinforce`` (:func:`p3o_expected_twice_reinforce`): the
  expected pairwise update is twice REINFORCE with the exact mean baseline.
"""

from __future__ import annotations

import itertools

import numpy as np

from prefrl.losses import aggregation_weights
from prefrl.pg_theory import (
    expected_length_drift,
    expected_length_update,
    expected_pairwise_update,
    pairwise_update,
)
from prefrl.policies import softmax
from prefrl.registry import theorem

MODES = (
    "token-mean",
    "token-sum",
    "seq-mean-token-sum",
    "seq-mean-token-mean",
    "seq-mean-token-sum-norm",
)


def draw_lengths(rng: np.random.Generator) -> dict:
    """2-4 responses, lengths 1-12 (ties frequent), logits at three scales, an aggregation mode
    and a group size; advantages constant, zero or random."""
    K = int(rng.integers(2, 5))
    mode = str(rng.choice(MODES))
    G = int(rng.integers(1, 4))
    return {
        "lengths": rng.integers(1, 13, size=K).astype(float),
        "theta": rng.normal(size=K) * float(rng.choice([0.0, 1.0, 3.0])),
        "advantages": (
            np.full(K, float(rng.choice([-1.0, 0.0, 2.0])))
            if rng.random() < 0.4
            else rng.normal(size=K)
        ),
        "mode": mode,
        "group_size": G if mode == "token-sum" or rng.random() < 0.5 else None,
        "horizon": float(rng.integers(1, 20)) if rng.random() < 0.5 else None,
    }


@theorem(
    "pg_length.drift_equals_finite_difference",
    claim="d/dt E_pi[L] along the expected update g equals the central finite difference of "
    "E_{softmax(theta + t g)}[L] at t = 0",
    reference="Fatemi et al. 2025, Sec. 4; Liu et al. 2025, Sec. 3.1 (softmax response bandit)",
    draw=draw_lengths,
    tolerance=1e-6,
)
def drift_equals_finite_difference(inst: dict) -> float:
    """|drift - finite difference| / (1 + |g| max L)."""
    L, th, A = inst["lengths"], inst["theta"], inst["advantages"]
    kw = {"horizon": inst["horizon"], "group_size": inst["group_size"]}
    pi = softmax(th)
    g = expected_length_update(L, pi, A, inst["mode"], **kw)
    d = expected_length_drift(L, pi, A, inst["mode"], **kw)
    h = 1e-5
    fd = (softmax(th + h * g) @ L - softmax(th - h * g) @ L) / (2 * h)
    return float(abs(fd - d) / (1.0 + np.max(np.abs(g)) * L.max()))


def _enumerated_update(L, pi, A, mode, G, horizon):
    """E over every group of G samples of -d/dtheta aggregate(-A_y log pi_t) (outcome advantage)."""
    K = L.size
    out = np.zeros(K)
    for ys in itertools.product(range(K), repeat=G):
        ys = np.array(ys)
        mask = (np.arange(int(L.max()))[None, :] < L[ys][:, None]).astype(float)
        W = aggregation_weights(mask, mode, horizon)
        # the token scores of y sum to e_y - pi: the gradient of row i is W_i. (token weights)
        per_seq = (W * mask).sum(axis=1) / L[ys]  # W is constant along each row
        score = np.eye(K)[ys] - pi
        out += np.prod(pi[ys]) * ((per_seq * A[ys])[:, None] * score).sum(axis=0)
    return out


@theorem(
    "pg_length.token_mean_weight_by_enumeration",
    claim="the expected update of every aggregation mode (token-mean exact at group size G) equals "
    "the enumeration over all K^G groups of minus the gradient of prefrl.losses.aggregate",
    reference="Liu et al. 2025, Sec. 3.1 and Eq. 4; Shao et al. 2024, Eq. 3",
    draw=draw_lengths,
    tolerance=1e-12,
)
def token_mean_weight_by_enumeration(inst: dict) -> float:
    """max |expected_length_update - enumeration| / (1 + max |A|)."""
    L, A, mode = inst["lengths"], inst["advantages"], inst["mode"]
    G = inst["group_size"] or 2
    pi = softmax(inst["theta"])
    H = inst["horizon"]
    got = expected_length_update(L, pi, A, mode, horizon=H, group_size=G)
    want = _enumerated_update(L, pi, A, mode, G, H if H is not None else float(L.max()))
    return float(np.max(np.abs(got - want)) / (1.0 + np.max(np.abs(A))))


def draw_two_lengths(rng: np.random.Generator) -> dict:
    """2-5 responses on two distinct lengths, a constant nonzero advantage, a finite group size."""
    K = int(rng.integers(2, 6))
    short, long = sorted(rng.choice(np.arange(1, 40), size=2, replace=False))
    L = np.where(
        np.arange(K) == 0,
        short,
        np.where(np.arange(K) == 1, long, rng.choice([short, long], size=K)),
    )
    return {
        "lengths": L.astype(float),
        "theta": rng.normal(size=K) * float(rng.choice([0.0, 1.0, 4.0])),
        "A": float(rng.choice([-1.0, 1.0])) * float(rng.choice([1e-3, 1.0, 10.0])),
        "group_size": int(rng.integers(2, 5)),
    }


@theorem(
    "pg_length.two_length_sign_rule",
    claim="two distinct lengths, constant advantage A != 0: the drift of E[L] under "
    "seq-mean-token-mean, and under token-mean at group size G >= 2, is < 0 for A > 0 and > 0 "
    "for A < 0 (negative rewards lengthen)",
    reference="Fatemi et al. 2025, Sec. 4 (the per-response average of token losses)",
    draw=draw_two_lengths,
    tolerance=0.0,
)
def two_length_sign_rule(inst: dict) -> float:
    """max(0, sign(A) * drift) over the two modes, plus 1 if a drift is exactly 0."""
    L, A = inst["lengths"], inst["A"]
    pi = softmax(inst["theta"])
    adv = np.full(L.size, A)
    worst = 0.0
    for mode, G in (("seq-mean-token-mean", None), ("token-mean", inst["group_size"])):
        d = expected_length_drift(L, pi, adv, mode, group_size=G)
        worst = max(worst, np.sign(A) * d, 1.0 if d == 0 else 0.0)
    return float(worst)


@theorem(
    "pg_length.natural_drift_never_flips",
    claim="natural-gradient (replicator) drift with a constant advantage A and weight 1/L is "
    "Cov_pi(L, A/L), of sign -sign(A) whatever the number of lengths",
    reference="Chebyshev's sum inequality; contrast Fatemi et al. 2025, Sec. 4",
    draw=draw_lengths,
    tolerance=1e-15,
)
def natural_drift_never_flips(inst: dict) -> float:
    """max(0, sign(A) * natural drift) for A = +-1."""
    L, pi = inst["lengths"], softmax(inst["theta"])
    return float(
        max(
            max(
                0.0,
                a
                * expected_length_drift(
                    L, pi, np.full(L.size, a), "seq-mean-token-mean", geometry="natural"
                ),
            )
            for a in (-1.0, 1.0)
        )
    )


@theorem(
    "pg_length.constant_horizon_zero_drift",
    claim="a constant advantage gives a zero expected update (hence zero drift) under "
    "seq-mean-token-sum-norm (any horizon H) and seq-mean-token-sum: A/H sum_y pi_y (e_y - pi) = 0",
    reference="Liu et al. 2025, Eq. 4 (Dr. GRPO's constant normaliser)",
    draw=draw_lengths,
    tolerance=1e-14,
)
def constant_horizon_zero_drift(inst: dict) -> float:
    """max |g| / (1 + |A|) for a constant advantage under the two constant-weight modes."""
    L, pi = inst["lengths"], softmax(inst["theta"])
    a = float(inst["advantages"][0])
    worst = 0.0
    for mode in ("seq-mean-token-sum-norm", "seq-mean-token-sum"):
        g = expected_length_update(L, pi, np.full(L.size, a), mode, horizon=inst["horizon"])
        worst = max(worst, float(np.max(np.abs(g))) / (1.0 + abs(a)))
    return worst


def draw_contexts(rng: np.random.Generator) -> dict:
    """1-3 contexts, 2-4 responses, rewards with ties, shifts c(x) from 0 to 1e3."""
    n, K = int(rng.integers(1, 4)), int(rng.integers(2, 5))
    r = (
        rng.integers(0, 2, size=(n, K)).astype(float)
        if rng.random() < 0.4
        else rng.normal(size=(n, K))
    )
    return {
        "theta": rng.normal(size=(n, K)) * float(rng.choice([0.0, 1.0, 5.0])),
        "rewards": r,
        "shift": rng.normal(size=n) * float(rng.choice([0.0, 1.0, 1e3])),
        "mu": rng.dirichlet(np.ones(n)),
    }


@theorem(
    "pg_length.p3o_per_sample_invariance",
    claim="for every context x and pair (y, y'), the pairwise update (r(y)-r(y'))(grad log pi(y) "
    "- grad log pi(y')) is unchanged by r -> r + c(x)",
    reference="Wu et al. 2023, Sec. 4 (invariance of P3O to equivalent rewards)",
    draw=draw_contexts,
    tolerance=1e-12,
)
def p3o_per_sample_invariance(inst: dict) -> float:
    """max over (x, y, y') of the update gap, relative to 1 + max |r| + max |c|."""
    th, r, c = inst["theta"], inst["rewards"], inst["shift"]
    n, K = r.shape
    gap = max(
        float(
            np.max(
                np.abs(
                    pairwise_update(th, r + c[:, None], y, yp, context=x)
                    - pairwise_update(th, r, y, yp, context=x)
                )
            )
        )
        for x in range(n)
        for y in range(K)
        for yp in range(K)
    )
    return gap / (1.0 + np.max(np.abs(r)) + np.max(np.abs(c)))


@theorem(
    "pg_length.p3o_expected_twice_reinforce",
    claim="E_{y,y'~pi}[(r(y)-r(y'))(grad log pi(y) - grad log pi(y'))] = 2 E_{y~pi}[(r(y) - "
    "E_pi r) grad log pi(y)] = 2 grad E_pi r, context by context (weighted by mu)",
    reference="Wu et al. 2023, Sec. 4 (the pairwise gradient carries 1/2)",
    draw=draw_contexts,
    tolerance=1e-12,
)
def p3o_expected_twice_reinforce(inst: dict) -> float:
    """max |expected pairwise update - 2 x REINFORCE with the mean baseline (written out)|."""
    th, r, mu = inst["theta"], inst["rewards"], inst["mu"]
    n, K = r.shape
    want = np.zeros((n, K))
    for x in range(n):
        pi = softmax(th[x])
        for y in range(K):
            want[x] += mu[x] * pi[y] * (r[x, y] - pi @ r[x]) * (np.eye(K)[y] - pi)
    got = expected_pairwise_update(th, r, mu=mu)
    return float(np.max(np.abs(got - 2 * want)) / (1.0 + np.max(np.abs(r))))
