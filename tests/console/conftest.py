"""Console fixtures: the app on both backends (the server suite's databases), signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.config import ServerSettings
from sync_server.console import accounts, audit
from sync_server.db import Database
from tests.server.conftest import db, db_url, postgres  # noqa: F401  (the same two backends)

PASSWORD = "richtig-langes-Passwort-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "the page has no form with a csrf_token field"
    return m.group(1)


def make_user(db: Database, name: str, role: str, sites: tuple[str, ...] = ()) -> None:  # noqa: F811
    accounts.add(db, name, role, PASSWORD, "2026-06-02T08:00:00.000000Z", audit.CLI, sites)


def sign_in(c: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    page = c.get("/console/login")
    r = c.post("/console/login", data={"csrf_token": csrf_of(page.text), "username": name,
               "password": password, "next": "/console/devices"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    return c


@pytest.fixture
def settings(db_url: str) -> ServerSettings:  # noqa: F811
    return ServerSettings(db=db_url, console_lockout_after=3, console_lockout_base_s=30.0)


@pytest.fixture
def app_client(db: Database, settings: ServerSettings) -> Iterator[Callable[[], TestClient]]:  # noqa: F811
    """Make as many clients (browsers, each with its own cookies) of one app as a test wants."""
    app = create_app(settings, db)
    opened: list[TestClient] = []

    def new() -> TestClient:
        c = TestClient(app)
        c.__enter__()
        opened.append(c)
        return c

    yield new
    for c in opened:
        c.__exit__(None, None, None)
