"""WhatsApp media end to end: a customer's photo, voice note or document reaches the Slack thread
as a file (WhatsApp's links need the access token, so nobody could open them), once, even when
Slack's answer is lost; one larger than MEDIA_COPY_MAX_MB, or gone from WhatsApp, is named in
the thread with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.loopback import Fault
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world

GIULIA = "393471234521"
PHOTO = b"\xff\xd8\xff\xe0 il pacco rotto" * 100
MEGABYTE = 1024 * 1024


@pytest.fixture
def whatsapp(clock: ManualClock) -> Iterator[WhatsAppEmulator]:
    with WhatsAppEmulator(clock=clock.timestamp) as emulator:
        yield emulator


@pytest.fixture
def start(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    whatsapp: WhatsAppEmulator,
    transport: str,
) -> Callable[..., AbstractContextManager[World]]:
    def running(**env: str) -> AbstractContextManager[World]:
        return running_world(
            database_url,
            clock,
            slack=slack_emulator,
            x=x_emulator,
            whatsapp=whatsapp,
            env=env,
            transport=transport,
        )

    return running


@pytest.fixture
def wa(start: Callable[..., AbstractContextManager[World]]) -> Iterator[World]:
    with start() as world:
        yield world


@pytest.fixture
def small(start: Callable[..., AbstractContextManager[World]]) -> Iterator[World]:
    with start(MEDIA_COPY_MAX_MB="1") as world:
        yield world


def files_in_thread(world: World, card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        file
        for message in world.slack.thread(str(card["ts"]), CHANNEL)
        for file in message.get("files") or ()
    ]


def test_a_photo_and_a_document_are_copied_into_the_thread(
    wa: World, whatsapp: WhatsAppEmulator, slack_emulator: SlackEmulator
) -> None:
    whatsapp.send_image(GIULIA, "Giulia Rossi", PHOTO, caption="guardate come è arrivato")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    assert "guardate come è arrivato" in str(card["blocks"])
    whatsapp.send_media(
        GIULIA,
        "Giulia Rossi",
        "document",
        b"%PDF-1.7 fattura",
        mime_type="application/pdf",
        filename="fattura 4411.pdf",
    )
    wa.deliver()
    photo, document = files_in_thread(wa, card)
    assert photo["title"] == "Photo from Giulia Rossi on WhatsApp"
    assert photo["name"].startswith("whatsapp-") and photo["name"].endswith(".jpg")
    assert (document["name"], document["title"]) == (
        "fattura 4411.pdf",
        "File from Giulia Rossi on WhatsApp",
    )
    uploaded = slack_emulator.uploaded_files
    assert [u["bytes"] for u in uploaded] == [PHOTO, b"%PDF-1.7 fattura"]
    assert {u["thread_ts"] for u in uploaded} == {card["ts"]}
    assert GIULIA not in str(uploaded)  # the number is in no file name or title


def test_an_upload_whose_answer_was_lost_is_not_made_twice(
    wa: World, whatsapp: WhatsAppEmulator, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.inject("files.completeUploadExternal", Fault.server_error(500, after=True))
    whatsapp.send_image(GIULIA, "Giulia Rossi", PHOTO)
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    assert len(files_in_thread(wa, card)) == 1
    assert slack_emulator.pending_faults() == 0  # the fault did happen


def test_whatsapp_failing_for_a_while_delays_the_copy_and_loses_nothing(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.inject("GET /{media-id}", Fault.server_error(503), times=2)
    whatsapp.inject("GET /media-download", Fault.connection_reset())
    whatsapp.send_image(GIULIA, "Giulia Rossi", PHOTO)
    wa.deliver()
    [photo] = files_in_thread(wa, wa.card_named("Giulia Rossi"))
    assert photo["size"] == len(PHOTO)
    assert whatsapp.pending_faults() == 0


def test_media_larger_than_the_limit_are_named_with_their_size(
    small: World, whatsapp: WhatsAppEmulator
) -> None:
    video = b"\x00" * (2 * MEGABYTE + 100)
    whatsapp.send_media(GIULIA, "Giulia Rossi", "video", video, mime_type="video/mp4")
    small.deliver()
    card = small.card_named("Giulia Rossi")
    assert files_in_thread(small, card) == []
    [said] = [m["text"] for m in small.slack.thread(str(card["ts"]), CHANNEL)]
    assert said.startswith(":movie_camera: video from the customer is not in this thread")
    assert "it is 2 MB, more than the 1 MB Carebridge copies" in said
    assert not any(r.path == "/media-download" for r in whatsapp.requests)  # never downloaded


def test_media_whatsapp_no_longer_has_are_named_with_the_reason(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.inject(
        "GET /{media-id}",
        Fault(
            status=404,
            body={
                "error": {
                    "message": "Unsupported get request.",
                    "type": "GraphMethodException",
                    "code": 100,
                    "error_subcode": 33,
                }
            },
        ),
    )
    whatsapp.send_media(GIULIA, "Giulia Rossi", "audio", b"OggS", mime_type="audio/ogg")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    assert files_in_thread(wa, card) == []
    [said] = [m["text"] for m in wa.slack.thread(str(card["ts"]), CHANNEL)]
    assert said.startswith(":studio_microphone: audio from the customer is not in this thread")
    assert "WhatsApp did not give it" in said
