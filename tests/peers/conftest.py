"""Fixtures that load the peer trainers' own loss code, with their heavy imports stubbed.

verl 0.9.1 and OpenRLHF 0.11.2 are installed **without their dependencies**
(``pip install --no-deps verl==0.9.1 openrlhf==0.11.2``, a line of ``.ci/run``): their import
chains pull ray, tensordict, deepspeed, flash-attn, vllm and pinned transformers versions that
conflict with TRL 1.16, which is unreasonable for a test of loss formulas. Instead:

- ``verl_core`` loads the real ``verl/trainer/ppo/core_algos.py`` with the real
  ``verl/utils/torch_functional.py`` (``masked_mean``, ``masked_var``, ``masked_whiten``,
  ``masked_sum``), ``verl/utils/groupwise.py``, ``verl/utils/device.py``, ``verl/plugin/`` and
  ``verl/utils/import_utils.py``; skipped are the package ``__init__`` files (which import
  ``verl.protocol``, hence ray and tensordict). Stubbed: ``tensordict.TensorDict`` and
  ``omegaconf.DictConfig`` (type annotations only, when not installed) and the two config
  classes ``verl.trainer.config.AlgoConfig`` and ``verl.workers.config.ActorConfig`` (dataclasses
  of hydra/omegaconf in verl; here :class:`ActorConfig` carries the attributes the loss
  functions read: ``clip_ratio``, ``clip_ratio_low``, ``clip_ratio_high``, ``clip_ratio_c``,
  ``global_batch_info``).
- ``openrlhf_loss`` loads the real ``openrlhf/models/loss.py`` and ``openrlhf/models/utils.py``
  (``compute_approx_kl``, ``compute_reward``, ``masked_mean``) with ``deepspeed`` stubbed (imported
  at the top of ``models/utils.py``, unused by the functions tested); ``openrlhf_maker`` loads the
  real ``openrlhf/trainer/ppo_utils/experience_maker.py`` (the advantage estimators, in
  ``RemoteExperienceMaker.compute_advantages_and_returns``) with ``ray``, the Ray launcher and
  the sequence-balancing helpers stubbed, and the real ``length_penalty.py``,
  ``experience.py`` and ``logging_utils.py``.

When the package is not installed the fixture skips its tests, except under ``CI`` where a
missing peer is an error: CI must run them.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest


def _missing(pkg):
    msg = (f"{pkg} is not installed: pip install --no-deps verl==0.9.1 openrlhf==0.11.2 "
           "(see tests/peers/conftest.py)")
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _root(pkg):
    mod = sys.modules.get(pkg)
    if mod is not None and getattr(mod, "__path__", None):
        return Path(next(iter(mod.__path__)))
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        _missing(pkg)
    return Path(next(iter(spec.submodule_search_locations)))


def _package(name, path):
    """A namespace-like package ``name`` at ``path`` whose ``__init__`` is not run."""
    mod = types.ModuleType(name)
    mod.__path__ = [str(path)]
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    mod.__spec__.submodule_search_locations = [str(path)]
    sys.modules[name] = mod
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, mod)
    return mod


def _stub(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    mod.__prefrl_stub__ = True
    sys.modules[name] = mod
    return mod


def _ensure(name, **attrs):
    """Import ``name``, or stub it with ``attrs`` when it is not installed."""
    try:
        importlib.import_module(name)
    except ImportError:
        _stub(name, **attrs)


class ActorConfig(types.SimpleNamespace):
    """Stand-in for verl's ``ActorConfig``: the attributes its policy losses read."""

    def __init__(self, clip_ratio=0.2, clip_ratio_low=None, clip_ratio_high=None,
                 clip_ratio_c=3.0, **kw):
        super().__init__(clip_ratio=clip_ratio, clip_ratio_low=clip_ratio_low,
                         clip_ratio_high=clip_ratio_high, clip_ratio_c=clip_ratio_c,
                         global_batch_info={}, **kw)

    def get(self, key, default=None):
        return getattr(self, key, default)


class AlgoConfig(types.SimpleNamespace):
    """Stand-in for verl's ``AlgoConfig`` (``gamma``, ``lam``, ``norm_adv_by_std_in_grpo``)."""

    def get(self, key, default=None):
        return getattr(self, key, default)


@pytest.fixture(scope="session")
def verl_core():
    pytest.importorskip("torch")
    root = _root("verl")
    try:  # a full install (ray, tensordict, omegaconf): the real import chain
        return importlib.import_module("verl.trainer.ppo.core_algos")
    except Exception:
        for k in [k for k in sys.modules if k == "verl" or k.startswith("verl.")]:
            del sys.modules[k]

    class TensorDict(dict):
        pass

    class DictConfig(dict):
        pass

    _ensure("tensordict", TensorDict=TensorDict)
    _ensure("omegaconf", DictConfig=DictConfig)
    _package("verl", root)
    _package("verl.utils", root / "utils")
    _package("verl.trainer", root / "trainer")
    _package("verl.trainer.ppo", root / "trainer" / "ppo")
    _package("verl.workers", root / "workers")
    _stub("verl.trainer.config", AlgoConfig=AlgoConfig)
    _stub("verl.workers.config", ActorConfig=ActorConfig)
    groupwise = importlib.import_module("verl.utils.groupwise")
    verl_utils = sys.modules["verl.utils"]
    verl_utils.as_torch_index = groupwise.as_torch_index
    verl_utils.group_mean_std = groupwise.group_mean_std
    importlib.import_module("verl.utils.torch_functional")
    core = importlib.import_module("verl.trainer.ppo.core_algos")
    core.ActorConfig, core.AlgoConfig = ActorConfig, AlgoConfig
    return core


@pytest.fixture(scope="session")
def openrlhf_loss():
    pytest.importorskip("torch")
    root = _root("openrlhf")
    _ensure("deepspeed")
    if "openrlhf" not in sys.modules or not getattr(sys.modules["openrlhf"], "__path__", None):
        _package("openrlhf", root)
    _package("openrlhf.models", root / "models")
    utils = importlib.import_module("openrlhf.models.utils")
    loss = importlib.import_module("openrlhf.models.loss")
    return types.SimpleNamespace(loss=loss, utils=utils)


@pytest.fixture(scope="session")
def openrlhf_maker(openrlhf_loss):
    root = _root("openrlhf")

    class _Remote:
        @staticmethod
        def remote(*a, **k):
            raise RuntimeError("ray is stubbed in these tests")

    _ensure("ray", remote=lambda *a, **k: (lambda f: f), get=lambda x: x, ObjectRef=object,
            put=lambda x: x)
    _package("openrlhf.trainer", root / "trainer")
    _package("openrlhf.trainer.ppo_utils", root / "trainer" / "ppo_utils")
    _package("openrlhf.trainer.ray", root / "trainer" / "ray")
    _package("openrlhf.utils", root / "utils")
    _stub("openrlhf.trainer.ray.launcher", RayActorGroup=object)
    _ensure("openrlhf.utils.seqlen_balancing", get_minimum_num_micro_batch_size=None,
            get_seqlen_balanced_partitions=None)
    maker = importlib.import_module("openrlhf.trainer.ppo_utils.experience_maker")
    return maker
