"""Point a tweepy `Client` at another base URL, and give its requests a default timeout.

tweepy hard-codes `https://api.twitter.com` and passes no timeout to `requests`, so a hung
connection would block the caller forever. `point_client_at` mounts a transport adapter on the
client's session that rewrites the scheme and host of every request to `base_url` (path and
query kept) and applies a timeout when the caller gave none.

Used by the X channel adapter: in production `base_url` is the real API and only the timeout
applies; in tests and the sandbox it is the loopback X emulator.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests
import tweepy
from requests.adapters import HTTPAdapter

X_API_BASE_URL = "https://api.twitter.com"
_PREFIX = X_API_BASE_URL + "/"


class RewritingAdapter(HTTPAdapter):
    """An `HTTPAdapter` that sends `https://api.twitter.com/...` requests to `base_url` instead."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self.base_url != X_API_BASE_URL and url.startswith(_PREFIX):
            # The OAuth 1.0a signature was computed over the original URL, as for the real API;
            # the emulator verifies it over that URL too. The real API is never rewritten.
            request.url = self.base_url + url[len(X_API_BASE_URL) :]
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def point_client_at(client: tweepy.Client, base_url: str, *, timeout: float = 10.0) -> None:
    """Send `client`'s API requests to `base_url`, each with `timeout` seconds unless given one."""
    # requests picks the longest matching prefix, so this wins over the default "https://".
    client.session.mount(_PREFIX, RewritingAdapter(base_url, timeout=timeout))
