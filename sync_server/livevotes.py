"""The vote in an uploaded ``feedback`` record, for the town-wide tallies (:mod:`.db._live`).

A ``feedback`` record is a kiosk's vote or a mapped button press as the agent stores it: its
payload's ``decoded`` holds ``poll_id`` and ``choice`` (:class:`a2d.localapi.Vote`). A record whose
payload says ``"counted": false`` (a button pressed again inside its cooldown) is kept but not
counted. Anything else (no poll, a choice that is no short text, a payload that is no object)
counts for nothing; the record itself is stored all the same.
"""

from __future__ import annotations

from typing import Any

from a2d.syncwire import Checked

from .db import Vote
from .payloads import payload_of

STREAM = "feedback"
#: longest poll and answer ids counted (the agent's local API takes 64 characters)
MAX_ID = 64


def _short(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def vote(device_id: str, record: Checked) -> Vote | None:
    """The counted vote ``record`` holds, None if it holds none (or one that does not count)."""
    payload = payload_of(record, STREAM)
    if payload is None or payload.get("counted") is False:
        return None
    decoded = payload.get("decoded")
    if not isinstance(decoded, dict):
        return None
    poll, choice = _short(decoded.get("poll_id")), _short(decoded.get("choice"))
    if poll is None or choice is None:
        return None
    return Vote(device_id, record.record_id, poll, choice)
