"""Device codecs, named like the TTN device repository (``vendor/model``).

>>> from edge_agent.codecs import get
>>> get("milesight-iot/ws101").decode(bytes.fromhex("ff2e01"), 85)
{'button': 'short'}
"""

from __future__ import annotations

from functools import cache

from ._base import Codec, CodecError


@cache
def _registry() -> dict[str, Codec]:
    from . import adeunis, browan, decentlab, dragino, imbuildings, milesight, netvox, parametric

    table: dict[str, Codec] = {}
    for module in (adeunis, browan, decentlab, dragino, imbuildings, milesight, netvox, parametric):
        for codec in module.CODECS:
            for name in (codec.id, *codec.models):
                if name in table:
                    raise RuntimeError(f"codec name {name} registered twice")
                table[name] = codec
    return table


def get(codec_id: str) -> Codec:
    """The codec called ``codec_id`` (``KeyError`` with the known names if there is none)."""
    try:
        return _registry()[codec_id.lower()]
    except KeyError:
        raise KeyError(f"unknown codec {codec_id!r}; known: {', '.join(names())}") from None


def for_model(brand_id: str, model_id: str) -> Codec | None:
    """The codec for a TTS ``version_ids`` pair, or ``None``."""
    return _registry().get(f"{brand_id}/{model_id}".lower())


def names() -> list[str]:
    """Every codec id (not the extra model aliases), sorted."""
    return sorted({c.id for c in _registry().values()})


__all__ = ["Codec", "CodecError", "for_model", "get", "names"]
