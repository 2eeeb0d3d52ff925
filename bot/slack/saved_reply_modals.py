"""The saved replies' modals, as pure builders and payload readers.

- `/care replies` opens `list_modal`: each reply with Edit and Remove, and Add;
- Add and Edit push `editor_modal`; its submission is read by `submitted_draft`;
- **Saved reply** on a card (or the message shortcut in a thread) opens `picker_modal`: a
  type-ahead select (`external_select`, answered by the options handler), then the chosen reply
  filled in for the customer, editable, with the room left on the network updated as the agent
  types (`dispatch_action` on each character), and **Send**.

Every text a team member or a customer wrote goes into plain_text or is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.saved_replies import NAME_LENGTH, TEXT_LENGTH, TOPIC_LENGTH, SavedReply
from bot.i18n import N_, _, ngettext
from bot.services.saved_replies import Room
from bot.slack.blocks import SAVED_REPLY, actions, button, context, section
from bot.slack.mrkdwn import escape, truncate

LIST, EDITOR, PICKER = "saved_replies", "saved_reply_editor", "saved_reply_picker"
ADD, EDIT, REMOVE = "saved_reply_add", "saved_reply_edit", "saved_reply_remove"
OPEN = SAVED_REPLY  # the card's button; value: the conversation id
SHORTCUT = "saved_reply"  # the message shortcut's callback id
PICK, TEXT = "saved_reply_pick", "saved_reply_text"
FIELDS = ("name", "topic", "text_it", "text_en", "public")


def list_modal(replies: Sequence[SavedReply]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        section(
            _(
                "Answers to the questions that keep coming, in Italian and English. "
                "*Saved reply* on a card fills one in for the customer."
            )
        ),
        actions(button(_("Add a saved reply"), ADD, "new", style="primary")),
    ]
    if not replies:
        blocks.append(context(_("None yet.")))
    for reply in replies:
        where = _("public and private") if reply.public else _("private conversations only")
        topic = f" · {escape(reply.topic)}" if reply.topic else ""
        sample = escape(truncate(reply.text_it or reply.text_en, 150))
        blocks.append({"type": "divider"})
        blocks.append(section(f"*{escape(reply.name)}*{topic} · {where}\n{sample}"))
        remove = button(_("Remove"), REMOVE, str(reply.id), style="danger")
        gone = _("{name} will no longer be offered. Answers sent keep its name.")
        remove["confirm"] = {
            "title": _plain(_("Remove it?")),
            "text": _plain(gone.format(name=reply.name)),
            "confirm": _plain(_("Remove")),
            "deny": _plain(_("Keep")),
        }
        blocks.append(actions(button(_("Edit"), EDIT, str(reply.id)), remove))
    return _modal(LIST, _("Saved replies"), blocks, close=_("Done"))


def editor_modal(reply: SavedReply | None) -> dict[str, Any]:
    blocks = [
        _input("name", _("Name"), reply.name if reply else "", NAME_LENGTH, hint=_(NAME_HINT)),
        _input("topic", _("Topic"), reply.topic if reply else "", TOPIC_LENGTH, optional=True),
        _input("text_it", _("Italian"), reply.text_it if reply else "", TEXT_LENGTH, True, True),
        _input("text_en", _("English"), reply.text_en if reply else "", TEXT_LENGTH, True, True),
        {
            "type": "input",
            "block_id": "public",
            "optional": True,
            "label": _plain(_("Where")),
            "element": _public_checkbox(reply is None or reply.public),
        },
        context(_(PLACEHOLDER_HINT)),
    ]
    title = _("Edit saved reply") if reply else _("New saved reply")
    metadata = {"id": reply.id if reply else None}
    return _modal(EDITOR, title, blocks, submit=_("Save"), metadata=metadata)


def picker_modal(
    conversation_id: int,
    *,
    reply: SavedReply | None = None,
    text: str = "",
    room: str = "",
) -> dict[str, Any]:
    """Before a pick: the select alone. After: the text (its block named after the reply, so a
    new pick replaces what was typed) and the room line."""
    select: dict[str, Any] = {
        "type": "external_select",
        "action_id": PICK,
        "placeholder": _plain(_("Type a name or a few words")),
        "min_query_length": 0,
    }
    if reply is not None:
        select["initial_option"] = option(reply)
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": "pick",
            "dispatch_action": True,
            "label": _plain(_("Saved reply")),
            "element": select,
        }
    ]
    if reply is not None:
        element = {
            "type": "plain_text_input",
            "action_id": TEXT,
            "multiline": True,
            "initial_value": text,
            "max_length": TEXT_LENGTH,
            "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
        }
        blocks.append(
            {
                "type": "input",
                "block_id": f"text-{reply.id}",
                "dispatch_action": True,
                "label": _plain(_("Answer, filled in for this customer")),
                "element": element,
            }
        )
        blocks.append({"type": "context", "block_id": "room", "elements": [_mrkdwn(room)]})
    metadata = {"conversation": conversation_id, "reply": reply.id if reply else None}
    # A modal with an input needs a submit button: Send without a pick says to pick one.
    return _modal(PICKER, _("Saved reply"), blocks, submit=_("Send"), metadata=metadata)


def room_line(room: Room) -> str:
    length, limit, network = room.length, room.limit, escape(room.network_label)
    if limit is None:
        return ngettext("{n} character", "{n} characters", length).format(n=length)
    if length > limit:
        too_long = _("{length} / {limit} characters: too long for {network}")
        return ":warning: " + too_long.format(length=length, limit=limit, network=network)
    on = _("{length} / {limit} characters on {network}")
    return on.format(length=length, limit=limit, network=network)


def not_a_conversation() -> dict[str, Any]:
    text = _("Saved replies answer customers: use this on a message in a conversation's thread.")
    return _modal(PICKER, _("Saved reply"), [section(text)])


def option(reply: SavedReply) -> dict[str, Any]:
    label = f"{reply.name} · {reply.topic}" if reply.topic else reply.name
    return {"text": _plain(truncate(label, 75)), "value": str(reply.id)}


# --- reading payloads ---------------------------------------------------------------------------
def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError("not a saved reply modal")
    return data


def submitted_draft(view: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields: texts as typed ("" when left empty), `public` as a boolean."""
    values = view.get("state", {}).get("values", {})
    fields: dict[str, Any] = {}
    for name in FIELDS[:4]:
        fields[name] = (values.get(name, {}).get(name, {}).get("value") or "").strip()
    chosen = values.get("public", {}).get("public", {}).get("selected_options") or []
    fields["public"] = any(o.get("value") == "public" for o in chosen)
    return fields


def picked_text(view: dict[str, Any]) -> str:
    """The answer as the agent left it in the picker ("" when nothing was picked)."""
    for block_id, actions_state in view.get("state", {}).get("values", {}).items():
        if block_id.startswith("text-"):
            return str(actions_state.get(TEXT, {}).get("value") or "")
    return ""


def text_block(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks", []):
        if str(block.get("block_id", "")).startswith("text-"):
            return str(block["block_id"])
    return None


NAME_HINT = N_(
    "Lower-case letters, digits and dashes, e.g. rimborso-tempi: agents find it by name."
)
# Shown as it is (never formatted): the braces are the ones agents type in a reply.
PLACEHOLDER_HINT = N_(
    "Placeholders: {name} the customer's name, {agent} your first name, {handle} the "
    "customer's @handle. Write {{ and }} for literal braces. The customer gets the text in "
    "their language, or the other one when it is empty."
)


def _input(
    name: str,
    label: str,
    value: str,
    max_length: int,
    optional: bool = False,
    multiline: bool = False,
    *,
    hint: str = "",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": name,
        "max_length": max_length,
        "multiline": multiline,
    }
    if value:
        element["initial_value"] = value
    block: dict[str, Any] = {
        "type": "input",
        "block_id": name,
        "optional": optional,
        "label": _plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _public_checkbox(checked: bool) -> dict[str, Any]:
    choice = {"text": _plain(_("May be used in public replies")), "value": "public"}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "public", "options": [choice]}
    if checked:
        element["initial_options"] = [choice]
    return element


def _modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = None,
    close: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title),
        "close": _plain(close or _("Cancel")),
        "private_metadata": json.dumps(metadata or {}),
        "blocks": blocks,
    }
    if submit:
        view["submit"] = _plain(submit)
    return view


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}
