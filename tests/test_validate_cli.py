"""``prefrl validate`` (prefrl.testing._validate_cli), called directly: verdicts, conventions,
exit status; the lead wires ``add_parser`` into ``prefrl.cli``."""

from __future__ import annotations

import argparse
import io
import textwrap

import pytest

from prefrl.testing._validate_cli import add_parser, load_function

pytest.importorskip("torch")


def _run(argv):
    sub = argparse.ArgumentParser(prog="prefrl").add_subparsers(dest="command")
    args = add_parser(sub).parse_args(argv)
    buf = io.StringIO()
    return args.func(args, out=buf), buf.getvalue()


@pytest.fixture()
def user_file(tmp_path):
    path = tmp_path / "my_losses.py"
    path.write_text(textwrap.dedent("""
        import torch
        F = torch.nn.functional

        def mean_dpo(cw, cl, rw, rl, mc, mr, *, beta):
            def s(x, m):
                return torch.where(m, x, torch.zeros_like(x)).sum(-1) / m.sum(-1).clamp(min=1)
            return -F.logsigmoid(beta * ((s(cw, mc) - s(rw, mc)) - (s(cl, mr) - s(rl, mr))))

        def k3(lp, ref, *, kind, clamp):
            x = ref - lp
            return torch.clamp(torch.exp(x) - x - 1, max=10.0)
    """))
    return path


def test_a_matching_function_exits_0_and_says_what_was_checked():
    status, text = _run(["prefrl.torch.losses:ipo", "--loss", "ipo", "--option", "beta=0.1",
                         "--max-examples", "10", "--check-grad"])
    assert status == 0
    assert "verdict: MATCHES prefrl.losses.ipo" in text and "backend torch" in text


def test_the_per_token_mean_dpo_differs_and_matches_the_mean_convention(user_file):
    status, text = _run([f"{user_file}:mean_dpo", "--loss", "dpo", "--token-level",
                         "--option", "beta=0.1", "--max-examples", "20"])
    assert status == 1
    assert "verdict: DIFFERS from prefrl.losses.dpo" in text
    assert "worst discrepancy: values" in text and "shrunk example:" in text
    conv = text.split("conventions:")[1]
    assert "reduction='mean'      matches" in conv and "reduction='sum'       differs" in conv
    assert len(text.splitlines()) < 30  # one screen


def test_conventions_of_the_kl_clamps(user_file):
    status, text = _run([f"{user_file}:k3", "--loss", "kl_estimate", "--option", "kind='k3'",
                         "--option", "clamp=None", "--max-examples", "20"])
    assert status == 1
    rows = text.split("conventions:")[1]
    assert "verl kl_penalty" in rows and "matches" in rows.split("verl kl_penalty")[1].split("\n")[0]


def test_bad_arguments_exit_2_with_a_message():
    assert _run(["prefrl.torch.losses", "--loss", "dpo"])[0] == 2
    status, text = _run(["prefrl.torch.losses:dpo", "--loss", "dpo", "--option", "beta=0"])
    assert status == 2 and "beta must be > 0" in text
    status, text = _run(["prefrl.torch.losses:dpo", "--loss", "dpo", "--option", "beta"])
    assert status == 2 and "KEY=VALUE" in text
    status, text = _run(["no_such_module_xyz:f", "--loss", "dpo"])
    assert status == 2 and "No module" in text
    with pytest.raises(ValueError, match="no function"):
        load_function("prefrl.torch.losses:nothing")
