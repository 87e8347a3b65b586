"""Publishing a bundle: read the file, sign its bytes, store the document for its targets.

The document stored is exactly what a device downloads (:meth:`a2d.bundles.Bundle.as_dict` as
JSON); the server never changes it afterwards, so the signature made here is the one devices check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from a2d import bundles
from a2d.errors import KnownError

from .db import ALL_DEVICES, BundleInfo, Database

log = logging.getLogger(__name__)

MAX_VERSION_LENGTH = 100


class PublishError(KnownError):
    """The bundle cannot be published: a file too large or unreadable, a bad version or device."""


def read_content(path: Path) -> bytes:
    """The file's bytes, refused when larger than :data:`a2d.bundles.MAX_BUNDLE_BYTES`."""
    limit = bundles.MAX_BUNDLE_BYTES
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise PublishError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise PublishError(f"{path} is larger than the {limit} bytes a bundle may hold")
    return data


def check_version(version: str) -> str:
    """``version`` if it is 1 to 100 printable characters (it is one line of the signed message)."""
    if not version or len(version) > MAX_VERSION_LENGTH or not version.isprintable():
        raise PublishError(
            f"a version is 1 to {MAX_VERSION_LENGTH} printable characters, not {version!r:.120}"
        )
    return version


def publish(
    db: Database,
    key: Ed25519PrivateKey,
    kind: str,
    content: bytes,
    version: str,
    devices: Sequence[str],
    now: str,
) -> list[BundleInfo]:
    """Sign ``content`` and make it the ``kind`` bundle of ``devices`` (every device when empty).

    Every device named must be registered (revoked ones too: a device may be reinstated).
    """
    if kind not in bundles.KINDS:
        raise PublishError(f"kind must be one of {', '.join(bundles.KINDS)}, not {kind!r}")
    check_version(version)
    targets = list(dict.fromkeys(devices)) or [ALL_DEVICES]
    if devices:
        known = {d.device_id for d in db.devices()}
        unknown = [d for d in targets if d not in known]
        if unknown:
            raise PublishError(f"no device {', '.join(map(repr, unknown))} (see a2d server device list)")
    bundle = bundles.sign(key, kind, version, content)
    rows = [
        BundleInfo(target, kind, version, bundle.sha256, len(content), published_at=now) for target in targets
    ]
    db.publish_bundle(rows, orjson.dumps(bundle.as_dict()).decode())
    log.info("published %s bundle %s (%d bytes) for %s", kind, version, len(content), ", ".join(targets))
    return rows
