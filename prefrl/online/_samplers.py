r"""PILAF and on-policy pair samplers, and the exact expected DPO loss and gradient under them.

Feng, Kwiatkowski, Zheng, Kempe and Duan (2025), "PILAF: Optimal Human Preference Sampling for
Reward Modeling" (arXiv 2502.04270), draw the two responses of a preference pair either both from
the current policy :math:`\pi` or one from each of the tilted policies
:math:`\pi^\pm \propto \pi\,e^{\pm r_\pi}`, :math:`r_\pi = \beta\log(\pi/\pi_{ref})` (their
Sec. 4 and Table 1). In a bandit the laws are exact:

* :func:`pilaf_policies` (:class:`PilafPolicies`): :math:`\pi^\pm`, :math:`\log Z^\pm` and the
  T-PILAF weight :math:`1/(1+Z^+Z^-)` of the on-policy pair;
* :func:`pilaf_pair_distribution`, :func:`on_policy_pair_distribution`: the joint laws
  :math:`\mu(y, y')` of a sampled pair;
* :func:`expected_dpo_gradient` (:class:`ExpectedDPOGradient`): the population DPO loss
  (Rafailov et al. 2023, Eq. 7) under a pair law, and its exact gradient, for the log-linear class
  :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`.

With the T-PILAF weight the expected DPO step is :math:`\beta/(1+Z^+Z^-)\,\nabla_\theta
V^*(\pi_\theta)` to first order in :math:`r^* - r_\pi`; the weight and this identity are derived
here (the check ``restricted.pilaf_gradient_aligns_first_order``), our reading of the paper's
T-PILAF alignment argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_expit

from .._deprecation import renamed_parameters
from .._loglinear import lse
from .._validation import (
    check_array,
    check_distribution,
    check_positive,
    check_preference_matrix,
    check_probability,
)
from ..policies import LogLinearPolicy
from ..results import Result

__all__ = [
    "ExpectedDPOGradient",
    "PilafPolicies",
    "expected_dpo_gradient",
    "on_policy_pair_distribution",
    "pilaf_pair_distribution",
    "pilaf_policies",
]


@dataclass(frozen=True, eq=False)
class PilafPolicies(Result):
    r"""The two tilted policies of the PILAF sampler and its mixture weight.

    Attributes
    ----------
    plus, minus : array, shape (K,)
        :math:`\pi^\pm \propto \pi\,(\pi/\pi_{ref})^{\pm\beta}`.
    on_policy_weight : float
        Probability :math:`w` of drawing both responses from :math:`\pi`.
    log_z_plus, log_z_minus : float
        :math:`\log Z^\pm = \log\sum_y\pi(y)(\pi(y)/\pi_{ref}(y))^{\pm\beta}`; by Cauchy-Schwarz
        :math:`Z^+Z^-\ge 1`, so the T-PILAF weight :math:`1/(1+Z^+Z^-)` is at most 1/2.
    """

    plus: np.ndarray
    minus: np.ndarray
    on_policy_weight: float
    log_z_plus: float
    log_z_minus: float


def _pilaf_parts(log_pi: np.ndarray, log_ref: np.ndarray, beta: float, weight) -> PilafPolicies:
    """PILAF's tilted policies from log-probabilities (-inf allowed where the policy is zero)."""
    on = np.isfinite(log_pi)
    implicit = np.where(on, beta * (np.where(on, log_pi, 0.0) - np.where(on, log_ref, 0.0)), 0.0)
    zp = np.where(on, log_pi + implicit, -np.inf)
    zm = np.where(on, log_pi - implicit, -np.inf)
    lzp, lzm = float(lse(zp)), float(lse(zm))
    w = float(np.exp(log_expit(-(lzp + lzm)))) if weight is None else float(weight)
    return PilafPolicies(plus=np.exp(zp - lzp), minus=np.exp(zm - lzm), on_policy_weight=w,
                         log_z_plus=lzp, log_z_minus=lzm)


def _pair_law(pi: np.ndarray, parts: PilafPolicies) -> np.ndarray:
    """The PILAF pair law w pi x pi + (1 - w) pi+ x pi- (rows: the first response)."""
    w = parts.on_policy_weight
    return w * np.outer(pi, pi) + (1.0 - w) * np.outer(parts.plus, parts.minus)


def _check_policy_and_pi_ref(policy, pi_ref):
    pi = check_distribution(policy, "policy")
    ref = check_distribution(pi_ref, "pi_ref", size=pi.size)
    bad = (pi > 0) & (ref == 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"policy[{i}] = {pi[i]:.6g} > 0 where pi_ref[{i}] = 0: the implicit reward "
            "beta log(policy / pi_ref) is infinite"
        )
    with np.errstate(divide="ignore"):
        return np.log(pi), np.log(ref)


@renamed_parameters(reference="pi_ref")
def pilaf_policies(policy, pi_ref, beta, *, weight=None) -> PilafPolicies:
    r"""The interpolated and extrapolated policies :math:`\pi^\pm` that PILAF samples from.

    .. math::
        \pi^\pm(y) = \frac{\pi(y)\,e^{\pm r_\pi(y)}}{Z^\pm}
        = \frac{\pi(y)^{1\pm\beta}\,\pi_{ref}(y)^{\mp\beta}}{Z^\pm},\qquad
        r_\pi(y) = \beta\log\frac{\pi(y)}{\pi_{ref}(y)},

    where :math:`\pi` is the current policy, :math:`\pi_{ref}` the reference, :math:`r_\pi` the
    DPO implicit reward and :math:`Z^\pm = \sum_y \pi(y)e^{\pm r_\pi(y)}`. Feng et al. (2025),
    "PILAF: Optimal Human Preference Sampling for Reward Modeling" (arXiv 2502.04270), Sec. 4
    and Table 1 (one response from :math:`\pi^+` or :math:`\pi`, the other from :math:`\pi^-` or
    :math:`\pi`); in a bandit their token-level logit interpolation
    :math:`(1\pm\beta)h_\theta \mp\beta h_{ref}` is exactly this tilt. The mixture weight
    :math:`w = 1/(1+Z^+Z^-)` of the on-policy pair is the one that makes the expected DPO
    gradient align with :math:`\nabla V^*` (derived here; see :func:`pilaf_pair_distribution`).

    Parameters
    ----------
    policy : array, shape (K,)
        :math:`\pi`, zero wherever ``pi_ref`` is zero.
    pi_ref : array, shape (K,)
        :math:`\pi_{ref}` (``reference`` is its deprecated name).
    beta : float > 0
        The KL weight of the DPO loss.
    weight : float in [0, 1] or None
        Probability of an on-policy pair; ``None`` gives :math:`1/(1+Z^+Z^-)` (T-PILAF).

    Returns
    -------
    PilafPolicies

    Examples
    --------
    >>> pp = pilaf_policies([0.5, 0.25, 0.25], [1/3, 1/3, 1/3], beta=1.0)
    >>> pp.plus.round(4), pp.minus.round(4)
    (array([0.6667, 0.1667, 0.1667]), array([0.3333, 0.3333, 0.3333]))
    >>> round(pp.on_policy_weight, 4)
    0.4706
    """
    log_pi, log_ref = _check_policy_and_pi_ref(policy, pi_ref)
    beta = check_positive(beta, "beta")
    if weight is not None:
        weight = check_probability(weight, "weight")
    return _pilaf_parts(log_pi, log_ref, beta, weight)


def on_policy_pair_distribution(policy) -> np.ndarray:
    r"""Joint law of a pair drawn independently from the current policy: :math:`\mu = \pi\otimes\pi`.

    .. math::
        \mu(y, y') = \pi(y)\,\pi(y'),

    the plain ("vanilla") sampler of online DPO (Feng et al. 2025, Table 1).

    Parameters
    ----------
    policy : array, shape (K,)

    Returns
    -------
    array, shape (K, K)
        ``mu[y, y']``, the probability that the first response is ``y`` and the second ``y'``.

    Examples
    --------
    >>> on_policy_pair_distribution([0.5, 0.5])
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    pi = check_distribution(policy, "policy")
    return np.outer(pi, pi)


@renamed_parameters(reference="pi_ref")
def pilaf_pair_distribution(policy, pi_ref, beta, *, weight=None) -> np.ndarray:
    r"""Exact joint law of a PILAF pair :math:`(y, y')` in a bandit.

    .. math::
        \mu_{PILAF}(y, y') = w\,\pi(y)\pi(y') + (1 - w)\,\pi^+(y)\,\pi^-(y'),\qquad
        w = \frac{1}{1 + Z^+Z^-},

    with :math:`\pi^\pm \propto \pi\,e^{\pm r_\pi}`, :math:`r_\pi = \beta\log(\pi/\pi_{ref})` and
    :math:`Z^\pm` as in :func:`pilaf_policies` (Feng et al. 2025, arXiv 2502.04270: the sampler
    of T-PILAF; their practical PILAF mixes the two kinds of pair with fixed probabilities, pass
    ``weight`` for that). With this :math:`w` the symmetrised law is

    .. math::
        \frac{\mu(y, y') + \mu(y', y)}{2} = \frac{\pi(y)\pi(y')}
        {2(1 + Z^+Z^-)\,\sigma'\big(r_\pi(y) - r_\pi(y')\big)},\qquad
        \sigma'(z) = \sigma(z)\sigma(-z),

    because :math:`1/\sigma'(z) = 2 + e^z + e^{-z}`: PILAF over-samples exactly the pairs whose
    Bradley-Terry probability is least sensitive, and the expected DPO gradient becomes
    :math:`\beta/(1+Z^+Z^-)` times :math:`\nabla_\theta V^*(\pi_\theta)` to first order in
    :math:`r^* - r_\pi` (see :func:`expected_dpo_gradient` and the check
    ``restricted.pilaf_gradient_aligns_first_order``). The order of the pair does not matter for
    the DPO loss, which is symmetric in it.

    Parameters
    ----------
    policy : array, shape (K,)
        Current policy :math:`\pi`, zero wherever ``pi_ref`` is zero.
    pi_ref : array, shape (K,)
        :math:`\pi_{ref}` (``reference`` is its deprecated name).
    beta : float > 0
    weight : float in [0, 1] or None
        Probability :math:`w` of the on-policy pair; ``None`` is T-PILAF's :math:`1/(1+Z^+Z^-)`.

    Returns
    -------
    array, shape (K, K)
        ``mu[y, y']`` (rows: first response, from :math:`\pi^+` or :math:`\pi`).

    Examples
    --------
    >>> mu = pilaf_pair_distribution([0.5, 0.25, 0.25], [1/3, 1/3, 1/3], beta=1.0)
    >>> round(float(mu.sum()), 12), mu.shape
    (1.0, (3, 3))
    >>> pilaf_pair_distribution([0.5, 0.5], [0.5, 0.5], beta=0.3)  # at the reference: on-policy
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    pi = check_distribution(policy, "policy")
    return _pair_law(pi, pilaf_policies(pi, pi_ref, beta, weight=weight))


@dataclass(frozen=True, eq=False)
class ExpectedDPOGradient(Result):
    """The population DPO loss under a pair distribution, and its exact gradient.

    Attributes
    ----------
    value : float
        The expected loss :math:`L_\\mu(\\theta)`.
    gradient : array, shape (d,)
        :math:`\\nabla_\\theta L_\\mu(\\theta)`.
    """

    value: float
    gradient: np.ndarray


@renamed_parameters(reference="pi_ref")
def expected_dpo_gradient(theta, P, pairs, policy_features, pi_ref, beta) -> ExpectedDPOGradient:
    r"""Exact expected DPO loss and gradient when pairs are drawn from ``pairs`` and labelled by ``P``.

    .. math::
        L_\mu(\theta) = -\sum_{y,y'}\mu(y,y')\Big[P[y,y']\log\sigma(\beta\Delta_\theta)
        + P[y',y]\log\sigma(-\beta\Delta_\theta)\Big],\qquad
        \Delta_\theta = \theta^\top(\phi(y) - \phi(y')),

        \nabla_\theta L_\mu = -\beta\sum_{y,y'}\mu(y,y')\big(P[y,y'] - \sigma(\beta\Delta_\theta)
        \big)\big(\phi(y) - \phi(y')\big),

    where :math:`\mu` is the law of the sampled pair (``pairs``, e.g. from
    :func:`pilaf_pair_distribution`), :math:`P[y,y']` the probability that :math:`y` is preferred,
    :math:`\phi` the policy features and :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`: the
    reference cancels in the DPO margin :math:`\beta\log\frac{\pi_\theta(y)}{\pi_{ref}(y)} -
    \beta\log\frac{\pi_\theta(y')}{\pi_{ref}(y')} = \beta\Delta_\theta` (Rafailov et al. 2023,
    Eq. 7, in expectation over the labels; no sampling noise). Since the margin is linear in
    :math:`w = \beta\theta`, this is also :math:`\beta` times the gradient of the Bradley-Terry
    negative log-likelihood of the linear reward :math:`w^\top\phi` (reward modelling, the
    setting of Feng et al. 2025), evaluated at :math:`w = \beta\theta`.

    Parameters
    ----------
    theta : array, shape (d,)
    P : array, shape (K, K)
        Preference matrix (e.g. Bradley-Terry, :math:`P[y,y'] = \sigma(r^*(y) - r^*(y'))`).
    pairs : array, shape (K, K)
        :math:`\mu`, nonnegative, summing to one.
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}`; only checked, since it cancels in the margin (``reference`` is its
        deprecated name).
    beta : float > 0

    Returns
    -------
    ExpectedDPOGradient

    Examples
    --------
    At the Bradley-Terry optimum of the full class the gradient vanishes under any sampler:

    >>> r = np.array([1.0, 0.0, -0.5])
    >>> P = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    >>> from prefrl.policies import gibbs
    >>> pi = gibbs(np.ones(3) / 3, r, 0.5)
    >>> mu = pilaf_pair_distribution(pi, np.ones(3) / 3, 0.5)
    >>> g = expected_dpo_gradient(r / 0.5, P, mu, np.eye(3), None, 0.5).gradient
    >>> bool(np.max(np.abs(g)) < 1e-12)
    True
    """
    cls = LogLinearPolicy(check_array(policy_features, "policy_features", ndim=2), pi_ref)
    K = cls.n_actions
    theta = check_array(theta, "theta", shape=(cls.dim,), like="policy_features")
    P = check_preference_matrix(P, "P")
    if P.shape[0] != K:
        raise ValueError(f"P must have shape ({K}, {K}), got {P.shape}")
    mu = check_array(pairs, "pairs", shape=(K, K))
    neg = mu < 0
    if neg.any():
        i, j = (int(v) for v in np.argwhere(neg)[0])
        raise ValueError(f"pairs[{i}, {j}] = {mu[i, j]:.6g}, must be >= 0")
    if abs(mu.sum() - 1.0) > 1e-8 * K:
        raise ValueError(f"pairs sums to {mu.sum():.6g}, must sum to 1")
    beta = check_positive(beta, "beta")
    return _expected_dpo(cls.features, theta, P, mu, beta)


def _expected_dpo(phi, theta, P, mu, beta) -> ExpectedDPOGradient:
    u = phi @ theta
    z = beta * (u[:, None] - u[None, :])
    value = float(-(mu * (P * log_expit(z) + P.T * log_expit(-z))).sum())
    coef = mu * (P - np.exp(log_expit(z)))  # (K, K)
    # sum_{y,y'} coef[y,y'] (phi(y) - phi(y')) = (row sums - column sums) @ phi
    grad = -beta * ((coef.sum(axis=1) - coef.sum(axis=0)) @ phi)
    return ExpectedDPOGradient(value=value, gradient=grad)
