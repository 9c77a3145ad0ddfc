r"""The policy-gradient side of LLM RL, exactly: expected updates, their moments and their
fixed points on small models (a Bernoulli bandit of prompts, a bandit of responses, a token tree).

The map of the package:

=======================  ========================================================================
``_bernoulli.py``        exact expected updates of REINFORCE, RLOO, GRPO, Dr. GRPO, REINFORCE++,
                         RAFT and Reinforce-Rej on the multi-prompt Bernoulli bandit (Williams
                         1992; Ahmadian et al. 2024; Shao et al. 2024; Liu et al. 2025; Hu 2025;
                         Dong et al. 2023; Xiong et al. 2025): :func:`expected_update`,
                         :func:`train_bernoulli`, :data:`ESTIMATORS`; zero-advantage groups and
                         GRESO's selective rollouts (Zheng et al. 2025):
                         :func:`zero_advantage_probability`, :func:`greso_selective_rollouts`,
                         :func:`simulate_greso`
``_length.py``           the length bias of token aggregation modes (Fatemi et al. 2025; Liu et
                         al. 2025): :func:`length_weights`, :func:`expected_length_update`,
                         :func:`expected_length_drift`, :func:`length_drift_sign_flip`,
                         :func:`length_trajectory`
``_pairwise.py``         the reward-shift invariance of P3O's pairwise updates against REINFORCE
                         and PPO (Wu et al. 2023; Schulman et al. 2017): :func:`pairwise_update`,
                         :func:`expected_pairwise_update`, :func:`ppo_sample_updates`,
                         :func:`expected_ppo_update`, :func:`relative_feedback_training`
``_token_tree.py``       token-tree layout helpers (private, shared); RTO's dense DPO reward and
                         its soft optimum (Zhong et al. 2024): :func:`dense_dpo_reward`,
                         :func:`soft_optimal_sequence_law`, :func:`random_rto_instance`; the exact
                         gradient and optimum with per-state KL weights:
                         :func:`tree_policy_gradient`, :func:`per_state_soft_optimum`
``_tree_training.py``    on the token tree: KL-regularised gradient ascent and the critical-token
                         instance (Vassoyan, Beau and Plaud 2025):
                         :func:`kl_regularized_policy_gradient`, :func:`critical_token_tree`;
                         sparse vs dense REINFORCE, exact moments and samples:
                         :func:`reinforce_estimator_moments`, :func:`sample_reinforce_gradients`
=======================  ========================================================================

Each function returns a :class:`prefrl.results.Result` where it returns more than an array:
:class:`BernoulliUpdate`, :class:`BernoulliTrajectory`, :class:`GresoResult`, :class:`LengthFlip`,
:class:`LengthTrajectory`, :class:`RelativeTraining`, :class:`RTOSoftOptimum`,
:class:`TreePolicyGradient`, :class:`PerStateSoftOptimum`, :class:`KLPolicyGradientPath`,
:class:`REINFORCEMoments`.
"""

from ._bernoulli import (
    ESTIMATORS,
    BernoulliTrajectory,
    BernoulliUpdate,
    GresoResult,
    expected_update,
    greso_selective_rollouts,
    simulate_greso,
    train_bernoulli,
    zero_advantage_probability,
)
from ._length import (
    LengthFlip,
    LengthTrajectory,
    expected_length_drift,
    expected_length_update,
    length_drift_sign_flip,
    length_trajectory,
    length_weights,
)
from ._pairwise import (
    RelativeTraining,
    expected_pairwise_update,
    expected_ppo_update,
    pairwise_update,
    ppo_sample_updates,
    relative_feedback_training,
)
from ._token_tree import (
    PerStateSoftOptimum,
    RTOSoftOptimum,
    TreePolicyGradient,
    dense_dpo_reward,
    per_state_soft_optimum,
    random_rto_instance,
    soft_optimal_sequence_law,
    tree_policy_gradient,
)
from ._tree_training import (
    KLPolicyGradientPath,
    REINFORCEMoments,
    critical_token_tree,
    kl_regularized_policy_gradient,
    reinforce_estimator_moments,
    sample_reinforce_gradients,
)

__all__ = [
    "ESTIMATORS",
    "BernoulliTrajectory",
    "BernoulliUpdate",
    "GresoResult",
    "KLPolicyGradientPath",
    "LengthFlip",
    "LengthTrajectory",
    "PerStateSoftOptimum",
    "REINFORCEMoments",
    "RTOSoftOptimum",
    "RelativeTraining",
    "TreePolicyGradient",
    "critical_token_tree",
    "dense_dpo_reward",
    "expected_length_drift",
    "expected_length_update",
    "expected_pairwise_update",
    "expected_ppo_update",
    "expected_update",
    "greso_selective_rollouts",
    "kl_regularized_policy_gradient",
    "length_drift_sign_flip",
    "length_trajectory",
    "length_weights",
    "pairwise_update",
    "per_state_soft_optimum",
    "ppo_sample_updates",
    "random_rto_instance",
    "reinforce_estimator_moments",
    "relative_feedback_training",
    "sample_reinforce_gradients",
    "simulate_greso",
    "soft_optimal_sequence_law",
    "train_bernoulli",
    "tree_policy_gradient",
    "zero_advantage_probability",
]
