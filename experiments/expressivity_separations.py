"""Separations between objective-specification formalisms, certified by linear programming.

Subramani et al. (ICLR 2024) compare formalisms (Markov rewards MR, limit-average rewards LAR,
outer nonlinear MR ONMR, regularised RL RRL, ...) by the orderings of stationary policies they can
induce. This figure certifies four separations on two tiny environments with an exact LP test
(`prefrl.expressivity.mr_expressible` / `lar_expressible`): an ordering of finitely many policies
is induced by some Markov (limit-average) reward iff a linear system in the reward is feasible;
otherwise a Farkas certificate (nonnegative multipliers summing the strict preferences to zero)
proves that no reward exists.

What is the paper's and what is this project's: the formalisms and the question which orderings
each one induces are the paper's; the implementations of the formalisms
(``prefrl.expressivity``; RRL with entropy and KL regularisers only), the LP test, both
environments and the four certificates are this project's. The restriction of RRL does not weaken
"RRL is not below MR" (a larger RRL class is still not below MR). The paper reports no number for
these, so every Claim has paper=None.
"""

from __future__ import annotations

import numpy as np

from prefrl.expressivity import (
    LimitAverageReward,
    MarkovReward,
    OuterNonlinearMR,
    RegularisedRL,
    lar_expressible,
    mr_expressible,
    policy_ordering,
)
from prefrl.mdp.envs import one_state_env, random_mdp, stay_go_env
from prefrl.plotting import new_figure, save_figure
from prefrl.registry import Claim

TITLE = "Which policy orderings a Markov reward can express: four LP-certified separations"
PAPER = ("Subramani et al. 2024 (ICLR), expressivity of objective-specification formalisms; "
         "separations RRL, ONMR vs MR and LAR vs MR (our environments and our definitions)")

NOTES = ("The formalisms are as prefrl.expressivity defines them (RRL with entropy and KL "
         "regularisers only); the one-state and stay/go environments are this project's "
         "constructions, not the paper's. A verdict 'not MR' is an LP infeasibility certified "
         "by Farkas multipliers y >= 0, sum y = 1, with ||D^T y + E^T z|| ~ 0.")

GAMMA = 0.9


def _verdict(res) -> dict:
    return {"feasible": bool(res.feasible), "residual": float(res.certificate),
            "reward": None if res.reward is None else res.reward.tolist()}


def run(quick: bool = False, seed: int = 0) -> dict:
    n = 21 if quick else 101
    g = GAMMA
    # (a) One state, two actions, p = pi(a1); reward r = (1, 0).
    env1 = one_state_env()
    grid = np.linspace(0.0, 1.0, n)
    pols1 = [np.array([[p, 1.0 - p]]) for p in grid]
    c = 0.35 / (1.0 - g)  # ONMR target: the return of p = 0.35
    objectives = {
        "MR": MarkovReward(env1, [[1.0, 0.0]], g),
        "ONMR": OuterNonlinearMR(env1, [[1.0, 0.0]], g, lambda x: -((x - c) ** 2)),
        "RRL": RegularisedRL(env1, [[1.0, 0.0]], g, alpha=1.0),
        "LAR": LimitAverageReward(env1, [[1.0, 0.0]]),
    }
    one_state = {}
    for name, J in objectives.items():
        order = policy_ordering(J, pols1)
        res = mr_expressible(env1, order, pols1, g)
        one_state[name] = {"J": order.values[:, 0], "ranks": order.ranks, **_verdict(res),
                           # A feasible verdict is certified by the LP's reward: it must induce
                           # the same ranks.
                           "reward_reproduces": bool(res.feasible and np.array_equal(
                               policy_ordering(MarkovReward(env1, res.reward, g), pols1).ranks,
                               order.ranks))}
    # (b) stay/go, p = pi(go | s0); LAR rewards the absorbing state, MR rewards 'stay'.
    env2 = stay_go_env()
    pols2 = [np.array([[1.0 - p, p], [1.0, 0.0]]) for p in grid]
    lar = policy_ordering(LimitAverageReward(env2, [[0.0, 0.0], [1.0, 1.0]]), pols2)
    mr = policy_ordering(MarkovReward(env2, [[1.0, 0.0], [0.0, 0.0]], g), pols2)
    stay_go = {
        "LAR": {"J": lar.values[:, 0], "ranks": lar.ranks,
                **_verdict(mr_expressible(env2, lar, pols2, g))},
        "MR": {"J": mr.values[:, 0], "ranks": mr.ranks, **_verdict(lar_expressible(env2, mr, pols2))},
    }
    # (c) Control: orderings induced by random Markov rewards on random environments.
    rng = np.random.default_rng(seed)
    n_rand = 20 if quick else 200
    ok = 0
    for _ in range(n_rand):
        env = random_mdp(int(rng.integers(2, 6)), int(rng.integers(2, 4)), rng)
        pols = [rng.dirichlet(np.ones(env.n_actions), size=env.n_states) for _ in range(6)]
        order = policy_ordering(MarkovReward(env, rng.normal(size=(env.n_states, env.n_actions)), g),
                                pols)
        res = mr_expressible(env, order, pols, g)
        ok += bool(res.feasible and np.array_equal(
            policy_ordering(MarkovReward(env, res.reward, g), pols).ranks, order.ranks))
    table = [
        {"separation": "ONMR not <= MR", "env": "one state", "certified": not one_state["ONMR"]["feasible"],
         "residual": one_state["ONMR"]["residual"]},
        {"separation": "RRL not <= MR", "env": "one state", "certified": not one_state["RRL"]["feasible"],
         "residual": one_state["RRL"]["residual"]},
        {"separation": "LAR not <= MR", "env": "stay/go", "certified": not stay_go["LAR"]["feasible"],
         "residual": stay_go["LAR"]["residual"]},
        {"separation": "MR not <= LAR", "env": "stay/go", "certified": not stay_go["MR"]["feasible"],
         "residual": stay_go["MR"]["residual"]},
    ]
    return {"gamma": g, "p": grid, "one_state": one_state, "stay_go": stay_go,
            "random_mr_expressible": ok, "n_random": n_rand, "separations": table, "notes": NOTES}


def claims(numbers: dict) -> list[Claim]:
    out = []
    for row in numbers["separations"]:
        out.append(Claim(
            name=row["separation"].replace(" ", "_").replace("<=", "le"),
            claim=f"{row['separation']} ({row['env']} environment, our construction): LP infeasible "
            "with Farkas residual <= 1e-9",
            ours=row["residual"], holds=row["certified"] and row["residual"] <= 1e-9,
            status="certified"))
    one = numbers["one_state"]
    out.append(Claim(
        name="controls_feasible",
        claim="controls: the MR and LAR orderings of the one-state environment's policy grid are "
        "found MR-expressible, and the reward the LP returns induces exactly their ranks (so the "
        "infeasible verdicts above are not an artefact of the grid)",
        ours={k: {"feasible": one[k]["feasible"], "reward_reproduces": one[k]["reward_reproduces"]}
              for k in ("MR", "LAR")},
        holds=all(one[k]["feasible"] and one[k]["reward_reproduces"] for k in ("MR", "LAR")),
        status="certified"))
    out.append(Claim(
        name="random_mr_orderings_expressible",
        claim="every ordering induced by a random Markov reward on a random environment is found "
        "MR-expressible, and the LP's reward reproduces it",
        ours=f"{numbers['random_mr_expressible']}/{numbers['n_random']}",
        holds=numbers["random_mr_expressible"] == numbers["n_random"],
        status="checked", instances=numbers["n_random"]))
    return out


def _label(name, d, by):
    verdict = "MR-expressible" if by == "MR" else "LAR-expressible"
    if d["feasible"]:
        return f"{name}: {verdict}"
    return f"{name}: not {verdict} (Farkas res. {d['residual']:.0e})"


def plot(numbers: dict, path) -> None:
    fig, axes = new_figure(1, 2, width=4.8, height=3.8)
    p = np.asarray(numbers["p"])
    ax = axes[0, 0]
    for i, (name, d) in enumerate(numbers["one_state"].items()):
        J = np.asarray(d["J"], dtype=float)
        Jn = (J - J.min()) / (J.max() - J.min()) if J.max() > J.min() else J * 0
        style = {"MR": dict(lw=4, ls="-", alpha=0.5), "LAR": dict(lw=1.5, ls=":")}.get(
            name, dict(lw=2, ls="--"))
        ax.plot(p, Jn, color=f"C{i}", label=_label(name, d, "MR"), **style)
        best = int(np.argmax(J))
        ax.plot(p[best], Jn[best], "o", color=f"C{i}")
    ax.set_xlabel(r"$p = \pi(a_1)$")
    ax.set_ylabel("J(p), rescaled to [0, 1]")
    ax.set_title(rf"one state, two actions, $\gamma$ = {numbers['gamma']}")
    ax.legend(fontsize=6.5, loc="lower center")
    ax = axes[0, 1]
    for i, (name, d) in enumerate(numbers["stay_go"].items()):
        J = np.asarray(d["J"], dtype=float)
        Jn = (J - J.min()) / (J.max() - J.min())
        other = "MR" if name == "LAR" else "LAR"
        ax.plot(p, Jn, color=f"C{i + 4}", lw=2, ls="--", marker=".", ms=3,
                label=_label(name, d, other))
    ax.set_xlabel(r"$p = \pi(\mathrm{go} \mid s_0)$")
    ax.set_title("stay/go (absorbing goal)")
    ax.legend(fontsize=6.5, loc="center right")
    fig.suptitle("Orderings no Markov (resp. limit-average) reward induces; "
                 "our environments, our definitions", fontsize=8)
    save_figure(fig, path)
