"""The content editor in Chromium, end to end: an editor changes a poll's question with the keyboard
alone and saves a draft; a second editor's stale save is refused and keeps their text; an admin
publishes; a real edge agent syncing from the real server process serves the new words on its
``/v1/content``. axe-core finds nothing serious on any of the editor's pages."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Browser, Page

from a2d import bundles
from sync_server import publishing, signing
from sync_server.console import accounts, audit
from sync_server.db import open_database
from tests.conftest import wait_for
from tests.edgeharness import LocalEdge
from tests.server.conftest import ServerProcess, add_device

from .conftest import PASSWORD
from .test_browser import browser, serious  # noqa: F401  (the module's Chromium)

DEMO = Path(__file__).resolve().parents[2] / "devtools" / "data" / "content-offenburg.json"
NOW = "2026-06-02T08:00:00.000000Z"
NEW_QUESTION = "Wie gefällt Ihnen das neue Bürgerbüro?"


def sign_in(browser: Browser, base: str, user: str) -> Page:  # noqa: F811  (a Browser, not the fixture)
    page = browser.new_context().new_page()
    page.goto(f"{base}/console/login?next=/console/content")
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/console/content")
    return page


def tab_to(page: Page, element_id: str, presses: int = 80) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def served_question(edge: LocalEdge, poll_id: str) -> str:
    status, body = edge.get("/v1/content")
    if status != 200:
        return ""
    pack = json.loads(bundles.parse(body).content)
    return next(p["question"]["de"] for p in pack["polls"] if p["id"] == poll_id)


def test_edit_a_poll_refuse_a_stale_save_publish_and_the_agent_serves_it(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    key = signing.create(tmp_path / "signing.key")  # where the server looks beside its SQLite file
    db = open_database(url)
    db.migrate()
    try:
        for name, role in (("anna", "editor"), ("ben", "editor"), ("chefin", "admin")):
            accounts.add(db, name, role, PASSWORD, NOW, audit.CLI)
        device, token = add_device(db, "edge-content", site="rathaus")
        publishing.publish(db, key, "content", DEMO.read_bytes(), "demo-1", [], NOW)
    finally:
        db.close()
    server = ServerProcess(url, tmp_path / "server.log")
    public = bundles.public_key_text(key)
    edge = LocalEdge(tmp_path, device_id=device, extra=(
        f'[sync]\nurl = "{server.base}"\ntoken = "{token}"\ntrusted_keys = ["{public}"]\n'
        "bundle_interval_s = 0.2\ninterval_s = 0.2\nheartbeat_s = 1\ntimeout_s = 2\n"
    ))  # fmt: skip
    poll = json.loads(DEMO.read_bytes())["polls"][0]
    edge.start()
    try:
        wait_for(lambda: served_question(edge, poll["id"]) == poll["question"]["de"], what="the demo pack")

        anna, ben = sign_in(browser, server.base, "anna"), sign_in(browser, server.base, "ben")
        assert serious(anna) == []
        for page in (anna, ben):  # both open the poll's form before either saves
            page.get_by_role("link", name=poll["question"]["de"], exact=True).click()
            page.wait_for_url("**/console/content/polls/0")
        assert serious(anna) == []
        tab_to(anna, "f-question-de")
        anna.keyboard.press("Control+A")
        anna.keyboard.type(NEW_QUESTION)
        anna.keyboard.press("Enter")  # submits with the form's first button: save
        anna.wait_for_url("**/console/content?saved=1")
        assert anna.get_by_role("status").inner_text() == "Entwurf gespeichert."

        tab_to(ben, "f-question-de")
        ben.keyboard.press("Control+A")
        ben.keyboard.type("Bens Frage")
        ben.keyboard.press("Enter")
        alert = ben.locator("#stale")
        alert.wait_for()
        assert "anna" in alert.inner_text() and "Nicht gespeichert" in alert.inner_text()
        assert ben.locator("#f-question-de").input_value() == "Bens Frage"  # not lost
        assert serious(ben) == []

        anna.goto(f"{server.base}/console/content/preview/polls/0")
        assert NEW_QUESTION in anna.inner_text(".kiosk") and serious(anna) == []
        anna.goto(f"{server.base}/console/content")
        assert anna.get_by_role("button", name="Entwurf veröffentlichen").count() == 0  # editors draft

        chefin = sign_in(browser, server.base, "chefin")
        tab_to(chefin, "publish")
        chefin.keyboard.press("Enter")
        chefin.wait_for_url("**/console/content?published=1")
        assert serious(chefin) == []
        wait_for(lambda: served_question(edge, poll["id"]) == NEW_QUESTION, what="the published question")
    finally:
        edge.stop()
        server.kill()
