"""Facts as Slack messages: what the services report, written for the channel.

`render(fact)` returns the fallback text and the blocks (None: the text alone). Every value in a
fact is escaped or checked here (`bot.slack.mrkdwn`); services never write markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from babel.numbers import format_decimal

from bot.domain import facts as f
from bot.domain.conversation import AgentMessageKind
from bot.domain.templates import describe_next_open
from bot.i18n import N_, _, current, ngettext, number
from bot.slack.blocks import (
    LIFT_HOLD,
    REOPEN,
    RETRY,
    SEND_TEMPLATE,
    TAKE_OVER,
    Blocks,
    actions,
    button,
    customer_ref,
    handle,
    section,
)
from bot.slack.content import ATTACHMENT_LABELS
from bot.slack.mrkdwn import (
    channel_link,
    entities,
    escape,
    is_safe_url,
    link,
    mention,
    mention_any,
    truncate,
)

Rendered = tuple[str, Blocks | None]
T = TypeVar("T")
Writer = Callable[[T], Rendered]


class Renderers:
    """A table from a type of value to the function that writes it for Slack; each function
    joins with `@table.renders(Kind)`."""

    def __init__(self) -> None:
        self._by_type: dict[type[Any], Callable[[Any], Rendered]] = {}

    def renders(
        self, kind: type[T]
    ) -> Callable[[Callable[[T], Rendered]], Callable[[T], Rendered]]:
        def register(function: Callable[[T], Rendered]) -> Callable[[T], Rendered]:
            self._by_type[kind] = function
            return function

        return register

    def __call__(self, value: object) -> Rendered:
        return self._by_type[type(value)](value)


_FACTS = Renderers()
_renders = _FACTS.renders
# Marked here, translated with `_()` where shown (here and on the card).
TARGET_LABEL = {
    "first_response": N_("first answer"),
    "next_response": N_("answer to the follow-up"),
}
NOBODY_ON_CALL = N_("(nobody is on call: /care oncall set ...)")

REFUSALS = {
    "not_member": N_("Only members of the support channel can work on its conversations."),
    "owner_or_lead": N_("Only the conversation's owner or a lead (SLACK_LEADS) can {detail}."),
    "not_on_hold": N_("This conversation is not on hold."),
    "reopen_first": N_("This conversation is resolved: reopen it first."),
    "already_yours": N_("This conversation is already yours."),
    "already_resolved": N_("This conversation is already resolved."),
    "topic_first": N_(
        "Pick a topic in the card's Topic menu first: the team resolves conversations with a "
        "topic (TOPIC_ON_RESOLVE=require)."
    ),
    "already_open": N_("This conversation is already open."),
    "not_public": N_("Only an open public conversation can move to DM."),
    "no_public_post": N_("There is no public post to reply to."),
    "no_private_messages": N_("{detail} has no private messages to invite the customer to."),
    "cannot_hide": N_("{detail} does not let the brand hide a customer's message."),
    "unknown_conversation": N_("That conversation no longer exists in Carebridge."),
    "try_again": N_(
        "Slack could not tell us just now who may do this. Please try again in a moment."
    ),
    "failed": N_("Something went wrong on our side (error id `{detail}`). Please try again."),
    "team_only": N_("Only members of {detail}'s channel can work on its requests."),
    "forward_over": N_("{detail} no longer has this request."),
}


def render(fact: f.Fact) -> Rendered:
    return _FACTS(fact)


def local_time(moment: datetime, now: datetime, zone: str) -> str:
    """ "14:32" today, "Tue 09:55" ("mar 09:55") another day: how agents read a deadline."""
    where = ZoneInfo(zone)
    local, today = moment.astimezone(where), now.astimezone(where)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    day = get_day_names("abbreviated", locale=current())[local.weekday()]
    return f"{day} {local.strftime('%H:%M')}"


# --- in a thread ----------------------------------------------------------------------------------
@_renders(f.NetiquetteHold)
def _hold(fact: f.NetiquetteHold) -> Rendered:
    text = ":shield: " + ngettext(
        "*Netiquette hold*: {customer} wrote abusively again ({reasons}) within {days} day of "
        "the rules. Nothing is sent and the response clock is stopped; the owner or a lead can "
        "lift the hold.",
        "*Netiquette hold*: {customer} wrote abusively again ({reasons}) within {days} days of "
        "the rules. Nothing is sent and the response clock is stopped; the owner or a lead can "
        "lift the hold.",
        fact.window_days,
    ).format(
        customer=customer_ref(fact.handle, fact.name),
        reasons=escape(fact.reasons),
        days=fact.window_days,
    )
    lift = button(_("Lift hold"), LIFT_HOLD, str(fact.conversation_id))
    return text, [section(text), actions(lift)]


@_renders(f.AbuseNoted)
def _abuse(fact: f.AbuseNoted) -> Rendered:
    label = _("Abusive message ({reasons}).").format(reasons=escape(fact.reasons))
    outcome = {
        "too_old": _("No notice for a message older than an hour."),
        "no_rules_url": _("No netiquette notice: NETIQUETTE_URL is not set."),
        "rules_sent": _("Sending the rules, once."),
    }[fact.outcome]
    return f":shield: {label} {outcome}", None


@_renders(f.OutOfHoursNotSent)
def _out_of_hours(fact: f.OutOfHoursNotSent) -> Rendered:
    when = describe_next_open(fact.opens_at, fact.decided_at, ZoneInfo(fact.zone), current())
    text = _(
        "No out-of-hours notice sent: automated public replies are off "
        "(OUT_OF_HOURS_PUBLIC=false). We open {when}."
    ).format(when=when)
    return ":crescent_moon: " + text, None


@_renders(f.HoldLifted)
def _lifted(fact: f.HoldLifted) -> Rendered:
    text = _("{user} lifted the netiquette hold.").format(user=mention(fact.user))
    return ":white_check_mark: " + text, None


@_renders(f.TakenOver)
def _taken_over(fact: f.TakenOver) -> Rendered:
    if fact.previous:
        text = _("{user} took over this conversation from {previous}.").format(
            user=mention(fact.user), previous=mention(fact.previous)
        )
    else:
        text = _("{user} took over this conversation from nobody.").format(user=mention(fact.user))
    return ":arrows_counterclockwise: " + text, None


@_renders(f.SentOnBehalf)
def _sent_on_behalf(fact: f.SentOnBehalf) -> Rendered:
    # The team's own words (the invitation to DM): shown as sent.
    text = _("Sent on {network} for {user}: {text}").format(
        network=escape(fact.network_label),
        user=mention(fact.author),
        text=entities(truncate(fact.text, 500)),
    )
    return ":outbox_tray: " + text, None


@_renders(f.NoticeSent)
def _notice_sent(fact: f.NoticeSent) -> Rendered:
    network, sent = escape(fact.network_label), entities(truncate(fact.text, 500))
    if fact.kind == "csat":
        text = _("Asked for a satisfaction score on {network}: {text}")
        return ":bar_chart: " + text.format(network=network, text=sent), None
    kind = escape(fact.kind.replace("_", "-"))
    # The team's template, filled with values Carebridge checked: shown as sent.
    text = _("Sent {kind} notice on {network}: {text}")
    return ":outbox_tray: " + text.format(kind=kind, network=network, text=sent), None


@_renders(f.AnsweredDirectly)
def _answered_directly(fact: f.AnsweredDirectly) -> Rendered:
    text = _("Answered on {network} directly: {text}").format(
        network=escape(fact.network_label), text=escape(truncate(fact.text, 500))
    )
    return ":speech_balloon: " + text, None


@_renders(f.CommentHidden)
def _hidden(fact: f.CommentHidden) -> Rendered:
    network = escape(fact.network_label)
    if not fact.ok:
        failed = (
            _("Could not hide the comment on {network}: {reason}")
            if fact.hidden
            else _("Could not show the comment on {network}: {reason}")
        )
        return ":warning: " + failed.format(network=network, reason=escape(fact.reason)), None
    if fact.by:
        done = (
            _("Comment hidden on {network} by {user}.")
            if fact.hidden
            else _("Comment shown again on {network} by {user}.")
        )
    else:
        done = (
            _("Comment hidden on {network} automatically: abusive again within the window.")
            if fact.hidden
            else _(
                "Comment shown again on {network} automatically: abusive again within the window."
            )
        )
    user = mention(fact.by) if fact.by else ""
    return ":see_no_evil: " + done.format(network=network, user=user), None


@_renders(f.DeliveryFailed)
def _delivery_failed(fact: f.DeliveryFailed) -> Rendered:
    text = ":warning: " + _("Not delivered to {customer} on {network}: {reason}").format(
        customer=customer_ref(fact.handle, fact.name),
        network=escape(fact.network_label),
        reason=escape(fact.reason),
    )
    return text, [section(text), actions(button(_("Retry"), RETRY, str(fact.message_id)))]


_SURVEY_SKIPPED = {
    "unreachable": N_("No satisfaction survey: {network} cannot reach this customer privately."),
    "window_closed": N_(
        "No satisfaction survey: {network}'s window for private messages has closed."
    ),
    "not_delivered": N_("No satisfaction survey: {network} refused it: {detail}."),
}


@_renders(f.SurveySkipped)
def _survey_skipped(fact: f.SurveySkipped) -> Rendered:
    if fact.reason == "cooldown":
        why = ngettext(
            "No satisfaction survey: the customer was asked less than {days} day ago "
            "(CSAT_COOLDOWN).",
            "No satisfaction survey: the customer was asked less than {days} days ago "
            "(CSAT_COOLDOWN).",
            fact.cooldown_days,
        )
    else:
        why = _(_SURVEY_SKIPPED.get(fact.reason, N_("No satisfaction survey: {detail}.")))
    text = why.format(
        network=escape(fact.network_label),
        days=fact.cooldown_days,
        detail=escape(truncate(fact.detail, 200)),
    )
    return ":bar_chart: " + text, None


def stars(score: int) -> str:
    """ "⭐ 4/5" """
    return f":star: {score}/5"


@_renders(f.SurveyAnswered)
def _survey_answered(fact: f.SurveyAnswered) -> Rendered:
    said = (
        _("{score} from {customer}: “{comment}”") if fact.comment else _("{score} from {customer}")
    )
    text = said.format(
        score=stars(fact.score),
        customer=customer_ref(fact.handle, fact.name),
        comment=entities(truncate(fact.comment, 300)),
    )
    if not fact.low:
        return text, None
    calls = " ".join(mention_any(x) for x in (fact.owner, *fact.leads) if x)
    low = _("Low satisfaction score: {rating}").format(rating=text)
    text = ":warning: " + low + (f"\n{calls}" if calls else "")
    reopen = button(_("Reopen"), REOPEN, str(fact.conversation_id))
    return text, [section(text), actions(reopen)]


@_renders(f.Forwarded)
def _forwarded(fact: f.Forwarded) -> Rendered:
    text = (
        _(
            "{user} forwarded this to *{team}* ({channel}): {note}. Their notes come here; the "
            "customer's clock keeps running."
        )
        if fact.note
        else _(
            "{user} forwarded this to *{team}* ({channel}). Their notes come here; the "
            "customer's clock keeps running."
        )
    )
    return ":arrow_right_hook: " + text.format(
        user=mention(fact.by),
        team=escape(fact.team),
        channel=channel_link(fact.channel),
        note=entities(truncate(fact.note, 500)),
    ), None


@_renders(f.SpecialistNote)
def _specialist_note(fact: f.SpecialistNote) -> Rendered:
    to = f"{mention(fact.owner)} " if fact.owner else ""
    internal = _("_Internal: not sent to the customer._")
    return (
        f":memo: {to}*{escape(fact.team)}*, {mention(fact.user)}: "
        f"{entities(truncate(fact.text, 2500))}\n{internal}",
        None,
    )


@_renders(f.SentBack)
def _sent_back(fact: f.SentBack) -> Rendered:
    text = (
        _("{owner}: *{team}* ({user}) sent this back to the care team.")
        if fact.owner
        else _("*{team}* ({user}) sent this back to the care team.")
    )
    owner = mention(fact.owner) if fact.owner else ""
    text = text.format(owner=owner, team=escape(fact.team), user=mention(fact.user))
    return ":leftwards_arrow_with_hook: " + text, None


@_renders(f.SpecialistTookOver)
def _specialist_took_over(fact: f.SpecialistTookOver) -> Rendered:
    text = (
        _(
            "{user} ({team}) took the conversation over from {previous}: they now answer the "
            "customer."
        )
        if fact.previous
        else _("{user} ({team}) took the conversation over: they now answer the customer.")
    )
    previous = mention(fact.previous) if fact.previous else ""
    text = text.format(user=mention(fact.user), team=escape(fact.team), previous=previous)
    where = " " + link(fact.thread_link, _("Support thread")) + "." if fact.thread_link else ""
    return f":arrows_counterclockwise: {text}{where}", None


@_renders(f.TeamTargetAlert)
def _team_target(fact: f.TeamTargetAlert) -> Rendered:
    when = local_time(fact.due_at, fact.decided_at, fact.zone)
    who = " ".join(mention(x) for x in (fact.specialist, fact.owner) if x)
    where = " " + link(fact.thread_link, _("Support thread")) if fact.thread_link else ""
    if fact.missed:
        text = ":rotating_light: " + _(
            "*{team}* missed its target ({time}): the customer is waiting."
        ).format(team=escape(fact.team), time=when)
    else:
        text = ":alarm_clock: " + _(
            "*{team}* target due at {time}: the customer is waiting."
        ).format(team=escape(fact.team), time=when)
    return f"{text} {who}{where}".strip(), None


@_renders(f.AnswerKept)
def _answer_kept(fact: f.AnswerKept) -> Rendered:
    text = ":hourglass_flowing_sand: " + _(
        "Not sent yet to {customer} on {network}: {reason}. It is kept and goes out by itself "
        "when they write again."
    ).format(
        customer=customer_ref(fact.handle, fact.name),
        network=escape(fact.network_label),
        reason=escape(fact.reason),
    )
    if not fact.can_reopen:
        return text, None
    ask = button(_("Send template"), SEND_TEMPLATE, str(fact.message_id))
    return text, [section(text + " " + _("*Send template* asks them to.")), actions(ask)]


def _example_links(urls: tuple[str, ...]) -> str:
    return " · ".join(link(url, _("example {n}").format(n=n)) for n, url in enumerate(urls, 1))


def _top_words(words: tuple[str, ...]) -> str:
    return _("top words: {words}").format(words=", ".join(escape(w) for w in words))


@_renders(f.SpikeAlerted)
def _spike(fact: f.SpikeAlerted) -> Rendered:
    details = [
        ngettext(
            "*Possible incident*: {count} negative post in {minutes} min (usually {usual})",
            "*Possible incident*: {count} negative posts in {minutes} min (usually {usual})",
            fact.count,
        ).format(count=fact.count, minutes=fact.minutes, usual=fact.usual)
    ]
    if fact.top_words:
        details.append(_top_words(fact.top_words))
    if fact.verified:
        details.append(
            ngettext(
                "{count} from a verified account", "{count} from verified accounts", fact.verified
            ).format(count=fact.verified)
        )
    links = _example_links(fact.examples)
    who = f" {mention(fact.on_call)}" if fact.on_call else ""
    text = f":rotating_light: {'; '.join(details)}.{who}" + (f"\n{links}" if links else "")
    return text, None


@_renders(f.SpikeSubsided)
def _spike_over(fact: f.SpikeSubsided) -> Rendered:
    zone = ZoneInfo(fact.zone)
    since = fact.started_at.astimezone(zone).strftime("%H:%M")
    text = _(
        "The wave of negative posts has subsided (since {time}, at most {peak} in the window)."
    ).format(time=since, peak=fact.peak)
    return ":white_check_mark: " + text, None


@_renders(f.ListeningSummary)
def _listening_summary(fact: f.ListeningSummary) -> Rendered:
    links = _example_links(fact.examples)
    details = [
        ngettext(
            "{count} more post on {network} about `{query}`: {negative} negative",
            "{count} more posts on {network} about `{query}`: {negative} negative",
            fact.count,
        ).format(
            count=fact.count,
            network=escape(fact.network_label),
            query=escape(fact.query),
            negative=fact.negative,
        )
    ]
    if fact.top_words:
        details.append(_top_words(fact.top_words))
    text = ":newspaper: " + "; ".join(details) + (f"\n{links}" if links else "")
    return text, None


@_renders(f.ListeningPaused)
def _listening_paused(fact: f.ListeningPaused) -> Rendered:
    text = ngettext(
        "Listening on {network} for *{account}* is paused until next month: {read} post read "
        "of {budget} (`X_READ_BUDGET`). Mentions and DMs go on as usual.",
        "Listening on {network} for *{account}* is paused until next month: {read} posts read "
        "of {budget} (`X_READ_BUDGET`). Mentions and DMs go on as usual.",
        fact.read,
    ).format(
        network=escape(fact.network_label),
        account=escape(fact.account),
        read=number(fact.read),
        budget=number(fact.budget),
    )
    return ":double_vertical_bar: " + text, None


@_renders(f.MediaNotCopied)
def _media_not_copied(fact: f.MediaNotCopied) -> Rendered:
    label = _(ATTACHMENT_LABELS.get(fact.kind, ATTACHMENT_LABELS["file"]))
    name = f" _{escape(fact.title)}_" if fact.title else ""
    if fact.size:
        text = _(
            "{label}{name} from the customer is not in this thread: it is {size}, more than the "
            "{limit} Carebridge copies (`MEDIA_COPY_MAX_MB`): ask the customer for a smaller one, "
            "or another way."
        )
    else:
        text = _(
            "{label}{name} from the customer is not in this thread: {network} did not give it: "
            "{reason}."
        )
    return text.format(
        label=label,
        name=name,
        size=megabytes(fact.size),
        limit=megabytes(fact.limit),
        network=escape(fact.network_label),
        reason=escape(fact.reason),
    ), None


def megabytes(size: int) -> str:
    """ "2 MB", "2.5 MB" ("2,5 MB")."""
    shown = format_decimal(round(size / (1024 * 1024), 1), format="0.#", locale=current())
    return f"{shown} MB"


@_renders(f.ReopenAsked)
def _reopen_asked(fact: f.ReopenAsked) -> Rendered:
    if fact.ok:
        text = _(
            "{user} sent the reopening template on {network}: the kept answers go out when the "
            "customer writes."
        ).format(user=mention(fact.by), network=escape(fact.network_label))
        return ":envelope_with_arrow: " + text, None
    text = _("The reopening template could not be sent: {reason}")
    return ":warning: " + text.format(reason=escape(fact.reason)), None


def _late(late: bool) -> str:
    return " " + _("(late: Carebridge was not running then)") if late else ""


@_renders(f.ResponseDueSoon)
def _due_soon(fact: f.ResponseDueSoon) -> Rendered:
    who = f"{mention(fact.who)} " if fact.who else ""
    due = local_time(fact.due_at, fact.decided_at, fact.zone)
    minutes = max(0, round((fact.due_at - fact.decided_at).total_seconds() / 60))
    what = _(TARGET_LABEL.get(fact.target, fact.target))
    text = _("{what} due at {time}, in {minutes} min.").format(what=what, time=due, minutes=minutes)
    return f":alarm_clock: {who}{text}{_late(fact.late)}", None


# --- in the channel -------------------------------------------------------------------------------
@_renders(f.ResponseMissed)
def _missed(fact: f.ResponseMissed) -> Rendered:
    what = _(TARGET_LABEL.get(fact.target, fact.target))
    due = local_time(fact.due_at, fact.decided_at, fact.zone)
    customer = customer_ref(fact.handle, fact.name)
    label = _("{customer}'s conversation").format(customer=customer)
    thread = f"<{fact.thread_link}|{label}>" if is_safe_url(fact.thread_link) else label
    headline = (
        _("Still unanswered: {what} was due at {time} for {thread}.")
        if fact.escalation
        else _("Target missed: {what} was due at {time} for {thread}.")
    ).format(what=what, time=due, thread=thread)
    people = [mention(fact.on_call)] if fact.on_call else []
    people += [mention_any(target) for target in fact.escalate_to]
    called = " ".join(people) or _(NOBODY_ON_CALL)
    return f":rotating_light: {headline}{_late(fact.late)} {called}", None


@_renders(f.UrgentConversation)
def _urgent(fact: f.UrgentConversation) -> Rendered:
    who = mention(fact.on_call) if fact.on_call else _(NOBODY_ON_CALL)
    text = _("*Urgent*: {customer} ({reasons}). {who}").format(
        customer=customer_ref(fact.handle, fact.name),
        reasons=escape(" · ".join(fact.reasons)),
        who=who,
    )
    return ":red_circle: " + text, None


@_renders(f.OnCallHandoff)
def _handoff(fact: f.OnCallHandoff) -> Rendered:
    return on_call_line(
        fact.user, fact.by_override, fact.until, fact.next_user, fact.decided_at, fact.zone
    ), None


def on_call_line(
    user: str | None,
    by_override: bool,
    until: datetime | None,
    next_user: str | None,
    now: datetime,
    zone: str,
) -> str:
    if user is None:
        return _("Nobody is on call. Set a rotation: `/care oncall set @a @b weekly mon 09:00`.")
    if until and by_override:
        line = _("On call now: {user} (override) until {time}")
    elif until:
        line = _("On call now: {user} until {time}")
    elif by_override:
        line = _("On call now: {user} (override)")
    else:
        line = _("On call now: {user}")
    ends = local_time(until, now, zone) if until else ""
    following = (
        " · " + _("next: {user}").format(user=mention(next_user))
        if next_user and next_user != user
        else ""
    )
    return ":bell: " + line.format(user=mention(user), time=ends) + following


def _who(handle_: str, account: str) -> str:
    return handle(handle_) if handle_ else f"*{escape(account)}*"


@_renders(f.AccountFailing)
def _failing(fact: f.AccountFailing) -> Rendered:
    text = _(
        "{network} has been failing since {time} for {account}: {reason}. New messages are not "
        "arriving; Carebridge keeps trying and will say when it is back."
    ).format(
        network=escape(fact.network_label),
        time=fact.since.strftime("%H:%M UTC"),
        account=_who(fact.handle, fact.account),
        reason=escape(fact.reason),
    )
    return ":warning: " + text, None


@_renders(f.AccountRecovered)
def _recovered(fact: f.AccountRecovered) -> Rendered:
    text = _(
        "{network} is back for {account}: messages arrive again (failing for {minutes} min)."
    ).format(
        network=escape(fact.network_label),
        account=_who(fact.handle, fact.account),
        minutes=fact.down_minutes,
    )
    return ":white_check_mark: " + text, None


@_renders(f.CredentialsRefused)
def _refused(fact: f.CredentialsRefused) -> Rendered:
    text = _(
        "{network} refused the credentials of the account *{account}*: {reason}. Nothing "
        "arrives from it and no answer can be sent until they are fixed. To fix: {fix}."
    ).format(
        network=escape(fact.network_label),
        account=escape(fact.account),
        reason=escape(fact.reason),
        fix=entities(fact.fix),
    )
    return ":no_entry: " + text, None


def code(error: str) -> str:
    """An API's error code, as code: only the characters such codes have."""
    return f"`{re.sub(r'[^a-z0-9_]', '', error.lower())[:60]}`"


@_renders(f.AppTokenRefused)
def _app_token_refused(fact: f.AppTokenRefused) -> Rendered:
    text = _(
        "Slack refused Carebridge's app-level token ({code}): in Socket Mode nothing from Slack "
        "reaches the bot (no answers from threads, no buttons, no /care) until it is fixed. To "
        "fix: at api.slack.com/apps > your app > Basic Information > App-Level Tokens, generate "
        "a token with connections:write, put it in SLACK_APP_TOKEN and restart Carebridge. It "
        "keeps trying every few minutes meanwhile."
    ).format(code=code(fact.reason))
    return ":no_entry: " + text, None


@_renders(f.CredentialsWork)
def _credentials_work(fact: f.CredentialsWork) -> Rendered:
    text = _(
        "{network} accepts the credentials of *{account}* ({who}) again: messages arrive again."
    ).format(
        network=escape(fact.network_label),
        account=escape(fact.account),
        who=_who(fact.handle, fact.account),
    )
    return ":white_check_mark: " + text, None


# --- privately ------------------------------------------------------------------------------------
@_renders(f.Refusal)
def _refusal(fact: f.Refusal) -> Rendered:
    return _(REFUSALS[fact.reason]).format(detail=entities(fact.detail)), None


@_renders(f.ClaimedByOther)
def _claimed(fact: f.ClaimedByOther) -> Rendered:
    text = _("{owner} already owns this conversation.").format(owner=mention(fact.owner))
    take_over = actions(button(_("Take over"), TAKE_OVER, str(fact.conversation_id)))
    hint = _("Take it over if they are away; they will see it in the thread.")
    return text, [section(f"{text} {hint}"), take_over]


ECHOED = 2500  # of an answer given back to its writer: a message holds 40,000, escaping grows


def _echo(text: str) -> str:
    shown = escape(truncate(text, ECHOED))
    if len(text) <= ECHOED:
        return shown
    return f"{shown}\n" + _("(the first {count} characters)").format(count=ECHOED)


def _too_long(fact: f.KeptInternal) -> str:
    if fact.private:
        text = ngettext(
            "Not sent: your answer is {length} character and a private message on {network} "
            "allows {limit}. Shorten it and post again. Your text:",
            "Not sent: your answer is {length} characters and a private message on {network} "
            "allows {limit}. Shorten it and post again. Your text:",
            fact.length,
        )
    else:
        text = ngettext(
            "Not sent: your answer is {length} character and a public reply on {network} allows "
            "{limit}. Shorten it and post again, or use Move to DM. Your text:",
            "Not sent: your answer is {length} characters and a public reply on {network} allows "
            "{limit}. Shorten it and post again, or use Move to DM. Your text:",
            fact.length,
        )
    said = text.format(length=fact.length, network=escape(fact.network_label), limit=fact.limit)
    return f"{said}\n```{_echo(fact.text)}```"


@_renders(f.KeptInternal)
def _kept_internal(fact: f.KeptInternal) -> Rendered:
    kind = AgentMessageKind(fact.kind)
    if kind == AgentMessageKind.NOTE:
        text = ":memo: " + _(
            "Kept internal: messages starting with `note:` are never sent to the customer."
        )
    elif kind == AgentMessageKind.NOT_MEMBER:
        text = ":lock: " + _(
            "Kept internal: only members of the support channel can answer customers."
        )
    elif kind == AgentMessageKind.NOT_OWNER:
        text = ":lock: " + _(
            "Kept internal: {owner} owns this conversation, so only their thread messages reach "
            "the customer."
        ).format(owner=mention(fact.owner))
    elif kind == AgentMessageKind.RESOLVED:
        text = ":lock: " + _(
            "Kept internal: this conversation is resolved. Press Reopen on the card to answer the "
            "customer."
        )
    elif kind == AgentMessageKind.BY_HAND:
        text = ":raised_hand: " + _(
            "Not sent: {network} lets apps reply only to posts that mention the brand. Answer on "
            "the post by hand (View on the card); once the customer writes to the brand, answers "
            "from here go out again."
        ).format(network=escape(fact.network_label))
    elif kind == AgentMessageKind.TOO_LONG:
        text = ":no_entry: " + _too_long(fact)
    else:
        raise ValueError(f"an answer of kind {kind} is not kept internal")
    if kind != AgentMessageKind.NOT_OWNER:
        return text, None
    take_over = actions(button(_("Take over"), TAKE_OVER, str(fact.conversation_id)))
    return text, [section(text), take_over]
