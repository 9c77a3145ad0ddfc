r"""Per-token estimators of :math:`\mathrm{KL}(\pi\|\pi_{ref})` from samples: k1, k2, k3.

Schulman (2020), "Approximating KL divergence": :func:`kl_estimate`, with the straight-through
variants and the clamping conventions of verl 0.9.1 and OpenRLHF (options named in the
docstring; the kinds are :data:`prefrl.losses.checks.KL_KINDS`).
"""

from __future__ import annotations

import numpy as np

from ._math import check_finite, common
from ._registry import ValueAndGrad, register_loss
from .checks import check_kl_options

__all__ = ["kl_estimate"]


def _kl_vg(logp, ref_logp, *, kind="k3", clamp=None):
    check_kl_options(kind, clamp)
    lp, lr = common(("logp", logp), ("ref_logp", ref_logp), ndim=None)
    dt = lp.dtype
    x = lp - lr
    base = kind.rstrip("+")
    with np.errstate(over="ignore"):
        if base == "k1":
            v, d = x, np.ones_like(x)
        elif base == "k2":
            v, d = 0.5 * x * x, x
        else:
            dd = -x
            if clamp == "verl":
                dd = np.clip(dd, -20, 20)
            e = np.exp(dd)
            v = e - dd - 1
            inner = (np.abs(x) <= 20) if clamp == "verl" else np.ones(x.shape, bool)
            d = np.where(inner, 1 - e, 0.0).astype(dt)
        if clamp is not None and (clamp == "openrlhf" or base == "k3"):
            keep = (v >= -10) & (v <= 10)
            v = np.clip(v, -10, 10)
            d = np.where(keep, d, 0.0).astype(dt)
    if kind.endswith("+"):
        d = x  # straight-through: the value above, the gradient of k2
    grads = (d, -d)
    check_finite(v, grads, "kl_estimate")
    return ValueAndGrad(v, grads)


@register_loss("kl_estimate", kind="tokens", gradient=_kl_vg, defaults=dict(kind="k3"))
def kl_estimate(logp, ref_logp, *, kind="k3", clamp=None):
    r"""Per-token estimators of :math:`\mathrm{KL}(\pi\|\pi_{ref})` from samples of :math:`\pi`.

    .. math::
        x = \log\pi(a) - \log\pi_{ref}(a), \qquad
        k_1 = x, \quad k_2 = \tfrac12 x^2, \quad k_3 = e^{-x} - 1 + x

    :math:`k_1` and :math:`k_3` are unbiased for the KL, :math:`k_3 \ge 0` has low variance;
    :math:`k_2` is biased but its gradient :math:`x\,\nabla\log\pi` is the unbiased on-policy
    gradient of the reverse KL. Schulman (2020), "Approximating KL divergence". The straight-through
    kinds ``"k1+"``, ``"k2+"``, ``"k3+"`` return the estimator's value with the gradient of
    :math:`k_2` (verl 0.9.1's ``"k3+"``; in torch: ``k + (k2 - k2.detach())``).

    Conventions: ``clamp=None`` (default) is exact. ``clamp="verl"`` reproduces verl 0.9.1
    ``kl_penalty``: for k3 the log-ratio is clamped to :math:`[-20, 20]` and the value to
    :math:`[-10, 10]`; k1 and k2 are unclamped. ``clamp="openrlhf"`` clamps every estimator's value
    to :math:`[-10, 10]` (OpenRLHF ``compute_approx_kl``). TRL 1.16 GRPO uses exact :math:`k_3`.
    Gradients through clamped entries are 0, as in torch.

    Parameters
    ----------
    logp, ref_logp : array, any shape (the same)
        Token log-probs under the policy and the reference.
    kind : {"k1", "k2", "k3", "k1+", "k2+", "k3+"}
    clamp : {None, "verl", "openrlhf"}

    Returns
    -------
    array, the shape of ``logp``

    Examples
    --------
    >>> kl_estimate([0.0, -1.0], [0.0, 0.0], kind="k3").round(4)
    array([0.    , 0.7183])
    """
    return _kl_vg(logp, ref_logp, kind=kind, clamp=clamp).values
