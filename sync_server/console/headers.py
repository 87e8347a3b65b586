"""Security headers on every page the console and the public pages answer (not on the API).

CSP: scripts, styles and images only from this server (no inline script, no CDN); no framing
(also X-Frame-Options for old browsers); forms post only here. Console pages are ``no-store``:
what a Lotse saw must not stay in a shared browser's cache.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_ALWAYS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]
#: the paths of the pages (the API and the APT repository keep their own headers)
PAGES = ("/console", "/register", "/opendata", "/assets/")


def is_page(path: str) -> bool:
    return path == "/" or path.startswith(PAGES)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        console = scope["path"].startswith("/console")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"cache-control" or not console
                ]
                headers += _ALWAYS
                if console:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
