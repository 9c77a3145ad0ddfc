r"""Occupancy measures of stationary policies: discounted, normalised and limit-average.

For a stationary policy :math:`\pi` on a tabular MDP with initial distribution :math:`\mu_0`:

- :func:`discounted_occupancy`: :math:`m^\pi_\gamma(s, a) = \sum_t \gamma^t \Pr(s_t = s, a_t = a)`,
  the discounted state-action occupancy (Puterman 1994, Sec. 6.9; the dual variables of the LP);
- :func:`discounted_state_distribution`: :math:`d^\pi_\rho = (1 - \gamma) \sum_a m^\pi_\gamma`,
  the normalised discounted state distribution of policy-gradient theory (Agarwal, Kakade, Lee and
  Mahajan 2021);
- :func:`cesaro_limit`: the Cesàro limit of a stochastic matrix;
- :func:`limit_average_occupancy`: the Cesàro (limit-average) state-action distribution, computed
  exactly for any finite chain, several recurrent classes and periodic chains included (Puterman
  1994, Appendix A; the stationary distributions by the GTH elimination of Grassmann, Taksar and
  Heyman 1985).

``J_r(pi) = <m, r>`` for the discounted return and ``<nu, r>`` for the average reward. The method
:meth:`TabularMDP.occupancy` is the discounted occupancy with the MDP's own discount (exact linear
solve, sparse MDPs included); these functions add a discount of one's choice, the normalised state
distribution and the average-reward case.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_stochastic_matrix
from ._tabular import TabularMDP

__all__ = [
    "cesaro_limit",
    "discounted_occupancy",
    "discounted_state_distribution",
    "limit_average_occupancy",
]


def _check_infinite(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a prefrl.mdp.TabularMDP, got {type(mdp).__name__}")
    if mdp.horizon is not None:
        raise ValueError("mdp must be an infinite-horizon TabularMDP (horizon=None)")
    return mdp


@renamed_parameters(env="mdp")
def discounted_occupancy(mdp, policy, gamma: float | None = None) -> np.ndarray:
    r"""Discounted state-action occupancy of a stationary policy.

    .. math::
        m^\pi_\gamma(s, a) = \sum_{t \ge 0} \gamma^t \Pr_{\mu_0, \pi}(s_t = s, a_t = a),
        \qquad J_r(\pi) = \langle m^\pi_\gamma, r \rangle,

    with :math:`\mu_0` the environment's initial distribution, :math:`\gamma \in [0, 1)` the
    discount and :math:`r[s, a]` an expected reward (Puterman 1994, Sec. 6.9; Altman 1999).
    :meth:`TabularMDP.occupancy` is the same with the MDP's own discount.

    Parameters
    ----------
    mdp : TabularMDP
        Infinite-horizon (its reward is ignored).
    policy : array, shape (S, A), or int array (S,)
    gamma : float in [0, 1), optional
        The discount; the MDP's own by default.

    Returns
    -------
    array, shape (S, A)

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> discounted_occupancy(envs.one_state_env(), [[0.25, 0.75]], gamma=0.5)
    array([[0.5, 1.5]])
    """
    mdp = _check_infinite(mdp)
    if gamma is None:
        return mdp.occupancy(policy)
    gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
    return TabularMDP(mdp.transitions, np.zeros((mdp.n_states, mdp.n_actions)), gamma,
                      mdp.initial).occupancy(policy)


def _gth_stationary(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible stochastic matrix by the GTH elimination.

    Grassmann, Taksar and Heyman (1985): state censoring with no subtraction, so tiny transition
    probabilities keep their relative accuracy.
    """
    A = np.array(P, dtype=np.float64)
    n = A.shape[0]
    reducible = ValueError("the policy's chain is numerically reducible (a transition probability "
                           "underflows or its stationary masses span more than the float range); "
                           "the limit-average distribution cannot be computed reliably")
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            for k in range(n - 1, 0, -1):
                out = A[k, :k].sum()
                if not out > 0:
                    raise reducible
                A[:k, k] /= out
                A[:k, :k] += np.outer(A[:k, k], A[k, :k])
            x = np.zeros(n)
            x[0] = 1.0
            for j in range(1, n):
                x[j] = x[:j] @ A[:j, j]
            return x / x.sum()
    except FloatingPointError:
        raise reducible from None


def cesaro_limit(P) -> np.ndarray:
    r"""The Cesàro limit of a stochastic matrix, exactly, by its recurrent classes.

    .. math::
        P^* = \lim_{N\to\infty} \frac1N \sum_{t<N} P^t,

    which exists for every finite stochastic matrix (Puterman 1994, Thm A.6). Each closed
    communicating class :math:`C` of the support graph has a unique stationary distribution
    :math:`\sigma_C` (by the subtraction-free GTH elimination; Grassmann, Taksar and Heyman 1985),
    a transient state :math:`s` is absorbed into :math:`C` with probability :math:`x_C(s)` solving
    :math:`(I - P_{TT}) x_C = P_{TC}\mathbf 1`, and :math:`P^*[s, \cdot] = \sum_C x_C(s)\,\sigma_C`
    (Puterman 1994, Sec. A.4). Periodic chains are handled exactly. A chain that is reducible only
    below rounding (a transient class leaking with probability below float resolution, or
    stationary masses spanning more than the float range) raises ValueError.

    Parameters
    ----------
    P : array, shape (n, n)
        Row-stochastic.

    Returns
    -------
    array, shape (n, n)
        Row-stochastic, with :math:`P^* P = P P^* = P^* P^* = P^*`.

    Examples
    --------
    A periodic chain (its powers do not converge, their average does):

    >>> cesaro_limit([[0.0, 1.0], [1.0, 0.0]])
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    P = check_stochastic_matrix(P, "P")
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"P must be a square matrix, got shape {P.shape}")
    return _cesaro_limit(P)


def _cesaro_limit(Ppi: np.ndarray) -> np.ndarray:
    S = Ppi.shape[0]
    n, labels = connected_components(Ppi > 0, directed=True, connection="strong")
    Pstar = np.zeros((S, S))
    closed = []
    for c in range(n):
        idx = np.flatnonzero(labels == c)
        # A class is recurrent iff it is closed: no edge of the support graph leaves it.
        if not np.any(np.delete(Ppi[idx], idx, axis=1) > 0):
            stat = _gth_stationary(Ppi[np.ix_(idx, idx)])
            Pstar[np.ix_(idx, idx)] = np.broadcast_to(stat, (len(idx), len(idx)))
            closed.append((idx, stat))
    trans = np.flatnonzero(~np.isin(np.arange(S), np.concatenate([c[0] for c in closed])))
    if trans.size:
        # Absorption probabilities into each closed class: (I - P_TT) X = P_TC 1. The diagonal
        # 1 - P[s, s] is formed as the sum of the row's other entries, which keeps its accuracy
        # when P[s, s] is within rounding of 1.
        M = -Ppi[np.ix_(trans, trans)]
        off = np.array([np.delete(Ppi[s], s).sum() for s in trans])
        M[np.diag_indices(trans.size)] = off
        B = np.stack([Ppi[np.ix_(trans, idx)].sum(axis=1) for idx, _ in closed], axis=1)
        try:
            X = np.linalg.solve(M, B)
        except np.linalg.LinAlgError:
            X = np.full(B.shape, np.nan)
        if not (np.all(np.isfinite(X)) and np.allclose(X.sum(axis=1), 1.0, atol=1e-8)):
            raise ValueError("the policy's chain is numerically ill-conditioned (a transient class "
                             "leaks with a probability below rounding); its limit-average "
                             "distribution cannot be computed reliably")
        X = np.clip(X, 0.0, None)
        for j, (idx, stat) in enumerate(closed):
            Pstar[np.ix_(trans, idx)] = np.outer(X[:, j], stat)
    return Pstar


@renamed_parameters(env="mdp")
def limit_average_occupancy(mdp, policy) -> np.ndarray:
    r"""Limit-average (Cesàro) state-action distribution of a stationary policy.

    .. math::
        \nu^\pi(s, a) = \lim_{N \to \infty} \frac1N \sum_{t < N} \Pr_{\mu_0, \pi}(s_t = s, a_t = a)
        = \big(\mu_0^\top P_\pi^*\big)(s)\, \pi(a|s),
        \qquad P_\pi^* = \lim_{N\to\infty} \frac1N \sum_{t<N} P_\pi^t,

    so the limit-average value of an expected reward :math:`r[s, a]` is
    :math:`\langle \nu^\pi, r \rangle`. :math:`P_\pi[s, s'] = \sum_a \pi(a|s) P[s, a, s']`. The
    Cesàro limit exists for every finite chain (Puterman 1994, Thm A.6) and is computed exactly:
    each closed communicating class :math:`C` (found on the support graph of :math:`P_\pi`) has a
    unique stationary distribution :math:`\sigma_C`; a transient state :math:`s` reaches :math:`C`
    with probability :math:`x_C(s)` from :math:`(I - P_{TT}) x_C = P_{TC}\mathbf 1`; and
    :math:`P^*[s, \cdot] = \sum_C x_C(s)\, \sigma_C` (Puterman 1994, Sec. A.4). Several recurrent
    classes and periodic chains are handled exactly. The stationary distributions use the
    subtraction-free GTH elimination (Grassmann, Taksar and Heyman 1985), so tiny transition
    probabilities keep their relative accuracy. Since :math:`\nu^\pi` is discontinuous in the
    support of :math:`P_\pi`, a chain whose transient class leaks only with probability below
    rounding raises ValueError rather than returning an unreliable answer.

    Parameters
    ----------
    mdp : TabularMDP
        Infinite-horizon (reward and discount ignored).
    policy : array, shape (S, A), or int array (S,)

    Returns
    -------
    array, shape (S, A), summing to 1

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> limit_average_occupancy(envs.stay_go_env(), [[0.9, 0.1], [0.5, 0.5]])
    array([[0. , 0. ],
           [0.5, 0.5]])
    """
    mdp = _check_infinite(mdp)
    pi = mdp.check_policy(policy)
    Ppi = np.einsum("sa,sat->st", pi, mdp.dense_transitions())
    nu_s = mdp.initial @ _cesaro_limit(Ppi)
    return np.maximum(nu_s, 0.0)[:, None] * pi


def discounted_state_distribution(mdp: TabularMDP, policy, initial=None) -> np.ndarray:
    r"""The normalised discounted state distribution :math:`d^\pi_\rho`.

    .. math::
        d^\pi_\rho(s) = (1 - \gamma) \sum_{t \ge 0} \gamma^t \Pr(s_t = s \mid s_0 \sim \rho, \pi)
        = (1 - \gamma)\, \big[\rho^\top (I - \gamma P_\pi)^{-1}\big](s).

    Agarwal, Kakade, Lee and Mahajan (2021), "On the Theory of Policy Gradient Methods" (JMLR),
    the discounted state visitation distribution.

    Parameters
    ----------
    mdp : TabularMDP
        Infinite-horizon.
    policy : array, shape (S, A)
    initial : array, shape (S,), optional
        :math:`\rho`; the MDP's :math:`\mu_0` by default.

    Returns
    -------
    array, shape (S,), sums to 1

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.goal_chain(3, 2, gamma=0.5)
    >>> discounted_state_distribution(mdp, np.array([2, 2, 1]))     # always forward
    array([0.5 , 0.25, 0.25])
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a prefrl.mdp.TabularMDP, got {type(mdp).__name__}")
    if mdp.horizon is not None:
        raise ValueError("discounted_state_distribution needs an infinite-horizon MDP")
    occ = mdp.occupancy(policy, initial)
    return (1.0 - mdp.gamma) * occ.sum(axis=1)
