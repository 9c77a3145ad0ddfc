"""Independent values of every loss: the committed golden file, high-precision (mpmath, 50
digits) formulas written from the papers, and hand-derived closed forms.

The project's other tests check each gradient against finite differences of the same kernel's
value, which cannot see a consistent formula error; here every loss is recomputed from its
paper's formula with mpmath, on the inputs of ``tests/data/golden.json`` (and on extra option
sets that break symmetries: asymmetric clips, a SimPO margin, label smoothing), so that a formula
change fails without any peer trainer installed. ``tests/data/golden.json`` is committed: a
change of a loss's values or gradients shows up as a failing test here and as a diff of the file
(regenerate it with ``prefrl.testing.golden_vectors("tests/data/golden.json")`` only on purpose).
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

from prefrl import losses
from prefrl.testing import SPECS, golden_cases

mp.mp.dps = 50
GOLDEN = Path(__file__).parent / "data" / "golden.json"


def sig(x):
    return 1 / (1 + mp.exp(-x))


def logsig(x):
    return -mp.log1p(mp.exp(-x))


def M(x):
    """nested lists -> nested lists of mpf (bools and ints kept)."""
    if isinstance(x, list):
        return [M(v) for v in x]
    if isinstance(x, bool):
        return x
    return mp.mpf(x)


# ------------------------------------------------------------------ formulas from the papers


def _pair(a, kw, o, f):
    """A per-pair loss f(r_w, r_l, i) of the log-ratios r = log pi - log pi_ref."""
    c, r, rc, rr = a
    return [f(c[i] - rc[i], r[i] - rr[i], i) for i in range(len(c))]


def _smooth(x, eps):
    return -(1 - eps) * logsig(x) - eps * logsig(-x)


def f_dpo(a, kw, o):  # Rafailov et al. 2023, Eq. 7 (label smoothing: Mitchell 2023)
    b, eps = o["beta"], o.get("label_smoothing", 0)
    return _pair(a, kw, o, lambda w, l, i: _smooth(b * (w - l), eps))


def f_robust(a, kw, o):  # Chowdhury et al. 2024, Eq. 9
    b, e = o["beta"], o.get("label_smoothing", 0)
    return _pair(a, kw, o, lambda w, l, i: (-(1 - e) * logsig(b * (w - l))
                                            + e * logsig(-b * (w - l))) / (1 - 2 * e))


def f_hinge(a, kw, o):  # Zhao et al. 2023, Eq. 1
    return _pair(a, kw, o, lambda w, l, i: max(mp.mpf(0), 1 - o["beta"] * (w - l)))


def f_ipo(a, kw, o):  # Azar et al. 2024, Eq. 17
    if "chosen_lengths" in kw:
        Lw, Ll = kw["chosen_lengths"], kw["rejected_lengths"]
        return _pair(a, kw, o, lambda w, l, i: (w / Lw[i] - l / Ll[i] - 1 / (2 * o["beta"])) ** 2)
    return _pair(a, kw, o, lambda w, l, i: (w - l - 1 / (2 * o["beta"])) ** 2)


def f_sigmoid_norm(a, kw, o):  # Lambert et al. 2024, Eq. 6
    Lw, Ll = kw["chosen_lengths"], kw["rejected_lengths"]
    return _pair(a, kw, o, lambda w, l, i: -logsig(o["beta"] * (w / Lw[i] - l / Ll[i])))


def f_exo_pair(a, kw, o):  # Ji et al. 2024, Eq. 16: KL(Bern(q) || Bern(1 - eps))
    b, e = o["beta"], o["label_smoothing"]

    def f(w, l, i):
        x = b * (w - l)
        q, qm = sig(x), sig(-x)  # 1 - q, without cancellation
        return q * (logsig(x) - mp.log(1 - e)) + qm * (logsig(-x) - mp.log(e))

    return _pair(a, kw, o, f)


def f_nca(a, kw, o):  # Chen et al. 2024, Eq. 12
    b = o["beta"]
    return _pair(a, kw, o, lambda w, l, i: -logsig(b * w) - logsig(-b * w) / 2
                 - logsig(-b * l) / 2)


def f_bco(a, kw, o):  # Jung et al. 2024, Eq. 8
    b, d = o["beta"], o.get("delta", 0)
    return _pair(a, kw, o, lambda w, l, i: -logsig(b * w - d) - logsig(-(b * l - d)))


def f_apo_zero(a, kw, o):  # D'Oosterlinck et al. 2024, Eq. 7
    b = o["beta"]
    return _pair(a, kw, o, lambda w, l, i: 1 - sig(b * w) + sig(b * l))


def f_apo_down(a, kw, o):  # D'Oosterlinck et al. 2024, Eq. 8
    b = o["beta"]
    return _pair(a, kw, o, lambda w, l, i: sig(b * w) + 1 - sig(b * (w - l)))


def f_discopop(a, kw, o):  # Lu et al. 2024, Eq. 5
    b, t = o["beta"], o["temperature"]

    def f(w, l, i):
        rho = b * (w - l)
        m = sig(rho / t)
        return (1 - m) * -logsig(rho) + m * mp.exp(-rho)

    return _pair(a, kw, o, f)


def f_sppo(a, kw, o, pw=None, pl=None):  # Wu et al. 2024, Eq. 4.7
    b = o["beta"]
    pw = kw["chosen_win_prob"] if pw is None else pw
    pl = kw["rejected_win_prob"] if pl is None else pl
    return _pair(a, kw, o, lambda w, l, i: (w - (pw[i] - mp.mpf(1) / 2) / b) ** 2
                 + (l - (pl[i] - mp.mpf(1) / 2) / b) ** 2)


def f_sppo_hard(a, kw, o):
    n = len(a[0])
    return f_sppo(a, kw, o, [1] * n, [0] * n)


def f_rebel(a, kw, o):  # Gao et al. 2024, Eq. 4
    R, S = kw["chosen_rewards"], kw["rejected_rewards"]
    return _pair(a, kw, o, lambda w, l, i: (w - l - o["eta"] * (R[i] - S[i])) ** 2)


def f_dno(a, kw, o):  # Rosset et al. 2024: soft-label BCE toward sigma(R_w - R_l)
    R, S = kw["chosen_rewards"], kw["rejected_rewards"]
    return _pair(a, kw, o, lambda w, l, i: _smooth(o["beta"] * (w - l), 1 - sig(R[i] - S[i])))


def f_aot(a, kw, o, unpaired=False):  # Melnyk et al. 2024, Eqs. 7-8
    c, r, rc, rr = a
    if unpaired:
        x = [p - q for p, q in zip(sorted(ci - rci for ci, rci in zip(c, rc)),
                                   sorted(ri - rri for ri, rri in zip(r, rr)))]
    else:
        x = [p - q for p, q in zip(sorted(ci - ri for ci, ri in zip(c, r)),
                                   sorted(rci - rri for rci, rri in zip(rc, rr)))]
    return [_smooth(o["beta"] * xi, o.get("label_smoothing", 0)) for xi in x]


def f_simpo(a, kw, o):  # Meng et al. 2024, Eq. 6
    c, r = a
    Lw, Ll = kw["chosen_lengths"], kw["rejected_lengths"]
    return [_smooth(o["beta"] * (c[i] / Lw[i] - r[i] / Ll[i]) - o["margin"],
                    o.get("label_smoothing", 0)) for i in range(len(c))]


def f_orpo(a, kw, o):  # Hong et al. 2024, Eqs. 6-7
    c, r = a
    Lw, Ll = kw["chosen_lengths"], kw["rejected_lengths"]

    def logodds(x):
        return x - mp.log(1 - mp.exp(x))

    return [-(c[i] / Lw[i]) - o["beta"] * logsig(logodds(c[i] / Lw[i]) - logodds(r[i] / Ll[i]))
            for i in range(len(c))]


def f_kto(a, kw, o):  # Ethayarajh et al. 2024, Eq. 8
    lp, lr = a
    b, z0 = o["beta"], o.get("reference_point", 0)
    wd, wu = o.get("desirable_weight", 1), o.get("undesirable_weight", 1)
    return [wd * (1 - sig(b * (p - q - z0))) if d else wu * (1 - sig(b * (z0 - (p - q))))
            for p, q, d in zip(lp, lr, kw["desirable"])]


def f_dro(a, kw, o):  # Richemond et al. 2024, Eq. 6
    lp, lr, V = a
    return [(R - v - o["beta"] * (p - q)) ** 2 / 2 for p, q, v, R in zip(lp, lr, V, kw["rewards"])]


def f_pmpo(a, kw, o):  # Abdolmaleki et al. 2024
    lp, lr = a
    al, b = o["alpha"], o["beta"]
    return [(-al * p if acc else (1 - al) * p) + b * (q - p)
            for p, q, acc in zip(lp, lr, kw["accepted"])]


def f_plackett_luce(a, kw, o):  # Rafailov et al. 2023, App. A.3, Eq. 18
    lp, lr = a
    out = []
    for row_p, row_r in zip(lp, lr):
        g = [o["beta"] * (p - q) for p, q in zip(row_p, row_r)]
        out.append(-mp.fsum(g[k] - mp.log(mp.fsum(mp.exp(x) for x in g[k:]))
                            for k in range(len(g))))
    return out


def _softmax(v):
    m = max(v)
    e = [mp.exp(x - m) for x in v]
    s = mp.fsum(e)
    return [x / s for x in e]


def f_exo(a, kw, o, forward=False):  # Ji et al. 2024, Eqs. 10 and 12
    lp, lr = a
    b = o["beta"]
    br = o.get("beta_r") or b
    out = []
    for row_p, row_r, R in zip(lp, lr, kw["rewards"]):
        pf = _softmax([b * (p - q) for p, q in zip(row_p, row_r)])
        pr = _softmax([x / br for x in R])
        if forward:
            out.append(-mp.fsum(y * mp.log(x) for x, y in zip(pf, pr)))
        else:
            out.append(mp.fsum(x * (mp.log(x) - mp.log(y)) for x, y in zip(pf, pr)))
    return out


def f_kl(a, kw, o):  # Schulman 2020: k1, k2, k3 (exact)
    lp, lr = a
    k = o["kind"]

    def est(x):
        return {"k1": x, "k2": x * x / 2, "k3": mp.exp(-x) - 1 + x}[k]

    return [[est(p - q) for p, q in zip(rp, rq)] for rp, rq in zip(lp, lr)]


def _agg(L, m, mode, horizon=None):  # GRPO Eq. 3, DAPO, Dr. GRPO Eq. 4
    rows = [(Li, mi) for Li, mi in zip(L, m) if any(mi)]
    if mode == "token-mean":
        return mp.fsum(x for Li, mi in rows for x, k in zip(Li, mi) if k) / sum(sum(mi) for _, mi
                                                                                   in rows)
    if mode == "token-sum":
        return mp.fsum(x for Li, mi in rows for x, k in zip(Li, mi) if k)
    sums = [mp.fsum(x for x, k in zip(Li, mi) if k) for Li, mi in rows]
    if mode == "seq-mean-token-sum":
        return mp.fsum(sums) / len(rows)
    if mode == "seq-mean-token-mean":
        return mp.fsum(s / sum(mi) for s, (_, mi) in zip(sums, rows)) / len(rows)
    H = horizon if horizon is not None else len(m[0])
    return mp.fsum(sums) / (len(rows) * H)


def f_aggregate(a, kw, o):
    return _agg(a[0], a[1], o["mode"], o.get("horizon"))


def f_ppo(a, kw, o):  # Schulman et al. 2017, Eq. 7 (dual clip: Ye et al. 2020, Eq. 5)
    lp, old, A, m = a
    el = o.get("clip_low", 0.2)
    eh = o.get("clip_high") or el
    L = []
    for i in range(len(lp)):
        row = []
        for t in range(len(lp[i])):
            Ai = A[i][t] if isinstance(A[i], list) else A[i]
            if not m[i][t]:
                row.append(mp.mpf(0))
                continue
            rho = mp.exp(lp[i][t] - old[i][t])
            v = max(-Ai * rho, -Ai * min(max(rho, 1 - el), 1 + eh))
            if o.get("dual_clip") and Ai < 0:
                v = min(v, -o["dual_clip"] * Ai)
            row.append(v)
        L.append(row)
    return _agg(L, m, o["mode"], o.get("horizon"))


def f_cispo(a, kw, o):  # MiniMax 2025, Eq. 4
    lp, old, A, m = a
    el = o.get("clip_low", 0.2)
    eh = o.get("clip_high") or el
    L = [[(-min(max(mp.exp(lp[i][t] - old[i][t]), 1 - el), 1 + eh) * A[i][t] * lp[i][t])
          if m[i][t] else mp.mpf(0) for t in range(len(lp[i]))] for i in range(len(lp))]
    return _agg(L, m, o["mode"])


def f_grpo(a, kw, o):  # Shao et al. 2024, Eq. 3; TRL's eps 1e-4, Bessel, singleton 0
    out = []
    eps = o.get("eps", mp.mpf("1e-4"))
    for row in a[0]:
        G = len(row)
        mu = mp.fsum(row) / G
        if G == 1 or all(x == row[0] for x in row):
            out.append([mp.mpf(0)] * G)
            continue
        sd = mp.sqrt(mp.fsum((x - mu) ** 2 for x in row) / (G - 1))
        out.append([(x - mu) / (sd + eps) for x in row])
    return out


def f_rloo(a, kw, o):  # Kool et al. 2019; Ahmadian et al. 2024, Eq. 6
    out = []
    for row in a[0]:
        G = len(row)
        out.append(list(row) if G == 1 else
                   [x - (mp.fsum(row) - x) / (G - 1) for x in row])
    return out


def f_reinforce_pp(a, kw, o):  # Hu 2025, Eqs. 4-7 (gamma 1, no KL): return-to-go, whitening
    r, m = a
    G = []
    for ri, mi in zip(r, m):
        row, run = [mp.mpf(0)] * len(ri), mp.mpf(0)
        for t in reversed(range(len(ri))):
            run = (ri[t] if mi[t] else 0) + run
            row[t] = run
            run = run if mi[t] else mp.mpf(0)
        G.append(row)
    vals = [g for Gi, mi in zip(G, m) for g, k in zip(Gi, mi) if k]
    n = len(vals)
    mu = mp.fsum(vals) / n
    var = mp.fsum((g - mu) ** 2 for g in vals) / (n - 1)
    return [[(g - mu) / mp.sqrt(var + mp.mpf("1e-8")) if k else mp.mpf(0)
             for g, k in zip(Gi, mi)] for Gi, mi in zip(G, m)]


def f_remax(a, kw, o):  # Li et al. 2024, Algorithm 1
    R, b, m = a
    return [[(R[i] - b[i]) if k else mp.mpf(0) for k in m[i]] for i in range(len(R))]


def _ppo_drift(r, A, e):  # Lu et al. 2022, Sec. 3
    return max(mp.mpf(0), (r - min(max(r, 1 - e), 1 + e)) * A)


def _discovered_drift(r, A, al, an):  # Lu et al. 2022, Eq. 7 (the discovered drift)
    if A >= 0:
        x = (r - 1) * A
        return max(mp.mpf(0), x - al * mp.tanh(x / al))
    x = A * mp.log(r)
    return max(mp.mpf(0), x - an * mp.tanh(x / an))


def f_ppo_drift(a, kw, o):
    return [_ppo_drift(r, A, o["clip"]) for r, A in zip(*a)]


def f_discovered_drift(a, kw, o):
    return [_discovered_drift(r, A, o["alpha"], o["alpha_neg"]) for r, A in zip(*a)]


def f_drift_objective(a, kw, o):  # Kuba et al. 2022, Def. 3.1: J = r A - f
    if o["drift"] == "ppo":
        return [r * A - _ppo_drift(r, A, o.get("clip", 0.2)) for r, A in zip(*a)]
    return [r * A - _discovered_drift(r, A, o.get("alpha", 2), o.get("alpha_neg", mp.mpf("0.6")))
            for r, A in zip(*a)]


FORMULAS = {
    "dpo": f_dpo, "sigmoid": f_dpo, "cdpo": f_dpo, "robust_dpo": f_robust, "robust": f_robust,
    "hinge": f_hinge, "ipo": f_ipo, "sigmoid_norm": f_sigmoid_norm, "exo_pair": f_exo_pair,
    "nca_pair": f_nca, "bco_pair": f_bco, "apo_zero": f_apo_zero, "apo_down": f_apo_down,
    "discopop": f_discopop, "sppo": f_sppo, "sppo_hard": f_sppo_hard, "rebel": f_rebel,
    "dno": f_dno, "aot": f_aot, "aot_unpaired": lambda a, kw, o: f_aot(a, kw, o, unpaired=True),
    "simpo": f_simpo, "orpo": f_orpo, "kto": f_kto, "dro": f_dro, "pmpo": f_pmpo,
    "plackett_luce_dpo": f_plackett_luce, "exo": f_exo,
    "dpo_k": lambda a, kw, o: f_exo(a, kw, o, forward=True), "kl_estimate": f_kl,
    "aggregate": f_aggregate, "ppo_clip_loss": f_ppo, "cispo_loss": f_cispo,
    "grpo_advantages": f_grpo, "rloo_advantages": f_rloo,
    "reinforce_pp_advantages": f_reinforce_pp, "remax_advantages": f_remax,
    "ppo_drift": f_ppo_drift, "discovered_drift": f_discovered_drift, "lpo_drift": f_discovered_drift,
    "drift_objective": f_drift_objective,
}


def _mp_value(name, arrays, kwargs, options):
    a = [M(np.asarray(x).tolist()) for x in arrays]
    kw = {k: M(np.asarray(v).tolist()) for k, v in kwargs.items()}
    o = {k: (M(v) if isinstance(v, float) else v) for k, v in options.items()}
    return np.array(FORMULAS[name](a, kw, o), dtype=float)


def _close(got, want, rtol=1e-12, atol=1e-13):
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=rtol, atol=atol)


# ------------------------------------------------------------------------ the committed golden


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text())


def test_every_loss_has_an_independent_formula():
    assert set(FORMULAS) == set(SPECS)


def test_the_committed_golden_file_is_what_prefrl_computes_now(golden):
    """A formula change of any loss (values or gradients) fails here: regenerate the file on
    purpose, and the diff shows what changed."""
    now = golden_cases(seed=golden["seed"])
    assert set(golden["cases"]) == set(now), "a loss was added or removed: regenerate the file"
    for name, case in golden["cases"].items():
        assert case["arguments"] == now[name]["arguments"], name
        assert case["options"] == now[name]["options"], name
        _close(now[name]["values"], np.asarray(case["values"], dtype=float))
        if case["grads"] is not None:
            for k, g in case["grads"].items():
                _close(now[name]["grads"][k], np.asarray(g, dtype=float), atol=1e-12)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_golden_values_equal_the_papers_formula_in_high_precision(golden, name):
    case = golden["cases"][name]
    want = _mp_value(name, list(case["arguments"].values()), case["keyword_inputs"],
                     case["options"])
    _close(np.asarray(case["values"], dtype=float), want, rtol=1e-12, atol=1e-12)


# ------------------------------------------------ options that break symmetries (formula errors
# that the golden defaults cannot see: a swapped clip, a margin inside the scale, ...)

_R = np.random.default_rng(7)
_PAIR = [np.round(_R.uniform(-12, 0, 6), 3) for _ in range(4)]
_TOK = np.round(_R.uniform(-3, 0, (3, 4)), 3)
_MASK = np.array([[1, 1, 1, 0], [0, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)
_OLD = np.round(_TOK + np.array([[0.3, -0.25, 0.05, 0.0], [0.0, 0.4, -0.5, 0.15],
                                 [-0.12, 0.0, 0.0, 0.0]]), 3)
_ADV = np.array([[1.0, -1.5, 0.5, 2.0], [-0.7, 1.2, -2.0, 0.3], [1.1, 0.0, 0.0, 0.0]])
_LEN = {"chosen_lengths": np.array([3.0, 5, 2, 7, 1, 4]),
        "rejected_lengths": np.array([4.0, 2, 6, 1, 3, 5])}

EXTRA_CASES = [
    ("dpo", _PAIR, {}, dict(beta=0.7, label_smoothing=0.2)),
    ("robust_dpo", _PAIR, {}, dict(beta=0.3, label_smoothing=0.25)),
    ("ipo", _PAIR, _LEN, dict(beta=0.4)),
    ("exo_pair", _PAIR, {}, dict(beta=0.5, label_smoothing=0.2)),
    ("bco_pair", _PAIR, {}, dict(beta=0.5, delta=0.3)),
    ("discopop", _PAIR, {}, dict(beta=0.5, temperature=0.3)),
    ("aot", _PAIR, {}, dict(beta=0.5, label_smoothing=0.1)),
    ("simpo", _PAIR[:2], _LEN, dict(beta=2.5, margin=1.3)),
    ("simpo", _PAIR[:2], _LEN, dict(beta=1.0, margin=0.8, label_smoothing=0.1)),
    ("kto", _PAIR[:2], {"desirable": np.array([1, 0, 1, 0, 0, 1], dtype=bool)},
     dict(beta=0.5, reference_point=0.4, desirable_weight=1.3, undesirable_weight=0.6)),
    ("kl_estimate", [_TOK, _OLD], {}, dict(kind="k2")),
    ("kl_estimate", [_TOK, _OLD], {}, dict(kind="k1")),
    ("ppo_clip_loss", [_TOK, _OLD, _ADV, _MASK], {}, dict(clip_low=0.1, clip_high=0.35,
                                                          mode="token-mean")),
    ("ppo_clip_loss", [_TOK, _OLD, _ADV, _MASK], {}, dict(clip_low=0.1, clip_high=0.35,
                                                          dual_clip=1.5,
                                                          mode="seq-mean-token-mean")),
    ("ppo_clip_loss", [_TOK, _OLD, _ADV, _MASK], {}, dict(mode="seq-mean-token-sum-norm",
                                                          horizon=7.0)),
    ("cispo_loss", [_TOK, _OLD, _ADV, _MASK], {}, dict(clip_low=0.05, clip_high=0.3,
                                                       mode="token-mean")),
    ("aggregate", [_ADV, _MASK], {}, dict(mode="seq-mean-token-sum")),
    ("aggregate", [_ADV, _MASK], {}, dict(mode="token-sum")),
    ("grpo_advantages", [np.array([[1.0, 0.0, 0.5], [2.0, 2.0, 2.0]])], {}, dict(eps=1e-6)),
    ("ppo_drift", [np.array([0.5, 0.9, 1.1, 1.6, 1.6]), np.array([1.0, -1.0, 2.0, 1.0, -1.0])],
     {}, dict(clip=0.3)),
    ("drift_objective", [np.array([0.5, 0.9, 1.1, 1.6]), np.array([1.0, -1.0, 2.0, -1.0])], {},
     dict(drift="ppo", clip=0.25)),
]


@pytest.mark.parametrize("case", EXTRA_CASES, ids=lambda c: f"{c[0]}-{sorted(c[3].items())}")
def test_values_equal_the_papers_formula_with_asymmetric_options(case):
    name, arrays, kwargs, options = case
    got = getattr(losses, name)(*arrays, **kwargs, **options)
    _close(got, _mp_value(name, arrays, kwargs, options), rtol=1e-12, atol=1e-12)


# ------------------------------------------- hand-derived closed forms (worked out on paper)


def test_closed_forms_pairwise():
    ln2 = np.log(2.0)
    z = [0.0]
    # at a tie every logistic loss is log 2; IPO is the target squared
    assert losses.dpo(z, z, z, z, beta=0.3)[0] == pytest.approx(ln2, rel=1e-15)
    assert losses.ipo(z, z, z, z, beta=0.25)[0] == pytest.approx(4.0, rel=1e-15)
    # cDPO is stationary at sigma(beta h) = 1 - eps: h* = log((1-eps)/eps)/beta
    h = np.log(0.8 / 0.2) / 0.5
    assert losses.value_and_grad("cdpo", [h], z, z, z, beta=0.5, label_smoothing=0.2).grads[0][0] \
        == pytest.approx(0.0, abs=1e-15)
    # SimPO: x = beta (a_w - a_l) - margin; with a_w - a_l = margin / beta, x = 0 -> log 2
    v = losses.simpo([-2.0], [-2.0 - 2 * 0.6 / 2.5], beta=2.5, margin=0.6, chosen_lengths=[1],
                     rejected_lengths=[2])
    # a_w = -2, a_l = -1 - 0.24 -> a_w - a_l = -0.76: x = 2.5 * -0.76 - 0.6 = -2.5
    assert v[0] == pytest.approx(np.log1p(np.exp(2.5)), rel=1e-14)
    v = losses.simpo([-1.0], [-1.0 - 0.6 / 2.5], beta=2.5, margin=0.6, chosen_lengths=[1],
                     rejected_lengths=[1])
    assert v[0] == pytest.approx(ln2, rel=1e-14)  # margin outside the beta scale: x = 0
    # hinge: max(0, 1 - beta h); DiscoPOP at 0: (1 - 1/2) log 2 + 1/2
    assert losses.hinge([1.0], z, z, z, beta=0.5)[0] == pytest.approx(0.5, rel=1e-15)
    assert losses.discopop(z, z, z, z, beta=1.0)[0] == pytest.approx(ln2 / 2 + 0.5, rel=1e-14)
    # SPPO-hard is minimised at r_w = -r_l = 1/(2 beta)
    assert losses.sppo_hard([2.0], [-2.0], z, z, beta=0.25)[0] == pytest.approx(0.0, abs=1e-15)
    # APO-zero at a tie: 1 - 1/2 + 1/2 = 1; APO-down: 1/2 + 1 - 1/2 = 1; NCA at a tie: 2 log 2
    assert losses.apo_zero(z, z, z, z, beta=0.1)[0] == pytest.approx(1.0, rel=1e-15)
    assert losses.apo_down(z, z, z, z, beta=0.1)[0] == pytest.approx(1.0, rel=1e-15)
    assert losses.nca_pair(z, z, z, z, beta=0.1)[0] == pytest.approx(2 * ln2, rel=1e-15)


def test_closed_forms_policy_gradient():
    # one token, ratio e^0.5 > 1 + eps_hi with A > 0: the clipped branch, -A (1 + eps_hi)
    lp, old, A, m = [[0.5]], [[0.0]], [[2.0]], [[1]]
    assert float(losses.ppo_clip_loss(lp, old, A, m, clip_low=0.1, clip_high=0.3)) == \
        pytest.approx(-2.0 * 1.3, rel=1e-15)
    # ratio e^-0.5 < 1 - eps_lo with A < 0: the clipped branch, -A (1 - eps_lo)
    assert float(losses.ppo_clip_loss([[-0.5]], old, [[-2.0]], m, clip_low=0.1,
                                      clip_high=0.3)) == pytest.approx(2.0 * 0.9, rel=1e-15)
    # GRPO on [1, 0] with eps 0: (1 - 1/2) / std = 0.5 / sqrt(1/2)
    assert losses.grpo_advantages([[1.0, 0.0]], eps=0.0)[0, 0] == pytest.approx(
        np.sqrt(0.5), rel=1e-15)
    # RLOO: R - mean of the others
    np.testing.assert_allclose(losses.rloo_advantages([[3.0, 1.0, 2.0]]), [[1.5, -1.5, 0.0]],
                               rtol=1e-15)
    # k3 at x = log 2: 1/2 - 1 + log 2
    assert losses.kl_estimate([np.log(2.0)], [0.0])[0] == pytest.approx(np.log(2) - 0.5,
                                                                         rel=1e-15)
    # aggregation of [[1, 3], [2, .]]: token-mean 2, seq-mean-token-mean (2 + 2)/2
    L, msk = [[1.0, 3.0], [2.0, 0.0]], [[1, 1], [1, 0]]
    assert float(losses.aggregate(L, msk, "seq-mean-token-sum")) == 3.0
    assert float(losses.aggregate(L, msk, "seq-mean-token-sum-norm", horizon=4)) == 0.75
    # REINFORCE++ on two sequences of one token, rewards 1 and -1: returns +-1, whitened by the
    # Bessel std sqrt(2): +-1/sqrt(2 + 1e-8)
    A = losses.reinforce_pp_advantages([[1.0], [-1.0]], [[1], [1]])
    np.testing.assert_allclose(A[:, 0], [1 / np.sqrt(2 + 1e-8), -1 / np.sqrt(2 + 1e-8)],
                               rtol=1e-14)


def test_closed_forms_unpaired_and_listwise():
    # KTO at r = z0: 1 - sigma(0) = 1/2, weighted
    assert losses.kto([0.4], [0.0], desirable=[True], beta=0.5, reference_point=0.4,
                      desirable_weight=1.3)[0] == pytest.approx(0.65, rel=1e-15)
    # DRO is zero at R = V + beta log(pi / pi_ref)
    assert losses.dro([-1.0], [-2.0], [0.5], rewards=[0.5 + 0.3], beta=0.3)[0] == \
        pytest.approx(0.0, abs=1e-15)
    # Plackett-Luce with K = 2 is DPO
    assert losses.plackett_luce_dpo([[-1.0, -2.0]], [[-1.5, -1.5]], beta=0.7)[0] == \
        pytest.approx(losses.dpo([-1.0], [-2.0], [-1.5], [-1.5], beta=0.7)[0], rel=1e-14)
    # PMPO: accepted -alpha log pi + beta (log pi_ref - log pi)
    assert losses.pmpo([-2.0], [-1.0], accepted=[True], alpha=0.25, beta=0.5)[0] == \
        pytest.approx(0.5 + 0.5, rel=1e-15)
    # ORPO at a tie with a = -1: NLL 1 + beta log 2
    assert losses.orpo([-2.0], [-2.0], beta=0.1, chosen_lengths=[2], rejected_lengths=[2])[0] \
        == pytest.approx(1 + 0.1 * np.log(2), rel=1e-14)


def test_sequence_logps_closed_forms_and_its_torch_twin():
    lp = np.array([[-1.0, -2.0, np.nan], [-4.0, 5.0, 6.0], [0.0, 0.0, 0.0]])
    m = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(losses.sequence_logps(lp, m), [-3.0, -4.0, 0.0])
    np.testing.assert_array_equal(losses.sequence_logps(lp, m, "sum-norm", horizon=2.0),
                                  [-1.5, -2.0, 0.0])
    np.testing.assert_array_equal(losses.sequence_logps(lp[:2], m[:2], "mean"), [-1.5, -4.0])
    with pytest.raises(ValueError, match=r"mask\[2\] has no token"):
        losses.sequence_logps(lp, m, "mean")
    with pytest.raises(ValueError, match="reduction"):
        losses.sequence_logps(lp, m, "avg")
    with pytest.raises(ValueError, match="horizon"):
        losses.sequence_logps(lp, m, "sum", horizon=3)
    with pytest.raises(ValueError, match="mask"):
        losses.sequence_logps(np.zeros((3, 3)), m[:, :2])
    assert losses.sequence_logps(lp.astype(np.float32), m).dtype == np.float32
    torch = pytest.importorskip("torch")
    from prefrl.torch import losses as tl

    for how in ("sum", "mean", "sum-norm"):
        t = torch.tensor(lp[:2], requires_grad=True)
        s = tl.sequence_logps(t, torch.tensor(m[:2]), how)
        np.testing.assert_allclose(s.detach().numpy(), losses.sequence_logps(lp[:2], m[:2], how),
                                   rtol=1e-15)
        s.sum().backward()
        w = m[:2].astype(float)
        w = w / w.sum(1, keepdims=True) if how == "mean" else w / (3 if how == "sum-norm" else 1)
        np.testing.assert_allclose(t.grad.numpy(), w, rtol=1e-15)
    with pytest.raises(ValueError, match=r"mask\[2\] has no token"):
        tl.sequence_logps(torch.tensor(lp), torch.tensor(m), "mean")
