r"""Mirror-learning drift functions: PPO's clip as a drift, and the drift Lu et al. discovered.

Mirror learning (Kuba et al. 2022, "Mirror Learning: A Unifying Framework of Policy
Optimisation", Def. 3.1) improves a policy by maximising, state by state,
:math:`\mathbb{E}_{a\sim\pi}\big[r(a)A(a)\big] - \mathbb{E}_{a \sim \pi}\big[f(r(a), A(a))\big]`
with the probability ratio :math:`r = \bar\pi/\pi` and a *drift* :math:`f` that satisfies

.. math::
    f(r, A) \ge 0, \qquad f(1, A) = 0, \qquad \partial_r f(r, A)\big|_{r=1} = 0

(nonnegative, zero at the current policy, with zero gradient there). Any such drift gives
monotone improvement and convergence to the optimal policy. Lu et al. (2022), "Discovered Policy
Optimisation" (NeurIPS 2022, arXiv 2210.05639) write PPO's clipped objective in this form and
meta-learn a drift with a neural network (LPO, Learned Policy Optimisation); the closed form
they distil from it defines their algorithm DPO, Discovered Policy Optimisation
(:func:`discovered_drift`; not Direct Preference Optimisation). ``lpo_drift`` is its former,
deprecated name.

Arrays are elementwise: ``ratio`` and ``advantages`` have one shape (any), ratios are positive.
The functions: :func:`ppo_drift` (PPO's clip as a drift), :func:`discovered_drift` (the closed
form of the discovered drift, Lu et al. 2022, Sec. 6) and :func:`drift_objective`
(:math:`rA - f(r, A)`).
Declared with :func:`prefrl.losses.register_loss` (kind ``"ratio"``); the torch twins are in
:mod:`prefrl.torch.losses`.
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_in_range, check_positive
from ._math import check_finite, common
from ._registry import ValueAndGrad, register_loss
from .checks import check_drift

__all__ = ["discovered_drift", "drift_objective", "ppo_drift"]


def _inputs(ratio, advantages):
    r, A = common(("ratio", ratio), ("advantages", advantages), ndim=None)
    bad = r <= 0
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = "[" + ", ".join(map(str, idx)) + "]" if idx else ""
        raise ValueError(f"ratio{where} = {r[idx]}, must be > 0 (a probability ratio)")
    return r, A


def _finite(v, grads, name):
    check_finite(v, grads, name, "for these inputs (a product ratio * advantage exceeded the "
                 "float range)")


def _ppo_drift_vg(ratio, advantages, *, clip=0.2):
    r, A = _inputs(ratio, advantages)
    eps = check_in_range(clip, "clip", 0.0, 1.0)
    c = np.clip(r, 1 - eps, 1 + eps)
    u = (r - c) * A
    f = np.maximum(u, 0).astype(r.dtype)
    on = u > 0  # relu's gradient at 0 is 0, as torch's
    outside = (r < 1 - eps) | (r > 1 + eps)  # clamp passes the gradient on its closed range
    g_r = np.where(on & outside, A, 0).astype(r.dtype)
    g_A = np.where(on, r - c, 0).astype(r.dtype)
    _finite(f, (g_r, g_A), "ppo_drift")
    return ValueAndGrad(f, (g_r, g_A))


@register_loss("ppo_drift", kind="ratio", gradient=_ppo_drift_vg, defaults=dict(clip=0.2))
def ppo_drift(ratio, advantages, clip=0.2):
    r"""PPO's clipped objective as a mirror-learning drift.

    .. math::
        f_{PPO}(r, A) = \mathrm{ReLU}\big((r - \mathrm{clip}(r, 1-\epsilon, 1+\epsilon))\,A\big),
        \qquad \min\big(rA,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon)A\big) = rA - f_{PPO}(r, A),

    where :math:`r = \bar\pi(a|s)/\pi(a|s)` is the probability ratio of the new to the old policy,
    :math:`A` the advantage and :math:`\epsilon` the clip range. The drift is 0 inside the clip
    range and grows linearly once the ratio leaves it in the direction the advantage favours.
    For :math:`\epsilon > 0` it is a mirror-learning drift (zero on a neighbourhood of
    :math:`r = 1`); at :math:`\epsilon = 0` it has a kink at :math:`r = 1`, where the gradient
    returned is 0 (torch's convention) but the one-sided slopes are :math:`0` and :math:`A`.
    Lu et al. (2022), "Discovered Policy Optimisation", Sec. 3 (PPO as mirror learning, after
    Kuba et al. 2022, Sec. 4); Schulman et al. (2017), Eq. 7 for the clipped objective.

    Parameters
    ----------
    ratio : array, any shape, entries > 0
        :math:`r`.
    advantages : array, same shape
        :math:`A`.
    clip : float in [0, 1]
        :math:`\epsilon`.

    Returns
    -------
    array, same shape
        :math:`f_{PPO}(r, A) \ge 0`.

    Examples
    --------
    >>> ppo_drift([1.0, 1.5, 0.5, 0.5], [1.0, 2.0, 2.0, -1.0], clip=0.2)
    array([0. , 0.6, 0. , 0.3])
    """
    return _ppo_drift_vg(ratio, advantages, clip=clip).values


def _discovered_parts(r, A, alpha, alpha_neg):
    """Per entry: the argument x, its scale, dx/dr and dx/dA of the branch A selects."""
    pos = A >= 0
    with np.errstate(divide="ignore"):
        logr = np.log(r)
    x = np.where(pos, (r - 1) * A, logr * A)
    scale = np.where(pos, alpha, alpha_neg).astype(r.dtype)
    dx_dr = np.where(pos, A, A / r)
    dx_dA = np.where(pos, r - 1, logr)
    return x, scale, dx_dr, dx_dA


@renamed_parameters(beta="alpha_neg")
def _discovered_drift_vg(ratio, advantages, *, alpha=2.0, alpha_neg=0.6):
    r, A = _inputs(ratio, advantages)
    alpha = check_positive(alpha, "alpha")
    alpha_neg = check_positive(alpha_neg, "alpha_neg")
    with np.errstate(over="ignore", invalid="ignore"):
        x, scale, dx_dr, dx_dA = _discovered_parts(r, A, alpha, alpha_neg)
        t = np.tanh(x / scale)
        g = x - scale * t
        f = np.maximum(g, 0).astype(r.dtype)
        # d/dx (x - s tanh(x/s)) = 1 - sech^2(x/s) = tanh^2(x/s); relu's gradient at 0 is 0
        dfdx = np.where(g > 0, t * t, 0)
        g_r = (dfdx * dx_dr).astype(r.dtype)
        g_A = (dfdx * dx_dA).astype(r.dtype)
    _finite(f, (g_r, g_A), "discovered_drift")
    return ValueAndGrad(f, (g_r, g_A))


@register_loss("discovered_drift", kind="ratio", gradient=_discovered_drift_vg,
               defaults=dict(alpha=2.0, alpha_neg=0.6), aliases=("lpo_drift",))
@renamed_parameters(beta="alpha_neg")
def discovered_drift(ratio, advantages, alpha=2.0, alpha_neg=0.6):
    r"""The drift of Discovered Policy Optimisation, the closed form Lu et al. (2022) distilled.

    Lu et al. meta-learn a drift with a neural network (LPO, Learned Policy Optimisation) and
    distil it into the closed form below, the algorithm they call DPO, Discovered Policy
    Optimisation (not Direct Preference Optimisation). Formerly ``lpo_drift`` (deprecated).

    .. math::
        f(r, A) = \begin{cases}
        \mathrm{ReLU}\big((r-1)A - \alpha \tanh\big((r-1)A/\alpha\big)\big), & A \ge 0, \\
        \mathrm{ReLU}\big(A\log r - \alpha_- \tanh\big(A\log r/\alpha_-\big)\big), & A < 0,
        \end{cases}

    with :math:`r = \bar\pi(a|s)/\pi(a|s)` the probability ratio, :math:`A` the advantage and
    :math:`\alpha, \alpha_- > 0` the two scales (defaults: the paper's :math:`\alpha = 2`,
    :math:`\beta = 0.6`; the paper's :math:`\beta` is :math:`\alpha_-` here). Since
    :math:`x - s\tanh(x/s) \ge 0` exactly when :math:`x \ge 0`, and it
    vanishes to third order at 0, the drift penalises only a ratio that moves in the direction
    the advantage favours (up for :math:`A > 0`, down for :math:`A < 0`), smoothly, with
    :math:`f(1, A) = 0` and :math:`\partial_r f(1, A) = 0`: a valid mirror-learning drift.
    Lu et al. (2022), "Discovered Policy Optimisation" (NeurIPS 2022, arXiv 2210.05639), Sec. 6,
    checked against the authors' public implementation (the same branch rule and signs).

    Parameters
    ----------
    ratio : array, any shape, entries > 0
        :math:`r`.
    advantages : array, same shape
        :math:`A`.
    alpha, alpha_neg : float > 0
        Scales :math:`\alpha, \alpha_-` of the :math:`A \ge 0` and :math:`A < 0` branches (the
        paper's :math:`\alpha, \beta`; the keyword ``beta`` is deprecated: ``beta`` in prefrl is
        the KL weight).

    Returns
    -------
    array, same shape
        :math:`f(r, A) \ge 0`.

    Examples
    --------
    >>> discovered_drift([1.0, 3.0, 0.5, 2.0], [1.0, 2.0, 2.0, -1.0]).round(4)
    array([0.    , 2.0719, 0.    , 0.    ])
    >>> bool(discovered_drift([0.5], [-1.0])[0] > 0)   # A < 0: lowering the ratio is penalised
    True
    """
    return _discovered_drift_vg(ratio, advantages, alpha=alpha, alpha_neg=alpha_neg).values


#: drift name -> value-and-gradient function (the options are those of checks.DRIFTS)
_DRIFTS = {"ppo": _ppo_drift_vg, "discovered": _discovered_drift_vg, "lpo": _discovered_drift_vg}


def _drift_objective_vg(ratio, advantages, *, drift, **options):
    options = check_drift(drift, options, stacklevel=5)
    r, A = _inputs(ratio, advantages)
    f, (f_r, f_A) = _DRIFTS[drift](r, A, **options)
    with np.errstate(over="ignore", invalid="ignore"):
        v = (r * A - f).astype(r.dtype)
        g_r = (A - f_r).astype(r.dtype)
        g_A = (r - f_A).astype(r.dtype)
    _finite(v, (g_r, g_A), "drift_objective")
    return ValueAndGrad(v, (g_r, g_A))


@register_loss("drift_objective", kind="ratio", gradient=_drift_objective_vg,
               defaults=dict(drift="discovered"), arrays=("ratio", "advantages"))
def drift_objective(ratio, advantages, drift, **options):
    r"""The mirror-learning objective per sample, :math:`rA - f(r, A)` (to be maximised).

    .. math::
        J(r, A) = r\,A - f(r, A),

    with :math:`r = \bar\pi(a|s)/\pi(a|s)`, :math:`A` the advantage under the old policy and
    :math:`f` a drift: ``"ppo"`` (:func:`ppo_drift`, option ``clip``) or ``"discovered"``
    (:func:`discovered_drift`, options ``alpha``, ``alpha_neg``). With ``"ppo"`` this is PPO's clipped
    objective, so :func:`prefrl.losses.ppo_clip_loss` with ``mode=None`` equals
    :math:`-J` token by token. Kuba et al. (2022), Def. 3.1; Lu et al. (2022), Eq. 3 and Sec. 6.
    A loss to minimise is :math:`-J`.

    Parameters
    ----------
    ratio : array, any shape, entries > 0
    advantages : array, same shape
    drift : {"ppo", "discovered"}
        (``"lpo"``, the former name of ``"discovered"``, is still accepted.)
    **options
        ``clip`` for ``"ppo"``; ``alpha``, ``alpha_neg`` for ``"discovered"``.

    Returns
    -------
    array, same shape

    Examples
    --------
    >>> drift_objective([1.5, 0.5], [1.0, -1.0], "ppo", clip=0.2)   # min(rA, clip(r) A)
    array([ 1.2, -0.8])
    >>> drift_objective([1.0], [3.0], "discovered")
    array([3.])
    """
    return _drift_objective_vg(ratio, advantages, drift=drift, **options).values
