"""Store-and-forward sync against a real sync server process: nothing lost, nothing twice.

Each fault test queues events in the edge database, lets the agent's sync client hand them to
``a2d server run`` (through a proxy that breaks connections on purpose where needed), and
checks that the server ends up holding every record exactly once and the outbox is empty.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.uplinks import encode_ws101
from edge_agent import config as edge_config
from edge_agent import outbox
from edge_agent.agent import Agent
from edge_agent.config import Device
from edge_agent.ingest import Inbound, Ingest
from edge_agent.store import Store, open_reader
from tests.conftest import Mosquitto, free_port, mqtt_agent, wait_for, wait_port
from tests.faultproxy import FaultProxy
from tests.test_ingest import CS_TOPIC, cs_up

ROOT = Path(__file__).resolve().parent.parent
A2D = [sys.executable, "-m", "a2d.cli"]
EUI = "24e124538b223344"


class Server:
    """``a2d server run`` on a SQLite file, restartable on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.db = f"sqlite:///{tmp / 'server.db'}"
        self.port = free_port()
        self.log = tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*A2D, "server", "run", "--db", self.db, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_port(self.port, 30)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)

    def cli(self, *args: str) -> str:
        r = subprocess.run([*A2D, "server", *args, "--db", self.db], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def add_device(self, name: str, *site: str) -> tuple[str, str]:
        d = json.loads(self.cli("device", "add", name, *(("--site", *site) if site else ()), "--json"))
        return d["device_id"], d["token"]

    def record_ids(self, device_id: str) -> list[str]:
        out = self.cli("events", "--device", device_id, "--json")
        return [json.loads(line)["record_id"] for line in out.splitlines() if line.strip()]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.kill(signal.SIGTERM)


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultProxy]:
    p = FaultProxy(server.port)
    yield p
    p.close()


def edge_config_for(
    tmp: Path, broker_port: int, url: str, device_id: str, token: str, batch: int = 100, rate: int = 0
):
    (tmp / "edge").mkdir(exist_ok=True)
    path = tmp / "edge.toml"
    path.write_text(
        f'[device]\nid = "{device_id}"\ndata_dir = "{tmp / "edge"}"\n[mqtt]\nport = {broker_port}\n'
        f'[sync]\nurl = "{url}"\ntoken = "{token}"\ninterval_s = 0.2\nheartbeat_s = 1\ntimeout_s = 2\n'
        f"batch_records = {batch}\nmax_records_per_s = {rate}\n"
        f'[[sources]]\nkind = "chirpstack"\n[[devices]]\ndev_eui = "{EUI}"\ncodec = "milesight-iot/ws101"\n'
    )
    return edge_config.load(path)


def queue_events(db_path: Path, n: int, start: int = 0) -> list[str]:
    """Store ``n`` uplinks directly, as the ingest writer would; returns their record ids."""
    ing = Ingest(Store(db_path), {EUI: Device(EUI, "milesight-iot/ws101", "")})
    for k in range(start, start + n):
        body = cs_up(EUI, k, 85, encode_ws101("short"), f"s-{k}")
        ing.add(Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=EUI, event="up"), body))
    ing.flush()
    ing.store.close()
    return [f"cs:up:s-{k}" for k in range(start, start + n)]


def sent(db_path: Path) -> int:
    """Records the server has acknowledged so far, as the edge counts them (cheap to poll)."""
    db = open_reader(db_path)
    try:
        return sum(s["sent"] for s in outbox.status(db))
    finally:
        db.close()


def pending(db_path: Path) -> int:
    db = open_reader(db_path)
    try:
        return sum(s["pending"] for s in outbox.status(db))
    finally:
        db.close()


def drained(server: Server, device_id: str, want: list[str], db_path: Path) -> bool:
    return pending(db_path) == 0 and len(server.record_ids(device_id)) >= len(want)


def check_exactly_once(server: Server, device_id: str, want: list[str]) -> None:
    got = server.record_ids(device_id)
    assert sorted(got) == sorted(want), f"{len(got)} records, {len(set(got))} distinct, of {len(want)}"


def run_agent(cfg) -> Agent:
    agent = mqtt_agent(cfg)
    agent.start()
    return agent


def test_outbox_reaches_the_server_once_and_heartbeats_arrive(
    server: Server, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    device_id, token = server.add_device("edge-rathaus-1")
    cfg = edge_config_for(tmp_path, mosquitto.port, f"http://127.0.0.1:{server.port}", device_id, token)
    want = queue_events(cfg.db_path, 250)
    agent = run_agent(cfg)
    try:
        wait_for(lambda: drained(server, device_id, want, cfg.db_path), what="the outbox to drain")
    finally:
        agent.stop()
    check_exactly_once(server, device_id, want)
    st = subprocess.run([*A2D, "edge", "status", "--config", str(tmp_path / "edge.toml")], cwd=ROOT,
                        capture_output=True, text=True).stdout  # fmt: skip
    assert "stream uplink" in st and "pending 0" in st


def test_server_killed_mid_upload_and_restarted(server: Server, mosquitto: Mosquitto, tmp_path: Path) -> None:
    device_id, token = server.add_device("edge-2")
    cfg = edge_config_for(
        tmp_path, mosquitto.port, f"http://127.0.0.1:{server.port}", device_id, token, batch=50, rate=1000
    )
    want = queue_events(cfg.db_path, 3000)
    agent = run_agent(cfg)
    try:
        wait_for(lambda: 0 < sent(cfg.db_path) < len(want) // 2, what="the first uploads")
        server.kill()
        server.start()
        wait_for(
            lambda: drained(server, device_id, want, cfg.db_path), timeout=90, what="the outbox to drain"
        )
    finally:
        agent.stop()
    check_exactly_once(server, device_id, want)


@pytest.mark.parametrize("fault", ["reset", "503", "hang", "refuse"])
def test_faulty_link_then_recovery(
    server: Server, proxy: FaultProxy, mosquitto: Mosquitto, tmp_path: Path, fault: str
) -> None:
    """reset: the server committed but the answer never arrived; 503 / hang: a sick or slow
    server; refuse: the server is down from the start. Then the link heals."""
    device_id, token = server.add_device(f"edge-{fault}")
    cfg = edge_config_for(
        tmp_path, mosquitto.port, f"http://127.0.0.1:{proxy.port}", device_id, token, batch=40
    )
    want = queue_events(cfg.db_path, 400)
    proxy.mode = fault
    agent = run_agent(cfg)
    try:
        if fault == "reset":
            wait_for(lambda: proxy.resets >= 3, what="answers to be swallowed")
            assert server.record_ids(device_id), "the server committed although the answer was lost"
        else:
            wait_for(lambda: _last_error(cfg.db_path), what="the failure to be recorded")
        assert pending(cfg.db_path) > 0
        proxy.mode = "pass"
        wait_for(
            lambda: drained(server, device_id, want, cfg.db_path), timeout=90, what="the outbox to drain"
        )
    finally:
        agent.stop()
    check_exactly_once(server, device_id, want)


def _last_error(db_path: Path) -> bool:
    db = open_reader(db_path)
    try:
        return any(s["last_error"] for s in outbox.status(db))
    finally:
        db.close()


def test_edge_killed_mid_batch_resumes_without_doubles(
    server: Server, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    device_id, token = server.add_device("edge-kill")
    cfg = edge_config_for(
        tmp_path, mosquitto.port, f"http://127.0.0.1:{server.port}", device_id, token, batch=50, rate=1000
    )
    want = queue_events(cfg.db_path, 2000)
    cmd = [*A2D, "edge", "run", "--config", str(tmp_path / "edge.toml")]
    log = (tmp_path / "agent.log").open("ab")
    agent = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: 0 < sent(cfg.db_path) < len(want) // 2, what="the first uploads")
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        agent = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wait_for(
            lambda: drained(server, device_id, want, cfg.db_path), timeout=90, what="the outbox to drain"
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(20)
    check_exactly_once(server, device_id, want)


def test_a_wrong_token_stores_nothing_and_says_why(
    server: Server, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    device_id, _ = server.add_device("edge-honest")
    cfg = edge_config_for(tmp_path, mosquitto.port, f"http://127.0.0.1:{server.port}", device_id, "x" * 43)
    queue_events(cfg.db_path, 20)
    agent = run_agent(cfg)
    try:
        wait_for(lambda: _last_error(cfg.db_path), what="the refusal to be recorded")
    finally:
        agent.stop()
    assert server.record_ids(device_id) == []
    assert pending(cfg.db_path) == 20
    db = open_reader(cfg.db_path)
    assert "token" in outbox.status(db)[0]["last_error"]
    db.close()


def write_pack(path: Path, town: str) -> dict:
    """The demo's content pack under another town's name (a server publishes only real packs)."""
    pack = {**json.loads((ROOT / "devtools" / "data" / "content-offenburg.json").read_text()), "town": town}
    path.write_text(json.dumps(pack))
    return pack


def test_bundles_reach_the_device_and_a_wrongly_signed_one_is_refused(
    server: Server, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    from a2d.bundles import Identity, TrustedKeys
    from edge_agent import bundles as edge_bundles

    def cli(*args: str) -> str:
        r = subprocess.run([*A2D, "server", *args], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    key, rogue = tmp_path / "signing.key", tmp_path / "rogue.key"
    cli("signing-key", "--key", str(key))
    cli("signing-key", "--key", str(rogue))
    public = cli("signing-key", "--key", str(key), "--public")
    device_id, token = server.add_device("edge-bundles")
    good = tmp_path / "content-v1.json"
    pack = write_pack(good, "Offenburg")
    cli("bundle", "publish", "content", str(good), "--db", server.db, "--key", str(key), "--version", "v1")

    cfg = edge_config_for(tmp_path, mosquitto.port, f"http://127.0.0.1:{server.port}", device_id, token)
    path = tmp_path / "edge.toml"
    path.write_text(
        path.read_text().replace(  # the key as older configs name it: sync.server_public_key
            "[sync]\n", f'[sync]\nserver_public_key = "{public}"\nbundle_interval_s = 0.2\n'
        )
    )
    cfg = edge_config.load(path)
    trust = edge_bundles.DeviceTrust(TrustedKeys.configured([public]), Identity(device_id))
    agent = run_agent(cfg)
    try:
        wait_for(lambda: (cfg.data_dir / "bundles" / "content.json").exists(), what="the first bundle")
        first = edge_bundles.current(cfg.data_dir, "content", trust)
        assert first is not None and first.version == "v1" and first.content == good.read_bytes()
        # an admin made the server accept a stray key: devices still refuse what it signs
        cli("signing-key", "trust", cli("signing-key", "--key", str(rogue), "--public"), "--db", server.db)
        evil = tmp_path / "content-v2.json"
        evil.write_text(json.dumps({**pack, "town": "phishing"}))
        cli(
            "bundle",
            "publish",
            "content",
            str(evil),
            "--db",
            server.db,
            "--key",
            str(rogue),
            "--version",
            "v2",
        )
        wait_for(lambda: _bundle_error(cfg.db_path), what="the refusal to be recorded")
    finally:
        agent.stop()
    kept = edge_bundles.current(cfg.data_dir, "content", trust)
    assert kept is not None and kept.version == "v1"


def test_the_agent_follows_a_key_rotation_and_a_site_bundle(
    server: Server, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The real sync client: keys bundle first, then the bundles the new key signed; its site's."""
    from a2d import bundles
    from edge_agent import bundles as edge_bundles

    def cli(*args: str) -> str:
        r = subprocess.run([*A2D, "server", *args], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    key = tmp_path / "srv" / "signing.key"
    old = json.loads(cli("signing-key", "--key", str(key), "--json"))["public_key"]
    device_id, token = server.add_device("edge-rotation", "rathaus")
    write_pack(tmp_path / "pack.json", "Fundbuero")
    cli("bundle", "publish", "content", str(tmp_path / "pack.json"), "--db", server.db, "--key", str(key))
    edge_config_for(tmp_path, mosquitto.port, f"http://127.0.0.1:{server.port}", device_id, token)
    path = tmp_path / "edge.toml"
    path.write_text(path.read_text().replace(
        "[sync]\n", f'[sync]\ntrusted_keys = ["{old}"]\nbundle_interval_s = 0.2\n'
    ).replace("[device]\n", '[device]\nsite = "rathaus"\n'))  # fmt: skip
    cfg = edge_config.load(path)

    def applied() -> dict[str, tuple[int, str | None]]:
        db = open_reader(cfg.db_path)
        try:
            return {b["kind"]: (b["counter"], b["last_error"]) for b in edge_bundles.status(db)}
        finally:
            db.close()

    agent = run_agent(cfg)
    try:
        wait_for(lambda: applied().get("content", (0, None))[0] == 1, what="the first content bundle")
        new = json.loads(cli("signing-key", "rotate", "--key", str(key), "--db", server.db, "--json"))[
            "public_key"
        ]
        wait_for(
            lambda: applied().get("content", (0, None))[0] == 2, what="the content signed with the new key"
        )
        assert applied()["keys"] == (1, None)
        write_pack(tmp_path / "zell.json", "Ortsverwaltung")
        cli("bundle", "publish", "content", str(tmp_path / "zell.json"), "--site", "ov-zell-weierbach",
            "--db", server.db, "--key", str(key))  # fmt: skip
        write_pack(tmp_path / "rathaus.json", "Buergerbuero")
        cli("bundle", "publish", "content", str(tmp_path / "rathaus.json"), "--site", "rathaus",
            "--db", server.db, "--key", str(key))  # fmt: skip
        wait_for(lambda: applied()["content"][0] == 4, what="the Rathaus site's content")
    finally:
        agent.stop()
    trust = edge_bundles.DeviceTrust(
        bundles.TrustedKeys.configured([old]), bundles.Identity(device_id, "rathaus")
    )
    now = edge_bundles.current(cfg.data_dir, "content", trust)
    assert now is not None and json.loads(now.content)["town"] == "Buergerbuero"
    assert now.key_id == bundles.key_id(new) and now.target == "site:rathaus"


def _bundle_error(db_path: Path) -> bool:
    from edge_agent import bundles as edge_bundles

    db = open_reader(db_path)
    try:
        return any(b["last_error"] and "not trusted here" in b["last_error"] for b in edge_bundles.status(db))
    finally:
        db.close()


def test_a_pinned_certificate_is_trusted_alone(mosquitto: Mosquitto, tmp_path: Path) -> None:
    import ssl

    from edge_agent.tlspin import fingerprint
    from tests.tlscert import make_self_signed

    cert, key = make_self_signed(tmp_path)
    server = Server.__new__(Server)
    server.db, server.port, server.log = (
        f"sqlite:///{tmp_path / 'server.db'}",
        free_port(),
        tmp_path / "server.log",
    )
    server.proc = subprocess.Popen(
        [*A2D, "server", "run", "--db", server.db, "--host", "127.0.0.1", "--port", str(server.port),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        cwd=ROOT, stdout=server.log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_port(server.port, 30)
        device_id, token = server.add_device("edge-pinned")
        pin = fingerprint(ssl.PEM_cert_to_DER_cert(cert.read_text()))
        cfg = edge_config_for(tmp_path, mosquitto.port, f"https://127.0.0.1:{server.port}", device_id, token)
        path = tmp_path / "edge.toml"
        plain = path.read_text()
        path.write_text(plain.replace("[sync]\n", f'[sync]\npin_sha256 = "{"00" * 32}"\n'))
        want = queue_events(cfg.db_path, 30)
        agent = run_agent(edge_config.load(path))
        try:
            wait_for(lambda: _last_error(cfg.db_path), what="the pin mismatch to be recorded")
        finally:
            agent.stop()
        assert server.record_ids(device_id) == []
        db = open_reader(cfg.db_path)
        assert "pin" in outbox.status(db)[0]["last_error"]
        db.close()
        path.write_text(plain.replace("[sync]\n", f'[sync]\npin_sha256 = "{pin}"\n'))
        agent = run_agent(edge_config.load(path))
        try:
            wait_for(
                lambda: drained(server, device_id, want, cfg.db_path), what="the outbox to drain over TLS"
            )
        finally:
            agent.stop()
        check_exactly_once(server, device_id, want)
    finally:
        server.kill(signal.SIGTERM)
