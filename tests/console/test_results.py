"""``/console/results`` in-process on both backends: votes uploaded through the records API counted
per answer, site and (local) day with the pack's words, small counts as "unter 5" in page and CSV,
a Lotse's sites, and the live-question forms (roles, sites, CSRF, audit)."""

from __future__ import annotations

import csv
import io

from a2d import syncwire
from sync_server.console import audit
from tests.server.conftest import add_device, bearer

from .conftest import csrf_of, make_user, sign_in
from .test_pages import _publish_pack

POLL = "zufriedenheit"


def _vote(rid: str, ts: str, choice: str, counted: bool = True) -> dict[str, object]:
    payload: dict[str, object] = {"decoded": {"poll_id": POLL, "choice": choice}}
    if not counted:
        payload["counted"] = False
    return {"record_id": rid, "stream": "feedback", "ts": ts, "payload": payload}


def _upload(c, device: str, token: str, records: list[dict[str, object]]) -> None:
    r = c.post(syncwire.records_path(device), json={"records": records}, headers=bearer(token))
    assert r.status_code == 200, r.text


def _town(db, c) -> None:
    """rathaus: six "5" on 2 June local time (one at 00:30 local, still 1 June in UTC), two "4", one
    press not counted; ov-zell: five "5" on 1 June."""
    _publish_pack(db)
    rathaus, t1 = add_device(db, "kiosk-rathaus", site="rathaus")
    zell, t2 = add_device(db, "kiosk-zell", site="ov-zell")
    votes = [_vote(f"r{i}", "2026-06-02T10:00:00.000000Z", "5") for i in range(5)]
    votes += [_vote("late", "2026-06-01T22:30:00.000000Z", "5"), _vote("f1", "2026-06-02T09:00:00Z", "4"),
              _vote("f2", "2026-06-02T09:01:00Z", "4"), _vote("x", "2026-06-02T09:02:00Z", "5", counted=False)]  # fmt: skip
    _upload(c, rathaus, t1, votes)
    _upload(c, zell, t2, [_vote(f"z{i}", "2026-06-01T08:00:00.000000Z", "5") for i in range(5)])


def _cells(html: str, caption: str) -> str:
    start = html.index(f">{caption}</caption>")
    return html[start : html.index("</table>", start)]


def test_results_per_answer_site_and_day_with_the_words_and_small_counts_hidden(app_client, db) -> None:
    c = app_client()
    _town(db, c)
    make_user(db, "vera", "viewer")
    sign_in(c, "vera")
    page = c.get(f"/console/results?poll={POLL}&from=2026-06-01&to=2026-06-02")
    assert page.status_code == 200
    html = page.text
    assert "Wie zufrieden sind Sie heute mit unserem Service?" in html
    answers = _cells(html, "Stimmen je Antwort")
    assert '<th scope="row">Sehr zufrieden</th><td>11</td><td>11</td>' in answers  # window and town
    assert '<th scope="row">Zufrieden</th><td>unter 5</td><td>unter 5</td>' in answers
    assert "<td>2</td>" not in html  # the two "Zufrieden" never show as a number
    sites = _cells(html, "Stimmen je Standort")
    assert '<th scope="row">rathaus</th><td>0</td><td>0</td><td>0</td><td>unter 5</td><td>6</td>' in sites
    assert '<th scope="row">ov-zell</th><td>0</td><td>0</td><td>0</td><td>0</td><td>5</td>' in sites
    days = _cells(html, "Stimmen je Tag")  # 22:30 UTC on 1 June is 00:30 on 2 June in Offenburg
    assert '<th scope="row">2026-06-01</th><td>0</td><td>0</td><td>0</td><td>0</td><td>5</td>' in days
    assert '<th scope="row">2026-06-02</th><td>0</td><td>0</td><td>0</td><td>unter 5</td><td>6</td>' in days
    assert '<svg role="img"' in html and "Sehr zufrieden: 11" in html  # the chart and its words

    r = c.get(f"/console/results.csv?poll={POLL}&from=2026-06-01&to=2026-06-02")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    got = {(x["site"], x["day"], x["answer"]): x["votes"] for x in rows}
    assert got == {("ov-zell", "2026-06-01", "Sehr zufrieden"): "5",
                   ("rathaus", "2026-06-02", "Sehr zufrieden"): "6",
                   ("rathaus", "2026-06-02", "Zufrieden"): "unter 5"}  # fmt: skip
    assert c.get(f"/console/results?poll={POLL}&from=2026-06-02&to=2026-06-02").text.count("<td>6</td>") >= 1


def test_a_lotse_sees_the_votes_of_their_sites_only(app_client, db) -> None:
    c = app_client()
    _town(db, c)
    make_user(db, "lars", "lotse", ("ov-zell",))
    sign_in(c, "lars")
    html = c.get(f"/console/results?poll={POLL}&from=2026-06-01&to=2026-06-02").text
    assert ">rathaus</th>" not in html and ">ov-zell</th>" in html
    assert "Stimmen insgesamt" not in html  # the town-wide totals cover sites they do not see
    assert '<th scope="row">Sehr zufrieden</th><td>5</td>' in _cells(html, "Stimmen je Antwort")
    assert "results/live" not in html  # no form to start or close a live question
    csv_text = c.get(f"/console/results.csv?poll={POLL}&from=2026-06-01&to=2026-06-02").text
    assert "rathaus" not in csv_text and "ov-zell" in csv_text


def test_unknown_poll_and_bad_window_are_told(app_client, db) -> None:
    c = app_client()
    make_user(db, "vera", "viewer")
    sign_in(c, "vera")
    assert c.get("/console/results?poll=nope").status_code == 404
    assert c.get("/console/results.csv?poll=nope").status_code == 404
    assert c.get("/console/results?from=2026-06-05&to=2026-06-01").status_code == 400
    assert c.get("/console/results?from=kein-datum").status_code == 400
    assert c.get("/console/results?from=2020-01-01&to=2026-06-01").status_code == 400


def test_live_questions_start_and_close_from_the_console(app_client, db) -> None:
    add_device(db, "kiosk-rathaus", site="rathaus")
    add_device(db, "kiosk-zell", site="ov-zell")
    make_user(db, "eddi", "editor", ("rathaus",))
    make_user(db, "lars", "lotse")
    lotse = sign_in(app_client(), "lars")
    token = csrf_of(lotse.get("/console/devices").text)
    form = {"question": "Mehr Bänke?", "answers": "Ja\nNein", "sites": "", "minutes": "30"}
    assert lotse.post("/console/results/live", data={**form, "csrf_token": token}).status_code == 403
    assert db.live_questions(None, 10) == []

    c = sign_in(app_client(), "eddi")
    token = csrf_of(c.get("/console/results").text)
    assert c.post("/console/results/live", data=form).status_code == 403  # no CSRF token
    r = c.post("/console/results/live", data={**form, "sites": "ov-zell", "csrf_token": token})
    assert r.status_code == 400 and "Ihren Standorten" in r.text and "Mehr Bänke?" in r.text  # kept
    r = c.post("/console/results/live", data={**form, "answers": "Ja", "csrf_token": token})
    assert r.status_code == 400 and "at least 2 answers" in r.text
    assert db.live_questions(None, 10) == []

    r = c.post("/console/results/live", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    (row,) = db.live_questions(None, 10)
    assert row.as_json()["sites"] == ["rathaus"]  # an editor of rathaus asks at rathaus
    assert row.started_by == "console:eddi"
    page = c.get(r.headers["location"]).text
    assert "Mehr Bänke?" in page and "läuft" in page
    first = audit.entries(db)[0]
    assert (first.action, first.target, first.actor) == ("live.start", row.id, "eddi")

    r = c.post(
        "/console/results/live/close", data={"id": row.id, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    closed = db.live_question(row.id)
    assert closed is not None and closed.closed_by == "console:eddi" and closed.closes_at < row.closes_at
    assert audit.entries(db)[0].action == "live.close"
