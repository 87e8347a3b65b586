"""What routes get injected: the open database and the settings, both kept on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from .config import ServerSettings
from .db import Database, Unavailable


def get_db(request: Request) -> Database:
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:
        raise Unavailable("the database is not open (the app was not started)")
    return db


def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def note_db_ok(request: Request) -> None:
    """After a successful write: log once that the database is back if it had failed before."""
    request.app.state.db_health.recovered("db", "database available again")


DB = Annotated[Database, Depends(get_db)]
Settings = Annotated[ServerSettings, Depends(get_settings)]
