"""Article text → safe HTML for the server-rendered pages (static/common.js does the same in the browser).

Everything is escaped first; the only markup added is ours (<mark>, lists, the answer's **bold** and
http(s) links: faq_search/answer_markdown.py, links to phone numbers, e-mail addresses and our own sites
written bare; in answers, to our own numbers and addresses only), so an article or a query containing HTML
is shown as text.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable

from markupsafe import Markup, escape

from ..answer_markdown import Run, inline_runs, plain_text, site_runs

__all__ = ["answer_blocks", "answer_line", "channel_items", "contact_runs", "highlight", "linkify", "own_contacts"]

_OL = re.compile(r"^(\d{1,3})[.、)）]\s*(.*)$")
_UL = re.compile(r"^[-*•·]\s+(.*)$")
_CONTACT = re.compile(r"(?P<phone>\b\d{3}-\d{3}-\d{4}\b)|(?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)")


def answer_blocks(text: str) -> list[tuple[str, list[str], int]]:
    """The answer's Markdown as (kind, lines, start): kind "p" (lines of one paragraph), "ol" (with the
    first item's number) or "ul"; a blank line ends a block."""
    blocks: list[tuple[str, list[str], int]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            current = None
            continue
        start = 1
        if m := _OL.match(line):
            kind, line, start = "ol", m.group(2), int(m.group(1))
        elif m := _UL.match(line):
            kind, line = "ul", m.group(1)
        else:
            kind = "p"
        if current is None or current[0] != kind:
            current = (kind, [], start)
            blocks.append(current)
        current[1].append(line)
    return blocks


def _term_pattern(terms: Iterable[str]) -> re.Pattern | None:
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words)), re.I) if words else None


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` escaped, each occurrence of a term (longest first, any case) wrapped in <mark>."""
    pattern = _term_pattern(terms)
    if pattern is None:
        return escape(text)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(Markup("<mark>%s</mark>") % m.group(0))
        pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def answer_line(line: str, terms: Iterable[str] = (), sites: tuple[str, ...] = (),
                contacts: tuple[str, ...] = ()) -> Markup:
    """A line of an answer as HTML: its **bold** as <strong>, its http(s) links and our ``sites`` written
    bare as links opening apart (the agents' console stays), our ``contacts`` (own_contacts) as tel: and
    mailto: links, the terms highlighted in each; all text and addresses escaped."""
    out = []
    for run in inline_runs(line, sites):
        for piece in contact_runs(run, contacts) if contacts and not run.url else [run]:
            html = highlight(piece.text, terms)
            if piece.url.startswith(("tel:", "mailto:")):
                html = Markup('<a href="%s">%s</a>') % (piece.url, html)
            elif piece.url:
                html = Markup('<a href="%s" target="_blank" rel="noopener noreferrer">%s</a>') % (piece.url, html)
            out.append(Markup("<strong>%s</strong>") % html if piece.bold else html)
    return Markup("").join(out)


def own_contacts(channels_answer: str) -> tuple[str, ...]:
    """The phone numbers and e-mail addresses the channels article lists (ours by that): the only ones an
    answer links, so that a number or address quoted in a scam warning stays text."""
    found = (m.group(0) for pair in channel_items(channels_answer) for m in _CONTACT.finditer(" ".join(pair)))
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=16)
def _contact_pattern(contacts: tuple[str, ...]) -> re.Pattern:
    # Whole numbers and addresses only: not 400-660-88889, nor support@yiqianbao.com.cn (as sites).
    listed = "|".join(map(re.escape, sorted(contacts, key=len, reverse=True)))
    return re.compile(rf"(?<![A-Za-z0-9.@_+-])(?:{listed})(?![A-Za-z0-9_-]|\.[A-Za-z0-9])")


def contact_runs(run: Run, contacts: tuple[str, ...]) -> list[Run]:
    """``run`` (text, not a link) with each of ``contacts`` in it as a tel: or mailto: link
    (static/common.js contactRuns)."""
    out, pos = [], 0
    for m in _contact_pattern(contacts).finditer(run.text):
        if m.start() > pos:
            out.append(Run(run.text[pos : m.start()], run.bold))
        contact = m.group(0)
        out.append(Run(contact, run.bold, f"mailto:{contact}" if "@" in contact else "tel:" + contact.replace("-", "")))
        pos = m.end()
    if pos < len(run.text) or not out:
        out.append(Run(run.text[pos:], run.bold))
    return out


def linkify(text: str, sites: tuple[str, ...] = ()) -> Markup:
    """``text`` escaped, with phone numbers (400-660-8888), e-mail addresses and our ``sites`` written bare
    (help.yiqianbao.com, as answers link them) made into links."""
    out = []
    for run in site_runs(Run(text), sites) if sites else [Run(text)]:
        if run.url:
            out.append(Markup('<a href="%s" target="_blank" rel="noopener noreferrer">%s</a>') % (run.url, run.text))
        else:
            out.append(_contacts(run.text))
    return Markup("").join(out)


def _contacts(text: str) -> Markup:
    out, pos = [], 0
    for m in _CONTACT.finditer(text):
        out.append(escape(text[pos : m.start()]))
        if m.group("phone"):
            out.append(Markup('<a href="tel:%s">%s</a>') % (m.group(0).replace("-", ""), m.group(0)))
        else:
            out.append(Markup('<a href="mailto:%s">%s</a>') % (m.group(0), m.group(0)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def channel_items(answer: str) -> list[tuple[str, str]]:
    """(channel, details) from the numbered list of a service article such as "1. 客服热线 400-660-8888：
    每天 8:00–22:00"; the name is what precedes the first colon."""
    items = []
    for kind, lines, _start in answer_blocks(answer):
        if kind != "ol":
            continue
        for line in map(plain_text, lines):  # shown as text: **热线** is 热线
            name, sep, details = line.partition("：")
            items.append((name.strip(), details.strip()) if sep else (line.strip(), ""))
    return items
