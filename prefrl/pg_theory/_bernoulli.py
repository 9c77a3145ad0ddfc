r"""Policy-gradient estimators of LLM RL on a multi-prompt Bernoulli bandit, exactly.

Prompt :math:`i` is answered correctly with probability :math:`p_i = \sigma(\theta_i)`; a group of
:math:`G` answers is drawn, rewards are 0/1 and :math:`k \sim \mathrm{Binomial}(G, p_i)` of them
are correct. The score of answer :math:`y \in \{0, 1\}` in the logit is :math:`y - p_i`, so an
estimator with advantages :math:`A_j` takes the logit step

.. math::
    U = \frac1G \sum_{j=1}^G A_j\,(y_j - p_i)
      = \frac1G\big[k\,a_1(k)\,(1 - p_i) - (G - k)\,a_0(k)\,p_i\big],

with :math:`a_1(k), a_0(k)` the advantage of a correct and of a wrong answer in a group with
:math:`k` correct. Every expectation is a finite sum over :math:`k = 0..G` (exact for
:math:`G` in the thousands). The closed forms of :math:`U_k` (derived in
:func:`expected_update`) are checked against the estimators of :mod:`prefrl.losses` by exact
enumeration of all :math:`2^G` groups (``proofs_check/pg_bandit.py``) and by Monte Carlo (tests).

Papers: Williams (1992) (REINFORCE); Ahmadian et al. (2024), "Back to Basics" (RLOO, Eq. 6);
Shao et al. (2024), "DeepSeekMath" (GRPO, Eq. 3); Liu et al. (2025), "Understanding R1-Zero-Like
Training" (Dr. GRPO); Hu (2025), "REINFORCE++" (Eqs. 4-7); Dong et al. (2023), "RAFT";
Xiong et al. (2025), "A Minimalist Approach to LLM Reasoning: from Rejection Sampling to
Reinforce" (RAFT as a baseline, Reinforce-Rej); Zheng et al. (2025), "Act Only When It Pays"
(GRESO: skipping prompts whose last group had zero advantage).

Public functions:

- :func:`expected_update`: exact mean and variance of each estimator's per-group logit step;
- :func:`zero_advantage_probability`: :math:`p^G + (1-p)^G`, in log space;
- :func:`greso_selective_rollouts`: exact expected rollouts saved and informative groups lost
  by GRESO-style skipping, for fixed :math:`p` or along a trajectory;
- :func:`simulate_greso`: the same by simulation (``rng`` required);
- :func:`train_bernoulli`: exact expected dynamics :math:`\theta \leftarrow \theta + \eta\,
  \mathbb E[U]`, with the trajectories of :math:`p`, mean reward and KL to the start.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import expit, gammaln, xlog1py, xlogy
from scipy.stats import binom

from prefrl._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
)
from prefrl.results import Result

__all__ = [
    "ESTIMATORS",
    "BernoulliTrajectory",
    "BernoulliUpdate",
    "GresoResult",
    "expected_update",
    "greso_selective_rollouts",
    "simulate_greso",
    "train_bernoulli",
    "zero_advantage_probability",
]

#: The estimators of :func:`expected_update` ("grpo_no_std" and "dr_grpo" are one estimator).
ESTIMATORS = (
    "reinforce",
    "reinforce_baseline",
    "rloo",
    "grpo",
    "grpo_no_std",
    "dr_grpo",
    "reinforce_pp",
    "reinforce_pp_baseline",
    "raft",
    "reinforce_rej",
)
_NORMALISERS = ("batch", "prompt", "none")
# The whitening constant of prefrl.losses.reinforce_pp_advantages: A = (R - mu) / sqrt(s^2 + 1e-8).
_WHITEN_EPS = 1e-8


def _check_p(p, name: str = "p") -> np.ndarray:
    arr = np.atleast_1d(check_array(p, name, ndim=(0, 1)))
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {arr[i]}, must be in [0, 1]")
    return arr


def _check_estimator(estimator) -> str:
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {type(estimator).__name__}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
    return "grpo_no_std" if estimator == "dr_grpo" else estimator


def zero_advantage_probability(p, group_size) -> np.ndarray:
    r"""Probability that a group of ``group_size`` 0/1 rewards is constant (zero advantage).

    .. math::
        z(p) = p^G + (1 - p)^G = \exp\big(\operatorname{logaddexp}(G\log p, G\log(1-p))\big)

    All-correct or all-wrong groups have zero group-relative advantage and give no gradient to
    GRPO-style estimators; Zheng et al. (2025), "Act Only When It Pays", Sec. 3, and Xiong et al.
    (2025), Sec. 3 (the groups Reinforce-Rej discards).

    Parameters
    ----------
    p : float or array, shape (n_prompts,)
        Success probabilities in [0, 1].
    group_size : int >= 1
        :math:`G`.

    Returns
    -------
    array, shape (n_prompts,)

    Examples
    --------
    >>> zero_advantage_probability([0.0, 0.5, 0.9], 4).round(4)
    array([1.    , 0.125 , 0.6562])
    """
    p = _check_p(p)
    G = check_integer(group_size, "group_size", minimum=1)
    with np.errstate(divide="ignore"):
        return np.exp(np.logaddexp(G * np.log(p), G * np.log1p(-p)))


def _binomial_pmf(p: np.ndarray, G: int) -> np.ndarray:
    """Binomial(G, p_i) pmf at k = 0..G, shape (n, G + 1).

    scipy's pmf (accurate to a few ulps) where it works; in log space for the tiny p (below
    1e-290) where scipy's incomplete-beta derivative overflows.
    """
    k = np.arange(G + 1, dtype=float)[None, :]
    q = p[:, None]
    log_comb = gammaln(G + 1.0) - gammaln(k + 1) - gammaln(G - k + 1)
    out = np.exp(log_comb + xlogy(k, q) + xlog1py(G - k, -q))
    safe = p >= 1e-290
    if safe.any():
        out[safe] = binom.pmf(k, G, q[safe])
    return out


def _kept_probability(p: np.ndarray, G: int) -> np.ndarray:
    """1 - p^G - (1-p)^G without cancellation: m = min(p, 1-p) is exact, 1 - (1-m)^G by expm1."""
    m = np.minimum(p, 1.0 - p)
    return np.maximum(-np.expm1(G * np.log1p(-m)) - m**G, 0.0)


@dataclasses.dataclass(frozen=True, eq=False)
class BernoulliUpdate(Result):
    """Exact moments of an estimator's per-group logit step (see :func:`expected_update`)."""

    mean: np.ndarray
    variance: np.ndarray
    update_by_k: np.ndarray
    pmf: np.ndarray
    estimator: str
    group_size: int


def _update_by_k(name, p, G, eps, ddof, normaliser):
    """U_k(p_i), shape (n_prompts, G + 1), by the closed forms of :func:`expected_update`."""
    k = np.arange(G + 1, dtype=float)[None, :]
    q = p[:, None]
    centred = k * (G - k) / G**2  # mean-centred advantages: sum_j (y_j - k/G)(y_j - p) / G
    if name in ("reinforce", "raft"):
        return k * (1 - q) / G
    if name == "reinforce_baseline":
        return (k * (1 - q) ** 2 + (G - k) * q**2) / G
    if name == "rloo":
        return k * (1 - q) / G if G == 1 else centred * G / (G - 1)
    if G == 1 and name in ("grpo", "grpo_no_std", "reinforce_rej"):
        return np.zeros((p.size, 2))  # a singleton group has advantage 0 (TRL's convention)
    if name == "grpo_no_std":
        return np.broadcast_to(centred, (p.size, G + 1)).copy()
    if name == "grpo":
        std = np.sqrt(k * (G - k) / (G * (G - ddof)))
        out = np.zeros((1, G + 1))
        inner = (k > 0) & (k < G)
        out[inner] = centred[inner] / (std[inner] + eps)
        return np.broadcast_to(out, (p.size, G + 1)).copy()
    if name == "reinforce_pp":
        mu = float(p.mean())
        sigma = np.sqrt(mu * (1 - mu) + _WHITEN_EPS)
        return (k * (1 - mu) * (1 - q) + (G - k) * mu * q) / (G * sigma)
    if name == "reinforce_pp_baseline":
        s2 = float(np.mean((G - 1) / G * p * (1 - p)))
        return np.broadcast_to(centred / np.sqrt(s2 + _WHITEN_EPS), (p.size, G + 1)).copy()
    # reinforce_rej: mean-centred, constant groups dropped, divided by the kept fraction
    kept = _kept_probability(p, G)
    if normaliser == "batch":
        kappa = np.full_like(p, kept.mean())
    elif normaliser == "prompt":
        kappa = kept
    else:
        kappa = np.ones_like(p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.where(kappa[:, None] > 0, centred / kappa[:, None], 0.0)
    return out


def expected_update(
    estimator: str, p, group_size, *, eps=1e-4, ddof=1, normaliser: str = "batch"
) -> BernoulliUpdate:
    r"""Exact mean and variance of an estimator's logit step on a Bernoulli bandit.

    With :math:`k \sim \mathrm{Bin}(G, p)` correct answers, the step is a function :math:`U_k` of
    :math:`k` alone, and

    .. math::
        \mathbb E[U] = \sum_{k=0}^G \binom Gk p^k (1-p)^{G-k}\, U_k, \qquad
        \operatorname{Var}[U] = \sum_k \binom Gk p^k(1-p)^{G-k}\, U_k^2 - \mathbb E[U]^2.

    The closed forms (:math:`\bar r = k/G`, :math:`v = p(1-p)`):

    ================================  ===================================================  =========================
    estimator                         :math:`U_k`                                          :math:`\mathbb E[U]`
    ================================  ===================================================  =========================
    ``reinforce``, ``raft`` (A = r)   :math:`k(1-p)/G`                                     :math:`v`
    ``reinforce_baseline`` (A = r-p)  :math:`[k(1-p)^2 + (G-k)p^2]/G`                      :math:`v`
    ``rloo``                          :math:`k(G-k)/(G(G-1))`                              :math:`v`
    ``grpo_no_std`` = ``dr_grpo``     :math:`k(G-k)/G^2`                                   :math:`\tfrac{G-1}{G} v`
    ``grpo``                          :math:`\frac{k(G-k)/G^2}{s_k+\epsilon}`,
                                      :math:`s_k = \sqrt{k(G-k)/(G(G-\mathrm{ddof}))}`     :math:`\to\sqrt v` (G large)
    ``reinforce_pp``                  :math:`\frac{k(1-\mu)(1-p) + (G-k)\mu p}{G\sigma}`   :math:`v/\sigma`
    ``reinforce_pp_baseline``         :math:`k(G-k)/(G^2\sigma')`                          :math:`\tfrac{G-1}{G}v/\sigma'`
    ``reinforce_rej``                 :math:`k(G-k)/(G^2\kappa)`                           :math:`\tfrac{G-1}{G} v/\kappa`
    ================================  ===================================================  =========================

    Mean-centred advantages sum to zero, so the :math:`p` in the score cancels and
    :math:`U_k = \frac1G\sum_j (y_j - \bar r) y_j = \bar r(1-\bar r)`; constant groups
    (:math:`k \in \{0, G\}`) give 0. GRPO's step is
    :math:`\sqrt{\bar r(1-\bar r)}\sqrt{(G-\mathrm{ddof})/G}` at :math:`\epsilon = 0`, whose mean
    tends to :math:`\sqrt{p(1-p)}` (the difficulty reweighting of Shao et al. 2024, Eq. 3,
    against REINFORCE's :math:`p(1-p)`). RAFT (Dong et al. 2023) fine-tunes on the correct answers
    only, :math:`\frac1G\sum_j r_j (y_j - p)`: on 0/1 rewards it *is* REINFORCE with
    :math:`A = r` (its other normalisation, the mean over the kept answers of a batch, divides by
    the batch's mean reward, a batch constant).

    Batch-level estimators, in the population limit of a large batch whose prompts are drawn
    uniformly from the entries of ``p``: REINFORCE++ (Hu 2025, Eqs. 4-7) whitens the rewards by
    the batch mean :math:`\mu = \bar p` and standard deviation
    :math:`\sigma = \sqrt{\mu(1-\mu) + 10^{-8}}` (the constant of
    :func:`prefrl.losses.reinforce_pp_advantages`); its "baseline" variant subtracts the group
    mean first and whitens by :math:`\sigma' = \sqrt{\overline{\tfrac{G-1}{G}p(1-p)} + 10^{-8}}`.
    Reinforce-Rej (Xiong et al. 2025, Sec. 3) drops the all-correct and all-wrong groups and
    averages over the kept ones: its step is the mean-centred step divided by
    :math:`\kappa = \overline{1 - z(p)}` (``normaliser="batch"``, the kept fraction of the
    batch), by the prompt's own :math:`1 - z(p_i)` (``"prompt"``: :math:`\mathbb E[U \mid
    \text{kept}]`) or by 1 (``"none"``: then it equals Dr. GRPO, Liu et al. 2025).

    Parameters
    ----------
    estimator : str
        One of :data:`ESTIMATORS`.
    p : float or array, shape (n_prompts,)
        Success probabilities in [0, 1].
    group_size : int >= 1
        :math:`G`. A group of one has advantage 0 for the group-relative estimators and
        :math:`A = r` for RLOO (the conventions of :mod:`prefrl.losses`).
    eps : float >= 0
        GRPO's :math:`\epsilon` (1e-4: :func:`prefrl.losses.grpo_advantages`, TRL's default).
    ddof : int
        GRPO's standard deviation's delta degrees of freedom (1, Bessel: the default of
        :func:`prefrl.losses.grpo_advantages`); ``0 <= ddof < group_size`` when ``group_size > 1``.
    normaliser : {"batch", "prompt", "none"}
        Reinforce-Rej's normaliser (ignored by the other estimators).

    Returns
    -------
    BernoulliUpdate
        ``mean`` and ``variance``, shape (n_prompts,); ``update_by_k`` (:math:`U_k`) and ``pmf``,
        shape (n_prompts, G + 1); ``estimator``, ``group_size``.

    Examples
    --------
    >>> expected_update("rloo", [0.2, 0.5], 4).mean.round(6)
    array([0.16, 0.25])
    >>> expected_update("dr_grpo", [0.2, 0.5], 4).mean.round(6)
    array([0.12  , 0.1875])
    """
    name = _check_estimator(estimator)
    p = _check_p(p)
    G = check_integer(group_size, "group_size", minimum=1)
    eps = check_nonnegative(eps, "eps")
    ddof = check_integer(ddof, "ddof", minimum=0)
    if G > 1 and ddof >= G:
        raise ValueError(f"ddof must be < group_size = {G}, got {ddof}")
    if not isinstance(normaliser, str):
        raise TypeError(f"normaliser must be a string, got {type(normaliser).__name__}")
    if normaliser not in _NORMALISERS:
        raise ValueError(f"normaliser must be one of {', '.join(_NORMALISERS)}; got {normaliser!r}")
    U = _update_by_k(name, p, G, eps, ddof, normaliser)
    pmf = _binomial_pmf(p, G)
    mean = (pmf * U).sum(axis=1)
    # sqrt(pmf) (U - mean) squared: no overflow when a tiny kept probability divides U
    with np.errstate(over="ignore", invalid="ignore"):
        variance = ((np.sqrt(pmf) * (U - mean[:, None])) ** 2).sum(axis=1)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        i = int(np.argmax(~np.isfinite(variance) | ~np.isfinite(mean)))
        raise ValueError(
            f"p[{i}] = {p[i]} makes the step's variance overflow (normaliser "
            f"{normaliser!r} divides by its kept probability)"
        )
    return BernoulliUpdate(mean, variance, U, pmf, estimator, G)


@dataclasses.dataclass(frozen=True, eq=False)
class GresoResult(Result):
    """Expected (or simulated) savings of GRESO-style skipping (see :func:`greso_selective_rollouts`)."""

    rollouts_saved: np.ndarray
    informative_lost: np.ndarray
    informative: np.ndarray
    skip: np.ndarray
    zero_advantage: np.ndarray
    rollouts_saved_se: np.ndarray | None = None
    informative_lost_se: np.ndarray | None = None


def _trajectory(p, n_epochs):
    arr = check_array(p, "p", ndim=(1, 2))
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"p{list(idx)} = {arr[idx]}, must be in [0, 1]")
    if arr.ndim == 1:
        n = check_integer(n_epochs, "n_epochs", minimum=1)
        arr = np.broadcast_to(arr, (n, arr.size))
    return arr


def greso_selective_rollouts(p, group_size, skip_probability, *, n_epochs=2) -> GresoResult:
    r"""Exact expected rollouts saved and informative groups lost by GRESO-style skipping.

    The rule (a one-parameter form of GRESO, Zheng et al. 2025, Alg. 1): at epoch 0 every prompt is
    rolled out; at epoch :math:`e \ge 1` a prompt whose last observed group had zero advantage is
    skipped with probability :math:`q`, and a skipped prompt keeps its status. With
    :math:`z_{e,i} = z(p_{e,i})` (:func:`zero_advantage_probability`) and groups independent
    across epochs, the probability :math:`a_{e,i}` that prompt :math:`i`'s status is "zero" after
    epoch :math:`e` follows

    .. math::
        a_0 = z_0, \qquad s_e = q\,a_{e-1}, \qquad a_e = s_e + (1 - s_e)\,z_e,

    where :math:`s_e` is the probability of a skip at epoch :math:`e`. The expected rollouts
    saved are :math:`G\sum_i s_{e,i}` and the informative groups lost (skipped although the group
    would have had a nonzero advantage) :math:`\sum_i s_{e,i}(1 - z_{e,i})`. With ``p`` fixed and
    two epochs this is :math:`G q \sum_i z_i` saved and :math:`q\sum_i z_i(1-z_i)` lost.
    The trajectory ``p`` is taken as given (the skipping does not feed back into training).

    Parameters
    ----------
    p : array, shape (n_prompts,) or (n_epochs, n_prompts)
        Success probabilities, fixed across ``n_epochs`` epochs or one row per epoch.
    group_size : int >= 1
        :math:`G`.
    skip_probability : float in [0, 1]
        :math:`q`.
    n_epochs : int >= 1
        Number of epochs when ``p`` is 1-D (ignored otherwise).

    Returns
    -------
    GresoResult
        ``rollouts_saved``, ``informative_lost`` and ``informative`` (the expected informative
        groups without skipping, :math:`\sum_i 1 - z_{e,i}`), shape (n_epochs,); ``skip``
        (:math:`s_{e,i}`) and ``zero_advantage`` (:math:`z_{e,i}`), shape (n_epochs, n_prompts).

    Examples
    --------
    >>> res = greso_selective_rollouts([0.0, 0.5, 0.9], 4, 0.5)
    >>> res.rollouts_saved.round(4), res.informative_lost.round(4)
    (array([0.    , 3.5624]), array([0.    , 0.1675]))
    """
    G = check_integer(group_size, "group_size", minimum=1)
    q = check_in_range(skip_probability, "skip_probability", 0.0, 1.0)
    P = _trajectory(p, n_epochs)
    z = zero_advantage_probability(P.ravel(), G).reshape(P.shape)
    skip = np.zeros_like(z)
    a = z[0].copy()
    for e in range(1, P.shape[0]):
        skip[e] = q * a
        a = skip[e] + (1 - skip[e]) * z[e]
    return GresoResult(
        rollouts_saved=G * skip.sum(axis=1),
        informative_lost=(skip * (1 - z)).sum(axis=1),
        informative=(1 - z).sum(axis=1),
        skip=skip,
        zero_advantage=z,
    )


def simulate_greso(p, group_size, skip_probability, *, n_epochs=2, n_runs=1000, rng) -> GresoResult:
    r"""Monte Carlo of :func:`greso_selective_rollouts`: sample the groups and apply the rule.

    .. math::
        k_{e,i} \sim \mathrm{Bin}(G, p_{e,i}), \quad
        \text{skip}_{e,i} \sim \mathrm{Bernoulli}(q)\ \text{if status}_{i} = \text{zero}, \quad
        \text{status}_i \leftarrow \mathbb 1\{k_{e,i} \in \{0, G\}\}\ \text{if rolled out}

    Zheng et al. (2025), Alg. 1, in the one-parameter form of :func:`greso_selective_rollouts`.

    Parameters
    ----------
    p : array, shape (n_prompts,) or (n_epochs, n_prompts)
    group_size : int >= 1
    skip_probability : float in [0, 1]
    n_epochs : int >= 1
        Used when ``p`` is 1-D.
    n_runs : int >= 2
        Independent runs.
    rng : numpy.random.Generator or int
        Required.

    Returns
    -------
    GresoResult
        Run means of ``rollouts_saved``, ``informative_lost``, ``informative`` (shape
        (n_epochs,)), the skip frequency and the zero-advantage frequency (shape (n_epochs,
        n_prompts)), and the standard errors ``rollouts_saved_se``, ``informative_lost_se``.

    Examples
    --------
    >>> res = simulate_greso([0.0, 0.5, 0.9], 4, 0.5, n_runs=4000, rng=0)
    >>> bool(abs(res.rollouts_saved[1] - 3.5624) < 4 * res.rollouts_saved_se[1])
    True
    """
    G = check_integer(group_size, "group_size", minimum=1)
    q = check_in_range(skip_probability, "skip_probability", 0.0, 1.0)
    n_runs = check_integer(n_runs, "n_runs", minimum=2)
    P = _trajectory(p, n_epochs)
    gen = as_rng(rng)
    E, n = P.shape
    saved = np.zeros((n_runs, E))
    lost = np.zeros((n_runs, E))
    informative = np.zeros((n_runs, E))
    skip_freq = np.zeros((E, n))
    zero_freq = np.zeros((E, n))
    status = np.zeros((n_runs, n), dtype=bool)
    for e in range(E):
        k = gen.binomial(G, P[e], size=(n_runs, n))
        zero = (k == 0) | (k == G)
        skipped = status & (gen.random((n_runs, n)) < q) if e > 0 else np.zeros_like(status)
        status = np.where(skipped, status, zero)
        saved[:, e] = G * skipped.sum(axis=1)
        lost[:, e] = (skipped & ~zero).sum(axis=1)
        informative[:, e] = (~zero).sum(axis=1)
        skip_freq[e] = skipped.mean(axis=0)
        zero_freq[e] = zero.mean(axis=0)
    root = np.sqrt(n_runs)
    return GresoResult(
        rollouts_saved=saved.mean(axis=0),
        informative_lost=lost.mean(axis=0),
        informative=informative.mean(axis=0),
        skip=skip_freq,
        zero_advantage=zero_freq,
        rollouts_saved_se=saved.std(axis=0, ddof=1) / root,
        informative_lost_se=lost.std(axis=0, ddof=1) / root,
    )


@dataclasses.dataclass(frozen=True, eq=False)
class BernoulliTrajectory(Result):
    """Exact expected training dynamics on the Bernoulli bandit (see :func:`train_bernoulli`)."""

    theta: np.ndarray
    p: np.ndarray
    mean_reward: np.ndarray
    kl: np.ndarray
    estimator: str


def train_bernoulli(
    estimator: str, theta0, group_size, lr, n_steps, **options
) -> BernoulliTrajectory:
    r"""Exact expected dynamics of an estimator: :math:`\theta \leftarrow \theta + \eta\,\mathbb E[U]`.

    .. math::
        \theta_{t+1,i} = \theta_{t,i} + \eta\,\mathbb E_{k \sim \mathrm{Bin}(G, p_{t,i})}[U_k],
        \qquad
        \mathrm{KL}_t = \sum_i p_{t,i}(\theta_{t,i} - \theta_{0,i})
                        - \operatorname{softplus}\theta_{t,i} + \operatorname{softplus}\theta_{0,i}

    (:math:`\mathrm{KL}(\pi_{\theta_t}\,\|\,\pi_{\theta_0})` of the Bernoulli answers, summed over
    prompts), the mean reward :math:`\bar p_t`; the "KL efficiency" of Xiong et al. (2025), Sec. 4
    is the reward gained per unit of KL. The step is :func:`expected_update`'s mean: the
    deterministic, infinitely-many-groups limit of the stochastic training.

    Parameters
    ----------
    estimator : str
        One of :data:`ESTIMATORS`.
    theta0 : array, shape (n_prompts,)
        Initial logits.
    group_size : int >= 1
    lr : float > 0
        :math:`\eta`.
    n_steps : int >= 0
    **options
        ``eps``, ``ddof``, ``normaliser`` of :func:`expected_update`.

    Returns
    -------
    BernoulliTrajectory
        ``theta`` and ``p``, shape (n_steps + 1, n_prompts); ``mean_reward`` and ``kl``, shape
        (n_steps + 1,); ``estimator``.

    Examples
    --------
    >>> run = train_bernoulli("rloo", [0.0, -2.0], 8, 1.0, 3)
    >>> run.mean_reward.round(4)
    array([0.3096, 0.3464, 0.3828, 0.4176])
    """
    _check_estimator(estimator)
    theta = np.atleast_1d(check_array(theta0, "theta0", ndim=(0, 1)))
    G = check_integer(group_size, "group_size", minimum=1)
    lr = check_positive(lr, "lr")
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    thetas = np.empty((n_steps + 1, theta.size))
    thetas[0] = theta
    for t in range(n_steps):
        step = expected_update(estimator, expit(thetas[t]), G, **options).mean
        thetas[t + 1] = thetas[t] + lr * step
    p = expit(thetas)
    sp = np.logaddexp(0.0, thetas)
    kl = (p * (thetas - thetas[0]) - sp + sp[0]).sum(axis=1)
    return BernoulliTrajectory(thetas, p, p.mean(axis=1), np.maximum(kl, 0.0), estimator)
