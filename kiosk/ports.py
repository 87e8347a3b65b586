"""The seams the kiosk's controller is given: an agent client, a runner for slow calls, a display.

:class:`kiosk.controller.Controller` imports no Kivy and no HTTP; whoever builds it passes these in:

- :class:`Agent`: what the controller asks of the edge agent. :class:`kiosk.client.AgentClient`
  (HTTP, outbox) is the real one, :class:`kiosk.fakeagent.FakeAgent` (in memory) the fake.
- :class:`Runner`: where calls that may wait on the network run, and how their results come back
  to the controller's thread. The app uses a worker thread and Kivy's clock; :class:`Inline`
  runs everything at once on the caller's thread (tests, a Python shell).
- :class:`Display`: what turns the controller's state into pixels. The app's is Kivy
  (:class:`kiosk.app.KivyDisplay`); tests record what it was asked to show.
- :class:`Voice`: read-aloud, :class:`kiosk.speech.Speaker` (espeak-ng).
- :class:`Backlight`: the screen on, dimmed or blank at night (:mod:`kiosk.backlight`: sysfs,
  ``wlr-randr``, ``xset``, and :class:`kiosk.backlight.FakeBacklight`, which records what it was asked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from a2d.contentpack import ContentPack, TransparencyRecord
    from a2d.livewire import LiveQuestion
    from a2d.localapi import DisplayReport, Status, UsageReport
    from sitehours.screen import ScreenState

    from .controller import Page

T = TypeVar("T")


class Agent(Protocol):
    """The edge agent as the kiosk sees it. ``vote`` and ``help`` return at once (they only keep the
    item for delivery); the queries may wait on the network and belong in a :class:`Runner`."""

    #: called with a new content pack, on whatever thread the client noticed it
    on_content: Callable[[ContentPack], None] | None

    @property
    def online(self) -> bool: ...

    @property
    def paired(self) -> bool | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def content(self) -> ContentPack | None:
        """The newest pack known, without waiting on the network; None: none yet ("no content yet")."""
        ...

    def transparency(self) -> list[TransparencyRecord]: ...

    def forecast(self) -> dict[str, Any] | None: ...

    def vote(self, poll_id: str, choice: str, lang: str) -> str: ...

    def help(self, topic: str = "") -> str: ...

    def pending(self) -> int: ...

    def flush(self, timeout: float) -> bool: ...

    def results(self, poll_id: str) -> dict[str, int] | None: ...

    def status(self) -> Status | None: ...

    def live(self) -> list[LiveQuestion]:
        """The live questions open now, as last heard from the agent (in memory: never waits on the
        network; the client asks the agent every few seconds in the background)."""
        ...

    def help_requests(self, state: str = "open") -> list[dict[str, Any]]: ...

    def close_help(self, help_id: str) -> bool: ...

    def usage(self, report: UsageReport) -> None:
        """Hand over one day's anonymous usage counters (:mod:`kiosk.usage`); kept durably, returns at once."""
        ...

    def display(self, report: DisplayReport) -> None:
        """Hand over what the screen shows (:mod:`kiosk.displayproof`); returns at once, only the
        latest report waits for delivery."""
        ...


class Voice(Protocol):
    """Read-aloud: :class:`kiosk.speech.Speaker` (espeak-ng) is the real one."""

    volume: int

    @property
    def speaking(self) -> bool: ...

    def say(self, text: str, lang: str) -> Any: ...

    def stop(self) -> None: ...

    def reset(self) -> None:
        """The visit ended: stop, and the volume back to its default."""
        ...

    def close(self) -> None: ...


class Runner(Protocol):
    """Runs ``job`` away from the screen and hands its result to ``done`` on the controller's thread."""

    def submit(self, job: Callable[[], T], done: Callable[[T], None] | None = None) -> None: ...

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the controller's thread (for callbacks that arrive on other threads)."""
        ...


class Inline:
    """A :class:`Runner` without a thread: each job runs at once and ``done`` gets its result."""

    def submit(self, job: Callable[[], T], done: Callable[[T], None] | None = None) -> None:
        result = job()
        if done is not None:
            done(result)

    def call_soon(self, fn: Callable[[], None]) -> None:
        fn()


class Display(Protocol):
    """What the controller asks of the screen. It reads everything else from the controller."""

    def show(self, page: Page, params: Mapping[str, Any]) -> str:
        """Build and show ``page``; returns what "Vorlesen" reads on it."""
        ...

    def prompt(self, seconds_left: float | None) -> None:
        """Show (or update) the "Brauchen Sie mehr Zeit?" prompt; None takes it away."""
        ...

    def speaking(self, on: bool) -> None:
        """Speech started or ended: the header's button says "Stopp" or "Vorlesen"."""
        ...

    def tick(self) -> None:
        """Twice a second: the page's own countdowns and rotating texts."""
        ...


class NoDisplay:
    """A :class:`Display` that shows nothing (a controller driven from a Python shell)."""

    def show(self, page: Page, params: Mapping[str, Any]) -> str:
        return ""

    def prompt(self, seconds_left: float | None) -> None:
        pass

    def speaking(self, on: bool) -> None:
        pass

    def tick(self) -> None:
        pass


class Backlight(Protocol):
    """The display's light: ``on``, ``dim`` (low, still readable up close) or ``off`` (blank; a touch
    still reaches the kiosk). Called away from the screen's thread; a failure is logged, not raised."""

    def set(self, state: ScreenState) -> None: ...
