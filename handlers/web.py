"""HTTP mode: a WSGI application with `/slack/events` (Bolt verifies signatures) and `/healthz`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; anything bigger is not Slack

StartResponse = Callable[..., Any]


def wsgi_app(app: App, health: Callable[[], dict[str, Any]]) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            report = health()
            return _json(start_response, 200 if report.get("ok") else 503, report)
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, 405, {"error": "POST only"})
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
                return _json(start_response, 413, {"error": "request too large"})
            return slack(environ, start_response)
        return _json(start_response, 404, {"error": "not found"})

    return application


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {
        200: "OK",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        503: "Service Unavailable",
    }[status]
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]
