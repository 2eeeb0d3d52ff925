"""Terminal rendering of the emulated Slack channel and of what reached customers on X.

`carebridge demo` plays a scripted morning against the loopback emulators; `ChannelView` reads
the emulators' inspection methods after each step and prints only what changed: new cards, thread
replies, card updates, reactions, ephemerals and the tweets and DMs the bot sent. The pure
helpers `mrkdwn_to_text` and `render_blocks` turn Slack markup and Block Kit into `rich`
renderables. Rendering is best effort: odd markup or an unknown block shows as text or a
placeholder, never as a crash, because a demo must not die on a cosmetic detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.style import Style
from rich.table import Table
from rich.text import Text

from bot.demo.words import say
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram import INSTAGRAM
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.whatsapp import WHATSAPP
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.networks.whatsapp.numbers import masked
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator, ts_to_micros
from bot.slack.mrkdwn import unescape

EMOJI = {
    "white_check_mark": "✅", "warning": "⚠️", "speech_balloon": "💬",
    "mailbox_with_mail": "📬",
    "envelope_with_arrow": "📩",
    "bust_in_silhouette": "👤", "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "white_circle": "⚪",
    "ballot_box_with_check": "☑️",
    "memo": "📝", "lock": "🔒", "no_entry": "⛔", "outbox_tray": "📤",
    "arrows_counterclockwise": "🔄", "tada": "🎉", "alarm_clock": "⏰", "rotating_light": "🚨",
    "bell": "🔔", "calendar": "📅", "moon": "🌙", "shield": "🛡️", "star": "⭐",
    "heavy_check_mark": "✔️", "x": "❌", "eyes": "👀", "+1": "👍", "thumbsup": "👍",
    "wave": "👋", "pray": "🙏", "fire": "🔥", "hourglass": "⌛", "hourglass_flowing_sand": "⏳",
    "package": "📦", "truck": "🚚", "email": "📧", "inbox_tray": "📥", "link": "🔗",
    "large_green_circle": "🟢", "red_circle": "🔴",
    "sparkles": "✨", "robot_face": "🤖", "zzz": "💤", "coffee": "☕", "sunrise": "🌅",
    "bar_chart": "📊", "busts_in_silhouette": "👥", "label": "🏷️",
}  # fmt: skip
CODE = Style(color="magenta", bgcolor="grey11")
USER = Style(color="cyan", bold=True)
QUOTE_BAR = "▌ "
INDENT = (0, 0, 0, 4)

# One pass over mrkdwn: at each position the first alternative that matches wins, so code spans
# and <entities> are taken whole before `*`, `_` or `:` inside them could be read as markup.
_MRKDWN = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<entity><[^<>\n]+>)"
    r"|(?<![\w*])\*(?P<bold>[^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\s](?:[^~\n]*[^~\s])?)~(?![\w~])"
    r"|:(?P<emoji>[a-z0-9_+\-]+):"
)
_FORMAT_STYLES = {
    "bold": Style(bold=True),
    "italic": Style(italic=True),
    "strike": Style(strike=True),
}


def mrkdwn_to_text(text: str, user_names: Mapping[str, str]) -> Text:
    """Slack mrkdwn as styled text: formatting, links, mentions, emoji, escapes."""
    out = Text()
    _append_mrkdwn(out, text or "", Style(), user_names)
    return out


def _append_mrkdwn(out: Text, text: str, style: Style, user_names: Mapping[str, str]) -> None:
    position = 0
    for match in _MRKDWN.finditer(text):
        out.append(unescape(text[position : match.start()]), style)
        position = match.end()
        kind = match.lastgroup or ""
        if kind == "code":
            out.append(unescape(match.group(0)[1:-1]), style + CODE)
        elif kind == "entity":
            _append_entity(out, match.group(0)[1:-1], style, user_names)
        elif kind == "emoji":
            out.append(EMOJI.get(match.group("emoji"), match.group(0)), style)
        else:  # bold, italic, strike: the inside may hold links, mentions and other formats
            _append_mrkdwn(out, match.group(kind), style + _FORMAT_STYLES[kind], user_names)
    out.append(unescape(text[position:]), style)


def _append_entity(out: Text, inner: str, style: Style, user_names: Mapping[str, str]) -> None:
    """A mention, a channel or a link. People, user groups and channels show by the name
    `user_names` gives them (else Slack's label, else the id): never as raw <@U...> markup."""
    target, _, label = inner.partition("|")
    label = unescape(label)
    if target.startswith("@"):
        out.append("@" + user_names.get(target[1:], label.lstrip("@") or target[1:]), style + USER)
    elif target.startswith("#"):
        out.append("#" + user_names.get(target[1:], label.lstrip("#") or target[1:]), style + USER)
    elif target.startswith("!"):  # <!here>, <!subteam^ID|@team>, <!date^...|fallback>
        kind, _, group = target[1:].partition("^")
        if kind == "subteam":
            out.append("@" + user_names.get(group, label.lstrip("@") or group), style + USER)
        elif kind == "date":
            out.append(label, style)
        else:
            out.append(label or "@" + kind, style + USER)
    else:
        url = unescape(target)
        shown = (unescape(label) if label else url.removeprefix("mailto:")) or f"<{inner}>"
        out.append(shown, style + Style(underline=True, color="blue", link=url))


def render_blocks(blocks: list[dict[str, Any]], user_names: Mapping[str, str]) -> Group:
    """Block Kit as a group of renderables, one per block."""
    return Group(*(_render_block(block, user_names) for block in blocks or []))


def _render_block(block: Any, user_names: Mapping[str, str]) -> RenderableType:
    kind = block.get("type", "?") if isinstance(block, dict) else type(block).__name__
    try:
        if kind == "section":
            return _section(block, user_names)
        if kind == "context":
            parts = [_element_text(e, user_names) for e in block.get("elements", [])]
            line = Text("  ").join(parts)
            line.stylize("dim")
            return line
        if kind == "rich_text":
            return Text("\n").join(_rich_text(e, user_names) for e in block.get("elements", []))
        if kind == "actions":
            return buttons_text(block)
        if kind == "header":
            return Text(_plain(block.get("text")), style="bold")
        if kind == "divider":
            return Rule(style="dim")
    except (AttributeError, KeyError, TypeError, ValueError):
        pass  # a malformed block of a known type falls through to the placeholder
    return Text(f"[{kind}]", style="dim")


def _section(block: dict[str, Any], user_names: Mapping[str, str]) -> RenderableType:
    parts: list[RenderableType] = []
    if block.get("text"):
        parts.append(_element_text(block["text"], user_names))
    fields = block.get("fields") or []
    if fields:
        grid = Table.grid(padding=(0, 3))
        grid.add_column()
        grid.add_column()
        cells = [_element_text(f, user_names) for f in fields]
        for i in range(0, len(cells), 2):
            grid.add_row(*cells[i : i + 2])
        parts.append(grid)
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        parts.append(buttons_text({"elements": [accessory]}))
    return Group(*parts)


def _element_text(element: Any, user_names: Mapping[str, str]) -> Text:
    """A text object (mrkdwn or plain_text) or an image in a context block."""
    if not isinstance(element, dict):
        return Text(str(element))
    if element.get("type") == "mrkdwn":
        return mrkdwn_to_text(str(element.get("text", "")), user_names)
    if element.get("type") == "image":
        return Text(f"[{element.get('alt_text') or 'image'}]")
    return Text(_plain(element))


def _plain(text_object: Any) -> str:
    if isinstance(text_object, dict):
        text = str(text_object.get("text", ""))
        return text if text_object.get("type") != "mrkdwn" else unescape(text)
    return str(text_object or "")


def buttons_text(block: dict[str, Any]) -> Text:
    """An actions block as `[ Claim ] [ Resolve ]`: primary in green, danger in red."""
    colours = {"primary": "bold green", "danger": "bold red"}
    out = Text()
    for element in block.get("elements") or []:
        if not isinstance(element, dict):
            continue
        if out:
            out.append(" ")
        if element.get("type") == "button":
            out.append(
                f"[ {_plain(element.get('text'))} ]", colours.get(element.get("style", ""), "")
            )
        elif element.get("type") == "overflow":
            out.append("[ ⋯ ]", "dim")
        else:  # selects, date pickers: named, not drawn
            out.append(f"[{element.get('type', '?')}]", "dim")
    return out


def _rich_text(element: dict[str, Any], user_names: Mapping[str, str]) -> Text:
    kind = element.get("type")
    if kind == "rich_text_list":
        items = [_rich_text(item, user_names) for item in element.get("elements", [])]
        return Text("\n").join(Text("• ") + item for item in items)
    inline = Text()
    for child in element.get("elements", []):
        inline.append_text(_inline(child, user_names))
    if kind == "rich_text_preformatted":
        inline.stylize(CODE)
    if kind != "rich_text_quote":
        return inline
    # Each quoted line gets the bar, as Slack draws it down the whole quote.
    lines = inline.split("\n", allow_blank=True)
    return Text("\n").join(Text(QUOTE_BAR, style="dim") + line for line in lines)


def _inline(element: dict[str, Any], user_names: Mapping[str, str]) -> Text:
    kind = element.get("type")
    flags = element.get("style") or {}
    style = Style(
        bold=flags.get("bold") or None,
        italic=flags.get("italic") or None,
        strike=flags.get("strike") or None,
    )
    if flags.get("code"):
        style += CODE
    if kind == "text":
        return Text(str(element.get("text", "")), style=style)
    if kind == "link":
        url = str(element.get("url", ""))
        link = Style(underline=True, color="blue", link=url)
        return Text(str(element.get("text") or url), style=style + link)
    if kind == "user":
        user_id = str(element.get("user_id", ""))
        return Text("@" + user_names.get(user_id, user_id), style=style + USER)
    if kind == "emoji":
        name = str(element.get("name", ""))
        return Text(EMOJI.get(name, f":{name}:"))
    if kind == "broadcast":
        return Text("@" + str(element.get("range", "here")), style=style + USER)
    return Text(f"[{kind}]", style="dim")


class ChannelView:
    """The support channel as the demo shows it: what changed since the last call, or all of it."""

    def __init__(
        self,
        console: Console,
        slack: SlackEmulator,
        x: XEmulator,
        *,
        channel: str,
        user_names: Mapping[str, str],
        channel_name: str = "support",
        meta: GraphEmulator | None = None,
        people: Mapping[str, str] | None = None,  # Facebook ids -> names, for Messenger
        instagram: InstagramEmulator | None = None,
        whatsapp: WhatsAppEmulator | None = None,
        language: str = "en",  # of the view's own words; the bot's come from the product
    ) -> None:
        self.console = console
        self.language = language
        self.slack = slack
        self.x = x
        self.channel = channel
        self.user_names = user_names
        self.channel_name = channel_name
        self._edits: dict[str, int] = {}  # ts -> edit count already shown, for every message
        self._reactions: dict[str, list[str]] = {}  # ts -> reaction names already shown
        self._ephemerals = 0  # the emulators only append, so a count marks what was shown
        self._tweets = 0
        self._dms = 0
        self.meta = meta
        self.people: dict[str, str] = dict(people or {})
        self._facebook_sent = 0
        self.instagram = instagram
        self.whatsapp = whatsapp
        self._instagram_sent = self._whatsapp_sent = 0

    def show_changes(self) -> None:
        roots = self._roots()
        names = {root["ts"]: self._conversation_name(root) for root in roots}
        fresh: list[tuple[int, dict[str, Any]]] = []
        edited: list[dict[str, Any]] = []
        reacted: list[tuple[dict[str, Any], str]] = []
        for root in roots:
            for message in [root, *self.slack.thread(root["ts"], self.channel)]:
                ts = message["ts"]
                if ts not in self._edits:
                    fresh.append((_order(ts), message))
                elif message["edited"] > self._edits[ts]:
                    edited.append(message)
                self._edits[ts] = message["edited"]
                shown = self._reactions.setdefault(ts, [])
                reacted += [(message, name) for name in message["reactions"] if name not in shown]
                shown[:] = message["reactions"]
        ephemerals = self.slack.ephemerals[self._ephemerals :]
        self._ephemerals += len(ephemerals)
        for ephemeral in ephemerals:
            if ephemeral["channel"] == self.channel:
                fresh.append((_order(ephemeral["message_ts"]), {**ephemeral, "ephemeral": True}))

        # Messages and ephemerals share the emulator's ts sequence: sorted, they read in the order
        # they happened. A thread header is printed whenever the thread being shown changes.
        thread_shown: str | None = None
        for _, item in sorted(fresh, key=lambda pair: pair[0]):
            thread = _thread_of(item)
            if thread is None and not item.get("ephemeral"):
                self.console.print(self._card_panel(item, self._say("new conversation")))
            elif thread is None:
                self.console.print(self._ephemeral(item))
            else:
                if thread != thread_shown:
                    title = names.get(thread, "?")
                    header = Text.assemble(self._say("thread of"), (title, "bold"))
                    self.console.print(header)
                renderable = self._ephemeral(item) if item.get("ephemeral") else self._reply(item)
                self.console.print(Padding(renderable, INDENT, expand=False))
            thread_shown = thread
        for message, name in reacted:
            emoji = EMOJI.get(name, f":{name}:")
            what = self._describe(message, names)
            self.console.print(Text(self._say("reaction on", emoji=emoji, what=what)))
        for message in edited:
            self.console.print(self._update(message, names))
        self._show_x()

    def show_channel(self) -> None:
        """Every card with its full thread, as the channel stands now."""
        for root in self._roots():
            self.console.print(self._card_panel(root, self._conversation_name(root)))
            for reply in self.slack.thread(root["ts"], self.channel):
                line = self._reply(reply)
                if reply["reactions"] and isinstance(line, Text):  # as Slack shows them: below
                    line.append("\n" + " ".join(EMOJI.get(r, f":{r}:") for r in reply["reactions"]))
                self.console.print(Padding(line, INDENT, expand=False))

    # --- pieces ---------------------------------------------------------------------------------
    def _say(self, key: str, **fields: object) -> str:
        return say(self.language, key, **fields)

    def _roots(self) -> list[dict[str, Any]]:
        # Broadcast replies also appear in the channel view; they are shown in their thread.
        return [m for m in self.slack.messages(self.channel) if _thread_of(m) is None]

    def _card_panel(self, message: dict[str, Any], what: str) -> RenderableType:
        if not message.get("bot_id"):  # a person wrote in the channel itself, not a card
            return self._reply(message)
        if not message.get("blocks") and not message.get("files"):
            # A notice of the bot in the channel itself (an escalation, an on-call handoff).
            notice = Text.assemble((f"#{self.channel_name}: ", "bold"))
            notice.append_text(mrkdwn_to_text(message.get("text", ""), self.user_names))
            return notice
        body = self._body(message)
        title = f"#{self.channel_name} · {what}"
        return Panel(body, title=title, title_align="left", border_style="blue")

    def _body(self, message: dict[str, Any]) -> RenderableType:
        if message.get("blocks"):
            return render_blocks(message["blocks"], self.user_names)
        text = mrkdwn_to_text(message.get("text", ""), self.user_names)
        for file in message.get("files") or ():  # an upload: its title and size, as Slack lists
            title, size = file.get("title") or file.get("name"), file.get("size", 0)
            shown = self._say("file", title=title, size=f"{size:,}")
            text.append(("\n" if text.plain else "") + shown)
        return text

    def _reply(self, message: dict[str, Any]) -> RenderableType:
        if message.get("bot_id"):  # customer messages arrive as quotes, notices as text
            return self._body(message)
        author = self.user_names.get(message["user"], message["user"])
        return Text.assemble((author, "bold"), ": ") + mrkdwn_to_text(
            message.get("text", ""), self.user_names
        )

    def show_private(self, user: str, text: str) -> None:
        """What only `user` sees, outside the channel (a slash command's answer)."""
        self.console.print(self._ephemeral({"user": user, "text": text}))

    def _ephemeral(self, ephemeral: dict[str, Any]) -> Text:
        who = self.user_names.get(ephemeral["user"], ephemeral["user"])
        line = Text(self._say("only sees", who=who))
        line.append_text(mrkdwn_to_text(ephemeral.get("text", ""), self.user_names))
        line.stylize("dim italic")
        for block in ephemeral.get("blocks") or []:
            if isinstance(block, dict) and block.get("type") == "actions":
                line.append("  ").append_text(buttons_text(block))
        return line

    def _update(self, message: dict[str, Any], names: Mapping[str, str]) -> RenderableType:
        if _thread_of(message) is not None:
            header = Text(self._say("edited in", name=names.get(_thread_of(message) or "", "?")))
            return Group(header, Padding(self._reply(message), INDENT, expand=False))
        # A card's update is its status line and buttons; the rest of the card does not change.
        blocks = [b for b in message.get("blocks") or [] if isinstance(b, dict)]
        sections = [b for b in blocks if b.get("type") == "section"]
        status = (
            _element_text(sections[-1].get("text") or "", self.user_names) if sections else Text()
        )
        name = names.get(message["ts"], "?")
        line = Text.assemble(self._say("card update"), (name, "bold"), " → ", status)
        for block in blocks:
            if block.get("type") == "actions":
                line.append("  ").append_text(buttons_text(block))
        return line

    def _describe(self, message: dict[str, Any], names: Mapping[str, str]) -> str:
        thread = _thread_of(message)
        if not message.get("bot_id"):
            author = self.user_names.get(message["user"], message["user"])
            return self._say("answer of" if thread else "message of", author=author)
        if thread is None:
            return self._say("card of", name=names.get(message["ts"], "?"))
        return self._say("in thread of", name=names.get(thread, "?"))

    def _conversation_name(self, root: dict[str, Any]) -> str:
        """The customer's name: the first bold text of a card's first section."""
        for block in root.get("blocks") or []:
            if isinstance(block, dict) and block.get("type") == "section":
                found = re.search(r"\*([^*\n]+)\*", _plain(block.get("text")))
                if found:
                    return unescape(found.group(1))
                break
        if not root.get("bot_id"):
            return self.user_names.get(root["user"], root["user"])
        return mrkdwn_to_text(root.get("text", ""), self.user_names).plain[:40] or root["ts"]

    def _show_x(self) -> None:
        tweets = self.x.sent_tweets[self._tweets :]
        self._tweets += len(tweets)
        for tweet in tweets:
            to = tweet.get("in_reply_to_user_id")
            what = self._say("public reply to", handle=self._handle(to)) if to else None
            self._print_x(what or self._say("public post"), tweet)
        dms = self.x.sent_dms[self._dms :]
        self._dms += len(dms)
        for dm in dms:
            # A 1:1 conversation id is "<id>-<id>"; the one that is not the brand is the customer.
            ids = str(dm.get("dm_conversation_id", "")).split("-")
            others = [i for i in ids if i != self.x.brand_id]
            to = f"@{self._handle(others[0])}" if len(ids) == 2 and others else None
            self._print_x(self._say("DM to", to=to or self._say("a group")), dm)
        self._show_facebook()
        self._show_instagram_and_whatsapp()

    def _show_instagram_and_whatsapp(self) -> None:
        if self.instagram is not None:
            replies = [
                (self._say("reply under a comment"), r["text"]) for r in self.instagram.sent_replies
            ]
            direct = [
                (self._say("Direct to", handle=m["to"]), m["text"])
                for m in self.instagram.sent_messages
            ]
            sent = replies + direct
            for what, text in sent[self._instagram_sent :]:
                self._print_sent(INSTAGRAM.label, "bold magenta", what, text)
            self._instagram_sent = len(sent)
        if self.whatsapp is not None:
            chats = [
                (
                    self._say("WhatsApp to", number=masked(s["to"])),
                    s.get("text") or self._say("template", name=s["template"]["name"]),
                )
                for s in self.whatsapp.sent
            ]
            for what, text in chats[self._whatsapp_sent :]:
                self._print_sent(WHATSAPP.label, "bold green", what, text)
            self._whatsapp_sent = len(chats)

    def _print_sent(self, network: str, style: str, what: str, text: str) -> None:
        self.console.print(Text.assemble((f"→ {network} ", style), (what, "bold"), ": ", text))

    def _show_facebook(self) -> None:
        if self.meta is None:
            return
        # Who wrote what, as Meta's webhooks named them (Messenger names only the id).
        names: dict[str, str] = {}
        for delivery in self.meta.deliveries:
            for entry in delivery.payload.get("entry", []):
                for change in entry.get("changes", []):
                    value = change.get("value", {})
                    author = value.get("from") or {}
                    if value.get("comment_id") and author.get("name"):
                        names[value["comment_id"]] = author["name"]
        sent = [
            *(
                (
                    self._say("reply under", whose=self._whose(c["in_reply_to"], names)),
                    c["message"],
                    c["id"],
                )
                for c in self.meta.sent_comments
            ),
            *(
                (
                    self._say("Messenger to", name=self._person(m["recipient_id"])),
                    m["text"],
                    m["message_id"],
                )
                for m in self.meta.sent_messages
            ),
            *(
                (
                    self._say("private reply to", whose=self._whose(r["comment_id"], names)),
                    r["text"],
                    r["message_id"],
                )
                for r in self.meta.private_replies
            ),
        ]
        for what, text, _ in sent[self._facebook_sent :]:
            self.console.print(
                Text.assemble(("→ Facebook ", "bold blue"), (what, "bold"), ": ", text)
            )
        self._facebook_sent = len(sent)

    def _whose(self, comment_id: str, names: Mapping[str, str]) -> str:
        name = names.get(comment_id)
        return self._say("comment of", name=name) if name else self._say("a comment")

    def _person(self, psid: str) -> str:
        return self.people.get(psid, psid)

    def _print_x(self, what: str, sent: dict[str, Any]) -> None:
        self.console.print(Text.assemble(("→ X ", "bold blue"), (what, "bold"), ": ", sent["text"]))

    def _handle(self, user_id: str) -> str:
        try:
            return str(self.x.user(user_id)["username"])
        except KeyError:
            return user_id


def _thread_of(message: dict[str, Any]) -> str | None:
    """The ts of the thread a reply (or thread ephemeral) belongs to; None at top level."""
    thread = message.get("thread_ts")
    return thread if thread and thread != message.get("ts") else None


def _order(ts: str) -> int:
    try:
        return ts_to_micros(ts)
    except ValueError:
        return 0
