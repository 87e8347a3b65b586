"""Signed bundles: keys, configuration, content and models as the sync server hands them to devices.

A bundle travels as one JSON document::

    {"format": "a2d-bundle/2", "kind": "content", "version": "2026-06-02T08:00:00.000000Z",
     "counter": 17, "target": "site:rathaus", "sha256": "<hex of the content bytes>", "size": 1234,
     "content": "<base64 of the content bytes>", "key_id": "<16 hex digits>",
     "signature": "<base64 Ed25519 signature>"}

The signature covers :func:`signed_message`: format, kind, version, counter, target, sha256 and
size, one per line, so nothing can be swapped. ``version`` is a free label for people; ``counter``
is what orders bundles: the server gives every bundle of a kind the next number of one sequence
(across all targets), and a device applies a bundle only if its counter is above the highest it
applied of that kind (the same counter with the same sha256 is the same bundle, a no-op), so an
older bundle, however validly signed, cannot be played back. ``target`` is ``all``,
``site:<site>`` or ``device:<device id>``; a device refuses a bundle for another site or device.
``key_id`` names the signing key (:func:`a2d.bundlekeys.key_id`); which keys a device trusts is
:class:`~a2d.bundlekeys.TrustedKeys`. A document without ``key_id`` and ``signature`` is an
unsigned bundle, as ``a2d server bundle export`` writes it for signing elsewhere.

Version-1 documents (``a2d-bundle/1``) had no counter and no target and are refused. Everything
here is pure: no clock (``now`` is passed in), no files, no network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .bundlekeys import (
    BundleError,
    TrustedKey,
    TrustedKeys,
    key_id,
    keys_content,
    load_public_key,
    new_private_key,
    parse_keys,
    parse_until,
    public_key_text,
    trusted_key,
    until_text,
)

__all__ = [
    "ALL",
    "FORMAT",
    "KINDS",
    "MAX_BUNDLE_BYTES",
    "Applied",
    "Bundle",
    "BundleError",
    "Identity",
    "TrustedKey",
    "TrustedKeys",
    "MAX_COUNTER",
    "MAX_VERSION_LENGTH",
    "bundle_path",
    "check_for",
    "check_newer",
    "check_signature",
    "check_target",
    "is_slug",
    "etag",
    "key_id",
    "keys_content",
    "load_public_key",
    "new_private_key",
    "parse",
    "parse_keys",
    "parse_until",
    "public_key_text",
    "MAX_KEY_CHAIN",
    "walk_keys",
    "sign",
    "sign_bundle",
    "signed_message",
    "trusted_key",
    "unsigned",
    "until_text",
    "verify",
]

FORMAT = "a2d-bundle/2"
#: ``keys`` first: a device applies a rotation before the bundles the new key signed
KINDS = ("keys", "config", "content", "model")
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_VERSION_LENGTH = 100
#: counters are stored as 64-bit integers
MAX_COUNTER = 2**63 - 1
#: the target of a bundle for every device that has no more specific one
ALL = "all"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")


def bundle_path(device_id: str, kind: str) -> str:
    return f"/api/v1/devices/{device_id}/bundles/{kind}"


def etag(counter: int, sha256: str) -> str:
    """The HTTP ETag of a bundle: counter and content hash in quotes (a re-signed bundle differs)."""
    return f'"{counter}-{sha256}"'


def is_slug(text: str) -> bool:
    """Whether ``text`` is a site or device id: lower-case letters and digits joined by single hyphens."""
    return len(text) <= 63 and _SLUG.match(text) is not None


def check_target(target: str) -> str:
    """``target`` if it is ``all``, ``site:<slug>`` or ``device:<slug>``; else :class:`BundleError`."""
    if target == ALL:
        return target
    scope, _, name = target.partition(":")
    if scope in ("site", "device") and is_slug(name):
        return target
    raise BundleError(f"a target is all, site:<site> or device:<device id>, not {target!r:.80}")


@dataclass(frozen=True)
class Identity:
    """Who a device is, for the target check: its device id (an agent's, for a kiosk) and site."""

    device_id: str
    site: str = ""

    @property
    def targets(self) -> tuple[str, ...]:
        found = [ALL, f"device:{self.device_id}"] if self.device_id else [ALL]
        return (*found, f"site:{self.site}") if self.site else tuple(found)


@dataclass(frozen=True)
class Applied:
    """The highest bundle of a kind a device applied: a newer one must have a higher counter."""

    counter: int
    sha256: str


def signed_message(kind: str, version: str, counter: int, target: str, sha256: str, size: int) -> bytes:
    return f"{FORMAT}\n{kind}\n{version}\n{counter}\n{target}\n{sha256}\n{size}\n".encode()


@dataclass(frozen=True)
class Bundle:
    kind: str
    version: str
    counter: int
    target: str
    sha256: str
    content: bytes
    key_id: str = ""  # "" and b"": not signed yet
    signature: bytes = b""

    @property
    def etag(self) -> str:
        return etag(self.counter, self.sha256)

    @property
    def message(self) -> bytes:
        return signed_message(
            self.kind, self.version, self.counter, self.target, self.sha256, len(self.content)
        )

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind,
            "version": self.version,
            "counter": self.counter,
            "target": self.target,
            "sha256": self.sha256,
            "size": len(self.content),
            "content": base64.b64encode(self.content).decode(),
        }
        if self.signature:
            doc["key_id"] = self.key_id
            doc["signature"] = base64.b64encode(self.signature).decode()
        return doc


def unsigned(kind: str, version: str, counter: int, target: str, content: bytes) -> Bundle:
    """A bundle with every label checked, not signed yet."""
    if kind not in KINDS:
        raise BundleError(f"kind must be one of {', '.join(KINDS)}, not {kind!r:.40}")
    _check_version(version)
    _check_counter(counter)
    check_target(target)
    if len(content) > MAX_BUNDLE_BYTES:
        raise BundleError(f"a bundle holds at most {MAX_BUNDLE_BYTES} bytes, not {len(content)}")
    if kind == "keys":
        parse_keys(content)
    return Bundle(kind, version, counter, target, hashlib.sha256(content).hexdigest(), content)


def sign_bundle(bundle: Bundle, key: Ed25519PrivateKey) -> Bundle:
    """``bundle`` signed with ``key`` (a signature it had is replaced)."""
    b = unsigned(bundle.kind, bundle.version, bundle.counter, bundle.target, bundle.content)
    return Bundle(
        b.kind, b.version, b.counter, b.target, b.sha256, b.content, key_id(key), key.sign(b.message)
    )


def sign(
    key: Ed25519PrivateKey, kind: str, version: str, counter: int, target: str, content: bytes
) -> Bundle:
    return sign_bundle(unsigned(kind, version, counter, target, content), key)


def _check_version(version: str) -> None:
    # one line of the signed message: a newline in it could shift the lines after it
    if not version or len(version) > MAX_VERSION_LENGTH or not version.isprintable():
        raise BundleError(
            f"a version is 1 to {MAX_VERSION_LENGTH} printable characters, not {version!r:.120}"
        )


def _check_counter(counter: int) -> None:
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter <= MAX_COUNTER:
        raise BundleError(f"a counter is a whole number from 1, not {counter!r:.40}")


def parse(doc: Any, *, signed: bool = True) -> Bundle:
    """A bundle document (JSON-decoded) checked for form, size and hash; no key is consulted.

    ``signed=False`` reads an unsigned bundle (a signature it carries is dropped).
    """
    if isinstance(doc, dict) and doc.get("format") == "a2d-bundle/1":
        raise BundleError(
            "a version-1 bundle (a2d-bundle/1) is no longer accepted, it could be replayed:"
            " the server must publish it again"
        )
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(f"not an {FORMAT} document")
    try:
        kind, version, counter, target, digest, size = (
            doc["kind"], doc["version"], doc["counter"], doc["target"], doc["sha256"], doc["size"]
        )  # fmt: skip
        if not all(isinstance(v, str) for v in (kind, version, target, digest)) or not isinstance(size, int):
            raise TypeError("a field has the wrong type")
        content = base64.b64decode(doc["content"], validate=True)
        raw_id, signature = (
            (doc["key_id"], base64.b64decode(doc["signature"], validate=True)) if signed else ("", b"")
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BundleError(f"malformed bundle: {str(exc)[:120]}") from exc
    if len(content) != size:
        raise BundleError(f"truncated bundle: {len(content)} of {size} bytes")
    if not _HEX64.match(digest) or hashlib.sha256(content).hexdigest() != digest:
        raise BundleError("the content does not match its sha256")
    if signed and (not isinstance(raw_id, str) or not _KEY_ID.match(raw_id) or len(signature) != 64):
        raise BundleError("malformed bundle: key_id is 16 hex digits and the signature 64 bytes")
    b = unsigned(kind, version, counter, target, content)
    return Bundle(b.kind, b.version, b.counter, b.target, b.sha256, b.content, raw_id, signature)


def check_signature(bundle: Bundle, keys: Mapping[str, Ed25519PublicKey]) -> None:
    """:class:`BundleError` unless one of ``keys`` (by key id) made the bundle's signature."""
    key = keys.get(bundle.key_id)
    if key is None:
        raise BundleError(
            f"signed with key {bundle.key_id}, which is not trusted here (trusted: {', '.join(sorted(keys)) or 'none'})"
        )
    try:
        key.verify(bundle.signature, bundle.message)
    except InvalidSignature:
        raise BundleError(f"the signature does not match key {bundle.key_id}") from None


def check_for(bundle: Bundle, identity: Identity) -> None:
    if bundle.target not in identity.targets:
        raise BundleError(f"meant for {bundle.target}, not for this device ({', '.join(identity.targets)})")


def check_newer(bundle: Bundle, applied: Applied | None) -> None:
    """Refuse a bundle older than the one applied, or another one under the same counter."""
    if applied is None or bundle.counter > applied.counter:
        return
    if bundle.counter == applied.counter and bundle.sha256 == applied.sha256:
        return  # the same bundle again
    if bundle.counter == applied.counter:
        raise BundleError(f"counter {bundle.counter} is the applied bundle's, with other content")
    raise BundleError(f"counter {bundle.counter} is older than the applied {applied.counter} (a replay?)")


def verify(
    doc: Any,
    trust: TrustedKeys,
    kind: str,
    identity: Identity,
    *,
    now: datetime,
    applied: Applied | None = None,
) -> Bundle:
    """Check a document a device received: form and hash, kind, a key trusted at ``now`` and its
    signature, the target, and a counter above ``applied`` (the same bundle again is accepted)."""
    bundle = parse(doc)
    if bundle.kind != kind:
        raise BundleError(f"asked for a {kind} bundle, got {bundle.kind}")
    check_signature(bundle, trust.valid(now))
    check_for(bundle, identity)
    check_newer(bundle, applied)
    return bundle


#: key rotations a device remembers; more is a mistake or an attack, not a town's habit
MAX_KEY_CHAIN = 64


def walk_keys(
    chain: Sequence[Any], anchors: TrustedKeys, identity: Identity
) -> tuple[TrustedKeys, Bundle | None]:
    """The keys trusted after the ``keys`` bundles a device applied, oldest first, checked again.

    Each was checked in full when it was applied (:func:`verify`). Read again, each must still be
    signed by a key of the list before it (the anchors for the first), whatever that key's
    ``until`` by now (the key a list retires is the one that signed it), be meant for this device
    and have a higher counter than the one before. Returns the trusted keys and the last bundle.
    """
    if len(chain) > MAX_KEY_CHAIN:
        raise BundleError(f"more than {MAX_KEY_CHAIN} key lists: provision the device with the current key")
    trust, last = anchors, None
    for doc in chain:
        bundle = parse(doc)
        if bundle.kind != "keys":
            raise BundleError(f"a list of keys bundles holds a {bundle.kind} bundle")
        check_signature(bundle, {k.key_id: load_public_key(k.public_key) for k in trust.keys})
        check_for(bundle, identity)
        if last is not None and bundle.counter <= last.counter:
            raise BundleError(
                f"the keys bundles' counters do not grow ({last.counter}, then {bundle.counter})"
            )
        trust, last = anchors.with_list(parse_keys(bundle.content)), bundle
    return trust, last
