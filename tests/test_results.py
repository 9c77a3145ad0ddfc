"""The result base (prefrl.results) and the deprecation helpers (prefrl._deprecation)."""

from __future__ import annotations

import pickle
import warnings
from dataclasses import FrozenInstanceError, dataclass
from typing import ClassVar

import numpy as np
import pytest

from prefrl._deprecation import deprecated_names, renamed_parameters
from prefrl.results import Result


@dataclass(frozen=True, eq=False)
class _Fit(Result):
    policy: np.ndarray
    iterations: int
    converged: bool
    certificate: float
    _renamed: ClassVar[dict[str, str]] = {"residual": "certificate"}


def _fit():
    return _Fit(np.arange(20.0), 2, True, 0.5)


def test_mapping_interface_and_repr():
    res = _fit()
    assert res.keys() == ("policy", "iterations", "converged", "certificate")
    assert res["iterations"] == 2 and "converged" in res and "x" not in res
    assert set(res.to_dict()) == set(res.keys())
    assert res.replace(iterations=3).iterations == 3
    assert "<array shape=(20,) dtype=float64>" in repr(res)
    with pytest.raises(KeyError):
        res["x"]
    with pytest.raises(FrozenInstanceError):
        res.iterations = 1


def test_renamed_field_warns_and_unknown_raises():
    res = _fit()
    with pytest.warns(DeprecationWarning, match="_Fit.residual is deprecated, use _Fit.certificate"):
        assert res.residual == 0.5
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = res.nope


def test_pickle_round_trip():
    res = pickle.loads(pickle.dumps(_fit()))
    assert res.iterations == 2 and res.policy.shape == (20,)


def test_renamed_parameters():
    @renamed_parameters(theta0="init")
    def f(a, *, init=None):
        return a, init

    with pytest.warns(DeprecationWarning, match="'theta0' is deprecated, use 'init'"):
        assert f(1, theta0=5) == (1, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(1, init=4) == (1, 4)
    with pytest.raises(TypeError, match="both 'theta0'"):
        f(1, theta0=1, init=2)


def test_deprecated_names():
    getattr_ = deprecated_names("mod", {"old": ("mod.new", lambda: 7)})
    with pytest.warns(DeprecationWarning, match="mod.old is deprecated, use mod.new"):
        assert getattr_("old") == 7
    with pytest.raises(AttributeError):
        getattr_("other")


def test_log_linear_policy_reference_is_renamed_pi_ref():
    from prefrl.policies import LogLinearPolicy

    phi = np.eye(2)
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated, use 'pi_ref'"):
        cls = LogLinearPolicy(phi, reference=[0.25, 0.75])
    np.testing.assert_array_equal(cls.pi_ref, [0.25, 0.75])
    with pytest.warns(DeprecationWarning, match="LogLinearPolicy.reference is deprecated"):
        np.testing.assert_array_equal(cls.reference, cls.pi_ref)
    with pytest.raises(TypeError, match="both"):
        LogLinearPolicy(phi, [0.5, 0.5], reference=[0.5, 0.5])
    with pytest.raises(ValueError, match="pi_ref"):
        LogLinearPolicy(phi, [0.5, 0.6])
