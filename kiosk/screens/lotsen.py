"""Lotsen mode: the PIN pad, and the staff view (open help requests, device status, and actions
for the citizen at the kiosk). Nothing a citizen entered is shown here."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from a2d.contentpack import pick

from ..i18n import LANGUAGE_NAMES
from ..views import format_date
from .base import Page
from .widgets import Box, Tap, Text, column, heading, para, rgba, scroll


class LotsenPinPage(Page):
    name = "lotsen_pin"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        bg = theme.background
        self.entry = ""
        title = ui.tr("Lotsen-Modus: PIN eingeben")
        self.spoken = title
        page = column(ui, padding=0, spacing=14)
        from kivy.core.window import Window

        page.padding = [max(dp(24), (Window.width - dp(640)) / 2), dp(20)]  # a column of 640 dp, centred
        page.add_widget(Text(ui, title, role="heading", on=bg, bold=True, halign="center"))
        self.dots = Text(ui, "\u00a0", role="heading", on=bg, bold=True, halign="center")
        self.message = Text(ui, self.params.get("message", ""), role="body", on=bg, halign="center")
        page.add_widget(self.dots)
        page.add_widget(self.message)
        pad = GridLayout(cols=3, spacing=dp(12), size_hint_y=None)
        pad.bind(minimum_height=pad.setter("height"))
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
        for key in keys:
            kind = "primary" if key == "OK" else "secondary"
            label = ui.tr("Löschen") if key == "⌫" else key
            pad.add_widget(Tap(ui, label, partial(self._key, key), kind=kind, min_dp=72, name=f"key-{key}"))
        page.add_widget(pad)
        page.add_widget(Tap(ui, ui.tr("Abbrechen"), ui.act.back, kind="secondary", name="cancel"))
        return scroll(page)

    def _key(self, key: str) -> None:
        if key == "⌫":
            self.entry = self.entry[:-1]
        elif key == "OK":
            entry, self.entry = self.entry, ""
            self.message.text = self.ui.act.lotsen_unlock(entry)
        elif len(self.entry) < 12:
            self.entry += key
        self.dots.text = "  ".join("●" * len(self.entry)) or "\u00a0"


class LotsenPage(Page):
    name = "lotsen"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        act, tr = ui.act, ui.tr
        data: dict[str, Any] = act.lotsen_data()
        bg = theme.background
        left = column(ui, heading(ui, tr("Lotsen-Modus"), bg), padding=24, spacing=14)
        status = data.get("status")
        online = (
            tr("Verbunden mit dem Gerät im Haus")
            if data.get("agent")
            else tr("Keine Verbindung zum Gerät im Haus")
        )
        lines = [online]
        if data.get("paired") is False:  # the agent answers, but not to this kiosk's token (401)
            lines.append(tr("Nicht gekoppelt: das Gerät im Haus nimmt den Schlüssel dieses Kiosks nicht an"))
        if status is not None:
            lines.append(tr("Server: erreichbar") if status.online else tr("Server: nicht erreichbar"))
            last = (
                format_date(status.last_sync, tr) + " " + status.last_sync[11:16] if status.last_sync else "—"
            )
            lines.append(tr("Letzte Übertragung: {when}").format(when=last))
            lines.append(
                tr("Warten auf Übertragung (Gerät im Haus): {n}").format(n=sum(status.pending.values()))
            )
        lines.append(tr("Warten auf Übertragung (dieser Kiosk): {n}").format(n=data.get("pending", 0)))
        minutes = math.ceil(act.lotsen_left() / 60)
        lines.append(
            tr.plural(
                "Lotsen-Modus endet von selbst in {minutes} Minute",
                "Lotsen-Modus endet von selbst in {minutes} Minuten",
                minutes,
            ).format(minutes=minutes)
        )
        card = Box(fit=True, orientation="vertical", padding=dp(20), spacing=dp(8), bg=rgba(theme.card),
                   outline=rgba(theme.border), radius=dp(12))  # fmt: skip
        for line in lines:
            card.add_widget(Text(ui, line, on=theme.card))
        left.add_widget(card)
        left.add_widget(heading(ui, tr("Sprache für die Person am Gerät"), bg, role="tile"))
        langs = GridLayout(cols=2 if ui.room > 1 else 1, spacing=dp(12), size_hint_y=None)
        langs.bind(minimum_height=langs.setter("height"))
        for code in [c for c in ("de", "fr", "en", "ls") if c != "ls" or "ls" in act.pack.languages]:
            langs.add_widget(Tap(ui, LANGUAGE_NAMES[code], partial(act.lotsen_set_language, code),
                                 kind="selected" if code == act.session.lang else "secondary", name=f"lang-{code}"))  # fmt: skip
        left.add_widget(langs)
        left.add_widget(
            Tap(ui, tr("Sitzung zurücksetzen"), act.lotsen_reset_session, kind="alert", name="reset")
        )
        left.add_widget(Tap(ui, tr("Lotsen-Modus beenden"), lambda: act.lotsen_end("lotse"), kind="primary",
                            name="end"))  # fmt: skip

        right = column(ui, heading(ui, tr("Offene Hilfe-Rufe"), bg, role="tile"), padding=24, spacing=14)
        requests = data.get("help", [])
        calls: list[str] = []  # what Vorlesen (and the selftest's report) says about them
        if not requests:
            right.add_widget(para(ui, tr("Keine offenen Hilfe-Rufe."), bg, muted=True))
            calls.append(tr("Keine offenen Hilfe-Rufe."))
        for req in requests:
            row = Box(fit=True, orientation="horizontal", padding=dp(14), spacing=dp(12), bg=rgba(theme.card),
                      outline=rgba(theme.border), radius=dp(12))  # fmt: skip
            topic = str(req.get("topic") or "")
            s = act.pack.service(topic)
            what = pick(s.title, ui.lang) if s else (topic or tr("allgemein"))
            when = str(req.get("at", ""))[11:16]
            help_id = str(req.get("id", ""))
            row.add_widget(Text(ui, f"{when}  {req.get('kiosk_id', '')}\n{what}", on=theme.card))
            calls.append(f"{when} {req.get('kiosk_id', '')}: {what}")
            row.add_widget(Tap(ui, tr("Erledigt"), partial(act.lotsen_close_help, help_id),
                               kind="primary", fit_width=True, name="close-help"))  # fmt: skip
            right.add_widget(row)
        right.add_widget(Tap(ui, tr("Aktualisieren"), act.lotsen_refresh, kind="secondary", name="refresh"))
        self.spoken = " ".join([tr("Lotsen-Modus"), *lines, tr("Offene Hilfe-Rufe") + ":", *calls])
        page = BoxLayout(spacing=dp(8))
        page.add_widget(scroll(left))
        page.add_widget(scroll(right))
        return page
