r"""Exponential tilts used as decoding rules or reward shaping: VAS and PAR.

Papers
------
* Han, Shenfeld, Srivastava, Kim and Agrawal (2024), "Value Augmented Sampling for Language Model
  Alignment and Personalization", arXiv 2405.06639 (VAS): decode from
  :math:`\pi_0(a|s)\,e^{\lambda Q^{\pi_0}(s, a)}/Z` with :math:`\lambda` an inverse temperature
  (the paper writes :math:`V^{\pi_0}(s \cdot a)`, the value of the prefix with the token
  appended: the same quantity in an undiscounted token MDP whose reward is paid at the end of
  the sequence); one soft policy-improvement step, optimal for one-step bandits only. The
  policy-improvement theorem here is derived (Chebyshev's sum inequality and Puterman 1994,
  Sec. 6.4).
* Fu, Zhao, Yao, Wang, Han and Xiao (2025), "Reward Shaping to Mitigate Reward Hacking in RLHF",
  arXiv 2502.18770 (PAR): the shaped reward :math:`\frac1M\sum_m\sigma(r - r^{ref}_m)`.

Public functions and result
---------------------------
* :func:`value_augmented_policy` -> :class:`VASResult` -- one soft policy-improvement step of a
  base policy in a :class:`~prefrl.mdp.TabularMDP` (discounted or finite-horizon);
* :func:`preference_as_reward` -- the PAR shaping of rewards against reference responses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp

from .._deprecation import renamed_parameters
from .._validation import check_array, check_integer, check_nonnegative
from ..results import Result

__all__ = ["VASResult", "preference_as_reward", "value_augmented_policy"]


@dataclass(frozen=True, eq=False)
class VASResult(Result):
    r"""A value-augmented policy: one soft policy-improvement step (:func:`value_augmented_policy`).

    It improves on the base policy at every state, but it is the optimum of the KL-regularised
    objective only for a one-step bandit, not for the KL-regularised MDP in general.

    Attributes
    ----------
    policy : array, shape (S, A), or (H, S, A) with a finite horizon
        :math:`\pi(a|s) \propto \pi_0(a|s)\, e^{\lambda Q^{\pi_0}(s, a)}`, :math:`\lambda` the
        inverse temperature.
    base_q : array, same shape as ``policy``
        :math:`Q^{\pi_0}` (per time step with a horizon).
    values : array, shape (S,)
        :math:`V^{\pi}` of the new policy, unregularised (at time 0 with a horizon).
    base_values : array, shape (S,)
        :math:`V^{\pi_0}` (at time 0).
    improvement : float
        :math:`\min_{t, s} V^{\pi}_t(s) - V^{\pi_0}_t(s)`; :math:`\ge 0` by the theorem when
        ``top_k`` is None.
    certificate : float
        :math:`\min_{t, s} \big(\sum_a \pi(a|s) Q^{\pi_0}(s, a) - V^{\pi_0}(s)\big)`: nonnegative
        one-step improvement, which implies ``improvement >= 0`` (policy improvement lemma).
    """

    policy: np.ndarray
    base_q: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    improvement: float
    certificate: float


def _tilt(pi0: np.ndarray, q: np.ndarray, inverse_temperature: float,
          top_k: int | None) -> np.ndarray:
    """pi0 * exp(inverse_temperature q) / Z along the last axis, optionally on pi0's top_k actions.

    Not :func:`prefrl.policies.gibbs` (``pi_ref exp(f / beta)``): an inverse temperature
    multiplies (it may be 0), and the top-k truncation has no counterpart there.
    """
    with np.errstate(divide="ignore"):
        z = np.log(pi0) + inverse_temperature * q
    if top_k is not None and top_k < pi0.shape[-1]:
        order = np.argsort(-pi0, axis=-1, kind="stable")
        keep = np.zeros(pi0.shape, dtype=bool)
        np.put_along_axis(keep, order[..., :top_k], True, axis=-1)
        z = np.where(keep, z, -np.inf)
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


@renamed_parameters(beta="inverse_temperature")
def value_augmented_policy(mdp, base_policy, inverse_temperature, *,
                           top_k: int | None = None) -> VASResult:
    r"""Value Augmented Sampling: one soft improvement step, tilting a base policy by its Q-values.

    .. math::
        \pi(a \mid s) = \frac{\pi_0(a \mid s)\, e^{\lambda\, Q^{\pi_0}(s, a)}}
        {\sum_{a'} \pi_0(a' \mid s)\, e^{\lambda\, Q^{\pi_0}(s, a')}},

    where :math:`\pi_0` is the frozen base policy, :math:`Q^{\pi_0}` its exact (unregularised)
    action values in ``mdp`` (per time step :math:`Q_t^{\pi_0}` with a finite horizon) and
    :math:`\lambda \ge 0` (``inverse_temperature``) an **inverse** temperature, as in the paper:
    the KL weight ``beta`` of the rest of prefrl is :math:`1/\lambda`. With ``top_k``, only the
    :math:`k` most likely actions of :math:`\pi_0` are kept (ties by index). Han et al. (2024),
    "Value Augmented Sampling for Language Model Alignment and Personalization", arXiv
    2405.06639, the VAS decoding rule. The paper tilts by :math:`V^{\pi_0}(s \cdot a)`, the
    value under :math:`\pi_0` of the state :math:`s \cdot a` that appending token :math:`a` to the
    prefix :math:`s` leads to; here the tilt is :math:`Q^{\pi_0}(s, a) = r(s, a) + \gamma
    \mathbb{E}_{s' \sim P(\cdot|s, a)} V^{\pi_0}(s')`. When the transition is that append
    (:math:`s' = s \cdot a` with probability 1), :math:`Q^{\pi_0}(s, a) = r(s, a) + \gamma
    V^{\pi_0}(s \cdot a)`, which is :math:`V^{\pi_0}(s \cdot a)` exactly when :math:`\gamma = 1`
    and :math:`r(s, a) = 0`: the paper's setting, an undiscounted token MDP whose sequence reward
    is paid at the end (and counted in the value of the final prefix). With a reward per token
    or a discount the two differ by :math:`r(s, a) - (1 - \gamma) V^{\pi_0}(s \cdot a)`; where
    several actions lead to one state or transitions are random, :math:`s \cdot a` is not a state
    and only :math:`Q^{\pi_0}` is defined (the theorem below is about the :math:`Q^{\pi_0}` tilt).

    Theorem (derived): with ``top_k=None``, :math:`V^{\pi}_t(s) \ge V^{\pi_0}_t(s)` at every state
    and time. Tilting raises the mean:
    :math:`\mathbb{E}_\pi Q - \mathbb{E}_{\pi_0} Q = \mathrm{Cov}_{\pi_0}(Q, e^{\lambda Q}) /
    \mathbb{E}_{\pi_0} e^{\lambda Q} \ge 0` (Chebyshev's sum inequality), so
    :math:`\sum_a \pi(a|s) Q^{\pi_0}(s, a) \ge V^{\pi_0}(s)`, and the policy improvement lemma
    (Puterman 1994, Sec. 6.4; by backward induction with a horizon) gives the claim. It is one soft
    policy-improvement step, optimal for one-step bandits only: there it *is* the KL-regularised
    optimum :func:`kl_regularized_optimum` with KL weight :math:`\beta = 1/\lambda`, while in an
    MDP of more than one step the optimum of :math:`\mathbb{E}\sum_t \gamma^t \big(r(s_t, a_t) -
    \beta\,\mathrm{KL}(\pi(\cdot|s_t)\|\pi_0(\cdot|s_t))\big)` tilts :math:`\pi_0` by the soft
    action values of that optimum, not by :math:`Q^{\pi_0}`, and differs from this policy in
    general. Truncation to ``top_k`` can lose the guarantee (it may drop the best action).

    Parameters
    ----------
    mdp : prefrl.mdp.TabularMDP
        Discounted, or with a finite horizon.
    base_policy : array, shape (S, A), or (H, S, A) with a horizon
        :math:`\pi_0`.
    inverse_temperature : float >= 0
        :math:`\lambda` (0 returns :math:`\pi_0`). Formerly ``beta``, which still works and
        warns (``beta`` is the KL weight everywhere else in prefrl).
    top_k : int >= 1, optional
        Keep the :math:`k` most likely actions of :math:`\pi_0` in each state.

    Returns
    -------
    VASResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1   # action a moves to state a
    >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=0.5)
    >>> res = value_augmented_policy(mdp, np.full((2, 2), 0.5), inverse_temperature=2.0)
    >>> res.policy.round(4)[0], res.values.round(4), res.base_values.round(4)
    (array([0.1192, 0.8808]), array([1.7616, 1.7616]), array([1., 1.]))
    """
    lam = check_nonnegative(inverse_temperature, "inverse_temperature")
    if top_k is not None:
        top_k = check_integer(top_k, "top_k", minimum=1)
    H = mdp.horizon
    pi0 = mdp.check_policy(base_policy, "base_policy", time_dependent=H is not None)
    if H is None:
        ev0 = mdp.evaluate(pi0)
        Q0, V0 = ev0.q_values, ev0.values
        pi = _tilt(pi0, Q0, lam, top_k)
        V = mdp.evaluate(pi).values
        one_step = np.einsum("sa,sa->s", pi, Q0) - V0
        return VASResult(policy=pi, base_q=Q0, values=V, base_values=V0,
                         improvement=float(np.min(V - V0)), certificate=float(np.min(one_step)))
    pi0 = np.broadcast_to(pi0, (H, mdp.n_states, mdp.n_actions))
    Q0 = np.empty(pi0.shape)
    pi = np.empty(pi0.shape)
    V0_next = np.zeros(mdp.n_states)
    V_next = np.zeros(mdp.n_states)
    improvement, certificate = np.inf, np.inf
    for t in reversed(range(H)):
        Q0[t] = mdp.q_from_values(V0_next)
        V0_t = np.einsum("sa,sa->s", pi0[t], Q0[t])
        pi[t] = _tilt(pi0[t], Q0[t], lam, top_k)
        V_t = np.einsum("sa,sa->s", pi[t], mdp.q_from_values(V_next))
        certificate = min(certificate, float(np.min(np.einsum("sa,sa->s", pi[t], Q0[t]) - V0_t)))
        improvement = min(improvement, float(np.min(V_t - V0_t)))
        V0_next, V_next = V0_t, V_t
    return VASResult(policy=pi, base_q=Q0, values=V_next, base_values=V0_next,
                     improvement=improvement, certificate=certificate)


def preference_as_reward(r, r_ref) -> float | np.ndarray:
    r"""Preference As Reward (PAR): the sigmoid of the reward centred on reference samples.

    .. math::
        r_{RL}(x, y) = \frac1M \sum_{m=1}^{M} \sigma\big(r(x, y) - r(x, y^{ref}_m)\big),

    where :math:`r` is the proxy reward model, :math:`y^{ref}_1, \dots, y^{ref}_M` are responses of
    the reference (SFT) policy to the same prompt and :math:`\sigma` the logistic function: the
    estimated probability that :math:`y` beats a reference response. Fu et al. (2025), "Reward
    Shaping to Mitigate Reward Hacking in RLHF", arXiv 2502.18770 (the PAR shaping). Bounded in
    :math:`(0, 1)`, centred (:math:`1/2` when :math:`r` equals every reference reward), strictly
    increasing in :math:`r` and saturating; with rewards in :math:`(0, 1)` the discounted return
    :math:`G` has :math:`\mathrm{Var}[G] \le 1/(1-\gamma)^2` (indeed
    :math:`\le 1/(4(1-\gamma)^2)`, Popoviciu).

    Parameters
    ----------
    r : float or array, shape (n,)
        Rewards :math:`r(x_i, y_i)` of the responses being shaped.
    r_ref : array, shape (M,) or (n, M)
        Rewards of the :math:`M` reference responses: shared by every response, or one row per
        response (its prompt's references).

    Returns
    -------
    float, or array of shape (n,)

    Examples
    --------
    >>> preference_as_reward(0.0, [0.0, 0.0])
    0.5
    >>> preference_as_reward([1.0, -1.0], [[0.0], [0.0]]).round(4)
    array([0.7311, 0.2689])
    """
    x = check_array(r, "r", ndim=(0, 1))
    ref = check_array(r_ref, "r_ref", ndim=(1, 2))
    if ref.ndim == 2:
        if x.ndim != 1 or ref.shape[0] != x.size:
            raise ValueError(
                f"r_ref with shape {ref.shape} needs one row per reward: r must have shape "
                f"({ref.shape[0]},), got {x.shape}"
            )
        out = expit(x[:, None] - ref).mean(axis=-1)
    else:
        out = expit(x[..., None] - ref).mean(axis=-1)
    return float(out) if out.ndim == 0 else out
