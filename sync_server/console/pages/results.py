"""``/console/results``: feedback results per question, site and day (chart, table, CSV), and the
live questions: start one, close one early (editors and admins).

Everyone signed in may read; a user limited to some sites sees the votes of those sites only, and
the town-wide totals (``poll_tallies``) only when they see every site. Small counts are shown as
"unter 5" (``opendata.min_count``), in the page and in the CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from a2d.timeutil import iso

from ... import live
from ...deps import DB, Settings
from .. import audit, charts, i18n, results, web

router = APIRouter(prefix="/console", include_in_schema=False)
Anyone = Annotated[web.Staff, Depends(web.require("editor", "lotse", "viewer"))]
Editor = Annotated[web.Staff, Depends(web.require("editor"))]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _sees(who: web.Staff) -> tuple[str, ...] | None:
    return who.user.sites or None


def _today() -> date:
    return web.now().astimezone(web.LOCAL_TIME).date()


def _number(n: int, min_count: int, t: i18n.Catalog) -> str:
    value = results.shown(n, min_count)
    return t.fmt("results_under", n=min_count) if value is None else str(value)


class View:
    """What the page shows of one question: its counts in the window, ready for the template."""

    def __init__(self, q: results.Question, counts: results.Counts, town: dict[str, int] | None,
                 min_count: int, t: i18n.Catalog) -> None:  # fmt: skip
        self.question = q
        self.answers = results.answers_of(q, counts, town)
        self.sites = counts.sites()
        self.days = counts.days()
        per_answer = counts.by()
        per_site = counts.by(site=True)
        per_day = counts.by(day=True)
        self.total = _number(counts.total, min_count, t)
        self.answer_rows = [
            (q.label(a), _number(per_answer.get((a,), 0), min_count, t)) for a in self.answers
        ]
        self.site_rows = [(s or t.results_no_site, [_number(per_site.get((s, a), 0), min_count, t)
                           for a in self.answers]) for s in self.sites]  # fmt: skip
        self.day_rows = [(d, [_number(per_day.get((d, a), 0), min_count, t) for a in self.answers])
                         for d in self.days]  # fmt: skip
        self.town = None if town is None else [(q.label(a), _number(town.get(a, 0), min_count, t))
                                               for a in self.answers]  # fmt: skip
        items = [(q.label(a), results.shown(per_answer.get((a,), 0), min_count),
                  _number(per_answer.get((a,), 0), min_count, t)) for a in self.answers]  # fmt: skip
        self.chart = charts.bars(items, t.fmt("results_chart_answers", question=q.text,
                                 values="; ".join(f"{label}: {text}" for label, _, text in items)))  # fmt: skip
        day_totals = {d: sum(per_day.get((d, a), 0) for a in self.answers) for d in self.days}
        day_items = [
            (d, results.shown(n, min_count), _number(n, min_count, t)) for d, n in day_totals.items()
        ]
        self.day_chart = charts.bars(day_items, t.fmt("results_chart_days", question=q.text,
                                     values="; ".join(f"{d}: {text}" for d, _, text in day_items)))  # fmt: skip


def _gather(db: Any, who: web.Staff, poll: str, first: date, last: date, lang: str) -> dict[str, Any]:
    qs = results.questions(db, lang)
    chosen = next((q for q in qs if q.id == poll), None)
    counts = results.count(db, poll, first, last, web.LOCAL_TIME, _sees(who)) if chosen else None
    town = db.poll_tallies([poll]).get(poll, {}) if chosen and _sees(who) is None else None
    return {"questions": qs, "chosen": chosen, "counts": counts, "town": town}


@router.get("/results")
async def results_page(request: Request, who: Anyone, db: DB, settings: Settings) -> Response:
    """The question chooser, the chosen question's results, and the live questions."""
    q = request.query_params
    poll = q.get("poll", "")
    try:
        first, last = results.window(q.get("from") or None, q.get("to") or None, _today())
    except ValueError as exc:
        return await _render(request, who, db, settings, "", _today(), _today(), 400, error=str(exc))
    return await _render(request, who, db, settings, poll, first, last)


async def _render(request: Request, who: web.Staff, db: Any, settings: Any, poll: str, first: date, last: date,
                  status: int = 200, error: str = "", form: dict[str, str] | None = None) -> Response:  # fmt: skip
    lang = web.language(request)
    t = i18n.catalog(lang)
    found = await run_in_threadpool(_gather, db, who, poll, first, last, lang)
    chosen, counts = found["chosen"], found["counts"]
    view = View(chosen, counts, found["town"], settings.opendata_min_count, t) if chosen else None
    if poll and chosen is None and not error:
        error, status = t.results_unknown_poll, 404
    live_qs = [x for x in found["questions"] if x.source == "live"]
    return web.render(
        request, "results.html", t.results_title, status, questions=found["questions"], chosen=chosen,
        view=view, first=first.isoformat(), last=last.isoformat(), live=live_qs, error=error,
        may_start=who.user.role in ("admin", "editor"), min_count=settings.opendata_min_count,
        started=request.query_params.get("started", ""), form=form or {},
    )  # fmt: skip


@router.get("/results.csv")
async def results_csv(request: Request, who: Anyone, db: DB, settings: Settings) -> Response:
    """One question's votes per site, day and answer as CSV (small counts as "unter 5")."""
    lang = web.language(request)
    t = i18n.catalog(lang)
    q = request.query_params
    poll = q.get("poll", "")
    try:
        first, last = results.window(q.get("from") or None, q.get("to") or None, _today())
    except ValueError as exc:
        return Response(f"{exc}\n", status_code=400, media_type="text/plain")
    found = await run_in_threadpool(_gather, db, who, poll, first, last, lang)
    chosen, counts = found["chosen"], found["counts"]
    if chosen is None:
        return Response(f"unknown question {poll!r:.70}\n", status_code=404, media_type="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["poll_id", "question", "site", "day", "answer_id", "answer", "votes"])
    for (site, day, answer), n in sorted(counts.cells.items()):
        writer.writerow([_cell(x) for x in (chosen.id, chosen.text, site, day, answer, chosen.label(answer),
                         _number(n, settings.opendata_min_count, t))])  # fmt: skip
    name = f"results-{chosen.id}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _cell(value: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading '."""
    return "'" + value if value[:1] in _FORMULA_START else value


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.replace(",", "\n").splitlines() if x.strip()]


@router.post("/results/live")
async def start_live(
    request: Request, who: Editor, db: DB, settings: Settings, form: web.PostedForm
) -> Response:
    """Start a live question (question, answers one a line or comma-separated, sites, minutes)."""
    t = i18n.catalog(web.language(request))
    sites = _lines(form.get("sites", ""))
    if who.user.sites:  # an editor of some sites asks those sites only (none named: all of theirs)
        sites = sites or list(who.user.sites)
        if any(not who.user.sees_site(s) for s in sites):
            return await _again(request, who, db, settings, t.results_live_not_your_site, form)
    try:
        minutes = int(form.get("minutes", "").strip() or "0")
    except ValueError:
        return await _again(request, who, db, settings, t.results_live_bad_minutes, form)
    now = web.now()

    def begin() -> str:
        q = live.start(db, form.get("question", ""), _lines(form.get("answers", "")), sites=sites,
                       minutes=minutes, started_by=f"console:{who.user.username}", now=now)  # fmt: skip
        audit.record(db, who.actor, "live.start", q.id, f"{q.text.get('de', '')} ({minutes} min)", iso(now))
        return q.id

    try:
        qid = await run_in_threadpool(begin)
    except live.LiveRefused as exc:
        return await _again(request, who, db, settings, str(exc), form)
    return web.redirect(f"/console/results?poll={qid}&started={qid}")


@router.post("/results/live/close")
async def close_live(
    request: Request, who: Editor, db: DB, settings: Settings, form: web.PostedForm
) -> Response:
    """Close a live question now (an editor of some sites: only a question of their sites)."""
    qid = form.get("id", "")
    row = await run_in_threadpool(db.live_question, qid)
    if row is None:
        return web.message(request, "notfound", 404)
    sites = row.as_json().get("sites") or []
    if who.user.sites and (not sites or any(not who.user.sees_site(s) for s in sites)):
        raise web.Forbidden()
    now = web.now()

    def end() -> None:
        live.close(db, qid, f"console:{who.user.username}", now)
        audit.record(db, who.actor, "live.close", qid, "", iso(now))

    await run_in_threadpool(end)
    return web.redirect(f"/console/results?poll={qid}")


async def _again(request: Request, who: web.Staff, db: Any, settings: Any, error: str,
                 form: dict[str, str]) -> Response:  # fmt: skip
    today = _today()
    first, last = results.window(None, None, today)
    return await _render(request, who, db, settings, "", first, last, 400, error=error, form=form)
