"""The FAQ page a company publishes: its most asked topics, what customers asked, how the team
answers. This module holds the page's content and wording; `faq_html` and `faq_markdown` write
it as one self-contained HTML page or as Markdown.

Customer questions are untrusted text and personal data. `published_questions` anonymises them
here, on the way to either format, so no caller can forget to; anonymising is idempotent, so a
caller that already did costs nothing. Saved replies are the company's own words and are
published as written. Each renderer escapes every text for its format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel.dates import format_date
from babel.numbers import format_decimal

from bot.domain.anonymise import anonymise
from bot.domain.faq import Faq, FaqTopic


@dataclass(frozen=True)
class Labels:
    heading: str
    contents: str
    questions: str
    answers: str
    asked_once: str
    asked_many: str  # {count}
    updated: str  # {date}
    period: str  # {days}
    no_topics: str
    no_answer: str


LABELS: dict[str, Labels] = {
    "it": Labels(
        heading="Domande frequenti",
        contents="Argomenti",
        questions="Cosa ci chiedete",
        answers="Come rispondiamo",
        asked_once="Chiesto 1 volta",
        asked_many="Chiesto {count} volte",
        updated="Aggiornato il {date}",
        period="domande degli ultimi {days} giorni",
        no_topics="Nessuna domanda in questo periodo.",
        no_answer="Stiamo ancora preparando la risposta a queste domande.",
    ),
    "en": Labels(
        heading="Frequently asked questions",
        contents="Topics",
        questions="What you ask us",
        answers="How we answer",
        asked_once="Asked once",
        asked_many="Asked {count} times",
        updated="Updated on {date}",
        period="questions from the last {days} days",
        no_topics="No questions in this period.",
        no_answer="We are still preparing the answer to these questions.",
    ),
}


def labels_for(lang: str) -> Labels:
    try:
        return LABELS[lang]
    except KeyError:
        raise ValueError(f"no FAQ labels for language {lang!r}: use one of it, en") from None


def page_heading(faq: Faq) -> str:
    return one_line(faq.title) or labels_for(faq.lang).heading


def asked_label(faq: Faq, topic: FaqTopic) -> str:
    """'Chiesto 1.234 volte', 'Asked once'."""
    labels = labels_for(faq.lang)
    if topic.asked == 1:
        return labels.asked_once
    return labels.asked_many.format(count=format_decimal(topic.asked, locale=faq.lang))


def date_label(faq: Faq) -> str:
    """'23 novembre 2026', 'November 23, 2026'."""
    return format_date(faq.generated_at.date(), format="long", locale=faq.lang)


def byline(faq: Faq, date: str) -> list[str]:
    """The company, when the page was made (`date` in its place) and the questions' period."""
    labels = labels_for(faq.lang)
    period = labels.period.format(days=format_decimal(faq.period_days, locale=faq.lang))
    return [p for p in (one_line(faq.company), labels.updated.format(date=date), period) if p]


def published_questions(faq: Faq, topic: FaqTopic) -> list[list[str]]:
    """The topic's questions, anonymised, each as its paragraphs."""
    return [paragraphs(anonymise(question, faq.lang)) for question in topic.questions]


def paragraphs(text: str) -> list[str]:
    """Blank lines part paragraphs; single line breaks stay inside one."""
    parts = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return [part.strip() for part in parts if part.strip()]


def one_line(text: str) -> str:
    """A heading or a byline holds one line: a line break would end a Markdown heading early."""
    return " ".join(text.split())
