r"""Token aggregation and the clipped surrogates: PPO (token level), GSPO (sequence), CISPO.

Token arrays have shape ``(B, T)`` (sequences by padded tokens) with a 0/1 ``mask`` of the same
shape marking completion tokens. Conventions of TRL 1.16.0, verl 0.9.1 and OpenRLHF 0.11 are
options, named in each docstring; see :doc:`/theory/loss_conventions`.

- :func:`aggregation_weights`, :func:`aggregate`: the aggregation modes of the public trainers
  (:data:`prefrl.losses.checks.AGGREGATION_MODES`; GRPO, Shao et al. 2024, Eq. 3; DAPO; Dr. GRPO,
  Liu et al. 2025, Eq. 4).
- :func:`ppo_clip_loss`: Schulman et al. (2017), "PPO", Eq. 7, with the dual clip of Ye et al.
  (2020), Eq. 5, and the sequence-level ratio of GSPO (Zheng et al. 2025, Eqs. 5-7).
- :func:`cispo_loss`: MiniMax (2025), "MiniMax-M1", Eq. 4 (its gradient in the log-probabilities
  is the stop-gradient surrogate, by definition).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive, check_same_shape
from ._math import check_finite, common, float_array, mask01
from ._registry import ValueAndGrad, register_loss
from .checks import check_clip, check_mode, check_ppo_options

__all__ = ["aggregate", "aggregation_weights", "cispo_loss", "ppo_clip_loss"]


def _finite(v, grads, name):
    check_finite(v, grads, name, "for these inputs (an importance ratio exp(logp - old_logp) or "
                 "an exponential exceeded the float range)")


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
        One of :data:`~prefrl.losses.checks.AGGREGATION_MODES`.
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
    check_mode(mode)
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must have 2 dimensions, got shape {m.shape}")
    m = mask01(m, np.zeros(m.shape, dtype=dtype))
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
        raise ValueError(f"mask must have shape {ell.shape} (the shape of token_losses), got "
                         f"{m.shape}")
    W = aggregation_weights(m, mode, horizon, dtype=ell.dtype)
    v = np.asarray((W * np.where(W > 0, ell, 0.0)).sum(), dtype=ell.dtype)
    return ValueAndGrad(v, (W, np.zeros(ell.shape, dtype=ell.dtype)))


@register_loss("aggregate", kind="tokens", gradient=_agg_vg,
               defaults=dict(mode="token-mean"))
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
        One of :data:`~prefrl.losses.checks.AGGREGATION_MODES`.
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
    lp, old = common(("logp", logp), ("old_logp", old_logp), ndim=2)
    m = mask01(mask, lp, like_name="logp")
    A, seq_adv = _advantages(advantages, lp)
    el, eh, c = check_ppo_options(clip_low, clip_high, dual_clip, level)
    if mode is not None:
        check_mode(mode)
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


@register_loss("ppo_clip_loss", kind="tokens", gradient=_ppo_vg,
               defaults=dict(mode="token-mean"))
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
    lp, old = common(("logp", logp), ("old_logp", old_logp), ndim=2)
    m = mask01(mask, lp, like_name="logp")
    A, seq_adv = _advantages(advantages, lp)
    if mode is not None:
        check_mode(mode)
    log_rho, _ = _ratio(lp, old, m, "token")
    with np.errstate(over="ignore"):
        rho = np.exp(log_rho)
    if max_ratio is not None:
        w = np.minimum(rho, check_positive(max_ratio, "max_ratio"))
    else:
        el, eh = check_clip(clip_low, clip_high)
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


@register_loss("cispo_loss", kind="tokens", gradient=_cispo_vg,
               defaults=dict(mode="token-mean"), surrogate=("logp", "old_logp"))
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
