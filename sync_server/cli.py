"""`a2d server`: run the sync server, manage the device registry and the admin token, list records,
sign and publish bundles."""

from __future__ import annotations

import argparse
import gc
import logging
import socket
import ssl
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from a2d import logs
from a2d.bundles import KINDS, MAX_BUNDLE_BYTES, is_slug
from a2d.commandline import with_example
from a2d.errors import KnownError
from a2d.firstboot import ROLES
from a2d.timeutil import utc_now

from . import apt_commands, bundle_commands, config, live_commands, registry, retention
from .console import user_commands
from .db import Database, Device, StoredRecord, open_database
from .output import say

log = logging.getLogger(__name__)

EXAMPLES = {
    "run": "a2d server run --db sqlite:////var/lib/a2d/server.db --host 0.0.0.0 --port 8080",
    "device": "a2d server device add edge-rathaus-1 --site rathaus --db sqlite:////var/lib/a2d/server.db --json",
    "device add": "a2d server device add edge-rathaus-1 --site rathaus --db sqlite:////var/lib/a2d/server.db --json",
    "device list": "a2d server device list --db postgresql://a2d@db.example:5432/a2d --json",
    "device revoke": "a2d server device revoke edge-rathaus-1 --db sqlite:////var/lib/a2d/server.db",
    "device rotate-token": "a2d server device rotate-token edge-rathaus-1 --db sqlite:////var/lib/a2d/server.db",
    "admin-token": "a2d server admin-token --db sqlite:////var/lib/a2d/server.db",
    "events": "a2d server events --db sqlite:////var/lib/a2d/server.db --device edge-rathaus-1 --json",
    "prune": "a2d server prune --config /etc/a2d/server.toml",
    "signing-key": "a2d server signing-key rotate --keep-old-until 2026-12-31 --db sqlite:////var/lib/a2d/server.db",
    "bundle": "a2d server bundle list --db sqlite:////var/lib/a2d/server.db",
    "bundle publish": "a2d server bundle publish content content-offenburg.json --db sqlite:////var/lib/a2d/server.db "
    "--key /var/lib/a2d/signing.key --site rathaus",
    "bundle export": "a2d server bundle export content content-offenburg.json --site rathaus "
    "--db sqlite:////var/lib/a2d/server.db --out unsigned.json",
    "bundle sign": "a2d server bundle sign unsigned.json --key /media/usb/signing.key --out signed.json",
    "bundle upload": "a2d server bundle upload signed.json --db sqlite:////var/lib/a2d/server.db",
    "bundle list": "a2d server bundle list --db sqlite:////var/lib/a2d/server.db --json",
    "apt": "a2d server apt publish --deb dist/a2d_0.1.1_arm64.deb --repo /var/lib/a2d/apt",
    "apt key": "a2d server apt key --key /var/lib/a2d/apt-signing.asc",
    "apt publish": "a2d server apt publish --deb dist/a2d_0.1.1_arm64.deb --repo /var/lib/a2d/apt"
    " --key /var/lib/a2d/apt-signing.asc",
    "apt sources": "a2d server apt sources --url https://sync.offenburg.de/apt/ --out a2d.sources",
    **live_commands.EXAMPLES,
    **user_commands.EXAMPLES,
}
_KEY_HELP = (
    "the signing key file (default: server.signing_key, A2D_SERVER_SIGNING_KEY; else signing.key"
    " beside the SQLite database, or in the working directory with PostgreSQL)"
)


class NoSuchDevice(KnownError):
    """The registry has no device with the id given."""


def _formatter(name: str) -> dict[str, Any]:
    return with_example(EXAMPLES[name])


def _common(p: argparse.ArgumentParser, as_json: str | None = None) -> None:
    p.add_argument("--db", help="database URL (default: server.db setting, A2D_SERVER_DB)")
    p.add_argument("--config", help="optional server.toml with the settings of docs/sync-api.md")
    if as_json:
        p.add_argument("--json", action="store_true", help=as_json)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="a2d server",
        description="The town's sync server: device registry, record uploads, heartbeats, signed bundles.",
        **_formatter("run"),
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="command")

    def add(where: Any, name: str, key: str, text: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = where.add_parser(name, help=text, description=text, **_formatter(key))
        return sp

    run = add(sub, "run", "run", "run the HTTP API until SIGTERM / Ctrl-C (migrates the database first)")
    _common(run)
    run.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port to listen on (default 8080)")
    run.add_argument(
        "--tls-cert", metavar="PATH", help="serve HTTPS with this PEM certificate (chain); needs --tls-key"
    )
    run.add_argument("--tls-key", metavar="PATH", help="the certificate's unencrypted PEM private key")

    device = add(sub, "device", "device", "register devices, list, revoke them, give them new tokens")
    dsub = device.add_subparsers(dest="action", required=True, metavar="action")
    dadd = add(dsub, "add", "device add", "register a device; prints its id and its token (shown once)")
    dadd.add_argument("name", help="a name staff recognise; the id is its slug, made unique")
    dadd.add_argument("--site", default="", help="the site it stands at, e.g. rathaus (default: none)")
    dadd.add_argument(
        "--role",
        default="",
        choices=("", *ROLES),
        help="what it runs: " + ", ".join(ROLES) + " (default: none)",
    )
    _common(dadd, "print {device_id, token} as JSON")
    _common(add(dsub, "list", "device list", "list registered devices"), "one JSON object per line")
    drev = add(dsub, "revoke", "device revoke", "revoke a device: its token stops working at once")
    drev.add_argument("device_id")
    _common(drev, "print the result as JSON")
    drot = add(dsub, "rotate-token", "device rotate-token", "give a device a new token (reinstates it)")
    drot.add_argument("device_id")
    _common(drot, "print {device_id, token} as JSON")

    adm = add(sub, "admin-token", "admin-token", "create or replace the admin token; prints it (shown once)")
    _common(adm, "print {admin_token} as JSON")

    ev = add(sub, "events", "events", "print the records devices uploaded, oldest first")
    _common(ev, "one JSON object per line: device_id, record_id, stream, ts, received_at, payload")
    ev.add_argument("--device", help="only this device's records")
    ev.add_argument("--limit", type=int, help="at most this many")

    prune = add(
        sub, "prune", "prune", "delete the records past their retention now (the server does it hourly)"
    )
    _common(prune, "print {stream: records removed} as JSON")

    key = add(
        sub,
        "signing-key",
        "signing-key",
        "create the Ed25519 key bundles are signed with (prints its public key); rotate it; list the"
        " server's keys; trust one kept elsewhere",
    )
    key.add_argument(
        "action", nargs="?", default="create", choices=("create", "rotate", "list", "trust"),
        help="create (default): a new key file; rotate: a new key, devices told by a keys bundle signed with"
        " the old one; list: the server's public keys; trust PUBLIC_KEY: accept uploads signed with a key"
        " kept elsewhere",
    )  # fmt: skip
    key.add_argument("public_key", nargs="?", help="with trust: the public key (base64)")
    _common(key, "print the result as JSON")
    key.add_argument("--key", help=_KEY_HELP)
    key.add_argument(
        "--keep-old-until", metavar="TIME",
        help="with rotate: devices trust the old key until then (default: 90 days from now)",
    )  # fmt: skip
    which = key.add_mutually_exclusive_group()
    which.add_argument("--rotate", action="store_true", help="the same as the rotate action")
    which.add_argument(
        "--public", action="store_true", help="only print the public key of the existing key file"
    )

    bundle = add(
        sub, "bundle", "bundle", "publish signed keys, config, content and model bundles; sign offline; list"
    )
    bsub = bundle.add_subparsers(dest="action", required=True, metavar="action")
    pub = add(bsub, "publish", "bundle publish", "sign FILE and make it the KIND bundle devices download")
    exp = add(
        bsub, "export", "bundle export",
        "write FILE as an unsigned KIND bundle with its counter, to be signed elsewhere with bundle sign",
    )  # fmt: skip
    for p_ in (pub, exp):
        p_.add_argument("kind", choices=KINDS, help="what FILE is: " + ", ".join(KINDS))
        p_.add_argument(
            "file", type=Path, help=f"the bundle's content, at most {MAX_BUNDLE_BYTES // 2**20} MiB"
        )
        aim = p_.add_mutually_exclusive_group()
        aim.add_argument("--device", action="append", default=[], metavar="ID",
                         help="for this device only (repeat for more: one bundle each)")  # fmt: skip
        aim.add_argument("--site", metavar="SITE", help="for the devices of this site")
        p_.add_argument("--version", help="the bundle's version label (default: the UTC time now)")
    pub.add_argument("--key", help=_KEY_HELP)
    _common(pub, "print {kind, version, sha256, size, published_at, targets, counters} as JSON")
    exp.add_argument("--out", type=Path, required=True, help="the unsigned bundle file to write")
    _common(exp, "print {out, targets, counters} as JSON")
    sgn = add(
        bsub, "sign", "bundle sign",
        "sign the unsigned bundle(s) in FILE with a key file; needs no database (run it where the key is)",
    )  # fmt: skip
    sgn.add_argument(
        "file", type=Path, help="unsigned bundle(s) from bundle export, or any content with --kind"
    )
    sgn.add_argument("--key", required=True, help="the private key file (PEM) to sign with")
    sgn.add_argument("--out", type=Path, required=True, help="the signed bundle file to write")
    sgn.add_argument("--kind", choices=KINDS, help="FILE is content to sign as a bundle of this kind")
    sgn.add_argument("--counter", type=int, default=1, help="with --kind: the counter (default 1)")
    sgn.add_argument("--target", default="all", help="with --kind: all, site:SITE or device:ID (default all)")
    sgn.add_argument("--version", help="with --kind: the version label (default: the UTC time now)")
    sgn.add_argument("--json", action="store_true", help="print {out, key_id, counters} as JSON")
    upl = add(
        bsub, "upload", "bundle upload",
        "store bundles signed elsewhere, checked against the server's keys and counters",
    )  # fmt: skip
    upl.add_argument("file", type=Path, help="the signed bundle(s) from bundle sign")
    _common(upl, "print {kind, version, sha256, size, published_at, targets, counters} as JSON")
    blist = add(
        bsub, "list", "bundle list", "list the bundles devices get: per kind, for every device (*) or one"
    )
    blist.add_argument("--history", action="store_true", help="also the bundles that were replaced")
    _common(blist, "one JSON object per line")
    apt_commands.add_parsers(sub, add)
    live_commands.add_parsers(sub, add, _common)
    user_commands.add_parsers(sub, add, _common)
    # listed for --help only: main() hands `forecast ...` to sync_server.forecast.cli before parsing
    sub.add_parser(
        "forecast",
        help="train, export, publish and evaluate forecast models",
        add_help=False,
        epilog="example:\n  a2d server forecast evaluate --csv counts.csv --holidays DE-BW,FR-6AE"
        " --train-until 2026-01-01 --test-until 2026-07-01",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return p


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "forecast":
        from .forecast import cli as forecast_cli  # scikit-learn & co. load only for this command

        return forecast_cli.main(argv[1:])
    args = parser().parse_args(argv)
    if args.command == "bundle" and args.action == "sign":  # no settings, no database
        bundle_commands.sign(args)
        return 0
    settings = config.load(
        args.config,
        db=args.db,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        tls_cert=getattr(args, "tls_cert", None),
        tls_key=getattr(args, "tls_key", None),
        signing_key=getattr(args, "key", None),
        apt_repo=getattr(args, "apt_repo", None),
        apt_key=getattr(args, "apt_key", None),
    )
    if args.command == "run":
        return _run(settings)
    if args.command == "apt":  # files only, no database
        apt_commands.run(args, settings)
        return 0
    if args.command == "signing-key" and args.rotate:
        args.action = "rotate"
    if args.command == "signing-key" and args.action == "create":
        bundle_commands.signing_key(args, settings)
        return 0
    creating = args.command == "admin-token" or getattr(args, "action", None) == "add"
    db = open_database(settings.db, create=creating, pool_size=1, synchronous=settings.synchronous)
    try:
        db.migrate()
        if args.command == "device":
            _device(db, args)
        elif args.command == "bundle":
            bundle_commands.bundle(db, args, settings)
        elif args.command == "signing-key":
            bundle_commands.signing_key_db(db, args, settings)
        elif args.command == "poll":
            live_commands.run(db, args)
        elif args.command == "user":
            user_commands.run(db, args)
        elif args.command == "admin-token":
            token = registry.new_token()
            db.set_admin_token_hash(registry.hash_token(token), utc_now())
            say(args.json, {"admin_token": token}, f"admin token (shown only now, keep it safe): {token}")
        elif args.command == "prune":
            removed = retention.prune(db, settings.retention_days, None, settings.bundle_history_days)
            kept = ", ".join(f"{k} {d} days" for k, d in sorted(settings.retention_days.items()) if d > 0)
            text = ", ".join(f"{k}: {n}" for k, n in sorted(removed.items())) or "nothing"
            say(args.json, removed, f"removed {text} (retention: {kept or 'forever'})")
        else:
            _events(db.records(args.device, args.limit), args.json)
    finally:
        db.close()
    return 0


def _run(settings: config.ServerSettings) -> int:
    import uvicorn

    from .app import create_app, open_and_migrate
    from .listener import Limits, protocol

    logs.setup(settings.log_level)
    tls = _tls_files(settings)
    listener = _listen(settings.host, settings.port)
    try:
        db = open_and_migrate(settings)
        try:
            scheme = "https" if tls else "http"
            log.info("serving %s on %s://%s:%d", db.backend, scheme, settings.host, settings.port)
            app = create_app(settings, db)

            class Server(uvicorn.Server):
                async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                    hub = getattr(app.state, "live", None)
                    if hub is not None:
                        hub.close()  # open live streams end now, not after the graceful timeout
                    await super().shutdown(sockets)

            server = Server(
                uvicorn.Config(
                    app,
                    host=settings.host,
                    port=settings.port,
                    log_config=None,
                    access_log=False,
                    server_header=False,
                    timeout_graceful_shutdown=10,
                    http=protocol(
                        Limits(
                            settings.head_timeout_s,
                            settings.body_timeout_s,
                            settings.max_connections_per_client,
                        )
                    ),
                    limit_concurrency=settings.max_connections or None,
                    ssl_certfile=tls[0] if tls else None,
                    ssl_keyfile=tls[1] if tls else None,
                )
            )
            # what the server made to start lives as long as it does: frozen, it is not walked again by
            # every full collection (those took about a quarter of the server's time in a sync
            # catch-up: bench/sync_catchup.py)
            gc.collect()
            gc.freeze()
            gc.set_threshold(100_000, 50, 100)
            server.run(sockets=[listener])
        finally:
            db.close()
    finally:
        listener.close()
    return 0


def _tls_files(settings: config.ServerSettings) -> tuple[str, str] | None:
    """(certificate, key) to serve HTTPS with, or None for plain HTTP; checked here so that a bad
    pair is a one-line error, not a traceback from uvicorn."""
    cert, key = settings.tls_cert, settings.tls_key
    if not cert and not key:
        return None
    if not cert or not key:
        raise KnownError(
            "TLS needs both --tls-cert and --tls-key (server.tls_cert, server.tls_key), or neither"
        )
    for what, path in (("certificate", cert), ("key", key)):
        try:
            open(path, "rb").close()
        except OSError as exc:
            raise KnownError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from exc

    def no_passphrase() -> str:
        raise KnownError(f"the TLS key {key} is encrypted: give an unencrypted key")

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=no_passphrase)
    except ssl.SSLError as exc:
        raise KnownError(
            f"cannot use the TLS certificate {cert} with the key {key} ({exc.reason or exc}):"
            " both must be PEM, and the key the certificate's"
        ) from exc
    return cert, key


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so that a busy port is a one-line error, not a traceback."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        # proto IPPROTO_TCP: asyncio then sets TCP_NODELAY on every accepted connection; without
        # it an answer written as headers + body waits ~40 ms for the client's delayed ACK
        sock = socket.socket(info[0], socket.SOCK_STREAM, info[2])
    except OSError as exc:
        raise KnownError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as exc:
        sock.close()
        raise KnownError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _device(db: Database, args: argparse.Namespace) -> None:
    now = utc_now()
    if args.action == "add":
        if args.site and not is_slug(args.site):
            raise KnownError(
                f"--site: lower-case letters and digits joined by single hyphens, not {args.site!r:.60}"
            )
        token = registry.new_token()
        device_id = db.add_device(
            args.name, registry.device_id_candidates(args.name), registry.hash_token(token), now, args.site,
            args.role,
        )  # fmt: skip
        at = f" at site {args.site}" if args.site else ""
        say(args.json, {"device_id": device_id, "token": token, "site": args.site, "role": args.role},
             f"added device {device_id}{at}\ntoken (shown only now, keep it safe): {token}")  # fmt: skip
    elif args.action == "list":
        _devices(db.devices(), args.json)
    elif args.action == "revoke":
        if not db.revoke_device(args.device_id, now):
            raise NoSuchDevice(f"no device {args.device_id!r} (see a2d server device list)")
        say(args.json, {"device_id": args.device_id, "revoked": True}, f"revoked device {args.device_id}")
    else:
        token = registry.new_token()
        if not db.set_device_token(args.device_id, registry.hash_token(token), now):
            raise NoSuchDevice(f"no device {args.device_id!r} (see a2d server device list)")
        say(args.json, {"device_id": args.device_id, "token": token},
             f"new token for {args.device_id} (shown only now, keep it safe): {token}")  # fmt: skip


def _devices(devices: list[Device], as_json: bool) -> None:
    out = sys.stdout
    if as_json:
        out.writelines(orjson.dumps(d.as_dict()).decode() + "\n" for d in devices)
        return
    for d in devices:
        state = "active" if d.active else f"REVOKED {d.revoked_at}"
        site = f"site {d.site}" if d.site else "no site"
        seen = f"last seen {d.last_seen}" if d.last_seen else "never seen"
        out.write(
            f"{d.device_id:<32} {site:<24} {state:<36} added {d.created_at}  token {d.token_set_at}  {seen}"
            f"  {d.role or '-'}  {d.name}\n"
        )
    if not devices:
        out.write("no devices yet: a2d server device add NAME\n")


def _events(records: Iterable[StoredRecord], as_json: bool) -> None:
    out = sys.stdout
    for r in records:
        if as_json:
            head = orjson.dumps(
                {
                    "device_id": r.device_id,
                    "record_id": r.record_id,
                    "stream": r.stream,
                    "ts": r.ts,
                    "received_at": r.received_at,
                }  # fmt: skip
            ).decode()
            out.write(f'{head[:-1]},"payload":{r.payload}}}\n')  # the stored JSON text, not parsed again
        else:
            out.write(
                f"{r.received_at}  {r.device_id:<24} {r.stream:<9} {r.ts:<28} {r.record_id}  {r.payload}\n"
            )
