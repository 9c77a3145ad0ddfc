"""prefrl.testing: the kit accepts correct implementations, catches the classic bugs, and the
golden vectors round-trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings

from prefrl import losses
from prefrl.testing import (
    SPECS,
    assert_matches_reference,
    golden_cases,
    golden_vectors,
    loss_inputs,
)


def stable_dpo(cw, cl, rw, rl, *, beta):
    return np.logaddexp(0, -beta * ((cw - rw) - (cl - rl)))


def naive_dpo(cw, cl, rw, rl, *, beta):
    with np.errstate(all="ignore"):
        return -np.log(1 / (1 + np.exp(-beta * ((cw - rw) - (cl - rl)))))


def test_accepts_correct_numpy_implementations():
    assert_matches_reference(stable_dpo, "dpo", beta=0.3, max_examples=30)
    assert_matches_reference(stable_dpo, "sigmoid", beta=0.3, max_examples=10)

    def seq_mean_token_mean(L, m, mode):
        assert mode == "seq-mean-token-mean"
        rows = m.sum(1) > 0
        return np.mean((L * m).sum(1)[rows] / m.sum(1)[rows])

    assert_matches_reference(seq_mean_token_mean, "aggregate", mode="seq-mean-token-mean",
                             extreme=False, max_examples=30)

    def grpo(R):
        if R.shape[1] == 1:
            return np.zeros_like(R)
        c = R - R.mean(1, keepdims=True)
        return c / (R.std(1, ddof=1, keepdims=True) + 1e-4)

    assert_matches_reference(grpo, "grpo_advantages", max_examples=30, atol=1e-7)


def _fails(fn, name, **kw):
    with pytest.raises(AssertionError) as info:
        assert_matches_reference(fn, name, max_examples=50, **kw)
    msg = str(info.value)
    assert f"{name}: your implementation differs" in msg and "inputs: LossInputs(" in msg
    return msg


def test_catches_beta_inside_the_ipo_square():
    def wrong(cw, cl, rw, rl, *, beta):
        return (beta * ((cw - rw) - (cl - rl)) - 1 / (2 * beta)) ** 2

    _fails(wrong, "ipo", beta=0.1)


def test_catches_summed_vs_averaged_log_probs():
    """The TRL convention of IPO averages over tokens; an implementation that sums is caught."""

    def summed(cw, cl, rw, rl, *, beta, chosen_lengths, rejected_lengths):
        return ((cw - rw) - (cl - rl) - 1 / (2 * beta)) ** 2

    msg = _fails(summed, "ipo", beta=0.1, extra=("chosen_lengths", "rejected_lengths"))
    assert "chosen_lengths" in msg

    def averaged(cw, cl, rw, rl, *, beta, chosen_lengths, rejected_lengths):
        return ((cw - rw) / chosen_lengths - (cl - rl) / rejected_lengths - 1 / (2 * beta)) ** 2

    assert_matches_reference(averaged, "ipo", beta=0.1, extra=("chosen_lengths",
                                                               "rejected_lengths"),
                             max_examples=30)


def test_catches_the_wrong_grpo_aggregation():
    def token_mean(L, m, mode):  # claims seq-mean-token-mean, computes token-mean
        return (L * m).sum() / m.sum()

    _fails(token_mean, "aggregate", mode="seq-mean-token-mean", extreme=False)


def test_catches_unstable_implementations_only_with_extremes():
    _fails(naive_dpo, "dpo", beta=0.1)
    assert_matches_reference(naive_dpo, "dpo", beta=0.1, extreme=False, max_examples=30)


def test_torch_functions_and_gradients():
    torch = pytest.importorskip("torch")
    from prefrl.torch import losses as tl

    def torch_dpo(cw, cl, rw, rl, *, beta):
        return -torch.nn.functional.logsigmoid(beta * ((cw - rw) - (cl - rl)))

    assert_matches_reference(torch_dpo, "dpo", beta=0.1, check_grad=True, max_examples=30)
    assert_matches_reference(tl.kl_estimate, "kl_estimate", kind="k3", check_grad=True,
                             max_examples=20)

    def wrong_grad_k3(lp, ref, *, kind):  # right value, the biased k3 gradient replaced wrongly
        x = lp - ref
        k3 = torch.exp(-x) - 1 + x
        return k3.detach() + (x - x.detach())

    with pytest.raises(AssertionError, match="d/dlogp"):
        assert_matches_reference(wrong_grad_k3, "kl_estimate", kind="k3", check_grad=True,
                                 max_examples=30)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_strategies_feed_every_reference(name):
    # the strategy for `name` produces inputs the reference accepts (or rejects by ValueError)
    @settings(max_examples=10, database=None)
    @given(inp=loss_inputs(name, extra=tuple(SPECS[name]["optional"])))
    def inner(inp):
        fn = getattr(losses, name)
        try:
            out = fn(*inp.arrays, **inp.kwargs, **SPECS[name]["defaults"])
        except ValueError:
            return
        assert np.all(np.isfinite(out))

    inner()


def test_strategies_reach_degenerate_cases():
    seen = {"tie": False, "extreme": False, "singleton": False, "empty_row": False}

    @settings(max_examples=200, database=None)
    @given(p=loss_inputs("dpo"), g=loss_inputs("grpo_advantages"), t=loss_inputs("aggregate"))
    def probe(p, g, t):
        c, r, rc, rr = p.arrays
        seen["tie"] |= bool(np.any((c == r) & (rc == rr)))
        seen["extreme"] |= bool(np.any(np.abs((c - rc) - (r - rr)) >= 5000))
        seen["singleton"] |= g.arrays[0].shape[1] == 1
        m = t.arrays[1]
        seen["empty_row"] |= bool(np.any(m.sum(1) == 0))

    probe()
    assert all(seen.values()), seen


def test_golden_vectors_round_trip(tmp_path):
    path = golden_vectors(tmp_path / "golden.json")
    doc = json.loads(path.read_text())
    assert set(doc["cases"]) == set(SPECS)
    for name, case in doc["cases"].items():
        args = [np.asarray(a) for a in case["arguments"].values()]
        kw = {k: np.asarray(v) for k, v in case["keyword_inputs"].items()}
        out = getattr(losses, name)(*args, **kw, **case["options"])
        np.testing.assert_allclose(out, np.asarray(case["values"]), rtol=1e-12, atol=1e-300)
        if case["grads"] is not None:
            _, g = losses.value_and_grad(name, *args, **kw, **case["options"])
            for x, y in zip(g, case["grads"].values()):
                np.testing.assert_allclose(x, np.asarray(y), rtol=1e-12, atol=1e-300)
    # pairwise cases carry an extreme margin and a tie
    c = np.asarray(doc["cases"]["dpo"]["arguments"]["chosen_logps"])
    r = np.asarray(doc["cases"]["dpo"]["arguments"]["rejected_logps"])
    assert np.max(np.abs(c - r)) >= 1e4 - 1 and np.any(c == r)
    assert golden_cases(seed=0)["ipo"]["values"] == doc["cases"]["ipo"]["values"]


def test_kit_validation():
    with pytest.raises(ValueError, match="name"):
        assert_matches_reference(stable_dpo, "not-a-loss")
    with pytest.raises(ValueError, match="optional"):
        assert_matches_reference(stable_dpo, "dpo", extra=("chosen_lengths",))


def test_reproducible_by_design_and_the_old_seed_keyword():
    """derandomize=True (the default) draws the same examples every run; ``seed`` (whose value was
    never used) still works and warns."""
    seen = [[], []]
    for run in seen:
        def record(cw, cl, rw, rl, *, beta, _run=run):
            _run.append(cw.copy())
            return stable_dpo(cw, cl, rw, rl, beta=beta)

        assert_matches_reference(record, "dpo", beta=0.3, max_examples=5)
    assert len(seen[0]) == len(seen[1]) and all(
        np.array_equal(a, b) for a, b in zip(*seen))
    with pytest.warns(DeprecationWarning, match="derandomize"):
        assert_matches_reference(stable_dpo, "dpo", beta=0.3, max_examples=5, seed=0)


def test_kit_covers_every_registered_loss():
    from prefrl.testing import check_loss  # noqa: F401  (the parts themselves: test_losses_families)

    assert set(SPECS) == set(losses.LOSSES)
    for name in ("ppo_drift", "discovered_drift", "lpo_drift", "drift_objective"):
        assert SPECS[name]["kind"] == "ratio" and SPECS[name]["arrays"] == ("ratio", "advantages")
