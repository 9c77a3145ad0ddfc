"""Theorems about restricted classes: KL projections, the RLHF-DPO dichotomy, EXO vs DPO, r -> Q*.

Sources: Shi et al. (2025), "Understanding the Performance Gap in Preference Learning" (the 2x2
dichotomy under exact optimisation); Ji et al. (2024), "Towards Efficient and Exact Optimization of
Language Model Alignment" (EXO, its K -> infinity limits); Rafailov, Hejna, Park, Finn (2024),
"From r to Q*: Your Language Model is Secretly a Q-Function" (the soft Bellman identity).
The instances are drawn here (small bandits with random log-linear and linear classes), never
taken from the papers.
"""

from __future__ import annotations

import numpy as np

from prefrl.online import (
    expected_dpo_gradient,
    on_policy_pair_distribution,
    pilaf_pair_distribution,
    pilaf_policies,
)
from prefrl.policies import LogLinearPolicy, gibbs, kl
from prefrl.registry import theorem
from prefrl.restricted import (
    dpo_restricted,
    forward_kl_projection,
    k_sample_expected_loss,
    k_sample_limit,
    k_sample_loss,
    k_sample_value_and_grad,
    policy_value,
    reverse_kl_projection,
    rlhf_restricted,
)
from prefrl.token_credit import random_token_tree_instance, token_tree_credit


def _bt(r):
    return 1.0 / (1.0 + np.exp(-(r[:, None] - r[None, :])))


def _reward(rng, K):
    """Gaussian rewards, or integer ones (ties), or all zeros."""
    kind = rng.integers(4)
    if kind == 0:
        return np.zeros(K)
    if kind == 1:
        return rng.integers(0, 3, size=K).astype(float)
    return rng.normal(size=K) * float(rng.choice([0.5, 2.0]))


def draw_bandit(rng: np.random.Generator) -> dict:
    """A 2-5 armed bandit: reward, behaviour = reference (full support), beta, random features."""
    K = int(rng.integers(2, 6))
    ref = rng.dirichlet(np.ones(K) * float(rng.choice([0.5, 2.0])))
    ref = np.maximum(ref, 0.02)
    ref /= ref.sum()
    return {
        "reward": _reward(rng, K),
        "reference": ref,
        "beta": float(10 ** rng.uniform(-0.7, 0.7)),
        "d": int(rng.integers(1, max(2, K - 1))),
        "features": rng.normal(size=(K, 3)),
    }


def _fits(inst, psi, phi):
    r, ref, beta = inst["reward"], inst["reference"], inst["beta"]
    P = _bt(r)
    R = rlhf_restricted(P, ref, psi, phi, ref, beta, rng=0)
    D = dpo_restricted(P, ref, phi, ref, beta)
    return R, D, policy_value(R.policy, r, ref, beta), policy_value(D.policy, r, ref, beta)


@theorem(
    "restricted.dichotomy_realisable_both_optimal",
    claim="if r* is in the reward class and pi* in the policy class, RLHF and DPO both attain "
    "max V* (value error)",
    reference="Shi et al. 2025, Sec. 3 (row 1 of the 2x2 table)",
    draw=draw_bandit,
    tolerance=1e-7,
)
def realisable_both_optimal(inst: dict) -> float:
    """Largest gap between max V* and the value of RLHF or DPO."""
    r, ref, beta, d = inst["reward"], inst["reference"], inst["beta"], inst["d"]
    extra = inst["features"][:, :d]
    psi = np.c_[r, extra]  # r* in F
    phi = np.c_[extra[:, ::-1], r]  # pi* = ref e^{r/beta}/Z in Pi
    _, _, vr, vd = _fits(inst, psi, phi)
    vopt = policy_value(gibbs(ref, r, beta), r, ref, beta)
    return max(abs(vopt - vr), abs(vopt - vd))


@theorem(
    "restricted.dichotomy_isomorphic_identical",
    claim="with isomorphic classes (policy features = reward features) RLHF and DPO return the "
    "same policy, whether or not r* is realisable",
    reference="Shi et al. 2025, Sec. 3 (isomorphic classes); Azar et al. 2024, Prop. 4",
    draw=draw_bandit,
    tolerance=1e-7,
)
def isomorphic_identical(inst: dict) -> float:
    """Max-norm difference of the two policies."""
    phi = inst["features"][:, : inst["d"]]
    R, D, _, _ = _fits(inst, phi, phi)
    return float(np.max(np.abs(R.policy - D.policy)))


@theorem(
    "restricted.dichotomy_reward_realisable_rlhf_wins",
    claim="if r* is in the reward class, V*(pi_RLHF) = max over Pi of V* >= V*(pi_DPO) for any "
    "log-linear Pi",
    reference="Shi et al. 2025, Sec. 3 (row 2 of the 2x2 table)",
    draw=draw_bandit,
    tolerance=1e-8,
)
def reward_realisable_rlhf_wins(inst: dict) -> float:
    """Amount by which DPO beats RLHF (0 when the claim holds)."""
    K = inst["reward"].size
    phi = inst["features"][:, : inst["d"]]
    _, _, vr, vd = _fits(inst, np.eye(K), phi)
    return max(0.0, vd - vr)


@theorem(
    "restricted.dichotomy_policy_realisable_dpo_wins",
    claim="if pi* is in the policy class, DPO attains max V* >= V*(pi_RLHF) for any linear "
    "reward class",
    reference="Shi et al. 2025, Sec. 3 (row 3 of the 2x2 table)",
    draw=draw_bandit,
    tolerance=1e-8,
)
def policy_realisable_dpo_wins(inst: dict) -> float:
    """Amount by which RLHF beats DPO, plus DPO's distance from max V*."""
    r, ref, beta = inst["reward"], inst["reference"], inst["beta"]
    psi = inst["features"][:, : inst["d"]]
    phi = np.c_[r, inst["features"][:, 2:]]
    _, _, vr, vd = _fits(inst, psi, phi)
    vopt = policy_value(gibbs(ref, r, beta), r, ref, beta)
    return max(0.0, vr - vd) + abs(vopt - vd)


def draw_projection(rng: np.random.Generator) -> dict:
    """A target (sometimes with zeros, sometimes a Gibbs tilt) and a random log-linear class."""
    K = int(rng.integers(2, 7))
    target = rng.dirichlet(np.ones(K) * float(rng.choice([0.3, 1.0, 3.0])))
    if K > 2 and rng.random() < 0.3:
        target[rng.integers(K)] = 0.0
        target /= target.sum()
    d = int(rng.integers(1, K))
    feats = rng.normal(size=(K, d))
    if rng.random() < 0.2:
        feats = np.c_[feats, feats[:, :1]]  # rank-deficient
    return {"target": target, "features": feats, "others": rng.normal(size=(8, feats.shape[1]))}


@theorem(
    "restricted.forward_projection_matches_moments",
    claim="the forward-KL projection onto a log-linear class matches the feature moments of the "
    "target and no parameter has a smaller KL(p || pi_theta)",
    reference="maximum likelihood in an exponential family (moment matching); Ji et al. 2024",
    draw=draw_projection,
    tolerance=1e-8,
)
def forward_projection_matches_moments(inst: dict) -> float:
    """Moment mismatch (when attained) plus any improvement found by other parameters."""
    p, phi = inst["target"], inst["features"]
    res = forward_kl_projection(p, phi)
    cls = LogLinearPolicy(phi)
    worst = float(np.max(np.abs(res.policy @ phi - p @ phi))) if res.converged else 0.0
    for th in inst["others"]:
        worst = max(worst, res.value - kl(p, cls.probs(th)))
    return worst


@theorem(
    "restricted.reverse_projection_first_order",
    claim="the reverse-KL projection is a stationary point (gradient Cov(phi, log pi/p) = 0) and "
    "beats random parameters; for p = Gibbs(r) it maximises E r - beta KL over the class",
    reference="Ji et al. 2024 (EXO's K -> inf limit); Shi et al. 2025, Sec. 3",
    draw=draw_projection,
    tolerance=1e-8,
)
def reverse_projection_first_order(inst: dict) -> float:
    """Gradient max-norm plus any improvement found by random parameters."""
    p = np.maximum(inst["target"], 1e-3)
    p /= p.sum()
    phi = inst["features"]
    res = reverse_kl_projection(p, phi, rng=0)
    cls = LogLinearPolicy(phi)
    worst = res.certificate
    for th in inst["others"]:
        worst = max(worst, res.value - kl(cls.probs(th), p))
    return worst


def _floor(p, low):
    p = np.maximum(p, low)
    return p / p.sum()


def draw_k_sample(rng: np.random.Generator) -> dict:
    """A small full-class instance for exact enumeration of the K-sample losses."""
    n = int(rng.integers(2, 5))
    return {
        "reward": _reward(rng, n),
        "reference": _floor(rng.dirichlet(np.ones(n)), 0.05),
        "K": int(rng.integers(2, 4)),
        "beta_r": float(10 ** rng.uniform(-0.5, 0.5)),
        "beta_pi": float(10 ** rng.uniform(-0.5, 0.5)),
        "others": rng.normal(size=(5, n)),
    }


@theorem(
    "restricted.exo_equals_dpo_unrestricted",
    claim="in the full (tabular) class the exact expected K-sample EXO and DPO losses are both "
    "minimised at pi_theta^{beta_pi} = pi*, for every K",
    reference="Ji et al. 2024 (derived: p_f = p_r on every group at pi_theta = pi*)",
    draw=draw_k_sample,
    tolerance=1e-9,
)
def exo_equals_dpo_unrestricted(inst: dict) -> float:
    """Gradient norm of both expected losses at theta* and any improvement by other thetas."""
    ref = inst["reference"]
    r, K, br, bp = inst["reward"], inst["K"], inst["beta_r"], inst["beta_pi"]
    n = r.size
    feats = np.eye(n)
    cls = LogLinearPolicy(feats, ref)
    theta_star = r / (br * bp)
    Y = np.stack(np.meshgrid(*([np.arange(n)] * K), indexing="ij"), axis=-1).reshape(-1, K)
    w = np.prod(ref[Y], axis=1)
    worst = 0.0
    for method in ("exo", "dpo"):
        vals, _ = k_sample_value_and_grad(theta_star, Y, r, feats, ref, beta_r=br, beta_pi=bp,
                                          method=method)
        # Gradient of the *expected* loss: weight each group's gradient by its probability.
        grad = np.zeros(n)
        for y, wy in zip(Y, w):
            grad += wy * k_sample_value_and_grad(theta_star, y[None], r, feats, ref, beta_r=br,
                                                 beta_pi=bp, method=method)[1]
        best = float(w @ vals)
        worst = max(worst, float(np.max(np.abs(grad))))
        for th in inst["others"]:
            other = k_sample_expected_loss(th, r, feats, ref, K=K, beta_r=br, beta_pi=bp,
                                           method=method)
            worst = max(worst, best - other)
    star = gibbs(ref, r, br)
    worst = max(worst, float(np.max(np.abs(cls.probs(bp * theta_star) - star))))
    return worst


def draw_limit(rng: np.random.Generator) -> dict:
    """A small restricted instance and a parameter for the Monte Carlo K -> infinity check."""
    n = int(rng.integers(2, 6))
    d = int(rng.integers(1, n + 1))
    return {
        "reward": rng.normal(size=n) * 0.7,
        "features": rng.normal(size=(n, d)) * 0.7,
        "theta": rng.normal(size=d) * 0.5,
        "seed": int(rng.integers(2**31)),
    }


@theorem(
    "restricted.k_sample_limits",
    claim="as K grows the mean K-sample EXO loss tends to KL(pi_theta || pi*) and the DPO loss "
    "minus log K to KL(pi* || pi_theta) - KL(pi* || pi_ref) (Monte Carlo, within 4 standard "
    "errors plus the O(1/K) self-normalisation bias bound)",
    reference="Ji et al. 2024 (limits re-derived by the law of large numbers)",
    draw=draw_limit,
    tolerance=0.0,
)
def k_sample_limits(inst: dict) -> float:
    """Excess of |MC mean - limit| over 4 SE + 2 w_max^2 / K (0 when within)."""
    r, phi, th = inst["reward"], inst["features"], inst["theta"]
    n = r.size
    ref = np.full(n, 1.0 / n)
    rng = np.random.default_rng(inst["seed"])
    K, groups = 2048, 48
    Y = rng.integers(0, n, size=(groups, K))
    cls = LogLinearPolicy(phi, ref)
    w_max = max(np.max(cls.probs(th) / ref), np.max(gibbs(ref, r, 1.0) / ref))
    worst = 0.0
    for method, shift in (("exo", 0.0), ("dpo", np.log(K))):
        vals = k_sample_loss(th, Y, r, phi, ref, method=method) - shift
        se = vals.std(ddof=1) / np.sqrt(groups)
        lim = k_sample_limit(th, r, phi, ref, method=method)
        worst = max(worst, abs(vals.mean() - lim) - 4 * se - 2 * w_max**2 / K)
    return max(0.0, float(worst))


@theorem(
    "restricted.q_star_telescoping",
    claim="on a token tree, beta log(pi*/pi_ref)(a|s) = r(s,a) + V*(s') - V*(s) at every node; "
    "the sum along a sequence is R(y) - V*(root); the mean under pi_ref is -beta KL <= 0",
    reference="Rafailov, Hejna, Park, Finn 2024 ('From r to Q*'), Sec. 4",
    draw=random_token_tree_instance,
    tolerance=1e-10,
)
def q_star_telescoping(inst: dict) -> float:
    """Largest error of the soft Bellman, telescoping and mean identities (and a positive mean)."""
    a = token_tree_credit(**inst)
    return max(a.soft_bellman_error, a.telescope_error, a.closed_form_error,
               a.mean_identity_error, a.max_node_mean_implicit_reward,
               a.sequence_mean_implicit_reward)


# ----------------------------------------------------------------------------------------------
# PILAF (Feng et al. 2025): the sampler that aligns the expected DPO gradient with grad V*
# ----------------------------------------------------------------------------------------------


def _sigmoid_c(z):
    """Logistic function that also takes complex arguments (for complex-step derivatives)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _expected_dpo_grad_c(theta, r_star, phi, mu, beta):
    """Expected DPO gradient by the plain formula (complex r_star allowed); independent of prefrl."""
    u = phi @ theta
    margin = beta * (u[:, None] - u[None, :])
    coef = mu * (_sigmoid_c(r_star[:, None] - r_star[None, :]) - _sigmoid_c(margin))
    D = phi[:, None, :] - phi[None, :, :]
    return -beta * np.einsum("ij,ijd->d", coef, D)


def _implicit_reward(cls, theta, beta):
    """beta log(pi_theta / pi_ref) on the support of the reference, 0 elsewhere."""
    on = cls.pi_ref > 0
    lp = cls.log_probs(theta)
    return np.where(on, beta * (np.where(on, lp, 0.0) - np.log(np.where(on, cls.pi_ref, 1.0))),
                    0.0)


def _grad_value_c(cls, theta, r_star, beta):
    """grad_theta V*(pi_theta) by complex steps through E r* - beta KL (independent of the formula)."""
    on = cls.pi_ref > 0
    log_ref = np.log(np.where(on, cls.pi_ref, 1.0))
    g = np.zeros(cls.dim)
    for j in range(cls.dim):
        t = theta.astype(complex)
        t[j] += 1e-30j
        z = np.where(on, log_ref + cls.features @ t, -np.inf + 0j)
        m = np.max(z[on].real)
        lz = m + np.log(np.sum(np.exp(z[on] - m)))
        lp = z[on] - lz
        p = np.exp(lp)
        v = np.sum(p * r_star[on]) - beta * np.sum(p * (lp - log_ref[on]))
        g[j] = v.imag / 1e-30
    return g


def draw_pilaf(rng: np.random.Generator) -> dict:
    """A log-linear bandit class (ties, zero features, reference zeros), a parameter, a direction."""
    K = int(rng.integers(2, 6))
    d = int(rng.integers(1, 4))
    phi = rng.normal(size=(K, d)) * float(rng.choice([0.3, 1.0, 2.0]))
    kind = rng.integers(5)
    if kind == 0:
        phi[1] = phi[0]  # two actions with the same features: tied implicit rewards
    elif kind == 1:
        phi[:, 0] = 0.0  # a feature that is zero everywhere
    ref = rng.dirichlet(np.ones(K))
    ref = np.maximum(ref, 0.02)
    if K > 2 and rng.random() < 0.3:
        ref[rng.integers(K)] = 0.0  # an action the class can never play
    ref /= ref.sum()
    theta = np.zeros(d) if rng.random() < 0.2 else rng.normal(size=d)
    h = rng.integers(-2, 3, size=K).astype(float) if rng.random() < 0.4 else rng.normal(size=K)
    return {"features": phi, "reference": ref, "theta": theta, "direction": h,
            "beta": float(10 ** rng.uniform(-1, 1)), "other_reward": rng.normal(size=K)}


@theorem(
    "restricted.pilaf_gradient_aligns_first_order",
    claim="with PILAF pairs (T-PILAF weight 1/(1+Z+Z-)), the expected DPO descent direction "
    "-grad L equals beta/(1+Z+Z-) grad_theta V*(pi_theta) to first order in r* - r_theta: both "
    "vanish at r* = r_theta and their derivatives along any r* = r_theta + eps h agree; the "
    "symmetrised PILAF law is pi x pi / (2 (1+Z+Z-) sigma'(r_theta(y) - r_theta(y')))",
    reference="Feng et al. 2025 (PILAF, arXiv 2502.04270), T-PILAF gradient alignment; "
    "re-derived here for log-linear bandits",
    draw=draw_pilaf,
    tolerance=1e-9,
)
def pilaf_gradient_aligns_first_order(inst: dict) -> float:
    """Largest error of the four identities (relative to the size of the terms)."""
    phi, ref, theta, h, beta = (inst[k] for k in ("features", "reference", "theta", "direction",
                                                  "beta"))
    cls = LogLinearPolicy(phi, ref)
    pi = cls.probs(theta)
    rt = _implicit_reward(cls, theta, beta)
    pp = pilaf_policies(pi, ref, beta)
    w = pp.on_policy_weight
    mu = pilaf_pair_distribution(pi, ref, beta)
    # (1) the symmetrised law
    on = ref > 0
    d = rt[:, None] - rt[None, :]
    # 1 / sigma'(d) = 2 + e^d + e^-d, finite for every finite d
    sym = np.outer(pi, pi) * (2.0 + np.exp(d) + np.exp(-d)) / (
        2.0 * (1.0 + np.exp(pp.log_z_plus + pp.log_z_minus)))
    sym = np.where(np.outer(on, on), sym, 0.0)
    worst = float(np.max(np.abs(0.5 * (mu + mu.T) - sym)))
    # (2) zero expected gradient at r* = r_theta (prefrl's implementation, both samplers)
    P0 = 1.0 / (1.0 + np.exp(-d))
    for m in (mu, on_policy_pair_distribution(pi)):
        worst = max(worst, float(np.max(np.abs(
            expected_dpo_gradient(theta, P0, m, phi, ref, beta).gradient))))
    # (3) derivative along h: complex step of the plain formula vs beta w Cov_pi(h, phi)
    c = phi - pi @ phi
    target = beta * w * ((pi * h) @ c)
    deriv = _expected_dpo_grad_c(theta, rt + 1e-30j * h, phi, mu, beta).imag / 1e-30
    scale = 1.0 + float(np.max(np.abs(target)))
    worst = max(worst, float(np.max(np.abs(-deriv - target))) / scale)
    # (4) grad V* = Cov_pi(r* - r_theta, phi), and prefrl's gradient = the plain formula
    rs = inst["other_reward"]
    gV = _grad_value_c(cls, theta, rs, beta)
    formula = (pi * np.where(on, rs - rt, 0.0)) @ c
    worst = max(worst, float(np.max(np.abs(gV - formula))) / (1.0 + float(np.max(np.abs(gV)))))
    Ps = 1.0 / (1.0 + np.exp(-(rs[:, None] - rs[None, :])))
    lib = expected_dpo_gradient(theta, Ps, mu, phi, ref, beta).gradient
    plain = _expected_dpo_grad_c(theta, rs.astype(complex), phi, mu, beta).real
    worst = max(worst, float(np.max(np.abs(lib - plain))))
    return worst


# The counterexample: 3 arms with features (0, 1, 3), uniform reference, beta = 1, theta near
# -0.7 (the sign flips outside about [-0.75, -0.6]), and a true reward r* = r_theta + eps (0, 2, -2) slightly off the implicit reward.
COUNTEREXAMPLE = {"features": np.array([[0.0], [1.0], [3.0]]), "direction": np.array(
    [0.0, 2.0, -2.0]), "beta": 1.0}


def draw_on_policy_counterexample(rng: np.random.Generator) -> dict:
    """The fixed counterexample, at a parameter near -0.7 and a small misspecification eps."""
    return {**COUNTEREXAMPLE, "theta": np.array([rng.uniform(-0.74, -0.61)]),
            "eps": float(rng.choice([1e-4, 1e-3, 1e-2, 0.05]))}


def on_policy_alignment(inst: dict) -> dict:
    """Inner products of the exact expected DPO descent directions with grad V* (both samplers)."""
    phi, theta, beta = inst["features"], inst["theta"], inst["beta"]
    K = phi.shape[0]
    ref = np.full(K, 1.0 / K)
    cls = LogLinearPolicy(phi, ref)
    pi = cls.probs(theta)
    r_star = _implicit_reward(cls, theta, beta) + inst["eps"] * inst["direction"]
    P = 1.0 / (1.0 + np.exp(-(r_star[:, None] - r_star[None, :])))
    grad_v = (pi * (r_star - _implicit_reward(cls, theta, beta))) @ (phi - pi @ phi)
    out = {"grad_v": grad_v}
    for name, mu in (("on_policy", on_policy_pair_distribution(pi)),
                     ("pilaf", pilaf_pair_distribution(pi, ref, beta))):
        step = -expected_dpo_gradient(theta, P, mu, phi, ref, beta).gradient
        out[name] = float(step @ grad_v)
        out[name + "_cos"] = float(step @ grad_v / (np.linalg.norm(step) * np.linalg.norm(grad_v)))
    return out


@theorem(
    "restricted.on_policy_sampler_not_aligned",
    claim="the plain on-policy sampler does not align: on a 3-armed counterexample (features "
    "0, 1, 3; r* = r_theta + eps (0, 2, -2)) its expected DPO step has a negative inner product "
    "with grad V* (it lowers V* to first order), while the PILAF step has cosine 1 - O(eps)",
    reference="Feng et al. 2025 (PILAF) motivation; counterexample ours",
    draw=draw_on_policy_counterexample,
    tolerance=0.0,
)
def on_policy_sampler_not_aligned(inst: dict) -> float:
    """Positive part of the on-policy inner product plus PILAF's cosine deficit beyond 4 eps."""
    a = on_policy_alignment(inst)
    return max(0.0, a["on_policy"]) + max(0.0, 1.0 - a["pilaf_cos"] - 4.0 * inst["eps"])
