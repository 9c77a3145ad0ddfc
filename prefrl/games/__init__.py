r"""Preference games: minimax (von Neumann) winners, the KL-regularised Nash equilibrium, self-play.

A preference matrix ``P`` of shape ``(K, K)`` (``P[i, j]`` the probability that response ``i`` is
preferred to response ``j``, ``P + P.T == 1``) defines a symmetric two-player zero-sum game: a
policy :math:`\pi` beats a policy :math:`\pi'` with probability
:math:`P(\pi \succ \pi') = \pi^\top P \pi'`. Its solutions are the *minimax winners*
(von Neumann winners, maximal lotteries), the policies that no other policy beats more than half
the time. When preferences are intransitive no reward explains them, and Bradley-Terry reward
modelling returns an exploitable policy, while self-play learners (SPO, SPPO, DNO, REBEL, Nash-MD)
find the minimax winner.

The map of the package:

=======================  ========================================================================
``_equilibria.py``       minimax winners (von Neumann 1928; Fishburn 1984; the target of Swamy
                         et al. 2024, "A Minimaximalist Approach to Reinforcement Learning from
                         Human Feedback", and Rosset et al. 2024, DNO): :func:`exploitability`,
                         :func:`minimax_winner`, :func:`self_play_regret`; the KL-regularised game
                         of Munos et al. (2024), "Nash Learning from Human Feedback", Sec. 3:
                         :func:`regularized_exploitability`, :func:`regularized_nash`
``_loop.py``             the one self-play loop every learner below runs on, and the pieces their
                         updates share (private)
``_self_play.py``        :func:`spo` (Swamy et al. 2024, Alg. 1), :func:`sppo` (Wu et al. 2025,
                         "Self-Play Preference Optimization for Language Model Alignment"),
                         :func:`rebel` (Gao et al. 2024, "REBEL: Reinforcement Learning via
                         Regressing Relative Rewards"), :func:`nash_md` (Munos et al. 2024,
                         Sec. 5 and Thm. 1)
``_dno.py``              Rosset et al. (2024), "Direct Nash Optimization": :func:`dno`,
                         :func:`dno_loss`, :func:`dno_regression_minimiser`,
                         :func:`one_step_improvement`
``_reward_models.py``    the reward-model baselines: :func:`bt_rlhf` (Ziegler et al. 2019; Ouyang
                         et al. 2022) and iterative DPO (Xiong et al. 2024; documented and
                         re-exported by :mod:`prefrl.online`)
``_sequential.py``       trajectory-level games in a finite-horizon MDP (Swamy et al. 2024,
                         Sec. 4-5): :class:`TrajectoryGame`, :func:`sequential_spo`,
                         :func:`reward_model_rlhf`
``_instances.py``        random games and learner instances (degenerate ones included):
                         :func:`preference_matrix_from_upper`, :func:`random_preference_game`,
                         :func:`random_learner_instance`
``_results.py``          :class:`MinimaxResult`, :class:`RegularizedNashResult`,
                         :class:`SelfPlayResult`, :class:`SequentialSelfPlayResult`,
                         :class:`RewardModelResult` (all :class:`prefrl.results.Result`)
=======================  ========================================================================

Conventions
-----------
- ``policies`` returned by the learners have shape ``(T + 1, K)``: row ``t`` is the policy after
  ``t`` updates (row 0 the initial policy). The first ``T`` rows are the *played* iterates, whose
  uniform mixture is ``average_policy``; ``regret[t - 1]`` is the self-play regret
  :math:`\mathrm{Reg}(t)` of the first ``t`` played iterates.
- ``eta`` is a step size that *multiplies* the win rate (Hedge/SPO, SPPO, REBEL, Nash-MD);
  ``beta`` is a KL weight, which *divides* it: the KL weight of the regularised game (Nash-MD's
  :math:`\tau`), of DNO's soft policy iteration (the DNO paper's temperature :math:`\eta`), and of
  RLHF. ``pi_ref`` is the reference policy (the Nash-MD paper's :math:`\mu`); ``mu`` is the
  distribution the compared responses are drawn from (:func:`bt_rlhf`).
- ``rng`` is required exactly when a learner samples (sampled feedback, pairs or comparisons).

Old spellings that still work with a DeprecationWarning: the keywords ``mu`` (now ``pi_ref``) of
:func:`regularized_nash`, :func:`regularized_exploitability` and :func:`nash_md`, ``step`` (now
``eta``) of :func:`nash_md`, ``eta`` (now ``beta``) of :func:`dno` and :func:`dno_loss`, and the
field ``RegularizedNashResult.residual`` (now ``certificate``). ``prefrl.games.fit_bradley_terry``
(now :func:`prefrl.bradley_terry.fit_bradley_terry`) and ``prefrl.games.iterative_dpo`` (documented
in :mod:`prefrl.online`) stay importable from here.

>>> from prefrl.preferences import rock_paper_scissors
>>> minimax_winner(rock_paper_scissors()).policy.round(4)
array([0.3333, 0.3333, 0.3333])
"""

from ..bradley_terry import fit_bradley_terry  # noqa: F401  (moved to prefrl.bradley_terry)
from ._dno import dno, dno_loss, dno_regression_minimiser, one_step_improvement
from ._equilibria import (
    exploitability,
    minimax_winner,
    regularized_exploitability,
    regularized_nash,
    self_play_regret,
)
from ._instances import (
    preference_matrix_from_upper,
    random_learner_instance,
    random_preference_game,
)
from ._results import (
    MinimaxResult,
    RegularizedNashResult,
    RewardModelResult,
    SelfPlayResult,
    SequentialSelfPlayResult,
)
from ._reward_models import (
    bt_rlhf,
    iterative_dpo,  # noqa: F401  (documented in prefrl.online)
)
from ._self_play import nash_md, rebel, spo, sppo
from ._sequential import TrajectoryGame, reward_model_rlhf, sequential_spo

__all__ = [
    "MinimaxResult",
    "RegularizedNashResult",
    "RewardModelResult",
    "SelfPlayResult",
    "SequentialSelfPlayResult",
    "TrajectoryGame",
    "bt_rlhf",
    "dno",
    "dno_loss",
    "dno_regression_minimiser",
    "exploitability",
    "minimax_winner",
    "nash_md",
    "one_step_improvement",
    "preference_matrix_from_upper",
    "random_learner_instance",
    "random_preference_game",
    "rebel",
    "regularized_exploitability",
    "regularized_nash",
    "reward_model_rlhf",
    "self_play_regret",
    "sequential_spo",
    "spo",
    "sppo",
]
