r"""Reward shaping: potential-based shaping, TD learning, dynamic potentials, EPIC, redistribution.

Notation: :math:`S` states, :math:`A` actions, transitions :math:`P[s, a, s']`, rewards
:math:`R[s, a, s']` (an ``(S, A)`` reward is read as :math:`R[s, a, s'] = r[s, a]` for every
:math:`s'`), discount :math:`\gamma`, potential :math:`\Phi: S \to \mathbb{R}`.

=======================  ==========================================================================
file                     paper and public names
=======================  ==========================================================================
``_potential.py``        Ng, Harada and Russell (1999), "Policy invariance under reward
                         transformations": :math:`R' = R + \gamma\Phi(s') - \Phi(s)` shifts
                         *every* policy's value by :math:`-\Phi` (Theorem 1), so it changes
                         neither the optimal policies nor their ordering; a non-potential
                         :math:`F` can flip the optimal action. :func:`shaping_reward`,
                         :func:`shape`, :func:`shaped_mdp`, :func:`is_potential_based`
                         (:class:`PotentialFit`), :func:`necessity_counterexample`
                         (:class:`NecessityCounterexample`), :func:`manhattan_potential`
``_td.py``               Watkins (1989) Q-learning, Rummery and Niranjan (1994) SARSA, on the one
                         TD loop of prefrl, and Wiewiora (2003), "Potential-based shaping and
                         Q-value initialization are equivalent": the learner on :math:`R + F`
                         from :math:`Q_0` and the one on :math:`R` from :math:`Q_0 + \Phi` make
                         the same choices from the same random numbers. :func:`q_learning`,
                         :func:`sarsa` (:class:`TDTrajectory`)
``_dynamic.py``          Devlin and Kudenko (2012), "Dynamic Potential-Based Reward Shaping":
                         time-varying potentials :math:`\Phi_t`. :func:`dynamic_shaping_reward`,
                         :func:`shape_dynamic`, :func:`evaluate_dynamic`, :func:`solve_dynamic`
                         (:class:`DynamicShapingResult`), :func:`time_expanded_mdp`,
                         :func:`expand_policy`, :func:`dynamic_q_learning`
``_epic.py``             Gleave, Dennis, Legg, Russell and Leike (2021), "Quantifying Differences
                         in Reward Functions" (EPIC): the Pearson distance between canonically
                         shaped rewards. :func:`canonicalize`, :func:`pearson_distance`,
                         :func:`transition_coverage`, :func:`epic_distance`
``_redistribution.py``   Chan, Sun, Holt and van der Schaar (2024), "Dense Reward for Free in
                         RLHF": spreading a sequence reward over its tokens with weights that sum
                         to one keeps every undiscounted return. :func:`redistribute`,
                         :func:`sequence_returns`, :func:`sequence_value`
``_common.py``           shared private helpers (reward shapes, terminal masks, argument checks)
=======================  ==========================================================================

**Terminal convention.** An MDP here runs forever; an episode that "ends" in a goal state is an
absorbing state with zero reward. Without further care the shaping reward
:math:`(\gamma - 1)\Phi(g)` is paid on every self-loop of an absorbing :math:`g`, and the identity
:math:`V' = V - \Phi` holds everywhere, :math:`g` included. When the episode really *stops* at
:math:`g` (a learner that does not bootstrap from :math:`g`, or an undiscounted episodic task),
pass ``terminal``: the potential is then taken to be 0 at terminal states (the condition of
Ng et al. for the undiscounted episodic case) and no shaping reward is paid out of them.

Renamed keywords (the old ones still work, with a DeprecationWarning): the TD step size
``alpha`` is ``lr`` and the initial table ``q_init`` is ``init`` (:func:`q_learning`,
:func:`sarsa`, :func:`dynamic_q_learning`); the mixing weight ``beta`` of :func:`redistribute`
is ``mixing``; the field ``PotentialFit.residual`` is ``certificate``.

>>> import numpy as np
>>> from prefrl.mdp import envs
>>> mdp = envs.chain(3, gamma=0.5)
>>> pi = np.full((3, 2), 0.5)
>>> phi = np.array([1.0, 2.0, 0.0])
>>> bool(np.allclose(shaped_mdp(mdp, phi).evaluate(pi).values, mdp.evaluate(pi).values - phi))
True
"""

from ._dynamic import (
    DynamicShapingResult,
    dynamic_q_learning,
    dynamic_shaping_reward,
    evaluate_dynamic,
    expand_policy,
    shape_dynamic,
    solve_dynamic,
    time_expanded_mdp,
)
from ._epic import canonicalize, epic_distance, pearson_distance, transition_coverage
from ._potential import (
    NecessityCounterexample,
    PotentialFit,
    is_potential_based,
    manhattan_potential,
    necessity_counterexample,
    shape,
    shaped_mdp,
    shaping_reward,
)
from ._redistribution import redistribute, sequence_returns, sequence_value
from ._td import TDTrajectory, q_learning, sarsa

__all__ = [
    "DynamicShapingResult",
    "NecessityCounterexample",
    "PotentialFit",
    "TDTrajectory",
    "canonicalize",
    "dynamic_q_learning",
    "dynamic_shaping_reward",
    "epic_distance",
    "evaluate_dynamic",
    "expand_policy",
    "is_potential_based",
    "manhattan_potential",
    "necessity_counterexample",
    "pearson_distance",
    "q_learning",
    "redistribute",
    "sarsa",
    "sequence_returns",
    "sequence_value",
    "shape",
    "shape_dynamic",
    "shaped_mdp",
    "shaping_reward",
    "solve_dynamic",
    "time_expanded_mdp",
    "transition_coverage",
]
