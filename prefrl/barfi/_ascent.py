r"""BARFI's outer loop: gradient ascent on the reward parameters, the inner problem solved exactly.

Gupta, Chandak, Jordan, Thomas and da Silva (2023), "Behavior Alignment via Reward Function
Optimization" (NeurIPS 2023) alternate inner policy updates with outer updates of the reward
parameters :math:`\phi` along an estimate of :math:`\nabla_\phi J(\theta^*(\phi))`. Here
(:func:`outer_ascent`, :class:`OuterAscentResult`) the inner problem is solved exactly at every
outer step and the estimate is the exact implicit gradient, its Neumann series or the
first-order one (:class:`~prefrl.barfi.BilevelProblem`). What is ours: the exact inner solve; the
paper's algorithm box was not checked, and the ridge on :math:`\phi` is our reading of the
released code's reward regulariser (unverified).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_parameters
from .._validation import check_array, check_integer, check_positive
from ..results import Result
from ._bandit import bandit_problem  # noqa: F401  (used by the examples)
from ._bilevel import BilevelProblem

__all__ = ["OuterAscentResult", "outer_ascent"]


@dataclass(frozen=True, eq=False)
class OuterAscentResult(Result):
    r"""Trajectory of outer gradient ascent on :math:`\phi`.

    Attributes
    ----------
    params : array, shape (T + 1, n_params)
        :math:`\phi_0, \dots, \phi_T`.
    values : array, shape (T + 1,)
        :math:`J(\theta^*(\phi_k))`, the outer objective along the run (not per-state values).
    gradient_norms : array, shape (T + 1,)
        :math:`\|\nabla_\phi J\|_2` of the estimator used, at each :math:`\phi_k`.
    policy : array, shape (S, A)
        The inner optimum at the final parameters.
    iterations : int
        T, the number of outer steps taken.
    method : str
        The gradient estimator.
    converged : bool (property)
        Always True: the run takes a fixed number of steps, its stopping rule.
    certificate : float (property)
        ``gradient_norms[-1]``, the norm of the estimated outer gradient at the final parameters
        (the residual of outer stationarity when ``l2 = 0``).
    """

    params: np.ndarray
    values: np.ndarray
    gradient_norms: np.ndarray
    policy: np.ndarray
    iterations: int
    method: str

    @property
    def converged(self) -> bool:
        """True: the fixed number of outer steps is the stopping rule."""
        return True

    @property
    def certificate(self) -> float:
        """The estimated outer gradient's norm at the final parameters."""
        return float(self.gradient_norms[-1])


@renamed_parameters(phi0="init", steps="n_steps", terms="n_terms")
def outer_ascent(
    problem: BilevelProblem,
    init,
    n_steps: int,
    lr: float,
    *,
    method: str = "implicit",
    n_terms: int = 5,
    alpha: float | None = None,
    l2: float = 0.0,
) -> OuterAscentResult:
    r"""Outer gradient ascent :math:`\phi_{k+1} = \phi_k + \eta(\widehat\nabla_\phi J(\theta^*(\phi_k)) - \lambda\phi_k)`.

    .. math::
        \phi_{k+1} = \phi_k + \eta \big(\widehat{\nabla}_\phi J(\theta^*(\phi_k))
            - \lambda \phi_k\big),

    with the inner problem solved exactly at every step (the paper interleaves a few inner
    policy-gradient steps instead), :math:`\eta` = ``lr``, :math:`\lambda` = ``l2`` (a ridge on
    :math:`\phi`, our reading of the released code's reward regulariser) and
    :math:`\widehat\nabla` the exact implicit gradient, the Neumann estimate with ``n_terms``
    terms, or the first-order one. Gupta et al. (2023), the outer loop (the paper's algorithm
    box was not checked).

    Parameters
    ----------
    problem : BilevelProblem
    init : array, shape (n_params,)
        :math:`\phi_0` (``phi0`` is its deprecated name).
    n_steps : int >= 0
        Outer steps (``steps`` is its deprecated name).
    lr : float > 0
    method : {"implicit", "neumann", "first_order"}
    n_terms : int >= 0
        Neumann terms (``method="neumann"``; ``terms`` is its deprecated name).
    alpha : float > 0, optional
        Neumann step.
    l2 : float >= 0

    Returns
    -------
    OuterAscentResult

    Examples
    --------
    >>> prob = bandit_problem([1.0, 0.0, 0.5], [0.0, 2.0, 0.0], tau=0.5)
    >>> res = outer_ascent(prob, [1.0, 1.0], n_steps=100, lr=2.0)
    >>> bool(res.values[-1] > 0.9 > res.values[0]), bool(res.params[-1, 1] < 0.5)
    (True, True)
    """
    phi = check_array(init, "init", shape=(problem.n_params,)).copy()
    steps = check_integer(n_steps, "n_steps", minimum=0)
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
            return problem.neumann_gradient(p, n_terms, alpha)
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
    return OuterAscentResult(params=np.array(params), values=np.array(values),
                             gradient_norms=np.array(norms), policy=est.policy,
                             iterations=steps, method=method)
