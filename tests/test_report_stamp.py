"""The commit stamp of the report names the code that produced a row, not later figure commits."""

import shutil
import subprocess

import pytest

from prefrl._report import commit_stamp

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})


def _head(repo):
    return subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h", "--abbrev=10"],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_stamp_is_the_last_code_commit_and_ignores_figure_commits(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "prefrl").mkdir()
    (tmp_path / "prefrl" / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "code")
    code = _head(tmp_path)
    assert commit_stamp(tmp_path) == code
    (tmp_path / "paper_figures").mkdir()
    (tmp_path / "paper_figures" / "REPORT.md").write_text("report\n")
    (tmp_path / "README.md").write_text("readme\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "figures")
    assert _head(tmp_path) != code
    assert commit_stamp(tmp_path) == code  # a fresh clone stamps the same rows
    (tmp_path / "prefrl" / "a.py").write_text("x = 2\n")
    assert commit_stamp(tmp_path) == code + "+"  # uncommitted code changes are marked
    _git(tmp_path, "commit", "-qam", "more code")
    assert commit_stamp(tmp_path) == _head(tmp_path)


def test_outside_a_checkout_the_stamp_is_unknown(tmp_path):
    assert commit_stamp(tmp_path) == "unknown"
    assert commit_stamp(None) == "unknown"
