"""A real edge agent (no MQTT sources, no broker) with a ``[forecast]`` table, serving its local API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import wait_for
from tests.edgeharness import LocalEdge


class ForecastEdge(LocalEdge):
    def __init__(
        self, tmp: Path, *, model: Path | None = None, pack: Path | None = None, extra: str = "",
        device_id: str = "edge-forecast-test",
    ) -> None:  # fmt: skip
        super().__init__(tmp, pack=pack, model=model, extra=extra, device_id=device_id)

    def wait_for_forecast(self, timeout: float, what: str = "the first forecast") -> dict[str, Any]:
        """The agent's forecast document, once ``GET /v1/forecast`` has one (the agent runs)."""
        got: list[dict[str, Any]] = []

        def served() -> bool:
            status, doc = self.get("/v1/forecast")
            if status == 200:
                got.append(doc)
            return status == 200

        wait_for(served, timeout, what, interval=0.25)  # within the kiosk token's rate limit
        return dict(got[-1])

    def first_forecast(self, timeout: float, what: str = "the first forecast") -> dict[str, Any]:
        """Start the agent, wait for its forecast and stop it again; returns the forecast document."""
        self.start()
        try:
            return self.wait_for_forecast(timeout, what)
        finally:
            self.stop()
