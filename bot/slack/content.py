"""What a customer wrote, as blocks: the text quoted literally, photos as images, other
attachments as links, and what happened to it since (edited, deleted, a reaction)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import N_, _
from bot.slack.blocks import Blocks, context, quote
from bot.slack.mrkdwn import escape, is_safe_url, link, mention, truncate

ATTACHMENTS = {  # kind: (emoji, what)
    "image": (":frame_with_picture:", N_("photo")),
    "video": (":movie_camera:", N_("video")),
    "audio": (":studio_microphone:", N_("audio")),
    "file": (":paperclip:", N_("file")),
    "sticker": (":label:", N_("sticker")),
    "location": (":round_pushpin:", N_("location")),
    "story": (":film_frames:", N_("story")),
    "unsupported": (":grey_question:", N_("something the network does not show to apps")),
}


def attachment_what(kind: str) -> str:
    """ "photo" / "foto", in the language in force; an unknown kind is a file."""
    return _(ATTACHMENTS.get(kind, ATTACHMENTS["file"])[1])


def attachment_label(kind: str) -> str:
    """ ":frame_with_picture: photo", in the language in force; an unknown kind is a file."""
    return f"{ATTACHMENTS.get(kind, ATTACHMENTS['file'])[0]} {attachment_what(kind)}"


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
        label = attachment_label(kind)
        title = attachment.get("title", "")
        if kind == "image" and is_safe_url(url) and images < MAX_IMAGES and not written.deleted:
            images += 1
            blocks.append(image(url, title or _("a photo the customer sent")))
            continue
        listed.append(_listed(label, title, url))
    if listed:
        blocks.append(context(" · ".join(listed)))
    notes = []
    if written.deleted:
        notes.append(":wastebasket: " + _("deleted by the customer"))
    elif written.edited:
        notes.append(":pencil2: " + _("edited by the customer"))
    if written.reaction:
        notes.append(_("reacted {reaction}").format(reaction=escape(written.reaction)))
    if notes:
        blocks.append(context(" · ".join(notes)))
    return blocks


def _replying_to(quoted: Quoted) -> str:
    if not quoted.text:
        return ":leftwards_arrow_with_hook: " + _("replying to an earlier message")
    text = escape(truncate(quoted.text, 140))
    if quoted.agent is None:
        replying = _("replying to their message: “{text}”").format(text=text)
    elif re.fullmatch(r"[UW][A-Z0-9]{2,}", quoted.agent):
        replying = _("replying to {user}'s answer: “{text}”").format(
            user=mention(quoted.agent), text=text
        )
    else:
        replying = _("replying to Carebridge's notice: “{text}”").format(text=text)
    return ":leftwards_arrow_with_hook: " + replying


def _listed(label: str, title: str, url: str) -> str:
    name = f" {escape(title)}" if title else ""
    opened = " (" + link(url, _("open")) + ")" if is_safe_url(url) else ""
    return f"{label}{name}{opened}"


class _Labels(Mapping[str, str]):
    """kind -> ":frame_with_picture: photo", each read in the language in force."""

    def __getitem__(self, kind: str) -> str:
        if kind not in ATTACHMENTS:
            raise KeyError(kind)
        return attachment_label(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(ATTACHMENTS)

    def __len__(self) -> int:
        return len(ATTACHMENTS)


ATTACHMENT_LABELS: Mapping[str, str] = _Labels()  # for render.py: attachment_label() is simpler


def image(url: str, alt_text: str) -> dict[str, Any]:
    return {"type": "image", "image_url": url, "alt_text": alt_text[:2000]}
