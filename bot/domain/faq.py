"""The FAQ page's content: the period's most asked topics, what customers asked, how the team
answers (`bot.services.faq` gathers it, `bot.reports.faq_html`/`faq_markdown` write it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FaqReply:
    name: str  # the saved reply's name ("rimborso-tempi"): kept out of sight, for the team
    text: str  # as published: placeholders such as {name} already filled or removed


@dataclass(frozen=True)
class FaqTopic:
    name: str
    asked: int  # conversations on this topic in the period
    questions: Sequence[str]  # representative customer messages, most typical first
    replies: Sequence[FaqReply]  # the saved replies that resolved it fastest, best first


@dataclass(frozen=True)
class Faq:
    title: str  # the page's heading; "" for the localised "Frequently asked questions"
    company: str
    lang: str  # "it" or "en": labels, dates and anonymisation placeholders
    generated_at: datetime  # in the company's time zone: its date is shown
    period_days: int
    topics: Sequence[FaqTopic]  # most asked first
