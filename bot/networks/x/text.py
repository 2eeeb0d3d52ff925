"""X's text rules: how it counts a post's length, and what a handle may be."""

from __future__ import annotations

import re
import unicodedata

X_MAX_WEIGHTED_LENGTH = 280
X_URL_WEIGHT = 23  # every link counts as a t.co link
HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")  # X's usernames: letters, digits, underscore
HANDLE_MAX_LENGTH = 15
# twitter-text v3: code points in these ranges weigh 1, all others (CJK, emoji...) weigh 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def x_weighted_length(text: str) -> int:
    """The length X counts against its 280 limit (twitter-text v3 weighting, NFC-normalised)."""
    text = unicodedata.normalize("NFC", text)
    length = 0
    for url in _URL.findall(text):
        length += X_URL_WEIGHT
        text = text.replace(url, "", 1)
    for char in text:
        code = ord(char)
        length += 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2
    return length


def profile_url(handle: str) -> str:
    return f"https://x.com/{handle}"
