r"""The torch bridge: prefrl's reference losses and batched bandit trainers on tensors.

:mod:`prefrl.torch.losses` has the same names, signatures and registries as
:mod:`prefrl.losses`, on float32/float64 tensors on any device, differentiable by autograd.
:mod:`prefrl.torch.bandits` trains many independent bandit instances at once.

Needs PyTorch: ``pip install prefrl[torch]``.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test without torch
    raise ImportError(
        "prefrl.torch needs PyTorch, which is not installed: pip install prefrl[torch]"
    ) from exc

from . import bandits, losses
from .bandits import BanditTrainingResult, train_bandits

__all__ = ["BanditTrainingResult", "bandits", "losses", "train_bandits"]
