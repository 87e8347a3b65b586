"""``/console/results`` in Chromium against real processes: an editor starts a live question with
the keyboard alone, a real agent serves it on ``/v1/live`` within 10 s, the votes its kiosk gives
show on the page, closing it in the browser takes it off the agent; axe-core finds nothing serious."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from a2d.timeutil import iso
from sync_server.console import accounts, audit
from sync_server.db import open_database
from tests.conftest import wait_for
from tests.test_live import Edge
from tests.test_sync import Server

from .conftest import PASSWORD
from .test_browser import browser, serious, tab_to  # noqa: F401  (the module's Chromium)


@pytest.fixture
def town(tmp_path: Path) -> Iterator[tuple[Server, Edge]]:
    server = Server(tmp_path)
    device, token = server.add_device("edge-rathaus", "rathaus")
    db = open_database(server.db)
    try:
        accounts.add(db, "eddi", "editor", PASSWORD, "2026-06-02T08:00:00.000000Z", audit.CLI, ("rathaus",))
    finally:
        db.close()
    edge = Edge(tmp_path, f"http://127.0.0.1:{server.port}", device, token)
    edge.start()
    yield server, edge
    edge.stop()
    server.kill(signal.SIGTERM)


def test_a_live_question_started_in_the_browser_reaches_the_agent_and_its_votes_the_page(
    browser,  # noqa: F811
    town,
) -> None:
    server, edge = town
    base = f"http://127.0.0.1:{server.port}"
    page = browser.new_context().new_page()
    page.goto(f"{base}/console/login?next=/console/results")
    page.fill("#username", "eddi")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith("/console/results") and "login" not in url)
    assert serious(page) == []

    tab_to(page, "live-question")  # the form with the keyboard alone
    page.keyboard.type("Soll der Marktplatz autofrei werden?")
    page.keyboard.press("Tab")
    page.keyboard.type("Ja")
    page.keyboard.press("Enter")
    page.keyboard.type("Nein")
    tab_to(page, "live-minutes")
    page.keyboard.press("Control+a")
    page.keyboard.type("15")
    started = time.monotonic()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/results?poll=live-*")
    qid = page.url.split("poll=")[1].split("&")[0]
    wait_for(lambda: qid in edge.live_ids(), 10, "the console's live question on the agent", interval=0.2)
    took = time.monotonic() - started
    assert took < 10, took
    doc = next(q for q in edge.live()["questions"] if q["id"] == qid)
    assert doc["text"] == {"de": "Soll der Marktplatz autofrei werden?"} and doc["sites"] == ["rathaus"]

    assert edge.http is not None  # the kiosk votes; the agent syncs; the page counts
    for i in range(6):
        vote = {"id": f"v-{i}", "poll_id": qid, "choice": "ja", "at": iso(datetime.now(UTC))}
        r = edge.http.post("/feedback", json=vote)
        assert r.status_code == 201, r.text

    def counted() -> bool:
        page.goto(f"{base}/console/results?poll={qid}")
        return '<th scope="row">Ja</th><td>6</td>' in page.content()

    wait_for(counted, 15, "six votes for Ja on the results page", interval=0.5)
    assert page.locator("svg[role=img]").count() == 2  # per answer and per day
    assert serious(page) == []

    tab_to(page, "live-question")
    page.keyboard.press("Shift+Tab")  # back from the start form to the close button before it
    assert page.evaluate("document.activeElement.textContent") == "Jetzt beenden"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    wait_for(lambda: qid not in edge.live_ids(), 10, "the closed question gone from the agent", interval=0.2)
    assert "beendet" in page.content()
