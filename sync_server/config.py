"""The sync server's settings: an optional ``server.toml``, ``A2D_*`` variables, command-line flags.

Each setting has a default and a help line (``docs/sync-api.md`` lists them; a test checks it).
Precedence, highest first: command-line flag, environment variable, config file, default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a2d.config import Setting, environ, read_toml, resolve
from a2d.retention import defaults as retention_defaults
from a2d.retention import settings as retention_settings

from .db import sqlite_path

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "server.db",
        "sqlite:////var/lib/a2d/server.db",
        "database URL: sqlite:////absolute/path.db (embedded) or postgresql://user@host:port/db",
    ),
    Setting("server.host", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)"),
    Setting("server.port", 8080, "TCP port to listen on", int),
    Setting(
        "server.tls_cert",
        "",
        "PEM certificate (chain) file to serve HTTPS with, together with server.tls_key; empty: plain HTTP",
    ),
    Setting("server.tls_key", "", "PEM private key file of server.tls_cert (unencrypted)"),
    Setting(
        "server.admin_token",
        "",
        "an admin token accepted besides the one `a2d server admin-token` stores; "
        "set it through A2D_SERVER_ADMIN_TOKEN, not in the file",
    ),
    Setting("server.head_timeout_s", 10.0, "seconds a client has to send a request's head", float),
    Setting(
        "server.body_timeout_s",
        120.0,
        "seconds a client has to send a request's body after its head (an 8 MiB upload on a slow line)",
        float,
    ),
    Setting(
        "server.max_connections_per_client",
        32,
        "connections one client address may hold at once; more are closed (0 = no cap)",
        int,
    ),
    Setting(
        "server.max_connections",
        1000,
        "connections and requests the server handles at once; beyond, it answers 503",
        int,
    ),
    Setting("server.pool_size", 8, "PostgreSQL connections per server process", int),
    Setting(
        "server.synchronous",
        "full",
        "SQLite durability: full (an acknowledged upload survives a power cut) or normal (a crash only)",
        choices=("full", "normal"),
    ),
    Setting("server.heartbeat_history", 60, "heartbeats kept per device besides the latest (0 = none)", int),
    Setting(
        "server.display_stale_s",
        900.0,
        "seconds a kiosk that should be open may draw nothing new (same picture, no frame) before the"
        " admin devices list raises screen_frozen",
        float,
    ),
    Setting(
        "server.display_gone_s",
        360.0,
        "seconds without a new report from a kiosk, while its agent's heartbeats arrive, before the"
        " admin devices list raises kiosk_gone (3 of the kiosk's report intervals)",
        float,
    ),
    Setting(
        "server.signing_key",
        "",
        "the Ed25519 key file bundles are signed with; empty: signing.key beside the SQLite "
        "database, or in the working directory with PostgreSQL",
    ),
    Setting(
        "server.apt_repo",
        "",
        "the signed APT repository folder served read-only under /apt/ (a2d server apt publish writes"
        " it); empty: apt/ beside the SQLite database, or in the working directory with PostgreSQL",
    ),
    Setting(
        "server.apt_key",
        "",
        "the OpenPGP key file the APT repository is signed with (a2d server apt key makes it); empty:"
        " apt-signing.asc beside the SQLite database, or in the working directory with PostgreSQL",
    ),
    Setting(
        "server.opendata_attribution",
        "",
        "the data provider named in every open-data answer, as dl-de/by-2-0 asks "
        "(e.g. Stadt Offenburg, Offenburg.digital)",
    ),
    Setting("server.opendata_max_rows", 100000, "most rows one open-data request may ask for (?limit=)", int),
    Setting(
        "opendata.min_count",
        5,
        "smallest count open data publishes: a tally or hourly count of people or presses below it is"
        " suppressed (one row could be one person's answer); 0 or 1 publish all",
        int,
    ),
    Setting("console.session_idle_minutes", 30, "a console session ends after this many minutes unused", int),
    Setting(
        "console.session_max_hours",
        12,
        "a console session ends this many hours after the login, used or not",
        int,
    ),
    Setting(
        "console.lockout_after",
        5,
        "wrong passwords in a row (per user name and per client address) before the login locks out",
        int,
    ),
    Setting(
        "console.lockout_base_s",
        30.0,
        "seconds of the first lockout; each further wrong password doubles it, up to an hour",
        float,
    ),
    Setting(
        "console.alert_silent_minutes",
        15,
        "the fleet page alerts when a device sent no heartbeat this long",
        int,
    ),
    Setting(
        "console.alert_disk_free_mb", 500, "the fleet page alerts when a device has less free disk (MiB)", int
    ),
    Setting(
        "console.alert_clock_skew_s",
        120,
        "the fleet page alerts when a device's clock is this many seconds behind or ahead of the server's",
        int,
    ),
    Setting(
        "console.alert_sync_minutes",
        30,
        "the fleet page alerts when a device with records waiting has not synced this long",
        int,
    ),
    Setting(
        "console.alert_battery_percent",
        20,
        "the fleet page alerts when a LoRaWAN sensor's newest battery level is below this (percent)",
        int,
    ),
    Setting(
        "console.alert_battery_v",
        2.5,
        "the fleet page alerts when a LoRaWAN sensor that reports only a voltage has less (volts)",
        float,
    ),
    Setting(
        "console.soil_dry_percent",
        20.0,
        "a tree-pit soil sensor needs water below this soil moisture (percent), unless the sensors"
        " page sets its own threshold",
        float,
    ),
    *retention_settings(),
    Setting(
        "retention.bundle_history_days",
        400,
        "days a bundle that a newer one replaced stays in the history (0 = forever)",
        int,
    ),
    Setting("log.level", "info", "log level", choices=("debug", "info", "warning", "error")),
)

#: the retention settings' defaults, stream -> days
RETENTION_DEFAULTS = retention_defaults()


@dataclass(frozen=True)
class ServerSettings:
    db: str = "sqlite:////var/lib/a2d/server.db"
    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str = ""
    tls_key: str = ""
    admin_token: str = ""
    head_timeout_s: float = 10.0
    body_timeout_s: float = 120.0
    max_connections_per_client: int = 32
    max_connections: int = 1000
    pool_size: int = 8
    synchronous: str = "full"
    heartbeat_history: int = 60
    #: proof of display: seconds before screen_frozen and kiosk_gone are raised
    display_stale_s: float = 900.0
    display_gone_s: float = 360.0
    signing_key: str = ""
    apt_repo: str = ""
    apt_key: str = ""
    opendata_attribution: str = ""
    opendata_max_rows: int = 100000
    #: smallest count of people or presses open data publishes
    opendata_min_count: int = 5
    log_level: str = "info"
    console_session_idle_minutes: int = 30
    console_session_max_hours: int = 12
    console_lockout_after: int = 5
    console_lockout_base_s: float = 30.0
    console_alert_silent_minutes: int = 15
    console_alert_disk_free_mb: int = 500
    console_alert_clock_skew_s: int = 120
    console_alert_sync_minutes: int = 30
    console_alert_battery_percent: int = 20
    console_alert_battery_v: float = 2.5
    console_soil_dry_percent: float = 20.0
    #: days a replaced bundle stays in the bundle history (0 = forever)
    bundle_history_days: int = 400
    #: stream -> days its single records are kept (0 = forever); hourly aggregates stay
    retention_days: Mapping[str, int] = field(default_factory=lambda: dict(RETENTION_DEFAULTS))


def load(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, **flags: Any
) -> ServerSettings:
    """Settings from ``path`` (optional), the environment and ``flags`` (``None`` = not given)."""
    data = read_toml(path) if path is not None else {}
    where = str(path) if path is not None else "settings"
    values = resolve(data, SETTINGS, where, environ() if env is None else env)
    server, log = values["server"], values["log"]
    server = {**server, **{k: v for k, v in flags.items() if v is not None}}
    retained = dict(values["retention"])
    bundle_days = retained.pop("bundle_history_days")
    retention = {key.removesuffix("_days"): days for key, days in retained.items()}
    return ServerSettings(
        log_level=log["level"], retention_days=retention, bundle_history_days=bundle_days,
        opendata_min_count=values["opendata"]["min_count"], **server,
        **{f"console_{k}": v for k, v in values["console"].items()},
    )  # fmt: skip


def apt_paths(settings: ServerSettings) -> tuple[Path, Path]:
    """``(repository folder, signing key file)``: the settings, else beside the SQLite database."""
    db_file = sqlite_path(settings.db)
    beside = Path(db_file).parent if db_file else Path()
    return (
        Path(settings.apt_repo) if settings.apt_repo else beside / "apt",
        Path(settings.apt_key) if settings.apt_key else beside / "apt-signing.asc",
    )
