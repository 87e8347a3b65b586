"""The local API as the agent runs it: settings from ``edge.toml``, bind, serve, advertise, stop.

Beyond loopback it serves HTTPS with its own certificate (:mod:`.tls`); every request passes the
:class:`.guard.Guard` (Host, kiosk token, rate, JSON) made here from the settings and the kiosk
list in ``device.data_dir`` (:mod:`.kiosks`).
"""

from __future__ import annotations

import errno
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a2d.errors import KnownError
from a2d.localapi import PREFIX
from a2d.loopback import is_loopback

from ..bundles import DeviceTrust
from . import tls
from .advert import Advert, instance_name
from .content import ContentSource
from .context import ApiContext, WriteFn
from .guard import Guard, HostCheck
from .kiosks import Registry
from .routes import router
from .server import JsonServer

log = logging.getLogger(__name__)


class ApiConfigError(KnownError):
    """The ``[api]`` or ``[content]`` settings cannot work; the message says which and why."""


@dataclass(frozen=True)
class ApiSettings:
    host: str
    port: int
    advertise: bool
    interfaces: tuple[str, ...]
    pack: str
    allowed_hosts: tuple[str, ...] = ()

    @property
    def tls(self) -> bool:
        """HTTPS: the API listens beyond loopback (plain HTTP is for loopback only)."""
        return not is_loopback(self.host)

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> ApiSettings | None:
        """The ``[api]`` and ``[content]`` tables, checked; ``None`` when the API is switched off."""
        api = raw["api"]
        if not api["enabled"]:
            return None
        if not 0 <= api["port"] <= 65535:
            raise ApiConfigError(f"api.port must lie between 0 and 65535, not {api['port']}")
        interfaces = tuple(a.strip() for a in api["advertise_interfaces"].split(",") if a.strip())
        for address in interfaces:
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                raise ApiConfigError(
                    f"api.advertise_interfaces: {address!r} is not an IPv4 address such as 192.168.1.20"
                ) from None
        if api["advertise"] and not interfaces:
            raise ApiConfigError("api.advertise is on but api.advertise_interfaces names no address")
        allowed = tuple(h.strip() for h in api["allowed_hosts"].split(",") if h.strip())
        return cls(api["host"], api["port"], api["advertise"], interfaces, raw["content"]["pack"], allowed)


class LocalApi:
    """Construct with the settings, then :meth:`bind` (fails fast), :meth:`start`, :meth:`stop`."""

    def __init__(
        self, settings: ApiSettings, *, device_id: str, db_path: Path, sync_enabled: bool,
        trust: DeviceTrust, write: WriteFn, sync_online: Callable[[], bool | None] = lambda: None,
        content: ContentSource | None = None,
    ) -> None:  # fmt: skip
        """``content``: the agent's own :class:`ContentSource` (shared with its feedback buttons);
        ``None`` makes one from ``settings.pack``."""
        self.settings = settings
        data_dir = db_path.parent
        self.context = ApiContext(
            device_id=device_id,
            data_dir=data_dir,
            db_path=db_path,
            sync_enabled=sync_enabled,
            content=content if content is not None else ContentSource(settings.pack, data_dir, trust),
            write=write,
            sync_online=sync_online,
        )
        self._server: JsonServer | None = None
        self.advert: Advert | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose when ``api.port`` is 0)."""
        if self._server is None:
            raise RuntimeError("the local API is not bound")
        return self._server.port

    @property
    def url(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{host}:{self.port}{PREFIX}"

    @property
    def advert_host(self) -> str:
        """The host name the zeroconf advert gives (``edge-rathaus-1.local``)."""
        return f"{instance_name(self.context.device_id)}.local"

    def certificate(self) -> Path:
        """The API's certificate, made on first use (HTTPS only)."""
        return tls.certificate(self.context.data_dir, self.settings.host, self.context.device_id)

    def bind(self) -> None:
        """Check the content pack and take the port; :class:`ApiConfigError` if either fails."""
        self.context.content.check_pack_file()
        address = (self.settings.host, self.settings.port)
        context = tls.server_context(self.certificate()) if self.settings.tls else None
        names = [self.advert_host, self.settings.host, *self.settings.allowed_hosts]
        guard = Guard(HostCheck(names), Registry(self.context.data_dir))
        try:
            self._server = JsonServer(address, router(self.context), guard, tls=context)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ApiConfigError(
                    f"cannot serve the local API on {self.settings.host}:{self.settings.port}: the port is in use"
                    " (another agent?); set [api] port, or enabled = false"
                ) from None
            raise ApiConfigError(
                f"cannot serve the local API on {self.settings.host}:{self.settings.port}: {exc.strerror or exc}"
            ) from exc

    def start(self) -> None:
        """Serve (after :meth:`bind`) and, if configured, start advertising in the background."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._server.start()
        log.info("local API for kiosks on %s", self.url)
        if self.settings.advertise:
            scheme = "https" if self.settings.tls else "http"
            self.advert = Advert(self.context.device_id, self.port, self.settings.interfaces, scheme)
            self.advert.start()

    def stop(self) -> None:
        """Stop advertising and serving; open connections are ended."""
        if self.advert is not None:
            self.advert.stop()
            self.advert = None
        if self._server is not None:
            self._server.close()
            self._server = None
