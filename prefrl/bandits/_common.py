r"""Argument checks and context handling shared by the files of :mod:`prefrl.bandits`.

No paper: the plumbing every solver of the package uses.

* ``_check_policy_like``: a policy or distribution of shape (K,) or (S, K);
* ``_n_contexts``: the number of contexts S of arguments that may carry a leading context axis;
* ``_population_args``: ``(P, mu, pi_ref)`` validated and broadcast to a context axis;
* ``_check_ref_on``: :math:`\pi_{ref} > 0` wherever a log-ratio :math:`\log\pi/\pi_{ref}` is
  used;
* ``_squeeze``, ``_value``: drop the context axis again when none was given.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_preference_matrix, check_stochastic_matrix

__all__: list[str] = []


def _check_policy_like(p, name: str, K: int | None = None, like: str | None = None) -> np.ndarray:
    """A stochastic array of shape (K,) or (S, K) (with ``K`` actions on its last axis if given,
    ``K`` taken from the argument ``like``)."""
    p = check_stochastic_matrix(p, name)
    if p.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (K,) or (S, K), got {p.shape}")
    if K is not None and p.shape[-1] != K:
        source = f" (as {like} has)" if like else ""
        raise ValueError(f"{name} must have {K} actions on its last axis{source}, got shape "
                         f"{p.shape}")
    return p


def _n_contexts(**n_rows: int | None) -> tuple[int, bool]:
    """``(S, contextual)`` from each argument's number of contexts (None: no context axis).

    The arguments must agree; the error names them in the order given.
    """
    sizes = {s for s in n_rows.values() if s is not None}
    if len(sizes) > 1:
        names = list(n_rows)
        raise ValueError(
            f"{', '.join(names[:-1])} and {names[-1]} disagree on the number of contexts: "
            f"{sorted(sizes)}"
        )
    contextual = bool(sizes)
    return (sizes.pop() if sizes else 1), contextual


def _rows(a: np.ndarray) -> int | None:
    """The number of contexts of an array of shape (S, K), None for shape (K,)."""
    return a.shape[0] if a.ndim == 2 else None


def _population_args(P, mu, pi_ref):
    """Validate (P, mu, pi_ref) and return them with a context axis, plus whether one was given."""
    raw = P
    P = check_array(P, "P", ndim=(2, 3))
    K = P.shape[-1]
    # the checks see the input's own dtype, so that a float32 matrix gets float32's tolerance
    raw = raw if isinstance(raw, np.ndarray) or hasattr(raw, "dtype") else P
    if P.ndim == 3:
        Ps = np.stack([check_preference_matrix(raw[s], f"P[{s}]") for s in range(P.shape[0])])
    else:
        Ps = check_preference_matrix(raw)[None]
    mu = _check_policy_like(mu, "mu", K, "P")
    pi_ref = _check_policy_like(pi_ref, "pi_ref", K, "P")
    S, contextual = _n_contexts(
        P=Ps.shape[0] if P.ndim == 3 else None, mu=_rows(mu), pi_ref=_rows(pi_ref)
    )
    Ps = np.broadcast_to(Ps, (S, K, K))
    mu = np.broadcast_to(mu, (S, K))
    pi_ref = np.broadcast_to(pi_ref, (S, K))
    return Ps, mu, pi_ref, contextual


def _check_ref_on(pi_ref: np.ndarray, used: np.ndarray) -> None:
    """Raise if ``pi_ref`` is 0 on an action in ``used`` (its log-ratio would be undefined)."""
    bad = used & (pi_ref <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"pi_ref[{i}] = 0 but action {i} is compared: its log-ratio log pi/pi_ref is undefined"
        )


def _squeeze(x, contextual: bool):
    x = np.asarray(x)
    return x if contextual else x[0]


def _value(x, contextual: bool):
    x = np.asarray(x, dtype=float)
    return x if contextual else float(x[0])
