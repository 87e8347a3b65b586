"""What kiosks are served as content: a signed ``content`` bundle document, and the ``keys`` bundle.

The content is the ``[content] pack`` file, which must be a signed bundle document
(``a2d server bundle sign``), or else the applied ``content`` bundle. Kiosks get the document
itself, signature and all, and check it with their own trusted keys, so no agent can show them
content nobody signed. The agent checks it too: the signature with its trusted keys, its target
against this device, the pack inside with :func:`a2d.contentpack.loads`. Both are read again only
when the file changes (size, modification time, inode); a file that turns bad keeps the last good
document in service and is logged once. The ETag is the bundle's (counter and sha256).

The ``keys`` bundle the agent applied is served as it is, so kiosks learn a rotated key.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from a2d import bundles as a2d_bundles
from a2d import contentpack
from a2d.contentpack import ContentError, ContentPack
from a2d.errors import KnownError
from a2d.logs import Once

from .. import bundles as edge_bundles

log = logging.getLogger(__name__)

SIGN_HINT = (
    "sign it first: a2d server bundle sign {path} --kind content --key KEYFILE --out {path}.signed.json"
    " (the key's public key in sync.trusted_keys here and in kiosk.trusted_keys on the kiosks)"
)


class PackFileError(KnownError):
    """``[content] pack`` names a file that is not a signed content bundle this agent accepts."""


@dataclass(frozen=True)
class Content:
    """One checked document: the bytes as served, their ETag, and the pack inside."""

    body: bytes
    etag: str
    pack: ContentPack
    origin: str  # "file" or "bundle"


@dataclass(frozen=True)
class Document:
    """A signed document served as it is (the keys bundle)."""

    body: bytes
    etag: str


class ContentSource:
    """Answers :meth:`current`: the content to serve now, or ``None`` when there is none."""

    def __init__(self, pack_file: str, data_dir: Path, trust: edge_bundles.DeviceTrust) -> None:
        self.pack_file = Path(pack_file) if pack_file else None
        self.bundle_file = edge_bundles.bundle_dir(data_dir) / "content.json"
        self.keys_file = edge_bundles.bundle_dir(data_dir) / "keys.json"
        self.data_dir = data_dir
        self.trust = trust
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._content: Content | None = None
        self._once = Once(log)

    def check_pack_file(self) -> None:
        """:class:`PackFileError` (one line) unless the configured pack file can be served."""
        if self.pack_file is None:
            return
        try:
            self._load_file(self.pack_file)
        except (a2d_bundles.BundleError, ContentError) as exc:
            raise PackFileError(f"[content] pack {self.pack_file}: {exc}") from exc

    def current(self) -> Content | None:
        path = self.pack_file or (self.bundle_file if self.trust.enabled else None)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if self.pack_file is not None:
                self._once.failed("pack", "the content pack %s is gone; serving the last good one", path)
            return self._content
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload(path)
            return self._content

    def keys(self) -> Document | None:
        """The applied ``keys`` bundle, checked again; ``None`` when there is none (or it is bad)."""
        try:
            bundle = edge_bundles.current(self.data_dir, "keys", self.trust)
        except a2d_bundles.BundleError as exc:
            self._once.failed("keys", "not serving the keys bundle %s (%s)", self.keys_file, exc)
            return None
        if bundle is None:
            return None
        self._once.recovered("keys", "serving the keys bundle %s again", self.keys_file)
        return Document(json.dumps(bundle.as_dict()).encode(), bundle.etag)

    def _load_file(self, path: Path) -> Content:
        data, bundle = self._signed_file(path)
        return Content(data, bundle.etag, contentpack.loads(bundle.content), "file")

    def _signed_file(self, path: Path) -> tuple[bytes, a2d_bundles.Bundle]:
        try:
            return edge_bundles.check_file(path, self.data_dir, "content", self.trust)
        except a2d_bundles.BundleError as exc:
            if _is_plain_pack(path):
                raise a2d_bundles.BundleError(
                    f"a plain content pack, not a signed bundle; {SIGN_HINT.format(path=path)}"
                ) from None
            if not self.trust.enabled:
                raise a2d_bundles.BundleError(f"{exc}; no key is configured: set sync.trusted_keys") from exc
            raise

    def _reload(self, path: Path) -> None:
        try:
            if self.pack_file is not None:
                content = self._load_file(path)
            else:
                bundle = edge_bundles.current(self.data_dir, "content", self.trust)
                if bundle is None:
                    return
                body = json.dumps(bundle.as_dict()).encode()
                content = Content(body, bundle.etag, contentpack.loads(bundle.content), "bundle")
        except (OSError, ContentError, a2d_bundles.BundleError) as exc:
            self._once.failed(
                "pack", "cannot serve the content pack %s (%s); keeping the last good one", path, exc
            )
            return
        self._once.recovered("pack", "the content pack %s is readable again", path)
        self._content = content
        log.info("serving content pack version %s from the %s %s", content.pack.version, content.origin, path)


def _is_plain_pack(path: Path) -> bool:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == contentpack.FORMAT


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak or strong, or ``*``)."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)
