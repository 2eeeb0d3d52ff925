"""A customer's history with us: the line on a card and the `/care customer @handle` answer.

Pure builders, plain data in, mrkdwn and blocks out. Every string a customer wrote (name, handle,
message) is escaped, so `<!channel>` in a tweet pings nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.answers import PastConversation
from bot.domain.model import Status, Visibility
from bot.domain.priority import ordinal
from bot.reports.render import human_duration
from bot.slack.blocks import Blocks, button, context, handle, section
from bot.slack.mrkdwn import escape, is_safe_url, link, mention, truncate

OPEN_CRM = "open_crm"  # a link button: Slack still sends the action, so the app must ack it
MAX_LISTED = 15  # conversations listed by /care customer
RECENT_DAYS = 30
SUMMARY_CHARS = 120  # the first words of a message
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def history_line(
    contacts_in_30_days: int, last: PastConversation | None, now: datetime, here: str = ""
) -> str | None:
    """The card's history line; None for a first contact.

    "3rd contact in 30 days · <permalink|last>: resolved by <@U123> 2 days ago". Only the word
    "last" is the link: a link's label cannot hold a user mention, since both use angle brackets.
    `contacts_in_30_days` counts this conversation too. A last conversation on another
    network than `here` (a linked person's) says where: "also on <permalink|Facebook> 2 days
    ago: resolved by @anna".
    """
    if contacts_in_30_days <= 1:
        return None
    line = f"{ordinal(contacts_in_30_days)} contact in {RECENT_DAYS} days"
    if last is None:
        return line
    label = link(last.permalink, "last") if last.permalink else "last"
    if here and last.network_label != here:
        network = escape(last.network_label)
        label = link(last.permalink, network) if last.permalink else network
        when = relative_time(last.resolved_at or last.opened_at, now)
        if last.status == Status.RESOLVED:
            by = f" by {mention(last.resolved_by)}" if last.resolved_by else ""
            return f"{line} · also on {label} {when}: resolved{by}"
        return f"{line} · also on {label}: {_unresolved(last)}, opened {when}"
    if last.status == Status.RESOLVED:
        when = relative_time(last.resolved_at or last.opened_at, now)
        by = f" by {mention(last.resolved_by)}" if last.resolved_by else ""
        return f"{line} · {label}: resolved{by} {when}"
    return f"{line} · {label}: {_unresolved(last)}, opened {relative_time(last.opened_at, now)}"


def customer_report(
    customer_handle: str,
    name: str,
    conversations: Sequence[PastConversation],
    now: datetime,
    *,
    crm_url: str | None,
    number: str = "",
) -> tuple[str, Blocks]:
    """The private answer to `/care customer @handle`: (fallback text, blocks).

    A header with the name and the counts, then the most recent conversations, newest first, one
    section each, and an "Open in CRM" link button when `crm_url` is given. At most 18 blocks,
    well inside a message's 50.
    """
    handle_ = handle(customer_handle.lstrip("@")) if customer_handle else escape(number)
    who = f"*{escape(name)}* ({handle_})" if name else handle_
    fallback = f"{escape(name or customer_handle)} ({handle_}): {_count(len(conversations))}"
    if not conversations:
        blocks: Blocks = [section(f"{who}\nNo conversations with this customer yet.")]
    else:
        newest = sorted(conversations, key=lambda c: c.opened_at, reverse=True)
        recent = sum(1 for c in newest if now - c.opened_at <= timedelta(days=RECENT_DAYS))
        unresolved = sum(1 for c in newest if c.status != Status.RESOLVED)
        counts = [_count(len(newest)), f"{recent} in the last {RECENT_DAYS} days"]
        if unresolved:
            counts.append(f"{unresolved} not resolved")
        blocks = [section(f"{who}\n{' · '.join(counts)}")]
        blocks += [section(_report_line(c, now)) for c in newest[:MAX_LISTED]]
        if len(newest) > MAX_LISTED:
            blocks.append(context(f"Showing the {MAX_LISTED} most recent of {len(newest)}."))
    if crm_url and is_safe_url(crm_url):
        crm = {**button("Open in CRM", OPEN_CRM, customer_handle[:100]), "url": crm_url}
        blocks.append({"type": "actions", "elements": [crm]})
    return fallback, blocks


def relative_time(then: datetime, now: datetime) -> str:
    """ "just now", "5 min ago", "3 h ago", "yesterday", "2 days ago", "3 weeks ago", "on 12 Mar"
    ("on 12 Mar 2025" in another year). Elapsed time, not calendar days; a `then` in the future
    (clock skew between hosts) is "just now"."""
    elapsed = now - then
    if elapsed < timedelta(minutes=1):
        return "just now"
    if elapsed < timedelta(hours=1):
        return f"{elapsed // timedelta(minutes=1)} min ago"
    if elapsed < timedelta(days=1):
        return f"{elapsed // timedelta(hours=1)} h ago"
    days = elapsed.days
    if days < 2:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    if days < 30:
        weeks = days // 7
        return "1 week ago" if weeks == 1 else f"{weeks} weeks ago"
    local = then.astimezone(now.tzinfo)  # the date as seen where `now` is
    year = "" if local.year == now.year else f" {local.year}"
    return f"on {local.day} {_MONTHS[local.month - 1]}{year}"


def _report_line(conversation: PastConversation, now: datetime) -> str:
    kind = "public" if conversation.visibility == Visibility.PUBLIC else "DM"
    parts = [
        f"*{relative_time(conversation.opened_at, now)}*",
        f"{escape(conversation.network_label)} {kind}",
        _outcome(conversation),
        _first_response(conversation),
    ]
    if conversation.permalink:
        parts.append(link(conversation.permalink, "thread"))
    summary = " ".join(conversation.summary.split())  # one line: a newline would end the quote
    quoted = escape(truncate(summary, SUMMARY_CHARS)) or "(no text)"
    return f"{' · '.join(parts)}\n> {quoted}"


def _outcome(conversation: PastConversation) -> str:
    if conversation.status != Status.RESOLVED:
        return _unresolved(conversation)
    by = f" by {mention(conversation.resolved_by)}" if conversation.resolved_by else ""
    after = ""
    if conversation.resolved_at is not None:
        after = f" after {human_duration(conversation.resolved_at - conversation.opened_at)}"
    return f"resolved{by}{after}"


def _unresolved(conversation: PastConversation) -> str:
    owner = f" by {mention(conversation.assignee)}" if conversation.assignee else ""
    if conversation.status == Status.WAITING_ON_CUSTOMER:
        return f"answered{owner}"
    return f"still open, claimed{owner}" if owner else "still open, unclaimed"


def _first_response(conversation: PastConversation) -> str:
    if conversation.first_response is not None:
        return f"first response {human_duration(conversation.first_response)}"
    return "not answered yet" if conversation.status == Status.OPEN else "no reply"


def _count(n: int) -> str:
    return "1 conversation" if n == 1 else f"{n} conversations"
