"""The forecast model bundle as the sync server ships it and a device reads it.

The content of a ``model`` bundle (see :mod:`a2d.bundles`) is a zip file with two members:

``model.onnx``
    the gradient-boosting model: input ``features`` (float32, one row per hour ahead, the columns
    named in the manifest), output the log ratio of the count to the row's base.
``forecast.json``
    the manifest: format, series, time zone, feature names, the band's log offsets per day
    ahead, the calendar table (:class:`a2d.forecastfeatures.Calendar`), the last counts the
    model was trained on (so a device can forecast before it has counted a month itself), the
    transparency record and the training figures.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .forecastfeatures import Calendar

MODEL_FORMAT = "a2d-forecast-model/1"
MODEL_MEMBER = "model.onnx"
MANIFEST_MEMBER = "forecast.json"
#: largest manifest or model member a device unpacks
MAX_MEMBER_BYTES = 16 * 1024 * 1024


class ModelBundleError(ValueError):
    """A model bundle a device cannot use: not a zip, a member missing, another format."""


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
            "band": {"coverage": self.coverage, "low": list(self.low), "high": list(self.high)},
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
                low=[float(v) for v in band["low"]],
                high=[float(v) for v in band["high"]],
                coverage=float(band.get("coverage", 0.8)),
                calendar=Calendar.from_dict(d["calendar"]),
                location=str(d.get("location", "")),
                model_type=str(d.get("model_type", "")),
                history_start=int(hist.get("start", 0)),
                history=[None if v is None else float(v) for v in hist.get("values", [])],
                busy_threshold=None if d.get("busy_threshold") is None else float(d["busy_threshold"]),
                trained_at=str(d.get("trained_at", "")),
                train_window=(str(window[0]), str(window[1])),
                metrics=dict(d.get("metrics", {})),
                transparency=dict(d.get("transparency", {})),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelBundleError(f"malformed forecast manifest: {exc}") from None


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
        raise ModelBundleError(f"not a forecast model bundle: {exc}") from None
    return Manifest.from_dict(manifest), model
