r"""Helpers shared by the files of :mod:`prefrl.shaping` (no paper of their own).

- :func:`_as_sas`: a reward as an :math:`(S, A, S)` array (an :math:`(S, A)` reward
  :math:`r(s, a)` is read as :math:`R(s, a, s') = r(s, a)` for every :math:`s'`);
- :func:`_terminal_mask`, :func:`_terminal_for`: the terminal states :math:`G` as a boolean mask
  (the second also checks that each is absorbing, as the terminal convention of the package
  requires);
- :func:`_absorbing`: the states every action keeps in place;
- :func:`_check_gamma`, :func:`_check_potentials`: argument checks naming the argument.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_in_range
from ..mdp import TabularMDP

__all__: list[str] = []


def _as_sas(rewards, name: str = "rewards") -> np.ndarray:
    """Rewards as an (S, A, S) array: an (S, A) reward is repeated over the next state."""
    R = check_array(rewards, name, ndim=(2, 3))
    if R.ndim == 2:
        S = R.shape[0]
        return np.repeat(R[:, :, None], S, axis=2)
    if R.shape[2] != R.shape[0]:
        raise ValueError(f"{name} must have shape (S, A) or (S, A, S), got {R.shape}")
    return R


def _terminal_mask(terminal, S: int) -> np.ndarray:
    """A boolean (S,) mask from None, a boolean mask or a sequence of state indices."""
    if terminal is None:
        return np.zeros(S, dtype=bool)
    arr = np.asarray(terminal)
    if arr.dtype == bool:
        if arr.shape != (S,):
            raise ValueError(f"terminal must be a boolean mask of shape ({S},), got {arr.shape}")
        return arr.copy()
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        return np.zeros(S, dtype=bool)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("terminal must be a boolean mask or a 1-D sequence of state indices")
    bad = (arr < 0) | (arr >= S)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"terminal[{i}] = {arr[i]}, must be a state index in [0, {S})")
    mask = np.zeros(S, dtype=bool)
    mask[arr] = True
    return mask


def _absorbing(mdp: TabularMDP) -> np.ndarray:
    """States that every action keeps in place with probability 1 (up to 1e-12)."""
    P = mdp.dense_transitions()
    S = mdp.n_states
    return (P[np.arange(S), :, np.arange(S)] >= 1.0 - 1e-12).all(axis=1)


def _terminal_for(mdp: TabularMDP, terminal) -> np.ndarray:
    """The terminal mask of ``mdp``, each terminal state checked to be absorbing."""
    term = _terminal_mask(terminal, mdp.n_states)
    if term.any():
        leaving = ~_absorbing(mdp) & term
        if leaving.any():
            bad = int(np.argmax(leaving))
            raise ValueError(f"terminal state {bad} is not absorbing (P[{bad}, a, {bad}] < 1)")
    return term


def _check_gamma(gamma, *, allow_one: bool = True) -> float:
    return check_in_range(gamma, "gamma", 0.0, 1.0, high_open=not allow_one)


def _check_potentials(potentials, S: int, name: str = "potentials") -> np.ndarray:
    """An (L, S) array of potentials, one row per time step."""
    Phi = check_array(potentials, name, ndim=2)
    if Phi.shape[1] != S:
        raise ValueError(
            f"{name} must have shape (L, {S}) (one row per time step), got {Phi.shape}")
    return Phi
