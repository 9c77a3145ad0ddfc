"""Theorems of the secondary DPO-family papers, checked exactly: DRO, PMPO, VAS, PAR, SimPO and the
"implicit rewards fall" identity of From r to Q*.

Each check returns the violation of the claim on one instance (0 when it holds). Independent
computations back up the library where one exists: the PMPO objective is evaluated from its
definition with :func:`prefrl.policies.kl` (not from the coefficient form the solver uses), the VAS
values are re-evaluated by :meth:`TabularMDP.evaluate`, and the return variance of the PAR check
comes from the second-moment Bellman equation (Sobel 1982).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from prefrl.bandits import (
    dro_optimum,
    dro_population_loss,
    kl_regularized_optimum,
    pmpo_objective,
    pmpo_optimum,
    preference_as_reward,
    simpo_population_loss,
    value_augmented_policy,
)
from prefrl.mdp import TabularMDP
from prefrl.policies import kl, log_gibbs, soft_value
from prefrl.registry import theorem

from ._draws import degenerate_transitions, tied_or_normal_rewards

# ----------------------------------------------------------------------------------------------
# instance generators (degenerate on purpose: zero masses, ties, empty sets, absorbing states)
# ----------------------------------------------------------------------------------------------


def _beta(rng) -> float:
    return float(rng.choice([0.1, 0.5, 1.0, 2.0, 5.0]))


def _distribution(rng, K: int, *, zeros: bool) -> np.ndarray:
    """A distribution with exact zeros (when ``zeros``) and, one time in five, uniform."""
    p = rng.dirichlet(np.ones(K) * float(rng.choice([0.3, 1.0, 5.0])))
    p = np.where(p < 1e-3, 0.0, p)
    if zeros and K > 1 and rng.random() < 0.4:
        p[rng.integers(K)] = 0.0
    if not zeros or p.sum() == 0:
        p = np.maximum(p, 1e-2)
    if rng.random() < 0.2:
        p = np.ones(K)
    return p / p.sum()


def _counts(rng, K: int) -> np.ndarray:
    """Counts of an accepted or rejected set: sometimes empty, sometimes a single action."""
    u = rng.random()
    if u < 0.15:
        return np.zeros(K)
    if u < 0.35:
        return np.eye(K)[rng.integers(K)] * float(rng.integers(1, 4))
    return rng.integers(0, 4, size=K).astype(float)


# ----------------------------------------------------------------------------------------------
# DRO (Richemond et al. 2024)
# ----------------------------------------------------------------------------------------------


def draw_dro_instance(rng: np.random.Generator) -> dict:
    """Rewards (ties half the time), mu with zeros, pi_ref positive on supp(mu), beta."""
    K = int(rng.integers(1, 6))
    mu = _distribution(rng, K, zeros=True)
    ref = _distribution(rng, K, zeros=True)
    ref = np.where(mu > 0, np.maximum(ref, 0.05), ref)
    return {"rewards": tied_or_normal_rewards(rng, K) * float(rng.choice([0.5, 1.0, 3.0])),
            "mu": mu, "pi_ref": ref / ref.sum(), "beta": _beta(rng),
            "shift": float(rng.choice([0.1, 1.0, 5.0])), "z": rng.normal(size=K)}


@theorem(
    "dpo_secondary.dro_zero_loss_point",
    claim="the population DRO loss is zero at pi* = pi_ref exp(r/beta)/Z, V* = beta log Z, which "
    "is the KL-regularised optimum",
    reference="Richemond et al. 2024 (DRO), Eq. 6 and Sec. 3",
    draw=draw_dro_instance,
    tolerance=1e-12,
)
def dro_zero_loss(inst: dict) -> float:
    """Loss at the optimum, and gaps to the Gibbs policy and the soft value."""
    r, mu, ref, beta = inst["rewards"], inst["mu"], inst["pi_ref"], inst["beta"]
    res = dro_optimum(r, mu, ref, beta)
    star = kl_regularized_optimum(ref, r, beta)
    loss = dro_population_loss(res.policy, res.value, r, mu, ref, beta)
    return max(loss, res.loss, res.certificate * 1e-3, float(np.abs(res.policy - star.policy).max()),
               abs(res.value - soft_value(ref, r, beta)) / (1 + abs(res.value)))


@theorem(
    "dpo_secondary.dro_zero_loss_set",
    claim="(pi, V) has zero DRO loss iff beta log(pi/pi_ref) = r - V on supp(mu): with full "
    "support the minimiser is unique (the best V for any other pi leaves loss "
    "beta^2/2 Var_mu(log pi/pi*) > 0); otherwise every V >= beta log Z_mu has a zero-loss policy "
    "putting the leftover mass off supp(mu)",
    reference="Richemond et al. 2024 (DRO), Sec. 3 (uniqueness derived here)",
    draw=draw_dro_instance,
    tolerance=1e-9,
)
def dro_zero_loss_set(inst: dict) -> float:
    """Error of the min-over-V identity at a perturbed policy, and the loss of the alternative
    zero-loss point when mu misses an action (plus 1 if ``unique`` is wrong)."""
    r, mu, ref, beta = inst["rewards"], inst["mu"], inst["pi_ref"], inst["beta"]
    res = dro_optimum(r, mu, ref, beta)
    worst = float(res.unique != bool(np.all(mu > 0)))
    # A perturbation of pi* within supp(pi_ref): g - g* = z + const, so min_V L = beta^2/2 Var_mu z.
    log_star = log_gibbs(ref, r, beta)
    with np.errstate(invalid="ignore"):
        z = np.where(ref > 0, 0.3 * inst["z"], 0.0)
    log_pi = log_softmax(np.where(ref > 0, log_star + z, -np.inf))
    pi = np.exp(log_pi)
    if np.all(pi[mu > 0] > 0):
        on = mu > 0
        g = log_pi[on] - np.log(ref[on])
        V_best = float(mu[on] @ (r[on] - beta * g))
        got = dro_population_loss(pi, V_best, r, mu, ref, beta)
        zc = z[on] - mu[on] @ z[on]
        want = 0.5 * beta**2 * float(mu[on] @ zc**2)
        worst = max(worst, abs(got - want) / (1e-12 + want + got))
    if not res.unique:
        # V' > V_min, pi' = pi_ref e^{(r - V')/beta} on supp(mu), the rest on one action outside.
        V2 = float(res.min_value) + beta * inst["shift"]
        on = mu > 0
        pi2 = np.zeros_like(ref)
        pi2[on] = np.exp(np.log(ref[on]) + (r[on] - V2) / beta)
        pi2[int(np.flatnonzero(~on)[0])] = 1.0 - pi2.sum()
        worst = max(worst, dro_population_loss(pi2, V2, r, mu, ref, beta))
    return worst


# ----------------------------------------------------------------------------------------------
# PMPO (Abdolmaleki et al. 2024)
# ----------------------------------------------------------------------------------------------


def draw_pmpo_instance(rng: np.random.Generator) -> dict:
    """Accepted/rejected counts (empty sets, single actions), pi_ref with zeros, alpha, beta >= 0."""
    K = int(rng.integers(1, 6))
    return {"accepted": _counts(rng, K), "rejected": _counts(rng, K),
            "pi_ref": _distribution(rng, K, zeros=True),
            "alpha": float(rng.choice([0.0, 0.25, 0.5, 0.75, 1.0])),
            "beta": float(rng.choice([0.0, 0.5, 1.0, 2.0, 5.0])),
            "others": rng.dirichlet(np.ones(K), size=8)}


def _pmpo_definition(policy, a, d, ref, alpha, beta) -> float:
    """J from its definition: alpha E_a log pi - (1-alpha) E_d log pi - beta KL(pi_ref || pi)."""
    a = a / a.sum() if a.sum() > 0 else a
    d = d / d.sum() if d.sum() > 0 else d
    lp = np.log(policy)
    return float(alpha * (a @ lp) - (1 - alpha) * (d @ lp) - beta * kl(ref, policy))


@theorem(
    "dpo_secondary.pmpo_closed_form",
    claim="when c = alpha a - (1-alpha) d + beta pi_ref >= 0, pi* = c / sum(c) satisfies the KKT "
    "conditions c = lambda pi* and no policy has a larger PMPO objective; when some c(y) < 0 the "
    "objective is unbounded above (it grows like -c(y) log(1/pi(y)))",
    reference="Abdolmaleki et al. 2024 (PMPO), arXiv 2410.04166 (closed form derived here)",
    draw=draw_pmpo_instance,
    tolerance=1e-9,
)
def pmpo_closed_form(inst: dict) -> float:
    """KKT residual, the largest gain of a random policy over pi*, or the missing growth."""
    a, d, ref = inst["accepted"], inst["rejected"], inst["pi_ref"]
    alpha, beta = inst["alpha"], inst["beta"]
    res = pmpo_optimum(a, d, ref, alpha, beta)
    K = ref.size
    if res.bounded:
        worst = res.certificate
        if a.sum() > 0 and d.sum() > 0:
            worst = max(worst, abs(res.multiplier - (2 * alpha - 1 + beta)))
        for pi in inst["others"]:
            pi = np.maximum(pi, 1e-12)
            pi /= pi.sum()
            gain = _pmpo_definition(pi, a, d, ref, alpha, beta) - res.value
            worst = max(worst, gain / (1.0 + abs(res.value)))
        if res.attained and K > 1 and np.all(res.policy > 0):
            direct = _pmpo_definition(res.policy, a, d, ref, alpha, beta)
            worst = max(worst, abs(direct - res.value) / (1.0 + abs(res.value)))
        return worst
    # Unbounded: along pi_t(esc) = e^{-t}, J grows by slope * (t2 - t1) up to o(e^{-t1}).
    esc, slope = res.escape, res.certificate
    q = np.where(np.arange(K) == esc, 0.0, 1.0)
    q = q / q.sum()

    def along(t):
        pi = (1 - np.exp(-t)) * q
        pi[esc] = np.exp(-t)
        return pmpo_objective(pi, a, d, ref, alpha, beta)

    t1, t2 = 20.0, 40.0
    growth = along(t2) - along(t1)
    return max(0.0, slope * (t2 - t1) * (1 - 1e-6) - growth) + float(slope <= 0)


def draw_negative_instance(rng: np.random.Generator) -> dict:
    """Negatives only: rejected counts (sometimes exactly proportional to pi_ref), pi_ref, beta."""
    K = int(rng.integers(1, 6))
    ref = _distribution(rng, K, zeros=True)
    d = _counts(rng, K)
    if d.sum() == 0 or rng.random() < 0.2:
        d = ref * 6.0  # the flat case beta = 1: J constant
    return {"rejected": d, "pi_ref": ref, "beta": float(rng.choice([0.5, 1.0, 1.5, 2.0, 4.0]))}


@theorem(
    "dpo_secondary.pmpo_negatives_only_threshold",
    claim="learning from negatives only (alpha = 0) is bounded iff d <= beta pi_ref elementwise, "
    "i.e. beta >= beta* = max_y d(y)/pi_ref(y) >= 1; beta = 1 only when d = pi_ref, where J is "
    "constant (so 'beta > 1' is the condition except for that flat case)",
    reference="Abdolmaleki et al. 2024 (PMPO), arXiv 2410.04166, negative-only learning "
    "(threshold derived here)",
    draw=draw_negative_instance,
    tolerance=0.0,
)
def pmpo_negatives_threshold(inst: dict) -> float:
    """Number of disagreements between the solver, the elementwise condition and the threshold."""
    d, ref, beta = inst["rejected"], inst["pi_ref"], inst["beta"]
    K = ref.size
    dn = d / d.sum()
    res = pmpo_optimum(np.zeros(K), d, ref, 0.0, beta)
    errors = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref > 0, dn / np.where(ref > 0, ref, 1.0), np.where(dn > 0, np.inf, 0.0))
    thr = 0.0 if K == 1 else float(ratio.max())
    errors += abs(res.beta_threshold - thr) > 1e-12 * (1 + thr) if np.isfinite(thr) else (
        res.beta_threshold != np.inf)
    if K > 1:
        errors += thr < 1.0 - 1e-12
        above = pmpo_optimum(np.zeros(K), d, ref, 0.0, thr * (1 + 1e-9)) if np.isfinite(thr) else None
        below = pmpo_optimum(np.zeros(K), d, ref, 0.0, thr * (1 - 1e-6)) if np.isfinite(thr) else None
        errors += bool(above is not None and not above.bounded)
        errors += bool(below is not None and below.bounded)
        flat = bool(np.all(np.abs(dn - ref) <= 1e-14 * (dn + ref)))
        errors += bool(res.bounded and beta == 1.0 and not flat)
        if res.bounded and beta == 1.0:
            errors += bool(res.unique)  # the flat case: every policy is optimal
    # c = beta pi_ref - d >= 0, up to the rounding of the difference (as the solver treats it)
    tol = 8 * np.finfo(float).eps * (dn + beta * ref)
    errors += bool(res.bounded != (K == 1 or bool(np.all(dn - beta * ref <= tol))))
    return float(errors)


# ----------------------------------------------------------------------------------------------
# VAS (Han et al. 2024)
# ----------------------------------------------------------------------------------------------


def draw_vas_instance(rng: np.random.Generator) -> dict:
    """A small MDP (absorbing states, zeros; discounted or finite horizon), a base policy with
    zeros (sometimes deterministic), an inverse temperature (0 included)."""
    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    P = degenerate_transitions(rng, S, A)
    R = tied_or_normal_rewards(rng, (S, A))
    horizon = int(rng.integers(1, 5)) if rng.random() < 0.5 else None
    gamma = 1.0 if horizon is not None and rng.random() < 0.5 else float(rng.choice([0.0, 0.5, 0.9]))
    W = rng.random((S, A)) * (rng.random((S, A)) < 0.7)
    W[W.sum(axis=1) == 0, 0] = 1.0
    if rng.random() < 0.2:
        W = np.eye(A)[rng.integers(A, size=S)]
    return {"mdp": TabularMDP(P, R, gamma, horizon=horizon), "pi0": W / W.sum(axis=1, keepdims=True),
            "beta": float(rng.choice([0.0, 0.1, 1.0, 10.0]))}


@theorem(
    "dpo_secondary.vas_improves_every_state",
    claim="the VAS policy pi ~ pi_0 exp(beta Q^{pi_0}) has unregularised value >= V^{pi_0} at "
    "every state (and time), since exponential tilting raises E[Q^{pi_0}]",
    reference="Han et al. 2024 (VAS), arXiv 2405.06639; policy improvement lemma (Puterman 1994, "
    "Sec. 6.4)",
    draw=draw_vas_instance,
    tolerance=1e-9,
)
def vas_improvement(inst: dict) -> float:
    """Largest decrease of value, of the one-step improvement, and the evaluation mismatch."""
    mdp, pi0, beta = inst["mdp"], inst["pi0"], inst["beta"]
    res = value_augmented_policy(mdp, pi0, beta)
    scale = 1.0 + float(np.abs(res.base_values).max())
    recheck = mdp.evaluate(res.policy).values
    return max(0.0, -res.improvement / scale, -res.certificate / scale,
               float(np.abs(recheck - res.values).max()) / scale,
               float(np.abs(mdp.evaluate(pi0).values - res.base_values).max()) / scale)


def draw_bandit_instance(rng: np.random.Generator) -> dict:
    """Rewards over 1-5 actions (ties half the time), pi_0 with zeros, an inverse temperature."""
    K = int(rng.integers(1, 6))
    return {"rewards": tied_or_normal_rewards(rng, K), "pi0": _distribution(rng, K, zeros=True),
            "beta": float(rng.choice([0.1, 1.0, 10.0]))}


@theorem(
    "dpo_secondary.vas_one_step_is_kl_optimum",
    claim="for a one-step bandit, VAS with inverse temperature beta is the KL-regularised optimum "
    "pi_0 exp(r beta)/Z with KL weight 1/beta",
    reference="Han et al. 2024 (VAS), arXiv 2405.06639; Rafailov et al. 2023, Eq. 4",
    draw=draw_bandit_instance,
    tolerance=1e-12,
)
def vas_one_step(inst: dict) -> float:
    """Largest probability gap between VAS on a one-state, one-step MDP and the Gibbs policy."""
    r, pi0, beta = inst["rewards"], inst["pi0"], inst["beta"]
    K = r.size
    mdp = TabularMDP(np.ones((1, K, 1)), r[None], gamma=1.0, horizon=1)
    got = value_augmented_policy(mdp, pi0[None], beta).policy[0, 0]
    want = kl_regularized_optimum(pi0, r, 1.0 / beta).policy
    return float(np.abs(got - want).max())


# ----------------------------------------------------------------------------------------------
# PAR (Fu et al. 2025)
# ----------------------------------------------------------------------------------------------


def draw_par_instance(rng: np.random.Generator) -> dict:
    """Raw rewards on a coarse grid (ties with the references) or spread out, M references, and
    a small MDP whose raw rewards are shaped by PAR."""
    M = int(rng.integers(1, 5))
    scale = float(rng.choice([0.5, 3.0, 20.0]))
    grid = rng.random() < 0.5

    def raw(shape):
        return rng.integers(-2, 3, size=shape).astype(float) if grid else rng.normal(size=shape) * scale

    S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    W = rng.random((S, A)) + 1e-3
    return {"r": raw(6), "r_ref": raw(M), "P": degenerate_transitions(rng, S, A),
            "mdp_raw": raw((S, A)), "mdp_ref": raw((S, A, M)),
            "gamma": float(rng.choice([0.0, 0.5, 0.9, 0.95])), "policy": W / W.sum(1, keepdims=True)}


@theorem(
    "dpo_secondary.par_bounded_centred_monotone",
    claim="the PAR reward mean_m sigmoid(r - r_ref_m) lies in [0, 1] (strictly inside for moderate "
    "gaps), is 1/2 when r equals every reference, and is strictly increasing in r",
    reference="Fu et al. 2025 (PAR), arXiv 2502.18770",
    draw=draw_par_instance,
    tolerance=0.0,
)
def par_properties(inst: dict) -> float:
    """Number of violated properties."""
    r, ref = inst["r"], inst["r_ref"]
    v = preference_as_reward(r, ref)
    bad = int(np.any((v < 0) | (v > 1)))
    moderate = np.abs(r[:, None] - ref[None]).max(axis=1) < 30
    bad += int(np.any((v[moderate] <= 0) | (v[moderate] >= 1)))
    bad += int(preference_as_reward(float(ref[0]), np.full(ref.size, ref[0])) != 0.5)
    order = np.argsort(r, kind="stable")
    rs, vs = r[order], v[order]
    gaps = np.diff(rs)
    bad += int(np.any(np.diff(vs)[gaps > 0] < 0))  # non-decreasing (strictness lost to rounding)
    bad += int(np.any(np.diff(vs)[gaps == 0] != 0))
    close = (gaps > 1e-6) & (np.abs(rs[1:, None] - ref).min(axis=1) < 10)
    bad += int(np.any(np.diff(vs)[close] <= 0))  # strictly increasing where sigma' is resolvable
    return float(bad)


def _return_variance(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """Var[G | s_0 = s] of the discounted return, rewards r(s, a), by the second-moment equation
    M = b + gamma^2 P_pi M, b(s) = sum_a pi(a|s) (r^2 + 2 gamma r (P V))(s, a) (Sobel 1982)."""
    P, r, g = mdp.dense_transitions(), mdp.expected_rewards, mdp.gamma
    V = mdp.evaluate(policy).values
    PV = P @ V
    b = np.einsum("sa,sa->s", policy, r * r + 2 * g * r * PV)
    Ppi = np.einsum("sa,sat->st", policy, P)
    M = np.linalg.solve(np.eye(mdp.n_states) - g * g * Ppi, b)
    return M - V * V


@theorem(
    "dpo_secondary.par_return_variance_bound",
    claim="with PAR rewards (in (0, 1)) the discounted return has Var[G] <= 1/(4 (1-gamma)^2) "
    "<= 1/(1-gamma)^2 from every state, whatever the scale of the raw rewards",
    reference="Fu et al. 2025 (PAR), arXiv 2502.18770 (variance bound); Popoviciu's inequality",
    draw=draw_par_instance,
    tolerance=1e-9,
)
def par_variance(inst: dict) -> float:
    """Largest excess of the exact return variance over 1/(4 (1-gamma)^2), relative."""
    S, A = inst["mdp_raw"].shape
    shaped = preference_as_reward(inst["mdp_raw"].ravel(), inst["mdp_ref"].reshape(S * A, -1))
    mdp = TabularMDP(inst["P"], shaped.reshape(S, A), inst["gamma"])
    var = _return_variance(mdp, inst["policy"])
    bound = 0.25 / (1.0 - inst["gamma"]) ** 2
    return float(max(0.0, (var - bound).max() / bound, -var.min() / bound - 1e-9))


# ----------------------------------------------------------------------------------------------
# From r to Q* (Rafailov, Hejna, Park, Finn 2024): implicit rewards fall
# ----------------------------------------------------------------------------------------------


@theorem(
    "dpo_secondary.implicit_rewards_fall",
    claim="for pi* = pi_ref exp(r/beta)/Z, the mean implicit reward under the reference, "
    "E_{pi_ref}[beta log(pi*/pi_ref)], equals -beta KL(pi_ref || pi*) <= 0 (zero iff r is constant "
    "on supp(pi_ref))",
    reference="Rafailov, Hejna, Park, Finn 2024 (From r to Q*), Sec. 5 (identity derived here)",
    draw=draw_dro_instance,
    tolerance=1e-12,
)
def implicit_rewards_fall(inst: dict) -> float:
    """Gap between the mean implicit reward and -beta KL, its positive part, and 1 if it is not
    zero exactly when r is constant on supp(pi_ref)."""
    r, ref, beta = inst["rewards"], inst["pi_ref"], inst["beta"]
    log_star = log_gibbs(ref, r, beta)
    on = ref > 0
    mean_implicit = float(ref[on] @ (beta * (log_star[on] - np.log(ref[on]))))
    rhs = -beta * kl(ref, np.exp(log_star))
    spread = float(np.ptp(r[on])) / beta
    # Zero iff r is constant on supp(pi_ref); the KL is O(spread^2), so strictly negative is only
    # resolvable in float64 when the spread is not tiny.
    zero_iff = abs(mean_implicit) < 1e-12 if spread == 0 else (spread < 1e-6 or mean_implicit < 0)
    return max(abs(mean_implicit - rhs) / (1.0 + abs(rhs)), max(0.0, mean_implicit),
               float(not zero_iff))


# ----------------------------------------------------------------------------------------------
# SimPO (Meng, Xia, Chen 2024): no finite optimum with deterministic preferences
# ----------------------------------------------------------------------------------------------


def draw_simpo_instance(rng: np.random.Generator) -> dict:
    """K actions; action `loser` loses every comparison; equal lengths unless K = 2."""
    K = int(rng.integers(2, 6))
    loser = int(rng.integers(K))
    U = rng.choice([0.0, 0.3, 0.5, 0.8, 1.0], size=(K, K))
    P = np.triu(U, 1)
    P = P + np.tril(1.0 - P.T, -1)
    np.fill_diagonal(P, 0.5)
    P[loser, :], P[:, loser] = 0.0, 1.0
    P[loser, loser] = 0.5
    L = rng.integers(1, 20, size=K).astype(float) if K == 2 else np.full(K, float(rng.integers(1, 9)))
    mu = _distribution(rng, K, zeros=False)
    return {"P": P, "mu": mu, "lengths": L, "loser": loser, "q": rng.dirichlet(np.ones(K)),
            "beta": float(rng.choice([0.5, 2.0, 2.5])), "gamma": float(rng.choice([0.0, 0.5, 1.5]))}


@theorem(
    "dpo_secondary.simpo_no_finite_optimum",
    claim="with an action that loses every comparison (deterministic preferences), the population "
    "SimPO loss strictly decreases as that action's mass moves to the others: no finite minimiser",
    reference="Meng, Xia, Chen 2024 (SimPO), Eq. 6; cf. Azar et al. 2024, Sec. 4.2 for DPO",
    draw=draw_simpo_instance,
    tolerance=0.0,
)
def simpo_no_optimum(inst: dict) -> float:
    """Number of non-decreasing steps along pi_eps(loser) = eps -> 0."""
    P, mu, L, y, q = inst["P"], inst["mu"], inst["lengths"], inst["loser"], inst["q"].copy()
    q[y] = 0.0
    q = np.maximum(q, 1e-3) * (np.arange(q.size) != y)
    q /= q.sum()
    vals = []
    for eps in (0.5, 0.2, 0.05, 1e-2, 1e-3):
        pi = (1 - eps) * q
        pi[y] = eps
        vals.append(simpo_population_loss(pi, P, mu, L, inst["beta"], inst["gamma"]))
    return float(np.sum(np.diff(vals) >= 0))
