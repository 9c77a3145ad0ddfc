"""Every registered theorem check holds on random instances (and can fail)."""

import numpy as np
import pytest

from prefrl.registry import discover_theorems, run_theorem, theorem

THEOREMS = sorted(discover_theorems())


@pytest.mark.parametrize("name", THEOREMS)
def test_theorem_holds_on_random_instances(name):
    result = run_theorem(name, n_instances=20, seed=12345)
    assert result.holds, (result.worst_violation, result.worst_instance)


def test_every_theorem_is_documented():
    for name, t in discover_theorems().items():
        assert t.claim and t.reference, name
        assert t.violation.__doc__, f"{name}: the violation function needs a docstring"


def test_a_false_claim_is_reported_with_its_worst_instance():
    @theorem(
        "test.false_claim",
        claim="every normal draw is below 1",
        reference="none",
        draw=lambda rng: rng.normal(),
    )
    def false_claim(x):
        """Amount by which x exceeds 1."""
        return max(0.0, x - 1.0)

    r = run_theorem("test.false_claim", n_instances=200, seed=0)
    assert not r.holds and r.worst_violation > 0.5
    assert float(r.worst_instance) > 1.5


def test_a_crashing_check_counts_as_a_failure():
    def boom(x):
        """Always raises."""
        raise RuntimeError("boom")

    theorem("test.crash", claim="c", reference="r", draw=lambda rng: 1)(boom)
    r = run_theorem("test.crash", n_instances=2)
    assert not r.holds and np.isinf(r.worst_violation) and "boom" in r.worst_instance
