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
    assert "| name | claim | evidence | ours | paper's | holds | commit |" in report
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
    rc = cli.main(["reproduce", "core_gibbs_frontier", "--quick", "--out", str(tmp_path),
                   "--jobs", "1"])  # a monkeypatch does not reach joblib's workers
    assert rc == 1
    assert "**NO**" in (tmp_path / "REPORT.md").read_text()


def test_crashing_experiment_is_reported(tmp_path, monkeypatch):
    from prefrl.experiments import core_gibbs_frontier as mod

    def boom(quick, seed):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(mod, "run", boom)
    recs = cli.run_experiment("core_gibbs_frontier", True, 0, str(tmp_path))
    assert recs[0]["holds"] is False and "kaboom" in recs[0]["error"]
    assert recs[0]["name"] == "core_gibbs_frontier/runs"


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


# ------------------------------------------------------------------ the report is a union


def _rows(report: str) -> dict[str, str]:
    return {line.split(" | ")[0][2:]: line for line in report.splitlines()
            if line.startswith("| ") and not line.startswith("| name") and "---" not in line}


def test_reproducing_one_figure_keeps_every_other_row(tmp_path, monkeypatch, capsys):
    assert cli.main(["reproduce", "core", "ipo_two_action", "--quick", "--out", str(tmp_path),
                     "--jobs", "1"]) == 0
    before = _rows((tmp_path / "REPORT.md").read_text())
    assert any(n.startswith("ipo_two_action/") for n in before)
    assert any(n.startswith("core.") for n in before)
    # rerun one figure, now failing: only its rows change
    from prefrl.experiments import core_gibbs_frontier as mod

    monkeypatch.setattr(mod, "claims", lambda numbers: [Claim("broken", "false", 1.0, False)])
    assert cli.main(["reproduce", "core_gibbs_frontier", "--quick", "--out", str(tmp_path),
                     "--jobs", "1"]) == 1
    after = _rows((tmp_path / "REPORT.md").read_text())
    assert "core_gibbs_frontier/broken" in after and "**NO**" in after["core_gibbs_frontier/broken"]
    assert not any(n.startswith("core_gibbs_frontier/") and n != "core_gibbs_frontier/broken"
                   for n in after)
    assert {n: r for n, r in after.items() if not n.startswith("core_gibbs_frontier/")} == {
        n: r for n, r in before.items() if not n.startswith("core_gibbs_frontier/")}
    records = json.loads((tmp_path / "records.json").read_text())
    assert len(records) == len(after)
    assert all(r["commit"] and r["quick"] is True for r in records)


def test_rows_of_removed_figures_are_dropped(tmp_path, capsys):
    store = [{"kind": "figure", "name": "gone/x", "claim": "c", "holds": True, "ours": 1,
              "paper": None, "commit": "abc"}]
    (tmp_path / "records.json").write_text(json.dumps(store))
    assert cli.main(["reproduce", "core.kl", "--quick", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "gone/x" not in report and "core.kl_nonnegative_zero_iff_equal" in report


def test_a_second_run_writes_the_same_bytes(tmp_path, capsys):
    """Deterministic outputs: no timings, dates or library versions in the committed files."""
    args = ["reproduce", "core", "mdp_vi_certificate", "--quick", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "timings.json"}
    assert cli.main([*args, "--jobs", "1"]) == 0
    second = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "timings.json"}
    assert first.keys() == second.keys() and {"REPORT.md", "records.json"} <= first.keys()
    changed = [n for n in first if first[n] != second[n]]
    assert not changed, changed
    assert b"seconds" not in first["mdp_vi_certificate.json"]
    assert b"Matplotlib" not in first["mdp_vi_certificate.png"]
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["mdp_vi_certificate"] >= 0


def test_report_counts_each_kind_of_evidence(tmp_path, monkeypatch, capsys):
    from prefrl.experiments import core_gibbs_frontier as mod

    monkeypatch.setattr(mod, "claims", lambda numbers: [
        Claim("a", "exact", 1.0, True, status="certified"),
        Claim("b", "sampled", 1.0, True, status="checked", instances=7),
        Claim("c", "a tendency", 1.0, True, status="measured", sensitivity="seed: +-1%"),
        Claim("d", "a lemma", 1.0, True, status="argued"),
    ])
    assert cli.main(["reproduce", "core", "--quick", "--out", str(tmp_path), "--jobs", "1"]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "7 of 7 claims hold: 1 certified, 4 checked, 1 argued, 1 measured." in report
    assert "| checked (7) |" in report and "| checked (25) |" in report
    out = capsys.readouterr().out
    assert "7 of 7 claims hold: 1 certified, 4 checked, 1 argued, 1 measured" in out
    assert cli.main(["reproduce", "core_gibbs_frontier", "--quick", "--out", str(tmp_path),
                     "--json", "--jobs", "1"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in records] == ["certified", "checked", "measured", "argued"]
    assert records[2]["sensitivity"] == "seed: +-1%" and records[1]["instances"] == 7


def test_summary_fits_one_screen_and_lists_failures_in_full(tmp_path, monkeypatch, capsys):
    from prefrl.experiments import core_gibbs_frontier as mod

    monkeypatch.setattr(mod, "claims", lambda numbers: [
        Claim(f"c{i}", "claim " * 30, list(range(50)), i != 3, status="certified")
        for i in range(40)])
    assert cli.main(["reproduce", "core", "--quick", "--out", str(tmp_path), "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert len(out.splitlines()) < 20
    assert "FAILED core_gibbs_frontier/c3" in out and "claim " * 30 in out.replace("\n", "")
    assert str(tmp_path) in out


def test_json_and_quick_say_where_the_files_went(capsys):
    assert cli.main(["reproduce", "core_gibbs_frontier", "--quick", "--json"]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)  # stdout is JSON only
    assert records and "prefrl-quick-" in captured.err


@pytest.mark.parametrize("argv, flag", [
    (["--bogus"], "--bogus"),
    (["check", "--instances", "-3"], "--instances"),
    (["check", "--instances", "0"], "--instances"),
    (["check", "--seed", "-1"], "--seed"),
    (["reproduce", "--jobs", "0"], "--jobs"),
    (["check", "--instances", "x"], "--instances"),
    (["reproduce", "--bogus"], "--bogus"),
])
def test_cli_errors_are_one_line_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err and err.startswith("prefrl")


def test_bad_output_folder_and_empty_names(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("")
    for argv, text in ([["reproduce", "core", "--out", str(a_file)], "--out"],
                       [["reproduce", "core", "--out", str(a_file / "sub")], "--out"],
                       [["check", ""], "empty"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert text in str(info.value) and "\n" not in str(info.value)


def test_help_shows_examples_and_jobs_default_to_the_cores(capsys):
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "prefrl reproduce --quick" in out
    args = cli.build_parser().parse_args(["reproduce"])
    assert args.jobs == cli._cores() >= 1
