"""Finite-horizon MDPs against a direct transcription of the definitions (issue 14).

The occupancy, the evaluation and the backward induction (hard and soft) of a finite-horizon
:class:`~prefrl.mdp.TabularMDP` are compared, to 1e-12, with the definitions written out here in
plain numpy on the dense arrays (Puterman 1994, Sec. 4.2 and 4.5):

.. math::
    \\rho_0 = \\mu_0,\\quad \\rho_{t+1}(s') = \\sum_{s,a} \\rho_t(s)\\pi_t(a|s)P(s'|s,a),\\quad
    d(s, a) = \\sum_{t=0}^{H-1} \\gamma^t \\rho_t(s)\\pi_t(a|s),\\quad
    J = \\sum_{t=0}^{H-1} \\gamma^t \\sum_{s,a}\\rho_t(s)\\pi_t(a|s) r(s, a),

    V_H = 0,\\quad Q_t = r + \\gamma P V_{t+1},\\quad
    V_t = \\sum_a \\pi_t Q_t \\ \\text{(evaluation)},\\ \\max_a Q_t \\ \\text{(optimum)},\\
    \\beta\\log\\sum_a \\pi_{ref} e^{Q_t/\\beta} \\ \\text{(KL-regularised)}.

The MDPs are drawn with gamma < 1 (0 included) as often as gamma = 1, so that a discount applied
one step off (gamma^(t+1) for gamma^t) fails.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from prefrl.mdp._strategies import policies, tabular_mdps


def dense(mdp):
    """(P, r): transitions (S, A, S) and expected rewards r[s, a] = sum_s' P[s, a, s'] R[s, a, s']."""
    P = mdp.dense_transitions()
    R = mdp.rewards
    r = R if R.ndim == 2 else np.sum(P * R, axis=2)
    return P, r


def pinned(actual, expected, scale):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


@st.composite
def finite_horizon_cases(draw):
    """A finite-horizon MDP (sparse or dense, gamma < 1 or = 1) and a stationary or
    time-dependent policy (deterministic, with zeros, or generic)."""
    mdp = draw(tabular_mdps(max_states=4, max_actions=3, sparse=None, horizon=True,
                            gammas=(0.0, 0.5, 0.9)))
    H = mdp.horizon
    stationary = draw(st.booleans())
    pi = draw(policies(mdp.n_states, mdp.n_actions, horizon=None if stationary else H))
    steps = np.broadcast_to(pi, (H, *pi.shape[-2:])) if stationary else pi
    return mdp, pi, steps


@given(finite_horizon_cases())
def test_occupancy_and_return_are_the_discounted_sums_over_steps(case):
    mdp, pi, steps = case
    P, r = dense(mdp)
    H, g = mdp.horizon, mdp.gamma
    rho, d, J = mdp.initial.copy(), np.zeros_like(r), 0.0
    for t in range(H):
        sa = rho[:, None] * steps[t]  # Pr(s_t = s, a_t = a)
        d += g**t * sa
        J += g**t * np.sum(sa * r)
        rho = np.einsum("sa,sat->t", sa, P)
    scale = H * (1.0 + np.max(np.abs(r)))
    pinned(mdp.occupancy(pi), d, scale)
    assert abs(mdp.evaluate(pi).expected_return - J) <= 1e-12 * scale
    # from another start distribution too
    start = np.roll(mdp.initial, 1)
    d_start = np.zeros_like(r)
    rho = start
    for t in range(H):
        d_start += g**t * rho[:, None] * steps[t]
        rho = np.einsum("sa,sat->t", rho[:, None] * steps[t], P)
    pinned(mdp.occupancy(pi, initial=start), d_start, scale)


@given(finite_horizon_cases())
def test_evaluation_is_the_backward_recursion(case):
    mdp, pi, steps = case
    P, r = dense(mdp)
    V = np.zeros(mdp.n_states)
    for t in reversed(range(mdp.horizon)):
        Q = r + mdp.gamma * P @ V
        V = np.sum(steps[t] * Q, axis=1)
    ev = mdp.evaluate(pi)
    scale = mdp.horizon * (1.0 + np.max(np.abs(r)))
    pinned(ev.values, V, scale)
    pinned(ev.q_values, Q, scale)


@given(finite_horizon_cases(), st.sampled_from([None, 0.1, 1.0, 5.0]), st.booleans(), st.data())
def test_backward_induction_is_the_optimality_recursion(case, beta, terminal, data):
    mdp, _, _ = case
    P, r = dense(mdp)
    S, A, H, g = mdp.n_states, mdp.n_actions, mdp.horizon, mdp.gamma
    ref = None
    if beta is not None and data.draw(st.booleans()):
        ref = data.draw(policies(S, A, deterministic=False))
    V = np.linspace(-1.0, 1.0, S) if terminal else np.zeros(S)
    res = mdp.backward_induction(beta=beta, pi_ref=ref, terminal=V if terminal else None)
    scale = (H + 1) * (1.0 + np.max(np.abs(r)))
    pinned(res.values[H], V, scale)
    log_ref = np.log(np.full((S, A), 1.0 / A) if ref is None else np.where(ref > 0, ref, 1.0))
    for t in reversed(range(H)):
        Q = r + g * P @ V
        pinned(res.q_values[t], Q, scale)
        if beta is None:
            V = Q.max(axis=1)
            # greedy: all mass on an action whose Q is the max (ties broken either way)
            assert np.all(np.sum(res.policy[t] * Q, axis=1) >= V - 1e-12 * scale)
            assert np.all(res.policy[t].max(axis=1) == 1.0)
        else:
            z = np.where(ref is None or ref > 0, Q / beta + log_ref, -np.inf)
            m = z.max(axis=1, keepdims=True)
            V = beta * (m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1)))
            pinned(res.policy[t], np.exp(z - m) / np.sum(np.exp(z - m), axis=1, keepdims=True),
                   1.0)
        pinned(res.values[t], V, scale)
    assert abs(res.expected_return - mdp.initial @ V) <= 1e-12 * scale
