"""prefrl.registry: claims state their kind of evidence; theorem checks carry a status."""

import pytest

from prefrl.registry import STATUSES, Claim, run_theorem, theorem


def test_statuses_are_the_five_kinds_strongest_first():
    assert STATUSES == ("certified", "checked", "argued", "measured", "qualitative")


@pytest.mark.parametrize("status", STATUSES)
def test_each_status_is_accepted_with_what_it_needs(status):
    c = Claim("x", "a claim", 1.0, True, status=status, instances=3, sensitivity="seed: 1%")
    assert c.status == status and c.holds is True


@pytest.mark.parametrize("kwargs, match", [
    (dict(status="proved"), "status must be one of"),
    (dict(status="checked"), "needs instances"),
    (dict(status="checked", instances=0), "needs instances"),
    (dict(status="checked", instances=True), "needs instances"),
    (dict(status="checked", instances=2.0), "needs instances"),
    (dict(status="measured"), "needs sensitivity"),
    (dict(status="measured", sensitivity="  "), "needs sensitivity"),
])
def test_a_claim_without_what_its_status_needs_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Claim("x", "a claim", 1.0, True, **kwargs)


def test_theorem_status_is_recorded_and_validated(monkeypatch):
    from prefrl import registry

    monkeypatch.setattr(registry, "_THEOREMS", dict(registry._THEOREMS))  # leave no trace

    @theorem("test_registry.argued", claim="c", reference="r", draw=lambda rng: 0.0,
             status="argued")
    def argued(x):
        return 0.0

    r = run_theorem("test_registry.argued", n_instances=2)
    assert r.status == "argued" and r.holds
    with pytest.raises(ValueError, match="status must be"):
        theorem("test_registry.bad", claim="c", reference="r", draw=lambda rng: 0.0,
                status="measured")
