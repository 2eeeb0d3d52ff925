"""A customer's history with us: the line on a card and the `/care customer @handle` answer.

Pure builders, plain data in, mrkdwn and blocks out. Every string a customer wrote (name, handle,
message) is escaped, so `<!channel>` in a tweet pings nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from babel.dates import format_date

from bot.domain.answers import PastConversation
from bot.domain.model import Status, Visibility
from bot.domain.priority import ordinal
from bot.i18n import N_, _, current, ngettext
from bot.reports.render import human_duration
from bot.slack.blocks import Blocks, button, context, handle, section
from bot.slack.mrkdwn import escape, is_safe_url, link, mention, truncate

OPEN_CRM = "open_crm"  # a link button: Slack still sends the action, so the app must ack it
MAX_LISTED = 15  # conversations listed by /care customer
RECENT_DAYS = 30
SUMMARY_CHARS = 120  # the first words of a message
# English ordinals by their suffix ("3rd"); another language writes its own ("3°").
_ORDINALS = {"st": N_("{n}st"), "nd": N_("{n}nd"), "rd": N_("{n}rd"), "th": N_("{n}th")}


def _ordinal(n: int) -> str:
    return _(_ORDINALS[ordinal(n).removeprefix(str(n))]).format(n=n)


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
    line = _("{ordinal} contact in {days} days").format(
        ordinal=_ordinal(contacts_in_30_days), days=RECENT_DAYS
    )
    if last is None:
        return line
    label = link(last.permalink, _("last")) if last.permalink else _("last")
    by = mention(last.resolved_by) if last.resolved_by else ""
    if here and last.network_label != here:
        network = escape(last.network_label)
        label = link(last.permalink, network) if last.permalink else network
        when = relative_time(last.resolved_at or last.opened_at, now)
        if last.status == Status.RESOLVED and by:
            also = _("also on {network} {when}: resolved by {user}")
        elif last.status == Status.RESOLVED:
            also = _("also on {network} {when}: resolved")
        else:
            also = _("also on {network}: {state}, opened {when}")
        return f"{line} · " + also.format(
            network=label, when=when, user=by, state=_unresolved(last)
        )
    if last.status == Status.RESOLVED:
        when = relative_time(last.resolved_at or last.opened_at, now)
        resolved = _("{last}: resolved by {user} {when}") if by else _("{last}: resolved {when}")
        return f"{line} · " + resolved.format(last=label, user=by, when=when)
    opened = _("{last}: {state}, opened {when}").format(
        last=label, state=_unresolved(last), when=relative_time(last.opened_at, now)
    )
    return f"{line} · {opened}"


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
        none_yet = _("No conversations with this customer yet.")
        blocks: Blocks = [section(f"{who}\n{none_yet}")]
    else:
        newest = sorted(conversations, key=lambda c: c.opened_at, reverse=True)
        recent = sum(1 for c in newest if now - c.opened_at <= timedelta(days=RECENT_DAYS))
        unresolved = sum(1 for c in newest if c.status != Status.RESOLVED)
        in_last = _("{recent} in the last {days} days").format(recent=recent, days=RECENT_DAYS)
        counts = [_count(len(newest)), in_last]
        if unresolved:
            # The English reads the same for one; ngettext lets other languages differ.
            not_resolved = ngettext("{n} not resolved", "{n} not resolved", unresolved)
            counts.append(not_resolved.format(n=unresolved))
        blocks = [section(f"{who}\n{' · '.join(counts)}")]
        blocks += [section(_report_line(c, now)) for c in newest[:MAX_LISTED]]
        if len(newest) > MAX_LISTED:
            showing = _("Showing the {shown} most recent of {total}.")
            blocks.append(context(showing.format(shown=MAX_LISTED, total=len(newest))))
    if crm_url and is_safe_url(crm_url):
        crm = {**button(_("Open in CRM"), OPEN_CRM, customer_handle[:100]), "url": crm_url}
        blocks.append({"type": "actions", "elements": [crm]})
    return fallback, blocks


def relative_time(then: datetime, now: datetime) -> str:
    """ "just now", "5 min ago", "3 h ago", "yesterday", "2 days ago", "3 weeks ago", "on 12 Mar"
    ("on 12 Mar 2025" in another year). Elapsed time, not calendar days; a `then` in the future
    (clock skew between hosts) is "just now"."""
    elapsed = now - then
    if elapsed < timedelta(minutes=1):
        return _("just now")
    if elapsed < timedelta(hours=1):
        return _("{n} min ago").format(n=elapsed // timedelta(minutes=1))
    if elapsed < timedelta(days=1):
        return _("{n} h ago").format(n=elapsed // timedelta(hours=1))
    days = elapsed.days
    if days < 2:
        return _("yesterday")
    if days < 7:
        return ngettext("{n} day ago", "{n} days ago", days).format(n=days)
    if days < 30:
        weeks = days // 7
        return ngettext("{n} week ago", "{n} weeks ago", weeks).format(n=weeks)
    local = then.astimezone(now.tzinfo)  # the date as seen where `now` is
    # CLDR's short month names: "12 Mar" in English, as before, "12 mar" in Italian.
    pattern = "d MMM" if local.year == now.year else "d MMM y"
    return _("on {date}").format(date=format_date(local, pattern, locale=current()))


def _report_line(conversation: PastConversation, now: datetime) -> str:
    public = conversation.visibility == Visibility.PUBLIC
    kind = _("{network} public") if public else _("{network} DM")
    parts = [
        f"*{relative_time(conversation.opened_at, now)}*",
        kind.format(network=escape(conversation.network_label)),
        _outcome(conversation),
        _first_response(conversation),
    ]
    if conversation.permalink:
        parts.append(link(conversation.permalink, _("thread")))
    summary = " ".join(conversation.summary.split())  # one line: a newline would end the quote
    quoted = escape(truncate(summary, SUMMARY_CHARS)) or _("(no text)")
    return f"{' · '.join(parts)}\n> {quoted}"


def _outcome(conversation: PastConversation) -> str:
    if conversation.status != Status.RESOLVED:
        return _unresolved(conversation)
    by = mention(conversation.resolved_by) if conversation.resolved_by else ""
    if conversation.resolved_at is None:
        return _("resolved by {user}").format(user=by) if by else _("resolved")
    after = human_duration(conversation.resolved_at - conversation.opened_at)
    resolved = _("resolved by {user} after {duration}") if by else _("resolved after {duration}")
    return resolved.format(user=by, duration=after)


def _unresolved(conversation: PastConversation) -> str:
    owner = mention(conversation.assignee) if conversation.assignee else ""
    if conversation.status == Status.WAITING_ON_CUSTOMER:
        return _("answered by {user}").format(user=owner) if owner else _("answered")
    if owner:
        return _("still open, claimed by {user}").format(user=owner)
    return _("still open, unclaimed")


def _first_response(conversation: PastConversation) -> str:
    if conversation.first_response is not None:
        duration = human_duration(conversation.first_response)
        return _("first response {duration}").format(duration=duration)
    return _("not answered yet") if conversation.status == Status.OPEN else _("no reply")


def _count(n: int) -> str:
    return ngettext("{n} conversation", "{n} conversations", n).format(n=n)
