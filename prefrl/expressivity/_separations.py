r"""The five-way separation table of RRL, ONMR, RM, LTL and LAR, cell by cell (ours).

Part of :mod:`prefrl.expressivity`. The abstract of Subramani et al. (ICLR 2024) states that RRL,
ONMR, RM, LTL and LAR can each express an ordering that none of the other four can.
:func:`five_way_table` settles each of the 20 cells "X's witness ordering is not Y-expressible"
for our witnesses (:func:`~prefrl.expressivity.five_way_witnesses`): *certified* by an LP Farkas
certificate (:func:`~prefrl.expressivity.mr_expressible`,
:func:`~prefrl.expressivity.lar_expressible`), or *argued* by a lemma of :mod:`._lemmas` whose
premises are checked on the witness and on random Y-objectives. The lemmas are this project's,
with written proofs that are not machine-checked; the paper's proofs are not reproduced. With
these witnesses four cells (against LAR) are certified and sixteen are argued.

Scope: RRL is entropy- or KL-regularised RL (:class:`~prefrl.expressivity.RegularisedRL`). With a
general regulariser :math:`F(\pi(\cdot|s))` every ordering of the policies of a one-state
environment is RRL-expressible (take :math:`\alpha F(\pi) = \langle \pi, r\rangle - g(\pi)`), so
the cells ``ONMR>RRL``, ``RM>RRL`` and ``LTL>RRL``, whose witnesses live in the one-state
environment, hold for the entropy/KL class only. LTL is the implemented fragment for the
witnesses; the lemmas against LTL hold for every omega-regular property.
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import as_rng, check_integer, seed_zero_if_none
from ._crosschecks import rm_lipschitz_excess
from ._instances import draw_lipschitz, draw_ltl_segment, draw_ltl_switch, random_machine
from ._lemmas import (
    corner_witness,
    edge_tie_witness,
    interior_max_witness,
    irrational_slope_witness,
    jump_witness,
    line_witness,
    transcendental_optimum_witness,
)
from ._objectives import MarkovReward, RegularisedRL
from ._orderings import lar_expressible, mr_expressible, policy_ordering
from ._rational import ltl_rational_gap_on_segment, ltl_rational_gap_on_switch
from ._reward_machines import RewardMachineObjective
from ._witnesses import (
    E_INV,
    FIVE,
    RAYS,
    SEP_GAMMA,
    _val,
    curve_intervals,
    five_way_witnesses,
    gini_is_ltl,
    rm_witness_optimum,
    simplex_grid,
    switch_grid,
)

__all__ = ["five_way_table"]


def _lp_cell(env, J, pols, against, gamma):
    order = policy_ordering(J, pols)
    res = (mr_expressible(env, order, pols, gamma) if against == "MR"
           else lar_expressible(env, order, pols))
    return {"status": "certified" if (not res.feasible and res.certificate <= 1e-9) else "failed",
            "method": f"LP: no {against} reward induces the ordering of {len(pols)} policies; "
                      "Farkas multipliers y >= 0, sum y = 1",
            "evidence": {"feasible": bool(res.feasible), "residual": float(res.certificate),
                         "n_policies": len(pols)}}


@renamed_parameters(seed="rng")
def five_way_table(m: int = 6, n_draws: int = 20, rng=None, gamma: float = SEP_GAMMA) -> dict:
    r"""Every cell (X, Y) of the five-way separation: can Y express the witness ordering of X?

    Returns a dict keyed ``"X>Y"`` (X's witness ordering is not Y-expressible) with ``status``,
    ``method`` and ``evidence``, plus rows ``"X>MR"`` against Markov rewards. ``status`` is

    * ``certified``: a finite certificate proves the cell: the LP for the witness ordering of a
      finite policy grid is infeasible, with Farkas multipliers (y >= 0, sum y = 1, residual
      ~ 0). Used against LAR (and MR).
    * ``argued``: a lemma over *all* Y-objectives proves the cell; the run checks its premises
      exactly on the witness and samples the lemma's construction on random Y-objectives:

      - line lemma (Y = ONMR, also MR and LAR): in the one-state environment every such
        objective is f(<pi, r>), which ties pi* with both ends of the chord
        {<pi - pi*, r> = 0} of the simplex (the whole simplex if r is constant). A witness whose
        value at an end differs from its value at pi* is not of this form. Checked for the
        coordinate rewards, a constant reward and ``n_draws`` random rewards
        (:func:`~prefrl.expressivity.line_witness`).
      - continuity (Y = RM, RRL): RM values are Lipschitz in the policy
        (:func:`~prefrl.expressivity.rm_lipschitz_excess`), entropy or full-support-KL RRL values
        are continuous (d^pi and q log q are), so {pi : pi ~ sigma} is closed. The witness has
        exact ties J(pi_n) = J(sigma) along pi_n -> pi and J(pi) != J(sigma)
        (:func:`~prefrl.expressivity.jump_witness`).
      - support-class continuity (ONMR vs LTL): with the support of pi fixed, the product
        chain's graph and hence the sets Z, O, T of ``satisfaction_probability`` are fixed and
        Pr(phi) = (I - P_TT)^{-1} P_TO 1 is continuous; the ONMR jump happens inside the
        full-support class.
      - corner lemma (LAR vs ONMR, RM, RRL): any f(g) with g continuous at q = 0 of the switch
        environment (the return of an ONMR objective; the RM and RRL values with f = id) ties
        two of four LAR level curves through the corner: each curve's g-image is an interval
        with g(0) in its closure, and among four such intervals two intersect (pigeonhole on
        {g(0)}, "reaches above", "reaches below"). Sampled: overlapping g-ranges found for
        random objectives (:func:`~prefrl.expressivity.corner_witness`).
      - KL lemma (RM vs RRL): an RRL objective of the one-state environment with a unique
        interior optimum pi* induces the ordering of -KL(. || pi*)
        (:func:`~prefrl.expressivity.interior_max_witness`); the tilted RM ties two policies KL
        ranks apart.
      - edge lemma (RRL vs RM): :func:`~prefrl.expressivity.edge_tie_witness`; every Lipschitz
        objective with the entropy witness's ordering is constant on an edge, which the witness
        is not.
      - transcendental-optimum lemma (RRL, RM vs LTL):
        :func:`~prefrl.expressivity.transcendental_optimum_witness`; LTL values on a rational
        segment are in Q(p) (:func:`~prefrl.expressivity.ltl_rational_gap_on_segment`, sampled),
        so their optima are algebraic.
      - irrational-slope lemma (LAR vs LTL):
        :func:`~prefrl.expressivity.irrational_slope_witness`; LTL values on the switch
        environment's full-support policies are in Q(q0, q1)
        (:func:`~prefrl.expressivity.ltl_rational_gap_on_switch`, sampled).
    * ``open``: no certificate or checked argument here (the rational-form lemmas when sympy is
      missing).
    * ``failed``: a certificate or a premise did not hold (never expected).

    The witnesses, the lemmas and the table are ours; "argued" means a written proof with
    numerically checked premises, not a machine-checked proof. The cells against RRL hold for
    entropy and KL regularisers only; with a general regulariser the three with one-state
    witnesses (``ONMR>RRL``, ``RM>RRL``, ``LTL>RRL``) fail (see the module docstring).

    Parameters
    ----------
    m : int >= 1
        Resolution of the simplex grid of the LP certificates.
    n_draws : int >= 1
        Random objectives per sampled lemma.
    rng : numpy.random.Generator or int
        Required (the sampled lemma checks draw random objectives); ``seed`` is its deprecated
        name. For one release, None warns and uses seed 0 (the former default).
    gamma : float in [0, 1)
        Discount of the witnesses and of the MR certificates.

    Returns
    -------
    dict
        ``{"RRL>ONMR": {"status": ..., "method": ..., "evidence": {...}}, ...}``: 20 cells among
        :data:`~prefrl.expressivity.FIVE` and 5 rows ``"X>MR"``.

    Examples
    --------
    >>> cells = five_way_table(m=3, n_draws=4, rng=0)
    >>> len(cells), cells["RM>MR"]["status"], cells["LAR>LTL"]["status"]
    (25, 'certified', 'argued')
    """
    m = check_integer(m, "m", minimum=1)
    n_draws = check_integer(n_draws, "n_draws", minimum=1)
    rng = as_rng(seed_zero_if_none(rng, "five_way_table()", stacklevel=3))
    W = five_way_witnesses(gamma)
    grid = simplex_grid(m)
    sw_grid = switch_grid()
    cells: dict = {}
    # --- LP certificates against MR and LAR
    for X in FIVE:
        env, J = W[X]
        pols = sw_grid if X == "LAR" else grid
        cells[f"{X}>MR"] = _lp_cell(env, J, pols, "MR", gamma)
        if X != "LAR":
            cells[f"{X}>LAR"] = _lp_cell(env, J, pols, "LAR", gamma)
    # --- line lemma against ONMR (one-state env: every ONMR objective is f(<pi, r>))
    soft = np.exp([1.0, 0.0, 0.0])
    stars = {"RRL": soft / soft.sum(), "RM": rm_witness_optimum(), "LTL": np.full(3, 1 / 3)}
    draws = [np.eye(3)[i] for i in range(3)] + [np.ones(3)] + \
        [rng.normal(size=3) for _ in range(n_draws)]
    for X, p in stars.items():
        ws = [line_witness(W[X][1], p, r) for r in draws]
        ok = all(w["separated"] and w["tie_residual"] <= 1e-12 for w in ws)
        cells[f"{X}>ONMR"] = {
            "status": "argued" if ok else "failed",
            "method": "line lemma: any f(<pi, r>) ties pi* with both ends of the chord "
                      "<pi - pi*, r> = 0 through pi*; the witness ranks an end apart from pi*",
            "evidence": {"pi_star": p, "n_r_checked": len(ws),
                         "min_gap": min(max(abs(v - w["J_star"]) for v in w["J_ends"])
                                        for w in ws)}}
    # --- continuity (jump) against the continuous formalisms RM and RRL
    n = np.arange(1, 41)
    ltl_seq = [np.array([[2.0**-k, 1 - 2.0**-k, 0.0]]) for k in n]
    onmr_seq = [np.array([[0.5 - 2.0**-k, 0.25 + 2.0**-(k + 1), 0.25 + 2.0**-(k + 1)]])
                for k in n + 1]
    jumps = {
        "LTL": jump_witness(W["LTL"][1], ltl_seq, np.array([[0.0, 1.0, 0.0]]),
                            np.array([[0.5, 0.5, 0.0]])),
        "ONMR": jump_witness(W["ONMR"][1], onmr_seq, np.array([[0.5, 0.25, 0.25]]), onmr_seq[0]),
    }
    for X, w in jumps.items():
        for Y in ("RM", "RRL"):
            cells[f"{X}>{Y}"] = {
                "status": "argued" if w["holds"] else "failed",
                "method": "continuity: RM values are Lipschitz in pi (checked theorem), entropy/"
                          "full-support-KL RRL values continuous, so their indifference sets "
                          "are closed; the witness has pi_n ~ sigma, pi_n -> pi, pi !~ sigma",
                "evidence": w}
    # ONMR threshold vs LTL: the jump happens inside the full-support class.
    cells["ONMR>LTL"] = {
        "status": "argued" if jumps["ONMR"]["holds"] else "failed",
        "method": "support-class continuity: on policies of one support the product chain's "
                  "graph is fixed and Pr(phi) = (I - P_TT)^{-1} P_TA 1 is continuous; the "
                  "ONMR threshold jumps between full-support policies",
        "evidence": jumps["ONMR"]}
    # --- corner lemma: LAR against every f(g) with g continuous (ONMR, RM, RRL)
    lar_env = W["LAR"][0]
    lar_ties = curve_intervals(lambda p: _val(W["LAR"][1], p))
    rays_tied = all(hi - lo <= 1e-12 for lo, hi in lar_ties)
    rays_apart = len({round(lo, 9) for lo, _ in lar_ties}) == len(RAYS)
    for Y in ("ONMR", "RM", "RRL"):
        ws = []
        for _ in range(max(3, n_draws // 4)):
            g = float(rng.choice([0.0, 0.5, 0.9]))
            if Y == "ONMR":
                obj = MarkovReward(lar_env, rng.normal(size=(2, 2)), g)
            elif Y == "RM":
                mach = random_machine(rng, 2, 2, n_letters=2)
                obj = RewardMachineObjective(lar_env, mach, rng.integers(0, 2, size=(2, 2, 2)))
            else:
                obj = RegularisedRL(lar_env, rng.normal(size=(2, 2)), g,
                                    alpha=float(rng.uniform(0.1, 2.0)))
            ws.append(corner_witness(lambda p, o=obj: _val(o, p), kappa=E_INV))
        ok = rays_tied and rays_apart and all(w["holds"] for w in ws)
        cells[f"LAR>{Y}"] = {
            "status": "argued" if ok else "failed",
            "method": "corner lemma: four level curves through q = 0 are four LAR classes; "
                      "for any g continuous at q = 0 two curves' g-ranges overlap, so f(g) "
                      "ties two classes",
            "evidence": {"lar_ray_ranges": lar_ties, "n_objectives_checked": len(ws),
                         "min_overlap": min(w["overlap"] for w in ws)}}
    # --- RM (tilted, unique interior optimum) against RRL
    u = interior_max_witness(gamma)
    cells["RM>RRL"] = {
        "status": "argued" if (u["holds"] and u["rm_best_is_pi_star"]) else "failed",
        "method": "KL lemma: a unique interior optimum pi* forces the RRL ordering (entropy, or "
                  "KL to a full-support reference) to be that of -KL(. || pi*); the RM ties "
                  "sigma(p* - 0.2) and sigma(p* + 0.2), which KL ranks apart",
        "evidence": u}
    _open_cells(cells, grid, gamma, rng, n_draws)
    return cells


def _open_cells(cells: dict, grid: list, gamma: float, rng: np.random.Generator,
                n_draws: int) -> None:
    """The four cells that need the new lemmas: RRL>RM, RRL>LTL, RM>LTL, LAR>LTL (ours)."""
    W = five_way_witnesses(gamma)
    k = max(2, n_draws // 4)
    try:  # the exact rational forms need sympy (a dependency of torch; not of prefrl's core)
        import sympy  # noqa: F401

        seg = []
        for _ in range(k):
            inst = draw_ltl_segment(rng)
            seg.append(ltl_rational_gap_on_segment(inst["automaton"], inst["props"],
                                                   inst["points"]))
        sw = []
        for _ in range(k):
            inst = draw_ltl_switch(rng)
            sw.append(ltl_rational_gap_on_switch(inst["automaton"], inst["props"],
                                                 inst["points"]))
    except ImportError:
        seg = sw = None
    lip = []
    for _ in range(k):
        inst = draw_lipschitz(rng)
        lip.append(rm_lipschitz_excess(inst["env"], inst["machine"], inst["labelling"],
                                       inst["policy"], inst["policy2"]))
    lip_ok = max(lip) <= 1e-10
    # RRL vs RM: the edge lemma.
    edge = edge_tie_witness(gamma)
    cells["RRL>RM"] = {
        "status": "argued" if (edge["holds"] and lip_ok) else "failed",
        "method": "edge lemma: the entropy witness ties each edge point e with interior points "
                  "at distance eps(t) = o(t) from e + t u, so a Lipschitz objective (every RM, "
                  "checked theorem) with its ordering is constant on the edge pi_2 = 0; the "
                  "witness ranks the edge's vertices apart",
        "evidence": {**{k2: v for k2, v in edge.items() if k2 != "ratios"},
                     "eps_over_t_first_last": edge["ratios"][:, [0, -1]].tolist(),
                     "n_rm_lipschitz_checked": k, "max_lipschitz_excess": max(lip)}}
    # RRL and RM vs LTL: the transcendental-optimum lemma on the segment sigma(p).
    e = float(np.e)
    for X, p_star, why in (("RRL", e / (e + 2.0), "p* = e/(e+2) (softmax of (1, 0, 0))"),
                           ("RM", float(rm_witness_optimum()[0]), "p* = (1 + 1/e)/3")):
        w = transcendental_optimum_witness(W[X][1], p_star)
        cells[f"{X}>LTL"] = {
            "status": _lemma_status(w["holds"], seg),
            "method": "transcendental-optimum lemma: on sigma(p) every LTL objective is in Q(p) "
                      f"(checked theorem), so its critical points are algebraic; the witness has "
                      f"a unique maximiser {why}, transcendental since e is (Hermite 1873)",
            "evidence": {**w, "n_ltl_checked": k if seg else 0,
                         "max_ltl_rational_gap": max(seg) if seg else None}}
    cells["RM>LTL"]["evidence"]["gini_note"] = (
        "the untilted action-change machine is LTL-expressible: OR_i (p_i & X !p_i) has "
        "probability 1 - sum_i pi_i^2; the tilt gamma/e moves the optimum to a transcendental "
        "point")
    cells["RM>LTL"]["evidence"]["gini_same_ranks_on_grid"] = gini_is_ltl(grid, gamma)
    # LAR vs LTL: the irrational-slope lemma.
    w = irrational_slope_witness()
    cells["LAR>LTL"] = {
        "status": _lemma_status(w["holds"], sw),
        "method": "irrational-slope lemma: on full-support switch policies every LTL objective "
                  "is in Q(q0, q1) (checked theorem); matching the level sets of "
                  "V = q1 (1 + q0/e)/(q0 + q1) forces kappa = 1/e to be rational",
        "evidence": {**w, "n_ltl_checked": k if sw else 0,
                     "max_ltl_rational_gap": max(sw) if sw else None}}


def _lemma_status(witness_holds: bool, premise_gaps) -> str:
    """'argued' when the witness and the sampled premise hold; 'open' when sympy is missing."""
    if premise_gaps is None:
        return "open"
    return "argued" if (witness_holds and max(premise_gaps) <= 1e-9) else "failed"
