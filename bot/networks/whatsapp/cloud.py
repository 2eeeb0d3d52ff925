"""What the WhatsApp Cloud API's refusals mean to Carebridge.

The Cloud API is the Graph API: a refused call answers `{"error": {"message", "type", "code",
"error_subcode"?, "error_data": {"messaging_product", "details"}, "fbtrace_id"}}`, with HTTP
400 for nearly everything and 401 for a token it refuses. `translate()` turns such an answer
into the domain's delivery errors; the code decides, not the HTTP status. A reason carries
Meta's message and `details` (what an agent can act on: "must be at most 4096 characters"),
never the access token (Meta quotes a malformed one back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from bot.domain.delivery import (
    CredentialsRefused,
    DeliveryError,
    OutsideWindow,
    PermanentError,
    RateLimited,
    TransientError,
)
from bot.networks.meta import graph
from bot.networks.meta.graph import scrub

CREDENTIAL_CODES = frozenset({0, 102, 190})  # AuthException, invalid session, invalid token
# App calls (4), the business account's (80007), the number's throughput (130429), and too
# many messages to one customer (131056, the "pair rate limit").
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
REENGAGEMENT = 131047  # more than 24 hours since the customer last wrote
# Unknown error (1), service unavailable (2), something went wrong (131000), service
# unavailable (131016), server temporarily unavailable (133004).
TEMPORARY_CODES = frozenset({1, 2, 131000, 131016, 133004})
UNDELIVERABLE = 131026
NOT_ALLOWED = 131030  # a test number may write only to the recipients listed for it
TEMPLATE_MISSING = 132001
LONGEST_WAIT = timedelta(days=1)  # an absurd estimate must not park an account for weeks
WINDOW = timedelta(hours=24)


class ReengagementRequired(OutsideWindow):
    """The customer last wrote more than 24 hours ago (Meta's error 131047): a free-form
    message cannot go out until they write again; an approved template can."""

    def __init__(self, closed_at: datetime | None = None) -> None:
        super().__init__("WhatsApp", WINDOW, closed_at)


@dataclass(frozen=True)
class CloudError:
    """The error object of a Cloud API answer."""

    code: int | None
    subcode: int | None
    message: str
    details: str  # error_data.details: Meta's explanation of the message

    @classmethod
    def of(cls, body: Any) -> CloudError | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        message = error.get("message")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        return cls(
            code=_integer(error.get("code")),
            subcode=_integer(error.get("error_subcode")),
            message=message if isinstance(message, str) else "",
            details=details if isinstance(details, str) else "",
        )


def translate(
    response: requests.Response, doing: str, *, now: datetime, token: str
) -> DeliveryError:
    """The delivery error for a Cloud API answer that is not a success."""
    status = response.status_code
    try:
        error = CloudError.of(response.json())
    except ValueError:
        error = None
    if error is None:
        if status == 401:
            return CredentialsRefused(_refused_token(doing))
        if status >= 500:
            return TransientError(f"WhatsApp answered {status} while {doing}")
        return TransientError(f"WhatsApp sent an unreadable answer ({status}) while {doing}")
    said = ": ".join(part for part in (error.message, error.details) if part)
    detail = scrub(said, token) or f"error {error.code}"
    if error.code in RATE_LIMIT_CODES:
        return RateLimited(f"WhatsApp rate limit while {doing}: {detail}", regain_at(response, now))
    if error.code in CREDENTIAL_CODES or status == 401:
        return CredentialsRefused(_refused_token(doing))
    if error.code == REENGAGEMENT:
        return ReengagementRequired()
    if error.code == UNDELIVERABLE:
        return PermanentError(
            "WhatsApp cannot deliver to this customer (not on WhatsApp, an old app version, "
            "or they have not accepted WhatsApp's latest terms)"
        )
    if error.code == NOT_ALLOWED:
        return PermanentError(
            "this is a test number, which may write only to the recipients listed for it in "
            "the app's API Setup: add the customer there, or use the business's real number"
        )
    if error.code == TEMPLATE_MISSING:
        return PermanentError(
            f"WhatsApp knows no such approved template while {doing}: check "
            "WHATSAPP_REOPEN_TEMPLATE against WhatsApp Manager's message templates"
        )
    if error.code in TEMPORARY_CODES or status >= 500:
        return TransientError(f"WhatsApp had a temporary problem while {doing}: {detail}")
    return PermanentError(f"WhatsApp refused ({status}) while {doing}: {detail}")


def regain_at(response: requests.Response, now: datetime) -> datetime | None:
    """When access comes back: Retry-After (seconds) when given, else Meta's estimate in the
    usage headers, as for every Graph API call; None when nothing says."""
    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after.isascii() and retry_after.isdigit():
        return now + min(timedelta(seconds=int(retry_after)), LONGEST_WAIT)
    return graph.regain_at(response, now)


def _refused_token(doing: str) -> str:
    return (
        f"WhatsApp refused the access token while {doing}: it has expired, was revoked or is "
        "mistyped"
    )


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
