"""The FAQ as Markdown, the HTML page's content for sites and wikis that take Markdown.

Text is escaped so it renders exactly as written: a customer's "*" or "<b>" is shown, never
obeyed. The table of contents links to the anchors GitHub and most Markdown sites derive from
headings.
"""

from __future__ import annotations

import re

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

# CommonMark lets a backslash escape any ASCII punctuation; these characters can start markup
# anywhere in a line (emphasis, links, raw HTML, entities, code spans, tables, headings).
_INLINE = re.compile(r"([\\`*_{}\[\]<>()#!|~&])")
# ...and these only at the start of a line: list items, setext underlines, numbered lists.
_LINE_START = re.compile(r"^(?:[-+=]|\d+(?=[.)]))")


def markdown_escaped(text: str) -> str:
    """`text` as Markdown that renders as `text`, its line breaks kept."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        # Stripped: four leading spaces would make a code block, two trailing a hard break.
        line = _INLINE.sub(r"\\\1", line.strip())
        line = _LINE_START.sub(lambda m: m[0] + "\\" if m[0][0].isdigit() else "\\" + m[0], line)
        lines.append(line)
    return "\n".join(lines)


class _Anchors:
    """Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces as dashes,
    "-1", "-2" after a repeat. Every heading counts, so they are taken in the page's order."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def take(self, heading: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = self._seen.get(slug, 0)
        self._seen[slug] = count + 1
        return slug if count == 0 else f"{slug}-{count}"


def faq_markdown(faq: Faq) -> str:
    """The page's content as Markdown in `faq.lang`."""
    labels = labels_for(faq.lang)
    heading = page_heading(faq)
    names = [one_line(topic.name) for topic in faq.topics]
    anchors = _Anchors()
    anchors.take(heading)
    anchors.take(labels.contents)
    topic_anchors = []
    for name, topic in zip(names, faq.topics, strict=True):
        topic_anchors.append(anchors.take(name))
        if topic.questions:
            anchors.take(labels.questions)
        anchors.take(labels.answers)

    meta = markdown_escaped(" · ".join(byline(faq, date_label(faq))))
    out = [f"# {markdown_escaped(heading)}", "", meta, ""]
    if not faq.topics:
        out += [markdown_escaped(labels.no_topics), ""]
    else:
        out += [f"## {markdown_escaped(labels.contents)}", ""]
        for number, (name, anchor) in enumerate(zip(names, topic_anchors, strict=True), 1):
            out.append(f"{number}. [{markdown_escaped(name)}](#{anchor})")
        out.append("")
    for name, topic in zip(names, faq.topics, strict=True):
        out += [
            f"## {markdown_escaped(name)}",
            "",
            f"*{markdown_escaped(asked_label(faq, topic))}*",
            "",
        ]
        if topic.questions:
            out += [f"### {markdown_escaped(labels.questions)}", ""]
            for question in published_questions(faq, topic):
                quoted = markdown_escaped("\n\n".join(question))
                out += [f"> {line}".rstrip() for line in quoted.split("\n")] + [""]
        out += [f"### {markdown_escaped(labels.answers)}", ""]
        for reply in topic.replies:
            out += [markdown_escaped("\n\n".join(paragraphs(reply.text))), ""]
        if not topic.replies:
            out += [f"*{markdown_escaped(labels.no_answer)}*", ""]
    return "\n".join(out).rstrip("\n") + "\n"
