"""Peer test: aggregation modes, KL estimators, GRPO/RLOO advantages and the dual-clip PPO loss
against verl 0.9.1 ``verl.trainer.ppo.core_algos``.

verl is not a test dependency: ``pip install --no-deps verl==0.9.1`` downloads, but importing
``core_algos`` pulls ``verl.protocol``, which needs ray, omegaconf, tensordict and more (its heavy
extras). The module is skipped unless verl imports; install those to run it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")
core = pytest.importorskip("verl.trainer.ppo.core_algos",
                           reason="verl (with ray, omegaconf, tensordict) is not installed")

from prefrl import losses  # noqa: E402


@st.composite
def token_batch(draw):
    B, T = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    m = draw(hnp.arrays(bool, (B, T)).filter(lambda x: x.any()))
    L = draw(hnp.arrays(np.float64, (B, T), elements=st.floats(-5, 5)))
    return L, m.astype(float)


@settings(max_examples=30)
@given(batch=token_batch(), mode=st.sampled_from(losses.AGGREGATION_MODES))
def test_agg_loss_modes(batch, mode):
    L, m = batch
    got = core.agg_loss(torch.tensor(L), torch.tensor(m), mode, loss_scale_factor=7)
    want = losses.aggregate(L, m, mode, horizon=7)
    # verl divides each sequence sum by (length + 1e-8) in seq-mean-token-mean
    np.testing.assert_allclose(float(got), want, rtol=1e-7, atol=1e-12)


@settings(max_examples=30)
@given(x=hnp.arrays(np.float64, (3, 4), elements=st.floats(-30, 5)),
       kind=st.sampled_from(["k1", "k2", "k3", "k1+", "k2+", "k3+"]))
def test_kl_penalty(x, kind):
    ref = np.zeros_like(x) - 1.0
    lp = torch.tensor(x, requires_grad=True)
    got = core.kl_penalty(lp, torch.tensor(ref), kind)
    got.sum().backward()
    v, g = losses.value_and_grad("kl_estimate", x, ref, kind=kind, clamp="verl")
    np.testing.assert_allclose(got.detach().numpy(), v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lp.grad.numpy(), g[0], rtol=1e-12, atol=1e-14)


@settings(max_examples=30)
@given(R=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 5)),
                    elements=st.one_of(st.floats(-3, 3), st.just(1.0))))
def test_grpo_and_rloo_advantages(R):
    P, G = R.shape
    index = np.repeat(np.arange(P), G)
    scores = torch.tensor(R.reshape(-1, 1))
    mask = torch.ones(P * G, 1, dtype=torch.float64)
    adv, _ = core.compute_grpo_outcome_advantage(scores, mask, index, epsilon=1e-6)
    want = losses.grpo_advantages(R, eps=1e-6, singleton="reward")
    # verl's singleton mean 0 / std 1 are float32 tensors: R / (1 + eps) in float32 precision
    rtol = 1e-6 if G == 1 else 1e-9
    np.testing.assert_allclose(adv.numpy().reshape(P, G), want, rtol=rtol, atol=1e-8)
    if G > 1:
        adv, _ = core.compute_rloo_outcome_advantage(scores, mask, index)
        np.testing.assert_allclose(adv.numpy().reshape(P, G), losses.rloo_advantages(R),
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore::FutureWarning")
@settings(max_examples=30)
@given(batch=token_batch(), delta=hnp.arrays(np.float64, (4, 5), elements=st.floats(-1, 1)))
def test_dual_clip_ppo(batch, delta):
    L, m = batch
    old = L - 5.0
    lp = old + delta[: L.shape[0], : L.shape[1]]
    A = np.sign(L) * (np.abs(L) + 0.1)
    got = core.compute_policy_loss(torch.tensor(old), torch.tensor(lp), torch.tensor(A),
                                   torch.tensor(m), cliprange=0.2, clip_ratio_c=3.0,
                                   loss_agg_mode="token-mean")[0]
    want = losses.ppo_clip_loss(lp, old, A, m, clip_low=0.2, dual_clip=3.0, mode="token-mean")
    np.testing.assert_allclose(float(got), want, rtol=1e-12, atol=1e-14)
