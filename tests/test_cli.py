"""The `prefrl` command: list, check, reproduce, JSON records, report and exit status."""

import json
import subprocess
import sys

import pytest

from prefrl import cli
from prefrl.registry import Claim


def test_list_json(capsys):
    assert cli.main(["list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in records}
    assert "core_gibbs_frontier" in names
    assert "core.gibbs_maximises_regularised_objective" in names
    assert {r["kind"] for r in records} == {"figure", "theorem"}


def test_check_json_records(capsys):
    assert cli.main(["check", "core", "--instances", "5", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) >= 3
    for r in records:
        assert {"name", "claim", "holds", "ours", "paper"} <= set(r)
        assert r["holds"] is True and r["paper"] is None


def test_reproduce_quick_writes_report_and_figures(tmp_path, capsys):
    rc = cli.main(["reproduce", "core", "--quick", "--out", str(tmp_path), "--json"])
    assert rc == 0
    records = json.loads(capsys.readouterr().out)
    assert any(r["kind"] == "figure" for r in records)
    assert any(r["kind"] == "theorem" for r in records)
    assert (tmp_path / "core_gibbs_frontier.png").exists()
    assert (tmp_path / "core_gibbs_frontier.json").exists()
    report = (tmp_path / "REPORT.md").read_text()
    assert "| name | claim | ours | paper's | holds |" in report
    assert "core_gibbs_frontier/no_policy_above_frontier" in report


def test_reproduce_parallel_jobs(tmp_path, capsys):
    rc = cli.main(["reproduce", "core", "--quick", "--jobs", "2", "--out", str(tmp_path), "--json"])
    assert rc == 0
    assert all(r["holds"] for r in json.loads(capsys.readouterr().out))


def test_failing_claim_gives_nonzero_exit(tmp_path, monkeypatch, capsys):
    from prefrl.experiments import core_gibbs_frontier as mod

    monkeypatch.setattr(
        mod, "claims", lambda numbers: [Claim("broken", "a false claim", ours=1.0, holds=False)]
    )
    rc = cli.main(["reproduce", "core_gibbs_frontier", "--quick", "--out", str(tmp_path)])
    assert rc == 1
    assert "**NO**" in (tmp_path / "REPORT.md").read_text()


def test_crashing_experiment_is_reported(tmp_path, monkeypatch):
    from prefrl.experiments import core_gibbs_frontier as mod

    def boom(quick, seed):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(mod, "run", boom)
    recs = cli.run_experiment("core_gibbs_frontier", True, 0, str(tmp_path))
    assert recs[0]["holds"] is False and "kaboom" in recs[0]["error"]


def test_unknown_name_exits():
    with pytest.raises(SystemExit):
        cli.main(["check", "no_such_theorem"])


def test_help_and_version_from_the_installed_command():
    out = subprocess.run(
        [sys.executable, "-m", "prefrl.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "reproduce" in out and "check" in out and "list" in out
    v = subprocess.run(
        [sys.executable, "-m", "prefrl.cli", "--version"], capture_output=True, text=True
    ).stdout
    assert v.startswith("prefrl ")
