r"""Random instances of the formalisms: environments, policies, machines, formulas, automata (ours).

Part of :mod:`prefrl.expressivity`. The generators behind prefrl's cross-checks of the
formalisms of Subramani et al. (ICLR 2024) (theorem checks in ``prefrl.proofs_check.expressivity``,
the figure ``expressivity_hasse``, the five-way table). All are ours, and all take a required
``rng`` (a :class:`numpy.random.Generator` or an int seed) and sometimes produce degenerate
instances (absorbing states, deterministic policies, zeros) on purpose.

- environments and policies: :func:`random_env`, :func:`dag_env`, :func:`random_policy`;
- specifications: :func:`random_machine`, :func:`random_formula`, :func:`random_automaton`;
- instance dicts of the checks: :func:`draw_rm`, :func:`draw_lipschitz`, :func:`draw_inmr`,
  :func:`draw_ltl_dag`, :func:`draw_ltl_segment`, :func:`draw_ltl_switch`. Their keys are those
  of the theorem checks' instances (``"env"`` for the environment, ``"props"`` for the
  propositions).
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import as_rng, check_integer
from ..mdp import TabularMDP
from ._automata import (
    DeterministicAutomaton,
    Formula,
    always,
    always_eventually,
    eventually,
    eventually_always,
    next_,
    prop,
    to_automaton,
    until,
)
from ._reward_machines import RewardMachine

__all__ = [
    "dag_env",
    "draw_inmr",
    "draw_lipschitz",
    "draw_ltl_dag",
    "draw_ltl_segment",
    "draw_ltl_switch",
    "draw_rm",
    "random_automaton",
    "random_env",
    "random_formula",
    "random_machine",
    "random_policy",
]


# ---------------------------------------------------------------------------- environments
@renamed_parameters(S="n_states", A="n_actions")
def random_env(rng, n_states: int | None = None, n_actions: int | None = None) -> TabularMDP:
    r"""A random environment with sparse rows, sometimes absorbing states and a point start.

    Rows are :math:`\mathrm{Dirichlet}(\mathbf 1)` masked to about 60% of the successors (an
    emptied row goes to state 0); each state is made absorbing with probability 1/4; the
    initial distribution is a point mass or a Dirichlet draw with equal odds. Its reward is 0
    and its discount 0 (the formalisms bring their own). Ours.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n_states, n_actions : int, optional
        Drawn in 1..4 and 1..3 when not given (``S`` and ``A`` are deprecated).

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> mdp = random_env(0, n_states=3, n_actions=2)
    >>> mdp.n_states, mdp.n_actions, bool(np.allclose(mdp.dense_transitions().sum(-1), 1))
    (3, 2, True)
    """
    rng = as_rng(rng)
    n_states = None if n_states is None else check_integer(n_states, "n_states", minimum=1)
    n_actions = None if n_actions is None else check_integer(n_actions, "n_actions", minimum=1)
    S = int(rng.integers(1, 5)) if n_states is None else n_states
    A = int(rng.integers(1, 4)) if n_actions is None else n_actions
    P = rng.dirichlet(np.ones(S), size=(S, A)) * (rng.random((S, A, S)) < 0.6)
    P[..., 0] += P.sum(axis=2) == 0  # rows emptied by the mask go to state 0
    P /= P.sum(axis=2, keepdims=True)
    for s in range(S):
        if rng.random() < 0.25:  # absorbing state
            P[s] = 0.0
            P[s, :, s] = 1.0
    mu = np.eye(S)[int(rng.integers(S))] if rng.random() < 0.5 else rng.dirichlet(np.ones(S))
    return TabularMDP(P, np.zeros((S, A)), 0.0, mu)


@renamed_parameters(S="n_states")
def dag_env(rng, n_states: int) -> TabularMDP:
    r"""A layered environment: transitions only to higher states; sinks and state S-1 absorbing.

    Every run is absorbed within :math:`S - 1` steps, so a run's letters form a lasso word
    (prefix, then the absorbing state's letter forever) and LTL semantics can be checked by
    enumeration (:func:`~prefrl.expressivity.ltl_lasso_gap`). 1 or 2 actions. Ours.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n_states : int >= 1

    Returns
    -------
    TabularMDP

    Examples
    --------
    >>> P = dag_env(0, 4).dense_transitions()
    >>> bool(np.all(np.triu(P.transpose(1, 0, 2)) == P.transpose(1, 0, 2)))   # never goes back
    True
    """
    rng = as_rng(rng)
    S = check_integer(n_states, "n_states", minimum=1)
    A = int(rng.integers(1, 3))
    P = np.zeros((S, A, S))
    for s in range(S):
        if s == S - 1 or rng.random() < 0.25:
            P[s, :, s] = 1.0
            continue
        W = rng.random((A, S - s - 1)) * (rng.random((A, S - s - 1)) < 0.7)
        W[W.sum(axis=1) == 0, 0] = 1.0
        P[s, :, s + 1:] = W / W.sum(axis=1, keepdims=True)
    mu = np.eye(S)[0] if rng.random() < 0.5 else rng.dirichlet(np.ones(S))
    return TabularMDP(P, np.zeros((S, A)), 0.0, mu)


@renamed_parameters(S="n_states", A="n_actions")
def random_policy(rng, n_states: int, n_actions: int) -> np.ndarray:
    r"""A random stationary policy: deterministic (30%), with zeros (20%), or full Dirichlet.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n_states, n_actions : int

    Returns
    -------
    array, shape (n_states, n_actions), rows on the simplex

    Examples
    --------
    >>> pi = random_policy(1, 3, 2)
    >>> pi.shape, bool(np.allclose(pi.sum(axis=1), 1))
    ((3, 2), True)
    """
    rng = as_rng(rng)
    n_states = check_integer(n_states, "n_states", minimum=1)
    n_actions = check_integer(n_actions, "n_actions", minimum=1)
    S, A = n_states, n_actions
    u = rng.random()
    if u < 0.3:
        return np.eye(A)[rng.integers(A, size=S)]
    pi = rng.dirichlet(np.ones(A), size=S)
    if u < 0.5:
        pi = pi * (rng.random((S, A)) < 0.6)
        pi[pi.sum(axis=1) == 0, 0] = 1.0
        pi /= pi.sum(axis=1, keepdims=True)
    return pi


# ---------------------------------------------------------------------------- specifications
@renamed_parameters(S="n_states", A="n_actions", U="n_machine_states")
def random_machine(rng, n_states: int, n_actions: int, n_machine_states: int | None = None,
                   n_letters: int | None = None, sas: bool | None = None) -> RewardMachine:
    r"""A random reward machine: 1-3 machine states, 1-3 letters, integer or (S, A, S) rewards.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n_states, n_actions : int
        The environment's sizes (for rewards of shape (U, U, S, A, S)).
    n_machine_states, n_letters : int, optional
        Drawn in 1..3 when not given.
    sas : bool, optional
        Rewards :math:`\delta_R(u, u')(s, a, s')` normal (True) or integer scalars in
        {-1, 0, 1} per machine edge (False); drawn when not given.

    Returns
    -------
    RewardMachine
        Discount drawn from {0, 0.5, 0.9}.

    Examples
    --------
    >>> m = random_machine(0, 2, 2, n_machine_states=3, n_letters=2)
    >>> m.n_states, m.n_letters
    (3, 2)
    """
    rng = as_rng(rng)
    n_states = check_integer(n_states, "n_states", minimum=1)
    n_actions = check_integer(n_actions, "n_actions", minimum=1)
    if n_machine_states is not None:
        n_machine_states = check_integer(n_machine_states, "n_machine_states", minimum=1)
    if n_letters is not None:
        n_letters = check_integer(n_letters, "n_letters", minimum=1)
    U = int(rng.integers(1, 4)) if n_machine_states is None else n_machine_states
    n_letters = int(rng.integers(1, 4)) if n_letters is None else n_letters
    delta = rng.integers(0, U, size=(U, n_letters))
    sas = bool(rng.random() < 0.5) if sas is None else sas
    if sas:
        R = rng.normal(size=(U, U, n_states, n_actions, n_states))
    else:
        R = rng.integers(-1, 2, size=(U, U)).astype(float)
    return RewardMachine(delta, R, int(rng.integers(U)), float(rng.choice([0.0, 0.5, 0.9])))


@renamed_parameters(k="n_props")
def random_formula(rng, n_props: int, depth: int = 2) -> Formula:
    r"""A random formula of the supported LTL fragment over ``n_props`` propositions.

    Atoms are literals (sometimes a conjunction of two); the temporal operators are F, G, U, GF,
    FG; up to ``depth`` levels of ``&``, ``|``, ``~``; sometimes an :math:`X^j` on top.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n_props : int >= 1
    depth : int >= 0

    Returns
    -------
    Formula

    Examples
    --------
    >>> f = random_formula(0, 2)
    >>> max(f.props()) < 2
    True
    """
    rng = as_rng(rng)
    n_props = check_integer(n_props, "n_props", minimum=1)
    depth = check_integer(depth, "depth", minimum=0)
    k = n_props

    def atom():
        b = prop(int(rng.integers(k)))
        if rng.random() < 0.3:
            b = ~b
        if rng.random() < 0.2:
            b = b & prop(int(rng.integers(k)))
        return b

    kind = int(rng.integers(0, 7 if depth > 0 else 6))
    if kind == 0:
        f = atom()
    elif kind == 1:
        f = eventually(atom())
    elif kind == 2:
        f = always(atom())
    elif kind == 3:
        f = until(atom(), atom())
    elif kind == 4:
        f = always_eventually(atom())
    elif kind == 5:
        f = eventually_always(atom())
    else:
        a, b = random_formula(rng, k, depth - 1), random_formula(rng, k, depth - 1)
        f = [a & b, a | b, ~a][int(rng.integers(3))]
    if rng.random() < 0.15:
        f = next_(f, int(rng.integers(1, 3)))
    return f


@renamed_parameters(Q="n_states")
def random_automaton(rng, n_letters: int, n_states: int | None = None) -> DeterministicAutomaton:
    r"""A random complete deterministic automaton with a random Emerson-Lei condition.

    1-3 free states plus, half of the time, two absorbing sinks (one accepting, one rejecting)
    so that several bottom components are reachable and the probability is not 0 or 1.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n_letters : int
    n_states : int, optional
        The free states (``Q`` is deprecated); drawn in 1..3 when not given.

    Returns
    -------
    DeterministicAutomaton

    Examples
    --------
    >>> random_automaton(0, 4, n_states=2).n_letters
    4
    """
    rng = as_rng(rng)
    n_letters = check_integer(n_letters, "n_letters", minimum=1)
    n_states = None if n_states is None else check_integer(n_states, "n_states", minimum=1)
    Q = int(rng.integers(1, 4)) if n_states is None else n_states
    sinks = bool(rng.random() < 0.5)
    n = Q + 2 * sinks
    delta = rng.integers(0, n, size=(n, n_letters))
    masks = [rng.random(n) < 0.5 for _ in range(2)]
    if sinks:
        delta[Q], delta[Q + 1] = Q, Q + 1
        for m in masks:
            m[Q], m[Q + 1] = True, False
        acc = ("inf", masks[0])
    else:
        acc = ("inf" if rng.random() < 0.5 else "fin", masks[0])
    if rng.random() < 0.3:
        acc = ("or", acc, ("inf", masks[1]))
    return DeterministicAutomaton(delta, int(rng.integers(Q)), acc)


def _random_ltl_automaton(rng: np.random.Generator, k: int) -> DeterministicAutomaton:
    """Half the time a formula of the fragment (with X, so probabilities vary), else an automaton."""
    u = rng.random()
    if u < 0.35:
        f = random_formula(rng, k)
        if rng.random() < 0.5:
            f = f & next_(prop(int(rng.integers(k))) | random_formula(rng, k, 0))
        return to_automaton(f, k)
    if u < 0.65:  # a boolean combination of X^j literals: a polynomial in the policy

        def lit():
            b = prop(int(rng.integers(k)))
            return next_(~b if rng.random() < 0.5 else b, int(rng.integers(0, 3)))

        f = lit()
        for _ in range(int(rng.integers(1, 4))):
            f = (f & lit()) if rng.random() < 0.5 else (f | lit())
        return to_automaton(f, k)
    return random_automaton(rng, 2**k)


# ---------------------------------------------------------------------------- instance dicts
def draw_rm(rng) -> dict:
    """A small environment, a random machine and labelling, a policy and a horizon 1-4.

    Returns
    -------
    dict
        ``env`` (TabularMDP, S <= 3, A <= 2), ``machine``, ``labelling`` (S, A, S), ``policy``,
        ``horizon``.

    Examples
    --------
    >>> sorted(draw_rm(0))
    ['env', 'horizon', 'labelling', 'machine', 'policy']
    """
    rng = as_rng(rng)
    env = random_env(rng, n_states=int(rng.integers(1, 4)), n_actions=int(rng.integers(1, 3)))
    S, A = env.n_states, env.n_actions
    m = random_machine(rng, S, A)
    lab = rng.integers(0, m.n_letters, size=(S, A, S))
    return {"env": env, "machine": m, "labelling": lab, "policy": random_policy(rng, S, A),
            "horizon": int(rng.integers(1, 5))}


def draw_lipschitz(rng) -> dict:
    """A :func:`draw_rm` instance plus ``policy2``, a second policy at a random distance.

    Examples
    --------
    >>> inst = draw_lipschitz(0)
    >>> inst["policy2"].shape == inst["policy"].shape
    True
    """
    rng = as_rng(rng)
    inst = draw_rm(rng)
    S, A = inst["env"].n_states, inst["env"].n_actions
    other = random_policy(rng, S, A)
    w = float(rng.choice([1.0, 1e-2, 1e-5]))
    inst["policy2"] = (1 - w) * inst["policy"] + w * other
    return inst


def draw_inmr(rng) -> dict:
    """A small environment, an integer or real (S, A, S) reward, a policy, a horizon 1-5, a gamma.

    Returns
    -------
    dict
        ``env``, ``reward``, ``policy``, ``horizon``, ``gamma`` (in {0.5, 0.9, 1}).

    Examples
    --------
    >>> sorted(draw_inmr(0))
    ['env', 'gamma', 'horizon', 'policy', 'reward']
    """
    rng = as_rng(rng)
    env = random_env(rng, n_states=int(rng.integers(1, 4)), n_actions=int(rng.integers(1, 3)))
    S, A = env.n_states, env.n_actions
    R = rng.integers(0, 2, size=(S, A, S)).astype(float) if rng.random() < 0.5 else \
        rng.normal(size=(S, A, S))
    return {"env": env, "reward": R, "policy": random_policy(rng, S, A),
            "horizon": int(rng.integers(1, 6)), "gamma": float(rng.choice([0.5, 0.9, 1.0]))}


def draw_ltl_dag(rng) -> dict:
    """A layered environment absorbed surely within S - 1 steps, state labels, a formula.

    Returns
    -------
    dict
        ``env`` (:func:`dag_env`), ``props`` (bool (k, S)), ``formula``, ``policy``.

    Examples
    --------
    >>> sorted(draw_ltl_dag(0))
    ['env', 'formula', 'policy', 'props']
    """
    rng = as_rng(rng)
    S = int(rng.integers(1, 6))
    env = dag_env(rng, S)
    k = int(rng.integers(1, 3))
    props = rng.random((k, S)) < 0.5
    return {"env": env, "props": props, "formula": random_formula(rng, k),
            "policy": random_policy(rng, S, env.n_actions)}


def draw_ltl_segment(rng) -> dict:
    """A random automaton and action labels in the one-state 3-action env, points p in (0, 1).

    Returns
    -------
    dict
        ``automaton``, ``props`` (bool (k, 1, 3, 1)), ``points`` (4 values in (0.02, 0.98)).

    Examples
    --------
    >>> draw_ltl_segment(0)["props"].shape[1:]
    (1, 3, 1)
    """
    rng = as_rng(rng)
    k = int(rng.integers(1, 3))
    props = rng.random((k, 1, 3, 1)) < 0.5
    return {"automaton": _random_ltl_automaton(rng, k), "props": props,
            "points": rng.uniform(0.02, 0.98, size=4)}


def draw_ltl_switch(rng) -> dict:
    """A random automaton and transition labels on the switch env, points in (0, 1)^2.

    Returns
    -------
    dict
        ``automaton``, ``props`` (bool (k, 2, 2, 2)), ``points`` (3, 2).

    Examples
    --------
    >>> draw_ltl_switch(0)["points"].shape
    (3, 2)
    """
    rng = as_rng(rng)
    k = int(rng.integers(1, 3))
    props = rng.random((k, 2, 2, 2)) < 0.5
    return {"automaton": _random_ltl_automaton(rng, k), "props": props,
            "points": rng.uniform(0.02, 0.98, size=(3, 2))}
