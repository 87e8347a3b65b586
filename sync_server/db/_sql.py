"""SQL both database backends run, written once with ``?`` placeholders.

SQLite takes them as they are; the PostgreSQL backend turns ``?`` into ``%s`` with
:func:`pg` (none of these statements holds a literal question mark or percent sign).
"""

from __future__ import annotations

from functools import cache


@cache
def pg(statement: str) -> str:
    """``statement`` with psycopg's ``%s`` placeholders."""
    return statement.replace("?", "%s")


ADD_DEVICE = (
    "INSERT INTO devices (device_id, name, token_hash, created_at, token_set_at, site, role) VALUES "
    "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO NOTHING"
)
ADD_SIGNING_KEY = (
    "INSERT INTO signing_keys (key_id, public_key, added_at, retire_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key_id) DO NOTHING"
)
ADD_HEARTBEAT = "INSERT INTO heartbeats (device_id, received_at, heartbeat) VALUES (?, ?, ?)"
ADMIN_TOKEN_HASH = "SELECT secret_hash FROM server_secrets WHERE name = 'admin'"
APPLIED_MIGRATIONS = "SELECT version FROM schema_migrations"
ARCHIVE_BUNDLE = (
    "INSERT INTO bundle_history (target, kind, version, sha256, size, document, published_at, "
    "replaced_at, counter) SELECT target, kind, version, sha256, size, document, published_at, ?, "
    "counter FROM bundles WHERE target = ? AND kind = ?"
)
ASSIGN_BUNDLE_COUNTER = (
    "INSERT INTO bundle_counters (kind, assigned, published) VALUES (?, 1, 0) ON CONFLICT (kind) "
    "DO UPDATE SET assigned = bundle_counters.assigned + 1 RETURNING assigned"
)
BUNDLE_COUNTERS = "SELECT assigned, published FROM bundle_counters WHERE kind = ?"
BUNDLES = (
    "SELECT target, kind, version, sha256, size, published_at, NULL, counter FROM bundles ORDER BY "
    "kind, target"
)
BUNDLES_WITH_HISTORY = (
    "SELECT target, kind, version, sha256, size, published_at, NULL, counter FROM bundles UNION ALL "
    "SELECT target, kind, version, sha256, size, published_at, replaced_at, counter FROM "
    "bundle_history ORDER BY kind, target, counter, published_at"
)
BUNDLE_DOCUMENT = "SELECT counter, sha256, document FROM bundles WHERE target = ? AND kind = ?"
#: the device's own bundle, else its site's, else the one for all
BUNDLE_FOR = (
    "SELECT target, kind, version, sha256, size, published_at, NULL, counter FROM bundles WHERE "
    "kind = ? AND target IN (?, 'all', (SELECT 'site:' || site FROM devices WHERE device_id = ? "
    "AND site <> '')) ORDER BY CASE WHEN target = 'all' THEN 2 WHEN substr(target, 1, 5) = 'site:' "
    "THEN 1 ELSE 0 END LIMIT 1"
)
#: every device with the time its latest heartbeat arrived (its "last seen"; NULL before the first)
DEVICES = (
    "SELECT d.device_id, d.name, d.created_at, d.token_set_at, d.revoked_at, d.site, d.role, h.received_at "
    "FROM devices d LEFT JOIN heartbeats_latest h ON h.device_id = d.device_id ORDER BY d.device_id"
)
DEVICE_TOKEN_HASH = "SELECT token_hash FROM devices WHERE device_id = ? AND revoked_at IS NULL"
DEVICE_WITH_TOKEN = "SELECT device_id FROM devices WHERE token_hash = ? AND revoked_at IS NULL"
DROP_OLD_BUNDLE_DOCUMENTS = (
    "UPDATE bundle_history SET document = NULL WHERE target = ? AND kind = ? AND document IS "
    "NOT NULL AND seq < (SELECT max(seq) FROM bundle_history WHERE target = ? AND kind = ?)"
)
HEARTBEAT_HISTORY = (
    "SELECT device_id, received_at, heartbeat FROM heartbeats WHERE device_id = ? ORDER BY seq DESC LIMIT ?"
)
LATEST_HEARTBEATS = "SELECT device_id, received_at, heartbeat FROM heartbeats_latest ORDER BY device_id"
PING = "SELECT 1"
PUBLISHED_COUNTER = (
    "INSERT INTO bundle_counters (kind, assigned, published) VALUES (?, ?, ?) ON CONFLICT (kind) "
    "DO UPDATE SET published = excluded.published, assigned = CASE WHEN bundle_counters.assigned "
    "> excluded.assigned THEN bundle_counters.assigned ELSE excluded.assigned END"
)
RECORD_MIGRATION = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
REVOKE_DEVICE = "UPDATE devices SET revoked_at = coalesce(revoked_at, ?) WHERE device_id = ?"
RETIRE_SIGNING_KEYS = "UPDATE signing_keys SET retire_at = ? WHERE retire_at IS NULL OR retire_at > ?"
SET_ADMIN_TOKEN = (
    "INSERT INTO server_secrets (name, secret_hash, set_at) VALUES ('admin', ?, ?) ON CONFLICT "
    "(name) DO UPDATE SET secret_hash = excluded.secret_hash, set_at = excluded.set_at"
)
SET_DEVICE_TOKEN = (
    "UPDATE devices SET token_hash = ?, token_set_at = ?, revoked_at = NULL WHERE device_id = ?"
)
SIGNING_KEYS = "SELECT key_id, public_key, added_at, retire_at FROM signing_keys ORDER BY added_at, key_id"
TRIM_HEARTBEATS = (
    "DELETE FROM heartbeats WHERE device_id = ? AND seq <= (SELECT seq FROM heartbeats WHERE "
    "device_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"
)
UPSERT_BUNDLE = (
    "INSERT INTO bundles (target, kind, version, sha256, size, document, published_at, counter) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, kind) DO UPDATE SET version = "
    "excluded.version, sha256 = excluded.sha256, size = excluded.size, document = excluded.document, "
    "published_at = excluded.published_at, counter = excluded.counter"
)
UPSERT_SIGNING_KEY = (
    "INSERT INTO signing_keys (key_id, public_key, added_at, retire_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key_id) DO UPDATE SET retire_at = excluded.retire_at"
)
UPSERT_LATEST_HEARTBEAT = (
    "INSERT INTO heartbeats_latest (device_id, received_at, heartbeat) VALUES (?, ?, ?) ON "
    "CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at, heartbeat = "
    "excluded.heartbeat"
)

#: a kiosk's latest display report from a heartbeat (received at ``seen_at``, the server's clock):
#: ``report_at`` moves when the agent received a new report, ``drawn_at`` when the picture's hash
#: or the frame count changed (both on the server's clock, so a device's clock does not matter)
UPSERT_DISPLAY = (
    "INSERT INTO kiosk_displays (device_id, kiosk_id, page, frames, hash, changed_at, reported_at, mode, wall,"
    " seen_at, report_at, drawn_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, kiosk_id)"
    " DO UPDATE SET page = excluded.page, changed_at = excluded.changed_at, mode = excluded.mode,"
    " wall = excluded.wall, seen_at = excluded.seen_at,"
    " report_at = CASE WHEN excluded.reported_at <> kiosk_displays.reported_at THEN excluded.seen_at"
    " ELSE kiosk_displays.report_at END,"
    " drawn_at = CASE WHEN excluded.hash <> kiosk_displays.hash OR excluded.frames <> kiosk_displays.frames"
    " THEN excluded.seen_at ELSE kiosk_displays.drawn_at END,"
    " hash = excluded.hash, frames = excluded.frames, reported_at = excluded.reported_at"
)
DISPLAYS = (
    "SELECT device_id, kiosk_id, page, frames, hash, changed_at, reported_at, mode, wall, seen_at, report_at,"
    " drawn_at FROM kiosk_displays ORDER BY device_id, kiosk_id"
)
