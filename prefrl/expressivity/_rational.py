r"""LTL satisfaction probabilities as exact rational functions of the policy (ours; needs sympy).

Part of :mod:`prefrl.expressivity`: the premise of the transcendental-optimum and
irrational-slope lemmas of the five-way separation (Subramani et al., ICLR 2024; the lemmas and
this computation are ours). With the support of the policy fixed, the product chain of
:func:`~prefrl.expressivity.satisfaction_probability` has a fixed graph, so by Cramer's rule the
probability is a ratio of polynomials in the policy's parameters with rational coefficients
(rational transitions and initial distribution).

- :func:`ltl_rational_form`: the exact rational function (sympy);
- :func:`is_rational_function_over_q`: whether an expression is in :math:`\mathbb Q(x_1, \dots)`;
- :func:`ltl_rational_gap_on_segment`, :func:`ltl_rational_gap_on_switch`: the premise checked
  on the segment :math:`\sigma(p)` of the one-state environment and on the switch environment.

sympy is imported inside the functions (a dependency of torch, not of prefrl's core).
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array
from ..mdp.envs import one_state_env, switch_env
from ._automata import next_, prop  # noqa: F401  (used by the doctests)
from ._ltl import (
    _accepting_bsccs,
    _as_automaton,
    _n_props,
    _product_chain,
    _qualitative_sets,
    satisfaction_probability,
    transition_labels,
)
from ._witnesses import segment_policy, switch_policy

__all__ = [
    "is_rational_function_over_q",
    "ltl_rational_form",
    "ltl_rational_gap_on_segment",
    "ltl_rational_gap_on_switch",
]


@renamed_parameters(env="mdp", props="propositions")
def ltl_rational_form(mdp, automaton, propositions, policy_expr, generic_policy):
    r"""The satisfaction probability as an exact rational function of the policy's parameters.

    With the support of the policy fixed (the support of ``generic_policy``), the product
    chain's graph, its bottom SCCs and the sets :math:`Z, O, T` of
    :func:`~prefrl.expressivity.satisfaction_probability` are fixed, and

    .. math::
        \Pr(\xi \models \varphi) = \mu^\top x, \qquad
        x_T = (I - P^\times_{TT})^{-1} P^\times_{TO}\mathbf 1,\ x_O = 1,\ x_Z = 0,

    where every entry of :math:`P^\times` is :math:`\sum_{a, s'} \pi(a|s) P[s, a, s']` over the
    transitions with a given letter. When :math:`\pi` is affine in parameters with rational
    coefficients and :math:`P`, :math:`\mu_0` are rational, Cramer's rule makes the
    probability a ratio of polynomials with rational coefficients whose degrees are at most
    :math:`|T|`. Computed here with sympy (exact rationals). Ours.

    Parameters
    ----------
    mdp : TabularMDP with rational (here 0/1) transitions and initial distribution
        (``env`` is deprecated)
    automaton : DeterministicAutomaton or Formula
    propositions : bool array, shape (k, S) or (k, S, A, S)
        (``props`` is deprecated)
    policy_expr : (S, A) nested list of sympy expressions (the parametrised policy)
    generic_policy : array (S, A), a numerical policy of the same support

    Returns
    -------
    (sympy expression, int)
        The rational function and :math:`|T|`.

    Examples
    --------
    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> R, _ = ltl_rational_form(one_state_env(3), prop(0) & next_(~prop(0)),   # a0, then not a0
    ...                          np.eye(3, dtype=bool)[:1, None, :, None],
    ...                          [[p, (1 - p) / 2, (1 - p) / 2]], segment_policy(0.5))
    >>> sympy.factor(R)
    -p*(p - 1)
    """
    import sympy

    automaton = _as_automaton(automaton, _n_props(propositions))
    letters = transition_labels(mdp, propositions)
    pi = mdp.check_policy(generic_policy, "generic_policy")
    M, states, init = _product_chain(mdp, pi, automaton.delta, letters, automaton.start)
    G = M > 0
    acc, _, _ = _accepting_bsccs(G, states, automaton)
    sure, T = _qualitative_sets(G, acc)
    P = mdp.dense_transitions()
    index = {(int(s), int(q)): i for i, (s, q) in enumerate(states)}
    N = len(states)
    Msym = sympy.zeros(N, N)
    for i, (s, q) in enumerate(states):
        for a in range(mdp.n_actions):
            for t in np.flatnonzero(P[s, a] > 0):
                j = index.get((int(t), int(automaton.delta[q, letters[s, a, t]])))
                if j is not None:
                    Msym[i, j] += policy_expr[s][a] * sympy.Rational(str(P[s, a, t]))
    x = [sympy.Integer(int(b)) for b in sure]
    if T.size:
        MTT = Msym.extract(list(T), list(T))
        b = Msym.extract(list(T), list(np.flatnonzero(sure))) * sympy.ones(int(sure.sum()), 1) \
            if sure.any() else sympy.zeros(T.size, 1)
        xT = (sympy.eye(T.size) - MTT).LUsolve(b)
        for k, i in enumerate(T):
            x[i] = xT[k]
    value = sum((sympy.Rational(str(init[i])) * x[i] for i in range(N) if init[i] > 0),
                sympy.Integer(0))
    return sympy.cancel(sympy.together(value)), int(T.size)


def is_rational_function_over_q(expr, symbols) -> bool:
    r"""Whether a sympy expression is a ratio of polynomials in ``symbols`` with rational coefficients.

    Parameters
    ----------
    expr : sympy expression
    symbols : list of sympy symbols

    Returns
    -------
    bool

    Examples
    --------
    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> is_rational_function_over_q(p / (1 + p) / 3, [p]), is_rational_function_over_q(sympy.sqrt(2) * p, [p])
    (True, False)
    """
    import sympy

    num, den = sympy.fraction(sympy.cancel(expr))
    try:
        polys = [sympy.Poly(num, *symbols), sympy.Poly(den, *symbols)]
    except sympy.PolynomialError:
        return False
    return all(c.is_Rational for p in polys for c in p.coeffs())


def _check_points(points, width: int) -> np.ndarray:
    """Evaluation points in the open unit interval (width 1) or square (width 2)."""
    pts = check_array(points, "points", ndim=1 if width == 1 else 2)
    if width == 2 and pts.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {pts.shape}")
    bad = (pts <= 0) | (pts >= 1)
    if bad.any():
        raise ValueError(f"points must lie in (0, 1), got {pts[bad].ravel()[0]:g}")
    return pts


def ltl_rational_gap_on_segment(automaton, propositions, points) -> float:
    r"""The rational form on the segment :math:`\sigma(p)` of the one-state 3-action environment.

    Along :math:`\sigma(p) = (p, \tfrac{1-p}2, \tfrac{1-p}2)`, :math:`p \in (0, 1)` (one
    support), the satisfaction probability is :math:`R(p)` with :math:`R \in \mathbb Q(p)`
    (:func:`ltl_rational_form`). Returns 1 if the exact form has an irrational coefficient, else
    the largest gap between :math:`R` and :func:`~prefrl.expressivity.satisfaction_probability`
    at ``points`` (0 up to rounding). Ours; the premise of the transcendental-optimum lemma.

    Parameters
    ----------
    automaton : DeterministicAutomaton or Formula
    propositions : bool array, shape (k, 1, 3, 1) or (k, 1)
    points : array of p in (0, 1)

    Returns
    -------
    float

    Examples
    --------
    >>> acts = np.eye(3, dtype=bool)[:1, None, :, None]
    >>> bool(ltl_rational_gap_on_segment(prop(0) & next_(~prop(0)), acts, [0.2, 0.7]) < 1e-12)
    True
    """
    import sympy

    points = _check_points(points, 1)
    p = sympy.Symbol("p")
    tri = one_state_env(3)
    half = (1 - p) / 2
    R, _ = ltl_rational_form(tri, automaton, propositions, [[p, half, half]], segment_policy(0.5))
    if not is_rational_function_over_q(R, [p]):
        return 1.0
    f = sympy.lambdify(p, R)
    return max(abs(float(f(x)) - satisfaction_probability(
        tri, segment_policy(x), automaton, propositions).probability)
        for x in points)


def ltl_rational_gap_on_switch(automaton, propositions, points) -> float:
    r"""The rational form on the full-support policies :math:`(q_0, q_1) \in (0, 1)^2` of the switch environment.

    There the satisfaction probability is :math:`R(q_0, q_1)` with
    :math:`R \in \mathbb Q(q_0, q_1)` (:func:`ltl_rational_form`). Returns 1 if the exact form
    has an irrational coefficient, else the largest gap to
    :func:`~prefrl.expressivity.satisfaction_probability` at ``points``. Ours; the premise of the
    irrational-slope lemma.

    Parameters
    ----------
    automaton : DeterministicAutomaton or Formula
    propositions : bool array, shape (k, 2, 2, 2) or (k, 2)
    points : array, shape (n, 2), of (q0, q1) in (0, 1)^2

    Returns
    -------
    float

    Examples
    --------
    >>> from prefrl.expressivity import always_eventually
    >>> at0 = np.array([[True, False]])
    >>> bool(ltl_rational_gap_on_switch(always_eventually(prop(0)), at0, [(0.3, 0.6)]) < 1e-12)
    True
    """
    import sympy

    points = _check_points(points, 2)
    a, b = sympy.symbols("q0 q1")
    env = switch_env()
    R, _ = ltl_rational_form(env, automaton, propositions, [[1 - a, a], [1 - b, b]],
                             switch_policy(0.5, 0.5))
    if not is_rational_function_over_q(R, [a, b]):
        return 1.0
    f = sympy.lambdify((a, b), R)
    return max(abs(float(f(x, y)) - satisfaction_probability(
        env, switch_policy(x, y), automaton, propositions).probability)
        for x, y in points)
