"""The gradient registry: loss name -> function returning (values, analytic gradients)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = ["GRADIENTS", "ValueAndGrad", "register_gradient", "value_and_grad"]


class ValueAndGrad(NamedTuple):
    """Per-example values and the gradient of their sum with respect to each array input.

    A named tuple, so ``values, grads = value_and_grad(...)`` works; ``grads`` holds one array per
    positional array input, each of that input's shape.
    """

    values: np.ndarray
    grads: tuple


#: name -> callable(*arrays, **options) -> ValueAndGrad
GRADIENTS: dict[str, Callable[..., ValueAndGrad]] = {}


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
    (see :func:`value_and_grad`). A name can be registered once.

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
