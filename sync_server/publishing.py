"""Publishing bundles: counters, targets, signatures, and the server's list of signing keys.

Every bundle of a kind gets the next counter of that kind's one sequence (across all targets), so a
device that moves between targets still sees it grow. A bundle is for every device (``all``), a
site (``site:<site>``) or one device (``device:<id>``); several devices get one bundle each.

Three ways in, one way to the database (:meth:`Database.publish_bundles`, which refuses a counter
that is not above the highest published of its kind):

- :func:`publish` signs with a key file the server can read (``a2d server bundle publish``);
- :func:`export` hands out unsigned bundles with their counters assigned, to be signed elsewhere
  (:func:`a2d.bundles.sign_bundle`), and :func:`upload` takes them back signed, checked against
  the server's public keys;
- :func:`rotate` publishes a ``keys`` bundle signed with the old key, listing the new one, and
  signs the current bundles again with the new key.

The stored document is exactly what a device downloads; the server never changes it afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from a2d import bundles, contentpack, timeutil
from a2d.bundles import ALL, Bundle, BundleError, TrustedKey
from a2d.contentpack import ContentError
from a2d.errors import KnownError

from .db import BundleInfo, Database, SigningKey

log = logging.getLogger(__name__)

MAX_VERSION_LENGTH = bundles.MAX_VERSION_LENGTH


class PublishError(KnownError):
    """The bundle cannot be published: a file too large or unreadable, a bad version, target or key."""


def read_content(path: Path, kind: str = "") -> bytes:
    """The file's bytes, refused when larger than :data:`a2d.bundles.MAX_BUNDLE_BYTES`, and for
    ``kind`` content when it is not a content pack whose hours parse (:func:`check_content`)."""
    limit = bundles.MAX_BUNDLE_BYTES
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise PublishError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise PublishError(f"{path} is larger than the {limit} bytes a bundle may hold")
    check_content(kind, data)
    return data


def check_version(version: str) -> str:
    """``version`` if it is 1 to 100 printable characters (it is one line of the signed message)."""
    if not version or len(version) > MAX_VERSION_LENGTH or not version.isprintable():
        raise PublishError(
            f"a version is 1 to {MAX_VERSION_LENGTH} printable characters, not {version!r:.120}"
        )
    return version


def targets(db: Database, kind: str, devices: Sequence[str] = (), site: str = "") -> list[str]:
    """The targets of a publish: ``all``, ``site:<site>``, or ``device:<id>`` for each device named.

    Every device named must be registered (revoked ones too: a device may be reinstated).
    """
    if kind not in bundles.KINDS:
        raise PublishError(f"kind must be one of {', '.join(bundles.KINDS)}, not {kind!r}")
    if devices and site:
        raise PublishError("give --site or --device, not both")
    if kind == "keys" and (devices or site):
        raise PublishError("a keys bundle is for every device: the server's keys are the same for all")
    if site:
        if not bundles.is_slug(site):
            raise PublishError(
                f"a site is lower-case letters and digits joined by single hyphens, not {site!r:.60}"
            )
        return [f"site:{site}"]
    if not devices:
        return [ALL]
    named = list(dict.fromkeys(devices))
    known = {d.device_id for d in db.devices()}
    unknown = [d for d in named if d not in known]
    if unknown:
        raise PublishError(f"no device {', '.join(map(repr, unknown))} (see a2d server device list)")
    return [f"device:{d}" for d in named]


def ensure_signing_key(db: Database, key: Ed25519PrivateKey, now: str) -> None:
    """Check that ``key`` is one of the server's active signing keys; the first one is taken on."""
    kid = bundles.key_id(key)
    known = {k.key_id: k for k in db.signing_keys()}
    found = known.get(kid)
    if found is None and known:
        raise PublishError(
            f"the key {kid} is not one of this server's signing keys (a2d server signing-key list);"
            " if devices trust it: a2d server signing-key trust PUBLIC_KEY"
        )
    if found is None:
        db.add_signing_key(SigningKey(kid, bundles.public_key_text(key), now))
        log.info("the server's first signing key is %s", kid)
    elif not found.active_at(now):
        raise PublishError(f"the signing key {kid} was retired at {found.retire_at}: sign with the new key")


def _info(bundle: Bundle, now: str) -> BundleInfo:
    return BundleInfo(
        bundle.target,
        bundle.kind,
        bundle.version,
        bundle.sha256,
        len(bundle.content),
        now,
        counter=bundle.counter,
    )


def _document(bundle: Bundle) -> str:
    return orjson.dumps(bundle.as_dict()).decode()


def _signing_keys(keys: Sequence[TrustedKey], now: str) -> list[SigningKey]:
    """A keys bundle's list as the server's registry rows (``added_at`` stays for known keys)."""
    return [SigningKey(k.key_id, k.public_key, now, _iso(k.until)) for k in keys]


def _iso(until: str | None) -> str | None:
    """An ``until`` in the registry's time format (ISO with microseconds), comparable as text."""
    return None if until is None else timeutil.iso(bundles.parse_until(until))


def publish(
    db: Database,
    key: Ed25519PrivateKey,
    kind: str,
    content: bytes,
    version: str,
    devices: Sequence[str],
    now: str,
    site: str = "",
) -> list[BundleInfo]:
    """Sign ``content`` as the ``kind`` bundle of ``devices`` (each its own), of ``site``, or of all."""
    check_version(version)
    aims = targets(db, kind, devices, site)
    ensure_signing_key(db, key, now)
    keys = _keys_of(kind, content)
    signed = [bundles.sign(key, kind, version, db.assign_bundle_counter(kind), t, content) for t in aims]
    registry = _signing_keys(keys, now) if keys else None
    db.publish_bundles([(_info(b, now), _document(b)) for b in signed], registry)
    log.info("published %s bundle %s (%d bytes) for %s", kind, version, len(content), ", ".join(aims))
    return [_info(b, now) for b in signed]


def check_content(kind: str, content: bytes) -> None:
    """A content bundle must hold a content pack whose sites' hours parse: a kiosk would otherwise
    find out at opening time. Other kinds are checked where they are read."""
    if kind != "content":
        return
    from sitehours.hours import HoursError
    from sitehours.pack import check_pack

    try:
        check_pack(contentpack.loads(content))
    except (ContentError, HoursError) as exc:
        raise PublishError(f"the content pack cannot be published: {exc}") from exc


def _keys_of(kind: str, content: bytes) -> tuple[TrustedKey, ...]:
    if kind != "keys":
        return ()
    try:
        return bundles.parse_keys(content)
    except BundleError as exc:
        raise PublishError(str(exc)) from exc


def export(
    db: Database, kind: str, content: bytes, version: str, devices: Sequence[str], site: str = ""
) -> list[Bundle]:
    """Unsigned bundles with their counters assigned, one per target, to be signed elsewhere."""
    check_version(version)
    aims = targets(db, kind, devices, site)
    _keys_of(kind, content)
    return [bundles.unsigned(kind, version, db.assign_bundle_counter(kind), t, content) for t in aims]


def upload(db: Database, docs: Sequence[Any], now: str) -> list[BundleInfo]:
    """Store bundles signed elsewhere, after checking each: form and hash, a signature by one of the
    server's active keys, a known device as target, and a counter this server assigned."""
    active = {k.key_id: bundles.load_public_key(k.public_key) for k in db.signing_keys() if k.active_at(now)}
    checked: list[Bundle] = []
    for doc in docs:
        try:
            bundle = bundles.parse(doc)
            bundles.check_signature(bundle, active)
        except BundleError as exc:
            raise PublishError(f"refused: {exc}") from exc
        scope, _, name = bundle.target.partition(":")
        targets(db, bundle.kind, [name] if scope == "device" else [], name if scope == "site" else "")
        assigned, _ = db.bundle_counters(bundle.kind)
        if bundle.counter > assigned:
            raise PublishError(
                f"refused: counter {bundle.counter} of the {bundle.kind} bundle was never handed out by this"
                " server (a2d server bundle export assigns it)"
            )
        checked.append(bundle)
    keys = [k for b in checked for k in _keys_of(b.kind, b.content)]
    db.publish_bundles(
        [(_info(b, now), _document(b)) for b in checked], _signing_keys(keys, now) if keys else None
    )
    return [_info(b, now) for b in checked]


def rotate(
    db: Database, old: Ed25519PrivateKey, new: Ed25519PrivateKey, keep_old_until: datetime, now: str
) -> tuple[BundleInfo, list[BundleInfo]]:
    """Publish the ``keys`` bundle of a rotation and sign the current bundles again with ``new``.

    The list names ``new``, ``old`` until ``keep_old_until``, and the server's other active keys;
    it is signed with ``old``, which devices trust now. Every current bundle of another kind gets
    a new counter and the new key's signature (same content, version and target), so that nothing
    a device uses is signed with the old key once its time is up. All in one transaction.
    """
    ensure_signing_key(db, old, now)
    until = bundles.until_text(keep_old_until)
    old_id, new_id = bundles.key_id(old), bundles.key_id(new)
    listed = [bundles.trusted_key(bundles.public_key_text(new))]
    for k in db.signing_keys():
        if k.key_id == old_id:
            listed.append(bundles.trusted_key(k.public_key, until))
        elif k.key_id != new_id and k.active_at(now):
            listed.append(bundles.trusted_key(k.public_key, k.retire_at))
    keys_bundle = bundles.sign(
        old, "keys", now, db.assign_bundle_counter("keys"), ALL, bundles.keys_content(listed)
    )
    items = [(_info(keys_bundle, now), _document(keys_bundle))]
    for head in db.bundles():
        found = db.bundle_document(head.target, head.kind) if head.kind != "keys" and head.counter else None
        if found is None:
            continue
        b = bundles.parse(orjson.loads(found[2]))
        again = bundles.sign(new, b.kind, b.version, db.assign_bundle_counter(b.kind), b.target, b.content)
        items.append((_info(again, now), _document(again)))
    db.publish_bundles(items, _signing_keys(listed, now))
    log.info("rotated the signing key %s -> %s (the old one trusted until %s)", old_id, new_id, until)
    return items[0][0], [info for info, _ in items[1:]]
