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
    name: ClassVar[str] = ""
    #: with the header bar (Zurück, Start, languages, Vorlesen, Einstellungen)
    chrome: ClassVar[bool] = True
    #: a visit may come back here with "Zurück"
    in_history: ClassVar[bool] = True

    def __init__(self, ui: Ui, **params: Any) -> None:
        self.ui = ui
        self.params = params
        self.spoken = ""

    def build(self) -> Widget:
        raise NotImplementedError

    def update(self) -> None:
        """Called twice a second while shown (countdowns, rotating texts)."""
