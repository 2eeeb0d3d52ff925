"""The answers to `/care` commands, written for Slack: (fallback text, blocks or None)."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.domain import answers as a
from bot.domain.teams import TeamList, TeamStats
from bot.domain.templates import LANGUAGES, NoticeKind, describe_hours, describe_next_open
from bot.i18n import N_, _, current, ngettext, number, speaking
from bot.reports.csat import csat_blocks, summary_lines
from bot.reports.render import human_duration, kpi_blocks, one_decimal
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
    "vip": N_("Use: `/care vip add @handle note`, `/care vip remove @handle`, `/care vip list`"),
    "hours": N_(
        "Use: `/care hours set mon-fri 09:00-18:00; sat 09:00-13:00`, or `/care hours` to see "
        "them (name an account first for its own: `/care hours set acme-care mon-fri "
        "09:00-18:00`)"
    ),
    "customer": N_("Use: `/care customer @handle`"),
    "link": N_(
        "Use: `/care link @handle @other_handle`: add `network:` before a handle of another "
        "network (`instagram:@giulia`), a WhatsApp number as `+39 347 123 4521`, a Facebook "
        'customer by name in quotes (`"facebook:Giulia Rossi"`)'
    ),
    "unlink": N_('Use: `/care unlink @handle` (or `whatsapp:+39…`, `"facebook:Giulia Rossi"`)'),
    "audit": N_(
        "Use: `/care audit &lt;link to the conversation's thread&gt;` (Copy link on its card)"
    ),
    # {kinds} and {languages}: the notices and languages a template exists in.
    "template": N_(
        "Use: `/care template &lt;{kinds}&gt; &lt;{languages}&gt;`, e.g. "
        "`/care template out_of_hours it`"
    ),
    "language": N_("Use: `/care language it` (or `en`, or `auto` for your Slack language)"),
    "teams": N_(
        "Use: `/care teams add Billing #billing 4h` (the target is optional, in business time), "
        "`/care teams remove Billing`, `/care teams` to list them"
    ),
    "topics": N_(
        "Add or change one with `/care topics add fibra: ftth, modem, fibra ottica`; remove one "
        "with `/care topics remove fibra`."
    ),
    "stats": N_(
        "Use: `/care stats [today|24h|7d|30d] [account|all]`, `/care stats teams [7d|30d]`, "
        "`/care stats csat [7d|30d] [account|all]`, `/care stats replies [7d|30d]` or "
        "`/care stats topics [7d|30d]`"
    ),
}


def usage(command: str) -> str:
    """How to type `/care <command>`, in the language in force."""
    return _(USAGE[command]).format(kinds="|".join(NoticeKind), languages="|".join(LANGUAGES))


def render_answer(answer: a.Answer) -> Rendered:
    return _ANSWERS(answer)


def unknown_command(word: str) -> Rendered:
    unknown = _("Unknown command `{word}`.").format(word=escape(word[:40]))
    return f"{unknown}\n\n{help_text()}", None


@_renders(a.CommandError)
def _error(answer: a.CommandError) -> Rendered:
    how = f" {usage(answer.usage)}" if answer.usage else ""
    return f":warning: {escape(answer.message.rstrip('.'))}.{how}", None


@_renders(a.Usage)
def _usage(answer: a.Usage) -> Rendered:
    problem = f":warning: {escape(answer.problem)}. " if answer.problem else ""
    return problem + usage(answer.command), None


@_renders(a.HoursNow)
def _hours(answer: a.HoursNow) -> Rendered:
    zone = ZoneInfo(answer.zone)
    account = escape(answer.account) if answer.account else ""
    saved = _("Saved.") + " " if answer.saved else ""
    if answer.always_open:
        always = (
            _("Always open for *{account}* ({zone}).") if account else _("Always open ({zone}).")
        )
        return f"{saved}:clock9: " + always.format(account=account, zone=answer.zone), None
    hours = describe_hours(answer.hours, current())
    if answer.open_now:
        until = answer.changes_at
        state = (
            _("open now, until {time}").format(time=f"{until.astimezone(zone):%H:%M}")
            if until
            else _("open now")
        )
    else:
        opens = answer.changes_at
        state = (
            _("closed now, opening {when}").format(
                when=describe_next_open(opens, answer.now, zone, current())
            )
            if opens
            else _("closed now, opening not soon")
        )
    week = (
        _("{hours} for *{account}* ({zone}): {state}.")
        if account
        else _("{hours} ({zone}): {state}.")
    )
    text = week.format(hours=hours, account=account, zone=answer.zone, state=state)
    return f"{saved}:clock9: {text}", None


@_renders(a.OnCallNow)
def _on_call(answer: a.OnCallNow) -> Rendered:
    line = on_call_line(
        answer.user, answer.by_override, answer.until, answer.next_user, answer.now, answer.zone
    )
    return line, None


@_renders(a.VipList)
def _vips(answer: a.VipList) -> Rendered:
    if not answer.entries:
        return _("No VIPs yet.") + " " + usage("vip"), None
    several = len({e.network_label for e in answer.entries}) > 1
    lines = [
        f":star: {handle(e.handle)}{f' ({escape(e.network_label)})' if several else ''}: "
        f"{escape(e.note)}"
        for e in answer.entries
    ]
    return "\n".join(lines), None


@_renders(a.VipAdded)
def _vip_added(answer: a.VipAdded) -> Rendered:
    vip = _("{handle} is a VIP: {note}").format(
        handle=handle(answer.handle), note=escape(answer.note)
    )
    return f":star: {vip}", None


@_renders(a.VipRemoved)
def _vip_removed(answer: a.VipRemoved) -> Rendered:
    if answer.removed:
        return _("Removed {handle}.").format(handle=handle(answer.handle)), None
    return _("{handle} was not a VIP.").format(handle=handle(answer.handle)), None


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
    how = f" {usage(answer.usage)}" if answer.usage else ""
    return _("No customer {who} has written to us yet.").format(who=who) + how, None


@_renders(a.CustomersLinked)
def _linked(answer: a.CustomersLinked) -> Rendered:
    linked = _("Linked {first} and {second}: one person, one history. `/care unlink` undoes it.")
    return linked.format(first=someone(answer.first), second=someone(answer.second)), None


@_renders(a.CustomerUnlinked)
def _unlinked(answer: a.CustomerUnlinked) -> Rendered:
    unlinked = _("Unlinked {customer}: a person of their own again.")
    return unlinked.format(customer=someone(answer.customer)), None


@_renders(a.NotLinked)
def _not_linked(answer: a.NotLinked) -> Rendered:
    return _("{customer} is linked to no one.").format(customer=someone(answer.customer)), None


def someone(who: a.Someone) -> str:
    """ "@giulia on X", "Giulia Rossi on Facebook"."""
    return _("{customer} on {network}").format(
        customer=customer_ref(who.handle, who.name), network=escape(who.network_label)
    )


@_renders(a.AuditTrail)
def _audit(answer: a.AuditTrail) -> Rendered:
    zone = ZoneInfo(answer.zone)
    head = _("*Audit of {customer}'s conversation*").format(
        customer=customer_ref(answer.handle, answer.name)
    )
    if not answer.lines:
        nothing = _("Nothing recorded yet.")
        return f"{head}\n{nothing}", None
    # "05 Mar 14:32", as strftime("%d %b %H:%M") wrote it; "05 mar 14:32" in Italian. The
    # action is the audit's own word for it (`claim`, `take_over`), shown as recorded.
    lines = [
        f"{format_datetime(line.at, 'dd MMM HH:mm', tzinfo=zone, locale=current())} · "
        f"{mention(line.actor) if line.actor[:1] in 'UW' else escape(line.actor)} · "
        f"{line.action}{''.join(f' · {escape(d)}' for d in line.details)}"
        for line in answer.lines
    ]
    return "\n".join([head, *lines]), None


@_renders(a.NotAConversation)
def _not_a_conversation(answer: a.NotAConversation) -> Rendered:
    return _("That thread is not a Carebridge conversation.") + " " + usage("audit"), None


@_renders(a.TopicList)
def _topic_list(answer: a.TopicList) -> Rendered:
    done = f"{escape(answer.changed)}. " if answer.changed else ""
    if not answer.topics:
        none = _("The team has no topics: add one with `/care topics add <name>: <words>`.")
        return done + none, None
    listed = _("*Topics* ({count}), suggested from these words:")
    lines = [done + listed.format(count=len(answer.topics))]
    by_hand = _("(no words: chosen by hand)")
    for topic in answer.topics:
        words = ", ".join(topic.keywords[:12]) + (" …" if len(topic.keywords) > 12 else "")
        lines.append(f"• *{escape(topic.name)}*: {escape(words) or by_hand}")
    lines.append(usage("topics"))
    text = "\n".join(lines)
    return text, [section(truncate(text, 2900))]


@_renders(TeamList)
def _team_list(answer: TeamList) -> Rendered:
    done = f"{escape(answer.changed)}. " if answer.changed else ""
    if not answer.teams:
        return done + _("No specialist teams yet.") + " " + usage("teams"), None
    lines = [done + _("*Specialist teams* (*Forward* on a card hands a conversation over):")]
    for team in answer.teams:
        line = (
            _("*{team}* in {channel}, answers within {duration}")
            if team.target
            else _("*{team}* in {channel}")
        )
        line = line.format(
            team=escape(team.name),
            channel=channel_link(team.channel),
            duration=human_duration(team.target),
        )
        lines.append(f"• {line}")
    lines.append(usage("teams"))
    text = "\n".join(lines)
    return text, [section(truncate(text, 2900))]


@_renders(a.TopicStats)
def _topic_stats(answer: a.TopicStats) -> Rendered:
    title = _("Topics · {period}").format(period=answer.period)
    text = "\n".join(topic_lines(answer.topics, answer.growing, title))
    return text, [section(truncate(text, 2900))]


def topic_lines(
    topics: Sequence[a.TopicFigures], growing: str | None, title: str, *, top: int = 15
) -> list[str]:
    """Per topic: conversations (and the change), the share answered within target, the
    exchanges to resolve one. Shared with the weekly digest."""
    if not topics:
        return [_("*{title}*: no conversations.").format(title=title)]
    lines = [f"*{title}*"]
    for figures in topics[:top]:
        name = escape(figures.topic) if figures.topic else _("_no topic_")
        change = figures.conversations - figures.previous
        trend = f" ({'+' if change >= 0 else ''}{change})" if figures.previous else ""
        parts = [f"• *{name}*: {figures.conversations}{trend}"]
        if figures.within_target is not None:
            share = round(figures.within_target * 100)
            parts.append(_("{share}% answered within target").format(share=share))
        if figures.exchanges is not None:
            exchanges = one_decimal(figures.exchanges)
            parts.append(_("{exchanges} messages to resolve").format(exchanges=exchanges))
        lines.append(" · ".join(parts))
    if growing:
        fastest = _("Growing fastest: *{topic}*").format(topic=escape(growing))
        lines.append(f":chart_with_upwards_trend: {fastest}")
    return lines


LISTED_REPLIES = 25  # one section holds 3,000 characters


@_renders(a.SavedReplyStats)
def _saved_reply_stats(answer: a.SavedReplyStats) -> Rendered:
    total = sum(use.uses for use in answer.uses)
    if not answer.uses:
        none = _("Saved replies · {period}: no saved reply was sent.")
        return none.format(period=answer.period), None
    head = _("*Saved replies · {period}* · {total} sent ({share}% of {answers} answers)")
    share = total * 100 // max(answer.answers, 1)
    lines = [head.format(period=answer.period, total=total, share=share, answers=answer.answers)]
    for use in answer.uses[:LISTED_REPLIES]:
        by = ", ".join(f"{mention(user)} {count}" for user, count in use.by[:3])
        line = _("*{name}*: {uses} · {again}% wrote again within 24 h · by {by}").format(
            name=escape(use.name), uses=use.uses, again=use.wrote_again * 100 // use.uses, by=by
        )
        lines.append(f"• {line}")
    text = "\n".join(lines)
    return text, [section(text)]


@_renders(a.StatsReport)
def _stats(answer: a.StatsReport) -> Rendered:
    scope = _scope(answer.account, answer.channel)
    title = _("Carebridge stats · {period}").format(period=answer.period) + scope
    fallback, body = kpi_blocks(answer.report, title)
    if answer.csat is not None and answer.csat.team.asked:  # nothing when no survey was asked
        lines = [*summary_lines(answer.csat), _("`/care stats csat` shows all of it.")]
        body = [*body, section(truncate("\n".join(lines), 2900))]
    if answer.teams is not None:
        body = [*body, section(truncate("\n".join(team_lines(answer.teams, top=3)), 2900))]
    if answer.reads:
        reads = " · ".join(
            _("{account} {read} of {budget}").format(
                account=escape(name), read=number(read), budget=number(budget)
            )
            if budget
            else f"{escape(name)} {number(read)}"
            for name, read, budget in answer.reads
        )
        listening = _("Listening, posts read this month (X bills each): {reads}")
        body = [*body, context(listening.format(reads=reads))]
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
    head = _("*Specialist teams* · {period} · forwarded: {share} of {opened} conversations")
    lines = [head.format(period=escape(stats.period), share=share, opened=number(stats.opened))]
    # The English of these counts reads the same for one; ngettext lets other languages differ.
    for team in stats.teams[:top]:
        parts = [
            ngettext("{n} forwarded", "{n} forwarded", team.forwarded).format(n=team.forwarded),
            ngettext("{n} answered", "{n} answered", team.answered).format(n=team.answered),
        ]
        if team.median_time is not None:
            median = human_duration(team.median_time)
            parts.append(_("median {duration} with the team").format(duration=median))
        if team.with_target:
            parts.append(
                _("{within} of {total} within its target").format(
                    within=team.within_target, total=team.with_target
                )
            )
        if team.sent_back:
            sent_back = ngettext("{n} sent back", "{n} sent back", team.sent_back)
            parts.append(sent_back.format(n=team.sent_back))
        if team.taken_over:
            taken_over = ngettext("{n} taken over", "{n} taken over", team.taken_over)
            parts.append(taken_over.format(n=team.taken_over))
        lines.append(f"• *{escape(team.team)}*: {' · '.join(parts)}")
    if len(stats.teams) > top:
        lines.append(_("`/care stats teams` shows all {count}.").format(count=len(stats.teams)))
    return lines


@_renders(a.CsatStats)
def _csat_stats(answer: a.CsatStats) -> Rendered:
    scope = _scope(answer.account, answer.channel)
    title = _("Satisfaction (CSAT) · {period}").format(period=answer.period) + scope
    return csat_blocks(answer.report, title)


def _scope(account: str | None, channel: str | None) -> str:
    if account:
        return f" · {account}"
    return " · " + _("this channel") if channel else ""
