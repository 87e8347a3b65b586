"""The kiosk checks what its agent serves itself: the content pack is a signed bundle document.

An agent could be replaced, or a laptop on the office network could answer in its place; neither
can sign. The kiosk takes the agent's ``GET /v1/content`` only when the document checks out with
the kiosk's own keys (``kiosk.trusted_keys``, or the list of a ``keys`` bundle from
``GET /v1/keys`` signed with one of them), is meant for it (``all``, ``site:<device.site>`` or
``device:<kiosk.agent_device_id>``) and its counter is not below the one of the pack it shows.
The cache keeps the signed documents, so a restarted kiosk checks them again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from a2d import bundles, contentpack
from a2d.bundles import Applied, Bundle, BundleError, Identity, TrustedKeys
from a2d.contentpack import ContentPack
from a2d.logs import Once

log = logging.getLogger(__name__)

CONTENT_FILE = "content.bundle.json"
KEYS_FILE = "keys.bundle.json"


@dataclass(frozen=True)
class ContentTrust:
    """The kiosk's keys and who it is for the target check (its agent's device id, its site)."""

    anchors: TrustedKeys = field(default_factory=TrustedKeys)
    identity: Identity = field(default_factory=lambda: Identity(""))

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> ContentTrust:
        """From the settings of a checked ``kiosk.toml`` (``KioskConfig.raw``)."""
        k = raw["kiosk"]
        return cls(
            TrustedKeys.configured(k["trusted_keys"]), Identity(k["agent_device_id"], raw["device"]["site"])
        )


class SignedCache:
    """The checked documents in the cache folder; each is checked again when read."""

    def __init__(
        self, folder: Path, trust: ContentTrust, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.folder = folder
        self.trust = trust
        self.clock = clock
        self._lock = threading.Lock()
        self._once = Once(log)

    def keys(self) -> TrustedKeys:
        """The keys trusted now: the last cached ``keys`` bundle's list, else ``kiosk.trusted_keys``."""
        try:
            keys = bundles.walk_keys(self._chain(), self.trust.anchors, self.trust.identity)[0]
        except BundleError as exc:
            self._once.failed(
                "keys", "ignoring the cached keys bundles (%s); trusting kiosk.trusted_keys", exc
            )
            return self.trust.anchors
        self._once.recovered("keys", "the cached keys bundles check out again")
        return keys

    def _chain(self) -> list[Any]:
        chain = self._load(KEYS_FILE)
        if chain is None:
            return []
        if not isinstance(chain, list):
            raise BundleError(f"the cached {KEYS_FILE} holds no list")
        return chain

    def accept_keys(self, data: bytes) -> Bundle:
        """Check the agent's ``keys`` bundle against the keys trusted now; add it if it is newer."""
        with self._lock:
            try:
                chain = self._chain()
                last = bundles.walk_keys(chain, self.trust.anchors, self.trust.identity)[1]
            except BundleError:
                chain, last = [], None
            applied = None if last is None else Applied(last.counter, last.sha256)
            bundle = bundles.verify(
                _json(data), self.keys(), "keys", self.trust.identity, now=self.clock(), applied=applied
            )
            if applied is None or bundle.counter > applied.counter:
                if len(chain) >= bundles.MAX_KEY_CHAIN:
                    raise BundleError("too many key lists: configure kiosk.trusted_keys with the current key")
                _write_atomic(self.folder / KEYS_FILE, json.dumps([*chain, bundle.as_dict()]).encode())
                log.info(
                    "keys bundle %d from the agent: trusting %s",
                    bundle.counter,
                    self.keys().describe(self.clock()),
                )
            return bundle

    def cached_content(self) -> tuple[Bundle, ContentPack] | None:
        """The cached document and its pack, checked again (its own counter passes)."""
        doc = self._load(CONTENT_FILE)
        if doc is None:
            return None
        bundle = bundles.verify(doc, self.keys(), "content", self.trust.identity, now=self.clock())
        return bundle, contentpack.loads(bundle.content)

    def accept_content(self, data: bytes) -> tuple[Bundle, ContentPack]:
        """Check a content document from the agent, then keep it as the cached one.

        :class:`BundleError` (unsigned, unknown key, foreign target, older counter) or
        :class:`ContentError` (a signed but broken pack): the cache stays as it was.
        """
        with self._lock:
            bundle = bundles.verify(
                _json(data), self.keys(), "content", self.trust.identity, now=self.clock(),
                applied=self._applied(CONTENT_FILE),
            )  # fmt: skip
            pack = contentpack.loads(bundle.content)
            _write_atomic(self.folder / CONTENT_FILE, data)
            return bundle, pack

    def _applied(self, name: str) -> Applied | None:
        """The counter of the cached document (whatever its key now): nothing older is taken."""
        try:
            doc = self._load(name)
            b = bundles.parse(doc) if doc is not None else None
        except BundleError:
            return None
        return None if b is None else Applied(b.counter, b.sha256)

    def _load(self, name: str) -> Any:
        try:
            return json.loads((self.folder / name).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise BundleError(f"cannot read the cached {name}: {exc}") from exc


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise BundleError(f"not JSON: {exc}") from exc


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
