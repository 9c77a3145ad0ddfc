r"""Check a user's loss implementation (numpy or torch) against prefrl's reference.

- :func:`reference_value_and_grad`: the reference values of a registered loss and, where it has
  one, the analytic gradient (:func:`prefrl.losses.value_and_grad`).
- :func:`assert_matches_reference`: run a user's function against the reference on inputs drawn
  by hypothesis (:func:`prefrl.testing.strategies.loss_inputs`); fail with the worst mismatch.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, reject, settings

from .. import losses as _losses
from .._deprecation import warn_deprecated
from ._specs import SPECS
from .strategies import loss_inputs

__all__ = ["assert_matches_reference", "reference_value_and_grad"]


def reference_value_and_grad(name, arrays, kwargs, options):
    r"""Reference values of ``name`` and, where registered, the gradients of their sum.

    .. math::
        \ell = f(x^{(1)}, \dots, x^{(m)}), \qquad g^{(j)} = \partial \textstyle\sum_i \ell_i /
        \partial x^{(j)}

    Parameters
    ----------
    name : str
        A function of :mod:`prefrl.losses`.
    arrays : sequence of arrays
        Its positional array inputs :math:`x^{(j)}`.
    kwargs, options : dict
        Drawn keyword inputs and options.

    Returns
    -------
    (array, tuple of arrays or None)
        Values, and gradients (None for functions without one, such as advantages).

    Examples
    --------
    >>> v, g = reference_value_and_grad("ipo", [[0.5], [0.0], [0.0], [0.0]], {}, {"beta": 1.0})
    >>> float(v[0]), float(g[0][0])
    (0.0, 0.0)
    """
    if name in _losses.GRADIENTS:
        v, g = _losses.GRADIENTS[name](*arrays, **kwargs, **options)
        return np.asarray(v), tuple(np.asarray(x) for x in g)
    return np.asarray(getattr(_losses, name)(*arrays, **kwargs, **options)), None


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def _to_numpy(x):
    if _is_torch(x):
        return x.detach().cpu().double().numpy() if x.dtype.is_floating_point else \
            x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _call(fn, inp, options, backend, check_grad):
    """Call fn on the drawn inputs converted for ``backend``; returns (output, grads or None)."""
    if backend == "numpy":
        return fn(*inp.arrays, **inp.kwargs, **options), None
    import torch

    spec_arrays = SPECS[inp.name]["arrays"]
    tensors = []
    for nm, a in zip(spec_arrays, inp.arrays):
        t = torch.as_tensor(a)
        if t.dtype.is_floating_point and nm != "mask" and check_grad:
            t = t.clone().requires_grad_(True)
        tensors.append(t)
    kw = {k: torch.as_tensor(v) for k, v in inp.kwargs.items()}
    out = fn(*tensors, **kw, **options)
    grads = None
    if check_grad:
        out.sum().backward()
        grads = tuple(None if not t.requires_grad else
                      (np.zeros(t.shape) if t.grad is None else t.grad.double().numpy())
                      for t in tensors)
    return out, grads


def _detect_backend(fn, inp, options):
    try:
        fn(*inp.arrays, **inp.kwargs, **options)
        return "numpy"
    except Exception:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise
        return "torch"


def _excess(got, want, rtol, atol):
    """max over entries of |got - want| / (atol + rtol |want|); inf for non-finite mismatches."""
    got = np.broadcast_to(got, want.shape) if got.size == want.size == 1 else got
    if got.shape != want.shape:
        return np.inf, None
    bad_nf = ~np.isfinite(got) & np.isfinite(want)
    if bad_nf.any():
        return np.inf, tuple(np.argwhere(bad_nf)[0]) if got.ndim else ()
    err = np.abs(got - want) / (atol + rtol * np.abs(want))
    if err.size == 0:
        return 0.0, None
    i = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
    return float(err[i]), i


def assert_matches_reference(fn, name, *, max_examples=100, rtol=1e-6, atol=1e-9, extreme=True,
                             extra=(), check_grad=False, backend=None, derandomize=True,
                             **options):
    r"""Run ``fn`` against prefrl's reference ``name`` on drawn inputs; fail on the worst mismatch.

    For each input drawn by :func:`prefrl.testing.strategies.loss_inputs` the check is

    .. math::
        \max_i \frac{|f_i - f^{ref}_i|}{\text{atol} + \text{rtol}\,|f^{ref}_i|} \le 1

    over the output entries :math:`i` (and over the gradient entries when ``check_grad``), where
    :math:`f` is ``fn(*arrays, **drawn_kwargs, **options)`` and :math:`f^{ref}` the reference
    from :mod:`prefrl.losses` with the same arguments. A non-finite output where the reference is
    finite always fails. On failure hypothesis shrinks the example, and the AssertionError states
    the discrepancy, the entry, both values and the offending inputs.

    Parameters
    ----------
    fn : callable
        Your implementation, called as ``fn(*arrays, **kwargs, **options)`` with numpy arrays
        (or torch float64 tensors, see ``backend``); it must return the unreduced per-example
        values (or the scalar, for ``aggregate``/``ppo_clip_loss`` with a ``mode``).
    name : str
        The reference function in :mod:`prefrl.losses` (any key of :data:`prefrl.testing.SPECS`).
    max_examples : int
        Number of drawn inputs.
    rtol, atol : float
        Tolerances of the comparison.
    extreme : bool
        Draw margins of :math:`\pm 10^4` too (stability is part of correctness).
    extra : tuple of str
        Optional keyword inputs to draw (e.g. ``("chosen_lengths", "rejected_lengths")``).
    check_grad : bool
        Also compare autograd gradients of ``fn(...).sum()`` (torch only) with the reference's
        analytic gradients.
    backend : {None, "numpy", "torch"}
        How inputs are passed; None tries numpy arrays first, then torch tensors.
    derandomize : bool
        True (default): hypothesis draws the same examples at every run, so that a check in a
        test suite is reproducible by design; False: a fresh random run. (The keyword ``seed``
        of earlier releases is deprecated: its value was never used, only whether it was None.)
    **options
        Keyword options of the loss (``beta``, ``label_smoothing``, ``mode``, ...); they override
        the defaults that make the reference callable (``beta=0.1`` etc.).

    Examples
    --------
    >>> import numpy as np
    >>> def my_ipo(cw, cl, rw, rl, *, beta):
    ...     return ((cw - rw) - (cl - rl) - 1 / (2 * beta)) ** 2
    >>> assert_matches_reference(my_ipo, "ipo", beta=0.1, max_examples=20)
    >>> def wrong_ipo(cw, cl, rw, rl, *, beta):  # beta inside the square
    ...     return (beta * ((cw - rw) - (cl - rl)) - 1 / (2 * beta)) ** 2
    >>> try:
    ...     assert_matches_reference(wrong_ipo, "ipo", beta=0.1, max_examples=20)
    ... except AssertionError as e:
    ...     print(str(e).splitlines()[0][:32])
    ipo: your implementation differs
    """
    if "seed" in options:
        seed = options.pop("seed")
        warn_deprecated("assert_matches_reference(): the keyword 'seed' is deprecated (its value "
                        "was never used): pass derandomize=True (reproducible, the default) or "
                        "derandomize=False (a random run)")
        derandomize = seed is not None
    if name not in SPECS:
        raise ValueError(f"name must be one of {sorted(SPECS)}, got {name!r}")
    if backend not in (None, "numpy", "torch"):
        raise ValueError(f"backend must be None, 'numpy' or 'torch', got {backend!r}")
    opts = {**SPECS[name]["defaults"], **options}
    state = {"backend": backend, "worst": 0.0}

    @settings(max_examples=max_examples, deadline=None, database=None,
              derandomize=bool(derandomize), suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(inp=loss_inputs(name, extreme=extreme, extra=tuple(extra)))
    def check(inp):
        try:
            want, want_g = reference_value_and_grad(name, inp.arrays, inp.kwargs, opts)
        except ValueError:
            reject()  # the reference refuses this input (e.g. an overflowing option)
        if state["backend"] is None:
            state["backend"] = _detect_backend(fn, inp, opts)
        out, grads = _call(fn, inp, opts, state["backend"], check_grad)
        got = _to_numpy(out)
        ratio, where = _excess(got, want, rtol, atol)
        what = "values"
        if ratio <= 1 and check_grad and grads is not None and want_g is not None:
            for nm, g, wg in zip(SPECS[name]["arrays"], grads, want_g):
                if g is None or nm == "mask":
                    continue
                r, w = _excess(g, wg, rtol, atol)
                if r > ratio:
                    ratio, where, what, got, want = r, w, f"d/d{nm}", g, wg
        state["worst"] = max(state["worst"], ratio)
        if ratio > 1:
            if got.shape != want.shape:
                detail = f"shape {got.shape}, reference shape {want.shape}"
            else:
                idx = [int(i) for i in where] if where else []
                detail = (f"entry {idx}: yours {float(got[where])!r}, "
                          f"reference {float(want[where])!r}")
            raise AssertionError(
                f"{name}: your implementation differs from prefrl.losses.{name} "
                f"({what}, |diff| / (atol + rtol |ref|) = {ratio:.3g} > 1, "
                f"rtol={rtol}, atol={atol}; worst ratio seen in this run "
                f"{state['worst']:.3g})\n"
                f"  {detail}\n  options: {opts}\n  inputs: {inp!r}"
            )

    check()
