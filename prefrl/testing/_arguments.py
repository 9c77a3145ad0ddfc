r"""The kit checks its own arguments before drawing anything.

A weak guard makes the kit pass wrong implementations (``rtol=nan`` compares nothing) or fail
after seconds inside hypothesis (``max_examples=0``, ``beta=0``). :func:`check_arguments` checks
the tolerances (finite, :math:`\ge 0`, or ``"auto"``), ``max_examples`` (an int :math:`\ge 1`),
``fn`` (callable), the backend, ``extra``, the token-level switches and the options' names
against the reference's signature; :func:`probe_inputs` builds a small fixed input and calls the
reference on it with the options, so that a bad option value (``beta=0``, an unknown ``mode``)
is refused at once with the reference's own message. Both raise ValueError naming the argument.
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from .. import losses as _losses
from ._golden import _draw
from ._specs import SPECS
from ._values import token_reference
from .strategies import LENGTH_INPUTS, TOKEN_KINDS, LossInputs

__all__ = ["check_arguments", "probe_inputs"]

BACKENDS = ("auto", "torch", "numpy")


def _tolerance(x, name):
    if isinstance(x, str):
        if x != "auto":
            raise ValueError(f"{name} must be a finite number >= 0 or 'auto', got {x!r}")
        return
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a finite number >= 0 or 'auto', got {x!r}")
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0 or 'auto', got {x!r}")


def _torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def check_arguments(fn, name, *, max_examples, rtol, atol, extra, check_grad, backend,
                    token_level, reduction, options):
    """Validate the kit's arguments; returns the effective ``reduction`` (None off token level).

    Examples
    --------
    >>> check_arguments(abs, "dpo", max_examples=0, rtol="auto", atol="auto", extra=(),
    ...                 check_grad=False, backend="auto", token_level=False, reduction=None,
    ...                 options={})
    Traceback (most recent call last):
    ...
    ValueError: max_examples must be an integer >= 1, got 0
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable (your implementation), got {fn!r}")
    if not isinstance(name, str) or name not in SPECS:
        raise ValueError(f"name must be one of {sorted(SPECS)}, got {name!r}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, numbers.Integral) \
            or max_examples < 1:
        raise ValueError(f"max_examples must be an integer >= 1, got {max_examples!r}")
    _tolerance(rtol, "rtol")
    _tolerance(atol, "atol")
    if not isinstance(rtol, str) and not isinstance(atol, str) and rtol == 0 and atol == 0:
        raise ValueError("rtol and atol are both 0: only bit-identical outputs would pass; "
                         "give a tolerance")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch" and not _torch_available():
        raise ValueError("backend='torch' but torch is not installed")
    spec = SPECS[name]
    if check_grad:
        if name not in _losses.GRADIENTS:
            raise ValueError(f"check_grad=True, but {name} has no gradient (an advantage "
                             "estimator is a constant of the loss that uses it)")
        if backend == "numpy":
            raise ValueError("check_grad=True compares autograd gradients: it needs "
                             "backend='torch' or 'auto', got backend='numpy'")
        if not _torch_available():
            raise ValueError("check_grad=True compares autograd gradients: torch is not "
                             "installed")
    if isinstance(extra, str):
        raise ValueError(f"extra must be a tuple of names, got the string {extra!r}")
    for e in extra:
        if e not in spec["optional"]:
            hint = ""
            if e in LENGTH_INPUTS and spec["kind"] in ("pair", "pair2"):
                hint = ("; for token-averaged log-probs check the per-token form: "
                        "token_level=True, reduction='mean' (or the loss 'sigmoid_norm')")
            raise ValueError(f"extra: {name} has no optional input {e!r}; it has "
                             f"{sorted(spec['optional'])}{hint}")
    if token_level:
        if spec["kind"] not in TOKEN_KINDS:
            raise ValueError(f"token_level=True: {name} (kind {spec['kind']!r}) has no "
                             f"per-token form; it exists for the kinds {TOKEN_KINDS}")
        if any(e in LENGTH_INPUTS for e in extra):
            raise ValueError("extra: at token level the token counts are the masks' row sums; "
                             "do not ask for chosen_lengths / rejected_lengths")
        if reduction is None:
            reduction = "sum"
        if reduction not in _losses.SEQUENCE_REDUCTIONS:
            raise ValueError(f"reduction must be one of {_losses.SEQUENCE_REDUCTIONS}, got "
                             f"{reduction!r}")
        if spec["kind"] not in ("pair", "pair2") and reduction != "sum":
            raise ValueError(f"reduction applies to pairwise losses; {name} reads the token "
                             "arrays themselves")
    elif reduction is not None:
        raise ValueError("reduction applies to the per-token form: pass token_level=True")
    params = inspect.signature(getattr(_losses, name)).parameters
    drawn = set(spec["arrays"]) | set(spec["extras"]) | set(spec["optional"])
    allowed = [p for p in params if p not in drawn]
    for k in options:
        if k in drawn:
            raise ValueError(f"option {k!r}: the kit draws this input of {name} itself")
        if k not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise ValueError(f"option {k!r} is not a parameter of prefrl.losses.{name}; its "
                             f"options are {allowed}")
    return reduction


def _tokens_of(seq, mask):
    """Token log-probs (n, T) whose masked sum is ``seq``, garbage (7.0) under the mask."""
    n, T = mask.shape
    out = np.full((n, T), 7.0)
    for i in range(n):
        idx = np.flatnonzero(mask[i])
        if len(idx):
            out[i, idx] = seq[i] / len(idx)
    return out


def probe_inputs(name, options, *, extra=(), reduction=None):
    """A small fixed input of ``name`` (moderate values, a tie); the reference is called on it
    with ``options``, and a refusal is a ValueError naming the options.

    With ``reduction`` set, the per-token form (masks with right and left padding).

    Examples
    --------
    >>> probe_inputs("dpo", {"beta": 0.0})
    Traceback (most recent call last):
    ...
    ValueError: options {'beta': 0.0} are refused by prefrl.losses.dpo: beta must be > 0, got 0.0
    """
    spec = SPECS[name]
    arrays, kwargs = _draw(name, np.random.default_rng(20240613))
    if spec["kind"] in ("pair", "pair2"):  # drop the extreme margin of the golden draw
        arrays = [np.asarray(a)[:4] for a in arrays]
        kwargs = {k: np.asarray(v)[:4] for k, v in kwargs.items()}
    for e in extra:
        what = spec["optional"][e]
        like = np.asarray(arrays[0])
        if what == "lengths":
            kwargs[e] = np.full(like.shape, 3.0)
        elif what == "ranking":
            kwargs[e] = np.tile(np.arange(like.shape[1]), (like.shape[0], 1))
        elif what == "bool":
            kwargs[e] = np.arange(like.shape[0]) % 2 == 0
        else:
            kwargs[e] = np.zeros(like.shape)
    inp = LossInputs(name, tuple(np.asarray(a) for a in arrays), kwargs)
    if reduction is not None and spec["kind"] in ("pair", "pair2"):
        n = len(inp.arrays[0])
        mc = np.zeros((n, 3), dtype=bool)
        mr = np.zeros((n, 3), dtype=bool)
        mc[:, :2] = True   # right padding
        mr[:, 1:] = True   # left padding
        k = 4 if spec["kind"] == "pair" else 2
        masks = [mc, mr, mc, mr][:k]
        tokens = [_tokens_of(np.asarray(a, dtype=float), m)
                  for a, m in zip(inp.arrays[:k], masks)]
        kw = {k_: v for k_, v in inp.kwargs.items() if k_ not in LENGTH_INPUTS}
        inp = LossInputs(name, (*tokens, mc, mr), kw, reduction)
    elif reduction is not None:
        inp = LossInputs(name, inp.arrays, inp.kwargs, reduction)
    try:
        if inp.token_level and spec["kind"] in ("pair", "pair2"):
            token_reference(inp, options)
        else:
            getattr(_losses, name)(*inp.arrays, **inp.kwargs, **options)
    except (ValueError, TypeError) as exc:
        given = {k: v for k, v in options.items() if k not in spec["defaults"]
                 or spec["defaults"][k] != v} or options
        raise ValueError(f"options {given} are refused by prefrl.losses.{name}: {exc}") from None
    return inp
