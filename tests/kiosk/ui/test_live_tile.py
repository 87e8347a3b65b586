"""A live question on the touch kiosk: it appears on the home screen as a large tile within seconds
of reaching the agent, and a tap on it and on an answer stores a vote for it at the agent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from a2d.livewire import LiveQuestion, Snapshot, stamp
from edge_agent import livestore

from .conftest import EdgeAgent, find, tap, texts, until, wait_for


def test_a_live_question_shows_on_home_and_a_vote_on_it_reaches_the_agent(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file)
    k = make_kiosk(edge)
    until(lambda: k.ctl.client.content_source == "agent", what="the agent's content pack")
    k.ctl.start()
    assert not any(t.startswith("Jetzt abstimmen") for t in texts(k.root))

    q = LiveQuestion.new("Soll der Marktplatz autofrei werden?", ["Ja", "Nein"], now=datetime.now(UTC))
    snap = Snapshot((q,), {}, stamp(datetime.now(UTC)))
    assert edge.agent is not None
    edge.agent._write(lambda db: livestore.keep(db, snap, snap.at)).result(10)
    until(lambda: "Jetzt abstimmen: Soll der Marktplatz autofrei werden?" in texts(k.root), timeout=10,
          what="the live question's tile on the home screen")  # fmt: skip

    tap(find(k.root, f"live-{q.id}"))
    assert k.page.name == "feedback" and "Soll der Marktplatz autofrei werden?" in texts(k.root)
    tap(find(k.root, "choice-ja"))
    assert "Danke!" in texts(k.root)
    wait_for(lambda: edge.stored_votes(), what="the vote in the agent's database")
    [stored] = edge.stored_votes()
    assert (stored["poll_id"], stored["choice"]) == (q.id, "ja")
