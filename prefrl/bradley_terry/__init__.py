r"""Every Bradley-Terry maximum-likelihood fit in prefrl, in one place.

The Bradley-Terry model (Bradley and Terry 1952) says :math:`p(y \succ y') = \sigma(r(y) - r(y'))`
with :math:`\sigma` the logistic function. Fitting :math:`r` to comparisons by maximum likelihood is
the reward-modelling step of RLHF (Christiano et al. 2017; Ouyang et al. 2022, Eq. 1; Rafailov et
al. 2023, Eq. 2), and, through the implicit reward :math:`\beta \log \pi/\pi_{ref}`, what DPO
solves (Azar et al. 2024, Sec. 4). Every module that fits a Bradley-Terry model calls this one.

**Tabular rewards** (one free reward per action):

- :func:`comparison_counts`: the win matrix :math:`W[i, j]` (weighted number of times i beat j);
- :func:`bt_mle`: the fit from comparisons, :func:`bt_mle_counts` from a win matrix,
  :func:`fit_bradley_terry` from a preference matrix with a ridge (the intransitive case).
  The maximiser is finite iff a ridge is used or every connected component of the comparison
  graph is strongly connected (Zermelo 1929; Ford 1957; Hunter 2004); otherwise the likelihood's
  supremum is approached along the max-margin direction, which :class:`BTFit` returns.

**Linear rewards** :math:`r_w(y) = w^\top \psi(y)` (a logistic regression on feature
differences):

- :func:`linear_bt_objective`: value, gradient and Hessian of the loss on difference rows;
- :func:`linear_bt_mle_differences`: its minimum-norm minimiser, with the separable case (no
  finite maximiser) found by a linear program;
- :func:`linear_bt_mle` (population), :func:`linear_bt_mle_dataset` (comparisons) and
  :func:`linear_bt_mle_counts` (a win matrix), returning :class:`LinearBTFit`.

The tabular fits are in ``_tabular.py``, the linear ones in ``_linear.py``. All fits run the one
damped Newton of :mod:`prefrl._optim`, from zero (so rank-deficient problems
end at their minimum-norm minimiser), and report ``iterations`` and a ``certificate`` (the
gradient's max-norm at the returned point).
"""

from ._linear import (
    LinearBTFit,
    linear_bt_mle,
    linear_bt_mle_counts,
    linear_bt_mle_dataset,
    linear_bt_mle_differences,
    linear_bt_objective,
)
from ._tabular import (
    BTFit,
    bt_mle,
    bt_mle_counts,
    comparison_counts,
    fit_bradley_terry,
    population_counts,
)

__all__ = [
    "BTFit",
    "LinearBTFit",
    "bt_mle",
    "bt_mle_counts",
    "comparison_counts",
    "fit_bradley_terry",
    "linear_bt_mle",
    "linear_bt_mle_counts",
    "linear_bt_mle_dataset",
    "linear_bt_mle_differences",
    "linear_bt_objective",
    "population_counts",
]
