"""The WhatsApp channel adapter against the Cloud API emulator, over real HTTP: every call, the
24-hour window (131047 as the domain's OutsideWindow), templates, media, and every kind of
refusal turned into the domain's delivery errors, without the access token ever showing."""

from __future__ import annotations

from collections.abc import Iterator
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
from bot.networks.base import AccountConfig, Hiding, MediaTooLarge, PrivateReplies
from bot.networks.meta.signing import signature
from bot.networks.whatsapp import CREDENTIALS_FIX, doctor
from bot.networks.whatsapp.adapter import WhatsAppChannel
from bot.networks.whatsapp.cloud import ReengagementRequired
from bot.networks.whatsapp.emulator import (
    SANDBOX_DISPLAY_NUMBER,
    SANDBOX_NUMBER,
    WhatsAppEmulator,
    cloud_fault,
    encode,
)
from bot.networks.whatsapp.webhook import WhatsAppReceiver, media_id_of
from bot.sandbox.loopback import Fault

NUMBER = SANDBOX_NUMBER["phone_number_id"]
TOKEN = SANDBOX_NUMBER["access_token"]
GIULIA = "393331234567"
SEND = "POST /{phone-number-id}/messages"


@pytest.fixture
def wa(clock: ManualClock) -> Iterator[WhatsAppEmulator]:
    with WhatsAppEmulator(clock=clock.timestamp) as emulator:
        yield emulator


def make_channel(
    wa: WhatsAppEmulator, clock: ManualClock, *, token: str = TOKEN, timeout: float = 5
) -> WhatsAppChannel:
    return WhatsAppChannel(
        graph_url=wa.graph_url,
        phone_number_id=NUMBER,
        access_token=token,
        clock=clock,
        timeout=timeout,
    )


@pytest.fixture
def channel(wa: WhatsAppEmulator, clock: ManualClock) -> WhatsAppChannel:
    return make_channel(wa, clock)


def raised(call: object, *args: object, **kwargs: object) -> DeliveryError:
    assert callable(call)
    with pytest.raises(DeliveryError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- the account ----------------------------------------------------------------------------------
def test_identify_names_the_number(channel: WhatsAppChannel, wa: WhatsAppEmulator) -> None:
    identity = channel.identify()
    assert (identity.external_id, identity.handle, identity.name) == (
        NUMBER,
        SANDBOX_DISPLAY_NUMBER,
        "Acme Italia",
    )
    [call] = wa.calls("GET /{phone-number-id}")
    assert call.query == {"fields": "display_phone_number,verified_name,quality_rating"}
    assert call.header("authorization") == f"Bearer {TOKEN}"
    assert TOKEN not in call.path and not call.query.get("access_token")


def test_a_push_network_with_nothing_public(channel: WhatsAppChannel, wa: WhatsAppEmulator) -> None:
    assert channel.streams == ()
    with pytest.raises(ValueError):
        next(iter(channel.fetch("dms", None, ManualClock().now())))
    error = raised(channel.reply_publicly, "ciao", "wamid.X")
    assert type(error) is PermanentError and "no public messages" in error.reason
    assert not isinstance(channel, PrivateReplies | Hiding)
    message = InboundMessage(
        "whatsapp", "wamid.X", Author(GIULIA, "", "Giulia"), "ciao", ManualClock().now(),
        Visibility.PRIVATE,
    )  # fmt: skip
    assert channel.complete(message) is message
    since = ManualClock().now()
    assert channel.find_sent("ciao", in_reply_to=None, recipient_id=GIULIA, since=since) is None
    assert wa.requests == []


# --- sending --------------------------------------------------------------------------------------
def test_a_text_message_as_the_cloud_api_takes_it(
    channel: WhatsAppChannel, wa: WhatsAppEmulator
) -> None:
    wa.message(GIULIA, "Giulia", "Il pacco?")
    sent = channel.send_private(GIULIA, "Controlliamo subito")
    [recorded] = wa.sent
    assert recorded["request_json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": GIULIA,
        "type": "text",
        "text": {"preview_url": False, "body": "Controlliamo subito"},
    }
    assert sent.external_id == recorded["message_id"] and sent.permalink == ""


def test_a_marker_and_the_message_answered_go_with_it(
    channel: WhatsAppChannel, wa: WhatsAppEmulator
) -> None:
    asked = wa.message(GIULIA, "Giulia", "Il pacco?")
    channel.send_private(GIULIA, "Eccolo", marker="carebridge:42", reply_to=asked)
    [recorded] = wa.sent
    assert recorded["request_json"]["context"] == {"message_id": asked}
    assert recorded["request_json"]["biz_opaque_callback_data"] == "carebridge:42"
    statuses = [p["entry"][0]["changes"][0]["value"].get("statuses") for p in wa.pending()]
    assert [s[0]["biz_opaque_callback_data"] for s in statuses if s] == ["carebridge:42"] * 2


def test_outside_the_24_hours_the_window_is_closed(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    error = raised(channel.send_private, GIULIA, "Mai scritto")
    assert isinstance(error, ReengagementRequired) and isinstance(error, OutsideWindow)
    assert "WhatsApp allows answers only within 24 hours" in error.reason

    wa.message(GIULIA, "Giulia", "ciao")
    clock.advance(timedelta(hours=24))
    channel.send_private(GIULIA, "In tempo")
    clock.advance(timedelta(seconds=1))
    assert isinstance(raised(channel.send_private, GIULIA, "Tardi"), ReengagementRequired)
    assert [m["text"] for m in wa.sent] == ["In tempo"]


def test_a_template_reopens_the_conversation_any_time(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    clock.advance(timedelta(days=3))
    sent = channel.send_template(GIULIA, "riapertura", "it", marker="carebridge:9")
    [recorded] = wa.sent
    assert recorded["request_json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": GIULIA,
        "type": "template",
        "template": {"name": "riapertura", "language": {"code": "it"}},
        "biz_opaque_callback_data": "carebridge:9",
    }
    assert sent.external_id == recorded["message_id"]
    error = raised(channel.send_template, GIULIA, "saldi", "it")
    assert type(error) is PermanentError and "WHATSAPP_REOPEN_TEMPLATE" in error.reason


def test_text_over_4096_characters_is_refused_with_metas_words(
    channel: WhatsAppChannel, wa: WhatsAppEmulator
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    channel.send_private(GIULIA, "x" * 4096)
    error = raised(channel.send_private, GIULIA, "x" * 4097)
    assert type(error) is PermanentError
    assert "Invalid parameter" in error.reason and "at most 4096 characters" in error.reason
    assert len(wa.sent) == 1


@pytest.mark.parametrize("recipient", ["../me", "", "+39 333", "393331234567/messages"])
def test_only_a_customer_id_becomes_a_recipient(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, recipient: str
) -> None:
    assert type(raised(channel.send_private, recipient, "ciao")) is PermanentError
    assert wa.requests == []


# --- media ----------------------------------------------------------------------------------------
def test_a_customers_photo_is_downloaded_from_its_webhook_attachment(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    wa.send_image(GIULIA, "Giulia", b"\xff\xd8 il pacco rotto", caption="guardate")
    receiver = WhatsAppReceiver([NUMBER], ["s"], ["t"])
    [pushed] = receiver.parse(encode(wa.pending()[-1]))
    assert isinstance(pushed.event, InboundMessage)
    media_id = media_id_of(pushed.event.attachments[0].url)
    assert media_id is not None

    url = channel.media_url(media_id)
    assert channel.download(url) == b"\xff\xd8 il pacco rotto"
    assert wa.calls("GET /media-download")[0].header("authorization") == f"Bearer {TOKEN}"
    with pytest.raises(MediaTooLarge, match="more than the 5 copied"):
        channel.download(url, limit=5)
    clock.advance(timedelta(minutes=6))
    assert "expired" in raised(channel.download, url).reason
    assert channel.download(channel.media_url(media_id)) == b"\xff\xd8 il pacco rotto"

    # What the copy into Slack asks for: the size is checked before any download.
    media = channel.media(pushed.event.attachments[0].url)
    assert (media.data, media.mime_type) == (b"\xff\xd8 il pacco rotto", "image/jpeg")
    assert media.filename == f"whatsapp-{media_id}.jpg"
    downloads = len(wa.calls("GET /media-download"))
    with pytest.raises(MediaTooLarge) as large:
        channel.media(pushed.event.attachments[0].url, limit=5)
    assert (large.value.size, len(wa.calls("GET /media-download"))) == (17, downloads)
    assert channel.holds(pushed.event.attachments[0].url)
    assert not channel.holds("https://scontent.xx.fbcdn.net/v/photo.jpg")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/whatsapp_business/attachments/?mid=1",
        "https://lookaside.fbsbx.com.evil.example/x",
        "http://lookaside.fbsbx.com/x",  # the token never travels in clear
        "file:///etc/passwd",
    ],
)
def test_the_token_goes_to_no_other_host(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, url: str
) -> None:
    error = raised(channel.download, url)
    assert type(error) is PermanentError and "not a WhatsApp media url" in error.reason
    assert wa.requests == []


def test_an_unknown_media_id_is_refused(channel: WhatsAppChannel) -> None:
    assert type(raised(channel.media_url, "1234")) is PermanentError
    assert type(raised(channel.media_url, "../me")) is PermanentError


# --- refusals -------------------------------------------------------------------------------------
def test_a_refused_token_is_credentials_refused(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    wa.revoke(TOKEN)
    error = raised(channel.identify)
    assert isinstance(error, CredentialsRefused) and "access token" in error.reason
    wa.restore(TOKEN)
    assert channel.identify().external_id == NUMBER
    stranger = make_channel(wa, clock, token="EAAG-not-a-token")
    assert isinstance(raised(stranger.identify), CredentialsRefused)
    assert isinstance(raised(stranger.send_private, GIULIA, "ciao"), CredentialsRefused)


@pytest.mark.parametrize(
    ("code", "minutes", "seconds", "expected"),
    [
        (130429, None, 30, timedelta(seconds=30)),
        (80007, 7, None, timedelta(minutes=7)),
        (131056, None, None, None),
        (4, None, None, None),
    ],
)
def test_a_rate_limit_says_when_access_comes_back_where_meta_says(
    channel: WhatsAppChannel,
    wa: WhatsAppEmulator,
    clock: ManualClock,
    code: int,
    minutes: int | None,
    seconds: int | None,
    expected: timedelta | None,
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    wa.rate_limit(SEND, code=code, regain_minutes=minutes, retry_after=seconds)
    error = raised(channel.send_private, GIULIA, "ciao")
    assert isinstance(error, RateLimited) and f"(#{code})" in error.reason
    assert error.retry_at == (None if expected is None else clock.now() + expected)
    channel.send_private(GIULIA, "ciao")  # the limit was for one request


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (cloud_fault(400, 131026, "(#131026) Message Undeliverable."), PermanentError,
         "cannot deliver to this customer"),
        (cloud_fault(400, 131030, "(#131030) Recipient phone number not in allowed list"),
         PermanentError, "test number"),
        (cloud_fault(400, 131047, "(#131047) Re-engagement message"), ReengagementRequired,
         "24 hours"),
        (cloud_fault(400, 131000, "(#131000) Something went wrong"), TransientError,
         "temporary problem"),
        (cloud_fault(503, 133004, "(#133004) Server temporarily unavailable"), TransientError,
         "temporary problem"),
        (cloud_fault(401, 0, "(#0) AuthException"), CredentialsRefused, "access token"),
        (cloud_fault(400, 368, "(#368) Temporarily blocked for policy violations"),
         PermanentError, "(#368) Temporarily blocked"),
        (cloud_fault(400, 100, f"Malformed access token {TOKEN}"), PermanentError,
         "Malformed access token [redacted]"),
    ],
)  # fmt: skip
def test_metas_refusals_become_delivery_errors(
    channel: WhatsAppChannel,
    wa: WhatsAppEmulator,
    fault: Fault,
    kind: type[DeliveryError],
    words: str,
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    wa.inject(SEND, fault)
    error = raised(channel.send_private, GIULIA, "hello")
    assert type(error) is kind and words in error.reason


@pytest.mark.parametrize(
    "fault",
    [
        Fault.server_error(500),
        Fault.server_error(502),
        Fault.connection_reset(),
        Fault(status=400, body=b"<html>Bad gateway</html>"),
        Fault(status=200, body=b"not json"),
        Fault(status=200, body={"messaging_product": "whatsapp", "messages": []}),
    ],
    ids=["500", "502", "reset", "html-400", "unreadable-200", "no-id"],
)
def test_passing_failures_are_transient(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, fault: Fault
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    wa.inject(SEND, fault)
    assert isinstance(raised(channel.send_private, GIULIA, "ciao"), TransientError)
    channel.send_private(GIULIA, "ciao")


def test_no_answer_in_time_is_transient(wa: WhatsAppEmulator, clock: ManualClock) -> None:
    impatient = make_channel(wa, clock, timeout=0.2)
    wa.inject("GET /{phone-number-id}", Fault.timeout(1.0))
    error = raised(impatient.identify)
    assert isinstance(error, TransientError) and "could not be reached" in error.reason


def test_no_token_or_phone_number_in_any_error_or_log(
    channel: WhatsAppChannel, wa: WhatsAppEmulator
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    faults = [
        cloud_fault(400, 100, f"Malformed access token {TOKEN}"),
        cloud_fault(401, 190, f"Invalid OAuth access token {TOKEN}"),
        cloud_fault(500, 2, f"Unexpected for {TOKEN}"),
        Fault.connection_reset(),
        Fault(status=502, body=f"<html>{TOKEN}</html>".encode()),
    ]
    errors: list[BaseException] = []
    with capture_logs() as logs:
        for fault in faults:
            wa.inject(SEND, fault)
            errors.append(raised(channel.send_private, GIULIA, "hello"))
    assert TOKEN not in repr(logs) and GIULIA not in repr(logs)
    assert TOKEN not in repr(channel)
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:  # and nothing it was raised from
            assert TOKEN not in str(chain) and TOKEN not in repr(chain)
            chain = chain.__cause__ or chain.__context__


# --- doctor ---------------------------------------------------------------------------------------
def account(**values: str) -> AccountConfig:
    settings = {"app_secret": "s", "verify_token": "t", **values}
    return AccountConfig("acme-wa", "whatsapp", "C1", settings)


@pytest.mark.parametrize(
    ("rating", "ok", "words", "fixed"),
    [
        ("GREEN", True, "high quality", False),
        ("UNKNOWN", True, "no quality rating yet", False),
        ("YELLOW", True, "medium quality", True),
        ("RED", False, "low quality", True),
    ],
)
def test_doctor_reads_the_numbers_quality(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, rating: str, ok: bool, words: str, fixed: bool
) -> None:
    wa.set_quality(rating)
    finding = doctor.check(account(), channel)
    assert finding.ok is ok
    assert finding.detail.startswith(f"Acme Italia ({SANDBOX_DISPLAY_NUMBER}): ")
    assert words in finding.detail and bool(finding.fix) is fixed


def test_doctor_says_what_to_fix(
    channel: WhatsAppChannel, wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    finding = doctor.check(account(app_secret=""), channel)
    assert not finding.ok and "META_APP_SECRET is not set" in finding.detail

    wa.revoke(TOKEN)
    refused = doctor.check(account(), channel)
    assert (refused.ok, refused.fix) == (False, CREDENTIALS_FIX)
    wa.restore(TOKEN)

    wa.rate_limit("GET /{phone-number-id}", code=80007)
    limited = doctor.check(account(), channel)
    assert not limited.ok and "wait" in limited.fix

    elsewhere = WhatsAppChannel(
        graph_url=wa.graph_url, phone_number_id="1000000000000999", access_token=TOKEN, clock=clock
    )
    missing = doctor.check(account(), elsewhere)
    assert not missing.ok and "WHATSAPP_PHONE_NUMBER_ID" in missing.fix


def test_what_the_emulator_signs_the_receiver_accepts(wa: WhatsAppEmulator) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    body = encode(wa.pending()[0])
    receiver = WhatsAppReceiver([NUMBER], [SANDBOX_NUMBER["app_secret"]], ["t"])
    assert receiver.verify({"x-hub-signature-256": signature(wa.app_secret, body)}, body)
