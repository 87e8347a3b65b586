"""One citizen's visit at the kiosk and the idle clock that ends it (pure Python, no Kivy).

Phases::

    attract --touch--> active --idle_s without a touch--> prompt --prompt_s--> wiped --wiped_s--> attract
                         ^                                  |
                         +------------ touch ---------------+

``prompt`` is "Brauchen Sie mehr Zeit?": one touch continues the visit (WCAG 2.2.1 asks for at
least 20 s, so ``prompt_s`` below 20 is refused). The wipe forgets everything the citizen set or
did: language back to the default, text size, contrast, speech, votes and the help request.
The owner calls :meth:`Session.tick` regularly (the app: twice a second) and reacts to the
returned phase change; the clock is injected so tests step through time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

MIN_PROMPT_S = 20.0


class Phase(StrEnum):
    ATTRACT = "attract"
    ACTIVE = "active"
    PROMPT = "prompt"
    WIPED = "wiped"


@dataclass
class Visit:
    """What one citizen chose or did; a new, empty one after every wipe."""

    lang: str
    large_text: bool = False
    high_contrast: bool = False
    read_aloud: bool = False  #: read each screen aloud as it opens
    votes: dict[str, str] = field(default_factory=dict)  #: poll id → choice id
    help_id: str | None = None
    screen: str = "attract"


class Session:
    """The current visit plus the idle state machine."""

    def __init__(
        self,
        default_language: str = "de",
        *,
        idle_s: float = 90.0,
        prompt_s: float = 30.0,
        wiped_s: float = 6.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if prompt_s < MIN_PROMPT_S:
            raise ValueError(f"prompt_s must be at least {MIN_PROMPT_S:g} s (WCAG 2.2.1), not {prompt_s:g}")
        if idle_s <= 0 or wiped_s <= 0:
            raise ValueError("idle_s and wiped_s must be positive")
        self.default_language = default_language
        self.idle_s = idle_s
        self.prompt_s = prompt_s
        self.wiped_s = wiped_s
        self._clock = clock
        self.phase = Phase.ATTRACT
        self.visit = Visit(lang=default_language)
        self.wipes = 0  #: how many visits were wiped (for tests and the Lotsen screen)
        self._last_touch = clock()
        self._phase_since = self._last_touch

    # --- input -----------------------------------------------------------------------------------

    def touch(self) -> Phase | None:
        """Any touch on the screen. Starts a visit, continues after the prompt; returns a new phase."""
        now = self._clock()
        self._last_touch = now
        if self.phase in (Phase.ATTRACT, Phase.PROMPT, Phase.WIPED):
            return self._enter(Phase.ACTIVE, now)
        return None

    def tick(self) -> Phase | None:
        """Advance by the clock; returns the new phase when it changed (at most one step per call)."""
        now = self._clock()
        if self.phase is Phase.ACTIVE and now - self._last_touch >= self.idle_s:
            return self._enter(Phase.PROMPT, now)
        if self.phase is Phase.PROMPT and now - self._phase_since >= self.prompt_s:
            self.wipe()
            return Phase.WIPED
        if self.phase is Phase.WIPED and now - self._phase_since >= self.wiped_s:
            return self._enter(Phase.ATTRACT, now)
        return None

    def prompt_now(self) -> None:
        """Ask "Brauchen Sie mehr Zeit?" now, as if the idle time had run out (selftest, Lotsen)."""
        if self.phase is Phase.ACTIVE:
            self._enter(Phase.PROMPT, self._clock())

    def wipe(self) -> None:
        """Forget the visit now (idle timeout, or a Lotse resets it) and show the wiped notice."""
        self.visit = Visit(lang=self.default_language)
        self.wipes += 1
        self._enter(Phase.WIPED, self._clock())

    # --- reading ---------------------------------------------------------------------------------

    def prompt_left(self) -> float:
        """Seconds until the wipe while the prompt shows (0 otherwise)."""
        if self.phase is not Phase.PROMPT:
            return 0.0
        return max(0.0, self.prompt_s - (self._clock() - self._phase_since))

    def idle_for(self) -> float:
        return self._clock() - self._last_touch

    # --- the visit -------------------------------------------------------------------------------

    @property
    def lang(self) -> str:
        return self.visit.lang

    def has_voted(self, poll_id: str) -> bool:
        return poll_id in self.visit.votes

    def record_vote(self, poll_id: str, choice: str) -> bool:
        """Remember a vote; False when this visit already voted in the poll (one vote per visit)."""
        if poll_id in self.visit.votes:
            return False
        self.visit.votes[poll_id] = choice
        return True

    def _enter(self, phase: Phase, now: float) -> Phase:
        self.phase = phase
        self._phase_since = now
        return phase
