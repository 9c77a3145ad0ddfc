r"""Option checks shared by the numpy losses and their torch twins (:mod:`prefrl.torch.losses`).

The scalar options of a loss mean the same thing whatever the array library, so they are checked
once, here; each check raises a ValueError naming the option. The functions:

- :func:`check_f_divergence`: the f-divergence scores of the pairwise losses (Wang et al. 2024,
  "Beyond Reverse KL", Thm. 1; TRL's ``f_divergence_type``); :func:`lengths_given`: the token
  counts of the length-normalised losses, both or neither.
- :func:`check_kl_options`: the estimator and clamping convention of
  :func:`prefrl.losses.kl_estimate` (Schulman 2020).
- :func:`check_grpo_options`: the scaling options of :func:`prefrl.losses.grpo_advantages`.
- :func:`check_clip`, :func:`check_ppo_options`: the clip ranges of the PPO/GSPO and CISPO
  surrogates (Schulman et al. 2017, Eq. 7; Ye et al. 2020, Eq. 5).
- :func:`check_drift`: the drift and its options of :func:`prefrl.losses.drift_objective`
  (Kuba et al. 2022; Lu et al. 2022).
- :func:`check_reduction`: the token reduction of :func:`prefrl.losses.sequence_logps`
  (:data:`SEQUENCE_REDUCTIONS`).
"""

from __future__ import annotations

import math
import numbers

from .._deprecation import warn_deprecated
from .._validation import check_in_range, check_positive

__all__ = [
    "AGGREGATION_MODES",
    "DRIFTS",
    "F_DIVERGENCES",
    "KL_KINDS",
    "SEQUENCE_REDUCTIONS",
    "check_clip",
    "check_drift",
    "check_f_divergence",
    "check_grpo_options",
    "check_kl_options",
    "check_mode",
    "check_ppo_options",
    "check_reduction",
    "lengths_given",
]

#: The f-divergences of TRL's ``f_divergence_type`` (DPO scores :math:`s(r)`, Wang et al. 2024).
F_DIVERGENCES = ("reverse_kl", "forward_kl", "js_divergence", "alpha_divergence")

#: The KL estimators of :func:`prefrl.losses.kl_estimate` (``+``: straight-through k2 gradient).
KL_KINDS = ("k1", "k2", "k3", "k1+", "k2+", "k3+")

#: The token aggregation modes of :func:`prefrl.losses.aggregate`.
AGGREGATION_MODES = ("token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean",
                     "seq-mean-token-sum-norm")

#: The token reductions of :func:`prefrl.losses.sequence_logps` (sequence log-probabilities).
SEQUENCE_REDUCTIONS = ("sum", "mean", "sum-norm")

#: drift name -> the names of its options (:func:`prefrl.losses.drift_objective`)
DRIFTS = {"ppo": ("clip",), "discovered": ("alpha", "alpha_neg")}

# former drift names, accepted with a DeprecationWarning: Lu et al. (2022) call the closed-form
# drift DPO (Discovered Policy Optimisation); LPO is the learned drift it was distilled from
_DRIFT_ALIASES = {"lpo": "discovered"}

_DRIFT_RENAMED = {"discovered": {"beta": "alpha_neg"}}


def check_f_divergence(f_divergence, f_alpha) -> None:
    r"""Check the f-divergence score: one of :data:`F_DIVERGENCES`, with a finite :math:`\alpha`.

    Examples
    --------
    >>> check_f_divergence("js_divergence", 0.5)
    >>> check_f_divergence("kl", 0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: f_divergence must be one of ('reverse_kl', ...), got 'kl'
    """
    if f_divergence not in F_DIVERGENCES:
        raise ValueError(f"f_divergence must be one of {F_DIVERGENCES}, got {f_divergence!r}")
    if isinstance(f_alpha, bool) or not isinstance(f_alpha, numbers.Real):
        raise TypeError(f"f_alpha must be a real number, got {type(f_alpha).__name__}")
    if not math.isfinite(f_alpha):
        raise ValueError(f"f_alpha must be finite, got {f_alpha}")


def lengths_given(chosen_lengths, rejected_lengths, required: bool = False) -> bool:
    """Whether token counts are given: both (True) or neither (False; a ValueError if required).

    Examples
    --------
    >>> lengths_given(None, None), lengths_given([3], [4])
    (False, True)
    """
    if chosen_lengths is None and rejected_lengths is None:
        if required:
            raise ValueError("chosen_lengths and rejected_lengths are required for this loss")
        return False
    if chosen_lengths is None or rejected_lengths is None:
        raise ValueError("give both chosen_lengths and rejected_lengths, or neither")
    return True


def check_kl_options(kind, clamp) -> None:
    """Check a KL estimator (one of :data:`KL_KINDS`) and its clamping convention.

    Examples
    --------
    >>> check_kl_options("k3", "verl")
    """
    if kind not in KL_KINDS:
        raise ValueError(f"kind must be one of {KL_KINDS}, got {kind!r}")
    if clamp not in (None, "verl", "openrlhf"):
        raise ValueError(f"clamp must be None, 'verl' or 'openrlhf', got {clamp!r}")


def check_grpo_options(scale, singleton, ddof) -> None:
    """Check GRPO's ``scale`` (group, batch, none), ``singleton`` (zero, reward) and ``ddof``.

    Examples
    --------
    >>> check_grpo_options("group", "zero", 1)
    """
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    if singleton not in ("zero", "reward"):
        raise ValueError(f"singleton must be 'zero' or 'reward', got {singleton!r}")
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or ddof < 0:
        raise ValueError(f"ddof must be a nonnegative integer, got {ddof!r}")


def check_mode(mode) -> None:
    """Check a token aggregation mode (one of :data:`~prefrl.losses.checks.AGGREGATION_MODES`).

    Examples
    --------
    >>> check_mode("token-mean")
    """
    if mode not in AGGREGATION_MODES:
        raise ValueError(f"mode must be one of {AGGREGATION_MODES}, got {mode!r}")


def check_reduction(reduction, horizon=None):
    """Check a token reduction (one of :data:`SEQUENCE_REDUCTIONS`) and its horizon (> 0 or None).

    Examples
    --------
    >>> check_reduction("sum-norm", 8)
    >>> check_reduction("avg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: reduction must be one of ('sum', 'mean', 'sum-norm'), got 'avg'
    """
    if reduction not in SEQUENCE_REDUCTIONS:
        raise ValueError(f"reduction must be one of {SEQUENCE_REDUCTIONS}, got {reduction!r}")
    if horizon is not None:
        check_positive(horizon, "horizon")
        if reduction != "sum-norm":
            raise ValueError(f"horizon applies to reduction='sum-norm' only, got reduction="
                             f"{reduction!r}")


def check_clip(clip_low, clip_high) -> tuple[float, float]:
    r"""The clip range :math:`(\epsilon_{lo}, \epsilon_{hi})`: :math:`\epsilon_{lo} \in [0, 1]`,
    :math:`\epsilon_{hi} \ge 0` (default :math:`\epsilon_{lo}`).

    Examples
    --------
    >>> check_clip(0.2, None), check_clip(0.2, 0.28)
    ((0.2, 0.2), (0.2, 0.28))
    """
    el = check_in_range(clip_low, "clip_low", 0.0, 1.0)
    eh = el if clip_high is None else check_positive(clip_high, "clip_high", allow_zero=True)
    return el, eh


def check_ppo_options(clip_low, clip_high, dual_clip, level) -> tuple[float, float, float | None]:
    r"""The options of the PPO/GSPO surrogate: the clip range (:func:`check_clip`), the dual clip
    :math:`c > 1` (or None) and the ratio ``level`` ("token" or "sequence").

    Examples
    --------
    >>> check_ppo_options(0.2, None, 3.0, "token")
    (0.2, 0.2, 3.0)
    """
    el, eh = check_clip(clip_low, clip_high)
    c = None
    if dual_clip is not None:
        c = check_positive(dual_clip, "dual_clip")
        if c <= 1:
            raise ValueError(f"dual_clip must be > 1, got {dual_clip}")
    if level not in ("token", "sequence"):
        raise ValueError(f"level must be 'token' or 'sequence', got {level!r}")
    return el, eh, c


def check_drift(drift, options: dict, *, stacklevel: int = 4) -> dict:
    """Check a drift name (a key of :data:`DRIFTS`) and its options; returns the options.

    The former name ``"lpo"`` of ``"discovered"`` and the option ``beta`` of ``"discovered"``, now
    ``alpha_neg`` (``beta`` in prefrl is the KL weight), are accepted with a DeprecationWarning.

    Examples
    --------
    >>> check_drift("discovered", {"alpha": 1.0})
    {'alpha': 1.0}
    """
    if not isinstance(drift, str) or drift not in (*DRIFTS, *_DRIFT_ALIASES):
        raise ValueError(f"drift must be one of {sorted(DRIFTS)}, got {drift!r}")
    if drift in _DRIFT_ALIASES:
        warn_deprecated(f"drift_objective(): drift {drift!r} is deprecated, use "
                        f"{_DRIFT_ALIASES[drift]!r}", stacklevel=stacklevel)
        drift = _DRIFT_ALIASES[drift]
    options = dict(options)
    for old, new in _DRIFT_RENAMED.get(drift, {}).items():
        if old in options:
            if new in options:
                raise TypeError(f"got both {old!r} (deprecated) and {new!r}; pass only {new!r}")
            warn_deprecated(f"drift_objective(): the {drift} option {old!r} is deprecated, use "
                            f"{new!r}", stacklevel=stacklevel)
            options[new] = options.pop(old)
    allowed = DRIFTS[drift]
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise ValueError(f"options {extra} do not apply to drift {drift!r} (it takes {allowed})")
    return options
