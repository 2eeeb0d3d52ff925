"""Deliver Slack's inbound requests to a Bolt app running in HTTP mode, signed as Slack signs them.

`SlackEventSender` plays Slack's side of the Events API, interactivity and slash commands: it
builds the payloads Slack sends (event_callback envelopes, `block_actions` interactions, slash
command forms), signs them with the app's signing secret (`X-Slack-Signature: v0=<hex HMAC-SHA256
of "v0:{timestamp}:{body}">`) and POSTs them with `requests`, returning the `requests.Response`.

Bolt checks the request timestamp against the real wall clock (within five minutes), so an
injected `clock` must stay close to `time.time()` unless a test wants a stale request.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import requests

from bot.sandbox.socket_mode import SocketModeServer

DEFAULT_APP_ID = "ASANDBOX"
DEFAULT_BOT_USER_ID = "UCAREBOT"
# The legacy verification token Slack still puts in payloads; Bolt checks signatures instead.
VERIFICATION_TOKEN = "sandbox-verification-token"
RESPONSE_URL_BASE = "https://hooks.slack.com"


class SlackEventSender:
    """POSTs signed Slack requests (events, interactions, slash commands) to one request URL."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "TSANDBOX",
        clock: Callable[[], float] = time.time,
        api_app_id: str = DEFAULT_APP_ID,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        team_domain: str = "sandbox",
        timeout: float = 10.0,
        response_urls: str = RESPONSE_URL_BASE,
    ) -> None:
        self.url = url
        self.response_urls = response_urls  # an emulator's hooks_url, to see what was answered
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.clock = clock
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.team_domain = team_domain
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._session = requests.Session()

    # --- signing and transport ------------------------------------------------------------------
    def signature_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds to every request, for `body` sent at `timestamp`."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        base = b"v0:" + stamp.encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def post_raw(self, body: bytes, headers: Mapping[str, str]) -> requests.Response:
        """POST `body` with exactly `headers` (no signing): for tests of forged or bad requests."""
        # One keep-alive session, as Slack reuses its connections: a new connection per request
        # would exhaust the server's connection limit under a burst (the fuzz tests).
        return self._session.post(self.url, data=body, headers=dict(headers), timeout=self.timeout)

    def unsigned(self, body: bytes, content_type: str = "application/json") -> requests.Response:
        """POST `body` without any Slack signature headers."""
        return self.post_raw(body, {"Content-Type": content_type})

    def _send(
        self, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> requests.Response:
        headers = {"Content-Type": content_type, **self.signature_headers(body), **(extra or {})}
        return self.post_raw(body, headers)

    def _send_json(
        self, payload: Mapping[str, Any], extra: Mapping[str, str] | None = None
    ) -> requests.Response:
        return self._send(json.dumps(payload).encode(), "application/json", extra)

    def _send_form(self, fields: Mapping[str, str]) -> requests.Response:
        return self._send(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    # How each kind of request travels: over HTTP here, as envelopes in SocketModeSender.
    def _deliver_event(
        self, body: Mapping[str, Any], extra: Mapping[str, str] | None = None
    ) -> requests.Response:
        return self._send_json(body, extra)

    def _deliver_interaction(self, payload: Mapping[str, Any]) -> requests.Response:
        return self._send_form({"payload": json.dumps(payload)})

    def _deliver_command(self, fields: Mapping[str, str]) -> requests.Response:
        return self._send_form(fields)

    def _unique(self, prefix: str) -> str:
        return f"{prefix}{int(self.clock())}{next(self._ids):06d}"

    def _trigger_id(self) -> str:
        # Slack's look like "1234567890123.1234567890.0123456789abcdef0123456789abcdef".
        return f"{int(self.clock())}.{next(self._ids):010d}.{self.team_id.lower():0>32}"

    def _response_url(self, kind: str) -> str:
        return f"{self.response_urls}/{kind}/{self.team_id}/{next(self._ids)}/sandbox"

    # --- Events API -----------------------------------------------------------------------------
    def envelope(self, event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """The `event_callback` wrapper Slack puts around `event`."""
        body = dict(event)
        body.setdefault("event_ts", body.get("ts") or f"{self.clock():.6f}")
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": body,
            "type": "event_callback",
            "event_id": event_id or self._unique("Ev"),
            "event_time": int(self.clock()),
            # `authorizations` replaced `authed_users` (still required by the 2020 wrapper schema,
            # no longer sent by Slack); Bolt reads the bot user id from it.
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": self._unique("4-eyJldCI6Im1lc3NhZ2UifQ-"),
        }

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> requests.Response:
        """Deliver one event; `retry_num` marks a redelivery (give it the first event_id)."""
        extra: dict[str, str] = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self._deliver_event(self.envelope(event, event_id=event_id), extra)

    def message(
        self, user: str, text: str, channel: str, ts: str, thread_ts: str | None = None
    ) -> requests.Response:
        """Deliver a human's `message` event in a public channel (optionally a thread reply)."""
        return self.event(self.message_event(user, text, channel, ts, thread_ts))

    def message_event(
        self, user: str, text: str, channel: str, ts: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """The `message` event of a human's post, to deliver (and redeliver) with `event()`."""
        event: dict[str, Any] = {
            "type": "message",
            "client_msg_id": str(uuid.uuid4()),
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.team_id,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "channel",
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            event["parent_user_id"] = self.bot_user_id
        return event

    def url_verification(self, challenge: str) -> requests.Response:
        """The handshake Slack sends when the request URL is saved in the app settings."""
        return self._send_json(
            {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        )

    # --- interactivity and commands -------------------------------------------------------------
    def block_action(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        channel: str,
        message_ts: str,
        thread_ts: str | None = None,
        trigger_id: str | None = None,
        block_id: str = "actions",
        message: Mapping[str, Any] | None = None,
        selected_option: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """A button click on a message (or, with `selected_option`, a choice in a menu):
        `block_actions`, sent as form field `payload=<json>`."""
        clicked_message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "ts": message_ts,
            "text": "",
            "team": self.team_id,
            **(message or {}),
        }
        if thread_ts is not None:
            clicked_message.setdefault("thread_ts", thread_ts)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if thread_ts is not None:
            container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": self.team_id,
            },
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id or self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel.lower()},
            "message": clicked_message,
            "state": {"values": {}},
            "response_url": self._response_url("actions"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "type": "button",
                    "action_ts": f"{self.clock():.6f}",
                }
                if selected_option is None
                else {
                    "action_id": action_id,
                    "block_id": block_id,
                    "type": "static_select",
                    "selected_option": dict(selected_option),
                    "action_ts": f"{self.clock():.6f}",
                }
            ],
        }
        return self.interaction(payload)

    # --- modals and shortcuts -----------------------------------------------------------------
    def view_action(
        self, user: str, view: Mapping[str, Any], action: Mapping[str, Any], block_id: str
    ) -> requests.Response:
        """Something done inside an open modal (a button, a pick, typing into an input with
        dispatch_action): `block_actions` with the view as it is, state included."""
        payload = self._in_view("block_actions", user, view)
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["trigger_id"] = self._trigger_id()
        payload["actions"] = [
            {"block_id": block_id, "action_ts": f"{self.clock():.6f}", **dict(action)}
        ]
        return self.interaction(payload)

    def view_submission(self, user: str, view: Mapping[str, Any]) -> requests.Response:
        """The modal's submit button: `view_submission` with what was typed in it."""
        payload = self._in_view("view_submission", user, view)
        payload["trigger_id"] = self._trigger_id()
        payload["response_urls"] = []
        return self.interaction(payload)

    def block_suggestion(
        self, user: str, view: Mapping[str, Any], action_id: str, block_id: str, value: str
    ) -> requests.Response:
        """What an `external_select` asks as the person types: answered with its options."""
        payload = self._in_view("block_suggestion", user, view)
        payload.update(action_id=action_id, block_id=block_id, value=value)
        payload["container"] = {"type": "view", "view_id": view["id"]}
        return self.interaction(payload)

    def message_shortcut(
        self, user: str, callback_id: str, channel: str, message: Mapping[str, Any]
    ) -> requests.Response:
        """A message's "More actions" menu entry: `message_action`."""
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self._trigger_id(),
            "action_ts": f"{self.clock():.6f}",
            "message_ts": message["ts"],
            "user": self._user(user),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "channel": {"id": channel, "name": channel.lower()},
            "message": dict(message),
            "response_url": self._response_url("shortcuts"),
            "token": VERIFICATION_TOKEN,
            "api_app_id": self.api_app_id,
        }
        return self.interaction(payload)

    def _in_view(self, kind: str, user: str, view: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": dict(view),
        }

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id}

    def interaction(self, payload: Mapping[str, Any]) -> requests.Response:
        """Any interaction payload (a click, a modal's submission), as Slack delivers it."""
        return self._deliver_interaction(payload)

    def slash_command(self, user: str, command: str, text: str, channel: str) -> requests.Response:
        """A slash command, sent as Slack sends it: a flat form."""
        return self._deliver_command(
            {
                "token": VERIFICATION_TOKEN,
                "team_id": self.team_id,
                "team_domain": self.team_domain,
                "channel_id": channel,
                "channel_name": channel.lower(),
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": self.api_app_id,
                "is_enterprise_install": "false",
                "response_url": self._response_url("commands"),
                "trigger_id": self._trigger_id(),
            }
        )


class SocketModeSender(SlackEventSender):
    """The same requests, delivered as Socket Mode envelopes over the emulator's links; each call
    returns when the app acknowledged (200, the ack's payload as the body) or Slack gave up on
    it (500), redeliveries included, as a `requests.Response` for the tests' sake. Raw posts
    (`post_raw`, `unsigned`) still go to `url`: the HTTP route a forger might try."""

    def __init__(
        self,
        server: SocketModeServer,
        url: str,
        signing_secret: str,
        *,
        wait: float = 20.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(url, signing_secret, **kwargs)
        self.server = server
        self.wait = wait

    def _deliver_event(
        self, body: Mapping[str, Any], extra: Mapping[str, str] | None = None
    ) -> requests.Response:
        return self._envelope("events_api", dict(body), answers=False)

    def _deliver_interaction(self, payload: Mapping[str, Any]) -> requests.Response:
        return self._envelope("interactive", dict(payload), answers=True)

    def _deliver_command(self, fields: Mapping[str, str]) -> requests.Response:
        return self._envelope("slash_commands", dict(fields), answers=True)

    def _envelope(self, kind: str, payload: dict[str, Any], *, answers: bool) -> requests.Response:
        envelope = self.server.send(kind, payload, accepts_response_payload=answers)
        envelope.done.wait(self.wait)
        response = requests.Response()
        response.status_code = 200 if envelope.acked_at is not None else 500
        body = envelope.response or {}
        # As the same answer reads over HTTP: a text alone is plain text, anything else JSON.
        if set(body) == {"text"} and isinstance(body["text"], str):
            response._content = body["text"].encode()
            response.headers["Content-Type"] = "text/plain;charset=utf-8"
        elif body:
            response._content = json.dumps(body).encode()
            response.headers["Content-Type"] = "application/json"
        else:
            response._content = b""
        return response
