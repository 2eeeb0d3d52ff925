"""The Graph API emulator on its own, over real HTTP: Meta's routes, rules and refusals, the
webhooks it queues, and how it delivers them (signed, retried, batched).

Fidelity: every webhook it makes has the keys and types of Meta's payload of its kind in
`shared/fixtures/meta/webhooks/`, its error bodies and Send API answer those of
`shared/fixtures/meta/graph/`. Those tests skip when `shared/` is not there (a clone elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bot.clock import ManualClock
from bot.networks.facebook.emulator import (
    APP_ID,
    INBOX_APP_ID,
    PERMISSIONS,
    ROUTE_KEYS,
    SANDBOX_PAGE,
    SUBSCRIBED_FIELDS,
    GraphEmulator,
)
from bot.networks.meta.webhook_sender import encode, signature
from bot.sandbox.loopback import Fault

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "meta"
PAGE = SANDBOX_PAGE["page_id"]
TOKEN = SANDBOX_PAGE["page_access_token"]
SECRET = SANDBOX_PAGE["app_secret"]
GIULIA = "2000000000000001"
TOM = "2000000000000002"


@pytest.fixture
def graph(clock: ManualClock) -> Iterator[GraphEmulator]:
    with GraphEmulator(clock=clock.timestamp) as emulator:
        emulator.add_user(GIULIA, "Giulia", "Rossi")
        emulator.add_user(TOM, "Tom", "Baker", profile=False)
        yield emulator


class Api:
    """Raw Graph API calls with a Page token, to see Meta's answers as they are."""

    def __init__(self, emulator: GraphEmulator, token: str | None = TOKEN) -> None:
        self.url = emulator.graph_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.url}/{path}", params=params, timeout=5)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.url}/{path}", json=body, timeout=5)

    def send(self, recipient: dict[str, str], text: str, **extra: Any) -> requests.Response:
        return self.post(
            f"{PAGE}/messages", {"recipient": recipient, "message": {"text": text}, **extra}
        )


@pytest.fixture
def api(graph: GraphEmulator) -> Api:
    return Api(graph)


def error_of(response: requests.Response) -> tuple[int, int | None, str]:
    error = response.json()["error"]
    return error["code"], error.get("error_subcode"), error["message"]


# --- fidelity to Meta's own payloads --------------------------------------------------------------
ID_KEYS = frozenset({"id", "sender_id"})  # ids are strings today; old payloads had numbers


def shape(value: Any, key: str = "") -> Any:
    """The keys and value types of a payload, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0], key)] if value else []
    if key in ID_KEYS and isinstance(value, int | str) and not isinstance(value, bool):
        return "id"
    return type(value).__name__


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"no Meta fixture at {path}")
    return json.loads(path.read_text())


def last_pending(graph: GraphEmulator) -> dict[str, Any]:
    return graph.pending()[-1]


def hide_through_the_api(graph: GraphEmulator, hidden: bool) -> None:
    comment = graph.comment(GIULIA, "siete dei ladri", shape="sender")
    if not hidden:
        assert Api(graph).post(comment, {"is_hidden": True}).ok
    assert Api(graph).post(comment, {"is_hidden": hidden}).json() == {"success": True}


def answer_through_the_api(graph: GraphEmulator, metadata: str | None = None) -> str:
    """The Page's Messenger answer to Giulia; returns its mid."""
    graph.message(GIULIA, "ciao")
    message = {"text": "Buongiorno"} | ({"metadata": metadata} if metadata else {})
    response = Api(graph).post(
        f"{PAGE}/messages", {"recipient": {"id": GIULIA}, "message": message}
    )
    assert response.ok
    mid: str = response.json()["message_id"]
    return mid


def tap_a_quick_reply(graph: GraphEmulator) -> str:
    """The Page asks with a quick reply through the API, and Giulia taps it; returns its mid."""
    graph.message(GIULIA, "ciao")
    quick = [{"content_type": "text", "title": "Sì", "payload": "YES"}]
    body = {"recipient": {"id": GIULIA}, "message": {"text": "Sì?", "quick_replies": quick}}
    assert Api(graph).post(f"{PAGE}/messages", body).ok
    return graph.tap_quick_reply(GIULIA, "YES")


# What each fixture shows, and the customer's (or the Page's) act that makes it.
KINDS: dict[str, tuple[str, Callable[[GraphEmulator], object]]] = {
    "comment (from)": (
        "webhooks/feed-comment-add-211.json",
        lambda g: g.comment(GIULIA, "and the next one"),
    ),
    "comment (sender)": (
        "webhooks/feed-comment-add-25.json",
        lambda g: g.comment(GIULIA, "and the next one", shape="sender"),
    ),
    "comment edited (sender)": (
        "webhooks/feed-comment-edited-25.json",
        lambda g: g.edit_comment(g.comment(GIULIA, "x", shape="sender"), "y"),
    ),
    "comment removed": (
        "webhooks/feed-comment-remove-25.json",
        lambda g: g.remove_comment(g.comment(GIULIA, "x")),
    ),
    "comment hidden": ("webhooks/feed-comment-hide.json", lambda g: hide_through_the_api(g, True)),
    "comment shown": (
        "webhooks/feed-comment-unhide.json",
        lambda g: hide_through_the_api(g, False),
    ),
    "the page's reply": (
        "webhooks/feed-comment-add-211.json",
        lambda g: g.page_replies_directly(g.comment(GIULIA, "x"), "y"),
    ),
    "mention": ("webhooks/mention-comment-add.json", lambda g: g.mention(GIULIA, "@Acme help")),
    "message": ("webhooks/messaging-message-basic.json", lambda g: g.message(GIULIA, "hello")),
    "message with an image": (
        "webhooks/messaging-message-media-attachment.json",
        lambda g: g.message(GIULIA, attachments=[("image", "https://x/y.jpg")]),
    ),
    "echo with metadata": (
        "webhooks/messaging-message-basic-echo.json",
        lambda g: answer_through_the_api(g, metadata="carebridge:42"),
    ),
    "quick reply tapped": ("webhooks/messaging-message-quickreply.json", tap_a_quick_reply),
    "message edited": (
        "webhooks/messaging-message-edits.json",
        lambda g: g.edit_message(g.message(GIULIA, "x"), "y"),
    ),
    "reaction": (
        "webhooks/messaging-reaction-1.json",
        lambda g: g.react(answer_through_the_api(g), "😢"),
    ),
    "message deleted": (
        "webhooks/messaging-message-isdeleted.json",
        lambda g: g.delete_message(g.message(GIULIA, "x")),
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_webhook_has_the_shape_of_metas(graph: GraphEmulator, kind: str) -> None:
    name, act = KINDS[kind]
    expected = fixture(name)
    act(graph)
    assert shape(last_pending(graph)) == shape(expected)


def test_webhooks_carry_metas_ids_times_and_names(graph: GraphEmulator, clock: ManualClock) -> None:
    comment = graph.comment(GIULIA, "Il pacco?")
    feed = graph.pending()[-1]["entry"][0]
    value = feed["changes"][0]["value"]
    assert feed["id"] == PAGE and feed["time"] == int(clock.timestamp())  # seconds
    assert value["from"] == {"id": GIULIA, "name": "Giulia Rossi"}
    post_number = value["post_id"].split("_")[1]
    assert re.fullmatch(rf"{PAGE}_[0-9]+", value["post_id"])
    assert re.fullmatch(rf"{post_number}_[0-9]+", comment) and value["comment_id"] == comment
    assert value["parent_id"] == value["post_id"]  # a top-level comment

    graph.message(GIULIA, "ciao")
    entry = graph.pending()[-1]["entry"][0]
    event = entry["messaging"][0]
    assert entry["time"] == event["timestamp"] == int(clock.timestamp() * 1000)  # milliseconds
    assert (event["sender"], event["recipient"]) == ({"id": GIULIA}, {"id": PAGE})

    old = graph.comment(GIULIA, "vecchio stile", shape="sender")
    value = graph.pending()[-1]["entry"][0]["changes"][0]["value"]
    assert (value["sender_id"], value["sender_name"]) == (int(GIULIA), "Giulia Rossi")
    assert value["comment_id"] == old and "from" not in value


def test_a_mention_names_no_author(graph: GraphEmulator) -> None:
    comment = graph.mention(GIULIA, "@Acme Italia help")
    change = graph.pending()[-1]["entry"][0]["changes"][0]
    assert change["field"] == "mention"
    assert change["value"]["comment_id"] == comment
    assert not {"from", "sender_id", "sender_name"} & set(change["value"])


def test_the_pages_answers_come_back_as_webhooks(graph: GraphEmulator, api: Api) -> None:
    comment = graph.comment(GIULIA, "Il pacco?")
    reply = api.post(f"{comment}/comments", {"message": "Controlliamo"}).json()["id"]
    value = graph.pending()[-1]["entry"][0]["changes"][0]["value"]
    assert (value["comment_id"], value["parent_id"]) == (reply, comment)
    assert value["from"] == {"id": PAGE, "name": "Acme Italia"}

    graph.message(GIULIA, "ciao")
    api.post(
        f"{PAGE}/messages",
        {"recipient": {"id": GIULIA}, "message": {"text": "Ecco", "metadata": "job-1"}},
    )
    echo = graph.pending()[-1]["entry"][0]["messaging"][0]
    assert (echo["sender"], echo["recipient"]) == ({"id": PAGE}, {"id": GIULIA})
    assert echo["message"]["is_echo"] is True
    assert (echo["message"]["app_id"], echo["message"]["metadata"]) == (APP_ID, "job-1")

    graph.page_messages_directly(GIULIA, "Scritto nell'inbox di Meta")
    inbox = graph.pending()[-1]["entry"][0]["messaging"][0]["message"]
    assert inbox["app_id"] == INBOX_APP_ID and "metadata" not in inbox
    expected = fixture("webhooks/messaging-message-basic-echo.json")
    del expected["entry"][0]["messaging"][0]["message"]["metadata"]
    assert shape(graph.pending()[-1]) == shape(expected)


def test_the_send_api_answers_as_meta_does(graph: GraphEmulator, api: Api) -> None:
    graph.message(GIULIA, "ciao")
    answer = api.send({"id": GIULIA}, "Buongiorno").json()
    assert shape(answer) == shape(fixture("graph/send-api-response.json"))
    assert answer["recipient_id"] == GIULIA
    assert answer["message_id"] == graph.sent_messages[0]["message_id"]


@pytest.mark.parametrize(
    "refuse",
    [
        lambda g, a: (g.revoke(TOKEN), a.get(PAGE))[1],
        lambda g, a: Api(g, "EAAB-unknown").get(PAGE),
        lambda g, a: a.send({"id": GIULIA}, "never wrote"),
        lambda g, a: a.get(PAGE, fields="nope"),
        lambda g, a: (g.rate_limit("GET /{page-id}", code=80001), a.get(PAGE))[1],
    ],
    ids=["revoked", "unknown-token", "no-user", "unknown-field", "rate-limit"],
)
def test_error_bodies_have_the_keys_and_types_of_metas(
    graph: GraphEmulator, api: Api, refuse: Callable[[GraphEmulator, Api], requests.Response]
) -> None:
    expected = fixture("graph/error-oauth-190.json")["error"]
    response = refuse(graph, api)
    assert response.status_code in (400, 403)
    error = response.json()["error"]
    assert set(error) <= set(expected) | {"is_transient"}
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    assert {k: shape(v, k) for k, v in error.items() if k in expected} == {
        k: shape(expected[k], k) for k in error if k in expected
    }


def test_an_unknown_object_is_refused_in_metas_words(api: Api) -> None:
    [recorded, _] = fixture("graph/batch-first-error.json")
    expected = json.loads(recorded["body"])["error"]
    response = api.get("2")
    assert response.status_code == recorded["code"] == 400
    error = response.json()["error"]
    assert error["message"] == expected["message"]  # the recording asked for object 2 too
    assert (error["type"], error["code"]) == (expected["type"], expected["code"])


def test_revoked_tokens_answer_190_with_the_reason(graph: GraphEmulator, api: Api) -> None:
    graph.revoke(TOKEN, subcode=463)
    response = api.get(PAGE)
    assert response.status_code == 400
    assert error_of(response)[:2] == (190, 463)
    assert "Session has expired" in error_of(response)[2]
    assert response.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform"')
    graph.restore(TOKEN)
    assert api.get(PAGE).ok

    unknown = Api(graph, "EAAB-unknown").get(PAGE)
    assert error_of(unknown) == (
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
    )
    assert error_of(Api(graph, None).get(PAGE))[0] == 104  # no token at all
    with pytest.raises(ValueError):
        graph.revoke(TOKEN, subcode=1)


# --- routes, fields, tokens -----------------------------------------------------------------------
def test_any_version_or_none_and_me(graph: GraphEmulator) -> None:
    for prefix in ("/v25.0", "/v19.0", ""):
        response = requests.get(
            f"{graph.url}{prefix}/me", params={"access_token": TOKEN}, timeout=5
        )
        assert response.json() == {"name": "Acme Italia", "id": PAGE}
    assert len(graph.calls("GET /{page-id}")) == 3


def test_fields_are_selected_as_graph_selects_them(graph: GraphEmulator, api: Api) -> None:
    assert api.get(PAGE, fields="id,name,username").json() == {
        "id": PAGE,
        "name": "Acme Italia",
        "username": "acmeitalia",
    }
    assert api.get(PAGE, fields="name").json() == {"name": "Acme Italia", "id": PAGE}
    graph.add_page("1000000000000002", "Acme Brand", "other-token")
    other = Api(graph, "other-token").get("me", fields="id,name,username").json()
    assert other == {"id": "1000000000000002", "name": "Acme Brand"}  # no username: left out

    refused = api.get(PAGE, fields="id,secret_field")
    assert error_of(refused) == (
        100,
        None,
        "(#100) Tried accessing nonexisting field (secret_field) on node type (Page)",
    )
    assert error_of(api.get(PAGE, fields="id,{name"))[0] == 2500  # a syntax error

    top = graph.comment(GIULIA, "Il pacco?")
    answer = graph.comment(GIULIA, "Anzi, due", parent=top)
    assert api.get(answer, fields="id,parent{id}").json() == {"id": answer, "parent": {"id": top}}
    assert set(api.get(top).json()) == {"created_time", "from", "message", "id"}
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", api.get(top).json()["created_time"]
    )


def test_unknown_paths_and_route_keys(graph: GraphEmulator, api: Api) -> None:
    assert error_of(api.get(f"{PAGE}/feed/extra"))[0] == 2500
    with pytest.raises(ValueError, match="unknown Graph route key"):
        graph.inject("GET /{page}", Fault.server_error())
    with pytest.raises(ValueError, match="unknown Graph route key"):
        graph.rate_limit("POST /messages")
    assert set(ROUTE_KEYS) >= {"GET /{user-id}", "POST /{page-id}/messages"}


def test_a_page_sees_only_its_own_comments_and_its_mentions(graph: GraphEmulator) -> None:
    graph.add_page("1000000000000002", "Acme Brand", "other-token")
    other = Api(graph, "other-token")
    ours = graph.comment(GIULIA, "Per Acme Italia")
    mention = graph.mention(GIULIA, "@Acme Italia guardate qui")
    for comment in (ours, mention):
        assert Api(graph).get(comment).ok
        response = other.get(comment)
        assert error_of(response)[:2] == (100, 33)
        assert response.json()["error"]["type"] == "GraphMethodException"
    # A mention sits on someone else's post: the Page can read and answer it, not hide it.
    assert error_of(Api(graph).post(mention, {"is_hidden": True}))[:2] == (100, 33)


def test_profiles_are_for_people_who_wrote_and_do_not_restrict_them(
    graph: GraphEmulator, api: Api
) -> None:
    assert error_of(api.get(GIULIA))[:2] == (100, 33)  # never wrote to the Page
    graph.message(GIULIA, "ciao")
    profile = api.get(GIULIA, fields="first_name,last_name,profile_pic").json()
    assert (profile["id"], profile["first_name"], profile["last_name"]) == (
        GIULIA,
        "Giulia",
        "Rossi",
    )
    assert profile["profile_pic"].startswith("https://")
    graph.message(TOM, "hi")
    assert error_of(api.get(TOM, fields="first_name"))[:2] == (100, 33)  # a restricted profile


# --- Meta's rules ---------------------------------------------------------------------------------
def test_messenger_windows_by_the_emulators_clock(
    graph: GraphEmulator, api: Api, clock: ManualClock
) -> None:
    outside = (10, 2018278)
    graph.message(GIULIA, "ciao")
    clock.advance(24 * 3600)
    assert api.send({"id": GIULIA}, "ancora in tempo").ok  # 24 hours exactly
    clock.advance(1)
    assert error_of(api.send({"id": GIULIA}, "troppo tardi"))[:2] == outside
    assert error_of(api.send({"id": GIULIA}, "tardi", messaging_type="UPDATE"))[:2] == outside

    tagged = {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    code, subcode, message = error_of(api.send({"id": GIULIA}, "agente", **tagged))
    assert (code, subcode) == (10, None) and "permission" in message  # not approved
    graph.approve_human_agent()
    assert api.send({"id": GIULIA}, "agente", **tagged).ok
    clock.advance(6 * 24 * 3600)
    assert error_of(api.send({"id": GIULIA}, "agente", **tagged))[:2] == outside
    assert [m["text"] for m in graph.sent_messages] == ["ancora in tempo", "agente"]


def test_send_api_parameters_are_checked(graph: GraphEmulator, api: Api) -> None:
    graph.message(GIULIA, "ciao")
    assert api.send({"id": GIULIA}, "x" * 2000).ok
    assert "less than or equal to 2000" in error_of(api.send({"id": GIULIA}, "x" * 2001))[2]
    long_metadata = {"text": "hi", "metadata": "m" * 1001}
    refused = api.post(f"{PAGE}/messages", {"recipient": {"id": GIULIA}, "message": long_metadata})
    assert "message[metadata]" in error_of(refused)[2]
    assert error_of(api.send({"id": GIULIA}, "hi", messaging_type="PROMO"))[0] == 100
    tag_without_type = api.send({"id": GIULIA}, "hi", tag="HUMAN_AGENT")
    assert error_of(tag_without_type)[2] == (
        "(#100) Messaging type should be MESSAGE_TAG for tagged messages."
    )
    assert error_of(api.send({"id": "2999999999999999"}, "hi"))[:2] == (100, 2018001)
    graph.set_available(GIULIA, False)
    assert error_of(api.send({"id": GIULIA}, "hi"))[:2] == (551, 1545041)
    assert len(graph.sent_messages) == 1


def test_a_form_encoded_send_as_metas_sdks_make_it(graph: GraphEmulator) -> None:
    graph.message(GIULIA, "ciao")
    response = requests.post(
        f"{graph.graph_url}/me/messages",
        data={
            "access_token": TOKEN,
            "recipient": json.dumps({"id": GIULIA}),
            "message": json.dumps({"text": "Buongiorno"}),
        },
        timeout=5,
    )
    assert response.ok and graph.sent_messages[0]["text"] == "Buongiorno"
    assert "access_token" not in graph.sent_messages[0]["request_json"]


def test_one_private_reply_per_comment_within_7_days(
    graph: GraphEmulator, api: Api, clock: ManualClock
) -> None:
    comment = graph.comment(GIULIA, "Come faccio il reso?")
    first = api.send({"comment_id": comment}, "In privato")
    assert first.json()["recipient_id"] == GIULIA
    assert error_of(api.send({"comment_id": comment}, "Ancora"))[:2] == (10900, None)
    assert graph.thread(GIULIA)[-1] == {
        "mid": first.json()["message_id"],
        "from_page": True,
        "text": "In privato",
    }
    # A private reply opens no window: Messenger waits for the customer to write.
    assert error_of(api.send({"id": GIULIA}, "E poi?"))[:2] == (10, 2018278)
    assert api.get(comment, fields="can_reply_privately").json()["can_reply_privately"] is False

    old = graph.comment(GIULIA, "Un'altra domanda")
    clock.advance(7 * 24 * 3600 + 1)
    assert error_of(api.send({"comment_id": old}, "Troppo tardi"))[:2] == (10, 2018278)
    page_own = graph.page_replies_directly(old, "Risposta della Pagina")
    assert error_of(api.send({"comment_id": page_own}, "A noi stessi?"))[:2] == (100, 2018001)
    assert len(graph.private_replies) == 1


def test_comments_nest_one_level_and_are_listed_in_pages(graph: GraphEmulator, api: Api) -> None:
    top = graph.comment(GIULIA, "Il pacco?")
    answer = graph.comment(GIULIA, "Anzi, due", parent=top)
    reply = api.post(f"{answer}/comments", {"message": "Controlliamo"}).json()["id"]
    assert graph.sent_comments[0]["parent_id"] == top  # under the top-level comment

    for n in range(3):
        api.post(f"{top}/comments", {"message": f"aggiornamento {n}"})
    listed = api.get(f"{top}/comments", fields="id,message", limit="2").json()
    assert [c["id"] for c in listed["data"]] == [answer, reply]
    following = api.get(
        f"{top}/comments", fields="message", limit="2", after=listed["paging"]["cursors"]["after"]
    ).json()
    assert [c["message"] for c in following["data"]] == ["aggiornamento 0", "aggiornamento 1"]
    newest = api.get(f"{top}/comments", fields="message", order="reverse_chronological").json()
    assert newest["data"][0]["message"] == "aggiornamento 2"

    graph.remove_comment(answer)
    assert answer not in [c["id"] for c in api.get(f"{top}/comments").json()["data"]]
    assert error_of(api.post(f"{answer}/comments", {"message": "x"}))[:2] == (100, 33)


def test_comment_text_limits(graph: GraphEmulator, api: Api) -> None:
    comment = graph.comment(GIULIA, "?")
    assert api.post(f"{comment}/comments", {"message": "x" * 8000}).ok
    refused = api.post(f"{comment}/comments", {"message": "x" * 8001})
    assert error_of(refused)[0] == 100 and "8000" in error_of(refused)[2]
    assert error_of(api.post(f"{comment}/comments", {"message": ""}))[0] == 100
    assert len(graph.sent_comments) == 1


def test_hidden_comments_are_recorded(graph: GraphEmulator, api: Api) -> None:
    comment = graph.comment(GIULIA, "insulto")
    assert api.post(comment, {"is_hidden": True}).json() == {"success": True}
    assert graph.hidden == {comment: True}
    assert api.get(comment, fields="is_hidden").json()["is_hidden"] is True
    assert error_of(api.post(comment, {"is_hidden": "maybe"}))[0] == 100


def test_the_private_reply_conversation_of_a_comment(graph: GraphEmulator, api: Api) -> None:
    comment = graph.comment(GIULIA, "Come faccio il reso?")
    assert (
        "private_reply_conversation"
        not in api.get(comment, fields="private_reply_conversation").json()
    )
    mid = api.send({"comment_id": comment}, "In privato").json()["message_id"]
    graph.message(GIULIA, "Grazie")
    fields = "private_reply_conversation{messages.limit(1){id,message,from}}"
    conversation = api.get(comment, fields=fields).json()["private_reply_conversation"]
    [newest] = conversation["messages"]["data"]
    assert newest["message"] == "Grazie" and newest["from"]["id"] == GIULIA
    everything = api.get(
        f"{PAGE}/conversations", user_id=GIULIA, fields="messages{id,message,from,created_time}"
    ).json()
    [thread] = everything["data"]
    assert [m["id"] for m in thread["messages"]["data"]][1] == mid  # newest first
    assert thread["id"] == conversation["id"]
    assert api.get(f"{PAGE}/conversations", user_id=TOM).json() == {"data": []}


def test_subscriptions_and_permissions_default_to_what_the_doctor_checks(
    graph: GraphEmulator, api: Api
) -> None:
    [app] = api.get(f"{PAGE}/subscribed_apps").json()["data"]
    assert app["subscribed_fields"] == list(SUBSCRIBED_FIELDS)
    assert app["id"] == str(APP_ID)
    granted = api.get("me/permissions").json()["data"]
    assert {p["permission"]: p["status"] for p in granted} == dict.fromkeys(PERMISSIONS, "granted")
    doctor = pytest.importorskip("bot.networks.facebook.doctor")
    assert (SUBSCRIBED_FIELDS, PERMISSIONS) == (doctor.FIELDS, doctor.PERMISSIONS)


# --- rate limits and faults -----------------------------------------------------------------------
def test_rate_limits_answer_metas_error_and_usage_headers(graph: GraphEmulator, api: Api) -> None:
    graph.rate_limit("GET /{page-id}", code=80001, regain_minutes=7, times=2)
    assert graph.pending_faults() == 2
    for _ in range(2):
        response = api.get(PAGE)
        assert response.status_code == 400 and error_of(response)[0] == 80001
        usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
        [entry] = usage[PAGE]
        assert entry["estimated_time_to_regain_access"] == 7 and entry["type"] == "pages"
    assert api.get(PAGE).ok

    graph.rate_limit("GET /{page-id}", code=4)
    response = api.get(PAGE)
    assert response.status_code == 403
    assert error_of(response)[:1] == (4,) and response.json()["error"]["is_transient"] is True
    [recorded, _] = fixture("graph/batch-first-error.json")
    recorded_usage = next(h["value"] for h in recorded["headers"] if h["name"] == "X-App-Usage")
    assert set(json.loads(response.headers["X-App-Usage"])) == set(json.loads(recorded_usage))

    with pytest.raises(ValueError, match="X-App-Usage"):
        graph.rate_limit("GET /{page-id}", code=17, regain_minutes=3)
    with pytest.raises(ValueError):
        graph.rate_limit("GET /{page-id}", code=5)


def test_chaos_fails_with_graph_bodies_and_meta_rate_limits(graph: GraphEmulator) -> None:
    graph.chaos(1.0, seed=11, timeout_after=0.05)
    statuses = []
    for _ in range(40):
        try:
            response = Api(graph).get(PAGE)
        except requests.ConnectionError:
            statuses.append("reset")
            continue
        statuses.append(response.status_code)
        if response.status_code != 200:  # a timeout's answer comes, late, with the page
            code = response.json()["error"]["code"]
            assert code == 2 or "X-Business-Use-Case-Usage" in response.headers
    kinds = graph.faults_injected
    assert sum(kinds.values()) == 40
    assert any(kind.startswith("rate limit") for kind in kinds) and kinds["500"] > 0
    assert "reset" in statuses


def test_injected_faults_and_calls_per_route(graph: GraphEmulator, api: Api) -> None:
    graph.message(GIULIA, "ciao")
    graph.inject("POST /{page-id}/messages", Fault.server_error(500, after=True))
    assert api.send({"id": GIULIA}, "arrivato?").status_code == 500
    assert len(graph.sent_messages) == 1  # it took effect all the same
    assert len(graph.calls("POST /{page-id}/messages")) == 1
    assert graph.calls("GET /{user-id}") == []


# --- deliveries -----------------------------------------------------------------------------------
class Receiver:
    """A webhook endpoint on loopback: records each POST, answers them with `statuses` in turn
    (then 200), and the subscription handshake for `verify_token`."""

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
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()


def test_deliveries_are_signed_over_the_exact_body(
    graph: GraphEmulator, receiver: Receiver
) -> None:
    graph.comment(GIULIA, "Perché il pacco è fermo? 😢 https://acme.it/ordini")
    payload = graph.pending()[0]
    [delivery] = graph.deliver(receiver.url)
    [(headers, body)] = receiver.received

    assert body == delivery.body == encode(payload)
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == f"sha256={expected}" == delivery.signature
    sha1 = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert headers["x-hub-signature"] == f"sha1={sha1}"
    assert headers["content-type"] == "application/json"
    assert body.isascii()  # non-ASCII escaped as Meta escapes it, slashes too
    assert b"Perch\\u00e9" in body and b"\\ud83d\\ude22" in body and b"https:\\/\\/acme.it" in body
    assert json.loads(body) == payload and delivery.payload == payload
    assert delivery.delivered and graph.pending() == []


def test_a_failed_delivery_is_retried_and_timed(graph: GraphEmulator) -> None:
    endpoint = Receiver(statuses=(500, 503))
    try:
        graph.message(GIULIA, "ciao")
        [delivery] = graph.deliver(endpoint.url)
        assert [a.status for a in delivery.attempts] == [500, 503, 200]
        assert all(a.seconds >= 0 for a in delivery.attempts) and delivery.delivered
        assert len({body for _, body in endpoint.received}) == 1  # the same body each time

        endpoint.statuses.extend([500, 500])
        graph.message(GIULIA, "ci siete?")
        [given_up] = graph.deliver(endpoint.url, attempts=2)
        assert [a.status for a in given_up.attempts] == [500, 500] and not given_up.delivered
        assert graph.pending() == [] and graph.deliveries == [delivery, given_up]
    finally:
        endpoint.stop()

    graph.message(GIULIA, "nessuno risponde")
    [unreachable] = graph.deliver(endpoint.url, attempts=2)  # the endpoint is gone
    assert [a.status for a in unreachable.attempts] == [None, None]
    assert unreachable.attempts[0].error == "ConnectionError"


def test_batched_deliveries_put_several_entries_and_changes_in_one_post(
    graph: GraphEmulator, receiver: Receiver
) -> None:
    first = graph.comment(GIULIA, "uno")
    second = graph.comment(GIULIA, "due")
    graph.message(GIULIA, "tre")
    [delivery] = graph.deliver(receiver.url, batch=True)
    assert len(receiver.received) == 1
    entries = delivery.payload["entry"]
    assert [len(e.get("changes", e.get("messaging", []))) for e in entries] == [2, 1]
    assert [c["value"]["comment_id"] for c in entries[0]["changes"]] == [first, second]
    assert (
        shape(delivery.payload)["entry"][0].keys()
        == shape(fixture("webhooks/feed-two-entries-25.json"))["entry"][0].keys()
    )

    graph.comment(GIULIA, "quattro")
    graph.comment(GIULIA, "cinque")
    assert len(graph.deliver(receiver.url)) == 2  # one POST each without batch


def test_deliver_raw_and_the_handshake(graph: GraphEmulator) -> None:
    endpoint = Receiver(verify_token=SANDBOX_PAGE["verify_token"])
    try:
        body = encode({"object": "page", "entry": []})
        assert graph.deliver_raw(endpoint.url, body, signature="sha256=bad").status_code == 200
        assert graph.deliver_raw(endpoint.url, body, signature="").status_code == 200
        assert graph.deliver_raw(endpoint.url, body).status_code == 200
        signatures = [headers.get("x-hub-signature-256") for headers, _ in endpoint.received]
        assert signatures == ["sha256=bad", None, signature(body, SECRET)]
        assert graph.handshake(endpoint.url)
        assert not graph.handshake(endpoint.url, verify_token="wrong")
    finally:
        endpoint.stop()


def test_the_receiver_understands_what_the_emulator_sends(graph: GraphEmulator, api: Api) -> None:
    webhook = pytest.importorskip("bot.networks.facebook.webhook")
    from bot.domain.model import AnsweredElsewhere, InboundMessage, MessageEdited, MessageRemoved

    receiver = webhook.MetaReceiver([PAGE], [SECRET], [SANDBOX_PAGE["verify_token"]])
    comment = graph.comment(GIULIA, "Il pacco?")
    graph.edit_comment(comment, "Il pacco??")
    graph.mention(GIULIA, "@Acme Italia")
    mid = graph.message(GIULIA, "ciao")
    graph.edit_message(mid, "ciao!")
    api.post(
        f"{PAGE}/messages",
        {"recipient": {"id": GIULIA}, "message": {"text": "Eccoci", "metadata": "job-7"}},
    )
    graph.remove_comment(comment)
    kinds = []
    for payload in graph.pending():
        body = encode(payload)
        assert receiver.verify({"x-hub-signature-256": signature(body, SECRET)}, body)
        [pushed] = receiver.parse(body)
        assert pushed.account_external_id == PAGE
        kinds.append(type(pushed.event))
    assert kinds == [
        InboundMessage,
        MessageEdited,
        InboundMessage,
        InboundMessage,
        MessageEdited,
        AnsweredElsewhere,
        MessageRemoved,
    ]
