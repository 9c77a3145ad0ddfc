r"""The torch bridge: prefrl's reference losses and batched bandit trainers on tensors.

:mod:`prefrl.torch.losses` has the same names, signatures and registries as
:mod:`prefrl.losses`, on float32/float64 tensors on any device, differentiable by autograd.
:func:`train_bandits` trains many independent bandit instances at once (file ``_bandits.py``;
the result is a :class:`BanditTrainingResult`). The private files: ``_core.py`` (tensor
plumbing), ``_pairwise.py``, ``_families.py``, ``_policy_gradient.py``, ``_drift.py`` (the twins,
gathered in :mod:`prefrl.torch.losses`), ``_bandits.py``. The modules ``prefrl.torch.bandits``
and ``prefrl.torch.drift`` of earlier releases still import the same names.

Needs PyTorch: ``pip install prefrl[torch]``.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test without torch
    raise ImportError(
        "prefrl.torch needs PyTorch, which is not installed: pip install prefrl[torch]"
    ) from exc

from . import losses
from ._bandits import BanditTrainingResult, train_bandits

from . import bandits, drift  # noqa: F401  # isort: skip  (the modules of earlier releases)

__all__ = ["BanditTrainingResult", "losses", "train_bandits"]
