"""Tests of prefrl.training: gradients, optimisers, vectorised runs and convergence to exact optima."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit, log_softmax

from prefrl.bandits import dpo_dataset_optimum, ipo_dataset_optimum
from prefrl.training import SGD, Adam, expand_grid, pairwise_loss_and_grad, train_pairwise


def _analytic(loss, theta, w, lo, ref, beta):
    """Mean DPO / IPO loss and logit gradient written out by hand (independent of prefrl.losses)."""
    logp = log_softmax(theta)
    h = (logp[w] - np.log(ref[w])) - (logp[lo] - np.log(ref[lo]))
    if loss == "dpo":
        val = np.logaddexp(0.0, -beta * h)
        dh = -beta * expit(-beta * h)
    else:
        val = (h - 1.0 / (2.0 * beta)) ** 2
        dh = 2.0 * (h - 1.0 / (2.0 * beta))
    E = np.eye(theta.size)
    # d h / d theta = e_w - e_l (the softmax normaliser cancels in the difference)
    return val.mean(), (dh[:, None] * (E[w] - E[lo])).mean(axis=0)


@st.composite
def batches(draw):
    K = draw(st.integers(2, 5))
    R = draw(st.integers(1, 3))
    B = draw(st.integers(1, 6))
    theta = draw(arrays(np.float64, (R, K), elements=st.floats(-5, 5)))
    w = draw(arrays(np.int64, (R, B), elements=st.integers(0, K - 1)))
    lo = draw(arrays(np.int64, (R, B), elements=st.integers(0, K - 1)))
    ref = draw(arrays(np.float64, K, elements=st.floats(0.05, 1.0)))
    beta = draw(arrays(np.float64, R, elements=st.sampled_from([0.1, 0.5, 2.0])))
    return theta, w, lo, ref / ref.sum(), beta


@settings(max_examples=40)
@given(batches(), st.sampled_from(["dpo", "ipo"]))
def test_gradient_matches_hand_derivation(batch, loss):
    theta, w, lo, ref, beta = batch
    R = theta.shape[0]
    vals, grad = pairwise_loss_and_grad(loss, theta, w, lo, np.log(np.tile(ref, (R, 1))), beta)
    for r in range(R):
        v, g = _analytic(loss, theta[r], w[r], lo[r], ref, beta[r])
        np.testing.assert_allclose(vals[r], v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grad[r], g, rtol=1e-9, atol=1e-12)


@settings(max_examples=20)
@given(batches(), st.sampled_from(["cdpo", "exo_pair", "robust_dpo"]))
def test_gradient_matches_finite_differences(batch, loss):
    theta, w, lo, ref, beta = batch
    R, K = theta.shape
    log_ref = np.log(np.tile(ref, (R, 1)))
    opts = {"label_smoothing": 0.1}
    _, grad = pairwise_loss_and_grad(loss, theta, w, lo, log_ref, beta, **opts)
    eps = 1e-6
    for k in range(K):
        d = np.zeros_like(theta)
        d[:, k] = eps
        up = pairwise_loss_and_grad(loss, theta + d, w, lo, log_ref, beta, **opts)[0]
        dn = pairwise_loss_and_grad(loss, theta - d, w, lo, log_ref, beta, **opts)[0]
        np.testing.assert_allclose(grad[:, k], (up - dn) / (2 * eps), atol=1e-6)


def test_adam_and_sgd_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    target = rng.normal(size=(2, 3))
    for ours, make in (
        (Adam(lr=0.05), lambda p: torch.optim.Adam([p], lr=0.05)),
        (SGD(lr=0.1, momentum=0.9), lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9)),
    ):
        x = np.zeros((2, 3))
        state = ours.init(x)
        p = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
        opt = make(p)
        for _ in range(25):
            g = 2 * (x - target) * np.abs(target)
            x, state = ours.update(x, g, state)
            opt.zero_grad()
            ((p - torch.tensor(target)) ** 2 * torch.tensor(np.abs(target))).sum().backward()
            opt.step()
        np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=8)
@given(st.integers(2, 5).flatmap(lambda K: st.tuples(
    st.just(K),
    arrays(np.int64, st.integers(1, 8), elements=st.integers(0, K - 1)),
    st.data())), st.sampled_from([0.2, 1.0]))
def test_full_batch_ipo_reaches_exact_least_squares(args, beta):
    """GD from pi_ref converges to the minimum-norm least-squares optimum (even when not unique)."""
    K, w, data = args
    lo = data.draw(arrays(np.int64, w.size, elements=st.integers(0, K - 1)))
    res = train_pairwise("ipo", w, lo, beta=beta, n_steps=3000, batch_size=None,
                         optimizer=SGD(lr=0.2), rng=0, n_actions=K, record_every=3000)
    exact = ipo_dataset_optimum(w, lo, np.full(K, 1.0 / K), beta)
    np.testing.assert_allclose(res.policy[0], exact.policy, atol=1e-7)
    assert res.certificate[0] < 1e-7
    np.testing.assert_allclose(res.value[0], exact.value, atol=1e-9)


def test_full_batch_dpo_reaches_exact_optimum_when_mle_exists():
    w, lo = [0, 1, 1, 2, 2, 0, 0], [1, 0, 2, 1, 0, 2, 1]
    exact = dpo_dataset_optimum(w, lo, np.full(3, 1 / 3), 0.5)
    assert exact.exists
    res = train_pairwise("dpo", w, lo, beta=0.5, n_steps=3000, batch_size=None,
                         optimizer=SGD(lr=2.0), rng=0, record_every=3000)
    np.testing.assert_allclose(res.policy[0], exact.policy, atol=1e-8)


def test_vectorised_runs_equal_separate_runs():
    w, lo = np.array([0, 1, 0, 2]), np.array([1, 2, 2, 0])
    betas, lrs = np.array([0.1, 0.5, 1.0]), np.array([0.05, 0.1, 0.02])
    for loss, opt in (("ipo", Adam), ("dpo", SGD)):
        both = train_pairwise(loss, w, lo, beta=betas, n_steps=200, batch_size=None,
                              optimizer=opt(lr=lrs), rng=0, record_every=50)
        assert both.policies.shape == (5, 3, 3) and both.steps.tolist() == [0, 50, 100, 150, 200]
        for r in range(3):
            one = train_pairwise(loss, w, lo, beta=betas[r], n_steps=200, batch_size=None,
                                 optimizer=opt(lr=lrs[r]), rng=0, record_every=50)
            np.testing.assert_allclose(both.policies[:, r], one.policies[:, 0], rtol=1e-12)


def test_minibatch_runs_differ_and_are_reproducible():
    w, lo = np.array([0, 1, 2]), np.array([1, 2, 0])
    a = train_pairwise("dpo", w, lo, beta=0.5, n_steps=50, batch_size=2, optimizer=Adam(0.01),
                       rng=3, n_runs=4)
    b = train_pairwise("dpo", w, lo, beta=0.5, n_steps=50, batch_size=2, optimizer=Adam(0.01),
                       rng=3, n_runs=4)
    np.testing.assert_array_equal(a.policy, b.policy)
    assert np.unique(a.policy.round(12), axis=0).shape[0] == 4
    np.testing.assert_allclose(a.policies[0], 1 / 3)


def test_per_run_datasets_and_reference_support():
    data = np.array([[[0, 1], [1, 2]], [[2, 1], [1, 0]]])
    res = train_pairwise("ipo", data[:, :, 0], data[:, :, 1], beta=1.0, n_steps=1500,
                         batch_size=None, optimizer=SGD(0.2), rng=0, n_actions=3)
    for r in range(2):
        exact = ipo_dataset_optimum(data[r, :, 0], data[r, :, 1], np.full(3, 1 / 3), 1.0)
        np.testing.assert_allclose(res.policy[r], exact.policy, atol=1e-8)
    # an action outside supp(pi_ref) keeps probability 0
    res = train_pairwise("dpo", [0], [1], beta=1.0, n_steps=20, batch_size=1, optimizer=Adam(0.1),
                         rng=0, pi_ref=[0.5, 0.5, 0.0])
    assert res.policy[0, 2] == 0.0 and np.isfinite(res.value).all()


def test_expand_grid():
    g = expand_grid(tau=[0.1, 0.5], seed=range(3))
    assert g["tau"].tolist() == [0.1] * 3 + [0.5] * 3 and g["seed"].tolist() == [0, 1, 2] * 2
    with pytest.raises(ValueError, match="tau"):
        expand_grid(tau=[])


def test_input_errors():
    kw = dict(beta=1.0, n_steps=1, batch_size=1, optimizer=Adam(0.1), rng=0)
    with pytest.raises(ValueError, match="loss"):
        train_pairwise("nope", [0], [1], **kw)
    with pytest.raises(ValueError, match="pi_ref"):
        train_pairwise("dpo", [0], [1], pi_ref=[1.0, 0.0], **kw)
    with pytest.raises(ValueError, match="n_runs"):
        train_pairwise("dpo", [0], [1], n_runs=2, **{**kw, "beta": [0.1, 0.2, 0.3]})
    with pytest.raises(TypeError, match="optimizer"):
        train_pairwise("dpo", [0], [1], **{**kw, "optimizer": "adam"})
    with pytest.raises(ValueError, match="batch_size"):
        train_pairwise("dpo", [0], [1], **{**kw, "batch_size": 0})
    with pytest.raises(ValueError, match="beta"):
        train_pairwise("dpo", [0], [1], **{**kw, "beta": -1.0})
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="winners"):
        pairwise_loss_and_grad("dpo", np.zeros((1, 2)), [[2]], [[0]], np.zeros((1, 2)), [1.0])


def test_renamed_init_and_the_rng_rule():
    """init_logits -> init (the old keyword warns); rng is needed only to draw mini-batches."""
    from prefrl.results import Result
    from prefrl.training import TrainingResult

    kw = dict(beta=0.5, n_steps=20, optimizer=SGD(lr=0.1), n_actions=3)
    new = train_pairwise("dpo", [0, 1], [1, 2], batch_size=None, init=[0.3, 0.0, -0.2], **kw)
    with pytest.warns(DeprecationWarning, match="init"):
        old = train_pairwise("dpo", [0, 1], [1, 2], batch_size=None,
                             init_logits=[0.3, 0.0, -0.2], **kw)
    np.testing.assert_array_equal(old.policies, new.policies)
    with pytest.raises(ValueError, match="rng"):
        train_pairwise("dpo", [0, 1], [1, 2], batch_size=1, **kw)
    a = train_pairwise("dpo", [0, 1], [1, 2], batch_size=1, rng=np.random.default_rng(5), **kw)
    b = train_pairwise("dpo", [0, 1], [1, 2], batch_size=1, rng=5, **kw)
    np.testing.assert_array_equal(a.policies, b.policies)
    assert isinstance(new, TrainingResult) and isinstance(new, Result)
    assert new.converged.shape == (1,) and new.iterations == 20
    np.testing.assert_array_equal(new.converged, new.certificate <= 1e-8)
    assert "steps" in new.keys() and new["steps"].tolist() == list(range(21))
