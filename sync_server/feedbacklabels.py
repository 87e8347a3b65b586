"""The words of a feedback answer in open data: the content pack's label of a poll's choice.

A vote (a kiosk's, or a mapped feedback button's press; see ``edge_agent/buttonvotes.py``) counts
under the channel ``<poll id>:<choice id>``. Open data names that answer in the words citizens
saw: the choice's label, in the default language of the content pack the device gets (its own
bundle, its site's, or the one for every device). Other channels (``short``, a box's ``2`` from an
unmapped button) and polls the pack does not hold (live questions, polls since removed) have none.
"""

from __future__ import annotations

import json
import logging

from a2d import bundles, contentpack
from a2d.contentpack import ContentPack

from .db import Database

log = logging.getLogger(__name__)


class Labels:
    """Looks the labels up for one answer of the open-data routes (each device's pack read once)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._packs: dict[str, ContentPack | None] = {}

    def label(self, device_id: str, channel: str) -> str | None:
        poll_id, colon, choice_id = channel.partition(":")
        if not colon:
            return None
        pack = self._pack(device_id)
        poll = None if pack is None else pack.poll(poll_id)
        choice = None if poll is None else poll.choice(choice_id)
        if pack is None or choice is None:
            return None
        return contentpack.pick(choice.label, pack.default_language) or None

    def _pack(self, device_id: str) -> ContentPack | None:
        if device_id not in self._packs:
            self._packs[device_id] = self._read(device_id)
        return self._packs[device_id]

    def _read(self, device_id: str) -> ContentPack | None:
        head = self.db.bundle_for(device_id, "content")
        found = None if head is None else self.db.bundle_document(head.target, "content")
        if found is None:
            return None
        try:  # published through the server's own checks; a pack it cannot read has no labels
            return contentpack.loads(bundles.parse(json.loads(found[2]), signed=False).content)
        except (bundles.BundleError, contentpack.ContentError, ValueError) as exc:
            log.debug("no feedback labels from the content bundle of %s: %s", device_id, exc)
            return None
