"""The Send API's requests, as Facebook Pages (Messenger) and Instagram accounts (Direct) both
make them, and the few words a button of Meta's can hold.

A message goes to a person's scoped id with `messaging_type: RESPONSE` (within 24 hours of the
customer's last message) or `MESSAGE_TAG` + `HUMAN_AGENT` (7 days); Carebridge's marker rides in
`message.metadata`, which Meta echoes back in `message_echoes`. Quick replies are `text` buttons
over the composer: at most 13, a title of 20 characters, a payload of 1,000, given back as
`message.quick_reply.payload` when the customer taps one (and the title as the message's text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.model import SentMessage
from bot.networks.base import Choice

QUICK_REPLY_TITLE = 20  # characters; Meta cuts a longer one on screen (it used to refuse it)
QUICK_REPLY_PAYLOAD = 1_000
MOST_QUICK_REPLIES = 13


class SendApiMessages:
    """The private messages of an account that sends them through the Send API: text, or text
    with a quick reply per choice (`OffersChoices`). The adapter sends (`_send_message`)."""

    def send_private(
        self, recipient_id: str, text: str, *, extended: bool = False, marker: str | None = None
    ) -> SentMessage:
        return self._send_message(recipient_id, {"text": text}, extended, marker)

    def send_choices(
        self, recipient_id: str, text: str, choices: Sequence[Choice], *, marker: str | None = None
    ) -> SentMessage:
        """`text` with a quick reply per choice, in the standard 24 hours (no message tag is
        meant for a survey); a title longer than a quick reply holds is cut."""
        message = {"text": text, "quick_replies": quick_replies(choices)}
        return self._send_message(recipient_id, message, False, marker)

    def _send_message(
        self, recipient_id: str, message: dict[str, Any], extended: bool, marker: str | None
    ) -> SentMessage:
        """`message` (see `message_request`) to the person; raises as `send_private` does."""
        raise NotImplementedError


def message_request(
    recipient_id: str, message: dict[str, Any], *, extended: bool, marker: str | None
) -> dict[str, Any]:
    """The body of a Send API request: `message` to the person, in the standard reply window
    or, `extended`, in the Human Agent one, with `marker` where Meta echoes it."""
    if marker is not None:
        message = {**message, "metadata": marker}  # echoed in message_echoes: our own send
    body: dict[str, Any] = {"recipient": {"id": recipient_id}, "message": message}
    if extended:
        body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    else:
        body["messaging_type"] = "RESPONSE"
    return body


def quick_replies(choices: Sequence[Choice]) -> list[dict[str, str]]:
    """One text quick reply per choice, its title cut to what a quick reply holds."""
    return [
        {
            "content_type": "text",
            "title": shortened(choice.title, QUICK_REPLY_TITLE),
            "payload": choice.payload,
        }
        for choice in choices
    ]


def shortened(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut with "…" where it is longer: a button's words
    must never be the reason a message fails."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
