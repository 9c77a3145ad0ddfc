r"""Deterministic omega-automata over finite alphabets, and a small LTL fragment (private).

An automaton reads one letter per environment transition. Its acceptance condition is an
Emerson-Lei formula over the set :math:`\mathrm{Inf}` of automaton states visited infinitely
often: atoms ``("inf", M)`` (true iff :math:`\mathrm{Inf} \cap M \ne \emptyset`) and
``("fin", M)`` (true iff :math:`\mathrm{Inf} \cap M = \emptyset`), combined by ``"and"`` and
``"or"``. Buchi, co-Buchi, Rabin, Streett and Muller conditions are all of this form, and the
class is closed under product (conjunction, disjunction) and complement (swap inf/fin and
and/or), which is all the LTL fragment below needs.

The LTL fragment: boolean combinations (``&``, ``|``, ``~``) of
:math:`X^k b`, :math:`\mathbf F b`, :math:`\mathbf G b`, :math:`b_1 \mathbf U b_2`,
:math:`\mathbf{G F} b` and :math:`\mathbf{F G} b`, with :math:`b, b_1, b_2` propositional
formulas over the atomic propositions and :math:`X` applicable to any formula of the fragment.
Each temporal atom has a two- or three-state deterministic automaton; boolean combinations are
products and complements. There is no general LTL-to-automaton translation here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

    Attributes
    ----------
    delta : int array, shape (Q, L)
        :math:`q_{t+1} = \delta(q_t, \sigma_t)` for the letter :math:`\sigma_t \in [0, L)`.
    start : int
        :math:`q_0`.
    acceptance : tuple
        Nested ``("inf", mask)``, ``("fin", mask)``, ``("and", a, b)``, ``("or", a, b)``,
        ``("true",)``, ``("false",)`` with boolean masks of shape (Q,).
    """

    delta: np.ndarray
    start: int
    acceptance: tuple

    @property
    def n_states(self) -> int:
        """Number of automaton states Q."""
        return self.delta.shape[0]

    @property
    def n_letters(self) -> int:
        """Alphabet size L."""
        return self.delta.shape[1]

    def accepts_inf(self, inf_mask) -> bool:
        """Whether a run whose infinitely-visited states are ``inf_mask`` (bool (Q,)) accepts."""
        return _eval_acc(self.acceptance, np.asarray(inf_mask, dtype=bool))

    def complement(self) -> DeterministicAutomaton:
        """The automaton of the complement language (same transitions, negated acceptance)."""
        return DeterministicAutomaton(self.delta, self.start, _negate_acc(self.acceptance))

    def product(self, other: DeterministicAutomaton, how: str) -> DeterministicAutomaton:
        """Synchronous product accepting the intersection (``how='and'``) or union (``'or'``)."""
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
    """A node of the supported LTL fragment (build with the helpers of prefrl.expressivity)."""

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
        """Truth of a propositional formula on each letter (bitmask of the true propositions)."""
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


def _as_formula(x):
    if isinstance(x, Formula):
        return x
    raise TypeError(f"expected an LTL Formula, got {type(x).__name__}")


def _need_propositional(f: Formula, where: str) -> Formula:
    f = _as_formula(f)
    if not f.propositional:
        raise ValueError(
            f"{where} applies to propositional formulas only in the supported fragment, got {f}"
        )
    return f


def _mask(Q, states):
    m = np.zeros(Q, dtype=bool)
    m[list(states)] = True
    return m


def to_automaton(formula: Formula, n_props: int) -> DeterministicAutomaton:
    """Deterministic automaton of a formula of the fragment over the alphabet 2^n_props."""
    f = _as_formula(formula)
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

    A slow reference used by the tests: positions :math:`i \ge |u|` are all equivalent, so every
    operator is evaluated on the :math:`|u| + 1` positions by its textbook definition.
    """
    word = [int(x) for x in prefix] + [int(loop_letter)]
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
