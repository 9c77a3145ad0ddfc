r"""The witnesses of the five-way separation of RRL, ONMR, RM, LTL and LAR (our constructions).

Part of :mod:`prefrl.expressivity`. The abstract of Subramani et al. (ICLR 2024) states that
RRL, ONMR, RM, LTL and LAR can each express an ordering of policies that none of the other four
can. The witness objectives, their environments and the policy families below are this project's
constructions, not the paper's:

- :data:`FIVE`, :func:`five_way_witnesses`: the five witness objectives;
- the one-state three-action environment's policies: :func:`simplex_grid`,
  :func:`segment_policy`; its machines :func:`change_machine`, :func:`tilted_change_machine`
  and the optimum :func:`rm_witness_optimum`; :func:`gini_is_ltl`;
- the switch environment's policies :func:`switch_policy`, :func:`switch_grid`, the LAR witness
  :func:`lar_witness_reward`, its level curves :func:`lar_level_curve` and
  :func:`curve_intervals`.

Constants: :data:`SEP_GAMMA` (the witnesses' discount), :data:`E_INV` (the float rounding of
:math:`1/e`, the tilt and slope of the RM and LAR witnesses), :data:`RAYS` (the four level curves
of the corner lemma).
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_array,
    check_integer,
    check_nonnegative,
    check_probability,
    renamed_errors,
)
from ..mdp.envs import one_state_env, switch_env
from ._automata import eventually, next_, prop
from ._ltl import LTLObjective
from ._objectives import LimitAverageReward, OuterNonlinearMR, RegularisedRL
from ._orderings import policy_ordering
from ._reward_machines import RewardMachine, RewardMachineObjective

__all__ = [
    "E_INV",
    "FIVE",
    "RAYS",
    "SEP_GAMMA",
    "change_machine",
    "curve_intervals",
    "five_way_witnesses",
    "gini_is_ltl",
    "lar_level_curve",
    "lar_witness_reward",
    "rm_witness_optimum",
    "segment_policy",
    "simplex_grid",
    "switch_grid",
    "switch_policy",
    "tilted_change_machine",
]

#: The five formalisms of the separation, in the order of the table.
FIVE = ("RRL", "ONMR", "RM", "LTL", "LAR")
#: The witnesses' discount: binary fractions, so the ONMR threshold 2 pi(a0) >= 1 is exact.
SEP_GAMMA = 0.5
#: The float rounding of 1/e. The witnesses use the real constant 1/e (tilt of the RM witness,
#: slope of the LAR witness); every numerical premise check is robust to the rounding.
E_INV = float(np.exp(-1.0))
#: The slopes c of the four LAR level curves q1 ~ c q0 through the corner (the corner lemma).
RAYS = (0.25, 0.5, 2.0, 4.0)


def _val(J, pi) -> float:
    return float(J.values(pi)[0])


# ---------------------------------------------------------------------------- policy families
def simplex_grid(m: int) -> list:
    r"""Policies of the one-state three-action environment on the grid of step :math:`1/m`.

    Returns
    -------
    list of :math:`(m+1)(m+2)/2` arrays, each of shape (1, 3)

    Examples
    --------
    >>> len(simplex_grid(2)), simplex_grid(2)[1].tolist()
    (6, [[0.0, 0.5, 0.5]])
    """
    m = check_integer(m, "m", minimum=1)
    return [np.array([[i / m, j / m, (m - i - j) / m]]) for i in range(m + 1)
            for j in range(m + 1 - i)]


def segment_policy(p: float) -> np.ndarray:
    r"""The one-state 3-action policy :math:`\sigma(p) = (p, (1 - p)/2, (1 - p)/2)`, shape (1, 3).

    Examples
    --------
    >>> segment_policy(0.5).tolist()
    [[0.5, 0.25, 0.25]]
    """
    p = check_probability(p, "p")
    return np.array([[p, (1.0 - p) / 2.0, (1.0 - p) / 2.0]])


def switch_policy(q0: float, q1: float) -> np.ndarray:
    r"""The switch-environment policy with :math:`\pi(\mathrm{switch}|0) = q_0`, :math:`\pi(\mathrm{switch}|1) = q_1`.

    Returns
    -------
    array, shape (2, 2)
        Rows ``[1 - q0, q0]`` and ``[1 - q1, q1]`` (action 1 switches,
        :func:`~prefrl.mdp.envs.switch_env`).

    Examples
    --------
    >>> switch_policy(0.25, 1.0).tolist()
    [[0.75, 0.25], [0.0, 1.0]]
    """
    q0, q1 = check_probability(q0, "q0"), check_probability(q1, "q1")
    return np.array([[1.0 - q0, q0], [1.0 - q1, q1]])


def switch_grid(values=(0.0, 0.25, 0.5, 0.75, 1.0)) -> list:
    r"""Policies of the switch environment on a grid of :math:`(q_0, q_1)` (:func:`switch_policy`).

    Examples
    --------
    >>> len(switch_grid()), switch_grid((0.0, 1.0))[1].tolist()
    (25, [[1.0, 0.0], [0.0, 1.0]])
    """
    return [switch_policy(a, b) for a in values for b in values]


# ---------------------------------------------------------------------------- machines
def change_machine(n_actions: int, gamma: float) -> RewardMachine:
    r"""Reward 1 whenever the action differs from the previous one (machine state = last action).

    Letters are actions (labelling ``L(0, a, 0) = a`` in the one-state environment). There

    .. math::
        J(\pi) = \frac{\gamma}{1 - \gamma}\Big(1 - \sum_a \pi(a)^2\Big),

    the Gini impurity, uniquely maximised at the uniform policy. Ours.

    Parameters
    ----------
    n_actions : int
    gamma : float in [0, 1)

    Returns
    -------
    RewardMachine
        ``n_actions + 1`` states (start, last action 0, 1, ...), rewards (U, U).

    Examples
    --------
    >>> J = RewardMachineObjective(one_state_env(3), change_machine(3, 0.5), np.arange(3)[None, :, None])
    >>> round(J([[0.5, 0.5, 0.0]]), 12)            # (1 - 1/2) gamma / (1 - gamma)
    0.5
    """
    U = check_integer(n_actions, "n_actions", minimum=1) + 1
    delta = np.tile(np.arange(1, U), (U, 1))
    R = np.zeros((U, U))
    for u in range(1, U):
        R[u, 1:] = 1.0
        R[u, u] = 0.0
    return RewardMachine(delta, R, 0, gamma)


def tilted_change_machine(gamma: float, tilt: float = E_INV) -> RewardMachine:
    r"""The action-change machine of :func:`change_machine` plus a reward ``gamma * tilt`` on action 0.

    In the one-state 3-action environment (letters = actions)

    .. math::
        J(\pi) = \frac{\gamma\,\tau\,\pi_0 + \gamma\,(1 - \sum_a \pi_a^2)}{1 - \gamma},

    strictly concave with the unique maximiser
    :math:`\pi^* = \big(\tfrac{1 + \tau}{3}, \tfrac{1 - \tau/2}{3}, \tfrac{1 - \tau/2}{3}\big)`
    (Lagrange: :math:`\tau e_0 - 2\pi = \lambda \mathbf 1`), interior for :math:`0 \le \tau < 2`.
    The RM witness of the five-way separation takes :math:`\tau = 1/e`, so that
    :math:`\pi^*_0 = (1 + 1/e)/3` is transcendental (our construction).

    Parameters
    ----------
    gamma : float in [0, 1)
    tilt : float
        :math:`\tau` (the float rounding of 1/e by default).

    Returns
    -------
    RewardMachine
        Four machine states (start, last action 0, 1, 2), rewards of shape (4, 4, 1, 3, 1).

    Examples
    --------
    >>> J = RewardMachineObjective(one_state_env(3), tilted_change_machine(0.5),
    ...                            np.arange(3)[None, :, None])
    >>> bool(J(rm_witness_optimum()[None]) > J([[1 / 3, 1 / 3, 1 / 3]]))
    True
    """
    U, S, A = 4, 1, 3
    base = change_machine(3, gamma).rewards
    R = np.zeros((U, U, S, A, S))
    R[:, :, 0, :, 0] = base[:, :, None]
    R[:, :, 0, 0, 0] += gamma * tilt
    return RewardMachine(change_machine(3, gamma).delta, R, 0, gamma)


def rm_witness_optimum(tilt: float = E_INV) -> np.ndarray:
    r"""The unique maximiser :math:`(1 + \tau, 1 - \tau/2, 1 - \tau/2)/3` of the tilted machine, shape (3,).

    Examples
    --------
    >>> rm_witness_optimum().round(3).tolist()
    [0.456, 0.272, 0.272]
    """
    return np.array([1.0 + tilt, 1.0 - tilt / 2.0, 1.0 - tilt / 2.0]) / 3.0


# ---------------------------------------------------------------------------- the LAR witness
def lar_witness_reward(kappa: float = E_INV) -> np.ndarray:
    r"""Switch-environment reward (S, A) = (2, 2): 1 for "stay" and :math:`1 + \kappa` for "switch" in state 0, else 0.

    For :math:`q_0, q_1 \in (0, 1)` its limit average is
    :math:`V = q_1 (1 + \kappa q_0) / (q_0 + q_1)`; :math:`q_0 = 0` gives 1 and
    :math:`q_0 > 0 = q_1` gives 0. The level set :math:`V = c/(1+c)` through the corner is the
    curve :math:`q_1 = c t / (1 + (1 + c) \kappa t)`, :math:`q_0 = t` (the rays
    :math:`q_1 = c q_0` when :math:`\kappa = 0`). Ours.

    Examples
    --------
    >>> J = LimitAverageReward(switch_env(), lar_witness_reward())
    >>> [round(J(lar_level_curve(1.0, t)), 12) for t in (0.5, 0.01)]
    [0.5, 0.5]
    """
    return np.array([[1.0, 1.0 + kappa], [0.0, 0.0]])


def lar_level_curve(c: float, t: float, kappa: float = E_INV) -> np.ndarray:
    r"""The switch policy at :math:`q_0 = t` on the level set :math:`V = c/(1 + c)` of the LAR witness, (2, 2).

    Examples
    --------
    >>> lar_level_curve(1.0, 0.5, kappa=0.0).tolist()       # the ray q1 = c q0
    [[0.5, 0.5], [0.5, 0.5]]
    """
    c = check_nonnegative(c, "c")
    kappa = check_nonnegative(kappa, "kappa")
    t = check_probability(t, "t")
    return switch_policy(t, c * t / (1.0 + (1.0 + c) * kappa * t))


def curve_intervals(g, rays=RAYS, n: int = 31, kappa: float = E_INV) -> list:
    r"""Sampled ranges of ``g`` along the LAR level curves of :func:`lar_level_curve`.

    For each slope ``c`` of ``rays``, :math:`g` is evaluated at :math:`t = t_0 2^{-k}`,
    :math:`k < n`, :math:`t_0 = 1/\max(1, c)`, and its (min, max) recorded.

    Parameters
    ----------
    g : callable, policy (2, 2) -> float
    rays : sequence of float
    n : int
    kappa : float
        0 samples the rays :math:`q_1 = c q_0`.

    Returns
    -------
    list of (float, float)

    Examples
    --------
    >>> J = LimitAverageReward(switch_env(), lar_witness_reward())
    >>> [(round(lo, 9), round(hi, 9)) for lo, hi in curve_intervals(J, rays=(1.0,))]
    [(0.5, 0.5)]
    """
    if rays is None or isinstance(rays, (str, bytes)):
        raise TypeError(f"rays must be a sequence of slopes, got {type(rays).__name__}")
    rays = check_array(rays, "rays", ndim=1)
    if rays.size == 0 or np.any(rays < 0):
        raise ValueError("rays must be a non-empty sequence of nonnegative slopes")
    out = []
    for c in (float(c) for c in rays):  # the curve in float64 whatever the rays' dtype
        t0 = 1.0 / max(1.0, c)
        vals = [g(lar_level_curve(c, t0 * 2.0**-k, kappa)) for k in range(n)]
        out.append((min(vals), max(vals)))
    return out


# ---------------------------------------------------------------------------- the witnesses
def five_way_witnesses(gamma: float = SEP_GAMMA) -> dict:
    r"""The five witness objectives of the separation: name -> (environment, objective).

    - RRL: entropy-regularised, :math:`r = (1, 0, 0)`, :math:`\alpha = 1` (unique interior
      optimum :math:`\mathrm{softmax}(r) = (e, 1, 1)/(e + 2)`).
    - ONMR: the threshold :math:`f(x) = \mathbb 1[x \ge 1/(2(1 - \gamma))]` of the return of
      :math:`r = (1, 0, 0)`.
    - RM: the action-change machine tilted by :math:`\gamma/e` on action 0
      (:func:`tilted_change_machine`: strictly concave, unique optimum
      :func:`rm_witness_optimum`).
    - LTL: :math:`\mathbf F p_0 \wedge \mathbf F p_1` with :math:`p_i` = "action i is taken"
      (1 iff both actions have positive mass).
    - LAR: the limit-average reward of :func:`lar_witness_reward` in the switch environment,
      :math:`V = q_1 (1 + q_0/e)/(q_0 + q_1)` on full-support policies.

    The first four live in the one-state three-action environment. All ours.

    Parameters
    ----------
    gamma : float in [0, 1)

    Returns
    -------
    dict
        ``{"RRL": (mdp, objective), ...}`` keyed by :data:`FIVE`.

    Examples
    --------
    >>> W = five_way_witnesses()
    >>> tuple(W) == FIVE, W["LTL"][1]([[0.2, 0.3, 0.5]])
    (True, 1.0)
    """
    tri = one_state_env(3)
    acts = np.eye(3, dtype=bool)[:, None, :, None]
    c = 1.0 / (2.0 * (1.0 - gamma))
    return {
        "RRL": (tri, RegularisedRL(tri, [[1.0, 0.0, 0.0]], gamma, alpha=1.0)),
        "ONMR": (tri, OuterNonlinearMR(tri, [[1.0, 0.0, 0.0]], gamma, lambda x: float(x >= c))),
        "RM": (tri, RewardMachineObjective(tri, tilted_change_machine(gamma),
                                           np.arange(3)[None, :, None])),
        "LTL": (tri, LTLObjective(tri, eventually(prop(0)) & eventually(prop(1)), acts)),
        "LAR": (switch_env(), LimitAverageReward(switch_env(), lar_witness_reward())),
    }


def gini_is_ltl(grid: list, gamma: float = SEP_GAMMA) -> bool:
    r"""Whether the action-change RM and the LTL formula :math:`\bigvee_i (p_i \wedge X\neg p_i)` rank a grid alike.

    The formula has probability :math:`1 - \sum_a \pi(a)^2`, the untilted
    :func:`change_machine`'s value up to a positive factor: why the RM witness is tilted. Ours.

    Parameters
    ----------
    grid : list of policies (1, 3) of the one-state environment
    gamma : float in [0, 1)

    Examples
    --------
    >>> gini_is_ltl(simplex_grid(4))
    True
    """
    tri = one_state_env(3)
    rm = RewardMachineObjective(tri, change_machine(3, gamma), np.arange(3)[None, :, None])
    phi = (prop(0) & next_(~prop(0))) | (prop(1) & next_(~prop(1))) | (prop(2) & next_(~prop(2)))
    ltl = LTLObjective(tri, phi, np.eye(3, dtype=bool)[:, None, :, None])
    if not (isinstance(grid, (list, tuple)) or (isinstance(grid, np.ndarray) and grid.ndim)):
        raise TypeError(f"grid must be a list of policies, got {type(grid).__name__}")
    with renamed_errors("policies", "grid"):
        return bool(np.array_equal(policy_ordering(rm, grid).ranks,
                                   policy_ordering(ltl, grid).ranks))
