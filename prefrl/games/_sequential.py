r"""Sequential self-play: trajectory-level preference games in a finite-horizon tabular MDP.

Swamy et al. (2024), "A Minimaximalist Approach to Reinforcement Learning from Human Feedback",
Sec. 3-4 (SPO in an MDP) and Sec. 5 (the reward-model baseline it is compared with):

- :class:`TrajectoryGame`: the preference game over the enumerated trajectories of an MDP, with
  possibly non-Markovian and intransitive trajectory preferences; exact trajectory
  distributions of (history-dependent) policies and exact exploitability by backward induction
  on the tree of histories;
- :func:`sequential_spo`: history-dependent soft policy iteration on win-rate rewards spread over
  the steps; the mixture's exploitability is Reg(T)/T as in the bandit case;
- :func:`reward_model_rlhf`: a Markovian Bradley-Terry reward fitted to trajectory comparisons
  (Christiano et al. 2017, "Deep Reinforcement Learning from Human Preferences", Sec. 2.2; the
  linear fit :func:`prefrl.bradley_terry.linear_bt_mle_counts`), then planning by backward
  induction.
"""

from __future__ import annotations

import numpy as np

from .._numerics import log_normalize
from .._validation import (
    check_distribution,
    check_integer,
    check_positive,
    check_preference_matrix,
    check_stochastic_matrix,
    frozen_copy,
)
from ..bradley_terry import linear_bt_mle_counts
from ._loop import safe_log
from ._results import RewardModelResult, SequentialSelfPlayResult

__all__ = ["TrajectoryGame", "reward_model_rlhf", "sequential_spo"]


class TrajectoryGame:
    r"""The preference game over the trajectories of a finite-horizon tabular MDP.

    A trajectory is :math:`\xi = (s_0, a_0, s_1, \dots, a_{H-1}, s_H)`; a history-dependent
    policy :math:`\pi(a \mid h_t)` (:math:`h_t = (s_0, a_0, \dots, s_t)`) induces the distribution
    :math:`d_\pi(\xi) = \mu_0(s_0)\prod_t \pi(a_t\mid h_t) P(s_{t+1}\mid s_t, a_t)`, and

    .. math::
        P(\pi \succ \pi') = \sum_{\xi, \xi'} d_\pi(\xi)\, \mathcal P(\xi, \xi')\, d_{\pi'}(\xi'),

    with :math:`\mathcal P(\xi, \xi')` the probability that :math:`\xi` is preferred to
    :math:`\xi'`, which may be non-Markovian (any function of the two trajectories) and
    intransitive (e.g. a vote of several raters). This is the setting of SPO (Swamy et al. 2024,
    Sec. 3-4). All reachable trajectories are enumerated, so everything is exact; keep
    :math:`(S A)^H` in the thousands.

    Parameters
    ----------
    mdp : prefrl.mdp.TabularMDP
        Dynamics, initial distribution and ``horizon`` :math:`H` (its rewards are not used).
    preference : array, shape (L, L), or callable
        :math:`\mathcal P` over the enumerated trajectories (``P + P.T == 1``), or a function
        ``f(xi, xi2) -> probability`` on two int arrays of length :math:`2H + 1` (called for
        ``i < j`` only). Build the array after enumeration with :meth:`enumerate` if needed.

    Attributes
    ----------
    trajectories : int array, shape (L, 2H + 1)
        Row ``i`` is :math:`(s_0, a_0, \dots, a_{H-1}, s_H)`.
    features : array, shape (L, S * A)
        State-action visit counts of each trajectory (:math:`\sum_t e_{(s_t, a_t)}`).
    preference : array, shape (L, L)

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0   # one state, two actions
    >>> mdp = TabularMDP(P, np.zeros((1, 2)), gamma=1.0, horizon=2)
    >>> game = TrajectoryGame(mdp, lambda x, y: 0.5 + 0.5 * np.sign(x[1::2].sum() - y[1::2].sum()))
    >>> game.trajectories[:, 1::2].tolist()    # the action sequences
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    >>> game.distribution(np.full((2, 1, 2), 0.5)).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> round(game.exploitability(np.full(4, 0.25)), 6)   # the best response plays 1, 1
    0.375
    """

    @staticmethod
    def enumerate(mdp) -> np.ndarray:
        """The reachable trajectories of ``mdp``, int array of shape (L, 2H + 1), in tree order."""
        return _TrajectoryTree(mdp).trajectories

    def __init__(self, mdp, preference):
        self.mdp = mdp
        self._tree = _TrajectoryTree(mdp)
        L = self._tree.trajectories.shape[0]
        if callable(preference):
            X = self._tree.trajectories
            Pm = np.full((L, L), 0.5)
            for i in range(L):
                for j in range(i + 1, L):
                    p = float(preference(X[i], X[j]))
                    q = float(preference(X[j], X[i]))
                    if not abs(p + q - 1.0) <= 1e-9:
                        raise ValueError(
                            f"preference(x, y) + preference(y, x) = {p + q:.6g} for trajectories "
                            f"{i} and {j}, must be 1 (a preference probability)")
                    Pm[i, j], Pm[j, i] = p, 1.0 - p
            preference = Pm
        self.preference = frozen_copy(check_preference_matrix(preference, "preference"))
        if self.preference.shape[0] != L:
            raise ValueError(f"preference must have shape ({L}, {L}) for the {L} trajectories")

    @property
    def trajectories(self) -> np.ndarray:
        return self._tree.trajectories

    @property
    def features(self) -> np.ndarray:
        return self._tree.features

    @property
    def horizon(self) -> int:
        return self._tree.H

    def distribution(self, policy) -> np.ndarray:
        r"""Trajectory distribution :math:`d_\pi` of a Markovian time-dependent policy, shape (L,).

        ``policy`` has shape (H, S, A) (or (S, A), used at every step); a history-dependent
        policy is given as a list of H arrays, entry ``t`` of shape (n_t, A) over the histories
        of length ``t`` in tree order.
        """
        return self._tree.forward(self._tree.tree_policy(policy))

    def exploitability(self, distribution) -> float:
        r"""Exploitability of a trajectory distribution, over history-dependent best responses.

        .. math::
            \mathrm{expl}(d) = \max_{\pi'} \sum_{\xi} d_{\pi'}(\xi)\, (\mathcal P d)(\xi) - \tfrac12,

        computed exactly by backward induction on the history tree with terminal reward
        :math:`(\mathcal P d)(\xi)`. Zero exactly at a minimax-winning policy.
        """
        d = check_distribution(distribution, "distribution", size=self.preference.shape[0])
        return float(self._tree.best_response_value(self.preference @ d) - 0.5)


class _TrajectoryTree:
    """Histories of a finite-horizon MDP as a tree, level by level."""

    def __init__(self, mdp):
        H = getattr(mdp, "horizon", None)
        if H is None:
            raise ValueError("mdp must have a finite horizon")
        T = mdp.dense_transitions()
        S, A = mdp.n_states, mdp.n_actions
        self.H, self.S, self.A, self.T = H, S, A, T
        roots = np.flatnonzero(mdp.initial > 0)
        self.state = [roots]
        self.prob0 = mdp.initial[roots]
        self.parent, self.action, self.tp = [None], [None], [None]
        paths = [roots[:, None]]
        for _t in range(H):
            st = self.state[-1]
            par, act, nxt, tp = [], [], [], []
            for h, s in enumerate(st):
                for a in range(A):
                    for s2 in np.flatnonzero(T[s, a] > 0):
                        par.append(h)
                        act.append(a)
                        nxt.append(s2)
                        tp.append(T[s, a, s2])
            par, act, nxt = (np.array(x, dtype=np.int64) for x in (par, act, nxt))
            self.parent.append(par)
            self.action.append(act)
            self.state.append(nxt)
            self.tp.append(np.array(tp))
            paths.append(np.column_stack([paths[-1][par], act, nxt]))
        self.trajectories = paths[-1]
        L = self.trajectories.shape[0]
        self.features = np.zeros((L, S * A))
        for t in range(H):
            s, a = self.trajectories[:, 2 * t], self.trajectories[:, 2 * t + 1]
            np.add.at(self.features, (np.arange(L), s * A + a), 1.0)

    def n_nodes(self, t: int) -> int:
        return self.state[t].size

    def tree_policy(self, policy, name: str = "policy") -> list[np.ndarray]:
        if isinstance(policy, (list, tuple)):
            out = [check_stochastic_matrix(p, f"{name}[{t}]", shape=(self.n_nodes(t), self.A))
                   for t, p in enumerate(policy)]
            if len(out) != self.H:
                raise ValueError(f"{name} must have {self.H} levels, got {len(out)}")
            return out
        pi = check_stochastic_matrix(policy, name)
        if pi.shape == (self.S, self.A):
            pi = np.broadcast_to(pi, (self.H, self.S, self.A))
        if pi.shape != (self.H, self.S, self.A):
            raise ValueError(f"{name} must have shape ({self.H}, {self.S}, {self.A}) or "
                             f"({self.S}, {self.A}), got {pi.shape}")
        return [pi[t][self.state[t]] for t in range(self.H)]

    def forward(self, tree_pi: list[np.ndarray]) -> np.ndarray:
        prob = self.prob0
        for t in range(self.H):
            par, act = self.parent[t + 1], self.action[t + 1]
            prob = prob[par] * tree_pi[t][par, act] * self.tp[t + 1]
        return prob

    def backup(self, t: int, values_next: np.ndarray) -> np.ndarray:
        """Q(h, a) = sum over children of P(s'|s, a) * values_next(child), shape (n_t, A)."""
        Q = np.zeros((self.n_nodes(t), self.A))
        np.add.at(Q, (self.parent[t + 1], self.action[t + 1]), self.tp[t + 1] * values_next)
        return Q

    def best_response_value(self, leaf_reward: np.ndarray) -> float:
        V = leaf_reward
        for t in reversed(range(self.H)):
            V = self.backup(t, V).max(axis=1)
        return float(self.prob0 @ V)


def sequential_spo(
    game: TrajectoryGame, n_steps: int, *, eta: float = 1.0, spread: bool = True, init=None
) -> SequentialSelfPlayResult:
    r"""SPO in a finite-horizon MDP: history-dependent soft policy iteration on win-rate rewards.

    .. math::
        r_k(\xi) = \sum_{\xi'} \mathcal P(\xi, \xi')\, d_{\pi_k}(\xi'), \qquad
        \pi_{k+1}(a \mid h_t) \propto \pi_k(a \mid h_t)\, e^{\eta\, Q_k(h_t, a)}, \qquad
        Q_k(h_t, a) = \mathbb{E}_{\pi_k}\Big[\sum_{t' \ge t} \tfrac{r_k(\xi)}{H} \,\Big|\, h_t, a\Big],

    the sequential self-play of Swamy et al. (2024, "A Minimaximalist Approach to RLHF", Sec. 4):
    each trajectory's reward is its win rate against the current policy, spread as :math:`r/H`
    over its :math:`H` steps (``spread=True``; ``False`` gives it all at the end), and a
    history-dependent natural policy gradient / soft policy iteration step (a no-regret learner
    on the tree of histories) updates the policy. As in the bandit case (:func:`spo`), the
    mixture of the iterates has exploitability exactly :math:`\mathrm{Reg}(T)/T`, where the regret
    is against the best history-dependent policy in hindsight. Exact: rewards, Q-values and best
    responses are computed on the enumerated trajectory tree.

    Parameters
    ----------
    game : TrajectoryGame
    n_steps : int >= 1
    eta : float > 0
        Step size of the soft policy iteration.
    spread : bool
        Spread the trajectory reward as :math:`r/H` per step (the SPO paper's choice).
    init : list of arrays or array (H, S, A), optional
        Initial policy; uniform by default.

    Returns
    -------
    SequentialSelfPlayResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((1, 3, 1)); P[0, :, 0] = 1.0        # one state, three actions, H = 1
    >>> mdp = TabularMDP(P, np.zeros((1, 3)), gamma=1.0, horizon=1)
    >>> from prefrl.preferences import rock_paper_scissors
    >>> game = TrajectoryGame(mdp, rock_paper_scissors())
    >>> res = sequential_spo(game, 500, eta=0.1, init=np.array([[[0.6, 0.3, 0.1]]]))
    >>> res.average_distribution.round(2), bool(res.exploitability[-1] < 0.05)
    (array([0.32, 0.34, 0.34]), True)
    """
    if not isinstance(game, TrajectoryGame):
        raise TypeError(f"game must be a TrajectoryGame, got {type(game).__name__}")
    T = check_integer(n_steps, "n_steps", minimum=1)
    eta = check_positive(eta, "eta")
    tree, Pm = game._tree, game.preference
    H = tree.H
    A = tree.A
    pi0 = tree.tree_policy(np.full((H, tree.S, A), 1.0 / A) if init is None else init, "init")
    logits = [safe_log(p) for p in pi0]
    L = Pm.shape[0]
    dists = np.empty((T + 1, L))
    for k in range(T + 1):
        pis = [np.exp(z) for z in logits]
        d = tree.forward(pis)
        dists[k] = d
        if k == T:
            break
        r = Pm @ d
        # G_t(h, a) = E[r(xi) | h_t, a] under pi_k, computed backwards.
        G = r
        for t in reversed(range(H)):
            Ga = tree.backup(t, G)
            q = Ga * ((H - t) / H if spread else 1.0)
            logits[t] = logits[t] + eta * q
            logits[t] = log_normalize(logits[t], axis=1)
            G = (pis[t] * Ga).sum(axis=1)
    played = dists[:-1]
    cum = np.cumsum(played, axis=0)
    regret = np.empty(T)
    expl = np.empty(T)
    self_payoff = np.cumsum(np.einsum("ti,ij,tj->t", played, Pm, played))
    for t in range(T):
        regret[t] = tree.best_response_value(Pm @ cum[t]) - self_payoff[t]
        expl[t] = tree.best_response_value(Pm @ (cum[t] / (t + 1))) - 0.5
    return SequentialSelfPlayResult(
        distributions=dists,
        average_distribution=cum[-1] / T,
        regret=regret,
        exploitability=expl,
        last_policy=[np.exp(z) for z in logits],
        iterations=T,
    )


def reward_model_rlhf(
    game: TrajectoryGame, *, beta: float | None = None, behaviour=None, l2: float = 1e-6
) -> RewardModelResult:
    r"""Reward-model RLHF on trajectory comparisons: fit a Markovian Bradley-Terry reward, then plan.

    .. math::
        \hat R = \arg\min_{R} -\sum_{\xi, \xi'} d_b(\xi) d_b(\xi')\, \mathcal P(\xi, \xi')
        \log\sigma\Big(\sum_t R(s_t, a_t) - \sum_t R(s'_t, a'_t)\Big) + \tfrac{\lambda}{2}\|R\|^2,

    the trajectory-return Bradley-Terry model of Christiano et al. (2017, Sec. 2.2) fitted on the
    population of comparisons between trajectories of a behaviour policy :math:`b` (uniform by
    default), followed by exact (``beta=None``) or KL-regularised backward induction on
    :math:`\hat R` (:meth:`prefrl.mdp.TabularMDP.backward_induction`). This is the baseline SPO is
    compared with (Swamy et al. 2024, Sec. 5): a Markovian reward cannot represent
    intransitive or non-Markovian preferences, so the planned policy can be exploitable.

    Parameters
    ----------
    game : TrajectoryGame
    beta : float > 0, optional
        KL weight of the planning step (uniform reference); None for the hard optimum.
    behaviour : array, shape (H, S, A) or (S, A), optional
        Policy generating the compared trajectories; uniform by default.
    l2 : float > 0
        Ridge of the reward fit.

    Returns
    -------
    RewardModelResult

    Examples
    --------
    >>> from prefrl.mdp import TabularMDP
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0
    >>> mdp = TabularMDP(P, np.zeros((1, 2)), gamma=1.0, horizon=2)
    >>> game = TrajectoryGame(mdp, lambda x, y: 0.5 + 0.4 * np.sign(x[1::2].sum() - y[1::2].sum()))
    >>> res = reward_model_rlhf(game)
    >>> res.policy[:, 0].tolist(), round(res.exploitability, 9)
    ([[0.0, 1.0], [0.0, 1.0]], 0.0)
    """
    from ..mdp import TabularMDP  # imported here: prefrl.mdp takes ~0.6 s to import

    if not isinstance(game, TrajectoryGame):
        raise TypeError(f"game must be a TrajectoryGame, got {type(game).__name__}")
    l2 = check_positive(l2, "l2")
    tree, Pm = game._tree, game.preference
    S, A, H = tree.S, tree.A, tree.H
    b = np.full((H, S, A), 1.0 / A) if behaviour is None else behaviour
    d_b = tree.forward(tree.tree_policy(b, "behaviour"))
    W = np.outer(d_b, d_b)
    np.fill_diagonal(W, 0.0)
    W /= max(W.sum(), 1e-300)
    # W_ij P_ij weighs "trajectory i beat trajectory j": prefrl's one linear BT fit, on the (s, a)
    # count features of the trajectories. The tolerance is tight because with a ridge of 1e-6 a
    # gradient of 1e-11 could still leave theta 1e-5 away from the minimiser.
    theta = linear_bt_mle_counts(W * Pm, tree.features, l2, tol=1e-15).weights
    R_hat = theta.reshape(S, A)
    planner = TabularMDP(tree.T, R_hat, gamma=1.0, initial=game.mdp.initial, horizon=H)
    pol = planner.backward_induction(beta=beta).policy
    d = game.distribution(pol)
    return RewardModelResult(reward=R_hat, policy=pol, distribution=d,
                             exploitability=game.exploitability(d))
