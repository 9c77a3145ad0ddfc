r"""Reference preference and policy-gradient losses in numpy, with analytic gradients.

Every loss returns the unreduced per-example value; :func:`value_and_grad` returns those values
and the gradient of their sum with respect to every array input. The torch twins live in
:mod:`prefrl.torch.losses`; :mod:`prefrl.testing` checks other implementations against these.

- :mod:`prefrl.losses.pairwise`: DPO and its family (registry :data:`PAIRWISE`), SimPO, ORPO,
  REBEL, DNO.
- :mod:`prefrl.losses.unpaired`: KTO, DRO, PMPO.
- :mod:`prefrl.losses.listwise`: Plackett-Luce DPO, EXO, DPO-K.
- :mod:`prefrl.losses.policy_gradient`: GRPO/RLOO/REINFORCE++/ReMax advantages, KL estimators,
  token aggregation, PPO/GSPO and CISPO surrogates.

>>> from prefrl.losses import PAIRWISE, value_and_grad
>>> PAIRWISE["ipo"]([0.5], [0.0], [0.0], [0.0], beta=1.0)
array([0.])
"""

from __future__ import annotations

from . import drift, listwise, pairwise, policy_gradient, unpaired
from ._registry import GRADIENTS, ValueAndGrad, register_gradient, value_and_grad
from .drift import *  # noqa: F403
from .listwise import *  # noqa: F403
from .pairwise import *  # noqa: F403
from .policy_gradient import *  # noqa: F403
from .unpaired import *  # noqa: F403

sigmoid = pairwise.dpo
robust = pairwise.robust_dpo

__all__ = [
    "GRADIENTS",
    "ValueAndGrad",
    "register_gradient",
    "robust",
    "sigmoid",
    "value_and_grad",
    *pairwise.__all__,
    *unpaired.__all__,
    *listwise.__all__,
    *policy_gradient.__all__,
    *drift.__all__,
]
