"""Block Kit builders: pure functions from plain data to (fallback text, blocks).

Every value Carebridge did not write is escaped for mrkdwn (`bot.slack.mrkdwn`), or placed in
`rich_text` elements, which Slack renders literally; nothing a customer writes can ping, link or
format. Links and mentions are built from checked values only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from babel.numbers import format_decimal

from bot.domain.crm import CrmFacts
from bot.domain.model import Status, Visibility
from bot.domain.people import Elsewhere, Suggested
from bot.i18n import N_, _, current, ngettext
from bot.slack.mrkdwn import escape, is_safe_url, link, mention, truncate

Blocks = list[dict[str, Any]]

SEND_TEMPLATE = "send_template"
SET_TOPIC = "set_topic"  # the card's topic menu; option values "<conversation id>|<topic>"
SAVED_REPLY = "saved_reply_open"  # opens the saved reply picker (bot.slack.saved_reply_modals)
# The card's overflow menu (⋯), for what is seldom needed; option values "<what>|<id>".
MORE = "card_more"
SAME_PERSON = "same_person"  # opens the picker of Same person as... (bot.slack.person_modal)
LINK_SUGGESTED, NOT_SAME = "link_suggested", "not_same_person"  # value: the suggestion's id
FORWARD = "forward_open"  # opens the Forward modal (bot.slack.team_cards)
CLAIM, TAKE_OVER, RESOLVE, REOPEN, MOVE_TO_DM, RETRY, LIFT_HOLD, HIDE, UNHIDE = (
    "claim",
    "take_over",
    "resolve",
    "reopen",
    "move_to_dm",
    "retry_delivery",
    "lift_hold",
    "hide_comment",
    "unhide_comment",
)
MAX_QUOTED = 2900  # a rich_text element allows more, but a card should stay a card
_HANDLE = re.compile(r"[A-Za-z0-9_.]{1,64}")


@dataclass(frozen=True)
class Customer:
    name: str
    handle: str
    profile_url: str
    followers: int | None = 0  # None: the network does not say
    verified: bool = False
    shown_id: str = ""  # a phone number, masked (NetworkSpec.shown_id)


@dataclass(frozen=True)
class ForwardLine:
    """ "Forwarded to Billing · waiting on @marco" on the support card."""

    team: str
    status: str  # a Forward's: waiting | taken | answered | sent_back
    specialist: str | None = None


@dataclass(frozen=True)
class Card:
    """What the root message of a conversation shows."""

    conversation_id: int
    network_label: str
    customer: Customer
    text: str
    permalink: str
    visibility: Visibility
    status: Status
    assignee: str | None = None
    resolved_by: str | None = None
    previous_permalink: str | None = None
    dm_invited: bool = False
    deadline: str | None = None  # "⏰ first answer due 14:32, in 12 min"
    on_hold: bool = False  # netiquette hold: no clock, a Lift hold button
    priority: str = "normal"
    priority_reasons: tuple[str, ...] = ()
    history: str | None = None  # "3rd contact in 30 days · last: resolved by @anna 2 days ago"
    crm_url: str | None = None
    crm: CrmFacts | None = None  # what CRM_LOOKUP_URL said of the customer, last time it answered
    account_handle: str = ""  # the brand account the customer wrote to: "@AcmeAiuta"
    account_name: str = ""  # ... on a network without handles: "Acme Italia"
    public_name: str = "mention"  # what the network calls a public message: "comment"
    private_name: str = "DM"  # what the network calls a private message: "Messenger"
    body: Blocks | None = None  # what the customer wrote, when there is more than the text
    window: str | None = None  # "Messenger: can answer until 14:32"
    can_hide: bool = False  # a public message the brand may hide (Facebook)
    hidden: bool = False
    topic: str | None = None
    topic_suggested: bool = False  # Carebridge's suggestion, not yet confirmed by an agent
    topics: tuple[str, ...] = ()  # the team's topics, for the menu that changes it
    by_hand: bool = False  # found by listening on a network that lets no app answer it
    csat_score: int | None = None  # the customer's answer to the satisfaction survey
    csat_comment: str = ""
    suggestions: tuple[Suggested, ...] = ()  # "This may be the same person as..."
    elsewhere: tuple[Elsewhere, ...] = ()  # the person's open conversations on other networks
    forwards: tuple[ForwardLine, ...] = ()  # specialist teams that have the conversation
    can_forward: bool = False  # the team has specialist teams to forward to


def conversation_card(card: Card) -> tuple[str, Blocks]:
    public = card.visibility == Visibility.PUBLIC
    kind = escape(card.public_name if public else card.private_name)
    line = customer_line(card.customer)
    label = escape(card.network_label)
    fallback = f"New {label} {kind} from {who(card.customer)}: {escape(truncate(card.text, 200))}"
    view_on = _("View on {network}").format(network=card.network_label)
    links = [link(card.permalink, view_on)] if card.permalink else []
    private = _("Private ({kind})").format(kind=escape(card.private_name))
    links.append(_("Public") if public else private)
    if card.previous_permalink:
        links.append(link(card.previous_permalink, _("Previous conversation")))
    account = f" · {handle(card.account_handle)}" if card.account_handle else ""
    if not card.account_handle and card.account_name:
        account = f" · {escape(card.account_name)}"
    shown_kind = _("Public {kind}").format(kind=kind) if public else kind
    where = f"*{label}*{account} · {shown_kind}"
    crm = crm_line(card.crm)
    blocks: Blocks = [
        context(f"{where} · {priority_label(card.priority, card.priority_reasons)}"),
        section(line),
        *(card.body if card.body is not None else [quote(card.text)]),
        context(" · ".join(links)),
        *([context(card.history)] if card.history else []),
        *([context(crm)] if crm else []),
        *([context(" · ".join(map(_elsewhere, card.elsewhere)))] if card.elsewhere else []),
        section(status_line(card)),
    ]
    buttons = _card_buttons(card)
    if buttons:
        blocks.append({"type": "actions", "block_id": "conversation", "elements": buttons})
    for suggestion in card.suggestions[:2]:
        blocks += _suggestion(suggestion)
    return fallback, blocks


def crm_line(crm: CrmFacts | None) -> str:
    """ ":card_index: CRM: Giulia Rossi (4411) · Customer since 2019 · fiber plan"; every value
    is the CRM's, so escaped; nothing when it said nothing."""
    if crm is None:
        return ""
    who = " ".join(p for p in (crm.name, f"({crm.customer_id})" if crm.customer_id else "") if p)
    parts = [escape(part) for part in (who, *crm.facts) if part]
    return f":card_index: CRM: {' · '.join(parts)}" if parts else ""


_SAME = {
    "phone": N_("the same phone number"),
    "email": N_("the same e-mail"),
    "order": N_("order {shown}"),
}


def _suggestion(suggestion: Suggested) -> Blocks:
    """ "This may be the same person as *Giulia Rossi* (@giulia) on X (order 4411)", with
    **Link** and **Not the same**."""
    who = f"*{escape(suggestion.name)}*" if suggestion.name.strip() else "a customer"
    if suggestion.handle:
        who += f" ({handle(suggestion.handle)})"
    why = _(_SAME.get(suggestion.reason, "{shown}")).format(shown=escape(suggestion.shown))
    text = ":busts_in_silhouette: " + _(
        "This may be the same person as {who} on {network} ({why})."
    ).format(who=who, network=escape(suggestion.network_label), why=why)
    value = str(suggestion.suggestion_id)
    buttons = [
        button(_("Link"), LINK_SUGGESTED, value),
        button(_("Not the same"), NOT_SAME, value),
    ]
    block_id = f"suggestion:{value}"
    return [section(text), {"type": "actions", "block_id": block_id, "elements": buttons}]


def _elsewhere(other: Elsewhere) -> str:
    """ "Open on X: <thread> · claimed by @anna": the same owner can take both."""
    thread = link(other.permalink, "thread") if other.permalink else "thread"
    owner = f", claimed by {mention(other.assignee)}" if other.assignee else ", unclaimed"
    return f":link: Open on {escape(other.network_label)}: {thread}{owner}"


PRIORITY_ICONS = {
    "urgent": ":red_circle:",
    "high": ":large_orange_circle:",
    "normal": ":large_yellow_circle:",
    "low": ":white_circle:",
}


PRIORITY_NAMES = {
    "urgent": N_("Urgent"),
    "high": N_("High"),
    "normal": N_("Normal"),
    "low": N_("Low"),
}


def priority_label(priority: str, reasons: tuple[str, ...] = ()) -> str:
    """ ":red_circle: *Urgent*: journalist, Corriere (VIP) · 48k followers · angry"."""
    name = _(PRIORITY_NAMES[priority]) if priority in PRIORITY_NAMES else priority.capitalize()
    label = f"{PRIORITY_ICONS.get(priority, '')} *{name}*".strip()
    return f"{label}: {escape(' · '.join(reasons))}" if reasons else label


def handle(value: str) -> str:
    """ "@name" for a handle as networks issue them (letters, digits, `_`, `.`); anything else is
    escaped like any text. A handle's `_` stays as it is: inside a word it formats nothing."""
    if _HANDLE.fullmatch(value):
        return f"@{value}"
    return escape(f"@{value}")


def customer_ref(handle_: str, name: str) -> str:
    """How a message names a customer: "@handle" where the network has handles, else their
    name (escaped), else "the customer"."""
    if handle_:
        return handle(handle_)
    return escape(name) if name.strip() else "the customer"


def profile_link(customer: Customer) -> str:
    """The customer's @handle, linked to their profile when both are what a network issues;
    nothing on a network without handles (Facebook)."""
    if not customer.handle:
        return link(customer.profile_url, "profile") if is_safe_url(customer.profile_url) else ""
    if _HANDLE.fullmatch(customer.handle) and is_safe_url(customer.profile_url):
        return f"<{customer.profile_url}|@{customer.handle}>"
    return handle(customer.handle)


def customer_line(customer: Customer) -> str:
    parts = [f"*{escape(customer.name)}* {profile_link(customer)}".rstrip()]
    if customer.shown_id:
        parts.append(escape(customer.shown_id))
    if customer.verified:
        parts.append(":ballot_box_with_check: " + _("verified"))
    if customer.followers is not None:
        followers = ngettext("{count} follower", "{count} followers", customer.followers)
        parts.append(followers.format(count=compact_number(customer.followers)))
    return " · ".join(parts)


def status_line(card: Card) -> str:
    if not card.topic:
        return _status(card)
    suggested = " " + _("(suggested)") if card.topic_suggested else ""
    return f"{_status(card)}\n:label: {escape(card.topic)}{suggested}"


def _status(card: Card) -> str:
    if card.status == Status.RESOLVED:
        by = " " + _("by {user}").format(user=mention(card.resolved_by)) if card.resolved_by else ""
        resolved = _("*Resolved*")
        return f":white_check_mark: {resolved}{by}{_score(card)}"
    owner = (
        _("claimed by {user}").format(user=mention(card.assignee))
        if card.assignee
        else _("unclaimed")
    )
    if card.on_hold:
        hold = _("*Netiquette hold* · {owner} · no response clock until lifted")
        return ":shield: " + hold.format(owner=owner)
    if card.status == Status.WAITING_ON_CUSTOMER and not card.deadline:
        answered = _("*Answered*, waiting on the customer · {owner}").format(owner=owner)
        return f":speech_balloon: {answered}{_forwards(card)}"
    dm_invited = card.dm_invited and card.visibility == Visibility.PUBLIC
    invited = " · " + _("invited to DM") if dm_invited else ""
    icon = ":bust_in_silhouette:" if card.assignee else ":large_orange_circle:"
    hidden = " · :see_no_evil: " + _("hidden on the network") if card.hidden else ""
    deadline = f"\n{card.deadline}" if card.deadline else ""
    window = f"\n{card.window}" if card.window else ""
    by_hand = (
        f"\n:raised_hand: Found by listening: answer on {escape(card.network_label)} by hand "
        "until the customer writes to the brand"
        if card.by_hand
        else ""
    )
    forwards = _forwards(card)
    open_ = _("*Open*")
    return f"{icon} {open_} · {owner}{invited}{hidden}{forwards}{deadline}{window}{by_hand}"


_FORWARD_STATES = {
    "waiting": N_("waiting for a specialist"),
    "taken": N_("waiting on {specialist}"),
    "answered": N_("{specialist} answered (notes in the thread)"),
    "sent_back": N_("sent back"),
}


def _forwards(card: Card) -> str:
    lines = []
    for forward in card.forwards:
        who = mention(forward.specialist) if forward.specialist else _("a specialist")
        state = _(_FORWARD_STATES.get(forward.status, forward.status)).format(specialist=who)
        forwarded = _("Forwarded to *{team}*").format(team=escape(forward.team))
        lines.append(f"\n:arrow_right_hook: {forwarded} · {state}")
    return "".join(lines)


def _score(card: Card) -> str:
    if card.csat_score is None:
        return ""
    said = f": “{escape(truncate(card.csat_comment, 150))}”" if card.csat_comment else ""
    return f"\n:star: {card.csat_score}/5{said}"


def _card_buttons(card: Card) -> Blocks:
    value = str(card.conversation_id)
    crm = [link_button(_("Open in CRM"), card.crm_url)] if card.crm_url else []
    same = {
        "type": "overflow",
        "action_id": MORE,
        "options": [
            {
                "text": {"type": "plain_text", "text": _("Same person as…")},
                "value": f"{SAME_PERSON}|{value}",
            }
        ],
    }
    if card.status == Status.RESOLVED:
        return [button(_("Reopen"), REOPEN, value), *_topic_menu(card), same, *crm]
    buttons = [] if card.assignee else [button(_("Claim"), CLAIM, value, style="primary")]
    if card.on_hold:
        buttons.append(button(_("Lift hold"), LIFT_HOLD, value))
    buttons.append(button(_("Saved reply"), SAVED_REPLY, value))
    buttons.append(button(_("Resolve"), RESOLVE, value))
    if card.can_forward:
        buttons.append(button(_("Forward"), FORWARD, value))
    if card.visibility == Visibility.PUBLIC:
        buttons.append(button(_("Move to DM"), MOVE_TO_DM, value))
    if card.can_hide:
        hide = (
            button(_("Unhide"), UNHIDE, value)
            if card.hidden
            else button(_("Hide comment"), HIDE, value)
        )
        buttons.append(hide)
    return [*buttons, *_topic_menu(card), same, *crm]


def _topic_menu(card: Card) -> Blocks:
    """One click to set or change the topic; Slack lists up to 100 options."""
    if not card.topics:
        return []
    options = [
        {
            "text": {"type": "plain_text", "text": truncate(name, 75)},
            "value": f"{card.conversation_id}|{name}",
        }
        for name in card.topics[:100]
    ]
    menu: dict[str, Any] = {
        "type": "static_select",
        "action_id": SET_TOPIC,
        "placeholder": {"type": "plain_text", "text": _("Topic")},
        "options": options,
    }
    if card.topic in card.topics[:100]:
        menu["initial_option"] = options[card.topics.index(card.topic)]
    return [menu]


def customer_message(
    customer: Customer, text: str, permalink: str, network: str, body: Blocks | None = None
) -> tuple[str, Blocks]:
    """A customer's follow-up, posted in the conversation's thread; `body` shows what they
    wrote (attachments, edits...) when there is more than the text."""
    view = f" · {link(permalink, f'View on {network}')}" if permalink else ""
    fallback = f"{who(customer)}: {escape(truncate(text, 200))}"
    head = " ".join(p for p in (f"*{escape(customer.name)}*", profile_link(customer)) if p) + view
    return fallback, [context(head), *(body if body is not None else [quote(text)])]


def answer_from_modal(user: str, saved_reply: str, text: str) -> tuple[str, Blocks]:
    """An agent's answer sent from a modal, in the thread: "@anna, with saved reply
    *rimborso-tempi*", then the text as it went to the customer."""
    source = f", with saved reply *{escape(saved_reply)}*" if saved_reply else ""
    head = f"{mention(user)}{source}"
    return f"{head}: {escape(truncate(text, 200))}", [context(head), quote(text)]


def who(customer: Customer) -> str:
    """ "Giulia Rossi (@giulia_r)", or the name alone on a network without handles."""
    if not customer.handle:
        return escape(customer.name)
    return f"{escape(customer.name)} ({handle(customer.handle)})"


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def link_button(label: str, url: str) -> dict[str, Any]:
    """A button that opens a page (Slack still sends an interaction, acknowledged and ignored)."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": "open_link",
        "url": url,
    }


def quote(text: str) -> dict[str, Any]:
    literal = truncate(text, MAX_QUOTED) or "(no text)"
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_quote", "elements": [{"type": "text", "text": literal}]}],
    }


def compact_number(n: int) -> str:
    """950, 48k, 48.2k (48,2k in Italian), 1.2M: as social networks write audiences, with the
    decimal mark of the language in force (Babel)."""
    if n < 1_000:
        return str(n)
    value, unit = (n / 1_000, "k") if n < 1_000_000 else (n / 1_000_000, "M")
    return format_decimal(round(value, 1), format="0.#", locale=current()) + unit


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object. Verbatim: Slack links only what Carebridge wrote as a link, never a
    URL or a domain it finds in the text (a customer's `evil.example/login`)."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain_text(text: str) -> dict[str, Any]:
    """A plain_text object, as a modal's title, buttons and labels take it."""
    return {"type": "plain_text", "text": text, "emoji": True}


def conversation_of(view: dict[str, Any]) -> int | None:
    """The conversation a modal of a card is about (`{"conversation": id}` in its metadata)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    value = data.get("conversation") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}
