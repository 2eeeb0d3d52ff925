"""The Graph API as Carebridge calls it (Facebook Pages and Instagram accounts alike), and what
its refusals mean.

Meta answers a refused call with `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}` (see shared/fixtures/meta/graph/) and reports rate-limit usage in headers.
`translate()` turns such an answer into the domain's delivery errors, with a reason an agent can
act on; the codes, not the HTTP status, decide, because Meta uses 400 and 403 for nearly
everything. A reason never carries the Page token, even where Meta's own message quotes it
("Malformed access token ...").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from bot.clock import Clock
from bot.domain.delivery import (
    CredentialsRefused,
    DeliveryError,
    OutsideWindow,
    PermanentError,
    RateLimited,
    TransientError,
)

# App (4), user (17), Page (32) and per-call (613) platform limits, and the business use case
# limits of Pages (80001), Instagram (80002) and Messenger (80006).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006})
TEMPORARY_CODES = frozenset({1, 2})  # "An unknown error occurred", "Service temporarily ..."
CREDENTIAL_CODES = frozenset({102, 190})  # an expired or invalidated session / access token
OUTSIDE_WINDOW = (10, 2018278)
ALREADY_REPLIED = 10900  # a comment's one private reply was sent already
NOT_AVAILABLE = 551  # the person blocked the Page, left Facebook...
NO_MATCHING_USER = (100, 2018001)
# Headers that may say when access comes back (`estimated_time_to_regain_access`, minutes).
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage")
LONGEST_WAIT = timedelta(days=1)  # an absurd estimate must not park an account for weeks


class NotReachable(PermanentError):
    """Facebook will not carry this private message to this person: the 7 days to answer a
    comment privately are over, the person is not available, or Messenger knows no such person
    for the Page. (Messenger's own reply windows are the domain's `OutsideWindow`.)"""


class AlreadyReplied(PermanentError):
    """The comment has had its one private reply already (possibly an earlier attempt of this
    very reply whose answer was lost)."""


@dataclass(frozen=True)
class Refusals:
    """What a refusal means for the call at hand, in words an agent can act on."""

    # A Messenger answer's reply window (24 hours, or 7 days with the Human Agent tag): Meta's
    # "outside of allowed window" is then the domain's OutsideWindow.
    messenger_window: timedelta | None = None
    outside_window: str = "Facebook no longer allows this answer: the time to answer has passed"
    # Code 10 without a known subcode: a permission the app lacks (the Human Agent tag).
    not_permitted: str | None = None
    network: str = "Meta"  # whose refusal it is, in the reasons (the network using the API)
    private_name: str = "Messenger"  # what its private messages are called


@dataclass(frozen=True)
class GraphError:
    """The error object of a Graph API answer."""

    code: int | None
    subcode: int | None
    message: str
    transient: bool

    @classmethod
    def of(cls, body: Any) -> GraphError | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        message = error.get("message")
        return cls(
            code=_integer(error.get("code")),
            subcode=_integer(error.get("error_subcode")),
            message=message if isinstance(message, str) else "",
            transient=error.get("is_transient") is True,
        )


def translate(
    response: requests.Response,
    doing: str,
    *,
    now: datetime,
    token: str,
    refusals: Refusals | None = None,
) -> DeliveryError:
    """The delivery error for a Graph API answer that is not a success."""
    refusals = refusals or Refusals()
    network = refusals.network
    status = response.status_code
    try:
        error = GraphError.of(response.json())
    except ValueError:
        error = None
    if error is None:
        if status >= 500:
            return TransientError(f"{network} answered {status} while {doing}")
        return TransientError(f"{network} sent an unreadable answer ({status}) while {doing}")
    detail = scrub(error.message, token) or f"error {error.code}"
    if error.code in RATE_LIMIT_CODES:
        return RateLimited(
            f"{network} rate limit while {doing}: {detail}", regain_at(response, now)
        )
    if error.code in CREDENTIAL_CODES:
        return CredentialsRefused(
            f"{network} refused the Page access token while {doing}: it has expired, was "
            "revoked or is mistyped"
        )
    if (error.code, error.subcode) == OUTSIDE_WINDOW:
        if refusals.messenger_window is not None:
            return OutsideWindow(refusals.private_name, refusals.messenger_window, None)
        return NotReachable(refusals.outside_window)
    private = refusals.private_name
    if ALREADY_REPLIED in (error.code, error.subcode):
        return AlreadyReplied(
            f"This comment already has a private reply, and {network} allows only one: "
            f"continue in {private} once the customer writes, or reply publicly"
        )
    if error.code == NOT_AVAILABLE:
        return NotReachable(
            f"This person isn't available on {private} right now (they may have blocked the "
            f"account or left {network})"
        )
    if (error.code, error.subcode) == NO_MATCHING_USER:
        return NotReachable(f"{private} knows no such person for this account")
    if error.code == 10 and refusals.not_permitted is not None:
        return PermanentError(refusals.not_permitted)
    if error.code in TEMPORARY_CODES or error.transient or status >= 500:
        return TransientError(f"{network} had a temporary problem while {doing}: {detail}")
    return PermanentError(f"{network} refused ({status}) while {doing}: {detail}")


class GraphClient:
    """Calls to the Graph API with one token: in the Authorization header (never in a URL, so
    no URL in a log or an exception carries it), with a timeout, refusals translated."""

    def __init__(
        self, graph_url: str, token: str, clock: Clock, timeout: float, network: str
    ) -> None:
        self.graph_url = graph_url.rstrip("/")  # with the version: https://graph.../v25.0
        self.clock = clock
        self.timeout = timeout
        self.network = network
        self._token = token
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:  # never the token
        return f"GraphClient({self.graph_url!r})"

    def call(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        refusals: Refusals | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._session.request(
                method, f"{self.graph_url}/{path}", params=params, json=body, timeout=self.timeout
            )
        except requests.RequestException as error:  # refused, reset, timed out, cut short
            raise TransientError(f"{self.network} could not be reached while {doing}") from error
        if not response.ok:
            refusals = refusals or Refusals(network=self.network)
            raise translate(
                response, doing, now=self.clock.now(), token=self._token, refusals=refusals
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise TransientError(f"{self.network} sent an unreadable answer while {doing}")
        return answer


def created_id(answer: dict[str, Any], key: str, doing: str, network: str) -> str:
    """The id of what a call made; a malformed answer may still have taken effect, so it is
    a TransientError: a retry looks for it first (`find_sent`)."""
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise TransientError(f"{network} sent a malformed answer while {doing}")
    return value


def items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a Graph listing's `data`."""
    data = body.get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def graph_time(value: Any) -> datetime | None:
    """A Graph API time, "2026-11-23T09:00:00+0000"; None when it is none."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def regain_at(response: requests.Response, now: datetime) -> datetime | None:
    """When Meta estimates access comes back, from the usage headers; None when none says."""
    minutes: list[float] = []
    for name in USAGE_HEADERS:
        raw = response.headers.get(name)
        if not raw:
            continue
        try:
            minutes.extend(_estimates(json.loads(raw)))
        except ValueError:
            continue  # a malformed header says nothing
    if not minutes:
        return None
    return now + min(timedelta(minutes=max(minutes)), LONGEST_WAIT)


def _estimates(usage: Any) -> Iterator[float]:
    """Every `estimated_time_to_regain_access` in a usage header: flat in X-App-Usage and
    X-Page-Usage, in a list per business object in X-Business-Use-Case-Usage."""
    if isinstance(usage, list):
        for item in usage:
            yield from _estimates(item)
    elif isinstance(usage, dict):
        value = usage.get("estimated_time_to_regain_access")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            yield float(value)
        for nested in usage.values():
            if isinstance(nested, list | dict):
                yield from _estimates(nested)


def scrub(text: str, secret: str) -> str:
    """`text` without `secret` in it: Meta quotes a malformed token back in its message."""
    return text.replace(secret, "[redacted]") if secret else text


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
