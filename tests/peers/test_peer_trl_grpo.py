"""Peer test: the GRPO-family surrogates and aggregation modes against TRL 1.16.0 GRPOTrainer.

``GRPOTrainer._compute_loss`` is called unbound on a stub ``self`` whose
``_get_per_token_logps_and_entropies`` returns our per-token log-probs (no model). Each TRL
``loss_type`` is a prefrl aggregation mode:

==========  =================================================================
TRL         prefrl
==========  =================================================================
grpo        ``ppo_clip_loss(..., mode="seq-mean-token-mean")``
bnpo, dapo  ``mode="token-mean"`` (dapo: one process, GA = steps_per_generation)
dr_grpo     ``mode="seq-mean-token-sum-norm", horizon=max_completion_length``
luspo       ``mode="seq-mean-token-sum"``
cispo       ``cispo_loss(..., max_ratio=epsilon_high, mode="token-mean")``
==========  =================================================================

TRL counts every row in its per-sequence means; prefrl drops rows without tokens. Completions
always have a token in TRL, so the masks drawn here have no empty row.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")
GRPOTrainer = pytest.importorskip("trl.trainer.grpo_trainer").GRPOTrainer

from prefrl import losses  # noqa: E402

pytestmark = pytest.mark.skipif(trl.__version__ != "1.16.0",
                                reason=f"pinned to trl 1.16.0, found {trl.__version__}")

MODES = {"grpo": "seq-mean-token-mean", "bnpo": "token-mean", "dapo": "token-mean",
         "dr_grpo": "seq-mean-token-sum-norm", "luspo": "seq-mean-token-sum"}


class _Acc:
    num_processes = 1
    sync_gradients = True

    @staticmethod
    def gather(x):
        return x

    gather_for_metrics = gather

    @staticmethod
    def reduce(x, reduction="sum"):
        return x


def _stub(loss_type, logp, *, level="token", eps_low=0.2, eps_high=0.28, beta=0.0, T=4):
    def per_token(model, input_ids, attention_mask, logits_to_keep, **kw):
        return logp, torch.zeros_like(logp), None

    return SimpleNamespace(
        _get_per_token_logps_and_entropies=per_token, top_entropy_quantile=1.0,
        off_policy_mask_threshold=None, importance_sampling_level=level, beta=beta,
        loss_type=loss_type, epsilon_low=eps_low, epsilon_high=eps_high,
        args=SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1),
        use_vllm=False, vllm_importance_sampling_correction=False,
        model=SimpleNamespace(training=True), current_gradient_accumulation_steps=1,
        max_completion_length=T, accelerator=_Acc(), _entropy_bonus_enabled=False,
        aux_loss_enabled=False, router_aux_loss_coef=0.0,
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
    )


def _inputs(mask, old, A, ref=None):
    B, T = mask.shape
    d = {
        "prompt_ids": torch.ones(B, 1, dtype=torch.long),
        "prompt_mask": torch.ones(B, 1, dtype=torch.long),
        "completion_ids": torch.ones(B, T, dtype=torch.long),
        "completion_mask": torch.tensor(mask, dtype=torch.float64),
        "advantages": torch.tensor(A),
        "old_per_token_logps": torch.tensor(old),
        "num_items_in_batch": torch.tensor(float(mask.sum())),
    }
    if ref is not None:
        d["ref_per_token_logps"] = torch.tensor(ref)
    return d


@st.composite
def batches(draw):
    B, T = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    lengths = draw(hnp.arrays(np.int64, B, elements=st.integers(1, T)))
    mask = (np.arange(T)[None] < lengths[:, None]).astype(float)
    lp = draw(hnp.arrays(np.float64, (B, T), elements=st.floats(-5, 0)))
    delta = draw(hnp.arrays(np.float64, (B, T), elements=st.floats(-0.6, 0.6)))
    A = draw(hnp.arrays(np.float64, B, elements=st.floats(-2, 2)))
    return mask, lp, lp + delta, A


def _trl(loss_type, mask, lp, old, A, **kw):
    logp = torch.tensor(lp, requires_grad=True)
    loss = GRPOTrainer._compute_loss(_stub(loss_type, logp, T=mask.shape[1], **kw), None,
                                     _inputs(mask, old, A))
    loss.backward()
    return float(loss.detach()), logp.grad.numpy()


def _not_at_a_kink(lp, old, mask, A, level, lo=0.8, hi=1.28):
    lr = np.where(mask > 0, lp - old, 0)
    if level == "sequence":
        lr = np.broadcast_to((lr.sum(1) / mask.sum(1))[:, None], lr.shape)
    rho = np.exp(lr)
    return np.all(np.abs(rho - lo) > 1e-9) and np.all(np.abs(rho - hi) > 1e-9)


@pytest.mark.parametrize("loss_type", sorted(MODES))
@pytest.mark.parametrize("level", ["token", "sequence"])
@settings(max_examples=12)
@given(batch=batches())
def test_clipped_surrogate_and_aggregation_equal_trl(loss_type, level, batch):
    mask, lp, old, A = batch
    got, g = _trl(loss_type, mask, lp, old, A, level=level)
    opts = dict(clip_low=0.2, clip_high=0.28, level=level, mode=MODES[loss_type])
    if loss_type == "dr_grpo":
        opts["horizon"] = mask.shape[1]
    v, grads = losses.value_and_grad("ppo_clip_loss", lp, old, A, mask, **opts)
    np.testing.assert_allclose(got, v, rtol=1e-12, atol=1e-14)
    if _not_at_a_kink(lp, old, mask, A, level):
        np.testing.assert_allclose(g, grads[0], rtol=1e-9, atol=1e-14)


@settings(max_examples=12)
@given(batch=batches())
def test_cispo_equals_trl_with_absolute_cap(batch):
    mask, lp, old, A = batch
    got, g = _trl("cispo", mask, lp, old, A, eps_high=1.1)
    v, grads = losses.value_and_grad("cispo_loss", lp, old, A, mask, max_ratio=1.1)
    np.testing.assert_allclose(got, v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, grads[0], rtol=1e-12, atol=1e-14)


def test_k3_penalty_composes():
    """TRL adds beta * k3 per token before aggregating; so does
    aggregate(ppo_clip_loss(mode=None) + beta * kl_estimate(kind="k3"))."""
    rng = np.random.default_rng(0)
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=float)
    lp = rng.uniform(-4, 0, mask.shape)
    old = lp + rng.uniform(-0.3, 0.3, mask.shape)
    ref = lp + rng.uniform(-1, 1, mask.shape)
    A = rng.normal(size=3)
    logp = torch.tensor(lp, requires_grad=True)
    loss = GRPOTrainer._compute_loss(_stub("grpo", logp, beta=0.04), None,
                                     _inputs(mask, old, A, ref=ref))
    per_tok = losses.ppo_clip_loss(lp, old, A, mask, clip_low=0.2, clip_high=0.28, mode=None)
    total = per_tok + 0.04 * losses.kl_estimate(lp, ref, kind="k3") * mask
    want = losses.aggregate(total, mask, "seq-mean-token-mean")
    np.testing.assert_allclose(float(loss.detach()), want, rtol=1e-12)
