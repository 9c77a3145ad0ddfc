r"""Check that a registered loss has every part: :func:`check_loss`.

A loss is declared once (:func:`prefrl.losses.register_loss`). This check draws inputs from its
spec and verifies, on each draw, every part the declaration promises: the numpy value is finite,
the analytic gradient has the inputs' shapes and lies between the one-sided finite differences,
and the torch twin of the same name (:mod:`prefrl.torch.losses`) gives the same values and, by
autograd, the same gradient.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, reject, settings

from .. import losses as _losses
from .._validation import check_integer
from .strategies import loss_inputs

__all__ = ["check_loss"]

_H = 1e-6  # finite-difference step


def _total(fn, arrays):
    return float(np.sum(np.asarray(fn(*arrays), dtype=np.float64)))


def _check_fd(name, fn, arrays, which, grads):
    """The analytic gradient lies between the forward and the backward difference, entry by entry.

    At a smooth point both differences agree with the derivative to O(h); at a kink (a hinge, a
    clip, a tie in a sort) the gradient prefrl returns is a one-sided value, between them.
    """
    base = _total(fn, arrays)
    scale = float(np.sum(np.abs(np.asarray(fn(*arrays), dtype=np.float64))))
    noise = 40 * np.finfo(float).eps * max(scale, abs(base)) / _H
    for j in which:
        g = np.asarray(grads[j], dtype=np.float64)
        for i in np.ndindex(arrays[j].shape):
            up = [a.copy() for a in arrays]
            dn = [a.copy() for a in arrays]
            up[j][i] += _H
            dn[j][i] -= _H
            try:
                fwd = (_total(fn, up) - base) / _H
                bwd = (base - _total(fn, dn)) / _H
            except ValueError:  # a step leaves the loss's domain (e.g. ORPO's log-prob < 0)
                continue
            tol = 1e-5 * abs(g[i]) + 1e-6 + noise
            if not min(fwd, bwd) - tol <= g[i] <= max(fwd, bwd) + tol:
                raise AssertionError(
                    f"{name}: the analytic gradient d/d{_losses.LOSSES[name].arrays[j]}{list(i)} "
                    f"= {g[i]!r} is not between the finite differences {bwd!r} (backward) and "
                    f"{fwd!r} (forward)")


def _check_torch(name, spec, inp, options, want, want_g):
    import torch

    from ..torch import losses as tl

    twin = getattr(tl, name, None)
    if twin is None:
        raise AssertionError(f"{name}: no torch twin prefrl.torch.losses.{name}")
    ts = []
    for nm, a in zip(spec.arrays, inp.arrays):
        t = torch.as_tensor(a)
        if want_g is not None and t.dtype.is_floating_point and nm != "mask":
            t = t.clone().requires_grad_(True)
        ts.append(t)
    kw = {k: torch.as_tensor(v) for k, v in inp.kwargs.items()}
    out = twin(*ts, **kw, **options)
    np.testing.assert_allclose(out.detach().double().numpy(), want, rtol=1e-6, atol=1e-12,
                               err_msg=f"{name}: the torch twin's values")
    if want_g is None:
        return
    out.sum().backward()
    for nm, t, g in zip(spec.arrays, ts, want_g):
        if nm == "mask" or not t.requires_grad:
            continue
        got = np.zeros(t.shape) if t.grad is None else t.grad.double().numpy()
        np.testing.assert_allclose(got, g, rtol=1e-6, atol=1e-12,
                                   err_msg=f"{name}: the torch twin's autograd d/d{nm}")


def check_loss(name: str, *, max_examples: int = 10, torch: bool | None = None,
               derandomize: bool = True) -> None:
    r"""Check every part of the registered loss ``name``; raise AssertionError naming a missing one.

    On ``max_examples`` inputs drawn from the loss's spec (moderate values, the optional inputs
    included) it checks that

    - the numpy reference accepts the inputs (or refuses them with a ValueError) and returns
      finite values;
    - unless the loss is an advantage estimator (declared with ``gradient=None``),
      :func:`prefrl.losses.value_and_grad` returns the same values and one gradient per array of
      that array's shape, and each entry :math:`g_i` of the gradient of :math:`F = \sum \ell`
      satisfies

      .. math::
          \min(D^+_i, D^-_i) - \text{tol} \le g_i \le \max(D^+_i, D^-_i) + \text{tol},
          \qquad D^\pm_i = \pm\frac{F(x \pm h e_i) - F(x)}{h}

      (equality with the derivative at a smooth point; a one-sided value at a kink), except for
      the arrays the spec declares ``surrogate`` (stop-gradients by definition);
    - the torch twin ``prefrl.torch.losses.<name>`` exists and equals the reference (values,
      rtol :math:`10^{-6}`) and its autograd gradient equals the analytic one.

    Parameters
    ----------
    name : str
        A key of :data:`prefrl.losses.LOSSES`.
    max_examples : int
        Number of drawn inputs.
    torch : bool or None
        Check the torch twin: True (required), False (skip), None (when torch is installed).
    derandomize : bool
        Draw the same examples at every run (reproducible by design); False for a random run.

    Examples
    --------
    >>> check_loss("ipo", max_examples=3, torch=False)
    """
    if not isinstance(name, str) or name not in _losses.LOSSES:
        raise ValueError(f"name must be a registered loss ({', '.join(sorted(_losses.LOSSES))}); "
                         f"got {name!r}")
    spec = _losses.LOSSES[name]
    max_examples = check_integer(max_examples, "max_examples", minimum=1)
    if torch is not None and not isinstance(torch, bool):
        raise TypeError(f"torch must be True, False or None, got {type(torch).__name__}")
    if torch is None:
        try:
            import torch as _torch  # noqa: F401
            torch = True
        except ImportError:
            torch = False
    options = dict(spec.defaults)
    fd_arrays = [j for j, nm in enumerate(spec.arrays) if nm != "mask" and nm not in spec.surrogate]

    @settings(max_examples=max_examples, deadline=None, database=None,
              derandomize=bool(derandomize), suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(inp=loss_inputs(name, extreme=False, extra=tuple(spec.optional)))
    def check(inp):
        arrays = [np.array(a) for a in inp.arrays]

        def fn(*xs):
            return spec.function(*xs, **inp.kwargs, **options)

        try:
            values = np.asarray(fn(*arrays))
        except ValueError:
            reject()
        assert np.all(np.isfinite(values)), f"{name}: non-finite values on {inp!r}"
        want_g = None
        if spec.gradient is not None:
            v, want_g = _losses.value_and_grad(name, *arrays, **inp.kwargs, **options)
            np.testing.assert_allclose(np.asarray(v), values, rtol=1e-12, atol=0,
                                       err_msg=f"{name}: value_and_grad's values")
            assert len(want_g) == len(arrays), f"{name}: one gradient per array"
            for nm, a, g in zip(spec.arrays, arrays, want_g):
                assert np.shape(g) == a.shape, f"{name}: d/d{nm} has shape {np.shape(g)}"
            which = [j for j in fd_arrays if np.issubdtype(arrays[j].dtype, np.floating)]
            _check_fd(name, fn, arrays, which, want_g)
        if torch:
            _check_torch(name, spec, inp, options, values, want_g)

    check()
