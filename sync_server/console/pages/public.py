"""The public pages, no login: ``/`` (start), ``/register`` (+ ``/register.json``), ``/opendata``
(+ ``/opendata.jsonld``: the catalogue in DCAT-AP.de)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from a2d import contentpack

from ... import opendata
from ...deps import DB, Settings
from .. import dcat, i18n, register, web

router = APIRouter(include_in_schema=False)


@router.get("/")
def start(request: Request) -> Response:
    t = i18n.catalog(web.language(request))
    return web.render(request, "start.html", t.start_title)


@router.get("/register")
async def register_page(request: Request, db: DB) -> Response:
    lang = web.language(request)
    t = i18n.catalog(lang)

    def gather() -> tuple[list[Any], list[register.Pack]]:
        return [d for d in db.devices() if d.active], register.packs(db)

    devices, packs = await run_in_threadpool(gather)
    cards = [
        {
            "target": p.target,
            "id": r.id,
            "title": contentpack.pick(r.title, lang),
            "fields": [(k, contentpack.pick(r.fields[k], lang)) for k in contentpack.TRANSPARENCY_FIELDS],
        }
        for p in packs
        for r in p.pack.transparency
    ]
    return web.render(request, "register.html", t.register_title, devices=devices, cards=cards,
                      sites=register.site_names(packs, lang))  # fmt: skip


@router.get("/register.json")
async def register_json(db: DB) -> Response:
    doc = await run_in_threadpool(register.document, db)
    return Response(orjson.dumps(doc), media_type="application/json",
                    headers={"Access-Control-Allow-Origin": "*"})  # fmt: skip


def _catalogue(request: Request, settings: Any) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return dcat.catalogue(base, settings.opendata_attribution)


@router.get("/opendata")
def opendata_page(request: Request, settings: Settings) -> Response:
    t = i18n.catalog(web.language(request))
    cat = opendata.catalogue(
        settings.opendata_attribution, settings.opendata_max_rows, settings.opendata_min_count
    )
    jsonld = orjson.dumps(_catalogue(request, settings)).decode().replace("<", "\\u003c")
    return web.render(
        request, "opendata.html", t.opendata_title, cat=cat, jsonld=jsonld, licence=opendata.LICENCE
    )


@router.get("/opendata.jsonld")
def opendata_jsonld(request: Request, settings: Settings) -> Response:
    return Response(orjson.dumps(_catalogue(request, settings)), media_type="application/ld+json",
                    headers={"Access-Control-Allow-Origin": "*"})  # fmt: skip
