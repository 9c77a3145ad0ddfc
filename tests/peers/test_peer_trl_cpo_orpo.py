"""Peer test: SimPO (and CPO's sigmoid/ipo) against TRL 1.16.0 ``CPOTrainer.cpo_loss``, ORPO's
odds-ratio term against ``ORPOTrainer.odds_ratio_loss``; both methods called unbound on a stub.

CPOTrainer averages log-probs for ``loss_type`` in {"ipo", "simpo"} (so it receives
:math:`\\log\\pi / L` here) and sums them otherwise. ORPOTrainer casts to float32 and returns
:math:`\\beta\\log\\sigma(\\cdot)`, which the trainer subtracts from its NLL.
"""

from __future__ import annotations

import os
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    CPOTrainer = pytest.importorskip("trl.experimental.cpo.cpo_trainer").CPOTrainer
    ORPOTrainer = pytest.importorskip("trl.experimental.orpo.orpo_trainer").ORPOTrainer

from prefrl import losses  # noqa: E402

pytestmark = pytest.mark.skipif(trl.__version__ != "1.16.0",
                                reason=f"pinned to trl 1.16.0, found {trl.__version__}")


class _Acc:
    device = torch.device("cpu")


def _cpo(loss_type, a_w, a_l, *, beta, gamma=0.5, eps=0.0):
    stub = SimpleNamespace(alpha=0.0, loss_type=loss_type, simpo_gamma=gamma, beta=beta,
                           label_smoothing=eps, accelerator=_Acc())
    out = CPOTrainer.cpo_loss(stub, torch.tensor(a_w), torch.tensor(a_l))[0]
    return out.numpy()


@pytest.mark.parametrize("seed", range(5))
def test_simpo_equals_cpo_trainer(seed):
    rng = np.random.default_rng(seed)
    n = 8
    lw, ll = rng.integers(1, 30, n).astype(float), rng.integers(1, 30, n).astype(float)
    c, r = -rng.uniform(0, 40, n), -rng.uniform(0, 40, n)
    for beta, gamma, eps in ((2.0, 0.5, 0.0), (2.5, 1.4, 0.1)):
        got = _cpo("simpo", c / lw, r / ll, beta=beta, gamma=gamma, eps=eps)
        want = losses.simpo(c, r, beta=beta, margin=gamma, chosen_lengths=lw, rejected_lengths=ll,
                            label_smoothing=eps)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # CPO's sigmoid (summed log-probs, no reference) is cdpo with zero reference log-probs
    z = np.zeros(n)
    np.testing.assert_allclose(_cpo("sigmoid", c, r, beta=0.1, eps=0.2),
                               losses.cdpo(c, r, z, z, beta=0.1, label_smoothing=0.2),
                               rtol=1e-12)
    # CPO's ipo uses averaged log-probs: prefrl.ipo with token counts and zero references
    np.testing.assert_allclose(_cpo("ipo", c / lw, r / ll, beta=0.1),
                               losses.ipo(c, r, z, z, beta=0.1, chosen_lengths=lw,
                                          rejected_lengths=ll), rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_orpo_odds_ratio_term_equals_trl(seed):
    rng = np.random.default_rng(seed)
    n = 8
    lw, ll = rng.integers(1, 30, n).astype(float), rng.integers(1, 30, n).astype(float)
    # averaged log-probs on both sides of log(1 - e^a)'s branch point -ln 2
    aw, al = -rng.uniform(0.01, 3, n), -rng.uniform(0.01, 3, n)
    stub = SimpleNamespace(beta=0.1, accelerator=_Acc())
    trl_terms = ORPOTrainer.odds_ratio_loss(stub, torch.tensor(aw), torch.tensor(al))[0]
    ours = losses.orpo(aw * lw, al * ll, beta=0.1, chosen_lengths=lw, rejected_lengths=ll,
                       nll=np.zeros(n))
    # TRL computes in float32 and returns +beta log sigma(log odds); prefrl's loss adds -that
    np.testing.assert_allclose(-trl_terms.numpy(), ours, rtol=2e-6, atol=1e-7)
