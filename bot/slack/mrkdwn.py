"""Between customer text and Slack markup, in both directions.

Into Slack: customer text is escaped (`&`, `<`, `>`) wherever Slack parses markup, so
`<!channel>`, `<!here>` or `<@U123>` written by a customer show as text and ping nobody. Where the
text is the message itself, it goes into a `rich_text` element, which Slack shows literally.

Out of Slack: an agent's message is Slack markup; the customer must get plain text.
"""

from __future__ import annotations

import re

_SLACK_ENTITY = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def is_user_id(value: object) -> bool:
    """A Slack user id (U... or, in Enterprise Grid, W...), as events and payloads carry them."""
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
