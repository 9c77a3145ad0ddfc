r"""The KL-regularised (soft) optimum of a :class:`~prefrl.mdp.TabularMDP`, and backward induction.

- :func:`soft_solve` (bound as :meth:`TabularMDP.soft_solve <prefrl.mdp.TabularMDP.soft_solve>`):
  soft value iteration for :math:`\max \mathbb{E}\sum_t \gamma^t (r - \beta\,\mathrm{KL}(\pi \|
  \pi_{ref}))`, certified by McQueen's bounds (the soft operator is a :math:`\gamma`-contraction
  with :math:`T(V + c) = TV + \gamma c`). Ziebart (2010), thesis, Sec. 6.2; Haarnoja, Tang, Abbeel
  and Levine (2017), "Reinforcement Learning with Deep Energy-Based Policies", Thm 1; Geist,
  Scherrer and Pietquin (2019), "A Theory of Regularized Markov Decision Processes", Sec. 3.
- :func:`backward_induction` (bound as :meth:`TabularMDP.backward_induction
  <prefrl.mdp.TabularMDP.backward_induction>`): the exact finite-horizon optimum, hard (Puterman
  1994, Sec. 4.5) or soft (the same recursion with the log-sum-exp backup).
- the helpers shared with ``_gradients.py``: :func:`log_pi_ref` (a validated
  :math:`\log \pi_{ref}`), :func:`soft_backup`
  (:math:`\beta \log \sum_a \pi_{ref}(a|s) e^{Q(s,a)/\beta}`) and :func:`log_tilt` (the normalised
  :math:`\log(\pi_{ref} e^{z})`, the Gibbs policy).

The functions whose first argument is ``self`` are the methods of :class:`TabularMDP`, bound in its
class body (``_tabular.py``). The soft sweeps run in the numba kernel ``_kernels.value_iteration``
(a fast path of :func:`soft_backup`, kept for speed; the certificate is computed here, with
:func:`soft_backup`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._deprecation import renamed_parameters
from .._numerics import log_normalize
from .._validation import (
    check_array,
    check_distribution,
    check_integer,
    check_positive,
    check_stochastic_matrix,
)
from . import _kernels as K
from ._results import FiniteHorizonResult, SoftSolveResult
from ._solvers import mcqueen_error, mcqueen_midpoint

__all__ = ["backward_induction", "log_pi_ref", "log_tilt", "soft_backup", "soft_solve"]


def log_pi_ref(mdp, pi_ref) -> np.ndarray:
    r""":math:`\log \pi_{ref}`, shape (S, A), C-contiguous (``-inf`` where :math:`\pi_{ref}` is 0).

    ``pi_ref`` is None (uniform), an (A,) distribution shared by every state, or an (S, A)
    row-stochastic array.
    """
    S, A = mdp.n_states, mdp.n_actions
    if pi_ref is None:
        return np.full((S, A), -np.log(A))
    ref = check_array(pi_ref, "pi_ref", ndim=(1, 2))
    if ref.ndim == 1:
        ref = np.broadcast_to(check_distribution(ref, "pi_ref", size=A), (S, A))
    ref = check_stochastic_matrix(ref, "pi_ref", shape=(S, A))
    with np.errstate(divide="ignore"):
        return np.ascontiguousarray(np.log(ref))


def soft_backup(Q, logref, beta: float) -> np.ndarray:
    r"""The soft backup :math:`\beta \log \sum_a \pi_{ref}(a|s)\, e^{Q(s,a)/\beta}`, shape (S,)."""
    with np.errstate(divide="ignore"):
        return beta * logsumexp(Q / beta + logref, axis=1)


def log_tilt(logref, z) -> np.ndarray:
    r"""The normalised :math:`\log\big(\pi_{ref}(a|s)\, e^{z(s,a)}\big)`, shape (S, A), with
    :math:`-\infty` wherever :math:`\pi_{ref}` is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logpi = np.where(np.isneginf(logref), -np.inf, logref + z)
    return log_normalize(logpi, axis=1)


@renamed_parameters(reference="pi_ref")
def soft_solve(
    self, beta: float, pi_ref=None, tol: float = 1e-10, max_iter: int = 1_000_000
) -> SoftSolveResult:
    r"""KL-regularised optimum by soft value iteration.

    Maximises :math:`\mathbb{E}\sum_t \gamma^t \big(r(s_t,a_t) - \beta\,
    \mathrm{KL}(\pi(\cdot|s_t) \,\|\, \pi_{ref}(\cdot|s_t))\big)`, whose optimum solves

    .. math::
        Q(s,a) = r(s,a) + \gamma \sum_{s'} P[s,a,s'] V(s'), \quad
        V(s) = \beta \log \sum_a \pi_{ref}(a|s)\, e^{Q(s,a)/\beta}, \quad
        \pi(a|s) = \pi_{ref}(a|s)\, e^{(Q(s,a) - V(s))/\beta}.

    With a uniform :math:`\pi_{ref}` this is the entropy-regularised (maximum-entropy) problem
    :math:`\max \mathbb{E}\sum_t\gamma^t(r + \beta \mathcal{H}(\pi(\cdot|s_t)))` shifted by
    :math:`-\beta \log A/(1-\gamma)`. As :math:`\beta \to 0`,
    :math:`V^* - \beta \max_{s,a} \log(1/\pi_{ref}(a|s))/(1-\gamma) \le V_\beta \le V^*` when
    :math:`\pi_{ref}` has full support. Ziebart (2010) thesis, Sec. 6.2; Haarnoja et al. (2017),
    Thm 1; Geist, Scherrer and Pietquin (2019), Sec. 3. The soft operator is a
    :math:`\gamma`-contraction with :math:`T(V + c) = TV + \gamma c`, so the same span rule and
    McQueen bounds as :meth:`solve` certify ``value_error_bound``.

    Parameters
    ----------
    beta : float > 0
        KL weight (temperature; some papers call it alpha or tau).
    pi_ref : array, shape (A,) or (S, A), optional
        :math:`\pi_{ref}`; uniform by default. Zeros are allowed (those actions get 0).
        (``reference`` is its deprecated name.)
    tol : float > 0
        Stop when :math:`\frac{\gamma}{1-\gamma}\mathrm{span}(TV - V) \le` ``tol``.
    max_iter : int

    Returns
    -------
    SoftSolveResult
        ``certificate`` is the soft Bellman residual :math:`\|T_\beta V - V\|_\infty`.

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.ones((1, 2, 1))      # one state, two actions, reward 1 or 0
    >>> res = TabularMDP(P, [[1.0, 0.0]], gamma=0.5).soft_solve(beta=1.0)
    >>> res.policy.round(4), res.values.round(4)
    (array([[0.7311, 0.2689]]), array([1.2402]))
    """
    if self.horizon is not None:
        raise ValueError(
            "this MDP has a finite horizon; use backward_induction(beta=...) instead"
        )
    beta = check_positive(beta, "beta")
    tol = check_positive(tol, "tol")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    logref = log_pi_ref(self, pi_ref)
    g = self.gamma
    V0 = soft_backup(self._r, logref, beta)
    V, TV, _, it, conv = K.value_iteration(
        *self._layout(), self._r, g, beta, logref, V0, tol, max_iter
    )
    Vhat, prev, _ = mcqueen_midpoint(V, TV, g)
    Q = self._q(Vhat)
    TVh = soft_backup(Q, logref, beta)
    err, _, residual = mcqueen_error(Vhat, TVh, g)
    logpi = log_tilt(logref, (Q - TVh[:, None]) / beta)
    return SoftSolveResult(
        values=Vhat,
        q_values=Q,
        policy=np.exp(logpi),
        log_policy=logpi,
        iterations=int(it),
        beta=beta,
        certificate=residual,
        value_error_bound=min(err, prev),
        converged=bool(conv),
    )


@renamed_parameters(reference="pi_ref")
def backward_induction(
    self, horizon: int | None = None, beta: float | None = None, pi_ref=None, terminal=None
) -> FiniteHorizonResult:
    r"""Exact finite-horizon optimum (hard or KL-regularised) by backward induction.

    .. math::
        V_H = V_{term}, \quad Q_t = r + \gamma P V_{t+1}, \quad
        V_t(s) = \max_a Q_t(s, a) \ \text{ or } \
        V_t(s) = \beta \log \sum_a \pi_{ref}(a|s) e^{Q_t(s,a)/\beta},

    for :math:`t = H-1, \dots, 0`, with the time-dependent policy greedy in :math:`Q_t`
    (first maximiser) or :math:`\pi_t \propto \pi_{ref} e^{Q_t/\beta}`. Puterman (1994),
    Sec. 4.5 (the hard case); the soft case is the same recursion with the log-sum-exp backup.
    For :math:`\gamma < 1`, :math:`\|V_0 - V^*\|_\infty \le \gamma^H \|V^* - V_{term}\|_\infty`.

    Parameters
    ----------
    horizon : int >= 1, optional
        :math:`H`; the MDP's own horizon by default (required if the MDP has none).
    beta : float > 0, optional
        KL weight; None solves the unregularised problem.
    pi_ref : array, shape (A,) or (S, A), optional
        :math:`\pi_{ref}` for the soft case; uniform by default. (``reference`` is its deprecated
        name.)
    terminal : array, shape (S,), optional
        :math:`V_{term}`; zeros by default.

    Returns
    -------
    FiniteHorizonResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> mdp = TabularMDP(P, [[0.0, 1.0], [0.0, 1.0]], gamma=1.0, horizon=3)
    >>> res = mdp.backward_induction()
    >>> res.values[0], res.policy.shape
    (array([3., 3.]), (3, 2, 2))
    """
    H = self.horizon if horizon is None else check_integer(horizon, "horizon", minimum=1)
    if H is None:
        raise ValueError("horizon must be given for an MDP without a finite horizon")
    S, A = self.n_states, self.n_actions
    if beta is not None:
        beta = check_positive(beta, "beta")
        logref = log_pi_ref(self, pi_ref)
    V = np.zeros(S) if terminal is None else self._check_values(terminal, "terminal").copy()
    values = np.empty((H + 1, S))
    Qs = np.empty((H, S, A))
    pol = np.zeros((H, S, A))
    values[H] = V
    for t in reversed(range(H)):
        Q = self._q(np.ascontiguousarray(values[t + 1]))
        Qs[t] = Q
        if beta is None:
            values[t] = Q.max(axis=1)
            pol[t, np.arange(S), np.argmax(Q, axis=1)] = 1.0
        else:
            values[t] = soft_backup(Q, logref, beta)
            pol[t] = np.exp(log_tilt(logref, (Q - values[t][:, None]) / beta))
    return FiniteHorizonResult(values=values, q_values=Qs, policy=pol,
                               expected_return=float(self.initial @ values[0]), beta=beta)
