"""The content pack kiosks show: the ``[content] pack`` file, or else the applied ``content`` bundle.

Both are read again only when the file changes (size, modification time, inode) and checked with
:func:`a2d.contentpack.loads` first; a file that turns bad keeps the last good pack in service
and is logged once. The ETag is the sha256 of the pack's bytes in quotes, as for bundles.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from a2d import bundles as a2d_bundles
from a2d import contentpack
from a2d.contentpack import ContentError, ContentPack
from a2d.logs import Once

from .. import bundles as edge_bundles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Content:
    """One checked pack: the bytes as served, their ETag, and the parsed pack."""

    body: bytes
    etag: str
    pack: ContentPack
    origin: str  # "file" or "bundle"


def check_pack_file(path: Path) -> None:
    """``ContentError`` (a KnownError) naming the problem if the configured pack is unusable."""
    contentpack.load(path)


class ContentSource:
    """Answers :meth:`current`: the pack to serve now, or ``None`` when there is none."""

    def __init__(self, pack_file: str, data_dir: Path, server_public_key: str) -> None:
        self.pack_file = Path(pack_file) if pack_file else None
        self.bundle_file = edge_bundles.bundle_dir(data_dir) / "content.json"
        self.data_dir = data_dir
        self.public_key = server_public_key
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._content: Content | None = None
        self._once = Once(log)

    def current(self) -> Content | None:
        path = self.pack_file or (self.bundle_file if self.public_key else None)
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

    def _reload(self, path: Path) -> None:
        try:
            if self.pack_file is not None:
                body, origin = path.read_bytes(), "file"
            else:
                bundle = edge_bundles.current(self.data_dir, "content", self.public_key)
                if bundle is None:
                    return
                body, origin = bundle.content, "bundle"
            pack = contentpack.loads(body)
        except (OSError, ContentError, a2d_bundles.BundleError) as exc:
            self._once.failed(
                "pack", "cannot serve the content pack %s (%s); keeping the last good one", path, exc
            )
            return
        self._once.recovered("pack", "the content pack %s is readable again", path)
        self._content = Content(body, a2d_bundles.etag(hashlib.sha256(body).hexdigest()), pack, origin)
        log.info("serving content pack version %s from the %s %s", pack.version, origin, path)


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak or strong, or ``*``)."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)
