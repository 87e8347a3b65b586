"""`a2d demo` (what `make demo` runs) end to end, small: broker, agent, power cut, sync server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_stores_and_syncs_everything_across_a_power_cut(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "a2d.cli", "demo", "--count", "12", "--rate", "30", "--presses", "5", "--data", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert "power cut" in r.stdout and "button pressed" in r.stdout and "soil moisture" in r.stdout
    assert r.stdout.count("bridge     box-marktplatz") == 5  # the serial box's presses, through the bridge
    m = re.search(
        r"published (\d+) uplinks, pressed (\d+) box buttons, voted once at the kiosk; stored (\d+) events, (\d+) quarantined.*holds (\d+)",
        r.stdout,
    )
    assert m, r.stdout[-1000:]
    # the kiosk: a vote through the local API, then its screens rendered offscreen (no display in tests)
    assert "kiosk: a vote on" in r.stdout and re.search(
        r"kiosk +kiosk-rathaus-1 +button pressed \(zufriedenheit:5\)", r.stdout
    )
    shots = sorted((tmp_path / "kiosk-screens").glob("*.png"))
    assert len(shots) >= 24 and (tmp_path / "kiosk-screens" / "report.json").exists()
    # the visitor forecast, trained on simulated counts, served by the agent and drawn by the kiosk
    assert re.search(r"forecast: 336 hours ahead \(P10/P50/P90\); today ", r.stdout), r.stdout[-1500:]
    report = json.loads((tmp_path / "kiosk-screens" / "report.json").read_text())
    assert report["forecast"] == "agent" and (tmp_path / "kiosk-screens" / "forecast-de-normal.png").exists()
    # the screenshots show the demo's own data: its help call in the unlocked Lotsen view, its vote
    lotsen = report["screens"]["lotsen-de-normal"]["spoken"]
    assert "Verbunden mit dem Gerät im Haus" in lotsen and "endet von selbst in 30 Minuten" in lotsen, lotsen
    assert re.search(r"Offene Hilfe-Rufe: \d\d:\d\d kiosk-rathaus-1: allgemein", lotsen), lotsen
    # the kiosk's vote and the feedback buttons' counted votes on the same poll, as the agent counts them
    assert re.search(r"Stimmen bisher: [1-9]", report["screens"]["thanks-de-normal"]["spoken"])
    assert (report["site"], report["mode"]) == ("rathaus", "open")  # the selftest's moment: a Tuesday morning
    # the broker has users and ACLs (a2d.brokerconf); files with secrets are the owner's alone
    conf = (tmp_path / "broker" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "acl_file" in conf
    for name in (
        "broker/mosquitto.passwd",
        "broker/mosquitto.acl",
        "broker/mosquitto.conf",
        "edge.toml",
        "bridge.toml",
    ):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    published, pressed, stored, quarantined, synced = map(int, m.groups())
    # the pack maps the box and the WS101 feedback-1: each of their presses is stored with its vote
    votes = re.findall(r" button +button:\S+ +answers (\S+): ", r.stdout)
    assert votes.count("innenstadt-wunsch") == 5 and votes.count("zufriedenheit") >= 1
    # ... and the kiosk's help call is one more record (stream help: its opening; it stays open)
    assert (published, pressed) == (24, 5) and stored == synced == 30 + len(votes) + 1 and quarantined == 0
