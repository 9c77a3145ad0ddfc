"""prefrl: exact, checked bandit and tabular-MDP formulations of preference-based RL and reward design.

Submodules are imported on first use (``prefrl.mdp``, ``prefrl.losses``, ...), so ``import prefrl``
stays fast and optional extras (torch) are only needed by the parts that use them.

>>> import prefrl
>>> prefrl.policies.gibbs([0.5, 0.5], [1.0, 0.0], beta=1.0).round(3)
array([0.731, 0.269])
"""

from __future__ import annotations

import importlib

from ._version import __version__

__all__ = ["__version__"]

_SUBMODULES = {
    "preferences",
    "policies",
    "registry",
    "plotting",
    "mdp",
    "losses",
    "bandits",
    "bradley_terry",
    "results",
    "games",
    "reward_learning",
    "training",
    "shaping",
    "expressivity",
    "barfi",
    "curriculum",
    "restricted",
    "online",
    "token_credit",
    "testing",
    "torch",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'prefrl' has no attribute {name!r}")


def __dir__():
    return sorted([*__all__, *_SUBMODULES])
