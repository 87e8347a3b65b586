"""A real edge agent (no MQTT sources, no broker) with a ``[forecast]`` table, serving its local API."""

from __future__ import annotations

from pathlib import Path

from tests.edgeharness import LocalEdge


class ForecastEdge(LocalEdge):
    def __init__(
        self, tmp: Path, *, model: Path | None = None, pack: Path | None = None, extra: str = "",
        device_id: str = "edge-forecast-test",
    ) -> None:  # fmt: skip
        super().__init__(tmp, pack=pack, model=model, extra=extra, device_id=device_id)
