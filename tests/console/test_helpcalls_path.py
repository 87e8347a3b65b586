"""The whole path of a help call, with real processes: a kiosk asks its agent (``a2d edge run``) for
a Lotse; the agent's sync brings the call to the server (``a2d server run``); a Lotse's
``/console/help`` in Chromium shows it within seconds without a reload (server-sent events, with
the chime); the Lotse closes it with the keyboard; the agent's ``GET /v1/help?state=open`` no longer
lists it within seconds. And back: a call closed at the kiosk leaves the console page by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from kiosk.client import AgentClient
from sync_server.console import accounts, audit
from sync_server.db import open_database
from tests.conftest import free_port, wait_for
from tests.edgeharness import pair_kiosk
from tests.server.conftest import PROJECT, ServerProcess, add_device
from tests.signedpack import kiosk_trust

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
#: seconds within which a call must show on the console, and a close reach the agent
WITHIN_S = 10.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        # the chime may play without a tap first, so that the test sees it played
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        yield b
        b.close()


class AgentProcess:
    """``a2d edge run`` syncing with ``server`` (no broker: nothing listens on its MQTT port)."""

    def __init__(self, tmp: Path, server: str, device_id: str, token: str) -> None:
        self.data = tmp / "edge-data"
        self.data.mkdir()
        self.port = free_port()
        self.config = tmp / "edge.toml"
        self.config.write_text(
            f'[device]\nid = "{device_id}"\ndata_dir = "{self.data}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'
            f'[api]\nhost = "127.0.0.1"\nport = {self.port}\nadvertise = false\n'
            f'[sync]\nurl = "{server}"\ntoken = "{token}"\ninterval_s = 0.2\nheartbeat_s = 1\ntimeout_s = 2\n'
        )
        self.log = tmp / "edge.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("A2D_")}  # the file alone decides
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "a2d.cli", "edge", "run", "--config", str(self.config)],
                                         cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"the agent exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                httpx.get(f"{self.url}/v1/status", timeout=1)
            except httpx.TransportError:
                return False
            return True

        wait_for(up, 30, "the agent's local API")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[ServerProcess, AgentProcess, AgentClient]]:
    """A server with a Lotse of site rathaus, an agent of that site, and a kiosk paired with it."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    db = open_database(url)
    db.migrate()
    try:
        accounts.add(
            db, "lotse-anna", "lotse", PASSWORD, "2026-06-02T08:00:00.000000Z", audit.CLI, ("rathaus",)
        )
        device, token = add_device(db, "edge-rathaus", site="rathaus")
    finally:
        db.close()
    server = ServerProcess(url, tmp_path / "server.log")
    agent = AgentProcess(tmp_path, server.base, device, token)
    paired = pair_kiosk(agent.data, "kiosk-foyer")
    kiosk = AgentClient(agent.url, tmp_path / "kiosk-cache", "kiosk-foyer", discover=False, interval_s=0.1,
                        token=paired.token, agent_device_id=device, trust=kiosk_trust(device))  # fmt: skip
    try:
        agent.wait_ready()
        kiosk.start()
        yield server, agent, kiosk
    finally:
        kiosk.stop()
        agent.stop()
        server.kill()


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/console/help")
    assert "/console/login" in page.url
    page.fill("#username", "lotse-anna")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/console/help")


def open_ids(kiosk: AgentClient) -> list[str]:
    return [r["id"] for r in kiosk.help_requests("open")]


def test_a_help_call_from_the_kiosk_to_the_console_and_its_close_back_to_the_agent(
    browser: Browser, stack
) -> None:
    server, _agent, kiosk = stack
    page = browser.new_page()
    sign_in(page, server.base)
    assert page.locator("li.call").count() == 0
    page.wait_for_function("document.body.dataset.helpStream === 'on'")

    asked = time.monotonic()
    help_id = kiosk.help("personalausweis")
    call = page.locator(f'li.call[data-key$="/{help_id}"]')
    call.wait_for(timeout=WITHIN_S * 1000)  # no reload: the stream brought it
    took = time.monotonic() - asked
    assert "kiosk-foyer" in call.inner_text() and "personalausweis" in call.inner_text()
    page.wait_for_function("document.body.dataset.played === '1'")  # the chime rang, once
    found = Axe().run(page).response["violations"]
    assert [v["id"] for v in found if v.get("impact") in ("serious", "critical")] == []

    # keyboard only: Tab to the call's button, Enter
    button = call.locator("button")
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("the call's close button cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/console/help?closed=1")
    assert page.locator("li.call").count() == 0
    closed = time.monotonic()
    wait_for(lambda: help_id not in open_ids(kiosk), WITHIN_S, "the close on the agent's GET /v1/help?state=open",
             interval=0.2)  # fmt: skip
    back = time.monotonic() - closed
    [mine] = [r for r in kiosk.help_requests("all") if r["id"] == help_id]
    assert mine["state"] == "closed"
    print(f"help call on the console after {took:.1f} s; its close on the agent after {back:.1f} s")

    # and the other way: a call closed at the kiosk leaves the open console page by itself
    second = kiosk.help("")
    page.locator(f'li.call[data-key$="/{second}"]').wait_for(timeout=WITHIN_S * 1000)
    assert kiosk.close_help(second)
    page.locator(f'li.call[data-key$="/{second}"]').wait_for(state="detached", timeout=WITHIN_S * 1000)

    # without JavaScript the page lists the calls too, with its refresh link
    third = kiosk.help("")
    plain = browser.new_context(java_script_enabled=False).new_page()
    sign_in(plain, server.base)
    wait_for(lambda: plain.reload() and plain.locator(f'li.call[data-key$="/{third}"]').count() == 1, WITHIN_S,
             "the third call on the page without JavaScript", interval=0.5)  # fmt: skip
    assert plain.locator("#help-refresh").get_attribute("href") == "/console/help"
