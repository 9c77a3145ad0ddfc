r"""Self-play and regression targets: SPPO, REBEL and DNO regress the implicit reward.

Each loss moves the policy's log-ratios toward a target given with the data (a win probability,
a reward difference), the step of a self-play or mirror-descent iteration whose "reference" is
the previous iterate; see :mod:`prefrl.losses` for the inputs' convention.

- :func:`sppo`, :func:`sppo_hard`: Wu et al. (2024), "Self-Play Preference Optimization for
  Language Model Alignment", Eq. 4.7.
- :func:`rebel`: Gao et al. (2024), "REBEL: Reinforcement Learning via Regressing Relative
  Rewards", Algorithm 1 (the regression of relative rewards; :func:`prefrl.games.rebel` runs it).
- :func:`dno`: Rosset et al. (2024), "Direct Nash Optimization", Alg. 1 (line 4) and Eq. 11-12 (the one
  DNO loss of prefrl: :func:`prefrl.games.dno_loss` calls this one, and the torch twin computes it on tensors).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive
from . import _pairwise_core as core
from ._math import aligned, sigmoid, softplus
from ._pairwise_core import REWARDS
from ._registry import register_loss

__all__ = ["dno", "rebel", "sppo", "sppo_hard"]


def _rewards(chosen_rewards, rejected_rewards, like):
    """The rewards of the two responses, of ``like``'s shape and dtype (constants)."""
    return (aligned(chosen_rewards, "chosen_rewards", like),
            aligned(rejected_rewards, "rejected_rewards", like))


def _win_prob(p, name, like):
    arr = aligned(p, name, like)
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {arr[i]}, must be in [0, 1]")
    return arr


def _sppo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
             chosen_win_prob, rejected_win_prob, _name="sppo"):
    b = core.positive_beta(beta)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    pw = _win_prob(chosen_win_prob, "chosen_win_prob", arrays[0])
    pl = _win_prob(rejected_win_prob, "rejected_win_prob", arrays[0])

    def kernel(rw, rl):
        zw, zl = rw - (pw - 0.5) / b, rl - (pl - 0.5) / b
        return zw * zw + zl * zl, 2 * zw, 2 * zl

    return core.run(_name, kernel, arrays)


@register_loss("sppo", kind="pair", gradient=_sppo_vg,
               extras={"chosen_win_prob": "probs", "rejected_win_prob": "probs"},
               defaults=dict(beta=0.1), families=("pairwise",))
@core.doc
def sppo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
         chosen_win_prob, rejected_win_prob):
    r"""Self-Play Preference Optimization (soft), given each response's win probability.

    .. math::
        \ell = \Big(r_w - \frac{p_w - 1/2}{\beta}\Big)^2 + \Big(r_l - \frac{p_l - 1/2}{\beta}\Big)^2

    with :math:`p = \hat P(y \succ \pi_t)` the estimated probability that the response beats the
    current policy and :math:`1/\beta` the paper's step size :math:`\eta`. Wu et al. (2024),
    "Self-Play Preference Optimization for Language Model Alignment", Eq. 4.7.

    Parameters
    ----------
    {params}
    chosen_win_prob, rejected_win_prob : array, shape (n,)
        :math:`p_w, p_l \in [0, 1]` (constants: no gradient is returned for them).

    Examples
    --------
    >>> sppo([0.5], [-0.5], [0.0], [0.0], beta=1.0, chosen_win_prob=[1.0],
    ...      rejected_win_prob=[0.0]).round(4)
    array([0.])
    """
    return _sppo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                    chosen_win_prob=chosen_win_prob, rejected_win_prob=rejected_win_prob).values


def _sppo_hard_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    c = np.ones(np.shape(chosen_logps))
    return _sppo_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                    chosen_win_prob=c, rejected_win_prob=0 * c, _name="sppo_hard")


@register_loss("sppo_hard", kind="pair", gradient=_sppo_hard_vg, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def sppo_hard(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    r"""SPPO with hard labels (the winner wins for sure).

    .. math::
        \ell = \Big(r_w - \frac{1}{2\beta}\Big)^2 + \Big(r_l + \frac{1}{2\beta}\Big)^2

    :func:`sppo` with :math:`p_w = 1, p_l = 0`; minimised at :math:`r_w = -r_l = 1/(2\beta)`.
    Wu et al. (2024), Eq. 4.7; equals TRL 1.16 ``loss_type="sppo_hard"``.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> sppo_hard([0.0], [0.0], [0.0], [0.0], beta=0.5).round(4)
    array([2.])
    """
    return _sppo_hard_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                         beta=beta).values


def _rebel_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, eta,
              chosen_rewards, rejected_rewards):
    e = check_positive(eta, "eta")
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw, rl = _rewards(chosen_rewards, rejected_rewards, arrays[0])

    def kernel(sw, sl):
        z = (sw - sl) - e * (rw - rl)
        return z * z, 2 * z, -2 * z

    return core.run("rebel", kernel, arrays)


@register_loss("rebel", kind="pair", gradient=_rebel_vg, extras=REWARDS,
               defaults=dict(eta=1.0))
@core.doc
def rebel(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, eta,
          chosen_rewards, rejected_rewards):
    r"""REBEL: regress the log-ratio difference onto :math:`\eta` times the reward difference.

    .. math::
        \ell = \big(h - \eta\,(R(y_w) - R(y_l))\big)^2, \qquad
        h = \log\frac{\pi(y_w)}{\pi_t(y_w)} - \log\frac{\pi(y_l)}{\pi_t(y_l)}

    with :math:`\pi_t` the previous iterate (passed as the "reference" log-probs) and :math:`\eta`
    the step size. Gao et al. (2024), "REBEL: Reinforcement Learning via Regressing Relative
    Rewards", Algorithm 1 (the least-squares regression of relative rewards, as in
    :func:`prefrl.games.rebel`), which writes :math:`(h/\eta - \Delta R)^2 = \ell/\eta^2`; the
    minimiser is the same, at :math:`h = \eta\,\Delta R` (a mirror-descent step), and
    :math:`\ell` itself is the form the authors' released implementation minimises.

    Parameters
    ----------
    {arrays}
    eta : float > 0
        Step size :math:`\eta` (in place of :math:`\beta`; :math:`\eta = 1/\beta`).
    chosen_rewards, rejected_rewards : array, shape (n,)
        Rewards :math:`R(y_w), R(y_l)` (constants).

    Examples
    --------
    >>> rebel([1.0], [0.0], [0.0], [0.0], eta=0.5, chosen_rewards=[2.0], rejected_rewards=[0.0])
    array([0.])
    """
    return _rebel_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, eta=eta,
                     chosen_rewards=chosen_rewards, rejected_rewards=rejected_rewards).values


def _dno_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
            chosen_rewards, rejected_rewards):
    b = core.positive_beta(beta)
    arrays = core.inputs(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    rw, rl = _rewards(chosen_rewards, rejected_rewards, arrays[0])
    p = sigmoid(rw - rl)

    def kernel(sw, sl):
        x = b * (sw - sl)
        v = p * softplus(-x) + (1 - p) * softplus(x)
        d = b * (sigmoid(x) - p)
        return v, d, -d

    return core.run("dno", kernel, arrays)


@register_loss("dno", kind="pair", gradient=_dno_vg, extras=REWARDS, defaults=dict(beta=0.1),
               families=("pairwise",))
@core.doc
def dno(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
        chosen_rewards, rejected_rewards):
    r"""Direct Nash Optimization: soft-label cross-entropy toward the reward preference.

    .. math::
        \ell = -p\,\log\sigma(\beta h) - (1-p)\log\sigma(-\beta h), \qquad
        p = \sigma\big(R(y_w) - R(y_l)\big)

    i.e. DPO with the Bradley-Terry probability of the (possibly learned) rewards as soft label;
    the minimum is at :math:`\beta h = R(y_w) - R(y_l)`. Rosset et al. (2024), "Direct Nash
    Optimization", Alg. 1 (line 4) and Eq. 11-12 (the regression of the implicit reward onto the
    preference function, written as a binary cross-entropy), as in :func:`prefrl.games.dno_loss`.
    ``beta`` is the paper's temperature :math:`\eta` (the KL weight of DNO's soft policy
    iteration :math:`\pi_{t+1} \propto \pi_t e^{r_t/\eta}`), and the "reference" log-probs
    are those of the previous iterate :math:`\pi_t`.

    Parameters
    ----------
    {arrays}
    beta : float > 0
        DNO's temperature, the paper's :math:`\eta`, under the name every pairwise loss of
        :mod:`prefrl.losses` (and :func:`prefrl.games.dno`) gives its KL weight.
    chosen_rewards, rejected_rewards : array, shape (n,)
        Rewards defining the soft label (constants).

    Examples
    --------
    >>> dno([0.0], [0.0], [0.0], [0.0], beta=1.0, chosen_rewards=[0.0], rejected_rewards=[0.0])
    array([0.69314718])
    """
    return _dno_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta,
                   chosen_rewards=chosen_rewards, rejected_rewards=rejected_rewards).values
