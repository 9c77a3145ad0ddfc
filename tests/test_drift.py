"""Mirror-learning drifts (Lu et al. 2022, Kuba et al. 2022): the drift axioms, PPO's identity,
analytic gradients vs finite differences and torch autograd, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize

from prefrl import losses
from prefrl.losses import (
    discovered_drift,
    drift_objective,
    ppo_clip_loss,
    ppo_drift,
    value_and_grad,
)

torch = pytest.importorskip("torch")
from prefrl.torch import losses as tl  # noqa: E402

# ratios spanning 1e-3 .. 1e3 (log-uniform-ish), with 1 and the clip boundaries on purpose
_log_ratio = st.one_of(st.floats(-7.0, 7.0), st.sampled_from([0.0, np.log(0.8), np.log(1.2)]))
_adv = st.one_of(st.floats(-50.0, 50.0), st.just(0.0), st.sampled_from([-1.0, 1.0]))


def _pairs(n_max=12):
    return st.integers(1, n_max).flatmap(
        lambda n: st.tuples(hnp.arrays(np.float64, n, elements=_log_ratio).map(np.exp),
                            hnp.arrays(np.float64, n, elements=_adv)))


_clip = st.floats(0.01, 1.0)
_scale = st.floats(0.05, 10.0)


def _drifts(draw_clip, alpha, beta):
    return {
        "ppo": (lambda r, A: ppo_drift(r, A, clip=draw_clip), {"clip": draw_clip}),
        "discovered": (lambda r, A: discovered_drift(r, A, alpha=alpha, alpha_neg=beta),
                {"alpha": alpha, "alpha_neg": beta}),
    }


@settings(max_examples=60)
@given(pair=_pairs(), clip=_clip, alpha=_scale, beta=_scale)
def test_drift_axioms(pair, clip, alpha, beta):
    """f >= 0, f(1, A) = 0 and d/dr f(1, A) = 0 (analytic, and by finite differences)."""
    r, A = pair
    for name, (f, opts) in _drifts(clip, alpha, beta).items():
        assert np.all(f(r, A) >= 0), name
        one = np.ones_like(A)
        assert np.array_equal(f(one, A), np.zeros_like(A)), name
        g_r = value_and_grad(f"{name}_drift", one, A, **opts).grads[0]
        assert np.array_equal(g_r, np.zeros_like(A)), name
        # a step with |h A| <= 1e-3 min(alpha, beta), inside the clip range: LPO's drift vanishes
        # to third order, (h A / s)^3 s / 3, so the slope is <= 1e-6 |A| / 3; PPO's is exactly 0
        h = min(1e-4, 1e-3 * min(alpha, beta) / (1 + np.abs(A).max()), clip / 2)
        fd = (f(one + h, A) - f(one - h, A)) / (2 * h)
        assert np.all(np.abs(fd) <= 1e-6 * (1 + np.abs(A))), name


@settings(max_examples=60)
@given(pair=_pairs(), clip=st.floats(0.0, 1.0))
def test_ppo_identity_and_ppo_clip_loss(pair, clip):
    """min(rA, clip(r)A) = rA - f_PPO, and ppo_clip_loss (per token) = -(rA - f_PPO)."""
    r, A = pair
    lhs = np.minimum(r * A, np.clip(r, 1 - clip, 1 + clip) * A)
    rhs = r * A - ppo_drift(r, A, clip=clip)
    scale = np.abs(r * A) + np.abs(lhs)
    assert np.all(np.abs(lhs - rhs) <= 4 * np.finfo(float).eps * scale)
    np.testing.assert_array_equal(drift_objective(r, A, "ppo", clip=clip), rhs)
    per_token = ppo_clip_loss(np.log(r)[None], np.zeros((1, r.size)), A[None],
                              np.ones((1, r.size)), clip_low=clip, mode=None)[0]
    np.testing.assert_allclose(-per_token, rhs, rtol=1e-12, atol=1e-12)


def test_known_values_and_branches():
    # A >= 0: (r - 1) A - alpha tanh((r - 1) A / alpha); A < 0: log(r) A - beta tanh(...)
    x = 2.0 * 2.0
    assert discovered_drift([3.0], [2.0])[0] == pytest.approx(x - 2.0 * np.tanh(x / 2.0), rel=1e-15)
    y = np.log(0.5) * -1.0
    assert discovered_drift([0.5], [-1.0])[0] == pytest.approx(y - 0.6 * np.tanh(y / 0.6), rel=1e-15)
    # no penalty when the ratio moves against the advantage's direction
    assert discovered_drift([0.5], [2.0])[0] == 0.0 and discovered_drift([2.0], [-1.0])[0] == 0.0
    assert ppo_drift([1.1], [5.0], clip=0.2)[0] == 0.0
    np.testing.assert_allclose(ppo_drift([0.5], [-1.0], clip=0.2), [0.3])
    # float32 stays float32
    assert discovered_drift(np.float32([2.0]), np.float32([1.0])).dtype == np.float32
    assert ppo_drift(np.float32([2.0]), np.float32([1.0])).dtype == np.float32
    # any shape
    assert drift_objective(np.ones((2, 3)), np.ones((2, 3)), "discovered").shape == (2, 3)


def _away_from_kinks(r, A, clip, alpha, beta):
    x = np.where(A >= 0, (r - 1) * A, np.log(r) * A)
    return (np.abs(r - (1 - clip)) > 1e-3) & (np.abs(r - (1 + clip)) > 1e-3) & (np.abs(x) > 1e-3)


@settings(max_examples=40)
@given(pair=_pairs(6), clip=_clip, alpha=_scale, beta=_scale)
def test_gradients_vs_finite_differences(pair, clip, alpha, beta):
    r, A = pair
    ok = _away_from_kinks(r, A, clip, alpha, beta) & (r > 1e-2) & (r < 1e2)
    r, A = r[ok], A[ok]
    if r.size == 0:
        return
    cases = [("ppo_drift", {"clip": clip}), ("discovered_drift", {"alpha": alpha, "alpha_neg": beta}),
             ("drift_objective", {"drift": "discovered", "alpha": alpha, "alpha_neg": beta}),
             ("drift_objective", {"drift": "ppo", "clip": clip})]
    for name, opts in cases:
        fn = getattr(losses, name)
        _, (g_r, g_A) = value_and_grad(name, r, A, **opts)
        h_r, h_A = 1e-6 * r, 1e-6 * (1 + np.abs(A))
        fd_r = (fn(r + h_r, A, **opts) - fn(r - h_r, A, **opts)) / (2 * h_r)
        fd_A = (fn(r, A + h_A, **opts) - fn(r, A - h_A, **opts)) / (2 * h_A)
        tol = 1e-5 * (1 + np.abs(A) + r * np.abs(A) + np.abs(np.log(r)))
        assert np.all(np.abs(fd_r - g_r) <= tol * (1 + np.abs(A))), name
        assert np.all(np.abs(fd_A - g_A) <= tol * (1 + r)), name


@settings(max_examples=40)
@given(pair=_pairs(8), clip=st.floats(0.0, 1.0), alpha=_scale, beta=_scale)
def test_torch_twins_values_and_autograd(pair, clip, alpha, beta):
    r, A = pair
    cases = [("ppo_drift", {"clip": clip}), ("discovered_drift", {"alpha": alpha, "alpha_neg": beta}),
             ("drift_objective", {"drift": "ppo", "clip": clip}),
             ("drift_objective", {"drift": "discovered", "alpha": alpha, "alpha_neg": beta})]
    for name, opts in cases:
        want, (g_r, g_A) = value_and_grad(name, r, A, **opts)
        tr = torch.tensor(r, requires_grad=True)
        tA = torch.tensor(A, requires_grad=True)
        args = (opts["drift"],) if "drift" in opts else ()
        kw = {k: v for k, v in opts.items() if k != "drift"}
        out = getattr(tl, name)(tr, tA, *args, **kw)
        assert out.dtype == torch.float64
        np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-12)
        out.sum().backward()
        np.testing.assert_allclose(tr.grad.numpy(), g_r, rtol=1e-9, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(tA.grad.numpy(), g_A, rtol=1e-9, atol=1e-12, err_msg=name)


def test_torch_gradcheck_and_names():
    for name in ("ppo_drift", "discovered_drift", "drift_objective"):
        assert name in losses.__all__ and name in tl.__all__ and name in losses.GRADIENTS
        assert ".. math::" in getattr(tl, name).__doc__
    r = torch.tensor([0.5, 0.9, 1.7, 3.0], dtype=torch.float64, requires_grad=True)
    A = torch.tensor([-1.5, 2.0, 0.7, -0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a: tl.discovered_drift(x, a), (r, A))
    assert torch.autograd.gradcheck(lambda x, a: tl.ppo_drift(x, a, clip=0.2), (r, A))
    assert tl.discovered_drift(torch.ones(3, dtype=torch.float32), torch.ones(3)).dtype == torch.float32


def _improve(Q, pi, drift, **opts):
    """One mirror-learning step on a bandit: argmax over pi_bar of E_pi_bar A - E_pi f(r, A)."""
    A = Q - pi @ Q

    def neg(z):
        z = z - z.max()
        pb = np.exp(z) / np.exp(z).sum()
        # E_pi[r A - f(r, A)] = E_pi_bar[A] - E_pi[f]: the mirror-learning objective
        return -(pi @ drift_objective(pb / pi, A, drift, **opts))

    best = min((minimize(neg, np.log(pi) + d, method="Nelder-Mead",
                         options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
                for d in (np.zeros_like(pi), 0.3 * A)), key=lambda res: res.fun)
    z = best.x - best.x.max()
    return np.exp(z) / np.exp(z).sum()


@settings(max_examples=10, deadline=None)
@given(Q=hnp.arrays(np.float64, 3, elements=st.floats(-2, 2)),
       w=hnp.arrays(np.float64, 3, elements=st.floats(0.2, 1.0)))
def test_mirror_step_improves_a_bandit(Q, w):
    """Kuba et al. (2022), Thm 3.2: a mirror-learning step never lowers the expected reward."""
    pi = w / w.sum()
    for drift, opts in (("ppo", {"clip": 0.2}), ("discovered", {})):
        new = _improve(Q, pi, drift, **opts)
        assert new @ Q >= pi @ Q - 1e-9, drift


def test_validation_errors():
    with pytest.raises(ValueError, match="ratio"):
        ppo_drift([0.0], [1.0])
    with pytest.raises(ValueError, match="ratio"):
        discovered_drift([-1.0], [1.0])
    with pytest.raises(ValueError, match="advantages"):
        discovered_drift([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="advantages"):
        discovered_drift([1.0], [np.nan])
    with pytest.raises(ValueError, match="clip"):
        ppo_drift([1.0], [1.0], clip=1.5)
    with pytest.raises(ValueError, match="alpha"):
        discovered_drift([1.0], [1.0], alpha=0.0)
    with pytest.raises(ValueError, match="alpha_neg"):
        discovered_drift([1.0], [1.0], alpha_neg=-1.0)
    with pytest.raises(ValueError, match="drift"):
        drift_objective([1.0], [1.0], "trpo")
    with pytest.raises(ValueError, match="clip"):
        drift_objective([1.0], [1.0], "discovered", clip=0.2)
    with pytest.raises(ValueError, match="ratio"):
        tl.discovered_drift(torch.tensor([0.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="advantages"):
        tl.ppo_drift(torch.ones(2), torch.ones(3))
    with pytest.raises(ValueError, match="drift"):
        tl.drift_objective([1.0], [1.0], "nope")


def test_discovered_drift_old_keyword_beta_still_works_and_warns():
    """The discovered drift's beta is now alpha_neg (beta is prefrl's KL weight): it warns."""
    r, A = [0.5, 2.0], [-1.0, -1.0]
    want = discovered_drift(r, A, alpha_neg=0.3)
    with pytest.warns(DeprecationWarning, match="alpha_neg"):
        np.testing.assert_array_equal(discovered_drift(r, A, beta=0.3), want)
    with pytest.warns(DeprecationWarning, match="alpha_neg"):
        np.testing.assert_array_equal(drift_objective(r, A, "discovered", beta=0.3),
                                      drift_objective(r, A, "discovered", alpha_neg=0.3))
    with pytest.warns(DeprecationWarning, match="alpha_neg"):
        np.testing.assert_array_equal(value_and_grad("discovered_drift", r, A, beta=0.3).values, want)
    with pytest.warns(DeprecationWarning, match="alpha_neg"):
        np.testing.assert_array_equal(tl.discovered_drift(r, A, beta=0.3).numpy(), want)
    with pytest.warns(DeprecationWarning, match="alpha_neg"):
        tl.drift_objective(r, A, "discovered", beta=0.3)
    with pytest.raises(TypeError, match="alpha_neg"):
        discovered_drift(r, A, beta=0.3, alpha_neg=0.3)


def test_lpo_drift_is_a_deprecated_alias_of_discovered_drift():
    """Lu et al. (2022) call the closed form DPO (Discovered Policy Optimisation); LPO is learned.

    The former name ``lpo_drift`` is the same function, served with a DeprecationWarning, in each
    module that exported it; the registry name and the drift option ``"lpo"`` still resolve.
    """
    import importlib

    r, A = np.array([0.5, 1.5, 3.0]), np.array([-1.0, 2.0, 2.0])
    for module, new in (("prefrl.losses", discovered_drift),
                        ("prefrl.losses.drift", discovered_drift),
                        ("prefrl.torch.losses", tl.discovered_drift),
                        ("prefrl.torch.drift", tl.discovered_drift)):
        mod = importlib.import_module(module)
        with pytest.warns(DeprecationWarning, match="discovered_drift"):
            old = mod.lpo_drift
        assert old is new, module
        assert "lpo_drift" not in getattr(mod, "__all__", ())
    with pytest.warns(DeprecationWarning, match="discovered_drift"):
        from prefrl.losses import lpo_drift
    np.testing.assert_array_equal(lpo_drift(r, A, alpha=1.5), discovered_drift(r, A, alpha=1.5))
    assert losses.LOSSES["lpo_drift"] is losses.LOSSES["discovered_drift"]
    np.testing.assert_array_equal(value_and_grad("lpo_drift", r, A).values,
                                  value_and_grad("discovered_drift", r, A).values)
    with pytest.warns(DeprecationWarning, match="'discovered'"):
        old = drift_objective(r, A, "lpo", alpha_neg=0.3)
    np.testing.assert_array_equal(old, drift_objective(r, A, "discovered", alpha_neg=0.3))
    with pytest.warns(DeprecationWarning, match="'discovered'"):
        old_t = tl.drift_objective(r, A, "lpo").numpy()
    np.testing.assert_allclose(old_t, drift_objective(r, A, "discovered"), rtol=1e-12)
    with pytest.raises(AttributeError, match="no_such_drift"):
        losses.no_such_drift  # noqa: B018
