"""Peer test: every PAIRWISE entry against TRL 1.16.0's own DPOTrainer loss code.

TRL >= 0.29 has no standalone ``dpo_loss``; the loss lives in ``DPOTrainer._compute_loss``, which
runs the model itself. We call that method unbound on a stub ``self`` and a stub model that
returns our per-token log-probs (no model is downloaded), so TRL's own masking, length counting,
f-divergence scores, per-loss formulas and reduction (mean over pairs) are exercised. Gradients
are compared through the per-token log-probs.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")
DPOTrainer = pytest.importorskip("trl.trainer.dpo_trainer").DPOTrainer

from prefrl import losses  # noqa: E402
from prefrl.testing.strategies import pair_logps  # noqa: E402

pytestmark = pytest.mark.skipif(trl.__version__ != "1.16.0",
                                reason=f"pinned to trl 1.16.0, found {trl.__version__}")

TRL_LOSS_TYPES = ["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair",
                  "sppo_hard", "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop",
                  "sigmoid_norm"]
F_DIV_OK = ["sigmoid", "sigmoid_norm", "hinge", "ipo", "exo_pair", "robust", "discopop"]


class _Identity:
    device = torch.device("cpu")

    @staticmethod
    def gather(x):
        return x

    gather_for_metrics = gather

    @staticmethod
    def unwrap_model(m):
        return m


def _stub_self(loss_types, *, beta, label_smoothing=0.0, tau=0.05, f_divergence="reverse_kl",
               f_alpha=0.5, weights=None):
    return SimpleNamespace(
        model=SimpleNamespace(training=True), ref_model=None, accelerator=_Identity(),
        aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True,
        f_divergence_type=f_divergence, f_alpha_divergence_coef=f_alpha,
        loss_types=list(loss_types), loss_weights=weights or [1.0] * len(loss_types), beta=beta,
        label_smoothing=label_smoothing,
        args=SimpleNamespace(discopop_tau=tau, gradient_checkpointing_kwargs=None),
        use_weighting=False, router_aux_loss_coef=0.0,
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
        _total_train_tokens=0, _tp_size=1,
    )


def _batch(c, r, rc, rr, lw, ll, dtype):
    """Inputs of _compute_loss: one prompt token, then the completion; per-token log-probs that
    sum to the given sequence log-probs. Returns (inputs, stub_model, per_token_logps)."""
    B = len(c)
    lengths = np.concatenate([lw, ll]).astype(int)
    T = 1 + int(lengths.max())
    mask = torch.zeros(2 * B, T, dtype=torch.long)
    tok = torch.zeros(2 * B, T - 1, dtype=dtype)
    seq = np.concatenate([c, r])
    for i, L in enumerate(lengths):
        mask[i, 1 : 1 + L] = 1
        tok[i, :L] = float(seq[i]) / L
        tok[i, 0] += float(seq[i]) - float(tok[i, :L].sum())  # exact sum despite rounding
    tok.requires_grad_(True)

    def model(**kw):
        labels = kw["labels"]
        keep = (labels[:, 1:] != -100).to(dtype)
        z = torch.zeros(2 * B, T - 1, dtype=dtype)
        return SimpleNamespace(log_probs=tok * keep, entropy=z, mean_logits=z,
                               is_top1=torch.zeros(2 * B, T - 1, dtype=torch.bool),
                               log_sum_sq_probs=z, aux_loss=torch.zeros((), dtype=dtype))

    inputs = {
        "input_ids": torch.ones(2 * B, T, dtype=torch.long),
        "attention_mask": torch.ones(2 * B, T, dtype=torch.long),
        "completion_mask": mask,
        "ref_chosen_logps": torch.tensor(rc, dtype=dtype),
        "ref_rejected_logps": torch.tensor(rr, dtype=dtype),
    }
    return inputs, model, tok


def _ours(name, arrays, lw, ll, *, beta, label_smoothing, tau, f_divergence="reverse_kl",
          f_alpha=0.5):
    opts = dict(beta=beta)
    if name in ("robust", "exo_pair", "aot", "aot_unpaired"):
        opts["label_smoothing"] = label_smoothing
    if name == "discopop":
        opts["temperature"] = tau
    if name in ("ipo", "sigmoid_norm"):
        opts.update(chosen_lengths=lw, rejected_lengths=ll)
    if f_divergence != "reverse_kl":
        opts.update(f_divergence=f_divergence, f_alpha=f_alpha)
    return losses.value_and_grad(name, *arrays, **opts)


def _compare(name, arrays, lw, ll, *, beta=0.1, label_smoothing=0.1, tau=0.05,
             f_divergence="reverse_kl", f_alpha=0.5, dtype=torch.float64, rtol=1e-10):
    c, r, rc, rr = arrays
    inputs, model, tok = _batch(c, r, rc, rr, lw, ll, dtype)
    stub = _stub_self([name], beta=beta, label_smoothing=label_smoothing, tau=tau,
                      f_divergence=f_divergence, f_alpha=f_alpha)
    loss = DPOTrainer._compute_loss(stub, model, inputs, False)
    loss.backward()
    loss = loss.detach()
    if name == "exo_pair" and dtype == torch.float64:
        # TRL builds epsilon as a float32 tensor, so log(1 - eps) and log(eps) carry float32
        # rounding (relative 6e-8) into an otherwise float64 loss
        rtol = max(rtol, 1e-6)
    vals, grads = _ours(name, arrays, lw, ll, beta=beta, label_smoothing=label_smoothing,
                        tau=tau, f_divergence=f_divergence, f_alpha=f_alpha)
    B = len(c)
    np.testing.assert_allclose(float(loss), vals.mean(), rtol=rtol, atol=1e-12, err_msg=name)
    if name in ("aot", "aot_unpaired"):
        keys = ([c - r, rc - rr] if name == "aot" else [c - rc, r - rr])
        if any(len(np.unique(k)) < len(k) for k in keys):
            return  # at ties the sort's gradient routing is arbitrary (TRL's sort is unstable)
    # d loss / d token = d mean / d sequence logp, the same for every token of a sequence
    g_tok = tok.grad.double().numpy()
    got = np.concatenate([g_tok[:B, 0], g_tok[B:, 0]])
    want = np.concatenate([grads[0], grads[1]]) / B
    gatol = 1e-12 if rtol <= 1e-8 else rtol * np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=max(rtol, 1e-8), atol=gatol, err_msg=name)


def _lengths(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(1, 9, n).astype(float), rng.integers(1, 9, n).astype(float)


@pytest.mark.parametrize("name", TRL_LOSS_TYPES)
@settings(max_examples=8)
@given(arrays=pair_logps(5, extreme=False))
def test_registry_entry_equals_trl(name, arrays):
    lw, ll = _lengths(5, 0)
    # moderate margins (|h| <= 60, beta h <= 6): TRL's discopop exponentiates -beta h unguarded
    _compare(name, arrays, lw, ll)


@pytest.mark.parametrize("name", ["aot", "aot_unpaired", "robust", "exo_pair"])
def test_label_smoothing_conventions(name):
    rng = np.random.default_rng(3)
    arrays = [rng.uniform(-20, 0, 6) for _ in range(4)]
    lw, ll = _lengths(6, 1)
    for eps in (0.0 if name != "exo_pair" else 1e-3, 0.2, 0.45):
        _compare(name, arrays, lw, ll, label_smoothing=eps, beta=0.3)


def test_sigmoid_ignores_label_smoothing_in_trl_1_16():
    """TRL >= 0.29 dropped cDPO smoothing from loss_type='sigmoid': it equals prefrl.dpo with
    label_smoothing=0 whatever TRL's label_smoothing; prefrl.cdpo is what TRL <= 0.28 computed."""
    rng = np.random.default_rng(4)
    c, r, rc, rr = [rng.uniform(-20, 0, 4) for _ in range(4)]
    inputs, model, _ = _batch(c, r, rc, rr, *_lengths(4, 2), torch.float64)
    trl_loss = DPOTrainer._compute_loss(_stub_self(["sigmoid"], beta=0.2, label_smoothing=0.3),
                                        model, inputs, False).detach()
    np.testing.assert_allclose(float(trl_loss), losses.dpo(c, r, rc, rr, beta=0.2).mean(),
                               rtol=1e-12)
    assert not np.isclose(float(trl_loss),
                          losses.cdpo(c, r, rc, rr, beta=0.2, label_smoothing=0.3).mean())


@pytest.mark.parametrize("fdiv", ["forward_kl", "js_divergence", "alpha_divergence"])
@pytest.mark.parametrize("name", F_DIV_OK)
def test_f_divergences_equal_trl(name, fdiv):
    rng = np.random.default_rng(5)
    arrays = [rng.uniform(-3, 0, 6) for _ in range(4)]
    lw, ll = _lengths(6, 3)
    # TRL's alpha divergence only supports float32/16 (its exponent clamp table has no float64)
    dtype = torch.float32 if fdiv == "alpha_divergence" else torch.float64
    rtol = 2e-5 if dtype == torch.float32 else 1e-10
    _compare(name, arrays, lw, ll, f_divergence=fdiv, f_alpha=0.3, dtype=dtype, rtol=rtol,
             beta=0.5)


def test_multi_loss_weights_equal_weighted_means():
    rng = np.random.default_rng(6)
    c, r, rc, rr = [rng.uniform(-20, 0, 5) for _ in range(4)]
    lw, ll = _lengths(5, 4)
    inputs, model, _ = _batch(c, r, rc, rr, lw, ll, torch.float64)
    stub = _stub_self(["sigmoid", "ipo"], beta=0.1, weights=[1.0, 0.25])
    got = float(DPOTrainer._compute_loss(stub, model, inputs, False).detach())
    want = losses.dpo(c, r, rc, rr, beta=0.1).mean() + 0.25 * losses.ipo(
        c, r, rc, rr, beta=0.1, chosen_lengths=lw, rejected_lengths=ll).mean()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # TRL's reported rewards are beta * the raw summed log-ratios
    np.testing.assert_allclose(stub._metrics["train"]["rewards/chosen"][0],
                               np.mean(0.1 * (c - rc)), rtol=1e-12)
