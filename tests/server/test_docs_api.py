"""docs/sync-api.md and the generated OpenAPI document describe every route, command and setting."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sync_server import cli
from sync_server.app import create_app
from sync_server.config import SETTINGS, ServerSettings
from sync_server.routes import ROUTERS

from .conftest import PROJECT

DOC = (PROJECT / "docs" / "sync-api.md").read_text()
CONSOLE_DOC = (PROJECT / "docs" / "console.md").read_text()
# a path converter ({path:path}) is the plain parameter ({path}) in OpenAPI and the docs
ROUTES = [
    (m, re.sub(r":\w+}", "}", r.path))
    for router in ROUTERS
    for r in router.routes
    if isinstance(r, APIRoute)
    for m in r.methods
]


def test_every_route_is_in_the_docs_and_in_openapi() -> None:
    assert len(ROUTES) == 23  # with the kiosk usage dataset (JSON, CSV)
    openapi = create_app(ServerSettings()).openapi()  # building the document opens no database
    documented = {(m.upper(), p) for p, ops in openapi["paths"].items() for m in ops}
    assert documented == set(ROUTES)
    for method, path in ROUTES:
        assert f"`{method} {path}`" in DOC, (method, path)
        operation = openapi["paths"][path][method.lower()]
        assert operation["description"].strip() and operation["summary"], path


def test_a_running_app_serves_its_openapi(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200 and "/api/v1/devices/{device_id}/records" in r.json()["paths"]


def test_the_docs_point_to_the_generated_openapi() -> None:
    assert "/openapi.json" in DOC


def test_every_command_and_setting_is_in_the_docs() -> None:
    for key in cli.EXAMPLES:
        assert f"a2d server {key}" in (CONSOLE_DOC if key.startswith("user") else DOC), key
    for setting in SETTINGS:
        doc = CONSOLE_DOC if setting.key.startswith("console.") else DOC  # the console's own page
        assert f"`{setting.key}`" in doc and f"`{setting.env}`" in doc, setting.key
        section, name = setting.key.split(".", 1)
        if section == "retention" and name != "bundle_history_days":  # one mapping, stream -> days
            assert name.removesuffix("_days") in ServerSettings().retention_days, setting.key
        else:  # server.x is the field x, opendata.x the field opendata_x
            fields = ServerSettings.__dataclass_fields__
            assert name in fields or f"{section}_{name}" in fields or setting.key == "log.level", setting.key
