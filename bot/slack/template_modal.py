"""The modal where a team edits an automatic notice: pure builders and payload readers.

`/care template out_of_hours it` opens `template_modal(...)` with views.open (the handler
JSON-encodes the view); on submit the handler reads `submitted_text` and `metadata`, validates
with `bot.domain.templates.validate_template`, and answers `errors_response(...)` to show what is
wrong under the field, or saves.

Slack's limits, from the view and Block Kit references: title, submit and close are plain_text
of at most 24 characters; private_metadata at most 3000 characters; a plain_text_input allows
max_length up to 3000. The preview goes into a `rich_text` quote, which Slack shows literally,
so a template's `<`, `*` or `@` cannot format or ping anyone in the preview either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.templates import LANGUAGES, PLACEHOLDERS, NoticeKind
from bot.i18n import N_, _
from bot.slack.blocks import context, quote, section

CALLBACK_ID = "template_edit"
BLOCK_ID = "template"
ACTION_ID = "text"
MAX_TEMPLATE_LENGTH = 1000  # far above any notice that fits X, low enough to stay a notice
TITLE = N_("Edit notice")

_KIND_LABELS: dict[str, str] = {
    NoticeKind.OUT_OF_HOURS: N_("Out of hours"),
    NoticeKind.NETIQUETTE: N_("Netiquette"),
    NoticeKind.CSAT: N_("Satisfaction survey"),
}
_LANGUAGE_LABELS = {"it": N_("Italian"), "en": N_("English")}
_PLACEHOLDER_HINTS = {
    "name": N_("the customer's name"),
    "hours": N_("your business hours"),
    "next_open": N_("when an agent will answer"),
    "rules_url": N_("the link to your community rules"),
}


def placeholders_hint() -> str:
    """ "Placeholders: {name} the customer's name, …. Write {{ and }} for literal braces." """
    listed = ", ".join("{" + p + "} " + _(_PLACEHOLDER_HINTS[p]) for p in PLACEHOLDERS)
    return _("Placeholders: {placeholders}. Write {open} and {close} for literal braces.").format(
        placeholders=listed, open="{{", close="}}"
    )


def hint(limits: Sequence[tuple[str, int, int | None]] = ()) -> str:
    """The field's hint, with the room a public notice has on each network: (label, room, the
    network's own limit)."""
    rooms = []
    for label, room, limit in limits:
        text = _("{room} characters on {network}").format(room=room, network=label)
        if limit and limit != room:
            text += " " + _("({limit}, less the customer's @handle)").format(limit=limit)
        rooms.append(text)
    if not rooms:
        return placeholders_hint()
    fit = _("Once filled in, a public notice must fit in {rooms}.").format(rooms=", ".join(rooms))
    return f"{placeholders_hint()} {fit}"


def template_modal(
    kind: str,
    language: str,
    current: str,
    preview: str,
    *,
    is_default: bool,
    limits: Sequence[tuple[str, int, int | None]] = (),
) -> dict[str, Any]:
    """The views.open view editing the `kind` notice in `language`.

    `current` is the text in the field (the stored template or the default), `preview` that
    text rendered with example values, and `is_default` says the team has not changed it yet.
    """
    what = _("*{kind}* notice · {language}").format(
        kind=_(_KIND_LABELS.get(kind, kind)), language=_(_LANGUAGE_LABELS.get(language, language))
    )
    blocks: list[dict[str, Any]] = [section(what)]
    if is_default:
        blocks.append(
            context(_("This is the built-in default text. Save to use your own version instead."))
        )
    blocks += [
        {
            "type": "input",
            "block_id": BLOCK_ID,
            "label": _plain(_("Notice text")),
            "element": {
                "type": "plain_text_input",
                "action_id": ACTION_ID,
                "multiline": True,
                "initial_value": current,
                "max_length": MAX_TEMPLATE_LENGTH,
            },
            "hint": _plain(hint(limits)),
        },
        section(_("*Preview with example values:*")),
        quote(preview),
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain(_(TITLE)),
        "submit": _plain(_("Save")),
        "close": _plain(_("Cancel")),
        "private_metadata": json.dumps({"kind": kind, "language": language}),
        "blocks": blocks,
    }


def submitted_text(view: dict[str, Any]) -> str:
    """The template typed in a view_submission's view, without surrounding whitespace.

    Slack sends `null` for an input left empty; that reads as "" so validation can say so.
    """
    value = view["state"]["values"][BLOCK_ID][ACTION_ID].get("value")
    return (value or "").strip()


def metadata(view: dict[str, Any]) -> tuple[str, str]:
    """The notice kind and language the modal was opened for; ValueError if they are not ours."""
    try:
        data = json.loads(view.get("private_metadata") or "")
        kind, language = data["kind"], data["language"]
    except (ValueError, TypeError, KeyError):
        raise ValueError(
            f"not a template modal's metadata: {view.get('private_metadata')!r}"
        ) from None
    known = isinstance(kind, str) and isinstance(language, str)
    if not known or kind not in {k.value for k in NoticeKind} or language not in LANGUAGES:
        raise ValueError(f"unknown notice {kind!r} in {language!r}")
    return kind, language


def errors_response(message: str) -> dict[str, Any]:
    """The view_submission answer that shows `message` under the template field."""
    return {"response_action": "errors", "errors": {BLOCK_ID: message}}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}
