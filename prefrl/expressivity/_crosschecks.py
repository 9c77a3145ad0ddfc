r"""Cross-checks of the exact evaluations against brute force, and the stay/go LP separation (ours).

Part of :mod:`prefrl.expressivity`. Each function returns a nonnegative gap that is 0 up to
rounding when the implementation is right; the theorem checks of
``prefrl.proofs_check.expressivity`` run them on random instances (:mod:`._instances`) and the
figure ``expressivity_hasse`` reports them as the evidence of the embeddings RM, INMR, LTL
:math:`\le` FTR. The formalisms are those of Subramani et al. (ICLR 2024); the checks are ours.

- :func:`rm_enumeration_gap`: reward machine on the product chain vs trajectory enumeration;
- :func:`rm_lipschitz_excess`: the Lipschitz bound of RM values in the policy;
- :func:`ltl_lasso_gap`: automaton/BSCC satisfaction probability vs the lasso semantics;
- :func:`inmr_ftr_gap`: exact return law vs finite-horizon MR and trajectory enumeration;
- :func:`stay_go_incomparability`: LP certificates that MR and LAR are incomparable.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_in_range, check_integer, check_positive
from ..mdp import TabularMDP
from ..mdp.envs import stay_go_env
from ._automata import holds_on_lasso
from ._ltl import satisfaction_probability
from ._objectives import LimitAverageReward, MarkovReward, _check_mdp, _check_reward_shape
from ._orderings import lar_expressible, mr_expressible, policy_ordering
from ._reward_machines import RewardMachineObjective
from ._trajectory import InnerNonlinearMR, TrajectoryFunction, return_distribution

__all__ = [
    "inmr_ftr_gap",
    "ltl_lasso_gap",
    "rm_enumeration_gap",
    "rm_lipschitz_excess",
    "stay_go_incomparability",
]


def _run_machine(machine, labelling, R5, states, actions):
    """The machine's discounted return along one trajectory (states (H+1,), actions (H,))."""
    u, total = machine.start, 0.0
    for t, a in enumerate(actions):
        s, s2 = states[t], states[t + 1]
        v = machine.delta[u, labelling[s, a, s2]]
        total += machine.gamma**t * R5[u, v, s, a, s2]
        u = v
    return total


def rm_enumeration_gap(mdp, machine, labelling, policy, horizon: int) -> float:
    r"""Reward machine on the product chain against a brute-force sum over trajectories.

    With :math:`J_H` the finite-horizon value of the product MDP
    (:meth:`~prefrl.expressivity.RewardMachineObjective.product_mdp` with horizon :math:`H`) and
    :math:`B` the sum over all trajectories of length :math:`H` of their probability times the
    machine's discounted return (:class:`~prefrl.expressivity.TrajectoryFunction`), returns

    .. math::
        \max\Big(\frac{|B - J_H|}{1 + r_{\max} H},\;
        \frac{|J(\pi) - J_H| - \gamma^H r_{\max}/(1-\gamma) - 10^{-10}(1 + r_{\max})}
        {1 + r_{\max}/(1-\gamma)},\; 0\Big),

    0 up to rounding: the product construction is exact over a finite horizon, and the
    infinite-horizon value is within the tail bound of it. Ours (the construction is Icarte et
    al. 2018's; the RM formalism of Subramani et al. 2024).

    Parameters
    ----------
    mdp : TabularMDP
    machine : RewardMachine
    labelling : int array, shape (S, A, S)
    policy : array, shape (S, A)
    horizon : int >= 1
        Trajectories enumerated: at most :math:`10^5`.

    Returns
    -------
    float

    Examples
    --------
    >>> from prefrl.expressivity import draw_rm
    >>> inst = draw_rm(0)
    >>> bool(rm_enumeration_gap(inst["env"], inst["machine"], inst["labelling"], inst["policy"],
    ...                         inst["horizon"]) < 1e-9)
    True
    """
    J = RewardMachineObjective(mdp, machine, labelling)
    m, lab, pi = machine, labelling, policy
    H = check_integer(horizon, "horizon", minimum=1)
    R5 = J.transition_rewards
    brute = TrajectoryFunction(mdp, lambda s, a: _run_machine(m, lab, R5, s, a), H)(pi)
    px = J.product_mdp()
    finite = TabularMDP(px.transitions, px.rewards, m.gamma, px.initial, horizon=H)
    exact_H = finite.expected_return(J.lift_policy(pi))
    rmax = float(np.abs(R5).max())
    gap = abs(brute - exact_H) / (1.0 + rmax * H)
    tail = abs(J(pi) - exact_H) - m.gamma**H * rmax / (1.0 - m.gamma) - 1e-10 * (1 + rmax)
    return max(gap, tail / (1.0 + rmax / (1.0 - m.gamma)), 0.0)


def rm_lipschitz_excess(mdp, machine, labelling, policy, other) -> float:
    r"""Excess of a reward-machine value difference over its Lipschitz bound in the policy.

    Lemma (ours; the simulation lemma on the product chain): for every reward machine,
    :math:`|J(\pi) - J(\pi')| \le r_{\max}\,\varepsilon/(1-\gamma)^2` with
    :math:`\varepsilon = \max_s \|\pi(\cdot|s) - \pi'(\cdot|s)\|_1`, so RM orderings are
    continuous (the premise of the continuity and edge lemmas of the five-way separation).
    Returns :math:`\max(0, |J(\pi) - J(\pi')| - \text{bound}) / (1 + r_{\max}/(1-\gamma))`.

    Parameters
    ----------
    mdp : TabularMDP
    machine : RewardMachine
    labelling : int array, shape (S, A, S)
    policy, other : arrays, shape (S, A)

    Returns
    -------
    float
        0 when the bound holds.

    Examples
    --------
    >>> from prefrl.expressivity import draw_lipschitz
    >>> inst = draw_lipschitz(0)
    >>> rm_lipschitz_excess(inst["env"], inst["machine"], inst["labelling"], inst["policy"],
    ...                     inst["policy2"])
    0.0
    """
    J = RewardMachineObjective(mdp, machine, labelling)
    pi, pi2 = mdp.check_policy(policy), mdp.check_policy(other, "other")
    rmax = float(np.abs(J.transition_rewards).max())
    eps = float(np.abs(pi - pi2).sum(axis=1).max())
    bound = rmax * eps / (1.0 - machine.gamma) ** 2
    excess = abs(J(pi) - J(pi2)) - bound
    return max(0.0, excess) / (1.0 + rmax / (1.0 - machine.gamma))


def _lasso_probability(mdp, pi, props, formula):
    """Sum over the length-(S-1) prefixes of Pr(prefix) * [prefix . last^omega |= formula]."""
    S = mdp.n_states
    P = mdp.dense_transitions()
    letters = (props * (1 << np.arange(props.shape[0]))[:, None]).sum(axis=0)
    total = 0.0
    stack = [([int(s)], float(mdp.initial[s])) for s in np.flatnonzero(mdp.initial > 0)]
    while stack:
        states, p = stack.pop()
        if len(states) == S:  # s_{S-1} is absorbing: the word is letters(prefix) . letter(last)^omega
            word = [letters[s] for s in states[:-1]]
            total += p * holds_on_lasso(formula, word, letters[states[-1]])
            continue
        s = states[-1]
        step = np.einsum("a,at->t", pi[s], P[s])
        for s2 in np.flatnonzero(step > 0):
            stack.append(([*states, int(s2)], p * step[s2]))
    return total


def ltl_lasso_gap(mdp, policy, formula, propositions) -> float:
    r"""Automaton/BSCC satisfaction probability against the textbook semantics on lasso words.

    On an environment whose runs are absorbed surely within :math:`S - 1` steps (a
    :func:`~prefrl.expressivity.dag_env`, state labels), each run's word is
    :math:`u\,c^\omega` with :math:`u` the letters of its first :math:`S - 1` states and
    :math:`c` the absorbing state's letter, so

    .. math::
        \Pr(\xi \models \varphi) = \sum_{\text{prefixes}} \Pr(\text{prefix})\,
        \mathbb 1[u\,c^\omega \models \varphi]

    with the semantics of :func:`~prefrl.expressivity.holds_on_lasso`. Returns the absolute
    difference to :func:`~prefrl.expressivity.satisfaction_probability` (0 up to rounding).
    Ours (Baier and Katoen 2008, Sec. 10.3).

    Parameters
    ----------
    mdp : TabularMDP
        Absorbed surely within S - 1 steps (not checked: the enumeration assumes it).
    policy : array, shape (S, A)
    formula : Formula
    propositions : bool array, shape (k, S)
        State propositions.

    Returns
    -------
    float

    Examples
    --------
    >>> from prefrl.expressivity import draw_ltl_dag
    >>> inst = draw_ltl_dag(3)
    >>> bool(ltl_lasso_gap(inst["env"], inst["policy"], inst["formula"], inst["props"]) < 1e-10)
    True
    """
    mdp = _check_mdp(mdp)
    pi = mdp.check_policy(policy)
    props = np.asarray(propositions)
    if props.ndim != 2 or props.shape[1] != mdp.n_states:
        raise ValueError(f"propositions must be state propositions of shape (k, {mdp.n_states}), "
                         f"got {props.shape}")
    p = satisfaction_probability(mdp, pi, formula, props).probability
    return abs(p - _lasso_probability(mdp, pi, props, formula))


def inmr_ftr_gap(mdp, reward, policy, horizon: int, gamma: float) -> float:
    r"""The exact return law against finite-horizon MR and against trajectory enumeration.

    Returns the largest of :math:`|\sum_i p_i - 1|` (the law of
    :func:`~prefrl.expressivity.return_distribution` sums to 1), :math:`|\mathbb E G_R -
    J^H_{MR}|/c` (INMR with :math:`f = \mathrm{id}` is finite-horizon MR) and :math:`|J_{INMR} -
    J_{FTR}|` for :math:`f(G) = e^{-G/c}` (INMR is FTR with :math:`f(G_R(\xi))`), with
    :math:`c = 1 + H \max|R|`. 0 up to rounding. Ours (the INMR and FTR formalisms of Subramani
    et al. 2024, over a finite horizon).

    Parameters
    ----------
    mdp : TabularMDP
    reward : array, shape (S, A) or (S, A, S)
    policy : array, shape (S, A)
    horizon : int >= 1
    gamma : float in [0, 1]

    Returns
    -------
    float

    Examples
    --------
    >>> from prefrl.expressivity import draw_inmr
    >>> inst = draw_inmr(0)
    >>> bool(inmr_ftr_gap(inst["env"], inst["reward"], inst["policy"], inst["horizon"],
    ...                   inst["gamma"]) < 1e-9)
    True
    """
    mdp = _check_mdp(mdp)
    R, pi, H, g = _check_reward_shape(mdp, reward), policy, horizon, gamma
    d = return_distribution(mdp, pi, R, H, g)
    mr = TabularMDP(mdp.transitions, R, g, mdp.initial, horizon=H).expected_return(pi)
    scale = 1.0 + np.abs(R).max() * H
    J = InnerNonlinearMR(mdp, R, lambda x: np.exp(-x / scale), H, g)(pi)
    R3 = R if R.ndim == 3 else np.broadcast_to(R[:, :, None], (*R.shape, mdp.n_states))

    def ftr(s, a):
        G = sum(g**t * R3[s[t], a[t], s[t + 1]] for t in range(H))
        return np.exp(-G / scale)

    F = TrajectoryFunction(mdp, ftr, H)(pi)
    return max(d.certificate, abs(d.expect(lambda x: x) - mr) / scale, abs(J - F))


def stay_go_incomparability(gamma: float, scale: float, grid) -> float:
    r"""LP certificates that MR and LAR are incomparable, on the stay/go environment (ours).

    In :func:`~prefrl.mdp.envs.stay_go_env` with :math:`p = \pi(\mathrm{go} \mid s_0)` on
    ``grid`` (which must contain 0 and positive values at least about 1e-3 apart): the LAR
    ordering of the reward ``scale`` on the absorbing state ties every :math:`p > 0` above
    :math:`p = 0`, which no Markov reward (discount ``gamma``) induces; the MR ordering of the
    reward ``scale`` on "stay" (discount :math:`\max(\gamma, 1/2)`) is strictly decreasing in
    :math:`p`, which no limit-average reward induces. Returns 1 if either LP
    (:func:`~prefrl.expressivity.mr_expressible`, :func:`~prefrl.expressivity.lar_expressible`)
    is feasible, else the larger Farkas certificate (the MR one times :math:`1 - \gamma`).

    Parameters
    ----------
    gamma : float in [0, 1)
    scale : float > 0
    grid : array of p values in [0, 1]

    Returns
    -------
    float
        ~0 when both separations are certified.

    Examples
    --------
    >>> bool(stay_go_incomparability(0.9, 1.0, np.linspace(0, 1, 11)) < 1e-9)
    True
    """
    gamma = check_in_range(gamma, "gamma", 0.0, 1.0, high_open=True)
    scale = check_positive(scale, "scale")
    env, g, k = stay_go_env(), gamma, scale
    pols = [np.array([[1.0 - p, p], [1.0, 0.0]]) for p in check_array(grid, "grid", ndim=1)]
    lar = policy_ordering(LimitAverageReward(env, [[0.0, 0.0], [k, k]]), pols)
    mr = policy_ordering(MarkovReward(env, [[k, 0.0], [0.0, 0.0]], max(g, 0.5)), pols)
    a = mr_expressible(env, lar, pols, g)
    b = lar_expressible(env, mr, pols)
    if a.feasible or b.feasible:
        return 1.0
    return max(a.certificate * (1.0 - g), b.certificate)
