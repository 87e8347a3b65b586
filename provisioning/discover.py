"""The admin's look around the LAN for devices waiting to be claimed (zeroconf is imported here).

:func:`discover` browses :data:`a2d.claimwire.SERVICE_TYPE` for ``timeout`` seconds and returns
each device once per address: its serial (from the TXT record), address and port. What an advert
says is not trusted: the claim itself checks that the device knows the code on its screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from a2d import claimwire


@dataclass(frozen=True, slots=True)
class Waiting:
    """One device announcing that it waits to be claimed."""

    serial: str
    address: str
    port: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def discover(timeout: float, interfaces: Sequence[str] | None = None, *, serial: str = "") -> list[Waiting]:
    """Every device announcing a claim within ``timeout`` seconds (sorted by serial). With ``serial``,
    returns as soon as that device was found. ``interfaces`` limits the search to those addresses."""
    from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

    names: set[str] = set()
    changed = threading.Event()
    lock = threading.Lock()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            with lock:
                names.add(name)
            changed.set()

    zc = Zeroconf(
        interfaces=list(interfaces) if interfaces else InterfaceChoice.All, ip_version=IPVersion.V4Only
    )
    browser = ServiceBrowser(zc, claimwire.SERVICE_TYPE, handlers=[on_change])
    found: dict[tuple[str, str, int], Waiting] = {}
    resolved: set[str] = set()
    deadline = time.monotonic() + timeout
    try:
        while True:
            changed.clear()
            with lock:
                todo = sorted(names - resolved)
            for name in todo:
                info = zc.get_service_info(claimwire.SERVICE_TYPE, name, timeout=2000)
                if info is None or not info.port:
                    continue
                resolved.add(name)
                raw = (info.properties or {}).get(b"serial") or b""
                announced = raw.decode("ascii", "replace")
                if not claimwire.valid_serial(announced):
                    continue
                for address in info.parsed_addresses(IPVersion.V4Only):
                    found[(announced.lower(), address, info.port)] = Waiting(
                        announced.lower(), address, info.port
                    )
            if serial and any(w.serial == serial.lower() for w in found.values()):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            changed.wait(left)
    finally:
        browser.cancel()
        zc.close()
    return sorted(found.values(), key=lambda w: (w.serial, w.address))
