"""The console's words: one JSON catalog per language in ``locale/``, German first.

The language comes from ``?lang=`` (which the language switch links to, and which is then kept in
a cookie), else that cookie, else German. Browsers' Accept-Language is not followed: the town's
pages are German first, and the other languages are one click away on every page.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = {"de": "Deutsch", "fr": "Français", "en": "English"}
DEFAULT = "de"
COOKIE = "a2d_lang"


class Catalog(dict[str, str]):
    """Strings of one language; ``t.key`` in templates, ``t.fmt("key", n=3)`` with placeholders."""

    def __getattr__(self, key: str) -> str:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def fmt(self, key: str, **values: Any) -> str:
        return self[key].format(**values)


@cache
def catalog(lang: str) -> Catalog:
    text = resources.files(__package__).joinpath("locale", f"{lang}.json").read_text(encoding="utf-8")
    return Catalog(json.loads(text))


def choose(query: str | None, cookie: str | None) -> str:
    for lang in (query, cookie):
        if lang in LANGUAGES:
            return str(lang)
    return DEFAULT
