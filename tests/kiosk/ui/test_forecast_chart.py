"""The "Wann ist es voll?" chart: shown from a real agent's forecast, hidden without one; its
sentence in de/fr/en, its transparency line and the way to the forecast's transparency record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from a2d.contentpack import load
from devtools.demopack import DEMO_PACK
from kiosk.forecastview import clock_hour, forecast_day
from kiosk.i18n import Translator
from kiosk.selftest import sample_forecast
from tests.edge_forecast.edge import ForecastEdge
from tests.edge_forecast.trained import model_file

from .conftest import find, tap, texts, until

pytestmark = pytest.mark.filterwarnings("ignore:Field onnx.AttributeProto.ints:DeprecationWarning")
SENTENCES = ("Heute ab ", "Heute wird es nicht voll", "Heute wird es nicht mehr voll")


def _has_chart(kiosk: Any) -> bool:
    try:
        find(kiosk.root, "forecast-chart")
    except LookupError:
        return False
    return True


def test_the_chart_shows_the_agents_forecast_and_leads_to_its_record(
    make_kiosk: Callable[..., Any], tmp_path: Path, pack_file: Path
) -> None:
    edge = ForecastEdge(tmp_path, model=model_file(tmp_path), pack=pack_file)
    edge.start()
    try:
        edge.wait_for_forecast(20, "the agent's first forecast")
        kiosk = make_kiosk(edge)
        kiosk.ctl.go("home")
        until(lambda: _has_chart(kiosk), 15, "the chart on the home screen")
        sentence = find(kiosk.root, "forecast-sentence").text
        assert sentence.startswith(SENTENCES), sentence
        label = find(kiosk.root, "forecast-label").text
        assert "Keine personenbezogenen Daten" in label and "Entscheidungsbäume" in label
        assert "Verantwortlich: Stadt Offenburg" in label  # from the pack's record, in the screen's language
        assert "Beispiel" not in " ".join(texts(kiosk.root))  # a real forecast is never called a sample

        def opened() -> bool:
            # the agent's content pack may arrive and rebuild the page under the finger: tap again
            if kiosk.page.name != "transparency":
                tap(find(kiosk.root, "forecast-transparency"))
            return bool(kiosk.page.name == "transparency")

        until(opened, 10, "the transparency screen")
        assert kiosk.page.params == {"record": "besucherprognose"}
        assert "Besucherstromvorhersage (KI)" in texts(kiosk.root)
    finally:
        edge.stop()


def test_without_a_forecast_the_chart_is_hidden(
    make_kiosk: Callable[..., Any], tmp_path: Path, pack_file: Path
) -> None:
    edge = ForecastEdge(tmp_path, pack=pack_file)
    edge.start()
    try:
        kiosk = make_kiosk(edge)
        kiosk.ctl.go("home")
        until(lambda: kiosk.ctl.records is not None, 10, "the kiosk to ask the agent")  # noqa: SLF001
        kiosk.ctl.go("home")
        until(lambda: "Ihre Meinung" in texts(kiosk.root), 5, "the home screen")
        assert kiosk.ctl.forecast_data() is None and not _has_chart(kiosk)
    finally:
        edge.stop()


@pytest.mark.parametrize(
    ("lang", "busy", "earlier", "sentence", "hour"),
    [
        ("de", 15, False, "Heute ab 15 Uhr wird es voll", "15 Uhr"),
        ("fr", 15, False, "Aujourd'hui, il y aura du monde à partir de 15 h", "15 h"),
        ("en", 15, False, "Busy from 3 pm today", "3 pm"),
        ("de", None, False, "Heute wird es nicht voll", "15 Uhr"),
        ("en", None, True, "No longer busy today", "3 pm"),
    ],
)  # fmt: skip
def test_the_sentence_in_each_language(
    lang: str, busy: int | None, earlier: bool, sentence: str, hour: str, tmp_path: Path
) -> None:
    tr = Translator(lang, tmp_path)
    doc = sample_forecast()
    doc["today"].update(busy_from_local_hour=busy, busy_earlier=earlier, peak_local_hour=12)
    records = load(DEMO_PACK).transparency
    view = forecast_day(doc, lang, tr, records)
    assert view is not None
    assert view.sentence == sentence and clock_hour(15, lang, tr) == hour
    assert [b.hour for b in view.bars] == list(range(8, 20))
    assert view.sample and view.record == "besucherprognose"
    assert clock_hour(12, "en", tr) == "12 pm" and clock_hour(0, "en", tr) == "12 am"
    assert view.sentence in view.spoken and view.label in view.spoken


def test_an_unreadable_forecast_shows_no_chart(tmp_path: Path) -> None:
    tr = Translator("de", tmp_path)
    assert forecast_day({"hours": "soon"}, "de", tr, ()) is None
    doc = sample_forecast()
    doc["today"]["date"] = "1999-01-01"  # nothing about today
    assert forecast_day(doc, "de", tr, ()) is None


def test_the_bars_are_the_hours_the_agents_summary_speaks_of(tmp_path: Path) -> None:
    tr = Translator("de", tmp_path)
    doc = sample_forecast()
    doc["today"]["chart_hours"] = [10, 15]
    view = forecast_day(doc, "de", tr, ())
    assert view is not None and [b.hour for b in view.bars] == [10, 11, 12, 13, 14]
    for bad in (None, [10], [15, 10], ["8", "20"], [8, 25]):
        doc["today"]["chart_hours"] = bad
        assert forecast_day(doc, "de", tr, ()) is None, bad


def test_the_selftests_sample_says_what_an_agent_would_say_about_it() -> None:
    from datetime import datetime

    from a2d import forecastwire
    from edge_agent.localapi.forecast import today_summary

    doc = sample_forecast()
    hours = forecastwire.read_hours(doc)
    at_930 = datetime.fromisoformat(next(h.local for h in hours if h.local[11:13] == "09")).replace(minute=30)
    assert doc["today"] == today_summary(hours, doc["busy_threshold"], at_930, doc["tz"])
