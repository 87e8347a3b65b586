"""``a2d server user``: the console's accounts on the command line (the first admin comes from here).

Passwords are read from standard input (``--password-stdin``: the first line), never from the
command line, where other users of the machine could read them in the process list.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from a2d.errors import KnownError
from a2d.timeutil import utc_now

from ..db import Database
from ..output import say
from . import accounts, audit

EXAMPLES = {
    "user": "a2d server user add anna --role admin --db sqlite:////var/lib/a2d/server.db --password-stdin",
    "user add": "a2d server user add ben --role lotse --sites rathaus,ov-zell-weierbach"
    " --db sqlite:////var/lib/a2d/server.db --password-stdin",
    "user list": "a2d server user list --db sqlite:////var/lib/a2d/server.db --json",
    "user remove": "a2d server user remove anna --db sqlite:////var/lib/a2d/server.db",
    "user set-role": "a2d server user set-role anna --role editor --sites rathaus,ov-zell --db sqlite:////var/lib/a2d/server.db",
    "user reset-password": "a2d server user reset-password anna --db sqlite:////var/lib/a2d/server.db --password-stdin",
}


def add_parsers(sub: Any, add: Any, common: Any) -> None:
    user = add(sub, "user", "user", "console accounts: add, list, remove, set-role, reset-password")
    usub = user.add_subparsers(dest="action", required=True, metavar="action")
    uadd = add(usub, "add", "user add", "add a console user; the password comes from standard input")
    uadd.add_argument("username", help="lower-case letters, digits, '.', '_' or '-'")
    uadd.add_argument("--role", required=True, choices=accounts.ROLES, help="what the user may do")
    uadd.add_argument(
        "--sites", default="", help="comma-separated sites an editor or Lotse works for (default: all)"
    )
    uadd.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    common(uadd, "print the user as JSON")
    common(add(usub, "list", "user list", "list console users"), "one JSON object per line")
    urem = add(usub, "remove", "user remove", "remove a console user (their sessions end)")
    urem.add_argument("username")
    common(urem, "print the result as JSON")
    urole = add(usub, "set-role", "user set-role", "give a user another role (their sessions end)")
    urole.add_argument("username")
    urole.add_argument("--role", required=True, choices=accounts.ROLES)
    urole.add_argument("--sites", help="comma-separated sites (default: keep; '' for all)")
    common(urole, "print the result as JSON")
    ureset = add(usub, "reset-password", "user reset-password", "set a new password read from stdin")
    ureset.add_argument("username")
    ureset.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    common(ureset, "print the result as JSON")


def _password() -> str:
    line = sys.stdin.readline()
    if not line:
        raise KnownError("no password on standard input (--password-stdin reads its first line)")
    return line.rstrip("\r\n")


def _sites(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def run(db: Database, args: argparse.Namespace) -> None:
    now = utc_now()
    if args.action == "add":
        u = accounts.add(db, args.username, args.role, _password(), now, audit.CLI, _sites(args.sites))
        say(args.json, u.as_dict(), f"added console user {u.username} ({u.role})")
    elif args.action == "list":
        found = accounts.users(db)
        if args.json:
            sys.stdout.writelines(orjson.dumps(u.as_dict()).decode() + "\n" for u in found)
            return
        for u in found:
            sites = ",".join(u.sites) or "all sites"
            sys.stdout.write(f"{u.username:<24} {u.role:<8} {sites:<30} added {u.created_at}\n")
        if not found:
            sys.stdout.write("no console users yet: a2d server user add NAME --role admin --password-stdin\n")
    elif args.action == "remove":
        accounts.remove(db, args.username, now, audit.CLI)
        say(args.json, {"username": args.username, "removed": True}, f"removed console user {args.username}")
    elif args.action == "set-role":
        scope = None if args.sites is None else _sites(args.sites)
        accounts.set_role(db, args.username, args.role, now, audit.CLI, scope)
        say(args.json, {"username": args.username, "role": args.role}, f"{args.username} is now {args.role}")
    else:
        accounts.reset_password(db, args.username, _password(), now, audit.CLI)
        say(args.json, {"username": args.username, "password_set": True}, f"new password for {args.username}")
