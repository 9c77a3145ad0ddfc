"""Theorems about P2R, the preference-to-reward interface (Wang, Liu and Jin 2023), exactly.

The oracle (:class:`prefrl.reward_learning.P2ROracle`) answers an RL algorithm's reward requests
from preference comparisons against a reference trajectory. In the deterministic mode (exact
comparison probabilities) its guarantees are exact: every answer is within epsilon0 of the true
reward difference, and it queries at most rank{phi(tau) - phi(tau0)} <= d times. The sampled mode
(m Bernoulli comparisons per query) is not checked here: its within-epsilon0 guarantee holds with
probability >= 1 - delta only while the confidence radius beta_t <= epsilon0^2, and the
``p2r_queries`` figure measures it against m. The draws include
repeated trajectories, zero features, d = 1, a true parameter of norm exactly B or zero, and
request sequences that repeat trajectories.
"""

from __future__ import annotations

import numpy as np

from prefrl.registry import theorem
from prefrl.reward_learning import P2ROracle, inverse_link, link_function


def draw_p2r_instance(rng: np.random.Generator) -> dict:
    """N <= 8 trajectories with d <= 4 features, a true parameter, epsilon0 and a request sequence.

    Features are integer counts (ties and repeated rows) or normal; a fifth of the rows are copies
    of other rows and some rows are zero (d = 1 a quarter of the time). The true parameter has
    norm at most B (exactly B, or 0, in some draws); B * max |x| stays <= 8 so that the logistic
    probabilities keep their precision.
    """
    d = 1 if rng.random() < 0.25 else int(rng.integers(1, 5))
    N = int(rng.integers(1, 9))
    if rng.random() < 0.5:
        phi = rng.integers(0, 3, size=(N, d)).astype(float)
    else:
        phi = rng.normal(size=(N, d))
    for i in range(N):
        u = rng.random()
        if u < 0.2 and i > 0:
            phi[i] = phi[int(rng.integers(i))]
        elif u < 0.3:
            phi[i] = 0.0
    ref = int(rng.integers(N))
    xmax = float(np.linalg.norm(phi - phi[ref], axis=1).max())
    B = 8.0 / xmax if xmax > 0 else 1.0
    B *= float(rng.choice([1.0, 0.5, 0.1]))
    u = rng.random()
    theta = rng.normal(size=d)
    nrm = np.linalg.norm(theta)
    if u < 0.15 or nrm == 0:
        theta = np.zeros(d)
    elif u < 0.4:
        theta *= B / nrm  # on the boundary of the class
    else:
        theta *= B * rng.random() / nrm
    eps0 = float(rng.choice([1e-3, 0.05, 0.5]))
    calls = rng.integers(0, N, size=int(rng.integers(1, 40)))
    return {"features": phi, "ref": ref, "bound": B, "theta": theta, "epsilon0": eps0,
            "calls": calls, "shift": float(rng.choice([-5.0, 0.0, 3.0, 100.0]))}


def _run_exact(inst: dict, comparison_fn=None):
    kw = ({"true_theta": inst["theta"]} if comparison_fn is None
          else {"comparison_fn": comparison_fn})
    oracle = P2ROracle(inst["features"], inst["ref"], epsilon0=inst["epsilon0"],
                       bound=inst["bound"], exact=True, **kw)
    answers = np.array([oracle.reward(int(i)) for i in inst["calls"]])
    return oracle, answers


def _truth(inst: dict) -> np.ndarray:
    phi = inst["features"]
    return (phi - phi[inst["ref"]]) @ inst["theta"]


@theorem(
    "p2r.exact_answers_within_epsilon0",
    claim="exact comparison probabilities, |theta*| <= B: every answer of P2R is within epsilon0 of "
    "the true reward difference r*(tau) - r*(tau0) (the answer is the midpoint of the interval of "
    "the confidence set {|theta| <= B, X theta = y}, of half-width <= epsilon0 when not queried, "
    "0 after a query)",
    reference="Wang, Liu and Jin 2023, Sec. 4 (P2R, Algorithm 1); exact (deterministic) mode",
    draw=draw_p2r_instance,
    tolerance=1e-7,
)
def exact_answers_within_epsilon0(inst: dict) -> float:
    """max over requests of (|answer - truth| - epsilon0)_+, plus 1 if the set went empty."""
    oracle, answers = _run_exact(inst)
    err = np.abs(answers - _truth(inst)[inst["calls"]])
    return float(max(0.0, err.max() - inst["epsilon0"]) + (not oracle.stats.consistent))


@theorem(
    "p2r.exact_queries_at_most_rank",
    claim="exact mode: the number of preference queries is at most rank{phi(tau) - phi(tau0)} <= d "
    "whatever the number of reward requests (a query happens only in a direction outside the span "
    "of the queried differences), and the reference trajectory is never queried",
    reference="Wang, Liu and Jin 2023, Sec. 4 (the query count does not grow with the RL sample "
    "complexity); exact mode, linear class",
    draw=draw_p2r_instance,
    tolerance=0.0,
)
def exact_queries_at_most_rank(inst: dict) -> float:
    """(queries - rank)_+ + [reference queried] + [queries > requests]."""
    oracle, _ = _run_exact(inst)
    phi = inst["features"]
    X = phi - phi[inst["ref"]]
    rank = int(np.linalg.matrix_rank(X)) if np.any(X) else 0
    st = oracle.stats
    return float(max(0, st.n_queries - rank) + (inst["ref"] in st.queried)
                 + (st.n_queries > st.n_calls) + (st.n_calls != len(inst["calls"])))


@theorem(
    "p2r.constant_shift_invariance",
    claim="P2R returns differences to tau0: a labeller whose rewards are all shifted by a constant "
    "c (Pr = sigma((r(tau) + c) - (r(tau0) + c))) gets the same answers and the same queries, and "
    "the reference trajectory's answer is 0",
    reference="Wang, Liu and Jin 2023, Sec. 4 (P2R compares every trajectory with a fixed tau0)",
    draw=draw_p2r_instance,
    tolerance=1e-9,
)
def constant_shift_invariance(inst: dict) -> float:
    """max |answers(r) - answers(r + c)| (relative to 1 + |c|) + [queries differ] + |answer(tau0)|."""
    phi, ref, c = inst["features"], inst["ref"], inst["shift"]
    r = phi @ inst["theta"]

    def labeller(shift):
        return lambda i: float(link_function((r[i] + shift) - (r[ref] + shift)))

    o1, a1 = _run_exact(inst, labeller(0.0))
    o2, a2 = _run_exact(inst, labeller(c))
    same = o1.stats.queried == o2.stats.queried
    oracle = P2ROracle(phi, ref, epsilon0=inst["epsilon0"], bound=inst["bound"], exact=True,
                       comparison_fn=labeller(c))
    return float(np.abs(a1 - a2).max() / (1.0 + abs(c)) + (not same)
                 + abs(oracle.reward(ref)))


def draw_link_argument(rng: np.random.Generator) -> float:
    """A reward difference in [-8, 8]: 0, tiny, integers and normal draws."""
    u = rng.random()
    if u < 0.1:
        return 0.0
    if u < 0.2:
        return float(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-300, -5))
    if u < 0.4:
        return float(rng.integers(-8, 9))
    return float(np.clip(rng.normal(scale=3.0), -8.0, 8.0))


@theorem(
    "p2r.logistic_inversion_exact",
    claim="with the logistic link, inverting the exact preference probability sigma(z) returns the "
    "reward difference z (to the rounding of sigma(z): eps * e^|z| <= 1e-12 for |z| <= 8)",
    reference="Wang, Liu and Jin 2023, Sec. 3 (utility-based preferences with a known link), "
    "Sec. 4 (P2R inverts the link)",
    draw=draw_link_argument,
    tolerance=1e-11,
)
def logistic_inversion_exact(z: float) -> float:
    """|sigma^{-1}(sigma(z)) - z|."""
    return float(abs(inverse_link(link_function(z)) - z))
