r"""The policy-gradient family: advantages, KL estimators, token aggregation, PPO/GSPO/CISPO.

Token arrays have shape ``(B, T)`` (sequences by padded tokens) with a 0/1 ``mask`` of the same
shape marking completion tokens; group rewards have shape ``(P, G)`` (prompts by samples per
prompt). Conventions of TRL 1.16.0, verl 0.9.1 and OpenRLHF 0.11 are options, named in each
docstring; see :doc:`/theory/loss_conventions`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_in_range, check_positive, check_same_shape
from ._math import float_array
from ._registry import ValueAndGrad, register_gradient

__all__ = [
    "AGGREGATION_MODES",
    "KL_KINDS",
    "aggregate",
    "aggregation_weights",
    "cispo_loss",
    "grpo_advantages",
    "kl_estimate",
    "ppo_clip_loss",
    "reinforce_pp_advantages",
    "remax_advantages",
    "rloo_advantages",
]

AGGREGATION_MODES = ("token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean",
                     "seq-mean-token-sum-norm")
KL_KINDS = ("k1", "k2", "k3", "k1+", "k2+", "k3+")


def _mask(mask, like, name="mask"):
    m = np.asarray(mask)
    if m.shape != like.shape:
        raise ValueError(f"{name} must have shape {like.shape}, got {m.shape}")
    if m.dtype != bool:
        m = check_array(m, name, dtype=None)
        if not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must hold 0/1 or booleans")
    return m.astype(like.dtype)


def _tokens(*named):
    arrays = [float_array(x, n, ndim=2) for n, x in named]
    for (n, _), a in zip(named[1:], arrays[1:]):
        check_same_shape(named[0][0], arrays[0], n, a)
    dt = np.result_type(*arrays)
    return [a.astype(dt, copy=False) for a in arrays]


def _finite(v, grads, name):
    if not np.all(np.isfinite(v)) or any(not np.all(np.isfinite(g)) for g in grads):
        raise ValueError(f"{name}: the loss overflowed for these inputs (an importance ratio "
                         "exp(logp - old_logp) or an exponential exceeded the float range)")


# ------------------------------------------------------------------------------------ advantages


def _group_rewards(rewards):
    return check_array(rewards, "rewards", ndim=2)


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
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    if singleton not in ("zero", "reward"):
        raise ValueError(f"singleton must be 'zero' or 'reward', got {singleton!r}")
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"ddof must be a nonnegative integer, got {ddof!r}")
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
    ``reinforce_plus_plus`` applied to rewards that already include ``use_kl_in_reward`` (the
    return is carried through masked tokens as verl does: ``G`` is zeroed after a masked token).

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
    m = _mask(mask, r)
    b = check_positive(beta, "beta", allow_zero=True)
    g = check_in_range(gamma, "gamma", 0.0, 1.0)
    if b > 0:
        if logp is None or ref_logp is None:
            raise ValueError("logp and ref_logp are required when beta > 0")
        lp, lr = _tokens(("logp", logp), ("ref_logp", ref_logp))
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


def remax_advantages(rewards, greedy_rewards, mask):
    r"""ReMax advantages: the sampled reward minus the greedy response's reward, on every token.

    .. math::
        A_{it} = m_{it}\,\big(R_i - R(\hat y_i)\big)

    with :math:`\hat y_i` the greedy (argmax) decoding of prompt :math:`i`. Li et al. (2024),
    "ReMax", Algorithm 1. Equals verl 0.9.1 ``remax`` when the reward sits on one token.

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
        raise ValueError(f"mask must have shape ({R.shape[0]}, T), got {m.shape}")
    m = _mask(m, np.zeros(m.shape))
    return (R - b)[:, None] * m


# ------------------------------------------------------------------------------- KL estimators


def _kl_vg(logp, ref_logp, *, kind="k3", clamp=None):
    if kind not in KL_KINDS:
        raise ValueError(f"kind must be one of {KL_KINDS}, got {kind!r}")
    if clamp not in (None, "verl", "openrlhf"):
        raise ValueError(f"clamp must be None, 'verl' or 'openrlhf', got {clamp!r}")
    lp = float_array(logp, "logp", ndim=None)
    lr = float_array(ref_logp, "ref_logp", ndim=None)
    check_same_shape("logp", lp, "ref_logp", lr)
    dt = np.result_type(lp, lr)
    lp, lr = lp.astype(dt, copy=False), lr.astype(dt, copy=False)
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
    _finite(v, grads, "kl_estimate")
    return ValueAndGrad(v, grads)


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


# --------------------------------------------------------------------------------- aggregation


def _check_mode(mode):
    if mode not in AGGREGATION_MODES:
        raise ValueError(f"mode must be one of {AGGREGATION_MODES}, got {mode!r}")


def aggregation_weights(mask, mode="token-mean", horizon=None, *, dtype=np.float64):
    r"""The weights :math:`W` with ``aggregate(losses, mask, mode) == (W * losses).sum()``.

    .. math::
        W_{it} = m_{it} \cdot \begin{cases}
            1/\sum_{jt} m_{jt} & \text{token-mean} \\
            1 & \text{token-sum} \\
            1/B_{seq} & \text{seq-mean-token-sum} \\
            1/(B_{seq}\,|o_i|) & \text{seq-mean-token-mean} \\
            1/(B_{seq}\,H) & \text{seq-mean-token-sum-norm}
        \end{cases}

    with :math:`|o_i| = \sum_t m_{it}`, :math:`B_{seq}` the number of rows with at least one token
    and :math:`H` the horizon. See :func:`aggregate`.

    Parameters
    ----------
    mask : array of 0/1, shape (B, T)
    mode : str
        One of :data:`AGGREGATION_MODES`.
    horizon : float > 0, optional
        :math:`H` for ``seq-mean-token-sum-norm``; default ``T``.
    dtype : numpy dtype

    Returns
    -------
    array, shape (B, T)

    Examples
    --------
    >>> aggregation_weights([[1, 1], [1, 0]], "seq-mean-token-mean")
    array([[0.25, 0.25],
           [0.5 , 0.  ]])
    """
    _check_mode(mode)
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must have 2 dimensions, got shape {m.shape}")
    m = _mask(m, np.zeros(m.shape, dtype=dtype))
    n_tok = m.sum()
    if n_tok == 0:
        raise ValueError("mask has no tokens (all zero)")
    lengths = m.sum(axis=1)
    b_seq = float((lengths > 0).sum())
    if mode == "token-mean":
        return m / n_tok
    if mode == "token-sum":
        return m
    if mode == "seq-mean-token-sum":
        return m / b_seq
    if mode == "seq-mean-token-mean":
        safe = np.where(lengths > 0, lengths, 1)
        return m / (safe[:, None] * b_seq)
    H = float(m.shape[1]) if horizon is None else check_positive(horizon, "horizon")
    return m / (b_seq * H)


def _agg_vg(token_losses, mask, *, mode="token-mean", horizon=None):
    ell = float_array(token_losses, "token_losses", ndim=2)
    m = np.asarray(mask)
    if m.shape != ell.shape:
        raise ValueError(f"mask must have shape {ell.shape}, got {m.shape}")
    W = aggregation_weights(m, mode, horizon, dtype=ell.dtype)
    v = np.asarray((W * np.where(W > 0, ell, 0.0)).sum(), dtype=ell.dtype)
    return ValueAndGrad(v, (W, np.zeros(ell.shape, dtype=ell.dtype)))


def aggregate(token_losses, mask, mode="token-mean", horizon=None):
    r"""Reduce per-token losses to a scalar, with the conventions of the public trainers.

    .. math::
        \mathcal{L} = \sum_{i,t} W_{it}\,\ell_{it}

    with :math:`W` from :func:`aggregation_weights`: ``token-mean`` averages over all unmasked
    tokens (DAPO; verl 0.9.1 default; TRL ``bnpo``, and TRL ``dapo`` on one process with matching
    batch sizes), ``seq-mean-token-mean`` averages each sequence then the sequences (the GRPO
    paper, Shao et al. 2024, Eq. 3; TRL ``grpo``), ``seq-mean-token-sum`` sums each sequence
    then averages (TRL ``luspo``), ``seq-mean-token-sum-norm`` divides the sequence sums by a
    constant horizon :math:`H` (Dr. GRPO, Liu et al. 2025, Eq. 4; TRL ``dr_grpo`` with
    ``horizon=max_completion_length``; verl with ``loss_scale_factor=H``), ``token-sum`` sums.
    Rows without tokens are not counted in :math:`B_{seq}`. Values at masked positions are
    ignored (even if non-finite).

    Parameters
    ----------
    token_losses : array, shape (B, T)
    mask : array of 0/1, shape (B, T)
    mode : str
        One of :data:`AGGREGATION_MODES`.
    horizon : float > 0, optional
        :math:`H` for ``seq-mean-token-sum-norm`` (default ``T``, verl's default).

    Returns
    -------
    0-d array

    Examples
    --------
    >>> L, m = [[1.0, 3.0], [2.0, 0.0]], [[1, 1], [1, 0]]
    >>> float(aggregate(L, m, "token-mean")), float(aggregate(L, m, "seq-mean-token-mean"))
    (2.0, 2.0)
    >>> float(aggregate(L, m, "seq-mean-token-sum")), float(aggregate(L, m, "seq-mean-token-sum-norm"))
    (3.0, 1.5)
    """
    return _agg_vg(token_losses, mask, mode=mode, horizon=horizon).values


# ------------------------------------------------------------------------- clipped surrogates


def _ratio(lp, old, m, level):
    """log importance ratio per token (token level) or per sequence (broadcast), and lengths."""
    lr = np.where(m > 0, lp - old, 0.0).astype(lp.dtype)
    lengths = m.sum(axis=1)
    if level == "token":
        return lr, lengths
    s = lr.sum(axis=1) / np.where(lengths > 0, lengths, 1)
    return np.broadcast_to(s[:, None], lp.shape), lengths


def _advantages(advantages, like):
    A = float_array(advantages, "advantages", ndim=(1, 2)).astype(like.dtype, copy=False)
    if A.ndim == 1:
        if A.shape[0] != like.shape[0]:
            raise ValueError(f"advantages must have shape ({like.shape[0]},) or {like.shape}, "
                             f"got {A.shape}")
        return np.broadcast_to(A[:, None], like.shape), True
    check_same_shape("advantages", A, "logp", like)
    return A, False


def _ppo_vg(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None, dual_clip=None,
            level="token", mode="token-mean", horizon=None, _need_grad=True):
    lp, old = _tokens(("logp", logp), ("old_logp", old_logp))
    m = _mask(mask, lp)
    A, seq_adv = _advantages(advantages, lp)
    el = check_in_range(clip_low, "clip_low", 0.0, 1.0)
    eh = el if clip_high is None else check_positive(clip_high, "clip_high", allow_zero=True)
    if dual_clip is not None:
        c = check_positive(dual_clip, "dual_clip")
        if c <= 1:
            raise ValueError(f"dual_clip must be > 1, got {dual_clip}")
    if level not in ("token", "sequence"):
        raise ValueError(f"level must be 'token' or 'sequence', got {level!r}")
    if mode is not None:
        _check_mode(mode)
    log_rho, lengths = _ratio(lp, old, m, level)
    W = m if mode is None else aggregation_weights(m, mode, horizon, dtype=lp.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        rho = np.exp(log_rho)
        rc = np.clip(rho, 1 - el, 1 + eh)
        u = -A * rho
        u[A == 0] = 0.0  # 0 * inf
        k = -A * rc
        L = np.maximum(u, k)
        if dual_clip is not None:
            dual = (A < 0) & (-A * c < L)
            L = np.where(dual, -A * c, L)
        L *= m
        v = L if mode is None else np.asarray((W * L).sum(), dtype=lp.dtype)
        if not _need_grad:
            _finite(v, (), "ppo_clip_loss")
            return ValueAndGrad(v, ())
        # derivatives of max(u, k); a tie splits them half and half (torch.maximum's rule), and
        # the clamp passes the gradient on its closed range, as torch.clamp does
        inside = (rho >= 1 - el) & (rho <= 1 + eh)
        wu = np.where(u > k, 1.0, np.where(u < k, 0.0, 0.5))
        dL_drho = -A * (wu + (1 - wu) * inside)
        dL_dA = np.where(wu == 0, 0.0, -wu * rho) - (1 - wu) * rc
        if dual_clip is not None:
            dL_drho = np.where(dual, 0.0, dL_drho)
            dL_dA = np.where(dual, -c, dL_dA)
        # chain rule through rho = exp(log_rho); where dL/drho = 0, rho may be inf: keep 0
        g_lr = np.where(dL_drho == 0, 0.0, W * dL_drho * rho)
        if level == "token":
            g_lp = g_lr
        else:
            per_seq = g_lr.sum(axis=1) / np.where(lengths > 0, lengths, 1)
            g_lp = per_seq[:, None] * m
        g_A = W * dL_dA
        if seq_adv:
            g_A = g_A.sum(axis=1)
    grads = tuple(np.asarray(g, dtype=lp.dtype) for g in (g_lp, -g_lp, g_A, np.zeros_like(lp)))
    _finite(v, grads, "ppo_clip_loss")
    return ValueAndGrad(v, grads)


def ppo_clip_loss(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None,
                  dual_clip=None, level="token", mode="token-mean", horizon=None):
    r"""The PPO clipped surrogate (token level) and GSPO (sequence level), aggregated.

    .. math::
        \ell_{it} = \max\big(-A_{it}\rho_{it},\ -A_{it}\,\mathrm{clip}(\rho_{it},
                    1-\epsilon_{lo}, 1+\epsilon_{hi})\big), \qquad
        \ell_{it} \leftarrow \min(\ell_{it}, -c\,A_{it}) \text{ if } A_{it} < 0
        \text{ (dual clip)}

    with :math:`\rho_{it} = \exp(\log\pi(a_{it}) - \log\pi_{old}(a_{it}))` at ``level="token"``
    (Schulman et al. 2017, "PPO", Eq. 7; dual clip: Ye et al. 2020, Eq. 5), or the length-normalised
    sequence ratio :math:`\rho_{i} = \exp\big(\frac{1}{|o_i|}\sum_t m_{it}(\log\pi - \log\pi_{old})\big)`
    on every token at ``level="sequence"`` (GSPO, Zheng et al. 2025, Eqs. 5-7). The result is
    :func:`aggregate`\ d with ``mode`` (``None``: the per-token losses, masked).

    Conventions: TRL 1.16 ``GRPOTrainer`` (``epsilon``, ``epsilon_high``,
    ``importance_sampling_level``) is ``dual_clip=None``; verl 0.9.1 ``vanilla`` has the dual clip
    on by default (``clip_ratio_c=3``) and clamps the log-ratio to :math:`\pm 20` (prefrl does not);
    verl's ``gspo`` is ``level="sequence", dual_clip=None``. No exponent is clamped here: an
    overflowing ratio in a branch that is selected raises ValueError.

    Parameters
    ----------
    logp, old_logp : array, shape (B, T)
        Token log-probs under the current and the behaviour policy.
    advantages : array, shape (B, T) or (B,)
        :math:`A` per token, or per sequence (broadcast over tokens).
    mask : array of 0/1, shape (B, T)
    clip_low, clip_high : float
        :math:`\epsilon_{lo} \in [0, 1]`, :math:`\epsilon_{hi} \ge 0` (default
        :math:`\epsilon_{lo}`).
    dual_clip : float > 1, optional
        :math:`c`.
    level : {"token", "sequence"}
    mode : str or None
        Aggregation mode (see :func:`aggregate`); None returns the masked per-token losses.
    horizon : float, optional
        For ``mode="seq-mean-token-sum-norm"``.

    Examples
    --------
    >>> lp, old = [[0.0, 0.5]], [[0.0, 0.0]]
    >>> float(ppo_clip_loss(lp, old, [[1.0, 1.0]], [[1, 1]]).round(4))  # (-1 - 1.2) / 2
    -1.1
    """
    return _ppo_vg(logp, old_logp, advantages, mask, clip_low=clip_low, clip_high=clip_high,
                   dual_clip=dual_clip, level=level, mode=mode, horizon=horizon,
                   _need_grad=False).values


def _cispo_vg(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None,
              max_ratio=None, mode="token-mean", horizon=None):
    lp, old = _tokens(("logp", logp), ("old_logp", old_logp))
    m = _mask(mask, lp)
    A, seq_adv = _advantages(advantages, lp)
    if mode is not None:
        _check_mode(mode)
    log_rho, _ = _ratio(lp, old, m, "token")
    with np.errstate(over="ignore"):
        rho = np.exp(log_rho)
    if max_ratio is not None:
        w = np.minimum(rho, check_positive(max_ratio, "max_ratio"))
    else:
        el = check_in_range(clip_low, "clip_low", 0.0, 1.0)
        eh = el if clip_high is None else check_positive(clip_high, "clip_high", allow_zero=True)
        w = np.clip(rho, 1 - el, 1 + eh)
    lpm = np.where(m > 0, lp, 0.0)
    L = -w * A * lpm * m
    W = m if mode is None else aggregation_weights(m, mode, horizon, dtype=lp.dtype)
    g_lp = -W * w * A
    g_A = -W * w * lpm
    if seq_adv:
        g_A = g_A.sum(axis=1)
    v = L if mode is None else np.asarray((W * L).sum(), dtype=lp.dtype)
    grads = tuple(np.asarray(g, dtype=lp.dtype)
                  for g in (g_lp, np.zeros_like(lp), g_A, np.zeros_like(lp)))
    _finite(v, grads, "cispo_loss")
    return ValueAndGrad(v, grads)


def cispo_loss(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=None, max_ratio=None,
               mode="token-mean", horizon=None):
    r"""CISPO: REINFORCE with a clipped, stop-gradient importance weight on every token.

    .. math::
        \ell_{it} = -\,\mathrm{sg}(w_{it})\,A_{it}\,\log\pi(a_{it}), \qquad
        w_{it} = \mathrm{clip}(\rho_{it}, 1-\epsilon_{lo}, 1+\epsilon_{hi})
        \ \text{ or }\ \min(\rho_{it}, \rho_{max})

    with :math:`\rho = \pi/\pi_{old}` and :math:`\mathrm{sg}` the stop-gradient: the gradient is
    :math:`-w A \nabla\log\pi` and nothing flows into ``old_logp``. MiniMax (2025), "MiniMax-M1",
    Eq. 4. The clip form is verl 0.9.1 ``cispo``; ``max_ratio`` gives TRL 1.16 ``cispo`` (whose
    ``epsilon_high`` is the absolute cap :math:`\rho_{max}`, recommended 5.0).

    Parameters
    ----------
    logp, old_logp : array, shape (B, T)
    advantages : array, shape (B, T) or (B,)
    mask : array of 0/1, shape (B, T)
    clip_low, clip_high : float
        :math:`\epsilon_{lo}, \epsilon_{hi}` (ignored when ``max_ratio`` is given).
    max_ratio : float > 0, optional
        :math:`\rho_{max}` (TRL's convention).
    mode : str or None
        Aggregation mode (:func:`aggregate`); None returns per-token losses.
    horizon : float, optional

    Examples
    --------
    >>> float(cispo_loss([[-1.0]], [[-1.0]], [[2.0]], [[1]]))
    2.0
    """
    return _cispo_vg(logp, old_logp, advantages, mask, clip_low=clip_low, clip_high=clip_high,
                     max_ratio=max_ratio, mode=mode, horizon=horizon).values


register_gradient("kl_estimate")(_kl_vg)
register_gradient("aggregate")(_agg_vg)
register_gradient("ppo_clip_loss")(_ppo_vg)
register_gradient("cispo_loss")(_cispo_vg)
