r"""The token-level view of DPO on a token tree: soft Bellman credit, telescoping, DPO recovers Q*.

Rafailov, Hejna, Park and Finn (2024), "From r to Q*: Your Language Model is Secretly a
Q-Function" (arXiv 2404.12358), view generation as a deterministic MDP (state = prefix, action =
token; :func:`prefrl.mdp.envs.token_tree`) with a KL-regularised objective. Soft backward induction
gives :math:`Q^*(s, a) = r(s, a) + V^*(s')` and :math:`V^*(s) = \beta\log\sum_a
\pi_{ref}(a|s)e^{Q^*(s,a)/\beta}`, and the optimal policy satisfies, at every node,

.. math::
    \beta\log\frac{\pi^*(a|s)}{\pi_{ref}(a|s)} = r(s, a) + V^*(s') - V^*(s),

which telescopes along a sequence to :math:`R(y) - V^*(\mathrm{root})`: the sequence-level
implicit reward of DPO. Hence the token-level soft optimum is the sequence-level Gibbs tilt
:math:`\pi_{ref}(y)e^{R(y)/\beta}/Z` with :math:`V^*(\mathrm{root}) = \beta\log Z`, DPO trained on
whole sequences recovers the token-level policy, and the mean implicit reward under
:math:`\pi_{ref}` is :math:`-\beta\,\mathrm{KL}(\pi_{ref}\,\|\,\pi^*) \le 0` (at every node and for
sequences). Our exact tabular reading of the paper's Sec. 4; the tree instances are ours.

* :func:`token_tree_credit` (:class:`TokenCredit`): the per-token credit on every edge, the
  per-sequence credits and the residuals of each identity above;
* :func:`sequence_dpo_token_policy` (:class:`SequenceDPOTokenPolicy`): population DPO on whole
  sequences, read back as token-level conditionals, with the error bound its solver certifies;
* :func:`random_token_tree_instance`: a random tree (vocabulary, depth, rewards with ties and
  zeros, a non-uniform reference, beta), shared by the theorem check and the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_rng, check_array, check_positive, check_stochastic_matrix
from .bandits import dpo_population_optimum
from .mdp.envs import token_tree
from .results import Result

__all__ = [
    "SequenceDPOTokenPolicy",
    "TokenCredit",
    "random_token_tree_instance",
    "sequence_dpo_token_policy",
    "token_tree_credit",
]


@dataclass(frozen=True, eq=False)
class TokenCredit(Result):
    """The soft-optimal policy of a token tree and its token-level credit (see :func:`token_tree_credit`).

    ``S`` is the number of states (prefixes), ``V`` the vocabulary size, ``H`` the depth,
    ``n_inner = S - V**H`` the number of non-leaf states and ``n_seq = V**H``.

    Attributes
    ----------
    policy : array, shape (n_inner, V)
        :math:`\\pi^*(a|s)` at every non-leaf state ``inner_states[i]`` (row ``i``).
    values : array, shape (S,)
        :math:`V^*(s)` at the time the state is visited (0 at the leaves).
    value : float
        :math:`V^*(\\mathrm{root}) = \\beta\\log\\sum_y \\pi_{ref}(y)e^{R(y)/\\beta}`.
    edge_credit : array, shape (n_inner, V)
        :math:`\\beta\\log(\\pi^*(a|s)/\\pi_{ref}(a|s))` on every edge.
    token_credit : array, shape (n_seq, H)
        The credits of the tokens of every sequence (rows in lexicographic order).
    sequences : int array, shape (n_seq, H)
        The sequences, in lexicographic order.
    sequence_rewards : array, shape (n_seq,)
        :math:`R(y)`.
    inner_states : int array, shape (n_inner,)
        The non-leaf states (rows of ``policy`` and ``edge_credit``).
    depth_of : int array, shape (S,)
        The depth (prefix length) of every state.
    soft_bellman_error : float
        :math:`\\max |\\beta\\log(\\pi^*/\\pi_{ref}) - (r + V^*(s') - V^*(s))|` over the edges.
    telescope_error : float
        :math:`\\max_y |\\sum_t \\mathrm{credit}_t(y) - (R(y) - V^*(\\mathrm{root}))|`.
    closed_form_error : float
        Largest deviation of :math:`\\prod_t\\pi^*(y_t|y_{<t})` from
        :math:`\\pi_{ref}(y)e^{R(y)/\\beta}/Z`, and of :math:`V^*(\\mathrm{root})` from
        :math:`\\beta\\log Z`.
    mean_identity_error : float
        Largest deviation of the mean credit under :math:`\\pi_{ref}` from
        :math:`-\\beta\\,\\mathrm{KL}(\\pi_{ref}\\,\\|\\,\\pi^*)`, per node and for sequences.
    max_node_mean_implicit_reward : float
        :math:`\\max_s \\mathbb{E}_{a\\sim\\pi_{ref}(\\cdot|s)}\\beta\\log(\\pi^*/\\pi_{ref})(a|s)`
        (:math:`\\le 0`).
    sequence_mean_implicit_reward : float
        :math:`\\mathbb{E}_{y\\sim\\pi_{ref}}\\sum_t \\mathrm{credit}_t(y)` (:math:`\\le 0`).
    certificate : float
        (Property.) The largest of the four identity errors.
    """

    policy: np.ndarray
    values: np.ndarray
    value: float
    edge_credit: np.ndarray
    token_credit: np.ndarray
    sequences: np.ndarray
    sequence_rewards: np.ndarray
    inner_states: np.ndarray
    depth_of: np.ndarray
    soft_bellman_error: float
    telescope_error: float
    closed_form_error: float
    mean_identity_error: float
    max_node_mean_implicit_reward: float
    sequence_mean_implicit_reward: float

    @property
    def certificate(self) -> float:
        """The largest residual of the soft Bellman, telescoping, closed-form and mean identities."""
        return max(self.soft_bellman_error, self.telescope_error, self.closed_form_error,
                   self.mean_identity_error)


@dataclass(frozen=True, eq=False)
class SequenceDPOTokenPolicy(Result):
    """Sequence-level DPO read back as a token policy (see :func:`sequence_dpo_token_policy`).

    Attributes
    ----------
    policy : array, shape (n_inner, V)
        The conditionals :math:`\\hat\\pi(a|s)` of the DPO sequence policy at every non-leaf state
        (rows as :attr:`TokenCredit.inner_states`).
    sequence_policy : array, shape (n_seq,)
        The population DPO optimum over whole sequences (lexicographic order).
    reward : array, shape (n_seq,)
        Its implicit reward (the Bradley-Terry fit on sequences).
    certificate : float
        The sequence-level solver's certificate (max-norm of the Bradley-Terry gradient).
    tolerance : float
        The bound on :math:`\\max|\\hat\\pi(a|s) - \\pi^*(a|s)|` that ``certificate`` implies.
    """

    policy: np.ndarray
    sequence_policy: np.ndarray
    reward: np.ndarray
    certificate: float
    tolerance: float


def _check_tree_inputs(vocab_size, depth, sequence_rewards, pi_ref, beta):
    tree = token_tree(vocab_size, depth, sequence_rewards=sequence_rewards)
    V, H, S = tree.vocab_size, tree.depth, tree.n_states
    R = check_array(sequence_rewards, "sequence_rewards", shape=(V**H,))
    ref = check_stochastic_matrix(pi_ref, "pi_ref", shape=(S, V))
    if np.any(ref <= 0):
        s, a = (int(i) for i in np.argwhere(ref <= 0)[0])
        raise ValueError(f"pi_ref[{s}, {a}] = {ref[s, a]:.6g}: the token credit "
                         "beta log(pi*/pi_ref) needs pi_ref > 0")
    return tree, V, H, R, ref, check_positive(beta, "beta")


def _layout(tree, V: int, H: int):
    """Depth of every state, the inner states, and every sequence with the states it visits."""
    S = tree.n_states
    depth_of = np.zeros(S, dtype=int)
    for h in range(H + 1):
        depth_of[tree.states_at_depth(h)] = h
    inner = np.flatnonzero(depth_of < H)
    seqs = np.stack(np.unravel_index(np.arange(V**H), (V,) * H), axis=1)
    states = np.zeros((seqs.shape[0], H), dtype=int)
    for t in range(1, H):
        states[:, t] = states[:, t - 1] * V + 1 + seqs[:, t - 1]
    return depth_of, inner, seqs, states


def token_tree_credit(vocab_size: int, depth: int, sequence_rewards, pi_ref, beta) -> TokenCredit:
    r"""Soft-optimal token policy of a token tree, its per-token credit, and the identities of r -> Q*.

    On :func:`prefrl.mdp.envs.token_tree` with sequence reward :math:`R(y)` paid on the last
    token, soft backward induction (:meth:`prefrl.mdp.TabularMDP.backward_induction`) gives
    :math:`V^*` and :math:`\pi^*(a|s) = \pi_{ref}(a|s)e^{(Q^*(s,a) - V^*(s))/\beta}`, and the
    per-token credit

    .. math::
        \beta\log\frac{\pi^*(a|s)}{\pi_{ref}(a|s)} = r(s, a) + V^*(s') - V^*(s),\qquad
        \sum_{t=1}^H \beta\log\frac{\pi^*(y_t|y_{<t})}{\pi_{ref}(y_t|y_{<t})} =
        R(y) - V^*(\mathrm{root}),

    so that :math:`\pi^*(y) = \pi_{ref}(y)e^{R(y)/\beta}/Z`, :math:`V^*(\mathrm{root}) = \beta\log Z`
    and :math:`\mathbb{E}_{\pi_{ref}}[\text{credit}] = -\beta\,\mathrm{KL}(\pi_{ref}\,\|\,\pi^*)
    \le 0` at every node and for sequences (Rafailov, Hejna, Park, Finn 2024, "From r to Q*: Your
    Language Model is Secretly a Q-Function", Sec. 4). Every identity is evaluated and its
    largest residual returned (``certificate``; 0 up to rounding).

    Parameters
    ----------
    vocab_size : int >= 1
        :math:`V`.
    depth : int >= 1
        :math:`H`.
    sequence_rewards : array, shape (V**H,)
        :math:`R(y)` for the complete sequences in lexicographic order.
    pi_ref : array, shape (S, V)
        The token-level reference :math:`\pi_{ref}(a|s)` at every state (rows sum to one, entries
        positive), :math:`S = \sum_{h=0}^H V^h` states numbered breadth first
        (:meth:`prefrl.mdp.envs.TokenTreeMDP.states_at_depth`).
    beta : float > 0
        The KL weight.

    Returns
    -------
    TokenCredit

    Examples
    --------
    Two tokens, two steps, a uniform reference and reward 1 for the sequence "1 1": the credits of
    each sequence's tokens (rows "00", "01", "10", "11") add up to :math:`R(y) - V^*(root)`.

    >>> res = token_tree_credit(2, 2, [0.0, 0.0, 0.0, 1.0], np.full((7, 2), 0.5), beta=1.0)
    >>> res.token_credit.round(4)
    array([[-0.3574,  0.    ],
           [-0.3574,  0.    ],
           [ 0.2627, -0.6201],
           [ 0.2627,  0.3799]])
    >>> round(res.value, 4), bool(res.certificate < 1e-12)
    (0.3574, True)
    """
    tree, vocab, depth, R, reference, beta = _check_tree_inputs(vocab_size, depth,
                                                                sequence_rewards, pi_ref, beta)
    S = tree.n_states
    # positional (horizon, beta, pi_ref): the keyword of the reference is being renamed in mdp
    res = tree.backward_induction(None, beta, reference)
    depth_of, inner, seqs, states = _layout(tree, vocab, depth)
    child = inner[:, None] * vocab + 1 + np.arange(vocab)[None, :]
    V = res.values[depth_of, np.arange(S)]  # V*(s) at the time the state is visited
    V[depth_of == depth] = 0.0
    pi = res.policy[depth_of[inner], inner]  # (n_inner, vocab)
    credit = beta * (np.log(pi) - np.log(reference[inner]))
    bellman = tree.rewards[inner] + V[child] - V[inner][:, None]
    soft_bellman_err = float(np.max(np.abs(credit - bellman)))

    # Telescoping along every sequence, and the sequence-level closed form.
    row = {s: i for i, s in enumerate(inner)}
    idx = np.vectorize(row.get)(states)
    token_credit = credit[idx, seqs]  # (n_seq, depth)
    telescope_err = float(np.max(np.abs(token_credit.sum(axis=1) - (R - V[0]))))
    ref_seq = np.prod(reference[states, seqs], axis=1)
    pi_seq = np.prod(pi[idx, seqs], axis=1)
    log_closed = np.log(ref_seq) + R / beta
    closed = np.exp(log_closed - np.logaddexp.reduce(log_closed))
    closed_err = float(np.max(np.abs(pi_seq - closed)))
    value_err = abs(V[0] - beta * np.logaddexp.reduce(np.log(ref_seq) + R / beta))

    # Mean implicit reward under pi_ref: -beta KL(pi_ref || pi*) <= 0 per node and per sequence.
    node_means = np.sum(reference[inner] * credit, axis=1)
    node_kl = np.sum(reference[inner] * (np.log(reference[inner]) - np.log(pi)), axis=1)
    seq_mean = float(ref_seq @ token_credit.sum(axis=1))
    seq_kl = float(ref_seq @ (np.log(ref_seq) - np.log(pi_seq)))
    mean_err = float(max(np.max(np.abs(node_means + beta * node_kl)),
                         abs(seq_mean + beta * seq_kl)))
    return TokenCredit(
        policy=pi, values=V, value=float(V[0]), edge_credit=credit, token_credit=token_credit,
        sequences=seqs, sequence_rewards=R, inner_states=inner, depth_of=depth_of,
        soft_bellman_error=soft_bellman_err, telescope_error=telescope_err,
        closed_form_error=float(max(closed_err, value_err)), mean_identity_error=mean_err,
        max_node_mean_implicit_reward=float(np.max(node_means)),
        sequence_mean_implicit_reward=seq_mean,
    )


def sequence_dpo_token_policy(vocab_size: int, depth: int, sequence_rewards, pi_ref,
                              beta) -> SequenceDPOTokenPolicy:
    r"""Population DPO on whole sequences of a token tree, read back as token-level conditionals.

    The sequence-level DPO optimum (:func:`prefrl.bandits.dpo_population_optimum`, Bradley-Terry
    preferences :math:`P[y, y'] = \sigma(R(y) - R(y'))`, pairs and reference
    :math:`\pi_{ref}(y) = \prod_t \pi_{ref}(y_t|y_{<t})`) is a distribution
    :math:`\hat\pi(y)` over sequences; its conditionals

    .. math::
        \hat\pi(a|s) = \frac{\sum_{y \ni s a}\hat\pi(y)}{\sum_{y \ni s}\hat\pi(y)}

    equal the token-level soft optimum :math:`\pi^*(a|s)` of :func:`token_tree_credit`: DPO trained
    on sequences learns the optimal :math:`Q^*` (Rafailov, Hejna, Park, Finn 2024, "From r to Q*",
    Sec. 4). ``tolerance`` is what the solver's certificate guarantees: the Bradley-Terry objective
    is strongly convex on the sum-zero subspace with modulus :math:`\lambda_2` (the second
    eigenvalue of its Hessian, a weighted Laplacian), so
    :math:`\|\hat r - r\|_\infty \le \sqrt{n}\,\|\nabla\|_\infty/\lambda_2` and the conditionals are
    off by at most :math:`e^{4\|\hat r - r\|_\infty/\beta} - 1` (plus 1e-10).

    Parameters
    ----------
    vocab_size, depth, sequence_rewards, pi_ref, beta
        As in :func:`token_tree_credit`.

    Returns
    -------
    SequenceDPOTokenPolicy

    Examples
    --------
    >>> ref = np.full((7, 2), 0.5)
    >>> dpo = sequence_dpo_token_policy(2, 2, [0.0, 0.0, 0.0, 1.0], ref, beta=1.0)
    >>> exact = token_tree_credit(2, 2, [0.0, 0.0, 0.0, 1.0], ref, beta=1.0)
    >>> bool(np.max(np.abs(dpo.policy - exact.policy)) <= dpo.tolerance)
    True
    """
    tree, vocab, depth, R, reference, beta = _check_tree_inputs(vocab_size, depth,
                                                                sequence_rewards, pi_ref, beta)
    _, inner, seqs, states = _layout(tree, vocab, depth)
    ref_seq = np.prod(reference[states, seqs], axis=1)
    P = 1.0 / (1.0 + np.exp(-(R[:, None] - R[None, :])))
    fit = dpo_population_optimum(P, ref_seq, ref_seq, beta)
    dpo = fit.policy
    Wt = np.outer(ref_seq, ref_seq) * P
    D = fit.reward[:, None] - fit.reward[None, :]
    C = (Wt + Wt.T) / (2.0 + 2.0 * np.cosh(D))
    lam2 = np.sort(np.linalg.eigvalsh(np.diag(C.sum(axis=1)) - C))[1] if R.size > 1 else np.inf
    dr = np.sqrt(R.size) * fit.certificate / lam2
    tolerance = 1e-10 + float(np.expm1(min(4.0 * dr / beta, 50.0)))
    mass = np.zeros((tree.n_states, vocab))
    for t in range(depth):
        np.add.at(mass, (states[:, t], seqs[:, t]), dpo)
    cond = mass[inner] / mass[inner].sum(axis=1, keepdims=True)
    return SequenceDPOTokenPolicy(policy=cond, sequence_policy=dpo, reward=fit.reward,
                                  certificate=float(fit.certificate), tolerance=tolerance)


def random_token_tree_instance(rng) -> dict:
    """A random token tree: vocabulary 1-3, depth 1-3, rewards (Gaussian, 0/1 ties, or all zero),
    a random reference floored at 1e-4, and beta log-uniform in [0.1, 10].

    Parameters
    ----------
    rng : int or numpy.random.Generator
        Required (the instance is random).

    Returns
    -------
    dict
        The keyword arguments of :func:`token_tree_credit` and :func:`sequence_dpo_token_policy`:
        ``vocab_size``, ``depth``, ``sequence_rewards`` (shape ``(V**H,)``), ``pi_ref`` (shape
        ``(S, V)``) and ``beta``.

    Examples
    --------
    >>> inst = random_token_tree_instance(0)
    >>> bool(token_tree_credit(**inst).certificate < 1e-10)
    True
    """
    rng = as_rng(rng)
    V = int(rng.integers(1, 4))
    H = int(rng.integers(1, 4))
    S = (H + 1) if V == 1 else (V ** (H + 1) - 1) // (V - 1)
    kind = rng.integers(3)
    R = (rng.normal(size=V**H) * 2 if kind == 0 else
         rng.integers(0, 2, size=V**H).astype(float) if kind == 1 else np.zeros(V**H))
    ref = rng.dirichlet(np.ones(V) * float(rng.choice([0.3, 1.0, 5.0])), size=S)
    ref = np.maximum(ref, 1e-4)
    ref /= ref.sum(axis=1, keepdims=True)
    return {"vocab_size": V, "depth": H, "sequence_rewards": R, "pi_ref": ref,
            "beta": float(10 ** rng.uniform(-1, 1))}
