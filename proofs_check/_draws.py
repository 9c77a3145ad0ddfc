"""Random instances shared by the theorem checks: small MDPs with the degenerate cases on purpose."""

from __future__ import annotations

import numpy as np


def degenerate_transitions(rng: np.random.Generator, S: int, A: int) -> np.ndarray:
    """Transitions ``(S, A, S)`` with many zero probabilities and, in a quarter of the states,
    an absorbing self-loop (every action stays)."""
    W = rng.random((S, A, S)) * (rng.random((S, A, S)) < rng.choice([0.3, 1.0]))
    empty = W.sum(axis=2) == 0
    W[empty, rng.integers(S)] = 1.0
    for s in range(S):
        if rng.random() < 0.25:
            W[s] = 0.0
            W[s, :, s] = 1.0
    return W / W.sum(axis=2, keepdims=True)


def tied_or_normal_rewards(rng: np.random.Generator, shape) -> np.ndarray:
    """Half the time integers in {-1, 0, 1} (ties between actions), else standard normal."""
    if rng.random() < 0.5:
        return rng.integers(-1, 2, size=shape).astype(float)
    return rng.normal(size=shape)
