"""Incremental versions: a rebuild after a few changed entries shares the base's files and ranks
like a full build of the same corpus."""

import json
import os
import shutil
import time

import numpy as np
import pytest

from faq_search import incremental
from faq_search.analysis import Analyzer
from faq_search.build import build_index, check_index
from faq_search.corpus import CorpusError, load_corpus
from faq_search.index import DELTA_FORMAT, FORMAT_VERSION, KEEP_VERSIONS, IndexError_, answer_head, load_index, read_current
from faq_search.search import Searcher

TOPICS = [
    ("提现", "提现多久到账", "提现一般两小时内到账，最晚次日到账。"),
    ("转账", "转账转错人了怎么办", "在转账详情里联系对方退回，或提交转错账申请。"),
    ("密码", "忘记登录密码怎么办", "在登录页点忘记密码，用短信验证码重置。"),
    ("红包", "红包过期了还能领吗", "红包过期后金额自动退回发送人的余额。"),
    ("信用卡", "信用卡还款怎么操作", "在首页点信用卡还款，选择银行卡并输入金额。"),
    ("实名", "怎么修改实名认证信息", "实名信息一经认证不能自行修改，请联系客服。"),
]


def entry(i: int, **changes) -> dict:
    tag, question, answer = TOPICS[i % len(TOPICS)]
    e = {"id": f"e{i:03d}", "question": f"{question}（{i}号）",
         "similar_questions": [f"{question}呀{i}", f"请问{question}{i}"],
         "answer": f"{answer}编号{i}。", "category": f"c{i % 3}", "tags": [tag]}
    return {**e, **changes}


def write(path, entries) -> None:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), "utf-8")


@pytest.fixture
def small_base(monkeypatch):
    # 60 entries: too few for incremental builds by default, too few paraphrases for a paraphrase model.
    monkeypatch.setattr(incremental, "MIN_ARTICLES", 10)
    monkeypatch.setattr(incremental, "COMPACT_SHARE", 0.1)


def written(tmp_path, n: int = 60) -> tuple[list[dict], object, object]:
    """(entries, kb.jsonl holding them, an index directory not built yet) under ``tmp_path``."""
    entries = [entry(i) for i in range(n)]
    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    write(corpus, entries)
    return entries, corpus, out


def build(corpus, out, analyzer, **kw):
    return build_index(corpus, out, analyzer=analyzer, **kw)


def test_checking_a_json_lines_corpus_hashes_it_and_parses_it_only_once_changed(tmp_path, tiny_analyzer, monkeypatch):
    import faq_search.build as build_module

    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    parsed, parse = [], build_module.load_corpus
    monkeypatch.setattr(build_module, "load_corpus", lambda path: parsed.append(path) or parse(path))
    assert check_index(corpus, out, analyzer=tiny_analyzer)[0] and parsed == []  # 0.08 s, not 2.7 s, at 100k
    # Changed: parsed, so that a line a build would refuse is named as the build would name it.
    write(corpus, entries)
    with open(corpus, "a", encoding="utf-8") as f:
        f.write('{"id": "cut-off", "question": "半行\n')
    with pytest.raises(CorpusError) as refused:
        check_index(corpus, out, analyzer=tiny_analyzer)
    assert parsed == [corpus] and any(str(p).startswith(f"{corpus}:61:") for p in refused.value.problems)
    write(corpus, entries + [entry(60)])
    fresh, reason = check_index(corpus, out, analyzer=tiny_analyzer)
    assert not fresh and "stale" in reason


QUERIES = ["提现多久到账", "转错人了", "忘记登录密码", "红包过期", "信用卡还款", "实名认证 修改", "数字人民币钱包",
           "提现多久到账（7号）", "请问红包过期了还能领吗9"]


def test_rebuild_after_small_changes_is_incremental_and_ranks_like_a_full_build(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    first = build(corpus, out, tiny_analyzer)
    assert not first.incremental
    changed = list(entries)
    changed[7] = entry(7, answer="提现改为实时到账，数字人民币钱包也支持。")
    changed[9] = entry(9, similar_questions=["红包过了期怎么办", "请问红包过期了还能领吗9"])
    del changed[20]
    changed.append({"id": "new-1", "question": "数字人民币钱包怎么绑定", "answer": "在银行卡页添加数字人民币钱包。",
                    "category": "c9", "tags": ["数币"]})
    write(corpus, changed)
    second = build(corpus, out, tiny_analyzer)
    assert second.incremental and second.articles == 60
    vdir = out / "versions" / second.version
    manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    assert manifest["format"] == DELTA_FORMAT and manifest["delta"]["articles"] == 3
    assert manifest["delta"]["hidden_base_articles"] == 3  # two replaced, one removed
    base_dir = out / "versions" / first.version
    for name in manifest["base"]["files"]:  # shared, not copied
        assert os.path.samefile(vdir / name, base_dir / name)
    assert check_index(corpus, out, analyzer=tiny_analyzer)[0]

    data = load_index(out)  # verifies every checksum, the shared files' included
    assert [a.id for a in data.articles] == [e["id"] for e in changed]
    assert data.articles[7].answer.startswith("提现改为实时到账")
    # The answers' normalised starts follow the articles, from either segment.
    assert [data.answer_heads[i] for i in range(60)] == [answer_head(tiny_analyzer, a) for a in data.articles]
    # And the rows normalised follow the rows.
    assert [data.spelled_rows[i] for i in range(len(data.row_text))] == [tiny_analyzer.spelled(t) for t in data.row_text]
    s = Searcher.load(out, analyzer=tiny_analyzer)
    assert s.get("e020") is None and s.get("new-1").category == "c9"
    assert s.category_counts()["c9"] == 1 and "数币" in s.tag_counts()
    assert s.search("数字人民币钱包怎么绑定")[0].id == "new-1"
    assert s.search("红包过了期怎么办")[0].id == "e009"
    assert all(h.id != "e020" for q in QUERIES for h in s.search(q, k=60))
    assert s.search("数币", tag="数币")[0].id == "new-1" and s.search("提现", category="c9") == []

    # The same corpus built in full: every article's lexical score within 0.02 (idf and lengths are
    # frozen from the base; here 5 % of a tiny corpus changed), the same best answer with the same
    # reranker. (Entries of one topic tie, so ranks below the first may swap.)
    full = tmp_path / "full"
    build(corpus, full, tiny_analyzer, full=True)
    f = Searcher.load(full, analyzer=tiny_analyzer)
    f = Searcher(f.data, tiny_analyzer, reranker=s.reranker)
    for q in QUERIES:
        mine, theirs = first_stage_scores(s, q), first_stage_scores(f, q)
        assert mine.keys() == theirs.keys(), q
        assert max(abs(mine[i] - theirs[i]) for i in mine) < 0.02, q
        assert s.search(q)[0].id == f.search(q)[0].id or mine[s.search(q)[0].id] == mine[f.search(q)[0].id], q


def first_stage_scores(searcher, query) -> dict[str, float]:
    c = searcher.first_stage(searcher.analyzer.analyze(query))
    return {searcher.articles[int(a)].id: float(x) for a, x in zip(c.arts, c.score)}


def test_incremental_versions_survive_pruning_of_their_base(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    base = build(corpus, out, tiny_analyzer).version
    for n in range(KEEP_VERSIONS + 1):
        entries[3] = entry(3, answer=f"第{n}次修改的答案：提现实时到账。")
        write(corpus, entries)
        assert build(corpus, out, tiny_analyzer).incremental
    assert not (out / "versions" / base).exists()  # pruned: only its links went
    data = load_index(out)
    assert data.articles[3].answer == f"第{KEEP_VERSIONS}次修改的答案：提现实时到账。"
    assert len(list((out / "versions").iterdir())) == KEEP_VERSIONS
    for v in (out / "versions").iterdir():  # every kept version still loads and verifies
        assert len(load_index(out, v.name).articles) == 60
    # The delta is cumulative over the same base: one changed entry, however many versions.
    assert data.manifest["delta"]["articles"] == 1 and data.manifest["base"]["version"] == base


def test_an_unchanged_rebuild_over_an_incremental_version_writes_nothing(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    entries[3] = entry(3, answer="提现实时到账。")
    write(corpus, entries)
    published = build(corpus, out, tiny_analyzer)
    assert published.incremental
    versions = sorted(p.name for p in (out / "versions").iterdir())
    again = build(corpus, out, tiny_analyzer)
    assert again.unchanged and again.incremental and again.version == published.version == read_current(out)
    assert again.articles == 60 and sorted(p.name for p in (out / "versions").iterdir()) == versions
    compacted = build(corpus, out, tiny_analyzer, full=True)  # --full: a complete version all the same
    assert not compacted.unchanged and not compacted.incremental and compacted.version != published.version


def test_an_incremental_build_reads_its_json_lines_once(small_base, tmp_path, tiny_analyzer, monkeypatch):
    # The test for changes hashes the file's bytes: the diff takes them, rather than read 87 MB again at 100k.
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    entries[3] = entry(3, answer="提现实时到账。")
    write(corpus, entries)
    reads = []
    real = type(corpus).read_bytes
    monkeypatch.setattr(type(corpus), "read_bytes", lambda self: reads.append(self) or real(self))
    assert build(corpus, out, tiny_analyzer).incremental
    assert reads.count(corpus) == 1


def test_an_incremental_build_warns_of_the_whole_corpus_as_a_full_build_does(small_base, tmp_path, tiny_analyzer):
    # An over-long answer, and more phrasings repeating an earlier entry's than are named one by one:
    # an incremental build reads only the changed lines, yet says what a full build of the file says.
    entries, corpus, out = written(tmp_path)
    entries[5] = entry(5, answer="长" * 20_001)
    for i in range(30, 42):
        entries[i] = entry(i, similar_questions=[entries[i - 30]["question"]])
    write(corpus, entries)
    first = build(corpus, out, tiny_analyzer)
    assert not first.incremental and len(first.warnings) == 12  # the answer, 10 repeats named, a count

    def said(result) -> list[str]:
        return [str(w) for w in result.warnings]

    changes = [
        lambda e: e.__setitem__(50, entry(50, answer="提现实时到账。")),  # unrelated to any warning
        lambda e: e.insert(0, {"id": "new", "question": e[3]["question"], "answer": "新的回答。"}),  # lines shift,
        lambda e: e.pop(1),  # and e003's question is the new entry's now; e000's is no repeat once gone
    ]
    for change in changes:
        change(entries)
        write(corpus, entries)
        result = build(corpus, out, tiny_analyzer)
        assert result.incremental
        assert said(result) == [str(w) for w in load_corpus(corpus).warnings]  # what a full build prints
    full = build(corpus, tmp_path / "full", tiny_analyzer, full=True)
    assert not full.incremental and said(full) == said(result)
    assert f"{corpus}:4: '{entries[3]['question']}' of 'e003' is also a phrasing of 'new' at {corpus}:1: " in said(result)[1]
    assert said(result)[0].startswith(f"{corpus}:6: the answer is 20,001 characters long")


def test_an_incremental_build_warns_of_markdown_shown_as_typed_in_the_lines_it_did_not_read(small_base, tmp_path,
                                                                                            tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    entries[7] = entry(7, answer="费用如下：\n| 项目 | 费用 |\n|---|---|\n| 提现 | 0.1% |")
    write(corpus, entries)
    first = build(corpus, out, tiny_analyzer)
    assert not first.incremental and [w.line for w in first.warnings] == [8]
    entries[50] = entry(50, answer="## 到账时间\n提现实时到账。")
    write(corpus, entries)
    result = build(corpus, out, tiny_analyzer)
    assert result.incremental
    assert [str(w) for w in result.warnings] == [str(w) for w in load_corpus(corpus).warnings]
    assert [w.line for w in result.warnings] == [8, 51]


def test_a_build_that_finds_a_json_lines_index_up_to_date_repeats_its_warnings(small_base, tmp_path, tiny_analyzer):
    # As for a Markdown corpus: nothing else tells of them, whichever build published the version.
    entries, corpus, out = written(tmp_path)
    entries[5] = entry(5, answer="长" * 20_001)
    entries[40] = entry(40, similar_questions=[entries[2]["question"]])
    write(corpus, entries)
    for change in (None, lambda e: e.insert(0, entry(60, question=e[7]["question"]))):
        if change is not None:
            change(entries)
            write(corpus, entries)
        published = build(corpus, out, tiny_analyzer)
        assert published.incremental == (change is not None) and len(published.warnings) == 2 + (change is not None)
        again = build(corpus, out, tiny_analyzer)
        assert again.unchanged and again.version == published.version
        assert [str(w) for w in again.warnings] == [str(w) for w in published.warnings]


def test_many_changes_compact_into_a_full_build(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    write(corpus, [entry(i, answer=f"新答案{i}") if i < 7 else e for i, e in enumerate(entries)])  # 7 > 10 %
    result = build(corpus, out, tiny_analyzer)
    assert not result.incremental
    assert load_index(out).manifest["format"] == FORMAT_VERSION
    write(corpus, entries)
    assert not build(corpus, out, tiny_analyzer, full=True).incremental


def test_problems_in_changed_entries_fail_the_build_and_keep_the_index(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    before = build(corpus, out, tiny_analyzer).version
    for bad in ([*entries, entry(5)],  # a duplicate id
                [*entries[:4], entry(4, related=["nope"]), *entries[5:]],  # an unknown related id
                [*entries[:4], {"id": "x y"}, *entries[5:]]):  # an invalid entry
        write(corpus, bad)
        with pytest.raises(CorpusError) as e:
            build(corpus, out, tiny_analyzer)
        assert all(p.line > 0 for p in e.value.problems)
        assert read_current(out) == before
    # Removing an entry another one names as related is caught too.
    write(corpus, [entry(0, related=["e001"]), *entries[1:]])
    build(corpus, out, tiny_analyzer)
    write(corpus, [entry(0, related=["e001"]), *entries[2:]])
    with pytest.raises(CorpusError, match="unknown related id 'e001'"):
        build(corpus, out, tiny_analyzer)


def test_a_changed_entry_with_a_problem_still_has_its_others_named(small_base, tmp_path, tiny_analyzer):
    # A bad date hides neither the entry's unknown related id nor its id taken by another entry, whether
    # the build would have been incremental (a changed line) or full.
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    write(corpus, [*entries[:4], entry(4, id="e007", updated="2026-13-45", related=["nope"]), *entries[5:]])
    for full in (False, True):
        with pytest.raises(CorpusError) as e:
            build(corpus, out, tiny_analyzer, full=full)
        said = [(p.line, p.message) for p in e.value.problems]
        assert any(line == 5 and "'updated' must be a date" in m for line, m in said), said
        assert any(line == 5 and "unknown related id 'nope'" in m for line, m in said), said
        assert any("duplicate id 'e007'" in m for _line, m in said), said


def test_an_entry_renamed_or_gone_is_explained_by_the_published_index(small_base, tmp_path, tiny_analyzer,
                                                                      monkeypatch):
    # As for a Markdown corpus, whether the build would have been incremental (a changed line) or full, and by --check.
    check, checked = incremental._check_jsonl, []
    monkeypatch.setattr(incremental, "_check_jsonl", lambda *a: checked.append(a) or check(*a))
    entries, corpus, out = written(tmp_path)
    entries[0] = entry(0, related=["e001"])
    write(corpus, entries)
    build(corpus, out, tiny_analyzer)

    def problems(changed: list[dict]) -> list[str]:
        write(corpus, changed)
        said = []
        for full in (False, True):
            with pytest.raises(CorpusError) as e:
                build(corpus, out, tiny_analyzer, full=full)
            said.append([str(p) for p in e.value.problems])
        with pytest.raises(CorpusError) as e:  # and --check
            check_index(corpus, out, analyzer=tiny_analyzer)
        assert said[0] == said[1] == [str(p) for p in e.value.problems]
        return said[0]

    assert problems([entries[0], entry(1, id="e001-new"), *entries[2:]]) == [
        f"{corpus}:1: unknown related id 'e001' (line 2 had it in the published index; 'e001-new' (line 2) has "
        "most of its phrasings now: write that, and keep the old id in its aliases for the links and votes made "
        "before)"]
    assert problems([entry(0, related=["e-001"]), *entries[2:]]) == [
        f"{corpus}:1: unknown related id 'e-001' (did you mean 'e001'? line 2 had it in the published index; no "
        "entry has most of its phrasings now: delete it here, or bring the article back)"]
    assert len(checked) == 2  # the incremental builds' own check found them


def test_an_entry_that_no_longer_names_a_related_id_is_not_held_to_it(small_base, tmp_path, tiny_analyzer):
    # Entry 0 linked entry 1; both edited in one go (the link dropped, entry 1 deleted): the base's link is gone too.
    entries, corpus, out = written(tmp_path)
    entries[0] = entry(0, related=["e001"])
    write(corpus, entries)
    build(corpus, out, tiny_analyzer)
    write(corpus, [entry(0), *entries[2:]])
    assert build(corpus, out, tiny_analyzer).incremental


def _built_then_one_answer_edited(tmp_path, analyzer):
    """A 60-entry base, then a build after entry 1's answer changed: (index dir, that build's result)."""
    entries, corpus, out = written(tmp_path)
    build(corpus, out, analyzer)
    entries[1] = entry(1, answer="改过的答案")
    write(corpus, entries)
    return out, build(corpus, out, analyzer)


def test_a_corrupt_shared_or_delta_file_is_refused(small_base, tmp_path, tiny_analyzer):
    out, result = _built_then_one_answer_edited(tmp_path, tiny_analyzer)
    vdir = out / "versions" / result.version
    path = vdir / "delta" / "arrays" / "order.npy"
    raw = path.read_bytes()
    path.write_bytes(raw[:-4] + b"\x01\x02\x03\x04")
    with pytest.raises(IndexError_, match="checksum"):
        load_index(out)


def test_small_knowledge_bases_always_build_in_full(tmp_path, tiny_analyzer):
    _out, result = _built_then_one_answer_edited(tmp_path, tiny_analyzer)
    assert not result.incremental  # 60 < MIN_ARTICLES


def test_an_edited_answer_segments_nothing(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    assert build(corpus, out, tiny_analyzer).analysed == 60 * 3
    assert list((out / "cache").glob("rows-*.npz"))  # the base's question features, kept for this
    entries[4] = entry(4, answer="提现到账时间改为两小时内。")
    write(corpus, entries)
    result = build(corpus, out, tiny_analyzer)
    assert result.incremental and result.analysed == 0  # its questions came from the base
    entries[4] = entry(4, answer="提现到账时间改为两小时内。", similar_questions=["花呗额度能不能转到信用卡", "请问信用卡还款怎么操作4"])
    write(corpus, entries)
    result = build(corpus, out, tiny_analyzer)
    assert result.incremental and result.analysed == 1  # only the new phrasing
    s = Searcher.load(out, analyzer=tiny_analyzer)
    assert s.search("花呗额度能不能转到信用卡")[0].id == "e004"
    full = tmp_path / "full"
    build(corpus, full, tiny_analyzer, full=True)
    f = Searcher.load(full, analyzer=tiny_analyzer)
    for q in QUERIES + ["花呗额度能不能转到信用卡"]:
        mine, theirs = first_stage_scores(s, q), first_stage_scores(f, q)
        assert mine.keys() == theirs.keys() and max(abs(mine[i] - theirs[i]) for i in mine) < 0.02, q


def test_the_service_serves_an_incremental_version(small_base, tmp_path, app_factory, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    client = app_factory(out).test_client()
    assert client.get("/api/articles/e005").status_code == 200
    assert [x["id"] for x in client.get("/api/suggest", query_string={"q": "转错人了怎么办（7"}).get_json()["suggestions"]] == ["e007"]
    entries[5] = entry(5, answer="实名信息可在设置里更新。")
    del entries[6]
    entries[6] = entry(7, question="数字红包怎么领（7号）")  # entry 7, now at 6: its standard question changed
    entries.append({"id": "new-1", "question": "数字人民币钱包怎么绑定", "answer": "在银行卡页添加数字人民币钱包。",
                    "category": "c9", "tags": ["数币"]})
    write(corpus, entries)
    version = build(corpus, out, tiny_analyzer).version
    body = client.get("/api/search", query_string={"q": "数字人民币钱包怎么绑定"}).get_json()
    assert body["index_version"] == version and body["results"][0]["id"] == "new-1"
    assert client.get("/api/articles/e005").get_json()["answer"] == "实名信息可在设置里更新。"
    assert client.get("/api/articles/e006").status_code == 404
    assert "c9" in client.get("/api/categories").get_data(as_text=True)
    # Completions follow once the builder's (layered) data for the version is picked up.
    deadline = time.monotonic() + 30
    while True:
        body = client.get("/api/suggest", query_string={"q": "数字"}).get_json()
        if body["index_version"] == version and {"new-1", "e007"} <= {x["id"] for x in body["suggestions"]}:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    assert [x["id"] for x in body["suggestions"]] == ["e007", "new-1"]  # 数字红包… is the shorter
    assert client.get("/api/suggest", query_string={"q": "转错人了怎么办（7"}).get_json()["suggestions"] == []
    assert "e006" not in {x["id"] for x in client.get("/api/suggest", query_string={"q": "（6"}).get_json()["suggestions"]}
    assert client.get("/api/search", query_string={"q": "提现", "tag": "数币"}).get_json()["results"] == []


def test_completions_follow_incremental_versions_and_are_reused_when_only_answers_change(small_base, tmp_path,
                                                                                         tiny_analyzer):
    from faq_search.completions import (completions_dir, content_key, corpus_phrasings, index_suggester, load_completions,
                                        phrasings_key)
    from faq_search.corpus import load_corpus
    from faq_search.suggest import Suggester

    entries, corpus, out = written(tmp_path)
    first = build(corpus, out, tiny_analyzer)
    assert first.completions_seconds is not None and not first.completions_reused

    def same_as_built_from_the_corpus(version: str) -> None:
        published = load_completions(out, version, tiny_analyzer.normalize)
        from_corpus = Suggester(load_corpus(corpus).articles, tiny_analyzer.normalize)
        from_rows = index_suggester(load_index(out, version), tiny_analyzer.normalize)
        for typed in ["提现", "转账", "红包过", "hongbao", "tx", "请问", "数字人民币", "实名认证", "呀7", "（1"]:
            expected = [s.to_dict() for s in from_corpus.suggest(typed, k=20)]
            assert [s.to_dict() for s in published.suggest(typed, k=20)] == expected, typed
            assert [s.to_dict() for s in from_rows.suggest(typed, k=20)] == expected, typed

    same_as_built_from_the_corpus(first.version)
    answers = list(entries)
    answers[7] = entry(7, answer="提现改为实时到账。")
    write(corpus, answers)
    second = build(corpus, out, tiny_analyzer)
    assert second.incremental and second.completions_reused  # nothing completions show changed
    old, new = completions_dir(out, first.version), completions_dir(out, second.version)
    assert (old / "text.grams.npy").stat().st_ino == (new / "text.grams.npy").stat().st_ino  # linked
    same_as_built_from_the_corpus(second.version)

    questions = list(answers)
    questions[9] = entry(9, similar_questions=["数字人民币红包怎么领"])
    del questions[20]
    write(corpus, questions)
    third = build(corpus, out, tiny_analyzer)
    assert third.incremental and not third.completions_reused
    same_as_built_from_the_corpus(third.version)
    # The key hashes the rows straight from the base's and the delta's files, run by run: it equals
    # the key of the corpus's phrasings, which a full build computes before any file exists.
    assert content_key(load_index(out, third.version)) == phrasings_key(corpus_phrasings(load_corpus(corpus).articles))
    assert [s.id for s in load_completions(out, third.version).suggest("数字人民币")] == ["e009"]


def test_completions_of_incremental_versions_are_the_bases_plus_a_small_layer(small_base, tmp_path, tiny_analyzer,
                                                                            monkeypatch):
    """A changed question's completions: the base's files linked, only the delta's articles read, and
    suggestions equal to those of the whole corpus, across versions that outlive the base's own."""
    monkeypatch.setattr(incremental, "COMPACT_SHARE", 0.5)
    from faq_search.completions import completions_dir, load_completions
    from faq_search.corpus import load_corpus
    from faq_search.suggest import LayeredSuggester, Suggester

    entries, corpus, out = written(tmp_path)
    first = build(corpus, out, tiny_analyzer).version
    shutil.rmtree(completions_dir(out, first))  # gone (as when an older version took them along): made once
    previous = None
    typed = ["提现", "转账转", "请问", "呀1", "号）", "红包过期了还", "hongbao", "hb", "zhuanzhang", "tixian多", "数字人民币",
             "新问法", "改", "x", "（3"]
    for n in range(KEEP_VERSIONS + 2):
        entries[5 + n] = entry(5 + n, similar_questions=[f"新问法{n}提现多久到", "改过的转账问题"])
        entries[30 + n] = entry(30 + n, question=f"改过的标准问题{n}：红包过期")
        del entries[40]
        entries.append({"id": f"new-{n}", "question": f"新增问题{n}数字人民币", "answer": "答。", "category": "c1"})
        write(corpus, entries)
        result = build(corpus, out, tiny_analyzer)
        assert result.incremental and not result.completions_reused
        vdir = completions_dir(out, result.version)
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
        assert manifest["layers"]["base_key"]
        if n:  # the base's layer is shared, not written again
            assert (vdir / "base" / "text.grams.npy").stat().st_ino == (previous / "base" / "text.grams.npy").stat().st_ino
        previous = vdir
        published = load_completions(out, result.version, tiny_analyzer.normalize)
        assert isinstance(published, LayeredSuggester) and len(published.delta._ids) == 3 * (n + 1)
        whole = Suggester(load_corpus(corpus).articles, tiny_analyzer.normalize)
        for t in typed:
            for k, category in ((3, None), (8, None), (20, None), (8, "c1")):
                expected = [s.to_dict() for s in whole.suggest(t, k=k, category=category)]
                assert [s.to_dict() for s in published.suggest(t, k=k, category=category)] == expected, (n, t, k, category)
    assert not (out / "versions" / first).exists()  # the base went; its layer stays
    # A full build after them reads only what the layers' base lacks.
    entries[0] = entry(0, similar_questions=["完全重建时的新问法"])
    write(corpus, entries)
    full = build(corpus, out, tiny_analyzer, full=True)
    assert not full.incremental
    published = load_completions(out, full.version, tiny_analyzer.normalize)
    assert isinstance(published, Suggester)
    whole = Suggester(load_corpus(corpus).articles, tiny_analyzer.normalize)
    for t in typed + ["完全重建"]:
        assert [s.to_dict() for s in published.suggest(t, k=20)] == [s.to_dict() for s in whole.suggest(t, k=20)], t


def instances_of(monkeypatch, cls, record=lambda made: made) -> list:
    """``record`` of every ``cls`` created while the test runs, taken as it is created, in order."""
    made, real_init = [], cls.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(record(self))

    monkeypatch.setattr(cls, "__init__", init)
    return made


@pytest.fixture
def forked_completions(monkeypatch) -> list:
    """Small corpora fork their completions too; the list collects each build's child process."""
    from faq_search import completions

    monkeypatch.setattr(completions, "FORK_MIN_ARTICLES", 10)
    return instances_of(monkeypatch, completions.CompletionsBuild, lambda build: build.process)


@pytest.mark.parametrize("child", ["works", "fails"])
def test_a_full_build_makes_its_completions_in_a_forked_process_meanwhile(tmp_path, tiny_analyzer, monkeypatch, child,
                                                                         forked_completions):
    from faq_search import completions
    from faq_search.corpus import load_corpus
    from faq_search.suggest import Suggester

    started = forked_completions
    if child == "fails":
        monkeypatch.setattr(completions, "_write_arrays", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    entries, corpus, out = written(tmp_path)
    result = build(corpus, out, tiny_analyzer)
    assert started and started[0] is not None and started[0].exitcode == (0 if child == "works" else 1)
    assert not result.completions_reused and not list((out / completions.DIRNAME).glob(".tmp-*"))
    manifest = json.loads((completions.completions_dir(out, result.version) / "manifest.json").read_text("utf-8"))
    assert manifest["key"] == completions.content_key(load_index(out, result.version))  # the corpus's key is the index's
    published = completions.load_completions(out, result.version, tiny_analyzer.normalize)
    from_corpus = Suggester(load_corpus(corpus).articles, tiny_analyzer.normalize)
    for typed in ["提现", "红包过", "hongbao", "tx", "请问", "（1"]:
        assert ([s.to_dict() for s in published.suggest(typed, k=20)]
                == [s.to_dict() for s in from_corpus.suggest(typed, k=20)]), typed


def test_a_full_rebuild_of_the_same_questions_links_the_completions_its_process_found(
        tmp_path, tiny_analyzer, forked_completions):
    from faq_search import completions

    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    write(corpus, [entry(i) for i in range(60)])
    first = build(corpus, out, tiny_analyzer, full=True)
    write(corpus, [entry(i, answer=f"改过的答案{i}。") for i in range(60)])  # answers only: same completions
    second = build(corpus, out, tiny_analyzer, full=True)
    assert [p.exitcode for p in forked_completions] == [0, 0]
    assert not first.completions_reused and second.completions_reused
    assert not list((out / completions.DIRNAME).glob(".tmp-*"))
    old, new = (completions.completions_dir(out, r.version) for r in (first, second))
    assert all(os.path.samefile(old / f.name, new / f.name) for f in old.iterdir() if f.name != "manifest.json")


def test_a_failed_full_build_stops_its_completions_process(tmp_path, tiny_analyzer, monkeypatch, forked_completions):
    from faq_search import build as build_module, completions

    started = forked_completions

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(build_module, "write_version", broken)
    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    write(corpus, [entry(i) for i in range(60)])
    out.mkdir()  # there before: a failed first build would remove the directory it created, leftovers and all
    with pytest.raises(OSError, match="disk full"):
        build(corpus, out, tiny_analyzer)
    assert started[0] is not None and not started[0].is_alive()
    assert read_current(out) is None and list((out / completions.DIRNAME).iterdir()) == []


@pytest.mark.parametrize("child", ["works", "fails"])
def test_an_incremental_build_reads_its_changed_phrasings_pinyin_in_a_forked_process(small_base, tmp_path, tiny_analyzer,
                                                                                    monkeypatch, child):
    """The layer of changed articles is made by a child while the version is written (its pinyin
    import is most of a one-question rebuild's completions); a failed child costs only the time."""
    from faq_search import completions
    from faq_search.corpus import load_corpus
    from faq_search.suggest import LayeredSuggester, Suggester

    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    started = instances_of(monkeypatch, completions.CompletionsBuild, lambda made: (made.layer, made.process))
    read_here = []
    real_index_suggester = completions.index_suggester
    monkeypatch.setattr(completions, "index_suggester", lambda data, *a, **kw: read_here.append(data) or
                        real_index_suggester(data, *a, **kw))
    if child == "fails":
        monkeypatch.setattr(completions, "_write_arrays", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    entries[7] = entry(7, similar_questions=["换了一种问法能提现吗"])
    write(corpus, entries)
    result = build(corpus, out, tiny_analyzer)
    assert result.incremental and result.completions_seconds is not None
    [(layer, process)] = started
    assert layer and process.exitcode == (0 if child == "works" else 1)
    assert len(read_here) == (0 if child == "works" else 1)  # the delta read again only when the child failed
    assert not list((out / completions.DIRNAME).glob(".tmp-*"))
    published = completions.load_completions(out, result.version, tiny_analyzer.normalize)
    assert isinstance(published, LayeredSuggester)
    whole = Suggester(load_corpus(corpus).articles, tiny_analyzer.normalize)
    for typed in ["换了", "huanle", "提现", "请问", "（7"]:
        assert [s.to_dict() for s in published.suggest(typed, k=20)] == [s.to_dict() for s in whole.suggest(typed, k=20)]


def test_a_failed_incremental_build_stops_its_completions_process(small_base, tmp_path, tiny_analyzer, monkeypatch):
    from faq_search import completions, incremental as incremental_module

    entries, corpus, out = written(tmp_path)
    first = build(corpus, out, tiny_analyzer)
    started = instances_of(monkeypatch, completions.CompletionsBuild, lambda made: made.process)
    monkeypatch.setattr(incremental_module, "_write", lambda *a, **kw: (_ for _ in ()).throw(OSError("disk full")))
    entries[7] = entry(7, similar_questions=["换了一种问法能提现吗"])
    write(corpus, entries)
    with pytest.raises(OSError, match="disk full"):
        build(corpus, out, tiny_analyzer)
    assert started[0] is not None and not started[0].is_alive()
    assert read_current(out) == first.version and not list((out / completions.DIRNAME).glob(".tmp-*"))


def test_an_incremental_build_that_fails_while_writing_leaves_no_temporary_version(small_base, tmp_path, tiny_analyzer,
                                                                                   monkeypatch):
    from faq_search import incremental as incremental_module

    entries, corpus, out = written(tmp_path)
    first = build(corpus, out, tiny_analyzer)

    real, full = incremental_module.write_article_texts, [True]

    def disk_full(*args, **kwargs):
        if full:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(incremental_module, "write_article_texts", disk_full)
    entries[7] = entry(7, answer="改过的答案。")
    write(corpus, entries)
    with pytest.raises(OSError, match="No space"):
        build(corpus, out, tiny_analyzer)
    assert read_current(out) == first.version and not list((out / "versions").glob(".tmp-*"))
    full.clear()  # space freed: a retry publishes
    assert build(corpus, out, tiny_analyzer).incremental


def test_a_scope_change_alone_reaches_an_incremental_version(small_base, tmp_path, tiny_analyzer):
    from tests.conftest import write_corpus

    entries = [entry(i) for i in range(60)]
    articles = {f"{e['category']}/{e['id']}.md": {"id": e["id"], "question": e["question"], "similar": e["similar_questions"],
                                                   "category": e["category"], "answer": e["answer"]} for e in entries}
    root = write_corpus(tmp_path / "corpus", articles, categories={})
    build(root, tmp_path / "ix", tiny_analyzer)
    (root / "scope.yml").write_text("ours: [易钱包]\nothers: [微信]\nsites: [help.yiqianbao.com]\n", "utf-8")
    build(root, tmp_path / "ix", tiny_analyzer)
    data = load_index(tmp_path / "ix")
    assert data.segments and data.scope.others == ("微信",) and data.scope.sites == ("help.yiqianbao.com",)
    searcher = Searcher.load(tmp_path / "ix", analyzer=tiny_analyzer)
    best = searcher.search("微信提现多久到账")[0]
    assert not best.confident and searcher.names_other_product("微信提现多久到账", searcher._by_id[best.id]) == "微信"


def test_confusions_of_an_incremental_version_skip_the_rows_it_replaced(small_base, tmp_path, tiny_analyzer):
    from faq_search.confusions import find_confusions
    from faq_search.rerank import pseudo_queries
    from faq_search.search import Searcher

    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    changed = list(entries)
    changed[9] = entry(9, similar_questions=["红包过了期怎么办", "请问红包过期了还能领吗9"])
    write(corpus, changed)
    assert build(corpus, out, tiny_analyzer).incremental
    searcher = Searcher.load(out, analyzer=tiny_analyzer)
    # Every article's three phrasings once: the base's replaced rows of e009 belong to no article.
    texts = [t for _a, _r, t in pseudo_queries(searcher, 1000)]
    assert len(texts) == 180 and "红包过了期怎么办" in texts and "红包过期了还能领吗呀9" not in texts
    report = find_confusions(searcher)
    assert report.searched == report.available == 180


def test_a_few_new_phrasings_are_segmented_from_the_dictionary_table(small_base, tmp_path, tiny_analyzer, monkeypatch):
    # A full build of an index large enough for incremental versions leaves a table of its jieba
    # dictionary; a rebuild that must segment a few new phrasings reads only their entries from it
    # (jieba's whole dictionary costs ≈ 0.6 s to load), with the same result.
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    assert len(list((out / "cache").glob("dictionary-*.npz"))) == 1
    entries[9] = entry(9, similar_questions=["红包过了期钱去哪了", "请问红包过期了还能领吗9", "红包没人领会退吗"])
    write(corpus, entries)
    shutil.copytree(out, tmp_path / "loaded")
    restricted = []
    original = Analyzer.restricted
    monkeypatch.setattr(Analyzer, "restricted", lambda self, texts, table: restricted.append(list(texts)) or original(self, texts, table))
    lazy = Analyzer(tiny_analyzer.user_words, tiny_analyzer.synonym_groups, lazy=True)
    result = build(corpus, out, lazy)
    assert result.incremental and result.analysed == 2
    assert restricted == [["红包没人领会退吗", "红包过了期钱去哪了"]] and not lazy.dictionary_loaded
    # The same rebuild with the whole dictionary loaded writes the same features.
    assert build(corpus, tmp_path / "loaded", tiny_analyzer).incremental
    mine, theirs = load_index(out), load_index(tmp_path / "loaded")
    assert mine.vocab == theirs.vocab
    for f in mine.questions:
        assert (mine.questions[f] != theirs.questions[f]).nnz == 0
    s = Searcher.load(out, analyzer=tiny_analyzer)
    assert s.search("红包没人领会退吗")[0].id == "e009"


def test_a_damaged_dictionary_table_is_not_used(small_base, tmp_path, tiny_analyzer):
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    (table,) = (out / "cache").glob("dictionary-*.npz")
    keys = dict(np.load(table))
    keys["freqs"] = keys["freqs"] + 1  # the digest no longer matches
    with open(table, "wb") as f:
        np.savez(f, **keys)
    entries[9] = entry(9, similar_questions=["红包过了期钱去哪了"])
    write(corpus, entries)
    lazy = Analyzer(tiny_analyzer.user_words, tiny_analyzer.synonym_groups, lazy=True)
    assert build(corpus, out, lazy).incremental
    assert lazy.dictionary_loaded  # segmented with the whole dictionary instead
    assert Searcher.load(out, analyzer=tiny_analyzer).search("红包过了期钱去哪了")[0].id == "e009"


def test_truncated_cache_files_are_rebuilt_not_a_failed_build(small_base, tmp_path, tiny_analyzer):
    # A copy cut short or a full disk leaves no zip at all: the analysis cache, the rows' features and
    # the dictionary table are only caches, so the builds and the load go on without them.
    entries, corpus, out = written(tmp_path)
    build(corpus, out, tiny_analyzer)
    caches = sorted((out / "cache").glob("*.npz"))
    assert [p.name.split("-")[0] for p in caches] == ["analysis", "dictionary", "rows"]
    for path in caches:
        path.write_bytes(path.read_bytes()[:100])
    entries[9] = entry(9, similar_questions=["红包过了期钱去哪了"])
    write(corpus, entries)
    lazy = Analyzer(tiny_analyzer.user_words, tiny_analyzer.synonym_groups, lazy=True, dictionary_cache=out / "cache")
    result = build(corpus, out, lazy)
    assert result.incremental and lazy.dictionary_loaded  # the whole dictionary, not the table
    assert Searcher.load(out).search("红包过了期钱去哪了")[0].id == "e009"
    # Every question segmented afresh, as into an empty directory.
    assert build(corpus, out, tiny_analyzer, full=True).analysed == build(corpus, tmp_path / "new", tiny_analyzer).analysed


def test_a_loaded_index_reads_its_dictionary_from_the_table_in_its_cache(tmp_path, monkeypatch):
    # Whatever its size (60 entries: too few for incremental versions): every load of it then reads
    # jieba's dictionary from the table, ≈ 0.4 s faster than from jieba's own cache.
    from faq_search import analysis

    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    write(corpus, [entry(i) for i in range(60)])
    build_index(corpus, out)  # the analyzer of the corpus's own dictionary (none): the version's
    assert len(list((out / "cache").glob("dictionary-*.npz"))) == 1
    read = []
    original = analysis.read_dictionary_table
    monkeypatch.setattr(analysis, "read_dictionary_table", lambda path: read.append(path) or original(path))
    s = Searcher.load(out)
    plain = analysis.Analyzer()
    assert s.analyzer.fingerprint == plain.fingerprint and s.analyzer._tokenizer.FREQ == plain._tokenizer.FREQ
    assert [p.parent for p in read] == [out / "cache"]
    assert s.search("红包过期了还能领吗")[0].id == Searcher.load(out, analyzer=plain).search("红包过期了还能领吗")[0].id


@pytest.fixture
def forked_texts(monkeypatch) -> list:
    """Small corpora write their article texts in a forked process too; the list collects each job."""
    from faq_search import index

    monkeypatch.setattr(index, "ARTICLE_TEXTS_FORK_MIN", 10)
    return instances_of(monkeypatch, index.ArticleTextsJob)


def _text_files(out, version) -> dict:
    files = json.loads((out / "versions" / version / "manifest.json").read_text("utf-8"))["files"]
    return {name: sha for name, sha in files.items() if name.endswith((".jsonl", ".txt", ".off.npy")) and "dict/" not in name}


@pytest.mark.parametrize("child", ["works", "fails"])
def test_a_full_build_writes_its_article_texts_in_a_forked_process_meanwhile(tmp_path, tiny_analyzer, monkeypatch,
                                                                           child, forked_texts):
    from faq_search import index

    entries = [entry(i, answer=f"第{i}条：Ｗｉ－Ｆｉ下提現要幾天？" + "很长的答案" * (i % 50)) for i in range(60)]
    corpus = tmp_path / "kb.jsonl"
    write(corpus, entries)
    alone = build(corpus, tmp_path / "alone", tiny_analyzer, workers=1, completions=False)  # written in process, one chunk
    assert not forked_texts
    monkeypatch.setattr(index, "TEXTS_CHUNK", 7)  # the child writes them a few articles at a time
    if child == "fails":
        monkeypatch.setattr(index.ArticleTextsJob, "_write", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    out = tmp_path / "index"
    result = build(corpus, out, tiny_analyzer, completions=False)
    assert forked_texts and forked_texts[0].process.exitcode == (0 if child == "works" else 1)
    assert len(_text_files(out, result.version)) == 8
    assert _text_files(out, result.version) == _text_files(tmp_path / "alone", alone.version)
    assert not list((out / "versions").glob(".tmp-*"))
    data = load_index(out)  # every checksum verified
    searcher = Searcher(data, tiny_analyzer)
    for e in entries:  # read back through the offsets
        article = searcher.get(e["id"])
        assert (article.question, article.answer, list(article.similar_questions)) == (
            e["question"], e["answer"], e["similar_questions"])
    by_id = {e["id"]: e for e in entries}
    assert all(hit.question == by_id[hit.id]["question"] for hit in searcher.search("提现要几天", k=10))


def test_a_failed_full_build_stops_its_article_texts_process(tmp_path, tiny_analyzer, monkeypatch, forked_texts):
    from faq_search import build as build_module

    monkeypatch.setattr(build_module, "write_version", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    write(corpus, [entry(i) for i in range(60)])
    with pytest.raises(OSError, match="disk full"):
        build(corpus, out, tiny_analyzer)
    assert forked_texts and not forked_texts[0].process.is_alive()
    assert read_current(out) is None and not list((out / "versions").glob(".tmp-*"))


def test_concatenated_rows_index_like_a_list():
    from faq_search.index import RowTexts
    from faq_search.incremental import ConcatRows

    def rows(texts):
        blob = "".join(texts).encode()
        off = np.cumsum([0, *(len(t.encode()) for t in texts)])
        return RowTexts(np.frombuffer(blob, np.uint8), off)

    texts = ["转账", "提现多久到账", "密码", "二维码"]
    both = ConcatRows(rows(texts[:2]), rows(texts[2:]))
    assert [both[i] for i in range(4)] == texts and both[-1] == "二维码" and both[1:3] == texts[1:3]
    for bad in (4, -5):
        with pytest.raises(IndexError):
            both[bad]
