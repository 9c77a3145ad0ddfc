r"""Bi-level reward optimisation (BARFI), solved exactly on bandits and tabular MDPs.

Gupta, Chandak, Jordan, Thomas and da Silva (2023), "Behavior Alignment via Reward Function
Optimization" (NeurIPS 2023, arXiv 2310.19007) choose the parameters :math:`\phi` of the reward
(and discount) that an inner RL algorithm optimises, so that the policy it converges to is good for
the *primary* objective:

.. math::
    \max_\phi\ J(\theta^*(\phi)), \qquad
    J(\theta) = \mathbb{E}_{\pi_\theta}\Big[\sum_t \gamma^t r_p(s_t, a_t)\Big], \qquad
    \theta^*(\phi) = \arg\max_\theta J_\phi(\theta).

Here the inner objective is entropy-regularised (KL to the uniform policy, weight :math:`\tau`),

.. math::
    J_\phi(\theta) = \mathbb{E}_{s_0 \sim \mu_0,\, \pi_\theta}\Big[\sum_t \gamma_\phi^t
        \big(r_\phi(s_t, a_t) - \tau \log(A\, \pi_\theta(a_t|s_t))\big)\Big],

with the tabular softmax policy :math:`\pi_\theta(a|s) \propto e^{\theta[s, a]}`, so that
:math:`\theta^*(\phi)` is the soft-optimal policy (closed form on a bandit; soft value iteration
polished by soft policy iteration on an MDP) and every gradient below is exact.

**What is ours, not the paper's.** The paper body was not read (see
``shared/papers/papers_reward_design.md``, Sec. 3). The linear reward parameterisation
:math:`r_\phi = b + \sum_i \phi_i F_i` covers both forms the notes mention (the paper's
:math:`\phi_1 r_p + \phi_2 r_{aux}`, unverified, and the reference code's
:math:`r_p + \phi_1(s) + \phi_2(s) r_{aux}`); the learned discount :math:`\gamma_\phi =
\sigma(\psi)` follows the code. The exact entropy-regularised inner problem, the closed forms and
the tabular environments are our constructions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp

from ._validation import (
    check_array,
    check_in_range,
    check_integer,
    check_positive,
)
from .mdp import TabularMDP

__all__ = [
    "BarfiGradient",
    "BilevelProblem",
    "ImplicitSystem",
    "InnerSolution",
    "OuterAscentResult",
    "RewardParameterisation",
    "alignment_parameterisation",
    "bandit_inner_optimum",
    "bandit_problem",
    "outer_ascent",
    "potential_based_reward",
    "weighted_sum_parameterisation",
]


# ---------------------------------------------------------------------------------- parameterisations
@dataclass(frozen=True, eq=False)
class RewardParameterisation:
    r"""A reward linear in its parameters, :math:`r_\phi = b + \sum_i \phi_i F_i`.

    Attributes
    ----------
    base : array, shape (S, A)
        The fixed part :math:`b`.
    features : array, shape (n, S, A)
        The basis rewards :math:`F_i`.
    names : tuple of str, length n
        A name for each parameter (used in plots and reports).
    """

    base: np.ndarray
    features: np.ndarray
    names: tuple

    @property
    def n_params(self) -> int:
        """Number n of reward parameters."""
        return self.features.shape[0]

    def reward(self, phi) -> np.ndarray:
        r""":math:`r_\phi = b + \sum_i \phi_i F_i`, shape (S, A), for ``phi`` of shape (n,)."""
        phi = check_array(phi, "phi", shape=(self.n_params,))
        return self.base + np.tensordot(phi, self.features, axes=1)


def _as_sa(x, name):
    x = check_array(x, name, ndim=(1, 2))
    return x[None, :] if x.ndim == 1 else x


def weighted_sum_parameterisation(r_p, r_aux) -> RewardParameterisation:
    r"""The form :math:`r_\phi = \phi_1 r_p + \phi_2 r_{aux}` (our reading of the paper, unverified).

    .. math::
        r_\phi(s, a) = \phi_1\, r_p(s, a) + \phi_2\, r_{aux}(s, a),

    where :math:`r_p` is the primary reward and :math:`r_{aux}` the auxiliary (heuristic) one. The
    naive combination :math:`r_p + r_{aux}` is :math:`\phi = (1, 1)`. Gupta et al. (2023), as
    recalled in the project's notes (their Sec. 3), flagged there as unverified.

    Parameters
    ----------
    r_p, r_aux : array, shape (S, A), or (K,) for a bandit

    Returns
    -------
    RewardParameterisation
        ``base`` 0, ``features`` ``[r_p, r_aux]``, ``names`` ``("w_p", "w_aux")``.

    Examples
    --------
    >>> par = weighted_sum_parameterisation([1.0, 0.0], [0.0, 2.0])
    >>> par.reward([1.0, 0.5])
    array([[1., 1.]])
    """
    r_p, r_aux = _as_sa(r_p, "r_p"), _as_sa(r_aux, "r_aux")
    if r_p.shape != r_aux.shape:
        raise ValueError(f"r_p and r_aux must have the same shape, got {r_p.shape} and {r_aux.shape}")
    return RewardParameterisation(np.zeros_like(r_p), np.stack([r_p, r_aux]), ("w_p", "w_aux"))


def alignment_parameterisation(r_p, r_aux) -> RewardParameterisation:
    r"""The reference code's form :math:`r_\phi = r_p + \phi_1(s) + \phi_2(s)\, r_{aux}`, tabular.

    .. math::
        r_\phi(s, a) = r_p(s, a) + \phi_1[s] + \phi_2[s]\, r_{aux}(s, a),

    with one offset :math:`\phi_1[s]` and one auxiliary weight :math:`\phi_2[s]` per state (the
    code uses linear heads on state features; one-hot features give this tabular form).
    Gupta et al. (2023), code ``src/utils/Reward.py::Alignment_Reward`` (per the notes).
    The naive combination is :math:`\phi_1 = 0, \phi_2 = 1`.

    Parameters
    ----------
    r_p, r_aux : array, shape (S, A), or (K,) for a bandit

    Returns
    -------
    RewardParameterisation
        ``features`` of shape (2S, S, A): the S offsets, then the S auxiliary weights.

    Examples
    --------
    >>> par = alignment_parameterisation([[1.0, 0.0]], [[0.0, 2.0]])
    >>> par.n_params, par.reward([0.5, 1.0])
    (2, array([[1.5, 2.5]]))
    """
    r_p, r_aux = _as_sa(r_p, "r_p"), _as_sa(r_aux, "r_aux")
    if r_p.shape != r_aux.shape:
        raise ValueError(f"r_p and r_aux must have the same shape, got {r_p.shape} and {r_aux.shape}")
    S, A = r_p.shape
    eye = np.eye(S)[:, :, None] * np.ones((1, 1, A))
    feats = np.concatenate([eye, eye * r_aux[None]], axis=0)
    names = tuple(f"offset[{s}]" for s in range(S)) + tuple(f"w_aux[{s}]" for s in range(S))
    return RewardParameterisation(r_p.copy(), feats, names)


def potential_based_reward(mdp: TabularMDP, potential, gamma: float | None = None) -> np.ndarray:
    r"""The expected potential-based shaping reward :math:`F(s, a) = \gamma\,\mathbb{E}\Phi(s') - \Phi(s)`.

    .. math::
        F(s, a) = \gamma \sum_{s'} P[s, a, s']\, \Phi(s') - \Phi(s),

    Ng, Harada and Russell (1999), Thm 1: adding :math:`F` shifts every policy's value by
    :math:`-\Phi`, so (for an exact solver) the optimal policy, soft-optimal ones included, is
    unchanged.

    Parameters
    ----------
    mdp : TabularMDP
    potential : array, shape (S,)
        :math:`\Phi`.
    gamma : float in [0, 1], optional
        The discount of the shaping; the MDP's by default.

    Returns
    -------
    array, shape (S, A)

    Examples
    --------
    >>> from prefrl.mdp import envs
    >>> potential_based_reward(envs.chain(3, gamma=0.5), [0.0, 1.0, 2.0])
    array([[ 0. ,  0.5],
           [-1. ,  0. ],
           [-1. , -1. ]])
    """
    S = mdp.n_states
    phi = check_array(potential, "potential", shape=(S,))
    g = mdp.gamma if gamma is None else check_in_range(gamma, "gamma", 0.0, 1.0)
    P = mdp.dense_transitions()
    return g * np.einsum("sat,t->sa", P, phi) - phi[:, None]


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class InnerSolution:
    r"""The exact inner optimum :math:`\theta^*(\phi)` and its certificate.

    Attributes
    ----------
    theta : array, shape (S, A)
        Logits :math:`\theta^* = \log \pi^*` (each row normalised; any per-state shift is optimal
        too).
    policy : array, shape (S, A)
        :math:`\pi^* = \pi_{\theta^*}`.
    values : array, shape (S,)
        Soft values of :math:`\pi^*` under :math:`(r_\phi, \gamma_\phi, \tau)`.
    gamma : float
        The inner discount :math:`\gamma_\phi`.
    iterations : int
        Soft value-iteration sweeps plus soft policy-iteration polishing steps.
    bellman_residual : float
        :math:`\|T_\tau V - V\|_\infty` of the returned values (the certificate).
    """

    theta: np.ndarray
    policy: np.ndarray
    values: np.ndarray
    gamma: float
    iterations: int
    bellman_residual: float


@dataclass(frozen=True, eq=False)
class BarfiGradient:
    r"""An estimate of the outer gradient :math:`\nabla_\phi J(\theta^*(\phi))`.

    Attributes
    ----------
    gradient : array, shape (n_params,)
        The estimate (reward parameters, then :math:`\psi` when the discount is learned).
    value : float
        The outer objective :math:`J(\theta^*(\phi))`.
    policy : array, shape (S, A)
        :math:`\pi_{\theta^*(\phi)}`.
    method : str
        ``"implicit"``, ``"neumann"`` or ``"first_order"``.
    terms : int
        Neumann terms K (0 for ``"first_order"``; -1 for the exact ``"implicit"``).
    alpha : float
        Neumann step :math:`\alpha` (NaN for ``"implicit"``).
    stationarity : float
        :math:`\|\nabla_\theta J_\phi(\theta^*)\|_\infty`, the certificate that :math:`\theta^*`
        is a stationary point of the inner objective.
    """

    gradient: np.ndarray
    value: float
    policy: np.ndarray
    method: str
    terms: int
    alpha: float
    stationarity: float


@dataclass(frozen=True, eq=False)
class ImplicitSystem:
    r"""The pieces of the implicit function theorem at :math:`\theta^*(\phi)`.

    Unpacks as ``H, B, g = system``.

    Attributes
    ----------
    hessian : array, shape (S*A, S*A)
        :math:`H = \nabla^2_\theta J_\phi(\theta^*)`.
    cross : array, shape (S*A, n_params)
        :math:`B = \nabla_\theta \nabla_\phi J_\phi(\theta^*)`.
    outer_gradient : array, shape (S*A,)
        :math:`g = \nabla_\theta J(\theta^*)`.
    """

    hessian: np.ndarray
    cross: np.ndarray
    outer_gradient: np.ndarray

    def __iter__(self):
        return iter((self.hessian, self.cross, self.outer_gradient))


@dataclass(frozen=True, eq=False)
class OuterAscentResult:
    r"""Trajectory of outer gradient ascent on :math:`\phi`.

    Attributes
    ----------
    params : array, shape (T + 1, n_params)
        :math:`\phi_0, \dots, \phi_T`.
    values : array, shape (T + 1,)
        :math:`J(\theta^*(\phi_k))`.
    gradient_norms : array, shape (T + 1,)
        :math:`\|\nabla_\phi J\|_2` of the estimator used, at each :math:`\phi_k`.
    policy : array, shape (S, A)
        The inner optimum at the final parameters.
    iterations : int
        T, the number of outer steps taken.
    method : str
        The gradient estimator.
    """

    params: np.ndarray
    values: np.ndarray
    gradient_norms: np.ndarray
    policy: np.ndarray
    iterations: int
    method: str


# ---------------------------------------------------------------------------------- helpers
def _state_occupancy(P, pi, gamma, mu):
    """Unnormalised discounted state occupancy mu^T (I - gamma P_pi)^{-1}, shape (S,)."""
    S = mu.shape[0]
    Ppi = np.einsum("sa,sat->st", pi, P)
    d = np.linalg.solve(np.eye(S) - gamma * Ppi.T, mu)
    return np.maximum(d, 0.0)


def _policy_values(P, pi, r, gamma):
    """V^pi and Q^pi for a reward r (S, A) under discount gamma."""
    S = r.shape[0]
    Ppi = np.einsum("sa,sat->st", pi, P)
    V = np.linalg.solve(np.eye(S) - gamma * Ppi, np.einsum("sa,sa->s", pi, r))
    Q = r + gamma * np.einsum("sat,t->sa", P, V)
    return V, Q


def _advantage(P, pi, r, gamma):
    V, Q = _policy_values(P, pi, r, gamma)
    return Q - V[:, None]


def _soft_optimum(P, r, gamma, tau, mu):
    """Soft VI then soft policy iteration (Newton on the soft Bellman equation) to rounding level."""
    A = r.shape[1]
    mdp = TabularMDP(P, r, gamma, mu)
    res = mdp.soft_solve(tau, tol=1e-9)
    logpi = res.log_policy
    its = res.iterations
    logA = np.log(A)
    for _ in range(50):
        pi = np.exp(logpi)
        # Regularised reward of the KL-to-uniform objective: r - tau log(A pi).
        V, _ = _policy_values(P, pi, r - tau * (logpi + logA), gamma)
        Qsoft = r + gamma * np.einsum("sat,t->sa", P, V)
        new = Qsoft / tau - logsumexp(Qsoft / tau, axis=1, keepdims=True)
        its += 1
        delta = float(np.max(np.abs(new - logpi)))
        logpi = new
        if delta <= 1e-15 * (1.0 + np.max(np.abs(logpi))):
            break
    pi = np.exp(logpi)
    V, _ = _policy_values(P, pi, r - tau * (logpi + logA), gamma)
    Qsoft = r + gamma * np.einsum("sat,t->sa", P, V)
    TV = tau * (logsumexp(Qsoft / tau, axis=1) - logA)
    return logpi, pi, V, its, float(np.max(np.abs(TV - V)))


# ---------------------------------------------------------------------------------- the problem
@dataclass(frozen=True, eq=False)
class BilevelProblem:
    r"""The BARFI bi-level problem on a tabular MDP, with an exact entropy-regularised inner solver.

    .. math::
        \max_\phi J(\theta^*(\phi)), \quad
        \theta^*(\phi) = \arg\max_\theta \mathbb{E}_{\mu_0, \pi_\theta}\Big[\sum_t \gamma_\phi^t
        \big(r_\phi(s_t, a_t) - \tau \log(A\,\pi_\theta(a_t|s_t))\big)\Big],

    where :math:`J` is the unregularised return of the primary reward :math:`r_p` (the MDP's
    expected rewards) with the MDP's discount :math:`\gamma`; :math:`r_\phi = b + \sum_i \phi_i
    F_i` (:class:`RewardParameterisation`); and :math:`\gamma_\phi = \sigma(\psi)` when
    ``learn_gamma`` (then :math:`\psi` is the last parameter), else :math:`\gamma_\phi` =
    ``inner_gamma``. Gupta et al. (2023), the bi-level problem (learned discount per their
    code); the exact inner solver is ours.

    Parameters
    ----------
    mdp : TabularMDP
        Infinite-horizon MDP; its expected rewards are :math:`r_p`, its ``initial`` is
        :math:`\mu_0` for both levels.
    reward : RewardParameterisation
        Shapes (S, A) matching the MDP.
    tau : float > 0
        Entropy (KL-to-uniform) weight of the inner problem.
    learn_gamma : bool
        Append :math:`\psi` to the parameters, :math:`\gamma_\phi = \sigma(\psi)`.
    inner_gamma : float in [0, 1), optional
        Fixed inner discount when not learned; the MDP's :math:`\gamma` by default.

    Examples
    --------
    >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
    >>> round(prob.outer_value([1.0, 0.0]), 4)         # softmax(r_p / tau) . r_p
    0.7311
    """

    mdp: TabularMDP
    reward: RewardParameterisation
    tau: float
    learn_gamma: bool = False
    inner_gamma: float | None = None

    def __post_init__(self):
        if not isinstance(self.mdp, TabularMDP):
            raise TypeError(f"mdp must be a TabularMDP, got {type(self.mdp).__name__}")
        if self.mdp.horizon is not None:
            raise ValueError("mdp must be infinite-horizon (discounted)")
        if not isinstance(self.reward, RewardParameterisation):
            raise TypeError("reward must be a RewardParameterisation")
        S, A = self.mdp.n_states, self.mdp.n_actions
        if self.reward.base.shape != (S, A):
            raise ValueError(
                f"reward must have shapes (S, A) = ({S}, {A}), got {self.reward.base.shape}"
            )
        object.__setattr__(self, "tau", check_positive(self.tau, "tau"))
        if self.inner_gamma is not None:
            object.__setattr__(self, "inner_gamma", check_in_range(
                self.inner_gamma, "inner_gamma", 0.0, 1.0, high_open=True))
        object.__setattr__(self, "_P", self.mdp.dense_transitions())

    # ------------------------------------------------------------------ parameters
    @property
    def n_params(self) -> int:
        """Number of outer parameters (reward parameters, plus one if the discount is learned)."""
        return self.reward.n_params + int(self.learn_gamma)

    def _split(self, phi):
        phi = check_array(phi, "phi", shape=(self.n_params,))
        if self.learn_gamma:
            g = float(expit(phi[-1]))
            if not g < 1.0:
                raise ValueError(f"phi[-1] = {phi[-1]:.6g} gives gamma_phi = 1; must be < 1")
            return phi[:-1], g
        g = self.mdp.gamma if self.inner_gamma is None else self.inner_gamma
        return phi, g

    def inner_reward(self, phi) -> np.ndarray:
        r""":math:`r_\phi`, shape (S, A)."""
        return self.reward.reward(self._split(phi)[0])

    def inner_discount(self, phi) -> float:
        r""":math:`\gamma_\phi` (:math:`\sigma(\psi)` when learned)."""
        return self._split(phi)[1]

    # ------------------------------------------------------------------ inner and outer levels
    def inner_solve(self, phi) -> InnerSolution:
        r"""The exact inner optimum :math:`\pi^*_\phi \propto e^{Q^*_\phi/\tau}` (soft Bellman).

        .. math::
            Q^*(s,a) = r_\phi(s,a) + \gamma_\phi \sum_{s'} P[s,a,s'] V^*(s'), \quad
            V^*(s) = \tau \log \tfrac{1}{A}\sum_a e^{Q^*(s,a)/\tau}, \quad
            \theta^* = \log \pi^* = (Q^* - V^*)/\tau - \log A .

        Parameters
        ----------
        phi : array, shape (n_params,)

        Returns
        -------
        InnerSolution

        Examples
        --------
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> prob.inner_solve([1.0, 1.0]).policy
        array([[0.5, 0.5]])
        """
        w, g = self._split(phi)
        r = self.reward.reward(w)
        logpi, pi, V, its, res = _soft_optimum(self._P, r, g, self.tau, self.mdp.initial)
        return InnerSolution(logpi, pi, V, g, its, res)

    def outer_value(self, phi) -> float:
        r""":math:`J(\theta^*(\phi)) = \mu_0^\top V^{\pi^*_\phi}_{r_p, \gamma}` (unregularised)."""
        return float(self.mdp.expected_return(self.inner_solve(phi).policy))

    def _pieces(self, phi):
        """Everything the gradient estimators need at theta*(phi)."""
        w, g_in = self._split(phi)
        sol = self.inner_solve(phi)
        P, pi, mu = self._P, sol.policy, self.mdp.initial
        g_out = self.mdp.gamma
        r_p = self.mdp.expected_rewards
        d_out = _state_occupancy(P, pi, g_out, mu)
        d_in = _state_occupancy(P, pi, g_in, mu)
        A_out = _advantage(P, pi, r_p, g_out)
        # Advantages of pi* under each basis reward G_i (the columns of the cross derivative).
        G = list(self.reward.features)
        if self.learn_gamma:
            sig = g_in * (1.0 - g_in)  # d gamma / d psi
            G.append(sig * np.einsum("sat,t->sa", P, sol.values))
        A_G = np.stack([_advantage(P, pi, Gi, g_in) for Gi in G])
        # Stationarity certificate: grad_theta J_phi(theta*) = d_in pi A_soft.
        r = self.reward.reward(w) - self.tau * (sol.theta + np.log(P.shape[1]))
        A_soft = _advantage(P, pi, r, g_in)
        stat = float(np.max(np.abs(d_in[:, None] * pi * A_soft)))
        value = float(mu @ _policy_values(P, pi, r_p, g_out)[0])
        return sol, d_out, d_in, A_out, A_G, stat, value

    def implicit_system(self, phi) -> ImplicitSystem:
        r"""The dense pieces of the implicit function theorem at :math:`\theta^*(\phi)`.

        .. math::
            H = \nabla^2_\theta J_\phi(\theta^*) = -\tau \bigoplus_s d_\phi(s)
                \big(\mathrm{diag}\,\pi^*_s - \pi^*_s \pi^{*\top}_s\big), \quad
            B_{(s,a), i} = \frac{\partial^2 J_\phi}{\partial\theta[s,a]\,\partial\phi_i}
                = d_\phi(s)\, \pi^*(a|s)\, A^{\pi^*}_{G_i}(s, a), \quad
            g = \nabla_\theta J(\theta^*) = d(s)\, \pi^*(a|s)\, A^{\pi^*}_{r_p}(s,a),

        where :math:`d_\phi` (:math:`d`) is the discounted state occupancy of :math:`\pi^*` from
        :math:`\mu_0` under :math:`\gamma_\phi` (:math:`\gamma`), :math:`A^\pi_G` the advantage of
        :math:`\pi` for reward :math:`G` under :math:`\gamma_\phi`, :math:`G_i = F_i` for a
        reward parameter and :math:`G_\psi = \sigma'(\psi)\, P V^*_\phi` for the discount. The
        Hessian form holds at the optimum only (the soft advantages and value gradients vanish
        there); it is ours, checked against finite differences of the exact policy gradient.

        Parameters
        ----------
        phi : array, shape (n_params,)

        Returns
        -------
        ImplicitSystem
            ``(H, B, g)`` of shapes (S*A, S*A), (S*A, n_params), (S*A,), flattened row-major
            over (s, a).

        Examples
        --------
        >>> H, B, g = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0).implicit_system([1.0, 0.0])
        >>> H.round(4)
        array([[-0.1966,  0.1966],
               [ 0.1966, -0.1966]])
        """
        return ImplicitSystem(*self._system(phi)[:3])

    def _system(self, phi):
        sol, d_out, d_in, A_out, A_G, stat, value = self._pieces(phi)
        pi = sol.policy
        S, A = pi.shape
        H = np.zeros((S * A, S * A))
        for s in range(S):
            blk = -self.tau * d_in[s] * (np.diag(pi[s]) - np.outer(pi[s], pi[s]))
            H[s * A:(s + 1) * A, s * A:(s + 1) * A] = blk
        B = (d_in[:, None] * pi)[None] * A_G
        g = d_out[:, None] * pi * A_out
        return H, B.reshape(len(A_G), S * A).T, g.ravel(), sol, value, stat

    def implicit_gradient(self, phi) -> BarfiGradient:
        r"""Exact :math:`\nabla_\phi J(\theta^*(\phi))` by the implicit function theorem.

        .. math::
            \nabla_\phi J(\theta^*(\phi)) = -B^\top H^{+} g
            = \frac{1}{\tau} \sum_{s,a} d(s)\, \pi^*(a|s)\, A^{\pi^*}_{G_i}(s,a)\,
              A^{\pi^*}_{r_p}(s,a),

        with :math:`H, B, g` as in :meth:`implicit_system`. :math:`H` is singular along the
        softmax's flat directions (adding a constant to :math:`\theta[s, \cdot]`), so the
        Moore-Penrose pseudo-inverse is used: on each block with :math:`d_\phi(s) > 0`,
        :math:`H_s^+ = -\frac{1}{\tau d_\phi(s)} C\, \mathrm{diag}(1/\pi^*_s)\, C` with
        :math:`C = I - \mathbf{1}\mathbf{1}^\top/A`; :math:`g` is orthogonal to the flat
        directions, so the choice does not matter. Gupta et al. (2023), the implicit gradient as
        recalled in the notes (section not verified); the covariance form on the right is ours
        and needs :math:`d_\phi(s) > 0` wherever :math:`d(s) > 0` (true whenever
        :math:`\gamma_\phi > 0` or :math:`\gamma = 0`).

        Parameters
        ----------
        phi : array, shape (n_params,)

        Returns
        -------
        BarfiGradient

        Examples
        --------
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> prob.implicit_gradient([1.0, 0.0]).gradient.round(4)    # the aux arm is bad
        array([ 0.1966, -0.1966])
        """
        sol, d_out, d_in, A_out, A_G, stat, value = self._pieces(phi)
        pi = sol.policy
        # w = H^+ g without dividing by pi: g_s / pi_s = d(s) A_out(s, .) exactly.
        u = d_out[:, None] * A_out
        u = u - u.mean(axis=1, keepdims=True)
        reach = d_in > 0
        w = np.zeros_like(u)
        w[reach] = -u[reach] / (self.tau * d_in[reach, None])
        B = (d_in[:, None] * pi)[None] * A_G
        grad = -np.einsum("isa,sa->i", B, w)
        return BarfiGradient(grad, value, pi, "implicit", -1, float("nan"), stat)

    def neumann_gradient(self, phi, terms: int, alpha: float | None = None) -> BarfiGradient:
        r"""The truncated Neumann-series estimate of the implicit gradient (Lorraine et al. 2020).

        .. math::
            \widehat{\nabla}_K = \alpha\, B^\top \sum_{j=0}^{K} (I + \alpha H)^j g
            \ \longrightarrow\ -B^\top H^+ g \quad (K \to \infty),

        since :math:`g` lies in the range of the negative semi-definite :math:`H` and
        :math:`\rho = \max_{\lambda \ne 0} |1 + \alpha\lambda| < 1` for
        :math:`0 < \alpha < 2 / \|H\|_2`; the error is
        :math:`B^\top H^+ (I + \alpha H)^{K+1} g`, at most
        :math:`\|B\|_2 \|H^+\|_2 \rho^{K+1} \|g\|_2`. :math:`K = 0` is the first-order variant
        (:math:`H \approx -I/\alpha`). Gupta et al. (2023), code ``BarfiNeumann.outer_Neumann``
        (as described in the notes; the paper used K = 5 with sampled Hessians).

        Parameters
        ----------
        phi : array, shape (n_params,)
        terms : int >= 0
            K.
        alpha : float > 0, optional
            Step :math:`\alpha`; :math:`1/\|H\|_2` by default.

        Returns
        -------
        BarfiGradient

        Examples
        --------
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> prob.neumann_gradient([1.0, 0.0], terms=200).gradient.round(4)
        array([ 0.1966, -0.1966])
        """
        K = check_integer(terms, "terms", minimum=0)
        H, B, g, sol, value, stat = self._system(phi)
        lam = float(np.max(np.abs(np.linalg.eigvalsh(H)))) if H.size else 0.0
        if alpha is None:
            alpha = 1.0 / lam if lam > 0 else 1.0
        alpha = check_positive(alpha, "alpha")
        p = g.copy()
        acc = g.copy()
        for _ in range(K):
            p = p + alpha * (H @ p)
            acc += p
        grad = alpha * (B.T @ acc)
        method = "first_order" if K == 0 else "neumann"
        return BarfiGradient(grad, value, sol.policy, method, K, alpha, stat)

    def first_order_gradient(self, phi, alpha: float | None = None) -> BarfiGradient:
        r"""The first-order estimate :math:`\alpha B^\top g` (:meth:`neumann_gradient` with K = 0).

        .. math::
            \widehat{\nabla}_0 = \alpha\, B^\top g, \qquad H \approx -I/\alpha .

        Gupta et al. (2023), code ``Barfi.py`` with ``approx="First-order"`` (per the notes).

        Parameters
        ----------
        phi : array, shape (n_params,)
        alpha : float > 0, optional

        Returns
        -------
        BarfiGradient

        Examples
        --------
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> bool(prob.first_order_gradient([1.0, 1.0]).gradient[1] < 0)
        True
        """
        return self.neumann_gradient(phi, 0, alpha)


# ---------------------------------------------------------------------------------- bandits
def bandit_problem(r_p, r_aux, tau: float, *, parameterisation: str = "weighted_sum"):
    r"""BARFI on a K-armed bandit: a one-state MDP with :math:`\gamma = 0`.

    .. math::
        J(\theta) = \pi_\theta^\top r_p, \qquad
        \theta^*(\phi) = r_\phi / \tau \ (+ \text{const}), \qquad
        \nabla_\phi J(\theta^*(\phi)) = \tfrac{1}{\tau}\, F\,
            (\mathrm{diag}\,\pi^* - \pi^*\pi^{*\top})\, r_p,

    with :math:`F` the (n, K) matrix of basis rewards. Our tabular reproduction of Gupta et al.
    (2023) (their experiments are deep-RL; see the notes, Sec. 3).

    Parameters
    ----------
    r_p, r_aux : array, shape (K,)
        Primary and auxiliary rewards.
    tau : float > 0
        Entropy weight.
    parameterisation : {"weighted_sum", "alignment"}
        :func:`weighted_sum_parameterisation` or :func:`alignment_parameterisation`.

    Returns
    -------
    BilevelProblem

    Examples
    --------
    >>> prob = bandit_problem([1.0, 0.0, 0.5], [0.0, 2.0, 0.0], tau=0.5)
    >>> prob.inner_solve([1.0, 1.0]).policy.argmax()      # the naive sum picks the aux arm
    np.int64(1)
    """
    r_p = check_array(r_p, "r_p", ndim=1)
    r_aux = check_array(r_aux, "r_aux", ndim=1)
    if r_p.shape != r_aux.shape:
        raise ValueError(f"r_p and r_aux must have the same shape, got {r_p.shape} and {r_aux.shape}")
    K = r_p.shape[0]
    mdp = TabularMDP(np.ones((1, K, 1)), r_p[None, :], 0.0)
    if parameterisation == "weighted_sum":
        par = weighted_sum_parameterisation(r_p, r_aux)
    elif parameterisation == "alignment":
        par = alignment_parameterisation(r_p, r_aux)
    else:
        raise ValueError(
            f"parameterisation must be 'weighted_sum' or 'alignment', got {parameterisation!r}"
        )
    return BilevelProblem(mdp, par, tau)


def bandit_inner_optimum(r_phi, tau: float) -> np.ndarray:
    r"""Closed-form inner optimum of the entropy-regularised bandit: :math:`\mathrm{softmax}(r_\phi/\tau)`.

    .. math::
        \pi^*_\phi = \arg\max_\pi\ \pi^\top r_\phi + \tau \mathcal{H}(\pi)
        = \frac{e^{r_\phi/\tau}}{\sum_b e^{r_\phi(b)/\tau}} .

    The Gibbs variational principle (e.g. Rafailov et al. 2023, Eq. 4, with a uniform
    reference).

    Parameters
    ----------
    r_phi : array, shape (K,)
    tau : float > 0

    Returns
    -------
    array, shape (K,)

    Examples
    --------
    >>> bandit_inner_optimum([0.0, np.log(3.0)], 1.0)
    array([0.25, 0.75])
    """
    r = check_array(r_phi, "r_phi", ndim=1)
    tau = check_positive(tau, "tau")
    z = r / tau
    return np.exp(z - logsumexp(z))


# ---------------------------------------------------------------------------------- outer loop
def outer_ascent(
    problem: BilevelProblem,
    phi0,
    steps: int,
    lr: float,
    *,
    method: str = "implicit",
    terms: int = 5,
    alpha: float | None = None,
    l2: float = 0.0,
) -> OuterAscentResult:
    r"""Outer gradient ascent :math:`\phi_{k+1} = \phi_k + \eta(\widehat\nabla_\phi J(\theta^*(\phi_k)) - \lambda\phi_k)`.

    .. math::
        \phi_{k+1} = \phi_k + \eta \big(\widehat{\nabla}_\phi J(\theta^*(\phi_k))
            - \lambda \phi_k\big),

    with the inner problem solved exactly at every step (the paper interleaves a few inner
    policy-gradient steps instead), :math:`\eta` = ``lr``, :math:`\lambda` = ``l2`` (the
    paper's reward_L2 regulariser, per the notes) and :math:`\widehat\nabla` the exact implicit
    gradient, the Neumann estimate with ``terms`` terms, or the first-order one. Gupta et al.
    (2023), the outer loop (the paper's algorithm box was not read).

    Parameters
    ----------
    problem : BilevelProblem
    phi0 : array, shape (n_params,)
    steps : int >= 0
    lr : float > 0
    method : {"implicit", "neumann", "first_order"}
    terms : int >= 0
        Neumann terms (``method="neumann"``).
    alpha : float > 0, optional
        Neumann step.
    l2 : float >= 0

    Returns
    -------
    OuterAscentResult

    Examples
    --------
    >>> prob = bandit_problem([1.0, 0.0, 0.5], [0.0, 2.0, 0.0], tau=0.5)
    >>> res = outer_ascent(prob, [1.0, 1.0], steps=100, lr=2.0)
    >>> bool(res.values[-1] > 0.9 > res.values[0]), bool(res.params[-1, 1] < 0.5)
    (True, True)
    """
    phi = check_array(phi0, "phi0", shape=(problem.n_params,)).copy()
    steps = check_integer(steps, "steps", minimum=0)
    lr = check_positive(lr, "lr")
    l2 = check_positive(l2, "l2", allow_zero=True)
    if method not in ("implicit", "neumann", "first_order"):
        raise ValueError(
            f"method must be 'implicit', 'neumann' or 'first_order', got {method!r}"
        )

    def estimate(p):
        if method == "implicit":
            return problem.implicit_gradient(p)
        if method == "neumann":
            return problem.neumann_gradient(p, terms, alpha)
        return problem.first_order_gradient(p, alpha)

    params, values, norms = [phi.copy()], [], []
    est = None
    for _ in range(steps + 1):
        est = estimate(phi)
        values.append(est.value)
        norms.append(float(np.linalg.norm(est.gradient)))
        if len(params) > steps:
            break
        phi = phi + lr * (est.gradient - l2 * phi)
        params.append(phi.copy())
    return OuterAscentResult(np.array(params), np.array(values), np.array(norms), est.policy,
                             steps, method)
