"""tweepy's and requests' exceptions as the domain's delivery errors, with a human reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import requests
import tweepy

from bot.domain.delivery import CredentialsRefused, PermanentError, RateLimited, TransientError
from bot.networks.x.payloads import MalformedPage


@contextmanager
def translated(doing: str) -> Iterator[None]:
    try:
        yield
    except tweepy.TooManyRequests as error:
        reset = error.response.headers.get("x-rate-limit-reset")
        retry_at = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        raise RateLimited(f"X rate limit while {doing}", retry_at) from error
    except tweepy.TwitterServerError as error:
        raise TransientError(f"X answered {error.response.status_code} while {doing}") from error
    except tweepy.Unauthorized as error:  # a revoked, expired or mistyped token: say so at once
        raise CredentialsRefused(
            f"X refused (401) while {doing}: the credentials were not accepted"
        ) from error
    except tweepy.HTTPException as error:
        detail = "; ".join(error.api_messages) or error.response.reason or "request refused"
        raise PermanentError(
            f"X refused ({error.response.status_code}) while {doing}: {detail}"
        ) from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise TransientError(f"X could not be reached while {doing}") from error
    except MalformedPage as error:
        raise TransientError(f"X sent a malformed answer while {doing}: {error}") from error
    except ValueError as error:  # tweepy could not decode the body (an HTML error page...)
        raise TransientError(f"X sent an unreadable answer while {doing}") from error
