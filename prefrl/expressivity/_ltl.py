r"""The LTL formalism: transition labels, product chains, exact satisfaction probabilities.

Part of :mod:`prefrl.expressivity`. The LTL formalism (3) of Subramani et al. (ICLR 2024):
:math:`J(\pi) = \Pr_\pi(\xi \models \varphi)` (our reading of the paper's definition). Computed exactly (ours, textbook model checking: Baier and Katoen 2008,
Sec. 10.3) through a deterministic automaton (:mod:`._automata`) and the bottom strongly connected
components of the product chain.

- :func:`transition_labels`: letters of the transitions from atomic propositions;
- :func:`satisfaction_probability` (a :class:`SatisfactionResult`): the exact probability;
- :class:`LTLObjective`: the objective :math:`J(\pi) = \Pr_\pi(\xi \models \varphi)`.

The product-chain helpers (``_product_chain``, ``_accepting_bsccs``, ``_qualitative_sets``) are
shared with the exact rational forms of :mod:`._rational`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.sparse.csgraph import connected_components

from .._deprecation import renamed_parameters
from .._validation import frozen_copy
from ..mdp.envs import one_state_env, stay_go_env  # noqa: F401  (used by the doctests)
from ..results import Result
from ._automata import DeterministicAutomaton, Formula, eventually, prop, to_automaton  # noqa: F401
from ._objectives import _check_mdp, _Objective

__all__ = [
    "LTLObjective",
    "SatisfactionResult",
    "satisfaction_probability",
    "transition_labels",
]


@renamed_parameters(env="mdp")
def transition_labels(mdp, propositions) -> np.ndarray:
    r"""Letters of the environment's transitions from atomic propositions.

    .. math::
        \sigma(s, a, s') = \sum_{i < k} 2^i\, \mathbb 1[p_i \text{ holds on } (s, a, s')],

    so a letter is the bitmask of the propositions true on a transition. A state proposition
    (shape (k, S)) holds on every transition that *leaves* a state where it is true, so the
    letter read at time :math:`t` describes :math:`s_t`.

    Parameters
    ----------
    mdp : TabularMDP
        The environment (``env`` is deprecated).
    propositions : bool array, shape (k, S) or (k, S, A, S)

    Returns
    -------
    int array, shape (S, A, S), entries in [0, 2^k)

    Examples
    --------
    >>> transition_labels(stay_go_env(), [[False, True]])[:, 0, 0].tolist()
    [0, 1]
    """
    mdp = _check_mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    props = np.asarray(propositions)
    if props.ndim == 1:
        props = props[None]
    if props.dtype != bool:
        if not np.all(np.isin(props, (0, 1))):
            raise ValueError("propositions must be boolean (or 0/1)")
        props = props.astype(bool)
    if props.ndim == 2 and props.shape[1] == S:
        props = np.broadcast_to(props[:, :, None, None], (props.shape[0], S, A, S))
    if props.ndim != 4 or props.shape[1:] != (S, A, S):
        raise ValueError(f"propositions must have shape (k, {S}) or (k, {S}, {A}, {S}), "
                         f"got {np.shape(propositions)}")
    if props.shape[0] > 16:
        raise ValueError("propositions: at most 16 atomic propositions")
    weights = (1 << np.arange(props.shape[0]))[:, None, None, None]
    return (props * weights).sum(axis=0).astype(np.int64)


# ---------------------------------------------------------------------------- product chains
def _backward_closure(G: np.ndarray, target: np.ndarray) -> np.ndarray:
    """States of the support graph G (bool (n, n)) with a path to a state of ``target``."""
    can = target.copy()
    while True:
        new = can | G[:, can].any(axis=1)
        if np.array_equal(new, can):
            return can
        can = new


def _product_chain(mdp, pi, delta, labelling, start):
    """Chain on the product states (s, q) reachable from mu0 x {start}.

    Returns (M, states, init): the transition matrix (n, n), the (s, q) pairs (n, 2), and the
    initial distribution over them (n,). Only reachable pairs are built, so products of
    automata stay small.
    """
    P = mdp.dense_transitions()
    W = pi[:, :, None] * P
    out = [[(int(t), int(labelling[s, a, t]), float(W[s, a, t]))
            for a, t in zip(*np.nonzero(W[s] > 0))] for s in range(mdp.n_states)]
    index: dict = {}
    states = []
    for s in np.flatnonzero(mdp.initial > 0):
        index[(int(s), start)] = len(states)
        states.append((int(s), start))
    rows, cols, vals = [], [], []
    i = 0
    while i < len(states):
        s, q = states[i]
        for t, letter, w in out[s]:
            key = (t, int(delta[q, letter]))
            j = index.get(key)
            if j is None:
                j = index[key] = len(states)
                states.append(key)
            rows.append(i)
            cols.append(j)
            vals.append(w)
        i += 1
    n = len(states)
    M = np.zeros((n, n))
    np.add.at(M, (np.array(rows, dtype=int), np.array(cols, dtype=int)), np.array(vals))
    st = np.array(states, dtype=int).reshape(-1, 2)
    init = np.zeros(n)
    init[: int(np.count_nonzero(mdp.initial > 0))] = mdp.initial[mdp.initial > 0]
    return M, st, init


def _accepting_bsccs(G: np.ndarray, states: np.ndarray, automaton) -> tuple:
    """Product states in accepting bottom SCCs of the support graph G, and the BSCC counts.

    A component is bottom iff no edge leaves it; it accepts iff the automaton states it contains
    (its Inf set) satisfy the acceptance condition. Returns (accepting bool (n,), n_bsccs,
    n_accepting).
    """
    n, lab = connected_components(G, directed=True, connection="strong")
    r, c = np.nonzero(G)
    leaves = np.zeros(n, dtype=bool)
    leaves[lab[r[lab[r] != lab[c]]]] = True
    acc = np.zeros(len(states), dtype=bool)
    n_b = n_a = 0
    for comp in np.flatnonzero(~leaves):
        idx = np.flatnonzero(lab == comp)
        n_b += 1
        inf_mask = np.zeros(automaton.n_states, dtype=bool)
        inf_mask[states[idx, 1]] = True
        if automaton.accepts_inf(inf_mask):
            n_a += 1
            acc[idx] = True
    return acc, n_b, n_a


def _qualitative_sets(G: np.ndarray, acc: np.ndarray) -> tuple:
    """Prob1 states O (cannot reach a state that cannot reach A) and the rest T to solve for.

    Graph precomputations, exact whatever the size of the positive probabilities: the states
    that cannot reach A have probability 0, those that cannot reach them probability 1.
    Returns (sure bool (n,), T int array).
    """
    can = _backward_closure(G, acc)
    sure = ~_backward_closure(G, ~can)
    return sure, np.flatnonzero(can & ~sure)


# ---------------------------------------------------------------------------- satisfaction
@dataclass(frozen=True, eq=False)
class SatisfactionResult(Result):
    r"""Exact probability that the environment's run under a policy is accepted by an automaton.

    Attributes
    ----------
    probability : float
        :math:`\Pr_{\mu_0,\pi}(\xi \models \varphi)`.
    product_states : int array, shape (n, 2)
        The product states :math:`(s, q)` reachable from :math:`\mu_0 \times \{q_0\}` (only
        these are built).
    accepting : bool array, shape (n,)
        Whether each lies in an accepting bottom strongly connected component.
    reach : array, shape (n,)
        Probability of reaching an accepting BSCC from each.
    n_bsccs, n_accepting : int
        Bottom SCCs of the product chain, and how many of them accept.
    certificate : float
        :math:`\|(I - P_{TT})x_T - P_{TO}\mathbf 1\|_\infty` of the linear solve (``residual`` is
        its deprecated name).

    Examples
    --------
    >>> res = satisfaction_probability(stay_go_env(), [[0.5, 0.5], [1, 0]], eventually(prop(0)),
    ...                                [[False, True]])
    >>> res.probability, res.n_bsccs, res.n_accepting, res.product_states.tolist()
    (1.0, 1, 1, [[0, 0], [1, 0], [1, 1]])
    """

    probability: float
    product_states: np.ndarray
    accepting: np.ndarray
    reach: np.ndarray
    n_bsccs: int
    n_accepting: int
    certificate: float
    _renamed: ClassVar[dict[str, str]] = {"residual": "certificate"}


def _n_props(propositions) -> int:
    return int(np.shape(propositions)[0]) if np.ndim(propositions) > 1 else 1


def _as_automaton(spec, n_props):
    if isinstance(spec, DeterministicAutomaton):
        if spec.n_letters != 2**n_props:
            raise ValueError(f"automaton reads {spec.n_letters} letters, expected 2^{n_props}")
        return spec
    if isinstance(spec, Formula):
        return to_automaton(spec, n_props)
    raise TypeError(f"formula must be an LTL Formula or a DeterministicAutomaton, "
                    f"got {type(spec).__name__}")


@renamed_parameters(env="mdp")
def satisfaction_probability(mdp, policy, formula, propositions) -> SatisfactionResult:
    r"""Exact :math:`\Pr_\pi(\xi \models \varphi)` for a stationary policy, through the product chain.

    The formula is turned into a deterministic automaton :math:`(Q, \delta, q_0, \mathrm{Acc})`
    over letters :math:`\sigma_t = L(s_t, a_t, s_{t+1})` (:func:`transition_labels`). On the
    product chain :math:`(s_t, q_t)`,
    :math:`P^\times[(s,q),(s',q')] = \sum_a \pi(a|s) P[s,a,s']\,\mathbb 1[q'=\delta(q, L(s,a,s'))]`,
    a run almost surely ends in a bottom strongly connected component (BSCC) :math:`C` and
    visits all its states infinitely often, so it is accepted iff the automaton states of
    :math:`C` satisfy :math:`\mathrm{Acc}` (Emerson-Lei: Büchi, co-Büchi, Rabin, Streett).
    With :math:`A` the union of accepting BSCCs,

    .. math::
        \Pr(\xi \models \varphi) = \sum_s \mu_0(s)\, x(s, q_0), \qquad
        x = 0 \text{ on } Z,\quad x = 1 \text{ on } O,\quad
        (I - P^\times_{TT}) x_T = P^\times_{TO} \mathbf 1,

    where :math:`Z` (the states that cannot reach :math:`A`) and :math:`O \supseteq A` (the states
    that cannot reach :math:`Z`) are found on the support graph, and :math:`T` is the rest
    (nonsingular: every state of :math:`T` reaches :math:`A`). A chain whose transient states leak
    only with probabilities below rounding raises ValueError rather than return an unreliable
    number.
    BSCCs by :func:`scipy.sparse.csgraph.connected_components`; Baier and Katoen (2008),
    *Principles of Model Checking*, Sec. 10.3. The LTL formalism (3) of Subramani et al. (2024).

    Parameters
    ----------
    mdp : TabularMDP
        The environment (``env`` is deprecated).
    policy : array, shape (S, A), or int array (S,)
    formula : Formula (the fragment of :func:`~prefrl.expressivity.eventually`,
        :func:`~prefrl.expressivity.always`, :func:`~prefrl.expressivity.until`,
        :func:`~prefrl.expressivity.always_eventually`,
        :func:`~prefrl.expressivity.eventually_always`, :func:`~prefrl.expressivity.next_`,
        ``& | ~``) or a :class:`~prefrl.expressivity.DeterministicAutomaton` over :math:`2^k`
        letters
    propositions : bool array, shape (k, S) or (k, S, A, S)

    Returns
    -------
    SatisfactionResult

    Examples
    --------
    >>> mdp, goal = stay_go_env(), [[False, True]]
    >>> round(satisfaction_probability(mdp, [[0.9, 0.1], [1, 0]], eventually(prop(0)), goal)
    ...       .probability, 12)
    1.0
    >>> satisfaction_probability(mdp, [[1.0, 0.0], [1, 0]], eventually(prop(0)), goal).probability
    0.0
    """
    mdp = _check_mdp(mdp)
    pi = mdp.check_policy(policy)
    letters = transition_labels(mdp, propositions)
    aut = _as_automaton(formula, _n_props(propositions))
    M, states, init = _product_chain(mdp, pi, aut.delta, letters, aut.start)
    G = M > 0
    acc, n_b, n_a = _accepting_bsccs(G, states, aut)
    sure, T = _qualitative_sets(G, acc)
    x = sure.astype(float)
    resid = 0.0
    if T.size:
        B = M[np.ix_(T, np.flatnonzero(sure))].sum(axis=1)
        A = -M[np.ix_(T, T)]
        # 1 - P[s, s] formed as the sum of the row's other entries keeps its relative accuracy.
        A[np.diag_indices(T.size)] = np.array([np.delete(M[i], i).sum() for i in T])
        try:
            xT = np.linalg.solve(A, B)
            resid = float(np.max(np.abs(A @ xT - B)))
        except np.linalg.LinAlgError:
            xT, resid = np.full(T.size, np.nan), np.inf
        if not (np.all(np.isfinite(xT)) and resid <= 1e-9
                and np.all(xT > -1e-9) and np.all(xT < 1 + 1e-9)):
            raise ValueError("the product chain is numerically ill-conditioned (a transient "
                             "class leaks with a probability below rounding); the satisfaction "
                             "probability cannot be computed reliably")
        x[T] = np.clip(xT, 0.0, 1.0)
    p = float(np.clip(init @ x, 0.0, 1.0))
    return SatisfactionResult(probability=p, product_states=states, accepting=acc, reach=x,
                              n_bsccs=n_b, n_accepting=n_a, certificate=resid)


class LTLObjective(_Objective):
    r"""The LTL objective: the probability that the run satisfies a formula.

    .. math::
        J(\pi) = \Pr_{\mu_0, \pi}(\xi \models \varphi), \qquad
        \xi = (s_0, a_0, s_1, a_1, \dots),\quad \sigma_t = L(s_t, a_t, s_{t+1}),

    computed exactly by :func:`satisfaction_probability`. Supported fragment: boolean
    combinations (``&``, ``|``, ``~``) of :math:`X^k` of the fragment, :math:`\mathbf F b`,
    :math:`\mathbf G b`, :math:`b_1 \mathbf U b_2`, :math:`\mathbf{GF} b`, :math:`\mathbf{FG} b`
    with propositional :math:`b` (each has a deterministic automaton of at most three states;
    boolean combinations are products and complements with Emerson-Lei acceptance), or any
    deterministic automaton given directly. Formalism 3 (LTL) of Subramani et al. (2024) (our
    reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    formula : Formula or DeterministicAutomaton
    propositions : bool array, shape (k, S) or (k, S, A, S)

    Examples
    --------
    >>> acts = np.eye(3, dtype=bool)[:, None, :, None]        # p_i: "action i is taken"
    >>> J = LTLObjective(one_state_env(3), eventually(prop(0)) & eventually(prop(1)), acts)
    >>> J([[0.2, 0.3, 0.5]]), J([[0.5, 0.0, 0.5]])
    (1.0, 0.0)
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, formula, propositions):
        self.mdp = _check_mdp(mdp)
        self.propositions = frozen_copy(np.asarray(propositions))
        transition_labels(mdp, propositions)  # validates
        self.automaton = _as_automaton(formula, _n_props(propositions))
        self.formula = formula

    def values(self, policy) -> np.ndarray:
        res = satisfaction_probability(self.mdp, policy, self.automaton, self.propositions)
        return np.array([res.probability])
