"""The device's ``_a2d-setup._tcp`` advert while it waits to be claimed (zeroconf is imported here).

Announces :data:`a2d.claimwire.SERVICE_TYPE` as ``a2d-setup-<serial>`` with the TXT properties
``serial`` and ``v``, on the given IPv4 addresses (default: every non-loopback one). The advert only
lets the admin's laptop find the device; what the device says is checked by the code (the
claim's key exchange), never by the advert. Registering takes a second or two (probing); a
failure is logged and the claim still works by address (``a2d provision claim --address``).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence

from a2d import claimwire

log = logging.getLogger(__name__)


def instance(serial: str) -> str:
    return f"a2d-setup-{serial}.{claimwire.SERVICE_TYPE}"


def local_addresses() -> list[str]:
    """This machine's IPv4 addresses but loopback."""
    from zeroconf import get_all_addresses

    return [a for a in get_all_addresses() if not a.startswith("127.")]


def advertise(serial: str, port: int, addresses: Sequence[str] | None = None) -> Callable[[], None]:
    """Start announcing (on a thread, as registering blocks); returns the function that ends it."""
    stop = threading.Event()

    def run() -> None:
        from zeroconf import IPVersion, ServiceInfo, Zeroconf

        addrs = list(addresses) if addresses else local_addresses()
        if not addrs:
            log.warning("no network address yet: the claim is not advertised (claim it by address)")
            return
        info = ServiceInfo(
            claimwire.SERVICE_TYPE,
            instance(serial),
            addresses=[socket.inet_aton(a) for a in addrs],
            port=port,
            properties={"serial": serial, "v": str(claimwire.VERSION)},
            server=f"a2d-setup-{serial}.local.",
        )
        try:
            zc = Zeroconf(interfaces=addrs, ip_version=IPVersion.V4Only)
        except OSError as exc:
            log.warning("cannot advertise the claim on %s: %s", ", ".join(addrs), exc)
            return
        try:
            zc.register_service(info)
            log.info("claim advertised as %s on %s", info.name, ", ".join(addrs))
            stop.wait()
            zc.unregister_service(info)
        except Exception as exc:  # noqa: BLE001 - the claim works without the advert (by address)
            log.warning("advertising the claim failed: %s", exc)
        finally:
            zc.close()

    thread = threading.Thread(target=run, name="a2d-claim-advert", daemon=True)
    thread.start()

    def end() -> None:
        stop.set()
        thread.join(10)

    return end
