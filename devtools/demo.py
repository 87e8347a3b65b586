"""`a2d demo`: the edge agent and the sync server on this machine, fed by simulated devices.

Starts a private Mosquitto on a free loopback port (users and ACLs from :mod:`a2d.brokerconf`,
fresh passwords each run), writes an ``edge.toml`` for simulated
devices (feedback buttons, tree-pit soil sensors, people counters), runs ``a2d edge run``,
publishes ChirpStack and The Things Stack uplinks, kills the agent with SIGKILL half-way (as a
power cut would) and restarts it, and shows each stored event as it arrives. The agent hands
every event on to a local sync server (``a2d server run``). The demo content pack is signed with
a key made at the start of the demo, which the demo's agent and kiosk trust. At the end it counts what was
published, stored and synced. Everything is stopped on exit; the
database stays in ``--data`` for ``a2d edge events``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from a2d import brokerconf, bundles, logs
from a2d.errors import KnownError

from .demopack import DEMO_PACK
from .ports import free_port, wait_port
from .simulate import publish, uplinks
from .uplinks import devices_toml, footfall, make_devices

log = logging.getLogger(__name__)
EXAMPLE = "a2d demo --devices 6 --count 120 --rate 4"
#: the Lotsen PIN of the demo kiosk
DEMO_PIN = "123456"
#: the demo kiosk, paired with the agent as ``a2d edge kiosk add`` pairs one
KIOSK_NAME = "kiosk-rathaus-1"
#: the simulated serial button box; the bridge's broker user may publish for this source alone
DEMO_BOX = "box-marktplatz"
#: the console's demo account (an admin; its password is made per run and printed once)
DEMO_USER = "demo"


def _wait_port(port: int, timeout: float = 10) -> None:
    if not wait_port(port, timeout):
        raise KnownError(f"the demo broker did not start on port {port}")


def _a2d(*args: str) -> list[str]:
    return [sys.executable, "-m", "a2d.cli", *args]


class Demo:
    def __init__(self, data: Path, devices: int, out: Any = sys.stdout) -> None:
        self.data = data
        self.devices = make_devices(devices)
        self.out = out
        self.procs: list[subprocess.Popen[bytes]] = []
        self.server: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.server_port = free_port()
        self.api_port = free_port()
        self.server_db = f"sqlite:///{data / 'server.db'}"
        self.cfg = data / "edge.toml"
        self.key = bundles.new_private_key()  # signs the demo's content pack; trusted by its agent and kiosk
        self.pack = data / "content.signed.json"
        self.model: Path | None = None
        self.device_id = ""
        self.token = ""
        self.kiosk: dict[str, Any] = {}
        self.last_id = 0
        self.shown = 0
        self.users = brokerconf.local_users([DEMO_BOX])

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def start_broker(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise KnownError(
                "mosquitto is not installed (make demo installs it; or apt-get install mosquitto)"
            )
        # users, passwords (hashed) and ACLs: the agent reads, the bridge and the simulated network
        # server each write their own topics, nobody else gets in
        files = brokerconf.write(self.data / "broker", self.port, self.users)
        log_file = (self.data / "mosquitto.log").open("ab")
        self.procs.append(subprocess.Popen([exe, "-c", str(files.conf)], stdout=log_file, stderr=log_file))
        _wait_port(self.port)

    def start_server(self) -> None:
        """The town's sync server on this machine, and this edge device registered with it."""
        log_file = (self.data / "server.log").open("ab")
        args = [
            "server",
            "run",
            "--db",
            self.server_db,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.server_port),
        ]
        self.server = subprocess.Popen(_a2d(*args), stdout=log_file, stderr=log_file)
        self.procs.append(self.server)
        _wait_port(self.server_port, 30)
        r = subprocess.run(
            _a2d("server", "device", "add", "demo-rathaus-1", "--db", self.server_db, "--json"),
            capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            raise KnownError(f"could not register the demo device: {r.stderr.strip()}")
        device = json.loads(r.stdout)
        self.device_id, self.token = device["device_id"], device["token"]

    def server_count(self) -> int:
        r = subprocess.run(
            _a2d("server", "events", "--db", self.server_db, "--device", self.device_id, "--json"),
            capture_output=True, text=True,
        )  # fmt: skip
        return sum(1 for line in r.stdout.splitlines() if line.strip())

    def sign_pack(self) -> None:
        """The demo pack as the signed content bundle the agent serves and the kiosk checks."""
        signed = bundles.sign(self.key, "content", "demo", 1, bundles.ALL, DEMO_PACK.read_bytes())
        self.pack.write_text(json.dumps(signed.as_dict()))

    @property
    def public_key(self) -> str:
        return bundles.public_key_text(self.key)

    def write_config(self) -> None:
        self.sign_pack()
        agent = self.users.agent
        brokerconf.write_private(
            self.cfg,
            "# written by `a2d demo` (mode 0600: it holds the agent's broker password and sync token)\n"
            f'[device]\nid = "{self.device_id}"\ndata_dir = "{self.data}"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f'username = "{agent.name}"\npassword = "{agent.password}"\n\n'
            f'[sync]\nurl = "http://127.0.0.1:{self.server_port}"\ntoken = "{self.token}"\ninterval_s = 1\n'
            f'trusted_keys = ["{self.public_key}"]\n\n'
            f'[api]\nport = {self.api_port}\n\n[content]\npack = "{self.pack}"\n\n'
            + (f'[forecast]\nmodel = "{self.model}"\n\n' if self.model else "")
            + '[[sources]]\nkind = "chirpstack"\n\n[[sources]]\nkind = "tts"\n\n'
            + devices_toml(self.devices),
            # codecs by DevEUI for ChirpStack; The Things Stack names the model in version_ids too
        )

    def pair_kiosk(self) -> None:
        """Pair the demo kiosk with the agent (``a2d edge kiosk add --json``): its id and token."""
        r = subprocess.run(
            _a2d("edge", "kiosk", "add", KIOSK_NAME, "--config", str(self.cfg), "--json"),
            capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            raise KnownError(f"could not pair the demo kiosk: {r.stderr.strip()[-300:]}")
        self.kiosk = json.loads(r.stdout)

    @property
    def kiosk_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.kiosk.get('token', '')}"}

    def start_agent(self) -> subprocess.Popen[bytes]:
        log_file = (self.data / "agent.log").open("ab")
        agent = subprocess.Popen(
            _a2d("edge", "run", "--config", str(self.cfg)), stdout=log_file, stderr=log_file, env=_own_env()
        )
        self.procs.append(agent)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            status = self._status()
            if status and all(s["connected"] for s in status["sources"]) and status["sources"]:
                return agent
            if agent.poll() is not None:
                raise KnownError(f"the edge agent exited; see {self.data / 'agent.log'}")
            time.sleep(0.1)
        raise KnownError(f"the edge agent did not connect; see {self.data / 'agent.log'}")

    def _status(self) -> dict[str, Any] | None:
        r = subprocess.run(
            _a2d("edge", "status", "--config", str(self.cfg), "--json"), capture_output=True, text=True
        )
        return json.loads(r.stdout) if r.returncode == 0 else None

    def show_new_events(self) -> None:
        r = subprocess.run(
            _a2d("edge", "events", "--config", str(self.cfg), "--json", "--after", str(self.last_id)),
            capture_output=True, text=True,
        )  # fmt: skip
        for line in r.stdout.splitlines():
            e = json.loads(line)
            self.last_id = e["id"]
            self.shown += 1
            self.say(describe(e))

    def publish_part(self, fmt: str, count: int, rate: float, seed: int) -> None:
        msgs = uplinks(self.devices, fmt, count, seed)
        ns = self.users.network_server
        publish(
            "127.0.0.1", self.port, _showing(msgs, self, every=max(1, int(rate))), count, rate,
            username=ns.name, password=ns.password,
        )  # fmt: skip

    def start_button_box(self) -> Path:
        """A serial button box on a pty pair (socat), read by ``a2d bridge run``; returns the box's end."""
        exe = shutil.which("socat")
        if exe is None:
            raise KnownError("socat is not installed (make demo installs it; or apt-get install socat)")
        bridge_end, box_end = self.data / "ttyBridge", self.data / "ttyBox"
        self.procs.append(
            subprocess.Popen(
                [exe, f"pty,raw,echo=0,link={bridge_end}", f"pty,raw,echo=0,link={box_end}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        end = time.monotonic() + 10
        while not (bridge_end.exists() and box_end.exists()):
            if time.monotonic() > end:
                raise KnownError("socat did not create the serial port pair")
            time.sleep(0.05)
        (self.data / "bridge").mkdir(exist_ok=True)
        cfg = self.data / "bridge.toml"
        bridge = self.users.bridge
        brokerconf.write_private(
            cfg,
            "# written by `a2d demo` (mode 0600: it holds the bridge's broker password)\n"
            f'[bridge]\ndata_dir = "{self.data / "bridge"}"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f'username = "{bridge.name}"\npassword = "{bridge.password}"\n\n'
            f'[[serial]]\nport = "{bridge_end}"\nbaud = 115200\n',
        )
        log_file = (self.data / "bridge.log").open("ab")
        self.procs.append(
            subprocess.Popen(
                _a2d("bridge", "run", "--config", str(cfg)), stdout=log_file, stderr=log_file, env=_own_env()
            )
        )
        return box_end

    def press_box(self, box_end: Path, presses: int) -> None:
        """Press the simulated box's buttons; it resends each press until the bridge acknowledged it."""
        r = subprocess.run(
            _a2d("bridge", "simulate-box", "--port", str(box_end), "--box", DEMO_BOX,
                 "--presses", str(presses), "--interval", "0.25", "--timeout", "20"),
            capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            raise KnownError(f"the simulated button box failed: {r.stderr.strip()[-300:]}")

    def train_forecast(self) -> None:
        """Train the visitor forecast as the town's server would, on 8 weeks of simulated counts.

        The counts follow the simulated people counters' daily pattern (:func:`devtools.uplinks.footfall`
        on UTC hours, as they publish). The agent loads the model from ``[forecast] model``.
        """
        rng = random.Random(7)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        lines = ["timestamp,count"]
        for k in range(8 * 7 * 24, 0, -1):
            at = now - timedelta(hours=k)
            flow = [footfall(at.hour + m / 60, at.weekday()) for m in range(0, 60, 10)]
            lines.append(f"{at.isoformat()},{sum(rng.randint(0, int(30 * f) + 1) for f in flow)}")
        counts = self.data / "counts.csv"
        counts.write_text("\n".join(lines) + "\n")
        model = self.data / "visitors.model"
        r = subprocess.run(
            _a2d("server", "forecast", "train", "--series", "zaehler", "--csv", str(counts),
                 "--holidays", "DE-BW,FR-6AE", "--out", str(model), "--quiet", "--threads", "1"),
            capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            raise KnownError(f"could not train the demo forecast: {r.stderr.strip()[-300:]}")
        self.model = model

    def show_forecast(self) -> None:
        """What the kiosk's "Wann ist es voll?" chart says, from the agent's local API."""
        try:
            doc = _get(f"http://127.0.0.1:{self.api_port}/v1/forecast", self.kiosk_headers)
        except OSError as exc:
            self.say(f"forecast: none served ({exc})")
            return
        today = doc.get("today") or {}
        busy = today.get("busy_from_local_hour")
        when = f"busy from {busy} h" if busy is not None else "not busy any more"
        self.say(
            f"forecast: {len(doc.get('hours', []))} hours ahead (P10/P50/P90); today {when} (local time),"
            f" busiest at {today.get('peak_local_hour')} h; the kiosk shows it as 'Wann ist es voll?'"
        )

    def kiosk_config(self) -> Path:
        """A ``kiosk.toml`` for the kiosk at this agent's local API, Lotsen PIN :data:`DEMO_PIN`."""
        r = subprocess.run(_a2d("kiosk", "hash-pin"), input=DEMO_PIN + "\n", capture_output=True, text=True)
        if r.returncode != 0:
            raise KnownError(f"could not make the demo's Lotsen PIN hash: {r.stderr.strip()}")
        cfg = self.data / "kiosk.toml"
        cfg.touch(mode=0o600)  # it holds the kiosk's token
        cfg.write_text(
            "# written by `a2d demo`\n"
            f'[kiosk]\nid = "{self.kiosk["kiosk_id"]}"\nagent_url = "http://127.0.0.1:{self.api_port}"\n'
            f'token = "{self.kiosk["token"]}"\nagent_device_id = "{self.kiosk["device_id"]}"\n'
            f'cache_dir = "{self.data / "kiosk"}"\npin_hash = "{r.stdout.strip()}"\n'
            f'trusted_keys = ["{self.public_key}"]\n'
            # the Bürgerbüro, the demo pack's first site: its opening hours and nights apply
            f'[device]\nsite = "{json.loads(DEMO_PACK.read_text(encoding="utf-8"))["sites"][0]["id"]}"\n'
        )
        return cfg

    def citizen_at_kiosk(self) -> None:
        """What a kiosk sends when a citizen answers the first poll and asks for a Lotse."""
        base = f"http://127.0.0.1:{self.api_port}/v1"
        pack = json.loads(DEMO_PACK.read_text(encoding="utf-8"))
        poll = pack["polls"][0]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        vote = {"id": f"demo-vote-{time.time_ns()}", "poll_id": poll["id"], "choice": poll["choices"][-1]["id"],
                "at": now, "lang": "de"}  # fmt: skip
        _post(f"{base}/feedback", vote, self.kiosk_headers)
        _post(f"{base}/help", {"id": f"demo-help-{time.time_ns()}", "at": now}, self.kiosk_headers)
        results = _get(f"{base}/polls/{poll['id']}/results", self.kiosk_headers)
        self.say(
            f"kiosk: a vote on {poll['question']['de']!r} is stored (results so far: {results['counts']});"
            " a help request waits for a Lotse (a2d edge help-requests)"
        )

    def run_kiosk(self, cfg: Path) -> subprocess.Popen[bytes] | None:
        """The kiosk window when there is a display; otherwise its screenshots, rendered offscreen."""
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            log_file = (self.data / "kiosk.log").open("ab")
            kiosk = subprocess.Popen(_a2d("kiosk", "--config", str(cfg)), stdout=log_file, stderr=log_file)
            self.procs.append(kiosk)
            self.say(f"the kiosk window is open (Lotsen PIN {DEMO_PIN}); close it to end the demo")
            return kiosk
        shots = self.data / "kiosk-screens"
        env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"}
        r = subprocess.run(
            _a2d("kiosk", "--config", str(cfg), "--selftest", str(shots)),
            capture_output=True,
            text=True,
            env=env,
        )
        if r.returncode != 0:
            raise KnownError(f"the kiosk selftest failed: {r.stderr.strip()[-300:]}")
        self.say(f"no display here: the kiosk rendered every screen offscreen: {r.stdout.strip()}")
        self.say(f"look at them:  {shots}/home-de-normal.png (and report.json)")
        return None

    def add_console_user(self) -> str:
        """A demo admin for the console (``a2d server user add``), with a fresh password: returned."""
        password = secrets.token_urlsafe(12)
        r = subprocess.run(
            _a2d("server", "user", "add", DEMO_USER, "--role", "admin", "--db", self.server_db, "--password-stdin"),
            input=password + "\n", capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            raise KnownError(f"could not add the console's demo user: {r.stderr.strip()}")
        return password

    def stay(self, stop: threading.Event) -> None:
        """Keep the server (with its console) and the agent running until ``stop`` is set (Ctrl-C or
        SIGTERM), or until the server process ends."""
        server = self.server
        assert server is not None, "start_server first"
        password = self.add_console_user()
        self.say("\n-- the console stays open: Ctrl-C ends the demo --")
        self.say(f"console:  http://127.0.0.1:{self.server_port}/console/")
        self.say(f"login:    {DEMO_USER} / {password}   (demo only: made for this run, shown once)")
        self.say(f"public:   http://127.0.0.1:{self.server_port}/register")
        while not stop.wait(0.5):
            if server.poll() is not None:
                self.say(f"the sync server ended (exit {server.returncode}); see {self.data / 'server.log'}")
                return

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _own_env() -> dict[str, str]:
    """This environment without the variables that would override the demo's own configs: the API
    port and the broker login are in edge.toml and bridge.toml."""
    return {k: v for k, v in os.environ.items() if k != "A2D_API_PORT" and not k.startswith("A2D_MQTT_")}


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - a loopback URL we built
        return dict(json.loads(resp.read()))


def _get(url: str, headers: dict[str, str]) -> dict[str, Any]:
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - a loopback URL we built
        return dict(json.loads(resp.read()))


def _showing(msgs: Any, demo: Demo, every: int) -> Any:
    for i, m in enumerate(msgs):
        if i and i % every == 0:
            demo.show_new_events()
        yield m


def describe(e: dict[str, Any]) -> str:
    """One line a Lotse can read: time, device, what it measured."""
    parts = []
    for m in e.get("measurements") or []:
        q, v, unit = m["quantity"], m["value"], m["unit"]
        if q == "button_press":
            parts.append(f"button pressed ({m.get('channel', '?')})")
        elif q.startswith("battery") or q.endswith("_total"):
            continue
        else:
            where = f" [{m['channel']}]" if m.get("channel") else ""
            parts.append(f"{q.replace('_', ' ')} {v:g} {unit if unit != 'count' else ''}".rstrip() + where)
    what = ", ".join(parts) or ("; ".join(e.get("decode_errors") or []) or "no codec: raw bytes kept")
    vote = e.get("decoded") if e["source"] == "button" else None
    if isinstance(vote, dict):  # a feedback button's press as a vote (the pack's buttons)
        what = f"answers {vote.get('poll_id')}: {vote.get('choice')}" + (
            "" if e.get("counted", True) else " (inside its cooldown: kept, not counted)"
        )
    return f"{e['received_at'][11:19]}  {e['source']:<10} {e.get('device_name') or e['dev_eui']:<16} {what}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="a2d demo",
        description="Run a broker, the edge agent and simulated LoRaWAN devices on this machine.",
        epilog="example:\n  " + EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--devices", type=int, default=6, help="simulated devices (button, soil sensor, counter in turn)"
    )
    p.add_argument("--count", type=int, default=120, help="uplinks per network server")
    p.add_argument("--presses", type=int, default=12, help="presses on the simulated serial button box")
    p.add_argument("--rate", type=float, default=4.0, help="uplinks per second")
    p.add_argument(
        "--data", help="folder for the demo's config and database (default: a new temporary folder)"
    )
    p.add_argument(
        "--stay",
        action="store_true",
        help="after the story, keep the sync server and its console running (and print a demo login)"
        " until Ctrl-C; `make demo` passes it",
    )
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    logs.setup("warning")
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="a2d-demo-"))
    data.mkdir(parents=True, exist_ok=True)
    demo = Demo(data.resolve(), args.devices)
    stop = threading.Event()
    if args.stay:  # a SIGTERM ends the waiting as Ctrl-C does, and the demo's processes with it
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        demo.start_broker()
        demo.start_server()
        demo.train_forecast()
        demo.write_config()
        demo.pair_kiosk()
        demo.start_agent()
        demo.say(
            f"edge agent running; broker 127.0.0.1:{demo.port}; sync server http://127.0.0.1:{demo.server_port};"
            f" data in {demo.data}"
        )
        half = args.count // 2
        demo.say(f"\n-- {half} uplinks through ChirpStack (QoS 1) --")
        demo.publish_part("chirpstack", half, args.rate, seed=1)
        demo.show_new_events()
        demo.say("\n-- power cut: the agent is killed with SIGKILL; ChirpStack keeps publishing --")
        demo.procs[-1].send_signal(signal.SIGKILL)
        demo.procs[-1].wait()
        demo.publish_part("chirpstack", args.count - half, 0, seed=2)
        demo.say("-- power back: the agent restarts and drains what the broker kept --")
        demo.start_agent()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and demo.shown < args.count:
            demo.show_new_events()
            time.sleep(0.2)
        demo.say(f"\n-- {args.count} uplinks through The Things Stack (QoS 0) --")
        before = demo.shown
        demo.publish_part("tts", args.count, args.rate, seed=3)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and demo.shown < before + args.count:
            demo.show_new_events()
            time.sleep(0.2)
        demo.say("\n-- a serial button box on the Marktplatz, through the buttons bridge --")
        box = demo.start_button_box()
        before = demo.shown
        demo.press_box(box, args.presses)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and demo.shown < before + args.presses:
            demo.show_new_events()
            time.sleep(0.2)
        demo.say("\n-- the kiosk in the Bürgerbüro, through the agent's local API --")
        demo.citizen_at_kiosk()
        demo.show_new_events()
        demo.show_forecast()
        kiosk = demo.run_kiosk(demo.kiosk_config())
        deadline = time.monotonic() + 30
        stored = (demo._status() or {}).get("counts", {}).get("events", 0)
        while time.monotonic() < deadline and demo.server_count() < stored:
            time.sleep(0.5)
        status = demo._status() or {}
        counts = status.get("counts", {})
        demo.say(
            f"\npublished {2 * args.count} uplinks, pressed {args.presses} box buttons, voted once at the kiosk; stored {counts.get('events', '?')} events, "
            f"{counts.get('quarantine', '?')} quarantined, across one power cut;"
            f" the sync server holds {demo.server_count()} of them."
        )
        demo.say(f"look closer:  a2d edge status --config {demo.cfg}")
        demo.say(f"              a2d edge events --config {demo.cfg} --json")
        demo.say(f"              a2d server events --db {demo.server_db} --json")
        if kiosk is not None:
            kiosk.wait()
        if args.stay:
            demo.stay(stop)
    except KeyboardInterrupt:
        demo.say("stopped")
    finally:
        demo.close()
    return 0
