"""Signed bundles: configuration, content and models as the sync server hands them to devices.

A bundle travels as one JSON document::

    {"format": "a2d-bundle/1", "kind": "content", "version": "2026-06-02T08:00:00.000000Z",
     "sha256": "<hex of the content bytes>", "size": 1234,
     "content": "<base64 of the content bytes>", "signature": "<base64 Ed25519 signature>"}

The signature covers :func:`signed_message`: the format, kind, version, sha256 and size, one per
line, so neither the content nor its labels can be swapped. The server signs with its Ed25519
private key when an admin publishes a bundle; a device verifies with the server's public key
(``sync.server_public_key``) and the content's hash before it applies anything, and keeps the last
good bundle when a new one fails. ETag of a bundle is its ``sha256`` in quotes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "a2d-bundle/1"
KINDS = ("config", "content", "model")
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


class BundleError(ValueError):
    """A bundle that must not be applied: malformed, truncated, tampered with or wrongly signed."""


def bundle_path(device_id: str, kind: str) -> str:
    return f"/api/v1/devices/{device_id}/bundles/{kind}"


def etag(sha256: str) -> str:
    """The HTTP ETag of a bundle: its content's sha256 in quotes."""
    return f'"{sha256}"'


def signed_message(kind: str, version: str, sha256: str, size: int) -> bytes:
    return f"{FORMAT}\n{kind}\n{version}\n{sha256}\n{size}\n".encode()


@dataclass(frozen=True)
class Bundle:
    kind: str
    version: str
    sha256: str
    content: bytes
    signature: bytes

    @property
    def etag(self) -> str:
        return etag(self.sha256)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "version": self.version,
            "sha256": self.sha256,
            "size": len(self.content),
            "content": base64.b64encode(self.content).decode(),
            "signature": base64.b64encode(self.signature).decode(),
        }


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64: what goes into a device's ``sync.server_public_key``."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise BundleError(f"not an Ed25519 public key in base64: {exc}") from None


def sign(key: Ed25519PrivateKey, kind: str, version: str, content: bytes) -> Bundle:
    if kind not in KINDS:
        raise BundleError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    digest = hashlib.sha256(content).hexdigest()
    signature = key.sign(signed_message(kind, version, digest, len(content)))
    return Bundle(kind, version, digest, content, signature)


def verify(doc: Any, public_key: Ed25519PublicKey, kind: str | None = None) -> Bundle:
    """Check a bundle document (already JSON-decoded); return it, or raise :class:`BundleError`."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(f"not an {FORMAT} document")
    try:
        b_kind, version, digest, size = (
            str(doc["kind"]),
            str(doc["version"]),
            str(doc["sha256"]),
            int(doc["size"]),
        )
        content = base64.b64decode(doc["content"], validate=True)
        signature = base64.b64decode(doc["signature"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BundleError(f"malformed bundle: {exc}") from None
    if kind is not None and b_kind != kind:
        raise BundleError(f"asked for a {kind} bundle, got {b_kind}")
    if len(content) != size:
        raise BundleError(f"truncated bundle: {len(content)} of {size} bytes")
    if hashlib.sha256(content).hexdigest() != digest:
        raise BundleError("the content does not match its sha256")
    try:
        public_key.verify(signature, signed_message(b_kind, version, digest, size))
    except InvalidSignature:
        raise BundleError("the signature does not match the server's key") from None
    return Bundle(b_kind, version, digest, content, signature)
