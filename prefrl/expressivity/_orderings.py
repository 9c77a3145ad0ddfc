r"""Policy orderings, and the LP certificates of MR- and LAR-expressibility (ours).

Part of :mod:`prefrl.expressivity`. An objective of any formalism of Subramani et al. (ICLR
2024) induces a total preorder on a finite set of policies (:func:`policy_ordering`, a
:class:`PolicyOrdering` of dense ranks with ties). MR and LAR values are linear in the reward for
a fixed policy, so "is this ordering induced by some Markov (limit-average) reward?" is a
linear-programming feasibility question; :func:`mr_expressible` and :func:`lar_expressible`
answer it with a reward or a Farkas certificate of infeasibility (a
:class:`LinearExpressibility`). The LP test is ours; the formalisms are the paper's (our reading
of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import linprog

from .._deprecation import renamed_parameters
from .._validation import check_array, check_nonnegative, check_positive, renamed_errors
from ..mdp.envs import one_state_env, stay_go_env  # noqa: F401  (used by the doctests)
from ..mdp.occupancy import limit_average_occupancy
from ..results import Result
from ._objectives import MarkovReward, _check_mdp, _with_gamma  # noqa: F401  (doctests)

__all__ = [
    "LinearExpressibility",
    "PolicyOrdering",
    "lar_expressible",
    "mr_expressible",
    "policy_ordering",
]


@dataclass(frozen=True, eq=False)
class PolicyOrdering(Result):
    r"""The total preorder an objective induces on a finite list of policies.

    Attributes
    ----------
    ranks : int array, shape (n,)
        Dense ranks, 0 for the worst class; equal ranks are ties.
    values : array, shape (n, k)
        Each policy's objective vector (k = 1 for real-valued objectives); one row per policy,
        not per state.
    tolerance : float
        Values closer than this (per component) were treated as tied.

    Examples
    --------
    >>> order = policy_ordering(MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5), [[[0, 1]], [[1, 0]]])
    >>> order.ranks, order.values[:, 0]
    (array([0, 1]), array([0., 2.]))
    """

    ranks: np.ndarray
    values: np.ndarray
    tolerance: float

    def compare(self) -> np.ndarray:
        """Matrix C[i, j] = sign(rank_i - rank_j), shape (n, n): 1 when policy i is preferred.

        Examples
        --------
        >>> PolicyOrdering(np.array([0, 1]), np.zeros((2, 1)), 0.0).compare()
        array([[ 0, -1],
               [ 1,  0]])
        """
        return np.sign(self.ranks[:, None] - self.ranks[None, :]).astype(int)


def _lex_ranks(V: np.ndarray, tol: float) -> np.ndarray:
    """Dense lexicographic ranks; a component's values split where sorted gaps exceed tol."""
    n, k = V.shape
    keys = np.zeros((n, k), dtype=int)
    groups = [np.arange(n)]
    for j in range(k):
        new_groups = []
        for g in groups:
            order = g[np.argsort(V[g, j], kind="stable")]
            cls, start = 0, 0
            for i in range(len(order)):
                if i > 0 and V[order[i], j] - V[order[i - 1], j] > tol:
                    new_groups.append(order[start:i])
                    cls, start = cls + 1, i
                keys[order[i], j] = cls
            new_groups.append(order[start:])
        groups = new_groups
    _, ranks = np.unique(keys, axis=0, return_inverse=True)
    return ranks.ravel().astype(int)


def policy_ordering(objective, policies: Sequence, tol: float | None = None) -> PolicyOrdering:
    r"""The preorder an objective induces on a finite set of policies, as ranks with ties.

    .. math::
        \pi_i \succeq \pi_j \iff v(\pi_i) \succeq_{\mathrm{lex}} v(\pi_j),

    where :math:`v(\pi) \in \mathbb{R}^k` is the objective's value vector (:math:`k = 1` for the
    real-valued formalisms; the :math:`k` returns for
    :class:`~prefrl.expressivity.LexicographicMultiObjective`). Numerical ties: component values
    are sorted and a new class starts wherever consecutive sorted values differ by more than
    ``tol`` (single linkage, so the result is always a total preorder). The default ``tol`` is
    :math:`10^{-9}(1 + \max |v|)`, well above the rounding of the exact linear solves and below
    any gap the examples rely on.

    Parameters
    ----------
    objective : an objective of prefrl.expressivity, or a callable policy -> float
    policies : sequence of n arrays, each of shape (S, A) (or int (S,))
    tol : float >= 0, optional

    Returns
    -------
    PolicyOrdering

    Examples
    --------
    >>> J = MarkovReward(one_state_env(), [[1.0, 1.0]], 0.5)   # a constant reward ties everything
    >>> policy_ordering(J, [[[1, 0]], [[0, 1]]]).ranks
    array([0, 0])
    """
    if not (isinstance(policies, (list, tuple)) or (isinstance(policies, np.ndarray) and policies.ndim)):
        raise TypeError(f"policies must be a sequence of policies, got {type(policies).__name__}")
    if len(policies) == 0:
        raise ValueError("policies must not be empty")
    if hasattr(objective, "values") and callable(objective.values):
        evaluate = objective.values
    elif callable(objective):
        evaluate = objective
    else:
        raise TypeError("objective must be an objective of prefrl.expressivity or a callable")
    rows = []
    for i, p in enumerate(policies):
        with renamed_errors("policy", f"policies[{i}]"):
            rows.append(np.atleast_1d(np.asarray(evaluate(p), dtype=float)))
    V = np.array(rows, dtype=float)
    if not np.all(np.isfinite(V)):
        raise ValueError("objective returned a non-finite value")
    if tol is None:
        tol = 1e-9 * (1.0 + float(np.max(np.abs(V))))
    tol = check_nonnegative(tol, "tol")
    return PolicyOrdering(_lex_ranks(V, tol), V, tol)


# ---------------------------------------------------------------------------- expressibility
@dataclass(frozen=True, eq=False)
class LinearExpressibility(Result):
    r"""Verdict of :func:`mr_expressible` / :func:`lar_expressible`.

    Attributes
    ----------
    feasible : bool
        Whether some reward induces the ordering.
    reward : array (S, A) or None
        A reward of least max-norm with strict gaps at least ``margin`` (when feasible).
    multipliers : array (n_strict,) or None
        Farkas certificate when infeasible: :math:`y \ge 0`, :math:`\sum y = 1`.
    tie_multipliers : array (n_ties,) or None
        The free multipliers :math:`z` of the tie equalities.
    certificate : float
        :math:`\|D^\top y + E^\top z\|_\infty` of the Farkas certificate (0 up to rounding when it
        proves infeasibility), or the worst constraint violation of ``reward`` when feasible
        (``residual`` is its deprecated name).
    strict_pairs, tie_pairs : int arrays, shape (n_strict, 2) and (n_ties, 2)
        The constraints used: (better, worse) and (i, j) index pairs into ``policies``.
    iterations : int
        Simplex/IPM iterations of the LP that decided.
    converged : bool
        Always True: the LP that decided terminated (an LP failure raises).

    Examples
    --------
    >>> res = mr_expressible(one_state_env(), [1, 0], [[[0, 1]], [[1, 0]]], gamma=0.5)
    >>> res.feasible, res.reward, res.certificate
    (True, array([[-0.25,  0.25]]), 0.0)
    """

    feasible: bool
    reward: np.ndarray | None
    multipliers: np.ndarray | None
    tie_multipliers: np.ndarray | None
    certificate: float
    strict_pairs: np.ndarray
    tie_pairs: np.ndarray
    iterations: int
    _renamed: ClassVar[dict[str, str]] = {"residual": "certificate"}

    @property
    def converged(self) -> bool:
        """True: a returned verdict comes from an LP that terminated (failures raise)."""
        return True


def _constraints(ranks):
    """Tie pairs (each member with its class head) and strict pairs (consecutive class heads)."""
    classes = np.unique(ranks)
    heads = [int(np.flatnonzero(ranks == c)[0]) for c in classes]
    ties = [(h, int(i)) for c, h in zip(classes, heads) for i in np.flatnonzero(ranks == c) if i != h]
    strict = [(heads[i + 1], heads[i]) for i in range(len(heads) - 1)]
    return np.array(strict, dtype=int).reshape(-1, 2), np.array(ties, dtype=int).reshape(-1, 2)


def _linear_expressible(F: np.ndarray, ranks, margin: float, shape) -> LinearExpressibility:
    n, d = F.shape
    ranks = np.asarray(ranks)
    if ranks.shape != (n,) or not np.issubdtype(ranks.dtype, np.integer):
        if ranks.shape == (n,) and np.all(ranks == np.round(ranks)):
            ranks = ranks.astype(int)
        else:
            raise ValueError(f"ordering must be {n} integer ranks (one per policy), got {ranks}")
    strict, ties = _constraints(ranks)
    D = F[strict[:, 0]] - F[strict[:, 1]]
    E = F[ties[:, 0]] - F[ties[:, 1]]
    # Primal: min t s.t. D r >= margin, E r = 0, -t <= r <= t. Variables (r, t).
    c = np.zeros(d + 1)
    c[-1] = 1.0
    I = np.eye(d)
    A_ub = np.vstack([np.hstack([-D, np.zeros((len(D), 1))]),
                      np.hstack([I, -np.ones((d, 1))]), np.hstack([-I, -np.ones((d, 1))])])
    b_ub = np.concatenate([-margin * np.ones(len(D)), np.zeros(2 * d)])
    A_eq = np.hstack([E, np.zeros((len(E), 1))]) if len(E) else None
    b_eq = np.zeros(len(E)) if len(E) else None
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                  bounds=[(None, None)] * d + [(0, None)], method="highs")
    if res.status == 0:
        r = res.x[:d]
        viol = max(float(np.max(margin - D @ r, initial=0.0)), float(np.max(np.abs(E @ r), initial=0.0)))
        return LinearExpressibility(feasible=True, reward=r.reshape(shape), multipliers=None,
                                    tie_multipliers=None, certificate=viol, strict_pairs=strict,
                                    tie_pairs=ties, iterations=int(res.nit))
    if res.status != 2:
        raise RuntimeError(f"the expressibility LP failed: {res.message}")
    # Farkas alternative: y >= 0, sum y = 1, z free, minimise ||D^T y + E^T z||_1 (0 iff infeasible).
    m, q = len(D), len(E)
    # variables y (m), z (q), u (d) with -u <= D^T y + E^T z <= u
    c2 = np.concatenate([np.zeros(m + q), np.ones(d)])
    G = np.hstack([D.T, E.T]) if q else D.T
    A2 = np.vstack([np.hstack([G, -np.eye(d)]), np.hstack([-G, -np.eye(d)])])
    A2eq = np.concatenate([np.ones(m), np.zeros(q + d)])[None, :]
    res2 = linprog(c2, A_ub=A2, b_ub=np.zeros(2 * d), A_eq=A2eq, b_eq=[1.0],
                   bounds=[(0, None)] * m + [(None, None)] * q + [(0, None)] * d, method="highs")
    y, z = res2.x[:m], res2.x[m:m + q]
    resid = float(np.max(np.abs(D.T @ y + (E.T @ z if q else 0.0))))
    return LinearExpressibility(feasible=False, reward=None, multipliers=y, tie_multipliers=z,
                                certificate=resid, strict_pairs=strict, tie_pairs=ties,
                                iterations=int(res2.nit))


def _check_policies(mdp, policies):
    if not (isinstance(policies, (list, tuple)) or (isinstance(policies, np.ndarray) and policies.ndim)):
        raise TypeError(f"policies must be a sequence of policies, got {type(policies).__name__}")
    if len(policies) == 0:
        raise ValueError("policies must not be empty")
    return [mdp.check_policy(p, f"policies[{i}]") for i, p in enumerate(policies)]


def _ordering_ranks(ordering):
    if isinstance(ordering, PolicyOrdering):
        return ordering.ranks
    ranks = check_array(ordering, "ordering", ndim=1)
    if not np.all(ranks == np.round(ranks)):
        raise ValueError("ordering must hold integer ranks (0 = worst tie class)")
    return ranks.astype(int)


@renamed_parameters(env="mdp")
def mr_expressible(mdp, ordering, policies: Sequence, gamma: float, margin: float = 1.0):
    r"""Is an ordering of finitely many policies induced by some Markov reward (fixed gamma)?

    For a fixed environment and discount, :math:`J_r(\pi) = \langle m^\pi_\gamma, r\rangle` is
    linear in :math:`r[s, a]` (an :math:`R[s,a,s']` reward acts only through its expectation, so
    (S, A) rewards lose nothing). With tie classes sorted from worst to best, the ordering is
    MR-expressible iff the linear system

    .. math::
        D r \ge \mathbf 1, \qquad E r = 0

    is feasible, where each row of :math:`D` is :math:`m^{\pi_i}_\gamma - m^{\pi_j}_\gamma` for
    consecutive classes (:math:`\pi_i` better) and each row of :math:`E` the difference between a
    tied policy and its class head (a strict gap :math:`\delta > 0` can be rescaled to 1 =
    ``margin``). When feasible the LP returns a reward of least max-norm. When not, by Farkas'
    lemma there are :math:`y \ge 0` with :math:`\sum y = 1` and a free :math:`z` with
    :math:`D^\top y + E^\top z = 0`: for any :math:`r`, :math:`0 = y^\top D r + z^\top E r \ge 1`
    would follow, a contradiction; the certificate and its residual are returned. The formalism
    is Subramani et al. (2024)'s MR; the LP test is ours.

    Parameters
    ----------
    mdp : TabularMDP
        The environment (transitions and initial distribution). ``env`` is deprecated.
    ordering : PolicyOrdering or int array, shape (n,)
        Ranks (higher is better, equal is a tie).
    policies : sequence of n policies, each (S, A) or int (S,)
    gamma : float in [0, 1)
    margin : float > 0
        Required gap between consecutive classes (any positive value gives the same verdict).

    Returns
    -------
    LinearExpressibility

    Examples
    --------
    >>> pols = [[[p, 1 - p]] for p in (0.0, 0.5, 1.0)]
    >>> mr_expressible(one_state_env(), [0, 1, 2], pols, gamma=0.5).feasible
    True
    >>> cert = mr_expressible(one_state_env(), [0, 2, 1], pols, gamma=0.5)   # interior optimum
    >>> cert.feasible, bool(cert.certificate < 1e-9)
    (False, True)
    """
    mdp = _check_mdp(mdp)
    pols = _check_policies(mdp, policies)
    discounted = _with_gamma(mdp, gamma)
    F = np.array([discounted.occupancy(p).ravel() for p in pols])
    return _linear_expressible(F, _ordering_ranks(ordering), check_positive(margin, "margin"),
                               (mdp.n_states, mdp.n_actions))


@renamed_parameters(env="mdp")
def lar_expressible(mdp, ordering, policies: Sequence, margin: float = 1.0):
    r"""Is an ordering of finitely many policies induced by some limit-average reward?

    The same linear test as :func:`mr_expressible`, with the Cesàro distributions
    :math:`\nu^\pi` (:func:`~prefrl.mdp.occupancy.limit_average_occupancy`) in place of
    :math:`m^\pi_\gamma`: rows of :math:`D` are :math:`\nu^{\pi_i} - \nu^{\pi_j}` for consecutive
    classes, rows of :math:`E` differences of tied policies, and the ordering is
    LAR-expressible iff :math:`D r \ge \mathbf 1,\ E r = 0` is feasible (Farkas certificate
    otherwise). Formalism 2 of Subramani et al. (2024); the LP test is ours.

    Parameters
    ----------
    mdp : TabularMDP
    ordering : PolicyOrdering or int array, shape (n,)
    policies : sequence of n policies
    margin : float > 0

    Returns
    -------
    LinearExpressibility

    Examples
    --------
    >>> pols = [[[1 - p, p], [1, 0]] for p in (0.0, 0.5, 1.0)]
    >>> # reward 1 on 'stay' under MR ranks p = 0 > 0.5 > 1; LAR must tie p = 0.5 and p = 1
    >>> lar_expressible(stay_go_env(), [2, 1, 0], pols).feasible
    False
    """
    mdp = _check_mdp(mdp)
    pols = _check_policies(mdp, policies)
    F = np.array([limit_average_occupancy(mdp, p).ravel() for p in pols])
    return _linear_expressible(F, _ordering_ranks(ordering), check_positive(margin, "margin"),
                               (mdp.n_states, mdp.n_actions))
