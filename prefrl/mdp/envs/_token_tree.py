r"""The token-tree MDP: states are token prefixes, actions are tokens (the sequence-level bandit
of RLHF written as a deterministic finite-horizon MDP).

- :class:`TokenTreeMDP`: a :class:`~prefrl.mdp.TabularMDP` with the prefix helpers
  (:meth:`~TokenTreeMDP.state_of`, :meth:`~TokenTreeMDP.states_at_depth`,
  :meth:`~TokenTreeMDP.leaves`, :meth:`~TokenTreeMDP.sequence_probabilities`);
- :func:`token_tree`: its constructor, with sequence-level and per-token rewards, so that
  :math:`J(\pi) = \sum_y \pi(y)\, r(y)` with :math:`\pi(y) = \prod_t \pi(y_t | y_{<t})`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..._validation import check_array, check_integer
from .._tabular import TabularMDP

__all__ = ["TokenTreeMDP", "token_tree"]


class TokenTreeMDP(TabularMDP):
    """A :class:`TabularMDP` whose states are token prefixes (see :func:`token_tree`)."""

    def __init__(self, *args, vocab_size, depth, **kw):
        super().__init__(*args, **kw)
        self.vocab_size = vocab_size
        self.depth = depth

    def _offset(self, h):
        V = self.vocab_size
        return h if V == 1 else (V**h - 1) // (V - 1)

    def states_at_depth(self, h: int) -> np.ndarray:
        """State indices of the prefixes of length ``h``, in lexicographic order, shape (V**h,).

        The states are numbered breadth first: the root is 0, then the prefixes of length 1, ...

        Examples
        --------
        >>> token_tree(2, 2).states_at_depth(1)
        array([1, 2])
        """
        h = check_integer(h, "h", minimum=0)
        if h > self.depth:
            raise ValueError(f"h must be <= depth = {self.depth}, got {h}")
        return self._offset(h) + np.arange(self.vocab_size**h)

    def state_of(self, prefix) -> int:
        """State index of a prefix (a sequence of tokens, length <= depth)."""
        prefix = [int(t) for t in prefix]
        if len(prefix) > self.depth or any(t < 0 or t >= self.vocab_size for t in prefix):
            raise ValueError(f"prefix {prefix} is not a prefix of this tree")
        code = 0
        for t in prefix:
            code = code * self.vocab_size + t
        return self._offset(len(prefix)) + code

    def leaves(self) -> np.ndarray:
        """State indices of the complete sequences, in lexicographic order, shape (V**H,)."""
        return self._offset(self.depth) + np.arange(self.vocab_size**self.depth)

    def sequence_probabilities(self, policy) -> np.ndarray:
        r"""Probability of each complete sequence, :math:`\prod_t \pi(y_t | y_{<t})`, shape (V**H,).

        Examples
        --------
        >>> tree = token_tree(2, 2)
        >>> tree.sequence_probabilities(np.full((tree.n_states, 2), 0.5))
        array([0.25, 0.25, 0.25, 0.25])
        """
        pi = self.check_policy(policy)
        V = self.vocab_size
        prob = np.ones(1)
        for h in range(self.depth):
            states = self._offset(h) + np.arange(V**h)
            prob = (prob[:, None] * pi[states]).ravel()
        return prob


def token_tree(vocab_size: int, depth: int, sequence_rewards=None, token_rewards=None,
               gamma: float = 1.0) -> TokenTreeMDP:
    r"""The deterministic token-tree MDP: states are prefixes, actions are tokens.

    A state is a prefix :math:`y_{<t}` of length :math:`t \le H`; action :math:`y_t` moves to
    :math:`y_{\le t}`; the horizon is :math:`H` (``depth``). With ``sequence_rewards``
    :math:`r(y)` the reward is paid on the last token, so that
    :math:`J(\pi) = \sum_y \pi(y)\, r(y)` with :math:`\pi(y) = \prod_t \pi(y_t | y_{<t})` (the
    sequence-level bandit of RLHF); ``token_rewards`` (S, A) adds per-token rewards. Complete
    sequences (depth :math:`H`) are absorbing. There are :math:`\sum_{h=0}^{H} V^h` states;
    the root is state 0 and :math:`\mu_0` is a point mass on it.

    .. math::
        P[y_{<t}, v, y_{<t} v] = 1, \qquad R[y_{<H}, v] = r(y_{<H} v) .

    Parameters
    ----------
    vocab_size : int >= 1
        :math:`V`.
    depth : int >= 1
        :math:`H`.
    sequence_rewards : array, shape (V**H,), optional
        :math:`r(y)` for complete sequences in lexicographic order (zeros by default).
    token_rewards : array, shape (S, A), optional
    gamma : float
        1 by default (the sequence-level identity holds for gamma = 1).

    Returns
    -------
    TokenTreeMDP

    Examples
    --------
    >>> tree = token_tree(2, 2, sequence_rewards=[0.0, 1.0, 2.0, 3.0])
    >>> tree.n_states, tree.backward_induction().expected_return
    (7, 3.0)
    """
    V = check_integer(vocab_size, "vocab_size", minimum=1)
    H = check_integer(depth, "depth", minimum=1)
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)
    if S > 2_000_000:
        raise ValueError(f"a token tree with vocab_size={V}, depth={H} has {S} states; too many")
    parents = np.arange(S - V**H)  # every non-leaf state
    rows, cols = [], []
    # Children of the k-th state overall: BFS numbering gives child = k * V + 1 + v.
    for v in range(V):
        rows.append(parents * V + v)
        cols.append(parents * V + 1 + v)
    leaves = np.arange(S - V**H, S)
    for v in range(V):
        rows.append(leaves * V + v)
        cols.append(leaves)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    Pm = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(S * V, S))
    r = np.zeros((S, V))
    if sequence_rewards is not None:
        seq = check_array(sequence_rewards, "sequence_rewards", shape=(V**H,))
        last = np.arange(S - V**H - V ** (H - 1), S - V**H)  # depth H - 1 states
        r[last] += seq.reshape(V ** (H - 1), V)
    if token_rewards is not None:
        r += check_array(token_rewards, "token_rewards", shape=(S, V))
    mu = np.zeros(S)
    mu[0] = 1.0
    P = Pm if S * V * S > 5e6 else Pm.toarray().reshape(S, V, S)
    return TokenTreeMDP(P, r, gamma, mu, H, vocab_size=V, depth=H)

