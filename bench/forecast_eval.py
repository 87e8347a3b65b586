#!/usr/bin/env python3
"""Forecast benchmark: our model against the seasonal naive and statsforecast on real series.

For each series the holdout protocol of ``a2d server forecast evaluate`` (origins every local
midnight of the test period, hours 1-336 ahead, MASE scaled by the seasonal naive's in-sample
error on the training period) runs for:

* our model (gradient boosting on level-relative features, calibrated P10-P90 band);
* the seasonal naive (the same hour one week before, two weeks for hours 169-336 ahead);
* statsforecast's MSTL (daily and weekly seasons) and AutoETS (daily season), each refitted at
  every origin on the last 8 weeks before it (their full history would take hours per series).

Prints MASE for each, the best statsforecast reference and our ratio to it, the P10-P90 coverage,
the ONNX inference time for one 336-hour forecast and the model bundle's size.

    .venv/bin/python bench/forecast_eval.py [--series auckland,moers,energy] [--no-statsforecast]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from a2d import hourgrid  # noqa: E402
from a2d.forecastwire import Manifest, pack  # noqa: E402
from forecasting import features as ff  # noqa: E402
from sync_server.forecast import calendar, export, series  # noqa: E402
from sync_server.forecast.evaluate import evaluate  # noqa: E402
from sync_server.forecast.model import ModelSettings, Prepared, naive_scale, rows  # noqa: E402

#: the real series (origin and licence in each folder's SOURCE.md)
DATA = ROOT / "tests" / "data"
#: hours of history statsforecast sees at each origin
SF_WINDOW = 8 * 168


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    holidays: str
    tz: str
    train_until: str
    test_until: str
    value_column: str = "count"
    timestamp_column: str = "timestamp"
    cumulative: bool = False


CASES = {
    "auckland": Case("Auckland 45 Queen Street", DATA / "pedestrian_counts/auckland_45_queen_street_hourly_2019_2023.csv",
                     "NZ-AUK", "Pacific/Auckland", "2023-01-01", "2024-01-01"),
    "moers": Case("Moers Steinstraße", DATA / "pedestrian_counts/moers_steinstrasse_hourly_2022-05_2022-07.csv",
                  "DE-NW", "Europe/Berlin", "2022-07-01", "2022-08-01"),
    "energy": Case("Konstanz household grid import (kWh/h)",
                   DATA / "energy/opsd_household_konstanz_residential4_60min_grid_import_kwh_2015_2017.csv",
                   "DE-BW", "Europe/Berlin", "2016-11-01", "2017-02-01",
                   value_column="DE_KN_residential4_grid_import", timestamp_column="utc_timestamp",
                   cumulative=True),
}  # fmt: skip


def _local(day: str, tz: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=hourgrid.zone(tz))


def _statsforecast_mase(prep: Prepared, cut: int, end: int, scale: float) -> dict[str, float]:
    from statsforecast.models import MSTL, AutoETS

    y = prep.series.values
    origins = prep.origins(cut, end)
    err = {"MSTL": 0.0, "AutoETS": 0.0}
    n = 0
    for o in origins:
        hist = y[max(0, int(o) - SF_WINDOW) : int(o)]
        hist = _fill(hist)
        horizon = min(ff.HORIZON_HOURS, end - int(o))
        truth = y[int(o) : int(o) + horizon]
        ok = ~np.isnan(truth)
        preds = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            preds["MSTL"] = MSTL(season_length=[24, 168]).forecast(y=hist, h=horizon)["mean"]
            preds["AutoETS"] = AutoETS(season_length=24).forecast(y=hist, h=horizon)["mean"]
        for k, p in preds.items():
            err[k] += float(np.abs(np.maximum(p, 0) - truth)[ok].sum())
        n += int(ok.sum())
    return {k: v / n / scale for k, v in err.items()}


def _fill(values: np.ndarray) -> np.ndarray:
    """Missing hours → the same hour a week before (or 0): statsforecast takes no NaN."""
    v = values.copy()
    for i in np.flatnonzero(np.isnan(v)):
        v[i] = v[i - 168] if i >= 168 and not np.isnan(v[i - 168]) else 0.0
    return v


def run(case: Case, with_sf: bool) -> None:
    t0 = time.monotonic()
    s = series.read_csv(case.path, case.tz, value_column=case.value_column,
                        timestamp_column=case.timestamp_column, cumulative=case.cumulative)  # fmt: skip
    first = s.first_time().astimezone(hourgrid.zone(case.tz)).date() - timedelta(days=7)
    cal, notes = calendar.build(case.holidays, first, hourgrid.hour_start(s.end).date() + timedelta(days=400))
    prep = Prepared.make(s, cal)
    train_until, test_until = _local(case.train_until, case.tz), _local(case.test_until, case.tz)
    result = evaluate(prep, train_until, test_until, ModelSettings())
    cut, end = s.index(train_until), min(s.index(test_until), len(s.values))
    scale = naive_scale(s.values, cut)
    model = result.model
    onnx_model = export.to_onnx(model)
    one = rows(prep, prep.origins(cut, end)[:1], end + ff.HORIZON_HOURS, need_target=False)
    ms = export.inference_ms(onnx_model, one.x, model)
    diff = export.parity(model, onnx_model, rows(prep, prep.origins(cut, end)[:20], end).x)
    manifest = Manifest(series=case.name, version="bench", tz=case.tz, features=model.feature_names,
                        low=model.low, high=model.high, calendar=cal)  # fmt: skip
    size = len(pack(manifest, onnx_model))
    print(f"\n== {case.name}: train until {case.train_until}, test until {case.test_until} "
          f"({result.n_forecasts} origins, {result.n_hours} hours; {'; '.join(notes) or 'calendar complete'})")  # fmt: skip
    print(f"  ours            MASE {result.mase:.3f}   P10-P90 coverage {result.coverage_p10_p90:.1%}")
    print(
        f"  seasonal naive  MASE {result.mase_seasonal_naive:.3f}   ours/naive {result.mase / result.mase_seasonal_naive:.3f}"
    )
    if with_sf:
        t1 = time.monotonic()
        sf = _statsforecast_mase(prep, cut, end, scale)
        best = min(sf, key=lambda k: sf[k])
        for k, v in sf.items():
            print(f"  statsforecast {k:<8} MASE {v:.3f}")
        print(f"  best statsforecast: {best} {sf[best]:.3f}   ours/best {result.mase / sf[best]:.3f}"
              f"   ({time.monotonic() - t1:.0f} s)")  # fmt: skip
    print(f"  by day ahead: {' '.join(f'{v:.2f}' for v in result.mase_by_day)}")
    print(f"  ONNX: {ms:.3f} ms for 336 hours (1 thread), max |onnx - sklearn| {diff:.1e};"
          f" model {len(onnx_model) / 1024:.0f} KiB, bundle {size / 1024:.0f} KiB; fit {result.fit_seconds:.0f} s,"
          f" all {time.monotonic() - t0:.0f} s")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", default="auckland,moers,energy", help="comma separated: " + ", ".join(CASES))
    ap.add_argument("--no-statsforecast", action="store_true", help="skip the statsforecast references")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with_sf = not args.no_statsforecast
    if with_sf:
        try:
            import statsforecast  # noqa: F401
        except ImportError:
            print("statsforecast is missing: install the bench extra (.venv/bin/pip install -e '.[bench]')"
                  " or run with --no-statsforecast")  # fmt: skip
            return 2
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
    for key in args.series.split(","):
        run(CASES[key.strip()], with_sf)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
