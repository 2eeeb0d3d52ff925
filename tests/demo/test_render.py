"""The demo's terminal rendering: mrkdwn, Block Kit, and the channel view over real emulators."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import tweepy
from rich.console import Console, RenderableType
from slack_sdk import WebClient

from bot.demo.render import ChannelView, mrkdwn_to_text, render_blocks
from bot.domain.model import Status, Visibility
from bot.networks.x.emulator import SANDBOX_CREDENTIALS, XEmulator
from bot.networks.x.http import point_client_at
from bot.sandbox.slack_api import SlackEmulator
from bot.slack import blocks

NAMES = {"UANNA": "Anna", "UBRUNO": "Bruno"}
CHANNEL = "CSUPPORT"
GIULIA = blocks.Customer("Giulia Rossi", "giulia_r", "https://x.com/giulia_r", followers=1200)


def console() -> Console:
    return Console(record=True, width=100, color_system=None, file=io.StringIO())


def exported(out: Console) -> str:
    """What was printed since the last export (exporting clears the record), lines trimmed."""
    return "\n".join(line.rstrip() for line in out.export_text().splitlines())


def shown(renderable: RenderableType) -> str:
    out = console()
    out.print(renderable)
    return exported(out)


def card(status: Status = Status.OPEN, assignee: str | None = None) -> blocks.Card:
    return blocks.Card(
        conversation_id=1,
        network_label="X",
        customer=GIULIA,
        text="@acmecare my parcel <b> is stuck\nsince Monday",
        permalink="https://x.com/giulia_r/status/1",
        visibility=Visibility.PUBLIC,
        status=status,
        assignee=assignee,
    )


# --- mrkdwn ---------------------------------------------------------------------------------------
def test_formatting_is_styled_and_the_markers_disappear() -> None:
    text = mrkdwn_to_text("*Open* · _soon_ `code` ~gone~", NAMES)
    assert text.plain == "Open · soon code gone"
    styles = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert "bold" in styles["Open"] and "italic" in styles["soon"] and "strike" in styles["gone"]
    assert "magenta" in styles["code"]


def test_links_mentions_emoji_and_escapes() -> None:
    text = mrkdwn_to_text(
        ":white_check_mark: *Resolved* by <@UANNA> · <@UZED> · <https://x.com/a_b|View on X> · "
        "<https://example.com> · &lt;b&gt; &amp;lt; :no_such_emoji: 10:30:00",
        NAMES,
    )
    assert text.plain == (
        "✅ Resolved by @Anna · @UZED · View on X · https://example.com · <b> &lt; "
        ":no_such_emoji: 10:30:00"
    )
    [link] = [s for s in text.spans if text.plain[s.start : s.end] == "View on X"]
    assert link.style.link == "https://x.com/a_b" and link.style.underline  # type: ignore[union-attr]


def test_formatting_around_entities() -> None:
    assert mrkdwn_to_text("*<@UANNA>* took over", NAMES).plain == "@Anna took over"
    assert mrkdwn_to_text("snake_case_name stays", NAMES).plain == "snake_case_name stays"


@pytest.mark.parametrize(
    "odd", ["", "*", "*unbalanced", "_half", "<no end", "<>", "<|>", "a > b", "`", "::", ":a:b:"]
)
def test_odd_input_never_crashes_and_keeps_its_characters(odd: str) -> None:
    plain = mrkdwn_to_text(odd, NAMES).plain
    assert plain == odd or odd in ("<|>",)


# --- blocks ---------------------------------------------------------------------------------------
def test_a_conversation_card_shows_customer_quote_status_and_buttons() -> None:
    _, card_blocks = blocks.conversation_card(card())
    text = shown(render_blocks(card_blocks, NAMES))
    assert "X · Public mention" in text
    assert "Giulia Rossi @giulia_r · 1.2k followers" in text
    assert "▌ @acmecare my parcel <b> is stuck\n▌ since Monday" in text
    assert "View on X · Public" in text
    assert "🟠 Open · unclaimed" in text
    assert "[ Claim ] [ Saved reply ] [ Resolve ] [ Move to DM ]" in text


def test_other_blocks_and_unknown_or_broken_ones_become_placeholders() -> None:
    rendered = shown(
        render_blocks(
            [
                {"type": "header", "text": {"type": "plain_text", "text": "Queue"}},
                {"type": "divider"},
                {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Open* 3"}]},
                {
                    "type": "rich_text",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [
                                {"type": "user", "user_id": "UBRUNO"},
                                {"type": "text", "text": " see "},
                                {"type": "link", "url": "https://a.example"},
                                {"type": "emoji", "name": "tada"},
                            ],
                        }
                    ],
                },
                {"type": "video", "title": "?"},
                {"type": "rich_text", "elements": [42]},
                {
                    "type": "actions",
                    "elements": [blocks.button("Stop", "stop", "1", style="danger")],
                },
                "not a block",
            ],
            NAMES,
        )
    )
    lines = rendered.splitlines()
    assert lines[0] == "Queue" and lines[1].startswith("────")
    assert lines[2:] == [
        "Open 3",
        "@Bruno see https://a.example🎉",
        "[video]",
        "[rich_text]",
        "[ Stop ]",
        "[str]",
    ]


# --- the channel view over the emulators ----------------------------------------------------------
@dataclass
class Stage:
    slack: SlackEmulator
    x: XEmulator
    web: WebClient
    tweets: tweepy.Client
    out: Console
    view: ChannelView

    def printed(self) -> str:
        self.view.show_changes()
        return exported(self.out)


@pytest.fixture
def stage() -> Iterator[Stage]:
    with (
        SlackEmulator(members=["UANNA", "UBRUNO"]) as slack,
        XEmulator() as x,
    ):
        tweets = tweepy.Client(**SANDBOX_CREDENTIALS)
        point_client_at(tweets, x.url)
        out = console()
        view = ChannelView(out, slack, x, channel=CHANNEL, user_names=NAMES)
        yield Stage(
            slack, x, WebClient(token="xoxb-sandbox", base_url=slack.url), tweets, out, view
        )


def test_show_changes_prints_each_change_once(stage: Stage) -> None:
    customer = stage.x.add_user("giulia_r", "Giulia Rossi", followers=1200)
    mention = stage.x.post_tweet("giulia_r", "@acmecare my parcel is stuck")
    fallback, card_blocks = blocks.conversation_card(card())
    root = stage.web.chat_postMessage(channel=CHANNEL, text=fallback, blocks=card_blocks)

    first = stage.printed()
    assert "#support · new conversation" in first
    assert "▌ @acmecare my parcel <b> is stuck" in first
    assert "[ Claim ] [ Saved reply ] [ Resolve ] [ Move to DM ]" in first
    assert stage.printed() == ""  # nothing new, nothing printed

    _, claimed = blocks.conversation_card(card(assignee="UANNA"))
    stage.web.chat_update(channel=CHANNEL, ts=root["ts"], text=fallback, blocks=claimed)
    answer = stage.slack.post_as_user("UANNA", "We're on it, Giulia!", thread_ts=root["ts"])
    stage.slack.post_as_user("UBRUNO", "I think it's the *Milan* depot", thread_ts=root["ts"])
    stage.web.chat_postEphemeral(
        channel=CHANNEL, user="UBRUNO", text="Kept internal: <@UANNA> owns it", thread_ts=root["ts"]
    )
    stage.web.reactions_add(channel=CHANNEL, timestamp=answer["ts"], name="white_check_mark")
    stage.tweets.create_tweet(
        text="We're on it, Giulia!", in_reply_to_tweet_id=mention["id"], user_auth=True
    )
    stage.tweets.create_direct_message(
        participant_id=customer["id"], text="Your refund is on its way", user_auth=True
    )

    second = stage.printed()
    assert second.splitlines() == [
        "↳ thread of Giulia Rossi",
        "    Anna: We're on it, Giulia!",
        "    Bruno: I think it's the Milan depot",
        "    only Bruno sees: Kept internal: @Anna owns it",
        "✅ on Anna's answer",
        "card of Giulia Rossi → 👤 Open · claimed by @Anna  "
        "[ Saved reply ] [ Resolve ] [ Move to DM ] [ ⋯ ]",
        "→ X public reply to @giulia_r: We're on it, Giulia!",
        "→ X DM to @giulia_r: Your refund is on its way",
    ]
    assert "new conversation" not in second and "▌" not in second
    assert stage.printed() == ""


def test_customer_follow_ups_show_as_quotes_and_show_channel_prints_everything(
    stage: Stage,
) -> None:
    fallback, card_blocks = blocks.conversation_card(card())
    root = stage.web.chat_postMessage(channel=CHANNEL, text=fallback, blocks=card_blocks)
    stage.view.show_changes()
    stage.out.export_text()
    text, follow_up = blocks.customer_message(
        GIULIA, "order 4411", "https://x.com/giulia_r/status/2", "X"
    )
    stage.web.chat_postMessage(channel=CHANNEL, thread_ts=root["ts"], text=text, blocks=follow_up)
    stage.web.chat_postMessage(
        channel=CHANNEL, thread_ts=root["ts"], text=":memo: Noted by the bot"
    )

    changes = stage.printed()
    assert "    Giulia Rossi @giulia_r · View on X\n    ▌ order 4411" in changes
    assert "    📝 Noted by the bot" in changes

    stage.view.show_channel()
    whole = exported(stage.out)
    assert "#support · Giulia Rossi" in whole and "▌ order 4411" in whole
    assert "📝 Noted by the bot" in whole and "[ Claim ]" in whole
