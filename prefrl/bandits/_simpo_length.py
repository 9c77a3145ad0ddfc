r"""SimPO's population optimum on a bandit with response lengths: length normalisation and margin.

Paper
-----
Meng, Xia and Chen (2024), "SimPO: Simple Preference Optimization with a Reference-Free Reward"
(NeurIPS), Eq. 6: the implicit reward :math:`(\beta/|y|)\log\pi(y)` (length-normalised) and the
target margin :math:`\gamma`. The paper argues that normalising by the length prevents length
exploitation, and that the margin helps separate winners from losers. Everything below is derived
here for a *sequence-level* softmax bandit (one number :math:`\log\pi(y)` per response of length
:math:`L_y`); the paper states no bandit result.

Derivation (the population optimum)
-----------------------------------
Write :math:`u_y = \beta\log\pi(y)/L_y` (normalised) or :math:`u_y = \beta\log\pi(y)` (the
unnormalised, summed version: reference-free DPO with a uniform reference). The population loss
:math:`\sum_{y, y'}\mu(y)\mu(y')P[y, y']\,\mathrm{softplus}(\gamma - (u_y - u_{y'}))` depends on
:math:`u` only through differences, is convex, and has a minimiser :math:`u^*` (unique up to a
shift) iff the comparison graph on :math:`\mathrm{supp}\,\mu` is strongly connected. The shift is
then fixed by :math:`\sum_y\pi(y) = 1`:

* unnormalised: :math:`\pi = \mathrm{softmax}(u^*/\beta)` -- it does not depend on the lengths;
* normalised: :math:`\pi(y) = \exp\big(L_y (u^*_y + c)/\beta\big)` with :math:`c` the unique root
  of :math:`\sum_y \exp(L_y(u^*_y + c)/\beta) = 1`. Since every :math:`\pi(y) < 1`,
  :math:`u^*_y + c < 0`: each response has its own inverse temperature :math:`L_y/\beta`, so among
  equally preferred responses the longer gets less mass, while the best response, whose deficit
  :math:`-(u^*_y + c)` is smallest, is sharpened the more the longer it is.

With :math:`\gamma = 0` and Bradley-Terry data :math:`u^*` is the Bradley-Terry reward; with two
responses and :math:`p = P[y_1, y_2] \in (0, 1)`, :math:`t = e^{u^*_1 - u^*_2}` is the positive
root of :math:`(1 - p)t^2 + e^\gamma(1 - 2p)t - p = 0` (:func:`simpo_two_action_gap`).

Public names
------------
* :func:`simpo_population_optimum` -- the exact minimiser, normalised or not, with a certificate;
* :func:`simpo_two_action_gap` -- the closed-form implicit-reward gap with two responses;
* :class:`SimPOOptimum` -- its result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, logsumexp

from .._optim import damped_newton
from .._validation import (
    check_array,
    check_nonnegative,
    check_positive,
    check_preference_matrix,
    check_probability,
)
from ..results import Result
from ._common import _check_policy_like
from ._simpo import simpo_population_loss

__all__ = ["SimPOOptimum", "simpo_population_optimum", "simpo_two_action_gap"]


@dataclass(frozen=True, eq=False)
class SimPOOptimum(Result):
    """The population minimiser of the SimPO loss on a bandit (:func:`simpo_population_optimum`).

    Attributes
    ----------
    policy : array, shape (K,)
        The minimising policy.
    value : float
        The minimised population loss (:func:`simpo_population_loss` at ``policy``).
    iterations : int
        Newton iterations of the margin Bradley-Terry fit (summed over its continuation in the
        margin, in steps of 0.25).
    converged : bool
        Whether Newton's stopping rule was met.
    certificate : float
        Max-norm of the loss's gradient in the implicit reward :math:`u`, recomputed from the
        returned policy (relative to ``1 + value``).
    implicit_reward : array, shape (K,)
        :math:`u_y = \\beta\\log\\pi(y)/L_y` (normalised) or :math:`\\beta\\log\\pi(y)`.
    offset : float
        The shift :math:`c` that normalises the policy (0 for the unnormalised loss, whose
        ``implicit_reward`` already is :math:`\\beta\\log\\pi`).
    expected_length : float
        :math:`\\mathbb{E}_{y\\sim\\pi} L_y`.
    normalize : bool
        Whether the loss divides by the length (SimPO) or not (summed log-probabilities).
    """

    policy: np.ndarray
    value: float
    iterations: int
    converged: bool
    certificate: float
    implicit_reward: np.ndarray
    offset: float
    expected_length: float
    normalize: bool


def _margin_fit_terms(u: np.ndarray, W: np.ndarray, margin: float):
    """Value, gradient and Hessian of sum_{i != j} W_ij softplus(margin - (u_i - u_j))."""
    x = u[:, None] - u[None, :] - margin
    off = ~np.eye(u.size, dtype=bool)
    Wo = np.where(off, W, 0.0)
    f = float((Wo * np.logaddexp(0.0, -x)).sum())
    s = expit(-x)  # -d/dx softplus(-x)
    G = Wo * s
    g = -G.sum(axis=1) + G.sum(axis=0)
    c = Wo * s * (1.0 - s)
    C = c + c.T
    H = np.diag(C.sum(axis=1)) - C
    return f, g, H


def _normalising_offset(u: np.ndarray, L: np.ndarray, beta: float) -> float:
    """The root c of sum_y exp(L_y (u_y + c) / beta) = 1 (Newton from the right: monotone)."""
    c = -float(u.max())
    for _ in range(200):
        z = L * (u + c) / beta
        phi = float(logsumexp(z))
        if phi <= 1e-15:
            break
        w = np.exp(z - phi)
        c -= phi / float(w @ L / beta)
    return c


def simpo_population_optimum(P, mu, lengths, beta, margin=0.0, *, normalize=True) -> SimPOOptimum:
    r"""The exact minimiser of the population SimPO loss on a bandit, normalised or summed.

    .. math::
        \min_\pi \sum_{y, y'} \mu(y)\mu(y')P[y, y']\,
        \mathrm{softplus}\big(\gamma - (u_y - u_{y'})\big),\qquad
        u_y = \frac{\beta}{L_y}\log\pi(y)\ \ (\text{normalised}),\quad
        u_y = \beta\log\pi(y)\ \ (\text{summed}),

    solved as a margin Bradley-Terry fit :math:`u^*` (damped Newton) followed by the normaliser:
    :math:`\pi = \mathrm{softmax}(u^*/\beta)` (summed) or :math:`\pi(y) = e^{L_y(u^*_y + c)/\beta}`
    with :math:`\sum_y \pi(y) = 1` (normalised). Here :math:`P[y, y'] = p^*(y \succ y')`,
    :math:`\mu` the distribution of compared responses, :math:`L_y` the lengths, :math:`\beta`
    SimPO's reward scale and :math:`\gamma` = ``margin``. Meng, Xia and Chen (2024), Eq. 6 (the
    loss; the optimum is derived here, see the module docstring).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix; the directed graph of its positive entries must be strongly connected
        (otherwise the loss has no minimiser, as for DPO).
    mu : array, shape (K,)
        Positive on every response (a response never compared has no determined mass).
    lengths : array, shape (K,)
        Token counts :math:`L_y > 0` (ignored by the optimum when ``normalize=False``).
    beta : float > 0
        SimPO's reward scale (not a KL weight).
    margin : float >= 0
        The target reward margin :math:`\gamma`.
    normalize : bool
        True for SimPO's length-normalised reward, False for the summed one.

    Returns
    -------
    SimPOOptimum

    Examples
    --------
    >>> P = [[0.5, 0.9], [0.1, 0.5]]
    >>> res = simpo_population_optimum(P, [0.5, 0.5], [10, 2], beta=2.0)
    >>> res.policy.round(4), round(res.expected_length, 3)
    (array([0.8914, 0.1086]), 9.131)
    >>> simpo_population_optimum(P, [0.5, 0.5], [10, 2], beta=2.0, normalize=False).policy.round(4)
    array([0.75, 0.25])
    """
    P0 = check_preference_matrix(P)
    K = P0.shape[0]
    m = _check_policy_like(mu, "mu", K, "P")
    if m.ndim != 1:
        raise ValueError(f"mu must have shape ({K},) (one context), got {m.shape}")
    if (m <= 0).any():
        i = int(np.argmax(m <= 0))
        raise ValueError(
            f"mu[{i}] = 0: response {i} is never compared and its mass is not "
            "determined by the loss; mu must be positive"
        )
    L = check_array(lengths, "lengths", shape=(K,), like="P")
    if (L <= 0).any():
        i = int(np.argmax(L <= 0))
        raise ValueError(f"lengths[{i}] = {L[i]:.6g}, must be > 0 (a token count)")
    beta = check_positive(beta, "beta")
    margin = check_nonnegative(margin, "margin")
    if not isinstance(normalize, bool | np.bool_):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    W = np.outer(m, m) * P0
    off = ~np.eye(K, dtype=bool)
    n_scc, _ = connected_components(np.where(off, W, 0.0) > 0, directed=True, connection="strong")
    if n_scc != 1:
        raise ValueError(
            "P has no minimiser: its comparison graph is not strongly connected (a "
            "group of responses beats the rest surely); the loss decreases forever, "
            "as DPO's does"
        )
    scale = float(W.sum())
    # Continuation in the margin: far from the optimum the loss is nearly linear (tiny curvature)
    # and a cold Newton step overshoots into a flat region; from the optimum at a margin 0.25
    # smaller each solve starts in the quadratic basin.
    u0, iterations, converged = np.zeros(K), 0, True
    for g in np.append(np.arange(0.0, margin, 0.25)[1:], margin):
        fit = damped_newton(
            lambda u, g=g: _margin_fit_terms(u, W / scale, g), u0, tol=1e-13, polish=5
        )
        u0, iterations, converged = fit.x, iterations + fit.iterations, fit.converged
    u = fit.x - fit.x.mean()
    Ls = L if normalize else np.ones(K)
    c = _normalising_offset(u, Ls, beta)
    log_pi = Ls * (u + c) / beta
    log_pi -= logsumexp(log_pi)  # remove the last rounding of the root
    policy = np.exp(log_pi)
    value = simpo_population_loss(policy, P0, m, Ls, beta, margin)
    u_back = beta * log_pi / Ls  # the certificate is computed on the returned policy
    _, g, _ = _margin_fit_terms(u_back, W, margin)
    return SimPOOptimum(
        policy=policy,
        value=value,
        iterations=iterations,
        converged=converged,
        certificate=float(np.max(np.abs(g))) / (1.0 + abs(value)),
        implicit_reward=u_back,
        offset=float(c) if normalize else 0.0,
        expected_length=float(policy @ L),
        normalize=bool(normalize),
    )


def simpo_two_action_gap(p, margin=0.0) -> float:
    r"""The implicit-reward gap :math:`u^*_1 - u^*_2` of SimPO's optimum with two responses.

    .. math::
        e^{d} = t, \qquad (1 - p)\,t^2 + e^{\gamma}(1 - 2p)\,t - p = 0,\ t > 0,

    from the stationarity :math:`p\,\sigma(\gamma - d) = (1 - p)\,\sigma(\gamma + d)` of
    :math:`p\,\mathrm{softplus}(\gamma - d) + (1 - p)\,\mathrm{softplus}(\gamma + d)`, with
    :math:`p = p^*(y_1 \succ y_2)` and :math:`\gamma` = ``margin`` (Meng, Xia and Chen 2024,
    Eq. 6; derived here). Consequences: :math:`d = \mathrm{logit}(p)` at :math:`\gamma = 0`;
    :math:`d = 0` for every :math:`\gamma` at :math:`p = 1/2`; for :math:`p > 1/2`, :math:`d` is
    strictly increasing in :math:`\gamma` and :math:`d - \gamma \to \log\frac{2p - 1}{1 - p}`
    (symmetrically for :math:`p < 1/2`): the margin makes the optimum deterministic as
    :math:`\gamma \to \infty` however weak the preference. The policy follows from :math:`d` by
    the normaliser of :func:`simpo_population_optimum`.

    Parameters
    ----------
    p : float in (0, 1)
        :math:`p^*(y_1 \succ y_2)` (0 and 1: no minimiser).
    margin : float >= 0
        :math:`\gamma`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(simpo_two_action_gap(0.75), 6), round(simpo_two_action_gap(0.75, 3.0), 4)
    (1.098612, 3.695)
    """
    p = check_probability(p, "p")
    if p in (0.0, 1.0):
        raise ValueError(
            f"p = {p:g}: with a deterministic preference the SimPO loss has no "
            "minimiser (the gap is infinite); p must be in (0, 1)"
        )
    g = check_nonnegative(margin, "margin")
    e = np.exp(-2.0 * g)
    if p == 0.5:
        return 0.0
    if p > 0.5:  # t = e^g ((2p - 1) + sqrt((2p - 1)^2 + 4 p (1 - p) e^{-2g})) / (2 (1 - p))
        root = np.sqrt((2 * p - 1) ** 2 + 4 * p * (1 - p) * e)
        return float(g + np.log((2 * p - 1) + root) - np.log(2 * (1 - p)))
    root = np.sqrt((1 - 2 * p) ** 2 + 4 * p * (1 - p) * e)  # t = 2p e^{-g} / ((1 - 2p) + root)
    return float(-g + np.log(2 * p) - np.log((1 - 2 * p) + root))
