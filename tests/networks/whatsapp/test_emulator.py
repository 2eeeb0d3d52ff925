"""The WhatsApp Cloud API emulator on its own, over real HTTP: Meta's routes, rules and
refusals, the webhooks it queues, and how it delivers them.

Fidelity: every webhook it makes has the keys and value types of Meta's recording of its kind
in `shared/fixtures/meta/whatsapp/`, its answer to a send that of `message-response.json`, and
it takes a send of `send-message-recipient-only.json`'s shape. Those tests skip when `shared/`
is not there (a clone elsewhere).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.clock import ManualClock
from bot.domain.model import DeliveryReceipt, InboundMessage, MessageReaction
from bot.networks.meta.signing import signature
from bot.networks.whatsapp.emulator import (
    ROUTE_KEYS,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_DISPLAY_NUMBER,
    SANDBOX_NUMBER,
    WhatsAppEmulator,
    encode,
)
from bot.networks.whatsapp.webhook import WhatsAppReceiver, delivery_statuses
from bot.sandbox.loopback import Fault

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "meta"
NUMBER = SANDBOX_NUMBER["phone_number_id"]
TOKEN = SANDBOX_NUMBER["access_token"]
SECRET = SANDBOX_NUMBER["app_secret"]
GIULIA = "393331234567"
SEND = "POST /{phone-number-id}/messages"


@pytest.fixture
def wa(clock: ManualClock) -> Iterator[WhatsAppEmulator]:
    with WhatsAppEmulator(clock=clock.timestamp) as emulator:
        yield emulator


class Api:
    """Raw Cloud API calls with a token, to see Meta's answers as they are."""

    def __init__(self, emulator: WhatsAppEmulator, token: str | None = TOKEN) -> None:
        self.url = emulator.graph_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.url}/{path}", params=params, timeout=5)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(f"{self.url}/{path}", json=body, timeout=5)

    def text(self, to: str, body: str, number: str = NUMBER) -> requests.Response:
        message = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": body},
        }
        return self.post(f"{number}/messages", message)

    def template(
        self, to: str, name: str = "riapertura", language: str = "it"
    ) -> requests.Response:
        message = {
            "messaging_product": "whatsapp",
            "to": to,
            "type": "template",
            "template": {"name": name, "language": {"code": language}},
        }
        return self.post(f"{NUMBER}/messages", message)


@pytest.fixture
def api(wa: WhatsAppEmulator) -> Api:
    return Api(wa)


def error_of(response: requests.Response) -> tuple[int, int | None, str, str]:
    """Code, subcode, message and details of a refusal."""
    error = response.json()["error"]
    details = (error.get("error_data") or {}).get("details", "")
    return error["code"], error.get("error_subcode"), error["message"], details


# --- fidelity to Meta's own payloads --------------------------------------------------------------
def shape(value: Any) -> Any:
    """The keys and value types of a payload, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def fixture(name: str) -> Any:
    path = FIXTURES / "whatsapp" / name
    if not path.is_file():
        pytest.skip(f"no Meta fixture at {path}")
    return json.loads(path.read_text())


def answered_message(wa: WhatsAppEmulator) -> str:
    """The id of a message of the business's, which the customer then answers."""
    wa.message(GIULIA, "Giulia", "ciao")
    response = Api(wa).text(GIULIA, "Buongiorno")
    assert response.ok
    message_id: str = response.json()["messages"][0]["id"]
    return message_id


# What each recording shows, and the customer's act that makes it.
ACTS: dict[str, Callable[[WhatsAppEmulator], object]] = {
    "text": lambda wa: wa.message(GIULIA, "Giulia", "Test"),
    "image": lambda wa: wa.send_image(GIULIA, "Giulia", b"jpeg", caption="foto"),
    "document": lambda wa: wa.send_media(
        GIULIA, "Giulia", "document", b"%PDF", mime_type="application/pdf", caption="ricevuta",
        filename="ricevuta.pdf",
    ),
    "audio": lambda wa: wa.send_media(
        GIULIA, "Giulia", "audio", b"ogg", mime_type="audio/ogg; codecs=opus"
    ),
    "sticker": lambda wa: wa.send_media(GIULIA, "Giulia", "sticker", b"w", mime_type="image/webp"),
    "location": lambda wa: wa.send_location(
        GIULIA, "Giulia", 45.4642, 9.19, place="Duomo", address="Piazza del Duomo, Milano"
    ),
    "button": lambda wa: wa.tap_template_button(
        GIULIA, "Giulia", "Sì", "yes", reply_to=answered_message(wa)
    ),
    "interactive-btn": lambda wa: wa.button_reply(GIULIA, "Giulia", "b1", "Sì"),
    "emoji": lambda wa: wa.react(GIULIA, "Giulia", answered_message(wa), "👍"),
    "unsupported": lambda wa: wa.unsupported(GIULIA, "Giulia"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(ACTS))
def test_every_customer_webhook_has_the_shape_of_metas(wa: WhatsAppEmulator, kind: str) -> None:
    expected = fixture(f"webhook-incoming-message-{kind}.json")
    ACTS[kind](wa)
    assert shape(wa.pending()[-1]) == shape(expected)


def test_the_sent_status_has_the_shape_of_metas(wa: WhatsAppEmulator, api: Api) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    api.text(GIULIA, "Buongiorno")
    sent, delivered = wa.pending()[-2:]
    assert shape(sent) == shape(fixture("webhook-incoming-message-status-ui.json"))
    assert shape(delivered) == shape(sent)
    said = [
        p["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for p in (sent, delivered)
    ]
    assert said == ["sent", "delivered"]


def test_the_failed_status_has_the_shape_of_metas(wa: WhatsAppEmulator, api: Api) -> None:
    wa.add_customer(GIULIA, "Giulia")
    wa.set_reachable(GIULIA, False)
    assert api.template(GIULIA).ok  # accepted: the failure comes by webhook
    [failed] = wa.pending()
    assert shape(failed) == shape(fixture("webhook-incoming-message-status-errors.json"))
    [status] = failed["entry"][0]["changes"][0]["value"]["statuses"]
    assert (status["status"], status["errors"][0]["code"]) == ("failed", 131026)


def test_the_answer_to_a_send_has_the_shape_of_metas(wa: WhatsAppEmulator, api: Api) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    answer = api.text(GIULIA, "Buongiorno").json()
    assert shape(answer) == shape(fixture("message-response.json"))
    assert answer["contacts"] == [{"input": GIULIA, "wa_id": GIULIA}]
    assert answer["messages"][0]["id"] == wa.sent[0]["message_id"]
    assert answer["messages"][0]["id"].startswith("wamid.")


def test_a_send_to_a_business_scoped_user_id_as_meta_shows_it(
    wa: WhatsAppEmulator, api: Api
) -> None:
    body = fixture("send-message-recipient-only.json")
    wa.add_customer(GIULIA, "Giulia", user_id=body["recipient"])
    wa.message(GIULIA, "Giulia", "ciao")
    response = api.post(f"{NUMBER}/messages", body)
    assert response.ok and shape(response.json()) == shape(fixture("message-response.json"))
    assert (wa.sent[0]["wa_id"], wa.sent[0]["text"]) == (GIULIA, "hello via bsuid")


def test_webhooks_carry_the_number_the_customer_and_the_clock(
    wa: WhatsAppEmulator, clock: ManualClock
) -> None:
    wamid = wa.message(GIULIA, "Giulia Rossi", "ciao")
    [payload] = wa.pending()
    assert payload["object"] == "whatsapp_business_account"
    entry = payload["entry"][0]
    assert entry["id"] == SANDBOX_ACCOUNT_ID
    value = entry["changes"][0]["value"]
    assert value["metadata"] == {
        "display_phone_number": SANDBOX_DISPLAY_NUMBER,
        "phone_number_id": NUMBER,
    }
    assert value["contacts"] == [{"profile": {"name": "Giulia Rossi"}, "wa_id": GIULIA}]
    assert value["messages"] == [
        {
            "from": GIULIA,
            "id": wamid,
            "timestamp": str(int(clock.timestamp())),
            "type": "text",
            "text": {"body": "ciao"},
        }
    ]


def test_error_bodies_have_the_keys_and_types_of_metas(wa: WhatsAppEmulator, api: Api) -> None:
    expected = json.loads((FIXTURES / "graph" / "error-oauth-190.json").read_text())["error"]
    refusals = [
        api.text(GIULIA, "never wrote"),
        Api(wa, "EAAB-unknown").get(NUMBER),
        api.get(NUMBER, fields="nope"),
        api.get("2"),
    ]
    for response in refusals:
        error = response.json()["error"]
        assert {"message", "type", "code", "fbtrace_id"} <= set(error)
        assert set(error) <= set(expected) | {"error_data"}
        assert {k: shape(v) for k, v in error.items() if k in expected} == {
            k: shape(expected[k]) for k in error if k in expected
        }


# --- Meta's rules ---------------------------------------------------------------------------------
def test_the_24_hour_window_by_the_emulators_clock(
    wa: WhatsAppEmulator, api: Api, clock: ManualClock
) -> None:
    refused = api.text(GIULIA, "mai scritto")
    assert refused.status_code == 400
    assert error_of(refused) == (
        131047,
        None,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    )
    wa.message(GIULIA, "Giulia", "ciao")
    clock.advance(24 * 3600)
    assert api.text(GIULIA, "ancora in tempo").ok  # 24 hours exactly
    clock.advance(1)
    assert error_of(api.text(GIULIA, "troppo tardi"))[0] == 131047
    assert api.template(GIULIA).ok  # a template goes any time
    wa.button_reply(GIULIA, "Giulia", "b1", "Scrivetemi")  # any message reopens it
    assert api.text(GIULIA, "eccoci").ok
    assert [m["text"] or m["template"]["name"] for m in wa.sent] == [
        "ancora in tempo",
        "riapertura",
        "eccoci",
    ]


def test_text_is_at_most_4096_characters(wa: WhatsAppEmulator, api: Api) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    assert api.text(GIULIA, "x" * 4096).ok
    code, _, message, details = error_of(api.text(GIULIA, "x" * 4097))
    assert (code, message) == (100, "(#100) Invalid parameter") and "4096" in details
    assert error_of(api.text(GIULIA, ""))[0] == 100
    assert len(wa.sent) == 1


def test_only_the_businesss_templates(wa: WhatsAppEmulator, api: Api) -> None:
    code, _, message, details = error_of(api.template(GIULIA, "saldi", "it"))
    assert code == 132001 and "does not exist" in message and "saldi" in details
    assert error_of(api.template(GIULIA, "riapertura", "en_US"))[0] == 132001
    wa.add_template("riapertura", "en_US")
    assert api.template(GIULIA, "riapertura", "en_US").ok


def test_send_parameters_are_checked(wa: WhatsAppEmulator, api: Api) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    base = {"messaging_product": "whatsapp", "to": GIULIA, "type": "text", "text": {"body": "x"}}
    for broken in (
        base | {"messaging_product": "messenger"},
        {k: v for k, v in base.items() if k != "to"},
        base | {"type": "image", "image": {"id": "1"}},
        base | {"text": "x"},
    ):
        assert error_of(api.post(f"{NUMBER}/messages", broken))[0] == 100
    assert error_of(api.post(f"{NUMBER}/messages", [1]))[0] == 100
    assert wa.sent == []


def test_the_number_the_token_and_its_refusals(wa: WhatsAppEmulator, api: Api) -> None:
    assert api.get(NUMBER, fields="display_phone_number,verified_name,quality_rating").json() == {
        "display_phone_number": SANDBOX_DISPLAY_NUMBER,
        "verified_name": "Acme Italia",
        "quality_rating": "GREEN",
        "id": NUMBER,
    }
    assert api.get(NUMBER).json()["platform_type"] == "CLOUD_API"
    assert error_of(api.get("1000000000000999"))[:2] == (100, 33)  # no such number
    wa.add_number("1000000000000202", "390299999999", "Altra", "other-token")
    assert error_of(api.get("1000000000000202"))[:2] == (100, 33)  # not this token's
    assert error_of(api.text(GIULIA, "x", number="1000000000000202"))[:2] == (100, 33)

    unknown = Api(wa, "EAAB-unknown").get(NUMBER)
    assert (unknown.status_code, error_of(unknown)[0]) == (401, 190)
    wa.revoke(TOKEN)
    revoked = api.get(NUMBER)
    assert (revoked.status_code, error_of(revoked)[:2]) == (401, (190, 463))
    wa.restore(TOKEN)
    assert api.get(NUMBER).ok
    missing = Api(wa, None).get(NUMBER)
    assert (missing.status_code, error_of(missing)[0]) == (401, 104)
    assert error_of(api.get(f"{NUMBER}/whatever"))[0] == 2500


# --- statuses and media ---------------------------------------------------------------------------
def statuses(wa: WhatsAppEmulator) -> list[tuple[str, str, str | None]]:
    found = []
    for payload in wa.pending():
        for status in delivery_statuses(encode(payload)):
            found.append((status.message_id, status.status, status.marker))
    return found


def test_the_businesss_messages_are_sent_delivered_and_read(wa: WhatsAppEmulator, api: Api) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    wa.clear_pending()
    first = api.text(GIULIA, "Uno").json()["messages"][0]["id"]
    body = {
        "messaging_product": "whatsapp",
        "to": GIULIA,
        "type": "text",
        "text": {"body": "Due"},
        "context": {"message_id": "wamid.HERS"},
        "biz_opaque_callback_data": "carebridge:7",
    }
    second = api.post(f"{NUMBER}/messages", body).json()["messages"][0]["id"]
    wa.read(GIULIA)
    assert statuses(wa) == [
        (first, "sent", None),
        (first, "delivered", None),
        (second, "sent", "carebridge:7"),
        (second, "delivered", "carebridge:7"),
        (first, "read", None),
        (second, "read", "carebridge:7"),
    ]
    assert wa.sent[1]["context"] == "wamid.HERS" and wa.sent[1]["marker"] == "carebridge:7"
    wa.read(GIULIA)
    assert len(statuses(wa)) == 6  # read once


def test_media_is_downloaded_with_the_token_for_five_minutes(
    wa: WhatsAppEmulator, api: Api, clock: ManualClock
) -> None:
    wa.send_image(GIULIA, "Giulia", b"\xff\xd8 la foto", caption="il pacco")
    media_id = wa.pending()[-1]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
    described = api.get(media_id).json()
    assert set(described) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert (described["mime_type"], described["file_size"]) == ("image/jpeg", "10")
    download = api.session.get(described["url"], timeout=5)
    assert download.content == b"\xff\xd8 la foto"
    assert download.headers["content-type"] == "image/jpeg"
    assert requests.get(described["url"], timeout=5).status_code == 401  # no token
    clock.advance(5 * 60 + 1)
    assert api.session.get(described["url"], timeout=5).status_code == 404
    assert api.session.get(api.get(media_id).json()["url"], timeout=5).ok  # a new url works
    wa.add_number("1000000000000202", "390299999999", "Altra", "other-token")
    assert error_of(Api(wa, "other-token").get(media_id))[:2] == (100, 33)


# --- faults ---------------------------------------------------------------------------------------
def test_rate_limits_and_faults_per_route(wa: WhatsAppEmulator, api: Api) -> None:
    wa.rate_limit("GET /{phone-number-id}", code=80007, regain_minutes=3)
    wa.rate_limit("GET /{phone-number-id}", code=130429, retry_after=30)
    limited = api.get(NUMBER)
    assert (limited.status_code, error_of(limited)[0]) == (400, 80007)
    usage = json.loads(limited.headers["X-Business-Use-Case-Usage"])
    assert usage[SANDBOX_ACCOUNT_ID][0]["estimated_time_to_regain_access"] == 3
    throughput = api.get(NUMBER)
    assert (error_of(throughput)[0], throughput.headers["Retry-After"]) == (130429, "30")
    assert api.get(NUMBER).ok
    assert wa.pending_faults() == 0

    wa.message(GIULIA, "Giulia", "ciao")
    wa.inject(SEND, Fault.server_error(500, after=True))
    assert api.text(GIULIA, "arrivato?").status_code == 500
    assert len(wa.sent) == 1  # it took effect all the same
    assert len(wa.calls(SEND)) == 1 and len(wa.calls("GET /{phone-number-id}")) == 3
    with pytest.raises(ValueError, match="unknown route key"):
        wa.inject("POST /messages", Fault.server_error())
    with pytest.raises(ValueError):
        wa.rate_limit(SEND, code=32)
    assert set(ROUTE_KEYS) >= {SEND, "GET /{media-id}"}


# --- deliveries -----------------------------------------------------------------------------------
class Receiver:
    """A webhook endpoint on loopback: records each POST, answers them with `statuses` in turn
    (then 200), and the handshake for `verify_token`."""

    def __init__(self, statuses: tuple[int, ...] = (), verify_token: str = "") -> None:
        self.statuses = deque(statuses)
        self.verify_token = verify_token
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                ok = query.get("hub.verify_token") == receiver.verify_token
                answer = query.get("hub.challenge", "").encode() if ok else b"forbidden"
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/meta"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver(statuses=(500, 503))
    yield endpoint
    endpoint.stop()


def test_deliveries_are_signed_and_retried_until_200(
    wa: WhatsAppEmulator, receiver: Receiver
) -> None:
    wa.message(GIULIA, "Giulia", "ciao")
    [delivery] = wa.deliver(receiver.url)
    assert [a.status for a in delivery.attempts] == [500, 503, 200] and delivery.delivered
    headers, body = receiver.received[-1]
    assert headers["x-hub-signature-256"] == signature(SECRET, body)
    assert json.loads(body) == delivery.payload and wa.pending() == []


def test_deliver_raw_and_the_handshake(wa: WhatsAppEmulator) -> None:
    endpoint = Receiver(verify_token=SANDBOX_NUMBER["verify_token"])
    try:
        body = encode({"object": "whatsapp_business_account", "entry": []})
        wa.deliver_raw(endpoint.url, body, signature="sha256=bad")
        wa.deliver_raw(endpoint.url, body, signature="")
        signatures = [h.get("x-hub-signature-256") for h, _ in endpoint.received]
        assert signatures == ["sha256=bad", None]
        assert wa.handshake(endpoint.url)
        assert not wa.handshake(endpoint.url, verify_token="wrong")
    finally:
        endpoint.stop()


def test_the_receiver_understands_what_the_emulator_sends(wa: WhatsAppEmulator) -> None:
    receiver = WhatsAppReceiver([NUMBER], [SECRET], [SANDBOX_NUMBER["verify_token"]])
    for act in ACTS.values():
        act(wa)
    shown = []
    for payload in wa.pending():
        body = encode(payload)
        assert receiver.verify({"x-hub-signature-256": signature(SECRET, body)}, body)
        for pushed in receiver.parse(body):
            assert pushed.account_external_id == NUMBER
            event = pushed.event
            if isinstance(event, DeliveryReceipt):
                continue  # the receipts of the business's own messages
            if isinstance(event, MessageReaction):
                shown.append(f"reaction {event.reaction}")
            else:
                assert isinstance(event, InboundMessage) and event.author.name == "Giulia"
                kinds = ",".join(a.kind for a in event.attachments)
                shown.append(f"{event.text}|{kinds}" if kinds else event.text)
    assert shown == [
        "Test",
        "foto|image",
        "ricevuta|file",
        "|audio",
        "|sticker",
        "Duomo, Piazza del Duomo, Milano: "
        "https://www.google.com/maps/search/?api=1&query=45.4642,9.19|location",
        "ciao",  # answered_message(): the customer writes, the business answers
        "Sì",
        "Sì",
        "ciao",
        "reaction 👍",
        "(unsupported WhatsApp message: unsupported)",
    ]
