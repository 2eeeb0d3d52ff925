"""The FAQ page as HTML and Markdown: structure, escaping of hostile text, anonymity, languages.

The HTML is read back with the standard library's parser and the Markdown rendered with a
CommonMark parser (markdown-it-py, which rich depends on), so the tests see what a browser or a
Markdown site would, not the markup's spelling.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.domain.faq import Faq, FaqReply, FaqTopic
from bot.reports.faq_html import faq_html
from bot.reports.faq_markdown import faq_markdown, markdown_escaped

GENERATED_AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)> *bold* [a](b) &amp;"
PERSONAL = "Ciao, sono Giulia Rossi: ordine 4411, scrivetemi a giulia@example.com o al 347 123 4567"
PERSONAL_DATA = ("Giulia", "Rossi", "4411", "giulia@example.com", "347 123 4567")

SAMPLE = Faq(
    title="",
    company="Pasta & Co.",
    lang="it",
    generated_at=GENERATED_AT,
    period_days=30,
    topics=[
        FaqTopic(
            name="Spedizioni",
            asked=1234,
            questions=[PERSONAL, HOSTILE, "Quando arriva?\n\nÈ urgente."],
            replies=[
                FaqReply(
                    "spedizione-tempi", "Spediamo in 24 ore.\n\nIl corriere consegna in 2 giorni."
                ),
                FaqReply('x" onmouseover="alert(1)', "Scrivici in privato."),
            ],
        ),
        FaqTopic(name='Resi <b>"gratis"</b>', asked=1, questions=["# posso rendere?"], replies=[]),
    ],
)


class Page(HTMLParser):
    """The parts of an HTML page the tests look at, and whether its elements nest properly."""

    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str]] = []
        self.text: list[str] = []
        self.open: list[str] = []
        self.errors: list[str] = []
        self._heading: list[str] | None = None
        self.feed(markup)
        self.close()
        self.errors += [f"never closed: {tag}" for tag in self.open]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()
        if tag.startswith("h") and tag[1:].isdigit() and self._heading is not None:
            self.headings.append((int(tag[1]), "".join(self._heading)))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] in {"style", "title"}:
            return
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_the_page_is_one_well_formed_html5_document_in_its_language() -> None:
    markup = faq_html(SAMPLE)
    page = Page(markup)
    assert markup.startswith("<!DOCTYPE html>\n")
    assert page.errors == []
    assert page.all("html") == [{"lang": "it"}]
    assert {"charset": "utf-8"} in page.all("meta")
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in page.all(
        "meta"
    )
    assert "<title>Domande frequenti · Pasta &amp; Co.</title>" in markup


def test_headings_go_down_one_level_at_a_time_under_a_single_h1() -> None:
    levels = [level for level, _ in Page(faq_html(SAMPLE)).headings]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in pairwise(levels))
    assert Page(faq_html(SAMPLE)).headings[:3] == [
        (1, "Domande frequenti"),
        (2, "Argomenti"),
        (2, "Spedizioni"),
    ]


def test_the_table_of_contents_links_to_every_topic_section() -> None:
    page = Page(faq_html(SAMPLE))
    ids = {attrs["id"] for _, attrs in page.tags if attrs.get("id")}
    links = [str(attrs["href"]) for attrs in page.all("a")]
    assert links == ["#topic-1", "#topic-2"]
    assert all(link[1:] in ids for link in links)
    sections = page.all("section")
    assert [s["id"] for s in sections] == ["topic-1", "topic-2"]
    assert all(s["aria-labelledby"] in ids for s in sections)


def test_the_page_loads_nothing_and_runs_nothing() -> None:
    markup = faq_html(SAMPLE)
    page = Page(markup)
    assert {tag for tag, _ in page.tags} <= {
        *("html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3"),
        *("p", "time", "nav", "ol", "li", "a", "main", "section", "ul", "blockquote", "div"),
    }
    assert all(
        not {"src", "srcset", "onerror", "onmouseover"} & attrs.keys() for _, attrs in page.tags
    )
    assert "url(" not in markup and "@import" not in markup
    policy = next(m["content"] for m in page.all("meta") if m.get("http-equiv"))
    assert policy is not None and policy.startswith("default-src 'none';")


def test_hostile_text_is_shown_as_text() -> None:
    page = Page(faq_html(SAMPLE))
    text = page.visible_text()
    assert "<script>document.title='pwned'</script><img src=x onerror=alert(1)>" in text
    assert "*bold* [a](b) &amp;" in text
    assert 'Resi <b>"gratis"</b>' in text
    assert page.all("script") == [] and page.all("img") == [] and page.all("b") == []
    replies = [attrs["data-reply"] for attrs in page.all("div")]
    assert replies == ["spedizione-tempi", 'x" onmouseover="alert(1)']


@pytest.mark.parametrize("render", [faq_html, faq_markdown])
def test_customer_questions_are_anonymised(render: object) -> None:
    assert callable(render)
    published = render(SAMPLE)
    assert not [data for data in PERSONAL_DATA if data in published]
    assert "sono [nome]" in published.replace("\\", "")
    assert "[telefono]" in published.replace("\\", "")


def test_questions_and_answers_keep_their_paragraphs() -> None:
    markup = faq_html(SAMPLE)
    assert "<blockquote><p>Quando arriva?</p><p>È urgente.</p></blockquote>" in markup
    assert "<p>Spediamo in 24 ore.</p><p>Il corriere consegna in 2 giorni.</p>" in markup


def test_italian_labels_numbers_and_dates() -> None:
    text = Page(faq_html(SAMPLE)).visible_text()
    assert "Pasta & Co. · Aggiornato il 23 novembre 2026 · domande degli ultimi 30 giorni" in text
    assert "Chiesto 1.234 volte" in text and "Chiesto 1 volta" in text
    assert "Cosa ci chiedete" in text and "Come rispondiamo" in text
    assert "Stiamo ancora preparando la risposta" in text
    assert '<time datetime="2026-11-23">23 novembre 2026</time>' in faq_html(SAMPLE)


def test_english_labels_numbers_dates_and_placeholders() -> None:
    english = replace(SAMPLE, lang="en")
    text = Page(faq_html(english)).visible_text()
    assert Page(faq_html(english)).all("html") == [{"lang": "en"}]
    assert text.startswith("Frequently asked questions Pasta & Co. · Updated on November 23, 2026")
    assert "Asked 1,234 times" in text and "Asked once" in text
    assert "What you ask us" in text and "How we answer" in text
    assert "sono [name]" in text and "[phone]" in text
    assert "Updated on November 23, 2026" in faq_markdown(english)


def test_a_title_replaces_the_default_heading() -> None:
    page = Page(faq_html(replace(SAMPLE, title="Le risposte di Pasta & Co.")))
    assert page.headings[0] == (1, "Le risposte di Pasta & Co.")


def test_a_period_without_questions_says_so() -> None:
    empty = replace(SAMPLE, topics=[])
    page = Page(faq_html(empty))
    assert page.errors == [] and page.all("nav") == []
    assert "Nessuna domanda in questo periodo." in page.visible_text()
    assert "Nessuna domanda in questo periodo." in faq_markdown(empty)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="fr"):
        faq_html(replace(SAMPLE, lang="fr"))
    with pytest.raises(ValueError, match="fr"):
        faq_markdown(replace(SAMPLE, lang="fr"))


def markdown_as_html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_markdown_has_the_same_content_and_shows_hostile_text_as_text() -> None:
    rendered = Page(markdown_as_html(faq_markdown(SAMPLE)))
    assert rendered.errors == []
    assert [level for level, _ in rendered.headings] == [1, 2, 2, 3, 3, 2, 3, 3]
    assert rendered.headings[2] == (2, "Spedizioni")
    assert rendered.headings[5] == (2, 'Resi <b>"gratis"</b>')
    text = rendered.visible_text()
    assert HOSTILE in text
    assert "# posso rendere?" in text
    assert "Pasta & Co. · Aggiornato il 23 novembre 2026" in text
    assert "Chiesto 1.234 volte" in text
    assert {tag for tag, _ in rendered.tags} <= {
        *("h1", "h2", "h3", "p", "ol", "li", "a", "em", "blockquote"),
    }
    assert [a["href"] for a in rendered.all("a")] == ["#spedizioni", "#resi-bgratisb"]


def test_markdown_anchors_count_repeated_headings_like_github() -> None:
    topics = [FaqTopic("Argomenti", 2, [], []), FaqTopic("Argomenti", 1, [], [])]
    markdown = faq_markdown(replace(SAMPLE, topics=topics))
    assert "1. [Argomenti](#argomenti-1)\n2. [Argomenti](#argomenti-2)" in markdown


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn")), max_size=60))
def test_escaped_markdown_renders_as_the_text_it_escapes(text: str) -> None:
    rendered = Page(markdown_as_html(markdown_escaped(text)))
    assert rendered.visible_text() == " ".join(text.split())
    assert {tag for tag, _ in rendered.tags} <= {"p"}
