"""App Home: the agent's own open conversations and the team's unclaimed queue.

Both lists are ordered by priority, then by deadline (earliest first, none last), so the top line
is always the next thing to do. A view holds at most 100 blocks: each item is one section, and
when the lists are longer than the room left, the rest is summarised as "and N more".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.sla import Priority
from bot.i18n import _, ngettext
from bot.reports.render import human_duration
from bot.slack.blocks import Blocks, context, handle, section
from bot.slack.mrkdwn import escape, link, mention, truncate

MAX_BLOCKS = 100  # Slack's limit for a Home tab view
MAX_HEADER = 150  # Slack's limit for a header's text
TEXT_CHARS = 120  # the first words of the message; keeps a section far below its 3000 chars
# Blocks that are always there: two headers, the divider and the "updated" context. Each list
# also keeps one block for its empty state or its "and N more" note.
_FIXED_BLOCKS = 4
ITEM_BUDGET = MAX_BLOCKS - _FIXED_BLOCKS - 2

EMOJI = {
    Priority.URGENT: ":red_circle:",
    Priority.HIGH: ":large_orange_circle:",
    Priority.NORMAL: ":large_yellow_circle:",
    Priority.LOW: ":white_circle:",
}
_RANK = {priority: rank for rank, priority in enumerate(EMOJI)}  # urgent 0 ... low 3


@dataclass(frozen=True)
class HomeItem:
    conversation_id: int
    priority: str  # a Priority value: "urgent" | "high" | "normal" | "low"
    customer_name: str
    customer_handle: str
    network_label: str
    text: str  # the customer's first message
    permalink: str | None  # the Slack thread
    due_at: datetime | None  # the current response deadline
    on_hold: bool = False  # netiquette hold: no response clock
    account_handle: str = ""  # the brand account the customer wrote to


def home_view(
    mine: Sequence[HomeItem],
    queue: Sequence[HomeItem],
    now: datetime,
    *,
    user: str,
    totals: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The Home tab of `user`: {"type": "home", "blocks": [...]}, at most 100 blocks.

    `mine` are the conversations `user` owns, `queue` the unclaimed ones; either order is fine,
    both are sorted here. If both lists are long they share the room evenly; a short one leaves
    its unused room to the other. `totals`: how many there are in all, when the lists hold only
    the most urgent `ITEM_BUDGET` of each.
    """
    mine_total, queue_total = totals or (len(mine), len(queue))
    half = ITEM_BUDGET // 2
    mine_room = min(len(mine), max(half, ITEM_BUDGET - len(queue)))
    queue_room = ITEM_BUDGET - mine_room
    blocks: Blocks = [
        _header(_("Your conversations"), mine_total),
        *_items(
            order(mine),
            mine_room,
            mine_total,
            now,
            empty=_(
                "Nothing assigned to {user} right now. Claim one from the team queue below."
            ).format(user=mention(user)),
        ),
        {"type": "divider"},
        _header(_("Team queue"), queue_total),
        *_items(
            order(queue), queue_room, queue_total, now, empty=_("The queue is empty.") + " :tada:"
        ),
        context(_("Most urgent first") + f" · {_updated(now)}"),
    ]
    return {"type": "home", "blocks": blocks}


def order(items: Iterable[HomeItem]) -> list[HomeItem]:
    """Urgent to low, then the earliest deadline first (none last), then the oldest conversation.
    An unknown priority sorts, and shows, as normal rather than hiding the item."""

    def key(item: HomeItem) -> tuple[int, bool, float, int]:
        # 0.0 only stands in for "no deadline", which the flag before it already sorts last.
        due = item.due_at.timestamp() if item.due_at is not None else 0.0
        return (_RANK[_priority(item.priority)], item.due_at is None, due, item.conversation_id)

    return sorted(items, key=key)


def _items(items: list[HomeItem], room: int, total: int, now: datetime, *, empty: str) -> Blocks:
    if not items:
        return [section(empty)]
    shown = items[:room]
    blocks = [section(_line(item, now)) for item in shown]
    if total > len(shown):
        more = total - len(shown)
        note = ngettext("… and {n} more, not shown here.", "… and {n} more, not shown here.", more)
        blocks.append(context(note.format(n=more)))
    return blocks


def _line(item: HomeItem, now: datetime) -> str:
    where = escape(item.network_label)
    if item.account_handle:
        where += f" · {handle(item.account_handle)}"
    parts = [
        f"{EMOJI[_priority(item.priority)]} *{escape(item.customer_name)}* "
        f"({handle(item.customer_handle)})",
        where,
        _time_left(item, now),
    ]
    if item.permalink:
        parts.append(link(item.permalink, _("open thread")))
    text = " ".join(item.text.split())  # one line: a newline would end the quote
    quoted = escape(truncate(text, TEXT_CHARS)) or _("(no text)")
    return f"{' · '.join(parts)}\n> {quoted}"


def _time_left(item: HomeItem, now: datetime) -> str:
    """ "due in 12 min", "*overdue 5 min*", "due now", "no deadline", "on hold"."""
    if item.on_hold:
        return ":shield: " + _("on hold")
    if item.due_at is None:
        return _("no deadline")
    left = item.due_at - now
    if left >= timedelta(minutes=1):
        return _("due in {duration}").format(duration=human_duration(left))
    if left > -timedelta(minutes=1):
        return _("*due now*")  # "due in 20 s" would be stale before the agent reads it
    return _("*overdue {duration}*").format(duration=human_duration(-left))


def _priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        return Priority.NORMAL


def _header(title: str, count: int) -> dict[str, Any]:
    text = truncate(f"{title} ({count})", MAX_HEADER)
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _updated(now: datetime) -> str:
    """ "updated 14:32" in the viewer's own time zone (Slack's date token), with the time in
    `now`'s zone as the fallback for clients that cannot render it."""
    updated = _("updated {time}")
    fallback = updated.format(time=f"{now:%H:%M %Z}").strip()
    token = updated.format(time="{time}")  # Slack's own placeholder, filled in by the client
    return f"<!date^{int(now.timestamp())}^{token}|{fallback}>"
