"""The HTTP server: `/slack/events` (HTTP mode), `/healthz`, and the push networks' webhooks.

Requests are checked here before Bolt sees them: the size first (413: an oversized body is not
even read), then the signature and timestamp (401), then the shape (400). Bolt parses a body
before verifying it and assumes Slack's shapes, so without this an unsigned or malformed body
could answer 500. A webhook path goes to the networks that receive on it (bot.services.push),
which check their own signatures.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import structlog
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.services.push import Webhooks
from handlers.shapes import MAX_PAYLOAD_BYTES, well_formed

log = structlog.get_logger(__name__)
MAX_BODY_BYTES = MAX_PAYLOAD_BYTES

StartResponse = Callable[..., Any]
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


def wsgi_app(
    app: App,
    health: Callable[[], dict[str, Any]],
    signing_secret: str | None,
    webhooks: Webhooks | None = None,
) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    webhook_paths = set(webhooks.paths()) if webhooks is not None else set()

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            report = health()
            return _json(start_response, 200 if report.get("ok") else 503, report)
        if path in webhook_paths and webhooks is not None:
            return _webhook(webhooks, path, method, environ, start_response)
        if path != "/slack/events":
            return _json(start_response, 404, {"error": "not found"})
        if method != "POST":
            return _json(start_response, 405, {"error": "POST only"})
        body = _read(environ)
        if body is None:
            return _json(start_response, 413, {"error": "request too large"})
        if not _signed(verifier, body, environ):
            return _json(start_response, 401, {"error": "invalid signature"})
        if not well_formed(body, environ.get("CONTENT_TYPE", "")):
            log.warning("slack.malformed_request", size=len(body))
            return _json(start_response, 400, {"error": "malformed request"})
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            return slack(environ, start_response)
        except Exception:  # Bolt choked on a shape it assumed: a bad request, not our failure
            log.exception("slack.unparsable_request")
            return _json(start_response, 400, {"error": "malformed request"})

    return application


def _webhook(
    webhooks: Webhooks,
    path: str,
    method: str,
    environ: dict[str, Any],
    start_response: StartResponse,
) -> list[bytes]:
    if method == "GET":
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        status, text = webhooks.handshake(path, query)
        return _text(start_response, status, text)
    if method != "POST":
        return _json(start_response, 405, {"error": "GET or POST only"})
    body = _read(environ)
    if body is None:
        return _json(start_response, 413, {"error": "request too large"})
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    status, text = webhooks.receive(path, headers, body)
    return _json(start_response, status, {"ok": status == 200, "detail": text})


def _text(start_response: StartResponse, status: int, text: str) -> list[bytes]:
    payload = text.encode()
    start_response(
        f"{status} {REASONS[status]}",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def _signed(verifier: SignatureVerifier | None, body: bytes, environ: dict[str, Any]) -> bool:
    """Slack's v0 signature over the body, with a timestamp within five minutes."""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    if verifier is None or not signature or not timestamp or not timestamp.isdigit():
        return False
    headers = {"x-slack-signature": signature, "x-slack-request-timestamp": timestamp}
    try:
        return verifier.is_valid_request(body, headers)
    except ValueError:
        return False


def _read(environ: dict[str, Any]) -> bytes | None:
    """The body, or None when it is over the limit (chunked bodies included)."""
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length.isdigit():
        if int(length) > MAX_BODY_BYTES:
            return None
        return stream.read(int(length))
    body = stream.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {REASONS[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]
