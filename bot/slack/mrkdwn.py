"""Between customer text and Slack markup, in both directions.

Into Slack: every value Carebridge did not write itself is escaped wherever Slack parses markup:
`&`, `<`, `>` become entities, so `<!channel>`, `<!here>` or `<@U123>` show as text and ping
nobody; `*`, `_`, `~` and backticks get a zero-width space on each side, so a display name like
`*Acme* support` cannot format the message (mrkdwn has no escape for them); and URLs and domains
get one where Slack would link them by itself. Links and mentions are built only from values
checked here. Where the text is the message itself, it goes
into a `rich_text` element, which Slack shows literally.

Out of Slack: an agent's message is Slack markup; the customer must get plain text.
"""

from __future__ import annotations

import re
from typing import TypeGuard

_SLACK_ENTITY = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_MENTIONABLE = re.compile(r"[UW][A-Z0-9]{1,20}")  # ids we stored; only their shape matters
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")
_SAFE_URL = re.compile(r"https?://[^\s<>|\x00-\x1f\x7f]+")
_FORMATTING = re.compile(r"([*_~`])")
# What Slack would turn into a link by itself in a top-level text: a scheme, a dot in a domain.
_LINKISH = re.compile(r"(?<=:)(?=//)|(?<=[^\W_])(?=\.[^\W_])")
ZERO_WIDTH_SPACE = "\u200b"


def is_user_id(value: object) -> TypeGuard[str]:
    """A Slack user id (U... or, in Enterprise Grid, W...), as events and payloads carry them."""
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates


def escape(text: str) -> str:
    """A value shown in mrkdwn exactly as it is: no entity, mention, link or formatting. A
    zero-width space also goes before the `//` of a scheme and the dots of a domain, so that
    Slack links no URL it finds (text objects are verbatim, a message's fallback text is not)."""
    # A right-to-left override in a display name would turn the rest of the line around.
    text = _BIDI_CONTROLS.sub("", text)
    text = _FORMATTING.sub(ZERO_WIDTH_SPACE + r"\1" + ZERO_WIDTH_SPACE, entities(text))
    return _LINKISH.sub(ZERO_WIDTH_SPACE, text)


def entities(text: str) -> str:
    """Text Carebridge wrote itself (a fix, a setting's name): only `&`, `<`, `>` need care."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_safe_url(url: str | None) -> bool:
    """A plain http(s) URL that cannot break out of `<url|label>`."""
    return bool(url) and _SAFE_URL.fullmatch(url or "") is not None


def link(url: str | None, label: str) -> str:
    """`<url|label>` when `url` is a plain http(s) URL, else just the (escaped) label."""
    if is_safe_url(url):
        return f"<{url}|{escape(label)}>"
    return escape(label)


def mention(user: str | None) -> str:
    """`<@U123>` for a Slack user id; anything else is shown, escaped, and pings nobody."""
    if user is None:
        return ""
    return f"<@{user}>" if _MENTIONABLE.fullmatch(user) else escape(user)


def mention_any(target: str) -> str:
    """A user (U..., W...) or a user group (S...) as Slack pings them."""
    if _GROUP_ID.fullmatch(target):
        return f"<!subteam^{target}>"
    return mention(target)


def channel_link(channel: str) -> str:
    return f"<#{channel}>" if _CHANNEL_ID.fullmatch(channel) else escape(channel)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_plain_text(slack_text: str) -> str:
    """An agent's Slack message as the customer should read it."""

    def entity(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):  # <@U123> or <@U123|anna>: a Slack user, not a customer
            return f"@{label}" if label else ""
        if target.startswith("#"):
            return f"#{label}" if label else ""
        if target.startswith("!"):  # <!here>, <!subteam^ID|@team>
            return label or "@" + target[1:].split("^")[0]
        if label is None:
            return target.removeprefix("mailto:")
        bare = target.split("://", 1)[-1].removeprefix("mailto:")
        if label in (target, bare):  # Slack auto-linked what the agent typed: keep it as typed
            return label
        return f"{label} ({target})"

    return unescape(_SLACK_ENTITY.sub(entity, slack_text)).strip()


def truncate(text: str, limit: int, suffix: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(suffix)] + suffix
