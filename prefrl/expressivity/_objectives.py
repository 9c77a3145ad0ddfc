r"""The occupancy-based formalisms as objective classes: MR, LAR, ONMR, RRL, OMORL, GOMORL (lex).

Part of :mod:`prefrl.expressivity`. Subramani, Williams, Heitmann, Holm, Griffin and Skalse
(ICLR 2024), "On the Expressivity of Objective-Specification Formalisms in Reinforcement
Learning": an objective induces an ordering of the stationary policies of an environment (a
:class:`~prefrl.mdp.TabularMDP` whose own reward and discount are ignored). The definitions are
our reading of the paper's formalisms; the exact evaluations are
ours, from the occupancy measures of :mod:`prefrl.mdp.occupancy`.

- :class:`MarkovReward` (MR): :math:`\langle m^\pi_\gamma, r\rangle`;
- :class:`LimitAverageReward` (LAR): :math:`\langle \nu^\pi, r\rangle`;
- :class:`OuterNonlinearMR` (ONMR): :math:`f(\langle m^\pi_\gamma, r\rangle)`;
- :class:`RegularisedRL` (RRL): reward minus an entropy or KL-to-``pi_ref`` regulariser;
- :class:`OuterMultiObjective` (OMORL): :math:`f(J_{r_1}(\pi), \dots, J_{r_k}(\pi))`;
- :class:`LexicographicMultiObjective` (GOMORL with the lexicographic order).

Every objective has ``values(policy)`` (a vector, compared lexicographically by
:func:`~prefrl.expressivity.policy_ordering`) and, when real-valued, ``objective(policy)``. The
environment is the attribute ``mdp`` (``env`` is deprecated).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import xlogy

from .._deprecation import renamed_parameters, warn_deprecated
from .._validation import (
    check_array,
    check_in_range,
    check_nonnegative,
    check_stochastic_matrix,
    frozen_copy,
)
from ..mdp import TabularMDP
from ..mdp.envs import one_state_env, stay_go_env  # noqa: F401  (used by the doctests)
from ..mdp.occupancy import limit_average_occupancy

__all__ = [
    "LexicographicMultiObjective",
    "LimitAverageReward",
    "MarkovReward",
    "OuterMultiObjective",
    "OuterNonlinearMR",
    "RegularisedRL",
]


# ---------------------------------------------------------------------------- validation
def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a prefrl.mdp.TabularMDP (the environment), "
                        f"got {type(mdp).__name__}")
    if mdp.horizon is not None:
        raise ValueError("mdp must be an infinite-horizon TabularMDP (horizon=None)")
    return mdp


def _check_reward_shape(mdp, reward, name="reward") -> np.ndarray:
    """A reward of shape (S, A) or (S, A, S), returned as a read-only copy (validated)."""
    S, A = mdp.n_states, mdp.n_actions
    R = check_array(reward, name, ndim=(2, 3))
    if R.shape[:2] != (S, A) or (R.ndim == 3 and R.shape[2] != S):
        raise ValueError(f"{name} must have shape ({S}, {A}) or ({S}, {A}, {S}), got {R.shape}")
    return frozen_copy(R)


def _check_reward(mdp, reward, name="reward"):
    """Expected reward r[s, a] (S, A) from an (S, A) or (S, A, S) reward."""
    R = _check_reward_shape(mdp, reward, name)
    if R.ndim == 3:
        R = frozen_copy(np.einsum("sat,sat->sa", mdp.dense_transitions(), R))
    return R


def _with_gamma(mdp, gamma):
    gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
    return TabularMDP(mdp.transitions, np.zeros((mdp.n_states, mdp.n_actions)), gamma, mdp.initial)


# ---------------------------------------------------------------------------- objectives
class _Objective:
    """Base of the formalisms: ``values(policy)`` returns a 1-D vector compared lexicographically."""

    mdp: TabularMDP

    @property
    def env(self) -> TabularMDP:
        """Deprecated name of :attr:`mdp`."""
        warn_deprecated(f"{type(self).__name__}.env is deprecated, use {type(self).__name__}.mdp")
        return self.mdp

    def values(self, policy) -> np.ndarray:  # pragma: no cover - overridden
        r"""The objective's value vector :math:`v(\pi) \in \mathbb{R}^k` (k = 1 unless lexicographic).

        Parameters
        ----------
        policy : array, shape (S, A), or int array (S,)

        Returns
        -------
        array, shape (k,)

        Examples
        --------
        >>> MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5).values([[1.0, 0.0]])
        array([2.])
        """
        raise NotImplementedError

    def __call__(self, policy) -> float:
        r"""The real value :math:`J(\pi)` (ValueError for a lexicographic objective).

        Examples
        --------
        >>> MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5)([[1.0, 0.0]])
        2.0
        """
        v = self.values(policy)
        if v.size != 1:
            raise ValueError(f"{type(self).__name__} is not real-valued; use policy_ordering")
        return float(v[0])


class MarkovReward(_Objective):
    r"""Markov reward (MR): discounted expected return.

    .. math::
        J(\pi) = \mathbb{E}_{\mu_0,\pi}\Big[\sum_{t\ge0} \gamma^t R(s_t, a_t, s_{t+1})\Big]
        = \langle m^\pi_\gamma, r \rangle,

    :math:`r[s,a] = \sum_{s'} P[s,a,s'] R[s,a,s']`, :math:`m^\pi_\gamma` the discounted occupancy
    (:func:`~prefrl.mdp.occupancy.discounted_occupancy`). Formalism 1 of Subramani et al. (2024)
    (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
        The environment (its own reward and discount are ignored). ``env`` is deprecated.
    reward : array, shape (S, A) or (S, A, S)
    gamma : float in [0, 1)

    Examples
    --------
    >>> round(MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5)([[0.25, 0.75]]), 6)
    0.5
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, reward, gamma: float):
        self.mdp = _check_mdp(mdp)
        self.reward = _check_reward(mdp, reward)
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
        self._discounted = _with_gamma(mdp, self.gamma)

    def values(self, policy) -> np.ndarray:
        return np.array([float(np.sum(self._discounted.occupancy(policy) * self.reward))])


class LimitAverageReward(_Objective):
    r"""Limit-average reward (LAR).

    .. math::
        J(\pi) = \lim_{N\to\infty} \frac1N\, \mathbb{E}_{\mu_0,\pi}\Big[\sum_{t<N}
        R(s_t, a_t, s_{t+1})\Big] = \langle \nu^\pi, r \rangle,

    :math:`\nu^\pi` the Cesàro state-action distribution
    (:func:`~prefrl.mdp.occupancy.limit_average_occupancy`); the limit exists for stationary
    policies of finite MDPs, so lim and liminf agree. Formalism 2 of Subramani et al. (2024) (our
    reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    reward : array, shape (S, A) or (S, A, S)

    Examples
    --------
    >>> round(LimitAverageReward(stay_go_env(), [[0.0, 0.0], [1.0, 1.0]])([[0.99, 0.01], [1, 0]]), 6)
    1.0
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, reward):
        self.mdp = _check_mdp(mdp)
        self.reward = _check_reward(mdp, reward)

    def values(self, policy) -> np.ndarray:
        return np.array([float(np.sum(limit_average_occupancy(self.mdp, policy) * self.reward))])


class OuterNonlinearMR(_Objective):
    r"""Outer nonlinear Markov reward (ONMR): a function of the expected return.

    .. math::
        J(\pi) = f\big(\langle m^\pi_\gamma, r \rangle\big), \qquad f: \mathbb{R} \to \mathbb{R}.

    Formalism 6 of Subramani et al. (2024) (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    gamma : float in [0, 1)
    f : callable float -> float

    Examples
    --------
    >>> J = OuterNonlinearMR(one_state_env(), [[1.0, 0.0]], 0.5, lambda x: -(x - 1.0) ** 2)
    >>> [round(J([[p, 1 - p]]), 6) for p in (0.0, 0.5, 1.0)]
    [-1.0, 0.0, -1.0]
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, reward, gamma: float, f: Callable[[float], float]):
        if not callable(f):
            raise TypeError("f must be callable")
        self.inner = MarkovReward(mdp, reward, gamma)
        self.mdp, self.f = self.inner.mdp, f

    def values(self, policy) -> np.ndarray:
        out = float(self.f(self.inner(policy)))
        if not np.isfinite(out):
            raise ValueError(f"f returned {out}, must be finite")
        return np.array([out])


class RegularisedRL(_Objective):
    r"""Regularised RL (RRL): discounted reward minus a per-state policy regulariser.

    .. math::
        J(\pi) = \mathbb{E}_{\mu_0,\pi}\Big[\sum_{t\ge0}\gamma^t\big(r(s_t,a_t)
        - \alpha\, F(\pi(\cdot|s_t))\big)\Big]
        = \sum_s d^\pi_\gamma(s)\Big(\sum_a \pi(a|s) r[s,a] - \alpha F_s(\pi(\cdot|s))\Big),

    with :math:`d^\pi_\gamma(s) = \sum_a m^\pi_\gamma(s,a)`, :math:`\alpha \ge 0` the weight, and
    :math:`F_s(q) = \sum_a q_a \log q_a` (negative entropy) when ``pi_ref`` is None, else
    :math:`F_s(q) = \mathrm{KL}(q \,\|\, \pi_{ref}(\cdot|s))` (infinite outside the reference's
    support, which raises). Evaluated exactly from the occupancy; with a reference its maximiser
    is :meth:`prefrl.mdp.TabularMDP.soft_solve` with ``beta = alpha``. Formalism 12 of Subramani
    et al. (2024) (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    gamma : float in [0, 1)
    alpha : float >= 0
        Regulariser weight (``beta`` in :meth:`~prefrl.mdp.TabularMDP.soft_solve`).
    pi_ref : array, shape (A,) or (S, A), optional
        The reference policy of the KL regulariser (``reference`` is deprecated).

    Examples
    --------
    >>> J = RegularisedRL(one_state_env(), [[1.0, 0.0]], 0.0, alpha=1.0)
    >>> round(J([[0.5, 0.5]]), 6), round(float(np.log(2)) + 0.5, 6)
    (1.193147, 1.193147)
    """

    @renamed_parameters(env="mdp", reference="pi_ref")
    def __init__(self, mdp, reward, gamma: float, alpha: float, pi_ref=None):
        self.mdp = _check_mdp(mdp)
        self.reward = _check_reward(mdp, reward)
        self.gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
        self.alpha = check_nonnegative(alpha, "alpha")
        S, A = mdp.n_states, mdp.n_actions
        if pi_ref is None:
            self.pi_ref = None
        else:
            ref = check_array(pi_ref, "pi_ref", ndim=(1, 2))
            if ref.ndim == 1:
                ref = np.broadcast_to(ref, (S, A))
            self.pi_ref = check_stochastic_matrix(ref, "pi_ref", shape=(S, A))
        self._discounted = _with_gamma(mdp, self.gamma)

    @property
    def reference(self):
        """Deprecated name of :attr:`pi_ref`."""
        warn_deprecated("RegularisedRL.reference is deprecated, use RegularisedRL.pi_ref")
        return self.pi_ref

    def values(self, policy) -> np.ndarray:
        pi = self.mdp.check_policy(policy)
        d = self._discounted.occupancy(pi).sum(axis=1)
        neg_ent = xlogy(pi, pi).sum(axis=1)
        if self.pi_ref is None:
            F = neg_ent
        else:
            outside = (pi > 0) & (self.pi_ref == 0)
            if np.any(outside & (d[:, None] > 0)):
                s, a = np.argwhere(outside & (d[:, None] > 0))[0]
                raise ValueError(
                    f"policy[{s}, {a}] > 0 where pi_ref is 0: the KL regulariser is infinite"
                )
            with np.errstate(divide="ignore"):
                F = neg_ent - xlogy(pi, np.where(outside, 1.0, self.pi_ref)).sum(axis=1)
        per_state = np.einsum("sa,sa->s", pi, self.reward) - self.alpha * F
        return np.array([float(d @ per_state)])


class OuterMultiObjective(_Objective):
    r"""Outer multi-objective RL (OMORL): a function of several expected returns.

    .. math::
        J(\pi) = f\big(J_{r_1}(\pi), \dots, J_{r_k}(\pi)\big), \qquad
        J_{r_i}(\pi) = \langle m^\pi_\gamma, r_i \rangle,\quad f: \mathbb{R}^k \to \mathbb{R}.

    Formalism 8 of Subramani et al. (2024) (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    rewards : array, shape (k, S, A)
    gamma : float in [0, 1)
    f : callable, array (k,) -> float

    Examples
    --------
    >>> J = OuterMultiObjective(one_state_env(), [[[1.0, 0.0]], [[0.0, 1.0]]], 0.0, np.min)
    >>> round(J([[0.5, 0.5]]), 6), round(J([[1.0, 0.0]]), 6)
    (0.5, 0.0)
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, rewards, gamma: float, f: Callable[[np.ndarray], float]):
        if not callable(f):
            raise TypeError("f must be callable")
        self.mdp = _check_mdp(mdp)
        R = check_array(rewards, "rewards", shape=(None, mdp.n_states, mdp.n_actions))
        self.rewards, self.f = frozen_copy(R), f
        self._discounted = _with_gamma(mdp, gamma)
        self.gamma = self._discounted.gamma

    def returns(self, policy) -> np.ndarray:
        r"""The vector :math:`(J_{r_i}(\pi))_i`, shape (k,).

        Examples
        --------
        >>> OuterMultiObjective(one_state_env(), [[[1.0, 0.0]], [[0.0, 1.0]]], 0.0, np.min).returns(
        ...     [[0.25, 0.75]]).tolist()
        [0.25, 0.75]
        """
        return np.einsum("sa,ksa->k", self._discounted.occupancy(policy), self.rewards)

    def values(self, policy) -> np.ndarray:
        out = float(self.f(self.returns(policy)))
        if not np.isfinite(out):
            raise ValueError(f"f returned {out}, must be finite")
        return np.array([out])


class LexicographicMultiObjective(OuterMultiObjective):
    r"""Generalised OMORL (GOMORL) with the lexicographic order: a comparator, not a real value.

    .. math::
        \pi_1 \succeq \pi_2 \iff \big(J_{r_1}(\pi_1), \dots, J_{r_k}(\pi_1)\big)
        \succeq_{\mathrm{lex}} \big(J_{r_1}(\pi_2), \dots, J_{r_k}(\pi_2)\big),

    :math:`J_{r_i}(\pi) = \langle m^\pi_\gamma, r_i\rangle`. On a continuum of policies a
    lexicographic order can have no real-valued representation, so this objective is only
    compared, through :func:`~prefrl.expressivity.policy_ordering`. Formalism 13 of Subramani et
    al. (2024) (our reading of the paper's definition).

    Parameters
    ----------
    mdp : TabularMDP
    rewards : array, shape (k, S, A)
        :math:`r_1` is the most important.
    gamma : float in [0, 1)

    Examples
    --------
    >>> from prefrl.expressivity import policy_ordering
    >>> lex = LexicographicMultiObjective(one_state_env(3), [[[1.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]], 0.0)
    >>> policy_ordering(lex, [[[0, 1, 0]], [[1, 0, 0]], [[0, 0, 1]]]).ranks
    array([1, 2, 0])
    """

    @renamed_parameters(env="mdp")
    def __init__(self, mdp, rewards, gamma: float):
        super().__init__(mdp, rewards, gamma, lambda x: 0.0)

    def values(self, policy) -> np.ndarray:
        return self.returns(policy)
