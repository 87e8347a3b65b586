"""The zero-touch claim as the rest of the system sees it: its zeroconf name, and the notice file.

A Pi without its bundle runs ``a2d provision await-claim`` (the claim responder in
``provisioning/``). It announces :data:`SERVICE_TYPE` with the TXT properties ``serial`` and ``v``
(= :data:`VERSION`), and writes a :class:`ClaimNotice` to :data:`DEFAULT_NOTICE` while it waits.
The kiosk shows the notice's code and serial full screen for as long as the file is there; the
responder deletes it once the device is claimed (or when it stops). The kiosk imports this module,
never ``provisioning``.

The notice is one JSON object in UTF-8, at most :data:`MAX_NOTICE_BYTES`::

    {"v": 1, "code": "493027", "serial": "10000000a1b2c3d4", "locked_until": null}

``code``: six digits. ``serial``: the device's serial number (letters, digits, ``-``).
``locked_until``: ``null``, or an ISO 8601 UTC time until which the claim refuses every code
(five wrong ones were tried). The file is written whole (a temporary file renamed over it), mode
0644: the code is meant to be read off the screen, and the kiosk runs as another user. It lives in
``/run`` (a tmpfs), so a reboot never leaves a stale code behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

VERSION = 1
SERVICE_TYPE = "_a2d-setup._tcp.local."
#: the TCP port the responder listens on unless told otherwise
DEFAULT_PORT = 8790
DEFAULT_NOTICE = Path("/run/a2d/claim.json")
MAX_NOTICE_BYTES = 4096
CODE_DIGITS = 6
_CODE = re.compile(rf"[0-9]{{{CODE_DIGITS}}}")
_SERIAL = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{3,63}")


class NoticeError(ValueError):
    """A notice file that does not follow this format; the message says what is wrong."""


def valid_code(code: str) -> bool:
    return bool(_CODE.fullmatch(code))


def valid_serial(serial: str) -> bool:
    """4-64 letters, digits and ``-``: what a Pi's serial number looks like, safe in a DNS label."""
    return bool(_SERIAL.fullmatch(serial))


@dataclass(frozen=True, slots=True)
class ClaimNotice:
    code: str
    serial: str
    locked_until: str | None = None

    def locked_at(self, now: datetime) -> bool:
        """Whether the claim is still locked at ``now`` (an unreadable time counts as locked)."""
        if self.locked_until is None:
            return False
        try:
            until = datetime.fromisoformat(self.locked_until)
        except ValueError:
            return True
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        return now < until

    def to_json(self) -> bytes:
        body = {"v": VERSION, "code": self.code, "serial": self.serial, "locked_until": self.locked_until}
        return json.dumps(body).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> ClaimNotice:
        if len(raw) > MAX_NOTICE_BYTES:
            raise NoticeError(f"a claim notice is at most {MAX_NOTICE_BYTES} bytes")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise NoticeError(f"not JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("v") != VERSION:
            raise NoticeError(f"not a version {VERSION} claim notice")
        code, serial, until = body.get("code"), body.get("serial"), body.get("locked_until")
        if not isinstance(code, str) or not valid_code(code):
            raise NoticeError(f"'code' must be {CODE_DIGITS} digits")
        if not isinstance(serial, str) or not valid_serial(serial):
            raise NoticeError("'serial' must be 4-64 letters, digits or '-'")
        if until is not None and (not isinstance(until, str) or len(until) > 40):
            raise NoticeError("'locked_until' must be null or an ISO 8601 time")
        return cls(code, serial, until)


def write(path: Path, notice: ClaimNotice) -> None:
    """Write ``notice`` whole (a reader never sees half a file), mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".claim-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(notice.to_json())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: Path) -> ClaimNotice | None:
    """The notice at ``path``; None when there is none. Raises :class:`NoticeError` for a broken one."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_NOTICE_BYTES + 1)
    except FileNotFoundError:
        return None
    return ClaimNotice.from_json(raw)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
