"""Saved replies in Slack: `/care replies` (list, add, edit, remove), and **Saved reply** on a
card or as a message shortcut in a thread (pick, fill in, edit, send)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.conversation import AgentMessageKind
from bot.domain.saved_replies import SavedReplyDraft, SavedReplyError
from bot.i18n import N_, _, speaking
from bot.services.context import UnknownConversation
from bot.services.registry import Services
from bot.slack import saved_reply_modals as modals
from handlers.actions import card_id as _id

MAX_OPTIONS = 100  # Slack shows at most 100 options
NOT_SENT = {
    AgentMessageKind.NOT_OWNER: N_("Somebody else owns this conversation: take it over first."),
    AgentMessageKind.NOT_MEMBER: N_("Only members of the support channel answer customers."),
    AgentMessageKind.RESOLVED: N_("The conversation is resolved: reopen it to answer."),
    AgentMessageKind.TOO_LONG: N_("Too long for this network: shorten it."),
    AgentMessageKind.NOTE: N_(
        "A text starting with 'note:' stays internal: write it in the thread."
    ),
    AgentMessageKind.BY_HAND: N_(
        "This network lets no app answer this post: answer it there by hand."
    ),
}


def open_list(client: WebClient, services: Services, trigger_id: str) -> None:
    """`/care replies` (in its asker's language, which the command has set)."""
    client.views_open(trigger_id=trigger_id, view=modals.list_modal(services.saved_replies.all()))


def register(app: App, services: Services) -> None:
    saved = services.saved_replies

    # --- the team's list -----------------------------------------------------------------------
    @app.action(modals.ADD)
    def add(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with _theirs(services, body):
            view = modals.editor_modal(None)
        client.views_push(trigger_id=body["trigger_id"], view=view)

    @app.action(modals.EDIT)
    def edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        reply = saved.get(_id(action.get("value")))
        if reply is not None:
            with _theirs(services, body):
                view = modals.editor_modal(reply)
            client.views_push(trigger_id=body["trigger_id"], view=view)

    @app.action(modals.REMOVE)
    def remove(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        saved.remove(_id(action.get("value")), body["user"]["id"])
        with _theirs(services, body):
            view = modals.list_modal(saved.all())
        client.views_update(view_id=body["view"]["id"], view=view)

    @app.view(modals.EDITOR)
    def save(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        reply_id = modals.metadata(view).get("id")
        fields = modals.submitted_draft(view)
        try:
            saved.save(
                reply_id if isinstance(reply_id, int) else None,
                SavedReplyDraft(**fields),
                body["user"]["id"],
            )
        except SavedReplyError as error:
            ack(response_action="errors", errors={error.field: str(error)})
            return
        ack()  # back to the list, shown as it is now
        if view.get("previous_view_id"):
            with _theirs(services, body):
                listed = modals.list_modal(saved.all())
            client.views_update(view_id=view["previous_view_id"], view=listed)

    # --- using one -----------------------------------------------------------------------------
    @app.action(modals.OPEN)
    def open_picker(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        with _theirs(services, body):
            view = modals.picker_modal(_id(action.get("value")))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.shortcut(modals.SHORTCUT)
    def from_thread(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        thread = str(message.get("thread_ts") or message.get("ts") or "")
        channel = str((shortcut.get("channel") or {}).get("id") or "")
        conversation_id = services.conversations.id_of_thread(channel, thread)
        with _theirs(services, shortcut):
            if conversation_id is None:
                view = modals.not_a_conversation()
            else:
                view = modals.picker_modal(conversation_id)
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    @app.options(modals.PICK)
    def suggest(ack: Ack, body: dict[str, Any]) -> None:
        conversation_id = _conversation(body.get("view") or {})
        found = saved.search(conversation_id, str(body.get("value") or ""))
        ack(options=[modals.option(r) for r in found[:MAX_OPTIONS]])

    @app.action(modals.PICK)
    def picked(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body["view"]
        reply_id = _id((action.get("selected_option") or {}).get("value"))
        user = body["user"]["id"]
        filled = saved.filled(_conversation(view), reply_id, _first_name(client, user))
        with _theirs(services, body):
            room = modals.room_line(filled.room)
            updated = modals.picker_modal(
                _conversation(view), reply=filled.reply, text=filled.text, room=room
            )
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)

    @app.action(modals.TEXT)
    def typed(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body["view"]
        reply = saved.get(_id(str(modals.metadata(view).get("reply"))))
        if reply is None:
            return
        text = str(action.get("value") or "")
        with _theirs(services, body):
            room = modals.room_line(saved.measure(_conversation(view), text))
            updated = modals.picker_modal(_conversation(view), reply=reply, text=text, room=room)
        try:  # the hash makes a stale update (the agent typed on) fail instead of undoing
            client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
        except SlackApiError as error:
            if error.response.get("error") != "hash_conflict":
                raise

    @app.view(modals.PICKER)
    def send(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        data = modals.metadata(view)
        reply_id, text = data.get("reply"), modals.picked_text(view).strip()
        if not isinstance(reply_id, int):
            _refuse(ack, services, body, "pick", N_("Pick a saved reply first."))
            return
        block = modals.text_block(view) or "pick"
        if not text:
            _refuse(ack, services, body, block, N_("The answer is empty."))
            return
        outcome = saved.send(_conversation(view), reply_id, text, body["user"]["id"])
        if outcome != AgentMessageKind.ANSWER:
            _refuse(ack, services, body, block, NOT_SENT[outcome])
            return
        ack()


def _theirs(services: Services, payload: dict[str, Any]) -> AbstractContextManager[None]:
    """A modal speaks the language of whoever clicked (their `/care language`, else Slack's)."""
    user = (payload.get("user") or {}).get("id")
    return speaking(services.languages.of(str(user or "")))


def _refuse(ack: Ack, services: Services, body: dict[str, Any], block: str, message: str) -> None:
    """Shows `message` under the modal's `block`, in the language of whoever submitted it."""
    with _theirs(services, body):
        ack(response_action="errors", errors={block: _(message)})


def _conversation(view: dict[str, Any]) -> int:
    conversation = modals.metadata(view).get("conversation")
    if not isinstance(conversation, int):
        raise UnknownConversation("not a saved reply picker")
    return conversation


def _first_name(client: WebClient, user: str) -> str:
    """What {agent} becomes: the agent's first name as Slack has it."""
    try:
        profile = client.users_info(user=user)["user"].get("profile", {})
    except SlackApiError:
        return ""
    name = str(profile.get("first_name") or profile.get("real_name") or "")
    return name.split(" ")[0] if name else ""
