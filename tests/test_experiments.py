"""Every figure of experiments/ runs in quick mode, writes its files, and its claims hold."""

import json

import pytest

from prefrl.cli import run_experiment
from prefrl.registry import STATUSES, discover_experiments

EXPERIMENTS = sorted(discover_experiments())


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_quick_mode_claims_hold(name, tmp_path):
    records = run_experiment(name, quick=True, seed=0, out=str(tmp_path))
    assert records, f"{name} states no claim"
    failed = [r for r in records if not r["holds"]]
    assert not failed, json.dumps(failed, indent=1, default=str)
    assert (tmp_path / f"{name}.png").stat().st_size > 1000
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data["quick"] is True
    assert {c["name"] for c in data["claims"]} == {r["name"].split("/", 1)[1] for r in records}
    # Where the paper gives a number, the JSON records it beside ours; every claim says what
    # kind of evidence it is (a checked claim how many instances, a measured one its sensitivity).
    for c in data["claims"]:
        assert "paper" in c and "ours" in c
        assert c.get("status") in STATUSES, f"{name}/{c['name']} states no status"
        if c["status"] == "checked":
            assert isinstance(c.get("instances"), int) and c["instances"] >= 1
        if c["status"] == "measured":
            assert c.get("sensitivity")


def test_experiment_modules_are_documented():
    for name, mod in discover_experiments().items():
        assert mod.__doc__ and len(mod.__doc__) > 40, f"{name} needs a module docstring"
        assert mod.TITLE and mod.PAPER
