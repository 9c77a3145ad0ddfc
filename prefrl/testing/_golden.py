r"""Golden test vectors: inputs and reference outputs of every loss, as JSON.

:func:`golden_cases` draws deterministic inputs for every registered loss (ties, a margin of
:math:`10^4`, masks with an empty row) and computes the reference values and gradients;
:func:`golden_vectors` writes them to a JSON file for implementations in other languages. The
vectors are deterministic by design (``seed=0``, the published file): the losses of prefrl 0.x
draw, in sorted order, from one stream; every loss registered later draws from its own stream,
seeded by ``(seed, crc32(name))``, so that adding a loss never changes the other cases.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np

from .._validation import as_rng, check_integer
from .._version import __version__
from ._specs import SPECS
from ._values import reference_value_and_grad

__all__ = ["golden_cases", "golden_vectors"]

#: The losses whose golden cases share one stream (drawn in sorted order): those of prefrl 0.x.
_SHARED_STREAM = frozenset({
    "aggregate", "aot", "aot_unpaired", "apo_down", "apo_zero", "bco_pair", "cdpo", "cispo_loss",
    "discopop", "dno", "dpo", "dpo_k", "dro", "exo", "exo_pair", "grpo_advantages", "hinge",
    "ipo", "kl_estimate", "kto", "nca_pair", "orpo", "plackett_luce_dpo", "pmpo",
    "ppo_clip_loss", "rebel", "reinforce_pp_advantages", "remax_advantages", "rloo_advantages",
    "robust", "robust_dpo", "sigmoid", "sigmoid_norm", "simpo", "sppo", "sppo_hard",
})


def _draw(name, rng):
    """Deterministic inputs (numpy Generator) covering ties and, for pairwise losses, a margin
    of 1e4."""
    spec = SPECS[name]
    kind = spec["kind"]
    n = 5
    if kind in ("pair", "pair2"):
        up = -1e-2 if kind == "pair2" else 0.0
        c = np.minimum(np.round(rng.uniform(-30, up, n), 3), up)
        r = np.minimum(np.round(rng.uniform(-30, up, n), 3), up)
        r[1] = c[1]  # a tie
        c[4], r[4] = up, -1e4  # an extreme margin
        arrays = [c, r]
        if kind == "pair":
            rc = np.round(rng.uniform(-30, 0, n), 3)
            rr = np.round(rng.uniform(-30, 0, n), 3)
            rr[1] = rc[1]
            arrays += [rc, rr]
        shape = (n,)
    elif kind == "single":
        arrays = [np.round(rng.uniform(-30, 0, n), 3) for _ in range(2)]
        if len(spec["arrays"]) == 3:
            arrays.append(np.round(rng.uniform(-5, 5, n), 3))
        shape = (n,)
    elif kind == "list":
        shape = (3, 4)
        arrays = [np.round(rng.uniform(-30, 0, shape), 3) for _ in range(2)]
    elif kind == "ratio":
        r = np.round(np.exp(rng.uniform(-2, 2, n)), 3)
        r[0] = 1.0  # the current policy
        arrays = [r, np.round(rng.uniform(-3, 3, n), 3)]
        shape = (n,)
    elif kind == "groups":
        R = np.round(rng.uniform(-5, 5, (3, 4)), 3)
        R[2] = 1.0  # a constant group
        arrays, shape = [R], R.shape
    elif kind == "seq_tokens":
        m = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
        arrays = [np.round(rng.uniform(-5, 5, 3), 3), np.round(rng.uniform(-5, 5, 3), 3), m]
        shape = (3,)
    else:
        m = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
        shape = m.shape
        if name == "kl_estimate":
            arrays = [np.round(rng.uniform(-10, 0, shape), 3) for _ in range(2)]
        elif name == "aggregate":
            arrays = [np.round(rng.uniform(-5, 5, shape), 3), m]
        elif name == "reinforce_pp_advantages":
            r = np.zeros(shape)
            r[[0, 1, 3], [2, 0, 3]] = np.round(rng.uniform(-1, 1, 3), 3)
            arrays = [r, m]
        else:
            lp = np.round(rng.uniform(-5, 0, shape), 3)
            old = np.round(lp + rng.uniform(-0.5, 0.5, shape), 3)
            A = np.round(rng.uniform(-2, 2, shape), 3)
            arrays = [lp, old, A, m]
    kwargs = {}
    for k, what in spec["extras"].items():
        if what == "lengths":
            kwargs[k] = rng.integers(1, 40, shape).astype(float)
        elif what == "probs":
            kwargs[k] = np.round(rng.uniform(0, 1, shape), 3)
        elif what in ("rewards", "values", "list_rewards"):
            kwargs[k] = np.round(rng.uniform(-5, 5, shape), 3)
        elif what == "bool":
            kwargs[k] = np.arange(shape[0]) % 2 == 0
    return arrays, kwargs


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


def golden_cases(seed=0):
    r"""The golden cases as a dict ``name -> case`` (see :func:`golden_vectors`).

    Parameters
    ----------
    seed : int
        Seed of the deterministic input generator (the golden vectors are deterministic by
        design: the default 0 is the published set).

    Examples
    --------
    >>> cases = golden_cases()
    >>> sorted(cases["ipo"])
    ['arguments', 'grads', 'keyword_inputs', 'options', 'values']
    """
    rng = as_rng(seed)
    out = {}
    for name in sorted(SPECS):
        if name in _SHARED_STREAM:
            arrays, kwargs = _draw(name, rng)
        else:
            arrays, kwargs = _draw(name, np.random.default_rng([seed, zlib.crc32(name.encode())]))
        opts = dict(SPECS[name]["defaults"])
        v, g = reference_value_and_grad(name, arrays, kwargs, opts)
        names = SPECS[name]["arrays"]
        out[name] = {
            "arguments": {n: _jsonable(a) for n, a in zip(names, arrays)},
            "keyword_inputs": {k: _jsonable(a) for k, a in kwargs.items()},
            "options": opts,
            "values": _jsonable(v),
            "grads": None if g is None else {n: _jsonable(x) for n, x in zip(names, g)},
        }
    return out


def golden_vectors(path, *, seed=0):
    r"""Write inputs and reference outputs (values and gradients) of every loss as JSON.

    The file holds ``{"prefrl_version", "seed", "convention", "cases": {name: case}}`` where
    each case has the positional ``arguments`` (name -> nested list, in signature order), the
    drawn ``keyword_inputs`` (token counts, labels, rewards), the ``options`` (``beta``, ...),
    the reference ``values`` :math:`\ell` and ``grads`` :math:`\partial \sum_i \ell_i / \partial x`
    for each positional argument (null for functions without a gradient, such as advantages).
    Implementations in other languages test against it entry by entry. Pairwise cases include a
    tie and a margin of :math:`10^4`; token cases a mask with an empty row.

    Parameters
    ----------
    path : str or path-like
        The JSON file to write.
    seed : int
        Seed of the deterministic input generator (deterministic by design: the default 0 is the
        published set; see the module docstring for how the cases are drawn).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import json, tempfile, os
    >>> p = golden_vectors(os.path.join(tempfile.mkdtemp(), "golden.json"))
    >>> data = json.loads(p.read_text())
    >>> "dpo" in data["cases"] and data["cases"]["ipo"]["options"]
    {'beta': 0.1}
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path {str(path)!r}: its folder does not exist")
    if path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder, must be a file to write")
    seed = check_integer(seed, "seed", minimum=0)
    doc = {
        "prefrl_version": __version__,
        "seed": seed,
        "convention": "values are per-example (unreduced) unless the loss aggregates; grads are "
                      "of the sum of the values with respect to each positional argument",
        "cases": golden_cases(seed),
    }
    path.write_text(json.dumps(doc, indent=1, allow_nan=False))
    return path
