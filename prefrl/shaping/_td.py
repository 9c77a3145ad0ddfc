r"""Tabular TD control (Q-learning, SARSA) on one loop, and Wiewiora's equivalence.

- Watkins (1989), Q-learning, and Rummery and Niranjan (1994), SARSA: :func:`q_learning`,
  :func:`sarsa`, both returning a :class:`TDTrajectory` (every step the learner took).
- Wiewiora (2003), "Potential-based shaping and Q-value initialization are equivalent", JAIR 19,
  Theorem 1: a learner on :math:`R + F_\Phi` from :math:`Q_0` and a learner on :math:`R` from
  :math:`Q_0 + \tilde\Phi` choose the same actions from the same random numbers. For the identity
  to hold exactly both learners read one fixed random stream (two uniforms per action choice,
  one per transition, one per episode start, whatever the values), and ``exact=True`` runs the
  loop in rational arithmetic (checked in ``proofs_check/shaping.py``).

``_td_control`` is the one TD loop of prefrl: :func:`q_learning`, :func:`sarsa` and
:func:`prefrl.shaping.dynamic_q_learning` (Devlin and Kudenko 2012, time-varying potentials, in
``_dynamic.py``) all run it; a static potential is the case of one time step.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
)
from ..mdp import TabularMDP
from ..results import Result
from ._common import _absorbing, _as_sas, _check_gamma, _terminal_mask

__all__ = ["TDTrajectory", "q_learning", "sarsa"]


@dataclass(frozen=True, eq=False)
class TDTrajectory(Result):
    r"""Everything a tabular TD-control run did (:func:`q_learning`, :func:`sarsa`,
    :func:`~prefrl.shaping.dynamic_q_learning`).

    Attributes
    ----------
    q_values : array, shape (S, A)
        Final :math:`Q` (an object array of :class:`fractions.Fraction` when ``exact=True``).
    policy : array, shape (S, A)
        The greedy policy of the final :math:`Q` (first maximiser).
    iterations : int
        Total number of steps :math:`T`.
    states, actions, next_states : int arrays, shape (T,)
        :math:`s_t, a_t, s_{t+1}` of every step.
    rewards : array, shape (T,)
        The reward the learner was paid at each step: :math:`R(s_t, a_t, s_{t+1})`, plus the
        shaping reward when a potential shapes it.
    episodes : int array, shape (T,)
        Episode index of every step.
    episode_lengths : int array, shape (n_episodes,)
        Steps per episode (a truncated episode has ``max_steps``).
    q_history : array, shape (T + 1, S, A), or None
        :math:`Q_t` before step :math:`t` and after the last (only with ``record_q=True``).
    converged : bool
        TD control stops on its episode budget, not on a convergence test. As for a solver's
        ``max_iter``, ``converged`` is False when some episode was cut at the cap ``max_steps``
        instead of ending in a terminal state.
    certificate : float
        The Bellman optimality residual of the returned table, in floats, over the non-terminal
        states: :math:`\max_{s \notin G, a} |\hat Q(s, a) - \sum_{s'} P[s, a, s'](R(s, a, s')
        + \gamma\,\mathbb{1}[s' \notin G] \max_{a'} \hat Q(s', a'))|` with :math:`\gamma` the
        learner's discount. :math:`\hat Q` is the table in the coordinates of the unshaped
        reward: ``q_values`` plus :math:`\tilde\Phi(s)` for a learner shaped by a potential (at
        the final clock for a dynamic one), ``q_values`` otherwise. By Wiewiora (2003) the
        shaped learner and the learner initialised at :math:`Q_0 + \tilde\Phi` therefore have
        the same certificate (up to rounding). It is 0 only at :math:`Q^*`; a run of finitely
        many steps is not expected to reach it.
    """

    q_values: np.ndarray
    policy: np.ndarray
    iterations: int
    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray
    rewards: np.ndarray
    episodes: np.ndarray
    episode_lengths: np.ndarray
    q_history: np.ndarray | None
    converged: bool
    certificate: float


class _Uniforms:
    """Uniform draws from a Generator, served one at a time from blocks (a fixed stream)."""

    def __init__(self, rng: np.random.Generator, block: int = 8192):
        self.rng, self.block = rng, block
        self.buf: list[float] = []
        self.i = 0

    def __call__(self) -> float:
        if self.i == len(self.buf):
            self.buf = self.rng.random(self.block).tolist()
            self.i = 0
        x = self.buf[self.i]
        self.i += 1
        return x


def _td_control(mdp, n_episodes, lr, epsilon, rng, init, terminal, max_steps, start,
                exploration, temperature, tie_tol, gamma, record_q, exact, on_policy,
                potential=None, *, potentials=None, shifted=False, clock="global"):
    """Tabular Q-learning / SARSA, the one loop behind q_learning, sarsa and dynamic_q_learning.

    ``potential`` (S,) is a static potential; ``potentials`` (L, S) a dynamic one read at the
    clock ``min(c, L - 1)`` (``clock``: steps so far, or steps in the episode). With
    ``shifted=False`` the learner is paid ``r + gamma Psi_{c+1}(s') - Psi_c(s)``; with
    ``shifted=True`` it learns on ``r`` and its table is shifted by ``Psi`` (see
    dynamic_q_learning). A static potential is the case L = 1.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    n_episodes = check_integer(n_episodes, "n_episodes", minimum=1)
    lr = check_in_range(lr, "lr", 0.0, 1.0, low_open=True)
    epsilon = check_in_range(epsilon, "epsilon", 0.0, 1.0)
    rng = as_rng(rng)
    max_steps = check_integer(max_steps, "max_steps", minimum=1)
    tie_tol = check_nonnegative(tie_tol, "tie_tol")
    gamma = mdp.gamma if gamma is None else _check_gamma(gamma)
    if exploration not in ("epsilon", "boltzmann"):
        raise ValueError(f"exploration must be 'epsilon' or 'boltzmann', got {exploration!r}")
    temperature = check_positive(temperature, "temperature")
    q_exact = None
    if init is not None and exact and np.asarray(init).dtype == object:
        # Rational initial values (e.g. Q0 + Phi computed exactly) are kept as they are.
        q_exact = np.asarray(init)
        check_array(q_exact.astype(np.float64), "init", shape=(S, A))
        q_exact = [[Fraction(x) for x in row] for row in q_exact.tolist()]
    Q0 = np.zeros((S, A)) if init is None or q_exact is not None else check_array(
        init, "init", shape=(S, A))
    term = _terminal_mask(terminal, S) if terminal is not None else _absorbing(mdp)
    if start is not None:
        start = check_integer(start, "start", minimum=0)
        if start >= S:
            raise ValueError(f"start must be < {S}, got {start}")

    num = Fraction if exact else float
    P = mdp.dense_transitions()
    cdf = np.cumsum(P, axis=2)
    cdf[..., -1] = np.inf  # rounding of the cumulative sum must never lose the last state
    cdf = cdf.tolist()
    mu_cdf = np.cumsum(mdp.initial)
    mu_cdf[-1] = np.inf
    mu_cdf = mu_cdf.tolist()
    R = _as_sas(mdp.rewards)
    Rl = [[[num(x) for x in row] for row in Rs] for Rs in R.tolist()]
    Q = q_exact if q_exact is not None else [[num(x) for x in row] for row in Q0.tolist()]
    a_, g_, tt = num(lr), num(gamma), num(tie_tol)
    term_l = term.tolist()
    if potential is not None:
        potentials = check_array(potential, "potential", shape=(S,))[None, :]
    if potentials is not None:  # Psi = Phi with 0 on terminal states, in the learner's arithmetic
        phi_rows = [[num(x) for x in row]
                    for row in np.where(term[None, :], 0.0, potentials).tolist()]
    L = 0 if potentials is None else len(phi_rows)

    def psi(c):
        return phi_rows[min(c, L - 1)]

    def move_clock(c_old, c_new):  # shifted table: Q' <- Q' + (Psi_new - Psi_old), row by row
        nonlocal Q
        if not shifted or min(c_old, L - 1) == min(c_new, L - 1):
            return
        p_old, p_new = psi(c_old), psi(c_new)
        Q = [[q + (p_new[x] - p_old[x]) for q in Q[x]] if p_new[x] != p_old[x] else Q[x]
             for x in range(S)]

    if shifted:
        p0 = psi(0)
        Q = [[q + p0[x] for q in Q[x]] for x in range(S)]
    u = _Uniforms(rng)
    boltz = exploration == "boltzmann"

    def act(s):
        u1, u2 = u(), u()  # always two draws, so both learners read the same stream
        row = Q[s]
        m = max(row)
        if boltz:
            w = [np.exp(float(q - m) / temperature) for q in row]
            tot = sum(w)
            acc = 0.0
            for a in range(A):
                acc += w[a] / tot
                if u2 < acc:
                    return a
            return A - 1
        if u1 < epsilon:
            return min(int(u2 * A), A - 1)
        ties = [a for a in range(A) if row[a] >= m - tt]
        return ties[min(int(u2 * len(ties)), len(ties) - 1)]

    hist = [[r[:] for r in Q]] if record_q else None
    st_, ac_, nx_, rw_, ep_ = [], [], [], [], []
    lengths = []
    all_ended = True  # every episode reached a terminal state (none was cut at max_steps)
    c = 0  # the clock of the potential
    for ep in range(n_episodes):
        if clock == "episode":
            move_clock(c, 0)
            c = 0
        u0 = u()
        s = start if start is not None else bisect.bisect_right(mu_cdf, u0)
        steps = 0
        a = act(s) if (on_policy and not term_l[s]) else None
        while not term_l[s] and steps < max_steps:
            if not on_policy:
                a = act(s)
            s2 = bisect.bisect_right(cdf[s][a], u())
            r = Rl[s][a][s2]
            q_sa = Q[s][a]  # Q_t(s, a) (or Q'_t), before the clock moves
            if shifted:
                move_clock(c, c + 1)
            elif L:  # F = gamma Psi_{c+1}(s') - Psi_c(s), in the learner's arithmetic
                r = r + g_ * psi(c + 1)[s2] - psi(c)[s]
            if term_l[s2]:
                target = r
                a2 = None
            elif on_policy:
                a2 = act(s2)
                target = r + g_ * Q[s2][a2]
            else:
                a2 = None
                target = r + g_ * max(Q[s2])
            Q[s][a] = Q[s][a] + a_ * (target - q_sa)
            c += 1
            st_.append(s)
            ac_.append(a)
            nx_.append(s2)
            rw_.append(float(r))
            ep_.append(ep)
            if record_q:
                hist.append([row[:] for row in Q])
            s, a = s2, a2
            steps += 1
        lengths.append(steps)
        all_ended = all_ended and term_l[s]
    dtype = object if exact else np.float64
    Qa = np.array(Q, dtype=dtype)
    Qf = np.array(Q, dtype=float)
    greedy = np.zeros((S, A))
    greedy[np.arange(S), np.argmax(Qf, axis=1)] = 1.0
    if L and not shifted:  # back to the coordinates of the unshaped reward: Q + Psi_c
        Qf = Qf + np.array(psi(c), dtype=float)[:, None]
    certificate = _bellman_residual(P, R, gamma, term, Qf)
    return TDTrajectory(
        q_values=Qa,
        policy=greedy,
        iterations=len(st_),
        states=np.array(st_, dtype=np.int64),
        actions=np.array(ac_, dtype=np.int64),
        next_states=np.array(nx_, dtype=np.int64),
        rewards=np.array(rw_, dtype=np.float64),
        episodes=np.array(ep_, dtype=np.int64),
        episode_lengths=np.array(lengths, dtype=np.int64),
        q_history=None if hist is None else np.array(hist, dtype=dtype),
        converged=bool(all_ended),
        certificate=certificate,
    )


def _bellman_residual(P, R, gamma, term, Q) -> float:
    """max over non-terminal s and a of |Q - T Q|, T the optimality operator (no bootstrap at G)."""
    live = ~term
    if not live.any():
        return 0.0
    V = np.where(term, 0.0, Q.max(axis=1))
    TQ = np.einsum("sat,sat->sa", P, R + gamma * V[None, None, :])
    return float(np.max(np.abs(Q - TQ)[live]))


_TD_PARAMS = r"""
    Parameters
    ----------
    mdp : TabularMDP
        The environment (rewards :math:`R(s, a, s')` or :math:`r(s, a)`).
    n_episodes : int >= 1
    lr : float in (0, 1]
        Step size :math:`\alpha` (formerly ``alpha``, which still works and warns).
    epsilon : float in [0, 1]
        Exploration rate of the epsilon-greedy rule.
    rng : numpy Generator or int seed
        The only source of randomness. It is read in a way that depends on the trajectory
        only, never on the values: two uniforms per action choice (explore or not, which
        action), one per transition and one per episode start. Two learners fed the same
        ``rng`` that have taken the same steps so far therefore see the same random numbers.
        Required (the learner always samples).
    init : array, shape (S, A), optional
        :math:`Q_0` (zeros by default). With ``exact=True`` an object array of
        :class:`fractions.Fraction` is kept exactly (formerly ``q_init``, which still works and
        warns).
    terminal : bool array (S,) or int sequence, optional
        States that end an episode (not bootstrapped); the absorbing states by default.
    max_steps : int >= 1
        Steps after which an episode is cut (without a terminal update).
    start : int, optional
        Start state of every episode (else drawn from :math:`\mu_0`).
    exploration : {"epsilon", "boltzmann"}
        Epsilon-greedy (ties within ``tie_tol`` of the maximum broken uniformly at random) or
        Boltzmann :math:`\pi(a|s) \propto e^{(Q(s,a) - \max_b Q(s,b))/\tau}`.
    temperature : float > 0
        :math:`\tau` of the Boltzmann rule.
    tie_tol : float >= 0
        Actions within ``tie_tol`` of the best value count as tied.
    gamma : float in [0, 1], optional
        Discount of the learner (the MDP's by default; 1 for undiscounted episodes).
    record_q : bool
        Keep :math:`Q_t` after every step (``q_history``).
    exact : bool
        Run in rational arithmetic (:class:`fractions.Fraction`; floats are converted
        exactly), so that identities such as Wiewiora's hold with no rounding at all. Slow:
        for checks on small problems.
    potential : array, shape (S,), optional
        Learn on the shaped reward :math:`R + \gamma\tilde\Phi(s') - \tilde\Phi(s)`
        (:math:`\tilde\Phi = 0` on terminal states, :math:`\gamma` the learner's), added in the
        learner's arithmetic: with ``exact=True`` the shaping is exact even when
        :func:`shape` would round.

    Returns
    -------
    TDTrajectory

"""


@renamed_parameters(alpha="lr", q_init="init")
def q_learning(mdp: TabularMDP, n_episodes: int, *, lr: float, epsilon: float, rng,
               init=None, terminal=None, max_steps: int = 10_000, start: int | None = None,
               exploration: str = "epsilon", temperature: float = 1.0, tie_tol: float = 1e-9,
               gamma: float | None = None, record_q: bool = False,
               exact: bool = False, potential=None) -> TDTrajectory:
    r"""Tabular Q-learning (Watkins 1989), with a fixed random stream.

    .. math::
        Q_{t+1}(s_t, a_t) = Q_t(s_t, a_t) + \alpha\Big(r_t + \gamma\,\mathbb{1}[s_{t+1} \notin G]
        \max_{a'} Q_t(s_{t+1}, a') - Q_t(s_t, a_t)\Big),

    with :math:`r_t = R(s_t, a_t, s_{t+1})`, :math:`G` the terminal states and :math:`a_t`
    chosen epsilon-greedily (or by Boltzmann exploration) from :math:`Q_t(s_t, \cdot)`.

    Wiewiora (2003), "Potential-based shaping and Q-value initialization are equivalent",
    JAIR 19: the run on :math:`R + F_\Phi` from :math:`Q_0` and the run on :math:`R` from
    :math:`Q_0 + \tilde\Phi(s)` (with :math:`\tilde\Phi = 0` on :math:`G`, see :func:`shape`)
    choose the same actions from the same ``rng``, and :math:`Q'_t = Q_t + \tilde\Phi(s)` at
    every step.
    {td_params}
    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> run = q_learning(envs.chain(4, gamma=0.9), 50, lr=0.5, epsilon=0.1, rng=0)
    >>> run.policy.argmax(axis=1)[:3], int(run.episode_lengths[-1])
    (array([1, 1, 1]), 3)
    """
    return _td_control(mdp, n_episodes, lr, epsilon, rng, init, terminal, max_steps, start,
                       exploration, temperature, tie_tol, gamma, record_q, exact, False,
                       potential)


@renamed_parameters(alpha="lr", q_init="init")
def sarsa(mdp: TabularMDP, n_episodes: int, *, lr: float, epsilon: float, rng,
          init=None, terminal=None, max_steps: int = 10_000, start: int | None = None,
          exploration: str = "epsilon", temperature: float = 1.0, tie_tol: float = 1e-9,
          gamma: float | None = None, record_q: bool = False, exact: bool = False,
          potential=None) -> TDTrajectory:
    r"""Tabular SARSA (Rummery and Niranjan 1994), with a fixed random stream.

    .. math::
        Q_{t+1}(s_t, a_t) = Q_t(s_t, a_t) + \alpha\Big(r_t + \gamma\,\mathbb{1}[s_{t+1} \notin G]
        Q_t(s_{t+1}, a_{t+1}) - Q_t(s_t, a_t)\Big),

    with :math:`a_{t+1}` drawn from the exploration rule at :math:`Q_t(s_{t+1}, \cdot)` before
    the update. Wiewiora (2003)'s equivalence holds as for :func:`q_learning`.
    {td_params}
    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> run = sarsa(envs.chain(4, gamma=0.9), 50, lr=0.5, epsilon=0.1, rng=0)
    >>> run.policy.argmax(axis=1)[:3]
    array([1, 1, 1])
    """
    return _td_control(mdp, n_episodes, lr, epsilon, rng, init, terminal, max_steps, start,
                       exploration, temperature, tie_tol, gamma, record_q, exact, True,
                       potential)


q_learning.__doc__ = q_learning.__doc__.replace("    {td_params}\n", _TD_PARAMS)
sarsa.__doc__ = sarsa.__doc__.replace("    {td_params}\n", _TD_PARAMS)
