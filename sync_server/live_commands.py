"""``a2d server poll live|list|close``: live questions from the command line, straight into the database.

A running server notices within a second and tells its agents (:mod:`.livehub`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

import orjson

from a2d import livewire
from a2d.errors import KnownError

from . import live
from .db import Database
from .output import say

EXAMPLES = {
    "poll": 'a2d server poll live --db sqlite:////var/lib/a2d/server.db --question "Soll der Marktplatz'
    ' autofrei werden?" --answers "Ja,Nein" --minutes 10',
    "poll live": 'a2d server poll live --db sqlite:////var/lib/a2d/server.db --question "Soll der Marktplatz'
    ' autofrei werden?" --answers "Ja,Nein" --sites buergerbuero --minutes 10 --json',
    "poll list": "a2d server poll list --db sqlite:////var/lib/a2d/server.db --json",
    "poll close": "a2d server poll close live-7f3a9c2e --db sqlite:////var/lib/a2d/server.db",
}


def add_parsers(sub: Any, add: Callable[..., argparse.ArgumentParser], common: Callable[..., None]) -> None:
    poll = add(sub, "poll", "poll", "live questions: start one now, list them with their counts, close one")
    psub = poll.add_subparsers(dest="action", required=True, metavar="action")
    start = add(psub, "live", "poll live",
                "start a live question now; kiosks and walls at its sites show it within seconds; prints its id")  # fmt: skip
    start.add_argument(
        "--question", required=True, help="the question, as kiosks show it (German, or the pack's language)"
    )
    start.add_argument("--answers", required=True, help='its answers, comma-separated: "Ja,Nein" (2 to 8)')
    start.add_argument(
        "--sites", default="", help="only at these sites, comma-separated (default: every site)"
    )
    start.add_argument(
        "--minutes", type=int, default=livewire.DEFAULT_MINUTES,
        help=f"how long it stays open (default {livewire.DEFAULT_MINUTES}, at most {livewire.MAX_MINUTES})",
    )  # fmt: skip
    common(start, "print the question as JSON (id, text, answers, opens_at, closes_at, sites)")
    listing = add(
        psub, "list", "poll list", "list live questions, newest first, open and closed, with their counts"
    )
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    common(listing, "one JSON object per line")
    close = add(psub, "close", "poll close", "close a live question now (its results stay)")
    close.add_argument("question_id", help="the id poll live printed, e.g. live-7f3a9c2e")
    common(close, "print the closed question as JSON")


def _who() -> str:
    try:
        return f"a2d server poll live (user {getpass.getuser()})"
    except (KeyError, OSError):
        return "a2d server poll live"


def run(db: Database, args: argparse.Namespace) -> None:
    if args.action == "live":
        q = live.start(db, args.question, args.answers.split(","), sites=args.sites.split(","),
                       minutes=args.minutes, started_by=_who())  # fmt: skip
        at = f" at {', '.join(q.sites)}" if q.sites else " at every site"
        say(args.json, q.as_json(), f"{q.id}\nopen{at} until {q.closes_at}")
    elif args.action == "list":
        if args.limit < 1:
            raise KnownError("--limit must be at least 1")
        found = live.listing(db, args.limit)
        if args.json:
            sys.stdout.writelines(orjson.dumps(x).decode() + "\n" for x in found)
            return
        for x in found:
            counts = ", ".join(f"{a['label'].get('de') or next(iter(a['label'].values()))} {x['counts'][a['id']]}"
                               for a in x["answers"])  # fmt: skip
            text = livewire.pick(x["text"], "de")
            sys.stdout.write(f"{x['id']}  {x['state']:<7} {x['opens_at']} - {x['closes_at']}  {text}  ({counts};"
                             f" total {x['total']})\n")  # fmt: skip
        if not found:
            sys.stdout.write(
                'no live questions yet: a2d server poll live --question "..." --answers "Ja,Nein"\n'
            )
    else:
        live.close(db, args.question_id, "a2d server poll close")
        closed = live.one(db, args.question_id)
        assert closed is not None
        say(
            args.json,
            closed,
            f"{closed['id']} closed at {closed['closes_at']} (total {closed['total']} votes)",
        )
