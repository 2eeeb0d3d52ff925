"""The Slack emulators, driven by the real slack_sdk `WebClient` and a real Bolt app.

Three groups: the Web API emulator method by method (shapes, errors, pagination, metadata,
faults); a check of the emulator against Slack's published OpenAPI spec; and `SlackEventSender`
delivering signed events, button clicks and slash commands to Bolt in HTTP mode.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
)
from slack_sdk.webhook import WebhookClient

from bot.sandbox.loopback import Fault
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender
from bot.slack.scopes import REQUIRED_BOT_SCOPES

TOKEN = "xoxb-sandbox"
SIGNING_SECRET = "sandbox-signing-secret"
SUPPORT = "CSUPPORT"
AGENT = "UAGENT"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
WEB_SPEC = FIXTURES / "slack-api" / "slack_web_openapi_v2.json"
EVENT_WRAPPER_SCHEMA = FIXTURES / "slack-api" / "slack_common_event_wrapper_schema.json"

# Parameters Slack added after the 2020 spec in the fixtures, which Carebridge relies on.
PARAMS_NEWER_THAN_SPEC: dict[str, set[str]] = {
    "chat.postMessage": {"metadata"},  # message metadata (2022)
    "chat.update": {"metadata"},  # message metadata (2022)
    "conversations.history": {"include_all_metadata"},  # returns message metadata (2022)
    "conversations.replies": {"include_all_metadata"},  # returns message metadata (2022)
}
# Methods Slack added after the 2020 spec: checked by their own tests instead.
METHODS_NEWER_THAN_SPEC = {
    "apps.connections.open",  # Socket Mode (2021)
    # External uploads (2023), which files_upload_v2 uses; the spec has only files.upload.
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
}
# Bolt's client sends `team_id` on every call (org-wide installs need it); Slack accepts it.
PARAMS_ON_EVERY_METHOD = {"team_id"}
# Errors the emulator returns that the spec's error enum for the method does not list.
ERRORS_NOT_IN_SPEC: dict[str, set[str]] = {
    # Block Kit validation and thread_ts checks postdate the spec's error lists.
    "chat.postMessage": {"invalid_blocks", "invalid_thread_ts", "ratelimited"},
    # Slack answers an unknown channel here too; the spec lists only message-level errors.
    "reactions.add": {"channel_not_found"},
    # The spec has no error schema at all for views.*.
    "views.publish": {"invalid_arguments", "hash_conflict"},
    "views.open": {"invalid_arguments"},
    "views.push": {"invalid_arguments", "not_found", "push_limit_reached"},
    "views.update": {"invalid_arguments", "not_found", "hash_conflict"},
}
# `authed_users` is required by the 2020 wrapper schema but Slack replaced it by `authorizations`.
ENVELOPE_KEYS_DROPPED_SINCE_SPEC = {"authed_users"}
NO_WAIT = FixedValueRetryIntervalCalculator(0)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0001) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def web_spec() -> dict[str, Any] | None:
    return json.loads(WEB_SPEC.read_text()) if WEB_SPEC.exists() else None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock, web_spec: dict[str, Any] | None) -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(clock=clock, members=[AGENT])
    emulator.add_user(AGENT, "alice")
    with emulator:
        yield emulator
    # Whatever a test sent, every parameter must be one Slack documents (or a known newer one).
    if web_spec is not None:
        for method in set(emulator.methods) - METHODS_NEWER_THAN_SPEC:
            for params in emulator.calls(method):
                assert set(params) <= _spec_params(web_spec, method), (method, params)


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=TOKEN, base_url=emu.url)


def _error(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def _spec_params(spec: dict[str, Any], method: str) -> set[str]:
    operation = next(iter(spec["paths"][f"/{method}"].values()))
    known = {p["name"] for p in operation.get("parameters", [])}
    return known | PARAMS_NEWER_THAN_SPEC.get(method, set()) | PARAMS_ON_EVERY_METHOD


# --- Web API: auth and dispatch ----------------------------------------------------------------
def test_auth_test_identifies_the_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == "UCAREBOT"
    assert answer["bot_id"] == "BCAREBOT"
    assert answer["team_id"] == "TSANDBOX"


def test_wrong_or_missing_token_is_refused_like_slack(emu: SlackEmulator) -> None:
    wrong = _error(WebClient(token="xoxb-wrong", base_url=emu.url).auth_test)
    assert wrong.response.status_code == 200
    assert wrong.response["error"] == "invalid_auth"
    missing = _error(WebClient(base_url=emu.url).chat_postMessage, channel=SUPPORT, text="x")
    assert missing.response["error"] == "not_authed"
    assert emu.messages() == []


def test_unknown_method(client: WebClient) -> None:
    assert _error(client.api_call, "chat.scheduleNothing").response["error"] == "unknown_method"


def test_answers_carry_the_granted_and_accepted_scopes_like_slack(client: WebClient) -> None:
    answer = client.conversations_info(channel=SUPPORT)
    assert set(answer.headers["x-oauth-scopes"].split(",")) == set(REQUIRED_BOT_SCOPES)
    assert "channels:read" in answer.headers["x-accepted-oauth-scopes"].split(",")
    # An API error for a recognised token still says what the token holds.
    failed = _error(client.conversations_info, channel="CNOPE").response
    assert set(failed.headers["x-oauth-scopes"].split(",")) == set(REQUIRED_BOT_SCOPES)


def test_scopes_of_an_install_can_be_chosen(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, scopes=["chat:write", "users:read"]) as emulator:
        answer = WebClient(token=TOKEN, base_url=emulator.url).auth_test()
    assert answer.headers["x-oauth-scopes"] == "chat:write,users:read"


def test_apps_connections_open_takes_the_app_level_token_only(emu: SlackEmulator) -> None:
    app_client = WebClient(token=emu.app_token, base_url=emu.url)
    answer = app_client.apps_connections_open(app_token=emu.app_token)
    # Slack's is wss://wss-primary.slack.com/link/?ticket=...; the emulator's is on loopback.
    assert re.fullmatch(
        r"ws://127\.0\.0\.1:\d+/link/\?ticket=[\w-]+&app_id=ASANDBOX", answer["url"]
    )
    assert answer.headers["x-oauth-scopes"] == "connections:write"
    bot_token = _error(app_client.apps_connections_open, app_token=TOKEN).response
    assert bot_token["error"] == "not_allowed_token_type"
    wrong = _error(app_client.apps_connections_open, app_token="xapp-1-A0-revoked").response
    assert wrong["error"] == "invalid_auth"
    emu.revoke_app_token()
    revoked = _error(app_client.apps_connections_open, app_token=emu.app_token).response
    assert revoked["error"] == "token_revoked"
    # ... and the app-level token cannot act as the bot.
    assert _error(app_client.auth_test).response["error"] == "not_allowed_token_type"


# --- chat.postMessage --------------------------------------------------------------------------
def test_posting_beyond_about_one_a_second_per_channel_is_answered_429(
    emu: SlackEmulator, clock: FakeClock
) -> None:
    emu.add_channel("C0OTHER", members=[AGENT])
    client = WebClient(token=TOKEN, base_url=emu.url, retry_handlers=[])
    emu.limit_posts(per_second=1.0, burst=3)
    for n in range(3):  # a short burst is fine
        assert client.chat_postMessage(channel=SUPPORT, text=f"burst {n}")["ok"]
    limited = _error(client.chat_postMessage, channel=SUPPORT, text="one too many").response
    assert limited.status_code == 429 and limited["error"] == "ratelimited"
    assert limited.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel="C0OTHER", text="another channel")["ok"]
    clock.now += 1.0  # a token back
    assert client.chat_postMessage(channel=SUPPORT, text="after a second")["ok"]
    assert emu.posts_limited == 1


def test_post_message_answers_like_slack_with_increasing_ts(
    client: WebClient, emu: SlackEmulator, clock: FakeClock
) -> None:
    first = client.chat_postMessage(channel=SUPPORT, text="New mention from @ana")
    second = client.chat_postMessage(channel=SUPPORT, text="Another")  # the clock has not moved
    clock.now = 1_700_000_005.0
    third = client.chat_postMessage(channel=SUPPORT, text="Later")
    assert first["ts"] == "1700000000.000100"
    assert second["ts"] == "1700000000.000101"
    assert third["ts"] == "1700000005.000000"
    assert first["channel"] == SUPPORT
    assert first["message"]["text"] == "New mention from @ana"
    assert first["message"]["bot_id"] == "BCAREBOT"
    stored = emu.messages()
    assert [m["text"] for m in stored] == ["New mention from @ana", "Another", "Later"]
    assert stored[0]["user"] == "UCAREBOT"
    assert stored[0]["edited"] == 0


def test_post_message_keeps_blocks_options_and_blocks_only_fallback(
    client: WebClient, emu: SlackEmulator
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    with pytest.warns(UserWarning):  # slack_sdk warns about blocks without fallback text
        posted = client.chat_postMessage(channel=SUPPORT, blocks=blocks, unfurl_links=False)
    stored = emu.message(posted["ts"])
    assert stored is not None
    assert stored["blocks"] == blocks
    assert stored["options"] == {"unfurl_links": False}
    assert stored["text"] == "This content can't be displayed."


def test_form_body_with_json_encoded_blocks_and_metadata(
    client: WebClient, emu: SlackEmulator
) -> None:
    blocks = [{"type": "divider"}]
    metadata = {"event_type": "x_case", "event_payload": {"case": 7}}
    client.api_call(
        "chat.postMessage",
        data={
            "channel": SUPPORT,
            "text": "form",
            "blocks": json.dumps(blocks),
            "metadata": json.dumps(metadata),
            "unfurl_media": "false",
        },
    )
    [stored] = emu.messages()
    assert stored["blocks"] == blocks
    assert stored["metadata"] == metadata
    assert stored["options"] == {"unfurl_media": False}
    assert emu.calls("chat.postMessage")[0]["blocks"] == blocks


def test_post_message_errors(client: WebClient, emu: SlackEmulator) -> None:
    emu.add_channel("COTHER", bot_is_member=False)
    post = client.chat_postMessage
    assert _error(post, channel="CNOPE", text="x").response["error"] == "channel_not_found"
    assert _error(post, channel="COTHER", text="x").response["error"] == "not_in_channel"
    with pytest.warns(UserWarning):
        assert _error(post, channel=SUPPORT, text="").response["error"] == "no_text"
    assert _error(post, channel=SUPPORT, text="x" * 40_001).response["error"] == "msg_too_long"
    too_many = [{"type": "divider"}] * 51
    assert _error(post, channel=SUPPORT, text="x", blocks=too_many).response["error"] == (
        "invalid_blocks"
    )
    bad_thread = _error(post, channel=SUPPORT, text="x", thread_ts="not-a-ts")
    assert bad_thread.response["error"] == "invalid_thread_ts"
    assert client.chat_postMessage(channel=SUPPORT, text="x" * 40_000)["ok"]
    assert len(emu.messages()) == 1


# --- threads, history, pagination, metadata ----------------------------------------------------
def test_threads_replies_and_broadcasts(client: WebClient, emu: SlackEmulator) -> None:
    parent = client.chat_postMessage(channel=SUPPORT, text="case")["ts"]
    client.chat_postMessage(channel=SUPPORT, text="bot reply", thread_ts=parent)
    human = emu.post_as_user(AGENT, "agent reply", thread_ts=parent)
    client.chat_postMessage(channel=SUPPORT, text="shout", thread_ts=parent, reply_broadcast=True)

    assert [m["text"] for m in emu.thread(parent)] == ["bot reply", "agent reply", "shout"]
    assert human["user"] == AGENT and human["thread_ts"] == parent
    # The channel view holds the parent and the broadcast reply, not plain replies.
    assert [m["text"] for m in emu.messages()] == ["case", "shout"]
    assert emu.message(parent)["reply_count"] == 3  # type: ignore[index]

    replies = client.conversations_replies(channel=SUPPORT, ts=parent)
    first, *rest = replies["messages"]
    assert first["ts"] == parent and first["thread_ts"] == parent
    assert first["reply_count"] == 3
    assert first["reply_users"] == ["UCAREBOT", AGENT]
    assert [m["text"] for m in rest] == ["bot reply", "agent reply", "shout"]
    assert all(m["parent_user_id"] == "UCAREBOT" for m in rest)
    assert rest[1]["user"] == AGENT and "bot_id" not in rest[1]
    missing = _error(client.conversations_replies, channel=SUPPORT, ts="1.000001")
    assert missing.response["error"] == "thread_not_found"


def test_history_is_newest_first_filtered_and_paginated(
    client: WebClient, emu: SlackEmulator, clock: FakeClock
) -> None:
    stamps = []
    for n in range(5):
        clock.now = 1_700_000_000 + n
        stamps.append(client.chat_postMessage(channel=SUPPORT, text=f"m{n}")["ts"])

    first = client.conversations_history(channel=SUPPORT, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"]
    assert first["has_more"] is True
    assert first["response_metadata"]["next_cursor"]
    # slack_sdk follows response_metadata.next_cursor when a response is iterated.
    pages = [[m["text"] for m in page["messages"]] for page in first]
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]
    assert "response_metadata" not in client.conversations_history(channel=SUPPORT).data

    window = client.conversations_history(channel=SUPPORT, oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = client.conversations_history(
        channel=SUPPORT, oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    bad_cursor = _error(client.conversations_history, channel=SUPPORT, cursor="bm9wZQ==")
    assert bad_cursor.response["error"] == "invalid_cursor"
    lost = _error(client.conversations_history, channel="CNOPE")
    assert lost.response["error"] == "channel_not_found"


def test_replies_and_members_paginate(client: WebClient, emu: SlackEmulator) -> None:
    parent = client.chat_postMessage(channel=SUPPORT, text="case")["ts"]
    for n in range(4):
        client.chat_postMessage(channel=SUPPORT, text=f"r{n}", thread_ts=parent)
    pages = [
        [m["text"] for m in page["messages"]]
        for page in client.conversations_replies(channel=SUPPORT, ts=parent, limit=2)
    ]
    assert pages == [["case", "r0"], ["r1", "r2"], ["r3"]]

    emu.add_channel("CBIG", members=[f"U{n:03d}" for n in range(5)])
    member_pages = [
        page["members"] for page in client.conversations_members(channel="CBIG", limit=4)
    ]
    assert member_pages == [["UCAREBOT", "U000", "U001", "U002"], ["U003", "U004"]]
    last = client.conversations_members(channel=SUPPORT)
    assert last["members"] == ["UCAREBOT", AGENT]
    assert last["response_metadata"] == {"next_cursor": ""}


def test_metadata_comes_back_only_with_include_all_metadata(
    client: WebClient, emu: SlackEmulator
) -> None:
    metadata = {"event_type": "x_case", "event_payload": {"tweet_id": "1790"}}
    parent = client.chat_postMessage(channel=SUPPORT, text="case", metadata=metadata)
    assert parent["message"]["metadata"] == metadata
    client.chat_postMessage(channel=SUPPORT, text="r", thread_ts=parent["ts"], metadata=metadata)

    plain = client.conversations_history(channel=SUPPORT)["messages"][0]
    assert "metadata" not in plain
    full = client.conversations_history(channel=SUPPORT, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata
    replies = client.conversations_replies(channel=SUPPORT, ts=parent["ts"])["messages"]
    assert all("metadata" not in m for m in replies)
    replies = client.conversations_replies(
        channel=SUPPORT, ts=parent["ts"], include_all_metadata=True
    )["messages"]
    assert [m["metadata"] for m in replies] == [metadata, metadata]
    assert emu.messages()[0]["metadata"] == metadata
    bad = _error(client.chat_postMessage, channel=SUPPORT, text="x", metadata={"no": "type"})
    assert bad.response["error"] == "invalid_metadata_format"


# --- other methods -----------------------------------------------------------------------------
def test_update_replaces_content_and_counts_edits(client: WebClient, emu: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Open"}}]
    ts = client.chat_postMessage(channel=SUPPORT, text="Open", blocks=blocks)["ts"]
    claimed = [{"type": "section", "text": {"type": "mrkdwn", "text": "Claimed by alice"}}]
    answer = client.chat_update(channel=SUPPORT, ts=ts, text="Claimed", blocks=claimed)
    assert (answer["ts"], answer["text"], answer["channel"]) == (ts, "Claimed", SUPPORT)
    assert answer["message"]["blocks"] == claimed
    client.chat_update(channel=SUPPORT, ts=ts, text="Closed")
    stored = emu.message(ts)
    assert stored is not None
    assert (stored["text"], stored["blocks"], stored["edited"]) == ("Closed", None, 2)
    history = client.conversations_history(channel=SUPPORT)["messages"][0]
    assert history["edited"]["user"] == "UCAREBOT"

    unknown = _error(client.chat_update, channel=SUPPORT, ts="1700000099.000000", text="x")
    assert unknown.response["error"] == "message_not_found"
    human = emu.post_as_user(AGENT, "mine")
    theirs = _error(client.chat_update, channel=SUPPORT, ts=human["ts"], text="x")
    assert theirs.response["error"] == "cant_update_message"


def test_ephemeral_goes_to_channel_members_only(client: WebClient, emu: SlackEmulator) -> None:
    answer = client.chat_postEphemeral(
        channel=SUPPORT, user=AGENT, text="Only you can see this", thread_ts="1700000000.000001"
    )
    assert set(answer.data) == {"ok", "message_ts"}
    [ephemeral] = emu.ephemerals
    assert ephemeral["user"] == AGENT
    assert ephemeral["thread_ts"] == "1700000000.000001"
    assert ephemeral["text"] == "Only you can see this"
    outsider = _error(client.chat_postEphemeral, channel=SUPPORT, user="UOUT", text="x")
    assert outsider.response["error"] == "user_not_in_channel"
    assert emu.messages() == []


def test_permalinks(client: WebClient) -> None:
    parent = client.chat_postMessage(channel=SUPPORT, text="case")["ts"]
    reply = client.chat_postMessage(channel=SUPPORT, text="r", thread_ts=parent)["ts"]
    link = client.chat_getPermalink(channel=SUPPORT, message_ts=parent)
    assert link["permalink"] == "https://sandbox.slack.com/archives/CSUPPORT/p1700000000000100"
    reply_link = client.chat_getPermalink(channel=SUPPORT, message_ts=reply)["permalink"]
    assert reply_link.endswith(f"p1700000000000101?thread_ts={parent}&cid={SUPPORT}")
    missing = _error(client.chat_getPermalink, channel=SUPPORT, message_ts="1.000002")
    assert missing.response["error"] == "message_not_found"


def test_reactions(client: WebClient, emu: SlackEmulator) -> None:
    ts = client.chat_postMessage(channel=SUPPORT, text="case")["ts"]
    assert client.reactions_add(channel=SUPPORT, timestamp=ts, name="eyes").data == {"ok": True}
    again = _error(client.reactions_add, channel=SUPPORT, timestamp=ts, name="eyes")
    assert again.response["error"] == "already_reacted"
    client.reactions_add(channel=SUPPORT, timestamp=ts, name="white_check_mark")
    assert emu.message(ts)["reactions"] == ["eyes", "white_check_mark"]  # type: ignore[index]
    shown = client.conversations_history(channel=SUPPORT)["messages"][0]["reactions"]
    assert shown[0] == {"name": "eyes", "users": ["UCAREBOT"], "count": 1}
    lost = _error(client.reactions_add, channel=SUPPORT, timestamp="1.000003", name="eyes")
    assert lost.response["error"] == "message_not_found"


def test_conversation_and_user_info(client: WebClient) -> None:
    channel = client.conversations_info(channel=SUPPORT, include_num_members=True)["channel"]
    assert (channel["id"], channel["is_member"], channel["num_members"]) == (SUPPORT, True, 2)
    user = client.users_info(user=AGENT)["user"]
    assert (user["id"], user["name"], user["is_bot"]) == (AGENT, "alice", False)
    assert client.users_info(user="UCAREBOT")["user"]["is_bot"] is True
    assert _error(client.users_info, user="UNOPE").response["error"] == "user_not_found"


def test_views_publish_and_open(client: WebClient, emu: SlackEmulator) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "1"}}],
    }
    first = client.views_publish(user_id=AGENT, view=home)["view"]
    assert first["type"] == "home" and first["blocks"] == home["blocks"]
    home2 = {"type": "home", "blocks": []}
    second = client.views_publish(user_id=AGENT, view=home2, hash=first["hash"])["view"]
    assert second["id"] == first["id"]
    assert emu.views_published[AGENT]["blocks"] == []
    stale = _error(client.views_publish, user_id=AGENT, view=home, hash=first["hash"])
    assert stale.response["error"] == "hash_conflict"

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Reply"}, "blocks": []}
    opened = client.views_open(trigger_id="123.456.abc", view=modal)["view"]
    assert opened["title"] == modal["title"]
    assert emu.views_opened[0]["trigger_id"] == "123.456.abc"
    wrong = _error(client.views_open, trigger_id="123.456.abc", view=home)
    assert wrong.response["error"] == "invalid_arguments"

    # A modal pushed on top, then the first one updated: typed values stay where their input
    # stays; a stale hash is refused.
    field = {"type": "plain_text_input", "action_id": "t", "initial_value": "ciao"}
    form = {**modal, "blocks": [{"type": "input", "block_id": "b", "element": field}]}
    first_modal = client.views_open(trigger_id="1.2.3", view=form)["view"]
    assert first_modal["state"]["values"] == {
        "b": {"t": {"type": "plain_text_input", "value": "ciao"}}
    }
    pushed = client.views_push(trigger_id="1.2.4", view=modal)["view"]
    assert pushed["previous_view_id"] == first_modal["id"] and emu.top_modal()["id"] == pushed["id"]
    emu.type_into(first_modal["id"], "b", "t", {"type": "plain_text_input", "value": "ciao!"})
    updated = client.views_update(view_id=first_modal["id"], view=form, hash=first_modal["hash"])
    assert updated["view"]["state"]["values"]["b"]["t"]["value"] == "ciao!"
    stale = _error(
        client.views_update, view_id=first_modal["id"], view=form, hash=first_modal["hash"]
    )
    assert stale.response["error"] == "hash_conflict"
    gone = _error(client.views_update, view_id="VNOPE", view=form)
    assert gone.response["error"] == "not_found"


# --- faults ------------------------------------------------------------------------------------
def test_rate_limit_is_a_429_with_retry_after(client: WebClient, emu: SlackEmulator) -> None:
    emu.rate_limit("chat.postMessage", retry_after=12)
    limited = _error(client.chat_postMessage, channel=SUPPORT, text="x")
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "12"
    assert limited.response["error"] == "ratelimited"
    assert emu.messages() == []
    assert client.chat_postMessage(channel=SUPPORT, text="x")["ok"]  # one-shot by default
    assert len(emu.calls("chat.postMessage")) == 2  # calls() counts refused attempts too


def test_server_error_is_a_500(client: WebClient, emu: SlackEmulator) -> None:
    emu.inject("chat.update", Fault.server_error())
    ts = client.chat_postMessage(channel=SUPPORT, text="x")["ts"]
    failed = _error(client.chat_update, channel=SUPPORT, ts=ts, text="y")
    assert failed.response.status_code == 500
    assert emu.message(ts)["edited"] == 0  # type: ignore[index]


def test_reset_after_handling_stores_the_message_the_client_never_hears_of(
    emu: SlackEmulator,
) -> None:
    no_retries = WebClient(token=TOKEN, base_url=emu.url, retry_handlers=[])
    emu.inject("chat.postMessage", Fault.connection_reset(after=True))
    with pytest.raises(ConnectionError):
        no_retries.chat_postMessage(channel=SUPPORT, text="did it land?")
    assert [m["text"] for m in emu.messages()] == ["did it land?"]


def test_retrying_a_reset_posts_the_message_twice(emu: SlackEmulator) -> None:
    # slack_sdk's default retry handler (ConnectionErrorRetryHandler, one retry) resends a post that
    # reached Slack before the connection dropped. Same handler here, minus the back-off wait.
    retrying = WebClient(
        token=TOKEN,
        base_url=emu.url,
        retry_handlers=[ConnectionErrorRetryHandler(interval_calculator=NO_WAIT)],
    )
    emu.inject("chat.postMessage", Fault.connection_reset(after=True))
    assert retrying.chat_postMessage(channel=SUPPORT, text="twice")["ok"]
    assert [m["text"] for m in emu.messages()] == ["twice", "twice"]


def test_calls_records_decoded_params(client: WebClient, emu: SlackEmulator) -> None:
    client.chat_postMessage(channel=SUPPORT, text="x", unfurl_links=False)
    client.conversations_history(channel=SUPPORT, limit=5)
    assert emu.calls("chat.postMessage") == [
        {"channel": SUPPORT, "text": "x", "unfurl_links": False}
    ]
    assert emu.calls("conversations.history") == [{"channel": SUPPORT, "limit": "5"}]
    assert emu.calls("reactions.add") == []


# --- the published spec ------------------------------------------------------------------------
def _tour(client: WebClient, emu: SlackEmulator) -> tuple[dict[str, list[dict]], set[tuple]]:
    """Call every implemented method as Carebridge does; successes by method, and errors seen."""
    answers: dict[str, list[dict]] = {}
    errors: set[tuple[str, str]] = set()

    def call(method: str, **kwargs: Any) -> dict[str, Any]:
        answer = getattr(client, method.replace(".", "_"))(**kwargs).data
        answers.setdefault(method, []).append(answer)
        return answer

    def fail(method: str, **kwargs: Any) -> None:
        error = _error(getattr(client, method.replace(".", "_")), **kwargs).response["error"]
        errors.add((method, error))

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "case"}}]
    metadata = {"event_type": "x_case", "event_payload": {"case": 1}}
    call("auth.test")
    ts = call(
        "chat.postMessage",
        channel=SUPPORT,
        text="case",
        blocks=blocks,
        metadata=metadata,
        unfurl_links=False,
        unfurl_media=False,
        mrkdwn=True,
    )["ts"]
    call("chat.postMessage", channel=SUPPORT, text="r", thread_ts=ts, reply_broadcast=False)
    call("chat.update", channel=SUPPORT, ts=ts, text="claimed", blocks=blocks, metadata=metadata)
    call("chat.postEphemeral", channel=SUPPORT, user=AGENT, text="hi", thread_ts=ts)
    call("chat.getPermalink", channel=SUPPORT, message_ts=ts)
    call("reactions.add", channel=SUPPORT, timestamp=ts, name="eyes")
    call("conversations.history", channel=SUPPORT, limit=1, include_all_metadata=True)
    call("conversations.history", channel=SUPPORT, oldest="0", latest=ts, inclusive=True)
    call("conversations.replies", channel=SUPPORT, ts=ts, limit=1, include_all_metadata=True)
    call("conversations.info", channel=SUPPORT)
    call("conversations.members", channel=SUPPORT, limit=1)
    call("users.info", user=AGENT)
    emu.add_usergroup("S0LEADS", [AGENT])
    call("usergroups.users.list", usergroup="S0LEADS")
    call("views.publish", user_id=AGENT, view={"type": "home", "blocks": []})
    opened = call("views.open", trigger_id="1.2.3", view={"type": "modal", "blocks": []})
    call("views.push", trigger_id="1.2.4", view={"type": "modal", "blocks": []})
    call("views.update", view_id=opened["view"]["id"], view={"type": "modal", "blocks": []})
    call("apps.connections.open", app_token=emu.app_token)
    ticket = call("files.getUploadURLExternal", filename="week.png", length=4)
    _post_bytes(ticket["upload_url"], b"\x89PNG")
    call(
        "files.completeUploadExternal",
        files=[{"id": ticket["file_id"], "title": "Week"}],
        channel_id=SUPPORT,
        initial_comment="Weekly figures",
    )

    fail("chat.postMessage", channel="CNOPE", text="x")
    fail("chat.postMessage", channel=SUPPORT, text="x", blocks=[{"type": "divider"}] * 51)
    fail("chat.update", channel=SUPPORT, ts="1.000001", text="x")
    fail("chat.postEphemeral", channel=SUPPORT, user="UOUT", text="x")
    fail("reactions.add", channel=SUPPORT, timestamp=ts, name="eyes")
    fail("conversations.replies", channel=SUPPORT, ts="1.000001")
    fail("users.info", user="UNOPE")
    emu.rate_limit("chat.postMessage")
    fail("chat.postMessage", channel=SUPPORT, text="x")
    return answers, errors


def test_emulator_matches_the_published_web_api_spec(
    client: WebClient, emu: SlackEmulator, web_spec: dict[str, Any] | None
) -> None:
    if web_spec is None:
        pytest.skip(f"Slack OpenAPI spec not found at {WEB_SPEC}")
    answers, errors = _tour(client, emu)
    assert set(answers) == set(emu.methods), "the tour must call every implemented method"
    for method in set(emu.methods) - METHODS_NEWER_THAN_SPEC:
        # (a) the method exists in the spec.
        assert f"/{method}" in web_spec["paths"], method
        operation = next(iter(web_spec["paths"][f"/{method}"].values()))
        # (b) every parameter sent is documented (or allow-listed as newer than the spec).
        for params in emu.calls(method):
            unknown = set(params) - _spec_params(web_spec, method)
            assert not unknown, f"{method}: parameters unknown to the spec: {unknown}"
        # (c) success keys are known to the schema or the example, and required ones are present.
        success = operation["responses"]["200"]
        schema = success.get("schema", {})
        known = set(schema.get("properties", {})) | set(
            success.get("examples", {}).get("application/json", {})
        )
        for answer in answers[method]:
            assert set(answer) <= known, (
                f"{method}: keys unknown to the spec: {set(answer) - known}"
            )
            missing = set(schema.get("required", [])) - set(answer)
            assert not missing, f"{method}: required keys missing: {missing}"
    # (d) errors are ones the spec lists for the method, or allow-listed.
    for method, error in errors:
        failure = next(iter(web_spec["paths"][f"/{method}"].values()))["responses"]["default"]
        listed = set(
            failure.get("schema", {}).get("properties", {}).get("error", {}).get("enum", [])
        )
        assert error in listed | ERRORS_NOT_IN_SPEC.get(method, set()), (method, error)


# --- file uploads (files_upload_v2) ------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _post_bytes(url: str, data: bytes) -> tuple[int, str]:
    """POST raw bytes to an upload URL as slack_sdk does; (status, body) even for HTTP errors."""
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_files_upload_v2_shares_the_file_in_the_channel(
    client: WebClient, emu: SlackEmulator
) -> None:
    answer = client.files_upload_v2(
        channel=SUPPORT,
        file=PNG,
        filename="week-47.png",
        title="Week 47",
        initial_comment="Care figures for week 47",
    )
    file = answer["file"]  # slack_sdk adds `file` when one file was uploaded
    assert answer["files"] == [file]
    assert (file["name"], file["title"], file["size"]) == ("week-47.png", "Week 47", len(PNG))
    assert (file["mimetype"], file["filetype"]) == ("image/png", "png")
    # The three steps, as slack_sdk performs them.
    [asked] = emu.calls("files.getUploadURLExternal")
    assert (asked["filename"], asked["length"]) == ("week-47.png", str(len(PNG)))
    [upload] = [r for r in emu.requests if r.path.startswith("/upload/")]
    assert upload.method == "POST" and upload.body == PNG
    [completed] = emu.calls("files.completeUploadExternal")
    assert completed["files"] == [{"id": file["id"], "title": "Week 47"}]
    assert completed["channel_id"] == SUPPORT

    assert emu.uploaded_files == [
        {
            "id": file["id"],
            "filename": "week-47.png",
            "title": "Week 47",
            "bytes": PNG,
            "alt_txt": "",
            "channel": SUPPORT,
            "channels": [SUPPORT],
            "initial_comment": "Care figures for week 47",
            "thread_ts": None,
        }
    ]
    [message] = emu.messages()
    assert message["text"] == "Care figures for week 47"
    assert message["user"] == "UCAREBOT" and message["bot_id"] == "BCAREBOT"
    assert [f["id"] for f in message["files"]] == [file["id"]]
    [shown] = client.conversations_history(channel=SUPPORT)["messages"]
    assert shown["files"][0]["title"] == "Week 47" and shown["upload"] is True


def test_upload_url_answers_like_files_slack_com(emu: SlackEmulator, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.csv", length=3)
    assert ticket["upload_url"] == f"{emu.base_url}/upload/{ticket['file_id']}"
    assert ticket["file_id"].startswith("F")
    assert _post_bytes(ticket["upload_url"], b"a,b") == (200, "OK - 3")
    assert _post_bytes(f"{emu.base_url}/upload/FNOPE", b"a,b")[0] == 404


def test_upload_in_a_thread_and_without_a_channel(client: WebClient, emu: SlackEmulator) -> None:
    parent = client.chat_postMessage(channel=SUPPORT, text="case")["ts"]
    client.files_upload_v2(
        channel=SUPPORT, thread_ts=parent, content="a,b\n1,2\n", filename="x.csv"
    )
    [reply] = emu.thread(parent)
    assert reply["files"][0]["name"] == "x.csv"
    assert reply["files"][0]["title"] == "x.csv"  # slack_sdk uses the filename as the title
    private = client.files_upload_v2(content=b"secret", filename="note.txt")
    assert private["file"]["name"] == "note.txt"
    assert emu.uploaded_files[-1]["channel"] is None
    assert [m["text"] for m in emu.messages()] == ["case"]  # a private file posts nothing


def test_upload_errors(client: WebClient, emu: SlackEmulator) -> None:
    unknown = _error(
        client.files_completeUploadExternal, files=[{"id": "FNOPE"}], channel_id=SUPPORT
    )
    assert unknown.response["error"] == "file_not_found"
    # Completing before the bytes arrived: there is no file yet.
    ticket = client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    early = _error(
        client.files_completeUploadExternal, files=[{"id": ticket["file_id"]}], channel_id=SUPPORT
    )
    assert early.response["error"] == "file_not_found"
    # A body that is not the declared length is refused at the upload URL.
    status, body = _post_bytes(ticket["upload_url"], PNG[:-1])
    assert (status, body) == (400, f"length mismatch: declared {len(PNG)}, received {len(PNG) - 1}")
    assert _post_bytes(ticket["upload_url"], PNG)[0] == 200
    client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id=SUPPORT)
    # A completed upload cannot be completed again, nor uploaded to.
    twice = _error(
        client.files_completeUploadExternal, files=[{"id": ticket["file_id"]}], channel_id=SUPPORT
    )
    assert twice.response["error"] == "file_not_found"
    assert _post_bytes(ticket["upload_url"], PNG)[0] == 404

    ask = client.api_call
    missing = _error(ask, "files.getUploadURLExternal", params={"filename": "a.png"})
    assert missing.response["error"] == "invalid_arguments"
    zero = _error(ask, "files.getUploadURLExternal", params={"filename": "a.png", "length": 0})
    assert zero.response["error"] == "missing_argument"
    bad_files = _error(ask, "files.completeUploadExternal", params={"files": "not json"})
    assert bad_files.response["error"] == "invalid_arguments"

    emu.add_channel("COTHER", bot_is_member=False)
    outside = _error(client.files_upload_v2, channel="COTHER", content="x", filename="x.txt")
    assert outside.response["error"] == "not_in_channel"
    lost = _error(client.files_upload_v2, channel="CNOPE", content="x", filename="x.txt")
    assert lost.response["error"] == "channel_not_found"
    assert len(emu.uploaded_files) == 1


def test_a_failed_byte_upload_stops_files_upload_v2(client: WebClient, emu: SlackEmulator) -> None:
    emu.inject("upload", Fault.server_error())
    # slack_sdk posts the bytes with urllib's urlopen, which raises on any non-2xx status before
    # slack_sdk's own status check: callers see urllib's HTTPError, not a SlackApiError.
    with pytest.raises(urllib.error.HTTPError) as raised:
        client.files_upload_v2(channel=SUPPORT, file=PNG, filename="week.png")
    assert raised.value.code == 500
    assert emu.calls("files.completeUploadExternal") == []
    assert emu.uploaded_files == [] and emu.messages() == []


def test_upload_answers_carry_the_files_write_scope(client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.png", length=1)
    assert ticket.headers["x-accepted-oauth-scopes"] == "files:write"


# --- inbound requests to Bolt in HTTP mode -----------------------------------------------------
class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class BoltHarness:
    """A real Bolt app behind a loopback WSGI server, recording what its listeners received."""

    def __init__(self, emu: SlackEmulator) -> None:
        # process_before_response: listeners finish before the HTTP answer, so no waiting needed.
        self.app = App(
            client=WebClient(token=TOKEN, base_url=emu.url),
            signing_secret=SIGNING_SECRET,
            process_before_response=True,
        )
        self.received: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.app.event("message")(self._on_message)
        self.app.action("claim")(self._on_claim)
        self.app.command("/carebridge")(self._on_command)
        self.server: WSGIServer = make_server(
            "127.0.0.1", 0, SlackRequestHandler(self.app), handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/slack/events"
        # A short poll interval keeps shutdown() quick at teardown.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _on_message(self, body: dict, event: dict, request: Any, client: WebClient) -> None:
        self.received.append(("message", body, dict(request.headers)))
        client.chat_postMessage(channel=event["channel"], text="seen", thread_ts=event["ts"])

    def _on_claim(self, ack: Any, body: dict, request: Any) -> None:
        ack()
        self.received.append(("claim", body, dict(request.headers)))

    def _on_command(self, ack: Any, body: dict, request: Any) -> None:
        ack("on it")
        self.received.append(("command", body, dict(request.headers)))


@pytest.fixture
def bolt(emu: SlackEmulator) -> Iterator[BoltHarness]:
    harness = BoltHarness(emu)
    harness.thread.start()
    yield harness
    harness.server.shutdown()
    harness.server.server_close()


@pytest.fixture
def sender(bolt: BoltHarness) -> SlackEventSender:
    return SlackEventSender(bolt.url, SIGNING_SECRET)


def test_message_event_reaches_bolt_which_answers_through_the_emulator(
    bolt: BoltHarness, sender: SlackEventSender, emu: SlackEmulator
) -> None:
    human = emu.post_as_user(AGENT, "can someone take this?")
    assert sender.message(AGENT, human["text"], SUPPORT, human["ts"]).status_code == 200
    [(kind, body, _)] = bolt.received
    assert kind == "message"
    assert body["type"] == "event_callback"
    assert body["event"]["channel_type"] == "channel"
    assert body["event"]["ts"] == human["ts"]
    assert [m["text"] for m in emu.thread(human["ts"])] == ["seen"]


def test_event_envelope_has_the_wrapper_schema_keys(sender: SlackEventSender) -> None:
    if not EVENT_WRAPPER_SCHEMA.exists():
        pytest.skip(f"Slack event wrapper schema not found at {EVENT_WRAPPER_SCHEMA}")
    schema = json.loads(EVENT_WRAPPER_SCHEMA.read_text())
    envelope = sender.envelope({"type": "message", "ts": "1700000000.000100"})
    assert set(schema["required"]) - ENVELOPE_KEYS_DROPPED_SINCE_SPEC <= set(envelope)
    assert set(schema["properties"]["event"]["required"]) <= set(envelope["event"])
    assert isinstance(envelope["event_time"], int)


def test_retried_delivery_carries_retry_headers_and_the_same_event_id(
    bolt: BoltHarness, sender: SlackEventSender
) -> None:
    event = {"type": "message", "user": AGENT, "text": "hi", "channel": SUPPORT, "ts": "1.000100"}
    sender.event(event, event_id="Ev0001")
    sender.event(event, event_id="Ev0001", retry_num=1)
    (_, first, first_headers), (_, retry, retry_headers) = bolt.received
    assert first["event_id"] == retry["event_id"] == "Ev0001"
    assert "x-slack-retry-num" not in first_headers
    assert retry_headers["x-slack-retry-num"] == ["1"]
    assert retry_headers["x-slack-retry-reason"] == ["http_timeout"]


def test_block_action_reaches_the_action_listener(
    bolt: BoltHarness, sender: SlackEventSender
) -> None:
    answer = sender.block_action(
        AGENT, "claim", "case-7", channel=SUPPORT, message_ts="1700000000.000100"
    )
    assert answer.status_code == 200
    [(kind, body, _)] = bolt.received
    assert kind == "claim"
    assert body["actions"][0]["value"] == "case-7"
    assert body["container"]["message_ts"] == "1700000000.000100"
    assert body["user"]["id"] == AGENT
    assert body["trigger_id"]


def test_slash_command_reaches_the_command_listener(
    bolt: BoltHarness, sender: SlackEventSender
) -> None:
    answer = sender.slash_command(AGENT, "/carebridge", "status", SUPPORT)
    assert answer.status_code == 200
    assert answer.text == "on it"
    [(kind, body, _)] = bolt.received
    assert (kind, body["text"], body["user_id"]) == ("command", "status", AGENT)


def test_bolt_refuses_unsigned_forged_and_stale_requests(
    bolt: BoltHarness, sender: SlackEventSender
) -> None:
    body = json.dumps(sender.envelope({"type": "message", "ts": "1.000100"})).encode()
    assert sender.unsigned(body).status_code == 401
    forged = {**sender.signature_headers(body), "Content-Type": "application/json"}
    assert sender.post_raw(body + b" ", forged).status_code == 401
    stale = SlackEventSender(bolt.url, SIGNING_SECRET, clock=lambda: sender.clock() - 600)
    assert stale.event({"type": "message", "ts": "1.000100"}).status_code == 401
    assert bolt.received == []


def test_url_verification_handshake(sender: SlackEventSender) -> None:
    answer = sender.url_verification("challenge-123")
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "challenge-123"}


def test_a_response_url_takes_json_through_the_sdks_webhook_client(emu: SlackEmulator) -> None:
    url = f"{emu.hooks_url}/commands/TSANDBOX/1/sandbox"
    sent = WebhookClient(url).send(text="Counting done", response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    assert emu.responses == [
        {
            "text": "Counting done",
            "response_type": "ephemeral",
            "url": "/hooks/commands/TSANDBOX/1/sandbox",
        }
    ]
    request = urllib.request.Request(url, data=b"not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert (refused.value.code, refused.value.read()) == (400, b"invalid_payload")
    assert len(emu.responses) == 1
