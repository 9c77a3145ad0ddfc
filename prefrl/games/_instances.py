r"""Random preference games and self-play instances, degenerate cases included.

The instances on which ``prefrl check`` verifies the theorems of :mod:`prefrl.games` (the checks
in ``prefrl.proofs_check.games``) and on which the figure ``dno_improvement`` measures the worst
case; written once here so that both draw the same instances.

- :func:`preference_matrix_from_upper`: a valid preference matrix from its strict upper triangle;
- :func:`random_preference_game`: a preference matrix over 1-7 responses, generic, a tournament,
  tie-rich or Bradley-Terry (Bradley and Terry 1952);
- :func:`random_learner_instance`: a game with a step size, an initial policy and a horizon.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, check_array

__all__ = ["preference_matrix_from_upper", "random_learner_instance", "random_preference_game"]


def preference_matrix_from_upper(upper) -> np.ndarray:
    r"""The preference matrix with strict upper triangle ``upper``: :math:`P_{ji} = 1 - P_{ij}`, diagonal 1/2.

    Parameters
    ----------
    upper : array, shape (K, K)
        Only the entries above the diagonal are read; they must lie in [0, 1].

    Returns
    -------
    array, shape (K, K)

    Examples
    --------
    >>> preference_matrix_from_upper([[9.0, 0.7], [9.0, 9.0]])
    array([[0.5, 0.7],
           [0.3, 0.5]])
    """
    U = np.triu(check_array(upper, "upper", ndim=2), 1)
    if U.shape[0] != U.shape[1]:
        raise ValueError(f"upper must be square, got shape {U.shape}")
    if np.any((U < 0) | (U > 1)):
        raise ValueError("upper must have its entries above the diagonal in [0, 1]")
    P = U + np.tril(1.0 - U.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


def random_preference_game(rng) -> np.ndarray:
    r"""A random preference matrix over 1 to 7 responses, often degenerate.

    One of four kinds, with equal probability: generic (upper triangle uniform on [0, 1]), a
    deterministic tournament (entries 0 or 1), tie-rich (entries in {0, 1/2, 1}), or
    Bradley-Terry :math:`\sigma(r_i - r_j)` with integer rewards in {0, 1, 2} and temperature
    0 or 1 (:func:`prefrl.preferences.bradley_terry`; ties and clones are frequent).

    Parameters
    ----------
    rng : numpy Generator or int seed
        Required.

    Returns
    -------
    array, shape (K, K)

    Examples
    --------
    >>> P = random_preference_game(0)
    >>> bool(np.allclose(P + P.T, 1.0)), 1 <= P.shape[0] <= 7
    (True, True)
    """
    rng = as_rng(rng)
    K = int(rng.integers(1, 8))
    kind = rng.integers(4)
    if kind == 0:
        U = rng.random((K, K))
    elif kind == 1:
        U = (rng.random((K, K)) < 0.5).astype(float)
    elif kind == 2:
        U = rng.choice([0.0, 0.5, 1.0], size=(K, K))
    else:
        from ..preferences import bradley_terry  # here: prefrl.preferences imports scipy.stats

        return bradley_terry(rng.integers(0, 3, size=K).astype(float), rng.choice([0.0, 1.0]))
    return preference_matrix_from_upper(U)


def random_learner_instance(rng) -> dict:
    r"""A random self-play instance: a game, a step size, an initial policy and a horizon.

    The game is :func:`random_preference_game`; the initial policy is uniform (probability 0.3)
    or Dirichlet(1, ..., 1); the step size ``eta`` is log-uniform on :math:`[10^{-1.5}, 10]`
    (used as the step of :func:`~prefrl.games.spo` and as the KL weight ``beta`` of
    :func:`~prefrl.games.dno`); the horizon ``T`` is uniform on 1..199.

    Parameters
    ----------
    rng : numpy Generator or int seed
        Required.

    Returns
    -------
    dict
        ``{"P": (K, K) array, "eta": float, "init": (K,) array, "T": int}``.

    Examples
    --------
    >>> inst = random_learner_instance(0)
    >>> sorted(inst), inst["init"].shape == (inst["P"].shape[0],)
    (['P', 'T', 'eta', 'init'], True)
    """
    rng = as_rng(rng)
    P = random_preference_game(rng)
    K = P.shape[0]
    init = np.full(K, 1.0 / K) if rng.random() < 0.3 else rng.dirichlet(np.ones(K))
    return {"P": P, "eta": float(10 ** rng.uniform(-1.5, 1.0)), "init": init,
            "T": int(rng.integers(1, 200))}
