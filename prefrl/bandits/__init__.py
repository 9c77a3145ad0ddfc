r"""Exact optima of preference-learning objectives in (contextual) bandits.

A bandit has ``K`` actions (responses) ``y``; a contextual bandit is one such bandit per context
``x``, and every population-level function here accepts a leading context axis: preference matrices
``(S, K, K)``, distributions and policies ``(S, K)``. Dataset-level functions take comparisons
``winners[k] > losers[k]`` (and optionally ``contexts[k]``).

Notation, as in Azar et al. (2024), "A General Theoretical Paradigm to Understand Learning from
Human Preferences" (the IPO paper):

* :math:`\pi_{ref}` the reference policy, :math:`\mu` the behaviour distribution of compared
  responses, :math:`P[y, y'] = p^*(y \succ y')` the preference matrix;
* :math:`g_\pi(y) = \log \pi(y) - \log \pi_{ref}(y)` the log-ratio, :math:`h_\pi(y, y') = g_\pi(y) -
  g_\pi(y')` the margin;
* ``beta`` is the KL weight, which the IPO paper calls :math:`\tau` (TRL's ``beta``).

Every solver returns a frozen result (a :class:`prefrl.results.Result`): :class:`BanditOptimum`,
:class:`DROOptimum`, :class:`PMPOOptimum` or :class:`VASResult`, holding the policy, the
objective's value, the number of iterations and a certificate: a residual of the optimality
condition that is computed, not assumed.

Conventions for under-determined problems. When the comparison graph does not connect all actions,
the losses only fix log-ratios up to a constant per connected component. We then return the
*minimum-norm* log-ratio offset (zero sum over each component, zero on actions never compared),
which is the point that gradient descent on the logits started at :math:`\pi_{ref}` converges to,
and flag ``unique=False``. When the Bradley-Terry maximum likelihood does not exist, the DPO logits
diverge; we return the limit along the max-margin ray (the direction gradient descent heads to;
Soudry et al. 2018, Ji and Telgarsky 2019) with ``exists=False`` and the ``direction``.

Map of the package
------------------
======================  ============================================================================
file                    papers and public names
======================  ============================================================================
``_psipo.py``           Azar et al. 2024 (IPO paper), Eqs. 6-9; Rafailov et al. 2023 (DPO),
                        Eq. 4: :func:`kl_regularized_optimum`, :func:`psipo_objective`,
                        :func:`psipo_optimum`, :func:`ipo_optimum`
``_dpo.py``             Rafailov et al. 2023 (DPO), Eqs. 2-4 and 7; Azar et al. 2024, Eqs. 5, 13,
                        16, 17, Props. 3-4, Sec. 4.2: :func:`dpo_population_optimum`,
                        :func:`dpo_dataset_optimum`, :func:`rlhf_optimum`,
                        :func:`ipo_dataset_optimum`, :func:`dpo_population_loss`,
                        :func:`ipo_population_loss`
``_unpaired.py``        Richemond et al. 2024 (DRO); Abdolmaleki et al. 2024 (PMPO):
                        :func:`dro_population_loss`, :func:`dro_optimum`, :class:`DROOptimum`,
                        :func:`pmpo_objective`, :func:`pmpo_optimum`, :class:`PMPOOptimum`
``_simpo.py``           Meng, Xia and Chen 2024 (SimPO), Eq. 6: :func:`simpo_population_loss`
``_simpo_length.py``    Meng, Xia and Chen 2024 (SimPO): the exact optimum with response lengths,
                        normalised or summed, and the margin: :func:`simpo_population_optimum`,
                        :func:`simpo_two_action_gap`, :class:`SimPOOptimum`
``_desiderata.py``      Hu, He and Wipf 2024 ("New Desiderata for DPO"; criteria reconstructed):
                        :func:`bt_optimal_policy`, :func:`explicit_bt_population_loss`,
                        :func:`explicit_bt_optimum`
``_tilts.py``           Han et al. 2024 (VAS); Fu et al. 2025 (PAR): :func:`value_augmented_policy`,
                        :class:`VASResult`, :func:`preference_as_reward`
``_results.py``         :class:`BanditOptimum` (shared by ``_psipo`` and ``_dpo``)
``_common.py``          argument checks and context broadcasting shared by the files above
======================  ============================================================================

The Bradley-Terry fits the DPO and RLHF optima rest on are in :mod:`prefrl.bradley_terry`
(``prefrl.bandits.bt_mle`` and ``prefrl.bandits.BTFit`` still import from here).

>>> from prefrl.bandits import ipo_optimum
>>> ipo_optimum([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], [0.5, 0.5], beta=0.5).policy.round(4)
array([0.7311, 0.2689])
"""

from __future__ import annotations

from ..bradley_terry import BTFit, bt_mle  # noqa: F401  (moved to prefrl.bradley_terry)
from ._desiderata import bt_optimal_policy, explicit_bt_optimum, explicit_bt_population_loss
from ._dpo import (
    dpo_dataset_optimum,
    dpo_population_loss,
    dpo_population_optimum,
    ipo_dataset_optimum,
    ipo_population_loss,
    rlhf_optimum,
)
from ._psipo import ipo_optimum, kl_regularized_optimum, psipo_objective, psipo_optimum
from ._results import BanditOptimum
from ._simpo import simpo_population_loss
from ._simpo_length import SimPOOptimum, simpo_population_optimum, simpo_two_action_gap
from ._tilts import VASResult, preference_as_reward, value_augmented_policy
from ._unpaired import (
    DROOptimum,
    PMPOOptimum,
    dro_optimum,
    dro_population_loss,
    pmpo_objective,
    pmpo_optimum,
)

__all__ = [
    "BanditOptimum",
    "DROOptimum",
    "PMPOOptimum",
    "SimPOOptimum",
    "VASResult",
    "bt_optimal_policy",
    "dpo_dataset_optimum",
    "dpo_population_loss",
    "dpo_population_optimum",
    "dro_optimum",
    "dro_population_loss",
    "explicit_bt_optimum",
    "explicit_bt_population_loss",
    "ipo_dataset_optimum",
    "ipo_optimum",
    "ipo_population_loss",
    "kl_regularized_optimum",
    "pmpo_objective",
    "pmpo_optimum",
    "preference_as_reward",
    "psipo_objective",
    "psipo_optimum",
    "rlhf_optimum",
    "simpo_population_loss",
    "simpo_population_optimum",
    "simpo_two_action_gap",
    "value_augmented_policy",
]
