"""Same person as...: a card's picker of recent customers on any network, searchable as the
agent types (`external_select`, answered by the options handler). Labels are plain_text."""

from __future__ import annotations

import json
from typing import Any

from bot.i18n import _
from bot.slack.blocks import plain_text
from bot.slack.mrkdwn import truncate

CALLBACK_ID = "same_person"
PICK = "same_person_pick"
BLOCK_ID = "person"


def same_person_modal(conversation_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"conversation": conversation_id}),
        "title": plain_text(_("Same person as…")),
        "submit": plain_text(_("Link")),
        "close": plain_text(_("Cancel")),
        "blocks": [
            {
                "type": "section",
                "text": plain_text(
                    _(
                        "One person on several networks: link them, and the card's history, the "
                        "3rd-contact rule, VIP status and surveys see all their accounts. "
                        "/care unlink undoes it."
                    )
                ),
            },
            {
                "type": "input",
                "block_id": BLOCK_ID,
                "label": plain_text(_("Customer")),
                "element": {
                    "type": "external_select",
                    "action_id": PICK,
                    "placeholder": plain_text(_("Type a name, @handle or number")),
                    "min_query_length": 0,
                },
            },
        ],
    }


def option(customer_id: int, label: str) -> dict[str, Any]:
    return {"text": plain_text(truncate(label, 75)), "value": str(customer_id)}


def chosen(view: dict[str, Any]) -> int | None:
    picked = (((view.get("state") or {}).get("values") or {}).get(BLOCK_ID) or {}).get(PICK) or {}
    value = str((picked.get("selected_option") or {}).get("value") or "")
    return int(value) if value.isdigit() and len(value) <= 15 else None
