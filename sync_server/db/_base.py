"""What every database backend offers the server: the :class:`Database` interface and its rows.

The app and the CLI speak only to this interface; ``sqlite.py`` and ``postgres.py`` implement
it. Methods are synchronous and thread-safe: the web app calls them from worker threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from a2d.errors import KnownError

from ._hourly import Hourly, Reading, Tally, Window
from ._live import LiveRow, Vote

#: record numbers one delete statement of :meth:`Database.prune_records` covers
PRUNE_CHUNK = 20_000


class DatabaseError(KnownError):
    """The database cannot be opened, migrated or reached; the message says which and why."""


class Unavailable(DatabaseError):
    """A query failed for a reason outside the request (database down, locked, full): retry later."""


class Refused(ValueError):
    """The database refused the data of a write itself (a value it cannot hold, a constraint), not
    for a passing reason: the same write fails again. The text is the database's reason."""


#: one row of the ``records`` table as the backends write it:
#: (device_id, record_id, stream, ts, payload as JSON text, received_at)
RecordRow = tuple[str, str, str, str, str, str]


class StoredRecord(NamedTuple):
    device_id: str
    record_id: str
    stream: str
    ts: str
    received_at: str
    payload: str  # JSON text of the payload object, as stored


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    name: str
    created_at: str
    token_set_at: str
    revoked_at: str | None
    site: str = ""  # "" when the device belongs to no site
    role: str = ""  # what it was provisioned as (a2d.firstboot.ROLES); "" when registered by hand
    last_seen: str | None = None  # when its latest heartbeat arrived; None before the first

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "name": self.name,
            "site": self.site,
            "created_at": self.created_at,
            "token_set_at": self.token_set_at,
            "revoked_at": self.revoked_at,
            "active": self.active,
            "role": self.role,
            "last_seen": self.last_seen,
        }


class StoredHeartbeat(NamedTuple):
    device_id: str
    received_at: str
    heartbeat: str  # JSON text of syncwire.Heartbeat.as_dict()


class StoredDisplay(NamedTuple):
    """The latest report of one kiosk's screen, as its agent's heartbeat carried it.

    ``seen_at``, ``report_at`` and ``drawn_at`` are the server's clock: the last heartbeat that
    carried it, the heartbeat that first carried its latest report, and the one that first carried
    its latest picture (a new hash or frame count)."""

    device_id: str
    kiosk_id: str
    page: str
    frames: int
    hash: str
    changed_at: str
    reported_at: str
    mode: str
    wall: bool
    seen_at: str
    report_at: str
    drawn_at: str


#: one row of ``kiosk_displays`` as :data:`_sql.UPSERT_DISPLAY` writes it
DisplayRow = tuple[str, str, str, int, str, str, str, str, int, str, str, str]


T = TypeVar("T")


class Tx(Protocol):
    """One transaction of :meth:`Database.transact`: statements written once with ``?`` placeholders."""

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Execute a write; how many rows it changed."""

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Execute a query (or a write with RETURNING); its rows."""


#: ``target`` of a bundle meant for every device that has no more specific one
ALL_DEVICES = "all"


class BundleInfo(NamedTuple):
    """A published bundle without its document: what ``a2d server bundle list`` shows."""

    target: str  # all, site:<site> or device:<device id> (a2d.bundles.check_target)
    kind: str
    version: str
    sha256: str
    size: int
    published_at: str
    replaced_at: str | None = None  # set once a newer bundle took its place
    counter: int = 0  # 0: published before bundles had counters (a device refuses it)


class StaleBundle(DatabaseError):
    """A bundle's counter is not above the highest published of its kind: a newer one came first."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One of the server's public signing keys: bundles signed with it are accepted until ``retire_at``."""

    key_id: str
    public_key: str  # base64 of the raw 32 bytes
    added_at: str
    retire_at: str | None = None  # ISO time; None: no end

    def active_at(self, now: str) -> bool:
        return self.retire_at is None or now < self.retire_at


class Database(ABC):
    """The server's store: devices and their token hashes, records, heartbeats, the admin token,
    signed bundles."""

    #: ``sqlite`` or ``postgresql``
    backend: str

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply the migrations this database lacks (safe to run from several processes at once)."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`Unavailable` unless a trivial query succeeds."""

    # small tables of other parts (the console) -----------------------------------------------
    @abstractmethod
    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (``?`` placeholders, the same text on both backends)."""

    @abstractmethod
    def transact(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in one write transaction and return its result once committed; an exception
        in ``fn`` rolls all of it back. :class:`Refused` when the database refuses a value."""

    # devices ---------------------------------------------------------------------------------
    @abstractmethod
    def add_device(
        self, name: str, candidates: Iterable[str], token_hash: str, now: str, site: str = "", role: str = ""
    ) -> str:
        """Register a device (at ``site``, as ``role``) under the first free id of ``candidates``; returns that id."""

    @abstractmethod
    def devices(self) -> list[Device]: ...

    @abstractmethod
    def revoke_device(self, device_id: str, now: str) -> bool:
        """Revoke the device's token; ``False`` if there is no such device."""

    @abstractmethod
    def set_device_token(self, device_id: str, token_hash: str, now: str) -> bool:
        """Give the device a new token (and reinstate it if revoked); ``False`` if unknown."""

    @abstractmethod
    def device_token_hash(self, device_id: str) -> str | None:
        """The token hash of an active device, ``None`` if unknown or revoked."""

    @abstractmethod
    def device_with_token(self, token_hash: str) -> str | None:
        """The id of the active device holding this token hash, if any."""

    # admin -----------------------------------------------------------------------------------
    @abstractmethod
    def set_admin_token_hash(self, token_hash: str, now: str) -> None: ...

    @abstractmethod
    def admin_token_hash(self) -> str | None: ...

    # records and heartbeats ------------------------------------------------------------------
    @abstractmethod
    def store_records(
        self, rows: Sequence[RecordRow], readings: Sequence[Reading] = (), votes: Sequence[Vote] = ()
    ) -> None:
        """Insert rows, skipping ``(device_id, record_id)`` pairs already held; returns after commit.

        In the same transaction the ``readings`` of the rows actually inserted (not of those
        already held) are added to the hourly aggregates, and their ``votes`` to the town-wide
        tallies (:mod:`._live`), so a repeated upload counts once.
        :class:`Refused` (and nothing stored) if the database refuses a value of the rows.
        """

    @abstractmethod
    def records(self, device_id: str | None = None, limit: int | None = None) -> Iterator[StoredRecord]:
        """Stored records in the order they arrived, streamed (not loaded at once)."""

    def prune_records(self, cutoffs: Mapping[str, str]) -> dict[str, int]:
        """Delete the records of each stream whose event time (``ts``) lies before its cutoff (ISO
        time); per stream, how many went. The hourly aggregates and feedback tallies they were
        counted into stay.

        Late records (uploaded long after their event, see :mod:`._spans`) are found through the
        spans their uploads noted: the delete walks each span's arrival range only, in chunks of
        :data:`PRUNE_CHUNK` so that uploads are never held up for long. So a record whose event
        is old goes even if it arrived yesterday (a device catching up after an outage).

        The others (and a record whose ``ts`` lies after its arrival: a device clock ahead) go by
        arrival: records arrive in the order of their ``received_at`` (to within the seconds two
        uploads overlap), so the last record old enough is found by a binary search over the
        arrival order and the delete walks that prefix only, in chunks, from where this process's
        last prune of the stream ended. No index on ``received_at`` or ``ts`` is needed (nor
        written with every record).
        """
        removed = {stream: n for stream, cutoff in cutoffs.items() if (n := self._prune_late(stream, cutoff))}
        marks: dict[str, int] = self.__dict__.setdefault("_prune_marks", {})
        if any(mark > self._last_arrival() for mark in marks.values()):
            marks.clear()  # the newest records went too: SQLite may hand their numbers out again
        first = self._arrival_from(0)
        for stream, cutoff in cutoffs.items():
            last = self._last_arrival_before(cutoff)
            if first is None or last is None:
                continue
            lo, n = max(first[0], marks.get(stream, 0) + 1), 0
            while lo <= last:
                hi = min(lo + PRUNE_CHUNK - 1, last)
                n += self._delete_records(stream, lo, hi)
                lo = hi + 1
            marks[stream] = last
            if n:
                removed[stream] = removed.get(stream, 0) + n
        return removed

    def _prune_late(self, stream: str, cutoff: str) -> int:
        """Delete the late records of ``stream`` older than ``cutoff``, span by span; how many went."""
        n = 0
        for span, first, last, newest in self._spans_before(stream, cutoff):
            lo = first
            while lo <= last:
                hi = min(lo + PRUNE_CHUNK - 1, last)
                n += self._delete_records(stream, lo, hi, cutoff)
                lo = hi + 1
            if newest < cutoff:  # all of the span is past: it has nothing left to find
                self._drop_span(span)
        return n

    @abstractmethod
    def _spans_before(self, stream: str, cutoff: str) -> list[tuple[int, int, int, str]]:
        """(span id, first and last arrival number, newest ts) of the spans of late records of
        ``stream`` whose oldest ``ts`` lies before ``cutoff``."""

    @abstractmethod
    def _drop_span(self, span: int) -> None: ...

    @abstractmethod
    def prune_bundle_history(self, cutoff: str) -> int:
        """Delete the replaced bundles (history rows) replaced before ``cutoff``; how many went.
        The current bundle of each target and kind stays, however old."""

    def _last_arrival_before(self, cutoff: str) -> int | None:
        """The largest arrival number of a record received before ``cutoff``, if any."""
        first = self._arrival_from(0)
        if first is None or first[1] >= cutoff:
            return None
        lo, hi = first[0], self._last_arrival()  # lo: a record before the cutoff; none after hi
        while lo < hi:
            mid = (lo + hi + 1) // 2
            at = self._arrival_from(mid)
            if at is not None and at[0] <= hi and at[1] < cutoff:
                lo = at[0]
            else:  # no record in mid..hi, or the first of them (and so all) is recent
                hi = mid - 1
        return lo

    @abstractmethod
    def _arrival_from(self, number: int) -> tuple[int, str] | None:
        """(arrival number, received_at) of the first record at or after arrival ``number``."""

    @abstractmethod
    def _last_arrival(self) -> int:
        """The largest arrival number held (0 when there are no records)."""

    @abstractmethod
    def _delete_records(self, stream: str, first: int, last: int, before: str | None = None) -> int:
        """Delete the records of ``stream`` with arrival numbers ``first..last`` (and, with
        ``before``, a ``ts`` before it); how many went."""

    @abstractmethod
    def store_heartbeat(
        self, device_id: str, heartbeat: str, received_at: str, keep: int, displays: Sequence[DisplayRow] = ()
    ) -> None:
        """Keep this as the device's latest heartbeat and in its history of the last ``keep``, and
        its kiosks' ``displays`` (in the same transaction); :class:`Refused` if the database
        refuses its text."""

    @abstractmethod
    def displays(self) -> list[StoredDisplay]:
        """The latest display report of every kiosk of every device, by device and kiosk."""

    @abstractmethod
    def latest_heartbeats(self) -> list[StoredHeartbeat]: ...

    @abstractmethod
    def heartbeat_history(self, device_id: str, limit: int) -> list[StoredHeartbeat]:
        """The device's most recent heartbeats, newest first."""

    # open data -------------------------------------------------------------------------------
    @abstractmethod
    def hourly(self, window: Window, limit: int) -> list[Hourly]:
        """At most ``limit`` hourly aggregates in ``window``, by hour, device, sensor, quantity, channel."""

    @abstractmethod
    def feedback_tallies(self, window: Window, limit: int) -> list[Tally]:
        """At most ``limit`` button-press tallies in ``window``, one per device, sensor and channel."""

    # bundles ---------------------------------------------------------------------------------
    @abstractmethod
    def assign_bundle_counter(self, kind: str) -> int:
        """The next counter of ``kind``'s one sequence (across all targets), never handed out twice."""

    @abstractmethod
    def bundle_counters(self, kind: str) -> tuple[int, int]:
        """``(assigned, published)``: the highest counter of ``kind`` handed out, and published."""

    @abstractmethod
    def publish_bundles(
        self, bundles: Sequence[tuple[BundleInfo, str]], signing_keys: Sequence[SigningKey] | None = None
    ) -> None:
        """Make each document the current bundle of its row's ``(target, kind)``, in one transaction.

        Each counter must be above the highest published of its kind (:class:`StaleBundle` if not,
        and nothing is stored). A bundle it replaces moves to the history; the history keeps the
        document of the latest replaced bundle of each ``(target, kind)`` only, and the metadata of
        all. ``signing_keys`` (with a ``keys`` bundle), in the same transaction, become the server's
        list of signing keys: added or updated, and a key not among them retired at the time the
        first bundle was published.
        """

    @abstractmethod
    def bundle_for(self, device_id: str, kind: str) -> BundleInfo | None:
        """The bundle ``device_id`` gets: its own of this ``kind``, else its site's, else the one for all."""

    @abstractmethod
    def bundle_document(self, target: str, kind: str) -> tuple[int, str, str] | None:
        """``(counter, sha256, document)`` of the current bundle of ``(target, kind)``, as one read."""

    @abstractmethod
    def bundles(self, history: bool = False) -> list[BundleInfo]:
        """The current bundles by kind and target; with ``history`` the replaced ones too, oldest first."""

    @abstractmethod
    def signing_keys(self) -> list[SigningKey]:
        """The server's public signing keys, the retired ones too, in the order they were added."""

    @abstractmethod
    def add_signing_key(self, key: SigningKey) -> bool:
        """Add a public signing key (``False`` if its key id is there already: nothing changes)."""

    # live questions and town-wide tallies (._live) -------------------------------------------
    @abstractmethod
    def add_live(self, question_id: str, document: str, opens_at: str, closes_at: str, started_by: str,
                 now: str) -> None:  # fmt: skip
        """Keep a live question (its wire document) that staff started."""

    @abstractmethod
    def live_questions(self, open_at: str | None = None, limit: int = 1000) -> list[LiveRow]:
        """The live questions open at ``open_at`` (all of them when None), newest first."""

    @abstractmethod
    def live_question(self, question_id: str) -> LiveRow | None: ...

    @abstractmethod
    def close_live(self, question_id: str, now: str, closed_by: str) -> bool:
        """Close a question that is still open now; ``False`` when it is unknown or closed already."""

    @abstractmethod
    def poll_tallies(self, poll_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Town-wide votes per answer of each poll named (absent: no votes)."""
