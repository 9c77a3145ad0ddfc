r"""Value Augmented Sampling on a token tree: one step of soft policy iteration, not the optimum.

Paper
-----
Han, Shenfeld, Srivastava, Kim and Agrawal (2024), "Value Augmented Sampling for Language Model
Alignment and Personalization", arXiv 2405.06639: decode from
:math:`\pi_0(a|s)\,e^{V^{\pi_0}(s \cdot a)/\beta}/Z`, the value of the frozen base policy
:math:`\pi_0` (estimated from its samples; here exact, by backward evaluation). The one-step
tilt itself is :func:`prefrl.bandits.value_augmented_policy`, reused here.

What this file adds (derived)
-----------------------------
On a token tree (:func:`prefrl.mdp.envs.token_tree`, :math:`\gamma = 1`) the objective
:math:`\mathbb{E}_\pi R(y) - \beta\,\mathrm{KL}(\pi(y)\|\pi_0(y))` over sequence laws is, by the
chain rule of KL, the KL-regularised MDP objective with per-token KL to :math:`\pi_0`. *Soft
policy iteration* from :math:`\pi^{(0)} = \pi_0` alternates soft evaluation,
:math:`Q^{(m)}_t(s, a) = r(s, a) + V^{(m)}_{t+1}(s a)`,
:math:`V^{(m)}_t(s) = \sum_a \pi^{(m)}_t(a|s)\,[Q^{(m)}_t(s, a) - \beta \log
\tfrac{\pi^{(m)}_t(a|s)}{\pi_0(a|s)}]`, and improvement
:math:`\pi^{(m+1)}_t \propto \pi_0\,e^{Q^{(m)}_t/\beta}`. At :math:`m = 0` the KL term vanishes,
so :math:`Q^{(0)} = Q^{\pi_0}` and :math:`\pi^{(1)}` *is* VAS. The optimum tilts by the soft
value of the optimum, :math:`Q^*_t(s, a) = r + \beta \log \mathbb{E}_{\pi_0}[e^{R/\beta} | s a]`
(when the reward is paid at the end), while VAS tilts by :math:`\mathbb{E}_{\pi_0}[R | s a]`;
they agree on the last layer, so VAS is the optimum on a depth-1 tree (a bandit) and in general
differs above the last layer. On a depth-:math:`H` tree, iteration :math:`m` is exact on the
last :math:`m` layers (by induction from the leaves), so soft policy iteration reaches the
optimum after exactly :math:`H` steps.

Public functions and results
----------------------------
* :func:`soft_policy_iteration` -> :class:`SoftPolicyIterationResult`;
* :func:`vas_vs_optimum` -> :class:`VASComparison`: VAS and the KL-regularised optimum on a token
  tree, with their sequence laws, rewards, KLs and the objective gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_integer, check_positive
from ..bandits import value_augmented_policy
from ..mdp.envs import TokenTreeMDP
from ..policies import gibbs, kl
from ..results import Result

__all__ = [
    "SoftPolicyIterationResult",
    "VASComparison",
    "soft_policy_iteration",
    "vas_vs_optimum",
]


@dataclass(frozen=True, eq=False)
class SoftPolicyIterationResult(Result):
    r"""Soft policy iteration from the base policy (:func:`soft_policy_iteration`).

    Attributes
    ----------
    policy : array, shape (H, S, A)
        :math:`\pi^{(m)}` after ``iterations`` steps (step 1 is VAS).
    policies : array, shape (iterations + 1, H, S, A)
        Every iterate, :math:`\pi^{(0)} = \pi_0` first.
    objectives : array, shape (iterations + 1,)
        :math:`\mathbb{E}_{\mu_0} V^{(m)}_0`, the regularised objective of each iterate
        (nondecreasing: soft policy improvement).
    value : float
        The last entry of ``objectives``.
    iterations : int
    converged : bool
        Whether ``certificate`` is below 1e-10.
    certificate : float
        :math:`\max_{t, s, a} |\pi^{(m)}_t - \pi_0 e^{Q^{(m)}_t/\beta}/Z|` on the returned
        iterate: 0 exactly at the KL-regularised optimum.
    """

    policy: np.ndarray
    policies: np.ndarray
    objectives: np.ndarray
    value: float
    iterations: int
    converged: bool
    certificate: float


@dataclass(frozen=True, eq=False)
class VASComparison(Result):
    r"""VAS against the KL-regularised optimum on a token tree (:func:`vas_vs_optimum`).

    Sequence-level quantities are over the :math:`V^H` complete sequences in lexicographic order.

    Attributes
    ----------
    policy : array, shape (S, A)
        The VAS policy (each state at its own depth).
    optimum_policy : array, shape (S, A)
        The KL-regularised optimum (soft backward induction).
    sequence_rewards : array, shape (V**H,)
        :math:`R(y)`, the return of each sequence.
    base_sequence_law, sequence_law, optimum_sequence_law : array, shape (V**H,)
        :math:`\pi_0(y)`, :math:`\pi_{VAS}(y)`, :math:`\pi^*(y)`.
    reward, optimum_reward : float
        :math:`\mathbb{E} R` under VAS and under the optimum.
    kl, optimum_kl : float
        Sequence-level :math:`\mathrm{KL}(\cdot\|\pi_0)`.
    value, optimum_value : float
        The regularised objective :math:`\mathbb{E} R - \beta\,\mathrm{KL}`.
    gap : float
        ``optimum_value - value`` (:math:`\ge 0`; 0 on a depth-1 tree).
    certificate : float
        :math:`\max_y |\pi^*(y) - \pi_0(y) e^{R(y)/\beta}/Z|`: the optimum is the sequence-level
        Gibbs tilt.
    """

    policy: np.ndarray
    optimum_policy: np.ndarray
    sequence_rewards: np.ndarray
    base_sequence_law: np.ndarray
    sequence_law: np.ndarray
    optimum_sequence_law: np.ndarray
    reward: float
    optimum_reward: float
    kl: float
    optimum_kl: float
    value: float
    optimum_value: float
    gap: float
    certificate: float


def _check_tree(tree) -> TokenTreeMDP:
    if not isinstance(tree, TokenTreeMDP):
        raise TypeError(
            f"tree must be a TokenTreeMDP (prefrl.mdp.envs.token_tree), got {type(tree).__name__}"
        )
    if tree.gamma != 1.0:
        raise ValueError(
            f"tree must have gamma = 1 (the sequence-level identity), got {tree.gamma}"
        )
    return tree


def _soft_evaluate(mdp, policy, pi0, beta):
    """Soft Q_t and V_0 of a time-dependent policy with KL weight beta to pi0."""
    H = policy.shape[0]
    Q = np.empty(policy.shape)
    V = np.zeros(mdp.n_states)
    for t in reversed(range(H)):
        Q[t] = mdp.q_from_values(V)
        V = np.einsum("sa,sa->s", policy[t], Q[t]) - beta * np.asarray(kl(policy[t], pi0))
    return Q, V


def soft_policy_iteration(tree, base_policy, beta, n_steps) -> SoftPolicyIterationResult:
    r"""Soft policy iteration from the base policy on a token tree; its first step is VAS.

    .. math::
        \pi^{(m+1)}_t(a|s) = \frac{\pi_0(a|s)\, e^{Q^{(m)}_t(s, a)/\beta}}
        {\sum_{a'} \pi_0(a'|s)\, e^{Q^{(m)}_t(s, a')/\beta}}, \qquad
        Q^{(m)}_t = r + V^{(m)}_{t+1}(s a),\
        V^{(m)}_t = \mathbb{E}_{\pi^{(m)}_t}\big[Q^{(m)}_t - \beta \log(\pi^{(m)}_t/\pi_0)\big],

    from :math:`\pi^{(0)} = \pi_0`: the soft Q of the current iterate (its KL to
    :math:`\pi_0` included), then the Gibbs improvement. Soft policy iteration for the
    KL-regularised objective (Haarnoja et al. 2018, "Soft Actor-Critic", Lemmas 1-2; Geist,
    Scherrer and Pietquin 2019, Sec. 3). Step 1 tilts by :math:`Q^{\pi_0}`: it is the VAS decoding
    rule of Han et al. (2024), "Value Augmented Sampling for Language Model Alignment and
    Personalization", with inverse temperature :math:`1/\beta`. On a depth-:math:`H` tree the
    iterate is optimal after :math:`H` steps (module docstring).

    Parameters
    ----------
    tree : prefrl.mdp.envs.TokenTreeMDP
        With :math:`\gamma = 1`.
    base_policy : array, shape (S, A)
        :math:`\pi_0`, the frozen base (reference) policy.
    beta : float > 0
        The KL weight (VAS's inverse temperature is :math:`1/\beta`).
    n_steps : int >= 0
        Number of improvement steps.

    Returns
    -------
    SoftPolicyIterationResult

    Examples
    --------
    >>> from prefrl.mdp.envs import token_tree
    >>> tree = token_tree(2, 2, sequence_rewards=[0.0, 0.0, 0.0, 1.0])
    >>> res = soft_policy_iteration(tree, np.full((7, 2), 0.5), beta=0.5, n_steps=2)
    >>> res.objectives.round(4), res.certificate < 1e-12
    (array([0.25  , 0.4686, 0.4772]), True)
    """
    tree = _check_tree(tree)
    beta = check_positive(beta, "beta")
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    pi0 = tree.check_policy(base_policy, "base_policy")
    H = tree.horizon
    ref = np.broadcast_to(pi0, (H, *pi0.shape))
    pi = ref.copy()
    policies, objectives = [pi], []
    for _ in range(n_steps):
        Q, V0 = _soft_evaluate(tree, pi, pi0, beta)
        objectives.append(float(tree.initial @ V0))
        pi = np.stack([gibbs(pi0, Q[t], beta) for t in range(H)])
        policies.append(pi)
    Q, V0 = _soft_evaluate(tree, pi, pi0, beta)
    objectives.append(float(tree.initial @ V0))
    improved = np.stack([gibbs(pi0, Q[t], beta) for t in range(H)])
    cert = float(np.max(np.abs(improved - pi)))
    return SoftPolicyIterationResult(
        policy=pi,
        policies=np.stack(policies),
        objectives=np.array(objectives),
        value=objectives[-1],
        iterations=n_steps,
        converged=cert <= 1e-10,
        certificate=cert,
    )


def _by_depth(tree, policy_t: np.ndarray) -> np.ndarray:
    """(H, S, A) -> (S, A): each state takes the row of its own depth (leaves: the last row)."""
    out = np.array(policy_t[-1])
    for h in range(tree.depth):
        states = tree.states_at_depth(h)
        out[states] = policy_t[h][states]
    return out


def _sequence_returns(tree) -> np.ndarray:
    """R(y) = sum_t r(s_t, y_t) along each complete sequence, shape (V**H,)."""
    r = tree.expected_rewards
    ret = np.zeros(1)
    for h in range(tree.depth):
        states = tree.states_at_depth(h)
        ret = (ret[:, None] + r[states]).ravel()
    return ret


def vas_vs_optimum(tree, base_policy, beta) -> VASComparison:
    r"""VAS decoding and the KL-regularised optimum on a token tree: laws, rewards, KLs and gap.

    .. math::
        \pi_{VAS}(a|s) \propto \pi_0(a|s)\, e^{Q^{\pi_0}(s, a)/\beta}, \qquad
        \pi^*(a|s) \propto \pi_0(a|s)\, e^{Q^*(s, a)/\beta}, \qquad
        \pi^*(y) = \frac{\pi_0(y)\, e^{R(y)/\beta}}{Z},

    with :math:`Q^{\pi_0}` the (unregularised) value of the base policy, computed exactly by
    backward evaluation (:func:`prefrl.bandits.value_augmented_policy` at inverse temperature
    :math:`1/\beta`; Han et al. 2024, "Value Augmented Sampling for Language Model Alignment and
    Personalization", the VAS decoding rule) and :math:`Q^*` the soft value of the optimum (soft
    backward induction, :meth:`prefrl.mdp.TabularMDP.backward_induction`). The sequence laws
    :math:`\pi(y) = \prod_t \pi(y_t|y_{<t})` give :math:`\mathbb{E} R`,
    :math:`\mathrm{KL}(\pi\|\pi_0)` and the objective :math:`\mathbb{E} R - \beta\,\mathrm{KL}`;
    ``gap`` is the optimum's objective minus VAS's: 0 on a depth-1 tree, where VAS is the Gibbs
    optimum, and in general positive on deeper trees, where VAS is one step of soft policy
    iteration (:func:`soft_policy_iteration`).

    Parameters
    ----------
    tree : prefrl.mdp.envs.TokenTreeMDP
        With :math:`\gamma = 1`.
    base_policy : array, shape (S, A)
        :math:`\pi_0`.
    beta : float > 0
        The KL weight.

    Returns
    -------
    VASComparison

    Examples
    --------
    >>> from prefrl.mdp.envs import token_tree
    >>> tree = token_tree(2, 2, sequence_rewards=[0.0, 0.0, 0.0, 1.0])
    >>> res = vas_vs_optimum(tree, np.full((7, 2), 0.5), beta=0.5)
    >>> round(res.value, 4), round(res.optimum_value, 4), round(res.gap, 4)
    (0.4686, 0.4772, 0.0086)
    """
    tree = _check_tree(tree)
    beta = check_positive(beta, "beta")
    pi0 = tree.check_policy(base_policy, "base_policy")
    vas = value_augmented_policy(tree, pi0, inverse_temperature=1.0 / beta)
    opt = tree.backward_induction(beta=beta, pi_ref=pi0)
    pv, po = _by_depth(tree, vas.policy), _by_depth(tree, opt.policy)
    R = _sequence_returns(tree)
    p0 = tree.sequence_probabilities(pi0)
    pv_seq, po_seq = tree.sequence_probabilities(pv), tree.sequence_probabilities(po)
    kv, ko = float(kl(pv_seq, p0)), float(kl(po_seq, p0))
    rv, ro = float(pv_seq @ R), float(po_seq @ R)
    cert = float(np.max(np.abs(po_seq - gibbs(p0, R, beta))))
    return VASComparison(
        policy=pv,
        optimum_policy=po,
        sequence_rewards=R,
        base_sequence_law=p0,
        sequence_law=pv_seq,
        optimum_sequence_law=po_seq,
        reward=rv,
        optimum_reward=ro,
        kl=kv,
        optimum_kl=ko,
        value=rv - beta * kv,
        optimum_value=ro - beta * ko,
        gap=(ro - beta * ko) - (rv - beta * kv),
        certificate=cert,
    )
