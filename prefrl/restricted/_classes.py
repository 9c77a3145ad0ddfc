r"""RLHF and DPO within restricted classes: the dichotomy of Shi et al. (2025), exactly, in a bandit.

Shi et al. (2025), "Understanding the Performance Gap in Preference Learning: A Dichotomy of RLHF
and DPO" (arXiv 2505.19770), compare the two pipelines when the reward class :math:`\mathcal F`
and the policy class :math:`\Pi` are restricted:

* RLHF (:func:`rlhf_restricted`, :func:`rlhf_restricted_dataset`): the Bradley-Terry MLE in the
  linear reward class :math:`r_w = \psi w` (:func:`prefrl.bradley_terry.linear_bt_mle_counts`),
  then the best policy of the log-linear class for it (:func:`reverse_kl_projection` of the Gibbs
  tilt);
* DPO (:func:`dpo_restricted`, :func:`dpo_restricted_dataset`): Rafailov et al. (2023), Eq. 7,
  within :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`; the reference and the normaliser cancel
  in the margin, so it is the Bradley-Terry fit in the implicit reward class
  :math:`\{\beta\theta^\top\phi\}`, a convex logistic regression;
* the yardstick :func:`policy_value`, :math:`V^*(\pi) = \mathbb{E}_\pi r^* - \beta\,
  \mathrm{KL}(\pi\,\|\,\pi_{ref})`.

Every fit returns a :class:`RestrictedFit` whose ``certificate`` is the largest first-order
residual of its stages. Our bandit reading of the paper's Sec. 3 (population) and Sec. 4
(finite samples); the instances are ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_nonnegative, check_positive, renamed_errors
from ..bradley_terry import linear_bt_mle_counts, population_counts
from ..policies import LogLinearPolicy, gibbs, regularized_objective
from ..results import Result
from ._common import _weights_from_dataset
from ._projections import _reverse_kl_projection

__all__ = [
    "RestrictedFit",
    "dpo_restricted",
    "dpo_restricted_dataset",
    "policy_value",
    "rlhf_restricted",
    "rlhf_restricted_dataset",
]


@dataclass(frozen=True, eq=False)
class RestrictedFit(Result):
    """The policy that RLHF or DPO returns within a restricted class.

    Attributes
    ----------
    policy : array, shape (K,)
    theta : array, shape (d,)
        Parameter of the log-linear policy.
    value : float
        The method's own objective at the optimum: the maximised :math:`V_{\\hat r}` for RLHF, the
        minimised DPO loss for DPO.
    iterations : int
    certificate : float
        Largest first-order residual of the stages (reward fit and policy step).
    converged : bool
    reward : array, shape (K,)
        The reward the method fits: :math:`\\hat r = \\psi\\hat w` for RLHF, the implicit reward
        :math:`\\beta\\hat\\theta^\\top\\phi` for DPO.
    """

    policy: np.ndarray
    theta: np.ndarray
    value: float
    iterations: int
    certificate: float
    converged: bool
    reward: np.ndarray


@renamed_parameters(reference="pi_ref")
def policy_value(policy, reward, pi_ref, beta) -> float:
    r"""The true KL-regularised value :math:`V^*(\pi) = \mathbb{E}_\pi r^* - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})`.

    The yardstick of the RLHF-DPO dichotomy (Shi et al. 2025, their measure of performance);
    maximised over all policies by :math:`\pi^* = \pi_{ref}e^{r^*/\beta}/Z`.

    Parameters
    ----------
    policy, pi_ref : arrays, shape (K,)
        The policy and :math:`\pi_{ref}` (``reference`` is the deprecated name of ``pi_ref``).
    reward : array, shape (K,)
        :math:`r^*`.
    beta : float > 0

    Examples
    --------
    >>> round(policy_value([0.5, 0.5], [1.0, 0.0], [0.5, 0.5], 1.0), 4)
    0.5
    """
    reward = check_array(reward, "reward", ndim=1)
    with renamed_errors("f", "reward"):
        return float(regularized_objective(policy, reward, pi_ref, check_positive(beta, "beta")))


def _rlhf(W, reward_features, policy_features, pi_ref, beta, l2, n_starts, rng, where):
    cls = LogLinearPolicy(check_array(policy_features, "policy_features", ndim=2), pi_ref)
    psi = check_array(reward_features, "reward_features", ndim=2, shape=(cls.n_actions, None))
    beta = check_positive(beta, "beta")
    fit = linear_bt_mle_counts(W, psi, l2)
    target = gibbs(cls.pi_ref, fit.rewards, beta)
    # stack: seed_zero_if_none's warn, seed_zero_if_none, _reverse_kl_projection, _rlhf, public, its wrapper, user
    proj = _reverse_kl_projection(target, cls.features, cls.pi_ref, n_starts, rng, None, where, 7)
    value = float(regularized_objective(proj.policy, fit.rewards, cls.pi_ref, beta))
    return RestrictedFit(
        policy=proj.policy,
        theta=proj.theta,
        value=value,
        iterations=fit.iterations + proj.iterations,
        certificate=max(fit.certificate, proj.certificate),
        converged=fit.converged and proj.converged,
        reward=fit.rewards,
    )


def _dpo(W, policy_features, pi_ref, beta, l2):
    cls = LogLinearPolicy(check_array(policy_features, "policy_features", ndim=2), pi_ref)
    beta = check_positive(beta, "beta")
    fit = linear_bt_mle_counts(W, cls.features, l2)
    theta = fit.weights / beta
    return RestrictedFit(
        policy=cls.probs(theta),
        theta=theta,
        value=float(fit.value / W.sum()),
        iterations=fit.iterations,
        certificate=fit.certificate,
        converged=fit.converged,
        reward=fit.rewards,
    )


@renamed_parameters(reference="pi_ref")
def rlhf_restricted(
    P, mu, reward_features, policy_features, pi_ref, beta, *, n_starts: int = 4, rng=None
) -> RestrictedFit:
    r"""Population RLHF within classes: BT-MLE in the reward class, then the best policy in the class.

    .. math::
        \hat w = \arg\min_w \sum_{y,y'}\mu(y)\mu(y')P[y,y']\big(-\log\sigma(r_w(y) - r_w(y'))\big),
        \qquad \hat\theta = \arg\max_{\theta}\; \mathbb{E}_{\pi_\theta} r_{\hat w} - \beta\,
        \mathrm{KL}(\pi_\theta\,\|\,\pi_{ref}),

    with :math:`r_w = \psi w` (reward features :math:`\psi`, shape ``(K, m)``) and
    :math:`\pi_\theta \propto \pi_{ref} e^{\phi\theta}` (policy features :math:`\phi`, shape
    ``(K, d)``). The second step is :func:`reverse_kl_projection` of
    :math:`\pi_{ref}e^{r_{\hat w}/\beta}/Z`. Shi et al. (2025), "Understanding the Performance Gap
    in Preference Learning", Sec. 3 (the two-stage pipeline with reward class :math:`\mathcal F`
    and policy class :math:`\Pi`). When :math:`r^*\in\mathcal F`, it attains
    :math:`\max_{\pi\in\Pi} V^*(\pi)`.

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix :math:`P[y, y'] = p^*(y\succ y')`.
    mu : array, shape (K,)
        Distribution of the compared responses.
    reward_features : array, shape (K, m)
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None; ``reference`` is its deprecated name).
    beta : float > 0
    n_starts : int
        Starts of the (non-convex) policy step.
    rng : int or Generator, optional
        Seeds the random starts of the policy step; required when they are drawn (``n_starts > 2``
        and the Gibbs tilt outside the class). For one release, ``None`` there warns
        (DeprecationWarning) and uses seed 0, the old default.

    Returns
    -------
    RestrictedFit
        ``reward`` is :math:`\psi\hat w`; ``value`` is :math:`V_{\hat r}` at the returned policy.

    Examples
    --------
    Full classes: RLHF returns the Gibbs policy of the true reward.

    >>> r = np.array([1.0, 0.0, -1.0])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> fit = rlhf_restricted(P, [1/3] * 3, np.eye(3), np.eye(3), None, beta=0.5, rng=0)
    >>> bool(np.allclose(fit.policy, gibbs(np.ones(3) / 3, r, 0.5)))
    True
    """
    W = population_counts(P, mu)
    return _rlhf(W, reward_features, policy_features, pi_ref, beta, 0.0, n_starts, rng,
                 "rlhf_restricted()")


@renamed_parameters(reference="pi_ref")
def dpo_restricted(P, mu, policy_features, pi_ref, beta) -> RestrictedFit:
    r"""Population DPO within a log-linear policy class: a convex logistic regression.

    .. math::
        \hat\theta = \arg\min_\theta \sum_{y,y'}\mu(y)\mu(y')P[y,y']
        \Big(-\log\sigma\Big(\beta\log\frac{\pi_\theta(y)}{\pi_{ref}(y)} -
        \beta\log\frac{\pi_\theta(y')}{\pi_{ref}(y')}\Big)\Big),

    and since :math:`\beta\log\frac{\pi_\theta(y)}{\pi_{ref}(y)} - \beta\log\frac{\pi_\theta(y')}
    {\pi_{ref}(y')} = \beta\theta^\top(\phi(y) - \phi(y'))`, :math:`\beta\hat\theta` is the
    Bradley-Terry MLE in the implicit reward class :math:`\mathcal F_\Pi = \{\beta\theta^\top\phi\}`
    (:func:`prefrl.bradley_terry.linear_bt_mle` with features :math:`\phi`). Rafailov et al. (2023), Eq. 7, restricted
    to :math:`\Pi`; Shi et al. (2025), Sec. 3. When :math:`\pi^*\in\Pi` (and :math:`\mu` has full
    support) it returns :math:`\pi^*`.

    Parameters
    ----------
    P : array, shape (K, K)
    mu : array, shape (K,)
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None; ``reference`` is its deprecated name).
    beta : float > 0

    Returns
    -------
    RestrictedFit
        ``value`` is the minimised population DPO loss; ``reward`` the implicit reward
        :math:`\beta\phi\hat\theta`.

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> fit = dpo_restricted(P, [1/3] * 3, r[:, None], None, beta=0.5)   # pi* is in the class
    >>> fit.theta.round(6)
    array([2.])
    """
    W = population_counts(P, mu)
    return _dpo(W, policy_features, pi_ref, beta, 0.0)


@renamed_parameters(reference="pi_ref")
def rlhf_restricted_dataset(
    winners, losers, reward_features, policy_features, pi_ref, beta, *, l2: float = 0.0,
    n_starts: int = 4, rng=None,
) -> RestrictedFit:
    r"""Finite-sample RLHF within classes: ridge BT-MLE in the reward class, then the policy step.

    .. math::
        \hat w = \arg\min_w -\sum_{k=1}^n \log\sigma\big(r_w(y^w_k) - r_w(y^l_k)\big)
        + \frac\lambda2\lVert w\rVert^2,\qquad
        \hat\theta = \arg\max_\theta \mathbb{E}_{\pi_\theta} r_{\hat w} - \beta\,
        \mathrm{KL}(\pi_\theta\,\|\,\pi_{ref}),

    with :math:`r_w = \psi w`, :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}` and
    :math:`\lambda` = ``l2``. Shi et al. (2025), Sec. 4 (the statistical comparison).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    reward_features : array, shape (K, m)
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None; ``reference`` is its deprecated name).
    beta : float > 0
    l2 : float >= 0
    n_starts : int
        Starts of the (non-convex) policy step.
    rng : int or Generator, optional
        As in :func:`rlhf_restricted`: required when random starts are drawn.

    Returns
    -------
    RestrictedFit

    Examples
    --------
    >>> fit = rlhf_restricted_dataset([0, 0, 1], [1, 1, 0], np.eye(2), np.eye(2), None, 1.0,
    ...                               rng=0)
    >>> fit.policy.round(4)
    array([0.6667, 0.3333])
    """
    cls = LogLinearPolicy(check_array(policy_features, "policy_features", ndim=2), pi_ref)
    W = _weights_from_dataset(winners, losers, cls.n_actions)
    return _rlhf(W, reward_features, cls.features, cls.pi_ref, beta,
                 check_nonnegative(l2, "l2"), n_starts, rng, "rlhf_restricted_dataset()")


@renamed_parameters(reference="pi_ref")
def dpo_restricted_dataset(
    winners, losers, policy_features, pi_ref, beta, *, l2: float = 0.0
) -> RestrictedFit:
    r"""Finite-sample DPO within a log-linear class (logistic regression in :math:`\beta\theta`).

    .. math::
        \hat\theta = \arg\min_\theta -\sum_{k=1}^n\log\sigma\big(\beta\theta^\top(\phi(y^w_k) -
        \phi(y^l_k))\big) + \frac{\lambda}{2}\lVert\beta\theta\rVert^2,

    Rafailov et al. (2023), Eq. 7, in the class :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`;
    :math:`\lambda` = ``l2`` is a ridge on the implicit reward weights (0 is plain DPO).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None; ``reference`` is its deprecated name).
    beta : float > 0
    l2 : float >= 0

    Returns
    -------
    RestrictedFit

    Examples
    --------
    >>> fit = dpo_restricted_dataset([0, 0, 1], [1, 1, 0], np.eye(2), None, 1.0)
    >>> fit.policy.round(4)
    array([0.6667, 0.3333])
    """
    cls = LogLinearPolicy(check_array(policy_features, "policy_features", ndim=2), pi_ref)
    W = _weights_from_dataset(winners, losers, cls.n_actions)
    return _dpo(W, cls.features, cls.pi_ref, beta, check_nonnegative(l2, "l2"))
