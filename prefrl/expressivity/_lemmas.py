r"""The premises of the five-way separation's lemmas, checked on the witnesses (ours).

Part of :mod:`prefrl.expressivity`. Each lemma (ours; stated in the docstrings below and in the
theory page) shows that no objective of a formalism Y induces the ordering of a witness of
:func:`~prefrl.expressivity.five_way_witnesses`. What is *argued* is the lemma; what these
functions *check* numerically are its premises on the witness (exact ties, strict concavity, a
vanishing derivative, closed forms). Each returns a dict with ``holds`` and the quantities
checked.

- :func:`line_witness` (line lemma, vs ONMR), :func:`jump_witness` (continuity, vs RM and RRL;
  support-class continuity, vs LTL), :func:`corner_witness` (corner lemma, LAR vs ONMR, RM,
  RRL);
- :func:`interior_max_witness` (KL lemma, RM vs RRL), :func:`uniform_max_witness` (its earlier,
  entropy-only form), :func:`edge_tie_witness` (edge lemma, RRL vs RM);
- :func:`transcendental_optimum_witness` (RRL, RM vs LTL), :func:`irrational_slope_witness`
  (LAR vs LTL).
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    renamed_errors,
)
from ..mdp.envs import one_state_env, switch_env
from ._objectives import LimitAverageReward, RegularisedRL
from ._reward_machines import RewardMachineObjective
from ._witnesses import (
    E_INV,
    RAYS,
    SEP_GAMMA,
    _val,
    change_machine,
    curve_intervals,
    five_way_witnesses,  # noqa: F401  (used by the doctests)
    lar_witness_reward,
    rm_witness_optimum,
    segment_policy,
    simplex_grid,
    switch_policy,
    tilted_change_machine,
)

__all__ = [
    "corner_witness",
    "edge_tie_witness",
    "interior_max_witness",
    "irrational_slope_witness",
    "jump_witness",
    "line_witness",
    "transcendental_optimum_witness",
    "uniform_max_witness",
]


def line_witness(J, pi_star, r) -> dict:
    r"""Tie partners of :math:`\pi^*` under :math:`f(\langle \pi, r\rangle)` in the one-state 3-action env, ranked apart by J.

    Line lemma (ours): every ONMR (and MR, LAR) objective of the one-state environment is
    :math:`f(\langle \pi, r\rangle)` for some :math:`r` and :math:`f`, so it ties
    :math:`\pi^*` with both ends of the chord :math:`\{\pi : \langle \pi - \pi^*, r\rangle = 0\}`
    of the simplex (the whole simplex when :math:`r` is constant). A witness J that ranks an end
    apart from :math:`\pi^*` is not of this form for this :math:`r`.

    Parameters
    ----------
    J : objective of the one-state 3-action environment
    pi_star : array, shape (3,)
    r : array, shape (3,)

    Returns
    -------
    dict
        ``ends`` (the chord's ends), ``J_star``, ``J_ends``, ``tie_residual`` (the exact
        :math:`|\langle e - \pi^*, r\rangle|` there) and ``separated``.

    Examples
    --------
    >>> W = five_way_witnesses()
    >>> line_witness(W["LTL"][1], np.full(3, 1 / 3), np.array([1.0, 0.0, 0.0]))["separated"]
    True
    """
    p = check_distribution(np.ravel(check_array(pi_star, "pi_star")), "pi_star", size=3)
    r = check_array(r, "r", ndim=1, shape=(3,))
    d = np.cross(r, np.ones(3))
    if np.max(np.abs(d)) <= 1e-12 * (1.0 + np.max(np.abs(r))):
        ends = [np.eye(3)[i] for i in range(3)]  # constant r ties everything
    else:
        ends = []
        for sgn in (1.0, -1.0):
            dd = sgn * d
            neg = np.flatnonzero(dd < 0)
            with np.errstate(over="ignore"):  # a subnormal slope gives an infinite (unused) ratio
                ratios = p[neg] / -dd[neg]
            e = np.clip(p + ratios.min() * dd, 0.0, None)
            e[neg[np.argmin(ratios)]] = 0.0  # the coordinate that leaves the simplex is exactly 0
            ends.append(e / e.sum())
    v0 = _val(J, p[None])
    vals = [_val(J, e[None]) for e in ends]
    gaps = [abs(float((e - p) @ np.asarray(r, float))) for e in ends]
    tol = 1e-9 * (1.0 + abs(v0))
    return {"pi_star": p, "ends": ends, "J_star": v0, "J_ends": vals,
            "tie_residual": max(gaps) if d.any() else 0.0,
            "separated": any(abs(v - v0) > tol for v in vals)}


def jump_witness(J, sequence: list, limit, sigma) -> dict:
    r"""A sequence :math:`\pi_n \to \pi` with :math:`J(\pi_n) = J(\sigma)` for all n but :math:`J(\pi) \ne J(\sigma)`.

    Then :math:`\{\pi' : \pi' \sim \sigma\}` is not closed, while every continuous objective
    (MR, RM, RRL) has closed indifference sets; restricted to one support class, also every LTL
    objective. Ours.

    Parameters
    ----------
    J : objective
    sequence : list of policies
    limit, sigma : policies

    Returns
    -------
    dict
        ``J_sigma``, ``J_sequence_max_gap``, ``J_limit``, ``last_distance``, ``holds``.

    Examples
    --------
    >>> J = five_way_witnesses()["LTL"][1]
    >>> seq = [np.array([[2.0**-k, 1 - 2.0**-k, 0.0]]) for k in range(1, 30)]
    >>> jump_witness(J, seq, np.array([[0.0, 1.0, 0.0]]), np.array([[0.5, 0.5, 0.0]]))["holds"]
    True
    """
    if not (isinstance(sequence, (list, tuple)) or (isinstance(sequence, np.ndarray) and sequence.ndim)):
        raise TypeError(f"sequence must be a list of policies, got {type(sequence).__name__}")
    if len(sequence) == 0:
        raise ValueError("sequence must not be empty")
    with renamed_errors("policy", "sigma"):
        vs = _val(J, sigma)
    seq = []
    for i, p in enumerate(sequence):
        with renamed_errors("policy", f"sequence[{i}]"):
            seq.append(_val(J, p))
    with renamed_errors("policy", "limit"):
        vl = _val(J, limit)
    tol = 1e-12 * (1.0 + abs(vs))
    dist = float(np.max(np.abs(sequence[-1] - limit)))
    return {"J_sigma": vs, "J_sequence_max_gap": max(abs(v - vs) for v in seq), "J_limit": vl,
            "last_distance": dist,
            "holds": all(abs(v - vs) <= tol for v in seq) and abs(vl - vs) > 1e-6}


def corner_witness(g, rays=RAYS, n: int = 31, kappa: float = 0.0) -> dict:
    r"""Two LAR classes (level curves) whose g-ranges overlap, so f(g) ties them for every f.

    Corner lemma (ours): if :math:`g` is continuous at the corner :math:`q = (0, 0)` of the
    switch environment, each level curve's image is an interval with :math:`g(0, 0)` in its
    closure (the curves are connected and reach the corner), and among four such intervals two
    intersect; by the intermediate value theorem :math:`g` ties a point of one curve with a
    point of the other. ``kappa = 0`` samples the rays :math:`q_1 = c q_0`; the LAR witness uses
    the curves of :func:`~prefrl.expressivity.lar_level_curve` (``kappa = E_INV``).

    Parameters
    ----------
    g : callable, policy (2, 2) -> float
    rays : sequence of 4 float
    n : int
    kappa : float

    Returns
    -------
    dict
        ``intervals``, ``pair`` (the two slopes), ``overlap`` and ``holds``.

    Examples
    --------
    >>> J = RegularisedRL(switch_env(), [[1.0, 0.0], [0.0, 2.0]], 0.5, alpha=0.3)
    >>> corner_witness(J)["holds"]
    True
    """
    iv = curve_intervals(g, rays, n, kappa)
    best = None
    for i in range(len(iv)):
        for j in range(i + 1, len(iv)):
            lo, hi = max(iv[i][0], iv[j][0]), min(iv[i][1], iv[j][1])
            if best is None or hi - lo > best[2] - best[1]:
                best = (i, j, lo, hi)
    i, j, lo, hi = best
    scale = 1.0 + max(abs(x) for ab in iv for x in ab)
    return {"intervals": iv, "pair": (rays[i], rays[j]), "overlap": hi - lo,
            "holds": hi - lo >= -1e-12 * scale}


def uniform_max_witness(gamma: float = SEP_GAMMA) -> dict:
    r"""The RM (Gini) ordering ties (1/2, 1/2, 0) and (1/6, 1/6, 2/3); entropy orders them strictly.

    Argument (ours, the entropy-only predecessor of :func:`interior_max_witness`): an RRL
    objective (entropy or KL to a reference) of the one-state environment with a unique optimum
    at the uniform policy has :math:`\alpha > 0` and a constant (reference-shifted) reward, so
    it induces the entropy ordering; the Gini ordering of :func:`~prefrl.expressivity.change_machine`
    differs.

    Examples
    --------
    >>> w = uniform_max_witness()
    >>> w["holds"], w["rm_best_is_uniform"]
    (True, True)
    """
    tri = one_state_env(3)
    J = RewardMachineObjective(tri, change_machine(3, gamma), np.arange(3)[None, :, None])
    H = RegularisedRL(tri, [[0.0, 0.0, 0.0]], gamma, alpha=1.0)
    a, b = np.array([[0.5, 0.5, 0.0]]), np.array([[1 / 6, 1 / 6, 2 / 3]])
    u = np.full((1, 3), 1 / 3)
    grid = simplex_grid(6)
    best = max(_val(J, p) for p in grid)
    n_best = sum(abs(_val(J, p) - best) <= 1e-12 for p in grid)
    return {"J_rm": (_val(J, a), _val(J, b)), "J_entropy": (_val(H, a), _val(H, b)),
            "rm_best_is_uniform": abs(_val(J, u) - best) <= 1e-12 and n_best == 1,
            "holds": abs(_val(J, a) - _val(J, b)) <= 1e-12 and abs(_val(H, a) - _val(H, b)) > 0.1}


def transcendental_optimum_witness(J, p_star: float, n_grid: int = 401) -> dict:
    r"""Premises of the transcendental-optimum lemma for an objective J on the segment :math:`\sigma(p)`.

    Lemma (ours). Let :math:`J` restricted to :math:`\sigma(p) = (p, \tfrac{1-p}2, \tfrac{1-p}2)`
    have a unique maximiser :math:`p^* \in (0, 1)` that is transcendental and let :math:`J` be
    non-constant on :math:`(0, 1)`. No LTL objective induces :math:`J`'s ordering. Proof: an LTL
    objective inducing it equals :math:`h \circ J` on the segment with :math:`h` strictly
    increasing; on :math:`(0, 1)` the support is fixed, so it is a rational function
    :math:`R = N/D` with :math:`N, D \in \mathbb Q[p]`
    (:func:`~prefrl.expressivity.ltl_rational_form`, theorem
    ``ltl_is_rational_over_q_on_segments``), with a unique maximiser at :math:`p^*` over
    :math:`(0, 1)`. Hence :math:`N'D - ND'` vanishes at :math:`p^*`; it is not the zero
    polynomial (else :math:`R` is constant, and ties points :math:`J` ranks apart), so
    :math:`p^*` is algebraic: a contradiction. Checked here: the grid maximiser is next to
    :math:`p^*`, the central difference of :math:`J` at :math:`p^*` is at rounding level, and
    :math:`J` is strictly concave on the grid (so :math:`p^*` is the unique maximiser).

    Parameters
    ----------
    J : objective of the one-state 3-action environment
    p_star : float, the claimed maximiser along the segment
    n_grid : int, grid size on [0, 1]

    Returns
    -------
    dict with ``holds`` and the checked quantities

    Examples
    --------
    >>> J = five_way_witnesses()["RRL"][1]
    >>> transcendental_optimum_witness(J, np.e / (np.e + 2))["holds"]
    True
    """
    p_star = check_in_range(p_star, "p_star", 0.0, 1.0, low_open=True, high_open=True)
    n_grid = check_integer(n_grid, "n_grid", minimum=3)
    ps = np.linspace(0.0, 1.0, n_grid)
    v = np.array([_val(J, segment_policy(p)) for p in ps])
    h = 1e-5
    d1 = (_val(J, segment_policy(p_star + h)) - _val(J, segment_policy(p_star - h))) / (2 * h)
    second = v[:-2] - 2 * v[1:-1] + v[2:]
    argmax = float(ps[int(np.argmax(v))])
    scale = 1.0 + float(np.max(np.abs(v)))
    return {"p_star": p_star, "grid_argmax": argmax, "derivative_at_p_star": float(d1),
            "max_second_difference": float(second.max()),
            "holds": abs(argmax - p_star) <= 1.0 / (n_grid - 1) and abs(d1) <= 1e-8 * scale
            and float(second.max()) < 0.0}


def edge_tie_witness(gamma: float = SEP_GAMMA, alpha: float = 1.0, r=(1.0, 0.0, 0.0),
                     xs=(0.2, 0.4, 0.6, 0.9), ks=tuple(range(4, 31, 2))) -> dict:
    r"""Ties of the entropy-RRL witness across the edge :math:`\pi_2 = 0`, shrinking like o(t).

    :math:`F(\pi) = \langle \pi, r\rangle + \alpha H(\pi)` (the RRL value times
    :math:`1 - \gamma`). For an edge point :math:`e = (x, 1 - x, 0)`, a step
    :math:`e' = e + t u` along the edge with :math:`F(e') < F(e)` (:math:`u = \pm(1, -1, 0)`),
    and :math:`\pi_\varepsilon = (1 - \varepsilon) e' + \varepsilon e_2`, the grouping rule of
    entropy gives exactly

    .. math::
        F(\pi_\varepsilon) = (1 - \varepsilon) F(e') + \varepsilon r_2 + \alpha h(\varepsilon),
        \qquad h(\varepsilon) = -\varepsilon\log\varepsilon - (1-\varepsilon)\log(1-\varepsilon),

    so the tie :math:`F(\pi_\varepsilon) = F(e)` has a smallest root :math:`\varepsilon(t)` with
    :math:`\varepsilon(t)\,(\alpha \log(1/\varepsilon(t)) - F(e') + r_2) \le F(e) - F(e') = O(t)`,
    hence :math:`\varepsilon(t)/t \to 0`.

    Edge lemma (ours): an objective :math:`R` Lipschitz on the simplex (constant :math:`L`)
    inducing the same ordering ties :math:`e` with :math:`\pi_{\varepsilon(t)}`, so
    :math:`|R(e + tu) - R(e)| \le 2L\varepsilon(t) = o(t)`: the one-sided derivative of
    :math:`R` along the edge vanishes at every edge point except the edge maximiser of
    :math:`F`. :math:`R` restricted to the edge is Lipschitz, hence differentiable almost
    everywhere with derivative 0 and constant; but :math:`F(e_0) - F(e_1) = r_0 - r_1 \ne 0`.
    Every RM objective is Lipschitz in the policy
    (:func:`~prefrl.expressivity.rm_lipschitz_excess`, theorem ``rm_value_lipschitz_in_policy``).

    Returns the ratios :math:`\varepsilon(t)/t` (shape (len(xs), len(ks)), for
    :math:`t = 2^{-k}`), the bound's slack, the tie residuals computed with
    :class:`~prefrl.expressivity.RegularisedRL`, and the vertex gap.

    Examples
    --------
    >>> w = edge_tie_witness()
    >>> w["holds"], bool(w["ratios"][0, -1] < w["ratios"][0, 0])
    (True, True)
    """
    from scipy.optimize import brentq

    tri = one_state_env(3)
    J = RegularisedRL(tri, [list(r)], gamma, alpha=alpha)
    r = np.asarray(r, dtype=float)

    def F(pi):
        return float(pi @ r) - alpha * float(np.sum(np.where(pi > 0, pi * np.log(
            np.where(pi > 0, pi, 1.0)), 0.0)))

    def hb(e):
        return -e * np.log(e) - (1 - e) * np.log1p(-e)

    e2 = np.eye(3)[2]
    ratios, slack, tie_res = [], [], 0.0
    for x in xs:
        e = np.array([x, 1.0 - x, 0.0])
        du = (r[0] - r[1]) - alpha * (np.log(x) - np.log(1.0 - x))  # dF along (1, -1, 0)
        u = -np.sign(du) * np.array([1.0, -1.0, 0.0])
        row = []
        for k in ks:
            t = 2.0**-k
            ep = e + t * u
            delta = F(e) - F(ep)
            cpr = F(ep) - r[2]

            def tie(eps, delta=delta, cpr=cpr):
                return alpha * hb(eps) - eps * cpr - delta

            lo, hi = 0.0, 1e-300
            while tie(hi) < 0.0 and hi < 0.5:  # tie < 0 at 0, increases first: smallest root
                lo, hi = hi, hi * 1e3 if hi < 1e-3 else min(0.5, hi * 2)
            if tie(hi) < 0.0:  # no tie across the edge (alpha = 0, say): the premise fails
                return {"ratios": np.full((len(xs), len(ks)), np.inf), "holds": False,
                        "min_bound_slack": -np.inf, "tie_residual": np.inf,
                        "vertex_gap": 0.0, "last_ratio": np.inf}
            eps = brentq(tie, max(lo, 1e-320), hi, xtol=1e-320, rtol=1e-15)
            row.append(eps / t)
            slack.append(delta / (alpha * np.log(1.0 / eps) - cpr) - eps)
            pe = (1.0 - eps) * ep + eps * e2
            tie_res = max(tie_res, abs(_val(J, pe[None]) - _val(J, e[None])))
        ratios.append(row)
    ratios = np.array(ratios)
    vertex_gap = abs(_val(J, np.eye(3)[:1]) - _val(J, np.eye(3)[1:2]))
    decreasing = bool(np.all(np.diff(ratios, axis=1) < 0))
    return {"ratios": ratios, "min_bound_slack": float(min(slack)), "tie_residual": tie_res,
            "vertex_gap": vertex_gap, "last_ratio": float(ratios[:, -1].max()),
            "holds": decreasing and min(slack) >= -1e-12 and tie_res <= 1e-12 and
            vertex_gap > 0.1}


def interior_max_witness(gamma: float = SEP_GAMMA, tilt: float = E_INV,
                         delta: float = 0.2) -> dict:
    r"""The tilted RM ties :math:`\sigma(p^* - d)` and :math:`\sigma(p^* + d)`; :math:`\mathrm{KL}(\cdot \| \pi^*)` ranks them apart.

    KL lemma (ours): in the one-state environment an RRL objective (entropy, or KL to a
    reference) equals :math:`[\langle\pi, r'\rangle + \alpha H(\pi)]/(1-\gamma)` with
    :math:`r' = r + \alpha\log\pi_{ref}`; with a unique interior maximiser :math:`\pi^*` it has
    :math:`\alpha > 0`, a full-support reference, :math:`\pi^* = \mathrm{softmax}(r'/\alpha)`,
    and value :math:`\alpha(c - \mathrm{KL}(\pi \| \pi^*))/(1-\gamma)`: its ordering is that of
    :math:`-\mathrm{KL}(\cdot\|\pi^*)` (:math:`\alpha = 0` is affine: no unique interior
    optimum). The RM witness is a quadratic symmetric about :math:`p^*` along the segment, so it
    ties :math:`\sigma(p^* \pm d)`, which KL ranks apart.

    Examples
    --------
    >>> w = interior_max_witness()
    >>> w["holds"], w["rm_best_is_pi_star"]
    (True, True)
    """
    tri = one_state_env(3)
    J = RewardMachineObjective(tri, tilted_change_machine(gamma, tilt), np.arange(3)[None, :, None])
    star = rm_witness_optimum(tilt)
    K = RegularisedRL(tri, [list(np.log(star))], gamma, alpha=1.0)  # -KL(.||pi*) up to constants
    a, b = segment_policy(star[0] - delta), segment_policy(star[0] + delta)
    grid = [*simplex_grid(6), star[None]]
    best = max(_val(J, p) for p in grid)
    return {"J_rm": (_val(J, a), _val(J, b)), "J_kl": (_val(K, a), _val(K, b)),
            "rm_best_is_pi_star": abs(_val(J, star[None]) - best) <= 1e-12 and
            all(_val(J, p) < best - 1e-9 for p in grid[:-1]),
            "holds": abs(_val(J, a) - _val(J, b)) <= 1e-12 and abs(_val(K, a) - _val(K, b)) > 1e-3}


def irrational_slope_witness(kappa: float = E_INV, points=((0.3, 0.6), (0.7, 0.2),
                                                          (0.5, 0.5))) -> dict:
    r"""Premises of the irrational-slope lemma for the LAR witness of the switch environment.

    Lemma (ours). On the full-support policies the LAR witness is
    :math:`V = q_1(1 + \kappa q_0)/(q_0 + q_1)` with :math:`\kappa = 1/e`, and

    .. math::
        \partial_0 V = \frac{q_1(\kappa q_1 - 1)}{(q_0+q_1)^2}, \qquad
        \partial_1 V = \frac{q_0 (1 + \kappa q_0)}{(q_0+q_1)^2}.

    An LTL objective inducing :math:`V`'s ordering is :math:`h \circ V` there, a rational
    function :math:`R \in \mathbb Q(q_0, q_1)` (theorem
    ``ltl_is_rational_over_q_on_switch_env``), so :math:`\nabla R \parallel \nabla V`:
    :math:`\kappa A = -B` with :math:`A = q_0^2\partial_0 R - q_1^2 \partial_1 R` and
    :math:`B = q_0 \partial_0 R + q_1 \partial_1 R` in :math:`\mathbb Q(q_0, q_1)`. If
    :math:`A \not\equiv 0`, at a rational point where :math:`A \ne 0`, :math:`\kappa = -B/A` is
    rational: a contradiction. If :math:`A \equiv 0` then :math:`B \equiv 0`, so
    :math:`q_0(q_0 + q_1)\partial_0 R = 0`, :math:`\nabla R = 0` and :math:`R` is constant,
    while :math:`V` is not. Checked here: the closed-form gradient against finite differences of
    the implemented LAR value, and V constant along the level curves used by the corner lemma.

    Examples
    --------
    >>> irrational_slope_witness()["holds"]
    True
    """
    env = switch_env()
    J = LimitAverageReward(env, lar_witness_reward(kappa))
    worst = 0.0
    h = 1e-6
    for q0, q1 in points:
        s = (q0 + q1) ** 2
        g0 = q1 * (kappa * q1 - 1.0) / s
        g1 = q0 * (1.0 + kappa * q0) / s
        f0 = (_val(J, switch_policy(q0 + h, q1)) - _val(J, switch_policy(q0 - h, q1))) / (2 * h)
        f1 = (_val(J, switch_policy(q0, q1 + h)) - _val(J, switch_policy(q0, q1 - h))) / (2 * h)
        closed = q1 * (1.0 + kappa * q0) / (q0 + q1)
        worst = max(worst, abs(f0 - g0), abs(f1 - g1),
                    1e3 * abs(_val(J, switch_policy(q0, q1)) - closed))
    curves = curve_intervals(lambda p: _val(J, p), kappa=kappa)
    spread = max(hi - lo for lo, hi in curves)
    return {"gradient_gap": worst, "level_curve_spread": spread,
            "holds": worst <= 1e-6 and spread <= 1e-12}
