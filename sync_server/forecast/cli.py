"""`a2d server forecast train|evaluate`: fit, export and publish a forecast model; run the holdout test."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from a2d import forecastwire, hourgrid
from a2d.commandline import with_example
from a2d.errors import KnownError
from a2d.forecastwire import Manifest
from a2d.timeutil import utc_now
from forecasting import features as ff

from .. import output
from . import calendar, series

log = logging.getLogger(__name__)

EXAMPLES = {
    "forecast": "a2d server forecast evaluate --csv counts.csv --holidays DE-BW,FR-6AE"
    " --train-until 2023-01-01 --test-until 2024-01-01 --json",
    "train": "a2d server forecast train --series rathausplatz --csv counts.csv --holidays DE-BW,FR-6AE"
    " --out rathausplatz.model --publish --db sqlite:////var/lib/a2d/server.db",
    "evaluate": "a2d server forecast evaluate --csv counts.csv --holidays NZ-AUK"
    " --train-until 2023-01-01 --test-until 2024-01-01 --json",
}
#: years past the data the shipped calendar covers
CALENDAR_YEARS = 3
TRANSPARENCY = {
    "purpose": "show how busy the town centre is likely to be, hour by hour, for the next 14 days",
    "technology": "gradient-boosted decision trees on counts and the calendar, run on this device",
    "data_type": "hourly counts of passers-by from a people counter (no images, no identifiers)",
    "processing": "counts per hour compared with the weeks before; public and school holidays",
    "personal_data": "none",
    "accountable": "the town's IT department",
}


class ForecastCliError(KnownError):
    """A bad combination of options."""


def _formatter(name: str) -> dict[str, Any]:
    return with_example(EXAMPLES[name])


def _day(text: str) -> datetime:
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return datetime(d.year, d.month, d.day)


def _source(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("the series")
    which = src.add_mutually_exclusive_group(required=True)
    which.add_argument("--csv", type=Path, metavar="FILE", help="a CSV file timestamp,count[,location]")
    which.add_argument("--db", metavar="URL", help="the server database: hourly aggregates of a sensor")
    src.add_argument("--series", help="the series' name (default: the file's name or the sensor)")
    src.add_argument("--location", help="only the CSV rows of this location")
    src.add_argument("--value-column", default="count", help="the CSV column with the counts (default count)")
    src.add_argument(
        "--timestamp-column", default="timestamp", help="the CSV time column (default timestamp)"
    )
    src.add_argument("--cumulative", action="store_true", help="values are meter readings: use per hour")
    src.add_argument(
        "--quantity", default="people_in", help="--db: the canonical quantity (default people_in)"
    )
    src.add_argument("--device", help="--db: only this device's measurements")
    src.add_argument("--sensor", help="--db: only this sensor (its dev_eui)")
    cal = p.add_argument_group("calendar and extra inputs")
    cal.add_argument("--holidays", default="", metavar="ITEMS",
                     help="regions COUNTRY[-SUBDIV], comma separated, e.g. DE-BW,FR-6AE or NZ-AUK")  # fmt: skip
    cal.add_argument("--tz", help="the series' time zone (default: from the first --holidays country)")
    cal.add_argument("--events", type=Path, metavar="FILE", help="event days: CSV with a date column")
    cal.add_argument("--weather", type=Path, metavar="FILE",
                     help="CSV timestamp,temperature_c,precipitation_mm (hourly or daily)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for training (default: every core)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="a2d server forecast",
        description="Forecast models: train, export to ONNX and publish; evaluate on a holdout.",
        **_formatter("forecast"),
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="command")
    train = sub.add_parser("train", help="fit a model on a series, export ONNX, write/publish the bundle",
                           description="fit a model on all of a series, check its ONNX export, write the"
                           " model bundle and optionally publish it signed", **_formatter("train"))  # fmt: skip
    _source(train)
    train.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the bundle")
    train.add_argument("--publish", action="store_true", help="also publish it as the signed model bundle")
    train.add_argument("--key", help="--publish: the signing key file (default as a2d server bundle publish)")
    train.add_argument("--config", help="--publish: optional server.toml")
    train.add_argument("--server-db", metavar="URL", help="--publish: the server database (default: --db)")
    train.add_argument("--target", action="append", default=[], metavar="DEVICE",
                       help="--publish: for this device only (repeat); default every device")  # fmt: skip
    train.add_argument("--version", help="the bundle's version (default: the UTC time now)")
    ev = sub.add_parser("evaluate", help="train before a date, test on the period after it",
                        description="the holdout protocol: origins every local midnight of the test period,"
                        " hours 1-336 ahead; MASE scaled by the seasonal naive's in-sample error",
                        **_formatter("evaluate"))  # fmt: skip
    _source(ev)
    ev.add_argument("--train-until", type=_day, required=True, metavar="DATE", help="first day of the test")
    ev.add_argument("--test-until", type=_day, required=True, metavar="DATE", help="day after the test")
    return p


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"forecast [{time.monotonic() - self.started:6.1f} s] {text}\n")
            sys.stderr.flush()


def load(
    args: argparse.Namespace, say: _Progress
) -> tuple[series.Series, forecastwire.Calendar, ff.Weather | None, list[str]]:
    regions = calendar.parse_locale(args.holidays)
    tz = args.tz or calendar.default_zone(regions)
    hourgrid.zone(tz)
    if args.csv is not None:
        say(f"reading {args.csv}")
        s = series.read_csv(args.csv, tz, name=args.series or "", location=args.location,
                            value_column=args.value_column, timestamp_column=args.timestamp_column,
                            cumulative=args.cumulative)  # fmt: skip
    else:
        say("reading hourly aggregates from the database")
        s = series.read_db(args.db, tz, name=args.series or args.sensor or args.quantity,
                           quantity=args.quantity, device=args.device, sensor=args.sensor)  # fmt: skip
    for line in s.report.lines():
        say(f"import: {line}")
    local_first = s.first_time().astimezone(hourgrid.zone(tz)).date()
    last = hourgrid.hour_start(s.end).date() + timedelta(days=366 * CALENDAR_YEARS)
    events = calendar.read_events(args.events) if args.events else set()
    cal, notes = calendar.build(args.holidays, local_first - timedelta(days=7), last, events)
    for note in notes:
        say(f"calendar: {note}")
    weather = series.read_weather(args.weather, tz) if args.weather else None
    return s, cal, weather, notes


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    say = _Progress(args.quiet)
    if args.command == "evaluate":
        return _evaluate(args, say)
    return _train(args, say)


def _local(d: datetime, tz: str) -> datetime:
    return d.replace(tzinfo=hourgrid.zone(tz))


def _evaluate(args: argparse.Namespace, say: _Progress) -> int:
    from .evaluate import evaluate
    from .model import ModelSettings, Prepared

    s, cal, weather, notes = load(args, say)
    prep = Prepared.make(s, cal, weather)
    settings = ModelSettings(threads=args.threads)
    result = evaluate(prep, _local(args.train_until, s.tz), _local(args.test_until, s.tz), settings, say)
    out = {
        "series": s.name,
        **result.as_dict(),
        "train_until": args.train_until.date().isoformat(),
        "test_until": args.test_until.date().isoformat(),
        "calendar_notes": notes,
        "import": s.report.as_dict(),
    }
    output.say(args.json, out, f"{s.name}: MASE {result.mase:.3f} (seasonal naive {result.mase_seasonal_naive:.3f}),"
                        f" P10-P90 coverage {result.coverage_p10_p90:.1%}, {result.n_forecasts} forecasts,"
                        f" {result.n_hours} hours")  # fmt: skip
    return 0


def _train(args: argparse.Namespace, say: _Progress) -> int:
    from . import export
    from .model import ModelSettings, Prepared, fit, rows

    s, cal, weather, _notes = load(args, say)
    prep = Prepared.make(s, cal, weather)
    n = len(s.values)
    model = fit(prep, n, ModelSettings(threads=args.threads), progress=say)
    say("exporting to ONNX")
    onnx_model = export.to_onnx(model)
    recent = prep.origins(max(0, n - 60 * 24), n)
    check_rows = rows(prep, recent, n + ff.HORIZON_HOURS, need_target=False)
    diff = export.check_parity(model, onnx_model, check_rows.x)
    one = rows(prep, recent[-1:], n + ff.HORIZON_HOURS, need_target=False)
    ms = export.inference_ms(onnx_model, one.x, model)
    version = args.version or utc_now()
    hist = s.values[-ff.HISTORY_HOURS :]
    recent_counts = s.values[-8 * ff.WEEK :]
    recent_counts = recent_counts[~np.isnan(recent_counts)]
    busy = float(np.quantile(recent_counts, 0.9)) if recent_counts.size else None
    manifest = Manifest(
        series=s.name,
        version=version,
        tz=s.tz,
        location=s.location,
        features=model.feature_names,
        low=model.low,
        high=model.high,
        coverage=model.coverage,
        spread_reference=model.spread_reference,
        shrink=model.shrink,
        calendar=cal,
        history_start=s.end - len(hist),
        history=[None if np.isnan(v) else float(v) for v in hist],
        busy_threshold=busy,
        trained_at=utc_now(),
        train_window=(hourgrid.hour_start(s.start).isoformat(), hourgrid.hour_start(s.end).isoformat()),
        metrics={"onnx_max_abs_diff": diff, "onnx_ms_336h": round(ms, 3)},
        transparency=TRANSPARENCY,
    )
    content = export.bundle_content(manifest, onnx_model)
    try:
        args.out.write_bytes(content)
    except OSError as exc:
        raise ForecastCliError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    say(f"wrote {args.out} ({len(content)} bytes)")
    published = _publish(args, content, version) if args.publish else None
    out = {
        "series": s.name,
        "out": str(args.out),
        "version": version,
        "size": len(content),
        "onnx_max_abs_diff": diff,
        "onnx_ms_336h": round(ms, 3),
        "shrink": model.shrink,
        "features": model.feature_names,
        "published": published,
    }
    output.say(args.json, out, f"model for {s.name}: {args.out} ({len(content)} bytes), ONNX matches within {diff:.1e},"
                        f" {ms:.2f} ms for 336 hours" + (f"; published as model bundle {version}" if published else ""))  # fmt: skip
    return 0


def _publish(args: argparse.Namespace, content: bytes, version: str) -> dict[str, Any]:
    from .. import config, publishing, signing
    from ..db import open_database

    url = args.server_db or args.db
    settings = config.load(args.config, db=url, signing_key=args.key)
    key = signing.load(signing.key_path(settings.signing_key, settings.db))
    db = open_database(settings.db, create=False, pool_size=1, synchronous=settings.synchronous)
    try:
        db.migrate()
        rows = publishing.publish(db, key, "model", content, version, args.target, utc_now())
    finally:
        db.close()
    return {
        "kind": "model",
        "version": version,
        "sha256": rows[0].sha256,
        "targets": [r.target for r in rows],
    }
