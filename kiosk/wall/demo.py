"""The wall's demo data: an agent in memory (:class:`kiosk.fakeagent.FakeAgent`) holding the demo
pack, sample votes at this site and the town's, one open live question and the selftest's sample
forecast. ``a2d kiosk --wall --selftest`` and ``--wall --fake-agent`` show it; nothing is sent.

The numbers are made up but not random (the same pictures every run), and the forecast says on
screen that it is a sample.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from a2d.contentpack import ContentPack
from a2d.livewire import Answer, LiveQuestion, stamp

from ..fakeagent import FakeAgent

#: the register's address in the demo configuration only (a wall's kiosk.toml names its town's
#: server: ``wall.register_url``, written by ``a2d provision enroll`` for a wall)
DEMO_REGISTER_URL = "https://sync.offenburg.de/register"
DEMO_LIVE_ID = "live-5a3b1e00"
DEMO_QUESTION = {"de": "Soll der Marktplatz autofrei werden?", "fr": "La place du marché doit-elle devenir piétonne ?",
                 "en": "Should the market square become car-free?"}  # fmt: skip
DEMO_ANSWERS = (
    ("ja", {"de": "Ja", "fr": "Oui", "en": "Yes"}),
    ("nein", {"de": "Nein", "fr": "Non", "en": "No"}),
    ("egal", {"de": "Ist mir egal", "fr": "Peu importe", "en": "I don't mind"}),
)


def sample_counts(question: int, answers: int) -> tuple[list[int], list[int]]:
    """This site's and the town's made-up counts for the ``question``-th question (the same every
    run; the town's include this site's)."""
    here = [2 + (7 * i + 5 * question + 3) % 11 for i in range(answers)]
    town = [h + 9 * (2 + (5 * i + 3 * question) % 7) for i, h in enumerate(here)]
    return here, town


def demo_agent(
    pack: ContentPack | None, *, kiosk_id: str = "wall-demo", now: datetime | None = None
) -> FakeAgent:
    from ..selftest import sample_forecast

    agent = FakeAgent(pack, kiosk_id=kiosk_id, forecast=sample_forecast())
    start = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    agent.live_questions = [
        LiveQuestion(DEMO_LIVE_ID, DEMO_QUESTION, tuple(Answer(a, label) for a, label in DEMO_ANSWERS),
                     stamp(start - timedelta(minutes=5)), stamp(start + timedelta(hours=12)))
    ]  # fmt: skip
    questions = [(DEMO_LIVE_ID, [a for a, _ in DEMO_ANSWERS])]
    questions += [(p.id, [c.id for c in p.choices]) for p in (pack.polls if pack is not None else ())]
    for n, (qid, answers) in enumerate(questions):
        here, town = sample_counts(n, len(answers))
        for answer, count in zip(answers, here, strict=True):
            for _ in range(count):
                agent.vote(qid, answer, "de")
        agent.town[qid] = dict(zip(answers, town, strict=True))
    return agent
