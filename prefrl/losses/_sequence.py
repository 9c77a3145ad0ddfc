r"""Sequence log-probabilities from per-token log-probabilities and a mask: the three reductions.

Every pairwise loss of :mod:`prefrl.losses` takes sequence log-probabilities; a trainer computes
per-token log-probabilities and reduces them over the completion mask. The reduction is where
trainers differ (TRL 1.16.0, OpenRLHF 0.11, verl 0.9.1; see :doc:`/theory/loss_conventions`):

- :func:`sequence_logps`: ``"sum"`` (the DPO paper, Rafailov et al. 2023, Eq. 7: a sequence's
  log-probability is the sum of its tokens'), ``"mean"`` (the average over the completion tokens:
  SimPO, Meng et al. 2024, Eq. 4; the length-normalised DPO of Tülu 3, Lambert et al. 2024,
  Eq. 6) and ``"sum-norm"`` (the sum divided by a constant horizon: Dr. GRPO, Liu et al. 2025,
  Eq. 4).
"""

from __future__ import annotations

import numpy as np

from ._math import float_array, mask01
from .checks import check_reduction

__all__ = ["sequence_logps"]


def sequence_logps(token_logps, mask, reduction="sum", *, horizon=None):
    r"""Reduce per-token log-probabilities to one log-probability per sequence.

    .. math::
        \log\pi(y_i) = \sum_t m_{it}\,\ell_{it} \ \ (\texttt{"sum"}), \qquad
        \frac{\sum_t m_{it}\,\ell_{it}}{\sum_t m_{it}} \ \ (\texttt{"mean"}), \qquad
        \frac{\sum_t m_{it}\,\ell_{it}}{H} \ \ (\texttt{"sum-norm"})

    with :math:`\ell_{it}` the log-probability of token :math:`t` of sequence :math:`i`,
    :math:`m_{it} \in \{0, 1\}` the completion mask (prompt and padding tokens are 0, on either
    side) and :math:`H` a constant horizon. Values under the mask's zeros are ignored, even if
    non-finite (a padded position of a trainer may hold anything).

    Which trainer setting each reproduces:

    - ``"sum"``: the DPO paper (Rafailov et al. 2023, Eq. 7); TRL 1.16 ``DPOTrainer`` for every
      ``loss_type`` (``ipo`` and ``sigmoid_norm`` then divide the log-ratios by the token counts
      themselves: :func:`prefrl.losses.ipo` with ``chosen_lengths``,
      :func:`prefrl.losses.sigmoid_norm`); OpenRLHF 0.11 ``DPOTrainer``; TRL ``KTOTrainer``.
    - ``"mean"``: TRL 1.16 ``CPOTrainer`` (``loss_type="simpo"`` or ``"ipo"``, which set
      ``average_log_prob``); the SimPO paper (Meng et al. 2024, Eq. 4); the length-normalised
      DPO of Tülu 3 (Lambert et al. 2024, Eq. 6: the mean of the chosen sequence's log-ratio is
      what :func:`prefrl.losses.sigmoid_norm` computes from the sums and the counts).
    - ``"sum-norm"``: the sum over a constant horizon :math:`H` (default ``T``, the padded
      length): Dr. GRPO (Liu et al. 2025, Eq. 4), TRL ``loss_type="dr_grpo"`` with
      ``H = max_completion_length`` and verl ``loss_scale_factor=H``, applied per sequence.

    Parameters
    ----------
    token_logps : array, shape (B, T)
        Per-token log-probabilities :math:`\ell`.
    mask : array of 0/1 or booleans, shape (B, T)
        :math:`m`: 1 on the completion tokens.
    reduction : {"sum", "mean", "sum-norm"}
    horizon : float > 0, optional
        :math:`H` for ``"sum-norm"`` (default ``T``).

    Returns
    -------
    array, shape (B,)
        ``float32`` for ``float32`` input, else ``float64``.

    Raises
    ------
    ValueError
        Naming ``token_logps``, ``mask``, ``reduction`` or ``horizon``; for ``"mean"``, naming the
        first row of ``mask`` without a token (its mean is undefined).

    Examples
    --------
    >>> lp = [[-1.0, -2.0, 99.0], [-4.0, 0.0, 0.0]]     # 99 sits on a padded position
    >>> m = [[1, 1, 0], [1, 0, 0]]
    >>> sequence_logps(lp, m), sequence_logps(lp, m, "mean")
    (array([-3., -4.]), array([-1.5, -4. ]))
    >>> sequence_logps(lp, m, "sum-norm", horizon=4)
    array([-0.75, -1.  ])
    """
    check_reduction(reduction, horizon)
    lp = float_array(_finite_under(token_logps, mask), "token_logps", ndim=2)
    w = mask01(mask, lp, like_name="token_logps")
    s = np.where(w > 0, lp, 0.0).astype(lp.dtype).sum(axis=1)
    if reduction == "sum":
        return s
    if reduction == "mean":
        n = w.sum(axis=1)
        if np.any(n == 0):
            i = int(np.argmax(n == 0))
            raise ValueError(f"mask[{i}] has no token: its mean log-probability is undefined "
                             "(use reduction='sum', or drop the row)")
        return s / n
    H = float(lp.shape[1]) if horizon is None else float(horizon)
    return s / np.asarray(H, dtype=lp.dtype)


def _finite_under(token_logps, mask):
    """``token_logps`` with its masked-out entries set to 0 (they may be non-finite)."""
    if isinstance(token_logps, (str, bytes)) or token_logps is None:
        raise TypeError(f"token_logps must be an array of numbers, got {type(token_logps).__name__}")
    try:
        lp = np.array(token_logps, dtype=None if hasattr(token_logps, "dtype") else np.float64)
    except (TypeError, ValueError):
        raise TypeError("token_logps must be an array of numbers") from None
    m = np.asarray(mask)
    if lp.ndim == 2 and m.shape == lp.shape and np.issubdtype(lp.dtype, np.floating):
        lp = np.where(m.astype(bool), lp, np.zeros((), dtype=lp.dtype))
    return lp
