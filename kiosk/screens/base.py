"""The base of every kiosk screen: a page builds its widgets from the current :class:`Ui`.

Pages are rebuilt from scratch whenever the language, the text size or the contrast changes and
whenever they are shown, so a page keeps no state of its own beyond its ``params``. ``spoken`` is
what "Vorlesen" reads (set by :meth:`Page.build`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kivy.uix.widget import Widget

from .widgets import Ui


class Page:
    #: the value of its :class:`kiosk.controller.Page` (which says whether it has the header bar
    #: and whether "Zurück" comes back to it)
    name: ClassVar[str] = ""

    def __init__(self, ui: Ui, **params: Any) -> None:
        self.ui = ui
        self.params = params
        self.spoken = ""

    def build(self) -> Widget:
        raise NotImplementedError

    def update(self) -> None:
        """Called twice a second while shown (countdowns, rotating texts)."""
