"""App Home: ordering, lines, empty states and Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.reports.render import human_duration
from bot.slack.home import HomeItem, home_view, order

NOW = datetime(2026, 11, 23, 14, 32, tzinfo=UTC)
ITEM = HomeItem(
    conversation_id=1,
    priority="normal",
    customer_name="Anna Rossi",
    customer_handle="anna",
    network_label="X",
    text="Il mio ordine non è arrivato",
    permalink="https://acme.slack.com/archives/C1/p1",
    due_at=NOW + timedelta(minutes=12),
)


def item(conversation_id: int, priority: str, due_in: int | None, **changes: object) -> HomeItem:
    due = None if due_in is None else NOW + timedelta(minutes=due_in)
    return replace(ITEM, conversation_id=conversation_id, priority=priority, due_at=due, **changes)


def section_texts(view: dict[str, object]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]  # type: ignore[attr-defined, index]


def test_order_is_priority_then_deadline_none_last() -> None:
    items = [
        item(1, "low", 5),
        item(2, "normal", None),
        item(3, "normal", 30),
        item(4, "urgent", 60),
        item(5, "normal", -10),
        item(6, "high", None),
        item(7, "urgent", 10),
        item(8, "normal", None),
        item(9, "mystery", 1),  # unknown priorities sort as normal
    ]
    assert [i.conversation_id for i in order(items)] == [7, 4, 6, 5, 9, 3, 2, 8, 1]


def test_order_compares_deadlines_across_time_zones() -> None:
    rome = timezone(timedelta(hours=1))
    early_in_rome = replace(ITEM, conversation_id=1, due_at=datetime(2026, 11, 23, 15, tzinfo=rome))
    later_in_utc = replace(
        ITEM, conversation_id=2, due_at=datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    )
    assert [i.conversation_id for i in order([later_in_utc, early_in_rome])] == [1, 2]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "due in 12 min"),
        ({"due_at": NOW + timedelta(hours=1, minutes=5)}, "due in 1 h 05 min"),
        ({"due_at": NOW + timedelta(seconds=20)}, "*due now*"),
        ({"due_at": NOW - timedelta(seconds=20)}, "*due now*"),
        ({"due_at": NOW - timedelta(minutes=5)}, "*overdue 5 min*"),
        ({"due_at": None}, "no deadline"),
        ({"due_at": None, "on_hold": True}, ":shield: on hold"),
    ],
)
def test_time_left(changes: dict[str, object], expected: str) -> None:
    view = home_view([replace(ITEM, **changes)], [], NOW, user="U1")
    assert f" · X · {expected} · " in section_texts(view)[0]


def test_a_line_has_priority_customer_network_deadline_link_and_text() -> None:
    urgent = replace(ITEM, priority="urgent", text="Help!\n\nSecond   line")
    view = home_view([urgent], [], NOW, user="U1")
    assert section_texts(view)[0] == (
        ":red_circle: *Anna Rossi* (@anna) · X · due in 12 min"
        " · <https://acme.slack.com/archives/C1/p1|open thread>\n> Help! Second line"
    )


@pytest.mark.parametrize(
    ("priority", "emoji"),
    [
        ("urgent", ":red_circle:"),
        ("high", ":large_orange_circle:"),
        ("normal", ":large_yellow_circle:"),
        ("low", ":white_circle:"),
    ],
)
def test_priority_emoji(priority: str, emoji: str) -> None:
    view = home_view([], [replace(ITEM, priority=priority)], NOW, user="U1")
    assert section_texts(view)[1].startswith(emoji + " ")


def test_layout_and_ordering_in_the_view() -> None:
    mine = [item(1, "normal", 30), item(2, "urgent", 50)]
    queue = [item(3, "low", 1), item(4, "high", 90), item(5, "high", 20)]
    blocks = home_view(mine, queue, NOW, user="U1")["blocks"]
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "divider",
        "header",
        "section",
        "section",
        "section",
        "context",
    ]
    assert blocks[0]["text"]["text"] == "Your conversations (2)"
    assert blocks[4]["text"]["text"] == "Team queue (3)"
    due = [b["text"]["text"].split(" · ")[2] for b in blocks if b["type"] == "section"]
    assert due == [
        "due in 50 min",
        "due in 30 min",
        "due in 20 min",
        "due in 1 h 30 min",
        "due in 1 min",
    ]
    updated = blocks[-1]["elements"][0]["text"]
    assert updated == (
        f"Most urgent first · <!date^{int(NOW.timestamp())}^updated {{time}}|updated 14:32 UTC>"
    )


def test_empty_states() -> None:
    view = home_view([], [], NOW, user="U1")
    assert view["type"] == "home"
    assert [b["type"] for b in view["blocks"]] == [
        "header",
        "section",
        "divider",
        "header",
        "section",
        "context",
    ]
    assert view["blocks"][0]["text"]["text"] == "Your conversations (0)"
    assert section_texts(view) == [
        "Nothing assigned to <@U1> right now. Claim one from the team queue below.",
        "The queue is empty. :tada:",
    ]


def test_customer_text_is_escaped() -> None:
    nasty = replace(
        ITEM, customer_name="<!channel>", customer_handle="<@U2>", text="<!here> & <https://x|y>"
    )
    rendered = json.dumps(home_view([nasty], [nasty], NOW, user="U1"))
    for raw in ("<!channel>", "<@U2>", "<!here>", "<https://x"):
        assert raw not in rendered
    assert "&lt;!here&gt; &amp; &lt;https:\\u200b//x|y&gt;" in rendered  # JSON-encoded


def test_no_thread_link_without_a_permalink() -> None:
    view = home_view([replace(ITEM, permalink=None)], [], NOW, user="U1")
    assert "open thread" not in section_texts(view)[0]


@pytest.mark.parametrize(
    ("mine", "queue", "shown_mine", "shown_queue"),
    [
        (200, 200, 47, 47),
        (3, 200, 3, 91),
        (200, 0, 94, 0),
        (0, 200, 0, 94),
        (60, 40, 54, 40),
        (47, 47, 47, 47),
    ],
)
def test_block_limits(mine: int, queue: int, shown_mine: int, shown_queue: int) -> None:
    long_text = "parola " * 1000
    many_mine = [item(i, "urgent", i, text=long_text) for i in range(mine)]
    many_queue = [item(1000 + i, "normal", i, text=long_text) for i in range(queue)]
    view = home_view(many_mine, many_queue, NOW, user="U1")
    blocks = view["blocks"]
    assert len(blocks) <= 100
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    divider = next(i for i, b in enumerate(blocks) if b["type"] == "divider")
    parts = (blocks[:divider], blocks[divider:])
    lines = [[b["text"]["text"] for b in p if "open thread" in str(b)] for p in parts]
    assert [len(lines[0]), len(lines[1])] == [shown_mine, shown_queue]
    # The earliest deadlines are the ones shown: item i is due in i minutes.
    for shown in lines:
        if len(shown) > 1:
            last_due = human_duration(timedelta(minutes=len(shown) - 1))
            assert f" · due in {last_due} · " in shown[-1]
    notes = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"][:-1]
    expected = [
        f"… and {total - shown} more, not shown here."
        for total, shown in ((mine, shown_mine), (queue, shown_queue))
        if total > shown
    ]
    assert notes == expected
