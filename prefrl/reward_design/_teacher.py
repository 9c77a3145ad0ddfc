r"""Teacher-driven reward design: the sparsest reward that keeps a target policy optimal.

Devidze (2025), "Reward Design for Reinforcement Learning Agents" (thesis), and Devidze,
Radanovic, Kamalaruban and Singla (2021), "Explicable Reward Design for Reinforcement Learning
Agents" (ExpRD): a teacher who knows the target policy :math:`\pi^*` designs a reward
:math:`\hat R` that (i) keeps :math:`\pi^*` optimal with a margin (invariance), (ii) is sparse
(interpretable) and (iii) is informative, so that a learner converges fast.

Our formulation (an LP; the papers' discrete-optimisation and informativeness criteria are
richer, see the notes of each function). For a deterministic target :math:`\pi = \pi^*` the
action values of :math:`\pi` under a reward :math:`R \in \mathbb{R}^{SA}` are *linear* in
:math:`R`:

.. math::
    Q^{\pi}_R = M_\pi R, \qquad
    M_\pi = I_{SA} + \gamma \tilde P (I_S - \gamma \Pi_\pi \tilde P)^{-1} \Pi_\pi,

with :math:`\tilde P[(s, a), s'] = P[s, a, s']\,\mathbb{1}[s' \notin G]` (no value flows out of
the absorbing states :math:`G`, where the reward is fixed to 0) and :math:`\Pi_\pi[s, (s, a)] =
\mathbb{1}[a = \pi(s)]` the selector of the target's actions. By the policy improvement
theorem (Puterman 1994), :math:`Q^\pi_R(s, \pi(s)) \ge Q^\pi_R(s, a) + \delta_s` for
every :math:`s \notin G` and :math:`a \ne \pi(s)` makes :math:`\pi` optimal for :math:`R`
(uniquely so, with an action gap of at least :math:`\delta_s`, when :math:`\delta_s > 0`).
Minimising :math:`\|R\|_1` under these linear constraints and :math:`|R| \le R_{\max}` is a
linear program (:func:`design_reward`), solved by HiGHS with a KKT certificate.

The *explicable* variant (after ExpRD's local horizon :math:`h`) adds the same margins for the
:math:`h`-step look-ahead values of :math:`\pi`, :math:`Q^{\pi, h}_R = M^h_\pi R` with
:math:`M^h_\pi = I + \tilde P \sum_{k=1}^{h-1} \gamma^k (\Pi_\pi \tilde P)^{k-1} \Pi_\pi`: a learner
planning only :math:`h` steps ahead already sees :math:`\pi^*`'s action as best. The *adaptive*
variant (after the thesis' reward design for the learner's current policy, Devidze,
Kamalaruban and Singla 2024) asks for the margin :math:`\delta` only where the learner's greedy
action disagrees with :math:`\pi^*` and a smaller ``base_margin`` elsewhere.

Public functions: :func:`target_q_map` (the matrix :math:`M^h_\pi`), :func:`design_reward`
(:class:`RewardDesign`), :func:`adaptive_teacher_q_learning` (:class:`AdaptiveTeacherRun`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from .._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_indices,
    check_integer,
    check_nonnegative,
    check_positive,
    check_stochastic_matrix,
)
from ..mdp import TabularMDP
from ..results import Result
from ..shaping import q_learning

__all__ = [
    "AdaptiveTeacherRun",
    "RewardDesign",
    "adaptive_teacher_q_learning",
    "design_reward",
    "target_q_map",
]

_FORMS = ("state_action", "state")


def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    if mdp.horizon is not None:
        raise ValueError("mdp must be discounted with an infinite horizon (horizon=None)")
    return mdp


def _absorbing(P: np.ndarray) -> np.ndarray:
    S = P.shape[0]
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


def _target_actions(target, S: int, A: int) -> np.ndarray:
    """A deterministic target as an int array (S,), from actions (S,) or a one-hot policy (S, A)."""
    if isinstance(target, (str, bytes)) or target is None:
        raise TypeError(
            f"target must be an array of actions or a policy, got {type(target).__name__}"
        )
    arr = np.asarray(target)
    if arr.dtype.kind in "bcUSO":
        raise TypeError(f"target must be an array of numbers, got {arr.dtype} entries")
    if arr.ndim == 2:
        pi = check_stochastic_matrix(arr, "target", shape=(S, A))
        det = np.isclose(pi.max(axis=1), 1.0)
        if not det.all():
            s = int(np.argmin(det))
            raise ValueError(f"target[{s}, :] is not deterministic (a one-hot row is required)")
        return pi.argmax(axis=1).astype(np.int64)
    if arr.ndim != 1 or arr.shape[0] != S:
        raise ValueError(f"target must have shape ({S},) or ({S}, {A}), got {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError("target must be finite")
    return check_indices(arr, "target", A)


def _q_map(P: np.ndarray, gamma: float, act: np.ndarray, horizon: int | None) -> np.ndarray:
    """:math:`M^h_\\pi` of shape (S*A, S*A), with no flow out of the absorbing states."""
    S, A, _ = P.shape
    live = ~_absorbing(P)
    Pt = (P * live[None, None, :]).reshape(S * A, S)
    sel = np.zeros((S, S * A))
    sel[np.arange(S), np.arange(S) * A + act] = 1.0
    Ppi = sel @ Pt
    if horizon is None:
        inner = np.linalg.solve(np.eye(S) - gamma * Ppi, sel)
        return np.eye(S * A) + gamma * Pt @ inner
    acc, power = np.zeros((S, S * A)), sel.copy()
    for k in range(1, horizon):
        acc += gamma**k * power
        power = Ppi @ power
    return np.eye(S * A) + Pt @ acc


def target_q_map(mdp: TabularMDP, target, horizon: int | None = None) -> np.ndarray:
    r"""The linear map from a reward to the target's action values, :math:`Q^{\pi}_R = M_\pi R`.

    .. math::
        M_\pi = I + \gamma \tilde P (I - \gamma \Pi_\pi \tilde P)^{-1} \Pi_\pi, \qquad
        M^h_\pi = I + \tilde P \sum_{k=1}^{h-1} \gamma^k (\Pi_\pi \tilde P)^{k-1} \Pi_\pi,

    with :math:`\tilde P[(s, a), s'] = P[s, a, s']\,\mathbb{1}[s' \notin G]` (:math:`G` the
    absorbing states, whose value is 0: an episode ends there) and :math:`\Pi_\pi` the selector
    of the target's actions. The row :math:`(s, a)` of :math:`M^h_\pi R` is the return of taking
    :math:`a` in :math:`s` and following :math:`\pi` for :math:`h - 1` more steps (Devidze et al.
    2021, the :math:`h`-step values behind ExpRD's informativeness; Puterman 1994, Thm 6.1.1 for
    :math:`h = \infty`).

    Parameters
    ----------
    mdp : TabularMDP
        Discounted, infinite horizon.
    target : int array, shape (S,), or deterministic policy, shape (S, A)
        :math:`\pi(s)`.
    horizon : int >= 1, optional
        :math:`h` (None: the full discounted return).

    Returns
    -------
    array, shape (S * A, S * A)
        Row and column :math:`s A + a`.

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(3, gamma=0.5)
    >>> M = target_q_map(mdp, [1, 1, 0])
    >>> (M @ mdp.expected_rewards.ravel()).reshape(3, 2).round(3)
    array([[0.25, 0.5 ],
           [0.25, 1.  ],
           [0.  , 0.  ]])
    """
    mdp = _check_mdp(mdp)
    act = _target_actions(target, mdp.n_states, mdp.n_actions)
    if horizon is not None:
        horizon = check_integer(horizon, "horizon", minimum=1)
    return _q_map(mdp.dense_transitions(), mdp.gamma, act, horizon)


@dataclass(frozen=True, eq=False)
class RewardDesign(Result):
    r"""The sparsest (L1) reward keeping a target policy optimal with a margin (:func:`design_reward`).

    Attributes
    ----------
    rewards : array, shape (S, A)
        :math:`\hat R` (0 on the absorbing states).
    policy : array, shape (S, A)
        The target :math:`\pi^*`, one-hot.
    value : float
        :math:`\|\hat R\|_1`, the LP optimum.
    n_nonzero : int
        Entries with :math:`|\hat R| > 10^{-9} R_{\max}`.
    q_values : array, shape (S, A)
        :math:`Q^{\pi^*}_{\hat R}` (episodes end at the absorbing states).
    values : array, shape (S,)
        :math:`V^{\pi^*}_{\hat R}`.
    margins : array, shape (S,)
        The required margin :math:`\delta_s` per state (0 on absorbing states).
    action_gaps : array, shape (S,)
        :math:`\min_{a \ne \pi^*(s)} Q(s, \pi^*(s)) - Q(s, a)` (0 on absorbing states).
    dual_value : float
        The dual objective at the returned multipliers (equals ``value`` at the optimum).
    iterations : int
        HiGHS iterations.
    converged : bool
        HiGHS reported an optimum.
    certificate : float
        The largest KKT residual: primal infeasibility, dual infeasibility, complementary
        slackness, and the duality gap, scaled by :math:`1 + \|\hat R\|_1`.
    """

    rewards: np.ndarray
    policy: np.ndarray
    value: float
    n_nonzero: int
    q_values: np.ndarray
    values: np.ndarray
    margins: np.ndarray
    action_gaps: np.ndarray
    dual_value: float
    iterations: int
    converged: bool
    certificate: float


def _margins(delta, act, S, A, learner_policy, base_margin) -> np.ndarray:
    if learner_policy is None:
        if np.ndim(delta) == 0:
            return np.full(S, check_nonnegative(delta, "delta"))
        d = check_array(delta, "delta", shape=(S,))
        if (d < 0).any():
            i = int(np.argmax(d < 0))
            raise ValueError(f"delta[{i}] = {d[i]:.6g}, must be >= 0")
        return d
    d = check_nonnegative(delta, "delta")
    base = check_nonnegative(base_margin, "base_margin")
    pl = check_array(learner_policy, "learner_policy", shape=(S, A), like="mdp")
    wrong = pl.argmax(axis=1) != act
    return np.where(wrong, d, base)


def design_reward(
    mdp: TabularMDP,
    target,
    *,
    delta=0.1,
    r_max: float = 1.0,
    horizon: int | None = None,
    form: str = "state_action",
    learner_policy=None,
    base_margin: float = 0.0,
) -> RewardDesign:
    r"""The sparsest reward (in L1) with :math:`|R| \le R_{\max}` that keeps a target optimal.

    .. math::
        \min_{R} \|R\|_1 \quad \text{s.t.} \quad
        (M_\pi R)(s, \pi(s)) - (M_\pi R)(s, a) \ge \delta_s,\
        (M^h_\pi R)(s, \pi(s)) - (M^h_\pi R)(s, a) \ge \delta_s \ (\text{if } h),\
        |R(s, a)| \le R_{\max},\ R(G, \cdot) = 0,

    for every non-absorbing :math:`s` and :math:`a \ne \pi(s)` (:func:`target_q_map` gives
    :math:`M_\pi`, :math:`M^h_\pi`). The first constraint keeps :math:`\pi` optimal for
    :math:`R` with action gap :math:`\ge \delta_s` (the policy improvement
    theorem, Puterman 1994); the :math:`h`-step one is our LP reading of the informativeness at local horizon
    :math:`h` of Devidze et al. (2021), ExpRD (which maximises a hinge of these gaps under an
    :math:`\ell_0` budget instead). With ``form="state"`` the reward is :math:`R(s, a) = r(s)`.

    Adaptive design (Devidze 2025, thesis; Devidze, Kamalaruban and Singla 2024, the reward
    conditioned on the learner's policy): with ``learner_policy``,
    :math:`\delta_s = \delta` where the learner's greedy action differs from :math:`\pi(s)`
    and :math:`\delta_s =` ``base_margin`` elsewhere (with ``base_margin = 0`` the target stays
    optimal but not necessarily uniquely).

    Parameters
    ----------
    mdp : TabularMDP
        Discounted, infinite horizon. Its absorbing states end an episode (reward 0 there).
    target : int array, shape (S,), or deterministic policy, shape (S, A)
        :math:`\pi^*`, e.g. ``mdp.solve().policy``.
    delta : float >= 0, or array, shape (S,)
        The margin :math:`\delta` (per state if an array; a scalar with ``learner_policy``).
    r_max : float > 0
        :math:`R_{\max}`.
    horizon : int >= 1, optional
        Also require the margins of the :math:`h`-step look-ahead values.
    form : {"state_action", "state"}
        :math:`R(s, a)` or :math:`R(s)`.
    learner_policy : array, shape (S, A), optional
        The learner's current policy (its greedy action is read), for the adaptive design.
    base_margin : float >= 0
        :math:`\delta_s` where the learner already agrees (only with ``learner_policy``).

    Returns
    -------
    RewardDesign

    Raises
    ------
    ValueError
        If no reward with :math:`|R| \le R_{\max}` meets the margins (naming ``delta``).

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> res = design_reward(mdp, mdp.solve().policy, delta=0.1, r_max=1.0)
    >>> round(res.value, 6), res.n_nonzero, res.action_gaps.round(6)
    (0.3, 3, array([0.1, 0.1, 0.1, 0. ]))
    """
    mdp = _check_mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    act = _target_actions(target, S, A)
    r_max = check_positive(r_max, "r_max")
    if not isinstance(form, str) or form not in _FORMS:
        raise ValueError(f"form must be one of {_FORMS}, got {form!r}")
    if horizon is not None:
        horizon = check_integer(horizon, "horizon", minimum=1)
    d = _margins(delta, act, S, A, learner_policy, base_margin)
    P = mdp.dense_transitions()
    term = _absorbing(P)
    d = np.where(term, 0.0, d)
    maps = [_q_map(P, mdp.gamma, act, None)]
    if horizon is not None:
        maps.append(_q_map(P, mdp.gamma, act, horizon))
    # rows of the margin constraints: (e_{s, pi(s)} - e_{s, a})^T M R >= delta_s
    pairs = [(s, a) for s in range(S) if not term[s] for a in range(A) if a != act[s]]
    E = np.eye(S * A) if form == "state_action" else np.kron(np.eye(S), np.ones((A, 1)))
    n = E.shape[1]
    fixed = np.repeat(term, A) if form == "state_action" else term
    D = np.zeros((len(pairs) * len(maps), n))
    h = np.zeros(len(pairs) * len(maps))
    for k, M in enumerate(maps):
        ME = M @ E
        for i, (s, a) in enumerate(pairs):
            D[k * len(pairs) + i] = ME[s * A + act[s]] - ME[s * A + a]
            h[k * len(pairs) + i] = d[s]
    # variables x = (u, v) >= 0 with R = E (u - v): min w'(u + v), -D (u - v) <= -h
    w = E.sum(axis=0)  # ||E x||_1 = w'|x|: the L1 norm of R(s, a), for either form
    c = np.concatenate([w, w])
    A_ub = np.hstack([-D, D]) if len(pairs) else None
    b_ub = -h if len(pairs) else None
    ub = np.where(np.concatenate([fixed, fixed]), 0.0, r_max)
    bounds = np.stack([np.zeros(2 * n), ub], axis=1)
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status == 2:
        raise ValueError(
            f"delta: no reward with |R| <= r_max = {r_max:.6g} keeps the target "
            "optimal with these margins (lower delta or raise r_max)"
        )
    if res.status != 0:
        raise ValueError(f"the LP failed: {res.message}")
    x = res.x
    R = (E @ (x[:n] - x[n:])).reshape(S, A)
    # KKT certificate: c = A'y + z_l + z_u, y <= 0, z_l >= 0, z_u <= 0, complementary slackness
    y = res.ineqlin.marginals if len(pairs) else np.zeros(0)
    zl, zu = res.lower.marginals, res.upper.marginals
    stat = c - (A_ub.T @ y if len(pairs) else 0.0) - zl - zu
    slack = (b_ub - A_ub @ x) if len(pairs) else np.zeros(0)
    dual = float((b_ub @ y if len(pairs) else 0.0) + ub @ zu)
    value = float(np.abs(R).sum())
    parts = [
        np.abs(stat).max(),
        max(0.0, y.max(initial=0.0)),
        max(0.0, -zl.min(initial=0.0)),
        max(0.0, zu.max(initial=0.0)),
        max(0.0, -slack.min(initial=0.0)),
        np.abs(y * slack).max(initial=0.0),
        abs(value - dual),
        max(0.0, x.max() - r_max, -x.min()),
    ]
    cert = float(max(parts) / (1.0 + value))
    Q = (maps[0] @ R.ravel()).reshape(S, A)
    gaps = Q[np.arange(S), act][:, None] - Q
    gaps[np.arange(S), act] = np.inf
    gaps = np.where(term, 0.0, gaps.min(axis=1)) if A > 1 else np.zeros(S)
    pi = np.zeros((S, A))
    pi[np.arange(S), act] = 1.0
    return RewardDesign(
        rewards=R,
        policy=pi,
        value=value,
        n_nonzero=int(np.sum(np.abs(R) > 1e-9 * r_max)),
        q_values=Q,
        values=Q[np.arange(S), act],
        margins=d,
        action_gaps=gaps,
        dual_value=dual,
        iterations=int(res.nit),
        converged=True,
        certificate=cert,
    )


@dataclass(frozen=True, eq=False)
class AdaptiveTeacherRun(Result):
    r"""A Q-learner taught by rewards re-designed for its current policy (:func:`adaptive_teacher_q_learning`).

    Attributes
    ----------
    policies : array, shape (n_phases + 1, S, A)
        The learner's greedy policy before each phase and after the last.
    rewards : array, shape (n_phases, S, A)
        The reward the teacher designed for each phase.
    n_nonzero : int array, shape (n_phases,)
        Non-zero entries of each phase's reward.
    q_history : array, shape (n_phases + 1, S, A)
        The learner's table before each phase and after the last.
    q_values : array, shape (S, A)
        The learner's final table.
    policy : array, shape (S, A)
        The learner's final greedy policy.
    iterations : int
        Learner steps in all.
    converged : bool
        The final greedy policy equals the target on every non-absorbing state.
    certificate : float
        The largest KKT certificate of the phases' LPs.
    """

    policies: np.ndarray
    rewards: np.ndarray
    n_nonzero: np.ndarray
    q_history: np.ndarray
    q_values: np.ndarray
    policy: np.ndarray
    iterations: int
    converged: bool
    certificate: float


def adaptive_teacher_q_learning(
    mdp: TabularMDP,
    target,
    *,
    n_phases: int,
    phase_episodes: int,
    delta: float = 0.1,
    r_max: float = 1.0,
    base_margin: float = 0.0,
    lr: float = 0.5,
    epsilon: float = 0.1,
    rng,
    max_steps: int = 50,
    form: str = "state_action",
    adaptive: bool = True,
) -> AdaptiveTeacherRun:
    r"""Q-learning on rewards that the teacher re-designs for the learner every few episodes.

    .. math::
        \hat R_k = \operatorname{design}\big(\pi^*, \delta_s = \delta\,\mathbb{1}[\arg\max_a
        Q_k(s, a) \ne \pi^*(s)] + \delta_0\,\mathbb{1}[\arg\max_a Q_k(s, a) = \pi^*(s)]\big),

    then ``phase_episodes`` episodes of Q-learning (Watkins 1989; the one TD loop,
    :func:`prefrl.shaping.q_learning`) on :math:`\hat R_k` from the table :math:`Q_k`. Our
    reading of the adaptive, learner-conditioned reward design of Devidze (2025, thesis) and
    Devidze, Kamalaruban and Singla (2024): the informativeness is spent only where the learner
    is still wrong. With ``adaptive=False`` the reward of :func:`design_reward` (margin
    :math:`\delta` everywhere) is used in every phase, a non-adaptive teacher on the same clock.

    Parameters
    ----------
    mdp : TabularMDP
        The environment (its absorbing states end an episode).
    target : int array, shape (S,), or deterministic policy, shape (S, A)
        :math:`\pi^*`.
    n_phases : int >= 1
    phase_episodes : int >= 1
        Episodes between two re-designs (:math:`M`).
    delta, r_max, base_margin, form
        As in :func:`design_reward` (``base_margin`` is :math:`\delta_0`).
    lr : float in (0, 1]
    epsilon : float in [0, 1]
    rng : numpy Generator or int seed
        Required: the learner samples.
    max_steps : int >= 1
        Episode cap.
    adaptive : bool
        Re-design for the learner's policy (True) or keep the fixed design (False).

    Returns
    -------
    AdaptiveTeacherRun

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> run = adaptive_teacher_q_learning(mdp, mdp.solve().policy, n_phases=3,
    ...                                   phase_episodes=5, rng=0)
    >>> run.policy.argmax(axis=1)[:3], bool(run.converged)
    (array([1, 1, 1]), True)
    """
    mdp = _check_mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    act = _target_actions(target, S, A)
    n_phases = check_integer(n_phases, "n_phases", minimum=1)
    phase_episodes = check_integer(phase_episodes, "phase_episodes", minimum=1)
    check_in_range(lr, "lr", 0.0, 1.0, low_open=True)
    check_in_range(epsilon, "epsilon", 0.0, 1.0)
    if not isinstance(adaptive, (bool, np.bool_)):
        raise TypeError(f"adaptive must be a bool, got {type(adaptive).__name__}")
    gen = as_rng(rng)
    P = mdp.dense_transitions()
    live = ~_absorbing(P)
    Q = np.zeros((S, A))
    fixed = None if adaptive else design_reward(mdp, act, delta=delta, r_max=r_max, form=form)
    policies, rewards, nnz, certs, steps, hist = [], [], [], [], 0, []
    for _ in range(n_phases):
        hist.append(Q)
        greedy = np.eye(A)[Q.argmax(axis=1)]
        policies.append(greedy)
        des = (
            fixed
            if fixed is not None
            else design_reward(
                mdp,
                act,
                delta=delta,
                r_max=r_max,
                form=form,
                learner_policy=greedy,
                base_margin=base_margin,
            )
        )
        rewards.append(des.rewards)
        nnz.append(des.n_nonzero)
        certs.append(des.certificate)
        taught = TabularMDP(P, des.rewards, mdp.gamma, initial=mdp.initial)
        run = q_learning(
            taught, phase_episodes, lr=lr, epsilon=epsilon, rng=gen, init=Q, max_steps=max_steps
        )
        Q = np.asarray(run.q_values, dtype=float)
        steps += run.iterations
    final = np.eye(A)[Q.argmax(axis=1)]
    policies.append(final)
    hist.append(Q)
    return AdaptiveTeacherRun(
        policies=np.array(policies),
        rewards=np.array(rewards),
        n_nonzero=np.array(nnz, dtype=np.int64),
        q_history=np.array(hist),
        q_values=Q,
        policy=final,
        iterations=steps,
        converged=bool(np.all(final.argmax(axis=1)[live] == act[live])),
        certificate=float(max(certs)),
    )
