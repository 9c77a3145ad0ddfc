"""Pinned updates (issue 14): the first iterates of every learner against its paper's update.

Each test runs a learner for one or two steps (rounds) on a small instance drawn by hypothesis
(ties, deterministic preferences, zero probabilities and one-response bandits included) and compares
every iterate, to 1e-12, with the update written out here in plain numpy from the paper's equation
(cited at each transcription). Nothing here calls prefrl's helpers: the transcriptions work in
probabilities where the library works in log-probabilities, and re-derive the closed forms of the
regressions (REBEL, SPPO, DNO) from their losses. Where a learner samples, the transcription draws
the same random numbers, in the same order, from a generator seeded like the learner's.

The step-size schedules are stated here from the papers, not read from the library: Nash-MD's
:math:`\\eta_t = 2/(\\beta(t+2))` for :math:`t = 0, 1, \\dots` (Munos et al. 2024, Thm. 1), Hedge's
:math:`\\sqrt{8\\log K/T}` (the tuning of :math:`\\log K/\\eta + \\eta T/8`).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit, log_expit

from prefrl import games
from prefrl.curriculum import eva
from prefrl.online import iterative_dpo, online_dpo, online_dpo_expected

RTOL = 1e-12


def assert_pinned(actual, expected, scale=1.0, err_msg=""):
    """Equal to 1e-12 relative, or 1e-14 * scale absolute (for entries that underflow)."""
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-14 * scale, err_msg=err_msg)


# ------------------------------------------------------------------------------ instances

_ENTRY = st.sampled_from([0.0, 0.5, 1.0]) | st.integers(0, 1000).map(lambda i: i / 1000)
_WEIGHT = st.sampled_from([0, 0, 1]) | st.integers(1, 100)


@st.composite
def preference_matrices(draw, min_k=1, max_k=5):
    """P[i, j] = p(i > j) with P + P.T = 1: exact ties (1/2) and certain wins (0, 1) are common."""
    k = draw(st.integers(min_k, max_k))
    upper = np.triu(draw(hnp.arrays(np.float64, (k, k), elements=_ENTRY)), 1)
    P = upper + np.tril(1.0 - upper.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


@st.composite
def distributions(draw, k, zeros=True):
    w = draw(hnp.arrays(np.float64, (k,), elements=_WEIGHT if zeros else st.integers(1, 100)))
    if w.sum() == 0:
        w[draw(st.integers(0, k - 1))] = 1.0
    return w / w.sum()


@st.composite
def learner_runs(draw, zeros=True, min_k=1):
    """(P, init, T): a preference matrix, a start (zeros allowed) and one or two steps."""
    P = draw(preference_matrices(min_k=min_k))
    return P, draw(distributions(P.shape[0], zeros)), draw(st.integers(1, 2))


SEEDS = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------------------ transcriptions


def tilt(pi, gain):
    """pi(y) exp(gain(y)) / Z: the multiplicative-weights (Gibbs) step, in probabilities."""
    on = pi > 0
    w = np.where(on, pi * np.exp(np.where(on, gain, 0.0) - np.max(gain[on])), 0.0)
    return w / w.sum()


def hedge_eta(K, T):
    """Hedge's step for gains in [0, 1] and T rounds, argmin of log K / eta + eta T / 8."""
    return np.sqrt(8.0 * np.log(K) / T)


def sampled_win_rates(P, pi, n, gen):
    """The fraction of wins of every response against n opponents drawn once from pi, each
    comparison a Bernoulli(P[y, opponent]) draw (uniforms drawn as a (K, n) array)."""
    K = P.shape[0]
    opponents = gen.choice(K, size=n, p=pi)
    u = gen.random((K, n))
    return np.array([sum(u[y, j] < P[y, opponents[j]] for j in range(n)) / n for y in range(K)])


def bt_reward(W, P, l2):
    """argmin_r -sum_{i != j} (W_ij / sum W) P_ij log sigma(r_i - r_j) + l2/2 |r|^2.

    The Bradley-Terry reward-modelling loss of RLHF (Ouyang et al. 2022, Eq. 1) with pair weights
    W (symmetric; the diagonal is ignored) and a ridge; strictly convex, solved here by Newton's
    method with a halving line search.
    """
    K = P.shape[0]
    W = np.array(W, dtype=float)
    np.fill_diagonal(W, 0.0)
    A = W / max(W.sum(), 1e-300) * P  # A[i, j]: the weight of "i beat j"
    np.fill_diagonal(A, 0.0)

    def loss(r):
        return -np.sum(A * log_expit(r[:, None] - r[None, :])) + 0.5 * l2 * (r @ r)

    r = np.zeros(K)
    for _ in range(500):
        s = expit(r[:, None] - r[None, :])  # s[i, j] = sigma(r_i - r_j)
        G = A * (1.0 - s)
        g = -G.sum(axis=1) + G.sum(axis=0) + l2 * r
        C = (A + A.T) * s * (1.0 - s)
        H = np.diag(C.sum(axis=1)) - C + l2 * np.eye(K)
        step = np.linalg.solve(H, -g)
        t, f0 = 1.0, loss(r)
        while loss(r + t * step) > f0 + 1e-14 * abs(f0) and t > 1e-12:
            t /= 2
        r = r + t * step
        if np.max(np.abs(t * step)) <= 1e-16 * (1.0 + np.max(np.abs(r))):
            break
    return r


def sampled_comparisons(P, mu, n, gen):
    """n comparisons: y, y' ~ mu independently (two draws of n), y wins w.p. P[y, y'] (n uniforms).

    Returns the counts C[i, j] + C[j, i] and the empirical P_hat[i, j] = C[i, j] / (C[i, j] +
    C[j, i]) (1/2 where never compared), self-comparisons dropped (Azar et al. 2024, Sec. 3).
    """
    K = P.shape[0]
    first = gen.choice(K, size=n, p=mu)
    second = gen.choice(K, size=n, p=mu)
    first_wins = gen.random(n) < P[first, second]
    C = np.zeros((K, K))
    for a, b, w in zip(first, second, first_wins):
        if a != b:
            C[(a, b) if w else (b, a)] += 1.0
    counts = C + C.T
    P_hat = np.full((K, K), 0.5)
    seen = counts > 0
    P_hat[seen] = C[seen] / counts[seen]
    return counts, P_hat


# ------------------------------------------------------------------------------ SPO, SPPO, DNO


@given(learner_runs(), st.sampled_from([None, 0.03, 0.3, 1.0, 5.0]))
def test_spo_is_hedge_on_the_win_rate(run, eta):
    """Swamy et al. 2024, Alg. 1: pi_{t+1}(y) = pi_t(y) exp(eta P(y > pi_t)) / Z."""
    P, init, T = run
    res = games.spo(P, T, eta=eta, init=init)
    eta = hedge_eta(P.shape[0], T) if eta is None else eta
    pi = init
    for t in range(T):
        pi = tilt(pi, eta * (P @ pi))
        assert_pinned(res.policies[t + 1], pi, err_msg=f"step {t}")


@given(learner_runs(), st.sampled_from([0.3, 2.0]), st.integers(1, 3), SEEDS)
def test_spo_with_sampled_feedback(run, eta, n, seed):
    """Hedge on the fraction of wins against n opponents drawn from pi_t (Swamy et al. 2024)."""
    P, init, T = run
    res = games.spo(P, T, eta=eta, init=init, feedback="sampled", n_samples=n, rng=seed)
    gen, pi = np.random.default_rng(seed), init
    for t in range(T):
        pi = tilt(pi, eta * sampled_win_rates(P, pi, n, gen))
        assert_pinned(res.policies[t + 1], pi, err_msg=f"step {t}")


@given(learner_runs(), st.sampled_from([None, 0.3, 2.0]), st.sampled_from([None, 1, 3]), SEEDS)
def test_sppo_is_the_minimiser_of_its_square_loss(run, eta, n, seed):
    """Wu et al. 2025, Eq. 4.4-4.5: over tabular policies the square loss
    E_{y ~ pi_t}(log pi(y)/pi_t(y) - (eta (P(y > pi_t) - 1/2) - log Z_t/e^{eta/2}))^2 is zero at
    pi_{t+1}(y) = pi_t(y) exp(eta P(y > pi_t)) / Z_t; the win rate exact or from n comparisons."""
    P, init, T = run
    res = games.sppo(P, T, eta=eta, init=init, n_samples=n, rng=None if n is None else seed)
    eta = hedge_eta(P.shape[0], T) if eta is None else eta
    gen, pi = np.random.default_rng(seed), init
    for t in range(T):
        win = P @ pi if n is None else sampled_win_rates(P, pi, n, gen)
        new = tilt(pi, eta * win)
        assert_pinned(res.policies[t + 1], new, err_msg=f"step {t}")
        # the residual of Eq. 4.5's square loss, with the exact log-partition, at the iterate
        on = pi > 0
        log_z = np.log(np.sum(pi * np.exp(eta * win)))
        residual = (np.log(res.policies[t + 1][on] / pi[on])
                    - (eta * (win[on] - 0.5) - (log_z - eta / 2)))
        assert np.max(np.abs(residual)) <= 1e-12 * (1 + eta), t
        pi = new


@given(learner_runs(), st.sampled_from([None, 0.05, 0.5, 3.0]))
def test_dno_is_soft_policy_iteration_on_the_win_rate(run, beta):
    """Rosset et al. 2024, Alg. 1, Eq. 9: pi_{t+1}(y) = pi_t(y) exp(P(y > pi_t) / beta) / Z."""
    P, init, T = run
    res = games.dno(P, T, beta=beta, init=init)
    if beta is None:  # the Hedge step inverted; with one response the step does not matter
        beta = 1.0 / hedge_eta(P.shape[0], T) if P.shape[0] > 1 else 1.0
    pi = init
    for t in range(T):
        pi = tilt(pi, (P @ pi) / beta)
        assert_pinned(res.policies[t + 1], pi, err_msg=f"step {t}")


@given(learner_runs(), st.sampled_from([0.1, 0.5, 3.0]), st.integers(2, 5), SEEDS)
def test_dno_batched_is_the_soft_label_regression_on_sampled_responses(run, beta, n, seed):
    """Rosset et al. 2024, Alg. 2 and Eq. 11-12, as documented by :func:`prefrl.games.dno`.

    n responses y_1..y_n ~ pi_t; y_i's win rate is its fraction of wins in one comparison with
    each other sample (Bernoulli(P[y_i, y_j]), an (n, n) array of uniforms), averaged over the
    samples equal to y. The soft-label loss -sigma(D*) log sigma(D) - sigma(-D*) log sigma(-D) of
    every pair of distinct sampled responses, D = beta(h_y - h_y'), D* = r(y) - r(y'), is minimal
    (zero gradient) at D = D* for every pair: h = r / beta + c on the sampled set. The constant is
    the SPPO normalisation E_pi_t[h] = E_pi_t[(r - 1/2) / beta] on the sampled set, hence
    h = (r - 1/2) / beta there and 0 on responses not sampled; pi_{t+1} = pi_t e^h / Z.
    """
    P, init, T = run
    res = games.dno(P, T, beta=beta, init=init, mode="batched", n_samples=n, rng=seed)
    K = P.shape[0]
    gen, pi = np.random.default_rng(seed), init
    for t in range(T):
        ys = gen.choice(K, size=n, p=pi)
        u = gen.random((n, n))
        per_sample = np.array([sum(u[i, j] < P[ys[i], ys[j]] for j in range(n) if j != i)
                               for i in range(n)]) / (n - 1)
        h = np.zeros(K)
        sampled = np.unique(ys)
        if sampled.size >= 2:
            for y in sampled:
                h[y] = (per_sample[ys == y].mean() - 0.5) / beta
        pi = tilt(pi, h)
        # the library's fit is an L-BFGS minimisation: its rounding, relative to |h|
        assert_pinned(res.policies[t + 1], pi, err_msg=f"step {t}")


# ------------------------------------------------------------------------------ REBEL


def rebel_regression(W, target, eta):
    """A minimiser of sum_{y != y'} W[y, y'] ((h_y - h_y')/eta - (target_y - target_y'))^2, by
    least squares on one row per weighted ordered pair (Gao et al. 2024, Eq. 1)."""
    K = W.shape[0]
    rows, rhs = [], []
    for y, z in itertools.permutations(range(K), 2):
        if W[y, z] > 0:
            e = np.zeros(K)
            e[y], e[z] = 1.0, -1.0
            rows.append(np.sqrt(W[y, z]) * e / eta)
            rhs.append(np.sqrt(W[y, z]) * (target[y] - target[z]))
    if not rows:
        return np.zeros(K)
    return np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]


def components(W):
    """The connected components (lists) of the graph of pairs with W > 0, isolated nodes dropped."""
    K = W.shape[0]
    seen, out = set(), []
    for y in range(K):
        if y in seen or not (W[y] > 0).any():
            continue
        stack, comp = [y], []
        seen.add(y)
        while stack:
            a = stack.pop()
            comp.append(a)
            for b in np.flatnonzero(W[a] > 0):
                if int(b) not in seen:
                    seen.add(int(b))
                    stack.append(int(b))
        out.append(sorted(comp))
    return out


@given(learner_runs(), st.sampled_from([None, 0.03, 0.5, 2.0]))
def test_rebel_regression_with_exact_pair_weights(run, eta):
    """Gao et al. 2024, Eq. 1, reward r_t = P pi_t, pairs weighted by pi_t x pi_t: the regression's
    minimiser (found by least squares, not by formula) gives pi_{t+1} = pi_t e^h / Z."""
    P, init, T = run
    res = games.rebel(P, T, eta=eta, init=init)
    eta = hedge_eta(P.shape[0], T) if eta is None else eta
    pi = init
    for t in range(T):
        h = rebel_regression(np.outer(pi, pi), P @ pi, eta)
        pi = tilt(pi, h)
        assert_pinned(res.policies[t + 1], pi, err_msg=f"step {t}")


@given(learner_runs() | learner_runs(zeros=False, min_k=4), st.sampled_from([0.3, 2.0]),
       st.integers(1, 8), SEEDS)
def test_rebel_regression_with_sampled_pairs(run, eta, n_pairs, seed):
    """Gao et al. 2024, Eq. 1 on n_pairs pairs (y, y') drawn from pi_t x pi_t (n first responses,
    then n second ones), the reward the exact win rate P pi_t. The regression fixes the log-ratio
    differences h_y - h_y' = eta (r_y - r_y') inside each connected component of the compared
    pairs; responses never compared keep h = 0; the free constant is the SPPO normalisation
    E[h] = E[eta (r - 1/2)] under pi_t renormalised on the compared set (as documented). With a
    connected compared set this is h = eta (r - 1/2) there, and pi_{t+1} = pi_t e^h / Z is pinned.
    """
    P, init, T = run
    res = games.rebel(P, T, eta=eta, init=init, n_pairs=n_pairs, rng=seed)
    K = P.shape[0]
    gen, pi = np.random.default_rng(seed), res.policies[0]
    for t in range(T):
        a = gen.choice(K, size=n_pairs, p=pi)
        b = gen.choice(K, size=n_pairs, p=pi)
        W = np.zeros((K, K))
        for y, z in zip(a, b):
            if y != z:
                W[y, z] += 1.0
                W[z, y] += 1.0
        r = P @ pi
        new = res.policies[t + 1]
        comps = components(W)
        compared = [y for c in comps for y in c]
        if len(comps) <= 1:
            h = np.zeros(K)
            h[compared] = eta * (r[compared] - 0.5)
            assert_pinned(new, tilt(pi, h), err_msg=f"step {t}")
            if comps:  # the closed form is the regression's minimiser
                fit = rebel_regression(W, r, eta)
                assert np.ptp(fit[compared] - eta * r[compared]) <= 1e-12 * (1 + eta)
        else:
            # several components: the regression pins the differences inside each and the
            # normalisation one constant for all; the others are the solver's choice
            on = pi > 0
            log_ratio = np.log(np.where(on, new, 1.0) / np.where(on, pi, 1.0))  # h - log Z
            tol = 1e-12 * (1 + np.max(np.abs(log_ratio[on])))
            for c in comps:
                assert np.ptp(log_ratio[c] - eta * r[c]) <= tol, (t, c)
            rest = [y for y in np.flatnonzero(on) if y not in compared]
            if rest:  # there h = 0, so log Z = -log_ratio
                assert np.ptp(log_ratio[rest]) <= tol, t
                h = log_ratio - log_ratio[rest[0]]
                w = pi[compared] / pi[compared].sum()
                assert abs(w @ (h[compared] - eta * (r[compared] - 0.5))) <= tol, t
        pi = new


# ------------------------------------------------------------------------------ Nash-MD


@given(learner_runs(), st.data())
def test_nash_md_is_mirror_descent_against_the_geometric_mixture(run, data):
    """Munos et al. 2024, Sec. 5 (tabular Nash-MD): with tau = beta and mu = pi_ref,

        pi_t^mu(y) ~ pi_t(y)^(1 - eta_t beta) mu(y)^(eta_t beta),
        pi_{t+1}(y) ~ pi_t^mu(y) exp(eta_t P(y > pi_t^mu)),
        eta_t = 2 / (beta (t + 2)), t = 0, 1, ...   (their Thm. 1; or a constant eta)
    """
    P, init, T = run
    K = P.shape[0]
    beta = data.draw(st.sampled_from([0.05, 0.5, 1.0, 4.0]))
    ref = data.draw(st.none() | distributions(K))
    eta = data.draw(st.sampled_from([None, None, 0.5, 1.0]))
    if eta is not None:
        eta = eta / beta  # a constant step with eta beta <= 1
    start = data.draw(st.booleans())
    mu = np.full(K, 1.0 / K) if ref is None else ref
    pi = init if start else mu
    if eta is not None and eta * beta < 1 and not np.any((pi > 0) & (mu > 0)):
        # disjoint supports: the geometric mixture has no mass, the learner must refuse
        with pytest.raises(ValueError, match="disjoint supports"):
            games.nash_md(P, T, beta, pi_ref=ref, init=init, eta=eta)
        return
    res = games.nash_md(P, T, beta, pi_ref=ref, init=init if start else None, eta=eta)
    assert_pinned(res.policies[0], pi)
    for t in range(T):
        eta_t = 2.0 / (beta * (t + 2)) if eta is None else eta
        w = 2.0 / (t + 2) if eta is None else eta * beta  # eta_t beta, exactly
        mix = pi ** (1.0 - w) * mu ** w  # 0 ** 0 = 1
        mix = mix / mix.sum()
        pi = tilt(mix, eta_t * (P @ mix))
        assert_pinned(res.policies[t + 1], pi, err_msg=f"step {t}")


# ------------------------------------------------------------------------------ reward models


L2S = st.sampled_from([1e-3, 0.1, 1.0])


@given(learner_runs(), st.sampled_from([0.05, 0.5, 2.0]), L2S, st.booleans(), SEEDS, st.data())
def test_bt_rlhf_is_a_reward_fit_then_kl_mirror_descent(run, beta, l2, sampled, seed, data):
    """Ouyang et al. 2022, Eq. 1 (the reward fit, here with a ridge) then mirror descent on
    E_pi r - beta KL(pi || pi_ref) with step 1/(2 beta) from pi_0 = pi_ref:
    pi_{t+1} ~ pi_t exp((r - beta log(pi_t / pi_ref)) / (2 beta))."""
    P, ref, T = run
    K = P.shape[0]
    mu = data.draw(distributions(K))
    n = data.draw(st.integers(1, 12))
    res = games.bt_rlhf(P, T, beta, mu=mu, pi_ref=ref, l2=l2, n_comparisons=n if sampled else None,
                        rng=seed if sampled else None)
    if sampled:
        counts, P_hat = sampled_comparisons(P, mu, n, np.random.default_rng(seed))
        r = bt_reward(counts, P_hat, l2) if counts.any() else np.zeros(K)
    else:
        r = bt_reward(np.outer(mu, mu), P, l2)
    assert_pinned(res.reward, r, scale=1e2)
    pi = ref
    assert_pinned(res.policies[0], pi)
    for t in range(T):
        on = pi > 0
        pi = tilt(pi, (r - beta * np.log(np.where(on, pi / np.where(on, ref, 1.0), 1.0)))
                  / (2 * beta))
        assert_pinned(res.policies[t + 1], pi, scale=1e2, err_msg=f"step {t}")


@given(learner_runs(), st.sampled_from([0.05, 0.5, 2.0]), L2S, st.booleans(), SEEDS, st.data())
def test_iterative_dpo_tilts_the_reference_by_the_refitted_reward(run, beta, l2, sampled, seed,
                                                                   data):
    """Xiong et al. 2024, Alg. 1 with the DPO loss (Rafailov et al. 2023, Eq. 7) on pairs from
    pi_t: a Bradley-Terry likelihood in beta log(pi / pi_ref), so pi_{t+1} = pi_ref e^{r_t/beta}/Z
    with r_t the reward fitted to the comparisons of responses from pi_t (exact pair weights
    pi_t x pi_t, or n sampled comparisons); pi_0 = pi_ref."""
    P, ref, T = run
    K = P.shape[0]
    n = data.draw(st.integers(1, 12))
    res = iterative_dpo(P, T, beta, pi_ref=ref, l2=l2, n_pairs=n if sampled else None,
                        rng=seed if sampled else None)
    gen, pi = np.random.default_rng(seed), ref
    assert_pinned(res.policies[0], pi)
    for t in range(T):
        if sampled:
            counts, P_hat = sampled_comparisons(P, pi, n, gen)
            r = bt_reward(counts, P_hat, l2) if counts.any() else np.zeros(K)
        else:
            r = bt_reward(np.outer(pi, pi), P, l2)
        pi = tilt(ref, r / beta)
        assert_pinned(res.policies[t + 1], pi, scale=1e2, err_msg=f"step {t}")
    assert_pinned(res.reward, r, scale=1e2)


# ------------------------------------------------------------------------------ online DPO


@st.composite
def log_linear_bandits(draw):
    """(reward, features, pi_ref, beta): rewards with ties and near-certain labels (gaps of 40),
    features with zeros and repeated rows, a reference with zeros or None (uniform)."""
    K, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    reward = draw(hnp.arrays(np.float64, (K,), elements=st.sampled_from([0.0, 0.0, 1.0, 40.0])
                             | st.floats(-2.0, 2.0)))
    phi = draw(hnp.arrays(np.float64, (K, d), elements=st.sampled_from([0.0, 1.0, -1.0])
                          | st.floats(-1.0, 1.0)))
    ref = draw(st.none() | distributions(K))
    beta = draw(st.sampled_from([0.1, 0.5, 2.0]))
    return reward, phi, ref, beta


def log_linear_probs(phi, ref, theta):
    """pi_theta(y) = pi_ref(y) exp(theta . phi(y)) / Z."""
    return tilt(np.full(phi.shape[0], 1.0 / phi.shape[0]) if ref is None else ref, phi @ theta)


def pilaf_parts(pi, ref, beta, weight):
    """Feng et al. 2025, Sec. 4: pi^+- ~ pi (pi / pi_ref)^(+-beta) on the support of pi, and the
    T-PILAF weight 1 / (1 + Z^+ Z^-) of an on-policy pair (or the given weight)."""
    on = pi > 0
    ratio = np.where(on, pi / np.where(on, ref, 1.0), 1.0)
    plus = np.where(on, pi * ratio**beta, 0.0)
    minus = np.where(on, pi * ratio ** (-beta), 0.0)
    w = 1.0 / (1.0 + plus.sum() * minus.sum()) if weight is None else weight
    return plus / plus.sum(), minus / minus.sum(), w


@given(log_linear_bandits(), st.integers(1, 2), st.integers(1, 3), st.integers(1, 6),
       st.sampled_from([0.1, 0.5, 2.0]), st.sampled_from(["on-policy", "pilaf"]),
       st.sampled_from([None, 0.0, 0.5]), SEEDS)
def test_online_dpo_takes_dpo_steps_on_pairs_from_the_current_policy(
        bandit, n_rounds, steps, n, lr, sampler, weight, seed):
    """Online DPO (Shi et al. 2025, Sec. 3; Rafailov et al. 2023, Eq. 7): per round, n pairs drawn
    from pi_{theta_t} (on-policy: n first responses, then n second ones; PILAF: n uniforms for
    the on-policy choice, then first responses from pi and from pi^+, second ones from pi and from
    pi^-), labelled by n uniforms against sigma(r(y) - r(y')), then gradient steps
    theta <- theta - lr grad, grad = -(beta / n) sum_k sigma(-beta theta . dphi_k) dphi_k,
    dphi_k = phi(winner_k) - phi(loser_k)."""
    reward, phi, ref, beta = bandit
    res = online_dpo(reward, phi, ref, beta, n_rounds=n_rounds, pairs_per_round=n,
                     steps_per_round=steps, lr=lr, rng=seed, sampler=sampler,
                     pilaf_weight=weight)
    K = phi.shape[0]
    gen, theta = np.random.default_rng(seed), np.zeros(phi.shape[1])
    for t in range(n_rounds):
        pi = log_linear_probs(phi, ref, theta)
        if sampler == "on-policy":
            a = gen.choice(K, size=n, p=pi)
            b = gen.choice(K, size=n, p=pi)
        else:
            ref_ = np.full(K, 1.0 / K) if ref is None else ref
            plus, minus, w = pilaf_parts(pi, ref_, beta, weight)
            on_policy = gen.random(n) < w
            a = np.where(on_policy, gen.choice(K, size=n, p=pi), gen.choice(K, size=n, p=plus))
            b = np.where(on_policy, gen.choice(K, size=n, p=pi), gen.choice(K, size=n, p=minus))
        first_wins = gen.random(n) < expit(reward[a] - reward[b])
        dphi = np.array([phi[y] - phi[z] if f else phi[z] - phi[y]
                         for y, z, f in zip(a, b, first_wins)])
        for _ in range(steps):
            grad = -(beta / n) * (expit(-beta * (dphi @ theta)) @ dphi)
            theta = theta - lr * grad
        assert_pinned(res.thetas[t + 1], theta, err_msg=f"round {t}")
    assert_pinned(res.policy, log_linear_probs(phi, ref, theta))


@given(log_linear_bandits(), st.integers(1, 2), st.integers(1, 3),
       st.sampled_from([0.1, 0.5, 2.0]), st.sampled_from(["on-policy", "pilaf"]),
       st.sampled_from([None, 0.0, 0.5]), st.booleans())
def test_online_dpo_expected_takes_steps_on_the_population_loss(
        bandit, n_rounds, steps, lr, sampler, weight, start):
    """The mean-field limit: per round the pair law mu_t (pi x pi, or PILAF's
    w pi x pi + (1 - w) pi^+ x pi^-; Feng et al. 2025) is frozen and
    theta <- theta - lr grad L, grad L = -beta sum_{y,y'} mu(y, y') (sigma(r(y) - r(y')) -
    sigma(beta theta . (phi(y) - phi(y')))) (phi(y) - phi(y')) (Rafailov et al. 2023, Eq. 7 in
    expectation over the labels)."""
    reward, phi, ref, beta = bandit
    K, d = phi.shape
    theta = np.linspace(-1.0, 1.0, d) if start else np.zeros(d)
    res = online_dpo_expected(reward, phi, ref, beta, sampler=sampler, n_rounds=n_rounds,
                              steps_per_round=steps, lr=lr, pilaf_weight=weight,
                              init=theta if start else None)
    ref_ = np.full(K, 1.0 / K) if ref is None else ref
    for t in range(n_rounds):
        pi = log_linear_probs(phi, ref, theta)
        if sampler == "on-policy":
            mu = np.outer(pi, pi)
        else:
            plus, minus, w = pilaf_parts(pi, ref_, beta, weight)
            mu = w * np.outer(pi, pi) + (1 - w) * np.outer(plus, minus)
        for _ in range(steps):
            grad = np.zeros(d)
            for y, z in itertools.product(range(K), repeat=2):
                dphi = phi[y] - phi[z]
                grad -= beta * mu[y, z] * (expit(reward[y] - reward[z])
                                           - expit(beta * theta @ dphi)) * dphi
            theta = theta - lr * grad
        assert_pinned(res.thetas[t + 1], theta, err_msg=f"round {t}")


# ------------------------------------------------------------------------------ eva


@st.composite
def contextual_bandits(draw):
    """(rewards, pi_ref): rewards with ties, a reference with zeros and deterministic rows."""
    X, K = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rewards = draw(hnp.arrays(np.float64, (X, K), elements=st.sampled_from([0.0, 1.0, -1.0])
                              | st.floats(-3.0, 3.0)))
    ref = np.array([draw(distributions(K)) for _ in range(X)])
    return rewards, ref


def softmax_rows(theta):
    """pi(y|x) = exp(theta[x, y]) / sum_y' exp(theta[x, y']), with exp(-inf) = 0."""
    live = np.isfinite(theta)
    return np.array([tilt(live[x].astype(float), np.where(live[x], theta[x], 0.0))
                     for x in range(theta.shape[0])])


def proxy(kind, r_sampled, r_all):
    """eva's informativeness of one context from the rewards of its sampled responses."""
    if kind == "max-min":
        return r_sampled.max() - r_sampled.min()
    if kind == "max-mean":
        return r_sampled.max() - r_sampled.mean()
    return r_all.max() - r_sampled.mean()


EVA_RUNS = [(creator, kind, exact) for kind in ("max-min", "max-mean", "regret")
            for creator, exact in (("informativeness", True), ("informativeness", False))]
EVA_RUNS.append(("uniform", "max-min", False))


@given(contextual_bandits(), st.integers(1, 3), st.integers(1, 2), st.integers(1, 2),
       st.sampled_from([0.05, 1.0]), st.sampled_from([0.3, 1.0, 3.0]),
       st.sampled_from([0.0, 0.25, 1.0]), st.sampled_from([0.5, 2.0]), SEEDS)
def test_eva_creator_reweights_and_solver_ascends(bandit, n, n_rounds, steps, beta, temperature,
                                                   buffer_mix, lr, seed):
    """Ye et al. 2024, Alg. 1 and Sec. 3 as documented by :func:`prefrl.curriculum.eva`: per round
    the informativeness iota(x) of the solver pi_t (n responses drawn by inverse CDF from an
    (X, n) array of uniforms, or the expectation over all K^n tuples), the creator's
    q = (1 - lambda) iota^(1/T) / sum iota^(1/T) + lambda / X (uniform when iota = 0, or
    creator="uniform"), then gradient-ascent steps on the logits from theta_0 = log pi_ref of
    J_q(theta) = sum_x q(x) [E_pi r(x, .) - beta KL(pi(.|x) || pi_ref(.|x))], whose gradient is
    the softmax Jacobian diag(pi) - pi pi^T times dJ/dpi = r - beta (log(pi / pi_ref) + 1).
    Every proxy, sampled and exact, and the uniform creator, on each drawn instance."""
    for creator, kind, exact in EVA_RUNS:
        check_eva_run(bandit, creator, kind, exact, n, n_rounds, steps, beta, temperature,
                      buffer_mix, lr, seed)


def check_eva_run(bandit, creator, kind, exact, n, n_rounds, steps, beta, temperature,
                  buffer_mix, lr, seed):
    rewards, ref = bandit
    res = eva(rewards, ref, beta, n_rounds=n_rounds, creator=creator, kind=kind,
              temperature=temperature, n_solver_steps=steps, lr=lr, n_samples=n,
              buffer_mix=buffer_mix, exact=exact, rng=seed)
    X, K = rewards.shape
    gen = np.random.default_rng(seed)
    on = ref > 0
    theta = np.where(on, np.log(np.where(on, ref, 1.0)), -np.inf)
    for t in range(n_rounds):
        pi = softmax_rows(theta)
        assert_pinned(res.policies[t], pi, err_msg=f"{creator} {kind} exact={exact} round {t}")
        if creator == "uniform":
            q = np.full(X, 1.0 / X)
        else:
            iota = np.zeros(X)
            if exact:
                for x in range(X):
                    for ys in itertools.product(range(K), repeat=n):
                        p = np.prod(pi[x, list(ys)])
                        if p > 0:
                            iota[x] += p * proxy(kind, rewards[x, list(ys)], rewards[x])
            else:
                u = gen.random((X, n))
                for x in range(X):
                    cdf = np.cumsum(pi[x]) / np.sum(pi[x])
                    ys = [int(np.sum(cdf <= u[x, i])) for i in range(n)]
                    iota[x] = proxy(kind, rewards[x, ys], rewards[x])
            scale = 1 + np.max(np.abs(rewards))
            np.testing.assert_allclose(res.informativeness[t], iota, rtol=0,
                                       atol=1e-12 * scale, err_msg=f"{creator} {kind} exact={exact} round {t}")
            iota = res.informativeness[t]  # the tilt below is sensitive to iota's rounding
            if np.all(iota == 0):
                q = np.full(X, 1.0 / X)
            else:
                tempered = (iota / iota.max()) ** (1.0 / temperature)  # iota^(1/T), scaled
                q = (1 - buffer_mix) * tempered / tempered.sum() + buffer_mix / X
        assert_pinned(res.weights[t], q, err_msg=f"{creator} {kind} exact={exact} round {t}")
        for _ in range(steps):
            pi = softmax_rows(theta)
            live = pi > 0
            dJ = np.where(live, rewards - beta * (np.log(np.where(live, pi, 1.0))
                                                  - np.log(np.where(live, ref, 1.0)) + 1), 0.0)
            grad = np.array([q[x] * (np.diag(pi[x]) - np.outer(pi[x], pi[x])) @ dJ[x]
                             for x in range(X)])
            theta = theta + lr * grad
    assert_pinned(res.policy, softmax_rows(theta))
