"""Corpus slips that used to build, or were reported at the wrong line: each is `path:line: message`."""

from datetime import date, timedelta

import pytest

from faq_search.analysis import load_synonyms, load_user_words
from faq_search.build import build_index
from faq_search.corpus import CorpusError, load_corpus
from tests.conftest import TINY_ARTICLES, TINY_SYNONYMS, TINY_USER_WORDS, article_text
from tests.test_corpus import problems_of


def front(*lines: str, answer: str = "答") -> str:
    return "\n".join(["---", *lines, "---", answer, ""])


# question on line 3, similar_questions' items from line 5, as most of the cases below.
BASE = ("id: x", "question: 问题是什么？", "similar_questions:", "  - 说法一", "  - 说法二", "category: password")


def with_lines(*changed: tuple[int, str]) -> str:
    """BASE with some of its lines (2 = the first after '---') replaced."""
    lines = list(BASE)
    for number, text in changed:
        lines[number - 2] = text
    return front(*lines)


def bad_article_problems(make_corpus, text: str) -> list[str]:
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": text})
    return [p.split("password/", 1)[1] for p in problems_of(root)]


@pytest.mark.parametrize("text, expected", [
    # YAML 1.1 rewrites these without a word: 010 is 8, 0x1F 31, 1_000 1000, 12:30 750, no False.
    (with_lines((2, "id: 010")), "bad.md:2: 'id' is read as the number 8, not as text: put it in quotes"),
    (with_lines((2, "id: 1_000")), "bad.md:2: 'id' is read as the number 1000, not as text: put it in quotes"),
    (with_lines((5, "  - 0x1F")), "bad.md:5: item of 'similar_questions' is read as the number 31, not as text: put the item in quotes"),
    (with_lines((6, "  - 12:30")), "bad.md:6: item of 'similar_questions' is read as the number 750, not as text: put the item in quotes"),
    (front(*BASE, "tags: [转账, 1.50]"), "bad.md:8: item of 'tags' is read as the number 1.5, not as text: put the item in quotes"),
    (front(*BASE, "tags:", "  - true", "  - no"),
     "bad.md:10: item of 'tags' is read as the truth value False, not as text: put the item in quotes"),
    (front(*BASE, "aliases: [2024-01-01]"),
     "bad.md:8: item of 'aliases' is read as the date 2024-01-01, not as text: put the item in quotes"),
    # A list written as one text: one tag "转错账, 转账", one phrasing "a，b".
    (front(*BASE, "tags: 转错账, 转账"), "bad.md:8: 'tags' is one text holding a comma, not a list: write 'tags: [a, b]' "
                                         "or each item on its own '- ' line below 'tags:'"),
    (with_lines((4, "similar_questions: 钱转错了，能退吗"), (5, "tags: [转账]"), (6, "related: []")),
     "bad.md:4: 'similar_questions' is one text holding a comma"),
    # An over-indented item continues the one above: YAML joins them into "说法一 - 我刚把钱转错了".
    (with_lines((6, "    - 我刚把钱转错了")), "bad.md:6: this '- ' is indented deeper than the item above, so YAML joins "
                                           "both into one item of 'similar_questions' ('说法一 - 我刚把钱转错了'): "
                                           "put its '-' under the one above"),
    # Repeats within an article, compared as search reads them (full width, case, traditional).
    (with_lines((6, "  - 说法一")), "bad.md:6: similar question '说法一' repeats the one at line 5: delete it"),
    (with_lines((6, "  - 問題是什麼?")), "bad.md:6: similar question '問題是什麼?' repeats the question: delete it"),
    (with_lines((6, "\t- 说法二")), "bad.md:6: invalid YAML: a tab indents this line: YAML indents with spaces only, "
                                      "replace the tab with spaces"),
    (with_lines((6, "  - 说法一！")), "bad.md:6: similar question '说法一！' repeats the one at line 5: delete it"),
    (front(*BASE, "related: [pw-pay, x]"), "bad.md:8: related id 'x' is this article's own id: delete it"),
    (front(*BASE, "related:", "  - pw-pay", "  - pw-login", "  - pw-pay"), "bad.md:11: related id 'pw-pay' is listed twice: delete one"),
    # Nobody can ask "？": search finds no word in it.
    (with_lines((3, 'question: "？"')), "bad.md:3: 'question' has no words, only '？'"),
    (with_lines((5, '  - "？！"')), "bad.md:5: similar question '？！' has no words"),
    (front(*BASE, "updated: 2099-01-01"), "bad.md:8: 'updated' is in the future (2099-01-01): write the date of the edit"),
    # In UTC past the last date Python has: still a date in the future, not a crash.
    (front(*BASE, "updated: 9999-12-31T23:00:00-05:00"),
     "bad.md:8: 'updated' is in the future (9999-12-31T23:00:00-05:00): write the date of the edit"),
    # YAML stops lines after the slip: the line of the unclosed bracket or quote is the one to fix.
    (with_lines((4, "similar_questions: [说法一, 说法二"), (5, "tags: [转账]"), (6, "related: []")),
     "bad.md:4: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence that starts here; "
     "YAML stopped at line 5): close the '[' with a ']'"),
    (with_lines((3, 'question: "问题是什么？')), "bad.md:3: invalid YAML: found unexpected end of stream (while scanning "
                                               "a quoted scalar that starts here; YAML stopped at line 8): end the text "
                                               "with the quote it starts with"),
    # A '-' without a space: YAML's own words ("could not find expected ':'") do not say it; as the first
    # item, the whole list was read as one phrasing and built.
    (with_lines((6, "  -说法二")), "bad.md:6: invalid YAML: no space after '-': YAML reads '-说法二' as text, not as a "
                                   "list item; write '- 说法二'"),
    (with_lines((5, "  -说法一")), "bad.md:5: no space after '-': YAML reads 'similar_questions' as one text ('-说法一 - "
                                   "说法二'), not as a list; write '- 说法一'"),
    # A key indented below a value: YAML's "a value holding ': '" advice sent the editor to quote it.
    (front(*BASE, "  tags: [转账]"), "bad.md:8: invalid YAML: 'tags:' is indented, so YAML reads it as more of the "
                                     "value above: start it at the beginning of the line, as the keys above"),
    # Not a key but more of the question, holding ': ': quotes are what it needs.
    (front(*BASE[:2], "  提示: 文字", *BASE[2:]), "bad.md:4: invalid YAML: mapping values are not allowed here (a value "
                                                 "holding ': ' must be put in quotes)"),
    # The first key indented: YAML's "expected '<document start>'" at the line below.
    (front("  id: x", *BASE[1:]), "bad.md:2: invalid YAML: this line is indented and the lines below it are not, so "
                                  "YAML reads no more after it: start it at the beginning of the line"),
    # The closing '---' forgotten and no '---' further down: where the answer starts, not line 1.
    (front(*BASE)[:-len("---\n答\n")] + "答案第一行。\n", "bad.md:8: front matter is not closed by a '---' line: if the "
                                                         "answer starts here, add the closing '---' above it"),
    (with_lines((7, "category:password")), "bad.md:7: no space after 'category:': YAML reads 'category:password' as "
                                          "text, not a key; write 'category: password'"),
    # A merge key copied from another YAML file: YAML's "could not determine a constructor for the tag …merge".
    (front(*BASE, "base: &b {tags: [转账]}", "<<: *b"), "bad.md:9: invalid YAML: '<<' (a YAML merge key) is not read: "
                                                        "write out the keys it would bring in"),
])
def test_a_slip_is_reported_at_its_line_with_what_to_write(make_corpus, text, expected):
    problems = bad_article_problems(make_corpus, text)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_first_line_with_trailing_spaces_and_old_mac_line_ends_are_read(make_corpus):
    text = front(*BASE)
    root = make_corpus({**TINY_ARTICLES, "password/spaces.md": text.replace("---\n", "---  \n", 1),
                        "password/mac.md": text.replace("id: x", "id: y").replace("说法", "讲法").replace("问题", "问").replace("\n", "\r")})
    read = {a.id: a for a in load_corpus(root).articles}
    assert read["x"].similar_questions == ("说法一", "说法二") and read["y"].similar_questions == ("讲法一", "讲法二") and read["y"].answer == "答"


def in_corpus(root, problems: list[str]) -> list[str]:
    return [p.replace(f"{root}/articles/", "") for p in problems]


def test_a_phrasing_in_two_articles_names_both(make_corpus):
    other = dict(TINY_ARTICLES["withdraw/arrival.md"], similar=["提现几天到", "支付密码忘了"])  # pw-pay's, line 5
    root = make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": other})
    assert in_corpus(root, problems_of(root)) == [
        "withdraw/arrival.md:6: '支付密码忘了' is also a phrasing of 'pw-pay' at password/forgot-pay.md:5: "
        "search cannot tell the two apart; keep it in the article that answers it"]


def test_a_phrasing_copied_with_punctuation_added_is_the_same_phrasing(make_corpus):
    # Search reads 支付密码忘了？ as 支付密码忘了: punctuation is no word.
    other = dict(TINY_ARTICLES["withdraw/arrival.md"], similar=["提现几天到", "支付密码忘了？"])
    root = make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": other})
    assert in_corpus(root, problems_of(root)) == [
        "withdraw/arrival.md:6: '支付密码忘了？' is also a phrasing of 'pw-pay' at password/forgot-pay.md:5: "
        "search cannot tell the two apart; keep it in the article that answers it"]


def test_a_list_or_mapping_file_written_askew_says_where_and_what_to_write(make_corpus):
    root = make_corpus()
    # popular.yml's first '-' without a space: YAML reads no list but one text, "expected a list" at line 1.
    (root / "popular.yml").write_text("# most asked first\n-pw-login\n- wd-time\n", "utf-8")
    # categories.yml's first key indented: "expected '<document start>'" at the line below.
    categories = (root / "categories.yml").read_text("utf-8")
    (root / "categories.yml").write_text("  " + categories, "utf-8")
    assert [p.replace(f"{root}/", "") for p in problems_of(root)] == [
        "categories.yml:1: invalid categories file: this line is indented and the lines below it are not, so YAML "
        "reads no more after it: start it at the beginning of the line",
        "popular.yml:2: invalid popular file: no space after '-': YAML reads the list as one text ('-pw-login - "
        "wd-time'); write '- pw-login'"]


def popular_file_problems(make_corpus, text: str) -> list[str]:
    """The problems of the tiny corpus with ``text`` as its popular.yml, without their directory."""
    root = make_corpus()
    (root / "popular.yml").write_text(text, "utf-8")
    return [p.rsplit("/", 1)[1] for p in problems_of(root)]


def test_an_item_of_popular_yml_that_is_not_text_is_reported_at_its_line_as_in_front_matter(make_corpus):
    # All of them were "popular.yml:1: invalid popular file: expected a list of article ids".
    assert popular_file_problems(make_corpus, "# most asked\n- pw-login\n-\n- 2024\n- 提示: 文字\n- [wd-time]\n") == [
        "popular.yml:3: empty item in popular.yml: write the text after the '-' or delete the line",
        "popular.yml:4: item of popular.yml is read as the number 2024, not as text: put the item in quotes",
        "popular.yml:5: item of popular.yml holds ': ' and is read as a key and value: put the item in quotes",
        "popular.yml:6: item of popular.yml must be text, not ['wd-time']"]
    assert popular_file_problems(make_corpus, "pw-login\n") == [
        "popular.yml:1: invalid popular file: expected a list of article ids, each on a line of its own after '- '"]


def test_a_popular_id_listed_twice_is_reported(make_corpus):
    assert popular_file_problems(make_corpus, "- pw-login\n- wd-time\n- pw-login\n") == [
        "popular.yml:3: 'pw-login' is listed twice (first at line 1): delete one"]


def test_a_broken_article_does_not_make_the_links_to_it_unknown(make_corpus):
    # pw-login links to pw-pay, popular.yml lists it: only forgot-pay.md itself is wrong.
    root = make_corpus()
    (root / "popular.yml").write_text("- pw-pay\n", "utf-8")
    path = root / "articles" / "password" / "forgot-pay.md"
    good = path.read_text("utf-8")
    path.write_text(good.replace("question: ", "question: [", 1), "utf-8")  # its id still readable
    assert in_corpus(root, problems_of(root)) == [
        "password/forgot-pay.md:3: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence that "
        "starts here; YAML stopped at line 4): close the '[' with a ']'"]
    # Its id unreadable: an id ending in the file's name (password-forgot-pay) plausibly is its own,
    # any other is unknown unless it is that file's.
    path.write_text(good.replace("id: pw-pay", "id: bad id"), "utf-8")
    (root / "popular.yml").write_text("- password-forgot-pay\n", "utf-8")
    assert in_corpus(root, problems_of(root)) == [
        "password/forgot-pay.md:2: invalid id 'bad id' (letters, digits, '.', '_', '-')",
        "password/forgot-login.md:10: unknown related id 'pw-pay' (unless it is the id of password/forgot-pay.md, which has "
        "problems: fix it first)"]


@pytest.mark.parametrize("sub", ["articles", "articles/password"])
def test_a_directory_without_articles_is_not_a_corpus(make_corpus, sub):
    root = make_corpus()
    problems = problems_of(root / sub)
    assert problems == [f"{root / sub}:0: not a corpus directory: a corpus holds articles/<category>/*.md, with "
                        f"categories.yml, popular.yml, scope.yml and dict/ beside articles/; this is inside the corpus "
                        f"{root}: give that"]


def test_a_flat_directory_of_articles_is_not_a_corpus(tmp_path):
    (tmp_path / "a.md").write_text(front(*BASE), "utf-8")
    assert problems_of(tmp_path) == [f"{tmp_path}:0: not a corpus directory: a corpus holds articles/<category>/*.md, "
                                     "with categories.yml, popular.yml, scope.yml and dict/ beside articles/"]


@pytest.mark.parametrize("line, expected", [
    ("transfer:\n", "categories.yml:3: category 'transfer' has no name: write 'transfer: <name shown to users>'"),
    ("transfer: 转账\n新 分类: 新\n", "categories.yml:4: invalid category id '新 分类': it names the directory articles/<id>/ "
                    "(letters, digits, '.', '_', '-')"),
    ("transfer: 2024\n", "categories.yml:3: the name of category 'transfer' is read as the number 2024, not as text: "
                         "put it in quotes"),
])
def test_a_bad_category_is_reported_at_its_line(make_corpus, line, expected):
    root = make_corpus()  # the line is the fourth, after password, transfer and withdraw
    (root / "categories.yml").write_text((root / "categories.yml").read_text("utf-8").replace("transfer: 转账\n", "") + line, "utf-8")
    assert [p.replace(f"{root}/", "") for p in problems_of(root)] == [expected]


def test_a_corpus_without_categories_builds_with_a_warning(make_corpus, tmp_path, capsys):
    from faq_search.cli import build_main

    # Warned of too, the build going on: an answer every response would carry whole (at its first
    # line, after a blank one), a file under articles/ that is not read.
    long = front(*BASE, answer="\n" + "长" * 20_001)
    root = make_corpus({**TINY_ARTICLES, "password/long.md": long, "password/notes.txt": "备忘\n"}, categories={})
    for _ in range(2):  # the second build publishes nothing: the corpus still has them
        assert build_main(["--corpus", str(root), "--out", str(tmp_path / "index")]) == 0
        err = capsys.readouterr().err
        assert f"warning: no categories file {root / 'categories.yml'}: category names are their ids" in err
        assert f"warning: {root}/articles/password/long.md:10: the answer is 20,001 characters long (over 20,000): every " \
               "search result and API response showing this article carries all of it" in err
        assert f"warning: {root}/articles/password/notes.txt:1: not read: articles are *.md files (rename it to notes.md " \
               "if it is one)" in err


def test_markdown_the_readers_show_as_typed_is_warned_about_at_its_line(make_corpus, tmp_path, capsys):
    from faq_search.cli import build_main
    from tests.test_corpus import write_jsonl

    # The answer starts at line 10, after a blank line; the table's first row is line 12.
    answer = "\n**费用**见下表，详情见[帮助](https://a.cn/fees)：\n\n| 项目 | 费用 |\n|---|---|\n| 提现 | 0.1% |\n\n# 注意\n"
    root = make_corpus({**TINY_ARTICLES, "password/fees.md": front(*BASE, answer=answer)})
    assert build_main(["--corpus", str(root), "--out", str(tmp_path / "index")]) == 0
    err = capsys.readouterr().err
    path = root / "articles" / "password" / "fees.md"
    assert path.read_text("utf-8").splitlines()[11] == "| 项目 | 费用 |"
    assert [line for line in err.splitlines() if line.startswith("warning")] == [
        f"warning: {path}:12: a Markdown table is shown as typed, pipes and all: write it as a list",
        f"warning: {path}:16: a Markdown heading ('#') is shown as typed: write it as a paragraph, in **bold** if it "
        "must stand out",
    ]
    # A JSON Lines entry is one line: the answer's own line is said.
    kb = write_jsonl(tmp_path / "kb.jsonl", [
        {"id": "a", "question": "问题一？", "answer": "答案"},
        {"id": "b", "question": "问题二？", "answer": "见下：\n<table>\n[电话](tel:4006608888)"},
    ])
    assert [str(w) for w in load_corpus(kb).warnings] == [
        f"{kb}:2: the answer's line 2: an HTML tag ('<table>') is shown as typed: answers are Markdown (paragraphs, "
        "lists, **bold**, [links](https://…))",
        f"{kb}:2: the answer's line 3: a link to 'tel:' is shown as typed: only http:// and https:// addresses are links",
    ]


def dictionary_problems(path) -> list[str]:
    with pytest.raises(CorpusError) as info:
        (load_synonyms if path.name == "synonyms.txt" else load_user_words)(path)
    return [p.rsplit("/", 1)[1] for p in map(str, info.value.problems)]


@pytest.mark.parametrize("name, added, expected", [
    # LOGIN is login for search: the second group would silently take it from the first.
    ("synonyms.txt", "signin LOGIN\nlogin 登入\n", "synonyms.txt:8: 'login' is already in the group at line 7 "
                                                  "(as 'LOGIN': search reads both alike): keep each word in one group"),
    ("synonyms.txt", "轉帳 过户\n", "synonyms.txt:7: '轉帳' is already in the group at line 2 (as '转帐'"),
    ("synonyms.txt", "提款\n", "synonyms.txt:7: '提款' alone is no group: add the words it stands for"),
    ("user_words.txt", "扫码付 100 n extra\n", "user_words.txt:4: '扫码付 100 n extra': 'extra' is one field too many: "
                                              "the format is 'word frequency [tag]'; delete it"),
    ("user_words.txt", "扫码付 100 高\n", "user_words.txt:4: '扫码付 100 高': '高' is not a part-of-speech tag"),
])
def test_a_dictionary_slip_is_reported_at_its_line(tmp_path, name, added, expected):
    path = tmp_path / "dict" / name
    path.parent.mkdir()
    path.write_text((TINY_SYNONYMS if name == "synonyms.txt" else TINY_USER_WORDS) + added, "utf-8")
    problems = dictionary_problems(path)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_both_dictionaries_and_the_articles_are_reported_in_one_round(make_corpus, tmp_path):
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": "问题：\n"})
    (root / "dict" / "user_words.txt").write_text(TINY_USER_WORDS + "扫码付 高\n", "utf-8")
    (root / "dict" / "synonyms.txt").write_text(TINY_SYNONYMS + "提款\n", "utf-8")
    # A build fails on the articles first; the dictionaries' slips come with them, not a round later.
    assert [p.rsplit("/", 1)[1] for p in problems_of(root)] == [
        "bad.md:1: missing YAML front matter (the file must start with '---')",
        "user_words.txt:4: '扫码付 高': expected 'word frequency' with a whole number (such as '扫码付 60'); the "
        "frequency would be ignored",
        "synonyms.txt:7: '提款' alone is no group: add the words it stands for (canonical form first) or delete the line"]
    # The articles fixed, the build's own reading of the dictionaries names both files' problems.
    (root / "articles" / "password" / "bad.md").unlink()
    with pytest.raises(CorpusError) as info:
        build_index(root, tmp_path / "index")
    assert [str(p).rsplit("/", 1)[1].split(":")[0] for p in info.value.problems] == ["user_words.txt", "synonyms.txt"]


def test_a_tagged_user_word_and_a_date_of_today_or_tomorrow_are_fine(tmp_path, make_corpus):
    path = tmp_path / "user_words.txt"
    path.write_text("扫码付 100 n\n扫一扫 nz\n", "utf-8")
    assert load_user_words(path) == [("扫码付", 100), ("扫一扫", None)]
    tomorrow = (date.today() + timedelta(days=1)).isoformat()  # a time zone ahead of the builder's
    assert load_corpus(make_corpus({**TINY_ARTICLES, "password/x.md": front(*BASE, f"updated: {tomorrow}")}))


# Line 2 id, 3 question, 5 a phrasing of pw-pay's, 6 an unknown category, 7 an unknown related id, 8 the date.
ALL_WRONG = ("id: x", "question: 问题是什么？", "similar_questions:", "  - 支付密码忘了", "category: nosuch",
             "related: [no-such-id]", "updated: 2025-01-31")


@pytest.mark.parametrize("line, text, first, of", [
    (8, "updated: 2026-13-45", "bad.md:8: 'updated' must be a date such as 2025-01-31, not '2026-13-45'", "'x'"),
    (2, "id: bad id", "bad.md:2: invalid id 'bad id'", "the article"),
    (3, "question: 12345", "bad.md:3: 'question' must be text, not 12345", "'x'"),
    (5, "  - 8", "bad.md:5: item of 'similar_questions' is read as the number 8", None),
])
def test_one_problem_of_an_article_does_not_hide_its_others(make_corpus, line, text, first, of):
    lines = list(ALL_WRONG)
    lines[line - 2] = text
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": front(*lines)})
    problems = in_corpus(root, problems_of(root))
    # Its id unreadable, a link's unknown id may be its own: said as before.
    unless = " (unless it is the id of " if text == "id: bad id" else ""
    expected = [f"password/{first}", "password/bad.md:6: unknown category 'nosuch'",
                f"password/bad.md:7: unknown related id 'no-such-id'{unless}"]
    if of is not None:  # the phrasing, unless it is the item that cannot be read
        expected.append(f"password/forgot-pay.md:5: '支付密码忘了' is also a phrasing of {of} at password/bad.md:5")
    assert len(problems) == len(expected) and all(any(p.startswith(e) for p in problems) for e in expected), problems


def test_a_field_that_cannot_be_read_is_not_checked_further(make_corpus):
    # 'category: [a]' is no category: not also an unknown one. YAML that does not parse: nothing else.
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": front(*ALL_WRONG[:4], "category: [a, b]", *ALL_WRONG[5:])})
    assert [p for p in in_corpus(root, problems_of(root)) if "category" in p] == [
        "password/bad.md:6: 'category' must be a string"]
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": front(*ALL_WRONG[:4], "category: [a", *ALL_WRONG[5:])},
                       name="unparsed")
    problems = in_corpus(root, problems_of(root))
    assert len(problems) == 1 and problems[0].startswith("password/bad.md:6: invalid YAML"), problems


@pytest.mark.parametrize("original, copy", [
    ("password/pw-pay.md", "password/a-copy.md"),  # the file named after the id is the original
    ("password/forgot-pay.md", "password/x-copy.md"),  # names do not tell: the later path is the copy
])
def test_a_copied_file_with_its_id_unchanged_is_one_duplicate_id_on_the_copy(make_corpus, original, copy):
    articles = {k: v for k, v in TINY_ARTICLES.items() if k != "password/forgot-pay.md"}
    pay = dict(TINY_ARTICLES["password/forgot-pay.md"], aliases=["pw-pay-old"])
    root = make_corpus({**articles, original: pay, copy: pay})
    assert in_corpus(root, problems_of(root)) == [
        f"{copy}:2: duplicate id 'pw-pay' (the id of {original}:2): give this article an id of its own"]


MANY = ("id: x", "question: 问题是什么？", "similar_questions:", *(f"  - 说法{n}" for n in "一二三四五六七八"),
        "category: password")


@pytest.mark.parametrize("first", ["- 说法一", " - 说法一"])
def test_a_first_item_indented_less_than_the_items_below_is_one_problem_at_its_line(make_corpus, first):
    # YAML joins every item into one: the slip is the first line, said once, the joined text cut short.
    lines = list(MANY)
    lines[3] = first
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": front(*lines)})
    assert in_corpus(root, problems_of(root)) == [
        "password/bad.md:5: the first item of 'similar_questions' is indented differently from the 7 items below it, "
        "so YAML joins them all into one item ('说法一 - 说法二 - 说法三 - 说法四 - 说法五 - 说法六 - 说法七…'): line up their '-'"]


def test_several_items_indented_too_deep_are_one_problem(make_corpus):
    lines = list(MANY)
    lines[5:8] = [f"    - 说法{n}" for n in "三四五"]  # lines 7-9 continue line 6's item
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": front(*lines)})
    assert in_corpus(root, problems_of(root)) == [
        "password/bad.md:7: this '- ' and the 2 below it (to line 9) are indented deeper than the item above, so "
        "YAML joins them into one item of 'similar_questions' ('说法二 - 说法三 - 说法四 - 说法五'): put their '-' under "
        "the one above"]


def test_a_popular_id_indented_too_deep_is_reported_at_its_line_as_joined(make_corpus):
    assert popular_file_problems(make_corpus, "# most asked\n- pw-login\n- wd-time\n  - nope-article\n") == [
        "popular.yml:4: this '- ' is indented deeper than the item above, so YAML joins both into one item of the "
        "list ('wd-time - nope-article'): put its '-' under the one above"]


@pytest.mark.parametrize("written, read_as", [("010", "the number 8"), ("true", "the truth value True"),
                                              ("2024-01-01", "the date 2024-01-01")])
def test_an_id_read_as_no_text_leaves_the_links_named_after_its_file_alone(make_corpus, written, read_as):
    # docs/corpus.md: an article whose id cannot be read takes the ids ending in its file's name.
    pay = TINY_ARTICLES["password/forgot-pay.md"]
    articles = {k: v for k, v in TINY_ARTICLES.items() if k != "password/forgot-pay.md"}
    login = dict(TINY_ARTICLES["password/forgot-login.md"], related=["password-forgot-pay"])
    root = make_corpus({**articles, "password/forgot-login.md": login,
                        "password/forgot-pay.md": article_text(dict(pay, id=written))})
    (root / "popular.yml").write_text("- password-forgot-pay\n", "utf-8")
    assert in_corpus(root, problems_of(root)) == [
        f"password/forgot-pay.md:2: 'id' is read as {read_as}, not as text: put it in quotes"]


def build_problems(root, out, analyzer) -> list[str]:
    with pytest.raises(CorpusError) as info:
        build_index(root, out, analyzer=analyzer)
    return [str(p).replace(f"{root}/", "") for p in info.value.problems]


def test_an_id_renamed_or_gone_is_explained_by_the_published_index(make_corpus, tmp_path, tiny_analyzer):
    # A rename fails the build (the links to the old id) before its rename warning: the problem says it.
    root, out = make_corpus(), tmp_path / "index"
    (root / "popular.yml").write_text("- pw-pay\n", "utf-8")
    build_index(root, out, analyzer=tiny_analyzer)
    pay = root / "articles" / "password" / "forgot-pay.md"
    text = pay.read_text("utf-8")
    pay.write_text(text.replace("id: pw-pay", "id: pw-payment"), "utf-8")
    said = ("(articles/password/forgot-pay.md had it in the published index; it now says 'pw-payment': write that, "
            "and keep the old id in its aliases for the links and votes made before)")
    assert build_problems(root, out, tiny_analyzer) == [
        f"articles/password/forgot-login.md:10: unknown related id 'pw-pay' {said}",
        f"popular.yml:1: unknown article id 'pw-pay' {said}"]
    # Moved to another folder and renamed: what it probably became; deleted: gone.
    pay.unlink()
    (root / "articles" / "withdraw" / "pay.md").write_text(text.replace("id: pw-pay", "id: wd-pay").replace(
        "category: password", "category: withdraw"), "utf-8")
    assert build_problems(root, out, tiny_analyzer)[0] == (
        "articles/password/forgot-login.md:10: unknown related id 'pw-pay' (articles/password/forgot-pay.md had it in "
        "the published index; its file is gone, and 'wd-pay' (articles/withdraw/pay.md) looks like it moved: write "
        "that, and keep the old id in its aliases for the links and votes made before)")
    (root / "articles" / "withdraw" / "pay.md").unlink()
    assert build_problems(root, out, tiny_analyzer)[0] == (
        "articles/password/forgot-login.md:10: unknown related id 'pw-pay' (articles/password/forgot-pay.md had it in "
        "the published index; its file is gone: delete it here, or bring the article back)")


def test_a_misspelt_id_the_published_index_had_says_what_it_is_called_now(make_corpus, tmp_path, tiny_analyzer):
    # pw-pay renamed pw-payment, and the link to it misspelt: too far from 'pw-payment' for a guess from the
    # corpus alone, close to the id the published index had.
    root, out = make_corpus(), tmp_path / "index"
    build_index(root, out, analyzer=tiny_analyzer)
    pay, login = root / "articles" / "password" / "forgot-pay.md", root / "articles" / "password" / "forgot-login.md"
    pay.write_text(pay.read_text("utf-8").replace("id: pw-pay", "id: pw-payment"), "utf-8")
    login.write_text(login.read_text("utf-8").replace("related: [pw-pay]", "related: [pw-pya]"), "utf-8")
    assert build_problems(root, out, tiny_analyzer) == [
        "articles/password/forgot-login.md:10: unknown related id 'pw-pya' (did you mean 'pw-pay'? "
        "articles/password/forgot-pay.md had it in the published index; it now says 'pw-payment': write that, and "
        "keep the old id in its aliases for the links and votes made before)"]
    # The old id kept in its aliases: the corpus says what it is called now, and the published index adds nothing.
    pay.write_text(pay.read_text("utf-8").replace("id: pw-payment", "id: pw-payment\naliases: [pw-pay]"), "utf-8")
    assert build_problems(root, out, tiny_analyzer) == [
        "articles/password/forgot-login.md:10: unknown related id 'pw-pya' (did you mean 'pw-pay'? It is a former "
        "id of 'pw-payment': write 'pw-payment')"]
    login.write_text(login.read_text("utf-8").replace("related: [pw-pya]", "related: [pw-pay]"), "utf-8")
    assert build_problems(root, out, tiny_analyzer) == [
        "articles/password/forgot-login.md:10: related id 'pw-pay' is a former id of 'pw-payment': write 'pw-payment'"]


def test_a_misspelt_id_category_or_key_says_what_was_meant(make_corpus):
    login = dict(TINY_ARTICLES["password/forgot-login.md"], related=["pw-pya"], category="passwords")
    root = make_corpus({**TINY_ARTICLES, "password/forgot-login.md": article_text(login).replace(
        "similar_questions:", "similar_question:")})
    (root / "popular.yml").write_text("- wd-tim\n", "utf-8")
    assert in_corpus(root, problems_of(root)) == [
        "password/forgot-login.md:4: unknown key 'similar_question' (did you mean 'similar_questions'?)",
        "password/forgot-login.md:8: unknown category 'passwords' (not in categories.yml): did you mean 'password', "
        "the folder the file is in?",
        "password/forgot-login.md:10: unknown related id 'pw-pya' (did you mean 'pw-pay'?)",
        f"{root}/popular.yml:1: unknown article id 'wd-tim' (did you mean 'wd-time'?)"]


def test_an_unknown_id_like_no_other_says_what_to_write_or_to_delete_it(make_corpus, tmp_path, tiny_analyzer):
    # Nothing close to guess from: the editor is told where ids are written and the other way out.
    login = dict(TINY_ARTICLES["password/forgot-login.md"], related=["pw-pay", "card-lost"])
    root = make_corpus({**TINY_ARTICLES, "password/forgot-login.md": article_text(login)})
    (root / "popular.yml").write_text("- pw-login\n- card-lost\n", "utf-8")
    fix = "(no article has this id: write the one on the 'id:' line of the article meant, or delete"
    assert in_corpus(root, problems_of(root)) == [
        f"password/forgot-login.md:10: unknown related id 'card-lost' {fix} it from related)",
        f"{root}/popular.yml:2: unknown article id 'card-lost' {fix} this line)"]
    # An id the published index had is explained by what became of it instead.
    (root / "popular.yml").write_text("- pw-login\n", "utf-8")
    login["related"] = ["pw-pay"]
    (root / "articles" / "password" / "forgot-login.md").write_text(article_text(login), "utf-8")
    out = tmp_path / "index"
    build_index(root, out, analyzer=tiny_analyzer)
    (root / "articles" / "password" / "forgot-pay.md").unlink()
    (root / "popular.yml").write_text("- pw-pay\n", "utf-8")
    gone = "(articles/password/forgot-pay.md had it in the published index; its file is gone: delete it here, or bring " \
           "the article back)"
    assert build_problems(root, out, tiny_analyzer) == [
        f"articles/password/forgot-login.md:10: unknown related id 'pw-pay' {gone}",
        f"popular.yml:1: unknown article id 'pw-pay' {gone}"]


def test_a_question_written_for_an_id_names_the_article_it_asks(make_corpus):
    login = dict(TINY_ARTICLES["password/forgot-login.md"], related=["钱转错人了"])
    root = make_corpus({**TINY_ARTICLES, "password/forgot-login.md": article_text(login)})
    (root / "popular.yml").write_text("- 提现多久到账？\n- 提现多久到账吗\n", "utf-8")
    fix = "(no article has this id: write the one on the 'id:' line of the article meant, or delete this line)"
    assert in_corpus(root, problems_of(root)) == [
        "password/forgot-login.md:10: unknown related id '钱转错人了' (that is a question of 'tr-wrong': write that id "
        "instead)",
        f"{root}/popular.yml:1: unknown article id '提现多久到账？' (that is a question of 'wd-time': write that id instead)",
        f"{root}/popular.yml:2: unknown article id '提现多久到账吗' {fix}"]


@pytest.mark.parametrize("where", ["root.md", "imported/x.md"])
def test_an_article_outside_a_category_folder_without_a_category_is_told_to_name_one(make_corpus, where):
    # Its folder (articles/, imported/) is no category the editor wrote: not "unknown category 'imported'".
    root = make_corpus({**TINY_ARTICLES, where: front(*(line for line in BASE if not line.startswith("category")))})
    folder = " (imported/ is not in categories.yml)" if where.startswith("imported") else ""
    assert in_corpus(root, problems_of(root)) == [
        f"{where}:2: no 'category': add 'category: <id>' or move the file into articles/<category>/{folder}"]
    # Written, it is read wherever the file is; with no categories.yml, a folder directly under articles/ is one.
    (root / "articles" / where).write_text(front(*BASE), "utf-8")
    assert {a.category for a in load_corpus(root).articles} == {"password", "transfer", "withdraw"}
    (root / "categories.yml").unlink()
    (root / "articles" / where).write_text(front(*BASE[:-1]), "utf-8")
    if where == "root.md":
        assert in_corpus(root, problems_of(root)) == [
            "root.md:2: no 'category': add 'category: <id>' or move the file into articles/<category>/"]
    else:
        assert "imported" in {a.category for a in load_corpus(root).articles}
