"""Text analysis: one pipeline for index build and query time.

normalise (NFKC → traditional-to-simplified → lowercase) → jieba (private
tokenizer + user words) → synonyms mapped to one form → two feature streams:

* ``words``: jieba words plus the dictionary sub-words search mode would add
  (二维码 also yields 二维), stop words dropped unless that empties the text;
* ``chars``: character unigrams and bigrams of each CJK run (so 密码 still
  matches 登录密码) and Latin/digit runs whole (pin, 2fa, 5g).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import os
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import opencc

__all__ = ["Analyzer", "Analysis", "Token", "TOPIC_FREE_WORDS", "normalize_text", "load_user_words", "load_synonyms",
           "load_dictionaries"]



def _jieba():
    """jieba, imported when a tokenizer is first needed (≈0.1 s: a build segmenting nothing skips it)."""
    if "jieba" not in sys.modules and "pkg_resources" not in sys.modules:
        # jieba imports pkg_resources (≈ 0.1 s, and deprecated) only to open its own data files, and
        # opens them by path when the import fails: make it fail, for jieba's import alone.
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
        try:
            import jieba
        finally:
            del sys.modules["pkg_resources"]
    import jieba

    # jieba logs its dictionary loading at DEBUG on stderr; keep build/serve output clean.
    jieba.setLogLevel(logging.WARNING)
    return jieba

ANALYZER_VERSION = 5  # 2: runs of letters kept whole; 3: a Latin synonym typed in halves joined (top up);
# 4: English function words are stop words, emoji that stand for words read as them; 5: synonyms that are
# prefixes of jieba's words (几个钟, 记不起, 登入) are words too

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
# The same ranges as code points, for the batch form of the character grams.
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_LATIN_RUN = re.compile(r"[a-z0-9]+(?:[.+#][a-z0-9]+)*")
_IS_CJK = re.compile(f"^[{_CJK}]+$")
_HAS_WORD_CHAR = re.compile(f"[{_CJK}a-z0-9]")
_HAS_LATIN = re.compile("[a-z]")
_LATIN_WORD = re.compile("[a-z]+")
# Zero-width and other format characters that users paste in by accident.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
# Full-width ASCII forms and the ideographic space: NFKC maps each to one ASCII character.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


def _half_width(m: re.Match) -> str:
    return " " if m[0] == "\u3000" else chr(ord(m[0]) - 0xFEE0)


# Whitespace runs that stop at a line break (for many texts joined by line breaks at once).
_SPACES_IN_LINE = re.compile(r"[^\S\n]+")


def _nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), 3–4× faster on Chinese prose: its full-width
    punctuation (，？！) sends every character through NFKC's slow path, so those are mapped
    first, which gives the same result (each decomposes to one ASCII character of combining
    class 0), and NFKC runs only on what is still not normalised."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = _FULL_WIDTH.sub(_half_width, text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)

# Function words that carry no intent. Question words (怎么, 多久, 为什么) are
# kept on purpose: they separate "how do I withdraw" from "how long does it take".
DEFAULT_STOPWORDS = frozenset(
    """的 了 吗 呢 啊 吧 呀 哦 嘛 么 哈 嗯 哎 诶 喔 呗 啦 咯 之 得 地 着
    请问 请 一下 我 我们 你 你们 您 他 她 它 是 在 就 都 也 和 与 及 还 又 这 那 这个 那个 个
    把 给 让 帮 帮忙 麻烦 谢谢 感谢 您好 你好 在吗 有没有 是不是
    a an the to of for in on at by with from and or i me my you your is are am was be do does did it its
    this that please""".split()
)
# Emoji that stand for a word of ours (📱被偷了); other emoji, feelings mostly, stay out of the words.
_EMOJI_WORDS = {
    "📱": "手机", "📲": "手机", "💳": "银行卡", "💰": "钱", "💵": "钱", "💴": "钱", "💸": "钱", "🏦": "银行",
    "📞": "电话", "☎": "电话", "📧": "邮箱", "✉": "邮箱", "🧧": "红包", "🔒": "锁", "🔐": "锁",
}
_EMOJI = re.compile("[" + "".join(_EMOJI_WORDS) + "]")


# The blocks the table's emoji are in: a range test costs 0.6 µs on a query, the table's own 1.5–4 µs.
_EMOJI_BLOCKS = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")


def _emoji_as_words(text: str) -> str:
    if not _EMOJI_BLOCKS.search(text):
        return text
    return _EMOJI.sub(lambda m: _EMOJI_WORDS[m[0]], text)


# Question and function words that ask something but name no topic (after synonyms: 咋/如何 → 怎么,
# 啥 → 什么, 几天 → 多久). A query of nothing else (怎么, 可以吗, 为什么) cannot have "the" answer.
TOPIC_FREE_WORDS = frozenset(
    """怎么 为什么 什么 多久 多少 几 哪 哪里 哪儿 哪个 可以 能 能不能 可不可以 会 会不会 要 需要 是否
    不 没 没有 有 行 行不行 好 用 办 弄 搞 到底 已经 还是 现在 一直""".split()
)


def normalize_text(text: str, converter: opencc.OpenCC) -> str:
    """NFKC (full-width → half-width), emoji that stand for words read as them, traditional →
    simplified, lowercase, invisible characters removed and whitespace collapsed."""
    text = _emoji_as_words(_nfkc(text))
    text = _INVISIBLE.sub("", text)
    text = converter.convert(text)
    return _SPACES.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class Token:
    """A canonical word with its span in the *normalised* text (for highlighting)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Analysis:
    words: list[str]
    chars: list[str]


def _dictionary_text(path: Path) -> str:
    """A dictionary file's text; DictionaryError (``path:line: …``, as for an article) when it is not UTF-8."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        from .corpus import DictionaryError, Problem, _display

        line = raw[: e.start].count(b"\n") + 1
        hint = "" if _published_copy(path) else ": save it as UTF-8"  # a version's copy is damaged, not mis-saved
        raise DictionaryError([Problem(_display(Path(path)), line, f"file is not valid UTF-8{hint}")]) from None


def _published_copy(path: Path) -> bool:
    """Whether ``path`` is in a published version's dictionary copy (versions/<v>/dict/)."""
    return Path(path).parent.parent.parent.name == "versions"


def _raise_problems(path: Path, problems: list[tuple[int, str]]) -> None:
    """DictionaryError (``path:line: …``) for the problems of a dictionary being built from. A published
    version's copy (versions/<v>/dict/) is read as it is: it may predate these checks, and refusing it
    would take a serving index down for a problem its build did not report."""
    if not problems or _published_copy(path):
        return
    from .corpus import DictionaryError, Problem, _display

    raise DictionaryError([Problem(_display(Path(path)), line, message) for line, message in problems])


_POS_TAG = re.compile(r"[a-z]+")  # jieba's part-of-speech tags: n, nz, v, eng…


def load_user_words(path: Path | None) -> list[tuple[str, int | None]]:
    """Read a jieba user dictionary: ``word [freq] [tag]`` per line, ``#`` comments."""
    if path is None or not Path(path).exists():
        return []
    from .corpus import _file_lines  # as editors number lines (U+2028 ends none)

    entries, problems = [], []
    for number, line in enumerate(_file_lines(_dictionary_text(path)), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        # ASCII digits: '²' and '٣' are digits to str.isdigit, and no number to int().
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isascii() and parts[1].isdigit() else None
        # jieba's format: a frequency (digits), then a part-of-speech tag (a-z); anything else would be dropped.
        if len(parts) > 1 and freq is None and (len(parts) >= 3 or not _POS_TAG.fullmatch(parts[1])):
            problems.append((number, f"'{line}': expected 'word frequency' with a whole number (such as "
                                     f"'{parts[0]} 60'); the frequency would be ignored"))
        elif len(parts) == 3 and not _POS_TAG.fullmatch(parts[2]):
            problems.append((number, f"'{line}': '{parts[2]}' is not a part-of-speech tag (such as 'n'): "
                                     "the format is 'word frequency [tag]'"))
        elif len(parts) > 3:
            problems.append((number, f"'{line}': '{' '.join(parts[3:])}' is one field too many: the format is "
                                     "'word frequency [tag]'; delete it"))
        entries.append((parts[0], freq))
    _raise_problems(path, problems)
    return entries


def load_synonyms(path: Path | None) -> list[list[str]]:
    """Read synonym groups: one group per line, canonical form first,
    separated by spaces or ``/``; ``#`` comments."""
    if path is None or not Path(path).exists():
        return []
    from .corpus import _file_lines  # as editors number lines (U+2028 ends none)

    groups, problems = [], []
    # Normalised word → (line of its group, the word as written): a word in two groups is mapped by one
    # only, and queries are normalised first (LOGIN is login, 帳戶 is 帐户).
    group_of: dict[str, tuple[int, str]] = {}
    converter = opencc.OpenCC("t2s")
    for number, line in enumerate(_file_lines(_dictionary_text(path)), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            group = [w for w in re.split(r"[\s/,，]+", line) if w]
            if len(group) == 1:
                problems.append((number, f"'{group[0]}' alone is no group: add the words it stands for "
                                         "(canonical form first) or delete the line"))
                continue
            groups.append(group)
            for word in dict.fromkeys(group):
                key = normalize_text(word, converter)
                at, written = group_of.get(key, (number, word))
                if at != number:
                    same = "" if written == word else f" (as '{written}': search reads both alike)"
                    problems.append((number, f"'{word}' is already in the group at line {at}{same}: "
                                             f"keep each word in one group (merge the two)"))
                else:
                    group_of.setdefault(key, (number, word))
    _raise_problems(path, problems)
    return groups


def load_dictionaries(user_dict: Path | None, synonyms: Path | None) -> tuple[list, list[list[str]]]:
    """(user words, synonym groups); one DictionaryError naming the problems of both files, so that an
    editor fixes them in one round rather than hearing of the second file's after fixing the first's."""
    from .corpus import DictionaryError

    loaded, problems = [], []
    for load, path in ((load_user_words, user_dict), (load_synonyms, synonyms)):
        try:
            loaded.append(load(path))
        except DictionaryError as e:
            loaded.append([])
            problems += e.problems
    if problems:
        raise DictionaryError(problems)
    return loaded[0], loaded[1]


class Analyzer:
    """Owns a private jieba tokenizer, the user words, synonyms and stop words.

    Thread-safe for analysis after construction. Construction initialises
    jieba (≈0.5 s from its cache), so build one per process and share it.
    """

    def __init__(
        self,
        user_words: Sequence[tuple[str, int | None]] = (),
        synonyms: Sequence[Sequence[str]] = (),
        stopwords: Iterable[str] = DEFAULT_STOPWORDS,
        lazy: bool = False,
        dictionary_cache: Path | None = None,
    ):
        self._converter = opencc.OpenCC("t2s")
        # Where a dictionary table of this analyzer may be (an index's cache/): read instead of
        # jieba's own cache when present.
        self.dictionary_cache = Path(dictionary_cache) if dictionary_cache is not None else None
        self._jieba = None
        self._jieba_lock = threading.Lock()
        # Set on an analyzer made by ``restricted``: the only texts it can segment.
        self._only: frozenset[str] | None = None
        self.user_words = [(self.normalize(w), f) for w, f in user_words]
        self.synonym_groups = [[self.normalize(w) for w in g] for g in synonyms]
        self.stopwords = frozenset(self.normalize(w) for w in stopwords)
        self.synonyms: dict[str, str] = {}
        # Same-length variants are spellings (登陆/登录, 帐户/账户): rewrite them in the
        # text before cutting, so they also change inside compounds like 登陆密码.
        self._respell: dict[str, str] = {}
        for group in self.synonym_groups:
            for word in group[1:]:
                if word != group[0]:
                    self.synonyms[word] = group[0]
                    if len(word) == len(group[0]) > 1:
                        self._respell[word] = group[0]
        # Latin synonyms users also type in halves: top up / top-up for topup, e-mail, log in.
        self._joinable = frozenset(w for g in self.synonym_groups for w in g if w.isascii() and w.isalpha())
        alternatives = "|".join(map(re.escape, sorted(self._respell, key=len, reverse=True)))
        self._respell_re = re.compile(alternatives) if alternatives else None
        # The words respelling writes: a spelled text holding none of them was not respelled (unspelled).
        written = "|".join(map(re.escape, sorted(set(self._respell.values()), key=len, reverse=True)))
        self._respelled_re = re.compile(written) if written else None
        self.fingerprint = self._fingerprint()
        if not lazy:
            self._tokenizer  # noqa: B018 - load jieba's dictionary now, not at the first text

    @classmethod
    def from_files(cls, user_dict: Path | None, synonyms: Path | None, lazy: bool = False,
                   dictionary_cache: Path | None = None) -> "Analyzer":
        words, groups = load_dictionaries(user_dict, synonyms)
        return cls(words, groups, lazy=lazy, dictionary_cache=dictionary_cache)

    @property
    def _tokenizer(self):
        """jieba with the user words, initialised on first use when built ``lazy`` (≈0.6 s: an
        incremental build that segments nothing never pays it), from a dictionary table when
        ``dictionary_cache`` holds one."""
        tok = self._jieba
        if tok is None:
            with self._jieba_lock:
                tok = self._jieba
                if tok is None:
                    tok = self._tokenizer_from_table() if self.dictionary_cache is not None else None
                    if tok is None:
                        tok = _jieba().Tokenizer()
                        tok.initialize()
                        # Dictionary words go through the same respelling as text, so they still match.
                        for word, freq in self.user_words:
                            self._add_word(tok, self._respelled(word), freq)
                        for group in self.synonym_groups:
                            for word in group:
                                # Multi-character synonyms must be cut whole to be mapped at all. jieba
                                # lists every prefix of its words at count 0 (几个钟 of 几个钟头): those
                                # are not words to it either.
                                if len(word) > 1 and not tok.FREQ.get(word):
                                    self._add_word(tok, word, None)
                    self._jieba = tok
        return tok

    def _tokenizer_from_table(self):
        """jieba with this analyzer's whole dictionary, user words and synonyms included, from a
        dictionary table in ``dictionary_cache`` (≈ 0.3 s against ≈ 0.7 s for jieba's own cache
        and the user words); None when there is no usable one."""
        table = read_dictionary_table(self.dictionary_cache / dictionary_table_name(self.fingerprint))
        if table is None:
            return None
        tok = _jieba().Tokenizer()
        tok.FREQ, tok.total, tok.initialized = table.as_dict(), table.total, True
        return tok

    @staticmethod
    def _add_word(tok, word: str, freq: int | None) -> None:
        if freq is None:
            # The smallest frequency that keeps the word whole in jieba's DAG.
            freq = tok.suggest_freq(word, tune=False)
        tok.add_word(word, freq)

    def _fingerprint(self) -> str:
        h = hashlib.sha256(f"analyzer-v{ANALYZER_VERSION}".encode())
        for word, freq in self.user_words:
            h.update(f"u{word}\t{freq}\n".encode())
        for group in self.synonym_groups:
            h.update(("s" + " ".join(group) + "\n").encode())
        h.update(("x" + " ".join(sorted(self.stopwords))).encode())
        return h.hexdigest()[:16]

    def normalize(self, text: str) -> str:
        return normalize_text(text, self._converter)

    def _respelled(self, norm: str) -> str:
        if self._joinable and _HAS_LATIN.search(norm):
            norm = self._joined_halves(norm)
        if self._respell_re is None:
            return norm
        return self._respell_re.sub(lambda m: self._respell[m.group(0)], norm)

    @property
    def dictionary_loaded(self) -> bool:
        """Whether jieba's whole dictionary is loaded (not lazily pending, nor a restricted one)."""
        return self._jieba is not None and self._only is None

    def dictionary_table(self) -> DictionaryTable:
        """This analyzer's jieba dictionary, user words and synonyms included: what ``restricted``
        looks texts up in."""
        tok = self._tokenizer
        return DictionaryTable.of(tok.FREQ, tok.total)

    def restricted(self, texts: Iterable[str], table: DictionaryTable) -> "Analyzer":
        """This analyzer for ``texts`` only, segmenting them as it would, from a ``dictionary_table``
        instead of jieba's whole dictionary (≈ 0.6 s to load): jieba only ever looks up substrings of
        the text it cuts, and the analysis sub-strings of its words, so the table's entries for those
        substrings (and for the user words' and synonyms', which canonical words come from) are all
        it reads. Any other text raises ValueError."""
        width = table.longest  # in bytes: at least as many characters
        only = frozenset(self._respelled(self.normalize(t)) for t in texts)
        wanted: set[str] = set()
        for s in [*only, *(self._respelled(w) for w, _f in self.user_words), *(w for g in self.synonym_groups for w in g)]:
            for i in range(len(s)):
                wanted.update(s[i:j] for j in range(i + 1, min(len(s), i + width) + 1))
        tok = _jieba().Tokenizer()
        tok.FREQ, tok.total, tok.initialized = table.lookup(wanted), table.total, True
        other = copy.copy(self)
        other._jieba, other._jieba_lock, other._only = tok, threading.Lock(), only
        return other

    def _segmentable(self, text: str) -> str:
        norm = self._respelled(self.normalize(text))
        if self._only is not None and norm not in self._only:
            raise ValueError(f"a restricted analyzer cannot segment {text!r}")
        return norm

    def _joined_halves(self, norm: str) -> str:
        """Two Latin words, apart by a space or hyphen, written as one when together they are a
        synonym and neither half is one: top up → topup (充值), e-mail → email; log in → login."""
        words = list(_LATIN_WORD.finditer(norm))
        out: list[str] = []
        last = i = 0
        while i < len(words) - 1:
            first, second = words[i], words[i + 1]
            joined = first.group() + second.group()
            if (norm[first.end():second.start()] in (" ", "-") and joined in self._joinable
                    and first.group() not in self._joinable and second.group() not in self._joinable):
                out += (norm[last:first.start()], joined)
                last, i = second.end(), i + 2
            else:
                i += 1
        return "".join(out) + norm[last:] if out else norm

    def tokens(self, text: str) -> list[Token]:
        """Canonical words (synonyms mapped) with spans in the normalised text."""
        norm = self._segmentable(text)
        pieces = list(self._tokenizer.tokenize(norm, HMM=True))
        if _HAS_LATIN.search(norm):
            pieces = [(w, start, start + len(w)) for w, start in self._whole_latin_runs([(w, s) for w, s, _e in pieces])]
        return [Token(self.synonyms.get(word, word), start, end) for word, start, end in pieces if _HAS_WORD_CHAR.search(word)]

    def words(self, text: str) -> list[str]:
        """The words of ``tokens`` without their spans: jieba's cut instead of tokenize, and no Token
        objects (≈ 7 % of a build's analysis, which segments every phrasing)."""
        synonym = self.synonyms.get
        norm = self._segmentable(text)
        pieces = self._tokenizer.cut(norm, HMM=True)
        if _HAS_LATIN.search(norm):
            pieces = (w for w, _start in self._whole_latin_runs([(w, 0) for w in pieces]))
        return [synonym(w, w) for w in pieces if _HAS_WORD_CHAR.search(w)]

    def frequency(self, word: str) -> int:
        """jieba's count of ``word`` in its dictionary (0 for a word it does not know)."""
        return self._tokenizer.FREQ.get(word) or 0

    def _whole_latin_runs(self, pieces: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """jieba cuts a run of letters at any dictionary word inside it: iphone → i + phone (a synonym of
        电话), apple → app + le. A run stays whole unless every piece of it is a dictionary word (kefu +
        dianhua, two synonyms); a whole run of pinyin is read at query time (pinyin.py)."""
        freq = self._tokenizer.FREQ
        out: list[tuple[str, int]] = []
        run: list[tuple[str, int]] = []
        for piece in [*pieces, ("", 0)]:
            if piece[0] and piece[0].isascii() and piece[0].isalnum():
                run.append(piece)
                continue
            if len(run) > 1 and not all(freq.get(w, 0) > 0 for w, _start in run):
                out.append(("".join(w for w, _start in run), run[0][1]))
            else:
                out.extend(run)
            run = []
            if piece[0]:
                out.append(piece)
        return out

    def analyze(self, text: str) -> Analysis:
        """Features of one text; the same call serves documents and queries."""
        canonical = self.words(text)
        kept = [w for w in canonical if w not in self.stopwords] or canonical
        freq = self._tokenizer.FREQ
        words: list[str] = []
        for w in kept:
            # Search-mode sub-words, as jieba's cut_for_search does, in one pass.
            if len(w) > 2 and _IS_CJK.match(w):
                words.extend(w[i : i + 2] for i in range(len(w) - 1) if freq.get(w[i : i + 2]))
                if len(w) > 3:
                    words.extend(w[i : i + 3] for i in range(len(w) - 2) if freq.get(w[i : i + 3]))
            words.append(w)
        return Analysis(words=words, chars=self._char_features(canonical))

    def spelled(self, text: str) -> str:
        """Normalised text with same-length spelling variants corrected (帐户 → 账户)."""
        return self._respelled(self.normalize(text))

    def unspelled(self, spelled: str) -> str | None:
        """The normalised text ``spelled`` (a ``spelled`` of this analyzer) was made from, when respelling
        cannot have changed it: it holds no word a respelling writes (账户, 登录), nor a Latin letter
        where halves may have been joined. None when it may have: normalise the text itself then.
        Stored spelled texts thus spare an explanation OpenCC on most phrasings (≈ 6 µs each)."""
        if self._joinable and _HAS_LATIN.search(spelled):
            return None
        if self._respelled_re is not None and self._respelled_re.search(spelled):
            return None
        return spelled

    def spelled_many(self, texts: Sequence[str]) -> list[str]:
        """``spelled`` of each text, NFKC per text (its slow path only where needed) and the rest in a
        few passes over them all (≈ 2× faster for phrasings: a build spells every one). No step maps
        anything across a line break — OpenCC's phrases, case, the spelling variants — so texts joined
        by one come out as they would one by one. A text holding a line break of its own is done alone."""
        alone = {i: self.spelled(t) for i, t in enumerate(texts) if "\n" in t}
        batch = [t for i, t in enumerate(texts) if i not in alone] if alone else list(texts)
        if not batch:
            return [alone[i] for i in range(len(texts))]
        joined = _emoji_as_words("\n".join(_nfkc(t) for t in batch))
        joined = self._converter.convert(_INVISIBLE.sub("", joined)).lower()
        pieces = [s.strip() for s in self._respelled(_SPACES_IN_LINE.sub(" ", joined)).split("\n")]
        if len(pieces) != len(batch):  # a step did map across a line break after all
            return [self.spelled(t) for t in texts]
        if not alone:
            return pieces
        rest = iter(pieces)
        return [alone[i] if i in alone else next(rest) for i in range(len(texts))]

    def text_chars(self, text: str) -> list[str]:
        """Character features of a long text without segmenting it (answers):
        jieba costs ~1 ms per answer, this ~0.05 ms; spelling variants are still fixed."""
        return self._grams(self.spelled(text))

    def texts_chars(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """text_chars of many long texts at once, encoded: (feature table, offsets, feature ids),
        text i's features being ids[offsets[i]:offsets[i + 1]]. The grams are found with NumPy
        over code points (≈ 8× faster on answers); a text's features are those of text_chars, in
        another order (unigrams, bigrams, Latin runs), which is all a count matrix reads."""
        return _grams_encoded(self.spelled_many(texts))

    @staticmethod
    def _grams(text: str) -> list[str]:
        feats: list[str] = []
        for run in _CJK_RUN.findall(text):
            feats.extend(run)
            feats.extend(run[i : i + 2] for i in range(len(run) - 1))
        feats.extend(_LATIN_RUN.findall(text))
        return feats

    def _char_features(self, canonical: list[str]) -> list[str]:
        # Rebuild text from canonical words so synonyms reach character features
        # too; "|" keeps grams from spanning a stop word that was dropped.
        pieces = [w if w not in self.stopwords else "|" for w in canonical]
        if all(p == "|" for p in pieces):
            pieces = canonical
        # Joined without spaces so CJK runs span word boundaries (录密 in 登录密码);
        # a space only keeps two Latin/digit words apart.
        out, prev = [], ""
        for piece in pieces:
            if prev[-1:].isascii() and prev[-1:].isalnum() and piece[:1].isascii() and piece[:1].isalnum():
                out.append(" ")
            out.append(piece)
            prev = piece
        return self._grams("".join(out))

    def settings(self) -> dict:
        """What the index manifest records about this analyzer."""
        return {
            "version": ANALYZER_VERSION,
            "fingerprint": self.fingerprint,
            "user_words": len(self.user_words),
            "synonym_groups": len(self.synonym_groups),
            "stopwords": len(self.stopwords),
            "converter": "opencc t2s",
        }


def dictionary_table_name(fingerprint: str) -> str:
    """File name of the dictionary table of an analyzer (by its fingerprint) and this jieba."""
    return f"dictionary-{fingerprint}-{jieba_dictionary_stamp()}.npz"


# Bumped when the table's file changes: it is part of every table's name (jieba_dictionary_stamp).
# 2: the keys as one UTF-8 text, a line each: a file of 8.4 MiB against 34 MiB of fixed-width strings,
# made and written in half the time (it is written by every full build).
TABLE_FORMAT = 2


@dataclass(frozen=True, eq=False)
class DictionaryTable:
    """An analyzer's jieba dictionary: its keys, sorted, as one UTF-8 text of a line each, their
    frequencies in that order, and jieba's total. Loaded whole as a dict (``as_dict``) or, for a few
    texts, only the keys they need (``lookup``)."""

    text: bytes
    freqs: np.ndarray
    total: int

    @classmethod
    def of(cls, freq: dict[str, int], total: int) -> "DictionaryTable":
        keys = sorted(freq)
        if any("\n" in k for k in keys):
            raise ValueError("a dictionary key holds a line break")  # jieba's files are line-based: never
        return cls("\n".join(keys).encode("utf-8"), np.fromiter((freq[k] for k in keys), np.int64, len(keys)), int(total))

    def __len__(self) -> int:
        return self.text.count(b"\n") + 1 if self.text else 0

    @functools.cached_property
    def _bounds(self) -> tuple[list[int], list[int]]:
        breaks = np.flatnonzero(np.frombuffer(self.text, np.uint8) == ord("\n"))
        return [0, *(breaks + 1).tolist()], [*breaks.tolist(), len(self.text)]

    @property
    def longest(self) -> int:
        """Bytes of the longest key: no key has more characters."""
        starts, ends = self._bounds
        return int((np.array(ends) - np.array(starts)).max()) if self.text else 0

    def as_dict(self) -> dict[str, int]:
        keys = self.text.decode("utf-8").split("\n") if self.text else []
        return dict(zip(keys, self.freqs.tolist()))

    def lookup(self, words: Iterable[str]) -> dict[str, int]:
        """The frequencies of those of ``words`` the table holds: a binary search each in the UTF-8
        text, whose byte order is the keys' order, without decoding all of it (≈ 0.05 s)."""
        starts, ends = self._bounds
        text, n = self.text, len(starts) if self.text else 0
        out = {}
        for word in words:
            key = word.encode("utf-8")
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) // 2
                if text[starts[mid] : ends[mid]] < key:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < n and text[starts[lo] : ends[lo]] == key:
                out[word] = int(self.freqs[lo])
        return out


def write_dictionary_table(path: Path, table: DictionaryTable) -> None:
    """Write a ``DictionaryTable`` with a digest of it, atomically."""
    text = np.frombuffer(table.text, np.uint8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, keys=text, freqs=table.freqs, total=np.int64(table.total),
                     digest=np.array(_table_digest(text, table.freqs, table.total)))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_dictionary_table(path: Path) -> DictionaryTable | None:
    """A table ``write_dictionary_table`` wrote, verified; None when there is none or it is damaged
    (only a cache: jieba's dictionary is loaded instead)."""
    from .features import read_npz  # features.py builds on this module

    try:
        z = read_npz(path)
        text, freqs, total, digest = z["keys"], z["freqs"], int(z["total"]), str(z["digest"])
        if text.dtype != np.uint8 or freqs.dtype != np.int64 or _table_digest(text, freqs, total) != digest:
            raise ValueError("digest mismatch")
        table = DictionaryTable(text.tobytes(), freqs, total)
        if len(table) != freqs.size:
            raise ValueError("keys and frequencies differ in number")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as e:
        logging.getLogger(__name__).warning("dictionary table %s is damaged (%s): loading jieba's dictionary instead", path, e)
        return None
    return table


def _table_digest(text: np.ndarray, freqs: np.ndarray, total: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str(total).encode() + b"\0")
    h.update(np.ascontiguousarray(text, np.uint8))
    h.update(np.ascontiguousarray(freqs, np.int64).view(np.uint8))
    return h.hexdigest()


def jieba_dictionary_stamp() -> str:
    """Which jieba dictionary a ``dictionary_table`` was made from, and in which file format: jieba's
    version, dict.txt's size and modification time (a jieba upgrade makes a new table), TABLE_FORMAT."""
    jieba = _jieba()
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    try:
        st = os.stat(path)
        where = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        where = "?"
    return hashlib.sha256(f"{jieba.__version__}\0{where}\0{TABLE_FORMAT}".encode()).hexdigest()[:12]


_CODE_BITS = 21  # every code point fits; a bigram is two of them in one uint64


def _grams_encoded(texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Analyzer._grams of each (already spelled) text, encoded as in Analyzer.texts_chars."""
    off = np.zeros(len(texts) + 1, np.int64)
    if not texts:
        return [], off, np.zeros(0, np.int32)
    # "\n" is in no CJK or Latin run, so no gram spans two texts.
    joined = "\n".join(texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
    starts = np.zeros(len(texts), np.int64)
    np.cumsum([len(t) + 1 for t in texts[:-1]], out=starts[1:])
    cjk = np.zeros(cp.size, bool)
    for low, high in _CJK_RANGES:
        cjk |= (cp >= low) & (cp <= high)
    unigrams = np.flatnonzero(cjk)
    bigrams = np.flatnonzero(cjk[:-1] & cjk[1:])
    codes = np.concatenate((cp[unigrams].astype(np.uint64),
                            (cp[bigrams].astype(np.uint64) << np.uint64(_CODE_BITS)) | cp[bigrams + 1]))
    distinct, ids = np.unique(codes, return_inverse=True)
    low_mask = (1 << _CODE_BITS) - 1
    table = [chr(c) if c <= low_mask else chr(c >> _CODE_BITS) + chr(c & low_mask) for c in distinct.tolist()]
    latin: dict[str, int] = {}
    latin_ids, latin_at = [], []
    for m in _LATIN_RUN.finditer(joined):
        latin_ids.append(latin.setdefault(m[0], len(table) + len(latin)))
        latin_at.append(m.start())
    table.extend(latin)
    ids = np.concatenate((ids.astype(np.int32).ravel(), np.asarray(latin_ids, np.int32)))
    at = np.concatenate((unigrams, bigrams, np.asarray(latin_at, np.int64)))
    owner = starts.searchsorted(at, side="right") - 1
    order = np.argsort(owner, kind="stable")
    np.cumsum(np.bincount(owner, minlength=len(texts)), out=off[1:])
    return table, off, ids[order]
