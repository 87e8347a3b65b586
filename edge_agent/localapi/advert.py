"""The zeroconf advert of the local API, so that kiosks find the agent without a configured URL.

Announces :data:`a2d.localapi.SERVICE_TYPE` with the TXT properties ``device_id``, ``api`` and
``scheme`` (``https`` beyond loopback) on the configured IPv4 interfaces only. The advert only
helps a kiosk find the agent: a kiosk trusts what it finds only after the agent proved itself
(certificate pin, device id). Registering takes about 1.7 s (probing, announcing), so
it runs on its own thread (``a2d-api-advert``), which also unregisters (goodbye packets) and
closes zeroconf when :meth:`Advert.stop` is called. zeroconf is imported here, on that thread,
and nowhere else in the agent. A failure is logged; the agent and its API keep running.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Sequence

from a2d.localapi import SERVICE_TYPE, TXT_SCHEME, VERSION

from ..worker import Worker

log = logging.getLogger(__name__)


def instance_name(device_id: str) -> str:
    """A DNS-safe label for this device (``edge-rathaus-1``)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", device_id).strip("-")[:63] or "a2d-edge"


class Advert(Worker):
    thread_name = "a2d-api-advert"

    def __init__(self, device_id: str, port: int, interfaces: Sequence[str], scheme: str = "http") -> None:
        super().__init__()
        self.scheme = scheme
        self.device_id = device_id
        self.port = port
        self.interfaces = list(interfaces)
        self.registered = threading.Event()  # set once the advert is out (for status and tests)
        self.name = f"{instance_name(device_id)}.{SERVICE_TYPE}"

    def _run(self) -> None:
        try:
            from zeroconf import IPVersion, ServiceInfo, Zeroconf
        except ImportError:
            log.warning("zeroconf is not installed: the local API is not advertised (install the edge extra)")
            return
        host = instance_name(self.device_id)
        info = ServiceInfo(
            SERVICE_TYPE,
            self.name,
            addresses=[socket.inet_aton(a) for a in self.interfaces],
            port=self.port,
            properties={"device_id": self.device_id, "api": VERSION, TXT_SCHEME: self.scheme},
            server=f"{host}.local.",
        )
        try:
            zc = Zeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        except OSError as exc:
            log.warning("cannot advertise the local API on %s: %s", ", ".join(self.interfaces), exc)
            return
        try:
            zc.register_service(info, allow_name_change=True)
            self.name = info.name
            self.registered.set()
            log.info("local API advertised as %s on %s", info.name, ", ".join(self.interfaces))
            self._stop.wait()
            zc.unregister_service(info)
        except Exception as exc:  # noqa: BLE001 - an advert failure must not stop the agent
            log.warning("advertising the local API failed: %s", exc)
        finally:
            zc.close()
