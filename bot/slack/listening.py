"""Listening's cards in the listening channel: who wrote, their reach, the sentiment, the text
(quoted literally), a link, and **Engage** / **Dismiss**; once decided, who did what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError
from bot.i18n import N_, _, ngettext, speaking
from bot.services.accounts import Accounts
from bot.services.outbox import ListenJob, read
from bot.services.worker import Job
from bot.slack.blocks import Blocks, actions, button, compact_number, context, handle, quote
from bot.slack.mrkdwn import escape, link, mention, truncate
from storage.db import Database
from storage.models import ListenedPost

ENGAGE, DISMISS = "listen_engage", "listen_dismiss"
MOOD = {  # sentiment: (emoji, word)
    "negative": (":rage:", N_("negative")),
    "positive": (":blush:", N_("positive")),
    "neutral": ("", N_("neutral")),
}


def listen_card(
    post: ListenedPost, network: str, brand: str, *, by_hand: bool = False
) -> tuple[str, Blocks]:
    """`by_hand`: the network lets no app answer this post (X's, since February 2026)."""
    who = f"*{escape(post.name or post.handle)}*" + (
        f" {handle(post.handle)}" if post.handle else ""
    )
    reach = []
    if post.followers:
        followers = ngettext("{count} follower", "{count} followers", post.followers)
        reach.append(followers.format(count=compact_number(post.followers)))
    if post.verified:
        reach.append(_("verified"))
    head = " · ".join(
        [f"*{escape(network)}* · " + _("listening"), _mood(post.sentiment), who, *reach]
    )
    body: Blocks = [context(head), quote(post.text)]
    view_on = _("View on {network}").format(network=network)
    notes = [link(post.permalink, view_on)] if post.permalink else []
    if by_hand:
        notes.append(
            _(
                "{network} lets apps reply only to posts that mention {brand}: answer there by "
                "hand until the author mentions it"
            ).format(network=escape(network), brand=escape(brand))
        )
    if notes:
        body.append(context(" · ".join(notes)))
    if post.status == "new":
        value = str(post.id)
        engage = button(_("Engage"), ENGAGE, value, style="primary")
        body.append(actions(engage, button(_("Dismiss"), DISMISS, value)))
    elif post.status == "engaged":
        engaged = _("Engaged by {user}: a conversation in the support channel")
        body.append(
            context(":speech_balloon: " + engaged.format(user=mention(post.decided_by or "")))
        )
    else:
        dismissed = _("Dismissed by {user}").format(user=mention(post.decided_by or ""))
        body.append(context(dismissed))
    fallback = _("Listening: {name}: {text}").format(
        name=escape(post.name or post.handle), text=escape(truncate(post.text, 200))
    )
    return fallback, body


def _mood(sentiment: str) -> str:
    """ ":rage: negative"; "" for a sentiment not judged."""
    if sentiment not in MOOD:
        return ""
    emoji, word = MOOD[sentiment]
    return (emoji + " " + _(word)).strip()


class ListenCards:
    """The outbox job that posts or updates a listened post's card, in `language`
    (TEAM_LANGUAGE)."""

    max_attempts = 8

    def __init__(
        self,
        database: Database,
        accounts: Accounts,
        channel: str,
        post: Callable[..., str],
        call: Callable[..., Any],
        update: Callable[..., Any],
        *,
        language: str | None = None,
    ) -> None:
        self.database, self.accounts, self.channel = database, accounts, channel
        self._post, self._call, self._update = post, call, update
        self.language = language

    def perform(self, job: Job) -> dict[str, Any]:
        with speaking(self.language), self.database.reading() as session:
            post = _post(session, job)
            label = self.accounts.label(post.network)
            brand = f"@{post.account.handle}" if post.account.handle else _("the brand")
            spec = self.accounts.spec(post.network)
            by_hand = spec is not None and not spec.answers_listened_posts
            text, body = listen_card(post, label, brand, by_hand=by_hand)
            ts = post.slack_ts
        if ts is None:
            return {"ts": self._post(job, self.channel, None, text, body)}
        self._call(self._update, channel=self.channel, ts=ts, text=text, blocks=body)
        return {"ts": ts}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        post = _post(session, job)
        if result and post.slack_ts is None:
            post.slack_ts = result["ts"]

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        pass  # logged by the worker; the post stays listed in the database


def _post(session: Session, job: Job) -> ListenedPost:
    try:
        post_id = read(ListenJob, job.payload).post_id
    except ValueError as error:
        raise PermanentError(f"not a listening card: {error}") from None
    post = session.get(ListenedPost, post_id)
    if post is None:
        raise PermanentError(f"no listened post {post_id}")
    return post
