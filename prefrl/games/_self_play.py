r"""Self-play learners on a preference bandit: SPO, SPPO, REBEL and Nash-MD.

Each is :func:`~prefrl.games._loop.run_self_play` with its own update of :math:`\pi_t`, driven by
the win rates :math:`r_t = P\pi_t`:

- :func:`spo`: Swamy et al. (2024), "A Minimaximalist Approach to Reinforcement Learning from
  Human Feedback", Alg. 1 and Sec. 3: Hedge, :math:`\pi_{t+1} \propto \pi_t e^{\eta r_t}`, exact
  or sampled win rates; the average's exploitability is Reg(T)/T.
- :func:`sppo`: Wu et al. (2025), "Self-Play Preference Optimization for Language Model
  Alignment", Eq. 4.4-4.5: the square-loss regression onto :math:`\eta(r_t - 1/2)`, solved
  exactly over tabular policies (the same step), with exact or sampled win rates.
- :func:`rebel`: Gao et al. (2024), "REBEL: Reinforcement Learning via Regressing Relative
  Rewards", Eq. 1: the least-squares regression of log-ratio differences onto win-rate
  differences (a graph-Laplacian system), with exact or sampled pair weights.
- :func:`nash_md`: Munos et al. (2024), "Nash Learning from Human Feedback", Sec. 5 and Thm. 1:
  mirror descent against the geometric mixture with the reference; last-iterate convergence to
  the KL-regularised equilibrium :func:`~prefrl.games.regularized_nash`.

DNO is in :mod:`prefrl.games._dno`; the reward-model baselines (BT-RLHF, iterative DPO) in
:mod:`prefrl.games._reward_models`. ``eta`` is always a step that multiplies the win rate.
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import (
    as_rng,
    check_distribution,
    check_integer,
    check_positive,
    check_preference_matrix,
)
from ._loop import (
    check_learner_args,
    default_step,
    laplacian_regression,
    mix_log,
    normalize_log,
    run_self_play,
    safe_log,
    win_rate_oracle,
)
from ._results import SelfPlayResult

__all__ = ["nash_md", "rebel", "spo", "sppo"]


def spo(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    feedback: str = "exact",
    n_samples: int = 1,
    rng=None,
) -> SelfPlayResult:
    r"""Self-Play Preference Optimisation (SPO) with Hedge, on a preference bandit.

    .. math::
        r_t(y) = P(y \succ \pi_t) = (P\pi_t)_y, \qquad
        \pi_{t+1}(y) = \frac{\pi_t(y)\, e^{\eta\, r_t(y)}}{\sum_{y'} \pi_t(y')\, e^{\eta\, r_t(y')}},
        \qquad \bar\pi_T = \frac1T\sum_{t=1}^T \pi_t,

    one no-regret learner (Hedge / multiplicative weights) playing against its own iterates
    (Swamy et al. 2024, "A Minimaximalist Approach to RLHF", Alg. 1 and Sec. 3). Since the game is
    symmetric, :math:`\mathrm{expl}(\bar\pi_T) = \mathrm{Reg}(T)/T`; Hedge's regret for gains in
    [0, 1] is at most :math:`\log K/\eta + \eta T/8`, i.e. :math:`\sqrt{T \log K / 2}` with the
    default :math:`\eta = \sqrt{8 \log K / T}` and a uniform start. The last iterate need not
    converge (it cycles on rock-paper-scissors).

    Parameters
    ----------
    P : array, shape (K, K)
        Preference matrix.
    n_steps : int >= 1
        Number of rounds ``T``.
    eta : float > 0, optional
        Step size (multiplies the win rate); default :math:`\sqrt{8\log K/T}`.
    init : array, shape (K,), optional
        :math:`\pi_1`; uniform by default.
    feedback : {"exact", "sampled"}
        ``"exact"``: the expected win rates :math:`P\pi_t`. ``"sampled"``: each response is
        compared with ``n_samples`` opponents drawn from :math:`\pi_t`, and the fraction of wins (a
        Bernoulli draw per comparison) is the unbiased gain. Regret is always measured with the
        exact win rates.
    n_samples : int >= 1
        Comparisons per response and round (``"sampled"`` only).
    rng : numpy Generator or int seed
        Required for ``"sampled"``.

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.preferences import rock_paper_scissors
    >>> res = spo(rock_paper_scissors(), 2000, init=[0.6, 0.3, 0.1])
    >>> res.average_policy.round(2), bool(res.exploitability[-1] <= np.sqrt(np.log(3) / 4000))
    (array([0.33, 0.34, 0.33]), True)
    """
    P, K, T, pi0 = check_learner_args(P, n_steps, init)
    eta = default_step(K, T) if eta is None else check_positive(eta, "eta")
    if feedback not in ("exact", "sampled"):
        raise ValueError(f"feedback must be 'exact' or 'sampled', got {feedback!r}")
    if feedback == "sampled":
        n_samples = check_integer(n_samples, "n_samples", minimum=1)
        rng = as_rng(rng)
    win_rates = win_rate_oracle(P, n_samples if feedback == "sampled" else None, rng)

    def hedge(t, log_pi, pi):
        return normalize_log(log_pi + eta * win_rates(pi))

    return run_self_play(P, safe_log(pi0), T, hedge, f"spo[{feedback}]")


def sppo(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    n_samples: int | None = None,
    rng=None,
) -> SelfPlayResult:
    r"""Self-Play Preference Optimization (SPPO) on a preference bandit, solved exactly.

    .. math::
        \pi_{t+1} = \arg\min_{\pi} \; \mathbb{E}_{y \sim \pi_t}\Big[\Big(\log\frac{\pi(y)}{\pi_t(y)}
        - \eta\big(\hat P(y \succ \pi_t) - \tfrac12\big) + \log \frac{Z_t}{e^{\eta/2}} \Big)^2\Big]
        \;\Longrightarrow\;
        \pi_{t+1}(y) = \frac{\pi_t(y)\, e^{\eta \hat P(y \succ \pi_t)}}{Z_t},

    Wu et al. (2025, "Self-Play Preference Optimization for Language Model Alignment", Eq. 4.4 and
    the square loss of Eq. 4.5): with the exact log-partition :math:`\log Z_t` the regression's
    minimiser over tabular policies is the multiplicative-weights step (the paper approximates
    :math:`\log Z_t \approx \eta/2`, exact at :math:`\eta \to 0` since
    :math:`\mathbb{E}_{\pi_t}P(y\succ\pi_t) = 1/2`). With ``n_samples`` the win rate
    :math:`\hat P(y \succ \pi_t)` is estimated from that many sampled comparisons per response, as
    the paper estimates it from a small batch (K = 5) scored by a preference model.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    eta : float > 0, optional
        Step size; default :math:`\sqrt{8\log K/T}`.
    init : array, shape (K,), optional
    n_samples : int, optional
        ``None`` for exact win rates.
    rng : numpy Generator or int seed
        Required with ``n_samples``.

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> P = [[0.5, 0.7], [0.3, 0.5]]
    >>> sppo(P, 20, eta=1.0).last_policy.round(3)
    array([0.982, 0.018])
    """
    P, K, T, pi0 = check_learner_args(P, n_steps, init)
    eta = default_step(K, T) if eta is None else check_positive(eta, "eta")
    if n_samples is not None:
        n_samples = check_integer(n_samples, "n_samples", minimum=1)
        rng = as_rng(rng)
    win_rates = win_rate_oracle(P, n_samples, rng)

    def regression_step(t, log_pi, pi):
        # The regression target log pi_t + eta (r - 1/2); subtracting the exact log-partition
        # (rather than eta/2) makes it a distribution.
        return normalize_log(log_pi + eta * (win_rates(pi) - 0.5))

    method = "sppo" if n_samples is None else "sppo[sampled]"
    return run_self_play(P, safe_log(pi0), T, regression_step, method)


def rebel(
    P,
    n_steps: int,
    *,
    eta: float | None = None,
    init=None,
    n_pairs: int | None = None,
    rng=None,
) -> SelfPlayResult:
    r"""REBEL on a preference bandit: regress log-ratio differences onto win-rate differences.

    .. math::
        \pi_{t+1} = \arg\min_\pi \sum_{y, y'} w_t(y, y')
        \Big(\tfrac1\eta\Big[\log\tfrac{\pi(y)}{\pi_t(y)} - \log\tfrac{\pi(y')}{\pi_t(y')}\Big]
        - \big[r_t(y) - r_t(y')\big]\Big)^2,
        \qquad r_t(y) = P(y \succ \pi_t),

    Gao et al. (2024, "REBEL: Reinforcement Learning via Regressing Relative Rewards", Algorithm 1,
    the loss :func:`prefrl.losses.rebel`, with
    the win rate against the current policy as the reward, their extension to general
    preferences). Pairs are weighted by :math:`w_t = \pi_t \otimes \pi_t` (``n_pairs=None``) or by
    the counts of ``n_pairs`` pairs sampled from it. Over tabular policies the regression is a
    weighted graph-Laplacian least-squares problem; when the pairs connect all responses its
    solution is exactly the mirror-descent step :math:`\pi_{t+1} \propto \pi_t e^{\eta r_t}`
    (the partition function cancels in differences), i.e. REBEL here *is* Hedge self-play.
    With sampled pairs, responses never sampled keep their log-ratio at zero, and the constant of
    the sampled responses is fixed as in :func:`dno`.

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    eta : float > 0, optional
        Step size; default :math:`\sqrt{8\log K/T}`.
    init : array, shape (K,), optional
    n_pairs : int, optional
        ``None``: exact pair weights. Otherwise the number of pairs sampled per step.
    rng : numpy Generator or int seed

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> P = [[0.5, 0.9, 0.2], [0.1, 0.5, 0.6], [0.8, 0.4, 0.5]]
    >>> a = rebel(P, 5, eta=0.5).policies
    >>> b = spo(P, 5, eta=0.5).policies
    >>> bool(np.allclose(a, b, atol=1e-12))
    True
    """
    P, K, T, pi0 = check_learner_args(P, n_steps, init)
    eta = default_step(K, T) if eta is None else check_positive(eta, "eta")
    if n_pairs is not None:
        n_pairs = check_integer(n_pairs, "n_pairs", minimum=1)
        rng = as_rng(rng)

    def regression_step(t, log_pi, pi):
        r = P @ pi
        if n_pairs is None:
            W = np.outer(pi, pi)
        else:
            a = rng.choice(K, size=n_pairs, p=pi)
            b = rng.choice(K, size=n_pairs, p=pi)
            W = np.zeros((K, K))
            np.add.at(W, (a, b), 1.0)
        W = W + W.T
        np.fill_diagonal(W, 0.0)
        return normalize_log(log_pi + laplacian_regression(W, eta * r, pi, eta / 2))

    method = "rebel" if n_pairs is None else "rebel[sampled]"
    return run_self_play(P, safe_log(pi0), T, regression_step, method)


@renamed_parameters(mu="pi_ref", step="eta")
def nash_md(
    P,
    n_steps: int,
    beta: float,
    *,
    pi_ref=None,
    init=None,
    eta: float | None = None,
) -> SelfPlayResult:
    r"""Nash mirror descent (Nash-MD) on a preference bandit: last-iterate convergence to the regularised equilibrium.

    .. math::
        \pi_t^\mu(y) \propto \pi_t(y)^{1-\eta_t\beta}\, \pi_{ref}(y)^{\eta_t\beta}, \qquad
        \pi_{t+1}(y) \propto \pi_t^\mu(y)\, e^{\eta_t P(y \succ \pi_t^\mu)}, \qquad
        \eta_t = \frac{2}{\beta(t+2)},

    Munos et al. (2024, "Nash Learning from Human Feedback", Sec. 5, tabular Nash-MD; their
    reference :math:`\mu` is ``pi_ref``), with :math:`t = 0, 1, \dots` and :math:`\pi_0` =
    ``init``. With the default decreasing step the last iterate satisfies
    :math:`\mathrm{KL}(\pi^*_\beta \| \pi_T) \le 8/(\beta^2 (T+1))` for :math:`T \ge 1`, where
    :math:`\pi^*_\beta` is :func:`~prefrl.games.regularized_nash` (our reading of their Thm. 1,
    from the one-step inequality :math:`\mathrm{KL}_{t+1} \le (1-\eta_t\beta)\mathrm{KL}_t +
    2\eta_t^2`; the proof was not checked, the bound is checked numerically by ``prefrl check``).

    Parameters
    ----------
    P : array, shape (K, K)
    n_steps : int >= 1
    beta : float > 0
        KL weight (the paper's :math:`\tau`).
    pi_ref : array, shape (K,), optional
        Reference policy (uniform by default; the keyword ``mu`` is deprecated).
    init : array, shape (K,), optional
        :math:`\pi_0` (``pi_ref`` by default).
    eta : float, optional
        A constant step :math:`\eta` with :math:`\eta\beta \le 1`; default the decreasing
        :math:`2/(\beta(t+2))` (the keyword ``step`` is deprecated).

    Returns
    -------
    SelfPlayResult

    Examples
    --------
    >>> from prefrl.games import regularized_nash
    >>> from prefrl.policies import kl
    >>> from prefrl.preferences import rock_paper_scissors
    >>> P, mu = rock_paper_scissors(), np.array([0.6, 0.3, 0.1])
    >>> res = nash_md(P, 1000, beta=0.5, pi_ref=mu)
    >>> star = regularized_nash(P, mu, 0.5).policy
    >>> bool(kl(star, res.last_policy) <= 8 / (0.5**2 * 1001))
    True
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    T = check_integer(n_steps, "n_steps", minimum=1)
    beta = check_positive(beta, "beta")
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    pi0 = ref if init is None else check_distribution(init, "init", size=K)
    if eta is not None:
        eta = check_positive(eta, "eta")
        if eta * beta > 1.0:
            raise ValueError(f"eta * beta must be <= 1, got {eta * beta}")
    if eta is not None and eta * beta < 1.0 and not np.any((pi0 > 0) & (ref > 0)):
        raise ValueError("init and pi_ref have disjoint supports, so their geometric mixture "
                         "(eta * beta < 1) is undefined; give init mass where pi_ref has some")
    log_ref = safe_log(ref)

    def mirror_descent_step(t, log_pi, pi):
        eta_t = 2.0 / (beta * (t + 2)) if eta is None else eta
        # eta_t * beta, exactly 1 at t = 0 with the default step (the mixture is then pi_ref)
        w = 2.0 / (t + 2) if eta is None else min(eta * beta, 1.0)
        mix = normalize_log(mix_log(1.0 - w, log_pi, w, log_ref))
        return normalize_log(mix + eta_t * (P @ np.exp(mix)))

    return run_self_play(P, safe_log(pi0), T, mirror_descent_step, "nash_md")
