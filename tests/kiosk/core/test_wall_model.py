"""The wall's data, without Kivy: the current questions (pack polls and /v1/live), the views'
numbers and words in two languages, and the feed that reads the agent and reports only changes."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from a2d.livewire import LiveQuestion, stamp
from devtools.demopack import demo_pack
from kiosk.fakeagent import FakeAgent
from kiosk.i18n import Translator
from kiosk.wall.feed import Feed, Snapshot
from kiosk.wall.model import Words, counts_of, notice_view, percent, results_view, second_language, views_of
from kiosk.wall.questions import current, current_polls, from_live, from_poll
from tests.conftest import wait_for


def live_question(qid: str = "live-7f3a9c2e") -> LiveQuestion:
    """A live question open from an hour ago for a day (the fake agent lists only open ones)."""
    opens = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return LiveQuestion.from_json({
        "id": qid, "text": {"de": "Soll der Marktplatz autofrei werden?", "fr": "Place piétonne ?"},
        "answers": [{"id": "ja", "label": {"de": "Ja"}}, {"id": "nein", "label": {"de": "Nein", "fr": "Non"}}],
        "opens_at": stamp(opens), "closes_at": stamp(opens + timedelta(days=1)), "sites": []})  # fmt: skip


def words(second: str | None = "fr") -> Words:
    return Words(Translator(), "de", second)


def test_a_live_question_becomes_a_question_of_the_wall() -> None:
    q = from_live(live_question())
    assert q.live and q.kind == "live" and q.hidden_until is None
    assert [a.id for a in q.answers] == ["ja", "nein"] and q.text["fr"] == "Place piétonne ?"


def test_current_polls_leave_out_closed_ones_and_live_come_first() -> None:
    pack = demo_pack()
    wish = pack.poll("innenstadt-wunsch")
    assert wish is not None and wish.closes == "2026-09-30"
    assert [q.id for q in current_polls(pack, date(2026, 9, 30))] == ["zufriedenheit", "innenstadt-wunsch"]
    assert [q.id for q in current_polls(pack, date(2026, 10, 1))] == ["zufriedenheit"]
    live = [from_live(live_question())]
    assert [q.id for q in current(live, current_polls(pack, date(2026, 10, 1)))] == [
        "live-7f3a9c2e",
        "zufriedenheit",
    ]


def test_results_show_numbers_and_percentages_here_and_town_wide_in_two_languages() -> None:
    q = from_live(live_question())
    doc = {"poll_id": q.id, "counts": {"ja": 3, "nein": 1}, "total": 4,
           "town": {"counts": {"ja": 40, "nein": 60}, "total": 100, "at": "2026-12-03T15:00:00Z"}}  # fmt: skip
    v = results_view(q, doc, words())
    assert [(r.answer_id, r.here, r.here_share, r.town, r.town_share) for r in v.rows] == [
        ("ja", 3, 0.75, 40, 0.4), ("nein", 1, 0.25, 60, 0.6)]  # fmt: skip
    assert (v.title.text, v.title.second) == ("Soll der Marktplatz autofrei werden?", "Place piétonne ?")
    assert (v.kicker.text, v.kicker.second) == ("Live-Frage", "Question en direct")
    assert v.rows[0].label.second == "" and v.rows[1].label.second == "Non"  # only where the text has French
    assert v.here_total.text == "4 Stimmen" and v.town_total is not None
    assert (
        (v.town_total.text, v.town_total.second) == ("100 Stimmen", "100 voix")
        and v.live
        and v.note.text == ""
    )
    assert percent(0.404, "de") == "40\u202f%" and percent(0.5, "en") == "50%"
    no_town = results_view(q, {**doc, "town": None}, words())
    assert no_town.town_head is None and no_town.rows[0].town is None
    assert no_town.note.text == "Stadtweite Zahlen sind noch nicht da."
    unknown = results_view(q, None, words(None))
    assert unknown.rows == () and unknown.note.text == "Das Ergebnis ist gerade nicht abrufbar."


def test_a_poll_whose_results_wait_for_its_end_shows_no_counts() -> None:
    wish = demo_pack().poll("innenstadt-wunsch")
    assert wish is not None
    v = results_view(from_poll(wish), {"counts": {"baeume": 9}, "total": 9, "town": None}, words())
    assert v.rows == () and "30.09.2026" in v.note.text and "30/09/2026" in v.note.second


def test_malformed_counts_are_no_counts() -> None:
    assert counts_of({"counts": {"a": -1}}) is None and counts_of({"counts": {"a": True}}) is None
    assert counts_of({"counts": {"a": 2}}) == {"a": 2} and counts_of(None) is None


def test_the_second_language_is_the_packs_next_screen_language_or_the_setting() -> None:
    pack = demo_pack()
    assert second_language(pack, "") == "fr" and second_language(pack, "en") == "en"
    assert second_language(pack, "none") is None and second_language(pack, "de") is None


def test_the_notice_links_the_register_or_names_the_contact() -> None:
    pack = demo_pack()
    linked = notice_view(pack, "https://sync.example/register", words())
    assert linked.url == "https://sync.example/register" and "Register" in linked.register.text
    assert [c.text for c in linked.counted][0] == "Dieser Kiosk" and "niemand" in linked.no_person.text
    bare = notice_view(pack, "", words())
    assert bare.url == "" and "Hauptstraße 90" in bare.register.text


def test_the_cycle_has_every_question_then_the_forecast_then_the_notice() -> None:
    pack = demo_pack()
    qs = current_polls(pack, date(2026, 9, 1))
    keys = [v.key for v in views_of(qs, {}, None, pack, "", words())]
    assert keys == ["results:zufriedenheit", "results:innenstadt-wunsch", "notice"]


def now() -> datetime:
    return datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def test_the_feed_reads_results_and_live_questions_and_keeps_the_last_when_offline() -> None:
    agent = FakeAgent(demo_pack())
    agent.live_questions = [live_question()]
    agent.town = {"zufriedenheit": {"5": 10}}
    agent.vote("zufriedenheit", "5", "de")
    feed = Feed(agent, now=now)
    snap = feed.read()
    assert [q.id for q in snap.questions] == ["live-7f3a9c2e", "zufriedenheit", "innenstadt-wunsch"]
    assert counts_of(snap.results["zufriedenheit"]) == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert counts_of(snap.results["zufriedenheit"]["town"]) == {"5": 10} and snap.online and snap.at == now()
    agent.online = False
    offline = feed.read()
    assert not offline.online and offline.questions == snap.questions and offline.results == snap.results
    assert offline.at == snap.at  # "Stand" stays the time of the last answer


def test_the_feed_reports_a_change_once_not_every_round() -> None:
    agent = FakeAgent(demo_pack())
    feed = Feed(agent, poll_s=1.0, now=now)
    seen: list[Snapshot] = []
    changed = threading.Event()

    def on_change(snap: Snapshot) -> None:
        seen.append(snap)
        changed.set()

    feed.start(on_change)
    try:
        wait_for(changed.is_set, 5, "the first snapshot")
        wait_for(lambda: feed.rounds >= 3, 10, "three rounds")
        assert len(seen) == 1, "an unchanged agent was reported again"
        changed.clear()
        agent.vote("zufriedenheit", "4", "de")
        wait_for(changed.is_set, 5, "the vote's snapshot")
        assert len(seen) == 2 and counts_of(seen[1].results["zufriedenheit"])["4"] == 1
    finally:
        feed.stop()


def test_many_questions_are_read_in_turns_within_the_agents_rate_limit() -> None:
    class Counting(FakeAgent):
        def __init__(self) -> None:
            super().__init__(None)
            self.asked: list[str] = []

        def results_doc(self, poll_id: str):  # type: ignore[no-untyped-def]
            self.asked.append(poll_id)
            return super().results_doc(poll_id)

    agent = Counting()
    agent.live_questions = [live_question(f"live-{i:08x}") for i in range(12)]
    feed = Feed(agent, now=now)
    first = feed.read()
    assert len(agent.asked) == 8 and len(first.questions) == 12
    feed.read()
    assert len(agent.asked) == 16 and set(agent.asked) == {q.id for q in first.questions}
