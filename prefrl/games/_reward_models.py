r"""Reward-model baselines on a preference bandit: BT-RLHF and iterative DPO.

Both fit a Bradley-Terry reward to comparisons (:func:`prefrl.bradley_terry.fit_bradley_terry`)
and so inherit its failure under intransitive preferences, which the self-play learners avoid
(Swamy et al. 2024, "A Minimaximalist Approach to Reinforcement Learning from Human Feedback",
Sec. 2 and 5). Both run on the one self-play loop (:mod:`prefrl.games._loop`).

- :func:`bt_rlhf`: RLHF (Ziegler et al. 2019, "Fine-Tuning Language Models from Human
  Preferences"; Ouyang et al. 2022, "Training language models to follow instructions with human
  feedback"): one reward fit, then KL-regularised mirror descent towards
  :math:`\pi_{ref} e^{\hat r/\beta}`.
- :func:`iterative_dpo`: online iterative DPO (Xiong et al. 2024, "Iterative Preference Learning
  from Human Feedback", Alg. 1; Rafailov et al. 2023, "Direct Preference Optimization", Eq. 7):
  DPO refitted on pairs from the current policy. It is documented in :mod:`prefrl.online`, which
  re-exports it, and is not in :mod:`prefrl.games`' ``__all__``.
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    as_rng,
    check_distribution,
    check_integer,
    check_positive,
    check_preference_matrix,
)
from ..bradley_terry import fit_bradley_terry
from ..policies import gibbs
from ._loop import mix_log, normalize_log, run_self_play, safe_log
from ._results import SelfPlayResult

__all__ = ["bt_rlhf", "iterative_dpo"]


def bt_rlhf(
    P,
    n_steps: int,
    beta: float = 0.1,
    *,
    mu=None,
    pi_ref=None,
    n_comparisons: int | None = None,
    rng=None,
    l2: float = 1e-8,
) -> SelfPlayResult:
    r"""The Bradley-Terry RLHF baseline: fit a reward to comparisons, then KL-regularised RL on it.

    .. math::
        \hat r = \text{fit\_bradley\_terry}(P, \mu\mu^\top), \qquad
        \pi_{t+1}(y) \propto \pi_t(y)^{1/2}\, \pi_{ref}(y)^{1/2}\, e^{\hat r(y)/(2\beta)}
        \;\longrightarrow\; \pi^*(y) \propto \pi_{ref}(y)\, e^{\hat r(y)/\beta},

    Stage 1 (reward modelling) and stage 2 (KL-regularised policy optimisation, here exact
    mirror descent with step :math:`1/(2\beta)`, which converges geometrically to the Gibbs
    policy) of RLHF (Ouyang et al. 2022; Ziegler et al. 2019). With intransitive ``P`` the
    reward cannot represent the preferences, and the policy concentrates on
    :math:`\arg\max \hat r` (roughly the Borda winner), which a minimax winner generally is not:
    the returned policy is exploitable (Swamy et al. 2024, Sec. 2 and 5).

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
        Mirror-descent steps of stage 2.
    beta : float > 0
        KL weight.
    mu : array, shape (K,), optional
        Distribution of the compared responses (uniform by default).
    pi_ref : array, shape (K,), optional
        Reference and initial policy (uniform by default).
    n_comparisons : int, optional
        ``None``: the population loss; otherwise that many comparisons sampled from ``mu``.
    rng : numpy Generator or int seed
        Required with ``n_comparisons``.
    l2 : float > 0
        Ridge of the reward fit.

    Returns
    -------
    SelfPlayResult
        With ``reward`` set to :math:`\hat r`.

    Examples
    --------
    >>> from prefrl.preferences import bradley_terry
    >>> res = bt_rlhf(bradley_terry([2.0, 0.0, 1.0]), 60, beta=0.01)
    >>> res.reward.round(3), res.last_policy.round(3)
    (array([ 1., -1.,  0.]), array([1., 0., 0.]))
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    beta = check_positive(beta, "beta")
    mu = np.full(K, 1.0 / K) if mu is None else check_distribution(mu, "mu", size=K)
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    if n_comparisons is not None:
        n_comparisons = check_integer(n_comparisons, "n_comparisons", minimum=1)
        rng = as_rng(rng)
    r_hat = _fit_reward(P, mu, n_comparisons, rng, l2)
    log_ref = safe_log(ref)

    def mirror_descent_step(t, log_pi, pi):
        return normalize_log(mix_log(0.5, log_pi, 0.5, log_ref) + r_hat / (2 * beta))

    return run_self_play(P, log_ref, T, mirror_descent_step, "bt_rlhf", reward=r_hat)


def iterative_dpo(
    P,
    n_steps: int,
    beta: float = 0.1,
    *,
    pi_ref=None,
    n_pairs: int | None = None,
    rng=None,
    l2: float = 1e-8,
) -> SelfPlayResult:
    r"""Iterative (online) DPO on a preference bandit: refit DPO on pairs from the current policy.

    .. math::
        \pi_{t+1} = \arg\min_\pi\; -\mathbb{E}_{y, y' \sim \pi_t}\Big[P(y\succ y')
        \log\sigma\Big(\beta\log\tfrac{\pi(y)}{\pi_{ref}(y)} - \beta\log\tfrac{\pi(y')}{\pi_{ref}(y')}\Big)\Big]
        = \frac{\pi_{ref}\, e^{\hat r_t/\beta}}{Z},
        \qquad \hat r_t = \text{fit\_bradley\_terry}(P, \pi_t\pi_t^\top),

    the online iterative DPO of Xiong et al. (2024, "Iterative Preference Learning from Human
    Feedback", Alg. 1) in its exact tabular form: the DPO loss with reference :math:`\pi_{ref}`
    on pairs from :math:`\pi_t` is a Bradley-Terry likelihood in the implicit reward
    :math:`\beta\log(\pi/\pi_{ref})` (Rafailov et al. 2023, Eq. 7), so its minimiser tilts
    :math:`\pi_{ref}` by the fitted reward. Under intransitive preferences it inherits the
    failure of the reward model.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    beta : float > 0
        DPO's :math:`\beta`.
    pi_ref : array, shape (K,), optional
        Reference and initial policy (uniform by default).
    n_pairs : int, optional
        ``None``: population loss; otherwise pairs sampled from :math:`\pi_t` with sampled labels.
    rng : numpy Generator or int seed
        Required with ``n_pairs``.
    l2 : float > 0
        Ridge of the reward fit (gives never-compared responses reward 0).

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.preferences import bradley_terry
    >>> iterative_dpo(bradley_terry([1.0, 0.0]), 3, beta=1.0).last_policy.round(4)
    array([0.7311, 0.2689])
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    beta = check_positive(beta, "beta")
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    if n_pairs is not None:
        n_pairs = check_integer(n_pairs, "n_pairs", minimum=1)
        rng = as_rng(rng)
    fitted = [np.zeros(K)]

    def dpo_refit(t, pi, _):
        fitted[0] = _fit_reward(P, pi, n_pairs, rng, l2)
        return gibbs(ref, fitted[0], beta)

    res = run_self_play(P, ref, T, dpo_refit, "iterative_dpo", log_space=False)
    return res.replace(reward=fitted[0])


def _fit_reward(P, mu, n_comparisons, rng, l2) -> np.ndarray:
    """Stage 1 of RLHF: the Bradley-Terry reward fitted to comparisons of responses drawn from mu.

    ``n_comparisons=None``: the population loss (pair weights mu mu^T). Otherwise that many
    comparisons sampled with ``rng`` (pairs from mu, labels from P); with no informative
    comparison at all the reward is 0.
    """
    if n_comparisons is None:
        return fit_bradley_terry(P, np.outer(mu, mu), l2=l2)
    # imported here: prefrl.preferences imports scipy.stats (about 0.5 s), needed only to sample
    from ..preferences import empirical_preferences, sample_comparisons

    K = P.shape[0]
    w, lo = sample_comparisons(P, mu, n_comparisons, rng)
    P_hat, counts = empirical_preferences(w, lo, K)
    return fit_bradley_terry(P_hat, counts, l2=l2) if counts.any() else np.zeros(K)
