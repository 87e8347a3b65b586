"""The sensors page in Chromium with axe-core: a real server process with real soil data uploaded
through its API; the watering list's threshold set with the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from a2d.syncwire import records_path
from sync_server.console import accounts, audit
from sync_server.db import open_database
from tests.server.conftest import ServerProcess, add_device, bearer

from . import soildata
from .conftest import PASSWORD
from .test_browser import browser, serious  # noqa: F401  (the module's Chromium)


@pytest.fixture
def park(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with an editor ``gaertner`` and a device that uploaded a month of soil moisture."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    db = open_database(url)
    db.migrate()
    try:
        accounts.add(db, "gaertner", "editor", PASSWORD, "2026-06-02T08:00:00.000000Z", audit.CLI)
        device, token = add_device(db, "edge-park", site="rathaus")
    finally:
        db.close()
    server = ServerProcess(url, tmp_path / "server.log")
    r = httpx.post(f"{server.base}{records_path(device)}", json={"records": soildata.records(datetime.now(UTC))},
                   headers=bearer(token))  # fmt: skip
    assert r.status_code == 200, r.text
    yield server
    server.kill()


@pytest.mark.parametrize("lang", ["de", "fr", "en"])
def test_the_sensors_page_passes_axe_and_a_threshold_is_set_by_keyboard(browser: Browser, park, lang) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(f"{park.base}/console/sensors?lang={lang}")
    page.locator("#username").fill("gaertner")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/console/sensors?**")
    assert serious(page) == []
    wettest = soildata.name_of(soildata.TREES[("E1", "Second Sensor")][1])
    rows = page.locator("#watering-caption").locator("xpath=..").locator("tbody th")
    assert rows.last.inner_text().startswith(wettest)  # the wettest is last
    field = page.locator("tbody tr", has_text=wettest).locator("input[name=dry_percent]")
    field_id = field.get_attribute("id")
    tab_to_many(page, field_id)
    page.keyboard.type("40")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/sensors?saved=1")
    assert rows.first.inner_text().startswith(wettest)  # now it needs water most
    assert page.get_by_role("status").count() == 1 and serious(page) == []
    page.close()


def tab_to_many(page, element_id: str) -> None:
    """Like ``tab_to``, with room for the rows of a long page."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} cannot be reached with the Tab key")
