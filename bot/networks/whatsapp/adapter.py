"""A WhatsApp business number through the Cloud API: answers to customers (and choices to tap:
reply buttons, or a list for more than three), template messages that reopen a conversation,
the number's own description, and the customers' media.

Nothing is polled (Meta pushes messages to the webhook, `webhook.py`) and nothing is public.
Every call goes through one `requests.Session` with the access token in the Authorization
header (never in a URL, so no URL in a log or an exception carries it), retries of what never
reached Meta, and a timeout; `cloud.translate()` turns Meta's refusals into the domain's
delivery errors (131047, the closed 24-hour window, into `ReengagementRequired`).

WhatsApp has no search of the messages a business sent, so `find_sent` finds nothing: an
attempt whose answer was lost (a timeout after sending) is sent again, and the customer may see
it twice. The outbox records every answer it hears in the same transaction that marks the job
done, so only that unknown outcome can double. Each message carries Carebridge's marker as
`biz_opaque_callback_data`, which Meta returns in the message's status webhooks: reading those
(`webhook.delivery_statuses`) is how a future service could tell a lost answer from a lost
message.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import structlog
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.clock import Clock
from bot.domain.delivery import PermanentError, TransientError
from bot.domain.model import InboundMessage, SentMessage
from bot.networks.base import AccountIdentity, Batch, Choice, Media, MediaTooLarge
from bot.networks.meta.send_api import shortened
from bot.networks.whatsapp.cloud import ReengagementRequired, translate
from bot.networks.whatsapp.webhook import media_id_of

log = structlog.get_logger(__name__)

__all__ = ["PhoneNumber", "ReengagementRequired", "WhatsAppChannel"]

MARKER_LIMIT = 512  # Meta's limit of biz_opaque_callback_data
# An interactive message: up to 3 reply buttons, or a list of up to 10 rows behind a button;
# characters of a button's title (and of the list's button), a row's title and description.
MOST_BUTTONS, BUTTON, ROW_TITLE, ROW_DESCRIPTION = 3, 20, 24, 72
MEDIA_LIMIT = 100 * 1024 * 1024  # the largest document WhatsApp carries
# Hosts a media url of Meta's may point at; the token goes nowhere else.
MEDIA_HOSTS = ("fbsbx.com", "facebook.com", "whatsapp.net", "fbcdn.net")
_NODE_ID = re.compile(r"[0-9]{1,32}")  # phone number and media ids
# A customer: their wa_id (the phone number, digits), or a business-scoped user id such as
# "US.13491208655302741918" where Meta hides the number.
_RECIPIENT = re.compile(r"[0-9]{5,20}|[A-Z]{2}\.[0-9]{5,40}")


@dataclass(frozen=True)
class PhoneNumber:
    """The business number as Meta describes it."""

    id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str  # GREEN, YELLOW, RED, or UNKNOWN for a new number


class WhatsAppChannel:
    streams: tuple[str, ...] = ()  # Meta pushes by webhook

    def __init__(
        self,
        *,
        graph_url: str,
        phone_number_id: str,
        access_token: str,
        clock: Clock,
        timeout: float = 10.0,
        reopen_template: tuple[str, str] | None = None,  # (name, language)
    ) -> None:
        self.reopen_template = reopen_template
        self.graph_url = graph_url.rstrip("/")  # with the version: https://graph.../v25.0
        self.phone_number_id = phone_number_id
        self.clock = clock
        self.timeout = timeout
        self._token = access_token
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {access_token}"
        # Only what never reached Meta is retried here (a refused connection): a send that
        # may have arrived is the outbox's to decide.
        retries = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2)
        self._session.mount("https://", HTTPAdapter(max_retries=retries))
        self._session.mount("http://", HTTPAdapter(max_retries=retries))

    def __repr__(self) -> str:  # ids only, never the token
        return (
            f"WhatsAppChannel(phone_number_id={self.phone_number_id!r}, "
            f"graph_url={self.graph_url!r})"
        )

    # --- the account ---------------------------------------------------------------------------
    def number(self) -> PhoneNumber:
        doing = "looking up the phone number"
        answer = self._call(
            "GET",
            _node(self.phone_number_id),
            doing,
            params={"fields": "display_phone_number,verified_name,quality_rating"},
        )
        number_id, display, name = (
            answer.get("id"),
            answer.get("display_phone_number"),
            answer.get("verified_name"),
        )
        if not all(isinstance(v, str) and v for v in (number_id, display, name)):
            raise TransientError(f"WhatsApp sent a malformed answer while {doing}")
        quality = answer.get("quality_rating")
        return PhoneNumber(
            str(number_id),
            str(display),
            str(name),
            quality if isinstance(quality, str) and quality else "UNKNOWN",
        )

    def identify(self) -> AccountIdentity:
        number = self.number()
        return AccountIdentity(number.id, number.display_phone_number, number.verified_name)

    # --- inbound -------------------------------------------------------------------------------
    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        raise ValueError(f"WhatsApp has no stream {stream!r}: Meta pushes by webhook")

    def complete(self, message: InboundMessage) -> InboundMessage:
        # The webhook carries all there is: WhatsApp has no profile to look up.
        return message

    def holds(self, url: str) -> bool:
        return media_id_of(url) is not None

    def media(self, url: str, *, limit: int = MEDIA_LIMIT) -> Media:
        """A customer's media, from the reference the webhook gave (`whatsapp-media:<id>`):
        looked up (Meta keeps it 30 days), its size checked against `limit` before anything
        is downloaded, then downloaded with the token."""
        media_id = media_id_of(url)
        if media_id is None:
            raise PermanentError("that is not a WhatsApp media reference")
        found = self._media_info(media_id)
        size = _size(found.get("file_size"))
        if size is not None and size > limit:
            raise MediaTooLarge(size, limit)
        mime_type = _text(found.get("mime_type")) or "application/octet-stream"
        data = self.download(str(found["url"]), limit=limit)
        extension = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ""
        return Media(data, mime_type, f"whatsapp-{media_id}{extension}")

    def media_url(self, media_id: str) -> str:
        """Where a customer's media can be downloaded (for about five minutes)."""
        return str(self._media_info(media_id)["url"])

    def _media_info(self, media_id: str) -> dict[str, Any]:
        doing = "looking up the customer's media"
        answer = self._call("GET", _node(media_id), doing)
        url = answer.get("url")
        if not isinstance(url, str) or not self._may_carry_token(url):
            raise TransientError(f"WhatsApp sent a malformed answer while {doing}")
        return answer

    def download(self, url: str, *, limit: int = MEDIA_LIMIT) -> bytes:
        """The media at a url `media_url()` gave (which needs the access token too)."""
        doing = "downloading the customer's media"
        if not self._may_carry_token(url):
            raise PermanentError("that is not a WhatsApp media url: it was not downloaded")
        try:
            with self._session.get(url, timeout=self.timeout, stream=True) as response:
                if response.status_code == 404:
                    raise PermanentError(
                        "the media url has expired (Meta keeps it five minutes): ask for it again"
                    )
                if not response.ok:
                    raise translate(response, doing, now=self.clock.now(), token=self._token)
                content = bytearray()
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    content += chunk
                    if len(content) > limit:
                        raise MediaTooLarge(len(content), limit)
                return bytes(content)
        except requests.RequestException as error:
            raise TransientError(f"WhatsApp could not be reached while {doing}") from error

    # --- outbound ------------------------------------------------------------------------------
    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage:
        raise PermanentError("WhatsApp has no public messages: answer the customer privately")

    def send_private(
        self,
        recipient_id: str,
        text: str,
        *,
        extended: bool = False,
        marker: str | None = None,
        reply_to: str | None = None,
    ) -> SentMessage:
        """A text message. `extended` is never asked for (WhatsApp has no extended window);
        `reply_to`: the customer's message it quotes."""
        body: dict[str, Any] = {
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        if reply_to is not None:
            body["context"] = {"message_id": reply_to}
        return self._send(recipient_id, body, marker, "sending the WhatsApp message")

    def send_private_reply(
        self, recipient_id: str, text: str, reply_to: str, *, marker: str | None = None
    ) -> SentMessage:
        return self.send_private(recipient_id, text, marker=marker, reply_to=reply_to)

    def send_choices(
        self, recipient_id: str, text: str, choices: Sequence[Choice], *, marker: str | None = None
    ) -> SentMessage:
        """`text` with a reply button per choice (up to 3) or, for more, a list of up to 10
        rows behind one button; a title longer than its button holds is cut (a row's whole
        title is then its description)."""
        body = {"type": "interactive", "interactive": _interactive(text, choices)}
        return self._send(recipient_id, body, marker, "sending the WhatsApp choices")

    def send_template(
        self, recipient_id: str, name: str, language: str, *, marker: str | None = None
    ) -> SentMessage:
        """An approved template message: allowed outside the 24-hour window, so it can ask a
        customer who went quiet to write again."""
        body = {"type": "template", "template": {"name": name, "language": {"code": language}}}
        return self._send(recipient_id, body, marker, "sending the WhatsApp template")

    @property
    def can_reopen(self) -> bool:
        return self.reopen_template is not None

    def reopen(self, recipient_id: str) -> SentMessage:
        """The account's reopening template (WHATSAPP_REOPEN_TEMPLATE), past the 24 hours."""
        if self.reopen_template is None:
            raise PermanentError("no template to reopen with: set WHATSAPP_REOPEN_TEMPLATE")
        name, language = self.reopen_template
        return self.send_template(recipient_id, name, language)

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        return None  # WhatsApp lists no sent messages: see the module's docstring

    def _send(
        self, recipient_id: str, content: dict[str, Any], marker: str | None, doing: str
    ) -> SentMessage:
        if not _RECIPIENT.fullmatch(recipient_id):
            raise PermanentError("that is not a WhatsApp customer: the message cannot go there")
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": recipient_id,
            **content,
        }
        if marker is not None:
            body["biz_opaque_callback_data"] = marker[:MARKER_LIMIT]
        path = f"{_node(self.phone_number_id)}/messages"
        answer = self._call("POST", path, doing, body=body)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # It may have gone out: see the module's docstring.
            raise TransientError(f"WhatsApp sent a malformed answer while {doing}")
        return SentMessage(message_id)

    # --- plumbing ------------------------------------------------------------------------------
    def _may_carry_token(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.netloc == urlsplit(self.graph_url).netloc:
            return parts.scheme in ("http", "https")  # the Graph host itself (or an emulator)
        meta = any(host == h or host.endswith("." + h) for h in MEDIA_HOSTS)
        return parts.scheme == "https" and meta

    def _call(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._session.request(
                method, f"{self.graph_url}/{path}", params=params, json=body, timeout=self.timeout
            )
        except requests.RequestException as error:  # refused, reset, timed out, cut short
            raise TransientError(f"WhatsApp could not be reached while {doing}") from error
        if not response.ok:
            raise translate(response, doing, now=self.clock.now(), token=self._token)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise TransientError(f"WhatsApp sent an unreadable answer while {doing}")
        return answer


def _interactive(text: str, choices: Sequence[Choice]) -> dict[str, Any]:
    if len(choices) <= MOST_BUTTONS:
        buttons = [
            {"type": "reply", "reply": {"id": c.payload, "title": shortened(c.title, BUTTON)}}
            for c in choices
        ]
        return {"type": "button", "body": {"text": text}, "action": {"buttons": buttons}}
    action = {"button": _list_button(choices), "sections": [{"rows": [_row(c) for c in choices]}]}
    return {"type": "list", "body": {"text": text}, "action": action}


def _row(choice: Choice) -> dict[str, str]:
    row = {"id": choice.payload, "title": shortened(choice.title, ROW_TITLE)}
    if row["title"] != choice.title:
        row["description"] = shortened(choice.title, ROW_DESCRIPTION)
    return row


def _list_button(choices: Sequence[Choice]) -> str:
    """What the button that opens the list says: the range of its choices ("1 … 5"), or a
    star where that is more than a button holds. The adapter knows no language to word it in."""
    span = f"{choices[0].title} … {choices[-1].title}"
    return span if len(span) <= BUTTON else "⭐"


def _node(external_id: str) -> str:
    # An id from a tampered payload ("../me") must never become a Graph path.
    if not _NODE_ID.fullmatch(external_id):
        raise PermanentError("that is not a WhatsApp id: the request was not made")
    return external_id


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _size(value: object) -> int | None:
    """Meta's `file_size`: a number, sometimes as a string; None when missing or malformed."""
    try:
        return int(value) if isinstance(value, (int, str)) else None
    except ValueError:
        return None
