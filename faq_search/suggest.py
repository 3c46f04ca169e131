"""Question completions for what has been typed so far: Chinese substrings and pinyin, full or initials.

``mima`` and ``mm`` find 密码 questions, ``tixian`` and ``tix`` find 提现, ``忘记mi`` finds 忘记密码. Pinyin
comes from pypinyin once, when a Suggester is built for an index version (≈ 0.2 s per 1,000 articles);
a request only scans precomputed strings. No Flask here.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .corpus import Article

__all__ = ["Suggester", "Suggestion"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ASCII_ALNUM = re.compile(r"^[a-z0-9]$")
_IGNORED = re.compile(r"[\s'’·]+")  # spaces and syllable separators people type (xi'an)

_PAIR_CHUNK = 1 << 20  # characters of a haystack turned into pair codes at a time

# Ranking: prefix before substring, the standard question before a similar one, then how it matched.
_TEXT, _PINYIN, _INITIALS = 0, 1, 2


@dataclass(frozen=True)
class Suggestion:
    id: str
    question: str  # the article's standard question: what to search for
    category: str
    matched: str  # the phrasing that matched (the question or one of its similar questions)
    span: tuple[int, int] | None  # matched characters of `matched`, for highlighting

    def to_dict(self) -> dict:
        return {"id": self.id, "question": self.question, "category": self.category,
                "matched": self.matched, "span": list(self.span) if self.span else None}


def _compact(original: str, normalize: Callable[[str], str]) -> tuple[str, list[int]]:
    """``original`` normalised without spaces, and each kept character's position in ``original``."""
    chars, orig = [], []
    for i, ch in enumerate(original):
        for c in normalize(ch) if not ch.isspace() else "":
            if not c.isspace():
                chars.append(c)
                orig.append(i)
    return "".join(chars), orig


class _Haystack:
    """Every phrase's form of one kind (text, pinyin or initials) in one string, "\n"-separated,
    so a query is found with C-speed ``str.find`` instead of a Python loop over phrases.

    Positions live in typed arrays, not lists of ints: at 100k articles (≈ 400k phrases, millions of
    characters) lists and sets of Python ints took ≈ 0.7 GiB, and every worker's garbage collector
    walked them."""

    def __init__(self):
        self.parts: list[str] = []
        self.starts: list[int] = []  # where each phrase begins in the big string (a list: bisect is faster on it)
        self.char = array("i")  # position in the big string → character of the phrase's compact text
        self.aligned: bytearray | None = None  # 1 at the positions a match may start at (None: anywhere)
        self._aligned_at: array | None = None
        self._offset = 0

    def add(self, form: str, chars: list[int], aligned: Iterable[int] | None = None) -> None:
        self.starts.append(self._offset)
        self.parts.append(form)
        self.char.extend(chars)
        self.char.append(-1)  # the separator
        if aligned is not None:
            if self._aligned_at is None:
                self._aligned_at = array("i")
            self._aligned_at.extend(self._offset + a for a in aligned)
        self._offset += len(form) + 1

    def freeze(self) -> None:
        self.text = "\n".join(self.parts) + "\n"
        del self.parts
        # Every pair of adjacent characters, as sorted codes: a query with a pair found nowhere
        # cannot match, and is answered without scanning (≈ 40k pairs at 100k articles).
        parts = []
        for i in range(0, len(self.text), _PAIR_CHUNK):  # chunks: a 100k haystack whole would take ≈ 200 MB here
            codes = np.frombuffer(self.text[i : i + _PAIR_CHUNK + 1].encode("utf-32-le"), np.uint32).astype(np.uint64)
            parts.append(np.unique((codes[:-1] << np.uint64(21)) | codes[1:]))
        self.pairs = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)
        if self._aligned_at is not None:
            self.aligned = bytearray(len(self.text))
            for pos in self._aligned_at:
                self.aligned[pos] = 1
        del self._aligned_at

    def may_contain(self, q: str) -> bool:
        """False when some pair of adjacent characters of q occurs nowhere in the haystack."""
        if len(q) < 2:
            return True
        if self.pairs.size == 0:
            return False
        wanted = np.fromiter(((ord(a) << 21) | ord(b) for a, b in zip(q, q[1:])), np.uint64, len(q) - 1)
        at = np.minimum(self.pairs.searchsorted(wanted), self.pairs.size - 1)
        return bool((self.pairs[at] == wanted).all())

    def matches(self, q: str, prefix_only: bool, first: int = 0):
        """(phrase number, first char, end char) of the first aligned match in each phrase.
        ``first``: where q first occurs (none before it)."""
        text, starts, aligned = self.text, self.starts, self.aligned
        if prefix_only:
            # Look for the separator before q: skips every occurrence inside a phrase at C speed.
            pos = 0 if text.startswith(q) else text.find("\n" + q, max(first - 1, 0)) + 1
            if pos == 0 and not text.startswith(q):
                return
            while True:
                yield bisect_right(starts, pos) - 1, self.char[pos], self.char[pos + len(q) - 1] + 1
                pos = text.find("\n" + q, pos)
                if pos < 0:
                    return
                pos += 1
        pos = text.find(q, first)
        while pos >= 0:
            n = bisect_right(starts, pos) - 1
            if (aligned is None or aligned[pos]) and (not prefix_only or pos == starts[n]):
                yield n, self.char[pos], self.char[pos + len(q) - 1] + 1
                nxt = starts[n + 1] if n + 1 < len(starts) else len(text)
                pos = text.find(q, nxt)
            else:
                pos = text.find(q, pos + 1)


def _syllables(text: str, memo: dict[str, list[str]] | None = None) -> list[str]:
    """One pinyin syllable per character of ``text`` (lowercase ASCII kept, other characters empty).

    pypinyin reads a text word by word (its own segmentation, so 银行 is yin hang); ``memo`` keeps
    each word's reading across calls: words repeat across phrasings far more than phrasings do."""
    from pypinyin import Style, lazy_pinyin  # imported here: ~0.3 s, needed only when building
    from pypinyin.seg.simpleseg import seg

    if memo is None:
        out = lazy_pinyin(text, style=Style.NORMAL, errors=lambda chunk: list(chunk))
    else:
        out = []
        for word in seg(text):
            reading = memo.get(word)
            if reading is None:
                reading = memo[word] = lazy_pinyin(word, style=Style.NORMAL, errors=lambda chunk: list(chunk))
            out.extend(reading)
    if len(out) != len(text):  # never seen; keep the phrase findable by its text alone
        return [""] * len(text)
    return [syl if _CJK.match(ch) else (ch if _ASCII_ALNUM.match(ch) else "") for ch, syl in zip(text, out)]


class Suggester:
    """Completions over every phrasing of every article. Immutable once built; thread-safe."""

    def __init__(self, articles: Iterable[Article], normalize: Callable[[str], str] = str.lower):
        self.normalize = normalize
        # Only what a suggestion shows, not the articles: at 100k articles, holding them (answers
        # included) cost ≈ 200 MiB in every worker.
        self._ids, self._questions, self._categories = [], [], []
        phrases = []
        for art, a in enumerate(articles):
            self._ids.append(a.id)
            self._questions.append(a.question)
            self._categories.append(a.category)
            phrases.extend((art, j == 0, q) for j, q in enumerate(a.questions))
        # Build-time memos: phrasings repeat and characters repeat far more (a 100k corpus has
        # ≈ 400k phrasings but a few thousand distinct characters); the outputs are the same.
        char_forms: dict[str, str] = {}

        def normalize_char(ch: str) -> str:
            form = char_forms.get(ch)
            if form is None:
                form = char_forms[ch] = normalize(ch)
            return form

        readings: dict[str, list[str]] = {}
        # Phrase n: its article, whether it is the standard question, its original text and, from
        # _orig[_orig_start[n]], each compact character's position in the original (for highlighting).
        self._article, self._standard, self._original = array("i"), bytearray(), []
        self._orig, self._orig_start = array("i"), array("i")
        self.char_pinyin: dict[str, str] = {}  # reading of each corpus character, for mixed input like 忘记mi
        self._text, self._full, self._initials = _Haystack(), _Haystack(), _Haystack()
        # Phrases in ranking order (standard questions first, then shorter first): a scan of a
        # haystack meets matches best first and can stop after ``k`` articles.
        phrases.sort(key=lambda p: (not p[1], len(p[2])))
        for art, standard, q in phrases:
            text, orig = _compact(q, normalize_char)
            self._article.append(art)
            self._standard.append(standard)
            self._original.append(q)
            self._orig_start.append(len(self._orig))
            self._orig.extend(orig)
            self._text.add(text, range(len(text)))
            full, full_char, syllable_starts, initials, initial_char = [], [], [], [], []
            for i, (ch, syl) in enumerate(zip(text, _syllables(text, readings))):
                if not syl:
                    continue
                if _CJK.match(ch):
                    self.char_pinyin.setdefault(ch, syl)
                syllable_starts.append(len(full_char))
                full.append(syl)
                full_char.extend([i] * len(syl))
                initials.append(syl[0])
                initial_char.append(i)
            self._full.add("".join(full), full_char, syllable_starts)
            self._initials.add("".join(initials), initial_char)
        for h in (self._text, self._full, self._initials):
            h.freeze()

    def _best_matches(self, kind: int, query: str, haystack: _Haystack, k: int, category: str | None,
                      prefix_only: bool) -> list[tuple]:
        """(key, phrase, start, end) of the ``k`` best-ranked articles matching in ``haystack``.

        Phrases are stored in ranking order, so prefix matches (found first, at C speed) come out
        best first, and so do the other matches after them: each pass stops at ``k`` articles
        instead of walking every match of a common prefix (密码 at 100k articles: ≈ 10⁵)."""
        # One scan finds where the query first occurs, if anywhere: a string found nowhere costs one
        # pass over the haystack instead of two, and both passes skip what comes before it.
        first = haystack.text.find(query) if haystack.may_contain(query) else -1
        if first < 0:
            return []
        out, seen = [], set()
        passes = ((True, k),) if prefix_only else ((True, k), (False, k))
        for prefix, wanted in passes:
            found = 0
            for n, start, end in haystack.matches(query, prefix, first):
                art = self._article[n]
                # A phrase's first character decides (a phrase may begin with punctuation that has
                # no pinyin); the second pass skips the first pass's matches.
                if (start == 0) != prefix or (category and self._categories[art] != category):
                    continue
                out.append((((0 if self._standard[n] else 1) + (0 if start == 0 else 2), kind, len(self._original[n]), n),
                            n, start, end))
                if art not in seen:
                    seen.add(art)
                    found += 1
                    if len(seen) >= wanted:
                        return out
        return out

    def suggest(self, typed: str, k: int = 8, category: str | None = None) -> list[Suggestion]:
        """Up to ``k`` articles whose question or a similar question contains ``typed`` (as text,
        as pinyin from a syllable start, or as syllable initials), best first."""
        q = _IGNORED.sub("", self.normalize(typed)).replace("\n", "")
        if not q or k <= 0:
            return []
        searches = [(_TEXT, q, self._text)]
        if re.search(r"[a-z]", q):
            # Letters: pinyin being typed. Chinese characters before them are read as pinyin too.
            pinyin_q = "".join(self.char_pinyin.get(c, "\0") if _CJK.match(c) else c for c in q)
            searches.append((_PINYIN, pinyin_q, self._full))
            if q.isascii() and q.isalnum():
                searches.append((_INITIALS, q, self._initials))
        # One letter could be anything: only phrases that start with it.
        prefix_only = len(q) == 1 and q.isascii()
        best: dict[int, tuple] = {}
        for kind, query, haystack in searches:
            for key, n, start, end in self._best_matches(kind, query, haystack, k, category, prefix_only):
                art = self._article[n]
                if art not in best or key < best[art][0]:
                    best[art] = (key, n, start, end)
        ranked = sorted(best.values(), key=lambda item: item[0])[:k]
        out = []
        for _key, n, start, end in ranked:
            art, o = self._article[n], self._orig_start[n]
            span = (self._orig[o + start], self._orig[o + end - 1] + 1)
            out.append(Suggestion(self._ids[art], self._questions[art], self._categories[art], self._original[n], span))
        return out
