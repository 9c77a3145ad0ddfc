r"""LTL formulas of a small fragment, and deterministic omega-automata over finite alphabets.

Part of :mod:`prefrl.expressivity` (the LTL formalism of Subramani et al., ICLR 2024). The
automata and the translation are ours, textbook constructions (Baier and Katoen 2008, *Principles
of Model Checking*, Ch. 4-5); there is no general LTL-to-automaton translation here.

- :class:`Formula` and its builders :func:`prop`, :func:`next_`, :func:`eventually`,
  :func:`always`, :func:`until`, :func:`always_eventually`, :func:`eventually_always` (and ``&``,
  ``|``, ``~``): the fragment of boolean combinations of :math:`X^k b`, :math:`\mathbf F b`,
  :math:`\mathbf G b`, :math:`b_1 \mathbf U b_2`, :math:`\mathbf{GF} b`, :math:`\mathbf{FG} b`
  with propositional :math:`b, b_1, b_2` (and :math:`X` applicable to any formula of it).
- :class:`DeterministicAutomaton`: a complete deterministic automaton whose acceptance is an
  Emerson-Lei formula over the set :math:`\mathrm{Inf}` of states visited infinitely often: atoms
  ``("inf", M)`` (:math:`\mathrm{Inf} \cap M \ne \emptyset`) and ``("fin", M)``
  (:math:`\mathrm{Inf} \cap M = \emptyset`) combined by ``"and"``/``"or"``. Büchi, co-Büchi,
  Rabin, Streett and Muller conditions are of this form, and the class is closed under product
  and complement, which is all the fragment needs.
- :func:`to_automaton`: each temporal atom has a two- or three-state automaton; boolean
  combinations are products and complements.
- :func:`holds_on_lasso`: the textbook semantics on a lasso word :math:`u\,c^\omega`, a slow
  independent reference for the automata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_integer

__all__ = [
    "DeterministicAutomaton",
    "Formula",
    "always",
    "always_eventually",
    "eventually",
    "eventually_always",
    "holds_on_lasso",
    "next_",
    "prop",
    "to_automaton",
    "until",
]

# ----------------------------------------------------------------------------- acceptance
TRUE = ("true",)
FALSE = ("false",)


def _eval_acc(acc, inf_mask: np.ndarray) -> bool:
    kind = acc[0]
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind == "inf":
        return bool(np.any(inf_mask & acc[1]))
    if kind == "fin":
        return not bool(np.any(inf_mask & acc[1]))
    if kind == "and":
        return _eval_acc(acc[1], inf_mask) and _eval_acc(acc[2], inf_mask)
    if kind == "or":
        return _eval_acc(acc[1], inf_mask) or _eval_acc(acc[2], inf_mask)
    raise ValueError(f"unknown acceptance atom {kind!r}")


def _negate_acc(acc):
    kind = acc[0]
    swap = {"true": FALSE, "false": TRUE}
    if kind in swap:
        return swap[kind]
    if kind == "inf":
        return ("fin", acc[1])
    if kind == "fin":
        return ("inf", acc[1])
    other = "or" if kind == "and" else "and"
    return (other, _negate_acc(acc[1]), _negate_acc(acc[2]))


def _lift_acc(acc, proj: np.ndarray, n_from: int):
    """Re-express a condition on factor states as one on product states (proj: product -> factor)."""
    kind = acc[0]
    if kind in ("true", "false"):
        return acc
    if kind in ("inf", "fin"):
        return (kind, acc[1][proj])
    return (kind, _lift_acc(acc[1], proj, n_from), _lift_acc(acc[2], proj, n_from))


@dataclass(frozen=True, eq=False)
class DeterministicAutomaton:
    r"""A complete deterministic automaton with an Emerson-Lei acceptance condition.

    A run :math:`q_0 q_1 \dots` on the word :math:`\sigma_0 \sigma_1 \dots` follows
    :math:`q_{t+1} = \delta(q_t, \sigma_t)`; it is accepted iff the acceptance formula holds of
    :math:`\mathrm{Inf}`, the set of states visited infinitely often. A definition (an input),
    not a result.

    Attributes
    ----------
    delta : int array, shape (Q, L)
        :math:`q_{t+1} = \delta(q_t, \sigma_t)` for the letter :math:`\sigma_t \in [0, L)`.
    start : int
        :math:`q_0`.
    acceptance : tuple
        Nested ``("inf", mask)``, ``("fin", mask)``, ``("and", a, b)``, ``("or", a, b)``,
        ``("true",)``, ``("false",)`` with boolean masks of shape (Q,).

    Examples
    --------
    >>> aut = DeterministicAutomaton(np.array([[0, 1], [1, 1]]), 0, ("inf", np.array([False, True])))
    >>> aut.n_states, aut.n_letters, aut.accepts_inf([False, True])   # "F letter 1" (Büchi)
    (2, 2, True)
    """

    delta: np.ndarray
    start: int
    acceptance: tuple

    def __post_init__(self):
        d = np.asarray(self.delta)
        if d.dtype.kind not in "iu" or d.ndim != 2 or d.size == 0:
            raise ValueError(f"delta must be a non-empty integer array of shape (Q, L), got "
                             f"{d.dtype} of shape {d.shape}")
        if d.min() < 0 or d.max() >= d.shape[0]:
            raise ValueError(f"delta must hold states in [0, {d.shape[0]})")
        if isinstance(self.start, bool) or not isinstance(self.start, (int, np.integer)) or not (
                0 <= self.start < d.shape[0]):
            raise ValueError(f"start must be a state in [0, {d.shape[0]}), got {self.start!r}")
        if not isinstance(self.acceptance, tuple) or not self.acceptance:
            raise TypeError("acceptance must be a tuple such as ('inf', mask)")
        out = np.array(d, dtype=np.int64, copy=True)
        out.flags.writeable = False
        object.__setattr__(self, "delta", out)
        object.__setattr__(self, "start", int(self.start))

    @property
    def n_states(self) -> int:
        """Number of automaton states Q."""
        return self.delta.shape[0]

    @property
    def n_letters(self) -> int:
        """Alphabet size L."""
        return self.delta.shape[1]

    def accepts_inf(self, inf_mask) -> bool:
        """Whether a run whose infinitely-visited states are ``inf_mask`` (bool (Q,)) accepts.

        Examples
        --------
        >>> aut = to_automaton(always_eventually(prop(0)), 1)
        >>> aut.accepts_inf([True, False]), aut.accepts_inf([True, True])
        (False, True)
        """
        return _eval_acc(self.acceptance, np.asarray(inf_mask, dtype=bool))

    def complement(self) -> DeterministicAutomaton:
        """The automaton of the complement language (same transitions, negated acceptance).

        Examples
        --------
        >>> to_automaton(eventually(prop(0)), 1).complement().accepts_inf([True, False])
        True
        """
        return DeterministicAutomaton(self.delta, self.start, _negate_acc(self.acceptance))

    def product(self, other: DeterministicAutomaton, how: str) -> DeterministicAutomaton:
        """Synchronous product accepting the intersection (``how='and'``) or union (``'or'``).

        Product state :math:`(q_1, q_2)` has index :math:`q_1 Q_2 + q_2`.

        Examples
        --------
        >>> a, b = to_automaton(eventually(prop(0)), 2), to_automaton(eventually(prop(1)), 2)
        >>> a.product(b, "and").n_states
        4
        """
        if self.n_letters != other.n_letters:
            raise ValueError("automata must share the alphabet")
        Q1, Q2 = self.n_states, other.n_states
        d = self.delta[:, None, :] * Q2 + other.delta[None, :, :]
        delta = d.reshape(Q1 * Q2, -1)
        p1 = np.repeat(np.arange(Q1), Q2)
        p2 = np.tile(np.arange(Q2), Q1)
        acc = (how, _lift_acc(self.acceptance, p1, Q1), _lift_acc(other.acceptance, p2, Q2))
        return DeterministicAutomaton(delta, self.start * Q2 + other.start, acc)


# ----------------------------------------------------------------------------- formulas
@dataclass(frozen=True)
class Formula:
    r"""A node of the supported LTL fragment (a definition, not a result).

    Build formulas with :func:`prop`, :func:`next_`, :func:`eventually`, :func:`always`,
    :func:`until`, :func:`always_eventually`, :func:`eventually_always` and the operators ``&``,
    ``|``, ``~``. A letter is the bitmask :math:`\sum_i 2^i\,\mathbb 1[p_i]` of the atomic
    propositions true on a transition (:func:`~prefrl.expressivity.transition_labels`).

    Attributes
    ----------
    op : str
        ``"prop"``, ``"not"``, ``"and"``, ``"or"``, ``"next"``, ``"eventually"``, ``"always"``,
        ``"until"``, ``"gf"`` or ``"fg"``.
    args : tuple
        The operands (sub-formulas, or the proposition index for ``"prop"``).

    Examples
    --------
    >>> f = eventually(prop(0)) & ~always(prop(1))
    >>> str(f), f.propositional, sorted(f.props())
    ('(F p0 & !G p1)', False, [0, 1])
    """

    op: str
    args: tuple = ()

    def __and__(self, other):
        return Formula("and", (self, _as_formula(other)))

    def __or__(self, other):
        return Formula("or", (self, _as_formula(other)))

    def __invert__(self):
        return Formula("not", (self,))

    def __str__(self) -> str:
        op, a = self.op, self.args
        if op == "prop":
            return f"p{a[0]}"
        if op == "not":
            return f"!{a[0]}"
        if op in ("and", "or"):
            return f"({a[0]} {'&' if op == 'and' else '|'} {a[1]})"
        if op == "until":
            return f"({a[0]} U {a[1]})"
        return {"next": "X", "eventually": "F", "always": "G", "gf": "GF", "fg": "FG"}[op] + f" {a[0]}"

    @property
    def propositional(self) -> bool:
        """Whether the formula has no temporal operator."""
        if self.op == "prop":
            return True
        if self.op in ("not", "and", "or"):
            return all(x.propositional for x in self.args)
        return False

    def props(self) -> set:
        """Indices of the atomic propositions used."""
        if self.op == "prop":
            return {self.args[0]}
        return set().union(*(x.props() for x in self.args))

    def letter_holds(self, letters: np.ndarray) -> np.ndarray:
        """Truth of a propositional formula on each letter (bitmask of the true propositions).

        Examples
        --------
        >>> (prop(0) & ~prop(1)).letter_holds(np.arange(4)).tolist()   # letters 00, 01, 10, 11
        [False, True, False, False]
        """
        op, a = self.op, self.args
        if op == "prop":
            return ((letters >> a[0]) & 1).astype(bool)
        if op == "not":
            return ~a[0].letter_holds(letters)
        if op == "and":
            return a[0].letter_holds(letters) & a[1].letter_holds(letters)
        if op == "or":
            return a[0].letter_holds(letters) | a[1].letter_holds(letters)
        raise ValueError(f"{self} is not propositional")


def _as_formula(x, name: str = "formula"):
    if isinstance(x, Formula):
        return x
    raise TypeError(f"{name} must be an LTL Formula (built from prop, eventually, ...), got "
                    f"{type(x).__name__}")


def _need_propositional(f: Formula, where: str) -> Formula:
    f = _as_formula(f)
    if not f.propositional:
        raise ValueError(
            f"{where} applies to propositional formulas only in the supported fragment, got {f}"
        )
    return f


def prop(i: int) -> Formula:
    r"""The atomic proposition :math:`p_i` (true on the first transition when it holds there).

    Parameters
    ----------
    i : int >= 0
        Index into the ``propositions`` array of :class:`~prefrl.expressivity.LTLObjective`.

    Examples
    --------
    >>> str(prop(0) & ~prop(1))
    '(p0 & !p1)'
    """
    return Formula("prop", (check_integer(i, "i", minimum=0),))


def next_(formula: Formula, k: int = 1) -> Formula:
    r""":math:`X^k \varphi`: :math:`\varphi` holds from step :math:`k` on (any formula of the fragment).

    Examples
    --------
    >>> str(next_(prop(0), 2))
    'X X p0'
    """
    k = check_integer(k, "k", minimum=0)
    formula = _as_formula(formula)
    for _ in range(k):
        formula = Formula("next", (formula,))
    return formula


def eventually(b: Formula) -> Formula:
    r""":math:`\mathbf F b`: the propositional formula :math:`b` holds on some transition.

    Examples
    --------
    >>> str(eventually(prop(0)))
    'F p0'
    """
    return Formula("eventually", (_as_formula(b, "b"),))


def always(b: Formula) -> Formula:
    r""":math:`\mathbf G b`: the propositional formula :math:`b` holds on every transition.

    Examples
    --------
    >>> str(always(~prop(0)))
    'G !p0'
    """
    return Formula("always", (_as_formula(b, "b"),))


def until(b1: Formula, b2: Formula) -> Formula:
    r""":math:`b_1 \mathbf U b_2`: :math:`b_2` holds at some step and :math:`b_1` at every step before.

    Examples
    --------
    >>> str(until(prop(0), prop(1)))
    '(p0 U p1)'
    """
    return Formula("until", (_as_formula(b1, "b1"), _as_formula(b2, "b2")))


def always_eventually(b: Formula) -> Formula:
    r""":math:`\mathbf{G F} b`: :math:`b` holds infinitely often (a Büchi condition).

    Examples
    --------
    >>> str(always_eventually(prop(0)))
    'GF p0'
    """
    return Formula("gf", (_as_formula(b, "b"),))


def eventually_always(b: Formula) -> Formula:
    r""":math:`\mathbf{F G} b`: :math:`b` holds from some step on (a co-Büchi condition).

    Examples
    --------
    >>> str(eventually_always(prop(0)))
    'FG p0'
    """
    return Formula("fg", (_as_formula(b, "b"),))


# ----------------------------------------------------------------------------- translation
def _mask(Q, states):
    m = np.zeros(Q, dtype=bool)
    m[list(states)] = True
    return m


def to_automaton(formula: Formula, n_props: int) -> DeterministicAutomaton:
    r"""The deterministic automaton of a formula of the fragment over the alphabet :math:`2^k`.

    Letters are the bitmasks of the :math:`k` = ``n_props`` atomic propositions. Atoms (ours,
    textbook): a propositional :math:`b` is checked on the first letter (3 states, Büchi);
    :math:`\mathbf F b` (2 states, Büchi), :math:`\mathbf G b` (2 states, Büchi on "fine so
    far"), :math:`b_1 \mathbf U b_2` (3 states), :math:`\mathbf{GF} b` and :math:`\mathbf{FG} b`
    (2 states remembering whether the last letter satisfied :math:`b`; Büchi, co-Büchi);
    :math:`X\varphi` prepends a state; ``&``/``|`` are products, ``~`` complements the
    acceptance (Emerson-Lei conditions are closed under both).

    Parameters
    ----------
    formula : Formula
    n_props : int
        Number :math:`k` of atomic propositions (the formula may use :math:`p_0 \dots p_{k-1}`).

    Returns
    -------
    DeterministicAutomaton
        Over :math:`2^k` letters.

    Examples
    --------
    >>> aut = to_automaton(eventually(prop(0)) & always_eventually(prop(1)), 2)
    >>> aut.n_states, aut.n_letters
    (4, 4)
    """
    f = _as_formula(formula)
    n_props = check_integer(n_props, "n_props", minimum=0)
    if f.props() and max(f.props()) >= n_props:
        raise ValueError(f"formula uses proposition p{max(f.props())} but n_props = {n_props}")
    letters = np.arange(2**n_props)
    L = letters.size
    op, a = f.op, f.args
    if f.propositional:  # b holds on the first letter: 0 -> 1 (accept) or 2 (reject)
        h = f.letter_holds(letters)
        delta = np.array([np.where(h, 1, 2), np.ones(L, int), np.full(L, 2)])
        return DeterministicAutomaton(delta, 0, ("inf", _mask(3, [1])))
    if op == "not":
        return to_automaton(a[0], n_props).complement()
    if op in ("and", "or"):
        return to_automaton(a[0], n_props).product(to_automaton(a[1], n_props), op)
    if op == "next":  # a fresh start state that moves to the sub-automaton's start on any letter
        sub = to_automaton(a[0], n_props)
        delta = np.vstack([np.full(L, sub.start + 1), sub.delta + 1])
        acc = _lift_acc(sub.acceptance, np.concatenate([[sub.start], np.arange(sub.n_states)]),
                        sub.n_states)
        return DeterministicAutomaton(delta, 0, acc)
    if op == "eventually":  # 0: not yet, 1: seen (absorbing)
        h = _need_propositional(a[0], "F").letter_holds(letters)
        delta = np.array([np.where(h, 1, 0), np.ones(L, int)])
        return DeterministicAutomaton(delta, 0, ("inf", _mask(2, [1])))
    if op == "always":  # 0: fine so far, 1: violated (absorbing)
        h = _need_propositional(a[0], "G").letter_holds(letters)
        delta = np.array([np.where(h, 0, 1), np.ones(L, int)])
        return DeterministicAutomaton(delta, 0, ("inf", _mask(2, [0])))
    if op == "until":  # 0: waiting, 1: accepted, 2: rejected
        h1 = _need_propositional(a[0], "U").letter_holds(letters)
        h2 = _need_propositional(a[1], "U").letter_holds(letters)
        delta = np.array([np.where(h2, 1, np.where(h1, 0, 2)), np.ones(L, int), np.full(L, 2)])
        return DeterministicAutomaton(delta, 0, ("inf", _mask(3, [1])))
    if op in ("gf", "fg"):  # state = whether the last letter satisfied b
        h = _need_propositional(a[0], "GF/FG").letter_holds(letters)
        row = np.where(h, 1, 0)
        delta = np.array([row, row])
        acc = ("inf", _mask(2, [1])) if op == "gf" else ("fin", _mask(2, [0]))
        return DeterministicAutomaton(delta, 0, acc)
    raise ValueError(f"unsupported LTL operator {op!r}")


# ----------------------------------------------------------------------------- lasso semantics
def holds_on_lasso(formula: Formula, prefix, loop_letter: int) -> bool:
    r"""Direct LTL semantics on the word :math:`u\,c^\omega` (a finite prefix, then one letter forever).

    A slow, independent reference for :func:`to_automaton` (ours): positions :math:`i \ge |u|`
    are all equivalent, so every operator is evaluated on the :math:`|u| + 1` positions by its
    textbook definition (Baier and Katoen 2008, Def. 5.6).

    Parameters
    ----------
    formula : Formula
    prefix : sequence of int letters
        :math:`u`.
    loop_letter : int
        :math:`c`, repeated forever.

    Returns
    -------
    bool

    Examples
    --------
    >>> holds_on_lasso(until(prop(0), prop(1)), [1, 1, 2], 0)   # p0 p0 p1 ...
    True
    >>> holds_on_lasso(eventually_always(prop(0)), [1, 1], 0)
    False
    """
    if isinstance(prefix, (str, bytes)) or not hasattr(prefix, "__iter__"):
        raise TypeError(f"prefix must be a sequence of letters (integers), got "
                        f"{type(prefix).__name__}")
    prefix = [check_integer(x, f"prefix[{i}]", minimum=0) for i, x in enumerate(prefix)]
    word = [*prefix, check_integer(loop_letter, "loop_letter", minimum=0)]
    n = len(word) - 1  # position n stands for the constant suffix

    def sat(f: Formula, i: int) -> bool:
        op, a = f.op, f.args
        if f.propositional:
            return bool(f.letter_holds(np.array([word[i]]))[0])
        if op == "not":
            return not sat(a[0], i)
        if op == "and":
            return sat(a[0], i) and sat(a[1], i)
        if op == "or":
            return sat(a[0], i) or sat(a[1], i)
        if op == "next":
            return sat(a[0], min(i + 1, n))
        if op == "eventually":
            return any(sat(a[0], j) for j in range(i, n + 1))
        if op == "always":
            return all(sat(a[0], j) for j in range(i, n + 1))
        if op == "until":
            return any(sat(a[1], j) and all(sat(a[0], k) for k in range(i, j))
                       for j in range(i, n + 1))
        if op == "gf":
            return sat(a[0], n)
        if op == "fg":
            return sat(a[0], n)
        raise ValueError(op)

    return sat(_as_formula(formula), 0)
