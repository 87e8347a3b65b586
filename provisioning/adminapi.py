"""The sync server's admin API, as the admin's laptop calls it: standard library only, bounded.

Every call has a deadline and reads at most :data:`MAX_ANSWER` bytes. The admin token never
crosses the network in clear: an ``http://`` server is accepted only on this machine (loopback),
unless the admin says ``--allow-insecure`` for a test server. HTTPS is verified against the system
store (or ``ca_file``), or against exactly one certificate with a pin.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from a2d.errors import KnownError
from a2d.loopback import is_loopback
from a2d.syncwire import API
from a2d.tlspin import PinError, parse_pin, pinned_context

#: the most bytes of an answer read (a fleet of thousands of devices is well below)
MAX_ANSWER = 16 * 1024 * 1024


class AdminApiError(KnownError):
    """The server refused, could not be reached, or answered something that is no answer."""


def check_url(url: str, allow_insecure: bool = False) -> str:
    """``url`` without a trailing slash, once it is http(s) and safe to send a token to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AdminApiError(
            f"--server must be an http(s) address like https://sync.example.org, not {url!r:.80}"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure:
        raise AdminApiError(
            f"{url} is plain http on another machine: the admin token and the device's token would cross"
            " the network readable; use https (or --allow-insecure for a test server)"
        )
    return url.rstrip("/")


class AdminApi:
    """``call(method, path, body)`` against ``{url}/api/v1/admin``."""

    def __init__(
        self, url: str, token: str, *, pin: str = "", ca_file: str = "", timeout: float = 15.0,
        allow_insecure: bool = False,
    ) -> None:  # fmt: skip
        if not token.strip():
            raise AdminApiError("--admin-token is empty (a2d server admin-token makes one)")
        self.url = check_url(url, allow_insecure)
        self.token = token.strip()
        self.timeout = timeout
        self.context: ssl.SSLContext | None = None
        if urlsplit(self.url).scheme == "https":
            if pin:
                try:
                    self.context = pinned_context(parse_pin(pin), "--pin")
                except PinError as exc:
                    raise AdminApiError(f"--pin: {exc}") from None
            else:
                self.context = ssl.create_default_context(cafile=ca_file or None)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{API}/admin{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                     **({"Content-Type": "application/json"} if data is not None else {})},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as answer:
                raw = answer.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            raise AdminApiError(f"{method} {path}: the server answered {exc.code}: {_detail(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AdminApiError(f"cannot reach the sync server at {self.url}: {reason}") from None
        if len(raw) > MAX_ANSWER:
            raise AdminApiError(f"{method} {path}: the answer is larger than {MAX_ANSWER} bytes")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise AdminApiError(f"{method} {path}: the server's answer is not JSON") from None

    # the routes ------------------------------------------------------------------------------
    def add_device(self, name: str, site: str, role: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("POST", "/devices", {"name": name, "site": site, "role": role})
        return answer

    def devices(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/devices")["devices"])

    def heartbeats(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/heartbeats")["heartbeats"])

    def revoke(self, device_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("POST", f"/devices/{quote(device_id, safe='')}/revoke")
        return answer

    def rotate_token(self, device_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("POST", f"/devices/{quote(device_id, safe='')}/token")
        return answer

    def signing_keys(self) -> list[str]:
        return [k["public_key"] for k in self.call("GET", "/keys")["keys"]]


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        doc = json.loads(exc.read(64 * 1024))
        return str(doc.get("detail", doc))[:300]
    except (ValueError, OSError, AttributeError):
        return exc.reason if isinstance(exc.reason, str) else "no detail"
