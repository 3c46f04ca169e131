import json

import pytest

from faq_search.corpus import CorpusError, Scope, load_corpus
from tests.conftest import TINY_ARTICLES, TINY_SYNONYMS, TINY_USER_WORDS


def problems_of(path):
    with pytest.raises(CorpusError) as info:
        load_corpus(path)
    return [str(p) for p in info.value.problems]


def test_loads_articles_with_all_fields(make_corpus):
    corpus = load_corpus(make_corpus())
    assert len(corpus) == 4
    article = next(a for a in corpus.articles if a.id == "pw-login")
    assert article.question == "忘记登录密码怎么办？"
    assert article.similar_questions[0] == "登录密码忘了"
    assert article.category == "password" and article.tags == ("密码",) and article.related == ("pw-pay",)
    assert article.answer.startswith("在登录页")
    assert corpus.categories["password"] == "密码"


def test_content_hash_changes_when_an_article_changes(make_corpus, tmp_path):
    root = make_corpus()
    before = load_corpus(root).content_hash
    path = root / "articles" / "withdraw" / "arrival.md"
    path.write_text(path.read_text("utf-8").replace("2小时", "3小时"), "utf-8")
    assert load_corpus(root).content_hash != before


BAD_YAML = "---\nid: x1\nquestion: [unclosed\ncategory: password\n---\n答案\n"
MISSING_QUESTION = "---\nid: x2\ncategory: password\n---\n答案在这里\n"
MISSING_ANSWER = "---\nid: x3\nquestion: 问题？\ncategory: password\n---\n\n"
NO_FRONT_MATTER = "只有正文，没有元数据\n"


@pytest.mark.parametrize(
    "content, line, message",
    [
        # The unclosed '[' is on line 3; YAML only stops on the next one.
        (BAD_YAML, 3, "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence that starts here; "
                      "YAML stopped at line 4)"),
        (MISSING_QUESTION, 1, "missing 'question'"),
        (MISSING_ANSWER, 5, "missing answer"),  # the closing '---', not past the end of the file
        (MISSING_ANSWER.rstrip("\n"), 5, "missing answer"),
        (NO_FRONT_MATTER, 1, "missing YAML front matter"),
        ("", 1, "file is empty"),
        ("---\nid: x4\nquestion: 问？\nsimilar_questions: 7\ncategory: password\nwhat: 1\n---\n答\n", 6, "unknown key 'what'"),
        # YAML keeps the last of two equal keys without a word: one of the editor's questions would vanish.
        ("---\nid: x5\nquestion: 问一？\ncategory: password\nquestion: 问二？\n---\n答\n", 5, "invalid YAML: duplicate key 'question'"),
        # A date YAML cannot make (month 13) raised out of the parser: a traceback, no file or line.
        ("---\nid: x6\nquestion: 问？\ncategory: password\nupdated: 2026-13-45\n---\n答\n", 5,
         "'updated' must be a date such as 2025-01-31, not '2026-13-45'"),
        ("---\nid: x7\nquestion: 12345\ncategory: password\n---\n答\n", 3, "'question' must be text, not 12345 (put it in quotes)"),
        ("---\nid: x8\ncategory: password\nquestion: 问\x00题？\n---\n答\n", 4, "invalid YAML: unacceptable character #x0000"),
    ],
)
def test_each_bad_article_is_reported_as_path_line_message(make_corpus, content, line, message):
    root = make_corpus({**TINY_ARTICLES, "password/bad.md": content})
    problems = problems_of(root)
    assert any(p.startswith(f"corpus/articles/password/bad.md:{line}: ") or f"password/bad.md:{line}: " in p for p in problems), problems
    assert any(message in p for p in problems), problems


def test_an_unreadable_article_path_is_reported_as_path_line_message(make_corpus):
    root = make_corpus()
    (root / "articles" / "password" / "folder.md").mkdir()
    (root / "articles" / "password" / "gone.md").symlink_to(root / "nowhere.md")
    problems = problems_of(root)
    assert any(p.endswith("password/folder.md:1: cannot read the file: Is a directory") for p in problems), problems
    assert any(p.endswith("password/gone.md:1: cannot read the file: No such file or directory") for p in problems), problems


@pytest.mark.parametrize("name", ["popular.yml", "scope.yml", "categories.yml"])
def test_a_dangling_link_in_place_of_a_corpus_file_is_reported_as_an_article_s_is(make_corpus, name):
    # It was taken for no file: the build went on without the curated list or the product names.
    root = make_corpus()
    (root / name).unlink(missing_ok=True)
    (root / name).symlink_to(root / "nowhere.yml")
    problems = problems_of(root)
    assert any(p.endswith(f"{name}:1: cannot read the file: No such file or directory") for p in problems), problems


def test_an_unreadable_folder_of_articles_is_reported_not_left_out(make_corpus, monkeypatch):
    # os.walk skipped a folder it could not list (mode 000, another owner): its articles were left out of the
    # published version without a word.
    import os

    root = make_corpus()
    folder = root / "articles" / "password"
    real = os.scandir

    def scandir(path="."):  # root lists a folder of mode 000: what the build's user meets
        if os.fspath(path) == str(folder):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    problems = problems_of(root)
    assert any(p.endswith("articles/password:0: cannot read the directory: Permission denied: make it readable by the "
                          "user running the build, or its articles are left out") for p in problems), problems


@pytest.mark.parametrize("how", ["a directory", "no permission"])
@pytest.mark.parametrize("name", ["categories.yml", "popular.yml", "scope.yml"])
def test_an_unreadable_corpus_list_is_a_problem_at_line_1_with_the_others(make_corpus, monkeypatch, name, how):
    # It escaped as a file-system error (the build's first and only message), or, a directory named popular.yml
    # or scope.yml, was taken for no file at all.
    import pathlib

    root = make_corpus()
    (root / "articles" / "password" / "broken.md").write_text("no front matter\n", "utf-8")
    listed = root / name
    if how == "a directory":
        listed.unlink(missing_ok=True)
        listed.mkdir()
    else:  # root reads a file of mode 000: refused here as the build's user is
        listed.write_text({"categories.yml": "password: 密码\n", "popular.yml": "- pw-login\n",
                           "scope.yml": "ours: [一钱包]\n"}[name], "utf-8")
        for method in ("read_text", "read_bytes"):
            def refused(path, *args, real=getattr(pathlib.Path, method), **kwargs):
                if path == listed:
                    raise PermissionError(13, "Permission denied", str(path))
                return real(path, *args, **kwargs)

            monkeypatch.setattr(pathlib.Path, method, refused)
    problems = problems_of(root)
    reason = "Is a directory" if how == "a directory" else "Permission denied"
    assert any(p.endswith(f"{name}:1: cannot read the file: {reason}") for p in problems), problems
    assert any(p.endswith("password/broken.md:1: missing YAML front matter (the file must start with '---')")
               for p in problems), problems


def test_non_utf8_file_is_reported(make_corpus):
    root = make_corpus()
    (root / "articles" / "password" / "latin1.md").write_bytes("---\nid: z\nquestion: caf\xe9\n---\nx\n".encode("latin-1"))
    assert any(p.endswith("latin1.md:3: file is not valid UTF-8: save it as UTF-8") for p in problems_of(root))


def test_duplicate_id_names_both_places(make_corpus):
    dup = dict(TINY_ARTICLES["password/forgot-pay.md"], id="pw-login")
    problems = problems_of(make_corpus({**TINY_ARTICLES, "password/forgot-pay.md": dup}))
    assert any("forgot-pay.md:2: duplicate id 'pw-login' (the id of " in p and "forgot-login.md:2)" in p for p in problems)


FLOW_RELATED = "---\nid: x5\nquestion: 问？\ncategory: password\nrelated: [pw-pay, no-such-article]\n---\n答\n"
# "no-such-article-2" first: the unknown id must be matched whole.
BLOCK_RELATED = "---\nid: x6\nquestion: 问？\nrelated:\n  - no-such-article-2\n  - no-such-article\ncategory: misc\n---\n答\n"


@pytest.mark.parametrize("content, line", [(FLOW_RELATED, 5), (BLOCK_RELATED, 6)])
def test_unknown_related_id_names_its_line(make_corpus, content, line):
    problems = problems_of(make_corpus({**TINY_ARTICLES, "password/odd.md": content}))
    assert any(f"odd.md:{line}: unknown related id 'no-such-article'" in p for p in problems), problems


def test_unknown_category_names_its_line(make_corpus):
    problems = problems_of(make_corpus({**TINY_ARTICLES, "password/odd.md": BLOCK_RELATED}))
    assert any("odd.md:7: unknown category 'misc'" in p for p in problems), problems


def test_unknown_category_from_the_folder_names_the_id_line(make_corpus):
    # No 'category' key, a folder no category's: the article itself is named.
    content = "---\nid: x7\nquestion: 问？\n---\n答\n"
    problems = problems_of(make_corpus({**TINY_ARTICLES, "misc/odd.md": content}))
    assert any("misc/odd.md:2: no 'category': add 'category: <id>' or move the file into articles/<category>/ "
               "(misc/ is not in categories.yml)" in p for p in problems), problems


def test_all_problems_are_collected_in_one_pass(make_corpus):
    root = make_corpus({**TINY_ARTICLES, "password/a.md": MISSING_QUESTION, "password/b.md": MISSING_ANSWER})
    problems = problems_of(root)
    assert any("a.md" in p for p in problems) and any("b.md" in p for p in problems)


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_jsonl_import(tmp_path):
    path = write_jsonl(tmp_path / "kb.jsonl", [
        {"id": "1", "question": "怎么提现", "similar_questions": ["提现方法"], "answer": "在余额页点提现。", "category": "钱", "tags": ["提现"]},
        {"id": "2", "question": "", "similar_questions": [], "answer": "客服热线 400-660-8888，每天 8:00-22:00。"},
        {"id": "3", "question": "积分怎么用", "similar_questions": [], "answer": ""},
    ])
    corpus = load_corpus(path)
    assert [a.id for a in corpus.articles] == ["1", "2", "3"]
    assert corpus.articles[0].similar_questions == ("提现方法",)
    assert corpus.categories == {"钱": "钱"}


def test_jsonl_problems_name_the_line(tmp_path):
    path = write_jsonl(tmp_path / "kb.jsonl", [
        {"id": "1", "question": "好的问题", "answer": "好的回答"},
        "{not json",
        {"id": "2", "question": "", "similar_questions": [], "answer": "  "},
        {"id": "1", "question": "重复", "answer": "重复"},
        {"question": "没有 id", "answer": "x"},
    ])
    problems = problems_of(path)
    assert any(p.endswith(":2: invalid JSON: Expecting property name enclosed in double quotes") for p in problems), problems
    assert any(":3: entry has no text" in p for p in problems)
    assert any(":4: duplicate id '1'" in p for p in problems)
    assert any(":5: missing or invalid 'id'" in p for p in problems)


def test_a_phrasing_of_two_jsonl_entries_is_a_warning_naming_both(tmp_path):
    # As search reads it: ？ and full-width letters make no other phrasing. An export holds such
    # repeats: it still loads, each repeat said at its line with the entry that had it first.
    path = write_jsonl(tmp_path / "kb.jsonl", [
        {"id": "a", "question": "怎么提现", "similar_questions": ["提现方法"], "answer": "在余额页点提现。"},
        {"id": "b", "question": "ＡＰＰ怎么下载", "answer": "在应用商店搜索。"},
        {"id": "c", "question": "提现多久到账", "similar_questions": ["怎么提现？", "提现方法", "怎么提现？"],
         "answer": "两小时内。"},
        {"id": "d", "question": "app怎么下载", "answer": "扫码下载。"},
    ])
    corpus = load_corpus(path)
    assert len(corpus.articles) == 4
    assert [str(w) for w in corpus.warnings] == [
        f"{path}:3: '怎么提现？' of 'c' is also a phrasing of 'a' at {path}:1: search cannot tell the two apart; "
        "keep it in the entry that answers it",
        f"{path}:3: '提现方法' of 'c' is also a phrasing of 'a' at {path}:1: search cannot tell the two apart; "
        "keep it in the entry that answers it",
        f"{path}:4: 'app怎么下载' of 'd' is also a phrasing of 'b' at {path}:2: search cannot tell the two apart; "
        "keep it in the entry that answers it",
    ]


def test_many_repeated_jsonl_phrasings_are_counted_past_the_first_few(tmp_path):
    from faq_search.corpus import REPEATS_LISTED

    n = REPEATS_LISTED + 25
    path = write_jsonl(tmp_path / "kb.jsonl", [{"id": f"e{i}", "question": f"问题{i // 2}", "answer": "答"}
                                               for i in range(2 * n)])
    warnings = [str(w) for w in load_corpus(path).warnings]
    assert len(warnings) == REPEATS_LISTED + 1
    assert warnings[0].startswith(f"{path}:2: '问题0' of 'e1' is also a phrasing of 'e0' at {path}:1: ")
    assert warnings[-1] == (f"{path}:0: {n} phrasings are also phrasings of an earlier entry: the first "
                            f"{REPEATS_LISTED} are named above, the other {n - REPEATS_LISTED} not")


def test_missing_corpus_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "nowhere")


def test_updated_comes_from_front_matter_or_the_file_time(make_corpus):
    import os

    dated = dict(TINY_ARTICLES["withdraw/arrival.md"])
    root = make_corpus({"withdraw/arrival.md": dated, "password/forgot-login.md": {**TINY_ARTICLES["password/forgot-login.md"], "related": []}})
    path = root / "articles" / "withdraw" / "arrival.md"
    path.write_text(path.read_text("utf-8").replace("category: withdraw", "category: withdraw\nupdated: 2025-03-04"), "utf-8")
    other = root / "articles" / "password" / "forgot-login.md"
    os.utime(other, (1700000000, 1700000000))
    by_id = {a.id: a for a in load_corpus(root).articles}
    assert by_id["wd-time"].updated == "2025-03-04"
    assert by_id["pw-login"].updated == "2023-11-14T22:13:20+00:00"


def test_settings_files_name_the_line_of_their_yaml_error(make_corpus):
    root = make_corpus()
    cats = root / "categories.yml"
    cats.write_text(cats.read_text("utf-8") + "password: 又一个\n", "utf-8")
    (root / "popular.yml").write_text("- pw-login\n- [tr-wrong\n", "utf-8")
    line = len(cats.read_text("utf-8").splitlines())
    problems = problems_of(root)
    assert any(p.endswith(f"categories.yml:{line}: invalid categories file: duplicate key 'password'") for p in problems), problems
    assert any("popular.yml:2: invalid popular file: " in p for p in problems), problems  # the '[' left open


def test_bad_updated_and_unknown_popular_id_are_reported(make_corpus):
    root = make_corpus()
    path = root / "articles" / "withdraw" / "arrival.md"
    path.write_text(path.read_text("utf-8").replace("category: withdraw", "category: withdraw\nupdated: last week"), "utf-8")
    (root / "popular.yml").write_text("- pw-login\n- no-such-article\n", "utf-8")
    problems = problems_of(root)
    assert any(p.endswith("arrival.md:8: 'updated' must be a date such as 2025-01-31, not 'last week'") for p in problems), problems
    assert any(p.endswith("popular.yml:2: unknown article id 'no-such-article' (no article has this id: write the one "
                          "on the 'id:' line of the article meant, or delete this line)") for p in problems), problems


def test_popular_list_is_loaded_and_part_of_the_content_hash(make_corpus):
    root = make_corpus()
    before = load_corpus(root).content_hash
    (root / "popular.yml").write_text("- wd-time\n- pw-login\n", "utf-8")
    corpus = load_corpus(root)
    assert corpus.popular == ("wd-time", "pw-login")
    assert corpus.content_hash != before


def test_scope_is_loaded_and_part_of_the_content_hash(make_corpus):
    root = make_corpus()
    before = load_corpus(root)
    assert before.scope == Scope()
    (root / "scope.yml").write_text("# whose questions we answer\nours: [易钱包]\nothers:\n  - 微信\n  - 支付宝\n", "utf-8")
    corpus = load_corpus(root)
    assert corpus.scope == Scope(("易钱包",), ("微信", "支付宝"))
    assert corpus.content_hash != before.content_hash
    (root / "scope.yml").write_text("ours: [易钱包]\nsites: [help.yiqianbao.com]\n", "utf-8")
    assert load_corpus(root).scope == Scope(("易钱包",), (), ("help.yiqianbao.com",))
    # Others' business asked in our words, and whom to ask instead; kept through the index's JSON.
    (root / "scope.yml").write_text("others: [支付宝]\nask:\n  发卡银行: [办信用卡, 信用卡年费]\n  开户银行:\n    - 取款密码\n", "utf-8")
    scope = load_corpus(root).scope
    assert scope.ask == (("发卡银行", ("办信用卡", "信用卡年费")), ("开户银行", ("取款密码",)))
    assert scope.other_names == ("支付宝", "办信用卡", "信用卡年费", "取款密码")
    assert [scope.whom_to_ask(n) for n in ("信用卡年费", "取款密码", "支付宝")] == ["发卡银行", "开户银行", None]
    assert Scope.from_json(json.loads(json.dumps(scope.to_json()))) == scope
    assert Scope.from_json({"ours": ["易钱包"], "others": ["支付宝"], "sites": []}).ask == ()  # a version built before


@pytest.mark.parametrize("text, expected", [
    ("ours: [易钱包]\nother: [微信]\n", "scope.yml:2: unknown key 'other' (expected 'ours', 'others', 'sites' and 'ask')"),
    ("ours: [易钱包]\nask: [办信用卡]\n", "scope.yml:2: 'ask' must map whom to ask to a list of names"),
    ("ours: [易钱包]\nask:\n  发卡银行:\n  开户银行: [贷款]\n", "scope.yml:3: '发卡银行' lists no names"),
    ("ours: [易钱包]\nask:\n  发卡银行:\n    - 办信用卡\n    - 易钱包\n", "scope.yml:5: '易钱包' is both ours and another's business"),
    ("others: [贷款]\nask:\n  开户银行:\n    - 存款利率\n    - 贷款\n", "scope.yml:5: '贷款' is listed twice"),
    ("ask:\n  开户银行:\n    - 贷款\n    -\n", "scope.yml:4: empty item in '开户银行'"),
    ("ours: [易钱包]\nothers: {微信: 1}\n", "scope.yml:2: 'others' must be a list of strings"),
    ("ours: [易钱包]\nothers: [微信, 易钱包]\n", "scope.yml:2: '易钱包' is both ours and another product's"),
    ("- 微信\n", "scope.yml:1: invalid scope file: expected a mapping with 'ours' and 'others'"),
    ("ours: [易钱包\nothers: [微信]\n", "scope.yml:1: invalid scope file"),
    # A site links exactly its host: a scheme, a path or capitals would make it a pattern to guess at.
    ("ours: [易钱包]\nsites:\n  - help.yiqianbao.com\n  - https://help.yiqianbao.com/\n",
     "scope.yml:4: site 'https://help.yiqianbao.com/' is not a host name: write it in lower case, without https:// or a path"),
    ("sites: [localhost]\n", "scope.yml:1: site 'localhost' is not a host name"),
])
def test_a_bad_scope_file_is_reported_with_its_line(make_corpus, text, expected):
    root = make_corpus()
    (root / "scope.yml").write_text(text, "utf-8")
    problems = problems_of(root)
    assert any(expected in p for p in problems), problems


def test_a_scope_file_that_is_not_utf8_is_reported_not_garbled(make_corpus):
    root = make_corpus()
    (root / "scope.yml").write_bytes("ours: [易钱包]\nothers:\n  - 支付宝\n".encode("gbk"))
    assert any(p.endswith("scope.yml:1: file is not valid UTF-8: save it as UTF-8") for p in problems_of(root))
    (root / "scope.yml").write_bytes("# 范围\n".encode("utf-8") + "ours: [易钱包]\n".encode("gbk"))
    assert any("scope.yml:2: file is not valid UTF-8" in p for p in problems_of(root))


def test_editor_files_hidden_files_and_readmes_are_not_articles(make_corpus):
    root = make_corpus()
    folder = root / "articles" / "password"
    (folder / ".#forgot-login.md").symlink_to("root@host.1234:1700000000")  # Emacs's lock: a dangling link
    hidden = TINY_ARTICLES["password/forgot-login.md"] | {"id": "hidden"}
    from tests.conftest import article_text
    for name in (".forgot-login.md.swp", "forgot-login.md~", "#forgot-login.md#", ".hidden.md", "forgot-login.md.orig"):
        (folder / name).write_text(article_text(hidden), "utf-8")
    (root / "articles" / ".git").mkdir()
    (root / "articles" / ".git" / "x.md").write_text("not an article", "utf-8")
    (root / "articles" / "README.md").write_text("# Articles\n", "utf-8")
    corpus = load_corpus(root)
    assert sorted(a.id for a in corpus.articles) == ["pw-login", "pw-pay", "tr-wrong", "wd-time"]


def test_a_dangling_link_is_named_by_itself_not_its_target(make_corpus, monkeypatch):
    root = make_corpus()
    monkeypatch.chdir(root)
    (root / "articles" / "password" / "linked.md").symlink_to("root@host.1:1")
    assert "articles/password/linked.md:1: cannot read the file: No such file or directory" in problems_of(root)


def test_article_files_with_another_extension_are_reported(make_corpus):
    root = make_corpus()
    from tests.conftest import article_text
    for name in ("ext.MD", "long.markdown"):
        (root / "articles" / "password" / name).write_text(article_text(TINY_ARTICLES["withdraw/arrival.md"]), "utf-8")
    problems = problems_of(root)
    assert any(p.endswith("password/ext.MD:1: not read: article files must end in .md (rename it to ext.md)")
               for p in problems), problems
    assert any(p.endswith("password/long.markdown:1: not read: article files must end in .md (rename it to long.md)")
               for p in problems), problems


@pytest.mark.parametrize("name", ["forgot-pay.txt", "forgot-pay.markdown"])
def test_a_link_to_an_article_in_a_file_that_is_not_read_names_the_file(make_corpus, name):
    articles = {**TINY_ARTICLES}
    articles[f"password/{name}"] = articles.pop("password/forgot-pay.md")
    root = make_corpus(articles)
    assert [p for p in problems_of(root) if "unknown" in p] == [
        f"{root}/articles/password/forgot-login.md:10: unknown related id 'pw-pay' (in {root}/articles/password/{name}? "
        "That file is not read: articles are *.md files, rename it to forgot-pay.md)"]


def test_an_empty_articles_directory_is_refused(make_corpus):
    root = make_corpus({})
    assert (root / "categories.yml").exists()
    problems = problems_of(root)
    assert len(problems) == 1 and problems[0].endswith("articles:0: no articles (*.md) found"), problems


def test_an_unknown_popular_id_is_reported_at_its_own_item(make_corpus):
    # 'pw' is inside 'pw-login' on line 2: the problem is the item on line 4.
    root = make_corpus()
    (root / "popular.yml").write_text("# most asked\n- pw-login\n- wd-time\n- pw\n", "utf-8")
    problems = problems_of(root)
    assert problems == [p for p in problems if "popular.yml:4: unknown article id 'pw' (" in p] and problems, problems


def test_an_article_moved_to_another_category_directory_is_reported(make_corpus):
    # Moved from withdraw/ to password/ with 'category: withdraw' kept: the move would change nothing.
    # A directory that is no category (imported/) may hold any category.
    moved = {**TINY_ARTICLES}
    moved["password/arrival.md"] = moved.pop("withdraw/arrival.md")
    moved["imported/forgot-pay.md"] = moved.pop("password/forgot-pay.md")
    root = make_corpus(moved)
    line = next(i for i, t in enumerate((root / "articles/password/arrival.md").read_text("utf-8").splitlines(), 1)
                if t.startswith("category:"))
    problems = problems_of(root)
    assert len(problems) == 1 and problems[0].endswith(
        f"password/arrival.md:{line}: category 'withdraw' but the file is in password/: "
        "set 'category: password' or move the file to withdraw/"), problems



@pytest.mark.parametrize(
    "content, expected",
    [
        # The bad item's line, not the key's (line 4), and what is wrong with it.
        ("---\nid: y1\nquestion: 问？\nsimilar_questions:\n  - 问法一\n  - 问法二\n  -\ncategory: password\n---\n答\n",
         "bad.md:7: empty item in 'similar_questions': write the text after the '-' or delete the line"),
        ("---\nid: y2\nquestion: 问？\nsimilar_questions:\n  - 问法一\n  - 提示: 问法二\ncategory: password\n---\n答\n",
         "bad.md:6: item of 'similar_questions' holds ': ' and is read as a key and value: put the item in quotes"),
        # A full-width colon (Chinese IME): YAML would stop at the next line, line 4.
        ("---\nid: y3\nquestion：问？\ncategory: password\n---\n答\n",
         "bad.md:3: 'question' is followed by a full-width colon '：': type ':' and a space"),
        ("---\nid: y4\nquestion: 提示: 问？\ncategory: password\n---\n答\n",
         "bad.md:3: invalid YAML: mapping values are not allowed here (a value holding ': ' must be put in quotes)"),
        # The closing '---' forgotten, a '---' rule further down: YAML stopped at line 7, the answer starts at 6.
        ("---\nid: y5\nquestion: 问？\ncategory: password\n\n第一段答案。\n\n---\n\n第二段。\n",
         "bad.md:6: not a 'key: value' line: if the answer starts here, add the closing '---' above it"),
    ],
)
def test_a_bad_value_is_reported_at_its_line_with_what_to_do(make_corpus, content, expected):
    problems = problems_of(make_corpus({**TINY_ARTICLES, "password/bad.md": content}))
    assert len(problems) == 1 and problems[0].endswith(expected), problems


def test_a_bad_scope_item_is_reported_at_its_line(make_corpus):
    root = make_corpus()
    (root / "scope.yml").write_text("ours: [易钱包]\nothers:\n  - 微信\n  -\n", "utf-8")
    assert [p.rsplit("/", 1)[-1] for p in problems_of(root)] == [
        "scope.yml:4: empty item in 'others': write the text after the '-' or delete the line"]


def test_a_word_in_two_synonym_groups_and_a_bad_frequency_fail_the_build(make_corpus, tmp_path, capsys):
    from faq_search.cli import build_main

    root, out = make_corpus(), tmp_path / "index"
    # 登录 heads the group at line 4 already: one of the two groups would silently lose it.
    (root / "dict" / "synonyms.txt").write_text(TINY_SYNONYMS + "# a comment\n登录 签到\n", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 2
    assert ("dict/synonyms.txt:8: '登录' is already in the group at line 4: keep each word in one group (merge the two)"
            in capsys.readouterr().err)
    (root / "dict" / "synonyms.txt").write_text(TINY_SYNONYMS, "utf-8")
    # A tag after a frequency is jieba's format; a frequency that is no number would be dropped.
    (root / "dict" / "user_words.txt").write_text(TINY_USER_WORDS + "碰一碰 60 n\n扫码付 高\n", "utf-8")
    assert build_main(["--corpus", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("user_words.txt") == 1 and ("dict/user_words.txt:5: '扫码付 高': expected 'word frequency' with a "
                                                 "whole number (such as '扫码付 60'); the frequency would be ignored") in err, err


def test_a_published_versions_dictionary_copy_is_read_as_it_is(tmp_path):
    # Built before these checks: refusing it would take a serving index down.
    from faq_search.analysis import load_synonyms, load_user_words
    from faq_search.corpus import DictionaryError

    corpus_dict = tmp_path / "corpus" / "dict"
    copy = tmp_path / "index" / "versions" / "v1" / "dict"
    for d in (corpus_dict, copy):
        d.mkdir(parents=True)
        (d / "synonyms.txt").write_text("登录 登陆\n登录 签到\n", "utf-8")
        (d / "user_words.txt").write_text("扫码付 高\n", "utf-8")
    assert load_synonyms(copy / "synonyms.txt") == [["登录", "登陆"], ["登录", "签到"]]
    assert load_user_words(copy / "user_words.txt") == [("扫码付", None)]
    for load, name in ((load_synonyms, "synonyms.txt"), (load_user_words, "user_words.txt")):
        with pytest.raises(DictionaryError) as info:
            load(corpus_dict / name)
        assert [p.line for p in info.value.problems] == [2 if name == "synonyms.txt" else 1]
