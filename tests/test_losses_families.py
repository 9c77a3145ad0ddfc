"""Unpaired, listwise and policy-gradient losses: gradients, identities, exact enumerations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl import losses
from prefrl.losses import value_and_grad

fl = st.floats(-3, 3, allow_nan=False)


def _fd(fn, arrays, which=None, h=1e-6):
    which = range(len(arrays)) if which is None else which
    out = {}
    for j in which:
        g = np.zeros_like(arrays[j])
        for idx in np.ndindex(arrays[j].shape):
            up = [a.copy() for a in arrays]
            dn = [a.copy() for a in arrays]
            up[j][idx] += h
            dn[j][idx] -= h
            g[idx] = (np.sum(fn(*up)) - np.sum(fn(*dn))) / (2 * h)
        out[j] = g
    noise = 10 * np.finfo(float).eps * np.abs(fn(*arrays)).sum() / h
    return out, noise


def _check_grads(name, arrays, opts, which=None):
    fn = getattr(losses, name)
    vals, grads = value_and_grad(name, *arrays, **opts)
    np.testing.assert_allclose(vals, fn(*arrays, **opts), rtol=1e-12)
    fd, noise = _fd(lambda *a: fn(*a, **opts), arrays, which)
    for j, f in fd.items():
        assert grads[j].shape == arrays[j].shape
        np.testing.assert_allclose(grads[j], f, rtol=1e-5, atol=1e-6 + noise)


# ------------------------------------------------------------------------------ unpaired


@given(n=st.integers(1, 5), data=st.data())
@settings(max_examples=30)
def test_unpaired_gradients(n, data):
    lp = data.draw(hnp.arrays(np.float64, n, elements=fl))
    lr = data.draw(hnp.arrays(np.float64, n, elements=fl))
    val = data.draw(hnp.arrays(np.float64, n, elements=fl))
    lab = data.draw(hnp.arrays(bool, n))
    beta = data.draw(st.sampled_from([0.1, 1.0, 3.0]))
    z0 = data.draw(st.floats(0, 2))
    _check_grads("kto", [lp, lr], dict(desirable=lab, beta=beta, reference_point=z0,
                                       desirable_weight=1.3, undesirable_weight=0.7))
    _check_grads("dro", [lp, lr, val], dict(rewards=val[::-1].copy(), beta=beta))
    _check_grads("pmpo", [lp, lr], dict(accepted=lab, alpha=0.3, beta=beta))


def test_kto_matches_formula_and_reference_point():
    lp, lr = np.array([-1.0, -2.0, -3.0]), np.array([-1.5, -1.0, -3.0])
    z0 = losses.kto_reference_point(lp, lr)
    assert z0 == 0.0  # mean log-ratio is (0.5 - 1 + 0)/3 < 0, clamped
    assert losses.kto_reference_point([0.0, -1.0], [-1.0, -1.0]) == 0.5
    d = np.array([True, False, True])
    r = lp - lr
    want = np.where(d, 1 - 1 / (1 + np.exp(-0.5 * (r - 0.2))), 1 - 1 / (1 + np.exp(-0.5 * (0.2 - r))))
    np.testing.assert_allclose(losses.kto(lp, lr, desirable=d, beta=0.5, reference_point=0.2),
                               want, rtol=1e-12)


@given(r=hnp.arrays(np.float64, 4, elements=fl), beta=st.floats(0.1, 3))
def test_dro_zero_at_soft_optimum(r, beta):
    """DRO: the loss vanishes at pi* = pi_ref exp(r/beta)/Z, V* = beta log Z (any mu)."""
    ref = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    logZ = np.log(np.sum(np.exp(ref + r / beta)))
    lp = ref + r / beta - logZ
    V = np.full(4, beta * logZ)
    v = losses.dro(lp, ref, V, rewards=r, beta=beta)
    assert np.all(v <= 1e-20 + 1e-24 * np.abs(r).max())
    # and not zero for a perturbed policy
    assert losses.dro(lp + np.array([0.1, 0, 0, 0]), ref, V, rewards=r, beta=beta)[0] > 0


# ------------------------------------------------------------------------------ listwise


@given(n=st.integers(1, 3), K=st.integers(2, 4), data=st.data())
@settings(max_examples=30)
def test_listwise_gradients(n, K, data):
    lp = data.draw(hnp.arrays(np.float64, (n, K), elements=fl))
    lr = data.draw(hnp.arrays(np.float64, (n, K), elements=fl))
    rw = data.draw(hnp.arrays(np.float64, (n, K), elements=fl))
    perm = np.array([data.draw(st.permutations(range(K))) for _ in range(n)])
    beta = data.draw(st.sampled_from([0.3, 1.0, 2.0]))
    _check_grads("plackett_luce_dpo", [lp, lr], dict(beta=beta, ranking=perm))
    _check_grads("exo", [lp, lr], dict(rewards=rw, beta=beta, beta_r=0.7))
    _check_grads("dpo_k", [lp, lr], dict(rewards=rw, beta=beta))


@given(a=hnp.arrays(np.float64, (5, 2), elements=fl), beta=st.floats(0.1, 3))
def test_listwise_reduce_to_dpo_for_two(a, beta):
    z = np.zeros_like(a)
    d = losses.dpo(a[:, 0], a[:, 1], z[:, 0], z[:, 1], beta=beta)
    # PL computes logsumexp(x) - x_0: absolute round-off of a few eps times |x|
    tol = dict(rtol=1e-12, atol=1e-14 * (1 + beta * np.abs(a).max()))
    np.testing.assert_allclose(losses.plackett_luce_dpo(a, z, beta=beta), d, **tol)
    hard = np.tile([1.0, 0.0], (5, 1))
    np.testing.assert_allclose(losses.dpo_k(a, z, rewards=hard, beta=beta, beta_r=1e-3), d,
                               rtol=1e-9, atol=tol["atol"])
    # ranking given explicitly: swapping columns and the ranking together changes nothing
    rank = np.tile([1, 0], (5, 1))
    np.testing.assert_allclose(losses.plackett_luce_dpo(a[:, ::-1], z, beta=beta, ranking=rank),
                               d, **tol)


def test_exo_is_reverse_kl_and_minimised_at_target():
    f = np.array([[0.3, -0.2, 1.0]])
    r = np.array([[1.0, 0.0, 2.0]])
    pf = np.exp(f) / np.exp(f).sum()
    pr = np.exp(r) / np.exp(r).sum()
    np.testing.assert_allclose(losses.exo(f, 0 * f, rewards=r, beta=1.0),
                               [np.sum(pf * np.log(pf / pr))], rtol=1e-12)
    np.testing.assert_allclose(losses.exo(r, 0 * r, rewards=r, beta=1.0), [0.0], atol=1e-15)


# ------------------------------------------------------------------------ advantages


def test_rloo_identity_and_unbiasedness_by_enumeration():
    """A_i = R_i - mean_{j != i} R_j = k/(k-1)(R_i - mean R), and E[(1/k) sum A_i grad log pi(a_i)]
    equals grad E_pi[r] exactly, by enumerating all K^k outcomes of a 3-armed bandit."""
    theta = np.array([0.3, -0.5, 0.1])
    pi = np.exp(theta) / np.exp(theta).sum()
    r = np.array([1.0, -2.0, 0.5])
    k = 3
    want = pi * (r - pi @ r)  # d/dtheta E_pi r for softmax
    est = np.zeros(3)
    for outcome in itertools.product(range(3), repeat=k):
        prob = np.prod(pi[list(outcome)])
        R = r[list(outcome)][None]
        A = losses.rloo_advantages(R)[0]
        loo = np.array([R[0, i] - np.mean(np.delete(R[0], i)) for i in range(k)])
        np.testing.assert_allclose(A, loo, rtol=1e-12, atol=1e-15)
        g = sum(A[i] * (np.eye(3)[a] - pi) for i, a in enumerate(outcome)) / k
        est += prob * g
    np.testing.assert_allclose(est, want, rtol=1e-12, atol=1e-15)


@given(R=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)),
                    elements=st.floats(-5, 5)))
def test_grpo_advantages_properties(R):
    A = losses.grpo_advantages(R, eps=0.0)
    np.testing.assert_allclose(A.mean(axis=1), 0, atol=1e-12)
    for i in range(R.shape[0]):
        if np.ptp(R[i]) > 0:  # standardised exactly, even when the std underflows
            np.testing.assert_allclose(A[i].std(ddof=1), 1.0, rtol=1e-9)
        else:  # a tied group has no signal
            assert np.all(A[i] == 0)
    np.testing.assert_allclose(losses.grpo_advantages(R, scale="none"),
                               R - R.mean(axis=1, keepdims=True), atol=1e-12)
    if R.size > 1 and np.ptp(R) > 1e-6:
        np.testing.assert_allclose(losses.grpo_advantages(R, scale="batch", eps=0.0),
                                   (R - R.mean(axis=1, keepdims=True)) / R.std(ddof=1),
                                   rtol=1e-9, atol=1e-12)


def test_grpo_singleton_groups():
    R = np.array([[2.0], [-1.0]])
    np.testing.assert_array_equal(losses.grpo_advantages(R), 0 * R)
    np.testing.assert_array_equal(losses.grpo_advantages(R, singleton="reward", eps=1e-6),
                                  R / (1 + 1e-6))
    np.testing.assert_array_equal(losses.rloo_advantages(R), R)


def test_reinforce_pp_and_remax():
    r = np.array([[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    m = np.array([[1, 1, 1], [1, 1, 0]])
    A = losses.reinforce_pp_advantages(r, m, gamma=1.0)
    G = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 0.0]])  # return-to-go
    g = G[m > 0]
    want = (G - g.mean()) / np.sqrt(g.var(ddof=1) + 1e-8) * m
    np.testing.assert_allclose(A, want, rtol=1e-12)
    # KL shaping: beta * (logp - ref) subtracted per token before the return
    lp = np.array([[0.1, 0.2, 0.3], [0.0, 0.1, 0.0]])
    A2 = losses.reinforce_pp_advantages(r, m, logp=lp, ref_logp=0 * lp, beta=0.5)
    rs = (r - 0.5 * lp) * m
    G2 = np.flip(np.cumsum(np.flip(rs, 1), 1), 1) * m
    g2 = G2[m > 0]
    np.testing.assert_allclose(A2, (G2 - g2.mean()) / np.sqrt(g2.var(ddof=1) + 1e-8) * m,
                               rtol=1e-12)
    np.testing.assert_allclose(losses.remax_advantages([1.0, 2.0], [1.5, 1.5], m),
                               np.array([[-0.5] * 3, [0.5, 0.5, 0]]))


# ---------------------------------------------------------------------- KL estimators


def test_kl_estimators_unbiased_by_enumeration():
    pi = np.array([0.2, 0.5, 0.3])
    ref = np.array([0.4, 0.4, 0.2])
    kl = np.sum(pi * np.log(pi / ref))
    lp, lr = np.log(pi), np.log(ref)
    for kind in ("k1", "k3"):
        np.testing.assert_allclose(pi @ losses.kl_estimate(lp, lr, kind=kind), kl, rtol=1e-12)
    # the k2 gradient (x grad log pi) is the exact gradient of KL(pi||ref) for softmax logits
    x = lp - lr
    score = np.eye(3) - pi  # d log pi_a / d theta_b = 1[a=b] - pi_b
    grad_k2 = sum(pi[a] * x[a] * score[a] for a in range(3))
    grad_exact = pi * (x - kl)
    np.testing.assert_allclose(grad_k2, grad_exact, rtol=1e-12, atol=1e-15)
    assert np.all(losses.kl_estimate(lp, lr, kind="k3") >= 0)


@given(x=hnp.arrays(np.float64, (2, 3), elements=st.floats(-5, 5)),
       kind=st.sampled_from(["k1", "k2", "k3", "k1+", "k2+", "k3+"]))
def test_kl_gradients(x, kind):
    lr = np.zeros_like(x) - 1.0
    v, (g1, g2) = value_and_grad("kl_estimate", x, lr, kind=kind)
    base = losses.kl_estimate(x, lr, kind=kind.rstrip("+"))
    np.testing.assert_allclose(v, base, rtol=1e-12)
    if kind.endswith("+"):
        np.testing.assert_allclose(g1, x - lr, rtol=1e-12)
    else:
        fd, noise = _fd(lambda a, b: losses.kl_estimate(a, b, kind=kind), [x, lr])
        np.testing.assert_allclose(g1, fd[0], rtol=1e-5, atol=1e-6 + noise)
        np.testing.assert_allclose(g2, fd[1], rtol=1e-5, atol=1e-6 + noise)


def test_kl_clamp_conventions():
    lp, lr = np.array([-2.0, 30.0, -30.0]), np.zeros(3)
    v = losses.kl_estimate(lp, lr, kind="k3", clamp="verl")
    assert v[0] == pytest.approx(np.exp(2) - 3, rel=1e-12) and v[1] == 10.0 and v[2] == 10.0
    assert losses.kl_estimate(lp, lr, kind="k1", clamp="openrlhf")[1] == 10.0
    with pytest.raises(ValueError, match="overflow"):
        losses.kl_estimate([-1e4], [0.0], kind="k3")


# ------------------------------------------------------------------------ aggregation


@st.composite
def token_batch(draw, max_b=4, max_t=5):
    B, T = draw(st.integers(1, max_b)), draw(st.integers(1, max_t))
    L = draw(hnp.arrays(np.float64, (B, T), elements=fl))
    m = draw(hnp.arrays(bool, (B, T)))
    assume(m.any())
    return L, m


@given(batch=token_batch())
def test_aggregation_identities(batch):
    L, m = batch
    lengths = m.sum(1)
    rows = lengths > 0
    tm = losses.aggregate(L, m, "token-mean")
    np.testing.assert_allclose(tm, (L * m).sum() / m.sum(), rtol=1e-12, atol=1e-15)
    smtm = losses.aggregate(L, m, "seq-mean-token-mean")
    np.testing.assert_allclose(smtm, np.mean([(L[i] * m[i]).sum() / lengths[i]
                                              for i in np.flatnonzero(rows)]), rtol=1e-12,
                               atol=1e-15)
    smts = losses.aggregate(L, m, "seq-mean-token-sum")
    np.testing.assert_allclose(smts, (L * m).sum() / rows.sum(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(losses.aggregate(L, m, "seq-mean-token-sum-norm", horizon=7.0),
                               smts / 7.0, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(losses.aggregate(L, m, "seq-mean-token-sum-norm"),
                               smts / L.shape[1], rtol=1e-12, atol=1e-15)
    # equal lengths: token-mean == seq-mean-token-mean
    if np.all(lengths[rows] == lengths[rows][0]):
        np.testing.assert_allclose(tm, smtm, rtol=1e-12, atol=1e-15)
    # gradient = the weights; masked entries do not matter even if huge
    for mode in losses.AGGREGATION_MODES:
        v, (g, gm) = value_and_grad("aggregate", L, m, mode=mode)
        np.testing.assert_allclose(v, (g * L).sum(), rtol=1e-12, atol=1e-15)
        assert np.all(g[~m] == 0) and np.all(gm == 0)
        L2 = np.where(m, L, 1e300)
        np.testing.assert_allclose(losses.aggregate(L2, m, mode), v, rtol=1e-12, atol=1e-15)


def test_aggregate_validation():
    with pytest.raises(ValueError, match="no tokens"):
        losses.aggregate([[1.0]], [[0]])
    with pytest.raises(ValueError, match="mode"):
        losses.aggregate([[1.0]], [[1]], "mean")
    with pytest.raises(ValueError, match="mask"):
        losses.aggregate([[1.0]], [[2]])


# -------------------------------------------------------------------- PPO, GSPO, CISPO


@settings(max_examples=20, suppress_health_check=[HealthCheck.filter_too_much])
@given(batch=token_batch(max_b=3, max_t=4), data=st.data(),
       level=st.sampled_from(["token", "sequence"]),
       mode=st.sampled_from([None, "token-mean", "seq-mean-token-mean"]),
       dual=st.sampled_from([None, 3.0]))
def test_ppo_gradients(batch, data, level, mode, dual):
    _, m = batch
    shape = m.shape
    lp = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)))
    old = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)))
    A = data.draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.floats(-2, -1e-2),
                                                                   st.floats(1e-2, 2))))
    opts = dict(clip_low=0.2, clip_high=0.28, dual_clip=dual, level=level, mode=mode)
    # stay away from the kinks: clip boundaries, A = 0, the dual-clip switch
    log_rho = np.where(m, lp - old, 0)
    if level == "sequence":
        s = log_rho.sum(1) / np.maximum(m.sum(1), 1)
        log_rho = np.broadcast_to(s[:, None], shape)
    rho = np.exp(log_rho)
    assume(np.all(np.abs(rho - 0.8) > 1e-3) and np.all(np.abs(rho - 1.28) > 1e-3))
    assume(np.all(np.abs(A) > 1e-3))
    if dual:
        L = losses.ppo_clip_loss(lp, old, A, m, clip_low=0.2, clip_high=0.28, level=level,
                                 mode=None)
        assume(np.all(np.abs(L + 3 * A) > 1e-3))
    _check_grads("ppo_clip_loss", [lp, old, A, m.astype(float)], opts, which=[0, 1, 2])
    # CISPO's weight is stop-gradient: FD only for the advantages; for logp the gradient is
    # -W w A by definition (checked against the aggregation weights)
    copts = dict(clip_low=0.2, clip_high=0.28, mode=mode)
    _check_grads("cispo_loss", [lp, old, A, m.astype(float)], copts, which=[2])
    g = value_and_grad("cispo_loss", lp, old, A, m, **copts).grads[0]
    W = m.astype(float) if mode is None else losses.aggregation_weights(m, mode)
    w = np.clip(np.exp(np.where(m, lp - old, 0)), 0.8, 1.28)
    np.testing.assert_allclose(g, -W * w * A, rtol=1e-12)


def test_ppo_on_policy_value_and_gradient():
    A = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 0.0]])
    m = np.array([[1, 1, 1], [1, 0, 0]])
    lp = np.log(np.full(A.shape, 0.3))
    v, g = value_and_grad("ppo_clip_loss", lp, lp, A, m)
    np.testing.assert_allclose(v, -(A * m).sum() / m.sum(), rtol=1e-12)
    np.testing.assert_allclose(g[0], -A * m / m.sum(), rtol=1e-12)  # the policy gradient
    # sequence level with one token per row equals token level
    a = losses.ppo_clip_loss(lp[:, :1] + 0.5, lp[:, :1], A[:, :1], m[:, :1], level="sequence")
    b = losses.ppo_clip_loss(lp[:, :1] + 0.5, lp[:, :1], A[:, :1], m[:, :1], level="token")
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_ppo_clip_and_dual_clip_values():
    lp, old, m = np.array([[1.0, -1.0]]), np.zeros((1, 2)), np.ones((1, 2))
    # A > 0, ratio e > 1.2: clipped at 1.2; A < 0, ratio e^-1 < 0.8: max(-A rho, -A 0.8) = 0.8|A|
    L = losses.ppo_clip_loss(lp, old, [[1.0, -1.0]], m, mode=None)
    np.testing.assert_allclose(L, [[-1.2, 0.8]], rtol=1e-12)
    # dual clip caps the loss of a huge ratio with negative advantage at c |A|
    L = losses.ppo_clip_loss([[5.0]], [[0.0]], [[-1.0]], [[1]], dual_clip=3.0, mode=None)
    np.testing.assert_allclose(L, [[3.0]])
    # an overflowing ratio in a clipped branch stays finite
    L = losses.ppo_clip_loss([[1e4]], [[0.0]], [[1.0]], [[1]], mode=None)
    np.testing.assert_allclose(L, [[-1.2]])
    with pytest.raises(ValueError, match="overflow"):
        losses.ppo_clip_loss([[1e4]], [[0.0]], [[-1.0]], [[1]], mode=None)


def test_cispo_conventions():
    lp, old, A, m = np.array([[-0.5]]), np.array([[-2.0]]), np.array([[1.0]]), np.ones((1, 1))
    rho = np.exp(1.5)
    np.testing.assert_allclose(losses.cispo_loss(lp, old, A, m, clip_high=0.28), [1.28 * 0.5])
    np.testing.assert_allclose(losses.cispo_loss(lp, old, A, m, max_ratio=5.0),
                               [min(rho, 5.0) * 0.5])
    _, g = value_and_grad("cispo_loss", lp, old, A, m, max_ratio=5.0)
    assert g[1][0, 0] == 0  # stop-gradient weight


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_policy_gradient_extremes_finite(dtype):
    lp = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
    old = np.zeros_like(lp)
    m = np.ones_like(lp)
    A = np.array([[1.0, 1.0, -1.0]], dtype=dtype)
    v, g = value_and_grad("ppo_clip_loss", lp, old, A, m, dual_clip=3.0)
    assert np.isfinite(v) and all(np.all(np.isfinite(x)) for x in g)
    v, g = value_and_grad("kl_estimate", lp, old, kind="k2")
    assert np.all(np.isfinite(v))
    for name, arrays, opts in [
        ("kto", [lp[0], old[0]], dict(desirable=[True, False, True], beta=0.1)),
        ("plackett_luce_dpo", [lp, old], dict(beta=0.1)),
        ("exo", [lp, old], dict(rewards=lp, beta=0.1)),
        ("dpo_k", [lp, old], dict(rewards=lp, beta=0.1)),
    ]:
        v, g = value_and_grad(name, *arrays, **opts)
        assert v.dtype == dtype and np.all(np.isfinite(v)), name
        assert all(np.all(np.isfinite(x)) for x in g), name


# ------------------------------------------------------- every registered gradient vs FD

from prefrl.testing import SPECS, loss_inputs  # noqa: E402

_KINKED = {"hinge", "aot", "aot_unpaired", "ppo_clip_loss", "cispo_loss",  # tested above
           "ppo_drift"}  # tested in test_drift.py; all: by check_loss's one-sided rule below


@pytest.mark.parametrize("name", sorted(n for n in SPECS if n in losses.GRADIENTS
                                        and n not in _KINKED))
def test_every_gradient_matches_finite_differences(name):
    opts = SPECS[name]["defaults"]

    @settings(max_examples=10, database=None)
    @given(inp=loss_inputs(name, extreme=False, extra=tuple(SPECS[name]["optional"])))
    def check(inp):
        arrays = [np.asarray(a, dtype=float) for a in inp.arrays]
        which = [i for i, nm in enumerate(SPECS[name]["arrays"]) if nm != "mask"]
        if name == "orpo":  # log(1 - e^a) needs a = logp / length away from 0 for FD steps
            assume(all(np.all(a / inp.kwargs[k] < -1e-3) for a, k in
                       zip(arrays, ("chosen_lengths", "rejected_lengths"))))
        fn = getattr(losses, name)
        _, grads = value_and_grad(name, *arrays, **inp.kwargs, **opts)
        fd, noise = _fd(lambda *a: fn(*a, **inp.kwargs, **opts), arrays, which)
        for j, f in fd.items():
            np.testing.assert_allclose(grads[j], f, rtol=1e-5, atol=1e-6 + noise,
                                       err_msg=f"{name} d/d{SPECS[name]['arrays'][j]}")

    check()


def test_gradient_registry_rejects_a_second_function_but_not_a_reimport():
    from prefrl.losses._registry import GRADIENTS, register_gradient

    def make():
        def _f(x):
            return x
        return _f

    try:
        register_gradient("_test_dup")(make())
        register_gradient("_test_dup")(make())  # the same definition again: a re-import
        with pytest.raises(ValueError, match="registered twice"):
            register_gradient("_test_dup")(lambda x: x)
    finally:
        GRADIENTS.pop("_test_dup", None)


# ------------------------------------------------------- one declaration per loss, every part


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_every_registered_loss_has_all_its_parts(name):
    """Numpy value, analytic gradient (vs one-sided finite differences), torch twin, spec."""
    from prefrl.testing import check_loss

    spec = losses.LOSSES[name]
    assert getattr(losses, name) is spec.function
    assert spec.name in losses.__all__ and spec.function.__name__ == spec.name
    assert SPECS[name]["arrays"] == spec.arrays and SPECS[name]["kind"] == spec.kind
    # only an advantage estimator (a constant of the loss that uses it) has no gradient
    assert (name in losses.GRADIENTS) != name.endswith("_advantages")
    for fam, reg in (("pairwise", losses.PAIRWISE), ("reference_free", losses.REFERENCE_FREE)):
        assert (name in reg) == (fam in spec.families)
    check_loss(name, max_examples=8)


def _unregister(*names):
    for n in names:
        losses.LOSSES.pop(n, None)
        losses.GRADIENTS.pop(n, None)
        losses.PAIRWISE.pop(n, None)


def _square_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta,
               factor=1.0):
    c, r, rc, rr = (np.asarray(a, dtype=float) for a in (chosen_logps, rejected_logps,
                                                           ref_chosen_logps, ref_rejected_logps))
    z = (c - rc) - (r - rr) - 1.0 / beta
    g = 2 * z * factor
    return losses.ValueAndGrad(z * z, (g, -g, -g, g))


def test_register_loss_declares_every_part_at_once():
    @losses.register_loss("_test_square", kind="pair", gradient=_square_vg,
                          defaults=dict(beta=0.5), aliases=("_test_sq",), families=("pairwise",))
    def _test_square(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *,
                     beta):
        return _square_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                          beta=beta).values

    try:
        for n in ("_test_square", "_test_sq"):
            assert losses.LOSSES[n].function is _test_square
            assert losses.PAIRWISE[n] is _test_square and n in SPECS
        assert SPECS["_test_sq"]["arrays"] == ("chosen_logps", "rejected_logps",
                                               "ref_chosen_logps", "ref_rejected_logps")
        v, g = value_and_grad("_test_sq", [2.0], [0.0], [0.0], [0.0], beta=1.0)
        assert v.tolist() == [1.0] and g[0].tolist() == [2.0]
        from prefrl.testing import check_loss, golden_cases

        check_loss("_test_square", max_examples=5, torch=False)
        # a loss registered later draws its golden case from its own stream: the others stay
        assert golden_cases()["ipo"] == _golden_ipo()
        with pytest.raises(ValueError, match="registered twice"):
            losses.register_loss("_test_square", kind="pair", gradient=_square_vg)(
                lambda chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps: 0)
    finally:
        _unregister("_test_square", "_test_sq")
    assert "_test_square" not in SPECS


def _golden_ipo():
    from prefrl.testing import golden_cases

    return golden_cases()["ipo"]


def test_check_loss_catches_a_wrong_gradient_and_a_missing_twin():
    from functools import partial

    from prefrl.testing import check_loss

    @losses.register_loss("_test_wrong", kind="pair", gradient=partial(_square_vg, factor=1.5),
                          defaults=dict(beta=0.5))
    def _test_wrong(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta):
        return _square_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                          beta=beta).values

    try:
        with pytest.raises(AssertionError, match="analytic gradient"):
            check_loss("_test_wrong", max_examples=10, torch=False)
    finally:
        _unregister("_test_wrong")

    @losses.register_loss("_test_twinless", kind="pair", gradient=_square_vg,
                          defaults=dict(beta=0.5))
    def _test_twinless(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, *,
                       beta):
        return _square_vg(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                          beta=beta).values

    try:
        check_loss("_test_twinless", max_examples=3, torch=False)
        pytest.importorskip("torch")
        with pytest.raises(AssertionError, match="no torch twin"):
            check_loss("_test_twinless", max_examples=3, torch=True)
    finally:
        _unregister("_test_twinless")
    with pytest.raises(ValueError, match="name"):
        check_loss("not-a-loss")


def test_register_loss_validates_the_declaration():
    def f(chosen_logps, rejected_logps, *, beta):
        return chosen_logps

    with pytest.raises(ValueError, match="kind"):
        losses.register_loss("_t", kind="pairs", gradient=None)
    with pytest.raises(ValueError, match="families"):
        losses.register_loss("_t", kind="pair", gradient=None, families=("dpo",))
    with pytest.raises(ValueError, match="extras"):
        losses.register_loss("_t", kind="pair", gradient=None, extras={"x": "bananas"})
    with pytest.raises(ValueError, match="defaults"):
        losses.register_loss("_t", kind="pair", gradient=None, defaults={"gamma": 1.0})(f)
    with pytest.raises(TypeError, match="gradient"):
        losses.register_loss("_t", kind="pair", gradient=3)
    assert "_t" not in losses.LOSSES
