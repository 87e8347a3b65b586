"""`a2d edge`: run the edge agent and look into what it stored."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from a2d import logs
from a2d.commandline import app_parser, with_example
from a2d.errors import KnownError

from . import config as edge_config
from . import queries, statefile
from .eventrow import EventRow, event_json
from .store import open_reader

log = logging.getLogger(__name__)

#: seconds between the simulated uplinks of ``a2d edge run --fake``
FAKE_EVERY_S = 1.0
EXAMPLES = {
    "run": "a2d edge run --config edge.toml",
    "events": "a2d edge events --config edge.toml --json --since 2026-06-01T00:00:00Z",
    "quarantine": "a2d edge quarantine --config edge.toml --json",
    "status": "a2d edge status --config edge.toml",
    "codecs": "a2d edge codecs",
    "help-requests": "a2d edge help-requests --config edge.toml",
    "kiosk": "a2d edge kiosk add kiosk-buergerbuero-1 --config edge.toml",
}
KIOSK_EXAMPLES = {
    "add": "a2d edge kiosk add kiosk-buergerbuero-1 --config edge.toml --json",
    "list": "a2d edge kiosk list --config edge.toml",
    "revoke": "a2d edge kiosk revoke kiosk-buergerbuero-1 --config edge.toml",
}


def _parser() -> argparse.ArgumentParser:
    p, add_command = app_parser(
        "a2d edge",
        "The edge agent: durable, offline-first ingest of LoRaWAN events into SQLite.",
        EXAMPLES,
        "run",
    )

    def add(name: str, help: str) -> argparse.ArgumentParser:
        sp = add_command(name, help)
        if name not in ("codecs", "kiosk"):
            sp.add_argument("--config", required=True, help="the agent's edge.toml")
        return sp

    run = add("run", "run the agent until SIGTERM / Ctrl-C")
    run.add_argument(
        "--fake",
        action="store_true",
        help="no broker: read simulated uplinks from a fake source instead of the MQTT sources"
        " (one a second; see them with a2d edge events)",
    )
    ev = add("events", "print stored events, oldest first")
    ev.add_argument("--json", action="store_true", help="one JSON object per line")
    ev.add_argument("--since", help="only events received at or after this UTC ISO-8601 time")
    ev.add_argument("--dev-eui", help="only this device")
    ev.add_argument("--kind", help="only this event kind (up, status, join, ...)")
    ev.add_argument("--limit", type=int, help="at most this many")
    ev.add_argument("--after", type=int, help="only events with an id above this one (to follow new events)")
    q = add("quarantine", "print rejected input with the reason")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.add_argument("--limit", type=int, help="at most this many")
    st = add("status", "show each source: connected, last message, counts, QoS")
    st.add_argument("--json", action="store_true", help="the status as one JSON object")
    add("codecs", "list the device codecs this agent knows")
    hr = add("help-requests", "list the help requests kiosks sent, newest first (open ones unless --all)")
    hr.add_argument("--json", action="store_true", help="one JSON object per line")
    hr.add_argument("--all", action="store_true", help="closed requests too")
    kiosk = add("kiosk", "pair kiosks with this agent's local API: add, list, revoke")
    actions = kiosk.add_subparsers(dest="action", required=True, metavar="action")
    for action, help in (
        ("add", "pair a kiosk: prints its token (once) and what its kiosk.toml needs"),
        ("list", "the kiosks paired with this agent"),
        ("revoke", "unpair a kiosk: its token stops working within seconds"),
    ):
        sp = actions.add_parser(action, help=help, description=help, **with_example(KIOSK_EXAMPLES[action]))
        if action != "list":
            sp.add_argument("name", help="the kiosk's name or id, e.g. kiosk-buergerbuero-1")
        sp.add_argument("--config", required=True, help="the agent's edge.toml")
        if action != "revoke":
            sp.add_argument("--json", action="store_true", help="JSON instead of text")
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "codecs":
        from .codecs import get, names

        for name in names():
            sys.stdout.write(f"{name:<32} {get(name).description}\n")
        return 0
    cfg = edge_config.load(args.config)
    if args.command == "kiosk":
        return _kiosk(cfg, args)
    if args.command == "run":
        logs.setup(cfg.get("log.level"))
        return _run(cfg, args.fake)
    db = open_reader(cfg.db_path)
    try:
        if args.command == "events":
            rows = queries.event_rows(
                db, since=args.since, dev_eui=args.dev_eui, kind=args.kind, limit=args.limit, after=args.after
            )
            for row in rows:
                sys.stdout.write(f"{event_json(row) if args.json else _event_line(row)}\n")
        elif args.command == "quarantine":
            _emit(queries.quarantine(db, args.limit), args.json, _quarantine_line)
        elif args.command == "help-requests":
            from .localapi import helpdesk

            try:
                found = helpdesk.requests(db, "all" if args.all else "open")
            except sqlite3.OperationalError as exc:
                raise KnownError(
                    f"{cfg.db_path} has no help requests yet: start this version of the agent once"
                ) from exc
            _emit(found, args.json, _help_line)
        else:
            st = queries.status(db, state=statefile.read(cfg.state_path))
            st["sync_url"] = cfg.get("sync.url")
            sys.stdout.write(
                json.dumps(st, indent=2) + "\n" if args.json else _status_text(st, st["sync_url"])
            )
    finally:
        db.close()
    return 0


def _run(cfg: edge_config.EdgeConfig, fake: bool) -> int:
    """Build the sources (the agent's ports) and run the agent with them."""
    from .ingest import Source

    sources: list[Source]
    if fake:
        from .fakesource import FakeSource, with_devices

        src = FakeSource(every=FAKE_EVERY_S)
        sources, cfg = [src], with_devices(cfg, src)
        log.warning("--fake: no broker; simulated uplinks from %d devices, one every %.0f s",
                    len(src.devices), FAKE_EVERY_S)  # fmt: skip
    else:
        from .mqtt import mqtt_sources

        sources = list(mqtt_sources(cfg))
    from .agent import Agent

    Agent(cfg, sources).run_until_signal()
    return 0


def _kiosk(cfg: edge_config.EdgeConfig, args: argparse.Namespace) -> int:
    from .localapi import kiosks, pairing

    out = sys.stdout
    if args.action == "add":
        doc = pairing.pair(cfg, args.name)
        out.write(json.dumps(doc, ensure_ascii=False) + "\n" if args.json else pairing.summary(doc))
    elif args.action == "list":
        found = [kiosks.as_json(k) for k in kiosks.load(cfg.data_dir)]
        _emit(found, args.json, lambda k: f"{k['kiosk_id']:<32} added {k['added_at']}  {k['name']}")
    else:
        gone = kiosks.revoke(cfg.data_dir, args.name)
        out.write(f"revoked kiosk {gone.kiosk_id}: its token no longer works\n")
    return 0


def _emit(rows: Iterable[dict[str, Any]], as_json: bool, line: Any) -> None:
    out = sys.stdout
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) if as_json else line(row))
        out.write("\n")


def _event_line(e: EventRow) -> str:
    if e.decoded is not None:
        what = json.dumps(json.loads(e.decoded), ensure_ascii=False)
    else:
        what = f"raw {None if e.raw is None else base64.b64encode(e.raw).decode()}"
    errors = json.loads(e.decode_errors)
    if errors:
        what = "ERROR " + "; ".join(errors)
    name = e.device_name or e.dev_eui or "?"
    return f"{e.received_at}  {e.kind:<8} {name:<24} fCnt {e.f_cnt!s:<6} {e.codec or '-':<26} {what}"


def _help_line(h: dict[str, Any]) -> str:
    closed = f"  closed {h['closed_at']}" if h["closed_at"] else ""
    return f"{h['at']}  {h['state']:<6} kiosk {h['kiosk_id']:<20} topic {h['topic'] or '-':<20} {h['id']}{closed}"


def _quarantine_line(q: dict[str, Any]) -> str:
    return f"{q['received_at']}  {q['source']:<10} {q['topic'][:60]:<60} {q['size']:>8} B  {q['reason']}"


def _status_text(st: dict[str, Any], sync_url: str = "") -> str:
    lines = []
    a = st["agent"]
    if a is None:
        lines.append("agent: has not run yet")
    else:
        state = (
            "running" if a["running"] else f"NOT running (last heartbeat {a['heartbeat_age_s']:.0f} s ago)"
        )
        lines.append(f"agent {a['device_id']}: {state}, pid {a['pid']}, started {a['started_at']}")
    if st.get("full"):
        lines.append(f"  DISK FULL since {st['full']['since']}: {st['full']['reason']}")
        lines.append(
            "  taking nothing in (held with the broker), deleting nothing, until there is room again"
        )
    lines.append("")
    for s in st["sources"]:
        link = "connected" if s["connected"] else "DISCONNECTED"
        lines.append(f"source {s['name']} ({s['kind']}) {s['broker']}  {link} since {s['changed_at']}")
        if not s["connected"] and s["last_error"]:
            lines.append(f"  last error: {s['last_error']}")
        lines.append(f"  topic {s['topic']}  QoS {s['qos']}  last message {s['last_message_at'] or 'never'}")
        lines.append(
            f"  received {s['received']}  stored {s['stored']}  duplicates {s['duplicates']}"
            f"  quarantined {s['quarantined']}  ignored {s['ignored']}"
        )
        if not s["durable"]:
            lines.append(
                "  QoS 0: The Things Stack's MQTT server offers QoS 0 only; uplinks sent while the agent is"
                " away are lost"
            )
    if sync_url:
        lines += ["", f"sync to {sync_url}:"]
        for o in st["sync"]:
            lines.append(
                f"  stream {o['stream']:<8} pending {o['pending']:<7} oldest {o['oldest_pending'] or '-':<27}"
                f" sent {o['sent']:<8} last success {o['last_success_at'] or 'never'}"
            )
            if o["last_error"]:
                lines.append(f"    last error {o['last_error_at']}: {o['last_error']}")
            if o["thinned"]:
                lines.append(f"    {o['thinned']} unsent event(s) removed by the size caps (store.max_*)")
            if o["refused"]:
                lines.append(f"    {o['refused']} record(s) refused by the server are kept here;"
                             f" the last at {o['refused_at']}: {o['refused_reason']}")  # fmt: skip
        for b in st.get("bundles", []):
            applied = (f"version {b['version']} (counter {b['counter']}) applied {b['applied_at']}" if b["version"]
                       else "none applied")  # fmt: skip
            lines.append(f"  bundle {b['kind']:<8} {applied}")
            if b["last_error"]:
                lines.append(f"    last refused {b['last_error_at']}: {b['last_error']}")
    else:
        lines += ["", "sync: off (no [sync] url in the config)"]
    c = st["counts"]
    streams = ", ".join(f"{k} {v}" for k, v in sorted(st["streams"].items())) or "none"
    lines += [
        "",
        f"stored: {c['events']} events ({streams}), {c['quarantine']} quarantined, {c['devices']} devices",
    ]
    v = st.get("votes") or {}
    if v.get("not_counted"):
        lines.append(
            f"votes: {v['counted']} counted, {v['not_counted']} feedback-button presses inside their cooldown (kept, not counted)"
        )
    return "\n".join(lines) + "\n"
