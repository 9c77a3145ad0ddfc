r"""The BARFI bi-level problem, its exact inner optimum and its implicit (and Neumann) gradients.

Gupta, Chandak, Jordan, Thomas and da Silva (2023), "Behavior Alignment via Reward Function
Optimization" (NeurIPS 2023, arXiv 2310.19007) choose the reward parameters :math:`\phi` so that
the policy an inner RL algorithm converges to is good for the primary objective:

.. math::
    \max_\phi\ J(\theta^*(\phi)), \qquad
    \theta^*(\phi) = \arg\max_\theta \mathbb{E}_{\mu_0, \pi_\theta}\Big[\sum_t \gamma_\phi^t
        \big(r_\phi(s_t, a_t) - \tau \log(A\, \pi_\theta(a_t|s_t))\big)\Big]

(:class:`BilevelProblem`). The inner optimum is the soft-optimal policy, computed exactly
(:meth:`BilevelProblem.inner_solve`, :class:`InnerSolution`: soft value iteration of
:meth:`prefrl.mdp.TabularMDP.soft_solve`, polished by soft policy iteration). The outer gradient
follows from the implicit function theorem, :math:`\nabla_\phi J = -B^\top H^+ g`
(:meth:`~BilevelProblem.implicit_system`, :class:`ImplicitSystem`;
:meth:`~BilevelProblem.implicit_gradient`, :class:`BarfiGradient`), or from its truncated Neumann
series (Lorraine, Vicol and Duvenaud 2020, "Optimizing Millions of Hyperparameters by Implicit
Differentiation"; :meth:`~BilevelProblem.neumann_gradient`,
:meth:`~BilevelProblem.first_order_gradient`). Policy values, advantages and occupancies come
from :mod:`prefrl.mdp` (:meth:`~prefrl.mdp.TabularMDP.evaluate`,
:func:`prefrl.mdp.occupancy.discounted_occupancy`).

**What is ours.** The implicit gradient and the Neumann
estimate are our reading of the paper and of its released code. The exact entropy-regularised
inner problem, the closed forms (the block pseudo-inverse of :math:`H`, the covariance form of
the gradient) and the learned discount :math:`\gamma_\phi = \sigma(\psi)` as a parameter are ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import expit, logsumexp

from .._deprecation import renamed_parameters
from .._validation import (
    check_array,
    check_in_range,
    check_integer,
    check_positive,
)
from ..mdp import Evaluation, TabularMDP
from ..mdp.occupancy import discounted_occupancy
from ..results import Result
from ._parameterisations import RewardParameterisation

__all__ = ["BarfiGradient", "BilevelProblem", "ImplicitSystem", "InnerSolution"]


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class InnerSolution(Result):
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
    certificate : float
        :math:`\|T_\tau V - V\|_\infty` of the returned values, the soft Bellman residual
        (``bellman_residual`` is its deprecated name).
    converged : bool
        Whether soft value iteration met its tolerance (the polishing only improves on it).
    """

    theta: np.ndarray
    policy: np.ndarray
    values: np.ndarray
    gamma: float
    iterations: int
    certificate: float
    converged: bool = True

    _renamed: ClassVar[dict[str, str]] = {"bellman_residual": "certificate"}


@dataclass(frozen=True, eq=False)
class BarfiGradient(Result):
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
    n_terms : int
        Neumann terms K (0 for ``"first_order"``; -1 for the exact ``"implicit"``; ``terms`` is
        its deprecated name).
    alpha : float
        Neumann step :math:`\alpha` (NaN for ``"implicit"``).
    certificate : float
        :math:`\|\nabla_\theta J_\phi(\theta^*)\|_\infty`, the residual of the inner stationarity
        condition at :math:`\theta^*` (``stationarity`` is its deprecated name).
    """

    gradient: np.ndarray
    value: float
    policy: np.ndarray
    method: str
    n_terms: int
    alpha: float
    certificate: float

    _renamed: ClassVar[dict[str, str]] = {"terms": "n_terms", "stationarity": "certificate"}


@dataclass(frozen=True, eq=False)
class ImplicitSystem(Result):
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


# ---------------------------------------------------------------------------------- helpers
def _evaluation(P, pi, r, gamma, mu) -> Evaluation:
    """V^pi and Q^pi of the reward r (S, A) under the discount gamma (prefrl.mdp's evaluation)."""
    return TabularMDP(P, r, gamma, mu).evaluate(pi)


def _advantage(P, pi, r, gamma, mu):
    ev = _evaluation(P, pi, r, gamma, mu)
    return ev.q_values - ev.values[:, None]


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
        V = _evaluation(P, pi, r - tau * (logpi + logA), gamma, mu).values
        Qsoft = mdp.q_from_values(V)
        new = Qsoft / tau - logsumexp(Qsoft / tau, axis=1, keepdims=True)
        its += 1
        delta = float(np.max(np.abs(new - logpi)))
        logpi = new
        if delta <= 1e-15 * (1.0 + np.max(np.abs(logpi))):
            break
    pi = np.exp(logpi)
    V = _evaluation(P, pi, r - tau * (logpi + logA), gamma, mu).values
    Qsoft = mdp.q_from_values(V)
    TV = tau * (logsumexp(Qsoft / tau, axis=1) - logA)
    return logpi, pi, V, its, float(np.max(np.abs(TV - V))), bool(res.converged)


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
    ``inner_gamma``. Gupta et al. (2023), the bi-level problem (the learned discount is our
    reading of their released code, unverified); the exact inner solver is ours. A problem
    definition, not a result.

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
    >>> from prefrl.barfi import bandit_problem
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
        >>> from prefrl.barfi import bandit_problem
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> prob.inner_solve([1.0, 1.0]).policy
        array([[0.5, 0.5]])
        """
        w, g = self._split(phi)
        r = self.reward.reward(w)
        logpi, pi, V, its, res, conv = _soft_optimum(self._P, r, g, self.tau, self.mdp.initial)
        return InnerSolution(theta=logpi, policy=pi, values=V, gamma=g, iterations=its,
                             certificate=res, converged=conv)

    def outer_value(self, phi) -> float:
        r""":math:`J(\theta^*(\phi)) = \mu_0^\top V^{\pi^*_\phi}_{r_p, \gamma}` (unregularised)."""
        return float(self.mdp.expected_return(self.inner_solve(phi).policy))

    def _pieces(self, phi):
        """Everything the gradient estimators need at theta*(phi).

        The discounted state-action occupancies ``occ_out`` (discount gamma) and ``occ_in``
        (gamma_phi) of pi* from mu_0, d(s) pi*(a|s); the advantages of pi* for r_p under gamma
        and for each basis reward under gamma_phi; the stationarity certificate; J(theta*).
        """
        w, g_in = self._split(phi)
        sol = self.inner_solve(phi)
        P, pi, mu = self._P, sol.policy, self.mdp.initial
        occ_out = discounted_occupancy(self.mdp, pi)
        occ_in = discounted_occupancy(self.mdp, pi, g_in)
        ev_out = self.mdp.evaluate(pi)
        A_out = ev_out.q_values - ev_out.values[:, None]
        # Advantages of pi* under each basis reward G_i (the columns of the cross derivative).
        G = list(self.reward.features)
        if self.learn_gamma:
            sig = g_in * (1.0 - g_in)  # d gamma / d psi
            G.append(sig * np.einsum("sat,t->sa", P, sol.values))
        A_G = np.stack([_advantage(P, pi, Gi, g_in, mu) for Gi in G])
        # Stationarity certificate: grad_theta J_phi(theta*) = d_in pi A_soft.
        r = self.reward.reward(w) - self.tau * (sol.theta + np.log(P.shape[1]))
        A_soft = _advantage(P, pi, r, g_in, mu)
        stat = float(np.max(np.abs(occ_in * A_soft)))
        return sol, occ_out, occ_in, A_out, A_G, stat, ev_out.expected_return

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
        >>> from prefrl.barfi import bandit_problem
        >>> H, B, g = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0).implicit_system([1.0, 0.0])
        >>> H.round(4)
        array([[-0.1966,  0.1966],
               [ 0.1966, -0.1966]])
        """
        return ImplicitSystem(*self._system(phi)[:3])

    def _system(self, phi):
        sol, occ_out, occ_in, A_out, A_G, stat, value = self._pieces(phi)
        pi = sol.policy
        S, A = pi.shape
        d_in = occ_in.sum(axis=1)
        H = np.zeros((S * A, S * A))
        for s in range(S):
            blk = -self.tau * d_in[s] * (np.diag(pi[s]) - np.outer(pi[s], pi[s]))
            H[s * A:(s + 1) * A, s * A:(s + 1) * A] = blk
        B = occ_in[None] * A_G
        g = occ_out * A_out
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
        directions, so the choice does not matter. Gupta et al. (2023), the implicit gradient (our
        reading; the paper's section was not checked); the covariance form on the right is ours
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
        >>> from prefrl.barfi import bandit_problem
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> prob.implicit_gradient([1.0, 0.0]).gradient.round(4)    # the aux arm is bad
        array([ 0.1966, -0.1966])
        """
        sol, occ_out, occ_in, A_out, A_G, stat, value = self._pieces(phi)
        # -B^T H^+ g blockwise, in the covariance form: on a state with d_phi(s) > 0,
        # H_s^+ g_s = -d(s) C A_out(s, .) / (tau d_phi(s)) (g_s / pi_s = d(s) A_out(s, .), no
        # division by pi), and B_s = d_phi(s) pi_s A_G(s, .), so d_phi(s) cancels and
        # grad_i = (1/tau) sum_{s: d_phi(s) > 0} sum_a d(s) pi(a|s) A_G_i(s, a) (C A_out)(s, a).
        centred = A_out - A_out.mean(axis=1, keepdims=True)
        reach = occ_in.sum(axis=1) > 0
        w = np.where(reach[:, None], occ_out * centred, 0.0) / self.tau
        grad = np.einsum("isa,sa->i", A_G, w)
        return BarfiGradient(gradient=grad, value=value, policy=sol.policy, method="implicit",
                             n_terms=-1, alpha=float("nan"), certificate=stat)

    @renamed_parameters(terms="n_terms")
    def neumann_gradient(self, phi, n_terms: int, alpha: float | None = None) -> BarfiGradient:
        r"""The truncated Neumann-series estimate of the implicit gradient (Lorraine et al. 2020).

        .. math::
            \widehat{\nabla}_K = \alpha\, B^\top \sum_{j=0}^{K} (I + \alpha H)^j g
            \ \longrightarrow\ -B^\top H^+ g \quad (K \to \infty),

        since :math:`g` lies in the range of the negative semi-definite :math:`H` and
        :math:`\rho = \max_{\lambda \ne 0} |1 + \alpha\lambda| < 1` for
        :math:`0 < \alpha < 2 / \|H\|_2`; the error is
        :math:`B^\top H^+ (I + \alpha H)^{K+1} g`, at most
        :math:`\|B\|_2 \|H^+\|_2 \rho^{K+1} \|g\|_2`. :math:`K = 0` is the first-order variant
        (:math:`H \approx -I/\alpha`). The Neumann estimate of the released code of Gupta et al.
        (2023), as we read it (unverified; their K and sampled Hessians are not reproduced).

        Parameters
        ----------
        phi : array, shape (n_params,)
        n_terms : int >= 0
            K (``terms`` is its deprecated name).
        alpha : float > 0, optional
            Step :math:`\alpha`; :math:`1/\|H\|_2` by default.

        Returns
        -------
        BarfiGradient

        Examples
        --------
        >>> from prefrl.barfi import bandit_problem
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> prob.neumann_gradient([1.0, 0.0], n_terms=200).gradient.round(4)
        array([ 0.1966, -0.1966])
        """
        K = check_integer(n_terms, "n_terms", minimum=0)
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
        return BarfiGradient(gradient=grad, value=value, policy=sol.policy, method=method,
                             n_terms=K, alpha=alpha, certificate=stat)

    def first_order_gradient(self, phi, alpha: float | None = None) -> BarfiGradient:
        r"""The first-order estimate :math:`\alpha B^\top g` (:meth:`neumann_gradient` with K = 0).

        .. math::
            \widehat{\nabla}_0 = \alpha\, B^\top g, \qquad H \approx -I/\alpha .

        The first-order option of the released code of Gupta et al. (2023), as we read it
        (unverified).

        Parameters
        ----------
        phi : array, shape (n_params,)
        alpha : float > 0, optional

        Returns
        -------
        BarfiGradient

        Examples
        --------
        >>> from prefrl.barfi import bandit_problem
        >>> prob = bandit_problem([1.0, 0.0], [0.0, 1.0], tau=1.0)
        >>> bool(prob.first_order_gradient([1.0, 1.0]).gradient[1] < 0)
        True
        """
        return self.neumann_gradient(phi, 0, alpha)
