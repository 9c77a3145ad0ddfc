"""prefrl.online: the home of online/iterative DPO and PILAF, its old paths, renamed keywords, results.

The mathematics of the samplers and loops is tested in tests/test_pilaf.py.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import prefrl.games
import prefrl.online
import prefrl.restricted
from prefrl.online import (
    ExpectedDPOGradient,
    OnlineDPOResult,
    PilafPolicies,
    expected_dpo_gradient,
    iterative_dpo,
    online_dpo,
    online_dpo_expected,
    pilaf_pair_distribution,
    pilaf_policies,
)
from prefrl.results import Result

MOVED = ["ExpectedDPOGradient", "OnlineDPOResult", "PilafPolicies", "expected_dpo_gradient",
         "on_policy_pair_distribution", "online_dpo", "online_dpo_expected",
         "pilaf_pair_distribution", "pilaf_policies"]


@pytest.mark.parametrize("name", MOVED)
def test_old_restricted_paths_serve_the_online_objects_without_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj = getattr(prefrl.restricted, name)
    assert obj is getattr(prefrl.online, name)
    assert name in prefrl.online.__all__ and name not in prefrl.restricted.__all__
    assert name in dir(prefrl.restricted)


def test_restricted_does_not_import_online_and_unknown_names_raise():
    code = "import sys, prefrl.restricted; print('prefrl.online' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(AttributeError, match="no_such_name"):
        prefrl.restricted.no_such_name  # noqa: B018


def test_iterative_dpo_is_documented_here_and_defined_in_games():
    assert "iterative_dpo" in prefrl.online.__all__
    assert iterative_dpo is prefrl.games.iterative_dpo


def test_old_keywords_still_work_and_warn():
    r, phi, ref = np.array([1.0, 0.0, -0.5]), np.eye(3), np.array([0.2, 0.5, 0.3])
    new = online_dpo(r, phi, ref, 0.7, n_rounds=3, pairs_per_round=8, rng=4)
    with pytest.warns(DeprecationWarning) as record:
        old = online_dpo(r, phi, beta=0.7, reference=ref, rounds=3, pairs_per_round=8, rng=4)
    assert {str(w.message) for w in record} == {
        "online_dpo(): the keyword 'reference' is deprecated, use 'pi_ref'",
        "online_dpo(): the keyword 'rounds' is deprecated, use 'n_rounds'"}
    np.testing.assert_array_equal(new.thetas, old.thetas)
    new = online_dpo_expected(r, phi, ref, 0.7, n_rounds=4, init=[0.1, 0.0, 0.0])
    with pytest.warns(DeprecationWarning) as record:
        old = online_dpo_expected(r, phi, ref, 0.7, rounds=4, theta0=[0.1, 0.0, 0.0])
    assert len(record) == 2 and "'theta0' is deprecated, use 'init'" in str(record[1].message)
    np.testing.assert_array_equal(new.thetas, old.thetas)
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated"):
        pp = pilaf_policies([0.5, 0.5], reference=[0.5, 0.5], beta=1.0)
    assert pp.on_policy_weight == 0.5
    with pytest.raises(TypeError, match="both"):
        online_dpo(r, phi, ref, 0.7, rounds=3, n_rounds=3, rng=0)


def test_online_dpo_without_rng_warns_and_uses_seed_zero():
    r, phi = np.array([1.0, 0.0]), np.eye(2)
    with pytest.warns(DeprecationWarning, match="pass rng"):
        old = online_dpo(r, phi, None, 1.0, n_rounds=3)
    np.testing.assert_array_equal(old.thetas, online_dpo(r, phi, None, 1.0, n_rounds=3,
                                                         rng=0).thetas)


def test_results_are_results():
    r, phi = np.array([1.0, 0.0, -0.5]), np.eye(3)
    res = online_dpo_expected(r, phi, None, 1.0, sampler="pilaf", n_rounds=300, lr=1.0)
    assert isinstance(res, OnlineDPOResult) and isinstance(res, Result)
    assert res.converged and res.certificate <= 1e-8 and res.iterations == 300 * 20
    sampled = online_dpo(r, phi, None, 1.0, n_rounds=2, rng=0)
    assert not sampled.converged  # a sampled round's gradient does not vanish
    pi = np.array([0.5, 0.3, 0.2])
    pp = pilaf_policies(pi, np.full(3, 1 / 3), 1.0)
    assert isinstance(pp, PilafPolicies) and isinstance(pp, Result)
    g = expected_dpo_gradient(np.zeros(3), np.full((3, 3), 0.5),
                              pilaf_pair_distribution(pi, np.full(3, 1 / 3), 1.0), phi, None, 1.0)
    assert isinstance(g, ExpectedDPOGradient) and isinstance(g, Result)
    assert g.keys() == ("value", "gradient")
