r"""P2R: answer an RL algorithm's reward requests from preference queries, only when needed.

Wang, Liu and Jin (2023), "Is RLHF More Difficult than Standard RL? A Theoretical Perspective"
(NeurIPS 2023, arXiv 2306.14111), reduce RL from utility-based preferences to standard RL: the
preference-to-reward interface P2R (their Sec. 4, Algorithm 1) keeps a confidence set of reward
parameters, answers a reward request from it when it is narrow enough, and asks for preferences
against a fixed reference trajectory only otherwise. Here, exactly on a finite set of trajectories
with a linear reward class:

- :func:`link_function`, :func:`inverse_link`: the known link :math:`\sigma` of the
  utility-based preference model (logistic or probit; their Sec. 3) and its inverse;
- :class:`P2ROracle`: the interface, in a deterministic mode (exact probabilities: at most
  :math:`\mathrm{rank}` queries, every answer within :math:`\epsilon_0`) and a sampled mode
  (:math:`m` comparisons per query, a least-squares confidence set of radius :math:`\beta_t` from
  Hoeffding's inequality and a union bound; every answer is within :math:`\epsilon_0` with
  probability at least :math:`1 - \delta` **only while** :math:`\beta_t \le \epsilon_0^2`, which
  needs :math:`m` large); :class:`P2RStats`, its counters.

What is ours: the exact interval of the confidence set (a closed form in the deterministic mode,
Lagrangian duality in the sampled mode), the midpoint answer (:math:`\epsilon_0` instead of
:math:`2\epsilon_0`), the clipping of the empirical frequency and the radius schedule; the paper's
query bound is not claimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import expit, logit, ndtr, ndtri

from .._deprecation import renamed_parameters, warn_deprecated
from .._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_indices,
    check_integer,
    check_positive,
    check_probability,
    frozen_copy,
)
from ..results import Result

__all__ = ["P2ROracle", "P2RStats", "inverse_link", "link_function"]

_LINKS = ("logistic", "probit")


def _check_link(link) -> str:
    if link not in _LINKS:
        raise ValueError(f"link must be one of {_LINKS}, got {link!r}")
    return link


def link_function(z, link: str = "logistic") -> np.ndarray:
    r"""The known link :math:`\sigma` of a utility-based preference model.

    .. math::
        \Pr[\tau \succ \tau'] = \sigma\big(r(\tau) - r(\tau')\big), \qquad
        \sigma(z) = \frac{1}{1 + e^{-z}} \ \text{(logistic)} \quad\text{or}\quad
        \sigma(z) = \Phi(z) \ \text{(probit, the standard normal CDF)},

    with :math:`z = r(\tau) - r(\tau')` the reward difference. Wang, Liu and Jin (2023), "Is RLHF
    More Difficult than Standard RL?", Sec. 3 (utility-based preferences with a known link).

    Parameters
    ----------
    z : array_like, any shape
        Reward differences.
    link : {"logistic", "probit"}

    Returns
    -------
    array, the shape of ``z``

    Examples
    --------
    >>> link_function([0.0, 1.0]).round(4)
    array([0.5   , 0.7311])
    >>> float(link_function(0.0, "probit"))
    0.5
    """
    z = check_array(z, "z", nonempty=False)
    if _check_link(link) == "logistic":
        return expit(z)
    return ndtr(z)


def inverse_link(p, link: str = "logistic") -> np.ndarray:
    r"""The inverse :math:`\sigma^{-1}` of the link: the reward difference of a probability.

    .. math::
        \sigma^{-1}(p) = \log\frac{p}{1 - p} \ \text{(logistic)}, \qquad
        \sigma^{-1}(p) = \Phi^{-1}(p) \ \text{(probit)},

    for a probability :math:`p \in (0, 1)` that :math:`\tau` is preferred to :math:`\tau'`
    (the endpoints map to :math:`\pm\infty`). Wang, Liu and Jin (2023), Sec. 4 (P2R inverts the
    link on the empirical preference frequency).

    Parameters
    ----------
    p : array_like, any shape, entries in [0, 1]
    link : {"logistic", "probit"}

    Returns
    -------
    array, the shape of ``p``

    Examples
    --------
    >>> float(inverse_link(link_function(1.5))[()]) == 1.5
    True
    >>> inverse_link([0.5, 0.75]).round(4)
    array([0.    , 1.0986])
    """
    p = check_array(p, "p", nonempty=False)
    bad = (p <= 0) | (p >= 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if p.ndim else ()
        at = "[" + ", ".join(map(str, idx)) + "]" if idx else ""
        raise ValueError(f"p{at} = {p[idx]}, must be in (0, 1): the inverse link of 0 and 1 is "
                         "infinite (clip the probabilities to [eps, 1 - eps] first)")
    if _check_link(link) == "logistic":
        return logit(p)
    return ndtri(p)


def _link_slope(z: np.ndarray, link: str) -> np.ndarray:
    """sigma'(z); symmetric and decreasing in |z| for both links."""
    if link == "logistic":
        return expit(z) * expit(-z)
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


@dataclass(frozen=True, eq=False)
class P2RStats(Result):
    r"""Counters of a :class:`P2ROracle`.

    Attributes
    ----------
    n_calls : int
        Reward requests answered (by the RL algorithm).
    n_queries : int
        Calls that needed a preference query (a batch of ``m`` comparisons, or one exact
        probability in the deterministic mode).
    n_comparisons : int
        Individual comparisons asked: ``m * n_queries`` (``n_queries`` in the deterministic mode).
    queried : tuple of int
        Trajectory indices queried, in order.
    radius : float
        Current radius :math:`\beta_t` of the least-squares confidence set (0 in the
        deterministic mode; ``beta`` is its deprecated name).
    consistent : bool
        False if the confidence set was ever found empty (the true parameter is then not in it:
        impossible in the deterministic mode with a true parameter of norm at most ``bound``, and
        in the sampled mode only on the failure event of probability at most ``delta``).
    """

    n_calls: int
    n_queries: int
    n_comparisons: int
    queried: tuple
    radius: float
    consistent: bool

    _renamed: ClassVar[dict[str, str]] = {"beta": "radius"}


class P2ROracle:
    r"""P2R: answer an RL algorithm's reward requests from preference queries, only when needed.

    The preference-to-reward interface of Wang, Liu and Jin (2023), "Is RLHF More Difficult than
    Standard RL?" (NeurIPS 2023, arXiv 2306.14111), Sec. 4 (Algorithm 1, P2R), exactly on a finite
    set of trajectories :math:`\tau_1, \dots, \tau_N` with features :math:`\phi(\tau_i) \in
    \mathbb R^d` (tabular count features of trajectories, e.g. :func:`segment_features`, or
    one-hot arms of a bandit), a linear reward class and a known link :math:`\sigma`:

    .. math::
        r_\theta(\tau) = \langle\theta, \phi(\tau)\rangle, \quad \|\theta\|_2 \le B, \qquad
        \Pr[\tau \succ \tau_0] = \sigma\big(r_{\theta^*}(\tau) - r_{\theta^*}(\tau_0)\big)
        = \sigma(\langle\theta^*, x(\tau)\rangle), \quad x(\tau) = \phi(\tau) - \phi(\tau_0),

    with :math:`\tau_0` the fixed reference trajectory and :math:`\theta^*` the unknown true
    parameter. After :math:`t` queries :math:`(x_i, y_i)_{i \le t}` (:math:`y_i` the inverted
    preference frequency of :math:`x_i = x(\tau^{(i)})`) the **confidence set** is the paper's
    least-squares set restricted to the class,

    .. math::
        \mathcal C_t = \Big\{\theta \in \mathbb R^d : \|\theta\|_2 \le B,\
        \sum_{i=1}^t \big(\langle\theta, x_i\rangle - y_i\big)^2 \le \beta_t\Big\}.

    A request for :math:`r(\tau) - r(\tau_0)` computes the interval
    :math:`[\ell(\tau), u(\tau)] = \{\langle\theta, x(\tau)\rangle : \theta \in \mathcal C_t\}`
    and its **width** :math:`w(\tau) = u - \ell = \max_{\theta, \theta' \in \mathcal C_t}
    \langle\theta - \theta', x(\tau)\rangle`. If :math:`w(\tau) \le 2\epsilon_0` it answers the
    midpoint :math:`(\ell + u)/2` **without a query**; otherwise it asks :math:`m` comparisons
    :math:`(\tau, \tau_0)`, sets :math:`y = \sigma^{-1}(\bar p)` with :math:`\bar p` the
    frequency of :math:`\tau \succ \tau_0` clipped to
    :math:`[\sigma(-B\|x\|), \sigma(B\|x\|)]` (the range of the class: clipping moves
    :math:`\bar p` towards the truth, never away), adds :math:`(x(\tau), y)` and answers from
    the shrunk set.

    **Guarantee (deterministic).** Whenever :math:`\theta^* \in \mathcal C_t`, every answer
    :math:`\hat\Delta(\tau)` satisfies :math:`|\hat\Delta(\tau) - \langle\theta^*,
    x(\tau)\rangle| \le w(\tau)/2 \le \epsilon_0`. (Answering an arbitrary member of
    :math:`\mathcal C_t`, as in the paper, only gives :math:`2\epsilon_0`; the midpoint gives
    :math:`\epsilon_0`.)

    **Exact mode** (``exact=True``): each query returns the exact probability
    :math:`\sigma(\langle\theta^*, x\rangle)`, so :math:`y_i = \langle\theta^*, x_i\rangle`,
    :math:`\beta_t = 0` and :math:`\mathcal C_t = \{\theta : \|\theta\| \le B, X\theta = y\}`,
    which contains :math:`\theta^*` whenever :math:`\|\theta^*\| \le B`. Its interval has the
    closed form :math:`\langle\theta_0, x\rangle \pm \rho\|P_\perp x\|` with :math:`\theta_0` the
    minimum-norm solution of :math:`X\theta = y`, :math:`\rho^2 = B^2 - \|\theta_0\|^2` and
    :math:`P_\perp` the projection onto the null space of :math:`X` (norms below
    :math:`10^{-12}\|x\|` count as 0). A query happens only if :math:`P_\perp x \neq 0`, so the
    queried :math:`x_i` are linearly independent: **at most** :math:`\mathrm{rank}\{x(\tau)\}
    \le d` **queries**, however many requests.

    **Sampled mode** (``exact=False``): each query is :math:`m` independent comparisons. The
    radius (:attr:`radius`) is :math:`\beta_t = \sum_{i \le t} \eta_i^2`, :math:`\eta_i = \kappa_i
    \sqrt{\log(2 i (i+1)/\delta) / (2m)}`, :math:`\kappa_i = 1/\sigma'(B\|x_i\|)` (the Lipschitz
    constant of :math:`\sigma^{-1}` on the clipped range). *Statement, with its assumptions (not
    proved here):* if the comparisons are independent Bernoulli with the stated link and
    :math:`\|\theta^*\| \le B`, Hoeffding's inequality and a union bound over the queries give
    :math:`|y_i - \langle\theta^*, x_i\rangle| \le \eta_i` for all :math:`i` with probability at
    least :math:`1 - \delta`, hence :math:`\theta^* \in \mathcal C_t` for every :math:`t` and every
    answer is within :math:`\epsilon_0` of the truth. The interval is computed by Lagrangian
    duality: for :math:`s \in (0, 1]` the aggregated ellipsoid :math:`\{s(\|\theta\|^2 - B^2) +
    (1-s)(\|X\theta - y\|^2 - \beta_t) \le 0\} \supseteq \mathcal C_t` gives the closed-form
    bounds :math:`c_s^\top x \pm R_s\|x\|_{M_s^{-1}}`, valid for every :math:`s`; the oracle takes
    the best over :math:`s` (a quasi-convex 1-D problem, solved by a zooming grid on
    :math:`\log s`), which equals the exact interval by strong duality up to the grid's
    resolution, and is never narrower than it (so the guarantee is unaffected). A trajectory
    just queried has width at most :math:`2\sqrt{\beta_t}`, so **the sampled mode's
    within-**:math:`\epsilon_0` **guarantee holds only while** :math:`\beta_t \le \epsilon_0^2`:
    choose :math:`m` so that this holds over the run. With fewer comparisons an answer given right
    after a query may be off by up to :math:`\sqrt{\beta_t}`, and intervals stay wider than
    :math:`2\epsilon_0`, so almost every request becomes a query (no saving); the ``p2r_queries``
    figure measures queries, queries saved and the largest error against :math:`m` on several
    instances. The paper's query bound (eluder dimension times :math:`\kappa^2/\epsilon_0^2`, up
    to logs) is not claimed here.

    Parameters
    ----------
    features : array, shape (N, d)
        :math:`\phi(\tau_i)`, one row per trajectory.
    reference_index : int in [0, N)
        Index of :math:`\tau_0`.
    epsilon0 : float > 0
        :math:`\epsilon_0`, the accuracy asked by the RL algorithm.
    bound : float > 0
        :math:`B`, the radius of the reward class.
    exact : bool
        Deterministic mode (exact probabilities) instead of sampled comparisons.
    n_comparisons_per_query : int >= 1
        :math:`m`, comparisons per query (sampled mode; ignored in the exact mode;
        ``m_queries`` is its deprecated name).
    true_theta : array, shape (d,), optional
        :math:`\theta^*` (norm at most ``bound``): the oracle simulates the labeller.
    comparison_fn : callable, optional
        The labeller instead of ``true_theta``: ``comparison_fn(i)`` returns
        :math:`\Pr[\tau_i \succ \tau_0]` (exact mode) and ``comparison_fn(i, m)`` the number of wins
        of :math:`\tau_i` in ``m`` comparisons (sampled mode).
    rng : numpy Generator or int seed
        Randomness of the simulated comparisons: required in the sampled mode with
        ``true_theta`` (a ValueError names it), unused otherwise.
    link : {"logistic", "probit"}
    delta : float in (0, 1)
        :math:`\delta`, the failure probability of the sampled mode's confidence set.

    Examples
    --------
    Three arms of a bandit, one-hot features, exact preferences: two queries suffice for any number
    of requests.

    >>> oracle = P2ROracle(np.eye(3), 0, epsilon0=0.01, bound=5.0, exact=True,
    ...                    true_theta=[0.0, 1.0, -2.0])
    >>> [round(oracle.reward(i), 6) for i in (0, 1, 2, 1, 2, 2)]
    [0.0, 1.0, -2.0, 1.0, -2.0, -2.0]
    >>> oracle.stats.n_calls, oracle.stats.n_queries
    (6, 2)
    """

    @renamed_parameters(m_queries="n_comparisons_per_query")
    def __init__(self, features, reference_index: int = 0, *, epsilon0: float, bound: float,
                 exact: bool = False, n_comparisons_per_query: int | None = None, true_theta=None,
                 comparison_fn=None, rng=None, link: str = "logistic", delta: float = 0.05):
        phi = check_array(features, "features", ndim=2)
        N, d = phi.shape
        ref = check_integer(reference_index, "reference_index", minimum=0)
        if ref >= N:
            raise ValueError(f"reference_index must be in [0, {N}), got {ref}")
        self.epsilon0 = check_positive(epsilon0, "epsilon0")
        self.bound = check_positive(bound, "bound")
        self.exact = bool(exact)
        self.link = _check_link(link)
        self.delta = check_in_range(delta, "delta", 0.0, 1.0, low_open=True, high_open=True)
        if self.exact:
            m = n_comparisons_per_query
            self.n_comparisons_per_query = None if m is None else check_integer(
                m, "n_comparisons_per_query", minimum=1)
        else:
            if n_comparisons_per_query is None:
                raise ValueError("n_comparisons_per_query must be given in the sampled mode "
                                 "(exact=False)")
            self.n_comparisons_per_query = check_integer(n_comparisons_per_query,
                                                         "n_comparisons_per_query", minimum=1)
        if (true_theta is None) == (comparison_fn is None):
            raise ValueError("give exactly one of true_theta and comparison_fn")
        if true_theta is not None:
            theta = check_array(true_theta, "true_theta", shape=(d,))
            nrm = float(np.linalg.norm(theta))
            if nrm > self.bound * (1 + 1e-12):
                raise ValueError(f"true_theta has norm {nrm:.6g}, must be <= bound = "
                                 f"{self.bound:.6g}")
            self.true_theta = frozen_copy(theta)
            if not self.exact:
                self._rng = as_rng(rng)
        else:
            if not callable(comparison_fn):
                raise TypeError("comparison_fn must be callable")
            self.true_theta = None
        self._fn = comparison_fn
        self.features = frozen_copy(phi)
        self.reference_index = ref
        self.diffs = frozen_copy(phi - phi[ref])
        self._norms = np.linalg.norm(self.diffs, axis=1)
        self._X: list[np.ndarray] = []
        self._y: list[float] = []
        self._eta2: list[float] = []
        self._queried: list[int] = []
        self._n_calls = 0
        self._consistent = True
        self._version = 0
        self._cache: dict[int, tuple[int, float, float]] = {}
        self._refit()

    # -- the confidence set ---------------------------------------------------------------------
    @property
    def radius(self) -> float:
        r"""The radius :math:`\beta_t` of the confidence set (0 in the exact mode)."""
        return 0.0 if self.exact else float(sum(self._eta2))

    @property
    def beta(self) -> float:
        """Deprecated name of :attr:`radius`."""
        warn_deprecated("P2ROracle.beta is deprecated, use P2ROracle.radius")
        return self.radius

    @property
    def m(self) -> int | None:
        """Deprecated name of ``n_comparisons_per_query``."""
        warn_deprecated("P2ROracle.m is deprecated, use P2ROracle.n_comparisons_per_query")
        return self.n_comparisons_per_query

    @property
    def stats(self) -> P2RStats:
        """The counters (a frozen :class:`P2RStats`)."""
        nq = len(self._queried)
        return P2RStats(n_calls=self._n_calls, n_queries=nq,
                        n_comparisons=nq if self.exact else nq * self.n_comparisons_per_query,
                        queried=tuple(self._queried), radius=self.radius,
                        consistent=self._consistent)

    def _refit(self) -> None:
        d = self.diffs.shape[1]
        X = np.array(self._X).reshape(-1, d)
        y = np.array(self._y)
        self._version += 1
        if self.exact:
            if X.shape[0]:
                # Queried rows are linearly independent (see _interval_exact): QR gives the
                # null-space projector and the minimum-norm solution exactly.
                Q, R = np.linalg.qr(X.T)
                self._Q = Q
                self._theta0 = Q @ np.linalg.solve(R.T, y)
            else:
                self._Q = np.zeros((d, 0))
                self._theta0 = np.zeros(d)
            rho2 = self.bound**2 - float(self._theta0 @ self._theta0)
            if rho2 < -1e-9 * self.bound**2:
                self._consistent = False
            self._rho = float(np.sqrt(max(rho2, 0.0)))
        else:
            G = X.T @ X
            e, U = np.linalg.eigh(G)
            self._eig = np.maximum(e, 0.0)
            self._U = U
            self._g = U.T @ (X.T @ y)
            self._yy = float(y @ y)

    def _interval_exact(self, x: np.ndarray, nx: float) -> tuple[float, float]:
        perp = x - self._Q @ (self._Q.T @ x)
        np_ = float(np.linalg.norm(perp))
        if np_ <= 1e-12 * nx:
            np_ = 0.0
        mid = float(self._theta0 @ x)
        return mid - self._rho * np_, mid + self._rho * np_

    def _bounds_at(self, s: np.ndarray, w: np.ndarray):
        """Upper and lower bounds c_s.x +- R_s |x|_{M_s^-1} for a vector of s in (0, 1]."""
        B2, radius = self.bound**2, self.radius
        den = s[:, None] + (1.0 - s)[:, None] * self._eig[None, :]  # eigenvalues of M_s
        cx = (1.0 - s) * ((w * self._g)[None, :] / den).sum(axis=1)
        bMb = (1.0 - s) ** 2 * ((self._g**2)[None, :] / den).sum(axis=1)
        c = (1.0 - s) * (self._yy - radius) - s * B2
        R2 = bMb - c
        xn = np.sqrt(((w**2)[None, :] / den).sum(axis=1))
        R = np.sqrt(np.maximum(R2, 0.0))
        return cx + R * xn, cx - R * xn, R2

    def _interval_sampled(self, x: np.ndarray, nx: float) -> tuple[float, float]:
        if not self._X:
            return -self.bound * nx, self.bound * nx
        w = self._U.T @ x
        lo_s, hi_s = np.log(1e-14), 0.0
        best_u, best_l = np.inf, -np.inf
        empty = False
        for side in ("u", "l"):
            a, b = lo_s, hi_s
            for _ in range(5):  # zooming grid on log s; each s gives a valid bound
                ls = np.linspace(a, b, 17)
                u, l, R2 = self._bounds_at(np.exp(ls), w)
                if np.any(R2 < -1e-12 * max(1.0, self.bound**2 + self.radius)):
                    empty = True
                vals = u if side == "u" else -l
                k = int(np.argmin(vals))
                if side == "u":
                    best_u = min(best_u, float(u[k]))
                else:
                    best_l = max(best_l, float(l[k]))
                a, b = ls[max(k - 1, 0)], ls[min(k + 1, ls.size - 1)]
        if empty:
            self._consistent = False
            return -np.inf, np.inf
        return best_l, best_u

    def interval(self, tau_index: int) -> tuple[float, float]:
        r"""The interval :math:`\{r_\theta(\tau) - r_\theta(\tau_0) : \theta \in \mathcal C_t\}`.

        Neither a call nor a query is counted.

        Parameters
        ----------
        tau_index : int in [0, N)

        Returns
        -------
        tuple (lower, upper) of float

        Examples
        --------
        >>> oracle = P2ROracle(np.eye(2), 0, epsilon0=0.1, bound=1.0, exact=True,
        ...                    true_theta=[0.0, 0.5])
        >>> [round(v, 4) for v in oracle.interval(1)]    # before any query: |theta| <= 1
        [-1.4142, 1.4142]
        """
        i = self._index(tau_index)
        hit = self._cache.get(i)
        if hit is not None and hit[0] == self._version:
            return hit[1], hit[2]
        x, nx = self.diffs[i], float(self._norms[i])
        if nx == 0.0:
            lo = hi = 0.0
        elif self.exact:
            lo, hi = self._interval_exact(x, nx)
        else:
            lo, hi = self._interval_sampled(x, nx)
        self._cache[i] = (self._version, lo, hi)
        return lo, hi

    def width(self, tau_index: int) -> float:
        r"""The width :math:`\max_{\theta, \theta' \in \mathcal C_t} \langle\theta - \theta',
        x(\tau)\rangle` of the confidence set at a trajectory (no call counted).

        Parameters
        ----------
        tau_index : int in [0, N)

        Returns
        -------
        float

        Examples
        --------
        >>> oracle = P2ROracle(np.eye(2), 0, epsilon0=0.1, bound=1.0, exact=True,
        ...                    true_theta=[0.0, 0.5])
        >>> oracle.width(0), round(oracle.width(1), 4)
        (0.0, 2.8284)
        """
        lo, hi = self.interval(tau_index)
        return float(hi - lo)

    def _index(self, tau_index) -> int:
        i = check_integer(tau_index, "tau_index", minimum=0)
        if i >= self.diffs.shape[0]:
            raise ValueError(f"tau_index must be in [0, {self.diffs.shape[0]}), got {i}")
        return i

    # -- queries --------------------------------------------------------------------------------
    def _query(self, i: int) -> float:
        x, nx = self.diffs[i], float(self._norms[i])
        zmax = self.bound * nx
        p_lo, p_hi = link_function([-zmax, zmax], self.link)
        m = self.n_comparisons_per_query
        if self.exact:
            if self._fn is not None:
                p = check_probability(float(self._fn(i)), "comparison_fn(i)")
            else:
                p = float(link_function(self.true_theta @ x, self.link))
        else:
            if self._fn is not None:
                wins = check_integer(self._fn(i, m), "comparison_fn(i, m)", minimum=0)
                if wins > m:
                    raise ValueError(f"comparison_fn(i, m) = {wins}, must be <= m = {m}")
            else:
                p_true = float(link_function(self.true_theta @ x, self.link))
                wins = int(self._rng.binomial(m, p_true))
            p = wins / m
        y = float(inverse_link(min(max(p, p_lo), p_hi), self.link))
        if not np.isfinite(y):  # p_lo or p_hi rounded to 0 or 1: the class range, in z
            y = float(np.clip(np.sign(p - 0.5) * np.inf, -zmax, zmax))
        t = len(self._queried) + 1
        self._X.append(x.copy())
        self._y.append(y)
        if not self.exact:
            kappa = 1.0 / float(_link_slope(np.array(zmax), self.link))
            self._eta2.append(kappa**2 * np.log(2.0 * t * (t + 1) / self.delta) / (2.0 * m))
        self._queried.append(i)
        self._refit()
        return y

    def reward(self, tau_index: int) -> float:
        r"""The estimated reward difference :math:`\hat r(\tau) - \hat r(\tau_0)`.

        Answered without a query when the width of :math:`\mathcal C_t` at :math:`\tau` is at most
        :math:`2\epsilon_0`; otherwise after one query of ``m`` comparisons of
        :math:`(\tau, \tau_0)`. The answer is the midpoint of the interval (see the class).

        Parameters
        ----------
        tau_index : int in [0, N)

        Returns
        -------
        float

        Examples
        --------
        >>> oracle = P2ROracle([[0.0], [1.0], [2.0]], 0, epsilon0=0.01, bound=2.0, exact=True,
        ...                    true_theta=[0.7])
        >>> round(oracle.reward(2), 6), round(oracle.reward(1), 6), oracle.stats.n_queries
        (1.4, 0.7, 1)
        """
        i = self._index(tau_index)
        self._n_calls += 1
        lo, hi = self.interval(i)
        if hi - lo <= 2.0 * self.epsilon0:
            return 0.5 * (lo + hi)
        if self.exact and self._Q.shape[1] >= self.diffs.shape[1]:
            return 0.5 * (lo + hi)  # cannot happen: a full-rank X leaves width 0
        y = self._query(i)
        lo, hi = self.interval(i)
        if not np.isfinite(hi - lo):  # empty set (failure event): answer the fresh estimate
            return y
        return 0.5 * (lo + hi)

    def rewards(self, tau_indices) -> np.ndarray:
        """:meth:`reward` for each index in turn (each counts as a call).

        Parameters
        ----------
        tau_indices : int array, shape (n,)

        Returns
        -------
        array, shape (n,)

        Examples
        --------
        >>> oracle = P2ROracle(np.eye(2), 1, epsilon0=0.1, bound=3.0, exact=True,
        ...                    true_theta=[1.0, 0.0])
        >>> oracle.rewards([0, 1, 0]).round(6).tolist(), oracle.stats.n_calls
        ([1.0, 0.0, 1.0], 3)
        """
        idx = check_indices(tau_indices, "tau_indices", self.diffs.shape[0])
        return np.array([self.reward(int(i)) for i in idx])
