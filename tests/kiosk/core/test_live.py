"""Live questions on the kiosk: the client reads the agent's ``GET /v1/live`` (cheaply, with an ETag),
the controller shows an open one on the home screen and takes votes on it like any poll."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from a2d.livewire import LiveQuestion, Snapshot, stamp
from devtools.demopack import demo_pack
from edge_agent import livestore
from kiosk.config import parse
from kiosk.controller import Controller, Page
from kiosk.fakeagent import FakeAgent, demo_live
from kiosk.ports import Inline
from tests.conftest import ManualClock

from .conftest import EdgeAgent
from .test_client import client_for
from .test_controller import Screen, Voice


def keep_on_agent(edge: EdgeAgent, *questions: LiveQuestion) -> None:
    """Store questions in the agent as its live stream would (on its writer thread)."""
    assert edge.agent is not None
    snap = Snapshot(tuple(questions), {}, stamp(datetime.now(UTC)))
    edge.agent._write(lambda db: livestore.keep(db, snap, snap.at)).result(10)


def test_the_client_reads_live_questions_with_an_etag_and_keeps_them_offline(
    tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file)
    now = datetime.now(UTC)
    q = LiveQuestion.new("Neue Bänke am Bahnhof?", ["Ja", "Nein"], now=now - timedelta(minutes=1), minutes=10)
    with client_for(edge, tmp_path / "cache") as client:
        assert client.refresh_live() is False and client.live() == []
        keep_on_agent(edge, q)
        assert client.refresh_live() is True
        assert client.live() == [q]
        assert client.refresh_live() is False  # a 304: nothing changed, nothing parsed
        edge.stop()
        assert client.refresh_live() is False and client.live() == [q]  # kept while the agent is away


def test_an_open_live_question_shows_on_home_and_takes_a_vote(tmp_path: Path) -> None:
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache")}}, env={})
    agent, screen = FakeAgent(demo_pack()), Screen()
    ctl = Controller(cfg, clock=ManualClock(), display=screen)
    ctl.attach(agent, Inline(), speaker=Voice())
    ctl.start()
    ctl.tick()
    assert ctl.live == []
    shown = len(screen.shown)

    q = demo_live(minutes=5)
    agent.live_questions.append(q)
    ctl.tick()  # the home screen is drawn again with the question
    assert ctl.live == [q] and len(screen.shown) == shown + 1 and screen.shown[-1][0] is Page.HOME
    assert ctl.polls()[-1].id == q.id and ctl.find_poll(q.id) is not None

    ctl.go(Page.FEEDBACK, poll=q.id)
    vote_id = ctl.vote(q.id, "ja")
    assert vote_id is not None
    assert [(v.poll_id, v.choice) for v in agent.votes] == [(q.id, "ja")]
    assert ctl.page is Page.FEEDBACK and ctl.params.get("counts") == {"ja": 1}
    assert ctl.vote(q.id, "nein") is None  # one vote per visit

    agent.live_questions[0] = LiveQuestion(q.id, q.text, q.answers, q.opens_at, stamp(datetime.now(UTC)))
    ctl.tick()  # it closed: gone
    assert ctl.live == []
