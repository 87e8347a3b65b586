"""Whom a device believes: the Ed25519 keys bundles may be signed with, and until when.

A device starts with the keys of its config, the trust anchor (``sync.trusted_keys`` and
``sync.server_public_key`` on an edge agent, ``kiosk.trusted_keys`` on a kiosk). The server changes
its key by publishing a ``keys`` bundle, signed with a key the devices trust at that moment, whose
content lists the keys to trust from then on, each with an optional ``until``::

    {"keys": [{"public_key": "<base64 of the 32 raw bytes>", "until": null},
              {"public_key": "<the old key>", "until": "2026-09-01T00:00:00Z"}]}

Once a device has applied such a list it replaces the anchor, and a key whose ``until`` has passed
signs nothing any more. :class:`TrustedKeys` is that rule with the time passed in; a key is named
by its :func:`key_id`, the hex of the first 8 bytes of the SHA-256 of its raw public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: more keys than this in one list is a mistake, not a rotation
MAX_KEYS = 16


class BundleError(ValueError):
    """A bundle that must not be applied: malformed, tampered with, wrongly signed, replayed or foreign."""


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64: what a device's ``trusted_keys`` lists."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError, AttributeError) as exc:
        raise BundleError(f"not an Ed25519 public key in base64: {str(exc)[:80]}") from exc


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | str) -> str:
    """``3f0c9a...`` (16 hex digits): how a bundle names the key that signed it."""
    text = key if isinstance(key, str) else public_key_text(key)
    raw = load_public_key(text).public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8].hex()


def parse_until(text: str) -> datetime:
    """An ``until`` as a UTC time: ISO 8601 with an offset, or a date (its midnight in UTC)."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise BundleError(
            f"until must be an ISO 8601 time such as 2026-09-01T00:00:00Z, not {text!r:.40}"
        ) from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def until_text(dt: datetime) -> str:
    """``2026-09-01T00:00:00Z``: how lists write ``until`` (whole seconds, UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TrustedKey:
    public_key: str  # base64, as public_key_text writes it
    until: str | None = None  # until_text, or None: no end

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def valid_at(self, now: datetime) -> bool:
        return self.until is None or now < parse_until(self.until)

    def as_dict(self) -> dict[str, str | None]:
        return {"public_key": self.public_key, "until": self.until}


def trusted_key(public_key: str, until: str | datetime | None = None) -> TrustedKey:
    """A checked :class:`TrustedKey` (canonical base64 and ``until``), or :class:`BundleError`."""
    text = public_key_text(load_public_key(public_key))
    if isinstance(until, str):
        until = parse_until(until)
    return TrustedKey(text, None if until is None else until_text(until))


def parse_keys(content: bytes) -> tuple[TrustedKey, ...]:
    """The list a ``keys`` bundle carries, checked: 1 to :data:`MAX_KEYS` distinct keys."""
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"a keys bundle holds JSON: {exc}") from exc
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_KEYS:
        raise BundleError(f'a keys bundle holds {{"keys": [...]}} with 1 to {MAX_KEYS} keys')
    keys = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("public_key"), str):
            raise BundleError(f"keys[{i}] has no public_key")
        until = entry.get("until")
        if until is not None and not isinstance(until, str):
            raise BundleError(f"keys[{i}].until must be a time or null")
        keys.append(trusted_key(entry["public_key"], until))
    if len({k.public_key for k in keys}) != len(keys):
        raise BundleError("a keys bundle lists a key twice")
    return tuple(keys)


def keys_content(keys: Iterable[TrustedKey]) -> bytes:
    """The content of a ``keys`` bundle listing ``keys`` (what :func:`parse_keys` reads back)."""
    return json.dumps({"keys": [k.as_dict() for k in keys]}, indent=1).encode()


@dataclass(frozen=True)
class TrustedKeys:
    """The configured keys (``anchors``) until a ``keys`` bundle was applied; then its ``listed`` keys."""

    anchors: tuple[TrustedKey, ...] = ()
    listed: tuple[TrustedKey, ...] | None = None

    @classmethod
    def configured(cls, texts: Iterable[str]) -> TrustedKeys:
        """The anchor from a config's base64 keys (blank ones skipped, repeats once)."""
        keys = {trusted_key(t) for t in texts if t.strip()}
        return cls(tuple(sorted(keys, key=lambda k: k.public_key)))

    def with_list(self, listed: tuple[TrustedKey, ...]) -> TrustedKeys:
        return TrustedKeys(self.anchors, listed)

    @property
    def keys(self) -> tuple[TrustedKey, ...]:
        return self.anchors if self.listed is None else self.listed

    def valid(self, now: datetime) -> Mapping[str, Ed25519PublicKey]:
        """The keys that may sign at ``now``, by key id."""
        return {k.key_id: load_public_key(k.public_key) for k in self.keys if k.valid_at(now)}

    def describe(self, now: datetime) -> str:
        ids = sorted(self.valid(now))
        return ", ".join(ids) if ids else "none"
