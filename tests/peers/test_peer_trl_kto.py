"""Peer test: KTO against TRL 1.16.0 ``KTOTrainer._compute_loss`` (unbound, stub self and model).

TRL's reference point is ``max(0, mean(KL_logps - ref_KL_logps))`` on mismatched pairs, detached;
the loss is the mean over the concatenated desirable and undesirable per-example losses.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")
KTOTrainer = pytest.importorskip("trl.trainer.kto_trainer").KTOTrainer

from prefrl import losses  # noqa: E402

pytestmark = pytest.mark.skipif(trl.__version__ != "1.16.0",
                                reason=f"pinned to trl 1.16.0, found {trl.__version__}")


class _Acc:
    device = torch.device("cpu")

    @staticmethod
    def gather_for_metrics(x):
        return x


def _trl_kto(lp, ref, labels, kl_lp, kl_ref, *, beta, lam_d, lam_u, loss_type="kto"):
    n = len(lp)
    tok = torch.tensor(lp, dtype=torch.float64)[:, None].clone().requires_grad_(True)

    def model(**kw):
        z = torch.zeros(n, 1, dtype=torch.float64)
        return SimpleNamespace(log_probs=tok, entropy=z, mean_logits=z)

    stub = SimpleNamespace(
        model=SimpleNamespace(training=True), accelerator=_Acc(), aux_loss_enabled=False,
        precompute_ref_logps=True, calculate_KL=True, loss_type=loss_type, beta=beta,
        desirable_weight=lam_d, undesirable_weight=lam_u,
        _compute_kl_logps=lambda model, batch: torch.tensor(kl_lp),
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
        _total_train_tokens=0, _tp_size=1,
    )
    batch = {
        "input_ids": torch.ones(n, 2, dtype=torch.long),
        "attention_mask": torch.ones(n, 2, dtype=torch.long),
        "completion_mask": torch.tensor([[0, 1]] * n),
        "label": torch.tensor(labels),
        "ref_logps": torch.tensor(ref),
        "ref_KL_logps": torch.tensor(kl_ref),
    }
    loss = KTOTrainer._compute_loss(stub, model, batch, False)
    loss.backward()
    return float(loss.detach()), tok.grad[:, 0].numpy(), stub._metrics["train"]["kl"][0]


@pytest.mark.parametrize("seed", range(6))
def test_kto_equals_trl(seed):
    rng = np.random.default_rng(seed)
    n = 7
    lp, ref = -rng.uniform(5, 30, n), -rng.uniform(5, 30, n)
    labels = rng.random(n) < 0.5
    labels[0], labels[1] = True, False
    kl_lp, kl_ref = -rng.uniform(5, 30, n), -rng.uniform(5, 30, n)
    if seed % 2:
        kl_lp = kl_ref + rng.uniform(0, 2, n)  # a positive reference point
    got, g, kl = _trl_kto(lp, ref, labels, kl_lp, kl_ref, beta=0.1, lam_d=1.3, lam_u=0.8)
    z0 = losses.kto_reference_point(kl_lp, kl_ref)
    np.testing.assert_allclose(kl, z0, rtol=1e-12, atol=1e-15)
    v, (gp, _) = losses.value_and_grad("kto", lp, ref, desirable=labels, beta=0.1,
                                       reference_point=z0, desirable_weight=1.3,
                                       undesirable_weight=0.8)
    np.testing.assert_allclose(got, v.mean(), rtol=1e-12)
    np.testing.assert_allclose(g, gp / n, rtol=1e-10, atol=1e-15)
    # apo_zero_unpaired is KTO with reference point 0
    got0, _, _ = _trl_kto(lp, ref, labels, kl_lp, kl_ref, beta=0.1, lam_d=1.0, lam_u=1.0,
                          loss_type="apo_zero_unpaired")
    np.testing.assert_allclose(got0, losses.kto(lp, ref, desirable=labels, beta=0.1).mean(),
                               rtol=1e-12)
