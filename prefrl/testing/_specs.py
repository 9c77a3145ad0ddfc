"""What each reference function takes, as the kit reads it: a live view of the loss registry.

:data:`SPECS` maps every name of :data:`prefrl.losses.LOSSES` to the dict
``{"kind", "arrays", "extras", "defaults", "optional"}`` of its :class:`prefrl.losses.LossSpec`
(declared once, with the loss, by :func:`prefrl.losses.register_loss`):

- ``kind``: ``"pair"`` (n,), ``"pair2"`` (n,) without reference, ``"single"`` (n,), ``"list"``
  (n, K), ``"tokens"`` (B, T), ``"groups"`` (P, G), ``"seq_tokens"`` rewards (B,) + mask (B, T),
  ``"ratio"`` probability ratios and advantages;
- ``extras``: keyword inputs drawn with the arrays, name -> what to draw;
- ``defaults``: options that make a call valid;
- ``optional``: extras the caller may ask for with ``extra=(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..losses import LOSSES


class _SpecView(Mapping):
    """name -> spec dict, read from :data:`prefrl.losses.LOSSES` at every access."""

    def __getitem__(self, name: str) -> dict:
        return LOSSES[name].as_dict()

    def __iter__(self) -> Iterator[str]:
        return iter(LOSSES)

    def __len__(self) -> int:
        return len(LOSSES)

    def __repr__(self) -> str:
        return f"SPECS({sorted(LOSSES)})"


#: name -> dict(kind, arrays, extras, defaults, optional), for every registered loss
SPECS: Mapping[str, dict] = _SpecView()
