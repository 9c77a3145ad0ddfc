r"""hypothesis strategies for the inputs of prefrl's losses, degenerate cases included.

The strategies draw what breaks implementations: margins of :math:`\pm 10^4` (``extreme=True``),
ties (chosen = rejected, constant reward groups), unequal response lengths, masks with empty rows,
groups of size 1 and single-example batches. Everything is drawn with hypothesis (no
``np.random``), so failures shrink to a minimal example.

- :func:`loss_inputs` draws a whole call (:class:`LossInputs`) of any registered loss, following
  its declared kind (:data:`prefrl.testing.SPECS`); :func:`token_loss_inputs` draws the
  per-token form of a call (token log-probabilities and completion masks, as a trainer holds
  them);
- the building blocks: :func:`log_probs`, :func:`pair_logps`, :func:`masks`,
  :func:`padded_masks`, :func:`token_arrays`, :func:`group_rewards`;
- for bandit and preference tests: :func:`distributions` (probability vectors with zeros and
  ties) and :func:`preference_matrices` (:math:`P + P^\top = 1`, deterministic and tied entries).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .._validation import check_in_range, check_integer
from ._specs import SPECS


def _check_shape(shape, name: str, ndim: int | None = None) -> tuple:
    """A shape: a tuple of nonnegative integers (of length ``ndim`` when given)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of integers, got {type(shape).__name__}")
    shape = tuple(check_integer(d, f"{name}[{i}]", minimum=0) for i, d in enumerate(shape))
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name} must have {ndim} entries, got {shape}")
    return shape


def _finite_scalar(x, name: str) -> float:
    return check_in_range(x, name, -np.inf, np.inf, low_open=True, high_open=True)

__all__ = [
    "LossInputs",
    "distributions",
    "group_rewards",
    "log_probs",
    "loss_inputs",
    "masks",
    "padded_masks",
    "pair_logps",
    "preference_matrices",
    "token_arrays",
    "token_loss_inputs",
]


@dataclass(frozen=True)
class LossInputs:
    """One drawn call of a loss: ``reference(*arrays, **kwargs, **options)``.

    Attributes
    ----------
    name : str
        The loss's name in :mod:`prefrl.losses`.
    arrays : tuple of numpy arrays
        The positional array inputs, in the order of :mod:`prefrl.losses`'s signature.
    kwargs : dict
        Drawn keyword inputs (token counts, labels, rewards, win probabilities, rankings).
    reduction : str or None
        None for the sequence-level call of the loss; for a per-token call
        (:func:`token_loss_inputs`), the reduction of the token log-probabilities that the
        reference applies (:func:`prefrl.losses.sequence_logps`; ``"sum"`` for policy-gradient
        losses, whose reference takes the token arrays themselves).
    """

    name: str
    arrays: tuple
    kwargs: dict = field(default_factory=dict)
    reduction: str | None = None

    @property
    def token_level(self) -> bool:
        """Whether this is the per-token form of the call."""
        return self.reduction is not None

    def __repr__(self):  # shown by hypothesis and by assert_matches_reference on failure
        with np.printoptions(precision=17, threshold=64):
            arrs = ", ".join(repr(a) for a in self.arrays)
            kw = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        tail = "" if self.reduction is None else f", reduction={self.reduction!r}"
        return f"LossInputs({self.name!r}, arrays=({arrs}), kwargs={{{kw}}}{tail})"


def log_probs(*, extreme: bool = True, upper: float = 0.0):
    r"""Elements: sequence log-probabilities in :math:`[-10^4, \text{upper}]`.

    With ``extreme=True`` the draw mixes moderate values with the endpoints :math:`-10^4`,
    :math:`-5000` and ``upper``, so that margins of :math:`\pm 10^4` appear.

    Parameters
    ----------
    extreme : bool
    upper : float
        The largest value (0 for log-probabilities; use a negative value where the loss needs
        :math:`\log\pi < 0`).

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(log_probs(extreme=False))
    ... def check(x):
    ...     assert -30.0 <= x <= 0.0
    >>> check()
    """
    moderate = st.floats(-30.0, upper, allow_nan=False, allow_infinity=False)
    if not extreme:
        return moderate
    return st.one_of(moderate, st.sampled_from([upper, -1e4, -5000.0, upper - 1e-3]))


def pair_logps(n, *, extreme=True, upper=0.0, tie=None):
    r"""Four arrays of shape ``(n,)``: chosen, rejected, reference chosen, reference rejected.

    ``tie=True`` makes the rejected response a copy of the chosen one (zero margin); ``None``
    lets hypothesis decide.

    Parameters
    ----------
    n : int
        Number of pairs.
    extreme : bool
    upper : float
    tie : bool or None

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(pair_logps(3, tie=True))
    ... def check(a):
    ...     assert (a[0] == a[1]).all() and (a[2] == a[3]).all()
    >>> check()
    """
    n = check_integer(n, "n", minimum=1)
    el = log_probs(extreme=extreme, upper=upper)
    arr = hnp.arrays(np.float64, n, elements=el)

    @st.composite
    def draw(d):
        c, rc = d(arr), d(arr)
        is_tie = d(st.booleans()) if tie is None else tie
        if is_tie:
            return c, c.copy(), rc, rc.copy()
        return c, d(arr), rc, d(arr)

    return draw()


def masks(shape, *, min_tokens=1):
    r"""0/1 masks (booleans) of ``shape = (B, T)`` with at least ``min_tokens`` ones in all;
    rows may be empty and lengths differ.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(masks((3, 4), min_tokens=2))
    ... def check(m):
    ...     assert m.dtype == bool and m.sum() >= 2
    >>> check()
    """
    shape = _check_shape(shape, "shape", ndim=2)
    min_tokens = check_integer(min_tokens, "min_tokens", minimum=0)
    return hnp.arrays(bool, shape).filter(lambda m: m.sum() >= min_tokens)


def padded_masks(shape, *, min_tokens=1, min_per_row=0):
    r"""Completion masks as trainers build them: booleans of ``shape = (B, T)``, each row one
    contiguous run of tokens placed after left padding, before right padding, or after a prompt
    and before padding (both sides), with ragged lengths and, unless ``min_per_row > 0``, empty
    rows; at least ``min_tokens`` ones in all.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(padded_masks((3, 5), min_per_row=1))
    ... def check(m):
    ...     for row in m:
    ...         i = np.flatnonzero(row)
    ...         assert len(i) >= 1 and (np.diff(i) == 1).all()   # one contiguous run
    >>> check()
    """
    shape = _check_shape(shape, "shape", ndim=2)
    min_tokens = check_integer(min_tokens, "min_tokens", minimum=0)
    min_per_row = check_integer(min_per_row, "min_per_row", minimum=0)
    B, T = shape
    if not 0 <= min_per_row <= T:
        raise ValueError(f"min_per_row must be in [0, {T}], got {min_per_row}")

    @st.composite
    def draw(d):
        m = np.zeros((B, T), dtype=bool)
        for i in range(B):
            n = d(st.integers(min_per_row, T))
            side = d(st.sampled_from(["right", "left", "both"]))
            if side == "right":
                start = 0
            elif side == "left":
                start = T - n
            else:
                start = d(st.integers(0, T - n))
            m[i, start:start + n] = True
        return m

    return draw().filter(lambda m: m.sum() >= min_tokens)


def token_arrays(shape, *, low=-20.0, high=0.0):
    r"""Float64 arrays of ``shape`` (e.g. ``(B, T)`` token log-probs) with entries in
    :math:`[\text{low}, \text{high}]`.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(token_arrays((2, 3), low=-1.0, high=1.0))
    ... def check(x):
    ...     assert x.shape == (2, 3) and (abs(x) <= 1).all()
    >>> check()
    """
    shape = _check_shape(shape, "shape")
    low, high = _finite_scalar(low, "low"), _finite_scalar(high, "high")
    if low > high:
        raise ValueError(f"low must be <= high, got low = {low:g}, high = {high:g}")
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False))


def group_rewards(*, max_prompts=4, max_group=6):
    r"""Rewards of shape ``(P, G)``, including groups of size 1 and constant (tied) groups.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(group_rewards())
    ... def check(R):
    ...     assert R.ndim == 2 and R.shape[1] >= 1
    >>> check()
    """
    shape = st.tuples(st.integers(1, max_prompts), st.integers(1, max_group))
    el = st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from([0.0, 1.0]))
    return hnp.arrays(np.float64, shape, elements=el)


def _extra(d, what, shape):
    if what == "lengths":
        return d(hnp.arrays(np.float64, shape, elements=st.integers(1, 64).map(float)))
    if what == "probs":
        return d(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0)))
    if what in ("rewards", "values", "list_rewards"):
        return d(hnp.arrays(np.float64, shape, elements=st.floats(-5.0, 5.0)))
    if what == "bool":
        return d(hnp.arrays(bool, shape))
    if what == "ranking":
        n, K = shape
        return np.array([d(st.permutations(range(K))) for _ in range(n)], dtype=np.int64)
    raise ValueError(f"unknown extra kind {what!r}")


def loss_inputs(name, *, extreme=True, extra=(), max_n=8):
    r"""Inputs for the reference function ``name`` of :mod:`prefrl.losses`, as :class:`LossInputs`.

    Parameters
    ----------
    name : str
        Any registered loss or advantage function of :mod:`prefrl.losses` (``"dpo"``, ``"ipo"``,
        ``"aggregate"``, ``"grpo_advantages"``, ``"lpo_drift"``, ...; the keys of
        :data:`prefrl.testing.SPECS`). What is drawn follows the loss's declared ``kind``.
    extreme : bool
        Include margins of :math:`\pm 10^4` (pairwise, unpaired and listwise losses).
    extra : tuple of str
        Optional keyword inputs to draw too, e.g. ``("chosen_lengths", "rejected_lengths")`` for
        the token-averaged IPO.
    max_n : int
        Largest batch (pairwise losses: every pair is also included swapped, so up to
        ``2 * max_n`` pairs and each margin appears with both signs).

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(loss_inputs("sigmoid_norm"))
    ... def check(inp):
    ...     assert len(inp.arrays) == 4 and set(inp.kwargs) == {"chosen_lengths", "rejected_lengths"}
    >>> check()
    """
    if name not in SPECS:
        raise ValueError(f"name must be one of {sorted(SPECS)}, got {name!r}")
    spec = SPECS[name]
    extras = dict(spec["extras"])
    for e in extra:
        if e not in spec["optional"]:
            raise ValueError(f"{name} has no optional input {e!r}; it has "
                             f"{sorted(spec['optional'])}")
        extras[e] = spec["optional"][e]
    kind = spec["kind"]

    @st.composite
    def draw(d):
        n = d(st.integers(1, max_n))
        if kind in ("pair", "pair2"):
            up = -1e-2 if kind == "pair2" else 0.0
            c, r, rc, rr = d(pair_logps(n, extreme=extreme, upper=up))
            # every pair also appears swapped, so each margin is drawn with both signs
            arrays = [np.concatenate([c, r]), np.concatenate([r, c]),
                      np.concatenate([rc, rr]), np.concatenate([rr, rc])]
            arrays = arrays[:2] if kind == "pair2" else arrays
            shape = (2 * n,)
        elif kind == "single":
            el = log_probs(extreme=extreme)
            k = len(spec["arrays"])
            arrays = [d(hnp.arrays(np.float64, n, elements=el)) for _ in range(2)]
            if k == 3:
                arrays.append(d(hnp.arrays(np.float64, n, elements=st.floats(-5, 5))))
            shape = (n,)
        elif kind == "list":
            K = d(st.integers(2, 5))
            n = min(n, 4)
            el = log_probs(extreme=extreme)
            arrays = [d(hnp.arrays(np.float64, (n, K), elements=el)) for _ in range(2)]
            shape = (n, K)
        elif kind == "groups":
            arrays = [d(group_rewards())]
            shape = arrays[0].shape
        elif kind == "seq_tokens":
            B, T = min(n, 4), d(st.integers(1, 6))
            r = [d(hnp.arrays(np.float64, B, elements=st.floats(-5, 5))) for _ in range(2)]
            arrays = [*r, d(masks((B, T)))]
            shape = (B,)
        elif kind == "ratio":
            # log-ratios spanning e^-30 .. e^30 (extreme) and the clip boundaries 0.8, 1.2 and 1
            lim = 30.0 if extreme else 5.0
            log_r = st.one_of(st.floats(-lim, lim),
                              st.sampled_from([0.0, np.log(0.8), np.log(1.2)]))
            ratio = np.exp(d(hnp.arrays(np.float64, n, elements=log_r)))
            adv = st.one_of(st.floats(-5.0, 5.0), st.just(0.0))
            arrays = [ratio, d(hnp.arrays(np.float64, n, elements=adv))]
            shape = (n,)
        else:  # tokens
            B, T = min(n, 4), d(st.integers(1, 6))
            m = d(masks((B, T), min_tokens=2 if name == "reinforce_pp_advantages" else 1))
            if name == "kl_estimate":
                lp, other = d(token_arrays((B, T))), d(token_arrays((B, T)))
                # near ties too: the estimators agree to second order at small log-ratios
                small = d(hnp.arrays(np.float64, (B, T), elements=st.one_of(
                    st.floats(-0.1, 0.1), st.sampled_from([0.0, 1e-3, -2e-2]))))
                near = d(hnp.arrays(bool, (B, T)))
                arrays = [lp, np.where(near, lp + small, other)]
            elif name == "aggregate":
                lim = 1e4 if extreme else 10.0
                arrays = [d(token_arrays((B, T), low=-lim, high=lim)), m]
            elif name == "reinforce_pp_advantages":
                arrays = [d(token_arrays((B, T), low=-3, high=3)), m]
            else:
                lp = d(token_arrays((B, T)))
                # extreme: log-ratios of +-25 too, where trainers clamp (verl at +-20)
                el = st.floats(-2.0, 2.0)
                if extreme:
                    el = st.one_of(el, st.sampled_from([-25.0, 25.0]))
                delta = d(hnp.arrays(np.float64, (B, T), elements=el))
                A = d(hnp.arrays(np.float64, (B, T),
                                 elements=st.one_of(st.floats(-3, 3), st.just(0.0))))
                arrays = [lp, lp + delta, A, m]
            shape = (B, T)
        kwargs = {k: _extra(d, what, shape) for k, what in extras.items()}
        return LossInputs(name, tuple(arrays), kwargs)

    return draw()


#: the keyword inputs that token-level draws derive from the masks (the token counts)
LENGTH_INPUTS = ("chosen_lengths", "rejected_lengths")
#: the reductions of :func:`prefrl.losses.sequence_logps` (kept here to avoid an import cycle)
_REDUCTIONS = ("sum", "mean", "sum-norm")
#: the kinds that have a per-token form
TOKEN_KINDS = ("pair", "pair2", "tokens", "seq_tokens")


def token_input_names(name):
    """The positional inputs of the per-token call of ``name``, in order (masks last for pairs).

    Examples
    --------
    >>> token_input_names("dpo")[:2], token_input_names("dpo")[4:]
    (('chosen_token_logps', 'rejected_token_logps'), ('chosen_mask', 'rejected_mask'))
    >>> token_input_names("ppo_clip_loss")
    ('logp', 'old_logp', 'advantages', 'mask')
    """
    spec = SPECS[name]
    if spec["kind"] == "pair":
        return ("chosen_token_logps", "rejected_token_logps", "ref_chosen_token_logps",
                "ref_rejected_token_logps", "chosen_mask", "rejected_mask")
    if spec["kind"] == "pair2":
        return ("chosen_token_logps", "rejected_token_logps", "chosen_mask", "rejected_mask")
    return tuple(spec["arrays"])


def token_loss_inputs(name, *, reduction="sum", extreme=True, max_n=4, max_tokens=6):
    r"""The per-token form of a call of ``name``, as :class:`LossInputs` (``reduction`` set).

    For a pairwise loss (kind ``pair``) the arrays are ``(chosen_token_logps,
    rejected_token_logps, ref_chosen_token_logps, ref_rejected_token_logps, chosen_mask,
    rejected_mask)``, each ``(n, T)`` (a reference-free loss, kind ``pair2``, has no reference
    arrays); the masks come from :func:`padded_masks` (ragged lengths, left, right and two-sided
    padding, and empty rows unless the reduction or the loss needs a token in every row), and the
    positions under the masks' zeros hold finite garbage, as a padded batch does. The reference
    reduces each token array with :func:`prefrl.losses.sequence_logps` (``reduction``); the token
    counts of the length-normalised losses (``sigmoid_norm``, ``simpo``, ``orpo``) are the masks'
    row sums. Every pair also appears swapped, and ties are drawn.

    For a policy-gradient loss (kinds ``tokens``, ``seq_tokens``) the arrays are those of the
    loss itself (token log-probs, old log-probs, advantages per token or per sequence, mask) with
    padded masks and garbage under them.

    Parameters
    ----------
    name : str
        A registered loss of kind ``pair``, ``pair2``, ``tokens`` or ``seq_tokens``.
    reduction : {"sum", "mean", "sum-norm"}
        How the reference reduces token log-probs (pairwise losses; ``"sum-norm"`` divides by the
        padded length ``T``). Policy-gradient losses take ``"sum"`` (their reference reads the
        token arrays themselves).
    extreme : bool
        Include token log-probs of :math:`-2000` (sequence margins of order :math:`10^4`).
    max_n, max_tokens : int
        Largest number of sequences (pairs: before swapping) and of tokens per row.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(token_loss_inputs("dpo", reduction="mean"))
    ... def check(inp):
    ...     *tokens, mc, mr = inp.arrays
    ...     assert len(tokens) == 4 and mc.sum(1).min() >= 1 and inp.reduction == "mean"
    >>> check()
    """
    if name not in SPECS:
        raise ValueError(f"name must be one of {sorted(SPECS)}, got {name!r}")
    spec = SPECS[name]
    kind = spec["kind"]
    if kind not in TOKEN_KINDS:
        raise ValueError(f"{name} (kind {kind!r}) has no per-token form; token-level inputs "
                         f"exist for the kinds {TOKEN_KINDS}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if kind not in ("pair", "pair2") and reduction != "sum":
        raise ValueError(f"reduction applies to pairwise losses; {name} reads the token arrays "
                         f"themselves (reduction must be 'sum', got {reduction!r})")
    extras = {k: v for k, v in spec["extras"].items() if k not in LENGTH_INPUTS}
    needs_tokens = (reduction == "mean" or kind == "pair2"
                    or any(k in LENGTH_INPUTS for k in spec["extras"]))
    garbage = st.one_of(st.floats(-50.0, 5.0), st.sampled_from([0.0, -1e4]))

    def under(d, x, m):
        return np.where(m, x, d(hnp.arrays(np.float64, x.shape, elements=garbage)))

    @st.composite
    def draw(d):
        n, T = d(st.integers(1, max_n)), d(st.integers(1, max_tokens))
        if kind in ("pair", "pair2"):
            up = -1e-2 if kind == "pair2" else 0.0
            moderate = st.floats(-30.0, up, allow_nan=False)
            el = st.one_of(moderate, st.sampled_from([up, -2000.0])) if extreme else moderate
            tok = hnp.arrays(np.float64, (n, T), elements=el)
            pm = padded_masks((n, T), min_tokens=0, min_per_row=1 if needs_tokens else 0)
            mc, mr = d(pm), d(pm)
            c, r = d(tok), d(tok)
            if d(st.booleans()):  # a tie: the same response twice
                r, mr = c.copy(), mc.copy()
            arrays = [c, r]
            if kind == "pair":
                rc, rr = d(tok), d(tok)
                arrays += [rc, rr]
            masks_ = [mc, mr] if kind == "pair2" else [mc, mr, mc, mr]
            arrays = [under(d, a, m) for a, m in zip(arrays, masks_)]
            # every pair also appears swapped, so each margin is drawn with both signs
            sw = [1, 0, 3, 2] if kind == "pair" else [1, 0]
            arrays = [np.concatenate([a, arrays[j]]) for a, j in zip(arrays, sw)]
            cm, rm = np.concatenate([mc, mr]), np.concatenate([mr, mc])
            arrays += [cm, rm]
            shape = (2 * n,)
        elif kind == "seq_tokens":
            B = n
            r = [d(hnp.arrays(np.float64, B, elements=st.floats(-5, 5))) for _ in range(2)]
            arrays = [*r, d(padded_masks((B, T), min_tokens=0))]
            shape = (B,)
        else:
            B = n
            m = d(padded_masks((B, T), min_tokens=2 if name == "reinforce_pp_advantages" else 1))
            if name == "kl_estimate":
                inp = d(loss_inputs(name, extreme=extreme))  # no mask: the sequence-level draw
                return LossInputs(name, inp.arrays, inp.kwargs, "sum")
            if name == "aggregate":
                lim = 1e4 if extreme else 10.0
                arrays = [under(d, d(token_arrays((B, T), low=-lim, high=lim)), m), m]
            elif name == "reinforce_pp_advantages":
                arrays = [under(d, d(token_arrays((B, T), low=-3, high=3)), m), m]
            else:
                lp = under(d, d(token_arrays((B, T))), m)
                delta = d(token_arrays((B, T), low=-2.0, high=2.0))
                old = np.where(m, lp + delta, under(d, d(token_arrays((B, T))), m))
                if d(st.booleans()):
                    A = d(hnp.arrays(np.float64, B, elements=st.one_of(st.floats(-3, 3),
                                                                        st.just(0.0))))
                else:
                    A = under(d, d(hnp.arrays(np.float64, (B, T), elements=st.one_of(
                        st.floats(-3, 3), st.just(0.0)))), m)
                arrays = [lp, old, A, m]
            shape = (B, T)
        kwargs = {k: _extra(d, what, shape) for k, what in extras.items()}
        return LossInputs(name, tuple(arrays), kwargs, reduction)

    return draw()


def distributions(k: int, *, zeros: bool = True, min_mass: float = 0.0):
    r"""Probability vectors of length ``k``, with exact zeros (``zeros=True``) and ties.

    Entries are drawn in :math:`[0, 1]` (or, with ``min_mass > 0``, either exactly 0 or in
    :math:`[m, 1]`, so that supports matter but no mass is vanishingly small) and normalised; an
    all-zero draw becomes uniform. With ``zeros=False`` every entry is at least
    0.05 before normalisation: the vector has full support.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(distributions(4))
    ... def check(p):
    ...     assert p.shape == (4,) and abs(p.sum() - 1) < 1e-12 and p.min() >= 0
    >>> check()
    """
    k = check_integer(k, "k", minimum=1)
    min_mass = check_in_range(min_mass, "min_mass", 0.0, 1.0)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if min_mass > 0:
        elements = st.one_of(st.just(0.0), st.floats(min_mass, 1.0))
    else:
        elements = st.floats(0.0, 1.0)

    def normalise(w):
        if not zeros:
            w = w + 0.05
        if w.sum() <= 1e-3:
            w = np.ones(k)
        return w / w.sum()

    return hnp.arrays(np.float64, k, elements=elements).map(normalise)


def preference_matrices(k: int, *, margin: float = 0.0):
    r"""Preference matrices ``(k, k)``: ``P + P.T = 1``, diagonal 1/2.

    The upper triangle is drawn in :math:`[m, 1 - m]` (``margin``); with ``margin = 0`` the
    degenerate values 0 (deterministic preferences) and 1/2 (ties) and 1 are drawn on purpose.

    Examples
    --------
    >>> from hypothesis import given
    >>> from prefrl._validation import check_preference_matrix
    >>> @given(preference_matrices(3))
    ... def check(P):
    ...     check_preference_matrix(P)
    >>> check()
    """
    k = check_integer(k, "k", minimum=1)
    margin = check_in_range(margin, "margin", 0.0, 0.5)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0.0 <= margin <= 0.5:
        raise ValueError(f"margin must be in [0, 0.5], got {margin}")
    elements = st.floats(margin, 1.0 - margin)
    if margin == 0.0:
        elements = st.one_of(elements, st.sampled_from([0.0, 0.5, 1.0]))

    def assemble(vals):
        P = np.triu(vals, 1)
        P = P + np.tril(1.0 - P.T, -1)
        np.fill_diagonal(P, 0.5)
        return P

    return hnp.arrays(np.float64, (k, k), elements=elements).map(assemble)
