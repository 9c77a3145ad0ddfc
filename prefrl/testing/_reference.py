r"""Check a user's loss implementation (numpy or torch) against prefrl's reference.

- :func:`reference_value_and_grad` (from ``_values.py``): the reference values of a registered
  loss and, where it has one, the analytic gradient (:func:`prefrl.losses.value_and_grad`).
- :func:`assert_matches_reference`: run a user's function against the reference on inputs drawn
  by hypothesis (:func:`prefrl.testing.strategies.loss_inputs`, or their per-token form
  :func:`prefrl.testing.strategies.token_loss_inputs`); fail with the worst mismatch; return a
  :class:`KitReport` saying what was checked (backend, dtype, tolerances).
- :data:`TOLERANCES`: the tolerance each output dtype deserves (``rtol="auto"``).

The kit validates its own arguments before drawing anything (``_arguments.py``: tolerances,
``max_examples``, options against the loss's signature, a probe call of the reference with the
options); the comparison, the backends and the per-token reference are here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import Unsatisfiable

from .. import losses as _losses
from .._deprecation import warn_deprecated
from ._arguments import check_arguments, probe_inputs
from ._specs import SPECS
from ._values import reference_value_and_grad, token_reference
from .strategies import loss_inputs, token_input_names, token_loss_inputs

__all__ = ["TOLERANCES", "KitReport", "assert_matches_reference", "reference_value_and_grad"]

#: output dtype -> (rtol, atol) used by ``rtol="auto"`` / ``atol="auto"``, for values and
#: gradients. float64: the kit's historical defaults (formulas that differ only in rounding pass;
#: a formula off by :math:`10^{-5}` relative does not); float32: :math:`\approx 840\,
#: \epsilon_{32}`; bfloat16: :math:`\approx 6\,\epsilon_{bf16}` relative and :math:`0.05`
#: absolute (the gradients of losses with a cancellation, IPO's square, need it); float16 takes
#: the bfloat16 entry (a loose bound). For the low-precision dtypes the reference is computed on
#: the inputs rounded to that dtype, so that only the arithmetic is judged; pass
#: ``extreme=False`` for bfloat16 (it holds :math:`10^4` only to within 64). Measured on prefrl's
#: own torch twins cast to each dtype: see :doc:`/howto/validate_losses`.
TOLERANCES = {
    "float64": (1e-6, 1e-9),
    "float32": (1e-4, 1e-6),
    "bfloat16": (5e-2, 5e-2),
    "float16": (5e-2, 5e-2),
}


@dataclass(frozen=True)
class KitReport:
    """What :func:`assert_matches_reference` checked (a value object, not a result).

    Attributes
    ----------
    name : str
        The reference loss.
    backend : str
        ``"torch"`` or ``"numpy"``: how the inputs were passed to your function.
    backend_reason : str
        Why (``"auto"`` tries torch tensors first and says why it fell back to numpy).
    dtype : str
        The dtype your function returned (the lowest precision seen).
    rtol, atol : float
        The tolerances used (for the lowest-precision dtype seen).
    tolerance : str
        ``"auto (float32)"`` when chosen from :data:`TOLERANCES`, else ``"given"``.
    n_examples : int
        Drawn inputs compared (inputs the reference refuses are not counted).
    worst : float
        The largest :math:`|f - f^{ref}| / (\\text{atol} + \\text{rtol}|f^{ref}|)` seen (<= 1).
    check_grad : bool
        Whether gradients were compared (every differentiable input but ``constants``).
    constants : tuple of str
        Inputs whose gradients were not compared, as asked.
    token_level : bool
        Whether the per-token form was checked; ``reduction`` then says how.
    reduction : str or None
    options : dict
        The options the reference was called with.
    """

    name: str
    backend: str
    backend_reason: str
    dtype: str
    rtol: float
    atol: float
    tolerance: str
    n_examples: int
    worst: float
    check_grad: bool
    constants: tuple
    token_level: bool
    reduction: str | None
    options: dict

    def __str__(self) -> str:
        level = ""
        if self.token_level:
            level = ", token level" + (f" ({self.reduction})" if self.reduction else "")
        grad = " and gradients" if self.check_grad else ""
        if self.check_grad and self.constants:
            grad += f" (not of the constants {', '.join(self.constants)})"
        return (f"{self.name}: values{grad} match on {self.n_examples} inputs{level}; backend "
                f"{self.backend} ({self.backend_reason}); dtype {self.dtype}; rtol={self.rtol:g}, "
                f"atol={self.atol:g} ({self.tolerance}); worst |diff|/(atol + rtol|ref|) = "
                f"{self.worst:.3g}")


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def _dtype_name(out):
    if _is_torch(out):
        return str(out.dtype).replace("torch.", "")
    dt = getattr(out, "dtype", None)
    if dt is None or not np.issubdtype(np.dtype(dt), np.floating):
        return "float64"
    return np.dtype(dt).name


def _to_numpy(x):
    if _is_torch(x):
        x = x.detach().cpu()
        return x.double().numpy() if x.dtype.is_floating_point else x.numpy()
    return np.asarray(x, dtype=np.float64)


def _is_mask(nm):
    return nm == "mask" or nm.endswith("_mask")


def _call_torch(fn, inp, options, names, check_grad):
    """fn on float64 tensors (requires_grad on the differentiable ones when check_grad);
    returns (output, gradients or None, whether the output was connected to the inputs)."""
    import torch

    tensors = []
    for nm, a in zip(names, inp.arrays):
        t = torch.as_tensor(a)
        if check_grad and t.dtype.is_floating_point and not _is_mask(nm):
            t = t.clone().requires_grad_(True)
        tensors.append(t)
    kw = {k: torch.as_tensor(v) for k, v in inp.kwargs.items()}
    out = fn(*tensors, **kw, **options)
    if not check_grad or not isinstance(out, torch.Tensor):
        return out, None, True
    connected = out.requires_grad
    if connected:
        out.sum().backward()
    grads = tuple(None if not t.requires_grad else
                  (np.zeros(t.shape) if t.grad is None else t.grad.double().numpy())
                  for t in tensors)
    return out, grads, connected


def _choose_backend(fn, inp, options, names, backend, check_grad):
    """Resolve ``backend="auto"`` on the probe input: torch tensors first, when torch imports and
    ``fn`` returns a tensor from them; else numpy. Returns (backend, reason)."""
    if backend == "numpy":
        return "numpy", "asked"
    if backend == "torch":
        return "torch", "asked"
    try:
        import torch
    except ImportError:
        return "numpy", "auto: torch is not installed"
    try:
        # with requires_grad: a numpy function handed tensors fails here instead of wrapping its
        # numpy result back into a tensor (numpy's __array_wrap__)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _call_torch(fn, inp, options, names, True)[0]
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        if check_grad:
            raise ValueError(
                f"check_grad=True, but your function fails on torch tensors ({why}): its "
                "gradient cannot be compared; pass a torch function, or check_grad=False") from exc
        return "numpy", f"auto: it fails on torch tensors ({why})"
    if not isinstance(out, torch.Tensor):
        if check_grad:
            raise ValueError(
                "check_grad=True, but your function returns a "
                f"{type(out).__name__}, not a tensor, from torch tensors: it never saw a tensor "
                "and its gradient cannot be compared; pass a torch function, or check_grad=False")
        return "numpy", f"auto: it returns a {type(out).__name__} from torch tensors"
    return "torch", "auto: it takes torch tensors"


def _excess(got, want, rtol, atol):
    """(max over entries of |got - want| / (atol + rtol |want|), entry); inf for a non-finite
    entry of either that the other does not equal (NaN matches NaN, inf the same inf)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        if got.size == want.size == 1:
            got = got.reshape(want.shape)
        else:
            return np.inf, None
    nonfinite = ~np.isfinite(got) | ~np.isfinite(want)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    bad = nonfinite & ~same
    if bad.any():
        return np.inf, tuple(np.argwhere(bad)[0]) if got.ndim else ()
    if got.size == 0:
        return 0.0, None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.where(nonfinite, 0.0, np.abs(got - want))
        scale = atol + rtol * np.where(nonfinite, 0.0, np.abs(want))
        err = np.where(diff == 0, 0.0, np.where(scale > 0, diff / scale, np.inf))
    i = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
    return float(err[i]), i


def _round_to(inp, dtype):
    """The inputs rounded to ``dtype`` (the reference of a low-precision function is computed on
    what it can hold)."""
    def rnd(a):
        a = np.asarray(a)
        if not np.issubdtype(a.dtype, np.floating):
            return a
        if dtype == "bfloat16":
            import torch

            return torch.as_tensor(a).to(torch.bfloat16).double().numpy()
        return a.astype(dtype).astype(np.float64)

    return type(inp)(inp.name, tuple(rnd(a) for a in inp.arrays),
                     {k: rnd(v) for k, v in inp.kwargs.items()}, inp.reduction)


def _tolerances(rtol, atol, dtype):
    auto = TOLERANCES.get(dtype, TOLERANCES["float64"])
    r = auto[0] if isinstance(rtol, str) else float(rtol)
    a = auto[1] if isinstance(atol, str) else float(atol)
    how = (f"auto ({dtype})" if isinstance(rtol, str) or isinstance(atol, str) else "given")
    return r, a, how


def _precision_rank(dtype):
    return {"bfloat16": 0, "float16": 1, "float32": 2}.get(dtype, 3)


def assert_matches_reference(fn, name, *, max_examples=100, rtol="auto", atol="auto",
                             extreme=True, extra=(), check_grad=False, backend="auto",
                             derandomize=True, token_level=False, reduction=None, constants=(),
                             **options):
    r"""Run ``fn`` against prefrl's reference ``name`` on drawn inputs; fail on the worst mismatch.

    For each input drawn by :func:`prefrl.testing.strategies.loss_inputs` (or, with
    ``token_level=True``, :func:`prefrl.testing.strategies.token_loss_inputs`) the check is

    .. math::
        \max_i \frac{|f_i - f^{ref}_i|}{\text{atol} + \text{rtol}\,|f^{ref}_i|} \le 1

    over the output entries :math:`i`, and, when ``check_grad``, over the entries of the
    gradient of :math:`\sum_i f_i` with respect to **every** differentiable input (masks
    excepted), compared with the reference's analytic gradient
    (:func:`prefrl.losses.value_and_grad`). :math:`f` is ``fn(*arrays, **drawn_kwargs,
    **options)`` and :math:`f^{ref}` the reference of :mod:`prefrl.losses` with the same
    arguments. A NaN or an infinity in your output or gradient fails unless the reference has
    the same non-finite value there. On failure hypothesis shrinks the example, and the
    AssertionError states the discrepancy, the entry, both values, the backend, the dtype, the
    tolerances used and the offending inputs.

    **Token level** (``token_level=True``). A pairwise loss is called in its per-token form,
    ``fn(chosen_token_logps, rejected_token_logps, ref_chosen_token_logps,
    ref_rejected_token_logps, chosen_mask, rejected_mask, *, beta, ...)`` (a reference-free loss:
    no reference arrays), each ``(n, T)`` with boolean masks of ragged lengths, left, right and
    two-sided padding and (for ``reduction="sum"``) empty rows, and finite garbage under the
    masks' zeros. The reference is explicit: the loss of the sequence log-probabilities
    :func:`prefrl.losses.sequence_logps` ``(tokens, mask, reduction)``; the token counts of
    ``sigmoid_norm``, ``simpo`` and ``orpo`` are the masks' row sums. A policy-gradient loss
    (``ppo_clip_loss``, ``cispo_loss``, ``aggregate``, advantages) keeps its own signature (token
    log-probs, old log-probs, advantages per token or per sequence, mask) with padded masks and
    garbage under them, the aggregation ``mode`` an option.

    **Backends** (``backend="auto"``): your function is first called with torch tensors (float64)
    when torch imports, on a fixed probe input; if it returns a tensor, torch is checked,
    otherwise numpy arrays are passed. The report says which, and why. With ``check_grad=True``
    a function that fails on tensors or returns something else raises ValueError: a gradient is
    never silently left unchecked.

    **Tolerances**: ``rtol="auto"`` and ``atol="auto"`` (the defaults) take
    :data:`TOLERANCES` for the dtype your function returns (float64: ``1e-6``, ``1e-9``); for a
    lower precision the reference is computed on the inputs rounded to that dtype. The message
    and the report say which tolerances were used.

    Parameters
    ----------
    fn : callable
        Your implementation; it must return the unreduced per-example values (or the scalar, for
        ``aggregate`` and the surrogates with a ``mode``).
    name : str
        The reference function in :mod:`prefrl.losses` (any key of :data:`prefrl.testing.SPECS`).
    max_examples : int >= 1
        Number of drawn inputs.
    rtol, atol : float >= 0 or "auto"
        Tolerances of the comparison (finite).
    extreme : bool
        Draw margins of :math:`\pm 10^4` too (stability is part of correctness).
    extra : tuple of str
        Optional keyword inputs to draw (e.g. ``("chosen_lengths", "rejected_lengths")`` for the
        token-averaged IPO at sequence level).
    check_grad : bool
        Also compare autograd gradients of ``fn(...).sum()`` (torch only) with the reference's.
    backend : {"auto", "torch", "numpy"}
        How inputs are passed (None, of earlier releases, means "auto").
    derandomize : bool
        True (default): the same examples at every run (reproducible by design); False: a fresh
        random run. (The keyword ``seed`` of earlier releases is deprecated.)
    token_level : bool
        Check the per-token form (see above).
    reduction : {"sum", "mean", "sum-norm"}, optional
        With ``token_level``, how the reference reduces a pairwise loss's token log-probs
        (default ``"sum"``; ``"sum-norm"`` divides by the padded length).
    constants : tuple of str
        Inputs that your trainer treats as constants by design (e.g. ``("old_logp",)`` when the
        behaviour log-probs are detached): their gradients are not compared. Every other input's
        gradient is; the report lists the constants.
    **options
        Keyword options of the loss (``beta``, ``label_smoothing``, ``mode``, ...); they override
        the defaults that make the reference callable (``beta=0.1`` etc.). They are checked
        against the loss's signature, and by a probe call of the reference, before anything is
        drawn.

    Returns
    -------
    KitReport
        What was checked: backend, dtype, tolerances, number of inputs, the worst ratio.

    Raises
    ------
    AssertionError
        Your function differs from the reference.
    ValueError
        A bad argument, named: ``fn``, ``name``, ``max_examples``, ``rtol``, ``atol``,
        ``backend``, ``extra``, ``reduction``, ``token_level``, ``check_grad`` or an option.

    Examples
    --------
    >>> import numpy as np
    >>> def my_ipo(cw, cl, rw, rl, *, beta):
    ...     return ((cw - rw) - (cl - rl) - 1 / (2 * beta)) ** 2
    >>> report = assert_matches_reference(my_ipo, "ipo", beta=0.1, max_examples=20)
    >>> report.backend, report.dtype, report.rtol
    ('torch', 'float64', 1e-06)
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
    backend = "auto" if backend is None else backend
    reduction = check_arguments(fn, name, max_examples=max_examples, rtol=rtol, atol=atol,
                                extra=extra, check_grad=check_grad, backend=backend,
                                token_level=token_level, reduction=reduction, options=options)
    opts = {**SPECS[name]["defaults"], **options}
    names = token_input_names(name) if token_level else tuple(SPECS[name]["arrays"])
    if isinstance(constants, str) or any(c not in names for c in constants):
        raise ValueError(f"constants must name inputs of {name} among {names}, got "
                         f"{constants!r}")
    probe = probe_inputs(name, opts, extra=tuple(extra), reduction=reduction)
    chosen, why = _choose_backend(fn, probe, opts, names, backend, check_grad)
    has_grad = name in _losses.GRADIENTS
    grad_on = check_grad and has_grad
    state = {"worst": 0.0, "n": 0, "dtype": None, "refused": None}

    strategy = (token_loss_inputs(name, reduction=reduction, extreme=extreme) if token_level
                else loss_inputs(name, extreme=extreme, extra=tuple(extra)))
    where_ = ""
    if token_level:
        where_ = (f" (token level, reduction={reduction!r})"
                  if SPECS[name]["kind"] in ("pair", "pair2") else " (token level)")

    @settings(max_examples=max_examples, deadline=None, database=None,
              derandomize=bool(derandomize), suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(inp=strategy)
    def check(inp):
        try:
            want, want_g = token_reference(inp, opts) if token_level else \
                reference_value_and_grad(name, inp.arrays, inp.kwargs, opts)
        except ValueError as exc:
            state["refused"] = str(exc)
            reject()  # the reference refuses this input (e.g. an overflowing option)
        connected = True
        if chosen == "torch":
            out, grads, connected = _call_torch(fn, inp, opts, names, grad_on)
        else:
            out, grads = fn(*inp.arrays, **inp.kwargs, **opts), None
        dtype = _dtype_name(out)
        r_tol, a_tol, how = _tolerances(rtol, atol, dtype)
        if how.startswith("auto") and dtype != "float64":
            try:
                low = _round_to(inp, dtype)
                want, want_g = token_reference(low, opts) if token_level else \
                    reference_value_and_grad(name, low.arrays, low.kwargs, opts)
            except ValueError:
                pass  # the rounded input leaves the reference's domain: compare with the exact
        if state["dtype"] is None or _precision_rank(dtype) < _precision_rank(state["dtype"]):
            state["dtype"] = dtype
        got = _to_numpy(out)
        ratio, where = _excess(got, want, r_tol, a_tol)
        what = "values"
        if ratio <= 1 and grad_on and want_g is not None:
            if grads is None:
                raise AssertionError(f"{name}: check_grad=True but your function returned a "
                                     f"{type(out).__name__}, not a tensor{where_}")
            for nm, g, wg in zip(names, grads, want_g):
                if g is None or wg is None or _is_mask(nm) or nm in constants:
                    continue
                r, w = _excess(g, wg, r_tol, a_tol)
                if r > ratio:
                    ratio, where, what, got, want = r, w, f"d/d{nm}", g, wg
        state["worst"] = max(state["worst"], ratio)
        state["n"] += 1
        if ratio > 1:
            if where is None:
                detail = f"shape {np.shape(got)}, reference shape {np.shape(want)}"
            else:
                idx = [int(i) for i in where]
                detail = (f"entry {idx}: yours {float(np.asarray(got)[where])!r}, "
                          f"reference {float(np.asarray(want)[where])!r}")
            if what != "values" and not connected:
                detail += " (your output is not connected to the inputs by autograd)"
            raise AssertionError(
                f"{name}: your implementation differs from prefrl.losses.{name}{where_} "
                f"({what}, |diff| / (atol + rtol |ref|) = {ratio:.3g} > 1, rtol={r_tol:g}, "
                f"atol={a_tol:g} ({how}); backend {chosen}, your dtype {dtype}; worst ratio "
                f"seen in this run {state['worst']:.3g})\n"
                f"  {detail}\n  options: {opts}\n  inputs: {inp!r}"
            )

    try:
        check()
    except Unsatisfiable:
        raise ValueError(f"{name}: the reference refused every drawn input with options {opts} "
                         f"(last: {state['refused']})") from None
    dtype = state["dtype"] or "float64"
    r_tol, a_tol, how = _tolerances(rtol, atol, dtype)
    return KitReport(name=name, backend=chosen, backend_reason=why, dtype=dtype, rtol=r_tol,
                     atol=a_tol, tolerance=how, n_examples=state["n"], worst=state["worst"],
                     check_grad=grad_on, constants=tuple(constants),
                     token_level=bool(token_level),
                     reduction=reduction if token_level and SPECS[name]["kind"] in
                     ("pair", "pair2") else None, options=opts)
