"""The shapes Slack sends, checked before Bolt sees a payload (Bolt assumes them and would
crash on anything else): over HTTP (/slack/events) and over Socket Mode alike."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

MAX_PAYLOAD_BYTES = 1_000_000  # Slack's payloads are far smaller; anything bigger is not Slack


def well_formed(body: bytes, content_type: str) -> bool:
    """The shapes Slack sends: a JSON object (Events API), or a form that is either a slash
    command or carries a `payload` JSON object (interactivity)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if content_type.startswith("application/json"):
        return _event_envelope(_json_object(text))
    form = parse_qs(text, keep_blank_values=True)
    if "payload" not in form:
        return bool(form.get("command")) and bool(form.get("user_id"))
    return _interaction(_json_object(form["payload"][-1]))


def socket_mode_payload(kind: Any, payload: Any) -> bool:
    """A Socket Mode envelope's payload of type `kind`: the JSON Slack would POST, as an object
    (a slash command's form fields too)."""
    if not isinstance(payload, dict):
        return False
    if kind == "events_api":
        return _event_envelope(payload)
    if kind == "interactive":
        return _interaction(payload)
    if kind == "slash_commands":
        return all(isinstance(payload.get(k), str) and payload[k] for k in ("command", "user_id"))
    return False


def _event_envelope(body: dict[str, Any] | None) -> bool:
    if body is None or not isinstance(body.get("type"), str):
        return False
    if body["type"] == "url_verification":
        return isinstance(body.get("challenge"), str)
    event = body.get("event")
    authorizations = body.get("authorizations", [])
    return (
        isinstance(event, dict)
        and isinstance(event.get("type"), str)
        and isinstance(authorizations, list)
        and all(isinstance(a, dict) for a in authorizations)
        and _optional(body, "team_id", str)
        and _optional(body, "api_app_id", str)
    )


def _interaction(payload: dict[str, Any] | None) -> bool:
    if payload is None or not isinstance(payload.get("type"), str):
        return False
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return False
    if not all(_optional(payload, key, dict) for key in ("team", "channel", "view", "container")):
        return False
    if not _optional(payload, "api_app_id", str):
        return False
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        return (
            isinstance(actions, list)
            and len(actions) > 0
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    if payload["type"] in ("view_submission", "view_closed"):
        return isinstance(payload.get("view"), dict)
    return True


def _optional(container: dict[str, Any], key: str, kind: type) -> bool:
    value = container.get(key)
    return value is None or isinstance(value, kind)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
