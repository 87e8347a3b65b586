"""The endpoints of :mod:`a2d.localapi`, one small function each."""

from __future__ import annotations

import logging
from typing import Any

from a2d import timeutil
from a2d.contentpack import record_as_json
from a2d.localapi import PREFIX, DisplayReport, HelpRequest, LocalApiError, UsageReport, Vote

from . import displays, forecast, helpdesk, live, status, usage, votes
from .content import Content, Document, etag_matches
from .context import ApiContext
from .http import HttpError, Request, Response, Router

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}


def router(api: ApiContext) -> Router:
    r = Router()

    def route(method: str, path: str, fn: Any, *, public: bool = False) -> None:
        r.add(method, PREFIX + path, lambda req: fn(api, req), public=public)

    route("GET", "/healthz", healthz, public=True)  # the only route open without a kiosk token
    route("GET", "/content", content)
    route("GET", "/keys", keys)
    route("GET", "/transparency", transparency)
    route("POST", "/feedback", feedback)
    route("GET", "/polls/{poll_id}/results", poll_results)
    route("POST", "/help", help_create)
    route("GET", "/help", help_list)
    route("POST", "/help/{request_id}/close", help_close)
    route("GET", "/status", device_status)
    route("GET", "/forecast", forecast_now)
    route("GET", "/live", live.live_now)
    route("POST", "/display", display_report)
    route("GET", "/display", display_list)
    route("POST", "/usage", usage_report)
    return r


def _ok(doc: Any, status: int = 200) -> Response:
    return Response.json(status, doc, NO_STORE)


def _time(value: str, name: str = "at") -> str:
    try:
        return timeutil.normalise(value)
    except (ValueError, OverflowError):
        raise HttpError(400, f"{name!r} must be an ISO 8601 time such as 2026-06-02T08:15:00Z") from None


def _id(value: str, what: str) -> str:
    if not value or len(value) > 64:
        raise HttpError(400, f"the {what} must be 1-64 characters")
    return value


def healthz(api: ApiContext, req: Request) -> Response:
    return _ok({"ok": True, "device_id": api.device_id})


def content(api: ApiContext, req: Request) -> Response:
    return _signed(req, api.content.current(), "this edge agent has no content pack")


def keys(api: ApiContext, req: Request) -> Response:
    return _signed(req, api.content.keys(), "this edge agent has applied no keys bundle")


def _signed(req: Request, doc: Content | Document | None, missing: str) -> Response:
    """A signed bundle document as it is, with its ETag (304 when the kiosk has it already)."""
    if doc is None:
        raise HttpError(404, missing)
    headers = {"ETag": doc.etag, "Cache-Control": "no-cache"}
    if etag_matches(req.headers.get("If-None-Match"), doc.etag):
        return Response(304, b"", headers)
    return Response(200, doc.body, {"Content-Type": "application/json", **headers})


def transparency(api: ApiContext, req: Request) -> Response:
    c = api.content.current()
    records = [] if c is None else [record_as_json(r) for r in c.pack.transparency]
    return _ok({"records": records})


def feedback(api: ApiContext, req: Request) -> Response:
    try:
        vote = Vote.from_json(req.json())
    except LocalApiError as exc:
        raise HttpError(400, str(exc)) from None
    # the kiosk is the token's: a kiosk_id in the body is ignored (see a2d.localapi)
    vote = Vote(vote.id, req.kiosk_id, vote.poll_id, vote.choice, _time(vote.at), vote.lang)
    new = api.commit(lambda db: votes.store(db, vote, api.clock()))
    log.debug("vote %s for poll %s from kiosk %s: %s", vote.id, vote.poll_id, vote.kiosk_id,
              "stored" if new else "a repeat")  # fmt: skip
    return _ok({"id": vote.id, "stored": True}, 201 if new else 200)


def usage_report(api: ApiContext, req: Request) -> Response:
    try:
        report = UsageReport.from_json(req.json())
    except LocalApiError as exc:
        raise HttpError(400, str(exc)) from None
    # the kiosk is the token's, as for votes
    report = UsageReport(
        report.id, req.kiosk_id, report.day, report.sessions, report.screens, report.languages
    )
    new = api.commit(lambda db: usage.store(db, report, api.clock()))
    return _ok({"id": report.id, "stored": True}, 201 if new else 200)


def poll_results(api: ApiContext, req: Request) -> Response:
    poll_id = _id(req.params["poll_id"], "poll id")
    with api.reader() as db:
        counted = votes.counts(db, poll_id)
    c = api.content.current()
    poll = None if c is None else c.pack.poll(poll_id)
    result = {choice.id: 0 for choice in poll.choices} if poll is not None else {}
    if poll is None:  # a live question's answers are listed like a pack poll's choices
        result = dict.fromkeys(live.live_choices(api, poll_id) or [], 0)
    result.update(counted)
    doc: dict[str, Any] = {"poll_id": poll_id, "counts": result, "total": sum(result.values())}
    if poll is not None:  # the pack's words for each choice, the feedback buttons' counts included
        doc["labels"] = {choice.id: dict(choice.label) for choice in poll.choices}
    doc["town"] = live.town(api, poll_id)
    return _ok(doc)


def help_create(api: ApiContext, req: Request) -> Response:
    try:
        hr = HelpRequest.from_json(req.json())
    except LocalApiError as exc:
        raise HttpError(400, str(exc)) from None
    hr = HelpRequest(hr.id, req.kiosk_id, _time(hr.at), hr.topic)
    now = api.clock()
    new = api.commit(lambda db: helpdesk.open_request(db, hr, now))
    if new:
        log.info("help requested at kiosk %s (topic %s, request %s)", hr.kiosk_id, hr.topic or "-", hr.id)
    return _ok({"id": hr.id, "stored": True}, 201 if new else 200)


def help_list(api: ApiContext, req: Request) -> Response:
    state = req.query.get("state", "open")
    if state not in helpdesk.STATES:
        raise HttpError(400, f"state must be one of {', '.join(helpdesk.STATES)}")
    with api.reader() as db:
        return _ok({"requests": helpdesk.requests(db, state)})


def help_close(api: ApiContext, req: Request) -> Response:
    request_id = _id(req.params["request_id"], "help request id")
    outcome = api.commit(lambda db: helpdesk.close(db, request_id, api.clock()))
    if outcome is None:
        raise HttpError(404, f"there is no help request {request_id}")
    if outcome == "closed":
        log.info("help request %s closed", request_id)
    return _ok({"id": request_id, "state": "closed"})


def device_status(api: ApiContext, req: Request) -> Response:
    with api.reader() as db:
        st = status.status(db, api.device_id, api.sync_enabled, api.sync_online())
    return _ok(st.as_json())


def forecast_now(api: ApiContext, req: Request) -> Response:
    doc = forecast.current_forecast(api)
    if doc is None:
        raise HttpError(404, "no forecast yet")
    return _ok(doc)


def display_report(api: ApiContext, req: Request) -> Response:
    try:
        report = DisplayReport.from_json(req.json())
    except LocalApiError as exc:
        raise HttpError(400, str(exc)) from None
    report = DisplayReport(report.page, report.frames, report.hash, _time(report.changed_at, "changed_at"),
                           _time(report.at), report.mode, report.wall)  # fmt: skip
    api.commit(lambda db: displays.store(db, req.kiosk_id, report, api.clock()))
    return Response(204)


def display_list(api: ApiContext, req: Request) -> Response:
    with api.reader() as db:
        return _ok({"displays": displays.latest(db)})
