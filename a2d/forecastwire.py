"""The forecast model bundle as the sync server ships it and a device reads it.

The content of a ``model`` bundle (see :mod:`a2d.bundles`) is a zip file with two members:

``model.onnx``
    the gradient-boosting model: input ``features`` (float32, one row per hour ahead, the columns
    named in the manifest), output the log ratio of the count to the row's base.
``forecast.json``
    the manifest: format, series, time zone, feature names, the band's log offsets per day
    ahead (and the recent spread they hold at, by which a device scales them), the calendar table
    (:class:`Calendar`), the last counts the
    model was trained on (so a device can forecast before it has counted a month itself), the
    transparency record and the training figures.

The second half of this module is the forecast as the edge agent serves it to kiosks at
``GET /v1/forecast`` (see ``docs/local-api.md``): :func:`forecast_doc` builds it, :func:`read_hours`
checks it on the kiosk. What the document says about today (its ``today`` object) is worked out by
the agent that serves it; how a kiosk draws and words it is the kiosk's own business.

Only the standard library: the features built from these (numpy) are in :mod:`forecasting.features`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .hourgrid import zone

MODEL_FORMAT = "a2d-forecast-model/1"
MODEL_MEMBER = "model.onnx"
MANIFEST_MEMBER = "forecast.json"
#: largest manifest or model member a device unpacks
MAX_MEMBER_BYTES = 16 * 1024 * 1024


class ModelBundleError(ValueError):
    """A model bundle a device cannot use: not a zip, a member missing, another format."""


@dataclass(frozen=True)
class Calendar:
    """Day flags from ``first`` to ``last`` (inclusive): what a model bundle carries to the device.

    ``holidays`` maps ISO dates to names (public holidays of any of the locale's regions);
    ``school`` and ``events`` are ISO dates. Bridge days are derived from these where the features
    are built (:func:`forecasting.features.day_table`): a working day between a holiday and a
    weekend or another holiday.
    """

    first: date
    last: date
    holidays: Mapping[str, str] = field(default_factory=dict)
    school: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    locale: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "locale": self.locale,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "holidays": dict(sorted(self.holidays.items())),
            "school": sorted(self.school),
            "events": sorted(self.events),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calendar:
        try:
            return cls(
                first=date.fromisoformat(d["first"]),
                last=date.fromisoformat(d["last"]),
                holidays={str(k): str(v) for k, v in dict(d.get("holidays", {})).items()},
                school=frozenset(str(x) for x in d.get("school", ())),
                events=frozenset(str(x) for x in d.get("events", ())),
                locale=str(d.get("locale", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelBundleError(f"not a calendar table: {exc}") from exc

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Manifest:
    series: str
    version: str
    tz: str
    features: list[str]
    low: list[float]
    high: list[float]
    calendar: Calendar
    coverage: float = 0.8
    #: the recent spread (:func:`forecasting.features.recent_spread`) at which ``low`` and ``high``
    #: hold; None: use them as they are
    spread_reference: float | None = None
    #: the share of the model's output (its correction of the base) a forecast takes
    shrink: float = 1.0
    location: str = ""
    model_type: str = "gradient boosting (scikit-learn HistGradientBoostingRegressor, absolute error) in ONNX"
    history_start: int = 0  # epoch hour of history[0]
    history: list[float | None] = field(default_factory=list)
    busy_threshold: float | None = None
    trained_at: str = ""
    train_window: tuple[str, str] = ("", "")
    metrics: Mapping[str, Any] = field(default_factory=dict)
    transparency: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "series": self.series,
            "version": self.version,
            "location": self.location,
            "tz": self.tz,
            "features": list(self.features),
            "shrink": self.shrink,
            "band": {
                "coverage": self.coverage,
                "low": list(self.low),
                "high": list(self.high),
                "spread_reference": self.spread_reference,
            },
            "calendar": self.calendar.as_dict(),
            "model_type": self.model_type,
            "history": {"start": self.history_start, "values": list(self.history)},
            "busy_threshold": self.busy_threshold,
            "trained_at": self.trained_at,
            "train_window": list(self.train_window),
            "metrics": dict(self.metrics),
            "transparency": dict(self.transparency),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Manifest:
        if d.get("format") != MODEL_FORMAT:
            raise ModelBundleError(f"not an {MODEL_FORMAT} manifest")
        try:
            band, hist = d["band"], d.get("history", {})
            window = d.get("train_window", ["", ""])
            return cls(
                series=str(d["series"]),
                version=str(d["version"]),
                tz=str(d["tz"]),
                features=[str(f) for f in d["features"]],
                shrink=float(d.get("shrink", 1.0)),
                low=[float(v) for v in band["low"]],
                high=[float(v) for v in band["high"]],
                coverage=float(band.get("coverage", 0.8)),
                spread_reference=_optional_float(band.get("spread_reference")),
                calendar=Calendar.from_dict(d["calendar"]),
                location=str(d.get("location", "")),
                model_type=str(d.get("model_type", "")),
                history_start=int(hist.get("start", 0)),
                history=[None if v is None else float(v) for v in hist.get("values", [])],
                busy_threshold=_optional_float(d.get("busy_threshold")),
                trained_at=str(d.get("trained_at", "")),
                train_window=(str(window[0]), str(window[1])),
                metrics=dict(d.get("metrics", {})),
                transparency=dict(d.get("transparency", {})),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelBundleError(f"malformed forecast manifest: {exc}") from exc


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def pack(manifest: Manifest, onnx_model: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(MANIFEST_MEMBER, json.dumps(manifest.as_dict(), ensure_ascii=False, allow_nan=False))
        z.writestr(MODEL_MEMBER, onnx_model)
    return buf.getvalue()


def unpack(content: bytes) -> tuple[Manifest, bytes]:
    """(manifest, ONNX bytes) of a model bundle's content."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            sizes = {i.filename: i.file_size for i in z.infolist()}
            for member in (MANIFEST_MEMBER, MODEL_MEMBER):
                if member not in sizes:
                    raise ModelBundleError(f"the model bundle has no {member}")
                if sizes[member] > MAX_MEMBER_BYTES:
                    raise ModelBundleError(f"{member} in the model bundle is too large")
            manifest = json.loads(z.read(MANIFEST_MEMBER))
            model = z.read(MODEL_MEMBER)
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelBundleError(f"not a forecast model bundle: {exc}") from exc
    return Manifest.from_dict(manifest), model


# --- the forecast a device serves (GET /v1/forecast) -----------------------------------------------

#: short code of the model kind, which kiosks name in their own words
KIND_GRADIENT_BOOSTING = "gradient_boosting"


class ForecastDocError(ValueError):
    """A forecast document a kiosk cannot show."""


@dataclass(frozen=True)
class HourForecast:
    """One hour: its UTC start, and the P10 / P50 / P90 of the people counted in it."""

    ts: str  # UTC, "2026-06-02T13:00:00Z"
    local: str  # the same instant in local time with its offset, "2026-06-02T15:00:00+02:00"
    p10: float
    p50: float
    p90: float
    observed: float | None = None  # counted (today's hours that are over)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"ts": self.ts, "local": self.local, "p10": round(self.p10, 2),
                             "p50": round(self.p50, 2), "p90": round(self.p90, 2)}  # fmt: skip
        if self.observed is not None:
            d["observed"] = round(self.observed, 2)
        return d


def hour_stamps(epoch_hour: int, tz: str) -> tuple[str, str]:
    """(UTC ISO, local ISO with offset) of the start of an epoch hour."""
    utc = datetime.fromtimestamp(epoch_hour * 3600, UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.astimezone(zone(tz)).isoformat()


def model_kind(model_type: str) -> str:
    """The short kind code of a manifest's ``model_type`` text."""
    text = model_type.lower()
    return KIND_GRADIENT_BOOSTING if ("gradient" in text or "boosting" in text) else (text or "unknown")


def transparency_subset(manifest: Manifest, record_id: str) -> dict[str, Any]:
    """What the kiosk labels the chart with, from the bundle's record (in English, as trained).

    ``record`` names the content pack's transparency record that tells the whole story (kiosks
    link to it); ``inputs`` lists what goes in; ``personal_data`` is ``"none"``.
    """
    t = dict(manifest.transparency)
    inputs = ["counts", "calendar"]
    if "temperature" in manifest.features or "precipitation" in manifest.features:
        inputs.append("weather")
    return {
        "record": record_id,
        "purpose": str(t.get("purpose", "")),
        "inputs": inputs,
        "data_type": str(t.get("data_type", "")),
        "personal_data": str(t.get("personal_data", "none")),
        "model_type": manifest.model_type,
        "technology": str(t.get("technology", "")),
        "processing": str(t.get("processing", "")),
        "accountable": str(t.get("accountable", "")),
    }


def forecast_doc(
    *, series: str, location: str, tz: str, generated_at: str, origin: str, model_version: str,
    model_type: str, trained_at: str, transparency: Mapping[str, Any], busy_threshold: float | None,
    nowcast: Mapping[str, Any], hours: Sequence[HourForecast], today: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The JSON of ``GET /v1/forecast`` (described in ``docs/local-api.md``); ``today`` is what the
    serving agent says about the current local day (its fields are described there too)."""
    return {
        "series": series,
        "location": location,
        "tz": tz,
        "generated_at": generated_at,
        "origin": origin,
        "model": {"version": model_version, "kind": model_kind(model_type), "trained_at": trained_at},
        "transparency": dict(transparency),
        "busy_threshold": busy_threshold,
        "nowcast": dict(nowcast),
        "hours": [h.as_dict() for h in hours],
        "today": dict(today),
    }


def read_hours(doc: Mapping[str, Any]) -> list[HourForecast]:
    """The ``hours`` of a forecast document, checked (a kiosk shows nothing it cannot read)."""
    raw = doc.get("hours")
    if not isinstance(raw, list):
        raise ForecastDocError("the forecast has no hours")
    out = []
    try:
        for h in raw:
            obs = h.get("observed")
            hour = HourForecast(str(h["ts"]), str(h["local"]), float(h["p10"]), float(h["p50"]),
                                float(h["p90"]), None if obs is None else float(obs))  # fmt: skip
            datetime.fromisoformat(hour.local)
            out.append(hour)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ForecastDocError(f"a forecast hour is malformed: {exc}") from exc
    return out
