"""An edge agent in memory, for a kiosk without one: a Python shell, the controller's tests,
``a2d kiosk --fake-agent``.

:class:`FakeAgent` answers everything :class:`kiosk.client.AgentClient` answers (the
:class:`kiosk.ports.Agent` protocol) without a network, a database or a thread: it serves the
content pack it was given, keeps votes and help requests in lists, counts the results from the
votes it holds, and reports a status. Votes and help requests are checked as the agent checks
them (:mod:`a2d.localapi`), so what the fake takes the real agent takes too.

It can be taken offline (``agent.online = False``): votes and help requests then wait, as they
would in the kiosk's outbox, and are delivered when it comes back; the queries answer as the real
client does without its agent (no results, no status, no help requests)::

    agent = FakeAgent(pack)
    agent.online = False
    agent.help("ummelden")      # an id at once; agent.pending() == 1, agent.requests == []
    agent.online = True         # delivered: agent.pending() == 0, one open request
    agent.publish(new_pack)     # the kiosk's on_content callback gets it
    agent.live_questions.append(demo_live())   # a live question: agent.live() lists it while open

``FakeAgent(None)`` is an agent that has no content pack yet (the kiosk shows "no content yet"
until one is published). The fake ships no pack of its own: ``a2d kiosk --fake-agent`` gives it
the demo pack (from the developer tools).

Nothing here survives the process: it is no outbox.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from a2d import localapi
from a2d.contentpack import ContentPack, TransparencyRecord
from a2d.livewire import LiveQuestion
from a2d.timeutil import utc_now

FAKE_DEVICE_ID = "edge-fake"


class FakeAgent:
    """An edge agent in memory; see the module docstring."""

    def __init__(
        self,
        pack: ContentPack | None,
        *,
        kiosk_id: str = "kiosk-fake",
        online: bool = True,
        forecast: dict[str, Any] | None = None,
        records: Iterable[TransparencyRecord] | None = None,
        live: Iterable[LiveQuestion] = (),
    ) -> None:
        self.kiosk_id = kiosk_id
        self.on_content: Callable[[ContentPack], None] | None = None
        #: what the agent holds, delivered; and what waits while it is offline
        self.votes: list[localapi.Vote] = []
        self.requests: list[localapi.HelpRequest] = []
        self.closed: set[str] = set()
        self.waiting: list[localapi.Vote | localapi.HelpRequest] = []
        self.paired: bool | None = True
        #: the display reports delivered (:mod:`kiosk.displayproof`), and the latest one waiting offline
        self.displays: list[localapi.DisplayReport] = []
        self.waiting_display: localapi.DisplayReport | None = None
        #: the usage reports handed over (:mod:`kiosk.usage`), kept as the real client's outbox would
        self.usage_reports: list[localapi.UsageReport] = []
        self._pack = pack
        self._forecast = forecast
        self._records = list(records) if records is not None else None
        self._online = online
        self._lock = threading.Lock()
        #: the live questions the agent holds; :meth:`live` gives those open now
        self.live_questions: list[LiveQuestion] = list(live)
        #: for the wall: the town-wide counts per question that the server would have sent
        #: (``GET /v1/polls/{id}/results``'s "town"), and when it sent them
        self.town: dict[str, dict[str, int]] = {}
        self.town_at = utc_now()

    # --- the link --------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._online

    @online.setter
    def online(self, value: bool) -> None:
        """Taking the agent online delivers what waited."""
        self._online = value
        if value:
            self.flush(0)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    # --- content ---------------------------------------------------------------------------------

    def content(self) -> ContentPack | None:
        return self._pack

    def publish(self, pack: ContentPack) -> None:
        """A new content pack arrives, as if the agent had a new signed bundle."""
        self._pack = pack
        if self.on_content is not None:
            self.on_content(pack)

    def transparency(self) -> list[TransparencyRecord]:
        if self._records is not None and self._online:
            return list(self._records)
        return list(self._pack.transparency) if self._pack is not None else []

    def forecast(self) -> dict[str, Any] | None:
        return self._forecast if self._online else None

    # --- writes ----------------------------------------------------------------------------------

    def vote(self, poll_id: str, choice: str, lang: str) -> str:
        vote = localapi.Vote(str(uuid.uuid4()), self.kiosk_id, poll_id, choice, utc_now(), lang)
        localapi.Vote.from_json(vote.as_json())  # refused here as the agent would refuse it
        self._keep(vote)
        return vote.id

    def help(self, topic: str = "") -> str:
        req = localapi.HelpRequest(str(uuid.uuid4()), self.kiosk_id, utc_now(), topic)
        localapi.HelpRequest.from_json(req.as_json())
        self._keep(req)
        return req.id

    def _keep(self, item: localapi.Vote | localapi.HelpRequest) -> None:
        with self._lock:
            self.waiting.append(item)
        if self._online:
            self.flush(0)

    def usage(self, report: localapi.UsageReport) -> None:
        localapi.UsageReport.from_json(report.as_json())
        with self._lock:
            self.usage_reports.append(report)

    def display(self, report: localapi.DisplayReport) -> None:
        """Keep the latest report; delivered at once while online (offline only the latest waits)."""
        localapi.DisplayReport.from_json(report.as_json())
        with self._lock:
            self.waiting_display = report
        if self._online:
            self.flush(0)

    def pending(self) -> int:
        return len(self.waiting)

    def flush(self, timeout: float) -> bool:
        """Deliver what waits if the agent is online; True when nothing waits any more."""
        with self._lock:
            if self._online:
                for item in self.waiting:
                    if isinstance(item, localapi.Vote):
                        self.votes.append(item)
                    else:
                        self.requests.append(item)
                self.waiting.clear()
                if self.waiting_display is not None:
                    self.displays.append(self.waiting_display)
                    self.waiting_display = None
            return not self.waiting

    # --- queries ---------------------------------------------------------------------------------

    def results(self, poll_id: str) -> dict[str, int] | None:
        if not self._online:
            return None
        with self._lock:
            return dict(Counter(v.choice for v in self.votes if v.poll_id == poll_id))

    def results_doc(self, poll_id: str) -> dict[str, Any] | None:
        """The agent's whole results answer: this site's counts (every choice of a pack poll, as the
        agent lists them) and the town's, if it has them."""
        counts = self.results(poll_id)
        if counts is None:
            return None
        poll = self._pack.poll(poll_id) if self._pack is not None else None
        live = next((q for q in self.live_questions if q.id == poll_id), None)
        ids = [c.id for c in poll.choices] if poll else live.answer_ids() if live else []
        counts = {**dict.fromkeys(ids, 0), **counts}
        town = self.town.get(poll_id)
        return {"poll_id": poll_id, "counts": counts, "total": sum(counts.values()),
                "town": {"counts": dict(town), "total": sum(town.values()), "at": self.town_at} if town else None}  # fmt: skip

    def status(self) -> localapi.Status | None:
        if not self._online:
            return None
        with self._lock:
            open_requests = sum(1 for r in self.requests if r.id not in self.closed)
        return localapi.Status(FAKE_DEVICE_ID, online=False, last_sync=None, open_help_requests=open_requests,
                               version="fake")  # fmt: skip

    def help_requests(self, state: str = "open") -> list[dict[str, Any]]:
        """Newest first, as the agent lists them."""
        if not self._online:
            return []
        with self._lock:
            found = [
                {**r.as_json(), "state": "closed" if r.id in self.closed else "open"}
                for r in reversed(self.requests)
            ]
        return [r for r in found if state == "all" or r["state"] == state]

    def close_help(self, help_id: str) -> bool:
        if not self._online:
            return False
        with self._lock:
            if help_id not in {r.id for r in self.requests}:
                return False
            self.closed.add(help_id)
        return True

    def live(self) -> list[LiveQuestion]:
        """The questions open now (kept while offline, as the real client keeps what it heard)."""
        now = datetime.now(UTC)
        return [q for q in self.live_questions if q.is_open(now)]


def demo_live(now: datetime | None = None, minutes: int = 60) -> LiveQuestion:
    """The live question of the demo data: open from ``now`` for ``minutes``, at every site."""
    return LiveQuestion.new(
        "Soll der Marktplatz samstags autofrei werden?", ["Ja", "Nein", "Weiß nicht"],
        now=now or datetime.now(UTC), minutes=minutes,
    )  # fmt: skip
