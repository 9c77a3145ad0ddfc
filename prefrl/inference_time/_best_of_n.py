r"""Best-of-n sampling: its exact law, its KL to the reference and the KL-constrained optimum.

Papers
------
* Beirami, Agarwal, Berant, D'Amour, Eisenstein, Nagpal and Suresh (2024), "Theoretical
  guarantees on the best-of-n alignment policy", arXiv 2401.01879: the law of best-of-n
  (their Lemma on the probability mass function, :math:`F(y)^n - F^-(y)^n` in reward order) and
  the bound :math:`\mathrm{KL}(\pi_n \| \pi_{ref}) \le \log n - (n-1)/n` (their Thm. 3.1), which
  the literature had used as an equality.
* The exact KL-constrained optimum (the reward-KL frontier that best-of-n is compared with) is the
  Gibbs tilt :func:`prefrl.policies.gibbs` at the KL weight that spends the budget (Lagrangian
  duality; Rafailov et al. 2023, Eq. 4).

Derivations (ours, checked by ``proofs_check/inference_time.py``)
-----------------------------------------------------------------
*Ties.* Draw :math:`y_1, \dots, y_n` iid from :math:`\pi_{ref}` and return one of the draws of
largest reward, uniformly at random among them. Let :math:`v_1 < \dots < v_L` be the reward
levels and :math:`F(v) = \pi_{ref}(r \le v)`, :math:`F(v^-) = \pi_{ref}(r < v)`. The best level
is :math:`v` with probability :math:`F(v)^n - F(v^-)^n`; given that, the draws at that level are
iid from :math:`\pi_{ref}` restricted to it, so by exchangeability the returned draw is too:

.. math::
    \pi_n(y) = \big(F(r_y)^n - F(r_y^-)^n\big)\, \frac{\pi_{ref}(y)}{\pi_{ref}(r = r_y)} .

*The bound.* The level law is the image of the law of :math:`\max(U_1, \dots, U_n)`, density
:math:`n u^{n-1}` on :math:`[0, 1]`, under the quantile map of the levels; :math:`\pi_n/\pi_{ref}`
is constant on a level, so :math:`\mathrm{KL}(\pi_n\|\pi_{ref})` is the KL of the level laws, at
most (data processing) :math:`\int_0^1 n u^{n-1}\log(n u^{n-1})\,du = \log n - (n-1)/n`. For
:math:`n \ge 2` the inequality is strict (the density is not constant on any cell of positive
length); the gap tends to 0 when the largest level mass tends to 0 (the continuous limit), and
at fixed :math:`\pi_{ref}` it grows like :math:`\log n` (the KL stays below
:math:`-\log \pi_{ref}(r = \max r)`).

Public functions and results
----------------------------
* :func:`best_of_n_distribution` -> :class:`BestOfNResult`;
* :func:`best_of_n_kl_bound` -- :math:`\log n - (n-1)/n`;
* :func:`kl_constrained_optimum` -> :class:`KLConstrainedOptimum`: the largest expected reward at
  a KL budget, and its Gibbs policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .._validation import check_array, check_distribution, check_integer, check_nonnegative
from ..policies import gibbs, kl
from ..results import Result

__all__ = [
    "BestOfNResult",
    "KLConstrainedOptimum",
    "best_of_n_distribution",
    "best_of_n_kl_bound",
    "kl_constrained_optimum",
]


@dataclass(frozen=True, eq=False)
class BestOfNResult(Result):
    r"""The exact best-of-n policy (:func:`best_of_n_distribution`).

    Attributes
    ----------
    policy : array, shape (K,)
        :math:`\pi_n`.
    value : float
        The expected reward :math:`\mathbb{E}_{\pi_n} r`.
    kl : float
        :math:`\mathrm{KL}(\pi_n \| \pi_{ref})`.
    kl_bound : float
        :math:`\log n - (n-1)/n` (Beirami et al. 2024, Thm. 3.1).
    n : int
        The number of draws.
    certificate : float
        :math:`|\sum_y \pi_n(y) - 1|` before the final renormalisation (rounding only).
    """

    policy: np.ndarray
    value: float
    kl: float
    kl_bound: float
    n: int
    certificate: float


@dataclass(frozen=True, eq=False)
class KLConstrainedOptimum(Result):
    r"""The KL-constrained reward maximiser (:func:`kl_constrained_optimum`).

    Attributes
    ----------
    policy : array, shape (K,)
        :math:`\pi_{ref} e^{r/\beta}/Z` (at :math:`\beta = \infty`: :math:`\pi_{ref}`; at
        :math:`\beta = 0`: :math:`\pi_{ref}` restricted to the best reward level).
    value : float
        :math:`\max \{\mathbb{E}_\pi r : \mathrm{KL}(\pi\|\pi_{ref}) \le` ``kl_budget`` :math:`\}`.
    kl : float
        :math:`\mathrm{KL}(\pi\|\pi_{ref})` of the returned policy (the budget, or less when the
        budget exceeds :math:`-\log \pi_{ref}(r = \max r)`).
    beta : float
        The KL weight whose Gibbs tilt it is (``inf`` and ``0`` at the two ends).
    iterations : int
        Root-finding iterations (0 at the ends).
    converged : bool
    certificate : float
        :math:`|\mathrm{KL} - \text{budget}|` (0 at the ends).
    """

    policy: np.ndarray
    value: float
    kl: float
    beta: float
    iterations: int
    converged: bool
    certificate: float


def _check_pi_reward(pi_ref, reward, reward_name: str = "reward"):
    pi = check_distribution(pi_ref, "pi_ref")
    r = check_array(reward, reward_name, shape=pi.shape, like="pi_ref")
    return pi, r


def best_of_n_kl_bound(n) -> float:
    r"""The bound :math:`\log n - (n-1)/n` on the KL of best-of-n to its reference.

    .. math::
        \mathrm{KL}(\pi_n \,\|\, \pi_{ref}) \le \log n - \frac{n-1}{n}
        = \int_0^1 n u^{n-1} \log(n u^{n-1})\, du,

    the KL of the maximum of :math:`n` uniforms to the uniform law. Beirami et al. (2024),
    "Theoretical guarantees on the best-of-n alignment policy", Thm. 3.1 (an upper bound, not the
    equality the literature used; equal only at :math:`n = 1` or in the continuous limit).

    Parameters
    ----------
    n : int >= 1

    Returns
    -------
    float

    Examples
    --------
    >>> round(best_of_n_kl_bound(4), 6)
    0.636294
    """
    n = check_integer(n, "n", minimum=1)
    return float(np.log(n) - (n - 1) / n)


def best_of_n_distribution(pi_ref, reward, n) -> BestOfNResult:
    r"""The exact law of best-of-n sampling from ``pi_ref`` (ties broken uniformly).

    .. math::
        \pi_n(y) = \big(F(r_y)^n - F(r_y^-)^n\big)\,\frac{\pi_{ref}(y)}{\pi_{ref}(r = r_y)},
        \qquad F(v) = \pi_{ref}(r \le v),\ F(v^-) = \pi_{ref}(r < v),

    the law of the output of: draw :math:`n` responses iid from :math:`\pi_{ref}`, return one of
    those of largest reward uniformly at random. With distinct rewards it is Beirami et al.
    (2024), "Theoretical guarantees on the best-of-n alignment policy", Lemma 1 (the pmf in
    reward order); the split of a tied level in proportion to :math:`\pi_{ref}` is derived in the
    module docstring. Also returns :math:`\mathrm{KL}(\pi_n\|\pi_{ref})`, at most
    :math:`\log n - (n-1)/n` (their Thm. 3.1; strictly below for :math:`n \ge 2`), and the
    expected reward. Differences of powers are computed as
    :math:`F^n(1 - (F^-/F)^n)` with ``expm1``, so small level masses keep their precision.

    Parameters
    ----------
    pi_ref : array, shape (K,)
        The reference policy.
    reward : array, shape (K,)
        :math:`r(y)`; only its order (and its ties) matters for the law.
    n : int >= 1
        Number of draws (1 returns ``pi_ref``).

    Returns
    -------
    BestOfNResult

    Examples
    --------
    >>> res = best_of_n_distribution([0.5, 0.5], [0.0, 1.0], n=2)
    >>> res.policy, res.value, round(res.kl, 6), round(res.kl_bound, 6)
    (array([0.25, 0.75]), 0.75, 0.130812, 0.193147)
    >>> best_of_n_distribution([0.25, 0.25, 0.5], [1.0, 1.0, 0.0], n=2).policy
    array([0.375, 0.375, 0.25 ])
    """
    pi, r = _check_pi_reward(pi_ref, reward)
    n = check_integer(n, "n", minimum=1)
    levels, inverse = np.unique(r, return_inverse=True)
    mass = np.bincount(inverse, weights=pi, minlength=levels.size)
    F = np.minimum(np.cumsum(mass), 1.0)
    F_minus = np.concatenate([[0.0], F[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        # F^n - F_-^n = F^n * (1 - (F_-/F)^n) = -F^n expm1(n log(F_-/F)); 0 where F = 0.
        ratio_log = np.where(
            F > 0, np.log(np.where(F > 0, F_minus, 1.0)) - np.log(np.where(F > 0, F, 1.0)), 0.0
        )
        level_law = np.where(F > 0, -np.power(F, n) * np.expm1(n * ratio_log), 0.0)
    level_law = np.where(mass > 0, level_law, 0.0)
    certificate = float(abs(level_law.sum() - 1.0))
    level_law = level_law / level_law.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pi > 0, pi / np.where(mass[inverse] > 0, mass[inverse], 1.0), 0.0)
    policy = level_law[inverse] * share
    policy = policy / policy.sum()
    return BestOfNResult(
        policy=policy,
        value=float(policy @ r),
        kl=float(kl(policy, pi)),
        kl_bound=best_of_n_kl_bound(n),
        n=n,
        certificate=certificate,
    )


def kl_constrained_optimum(pi_ref, reward, kl_budget) -> KLConstrainedOptimum:
    r"""The largest expected reward at a KL budget, attained by a Gibbs tilt of ``pi_ref``.

    .. math::
        \max_\pi\ \mathbb{E}_\pi r \ \ \text{s.t.}\ \ \mathrm{KL}(\pi\|\pi_{ref}) \le \delta
        \quad\text{is attained by}\quad \pi_\beta = \frac{\pi_{ref} e^{r/\beta}}{Z_\beta},\
        \mathrm{KL}(\pi_\beta\|\pi_{ref}) = \delta,

    by Lagrangian duality (:math:`\pi_\beta` maximises :math:`\mathbb{E}_\pi r - \beta
    \mathrm{KL}`; Rafailov et al. 2023, Eq. 4). The KL of :math:`\pi_\beta` decreases in
    :math:`\beta` from :math:`-\log \pi_{ref}(r = \max r)` (:math:`\beta \to 0`) to 0
    (:math:`\beta \to \infty`); :math:`\beta` is found by Brent's method on :math:`\log \beta`.
    A budget at or above the top is met by :math:`\pi_{ref}` restricted to the best level. The
    frontier best-of-n, Q-probe and VAS are compared with (Beirami et al. 2024, Sec. 7; Yang et
    al. 2024, "Asymptotics of language model alignment").

    Parameters
    ----------
    pi_ref : array, shape (K,)
    reward : array, shape (K,)
    kl_budget : float >= 0
        :math:`\delta`.

    Returns
    -------
    KLConstrainedOptimum

    Examples
    --------
    >>> res = kl_constrained_optimum([0.5, 0.5], [0.0, 1.0], kl_budget=0.130812)
    >>> round(res.value, 4), round(res.beta, 4)
    (0.75, 0.9102)
    """
    pi, r = _check_pi_reward(pi_ref, reward)
    delta = check_nonnegative(kl_budget, "kl_budget")
    support = pi > 0
    top = r[support].max()
    spread = top - r[support].min()
    kl_max = float(-np.log(pi[support & (r == top)].sum()))
    if delta == 0 or spread == 0:
        return KLConstrainedOptimum(
            policy=pi.copy(),
            value=float(pi @ r),
            kl=0.0,
            beta=np.inf,
            iterations=0,
            converged=True,
            certificate=0.0,
        )
    if delta >= kl_max:
        policy = np.where(support & (r == top), pi, 0.0)
        policy = policy / policy.sum()
        return KLConstrainedOptimum(
            policy=policy,
            value=float(top),
            kl=kl_max,
            beta=0.0,
            iterations=0,
            converged=True,
            certificate=0.0,
        )
    rs = (r - top) / spread  # in [-1, 0] on the support: beta is found for the scaled reward

    def gap(log_beta):
        return kl(gibbs(pi, rs, np.exp(log_beta)), pi) - delta

    lo, hi = -5.0, 5.0
    while gap(lo) < 0 and lo > -700:
        lo -= 5.0
    while gap(hi) > 0 and hi < 700:
        hi += 5.0
    if gap(lo) < 0:  # the budget is within rounding of kl_max
        policy = np.where(support & (r == top), pi, 0.0)
        policy = policy / policy.sum()
        return KLConstrainedOptimum(
            policy=policy,
            value=float(top),
            kl=kl_max,
            beta=0.0,
            iterations=0,
            converged=True,
            certificate=float(abs(kl_max - delta)),
        )
    log_beta, info = brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, full_output=True)
    policy = gibbs(pi, rs, np.exp(log_beta))
    d = float(kl(policy, pi))
    return KLConstrainedOptimum(
        policy=policy,
        value=float(policy @ r),
        kl=d,
        beta=float(np.exp(log_beta) * spread),
        iterations=int(info.iterations),
        converged=bool(info.converged),
        certificate=float(abs(d - delta)),
    )
