"""The `faq-search` command: build (--check, --watch), search, article, tags, categories, eval, confusions, serve,
report."""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import sys
import unicodedata
from datetime import datetime
from pathlib import Path

from .config import Config


def _add_build_args(p: argparse.ArgumentParser, env: Config) -> None:
    p.add_argument("--corpus", default=env.FAQ_CORPUS_DIR, help="corpus directory or .jsonl file (default: %(default)s)")
    p.add_argument("--out", default=env.FAQ_INDEX_DIR, help="index directory (default: %(default)s)")
    p.add_argument("--dict", dest="dict_dir", default=None, help="directory with user_words.txt and synonyms.txt (default: <corpus>/dict)")
    p.add_argument("--check", action="store_true", help="exit 0 when the published index matches the corpus and its "
                   "files their checksums, 1 when stale, corrupt or the corpus has problems (listed)")
    p.add_argument("--ensure", action="store_true", help="what `make run` does before serving: build only when stale; "
                   "when that build fails, print the problems and exit 0 if a sound version is published (it keeps "
                   "serving), 2 if none is")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("--full", action="store_true",
                   help="write a complete version even when an incremental one would do (a compaction) "
                   "or nothing changed since the published version")
    p.add_argument("--allow-shrink", action="store_true", help="publish a corpus holding under half the published "
                   "index's articles (refused otherwise: a mistyped --corpus)")
    p.add_argument("--watch", action="store_true", help="keep running: rebuild and publish whenever the corpus changes")
    # Given only with --watch (checked by _check_build_args); None: not given, WATCH_SECONDS then.
    p.add_argument("--interval", type=_seconds(above_zero=True), default=None,
                   help=f"--watch: seconds between looks at the corpus, over 0 (default: {WATCH_SECONDS})")
    p.add_argument("--debounce", type=_seconds(above_zero=False), default=None,
                   help=f"--watch: build once files were quiet this long, 0 or more seconds (default: {WATCH_SECONDS})")


WATCH_SECONDS = 1.0


def _seconds(above_zero: bool):
    """argparse type of a duration: a finite number of seconds, over 0 when ``above_zero`` (--interval 0
    polled in a tight loop at 76 % of a core; nan and inf compare false to everything)."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
            raise argparse.ArgumentTypeError(f"must be a number of seconds {'over 0' if above_zero else '0 or more'}, "
                                             f"not {text}")
        return value

    return seconds


def _check_build_args(parser: argparse.ArgumentParser, args) -> None:
    """Options of --watch given without it are a usage error (they would be ignored without a word);
    with it, those not given take their default. An index directory inside the corpus is one too."""
    given = [name for name in ("interval", "debounce") if getattr(args, name) is not None]
    if given and not args.watch:
        parser.error(f"{' and '.join('--' + n for n in given)} only appl{'ies' if len(given) == 1 else 'y'} with --watch")
    for name in ("interval", "debounce"):
        if getattr(args, name) is None:
            setattr(args, name, WATCH_SECONDS)
    corpus, out = Path(args.corpus).resolve(), Path(args.out).resolve()
    if corpus.is_dir() and (out == corpus or corpus in out.parents):
        # Its files would be read as the corpus's (79 "not read" warnings a build), or the corpus hashed with them.
        parser.error(f"--out {args.out} is inside the corpus {args.corpus}: give an index directory outside it")


def _stamp(on: bool) -> str:
    """A --watch line's local time (HH:MM:SS ), to tell when each build ran; "" otherwise."""
    return f"{datetime.now():%H:%M:%S} " if on else ""


def _print_built(result, quiet: bool, stamp: bool = False) -> None:
    if quiet:
        return
    if result.unchanged:  # nothing published: servers keep what they have, versions/ does not grow
        print(f"{_stamp(stamp)}index up to date: {result.version} ({result.articles} articles)"
              + (f"; completions written {result.completions_seconds:.2f}s" if result.completions_seconds is not None
                 else ""), flush=True)
    elif result.republished:  # an edit undone: the version built from this corpus before is the one served again
        print(f"{_stamp(stamp)}published {result.version} again: built before from this corpus, still in versions/ and "
              f"its checksums verified ({result.articles} articles, {result.seconds:.2f}s)"
              + (f"; completions written {result.completions_seconds:.2f}s" if result.completions_seconds is not None
                 else "") + (f"; {result.changes}" if result.changes else ""), flush=True)
    else:
        print(
            f"{_stamp(stamp)}built {result.version}: {result.articles} articles, vocabulary {result.vocabulary}, "
            f"{result.analysed} question{'' if result.analysed == 1 else 's'} segmented afresh, {result.seconds:.2f}s"
            f"{' (incremental)' if result.incremental else ''}"
            + (f"; completions {result.completions_seconds:.2f}s{' (unchanged: reused)' if result.completions_reused else ''}"
               if result.completions_seconds is not None else "")
            + (f"; {result.changes}" if result.changes else ""),
            flush=True,
        )
    for problem in result.warnings:  # an unchanged build's too: the corpus's (a very long answer) still hold
        _say(f"{_stamp(stamp)}warning: {problem}", flush=True)


def _print_failed(error: Exception, out_dir: str, stamp: bool = False) -> None:
    """What failed, where and what to do, then `build failed: <why>; the published index is unchanged (…)`:
    the corpus's problems as path:line: message, a file-system error with its path, anything else (a bug)
    with its traceback first."""
    import traceback

    from .corpus import CorpusError

    if isinstance(error, CorpusError):
        for problem in error.problems:
            _say(f"{_stamp(stamp)}{problem}")
        what = f"{len(error.problems)} problem(s)"
    elif isinstance(error, OSError):
        what, advice = _os_failure(error, out_dir)
        _say(f"{_stamp(stamp)}error: {what}: {advice}")
    else:
        traceback.print_exception(error, file=sys.stderr)
        what = f"unexpected {type(error).__name__} in the builder: {error}"
        _say(f"{_stamp(stamp)}error: {what} (a bug: report it with the traceback above)")
    _say(f"{_stamp(stamp)}build failed: {what}; the published index is unchanged ({_published_name(Path(out_dir))})",
         flush=True)


# What an operator can do about a file-system error, by its errno; {access}: make the file readable (the
# corpus, the dictionary), the index directory writable, or its parent when it is still to be created.
_OS_ADVICE = {
    errno.EACCES: "{access} by the user running the build ({user})",
    errno.EPERM: "{access} by the user running the build ({user})",
    errno.EROFS: "build into an index directory on a writable file system (a replica that only receives "
                 "versions is not built on)",
    errno.ENOSPC: "free space there (old index directories, {out}/cache/) and build again",
    errno.EDQUOT: "free space there or raise the quota, and build again",
    errno.EISDIR: "a directory is where a file belongs: remove or rename it",
    errno.ENOTDIR: "a file is where a directory belongs: remove or rename it",
    errno.EEXIST: "a file is where a directory belongs: remove or rename it",
    errno.ENOENT: "check the path (--corpus, --dict, --out)",
}


def _os_failure(error: OSError, out_dir: str) -> tuple[str, str]:
    """(path: reason, what to do) of a build's file-system error; the path is the index directory when the
    error names none (a write that found the disk full)."""
    import getpass

    if error.filename is None and error.strerror is None:  # raised with a message of ours: it says what and where
        what = str(error)
    elif error.filename is None:  # a write that found the disk full names no file
        what = f"{error.strerror} (writing under {out_dir})"
    else:
        what = f"{error.filename}: {error.strerror}"
    out = Path(out_dir).resolve()
    path = Path(error.filename if error.filename is not None else out_dir).resolve()
    if path != out and out not in path.parents and path not in out.parents:
        access = "make it readable"
    elif out.exists():
        access = f"make {out_dir} and what it holds writable"
    else:  # the index directory could not be created: its parent refuses, not the directory that is not there
        parent = next(p for p in out.parents if p.exists())
        access = f"{out_dir} cannot be created: make {parent} writable"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    code = error.errno if error.errno is not None or not isinstance(error, FileNotFoundError) else errno.ENOENT
    advice = _OS_ADVICE.get(code, "fix that, then build again").format(access=access, user=user, out=out_dir)
    return what, advice


def cmd_build(args) -> int:
    from .corpus import CorpusError, load_corpus
    from .build import build_index, check_index
    from .index import read_pointer, verify_version

    if Path(args.out).exists() and not Path(args.out).is_dir():  # said plainly, not as "[Errno 17] File exists"
        _say(f"error: --out {args.out} is a file; give the index directory (created if missing)")
        return 2
    if sum((args.watch, args.check, args.ensure)) > 1:  # --check never builds; --watch always would
        _say("error: --watch, --check and --ensure are different modes: give one")
        return 2
    if args.watch:
        return _watch(args)
    if args.check:
        out = Path(args.out)
        kept, pointer = read_pointer(out)
        try:
            fresh, reason = check_index(args.corpus, args.out, args.dict_dir)
            if kept is None:  # nothing to compare with: the corpus is checked all the same
                load_corpus(args.corpus)
        except CorpusError as e:  # only checking: a build would fail, nothing failed yet
            for problem in e.problems:
                _say(problem)
            # What serves meanwhile: a published version servers refuse (its manifest unreadable) is news too.
            refused = verify_version(out, kept) if kept else None
            _say(f"the corpus has {len(e.problems)} problem(s): a build would fail; published index: "
                 f"{_published_name(out)}" + (f", which is corrupt: {refused}" if refused else ""))
            return 1 if pointer is None else _print_rollback(out)
        except OSError as e:
            _say(f"error: {e}")
            return 2
        if not args.quiet or not fresh:
            _say(reason, file=sys.stderr if not fresh else sys.stdout)
        if kept and (" is corrupt: " in reason or " is unreadable: " in reason):  # what servers fall back to
            return _print_rollback(out, but=kept)
        return 0 if fresh else 1 if pointer is None else _print_rollback(out)
    if args.ensure:
        return _ensure(args)
    try:
        _warn_dictionary(args)
        result = build_index(args.corpus, args.out, args.dict_dir, progress=None if args.quiet else sys.stderr,
                             full=args.full, allow_shrink=args.allow_shrink,
                             on_wait=None if args.quiet else lambda m: _say(m, flush=True))
    except Exception as e:  # noqa: BLE001 — a CorpusError; an OSError (no corpus, an unusable index directory, a
        _print_failed(e, args.out)  # full disk); anything else a bug, said as such: the published index serves on
        return 2
    _print_built(result, args.quiet)
    return 0


def _published_name(out: Path) -> str:
    """The version CURRENT names; else "none yet", or why the pointer names none though versions are published."""
    from .index import read_pointer

    kept, pointer = read_pointer(out)
    return kept or (f"none: {pointer}" if pointer else "none yet")


def _print_rollback(out: Path, but: str | None = None) -> int:
    """Name the newest sound version but ``but`` (what a server serves while the pointer names none, or
    names a version it refuses) and the command that points CURRENT at it; 1, --check's exit code for an
    index that needs the operator."""
    from .index import rollback_command

    sound = _newest_sound_version(out, but=but)
    if sound is not None:
        _say(f"{sound} is sound: roll back to it with `{rollback_command(out, sound)}`")
    return 1


def _warn_dictionary(args, stamp: bool = False) -> None:
    from .corpus import corpus_warnings
    from .index import dict_warnings

    for warning in [*corpus_warnings(args.corpus),
                    *dict_warnings(Path(args.corpus), Path(args.dict_dir) if args.dict_dir else None)]:
        _say(f"{_stamp(stamp)}warning: {warning}", flush=True)


def _ensure(args) -> int:
    """Build when stale; a failed build (a broken article) leaves a sound published version serving:
    a restart or redeploy must not take the service down for one bad edit."""
    from .build import build_index, check_index
    from .corpus import CorpusError
    from .index import read_pointer, rollback_command, verify_version

    out = Path(args.out)
    try:
        fresh, reason = check_index(args.corpus, args.out, args.dict_dir)
        if fresh:
            if not args.quiet:
                _say(reason, file=sys.stdout, flush=True)
            return 0
        # A corrupt version: the build says so itself as it refuses it (a warning even with -q), not twice.
        if not args.quiet and " is corrupt: " not in reason:
            _say(f"{reason}: building", flush=True)
        _warn_dictionary(args)
        result = build_index(args.corpus, args.out, args.dict_dir, progress=None if args.quiet else sys.stderr,
                             full=args.full, allow_shrink=args.allow_shrink,
                             on_wait=None if args.quiet else lambda m: _say(m, flush=True))
    except Exception as e:  # noqa: BLE001 — the check parses the corpus too: its problems are printed once, here
        _print_failed(e, args.out)
        kept, pointer = read_pointer(out)
        refused = verify_version(out, kept) if kept else (pointer or "none is published")
        if refused is None:
            fix = ("fix the problems above" if isinstance(e, CorpusError) else "make it writable or free space there"
                   if isinstance(e, OSError) and not isinstance(e, FileNotFoundError) else "fix the error above")
            # A corpus that is not there (a typo) has no age: the published index may well be up to date.
            why = (f" unchanged: {args.corpus} was not found, so nothing was built" if not Path(args.corpus).exists()
                   else f", which is older than {args.corpus}: {fix} to publish it")
            _say(f"serving the published index {kept}{why}", flush=True)
            return 0
        _say(f"no index to serve: {f'{kept}: {refused}' if kept else refused}")
        sound = _newest_sound_version(out, but=kept)
        if sound is not None:
            _say(f"{sound} is sound: roll back to it with `{rollback_command(out, sound)}`")
        return 2
    _print_built(result, args.quiet)
    return 0


def _newest_sound_version(out: Path, but: str | None) -> str | None:
    from .index import verify_version

    try:
        names = sorted((p.name for p in (out / "versions").iterdir() if p.name.startswith("v")), reverse=True)
    except OSError:
        return None
    return next((n for n in names if n != but and verify_version(out, n) is None), None)


def _watch(args) -> int:
    import signal
    import threading

    from .watch import CorpusWatcher

    try:
        _warn_dictionary(args, stamp=True)  # like every line a watch prints: its log tells when
    except OSError as e:  # a mistyped --dict
        _say(f"error: {e}")
        return 2
    watcher = CorpusWatcher(args.corpus, args.out, args.dict_dir, debounce=args.debounce,
                            on_built=lambda r: _print_built(r, args.quiet, stamp=True),
                            on_failed=lambda e: _print_failed(e, args.out, stamp=True),
                            on_wait=None if args.quiet else lambda m: _say(_stamp(True) + m, flush=True))
    stop = threading.Event()
    # SIGTERM stops between builds (a kill mid-build would be safe too: nothing half-written is published).
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        watcher.build_if_stale()
        if not args.quiet:
            _say(f"{_stamp(True)}watching {args.corpus} every {args.interval}s (debounce {args.debounce}s); Ctrl-C stops",
                 file=sys.stdout, flush=True)
        watcher.run(interval=args.interval, stop=stop, check_first=False)
    except KeyboardInterrupt:
        pass
    return 0


class _Style:
    """ANSI colour when enabled (a terminal, or --color always), plain text otherwise."""

    CODES = {"bold": "1", "dim": "2", "green": "32", "yellow": "33", "cyan": "36", "mark": "1;33"}

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        return f"\033[{self.CODES[style]}m{text}\033[0m" if self.enabled and text else text

    def marked(self, text: str, terms, base: str | None = None) -> str:
        """``text`` (in style ``base``) with the matched terms in colour (longest first, any case)."""
        words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
        if not self.enabled:
            return text
        if words:
            resume = f"\033[{self.CODES[base]}m" if base else ""
            pattern = re.compile("|".join(map(re.escape, words)), re.I)
            text = pattern.sub(lambda m: self(m.group(0), "mark") + resume, text)
        return self(text, base) if base else text


def _cells(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


# A Latin word, or an amount kept whole: its currency sign, thousands separators, percent sign, and a range's
# second number (¥50,000, 0.1%, 8:00–22:00, 1–7, R1–R5): cut, "¥50," then "000" was read aloud as fifty yuan.
_WORD = r"[¥￥$]?[A-Za-z0-9._@:/+-]+(?:,\d{3}(?!\d)[0-9.]*)*[%％]?"
_WRAP_TOKEN = re.compile(rf"\s+|[（「『“‘《〈【(\[]*(?:{_WORD}(?:(?<=\d)[–~～](?=[¥￥$]?[A-Za-z0-9]){_WORD})?|.)"
                         r"[，。、；：？！）」』”’》〉】…,;:?!)\]]*")


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` terminal cells (CJK characters take two); Latin words stay whole, and
    no line starts with closing punctuation (，。」) or ends with opening punctuation (「（): each is
    kept with the character it belongs to."""
    return ["".join(t for t, _style in line) for line in _wrap_styled([(text, None, False)], width)]


def _text_cells(text: str) -> int:
    return sum(_cells(c) for c in text)


def _fold(items: list[tuple[str, str, str | None]], width: int, st: _Style, indent: str = "   ",
          hang: str | None = None) -> list[str]:
    """``items`` (separator before it, text, style) as lines of at most ``width`` cells (CJK two), the
    first after ``indent``, the others after ``hang``. Lines break only between items, a line then
    starting with what the separator holds besides spaces (· ): an id or a tag is never cut, and one
    wider than a line overflows it instead."""
    hang = indent if hang is None else hang
    lines, line, used = [], [], _text_cells(indent)
    for sep, text, style in items:
        if line and used + _text_cells(sep + text) > width:
            lines.append(line)
            line, used = [], _text_cells(hang)
            sep = sep.lstrip()
        piece = (sep if line or lines else "") + text
        line.append((piece, style))
        used += _text_cells(piece)
    if line:
        lines.append(line)
    out = []
    for i, line in enumerate(lines):
        runs: list[list] = []  # one escape sequence per run of a style, as when printed unwrapped
        for piece, style in line:
            if runs and runs[-1][1] == style:
                runs[-1][0] += piece
            else:
                runs.append([piece, style])
        out.append((hang if i else indent) + "".join(st(text, style) if style else text for text, style in runs))
    return out


def _text_items(text: str) -> list[tuple[str, str, None]]:
    """``text`` as items of _fold that break where _wrap breaks it (between CJK characters, at spaces)."""
    items, sep = [], ""
    for token in _WRAP_TOKEN.findall(text):
        if token.isspace():
            sep = " "
        else:
            items.append((sep, token, None))
            sep = ""
    return items


def _meta_lines(searcher, a, width: int, st: _Style) -> list[str]:
    """The `id · 分类 · #tags · 更新` line, folded between its items."""
    items = [("", a.id, "dim"), (" · ", searcher.categories.get(a.category, a.category), "dim")]
    items += [(" · " if i == 0 else " ", "#" + t, "dim") for i, t in enumerate(a.tags)]
    return _fold([*items, (" · ", f"更新 {_format_time(a.updated)}", "dim")], width, st)


def _labelled(label: str, items: list[tuple[str, str, str | None]], width: int, st: _Style, pad: int) -> list[str]:
    """``label`` (cyan, padded to ``pad`` cells) then ``items``, continued under the first item."""
    pad = max(pad, _text_cells(label) + 1)
    lines = _fold(items, width, st, indent="   " + " " * pad)
    lines[0] = "   " + st(label, "cyan") + " " * (pad - _text_cells(label)) + lines[0][3 + pad:]
    return lines


def _answer_lines(answer: str, width: int, indent: str, st: _Style, terms=()) -> list[str]:
    """The answer wrapped at ``width``, a list item's lines under its text; **bold** in bold (plain text
    without colour), a link as "text URL" with the URL never cut and whitespace on both sides of it (as
    the console copies it: an agent copies from the terminal too, and a chat app takes a ")" or 操作 against
    a URL into the link); ``terms`` marked."""
    from .answer_markdown import inline_runs

    out = []
    for raw in answer.splitlines():
        raw = raw.strip()
        if not raw:
            out.append("")
            continue
        # `**bold**` starts no item, nor 0.1% or 1.5 倍 a numbered one.
        item = re.match(r"^(\d{1,3}[.、)）](?!\d)|[-•·]|\*(?=\s))\s*", raw)
        hang = " " * _text_cells(item.group(0)) if item else ""  # in cells: 1、 is three, 1.先's 1. two
        # Markup is read after the item's marker: `* **a**` is a bulleted bold a, not bold `* `.
        pieces = [(item.group(0), None, False)] if item else []
        after_url = False
        for run in inline_runs(raw[len(item.group(0)):] if item else raw):
            style = "bold" if run.bold else None
            if not run.url:
                if run.text and after_url and not run.text[0].isspace():
                    pieces.append((" ", style, False))
                pieces.append((run.text, style, False))
                after_url = after_url and not run.text
                continue
            if run.text.strip() != run.url:
                pieces.append((run.text, style, False))
            if pieces and not pieces[-1][0][-1:].isspace():
                pieces.append((" ", style, False))
            pieces.append((run.url, style, True))
            after_url = True
        for i, line in enumerate(_wrap_styled(pieces, max(20, width - len(indent) - len(hang)))):
            out.append(indent + (hang if i else "") + "".join(st.marked(text, terms, style) for text, style in line))
    return out


def _wrap_styled(pieces: list[tuple[str, str | None, object]], width: int) -> list[list[tuple[str, str | None]]]:
    """_wrap of the text of ``pieces`` (text, style, whole), each line as (text, style) runs: the breaks
    fall where _wrap puts them, never inside a piece kept ``whole`` (True: a URL), nor between pieces
    whose ``whole`` is the same other key (a word and its weight: 密码 0.556)."""
    text = "".join(p[0] for p in pieces)
    styles: list[str | None] = []
    unit: list[object] = []  # for each character, the whole piece or group it is in (-1: none)
    for n, (piece, style, whole) in enumerate(pieces):
        styles += [style] * len(piece)
        unit += [-1 if not whole else n if whole is True else ("group", whole)] * len(piece)
    tokens: list[list[int]] = []
    for m in _WRAP_TOKEN.finditer(text):
        start, end = m.span()
        if tokens and unit[start] != -1 and unit[start] == unit[tokens[-1][1] - 1]:
            tokens[-1][1] = end  # the rest of a URL _WRAP_TOKEN would cut at ? or =
        else:
            tokens.append([start, end])
    spans, line, used = [], None, 0
    for start, end in tokens:
        size = _text_cells(text[start:end])
        blank = text[start:end].isspace()
        if line is not None and used + size > width and text[line[0]:line[1]].strip():
            spans.append(line)
            line, used = None, 0
            if blank:
                continue
        line = [start, end] if line is None else [line[0], end]
        used += size
    if line is not None and text[line[0]:line[1]].strip():
        spans.append(line)
    lines = []
    for start, end in spans:
        end = start + len(text[start:end].rstrip())
        runs: list[list] = []
        for i in range(start, end):
            if runs and runs[-1][1] == styles[i]:
                runs[-1][0] += text[i]
            else:
                runs.append([text[i], styles[i]])
        lines.append([(t, s) for t, s in runs])
    return lines or [[("", None)]]


def _marked(text: str, terms, style: str | None = None, whole: object = False) -> list[tuple[str, str | None, object]]:
    """``text`` as pieces of _wrap_styled in ``style``, the ``terms`` in it (longest first, any case) in
    the mark style, as _Style.marked marks them: a term keeps its colour on whichever line it falls."""
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return [(text, style, whole)]
    pieces, at = [], 0
    for m in re.finditer("|".join(map(re.escape, words)), text, re.I):
        pieces += [(text[at:m.start()], style, whole), (m.group(0), "mark", whole)]
        at = m.end()
    return [p for p in [*pieces, (text[at:], style, whole)] if p[0]]


def _hanging(first: str, pieces: list[tuple[str, str | None, object]], width: int, st: _Style) -> list[str]:
    """``pieces`` wrapped to ``width`` cells after ``first`` (a label, an item's number; it may hold
    colour), the lines after the first under the first one's text."""
    hang = " " * _text_cells(re.sub(r"\033\[[\d;]*m", "", first))
    lines = _wrap_styled(pieces, max(20, width - len(hang)))
    return [(hang if i else first) + "".join(st(text, style) if style else text for text, style in line)
            for i, line in enumerate(lines)]


def _format_time(iso: str) -> str:
    """``iso`` in local time (TZ honoured) with its zone, as the console shows it: 2026-11-23 08:02
    UTC+8 (UTC+5:30, UTC); a date alone stays a date, one without a zone is read as local."""
    from datetime import datetime

    if not iso or "T" not in iso and " " not in iso.strip():
        return iso or "—"
    try:
        local = datetime.fromisoformat(iso.strip()).astimezone()
    except ValueError:  # not ISO 8601: shown as written rather than not at all
        return iso
    minutes = round(local.utcoffset().total_seconds() / 60)
    hours, rest = divmod(abs(minutes), 60)
    zone = f"UTC{'-' if minutes < 0 else '+'}{hours}{f':{rest:02d}' if rest else ''}" if minutes else "UTC"
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def _empty(query: str) -> bool:
    """Nothing to search for: no character but spaces, punctuation, control and format characters."""
    return all(unicodedata.category(c)[0] in "PZC" for c in query)


EMPTY_QUESTION = "the question is empty (only spaces or punctuation): ask in words"
# The console's words for a hit's `confident` (true / false).


def _question_error(query: str, encoding: str, limit: int) -> tuple[str, str] | None:
    """Why ``query`` cannot be searched, as the API's error code and a message, or None. Bytes that are
    not text in ``encoding`` reach us as lone surrogates (U+DC80-U+DCFF: argv and standard input decode
    with surrogateescape): saying the question is empty, or failing in the analyser, would hide that the
    terminal sends another encoding. Over ``limit`` characters it is refused as the API refuses it."""
    bad = _not_text(query, encoding)
    if bad:
        return "invalid_encoding", f"the question is not {bad}, or type the question again"
    if _empty(query):
        return "missing_query", EMPTY_QUESTION
    length = len(query.strip())  # as the API counts `q`: surrounding spaces not counted
    if length > limit:
        return "query_too_long", (f"the question is longer than {limit} characters ({length}; FAQ_MAX_QUERY_CHARS, "
                                  f"as for the API): shorten it")
    return None


def _not_text(value: str, encoding: str) -> str | None:
    """None when ``value`` is text; else what to say of it (after "the question is ", "--tag is "): the
    bytes not in ``encoding``, which argv and standard input hand over as lone surrogates."""
    bad = [c for c in value if unicodedata.category(c) == "Cs"]
    if not bad:
        return None
    encoding = encoding.upper()
    shown = " ".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"U+{ord(c):04X}" for c in bad[:8])
    return (f"{encoding} text (bytes {shown}{' …' if len(bad) > 8 else ''} are not {encoding}): set the terminal to "
            f"{encoding}")


def _filter_error(args) -> str | None:
    """What to say of a --category or --tag holding bytes that are not text (a GBK terminal), or None:
    normalising it (OpenCC) stopped with a traceback. The API's code for it is invalid_encoding."""
    for option in ("category", "tag"):
        bad = getattr(args, option, None) and _not_text(getattr(args, option), sys.getfilesystemencoding())
        if bad:
            return f"--{option} is not {bad}"
    return None


def _refuse(code: str, message: str, as_json: bool, indent: int | None = 2, **about) -> int:
    """Exit status 2 for what cannot be answered: the message on stderr and, with --json, the API's
    error object on stdout, after what it stands in for (``about``: the question, the id, as a piped
    line's error says it), so that a script reading stdout as JSON reads one whatever happened."""
    _say(f"error: {message}", flush=True)
    if as_json:
        print(_json({**about, "error": {"code": code, "message": message}}, indent=indent), flush=True)
    return 2


def _visible(text: str, keep: str = "") -> str:
    """``text`` with its control characters written out (\\x1b, \\x07): read from a file, an escape
    sequence printed as it is would clear the screen or retitle the window. ``keep``: those left as they are."""
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" and c not in keep else c for c in text)


def _say(message: object, file=None, flush: bool = False) -> None:
    """Print a message (a corpus Problem too), on standard error unless ``file``, its control characters
    written out (_visible): it may hold a path or a name as given (--index, --corpus, an id), whose escape
    sequence would drive the terminal."""
    print(_visible(str(message)), file=sys.stderr if file is None else file, flush=flush)


def _shown(text: str, encoding: str) -> str:
    """``text`` with the bytes that were not ``encoding`` (lone surrogates) as U+FFFD, to print."""
    return text.encode(encoding, "surrogateescape").decode(encoding, "replace")


CONFIDENT, UNSURE = "可信", "不确定"
NOT_CONFIDENT = "以下结果未必回答这个问题，仅供参考。"


def _load_searcher(index: str, refused=None, **kwargs):
    """The index's published version, or when it is refused (corrupt, half-copied) or the pointer names
    none, the newest sound one, as a server would serve (with a warning saying which, why and how to
    roll back); None, the error said, when none loads: on stderr, or by ``refused(message)`` when given.
    ``kwargs`` go to ``Searcher.load``."""
    from .index import IndexError_, rollback_command
    from .live import load_or_fall_back

    try:
        searcher, why = load_or_fall_back(index, **kwargs)
    except (IndexError_, OSError, ValueError) as e:  # ValueError: the version's dict/ files unreadable
        if refused is None:
            _say(f"error: {e}")
        else:
            refused(str(e))
        return None
    if why:  # the agent still gets answers; the operator learns what to repair
        _say(f"warning: {why}; using {searcher.version}, the newest sound version: rebuild (build_index.py) or "
             f"roll back to it with `{rollback_command(Path(index), searcher.version)}`", flush=True)
    return searcher


def cmd_search(args) -> int:
    # With --json every refusal is also JSON on stdout: with the question, the object a piped line gets in
    # its place; without one (a batch), the API's {"error"} on one line, as the lines an answer would get.
    encoding = sys.getfilesystemencoding()
    about = {} if args.query is None else {"query": _shown(args.query, encoding)}

    def refuse(code: str, message: str) -> int:
        return _refuse(code, message, args.json, indent=2 if about else None, **about)

    filter_problem = _filter_error(args)
    if filter_problem:
        return refuse("invalid_encoding", filter_problem)
    problem = None if args.query is None else _question_error(args.query, encoding, args.max_chars)
    if problem:  # said as such, not "no matching answer"
        return refuse(*problem)
    # A person asks a question at a time: not worth loading Numba (≈ 0.5 s) for ≈ 0.3 ms a query.
    searcher = _load_searcher(args.index, refused=lambda message: refuse("index_unavailable", message),
                              compiled=False)
    if searcher is None:
        return 2
    if args.query is not None:
        return _answer(searcher, args.query, args)
    from .search import QueryError

    try:  # before the prompt: found at the first question, it ended the session the agent had just opened
        if args.category:
            searcher.category_named(args.category)
        if args.tag:
            searcher.tag_named(args.tag)
    except QueryError as e:
        return refuse(e.code, f"{e}; {_unknown_filter(searcher, e.code, args)}")
    return _answer_each_line(searcher, args)


def _answer_each_line(searcher, args) -> int:
    """Questions from standard input, one a line, each answered as it comes, the index loaded once: on
    a terminal with a prompt (an agent keeps it open through a call), piped as a batch (``--json``: one
    JSON line each). A version published meanwhile is loaded before the next question."""
    from .index import IndexError_, read_current
    from .search import Searcher
    from .terminal_input import TypedLines

    interactive = sys.stdin.isatty()
    # input() writes its prompt to stdout: into the answers when they go to a file or a pipe (--json >
    # out.jsonl). There the prompt goes to stderr, without readline, which input() uses only on a terminal.
    at_input = interactive and sys.stdout.isatty()
    prompt_to = sys.stdout if at_input else sys.stderr if interactive and sys.stderr.isatty() else None
    if hasattr(sys.stdin, "reconfigure"):  # a line of bytes not in its encoding: said, not a traceback
        sys.stdin.reconfigure(errors="surrogateescape")
    if at_input:
        try:
            import readline  # noqa: F401 - line editing and ↑ for earlier questions at input()'s prompt
        except ImportError:
            pass
        # readline kept a trailing byte that is not UTF-8 for the next line: TypedLines puts it in its own
        typed = TypedLines(getattr(sys.stdin, "encoding", None) or "UTF-8")
    refused = 0  # piped: lines that were no question make the exit status 2, as an unknown id does for `article`
    refused_version = read_current(args.index)  # when a sound older version answers instead: refused at the start
    if interactive:
        _prepare_while_typing(searcher, args.json)
    while True:
        try:
            if at_input:
                line = typed.input("问题> ")
            else:
                if prompt_to:
                    print("问题> ", end="", file=prompt_to, flush=True)
                line = sys.stdin.readline()
                if interactive and not line:
                    raise EOFError
        except KeyboardInterrupt:
            if not interactive:  # piped: stop, as an interrupted command does
                raise
            # At the prompt, as in a shell: Ctrl-C drops the line typed, Ctrl-D ends the session.
            print(file=prompt_to or sys.stderr, flush=True)
            continue
        except EOFError:
            if prompt_to:  # the line Ctrl-D left open, where the prompt is
                print(file=prompt_to)
            return 0
        if not interactive and not line:
            return 2 if refused else 0
        # A file saved by Notepad or Excel as "UTF-8 with BOM" starts with U+FEFF: not part of the question,
        # though --json's "query" (what a script pairs the answers by) held it.
        query = line.lstrip("\ufeff").strip()
        if not query:
            continue
        encoding = getattr(sys.stdin, "encoding", None) or "UTF-8"
        problem = _question_error(query, encoding, args.max_chars)
        if problem:  # the session goes on: the next line may be a question
            # With --json a line in its place (bad bytes as U+FFFD): a script pairs lines read and written.
            refused += 1
            _refuse(*problem, args.json, indent=None, query=_shown(query, encoding))
            continue
        try:
            published = read_current(args.index)
            if published not in (None, searcher.version, refused_version):
                try:
                    searcher = Searcher.load(args.index, analyzer=searcher.analyzer, compiled=False)
                except (IndexError_, ValueError) as e:  # refused (corrupt, half-copied): keep answering from the loaded one
                    _say(f"warning: still on {searcher.version}: {e}")
                    refused_version = published  # said once, not before every question
            # Piped without --json: each answer says which question it answers, as the --json lines do.
            if _answer(searcher, query, args, json_lines=True, heading=not interactive) == 2:
                return 2
        except KeyboardInterrupt:
            if not interactive:
                raise
            # As a shell stops the command running, not itself: a long --full answer stopped, the call goes on.
            sys.stdout.flush()
            print("\n（已停止）", file=prompt_to or sys.stderr, flush=True)


def _prepare_while_typing(searcher, json_output: bool) -> None:
    """Prepare in a thread, while the agent types the first question, what a first typo or pinyin question
    needs (忘记蜜码, tixian: ≈ 0.7 s, then ≈ 1 ms) and Flask for --json (≈ 0.25 s); a question typed before
    that is done waits only for what it needs of it (an import, the pinyin reader), not built twice."""
    import threading

    def prepare():
        try:
            searcher.prepare_pinyin()
            if json_output:
                from .web import payloads  # noqa: F401
        except Exception:  # noqa: BLE001 - what fails here fails again, said, at the question needing it
            pass

    threading.Thread(target=prepare, name="faq-search prepare", daemon=True).start()


def _print_why(h, st: _Style, width: int) -> None:
    """Why a hit matched: the phrasing (the words found in it marked), the query words found in it,
    those found through a synonym (封号 → 冻结), those typed in pinyin (daozhang → 到账), those found
    only in the answer; with their weights, each word with its weight on one line."""
    kind = "标准问题" if h.matched == h.question else "相似问法"
    lines = _hanging(f"   {st('匹配问法', 'cyan')} ", [*_marked(h.matched, h.matched_words), (f"（{kind}）", None, True)],
                     width, st)
    weight = dict(h.term_weights)

    def listed(label: str, words: list[list[tuple[str, str | None]]]) -> list[str]:
        pieces = []
        for i, runs in enumerate(words):
            pieces += [("  ", None, False)] * bool(i) + [(text, style, i + 1) for text, style in runs]
        pad = max(9, _text_cells(label) + 1) - _text_cells(label)  # the words start under the phrasing's
        return _hanging(f"   {st(label, 'cyan')}" + " " * pad, pieces, width, st)

    if h.matched_terms:
        lines += listed("匹配词", [[(t, "mark"), (f" {weight.get(t, 0.0):.3f}", None)] for t in h.matched_terms])
    if h.synonyms:
        lines += listed("同义词", [[(f"{typed} → ", None), (found, "mark"),
                                    (f"{'（答案中）' if where == 'answer' else ''} {weight.get(typed, 0.0):.3f}", None)]
                                   for typed, found, where in h.synonyms])
    if h.read_as:
        lines += listed("拼音", [[(f"{typed} → ", None), (read, "mark"),
                                  (f"{'（答案中）' if where == 'answer' else ''} {weight.get(read, 0.0):.3f}", None)]
                                 for typed, read, where in h.read_as])
    if h.answer_terms:
        lines += listed("答案中出现", [[(t, "mark"), (f" {weight.get(t, 0.0):.3f}", None)] for t in h.answer_terms])
    print("\n".join(lines))


def _answer(searcher, query: str, args, json_lines: bool = False, heading: bool = False) -> int:
    """Print the ranked answers to one question (after it, when ``heading``): 0, also when there is none
    (as with --json: a normal outcome, as the API's 200 with no results), 2 for a bad filter."""
    import time

    from .search import QueryError

    if args.json:  # the API's own encoder, so that the keys and values are /api/search's (took_ms too); only
        # here, before the clock starts, as it imports Flask (≈ 0.25 s), which the text output does not need
        from .web.payloads import SearchPayloads, search_body
    t0 = time.perf_counter()
    try:
        hits = searcher.search(query, k=args.k, category=args.category, tag=args.tag)
    except QueryError as e:
        return _refuse(e.code, f"{e}; {_unknown_filter(searcher, e.code, args)}", args.json,
                       indent=None if json_lines else 2, query=query)
    other = searcher.other_product(query, hits)  # 支付宝客服电话: ours would answer the wrong product
    if args.json:
        payloads = SearchPayloads(searcher)
        body = json.loads(search_body(payloads, query, payloads.results(hits), t0, other, searcher.whom_to_ask(other)))
        print(_json(body, indent=None if json_lines else 2), flush=True)
        return 0
    st, width = _Style(_colour(args.color)), _width()
    if heading:
        print("\n".join(_hanging(st("问题：", "cyan"), [(_visible(query), None, False)], width, st)))
    pasted_id = searcher.resolve(query)  # an id pasted from a note or a colleague: its words rank other articles
    if pasted_id is not None:
        hint = [(f"「{query}」是文章 id：它的答案用 ", "yellow", False), (f"faq-search article {pasted_id}", "yellow", True)]
        print("\n".join(_hanging("", hint, width, st)) + "\n", flush=True)
    if not hits:
        print(st("没有找到匹配的答案 (no matching answer)", "yellow"), flush=True)
        elsewhere = _outside_filters(searcher, query, args)
        if elsewhere:
            print("\n".join(_hanging("", [(elsewhere, None, False)], width, st)), flush=True)
        if heading:  # apart from the next question's block, as a block of hits is
            print(flush=True)
        return 0
    if other:
        ours = searcher.own_name or "我们"
        ask = searcher.whom_to_ask(other)
        banner = (f"这个问题看起来是关于「{other}」的：这里只能解答{ours}的问题，"
                  + (f"这类问题请咨询{ask}；" if ask else "") + "以下仅供参考。")
    else:
        banner = None if hits[0].confident else f"没有可信的答案：{NOT_CONFIDENT}"
    if banner:
        print("\n".join(_hanging("", [(banner, "yellow", False)], width, st)) + "\n")
    for rank, h in enumerate(hits, 1):
        # The score ranks; whether a hit answers is the no-answer model's call (docs/api.md), said apart:
        # the two stay together on the question's last line.
        score = [("  ", None, False), (f"{h.score:.3f} ", None, "score"),
                 (CONFIDENT if h.confident else UNSURE, "green" if h.confident else "yellow", "score")]
        print("\n".join(_hanging(f"{rank}. ", [*_marked(h.question, h.found_words, "bold"), *score], width, st)))
        print("\n".join(_meta_lines(searcher, h, width, st)))
        _print_why(h, st, width)
        if rank == 1 or args.full:
            print()
            for line in _answer_lines(h.answer, width, "   ", st, h.found_words):
                print(line)
            _print_related(searcher, h.id, st, width)
        print(flush=rank == len(hits))
    return 0


def _outside_filters(searcher, query: str, args) -> str | None:
    """When --category or --tag is why nothing was found: one line saying so and how many answers the
    search has without them (nothing found either way: None, the filter is not the reason)."""
    if not (args.category or args.tag):
        return None
    found = len(searcher.search(query, k=args.k))
    if not found:
        return None
    inside = " and ".join(filter(None, [
        args.category and searcher.categories[searcher.category_named(args.category)],
        args.tag and "#" + searcher.tag_named(args.tag)]))
    options = " and ".join(o for o, v in (("--category", args.category), ("--tag", args.tag)) if v)
    return (f"nothing in {inside}; {found} answer{'s' if found > 1 else ''} without "
            f"{'them' if args.category and args.tag else 'it'}: drop {options}")


def _like(typed: str, names: list[str], n: int = 10) -> list[str]:
    """Of ``names`` (most used first), those holding ``typed`` or held in it, then the spellings
    closest to it (difflib): 忘记 → 忘记密码, pasword → password."""
    import difflib

    folded = typed.casefold()
    near = [t for t in names if folded in t.casefold() or (t.casefold() in folded and len(t) > 1)]
    return list(dict.fromkeys(near + difflib.get_close_matches(typed, names, n=n, cutoff=0.6)))[:n]


def _unknown_filter(searcher, code: str, args) -> str:
    """What to say after an unknown --category or --tag: the close ones first, then how to see all."""
    if code == "unknown_category":  # few: all listed, by id with their names (密码 finds password)
        cats = searcher.categories
        ids, names = _like(args.category, list(cats)), _like(args.category, list(cats.values()))
        close = ", ".join(f"{c} ({cats[c]})" for c in cats if c in ids or cats[c] in names)
        listed = ", ".join(f"{c} ({cats[c]})" for c in cats)
        return ((f"did you mean {close}? " if close else "") + f"the categories: {listed} "
                "(`faq-search categories` lists them with their articles)")
    tags = list(searcher.tag_counts())
    close = _like(args.tag, tags)
    shown = close or tags[:10]
    head = f"did you mean {', '.join(close)}?" if close else f"no tag is like it; the most used: {', '.join(shown)}"
    more = f" ({len(tags) - len(shown)} more: `faq-search tags` lists them all)" if len(tags) > len(shown) else ""
    return head + more


def _colour(choice: str) -> bool:
    """--color: always and never as said; auto on a terminal unless NO_COLOR is set (no-color.org: an
    explicit --color always wins over it) or TERM is dumb (an editor's shell buffer shows escapes as text)."""
    return choice == "always" or (choice == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
                                  and os.environ.get("TERM") != "dumb")


def _width() -> int:
    """Terminal cells to wrap answers at, within 40-100: COLUMNS when set, else the terminal's, as
    shutil.get_terminal_size has it, or when the output is piped (into less, head) the terminal standard
    error is on: the lines are read there; 80 when neither is a terminal or it reports 0 columns."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    # sys.stdout, not shutil's sys.__stdout__: the one printed to. Shells do not export COLUMNS: piped,
    # 80-cell lines were folded again by a narrower terminal, each line's text no longer under the last.
    terminal = next((s for s in (sys.stdout, sys.stderr) if s is not None and s.isatty()), None)
    if columns <= 0 and terminal is not None:
        try:
            columns = os.get_terminal_size(terminal.fileno()).columns
        except OSError:
            columns = 0
    return max(40, min(100, columns if columns > 0 else 80))


def _print_related(searcher, article_id: str, st: _Style, width: int) -> None:
    related = _related(searcher, article_id)
    if related:
        print()
    for r in related:
        name = searcher.categories.get(r.category, r.category)
        items = [*_text_items(r.question), (" ", f"({r.id}", "dim"), (" · ", f"{name})", "dim")]
        print("\n".join(_labelled("相关", items, width, st, 5)))


def cmd_article(args) -> int:
    """The articles ``args.ids`` as the agent console shows them (or as /api/articles/<id> gives them):
    0 when every id names one (a former id too, said to be renamed), 2 when one names none."""
    import difflib

    def refused(message: str) -> None:
        _say(f"error: {message}", flush=True)
        for given in args.ids if args.json else ():  # a line for each id: ids given and lines written pair up
            error = {"id": _shown(given, sys.getfilesystemencoding()),
                     "error": {"code": "index_unavailable", "message": message}}
            print(_json(error, indent=2 if len(args.ids) == 1 else None), flush=True)

    searcher = _load_searcher(args.index, refused=refused, compiled=False)
    if searcher is None:
        return 2
    st, width, missing, shown = _Style(_colour(args.color)), _width(), 0, 0
    for given in args.ids:
        current = searcher.resolve(given)
        if current is None:
            bad = _not_text(given, sys.getfilesystemencoding())
            close = [] if bad else difflib.get_close_matches(given, [a.id for a in searcher.articles], n=1)
            printable = _shown(given, sys.getfilesystemencoding())  # raw bytes not UTF-8 made --json unreadable
            message = f"no article with id '{printable}'" + (f": it is not {bad}" if bad else f" (did you mean '{close[0]}'?)"
                                                        if close else _asked_as_id(searcher, given))
            _say(f"error: {message}", flush=True)
            if args.json:  # a line in its place, as the API's 404 says it: ids given and lines written pair up
                error = {"id": printable, "error": {"code": "article_not_found", "message": message}}
                print(_json(error, indent=2 if len(args.ids) == 1 else None), flush=True)
            missing += 1
            continue
        a = searcher.get(current)
        feedback = _vote_counts(Path(args.data_dir), a)
        if args.json:
            body = {k: v for k, v in a.to_dict().items() if k != "source"}
            body.update(related=_related_dicts(searcher, a.id), feedback=feedback, index_version=searcher.version)
            if current != given:  # where the API answers 301 with moved_from
                body["moved_from"] = given
            print(_json(body, indent=2 if len(args.ids) == 1 else None), flush=True)
            continue
        if shown:
            print()
        _print_article(searcher, a, given, feedback, st, width)
        shown += 1
    return 2 if missing else 0


def _asked_as_id(searcher, given: str) -> str:
    """After "no article with id '转错账了'": a question typed in place of an id (ids are Latin) names
    the article its search answers confidently, and the command that searches it; "" for anything else."""
    import shlex

    if not re.search(r"[\u3400-\u9fff]", given):
        return ""
    hits = searcher.search(given, k=1)
    found = f"its answer is '{hits[0].id}' ({hits[0].question}); " if hits and hits[0].confident else ""
    return f" (a question? {found}search it with `faq-search search {shlex.quote(given)}`)"


def _vote_counts(data_dir: Path, article) -> dict | None:
    """The article's votes (and those under its former ids) as the API gives them; None when there
    is no feedback store here (the server's data directory is elsewhere) or it cannot be read."""
    import sqlite3

    from .feedback import FILENAME, FeedbackStore

    if not (data_dir / FILENAME).is_file():
        return None
    try:
        return FeedbackStore(data_dir / FILENAME).counts(article.id, article.aliases).to_dict()
    except sqlite3.Error:
        return None


def _print_article(searcher, a, given: str, feedback: dict | None, st: _Style, width: int) -> None:
    if given != a.id:
        print("\n".join(_hanging("", [(f"{given} 已改名为 {a.id}（{given} 是它的曾用 ID）", "yellow", False)], width, st)))
    print("\n".join(_hanging("", [(a.question, "bold", False)], width, st)))
    print("\n".join(_meta_lines(searcher, a, width, st)))
    if feedback is not None:
        print(f"   {st('反馈', 'cyan')}     有帮助 {feedback['helpful']} · 没帮助 {feedback['not_helpful']}")
    if a.aliases:
        ids = [(" " if i else "", alias + ("," if i < len(a.aliases) - 1 else ""), None) for i, alias in enumerate(a.aliases)]
        print("\n".join(_labelled("曾用 ID", ids, width, st, 9)))
    print()
    for line in _answer_lines(a.answer, width, "   ", st):
        print(line)
    if a.similar_questions:
        print()
        print(f"   {st('相似问法', 'cyan')}")
        for q in a.similar_questions:
            print("\n".join(_hanging("   · ", [(q, None, False)], width, st)))
    _print_related(searcher, a.id, st, width)
    sys.stdout.flush()


def cmd_tags(args) -> int:
    """Every tag with its articles, most used first (as /api/tags gives them)."""
    filter_problem = _filter_error(args)
    if filter_problem:
        return _refuse("invalid_encoding", filter_problem, args.json)
    searcher = _load_searcher(args.index, refused=lambda message: _refuse("index_unavailable", message, args.json),
                              compiled=False)
    if searcher is None:
        return 2
    from .search import QueryError

    try:
        category = searcher.category_named(args.category) if args.category else None
    except QueryError as e:
        return _refuse(e.code, f"{e}; {_unknown_filter(searcher, e.code, args)}", args.json)
    counts = searcher.tag_counts(category)
    if args.json:
        print(_json({"tags": [{"name": t, "count": n} for t, n in counts.items()], "index_version": searcher.version}))
    elif counts:
        print("".join(f"{n:5d}  {t}\n" for t, n in counts.items()), end="")
    else:  # on stderr: stdout stays the list, empty; said, else a terminal shows nothing at all
        within = f" of {category} ({searcher.categories[category]})" if category else ""
        _say(f"no tags: no article{within} has one")
    return 0


def cmd_categories(args) -> int:
    """Every category's id, name and number of articles, in display order (as /api/categories gives them)."""
    searcher = _load_searcher(args.index, refused=lambda message: _refuse("index_unavailable", message, args.json),
                              compiled=False)
    if searcher is None:
        return 2
    categories = searcher.category_list()
    if args.json:
        print(_json({"categories": categories, "index_version": searcher.version}))
        return 0
    st = _Style(_colour(args.color))
    rows = [("ID", "名称", "文章"), *((c["id"], c["name"], str(c["count"])) for c in categories)]
    # Padded in terminal cells, not characters: a Chinese name takes two a character.
    widths = [max(_text_cells(row[column]) for row in rows) for column in range(3)]
    for i, (cid, name, count) in enumerate(rows):
        line = (cid + " " * (widths[0] - _text_cells(cid) + 2) + name + " " * (widths[1] - _text_cells(name) + 2)
                + " " * (widths[2] - _text_cells(count)) + count)
        print(st(line, "bold") if i == 0 else line)
    return 0


def cmd_eval(args) -> int:
    from .evaluate import evaluate, load_queries

    if not Path(args.queries).is_file():
        return _refuse("invalid_queries", f"no labelled queries at {args.queries} (--queries: JSON Lines of "
                       f"{{query, expected}})", args.json)
    searcher = _load_searcher(args.index, refused=lambda message: _refuse("index_unavailable", message, args.json))
    if searcher is None:
        return 2
    try:
        queries = load_queries(args.queries, args.split)
    except (OSError, ValueError) as e:
        return _refuse("invalid_queries", str(e), args.json)
    # An id renamed or deleted since the query was labelled would count as a miss nobody can explain.
    unknown = [(lq, aid) for lq in queries for aid in lq.expected if searcher.get(aid) is None]
    for lq, aid in unknown:
        _say(f"{args.queries}:{lq.line}: expects '{aid}', which the index does not have "
             f"(renamed or deleted? fix the label)")
    if unknown:
        return _refuse("invalid_queries", f"{len(unknown)} label(s) name no article of {searcher.version}; nothing "
                       f"measured", args.json)
    report = evaluate(searcher, queries)
    if args.json:
        body = report.to_dict()
        if not args.failures:
            body.pop("failures")
        print(_json(body))
    else:
        print(report.format(failures=args.failures))
    return 0


def cmd_confusions(args) -> int:
    from .confusions import find_confusions

    searcher = _load_searcher(args.index, refused=lambda message: _refuse("index_unavailable", message, args.json))
    if searcher is None:
        return 2
    if args.article and searcher.get(args.article) is None:
        return _refuse("article_not_found", f"no article with id '{args.article}'", args.json)
    report = find_confusions(searcher, limit=args.limit)
    if args.article:
        report = report.only(args.article)
    if args.json:
        print(_json(report.to_dict(top=args.top)))
    else:
        print(report.format(top=args.top, examples=args.examples))
    return 0


def _related(searcher, article_id: str) -> list:
    a = searcher.get(article_id)
    return [r for r in (searcher.get(rid) for rid in a.related) if r is not None] if a else []


def _related_dicts(searcher, article_id: str) -> list[dict]:
    """As the API gives ``related`` (/api/search, /api/articles/<id>)."""
    return [{"id": r.id, "question": r.question, "category": r.category} for r in _related(searcher, article_id)]


def cmd_serve(args) -> int:
    from gunicorn.app.base import BaseApplication

    from .web.observability import configure_logging, prepare_metrics_dir, worker_exited
    from .web.workers import post_fork, pre_fork

    env = os.environ  # the metrics directory is exported here, for prometheus_client in the workers
    env["FAQ_INDEX_DIR"] = args.index
    settings = Config.from_mapping(env)
    metrics_dir = prepare_metrics_dir(env)

    class Server(BaseApplication):
        # The same settings as gunicorn.conf.py, which `make run` uses.
        def load_config(self):
            self.cfg.set("bind", f"{args.host or settings.HOST}:{args.port}")  # 0 is refused, not replaced
            self.cfg.set("workers", args.workers)
            self.cfg.set("preload_app", True)
            self.cfg.set("limit_request_line", 8190)
            self.cfg.set("worker_class", "faq_search.web.workers.JsonErrorWorker")
            self.cfg.set("logger_class", "faq_search.web.workers.JsonLogger")
            if "control_socket_disable" in self.cfg.settings:  # gunicorn 25.1+: one path per user, replicas fight over it
                self.cfg.set("control_socket_disable", True)
            self.cfg.set("pre_fork", pre_fork)
            self.cfg.set("post_fork", post_fork)
            self.cfg.set("child_exit", lambda server, worker: worker_exited(worker.pid, str(metrics_dir.path)))
            self.cfg.set("on_exit", lambda server: metrics_dir.cleanup())

        def load(self):
            from .web import create_app

            configure_logging()
            return create_app(env)

    Server().run()
    return 0


def cmd_report(args) -> int:
    import time

    from .report import FEEDBACK_FILENAME, feedback_error, parse_since, render_html, render_text, report_from_files

    try:
        since = time.time() - parse_since(args.since)
    except ValueError as e:
        _say(f"error: {e}")
        return 2
    from .index import read_current
    from .querylog import FILENAME, log_files

    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():  # a typo would report 0 searches as if nobody had asked anything
        _say(f"error: no data directory {data_dir} (--data-dir, FAQ_DATA_DIR)")
        return 2
    if not (data_dir / FILENAME).is_file() and not log_files(data_dir / FILENAME):  # none, nor rotated copies
        _say(f"warning: no query log {data_dir / FILENAME} (nothing searched yet, or FAQ_QUERY_LOG=0): "
             f"no searches to report")
    error = feedback_error(data_dir / FEEDBACK_FILENAME)
    if error:  # else its tables would say "no feedback store", as if nobody had voted
        _say(f"warning: cannot read the feedback store {data_dir / FEEDBACK_FILENAME}: {error}: no votes reported")
    if args.index and read_current(Path(args.index)) is None:  # titles only: the report still stands on the log
        _say(f"warning: no published index in {args.index} (--index, FAQ_INDEX_DIR): articles are shown by id "
             f"and votes for deleted articles are not looked for")
    report = report_from_files(data_dir, args.index, since, time.time(), top=args.top, fold_seconds=args.fold_seconds)
    for problem in report.unreadable:
        _say(f"warning: query log not read to its end, its events after that are missing: {problem}")
    if args.html:  # before the text: a bad path is one line, not a traceback after the report
        try:
            Path(args.html).write_text(render_html(report), "utf-8")
        except OSError as e:
            _say(f"error: cannot write the HTML report: {e}")
            return 2
    print(render_text(report), end="")
    if args.html:
        _say(f"HTML report: {args.html}")
    return 0


def _at_least_one(text: str) -> int:
    """argparse type of a count (--top, --limit): a negative one sliced from the end, 0 listed nothing."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _port(text: str) -> int:
    """argparse type of --port: 0 would bind a port the system picks, which no client knows."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, not {value}")
    return value


def _tolerant_output() -> None:
    """On a terminal whose encoding cannot show every character (GBK has no ¥, ASCII no Chinese), show
    '?' for those rather than stop with a traceback in the middle of an answer."""
    for stream in (sys.stdout, sys.stderr):
        if not _utf8(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def _utf8(stream) -> bool:
    return (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")


def _json(obj, indent: int | None = 2) -> str:
    # Escaped (\uXXXX) where stdout cannot hold the text: still valid JSON, and nothing lost.
    return json.dumps(obj, ensure_ascii=not _utf8(sys.stdout), indent=indent)


class _Parser(argparse.ArgumentParser):
    """A command's parser; ``json_errors`` (--json given) makes a usage error the API's error object on
    stdout too, on one line, as the other refusals are: -k 0 is ?k=0's invalid_k, a second --tag ?tag=a&tag=b's
    invalid_tag; one naming no option is invalid_arguments."""

    def __init__(self, *args, json_errors: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.json_errors = json_errors

    def error(self, message):
        if self.json_errors:
            named = re.match(r"argument (?:-\w/)?--([\w-]+)|--([\w-]+) given twice", message)
            code = f"invalid_{(named.group(1) or named.group(2)).replace('-', '_')}" if named else "invalid_arguments"
            print(_json({"error": {"code": code, "message": message}}, indent=None), flush=True)
        super().error(_visible(message))  # it may quote an argument (a path, an unknown one) as given

    def format_help(self):
        # The defaults shown come from the environment (FAQ_INDEX_DIR): escapes written out, lines kept.
        return _visible(super().format_help(), keep="\n")


def _asks_json(argv: list[str]) -> bool:
    """Whether ``argv`` gives --json (or an abbreviation argparse takes for it) before a ``--``."""
    given = argv[:argv.index("--")] if "--" in argv else argv
    return any(len(a) > 2 and "--json".startswith(a) for a in given if a.startswith("--j"))


class _Once(argparse.Action):
    """An option given at most once: a second --tag or --category would silently replace the first,
    where the caller may expect both to apply (the API, too, takes one of each)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest) is not None:
            parser.error(f"{option_string} given twice ({getattr(namespace, self.dest)}, {values}): give one")
        setattr(namespace, self.dest, values)


def _k_type(limit: int):
    """-k as the API takes `k`: a whole number from 1 to FAQ_MAX_K; the API refuses more (400 invalid_k)."""

    def k(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be from 1 to {limit} (FAQ_MAX_K, as for the API), not {value}")
        return value

    return k


def _settings(prog: str) -> Config:
    """The environment's settings; a bad one is a usage error (exit 2) naming it, not a traceback."""
    try:
        return Config.from_mapping(os.environ)
    except ValueError as e:
        _say(f"{prog}: error: {e}")
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    from .querylog import FOLD_SECONDS

    _tolerant_output()
    env = _settings("faq-search")
    json_errors = _asks_json(sys.argv[1:] if argv is None else argv)
    parser = _Parser(prog="faq-search", description="Chinese FAQ search for wallet customer service.",
                     json_errors=json_errors)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("build", help="validate the corpus and publish a new index")
    _add_build_args(p, env)
    p.set_defaults(func=cmd_build)
    build_parser = p

    index_help = "index directory (default: %(default)s; FAQ_INDEX_DIR)"
    color_help = "colour: auto = on a terminal unless NO_COLOR is set or TERM=dumb; always even with NO_COLOR (default: %(default)s)"
    p = sub.add_parser("search", json_errors=json_errors, help="ranked answers for a question, in the terminal",
                       epilog="Exit status: 0 when the question was searched, whether or not an article matched "
                       "(no match: 没有找到匹配的答案, or \"results\": [] with --json); 2 for an empty question, one (or a "
                       f"filter) of bytes that are not UTF-8, one longer than {env.FAQ_MAX_QUERY_CHARS} characters (FAQ_MAX_QUERY_CHARS), a bad "
                       "-k, an unknown --category or --tag, or an index that cannot be loaded (with --json on stdout "
                       "too: {\"query\", \"error\": {\"code\", \"message\"}}, {\"error\": ...} without a question "
                       "or for a usage error, a bad -k's invalid_k); questions piped one a "
                       "line: 2 at the end when a line was no question (the others answered; with --json an "
                       "{\"query\", \"error\": {\"code\", \"message\"}} line in its place); 1 when the output cannot "
                       "be written (a full disk).")
    p.add_argument("query", nargs="?", help="without it: one question a line from standard input (a prompt on "
                   "a terminal), the index loaded once")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("-k", "--k", type=_k_type(env.FAQ_MAX_K), default=min(5, env.FAQ_MAX_K),
                   help=f"answers to show, 1 to {env.FAQ_MAX_K} (FAQ_MAX_K) (default: %(default)s)")
    p.add_argument("--category", action=_Once, default=None, help="only articles of this category, by id or name, or "
                   "a synonym of either (default: all)")
    p.add_argument("--tag", action=_Once, default=None, help="only articles with this tag, or a synonym of it "
                   "(default: any)")
    p.add_argument("--full", action="store_true", help="print every answer, not only the first")
    p.add_argument("--json", action="store_true", help="machine-readable output (one JSON line per question read "
                   "from standard input)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help=color_help)
    p.set_defaults(func=cmd_search, max_chars=env.FAQ_MAX_QUERY_CHARS)

    p = sub.add_parser("article", json_errors=json_errors, help="articles by id, as the agent console shows them",
                       epilog="Exit status: 0 when every id names an article (a former id, from an article's aliases, "
                       "shows the article it was renamed to and says so; with --json \"moved_from\" holds it); 2 when "
                       "an id names none (the others are still shown) or the index cannot be loaded (with --json an "
                       "{\"id\", \"error\": {\"code\", \"message\"}} line for each id).")
    p.add_argument("ids", nargs="+", metavar="ID", help="an article's id, or a former id of one")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("--data-dir", default=env.FAQ_DATA_DIR, help="feedback store for the votes, when it is on this "
                   "machine (default: %(default)s; FAQ_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="the body of GET /api/articles/<id> (one JSON line per article "
                   "when several ids are given)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help=color_help)
    p.set_defaults(func=cmd_article)

    p = sub.add_parser("tags", json_errors=json_errors,
                       help="every tag --tag takes, with its number of articles, most used first",
                       epilog="Exit status: 0 when the tags were listed (none, for a category without any: said on "
                       "stderr); 2 for an "
                       "unknown --category, one of bytes that are not UTF-8, a usage error or an index that cannot be "
                       "loaded (with --json on stdout too: {\"error\": {\"code\", \"message\"}}, as /api/tags "
                       "answers); 1 when the output cannot be written (a full disk).")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("--category", action=_Once, default=None, help="only the tags of this category's articles, by id "
                   "or name, or a synonym of either (default: all)")
    p.add_argument("--json", action="store_true", help="the body of GET /api/tags")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("categories", json_errors=json_errors,
                       help="every category --category takes: its id, name and number of articles, in display order",
                       epilog="Exit status: 0 when the categories were listed; 2 for a usage error or an index that "
                       "cannot be loaded (with --json on stdout too: {\"error\": {\"code\", \"message\"}}, as the API "
                       "answers); 1 when the output cannot be written (a full disk).")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("--json", action="store_true", help="the body of GET /api/categories")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help=color_help)
    p.set_defaults(func=cmd_categories)

    p = sub.add_parser("eval", json_errors=json_errors,
                       help="search quality on labelled queries (acc@1, MRR@10, recall@10, no-answer)")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("--queries", default="corpus/eval/queries.jsonl", help="JSON Lines of {query, expected} (default: %(default)s)")
    p.add_argument("--split", choices=("dev", "test", "all"), default="all",
                   help="which labelled queries to measure (default: %(default)s)")
    p.add_argument("--failures", action="store_true", help="list each miss with what ranked first and why")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("confusions", json_errors=json_errors,
                       help="phrasings that bring up another article first, searched with themselves hidden")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("--top", type=_at_least_one, default=20, help="pairs of articles to list (default: %(default)s)")
    p.add_argument("--examples", type=_at_least_one, default=3, help="phrasings shown per pair (default: %(default)s)")
    p.add_argument("--limit", type=_at_least_one, default=20_000, help="phrasings searched at most (default: %(default)s)")
    p.add_argument("--article", default=None, help="only the pairs where this article loses or takes phrasings "
                   "(default: every article)")
    p.add_argument("--json", action="store_true", help="machine-readable output (--top pairs, every phrasing of each)")
    p.set_defaults(func=cmd_confusions)

    p = sub.add_parser("serve", help="serve the API and search page with gunicorn")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help=index_help)
    p.add_argument("--host", default=env.HOST, help="address to bind (default: %(default)s; HOST)")
    p.add_argument("--port", type=_port, default=env.PORT, help="port to bind, 1 to 65535 (default: %(default)s; PORT)")
    p.add_argument("--workers", type=_at_least_one, default=env.WEB_CONCURRENCY,
                   help="gunicorn worker processes (default: %(default)s; WEB_CONCURRENCY)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="top queries, unanswered queries, not-helpful articles, click-through")
    p.add_argument("--since", default="7d", help="how far back: 30m, 24h, 7d, 2w, at most 3660d (default: %(default)s)")
    p.add_argument("--data-dir", default=env.FAQ_DATA_DIR, help="query log and feedback store (default: %(default)s)")
    p.add_argument("--index", default=env.FAQ_INDEX_DIR, help="index for article titles (default: %(default)s)")
    p.add_argument("--top", type=_at_least_one, default=10, help="rows per table (default: %(default)s)")
    p.add_argument("--fold-seconds", type=float, default=FOLD_SECONDS, metavar="S",
                   help="a search that a later one on the same route extends within S seconds was typed on the way "
                   "to it (as-you-type) and is not counted; 0 counts every search (default: %(default)s)")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report with a chart "
                   "(default: none)")
    p.set_defaults(func=cmd_report)

    args = parser.parse_args(argv)
    if args.command == "build":
        _check_build_args(build_parser, args)
    if sys.stdout is None and args.command in ("search", "article", "tags", "categories", "eval", "confusions",
                                                    "report"):
        # Started with standard output closed (>&-): the answers would go nowhere, with exit status 0.
        _say("error: cannot write the output: standard output is closed")
        return 1
    try:
        return args.func(args)
    except BrokenPipeError:
        # Output piped into `head` or a pager that quit: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # Ctrl-C while loading, answering one question or reading a batch: stopped, as a shell says it (128 + SIGINT)
        print(file=sys.stderr)
        return 130
    except OSError as e:
        # The answers could not be written (--json > out.jsonl on a full disk): one line, not a traceback. A
        # file a command reads or writes is said by the command itself, its error naming the file.
        if e.filename is not None or e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
            raise
        _say(f"error: cannot write the output: {e.strerror}")
        try:  # else what is still buffered fails again at exit, with Python's "Exception ignored" lines
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1


def build_main(argv: list[str] | None = None) -> int:
    """Entry of build_index.py: the `build` command's arguments without the subcommand."""
    _tolerant_output()
    env = _settings("build_index.py")
    parser = _Parser(prog="build_index.py", description="Validate the corpus and publish a new index.")
    _add_build_args(parser, env)
    args = parser.parse_args(argv)
    _check_build_args(parser, args)
    try:
        return cmd_build(args)
    except KeyboardInterrupt:  # Ctrl-C in make run's build: stopped, as `faq-search build` says it (no traceback)
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
