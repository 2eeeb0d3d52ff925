"""The FAQ as one self-contained, accessible HTML5 page a company can publish.

Every topic stays open in a plain <section> under its own <h2>, rather than in <details>:
screen-reader heading navigation, find-in-page and printing then reach every answer without a
click. The page loads nothing (inline CSS; no script, font or image) and its
Content-Security-Policy forbids anything else, so text that slipped past escaping still could
not run a script or call out. All text is escaped, customer questions first of all.
"""

from __future__ import annotations

from html import escape

from bot.reports.faq import (
    Faq,
    asked_label,
    byline,
    date_label,
    labels_for,
    one_line,
    page_heading,
    paragraphs,
    published_questions,
)
from bot.reports.faq_style import STYLESHEET

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)
_DATE = "\x00"  # stands for the date while the byline is escaped: no text contains it


def faq_html(faq: Faq) -> str:
    """The page as one HTML5 document in `faq.lang`; topic N's section has the id "topic-N"."""
    labels = labels_for(faq.lang)
    heading = page_heading(faq)
    title = " · ".join(part for part in (heading, one_line(faq.company)) if part)
    time = (
        f'<time datetime="{faq.generated_at.date().isoformat()}">{escape(date_label(faq))}</time>'
    )
    meta = " · ".join(escape(part).replace(_DATE, time) for part in byline(faq, _DATE))
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(faq.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLESHEET}</style>",
        "</head>",
        "<body>",
        f'<header><h1>{escape(heading)}</h1><p class="meta">{meta}</p></header>',
    ]
    if faq.topics:
        out.append(
            f'<nav aria-labelledby="contents"><h2 id="contents">{escape(labels.contents)}</h2>'
        )
        out.append("<ol>")
        for number, topic in enumerate(faq.topics, start=1):
            out.append(f'<li><a href="#topic-{number}">{escape(topic.name)}</a></li>')
        out.append("</ol></nav>")
    out.append("<main>")
    if not faq.topics:
        out.append(f"<p>{escape(labels.no_topics)}</p>")
    for number, topic in enumerate(faq.topics, start=1):
        out.append(f'<section id="topic-{number}" aria-labelledby="topic-{number}-heading">')
        out.append(f'<h2 id="topic-{number}-heading">{escape(topic.name)}</h2>')
        out.append(f'<p class="asked">{escape(asked_label(faq, topic))}</p>')
        if topic.questions:
            out.append(f'<h3>{escape(labels.questions)}</h3><ul class="questions">')
            for question in published_questions(faq, topic):
                out.append(f"<li><blockquote>{_paragraphs_html(question)}</blockquote></li>")
            out.append("</ul>")
        out.append(f"<h3>{escape(labels.answers)}</h3>")
        for reply in topic.replies:
            text = _paragraphs_html(paragraphs(reply.text))
            out.append(f'<div class="answer" data-reply="{escape(reply.name)}">{text}</div>')
        if not topic.replies:
            out.append(f'<p class="asked">{escape(labels.no_answer)}</p>')
        out.append("</section>")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _paragraphs_html(texts: list[str]) -> str:
    # Line breaks inside a paragraph show through the stylesheet's `white-space: pre-line`.
    return "".join(f"<p>{escape(text)}</p>" for text in texts)
