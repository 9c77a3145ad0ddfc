r"""eva on a contextual bandit: a creator reweights contexts by informativeness, a solver learns.

Ye, Agarwal, Liu, Joshi, Velury, Le, Tan and Liu (2024), "Evolving Alignment via Asymmetric
Self-Play" (eva, arXiv 2411.00062), Sec. 3 and Alg. 1, cast alignment as a creator-solver game:
the creator proposes prompts where the solver is informative to train on, the solver learns on the
creator's distribution, and the pair plays the minimax-regret game
:math:`\min_\pi \max_q \mathbb{E}_{x \sim q} \mathrm{Regret}(x, \pi)`. Here, exactly on a contextual
bandit (contexts are the prompts, actions the responses):

- :func:`context_regret`: :math:`\max_y r(x, y) - \mathbb{E}_{\pi(\cdot|x)} r(x, \cdot)`,
  computed by summation by parts (no cancellation);
- :func:`informativeness`: the proxies max-min, max-mean (reward spread among :math:`N` sampled
  responses) and regret, sampled or in exact expectation (order statistics of a categorical law);
- :func:`creator_weights`: the creator's tempered distribution mixed with a uniform buffer;
- :func:`kl_regularized_gradient`: the solver's exact gradient of the KL-regularised objective
  :math:`\sum_x q(x)[\mathbb{E}_\pi r - \beta\,\mathrm{KL}(\pi \| \pi_{ref})]` in the logits;
- :func:`eva` and its result :class:`EvaResult`: the creator-solver loop.

**What is ours.** eva's creator *evolves* prompts (an LLM rewrites informative prompts into new
ones); here the prompt set is fixed and the creator only reweights it. The exact expectations of the
proxies, the power tempering, the uniform buffer and the exact policy-gradient solver are ours;
three proxies are offered and none is assumed to be the paper's default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._deprecation import renamed_parameters
from .._validation import (
    as_rng,
    check_array,
    check_integer,
    check_positive,
    check_probability,
    check_stochastic_matrix,
)
from ..policies import log_softmax, regularized_objective, soft_value
from ..results import Result

__all__ = [
    "EvaResult",
    "context_regret",
    "creator_weights",
    "eva",
    "informativeness",
    "kl_regularized_gradient",
]


_EVA_KINDS = ("max-min", "max-mean", "regret")


def _check_bandit_pair(policy, rewards, policy_name: str = "policy"):

    rewards = check_array(rewards, "rewards", ndim=2)
    raw = policy
    policy = check_array(policy, policy_name, ndim=2)
    if policy.shape != rewards.shape:
        raise ValueError(f"{policy_name} must have the shape of rewards {rewards.shape}, "
                         f"got {policy.shape}")
    # checked in the input's own dtype, so that a float32 policy gets float32's tolerance
    return check_stochastic_matrix(raw if hasattr(raw, "dtype") else policy, policy_name), rewards


def _sorted_gaps(policy: np.ndarray, rewards: np.ndarray):
    """Gaps between sorted rewards and the lower / upper tail masses at each gap.

    With the rewards of context x sorted, v_0 <= ... <= v_{K-1}, returns (gaps, F, G), each of shape
    (X, K-1): gaps[j] = v_{j+1} - v_j, F[j] = Pr(r(Y) <= v_j) summed over the sorted positions <= j
    and G[j] = Pr over positions > j, both summed directly (no 1 - F cancellation). Ties give zero gaps.
    """
    order = np.argsort(rewards, axis=1, kind="stable")
    v = np.take_along_axis(rewards, order, axis=1)
    p = np.take_along_axis(policy, order, axis=1)
    F = np.clip(np.cumsum(p, axis=1)[:, :-1], 0.0, 1.0)
    G = np.clip(np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:], 0.0, 1.0)
    return np.diff(v, axis=1), F, G


def _one_minus_pow(F: np.ndarray, G: np.ndarray, n: int) -> np.ndarray:
    """1 - F**n with G = 1 - F given separately, accurate for F near 1 (G small) and F small."""
    with np.errstate(divide="ignore"):
        via_g = -np.expm1(n * np.log1p(-np.minimum(G, 1.0)))
    return np.where(G <= 0.5, via_g, 1.0 - F**n)


def _expected_proxies(policy: np.ndarray, rewards: np.ndarray, n: int) -> dict:
    """Exact expectations of the three proxies for n iid draws (order statistics), per context."""
    gaps, F, G = _sorted_gaps(policy, rewards)
    # E[max] = v_max - sum_j gap_j F_j^n ;  E[min] = v_min + sum_j gap_j G_j^n ;  E[r] is n = 1.
    # max - min: sum_j gap_j (1 - F_j^n - G_j^n), written so that each term keeps its sign.
    maxmin = np.where(F <= G, _one_minus_pow(G, F, n) - F**n, _one_minus_pow(F, G, n) - G**n)
    if n == 1:  # one draw: max = min exactly (1 - F - G is 0 only up to the rows' rounding)
        maxmin = np.zeros_like(F)
    # max - mean: sum_j gap_j (F_j - F_j^n) = sum_j gap_j F_j (1 - F_j^(n-1)).
    maxmean = F * _one_minus_pow(F, G, n - 1) if n > 1 else np.zeros_like(F)
    # Rounding can leave -1e-17 where the exact term is 0; every term is >= 0 in exact arithmetic.
    return {"max-min": np.sum(gaps * np.maximum(maxmin, 0.0), axis=1),
            "max-mean": np.sum(gaps * np.maximum(maxmean, 0.0), axis=1),
            "regret": np.sum(gaps * F, axis=1)}


def context_regret(policy, rewards) -> np.ndarray:
    r"""The solver's regret at every context of a contextual bandit.

    .. math::
        \mathrm{Regret}(x, \pi) = \max_{y} r(x, y) - \mathbb{E}_{y \sim \pi(\cdot|x)} r(x, y)
        = \sum_{j=0}^{K-2} \big(v_{j+1}(x) - v_j(x)\big)\, \Pr_{y \sim \pi(\cdot|x)}
        \big(r(x, y) \le v_j(x)\big),

    with :math:`r(x, y)` the reward of response :math:`y` to context (prompt) :math:`x`,
    :math:`\pi(\cdot|x)` the solver's policy and :math:`v_0(x) \le \dots \le v_{K-1}(x)` the
    rewards of context :math:`x` sorted. The second form (summation by parts) is how it is
    computed: every term is nonnegative, so a nearly greedy policy gets its small regret without
    cancellation. Ye et al. (2024), "Evolving Alignment via Asymmetric Self-Play" (eva, arXiv
    2411.00062), the regret in the creator-solver game, Sec. 3.

    Parameters
    ----------
    policy : array, shape (X, K)
        :math:`\pi(y|x)`, rows are distributions.
    rewards : array, shape (X, K)
        :math:`r(x, y)`.

    Returns
    -------
    array, shape (X,), nonnegative

    Examples
    --------
    >>> context_regret([[0.5, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]])
    array([0.5, 2. ])
    """
    policy, rewards = _check_bandit_pair(policy, rewards)
    return _expected_proxies(policy, rewards, 1)["regret"]


def _sample_proxies(policy: np.ndarray, rewards: np.ndarray, n: int, kind: str,
                    rng: np.random.Generator) -> np.ndarray:
    X = policy.shape[0]
    cum = np.cumsum(policy, axis=1)
    cum = cum / cum[:, -1:]            # the last entry is exactly 1, so u < 1 picks an index < K
    u = rng.random((X, n))
    # Inverse CDF: action k when cum[k-1] <= u < cum[k]; zero-probability actions never appear.
    idx = np.sum(cum[:, None, :] <= u[:, :, None], axis=2)
    r = np.take_along_axis(rewards, idx, axis=1)
    if kind == "max-min":
        return r.max(axis=1) - r.min(axis=1)
    if kind == "max-mean":
        return np.maximum(r.max(axis=1) - r.mean(axis=1), 0.0)
    return np.maximum(rewards.max(axis=1) - r.mean(axis=1), 0.0)


def _check_kind(kind) -> str:
    if kind not in _EVA_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _EVA_KINDS))}, got {kind!r}")
    return kind


def informativeness(policy, rewards, n_samples: int, kind: str = "max-min", rng=None, *,
                    exact: bool = False) -> np.ndarray:
    r"""eva's informativeness proxy of a context: the spread of rewards among sampled responses.

    For each context :math:`x`, draw :math:`N` responses :math:`y_1, \dots, y_N` iid from
    :math:`\pi(\cdot|x)` and score them with the reward :math:`r(x, \cdot)`:

    .. math::
        \text{max-min}:\ \max_i r(x, y_i) - \min_i r(x, y_i), \qquad
        \text{max-mean}:\ \max_i r(x, y_i) - \frac{1}{N}\sum_i r(x, y_i), \qquad
        \text{regret}:\ \max_y r(x, y) - \frac{1}{N}\sum_i r(x, y_i).

    The first two see only the sampled responses (the paper's reward-advantage proxies); the
    third uses the true best response, which the bandit knows, and is an unbiased estimate of
    :func:`context_regret`. With ``exact=True`` the expectation over the :math:`N` draws is
    returned instead, from the order statistics of a categorical distribution: with
    :math:`v_0 \le \dots \le v_{K-1}` the sorted rewards of :math:`x`, :math:`\Delta_j =
    v_{j+1} - v_j`, :math:`F_j = \Pr(r(x, y) \le v_j)` and :math:`G_j = 1 - F_j`,

    .. math::
        \mathbb{E}[\max_i r] = v_{K-1} - \sum_j \Delta_j F_j^N, \quad
        \mathbb{E}[\min_i r] = v_0 + \sum_j \Delta_j G_j^N, \quad
        \mathbb{E}[\text{max-min}] = \sum_j \Delta_j (1 - F_j^N - G_j^N), \quad
        \mathbb{E}[\text{max-mean}] = \sum_j \Delta_j (F_j - F_j^N), \quad
        \mathbb{E}[\text{regret}] = \sum_j \Delta_j F_j .

    Each term is nonnegative. Hence, for :math:`N \ge 2`, the expected max-min proxy of
    :math:`x` is 0 exactly when :math:`r(x, \cdot)` is constant on the support of
    :math:`\pi(\cdot|x)` (in particular when :math:`\pi(\cdot|x)` is deterministic) and positive
    otherwise (barring underflow below the normal float range); for :math:`N = 1` both
    sample-only proxies are 0. Also
    :math:`\mathbb{E}[\text{max-mean}]` increases with :math:`N` to the regret.
    Ye et al. (2024), eva (arXiv 2411.00062), Sec. 3 (informativeness); the three are this
    project's formalisation of the paper's reward-advantage proxies, and none is assumed to be its
    default.

    Parameters
    ----------
    policy : array, shape (X, K)
        The solver :math:`\pi(y|x)`.
    rewards : array, shape (X, K)
        The reward model :math:`r(x, y)`.
    n_samples : int >= 1
        :math:`N`, responses per context.
    kind : {"max-min", "max-mean", "regret"}
    rng : numpy Generator or int seed
        Required unless ``exact`` (a ValueError names it).
    exact : bool
        Return the expectation over the draws instead of one draw.

    Returns
    -------
    array, shape (X,), nonnegative

    Examples
    --------
    >>> pi, r = [[0.5, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]]
    >>> informativeness(pi, r, 2, "max-min", exact=True)          # 1 - 0.5**2 - 0.5**2
    array([0.5, 0. ])
    >>> informativeness(pi, r, 3, "regret", rng=0).round(4)
    array([0.3333, 2.    ])
    """
    policy, rewards = _check_bandit_pair(policy, rewards)
    n = check_integer(n_samples, "n_samples", minimum=1)
    kind = _check_kind(kind)
    if exact:
        return _expected_proxies(policy, rewards, n)[kind]
    if rng is None:
        raise ValueError("rng must be a numpy Generator or a seed when exact is False")
    return _sample_proxies(policy, rewards, n, kind, as_rng(rng))


def creator_weights(info, temperature: float = 1.0, buffer_mix: float = 0.0) -> np.ndarray:
    r"""eva's creator: a distribution over contexts proportional to tempered informativeness.

    .. math::
        q(x) = (1 - \lambda)\, \frac{\iota(x)^{1/T}}{\sum_{x'} \iota(x')^{1/T}}
        + \lambda\, \frac{1}{X},

    with :math:`\iota(x) \ge 0` the informativeness of context :math:`x` (:func:`informativeness`),
    :math:`T > 0` the temperature (:math:`T = 1`: proportional; :math:`T \to 0`: uniform on the
    most informative contexts, the creator's best response; :math:`T \to \infty`: uniform on the
    contexts with :math:`\iota > 0`), :math:`\lambda \in [0, 1]` the share of the buffer (the
    fixed prompt set, uniform) and :math:`X` the number of contexts. When every
    :math:`\iota(x) = 0` the first part is uniform too. Computed in log space. Monotone: for
    :math:`\lambda < 1` and some :math:`\iota > 0`, :math:`\iota(x) > \iota(x')` implies
    :math:`q(x) > q(x')` (unless the first part underflows) and :math:`\iota(x) = \iota(x')`
    implies :math:`q(x) = q(x')`. Ye et al. (2024), eva, Sec. 3 (sample prompts in proportion to
    informativeness, then mix with a buffer); the power tempering and the uniform buffer are ours.

    Parameters
    ----------
    info : array, shape (X,)
        :math:`\iota`, nonnegative.
    temperature : float > 0
        :math:`T`.
    buffer_mix : float in [0, 1]
        :math:`\lambda`.

    Returns
    -------
    array, shape (X,), sums to 1

    Examples
    --------
    >>> creator_weights([3.0, 1.0, 0.0])
    array([0.75, 0.25, 0.  ])
    >>> creator_weights([3.0, 1.0, 0.0], temperature=0.5, buffer_mix=0.3).round(4)
    array([0.73, 0.17, 0.1 ])
    """
    info = check_array(info, "info", ndim=1)
    neg = info < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise ValueError(f"info[{i}] = {info[i]:.6g}, must be >= 0")
    T = check_positive(temperature, "temperature")
    lam = check_probability(buffer_mix, "buffer_mix")
    X = info.shape[0]
    if np.all(info == 0):
        return np.full(X, 1.0 / X)
    with np.errstate(divide="ignore"):
        # Relative to the largest entry before dividing by T: z <= 0 with max 0, so a large
        # |log iota| / T cannot cost digits in the normalisation.
        z = (np.log(info) - np.log(info.max())) / T
    w = np.exp(z - logsumexp(z))
    return (1.0 - lam) * w + lam / X


def _kl_gradient(theta, rewards, log_ref, beta, q):
    """The gradient of :func:`kl_regularized_gradient` on checked arrays (the solver's step)."""
    log_pi = log_softmax(theta, axis=1)
    pi = np.exp(log_pi)
    on = pi > 0
    g = np.where(on, rewards - beta * (log_pi - np.where(on, log_ref, 0.0)), 0.0)
    adv = g - np.sum(pi * g, axis=1, keepdims=True)
    return q[:, None] * pi * adv


def kl_regularized_gradient(logits, rewards, pi_ref, beta: float, weights=None) -> np.ndarray:
    r"""Exact gradient of the context-weighted KL-regularised objective in softmax logits.

    With :math:`\pi_\theta(\cdot|x) = \mathrm{softmax}(\theta[x])` and context weights :math:`q`,

    .. math::
        \mathcal{J}_q(\theta) = \sum_x q(x) \Big[\mathbb{E}_{y \sim \pi_\theta(\cdot|x)} r(x, y)
        - \beta\, \mathrm{KL}\big(\pi_\theta(\cdot|x) \,\|\, \pi_{ref}(\cdot|x)\big)\Big],
        \qquad
        \frac{\partial \mathcal{J}_q}{\partial \theta[x, y]} = q(x)\, \pi_\theta(y|x)
        \big(g(x, y) - \mathbb{E}_{\pi_\theta} g(x, \cdot)\big),

    with :math:`g(x, y) = r(x, y) - \beta \log(\pi_\theta(y|x)/\pi_{ref}(y|x))` (the
    regulariser's own score term has mean zero; Williams 1992, the softmax score function).
    Responses with :math:`\pi_\theta(y|x) = 0` (logit :math:`-\infty`, e.g. outside the
    reference's support when :math:`\theta = \log \pi_{ref} + \phi`) get gradient 0. This is the
    step of eva's solver (Ye et al. 2024, Alg. 1, with the exact KL-regularised objective that
    RLOO estimates; the exact form is ours).

    Parameters
    ----------
    logits : array, shape (X, K)
        :math:`\theta`; ``-inf`` entries have probability 0 (each row needs a finite entry).
    rewards : array, shape (X, K)
        :math:`r(x, y)`.
    pi_ref : array, shape (X, K)
        :math:`\pi_{ref}`, rows are distributions.
    beta : float >= 0
        KL weight.
    weights : array, shape (X,), optional
        :math:`q \ge 0`; uniform :math:`1/X` by default.

    Returns
    -------
    array, shape (X, K)

    Examples
    --------
    At :math:`\theta = \log\pi_{ref}` the log-ratio vanishes and the gradient is
    :math:`q\, \pi_{ref} (r - \mathbb{E}_{\pi_{ref}} r)`:

    >>> kl_regularized_gradient(np.log([[0.5, 0.5]]), [[1.0, 0.0]], [[0.5, 0.5]], 1.0)
    array([[ 0.25, -0.25]])
    """
    theta = check_array(logits, "logits", ndim=2, finite=False)
    if np.isnan(theta).any() or np.isposinf(theta).any():
        raise ValueError("logits must not contain NaN or +inf")
    if np.isneginf(theta).all(axis=1).any():
        raise ValueError("logits must have a finite entry in every row")
    pi_ref, rewards = _check_bandit_pair(pi_ref, rewards, "pi_ref")
    if theta.shape != rewards.shape:
        raise ValueError(f"logits must have the shape of rewards {rewards.shape}, "
                         f"got {theta.shape}")
    beta = check_positive(beta, "beta", allow_zero=True)
    X = rewards.shape[0]
    if weights is None:
        q = np.full(X, 1.0 / X)
    else:
        q = check_array(weights, "weights", shape=(X,))
        neg = q < 0
        if neg.any():
            i = int(np.argmax(neg))
            raise ValueError(f"weights[{i}] = {q[i]:.6g}, must be >= 0")
    with np.errstate(divide="ignore"):
        log_ref = np.log(pi_ref)
    return _kl_gradient(theta, rewards, log_ref, beta, q)


@dataclass(frozen=True, eq=False)
class EvaResult(Result):
    r"""Result of :func:`eva`.

    Attributes
    ----------
    policy : array, shape (X, K)
        The solver after the last round.
    value : float
        :math:`\frac{1}{X}\sum_x J_x(\pi)`, the KL-regularised objective
        :math:`J_x(\pi) = \mathbb{E}_\pi r(x, \cdot) - \beta\,\mathrm{KL}(\pi(\cdot|x) \| \pi_{ref}(\cdot|x))`
        averaged uniformly over the fixed prompt set.
    iterations : int
        Solver gradient steps in all (``n_rounds * n_solver_steps``), the compute.
    certificate : float
        :math:`\max_x \big(V^*_x - J_x(\pi)\big) \ge 0`, the largest gap to the KL-regularised
        optimum :math:`V^*_x = \beta \log \sum_y \pi_{ref}(y|x) e^{r(x, y)/\beta}`.
    policies : array, shape (n_rounds + 1, X, K)
        The solver at the start of every round and at the end.
    weights : array, shape (n_rounds, X)
        The creator's distribution over contexts in every round.
    informativeness : array, shape (n_rounds, X), or None
        The proxy the creator saw (None for the uniform creator).
    regret : array, shape (n_rounds + 1, X)
        :func:`context_regret` of ``policies``.
    average_regret, worst_regret : array, shape (iterations + 1,)
        :math:`\frac1X\sum_x \mathrm{Regret}(x, \pi_t)` and :math:`\max_x \mathrm{Regret}(x, \pi_t)`
        after every solver step :math:`t` (entry 0: :math:`\pi_{ref}`).
    converged : bool (property)
        Always True: eva runs a fixed budget of steps, which is its stopping rule; how far the
        solver is from the optimum is ``certificate``.
    """

    policy: np.ndarray
    value: float
    iterations: int
    certificate: float
    policies: np.ndarray
    weights: np.ndarray
    informativeness: np.ndarray | None
    regret: np.ndarray
    average_regret: np.ndarray
    worst_regret: np.ndarray

    @property
    def converged(self) -> bool:
        """True: the fixed budget of ``iterations`` steps is eva's stopping rule."""
        return True


@renamed_parameters(rounds="n_rounds", solver_steps="n_solver_steps")
def eva(rewards, pi_ref, beta: float, *, n_rounds: int, creator: str = "informativeness",
        kind: str = "max-min", temperature: float = 1.0, n_solver_steps: int = 10,
        lr: float = 1.0, n_samples: int = 8, buffer_mix: float = 0.25, exact: bool = False,
        rng=None) -> EvaResult:
    r"""eva's creator-solver loop on a contextual bandit, with an exact policy-gradient solver.

    Round :math:`t = 0, \dots, R-1`:

    1. the creator estimates the informativeness :math:`\iota_t(x)` of every context under the
       current solver :math:`\pi_t` (:func:`informativeness`: ``n_samples`` draws, or their
       expectation with ``exact``);
    2. it sets the context distribution :math:`q_t = ` :func:`creator_weights`
       :math:`(\iota_t, T, \lambda)`, or :math:`q_t` uniform for ``creator="uniform"``;
    3. the solver takes ``n_solver_steps`` exact gradient-ascent steps on the logits
       :math:`\theta` (initialised at :math:`\log\pi_{ref}`) of

    .. math::
        \mathcal{J}_{q_t}(\theta) = \sum_x q_t(x) \Big[\mathbb{E}_{y \sim \pi_\theta(\cdot|x)}
        r(x, y) - \beta\, \mathrm{KL}\big(\pi_\theta(\cdot|x) \,\|\, \pi_{ref}(\cdot|x)\big)\Big],

    with the exact gradient of :func:`kl_regularized_gradient`. The solver's loss is the
    KL-regularised RL objective in expectation (what RLOO estimates), not DPO. Both creators spend
    the same compute: ``n_solver_steps`` steps per round with a gradient whose context weights sum
    to 1. The creator plays the inner player of eva's minimax-regret game
    :math:`\min_\pi \max_{q} \mathbb{E}_{x \sim q} \mathrm{Regret}(x, \pi)` (for fixed
    :math:`\pi` the inner maximum is :math:`\max_x \mathrm{Regret}(x, \pi)`, attained at a point
    mass, since the objective is linear in :math:`q`); proxy, tempering and buffer soften its best
    response.

    **The bandit analogue.** eva's creator *evolves* prompts (an LLM rewrites the informative
    ones into new prompts). Here the prompt set is fixed and the creator only *reweights* it;
    there is no rewriting step. Ye et al. (2024), "Evolving Alignment via Asymmetric Self-Play"
    (arXiv 2411.00062), Sec. 3 and Alg. 1 (estimate, sample, evolve, mix with buffer, solve).

    Parameters
    ----------
    rewards : array, shape (X, K)
        :math:`r(x, y)`.
    pi_ref : array, shape (X, K)
        Reference (initial) policy, rows are distributions.
    beta : float > 0
        KL weight.
    n_rounds : int >= 1
        :math:`R`, rounds of the creator (``rounds`` is its deprecated name).
    creator : {"informativeness", "uniform"}
    kind : {"max-min", "max-mean", "regret"}
        The proxy (:func:`informativeness`).
    temperature : float > 0
        :math:`T` of :func:`creator_weights`.
    n_solver_steps : int >= 1
        Solver gradient steps per round (``solver_steps`` is its deprecated name).
    lr : float > 0
        Step size.
    n_samples : int >= 1
        Responses per context for the proxy.
    buffer_mix : float in [0, 1]
        :math:`\lambda`, the uniform (buffer) share of the creator's distribution.
    exact : bool
        Use the proxy's expectation instead of a sampled value.
    rng : numpy Generator or int seed
        Required for the informativeness creator unless ``exact`` (a ValueError names it).

    Returns
    -------
    EvaResult

    Examples
    --------
    >>> r = [[1.0, 0.0], [1.0, 0.0]]
    >>> ref = [[0.9, 0.1], [0.1, 0.9]]              # context 1 is hard: its best response is rare
    >>> res = eva(r, ref, 0.05, n_rounds=3, kind="regret", exact=True, buffer_mix=0.0)
    >>> res.weights.round(3)              # proportional to the regret of each context
    array([[0.1  , 0.9  ],
           [0.206, 0.794],
           [0.455, 0.545]])
    >>> uni = eva(r, ref, 0.05, n_rounds=3, creator="uniform")
    >>> bool(res.worst_regret[-1] < uni.worst_regret[-1])
    True
    """
    pi_ref, rewards = _check_bandit_pair(pi_ref, rewards, "pi_ref")
    beta = check_positive(beta, "beta")
    rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    if creator not in ("informativeness", "uniform"):
        raise ValueError(f"creator must be 'informativeness' or 'uniform', got {creator!r}")
    kind = _check_kind(kind)
    T = check_positive(temperature, "temperature")
    steps = check_integer(n_solver_steps, "n_solver_steps", minimum=1)
    lr = check_positive(lr, "lr")
    n = check_integer(n_samples, "n_samples", minimum=1)
    lam = check_probability(buffer_mix, "buffer_mix")
    sampled = creator == "informativeness" and not exact
    if sampled and rng is None:
        raise ValueError("rng must be a numpy Generator or a seed for the informativeness "
                         "creator with exact=False")
    gen = as_rng(rng) if sampled else None
    X = rewards.shape[0]
    with np.errstate(divide="ignore"):
        log_ref = np.log(pi_ref)
    theta = log_ref.copy()
    uniform = np.full(X, 1.0 / X)
    policies, weights, infos, regrets = [], [], [], []
    avg, worst = [], []

    def record_regret(th):
        reg = _expected_proxies(np.exp(log_softmax(th, axis=1)), rewards, 1)["regret"]
        avg.append(float(reg.mean()))
        worst.append(float(reg.max()))
        return reg

    regrets.append(record_regret(theta))
    for _ in range(rounds):
        pi = np.exp(log_softmax(theta, axis=1))
        policies.append(pi)
        if creator == "uniform":
            q = uniform
        else:
            info = (_expected_proxies(pi, rewards, n)[kind] if exact
                    else _sample_proxies(pi, rewards, n, kind, gen))
            infos.append(info)
            q = creator_weights(info, T, lam)
        weights.append(q)
        for _ in range(steps):
            theta = theta + lr * _kl_gradient(theta, rewards, log_ref, beta, q)
            reg = record_regret(theta)
        regrets.append(reg)
    pi = np.exp(log_softmax(theta, axis=1))
    policies.append(pi)
    J = regularized_objective(pi, rewards, pi_ref, beta)
    V = soft_value(pi_ref, rewards, beta)
    return EvaResult(
        policy=pi, value=float(J.mean()), iterations=rounds * steps,
        certificate=float(max(np.max(V - J), 0.0)), policies=np.array(policies),
        weights=np.array(weights), informativeness=np.array(infos) if infos else None,
        regret=np.array(regrets), average_regret=np.array(avg), worst_regret=np.array(worst))
