r"""Reward learning from preferences: segment comparisons (Christiano et al.) and P2R (Wang et al.).

=====================  ======================================================================
``_segments.py``       Christiano, Leike, Brown, Martic, Legg and Amodei (2017), "Deep
                       Reinforcement Learning from Human Preferences", Sec. 2.2, exactly on a
                       tabular MDP: count features of segments, the Bradley-Terry preference
                       model (their Eq. 1), sampled labels, the loss and the minimum-norm
                       maximum-likelihood reward on the identifiable subspace:
                       :func:`segment_features`, :func:`segment_returns`,
                       :func:`segment_preference_probability`, :func:`sample_segment_labels`,
                       :func:`segment_preference_loss`, :func:`fit_segment_reward`,
                       :class:`SegmentLoss`, :class:`SegmentRewardFit`
``_p2r.py``            Wang, Liu and Jin (2023), "Is RLHF More Difficult than Standard RL?",
                       Sec. 4 (Algorithm 1): the preference-to-reward interface on a finite set
                       of trajectories with a linear reward class and a known link:
                       :func:`link_function`, :func:`inverse_link`, :class:`P2ROracle`,
                       :class:`P2RStats`
=====================  ======================================================================

See :doc:`/theory/reward_learning`.

>>> from prefrl.reward_learning import segment_returns
>>> segment_returns([[0.0, 1.0], [2.0, 0.0]], [[[0, 1], [1, 0]], [[1, 1]]])
array([3., 0.])
"""

from ._p2r import P2ROracle, P2RStats, inverse_link, link_function
from ._segments import (
    SegmentLoss,
    SegmentRewardFit,
    fit_segment_reward,
    sample_segment_labels,
    segment_features,
    segment_preference_loss,
    segment_preference_probability,
    segment_returns,
)

__all__ = [
    "P2ROracle",
    "P2RStats",
    "SegmentLoss",
    "SegmentRewardFit",
    "fit_segment_reward",
    "inverse_link",
    "link_function",
    "sample_segment_labels",
    "segment_features",
    "segment_preference_loss",
    "segment_preference_probability",
    "segment_returns",
]
