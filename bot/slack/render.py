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

from bot.domain import facts as f
from bot.domain.conversation import AgentMessageKind
from bot.domain.templates import describe_next_open
from bot.i18n import N_, _
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
TARGET_LABEL = {"first_response": "first answer", "next_response": "answer to the follow-up"}
NOBODY_ON_CALL = "(nobody is on call: /care oncall set ...)"

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
    """ "14:32" today, "Tue 09:55" another day: how agents read a deadline."""
    where = ZoneInfo(zone)
    local, today = moment.astimezone(where), now.astimezone(where)
    return local.strftime("%H:%M" if local.date() == today.date() else "%a %H:%M")


# --- in a thread ----------------------------------------------------------------------------------
@_renders(f.NetiquetteHold)
def _hold(fact: f.NetiquetteHold) -> Rendered:
    text = (
        f":shield: *Netiquette hold*: {customer_ref(fact.handle, fact.name)} wrote abusively again "
        f"({escape(fact.reasons)}) within {fact.window_days} days of the rules. Nothing is sent "
        "and the response clock is stopped; the owner or a lead can lift the hold."
    )
    lift = button("Lift hold", LIFT_HOLD, str(fact.conversation_id))
    return text, [section(text), actions(lift)]


@_renders(f.AbuseNoted)
def _abuse(fact: f.AbuseNoted) -> Rendered:
    label = f":shield: Abusive message ({escape(fact.reasons)})."
    outcome = {
        "too_old": "No notice for a message older than an hour.",
        "no_rules_url": "No netiquette notice: NETIQUETTE_URL is not set.",
        "rules_sent": "Sending the rules, once.",
    }[fact.outcome]
    return f"{label} {outcome}", None


@_renders(f.OutOfHoursNotSent)
def _out_of_hours(fact: f.OutOfHoursNotSent) -> Rendered:
    when = describe_next_open(fact.opens_at, fact.decided_at, ZoneInfo(fact.zone), "en")
    return (
        ":crescent_moon: No out-of-hours notice sent: automated public replies are off "
        f"(OUT_OF_HOURS_PUBLIC=false). We open {when}.",
        None,
    )


@_renders(f.HoldLifted)
def _lifted(fact: f.HoldLifted) -> Rendered:
    return f":white_check_mark: {mention(fact.user)} lifted the netiquette hold.", None


@_renders(f.TakenOver)
def _taken_over(fact: f.TakenOver) -> Rendered:
    previous = mention(fact.previous) if fact.previous else "nobody"
    return (
        f":arrows_counterclockwise: {mention(fact.user)} took over this conversation from "
        f"{previous}.",
        None,
    )


@_renders(f.SentOnBehalf)
def _sent_on_behalf(fact: f.SentOnBehalf) -> Rendered:
    # The team's own words (the invitation to DM): shown as sent.
    return (
        f":outbox_tray: Sent on {escape(fact.network_label)} for {mention(fact.author)}: "
        f"{entities(truncate(fact.text, 500))}",
        None,
    )


@_renders(f.NoticeSent)
def _notice_sent(fact: f.NoticeSent) -> Rendered:
    if fact.kind == "csat":
        return (
            f":bar_chart: Asked for a satisfaction score on {escape(fact.network_label)}: "
            f"{entities(truncate(fact.text, 500))}",
            None,
        )
    kind = escape(fact.kind.replace("_", "-"))
    # The team's template, filled with values Carebridge checked: shown as sent.
    return (
        f":outbox_tray: Sent {kind} notice on {escape(fact.network_label)}: "
        f"{entities(truncate(fact.text, 500))}",
        None,
    )


@_renders(f.AnsweredDirectly)
def _answered_directly(fact: f.AnsweredDirectly) -> Rendered:
    return (
        f":speech_balloon: Answered on {escape(fact.network_label)} directly: "
        f"{escape(truncate(fact.text, 500))}",
        None,
    )


@_renders(f.CommentHidden)
def _hidden(fact: f.CommentHidden) -> Rendered:
    what = "hidden" if fact.hidden else "shown again"
    who = f"by {mention(fact.by)}" if fact.by else "automatically: abusive again within the window"
    if not fact.ok:
        action = "hide" if fact.hidden else "show"
        return (
            f":warning: Could not {action} the comment on {escape(fact.network_label)}: "
            f"{escape(fact.reason)}",
            None,
        )
    return f":see_no_evil: Comment {what} on {escape(fact.network_label)} {who}.", None


@_renders(f.DeliveryFailed)
def _delivery_failed(fact: f.DeliveryFailed) -> Rendered:
    text = (
        f":warning: Not delivered to {customer_ref(fact.handle, fact.name)} on "
        f"{escape(fact.network_label)}: {escape(fact.reason)}"
    )
    return text, [section(text), actions(button("Retry", RETRY, str(fact.message_id)))]


_SURVEY_SKIPPED = {
    "unreachable": "{network} cannot reach this customer privately",
    "window_closed": "{network}'s window for private messages has closed",
    "cooldown": "the customer was asked less than {days} days ago (CSAT_COOLDOWN)",
    "not_delivered": "{network} refused it: {detail}",
}


@_renders(f.SurveySkipped)
def _survey_skipped(fact: f.SurveySkipped) -> Rendered:
    why = _SURVEY_SKIPPED.get(fact.reason, "{detail}").format(
        network=escape(fact.network_label),
        days=fact.cooldown_days,
        detail=escape(truncate(fact.detail, 200)),
    )
    return f":bar_chart: No satisfaction survey: {why}.", None


def stars(score: int) -> str:
    """ "⭐ 4/5" """
    return f":star: {score}/5"


@_renders(f.SurveyAnswered)
def _survey_answered(fact: f.SurveyAnswered) -> Rendered:
    said = f": “{entities(truncate(fact.comment, 300))}”" if fact.comment else ""
    who = customer_ref(fact.handle, fact.name)
    text = f"{stars(fact.score)} from {who}{said}"
    if not fact.low:
        return text, None
    calls = " ".join(mention_any(x) for x in (fact.owner, *fact.leads) if x)
    text = f":warning: Low satisfaction score: {text}" + (f"\n{calls}" if calls else "")
    reopen = button("Reopen", REOPEN, str(fact.conversation_id))
    return text, [section(text), actions(reopen)]


@_renders(f.Forwarded)
def _forwarded(fact: f.Forwarded) -> Rendered:
    note = f": {entities(truncate(fact.note, 500))}" if fact.note else ""
    return (
        f":arrow_right_hook: {mention(fact.by)} forwarded this to *{escape(fact.team)}* "
        f"({channel_link(fact.channel)}){note}. Their notes come here; the customer's clock keeps "
        "running.",
        None,
    )


@_renders(f.SpecialistNote)
def _specialist_note(fact: f.SpecialistNote) -> Rendered:
    to = f"{mention(fact.owner)} " if fact.owner else ""
    return (
        f":memo: {to}*{escape(fact.team)}*, {mention(fact.user)}: "
        f"{entities(truncate(fact.text, 2500))}\n_Internal: not sent to the customer._",
        None,
    )


@_renders(f.SentBack)
def _sent_back(fact: f.SentBack) -> Rendered:
    to = f"{mention(fact.owner)}: " if fact.owner else ""
    return (
        f":leftwards_arrow_with_hook: {to}*{escape(fact.team)}* ({mention(fact.user)}) sent this "
        "back to the care team.",
        None,
    )


@_renders(f.SpecialistTookOver)
def _specialist_took_over(fact: f.SpecialistTookOver) -> Rendered:
    previous = f" from {mention(fact.previous)}" if fact.previous else ""
    where = f" {link(fact.thread_link, 'Support thread')}." if fact.thread_link else ""
    return (
        f":arrows_counterclockwise: {mention(fact.user)} ({escape(fact.team)}) took the "
        f"conversation over{previous}: they now answer the customer.{where}",
        None,
    )


@_renders(f.TeamTargetAlert)
def _team_target(fact: f.TeamTargetAlert) -> Rendered:
    when = local_time(fact.due_at, fact.decided_at, fact.zone)
    who = " ".join(mention(x) for x in (fact.specialist, fact.owner) if x)
    where = f" {link(fact.thread_link, 'Support thread')}" if fact.thread_link else ""
    if fact.missed:
        text = f":rotating_light: *{escape(fact.team)}* missed its target ({when})"
    else:
        text = f":alarm_clock: *{escape(fact.team)}* target due at {when}"
    return f"{text}: the customer is waiting. {who}{where}".strip(), None


@_renders(f.AnswerKept)
def _answer_kept(fact: f.AnswerKept) -> Rendered:
    text = (
        f":hourglass_flowing_sand: Not sent yet to {customer_ref(fact.handle, fact.name)} on "
        f"{escape(fact.network_label)}: {escape(fact.reason)}. It is kept and goes out by "
        "itself when they write again."
    )
    if not fact.can_reopen:
        return text, None
    ask = button("Send template", SEND_TEMPLATE, str(fact.message_id))
    return text, [section(text + " *Send template* asks them to."), actions(ask)]


def _example_links(urls: tuple[str, ...]) -> str:
    return " · ".join(link(url, f"example {n}") for n, url in enumerate(urls, 1))


@_renders(f.SpikeAlerted)
def _spike(fact: f.SpikeAlerted) -> Rendered:
    words = f"; top words: {', '.join(escape(w) for w in fact.top_words)}" if fact.top_words else ""
    verified = f"; {fact.verified} from verified accounts" if fact.verified else ""
    links = _example_links(fact.examples)
    who = f" {mention(fact.on_call)}" if fact.on_call else ""
    text = (
        f":rotating_light: *Possible incident*: {fact.count} negative posts in {fact.minutes} min "
        f"(usually {fact.usual}){words}{verified}.{who}" + (f"\n{links}" if links else "")
    )
    return text, None


@_renders(f.SpikeSubsided)
def _spike_over(fact: f.SpikeSubsided) -> Rendered:
    zone = ZoneInfo(fact.zone)
    since = fact.started_at.astimezone(zone).strftime("%H:%M")
    return (
        f":white_check_mark: The wave of negative posts has subsided (since {since}, at most "
        f"{fact.peak} in the window).",
        None,
    )


@_renders(f.ListeningSummary)
def _listening_summary(fact: f.ListeningSummary) -> Rendered:
    words = ", ".join(escape(w) for w in fact.top_words)
    links = _example_links(fact.examples)
    text = (
        f":newspaper: {fact.count} more posts on {escape(fact.network_label)} about "
        f"`{escape(fact.query)}`: {fact.negative} negative"
        + (f"; top words: {words}" if words else "")
        + (f"\n{links}" if links else "")
    )
    return text, None


@_renders(f.ListeningPaused)
def _listening_paused(fact: f.ListeningPaused) -> Rendered:
    return (
        f":double_vertical_bar: Listening on {escape(fact.network_label)} for "
        f"*{escape(fact.account)}* is paused until next month: {fact.read:,} posts read of "
        f"{fact.budget:,} (`X_READ_BUDGET`). Mentions and DMs go on as usual.",
        None,
    )


@_renders(f.MediaNotCopied)
def _media_not_copied(fact: f.MediaNotCopied) -> Rendered:
    label = ATTACHMENT_LABELS.get(fact.kind, ATTACHMENT_LABELS["file"])
    name = f" _{escape(fact.title)}_" if fact.title else ""
    if fact.size:
        why = (
            f"it is {megabytes(fact.size)}, more than the {megabytes(fact.limit)} Carebridge "
            "copies (`MEDIA_COPY_MAX_MB`): ask the customer for a smaller one, or another way"
        )
    else:
        why = f"{escape(fact.network_label)} did not give it: {escape(fact.reason)}"
    return f"{label}{name} from the customer is not in this thread: {why}.", None


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


@_renders(f.ReopenAsked)
def _reopen_asked(fact: f.ReopenAsked) -> Rendered:
    who = mention(fact.by)
    if fact.ok:
        return (
            f":envelope_with_arrow: {who} sent the reopening template on "
            f"{escape(fact.network_label)}: the kept answers go out when the customer writes.",
            None,
        )
    return f":warning: The reopening template could not be sent: {escape(fact.reason)}", None


@_renders(f.ResponseDueSoon)
def _due_soon(fact: f.ResponseDueSoon) -> Rendered:
    who = f"{mention(fact.who)} " if fact.who else ""
    due = local_time(fact.due_at, fact.decided_at, fact.zone)
    minutes = max(0, round((fact.due_at - fact.decided_at).total_seconds() / 60))
    late = " (late: Carebridge was not running then)" if fact.late else ""
    what = TARGET_LABEL.get(fact.target, fact.target)
    return f":alarm_clock: {who}{what} due at {due}, in {minutes} min.{late}", None


# --- in the channel -------------------------------------------------------------------------------
@_renders(f.ResponseMissed)
def _missed(fact: f.ResponseMissed) -> Rendered:
    what = TARGET_LABEL.get(fact.target, fact.target)
    due = local_time(fact.due_at, fact.decided_at, fact.zone)
    label = f"{customer_ref(fact.handle, fact.name)}'s conversation"
    thread = f"<{fact.thread_link}|{label}>" if is_safe_url(fact.thread_link) else label
    headline = (
        f"Still unanswered: {what} was due at {due} for {thread}"
        if fact.escalation
        else f"Target missed: {what} was due at {due} for {thread}"
    )
    late = " (late: Carebridge was not running then)" if fact.late else ""
    people = [mention(fact.on_call)] if fact.on_call else []
    people += [mention_any(target) for target in fact.escalate_to]
    return f":rotating_light: {headline}.{late} {' '.join(people) or NOBODY_ON_CALL}", None


@_renders(f.UrgentConversation)
def _urgent(fact: f.UrgentConversation) -> Rendered:
    who = mention(fact.on_call) if fact.on_call else NOBODY_ON_CALL
    reasons = escape(" · ".join(fact.reasons))
    return f":red_circle: *Urgent*: {customer_ref(fact.handle, fact.name)} ({reasons}). {who}", None


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
        return "Nobody is on call. Set a rotation: `/care oncall set @a @b weekly mon 09:00`."
    ends = f" until {local_time(until, now, zone)}" if until else ""
    how = " (override)" if by_override else ""
    following = f" · next: {mention(next_user)}" if next_user and next_user != user else ""
    return f":bell: On call now: {mention(user)}{how}{ends}{following}"


def _who(handle_: str, account: str) -> str:
    return handle(handle_) if handle_ else f"*{escape(account)}*"


@_renders(f.AccountFailing)
def _failing(fact: f.AccountFailing) -> Rendered:
    since = fact.since.strftime("%H:%M UTC")
    return (
        f":warning: {escape(fact.network_label)} has been failing since {since} for "
        f"{_who(fact.handle, fact.account)}: {escape(fact.reason)}. New messages are not "
        "arriving; Carebridge keeps trying and will say when it is back.",
        None,
    )


@_renders(f.AccountRecovered)
def _recovered(fact: f.AccountRecovered) -> Rendered:
    return (
        f":white_check_mark: {escape(fact.network_label)} is back for "
        f"{_who(fact.handle, fact.account)}: messages arrive again (failing for "
        f"{fact.down_minutes} min).",
        None,
    )


@_renders(f.CredentialsRefused)
def _refused(fact: f.CredentialsRefused) -> Rendered:
    text = (
        f":no_entry: {escape(fact.network_label)} refused the credentials of the account "
        f"*{escape(fact.account)}*: {escape(fact.reason)}. Nothing arrives from it and no answer "
        f"can be sent until they are fixed. To fix: {entities(fact.fix)}."
    )
    return text, None


def code(error: str) -> str:
    """An API's error code, as code: only the characters such codes have."""
    return f"`{re.sub(r'[^a-z0-9_]', '', error.lower())[:60]}`"


@_renders(f.AppTokenRefused)
def _app_token_refused(fact: f.AppTokenRefused) -> Rendered:
    text = (
        f":no_entry: Slack refused Carebridge's app-level token ({code(fact.reason)}): in "
        "Socket Mode nothing from Slack reaches the bot (no answers from threads, no buttons, no "
        "/care) until it is fixed. To fix: at api.slack.com/apps > your app > Basic Information > "
        "App-Level Tokens, generate a token with connections:write, put it in SLACK_APP_TOKEN and "
        "restart Carebridge. It keeps trying every few minutes meanwhile."
    )
    return text, None


@_renders(f.CredentialsWork)
def _credentials_work(fact: f.CredentialsWork) -> Rendered:
    return (
        f":white_check_mark: {escape(fact.network_label)} accepts the credentials of "
        f"*{escape(fact.account)}* ({_who(fact.handle, fact.account)}) again: messages arrive "
        "again.",
        None,
    )


# --- privately ------------------------------------------------------------------------------------
@_renders(f.Refusal)
def _refusal(fact: f.Refusal) -> Rendered:
    return _(REFUSALS[fact.reason]).format(detail=entities(fact.detail)), None


@_renders(f.ClaimedByOther)
def _claimed(fact: f.ClaimedByOther) -> Rendered:
    text = f"{mention(fact.owner)} already owns this conversation."
    take_over = actions(button("Take over", TAKE_OVER, str(fact.conversation_id)))
    return text, [
        section(text + " Take it over if they are away; they will see it in the thread."),
        take_over,
    ]


ECHOED = 2500  # of an answer given back to its writer: a message holds 40,000, escaping grows


def _echo(text: str) -> str:
    shown = escape(truncate(text, ECHOED))
    return shown if len(text) <= ECHOED else f"{shown}\n(the first {ECHOED} characters)"


def _where(fact: f.KeptInternal) -> str:
    return "a private message" if fact.private else "a public reply"


def _or_dm(fact: f.KeptInternal) -> str:
    return "" if fact.private else ", or use Move to DM"


@_renders(f.KeptInternal)
def _kept_internal(fact: f.KeptInternal) -> Rendered:
    kind = AgentMessageKind(fact.kind)
    reasons = {
        AgentMessageKind.NOTE: ":memo: Kept internal: messages starting with `note:` are "
        "never sent to the customer.",
        AgentMessageKind.NOT_MEMBER: ":lock: Kept internal: only members of the support "
        "channel can answer customers.",
        AgentMessageKind.NOT_OWNER: f":lock: Kept internal: {mention(fact.owner)} owns this "
        "conversation, so only their thread messages reach the customer.",
        AgentMessageKind.RESOLVED: ":lock: Kept internal: this conversation is resolved. "
        "Press Reopen on the card to answer the customer.",
        AgentMessageKind.BY_HAND: f":raised_hand: Not sent: {escape(fact.network_label)} lets "
        "apps reply only to posts that mention the brand. Answer on the post by hand (View on "
        "the card); once the customer writes to the brand, answers from here go out again.",
        AgentMessageKind.TOO_LONG: f":no_entry: Not sent: your answer is {fact.length} "
        f"characters and {_where(fact)} on {escape(fact.network_label)} allows {fact.limit}. "
        f"Shorten it and post again{_or_dm(fact)}. Your text:\n```{_echo(fact.text)}```",
    }
    text = reasons[kind]
    if kind != AgentMessageKind.NOT_OWNER:
        return text, None
    take_over = actions(button("Take over", TAKE_OVER, str(fact.conversation_id)))
    return text, [section(text), take_over]
