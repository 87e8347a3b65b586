"""What a device codec is: a pure function from (bytes, fPort) to the vendor's decoded object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from a2d.measurements import Measurement


class CodecError(Exception):
    """The vendor codec would answer ``{"errors": [...]}`` for these bytes.

    ``errors`` holds the vendor's messages verbatim (e.g. ``"unknown FPort"``).
    """

    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


DecodeFn = Callable[[bytes, int], dict[str, Any]]
MeasureFn = Callable[[dict[str, Any]], list[Measurement]]


def _no_measurements(decoded: dict[str, Any]) -> list[Measurement]:
    return []


@dataclass(frozen=True)
class Codec:
    """One device codec, named like the TTN device repository (``vendor/model``).

    ``decode(data, f_port)`` returns exactly the ``data`` object the vendor's JavaScript
    ``decodeUplink`` returns for the same bytes and fPort: same keys, values and value types.
    It raises :class:`CodecError` where the vendor codec returns ``errors``; any other exception
    counts as a codec error too (truncated frames).

    ``measure(decoded)`` maps the vendor object onto the canonical vocabulary in
    :mod:`a2d.measurements`.

    ``models`` lists further TTN ``brand_id/model_id`` pairs this codec serves (the device
    repository maps several models onto one codec file, e.g. ``milesight-iot/ws523``).
    """

    id: str
    decode: DecodeFn
    measure: MeasureFn = _no_measurements
    models: tuple[str, ...] = field(default=())
    description: str = ""
