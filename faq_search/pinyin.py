"""Typed pinyin read as the knowledge base's own words: ``sao ma fu kuan`` → 扫码付款.

A visitor without a Chinese input method types pinyin, spaced or not (``yu e bu zu``,
``wangle denglu mima``). Analysis alone leaves such tokens as unknown Latin words. This reads
them as the index's words with that reading, before the query is analysed:

* only tokens the analyzer does not already know (``mima``, ``app`` are synonyms or terms) and
  that split wholly into syllables of characters the index holds are read, so English (hello,
  I love you) stays as typed;
* a word must span two syllables or more and be a word of the index; where several share a
  reading, the most frequent wins (支付 over 知府), so a lone syllable never becomes a guess;
* syllables no word covers are left as typed (``jiao shui fei`` → ``jiao水费``).

Pinyin readings come from pypinyin, once per index version (≈ 20 ms per 1,000 words).

The same table repairs homophone typos typed with an input method (密马忘了, 充直失败, 客福电话):
``respell_homophones`` replaces a few characters that spell no word with the index word of the
same reading. Search uses it only as a second chance, for a query it cannot otherwise answer.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

_RUN = re.compile(r"[a-z]+(?: [a-z]+)*")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_ANY_LETTER = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
# A homophone typo spans a word of 2–4 characters; readings tried per window (heteronyms multiply).
_TYPO_WINDOWS = (4, 3, 2)
_MAX_READINGS = 16


class Reading(NamedTuple):
    """A text with its typed pinyin read (``PinyinReader.read_traced``): ``text`` as given (normalised),
    ``read`` as read, and for each character of ``read`` (start, end, read from pinyin) in ``text``."""
    text: str
    read: str
    spans: list[tuple[int, int, bool]]

    def typed(self, start: int, end: int) -> str | None:
        """What ``read[start:end]`` was typed as (daozhang, dao zhang for 到账; zhang户 for 账户 of
        daozhang户); None when none of it was read from pinyin."""
        spans = self.spans[start:end]
        if not any(was_read for _a, _b, was_read in spans):
            return None
        return self.text[spans[0][0] : spans[-1][1]]


def may_hold_pinyin(text: str) -> bool:
    """Cheap test on raw text (half- or full-width letters) before normalising it."""
    return _ANY_LETTER.search(text) is not None


class PinyinReader:
    """Reading → word table of an index's vocabulary."""

    def __init__(self, words: Iterable[tuple[str, float]], chars: Iterable[str]):
        """``words``: (word, cost) pairs, lower cost preferred among homophones (idf);
        ``chars``: the characters whose syllables a typed token may be made of."""
        # Imported here (≈ 0.16 s, its dictionary): builds, rebuilds and CLI commands that never read
        # pinyin do not pay it; a server builds the reader before forking (Searcher.warm).
        from pypinyin import Style, lazy_pinyin
        from pypinyin.contrib.tone_convert import to_normal
        from pypinyin.pinyin_dict import pinyin_dict

        self._pinyin_dict, self._to_normal = pinyin_dict, to_normal
        self._lazy_pinyin, self._style = lazy_pinyin, Style.NORMAL
        self._char_readings: dict[str, tuple[str, ...]] = {}
        self._every_char_reading: dict[str, tuple[str, ...]] = {}
        self.syllables: set[str] = set()
        for ch in chars:
            if len(ch) == 1 and _HAN.fullmatch(ch) and ord(ch) in pinyin_dict:
                self.syllables.update(to_normal(r) for r in pinyin_dict[ord(ch)].split(","))
        best: dict[str, tuple[float, str]] = {}
        # Every word of a reading, commonest first: a typo picks the one closest to what was typed.
        self.homophones: dict[str, list[tuple[float, str]]] = {}
        for word, cost in words:
            if len(word) < 2 or not _HAN.fullmatch(word):
                continue
            reading = "".join(lazy_pinyin(word, style=Style.NORMAL))
            if reading not in best or cost < best[reading][0]:
                best[reading] = (cost, word)
            self.homophones.setdefault(reading, []).append((cost, word))
        self.words = {reading: word for reading, (_cost, word) in best.items()}
        for same in self.homophones.values():
            same.sort()
        self._longest_syllable = max(map(len, self.syllables), default=0)
        self._longest_word = max(map(len, self.words), default=0)

    def read(self, text: str, known: Callable[[str], bool]) -> str:
        """Normalised ``text`` with each run of unknown pinyin tokens replaced by the words it
        spells; ``known(token)`` says which Latin tokens analysis already understands."""
        if not self.words:
            return text
        return _RUN.sub(lambda m: _join([piece for piece, _start, _end in self._read_run(m.group(0), known)]), text)

    def read_traced(self, text: str, known: Callable[[str], bool]) -> Reading:
        """``read``, with where each character of its text came from: for telling what a word of the
        query was typed as (daozhang for 到账). Slower than ``read`` (pypinyin per word read)."""
        out: list[str] = []
        spans: list[tuple[int, int, bool]] = []
        at = 0
        for m in _RUN.finditer(text) if self.words else ():
            out.append(text[at:m.start()])
            spans += [(i, i + 1, False) for i in range(at, m.start())]
            run, joined = m.group(0), ""
            for piece, start, end in self._read_run(run, known):
                if joined and joined[-1].isascii() and piece[0].isascii():  # as _join does
                    joined += " "
                    spans.append((m.start() + start, m.start() + start, False))
                joined += piece
                if piece.isascii():
                    spans += [(m.start() + start + i, m.start() + start + i + 1, False) for i in range(len(piece))]
                else:
                    spans += [(m.start() + a, m.start() + b, True) for a, b in self._syllable_spans(piece, run, start, end)]
            out.append(joined)
            at = m.end()
        out.append(text[at:])
        spans += [(i, i + 1, False) for i in range(at, len(text))]
        return Reading(text, "".join(out), spans)

    def _syllable_spans(self, word: str, run: str, start: int, end: int) -> list[tuple[int, int]]:
        """The span of ``run`` each character of ``word`` (read from ``run[start:end]``) was read from."""
        letters = [i for i in range(start, end) if run[i] != " "]
        lengths = [len(s) for s in self._lazy_pinyin(word, style=self._style)]
        if len(lengths) != len(word) or sum(lengths) != len(letters):
            return [(start, end)] * len(word)  # not the reading it was read by: the whole word's span
        bounds = list(itertools.accumulate(lengths, initial=0))
        return [(letters[a], letters[b - 1] + 1) for a, b in zip(bounds, bounds[1:])]

    def _read_run(self, run: str, known: Callable[[str], bool]) -> list[tuple[str, int, int]]:
        """The pieces ``run`` reads as (words, and Latin tokens kept as typed), each with its span in ``run``."""
        out: list[tuple[str, int, int]] = []
        group: list[tuple[str, int]] = []
        at = 0
        for token in run.split(" ") + [""]:
            if token and not known(token) and self._cuts(token) is not None:
                group.append((token, at))
            else:
                if group:
                    out += self._read_group(group)
                    group = []
                if token:
                    out.append((token, at, at + len(token)))
            at += len(token) + 1
        return out

    def _cuts(self, token: str) -> set[int] | None:
        """Positions inside ``token`` where some split of it into syllables has a boundary;
        None when it does not split into syllables at all."""
        n = len(token)
        reach_from_start = [False] * (n + 1)
        reach_from_start[0] = True
        for i in range(n):
            if reach_from_start[i]:
                for j in range(i + 1, min(n, i + self._longest_syllable) + 1):
                    if token[i:j] in self.syllables:
                        reach_from_start[j] = True
        if not reach_from_start[n]:
            return None
        reach_end = [False] * (n + 1)
        reach_end[n] = True
        for i in range(n - 1, -1, -1):
            reach_end[i] = any(reach_end[j] and token[i:j] in self.syllables
                               for j in range(i + 1, min(n, i + self._longest_syllable) + 1))
        return {i for i in range(n + 1) if reach_from_start[i] and reach_end[i]}

    def _read_group(self, group: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
        """The words that cover the most letters of consecutive pinyin tokens (each with where it
        starts in its run; fewest words among equals), each with its span in the run; uncovered
        syllables stay as typed."""
        tokens = [token for token, _at in group]
        text = "".join(tokens)
        cuts: set[int] = set()
        token_of: dict[int, int] = {}
        in_run: list[int] = []  # where each letter of text is in the run
        start = 0
        for t, (token, at) in enumerate(group):
            cuts.update(start + c for c in self._cuts(token))
            for i in range(start, start + len(token)):
                token_of[i] = t
            in_run += range(at, at + len(token))
            start += len(token)
        n = len(text)
        # best[i]: (letters covered, −words) of text[i:], with the step taken from i.
        best: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        step: list[tuple[int, str | None]] = [(n, None)] * (n + 1)
        for i in sorted(cuts - {n}, reverse=True):
            choice, how = (-1, 0), (n, None)
            for j in range(i + 1, min(n, i + max(self._longest_word, self._longest_syllable)) + 1):
                if j not in cuts:
                    continue
                piece = text[i:j]
                word = self.words.get(piece)
                if word is not None:
                    score = (best[j][0] + len(piece), best[j][1] - 1)
                    if score > choice:
                        choice, how = score, (j, word)
                if piece in self.syllables and best[j] > choice:
                    choice, how = best[j], (j, None)
            best[i], step[i] = choice, how
        if best[0][0] == 0:
            return [(token, at, at + len(token)) for token, at in group]
        pieces: list[tuple[str, int, int]] = []
        i = 0
        while i < n:
            j, word = step[i]
            if word is not None:
                pieces.append((word, i, j))
            elif pieces and pieces[-1][0].isascii() and token_of[i] == token_of[i - 1]:
                pieces[-1] = (pieces[-1][0] + text[i:j], pieces[-1][1], j)  # leftover syllables of one token stay one token
            else:
                pieces.append((text[i:j], i, j))
            i = j
        return [(piece, in_run[i], in_run[j - 1] + 1) for piece, i, j in pieces]


    def respell_homophones(self, text: str, fixed: Sequence[bool], is_word: Callable[[str], bool],
                           stopwords: frozenset[str]) -> str:
        """``text`` (normalised) with homophone typos replaced by index words: 密马忘了 → 密码忘了.

        A window of 2–4 Chinese characters is a typo when some of its characters are not ``fixed``
        (part of a word analysis recognised: the typo broke its word apart, or cut a longer word
        short, 银行咔 → 银行 + 咔), it is no word itself (``is_word``), and its characters' readings
        spell an index word of its length that keeps every fixed character, differs only where no
        stop word stands (的 → 地 is grammar, not a typo) and keeps at least one of its characters in
        place. Of several such words, the one keeping most characters wins (易前宝 →
        易钱宝, not 易钱包), then the commonest. Longest windows first."""
        out = list(text)
        fixed = list(fixed)
        for size in _TYPO_WINDOWS:
            for start in range(len(out) - size + 1):
                window = "".join(out[start:start + size])
                if not _may_be_typo(window, fixed[start:start + size], is_word, stopwords):
                    continue
                word = self._homophone(window, fixed[start:start + size], stopwords)
                if word is not None:
                    out[start:start + size] = word
                    fixed[start:start + size] = [True] * size
        return "".join(out)

    def _homophone(self, window: str, fixed: Sequence[bool], stopwords: frozenset[str]) -> str | None:
        # A character typed right (fixed) is kept, read in whichever way its word reads it (行 of 银行 is
        # hang, not its first reading xing); one that may be the typo is read as an input method offers it.
        readings = [self._every_reading(ch) if f else self._readings(ch) for ch, f in zip(window, fixed)]
        if not all(readings):
            return None
        best: tuple[int, float, str] | None = None
        for spelling in itertools.islice(itertools.product(*readings), _MAX_READINGS):
            for cost, word in self.homophones.get("".join(spelling), ()):
                if len(word) != len(window) or word in stopwords:
                    continue
                kept = sum(a == b for a, b in zip(word, window))
                if not 0 < kept < len(window) or any(a != b and (a in stopwords or f)
                                                     for a, b, f in zip(window, word, fixed)):
                    continue
                if best is None or (-kept, cost) < (-best[0], best[1]):
                    best = (kept, cost, word)
        return None if best is None else best[2]

    def _every_reading(self, ch: str) -> tuple[str, ...]:
        """Every tone-free reading of one character (heteronyms: 行 xing, hang); () for one pypinyin lacks."""
        found = self._every_char_reading.get(ch)
        if found is None:
            raw = self._pinyin_dict.get(ord(ch))
            found = tuple(dict.fromkeys(self._to_normal(r) for r in raw.split(","))) if raw else ()
            if len(self._every_char_reading) < 65_536:  # bounded, as _readings
                self._every_char_reading[ch] = found
        return found

    def _readings(self, ch: str) -> tuple[str, ...]:
        """Tone-free reading of one character; () for one pypinyin lacks."""
        found = self._char_readings.get(ch)
        if found is None:
            raw = self._pinyin_dict.get(ord(ch))
            # The first reading only: an input method offers a character for its common reading
            # (支 for zhi, never for qi).
            found = (self._to_normal(raw.split(",")[0]),) if raw else ()
            if len(self._char_readings) < 65_536:  # bounded: queries bring arbitrary characters
                self._char_readings[ch] = found
        return found


def may_hold_typo(text: str, fixed: Sequence[bool], is_word: Callable[[str], bool], stopwords: frozenset[str]) -> bool:
    """Whether ``respell_homophones`` would look any window of ``text`` up: when none, the reader
    (pypinyin's import and the index's readings, ≈ 0.9 s the first time) need not be built at all."""
    return any(_may_be_typo(text[start:start + size], fixed[start:start + size], is_word, stopwords)
               for size in _TYPO_WINDOWS for start in range(len(text) - size + 1))


def _may_be_typo(window: str, fixed: Sequence[bool], is_word: Callable[[str], bool], stopwords: frozenset[str]
                 ) -> bool:
    """A window of Chinese characters that is no word, with a character that may be the typo: in no word
    analysis recognised, and no stop word (neither is ever replaced: 今天的 cannot be respelled)."""
    return (any(not f and ch not in stopwords for ch, f in zip(window, fixed))
            and _HAN.fullmatch(window) is not None and not is_word(window))


def _join(pieces: list[str]) -> str:
    """Latin pieces stay space-separated; Chinese ones join their neighbours."""
    text = ""
    for piece in pieces:
        if text and text[-1].isascii() and piece[0].isascii():
            text += " "
        text += piece
    return text
