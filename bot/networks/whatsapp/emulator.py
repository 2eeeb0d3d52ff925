"""A loopback emulator of the WhatsApp Cloud API (graph.facebook.com) for business numbers, and
of the webhooks Meta sends for them.

It answers the routes Carebridge uses the way Meta does (shapes checked against
`shared/fixtures/meta/whatsapp/`): any `/vNN.N` prefix (or none), the access token as a Bearer
header, `GET /{phone-number-id}` with `fields`, `POST /{phone-number-id}/messages` (text,
template and interactive messages, whose reply buttons or list `emulator_interactive` checks as
Meta does; `to`, or `recipient` for a business-scoped user id) answering
`{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id"}]}`, and media:
`GET /{media-id}` gives a download url on the emulator that works, with the token, for five
minutes. Refusals are Graph error bodies (`message`, `type`, `code`, `error_data.details`,
`fbtrace_id`) with HTTP 400, and 401 for a token refused.

Meta's rules are enforced by the emulator's clock: a text or interactive message only within 24
hours of the customer's last message to the number (131047 otherwise), a template any time (if
the business has it, 132001 otherwise), 4,096 characters of text (100). A message to someone
not on WhatsApp is accepted and then fails by webhook (131026), as Meta's do. Where Meta's exact
wording is not known, the code is Meta's and the words say as much ("wording not confirmed"
below).

Customers act with `message`, `send_media` (and `send_image`), `send_location`,
`button_reply`, `tap_reply_button` and `choose_list_row` (of an interactive message the
business sent), `tap_template_button`, `react`, `unsupported` and `read`. Each act queues the
webhook Meta would send; the business's sends queue their `sent` and `delivered` statuses (and
`read` when the customer reads). `deliver()` POSTs them signed as Meta signs, retrying what
does not get a 200.

Route keys (what `inject()`, `rate_limit()` and `calls()` take) are in `ROUTE_KEYS`.

Simplifications: a token serves the numbers it was added with; the business has no WABA routes
(templates are added with `add_template`, not read from Meta); one conversation per customer
and number, whose id and expiry the status webhooks report.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

import requests

from bot.networks.meta.webhook_sender import Delivery, WebhookSender, encode
from bot.networks.whatsapp.emulator_interactive import Refused, offered
from bot.sandbox.loopback import Fault, LoopbackServer, Reply, Request

__all__ = ["ROUTE_KEYS", "SANDBOX_NUMBER", "Delivery", "WhatsAppEmulator", "encode"]

# The default number and the app's secrets: the settings of the bot's sandbox account (the keys
# are the WhatsApp spec's setting keys; add "graph_url": emulator.graph_url). The app secret
# and verify token are the Facebook sandbox's: one Meta app serves both.
SANDBOX_NUMBER: Mapping[str, str] = MappingProxyType(
    {
        "phone_number_id": "1000000000000101",
        "access_token": "sandbox-whatsapp-token",
        "app_secret": "sandbox-app-secret",
        "verify_token": "sandbox-verify-token",
        "reopen_template": "riapertura:it",
    }
)
SANDBOX_DISPLAY_NUMBER = "390212345678"
SANDBOX_VERIFIED_NAME = "Acme Italia"
SANDBOX_ACCOUNT_ID = "1000000000000100"  # the WhatsApp Business Account (an entry's id)
SANDBOX_TEMPLATE = ("riapertura", "it")
GRAPH_VERSION = "v25.0"

CUSTOMER_SERVICE_WINDOW = 24 * 3600
TEXT_LIMIT = 4_096
MEDIA_URL_LIFETIME = 5 * 60
RATE_LIMIT_CODES = (4, 80007, 130429, 131056)
QUALITY_RATINGS = ("GREEN", "YELLOW", "RED", "UNKNOWN")

ROUTE_KEYS = (
    "GET /{phone-number-id}",
    "POST /{phone-number-id}/messages",
    "GET /{media-id}",
    "GET /media-download",  # the url GET /{media-id} gives
)

_VERSION = re.compile(r"^/v[0-9]+\.[0-9]+(?=/|$)")
_DIGITS = re.compile(r"[0-9]+")
_FIRST_NUMBER = 700_000_000_000_001  # media and conversation numbers look like Meta's
_TRACE_IDS = itertools.count(1)
_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

_RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    80007: "(#80007) Rate limit issues",
    130429: "(#130429) Rate limit hit",
    131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
}
_REENGAGEMENT_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)
_NUMBER_FIELDS = (
    "id", "display_phone_number", "verified_name", "quality_rating",
    "code_verification_status", "platform_type", "throughput",
)  # fmt: skip
_DEFAULT_FIELDS = ("verified_name", "code_verification_status", "display_phone_number",
                   "quality_rating", "platform_type", "throughput")  # fmt: skip


# --- Graph errors ---------------------------------------------------------------------------------
def cloud_error_body(
    message: str,
    code: int,
    *,
    details: str | None = None,
    type_: str = "OAuthException",
    subcode: int | None = None,
) -> dict[str, Any]:
    """A Cloud API error body, as Meta writes them."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = _trace_id()
    return {"error": error}


def cloud_fault(
    status: int, code: int, message: str, *, details: str | None = None, after: bool = False
) -> Fault:
    """A fault answering with a Cloud API error body (for `inject()`)."""
    body = cloud_error_body(message, code, details=details)
    return Fault(status=status, body=body, after=after)


def _trace_id() -> str:
    digest = hashlib.sha1(str(next(_TRACE_IDS)).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:23]


class _Refused(Exception):
    """A Graph error raised from deep inside a handler; `handle()` answers it."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _refuse(message: str, code: int, *, status: int = 400, **extra: Any) -> _Refused:
    return _Refused(Reply(status, cloud_error_body(message, code, **extra)))


def _unsupported(method: str, node: str) -> _Refused:
    return _refuse(
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        subcode=33,
        type_="GraphMethodException",
    )


def _invalid(details: str | None, message: str = "(#100) Invalid parameter") -> _Refused:
    return _refuse(message, 100, details=details)


# --- state ----------------------------------------------------------------------------------------
@dataclass
class _Number:
    id: str
    display: str
    verified_name: str
    account_id: str
    quality: str = "GREEN"
    templates: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class _Customer:
    wa_id: str
    name: str
    user_id: str | None = None  # a business-scoped user id, where Meta hides the number
    reachable: bool = True  # False: not on WhatsApp (131026 by webhook)
    wrote_at: dict[str, float] = field(default_factory=dict)  # number id -> last message


@dataclass
class _Media:
    id: str
    number_id: str
    data: bytes
    mime_type: str

    @property
    def sha256(self) -> str:
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


# --- the emulator ---------------------------------------------------------------------------------
class WhatsAppEmulator(LoopbackServer):
    """The Cloud API on 127.0.0.1; the token that comes with a request says whose numbers it
    may use."""

    name = "whatsapp"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        app_secret: str = SANDBOX_NUMBER["app_secret"],
        delivery_attempts: int = 3,
        retry_pause: float = 0.0,
    ) -> None:
        super().__init__(clock=clock)
        self.app_secret = app_secret
        self.webhooks = WebhookSender(
            app_secret,
            SANDBOX_NUMBER["verify_token"],
            attempts=delivery_attempts,
            pause=retry_pause,
        )
        self._ids = itertools.count(_FIRST_NUMBER)
        self._numbers: dict[str, _Number] = {}
        self._tokens: dict[str, set[str]] = {}  # token -> the numbers it serves
        self._revoked: set[str] = set()
        self._customers: dict[str, _Customer] = {}
        self._media: dict[str, _Media] = {}
        self._links: dict[str, tuple[str, float]] = {}  # download hash -> (media id, issued)
        self._sent: list[dict[str, Any]] = []
        self._unread: dict[str, list[str]] = {}  # wa_id -> the business's unread message ids
        self._pending: list[dict[str, Any]] = []
        self._deliveries: list[Delivery] = []
        self._rate_limits: dict[str, deque[tuple[int, int | None, int | None]]] = {}
        self.phone_number_id = SANDBOX_NUMBER["phone_number_id"]  # the default number
        self.add_number(
            self.phone_number_id,
            SANDBOX_DISPLAY_NUMBER,
            SANDBOX_VERIFIED_NAME,
            SANDBOX_NUMBER["access_token"],
        )
        self.add_template(*SANDBOX_TEMPLATE)

    @property
    def graph_url(self) -> str:
        """What META_GRAPH_URL is set to for the emulator: its URL with a version."""
        return f"{self.base_url}/{GRAPH_VERSION}"

    # --- set-up --------------------------------------------------------------------------------
    def add_number(
        self,
        number_id: str,
        display: str,
        verified_name: str,
        token: str,
        *,
        account_id: str = SANDBOX_ACCOUNT_ID,
    ) -> None:
        """A business number, served by `token` (a token may serve several numbers)."""
        with self._lock:
            if number_id in self._numbers or not _DIGITS.fullmatch(number_id):
                raise ValueError(f"number id {number_id!r} exists already or is not digits")
            self._numbers[number_id] = _Number(number_id, display, verified_name, account_id)
            self._tokens.setdefault(token, set()).add(number_id)

    def add_template(self, name: str, language: str, *, number: str | None = None) -> None:
        """An approved template the business may send from the number."""
        with self._lock:
            self._number(number).templates.add((name, language))

    def add_customer(self, wa_id: str, name: str, *, user_id: str | None = None) -> None:
        """A WhatsApp user (their acts add them too), with a business-scoped user id if any."""
        with self._lock:
            customer = self._customer(wa_id, name)
            customer.user_id = user_id

    def set_quality(self, rating: str, *, number: str | None = None) -> None:
        if rating not in QUALITY_RATINGS:
            raise ValueError(f"rating is one of {QUALITY_RATINGS}")
        with self._lock:
            self._number(number).quality = rating

    def set_reachable(self, wa_id: str, reachable: bool) -> None:
        """Whether WhatsApp delivers to the customer (False: they left WhatsApp...)."""
        with self._lock:
            self._known(wa_id).reachable = reachable

    def revoke(self, token: str) -> None:
        """Refuse the token from now on (error 190, HTTP 401: it expired)."""
        with self._lock:
            if token not in self._tokens:
                raise KeyError("no such token")
            self._revoked.add(token)

    def restore(self, token: str) -> None:
        with self._lock:
            self._revoked.discard(token)

    # --- faults ---------------------------------------------------------------------------------
    def inject(self, key: str, fault: Fault, times: int = 1) -> None:
        _check_route_key(key)  # a typo would otherwise queue a fault that never fires
        super().inject(key, fault, times)

    def rate_limit(
        self,
        route_key: str,
        code: int = 130429,
        *,
        regain_minutes: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests of `route_key` with Meta's rate-limit error `code`.
        80007 and 4 come with Meta's usage header (80007's `estimated_time_to_regain_access`
        is `regain_minutes`, default 1); `retry_after` adds a Retry-After header (seconds),
        which Meta is not known to send for WhatsApp."""
        _check_route_key(route_key)
        if code not in RATE_LIMIT_CODES:
            raise ValueError(f"code is one of {RATE_LIMIT_CODES}")
        with self._lock:
            queue = self._rate_limits.setdefault(route_key, deque())
            queue.extend([(code, regain_minutes, retry_after)] * times)

    def pending_faults(self) -> int:
        with self._lock:
            limits = sum(len(queue) for queue in self._rate_limits.values())
        return super().pending_faults() + limits

    # --- customers act --------------------------------------------------------------------------
    def message(
        self, wa_id: str, name: str, text: str, *, reply_to: str | None = None, number: str = ""
    ) -> str:
        """A text message from the customer to the number; returns its wamid."""
        return self._act(wa_id, name, number, "text", {"body": text}, reply_to=reply_to)

    def send_media(
        self,
        wa_id: str,
        name: str,
        kind: str,
        data: bytes,
        *,
        mime_type: str,
        caption: str = "",
        filename: str = "",
        number: str = "",
    ) -> str:
        """An image, video, audio, document or sticker; the number may download `data`."""
        if kind not in ("image", "video", "audio", "document", "sticker"):
            raise ValueError(f"no media kind {kind!r}")
        with self._lock:
            media = _Media(self._id(), self._number(number or None).id, data, mime_type)
            self._media[media.id] = media
            body: dict[str, Any] = {}
            if caption and kind in ("image", "video", "document"):
                body["caption"] = caption
            if kind == "document":
                body["filename"] = filename or "document"
            body.update(mime_type=mime_type, sha256=media.sha256, id=media.id)
            if kind == "audio":
                body["voice"] = mime_type.startswith("audio/ogg")
            return self._act(wa_id, name, number, kind, body)

    def send_image(
        self, wa_id: str, name: str, data: bytes = b"\xff\xd8jpeg", *, caption: str = ""
    ) -> str:
        return self.send_media(wa_id, name, "image", data, mime_type="image/jpeg", caption=caption)

    def send_location(
        self,
        wa_id: str,
        name: str,
        latitude: float,
        longitude: float,
        *,
        place: str = "",
        address: str = "",
    ) -> str:
        body: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if place:
            body["name"] = place
        if address:
            body["address"] = address
        return self._act(wa_id, name, "", "location", body)

    def button_reply(
        self, wa_id: str, name: str, button_id: str, title: str, *, reply_to: str | None = None
    ) -> str:
        """The customer taps a reply button of the business's interactive message."""
        body = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
        return self._act(wa_id, name, "", "interactive", body, reply_to=reply_to)

    def tap_reply_button(self, wa_id: str, name: str, button_id: str) -> str:
        """The customer taps the reply button `button_id` of the latest interactive message the
        business sent them with it: an `interactive.button_reply` (its id and title) quoting
        that message; returns its wamid. A button never offered raises ValueError."""
        return self._choose(wa_id, name, "button", button_id)

    def choose_list_row(self, wa_id: str, name: str, row_id: str) -> str:
        """The customer opens the list of the latest interactive message the business sent them
        with row `row_id` and picks that row: an `interactive.list_reply` (its id, title and any
        description) quoting that message; returns its wamid. A list stays open to pick from
        again; a row never offered raises ValueError."""
        return self._choose(wa_id, name, "list", row_id)

    def tap_template_button(
        self, wa_id: str, name: str, text: str, payload: str, *, reply_to: str
    ) -> str:
        """The customer taps a quick-reply button of a template message."""
        body = {"text": text, "payload": payload}
        return self._act(wa_id, name, "", "button", body, reply_to=reply_to)

    def react(self, wa_id: str, name: str, message_id: str, emoji: str) -> str:
        """A reaction to a message of the conversation ("" takes it back)."""
        body = {"message_id": message_id, "emoji": emoji}
        return self._act(wa_id, name, "", "reaction", body)

    def unsupported(self, wa_id: str, name: str) -> str:
        """Something the Cloud API does not pass on (a poll, a view-once photo...)."""
        errors = [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
        return self._act(wa_id, name, "", "unsupported", None, errors=errors)

    def read(self, wa_id: str) -> None:
        """The customer opens the chat: the business's messages so far are read."""
        with self._lock:
            for sent in [s for s in self._sent if s["message_id"] in self._unread.get(wa_id, [])]:
                self._queue_status(sent, "read")
            self._unread.pop(wa_id, None)

    # --- inspection -----------------------------------------------------------------------------
    @property
    def sent(self) -> list[dict[str, Any]]:
        """Messages the business sent, in order: message_id, phone_number_id, to, wa_id, type,
        text (an interactive message's body), template (name, language), interactive (type,
        body, the list's button, choices: id, title, description), context (the message
        answered), marker, request_json."""
        with self._lock:
            return copy.deepcopy(self._sent)

    def calls(self, route_key: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if self.fault_key(r) == route_key]

    # --- webhook deliveries ---------------------------------------------------------------------
    def pending(self) -> list[dict[str, Any]]:
        """The webhook payloads waiting to be delivered, oldest first."""
        with self._lock:
            return copy.deepcopy(self._pending)

    def clear_pending(self) -> None:
        with self._lock:
            self._pending.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def deliver(
        self, webhook_url: str, *, attempts: int | None = None, timeout: float = 20.0
    ) -> list[Delivery]:
        """POST what is pending to `webhook_url`, one POST each, signed as Meta signs; a POST
        that does not get a 200 is made again, up to `attempts` times in all."""
        with self._lock:
            payloads, self._pending = self._pending, []
        results = [
            self.webhooks.post(webhook_url, encode(p), attempts=attempts, timeout=timeout)
            for p in payloads
        ]
        with self._lock:
            self._deliveries.extend(results)
        return results

    def deliver_raw(
        self, webhook_url: str, body: bytes, *, signature: str | None = None
    ) -> requests.Response:
        """POST `body` once, with `signature` instead of the right one ("" sends none): for
        tests of what the bot refuses."""
        return self.webhooks.post_raw(webhook_url, body, signature=signature)

    def handshake(self, webhook_url: str, *, verify_token: str | None = None) -> bool:
        """Meta's subscription check; True when the webhook echoes the challenge."""
        return self.webhooks.handshake(webhook_url, verify_token=verify_token)

    # --- LoopbackServer -------------------------------------------------------------------------
    def fault_key(self, request: Request) -> str:
        return self._route(request)[0]

    def handle(self, request: Request) -> Reply:
        key, parts = self._route(request)
        with self._lock:
            try:
                numbers = self._authenticate(request)
                queued = self._rate_limits.get(key)
                if queued:
                    return self._rate_limited(*queued.popleft())
                handler = _HANDLERS.get(key)
                if handler is None:
                    raise _refuse(f"Unknown path components: /{'/'.join(parts)}", 2500)
                return handler(self, request, numbers, parts)
            except _Refused as refused:
                return refused.reply

    def _route(self, request: Request) -> tuple[str, list[str]]:
        path = _VERSION.sub("", request.path, count=1)
        parts = [unquote(part) for part in path.split("/") if part]
        if request.method == "GET" and parts == ["whatsapp_business", "attachments"]:
            return "GET /media-download", parts
        if request.method == "GET" and len(parts) == 1:
            with self._lock:
                media = parts[0] in self._media
            return ("GET /{media-id}" if media else "GET /{phone-number-id}"), parts
        if request.method == "POST" and len(parts) == 2 and parts[1] == "messages":
            return "POST /{phone-number-id}/messages", parts
        return f"{request.method} /{'/'.join(parts)}", parts

    def _authenticate(self, request: Request) -> set[str]:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token:
            raise _refuse("An access token is required to request this resource.", 104, status=401)
        if token not in self._tokens:
            raise _refuse("Invalid OAuth access token - Cannot parse access token", 190, status=401)
        if token in self._revoked:
            raise _refuse(
                "Error validating access token: Session has expired.", 190, status=401, subcode=463
            )
        return self._tokens[token]

    def _rate_limited(self, code: int, minutes: int | None, retry_after: int | None) -> Reply:
        headers: dict[str, str] = {}
        if code == 80007:
            usage = {
                SANDBOX_ACCOUNT_ID: [
                    {
                        "type": "whatsapp_business_management",
                        "call_count": 100,
                        "total_cputime": 1,
                        "total_time": 1,
                        "estimated_time_to_regain_access": 1 if minutes is None else minutes,
                    }
                ]
            }
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        elif code == 4:
            usage_app = {"call_count": 100, "total_cputime": 14, "total_time": 22}
            headers["X-App-Usage"] = json.dumps(usage_app)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = cloud_error_body(_RATE_LIMIT_MESSAGES[code], code)
        return Reply(403 if code == 4 else 400, body, headers)

    # --- handlers -------------------------------------------------------------------------------
    def _get_number(self, request: Request, numbers: set[str], parts: list[str]) -> Reply:
        node = parts[0]
        if node not in numbers:
            raise _unsupported("GET", node)
        number = self._numbers[node]
        values = {
            "id": number.id,
            "display_phone_number": number.display,
            "verified_name": number.verified_name,
            "quality_rating": number.quality,
            "code_verification_status": "VERIFIED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
        }
        raw = request.query.get("fields")
        fields = raw.split(",") if raw else list(_DEFAULT_FIELDS)
        for name in fields:
            if name not in values:
                raise _refuse(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type "
                    "(WhatsAppBusinessPhoneNumber)",
                    100,
                )
        return Reply(200, {**{f: values[f] for f in fields}, "id": number.id})

    def _get_media(self, request: Request, numbers: set[str], parts: list[str]) -> Reply:
        media = self._media[parts[0]]
        if media.number_id not in numbers:
            raise _unsupported("GET", media.id)
        link = hashlib.sha256(f"{media.id}:{self._id()}".encode()).hexdigest()[:32]
        self._links[link] = (media.id, self.clock())
        url = f"{self.base_url}/whatsapp_business/attachments/?mid={media.id}&hash={link}"
        body = {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": str(len(media.data)),
            "id": media.id,
        }
        return Reply(200, body)

    def _download(self, request: Request, numbers: set[str], parts: list[str]) -> Reply:
        issued = self._links.get(request.query.get("hash", ""))
        media = self._media.get(issued[0]) if issued else None
        if (
            issued is None
            or media is None
            or media.id != request.query.get("mid")
            or media.number_id not in numbers
            or self.clock() - issued[1] > MEDIA_URL_LIFETIME
        ):
            # What lookaside answers then is not confirmed: a 404 without a Graph body.
            return Reply(404, b"Not Found", {"content-type": "text/plain"})
        return Reply(200, media.data, {"content-type": media.mime_type})

    def _post_message(self, request: Request, numbers: set[str], parts: list[str]) -> Reply:
        node = parts[0]
        if node not in numbers:
            raise _unsupported("POST", node)
        number = self._numbers[node]
        params = _json_body(request)
        if params.get("messaging_product") != "whatsapp":
            raise _invalid(None, "(#100) The parameter messaging_product is required.")
        to = params.get("to", params.get("recipient"))
        if not isinstance(to, str) or not to:
            raise _invalid(None, "(#100) The parameter to is required.")
        customer = next((c for c in self._customers.values() if to in (c.wa_id, c.user_id)), None)
        kind = params.get("type", "text")
        record: dict[str, Any] = {"type": kind, "text": None, "template": None, "interactive": None}
        if kind == "text":
            record["text"] = self._checked_text(params.get("text"))
        elif kind == "interactive":
            record["interactive"] = _checked_interactive(params.get("interactive"))
            record["text"] = record["interactive"]["body"]
        elif kind == "template":
            record["template"] = self._checked_template(number, params.get("template"))
        else:
            raise _invalid(
                f"the emulator sends text, interactive and template messages, not {kind!r}"
            )
        wrote = customer.wrote_at.get(number.id) if customer else None
        if kind != "template" and (wrote is None or self.clock() - wrote > CUSTOMER_SERVICE_WINDOW):
            raise _refuse("(#131047) Re-engagement message", 131047, details=_REENGAGEMENT_DETAILS)
        context = params.get("context")
        message_id = _wamid(self._id())
        record.update(
            message_id=message_id,
            phone_number_id=number.id,
            to=to,
            wa_id=customer.wa_id if customer else to,
            context=context.get("message_id") if isinstance(context, dict) else None,
            marker=params.get("biz_opaque_callback_data"),
            request_json=copy.deepcopy(params),
        )
        self._sent.append(record)
        if customer is None or not customer.reachable:
            self._queue_status(record, "failed")  # accepted now, refused later: as Meta does
        else:
            self._unread.setdefault(customer.wa_id, []).append(message_id)
            self._queue_status(record, "sent")
            self._queue_status(record, "delivered")
        contact = {"input": to, "wa_id": record["wa_id"]}
        body = {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": message_id}],
        }
        return Reply(200, body)

    def _checked_text(self, text: Any) -> str:
        body = text.get("body") if isinstance(text, dict) else None
        if not isinstance(body, str) or not body:
            raise _invalid(None, "(#100) The parameter text['body'] is required.")
        if len(body) > TEXT_LIMIT:  # wording not confirmed
            raise _invalid(f"Param text['body'] must be at most {TEXT_LIMIT} characters long.")
        return body

    def _checked_template(self, number: _Number, template: Any) -> dict[str, str]:
        template = template if isinstance(template, dict) else {}
        name, language = template.get("name"), template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not isinstance(code, str):
            raise _invalid(None, "(#100) The parameter template['name'] is required.")
        if (name, code) not in number.templates:
            raise _refuse(
                "(#132001) Template name does not exist in the translation",
                132001,
                details=f"template name ({name}) does not exist in {code}",
            )
        return {"name": name, "language": code}

    # --- internals ------------------------------------------------------------------------------
    def _id(self) -> str:
        return str(next(self._ids))

    def _number(self, number_id: str | None) -> _Number:
        found = self._numbers.get(number_id or self.phone_number_id)
        if found is None:
            raise KeyError(f"no number {number_id}; add_number() first")
        return found

    def _customer(self, wa_id: str, name: str) -> _Customer:
        if not _DIGITS.fullmatch(wa_id):
            raise ValueError(f"a wa_id is the phone number's digits, not {wa_id!r}")
        customer = self._customers.setdefault(wa_id, _Customer(wa_id, name))
        customer.name = name
        return customer

    def _known(self, wa_id: str) -> _Customer:
        found = self._customers.get(wa_id)
        if found is None:
            raise KeyError(f"no customer {wa_id}; add_customer() first")
        return found

    def _act(
        self,
        wa_id: str,
        name: str,
        number_id: str,
        kind: str,
        body: dict[str, Any] | None,
        *,
        reply_to: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> str:
        with self._lock:
            number = self._number(number_id or None)
            customer = self._customer(wa_id, name)
            now = self.clock()
            customer.wrote_at[number.id] = now  # any message opens the 24-hour window
            message: dict[str, Any] = {
                "from": wa_id,
                "id": _wamid(self._id()),
                "timestamp": str(int(now)),
            }
            if reply_to is not None:
                message["context"] = {"from": number.display, "id": reply_to}
            if errors is not None:
                message["errors"] = copy.deepcopy(errors)
            message["type"] = kind
            if body is not None:
                message[kind] = copy.deepcopy(body)
            contact = {"profile": {"name": name}, "wa_id": wa_id}
            self._queue(number, {"contacts": [contact], "messages": [message]})
            return str(message["id"])

    def _choose(self, wa_id: str, name: str, kind: str, choice_id: str) -> str:
        with self._lock:
            for sent in reversed(self._sent):
                interactive = sent["interactive"]
                if sent["wa_id"] != wa_id or not interactive or interactive["type"] != kind:
                    continue
                chosen = next((c for c in interactive["choices"] if c["id"] == choice_id), None)
                if chosen is not None:
                    reply = f"{kind}_reply"
                    body = {"type": reply, reply: dict(chosen)}
                    number = sent["phone_number_id"]
                    answered = sent["message_id"]
                    return self._act(wa_id, name, number, "interactive", body, reply_to=answered)
        what = "reply button" if kind == "button" else "list row"
        raise ValueError(f"no {what} {choice_id!r} was offered to {wa_id}")

    def _queue_status(self, sent: dict[str, Any], status: str) -> None:
        number = self._numbers[sent["phone_number_id"]]
        now = int(self.clock())
        item: dict[str, Any] = {
            "id": sent["message_id"],
            "status": status,
            "timestamp": str(now),
            "recipient_id": sent["wa_id"],
        }
        if status in ("sent", "delivered"):
            category = "marketing" if sent["type"] == "template" else "service"
            conversation = hashlib.sha256(f"{number.id}:{sent['wa_id']}".encode()).hexdigest()
            item["conversation"] = {
                "id": conversation[:32],
                "expiration_timestamp": str(now + CUSTOMER_SERVICE_WINDOW),
                "origin": {"type": category},
            }
            item["pricing"] = {"pricing_model": "CBP", "billable": True, "category": category}
        if status == "failed":
            item["errors"] = [
                {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "Message Undeliverable."},
                    "href": _HREF,
                }
            ]
        if isinstance(sent.get("marker"), str):
            item["biz_opaque_callback_data"] = sent["marker"]
        self._queue(number, {"statuses": [item]})

    def _queue(self, number: _Number, content: dict[str, Any]) -> None:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": number.display, "phone_number_id": number.id},
            **content,
        }
        entry = {"id": number.account_id, "changes": [{"value": value, "field": "messages"}]}
        self._pending.append({"object": "whatsapp_business_account", "entry": [entry]})


_Handler = Callable[[WhatsAppEmulator, Request, set[str], list[str]], Reply]
_HANDLERS: dict[str, _Handler] = {
    "GET /{phone-number-id}": WhatsAppEmulator._get_number,
    "POST /{phone-number-id}/messages": WhatsAppEmulator._post_message,
    "GET /{media-id}": WhatsAppEmulator._get_media,
    "GET /media-download": WhatsAppEmulator._download,
}
assert set(_HANDLERS) == set(ROUTE_KEYS)


def _check_route_key(key: str) -> None:
    if key not in ROUTE_KEYS:
        raise ValueError(f"unknown route key {key!r}; known: {', '.join(ROUTE_KEYS)}")


def _wamid(number: str) -> str:
    # Meta's are base64 of an opaque structure (which holds the customer's number).
    return "wamid." + base64.b64encode(f"HBgM{number}FQIAEhgg".encode()).decode()


def _checked_interactive(interactive: Any) -> dict[str, Any]:
    try:
        return offered(interactive)
    except Refused as refused:
        raise _refuse(refused.message, refused.code, details=refused.details or None) from None


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as error:
        raise _invalid("the request body is not JSON") from error  # wording not confirmed
    if not isinstance(body, dict):
        raise _invalid("the request body is not a JSON object")
    return body
