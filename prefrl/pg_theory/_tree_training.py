r"""Training on a token tree: KL-regularised gradient ascent with per-state weights, the
critical-token instance, and the exact moments of sparse vs dense REINFORCE.

Same token tree and (S, V) policies as :mod:`._token_tree`, whose layout helpers and exact
:func:`~prefrl.pg_theory.tree_policy_gradient` this file uses.

- Vassoyan, Beau and Plaud (2025), "Ignore the KL Penalty! Boosting Exploration on Critical Tokens
  to Enhance RL Fine-Tuning", Sec. 4: a per-state KL weight :math:`\beta_s` (the paper scales the
  KL by the pre-trained model's confidence; here the weight of the critical position is scaled by
  a factor). :func:`critical_token_tree` builds a tree whose outcome one token decides, with
  uniform and relaxed weights; :func:`kl_regularized_policy_gradient`
  (:class:`KLPolicyGradientPath`) is deterministic gradient ascent on the softmax logits with the
  exact gradient (its endpoint is :func:`~prefrl.pg_theory.per_state_soft_optimum`).
- Zhong et al. (2024), "DPO Meets PPO: Reinforced Token Optimization for RLHF" (RTO), Sec. 4, and
  Williams (1992): sparse (sequence reward on every token) vs dense (per-token returns-to-go)
  REINFORCE, the exact gradient and single-sequence variance of both by enumeration
  (:func:`reinforce_estimator_moments`, :class:`REINFORCEMoments`) and sampled estimates from the
  same sequences (:func:`sample_reinforce_gradients`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._numerics import log_normalize
from .._validation import (
    as_rng,
    check_in_range,
    check_integer,
    check_positive,
    check_stochastic_matrix,
)
from ..mdp.envs import token_tree
from ..results import Result
from ..training import SGD
from ._token_tree import (
    _kl_weights,
    _layout,
    _positive_inner,
    _rewards,
    _shape,
    tree_policy_gradient,
)

__all__ = [
    "KLPolicyGradientPath",
    "REINFORCEMoments",
    "critical_token_tree",
    "kl_regularized_policy_gradient",
    "reinforce_estimator_moments",
    "sample_reinforce_gradients",
]


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class REINFORCEMoments(Result):
    """Exact moments of one-sequence REINFORCE (:func:`reinforce_estimator_moments`):
    ``gradient`` (S, V), ``sparse_mean`` and ``dense_mean`` (S, V; both equal ``gradient``),
    ``sparse_variance`` and ``dense_variance`` :math:`\\mathbb{E}\\|\\hat g - \\nabla J\\|^2`
    (the MSE of an average over N sequences is this over N)."""

    gradient: np.ndarray
    sparse_mean: np.ndarray
    dense_mean: np.ndarray
    sparse_variance: float
    dense_variance: float


@dataclass(frozen=True, eq=False)
class KLPolicyGradientPath(Result):
    """Deterministic KL-regularised ascent (:func:`kl_regularized_policy_gradient`): ``policy``
    (S, V) final, ``policies`` (n_steps + 1, S, V), ``objective`` and ``expected_reward``
    (n_steps + 1,), ``iterations`` = n_steps, ``converged`` (final max gradient <= tol),
    ``certificate``: the final :math:`\\max|\\nabla J|`."""

    policy: np.ndarray
    policies: np.ndarray
    objective: np.ndarray
    expected_reward: np.ndarray
    iterations: int
    converged: bool
    certificate: float


# ------------------------------------------------------------------ KL-regularised ascent
def kl_regularized_policy_gradient(
    pi_ref, token_rewards, kl_weights, lr, n_steps, init=None, tol: float = 1e-10
) -> KLPolicyGradientPath:
    r"""Deterministic (expected-gradient) ascent on tabular softmax logits of the KL-regularised
    objective with per-state weights.

    .. math::
        \theta_{k+1} = \theta_k + \eta\,\nabla_\theta J(\pi_{\theta_k}),\qquad
        \theta_0 = \log\pi_{ref}\ (\text{or } \log \text{init}),

    with the exact gradient of :func:`tree_policy_gradient` (prefrl's :class:`~prefrl.training.SGD`
    on :math:`-J`). A uniform :math:`\beta_s = \beta` is the usual KL-penalised fine-tuning; a
    smaller weight on the critical position is the relaxation of Vassoyan, Beau and Plaud (2025),
    "Ignore the KL Penalty! Boosting Exploration on Critical Tokens", Sec. 4 (our exact reading).

    Parameters
    ----------
    pi_ref : array, shape (S, V)
        Entries > 0 (the logits start at :math:`\log\pi_{ref}`).
    token_rewards : array, shape (S, V)
    kl_weights : float or array, shape (S,)
    lr : float > 0
        :math:`\eta`.
    n_steps : int >= 0
    init : array, shape (S, V), optional
        The starting policy (entries > 0); ``pi_ref`` by default.
    tol : float > 0
        ``converged`` when the final :math:`\max|\nabla J| \le` ``tol``.

    Returns
    -------
    KLPolicyGradientPath

    Examples
    --------
    >>> ref = np.array([[0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    >>> path = kl_regularized_policy_gradient(ref, [[0.0, 1.0], [0, 0], [0, 0]], 1.0, lr=5.0,
    ...                                       n_steps=300)
    >>> path.policy[0].round(4), path.converged
    (array([0.768, 0.232]), True)
    """
    ref, V, _ = _shape(pi_ref, "pi_ref")
    S = ref.shape[0]
    if np.any(ref <= 0):
        s, a = np.argwhere(ref <= 0)[0]
        raise ValueError(f"pi_ref[{s}, {a}] = {ref[s, a]:.6g}: must be > 0 (log-logits)")
    r = _rewards(token_rewards, S, V)
    w = _kl_weights(kl_weights, S)
    lr = check_positive(lr, "lr")
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    tol = check_positive(tol, "tol")
    start = ref if init is None else check_stochastic_matrix(init, "init", shape=(S, V))
    if np.any(start <= 0):
        raise ValueError("init must have entries > 0")
    theta = np.log(start).reshape(1, -1)
    opt = SGD(lr=lr)
    state = opt.init(theta)
    pols = np.empty((n_steps + 1, S, V))
    obj, rew = np.empty(n_steps + 1), np.empty(n_steps + 1)
    for k in range(n_steps + 1):
        pi = np.exp(log_normalize(theta.reshape(S, V), axis=1))
        g = tree_policy_gradient(pi, r, ref, w)
        pols[k], obj[k], rew[k] = pi, g.value, g.expected_reward
        if k < n_steps:
            theta, state = opt.update(theta, -g.gradient.reshape(1, -1), state)
    cert = float(np.max(np.abs(g.gradient)))
    return KLPolicyGradientPath(
        policy=pols[-1],
        policies=pols,
        objective=obj,
        expected_reward=rew,
        iterations=n_steps,
        converged=cert <= tol,
        certificate=cert,
    )


# ----------------------------------------------------------------------------- REINFORCE
def _weights(r, seqs, states):
    """Per-token weights of the sparse (R(y) on every token) and dense (return-to-go) estimators."""
    rew = r[states, seqs]  # (N, H)
    sparse = np.repeat(rew.sum(axis=1, keepdims=True), rew.shape[1], axis=1)
    return sparse, np.cumsum(rew[:, ::-1], axis=1)[:, ::-1]


def _estimate(pi, seqs, states, weights, S, V):
    """sum_t w_t (e_{a_t} - pi(.|s_t)) scattered at s_t, averaged over the N rows -> (S, V)."""
    N, H = seqs.shape
    g = np.zeros((S, V))
    for t in range(H):
        np.add.at(g, (states[:, t], seqs[:, t]), weights[:, t])
        np.add.at(g, states[:, t], -weights[:, t, None] * pi[states[:, t]])
    return g / N


def reinforce_estimator_moments(policy, token_rewards) -> REINFORCEMoments:
    r"""Exact mean and variance of sparse (sequence reward at the end) and dense (per-token
    returns-to-go) REINFORCE for :math:`\nabla_\theta\,\mathbb{E}_\pi R(y)`, by enumeration.

    .. math::
        \hat g_{sparse} = R(y)\sum_t\nabla\log\pi(y_t|y_{<t}),\qquad
        \hat g_{dense} = \sum_t\nabla\log\pi(y_t|y_{<t})\sum_{t' \ge t} r_{t'},\qquad
        R(y) = \sum_t r_t,

    both unbiased (a score has mean zero given the past); the variances are
    :math:`\mathbb{E}\|\hat g - \nabla J\|^2` for one sequence. With RTO's dense reward
    :math:`R(y) = \beta\log\pi_{DPO}(y)/\pi_{ref}(y)` (Zhong et al. 2024, "DPO Meets PPO", Sec. 4).

    Parameters
    ----------
    policy : array, shape (S, V)
        :math:`\pi` (softmax logits; at most 2e5 sequences).
    token_rewards : array, shape (S, V)

    Returns
    -------
    REINFORCEMoments

    Examples
    --------
    >>> m = reinforce_estimator_moments(np.full((7, 2), 0.5), np.ones((7, 2)))
    >>> bool(np.allclose(m.sparse_mean, m.gradient)), bool(m.dense_variance < m.sparse_variance)
    (True, True)
    """
    pi, V, H = _shape(policy, "policy")
    S = pi.shape[0]
    r = _rewards(token_rewards, S, V)
    if V**H > 200_000:
        raise ValueError(f"policy's tree has {V**H} sequences; at most 200000 are enumerated")
    lay = _layout(V, H)
    prob = np.prod(pi[lay.states, lay.seqs], axis=1)
    grad = tree_policy_gradient(pi, r).gradient
    out = {}
    for name, wts in zip(("sparse", "dense"), _weights(r, lay.seqs, lay.states)):
        mean, sq = np.zeros((S, V)), 0.0
        for i in range(V**H):
            if prob[i] == 0:
                continue
            g = _estimate(pi, lay.seqs[i : i + 1], lay.states[i : i + 1], wts[i : i + 1], S, V)
            mean += prob[i] * g
            sq += prob[i] * float(np.sum((g - grad) ** 2))
        out[name] = (mean, sq)
    return REINFORCEMoments(
        gradient=grad,
        sparse_mean=out["sparse"][0],
        dense_mean=out["dense"][0],
        sparse_variance=out["sparse"][1],
        dense_variance=out["dense"][1],
    )


def sample_reinforce_gradients(policy, token_rewards, n_samples, rng) -> tuple:
    r"""Sparse and dense REINFORCE estimates of :math:`\nabla_\theta\mathbb{E}_\pi R(y)` from the
    same ``n_samples`` sequences (see :func:`reinforce_estimator_moments` for the formulas).

    .. math::
        \hat g = \frac1N\sum_{i=1}^N\sum_t \nabla\log\pi(y^i_t|y^i_{<t})\,G^i_t,\qquad
        G^i_t = R(y^i)\ \text{(sparse)}\ \text{ or }\ \sum_{t'\ge t} r^i_{t'}\ \text{(dense)}.

    Zhong et al. (2024), "DPO Meets PPO", Sec. 4 (RTO's dense reward), Williams (1992).

    Parameters
    ----------
    policy, token_rewards : arrays, shape (S, V)
    n_samples : int >= 1
    rng : int or numpy.random.Generator
        Required (sequences are sampled).

    Returns
    -------
    (array, array)
        The sparse and dense estimates, each of shape (S, V).

    Examples
    --------
    >>> sparse, dense = sample_reinforce_gradients(np.full((7, 2), 0.5), np.ones((7, 2)), 8, 0)
    >>> sparse.shape, bool(np.allclose(dense[3:], 0))
    ((7, 2), True)
    """
    pi, V, H = _shape(policy, "policy")
    S = pi.shape[0]
    r = _rewards(token_rewards, S, V)
    n = check_integer(n_samples, "n_samples", minimum=1)
    rng = as_rng(rng)
    seqs = np.zeros((n, H), dtype=int)
    states = np.zeros((n, H), dtype=int)
    cdf = np.cumsum(pi, axis=1)
    for t in range(H):
        if t:
            states[:, t] = states[:, t - 1] * V + 1 + seqs[:, t - 1]
        u = rng.random(n) * cdf[states[:, t], -1]
        seqs[:, t] = np.minimum((u[:, None] >= cdf[states[:, t]]).sum(axis=1), V - 1)
    return tuple(_estimate(pi, seqs, states, w, S, V) for w in _weights(r, seqs, states))


# ----------------------------------------------------------------------------- instances
def critical_token_tree(
    pi_ref, critical_depth, right_token=0, right_mass=0.02, kl_weight=0.1, factor=0.1
) -> dict:
    r"""A token tree whose outcome is decided by one token at one position, with uniform and
    relaxed per-state KL weights.

    .. math::
        R(y) = \mathbb{1}[y_k = c],\qquad \pi_{ref}(c|s) = m \ (|s| = k),\qquad
        \beta_s = \beta\,(1 - (1 - \lambda)\mathbb{1}[|s| = k]) .

    The rows of ``pi_ref`` at depth :math:`k` are rescaled so that the right token :math:`c` has
    mass :math:`m` (the rest keeps its proportions). Vassoyan, Beau and Plaud (2025), "Ignore the
    KL Penalty! Boosting Exploration on Critical Tokens to Enhance RL Fine-Tuning": the paper
    scales each token's KL by the pre-trained model's confidence; here the weight of every state at
    the critical position is multiplied by :math:`\lambda` (``factor``; 0 removes it).

    Parameters
    ----------
    pi_ref : array, shape (S, V)
        A base reference on a token tree (entries > 0), V >= 2.
    critical_depth : int in [0, H - 1]
        :math:`k`, the position (0-based) of the critical token.
    right_token : int in [0, V - 1]
    right_mass : float in (0, 1)
    kl_weight : float >= 0
        :math:`\beta`.
    factor : float >= 0
        :math:`\lambda`.

    Returns
    -------
    dict
        ``pi_ref`` (S, V), ``token_rewards`` (S, V; reward on the last token),
        ``sequence_rewards`` (V**H,), ``critical`` (bool, (S,)), ``uniform_weights`` and
        ``relaxed_weights`` (S,).

    Examples
    --------
    >>> tree = critical_token_tree(np.full((7, 2), 0.5), critical_depth=1, right_mass=0.1)
    >>> tree["pi_ref"][1], tree["sequence_rewards"], tree["relaxed_weights"][:3].round(3)
    (array([0.1, 0.9]), array([1., 0., 1., 0.]), array([0.1 , 0.01, 0.01]))
    """
    ref, V, H = _shape(pi_ref, "pi_ref")
    if V < 2:
        raise ValueError("pi_ref must have at least two tokens (V >= 2)")
    lay = _layout(V, H)
    _positive_inner(ref, lay, "pi_ref")
    k = check_integer(critical_depth, "critical_depth", minimum=0)
    if k >= H:
        raise ValueError(f"critical_depth must be < depth = {H}, got {k}")
    c = check_integer(right_token, "right_token", minimum=0)
    if c >= V:
        raise ValueError(f"right_token must be < vocab_size = {V}, got {c}")
    m = check_in_range(right_mass, "right_mass", 0.0, 1.0, low_open=True, high_open=True)
    beta = check_positive(kl_weight, "kl_weight", allow_zero=True)
    lam = check_positive(factor, "factor", allow_zero=True)
    ref = ref.copy()
    crit = lay.levels[k]
    rest = ref[crit].copy()
    rest[:, c] = 0.0
    ref[crit] = (1 - m) * rest / rest.sum(axis=1, keepdims=True)
    ref[crit, c] = m
    R = (lay.seqs[:, k] == c).astype(float)
    critical = lay.depth_of == k
    return {
        "pi_ref": ref,
        "token_rewards": token_tree(V, H, sequence_rewards=R).rewards,
        "sequence_rewards": R,
        "critical": critical,
        "uniform_weights": np.full(ref.shape[0], beta),
        "relaxed_weights": np.where(critical, lam * beta, beta),
    }
