"""A rebuild with nothing changed since the published version writes nothing: CURRENT stays, versions/
does not grow and servers do not reload. `--full` still writes a complete version."""

import json
import shutil

import pytest

from faq_search import build
from faq_search.build import build_index
from faq_search.cli import build_main
from faq_search.completions import completions_dir
from faq_search.index import read_current
from tests.conftest import TINY_ARTICLES


def tree(out):
    """Every path under an index directory with its size and modification time, but the build lock
    (every build takes it)."""
    return {str(p.relative_to(out)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in out.rglob("*") if p.name != ".build.lock"}


def test_a_rebuild_of_an_unchanged_corpus_writes_nothing(make_corpus, tmp_path, capsys):
    root, out = make_corpus(), tmp_path / "index"
    args = ["--corpus", str(root), "--out", str(out)]
    assert build_main([*args, "-q"]) == 0
    first, before = read_current(out), tree(out)
    capsys.readouterr()
    assert build_main(args) == 0
    assert capsys.readouterr().out == f"index up to date: {first} ({len(TINY_ARTICLES)} articles)\n"
    assert tree(out) == before
    # --full: a complete version all the same (a compaction); -q: nothing said when nothing changed.
    assert build_main([*args, "--full", "-q"]) == 0
    second = read_current(out)
    assert second != first and (out / "versions" / second / "manifest.json").is_file()
    after = tree(out)
    assert build_main([*args, "-q"]) == 0
    assert capsys.readouterr().out == "" and tree(out) == after


def test_every_file_the_build_reads_is_a_change(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    published = build_index(root, out, analyzer=tiny_analyzer).version
    article = root / "articles" / "withdraw" / "arrival.md"
    edits = {
        "an answer": lambda: article.write_text(article.read_text("utf-8") + "周末也到账。\n", "utf-8"),
        "a new article": lambda: (root / "articles" / "withdraw" / "fee.md").write_text(
            "---\nid: wd-fee\nquestion: 提现要手续费吗？\ncategory: withdraw\n---\n免费。\n", "utf-8"),
        "a removed article": lambda: (root / "articles" / "withdraw" / "fee.md").unlink(),
        "categories.yml": lambda: (root / "categories.yml").write_text(
            "password: 密码\ntransfer: 转账\nwithdraw: 提现与到账\n", "utf-8"),
        "popular.yml": lambda: (root / "popular.yml").write_text("- pw-login\n", "utf-8"),
        "scope.yml": lambda: (root / "scope.yml").write_text("ours: [易钱包]\nothers: [微信]\n", "utf-8"),
        # The analyzer is the caller's here (its fingerprint unchanged): the version's copy, which
        # servers load, would be stale.
        "synonyms.txt": lambda: (root / "dict" / "synonyms.txt").write_text("提现 取钱\n", "utf-8"),
        "user_words.txt": lambda: (root / "dict" / "user_words.txt").write_text("# 领域词\n登录密码 2000\n", "utf-8"),
    }
    for what, edit in edits.items():
        edit()
        result = build_index(root, out, analyzer=tiny_analyzer)
        assert not result.unchanged and result.version != published, what
        published = result.version
        again = build_index(root, out, analyzer=tiny_analyzer)
        assert again.unchanged and again.version == published == read_current(out), what


def test_a_directory_corpus_is_read_once_by_a_rebuild(make_corpus, tmp_path, tiny_analyzer, monkeypatch):
    root, out = make_corpus(), tmp_path / "index"
    build_index(root, out, analyzer=tiny_analyzer)
    loads = []
    real = build.load_corpus
    monkeypatch.setattr(build, "load_corpus", lambda path: loads.append(path) or real(path))
    article = root / "articles" / "withdraw" / "arrival.md"
    article.write_text(article.read_text("utf-8") + "周末也到账。\n", "utf-8")
    assert not build_index(root, out, analyzer=tiny_analyzer).unchanged
    assert loads == [root]  # by the test for changes, then used by the build


def test_a_json_lines_corpus_is_hashed_not_parsed(tmp_path, tiny_analyzer, monkeypatch):
    corpus, out = tmp_path / "kb.jsonl", tmp_path / "index"
    lines = [json.dumps({"id": a["id"], "question": a["question"], "similar_questions": a.get("similar", []),
                         "answer": a["answer"], "category": a["category"]}, ensure_ascii=False)
             for a in TINY_ARTICLES.values()]
    corpus.write_text("\n".join(lines) + "\n", "utf-8")
    first = build_index(corpus, out, analyzer=tiny_analyzer).version
    real = build.load_corpus
    monkeypatch.setattr(build, "load_corpus", lambda path: pytest.fail("parsed"))
    again = build_index(corpus, out, analyzer=tiny_analyzer)
    assert again.unchanged and again.version == first and again.articles == len(lines)
    monkeypatch.setattr(build, "load_corpus", real)
    corpus.write_text("\n".join(lines[:-1]) + "\n", "utf-8")
    changed = build_index(corpus, out, analyzer=tiny_analyzer)
    assert not changed.unchanged and changed.version != first and changed.articles == len(lines) - 1


def test_a_corrupt_published_version_is_rebuilt(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    first = build_index(root, out, analyzer=tiny_analyzer).version
    meta = out / "versions" / first / "meta.json"
    meta.write_bytes(meta.read_bytes()[:-1])
    result = build_index(root, out, analyzer=tiny_analyzer)
    assert not result.unchanged and read_current(out) == result.version != first


def test_a_version_without_the_reranker_asked_for_is_rebuilt(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    first = build_index(root, out, analyzer=tiny_analyzer, rerank=False).version
    with_reranker = build_index(root, out, analyzer=tiny_analyzer)
    assert not with_reranker.unchanged and with_reranker.version != first
    assert build_index(root, out, analyzer=tiny_analyzer).unchanged
    assert not build_index(root, out, analyzer=tiny_analyzer, rerank=False).unchanged


def test_an_unchanged_rebuild_writes_the_completions_a_dead_builder_left_out(make_corpus, tmp_path, tiny_analyzer):
    root, out = make_corpus(), tmp_path / "index"
    first = build_index(root, out, analyzer=tiny_analyzer).version
    manifest = completions_dir(out, first) / "manifest.json"
    files = json.loads(manifest.read_text("utf-8"))["files"]
    shutil.rmtree(completions_dir(out, first))
    result = build_index(root, out, analyzer=tiny_analyzer)
    assert result.unchanged and result.version == first and result.completions_seconds is not None
    assert json.loads(manifest.read_text("utf-8"))["files"] == files


def test_an_edit_undone_publishes_the_version_built_before_again(make_corpus, tmp_path, capsys):
    # Changed, rebuilt, changed back, rebuilt: a whole new version was written (analysis, training, files,
    # completions) though the one built from that very corpus was still in versions/.
    root, out = make_corpus(), tmp_path / "index"
    args = ["--corpus", str(root), "--out", str(out)]
    assert build_main([*args, "-q"]) == 0
    first = read_current(out)
    article = root / "articles" / "withdraw" / "arrival.md"
    text = article.read_text("utf-8")
    article.write_text(text + "周末也到账。\n", "utf-8")
    assert build_main([*args, "-q"]) == 0
    edited = read_current(out)
    article.write_text(text, "utf-8")
    files = {p: p.stat().st_ino for p in (out / "versions" / first).rglob("*")}
    capsys.readouterr()
    assert build_main(args) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"published {first} again: built before from this corpus, still in versions/ and its "
                           f"checksums verified (4 articles, "), said
    assert "changed: articles/withdraw/arrival.md (answer)" in said, said
    assert read_current(out) == first and sorted(p.name for p in (out / "versions").iterdir()) == sorted([first, edited])
    assert {p: p.stat().st_ino for p in (out / "versions" / first).rglob("*")} == files  # nothing written again
    assert (completions_dir(out, first) / "manifest.json").is_file()
    assert build_main([*args, "--check"]) == 0
    # The version edited away is kept as the one CURRENT named before: redoing the edit goes back to it.
    article.write_text(text + "周末也到账。\n", "utf-8")
    assert build_main([*args, "-q"]) == 0
    assert read_current(out) == edited and sorted(p.name for p in (out / "versions").iterdir()) == sorted([first, edited])


def test_an_earlier_version_is_published_again_only_when_sound(make_corpus, tmp_path, monkeypatch):
    from faq_search import index as index_module

    root, out = make_corpus(), tmp_path / "index"
    args = ["--corpus", str(root), "--out", str(out), "-q"]
    assert build_main(args) == 0
    first = read_current(out)
    article = root / "articles" / "withdraw" / "arrival.md"
    text = article.read_text("utf-8")
    article.write_text(text + "周末也到账。\n", "utf-8")
    assert build_main(args) == 0
    edited = read_current(out)
    article.write_text(text, "utf-8")
    # Its pointer cannot be written (a full disk): the version stays, as the one it would replace does.
    real = index_module._write_file

    def full_disk(path, data):
        if path.name.startswith(".CURRENT."):
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(index_module, "_write_file", full_disk)
    assert build_main(args) == 2
    assert read_current(out) == edited and sorted(p.name for p in (out / "versions").iterdir()) == sorted([first, edited])
    monkeypatch.undo()
    # A file of it damaged since: a new version is built instead.
    vocab = out / "versions" / first / "vocab.json"
    vocab.write_bytes(vocab.read_bytes()[:-2])
    assert build_main(args) == 0
    rebuilt = read_current(out)
    assert rebuilt not in (first, edited) and rebuilt.split("-")[-1] == first.split("-")[-1]
    assert build_main([*args, "--check"]) == 0
