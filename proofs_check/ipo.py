"""Theorems of the IPO paper (Azar et al. 2024) and of DPO (Rafailov et al. 2023), checked exactly.

Each check returns the violation of the claim on one instance (0 when it holds). Independent
computations back up the library: least squares by ``numpy.linalg.lstsq`` for the IPO losses,
BFGS for the Bradley-Terry and DPO losses, brute-force enumeration of cuts for the BT-MLE existence
condition.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from prefrl.bandits import (
    dpo_population_optimum,
    ipo_dataset_optimum,
    ipo_optimum,
    ipo_population_loss,
    kl_regularized_optimum,
    psipo_optimum,
)
from prefrl.bradley_terry import bt_mle
from prefrl.policies import gibbs
from prefrl.preferences import bradley_terry, plackett_luce_log_likelihood
from prefrl.registry import theorem

# ----------------------------------------------------------------------------------------------
# instance generators (each sometimes degenerate: ties, zeros, deterministic preferences)
# ----------------------------------------------------------------------------------------------


def _beta(rng) -> float:
    return float(rng.choice([0.05, 0.1, 0.5, 1.0, 4.0]))


def _random_P(rng, K: int, *, deterministic: float = 0.3, lo: float = 0.0) -> np.ndarray:
    """A random (generally intransitive) P; some entries 0, 1 or 1/2 when lo == 0."""
    U = rng.uniform(lo, 1.0 - lo, size=(K, K))
    if lo == 0.0:
        special = rng.random((K, K)) < deterministic
        U = np.where(special, rng.choice([0.0, 0.5, 1.0], size=(K, K)), U)
    P = np.triu(U, 1)
    P = P + np.tril(1.0 - P.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


def _distribution(rng, K: int, *, zeros: bool) -> np.ndarray:
    p = rng.dirichlet(np.ones(K) * rng.choice([0.3, 1.0, 5.0]))
    # Masses below 1e-6 become exact zeros: supports are what the theorems are about, and
    # masses like 1e-30 only make the independent least-squares checks ill-conditioned.
    p = np.where(p < 1e-6, 0.0, p)
    if p.sum() == 0 or (not zeros and (p == 0).any()):
        p = np.maximum(p, 1e-3)
    if zeros and K > 2 and rng.random() < 0.4:
        p[rng.integers(K)] = 0.0
    if rng.random() < 0.2:
        p = np.ones(K)
    return p / p.sum()


# ----------------------------------------------------------------------------------------------
# Prop. 1: BT preferences + logit Psi: PsiPO = RLHF = DPO
# ----------------------------------------------------------------------------------------------


def draw_bt_instance(rng: np.random.Generator) -> dict:
    """BT rewards (ties in half the draws), mu (sometimes with zeros), pi_ref, beta."""
    K = int(rng.integers(2, 7))
    r = rng.integers(0, 3, size=K).astype(float) if rng.random() < 0.5 else rng.normal(size=K)
    r *= float(rng.choice([0.5, 1.0, 3.0]))
    return {"rewards": r, "mu": _distribution(rng, K, zeros=True),
            "pi_ref": _distribution(rng, K, zeros=False), "beta": _beta(rng)}


@theorem(
    "ipo.prop1_bt_logit_psipo_equals_rlhf_equals_dpo",
    claim="under Bradley-Terry preferences, PsiPO with Psi = logit has the RLHF optimum "
    "pi_ref exp(r/beta)/Z for any mu, and so does DPO when mu has full support",
    reference="Azar et al. 2024 (IPO), Prop. 1",
    draw=draw_bt_instance,
    tolerance=1e-9,
)
def prop1(inst: dict) -> float:
    """Largest probability gap between the PsiPO(logit), DPO and RLHF optima."""
    r, mu, ref, beta = inst["rewards"], inst["mu"], inst["pi_ref"], inst["beta"]
    P = bradley_terry(r)
    rlhf = kl_regularized_optimum(ref, r, beta).policy
    psi = psipo_optimum(P, mu, ref, beta, psi="logit").policy
    gap = float(np.abs(psi - rlhf).max())
    full = np.full(r.size, 1.0 / r.size)
    dpo = dpo_population_optimum(P, full, ref, beta).policy
    return max(gap, float(np.abs(dpo - rlhf).max()))


# ----------------------------------------------------------------------------------------------
# Theorem 2 and App. A.2: (non-)uniqueness of the IPO minimiser
# ----------------------------------------------------------------------------------------------


def draw_ipo_instance(rng: np.random.Generator) -> dict:
    """P (with deterministic and tied entries), mu and pi_ref with the same support, beta."""
    K = int(rng.integers(2, 6))
    mu = _distribution(rng, K, zeros=True)
    ref = rng.dirichlet(np.ones(K)) * (mu > 0)
    ref /= ref.sum()
    return {"P": _random_P(rng, K), "mu": mu, "pi_ref": ref, "beta": _beta(rng)}


def _ipo_least_squares(P, mu, beta, form):
    """Minimise Eq. 13 or Eq. 16 over g on supp(mu) by lstsq; returns g and the design's rank."""
    supp = np.flatnonzero(mu > 0)
    wr = P @ mu
    rows, targets = [], []
    for i, j in itertools.permutations(supp, 2):  # i == j gives h = 0: a constant term
        e = np.zeros(P.shape[0])
        e[i], e[j] = 1.0, -1.0
        w = np.sqrt(mu[i] * mu[j])
        if form == "eq13":
            rows.append(w * e)
            targets.append(w * (wr[i] - wr[j]) / beta)
        else:  # P (h - 1/beta)^2 + (1 - P) h^2 as two weighted rows
            rows += [np.sqrt(P[i, j]) * w * e, np.sqrt(1 - P[i, j]) * w * e]
            targets += [np.sqrt(P[i, j]) * w / beta, 0.0]
    if supp.size == 1:
        return np.zeros(P.shape[0]), 0, 1
    A, b = np.array(rows)[:, supp], np.array(targets)
    g_s, *_ = np.linalg.lstsq(A, b, rcond=None)
    g = np.zeros(P.shape[0])
    g[supp] = g_s
    return g, int(np.linalg.matrix_rank(A)), supp.size


@theorem(
    "ipo.thm2_unique_minimiser",
    claim="when supp(mu) = supp(pi_ref), the IPO loss (Eq. 13, and Eq. 16) has a unique minimiser "
    "among policies with that support, and it is pi_ref exp(p(y > mu)/tau)/Z",
    reference="Azar et al. 2024 (IPO), Theorem 2 and Eq. 8",
    draw=draw_ipo_instance,
    tolerance=1e-9,
)
def thm2(inst: dict) -> float:
    """Gap between the least-squares minimisers and the closed form, or 1 if rank-deficient."""
    P, mu, ref, beta = inst["P"], inst["mu"], inst["pi_ref"], inst["beta"]
    star = ipo_optimum(P, mu, ref, beta).policy
    worst = 0.0
    for form in ("eq13", "eq16"):
        g, rank, n = _ipo_least_squares(P, mu, beta, form)
        if rank != n - 1:  # the loss must be flat only along the all-ones direction
            return 1.0
        pol = gibbs(ref, g, 1.0)
        worst = max(worst, float(np.abs(pol - star).max()))
    return worst


def draw_a2_instance(rng: np.random.Generator) -> dict:
    """App. A.2: K >= 3, uniform pi_ref, mu missing at least one action; two off-support masses."""
    K = int(rng.integers(3, 6))
    mu = rng.dirichlet(np.ones(K))
    off = rng.choice(K, size=int(rng.integers(1, K - 1)), replace=False)
    mu[off] = 0.0
    mu /= mu.sum()
    return {"P": _random_P(rng, K), "mu": mu, "beta": _beta(rng),
            "shift": float(rng.choice([-3.0, -1.0, 1.0, 2.5]))}


@theorem(
    "ipo.a2_non_uniqueness",
    claim="when supp(mu) is smaller than supp(pi_ref), the IPO loss has many minimisers: moving "
    "mass between supp(mu) and the rest leaves the loss at its minimum; the dataset solver flags "
    "such problems as not unique",
    reference="Azar et al. 2024 (IPO), App. A.2",
    draw=draw_a2_instance,
    tolerance=1e-12,
)
def a2(inst: dict) -> float:
    """Loss of two different minimisers (0 for both), or 1 if they coincide or are not flagged."""
    P, mu, beta = inst["P"], inst["mu"], inst["beta"]
    K = mu.size
    ref = np.full(K, 1.0 / K)
    g = (P @ mu) / beta
    off = mu == 0
    pi1 = gibbs(ref, g, 1.0)
    pi2 = gibbs(ref, g + inst["shift"] * off, 1.0)
    # different policies: the odds of the off-support mass change by the factor exp(shift)
    odds1 = np.log(pi1[off].sum()) - np.log(pi1[~off].sum())
    odds2 = np.log(pi2[off].sum()) - np.log(pi2[~off].sum())
    if abs(odds2 - odds1 - inst["shift"]) > 1e-9:
        return 1.0
    loss = max(ipo_population_loss(pi1, P, mu, ref, beta), ipo_population_loss(pi2, P, mu, ref, beta))
    # The dataset version: comparisons only among supp(mu) -> not unique.
    supp = np.flatnonzero(~off)
    w, lo = supp[:-1], supp[1:]
    flagged = not ipo_dataset_optimum(w, lo, ref, beta).unique
    return loss if flagged else 1.0


# ----------------------------------------------------------------------------------------------
# Prop. 3: the two IPO losses differ by a constant
# ----------------------------------------------------------------------------------------------


def draw_prop3_instance(rng: np.random.Generator) -> dict:
    inst = draw_ipo_instance(rng)
    K = inst["P"].shape[0]
    pols = rng.dirichlet(np.ones(K), size=4)
    pols = np.vstack([pols, inst["pi_ref"] + 0.0])
    pols = np.where(inst["mu"] > 0, pols, 0.0) + 1e-300 * (inst["mu"] > 0)
    inst["policies"] = pols / pols.sum(axis=1, keepdims=True)
    return inst


@theorem(
    "ipo.prop3_losses_differ_by_constant",
    claim="the IPO loss of Eq. 13 minus the sampled-label loss of Eq. 16 is the same for every "
    "policy",
    reference="Azar et al. 2024 (IPO), Prop. 3",
    draw=draw_prop3_instance,
    tolerance=1e-9,
)
def prop3(inst: dict) -> float:
    """Spread of L13 - L16 over several policies, relative to the losses' size."""
    P, mu, ref, beta = inst["P"], inst["mu"], inst["pi_ref"], inst["beta"]
    diffs, scale = [], 1.0
    for pi in inst["policies"]:
        a = ipo_population_loss(pi, P, mu, ref, beta, form="eq13")
        b = ipo_population_loss(pi, P, mu, ref, beta, form="eq16")
        diffs.append(a - b)
        scale = max(scale, abs(a), abs(b))
    return float(np.ptp(diffs)) / scale


# ----------------------------------------------------------------------------------------------
# Prop. 4: population DPO = RLHF with the BT-MLE reward, for any P
# ----------------------------------------------------------------------------------------------


def draw_prop4_instance(rng: np.random.Generator) -> dict:
    """Non-BT P with entries in [0.02, 0.98] (the MLE exists), full-support mu, any pi_ref."""
    K = int(rng.integers(2, 6))
    P = _random_P(rng, K, lo=0.02)
    if rng.random() < 0.2:
        P = np.full((K, K), 0.5)  # all ties
    return {"P": P, "mu": _distribution(rng, K, zeros=False) * 0.9 + 0.1 / K,
            "pi_ref": _distribution(rng, K, zeros=False), "beta": _beta(rng)}


@theorem(
    "ipo.prop4_dpo_is_rlhf_with_bt_mle",
    claim="for any preference matrix (Bradley-Terry or not) the population DPO optimum is the "
    "Gibbs policy of the Bradley-Terry MLE reward of the population",
    reference="Azar et al. 2024 (IPO), Prop. 4",
    draw=draw_prop4_instance,
    tolerance=1e-6,
)
def prop4(inst: dict) -> float:
    """Gap to the Gibbs policy of a BFGS-fitted BT reward, plus the DPO-loss gradient norm."""
    P, mu, ref, beta = inst["P"], inst["mu"], inst["pi_ref"], inst["beta"]
    W = np.outer(mu, mu) * P

    def nll(r):
        return -(W * log_expit(r[:, None] - r[None, :])).sum()

    def grad(r):
        S = expit(-(r[:, None] - r[None, :]))
        return -(W * S).sum(axis=1) + (W.T * S.T).sum(axis=1)

    fit = minimize(nll, np.zeros(mu.size), jac=grad, method="BFGS", options={"gtol": 1e-12})
    rlhf = gibbs(ref, fit.x, beta)
    dpo = dpo_population_optimum(P, mu, ref, beta)
    # stationarity of the DPO loss in the logits at DPO's optimum (analytic gradient)
    g = np.log(dpo.policy) - np.log(ref)
    Sd = expit(-beta * (g[:, None] - g[None, :]))
    dgrad = beta * (-(W * Sd).sum(axis=1) + (W.T * Sd.T).sum(axis=1))
    return max(float(np.abs(dpo.policy - rlhf).max()), float(np.abs(dgrad).max()),
               0.0 if dpo.exists else 1.0)


# ----------------------------------------------------------------------------------------------
# Sec. 4.2: deterministic preferences make DPO greedy for every beta
# ----------------------------------------------------------------------------------------------


def draw_tiered_bt(rng: np.random.Generator) -> dict:
    """BT with infinitely separated tiers: higher tier always wins; BT within a tier."""
    K = int(rng.integers(2, 7))
    tiers = rng.integers(0, int(rng.integers(1, 4)), size=K)
    r = rng.normal(size=K)
    return {"tiers": tiers, "rewards": r, "mu": _distribution(rng, K, zeros=False),
            "pi_ref": _distribution(rng, K, zeros=False),
            "betas": [0.01, 0.1, 1.0, 10.0, 1000.0]}


@theorem(
    "ipo.sec42_deterministic_preferences_greedy_dpo",
    claim="if y' is always beaten (p*(y > y') = 1, an infinite BT reward gap), DPO's optimum gives "
    "pi(y') = 0 whatever beta; with no deterministic preference DPO is the finite Gibbs policy",
    reference="Azar et al. 2024 (IPO), Sec. 4.2",
    draw=draw_tiered_bt,
    tolerance=0.0,
)
def sec42(inst: dict) -> float:
    """Largest probability left on an always-beaten action (or 1 if existence is misreported)."""
    t, r = inst["tiers"], inst["rewards"]
    diff = t[:, None] - t[None, :]
    P = np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, expit(r[:, None] - r[None, :])))
    beaten = t < t.max()
    worst = 0.0
    for beta in inst["betas"]:
        res = dpo_population_optimum(P, inst["mu"], inst["pi_ref"], beta)
        if res.exists == bool(beaten.any()):
            return 1.0
        worst = max(worst, float(res.policy[beaten].sum()) if beaten.any() else 0.0)
    return worst


# ----------------------------------------------------------------------------------------------
# DPO Lemmas 1-2: reward shifts by a function of the context
# ----------------------------------------------------------------------------------------------


def draw_shift(rng: np.random.Generator) -> dict:
    S, K = int(rng.integers(1, 4)), int(rng.integers(2, 6))
    r = rng.normal(size=(S, K)) * float(rng.choice([0.0, 1.0, 5.0]))
    f = rng.normal(size=S) * float(rng.choice([0.0, 1.0, 100.0]))
    ref = np.stack([_distribution(rng, K, zeros=True) for _ in range(S)])
    rankings = np.array([rng.permutation(K) for _ in range(3)])
    return {"rewards": r, "shift": f, "pi_ref": ref, "beta": _beta(rng), "rankings": rankings}


@theorem(
    "ipo.dpo_lemma1_shift_same_preferences",
    claim="rewards differing by a function of the context, r'(x, y) = r(x, y) + f(x), induce the "
    "same Bradley-Terry and Plackett-Luce preferences",
    reference="Rafailov et al. 2023 (DPO), Lemma 1",
    draw=draw_shift,
    tolerance=1e-9,
)
def dpo_lemma1(inst: dict) -> float:
    """Largest change of a BT probability or a PL log-likelihood under the shift."""
    worst = 0.0
    for r, f in zip(inst["rewards"], inst["shift"]):
        worst = max(worst, float(np.abs(bradley_terry(r) - bradley_terry(r + f)).max()))
        a = plackett_luce_log_likelihood(inst["rankings"], r)
        b = plackett_luce_log_likelihood(inst["rankings"], r + f)
        worst = max(worst, float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) / (1 + abs(f)))
    return worst


@theorem(
    "ipo.dpo_lemma2_shift_same_policy",
    claim="rewards differing by a function of the context have the same KL-regularised optimal "
    "policy",
    reference="Rafailov et al. 2023 (DPO), Lemma 2",
    draw=draw_shift,
    tolerance=1e-9,
)
def dpo_lemma2(inst: dict) -> float:
    """Largest probability change of the Gibbs policy under the shift (all contexts at once)."""
    r, f, ref, beta = inst["rewards"], inst["shift"], inst["pi_ref"], inst["beta"]
    a = kl_regularized_optimum(ref, r, beta).policy
    b = kl_regularized_optimum(ref, r + f[:, None], beta).policy
    return float(np.abs(a - b).max())


# ----------------------------------------------------------------------------------------------
# BT-MLE existence (Zermelo 1929, Ford 1957)
# ----------------------------------------------------------------------------------------------


def draw_dataset(rng: np.random.Generator) -> dict:
    """A comparison dataset over 2-5 actions, 0-10 comparisons (chains, cycles, isolated items)."""
    K = int(rng.integers(2, 6))
    n = int(rng.integers(0, 11))
    return {"K": K, "winners": rng.integers(0, K, size=n), "losers": rng.integers(0, K, size=n)}


def ford_condition(K: int, winners, losers) -> bool:
    """Brute force: every cut of every connected component is crossed by wins both ways."""
    w, lo = np.asarray(winners), np.asarray(losers)
    keep = w != lo
    w, lo = w[keep], lo[keep]
    label = np.arange(K)
    changed = True
    while changed:  # connected components by label propagation
        changed = False
        for a, b in zip(w, lo):
            m = min(label[a], label[b])
            if label[a] != m or label[b] != m:
                label[label == label[a]] = m
                label[label == label[b]] = m
                changed = True
    for c in np.unique(label):
        members = np.flatnonzero(label == c)
        for size in range(1, members.size):
            for S in itertools.combinations(members, size):
                inS = np.isin(np.arange(K), S)
                inC = np.isin(np.arange(K), members)
                if not (inS[w] & ~inS[lo] & inC[lo]).any() or not (~inS[w] & inC[w] & inS[lo]).any():
                    return False
    return True


@theorem(
    "ipo.bt_mle_existence",
    claim="the Bradley-Terry MLE is finite exactly when every connected component of the "
    "comparison graph is strongly connected; then its gradient vanishes, otherwise the likelihood "
    "rises to its supremum along the reported direction",
    reference="Zermelo 1929; Ford 1957; Hunter 2004 (Assumption 1); used by Azar et al. 2024, Prop. 4",
    draw=draw_dataset,
    tolerance=1e-8,
)
def bt_existence(inst: dict) -> float:
    """1 if existence is misreported; else the gradient norm or the gap to the supremum."""
    K, w, lo = inst["K"], inst["winners"], inst["losers"]
    fit = bt_mle(w, lo, K)
    if fit.exists != ford_condition(K, w, lo):
        return 1.0
    if fit.exists:
        return fit.certificate

    def nll(r):
        return -log_expit(r[w] - r[lo]).sum()

    vals = [nll(fit.rewards + t * fit.direction) for t in (0.0, 10.0, 100.0, 1000.0)]
    if any(b > a + 1e-12 for a, b in itertools.pairwise(vals)):
        return 1.0
    return max(fit.certificate, abs(vals[-1] - fit.value))
