r"""BARFI's reward parameterisations: rewards linear in their parameters, and potential-based aux.

Gupta, Chandak, Jordan, Thomas and da Silva (2023), "Behavior Alignment via Reward Function
Optimization" (NeurIPS 2023, arXiv 2310.19007) optimise the parameters :math:`\phi` of the reward
that an inner RL algorithm is trained on. Every form used here is linear in :math:`\phi`,

.. math::
    r_\phi = b + \sum_i \phi_i F_i

(:class:`RewardParameterisation`), which covers

- :func:`weighted_sum_parameterisation`: :math:`r_\phi = \phi_1 r_p + \phi_2 r_{aux}`, our reading
  of the paper's combination of a primary and an auxiliary reward (unverified: the paper's body was
  not checked);
- :func:`alignment_parameterisation`: :math:`r_\phi = r_p + \phi_1(s) + \phi_2(s)\, r_{aux}`, our
  tabular reading of the form in the authors' released code (a state-dependent offset and
  auxiliary weight; not re-checked against the code).

:func:`potential_based_reward` is the expected potential-based shaping reward :math:`\gamma P\Phi -
\Phi` (Ng, Harada and Russell 1999, "Policy Invariance under Reward Transformations", Thm 1), an
auxiliary reward that BARFI must find harmless, computed from
:func:`prefrl.shaping.shaping_reward`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_array, check_in_range, frozen_copy
from ..mdp import TabularMDP
from ..shaping import shaping_reward

__all__ = [
    "RewardParameterisation",
    "alignment_parameterisation",
    "potential_based_reward",
    "weighted_sum_parameterisation",
]


@dataclass(frozen=True, eq=False)
class RewardParameterisation:
    r"""A reward linear in its parameters, :math:`r_\phi = b + \sum_i \phi_i F_i`.

    A problem definition, not a result.

    Attributes
    ----------
    base : array, shape (S, A)
        The fixed part :math:`b`.
    features : array, shape (n, S, A)
        The basis rewards :math:`F_i`.
    names : tuple of str, length n
        A name for each parameter (used in plots and reports).

    Examples
    --------
    >>> par = RewardParameterisation(np.zeros((1, 2)), np.eye(2)[:, None, :], ("a", "b"))
    >>> par.n_params, par.reward([0.5, 2.0])
    (2, array([[0.5, 2. ]]))
    """

    base: np.ndarray
    features: np.ndarray
    names: tuple

    def __post_init__(self):
        base = check_array(self.base, "base", ndim=2)
        feats = check_array(self.features, "features", ndim=3,
                            shape=(None, *base.shape), like="base")
        if isinstance(self.names, (str, bytes)) or len(self.names) != feats.shape[0] or not all(
                isinstance(n, str) for n in self.names):
            raise ValueError(f"names must be {feats.shape[0]} strings, one per feature")
        object.__setattr__(self, "base", frozen_copy(base))
        object.__setattr__(self, "features", frozen_copy(feats))
        object.__setattr__(self, "names", tuple(self.names))

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
    naive combination :math:`r_p + r_{aux}` is :math:`\phi = (1, 1)`. Gupta et al. (2023), the
    combined reward of Sec. 3 as we read it.

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
    r"""The form :math:`r_\phi = r_p + \phi_1(s) + \phi_2(s)\, r_{aux}`, tabular.

    .. math::
        r_\phi(s, a) = r_p(s, a) + \phi_1[s] + \phi_2[s]\, r_{aux}(s, a),

    with one offset :math:`\phi_1[s]` and one auxiliary weight :math:`\phi_2[s]` per state. Our
    reading of the reward in the released code of Gupta et al. (2023) (``Alignment_Reward``, with
    linear heads on state features; one-hot features give this tabular form; not re-checked
    against the code). The naive combination is :math:`\phi_1 = 0, \phi_2 = 1`.

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
        F(s, a) = \sum_{s'} P[s, a, s']\, \big(\gamma\, \Phi(s') - \Phi(s)\big)
        = \gamma \sum_{s'} P[s, a, s']\, \Phi(s') - \Phi(s),

    the shaping reward :math:`\gamma \Phi(s') - \Phi(s)` of :func:`prefrl.shaping.shaping_reward`
    averaged over the next state. Ng, Harada and Russell (1999), Thm 1: adding :math:`F` shifts
    every policy's value by :math:`-\Phi`, so (for an exact solver) the optimal policy,
    soft-optimal ones included, is unchanged.

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
    F = shaping_reward(phi, g, mdp.n_actions)
    return np.einsum("sat,sat->sa", mdp.dense_transitions(), F)
