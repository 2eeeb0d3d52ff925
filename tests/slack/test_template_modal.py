"""The notice editor modal: a view Slack accepts, and the readers of what it sends back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.templates import DEFAULTS, NoticeKind, example_values, notice_text
from bot.slack.template_modal import (
    CALLBACK_ID,
    MAX_TEMPLATE_LENGTH,
    errors_response,
    metadata,
    submitted_text,
    template_modal,
)

PLAIN_TEXT_LIMIT = 24  # title, submit and close of a modal


def modal(is_default: bool = True) -> dict[str, Any]:
    current = DEFAULTS[(NoticeKind.OUT_OF_HOURS, "it")]
    preview = notice_text(NoticeKind.OUT_OF_HOURS, "it", example_values("it"))
    return template_modal("out_of_hours", "it", current, preview, is_default=is_default)


def submission(value: str | None, private_metadata: str) -> dict[str, Any]:
    """The `view` of a view_submission payload, as Slack sends it (trimmed)."""
    return {
        "id": "V123",
        "callback_id": CALLBACK_ID,
        "private_metadata": private_metadata,
        "state": {"values": {"template": {"text": {"type": "plain_text_input", "value": value}}}},
    }


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_the_view_is_a_modal_slack_accepts() -> None:
    view = modal()
    assert view["type"] == "modal"
    assert view["callback_id"] == CALLBACK_ID
    for key, text in (("title", "Edit notice"), ("submit", "Save"), ("close", "Cancel")):
        assert view[key] == {"type": "plain_text", "text": text}
        assert len(view[key]["text"]) <= PLAIN_TEXT_LIMIT
    assert len(view["private_metadata"]) <= 3000
    assert len(view["blocks"]) <= 100
    # views.open takes the view JSON-encoded: it must survive the trip.
    assert json.loads(json.dumps(view)) == view


def test_the_input_block_holds_the_current_text() -> None:
    view = modal()
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert len(inputs) == 1
    block = inputs[0]
    assert block["block_id"] == "template"
    assert block["label"]["type"] == "plain_text"
    assert block["element"] == {
        "type": "plain_text_input",
        "action_id": "text",
        "multiline": True,
        "initial_value": DEFAULTS[(NoticeKind.OUT_OF_HOURS, "it")],
        "max_length": MAX_TEMPLATE_LENGTH,
    }
    assert MAX_TEMPLATE_LENGTH <= 3000  # Slack's ceiling for a plain_text_input
    hint = block["hint"]
    assert hint["type"] == "plain_text"
    for placeholder in ("{name}", "{hours}", "{next_open}", "{rules_url}", "{{"):
        assert placeholder in hint["text"]
    assert len(hint["text"]) <= 2000


def test_every_block_id_is_unique() -> None:
    ids = [b["block_id"] for b in modal()["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids))


def test_the_preview_is_quoted_literally_after_its_heading() -> None:
    view = modal()
    blocks = view["blocks"]
    heading = next(
        i for i, b in enumerate(blocks) if "Preview with example values:" in json.dumps(b)
    )
    preview = blocks[heading + 1]
    assert preview["type"] == "rich_text"
    quoted = preview["elements"][0]
    assert quoted["type"] == "rich_text_quote"
    assert quoted["elements"][0]["text"] == (
        "Ciao Giulia, grazie per averci scritto! In questo momento siamo chiusi "
        "(i nostri orari: lun-ven 9:00-18:00, sab 9:00-13:00). Ti risponderemo domani alle 9:00."
    )


def test_the_modal_says_what_it_edits_and_whether_it_is_the_default() -> None:
    assert "*Out of hours* notice · Italian" in texts(modal())
    assert "default" in texts(modal(is_default=True))
    assert "default" not in texts(modal(is_default=False))
    other = template_modal("netiquette", "en", "x", "x", is_default=False)
    assert "*Netiquette* notice · English" in texts(other)


def test_private_metadata_round_trips() -> None:
    view = modal()
    assert json.loads(view["private_metadata"]) == {"kind": "out_of_hours", "language": "it"}
    assert metadata(submission("x", view["private_metadata"])) == ("out_of_hours", "it")
    en = template_modal(NoticeKind.NETIQUETTE, "en", "x", "x", is_default=True)
    assert metadata(submission("x", en["private_metadata"])) == ("netiquette", "en")


@pytest.mark.parametrize(
    "private_metadata",
    [
        "",
        "not json",
        "[]",
        '{"kind": "out_of_hours"}',
        '{"kind": "welcome", "language": "it"}',
        '{"kind": "netiquette", "language": "de"}',
        '{"kind": ["netiquette"], "language": "it"}',
    ],
)
def test_metadata_that_is_not_ours_is_refused(private_metadata: str) -> None:
    with pytest.raises(ValueError):
        metadata(submission("x", private_metadata))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Ciao {name}!", "Ciao {name}!"),
        ("  Ciao {name}!\n\n", "Ciao {name}!"),
        ("riga uno\nriga due", "riga uno\nriga due"),
        (None, ""),
        ("", ""),
    ],
)
def test_submitted_text(value: str | None, text: str) -> None:
    assert submitted_text(submission(value, "{}")) == text


def test_errors_response_points_at_the_template_field() -> None:
    assert errors_response("unknown placeholder {foo}") == {
        "response_action": "errors",
        "errors": {"template": "unknown placeholder {foo}"},
    }
    block_ids = {b.get("block_id") for b in modal()["blocks"]}
    assert set(errors_response("x")["errors"]) <= block_ids
