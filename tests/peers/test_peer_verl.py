"""Peer test: verl 0.9.1 ``verl.trainer.ppo.core_algos``, exercised through the kit itself.

Each verl function is wrapped to the signature of the prefrl reference it should equal and
passed to :func:`prefrl.testing.assert_matches_reference`: the kit must pass it where the
conventions match (with the option that names verl's convention), and find the documented
differences where they differ. ``core_algos`` is loaded with its heavy imports stubbed (see
``conftest.py``); run under ``CI`` these tests do not skip.
"""

from __future__ import annotations

import numpy as np
import pytest

from prefrl.testing import assert_matches_reference

torch = pytest.importorskip("torch")
N = 40


def _differs(fn, name, match=None, **kw):
    kw.setdefault("max_examples", N)
    with pytest.raises(AssertionError) as info:
        assert_matches_reference(fn, name, **kw)
    assert f"{name}: your implementation differs" in str(info.value)
    if match:
        assert match in str(info.value), str(info.value)
    return str(info.value)


@pytest.mark.parametrize("mode", ["token-mean", "token-sum", "seq-mean-token-sum",
                                  "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_agg_loss_every_mode(verl_core, mode):
    def agg(L, m, mode, horizon=None):
        return verl_core.agg_loss(L, m.to(L.dtype), mode, loss_scale_factor=horizon)

    r = assert_matches_reference(agg, "aggregate", mode=mode, token_level=True, check_grad=True,
                                 max_examples=N)
    assert r.backend == "torch"
    assert_matches_reference(agg, "aggregate", mode=mode, horizon=7.0, max_examples=N)


@pytest.mark.parametrize("kind", ["k1", "k2", "k3", "k1+", "k2+", "k3+"])
def test_kl_penalty_is_clamp_verl(verl_core, kind):
    def kl(lp, ref, *, kind, clamp):
        return verl_core.kl_penalty(lp, ref, kind)

    assert_matches_reference(kl, "kl_estimate", kind=kind, clamp="verl", check_grad=True,
                             max_examples=N)
    if kind.startswith("k3"):  # documented: verl clamps k3; prefrl's default is exact
        _differs(kl, "kl_estimate", kind=kind, clamp=None)


def _grpo_via_verl(verl_core, eps):
    def grpo(R, **_):
        P, G = R.shape
        index = np.repeat(np.arange(P), G)
        mask = torch.ones(P * G, 1, dtype=R.dtype)
        adv, _ = verl_core.compute_grpo_outcome_advantage(R.reshape(-1, 1), mask, index,
                                                          epsilon=eps)
        return adv.reshape(P, G)

    return grpo


def test_grpo_advantages(verl_core):
    grpo = _grpo_via_verl(verl_core, 1e-6)
    assert_matches_reference(grpo, "grpo_advantages", eps=1e-6, singleton="reward",
                             atol=1e-7, max_examples=N)
    # documented differences: TRL's eps 1e-4 and singleton groups of advantage 0
    _differs(grpo, "grpo_advantages", atol=1e-7)
    _differs(grpo, "grpo_advantages", eps=1e-6, atol=1e-7)


def test_dr_grpo_and_rloo(verl_core):
    def dr_grpo(R, **_):
        P, G = R.shape
        index = np.repeat(np.arange(P), G)
        adv, _ = verl_core.compute_grpo_outcome_advantage(
            R.reshape(-1, 1), torch.ones(P * G, 1, dtype=R.dtype), index,
            norm_adv_by_std_in_grpo=False)
        return adv.reshape(P, G)

    # verl's singleton groups have mean 0: A = R there (prefrl's "none" gives 0): G >= 2 only
    def two_or_more(R, **kw):
        return dr_grpo(R) if R.shape[1] > 1 else torch.zeros_like(R)

    assert_matches_reference(two_or_more, "grpo_advantages", scale="none", max_examples=N)

    def rloo(R):
        P, G = R.shape
        index = np.repeat(np.arange(P), G)
        adv, _ = verl_core.compute_rloo_outcome_advantage(
            R.reshape(-1, 1), torch.ones(P * G, 1, dtype=R.dtype), index)
        return adv.reshape(P, G)

    assert_matches_reference(rloo, "rloo_advantages", max_examples=N)


def test_reinforce_plus_plus(verl_core):
    def rpp(r, m):
        adv, _ = verl_core.compute_reinforce_plus_plus_outcome_advantage(
            r, m.to(r.dtype), config=verl_core.AlgoConfig(gamma=1.0))
        return adv

    # completion masks as trainers build them (one run of tokens per row): equal
    # (documented: verl's masked_mean divides by n + 1e-8, so constant returns, of variance 0,
    # get advantages of order 1e-8 |G| / sqrt(1e-8) instead of 0: atol 1e-4)
    assert_matches_reference(rpp, "reinforce_pp_advantages", token_level=True, atol=1e-4,
                             max_examples=N)
    # documented difference: masks with holes (observation tokens of multi-turn rollouts):
    # verl 0.9.1 carries the return through them, prefrl restarts it after a masked token
    _differs(rpp, "reinforce_pp_advantages", atol=1e-4)


def test_remax(verl_core):
    def remax(R, b, m):
        mf = m.to(R.dtype)
        T = m.shape[1]
        last = T - 1 - torch.flip(m.long(), dims=[1]).argmax(dim=1)  # the last valid token
        r = torch.zeros_like(mf)
        r[torch.arange(len(R)), last] = R
        adv, _ = verl_core.compute_remax_outcome_advantage(r, b, mf)
        return adv

    def remax_masked(R, b, m):
        return remax(R, b, m) * m

    assert_matches_reference(remax_masked, "remax_advantages", max_examples=N)
    assert_matches_reference(remax_masked, "remax_advantages", token_level=True, max_examples=N)
    # documented: verl leaves R - b on the padding before a response (left padding, a prompt);
    # agg_loss masks it out later, prefrl's advantages are 0 there
    _differs(remax, "remax_advantages", token_level=True)


def _adv2d(A, like):
    return A[:, None].expand_as(like) if A.ndim == 1 else A


def test_vanilla_ppo_is_the_dual_clip(verl_core):
    def vanilla(lp, old, A, m, *, mode, clip_low, clip_high, dual_clip):
        cfg = verl_core.ActorConfig(clip_ratio=clip_low, clip_ratio_low=clip_low,
                                    clip_ratio_high=clip_high, clip_ratio_c=3.0)
        return verl_core.compute_policy_loss_vanilla(old, lp, _adv2d(A, lp), m.to(lp.dtype),
                                                     loss_agg_mode=mode, config=cfg)[0]

    for mode in ("token-mean", "seq-mean-token-mean"):
        assert_matches_reference(vanilla, "ppo_clip_loss", mode=mode, clip_low=0.2,
                                 clip_high=0.28, dual_clip=3.0, token_level=True,
                                 check_grad=True, extreme=False, max_examples=N)
    # documented: without the dual clip (prefrl's and TRL's default) the losses differ
    _differs(vanilla, "ppo_clip_loss", mode="token-mean", clip_low=0.2, clip_high=0.28,
             dual_clip=None, extreme=False)


def test_gspo_and_cispo(verl_core):
    def gspo(lp, old, A, m, *, mode, clip_low, clip_high, level):
        cfg = verl_core.ActorConfig(clip_ratio=clip_low, clip_ratio_low=clip_low,
                                    clip_ratio_high=clip_high)
        return verl_core.compute_policy_loss_gspo(old, lp, _adv2d(A, lp), m.to(lp.dtype),
                                                  loss_agg_mode=mode, config=cfg)[0]

    opts = dict(mode="seq-mean-token-mean", clip_low=3e-4, clip_high=4e-4, level="sequence")
    # values: equal
    assert_matches_reference(gspo, "ppo_clip_loss", token_level=True, extreme=False,
                             max_examples=N, **opts)
    # documented: verl implements GSPO-token (Zheng et al. 2025, Sec. 4.3): each token's ratio
    # carries the gradient of its own log-prob, and the old log-probs are detached; the
    # gradient equals GSPO's only when the advantage is constant along each sequence
    _differs(gspo, "ppo_clip_loss", match="d/dlogp", token_level=True, check_grad=True,
             extreme=False, constants=("old_logp",), **opts)
    # documented: verl clamps the sequence log-ratio at 10 (prefrl does not)
    _differs(gspo, "ppo_clip_loss", max_examples=300, **opts)

    def cispo(lp, old, A, m, *, mode, clip_low, clip_high):
        cfg = verl_core.ActorConfig(clip_ratio=clip_low, clip_ratio_low=clip_low,
                                    clip_ratio_high=clip_high)
        return verl_core.compute_policy_loss_cispo(old, lp, _adv2d(A, lp), m.to(lp.dtype),
                                                   loss_agg_mode=mode, config=cfg)[0]

    assert_matches_reference(cispo, "cispo_loss", mode="token-mean", clip_low=0.2,
                             clip_high=0.28, token_level=True, check_grad=True, extreme=False,
                             max_examples=N)
