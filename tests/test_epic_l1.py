"""epic_distance(metric="l1"): the normalised L1 distance of canonical rewards."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefrl.shaping import canonicalize, epic_distance, shape


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 4), st.integers(1, 3), st.integers(0, 2**31 - 1),
       st.floats(0.1, 10.0), st.floats(-5.0, 5.0), st.floats(0.0, 0.99))
def test_l1_invariances_and_direct_formula(S, A, seed, scale, shift, gamma):
    rng = np.random.default_rng(seed)
    R, Q = rng.normal(size=(S, A, S)), rng.normal(size=(S, A, S))
    phi = rng.normal(size=S)
    equivalent = scale * shape(R, phi, gamma) + shift
    assert epic_distance(R, equivalent, gamma, metric="l1") <= 1e-9
    assert epic_distance(R, -R, gamma, metric="l1") == pytest.approx(1.0, abs=1e-12)
    c1, c2 = canonicalize(R, gamma).ravel(), canonicalize(Q, gamma).ravel()
    direct = 0.5 * np.abs(c1 / np.abs(c1).sum() - c2 / np.abs(c2).sum()).sum()
    assert epic_distance(R, Q, gamma, metric="l1") == pytest.approx(direct, abs=1e-12)
    assert 0.0 <= epic_distance(R, Q, gamma, metric="l1") <= 1.0


def test_l1_under_a_coverage_is_the_weighted_formula():
    rng = np.random.default_rng(3)
    R, Q = rng.normal(size=(3, 2, 3)), rng.normal(size=(3, 2, 3))
    w = rng.dirichlet(np.ones(18)).reshape(3, 2, 3)
    c1, c2, wf = canonicalize(R, 0.9).ravel(), canonicalize(Q, 0.9).ravel(), w.ravel()
    direct = 0.5 * wf @ np.abs(c1 / (wf @ np.abs(c1)) - c2 / (wf @ np.abs(c2)))
    assert epic_distance(R, Q, 0.9, coverage=w, metric="l1") == pytest.approx(direct, abs=1e-12)
    assert epic_distance(R, Q, 0.9, coverage=w, metric="l1") != pytest.approx(
        epic_distance(R, Q, 0.9, metric="l1"), abs=1e-6)


@pytest.mark.parametrize("metric", ["L1", "cosine", None, 1])
def test_bad_metric_names_metric(metric):
    R = np.zeros((2, 1, 2))
    with pytest.raises(ValueError, match="metric"):
        epic_distance(R, R, 0.9, metric=metric)
