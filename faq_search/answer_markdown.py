"""The Markdown of an answer: the inline subset every reader of it shows, and what it shows as typed.

Blocks are paragraphs and lists (web/render.py answer_blocks); within a line, **bold** (or __bold__) and
links [text](https://…) to http or https addresses only. Everything else (tables, headings, code, images,
HTML, a link to javascript: or tel:) is shown as typed: `unsupported` names it for the builder to warn.
The pages also link our own sites (scope.yml `sites`) where an answer writes them bare
(help.yiqianbao.com), never another bare address: a look-alike quoted in a warning stays text.
static/common.js (inlineRuns) mirrors `inline_runs`; the pages, the CLI and clients of the API (whose
`answer` is this text) all read it the same way.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

__all__ = ["Run", "inline_runs", "plain_text", "searchable", "site_runs", "unsupported"]

# One level of brackets inside a link's text ([a [b] c](…)); the address is http(s), without spaces or
# parentheses, so that nothing but a web page can be linked (javascript:, data: stay text).
_LINK = r"\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])+)\]\((?P<url>[Hh][Tt][Tt][Pp][Ss]?://[^\s()]+)\)"
# Bold around text that neither starts nor ends with a space; __ only outside words (__init__ aside).
_STAR = r"\*\*(?P<star>\S(?:.*?\S)?)\*\*"
_UNDER = r"(?<![A-Za-z0-9_])__(?P<under>\S(?:.*?\S)?)__(?![A-Za-z0-9_])"
_INLINE = re.compile(f"{_LINK}|{_STAR}|{_UNDER}")
_LINK_ONLY = re.compile(_LINK)
# _INLINE without the bold that cannot close any more, by (star may close, __ may close): an opening
# '**' with no closing one after it scanned to the end of the line, a line of 20,000 took 16 s.
_INLINE_FROM = {(True, True): _INLINE, (True, False): re.compile(f"{_LINK}|{_STAR}"),
                (False, True): re.compile(f"{_LINK}|{_UNDER}"), (False, False): _LINK_ONLY}
_STAR_CLOSES = re.compile(r"(?<=\S)(?=\*\*)")  # where a '**' can close bold (overlapping: '****')
_UNDER_CLOSES = re.compile(r"(?<=\S)(?=__(?![A-Za-z0-9_]))")
_MARKUP_START = re.compile(r"[\[*_]")


def _inline_matches(line: str):
    """The matches of _INLINE.finditer(``line``), in linear time: bold is tried only where a closing
    '**' or '__' is still ahead (the one at c closes any opening at c - 3 or before), so that no
    opening scans the rest of the line in vain. The same matches, as static/common.js finds."""
    if "\n" in line:  # '.' stops at a line break: the closing marks ahead may not be reachable
        yield from _INLINE.finditer(line)
        return
    star = max((m.start() for m in _STAR_CLOSES.finditer(line)), default=-1) - 3
    under = max((m.start() for m in _UNDER_CLOSES.finditer(line)), default=-1) - 3
    pos = 0
    while (start := _MARKUP_START.search(line, pos)) is not None:
        at = start.start()
        m = _INLINE_FROM[at <= star, at <= under].match(line, at)
        if m is None:
            pos = at + 1
        else:
            yield m
            pos = m.end()


class Run(NamedTuple):
    """A piece of a line: its text (as shown), whether bold, and the address it links to ("" when none)."""

    text: str
    bold: bool = False
    url: str = ""


def _letters_any_case(text: str) -> str:
    # Spelt out, not re.I: with re.I, [a-z] would match 'ſ' and the Kelvin sign, which JavaScript's does not.
    return "".join(f"[{c.upper()}{c}]" if c.isascii() and c.isalpha() else re.escape(c) for c in text)


@functools.lru_cache(maxsize=16)
def _site_pattern(sites: tuple[str, ...]) -> re.Pattern:
    """Our hosts written bare, with or without http(s)://, and a path: not inside another host or address
    (x.help…, help….evil.cn, evil.cn/help…, evil.cn/?r=help…, an e-mail's domain), the path without
    trailing punctuation."""
    hosts = "|".join(_letters_any_case(s) for s in sorted(sites, key=len, reverse=True))
    return re.compile(r"(?<![A-Za-z0-9.@/_=?&#%~+-])(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?://)?"
                      rf"(?P<host>{hosts})(?P<path>/(?:[A-Za-z0-9._~%/?#=&+-]*[A-Za-z0-9_~%/#=&+-])?)?"
                      r"(?![A-Za-z0-9_-]|\.[A-Za-z0-9])")


def site_runs(run: Run, sites: tuple[str, ...]) -> list[Run]:
    """``run`` (text, not a link) with each of our bare addresses in it as a link: https unless written."""
    pattern, out, pos = _site_pattern(sites), [], 0
    for m in pattern.finditer(run.text):
        if m.start() > pos:
            out.append(Run(run.text[pos : m.start()], run.bold))
        url = (m.group("scheme") or "https://") + m.group("host") + (m.group("path") or "")
        out.append(Run(m.group(0), run.bold, url))
        pos = m.end()
    if pos < len(run.text) or not out:
        out.append(Run(run.text[pos:], run.bold))
    return out


def inline_runs(line: str, sites: tuple[str, ...] = ()) -> list[Run]:
    """``line`` as runs of text, bold and links, in order; markup not understood stays in the text.
    ``sites``: our host names (scope.yml), linked where written bare."""
    runs = _markup_runs(line)
    if not sites:
        return runs
    return [piece for run in runs for piece in (site_runs(run, sites) if not run.url else [run])]


def _markup_runs(line: str) -> list[Run]:
    runs: list[Run] = []
    pos = 0
    for m in _inline_matches(line):
        if m.start() > pos:
            runs.append(Run(line[pos : m.start()]))
        if m.group("url"):
            runs.append(Run(m.group("text"), url=m.group("url")))
        else:  # bold, which may hold links
            groups = m.groupdict()
            inner = groups["star"] if groups.get("star") is not None else groups["under"]
            runs += [Run(r.text, True, r.url) for r in _links(inner)]
        pos = m.end()
    if pos < len(line) or not runs:
        runs.append(Run(line[pos:]))
    return runs


def _links(text: str) -> list[Run]:
    runs, pos = [], 0
    for m in _LINK_ONLY.finditer(text):
        if m.start() > pos:
            runs.append(Run(text[pos : m.start()]))
        runs.append(Run(m.group("text"), url=m.group("url")))
        pos = m.end()
    if pos < len(text) or not runs:
        runs.append(Run(text[pos:]))
    return runs


def plain_text(line: str) -> str:
    """``line`` without its markup, as an agent pastes it into a chat: bold as its text, a link as
    "text URL" (the URL alone when it is the text), with whitespace on both sides of the URL: chat apps and
    editors take a ")" or the characters against it (查看, 。) as part of the address, and some find none
    after a letter (访问https://…)."""
    out = ""
    after_url = False  # what follows a URL starts with a space
    for run in inline_runs(line):
        if not run.url:
            if run.text and after_url and not run.text[0].isspace():
                out += " "
            out += run.text
            after_url = after_url and not run.text
            continue
        if run.text.strip() != run.url:
            out += (" " if after_url else "") + run.text
        out += ("" if not out or out[-1].isspace() else " ") + run.url
        after_url = True
    return out


_MAYBE_INLINE = re.compile(r"\*\*|__|\]\(")  # most answers hold no markup: a 100k-article build skips them


def searchable(answer: str) -> str:
    """The words of ``answer`` as readers see them, for search: bold as its text, a link as its text
    alone (its address's words, help or security, are not the answer's)."""
    if not _MAYBE_INLINE.search(answer):
        return answer
    return "\n".join("".join(r.text for r in inline_runs(line)) for line in answer.split("\n"))


_MAYBE_UNSUPPORTED = re.compile(r"[|#`~<\[]")  # most answers hold none: a 100k-article load skips them
_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^#{1,6}(\s|$)")
_TABLE_ROW = re.compile(r"^\|.*\|$|^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?$")
# A text or address holds one level of brackets or parentheses at most: scanning for a ']' or ')' to the
# end of the line from each '![' or '](' made a line of 40,000 characters ("![![![…") take seconds.
_IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\((?:[^()]|\([^()]*\))*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_OTHER_LINK = re.compile(r"(?<!!)\[[^\[\]]+\]\((?P<url>(?:[^()]|\([^()]*\))*)\)")

_SHOWN_AS_TYPED = {
    "table": "a Markdown table is shown as typed, pipes and all: write it as a list",
    "heading": "a Markdown heading ('#') is shown as typed: write it as a paragraph, in **bold** if it must stand out",
    "code": "a code block ('```') is shown as typed: write it as a paragraph or a list",
    "image": "an image ('![…](…)') is shown as typed: answers hold no images; link to a page that has it",
    "html": "an HTML tag ('{}') is shown as typed: answers are Markdown (paragraphs, lists, **bold**, "
            "[links](https://…))",
    "link": "a link to '{}' is shown as typed: only http:// and https:// addresses are links",
    "address": "a link whose address holds a space or a parenthesis is shown as typed: write them as %20, %28, %29",
}


def unsupported(answer: str) -> list[tuple[int, str]]:
    """(line of ``answer`` from 0, message) for each piece of Markdown the readers show as typed: a table
    or a code block once, at its first line; the others once a line."""
    found: list[tuple[int, str]] = []
    if not _MAYBE_UNSUPPORTED.search(answer):
        return found
    fenced = in_table = False
    for number, raw in enumerate(answer.split("\n")):  # not splitlines: U+2028 or \x0c ends no line of the file
        line = raw.strip()
        if _FENCE.match(line):
            if not fenced:
                found.append((number, _SHOWN_AS_TYPED["code"]))
            fenced = not fenced
            continue
        if fenced:
            continue
        table_row = bool(_TABLE_ROW.match(line))
        if table_row and not in_table:
            found.append((number, _SHOWN_AS_TYPED["table"]))
        in_table = table_row
        if _HEADING.match(line):
            found.append((number, _SHOWN_AS_TYPED["heading"]))
        if _IMAGE.search(line):
            found.append((number, _SHOWN_AS_TYPED["image"]))
        if tag := _HTML_TAG.search(line):
            found.append((number, _SHOWN_AS_TYPED["html"].format(tag.group(0))))
        shown = {r.url for r in inline_runs(line) if r.url}
        for m in _OTHER_LINK.finditer(_IMAGE.sub("", line)):
            url = m.group("url")
            if url in shown:
                continue
            if re.match(r"https?://", url, re.I):
                found.append((number, _SHOWN_AS_TYPED["address"]))
            else:  # javascript:alert(1) as 'javascript:', a relative /help as itself
                found.append((number, _SHOWN_AS_TYPED["link"].format(url.split(":")[0] + ":" if ":" in url else url[:40])))
            break
    return found
