"""The zeroconf advert on loopback only (IPv4): a kiosk-style browser finds the agent's API."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

from a2d.localapi import SERVICE_TYPE
from tests.localapi.conftest import RunningApi


class Found(ServiceListener):
    def __init__(self, zc: Zeroconf, want: str) -> None:
        self.zc, self.want = zc, want
        self.info: dict[str, object] = {}
        self.event = threading.Event()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None or info.properties.get(b"device_id") != self.want.encode():
            return  # another test's advert on the same loopback
        self.info = {
            "addresses": [socket.inet_ntoa(a) for a in info.addresses],
            "port": info.port,
            "device_id": info.properties[b"device_id"].decode(),
            "api": info.properties[b"api"].decode(),
            "scheme": info.properties[b"scheme"].decode(),
        }
        self.event.set()

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass


def test_the_api_is_advertised_and_found_on_loopback(api_factory: Callable[..., RunningApi]) -> None:
    device_id = f"edge-advert-{time.monotonic_ns() % 100000}"
    started = time.monotonic()
    run = api_factory('[api]\nadvertise = true\nadvertise_interfaces = "127.0.0.1"\n', device_id=device_id)
    assert time.monotonic() - started < 1.0  # registering (about 1.7 s) does not hold up the start
    assert run.agent.api is not None
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        found = Found(zc, device_id)
        browser = ServiceBrowser(zc, SERVICE_TYPE, found)
        assert found.event.wait(15), "the advert was not found within 15 s"
        browser.cancel()
    finally:
        zc.close()
    assert found.info == {
        "addresses": ["127.0.0.1"],
        "port": run.agent.api.port,
        "device_id": device_id,
        "api": "1",
        "scheme": "http",  # loopback: plain HTTP (beyond loopback the advert says https)
    }
    # the address found is the API
    host = found.info["addresses"][0]  # type: ignore[index]
    assert run.http.get(f"http://{host}:{found.info['port']}/v1/healthz").json()["device_id"] == device_id
