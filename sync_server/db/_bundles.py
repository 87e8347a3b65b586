"""The statements of one bundle publish, the same for both backends (run in one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import _sql as sql
from ._base import BundleInfo, SigningKey, StaleBundle

Statement = tuple[str, tuple[Any, ...]]


def statements(
    bundles: Sequence[tuple[BundleInfo, str]],
    signing_keys: Sequence[SigningKey] | None,
    published: Callable[[str], int],
) -> list[Statement]:
    """What :meth:`Database.publish_bundles` runs, in order; ``published(kind)`` reads the highest
    counter published so far inside the transaction. :class:`StaleBundle` before anything is run
    when a counter is not above it (nor above an earlier bundle of the same publish)."""
    highest: dict[str, int] = {}
    for info, _ in bundles:
        floor = highest[info.kind] if info.kind in highest else published(info.kind)
        if info.counter <= floor:
            raise StaleBundle(
                f"the {info.kind} bundle's counter {info.counter} is not above {floor}, the highest"
                " published: a newer bundle came first; export or publish it again"
            )
        highest[info.kind] = info.counter
    out: list[Statement] = []
    for b, document in bundles:
        out += [
            (sql.ARCHIVE_BUNDLE, (b.published_at, b.target, b.kind)),
            (sql.DROP_OLD_BUNDLE_DOCUMENTS, (b.target, b.kind, b.target, b.kind)),
            (sql.UPSERT_BUNDLE, (b.target, b.kind, b.version, b.sha256, b.size, document, b.published_at, b.counter)),
        ]  # fmt: skip
    out += [(sql.PUBLISHED_COUNTER, (kind, counter, counter)) for kind, counter in highest.items()]
    if signing_keys is not None and bundles:
        now = bundles[0][0].published_at
        out.append((sql.RETIRE_SIGNING_KEYS, (now, now)))
        out += [
            (sql.UPSERT_SIGNING_KEY, (k.key_id, k.public_key, k.added_at, k.retire_at)) for k in signing_keys
        ]
    return out
