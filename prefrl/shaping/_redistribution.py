r"""Reward redistribution over the tokens of a sequence (Chan et al. 2024).

Chan, Sun, Holt and van der Schaar (2024), "Dense Reward for Free in Reinforcement Learning from
Human Feedback", ICML, Sec. 4: the reward of a sequence is spread over its tokens with weights
that sum to one (the reward model's attention), mixed with the sparse reward at the last token
(:func:`redistribute`). Every undiscounted return, hence every policy's value, is unchanged;
with discounting it is not: the return equivalence holds at :math:`\gamma = 1` only. Nor is the
redistributed reward potential-based shaping of the prefix MDP, although the paper appeals to
it: :math:`r_t(y)` depends on :math:`r(y)`, hence on the tokens after :math:`t`, whereas a
potential-based term :math:`\gamma\Phi(y_{\le t}) - \Phi(y_{<t})` is a function of the prefix.
:func:`sequence_returns` gives the discounted return of each sequence and
:func:`sequence_value` the exact value of a token-level policy on a token tree (checked in
``proofs_check/shaping.py``; the exact form is ours).
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_in_range
from ._common import _check_gamma

__all__ = ["redistribute", "sequence_returns", "sequence_value"]


@renamed_parameters(beta="mixing")
def redistribute(sequence_rewards, weights, mixing: float = 1.0) -> np.ndarray:
    r"""Spread each sequence's reward over its tokens (attention-based credit).

    .. math::
        r_t(y) = \lambda\, w_t(y)\, r(y) + (1 - \lambda)\, r(y)\, \mathbb{1}[t = H - 1],
        \qquad \sum_{t=0}^{H-1} w_t(y) = 1,

    for a sequence :math:`y` of :math:`H` tokens with reward :math:`r(y)`. Chan, Sun, Holt and
    van der Schaar (2024), "Dense Reward for Free in RLHF", Sec. 4 (with :math:`w_t` the reward
    model's attention over the response and :math:`\lambda` = ``mixing`` the paper's
    :math:`\beta`; :math:`\lambda = 0` is the sparse reward of vanilla RLHF). Since
    :math:`\sum_t r_t(y) = r(y)` for every :math:`y` and :math:`\lambda`, every
    *undiscounted* return, hence every policy's value, is unchanged. This return equivalence
    holds at :math:`\gamma = 1` only: the discounted return
    :math:`\sum_t \gamma^t r_t(y) = r(y)\,(\lambda \sum_t \gamma^t w_t(y) + (1 - \lambda)
    \gamma^{H-1})` rescales each sequence's reward by a factor that depends on the sequence,
    so values, and even the best sequence, can change (see :func:`sequence_value`). The weights
    may depend on the whole sequence (future tokens included) and need not be nonnegative. For
    :math:`\lambda > 0` the result is not a Markov reward of the prefix :math:`y_{\le t}`
    (it depends on :math:`r(y)`), so it is not potential-based shaping
    :math:`\gamma\Phi(y_{\le t}) - \Phi(y_{<t})` of the prefix MDP and Ng, Harada and
    Russell's invariance theorem does not cover it; the invariance at :math:`\gamma = 1` rests
    on :math:`\sum_t w_t(y) = 1` alone.

    Parameters
    ----------
    sequence_rewards : array, shape (N,)
        :math:`r(y)` for :math:`N` sequences.
    weights : array, shape (N, H)
        :math:`w_t(y)`, each row summing to 1.
    mixing : float in [0, 1]
        :math:`\lambda`, the weight of the dense part (formerly ``beta``, which still works
        and warns: prefrl keeps ``beta`` for the KL weight).

    Returns
    -------
    array, shape (N, H)

    Examples
    --------
    >>> dense = redistribute([2.0], [[0.25, 0.25, 0.5]], mixing=0.5)
    >>> dense
    array([[0.25, 0.25, 1.5 ]])
    >>> sequence_returns(dense, 1.0), sequence_returns(dense, 0.5)   # sparse: 2.0 and 0.5
    (array([2.]), array([0.75]))
    """
    r = check_array(sequence_rewards, "sequence_rewards", ndim=1)
    w = check_array(weights, "weights", ndim=2)
    if w.shape[0] != r.shape[0]:
        raise ValueError(f"weights must have shape ({r.shape[0]}, H) (a row per entry of "
                         f"sequence_rewards), got {w.shape}")
    sums = w.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-8 * max(1.0, float(np.max(np.abs(w))) * w.shape[1])
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"weights[{i}, :] sums to {sums[i]:.6g}, must sum to 1")
    mixing = check_in_range(mixing, "mixing", 0.0, 1.0)
    out = mixing * w * r[:, None]
    out[:, -1] += (1.0 - mixing) * r
    return out


def sequence_returns(token_rewards, gamma: float) -> np.ndarray:
    r"""Discounted return of each sequence, :math:`G_\gamma(y) = \sum_{t=0}^{H-1} \gamma^t r_t(y)`.

    .. math::
        G_\gamma(y) = \sum_{t=0}^{H-1} \gamma^t\, r_t(y) .

    Parameters
    ----------
    token_rewards : array, shape (N, H)
    gamma : float in [0, 1]

    Returns
    -------
    array, shape (N,)

    Examples
    --------
    >>> sequence_returns([[1.0, 1.0, 1.0]], 0.5)
    array([1.75])
    """
    r = check_array(token_rewards, "token_rewards", ndim=2)
    gamma = _check_gamma(gamma)
    return r @ (gamma ** np.arange(r.shape[1]))


def sequence_value(tree, policy, token_rewards, gamma: float) -> float:
    r"""Exact value of a token-level policy on a token tree under per-sequence token rewards.

    .. math::
        J(\pi) = \sum_{y \in \mathcal{V}^H} \pi(y)\, G_\gamma(y), \qquad
        \pi(y) = \prod_{t=0}^{H-1} \pi(y_t \mid y_{<t}),

    summing over the :math:`V^H` complete sequences of the tree (lexicographic order, as
    :meth:`~prefrl.mdp.envs.TokenTreeMDP.leaves`). Exact even when :math:`r_t(y)` depends on
    future tokens (then it is no Markov reward of the prefix tree). For the sparse reward
    (:math:`r_{H-1}(y) = r(y)`) and :math:`\gamma = 1` this is the tree's
    :meth:`~prefrl.mdp.TabularMDP.evaluate`. Used to check Chan et al. (2024), Sec. 4: the
    redistributed reward leaves every :math:`J(\pi)` unchanged when :math:`\gamma = 1`.

    Parameters
    ----------
    tree : TokenTreeMDP
        From :func:`prefrl.mdp.envs.token_tree`.
    policy : array, shape (S, V)
    token_rewards : array, shape (V**H, H)
    gamma : float in [0, 1]

    Returns
    -------
    float

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> tree = envs.token_tree(2, 2, sequence_rewards=[0.0, 1.0, 2.0, 3.0])
    >>> pi = np.full((tree.n_states, 2), 0.5)
    >>> dense = redistribute([0.0, 1.0, 2.0, 3.0], np.full((4, 2), 0.5))
    >>> sequence_value(tree, pi, dense, 1.0), tree.evaluate(pi).expected_return
    (1.5, 1.5)
    """
    if not hasattr(tree, "sequence_probabilities"):
        raise TypeError("tree must be a TokenTreeMDP (see prefrl.mdp.envs.token_tree)")
    r = check_array(token_rewards, "token_rewards",
                    shape=(tree.vocab_size**tree.depth, tree.depth))
    return float(tree.sequence_probabilities(policy) @ sequence_returns(r, gamma))

