r"""Active preference queries: which pair to label next, on a linear Bradley-Terry bandit.

:math:`K` responses with features :math:`\phi\in\mathbb{R}^{K\times d}`, a true reward
:math:`r^* = \phi\theta^*` and Bradley-Terry labels. A learner labels pairs of a candidate pool one
at a time (or in batches), refits the reward by ridge-penalised maximum likelihood
(:mod:`prefrl.bradley_terry`) and is judged by its parameter error (in the identifiable subspace)
and by the regret of the KL-regularised optimum of its fitted reward (:func:`prefrl.policies.gibbs`).
Builds on :mod:`prefrl.online` (the PILAF sampler).

The map of the package:

=======================  =======================================================================
``_design.py``           the exact design quantities of a linear Bradley-Terry model:
                         :func:`all_pairs`, :func:`pair_differences`, :func:`fisher_weights`
                         (:math:`p(1-p)`), :func:`fisher_information`, :func:`logdet_increments`
                         (the matrix determinant lemma), :func:`confidence_widths`,
                         :func:`label_entropy`
``_rules.py``            the pair-selection rules :data:`RULES`: random; greedy D-optimal design
                         (Kveton et al. 2025, "Active Learning for Direct Preference
                         Optimization"); label entropy and implicit-reward certainty (Muldrew et
                         al. 2024, "Active Preference Learning for Large Language Models"); the
                         unweighted DPO-logit design (our reading of Kveton et al. 2025); PILAF
                         (Feng et al. 2025, "PILAF: Optimal Human Preference Sampling for Reward
                         Modeling"); an optimistic dueling rule (Mehta et al. 2025, "Sample
                         Efficient Preference Alignment in LLMs via Active Exploration"):
                         :func:`acquisition_scores`, :func:`select_pair`
``_loop.py``             the learning loop and its metrics: :func:`active_learning_run`
                         (:class:`ActiveLearningResult`), :func:`identifiable_error`,
                         :func:`kl_regret`, :func:`random_linear_bt_instance`
=======================  =======================================================================
"""

from __future__ import annotations

from ._design import (
    all_pairs,
    confidence_widths,
    fisher_information,
    fisher_weights,
    label_entropy,
    logdet_increments,
    pair_differences,
)
from ._loop import (
    ActiveLearningResult,
    active_learning_run,
    identifiable_error,
    kl_regret,
    random_linear_bt_instance,
)
from ._rules import RULES, acquisition_scores, select_pair

__all__ = [
    "RULES",
    "ActiveLearningResult",
    "acquisition_scores",
    "active_learning_run",
    "all_pairs",
    "confidence_widths",
    "fisher_information",
    "fisher_weights",
    "identifiable_error",
    "kl_regret",
    "label_entropy",
    "logdet_increments",
    "pair_differences",
    "random_linear_bt_instance",
    "select_pair",
]
