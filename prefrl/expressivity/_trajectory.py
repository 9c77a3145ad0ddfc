r"""Finite-horizon trajectory formalisms: exact return laws (INMR) and trajectory functions (FTR).

Part of :mod:`prefrl.expressivity`. Formalisms 5 (INMR, inner nonlinear Markov reward) and 9
(FTR, functions from trajectories to reals) of Subramani et al. (ICLR 2024) (our reading of the
paper's definitions). The finite-horizon restriction and the
exact computations (dynamic programming over (state, partial return); enumeration of
trajectories) are ours.

- :func:`return_distribution` (a :class:`ReturnDistribution`): the exact law of the return;
- :class:`InnerNonlinearMR`: :math:`J(\pi) = \mathbb E[f(G_R(\xi))]`;
- :class:`TrajectoryFunction`: :math:`J(\pi) = \mathbb E[f(\xi)]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_integer
from ..mdp.envs import one_state_env  # noqa: F401  (used by the doctests)
from ..results import Result
from ._objectives import _check_mdp, _check_reward_shape, _Objective

__all__ = [
    "InnerNonlinearMR",
    "ReturnDistribution",
    "TrajectoryFunction",
    "return_distribution",
]


@dataclass(frozen=True, eq=False)
class ReturnDistribution(Result):
    r"""The exact distribution of the return :math:`G_R(\xi)` of a policy over a finite horizon.

    Attributes
    ----------
    returns : array, shape (n,)
        Distinct return values, sorted increasingly.
    probabilities : array, shape (n,)
        Their probabilities (summing to 1).
    iterations : int
        The horizon H (number of dynamic-programming steps).
    converged : bool
        True (an exact computation; a property).
    certificate : float
        :math:`|\sum_i p_i - 1|`, 0 up to rounding (a property).

    Examples
    --------
    >>> d = return_distribution(one_state_env(), [[0.5, 0.5]], [[1.0, 0.0]], horizon=1)
    >>> d.returns, d.probabilities, d.iterations, d.certificate
    (array([0., 1.]), array([0.5, 0.5]), 1, 0.0)
    """

    returns: np.ndarray
    probabilities: np.ndarray
    iterations: int

    @property
    def converged(self) -> bool:
        """True: the dynamic programme is exact after ``iterations`` = H steps."""
        return True

    @property
    def certificate(self) -> float:
        r""":math:`|\sum_i p_i - 1|`: the mass lost to rounding (0 up to rounding)."""
        return float(abs(self.probabilities.sum() - 1.0))

    def expect(self, f: Callable[[float], float]) -> float:
        r""":math:`\mathbb E[f(G)] = \sum_i p_i f(g_i)` (ValueError if f is not finite).

        Examples
        --------
        >>> ReturnDistribution(np.array([0.0, 1.0]), np.array([0.5, 0.5]), 1).expect(lambda g: g)
        0.5
        """
        vals = np.array([float(f(g)) for g in self.returns])
        if not np.all(np.isfinite(vals)):
            raise ValueError("f returned a non-finite value")
        return float(vals @ self.probabilities)


_MAX_ATOMS = 200_000


@renamed_parameters(env="mdp")
def return_distribution(mdp, policy, reward, horizon: int, gamma: float = 1.0) -> ReturnDistribution:
    r"""Exact distribution of the discounted return over a finite horizon, by dynamic programming.

    .. math::
        G_R(\xi) = \sum_{t=0}^{H-1} \gamma^t R(s_t, a_t, s_{t+1}), \qquad
        \rho_{t+1}(s', g + \gamma^t R(s,a,s')) \mathrel{+}= \rho_t(s, g)\, \pi(a|s)\, P[s,a,s'],

    starting from :math:`\rho_0(s, 0) = \mu_0(s)`; the law of :math:`G_R` is the marginal of
    :math:`\rho_H` over returns. Exact (a finite distribution); its size is at most the number of
    distinct partial returns, small when rewards take few values. For an episodic environment
    whose absorbing states have zero reward and are reached surely within :math:`H` steps (a
    tree, a DAG), this is the law of the infinite-horizon return. Raises ValueError beyond
    200000 atoms.

    Parameters
    ----------
    mdp : TabularMDP
        The environment (``env`` is deprecated).
    policy : array, shape (S, A), or int array (S,)
    reward : array, shape (S, A) or (S, A, S)
    horizon : int >= 1
    gamma : float in [0, 1]

    Returns
    -------
    ReturnDistribution

    Examples
    --------
    >>> d = return_distribution(one_state_env(), [[0.5, 0.5]], [[1.0, 0.0]], horizon=2)
    >>> d.returns.tolist(), d.probabilities.tolist()
    ([0.0, 1.0, 2.0], [0.25, 0.5, 0.25])
    """
    mdp = _check_mdp(mdp)
    pi = mdp.check_policy(policy)
    H = check_integer(horizon, "horizon", minimum=1)
    gamma = check_in_range(gamma, "gamma", 0.0, 1.0)
    S, A = mdp.n_states, mdp.n_actions
    R = _check_reward_shape(mdp, reward)
    if R.ndim == 2:
        R = np.broadcast_to(R[:, :, None], (S, A, S))
    P = mdp.dense_transitions()
    W = pi[:, :, None] * P  # Pr(a, s' | s)
    layer = {(s, 0.0): float(mdp.initial[s]) for s in range(S) if mdp.initial[s] > 0}
    for t in range(H):
        nxt: dict = {}
        disc = gamma**t
        for (s, g), p in layer.items():
            a_idx, t_idx = np.nonzero(W[s])
            for a, s2 in zip(a_idx, t_idx):
                key = (int(s2), g + disc * float(R[s, a, s2]))
                nxt[key] = nxt.get(key, 0.0) + p * W[s, a, s2]
        if len(nxt) > _MAX_ATOMS:
            raise ValueError(f"horizon: the return distribution exceeds {_MAX_ATOMS} atoms at "
                             f"step {t + 1}; use a shorter horizon or fewer reward values")
        layer = nxt
    marg: dict = {}
    for (_, g), p in layer.items():
        marg[g] = marg.get(g, 0.0) + p
    g = np.array(sorted(marg))
    return ReturnDistribution(returns=g, probabilities=np.array([marg[x] for x in g]), iterations=H)


class InnerNonlinearMR(_Objective):
    r"""Inner nonlinear Markov reward (INMR) over a finite horizon: a function of the return.

    .. math::
        J(\pi) = \mathbb E_{\mu_0, \pi}\big[f(G_R(\xi))\big], \qquad
        G_R(\xi) = \sum_{t=0}^{H-1} \gamma^t R(s_t, a_t, s_{t+1}),

    computed exactly from :func:`return_distribution`. Restriction (ours): a finite horizon
    :math:`H` (exact for episodic environments absorbed with zero reward within :math:`H`
    steps); the infinite-horizon law of :math:`G_R` is in general not finite. Formalism 5 of
    Subramani et al. (2024) (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    f : callable float -> float
    horizon : int >= 1
    gamma : float in [0, 1]

    Examples
    --------
    >>> J = InnerNonlinearMR(one_state_env(), [[1.0, 0.0]], lambda g: float(g == 1), horizon=2)
    >>> [round(J([[p, 1 - p]]), 6) for p in (0.0, 0.5, 1.0)]   # Pr(G = 1) = 2 p (1 - p)
    [0.0, 0.5, 0.0]
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, reward, f: Callable[[float], float], horizon: int, gamma: float = 1.0):
        if not callable(f):
            raise TypeError("f must be callable")
        self.mdp = _check_mdp(mdp)
        self.reward = _check_reward_shape(mdp, reward)
        self.f = f
        self.horizon = check_integer(horizon, "horizon", minimum=1)
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0)

    def values(self, policy) -> np.ndarray:
        d = return_distribution(self.mdp, policy, self.reward, self.horizon, self.gamma)
        return np.array([d.expect(self.f)])


class TrajectoryFunction(_Objective):
    r"""Functions from trajectories to reals (FTR) over a finite horizon, by exact enumeration.

    .. math::
        J(\pi) = \mathbb E_{\mu_0, \pi}\big[f(s_0, a_0, s_1, \dots, a_{H-1}, s_H)\big]
        = \sum_{\xi} \mu_0(s_0) \prod_{t<H} \pi(a_t|s_t) P[s_t, a_t, s_{t+1}]\, f(\xi),

    the sum over the trajectories of positive probability. Restriction (ours): a finite horizon
    :math:`H` and at most :math:`10^5` trajectories (:math:`(S A)^H`); exact for episodic
    environments absorbed within :math:`H` steps when :math:`f` ignores the absorbed tail.
    Formalism 9 of Subramani et al. (2024) (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    f : callable (states int array (H+1,), actions int array (H,)) -> float
    horizon : int >= 1

    Examples
    --------
    >>> J = TrajectoryFunction(one_state_env(), lambda s, a: float(a[0] != a[1]), horizon=2)
    >>> round(J([[0.25, 0.75]]), 6)
    0.375
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, f, horizon: int):
        if not callable(f):
            raise TypeError("f must be callable")
        self.mdp = _check_mdp(mdp)
        self.f = f
        self.horizon = check_integer(horizon, "horizon", minimum=1)
        if (mdp.n_states * mdp.n_actions) ** self.horizon > 100_000:
            raise ValueError("horizon: more than 1e5 trajectories to enumerate")

    def values(self, policy) -> np.ndarray:
        pi = self.mdp.check_policy(policy)
        P, H = self.mdp.dense_transitions(), self.horizon
        total = 0.0
        stack = [([int(s)], [], float(self.mdp.initial[s]))
                 for s in np.flatnonzero(self.mdp.initial > 0)]
        while stack:
            states, acts, p = stack.pop()
            if len(acts) == H:
                v = float(self.f(np.array(states), np.array(acts, dtype=int)))
                if not np.isfinite(v):
                    raise ValueError(f"f returned {v}, must be finite")
                total += p * v
                continue
            s = states[-1]
            for a in np.flatnonzero(pi[s] > 0):
                for s2 in np.flatnonzero(P[s, a] > 0):
                    stack.append(([*states, int(s2)], [*acts, int(a)], p * pi[s, a] * P[s, a, s2]))
        return np.array([total])
