"""The answers to `/care` commands, written for Slack: (fallback text, blocks or None)."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.domain import answers as a
from bot.domain.teams import TeamList, TeamStats
from bot.domain.templates import LANGUAGES, NoticeKind, describe_hours, describe_next_open
from bot.i18n import _, speaking
from bot.reports.csat import csat_blocks, summary_lines
from bot.reports.render import human_duration, kpi_blocks
from bot.slack.blocks import context, customer_ref, handle, section
from bot.slack.history import customer_report
from bot.slack.mrkdwn import channel_link, escape, mention, truncate
from bot.slack.render import Rendered, Renderers, on_call_line

_ANSWERS = Renderers()
_renders = _ANSWERS.renders


def help_text() -> str:
    """`/care help`, in the language of whoever asked."""
    lines = [
        _("*Carebridge* brings your social customer care into this channel."),
        _("Every customer conversation is one thread; press *Claim* to own it."),
        _("Write in the thread to answer the customer; start with `note:` to keep it internal."),
        _("*Move to DM* invites a public customer to continue privately."),
        _(
            "`/care oncall` shows who is on call; `/care oncall set @a @b weekly mon 09:00` sets "
            "the rotation; `/care oncall override @x 4h` puts someone on call for a while."
        ),
        _(
            "`/care stats [today|7d|30d] [account]` shows response times, satisfaction and more, "
            "for you only; `/care stats csat [7d|30d]` the satisfaction scores per agent, topic "
            "and network."
        ),
        _(
            "`/care hours [account]` shows the service hours; `/care hours set [account] "
            "mon-fri 09:00-18:00` changes them."
        ),
        _(
            "`/care template out_of_hours it` (or `netiquette`, `csat`, `en`) edits an automatic "
            "notice or the satisfaction survey's question."
        ),
        _(
            "`/care teams` lists the specialist teams (`/care teams add Billing #billing 4h`); "
            "*Forward* on a card hands a conversation to one."
        ),
        _(
            "`/care topics` lists the team's topics (each card suggests one; change it on the "
            "card); `/care topics add fibra: ftth, modem` adds one."
        ),
        _(
            "`/care replies` lists, adds and edits the team's saved replies; *Saved reply* on a "
            "card (or on a thread message's menu) sends one."
        ),
        _("`/care vip add @handle note` (or `remove`, `list`) keeps the VIP list."),
        _("`/care customer @handle` shows a customer's recent conversations, for you only."),
        _(
            '`/care link @handle whatsapp:+39… "facebook:Giulia Rossi"` joins one person\'s '
            "accounts, on any network, into one customer (or *Same person as…* on a card); "
            "`/care unlink @handle` undoes it."
        ),
        _("`/care audit &lt;thread link&gt;` shows who did what to a conversation."),
        _("`/care language it` (or `en`) sets the language Carebridge speaks to you."),
        _("`/care help` shows this message."),
    ]
    return lines[0] + "\n" + "\n".join(f"• {line}" for line in lines[1:])


USAGE = {
    "vip": "Use: `/care vip add @handle note`, `/care vip remove @handle`, `/care vip list`",
    "hours": "Use: `/care hours set mon-fri 09:00-18:00; sat 09:00-13:00`, or `/care hours` to "
    "see them (name an account first for its own: `/care hours set acme-care mon-fri 09:00-18:00`)",
    "customer": "Use: `/care customer @handle`",
    "link": "Use: `/care link @handle @other_handle`: add `network:` before a handle of another "
    "network (`instagram:@giulia`), a WhatsApp number as `+39 347 123 4521`, a Facebook "
    'customer by name in quotes (`"facebook:Giulia Rossi"`)',
    "unlink": 'Use: `/care unlink @handle` (or `whatsapp:+39…`, `"facebook:Giulia Rossi"`)',
    "audit": "Use: `/care audit &lt;link to the conversation's thread&gt;` (Copy link on its card)",
    "template": f"Use: `/care template &lt;{'|'.join(NoticeKind)}&gt; "
    f"&lt;{'|'.join(LANGUAGES)}&gt;`, "
    "e.g. `/care template out_of_hours it`",
    "language": "Use: `/care language it` (or `en`, or `auto` for your Slack language)",
    "teams": "Use: `/care teams add Billing #billing 4h` (the target is optional, in business "
    "time), `/care teams remove Billing`, `/care teams` to list them",
    "topics": "Add or change one with `/care topics add fibra: ftth, modem, fibra ottica`; "
    "remove one with `/care topics remove fibra`.",
    "stats": "Use: `/care stats [today|24h|7d|30d] [account|all]`, `/care stats teams [7d|30d]`, "
    "`/care stats csat [7d|30d] [account|all]`, `/care stats replies [7d|30d]` or "
    "`/care stats topics [7d|30d]`",
}


def render_answer(answer: a.Answer) -> Rendered:
    return _ANSWERS(answer)


def unknown_command(word: str) -> Rendered:
    unknown = _("Unknown command `{word}`.").format(word=escape(word[:40]))
    return f"{unknown}\n\n{help_text()}", None


@_renders(a.CommandError)
def _error(answer: a.CommandError) -> Rendered:
    usage = f" {USAGE[answer.usage]}" if answer.usage else ""
    return f":warning: {escape(answer.message.rstrip('.'))}.{usage}", None


@_renders(a.Usage)
def _usage(answer: a.Usage) -> Rendered:
    problem = f":warning: {escape(answer.problem)}. " if answer.problem else ""
    return problem + USAGE[answer.command], None


@_renders(a.HoursNow)
def _hours(answer: a.HoursNow) -> Rendered:
    zone = ZoneInfo(answer.zone)
    whose = f" for *{escape(answer.account)}*" if answer.account else ""
    saved = "Saved. " if answer.saved else ""
    if answer.always_open:
        return f"{saved}:clock9: Always open{whose} ({answer.zone}).", None
    hours = describe_hours(answer.hours, "en")
    if answer.open_now:
        until = answer.changes_at
        state = f"open now, until {until.astimezone(zone):%H:%M}" if until else "open now"
    else:
        opens = answer.changes_at
        when = describe_next_open(opens, answer.now, zone, "en") if opens else "not soon"
        state = f"closed now, opening {when}"
    return f"{saved}:clock9: {hours}{whose} ({answer.zone}): {state}.", None


@_renders(a.OnCallNow)
def _on_call(answer: a.OnCallNow) -> Rendered:
    line = on_call_line(
        answer.user, answer.by_override, answer.until, answer.next_user, answer.now, answer.zone
    )
    return line, None


@_renders(a.VipList)
def _vips(answer: a.VipList) -> Rendered:
    if not answer.entries:
        return "No VIPs yet. " + USAGE["vip"], None
    several = len({e.network_label for e in answer.entries}) > 1
    lines = [
        f":star: {handle(e.handle)}{f' ({escape(e.network_label)})' if several else ''}: "
        f"{escape(e.note)}"
        for e in answer.entries
    ]
    return "\n".join(lines), None


@_renders(a.VipAdded)
def _vip_added(answer: a.VipAdded) -> Rendered:
    return f":star: {handle(answer.handle)} is a VIP: {escape(answer.note)}", None


@_renders(a.VipRemoved)
def _vip_removed(answer: a.VipRemoved) -> Rendered:
    if answer.removed:
        return f"Removed {handle(answer.handle)}.", None
    return f"{handle(answer.handle)} was not a VIP.", None


@_renders(a.CustomerHistory)
def _customer(answer: a.CustomerHistory) -> Rendered:
    return customer_report(
        answer.handle,
        answer.name,
        answer.past,
        answer.now,
        crm_url=answer.crm_url,
        number=answer.number,
    )


@_renders(a.NoSuchCustomer)
def _no_customer(answer: a.NoSuchCustomer) -> Rendered:
    # A phone number ("+39...") is no @handle.
    who = ", ".join(escape(h) if h.startswith("+") else handle(h) for h in answer.handles)
    usage = f" {USAGE[answer.usage]}" if answer.usage else ""
    return f"No customer {who} has written to us yet.{usage}", None


@_renders(a.CustomersLinked)
def _linked(answer: a.CustomersLinked) -> Rendered:
    return (
        f"Linked {someone(answer.first)} and {someone(answer.second)}: one person, one "
        "history. `/care unlink` undoes it.",
        None,
    )


@_renders(a.CustomerUnlinked)
def _unlinked(answer: a.CustomerUnlinked) -> Rendered:
    return f"Unlinked {someone(answer.customer)}: a person of their own again.", None


@_renders(a.NotLinked)
def _not_linked(answer: a.NotLinked) -> Rendered:
    return f"{someone(answer.customer)} is linked to no one.", None


def someone(who: a.Someone) -> str:
    """ "@giulia on X", "Giulia Rossi on Facebook"."""
    return f"{customer_ref(who.handle, who.name)} on {escape(who.network_label)}"


@_renders(a.AuditTrail)
def _audit(answer: a.AuditTrail) -> Rendered:
    zone = ZoneInfo(answer.zone)
    head = f"*Audit of {customer_ref(answer.handle, answer.name)}'s conversation*"
    if not answer.lines:
        return f"{head}\nNothing recorded yet.", None
    lines = [
        f"{line.at.astimezone(zone):%d %b %H:%M} · "
        f"{mention(line.actor) if line.actor[:1] in 'UW' else escape(line.actor)} · "
        f"{line.action}{''.join(f' · {escape(d)}' for d in line.details)}"
        for line in answer.lines
    ]
    return "\n".join([head, *lines]), None


@_renders(a.NotAConversation)
def _not_a_conversation(answer: a.NotAConversation) -> Rendered:
    return f"That thread is not a Carebridge conversation. {USAGE['audit']}", None


@_renders(a.TopicList)
def _topic_list(answer: a.TopicList) -> Rendered:
    done = f"{escape(answer.changed)}. " if answer.changed else ""
    if not answer.topics:
        return (
            f"{done}The team has no topics: add one with `/care topics add <name>: <words>`.",
            None,
        )
    lines = [f"{done}*Topics* ({len(answer.topics)}), suggested from these words:"]
    for topic in answer.topics:
        words = ", ".join(topic.keywords[:12]) + (" …" if len(topic.keywords) > 12 else "")
        lines.append(f"• *{escape(topic.name)}*: {escape(words) or '(no words: chosen by hand)'}")
    lines.append(USAGE["topics"])
    text = "\n".join(lines)
    return text, [section(truncate(text, 2900))]


@_renders(TeamList)
def _team_list(answer: TeamList) -> Rendered:
    done = f"{escape(answer.changed)}. " if answer.changed else ""
    if not answer.teams:
        return f"{done}No specialist teams yet. {USAGE['teams']}", None
    lines = [f"{done}*Specialist teams* (*Forward* on a card hands a conversation over):"]
    for team in answer.teams:
        target = f", answers within {human_duration(team.target)}" if team.target else ""
        lines.append(f"• *{escape(team.name)}* in {channel_link(team.channel)}{target}")
    lines.append(USAGE["teams"])
    text = "\n".join(lines)
    return text, [section(truncate(text, 2900))]


@_renders(a.TopicStats)
def _topic_stats(answer: a.TopicStats) -> Rendered:
    text = "\n".join(topic_lines(answer.topics, answer.growing, f"Topics · {answer.period}"))
    return text, [section(truncate(text, 2900))]


def topic_lines(
    topics: Sequence[a.TopicFigures], growing: str | None, title: str, *, top: int = 15
) -> list[str]:
    """Per topic: conversations (and the change), the share answered within target, the
    exchanges to resolve one. Shared with the weekly digest."""
    if not topics:
        return [f"*{title}*: no conversations."]
    lines = [f"*{title}*"]
    for figures in topics[:top]:
        name = escape(figures.topic) if figures.topic else "_no topic_"
        change = figures.conversations - figures.previous
        trend = f" ({'+' if change >= 0 else ''}{change})" if figures.previous else ""
        parts = [f"• *{name}*: {figures.conversations}{trend}"]
        if figures.within_target is not None:
            parts.append(f"{round(figures.within_target * 100)}% answered within target")
        if figures.exchanges is not None:
            parts.append(f"{figures.exchanges:.1f} messages to resolve")
        lines.append(" · ".join(parts))
    if growing:
        lines.append(f":chart_with_upwards_trend: Growing fastest: *{escape(growing)}*")
    return lines


LISTED_REPLIES = 25  # one section holds 3,000 characters


@_renders(a.SavedReplyStats)
def _saved_reply_stats(answer: a.SavedReplyStats) -> Rendered:
    title = f"Saved replies · {answer.period}"
    total = sum(use.uses for use in answer.uses)
    if not answer.uses:
        return f"{title}: no saved reply was sent.", None
    share = f"{total * 100 // max(answer.answers, 1)}% of {answer.answers} answers"
    lines = [f"*{title}* · {total} sent ({share})"]
    for use in answer.uses[:LISTED_REPLIES]:
        by = ", ".join(f"{mention(user)} {count}" for user, count in use.by[:3])
        again = f"{use.wrote_again * 100 // use.uses}% wrote again within 24 h"
        lines.append(f"• *{escape(use.name)}*: {use.uses} · {again} · by {by}")
    text = "\n".join(lines)
    return text, [section(text)]


@_renders(a.StatsReport)
def _stats(answer: a.StatsReport) -> Rendered:
    scope = _scope(answer.account, answer.channel)
    fallback, body = kpi_blocks(answer.report, f"Carebridge stats · {answer.period}{scope}")
    if answer.csat is not None and answer.csat.team.asked:  # nothing when no survey was asked
        lines = [*summary_lines(answer.csat), "`/care stats csat` shows all of it."]
        body = [*body, section(truncate("\n".join(lines), 2900))]
    if answer.teams is not None:
        body = [*body, section(truncate("\n".join(team_lines(answer.teams, top=3)), 2900))]
    if answer.reads:
        reads = " · ".join(
            f"{escape(name)} {read:,}" + (f" of {budget:,}" if budget else "")
            for name, read, budget in answer.reads
        )
        body = [*body, context(f"Listening, posts read this month (X bills each): {reads}")]
    return fallback, body


@_renders(a.LanguageSet)
def _language_set(answer: a.LanguageSet) -> Rendered:
    with speaking(answer.language):  # said in the language just chosen
        if not answer.chosen:
            return _("Carebridge speaks your Slack language to you again."), None
        if answer.language == "it":
            return _("Carebridge now speaks Italian to you."), None
        return _("Carebridge now speaks English to you."), None


@_renders(TeamStats)
def _team_stats(answer: TeamStats) -> Rendered:
    text = "\n".join(team_lines(answer))
    return text, [section(truncate(text, 2900))]


def team_lines(stats: TeamStats, *, top: int = 15) -> list[str]:
    """ "Forwarded: 12% of 140 conversations" and "Billing: 9 forwarded · 8 answered, median
    2 h 10 min with the team · 7 of 8 within its target · 1 sent back"."""
    share = f"{stats.forwarded / stats.opened:.0%}" if stats.opened else "—"
    lines = [
        f"*Specialist teams* · {escape(stats.period)} · forwarded: {share} of "
        f"{stats.opened:,} conversations"
    ]
    for team in stats.teams[:top]:
        parts = [f"{team.forwarded} forwarded", f"{team.answered} answered"]
        if team.median_time is not None:
            parts.append(f"median {human_duration(team.median_time)} with the team")
        if team.with_target:
            parts.append(f"{team.within_target} of {team.with_target} within its target")
        if team.sent_back:
            parts.append(f"{team.sent_back} sent back")
        if team.taken_over:
            parts.append(f"{team.taken_over} taken over")
        lines.append(f"• *{escape(team.team)}*: {' · '.join(parts)}")
    if len(stats.teams) > top:
        lines.append(f"`/care stats teams` shows all {len(stats.teams)}.")
    return lines


@_renders(a.CsatStats)
def _csat_stats(answer: a.CsatStats) -> Rendered:
    scope = _scope(answer.account, answer.channel)
    return csat_blocks(answer.report, f"Satisfaction (CSAT) · {answer.period}{scope}")


def _scope(account: str | None, channel: str | None) -> str:
    if account:
        return f" · {account}"
    return " · this channel" if channel else ""
