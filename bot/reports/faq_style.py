"""The FAQ page's stylesheet, inlined into the page so it is one file that loads nothing.

Body text and links keep a contrast of at least 7:1 in light and dark mode (WCAG AAA for
text), muted text at least 4.5:1. Long unbroken words (links, codes) wrap instead of widening
the page on a phone. Printing drops colours and backgrounds and keeps quotes whole.
"""

STYLESHEET = """
:root {
  color-scheme: light dark;
  --text: #1b1b1b; --muted: #4d4d4d; --background: #ffffff;
  --accent: #0a4fb8; --quote: #f2f4f7; --rule: #5f6b7a;
}
@media (prefers-color-scheme: dark) {
  :root {
    --text: #ececec; --muted: #c2c2c2; --background: #15171b;
    --accent: #9cc2ff; --quote: #23262d; --rule: #8a96a6;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0 auto; max-width: 44rem; padding: 1.5rem 1rem 3rem;
  font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: var(--text); background: var(--background); overflow-wrap: anywhere;
}
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 0.5rem; }
h2 { font-size: 1.4rem; line-height: 1.3; margin: 2.5rem 0 0.25rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 0.5rem; }
.meta, .asked { color: var(--muted); margin: 0; }
a { color: var(--accent); text-underline-offset: 0.15em; }
a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
nav ol { padding-left: 1.5rem; }
nav li { margin: 0.3rem 0; }
section { scroll-margin-top: 1rem; border-top: 1px solid var(--rule); margin-top: 2rem; }
.questions { list-style: none; margin: 0; padding: 0; }
blockquote {
  margin: 0 0 0.75rem; padding: 0.5rem 1rem;
  border-left: 4px solid var(--rule); background: var(--quote);
}
blockquote p, .answer p { margin: 0; white-space: pre-line; }
blockquote p + p, .answer p + p { margin-top: 0.75rem; }
.answer + .answer { margin-top: 1rem; padding-top: 1rem; border-top: 1px dashed var(--rule); }
@media print {
  :root { --text: #000; --muted: #333; --background: #fff; --accent: #000; --quote: #fff; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  a { text-decoration: none; }
  blockquote, .answer { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
"""
