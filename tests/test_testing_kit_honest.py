"""prefrl.testing cannot be fooled: honest backends, every gradient, non-finite outputs, its own
argument checks, dtype tolerances, token-level inputs, and near misses caught at the default
tolerance.

The near-miss implementations are wrong by a small but real amount. Each is caught at the
default tolerance; where a near miss is smaller than 1e-3 (``NEAR``), the test also shows that
it passes at ``rtol=1e-3``: a kit whose default were loosened to 1e-3 would let it through, so
these tests fail on such a kit. Likewise a kit that checked only the first input's gradient, or
only infinities (not NaN), or that called a torch function with numpy arrays, fails a test here.
"""

from __future__ import annotations

import numpy as np
import pytest

from prefrl.testing import TOLERANCES, KitReport, assert_matches_reference

torch = pytest.importorskip("torch")
F = torch.nn.functional
N = 60  # examples per check: the near misses are caught within the first few


def _caught(fn, name, match=None, **kw):
    kw.setdefault("max_examples", N)
    with pytest.raises(AssertionError) as info:
        assert_matches_reference(fn, name, **kw)
    msg = str(info.value)
    assert f"{name}: your implementation differs" in msg
    if match is not None:
        assert match in msg, msg
    return msg


# ----------------------------------------------------------------------------- implementations


def torch_dpo(cw, cl, rw, rl, *, beta):
    return -F.logsigmoid(beta * ((cw - rw) - (cl - rl)))


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; the backward multiplies the incoming gradient by ``factor``."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.factor, None


def dpo_with_one_bad_gradient(j, factor=0.5):
    def fn(*xs, beta):
        xs = list(xs)
        xs[j] = _ScaleGrad.apply(xs[j], factor)
        cw, cl, rw, rl = xs
        return -F.logsigmoid(beta * ((cw - rw) - (cl - rl)))

    return fn


# ------------------------------------------------------------------------------ honest backends


def test_auto_checks_a_torch_function_with_tensors_and_says_so():
    report = assert_matches_reference(torch_dpo, "dpo", beta=0.1, check_grad=True, max_examples=20)
    assert isinstance(report, KitReport)
    assert report.backend == "torch" and report.check_grad and report.dtype == "float64"
    assert report.rtol == 1e-6 and report.atol == 1e-9 and report.n_examples == 20
    assert "torch" in str(report) and report.worst <= 1


def test_a_numpy_function_falls_back_to_numpy_and_the_report_says_why():
    def np_dpo(cw, cl, rw, rl, *, beta):
        return np.logaddexp(0.0, -beta * ((cw - rw) - (cl - rl)))

    report = assert_matches_reference(np_dpo, "dpo", beta=0.1, max_examples=10)
    assert report.backend == "numpy" and "torch tensors" in report.backend_reason


def test_plain_arithmetic_torch_loss_gets_its_gradient_checked():
    """The old kit called this with numpy arrays first (plain arithmetic works there) and never
    compared its autograd gradient; the halved gradient must be caught."""

    def softplus(x):
        if isinstance(x, torch.Tensor):
            return F.softplus(_ScaleGrad.apply(x, 0.5), beta=1.0, threshold=1e9)
        return np.logaddexp(0.0, x)

    def fn(cw, cl, rw, rl, *, beta):
        return softplus(-beta * ((cw - rw) - (cl - rl)))

    _caught(fn, "dpo", match="d/d", beta=0.1, check_grad=True)


def test_check_grad_on_a_function_that_never_sees_a_tensor_raises():
    def np_only(cw, cl, rw, rl, *, beta):
        return np.logaddexp(0.0, -beta * ((np.asarray(cw) - rw) - (np.asarray(cl) - rl)))

    with pytest.raises(ValueError, match="check_grad=True"):
        assert_matches_reference(np_only, "dpo", beta=0.1, check_grad=True, max_examples=5)

    def returns_numpy(cw, cl, rw, rl, *, beta):
        return np.zeros(len(cw))

    with pytest.raises(ValueError, match="check_grad=True"):
        assert_matches_reference(returns_numpy, "dpo", check_grad=True, max_examples=5)
    with pytest.raises(ValueError, match="backend='numpy'"):
        assert_matches_reference(torch_dpo, "dpo", check_grad=True, backend="numpy")


@pytest.mark.parametrize("j", [0, 1, 2, 3])
def test_every_inputs_gradient_is_compared(j):
    """A gradient off by half in any one input is caught, the last as well as the first."""
    names = ["chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps"]
    _caught(dpo_with_one_bad_gradient(j), "dpo", match=f"d/d{names[j]}", beta=0.1,
            check_grad=True)


def test_a_gradient_off_by_a_tenth_of_a_percent_is_caught():
    _caught(dpo_with_one_bad_gradient(3, factor=1.001), "dpo", match="d/dref_rejected_logps",
            beta=0.1, check_grad=True)


def test_a_detached_branch_is_reported():
    def detached(cw, cl, rw, rl, *, beta):
        return -F.logsigmoid(beta * ((cw - rw) - (cl - rl).detach()))

    _caught(detached, "dpo", match="d/drejected_logps", beta=0.1, check_grad=True)

    def all_detached(cw, cl, rw, rl, *, beta):
        return torch_dpo(cw, cl, rw, rl, beta=beta).detach()

    _caught(all_detached, "dpo", match="not connected", beta=0.1, check_grad=True)


# --------------------------------------------------------------------------- non-finite outputs


def test_nan_and_inf_outputs_fail():
    def nan_on_ties(cw, cl, rw, rl, *, beta):
        h = (cw - rw) - (cl - rl)
        return torch.where(h == 0, torch.full_like(h, float("nan")), torch_dpo(cw, cl, rw, rl,
                                                                               beta=beta))

    _caught(nan_on_ties, "dpo", match="nan", beta=0.1)

    def inf_on_ties(cw, cl, rw, rl, *, beta):
        h = (cw - rw) - (cl - rl)
        return torch.where(h == 0, torch.full_like(h, float("inf")), torch_dpo(cw, cl, rw, rl,
                                                                               beta=beta))

    _caught(inf_on_ties, "dpo", match="inf", beta=0.1)

    def nan_gradient(cw, cl, rw, rl, *, beta):
        return torch_dpo(cw, cl, rw, rl, beta=beta) + 0 * torch.sqrt(-torch.abs(rl) - 1)

    _caught(nan_gradient, "dpo", beta=0.1, check_grad=True)


def test_non_finite_values_compare_equal_only_to_themselves():
    from prefrl.testing._reference import _excess

    nan, inf = float("nan"), float("inf")
    assert _excess([nan, 1.0], [nan, 1.0], 1e-6, 1e-9)[0] == 0.0
    assert _excess([inf], [inf], 1e-6, 1e-9)[0] == 0.0
    assert _excess([-inf], [inf], 1e-6, 1e-9)[0] == np.inf
    assert _excess([nan], [1.0], 1e-6, 1e-9)[0] == np.inf
    assert _excess([1.0], [nan], 1e-6, 1e-9)[0] == np.inf
    assert _excess([inf], [1.0], 1e-6, 1e-9)[0] == np.inf


# ----------------------------------------------------------------------- the kit's own guards


@pytest.mark.parametrize("kw, match", [
    (dict(rtol=float("nan")), "rtol"), (dict(rtol=-1.0), "rtol"), (dict(atol=float("nan")), "atol"),
    (dict(atol=float("inf")), "atol"), (dict(rtol="loose"), "rtol"), (dict(rtol=True), "rtol"),
    (dict(rtol=0.0, atol=0.0), "both 0"), (dict(max_examples=0), "max_examples"),
    (dict(max_examples=2.5), "max_examples"), (dict(backend="jax"), "backend"),
    (dict(beta=0.0), "beta must be > 0"), (dict(bta=0.1), "'bta' is not a parameter"),
    (dict(chosen_logps=1.0), "draws this input"), (dict(reduction="mean"), "token_level=True"),
    (dict(extra=("chosen_lengths",)), "token_level=True, reduction='mean'"),
    (dict(token_level=True, reduction="median"), "reduction"),
    (dict(label_smoothing=0.7), "label_smoothing"), (dict(f_divergence="kl"), "f_divergence"),
])
def test_bad_arguments_are_refused_at_once_by_name(kw, match):
    with pytest.raises(ValueError, match=match):
        assert_matches_reference(torch_dpo, "dpo", **kw)


def test_bad_fn_name_and_options_of_other_families():
    with pytest.raises(ValueError, match="fn must be callable"):
        assert_matches_reference(None, "dpo")
    with pytest.raises(ValueError, match="name must be one of"):
        assert_matches_reference(torch_dpo, "dpo2")
    with pytest.raises(ValueError, match="mode must be one of"):
        assert_matches_reference(torch_dpo, "aggregate", mode="mean")
    with pytest.raises(ValueError, match="no gradient"):
        assert_matches_reference(torch_dpo, "grpo_advantages", check_grad=True)
    with pytest.raises(ValueError, match="no per-token form"):
        assert_matches_reference(torch_dpo, "kto", token_level=True)
    with pytest.raises(ValueError, match="reduction applies to pairwise"):
        assert_matches_reference(torch_dpo, "ppo_clip_loss", token_level=True, reduction="mean")
    with pytest.raises(ValueError, match="clip_low"):
        assert_matches_reference(torch_dpo, "ppo_clip_loss", clip_low=1.5)


# -------------------------------------------------------------------------- dtype tolerances


def dpo_in(dtype):
    def fn(cw, cl, rw, rl, *, beta):
        return torch_dpo(*(x.to(dtype) for x in (cw, cl, rw, rl)), beta=beta)

    return fn


def test_float32_gets_the_float32_tolerance_and_the_message_says_so():
    report = assert_matches_reference(dpo_in(torch.float32), "dpo", beta=0.1, check_grad=True,
                                      max_examples=40)
    assert report.dtype == "float32" and (report.rtol, report.atol) == TOLERANCES["float32"]
    assert report.tolerance == "auto (float32)"
    # the same function at the float64 tolerance fails, and the message names what was used
    msg = _caught(dpo_in(torch.float32), "dpo", beta=0.1, rtol=1e-6, atol=1e-9)
    assert "(given)" in msg and "your dtype float32" in msg
    # and a float32 implementation off by 0.1% in beta is still caught at its tolerance
    def off(cw, cl, rw, rl, *, beta):
        return dpo_in(torch.float32)(cw, cl, rw, rl, beta=beta * 1.001)

    assert "auto (float32)" in _caught(off, "dpo", beta=0.1)


def test_bfloat16_passes_at_its_tolerance_on_moderate_inputs():
    report = assert_matches_reference(dpo_in(torch.bfloat16), "dpo", beta=0.1, extreme=False,
                                      check_grad=True, max_examples=40)
    assert report.dtype == "bfloat16" and (report.rtol, report.atol) == TOLERANCES["bfloat16"]


# ----------------------------------------------------------------- near misses, every family

NEAR = dict(rtol=1e-3, atol=1e-6)  # a kit loosened to this would pass the marked near misses


def test_near_miss_pairwise_beta_off_by_a_tenth_of_a_percent():
    def off(cw, cl, rw, rl, *, beta):
        return torch_dpo(cw, cl, rw, rl, beta=beta * 1.001)

    _caught(off, "dpo", beta=0.1)

    def off_by_1e5(cw, cl, rw, rl, *, beta):  # relative error below 1e-3 on every input
        return torch_dpo(cw, cl, rw, rl, beta=beta * (1 + 1e-5))

    _caught(off_by_1e5, "dpo", beta=0.1, extreme=False)
    assert_matches_reference(off_by_1e5, "dpo", beta=0.1, extreme=False, max_examples=N, **NEAR)

    def ipo_target_off(cw, cl, rw, rl, *, beta):  # 1/(2 beta) off by 1e-4 relative
        return ((cw - rw) - (cl - rl) - 1.0001 / (2 * beta)) ** 2

    _caught(ipo_target_off, "ipo", beta=0.1, extreme=False)
    assert_matches_reference(ipo_target_off, "ipo", beta=0.1, extreme=False, max_examples=N,
                             **dict(NEAR, atol=2e-3))


def test_near_miss_grpo_epsilon():
    """verl's 1e-6 where TRL's 1e-4 is asked: a relative difference of about 1e-4 / std."""

    def grpo(R, eps=1e-6):
        if R.shape[1] == 1:
            return torch.zeros_like(R)
        c = R - R.mean(1, keepdim=True)
        return c / (R.std(1, keepdim=True) + eps)

    _caught(grpo, "grpo_advantages", atol=1e-7)
    assert_matches_reference(lambda R: grpo(R, 1e-4), "grpo_advantages", atol=1e-7,
                             max_examples=N)


def test_near_miss_kl_k2_for_small_log_ratios():
    """k2 = x^2/2 agrees with k3 = e^-x - 1 + x to second order: a 'stable' k3 that switches to
    k2 below |x| < 0.1 is wrong by x/3 relative there."""

    def k3_with_k2_shortcut(lp, ref, *, kind):
        x = lp - ref
        k3 = torch.exp(-x) - 1 + x
        return torch.where(x.abs() < 0.1, 0.5 * x * x, k3)

    _caught(k3_with_k2_shortcut, "kl_estimate", kind="k3")
    assert_matches_reference(k3_with_k2_shortcut, "kl_estimate", kind="k3", max_examples=N,
                             rtol=0.04, atol=1e-6)


def test_near_miss_policy_gradient_clip_and_aggregation():
    from prefrl.torch import losses as tl

    def clip_off(lp, old, A, m, *, mode):  # epsilon 0.2 read as 0.201
        return tl.ppo_clip_loss(lp, old, A, m, clip_low=0.201, mode=mode)

    _caught(clip_off, "ppo_clip_loss", mode="token-mean", extreme=False)

    def swapped(lp, old, A, m, *, mode, clip_low, clip_high):
        return tl.ppo_clip_loss(lp, old, A, m, clip_low=clip_high, clip_high=clip_low, mode=mode)

    _caught(swapped, "ppo_clip_loss", mode="token-mean", clip_low=0.2, clip_high=0.28)

    def verl_eps_mean(L, m, mode):  # seq-mean-token-mean with a 1e-3 guard instead of 1e-8
        n = m.sum(1)
        rows = n > 0
        return ((L * m).sum(1)[rows] / (n[rows] + 1e-3)).mean()

    _caught(verl_eps_mean, "aggregate", mode="seq-mean-token-mean", extreme=False)
    assert_matches_reference(verl_eps_mean, "aggregate", mode="seq-mean-token-mean",
                             extreme=False, max_examples=N, rtol=2e-3, atol=1e-2)


def test_near_miss_reference_free_and_unpaired():
    def simpo_margin_inside(cw, cl, *, beta, margin, chosen_lengths, rejected_lengths):
        # SimPO with its margin inside the beta scale: beta (h - margin) instead of beta h - margin
        h = cw / chosen_lengths - cl / rejected_lengths
        return -F.logsigmoid(beta * (h - margin))

    _caught(simpo_margin_inside, "simpo")

    def kto_weight_off(lp, ref, *, desirable, beta, reference_point):
        r = lp - ref
        z = torch.where(desirable, beta * (r - reference_point), beta * (reference_point - r))
        w = torch.where(desirable, torch.ones_like(r), torch.full_like(r, 1.001))
        return w * (1 - torch.sigmoid(z))

    _caught(kto_weight_off, "kto")


# ------------------------------------------------------------------------------- token level


def _seq(x, m, how="sum"):
    s = torch.where(m, x, torch.zeros_like(x)).sum(-1)
    return s / m.sum(-1) if how == "mean" else s


def test_token_level_dpo_sum_passes_and_the_per_token_mean_bug_is_caught():
    def trl_dpo(cw, cl, rw, rl, mc, mr, *, beta):
        h = (_seq(cw, mc) - _seq(rw, mc)) - (_seq(cl, mr) - _seq(rl, mr))
        return -F.logsigmoid(beta * h)

    report = assert_matches_reference(trl_dpo, "dpo", token_level=True, check_grad=True,
                                      beta=0.1, max_examples=40)
    assert report.token_level and report.reduction == "sum"

    def mean_dpo(cw, cl, rw, rl, mc, mr, *, beta):
        h = (_seq(cw, mc, "mean") - _seq(rw, mc, "mean")) - (_seq(cl, mr, "mean")
                                                             - _seq(rl, mr, "mean"))
        return -F.logsigmoid(beta * h)

    msg = _caught(mean_dpo, "dpo", token_level=True, beta=0.1)
    assert "token level, reduction='sum'" in msg and "chosen_mask" not in msg.splitlines()[0]
    # it is the mean convention, and that is sigmoid_norm
    assert_matches_reference(mean_dpo, "dpo", token_level=True, reduction="mean",
                             check_grad=True, beta=0.1, max_examples=30)
    assert_matches_reference(mean_dpo, "sigmoid_norm", token_level=True, check_grad=True,
                             beta=0.1, max_examples=30)


def test_token_level_catches_unmasked_padding_and_a_one_off_mask():
    def unmasked(cw, cl, rw, rl, mc, mr, *, beta):
        h = (cw.sum(-1) - rw.sum(-1)) - (cl.sum(-1) - rl.sum(-1))
        return -F.logsigmoid(beta * h)

    _caught(unmasked, "dpo", token_level=True, beta=0.1)

    def shifted(cw, cl, rw, rl, mc, mr, *, beta):  # the mask rolled by one token (off by one)
        mc, mr = torch.roll(mc, 1, -1), torch.roll(mr, 1, -1)
        h = (_seq(cw, mc) - _seq(rw, mc)) - (_seq(cl, mr) - _seq(rl, mr))
        return -F.logsigmoid(beta * h)

    _caught(shifted, "dpo", token_level=True, beta=0.1)


def test_token_level_draws_padding_on_both_sides_and_empty_rows():
    seen = {"left": False, "right": False, "empty": False, "ragged": False}

    def spy(cw, cl, rw, rl, mc, mr, *, beta):
        m = mc.numpy()
        for row in m:
            if row.any() and not row[0] and row[-1]:
                seen["left"] = True
            if row.any() and row[0] and not row[-1]:
                seen["right"] = True
            seen["empty"] |= not row.any()
        seen["ragged"] |= len(set(m.sum(1).tolist())) > 1
        h = (_seq(cw, mc) - _seq(rw, mc)) - (_seq(cl, mr) - _seq(rl, mr))
        return -F.logsigmoid(beta * h)

    assert_matches_reference(spy, "dpo", token_level=True, beta=0.1, max_examples=100)
    assert all(seen.values()), seen


def test_token_level_policy_gradient_with_its_aggregation_mode():
    def grpo_loss(lp, old, A, m, *, mode):
        A = A[:, None] if A.ndim == 1 else A
        rho = torch.exp(torch.where(m, lp - old, torch.zeros_like(lp)))
        L = torch.maximum(-A * rho, -A * rho.clamp(0.8, 1.2))
        L = torch.where(m, L, torch.zeros_like(L))
        n = m.sum(1)
        rows = n > 0
        return (L.sum(1)[rows] / n[rows]).mean()

    assert_matches_reference(grpo_loss, "ppo_clip_loss", token_level=True, check_grad=True,
                             mode="seq-mean-token-mean", max_examples=40)
    _caught(grpo_loss, "ppo_clip_loss", token_level=True, mode="token-mean")
