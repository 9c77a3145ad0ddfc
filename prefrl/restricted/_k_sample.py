r"""K-sample EXO and DPO on a log-linear class (Ji et al. 2024): losses, limits, training.

Ji et al. (2024), "Towards Efficient Exact Optimization of Language
Model Alignment" (EXO, arXiv 2402.00856), compare, on groups :math:`y_1,\dots,y_K\sim\pi_{ref}`,
the EXO loss :math:`\mathrm{KL}(p_f\,\|\,p_r)` and the K-sample DPO loss :math:`-\sum_i p_r(i)\log
p_f(i)` between the self-normalised policy and reward softmaxes. As :math:`K\to\infty` the first
tends to the reverse KL :math:`\mathrm{KL}(\pi_\theta\,\|\,\pi^*)` and the second to the forward
KL (up to constants), which is why, in a class that cannot represent :math:`\pi^*`, EXO settles
on a mode and DPO spreads between modes (compare the exact projections of
:mod:`prefrl.restricted`).

* :func:`k_sample_loss`, :func:`k_sample_value_and_grad`: the per-group losses (through
  :func:`prefrl.losses.exo` and :func:`prefrl.losses.dpo_k`) and their analytic gradient in
  :math:`\theta`;
* :func:`k_sample_limit`: the :math:`K\to\infty` limits;
* :func:`k_sample_expected_loss`: the exact expectation over all :math:`n^K` groups;
* :func:`train_k_sample`: Adam on sampled groups, returning a :class:`KSampleTraining`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_parameters
from .._loglinear import log_probs, log_reference
from .._validation import (
    as_rng,
    check_array,
    check_indices,
    check_integer,
    check_positive,
    seed_zero_if_none,
)
from ..losses import value_and_grad
from ..policies import LogLinearPolicy, gibbs, log_gibbs
from ..results import Result
from ..training import Adam

__all__ = [
    "KSampleTraining",
    "k_sample_expected_loss",
    "k_sample_limit",
    "k_sample_loss",
    "k_sample_value_and_grad",
    "train_k_sample",
]

#: A fixed-budget run is reported converged when its certificate is at most this.
STATIONARY_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class KSampleTraining(Result):
    """Result of K-sample EXO or DPO training on a log-linear class (see :func:`train_k_sample`).

    Attributes
    ----------
    policy : array, shape (n_actions,)
        :math:`\\pi_{\\theta}^{\\beta_\\pi} \\propto \\pi_{ref}\\, e^{\\beta_\\pi \\theta^\\top\\phi}`,
        the policy the loss compares with the target (equal to :math:`\\pi_\\theta` for
        :math:`\\beta_\\pi = 1`).
    theta : array, shape (d,)
        The final (Polyak-averaged over the last half of the steps) parameter.
    losses : array, shape (n_steps,)
        Mean minibatch loss at every step.
    iterations : int
        Steps taken (``n_steps``).
    certificate : float
        Max-norm of the gradient of the K -> infinity limit of the loss at ``theta`` (how far the
        fit is from the limit's stationary point; it tends to 0 only as K grows).
    converged : bool
        (Property.) Whether ``certificate <= 1e-8``: the averaged parameter is a stationary point
        of the K -> infinity limit. Training runs a fixed budget and has no other stopping rule;
        with finite K the answer is usually False.
    """

    policy: np.ndarray
    theta: np.ndarray
    losses: np.ndarray
    iterations: int
    certificate: float

    @property
    def converged(self) -> bool:
        """Whether ``certificate <= 1e-8`` (see the class docstring)."""
        return bool(self.certificate <= STATIONARY_TOL)


_METHODS = ("exo", "dpo")


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method


def _k_sample_value_and_grad(cls, theta, Y, r, beta_r, beta_pi, method):
    """Per-group losses (prefrl.losses.exo / dpo_k) and the gradient of their sum in theta."""
    lp = log_probs(cls, theta)
    lr = log_reference(cls)
    name = "exo" if method == "exo" else "dpo_k"
    values, (g_lp, _) = value_and_grad(name, lp[Y], lr[Y], rewards=r[Y], beta=beta_pi,
                                       beta_r=beta_r)
    score = cls.features - np.exp(lp) @ cls.features  # grad of log pi_theta(y), (n_actions, d)
    return values, np.einsum("bk,bkd->d", g_lp, score[Y])


def _k_sample_inputs(theta, samples, reward, features, pi_ref, beta_r, beta_pi, method):
    """Validated (cls, theta, Y, r, beta_r, beta_pi, method) of the per-group functions."""
    cls = LogLinearPolicy(features, pi_ref)
    theta = check_array(theta, "theta", shape=(cls.dim,), like="features")
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    Y = np.atleast_2d(np.asarray(samples))
    if Y.ndim != 2:
        raise ValueError(f"samples must have shape (n, K), got {np.shape(samples)}")
    if Y.size == 0:
        raise ValueError("samples must not be empty")
    check_indices(Y.ravel(), "samples", cls.n_actions)
    beta_r, beta_pi = check_positive(beta_r, "beta_r"), check_positive(beta_pi, "beta_pi")
    return cls, theta, Y, r, beta_r, beta_pi, _check_method(method)


@renamed_parameters(reference="pi_ref")
def k_sample_loss(theta, samples, reward, features, pi_ref=None, *, beta_r=1.0, beta_pi=1.0,
                  method: str = "exo") -> np.ndarray:
    r"""The K-sample EXO or DPO loss of a log-linear policy on groups of sampled actions.

    For a group :math:`y_1,\dots,y_K \sim \pi_{ref}`, with :math:`f_\theta = \log\pi_\theta -
    \log\pi_{ref}`,

    .. math::
        p_f(i) = \frac{e^{\beta_\pi f_\theta(y_i)}}{\sum_j e^{\beta_\pi f_\theta(y_j)}},\qquad
        p_r(i) = \frac{e^{r(y_i)/\beta_r}}{\sum_j e^{r(y_j)/\beta_r}},

        \ell_{EXO} = \sum_{i=1}^K p_f(i)\log\frac{p_f(i)}{p_r(i)}, \qquad
        \ell_{DPO} = -\sum_{i=1}^K p_r(i)\log p_f(i).

    Ji et al. (2024), "Towards Efficient Exact Optimization of Language Model Alignment", EXO
    (``exo-rw`` in the authors' code) and the K-sample DPO generalisation (``dpo-rw``); the values
    come from :func:`prefrl.losses.exo` and :func:`prefrl.losses.dpo_k` applied to the
    log-probabilities of the log-linear policy (:func:`k_sample_value_and_grad` adds the
    gradient).

    Parameters
    ----------
    theta : array, shape (d,)
    samples : int array, shape (n, K)
        ``n`` groups of ``K`` sampled actions.
    reward : array, shape (n_actions,)
        :math:`r`.
    features : array, shape (n_actions, d)
    pi_ref : array, shape (n_actions,), optional
        :math:`\pi_{ref}`; uniform by default (``reference`` is its deprecated name).
    beta_r, beta_pi : float > 0
        The target's and the policy's temperatures (the paper's :math:`\beta_r`, :math:`\beta_\pi`).
    method : {"exo", "dpo"}

    Returns
    -------
    array, shape (n,)
        One loss per group (unreduced).

    Examples
    --------
    At the target the EXO loss is zero on every group:

    >>> r = np.array([1.0, 0.0, -1.0])
    >>> k_sample_loss(r, [[0, 1], [2, 0]], r, np.eye(3)).round(12)
    array([0., 0.])
    """
    args = _k_sample_inputs(theta, samples, reward, features, pi_ref, beta_r, beta_pi, method)
    return _k_sample_value_and_grad(*args)[0]


def k_sample_value_and_grad(theta, samples, reward, features, pi_ref=None, *, beta_r=1.0,
                            beta_pi=1.0, method: str = "exo") -> tuple[np.ndarray, np.ndarray]:
    r"""The K-sample EXO or DPO losses of :func:`k_sample_loss` and the gradient of their sum.

    With :math:`s_i = \beta_\pi(\log\pi_\theta(y_i) - \log\pi_{ref}(y_i))` and the score
    :math:`\nabla_\theta\log\pi_\theta(y) = \phi(y) - \mathbb{E}_{\pi_\theta}\phi` of the
    log-linear class,

    .. math::
        \nabla_\theta \sum_{g=1}^n \ell(y^g_{1:K}) = \sum_{g=1}^n\sum_{i=1}^K
        \frac{\partial\ell}{\partial s_i}\,\beta_\pi\,\nabla_\theta\log\pi_\theta(y^g_i),\qquad
        \frac{\partial\ell_{EXO}}{\partial s_i} = p_f(i)\big(\log\tfrac{p_f(i)}{p_r(i)} -
        \ell_{EXO}\big),\quad \frac{\partial\ell_{DPO}}{\partial s_i} = p_f(i) - p_r(i)

    (Ji et al. 2024; the per-sample derivatives come from
    ``prefrl.losses.value_and_grad("exo" | "dpo_k", ...)``). Weighting the groups by their
    probabilities gives the gradient of the expected loss (:func:`k_sample_expected_loss`).

    Parameters
    ----------
    theta, samples, reward, features, pi_ref, beta_r, beta_pi, method
        As in :func:`k_sample_loss`.

    Returns
    -------
    values : array, shape (n,)
        One loss per group (as :func:`k_sample_loss`).
    grad : array, shape (d,)
        The gradient of ``values.sum()`` in :math:`\theta`.

    Examples
    --------
    At the target both losses are stationary on every group:

    >>> r = np.array([1.0, 0.0, -1.0])
    >>> values, grad = k_sample_value_and_grad(r, [[0, 1], [2, 0]], r, np.eye(3), method="dpo")
    >>> bool(np.max(np.abs(grad)) < 1e-12), values.shape
    (True, (2,))
    """
    args = _k_sample_inputs(theta, samples, reward, features, pi_ref, beta_r, beta_pi, method)
    return _k_sample_value_and_grad(*args)


@renamed_parameters(reference="pi_ref")
def k_sample_limit(theta, reward, features, pi_ref=None, *, beta_r=1.0, beta_pi=1.0,
                   method: str = "exo") -> float:
    r"""The :math:`K\to\infty` limit of the expected K-sample EXO or DPO loss.

    With :math:`\pi^* = \pi_{ref}e^{r/\beta_r}/Z` and :math:`\pi_\theta^{\beta_\pi}
    \propto \pi_\theta^{\beta_\pi}\pi_{ref}^{1-\beta_\pi} = \pi_{ref}e^{\beta_\pi\theta^\top\phi}/Z'`,

    .. math::
        \lim_{K\to\infty}\mathbb{E}\,\ell_{EXO} = \mathrm{KL}(\pi_\theta^{\beta_\pi}\,\|\,\pi^*),
        \qquad
        \lim_{K\to\infty}\big(\mathbb{E}\,\ell_{DPO} - \log K\big) =
        \mathrm{KL}(\pi^*\,\|\,\pi_\theta^{\beta_\pi}) - \mathrm{KL}(\pi^*\,\|\,\pi_{ref}),

    by the law of large numbers for the self-normalised weights :math:`K p_f(i) \to
    (\pi_\theta^{\beta_\pi}/\pi_{ref})(y_i)` (Ji et al. 2024: EXO minimises the
    reverse KL, DPO the forward KL). For DPO the value returned is the right-hand side (the
    :math:`\log K` is left out, since it does not depend on :math:`\theta`).

    Parameters
    ----------
    theta : array, shape (d,)
    reward : array, shape (n_actions,)
    features : array, shape (n_actions, d)
    pi_ref : array, shape (n_actions,), optional
        :math:`\pi_{ref}`; uniform by default (``reference`` is its deprecated name).
    beta_r, beta_pi : float > 0
    method : {"exo", "dpo"}

    Returns
    -------
    float

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0])
    >>> k_sample_limit(r, r, np.eye(3)), k_sample_limit(r, r, np.eye(3), method="dpo") < 0
    (0.0, True)
    """
    cls = LogLinearPolicy(features, pi_ref)
    theta = check_array(theta, "theta", shape=(cls.dim,), like="features")
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    beta_r, beta_pi = check_positive(beta_r, "beta_r"), check_positive(beta_pi, "beta_pi")
    method = _check_method(method)
    # in log space: at a small beta_r the Gibbs target underflows to exact zeros, where the
    # divergences are finite but large
    log_star = log_gibbs(cls.pi_ref, r, beta_r)
    log_model = cls.log_probs(beta_pi * theta)
    with np.errstate(invalid="ignore"):
        if method == "exo":  # KL(model || star)
            model = np.exp(log_model)
            return float(np.sum(np.where(model > 0, model * (log_model - log_star), 0.0)))
        # KL(star || model) - KL(star || pi_ref) = sum star (log pi_ref - log model)
        star = np.exp(log_star)
        return float(np.sum(np.where(star > 0, star * (np.log(cls.pi_ref) - log_model), 0.0)))


@renamed_parameters(reference="pi_ref")
def k_sample_expected_loss(theta, reward, features, pi_ref=None, *, K: int, beta_r=1.0,
                           beta_pi=1.0, method: str = "exo", max_tuples: int = 200_000) -> float:
    r"""Exact expectation of the K-sample EXO or DPO loss, by enumerating all :math:`n^K` groups.

    .. math::
        \mathbb{E}_{y_1,\dots,y_K\overset{iid}{\sim}\pi_{ref}}\,\ell(y_{1:K}) =
        \sum_{y_{1:K}}\prod_{i}\pi_{ref}(y_i)\,\ell(y_{1:K}),

    with :math:`\ell` from :func:`k_sample_loss` (Ji et al. 2024). Used to check that in the
    full class EXO and DPO have the same minimiser for every finite K.

    Parameters
    ----------
    theta : array, shape (d,)
    reward : array, shape (n_actions,)
    features : array, shape (n_actions, d)
    pi_ref : array, shape (n_actions,), optional
        :math:`\pi_{ref}`; uniform by default (``reference`` is its deprecated name).
    K : int >= 2
        Group size.
    beta_r, beta_pi : float > 0
    method : {"exo", "dpo"}
    max_tuples : int
        Refuse instances with more than this many groups.

    Returns
    -------
    float

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0])
    >>> round(k_sample_expected_loss(r, r, np.eye(3), K=2), 12)
    0.0
    """
    cls = LogLinearPolicy(features, pi_ref)
    K = check_integer(K, "K", minimum=2)
    n = cls.n_actions
    if n**K > check_integer(max_tuples, "max_tuples", minimum=1):
        raise ValueError(f"K = {K} gives {n}^{K} groups, more than max_tuples = {max_tuples}")
    Y = np.stack(np.meshgrid(*([np.arange(n)] * K), indexing="ij"), axis=-1).reshape(-1, K)
    w = np.prod(cls.pi_ref[Y], axis=1)
    keep = w > 0
    loss = k_sample_loss(theta, Y[keep], reward, cls.features, cls.pi_ref, beta_r=beta_r,
                         beta_pi=beta_pi, method=method)
    return float(w[keep] @ loss)


def _limit_grad(cls, theta, r, beta_r, beta_pi, method):
    star = gibbs(cls.pi_ref, r, beta_r)
    model = cls.probs(beta_pi * theta)
    c = cls.features - model @ cls.features
    if method == "dpo":
        return beta_pi * (model - star) @ cls.features
    on = cls.pi_ref > 0
    ell = np.where(on, np.log(np.where(on, model, 1.0)) - np.log(np.where(on, star, 1.0)), 0.0)
    return beta_pi * (model * ell) @ c


@renamed_parameters(reference="pi_ref", steps="n_steps", theta0="init")
def train_k_sample(reward, features, pi_ref=None, *, K: int, method: str = "exo",
                   beta_r=1.0, beta_pi=1.0, n_steps: int = 2000, batch: int = 64,
                   lr: float = 0.05, rng=None, init=None) -> KSampleTraining:
    r"""Train a log-linear policy with the K-sample EXO or DPO loss by Adam on sampled groups.

    Each step draws ``batch`` groups :math:`y_{1:K}\overset{iid}{\sim}\pi_{ref}` and follows the
    analytic gradient of the mean :func:`k_sample_loss`,

    .. math::
        \nabla_\theta\,\ell = \sum_{i=1}^K \frac{\partial\ell}{\partial s_i}\,\beta_\pi\,
        \nabla_\theta\log\pi_\theta(y_i),\qquad
        \frac{\partial\ell_{EXO}}{\partial s_i} = p_f(i)\big(\log\tfrac{p_f(i)}{p_r(i)} -
        \ell_{EXO}\big),\quad \frac{\partial\ell_{DPO}}{\partial s_i} = p_f(i) - p_r(i),

    with :math:`s_i = \beta_\pi f_\theta(y_i)` and :math:`\nabla_\theta\log\pi_\theta` the score
    of :class:`prefrl.policies.LogLinearPolicy` (Ji et al. 2024; :func:`k_sample_value_and_grad`),
    and the update of :class:`prefrl.training.Adam`. The returned parameter is the average of the
    iterates over the second half of training, which removes most of the minibatch noise; the
    expected loss it minimises depends on K, and tends to the reverse (EXO) or forward (DPO) KL
    projection as :math:`K\to\infty` (:func:`k_sample_limit`).

    Parameters
    ----------
    reward : array, shape (n_actions,)
        :math:`r`; the target is :math:`\pi^* = \pi_{ref}e^{r/\beta_r}/Z`.
    features : array, shape (n_actions, d)
    pi_ref : array, shape (n_actions,), optional
        :math:`\pi_{ref}`; uniform by default (``reference`` is its deprecated name).
    K : int >= 2
    method : {"exo", "dpo"}
    beta_r, beta_pi : float > 0
    n_steps, batch : int >= 1
        Adam steps (``steps`` is the deprecated name) and groups per step.
    lr : float > 0
        Adam step size (Adam's betas 0.9, 0.999).
    rng : int or Generator
        Required: the groups are sampled. For one release, ``None`` warns (DeprecationWarning) and
        uses seed 0, the old default.
    init : array, shape (d,), optional
        Start (zero by default; ``theta0`` is the deprecated name).

    Returns
    -------
    KSampleTraining

    Examples
    --------
    Two actions, full class: both losses drive :math:`\pi_\theta` to :math:`\pi^*`.

    >>> r = np.array([1.0, 0.0])
    >>> res = train_k_sample(r, np.eye(2), K=2, method="dpo", n_steps=600, rng=0)
    >>> bool(abs(res.policy[0] - gibbs([0.5, 0.5], r, 1.0)[0]) < 0.03)
    True
    """
    cls = LogLinearPolicy(features, pi_ref)
    r = check_array(reward, "reward", shape=(cls.n_actions,))
    K = check_integer(K, "K", minimum=2)
    method = _check_method(method)
    beta_r, beta_pi = check_positive(beta_r, "beta_r"), check_positive(beta_pi, "beta_pi")
    n_steps = check_integer(n_steps, "n_steps", minimum=1)
    batch = check_integer(batch, "batch", minimum=1)
    lr = check_positive(lr, "lr")
    theta = (np.zeros(cls.dim) if init is None
             else check_array(init, "init", shape=(cls.dim,)).copy())
    gen = as_rng(seed_zero_if_none(rng, "train_k_sample()", stacklevel=3))
    opt = Adam(lr=lr)
    state = opt.init(theta)
    losses = np.empty(n_steps)
    avg, n_avg = np.zeros(cls.dim), 0
    for t in range(1, n_steps + 1):
        Y = gen.choice(cls.n_actions, size=(batch, K), p=cls.pi_ref)
        loss, g = _k_sample_value_and_grad(cls, theta, Y, r, beta_r, beta_pi, method)
        losses[t - 1] = loss.mean()
        theta, state = opt.update(theta, g / batch, state)
        if t > n_steps // 2:
            avg += theta
            n_avg += 1
    theta = avg / n_avg
    cert = float(np.max(np.abs(_limit_grad(cls, theta, r, beta_r, beta_pi, method))))
    return KSampleTraining(policy=cls.probs(beta_pi * theta), theta=theta, losses=losses,
                           iterations=n_steps, certificate=cert)
