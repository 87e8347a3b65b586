"""The search for the record behind repeated server errors (edge_agent.syncsplit), against a fake
server that fails on every batch holding a poisoned record: the cursor passes records in order and
only once they are acknowledged or set aside, and nothing is set aside unless another record went
through right after (a server failing as a whole loses nothing)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.outbox import Pending
from edge_agent.syncsplit import MAX_BLOCKED, Answer, Isolation, StillFailing, isolate


def pending(first: int, n: int) -> list[Pending]:
    return [Pending(i, "uplink", f"r{i}", "{}") for i in range(first, first + n)]


def run(n: int, behind: int, bad: set[int]) -> tuple[list[tuple[str, list[int]]], bool, int]:
    """isolate() over ``n`` records (``behind`` more pending after them); the log of cursor moves
    (``ack`` and ``aside``), whether it finished, and how many posts it made."""
    batch, later = pending(0, n), pending(n, behind)
    moves: list[tuple[str, list[int]]] = []
    posts = 0

    def post(records: list[Pending]) -> Answer:
        nonlocal posts
        posts += 1
        if any(p.event_id in bad for p in records):
            return Answer(500, 0, "boom")
        return Answer(200, len(records))

    io = Isolation(
        post=post,
        acked=lambda rs: moves.append(("ack", [p.event_id for p in rs])),
        set_aside=lambda p, reason: moves.append(("aside", [p.event_id])),
        one_by_one=lambda rs: 0,
        more=lambda after: later if after == n - 1 else [],
        pause=lambda seconds: False,
    )
    try:
        isolate(batch, io)
    except StillFailing:
        return moves, False, posts
    return moves, True, posts


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 40), st.integers(0, 12), st.sets(st.integers(0, 51), max_size=10))
def test_the_cursor_passes_only_what_was_taken_or_set_aside_in_order(
    n: int, behind: int, bad: set[int]
) -> None:
    moves, finished, _ = run(n, behind, bad)
    passed = [i for _, ids in moves for i in ids]
    assert passed == list(range(len(passed)))  # a prefix, in order: nothing skipped, nothing twice
    acked = {i for op, ids in moves if op == "ack" for i in ids}
    aside = [i for op, ids in moves if op == "aside" for i in ids]
    assert not acked & bad and set(aside) <= bad
    for k, (op, _) in enumerate(moves):  # each run of set-asides is followed by an acknowledgement
        if op == "aside":
            assert any(later == "ack" for later, _ in moves[k + 1 :]), moves
            assert next(later for later, _ in moves[k + 1 :] if later != "aside") == "ack", moves
    if finished:
        assert len(passed) >= n
    else:  # it stops in front of a record that fails alone, never a good one
        assert len(passed) in bad


def test_a_poisoned_record_among_good_ones_is_the_only_one_set_aside() -> None:
    moves, finished, posts = run(40, 0, {17})
    assert finished and [ids for op, ids in moves if op == "aside"] == [[17]]
    assert posts < 20  # halving, not one record at a time


def test_a_server_failing_on_everything_sets_nothing_aside() -> None:
    moves, finished, posts = run(40, 10, set(range(50)))
    assert not finished and moves == []
    assert posts <= 3 * (MAX_BLOCKED + 1) + 8  # it gives up after a few records fail alone


def test_several_poisoned_records_in_a_row_are_set_aside_once_one_goes_through() -> None:
    moves, finished, _ = run(10, 0, {3, 4, 5})
    assert finished and [i for op, ids in moves if op == "aside" for i in ids] == [3, 4, 5]
    moves, finished, _ = run(10, 0, set(range(3, 3 + MAX_BLOCKED + 1)))
    # too many in a row with none going through: taken for the server's fault, nothing set aside
    assert not finished and [(op, i) for op, ids in moves for i in ids] == [
        ("ack", 0),
        ("ack", 1),
        ("ack", 2),
    ]
