"""regularized_nash at small beta: the requested residual, or a result that says it missed it.

The KL-regularised equilibrium is solved by a homotopy in beta with damped Newton steps (the
extragradient method where Newton stalls). These tests pin what a user can rely on: residual
1e-12 down to beta = 1e-4, the float64 rounding floor below, a ValueError below 1e-10, and
converged=False with a warning when the iteration cap is hit.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.games import regularized_nash
from prefrl.policies import gibbs
from prefrl.preferences import rock_paper_scissors
from prefrl.testing.strategies import distributions, preference_matrices


def _residual(P, pi, mu, beta):
    return float(np.abs(pi - gibbs(mu, P @ pi, beta)).sum())


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12).flatmap(lambda k: st.tuples(
           preference_matrices(k), distributions(k, zeros=False, min_mass=1e-3))),
       st.floats(1e-4, 1.0))
def test_residual_1e_12_down_to_beta_1e_4(game, beta):
    P, mu = game
    res = regularized_nash(P, mu, beta)
    floor = 8 * np.finfo(float).eps * (1 + np.max(np.abs(P - 0.5)) / beta)  # 2e-12 at 1e-4
    assert res.converged
    assert res.certificate <= max(1e-12, floor)
    assert _residual(P, res.policy, mu, beta) <= 2 * max(1e-12, floor)
    assert res.policy.sum() == pytest.approx(1.0, abs=1e-14) and np.all(res.policy >= 0)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 8).flatmap(lambda k: st.tuples(
           preference_matrices(k), distributions(k, zeros=False, min_mass=1e-3))),
       st.floats(1e-10, 1e-4))
def test_rounding_floor_below_beta_1e_4(game, beta):
    P, mu = game
    res = regularized_nash(P, mu, beta, tol=1e-15)
    floor = 8 * np.finfo(float).eps * (1 + np.max(np.abs(P - 0.5)) / beta)
    assert res.converged and res.certificate <= max(floor, 1e-15)


@pytest.mark.parametrize("beta", [0.005, 0.003])
def test_small_beta_reaches_tight_tolerance(beta):
    """At beta = 0.003-0.005 the former solver stopped near 1e-4 while reporting success."""
    mu = np.array([0.6, 0.3, 0.1])
    res = regularized_nash(rock_paper_scissors(), mu, beta, tol=1e-13)
    assert res.converged and res.certificate <= 2e-13


def test_agrees_with_the_conic_solve():
    """The conic solver is an independent check, accurate to its own tolerance only."""
    P = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.7], [0.8, 0.3, 0.5]])
    mu = np.array([0.5, 0.3, 0.2])
    a = regularized_nash(P, mu, 0.02)
    b = regularized_nash(P, mu, 0.02, method="cvxpy")
    np.testing.assert_allclose(a.policy, b.policy, atol=1e-4)
    assert a.certificate <= 1e-12 < b.certificate


@pytest.mark.parametrize("beta", [1e-300, 1e-11, 0.0, -1.0])
def test_beta_out_of_range_names_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        regularized_nash(rock_paper_scissors(), None, beta)


def test_iteration_cap_says_not_converged():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = regularized_nash(rock_paper_scissors(), [0.6, 0.3, 0.1], 1e-3, max_iter=1)
    assert not res.converged
    assert any(issubclass(w.category, RuntimeWarning) and "converged=False" in str(w.message)
               for w in caught)
