"""Hostile corpus files: whatever an editor saves, loading either builds or says `path:line: message`.

Hypothesis writes article files (front matter of wrong types, YAML anchors, tags and slips, odd line
ends, encodings and bytes, mutations of shipped articles), categories.yml, popular.yml, scope.yml,
dictionary files and JSON Lines lines. The property, for each: load_corpus returns, or raises
CorpusError whose every problem is one line `path:line: message` naming a line inside that file; no
other exception, within a few seconds, and YAML never builds a Python object (a !!python tag would
create a marker file). Derandomized, no example database: the same examples in every run.
"""

from __future__ import annotations

import re
import time
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faq_search.analysis import load_synonyms, load_user_words
from faq_search.corpus import CorpusError, load_corpus

SECONDS = 5  # per example; a load of a few small files takes milliseconds
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SHIPPED = sorted((Path(__file__).resolve().parent.parent / "corpus" / "articles").glob("*/*.md"))[:12]
GOOD = "---\nid: transfer-ok\nquestion: 转账多久到账？\ncategory: transfer\n---\n一般两小时内到账。\n"


@contextmanager
def time_bound(seconds: float = SECONDS):
    """Raises TimeoutError in the test when the block spends longer on the CPU: a hang (a runaway loop or
    regex) fails, not blocks CI. CPU time, not the wall clock, as the linear-time checks below measure
    (time.process_time): on a machine busy with other jobs one of them read 4.8 s of wall time for its
    1.2 s of work, while the quadratic code they guard against took 16-19 s of CPU."""
    def expired(*_):
        raise TimeoutError(f"loading took over {seconds} s of CPU")
    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def line_count(raw: bytes) -> int:
    """Lines of a file as an editor counts them (\\n, \\r\\n or a lone \\r ends one)."""
    return max(1, len(re.split(rb"\r\n|\r|\n", raw.removesuffix(b"\n").removesuffix(b"\r"))))


def assert_loads_or_reports(root: Path) -> None:
    """The property: load_corpus(root) builds or raises CorpusError of well-formed problems."""
    marker = root / "constructed"
    try:
        with time_bound():
            load_corpus(root)
    except CorpusError as e:
        assert e.problems
        for p in e.problems:
            text = str(p)
            assert "\n" not in text and "\r" not in text, text[:300]
            assert len(p.message) < 2000, p.message[:300]
            assert text.startswith(f"{p.path}:{p.line}: ") and p.message.strip(), text[:300]
            path = Path(p.path)
            if path.is_file():
                assert 1 <= p.line <= line_count(path.read_bytes()), text[:300]
            else:  # the corpus or articles/ itself
                assert path.is_dir() and p.line == 0, text[:300]
    assert not marker.exists(), "YAML constructed a Python object"


def corpus_with(files: dict[str, bytes | str], directory: str) -> Path:
    """A small valid corpus under ``directory`` with ``files`` (relative paths) added or replaced."""
    root = Path(directory)
    base = {"categories.yml": "transfer: 转账\npassword: 密码\n", "articles/transfer/ok.md": GOOD}
    for name, content in {**base, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def check(files: dict[str, bytes | str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        assert_loads_or_reports(corpus_with(files, directory))


# --- strategies --------------------------------------------------------------------------------

WORDS = ["转账", "多久", "到账", "密码", "a", "x", "transfer", "transfer-ok", "password", "010", "0x1F", "1_000",
         "12:30", "1" * 5000, "2024-01-01", "2099-01-01", "2026-13-45", "true", "no", "null", "~", "NaN", ".inf", "-", "？"]
KEYS = ["id", "question", "similar_questions", "category", "tags", "related", "updated", "aliases", "answer",
        "ID", "Question", "", "1", "<<", "? ", "null"]
# What YAML reads as something else, or refuses: tags, anchors and aliases, flow and block syntax, comments,
# directives, line breaks YAML has and Python's splitlines too, control characters, a tab, a full-width colon.
FRAGMENTS = [
    "!!python/object/apply:os.system ['touch {marker}']", "!!python/object/new:os.system ['touch {marker}']",
    "!!python/name:os.system", "!!binary aGVsbG8=", "!!set {{a, b}}", "!!omap [a: 1]", "!!timestamp 2024-01-01",
    "!!float 1", "!!float x", "!!int abc", "!!int 0x", "!!bool maybe", "!!timestamp x", "!!str", "!foo bar", "&a", "*a", "&b [*a, *a, *a]", "*b", "<<: *a", "{{", "}}", "[", "]", "{{a: b}}",
    "[a, [b, [c]]]", '"', "'", '"\\u0000"', '"\\x85"', "|", ">-", "#", "# c", "%YAML 1.1", "%TAG ! x", "---", "...",
    "? a", ": b", "- ", "-", "  - ", "\t", "：", ":", ", ", "，", "\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x00",
    "\x1b[31m", "\ufeff", "\u200b", "\ud83d\ude00", "😀", "密" * 300, "\r", "\r\n", "\n", " ",
]


def yaml_value(marker: str):
    """Values of any type YAML can write: nested lists and maps, numbers, dates, nulls, long text."""
    scalars = st.one_of(st.sampled_from(WORDS), st.text(max_size=30), st.integers(), st.floats(), st.booleans(),
                        st.none(), st.dates(), st.datetimes(), st.just("长" * 5000))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)),
                        max_leaves=12)


@st.composite
def dumped_front(draw, marker: str) -> str:
    """Well-formed YAML holding wrong types where the keys want text or lists."""
    meta = draw(st.dictionaries(st.sampled_from(KEYS), yaml_value(marker), max_size=8))
    flow = draw(st.booleans())
    return yaml.safe_dump(meta, allow_unicode=True, default_flow_style=flow, sort_keys=False)


@st.composite
def soup_front(draw, marker: str) -> str:
    """Lines of keys, items and YAML syntax thrown together."""
    lines = []
    for _ in range(draw(st.integers(0, 10))):
        indent = draw(st.sampled_from(["", "", "  ", "    ", "\t", " "]))
        head = draw(st.sampled_from([f"{k}: " for k in KEYS] + ["- ", "  - ", ""]))
        pieces = draw(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(WORDS)), max_size=4))
        lines.append(indent + head + " ".join(pieces).format(marker=marker))
    return "\n".join(lines) + "\n"


def article(draw, front: str) -> str:
    opening = draw(st.sampled_from(["---\n", "---\n", "--- \n", "", "---\n---\n", "----\n"]))
    closing = draw(st.sampled_from(["---\n", "---\n", "---  \n", "", "---\n---\n", "...\n"]))
    body = draw(st.one_of(st.sampled_from(["答案。\n", "", "\n\n", "| a | b |\n|---|---|\n", "```\ncode\n",
                                           "# 标题\n**粗[链接](https://x.y/a(b))**\n", "<br>" * 50, "*" * 500,
                                           "[x](javascript:alert(1))\n", "---\nid: y\n---\n"]),
                          st.text(max_size=200)))
    return opening + front + closing + body


def encode(draw, text: str) -> bytes:
    """The text as an editor's tool may save it: line ends, BOMs, UTF-16, a stray byte."""
    text = draw(st.sampled_from([text, text.replace("\n", "\r\n"), text.replace("\n", "\r")]))
    how = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-bytes", "surrogates"]))
    if how == "latin-bytes":
        raw = text.encode("utf-8", "replace")
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    if how == "surrogates":
        return text.encode("utf-8", "surrogatepass")
    return text.encode(how, "surrogatepass")


@st.composite
def hostile_article(draw) -> bytes:
    marker = "{marker}"  # filled in with the real path by the test
    front = draw(st.one_of(dumped_front(marker), soup_front(marker)))
    return encode(draw, article(draw, front))


@st.composite
def mutated_article(draw) -> bytes:
    """A shipped article with lines deleted, doubled or swapped, or cut at a byte."""
    raw = draw(st.sampled_from(SHIPPED)).read_bytes()
    lines = raw.split(b"\n")
    for _ in range(draw(st.integers(0, 4))):
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "double", "swap", "indent", "fragment"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "double":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = draw(st.sampled_from([b"  ", b"\t", b" - "])) + lines[i]
        else:
            lines[i] += draw(st.sampled_from(FRAGMENTS[6:])).encode("utf-8", "surrogatepass")
    raw = b"\n".join(lines)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


def with_marker(raw: bytes, directory: str) -> bytes:
    return raw.replace(b"{marker}", str(Path(directory) / "constructed").encode())


def check_article(raw: bytes, name: str = "articles/transfer/x.md") -> None:
    with tempfile.TemporaryDirectory() as directory:
        assert_loads_or_reports(corpus_with({name: with_marker(raw, directory)}, directory))


# --- properties --------------------------------------------------------------------------------

@FUZZ
@given(hostile_article())
def test_hostile_article_loads_or_is_reported(raw):
    check_article(raw)


@settings(FUZZ, max_examples=60)
@given(mutated_article())
def test_mutated_shipped_article_loads_or_is_reported(raw):
    check_article(raw)


@settings(FUZZ, max_examples=50)
@given(st.one_of(dumped_front("{marker}"), soup_front("{marker}")), st.sampled_from(["categories.yml", "popular.yml", "scope.yml"]))
def test_hostile_yaml_file_loads_or_is_reported(text, name):
    with tempfile.TemporaryDirectory() as directory:
        raw = with_marker(text.encode("utf-8", "surrogatepass"), directory)
        assert_loads_or_reports(corpus_with({name: raw}, directory))


@st.composite
def dictionary_file(draw) -> bytes:
    words = st.sampled_from(["登录", "登陆", "LOGIN", "login", "转账", "60", "n", "x", "高", "²", "١٢٣", "#", "/",
                             "，", "\t", "\x00", "100000000000000000000", "-5", "1.5", "\ufeff"])
    lines = draw(st.lists(st.lists(words, max_size=5).map(" ".join), max_size=8))
    return encode(draw, "\n".join(lines) + "\n")


@settings(FUZZ, max_examples=60)
@given(dictionary_file(), st.sampled_from(["user_words.txt", "synonyms.txt"]))
def test_hostile_dictionary_file_loads_or_is_reported(raw, name):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(raw)
        try:
            with time_bound():
                (load_user_words if name == "user_words.txt" else load_synonyms)(path)
        except CorpusError as e:
            for p in e.problems:
                assert "\n" not in str(p) and 1 <= p.line <= line_count(raw), str(p)[:300]


def json_value():
    scalars = st.one_of(st.sampled_from(WORDS), st.text(max_size=20), st.integers(), st.floats(allow_nan=False),
                        st.booleans(), st.none())
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)),
                        max_leaves=8)


@st.composite
def jsonl_line(draw) -> bytes:
    import json
    entry = draw(st.dictionaries(st.sampled_from(KEYS), json_value(), max_size=8))
    line = json.dumps(entry, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):  # cut, a stray byte, a lone surrogate's escape, another document
        line = draw(st.sampled_from([line[: len(line) // 2], line + "\xff", line.replace('"', '"\\ud800', 1),
                                     "[1, 2]", "null", '"text"', '{"tags": ' * 3000, "[" * 3000, "1e999999",
                                     '{"id": "b", "tags": [NaN, Infinity]}', '{"id": ' + "1" * 5000 + "}"]))
    return line.encode("utf-8", "surrogatepass")


@settings(FUZZ, max_examples=50)
@given(st.lists(jsonl_line(), min_size=1, max_size=4), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_hostile_jsonl_loads_or_is_reported(lines, end):
    good = b'{"id": "ok", "question": "q", "answer": "a"}'
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "kb.jsonl"
        path.write_bytes(end.join([good, *lines]) + end)
        try:
            with time_bound():
                load_corpus(path)
        except CorpusError as e:
            for p in e.problems:
                assert "\n" not in str(p) and 0 <= p.line <= line_count(path.read_bytes()), str(p)[:300]
                assert len(p.message) < 2000, p.message[:300]


# --- by hand: what the properties cannot size ------------------------------------------------------

def test_python_tag_is_refused_and_runs_nothing(tmp_path):
    raw = b"---\nid: x\nquestion: !!python/object/apply:os.system ['touch {marker}']\n---\nanswer\n"
    assert_loads_or_reports(corpus_with({"articles/transfer/x.md": with_marker(raw, str(tmp_path))}, str(tmp_path)))


# --- defects the properties found, pinned by their input ------------------------------------------

def bomb(levels: int) -> list[str]:
    """A billion-laughs alias bomb's lines: each anchor a list of nine aliases of the one above."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return lines


def problems(files: dict[str, str | bytes]) -> list[str]:
    with tempfile.TemporaryDirectory() as directory:
        root = corpus_with(files, directory)
        with pytest.raises(CorpusError) as e, time_bound():
            load_corpus(root)
        return [str(p).removeprefix(f"{root}/") for p in e.value.problems]


def test_category_name_of_a_long_mapping_is_quoted_cut_short():
    # `id:` then `转账: 长长…` below it: the message quoted the whole 5,000-character mapping.
    found = problems({"categories.yml": "transfer: 转账\nid:\n  转账: " + "长" * 5000 + "\n"})
    assert found[0].startswith("categories.yml:2: the name of category 'id' is read as {'转账': '长长长")
    assert len(found[0]) < 300


def test_alias_bomb_in_categories_is_refused_quickly_and_briefly():
    # Its repr is 9**levels "lol"s: at 9 levels, gigabytes of memory before a word was said.
    text = "\n".join(["transfer: 转账", *bomb(6), "password: *l6"]) + "\n"
    started = time.process_time()
    found = problems({"categories.yml": text})
    assert time.process_time() - started < 2
    assert "categories.yml:9: the name of category 'password' is read as [[[" in found[-1]
    assert all(len(p) < 500 for p in found)


def test_alias_bomb_as_an_article_question_is_refused_briefly():
    front = "\n".join(["id: x", *(line.replace("l0:", "tags:", 1) for line in bomb(6)[:1]), *bomb(6)[1:],
                       "question: *l6"])
    found = problems({"articles/transfer/x.md": f"---\n{front}\n---\n答\n"})
    question = next(p for p in found if "'question' must be text" in p)
    assert question.startswith("articles/transfer/x.md:10: 'question' must be text, not [[[") and len(question) < 300


def test_key_holding_a_line_break_stays_on_one_line():
    # `"a\nb": 1`: the message held the line break, and its second half read as another problem.
    found = problems({"articles/transfer/x.md": '---\nid: x\nquestion: 问\n"a\\nb": 1\n---\n答\n'})
    assert found == ["articles/transfer/x.md:1: unknown key 'a\\nb'"]


@pytest.mark.parametrize("nested", ["tags: " + "[" * 5000 + "]" * 5000, "tags: " + "{a: " * 3000 + "}" * 3000,
                                    "tags:\n" + "".join(" " * n + "- \n" for n in range(3000))])
def test_deeply_nested_front_matter_is_a_problem_not_a_recursion_error(nested):
    found = problems({"articles/transfer/x.md": f"---\nid: x\nquestion: 问\n{nested}\n---\n答\n"})
    assert len(found) == 1 and found[0].endswith("invalid YAML: values nested more than 50 deep: write text, "
                                                 "or a list of texts")


@pytest.mark.parametrize("name", ["categories.yml", "popular.yml", "scope.yml"])
def test_deeply_nested_yaml_file_is_a_problem(name):
    text = {"categories.yml": "transfer: ", "popular.yml": "- ", "scope.yml": "ours: "}[name] + "[" * 3000 + "]" * 3000
    assert problems({name: text + "\n"}) == [f"{name}:1: invalid {name.split('.')[0]} file: values nested more "
                                             "than 50 deep: write text, or a list of texts"]


def test_deeply_nested_json_line_is_a_problem_not_a_recursion_error(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "question": "问", "answer": "答"}\n{"id": "b", "tags": ' + "[" * 100_000 + "\n")
    with pytest.raises(CorpusError) as e:
        load_corpus(path)
    assert [p.line for p in e.value.problems] == [2]
    assert e.value.problems[0].message == "invalid JSON: values nested too deeply: write text, or a list of texts"


def test_many_repeated_similar_questions_are_reported_in_linear_time():
    # Each repeat's line was looked up by scanning the front matter: 5,000 repeats took 19 s, 100,000 hours.
    items = "".join("  - 转账问题说法\n" for _ in range(5000))
    started = time.process_time()
    found = problems({"articles/transfer/x.md": f"---\nid: x\nquestion: 问\nsimilar_questions:\n{items}---\n答\n"})
    assert time.process_time() - started < 3
    assert len(found) == 4999 and found[-1].startswith("articles/transfer/x.md:5004: similar question '转账问题说法' "
                                                       "repeats the one at line 5")


def test_repeated_similar_question_lines_skip_blank_and_unquoted_items():
    # The composed lines must line up with the items kept: a blank item and a number are not phrasings.
    front = "id: x\nquestion: 问\nsimilar_questions:\n  - 说法\n  -\n  - 010\n  - 说法\n"
    found = problems({"articles/transfer/x.md": f"---\n{front}---\n答\n"})
    assert "articles/transfer/x.md:8: similar question '说法' repeats the one at line 5: delete it (search reads " \
           "them alike)" in found


def test_dictionary_frequency_in_superscript_digits_is_a_problem(tmp_path):
    # '²'.isdigit() is true and int('²') raised ValueError: a traceback, no line.
    path = tmp_path / "user_words.txt"
    path.write_text("登录 ²\n", "utf-8")
    with pytest.raises(CorpusError):
        load_user_words(path)


def test_dictionary_line_separator_does_not_shift_line_numbers(tmp_path):
    # Split with str.splitlines, a U+2028 made the lines after it one more than an editor counts.
    path = tmp_path / "user_words.txt"
    path.write_text("\u2028 登录 登录\n", "utf-8")
    with pytest.raises(CorpusError) as e:
        load_user_words(path)
    assert e.value.problems[0].line == 1


@pytest.mark.parametrize("tagged", ["!!int abc", "!!int 0x", "!!float x", "!!bool maybe", "!!timestamp x"])
def test_explicit_tag_that_does_not_fit_its_value_is_a_problem(tagged):
    # The safe loader raised ValueError, KeyError or AttributeError: a traceback, no line.
    found = problems({"articles/transfer/x.md": f"---\nid: x\nquestion: 问\ntags: [a, {tagged}]\n---\n答\n"})
    tag, value = tagged.split(" ")
    assert found == [f"articles/transfer/x.md:4: invalid YAML: '{value}' cannot be read as '{tag}': delete the '{tag}'"]


def test_line_separator_in_front_matter_is_named_at_its_line():
    # `id: <U+2028>`: YAML and str.splitlines end a line there, an editor does not; the problem named
    # line 4 of a file of three.
    found = problems({"articles/transfer/x.md": "---\nid: \u2028\n答案。\n"})
    assert found[0] == ("articles/transfer/x.md:3: front matter is not closed by a '---' line: if the answer starts "
                        "here, add the closing '---' above it")
    found = problems({"articles/transfer/x.md": "---\nid: x\nquestion: 转账\u2028多久到？\n---\n答案。\n"})
    assert found == ["articles/transfer/x.md:3: an invisible line separator (U+2028) is in this line: delete it "
                     "(YAML ends a line there, an editor does not)"]


@pytest.mark.parametrize("name, text", [("categories.yml", "transfer: 转账\u2029\npassword: 密码\n"),
                                        ("popular.yml", "- transfer-ok\x85\n"), ("scope.yml", "ours:\n  - 易\u2028钱包\n")])
def test_line_separator_in_a_yaml_file_is_named_at_its_line(name, text):
    line = 2 if name == "scope.yml" else 1
    assert problems({name: text})[0].startswith(f"{name}:{line}: an invisible line separator (U+")


def test_answer_warning_lines_count_only_the_files_line_ends(tmp_path):
    # A form feed or U+2028 in an answer made unsupported() number the lines below it one too many.
    from faq_search.answer_markdown import unsupported
    assert unsupported("第一行\x0c仍是第一行\n第二行\u2028\n# 标题") == [
        (2, "a Markdown heading ('#') is shown as typed: write it as a paragraph, in **bold** if it must stand out")]


@pytest.mark.parametrize("line", ["![" * 40_000, "[a](" * 20_000, "![a](" * 20_000, "[x](http://" * 10_000])
def test_unclosed_image_or_link_brackets_are_checked_in_linear_time(line):
    # Each '![' or '](' scanned to the end of the line for its ']' or ')': 40,000 '![' took 17 s.
    from faq_search.answer_markdown import unsupported
    started = time.process_time()
    with time_bound():
        unsupported(line)
    assert time.process_time() - started < 1.5


def test_number_past_pythons_digit_limit_is_a_problem(tmp_path):
    # `id: 111…` (5,000 digits), and the same in JSON: int() raised ValueError, a traceback.
    found = problems({"articles/transfer/x.md": "---\nid: " + "1" * 5000 + "\nquestion: 问\n---\n答\n"})
    assert found == ["articles/transfer/x.md:2: invalid YAML: '" + "1" * 60 + "…' is read as a number too long to "
                     "be one: put it in quotes"]
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "question": "问", "answer": "答", "updated": ' + "1" * 5000 + "}\n")
    with pytest.raises(CorpusError) as e:
        load_corpus(path)
    assert [str(p).split(":", 1)[1] for p in e.value.problems] == [
        "1: invalid JSON: a number over 4,300 digits long: write it as text, in quotes"]


def test_nan_in_a_json_line_is_a_problem_not_a_tag(tmp_path):
    # Python's json reads NaN: `"tags": [NaN]` built the tag 'nan' without a word.
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "question": "问", "answer": "答", "tags": [NaN]}\n')
    with pytest.raises(CorpusError) as e:
        load_corpus(path)
    assert [p.message for p in e.value.problems] == ["invalid JSON: NaN is not JSON: write a number or a text in quotes"]


@settings(FUZZ, max_examples=300)
@given(st.lists(st.sampled_from(["*", "**", "_", "__", "[", "]", "(", ")", "](", "https://a.cn", " ", "a", "密", "\n",
                                 "![", "\r", "\u2028"]), max_size=30).map("".join))
def test_inline_markup_is_read_as_the_plain_regular_expression_reads_it(line):
    # _inline_matches skips bold that cannot close, for speed: it must find what _INLINE.finditer finds
    # (static/common.js reads the answer with that expression).
    from faq_search.answer_markdown import _INLINE, _inline_matches
    assert [(m.span(), m.group(0)) for m in _inline_matches(line)] == [(m.span(), m.group(0)) for m in _INLINE.finditer(line)]


@pytest.mark.parametrize("line", ["**b " * 20_000, "__a " * 20_000])
def test_unclosed_bold_is_read_in_linear_time(line):
    # Each '**b' with no '**' closing after it scanned to the end of the line: 80,000 characters took 16 s,
    # at every build (search reads the answer as shown) and every page or CLI showing it.
    from faq_search.answer_markdown import inline_runs, searchable
    started = time.process_time()
    with time_bound():
        assert searchable(line) == line and inline_runs(line) == [inline_runs(line)[0]]
    assert time.process_time() - started < 1.5


def test_many_aliases_and_unknown_related_ids_are_located_in_linear_time():
    # Each alias and unknown related id read and scanned the whole file again: 5,000 took 17 s.
    aliases = "".join(f"  - old-{n}\n" for n in range(5000))
    related = "".join(f"  - gone-{n}\n" for n in range(5000))
    started = time.process_time()
    found = problems({"articles/transfer/x.md": f"---\nid: x\nquestion: 问\naliases:\n{aliases}related:\n{related}"
                                                "---\n答\n"})
    assert time.process_time() - started < 4
    assert len(found) == 5000 and found[-1].startswith("articles/transfer/x.md:10005: unknown related id 'gone-4999'")


@settings(FUZZ, max_examples=100)
@given(st.lists(st.sampled_from(["a", "b", "a-b", "a.b", "b a", "[a, b]", "a # b", "转账", "x_y", "-"]), max_size=6),
       st.sampled_from(["aliases", "related"]), st.booleans())
def test_each_value_is_located_as_where_in_front_locates_it(items, key, flow):
    from faq_search.corpus import where_each_in_front, where_in_front
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.md"
        listed = f"{key}: [{', '.join(items)}]\n" if flow else f"{key}:\n" + "".join(f"  - {i}\n" for i in items)
        path.write_text(f"---\nid: x\nquestion: 问\n{listed}tags: [a, b]\n---\n答\n", "utf-8")
        values = [*items, "b", "zz"]
        assert where_each_in_front(f"{path}:2", key, values) == [where_in_front(f"{path}:2", key, v) for v in values]
