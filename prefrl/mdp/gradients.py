"""The old module path of :func:`prefrl.mdp.softmax_policy` and
:func:`prefrl.mdp.softmax_policy_gradient` (kept importable; nothing new here).

Both are implemented in ``prefrl/mdp/_gradients.py``; import them from :mod:`prefrl.mdp`.
"""

from ._gradients import softmax_policy, softmax_policy_gradient  # noqa: F401  (old paths)

__all__: list[str] = []
