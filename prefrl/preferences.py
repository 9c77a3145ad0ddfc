r"""Preference matrices and preference models.

A preference matrix over ``K`` items is an array ``P`` of shape ``(K, K)`` with ``P[i, j]`` the
probability that item ``i`` is preferred to item ``j``; it satisfies ``P + P.T == 1`` and has 1/2 on
its diagonal (:func:`prefrl._validation.check_preference_matrix`).

- models: :func:`bradley_terry` (Bradley and Terry 1952), :func:`thurstone` (Thurstone 1927,
  Case V), :func:`mixture_of_bradley_terry` (a mixture of raters; Swamy et al. 2024, Sec. 2);
- intransitive instances: :func:`rock_paper_scissors`, :func:`random_tournament`,
  :func:`random_preference_matrix`;
- social-choice summaries: :func:`win_rates` (Azar et al. 2024, Eq. 8), :func:`condorcet_winner`,
  :func:`copeland_scores` (Copeland 1951), :func:`borda_scores` (Borda 1781);
- data: :func:`sample_comparisons` (the data-generating process of Azar et al. 2024, Sec. 3),
  :class:`Comparisons`, :func:`empirical_preferences`;
- rankings: :func:`plackett_luce_sample`, :func:`plackett_luce_log_likelihood` (Plackett 1975;
  Luce 1959; Rafailov et al. 2023, Eq. 18).

The fits of Bradley-Terry rewards to such data are in :mod:`prefrl.bradley_terry`. Every sampler
takes ``rng`` (a numpy Generator or an int seed), required.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from ._deprecation import renamed_parameters
from ._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_integer,
    check_nonnegative,
    check_positive,
    check_preference_matrix,
    check_probability,
)
from .bradley_terry import comparison_counts

__all__ = [
    "Comparisons",
    "borda_scores",
    "bradley_terry",
    "condorcet_winner",
    "copeland_scores",
    "empirical_preferences",
    "mixture_of_bradley_terry",
    "plackett_luce_log_likelihood",
    "plackett_luce_sample",
    "random_preference_matrix",
    "random_tournament",
    "rock_paper_scissors",
    "sample_comparisons",
    "thurstone",
    "win_rates",
]


def _check_rewards(rewards, name: str = "rewards") -> np.ndarray:
    return check_array(rewards, name, ndim=1)


def bradley_terry(rewards, temperature: float = 1.0) -> np.ndarray:
    r"""Bradley-Terry preference matrix :math:`P[i, j] = \sigma\big((r_i - r_j)/T\big)`.

    Bradley and Terry (1952); the preference model behind RLHF reward modelling and DPO
    (Rafailov et al. 2023, Eq. 1). ``temperature = 0`` gives the deterministic limit: 1 where
    :math:`r_i > r_j`, 0 where :math:`r_i < r_j`, and 1/2 on ties.

    Parameters
    ----------
    rewards : array, shape (K,)
        Item scores :math:`r`.
    temperature : float >= 0
        Scale :math:`T` of the logistic noise.

    Returns
    -------
    P : array, shape (K, K)

    Examples
    --------
    >>> bradley_terry([1.0, 0.0]).round(4)
    array([[0.5   , 0.7311],
           [0.2689, 0.5   ]])
    >>> bradley_terry([1.0, 0.0, 1.0], temperature=0)
    array([[0.5, 1. , 0.5],
           [0. , 0.5, 0. ],
           [0.5, 1. , 0.5]])
    """
    r = _check_rewards(rewards)
    temperature = check_nonnegative(temperature, "temperature")
    diff = r[:, None] - r[None, :]
    if temperature == 0:
        return 0.5 * (1.0 + np.sign(diff))
    return expit(diff / temperature)


def thurstone(rewards, noise: float = 1.0) -> np.ndarray:
    r"""Thurstone (Case V) preference matrix :math:`P[i, j] = \Phi\big((r_i - r_j) / (\sqrt{2}\,\sigma)\big)`.

    Thurstone (1927): each item's utility is :math:`r_i + \sigma \varepsilon_i` with independent
    standard normal noise; :math:`\Phi` is the standard normal CDF.

    Parameters
    ----------
    rewards : array, shape (K,)
    noise : float > 0
        Standard deviation :math:`\sigma` of each item's utility noise.

    Examples
    --------
    >>> thurstone([1.0, 0.0], noise=1.0).round(4)
    array([[0.5   , 0.7602],
           [0.2398, 0.5   ]])
    """
    r = _check_rewards(rewards)
    noise = check_positive(noise, "noise")
    diff = r[:, None] - r[None, :]
    return norm.cdf(diff / (np.sqrt(2.0) * noise))


def mixture_of_bradley_terry(rewards, weights=None, temperature: float = 1.0) -> np.ndarray:
    r"""Preferences aggregated over several Bradley-Terry raters, :math:`P = \sum_m w_m P^{BT}(r^{(m)})`.

    A mixture of transitive raters can be intransitive (a Condorcet cycle), the motivating example of
    the SPO paper (Swamy et al. 2024, Sec. 2) for preferences that no single reward explains.

    Parameters
    ----------
    rewards : array, shape (M, K)
        Row ``m`` is rater ``m``'s reward.
    weights : array, shape (M,), optional
        Mixture weights (a distribution); uniform by default.
    temperature : float >= 0

    Examples
    --------
    >>> R = np.array([[3., 2., 1.], [1., 3., 2.], [2., 1., 3.]])
    >>> P = mixture_of_bradley_terry(R, temperature=0)
    >>> P.round(3)
    array([[0.5  , 0.667, 0.333],
           [0.333, 0.5  , 0.667],
           [0.667, 0.333, 0.5  ]])
    >>> condorcet_winner(P) is None
    True
    """
    R = check_array(rewards, "rewards", ndim=2)
    M = R.shape[0]
    w = np.full(M, 1.0 / M) if weights is None else check_distribution(weights, "weights", size=M)
    return sum(w[m] * bradley_terry(R[m], temperature) for m in range(M))


def rock_paper_scissors(n: int = 3, margin: float = 0.5) -> np.ndarray:
    r"""The cyclic (generalised rock-paper-scissors) preference matrix over an odd number of items.

    Item ``i`` beats the :math:`(n-1)/2` items that follow it cyclically,
    :math:`P[i, j] = 1/2 + m` when :math:`(j - i) \bmod n \in \{1, \dots, (n-1)/2\}`, and
    :math:`1/2 - m` for the others. Every item beats exactly as many as it loses to, so the unique
    minimax winner is uniform and there is no Condorcet winner.

    With :math:`n = 3` item 0 beats item 1: read the items as (scissors, paper, rock), or take the
    transpose for the labelling (rock, paper, scissors) in which paper beats rock. The labelling
    does not matter for the minimax winner, but it does for a non-uniform reference policy (e.g.
    a KL-regularised equilibrium with :math:`\mu = (0.6, 0.3, 0.1)`).

    Parameters
    ----------
    n : int, odd, >= 3
    margin : float in (0, 1/2]
        :math:`m`; 1/2 gives deterministic preferences.

    Examples
    --------
    >>> rock_paper_scissors()
    array([[0.5, 1. , 0. ],
           [0. , 0.5, 1. ],
           [1. , 0. , 0.5]])
    """
    n = check_integer(n, "n", minimum=3)
    if n % 2 == 0:
        raise ValueError(f"n must be odd for a balanced cycle, got {n}")
    margin = check_probability(margin, "margin")
    if not 0 < margin <= 0.5:
        raise ValueError(f"margin must be in (0, 0.5], got {margin}")
    d = (np.arange(n)[None, :] - np.arange(n)[:, None]) % n
    P = np.where(d == 0, 0.5, np.where(d <= (n - 1) // 2, 0.5 + margin, 0.5 - margin))
    return P


def random_tournament(n: int, rng) -> np.ndarray:
    r"""A uniformly random tournament: deterministic preferences, each pair oriented by a fair coin.

    ``P[i, j]`` is 0 or 1 off the diagonal. Random tournaments are intransitive with high
    probability; their minimax winners (Fisher and Ryan 1995) are the "bipartisan set".

    Parameters
    ----------
    n : int >= 1
        The number of items.
    rng : numpy Generator or int seed
        Required (the function always samples).

    Examples
    --------
    >>> P = random_tournament(4, rng=0)
    >>> bool(np.all((P == 0) | (P == 1) | (P == 0.5)))
    True
    """
    n = check_integer(n, "n", minimum=1)
    rng = as_rng(rng)
    upper = (rng.random((n, n)) < 0.5).astype(float)
    P = np.triu(upper, 1)
    P = P + np.tril(1.0 - P.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


def random_preference_matrix(n: int, rng, *, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    r"""A random (generally intransitive) preference matrix with ``P[i, j]`` uniform on ``[low, high]`` for ``i < j``.

    The lower triangle is ``1 - P.T``; ``low = 1 - high`` keeps the distribution symmetric.

    Examples
    --------
    >>> P = random_preference_matrix(3, rng=1)
    >>> np.allclose(P + P.T, 1)
    True
    """
    n = check_integer(n, "n", minimum=1)
    rng = as_rng(rng)
    low = check_probability(low, "low")
    high = check_probability(high, "high")
    if low > high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    U = rng.uniform(low, high, size=(n, n))
    P = np.triu(U, 1)
    P = P + np.tril(1.0 - P.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


def win_rates(P, mu) -> np.ndarray:
    r"""Win rate of each item against a distribution: :math:`p(y \succ \mu) = \sum_{y'} P[y, y']\, \mu(y')`.

    The quantity IPO regularises towards (Azar et al. 2024, Eq. 8); against the uniform
    distribution it is the Borda score divided by ``K``.

    Parameters
    ----------
    P : array, shape (K, K)
    mu : array, shape (K,)

    Examples
    --------
    >>> win_rates([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5])
    array([0.75, 0.25])
    """
    P = check_preference_matrix(P)
    mu = check_distribution(mu, "mu", size=P.shape[0])
    return P @ mu


def condorcet_winner(P) -> int | None:
    r"""The Condorcet winner: the item ``i`` with :math:`P[i, j] > 1/2` for every ``j != i``, or ``None``.

    When it exists it is unique, and it is the point-mass minimax winner (Dudik et al. 2015). Under
    Bradley-Terry preferences it is the unique argmax of the reward, and none exists when the
    argmax is tied.

    Examples
    --------
    >>> condorcet_winner([[0.5, 0.6], [0.4, 0.5]])
    0
    >>> condorcet_winner(rock_paper_scissors()) is None
    True
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    beats = P > 0.5
    np.fill_diagonal(beats, True)
    winners = np.flatnonzero(beats.all(axis=1))
    if K == 1:
        return 0
    return int(winners[0]) if winners.size else None


def copeland_scores(P) -> np.ndarray:
    r"""Copeland scores: pairwise majority wins plus half the ties, :math:`\sum_{j \ne i} \big(1[P_{ij} > 1/2] + \tfrac12 1[P_{ij} = 1/2]\big)`.

    Copeland (1951). A Condorcet winner has the maximal score ``K - 1``.

    Examples
    --------
    >>> copeland_scores([[0.5, 0.6, 0.5], [0.4, 0.5, 0.9], [0.5, 0.1, 0.5]])
    array([1.5, 1. , 0.5])
    """
    P = check_preference_matrix(P)
    wins = (P > 0.5).astype(float) + 0.5 * (P == 0.5)
    return wins.sum(axis=1) - 0.5  # remove the diagonal's 1/2


def borda_scores(P) -> np.ndarray:
    r"""Borda scores, the expected number of wins against the other items: :math:`\sum_{j \ne i} P[i, j]`.

    Borda (1781), in its probabilistic form. Equal to ``K * win_rates(P, uniform) - 1/2``.

    Examples
    --------
    >>> borda_scores([[0.5, 0.6], [0.4, 0.5]])
    array([0.6, 0.4])
    """
    P = check_preference_matrix(P)
    return P.sum(axis=1) - 0.5


class Comparisons(NamedTuple):
    """A dataset of pairwise comparisons: ``winners[k]`` was preferred to ``losers[k]``.

    Unpacks as ``winners, losers = data``.
    """

    winners: np.ndarray
    losers: np.ndarray


@renamed_parameters(n="n_samples")
def sample_comparisons(P, mu, n_samples: int, rng, *, distinct: bool = False) -> Comparisons:
    r"""Sample ``n_samples`` labelled comparisons: :math:`y, y' \sim \mu` independently, then :math:`y` wins with probability :math:`P[y, y']`.

    The data-generating process of the IPO paper (Azar et al. 2024, Sec. 3): pairs from the
    behaviour policy :math:`\mu`, labels from :math:`p^*`. With ``distinct=True`` the second item is
    drawn from :math:`\mu` conditioned on differing from the first (pairs of equal items carry no
    information and are 50/50 coin flips otherwise).

    Parameters
    ----------
    P : array, shape (K, K)
    mu : array, shape (K,)
    n_samples : int >= 0
        The number of comparisons (``n`` is its deprecated name).
    rng : numpy Generator or int seed
        Required (the function always samples).
    distinct : bool

    Returns
    -------
    Comparisons
        ``(winners, losers)``, two int64 arrays of shape (n_samples,).

    Examples
    --------
    >>> w, l = sample_comparisons([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], 5, rng=0, distinct=True)
    >>> w.tolist(), l.tolist()
    ([0, 0, 0, 0, 0], [1, 1, 1, 1, 1])
    """
    P = check_preference_matrix(P)
    K = P.shape[0]
    mu = check_distribution(mu, "mu", size=K)
    n = check_integer(n_samples, "n_samples", minimum=0)
    rng = as_rng(rng)
    first = rng.choice(K, size=n, p=mu)
    if distinct:
        if np.count_nonzero(mu) < 2:
            raise ValueError("mu must put mass on at least two items when distinct=True")
        second = np.empty(n, dtype=np.int64)
        for k in range(n):
            q = mu.copy()
            q[first[k]] = 0.0
            second[k] = rng.choice(K, p=q / q.sum())
    else:
        second = rng.choice(K, size=n, p=mu)
    first_wins = rng.random(n) < P[first, second]
    winners = np.where(first_wins, first, second).astype(np.int64)
    losers = np.where(first_wins, second, first).astype(np.int64)
    return Comparisons(winners, losers)


def empirical_preferences(winners, losers, n_actions: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Empirical preference matrix and comparison counts from a dataset.

    :math:`\hat P[i, j] = W_{ij} / (W_{ij} + W_{ji})` where :math:`W_{ij}` counts the times ``i`` beat
    ``j``; pairs never compared get 1/2, and comparisons of an item with itself are ignored. The
    estimate converges to ``P`` wherever :math:`\mu(i)\mu(j) > 0` (law of large numbers).

    Parameters
    ----------
    winners, losers : int arrays, shape (n,)
    n_actions : int

    Returns
    -------
    P_hat : array, shape (K, K)
    counts : array, shape (K, K)
        ``counts[i, j] = W_ij + W_ji`` (symmetric).

    Examples
    --------
    >>> P_hat, counts = empirical_preferences([0, 0, 1], [1, 1, 0], 3)
    >>> P_hat.round(3)
    array([[0.5  , 0.667, 0.5  ],
           [0.333, 0.5  , 0.5  ],
           [0.5  , 0.5  , 0.5  ]])
    """
    W = comparison_counts(winners, losers, n_actions)
    np.fill_diagonal(W, 0.0)  # self-comparisons carry no information
    counts = W + W.T
    with np.errstate(invalid="ignore", divide="ignore"):
        P_hat = np.where(counts > 0, W / np.where(counts > 0, counts, 1.0), 0.5)
    np.fill_diagonal(P_hat, 0.5)
    return P_hat, counts


@renamed_parameters(n="n_samples")
def plackett_luce_sample(rewards, n_samples: int, rng, temperature: float = 1.0) -> np.ndarray:
    r"""Sample ``n_samples`` full rankings from the Plackett-Luce model.

    .. math::
        \Pr(\sigma) = \prod_{k=1}^{K} \frac{e^{r_{\sigma(k)}/T}}{\sum_{j \ge k} e^{r_{\sigma(j)}/T}}

    (Plackett 1975; Luce 1959; the ranking model of DPO's appendix, Rafailov et al. 2023, Eq. 18).
    Sampled exactly by sorting Gumbel-perturbed scores.

    Parameters
    ----------
    rewards : array, shape (K,)
    n_samples : int >= 0
        The number of rankings (``n`` is its deprecated name).
    rng : numpy Generator or int seed
        Required (the function always samples).
    temperature : float > 0

    Returns
    -------
    rankings : int array, shape (n_samples, K)
        Row ``k`` lists the items from best to worst.

    Examples
    --------
    >>> plackett_luce_sample([100.0, 0.0, -100.0], 2, rng=0)
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    r = _check_rewards(rewards)
    n = check_integer(n_samples, "n_samples", minimum=0)
    temperature = check_positive(temperature, "temperature")
    rng = as_rng(rng)
    g = rng.gumbel(size=(n, r.size))
    return np.argsort(-(r / temperature + g), axis=1, kind="stable")


def plackett_luce_log_likelihood(rankings, rewards, temperature: float = 1.0) -> np.ndarray:
    r"""Log-probability of each ranking under Plackett-Luce (see :func:`plackett_luce_sample`).

    Parameters
    ----------
    rankings : int array, shape (n, K)
    rewards : array, shape (K,)
    temperature : float > 0

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> float(np.exp(plackett_luce_log_likelihood([[0, 1]], [np.log(3.0), 0.0]))[0])
    0.75
    """
    r = _check_rewards(rewards)
    temperature = check_positive(temperature, "temperature")
    R = np.asarray(rankings)
    if R.dtype.kind not in "iuf" or R.dtype == bool:
        raise TypeError(f"rankings must hold integer indices, got dtype {R.dtype}")
    if R.ndim != 2 or R.shape[1] != r.size:
        raise ValueError(f"rankings must have shape (n, {r.size}) (a column per entry of rewards), "
                         f"got {R.shape}")
    for k in range(R.shape[0]):
        if sorted(R[k].tolist()) != list(range(r.size)):
            raise ValueError(f"rankings[{k}] must be a permutation of 0..{r.size - 1}")
    s = r[R] / temperature
    # log-sum-exp over the suffixes s[k:], computed right to left.
    suffix = np.logaddexp.accumulate(s[:, ::-1], axis=1)[:, ::-1]
    return (s - suffix).sum(axis=1)
