"""The Facebook channel adapter against the Graph emulator, over real HTTP: every call, Meta's
rules (the Messenger windows, one private reply per comment), and every kind of refusal turned
into the domain's delivery errors, without the Page token ever showing in one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from bot.clock import ManualClock
from bot.domain.delivery import (
    CredentialsRefused,
    DeliveryError,
    OutsideWindow,
    PermanentError,
    RateLimited,
    TransientError,
)
from bot.domain.model import Author, InboundMessage, Visibility
from bot.networks.base import AccountConfig, Hiding, PrivateReplies
from bot.networks.facebook import doctor
from bot.networks.facebook.adapter import UNKNOWN_NAME, FacebookChannel
from bot.networks.facebook.emulator import SANDBOX_PAGE, GraphEmulator, graph_fault
from bot.networks.meta.graph import AlreadyReplied, NotReachable
from bot.sandbox.loopback import Fault

PAGE = SANDBOX_PAGE["page_id"]
TOKEN = SANDBOX_PAGE["page_access_token"]
GIULIA = "2000000000000001"
TOM = "2000000000000002"
SEND = "POST /{page-id}/messages"


@pytest.fixture
def graph(clock: ManualClock) -> Iterator[GraphEmulator]:
    with GraphEmulator(clock=clock.timestamp) as emulator:
        emulator.add_user(GIULIA, "Giulia", "Rossi")
        emulator.add_user(TOM, "Tom", "Baker", profile=False)
        yield emulator


def make_channel(
    graph: GraphEmulator, clock: ManualClock, *, token: str = TOKEN, timeout: float = 5
) -> FacebookChannel:
    return FacebookChannel(
        graph_url=graph.graph_url,
        page_id=PAGE,
        page_access_token=token,
        clock=clock,
        timeout=timeout,
    )


@pytest.fixture
def channel(graph: GraphEmulator, clock: ManualClock) -> FacebookChannel:
    return make_channel(graph, clock)


def messenger(psid: str, text: str = "ciao", name: str = "") -> InboundMessage:
    """A Messenger message as the webhook gives it: the sender's id, no name."""
    return InboundMessage(
        network="facebook",
        external_id="m_1",
        author=Author(psid, "", name),
        text=text,
        created_at=ManualClock().now(),
        visibility=Visibility.PRIVATE,
    )


def mention(comment_id: str, text: str = "") -> InboundMessage:
    """A comment from a `mention` webhook: no author at all."""
    return InboundMessage(
        network="facebook",
        external_id=comment_id,
        author=Author("", "", ""),
        text=text,
        created_at=ManualClock().now(),
        visibility=Visibility.PUBLIC,
    )


def raised(call: object, *args: object, **kwargs: object) -> DeliveryError:
    assert callable(call)
    with pytest.raises(DeliveryError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- the account ---------------------------------------------------------------------------------
def test_identify_names_the_page_by_username_or_else_by_name(
    graph: GraphEmulator, clock: ManualClock, channel: FacebookChannel
) -> None:
    page = channel.identify()
    assert (page.external_id, page.handle, page.name) == (PAGE, "acmeitalia", "Acme Italia")
    request = graph.calls("GET /{page-id}")[-1]
    assert request.query == {"fields": "id,name,username"}

    graph.add_page("1000000000000002", "Acme Brand", "other-token")
    other = FacebookChannel(
        graph_url=graph.graph_url,
        page_id="1000000000000002",
        page_access_token="other-token",
        clock=clock,
    )
    assert other.identify().handle == "Acme Brand"  # a Page without a username


def test_every_request_carries_the_token_in_the_header_only(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    channel.identify()
    channel.subscribed_fields()
    channel.permissions()
    assert len(graph.requests) == 3
    for request in graph.requests:
        assert request.header("authorization") == f"Bearer {TOKEN}"
        assert request.path.startswith("/v25.0/")
        assert TOKEN not in request.path and TOKEN not in json.dumps(request.query)
    assert TOKEN not in repr(channel)


def test_subscribed_fields_and_permissions_as_the_page_has_them(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    assert "message_echoes" in channel.subscribed_fields()
    assert channel.permissions()["pages_messaging"] == "granted"

    graph.set_subscribed_fields(["feed", "messages"])
    graph.set_permission("pages_manage_engagement", "declined")
    assert channel.subscribed_fields() == ["feed", "messages"]
    assert channel.permissions()["pages_manage_engagement"] == "declined"
    graph.set_subscribed_fields([])
    assert channel.subscribed_fields() == []


def test_the_doctor_reads_the_page_through_the_adapter(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    account = AccountConfig(
        name="acme-italia",
        network="facebook",
        slack_channel="CSUPPORT",
        values={"app_secret": "s", "verify_token": "v"},
    )
    finding = doctor.check(account, channel)
    assert finding.ok and finding.detail.startswith("Acme Italia (1000000000000001): subscribed")
    graph.set_subscribed_fields(["feed"])
    graph.set_permission("pages_manage_engagement", "declined")
    unset = AccountConfig("acme-italia", "facebook", "CSUPPORT", values={"app_secret": "s"})
    finding = doctor.check(unset, channel)
    assert not finding.ok
    assert "not subscribed to messages, message_echoes" in finding.detail
    assert "the token lacks pages_manage_engagement" in finding.detail
    assert "META_VERIFY_TOKEN is not set" in finding.detail
    assert "POST /1000000000000001/subscribed_apps" in finding.fix


def test_nothing_is_polled(channel: FacebookChannel) -> None:
    assert channel.streams == ()
    with pytest.raises(ValueError, match="webhook"):
        channel.fetch("mentions", None, ManualClock().now())
    assert isinstance(channel, PrivateReplies) and isinstance(channel, Hiding)


# --- comments -------------------------------------------------------------------------------------
def test_reply_publicly_answers_under_the_comment(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    comment = graph.comment(GIULIA, "Il mio pacco è fermo da una settimana")
    sent = channel.reply_publicly("Ci scusi, controlliamo subito", comment)

    [reply] = graph.sent_comments
    assert reply["in_reply_to"] == comment and reply["parent_id"] == comment
    assert (reply["message"], reply["page_id"]) == ("Ci scusi, controlliamo subito", PAGE)
    assert sent.external_id == reply["id"]
    assert sent.permalink == f"https://www.facebook.com/{reply['id']}"
    assert json.loads(graph.calls("POST /{object-id}/comments")[0].body) == {
        "message": "Ci scusi, controlliamo subito"
    }


def test_hide_and_show_a_comment(graph: GraphEmulator, channel: FacebookChannel) -> None:
    comment = graph.comment(GIULIA, "siete dei ladri")
    channel.hide(comment, True)
    assert graph.hidden == {comment: True}
    channel.hide(comment, False)
    assert graph.hidden == {comment: False}


def test_an_id_that_is_not_facebooks_is_never_a_path(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    for bad in ("../me", "me/permissions", "1 2", ""):
        with pytest.raises(PermanentError, match="not a Facebook id"):
            channel.reply_publicly("hello", bad)
    assert graph.requests == []


# --- Messenger ------------------------------------------------------------------------------------
def test_send_private_within_24_hours_with_the_marker(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    graph.message(GIULIA, "Ho pagato due volte")
    clock.advance(timedelta(hours=23, minutes=59))
    sent = channel.send_private(GIULIA, "Le rimborsiamo subito", marker="carebridge:42")

    [message] = graph.sent_messages
    assert message["message_id"] == sent.external_id
    assert (message["messaging_type"], message["tag"]) == ("RESPONSE", None)
    assert message["request_json"] == {
        "recipient": {"id": GIULIA},
        "messaging_type": "RESPONSE",
        "message": {"text": "Le rimborsiamo subito", "metadata": "carebridge:42"},
    }
    echo = graph.pending()[-1]["entry"][0]["messaging"][0]["message"]
    assert echo["is_echo"] is True and echo["metadata"] == "carebridge:42"

    channel.send_private(GIULIA, "Senza marcatore")
    assert "metadata" not in graph.sent_messages[-1]["request_json"]["message"]


def test_the_24_hour_window_is_refused_with_a_reason_an_agent_can_act_on(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    graph.message(GIULIA, "Ho pagato due volte")
    clock.advance(timedelta(hours=24, minutes=1))
    error = raised(channel.send_private, GIULIA, "Le rimborsiamo subito")
    assert isinstance(error, OutsideWindow)
    assert "within 24 hours of the customer's last message" in error.reason
    assert graph.sent_messages == []

    graph.message(GIULIA, "Ci siete?")  # writing again opens the window again
    channel.send_private(GIULIA, "Sì, eccoci")
    assert len(graph.sent_messages) == 1


def test_human_agent_answers_within_7_days_once_the_page_is_approved(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    graph.message(GIULIA, "Ho pagato due volte")
    clock.advance(timedelta(days=3))

    error = raised(channel.send_private, GIULIA, "Rimborso fatto", extended=True)
    assert type(error) is PermanentError and "Human Agent" in error.reason
    assert graph.sent_messages == []

    graph.approve_human_agent()
    channel.send_private(GIULIA, "Rimborso fatto", extended=True)
    [message] = graph.sent_messages
    assert (message["messaging_type"], message["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")

    clock.advance(timedelta(days=4, minutes=1))
    error = raised(channel.send_private, GIULIA, "Ancora noi", extended=True)
    assert isinstance(error, OutsideWindow) and "168 hours" in error.reason


def test_a_person_messenger_does_not_know_or_cannot_reach(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    error = raised(channel.send_private, "2999999999999999", "hello")
    assert isinstance(error, NotReachable) and "no such person" in error.reason

    graph.message(GIULIA, "ciao")
    graph.set_available(GIULIA, False)
    error = raised(channel.send_private, GIULIA, "hello")
    assert isinstance(error, NotReachable) and "isn't available" in error.reason


def test_text_over_messengers_limit_is_refused_with_metas_message(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    graph.message(GIULIA, "ciao")
    error = raised(channel.send_private, GIULIA, "x" * 2001)
    assert type(error) is PermanentError
    assert "must be less than or equal to 2000" in error.reason


# --- private replies ------------------------------------------------------------------------------
def test_one_private_reply_per_comment(graph: GraphEmulator, channel: FacebookChannel) -> None:
    comment = graph.comment(GIULIA, "Come faccio il reso?")
    sent = channel.reply_privately("Le scriviamo qui in privato", comment)

    [reply] = graph.private_replies
    assert reply["request_json"] == {
        "recipient": {"comment_id": comment},
        "message": {"text": "Le scriviamo qui in privato"},
    }
    assert sent.external_id == reply["message_id"]
    assert sent.recipient_id == GIULIA  # the writer's Messenger id, for the next answers

    error = raised(channel.reply_privately, "Di nuovo", comment)
    assert isinstance(error, AlreadyReplied) and "only one" in error.reason
    assert len(graph.private_replies) == 1


def test_a_private_reply_only_within_7_days_of_the_comment(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    comment = graph.comment(GIULIA, "Come faccio il reso?")
    clock.advance(timedelta(days=7, minutes=1))
    error = raised(channel.reply_privately, "Le scriviamo in privato", comment)
    assert isinstance(error, NotReachable) and "within 7 days of the comment" in error.reason


# --- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "minutes", "header"),
    [(80001, 7, "X-Business-Use-Case-Usage"), (32, 2, "X-Business-Use-Case-Usage")],
)
def test_a_rate_limit_says_when_access_comes_back(
    graph: GraphEmulator,
    channel: FacebookChannel,
    clock: ManualClock,
    code: int,
    minutes: int,
    header: str,
) -> None:
    graph.message(GIULIA, "ciao")
    graph.rate_limit(SEND, code=code, regain_minutes=minutes)
    error = raised(channel.send_private, GIULIA, "hello")
    assert isinstance(error, RateLimited)
    assert error.retry_at == clock.now() + timedelta(minutes=minutes)
    assert f"(#{code})" in error.reason
    channel.send_private(GIULIA, "hello")  # the limit was for one request


def test_an_app_rate_limit_does_not_say_until_when(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    graph.rate_limit("GET /{page-id}", code=4)
    error = raised(channel.identify)
    assert isinstance(error, RateLimited) and error.retry_at is None


@pytest.mark.parametrize(
    ("header", "usage", "expected"),
    [
        ("X-App-Usage", {"call_count": 100, "estimated_time_to_regain_access": 3}, 3),
        ("X-Page-Usage", {"call_count": 95, "estimated_time_to_regain_access": 11}, 11),
        (
            "X-Business-Use-Case-Usage",
            {
                PAGE: [
                    {"type": "pages", "estimated_time_to_regain_access": 4},
                    {"type": "messenger", "estimated_time_to_regain_access": 9},
                ],
                "1000000000000009": [{"type": "pages", "estimated_time_to_regain_access": 0}],
            },
            9,
        ),
        ("X-App-Usage", "not json", None),
        ("X-App-Usage", {"estimated_time_to_regain_access": "soon"}, None),
    ],
)
def test_usage_headers_are_read_whatever_their_shape(
    graph: GraphEmulator,
    channel: FacebookChannel,
    clock: ManualClock,
    header: str,
    usage: object,
    expected: int | None,
) -> None:
    value = usage if isinstance(usage, str) else json.dumps(usage)
    fault = graph_fault(403, 32, "(#32) Page request limit reached", headers={header: value})
    graph.inject("GET /{page-id}", fault)
    error = raised(channel.identify)
    assert isinstance(error, RateLimited)
    assert error.retry_at == (
        None if expected is None else clock.now() + timedelta(minutes=expected)
    )


def test_a_revoked_or_unknown_token_is_credentials_refused(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    graph.revoke(TOKEN)
    error = raised(channel.identify)
    assert isinstance(error, CredentialsRefused) and "Page access token" in error.reason
    graph.restore(TOKEN)
    assert channel.identify().external_id == PAGE

    stranger = make_channel(graph, clock, token="EAAB-not-a-token")
    assert isinstance(raised(stranger.identify), CredentialsRefused)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.server_error(500),
        Fault.server_error(503),
        graph_fault(500, 2, "An unexpected error has occurred. Please retry your request later."),
        graph_fault(400, 1, "An unknown error occurred"),
        Fault.connection_reset(),
        Fault(status=400, body=b"<html>Bad gateway</html>"),
        Fault(status=200, body=b"not json"),
    ],
    ids=["500", "503", "code-2", "code-1", "reset", "html-400", "unreadable-200"],
)
def test_passing_failures_are_transient(
    graph: GraphEmulator, channel: FacebookChannel, fault: Fault
) -> None:
    graph.inject("GET /{page-id}", fault)
    assert isinstance(raised(channel.identify), TransientError)
    assert channel.identify().external_id == PAGE


def test_no_answer_in_time_is_transient(graph: GraphEmulator, clock: ManualClock) -> None:
    impatient = make_channel(graph, clock, timeout=0.2)
    graph.inject("GET /{page-id}", Fault.timeout(1.0))
    error = raised(impatient.identify)
    assert isinstance(error, TransientError) and "could not be reached" in error.reason


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (graph_fault(400, 190, "Error validating access token", subcode=463), CredentialsRefused,
         "Page access token"),
        (graph_fault(400, 102, "Session key invalid"), CredentialsRefused, "Page access token"),
        (graph_fault(400, 10, "(#10) outside", subcode=2018278), OutsideWindow, "24 hours"),
        (graph_fault(400, 10900, "(#10900) Activity already replied to"), AlreadyReplied,
         "only one"),
        (graph_fault(400, 551, "(#551) This person isn't available right now.", subcode=1545041),
         NotReachable, "isn't available"),
        (graph_fault(400, 100, "(#100) No matching user found", subcode=2018001), NotReachable,
         "no such person"),
        (graph_fault(403, 200, "(#200) Requires pages_messaging permission to manage the object"),
         PermanentError, "(#200) Requires pages_messaging permission"),
        (graph_fault(400, 100, f"Malformed access token {TOKEN}"), PermanentError,
         "Malformed access token [redacted]"),
    ],
)  # fmt: skip
def test_metas_refusals_become_delivery_errors(
    graph: GraphEmulator,
    channel: FacebookChannel,
    fault: Fault,
    kind: type[DeliveryError],
    words: str,
) -> None:
    graph.message(GIULIA, "ciao")
    graph.inject(SEND, fault)
    error = raised(channel.send_private, GIULIA, "hello")
    assert type(error) is kind
    assert words in error.reason


def test_no_token_in_any_error_or_log(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    graph.message(GIULIA, "ciao")
    errors: list[BaseException] = []
    faults = [
        graph_fault(400, 100, f"Malformed access token {TOKEN}"),
        graph_fault(400, 190, f"Invalid OAuth access token {TOKEN}"),
        graph_fault(500, 2, f"Unexpected for {TOKEN}"),
        graph_fault(403, 4, f"(#4) Application request limit reached {TOKEN}"),
        Fault.connection_reset(),
        Fault(status=502, body=f"<html>{TOKEN}</html>".encode()),
    ]
    for fault in faults:
        graph.inject(SEND, fault)
        errors.append(raised(channel.send_private, GIULIA, "hello"))
    graph.revoke(TOKEN)
    errors.append(raised(channel.identify))
    with capture_logs() as logs:
        completed = channel.complete(messenger(GIULIA))
    assert completed.author.name == UNKNOWN_NAME
    assert logs and TOKEN not in repr(logs)
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:  # and nothing it was raised from
            assert TOKEN not in str(chain) and TOKEN not in repr(chain)
            chain = chain.__cause__ or chain.__context__


# --- an earlier attempt whose answer was lost ----------------------------------------------------
def test_find_sent_finds_a_comment_reply_whose_answer_was_lost(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    comment = graph.comment(GIULIA, "Il mio pacco?")
    other = graph.comment(GIULIA, "E il secondo?")
    channel.reply_publicly("Controlliamo", other)  # the same words elsewhere do not count
    clock.advance(timedelta(milliseconds=600))
    since = clock.now()  # 09:00:00.6, and Meta will list the reply at 09:00:00
    graph.inject("POST /{object-id}/comments", Fault.connection_reset(after=True))
    assert isinstance(raised(channel.reply_publicly, "Controlliamo", comment), TransientError)
    reply = graph.sent_comments[-1]

    found = channel.find_sent("Controlliamo", in_reply_to=comment, recipient_id=None, since=since)
    assert found is not None and found.external_id == reply["id"]
    assert channel.find_sent("Altro", in_reply_to=comment, recipient_id=None, since=since) is None
    later = since + timedelta(minutes=1)
    assert (
        channel.find_sent("Controlliamo", in_reply_to=comment, recipient_id=None, since=later)
        is None
    )


def test_find_sent_looks_in_the_thread_a_reply_to_a_reply_joined(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    top = graph.comment(GIULIA, "Il mio pacco?")
    answer = graph.comment(GIULIA, "Anzi, due pacchi", parent=top)
    since = clock.now()
    sent = channel.reply_publicly("Controlliamo entrambi", answer)
    assert graph.sent_comments[-1]["parent_id"] == top  # Meta nests one level only
    found = channel.find_sent(
        "Controlliamo entrambi", in_reply_to=answer, recipient_id=None, since=since
    )
    assert found is not None and found.external_id == sent.external_id


def test_find_sent_finds_a_private_reply_whose_answer_was_lost(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    comment = graph.comment(GIULIA, "Come faccio il reso?")
    since = clock.now()
    graph.inject(SEND, Fault.server_error(500, after=True))
    assert isinstance(raised(channel.reply_privately, "Le scriviamo qui", comment), TransientError)
    [reply] = graph.private_replies

    found = channel.find_sent(
        "Le scriviamo qui", in_reply_to=comment, recipient_id=None, since=since
    )
    assert found is not None and found.external_id == reply["message_id"]
    assert isinstance(raised(channel.reply_privately, "Le scriviamo qui", comment), AlreadyReplied)


def test_find_sent_finds_a_message_whose_answer_was_lost(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    graph.message(GIULIA, "ok")  # the customer's words, the same as ours: not ours
    since = clock.now()
    assert channel.find_sent("ok", in_reply_to=None, recipient_id=GIULIA, since=since) is None
    graph.inject(SEND, Fault.timeout(1.0))
    impatient = make_channel(graph, clock, timeout=0.2)
    assert isinstance(raised(impatient.send_private, GIULIA, "ok"), TransientError)
    [message] = graph.sent_messages

    found = channel.find_sent("ok", in_reply_to=None, recipient_id=GIULIA, since=since)
    assert found is not None and found.external_id == message["message_id"]
    assert channel.find_sent("ok", in_reply_to=None, recipient_id=TOM, since=since) is None
    assert channel.find_sent("ok", in_reply_to=None, recipient_id=None, since=since) is None


# --- completing what the webhooks leave out ------------------------------------------------------
def test_complete_names_a_messenger_sender_from_the_profile_once(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    graph.message(GIULIA, "ciao")
    completed = channel.complete(messenger(GIULIA))
    assert completed.author.name == "Giulia Rossi"
    assert completed.author.external_id == GIULIA and completed.text == "ciao"
    assert channel.complete(messenger(GIULIA)).author.name == "Giulia Rossi"
    [lookup] = graph.calls("GET /{user-id}")  # cached
    assert lookup.query == {"fields": "first_name,last_name"}


def test_complete_says_facebook_user_when_the_profile_cannot_be_read(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    graph.message(TOM, "ciao")
    assert channel.complete(messenger(TOM)).author.name == UNKNOWN_NAME  # a closed profile

    graph.message(GIULIA, "ciao")
    graph.inject("GET /{user-id}", Fault.server_error(500))
    completed = channel.complete(messenger(GIULIA, "resta com'è"))
    assert completed.author.name == UNKNOWN_NAME and completed.text == "resta com'è"
    # A failure is not remembered: the next message gets the name.
    assert channel.complete(messenger(GIULIA)).author.name == "Giulia Rossi"


def test_complete_leaves_a_complete_message_alone(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    message = messenger(GIULIA, name="Giulia R.")
    assert channel.complete(message) is message
    comment = graph.comment(GIULIA, "ciao")
    public = replace(mention(comment, "ciao"), author=Author(GIULIA, "", "Giulia Rossi"))
    assert channel.complete(public) is public
    assert graph.requests == []


def test_complete_finds_a_mentions_author_and_text(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    comment = graph.mention(GIULIA, "@Acme Italia il mio ordine?")
    completed = channel.complete(mention(comment))
    assert completed.author.external_id == GIULIA
    assert completed.author.name == "Giulia Rossi"
    assert completed.text == "@Acme Italia il mio ordine?"
    assert channel.complete(mention(comment, "as sent")).text == "as sent"

    graph.inject("GET /{comment-id}", Fault.connection_reset())
    failed = channel.complete(mention(comment, "as sent"))
    assert (failed.author.external_id, failed.author.name) == ("", UNKNOWN_NAME)
    assert failed.text == "as sent"
