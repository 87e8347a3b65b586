"""Store each ``(box_id, seq)`` once although a box resends, and the 16-bit counter wraps.

Per box we keep ``last`` (the newest sequence number accepted) and the set of sequence numbers
accepted within ``window`` behind it. On the 16-bit circle a number 1-32767 ahead of ``last`` is
new; one at or behind ``last`` is a duplicate if it is in the set, new if it is not (a press
that arrived out of order) and, when it lies farther behind than the window, the box has lost
its counter (new flash, new box with an old id): we start over from it.

``hello`` is how a box says where its counter stands after it starts. Every number ahead of
it is forgotten (the box will use them again), everything at or behind it is kept, so that a
press the box still resends is recognised as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from a2d.buttons import SEQ_MODULO

HALF = SEQ_MODULO // 2


@dataclass
class Change:
    """What to write to the database so that a restart sees the same window."""

    last: int | None = None
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


@dataclass
class BoxWindow:
    window: int
    last: int | None = None
    seen: set[int] = field(default_factory=set)

    def _behind(self, seq: int) -> int:
        """How far ``seq`` lies at or behind ``last`` (0 = equal); ``-1`` when it is ahead."""
        assert self.last is not None
        ahead = (seq - self.last) % SEQ_MODULO
        if 0 < ahead < HALF:
            return -1
        return (self.last - seq) % SEQ_MODULO

    def is_duplicate(self, seq: int) -> bool:
        return self.last is not None and self._behind(seq) >= 0 and seq in self.seen

    def accept(self, seq: int) -> Change | None:
        """Record ``seq``; ``None`` if it is a duplicate, else the change to persist."""
        if self.is_duplicate(seq):
            return None
        change = Change()
        if self.last is None:
            self._move(seq, change)
        else:
            behind = self._behind(seq)
            if behind < 0:
                self._move(seq, change)
            elif behind > self.window:
                self._restart(seq, change)
        self.seen.add(seq)
        change.added.append(seq)
        return change

    def hello(self, seq: int) -> Change:
        """The box's counter stands at ``seq``: forget what lies ahead of it."""
        change = Change(last=seq)
        if self.last is None:
            self.last = seq
            return change
        if self._behind(seq) < 0 or (self.last - seq) % SEQ_MODULO > self.window:
            # ahead of everything we know, or far behind: the old numbers mean nothing any more
            if self._behind(seq) >= 0:
                change.removed = sorted(self.seen)
                self.seen.clear()
            self.last = seq
            self._prune(change)
            return change
        ahead = [s for s in self.seen if 0 < (s - seq) % SEQ_MODULO < HALF]
        for s in ahead:
            self.seen.discard(s)
        change.removed = sorted(ahead)
        self.last = seq
        return change

    def _move(self, seq: int, change: Change) -> None:
        self.last = seq
        change.last = seq
        self._prune(change)

    def _restart(self, seq: int, change: Change) -> None:
        change.removed = sorted(self.seen)
        self.seen.clear()
        self.last = change.last = seq

    def _prune(self, change: Change) -> None:
        assert self.last is not None
        last, window = self.last, self.window
        old = [s for s in self.seen if (last - s) % SEQ_MODULO > window]
        for s in old:
            self.seen.discard(s)
        change.removed.extend(old)
