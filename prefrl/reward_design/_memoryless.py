r"""The start bias of KL-regularised fine-tuning on a finite Markov chain (a discrete Adjoint Matching).

Domingo-Enrich, Drozdzal, Karrer and Chen (2025), "Adjoint Matching: Fine-tuning Flow and
Diffusion Generative Models with Memoryless Stochastic Optimal Control" (the
"memoryless" noise schedule), in a discrete analogue of ours. A base sampler is a Markov chain
:math:`X_0 \sim p_0`, :math:`X_{t+1} \sim K_t(X_t, \cdot)`, :math:`t < T`. Reward fine-tuning is
the KL-regularised control problem

.. math::
    \max_{q}\ \mathbb{E}_q[r(X_T)] - \beta\,\mathrm{KL}(q \,\|\, p_{\mathrm{base}})

over path laws :math:`q` whose transitions :math:`q_t` are free but whose start is :math:`p_0`
(the initial noise is not controlled). Backward induction gives

.. math::
    V_T = r, \quad V_t(x) = \beta \log \sum_{x'} K_t(x, x') e^{V_{t+1}(x')/\beta}, \quad
    q_t(x' | x) = K_t(x, x') e^{(V_{t+1}(x') - V_t(x))/\beta},

and the product telescopes: :math:`q(x_{0:T}) = p_{\mathrm{base}}(x_{0:T})
e^{(r(x_T) - V_0(x_0))/\beta}`. The controlled terminal law is therefore

.. math::
    p^*(y) = e^{r(y)/\beta} \sum_{x_0} p_0(x_0) \bar K(x_0, y) e^{-V_0(x_0)/\beta}, \qquad
    \bar K = K_0 K_1 \cdots K_{T-1},

while the fine-tuning target is the tilt :math:`p_{\mathrm{base}}(y) e^{r(y)/\beta} / Z` with
:math:`p_{\mathrm{base}} = p_0 \bar K`, :math:`Z = \sum_{x_0} p_0(x_0) e^{V_0(x_0)/\beta}`. They
differ by the per-start factor :math:`w(x_0) = Z e^{-V_0(x_0)/\beta}`: :math:`p^* = \text{target}`
for every reward when :math:`w` is constant on the support of :math:`p_0`, which holds when the
rows of :math:`\bar K` on that support agree (:math:`X_T` independent of :math:`X_0`: the
memoryless case) or :math:`p_0` is a point mass. Controlling the start as well,
:math:`q_0 \propto p_0 e^{V_0/\beta}`, removes the factor.

Public functions: :func:`controlled_terminal_law` (:class:`TerminalLaw`), :func:`tilted_target`,
:func:`start_dependence` (:class:`StartDependence`), :func:`mixing_kernels` (a chain whose
dependence on the start is set by one number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    check_positive,
    check_stochastic_matrix,
)
from ..policies import kl
from ..results import Result

__all__ = [
    "StartDependence",
    "TerminalLaw",
    "controlled_terminal_law",
    "mixing_kernels",
    "start_dependence",
    "tilted_target",
]


def _check_chain(p0, kernels):
    K = check_array(kernels, "kernels", ndim=3)
    if K.shape[1] != K.shape[2]:
        raise ValueError(f"kernels must have shape (T, n, n), got {K.shape}")
    K = check_stochastic_matrix(K, "kernels")
    p0 = check_distribution(p0, "p0")
    if p0.shape[0] != K.shape[1]:
        raise ValueError(f"p0 must have length {K.shape[1]} (from kernels), got {p0.shape[0]}")
    return p0, K


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(x)


def _terminal_kernel(K: np.ndarray) -> np.ndarray:
    out = np.eye(K.shape[1])
    for Kt in K:
        out = out @ Kt
    return out


def _soft_values(K, r, beta):
    """V_t, t = 0..T, shape (T + 1, n), by the soft backward induction in log space."""
    T, n, _ = K.shape
    logK = _log(K)
    V = np.empty((T + 1, n))
    V[T] = r
    for t in reversed(range(T)):
        V[t] = beta * logsumexp(logK[t] + V[t + 1][None, :] / beta, axis=1)
    return V


def _check_reward_beta(reward, beta, n):
    r = check_array(reward, "reward", shape=(n,), like="kernels")
    beta = check_positive(beta, "beta")
    with np.errstate(over="ignore"):
        scaled = r / beta
    if not np.all(np.isfinite(scaled)) or np.abs(scaled).max() > 1e300:
        raise ValueError(f"beta = {beta:.3g} is too small: reward / beta overflows")
    return r, beta


def tilted_target(p0, kernels, reward, beta: float) -> np.ndarray:
    r"""The reward-tilted base terminal law, the target of KL-regularised fine-tuning.

    .. math::
        p_{\mathrm{target}}(y) = \frac{p_{\mathrm{base}}(y)\, e^{r(y)/\beta}}{Z}, \qquad
        p_{\mathrm{base}} = p_0 K_0 K_1 \cdots K_{T-1}

    (Domingo-Enrich et al. 2025, the tilted distribution of reward fine-tuning, there in
    continuous time).

    Parameters
    ----------
    p0 : array, shape (n,)
        The start law.
    kernels : array, shape (T, n, n)
        :math:`K_t(x, x')`, row-stochastic.
    reward : array, shape (n,)
        :math:`r(y)`.
    beta : float > 0
        The KL weight.

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> K = mixing_kernels(2, 1, 1.0)
    >>> tilted_target([1.0, 0.0], K, [0.0, np.log(3.0)], beta=1.0).round(6)
    array([0.25, 0.75])
    """
    p0, K = _check_chain(p0, kernels)
    r, beta = _check_reward_beta(reward, beta, K.shape[1])
    logp = _log(p0 @ _terminal_kernel(K)) + r / beta
    return np.exp(logp - logsumexp(logp))


@dataclass(frozen=True, eq=False)
class TerminalLaw(Result):
    r"""The optimum of KL-regularised control of a Markov chain (:func:`controlled_terminal_law`).

    Attributes
    ----------
    terminal_law : array, shape (n,)
        :math:`p^*(x_T)` under the optimal control.
    target : array, shape (n,)
        :math:`p_{\mathrm{base}} e^{r/\beta}/Z` (:func:`tilted_target`).
    initial_law : array, shape (n,)
        The start law used: :math:`p_0`, or :math:`q_0 \propto p_0 e^{V_0/\beta}` when the start
        is controlled.
    policy : array, shape (T, n, n)
        The controlled kernels :math:`q_t(x' | x)`.
    values : array, shape (T + 1, n)
        :math:`V_t(x)`.
    start_weights : array, shape (n,)
        The per-start factor :math:`w(x_0) = Z e^{-V_0(x_0)/\beta}` (all 1 with a controlled
        start): :math:`p^*(y) = \sum_{x_0} q_0(x_0) \bar K(x_0, y) e^{r(y)/\beta} / Z
        \cdot w(x_0)`.
    bias_tv : float
        :math:`\tfrac12 \|p^* - p_{\mathrm{target}}\|_1`.
    bias_kl : float
        :math:`\mathrm{KL}(p^* \,\|\, p_{\mathrm{target}})`.
    value : float
        The optimal objective :math:`\mathbb{E}_q[r(X_T)] - \beta\,\mathrm{KL}(q \| p)`:
        :math:`\sum p_0 V_0` (start fixed) or :math:`\beta \log Z` (start controlled).
    iterations : int
        0 (backward induction is exact).
    converged : bool
        True.
    certificate : float
        The largest residual of the Bellman equation on the returned controls,
        :math:`|V_t(x) - \sum_{x'} q_t(x'|x) V_{t+1}(x') + \beta\,\mathrm{KL}(q_t(\cdot|x) \|
        K_t(x, \cdot))|`, and of the start's equation when it is controlled.
    """

    terminal_law: np.ndarray
    target: np.ndarray
    initial_law: np.ndarray
    policy: np.ndarray
    values: np.ndarray
    start_weights: np.ndarray
    bias_tv: float
    bias_kl: float
    value: float
    iterations: int
    converged: bool
    certificate: float


def controlled_terminal_law(
    p0, kernels, reward, beta: float, *, control_initial: bool = False
) -> TerminalLaw:
    r"""The terminal law of the KL-optimal control of a Markov chain, with or without the start.

    .. math::
        V_T = r, \quad V_t(x) = \beta \log \mathbb{E}_{K_t}\big[e^{V_{t+1}(X_{t+1})/\beta}
        \,\big|\, X_t = x\big], \quad
        p^*(y) = e^{r(y)/\beta} \sum_{x_0} q_0(x_0) \bar K(x_0, y) e^{-V_0(x_0)/\beta},

    with :math:`q_0 = p_0` (start not controlled) or :math:`q_0 \propto p_0 e^{V_0/\beta}`
    (controlled, and then :math:`p^*` is the tilted target). Domingo-Enrich et al. (2025),
    "Adjoint Matching", the value-function bias of an uncontrolled start (continuous time there);
    here in a finite chain, solved exactly by backward induction.

    Parameters
    ----------
    p0 : array, shape (n,)
        The base start law.
    kernels : array, shape (T, n, n)
        The base transitions :math:`K_t`, row-stochastic.
    reward : array, shape (n,)
        :math:`r(x_T)`.
    beta : float > 0
        The KL weight.
    control_initial : bool
        Control the start law too.

    Returns
    -------
    TerminalLaw

    Examples
    --------
    >>> K = mixing_kernels(2, 1, 0.5)
    >>> res = controlled_terminal_law([0.5, 0.5], K, [0.0, 1.0], beta=1.0)
    >>> round(res.bias_tv, 4), res.start_weights.round(4)
    (0.048, array([1.3005, 0.8123]))
    >>> controlled_terminal_law([0.5, 0.5], K, [0.0, 1.0], 1.0, control_initial=True).bias_tv < 1e-12
    True
    """
    p0, K = _check_chain(p0, kernels)
    r, beta = _check_reward_beta(reward, beta, K.shape[1])
    if not isinstance(control_initial, (bool, np.bool_)):
        raise TypeError(f"control_initial must be a bool, got {type(control_initial).__name__}")
    T = K.shape[0]
    V = _soft_values(K, r, beta)
    logK = _log(K)
    with np.errstate(invalid="ignore"):
        logq = logK + V[1:, None, :] / beta - V[:-1, :, None] / beta
    q = np.exp(logq)
    logp0 = _log(p0)
    logZ = float(logsumexp(logp0 + V[0] / beta))
    if control_initial:
        q0 = np.exp(logp0 + V[0] / beta - logZ)
        value = beta * logZ
        weights = np.ones_like(p0)
    else:
        q0 = p0.copy()
        value = float(p0 @ V[0])
        weights = np.exp(logZ - V[0] / beta)
    law = q0.copy()
    for t in range(T):
        law = law @ q[t]
    law = law / law.sum()
    target = tilted_target(p0, K, r, beta)
    # Bellman residual on the returned controls: V_t = E_q[V_{t+1}] - beta KL(q_t || K_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_rows = np.where(q > 0, q * (logq - logK), 0.0).sum(axis=2)
    resid = np.abs(V[:-1] - (np.einsum("txy,ty->tx", q, V[1:]) - beta * kl_rows))
    cert = float(resid.max())
    if control_initial:
        cert = max(cert, abs(value - (q0 @ V[0] - beta * kl(q0, p0))))
    return TerminalLaw(
        terminal_law=law,
        target=target,
        initial_law=q0,
        policy=q,
        values=V,
        start_weights=weights,
        bias_tv=float(0.5 * np.abs(law - target).sum()),
        bias_kl=float(kl(law, target)),
        value=float(value),
        iterations=0,
        converged=True,
        certificate=cert,
    )


@dataclass(frozen=True, eq=False)
class StartDependence(Result):
    r"""How much the base chain's terminal state depends on its start (:func:`start_dependence`).

    Attributes
    ----------
    mutual_information : float
        :math:`I(X_0; X_T)` under the base chain (nats).
    dobrushin : float
        :math:`\max_{x, x' \in \mathrm{supp}\, p_0} \tfrac12 \|\bar K(x, \cdot) - \bar K(x', \cdot)\|_1`,
        0 exactly when :math:`X_T` is independent of :math:`X_0` (memoryless) or :math:`p_0` is a
        point mass.
    terminal_kernel : array, shape (n, n)
        :math:`\bar K = K_0 \cdots K_{T-1}`.
    base_terminal : array, shape (n,)
        :math:`p_{\mathrm{base}} = p_0 \bar K`.
    """

    mutual_information: float
    dobrushin: float
    terminal_kernel: np.ndarray
    base_terminal: np.ndarray


def start_dependence(p0, kernels) -> StartDependence:
    r"""The dependence of the terminal state on the start: mutual information and Dobrushin's coefficient.

    .. math::
        I(X_0; X_T) = \sum_{x, y} p_0(x) \bar K(x, y) \log \frac{\bar K(x, y)}{p_{\mathrm{base}}(y)},
        \qquad
        \delta(\bar K) = \max_{x, x' \in \mathrm{supp}\, p_0} \mathrm{TV}(\bar K(x, \cdot),
        \bar K(x', \cdot)).

    The chain is *memoryless* (Domingo-Enrich et al. 2025: the noise schedule under
    which fine-tuning reaches the tilted law) when both are 0.

    Parameters
    ----------
    p0 : array, shape (n,)
    kernels : array, shape (T, n, n)

    Returns
    -------
    StartDependence

    Examples
    --------
    >>> round(start_dependence([0.5, 0.5], mixing_kernels(2, 2, 0.5)).dobrushin, 6)
    0.25
    """
    p0, K = _check_chain(p0, kernels)
    Kbar = _terminal_kernel(K)
    base = p0 @ Kbar
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(
            (p0[:, None] > 0) & (Kbar > 0),
            p0[:, None] * Kbar * (_log(Kbar) - _log(base)[None, :]),
            0.0,
        )
    sup = np.flatnonzero(p0 > 0)
    rows = Kbar[sup]
    tv = 0.5 * np.abs(rows[:, None, :] - rows[None, :, :]).sum(axis=2)
    return StartDependence(
        mutual_information=float(max(terms.sum(), 0.0)),
        dobrushin=float(tv.max()),
        terminal_kernel=Kbar,
        base_terminal=base,
    )


def mixing_kernels(n_states: int, n_steps: int, mixing: float, stationary=None) -> np.ndarray:
    r"""Kernels that keep the state or resample it: :math:`K = (1 - m) I + m \mathbf{1} u^\top`.

    .. math::
        K_t(x, x') = (1 - m)\,\mathbb{1}[x' = x] + m\, u(x'), \qquad
        \bar K = (1 - m)^T I + (1 - (1 - m)^T) \mathbf{1} u^\top,

    so that :math:`X_T` is independent of :math:`X_0` at :math:`m = 1` (memoryless) and equal to
    it at :math:`m = 0`; Dobrushin's coefficient of :math:`\bar K` is :math:`(1 - m)^T`. (Our
    instance for the discrete analogue of Domingo-Enrich et al. 2025.)

    Parameters
    ----------
    n_states : int >= 1
    n_steps : int >= 1
        :math:`T`.
    mixing : float in [0, 1]
        :math:`m`.
    stationary : array, shape (n_states,), optional
        :math:`u` (uniform by default).

    Returns
    -------
    array, shape (n_steps, n_states, n_states)

    Examples
    --------
    >>> mixing_kernels(2, 1, 0.5)[0]
    array([[0.75, 0.25],
           [0.25, 0.75]])
    """
    n = check_integer(n_states, "n_states", minimum=1)
    T = check_integer(n_steps, "n_steps", minimum=1)
    m = check_in_range(mixing, "mixing", 0.0, 1.0)
    u = (
        np.full(n, 1.0 / n)
        if stationary is None
        else check_distribution(stationary, "stationary", size=n)
    )
    K = (1.0 - m) * np.eye(n) + m * u[None, :]
    return np.repeat(K[None], T, axis=0)
