r"""Exact policy gradients of tabular softmax policies, through the occupancy measure.

The tabular softmax policy is :math:`\pi_\theta(a|s) \propto \pi_{ref}(a|s)\, e^{\theta[s, a]}`
(:math:`\pi_{ref}` is uniform unless given). Its objective, optionally KL/entropy-regularised, is

.. math::
    J_\beta(\theta) = \mathbb{E}\Big[\sum_t \gamma^t \big(r(s_t, a_t)
        - \beta \log \tfrac{\pi_\theta(a_t|s_t)}{\pi_{ref}(a_t|s_t)}\big)\Big],
        \qquad s_0 \sim \mu_0 .

- :func:`softmax_policy`: :math:`\pi_\theta`;
- :func:`softmax_policy_gradient`: :math:`J_\beta(\theta)` and its exact gradient
  :math:`d^{\pi_\theta}(s, a)\, A_\beta(s, a)` (Sutton, McAllester, Singh and Mansour 2000,
  "Policy Gradient Methods for Reinforcement Learning with Function Approximation", Thm 1;
  Agarwal, Kakade, Lee and Mahajan 2021, "On the Theory of Policy Gradient Methods", Lemma C.1;
  Mei, Xiao, Szepesvári and Schuurmans 2020, "On the Global Convergence Rates of Softmax Policy
  Gradient Methods", Lemma 10).
"""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_positive
from ._results import PolicyGradient
from ._soft import log_pi_ref, log_tilt
from ._tabular import TabularMDP

__all__ = ["softmax_policy", "softmax_policy_gradient"]


def _log_softmax_policy(mdp: TabularMDP, theta, pi_ref):
    theta = check_array(theta, "theta", shape=(mdp.n_states, mdp.n_actions))
    logref = log_pi_ref(mdp, pi_ref)
    return log_tilt(logref, theta), logref


@renamed_parameters(reference="pi_ref")
def softmax_policy(mdp: TabularMDP, theta, pi_ref=None) -> np.ndarray:
    r"""The tabular softmax policy :math:`\pi_\theta(a|s) = \pi_{ref}(a|s) e^{\theta[s,a]} / Z(s)`.

    Parameters
    ----------
    mdp : TabularMDP
    theta : array, shape (S, A)
        Logits.
    pi_ref : array, shape (A,) or (S, A), optional
        :math:`\pi_{ref}`; uniform by default. (``reference`` is its deprecated name.)

    Returns
    -------
    array, shape (S, A)

    Examples
    --------
    >>> mdp = TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], gamma=0.5)
    >>> softmax_policy(mdp, [[np.log(3.0), 0.0]])
    array([[0.75, 0.25]])
    """
    return np.exp(_log_softmax_policy(mdp, theta, pi_ref)[0])


@renamed_parameters(reference="pi_ref")
def softmax_policy_gradient(
    mdp: TabularMDP, theta, beta: float = 0.0, pi_ref=None
) -> PolicyGradient:
    r"""Exact gradient of :math:`J_\beta(\theta)` for a tabular softmax policy.

    By the policy-gradient theorem written with the occupancy measure
    :math:`d^{\pi}(s, a)` (:meth:`TabularMDP.occupancy`),

    .. math::
        \frac{\partial J_\beta}{\partial \theta[s, a]} = d^{\pi_\theta}(s, a)\, A_\beta(s, a),
        \qquad A_\beta(s, a) = r(s, a) - \beta \log\frac{\pi_\theta(a|s)}{\pi_{ref}(a|s)}
            + \gamma \sum_{s'} P[s, a, s'] V_\beta(s') - V_\beta(s),

    where :math:`V_\beta` is the regularised value of :math:`\pi_\theta` (reward
    :math:`r - \beta \log(\pi_\theta/\pi_{ref})`). The regulariser's own derivative drops out
    because :math:`\sum_a \pi_\theta(a|s)\,\partial_\theta \log \pi_\theta(a|s) = 0`. Sutton et al.
    (2000), Thm 1; Agarwal et al. (2021), Lemma C.1 (softmax, :math:`\beta = 0`); Mei et al. (2020),
    Lemma 10 (entropy regularisation). For a finite-horizon MDP, the occupancy is the
    time-summed one and values are those of the stationary policy with horizon H; the formula
    then needs time-dependent advantages, so only infinite-horizon MDPs are accepted.

    Parameters
    ----------
    mdp : TabularMDP
        An infinite-horizon (discounted) MDP.
    theta : array, shape (S, A)
        Logits.
    beta : float >= 0
        KL weight (0: unregularised; with a uniform :math:`\pi_{ref}`, entropy regularisation up to
        a constant).
    pi_ref : array, shape (A,) or (S, A), optional
        :math:`\pi_{ref}`; uniform by default. (``reference`` is its deprecated name.)

    Returns
    -------
    PolicyGradient
        ``value`` :math:`J_\beta(\theta)` (from :math:`\mu_0`), ``gradient`` (S, A),
        ``policy``, ``occupancy``, ``advantages``.

    Examples
    --------
    >>> mdp = TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], gamma=0.5)
    >>> pg = softmax_policy_gradient(mdp, np.zeros((1, 2)))
    >>> round(pg.value, 6), pg.gradient.round(6)
    (1.0, array([[ 0.5, -0.5]]))
    """
    if mdp.horizon is not None:
        raise ValueError("softmax_policy_gradient needs an infinite-horizon (discounted) MDP")
    beta = check_positive(beta, "beta", allow_zero=True)
    logpi, logref = _log_softmax_policy(mdp, theta, pi_ref)
    pi = np.exp(logpi)
    r = mdp.expected_rewards
    if beta > 0:
        with np.errstate(invalid="ignore"):
            # 0 * log(0 / 0) terms (actions outside pi_ref) contribute nothing.
            kl_term = np.where(pi > 0, logpi - logref, 0.0)
        r = r - beta * kl_term
    Ppi, _ = mdp._policy_matrix(pi)
    rpi = np.einsum("sa,sa->s", pi, r)
    V = mdp._solve_linear(Ppi, rpi)
    Q = mdp._q(np.ascontiguousarray(V), r=np.ascontiguousarray(r))
    adv = Q - V[:, None]
    occ = mdp.occupancy(pi)
    return PolicyGradient(
        value=float(mdp.initial @ V),
        gradient=occ * adv,
        policy=pi,
        occupancy=occ,
        advantages=adv,
    )
