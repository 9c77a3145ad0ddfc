r"""The loss registry: one declaration per loss, the analytic gradients, the family registries.

A loss of prefrl is declared once, where it is written, with :func:`register_loss`::

    @register_loss("ipo", kind="pair", gradient=_ipo_vg, defaults=dict(beta=0.1),
                   optional=LENGTHS, families=("pairwise",))
    def ipo(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta, ...):
        ...

The declaration records the function, its analytic gradient (:func:`register_gradient`, used by
:func:`value_and_grad`), its other names, the family registries it belongs to (:data:`PAIRWISE`,
the loss types of TRL's ``DPOTrainer``; :data:`REFERENCE_FREE`) and the spec from which the
validation kit :mod:`prefrl.testing` draws its inputs (:class:`LossSpec`, in :data:`LOSSES`).
The torch twin of the same name lives in :mod:`prefrl.torch.losses`;
:func:`prefrl.testing.check_loss` checks that a registered loss has every part.

Public: :class:`ValueAndGrad`, :data:`GRADIENTS`, :func:`register_gradient`,
:func:`value_and_grad`, :class:`LossSpec`, :data:`LOSSES`, :func:`register_loss`,
:data:`PAIRWISE`, :data:`REFERENCE_FREE`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "GRADIENTS",
    "LOSSES",
    "PAIRWISE",
    "REFERENCE_FREE",
    "LossSpec",
    "ValueAndGrad",
    "register_gradient",
    "register_loss",
    "value_and_grad",
]


class ValueAndGrad(NamedTuple):
    """Per-example values and the gradient of their sum with respect to each array input.

    A named tuple, so ``values, grads = value_and_grad(...)`` works; ``grads`` holds one array per
    positional array input, each of that input's shape.
    """

    values: np.ndarray
    grads: tuple


#: name -> callable(*arrays, **options) -> ValueAndGrad
GRADIENTS: dict[str, Callable[..., ValueAndGrad]] = {}

#: name -> :class:`LossSpec`, every name of every declared loss (aliases included)
LOSSES: dict[str, LossSpec] = {}

#: name -> loss function, all called as ``f(chosen_logps, rejected_logps, ref_chosen_logps,
#: ref_rejected_logps, *, beta, ...)``; every TRL 1.16 ``loss_type`` of ``DPOTrainer`` except
#: ``sft``, and DNO. (:func:`prefrl.losses.rebel` takes ``eta`` instead of ``beta`` and is not
#: listed.) Filled by :func:`register_loss` with ``families=("pairwise",)``.
PAIRWISE: dict[str, Callable] = {}

#: reference-free pairwise losses (two positional arrays: chosen and rejected log-probs)
REFERENCE_FREE: dict[str, Callable] = {}

_FAMILIES = {"pairwise": PAIRWISE, "reference_free": REFERENCE_FREE}

#: what the validation kit draws for each kind (the arrays' shapes)
KINDS = {
    "pair": "(n,) chosen, rejected, reference chosen, reference rejected log-probabilities",
    "pair2": "(n,) chosen and rejected log-probabilities (no reference), all < 0",
    "single": "(n,) policy and reference log-probabilities (and values) of single responses",
    "list": "(n, K) log-probabilities of K responses per prompt",
    "tokens": "(B, T) token arrays with a 0/1 mask",
    "groups": "(P, G) group rewards",
    "seq_tokens": "(B,) sequence rewards and a (B, T) mask",
    "ratio": "probability ratios > 0 and advantages, one shape",
}

#: what the validation kit draws for a keyword input
EXTRA_KINDS = ("lengths", "probs", "rewards", "values", "list_rewards", "bool", "ranking")


def _same_definition(a, b) -> bool:
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return (code_a is not None and code_b is not None
            and a.__qualname__ == b.__qualname__
            and code_a.co_filename == code_b.co_filename
            and code_a.co_firstlineno == code_b.co_firstlineno)


def register_gradient(*names: str):
    r"""Register ``fn(*arrays, **options) -> ValueAndGrad`` under each of ``names``.

    The registered function must return the per-example values :math:`\ell` and, for each
    positional array :math:`x^{(j)}`, the gradient :math:`\partial \sum_i \ell_i / \partial x^{(j)}`
    (see :func:`value_and_grad`). A name can be registered once. :func:`register_loss` calls it
    for a declared loss; call it directly only for a gradient without a declared loss.

    Parameters
    ----------
    *names : str
        The names under which :func:`value_and_grad` finds the function.

    Examples
    --------
    >>> import numpy as np
    >>> @register_gradient("doc_example_square")
    ... def _square(x):
    ...     x = np.asarray(x, dtype=float)
    ...     return ValueAndGrad(x * x, (2 * x,))
    >>> value_and_grad("doc_example_square", [3.0]).grads[0]
    array([6.])
    >>> del GRADIENTS["doc_example_square"]
    """

    def deco(fn):
        for n in names:
            old = GRADIENTS.get(n)
            # the same function defined again (a module imported a second time, e.g. by a
            # doctest run on one file, or reloaded) replaces itself; another one is an error
            if old is not None and not _same_definition(old, fn):
                raise ValueError(f"gradient for {n!r} registered twice")
            GRADIENTS[n] = fn
        return fn

    return deco


def value_and_grad(name: str, *arrays, **options) -> ValueAndGrad:
    r"""Per-example loss values and the analytic gradient with respect to every array input.

    .. math::
        \ell_i = f(x^{(1)}, \dots, x^{(m)})_i, \qquad
        g^{(j)} = \frac{\partial}{\partial x^{(j)}} \sum_i \ell_i

    where :math:`x^{(1)},\dots,x^{(m)}` are the positional array arguments of the loss ``name``,
    :math:`\ell` its unreduced output and :math:`g^{(j)}` has the shape of :math:`x^{(j)}`. For the
    per-example losses (all pairwise losses except the batch-sorted ``aot`` family) entry ``i`` of
    :math:`g^{(j)}` is simply :math:`\partial \ell_i / \partial x^{(j)}_i`. At kinks (hinge, clipping,
    max) the gradient is the one-sided value that torch's autograd returns.

    Parameters
    ----------
    name : str
        A key of :data:`GRADIENTS` (every loss in :mod:`prefrl.losses`, under all its names).
    *arrays : array_like
        The loss's positional array arguments, e.g. for a pairwise loss ``chosen_logps,
        rejected_logps, ref_chosen_logps, ref_rejected_logps``, each of shape ``(n,)``.
    **options
        The loss's keyword arguments (``beta``, ``label_smoothing``, ...).

    Returns
    -------
    ValueAndGrad
        ``(values, grads)``: ``values`` as the loss returns them, ``grads`` a tuple with one array
        per positional array input.

    Examples
    --------
    >>> from prefrl.losses import value_and_grad  # the package registers every loss
    >>> v, (gc, gr, grc, grr) = value_and_grad("dpo", [0.0], [0.0], [0.0], [0.0], beta=0.5)
    >>> float(v[0].round(4)), float(gc[0]), float(grr[0])
    (0.6931, -0.25, -0.25)
    """
    if not isinstance(name, str) or name not in GRADIENTS:
        known = ", ".join(sorted(GRADIENTS))
        raise ValueError(f"name must be one of {known}; got {name!r}")
    return GRADIENTS[name](*arrays, **options)


@dataclass(frozen=True)
class LossSpec:
    """The declaration of one loss (see :func:`register_loss`); a value object, not a result.

    Attributes
    ----------
    name : str
        The canonical name (the function's name in :mod:`prefrl.losses` and
        :mod:`prefrl.torch.losses`).
    function : callable
        The numpy reference.
    kind : str
        The shape of its inputs (a key of ``KINDS``), which tells the kit what to draw.
    arrays : tuple of str
        The positional array arguments, in order.
    extras : dict
        Keyword inputs drawn with the arrays: name -> what to draw (``"lengths"``, ``"probs"``,
        ``"rewards"``, ``"values"``, ``"list_rewards"``, ``"bool"``, ``"ranking"``).
    defaults : dict
        Options that make a call valid (``beta=0.1``, ...).
    optional : dict
        Keyword inputs a caller may ask the kit to draw (``extra=(...)``).
    gradient : callable or None
        ``(*arrays, **options) -> ValueAndGrad``; None for an advantage estimator (a constant of
        the loss that uses it, never differentiated).
    aliases : tuple of str
        Other names of the loss (TRL's ``loss_type`` where it differs).
    families : tuple of str
        The registries it is listed in: ``"pairwise"`` (:data:`PAIRWISE`), ``"reference_free"``
        (:data:`REFERENCE_FREE`).
    surrogate : tuple of str
        Arrays whose registered gradient is a surrogate by definition (a stop-gradient), not the
        derivative of the value: checked against torch's autograd, not finite differences.
    """

    name: str
    function: Callable
    kind: str
    arrays: tuple[str, ...]
    extras: Mapping[str, str]
    defaults: Mapping[str, Any]
    optional: Mapping[str, str]
    gradient: Callable | None
    aliases: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    surrogate: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name and the aliases."""
        return (self.name, *self.aliases)

    def as_dict(self) -> dict:
        """``{"kind", "arrays", "extras", "defaults", "optional"}``, the kit's view of the spec."""
        return dict(kind=self.kind, arrays=self.arrays, extras=dict(self.extras),
                    defaults=dict(self.defaults), optional=dict(self.optional))


def _positional_arrays(fn) -> tuple[str, ...]:
    """The positional parameters without a default: a loss's array arguments."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            out.append(p.name)
    return tuple(out)


def _check_keywords(fn, what: str, names) -> None:
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(names) - set(params))
    if unknown:
        raise ValueError(f"{what} {unknown} are not parameters of {fn.__name__}")


def register_loss(name: str, *, kind: str, gradient: Callable | None,
                  defaults: Mapping[str, Any] | None = None,
                  extras: Mapping[str, str] | None = None,
                  optional: Mapping[str, str] | None = None, aliases: tuple[str, ...] = (),
                  families: tuple[str, ...] = (), arrays: tuple[str, ...] | None = None,
                  surrogate: tuple[str, ...] = ()):
    r"""Declare a loss: its function, gradient, other names, registries and test spec, at once.

    The decorated function is returned unchanged. Under ``name`` and every alias it is entered in
    :data:`LOSSES` (a :class:`LossSpec`), its ``gradient`` in :data:`GRADIENTS` (so that
    :func:`value_and_grad` finds it) and the function in each registry of ``families``. The kit
    (:mod:`prefrl.testing`) draws inputs from the spec, and
    :func:`prefrl.testing.check_loss` checks every part: values, the gradient against finite
    differences, the torch twin of the same name in :mod:`prefrl.torch.losses` (values and
    autograd), and that the kit's inputs are accepted.

    Parameters
    ----------
    name : str
        The canonical name.
    kind : str
        The shape of the inputs: ``"pair"``, ``"pair2"``, ``"single"``, ``"list"``,
        ``"tokens"``, ``"groups"``, ``"seq_tokens"`` or ``"ratio"``.
    gradient : callable or None
        ``(*arrays, **options) -> ValueAndGrad`` with the per-example values and the gradient of
        their sum in every positional array; None only for an advantage estimator.
    defaults : dict, optional
        Options that make a call valid (``beta=0.1``); the kit and the golden vectors use them.
    extras : dict, optional
        Keyword inputs drawn with the arrays (``chosen_lengths="lengths"``, ...).
    optional : dict, optional
        Keyword inputs the kit draws on request.
    aliases : tuple of str
        Other names (``"sigmoid"`` for ``"dpo"``).
    families : tuple of str
        ``"pairwise"`` and/or ``"reference_free"``.
    arrays : tuple of str, optional
        The positional array arguments; default: the positional parameters without a default.
    surrogate : tuple of str
        Arrays whose gradient is a stop-gradient surrogate (see :class:`LossSpec`).

    Examples
    --------
    >>> import numpy as np
    >>> def _sq_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
    ...     h = (np.asarray(chosen_logps) - ref_chosen_logps) - (rejected_logps - np.asarray(
    ...         ref_rejected_logps))
    ...     g = 2 * beta * h
    ...     return ValueAndGrad(beta * h * h, (g, -g, -g, g))
    >>> @register_loss("doc_square", kind="pair", gradient=_sq_vg, defaults=dict(beta=0.1))
    ... def doc_square(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *,
    ...                beta):
    ...     return _sq_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
    ...                   beta=beta).values
    >>> LOSSES["doc_square"].arrays[:2], value_and_grad("doc_square", [1.0], [0.0], [0.0],
    ...                                                 [0.0], beta=1.0).grads[0]
    (('chosen_logps', 'rejected_logps'), array([2.]))
    >>> _ = LOSSES.pop("doc_square"), GRADIENTS.pop("doc_square")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    if gradient is not None and not callable(gradient):
        raise TypeError(f"gradient must be callable or None, got {type(gradient).__name__}")
    for fam in families:
        if fam not in _FAMILIES:
            raise ValueError(f"families must be among {sorted(_FAMILIES)}, got {fam!r}")
    extras, optional, defaults = dict(extras or {}), dict(optional or {}), dict(defaults or {})
    for what, d in (("extras", extras), ("optional", optional)):
        bad = sorted(v for v in d.values() if v not in EXTRA_KINDS)
        if bad:
            raise ValueError(f"{what} must draw one of {EXTRA_KINDS}, got {bad}")

    def deco(fn):
        _check_keywords(fn, "defaults", defaults)
        _check_keywords(fn, "extras", [*extras, *optional])
        arr = _positional_arrays(fn) if arrays is None else tuple(arrays)
        if not arr:
            raise ValueError(f"{fn.__name__} has no positional array arguments")
        unknown = sorted(set(surrogate) - set(arr))
        if unknown:
            raise ValueError(f"surrogate {unknown} are not arrays of {fn.__name__}")
        spec = LossSpec(name=name, function=fn, kind=kind, arrays=arr, extras=extras,
                        defaults=defaults, optional=optional, gradient=gradient,
                        aliases=tuple(aliases), families=tuple(families),
                        surrogate=tuple(surrogate))
        for n in spec.names:
            old = LOSSES.get(n)
            if old is not None and not _same_definition(old.function, fn):
                raise ValueError(f"loss {n!r} registered twice")
        if gradient is not None:
            register_gradient(*spec.names)(gradient)
        for n in spec.names:
            LOSSES[n] = spec
            for fam in spec.families:
                _FAMILIES[fam][n] = fn
        return fn

    return deco
