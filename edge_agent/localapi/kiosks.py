"""The kiosks paired with this agent: ``kiosks.json`` in ``device.data_dir``, token hashes only.

``a2d edge kiosk add NAME`` makes a token of 256 random bits, shows it once, and keeps its SHA-256
(a hash of a random 256-bit secret needs no slow hashing: there is nothing to guess from it).
``revoke`` removes the kiosk. The agent owns ``edge.db`` and its one writer thread, so the kiosk
list lives in this small file of its own, which the command writes atomically (a new file, fsync,
rename; mode 0600, owned like the data folder) under a lock file, and which the running agent
stats on every request and reads again when it changed: a kiosk added or revoked counts at once,
without a restart.

File format::

    {"format": "a2d-kiosks/1",
     "kiosks": [{"kiosk_id": "kiosk-buergerbuero-1", "name": "Kiosk Bürgerbüro 1",
                 "token_sha256": "<64 hex digits>", "added_at": "2026-06-02T08:00:00.000000Z"}]}
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from a2d import kioskpairing, timeutil
from a2d.errors import KnownError
from a2d.logs import Once

log = logging.getLogger(__name__)

#: the file, its format and the token's prefix are shared with provisioning (it pairs the first kiosk)
FILE, FORMAT, TOKEN_PREFIX = kioskpairing.FILE, kioskpairing.FORMAT, kioskpairing.TOKEN_PREFIX
_SLUG = re.compile(r"[^a-z0-9]+")


class KioskError(KnownError):
    """A kiosk name that cannot be used, or a kiosk list that cannot be read or written."""


@dataclass(frozen=True)
class Kiosk:
    kiosk_id: str
    name: str
    token_sha256: str
    added_at: str


def slug(name: str) -> str:
    """The kiosk id made from a name: lower case, letters and digits, words joined by ``-``.

    >>> slug("Kiosk Bürgerbüro 1")
    'kiosk-buergerbuero-1'
    >>> slug("Médiathèque / Straße")
    'mediatheque-strasse'
    """
    text = name.lower()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", text).strip("-")[:64].strip("-")


def token_hash(token: str) -> str:
    return kioskpairing.token_hash(token)


def path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE


def _parse(text: str, where: Path) -> list[Kiosk]:
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} document")
        kiosks = [Kiosk(**{k: str(e[k]) for k in ("kiosk_id", "name", "token_sha256", "added_at")})
                  for e in doc["kiosks"]]  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise KioskError(f"{where} is not a kiosk list this agent wrote ({exc})") from exc
    return kiosks


def load(data_dir: Path) -> list[Kiosk]:
    """The paired kiosks (``[]`` when none was ever added)."""
    p = path(data_dir)
    try:
        return _parse(p.read_text(encoding="utf-8"), p)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise KioskError(f"cannot read {p}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """One ``kiosk add``/``revoke`` at a time (two at once would each drop the other's change)."""
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        fd = os.open(Path(data_dir) / f".{FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KioskError(f"cannot write the kiosk list in {data_dir}: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_private(target: Path, data: bytes) -> None:
    """Replace ``target`` atomically by a file of mode 0600 holding ``data``.

    Run as root for an agent that runs as its own user, the file gets the owner of its folder,
    so the agent can read it.
    """
    folder = target.parent
    tmp = folder / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
            if os.geteuid() == 0:
                st = os.stat(folder)
                os.fchown(fd, st.st_uid, st.st_gid)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KioskError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _save(data_dir: Path, kiosks: list[Kiosk]) -> None:
    doc = {"format": FORMAT, "kiosks": [asdict(k) for k in kiosks]}
    write_private(path(data_dir), (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode())


def add(data_dir: Path, name: str) -> tuple[Kiosk, str]:
    """Pair a new kiosk: ``(kiosk, token)``; the token exists only in this answer."""
    kiosk_id = slug(name)
    if not kiosk_id:
        raise KioskError(f"{name!r} is no usable kiosk name: use letters and digits, e.g. kiosk-rathaus-eg")
    token = kioskpairing.new_token()
    with _locked(data_dir):
        kiosks = load(data_dir)
        if any(k.kiosk_id == kiosk_id for k in kiosks):
            raise KioskError(
                f"a kiosk {kiosk_id} is paired already: revoke it first (a2d edge kiosk revoke {kiosk_id})"
                " or choose another name"
            )
        kiosk = Kiosk(kiosk_id, name, token_hash(token), timeutil.utc_now())
        _save(data_dir, [*kiosks, kiosk])
    return kiosk, token


def revoke(data_dir: Path, name: str) -> Kiosk:
    """Unpair a kiosk (by its id or the name it was added with); its token stops working."""
    with _locked(data_dir):
        kiosks = load(data_dir)
        gone = [k for k in kiosks if name in (k.kiosk_id, k.name) or slug(name) == k.kiosk_id]
        if not gone:
            known = ", ".join(k.kiosk_id for k in kiosks) or "none"
            raise KioskError(f"no kiosk {name!r} is paired with this agent (paired: {known})")
        _save(data_dir, [k for k in kiosks if k not in gone])
    return gone[0]


class Registry:
    """The agent's view of ``kiosks.json``: :meth:`kiosk_id` for a presented token.

    The file is stat-ed on each lookup and read again when its size, time or inode changed. A file
    that cannot be read or parsed accepts no kiosk at all (logged once) until it is fixed: a broken
    list must not keep a revoked token alive.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = path(data_dir)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._hashes: list[tuple[bytes, str]] = []
        self._once = Once(log)

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
            stamp: tuple[int, int, int] | None = (st.st_size, st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            stamp = None
        except OSError as exc:
            self._once.failed(
                "read", "cannot read the kiosk list %s (%s): no kiosk is let in", self.path, exc
            )
            self._stamp, self._hashes = None, []
            return
        if stamp == self._stamp and stamp is not None:
            return
        self._stamp = stamp
        if stamp is None:
            self._hashes = []
            return
        try:
            kiosks = _parse(self.path.read_text(encoding="utf-8"), self.path)
        except (OSError, KioskError) as exc:
            self._once.failed("read", "the kiosk list is unusable (%s): no kiosk is let in", exc)
            self._hashes = []
            return
        self._once.recovered("read", "the kiosk list %s is readable again", self.path)
        self._hashes = [
            (bytes.fromhex(k.token_sha256), k.kiosk_id) for k in kiosks if len(k.token_sha256) == 64
        ]
        log.info("%d kiosk(s) paired with this agent", len(self._hashes))

    def kiosk_id(self, token: str) -> str | None:
        """The id of the kiosk holding ``token``, or ``None``; every stored hash is compared in
        constant time, so the answer's timing does not tell how close a guess came."""
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            self._refresh()
            found = None
            for stored, kiosk_id in self._hashes:
                if hmac.compare_digest(stored, digest):
                    found = kiosk_id
            return found


def as_json(k: Kiosk) -> dict[str, Any]:
    """What ``kiosk list --json`` shows: never the hash."""
    return {"kiosk_id": k.kiosk_id, "name": k.name, "added_at": k.added_at}
