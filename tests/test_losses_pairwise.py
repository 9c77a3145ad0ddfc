"""Pairwise losses: analytic gradients vs finite differences, stationary margins, invariances,
extreme margins, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prefrl import losses
from prefrl.losses import PAIRWISE, value_and_grad

TRL_NAMES = ["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard",
             "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sigmoid_norm"]

# options that each loss needs (lengths and win probabilities are filled in per draw)
OPTIONS = {
    "cdpo": dict(label_smoothing=0.1),
    "robust_dpo": dict(label_smoothing=0.2),
    "robust": dict(label_smoothing=0.2),
    "exo_pair": dict(label_smoothing=0.05),
    "discopop": dict(temperature=0.05),
    "aot": dict(label_smoothing=0.1),
}

FDIV_OK = {"dpo", "sigmoid", "cdpo", "hinge", "ipo", "exo_pair", "robust", "robust_dpo",
           "discopop", "sigmoid_norm"}


def _options(name, n, lengths, probs):
    opts = dict(OPTIONS.get(name, {}))
    if name in ("sigmoid_norm",):
        opts.update(chosen_lengths=lengths[0], rejected_lengths=lengths[1])
    if name == "sppo":
        opts.update(chosen_win_prob=probs[0], rejected_win_prob=probs[1])
    if name == "dno":
        opts.update(chosen_rewards=2 * probs[0], rejected_rewards=-probs[1])
    return opts


floats = st.floats(-4, 4, allow_nan=False, width=64)


@st.composite
def pair_batch(draw, max_n=6):
    n = draw(st.integers(1, max_n))
    arrs = [draw(hnp.arrays(np.float64, n, elements=floats)) for _ in range(4)]
    lengths = [draw(hnp.arrays(np.float64, n, elements=st.integers(1, 20).map(float)))
               for _ in range(2)]
    probs = [draw(hnp.arrays(np.float64, n, elements=st.floats(0, 1))) for _ in range(2)]
    beta = draw(st.sampled_from([0.1, 0.5, 1.0, 2.0]))
    return arrs, lengths, probs, beta


def _fd(fn, arrays, h=1e-6):
    """Central differences of sum(fn); also the round-off bound 10 eps |f| / h of each entry."""
    grads = []
    for j in range(len(arrays)):
        g = np.zeros_like(arrays[j])
        for i in range(arrays[j].size):
            up = [a.copy() for a in arrays]
            dn = [a.copy() for a in arrays]
            up[j][i] += h
            dn[j][i] -= h
            g[i] = (fn(*up).sum() - fn(*dn).sum()) / (2 * h)
        grads.append(g)
    noise = 10 * np.finfo(float).eps * np.abs(fn(*arrays)).sum() / h
    return grads, noise


def test_registry_has_trl_loss_types():
    assert set(TRL_NAMES) <= set(PAIRWISE)
    assert set(PAIRWISE) <= set(losses.GRADIENTS)
    assert PAIRWISE["sigmoid"] is losses.dpo and PAIRWISE["robust"] is losses.robust_dpo


@pytest.mark.parametrize("name", sorted(PAIRWISE))
@settings(max_examples=25)
@given(batch=pair_batch())
def test_gradient_matches_finite_differences(name, batch):
    arrays, lengths, probs, beta = batch
    opts = _options(name, arrays[0].size, lengths, probs)
    fn = PAIRWISE[name]
    vals, grads = value_and_grad(name, *arrays, beta=beta, **opts)
    np.testing.assert_allclose(vals, fn(*arrays, beta=beta, **opts), rtol=1e-12, atol=0)
    if name == "hinge":  # skip draws within FD reach of the kink
        h = (arrays[0] - arrays[2]) - (arrays[1] - arrays[3])
        assume(np.all(np.abs(1 - beta * h) > 1e-4))
    if name in ("aot", "aot_unpaired"):  # sorting is not differentiable at ties
        if name == "aot":
            keys = [arrays[0] - arrays[1], arrays[2] - arrays[3]]
        else:
            keys = [arrays[0] - arrays[2], arrays[1] - arrays[3]]
        for k in keys:
            s = np.sort(k)
            assume(np.all(np.diff(s) > 1e-4))
    fd, noise = _fd(lambda *a: fn(*a, beta=beta, **opts), arrays)
    for g, f in zip(grads, fd):
        assert g.shape == f.shape
        np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-6 + noise)


@pytest.mark.parametrize("fdiv", ["forward_kl", "js_divergence", "alpha_divergence"])
@pytest.mark.parametrize("name", ["dpo", "ipo", "hinge", "exo_pair", "robust", "discopop"])
@settings(max_examples=10)
@given(batch=pair_batch())
def test_f_divergence_gradients(name, fdiv, batch):
    arrays, lengths, probs, beta = batch
    opts = dict(_options(name, arrays[0].size, lengths, probs), f_divergence=fdiv, f_alpha=0.3)
    if name == "hinge":
        vals = losses.hinge(*arrays, beta=beta, f_divergence=fdiv, f_alpha=0.3)
        assume(np.all(np.abs(1 - vals) > 1e-4) and np.all(vals > 1e-4) | np.all(vals == 0))
    fn = PAIRWISE[name]
    _, grads = value_and_grad(name, *arrays, beta=beta, **opts)
    fd, noise = _fd(lambda *a: fn(*a, beta=beta, **opts), arrays)
    for g, f in zip(grads, fd):
        np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-6 + noise)


def test_f_divergence_scores_match_definitions():
    r = np.array([-1.0, 0.3, 2.0])
    z = np.zeros(3)
    b = 0.7
    # dpo with a score s: -log sigma(beta (s(r_w) - s(0))) where s(0) = 0 for all four
    def dpo_of(s):
        return np.logaddexp(0, -b * s)

    np.testing.assert_allclose(losses.dpo(r, z, z, z, beta=b, f_divergence="forward_kl"),
                               dpo_of(1 - np.exp(-r)), rtol=1e-12)
    js = np.log(2) + np.log(1 / (1 + np.exp(-r)))
    np.testing.assert_allclose(losses.dpo(r, z, z, z, beta=b, f_divergence="js_divergence"),
                               dpo_of(js), rtol=1e-12)
    al = 0.5
    np.testing.assert_allclose(
        losses.dpo(r, z, z, z, beta=b, f_divergence="alpha_divergence", f_alpha=al),
        dpo_of((np.exp((al - 1) * r) - 1) / (al - 1)), rtol=1e-12)
    with pytest.raises(TypeError, match="f_divergence"):  # raw log-ratio losses have no scores
        losses.nca_pair(r, z, z, z, beta=b, f_divergence="forward_kl")
    with pytest.raises(ValueError, match="f_divergence"):
        losses.dpo(r, z, z, z, beta=b, f_divergence="kl")


# ---------------------------------------------------------------- closed forms and optima


@given(h=st.floats(-30, 30), beta=st.floats(0.05, 5))
def test_dpo_and_ipo_closed_forms(h, beta):
    z = np.zeros(1)
    hv = np.array([h])
    np.testing.assert_allclose(losses.dpo(hv, z, z, z, beta=beta),
                               np.log1p(np.exp(-beta * h)), rtol=1e-10)
    np.testing.assert_allclose(losses.ipo(hv, z, z, z, beta=beta), (h - 1 / (2 * beta)) ** 2,
                               rtol=1e-10, atol=1e-12)


@given(eps=st.floats(0.001, 0.49), beta=st.floats(0.05, 5))
def test_stationary_margins_cdpo_exo(eps, beta):
    """cdpo and exo_pair: zero gradient exactly where sigma(beta h) = 1 - eps."""
    h = np.log((1 - eps) / eps) / beta
    z = np.zeros(1)
    for name in ("cdpo", "exo_pair"):
        g = value_and_grad(name, [h], z, z, z, beta=beta, label_smoothing=eps).grads[0]
        scale = beta  # gradient magnitude per unit h
        assert abs(g[0]) <= 1e-12 * scale * max(1, abs(h)), (name, g)
        # and it is a minimum along h: the loss grows on both sides
        for d in (-1e-3, 1e-3):
            lo = PAIRWISE[name]([h], z, z, z, beta=beta, label_smoothing=eps)
            hi = PAIRWISE[name]([h + d], z, z, z, beta=beta, label_smoothing=eps)
            assert hi[0] >= lo[0] - 1e-15


@given(beta=st.floats(0.05, 5), rl=st.floats(-3, 3))
def test_stationary_margin_ipo_and_sppo_hard(beta, rl):
    z = np.zeros(1)
    h = 1 / (2 * beta)
    # IPO: minimum at h = 1/(2 beta) whatever the rejected log-ratio
    g = value_and_grad("ipo", [rl + h], [rl], z, z, beta=beta).grads
    assert abs(g[0][0]) <= 1e-9 * max(1, abs(rl) + h)
    # SPPO-hard: r_w = 1/(2 beta), r_l = -1/(2 beta), loss zero and gradient zero
    v, g = value_and_grad("sppo_hard", [h], [-h], z, z, beta=beta)
    assert v[0] == 0 and g[0][0] == 0 and g[1][0] == 0


@settings(max_examples=40)
@given(batch=pair_batch(), c=st.floats(-50, 50))
def test_invariance_to_common_shift(batch, c):
    """DPO-family losses depend on r_w - r_l only: adding c to both log-ratios changes nothing.

    Theory: the Bradley-Terry likelihood is invariant to a per-context shift of the reward
    (Rafailov et al. 2023, Lemma 1). Losses on the individual log-ratios (nca, bco, sppo, apo)
    are not, and are checked to change.
    """
    arrays, lengths, probs, beta = batch
    shifted = [arrays[0] + c, arrays[1] + c, arrays[2], arrays[3]]
    for name in ("dpo", "cdpo", "robust", "hinge", "ipo", "exo_pair", "discopop", "aot"):
        opts = _options(name, arrays[0].size, lengths, probs)
        a = PAIRWISE[name](*arrays, beta=beta, **opts)
        b = PAIRWISE[name](*shifted, beta=beta, **opts)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * (1 + abs(c)) ** 2)
    # a shift of the policy log-probs of a single response is not an invariance
    if abs(c) > 1e-3:
        a = losses.nca_pair(*arrays, beta=beta)
        b = losses.nca_pair(*shifted, beta=beta)
        assert not np.allclose(a, b, rtol=1e-12, atol=0)


def test_ipo_length_normalised_convention():
    c, r = np.array([-10.0]), np.array([-30.0])
    rc, rr = np.array([-12.0]), np.array([-24.0])
    lw, ll = np.array([5.0]), np.array([3.0])
    want = ((c - rc) / lw - (r - rr) / ll - 1 / (2 * 0.1)) ** 2
    np.testing.assert_allclose(losses.ipo(c, r, rc, rr, beta=0.1, chosen_lengths=lw,
                                          rejected_lengths=ll), want, rtol=1e-12)
    # the default is the summed convention of the paper
    np.testing.assert_allclose(losses.ipo(c, r, rc, rr, beta=0.1),
                               ((c - rc) - (r - rr) - 5.0) ** 2, rtol=1e-12)


def test_beta_inside_square_is_a_different_loss():
    z = np.zeros(1)
    h = np.array([2.0])
    assert not np.isclose(losses.ipo(h, z, z, z, beta=0.1), (0.1 * h - 5.0) ** 2).all()


def test_aot_sorts_over_batch():
    c = np.array([3.0, -1.0, 0.5])
    z = np.zeros(3)
    ref = np.array([0.2, 0.1, -0.3])
    x = np.sort(c) - np.sort(ref)
    np.testing.assert_allclose(losses.aot(c, z, ref, z, beta=1.0), np.logaddexp(0, -x),
                               rtol=1e-12)
    np.testing.assert_allclose(losses.aot_unpaired(c, z, z, ref, beta=1.0),
                               np.logaddexp(0, -(np.sort(c) - np.sort(-ref))), rtol=1e-12)


def test_robust_is_unbiased_under_label_noise():
    """rDPO: E over flipped labels of the robust loss equals the clean DPO loss."""
    eps, beta = 0.2, 0.7
    h = np.linspace(-5, 5, 11)
    z = np.zeros_like(h)
    expected = (1 - eps) * losses.robust_dpo(h, z, z, z, beta=beta, label_smoothing=eps) + \
        eps * losses.robust_dpo(-h, z, z, z, beta=beta, label_smoothing=eps)
    np.testing.assert_allclose(expected, losses.dpo(h, z, z, z, beta=beta), rtol=1e-12)


# ---------------------------------------------------------------- extremes and validation


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(PAIRWISE))
def test_extreme_margins_stay_finite(name, dtype):
    m = np.array([1e4, -1e4, 0.0, 1e4, -1e4], dtype=dtype)
    z = np.zeros(5, dtype=dtype)
    one = np.ones(5, dtype=dtype)
    opts = _options(name, 5, (one, 2 * one), (one * 0.7, one * 0.2))
    for args in ((m, z, z, z), (z, m, z, z), (m, -m, z, z), (z, z, m, -m)):
        v, g = value_and_grad(name, *args, beta=0.1, **opts)
        assert v.dtype == dtype
        assert np.all(np.isfinite(v)), (name, v)
        assert all(np.all(np.isfinite(x)) for x in g)


def test_extreme_values_are_exact_not_clipped():
    z = np.zeros(1)
    # -log sigma(-1000) = 1000 exactly to float precision, no clipping
    np.testing.assert_allclose(losses.dpo([-1e4], z, z, z, beta=0.1), [1000.0], rtol=1e-12)
    np.testing.assert_allclose(losses.hinge([-1e4], z, z, z, beta=0.1), [1001.0], rtol=1e-12)
    v = losses.exo_pair([-1e4], z, z, z, beta=0.1, label_smoothing=0.1)
    np.testing.assert_allclose(v, [-np.log(0.1)], rtol=1e-9)


@pytest.mark.parametrize("name", sorted(PAIRWISE))
def test_validation(name):
    one = np.ones(3)
    opts = _options(name, 3, (one, one), (one / 2, one / 2))
    with pytest.raises(ValueError, match="beta"):
        PAIRWISE[name](one, one, one, one, beta=0.0, **opts)
    with pytest.raises(ValueError, match="rejected_logps"):
        PAIRWISE[name](one, np.ones(2), one, one, beta=1.0, **opts)
    with pytest.raises(ValueError, match="ref_chosen_logps"):
        PAIRWISE[name](one, one, [1.0, np.nan, 1.0], one, beta=1.0, **opts)


def test_label_smoothing_ranges():
    one = np.ones(2)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.exo_pair(one, one, one, one, beta=1.0, label_smoothing=0.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.robust_dpo(one, one, one, one, beta=1.0, label_smoothing=0.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.cdpo(one, one, one, one, beta=1.0, label_smoothing=-0.1)
    with pytest.raises(ValueError, match="chosen_lengths"):
        losses.ipo(one, one, one, one, beta=1.0, chosen_lengths=[1, 0], rejected_lengths=[1, 1])
    with pytest.raises(ValueError, match="chosen_lengths"):
        losses.sigmoid_norm(one, one, one, one, beta=1.0, chosen_lengths=None,
                            rejected_lengths=None)
    with pytest.raises(ValueError, match="chosen_win_prob"):
        losses.sppo(one, one, one, one, beta=1.0, chosen_win_prob=[2, 0],
                    rejected_win_prob=[0, 0])
    with pytest.raises(ValueError, match="name"):
        value_and_grad("nope", one)


def test_renamed_keywords_still_work_and_warn():
    """discopop's tau is now temperature, simpo's gamma margin (tau and gamma are the glossary's
    entropy weight and discount): the old keywords warn and give the same numbers."""
    x = [np.array([-1.0, -3.0]), np.array([-2.0, -1.0]), np.array([-1.5, -1.0]),
         np.array([-1.5, -2.0])]
    want = losses.discopop(*x, beta=0.5, temperature=0.1)
    with pytest.warns(DeprecationWarning, match="temperature"):
        np.testing.assert_array_equal(losses.discopop(*x, beta=0.5, tau=0.1), want)
    with pytest.warns(DeprecationWarning, match="temperature"):
        np.testing.assert_array_equal(value_and_grad("discopop", *x, beta=0.5, tau=0.1).values,
                                      want)
    lengths = dict(chosen_lengths=[2.0, 3.0], rejected_lengths=[4.0, 1.0])
    want = losses.simpo(x[0], x[1], beta=2.0, margin=0.3, **lengths)
    with pytest.warns(DeprecationWarning, match="margin"):
        np.testing.assert_array_equal(losses.simpo(x[0], x[1], beta=2.0, gamma=0.3, **lengths),
                                      want)
    with pytest.raises(TypeError, match="margin"):
        losses.simpo(x[0], x[1], beta=2.0, gamma=0.3, margin=0.3, **lengths)


@pytest.mark.parametrize("eps, margin", [("EXO_EPSILON_TRL", np.log(999.0)),
                                         ("EXO_EPSILON_AUTHORS", 10.0)])
def test_exo_pair_stationary_margin_for_both_epsilons(eps, margin):
    """The EXO pair loss is minimised where beta * margin = log((1 - eps) / eps): log 999 = 6.9068
    for TRL's 1e-3, exactly 10 for the authors' sigma(-10) = 4.54e-5."""
    from prefrl import losses
    e = getattr(losses, eps)
    assert np.log((1 - e) / e) == pytest.approx(margin, rel=1e-12)
    assert (e == 1e-3) if eps == "EXO_EPSILON_TRL" else (4.5e-5 < e < 4.55e-5)
    for beta in (1.0, 0.1):
        h = margin / beta
        values, grads = losses.value_and_grad("exo_pair", [h], [0.0], [0.0], [0.0], beta=beta,
                                              label_smoothing=e)
        assert abs(grads[0][0]) < 1e-12 and values[0] < 1e-12
        for off in (-0.5, 0.5):  # the minimum is strict: either side costs more
            assert losses.exo_pair([h + off / beta], [0.0], [0.0], [0.0], beta=beta,
                                   label_smoothing=e)[0] > 1e-6
    assert losses.exo_pair.__kwdefaults__["label_smoothing"] == losses.EXO_EPSILON_TRL
