"""One small real model per test session: synthetic counts up to this hour, trained with the
server's own code (sync_server.forecast), exported to ONNX and packed as a model bundle."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from a2d import forecastwire, hourgrid
from forecasting import features as ff
from tests.forecast import synth

WEEKS = 8


@dataclass(frozen=True)
class Trained:
    content: bytes  # the model bundle's content (what `a2d server forecast train --out` writes)
    forecaster: Any  # sync_server.forecast.model.Forecaster: the scikit-learn side
    start: int  # epoch hour of the first count
    values: ff.FloatArray


@functools.cache
def trained() -> Trained:
    from sync_server.forecast import calendar, export, series
    from sync_server.forecast.cli import TRANSPARENCY
    from sync_server.forecast.model import ModelSettings, Prepared, fit

    now = datetime.now(UTC).astimezone(hourgrid.zone(synth.TZ)).replace(minute=0, second=0, microsecond=0)
    first = (now - timedelta(weeks=WEEKS)).replace(tzinfo=None)
    data = synth.counts(first, WEEKS * ff.WEEK, seed=5)
    start = hourgrid.epoch_hour(data[0][0])
    values = np.array([c for _, c in data])
    s = series.Series("testplatz", synth.TZ, start, values, location="Testplatz")
    cal, _ = calendar.build(
        "DE-BW,FR-6AE", first.date() - timedelta(days=7), now.date() + timedelta(days=400)
    )
    prep = Prepared.make(s, cal)
    model = fit(
        prep, len(values), ModelSettings(iterations=60, learning_rate=0.2, holdout_days=10, threads=1)
    )
    onnx = export.to_onnx(model)
    hist = values[-ff.HISTORY_HOURS :]
    manifest = forecastwire.Manifest(
        series="testplatz", version="test-1", tz=synth.TZ, location="Testplatz", features=model.feature_names,
        low=model.low, high=model.high, coverage=model.coverage, calendar=cal,
        spread_reference=model.spread_reference, shrink=model.shrink,
        history_start=s.end - len(hist), history=[float(v) for v in hist],
        busy_threshold=float(np.quantile(values[-8 * ff.WEEK :], 0.9)), trained_at="2026-01-01T00:00:00Z",
        transparency=TRANSPARENCY,
    )  # fmt: skip
    return Trained(forecastwire.pack(manifest, onnx), model, start, values)


def model_file(folder: Path) -> Path:
    path = folder / "testplatz.model"
    path.write_bytes(trained().content)
    return path
