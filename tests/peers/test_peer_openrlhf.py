"""Peer test: OpenRLHF 0.11.2's loss classes and advantage estimators, through the kit itself.

``openrlhf/models/loss.py`` (``DPOLoss``, ``PolicyLoss``), ``openrlhf/models/utils.py``
(``compute_approx_kl``) and ``RemoteExperienceMaker.compute_advantages_and_returns`` of
``openrlhf/trainer/ppo_utils/experience_maker.py`` are loaded with deepspeed and ray stubbed (see
``conftest.py``). Each is wrapped to the signature of the prefrl reference it should equal; the
kit must pass it where the conventions match and find the documented differences.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from prefrl.testing import TOLERANCES, assert_matches_reference

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


# --------------------------------------------------------------------------------- DPOLoss


def _per_pair(loss_module):
    """OpenRLHF's DPOLoss returns the batch mean: call it pair by pair for per-pair values."""

    def fn(cw, cl, rw, rl, **_):
        return torch.stack([loss_module(cw[i:i + 1], cl[i:i + 1], rw[i:i + 1], rl[i:i + 1])[0]
                            for i in range(len(cw))])

    return fn


def test_dpo_loss_is_cdpo_and_summed_ipo(openrlhf_loss):
    L = openrlhf_loss.loss
    assert_matches_reference(_per_pair(L.DPOLoss(beta=0.1)), "dpo", beta=0.1, check_grad=True,
                             max_examples=N)
    assert_matches_reference(_per_pair(L.DPOLoss(beta=0.2, label_smoothing=0.1)), "cdpo",
                             beta=0.2, label_smoothing=0.1, check_grad=True, max_examples=N)
    assert_matches_reference(_per_pair(L.DPOLoss(beta=0.1, ipo=True)), "ipo", beta=0.1,
                             check_grad=True, max_examples=N)
    # documented: OpenRLHF's IPO sums the log-probs; TRL's DPOTrainer averages them
    _differs(_per_pair(L.DPOLoss(beta=0.1, ipo=True)), "ipo", beta=0.1,
             extra=("chosen_lengths", "rejected_lengths"))
    # documented: its label smoothing is cDPO's sign, not robust DPO's
    _differs(_per_pair(L.DPOLoss(beta=0.2, label_smoothing=0.1)), "robust_dpo", beta=0.2,
             label_smoothing=0.1)


def test_dpo_trainer_sums_token_log_probs(openrlhf_loss):
    """The per-token form: OpenRLHF's DPO trainer sums the masked token log-probs."""
    loss = openrlhf_loss.loss.DPOLoss(beta=0.1)

    def token_dpo(cw, cl, rw, rl, mc, mr, *, beta):
        s = [(x * m).sum(-1) for x, m in ((cw, mc), (cl, mr), (rw, mc), (rl, mr))]
        return _per_pair(loss)(*s)

    assert_matches_reference(token_dpo, "dpo", token_level=True, beta=0.1, check_grad=True,
                             max_examples=N)


# ------------------------------------------------------------------------------ PolicyLoss


def _policy(L, *, token_level_loss=True, policy_loss_type="ppo"):
    def fn(lp, old, A, m, *, mode, clip_low, clip_high, dual_clip=None, level="token"):
        A = A[:, None].expand_as(lp) if A.ndim == 1 else A
        loss = L.PolicyLoss(clip_eps_low=clip_low, clip_eps_high=clip_high, dual_clip=dual_clip,
                            token_level_loss=token_level_loss,
                            policy_loss_type=policy_loss_type)
        return loss(lp, old, A, action_mask=m.to(lp.dtype))[0]

    return fn


def test_policy_loss_ppo(openrlhf_loss):
    L = openrlhf_loss.loss
    opts = dict(clip_low=0.2, clip_high=0.28, token_level=True, check_grad=True, extreme=False,
                max_examples=N)
    assert_matches_reference(_policy(L), "ppo_clip_loss", mode="token-mean", **opts)
    assert_matches_reference(_policy(L), "ppo_clip_loss", mode="token-mean", dual_clip=3.0,
                             **opts)
    assert_matches_reference(_policy(L, token_level_loss=False), "ppo_clip_loss",
                             mode="seq-mean-token-mean", **opts)
    # documented: OpenRLHF clamps the log-ratio at +-20 (drawn at extreme=True: +-25)
    _differs(_policy(L), "ppo_clip_loss", mode="token-mean", clip_low=0.2, clip_high=0.28,
             check_grad=True)


def test_policy_loss_gspo(openrlhf_loss):
    L = openrlhf_loss.loss
    fn = _policy(L, token_level_loss=False, policy_loss_type="gspo")
    assert_matches_reference(fn, "ppo_clip_loss", mode="seq-mean-token-mean", level="sequence",
                             clip_low=3e-4, clip_high=4e-4, token_level=True, check_grad=True,
                             extreme=False, max_examples=N)
    # GSPO forces the per-sample mean: it is not token-mean
    _differs(fn, "ppo_clip_loss", mode="token-mean", level="sequence", clip_low=3e-4,
             clip_high=4e-4, token_level=True, extreme=False)


# ------------------------------------------------------------------------- compute_approx_kl


@pytest.mark.parametrize("kind", ["k1", "k2", "k3"])
def test_approx_kl_is_clamp_openrlhf_in_float32(openrlhf_loss, kind):
    def kl(lp, ref, *, kind, clamp):
        return openrlhf_loss.utils.compute_approx_kl(lp, ref, kl_estimator=kind)

    r = assert_matches_reference(kl, "kl_estimate", kind=kind, clamp="openrlhf", check_grad=True,
                                 max_examples=N)
    # documented: OpenRLHF computes the estimators in float32 (log_probs.float())
    assert r.dtype == "float32" and (r.rtol, r.atol) == TOLERANCES["float32"]
    _differs(kl, "kl_estimate", match="your dtype float32", kind=kind, clamp="openrlhf",
             rtol=1e-6, atol=1e-9)
    if kind != "k1":  # documented: every estimator clamped to [-10, 10]; prefrl's default exact
        _differs(kl, "kl_estimate", kind=kind, clamp=None)


# ------------------------------------------------------------------- advantage estimators


def _maker_self(maker, estimator, G, *, kl_coef=0.0):
    """A RemoteExperienceMaker without its __init__ (which starts Ray actors): its own methods,
    and the attributes compute_advantages_and_returns reads."""
    algo = SimpleNamespace(advantage=SimpleNamespace(estimator=estimator, gamma=1.0, lambd=1.0,
                                                     no_std_norm=False))
    args = SimpleNamespace(algo=algo, rollout=SimpleNamespace(n_samples_per_prompt=G),
                           reward=SimpleNamespace(clip_range=None),
                           overlong_buffer_len=None, stop_properly_penalty_coef=None)
    self_ = object.__new__(maker.RemoteExperienceMaker)
    self_.strategy = SimpleNamespace(args=args)
    self_.advantage_estimator = estimator
    self_.kl_ctl = SimpleNamespace(value=kl_coef)
    return self_


def _experience(rewards, mask, kl=None):
    B = len(rewards)
    return SimpleNamespace(rewards=rewards, index=list(range(B)), action_mask=mask,
                           kl=torch.zeros_like(mask, dtype=rewards.dtype) if kl is None else kl,
                           values=None, info={},
                           response_length=mask.sum(-1).to(rewards.dtype))


def _group_estimator(maker, estimator):
    """(P, G) outcome rewards -> OpenRLHF's advantages (one completion token per sample)."""

    def fn(R, **_):
        P, G = R.shape
        exp = _experience(R.reshape(-1).clone(), torch.ones(P * G, 1, dtype=R.dtype))
        maker.RemoteExperienceMaker.compute_advantages_and_returns(
            _maker_self(maker, estimator, G), [exp])
        return exp.advantages[:, 0].reshape(P, G)

    return fn


def test_group_estimators(openrlhf_maker):
    group_norm = _group_estimator(openrlhf_maker, "group_norm")
    rloo = _group_estimator(openrlhf_maker, "rloo")
    dr_grpo = _group_estimator(openrlhf_maker, "dr_grpo")

    def two_or_more(f):  # OpenRLHF groups have n_samples_per_prompt > 1
        return lambda R, **kw: f(R) if R.shape[1] > 1 else torch.zeros_like(R)

    assert_matches_reference(two_or_more(group_norm), "grpo_advantages", eps=1e-9, atol=1e-7,
                             max_examples=N)
    assert_matches_reference(two_or_more(dr_grpo), "grpo_advantages", scale="none",
                             max_examples=N)
    assert_matches_reference(lambda R: rloo(R) if R.shape[1] > 1 else R, "rloo_advantages",
                             max_examples=N)
    # documented: TRL's eps 1e-4; and a group of one sample has no std (NaN) in OpenRLHF
    _differs(two_or_more(group_norm), "grpo_advantages", atol=1e-7)
    _differs(group_norm, "grpo_advantages", match="nan", eps=1e-9, atol=1e-7)


def test_reinforce_whitens_with_the_population_variance(openrlhf_maker):
    """OpenRLHF ``reinforce`` (REINFORCE++): token rewards (here through its KL slot: reward =
    -kl_coef * kl with kl = -r), returns-to-go, batch whitening with the population variance
    (verl and prefrl: Bessel's). The advantages of masked tokens (never used by its loss) are
    compared after masking."""

    def reinforce(r, m):
        B = r.shape[0]
        exp = _experience(torch.zeros(B, dtype=r.dtype), m.to(r.dtype), kl=-r)
        self_ = _maker_self(openrlhf_maker, "reinforce", 1, kl_coef=1.0)
        openrlhf_maker.RemoteExperienceMaker.compute_advantages_and_returns(self_, [exp])
        return exp.advantages * m

    msg = _differs(reinforce, "reinforce_pp_advantages", token_level=True, atol=1e-4)
    assert "values" in msg
