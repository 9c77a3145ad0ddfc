r"""BARFI on a K-armed bandit: the one-state, :math:`\gamma = 0` case, with its closed forms.

On a bandit the entropy-regularised inner problem of Gupta, Chandak, Jordan, Thomas and da Silva
(2023), "Behavior Alignment via Reward Function Optimization" (NeurIPS 2023), has the closed-form
optimum :math:`\pi^*_\phi = \mathrm{softmax}(r_\phi / \tau)` (the Gibbs variational principle;
:func:`bandit_inner_optimum`) and the outer gradient
:math:`\nabla_\phi J = \frac{1}{\tau} F (\mathrm{diag}\,\pi^* - \pi^*\pi^{*\top}) r_p`.
:func:`bandit_problem` builds the :class:`~prefrl.barfi.BilevelProblem` of a bandit with a primary
and an auxiliary reward. The tabular reproduction is ours (the paper's experiments are deep RL).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import check_array, check_positive
from ..mdp import TabularMDP
from ._bilevel import BilevelProblem
from ._parameterisations import alignment_parameterisation, weighted_sum_parameterisation

__all__ = ["bandit_inner_optimum", "bandit_problem"]


def bandit_problem(r_p, r_aux, tau: float, *, parameterisation: str = "weighted_sum"):
    r"""BARFI on a K-armed bandit: a one-state MDP with :math:`\gamma = 0`.

    .. math::
        J(\theta) = \pi_\theta^\top r_p, \qquad
        \theta^*(\phi) = r_\phi / \tau \ (+ \text{const}), \qquad
        \nabla_\phi J(\theta^*(\phi)) = \tfrac{1}{\tau}\, F\,
            (\mathrm{diag}\,\pi^* - \pi^*\pi^{*\top})\, r_p,

    with :math:`F` the (n, K) matrix of basis rewards. Our tabular reproduction of Gupta et al.
    (2023) (their experiments are deep RL).

    Parameters
    ----------
    r_p, r_aux : array, shape (K,)
        Primary and auxiliary rewards.
    tau : float > 0
        Entropy weight.
    parameterisation : {"weighted_sum", "alignment"}
        :func:`~prefrl.barfi.weighted_sum_parameterisation` or
        :func:`~prefrl.barfi.alignment_parameterisation`.

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
