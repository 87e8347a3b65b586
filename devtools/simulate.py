"""`a2d simulate`: publish realistic LoRaWAN uplinks as ChirpStack or The Things Stack would.

Devices are a WS101 feedback button, an LSE01 soil sensor and a VS133 people counter in turn,
each with real payload bytes and a daily pattern. ``--rate 0`` publishes as fast as the broker
takes them (for benchmarks); the count is always bounded.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from a2d import logs
from a2d.errors import KnownError

from .uplinks import SimDevice, chirpstack_up, devices_toml, make_devices, tts_up

log = logging.getLogger(__name__)

EXAMPLE = "a2d simulate --mqtt 127.0.0.1:1883 --format chirpstack --devices 6 --rate 5 --count 300"


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="a2d simulate",
        description="Publish realistic LoRaWAN uplinks (ChirpStack v4 or The Things Stack v3 JSON) to MQTT.",
        epilog="example:\n  " + EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--mqtt", type=_host_port, default=("127.0.0.1", 1883), help="broker HOST:PORT")
    p.add_argument(
        "--username",
        default="",
        help="MQTT user (a network server's user on a broker with ACLs); the password comes from A2D_MQTT_PASSWORD",
    )
    p.add_argument(
        "--format", choices=("chirpstack", "tts"), default="chirpstack", help="network-server JSON"
    )
    p.add_argument("--devices", type=int, default=3, help="number of simulated devices (kinds in turn)")
    p.add_argument(
        "--rate", type=float, default=1.0, help="uplinks per second in total; 0 = as fast as possible"
    )
    p.add_argument("--count", type=int, default=100, help="uplinks to publish in total, then stop")
    p.add_argument("--qos", type=int, choices=(0, 1), default=1, help="MQTT QoS to publish with")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same devices and bytes)")
    p.add_argument(
        "--print-devices", action="store_true", help="print [[devices]] TOML for edge.toml and exit"
    )
    return p


def uplinks(devices: list[SimDevice], fmt: str, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``count`` uplinks, devices in turn, each built (and time-stamped) when it is taken."""
    rng = random.Random(seed)
    build = chirpstack_up if fmt == "chirpstack" else tts_up
    for i in range(count):
        dev = devices[i % len(devices)]
        at = datetime.now(UTC)
        yield build(dev, dev.payload(at), at, rng)
        dev.f_cnt += 1


def publish(
    host: str,
    port: int,
    msgs: Iterable[tuple[str, bytes]],
    total: int,
    rate: float,
    qos: int = 1,
    *,
    username: str = "",
    password: str = "",
) -> None:
    """Publish ``msgs`` at ``rate`` per second (0 = flat out), waiting for every QoS 1 PUBACK.

    ``username``/``password`` log in to a broker with users; a refused login is a :class:`KnownError`.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"a2d-simulate-{random.getrandbits(32):08x}")
    client.max_inflight_messages_set(1000)
    if username:
        client.username_pw_set(username, password or None)
    answered = threading.Event()
    refused: list[str] = []

    def on_connect(c: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            refused.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(host, port)
    except OSError as exc:
        raise KnownError(f"cannot reach the MQTT broker at {host}:{port}: {exc.strerror or exc}") from exc
    client.loop_start()
    try:
        if not answered.wait(15) or refused:
            why = refused[0] if refused else "no answer to the login within 15 s"
            raise KnownError(f"the MQTT broker at {host}:{port} refused the connection: {why}")
        start = time.monotonic()
        pending = []
        step = max(1, total // 10)
        for i, (topic, body) in enumerate(msgs):
            if rate > 0:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            pending.append(client.publish(topic, body, qos=qos))
            if len(pending) >= 500:
                for info in pending:
                    info.wait_for_publish(30)
                pending.clear()
            if (i + 1) % step == 0:
                log.info("published %d of %d uplinks", i + 1, total)
        for info in pending:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    logs.setup()
    if args.devices < 1 or args.count < 0:
        raise KnownError("--devices must be at least 1 and --count not negative")
    devices = make_devices(args.devices, args.seed)
    if args.print_devices:
        sys.stdout.write(devices_toml(devices))
        return 0
    host, port = args.mqtt
    msgs = uplinks(devices, args.format, args.count, args.seed)
    publish(
        host, port, msgs, args.count, args.rate, args.qos,
        username=args.username, password=os.environ.get("A2D_MQTT_PASSWORD", ""),
    )  # fmt: skip
    log.info(
        "done: %d %s uplinks from %d devices to %s:%d", args.count, args.format, args.devices, host, port
    )
    return 0
