"""The kiosk's screens (Kivy). Each module holds one page; :func:`page_class` finds one by name."""

from __future__ import annotations

import importlib

from .base import Page

#: page name → module holding it (imported when first shown, keeping the start lean)
PAGES = {
    "attract": "attract",
    "wiped": "attract",
    "home": "home",
    "service": "service",
    "feedback": "feedback",
    "transparency": "transparency",
    "help": "help",
    "settings": "settings",
    "lotsen_pin": "lotsen",
    "lotsen": "lotsen",
    "nocontent": "nocontent",
    "claim": "claim",
}


def page_class(name: str) -> type[Page]:
    module = importlib.import_module(f"{__name__}.{PAGES[name]}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Page) and value.name == name:
            return value
    raise KeyError(name)
