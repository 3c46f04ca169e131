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

_RUN = re.compile(r"[a-z]+(?: [a-z]+)*")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_ANY_LETTER = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
# A homophone typo spans a word of 2–4 characters; readings tried per window (heteronyms multiply).
_TYPO_WINDOWS = (4, 3, 2)
_MAX_READINGS = 16


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
        return _RUN.sub(lambda m: self._read_run(m.group(0), known), text)

    def _read_run(self, run: str, known: Callable[[str], bool]) -> str:
        tokens = run.split(" ")
        out: list[str] = []
        group: list[str] = []
        for token in tokens + [""]:
            if token and not known(token) and self._cuts(token) is not None:
                group.append(token)
                continue
            if group:
                out.append(self._read_group(group))
                group = []
            if token:
                out.append(token)
        return _join(out)

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

    def _read_group(self, tokens: list[str]) -> str:
        """The words that cover the most letters of consecutive pinyin tokens (fewest words
        among equals); uncovered syllables stay as typed."""
        text = "".join(tokens)
        cuts: set[int] = set()
        token_of: dict[int, int] = {}
        start = 0
        for t, token in enumerate(tokens):
            cuts.update(start + c for c in self._cuts(token))
            for i in range(start, start + len(token)):
                token_of[i] = t
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
            return " ".join(tokens)
        pieces: list[str] = []
        i = 0
        while i < n:
            j, word = step[i]
            if word is not None:
                pieces.append(word)
            elif pieces and pieces[-1].isascii() and token_of[i] == token_of[i - 1]:
                pieces[-1] += text[i:j]  # leftover syllables of one token stay one token
            else:
                pieces.append(text[i:j])
            i = j
        return _join(pieces)


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
