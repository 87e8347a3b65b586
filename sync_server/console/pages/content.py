"""``/console/content``: editors edit the draft content pack of a target, admins publish it.

One form per item (a service, a poll, a transparency record, a site, a button mapping); each carries
the draft revision it started from, and a save against an older one is refused with the person's
text shown again (:class:`sync_server.console.drafts.Stale`). The pack's own rules check every
save; the complaint is shown beside its field and nothing is stored.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from a2d import contentpack
from a2d.timeutil import iso

from ... import signing
from ...db import Database
from ...deps import DB
from ...publishing import PublishError
from .. import contentforms, drafts, i18n, web

router = APIRouter(prefix="/console/content", include_in_schema=False)
Editor = Annotated[web.Staff, Depends(web.require("editor"))]
Admin = Annotated[web.Staff, Depends(web.require())]
PREVIEWABLE = ("services", "polls")


def _today() -> date:
    return web.now().date()


def _target(who: web.Staff, site: str) -> str:
    """The draft's target for ``?site=``; an editor limited to some sites edits only theirs."""
    try:
        target = drafts.target_of(site)
    except ValueError:
        raise web.Forbidden() from None
    if who.user.role != "admin" and who.user.sites and not (site and who.user.sees_site(site)):
        raise web.Forbidden()
    return target


def _sites(db: Database, draft: drafts.Draft) -> list[str]:
    known = {s.get("id", "") for s in draft.document.get("sites", []) if isinstance(s, dict)}
    known |= {d.site for d in db.devices() if d.site}
    return sorted(s for s in known if s)


def _title(item: dict[str, Any], section: str, index: int) -> str:
    for key in ("title", "question", "name"):
        if isinstance(item.get(key), dict):
            return contentpack.pick(item[key], "de") or str(item.get("id", index))
    if section == "buttons":
        which = next((k for k in contentforms.BUTTON_NAMES if k in item), "")
        return f"{which}: {item.get(which, '')} → {item.get('poll', '')}"
    return str(item.get("id", index))


@router.get("")
async def overview(request: Request, who: Editor, db: DB, site: str = "") -> Response:
    target = _target(who, site)
    draft = await run_in_threadpool(drafts.load, db, target, _today())
    sites = await run_in_threadpool(_sites, db, draft)
    t = i18n.catalog(web.language(request))
    sections = {s: [_title(i, s, n) for n, i in enumerate(draft.document.get(s, []))]
                for s in contentforms.SECTIONS}  # fmt: skip
    return web.render(request, "content.html", t.content_title, draft=draft, site=site, sites=sites,
                      sections=sections, problem=contentforms.check(draft.document),
                      previewable=PREVIEWABLE, published=request.query_params.get("published") == "1",
                      saved=request.query_params.get("saved") == "1")  # fmt: skip


def _item(draft: drafts.Draft, section: str, index: str) -> tuple[int, dict[str, Any]] | None:
    items = draft.document.get(section, [])
    if index == "new":
        return len(items), {}
    if not index.isdigit() or int(index) >= len(items):
        return None
    return int(index), items[int(index)]


async def _form(request: Request, draft: drafts.Draft, site: str, section: str, index: str,
                shown: dict[str, str], status: int = 200, **notes: Any) -> Response:  # fmt: skip
    t = i18n.catalog(web.language(request))
    title = t.fmt("content_edit_title", section=t["content_" + section])
    return web.render(request, "content_item.html", title, status, draft=draft, site=site, section=section,
                      index=index, fields=contentforms.fields(section, draft.document), shown=shown,
                      langs=contentpack.LANGUAGES, previewable=section in PREVIEWABLE, **notes)  # fmt: skip


@router.get("/{section}/{index}")
async def edit(request: Request, who: Editor, db: DB, section: str, index: str, site: str = "") -> Response:
    target = _target(who, site)
    draft = await run_in_threadpool(drafts.load, db, target, _today())
    found = _item(draft, section, index) if section in contentforms.SECTIONS else None
    if found is None:
        return web.message(request, "notfound", 404)
    return await _form(request, draft, site, section, index,
                       contentforms.values(section, found[1], draft.document))  # fmt: skip


@router.post("/{section}/{index}")
async def save(
    request: Request, who: Editor, db: DB, form: web.PostedForm, section: str, index: str
) -> Response:
    site = form.get("site", "")
    target = _target(who, site)
    draft = await run_in_threadpool(drafts.load, db, target, _today())
    found = _item(draft, section, index) if section in contentforms.SECTIONS else None
    if found is None:
        return web.message(request, "notfound", 404)
    position, _ = found
    started = int(form["revision"]) if form.get("revision", "").isdigit() else -1
    paths = [f.path for f in contentforms.fields(section, draft.document)]
    shown = {p: form.get(p, "") for p in paths}
    if started != draft.revision:  # someone saved in between: nothing is stored, the text is shown again
        return await _form(request, draft, site, section, index, shown, 409, stale=draft)
    document = copy.deepcopy(draft.document)
    items: list[Any] = document.setdefault(section, [])
    deleting = form.get("action") == "delete" and index != "new"
    try:
        if deleting:
            del items[position]
        else:
            item = contentforms.item_from(section, form, draft.document)
            items[position:position + 1] = [item]  # fmt: skip
    except contentforms.FormError as exc:
        return await _form(request, draft, site, section, index, shown, 400,
                           errors={exc.path: str(exc)})  # fmt: skip
    problem = contentforms.check(document)
    if problem:
        item_id = "" if deleting else str(item.get("id", ""))
        where = contentforms.field_of(problem, f"{section}[{position}]", section, item_id, paths)
        return await _form(request, draft, site, section, index, shown, 400,
                           errors={where: problem} if where else {}, problem="" if where else problem)  # fmt: skip
    what = f"{section}[{position}] {'deleted' if deleting else 'saved'}"
    new = drafts.Draft(target, draft.revision, document, draft.base, "", "")
    try:
        await run_in_threadpool(drafts.save, db, new, started, who.actor, what, iso(web.now()), _today())
    except drafts.Stale as exc:
        return await _form(request, exc.current, site, section, index, shown, 409, stale=exc.current)
    back = f"/console/content?site={site}&saved=1" if site else "/console/content?saved=1"
    return web.redirect(back)


@router.get("/preview/{section}/{index}")
async def preview(request: Request, who: Editor, db: DB, section: str, index: str, site: str = "",
                  show: str = "de") -> Response:  # fmt: skip
    """The kiosk's page for a service or a poll, in the kiosk's colours and sizes, as the draft has it."""
    target = _target(who, site)
    draft = await run_in_threadpool(drafts.load, db, target, _today())
    found = _item(draft, section, index) if section in PREVIEWABLE and index != "new" else None
    if found is None:
        return web.message(request, "notfound", 404)
    show = show if show in contentpack.LANGUAGES else "de"
    t = i18n.catalog(web.language(request))
    item = found[1]
    words = {"title": contentpack.pick(item.get("title") or item.get("question") or {}, show)}
    return web.render(request, "content_preview.html", t.fmt("content_preview_title", title=words["title"]),
                      section=section, item=item, show=show, pick=contentpack.pick, site=site, index=index,
                      langs=contentpack.LANGUAGES, kw=i18n.catalog("de" if show == "ls" else show), bring=contentpack.pick_items(
                          {k: tuple(v) for k, v in item.get("bring", {}).items()}, show))  # fmt: skip


@router.post("/publish")
async def publish(request: Request, who: Admin, db: DB, form: web.PostedForm) -> Response:
    site = form.get("site", "")
    target = _target(who, site)
    started = int(form["revision"]) if form.get("revision", "").isdigit() else -1
    settings = request.app.state.settings
    t = i18n.catalog(web.language(request))

    def run() -> None:
        key = signing.load(signing.key_path(settings.signing_key, settings.db))
        drafts.publish(db, key, target, started, who.actor, iso(web.now()), _today())

    try:
        await run_in_threadpool(run)
    except drafts.Stale:
        return web.render(request, "message.html", t.content_title, 409, text=t.content_publish_stale)
    except (PublishError, signing.SigningKeyError) as exc:
        return web.render(request, "message.html", t.content_title, 400, text=str(exc))
    return web.redirect(
        f"/console/content?site={site}&published=1" if site else "/console/content?published=1"
    )
