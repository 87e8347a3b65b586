"""The holdout protocol: train before a date, forecast from every local midnight of the test period.

Each origin forecasts hours 1–336 ahead from the counts before it only; hours past the end of the
test period or not counted are left out. MASE is the mean absolute error divided by the in-sample
error of the seasonal naive (lag 168 h) over the training period; the seasonal naive's own MASE on
the same hours is the reference. Coverage is the share of counted hours inside the P10–P90 band.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from a2d import hourgrid
from forecasting import features as ff

from .model import (
    Forecaster,
    ModelError,
    ModelSettings,
    Prepared,
    Progress,
    Rows,
    fit,
    naive_scale,
    rows,
    seasonal_naive,
)

#: origins predicted per batch (bounded memory)
BATCH = 64


@dataclass
class Evaluation:
    mase: float
    mase_seasonal_naive: float
    coverage_p10_p90: float
    n_forecasts: int
    n_hours: int
    scale: float
    mase_by_day: list[float]
    fit_seconds: float
    columns: list[str]
    model: Forecaster

    def as_dict(self) -> dict[str, Any]:
        return {
            "mase": round(self.mase, 4),
            "mase_seasonal_naive": round(self.mase_seasonal_naive, 4),
            "coverage_p10_p90": round(self.coverage_p10_p90, 4),
            "n_forecasts": self.n_forecasts,
            "n_hours": self.n_hours,
            "scale": round(self.scale, 4),
            "mase_by_day_ahead": [round(v, 4) for v in self.mase_by_day],
            "fit_seconds": round(self.fit_seconds, 1),
            "shrink": self.model.shrink,
            "features": self.columns,
        }


def evaluate(
    prep: Prepared,
    train_until: datetime,
    test_until: datetime,
    settings: ModelSettings | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    say = progress or (lambda _text: None)
    s = prep.series
    cut, end = s.index(train_until), min(s.index(test_until), len(s.values))
    if cut <= ff.HISTORY_HOURS or cut >= len(s.values):
        raise ModelError(
            f"--train-until {train_until.date()} must lie inside the series"
            f" ({s.first_time().date()} .. {hourgrid.hour_start(s.end).date()}) and leave"
            f" {ff.HISTORY_HOURS // 24} days of history before it"
        )
    if end <= cut:
        raise ModelError("--test-until must come after --train-until")
    started = time.monotonic()
    model = fit(prep, cut, settings, progress)
    fit_seconds = time.monotonic() - started
    scale = naive_scale(s.values, cut)
    origins = prep.origins(cut, end)
    if len(origins) == 0:
        raise ModelError("the test period holds no local midnight to forecast from")
    say(f"forecasting from {len(origins)} origins")
    err, nerr, inside, n = 0.0, 0.0, 0, 0
    days = ff.HORIZON_HOURS // 24
    by_day = np.zeros(days)
    by_day_n = np.zeros(days)
    for i in range(0, len(origins), BATCH):
        r: Rows = rows(prep, origins[i : i + BATCH], end)
        if len(r.y) == 0:
            continue
        p10, p50, p90 = model.quantiles(r)
        naive = seasonal_naive(s.values, r.origin, r.horizon)
        ok = ~np.isnan(naive)  # both methods on the same hours
        e = np.abs(p50 - r.y)[ok]
        err += float(e.sum())
        nerr += float(np.abs(naive - r.y)[ok].sum())
        inside += int(((r.y >= p10) & (r.y <= p90))[ok].sum())
        n += int(ok.sum())
        d = (r.horizon[ok] - 1) // 24
        by_day += np.bincount(d, weights=e, minlength=days)
        by_day_n += np.bincount(d, minlength=days)
    if n == 0:
        raise ModelError("the test period holds no counted hour")
    return Evaluation(
        mase=err / n / scale,
        mase_seasonal_naive=nerr / n / scale,
        coverage_p10_p90=inside / n,
        n_forecasts=len(origins),
        n_hours=n,
        scale=scale,
        mase_by_day=[float(v) for v in by_day / np.maximum(by_day_n, 1) / scale],
        fit_seconds=fit_seconds,
        columns=model.feature_names,
        model=model,
    )
