"""The edge agent's config file (``edge.toml``): every setting, its default and its help line.

See ``docs/edge-config.md`` for the full reference; a test checks that every setting here is
documented there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a2d import bundles, retention
from a2d.config import (
    REQUIRED,
    ConfigError,
    Setting,
    environ,
    fill_from_file,
    read_toml,
    resolve,
    setting,
    table_list,
)
from a2d.localapi import DEFAULT_PORT as DEFAULT_API_PORT

SETTINGS: tuple[Setting, ...] = (
    Setting("device.id", REQUIRED, "this edge device's id, e.g. edge-rathaus-1"),
    Setting("device.data_dir", "/var/lib/a2d", "folder holding the SQLite files"),
    Setting(
        "device.site",
        "",
        "the site this device stands at, e.g. rathaus (bundles published with --site reach it); empty: none",
    ),
    Setting("mqtt.host", "127.0.0.1", "MQTT broker host (the network server's or the local broker)"),
    Setting("mqtt.port", 1883, "MQTT broker port", int),
    Setting("mqtt.username", "", "MQTT user name (TTS: app-id@tenant); empty for none"),
    Setting("mqtt.password", "", "MQTT password (TTS: an API key); prefer the A2D_MQTT_PASSWORD variable"),
    Setting(
        "mqtt.password_file",
        "",
        "file holding the MQTT password, read when mqtt.password is empty (first boot writes the local broker's)",
    ),
    Setting(
        "mqtt.tls",
        False,
        "connect with TLS (certificate verified against mqtt.ca_file or the system CAs)",
        bool,
    ),
    Setting("mqtt.ca_file", "", "CA bundle for mqtt.tls; empty for the system store"),
    Setting(
        "mqtt.protocol",
        "3.1.1",
        "MQTT version: 3.1.1 (fastest) or 5 (receive maximum set by us)",
        choices=("3.1.1", "5"),
    ),
    Setting("mqtt.keepalive", 30, "seconds between MQTT keep-alive pings", int),
    Setting(
        "mqtt.receive_maximum", 1000, "QoS 1 messages the broker may have in flight to us (MQTT 5 only)", int
    ),
    Setting(
        "mqtt.session_expiry", 604800, "seconds the broker keeps our session and queue while we are away", int
    ),
    Setting("ingest.max_message_bytes", 262144, "larger MQTT messages are quarantined, not parsed", int),
    Setting("ingest.batch_max", 1000, "most messages committed in one transaction", int),
    Setting(
        "store.synchronous",
        "full",
        "SQLite synchronous mode: full (fsync per commit) survives a power cut, normal only a crash or kill -9",
        choices=("normal", "full"),
    ),
    Setting(
        "store.max_pending_events",
        5_000_000,
        "most unsent events kept; beyond, the oldest are thinned (never votes or button presses)",
        int,
    ),
    Setting(
        "store.max_db_mb",
        4096,
        "most MB the database's content may take; beyond, the oldest events are thinned, sent ones first (0 = no cap)",
        int,
    ),
    Setting(
        "store.max_feedback_per_kiosk",
        10_000,
        "most unsent votes kept per kiosk; beyond, its new votes are refused (503) until some are sent (0 = no cap)",
        int,
    ),
    Setting(
        "store.min_free_mb",
        32,
        "below this much free disk the agent takes nothing in (and deletes nothing) until there is room again",
        int,
    ),
    Setting(
        "store.check_s",
        300.0,
        "seconds between housekeeping passes: retention, size caps, giving space back",
        float,
    ),
    Setting(
        "store.full_check_s", 5.0, "seconds between looks at the free space while the disk is full", float
    ),
    *retention.settings(),
    Setting("retention.quarantine_days", 30, "days quarantined input is kept (0 = forever)", int),
    Setting("sync.url", "", "the sync server, e.g. https://sync.offenburg.de; empty: no sync"),
    Setting("sync.token", "", "this device's token (prefer sync.token_file or A2D_SYNC_TOKEN)"),
    Setting("sync.token_file", "", "file holding this device's token"),
    Setting("sync.interval_s", 10.0, "seconds between sync rounds when the outbox is empty", float),
    Setting("sync.heartbeat_s", 60.0, "seconds between heartbeats to the server", float),
    Setting("sync.batch_records", 1000, "most records in one upload", int),
    Setting("sync.batch_bytes", 1048576, "most bytes (before gzip) in one upload", int),
    Setting(
        "sync.max_records_per_s", 5000.0, "upload rate while catching up after an outage; 0 = no limit", float
    ),
    Setting("sync.timeout_s", 15.0, "seconds before an upload without answer counts as failed", float),
    Setting("sync.ca_file", "", "CA bundle to verify the server's certificate; empty: the system store"),
    Setting(
        "sync.pin_sha256", "", "SHA-256 fingerprint of the server's certificate to trust alone (pinning)"
    ),
    Setting(
        "sync.trusted_keys",
        [],
        "Ed25519 public keys (base64) bundles may be signed with, until a keys bundle lists others",
        list,
    ),
    Setting(
        "sync.server_public_key",
        "",
        "one more trusted key (base64), as older configs name it; no key at all: no bundles are fetched",
    ),
    Setting(
        "sync.bundle_interval_s",
        300.0,
        "seconds between checks for new config, content and model bundles",
        float,
    ),
    Setting(
        "sync.verify_tls", True, "verify the server's certificate (turn off only for a test server)", bool
    ),
    Setting(
        "sync.allow_insecure",
        False,
        "allow an http:// sync.url to another machine, or sync.verify_tls = false (test servers only;"
        " warned at start); without it the agent refuses to start",
        bool,
    ),
    Setting("api.enabled", True, "serve the local HTTP API for kiosks", bool),
    Setting(
        "api.host",
        "127.0.0.1",
        "address the local API listens on (0.0.0.0: the office network too, then over HTTPS)",
    ),
    Setting("api.port", DEFAULT_API_PORT, "port of the local API (0: any free port)", int),
    Setting("api.advertise", False, "announce the local API with zeroconf (_a2d-edge._tcp)", bool),
    Setting("api.advertise_interfaces", "127.0.0.1", "IPv4 addresses (comma-separated) to advertise on"),
    Setting(
        "api.allowed_hosts",
        "",
        "more host names (comma-separated) kiosks may use for the local API, beyond its own names and addresses",
    ),
    Setting("content.pack", "", "content-pack JSON file for kiosks; empty: the server's content bundle"),
    Setting(
        "forecast.enabled",
        True,
        "run the visitor-flow forecast when there is a model (needs onnxruntime)",
        bool,
    ),
    Setting(
        "forecast.model",
        "",
        "forecast model file (from a2d server forecast train --out); empty: the model bundle",
    ),
    Setting(
        "forecast.counter",
        "",
        "DevEUI of the people counter whose people_in counts feed the forecast; empty: all counters summed",
    ),
    Setting(
        "forecast.refresh_s",
        3600.0,
        "seconds between forecasts (also one at start and on a new model)",
        float,
    ),
    Setting(
        "forecast.record",
        "besucherprognose",
        "id of the content pack's transparency record about the forecast (the kiosk's chart links to it)",
    ),
    Setting(
        "buttons.cooldown_s",
        10.0,
        "seconds around a counted press of a feedback button within which its other presses are stored but"
        " not counted (a button's cooldown_s in the content pack wins)",
        float,
    ),
    Setting("log.level", "info", "log level", choices=("debug", "info", "warning", "error")),
)

SOURCE_SETTINGS: tuple[Setting, ...] = (
    Setting("kind", REQUIRED, "network server: chirpstack or tts", choices=("chirpstack", "tts")),
    Setting("name", "", "name of this source in status and events; defaults to the kind"),
    Setting("topic", "", "subscription filter; defaults to the kind's standard topics"),
    Setting("host", "", "broker host for this source; defaults to mqtt.host"),
    Setting("port", 0, "broker port for this source; defaults to mqtt.port", int),
    Setting("username", "", "MQTT user for this source; defaults to mqtt.username"),
    Setting("password", "", "MQTT password for this source; defaults to mqtt.password"),
)

DEVICE_SETTINGS: tuple[Setting, ...] = (
    Setting("dev_eui", REQUIRED, "the device's DevEUI, 16 hex digits"),
    Setting("codec", "", "codec id as in the TTN device repository, e.g. milesight-iot/ws101"),
    Setting("name", "", "a name staff recognise, e.g. feedback-rathaus-eg-1"),
)

DEFAULT_TOPICS = {"chirpstack": "application/+/device/+/event/+", "tts": "v3/+/devices/+/#"}
#: QoS we subscribe with. The Things Stack's MQTT server offers QoS 0 only.
SOURCE_QOS = {"chirpstack": 1, "tts": 0, "bridge": 1}
#: the buttons bridge (GPIO buttons, serial button boxes) on the [mqtt] broker: always subscribed
BRIDGE_TOPIC = "a2d/v1/buttons/#"
_EUI = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Source:
    kind: str
    name: str
    topic: str
    host: str
    port: int
    username: str
    password: str

    @property
    def qos(self) -> int:
        return SOURCE_QOS[self.kind]


@dataclass(frozen=True)
class Device:
    dev_eui: str
    codec: str
    name: str


@dataclass(frozen=True)
class EdgeConfig:
    """The parsed ``edge.toml``; ``raw`` keeps the resolved nested settings for the rest."""

    device_id: str
    data_dir: Path
    sources: tuple[Source, ...]
    devices: Mapping[str, Device]
    raw: Mapping[str, Any] = field(repr=False)

    def get(self, dotted: str) -> Any:
        return setting(self.raw, dotted)

    @property
    def bridge_source(self) -> Source:
        """The buttons bridge's events on the ``[mqtt]`` broker, subscribed whatever ``[[sources]]`` say."""
        m = self.raw["mqtt"]
        return Source("bridge", "bridge", BRIDGE_TOPIC, m["host"], m["port"], m["username"], m["password"])

    @property
    def db_path(self) -> Path:
        return self.data_dir / "edge.db"

    @property
    def state_path(self) -> Path:
        """The running agent's state file (heartbeat, full-disk state; see ``edge_agent.statefile``)."""
        return self.data_dir / "edge.state.json"

    def retention_days(self) -> dict[str, int]:
        r = self.raw["retention"]
        return {
            "uplink": r["uplink_days"],
            "health": r["health_days"],
            "network": r["network_days"],
            "quarantine": r["quarantine_days"],
            "button": r["button_days"],
            "feedback": r["feedback_days"],
            "help": r["help_days"],
            "usage": r["usage_days"],
        }


def parse(
    data: Mapping[str, Any], where: str = "edge.toml", env: Mapping[str, str] | None = None
) -> EdgeConfig:
    """Check a config mapping and build an :class:`EdgeConfig`."""
    raw = resolve(data, SETTINGS, where, environ() if env is None else env)
    fill_from_file(raw, "mqtt.password", "mqtt.password_file", where)
    mqtt = raw["mqtt"]
    sources = []
    for i, entry in enumerate(table_list(data, "sources", where)):
        s = resolve(entry, SOURCE_SETTINGS, f"{where}: [[sources]] #{i + 1}")
        sources.append(
            Source(
                kind=s["kind"],
                name=s["name"] or s["kind"],
                topic=s["topic"] or DEFAULT_TOPICS[s["kind"]],
                host=s["host"] or mqtt["host"],
                port=s["port"] or mqtt["port"],
                username=s["username"] or mqtt["username"],
                password=s["password"] or mqtt["password"],
            )
        )
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two [[sources]] share a name; give each a distinct name")
    if "bridge" in names:
        raise ConfigError(
            f"{where}: the source name bridge is reserved for the buttons bridge; choose another"
        )
    devices: dict[str, Device] = {}
    for i, entry in enumerate(table_list(data, "devices", where)):
        d = resolve(entry, DEVICE_SETTINGS, f"{where}: [[devices]] #{i + 1}")
        eui = d["dev_eui"].strip().lower().replace(":", "").replace("-", "")
        if not _EUI.match(eui):
            raise ConfigError(f"{where}: [[devices]] #{i + 1}: dev_eui {d['dev_eui']!r} is not 16 hex digits")
        if d["codec"]:
            from .codecs import get

            try:
                get(d["codec"])
            except KeyError as exc:
                raise ConfigError(f"{where}: [[devices]] #{i + 1}: {exc.args[0]}") from None
        if eui in devices:
            raise ConfigError(f"{where}: [[devices]] #{i + 1}: DevEUI {eui} is listed twice")
        devices[eui] = Device(eui, d["codec"].lower(), d["name"])
    _check_trust(raw, where)
    if not 0 <= raw["buttons"]["cooldown_s"] <= 86400:
        raise ConfigError(f"{where}: buttons.cooldown_s must lie between 0 and 86400 seconds")
    return EdgeConfig(
        device_id=raw["device"]["id"],
        data_dir=Path(raw["device"]["data_dir"]),
        sources=tuple(sources),
        devices=devices,
        raw=raw,
    )


def load(path: str | Path) -> EdgeConfig:
    """Read and check ``edge.toml`` (``ConfigError`` with a one-line reason on any problem)."""
    return parse(read_toml(path), where=str(path))


def _check_trust(raw: Mapping[str, Any], where: str) -> None:
    """``device.site`` a slug, and every key of ``sync.trusted_keys`` and ``sync.server_public_key`` a key."""
    site = raw["device"]["site"]
    if site and not bundles.is_slug(site):
        raise ConfigError(
            f"{where}: device.site must be lower-case letters and digits joined by single hyphens"
            f" (like a device id), not {site!r:.60}"
        )
    keys = [("sync.trusted_keys", k) for k in raw["sync"]["trusted_keys"]]
    for name, text in [*keys, ("sync.server_public_key", raw["sync"]["server_public_key"])]:
        if text.strip():
            try:
                bundles.load_public_key(text)
            except bundles.BundleError as exc:
                raise ConfigError(f"{where}: {name}: {exc}") from exc
