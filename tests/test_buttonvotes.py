"""Feedback buttons answer polls: the content pack's ``buttons`` mapping, checked with clear errors,
and the ingest writer turning a mapped press into a vote in the same commit, with its cooldown.

(Through a real Mosquitto, the real agent and the real sync server: tests/test_buttonvotes_live.py.)
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from a2d import contentpack
from a2d.buttons import ButtonEvent
from a2d.contentpack import ContentError
from devtools.demopack import DEMO_PACK
from devtools.uplinks import encode_ws101
from edge_agent.buttonvotes import ButtonVotes
from edge_agent.config import Device
from edge_agent.ingest import Inbound, Ingest
from edge_agent.localapi import votes
from edge_agent.store import Store
from tests.localapi.conftest import pack_doc

EUI = "24e124538b223344"
T0 = datetime(2026, 6, 2, 8, 15, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def with_buttons(*buttons: dict[str, Any], sites: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc = pack_doc()
    doc["buttons"] = list(buttons)
    if sites is not None:
        doc["sites"] = sites
    return doc


BOX = {"bridge": "box7", "poll": "zufrieden", "keys": {"1": "1", "2": "3", "3": "5"}}
WS101 = {
    "dev_eui": EUI.upper(),
    "poll": "radweg",
    "keys": {"short": "nord", "double": "sued"},
    "cooldown_s": 5,
}
SITE = {"id": "rathaus", "name": {"de": "Rathaus"}, "address": "Hauptstraße 90", "region": "DE-BW"}


# -- the pack ---------------------------------------------------------------------------------------


def test_a_pack_maps_buttons_and_reads_back_as_written() -> None:
    live = {"device": "feedback-markt", "poll": "@live", "site": "rathaus"}
    pack = contentpack.parse(with_buttons(BOX, WS101, live, sites=[SITE]))
    box, ws101, lv = pack.buttons
    assert (box.bridge, box.poll, dict(box.keys), box.cooldown_s, box.button) == (
        "box7", "zufrieden", {"1": "1", "2": "3", "3": "5"}, None, "bridge:box7",
    )  # fmt: skip
    assert (ws101.dev_eui, ws101.cooldown_s, ws101.button) == (EUI, 5.0, f"dev_eui:{EUI}")  # lower-case
    assert lv.live and lv.keys == {} and lv.site == "rathaus"
    assert contentpack.parse(contentpack.as_json(pack)) == pack
    assert contentpack.parse(pack_doc()).buttons == ()  # a pack without buttons maps none


@pytest.mark.parametrize(
    ("button", "message"),
    [
        ({**BOX, "poll": "umfrage"}, "buttons[1].poll names no poll of the pack: 'umfrage' (known: zufrieden, radweg, @live)"),
        ({**BOX, "keys": {"1": "7"}}, "buttons[1].keys.1 names no choice of poll 'zufrieden': '7' (its choices: 1, 2, 3, 4, 5)"),
        ({**WS101, "dev_eui": EUI}, f"buttons[1] maps the button dev_eui:{EUI} again (buttons[0] maps it already)"),
        ({"poll": "radweg", "keys": {"short": "nord"}}, "buttons[1] must name its button by exactly one of bridge, dev_eui or device"),
        ({**BOX, "device": "x"}, "buttons[1] must name its button by exactly one of bridge, dev_eui or device"),
        ({**BOX, "bridge": None, "dev_eui": "24e1"}, "buttons[1].dev_eui must be 16 hex digits"),
        ({**BOX, "bridge": "box 7"}, "buttons[1].bridge must be the bridge's source id"),
        ({**BOX, "keys": {}}, "buttons[1].keys must map 1 to 16 keys"),
        ({**BOX, "keys": {"1 2": "1"}}, "buttons[1].keys.1 2 is not a key a button sends"),
        ({**BOX, "cooldown_s": -1}, "buttons[1].cooldown_s must be a number of seconds from 0 to 86400"),
        ({**BOX, "cooldown_s": "10"}, "buttons[1].cooldown_s must be a number of seconds"),
        ({**BOX, "site": "markt"}, "buttons[1].site names no site of the pack: 'markt'"),
        ({**BOX, "poll": "@live", "keys": {"1": "9"}}, "buttons[1].keys.1 of a live question must be an answer's position 1-8"),
        ({**BOX, "bridge": "box8", "keys": "1"}, "buttons[1].keys must be a JSON object"),
    ],
)  # fmt: skip
def test_a_bad_mapping_is_refused_naming_the_field(button: dict[str, Any], message: str) -> None:
    button = {k: v for k, v in button.items() if v is not None}
    with pytest.raises(ContentError) as err:
        contentpack.parse(with_buttons(WS101, button))
    assert message in str(err.value), str(err.value)


def test_one_button_may_have_a_mapping_per_site_but_not_two_for_every_site() -> None:
    other = {**SITE, "id": "markt"}
    pack = contentpack.parse(
        with_buttons({**BOX, "site": "rathaus"}, {**BOX, "site": "markt"}, sites=[SITE, other])
    )
    assert [b.site for b in pack.buttons] == ["rathaus", "markt"]
    with pytest.raises(ContentError, match="maps the button bridge:box7 again"):
        contentpack.parse(with_buttons(BOX, {**BOX, "site": "markt"}, sites=[SITE, other]))


def test_the_demo_pack_maps_its_buttons() -> None:
    pack = contentpack.load(DEMO_PACK)
    assert {b.button: b.poll for b in pack.buttons} == {
        "bridge:box-marktplatz": "innenstadt-wunsch", "device:feedback-1": "zufriedenheit",
    }  # fmt: skip


# -- the ingest writer --------------------------------------------------------------------------------


class Rig:
    """The ingest writer on a database file, with a pack whose buttons it maps."""

    def __init__(self, tmp: Path, pack: dict[str, Any], *, site: str = "", resolve_live: Any = None) -> None:
        self.pack = contentpack.parse(pack)
        self.buttons = ButtonVotes(lambda: self.pack, site=site, cooldown_s=10.0, resolve_live=resolve_live)
        self.store = Store(tmp / "edge.db")
        self.ingest = Ingest(self.store, {EUI: Device(EUI, "milesight-iot/ws101", "feedback-markt")},
                             buttons=self.buttons)  # fmt: skip

    def box(self, n: int, button: str, seconds: float, source: str = "box7") -> None:
        ev = ButtonEvent(f"{source}-{n}", source, button, "press", at(seconds), n)
        self.ingest.add(Inbound("bridge", "bridge", ev.topic, ev.to_json()))

    def ws101(self, n: int, press: str, seconds: float) -> None:
        body = {
            "deduplicationId": f"d-{n}", "time": at(seconds), "fCnt": n, "fPort": 85,
            "deviceInfo": {"devEui": EUI, "deviceName": "ns-name", "applicationName": "feedback"},
            "data": base64.b64encode(encode_ws101(press)).decode(),
        }  # fmt: skip
        topic = f"application/app-1/device/{EUI}/event/up"
        self.ingest.add(Inbound("chirpstack", "chirpstack", topic, json.dumps(body).encode()))

    def votes(self) -> list[dict[str, Any]]:
        rows = self.store.db.execute(
            "SELECT key, device_name, dev_eui, counted, decoded, measurements FROM events"
            " WHERE source = 'button' ORDER BY received_at, id"
        )
        return [
            {**json.loads(r["decoded"]), "key": r["key"], "device_name": r["device_name"], "dev_eui": r["dev_eui"],
             "row_counted": r["counted"], "measurements": json.loads(r["measurements"])}
            for r in rows
        ]  # fmt: skip

    def presses(self) -> list[tuple[str, int, dict[str, Any]]]:
        rows = self.store.db.execute(
            "SELECT key, counted, meta FROM events WHERE source != 'button' ORDER BY id"
        )
        return [(r["key"], r["counted"], json.loads(r["meta"])) for r in rows]

    def counts(self, poll: str) -> dict[str, int]:
        return votes.counts(self.store.db, poll)


def test_a_mapped_press_becomes_a_vote_in_the_same_commit_and_a_redelivery_adds_none(tmp_path: Path) -> None:
    rig = Rig(tmp_path, with_buttons(BOX, WS101))
    rig.box(1, "3", 0)
    rig.ws101(1, "double", 1)
    assert rig.ingest.flush() == 2
    box, ws = rig.votes()
    assert box == {
        "id": "bridge:box7-1", "kiosk_id": "button:box7", "poll_id": "zufrieden", "choice": "5", "at": at(0),
        "lang": "", "button": "3", "press": "bridge:box7-1", "counted": True, "key": "vote:bridge:box7-1",
        "device_name": "button:box7", "dev_eui": None, "row_counted": 1,
        "measurements": [{"quantity": "button_press", "value": 1, "unit": "count", "channel": "zufrieden:5"}],
    }  # fmt: skip
    assert (ws["kiosk_id"], ws["poll_id"], ws["choice"], ws["button"], ws["dev_eui"]) == (
        f"button:{EUI}", "radweg", "sued", "double", EUI,
    )  # fmt: skip
    # the presses are kept, not counted themselves (their votes count), each naming its vote
    assert rig.presses() == [
        ("bridge:box7-1", 0, {"button": "3", "seq": 1, "vote": "vote:bridge:box7-1"}),
        ("cs:up:d-1", 0, {**rig.presses()[1][2], "vote": "vote:cs:up:d-1"}),
    ]
    rig.box(1, "3", 0)  # the bridge publishes it again, and the broker redelivers the uplink
    rig.ws101(1, "double", 1)
    rig.ingest.flush()
    assert len(rig.votes()) == 2 and len(rig.presses()) == 2
    assert rig.counts("zufrieden") == {"5": 1} and rig.counts("radweg") == {"sued": 1}


def test_thirty_presses_in_ten_seconds_count_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path, with_buttons(BOX))
    for n in range(30):  # one hand on all three keys, a third of a second apart
        rig.box(n, "123"[n % 3], n / 3)
    rig.ingest.flush()
    vs = rig.votes()
    assert len(vs) == 30 and len(rig.presses()) == 30  # every press and every vote is kept
    assert [v["counted"] for v in vs] == [True] + [False] * 29
    assert [v["row_counted"] for v in vs] == [1] + [0] * 29
    assert rig.counts("zufrieden") == {"1": 1}
    rig.box(30, "2", 9.67 + 10.01)  # more than the cooldown after the last counted press: counts
    rig.ingest.flush()
    assert rig.counts("zufrieden") == {"1": 1, "3": 1}


def test_the_cooldown_holds_whatever_order_presses_arrive_in(tmp_path: Path) -> None:
    rig = Rig(tmp_path, with_buttons(BOX))
    rig.box(1, "1", 20)
    rig.ingest.flush()
    rig.box(2, "2", 12)  # pressed earlier, delivered later (a box resending after a cable came back)
    rig.box(3, "3", 5)  # more than 10 s before the counted one: counts
    rig.ingest.flush()
    assert {v["id"]: v["counted"] for v in rig.votes()} == {
        "bridge:box7-1": True, "bridge:box7-2": False, "bridge:box7-3": True,
    }  # fmt: skip


def test_cooldowns_are_per_button_and_the_packs_own_wins(tmp_path: Path) -> None:
    rig = Rig(tmp_path, with_buttons(BOX, {"bridge": "box8", "poll": "zufrieden", "keys": {"1": "2"}, "cooldown_s": 0},
                                     WS101))  # fmt: skip
    rig.box(1, "1", 0)
    rig.box(2, "1", 1, source="box8")  # another button: its own cooldown
    rig.box(3, "1", 2, source="box8")  # cooldown 0: every press counts
    rig.ws101(1, "short", 0)
    rig.ws101(2, "short", 6)  # the pack's 5 s, not the agent's 10 s
    rig.ws101(3, "short", 3)  # within 5 s of both
    rig.ingest.flush()
    assert rig.counts("zufrieden") == {"1": 1, "2": 2} and rig.counts("radweg") == {"nord": 2}


def test_unmapped_buttons_and_keys_stay_plain_presses(tmp_path: Path) -> None:
    rig = Rig(tmp_path, with_buttons(WS101))
    rig.box(1, "1", 0)  # a box the pack does not name
    rig.ws101(1, "long", 0)  # a key the mapping does not name
    rig.ingest.flush()
    assert rig.votes() == []
    assert [(key, counted, "vote" in meta) for key, counted, meta in rig.presses()] == [
        ("bridge:box7-1", 1, False), ("cs:up:d-1", 1, False),
    ]  # fmt: skip


def test_a_button_is_found_by_its_device_name_and_a_sites_mapping_applies_at_that_site_only(
    tmp_path: Path,
) -> None:
    other = {**SITE, "id": "markt"}
    pack = with_buttons(
        {"device": "feedback-markt", "poll": "radweg", "keys": {"short": "sued"}, "site": "markt"},
        {**BOX, "site": "markt"}, sites=[SITE, other],
    )  # fmt: skip
    here = Rig(tmp_path, pack, site="rathaus")
    here.ws101(1, "short", 0)
    here.box(1, "1", 0)
    here.ingest.flush()
    assert here.votes() == []
    here.store.close()
    there = Rig(tmp_path / "markt", pack, site="markt")
    there.ws101(1, "short", 0)  # the name from edge.toml's [[devices]]
    there.box(1, "1", 0)
    there.ingest.flush()
    assert there.counts("radweg") == {"sued": 1} and there.counts("zufrieden") == {"1": 1}


def test_live_mappings_answer_the_newest_live_question_by_position(tmp_path: Path) -> None:
    asked: list[str] = []
    open_question: list[str] | None = ["live-7f3a9c2e", "ja", "nein", "egal"]

    def resolve_live(when: str) -> list[str] | None:
        asked.append(when)
        return open_question

    rig = Rig(tmp_path, with_buttons({"bridge": "box7", "poll": "@live"},
                                     {**WS101, "poll": "@live", "keys": {"short": "1", "double": "3"}}),
              resolve_live=resolve_live)  # fmt: skip
    rig.box(1, "2", 0)
    rig.ws101(1, "double", 0)
    rig.box(2, "4", 20)  # the question has three answers: no fourth
    rig.ingest.flush()
    assert sorted(asked) == [at(0), at(0), at(20)]  # asked with each press's time
    assert rig.counts("live-7f3a9c2e") == {"nein": 1, "egal": 1}
    open_question = None  # closed: presses stay plain presses
    rig.box(3, "1", 40)
    rig.ingest.flush()
    assert [v["id"] for v in rig.votes()] == ["bridge:box7-1", "cs:up:d-1"]
    assert rig.presses()[-1][:2] == ("bridge:box7-3", 1)


def test_a_new_pack_brings_new_mappings(tmp_path: Path) -> None:
    rig = Rig(tmp_path, pack_doc())
    rig.box(1, "1", 0)
    rig.ingest.flush()
    rig.pack = contentpack.parse(with_buttons(BOX))
    rig.box(2, "1", 30)
    rig.ingest.flush()
    assert [v["id"] for v in rig.votes()] == ["bridge:box7-2"]


def test_uncounted_events_say_so_in_their_json_form(tmp_path: Path) -> None:
    from edge_agent import queries

    rig = Rig(tmp_path, with_buttons(BOX))
    rig.box(1, "1", 0)
    rig.box(2, "1", 1)
    rig.ingest.flush()
    counted = sorted((e["source"], e["counted"]) for e in queries.events(rig.store.db))
    assert counted == [("bridge", False), ("bridge", False), ("button", False), ("button", True)]
    assert queries.status(rig.store.db)["votes"] == {"counted": 1, "not_counted": 1}


def test_the_agents_own_resolver_answers_with_the_newest_question_it_keeps(tmp_path: Path) -> None:
    """`@live` wired as the agent wires it: the questions the live stream stored in the same database."""
    from a2d.livewire import LiveQuestion, Snapshot
    from edge_agent import livestore

    def question(qid: str, opens: float, answers: list[str]) -> LiveQuestion:
        return LiveQuestion.from_json({
            "id": qid, "text": {"de": f"Frage {qid}"}, "opens_at": at(opens), "closes_at": at(opens + 600),
            "answers": [{"id": a.lower(), "label": {"de": a}} for a in answers], "sites": [],
        })  # fmt: skip

    resolver = livestore.NewestQuestion(str(tmp_path / "edge.db"))
    rig = Rig(tmp_path, with_buttons({"bridge": "box7", "poll": "@live"}), resolve_live=resolver)
    rig.box(1, "1", 0)  # nothing kept yet: a plain press
    rig.ingest.flush()
    with rig.store.atomic() as db:
        livestore.keep(db, Snapshot((question("live-0000a1a1", -60, ["Ja", "Nein"]),
                                     question("live-0000b2b2", -30, ["Mehr", "Weniger", "Egal"]))), at(0))  # fmt: skip
    rig.box(2, "2", 5)
    rig.ingest.flush()
    assert rig.counts("live-0000b2b2") == {"weniger": 1} and rig.counts("live-0000a1a1") == {}
    rig.box(3, "1", 700)  # both closed by then
    rig.ingest.flush()
    assert [v["id"] for v in rig.votes()] == ["bridge:box7-2"]
    resolver.close()
