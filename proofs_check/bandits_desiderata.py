"""Identities of the DPO desiderata (reconstructed) and of SimPO's length-aware bandit optimum.

Hu, He and Wipf (2024), "New Desiderata for Direct Preference Optimization": the criteria are
reconstructed from the abstract (see :mod:`prefrl.bandits`), and so is the explicit loss
(:func:`prefrl.bandits.explicit_bt_optimum`). Meng, Xia and Chen (2024), "SimPO", Eq. 6: the
optimum is derived here (:func:`prefrl.bandits.simpo_population_optimum`).

The checks (each with its instance generator):

- ``bandits_desiderata.explicit_keeps_bt_optimal_reference`` (:func:`draw_bt`): the explicit
  optimum equals pi_ref when pi_ref = pi* = softmax(BT reward), for every lambda.
- ``bandits_desiderata.dpo_moves_bt_optimal_reference`` (:func:`draw_bt`): DPO's optimum is then
  softmax((1 + 1/beta) log pi_ref).
- ``bandits_desiderata.explicit_unseen_keeps_reference`` (:func:`draw_unseen`): a response outside
  supp(mu) keeps pi_ref(y).
- ``bandits_desiderata.explicit_path_monotone`` (:func:`draw_unseen`): KL(pi_ref || pi_lambda) is
  non-increasing and the BT term non-decreasing in lambda.
- ``bandits_desiderata.simpo_summed_length_free`` (:func:`draw_simpo`): the summed optimum does not
  depend on the lengths and is softmax(u*/beta).
- ``bandits_desiderata.simpo_normalised_ties`` (:func:`draw_simpo`): with tied preferences the
  normalised optimum is exp(-t L_y), non-increasing in L_y.
- ``bandits_desiderata.simpo_two_action_stationarity`` (:func:`draw_two`): the closed-form gap
  solves p sigma(gamma - d) = (1 - p) sigma(gamma + d).
- ``bandits_desiderata.simpo_optimum_minimises`` (:func:`draw_simpo`): no perturbed policy has a
  smaller population SimPO loss than the returned optimum.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

from prefrl.bandits import (
    bt_optimal_policy,
    dpo_population_optimum,
    explicit_bt_optimum,
    explicit_bt_population_loss,
    simpo_population_loss,
    simpo_population_optimum,
    simpo_two_action_gap,
)
from prefrl.policies import kl
from prefrl.registry import theorem

REF = "Hu, He and Wipf 2024 (criteria reconstructed); derived here"
SIMPO = "Meng, Xia and Chen 2024, Eq. 6; optimum derived here"


def _bt(r):
    return expit(r[:, None] - r[None, :])


def draw_bt(rng: np.random.Generator) -> dict:
    """A BT preference matrix (ties when the scale is 0), mu with full support, a weight."""
    K = int(rng.integers(2, 6))
    r = rng.normal(size=K) * float(rng.choice([0.0, 0.3, 1.0, 4.0]))
    return {"P": _bt(r), "mu": rng.dirichlet(np.ones(K)), "weight": float(10 ** rng.uniform(-3, 3))}


@theorem(
    "bandits_desiderata.explicit_keeps_bt_optimal_reference",
    claim="if pi_ref = pi* = softmax(BT reward of P), the explicit loss's optimum is pi_ref for "
    "every lambda (desideratum D1, preservation)",
    reference=REF,
    draw=draw_bt,
    tolerance=1e-9,
)
def explicit_keeps_bt_optimal_reference(inst: dict) -> float:
    """max |pi_lambda - pi*| when pi_ref = pi*."""
    star = bt_optimal_policy(inst["P"], inst["mu"])
    res = explicit_bt_optimum(inst["P"], inst["mu"], star, inst["weight"])
    return float(np.abs(res.policy - star).max())


@theorem(
    "bandits_desiderata.dpo_moves_bt_optimal_reference",
    claim="if pi_ref = pi*, DPO's population optimum is softmax((1 + 1/beta) log pi_ref): it moves "
    "for every finite beta unless the BT reward is constant",
    reference="Rafailov et al. 2023, Eq. 4 with Azar et al. 2024, Prop. 4; " + REF,
    draw=draw_bt,
    tolerance=1e-9,
)
def dpo_moves_bt_optimal_reference(inst: dict) -> float:
    """max |pi_DPO - softmax((1 + 1/beta) log pi_ref)| when pi_ref = pi*."""
    star = bt_optimal_policy(inst["P"], inst["mu"])
    beta = inst["weight"]
    pol = dpo_population_optimum(inst["P"], inst["mu"], star, beta).policy
    return float(np.abs(pol - softmax((1.0 + 1.0 / beta) * np.log(star))).max())


def draw_unseen(rng: np.random.Generator) -> dict:
    """Preferences (deterministic sometimes), mu with a zero on response 0, pi_ref, two weights."""
    K = int(rng.integers(2, 6))
    r = rng.normal(size=K) * float(rng.choice([0.0, 1.0, 3.0]))
    P = _bt(r)
    if rng.random() < 0.3:  # deterministic: the better response always wins (ties stay 1/2)
        P = 0.5 + 0.5 * np.sign(r[:, None] - r[None, :])
    mu = rng.dirichlet(np.ones(K))
    mu[0] = 0.0 if rng.random() < 0.7 else mu[0]
    mu /= mu.sum()
    lam = np.sort(10 ** rng.uniform(-3, 3, size=2))
    return {"P": P, "mu": mu, "pi_ref": rng.dirichlet(np.ones(K)), "lams": lam}


@theorem(
    "bandits_desiderata.explicit_unseen_keeps_reference",
    claim="a response outside supp(mu) keeps pi_lambda(y) = pi_ref(y) under the explicit loss",
    reference=REF,
    draw=draw_unseen,
    tolerance=1e-9,
)
def explicit_unseen_keeps_reference(inst: dict) -> float:
    """max |pi_lambda(y) - pi_ref(y)| over the responses outside supp(mu)."""
    res = explicit_bt_optimum(inst["P"], inst["mu"], inst["pi_ref"], inst["lams"][0])
    unseen = inst["mu"] == 0
    return float(np.abs(res.policy - inst["pi_ref"])[unseen].max()) if unseen.any() else 0.0


@theorem(
    "bandits_desiderata.explicit_path_monotone",
    claim="for lambda1 < lambda2, KL(pi_ref || pi_lambda2) <= KL(pi_ref || pi_lambda1) and the BT "
    "term at lambda2 >= at lambda1 (the regularisation path of a penalised minimiser)",
    reference=REF,
    draw=draw_unseen,
    tolerance=1e-9,
)
def explicit_path_monotone(inst: dict) -> float:
    """The rise of the KL term and the fall of the BT term from lambda1 to lambda2 (0 if none)."""
    P, mu, ref = inst["P"], inst["mu"], inst["pi_ref"]
    pols = [explicit_bt_optimum(P, mu, ref, lam).policy for lam in inst["lams"]]
    kls = [float(kl(ref, p)) for p in pols]
    bts = [float(explicit_bt_population_loss(p, P, mu, ref, 1.0)) - k for p, k in zip(pols, kls)]
    return max(0.0, kls[1] - kls[0], bts[0] - bts[1])


def draw_simpo(rng: np.random.Generator) -> dict:
    """BT preferences (ties sometimes), mu > 0, lengths, beta and a margin (0 often)."""
    K = int(rng.integers(2, 6))
    r = rng.normal(size=K) * float(rng.choice([0.0, 0.5, 2.0]))
    return {
        "P": _bt(r),
        "mu": rng.dirichlet(np.ones(K)),
        "lengths": rng.integers(1, 15, size=K).astype(float),
        "beta": float(rng.choice([0.5, 2.0, 5.0])),
        "margin": float(rng.choice([0.0, 0.0, 0.5, 2.0])),
        "seed": int(rng.integers(1 << 30)),
    }


@theorem(
    "bandits_desiderata.simpo_summed_length_free",
    claim="the summed (unnormalised) SimPO optimum is softmax(u*/beta) with u* the margin BT fit: "
    "it is the same for any lengths",
    reference=SIMPO,
    draw=draw_simpo,
    tolerance=1e-9,
)
def simpo_summed_length_free(inst: dict) -> float:
    """max |pi(L) - pi(L')| of the summed optimum for two length vectors."""
    a = simpo_population_optimum(
        inst["P"], inst["mu"], inst["lengths"], inst["beta"], inst["margin"], normalize=False
    )
    b = simpo_population_optimum(
        inst["P"],
        inst["mu"],
        inst["lengths"][::-1] + 3.0,
        inst["beta"],
        inst["margin"],
        normalize=False,
    )
    return float(np.abs(a.policy - b.policy).max())


@theorem(
    "bandits_desiderata.simpo_normalised_ties",
    claim="with tied preferences the normalised SimPO optimum is pi(y) = exp(-t L_y), "
    "sum = 1: non-increasing in the length",
    reference=SIMPO,
    draw=draw_simpo,
    tolerance=1e-9,
)
def simpo_normalised_ties(inst: dict) -> float:
    """Gap to exp(-t L), plus any rise of pi along increasing length."""
    K = inst["lengths"].size
    L = inst["lengths"]
    res = simpo_population_optimum(
        np.full((K, K), 0.5), inst["mu"], L, inst["beta"], inst["margin"]
    )
    t = -float(res.implicit_reward.mean()) / inst["beta"]
    order = np.argsort(L)
    mono = float(np.max(np.diff(res.policy[order]), initial=0.0))
    return max(float(np.abs(res.policy - np.exp(-t * L)).max()), mono)


def draw_two(rng: np.random.Generator) -> dict:
    """p in (0, 1) (1/2 sometimes, near 0 or 1 sometimes) and a margin."""
    p = float(rng.choice([0.5, rng.uniform(0.01, 0.99), 1e-6, 1 - 1e-6]))
    return {"p": p, "margin": float(rng.choice([0.0, rng.uniform(0, 10), 50.0]))}


@theorem(
    "bandits_desiderata.simpo_two_action_stationarity",
    claim="the closed-form two-response gap d solves p sigma(gamma - d) = (1 - p) sigma(gamma + d)",
    reference=SIMPO,
    draw=draw_two,
    tolerance=1e-9,
)
def simpo_two_action_stationarity(inst: dict) -> float:
    """Relative residual of the stationarity equation at the closed-form gap."""
    p, g = inst["p"], inst["margin"]
    d = simpo_two_action_gap(p, g)
    lhs, rhs = p * expit(g - d), (1 - p) * expit(g + d)
    return float(abs(lhs - rhs) / max(lhs, rhs))


@theorem(
    "bandits_desiderata.simpo_optimum_minimises",
    claim="no random perturbation of the returned policy lowers the population SimPO loss "
    "(normalised and summed)",
    reference=SIMPO,
    draw=draw_simpo,
    tolerance=1e-10,
)
def simpo_optimum_minimises(inst: dict) -> float:
    """Largest relative decrease of the loss found by perturbing the optimum (0 if none)."""
    rng = np.random.default_rng(inst["seed"])
    worst = 0.0
    for norm in (True, False):
        L = inst["lengths"] if norm else np.ones_like(inst["lengths"])
        res = simpo_population_optimum(
            inst["P"], inst["mu"], inst["lengths"], inst["beta"], inst["margin"], normalize=norm
        )
        for scale in (1e-3, 1e-1):
            for _ in range(5):
                q = softmax(np.log(res.policy) + scale * rng.normal(size=L.size))
                v = simpo_population_loss(q, inst["P"], inst["mu"], L, inst["beta"], inst["margin"])
                worst = max(worst, (res.value - v) / (1.0 + abs(res.value)))
    return worst
