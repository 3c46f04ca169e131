"""The knowledge base: articles loaded from Markdown + YAML front matter or JSON Lines.

Validation collects every problem, each as ``path:line: message``, and raises
one :class:`CorpusError` so an editor fixes them all in one pass.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import os
import re
import reprlib
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import opencc
import yaml

from .analysis import _INVISIBLE, _emoji_as_words, _nfkc, load_dictionaries, normalize_text
from .answer_markdown import unsupported

__all__ = ["Article", "Corpus", "CorpusError", "Problem", "Scope", "load_corpus", "where_in_front"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_FRONT_MATTER_START = re.compile(r"---[ \t]*\n")
_FRONT_MATTER_END = re.compile(r"^---[ \t]*$", re.M)
_NO_SPACE_KEY_LINE = re.compile(r"^([A-Za-z_]+):(\S.*)$")  # `category:transfer`: YAML reads text, no key
_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:")
_ANY_KEY_LINE = re.compile(r"^[^\s#:][^:]*:(\s|$)")  # any key, an unknown or misspelt one too
_WIDE_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)[ \t]*：")


MAX_YAML_DEPTH = 50  # lists and mappings within each other, in any YAML file of a corpus


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, strict where an editor's slip would otherwise pass unseen or crash the
    build: a key given twice is an error (YAML keeps the last one silently), and a date that is no
    date (2026-13-45) stays text, for the 'updated' check to name the file and line."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        # YAML composes nested values recursively: `[[[[…` a few thousand deep overflowed Python's stack
        # (a RecursionError, no line). No front matter needs more than a few levels.
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"values nested more than {MAX_YAML_DEPTH} deep: write "
                                              "text, or a list of texts", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        # An explicit tag on a value it does not fit (`!!int abc`, `!!bool maybe`, `!!timestamp x`): the
        # safe loader's constructors raise ValueError, KeyError or AttributeError, with no line.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
            tag = node.tag.removeprefix("tag:yaml.org,2002:")
            if node.style is None and self.resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag:
                # Not tagged: a number past Python's 4,300 digits, read as one all the same.
                problem = f"{_shown(node.value)} is read as a number too long to be one: put it in quotes"
            else:
                problem = f"{_shown(node.value)} cannot be read as '!!{tag}': delete the '!!{tag}'"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {_shown(key)}", key_node.start_mark)
                seen.add(key)
            except TypeError:  # an unhashable key: the base class reports it
                pass
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _file_lines(text: str) -> list[str]:
    """``text``'s lines as an editor numbers them: ends are \n, \r\n or a lone \r. Not str.splitlines,
    which also ends a line at U+2028, \x0c or \x1c: the lines after one were numbered one too many."""
    return re.split(r"\r\n|\r|\n", text)


# Line ends to YAML (and to str.splitlines), none to an editor: YAML's line numbers after one are off by one.
_YAML_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _line_separators(display: str, text: str, first_line: int) -> list[Problem]:
    """A problem at each line of YAML ``text`` holding a character YAML ends a line at and an editor
    does not (U+2028, pasted from a web page or a chat): what YAML says after it names the wrong line."""
    return [Problem(display, first_line + i, f"an invisible line separator (U+{ord(m.group()):04X}) is in this line: "
                                             "delete it (YAML ends a line there, an editor does not)")
            for i, line in enumerate(_file_lines(text)) if (m := _YAML_LINE_BREAKS.search(line))]


def _load_yaml(text: str):
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def _item_lines(node, first_line: int) -> list[int]:
    """File lines of a YAML sequence node's items (empty for any other node): a bad item is
    reported where it is, not at its key."""
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [first_line + item.start_mark.line for item in node.value]


def _list_item_lines(text: str, first_line: int) -> dict[str, list[int]]:
    """For a YAML mapping in ``text``: key → the lines of its list items. Text that has already
    loaded composes too; anything else gives {}."""
    try:
        node = yaml.compose(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): _item_lines(v, first_line) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _yaml_problem(e: yaml.YAMLError, display: str, text: str, first_line: int, what: str) -> Problem:
    """``path:line: what: reason`` of a YAML error in ``text``, which starts at line ``first_line`` of the file."""
    mark = getattr(e, "problem_mark", None)
    line = first_line + mark.line if mark is not None else 1
    if isinstance(e, yaml.reader.ReaderError):  # a character YAML refuses (NUL, control): no mark, a position
        line = first_line + text[: e.position].count("\n")
    reason = getattr(e, "problem", None) or str(e).split("\n")[0]
    context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
    lines = _file_lines(text)
    slip = _yaml_slip(lines, first_line, line, first_line + context_mark.line if context_mark else line, reason)
    if slip is not None:
        return Problem(display, slip[0], f"{what}: {slip[1]}")
    if reason == "mapping values are not allowed here":  # `question: 提示: 文字`
        reason += " (a value holding ': ' must be put in quotes)"
    elif reason == "found character '\\t' that cannot start any token":  # an editor's tab key
        reason = "a tab indents this line: YAML indents with spaces only, replace the tab with spaces"
    elif reason == "could not determine a constructor for the tag 'tag:yaml.org,2002:merge'":  # `<<: *base`
        reason = "'<<' (a YAML merge key) is not read: write out the keys it would bring in"
    if context and context_mark is not None:
        start = first_line + context_mark.line
        # An unclosed '[' or '"', a key without ': ': the slip is where that starts, YAML only stops
        # lines later (at the end of the file for a quote). A block mapping starts at the first key: no help.
        if not context.startswith("while parsing a block") and start != line:
            reason += f" ({context} that starts here; YAML stopped at line {line})"
            line = start
        else:
            reason += f" ({context} that starts at line {start})"
        reason += _yaml_advice(context, lines[context_mark.line] if context_mark.line < len(lines) else "")
    return Problem(display, line, f"{what}: {reason}")


def _yaml_slip(lines: list[str], first_line: int, line: int, start: int, reason: str) -> tuple[int, str] | None:
    """(line, what to do) for a YAML error whose cause YAML's own words hide (a '-' without a space, a
    key indented): ``line`` is where YAML stopped, ``start`` where what it was reading starts; None
    otherwise."""
    def at(n: int) -> str:
        return lines[n - first_line] if 0 <= n - first_line < len(lines) else ""

    for n in dict.fromkeys((start, line)):
        if (dash := re.match(r"^\s*-([^\s-].*)$", at(n))) is not None:  # `  -转账多久到`
            return n, (f"no space after '-': YAML reads '-{dash.group(1)}' as text, not as a list item; "
                       f"write '- {dash.group(1)}'")
    if reason.startswith("expected '<document start>'"):
        # `  account: 注册与登录` first, `password: 密码` below: YAML ends the mapping at the first line less indented.
        first = next((n for n in range(first_line, line) if at(n).strip() and not at(n).lstrip().startswith("#")), None)
        if first is not None and at(first)[:1] in (" ", "\t"):
            return first, ("this line is indented and the lines below it are not, so YAML reads no more after it: "
                           "start it at the beginning of the line")
    if reason == "mapping values are not allowed here":
        # `  tags: [a]` below `category: x`: the line continues the value above, and a value cannot hold a key.
        above = next((at(n) for n in range(line - 1, first_line - 1, -1) if at(n).strip()), "")
        key = re.match(r"^(\s+)([A-Za-z_][A-Za-z0-9_.-]*):(\s|$)", at(line))  # a key, not text going on
        value_above = re.match(r"^(\s*)[^\s#:-][^:]*:\s+\S", above)
        if key and value_above and len(value_above.group(1)) < len(key.group(1)):
            return line, (f"'{key.group(2)}:' is indented, so YAML reads it as more of the value above: start it "
                          "at the beginning of the line, as the keys above")
    return None


def _yaml_advice(context: str, written: str) -> str:
    """What to do, after YAML's words, when the construct it was reading (``context``) starts on line
    ``written`` and is never closed: "" when that is not it."""
    if context == "while scanning a quoted scalar":  # `question: "转账…` and no closing quote
        return ": end the text with the quote it starts with"
    for opening, closing, what in (("[", "]", "sequence"), ("{", "}", "mapping")):
        if context == f"while parsing a flow {what}" and written.count(opening) > written.count(closing):
            return f": close the '{opening}' with a '{closing}'"
    return ""


# An answer longer than this builds, with a warning: every search result, console card and API
# response showing the article carries all of it (a pasted 600 KB log made 605 KB responses).
LONG_ANSWER = 20_000


def long_answer(display: str, line: int, answer: str) -> Problem:
    """The warning for an answer over LONG_ANSWER characters, at ``line``."""
    return Problem(display, line, f"the answer is {len(answer):,} characters long (over {LONG_ANSWER:,}): every "
                                  "search result and API response showing this article carries all of it; "
                                  "shorten it or split it into articles")


KNOWN_KEYS = {"id", "question", "similar_questions", "category", "tags", "related", "updated", "aliases"}


@dataclass(frozen=True)
class Article:
    id: str
    question: str
    answer: str
    similar_questions: tuple[str, ...] = ()
    category: str = ""
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    updated: str = ""  # ISO 8601: front-matter `updated`, else the file's modification time
    source: str = ""  # "path:line" of the article, for messages
    aliases: tuple[str, ...] = ()  # former ids (front-matter `aliases`): links and votes made before a rename

    @property
    def questions(self) -> tuple[str, ...]:
        """Every phrasing of the question, standard one first; empty ones dropped."""
        return tuple(q for q in (self.question, *self.similar_questions) if q.strip())

    def to_dict(self) -> dict:
        # Shallow on purpose: dataclasses.asdict deep-copies (9 s for 100k articles).
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("similar_questions", "tags", "related", "aliases"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Article":
        return cls(
            id=d["id"],
            question=d.get("question", ""),
            answer=d.get("answer", ""),
            similar_questions=tuple(d.get("similar_questions", ())),
            category=d.get("category", ""),
            tags=tuple(d.get("tags", ())),
            related=tuple(d.get("related", ())),
            updated=d.get("updated", ""),
            source=d.get("source", ""),
            aliases=tuple(d.get("aliases", ())),  # absent from versions written before aliases
        )

    def content_hash(self) -> str:
        """Hash of what analysis reads: the key of the token cache."""
        text = "\x1f".join((*self.questions, "\x1e", self.answer))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    # The id an "unknown … id" problem names: the builder adds what the published index knew of it.
    unknown: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CorpusError(Exception):
    """The corpus has problems; ``problems`` lists every one of them. ``articles``: those read all the
    same, when known (what a renamed id became)."""

    def __init__(self, problems: list[Problem], articles: list[Article] = ()):
        self.problems, self.articles = problems, articles
        super().__init__("\n".join(map(str, problems)))


class DictionaryError(CorpusError, ValueError):
    """A dictionary file (user words, synonyms) that cannot be read: a CorpusError for the builder's
    report, a ValueError for whoever loads a version's copy (a refused version, not a crash)."""


@dataclass(frozen=True)
class Scope:
    """scope.yml: names of the products the knowledge base answers for (``ours``) and of others
    users mention (``others``). A question naming another product, and none of ours, is about that
    product: search lists related articles but claims no answer, unless a question of the best one
    names it too. ``sites``: our own web addresses (host names), which the pages link where an answer
    writes them bare; no other bare address is linked. ``ask``: (whom to ask, names) for others'
    business asked in our words (办信用卡: the bank, not "办信用卡's customer service"); its names
    count as other products' too."""

    ours: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    ask: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def other_names(self) -> tuple[str, ...]:
        """Every name that is not ours: ``others``, then ``ask``'s."""
        return self.others + tuple(name for _whom, names in self.ask for name in names)

    def whom_to_ask(self, name: str) -> str | None:
        """Whom ``ask`` sends a question about ``name`` to; None: that product's own customer service."""
        return next((whom for whom, names in self.ask if name in names), None)

    def to_json(self) -> dict:
        return {"ours": list(self.ours), "others": list(self.others), "sites": list(self.sites),
                "ask": {whom: list(names) for whom, names in self.ask}}

    @classmethod
    def from_json(cls, obj: dict | None) -> "Scope":
        obj = obj or {}
        ask = tuple((str(whom), tuple(names)) for whom, names in (obj.get("ask") or {}).items())
        return cls(tuple(obj.get("ours", ())), tuple(obj.get("others", ())), tuple(obj.get("sites", ())), ask)


@dataclass
class Corpus:
    articles: list[Article]
    categories: dict[str, str] = field(default_factory=dict)  # id → display name
    content_hash: str = ""
    popular: tuple[str, ...] = ()  # curated article ids (popular.yml), shown before anything is typed
    scope: Scope = field(default_factory=Scope)  # scope.yml
    warnings: tuple[Problem, ...] = ()  # what a build says but publishes all the same (a very long answer)
    # A JSON Lines corpus's phrasing_digests, kept in a full build's version: the incremental builds that
    # follow compare the changed entries' phrasings with the others' without reading them. None otherwise.
    phrasings: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.articles)


def _hash_files(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(str(p.relative_to(root)).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _as_str_list(value, key: str, where: tuple[str, int], problems: list[Problem],
                 item_lines: list[int] | None = None, named: str = "") -> tuple[str, ...]:
    """A list of strings. ``item_lines`` (YAML) lists its items' lines: each bad item is reported at its
    own line, or at the key's when unknown. None (a JSON Lines record, one line): one message.
    ``named``: how the items' messages name the list, when not by its key (a file's top-level list)."""
    if value is None:
        return ()
    if isinstance(value, str):
        if item_lines is not None and _SEPARATED.search(value):  # `tags: 转错账, 转账`: one item, not two
            problems.append(Problem(*where, f"'{key}' is one text holding a comma, not a list: write "
                                            f"'{key}: [a, b]' or each item on its own '- ' line below '{key}:'"))
            return ()
        value = [value]
    if not isinstance(value, list) or (item_lines is None and not all(isinstance(v, (str, int, float)) for v in value)):
        problems.append(Problem(*where, f"'{key}' must be a list of strings"))  # a JSON Lines record: one line anyway
        return ()
    # YAML turns `010`, `1.50`, `true`, `no`, `12:30` into other values: only quoted text is kept as written.
    text = str if item_lines is not None else (str, int, float)
    bad = False
    for i, v in enumerate(value):
        if isinstance(v, text):
            continue
        bad = True
        line = item_lines[i] if i < len(item_lines) else where[1]
        name = named or f"'{key}'"
        if v is None:
            message = f"empty item in {name}: write the text after the '-' or delete the line"
        elif isinstance(v, dict):  # `- 提示: 文字`: YAML reads a key and a value
            message = f"item of {name} holds ': ' and is read as a key and value: put the item in quotes"
        elif isinstance(v, (bool, int, float, date)):
            message = f"item of {name} is read as {_read_as(v)}, not as text: put the item in quotes"
        else:
            message = f"item of {name} must be text, not {_shown(v)}"
        problems.append(Problem(where[0], line, message))
    if bad:  # the items that are text, the bad ones reported: the checks of the others still run
        value = [v for v in value if isinstance(v, text)]
    return tuple(str(v).strip() for v in value if str(v).strip())


_SEPARATED = re.compile(r",\s|，")


def _read_as(value) -> str:
    """What YAML made of an unquoted scalar (`010` → the number 8), for a "put it in quotes" message."""
    if isinstance(value, bool):
        return f"the truth value {value}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the date {value.isoformat()}" if isinstance(value, date) else _shown(value)


def _check_alias_form(aliases: tuple[str, ...], where: tuple[str, int], problems: list[Problem],
                      item_lines: list[int] | None = None) -> None:
    """Each former id must be spelt like an id (a link or a vote could not carry it otherwise).
    ``item_lines``: the lines of the (non-empty) items, as in _as_str_list."""
    for i, alias in enumerate(aliases):
        if not _ID.match(alias):
            line = item_lines[i] if item_lines and i < len(item_lines) else where[1]
            problems.append(Problem(where[0], line, f"invalid alias {_shown(alias)}: an alias is a former id "
                                                    "(letters, digits, '.', '_', '-')"))


def _as_timestamp(value, where: tuple[str, int], problems: list[Problem]) -> str | None:
    """A front-matter `updated` value as ISO 8601; None (and a problem) when it is not a date."""
    if isinstance(value, str):
        try:
            value = (datetime if "T" in value or " " in value.strip() else date).fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, date):
        try:
            day = value.astimezone(timezone.utc).date() if isinstance(value, datetime) and value.tzinfo else value
        except OverflowError:  # a day from date.max or date.min: its own date decides as well
            day = value.date()
        if isinstance(day, datetime):
            day = day.date()
        # A typo (2099 for 2025): the console would show it, and the unchanged-date warning never fire.
        if day > datetime.now(timezone.utc).date() + timedelta(days=1):
            problems.append(Problem(*where, f"'updated' is in the future ({value.isoformat()}): write the date of the edit"))
            return None
        return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value.isoformat()
    problems.append(Problem(*where, f"'updated' must be a date such as 2025-01-31, not {_shown(value)}"))
    return None


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def where_in_front(source: str, key: str, value: str, nth: int = 0, front: str | None = None,
                   first_line: int = 2) -> tuple[str, int]:
    """(path, line) of ``value`` under ``key`` in a Markdown article's front matter, for problems
    found after parsing (an unknown category or related id): the editor is sent to the line to fix,
    not to the article's id. ``nth``: of the value's repeats, the one to find (0: the first); ``front``:
    the front matter, when at hand, starting at ``first_line``. Falls back to ``source`` (a JSONL
    record is one line anyway)."""
    path, line = source.rsplit(":", 1)
    if not path.endswith(".md"):
        return path, int(line)
    if front is not None:
        lines = ["---", *_file_lines(front)]
    else:
        try:
            lines = _file_lines(Path(path).read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            return path, int(line)
        first_line = 2
    # The value whole, not inside a longer id (pw inside pw-pay).
    found = re.compile(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])").finditer
    key_line = None
    for number, text in enumerate(lines[1:], first_line):
        if text.strip() == "---":
            break
        if key_line is None:
            if text.startswith(f"{key}:"):
                key_line = number
                for _ in found(text, len(key) + 1):
                    if nth == 0:
                        return path, number
                    nth -= 1
        elif text[:1] not in (" ", "\t", "-"):  # the next key: the value was not in a block list
            break
        else:
            for _ in found(text):
                if nth == 0:
                    return path, number
                nth -= 1
    return path, key_line or int(line)


_WORD = re.compile(r"[\w.-]+")  # what where_in_front takes as whole: pw is not inside pw-pay


def where_each_in_front(source: str, key: str, values) -> list[tuple[str, int]]:
    """where_in_front of each of ``values`` (the first of its repeats), the file read once: looked up one
    by one, an article's 5,000 aliases or related ids took 17 s (each read and scanned the file)."""
    path, line = source.rsplit(":", 1)
    first: dict[str, int] | None = None
    if path.endswith(".md") and len(values) > 1:
        try:
            lines = _file_lines(Path(path).read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            return [(path, int(line))] * len(values)
        first = {}
        in_list = False
        for number, text in enumerate(lines[1:], 2):  # as where_in_front reads it
            if text.strip() == "---":
                break
            if not in_list:
                if text.startswith(f"{key}:"):
                    in_list = True
                    for word in _WORD.findall(text, len(key) + 1):
                        first.setdefault(word, number)
            elif text[:1] not in (" ", "\t", "-"):
                break
            else:
                for word in _WORD.findall(text):
                    first.setdefault(word, number)
    return [(path, first[v]) if first is not None and v in first and _WORD.fullmatch(v) else
            where_in_front(source, key, v) for v in values]


_T2S = opencc.OpenCC("t2s")


# What search does not read: punctuation and symbols (钱打错人了？ is 钱打错人了 to it). Spaces stay:
# iphone 6 and iphone6 are different words.
_UNREAD = re.compile(r"[^\w\s]+|_+")


def normalized(text: str) -> str:
    """A phrasing as search reads it (width, case, traditional → simplified, punctuation left out):
    two phrasings equal after this are one for search."""
    return " ".join(_UNREAD.sub(" ", normalize_text(text, _T2S)).split())


def normalized_many(texts: list[str]) -> list[str]:
    """``normalized`` of each text, NFKC per text and the rest in a few passes over them all (≈ 2×
    faster: a JSON Lines corpus of 100k entries has 400k phrasings). As in Analyzer.spelled_many, no
    step maps anything across a line break; a text holding one of its own is done alone."""
    alone = {i: normalized(t) for i, t in enumerate(texts) if "\n" in t}
    batch = [t for i, t in enumerate(texts) if i not in alone] if alone else texts
    joined = _T2S.convert(_INVISIBLE.sub("", _emoji_as_words("\n".join(_nfkc(t) for t in batch)))).lower()
    pieces = [" ".join(line.split()) for line in _UNREAD.sub(" ", joined).split("\n")] if batch else []
    if len(pieces) != len(batch):  # a step did map across a line break after all
        return [normalized(t) for t in texts]
    rest = iter(pieces)
    return [alone[i] if i in alone else next(rest) for i in range(len(texts))]


def _has_words(text: str) -> bool:
    """Whether ``text`` holds a letter, digit or ideograph: "？" alone asks nothing."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


# A value a message quotes: its start, escaped (a line break stays in the message's line), and of a list
# or a mapping its first items (an alias bomb's repr would take gigabytes).
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother = 2, 60, 60
_SHOWN.maxtuple = _SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxset = _SHOWN.maxfrozenset = 3


def _shown(value) -> str:
    """``value`` as a message quotes it: text in quotes, escaped and cut short; anything else as Python
    writes it, cut short."""
    return _excerpt(value, 60) if isinstance(value, str) else _SHOWN.repr(value)


def _excerpt(text: str, limit: int = 40) -> str:
    """``text`` quoted, cut to ``limit`` characters: a message quotes what it means, not a whole list."""
    return repr(text if len(text) <= limit else text[:limit].rstrip() + "…")


def _folded_items(display: str, front: str, first_line: int, meta: dict | list) -> list[Problem]:
    """A list item indented deeper than the list's first one continues the item above: YAML joins them
    into one text holding " - " (`- 钱转错了` then `    - 我刚把钱…`). One problem per joined item, with
    what to do: at the first item when all those below it are deeper (`- a` flush left above a list
    indented by two), else at the first line indented too deep. ``meta``: the front matter read, or a
    file's top-level list (popular.yml), whose items are those of the key ''."""
    lists: dict[str, list[tuple[int, int, str]]] = {}  # key → its items' (line, indent, text)
    key = "" if isinstance(meta, list) else None
    for offset, text in enumerate(_file_lines(front)):
        if (m := _KEY_LINE.match(text)) is not None:
            key = m.group(1)
            continue
        item = re.match(r"^(\s*)- (.*)$", text)
        if item is not None and key is not None:
            lists.setdefault(key, []).append((first_line + offset, len(item.group(1)), item.group(2).strip()))
    problems = []
    for key, items in lists.items():
        values = meta if key == "" else (meta.get(key) or ())
        if not isinstance(values, list):
            continue
        where = "the list" if key == "" else f"'{key}'"
        groups: list[list[tuple[int, int, str]]] = []  # a first line and the lines YAML joined to it
        for entry in items:
            if groups and entry[1] > items[0][1]:  # deeper than the list's items: a continuation
                groups[-1].append(entry)
            else:
                groups.append([entry])
        for group in groups:
            if len(group) == 1:
                continue
            (line, _, first), (below, _, second) = group[0], group[1]
            joined = next((x for x in values if isinstance(x, str) and x.startswith(first)
                           and f" - {second}" in x), None)
            if joined is None:  # not joined after all (a block scalar, a comment): YAML said otherwise
                continue
            if group is groups[0] and len(groups) == 1 and len(group) > 2:
                problems.append(Problem(display, line, f"the first item of {where} is indented differently from "
                                                       f"the {len(group) - 1} items below it, so YAML joins them all "
                                                       f"into one item ({_excerpt(joined)}): line up their '-'"))
            elif len(group) == 2:
                problems.append(Problem(display, below, f"this '- ' is indented deeper than the item above, so YAML "
                                                        f"joins both into one item of {where} ({_excerpt(joined)}): "
                                                        "put its '-' under the one above"))
            else:
                problems.append(Problem(display, below, f"this '- ' and the {len(group) - 2} below it (to line "
                                                        f"{group[-1][0]}) are indented deeper than the item above, so "
                                                        f"YAML joins them into one item of {where} ({_excerpt(joined)}): "
                                                        "put their '-' under the one above"))
    return problems


def _without_dashed_texts(meta: dict, front: str, first_line: int, display: str, problems: list[Problem]) -> dict:
    """``meta`` without the lists YAML read as one text because their first item has no space after its
    '-' (`  -转账多久到`: that line and every '- ' item below it joined into one phrasing, tag or id),
    each reported at that line."""
    dashed = [k for k in ("similar_questions", "tags", "related", "aliases")
              if isinstance(meta.get(k), str) and re.match(r"-[^\s-]", meta[k])]
    if not dashed:
        return meta
    lines = _file_lines(front)
    for key in dashed:
        at = next((i for i, t in enumerate(lines) if (m := _KEY_LINE.match(t)) and m.group(1) == key), 0)
        if not lines[at].split(":", 1)[-1].strip():  # the text starts on a line below the key's
            at = next((i for i in range(at + 1, len(lines)) if lines[i].strip()), at)
        written = lines[at].strip()
        if written.startswith(f"{key}:"):  # `tags: -a`
            written = written[len(key) + 1:].strip()
        problems.append(Problem(display, first_line + at, f"no space after '-': YAML reads '{key}' as one text "
                                                           f"({_excerpt(meta[key])}), not as a list; write "
                                                           f"'- {written[1:]}'"))
    return {k: v for k, v in meta.items() if k not in dashed}


def _phrasing_problems(display: str, article_id: str, question: str, similar: tuple[str, ...],
                       related: tuple[str, ...], front: str, first_line: int) -> list[Problem]:
    """One article's repeats (a similar question given twice or equal to the question, a related id
    given twice or its own) and similar questions without a word, each at its line."""
    source = f"{display}:{first_line}"
    problems = []

    composed: dict[str, list[int]] = {}  # key → its kept items' lines, composed at the first problem

    def at(key: str, values: tuple[str, ...], i: int, nth: int) -> tuple[str, int]:
        # Item i's own line, from the YAML composed once: looking each one up in the text made 100,000
        # repeated similar questions take hours.
        if key not in composed:
            composed[key] = _kept_item_lines(front, first_line, key)
        if len(composed[key]) == len(values):
            return display, composed[key][i]
        return where_in_front(source, key, values[i], nth, front=front, first_line=first_line)

    seen: dict[str, tuple[int, int] | None] = {normalized(question): None}  # → (index, nth), None: the question
    count: dict[str, int] = {}
    for i, s in enumerate(similar):
        nth = count[s] = count.get(s, -1) + 1
        key = normalized(s)
        if not _has_words(s):
            problems.append(Problem(*at("similar_questions", similar, i, nth), f"similar question {_shown(s)} has no words"))
        elif key in seen:  # lines looked up only then: most articles have no repeat
            first = ("the question" if seen[key] is None else
                     f"the one at line {at('similar_questions', similar, *seen[key])[1]}")
            problems.append(Problem(*at("similar_questions", similar, i, nth), f"similar question {_shown(s)} repeats "
                                    f"{first}: delete it (search reads them alike)"))
        else:
            seen[key] = (i, nth)
    listed: set[str] = set()
    for i, rid in enumerate(related):
        if rid == article_id:
            problems.append(Problem(*at("related", related, related.index(rid), 0),
                                    f"related id {_shown(rid)} is this article's own id: delete it"))
        elif rid in listed:
            problems.append(Problem(*at("related", related, i, 1), f"related id {_shown(rid)} is listed twice: delete one"))
        listed.add(rid)
    return problems


def _kept_item_lines(front: str, first_line: int, key: str) -> list[int]:
    """The lines of the items of list ``key`` that _as_str_list keeps (text, not blank), in order; []
    when it is no list or does not compose."""
    node = None
    try:
        node = yaml.compose(front, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        pass
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.SequenceNode):
            return [first_line + item.start_mark.line for item in v.value
                    if isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:str" and item.value.strip()]
    return []


def _key_lines(front: str, first_line: int) -> dict[str, int]:
    lines = {}
    for offset, text in enumerate(_file_lines(front)):
        m = _KEY_LINE.match(text)
        if m and m.group(1) not in lines:
            lines[m.group(1)] = first_line + offset
    return lines


def _unreadable(display: str, error: OSError) -> Problem:
    """A corpus file that cannot be read (a directory in its place, no permission), at line 1: a corpus
    problem like any other, listed with the rest in one run."""
    return Problem(display, 1, f"cannot read the file: {error.strerror or error}")


def parse_markdown_article(path: Path, display: str, problems: list[Problem],
                           warnings: list[Problem] | None = None, folder_category: str | None = "") -> Article | None:
    """Parse one article file; append its problems (and ``warnings``). None when nothing in it can be
    read; an article with problems is returned all the same, its unreadable fields empty (an id that
    cannot be read is ""), for the checks across articles to report its other problems in the same run.
    ``folder_category``: the category of an article that names none ("": its directory's name; None:
    none, the article must name one)."""
    try:
        raw = path.read_bytes()
    except OSError as e:  # a directory named *.md, a dangling link, no permission
        problems.append(_unreadable(display, e))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        problems.append(Problem(display, line, "file is not valid UTF-8: save it as UTF-8"))
        return None
    if not text.strip():
        problems.append(Problem(display, 1, "file is empty"))
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # Windows's and old Mac's line ends
    opening = _FRONT_MATTER_START.match(text)
    if opening is None:
        problems.append(Problem(display, 1, "missing YAML front matter (the file must start with '---')"))
        return None
    end = _FRONT_MATTER_END.search(text, opening.end())
    if end is None:
        # Where the answer starts, when a line there is no key: the closing '---' goes above it.
        rest = _file_lines(text[opening.end():])
        stray = next((i for i, t in enumerate(rest) if t[:1] not in ("", " ", "\t", "#", "-")
                      and not _ANY_KEY_LINE.match(t)), None)
        problems.append(Problem(display, 1, "front matter is not closed by a '---' line") if stray is None else
                        Problem(display, 2 + stray, "front matter is not closed by a '---' line: if the answer "
                                                    "starts here, add the closing '---' above it"))
        return None
    front = text[opening.end() : end.start()]
    body = text[end.end() :].strip("\n")
    closing_line = text[: end.start()].count("\n") + 1
    # A Chinese IME's full-width colon: YAML reads the line as text and stops at the next one.
    wide = _line_separators(display, front, 2) + [Problem(display, 2 + i, f"'{m.group(1)}' is followed by a full-width colon '：': type ':' and a space")
            for i, t in enumerate(_file_lines(front)) if (m := _WIDE_KEY_LINE.match(t))]
    if wide:
        problems.extend(wide)
        return None
    try:
        meta = _load_yaml(front)
    except yaml.YAMLError as e:
        problem = _yaml_problem(e, display, front, 2, "invalid YAML")
        mark = getattr(e, "problem_mark", None)
        stopped = 2 + mark.line if mark is not None else problem.line
        # A missing closing '---' with a '---' rule further down: the answer is read as YAML and the
        # error lands at some later line. Name the first line that is no key, where the answer starts.
        stray = next((2 + i for i, t in enumerate(_file_lines(front))
                      if t[:1] not in ("", " ", "\t", "#", "-") and not _ANY_KEY_LINE.match(t)), None)
        if stray is not None and stray <= stopped:
            glued = _NO_SPACE_KEY_LINE.match(_file_lines(front)[stray - 2])
            if glued and glued.group(1) in KNOWN_KEYS:
                key, value = glued.groups()
                problem = Problem(display, stray, f"no space after '{key}:': YAML reads '{key}:{value}' as text, "
                                                  f"not a key; write '{key}: {value}'")
            else:
                problem = Problem(display, stray, "not a 'key: value' line: if the answer starts here, add the "
                                                  "closing '---' above it")
        problems.append(problem)
        return None
    if not isinstance(meta, dict):
        problems.append(Problem(display, 2, "front matter must be a mapping of keys to values"))
        return None
    lines = _key_lines(front, 2)

    def where(key: str) -> tuple[str, int]:
        return display, lines.get(key, 1)

    for key in meta:
        if key not in KNOWN_KEYS:
            problems.append(Problem(*where(str(key)), f"unknown key {_shown(key)}{did_you_mean(str(key), KNOWN_KEYS)}"))
    article_id = meta.get("id")  # "" when unreadable: no id to check against the other articles'
    if article_id is None or not str(article_id).strip():
        problems.append(Problem(*where("id"), "missing 'id'"))
        article_id = ""
    elif not isinstance(article_id, str):  # `id: 010` is 8, `id: 1_000` is 1000
        problems.append(Problem(*where("id"), f"'id' is read as {_read_as(article_id)}, not as text: "
                                              "put it in quotes"))
        article_id = ""
    elif not _ID.match(article_id):
        problems.append(Problem(*where("id"), f"invalid id {_shown(article_id)} (letters, digits, '.', '_', '-')"))
        article_id = ""
    else:
        article_id = article_id.strip()
    question = meta.get("question")
    if question is not None and not isinstance(question, str):
        problems.append(Problem(*where("question"), f"'question' must be text, not {_shown(question)} (put it in quotes)"))
        question = ""
    elif not question or not question.strip():
        problems.append(Problem(*where("question"), "missing 'question'"))
        question = ""
    elif not _has_words(question):  # `question: "？"`: search refuses such a query, nobody could ask it
        problems.append(Problem(*where("question"), f"'question' has no words, only {_shown(question.strip())}"))
    if not body.strip():
        problems.append(Problem(display, closing_line, "missing answer (the body after the front matter is empty)"))
    elif warnings is not None:
        # The answer's first line: the '---' line and the blank lines after it are not the answer.
        rest = text[end.end():]
        first = closing_line + len(rest) - len(rest.lstrip("\n"))
        if len(body) > LONG_ANSWER:
            warnings.append(long_answer(display, first, body.strip()))
        warnings += [Problem(display, first + offset, message) for offset, message in unsupported(body)]
    meta = _without_dashed_texts(meta, front, 2, display, problems)
    # Composed again only for a bad item's line: parsing twice would slow a 100k-article load.
    lists = [meta.get(k) for k in ("similar_questions", "tags", "related", "aliases")]
    bad_item = any(isinstance(v, list) and not all(isinstance(x, str) for x in v) for v in lists)
    items = _list_item_lines(front, 2) if bad_item else {}
    similar = _as_str_list(meta.get("similar_questions"), "similar_questions", where("similar_questions"), problems,
                           items.get("similar_questions", []))
    tags = _as_str_list(meta.get("tags"), "tags", where("tags"), problems, items.get("tags", []))
    related = _as_str_list(meta.get("related"), "related", where("related"), problems, items.get("related", []))
    aliases = _as_str_list(meta.get("aliases"), "aliases", where("aliases"), problems, items.get("aliases", []))
    if any(not _ID.match(x) for x in aliases):  # composed only then, as for a bad item
        kept = None  # `aliases: x` (no list): the key's line
        if isinstance(meta["aliases"], list):  # the lines of the items _as_str_list kept (not the blank ones)
            lines_of = (items or _list_item_lines(front, 2)).get("aliases", [])
            kept = [n for n, v in zip(lines_of, meta["aliases"]) if isinstance(v, str) and v.strip()]
        _check_alias_form(aliases, where("aliases"), problems, kept)
    if any(" - " in x for x in (*similar, *tags, *related, *aliases)):
        problems += _folded_items(display, front, 2, meta)
    problems += _phrasing_problems(display, article_id, question, similar, related, front, 2)
    category = meta.get("category")
    if category is not None and not isinstance(category, str):
        problems.append(Problem(*where("category"), "'category' must be a string"))
        category = ""  # unreadable: not checked against categories.yml
    elif not (category or "").strip() and folder_category is None:
        # articles/x.md, articles/imported/x.md: no category's folder; its name is no category written.
        folder = f" ({path.parent.name}/ is not in categories.yml)" if path.parent.parent.name == "articles" else ""
        problems.append(Problem(*where("category") if "category" in lines else (display, lines.get("id", 1)),
                                f"no 'category': add 'category: <id>' or move the file into articles/<category>/{folder}"))
        category = ""
    else:
        category = ((category or "").strip() or folder_category or path.parent.name).strip()
    updated = _mtime(path) if meta.get("updated") is None else _as_timestamp(meta["updated"], where("updated"), problems)
    return Article(
        id=article_id,
        question=question.strip(),
        answer=body.strip(),
        similar_questions=similar,
        category=category,
        tags=tags,
        related=related,
        updated=updated or "",
        source=f"{display}:{lines.get('id', 1)}",
        aliases=tuple(dict.fromkeys(aliases)),
    )


def _load_popular(path: Path, problems: list[Problem]) -> tuple[str, ...]:
    """popular.yml: a YAML list of article ids, most asked first (ids are checked in _check_ids)."""
    try:
        text = path.read_text("utf-8")
        if separators := _line_separators(_display(path), text, 1):
            problems += separators
            return ()
        loaded = _load_yaml(text)
    except OSError as e:
        problems.append(_unreadable(_display(path), e))
        return ()
    except UnicodeDecodeError as e:
        problems.append(Problem(_display(path), 1, f"invalid popular file: {e}"))
        return ()
    except yaml.YAMLError as e:
        problems.append(_yaml_problem(e, _display(path), text, 1, "invalid popular file"))
        return ()
    if loaded is None:
        return ()
    if isinstance(loaded, str) and re.match(r"-[^\s-]", loaded):  # `-a` first: YAML reads no list, the lines as one text
        line, written = next((n, t.strip()) for n, t in enumerate(_file_lines(text), 1)
                             if t.strip() and not t.lstrip().startswith("#"))
        problems.append(Problem(_display(path), line, f"invalid popular file: no space after '-': YAML reads the list "
                                                      f"as one text ({_excerpt(loaded)}); write '- {written[1:]}'"))
        return ()
    if not isinstance(loaded, list):
        problems.append(Problem(_display(path), 1, "invalid popular file: expected a list of article ids, each on a "
                                                   "line of its own after '- '"))
        return ()
    if not all(isinstance(x, str) for x in loaded):  # each bad item at its line, as a list in an article's front matter
        lines = _item_lines(yaml.compose(text, Loader=_StrictLoader), 1)  # noqa: S506 - a SafeLoader subclass
        _as_str_list(loaded, "", (_display(path), 1), problems, lines, named="popular.yml")
        return ()
    return tuple(loaded)


# A host name as scope.yml's `sites` lists it: letters, digits and '-' in dot-separated labels, no scheme
# or path (help.yiqianbao.com), so that it links exactly that host and nothing that merely contains it.
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def _load_scope(path: Path, problems: list[Problem]) -> Scope:
    """scope.yml: a mapping with lists ``ours`` and ``others`` of product names, and ``sites``, our own
    host names."""
    display = _display(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        problems.append(_unreadable(display, e))
        return Scope()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # read with replacement characters, its names would match nothing
        problems.append(Problem(display, raw[: e.start].count(b"\n") + 1, "file is not valid UTF-8: save it as UTF-8"))
        return Scope()
    if separators := _line_separators(display, text, 1):
        problems += separators
        return Scope()
    try:
        loaded = _load_yaml(text)
    except yaml.YAMLError as e:
        problems.append(_yaml_problem(e, display, text, 1, "invalid scope file"))
        return Scope()
    if loaded is None:
        return Scope()

    def line_of(key: str) -> int:
        return _top_key_line(text, key)

    if not isinstance(loaded, dict):
        problems.append(Problem(display, 1, "invalid scope file: expected a mapping with 'ours' and 'others'"))
        return Scope()
    for key in loaded:
        if key not in ("ours", "others", "sites", "ask"):
            problems.append(Problem(display, line_of(str(key)),
                                    f"unknown key {_shown(key)} (expected 'ours', 'others', 'sites' and 'ask')"))
    items = _list_item_lines(text, 1)
    names = {k: _as_str_list(loaded.get(k), k, (display, line_of(k)), problems, items.get(k, []))
             for k in ("ours", "others", "sites")}
    ask = _scope_ask(loaded.get("ask"), text, display, line_of("ask"), problems)
    asked = [(name, line) for _whom, listed in ask for name, line in listed]
    for name in set(names["ours"]) & set(names["others"]):
        problems.append(Problem(display, line_of("others"), f"{_shown(name)} is both ours and another product's"))
    seen = set(names["others"])
    for name, line in asked:
        if name in names["ours"]:
            problems.append(Problem(display, line, f"{_shown(name)} is both ours and another's business"))
        elif name in seen:
            problems.append(Problem(display, line, f"{_shown(name)} is listed twice: keep it once, in 'others' or "
                                                   "under the one to ask"))
        seen.add(name)
    site_lines = _kept_item_lines(text, 1, "sites")
    for i, site in enumerate(names["sites"]):
        if not _HOST.match(site):
            line = site_lines[i] if i < len(site_lines) else line_of("sites")
            problems.append(Problem(display, line, f"site {_shown(site)} is not a host name: write it in lower case, "
                                                   "without https:// or a path (help.example.com)"))
    return Scope(names["ours"], names["others"], tuple(x for x in names["sites"] if _HOST.match(x)),
                 tuple((whom, tuple(name for name, _line in listed)) for whom, listed in ask))


def _scope_ask(value, text: str, display: str, line: int, problems: list[Problem]
               ) -> list[tuple[str, list[tuple[str, int]]]]:
    """scope.yml's ``ask``: a mapping of whom to ask (text) to a list of names; each name with its line."""
    if value is None:
        return []
    if not isinstance(value, dict):
        problems.append(Problem(display, line, "'ask' must map whom to ask to a list of names "
                                               "(发卡银行: [办信用卡, 信用卡年费])"))
        return []
    node = None
    try:
        node = yaml.compose(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        pass
    nodes = {}  # whom → (its line, its value's node)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "ask" and isinstance(v, yaml.MappingNode):
                nodes = {str(wk.value): (1 + wk.start_mark.line, wv) for wk, wv in v.value if isinstance(wk, yaml.ScalarNode)}
    ask = []
    for whom, listed in value.items():
        at, value_node = nodes.get(str(whom), (line, None))
        if not isinstance(whom, str) or not whom.strip():
            problems.append(Problem(display, at, f"whom to ask {_shown(whom)} must be text"))
            continue
        item_lines = _item_lines(value_node, 1)
        kept = _as_str_list(listed, whom, (display, at), problems, item_lines)
        if not kept:
            problems.append(Problem(display, at, f"{_shown(whom)} lists no names: list what to ask them about, "
                                                 "or delete the line"))
            continue
        lines = [item_lines[i] if i < len(item_lines) else at
                 for i, v in enumerate(listed if isinstance(listed, list) else [listed]) if isinstance(v, str) and v.strip()]
        ask.append((whom.strip(), list(zip(kept, lines + [at] * (len(kept) - len(lines))))))
    return ask


# Spellings of Markdown that are not read as articles: reported, so a file is never silently left out.
OTHER_MARKDOWN = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
# Files editors leave beside the ones being edited: Emacs's autosaves (#x.md#), backups (x.md~, .bak,
# .orig), vim's swap files; hidden files are skipped too (Emacs's lock .#x.md, vim's .x.md.swp).
EDITOR_SUFFIXES = (".swp", ".swo", ".swx", ".bak", ".orig", ".rej", ".tmp")


def article_files(root: Path, others: list[Path] | None = None, unreadable: list[OSError] | None = None
                  ) -> tuple[list[Path], list[Path]]:
    """(articles, misnamed) under a corpus directory's ``articles/``: the ``*.md`` files, sorted, and
    the article-looking files with another extension (``.MD``, ``.markdown``). Hidden files and
    directories, editor artefacts and README files are neither; ``others`` receives the other files
    (``x.txt``), sorted; ``unreadable`` the error of each directory that cannot be listed (its
    articles would otherwise be left out without a word)."""
    articles, misnamed = [], []
    for folder, dirs, names in os.walk(root / "articles", onerror=None if unreadable is None else unreadable.append):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in [*names, *(d for d in dirs if d.endswith(".md"))]:  # a directory *.md: reported as unreadable
            lower = name.lower()
            if (name.startswith((".", "#")) or name.endswith("~") or lower.endswith(EDITOR_SUFFIXES)
                    or lower.rsplit(".", 1)[0] == "readme"):
                continue
            if name.endswith(".md"):
                articles.append(Path(folder) / name)
            elif lower.endswith(OTHER_MARKDOWN):
                misnamed.append(Path(folder) / name)
            elif others is not None:
                others.append(Path(folder) / name)
    if others is not None:
        others.sort()
    return sorted(articles), sorted(misnamed)


# Past this many files under articles/ that are not read, one line counts the rest.
OTHERS_LISTED = 10


def _looks_like_text(path: Path) -> bool:
    """Whether a file's start is UTF-8 text without NUL: an article saved under another name may be;
    an array (.npy), an image or an archive is not, and renaming it would not make it one."""
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at 512 bytes is fine
    except UnicodeDecodeError:
        return False
    return b"\0" not in head


def _stem(path: Path) -> str:
    """The name without its last extension (notes for notes.txt): what the article file would be named."""
    return path.name[: path.name.rfind(".")] if "." in path.name else path.name


def _top_key_line(text: str, key: str) -> int:
    """The line of a top-level ``key:`` in a YAML file's text (1 when not found)."""
    return next((i for i, line in enumerate(_file_lines(text), 1) if line.startswith(f"{key}:")), 1)


def _categories(loaded: dict, text: str, display: str, problems: list[Problem]) -> dict[str, str]:
    """categories.yml's mapping, each id a directory name and each name text (`transfer:` alone would
    show users the name "None")."""
    categories = {}
    for key, name in loaded.items():
        line = _top_key_line(text, str(key))
        if not isinstance(key, str) or not _ID.match(key):
            problems.append(Problem(display, line, f"invalid category id {_shown(key)}: it names the directory "
                                                   "articles/<id>/ (letters, digits, '.', '_', '-')"))
        elif name is None or (isinstance(name, str) and not name.strip()):
            problems.append(Problem(display, line, f"category '{key}' has no name: write '{key}: <name shown to users>'"))
        elif not isinstance(name, str):
            problems.append(Problem(display, line, f"the name of category '{key}' is read as {_read_as(name)}, "
                                                   "not as text: put it in quotes"))
        # Reported once: its articles are not "in an unknown category" as well.
        categories[str(key)] = name.strip() if isinstance(name, str) and name.strip() else str(key)
    return categories


def _written_id(path: Path) -> str | None:
    """The id written in an article that has problems, as far as a glance can read it: its other
    problems are reported, the articles linking to it are not wrong."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return None
    m = re.search(r"^id:[ \t]*(['\"]?)([^'\"\n#]*?)['\"]?[ \t]*(#.*)?$", text.split("\n---", 1)[0], re.M)
    if m is None or not _ID.match(m.group(2)):
        return None
    # `id: 010` is the number 8 to YAML: no id is written, the file's name may be the one meant.
    return m.group(2) if m.group(1) or _reads_as_text(m.group(2)) else None


def _reads_as_text(value: str) -> bool:
    """Whether YAML reads an unquoted ``value`` as the text written (not 010 → 8, true, a date)."""
    try:
        return isinstance(_load_yaml(value), str)
    except yaml.YAMLError:
        return False


def _load_markdown(root: Path, problems: list[Problem], broken: list[tuple[str, str | None, str]],
                   warnings: list[Problem], unread: list[Path]) -> tuple[list[Article], dict[str, str], list[Path]]:
    """The articles (those with problems too: see parse_markdown_article), categories and files read
    of a corpus directory. ``broken`` receives, for each article with problems whose id cannot be
    read, (path, the id written in it or None, the file's stem); ``unread`` the files under articles/
    that are not read (a link to one of them is reported with its name)."""
    others: list[Path] = []
    unlisted: list[OSError] = []
    paths, misnamed = article_files(root, others, unlisted)
    for e in unlisted:
        problems.append(Problem(_display(Path(e.filename)), 0, f"cannot read the directory: {e.strerror}: make it "
                                "readable by the user running the build, or its articles are left out"))
    for path in misnamed:
        problems.append(Problem(_display(path), 1, f"not read: article files must end in .md (rename it to {_stem(path)}.md)"))
    for path in others[:OTHERS_LISTED]:  # notes.txt may be an article saved under the wrong name: said, not an error
        rename = f" (rename it to {_stem(path)}.md if it is one)" if _looks_like_text(path) else ""
        warnings.append(Problem(_display(path), 1, f"not read: articles are *.md files{rename}"))
    if len(others) > OTHERS_LISTED:  # a build's output (.npy) left under articles/: one line, not one each
        warnings.append(Problem(_display(root / "articles"), 0, f"{len(others) - OTHERS_LISTED} more files not "
                                                                f"read (not *.md), such as {_display(others[-1])}"))
    unread += misnamed + others
    if not paths:
        problems.append(Problem(_display(root / "articles"), 0, "no articles (*.md) found"))
    # categories.yml read first, its problems listed after the articles': an article naming no category
    # takes its folder's name only when that is a category's.
    categories: dict[str, str] = {}
    cat_file = root / "categories.yml"
    extra, cat_problems = [], []
    if _there(cat_file):
        extra.append(cat_file)
        try:
            text = cat_file.read_text("utf-8")
            cat_problems += _line_separators(_display(cat_file), text, 1)
            loaded = {} if cat_problems else _load_yaml(text) or {}
            if not isinstance(loaded, dict):
                raise ValueError("expected a mapping of category id to name")
            categories = _categories(loaded, text, _display(cat_file), cat_problems)
        except yaml.YAMLError as e:
            cat_problems.append(_yaml_problem(e, _display(cat_file), text, 1, "invalid categories file"))
        except (ValueError, UnicodeDecodeError) as e:
            cat_problems.append(Problem(_display(cat_file), 1, f"invalid categories file: {e}"))
        except OSError as e:  # its articles are still checked: their category against their folder's name
            cat_problems.append(_unreadable(_display(cat_file), e))
    articles_dir = root / "articles"
    articles, folders = [], {}
    for path in paths:
        n_before = len(problems)
        folder = path.parent
        default = folder.name if folder.parent == articles_dir and (not categories or folder.name in categories) else None
        article = parse_markdown_article(path, _display(path), problems, warnings, default)
        if article is not None:
            articles.append(article)
            folders[article.source] = path.parent
        if len(problems) > n_before and (article is None or not article.id):
            broken.append((_display(path), _written_id(path), path.stem))
    problems += cat_problems
    if cat_file.exists():
        for a in articles:
            if not a.category:  # not readable: reported as such
                continue
            folder = folders[a.source]
            if categories and a.category not in categories:
                close = difflib.get_close_matches(a.category, categories, n=1, cutoff=0.8)
                here = folder.name if folder.parent == articles_dir and folder.name in categories else None
                guess = ""
                if close:
                    guess = f": did you mean '{close[0]}'" + (", the folder the file is in?" if close[0] == here else "?")
                if here is not None and here not in close:
                    guess += f" (the file is in {here}/)" if close else f": the file is in {here}/"
                problems.append(Problem(*where_in_front(a.source, "category", a.category),
                                        f"unknown category {_shown(a.category)} (not in categories.yml){guess}"))
                continue
            # A file moved to another category's directory keeps its old category: the move would
            # change nothing. Only a directory named after a category says where the file belongs.
            if folder.parent == articles_dir and folder.name in categories and a.category != folder.name:
                problems.append(Problem(*where_in_front(a.source, "category", a.category),
                                        f"category {_shown(a.category)} but the file is in {folder.name}/: "
                                        f"set 'category: {folder.name}' or move the file to {a.category}/"))
    return articles, categories, paths + extra


def _load_jsonl(path: Path, problems: list[Problem], warnings: list[Problem]) -> list[Article]:
    display = _display(path)
    articles = []
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            if raw.strip():
                article = parse_jsonl_line(raw, display, lineno, problems)
                if article is not None:
                    articles.append(article)
                    warnings += answer_warnings(display, lineno, article.answer)
    return articles


def answer_warnings(display: str, line: int, answer: str) -> list[Problem]:
    """What a build says of a JSON Lines entry's answer: over-long, Markdown shown as typed."""
    warnings = [long_answer(display, line, answer)] if len(answer) > LONG_ANSWER else []
    return warnings + [Problem(display, line, f"the answer's line {offset + 1}: {message}")
                       for offset, message in unsupported(answer)]


class _NotJson(ValueError):
    pass


def _not_json(constant: str):
    """Python's json reads NaN and Infinity, which JSON has not: `"tags": [NaN]` would be the tag 'nan'."""
    raise _NotJson(f"{constant} is not JSON: write a number or a text in quotes")


def parse_jsonl_line(raw: bytes, display: str, lineno: int, problems: list[Problem]) -> Article | None:
    """One JSON Lines entry; appends its problems. None when it is no JSON object; an entry with
    problems otherwise, what could be read of it (an id that cannot be read is ""), so that the checks
    across entries (related ids, duplicate ids) still see it: one problem does not hide its others."""
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError:
        problems.append(Problem(display, lineno, "line is not valid UTF-8"))
        return None
    except json.JSONDecodeError as e:
        problems.append(Problem(display, lineno, f"invalid JSON: {e.msg}"))
        return None
    except ValueError as e:  # a number of 5,000 digits (Python's limit), NaN or Infinity
        problems.append(Problem(display, lineno, f"invalid JSON: {e}" if isinstance(e, _NotJson) else
                                                 "invalid JSON: a number over 4,300 digits long: write it as text, in quotes"))
        return None
    except RecursionError:  # `[[[[…` thousands deep: the decoder's recursion, not a decoding error
        problems.append(Problem(display, lineno, "invalid JSON: values nested too deeply: write text, or a "
                                                 "list of texts"))
        return None
    if not isinstance(obj, dict):
        problems.append(Problem(display, lineno, "each line must be a JSON object"))
        return None
    where = (display, lineno)
    article_id = obj.get("id")
    if article_id is None or not _ID.match(str(article_id)):
        problems.append(Problem(*where, f"missing or invalid 'id': {_shown(article_id)}"))
        article_id = ""
    question = obj.get("question") or ""
    answer = obj.get("answer") or ""
    if not isinstance(question, str) or not isinstance(answer, str):
        problems.append(Problem(*where, "'question' and 'answer' must be strings"))
        question, answer = "", ""
    similar = _as_str_list(obj.get("similar_questions"), "similar_questions", where, problems)
    tags = _as_str_list(obj.get("tags"), "tags", where, problems)
    related = _as_str_list(obj.get("related"), "related", where, problems)
    aliases = _as_str_list(obj.get("aliases"), "aliases", where, problems)
    _check_alias_form(aliases, where, problems)
    category = obj.get("category") or ""
    if not isinstance(category, str):
        problems.append(Problem(*where, "'category' must be a string"))
        category = ""
    updated = obj.get("updated")
    updated = "" if updated is None else _as_timestamp(updated, where, problems)
    if not question.strip() and not answer.strip() and not similar:
        problems.append(Problem(*where, "entry has no text: needs a question or an answer"))
    if not question.strip() and similar:
        question, similar = similar[0], similar[1:]
    return Article(
        id=str(article_id),
        question=question.strip(),
        answer=answer.strip(),
        similar_questions=similar,
        category=str(category).strip(),
        tags=tags,
        related=related,
        updated=updated or "",
        source=f"{display}:{lineno}",
        aliases=tuple(dict.fromkeys(aliases)),
    )


def _display(path: Path) -> str:
    # Not resolved: a symbolic link (a dangling one above all) is named by itself, not its target.
    absolute = Path(os.path.abspath(path))
    for base in (absolute, absolute.parent.resolve() / absolute.name):
        try:
            return str(base.relative_to(Path.cwd().resolve()))
        except ValueError:
            continue
    return str(path)


def check_aliases(claims: list[tuple[tuple[str, int], str, str]], ids: dict[str, str],
                  problems: list[Problem]) -> dict[str, str]:
    """Former ids across articles. ``claims``: (where the alias is written, its article's id, alias) in
    corpus order; ``ids``: each id → "path:line" of its article. An alias may be no article's id (its
    own included) and belong to one article only; returns former id → article id of the valid ones."""
    claimed: dict[str, tuple[str, str]] = {}  # former id → (article id, "path:line" of the alias)
    for where, article_id, alias in claims:
        if alias == article_id:
            problems.append(Problem(*where, f"alias {_shown(alias)} is this article's own id: list only its former ids"))
        elif alias in ids:
            problems.append(Problem(*where, f"alias {_shown(alias)} is the id of the article at {ids[alias]}: "
                                            "an id in use cannot lead to another article"))
        elif alias in claimed:
            other, at = claimed[alias]
            if other == article_id:  # a copy of the article (a duplicate id, reported as such)
                continue
            by = f"'{other}'" if other else "the article"  # one whose id cannot be read
            problems.append(Problem(*where, f"alias {_shown(alias)} is also claimed by {by} (at {at}): a former id "
                                            "leads to one article, keep it on the one it became"))
        else:
            claimed[alias] = (article_id, "%s:%d" % where)
    return {alias: article_id for alias, (article_id, _) in claimed.items()}


# What an unknown id with no likely meaning (no close id, no file that holds it) is told to do; the builder
# replaces it with what the published index knew of the id, when it knew it.
NO_SUCH_ID = " (no article has this id: "


def unknown_id(what: str, rid: str, aliases: dict[str, str]) -> str:
    """The message for an id no article has; for a former one, what it is called now."""
    if rid in aliases:
        return f"{what} '{rid}' is a former id of '{aliases[rid]}': write '{aliases[rid]}'"
    return f"unknown {what} {_shown(rid)}"


def no_such_id(instead: str) -> str:
    """The end of an unknown id's message when nothing hints at what was meant; ``instead``: the other
    way out ("delete this line")."""
    return f"{NO_SUCH_ID}write the one on the 'id:' line of the article meant, or {instead})"


def did_you_mean(typed: str, names, what: str = "") -> str:
    """" (did you mean 'x'?)" for the one of ``names`` closest to a misspelt ``typed``, else "";
    ``what``: said after the name (", the folder the file is in")."""
    close = difflib.get_close_matches(typed, names, n=1, cutoff=0.8)
    return f" (did you mean '{close[0]}'{what}?)" if close else ""


def did_you_mean_id(typed: str, ids, aliases: dict[str, str]) -> str:
    """did_you_mean over the ``ids`` and the former ids (``aliases``: former id → article id): a link
    misspelt from before a rename is as likely as one misspelt from after it; a former id is said with
    what it is called now."""
    if typed in aliases:  # said as a former id (unknown_id), no guess
        return ""
    aliases = {alias: i for alias, i in aliases.items() if i}  # not one of an article whose id cannot be read
    close = difflib.get_close_matches(typed, [*ids, *aliases], n=1, cutoff=0.8)
    if close and close[0] in aliases:
        return f" (did you mean '{close[0]}'? It is a former id of '{aliases[close[0]]}': write '{aliases[close[0]]}')"
    return f" (did you mean '{close[0]}'?)" if close else ""


def _question_key(text: str) -> str:
    """A question as an id written in its place is compared: without the spaces and the mark around it."""
    return text.strip().strip("？?").strip()


def _named_after(rid: str, stem: str) -> bool:
    """Whether an id is the file name's (``refund-arrival-time`` for ``refund/arrival-time.md``)."""
    return rid == stem or rid.endswith(f"-{stem}")


def _duplicate_ids(articles: list[Article], problems: list[Problem]) -> tuple[dict[str, str], set[int]]:
    """(each id → "path:line" of its article, the ``id()`` of the copies): an id in two articles is
    reported once per copy. The copy is the article whose file is not named after the id (a file
    copied and its id left as it was); when names do not tell, the later one."""
    first: dict[str, Article] = {}
    extra: list[Article] = []
    for a in articles:
        if a.id and first.setdefault(a.id, a) is not a:  # an id that cannot be read is reported as such
            extra.append(a)
    copies: set[int] = set()
    for rid in dict.fromkeys(a.id for a in extra):
        same = [first[rid], *(a for a in extra if a.id == rid)]
        original = next((a for a in same if _named_after(rid, Path(a.source.rsplit(":", 1)[0]).stem)), same[0])
        first[rid] = original
        for a in same:
            if a is not original:
                copies.add(id(a))
                path, line = a.source.rsplit(":", 1)
                problems.append(Problem(path, int(line), f"duplicate id '{rid}' (the id of {original.source}): "
                                                         "give this article an id of its own"))
    return {i: a.source for i, a in first.items()}, copies


def _check_ids(articles: list[Article], problems: list[Problem], first_seen: dict[str, str],
               popular: tuple[str, ...] = (), popular_file: Path | None = None,
               broken: list[tuple[str, str | None, str]] = (), not_read: list[Path] = ()) -> None:
    """Aliases, unknown related and popular ids. ``first_seen``: each id → "path:line" of its article
    (_duplicate_ids). ``broken``: the articles that have problems and no readable id, as _load_markdown
    gives them: an id one of them has, or plausibly had (an id ending in the file's name), is not
    unknown, only unreadable until that file is fixed. ``not_read``: the files under articles/ that
    are not read; an unknown id written in one, or named like it, says so."""
    written = {i for _, i, _ in broken if i}
    unread = [(display, stem) for display, i, stem in broken if not i]
    held: list[tuple[Path, str | None]] | None = None  # not_read with the id written in each, read when needed

    def unknown(rid: str) -> bool:
        return rid not in first_seen and rid not in written and not any(_named_after(rid, stem) for _, stem in unread)

    def why(rid: str, instead: str) -> str:
        """What the id probably is, or what to do with it (``instead``: the other way out than the right id)."""
        hint = hint_for(rid)
        if hint or rid in claimed:
            return hint
        if not _ID.match(rid):  # no id is spelt so: perhaps the question itself, copied
            nonlocal asked
            if asked is None:
                asked = {_question_key(q): a.id for a in reversed(articles) if a.id
                         for q in (a.question, *a.similar_questions)}
            if _question_key(rid) in asked:
                return f" (that is a question of '{asked[_question_key(rid)]}': write that id instead)"
        return no_such_id(instead)

    def hint_for(rid: str) -> str:
        nonlocal held
        if held is None:
            held = [(path, _written_id(path)) for path in not_read]
        path = next((p for p, i in held if i == rid or _named_after(rid, _stem(p))), None)
        if path is not None:  # articles/x/pay.markdown, articles/x/pay.txt: the article is there, unread
            return f" (in {_display(path)}? That file is not read: articles are *.md files, rename it to {_stem(path)}.md)"
        nonlocal guesses
        if not note and guesses > 0:  # a typo: each guess goes over every id, so a few at most
            guesses -= 1
            return did_you_mean_id(rid, first_seen, claimed)
        return note

    guesses = 20
    asked: dict[str, str] | None = None  # each question and similar question → its article's id, made when needed

    note = ""
    if unread:  # a link may name one of them all the same: say so rather than claim it is wrong
        note = f" (unless it is the id of {', '.join(d for d, _ in unread)}, which has problems: fix it first)"
    claims = [(where, a.id, alias) for a in articles if a.aliases
              for where, alias in zip(where_each_in_front(a.source, "aliases", a.aliases), a.aliases)]
    claimed = check_aliases(claims, first_seen, problems)
    for a in articles:
        lines = None  # of its related ids, read at the first unknown one
        for i, rid in enumerate(a.related):
            if unknown(rid):
                lines = lines or where_each_in_front(a.source, "related", a.related)
                problems.append(Problem(*lines[i], unknown_id("related id", rid, claimed)
                                        + why(rid, "delete it from related"), unknown=rid))
    if popular_file is not None:
        # The item's own line: a substring search sent 'a' to the line of 'abc'.
        try:
            text = popular_file.read_text("utf-8")
            lines = _item_lines(yaml.compose(text, Loader=_StrictLoader), 1)  # noqa: S506
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            text, lines = "", []
        # `  - b` below `- a`: YAML reads one id 'a - b', its line a's; the slip is b's line.
        folded = _folded_items(_display(popular_file), text, 1, list(popular)) if any(" - " in p for p in popular) else []
        problems += folded
        listed: dict[str, int] = {}
        for i, pid in enumerate(popular):
            line = lines[i] if i < len(lines) else 1
            if folded and " - " in pid:
                continue  # reported as joined, not as unknown
            if pid in listed:
                problems.append(Problem(_display(popular_file), line, f"{_shown(pid)} is listed twice (first at line "
                                                                      f"{listed[pid]}): delete one"))
            elif unknown(pid):
                problems.append(Problem(_display(popular_file), line, unknown_id("article id", pid, claimed)
                                        + why(pid, "delete this line"), unknown=pid))
            listed.setdefault(pid, line)


def _not_a_corpus(path: Path) -> Problem:
    """A directory without articles/ (articles/ itself, a category's folder): reading the ``*.md`` files
    in it would build without categories.yml, popular.yml, scope.yml or the dictionary, without a word."""
    message = ("not a corpus directory: a corpus holds articles/<category>/*.md, with categories.yml, "
               "popular.yml, scope.yml and dict/ beside articles/")
    resolved = path.resolve()
    inside = next((parent for parent in resolved.parents if (parent / "articles").is_dir()
                   and (resolved == parent / "articles" or (parent / "articles") in resolved.parents)), None)
    if inside is not None:
        message += f"; this is inside the corpus {_display(inside)}: give that"
    return Problem(_display(path), 0, message)


def _check_phrasings(articles: list[Article], problems: list[Problem], copies: set[int] = frozenset()) -> None:
    """A phrasing (question or similar question) in two articles: search finds both for it and
    ranks them by chance. Compared as search reads them (width, case, traditional). ``copies``
    (_duplicate_ids): read last, so a phrasing is said to be the original's; a copy's phrasings
    are not repeats of its original (its duplicate id says it all)."""
    owner: dict[str, tuple[Article, str]] = {}
    if copies:
        articles = [*(a for a in articles if id(a) not in copies), *(a for a in articles if id(a) in copies)]
    for a in articles:
        for q in dict.fromkeys(a.questions):
            key = normalized(q)
            if not key:
                continue  # a phrasing without a word is its own problem
            first = owner.setdefault(key, (a, q))
            if first[0] is not a and not (a.id and first[0].id == a.id):
                other, said = first
                key = "question" if q == a.question else "similar_questions"
                where = "%s:%d" % where_in_front(other.source, "question" if said == other.question else "similar_questions", said)
                of = f"'{other.id}'" if other.id else "the article"  # one whose id cannot be read
                problems.append(Problem(*where_in_front(a.source, key, q),
                                        f"{_shown(q)} is also a phrasing of {of} at {where}: search cannot tell "
                                        "the two apart; keep it in the article that answers it"))


# Past this many phrasings of JSON Lines entries repeated by later ones, one line gives the count of the
# rest: an export of thousands of entries may hold hundreds of repeats, each said at every build.
REPEATS_LISTED = 10


def phrasing_digests(articles: list[Article]) -> tuple[np.ndarray, np.ndarray]:
    """(digest, article) of each article's phrasings, in corpus order: each distinct phrasing as search
    reads it (normalized; one without a word left out) as a 64-bit digest, and the position of its
    article. What repeated_phrasings compares; kept in a full build's version for incremental ones."""
    texts = [q for a in articles for q in dict.fromkeys(a.questions)]
    owner = np.fromiter((n for n, a in enumerate(articles) for _ in dict.fromkeys(a.questions)), np.int32, len(texts))
    keys = normalized_many(texts)
    kept = np.fromiter(map(bool, keys), bool, len(keys))
    digests = b"".join(hashlib.blake2b(k.encode("utf-8"), digest_size=8).digest() for k in keys if k)
    return np.frombuffer(digests, "<u8"), owner[kept]


def distinct_phrasings(article: Article) -> list[str]:
    """The article's phrasings phrasing_digests has a digest of, in its order."""
    questions = list(dict.fromkeys(article.questions))
    return [q for q, key in zip(questions, normalized_many(questions)) if key]


def phrasing_at(articles, owner: np.ndarray, k: int) -> str:
    """The text of phrasing ``k`` of phrasing_digests(``articles``) (``owner`` its articles)."""
    first = int(np.searchsorted(owner, owner[k]))  # the article's first phrasing
    return distinct_phrasings(articles[int(owner[k])])[k - first]


def repeated_phrasings(digests: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of phrasings (phrasing_digests, articles in corpus order): the positions of those an earlier
    article already has, in order, and the position of that earlier one's."""
    _keys, first, inverse = np.unique(digests, return_index=True, return_inverse=True)
    first = first[inverse.ravel()]
    repeats = np.flatnonzero(owner[first] != owner)
    return repeats, first[repeats]


def repeat_warnings(display: str, count: int, listed: list[tuple[int, str, str, int, str]]) -> list[Problem]:
    """The warnings of ``count`` repeated phrasings of a JSON Lines corpus; ``listed``: (line, id,
    phrasing, line and id of the earlier entry) of the first REPEATS_LISTED of them. Warnings, not
    problems: exports (FAQ dumps) hold some, and the corpus is theirs to fix."""
    warnings = [Problem(display, line, f"{_shown(q)} of '{rid}' is also a phrasing of '{other}' at {display}:{at}: "
                                       "search cannot tell the two apart; keep it in the entry that answers it")
                for line, rid, q, at, other in listed]
    if count > len(listed):
        warnings.append(Problem(display, 0, f"{count:,} phrasings are also phrasings of an earlier entry: the "
                                            f"first {len(listed)} are named above, the other {count - len(listed):,} not"))
    return warnings


def _jsonl_repeats(display: str, articles: list[Article], digests: np.ndarray, owner: np.ndarray) -> list[Problem]:
    repeats, firsts = repeated_phrasings(digests, owner)
    listed = []
    for i, j in zip(repeats[:REPEATS_LISTED].tolist(), firsts[:REPEATS_LISTED].tolist()):
        a, other = articles[owner[i]], articles[owner[j]]
        listed.append((_line(a), a.id, phrasing_at(articles, owner, i), _line(other), other.id))
    return repeat_warnings(display, repeats.size, listed)


def _line(a: Article) -> int:
    return int(a.source.rsplit(":", 1)[1])


def corpus_warnings(path: str | Path) -> list[str]:
    """What a build should say about a corpus directory it builds all the same: without
    categories.yml, users see category ids (transfer) where names (转账) belong."""
    path = Path(path)
    if path.is_dir() and (path / "articles").is_dir() and not _there(path / "categories.yml"):
        return [f"no categories file {path / 'categories.yml'}: category names are their ids"]
    return []


def _there(path: Path) -> bool:
    """Whether a corpus file is there, a dangling link included (exists() follows it: no file)."""
    return path.exists() or path.is_symlink()


def load_corpus(path: str | Path) -> Corpus:
    """Load a corpus directory (``articles/**.md`` + ``categories.yml``) or a ``.jsonl`` file.

    Raises CorpusError listing every problem; FileNotFoundError when ``path`` is missing.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus not found: {path}")
    problems: list[Problem] = []
    categories: dict[str, str] = {}
    popular: tuple[str, ...] = ()
    scope = Scope()
    # There, even as a directory or a dangling link: it cannot be read, which is a problem, not a corpus
    # without the file.
    popular_file = path / "popular.yml" if path.is_dir() and _there(path / "popular.yml") else None
    scope_file = path / "scope.yml" if path.is_dir() and _there(path / "scope.yml") else None
    broken: list[tuple[str, str | None, str]] = []
    warnings: list[Problem] = []
    not_read: list[Path] = []
    phrasings = None
    if path.is_dir() and not (path / "articles").is_dir():
        raise CorpusError([_not_a_corpus(path)])
    if path.is_dir():
        articles, categories, files = _load_markdown(path, problems, broken, warnings, not_read)
        first_seen, copies = _duplicate_ids(articles, problems)
        _check_phrasings(articles, problems, copies)
        if popular_file is not None:
            popular = _load_popular(popular_file, problems)
            files.append(popular_file)
        if scope_file is not None:
            scope = _load_scope(scope_file, problems)
            files.append(scope_file)
        content_hash = _hash_files(files, path) if files and not problems else ""  # an unreadable file is a problem
    else:
        articles = _load_jsonl(path, problems, warnings)
        if not articles and not problems:
            problems.append(Problem(_display(path), 0, "no entries found"))
        content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        first_seen, _copies = _duplicate_ids(articles, problems)
        if not problems:  # a build that fails says no warnings
            phrasings = phrasing_digests(articles)
            warnings += _jsonl_repeats(_display(path), articles, *phrasings)
    _check_ids(articles, problems, first_seen, popular, popular_file, broken, not_read)
    if problems and path.is_dir() and (path / "dict").is_dir():
        # The build reads the dictionary after the articles: its problems too, or a second round finds them.
        try:
            load_dictionaries(path / "dict" / "user_words.txt", path / "dict" / "synonyms.txt")
        except DictionaryError as e:
            problems += e.problems
    if problems:
        raise CorpusError(problems, articles)
    if not categories:
        categories = {c: c for c in sorted({a.category for a in articles if a.category})}
    return Corpus(articles=articles, categories=categories, content_hash=content_hash, popular=popular, scope=scope,
                  warnings=tuple(warnings), phrasings=phrasings)
