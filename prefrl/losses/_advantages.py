r"""Advantage estimators of the policy-gradient trainers: GRPO, RLOO, REINFORCE++ and ReMax.

Group rewards have shape ``(P, G)`` (prompts by samples per prompt); token arrays ``(B, T)`` with
a 0/1 ``mask`` of completion tokens. Advantages are constants of the surrogate losses
(:mod:`prefrl.losses`' ``ppo_clip_loss``, ``cispo_loss``): no gradient is registered for them.
Conventions of TRL 1.16.0, verl 0.9.1 and OpenRLHF 0.11 are options, named in each docstring.

- :func:`grpo_advantages`: Shao et al. (2024), "DeepSeekMath", Eq. 3.
- :func:`rloo_advantages`: Kool, van Hoof and Welling (2019), "Buy 4 REINFORCE samples, get a
  baseline for free!"; Ahmadian et al. (2024), Eq. 6.
- :func:`reinforce_pp_advantages`: Hu (2025), "REINFORCE++", Eqs. 4-7.
- :func:`remax_advantages`: Li et al. (2024), "ReMax", Algorithm 1.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_in_range, check_positive, check_same_shape
from ._math import common, mask01
from ._registry import register_loss
from .checks import check_grpo_options

__all__ = ["grpo_advantages", "reinforce_pp_advantages", "remax_advantages", "rloo_advantages"]


def _group_rewards(rewards):
    return check_array(rewards, "rewards", ndim=2)


@register_loss("grpo_advantages", kind="groups", gradient=None)
def grpo_advantages(rewards, *, scale="group", eps=1e-4, ddof=1, singleton="zero"):
    r"""Group-relative advantages of GRPO.

    .. math::
        A_{ij} = \frac{R_{ij} - \bar R_i}{\sigma + \epsilon}, \qquad
        \bar R_i = \frac1G\sum_{j} R_{ij}

    with :math:`\sigma` the standard deviation of group :math:`i` (``scale="group"``), of all
    rewards of the batch (``"batch"``), or :math:`\sigma + \epsilon = 1` (``"none"``, Dr. GRPO),
    computed with ``ddof`` (1 = Bessel). Shao et al. (2024), "DeepSeekMath", Eq. 3 (outcome
    supervision).

    Defaults reproduce TRL 1.16 ``GRPOTrainer`` (``scale_rewards``, eps 1e-4, Bessel). verl 0.9.1
    ``grpo``: ``eps=1e-6, singleton="reward"``; ``norm_adv_by_std_in_grpo=False`` is
    ``scale="none"``. OpenRLHF ``group_norm``: ``eps=1e-9``.

    Parameters
    ----------
    rewards : array, shape (P, G)
        Outcome reward of sample :math:`j` of prompt :math:`i`.
    scale : {"group", "batch", "none"}
        Which standard deviation divides.
    eps : float >= 0
        :math:`\epsilon`.
    ddof : int
        Delta degrees of freedom of the standard deviation.
    singleton : {"zero", "reward"}
        Groups of size 1: advantage 0 (TRL) or :math:`R/(1+\epsilon)` (verl: mean 0, std 1).

    Returns
    -------
    array, shape (P, G)

    Examples
    --------
    >>> grpo_advantages([[1.0, 0.0], [1.0, 1.0]], eps=0.0).round(4)
    array([[ 0.7071, -0.7071],
           [ 0.    ,  0.    ]])
    """
    R = _group_rewards(rewards)
    eps = check_positive(eps, "eps", allow_zero=True)
    check_grpo_options(scale, singleton, ddof)
    G = R.shape[1]
    if G == 1 and scale != "batch":
        # verl: a singleton group has mean 0 and std 1, so A = R / (1 + eps)
        return R / (1.0 + eps) if singleton == "reward" else np.zeros_like(R)
    # a constant group has advantage exactly 0 (its float mean may differ from its entries)
    constant = np.ptp(R, axis=1, keepdims=True) == 0
    centred = np.where(constant, 0.0, R - R.mean(axis=1, keepdims=True))
    if scale == "none" or not np.any(centred):
        return centred
    if scale == "group":
        if G <= ddof:
            raise ValueError(f"groups of size {G} have no std with ddof={ddof}")
        # Scale each group by its largest |R| *before* centring: the mean of subnormal rewards
        # (e.g. [0, 5e-324]) is not representable, but that of the scaled ones is. With
        # m = max|R| and t = max|R/m - mean(R/m)|, c = (R/m - mean(R/m)) / t and
        # A = c / (std(c) + eps / (m t)), the same number as (R - mean R) / (std R + eps).
        m = np.max(np.abs(R), axis=1, keepdims=True)
        m = np.where(m > 0, m, 1.0)
        Rm = R / m
        cm = np.where(constant, 0.0, Rm - Rm.mean(axis=1, keepdims=True))
        t = np.max(np.abs(cm), axis=1, keepdims=True)
        c = np.divide(cm, t, out=np.zeros_like(cm), where=t > 0)
        sd = c.std(axis=1, ddof=ddof, keepdims=True)
        with np.errstate(over="ignore", divide="ignore", under="ignore"):
            mt = m * t
            eps_term = (np.zeros_like(mt) if eps == 0
                        else np.divide(eps, mt, out=np.full_like(mt, np.inf), where=mt > 0))
            denom = np.broadcast_to(sd + eps_term, c.shape)
            return np.divide(c, denom, out=np.zeros_like(c), where=c != 0)
    # batch: divide by the std of all rewards (not of the centred values); work with centred / s,
    # s = max |centred|, so tiny or huge rewards neither underflow nor overflow in the variance
    if R.size <= ddof:
        raise ValueError(f"a batch of {R.size} rewards has no std with ddof={ddof}")
    s = np.max(np.abs(centred), keepdims=True)
    s = np.where(s > 0, s, 1.0)
    c = centred / s
    Rs = R / np.max(np.abs(R))
    sd = Rs.std(ddof=ddof) * (np.max(np.abs(R)) / s)
    with np.errstate(over="ignore", divide="ignore"):
        denom = np.broadcast_to(sd + eps / s, c.shape)
        return np.divide(c, denom, out=np.zeros_like(c), where=c != 0)


@register_loss("rloo_advantages", kind="groups", gradient=None)
def rloo_advantages(rewards):
    r"""REINFORCE leave-one-out advantages.

    .. math::
        A_{ij} = R_{ij} - \frac{1}{G-1}\sum_{k \ne j} R_{ik}
               = \frac{G}{G-1}\big(R_{ij} - \bar R_i\big)

    an unbiased baseline (it does not depend on sample :math:`j`). Kool, van Hoof and Welling
    (2019), "Buy 4 REINFORCE samples, get a baseline for free!"; Ahmadian et al. (2024), Eq. 6.
    Equals TRL 1.16 ``RLOOTrainer`` (without ``normalize_advantages``), verl 0.9.1 ``rloo`` and
    OpenRLHF ``rloo``. Groups of size 1 have no other sample: the baseline is 0 and
    :math:`A = R` (verl's convention).

    Parameters
    ----------
    rewards : array, shape (P, G)

    Returns
    -------
    array, shape (P, G)

    Examples
    --------
    >>> rloo_advantages([[1.0, 0.0, 2.0]])
    array([[ 0. , -1.5,  1.5]])
    """
    R = _group_rewards(rewards)
    G = R.shape[1]
    if G == 1:
        return R.copy()
    return (R - R.mean(axis=1, keepdims=True)) * (G / (G - 1))


def _masked_whiten(x, m, eps=1e-8):
    n = m.sum()
    if n < 2:
        raise ValueError("whitening needs at least two unmasked tokens")
    mean = (x * m).sum() / n
    var = (((x - mean) ** 2) * m).sum() / n * (n / (n - 1))  # Bessel, as verl's masked_var
    return (x - mean) / np.sqrt(var + eps)


@register_loss("reinforce_pp_advantages", kind="tokens", gradient=None)
def reinforce_pp_advantages(token_rewards, mask, *, logp=None, ref_logp=None, beta=0.0,
                            gamma=1.0):
    r"""REINFORCE++ advantages: KL-shaped token rewards, return-to-go, batch whitening.

    .. math::
        \tilde r_t = r_t - \beta\,(\log\pi_{old}(a_t) - \log\pi_{ref}(a_t)), \qquad
        G_t = \tilde r_t + \gamma\, m_t\, G_{t+1}, \qquad
        A_t = m_t\,\frac{G_t - \mu}{\sqrt{s^2 + 10^{-8}}}

    with :math:`m` the mask, :math:`\mu, s^2` the mean and Bessel-corrected variance of
    :math:`G` over all unmasked tokens of the batch, :math:`\beta` the KL coefficient (k1 in the
    reward) and :math:`\gamma` the discount. Hu (2025), "REINFORCE++", Eqs. 4-7. Equals verl 0.9.1
    ``reinforce_plus_plus`` (applied to rewards that already include ``use_kl_in_reward``) on
    completion masks of one run of tokens per row, to verl's ``1e-8`` in its masked mean
    (peer-tested). On masks with holes (observation tokens) they differ: prefrl restarts the
    return after a masked token (``G`` is zeroed there), verl 0.9.1 carries it through.
    OpenRLHF 0.11 ``reinforce`` whitens with the population variance instead of Bessel's.

    Parameters
    ----------
    token_rewards : array, shape (B, T)
        Per-token rewards (typically the outcome reward on the last completion token).
    mask : array of 0/1, shape (B, T)
        Completion tokens.
    logp, ref_logp : array, shape (B, T), optional
        Old-policy and reference token log-probs for the KL shaping (required if ``beta > 0``).
    beta : float >= 0
        KL coefficient :math:`\beta`.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.

    Returns
    -------
    array, shape (B, T)

    Examples
    --------
    >>> A = reinforce_pp_advantages([[0.0, 1.0], [0.0, 0.0]], [[1, 1], [1, 1]])
    >>> bool(abs(A.sum()) < 1e-12), A[0, 0] == A[0, 1]
    (True, np.True_)
    """
    r = check_array(token_rewards, "token_rewards", ndim=2)
    m = mask01(mask, r, like_name="token_rewards")
    b = check_positive(beta, "beta", allow_zero=True)
    g = check_in_range(gamma, "gamma", 0.0, 1.0)
    if b > 0:
        if logp is None or ref_logp is None:
            raise ValueError("logp and ref_logp are required when beta > 0")
        lp, lr = common(("logp", logp), ("ref_logp", ref_logp), ndim=2)
        check_same_shape("logp", lp, "token_rewards", r)
        r = r - b * np.where(m > 0, lp - lr, 0.0)
    r = r * m
    G = np.zeros_like(r)
    running = np.zeros(r.shape[0])
    for t in range(r.shape[1] - 1, -1, -1):
        running = r[:, t] + g * running
        G[:, t] = running
        running = running * m[:, t]
    return _masked_whiten(G, m) * m


@register_loss("remax_advantages", kind="seq_tokens", gradient=None)
def remax_advantages(rewards, greedy_rewards, mask):
    r"""ReMax advantages: the sampled reward minus the greedy response's reward, on every token.

    .. math::
        A_{it} = m_{it}\,\big(R_i - R(\hat y_i)\big)

    with :math:`\hat y_i` the greedy (argmax) decoding of prompt :math:`i`. Li et al. (2024),
    "ReMax", Algorithm 1. Equals verl 0.9.1 ``remax`` when the reward sits on the last completion
    token, on the completion tokens (verl leaves :math:`R_i - R(\hat y_i)` on padding before a
    response too; its loss masks it out). Peer-tested.

    Parameters
    ----------
    rewards, greedy_rewards : array, shape (B,)
    mask : array of 0/1, shape (B, T)

    Returns
    -------
    array, shape (B, T)

    Examples
    --------
    >>> remax_advantages([1.0, 0.0], [0.5, 0.5], [[1, 1], [1, 0]])
    array([[ 0.5,  0.5],
           [-0.5, -0. ]])
    """
    R = check_array(rewards, "rewards", ndim=1)
    b = check_array(greedy_rewards, "greedy_rewards", ndim=1)
    check_same_shape("rewards", R, "greedy_rewards", b)
    m = np.asarray(mask)
    if m.ndim != 2 or m.shape[0] != R.shape[0]:
        raise ValueError(f"mask must have shape ({R.shape[0]}, T) (one row per entry of rewards), "
                         f"got {m.shape}")
    m = mask01(m, np.zeros(m.shape))
    return (R - b)[:, None] * m
