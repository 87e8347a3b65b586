"""Content drafts: the pack an editor works on, one per publish target, before an admin publishes it.

A target is ``all`` (every device) or ``site:<id>``, as for bundles. A draft starts from the newest
published content pack of its target (a site without one starts from the pack for all devices; a
server with none from :func:`skeleton`). Every save names the revision its form started from; a
save against an older revision is refused with :class:`Stale` (the caller shows the person's text
again), so two people editing at once never overwrite each other unseen. Each save and each
publish writes an audit row in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from a2d import bundles, contentpack

from .. import publishing
from ..db import ALL_DEVICES, BundleInfo, Database, Tx
from . import audit


class Stale(Exception):
    """The draft changed since the form was opened: ``current`` is what is saved now."""

    def __init__(self, current: Draft) -> None:
        super().__init__(f"the draft of {current.target} is at revision {current.revision}")
        self.current = current


@dataclass(frozen=True)
class Draft:
    target: str
    revision: int  # 0: never saved (the published pack or the skeleton)
    document: dict[str, Any]
    base: str  # what it started from: "all v1", "site:rathaus 2026-…", "skeleton"
    saved_at: str
    saved_by: str


def target_of(site: str) -> str:
    """``all`` for ``""``, else ``site:<site>`` (the site must be a slug)."""
    if not site:
        return ALL_DEVICES
    if not bundles.is_slug(site):
        raise ValueError(f"not a site id: {site!r:.60}")
    return f"site:{site}"


def site_of(target: str) -> str:
    return target.partition(":")[2] if target.startswith("site:") else ""


def skeleton(today: date) -> dict[str, Any]:
    """The smallest valid pack: where a server that never published content starts."""
    return {
        "format": contentpack.FORMAT,
        "version": "1",
        "updated": today.isoformat(),
        "town": "Stadt",
        "default_language": "de",
        "languages": ["de", "fr", "en"],
        "services": [
            {
                "id": "service",
                "icon": "info",
                "title": {"de": "Neue Leistung"},
                "summary": {"de": "Ein Satz zur Leistung."},
                "body": {"de": "Der Text der Seite."},
                "url": "https://example.org/",
                "updated": today.isoformat(),
            }
        ],
        "polls": [],
        "transparency": [],
        "sites": [],
        "buttons": [],
    }


def published(db: Database, target: str) -> tuple[dict[str, Any], str] | None:
    """The newest published pack of ``target`` as a JSON document, with its version; None if none."""
    found = db.bundle_document(target, "content")
    if found is None:
        return None
    bundle = bundles.parse(orjson.loads(found[2]))
    return json.loads(bundle.content), bundle.version


def load(db: Database, target: str, today: date) -> Draft:
    rows = db.query(
        "SELECT revision, document, base, saved_at, saved_by FROM content_drafts WHERE target = ?", (target,)
    )
    if rows:
        r = rows[0]
        return Draft(target, int(r[0]), json.loads(r[1]), str(r[2]), str(r[3]), str(r[4]))
    for source in dict.fromkeys((target, ALL_DEVICES)):
        found = published(db, source)
        if found is not None:
            return Draft(target, 0, found[0], f"{source} {found[1]}", "", "")
    return Draft(target, 0, skeleton(today), "skeleton", "", "")


def save(
    db: Database, draft: Draft, started_from: int, actor: audit.Actor, what: str, now: str, today: date
) -> int:
    """Store ``draft.document`` if the saved revision is still ``started_from``; the new revision.

    Raises :class:`Stale` (nothing stored) when someone saved in between.
    """
    text = json.dumps(draft.document, ensure_ascii=False)
    new = started_from + 1

    def change(tx: Tx) -> bool:
        if started_from == 0:
            stored = tx.run(
                "INSERT INTO content_drafts (target, revision, document, base, saved_at, saved_by)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target) DO NOTHING",
                (draft.target, new, text, draft.base, now, actor.name),
            )
        else:
            stored = tx.run(
                "UPDATE content_drafts SET revision = ?, document = ?, saved_at = ?, saved_by = ?"
                " WHERE target = ? AND revision = ?",
                (new, text, now, actor.name, draft.target, started_from),
            )
        if stored != 1:
            return False
        audit.write(tx, actor, "content.save", draft.target, f"{what} (revision {new})", now)
        return True

    if not db.transact(change):
        raise Stale(load(db, draft.target, today))
    return new


def publish(
    db: Database,
    key: Ed25519PrivateKey,
    target: str,
    revision: int,
    actor: audit.Actor,
    now: str,
    today: date,
) -> list[BundleInfo]:
    """Sign the draft of ``target`` at ``revision`` as the content bundle of its target.

    The pack's ``version`` becomes the bundle's version (the UTC time now), so Lotsen see which one a
    kiosk shows. Raises :class:`Stale` when the draft moved on since the admin looked at it, and
    :class:`sync_server.publishing.PublishError` when the pack cannot be published.
    """
    draft = load(db, target, today)
    if draft.revision != revision:
        raise Stale(draft)
    document = {**draft.document, "version": now}
    content = json.dumps(document, ensure_ascii=False, indent=1).encode()
    publishing.check_content("content", content)
    rows = publishing.publish(db, key, "content", content, now, [], now, site=site_of(target))
    audit.record(db, actor, "content.publish", target, f"revision {revision}, counter {rows[0].counter}", now)
    return rows
