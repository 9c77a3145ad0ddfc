r"""SimPO in a bandit: the population loss, which has no minimiser under deterministic data.

Paper
-----
Meng, Xia and Chen (2024), "SimPO: Simple Preference Optimization with a Reference-Free Reward"
(NeurIPS), Eq. 6: :math:`-\log\sigma(\beta(\log\pi(y_w)/|y_w| - \log\pi(y_l)/|y_l|) - \gamma)`,
here in expectation over pairs drawn from :math:`\mu` and labelled by :math:`P`. That no finite
minimiser exists with deterministic preferences is derived here (as for DPO, Azar et al. 2024,
Sec. 4.2).

Public function
---------------
* :func:`simpo_population_loss` -- the population SimPO loss (per pair :func:`prefrl.losses.simpo`).
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_nonnegative, check_positive, check_preference_matrix
from ..losses import simpo as _simpo
from ._common import _check_policy_like

__all__ = ["simpo_population_loss"]


@renamed_parameters(gamma="margin")
def simpo_population_loss(policy, P, mu, lengths, beta, margin=0.5) -> float:
    r"""The population SimPO loss of a bandit policy; it has no minimiser under deterministic data.

    .. math::
        L(\pi) = \sum_{y, y'} \mu(y)\,\mu(y')\, P[y, y']\;
        \Big(-\log\sigma\Big(\beta\Big(\frac{\log\pi(y)}{L_y} - \frac{\log\pi(y')}{L_{y'}}\Big)
        - \gamma\Big)\Big),

    where :math:`P[y, y'] = p^*(y \succ y')`, :math:`\mu` the behaviour distribution,
    :math:`L_y > 0` the length of response :math:`y`, :math:`\beta` SimPO's reward scale (not a KL
    weight: there is no reference model), :math:`\gamma` = ``margin`` the target reward margin and
    :math:`\sigma` the logistic function. Meng, Xia and Chen (2024), "SimPO", Eq. 6, in expectation over pairs; the
    per-pair terms are :func:`prefrl.losses.simpo`.

    No finite optimum with deterministic preferences (derived; as for DPO, Azar et al. 2024, Sec.
    4.2): if an action :math:`y \in \mathrm{supp}(\mu)` loses every comparison
    (:math:`P[y, y'] = 0` for :math:`y' \ne y` in :math:`\mathrm{supp}\,\mu`) and all lengths are
    equal, moving its mass proportionally onto the other actions leaves every other term unchanged
    and strictly lowers the terms of :math:`y`, so the infimum is approached only as
    :math:`\pi(y) \to 0`, where the loss is undefined (:math:`\log 0`). With two actions this holds
    for any lengths.

    Parameters
    ----------
    policy : array, shape (K,)
        Positive on :math:`\mathrm{supp}(\mu)`.
    P : array, shape (K, K)
    mu : array, shape (K,)
    lengths : array, shape (K,)
        Token counts :math:`L_y > 0`.
    beta : float > 0
        SimPO's reward scale.
    margin : float >= 0
        The target reward margin :math:`\gamma` (formerly the keyword ``gamma``, which still works
        and warns: ``gamma`` is the discount everywhere else in prefrl).

    Returns
    -------
    float

    Examples
    --------
    >>> P = [[0.5, 1.0], [0.0, 0.5]]
    >>> [round(simpo_population_loss([1 - e, e], P, [.5, .5], [1, 1], beta=2.0, margin=0.5), 4)
    ...  for e in (0.5, 0.1, 0.001)]   # decreasing towards 0.2435, never attained
    [0.487, 0.2486, 0.2435]
    """
    P0 = check_preference_matrix(P)
    K = P0.shape[0]
    m = _check_policy_like(mu, "mu", K, "P")
    if m.ndim != 1:
        raise ValueError(f"mu must have shape ({K},) (one context), got {m.shape}")
    beta = check_positive(beta, "beta")
    margin = check_nonnegative(margin, "margin")
    pol = _check_policy_like(policy, "policy", K, "P")
    if pol.ndim != 1:
        raise ValueError(f"policy must have shape ({K},), got {pol.shape}")
    L = check_array(lengths, "lengths", shape=(K,))
    if (L <= 0).any():
        i = int(np.argmax(L <= 0))
        raise ValueError(f"lengths[{i}] = {L[i]:.6g}, must be > 0 (a token count)")
    bad = (m > 0) & (pol <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"policy[{i}] = 0 on supp(mu): the SimPO loss is infinite")
    W = np.outer(m, m) * P0
    i, j = np.nonzero(W > 0)
    lp = np.log(pol[i]), np.log(pol[j])
    per = _simpo(lp[0], lp[1], beta=beta, chosen_lengths=L[i], rejected_lengths=L[j], margin=margin)
    return float(W[i, j] @ per)
