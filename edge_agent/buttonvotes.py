"""Physical feedback buttons answer polls: a press of a mapped button becomes a vote.

The content pack's ``buttons`` (:class:`a2d.contentpack.ButtonMapping`) say which poll a button
answers and what each of its keys means. When the ingest writer commits a press of such a button
(a buttons-bridge ``press`` or ``hold``, or a LoRaWAN uplink with a ``button_press`` measurement)
whose key the mapping names, it stores, in the same transaction, a vote: one row of ``events``
in the ``feedback`` stream like a kiosk's vote, with source ``button``, kind ``vote``, the key
``vote:<press key>`` (a redelivered press is stored once and so is its vote), ``device_name``
``button:<dev_eui or bridge source id>`` (the vote's kiosk id) and ``decoded``
``{"id", "kiosk_id", "poll_id", "choice", "at", "lang", "button", "press", "counted"}``.
Its ``button_press`` measurement's channel is ``<poll_id>:<choice>``, as for kiosk votes.

**Cooldown.** One person hammering a button must not count thirty times: a vote counts only if
no counted vote of the same button lies within ``cooldown_s`` of it, before or after (so the
rule holds whatever order presses arrive in). A vote inside the cooldown is stored with
``counted`` 0 and counted nowhere. The press itself is kept as it came, with ``counted`` 0 too
(its count is its vote's) and ``meta.vote`` naming its vote, so nothing counts a press twice.

**Live questions.** A mapping whose poll is :data:`a2d.contentpack.LIVE_POLL` answers the newest
open live question at this site: ``resolve_live(press time)`` gives ``[question id, answer id, …]``
(or ``None`` when none is open) and a key means the answer at its position (``"1"``: the first).
The live part of the agent provides that function; without it such presses stay plain presses.

A press of a mapped button with a key the mapping does not name, or without an open live
question, stays a plain press and counts as before.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import orjson

from a2d import timeutil
from a2d.contentpack import ButtonMapping, ContentPack

from . import eventrow
from .eventrow import EventRow

log = logging.getLogger(__name__)

#: given a press's time, the newest open live question at this site as ``[id, answer id, ...]``
LiveResolver = Callable[[str], Sequence[str] | None]

SOURCE = "button"
KIND = "vote"
STREAM = "feedback"
#: a button's vote names it as its kiosk: ``button:<dev_eui>`` or ``button:<bridge source id>``
KIOSK_PREFIX = "button:"
_PRESS = '"button_press"'
_NEARBY = (
    "SELECT 1 FROM events WHERE source = 'button' AND stream = 'feedback' AND device_name = ?"
    " AND received_at > ? AND received_at < ? AND counted = 1 LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one press of a mapped button means: which button, poll and choice, and its cooldown."""

    kiosk_id: str
    poll_id: str
    choice: str
    key: str
    cooldown_s: float


def kiosk_id(row: EventRow) -> str:
    """The kiosk id of the votes a press makes: ``button:`` and the device's DevEUI or bridge id."""
    return KIOSK_PREFIX + (row.dev_eui or row.device_name or "")


def press_key(row: EventRow) -> str | None:
    """The key a stored press sends (its ``button_press`` channel), or ``None`` if it is no press."""
    if row.stream not in ("uplink", "button") or _PRESS not in row.measurements:
        return None
    for m in orjson.loads(row.measurements):
        if isinstance(m, dict) and m.get("quantity") == "button_press" and m.get("value"):
            channel = m.get("channel")
            return channel if isinstance(channel, str) else None
    return None


class ButtonMap:
    """The mappings that apply at ``site``, found by the press as the agent stores it."""

    def __init__(self, mappings: Sequence[ButtonMapping], site: str = "") -> None:
        self.bridge: dict[str, ButtonMapping] = {}
        self.dev_eui: dict[str, ButtonMapping] = {}
        self.device: dict[str, ButtonMapping] = {}
        # a site's own mapping wins over one for every site (the pack allows one of each)
        for m in sorted(mappings, key=lambda m: bool(m.site)):
            if m.site and m.site != site:
                continue
            if m.bridge:
                self.bridge[m.bridge] = m
            elif m.dev_eui:
                self.dev_eui[m.dev_eui] = m
            else:
                self.device[m.device] = m

    def __bool__(self) -> bool:
        return bool(self.bridge or self.dev_eui or self.device)

    def find(self, row: EventRow) -> ButtonMapping | None:
        if row.source == "bridge":
            return self.bridge.get(row.device_name or "")
        if row.stream != "uplink":
            return None
        found = self.dev_eui.get(row.dev_eui or "")
        return found if found is not None else self.device.get(row.device_name or "")


class ButtonVotes:
    """Turns mapped presses into votes on the ingest writer's thread (see the module docstring).

    ``pack`` gives the content pack in force (``None``: none); it is asked once per commit
    (:meth:`refresh`). ``cooldown_s`` is the default for mappings without their own.
    """

    def __init__(
        self,
        pack: Callable[[], ContentPack | None],
        *,
        site: str = "",
        cooldown_s: float = 10.0,
        resolve_live: LiveResolver | None = None,
    ) -> None:
        self.pack = pack
        self.site = site
        self.cooldown_s = cooldown_s
        self.resolve_live = resolve_live
        self._pack: ContentPack | None = None
        self.map = ButtonMap(())

    def refresh(self) -> bool:
        """Look at the pack in force (a new one brings new mappings); whether any button is mapped."""
        pack = self.pack()
        if pack is not self._pack:
            self._pack = pack
            self.map = ButtonMap(() if pack is None else pack.buttons, self.site)
            if self.map:
                log.info("feedback buttons answer polls: %s", ", ".join(
                    f"{m.button} -> {m.poll}" for m in (pack.buttons if pack else ()) if not m.site or m.site == self.site
                ))  # fmt: skip
        return bool(self.map)

    def answer(self, row: EventRow) -> Answer | None:
        """What the press ``row`` means, or ``None`` when it is no press of a mapped button and key."""
        key = press_key(row)
        if key is None:
            return None
        mapping = self.map.find(row)
        if mapping is None:
            return None
        value = mapping.keys.get(key) if mapping.keys else key
        if value is None:
            return None
        cooldown = self.cooldown_s if mapping.cooldown_s is None else mapping.cooldown_s
        if not mapping.live:
            return Answer(kiosk_id(row), mapping.poll, value, key, cooldown)
        if self.resolve_live is None or row.received_at is None:
            return None
        question = self.resolve_live(row.received_at)
        position = int(value) if value.isascii() and value.isdigit() else 0
        if not question or not 1 <= position < len(question):
            return None
        return Answer(kiosk_id(row), question[0], question[position], key, cooldown)

    def store(self, db: sqlite3.Connection, row: EventRow, answer: Answer) -> bool:
        """Insert the press ``row`` and, if it is new, its vote (inside the caller's transaction).

        Returns whether the press was new. ``row.received_at`` must be set (the writer sets it).
        """
        at = row.received_at or timeutil.utc_now()
        vote_key = f"vote:{row.key}"
        row.counted = 0
        row.meta = orjson.dumps({**orjson.loads(row.meta), "vote": vote_key}).decode()
        if db.execute(eventrow.INSERT, row.params()).rowcount != 1:
            return False
        counted = not self._nearby(db, answer, at)
        vote = EventRow(
            id=None,
            key=vote_key,
            source=SOURCE,
            kind=KIND,
            stream=STREAM,
            dev_eui=row.dev_eui,
            device_name=answer.kiosk_id,
            application=row.application,
            received_at=at,
            stored_at=row.stored_at,
            f_cnt=None,
            f_port=None,
            codec=None,
            decoded=orjson.dumps(
                {
                    "id": row.key,
                    "kiosk_id": answer.kiosk_id,
                    "poll_id": answer.poll_id,
                    "choice": answer.choice,
                    "at": at,
                    "lang": "",
                    "button": answer.key,
                    "press": row.key,
                    "counted": counted,
                }
            ).decode(),  # fmt: skip
            decode_errors="[]",
            measurements=orjson.dumps(
                [
                    {
                        "quantity": "button_press",
                        "value": 1,
                        "unit": "count",
                        "channel": f"{answer.poll_id}:{answer.choice}",
                    }
                ]
            ).decode(),  # fmt: skip
            raw=None,
            meta="{}",
            counted=int(counted),
        )
        db.execute(eventrow.INSERT, vote.params())
        if not counted:
            log.debug("press %s of %s inside its %g s cooldown: stored, not counted", row.key, answer.kiosk_id,
                      answer.cooldown_s)  # fmt: skip
        return True

    def _nearby(self, db: sqlite3.Connection, answer: Answer, at: str) -> bool:
        """A counted vote of the same button lies within its cooldown of ``at``."""
        if answer.cooldown_s <= 0:
            return False
        t = timeutil.parse(at)
        span = timedelta(seconds=answer.cooldown_s)
        lo, hi = timeutil.iso(t - span), timeutil.iso(t + span)
        return db.execute(_NEARBY, (answer.kiosk_id, lo, hi)).fetchone() is not None


def store_rows(db: sqlite3.Connection, rows: Sequence[EventRow], votes: ButtonVotes | None) -> int:
    """Insert ``rows`` in order, each mapped press with its vote; returns how many rows were new."""
    if votes is None or not votes.refresh():
        return eventrow.insert(db, rows)
    new, plain = 0, []
    for row in rows:
        answer = votes.answer(row)
        if answer is None:
            plain.append(row)
            continue
        new += eventrow.insert(db, plain)
        plain = []
        new += votes.store(db, row, answer)
    return new + eventrow.insert(db, plain)
