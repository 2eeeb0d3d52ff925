"""A loopback emulator of the Slack Web API, for the real `slack_sdk.WebClient` to talk to.

Point a client at it with `WebClient(token="xoxb-sandbox", base_url=emulator.url)`. It keeps one
workspace in memory (channels, users, messages, threads, reactions, ephemerals, views) and answers
the methods Carebridge uses the way slack.com does: HTTP 200 with `{"ok": false, "error": ...}` for
API errors, HTTP 429 with `Retry-After` for rate limits, opaque cursors for pagination.

Shapes follow the published OpenAPI spec (`shared/fixtures/slack-api/slack_web_openapi_v2.json`)
plus what the spec predates (message `metadata`, `include_all_metadata`); the test module checks the
emulator against that spec. Tests inspect the workspace with `messages()`, `thread()`, `message()`,
`ephemerals`, `calls()`, `views_published` and `uploaded_files`, and act as a human agent with
`post_as_user()`.

File uploads follow Slack's external upload flow, as `WebClient.files_upload_v2` drives it:
`files.getUploadURLExternal` hands out a file id and an upload URL on this emulator
(`<base_url>/upload/<file_id>`), the client POSTs the raw bytes there (answered `200 OK - <length>`
like files.slack.com), and `files.completeUploadExternal` shares the file, posting it in the
channel as a bot message with the initial comment as its text.

Like slack.com, every answer to a recognised token carries the `x-oauth-scopes` header (the scopes
the token was granted: by default the bot scopes of slack-manifest.yml, or `scopes=` to emulate an
install missing some) and `x-accepted-oauth-scopes` (the scopes the method accepts). The app-level
token (`xapp-`) is good for `apps.connections.open` only, and bot tokens are not: both are refused
with `not_allowed_token_type`, as Slack does. The URL `apps.connections.open` hands out is a
WebSocket of the emulator's Socket Mode server (`bot/sandbox/socket_mode.py`, started on first
use), over which `send_envelope()` delivers events, interactions and commands as Slack does;
`revoke_app_token()` makes it answer `token_revoked`.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import math
import mimetypes
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.loopback import Fault, LoopbackServer, Reply, Request
from bot.sandbox.socket_mode import SocketModeServer
from bot.slack.scopes import REQUIRED_BOT_SCOPES

MAX_TEXT_CHARS = 40_000
MAX_BLOCKS = 50
DEFAULT_HISTORY_LIMIT = 100  # conversations.history / conversations.members default page size
DEFAULT_REPLIES_LIMIT = 1000  # conversations.replies default page size
MAX_LIMIT = 1000
# What Slack shows for a message sent with blocks but no fallback text.
NO_TEXT_FALLBACK = "This content can't be displayed."
WORKSPACE_URL = "https://sandbox.slack.com/"
APP_ID = "ASANDBOX"
# Slack grants an app-level token exactly the scopes chosen when it was created; Socket Mode
# needs this one.
APP_TOKEN_SCOPES = ("connections:write",)
# Methods that take the app-level token (xapp-) rather than the bot token.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
# What Slack sends in `x-accepted-oauth-scopes` for each method (bot-token scopes only).
ACCEPTED_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": ("connections:write",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "reactions.add": ("reactions:write",),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.members": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "users.info": ("users:read",),
    "views.publish": (),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}

# Parameters Slack accepts as JSON-encoded strings inside form bodies, and the error it gives when
# the string does not decode.
_JSON_PARAMS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "metadata": "invalid_metadata_format",
    "view": "invalid_arguments",
    "files": "invalid_arguments",  # files.completeUploadExternal: [{"id", "title"}, ...]
}
UPLOAD_PATH = "/upload/"  # where upload URLs point; not a Web API method
HOOKS_PATH = "/hooks/"  # where the response_urls of commands and actions point (hooks.slack.com)
UPLOAD_FAULT_KEY = "upload"  # `inject("upload", ...)` fails the byte upload step


class SlackError(Exception):
    """An API error: answered as HTTP 200 `{"ok": false, "error": <error>}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _Message:
    channel: str
    ts: str
    text: str
    user: str
    bot_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    broadcast: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # unfurl_links, mrkdwn, ...
    reactions: dict[str, list[str]] = field(default_factory=dict)  # name -> user ids, in order
    edits: int = 0
    edited_ts: str | None = None
    client_msg_id: str | None = None
    files: list[dict[str, Any]] | None = None  # files shared with the message

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def in_channel_view(self) -> bool:
        """Top-level messages and replies also sent to the channel (what history shows)."""
        return not self.is_reply or self.broadcast


@dataclass
class _Upload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    id: str
    filename: str
    length: int  # as declared when the upload URL was asked for
    alt_txt: str = ""
    data: bytes | None = None  # None until the bytes are POSTed to the upload URL
    completed: bool = False


@dataclass
class _Channel:
    id: str
    name: str
    members: list[str]
    created: int


def ts_to_micros(ts: str) -> int:
    """'1700000000.000100' -> 1700000000000100; raises ValueError on anything else."""
    seconds, _, fraction = ts.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 6:
        raise ValueError(f"not a Slack ts: {ts!r}")
    return int(seconds) * 1_000_000 + int(fraction.ljust(6, "0") or 0)


def micros_to_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _flag(params: dict[str, Any], name: str, default: bool = False) -> bool:
    """Booleans arrive as JSON true/false, or as "true"/"1"/"false"/"0" in forms and queries."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


def _limit(params: dict[str, Any], default: int) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    return default if value <= 0 else min(value, MAX_LIMIT)


def _encode_cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _decode_cursor(cursor: str, kind: str) -> str:
    try:
        prefix, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except ValueError:
        raise SlackError("invalid_cursor") from None
    if prefix != kind or not value:
        raise SlackError("invalid_cursor")
    return value


def _page(
    items: list[Any], params: dict[str, Any], default_limit: int, key: Callable[[Any], str]
) -> tuple[list[Any], str]:
    """One page of `items` (already ordered) and the cursor of the next page ("" if none).

    The cursor names the first item of the next page rather than an offset, so a page stays
    correct when messages are added between calls, as with Slack's cursors.
    """
    limit = _limit(params, default_limit)
    start = 0
    if params.get("cursor"):
        marker = _decode_cursor(str(params["cursor"]), "next")
        keys = [key(item) for item in items]
        if marker not in keys:
            raise SlackError("invalid_cursor")
        start = keys.index(marker)
    page = items[start : start + limit]
    rest = items[start + limit :]
    return page, (_encode_cursor("next", key(rest[0])) if rest else "")


def _decode_params(request: Request) -> dict[str, Any]:
    """Query string plus body (form or JSON), with JSON-in-form parameters decoded."""
    params: dict[str, Any] = dict(request.query)
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if request.body:
        if content_type == "application/json":
            try:
                body = request.json()
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            params.update(body)
        elif content_type in ("application/x-www-form-urlencoded", ""):
            params.update(request.form())
        else:
            raise SlackError("invalid_post_type")
    for name, error in _JSON_PARAMS.items():
        value = params.get(name)
        if isinstance(value, str):
            if not value:
                params.pop(name)
                continue
            try:
                params[name] = json.loads(value)
            except ValueError:
                raise SlackError(error) from None
    return params


class SlackEmulator(LoopbackServer):
    """The Slack Web API for one workspace, one bot, on 127.0.0.1."""

    name = "slack"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        bot_token: str = "xoxb-sandbox",
        bot_user_id: str = "UCAREBOT",
        bot_id: str = "BCAREBOT",
        team_id: str = "TSANDBOX",
        channel_id: str = "CSUPPORT",
        members: Iterable[str] = (),
        scopes: Iterable[str] | None = None,
        app_token: str = "xapp-sandbox",
    ) -> None:
        super().__init__(clock=clock)
        self.bot_token = bot_token
        self.app_token = app_token
        self.app_token_revoked = False
        self._post_limit: tuple[float, int] | None = None  # limit_posts()
        self._post_buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self.posts_limited = 0
        self._socket_mode: SocketModeServer | None = None
        self._socket_lock = threading.Lock()
        # What the bot token was granted: an install from slack-manifest.yml unless told otherwise.
        self.scopes: tuple[str, ...] = tuple(REQUIRED_BOT_SCOPES if scopes is None else scopes)
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.channel_id = channel_id
        self._users: dict[str, dict[str, Any]] = {}
        self._locales: dict[str, str] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._channels: dict[str, _Channel] = {}
        self._messages: dict[str, list[_Message]] = {}  # channel -> messages in ts order
        self._ephemerals: list[dict[str, Any]] = []
        self._views_published: dict[str, dict[str, Any]] = {}
        self._views_opened: list[dict[str, Any]] = []
        self._modals: dict[str, dict[str, Any]] = {}  # view id -> the modal as shown now
        self._modal_stack: list[str] = []  # the open modals' ids, the root first
        self._uploads: dict[str, _Upload] = {}
        self._responses: list[dict[str, Any]] = []
        self._uploaded_files: list[dict[str, Any]] = []
        self._last_micros = 0
        self._ids = itertools.count(1)
        self._add_user_record(bot_user_id, "carebridge", is_bot=True)
        self.add_channel(channel_id, members=members, name="support")
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "apps.connections.open": self._apps_connections_open,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    # --- set-up ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def methods(self) -> tuple[str, ...]:
        """The Web API methods this emulator implements."""
        return tuple(self._methods)

    def add_user(self, user_id: str, name: str) -> None:
        with self._lock:
            self._add_user_record(user_id, name, is_bot=False)

    def add_usergroup(self, group_id: str, users: Iterable[str]) -> None:
        """A user group (S...), such as the leads mentioned by SLACK_LEADS."""
        with self._lock:
            self._usergroups[group_id] = list(users)

    def add_channel(
        self,
        channel_id: str,
        members: Iterable[str] = (),
        *,
        name: str | None = None,
        bot_is_member: bool = True,
    ) -> None:
        with self._lock:
            people = [m for m in members if m != self.bot_user_id]
            for user_id in people:
                if user_id not in self._users:
                    self._add_user_record(user_id, user_id.lower(), is_bot=False)
            self._channels[channel_id] = _Channel(
                id=channel_id,
                name=name or channel_id.lower(),
                members=([self.bot_user_id] if bot_is_member else []) + people,
                created=int(self.clock()),
            )
            self._messages.setdefault(channel_id, [])

    def join(self, channel_id: str, user_id: str) -> None:
        """A person joins a channel (a specialist joining the support channel to answer)."""
        with self._lock:
            members = self._channels[channel_id].members
            if user_id not in members:
                members.append(user_id)

    def rate_limit(self, method: str, retry_after: int = 30, times: int = 1) -> None:
        """Answer the next `times` calls of `method` as Slack does when rate limited."""
        fault = Fault(
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(retry_after)},
        )
        self.inject(method, fault, times)

    def random_fault(
        self, request: Request, rng: random.Random, timeout_after: float
    ) -> tuple[str, Fault]:
        if rng.random() < 0.25:
            return "429", Fault(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        return super().random_fault(request, rng, timeout_after)

    def limit_posts(self, per_second: float = 1.0, burst: int = 3) -> None:
        """Model Slack's limit on chat.postMessage per channel: about one a second with short
        bursts; beyond it a 429 with Retry-After (counted in `posts_limited`)."""
        self._post_limit = (per_second, burst)

    def _post_limit_wait(self, channel: str) -> int | None:
        """Whole seconds to wait before posting in `channel`, or None to post now (a token
        bucket per channel, on the emulator's clock)."""
        if self._post_limit is None:
            return None
        rate, burst = self._post_limit
        now = self.clock()
        tokens, at = self._post_buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._post_buckets[channel] = (tokens - 1.0, now)
            return None
        self._post_buckets[channel] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))

    def post_as_user(
        self, user: str, text: str, thread_ts: str | None = None, channel: str | None = None
    ) -> dict[str, Any]:
        """Store a message from a human, as if typed in the Slack client (no HTTP involved)."""
        with self._lock:
            target = self._channel(channel or self.channel_id)
            message = _Message(
                channel=target.id,
                ts=self._next_ts(),
                text=text,
                user=user,
                thread_ts=thread_ts,
                client_msg_id=f"00000000-0000-4000-8000-{next(self._ids):012d}",
            )
            self._store(message)
            return self._inspect(message)

    # --- inspection (copies, safe from any thread) ----------------------------------------------
    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages in the channel view, oldest first: top-level ones and broadcast replies."""
        with self._lock:
            stored = self._messages.get(channel or self.channel_id, [])
            return [self._inspect(m) for m in stored if m.in_channel_view]

    def thread(self, thread_ts: str, channel: str | None = None) -> list[dict[str, Any]]:
        """Replies in a thread, oldest first, without the parent."""
        with self._lock:
            return [self._inspect(m) for m in self._replies(channel or self.channel_id, thread_ts)]

    def message(self, ts: str, channel: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            channels = [channel] if channel else list(self._messages)
            for name in channels:
                for stored in self._messages.get(name, []):
                    if stored.ts == ts:
                        return self._inspect(stored)
            return None

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._ephemerals)

    @property
    def hooks_url(self) -> str:
        """The base of the response_urls this Slack hands out (Slack's is hooks.slack.com)."""
        return f"{self.base_url}{HOOKS_PATH.rstrip('/')}"

    @property
    def responses(self) -> list[dict[str, Any]]:
        """What the app posted to response_urls, in order: the JSON body and `url` (its path)."""
        with self._lock:
            return copy.deepcopy(self._responses)

    @property
    def views_published(self) -> dict[str, dict[str, Any]]:
        """user_id -> the latest Home tab view published for that user."""
        with self._lock:
            return copy.deepcopy(self._views_published)

    @property
    def views_opened(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._views_opened)

    def top_modal(self) -> dict[str, Any] | None:
        """The modal a person sees now (the last opened or pushed one), as updated since."""
        with self._lock:
            return copy.deepcopy(self._modals[self._modal_stack[-1]]) if self._modal_stack else None

    def modal(self, view_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._modals[view_id])

    def type_into(self, view_id: str, block_id: str, action_id: str, value: dict[str, Any]) -> None:
        """A person fills an input of an open modal: `value` as Slack keeps it in the view's
        state (`{"type": "plain_text_input", "value": "..."}`)."""
        with self._lock:
            values = self._modals[view_id]["state"]["values"]
            values.setdefault(block_id, {})[action_id] = copy.deepcopy(value)

    def close_modal(self, view_id: str, *, clear: bool = False) -> None:
        """What Slack does when a submission is acknowledged: that modal closes (all of them
        with `response_action: clear`)."""
        with self._lock:
            if clear:
                self._modal_stack.clear()
            elif view_id in self._modal_stack:
                del self._modal_stack[self._modal_stack.index(view_id) :]

    @property
    def uploaded_files(self) -> list[dict[str, Any]]:
        """Completed uploads, in order: id, filename, title, bytes, channel, initial_comment...

        `channel` is None for a file completed without a channel (Slack keeps it private).
        """
        with self._lock:
            return copy.deepcopy(self._uploaded_files)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Decoded parameters (token excluded) of every call of `method`, in order.

        Built from the recorded requests, so attempts refused by an injected fault count too.
        """
        with self._lock:
            requests = [r for r in self.requests if self.fault_key(r) == method]
        decoded = []
        for request in requests:
            try:
                params = _decode_params(request)
            except SlackError:
                continue  # an undecodable body has no parameters to show
            params.pop("token", None)
            decoded.append(params)
        return decoded

    # --- HTTP -----------------------------------------------------------------------------------
    def fault_key(self, request: Request) -> str:
        if request.path.startswith(UPLOAD_PATH):
            return UPLOAD_FAULT_KEY
        return request.path.removeprefix("/api/")

    def handle(self, request: Request) -> Reply:
        if request.path.startswith(UPLOAD_PATH):
            return self._receive_upload(request)
        if request.path.startswith(HOOKS_PATH):
            return self._receive_response(request)
        method = request.path.removeprefix("/api/")
        try:
            params = _decode_params(request)
            token = params.pop("token", None)
            authorization = request.header("authorization") or ""
            if authorization.startswith("Bearer "):
                token = authorization.removeprefix("Bearer ").strip()
            with self._lock:
                handler = self._methods.get(method)
                if handler is None:
                    return Reply(
                        200, {"ok": False, "error": "unknown_method", "req_method": method}
                    )
                granted = self._authenticate(method, token)
                headers = {
                    "x-oauth-scopes": ",".join(granted),
                    "x-accepted-oauth-scopes": ",".join(ACCEPTED_SCOPES.get(method, ())),
                }
                if method == "chat.postMessage":
                    wait = self._post_limit_wait(str(params.get("channel", "")))
                    if wait is not None:
                        self.posts_limited += 1
                        limited = {**headers, "Retry-After": str(wait)}
                        return Reply(429, {"ok": False, "error": "ratelimited"}, limited)
                try:
                    return Reply(200, {"ok": True, **handler(params)}, headers)
                except SlackError as error:
                    return Reply(200, {"ok": False, "error": error.error}, headers)
        except SlackError as error:
            return Reply(200, {"ok": False, "error": error.error})

    def _authenticate(self, method: str, token: str | None) -> tuple[str, ...]:
        """The scopes of `token` if it may call `method`; otherwise Slack's error."""
        if not token:
            raise SlackError("not_authed")
        app_level = method in APP_LEVEL_METHODS
        if token.startswith("xapp-") != app_level:
            raise SlackError("not_allowed_token_type")
        if token != (self.app_token if app_level else self.bot_token):
            raise SlackError("invalid_auth")
        if app_level and self.app_token_revoked:
            raise SlackError("token_revoked")
        return APP_TOKEN_SCOPES if app_level else self.scopes

    def _receive_response(self, request: Request) -> Reply:
        """A response_url: JSON in (`text`, `blocks`, `response_type`), `ok` out; the URL is the
        credential, as on Slack. A body that is not a JSON object gets 400 `invalid_payload`."""
        text = {"content-type": "text/plain; charset=utf-8"}
        if request.method != "POST":
            return Reply(405, b"Method Not Allowed", text)
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Reply(400, b"invalid_payload", text)
        with self._lock:
            self._responses.append({**body, "url": request.path})
        return Reply(200, b"ok", text)

    def _receive_upload(self, request: Request) -> Reply:
        """The upload URL: raw bytes in, `OK - <length>` out, as files.slack.com answers.

        The URL itself is the credential (no token), as on Slack. A body whose size differs from
        the `length` declared to files.getUploadURLExternal is refused with HTTP 400: Slack does not
        document this case, and refusing it makes a client bug visible at the step that has it.
        """
        text = {"content-type": "text/plain; charset=utf-8"}
        if request.method != "POST":
            return Reply(405, b"Method Not Allowed", text)
        with self._lock:
            upload = self._uploads.get(request.path.removeprefix(UPLOAD_PATH))
            if upload is None or upload.completed:
                return Reply(404, b"Not Found", text)
            if len(request.body) != upload.length:
                message = f"length mismatch: declared {upload.length}, received {len(request.body)}"
                return Reply(400, message.encode(), text)
            upload.data = request.body
            return Reply(200, f"OK - {len(request.body)}".encode(), text)

    # --- methods --------------------------------------------------------------------------------
    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": WORKSPACE_URL,
            "team": "Sandbox",
            "user": self._users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket_mode.issue_url()}

    # --- Socket Mode ----------------------------------------------------------------------------
    @property
    def socket_mode(self) -> SocketModeServer:
        """Slack's Socket Mode side for this app, started on first use."""
        with self._socket_lock:
            if self._socket_mode is None:
                self._socket_mode = SocketModeServer(APP_ID, clock=self.clock)
            return self._socket_mode

    def revoke_app_token(self, revoked: bool = True) -> None:
        """`apps.connections.open` answers `token_revoked` (or works again)."""
        self.app_token_revoked = revoked

    def stop(self) -> None:
        super().stop()
        if self._socket_mode is not None:
            self._socket_mode.stop()
            self._socket_mode = None

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        if self.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        text, blocks, attachments = self._content(params)
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            self._check_ts(str(thread_ts), "invalid_thread_ts")
        message = _Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            blocks=blocks,
            attachments=attachments,
            thread_ts=str(thread_ts) if thread_ts else None,
            metadata=self._metadata(params),
            broadcast=bool(thread_ts) and _flag(params, "reply_broadcast"),
            options=self._options(params),
        )
        self._store(message)
        # Slack's answer carries the message with its metadata, whatever include_all_metadata says.
        return {"channel": channel.id, "ts": message.ts, "message": self._render(message, True)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        message = self._find(channel.id, params.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackError("cant_update_message")
        text, blocks, attachments = self._content(params)
        message.text = text
        # Slack replaces the blocks: an update without blocks leaves a text-only message.
        message.blocks = blocks
        if attachments is not None:
            message.attachments = attachments
        if "metadata" in params:
            message.metadata = self._metadata(params)
        message.edits += 1
        message.edited_ts = self._next_ts()
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": self._render(message, True),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        user = params.get("user")
        if not user:
            raise SlackError("user_not_found")
        if self.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        if user not in channel.members:
            raise SlackError("user_not_in_channel")
        text, blocks, _ = self._content(params)
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel.id,
                "user": user,
                "text": text,
                "blocks": blocks,
                "thread_ts": params.get("thread_ts") or None,
                "message_ts": ts,
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        message = self._find(channel.id, params.get("message_ts"))
        link = f"{WORKSPACE_URL}archives/{channel.id}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel") or not params.get("timestamp"):
            raise SlackError("no_item_specified")
        name = str(params.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        channel = self._channel(params["channel"])
        message = self._find(channel.id, params["timestamp"])
        users = message.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise SlackError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        visible = [m for m in self._messages[channel.id] if m.in_channel_view]
        selected = self._between(visible, params)
        selected.reverse()  # newest first, as Slack returns history
        page, cursor = _page(selected, params, DEFAULT_HISTORY_LIMIT, key=lambda m: m.ts)
        metadata = _flag(params, "include_all_metadata")
        answer: dict[str, Any] = {
            "messages": [self._render(m, metadata) for m in page],
            "has_more": bool(cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if cursor:
            answer["response_metadata"] = {"next_cursor": cursor}
        return answer

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        ts = params.get("ts")
        if not ts:
            raise SlackError("invalid_arguments")
        parent = self._find(channel.id, ts, error="thread_not_found")
        thread = [parent] if parent.is_reply else [parent, *self._replies(channel.id, parent.ts)]
        selected = self._between(thread, params)
        page, cursor = _page(selected, params, DEFAULT_REPLIES_LIMIT, key=lambda m: m.ts)
        metadata = _flag(params, "include_all_metadata")
        answer: dict[str, Any] = {
            "messages": [self._render(m, metadata) for m in page],
            "has_more": bool(cursor),
        }
        if cursor:
            answer["response_metadata"] = {"next_cursor": cursor}
        return answer

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        info: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "created": channel.created,
            "creator": self.bot_user_id,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "parent_conversation": None,
            "unlinked": 0,
            "is_member": self.bot_user_id in channel.members,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if _flag(params, "include_num_members"):
            info["num_members"] = len(channel.members)
        return {"channel": info}

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        page, cursor = _page(channel.members, params, DEFAULT_HISTORY_LIMIT, key=str)
        return {"members": list(page), "response_metadata": {"next_cursor": cursor}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        shown = copy.deepcopy(user)
        # As Slack: the locale only when asked for (include_locale), "en-US" unless set.
        if str(params.get("include_locale") or "").lower() in ("true", "1"):
            shown["locale"] = self._locales.get(user["id"], "en-US")
        return {"user": shown}

    def set_locale(self, user_id: str, locale: str) -> None:
        """The language a person chose in Slack's preferences, e.g. "it-IT"."""
        with self._lock:
            self._locales[user_id] = locale

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = str(params.get("usergroup") or "")
        if not group:
            raise SlackError("invalid_arguments")
        if group not in self._usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        view = params.get("view")
        if not user_id or not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        current = self._views_published.get(str(user_id))
        if params.get("hash") and current is not None and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        published = self._view(view, previous=current)
        self._views_published[str(user_id)] = published
        return {"view": copy.deepcopy(published)}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        if view.get("type") != "modal":
            raise SlackError("invalid_arguments")
        opened = self._view(view, previous=None)
        self._views_opened.append({"trigger_id": params["trigger_id"], "view": opened})
        self._modals[opened["id"]] = opened
        self._modal_stack[:] = [opened["id"]]
        return {"view": copy.deepcopy(opened)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        if view.get("type") != "modal":
            raise SlackError("invalid_arguments")
        if not self._modal_stack:
            raise SlackError("not_found")  # push needs a modal to push onto
        if len(self._modal_stack) >= 3:
            raise SlackError("push_limit_reached")  # Slack stacks three modals at most
        pushed = self._view(view, previous=None)
        pushed["previous_view_id"] = self._modal_stack[-1]
        pushed["root_view_id"] = self._modal_stack[0]
        self._modals[pushed["id"]] = pushed
        self._modal_stack.append(pushed["id"])
        return {"view": copy.deepcopy(pushed)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a modal's content; with `hash`, only if nobody changed it meanwhile (else
        `hash_conflict`). Inputs keep what was typed in them when their block and action ids
        stay, as Slack's do."""
        view = params.get("view")
        view_id = str(params.get("view_id") or "")
        if not isinstance(view, dict) or view_id not in self._modals:
            raise SlackError("not_found" if isinstance(view, dict) else "invalid_arguments")
        current = self._modals[view_id]
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        updated = self._view(view, previous=current)
        updated["previous_view_id"] = current["previous_view_id"]
        updated["root_view_id"] = current["root_view_id"]
        kept = {b.get("block_id") for b in updated["blocks"] if b.get("type") == "input"}
        for block, values in current["state"]["values"].items():
            if block in kept:
                updated["state"]["values"][block] = copy.deepcopy(values)
        self._modals[view_id] = updated
        return {"view": copy.deepcopy(updated)}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        raw_length = params.get("length")
        if not filename or raw_length in (None, ""):
            raise SlackError("invalid_arguments")
        try:
            length = int(raw_length)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if length <= 0:
            raise SlackError("missing_argument")  # what Slack answers for a zero length
        file_id = f"F{next(self._ids):010d}"
        self._uploads[file_id] = _Upload(
            id=file_id, filename=filename, length=length, alt_txt=str(params.get("alt_txt") or "")
        )
        return {"upload_url": f"{self.base_url}{UPLOAD_PATH}{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        if not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in entries):
            raise SlackError("invalid_arguments")
        # Check everything before changing anything: a refused call shares nothing.
        uploads = []
        for entry in entries:
            upload = self._uploads.get(entry["id"])
            # Never uploaded, unknown or already completed: Slack cannot find the file either.
            if upload is None or upload.data is None or upload.completed:
                raise SlackError("file_not_found")
            uploads.append(upload)
        channel_ids = [str(params["channel_id"])] if params.get("channel_id") else []
        channel_ids += [
            c.strip() for c in str(params.get("channels") or "").split(",") if c.strip()
        ]
        channels = [self._channel(c) for c in dict.fromkeys(channel_ids)]
        if any(self.bot_user_id not in channel.members for channel in channels):
            raise SlackError("not_in_channel")
        thread_ts = str(params.get("thread_ts") or "") or None
        if thread_ts is not None:
            self._check_ts(thread_ts, "invalid_thread_ts")
        comment = str(params.get("initial_comment") or "")

        files = []
        for entry, upload in zip(entries, uploads, strict=True):
            upload.completed = True
            title = str(entry.get("title") or upload.filename)
            files.append(self._file_object(upload, title))
            self._uploaded_files.append(
                {
                    "id": upload.id,
                    "filename": upload.filename,
                    "title": title,
                    "bytes": upload.data,
                    "alt_txt": upload.alt_txt,
                    "channel": channels[0].id if channels else None,
                    "channels": [c.id for c in channels],
                    "initial_comment": comment,
                    "thread_ts": thread_ts,
                }
            )
        for channel in channels:
            self._store(
                _Message(
                    channel=channel.id,
                    ts=self._next_ts(),
                    text=comment,
                    user=self.bot_user_id,
                    bot_id=self.bot_id,
                    thread_ts=thread_ts,
                    files=copy.deepcopy(files),
                )
            )
        return {"files": files}

    # --- helpers (callers hold the lock) --------------------------------------------------------
    def _file_object(self, upload: _Upload, title: str) -> dict[str, Any]:
        """A file as Slack's API describes it (the commonly used fields)."""
        extension = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else ""
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        created = int(self.clock())
        private = f"https://files.slack.com/files-pri/{self.team_id}-{upload.id}/{upload.filename}"
        file: dict[str, Any] = {
            "id": upload.id,
            "created": created,
            "timestamp": created,
            "name": upload.filename,
            "title": title,
            "mimetype": mimetype,
            "filetype": extension or "binary",
            "pretty_type": extension.upper() or "Binary",
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "size": upload.length,
            "mode": "hosted",
            "is_external": False,
            "is_public": True,
            "url_private": private,
            "url_private_download": private.replace("/files-pri/", "/files-pri/download/"),
            "permalink": f"{WORKSPACE_URL}files/{self.bot_user_id}/{upload.id}/{upload.filename}",
        }
        if upload.alt_txt:
            file["alt_txt"] = upload.alt_txt
        return file

    def _add_user_record(self, user_id: str, name: str, *, is_bot: bool) -> None:
        self._users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 0,
            "profile": {
                "real_name": name,
                "display_name": name,
                "real_name_normalized": name,
                "display_name_normalized": name,
                "team": self.team_id,
                **({"bot_id": self.bot_id} if is_bot else {}),
            },
        }

    def _next_ts(self) -> str:
        """A ts from the clock, strictly after every ts handed out before (even if time stalls)."""
        micros = max(round(self.clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return micros_to_ts(micros)

    def _channel(self, channel_id: Any) -> _Channel:
        name = str(channel_id or "")
        if name in self._channels:
            return self._channels[name]
        # chat.postMessage also takes "#name"; accepting it everywhere costs nothing here.
        for channel in self._channels.values():
            if name.lstrip("#") == channel.name and name:
                return channel
        raise SlackError("channel_not_found")

    def _find(self, channel_id: str, ts: Any, error: str = "message_not_found") -> _Message:
        for message in self._messages[channel_id]:
            if message.ts == ts:
                return message
        raise SlackError(error)

    def _replies(self, channel_id: str, thread_ts: str) -> list[_Message]:
        return [
            m
            for m in self._messages.get(channel_id, [])
            if m.thread_ts == thread_ts and m.ts != thread_ts
        ]

    def _store(self, message: _Message) -> None:
        self._messages[message.channel].append(message)

    @staticmethod
    def _check_ts(value: str, error: str) -> int:
        try:
            return ts_to_micros(value)
        except ValueError:
            raise SlackError(error) from None

    def _between(self, messages: list[_Message], params: dict[str, Any]) -> list[_Message]:
        """Messages within `oldest`..`latest` (exclusive unless `inclusive`), oldest first."""
        inclusive = _flag(params, "inclusive")
        oldest = self._check_ts(str(params.get("oldest") or "0"), "invalid_ts_oldest")
        latest_raw = params.get("latest")
        latest = self._check_ts(str(latest_raw), "invalid_ts_latest") if latest_raw else None
        selected = []
        for message in messages:
            micros = ts_to_micros(message.ts)
            after = micros >= oldest if inclusive else micros > oldest
            before = latest is None or (micros <= latest if inclusive else micros < latest)
            if after and before:
                selected.append(message)
        return selected

    def _content(self, params: dict[str, Any]) -> tuple[str, list[Any] | None, list[Any] | None]:
        """Validated (text, blocks, attachments) of a message-writing call."""
        text = params.get("text")
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if blocks is not None:
            if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
                raise SlackError("invalid_blocks")
            if not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
                raise SlackError("invalid_blocks")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        text = str(text or "")
        if len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if not text and blocks:
            text = NO_TEXT_FALLBACK
        return text, blocks, attachments

    @staticmethod
    def _options(params: dict[str, Any]) -> dict[str, Any]:
        """The formatting options a post was sent with; flags as booleans, however they came."""
        options: dict[str, Any] = {
            name: _flag(params, name)
            for name in ("unfurl_links", "unfurl_media", "mrkdwn", "link_names")
            if name in params
        }
        if "parse" in params:
            options["parse"] = params["parse"]
        return options

    @staticmethod
    def _metadata(params: dict[str, Any]) -> dict[str, Any] | None:
        metadata = params.get("metadata")
        if metadata is None:
            return None
        if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
            raise SlackError("invalid_metadata_format")
        payload = metadata.get("event_payload", {})
        if not isinstance(payload, dict):
            raise SlackError("invalid_metadata_format")
        return {"event_type": metadata["event_type"], "event_payload": payload}

    def _view(self, view: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        view_id = previous["id"] if previous else f"V{next(self._ids):010d}"
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": _initial_state(view.get("blocks", []))},
            "hash": f"{int(self.clock())}.{next(self._ids):08d}",
            "title": copy.deepcopy(view.get("title")),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "external_id": view.get("external_id", ""),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _render(self, message: _Message, include_metadata: bool) -> dict[str, Any]:
        """The message as Slack's API shows it."""
        rendered: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "team": self.team_id,
        }
        if message.bot_id:
            rendered["bot_id"] = message.bot_id
            rendered["app_id"] = APP_ID
            rendered["bot_profile"] = {
                "id": message.bot_id,
                "app_id": APP_ID,
                "name": self._users[self.bot_user_id]["name"],
                "deleted": False,
                "team_id": self.team_id,
            }
        if message.client_msg_id:
            rendered["client_msg_id"] = message.client_msg_id
        if message.blocks is not None:
            rendered["blocks"] = copy.deepcopy(message.blocks)
        if message.attachments is not None:
            rendered["attachments"] = copy.deepcopy(message.attachments)
        if message.files is not None:
            rendered["files"] = copy.deepcopy(message.files)
            rendered["upload"] = True
        if message.broadcast:
            rendered["subtype"] = "thread_broadcast"
        if message.edited_ts:
            rendered["edited"] = {"user": self.bot_user_id, "ts": message.edited_ts}
        if message.reactions:
            rendered["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in message.reactions.items()
            ]
        if include_metadata and message.metadata is not None:
            rendered["metadata"] = copy.deepcopy(message.metadata)
        if message.is_reply:
            rendered["thread_ts"] = message.thread_ts
            parent = next(
                (m for m in self._messages[message.channel] if m.ts == message.thread_ts), None
            )
            if parent is not None:
                rendered["parent_user_id"] = parent.user
        else:
            replies = self._replies(message.channel, message.ts)
            if replies:
                # Slack marks a parent once it has replies: thread_ts = its own ts plus counters.
                users = list(dict.fromkeys(r.user for r in replies))
                rendered.update(
                    thread_ts=message.ts,
                    reply_count=len(replies),
                    reply_users_count=len(users),
                    latest_reply=replies[-1].ts,
                    reply_users=users,
                    is_locked=False,
                    subscribed=False,
                )
        return rendered

    def _inspect(self, message: _Message) -> dict[str, Any]:
        """The message as tests look at it (plain fields, copies)."""
        return {
            "ts": message.ts,
            "channel": message.channel,
            "text": message.text,
            "blocks": copy.deepcopy(message.blocks),
            "attachments": copy.deepcopy(message.attachments),
            "files": copy.deepcopy(message.files),
            "user": message.user,
            "bot_id": message.bot_id,
            "thread_ts": message.thread_ts,
            "metadata": copy.deepcopy(message.metadata),
            "reactions": list(message.reactions),
            "edited": message.edits,
            "reply_broadcast": message.broadcast,
            "reply_count": 0
            if message.is_reply
            else len(self._replies(message.channel, message.ts)),
            "options": dict(message.options),
        }


def _initial_state(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A new view's `state.values`: each input's initial value, as Slack submits an input the
    person left untouched."""
    values: dict[str, dict[str, Any]] = {}
    for block in blocks:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict) or "action_id" not in element:
            continue
        state: dict[str, Any] = {"type": element.get("type")}
        if element.get("type") == "plain_text_input":
            state["value"] = element.get("initial_value")
        elif element.get("type") in ("external_select", "static_select"):
            state["selected_option"] = copy.deepcopy(element.get("initial_option"))
        elif element.get("type") == "checkboxes":
            state["selected_options"] = copy.deepcopy(element.get("initial_options", []))
        values[str(block.get("block_id"))] = {element["action_id"]: state}
    return values
