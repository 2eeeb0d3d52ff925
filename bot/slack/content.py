"""What a customer wrote, as blocks: the text quoted literally, photos as images, other
attachments as links, and what happened to it since (edited, deleted, a reaction)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.slack.blocks import Blocks, context, quote
from bot.slack.mrkdwn import escape, is_safe_url, link, mention, truncate

ATTACHMENT_LABELS = {
    "image": ":frame_with_picture: photo",
    "video": ":movie_camera: video",
    "audio": ":studio_microphone: audio",
    "file": ":paperclip: file",
    "sticker": ":label: sticker",
    "location": ":round_pushpin: location",
    "story": ":film_frames: story",
    "unsupported": ":grey_question: something the network does not show to apps",
}
MAX_IMAGES = 3  # a message of ten photos stays readable; the rest are listed as links


@dataclass(frozen=True)
class Quoted:
    """A message the customer replied to: its text (empty: not known here), and the agent who
    wrote it when it was the team's answer (a Slack user id; "carebridge" for a notice)."""

    text: str = ""
    agent: str | None = None


@dataclass(frozen=True)
class Written:
    text: str
    attachments: Sequence[Mapping[str, str]] = field(default_factory=tuple)
    edited: bool = False
    deleted: bool = False
    reaction: str | None = None
    replying_to: Quoted | None = None


def written_blocks(written: Written) -> Blocks:
    blocks: Blocks = []
    if written.replying_to is not None:
        blocks.append(context(_replying_to(written.replying_to)))
    if written.text.strip() or not written.attachments:
        blocks.append(quote(written.text))
    images = 0
    listed: list[str] = []
    for attachment in written.attachments:
        kind, url = attachment.get("kind", ""), attachment.get("url", "")
        label = ATTACHMENT_LABELS.get(kind, ATTACHMENT_LABELS["file"])
        title = attachment.get("title", "")
        if kind == "image" and is_safe_url(url) and images < MAX_IMAGES and not written.deleted:
            images += 1
            blocks.append(image(url, title or "a photo the customer sent"))
            continue
        listed.append(_listed(label, title, url))
    if listed:
        blocks.append(context(" · ".join(listed)))
    notes = []
    if written.deleted:
        notes.append(":wastebasket: deleted by the customer")
    elif written.edited:
        notes.append(":pencil2: edited by the customer")
    if written.reaction:
        notes.append(f"reacted {escape(written.reaction)}")
    if notes:
        blocks.append(context(" · ".join(notes)))
    return blocks


def _replying_to(quoted: Quoted) -> str:
    if not quoted.text:
        return ":leftwards_arrow_with_hook: replying to an earlier message"
    if quoted.agent is None:
        whose = "their message"
    elif re.fullmatch(r"[UW][A-Z0-9]{2,}", quoted.agent):
        whose = f"{mention(quoted.agent)}'s answer"
    else:
        whose = "Carebridge's notice"
    text = escape(truncate(quoted.text, 140))
    return f":leftwards_arrow_with_hook: replying to {whose}: “{text}”"


def _listed(label: str, title: str, url: str) -> str:
    name = f" {escape(title)}" if title else ""
    return f"{label}{name}" + (f" ({link(url, 'open')})" if is_safe_url(url) else "")


def image(url: str, alt_text: str) -> dict[str, Any]:
    return {"type": "image", "image_url": url, "alt_text": alt_text[:2000]}
