r"""Token-level rewards and per-state KL weights on a token tree: RTO's dense DPO reward, the
exact KL-regularised policy gradient and the per-state-KL optimum.

The tree is :func:`prefrl.mdp.envs.token_tree` (state = prefix, action = token, depth
:math:`H`, vocabulary :math:`V`, :math:`S = \sum_{h \le H} V^h` states numbered breadth first, the
children of state :math:`s` being :math:`sV + 1 + a`). Policies are (S, V) row-stochastic arrays
(rows of the leaves are unused). The layout helpers here (``_shape``, ``_layout``,
``_positive_inner``, ``_rewards``, ``_kl_weights``) are shared with :mod:`._tree_training`.

- Zhong et al. (2024), "DPO Meets PPO: Reinforced Token Optimization for RLHF" (RTO), Sec. 4:
  the dense token reward :math:`r_t = \beta\log\pi_{DPO}(a_t|s_t)/\pi_{ref}(a_t|s_t)`
  (:func:`dense_dpo_reward`) telescopes to :math:`\beta\log\pi_{DPO}(y)/\pi_{ref}(y)`, so the
  KL-regularised optimum at weight :math:`\beta'` is, over whole sequences, the geometric mixture
  :math:`\pi_{ref}^{1-b}\pi_{DPO}^{b}/Z` with :math:`b = \beta/\beta'`, while per state it is the
  per-token mixture times the continuation value :math:`C(s') = e^{V(s')/\beta'} = \sum_{y \ni s'}
  \pi_{ref}^{1-b}\pi_{DPO}^{b}(y_{>t}|s')` (:func:`soft_optimal_sequence_law`,
  :class:`RTOSoftOptimum`). By Hölder, :math:`C \le 1` for :math:`b \in [0, 1]` and :math:`C \ge 1`
  for :math:`b \ge 1`, with equality at :math:`b \in \{0, 1\}`; the two laws differ at state
  :math:`s` iff :math:`C` differs among its children.
- The objective :math:`\mathbb{E}\sum_t r(s_t, a_t) - \beta_{s_t}\log\pi/\pi_{ref}(a_t|s_t)` with a
  per-state KL weight :math:`\beta_s` (the critical-token relaxation of Vassoyan, Beau and Plaud
  (2025), "Ignore the KL Penalty! Boosting Exploration on Critical Tokens to Enhance RL
  Fine-Tuning"): its exact value and softmax-logit gradient (:func:`tree_policy_gradient`,
  :class:`TreePolicyGradient`; Sutton et al. 2000) and its exact optimum by backward induction
  (:func:`per_state_soft_optimum`, :class:`PerStateSoftOptimum`).
- :func:`random_rto_instance`: random trees shared by the theorem checks and the figure.

Gradient ascent on this objective, the critical-token instance and the sparse vs dense REINFORCE
moments are in :mod:`._tree_training`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._numerics import log_normalize
from .._validation import as_rng, check_array, check_positive, check_stochastic_matrix
from ..mdp.envs import token_tree
from ..results import Result

__all__ = [
    "PerStateSoftOptimum",
    "RTOSoftOptimum",
    "TreePolicyGradient",
    "dense_dpo_reward",
    "per_state_soft_optimum",
    "random_rto_instance",
    "soft_optimal_sequence_law",
    "tree_policy_gradient",
]


# ----------------------------------------------------------------------------- tree layout
def _shape(policy, name: str) -> tuple[np.ndarray, int, int]:
    """Validate an (S, V) row-stochastic array on a token tree; infer the depth from S."""
    M = check_stochastic_matrix(policy, name)
    if M.ndim != 2:
        raise ValueError(f"{name} must have shape (S, V), got {M.shape}")
    S, V = M.shape
    H, size = 0, 1
    while size < S:
        H += 1
        size += V**H
    if size != S or H < 1:
        raise ValueError(f"{name} has {S} rows: not sum_(h<=H) {V}**h for any depth H >= 1")
    return M, V, H


@dataclass(frozen=True)
class _Layout:
    V: int
    H: int
    depth_of: np.ndarray  # (S,)
    levels: list  # states at each depth 0..H
    seqs: np.ndarray  # (V**H, H) tokens
    states: np.ndarray  # (V**H, H) the state visited before each token


def _layout(V: int, H: int) -> _Layout:
    levels, off = [], 0
    for h in range(H + 1):
        levels.append(off + np.arange(V**h))
        off += V**h
    depth_of = np.concatenate([np.full(V**h, h) for h in range(H + 1)])
    seqs = np.stack(np.unravel_index(np.arange(V**H), (V,) * H), axis=1).astype(int)
    states = np.zeros_like(seqs)
    for t in range(1, H):
        states[:, t] = states[:, t - 1] * V + 1 + seqs[:, t - 1]
    return _Layout(V, H, depth_of, levels, seqs, states)


def _positive_inner(M: np.ndarray, lay: _Layout, name: str) -> None:
    inner = np.flatnonzero(lay.depth_of < lay.H)
    bad = M[inner] <= 0
    if bad.any():
        i, a = np.argwhere(bad)[0]
        raise ValueError(
            f"{name}[{inner[i]}, {a}] = {M[inner[i], a]:.6g}: must be > 0 at "
            "non-leaf states (log-ratios are taken)"
        )


def _rewards(token_rewards, S: int, V: int) -> np.ndarray:
    return check_array(token_rewards, "token_rewards", shape=(S, V))


def _kl_weights(kl_weights, S: int, required: bool = True) -> np.ndarray:
    if kl_weights is None:
        if required:
            raise ValueError("kl_weights must be a number or an array of shape (S,), got None")
        return np.zeros(S)
    if np.ndim(kl_weights) == 0:
        return np.full(S, check_positive(kl_weights, "kl_weights", allow_zero=True))
    w = check_array(kl_weights, "kl_weights", shape=(S,))
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"kl_weights[{i}] = {w[i]:.6g}, must be >= 0")
    return w


def _seq_logprob(logpi: np.ndarray, lay: _Layout) -> np.ndarray:
    return logpi[lay.states, lay.seqs].sum(axis=1)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class RTOSoftOptimum(Result):
    """The optimum under RTO's dense reward (:func:`soft_optimal_sequence_law`). ``policy`` (S, V)
    (leaf rows: ``pi_ref``), ``values`` (S,) and ``value`` :math:`=\\beta'\\log Z`;
    ``sequence_policy`` and ``mixture`` (V**H,): the induced sequence law and
    :math:`\\pi_{ref}^{1-b}\\pi_{DPO}^b/Z`; ``token_mixture`` (S, V): the per-token mixture;
    ``continuation`` (S,): :math:`C(s) = e^{V(s)/\\beta'}`; ``sequence_gap`` and
    ``token_mixture_gap``: max absolute gaps (non-leaf states); ``certificate``: the largest
    residual of the closed forms (sequence law, :math:`V(root)`, the factorisation with :math:`C`).
    """

    policy: np.ndarray
    values: np.ndarray
    value: float
    sequence_policy: np.ndarray
    mixture: np.ndarray
    token_mixture: np.ndarray
    continuation: np.ndarray
    sequence_gap: float
    token_mixture_gap: float
    certificate: float


@dataclass(frozen=True, eq=False)
class TreePolicyGradient(Result):
    """Exact quantities of a policy (:func:`tree_policy_gradient`): ``gradient`` (S, V) in the
    softmax logits, ``value`` :math:`J`, ``values`` (S,) and ``q_values`` (S, V) of the KL-shaped
    reward, ``reach`` (S,) :math:`d(s)`, ``state_kl`` (S,)
    :math:`\\mathrm{KL}(\\pi(\\cdot|s)\\|\\pi_{ref}(\\cdot|s))` and ``expected_reward``
    :math:`\\mathbb{E}\\sum_t r` (without the KL)."""

    gradient: np.ndarray
    value: float
    values: np.ndarray
    q_values: np.ndarray
    reach: np.ndarray
    state_kl: np.ndarray
    expected_reward: float


@dataclass(frozen=True, eq=False)
class PerStateSoftOptimum(Result):
    """The optimum with per-state KL weights (:func:`per_state_soft_optimum`): ``policy`` (S, V),
    ``values`` (S,), ``q_values`` (S, V), ``value`` :math:`V(root)`, ``iterations`` 0,
    ``converged`` True, ``certificate``: the largest residual of
    :math:`\\beta_s\\log\\pi/\\pi_{ref} = Q - V` (:math:`\\beta_s > 0`) and of
    :math:`V(s) = \\max_{a \\in \\mathrm{supp}} Q(s, a)` (:math:`\\beta_s = 0`)."""

    policy: np.ndarray
    values: np.ndarray
    q_values: np.ndarray
    value: float
    iterations: int
    converged: bool
    certificate: float


# ----------------------------------------------------------------------------- RTO
def dense_dpo_reward(pi_ref, pi_dpo, beta) -> np.ndarray:
    r"""RTO's dense token reward :math:`\beta\log\pi_{DPO}(a|s)/\pi_{ref}(a|s)` on every edge.

    .. math::
        r(s, a) = \beta\log\frac{\pi_{DPO}(a|s)}{\pi_{ref}(a|s)}, \qquad
        \sum_{t=1}^{H} r(y_{<t}, y_t) = \beta\log\frac{\pi_{DPO}(y)}{\pi_{ref}(y)} .

    Zhong et al. (2024), "DPO Meets PPO: Reinforced Token Optimization for RLHF", Sec. 4 (the
    token-wise reward of the DPO policy fed to PPO). When :math:`\pi_{DPO}` is the KL-optimal policy
    of a sequence reward :math:`R`, the sum is :math:`R(y) - \beta\log Z`.

    Parameters
    ----------
    pi_ref, pi_dpo : array, shape (S, V)
        Token-level policies on a token tree of vocabulary V (rows sum to one; entries > 0 at
        non-leaf states). The depth is read from S.
    beta : float > 0
        The KL weight of DPO.

    Returns
    -------
    array, shape (S, V)
        Usable as ``token_rewards`` of :func:`prefrl.mdp.envs.token_tree` (0 on leaf rows).

    Examples
    --------
    >>> ref = np.full((7, 2), 0.5)
    >>> dpo = ref.copy(); dpo[0] = [0.2, 0.8]
    >>> dense_dpo_reward(ref, dpo, beta=1.0)[0].round(4)
    array([-0.9163,  0.47  ])
    """
    ref, V, H = _shape(pi_ref, "pi_ref")
    dpo = check_stochastic_matrix(pi_dpo, "pi_dpo", shape=ref.shape)
    beta = check_positive(beta, "beta")
    lay = _layout(V, H)
    _positive_inner(ref, lay, "pi_ref")
    _positive_inner(dpo, lay, "pi_dpo")
    r = np.zeros(ref.shape)
    inner = lay.depth_of < H
    r[inner] = beta * (np.log(dpo[inner]) - np.log(ref[inner]))
    return r


def soft_optimal_sequence_law(pi_ref, pi_dpo, beta, beta_prime) -> RTOSoftOptimum:
    r"""Exact KL-regularised optimum at weight :math:`\beta'` with RTO's dense reward, by backward
    induction, and its two closed forms (sequence level: exact; token level: with continuation).

    .. math::
        \pi^*(y) = \frac{\pi_{ref}(y)^{1-b}\,\pi_{DPO}(y)^{b}}{Z}, \qquad
        \pi^*(a|s) = \frac{\pi_{ref}(a|s)^{1-b}\pi_{DPO}(a|s)^{b}\, C(sa)}
                          {\sum_{a'} \pi_{ref}(a'|s)^{1-b}\pi_{DPO}(a'|s)^{b}\, C(sa')},\qquad
        b = \beta/\beta',

    with :math:`C(s) = e^{V(s)/\beta'} = \sum_{y_{>t}}\pi_{ref}^{1-b}\pi_{DPO}^b(y_{>t}|s)`
    (1 at leaves). The per-token mixture (without :math:`C`) is the soft optimum only where
    :math:`C` is constant over the children of :math:`s` (always at :math:`b \in \{0, 1\}`, i.e.
    :math:`\beta' \to \infty` or :math:`\beta' = \beta`, and at depth 1). Zhong et al. (2024),
    "DPO Meets PPO: Reinforced Token Optimization for RLHF", Sec. 4 (the dense reward); the closed
    forms are ours (the telescoping of the reward and the soft Bellman recursion).

    Parameters
    ----------
    pi_ref, pi_dpo : array, shape (S, V)
        As in :func:`dense_dpo_reward`.
    beta : float > 0
        DPO's KL weight (the scale of the dense reward).
    beta_prime : float > 0
        The KL weight of the RL stage.

    Returns
    -------
    RTOSoftOptimum

    Examples
    --------
    >>> ref = np.full((7, 2), 0.5)
    >>> dpo = np.array([[0.2, 0.8], [0.5, 0.5], [0.1, 0.9]] + [[0.5, 0.5]] * 4)
    >>> res = soft_optimal_sequence_law(ref, dpo, beta=1.0, beta_prime=2.0)
    >>> bool(res.sequence_gap < 1e-12), bool(res.token_mixture_gap > 1e-3)
    (True, True)
    """
    ref, V, H = _shape(pi_ref, "pi_ref")
    dpo = check_stochastic_matrix(pi_dpo, "pi_dpo", shape=ref.shape)
    r = dense_dpo_reward(ref, dpo, beta)
    beta = check_positive(beta, "beta")
    bp = check_positive(beta_prime, "beta_prime")
    b = beta / bp
    lay = _layout(V, H)
    tree = token_tree(V, H, token_rewards=r)
    # positional (horizon, beta, pi_ref): the keyword of the reference is being renamed in mdp
    res = tree.backward_induction(None, bp, ref)
    S = ref.shape[0]
    idx = np.minimum(lay.depth_of, H)
    pi = res.policy[np.minimum(idx, H - 1), np.arange(S)].copy()
    leaf = lay.depth_of == H
    pi[leaf] = ref[leaf]
    values = res.values[idx, np.arange(S)]
    values[leaf] = 0.0
    seq = tree.sequence_probabilities(pi)
    inner = ~leaf
    log_mix_tok = np.zeros(ref.shape)
    log_mix_tok[inner] = (1 - b) * np.log(ref[inner]) + b * np.log(dpo[inner])
    token_mix = np.exp(log_normalize(log_mix_tok, axis=1))
    token_mix[leaf] = ref[leaf]
    log_mix_seq = _seq_logprob(log_mix_tok, lay)
    log_Z = float(logsumexp(log_mix_seq))
    mixture = np.exp(log_mix_seq - log_Z)
    logC = values / bp
    child = np.arange(S)[inner, None] * V + 1 + np.arange(V)[None, :]
    factored = np.exp(log_normalize(log_mix_tok[inner] + logC[child], axis=1))
    seq_gap = float(np.max(np.abs(seq - mixture)))
    tok_gap = float(np.max(np.abs(pi[inner] - token_mix[inner])))
    cert = max(
        seq_gap,
        abs(values[0] - bp * log_Z) / (1 + abs(values[0])),
        float(np.max(np.abs(pi[inner] - factored))),
    )
    return RTOSoftOptimum(
        policy=pi,
        values=values,
        value=float(values[0]),
        sequence_policy=seq,
        mixture=mixture,
        token_mixture=token_mix,
        continuation=np.exp(logC),
        sequence_gap=seq_gap,
        token_mixture_gap=tok_gap,
        certificate=cert,
    )


# ----------------------------------------------------------------------------- exact PG
def _evaluate(pi, lay, r, logref, w):
    """Backward values with KL-shaped rewards, forward reach, per-state KL."""
    S, V = pi.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        logratio = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)) - logref, 0.0)
    shaped = r - w[:, None] * logratio
    Q, Vs = np.zeros((S, V)), np.zeros(S)
    for h in reversed(range(lay.H)):
        s = lay.levels[h]
        Q[s] = shaped[s] + Vs[s[:, None] * V + 1 + np.arange(V)]
        Vs[s] = np.sum(pi[s] * Q[s], axis=1)
    reach = np.zeros(S)
    reach[0] = 1.0
    for h in range(lay.H):
        s = lay.levels[h]
        reach[s[:, None] * V + 1 + np.arange(V)] = reach[s, None] * pi[s]
    kl_s = np.sum(pi * logratio, axis=1)
    kl_s[lay.depth_of == lay.H] = 0.0
    Q[lay.depth_of == lay.H] = 0.0
    return Q, Vs, reach, kl_s


def tree_policy_gradient(policy, token_rewards, pi_ref=None, kl_weights=None) -> TreePolicyGradient:
    r"""Exact value and softmax-logit gradient of a KL-regularised objective with per-state weights.

    .. math::
        J(\pi) = \mathbb{E}_{y\sim\pi}\sum_{t}\Big(r(s_t, a_t) - \beta_{s_t}\log
        \frac{\pi(a_t|s_t)}{\pi_{ref}(a_t|s_t)}\Big),\qquad
        \frac{\partial J}{\partial\theta(s,a)} = d(s)\,\pi(a|s)\,\big(Q(s,a) - V(s)\big),

    with :math:`\pi(\cdot|s) = \mathrm{softmax}(\theta(s, \cdot))`, :math:`Q, V` the values of the
    KL-shaped reward and :math:`d(s)` the probability of reaching :math:`s` (the policy-gradient
    theorem, Sutton et al. 2000; the KL term adds :math:`\mathbb{E}\nabla\log\pi = 0`). A per-state
    weight :math:`\beta_s` is the critical-token relaxation of Vassoyan, Beau and Plaud (2025).

    Parameters
    ----------
    policy : array, shape (S, V)
        :math:`\pi` on a token tree.
    token_rewards : array, shape (S, V)
        :math:`r(s, a)` (e.g. ``token_tree(...).rewards`` or :func:`dense_dpo_reward`).
    pi_ref : array, shape (S, V), optional
        Needed when a weight is positive (uniform by default).
    kl_weights : float or array, shape (S,), optional
        :math:`\beta_s \ge 0`; 0 (no KL) by default.

    Returns
    -------
    TreePolicyGradient

    Examples
    --------
    >>> pi = np.full((3, 2), 0.5)          # depth 1, two tokens, reward 1 on token 1
    >>> g = tree_policy_gradient(pi, [[0.0, 1.0], [0, 0], [0, 0]])
    >>> g.gradient[0], g.value
    (array([-0.25,  0.25]), 0.5)
    """
    pi, V, H = _shape(policy, "policy")
    S = pi.shape[0]
    r = _rewards(token_rewards, S, V)
    w = _kl_weights(kl_weights, S, required=False)
    ref = (
        np.full((S, V), 1.0 / V)
        if pi_ref is None
        else check_stochastic_matrix(pi_ref, "pi_ref", shape=(S, V))
    )
    lay = _layout(V, H)
    with np.errstate(divide="ignore"):
        logref = np.log(ref)
    inner = lay.depth_of < H
    if np.any((pi[inner] > 0) & (ref[inner] == 0) & (w[inner, None] > 0)):
        raise ValueError("policy puts mass where pi_ref is 0 at a state with a positive KL weight")
    Q, Vs, reach, kl_s = _evaluate(pi, lay, r, logref, w)
    grad = reach[:, None] * pi * (Q - Vs[:, None])
    grad[~inner] = 0.0
    _, V0, _, _ = _evaluate(pi, lay, r, logref, np.zeros(S))
    return TreePolicyGradient(
        gradient=grad,
        value=float(Vs[0]),
        values=Vs,
        q_values=Q,
        reach=reach,
        state_kl=kl_s,
        expected_reward=float(V0[0]),
    )


def per_state_soft_optimum(pi_ref, token_rewards, kl_weights) -> PerStateSoftOptimum:
    r"""Exact maximiser of the objective of :func:`tree_policy_gradient` with per-state KL weights.

    .. math::
        Q(s, a) = r(s, a) + V(sa),\qquad
        V(s) = \beta_s\log\sum_a\pi_{ref}(a|s)e^{Q(s,a)/\beta_s},\qquad
        \pi(a|s) = \pi_{ref}(a|s)e^{(Q(s,a) - V(s))/\beta_s},

    by backward induction from the leaves (:math:`V = 0`); where :math:`\beta_s = 0`,
    :math:`V(s) = \max_{a:\pi_{ref}(a|s)>0} Q(s,a)` and :math:`\pi(\cdot|s)` is :math:`\pi_{ref}`
    restricted to the maximisers (the limit :math:`\beta_s \to 0`). Each state's problem is the
    one-step Gibbs variational principle, so the recursion is exact. The per-state KL weight is our
    reading of the critical-token relaxation of Vassoyan, Beau and Plaud (2025), "Ignore the KL
    Penalty! Boosting Exploration on Critical Tokens to Enhance RL Fine-Tuning", Sec. 4.

    Parameters
    ----------
    pi_ref : array, shape (S, V)
    token_rewards : array, shape (S, V)
    kl_weights : float or array, shape (S,)
        :math:`\beta_s \ge 0`.

    Returns
    -------
    PerStateSoftOptimum

    Examples
    --------
    >>> ref = np.array([[0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    >>> res = per_state_soft_optimum(ref, [[0.0, 1.0], [0, 0], [0, 0]], kl_weights=1.0)
    >>> res.policy[0].round(4), round(res.value, 4)
    (array([0.768, 0.232]), 0.1586)
    """
    ref, V, H = _shape(pi_ref, "pi_ref")
    S = ref.shape[0]
    r = _rewards(token_rewards, S, V)
    w = _kl_weights(kl_weights, S)
    lay = _layout(V, H)
    with np.errstate(divide="ignore"):
        logref = np.log(ref)
    Q, Vs, pi = np.zeros((S, V)), np.zeros(S), ref.copy()
    for h in reversed(range(H)):
        s = lay.levels[h]
        Q[s] = r[s] + Vs[s[:, None] * V + 1 + np.arange(V)]
        q, lr, ws = Q[s], logref[s], w[s]
        soft = ws > 0
        if soft.any():
            z = q[soft] / ws[soft, None] + lr[soft]
            Vs[s[soft]] = ws[soft] * logsumexp(z, axis=1)
            pi[s[soft]] = np.exp(log_normalize(z, axis=1))
        hard = ~soft
        if hard.any():
            qm = np.where(np.isneginf(lr[hard]), -np.inf, q[hard])
            best = qm.max(axis=1)
            Vs[s[hard]] = best
            tie = qm >= best[:, None] - 1e-12 * (1 + np.abs(best[:, None]))
            p = np.where(tie, ref[s[hard]], 0.0)
            pi[s[hard]] = p / p.sum(axis=1, keepdims=True)
    inner = lay.depth_of < H
    with np.errstate(divide="ignore", invalid="ignore"):
        lhs = w[:, None] * (np.log(pi) - logref)
        adv = Q - Vs[:, None]
        res_soft = np.where((w[:, None] > 0) & (ref > 0), np.abs(lhs - adv), 0.0)
        res_hard = np.where((w[:, None] == 0) & (ref > 0), np.maximum(adv, 0.0), 0.0)
        res_hard = np.maximum(res_hard, np.where((w[:, None] == 0) & (pi > 0), np.abs(adv), 0.0))
    cert = float(np.max(np.maximum(res_soft, res_hard)[inner])) if inner.any() else 0.0
    return PerStateSoftOptimum(
        policy=pi,
        values=Vs,
        q_values=Q,
        value=float(Vs[0]),
        iterations=0,
        converged=True,
        certificate=cert,
    )


# ----------------------------------------------------------------------------- instances
def random_rto_instance(rng) -> dict:
    r"""A random RTO instance: vocabulary 1-3, depth 1-3, a random reference (floored at 1e-3),
    a DPO policy (the factorised Gibbs tilt of a random sequence reward, a random policy, or the
    reference itself), and :math:`\beta, \beta'` log-uniform in [0.1, 10] (sometimes equal).

    Parameters
    ----------
    rng : int or numpy.random.Generator
        Required (the instance is random).

    Returns
    -------
    dict
        ``pi_ref``, ``pi_dpo`` (S, V), ``beta``, ``beta_prime``: the arguments of
        :func:`soft_optimal_sequence_law`.

    Examples
    --------
    >>> inst = random_rto_instance(0)
    >>> bool(soft_optimal_sequence_law(**inst).certificate < 1e-10)
    True
    """
    rng = as_rng(rng)
    V, H = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)

    def draw():
        p = np.maximum(rng.dirichlet(np.ones(V) * float(rng.choice([0.3, 1.0, 5.0])), size=S), 1e-3)
        return p / p.sum(axis=1, keepdims=True)

    ref = draw()
    beta = float(10 ** rng.uniform(-1, 1))
    kind = int(rng.integers(3))
    if kind == 0:
        tree = token_tree(V, H, sequence_rewards=rng.normal(size=V**H) * 2)
        res = tree.backward_induction(None, beta, ref)
        lay = _layout(V, H)
        dpo = res.policy[np.minimum(lay.depth_of, H - 1), np.arange(S)]
    else:
        dpo = draw() if kind == 1 else ref.copy()
    bp = beta if rng.random() < 0.2 else float(10 ** rng.uniform(-1, 1))
    return {"pi_ref": ref, "pi_dpo": dpo, "beta": beta, "beta_prime": bp}
