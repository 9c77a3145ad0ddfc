r"""Online DPO on a log-linear bandit class: sampled pairs, or the exact expected loss, per round.

At every round the pairs are drawn from the current policy (on-policy pairs, or the PILAF sampler
of Feng et al. 2025, "PILAF: Optimal Human Preference Sampling for Reward Modeling", arXiv
2502.04270), labelled by Bradley-Terry on the true reward, and a few gradient steps are taken on
the DPO loss (Rafailov et al. 2023, Eq. 7) in :math:`\pi_\theta\propto\pi_{ref}e^{\phi\theta}`.
This is the online variant that Shi et al. (2025), "Understanding the Performance Gap in
Preference Learning: A Dichotomy of RLHF and DPO", Sec. 3, discuss; the bandit setting is ours.

* :func:`online_dpo`: the sampled loop (finite pairs per round);
* :func:`online_dpo_expected`: its mean-field limit, the same loop on the exact expected loss
  (:func:`prefrl.online.expected_dpo_gradient`);
* :class:`OnlineDPOResult`: the trajectory of either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_expit

from .._deprecation import renamed_parameters
from .._loglinear import log_probs, log_reference
from .._validation import (
    as_rng,
    check_array,
    check_integer,
    check_positive,
    check_probability,
    seed_zero_if_none,
)
from ..policies import LogLinearPolicy
from ..restricted import policy_value
from ..results import Result
from ._samplers import _expected_dpo, _pair_law, _pilaf_parts

__all__ = ["OnlineDPOResult", "online_dpo", "online_dpo_expected"]

#: A loop is reported converged when its last gradient is at most this (a fixed point).
FIXED_POINT_TOL = 1e-8

_SAMPLERS = ("on-policy", "pilaf")


@dataclass(frozen=True, eq=False)
class OnlineDPOResult(Result):
    """Trajectory of online DPO (see :func:`online_dpo` and :func:`online_dpo_expected`).

    Attributes
    ----------
    policy : array, shape (K,)
        The final policy.
    theta : array, shape (d,)
    thetas : array, shape (n_rounds + 1, d)
        The parameter after every round (row 0 is the start).
    values : array, shape (n_rounds + 1,)
        :math:`V^*(\\pi_{\\theta_t})` after every round (a trajectory of the one value of the
        bandit, not per-state values).
    iterations : int
        Gradient steps taken.
    certificate : float
        Max-norm of the last gradient step's gradient (of the last round's sampled loss, or of
        the expected loss), taken at the parameter before that step.
    converged : bool
        (Property.) Whether ``certificate <= 1e-8``: the loop sits at a fixed point. The loop runs
        a fixed budget and has no other stopping rule; a fixed point of the online loop is not in
        general a stationary point of :math:`V^*`.
    """

    policy: np.ndarray
    theta: np.ndarray
    thetas: np.ndarray
    values: np.ndarray
    iterations: int
    certificate: float

    @property
    def converged(self) -> bool:
        """Whether ``certificate <= 1e-8`` (see the class docstring)."""
        return bool(self.certificate <= FIXED_POINT_TOL)


def _check_sampler(sampler: str) -> str:
    if sampler not in _SAMPLERS:
        raise ValueError(f"sampler must be one of {_SAMPLERS}, got {sampler!r}")
    return sampler


def _run_rounds(cls, r, beta, theta, n_rounds, steps, one_round) -> OnlineDPOResult:
    """The loop shared by both versions: ``one_round(theta) -> (theta, last gradient)``."""
    thetas, values = [theta.copy()], [policy_value(cls.probs(theta), r, cls.pi_ref, beta)]
    g = np.zeros(cls.dim)
    for _ in range(n_rounds):
        theta, g = one_round(theta)
        thetas.append(theta.copy())
        values.append(policy_value(cls.probs(theta), r, cls.pi_ref, beta))
    return OnlineDPOResult(
        policy=cls.probs(theta), theta=theta, thetas=np.array(thetas), values=np.array(values),
        iterations=n_rounds * steps, certificate=float(np.max(np.abs(g))) if g.size else 0.0,
    )


@renamed_parameters(reference="pi_ref", rounds="n_rounds")
def online_dpo(
    reward, policy_features, pi_ref, beta, *, n_rounds: int = 50, pairs_per_round: int = 64,
    steps_per_round: int = 20, lr: float = 0.5, rng=None, sampler: str = "on-policy",
    pilaf_weight=None,
) -> OnlineDPOResult:
    r"""Online DPO: sample pairs from the current policy, label them by Bradley-Terry, take DPO steps.

    At round :math:`t`, draw ``pairs_per_round`` pairs :math:`(y, y')` from the pair
    distribution of ``sampler`` at :math:`\pi_{\theta_t}`, label :math:`y\succ y'` with
    probability :math:`\sigma(r^*(y) - r^*(y'))`, and take ``steps_per_round`` gradient steps on
    the mean DPO loss

    .. math::
        \ell(\theta) = -\frac1n\sum_{k}\log\sigma\big(\beta\theta^\top(\phi(y^w_k) -
        \phi(y^l_k))\big),

    with :math:`\pi_\theta \propto \pi_{ref}e^{\phi\theta}` (the reference stays fixed). With
    ``sampler="on-policy"`` (the default) both responses are drawn independently from
    :math:`\pi_{\theta_t}`; with ``sampler="pilaf"`` the pair is drawn from
    :func:`pilaf_pair_distribution` (Feng et al. 2025, "PILAF: Optimal Human Preference Sampling
    for Reward Modeling", arXiv 2502.04270: with probability :math:`w` both from
    :math:`\pi_{\theta_t}`, otherwise :math:`y\sim\pi^+_{\theta_t}`, :math:`y'\sim
    \pi^-_{\theta_t}`). This is the online variant discussed by Shi et al. (2025), Sec. 3, in the
    log-linear class; :func:`online_dpo_expected` runs the same loop on the exact expected loss.

    Parameters
    ----------
    reward : array, shape (K,)
        True reward :math:`r^*` behind the labels.
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None; ``reference`` is its deprecated name).
    beta : float > 0
    n_rounds, pairs_per_round, steps_per_round : int >= 1
        Rounds of data collection (``rounds`` is the deprecated name), pairs drawn per round and
        gradient steps per round.
    lr : float > 0
        Step size on :math:`\theta`.
    rng : int or Generator
        Required: the pairs and labels are sampled. For one release, ``None`` warns
        (DeprecationWarning) and uses seed 0, the old default.
    sampler : {"on-policy", "pilaf"}
        How each round's pairs are drawn. The default draws exactly the random numbers it drew
        before the option existed, so seeded results are unchanged.
    pilaf_weight : float in [0, 1] or None
        PILAF only: probability :math:`w` of an on-policy pair; ``None`` is the T-PILAF weight
        :math:`1/(1 + Z^+Z^-)` (see :func:`pilaf_pair_distribution`).

    Returns
    -------
    OnlineDPOResult

    Examples
    --------
    >>> res = online_dpo([1.0, 0.0], np.eye(2), None, 1.0, n_rounds=5, rng=0)
    >>> bool(res.policy[0] > 0.5), res.values.shape
    (True, (6,))
    >>> res = online_dpo([1.0, 0.0], np.eye(2), None, 1.0, n_rounds=5, rng=0, sampler="pilaf")
    >>> bool(res.policy[0] > 0.5)
    True
    """
    cls, r, beta, n_rounds, steps, lr, sampler, pilaf_weight = _online_inputs(
        reward, policy_features, pi_ref, beta, n_rounds, steps_per_round, lr, sampler,
        pilaf_weight)
    n = check_integer(pairs_per_round, "pairs_per_round", minimum=1)
    # stack: seed_zero_if_none, online_dpo, its keyword wrapper, the caller
    gen = as_rng(seed_zero_if_none(rng, "online_dpo()", stacklevel=3))
    K = cls.n_actions
    log_ref = log_reference(cls)

    def one_round(theta):
        pi = cls.probs(theta)
        if sampler == "on-policy":
            a = gen.choice(K, size=n, p=pi)
            b = gen.choice(K, size=n, p=pi)
        else:
            parts = _pilaf_parts(log_probs(cls, theta), log_ref, beta, pilaf_weight)
            mixed = gen.random(n) < parts.on_policy_weight
            a = np.where(mixed, gen.choice(K, size=n, p=pi), gen.choice(K, size=n, p=parts.plus))
            b = np.where(mixed, gen.choice(K, size=n, p=pi), gen.choice(K, size=n, p=parts.minus))
        first = gen.random(n) < np.exp(log_expit(r[a] - r[b]))
        win, lose = np.where(first, a, b), np.where(first, b, a)
        D = cls.features[win] - cls.features[lose]
        for _ in range(steps):
            z = beta * (D @ theta)
            g = -(np.exp(log_expit(-z)) @ D) * beta / n
            theta = theta - lr * g
        return theta, g

    return _run_rounds(cls, r, beta, np.zeros(cls.dim), n_rounds, steps, one_round)


def _online_inputs(reward, policy_features, pi_ref, beta, n_rounds, steps_per_round, lr, sampler,
                   pilaf_weight):
    cls = LogLinearPolicy(check_array(policy_features, "policy_features", ndim=2), pi_ref)
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    beta = check_positive(beta, "beta")
    sampler = _check_sampler(sampler)
    n_rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    steps = check_integer(steps_per_round, "steps_per_round", minimum=1)
    lr = check_positive(lr, "lr")
    if pilaf_weight is not None:
        pilaf_weight = check_probability(pilaf_weight, "pilaf_weight")
    return cls, r, beta, n_rounds, steps, lr, sampler, pilaf_weight


@renamed_parameters(reference="pi_ref", rounds="n_rounds", theta0="init")
def online_dpo_expected(
    reward, policy_features, pi_ref, beta, *, sampler: str = "on-policy", n_rounds: int = 50,
    steps_per_round: int = 20, lr: float = 0.5, pilaf_weight=None, init=None,
) -> OnlineDPOResult:
    r"""Online DPO on the exact expected loss: :func:`online_dpo` with infinitely many pairs per round.

    At round :math:`t` the pair law :math:`\mu_t` is frozen at :math:`\pi_{\theta_t}`
    (:func:`on_policy_pair_distribution` or :func:`pilaf_pair_distribution`) and
    ``steps_per_round`` gradient steps are taken on the population loss

    .. math::
        \theta \leftarrow \theta - \eta\,\nabla_\theta L_{\mu_t}(\theta),\qquad
        L_\mu(\theta) = -\mathbb{E}_{(y,y')\sim\mu}\big[\sigma(\Delta r^*)\log\sigma(\beta\Delta_\theta)
        + \sigma(-\Delta r^*)\log\sigma(-\beta\Delta_\theta)\big],

    with :math:`\Delta r^* = r^*(y) - r^*(y')`, :math:`\Delta_\theta = \theta^\top(\phi(y)-\phi(y'))`
    and :math:`\eta` = ``lr`` (see :func:`expected_dpo_gradient`). No randomness: it is the
    mean-field limit of the sampled loop (Shi et al. 2025, Sec. 3; Feng et al. 2025).

    Parameters
    ----------
    reward : array, shape (K,)
        :math:`r^*`.
    policy_features : array, shape (K, d)
    pi_ref : array, shape (K,) or None
        :math:`\pi_{ref}` (uniform if None; ``reference`` is its deprecated name).
    beta : float > 0
    sampler : {"on-policy", "pilaf"}
    n_rounds, steps_per_round : int >= 1
        Rounds (``rounds`` is the deprecated name) and gradient steps per round.
    lr : float > 0
    pilaf_weight : float in [0, 1] or None
        As in :func:`online_dpo`.
    init : array, shape (d,), optional
        Start (zero by default; ``theta0`` is the deprecated name).

    Returns
    -------
    OnlineDPOResult
        ``certificate`` is the max-norm of the last expected gradient (0 at a fixed point of the
        loop, which is not in general a stationary point of :math:`V^*`).

    Examples
    --------
    >>> from prefrl.policies import gibbs
    >>> res = online_dpo_expected([1.0, 0.0], np.eye(2), None, 1.0, sampler="pilaf", n_rounds=200)
    >>> bool(np.allclose(res.policy, gibbs([0.5, 0.5], [1.0, 0.0], 1.0), atol=1e-6))
    True
    """
    cls, r, beta, n_rounds, steps, lr, sampler, pilaf_weight = _online_inputs(
        reward, policy_features, pi_ref, beta, n_rounds, steps_per_round, lr, sampler,
        pilaf_weight)
    theta = (np.zeros(cls.dim) if init is None
             else check_array(init, "init", shape=(cls.dim,)).copy())
    P = np.exp(log_expit(r[:, None] - r[None, :]))
    log_ref = log_reference(cls)

    def one_round(theta):
        lp = log_probs(cls, theta)
        pi = np.exp(lp)
        if sampler == "on-policy":
            mu = np.outer(pi, pi)
        else:
            mu = _pair_law(pi, _pilaf_parts(lp, log_ref, beta, pilaf_weight))
        g = np.zeros(cls.dim)
        for _ in range(steps):
            g = _expected_dpo(cls.features, theta, P, mu, beta).gradient
            theta = theta - lr * g
        return theta, g

    return _run_rounds(cls, r, beta, theta, n_rounds, steps, one_round)
