"""Point tweepy at another X API base URL, and give its requests a timeout.

tweepy builds every URL from the hard-coded `https://api.twitter.com` and passes no timeout to
requests. A transport adapter mounted on the client's session rewrites the URL (for the sandbox
emulator or a proxy) and applies a default timeout, without touching tweepy's OAuth signing.
"""

from __future__ import annotations

from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

X_HOST = "https://api.twitter.com"


class _RewritingAdapter(HTTPAdapter):
    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.url and request.url.startswith(X_HOST):
            request.url = self.base_url + request.url[len(X_HOST) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def point_client_at(client: tweepy.Client, base_url: str, *, timeout: float = 10.0) -> None:
    client.session.mount(X_HOST + "/", _RewritingAdapter(base_url, timeout))
