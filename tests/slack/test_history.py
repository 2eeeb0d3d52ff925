"""The customer-history line on cards and the `/care customer @handle` answer."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.history import (
    OPEN_CRM,
    PastConversation,
    customer_report,
    history_line,
    relative_time,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
LINK = "https://acme.slack.com/archives/C1/p1"
RESOLVED = PastConversation(
    opened_at=NOW - timedelta(days=2, hours=1, minutes=5),
    status="resolved",
    resolved_at=NOW - timedelta(days=2),
    resolved_by="U123",
    assignee="U123",
    permalink=LINK,
    first_response=timedelta(minutes=12),
    network_label="X",
    visibility="public",
    summary="Il mio ordine non è arrivato",
)


@pytest.mark.parametrize(
    ("then", "text"),
    [
        (NOW + timedelta(minutes=3), "just now"),  # clock skew
        (NOW, "just now"),
        (NOW - timedelta(seconds=59), "just now"),
        (NOW - timedelta(minutes=1), "1 min ago"),
        (NOW - timedelta(minutes=5, seconds=40), "5 min ago"),
        (NOW - timedelta(minutes=59), "59 min ago"),
        (NOW - timedelta(hours=3), "3 h ago"),
        (NOW - timedelta(hours=23, minutes=59), "23 h ago"),
        (NOW - timedelta(hours=24), "yesterday"),
        (NOW - timedelta(hours=47), "yesterday"),
        (NOW - timedelta(days=2), "2 days ago"),
        (NOW - timedelta(days=6), "6 days ago"),
        (NOW - timedelta(days=7), "1 week ago"),
        (NOW - timedelta(days=21), "3 weeks ago"),
        (NOW - timedelta(days=29), "4 weeks ago"),
        (datetime(2026, 3, 12, 9, tzinfo=UTC), "on 12 Mar"),
        (datetime(2025, 12, 1, 9, tzinfo=UTC), "on 1 Dec 2025"),
    ],
)
def test_relative_time(then: datetime, text: str) -> None:
    assert relative_time(then, NOW) == text


@pytest.mark.parametrize(
    ("contacts", "last", "line"),
    [
        (1, None, None),
        (0, None, None),
        (1, RESOLVED, None),
        (2, None, "2nd contact in 30 days"),
        (3, RESOLVED, f"3rd contact in 30 days · <{LINK}|last>: resolved by <@U123> 2 days ago"),
        (
            3,
            replace(RESOLVED, permalink=None, resolved_by=None),
            "3rd contact in 30 days · last: resolved 2 days ago",
        ),
        (
            2,
            replace(RESOLVED, status="waiting_on_customer", resolved_at=None, resolved_by=None),
            f"2nd contact in 30 days · <{LINK}|last>: answered by <@U123>, opened 2 days ago",
        ),
        (
            2,
            replace(
                RESOLVED,
                status="open",
                resolved_at=None,
                resolved_by=None,
                assignee=None,
                opened_at=NOW - timedelta(hours=3),
            ),
            f"2nd contact in 30 days · <{LINK}|last>: still open, unclaimed, opened 3 h ago",
        ),
    ],
)
def test_history_line(contacts: int, last: PastConversation | None, line: str | None) -> None:
    assert history_line(contacts, last, NOW) == line


def texts(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_customer_report_lists_newest_first_with_outcomes() -> None:
    older = replace(
        RESOLVED,
        opened_at=NOW - timedelta(days=40),
        resolved_at=NOW - timedelta(days=39),
        visibility="private",
        first_response=None,
        permalink=None,
        summary="Prima volta",
    )
    waiting = replace(
        RESOLVED,
        opened_at=NOW - timedelta(hours=3),
        status="waiting_on_customer",
        resolved_at=None,
        resolved_by=None,
        assignee="U9",
        summary="Ancora io",
    )
    fallback, blocks = customer_report(
        "@anna", "Anna Rossi", [older, RESOLVED, waiting], NOW, crm_url=None
    )
    assert fallback == "Anna Rossi (@anna): 3 conversations"
    lines = [b["text"]["text"] for b in blocks]
    assert lines[0] == (
        "*Anna Rossi* (@anna)\n3 conversations · 2 in the last 30 days · 1 not resolved"
    )
    assert lines[1] == (
        f"*3 h ago* · X public · answered by <@U9> · first response 12 min · <{LINK}|thread>"
        "\n> Ancora io"
    )
    assert lines[2] == (
        "*2 days ago* · X public · resolved by <@U123> after 1 h 05 min"
        f" · first response 12 min · <{LINK}|thread>\n> Il mio ordine non è arrivato"
    )
    assert lines[3] == (
        "*on 14 Oct* · X DM · resolved by <@U123> after 1 d 00 h · no reply\n> Prima volta"
    )
    assert all(b["type"] != "actions" for b in blocks)


def test_customer_report_escapes_what_the_customer_wrote() -> None:
    nasty = replace(RESOLVED, summary="<!channel> hello <@U1> & <https://evil|click>\nline two")
    fallback, blocks = customer_report("<!here>", "<!everyone>", [nasty], NOW, crm_url=None)
    rendered = texts(blocks) + fallback
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U1>", "<https://evil"):
        assert raw not in rendered
    # The scheme's // gets a zero-width space too: Slack links no URL a customer wrote.
    assert "&lt;!channel&gt; hello &lt;@U1&gt; &amp; &lt;https:\u200b//evil|click&gt; line two" in (
        rendered
    )


def test_customer_report_truncates_long_messages_to_one_line() -> None:
    long = replace(RESOLVED, summary="parola " * 200)
    _, blocks = customer_report("anna", "Anna", [long], NOW, crm_url=None)
    quoted = blocks[1]["text"]["text"].split("\n> ")[1]
    assert len(quoted) <= 120
    assert quoted.endswith("…")


def test_customer_report_crm_button() -> None:
    url = "https://crm.example.com/customers?handle=anna"
    _, blocks = customer_report("anna", "Anna", [RESOLVED], NOW, crm_url=url)
    assert blocks[-1]["type"] == "actions"
    (crm,) = blocks[-1]["elements"]
    assert crm["url"] == url
    assert crm["action_id"] == OPEN_CRM
    assert crm["text"]["text"] == "Open in CRM"
    _, without = customer_report("anna", "Anna", [RESOLVED], NOW, crm_url="")
    assert all(b["type"] != "actions" for b in without)


def test_customer_report_shows_at_most_fifteen() -> None:
    many = [replace(RESOLVED, opened_at=NOW - timedelta(days=i)) for i in range(40)]
    _, blocks = customer_report("anna", "Anna", many, NOW, crm_url="https://crm")
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 1 + 15
    assert sections[1]["text"]["text"].startswith("*just now*")
    assert blocks[-2]["elements"][0]["text"] == "Showing the 15 most recent of 40."
    assert len(blocks) <= 50  # a message's limit


def test_customer_report_for_a_stranger() -> None:
    fallback, blocks = customer_report("nobody", "", [], NOW, crm_url=None)
    assert fallback == "nobody (@nobody): 0 conversations"
    assert blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "@nobody\nNo conversations with this customer yet.",
                "verbatim": True,
            },
        }
    ]


def test_an_open_conversation_without_a_reply() -> None:
    open_ = replace(
        RESOLVED, status="open", resolved_at=None, resolved_by=None, first_response=None
    )
    _, blocks = customer_report("anna", "Anna", [open_], NOW, crm_url=None)
    assert "still open, claimed by <@U123> · not answered yet" in blocks[1]["text"]["text"]
