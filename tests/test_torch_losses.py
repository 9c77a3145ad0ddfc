"""The torch twins: values and autograd gradients equal the numpy reference; gradcheck; dtypes,
devices, extremes; the ImportError without torch; batched bandit training."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

torch = pytest.importorskip("torch")

from prefrl import losses  # noqa: E402
from prefrl.testing import SPECS, loss_inputs  # noqa: E402
from prefrl.testing.reference import reference_value_and_grad  # noqa: E402
from prefrl.torch import losses as tl  # noqa: E402
from prefrl.torch.bandits import train_bandits  # noqa: E402

NAMES = sorted(SPECS)
GRAD_NAMES = sorted(n for n in SPECS if n in losses.GRADIENTS)


def _as_tensors(inp, requires_grad):
    ts = []
    for nm, a in zip(SPECS[inp.name]["arrays"], inp.arrays):
        t = torch.as_tensor(a)
        if requires_grad and t.dtype.is_floating_point and nm != "mask":
            t = t.clone().requires_grad_(True)
        ts.append(t)
    kw = {k: torch.as_tensor(v) for k, v in inp.kwargs.items()}
    return ts, kw


def test_same_names_and_registry():
    for name in NAMES:
        assert callable(getattr(tl, name)), name
    assert set(tl.PAIRWISE) == set(losses.PAIRWISE)
    for name, fn in tl.PAIRWISE.items():
        assert fn.__name__ == losses.PAIRWISE[name].__name__
        assert ".. math::" in fn.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_values_and_autograd_match_numpy(name):
    opts = SPECS[name]["defaults"]
    extra = tuple(SPECS[name]["optional"])

    @settings(max_examples=15)
    @given(inp=loss_inputs(name, extreme=False, extra=extra))
    def check(inp):
        want, want_g = reference_value_and_grad(name, inp.arrays, inp.kwargs, opts)
        ts, kw = _as_tensors(inp, requires_grad=want_g is not None)
        out = getattr(tl, name)(*ts, **kw, **opts)
        assert out.dtype == torch.float64
        np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-6, atol=1e-12)
        if want_g is None:
            return
        out.sum().backward()
        for nm, t, g in zip(SPECS[name]["arrays"], ts, want_g):
            if nm == "mask":
                continue
            got = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(got, g, rtol=1e-6, atol=1e-12, err_msg=f"{name} d/d{nm}")

    check()


@pytest.mark.parametrize("name", GRAD_NAMES)
def test_gradcheck(name):
    opts = SPECS[name]["defaults"]
    if name in ("ppo_clip_loss", "cispo_loss", "aggregate"):
        g = torch.Generator().manual_seed(0)
        lp = -torch.rand(3, 4, generator=g, dtype=torch.float64)
        old = lp + 0.05 * torch.randn(3, 4, generator=g, dtype=torch.float64)
        A = torch.randn(3, 4, generator=g, dtype=torch.float64)
        m = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.float64)
        if name == "aggregate":
            args = (lp.requires_grad_(True),)

            def f(x):
                return tl.aggregate(x, m, mode="seq-mean-token-mean")
        elif name == "cispo_loss":  # the weight is stop-gradient by definition: only A
            args = (A.requires_grad_(True),)

            def f(a):
                return tl.cispo_loss(lp, old, a, m, mode="token-mean")
        else:
            args = (lp.requires_grad_(True), A.requires_grad_(True))

            def f(x, a):
                return tl.ppo_clip_loss(x, old, a, m, mode="token-mean", clip_low=0.2)
        assert torch.autograd.gradcheck(f, args)
        return
    # a fixed, generic, tie-free input drawn deterministically by numpy
    rng = np.random.default_rng(1)
    from prefrl.testing._golden import _draw

    arrays, kwargs = _draw(name, rng)
    # keep away from the extreme pair that golden cases include (finite differences need
    # moderate values)
    arrays = [np.where(np.abs(a) > 100, -3.0, a) if a.dtype == float else a for a in arrays]
    if name in ("aot", "aot_unpaired"):
        arrays = [a + 0.01 * np.arange(a.size) * (i + 1) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if a.dtype == float
          else torch.as_tensor(a) for a in arrays]
    kw = {k: torch.as_tensor(v) for k, v in kwargs.items()}
    diff = [t for t in ts if t.requires_grad]

    def f(*xs):
        it = iter(xs)
        full = [next(it) if t.requires_grad else t for t in ts]
        return getattr(tl, name)(*full, **kw, **opts)

    assert torch.autograd.gradcheck(f, tuple(diff))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(losses.PAIRWISE))
def test_pairwise_extremes_finite(name, dtype):
    m = torch.tensor([1e4, -1e4, 0.0, 1e4], dtype=dtype)
    z = torch.zeros(4, dtype=dtype)
    one = torch.ones(4, dtype=dtype)
    kw = {}
    extras = SPECS[name]["extras"]
    for k, what in extras.items():
        kw[k] = {"lengths": one * 3, "probs": one * 0.3, "rewards": one}[what]
    opts = SPECS[name]["defaults"]
    for args in ((m, z, z, z), (z, m, z, z), (m, -m, z, z), (z, z, m, -m)):
        xs = [a.clone().requires_grad_(True) for a in args]
        v = tl.PAIRWISE[name](*xs, **kw, **opts)
        assert v.dtype == dtype and torch.isfinite(v).all()
        v.sum().backward()
        assert all(torch.isfinite(x.grad).all() for x in xs)
        np.testing.assert_allclose(v.detach().double().numpy(),
                                   losses.PAIRWISE[name](*[a.numpy() for a in args],
                                                         **{k: t.numpy() for k, t in kw.items()},
                                                         **opts),
                                   rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=1e-30)


def test_ppo_extreme_ratio_gradients_finite():
    lp = torch.tensor([[1e4, -1e4, 50.0]], dtype=torch.float32, requires_grad=True)
    old = torch.zeros(1, 3)
    A = torch.tensor([[1.0, -1.0, -1.0]])
    v = tl.ppo_clip_loss(lp, old, A, torch.ones(1, 3), dual_clip=3.0)
    v.backward()
    assert torch.isfinite(v) and torch.isfinite(lp.grad).all()
    np.testing.assert_allclose(float(v.detach()), (-1.2 + 0.8 + 3.0) / 3, rtol=1e-6)


def test_validation_errors():
    one = torch.ones(3)
    with pytest.raises(ValueError, match="beta"):
        tl.dpo(one, one, one, one, beta=0)
    with pytest.raises(ValueError, match="rejected_logps"):
        tl.ipo(one, torch.ones(2), one, one, beta=1.0)
    with pytest.raises(ValueError, match="ref_chosen_logps"):
        tl.dpo(one, one, torch.tensor([1.0, float("nan"), 1.0]), one, beta=1.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        tl.exo_pair(one, one, one, one, beta=1.0, label_smoothing=0.0)


def test_import_error_without_torch(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import prefrl.torch\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert "pip install prefrl[torch]" in out.stdout, out.stdout + out.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():  # pragma: no cover - runs on GPU machines only
    g = torch.Generator().manual_seed(0)
    x = [torch.randn(1000, generator=g, dtype=torch.float64) for _ in range(4)]
    for name in ("dpo", "ipo", "exo_pair", "aot"):
        cpu = tl.PAIRWISE[name](*x, beta=0.1)
        gpu = tl.PAIRWISE[name](*[t.cuda() for t in x], beta=0.1)
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ batched bandits


def test_batched_training_equals_separate_runs():
    """N instances at once == N separate runs (instances share nothing, Adam is elementwise)."""
    ref = torch.log(torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], dtype=torch.float64))
    w = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    lo = torch.tensor([[1, 2, 0, 2], [0, 1, 0, 1]])
    both = train_bandits(w, lo, loss="dpo", beta=0.5, ref_logits=ref, n_steps=60, lr=0.05,
                         batch_size=None)
    for i in range(2):
        one = train_bandits(w[i], lo[i], loss="dpo", beta=0.5, ref_logits=ref[i], n_steps=60,
                            lr=0.05)
        torch.testing.assert_close(both.logits[i], one.logits[0], rtol=1e-12, atol=1e-12)


def test_ipo_training_reaches_closed_form():
    """IPO on a > b > c with SGD converges to logit gaps 1/(3 beta) (Azar et al. 2024, Fig. 1)."""
    betas = [0.1, 0.5, 1.0]
    w, lo = torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2])
    for beta in betas:
        res = train_bandits(w, lo, loss="ipo", beta=beta, ref_logits=torch.zeros(3,
                            dtype=torch.float64), n_steps=30, lr=0.5, optimizer="sgd",
                            record_every=10)
        gaps = res.logits[0, :2] - res.logits[0, 1:]
        torch.testing.assert_close(gaps, torch.full((2,), 1 / (3 * beta), dtype=torch.float64),
                                   rtol=1e-9, atol=1e-9)
        assert res.history.shape == (3, 1) and res.iterations == 30


def test_train_bandits_validation():
    ref = torch.zeros(3)
    with pytest.raises(ValueError, match="loss"):
        train_bandits([0], [1], loss="nope", beta=0.1, ref_logits=ref)
    with pytest.raises(ValueError, match="winners"):
        train_bandits([5], [1], loss="ipo", beta=0.1, ref_logits=ref)
    with pytest.raises(TypeError, match="winners"):
        train_bandits([0.5], [1], loss="ipo", beta=0.1, ref_logits=ref)


def test_beta_sweep_in_one_call():
    """beta per instance: a sweep over beta equals separate runs, and IPO's gaps are 1/(3 beta)."""
    betas = torch.tensor([0.1, 0.5, 1.0, 0.5], dtype=torch.float64)
    w, lo = torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2])
    ref = torch.zeros(4, 3, dtype=torch.float64)
    res = train_bandits(w, lo, loss="ipo", beta=betas, ref_logits=ref, n_steps=30, lr=0.5,
                        optimizer="sgd")
    gaps = res.logits[:, :2] - res.logits[:, 1:]
    torch.testing.assert_close(gaps, (1 / (3 * betas))[:, None].expand(4, 2), rtol=1e-9,
                               atol=1e-9)
    one = train_bandits(w, lo, loss="dpo", beta=0.5, ref_logits=ref[0], n_steps=20, lr=0.05)
    many = train_bandits(w, lo, loss="dpo", beta=[0.5, 0.1], ref_logits=ref[:2], n_steps=20,
                         lr=0.05)
    torch.testing.assert_close(many.logits[0], one.logits[0], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="beta"):
        train_bandits(w, lo, loss="ipo", beta=[0.5, 0.1, 0.2], ref_logits=ref[:2])


def test_train_bandits_renamed_keywords_and_rng_rule():
    """init_logits -> init, steps -> n_steps, seed -> rng (old keywords warn); a mini-batch run
    without rng warns and uses seed 0 (one release); rng may be a seed or a generator."""
    from prefrl.results import Result
    from prefrl.torch import BanditTrainingResult

    ref = torch.zeros(2, 3, dtype=torch.float64)
    w, lo = torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2])
    kw = dict(loss="dpo", beta=0.5, ref_logits=ref, lr=0.05, batch_size=2)
    new = train_bandits(w, lo, init=ref + 0.1, n_steps=7, rng=3, **kw)
    with pytest.warns(DeprecationWarning, match="init"):
        old = train_bandits(w, lo, init_logits=ref + 0.1, n_steps=7, rng=3, **kw)
    torch.testing.assert_close(old.logits, new.logits, rtol=0, atol=0)
    with pytest.warns(DeprecationWarning, match="n_steps"):
        old = train_bandits(w, lo, init=ref + 0.1, steps=7, rng=3, **kw)
    torch.testing.assert_close(old.logits, new.logits, rtol=0, atol=0)
    with pytest.warns(DeprecationWarning, match="rng"):
        old = train_bandits(w, lo, init=ref + 0.1, n_steps=7, seed=3, **kw)
    torch.testing.assert_close(old.logits, new.logits, rtol=0, atol=0)
    with pytest.warns(DeprecationWarning, match="pass rng"):
        zero = train_bandits(w, lo, init=ref + 0.1, n_steps=7, **kw)
    same = train_bandits(w, lo, init=ref + 0.1, n_steps=7, rng=torch.Generator().manual_seed(0),
                         **kw)
    torch.testing.assert_close(zero.logits, same.logits, rtol=0, atol=0)
    with pytest.raises(TypeError, match="rng"):
        train_bandits(w, lo, n_steps=1, rng="zero", **kw)
    assert isinstance(new, BanditTrainingResult) and isinstance(new, Result)
    assert new.iterations == 7 and new.certificate.shape == (2,)
    with pytest.warns(DeprecationWarning, match="value"):
        torch.testing.assert_close(new.loss, new.value)


def test_train_bandits_certificate_and_converged():
    """Full-batch SGD on IPO reaches the closed form: the gradient certificate vanishes."""
    res = train_bandits(torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2]), loss="ipo", beta=0.5,
                        ref_logits=torch.zeros(3, dtype=torch.float64), n_steps=50, lr=0.5,
                        optimizer="sgd")
    assert bool(res.converged.all()) and float(res.certificate.max()) < 1e-10
    short = train_bandits(torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2]), loss="ipo", beta=0.5,
                          ref_logits=torch.zeros(3, dtype=torch.float64), n_steps=1, lr=0.01,
                          optimizer="sgd")
    assert not bool(short.converged.any())
    # the certificate is the max-norm of the full-dataset gradient in the logits
    theta = short.logits.clone().requires_grad_(True)
    logp = torch.log_softmax(theta, dim=1)
    w, lo = torch.tensor([0, 1, 0]), torch.tensor([1, 2, 2])
    z = torch.full((3,), -np.log(3.0), dtype=torch.float64)
    tl.ipo(logp[0, w], logp[0, lo], z, z, beta=0.5).mean().backward()
    torch.testing.assert_close(short.certificate[0], theta.grad.abs().max())


# ------------------------------------------------------------------ every loss has its twin


def test_every_registered_loss_has_a_torch_twin_with_its_docstring():
    for name, spec in losses.LOSSES.items():
        twin = getattr(tl, name, None)
        assert callable(twin), f"no torch twin prefrl.torch.losses.{name}"
        if name == spec.name:
            assert name in tl.__all__, name
            assert ".. math::" in twin.__doc__ and ">>> " in twin.__doc__, name
    assert set(tl.PAIRWISE) == set(losses.PAIRWISE)
    assert set(tl.REFERENCE_FREE) == set(losses.REFERENCE_FREE)
