"""Sync server: device registry, record uploads, heartbeats, signed bundles, open data, forecast training.

The supported names, imported lazily so that ``a2d server device ...`` does not load the web
framework::

    from sync_server import ServerSettings, create_app, open_database
    app = create_app(ServerSettings(db="sqlite:////var/lib/a2d/server.db"))
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "create_app": "sync_server.app",
    "ServerSettings": "sync_server.config",
    "open_database": "sync_server.db",
    "Database": "sync_server.db",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sync_server' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
