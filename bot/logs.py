"""structlog set-up: readable on a terminal, JSON lines otherwise; secrets never reach the output.

Events are named with dots (`conversation.claimed`) and carry ids as fields. `configure_logging` is
called once by the entry point; nothing here runs at import time.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

import structlog

# Token shapes of Slack and X, redacted even when the value is not one of our own settings
# (e.g. a token echoed back inside an error message).
_TOKEN_PATTERN = re.compile(
    r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|AAAAAAAA[A-Za-z0-9%]+)"
)
REDACTED = "[redacted]"


class SecretRedactor:
    """A structlog processor that replaces known secret values and token-shaped strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_PATTERN.sub(REDACTED, text)

    def __call__(self, _logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {key: self._clean(value) for key, value in event.items()}

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(v) for v in value]
        return value


def configure_logging(
    log_format: str | None = None, secrets: Iterable[str] = (), level: int = logging.INFO
) -> None:
    console = log_format == "console" or (log_format is None and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if console
        else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        SecretRedactor(secrets),
    ]
    # Carebridge's events and the libraries' records (slack_bolt, apscheduler, waitress) go out
    # through one handler, so one lock keeps lines whole between threads (two writers of one
    # stream interleaved a JSON line now and then), with the same renderer and redactor.
    own = logging.getLogger("carebridge")
    own.setLevel(level)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_: own,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for noisy in ("slack_bolt", "slack_sdk", "apscheduler", "waitress"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
