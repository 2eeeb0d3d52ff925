"""The FAQ page in a real browser: what a reader sees in headless Chromium, on a phone.

Chromium is driven through the Chrome DevTools Protocol over its WebSocket (websocket-client is
already a dependency), so no browser-automation package is needed. Without a Chromium binary
the tests skip: install Debian's `chromium` package, or point $CHROMIUM at a Chrome.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websocket

from bot.domain.faq import Faq, FaqReply, FaqTopic
from bot.reports.faq_html import faq_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PHONE_WIDTH = 360
TIMEOUT = 10.0
SCRIPT = "<script>document.title = 'pwned'; window.pwned = true</script>"
IMAGE = '<img src="https://evil.example/pixel.png" onerror="window.pwned = true">'
LONG_WORD = "https://shop.example.it/" + "a" * 200  # a phone must wrap it, not scroll sideways

SAMPLE = Faq(
    title="",
    company="Pasta & Co.",
    lang="it",
    generated_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    period_days=30,
    topics=[
        FaqTopic(
            name="Spedizioni",
            asked=1234,
            questions=[
                "Ciao, sono Giulia Rossi: il mio ordine 4411 non è arrivato. 347 123 4567",
                f"{SCRIPT} {IMAGE}",
                LONG_WORD,
            ],
            replies=[FaqReply("spedizione-tempi", "Spediamo in 24 ore.\nIl corriere in 2 giorni.")],
        ),
        FaqTopic(name="Resi", asked=1, questions=["Posso rendere un pacco aperto?"], replies=[]),
    ],
)


def chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


class DevTools:
    """One page of a headless Chromium, over the DevTools Protocol's flat sessions."""

    def __init__(self, browser_url: str) -> None:
        # Chromium refuses WebSocket clients that send an Origin it was not told to allow.
        self._socket = websocket.create_connection(
            browser_url, timeout=TIMEOUT, suppress_origin=True
        )
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def _call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            answer = json.loads(self._socket.recv())
            if answer.get("id") != self._next_id:
                self.events.append(answer)
            elif "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            else:
                return answer["result"]

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self._call(method, self._session, **params)

    def wait_for(self, event: str) -> dict[str, Any]:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(json.loads(self._socket.recv()))
        return next(e for e in self.events if e.get("method") == event)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self._socket.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The DevTools WebSocket address of a headless Chromium started for these tests."""
    binary = chromium()
    if binary is None:
        pytest.skip(
            "no Chromium to render the FAQ page in: `apt-get install chromium` "
            "(or set CHROMIUM to a Chrome binary)"
        )
    profile = tmp_path_factory.mktemp("chromium")
    command = [
        binary,
        "--headless",
        "--remote-debugging-port=0",  # Chromium picks a free port and writes it in the profile
        f"--user-data-dir={profile}",
        *("--no-first-run", "--no-default-browser-check", "--disable-gpu", "--mute-audio"),
        *("--disable-extensions", "--disable-background-networking", "--disable-sync"),
        "--disable-component-update",
        "about:blank",
    ]
    if os.geteuid() == 0:  # CI runs as root, where Chromium's sandbox cannot start
        command.insert(1, "--no-sandbox")
    log = (profile / "stderr.log").open("w")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start: {(profile / 'stderr.log').read_text()}")
            time.sleep(0.02)
        port, path = port_file.read_text().split()
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def page(browser: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """The sample FAQ loaded from a file, in a phone-sized window."""
    path: Path = tmp_path_factory.mktemp("faq") / "faq.html"
    path.write_text(faq_html(SAMPLE), encoding="utf-8")
    tab = DevTools(browser)
    tab.call("Network.enable")
    tab.call("Page.enable")
    tab.call("Runtime.enable")
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        width=PHONE_WIDTH,
        height=740,
        deviceScaleFactor=2,
        mobile=True,  # a phone's layout viewport: 980 px wide unless the page's viewport meta says
    )
    tab.call("Page.navigate", url=path.as_uri())
    tab.wait_for("Page.loadEventFired")
    yield tab
    tab.close()


def test_the_reader_sees_the_questions_and_answers(page: DevTools) -> None:
    text = page.evaluate("document.body.innerText")
    assert text.startswith("Domande frequenti\n")
    assert "Pasta & Co. · Aggiornato il 23 novembre 2026 · domande degli ultimi 30 giorni" in text
    assert "Chiesto 1.234 volte" in text and "Chiesto 1 volta" in text
    assert "Ciao, sono [nome]: il mio ordine [numero] non è arrivato. [telefono]" in text
    assert "Spediamo in 24 ore.\nIl corriere in 2 giorni." in text
    assert "Stiamo ancora preparando la risposta a queste domande." in text
    assert not [data for data in ("Giulia", "Rossi", "4411", "4567") if data in text]


def test_the_headings_outline_the_page(page: DevTools) -> None:
    headings = page.evaluate(
        "[...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]"
        ".map(h => [Number(h.tagName[1]), h.innerText])"
    )
    assert headings == [
        [1, "Domande frequenti"],
        [2, "Argomenti"],
        [2, "Spedizioni"],
        [3, "Cosa ci chiedete"],
        [3, "Come rispondiamo"],
        [2, "Resi"],
        [3, "Cosa ci chiedete"],
        [3, "Come rispondiamo"],
    ]
    assert page.evaluate("document.documentElement.lang") == "it"


def test_hostile_markup_is_shown_and_never_runs(page: DevTools) -> None:
    assert page.evaluate("document.title") == "Domande frequenti · Pasta & Co."
    assert page.evaluate("window.pwned === undefined")
    assert page.evaluate("document.querySelectorAll('script, img, iframe, object').length") == 0
    assert f"{SCRIPT} {IMAGE}" in page.evaluate("document.body.innerText")
    thrown = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"]
    assert thrown == []


def test_the_page_requests_nothing_but_itself(page: DevTools) -> None:
    requested = [
        e["params"]["request"]["url"]
        for e in page.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested == [page.evaluate("location.href")]


def test_table_of_contents_links_reach_their_sections(page: DevTools) -> None:
    links = page.evaluate(
        "[...document.querySelectorAll('nav a')].map(a => "
        "[a.innerText, document.getElementById(a.hash.slice(1))?.querySelector('h2')?.innerText])"
    )
    assert links == [["Spedizioni", "Spedizioni"], ["Resi", "Resi"]]
    page.evaluate("document.querySelector('nav a[href=\"#topic-2\"]').click()")
    assert page.evaluate("document.querySelector(':target').id") == "topic-2"
    assert page.evaluate("window.scrollY") > 0


def test_a_phone_reads_it_without_scrolling_sideways(page: DevTools) -> None:
    assert page.evaluate("window.innerWidth") == PHONE_WIDTH  # the viewport meta took effect
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16


# The lowest contrast between any text and the background behind it (WCAG's formula).
WORST_CONTRAST = """(() => {
  const rgb = colour => colour.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => [r, g, b]
    .map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = element => {
    for (; element; element = element.parentElement) {
      const colour = rgb(getComputedStyle(element).backgroundColor);
      if (colour.length < 4 || colour[3] > 0) return colour;
    }
    return [255, 255, 255];
  };
  let worst = [99, ''];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    if (!node.textContent.trim()) continue;
    const a = luminance(rgb(getComputedStyle(node.parentElement).color));
    const b = luminance(behind(node.parentElement));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst[0]) worst = [ratio, node.textContent.trim().slice(0, 40)];
  }
  return worst;
})()"""


@pytest.mark.parametrize(
    ("media", "scheme"), [("screen", "light"), ("screen", "dark"), ("print", "dark")]
)
def test_every_text_has_enough_contrast(page: DevTools, media: str, scheme: str) -> None:
    """On screen in either colour scheme, and on paper even from a browser in dark mode: browsers
    print no backgrounds, so dark mode's light text would all but vanish on white paper."""
    page.call(
        "Emulation.setEmulatedMedia",
        media=media,
        features=[{"name": "prefers-color-scheme", "value": scheme}],
    )
    ratio, text = page.evaluate(WORST_CONTRAST)
    assert ratio >= 4.5, f"{text!r} has a contrast of {ratio:.2f}:1 ({media}, {scheme})"
    if media == "print":
        assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
