r"""The one loop of the self-play learners, and the pieces their updates share.

Every learner on a preference bandit (:func:`~prefrl.games.spo`, :func:`~prefrl.games.sppo`,
:func:`~prefrl.games.dno`, :func:`~prefrl.games.rebel`, :func:`~prefrl.games.nash_md`,
:func:`~prefrl.games.bt_rlhf`, iterative DPO) is :func:`run_self_play` with its own update
:math:`\pi_{t+1} = U_t(\pi_t)`: the loop holds the initial point, the ``n_steps`` updates, the
recorded trajectory and the :class:`~prefrl.games.SelfPlayResult` (regret and exploitability of
the running average, Swamy et al. 2024, "A Minimaximalist Approach to Reinforcement Learning from
Human Feedback", Sec. 3). Most learners move in log-probabilities (a multiplicative-weights step
is an addition there); iterative DPO moves in probabilities.

Shared by the updates:

- the exact or sampled win rates :math:`P\pi` (:func:`win_rate_oracle`);
- Hedge's horizon-tuned step :math:`\sqrt{8\log K/T}` (:func:`default_step`);
- log-space helpers (:func:`safe_log`, :func:`normalize_log`, :func:`mix_log`);
- the tabular regression of log-ratio differences onto target differences, a weighted graph-
  Laplacian least-squares problem (:func:`laplacian_regression`, REBEL), and the SPPO
  normalisation that fixes the constant such a regression leaves free (:func:`anchor_log_ratios`,
  REBEL and batched DNO).

These are private to :mod:`prefrl.games` (not re-exported).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._numerics import log_normalize
from .._validation import check_distribution, check_integer, check_preference_matrix
from ._equilibria import exploitability, self_play_regret
from ._results import SelfPlayResult

__all__ = [
    "anchor_log_ratios",
    "check_learner_args",
    "default_step",
    "laplacian_regression",
    "mix_log",
    "normalize_log",
    "run_self_play",
    "safe_log",
    "trajectory_result",
    "win_rate_oracle",
]


def check_learner_args(P, n_steps, init):
    """Validated ``P``, ``K``, ``T = n_steps`` and the initial policy (uniform by default)."""
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    pi0 = np.full(K, 1.0 / K) if init is None else check_distribution(init, "init", size=K)
    return P, K, T, pi0


def default_step(K: int, T: int) -> float:
    """Hedge's horizon-tuned step sqrt(8 log K / T), for gains in [0, 1]."""
    return float(np.sqrt(8.0 * np.log(max(K, 2)) / T))


def safe_log(p: np.ndarray) -> np.ndarray:
    """log p, with log 0 = -inf and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(p)


def normalize_log(z: np.ndarray) -> np.ndarray:
    """z - logsumexp(z), shifted by the maximum first: the log of the normalised distribution."""
    return log_normalize(z)


def mix_log(a: float, x: np.ndarray, b: float, y: np.ndarray) -> np.ndarray:
    """a*x + b*y for log-probabilities, with 0 * (-inf) = 0."""
    ax = np.where(a == 0, 0.0, a * np.where(np.isneginf(x), -np.inf, x)) if a else np.zeros_like(x)
    by = b * y if b else np.zeros_like(y)
    return ax + by


def win_rate_oracle(P: np.ndarray, n_samples: int | None, rng) -> Callable[[np.ndarray], np.ndarray]:
    r"""The win rates :math:`r(y) = P(y \succ \pi) = (P\pi)_y` given to a learner, as a function of pi.

    ``n_samples=None``: exact. Otherwise an unbiased estimate: each response is compared with
    ``n_samples`` opponents drawn from :math:`\pi` (one ``rng.choice``), each comparison a
    Bernoulli draw (one ``rng.random``), and the fraction of wins is returned.
    """
    if n_samples is None:
        return lambda pi: P @ pi
    K = P.shape[0]

    def sampled(pi):
        opp = rng.choice(K, size=n_samples, p=pi)
        return (rng.random((K, n_samples)) < P[:, opp]).mean(axis=1)

    return sampled


def anchor_log_ratios(h, anchor, pi):
    r"""Fix the constant that a regression on differences leaves free: the SPPO normalisation.

    Log-ratios :math:`h` fitted from differences :math:`h_y - h_{y'}` are known up to a constant;
    returns :math:`h + c` with :math:`c` such that :math:`\mathbb{E}_{\tilde\pi}[h + c] =
    \mathbb{E}_{\tilde\pi}[\text{anchor}]`, :math:`\tilde\pi` the policy ``pi`` renormalised on the
    given responses. With ``anchor`` :math:`= \eta(r - 1/2)` this is
    :math:`\mathbb{E}_{\pi_t}[\log(\pi_{t+1}/\pi_t)] \approx \eta(\mathbb{E}_{\pi_t} r_t - 1/2) = 0`
    (Wu et al. 2024, SPPO, Eq. 4.4 with :math:`\log Z \approx \eta/2`).
    """
    w = pi / pi.sum()
    return h + float(w @ (anchor - h))


def laplacian_regression(W, target, pi, offset):
    """argmin_h sum_{y<y'} W (h_y - h_y' - (target_y - target_y'))^2 on the pairs' support.

    The normal equations L h = L target (L = D - W the weighted Laplacian, D the degrees) are
    solved by least squares after scaling row y by 1/D_y, an equivalent system whose matrix
    I - D^{-1} W is well conditioned even when pairs of rare responses carry weights near 1e-30.
    On a connected support the solutions are target + const; the constant is fixed so that
    h = target - offset on average under pi over the compared set (:func:`anchor_log_ratios`,
    the SPPO normalisation, offset = eta/2). Outside the compared set h = 0.
    """
    K = W.shape[0]
    deg = W.sum(axis=1)
    S = np.flatnonzero(deg > 0)
    h = np.zeros(K)
    if S.size < 2:
        return h
    M = np.eye(S.size) - W[np.ix_(S, S)] / deg[S, None]
    hS = np.linalg.lstsq(M, M @ target[S], rcond=None)[0]
    h[S] = anchor_log_ratios(hS, target[S] - offset, pi[S])
    return h


def trajectory_result(P, policies, method, reward=None) -> SelfPlayResult:
    """The SelfPlayResult of a recorded trajectory ``policies`` (T + 1, K)."""
    policies = np.asarray(policies, dtype=float)
    played = policies[:-1]
    T = played.shape[0]
    running = np.cumsum(played, axis=0) / np.arange(1, T + 1)[:, None]
    running /= running.sum(axis=1, keepdims=True)
    return SelfPlayResult(
        policies=policies,
        average_policy=running[-1],
        regret=self_play_regret(P, played),
        exploitability=np.asarray(exploitability(P, running)),
        iterations=T,
        method=method,
        reward=reward,
    )


def run_self_play(
    P: np.ndarray,
    start: np.ndarray,
    n_steps: int,
    update: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
    method: str,
    *,
    log_space: bool = True,
    reward: np.ndarray | None = None,
) -> SelfPlayResult:
    r"""The self-play loop: ``n_steps`` updates from ``start``, recorded, as a SelfPlayResult.

    ``start`` is :math:`\log\pi_0` (``log_space=True``) or :math:`\pi_0`; at step ``t`` the loop
    calls ``update(t, state_t, pi_t)`` with the current state (a row of the recorded array) and
    the policy :math:`\pi_t` (its exponential in log space), and records the returned state as
    row ``t + 1``. The update draws from its own generator, so the sequence of draws is the
    learner's. ``P`` (validated) and ``reward`` go to the result.
    """
    states = np.empty((n_steps + 1, start.size))
    states[0] = start
    for t in range(n_steps):
        pi = np.exp(states[t]) if log_space else states[t]
        states[t + 1] = update(t, states[t], pi)
    return trajectory_result(P, np.exp(states) if log_space else states, method, reward)
