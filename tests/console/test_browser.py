"""The console in the system's Chromium (Playwright, never `playwright install`), with axe-core:
a real server process, keyboard-only login, the fleet with a device, sign-out, a form without its
CSRF token refused, and no serious or critical axe finding on any page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from sync_server.console import accounts, audit
from sync_server.db import open_database
from tests.server.conftest import ServerProcess, add_device, bearer

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
BAD = ("serious", "critical")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    """A server process with an admin ``chefin`` and a device that sent a heartbeat: (server, device id)."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    db = open_database(url)
    db.migrate()
    try:
        accounts.add(db, "chefin", "admin", PASSWORD, "2026-06-02T08:00:00.000000Z", audit.CLI)
        device, token = add_device(db, "edge-browser", site="rathaus")
    finally:
        db.close()
    server = ServerProcess(url, tmp_path / "server.log")
    beat = {"versions": {"a2d": "0.1.0"}, "uptime_s": 60, "disk_free_bytes": 5 * 2**30, "outbox": {}}
    r = httpx.post(f"{server.base}/api/v1/devices/{device}/heartbeat", json=beat, headers=bearer(token))
    assert r.status_code == 204
    yield server, device
    server.kill()


def serious(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']})" for v in found if v.get("impact") in BAD]


def tab_to(page: Page, element_id: str) -> None:
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} cannot be reached with the Tab key")


def test_keyboard_login_fleet_csrf_and_sign_out(browser: Browser, site) -> None:
    server, device = site
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{server.base}/console/devices")
    assert "/console/login" in page.url  # no session: the login, coming back to the fleet after
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"  # the skip link first
    tab_to(page, "username")
    page.keyboard.type("chefin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/devices")
    assert device in page.inner_text("main") and "rathaus" in page.inner_text("main")
    assert serious(page) == []
    for path in (f"/console/devices/{device}", "/console/users", "/console/audit"):
        page.goto(server.base + path)
        assert page.url.endswith(path) and serious(page) == [], path
    # a form posted without its CSRF field is refused, and the session stays
    r = ctx.request.post(f"{server.base}/console/logout", form={}, max_redirects=0)
    assert r.status == 403
    page.goto(f"{server.base}/console/devices")
    assert page.url.endswith("/console/devices")
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url("**/console/login?bye=1")
    assert "abgemeldet" in page.inner_text("main")
    page.goto(f"{server.base}/console/devices")
    assert "/console/login" in page.url
    ctx.close()


def test_a_wrong_password_is_told_and_announced(browser: Browser, site) -> None:
    server, _ = site
    page = browser.new_page()
    page.goto(f"{server.base}/console/login")
    page.get_by_label("Benutzername").fill("chefin")
    page.get_by_label("Passwort").fill("falsch-falsch-falsch")
    page.get_by_role("button", name="Anmelden").click()
    assert page.get_by_role("alert").inner_text() == "Benutzername oder Passwort ist falsch."
    assert serious(page) == []
    page.close()


@pytest.mark.parametrize("lang", ["de", "fr", "en"])
def test_axe_finds_nothing_serious_on_the_public_pages(browser: Browser, site, lang: str) -> None:
    server, device = site
    page = browser.new_page()
    for path in ("/", "/register", "/opendata", "/console/login"):
        page.goto(f"{server.base}{path}?lang={lang}")
        assert page.evaluate("document.documentElement.lang") == lang
        assert serious(page) == [], (path, lang)
    page.goto(f"{server.base}/register")
    assert device in page.inner_text("main")
    page.close()
