r"""Desiderata for direct preference optimisation on a bandit: preservation and interpolation.

Paper
-----
Hu, He and Wipf (2024), "New Desiderata for Direct Preference Optimization" (arXiv:2407.09072).
Its abstract states that DPO-family losses fail to interpolate between the reference policy and the
policy the preferences call for, and face trade-offs in how they regularise; it proposes a DPO-like
loss (TYPO) combining a supervised preference term with a term that keeps the policy near the
reference. The paper's exact equations were not available to us: what follows is a
**reconstruction** on bandits, with the criteria written as exact checks.

* The *BT-optimal policy* :math:`\pi^*` (:func:`bt_optimal_policy`): the policy whose own pairwise
  choice odds reproduce the Bradley-Terry fit of the preferences,
  :math:`\sigma(\log\pi^*(y) - \log\pi^*(y')) \approx P[y, y']`, i.e. :math:`\pi^* =
  \mathrm{softmax}(\hat r)` with :math:`\hat r` the population BT-MLE.
* (D1) *Preservation*: where :math:`\pi_{ref}` already equals :math:`\pi^*` (a "good" prompt), the
  optimum should stay at :math:`\pi_{ref}` for every regularisation weight, while other prompts
  improve. DPO's optimum there is :math:`\propto \pi_{ref}^{1 + 1/\beta}` (derived), which moves for
  every finite :math:`\beta`; so one :math:`\beta` cannot both preserve the good prompt and improve
  a bad one. IPO's optimum moves too.
* (D2) *Interpolation*: as the weight goes from :math:`\infty` to 0 the optimum should go from
  :math:`\pi_{ref}` to :math:`\pi^*`. DPO's and IPO's weak-regularisation limits are greedy
  (the best response(s) under :math:`\hat r`, resp. the win rate), not :math:`\pi^*`.
* (D3, our addition) responses that are never compared, and tied preferences.

The reconstructed alternative, :func:`explicit_bt_population_loss`, is the Bradley-Terry
cross-entropy of the policy's *own* log-odds (no reference inside) plus
:math:`\lambda\,\mathrm{KL}(\pi_{ref}\,\|\,\pi)`. It satisfies D1 exactly for every :math:`\lambda`,
D2 at both ends, keeps :math:`\pi_{ref}(y)` on never-compared responses, and has a minimiser even
for deterministic preferences. It does *not* keep :math:`\pi_{ref}` under tied preferences
(it moves toward the uniform :math:`\pi^*`), where DPO and IPO do.

Public functions
----------------
* :func:`bt_optimal_policy` -- :math:`\pi^* = \mathrm{softmax}(\hat r)`;
* :func:`explicit_bt_population_loss` -- the reconstructed loss;
* :func:`explicit_bt_optimum` -- its unique minimiser (damped Newton, certified).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_softmax

from .._optim import damped_newton
from .._validation import check_positive
from ..bradley_terry import bt_mle_counts, population_counts
from ..policies import kl, softmax
from ._common import _check_policy_like, _population_args, _squeeze, _value
from ._results import BanditOptimum

__all__ = ["bt_optimal_policy", "explicit_bt_optimum", "explicit_bt_population_loss"]


def _bt_terms(theta: np.ndarray, W: np.ndarray):
    """Value, gradient, Hessian of sum_{i,j} W_ij (-log sigma(theta_i - theta_j))."""
    x = theta[:, None] - theta[None, :]
    f = float((W * np.logaddexp(0.0, -x)).sum())
    G = W * expit(-x)
    g = -G.sum(axis=1) + G.sum(axis=0)
    c = W * expit(x) * expit(-x)
    C = c + c.T
    np.fill_diagonal(C, 0.0)
    H = np.diag(C.sum(axis=1)) - C
    return f, g, H


def _explicit_terms(theta, W, pi_ref, lam):
    """The reconstructed loss as a function of the logits, with gradient and Hessian."""
    f, g, H = _bt_terms(theta, W)
    log_pi = log_softmax(theta)
    pi = np.exp(log_pi)
    f += lam * float(pi_ref @ (np.log(pi_ref) - log_pi))
    g = g + lam * (pi - pi_ref)
    H = H + lam * (np.diag(pi) - np.outer(pi, pi))
    return f, g, H


def bt_optimal_policy(P, mu) -> np.ndarray:
    r"""The BT-optimal policy: the softmax of the population Bradley-Terry reward.

    .. math::
        \pi^* = \mathrm{softmax}(\hat r), \qquad \hat r = \arg\min_r \sum_{y, y'}
        \mu(y)\mu(y')P[y, y']\big(-\log\sigma(r(y) - r(y'))\big),

    so that :math:`\sigma(\log\pi^*(y) - \log\pi^*(y')) = \sigma(\hat r(y) - \hat r(y'))`, which
    is :math:`P[y, y']` when :math:`P` is Bradley-Terry. The target the "interpolation" criterion
    of Hu, He and Wipf (2024) reaches as regularisation vanishes (our reading of their abstract).

    Parameters
    ----------
    P : array, shape (K, K) or (S, K, K)
        Preferences; the comparison graph on all K responses must be strongly connected (a finite
        BT fit exists and is unique).
    mu : array, shape (K,) or (S, K)
        Positive on every response.

    Returns
    -------
    array, shape (K,) or (S, K)

    Examples
    --------
    >>> bt_optimal_policy([[0.5, 0.8], [0.2, 0.5]], [0.5, 0.5]).round(4)
    array([0.8, 0.2])
    """
    Ps, m, _, contextual = _population_args(P, mu, mu)
    out = []
    for s in range(Ps.shape[0]):
        if (m[s] <= 0).any():
            i = int(np.argmax(m[s] <= 0))
            raise ValueError(
                f"mu[{i}] = 0: response {i} is never compared, so pi* is not "
                "determined there; mu must be positive"
            )
        fit = bt_mle_counts(population_counts(Ps[s], m[s]))
        if not fit.exists:
            raise ValueError(
                "P has no finite Bradley-Terry fit (a group of responses beats the "
                "rest surely): pi* is greedy, not a softmax"
            )
        out.append(softmax(fit.rewards))
    return _squeeze(np.stack(out), contextual)


def explicit_bt_population_loss(policy, P, mu, pi_ref, kl_weight) -> float | np.ndarray:
    r"""The reconstructed loss: BT cross-entropy of the policy's own log-odds plus a KL anchor.

    .. math::
        \ell(\pi) = \sum_{y, y'}\mu(y)\mu(y')P[y, y']\big(-\log\sigma(\log\pi(y) - \log\pi(y'))\big)
        + \lambda\,\mathrm{KL}(\pi_{ref}\,\|\,\pi),

    with :math:`P[y, y'] = p^*(y \succ y')`, :math:`\mu` the distribution of compared responses and
    :math:`\lambda` = ``kl_weight`` (a weight on the *forward* KL, not DPO's :math:`\beta`). Our
    reconstruction of the kind of loss Hu, He and Wipf (2024) propose (a supervised preference
    term and a term keeping :math:`\pi` near :math:`\pi_{ref}`); not checked against their
    equations.

    Parameters
    ----------
    policy : array, shape (K,) or (S, K)
        Positive everywhere.
    P : array, shape (K, K) or (S, K, K)
    mu : array, shape (K,) or (S, K)
    pi_ref : array, shape (K,) or (S, K)
        Positive everywhere.
    kl_weight : float > 0

    Returns
    -------
    float, or array of shape (S,) with contexts

    Examples
    --------
    >>> P = [[0.5, 0.8], [0.2, 0.5]]
    >>> round(explicit_bt_population_loss([0.8, 0.2], P, [.5, .5], [.5, .5], 1.0), 4)
    0.5215
    """
    Ps, m, ref, contextual = _population_args(P, mu, pi_ref)
    lam = check_positive(kl_weight, "kl_weight")
    pol = np.broadcast_to(_check_policy_like(policy, "policy", Ps.shape[-1], "P"), m.shape)
    _positive(ref, "pi_ref")
    _positive(pol, "policy")
    out = []
    for s in range(Ps.shape[0]):
        W = np.outer(m[s], m[s]) * Ps[s]
        f, _, _ = _bt_terms(np.log(pol[s]), W)
        out.append(f + lam * float(kl(ref[s], pol[s])))
    return _value(np.array(out), contextual)


def _positive(p: np.ndarray, name: str) -> None:
    bad = p <= 0
    if bad.any():
        idx = ", ".join(str(int(i)) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}[{idx}] = 0: must be positive (KL(pi_ref || pi) and log pi need it)"
        )


def explicit_bt_optimum(P, mu, pi_ref, kl_weight) -> BanditOptimum:
    r"""The unique minimiser of :func:`explicit_bt_population_loss` (per context).

    .. math::
        \pi_\lambda = \arg\min_\pi\; \sum_{y, y'}\mu(y)\mu(y')P[y, y']
        \big(-\log\sigma(\log\pi(y) - \log\pi(y'))\big)
        + \lambda\,\mathrm{KL}(\pi_{ref}\,\|\,\pi),

    convex in the logits and strictly so modulo a shift, and coercive on the simplex
    (:math:`\mathrm{KL}(\pi_{ref}\|\pi) \to \infty` at its boundary), so a unique minimiser exists
    for *every* :math:`P`, deterministic included. Properties (derived here; Hu, He and Wipf 2024
    state the desiderata, the loss is our reconstruction): :math:`\pi_\lambda = \pi_{ref}` for
    every :math:`\lambda` when :math:`\pi_{ref} = \pi^*` (:func:`bt_optimal_policy`);
    :math:`\pi_\lambda \to \pi_{ref}` as :math:`\lambda \to \infty` and :math:`\to \pi^*` as
    :math:`\lambda \to 0`; :math:`\mathrm{KL}(\pi_{ref}\|\pi_\lambda)` is non-increasing and the
    BT term non-decreasing in :math:`\lambda`; a response outside :math:`\mathrm{supp}\,\mu` keeps
    :math:`\pi_\lambda(y) = \pi_{ref}(y)` exactly (its stationarity reads
    :math:`\lambda(\pi(y) - \pi_{ref}(y)) = 0`).

    Parameters
    ----------
    P : array, shape (K, K) or (S, K, K)
    mu : array, shape (K,) or (S, K)
    pi_ref : array, shape (K,) or (S, K)
        Positive everywhere.
    kl_weight : float > 0
        :math:`\lambda`.

    Returns
    -------
    BanditOptimum
        ``certificate`` is the max-norm of the gradient in the logits at the returned policy
        (relative to ``1 + value + kl_weight``); ``reward`` is :math:`\log\pi_\lambda`.

    Examples
    --------
    >>> P = [[0.5, 0.8], [0.2, 0.5]]
    >>> explicit_bt_optimum(P, [.5, .5], [0.8, 0.2], 0.1).policy.round(4)   # pi_ref = pi*: kept
    array([0.8, 0.2])
    >>> explicit_bt_optimum(P, [.5, .5], [0.5, 0.5], 1.0).policy.round(4)
    array([0.56, 0.44])
    """
    Ps, m, ref, contextual = _population_args(P, mu, pi_ref)
    lam = check_positive(kl_weight, "kl_weight")
    _positive(ref, "pi_ref")
    pols, vals, its, certs, conv = [], [], [], [], []
    for s in range(Ps.shape[0]):
        W = np.outer(m[s], m[s]) * Ps[s]

        # Continuation in lambda: from a weight so large that pi_ref is nearly optimal, divide by 4
        # and warm-start each solve at the last optimum (a cold Newton start at a small lambda can
        # overshoot into the flat tails of log-softmax and stall).
        theta, its_s, conv_s = np.log(ref[s]), 0, True
        n_up = int(np.ceil(max(0.0, np.log(10.0 * (1.0 + W.sum()) / lam) / np.log(4.0))))
        for lam_k in lam * 4.0 ** np.arange(n_up, -1, -1):

            def fgh(theta, W=W, r=ref[s], lam_k=lam_k):
                return _explicit_terms(theta, W, r, lam_k)

            res = damped_newton(
                fgh, theta, tol=1e-12, polish=5, gradient_scale=1.0 + lam_k, armijo_slack=1e-15
            )
            theta, its_s, conv_s = res.x, its_s + res.iterations, res.converged
        log_pi = log_softmax(res.x)
        f, g, _ = fgh(log_pi)
        pols.append(np.exp(log_pi))
        vals.append(f)
        its.append(its_s)
        conv.append(conv_s)
        certs.append(float(np.max(np.abs(g))) / (1.0 + abs(f) + lam))
    policy = np.stack(pols)
    return BanditOptimum(
        policy=_squeeze(policy, contextual),
        value=_value(np.array(vals), contextual),
        iterations=int(max(its)),
        certificate=float(max(certs)),
        reward=_squeeze(np.log(policy), contextual),
        converged=all(conv),
    )
