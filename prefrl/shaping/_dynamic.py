r"""Dynamic (time-varying) potential-based shaping (Devlin and Kudenko 2012).

Devlin and Kudenko (2012), "Dynamic Potential-Based Reward Shaping", AAMAS: the potential may
change with time, :math:`F(s, t, s', t') = \gamma\Phi(s', t') - \Phi(s, t)`, and the single-agent
policy invariance of Ng et al. still holds (the shaped returns telescope).

- the shaping reward and the shaped reward per time step: :func:`dynamic_shaping_reward`,
  :func:`shape_dynamic`;
- exact values with time in the state (:class:`DynamicShapingResult`): :func:`evaluate_dynamic`
  (a policy, possibly non-stationary), :func:`solve_dynamic` (the optimum; policy invariance:
  :math:`Q'^*_t = Q^*_t - \tilde\Phi_t`), and the same problem as one
  :class:`~prefrl.mdp.TabularMDP` on :math:`(t, s)` pairs, :func:`time_expanded_mdp` with
  :func:`expand_policy` (a slow, obvious cross-check);
- learning: :func:`dynamic_q_learning`, Q-learning or SARSA on the one TD loop of ``_td.py``,
  either paid the dynamic shaping reward or with its table shifted by
  :math:`\Psi_{t+1} - \Psi_t` (ours: the corrected form of Wiewiora 2003 for dynamic
  potentials; initialising once at :math:`Q_0 + \Phi_0` does not suffice).

**Representation.** A time-varying potential is an array ``potentials`` of shape (L, S) read as
*eventually stationary*: :math:`\Phi_t` = ``potentials[min(t, L - 1)]``. For a finite horizon
:math:`H` the array has exactly :math:`H + 1` rows (:math:`\Phi_H`, the potential at the end of
the episode, matters). Policies may be non-stationary in the same way: an (L', S, A) array is
read as :math:`\pi_t` = ``policy[min(t, L' - 1)]``. Exact values are computed layer by layer
(time in the state): the last layer is a static problem (a static shaped MDP, solved exactly by
the solvers of :mod:`prefrl.mdp`), the others are backward steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_integer, check_stochastic_matrix
from ..mdp import TabularMDP
from ..results import Result
from ._common import _as_sas, _check_gamma, _check_potentials, _terminal_for, _terminal_mask
from ._td import TDTrajectory, _td_control

__all__ = [
    "DynamicShapingResult",
    "dynamic_q_learning",
    "dynamic_shaping_reward",
    "evaluate_dynamic",
    "expand_policy",
    "shape_dynamic",
    "solve_dynamic",
    "time_expanded_mdp",
]


def dynamic_shaping_reward(potentials, gamma: float, n_actions: int, terminal=None) -> np.ndarray:
    r"""The dynamic shaping reward :math:`F_t(s, a, s') = \gamma \Phi_{t+1}(s') - \Phi_t(s)`.

    .. math::
        F_t(s, a, s') = \gamma\, \tilde\Phi_{t+1}(s') - \tilde\Phi_t(s) \quad (s \notin G),
        \qquad F_t(s, a, s') = 0 \quad (s \in G), \qquad
        \tilde\Phi_t(s) = \Phi_t(s)\, \mathbb{1}[s \notin G],

    for :math:`t = 0, \dots, L-2`, where :math:`\Phi_t` is row :math:`t` of ``potentials``,
    :math:`G` the terminal states and :math:`\gamma` the discount. A transition that leaves
    :math:`s` at time :math:`t` and arrives in :math:`s'` at :math:`t + 1` is paid :math:`F_t`.
    Devlin and Kudenko (2012), "Dynamic Potential-Based Reward Shaping", AAMAS, the shaping
    reward :math:`F(s, t, s', t') = \gamma\Phi(s', t') - \Phi(s, t)`. From time :math:`L - 1`
    on the potential is held (:math:`\Phi_t = \Phi_{L-1}`), so :math:`F_t` is the static
    :func:`shaping_reward` of :math:`\Phi_{L-1}`.

    Parameters
    ----------
    potentials : array, shape (L, S)
        :math:`\Phi_t(s)`, one row per time step (:math:`L \ge 1`).
    gamma : float in [0, 1]
    n_actions : int >= 1
    terminal : bool array (S,) or int sequence, optional
        Terminal states :math:`G`, where every potential counts as 0.

    Returns
    -------
    array, shape (L - 1, S, A, S)
        :math:`F_t` for :math:`t < L - 1` (empty when :math:`L = 1`).

    Examples
    --------
    >>> F = dynamic_shaping_reward([[0.0, 1.0], [2.0, 0.0]], gamma=0.5, n_actions=1)
    >>> F[0, :, 0, :]          # 0.5 * Phi_1(s') - Phi_0(s)
    array([[ 1.,  0.],
           [ 0., -1.]])
    """
    Phi = check_array(potentials, "potentials", ndim=2)
    gamma = _check_gamma(gamma)
    A = check_integer(n_actions, "n_actions", minimum=1)
    L, S = Phi.shape
    term = _terminal_mask(terminal, S)
    Phi = np.where(term[None, :], 0.0, Phi)
    F = gamma * Phi[1:, None, None, :] - Phi[:-1, :, None, None]
    F = np.broadcast_to(F, (L - 1, S, A, S)).copy()
    F[:, term] = 0.0
    return F


def shape_dynamic(rewards, potentials, gamma: float, terminal=None) -> np.ndarray:
    r"""Dynamic potential-based shaping: :math:`R'_t = R + \gamma\Phi_{t+1}(s') - \Phi_t(s)`.

    .. math::
        R'_t = R + F_t, \qquad
        \sum_{t=0}^{T-1} \gamma^t F_t(s_t, a_t, s_{t+1})
        = \gamma^T \tilde\Phi_T(s_T) - \tilde\Phi_0(s_0)

    on every trajectory (the returns telescope), with :math:`F_t` from
    :func:`dynamic_shaping_reward`. Devlin and Kudenko (2012): their single-agent policy
    invariance result rests on this identity.

    Parameters
    ----------
    rewards : array, shape (S, A) or (S, A, S)
        :math:`R` (time-independent).
    potentials : array, shape (L, S)
    gamma : float in [0, 1]
    terminal : bool array (S,) or int sequence, optional

    Returns
    -------
    array, shape (L - 1, S, A, S)
        :math:`R'_t` for :math:`t < L - 1`; for :math:`t \ge L - 1` the reward is
        :func:`shape` with :math:`\Phi_{L-1}`.

    Examples
    --------
    >>> R = np.zeros((2, 1, 2))
    >>> Rt = shape_dynamic(R, [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], gamma=1.0)
    >>> Rt.shape, Rt[0, 0, 0, 1], Rt[1, 0, 0, 1]
    ((2, 2, 1, 2), np.float64(1.0), np.float64(0.0))
    """
    R = _as_sas(rewards)
    S, A, _ = R.shape
    Phi = _check_potentials(potentials, S)
    return R[None] + dynamic_shaping_reward(Phi, gamma, A, terminal)


@dataclass(frozen=True, eq=False)
class DynamicShapingResult(Result):
    r"""Exact values of a problem with a time-varying reward, layer by layer (time in the state).

    Attributes
    ----------
    values : array, shape (L, S)
        :math:`V_t(s)`: the value of starting in :math:`s` at time :math:`t` (for a finite
        horizon :math:`H`, :math:`L = H + 1` and ``values[H] = 0``).
    q_values : array, shape (L, S, A) or (H, S, A)
        :math:`Q_t(s, a)`.
    policy : array, shape (L, S, A) or (H, S, A)
        The evaluated policy, or the greedy (first maximiser) optimal one.
    expected_return : float
        :math:`\sum_s \mu_0(s) V_0(s)`.
    iterations : int
        Backward steps taken (the last, static layer of a discounted problem is solved by
        :meth:`~prefrl.mdp.TabularMDP.solve` or :meth:`~prefrl.mdp.TabularMDP.evaluate`).
    value_error_bound : float
        Certified :math:`\max_{t, s} |V_t(s) - V^{exact}_t(s)|`: 0 up to rounding for an
        evaluation or a finite horizon, the static solver's bound for a discounted optimum.
    converged : bool
        Whether the static solver of the last layer met its stopping rule (True for an
        evaluation or a finite horizon: no iteration).
    certificate : float
        The largest residual of the (policy or optimality) Bellman equation of the returned
        values, :math:`\max_{t, s} |V_t(s) - \sum_a \pi_t(a|s) Q_t(s, a)|` with
        :math:`Q_t = r'_t + \gamma P V_{t+1}` as returned (for the optimum :math:`\pi_t` is
        greedy, so this is :math:`|V_t - \max_a Q_t|`). The backward layers satisfy it by
        construction (0 up to rounding); the last, static layer of a discounted problem
        contributes its own Bellman residual.
    """

    values: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    expected_return: float
    iterations: int
    value_error_bound: float
    converged: bool = True

    @property
    def certificate(self) -> float:
        """The max over layers t and states s of ``|V_t(s) - sum_a pi_t(a|s) Q_t(s, a)|``."""
        n = self.q_values.shape[0]
        v = np.einsum("tsa,tsa->ts", self.policy, self.q_values)
        return float(np.max(np.abs(self.values[:n] - v), initial=0.0))


def _policy_layers(mdp: TabularMDP, policy, name="policy") -> np.ndarray:
    """A policy as an (L', S, A) stack (an (S, A) or int (S,) policy is one layer)."""
    arr = np.asarray(policy)
    if arr.ndim == 3:
        S, A = mdp.n_states, mdp.n_actions
        return check_stochastic_matrix(arr, name, shape=(None, S, A))
    return mdp.check_policy(policy, name)[None]


def _dynamic_layers(mdp: TabularMDP, potentials, policy, terminal) -> DynamicShapingResult:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Phi = _check_potentials(potentials, S)
    term = _terminal_for(mdp, terminal)
    pis = None if policy is None else _policy_layers(mdp, policy)
    P = mdp.dense_transitions()
    r = mdp.expected_rewards
    Phi = np.where(term[None, :], 0.0, Phi)
    live = (~term).astype(float)[:, None]
    H = mdp.horizon
    if H is not None:
        if Phi.shape[0] != H + 1:
            raise ValueError(f"potentials must have H + 1 = {H + 1} rows for horizon {H}, "
                             f"got {Phi.shape[0]}")
        if pis is not None and pis.shape[0] > H:
            raise ValueError(f"policy must have at most H = {H} layers, got {pis.shape[0]}")
        L, n_q = H + 1, H
        V = np.zeros(S)
        bound = 0.0
        converged = True
    else:
        L = max(Phi.shape[0], 1 if pis is None else pis.shape[0])
        n_q = L
    values = np.zeros((L, S))
    Qs = np.zeros((n_q, S, A))
    pol = np.zeros((n_q, S, A))

    def phi_at(t):
        return Phi[min(t, Phi.shape[0] - 1)]

    def shaped_r(t):  # expected shaped reward r + gamma P Phi_{t+1} - Phi_t (none out of G)
        return r + live * (g * (P @ phi_at(t + 1)) - phi_at(t)[:, None])

    start = L - 1
    if H is None:
        last = TabularMDP(P, r + live * (g * (P @ phi_at(L - 1)) - phi_at(L - 1)[:, None]), g,
                          mdp.initial)
        if pis is None:
            res = last.solve("pi")
            V, Q, pl, bound = res.values, res.q_values, res.policy, float(res.value_error_bound)
            converged = bool(res.converged)
        else:
            pl = pis[min(L - 1, pis.shape[0] - 1)]
            ev = last.evaluate(pl)
            V, Q, bound, converged = ev.values, ev.q_values, 0.0, True
        values[L - 1], Qs[L - 1], pol[L - 1] = V, Q, pl
        start = L - 2
    else:
        values[H] = V
        start = H - 1
    for t in range(start, -1, -1):
        Q = shaped_r(t) + g * (P @ V)
        if pis is None:
            pl = np.zeros((S, A))
            pl[np.arange(S), np.argmax(Q, axis=1)] = 1.0
            V = Q.max(axis=1)
        else:
            pl = pis[min(t, pis.shape[0] - 1)]
            V = np.einsum("sa,sa->s", pl, Q)
        values[t], Qs[t], pol[t] = V, Q, pl
    return DynamicShapingResult(values=values, q_values=Qs, policy=pol,
                                expected_return=float(mdp.initial @ values[0]),
                                iterations=start + 1, value_error_bound=bound,
                                converged=converged)


def evaluate_dynamic(mdp: TabularMDP, potentials, policy, terminal=None) -> DynamicShapingResult:
    r"""Exact values of a (possibly non-stationary) policy under dynamic potential-based shaping.

    .. math::
        V'_t(s) = \mathbb{E}_\pi\Big[\sum_{k \ge t}^{H-1} \gamma^{k-t}
        \big(R(s_k, a_k, s_{k+1}) + \gamma\tilde\Phi_{k+1}(s_{k+1}) - \tilde\Phi_k(s_k)\big)
        \,\Big|\, s_t = s\Big]
        = V^\pi_t(s) - \tilde\Phi_t(s)
        + \gamma^{H-t}\,\mathbb{E}_\pi[\tilde\Phi_H(s_H) \mid s_t = s],

    the second equality because the shaping rewards telescope (Devlin and Kudenko 2012,
    single-agent policy invariance). For a discounted infinite horizon the last term vanishes
    (bounded :math:`\Phi`), so every policy's value shifts by exactly :math:`-\tilde\Phi_t`;
    for a finite horizon :math:`H` it vanishes when :math:`\Phi_H \equiv 0` (and is a
    policy-independent constant when :math:`\Phi_H` is constant over states). Here :math:`V^\pi_t` is the unshaped
    value, :math:`\tilde\Phi_t = \Phi_t \mathbb{1}[s \notin G]`, and the expectation is over
    :math:`a_k \sim \pi_k(\cdot|s_k)`, :math:`s_{k+1} \sim P[s_k, a_k, \cdot]`.

    Computed without using the identity: backward steps
    :math:`Q'_t = r'_t + \gamma P V'_{t+1}`, :math:`V'_t = \sum_a \pi_t Q'_t`, where for a
    discounted problem the last layer :math:`t = L - 1` (potential and policy held from then on)
    is the static shaped MDP of :math:`\Phi_{L-1}`, evaluated by a linear solve.

    **Truncation.** A bounded potential that never becomes stationary (periodic, annealed
    geometrically) is given by its first :math:`L` rows: since :math:`V'_t` depends on the
    potentials only through :math:`\Phi_t`, the values at times :math:`t < L` are exact, with
    no tail term (checked against longer sequences in ``proofs_check/shaping.py``). Without
    the identity, the a-priori bound on the error at time :math:`t` would be
    :math:`2(1+\gamma)\gamma^{L-1-t} \sup_{k}\lVert\Phi_k\rVert_\infty / (1 - \gamma)`.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted (``horizon`` None) or finite-horizon.
    potentials : array, shape (L, S)
        :math:`\Phi_t = ` ``potentials[min(t, L-1)]``; exactly :math:`H + 1` rows for a finite
        horizon.
    policy : array, shape (S, A), (L', S, A) or int (S,)
        :math:`\pi_t = ` ``policy[min(t, L'-1)]`` (at most :math:`H` layers for a finite horizon).
    terminal : bool array (S,) or int sequence, optional
        Absorbing terminal states, where the potentials count as 0.

    Returns
    -------
    DynamicShapingResult
        ``values`` has one row per start time (:math:`\max(L, L')` rows, or :math:`H + 1`).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(3, gamma=0.5)
    >>> Phi = np.array([[1.0, 2.0, 0.0], [0.0, 5.0, -1.0], [3.0, 3.0, 3.0]])
    >>> pi = np.full((3, 2), 0.5)
    >>> res = evaluate_dynamic(mdp, Phi, pi)
    >>> bool(np.allclose(res.values[0], mdp.evaluate(pi).values - Phi[0]))
    True
    """
    if policy is None:
        raise ValueError("policy must be given (use solve_dynamic for the optimum)")
    return _dynamic_layers(mdp, potentials, policy, terminal)


def solve_dynamic(mdp: TabularMDP, potentials, terminal=None) -> DynamicShapingResult:
    r"""Exact optimum of an MDP under dynamic potential-based shaping (time in the state).

    .. math::
        Q'^*_t(s, a) = r(s, a) + \sum_{s'} P[s, a, s']\big(\gamma\tilde\Phi_{t+1}(s')
        - \tilde\Phi_t(s) + \gamma V'^*_{t+1}(s')\big), \qquad V'^*_t = \max_a Q'^*_t,

    with :math:`V'^*_H = 0` for a finite horizon, and for a discounted problem
    :math:`V'^*_{L-1}` the optimum of the static shaped MDP of :math:`\Phi_{L-1}`. Devlin and
    Kudenko (2012), single-agent policy invariance:
    :math:`Q'^*_t = Q^*_t - \tilde\Phi_t(s)` (when
    :math:`\Phi_H \equiv 0` for a finite horizon), so the optimal actions at every
    :math:`(t, s)` are those of the unshaped problem.

    Parameters
    ----------
    mdp : TabularMDP
    potentials : array, shape (L, S)
        As in :func:`evaluate_dynamic`.
    terminal : bool array (S,) or int sequence, optional

    Returns
    -------
    DynamicShapingResult
        ``policy`` is the greedy time-dependent optimal policy (first maximiser).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> Phi = np.array([[0.0, 0.0, 0.0, 0.0], [9.0, -3.0, 4.0, 1.0]])
    >>> res = solve_dynamic(mdp, Phi)
    >>> bool((res.policy.argmax(axis=2) == mdp.solve().actions).all())
    True
    """
    return _dynamic_layers(mdp, potentials, None, terminal)


def time_expanded_mdp(mdp: TabularMDP, potentials, terminal=None) -> TabularMDP:
    r"""The dynamically shaped problem as one :class:`~prefrl.mdp.TabularMDP`, time in the state.

    .. math::
        \bar s = (t, s) \mapsto t S + s, \qquad
        \bar P[(t, s), a, (t^+, s')] = P[s, a, s'], \quad t^+ = \min(t + 1, L - 1), \qquad
        \bar R[(t, s), a, (t^+, s')] = R(s, a, s') + \gamma\tilde\Phi_{t+1}(s') - \tilde\Phi_t(s),

    with :math:`\bar\mu_0` = :math:`\mu_0` on layer 0. For a finite horizon :math:`H`
    (:math:`L = H + 1`) layer :math:`H` is absorbing with zero reward and the expanded MDP has
    horizon :math:`H`. A stationary policy of the expanded MDP is a time-dependent policy of the
    original one (time in the state, as in the invariance argument of Devlin and Kudenko
    2012). Sparse transitions, :math:`LS` states. A slow, obvious cross-check of
    :func:`evaluate_dynamic`.

    Parameters
    ----------
    mdp : TabularMDP
    potentials : array, shape (L, S)
    terminal : bool array (S,) or int sequence, optional

    Returns
    -------
    TabularMDP
        With ``L * S`` states.

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(3, gamma=0.5)
    >>> Phi = np.array([[1.0, 2.0, 0.0], [0.0, 5.0, -1.0]])
    >>> big = time_expanded_mdp(mdp, Phi)
    >>> big.n_states, bool(np.allclose(big.solve().values[:3], solve_dynamic(mdp, Phi).values[0]))
    (6, True)
    """
    import scipy.sparse as sp

    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Phi = _check_potentials(potentials, S)
    term = _terminal_for(mdp, terminal)
    H = mdp.horizon
    if H is not None and Phi.shape[0] != H + 1:
        raise ValueError(f"potentials must have H + 1 = {H + 1} rows for horizon {H}, "
                         f"got {Phi.shape[0]}")
    L = Phi.shape[0]
    P = mdp.dense_transitions()
    R = _as_sas(mdp.rewards)
    Phi = np.where(term[None, :], 0.0, Phi)
    rows, cols, vals = [], [], []
    Rbar = np.zeros((L * S, A, L * S))
    for t in range(L):
        nxt = min(t + 1, L - 1)
        for s in range(S):
            for a in range(A):
                row = (t * S + s) * A + a
                if H is not None and t == H:
                    rows.append(row)
                    cols.append(t * S + s)
                    vals.append(1.0)
                    continue
                for s2 in np.flatnonzero(P[s, a]):
                    rows.append(row)
                    cols.append(nxt * S + s2)
                    vals.append(P[s, a, s2])
                    f = 0.0 if term[s] else g * Phi[nxt, s2] - Phi[t, s]
                    Rbar[t * S + s, a, nxt * S + s2] = R[s, a, s2] + f
    Pbar = sp.csr_array((vals, (rows, cols)), shape=(L * S * A, L * S))
    mu = np.zeros(L * S)
    mu[:S] = mdp.initial
    return TabularMDP(Pbar, Rbar, g, mu, H)


def expand_policy(policy, n_layers: int) -> np.ndarray:
    r"""A time-dependent policy as a stationary policy of :func:`time_expanded_mdp`.

    .. math::
        \bar\pi(a \mid (t, s)) = \pi_{\min(t, L'-1)}(a \mid s), \qquad t = 0, \dots, L - 1 .

    Parameters
    ----------
    policy : array, shape (S, A) or (L', S, A)
    n_layers : int >= 1
        :math:`L`.

    Returns
    -------
    array, shape (L * S, A)
        Layers of ``policy`` beyond :math:`L - 1` are not used (the expanded MDP's last layer
        holds :math:`\pi_{L-1}`).

    Examples
    --------
    >>> expand_policy(np.eye(2), 3).shape        # a stationary policy on three layers
    (6, 2)
    """
    pi = check_array(policy, "policy", ndim=(2, 3))
    L = check_integer(n_layers, "n_layers", minimum=1)
    if pi.ndim == 2:
        pi = pi[None]
    idx = np.minimum(np.arange(L), pi.shape[0] - 1)
    return pi[idx].reshape(L * pi.shape[1], pi.shape[2])


@renamed_parameters(alpha="lr", q_init="init")
def dynamic_q_learning(mdp: TabularMDP, n_episodes: int, *, potentials, lr: float,
                       epsilon: float, rng, mode: str = "shaped", clock: str = "global",
                       sarsa: bool = False, init=None, terminal=None, max_steps: int = 10_000,
                       start: int | None = None, exploration: str = "epsilon",
                       temperature: float = 1.0, tie_tol: float = 1e-9,
                       gamma: float | None = None, record_q: bool = False,
                       exact: bool = False) -> TDTrajectory:
    r"""Tabular Q-learning (or SARSA) with a dynamic potential, shaped or by shifting the table.

    With a clock :math:`c_t` (the global step count, or the step within the episode) and
    :math:`\Psi_t = \tilde\Phi_{c_t}` (:math:`\Phi_c` = ``potentials[min(c, L-1)]``, 0 on
    terminal states), ``mode="shaped"`` learns on the dynamic shaping reward of Devlin and
    Kudenko (2012):

    .. math::
        Q_{t+1}(s_t, a_t) = Q_t(s_t, a_t) + \alpha\big(r_t + \gamma\Psi_{t+1}(s_{t+1})
        - \Psi_t(s_t) + \gamma\,\mathbb{1}[s_{t+1} \notin G]\max_{a'} Q_t(s_{t+1}, a')
        - Q_t(s_t, a_t)\big),

    while ``mode="shifted"`` learns on :math:`R` alone, starting at
    :math:`Q'_0 = Q_0 + \Psi_0(s)` and, whenever the clock moves, first adding
    :math:`\Psi_{t+1}(x) - \Psi_t(x)` to every row :math:`Q'(x, \cdot)`:

    .. math::
        \bar Q = Q'_t + (\Psi_{t+1} - \Psi_t), \qquad
        Q'_{t+1}(s_t, a_t) = \bar Q(s_t, a_t) + \alpha\big(r_t
        + \gamma\,\mathbb{1}[s_{t+1} \notin G]\max_{a'} \bar Q(s_{t+1}, a') - Q'_t(s_t, a_t)\big),

    and :math:`Q'_{t+1} = \bar Q` elsewhere. By induction :math:`Q'_t = Q_t + \Psi_t(s)` at every
    step (the TD errors are equal), so the two runs choose the same actions from the same
    ``rng``: the corrected form of Wiewiora's equivalence for dynamic potentials (ours, checked
    in exact arithmetic by ``proofs_check/shaping.py``). Initialising once at
    :math:`Q_0 + \Phi_0` (Wiewiora 2003) does *not* suffice when :math:`\Phi` changes. SARSA
    (``sarsa=True``) bootstraps on :math:`\bar Q(s_{t+1}, a_{t+1})` with :math:`a_{t+1}` chosen
    from :math:`\bar Q(s_{t+1}, \cdot)`. The random stream is read exactly as by
    :func:`q_learning` and :func:`sarsa`, so a constant-in-time potential reproduces
    ``q_learning(..., potential=Phi)`` step for step.

    Parameters
    ----------
    mdp : TabularMDP
    n_episodes : int >= 1
    potentials : array, shape (L, S)
        :math:`\Phi_c` for clock values :math:`c = 0, \dots, L-1` (held beyond).
    lr : float in (0, 1]
        Step size :math:`\alpha` (formerly ``alpha``, which still works and warns).
    epsilon : float in [0, 1]
    rng : numpy Generator or int seed
        Required (the learner always samples); read as by :func:`q_learning`.
    mode : {"shaped", "shifted"}
    clock : {"global", "episode"}
        The time of the potential: total steps taken so far, or steps since the episode began.
    sarsa : bool
        SARSA instead of Q-learning.
    init, terminal, max_steps, start, exploration, temperature, tie_tol, gamma, record_q, exact
        As in :func:`q_learning` (``init`` formerly ``q_init``, which still works and warns);
        with ``record_q`` the history holds :math:`Q_t` (shaped) or
        :math:`Q'_t` (shifted) before each step.

    Returns
    -------
    TDTrajectory
        ``rewards`` are those the learner was paid: :math:`r_t + F_t` (shaped) or :math:`r_t`
        (shifted).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> Phi = np.array([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]])
    >>> a = dynamic_q_learning(mdp, 5, potentials=Phi, lr=0.5, epsilon=0.2, rng=1)
    >>> b = dynamic_q_learning(mdp, 5, potentials=Phi, lr=0.5, epsilon=0.2, rng=1,
    ...                        mode="shifted")
    >>> bool(np.array_equal(a.actions, b.actions))
    True
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    if mode not in ("shaped", "shifted"):
        raise ValueError(f"mode must be 'shaped' or 'shifted', got {mode!r}")
    if clock not in ("global", "episode"):
        raise ValueError(f"clock must be 'global' or 'episode', got {clock!r}")
    Phi = _check_potentials(potentials, mdp.n_states)
    return _td_control(mdp, n_episodes, lr, epsilon, rng, init, terminal, max_steps, start,
                       exploration, temperature, tie_tol, gamma, record_q, exact, bool(sarsa),
                       potentials=Phi, shifted=mode == "shifted", clock=clock)
