"""What the "Wann ist es voll?" chart says, as plain data (no Kivy): from the edge agent's
``GET /v1/forecast`` document (:mod:`a2d.forecastwire`) to today's bars, one plain sentence and
the line that says what the forecast is made of and who answers for it.

The kiosk's policy: it draws a bar for each hour of today that the agent's ``today`` summary looks
at (its ``chart_hours``), so the bars and the sentence speak of the same hours, and it words the
summary and the model's kind in the visitor's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from a2d.contentpack import TransparencyRecord, pick
from a2d.forecastwire import KIND_GRADIENT_BOOSTING, ForecastDocError, read_hours

from .i18n import N_

Tr = Callable[[str], str]

#: how kiosks name the model kinds the agent reports (``model.kind``)
MODEL_KINDS = {KIND_GRADIENT_BOOSTING: N_("Entscheidungsbäume (Gradient Boosting)")}


def clock_hour(hour: int, lang: str, tr: Tr) -> str:
    """A full hour as people say it: "15 Uhr", "15 h", "3 pm"."""
    if lang == "en":
        return f"{(hour - 1) % 12 + 1} {'am' if hour < 12 else 'pm'}"
    return tr("{hour} Uhr").format(hour=hour)


@dataclass(frozen=True)
class Bar:
    hour: int  # local hour the bar starts
    p10: float
    p50: float
    p90: float
    over: bool  # the hour has passed


@dataclass(frozen=True)
class ForecastDay:
    title: str
    sentence: str
    peak: str  # "Am meisten los: gegen 12 Uhr", or ""
    bars: tuple[Bar, ...]
    busy_threshold: float | None
    legend: str
    label: str  # purpose, inputs, no personal data, model, who is accountable
    record: str | None  # the content pack's transparency record about the forecast, if the pack has it
    more: str  # the button to that record
    sample: str  # "" unless the selftest draws its built-in example
    spoken: str


def _chart_hours(value: Any) -> tuple[int, int] | None:
    """``[first, end]`` local hours of the summary (``[8, 20]``: bars for 8:00 … 19:00), or None."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    first, end = value
    if type(first) is not int or type(end) is not int or not 0 <= first < end <= 24:
        return None
    return first, end


def _join(*parts: str) -> str:
    return " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts if p)


def forecast_day(
    doc: Mapping[str, Any], lang: str, tr: Tr, records: Sequence[TransparencyRecord]
) -> ForecastDay | None:
    """Today's chart, or ``None`` when the document cannot be read or has no hour of today to show."""
    try:
        hours = read_hours(doc)
    except ForecastDocError:
        return None
    today = doc.get("today")
    if not isinstance(today, Mapping) or not isinstance(today.get("date"), str):
        return None
    span = _chart_hours(today.get("chart_hours"))
    if span is None:
        return None
    first_hour, end_hour = span
    now_hour = today.get("now_local_hour")
    now_hour = now_hour if isinstance(now_hour, int) else -1
    bars = []
    for h in hours:
        at = datetime.fromisoformat(h.local)
        if at.date().isoformat() == today["date"] and first_hour <= at.hour < end_hour:
            bars.append(Bar(at.hour, h.p10, h.p50, h.p90, at.hour < now_hour))
    if len(bars) < 2:
        return None
    busy_from = today.get("busy_from_local_hour")
    if isinstance(busy_from, int):
        sentence = tr("Heute ab {hour} wird es voll").format(hour=clock_hour(busy_from, lang, tr))
    elif today.get("busy_earlier"):
        sentence = tr("Heute wird es nicht mehr voll")
    else:
        sentence = tr("Heute wird es nicht voll")
    peak_hour = today.get("peak_local_hour")
    peak = (
        tr("Am meisten los: gegen {hour}").format(hour=clock_hour(peak_hour, lang, tr))
        if isinstance(peak_hour, int)
        else ""
    )
    threshold = doc.get("busy_threshold")
    raw_t = doc.get("transparency")
    t: Mapping[str, Any] = raw_t if isinstance(raw_t, Mapping) else {}
    record_id = str(t.get("record", ""))
    record = next((r for r in records if r.id == record_id), None)
    who = pick(record.fields.get("accountable", {}), lang) if record is not None else ""
    who = who or str(t.get("accountable", ""))
    kind = str(doc.get("model", {}).get("kind", "")) if isinstance(doc.get("model"), Mapping) else ""
    model = tr(MODEL_KINDS[kind]) if kind in MODEL_KINDS else kind
    raw_inputs = t.get("inputs")
    inputs: list[Any] = raw_inputs if isinstance(raw_inputs, list) else []
    label = _join(
        tr("Vorhersage mit KI: erwartete Besucher je Stunde"),
        tr("Eingaben: anonyme Zählwerte, Kalender und Wetter")
        if "weather" in inputs
        else tr("Eingaben: anonyme Zählwerte und Kalender"),
        tr("Keine personenbezogenen Daten"),
        tr("Modell: {model}").format(model=model) if model else "",
        tr("Verantwortlich: {who}").format(who=who) if who else "",
    )
    title = tr("Wann ist es voll?")
    sample = tr("Beispiel für den Selbsttest, keine echte Vorhersage") if doc.get("sample") else ""
    legend = tr("Balken: erwartete Besucher. Heller Bereich: wahrscheinliche Spanne. Linie: ab hier voll.")
    return ForecastDay(
        title=title,
        sentence=sentence,
        peak=peak,
        bars=tuple(bars),
        busy_threshold=float(threshold) if isinstance(threshold, int | float) else None,
        legend=legend,
        label=label,
        record=record.id if record is not None else None,
        more=tr("Mehr zu dieser Vorhersage"),
        sample=sample,
        spoken=_join(title, sample, sentence, peak, label),
    )
