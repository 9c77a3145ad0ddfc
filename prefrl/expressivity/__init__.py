r"""Objective-specification formalisms as orderings of policies, and their expressivity.

Subramani, Williams, Heitmann, Holm, Griffin and Skalse (ICLR 2024), "On the Expressivity of
Objective-Specification Formalisms in Reinforcement Learning", compare 17 formalisms by the
orderings of the stationary policies of an environment they can induce. An *environment* is a
tabular MDP without its reward (a :class:`~prefrl.mdp.TabularMDP` whose own reward and discount
are ignored, passed as ``mdp``). Ten formalisms are implemented, each computed exactly:

=========  ==========================================================================
MR         Markov reward, :math:`J(\pi) = \langle m^\pi_\gamma, r \rangle`
LAR        limit-average reward, :math:`J(\pi) = \langle \nu^\pi, r \rangle`
ONMR       outer nonlinear MR, :math:`J(\pi) = f(\langle m^\pi_\gamma, r \rangle)`
RRL        regularised RL (entropy, or KL to a reference ``pi_ref``)
OMORL      outer multi-objective, :math:`J(\pi) = f(J_{r_1}(\pi), \dots, J_{r_k}(\pi))`
GOMORL     generalised OMORL with the lexicographic order on :math:`(J_{r_i}(\pi))_i`
RM         reward machine, exact on the product chain :math:`(s, u)`
LTL        :math:`J(\pi) = \Pr_\pi(\xi \models \varphi)`, exact through a deterministic
           automaton and the bottom SCCs of the product chain (a fragment of LTL)
INMR       :math:`J(\pi) = \mathbb E[f(G_R(\xi))]` over a finite horizon (exact return law)
FTR        :math:`J(\pi) = \mathbb E[f(\xi)]` over a finite horizon (exact enumeration)
=========  ==========================================================================

.. note::
   The definitions of the formalisms are this project's formalisation of the paper's, and the
   separating environments, witnesses and lemmas used in the tests, the theorem checks and the
   figures are our own constructions, not the paper's appendix environments. Of the paper we
   reproduce only what its abstract states: three equivalence classes and the five-way
   separation of RRL, ONMR, RM, LTL and LAR. Several formalisms are restricted versions: RRL
   (:class:`RegularisedRL`) has entropy and KL regularisers only, GOMORL is lexicographic only,
   LTL is a fragment, INMR and FTR have a finite horizon. The RRL restriction is a limitation
   of the five-way separation: with a general regulariser :math:`F(\pi(\cdot|s))`, which the
   paper's definition may allow, every ordering of the policies of a one-state environment is
   RRL-expressible (take :math:`\alpha F(\pi) = \langle \pi, r\rangle - g(\pi)`), so the three
   cells ONMR, RM and LTL against RRL (``ONMR>RRL``, ``RM>RRL``, ``LTL>RRL``), whose witnesses
   live in the one-state environment, would fail; they hold for entropy/KL-regularised RL only.

What is *certified* and what is *argued*: a separation against MR or LAR is certified by a
finite LP Farkas certificate (:func:`mr_expressible`, :func:`lar_expressible`; the LP test is
ours). The other cells of the five-way separation (:func:`five_way_table`; 16 of its 20) are
*argued*: a lemma of ours, proved in its docstring and on the theory page, whose premises are
checked numerically on the witness and on random objectives; argued, not verified, and not a
machine-checked proof.

The files (private; everything public is re-exported here):

- ``_objectives.py``: :class:`MarkovReward`, :class:`LimitAverageReward`,
  :class:`OuterNonlinearMR`, :class:`RegularisedRL`, :class:`OuterMultiObjective`,
  :class:`LexicographicMultiObjective` (the paper's formalisms, our exact evaluations);
- ``_orderings.py``: :func:`policy_ordering` (:class:`PolicyOrdering`), the LP certificates
  :func:`mr_expressible` and :func:`lar_expressible` (:class:`LinearExpressibility`; ours);
- ``_automata.py``: :class:`Formula` and its builders (:func:`prop`, :func:`next_`,
  :func:`eventually`, :func:`always`, :func:`until`, :func:`always_eventually`,
  :func:`eventually_always`), :class:`DeterministicAutomaton`, :func:`to_automaton`,
  :func:`holds_on_lasso` (textbook constructions);
- ``_ltl.py``: :func:`transition_labels`, :func:`satisfaction_probability`
  (:class:`SatisfactionResult`), :class:`LTLObjective`;
- ``_reward_machines.py``: :class:`RewardMachine`, :class:`RewardMachineObjective`;
- ``_trajectory.py``: :func:`return_distribution` (:class:`ReturnDistribution`),
  :class:`InnerNonlinearMR`, :class:`TrajectoryFunction`;
- ``_instances.py``: random instances (ours): :func:`random_env`, :func:`dag_env`,
  :func:`random_policy`, :func:`random_machine`, :func:`random_formula`,
  :func:`random_automaton`, and the instance dicts :func:`draw_rm`, :func:`draw_lipschitz`,
  :func:`draw_inmr`, :func:`draw_ltl_dag`, :func:`draw_ltl_segment`, :func:`draw_ltl_switch`;
- ``_crosschecks.py``: exact evaluations against brute force (ours): :func:`rm_enumeration_gap`,
  :func:`rm_lipschitz_excess`, :func:`ltl_lasso_gap`, :func:`inmr_ftr_gap`, and the MR/LAR
  incomparability certificates :func:`stay_go_incomparability`;
- ``_witnesses.py``: the witnesses of the five-way separation (ours): :data:`FIVE`,
  :func:`five_way_witnesses`, the policy families :func:`simplex_grid`, :func:`segment_policy`,
  :func:`switch_policy`, :func:`switch_grid`, the machines :func:`change_machine`,
  :func:`tilted_change_machine`, :func:`rm_witness_optimum`, the LAR witness
  :func:`lar_witness_reward`, :func:`lar_level_curve`, :func:`curve_intervals`,
  :func:`gini_is_ltl`, and the constants :data:`SEP_GAMMA`, :data:`E_INV`, :data:`RAYS`;
- ``_lemmas.py``: the premises of the lemmas (ours): :func:`line_witness`,
  :func:`jump_witness`, :func:`corner_witness`, :func:`uniform_max_witness`,
  :func:`interior_max_witness`, :func:`edge_tie_witness`,
  :func:`transcendental_optimum_witness`, :func:`irrational_slope_witness`;
- ``_rational.py``: LTL probabilities as exact rational functions (sympy; ours):
  :func:`ltl_rational_form`, :func:`is_rational_function_over_q`,
  :func:`ltl_rational_gap_on_segment`, :func:`ltl_rational_gap_on_switch`;
- ``_separations.py``: :func:`five_way_table`, the 20 cells of the five-way separation.

The small worlds (``one_state_env``, ``switch_env``, ``stay_go_env``) are in
:mod:`prefrl.mdp.envs` and the occupancies (``discounted_occupancy``,
``limit_average_occupancy``) in :mod:`prefrl.mdp.occupancy`; they stay importable from here.
The theorem checks are in ``prefrl.proofs_check.expressivity``.

>>> from prefrl.expressivity import MarkovReward, mr_expressible, policy_ordering
>>> from prefrl.mdp.envs import one_state_env
>>> pols = [[[p, 1 - p]] for p in (0.0, 0.5, 1.0)]
>>> order = policy_ordering(MarkovReward(one_state_env(), [[1.0, 0.0]], 0.5), pols)
>>> order.ranks, mr_expressible(one_state_env(), order, pols, gamma=0.5).feasible
(array([0, 1, 2]), True)
"""

from ..mdp.envs import one_state_env, stay_go_env, switch_env  # noqa: F401  (moved; importable here)
from ..mdp.occupancy import discounted_occupancy, limit_average_occupancy  # noqa: F401
from ._automata import (
    DeterministicAutomaton,
    Formula,
    always,
    always_eventually,
    eventually,
    eventually_always,
    holds_on_lasso,
    next_,
    prop,
    to_automaton,
    until,
)
from ._crosschecks import (
    inmr_ftr_gap,
    ltl_lasso_gap,
    rm_enumeration_gap,
    rm_lipschitz_excess,
    stay_go_incomparability,
)
from ._instances import (
    dag_env,
    draw_inmr,
    draw_lipschitz,
    draw_ltl_dag,
    draw_ltl_segment,
    draw_ltl_switch,
    draw_rm,
    random_automaton,
    random_env,
    random_formula,
    random_machine,
    random_policy,
)
from ._lemmas import (
    corner_witness,
    edge_tie_witness,
    interior_max_witness,
    irrational_slope_witness,
    jump_witness,
    line_witness,
    transcendental_optimum_witness,
    uniform_max_witness,
)
from ._ltl import LTLObjective, SatisfactionResult, satisfaction_probability, transition_labels
from ._objectives import (
    LexicographicMultiObjective,
    LimitAverageReward,
    MarkovReward,
    OuterMultiObjective,
    OuterNonlinearMR,
    RegularisedRL,
)
from ._orderings import (
    LinearExpressibility,
    PolicyOrdering,
    lar_expressible,
    mr_expressible,
    policy_ordering,
)
from ._rational import (
    is_rational_function_over_q,
    ltl_rational_form,
    ltl_rational_gap_on_segment,
    ltl_rational_gap_on_switch,
)
from ._reward_machines import RewardMachine, RewardMachineObjective
from ._separations import five_way_table
from ._trajectory import (
    InnerNonlinearMR,
    ReturnDistribution,
    TrajectoryFunction,
    return_distribution,
)
from ._witnesses import (
    E_INV,
    FIVE,
    RAYS,
    SEP_GAMMA,
    change_machine,
    curve_intervals,
    five_way_witnesses,
    gini_is_ltl,
    lar_level_curve,
    lar_witness_reward,
    rm_witness_optimum,
    segment_policy,
    simplex_grid,
    switch_grid,
    switch_policy,
    tilted_change_machine,
)

__all__ = [
    "E_INV",
    "FIVE",
    "RAYS",
    "SEP_GAMMA",
    "DeterministicAutomaton",
    "Formula",
    "InnerNonlinearMR",
    "LTLObjective",
    "LexicographicMultiObjective",
    "LimitAverageReward",
    "LinearExpressibility",
    "MarkovReward",
    "OuterMultiObjective",
    "OuterNonlinearMR",
    "PolicyOrdering",
    "RegularisedRL",
    "ReturnDistribution",
    "RewardMachine",
    "RewardMachineObjective",
    "SatisfactionResult",
    "TrajectoryFunction",
    "always",
    "always_eventually",
    "change_machine",
    "corner_witness",
    "curve_intervals",
    "dag_env",
    "draw_inmr",
    "draw_lipschitz",
    "draw_ltl_dag",
    "draw_ltl_segment",
    "draw_ltl_switch",
    "draw_rm",
    "edge_tie_witness",
    "eventually",
    "eventually_always",
    "five_way_table",
    "five_way_witnesses",
    "gini_is_ltl",
    "holds_on_lasso",
    "inmr_ftr_gap",
    "interior_max_witness",
    "irrational_slope_witness",
    "is_rational_function_over_q",
    "jump_witness",
    "lar_expressible",
    "lar_level_curve",
    "lar_witness_reward",
    "line_witness",
    "ltl_lasso_gap",
    "ltl_rational_form",
    "ltl_rational_gap_on_segment",
    "ltl_rational_gap_on_switch",
    "mr_expressible",
    "next_",
    "policy_ordering",
    "prop",
    "random_automaton",
    "random_env",
    "random_formula",
    "random_machine",
    "random_policy",
    "return_distribution",
    "rm_enumeration_gap",
    "rm_lipschitz_excess",
    "rm_witness_optimum",
    "satisfaction_probability",
    "segment_policy",
    "simplex_grid",
    "stay_go_incomparability",
    "switch_grid",
    "switch_policy",
    "tilted_change_machine",
    "to_automaton",
    "transcendental_optimum_witness",
    "transition_labels",
    "uniform_max_witness",
    "until",
]
