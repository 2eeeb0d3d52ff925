"""What the Cloud API emulator takes as an interactive message with choices, and what it refuses.

`type: "button"` carries 1 to 3 reply buttons (`{"type": "reply", "reply": {"id", "title"}}`,
an id of up to 256 characters, a title of up to 20); `type: "list"` opens, from a button of up
to 20 characters, up to 10 sections holding up to 10 rows in all (an id of up to 200 characters,
a title of up to 24, a description of up to 72; a section's title, of up to 24, is needed once
there are several). Both have a body text of up to 1,024 characters. Meta refuses a wrong one
with 131009, "Parameter value is not valid", and says what is wrong in `error_data.details`;
where the details' exact words are not known they say as much as Meta would ("wording not
confirmed" below).
"""

from __future__ import annotations

from typing import Any

BODY_LIMIT = 1_024
MOST_BUTTONS, BUTTON_TITLE, BUTTON_ID = 3, 20, 256
LIST_BUTTON, MOST_SECTIONS, SECTION_TITLE = 20, 10, 24
MOST_ROWS, ROW_ID, ROW_TITLE, ROW_DESCRIPTION = 10, 200, 24, 72
NOT_VALID = "(#131009) Parameter value is not valid"


class Refused(ValueError):
    """An interactive message the Cloud API refuses: the error's message, code and details."""

    def __init__(self, details: str, *, message: str = NOT_VALID, code: int = 131009) -> None:
        super().__init__(details)
        self.details, self.message, self.code = details, message, code


def offered(interactive: Any) -> dict[str, Any]:
    """The choices of an interactive message the Cloud API takes: its `type` ("button" or
    "list"), `body`, the list's `button` (None for buttons) and `choices` (id, title and, for a
    row, any description), in order; Refused otherwise."""
    interactive = interactive if isinstance(interactive, dict) else {}
    kind = interactive.get("type")
    if kind not in ("button", "list"):  # the emulator offers no other kind; wording not confirmed
        raise Refused(f"interactive['type'] must be button or list, not {kind!r}")
    body = interactive.get("body")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text:
        raise Refused(
            "", message="(#100) The parameter interactive['body']['text'] is required.", code=100
        )
    if len(text) > BODY_LIMIT:  # wording not confirmed
        raise Refused(f"Body text length invalid. Min length: 1, Max length: {BODY_LIMIT}")
    action = interactive.get("action")
    action = action if isinstance(action, dict) else {}
    if kind == "button":
        return {"type": kind, "body": text, "button": None, "choices": _buttons(action)}
    button = action.get("button")
    label = f"Button text length invalid. Min length: 1, Max length: {LIST_BUTTON}"
    _check(button, LIST_BUTTON, label, label)  # wording not confirmed
    return {"type": kind, "body": text, "button": button, "choices": _rows(action)}


def _buttons(action: dict[str, Any]) -> list[dict[str, str]]:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MOST_BUTTONS:
        # wording not confirmed
        raise Refused(f"Buttons count is invalid. Min count: 1, Max count: {MOST_BUTTONS}")
    choices = []
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":  # wording not confirmed
            raise Refused("Button type is invalid: only reply buttons are supported")
        title = f"Button title length invalid. Min length: 1, Max length: {BUTTON_TITLE}"
        _check(reply.get("title"), BUTTON_TITLE, title, title)
        # wording not confirmed
        button_id = f"Button id length invalid. Min length: 1, Max length: {BUTTON_ID}"
        _check(reply.get("id"), BUTTON_ID, button_id, button_id)
        choices.append({"id": reply["id"], "title": reply["title"]})
    if len({c["id"] for c in choices}) < len(choices):  # wording not confirmed
        raise Refused("Button ids must be unique")
    return choices


def _rows(action: dict[str, Any]) -> list[dict[str, str]]:
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MOST_SECTIONS:
        # wording not confirmed
        raise Refused(f"Sections count is invalid. Min count: 1, Max count: {MOST_SECTIONS}")
    sections = [s if isinstance(s, dict) else {} for s in sections]
    rows = [row for s in sections if isinstance(s.get("rows"), list) for row in s["rows"]]
    if len(rows) > MOST_ROWS:
        raise Refused(f"Total row count exceed max allowed count: {MOST_ROWS}")
    for section in sections:  # the words below are not confirmed
        title = section.get("title")
        too_long = f"Section title is too long. Max length is {SECTION_TITLE}"
        missing = "Section title is required when there are several sections"
        _check(title, SECTION_TITLE, missing, too_long, optional=len(sections) == 1)
        if not isinstance(section.get("rows"), list) or not section["rows"]:
            raise Refused("Section rows count is invalid. Min count: 1")
    choices = [_row(row if isinstance(row, dict) else {}) for row in rows]
    if len({c["id"] for c in choices}) < len(choices):  # wording not confirmed
        raise Refused("Row ids must be unique")
    return choices


def _row(row: dict[str, Any]) -> dict[str, str]:
    # "Row title is too long. Max length is 24" is Meta's; the other words are not confirmed.
    too_long = f"Row title is too long. Max length is {ROW_TITLE}"
    _check(row.get("title"), ROW_TITLE, "Row title is required", too_long)
    too_long = f"Row id is too long. Max length is {ROW_ID}"
    _check(row.get("id"), ROW_ID, "Row id is required", too_long)
    description = row.get("description")
    too_long = f"Row description is too long. Max length is {ROW_DESCRIPTION}"
    _check(description, ROW_DESCRIPTION, too_long, too_long, optional=True)
    chosen = {"id": row["id"], "title": row["title"]}
    return chosen | ({"description": description} if description else {})


def _check(value: Any, limit: int, missing: str, too_long: str, *, optional: bool = False) -> None:
    """Refused with `missing` where `value` is no text, `too_long` where it is longer than
    `limit`; an `optional` value may be absent."""
    if value in (None, "") and optional:
        return
    if not isinstance(value, str) or not value:
        raise Refused(missing)
    if len(value) > limit:
        raise Refused(too_long)
