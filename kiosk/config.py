"""The kiosk's config file (``kiosk.toml``): every setting, its default and its help line.

``docs/kiosk.md`` (section "Configuration") documents each setting; a test checks that. Each setting
can be overridden by an environment variable ``A2D_KIOSK_<KEY>`` for ``[kiosk]`` settings and
``A2D_KIOSK_<SECTION>_<KEY>`` for the others (``A2D_KIOSK_DISPLAY_WIDTH``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from a2d.config import ConfigError, Setting, environ, read_toml, resolve
from a2d.loopback import is_loopback

from .wall.settings import WALL_SETTINGS, check_wall

LANGUAGE_CHOICES = ("de", "fr", "en", "ls")
#: ``kiosk.role``: a touch kiosk, or a wall display (``kiosk/wall/``, ``a2d kiosk --wall``)
ROLES = ("kiosk", "wall")
MIN_PROMPT_S = 20.0  #: WCAG 2.2.1: at least 20 s to ask for more time with one simple action

SETTINGS: tuple[Setting, ...] = (
    Setting("kiosk.id", "kiosk-demo", "this kiosk's name for itself (the agent stores votes under its token's kiosk id)"),
    Setting("kiosk.agent_url", "", "the edge agent's local API, e.g. http://127.0.0.1:8780; empty: find it with zeroconf"),
    Setting("kiosk.token", "", "this kiosk's token from `a2d edge kiosk add` (or kiosk.token_file)"),
    Setting("kiosk.token_file", "", "file holding this kiosk's token, readable by the kiosk alone (mode 0600)"),
    Setting("kiosk.agent_device_id", "", "device id of the edge agent this kiosk is paired with (kiosk add prints it)"),
    Setting("kiosk.agent_pin_sha256", "", "SHA-256 pin of the agent's certificate, for an https agent (kiosk add prints it)"),
    Setting("kiosk.refused_days", 30, "days items the agent refused as malformed are kept before they are deleted", int),
    Setting("kiosk.cache_dir", "", "folder for the content cache and the vote outbox; empty: ~/.cache/a2d-kiosk"),
    Setting("kiosk.idle_s", 90.0, "seconds without a touch before the kiosk asks 'Brauchen Sie mehr Zeit?'", float),
    Setting("kiosk.prompt_s", 30.0, "seconds the 'more time?' prompt waits before the session is wiped (at least 20)", float),
    Setting(
        "kiosk.default_language",
        "de",
        "language every session starts in and returns to after a wipe",
        choices=LANGUAGE_CHOICES,
    ),
    Setting("kiosk.pin_hash", "", "hash of the Lotsen PIN (make it with `a2d kiosk hash-pin`); empty: Lotsen mode off"),
    Setting("kiosk.lotsen_session_s", 1800.0, "seconds after which an unlocked Lotsen session ends by itself", float),
    Setting("kiosk.lotsen_log", "", "file for the log of Lotsen session starts and ends; empty: lotsen.log in cache_dir"),
    Setting("kiosk.speech", True, "offer read-aloud (espeak-ng); false hides the Vorlesen button", bool),
    Setting("kiosk.volume", 50, "speech volume in percent (0-100) that every session starts with and returns to", int),
    Setting("kiosk.trusted_keys", [], "Ed25519 public keys (base64) the agent's content must be signed with, until a keys bundle lists others", list),
    Setting("kiosk.claim_file", "/run/a2d/claim.json", "the claim notice of `a2d provision await-claim`: while it exists, the kiosk shows its code full screen; empty: never"),
    Setting("kiosk.display_report_s", 120.0, "seconds between reports to the agent of what the screen shows (page, frames, a hash of the picture); 0: never", float),
    Setting("device.site", "", "the site this kiosk stands at, e.g. rathaus (content for site:SITE reaches it); empty: none"),
    Setting("display.fullscreen", False, "fill the whole screen (true on a kiosk Pi, false for a window on a desktop)", bool),
    Setting("display.width", 1280, "window width in pixels when not full screen", int),
    Setting("display.height", 800, "window height in pixels when not full screen", int),
    Setting("display.backlight", "auto", "how the screen dims and blanks at night (the site's screen schedule): auto, sysfs, wlr-randr, xset or none", choices=("auto", "sysfs", "wlr-randr", "xset", "none")),
    Setting("display.backlight_device", "", "the device in /sys/class/backlight to use; empty: the first one there", str),
    Setting("display.dim_percent", 20, "backlight brightness in percent of its maximum while the screen is dimmed (1-100)", int),
    Setting("kiosk.role", "kiosk", "what this screen is: kiosk (touch, visitors) or wall (a large display without touch)", choices=ROLES),
    *WALL_SETTINGS,
)  # fmt: skip

#: The Lotsen PIN of the demo configuration (``load(None)``) only; a real kiosk sets ``pin_hash``.
DEMO_PIN = "123456"
#: the longest a refused item may be kept: the retention promised for votes
MAX_REFUSED_DAYS = 400


def env_name(setting: Setting) -> str:
    """The environment variable overriding ``setting`` (always starting ``A2D_KIOSK_``)."""
    return setting.env if setting.key.startswith("kiosk.") else "A2D_KIOSK_" + setting.env[len("A2D_") :]


@dataclass(frozen=True)
class KioskConfig:
    """The parsed ``kiosk.toml``; ``raw`` keeps the resolved nested settings."""

    kiosk_id: str
    agent_url: str | None
    cache_dir: Path
    idle_s: float
    prompt_s: float
    default_language: str
    pin_hash: str
    lotsen_session_s: float
    lotsen_log: Path
    speech: bool
    volume: int
    fullscreen: bool
    width: int
    height: int
    demo: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: the pairing with the agent (``a2d edge kiosk add``)
    token: str = field(default="", repr=False)
    agent_device_id: str = ""
    agent_pin_sha256: str = ""
    refused_days: int = 30
    site: str = ""
    #: the zero-touch claim's notice (:mod:`a2d.claimwire`); None: the kiosk never shows a claim code
    claim_file: Path | None = None
    #: the night screen (:mod:`kiosk.backlight`): which adapter, which sysfs device, dim level
    backlight: str = "auto"
    backlight_device: str = ""
    dim_percent: int = 20
    #: seconds between proof-of-display reports (:mod:`kiosk.displayproof`); 0: none
    display_report_s: float = 120.0
    #: ``kiosk.role``: "kiosk" (touch) or "wall" (:mod:`kiosk.wall`, settings in ``raw["wall"]``)
    role: str = "kiosk"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "a2d-kiosk"


def parse(
    data: Mapping[str, Any],
    where: str = "kiosk.toml",
    env: Mapping[str, str] | None = None,
    *,
    demo: bool = False,
) -> KioskConfig:
    """Resolve defaults and ``A2D_KIOSK_*`` overrides from ``env`` and check every value."""
    source = environ() if env is None else env
    overrides = {s.env: source[env_name(s)] for s in SETTINGS if env_name(s) in source}
    for section, table in data.items():
        known = {s.key.split(".", 1)[1] for s in SETTINGS if s.key.startswith(section + ".")}
        if not known:
            raise ConfigError(
                f"{where}: unknown section [{section}] (kiosk.toml has [kiosk], [display], [device] and [wall])"
            )
        if isinstance(table, Mapping):
            for key in table:
                if key not in known:
                    raise ConfigError(f"{where}: unknown setting {section}.{key}")
    raw = resolve(data, SETTINGS, where, overrides)
    k, d = raw["kiosk"], raw["display"]
    if k["prompt_s"] < MIN_PROMPT_S:
        raise ConfigError(
            f"{where}: kiosk.prompt_s must be at least {MIN_PROMPT_S:g} s, not {k['prompt_s']:g}"
        )
    if k["idle_s"] <= 0 or k["lotsen_session_s"] <= 0:
        raise ConfigError(f"{where}: kiosk.idle_s and kiosk.lotsen_session_s must be more than 0")
    if not 0 <= k["volume"] <= 100:
        raise ConfigError(f"{where}: kiosk.volume must be 0-100, not {k['volume']}")
    if d["width"] < 320 or d["height"] < 240:
        raise ConfigError(f"{where}: display.width and display.height must be at least 320 x 240")
    if k["display_report_s"] < 0:
        raise ConfigError(
            f"{where}: kiosk.display_report_s must be 0 (never) or more, not {k['display_report_s']:g}"
        )
    if not 1 <= k["refused_days"] <= MAX_REFUSED_DAYS:
        raise ConfigError(
            f"{where}: kiosk.refused_days must be 1-{MAX_REFUSED_DAYS}, not {k['refused_days']}"
        )
    if not 1 <= d["dim_percent"] <= 100:
        raise ConfigError(f"{where}: display.dim_percent must be 1-100, not {d['dim_percent']}")
    if "/" in d["backlight_device"] or d["backlight_device"].startswith("."):
        raise ConfigError(f"{where}: display.backlight_device is a name in /sys/class/backlight, not a path")
    url = _agent_url(k["agent_url"], k["agent_pin_sha256"], where)
    check_wall(raw["wall"], where)
    _check_trust(raw, where)
    cache_dir = Path(k["cache_dir"]).expanduser() if k["cache_dir"] else _default_cache_dir()
    pin_hash = k["pin_hash"] or (_demo_pin_hash() if demo else "")
    if pin_hash:
        from .lotsen import PinError, check_pin_hash

        try:
            check_pin_hash(pin_hash)
        except PinError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return KioskConfig(
        kiosk_id=k["id"],
        agent_url=url or None,
        cache_dir=cache_dir,
        idle_s=k["idle_s"],
        prompt_s=k["prompt_s"],
        default_language=k["default_language"],
        pin_hash=pin_hash,
        lotsen_session_s=k["lotsen_session_s"],
        lotsen_log=Path(k["lotsen_log"]).expanduser() if k["lotsen_log"] else cache_dir / "lotsen.log",
        speech=k["speech"],
        volume=k["volume"],
        fullscreen=d["fullscreen"],
        width=d["width"],
        height=d["height"],
        demo=demo,
        raw=raw,
        token=_token(k["token"], k["token_file"], where),
        agent_device_id=k["agent_device_id"].strip(),
        agent_pin_sha256=k["agent_pin_sha256"].strip(),
        refused_days=k["refused_days"],
        site=raw["device"]["site"].strip(),
        claim_file=Path(k["claim_file"]) if k["claim_file"].strip() else None,
        backlight=d["backlight"],
        backlight_device=d["backlight_device"].strip(),
        dim_percent=d["dim_percent"],
        display_report_s=k["display_report_s"],
        role=k["role"],
    )


def _check_trust(raw: Mapping[str, Any], where: str) -> None:
    """Every ``kiosk.trusted_keys`` entry a public key; ``device.site`` and the agent's id slugs."""
    k = raw["kiosk"]
    if not (k["trusted_keys"] or k["agent_device_id"] or raw["device"]["site"]):
        return
    from a2d import bundles  # cryptography: only when there is something to check (a lean start)

    for text in raw["kiosk"]["trusted_keys"]:
        try:
            bundles.load_public_key(text)
        except bundles.BundleError as exc:
            raise ConfigError(f"{where}: kiosk.trusted_keys: {exc}") from exc
    for name, value in (
        ("device.site", raw["device"]["site"]),
        ("kiosk.agent_device_id", raw["kiosk"]["agent_device_id"]),
    ):
        if value and not bundles.is_slug(value):
            raise ConfigError(
                f"{where}: {name} must be lower-case letters and digits joined by hyphens, not {value!r:.60}"
            )


def _agent_url(text: str, pin: str, where: str) -> str:
    """``kiosk.agent_url``, checked: https needs the pin, plain http stays on this machine."""
    url = text.strip().rstrip("/")
    if pin.strip():
        from a2d.tlspin import PinError, parse_pin  # ssl only for a kiosk that pins

        try:
            parse_pin(pin)
        except PinError as exc:
            raise ConfigError(f"{where}: kiosk.agent_pin_sha256 is no SHA-256 fingerprint ({exc})") from exc
    if not url:
        return ""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: kiosk.agent_url must start with http:// or https://, not {url!r:.60}")
    host = urlsplit(url).hostname or ""
    if url.startswith("https://") and not pin.strip():
        raise ConfigError(
            f"{where}: kiosk.agent_url is https: set kiosk.agent_pin_sha256 to the agent's certificate pin"
            " (a2d edge kiosk add prints it)"
        )
    if url.startswith("http://") and not is_loopback(host):
        raise ConfigError(
            f"{where}: kiosk.agent_url may be plain http:// only on this machine (127.0.0.1, localhost);"
            f" an agent on {host} speaks https:// with kiosk.agent_pin_sha256"
        )
    return url


def _token(token: str, token_file: str, where: str) -> str:
    """The kiosk's token, from ``kiosk.token`` or the private file ``kiosk.token_file``."""
    if token and token_file:
        raise ConfigError(f"{where}: set kiosk.token or kiosk.token_file, not both")
    if token_file:
        path = Path(token_file).expanduser()
        try:
            mode = path.stat().st_mode
            if mode & 0o077:
                raise ConfigError(
                    f"{where}: kiosk.token_file {path} may be read by others (mode {mode & 0o777:04o}):"
                    f" it must be mode 0600 (chmod 600 {path})"
                )
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read kiosk.token_file {path}: {exc.strerror or exc}") from exc
        if not token:
            raise ConfigError(f"{where}: kiosk.token_file {path} is empty")
    token = token.strip()
    if len(token) > 200 or any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigError(f"{where}: the kiosk token is not one a2d edge kiosk add prints")
    return token


def load(path: str | Path | None, env: Mapping[str, str] | None = None) -> KioskConfig:
    """Read ``kiosk.toml``; ``None`` gives the demo configuration (every default, demo Lotsen PIN)."""
    if path is None:
        return parse({}, "demo configuration", env, demo=True)
    return parse(read_toml(path), str(path), env)


_demo_hash_cache: list[str] = []


def _demo_pin_hash() -> str:
    """The hash of :data:`DEMO_PIN`, made once per process (the hashing is deliberately slow)."""
    if not _demo_hash_cache:
        from .lotsen import hash_pin

        _demo_hash_cache.append(hash_pin(DEMO_PIN))
    return _demo_hash_cache[0]
