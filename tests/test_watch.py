"""build --watch: poll the corpus, debounce bursts, rebuild and publish; broken articles keep the old index."""

import signal
import subprocess
import sys

import pytest

from faq_search.corpus import CorpusError
from faq_search.index import BuildResult, load_index, read_current
from faq_search.watch import CorpusWatcher
from tests.conftest import ROOT, TINY_ARTICLES, article_text, wait_for


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def setup(make_corpus, tmp_path, tiny_analyzer):
    root, out, clock = make_corpus(), tmp_path / "index", Clock()
    built, failed = [], []
    watcher = CorpusWatcher(root, out, debounce=1.0, max_delay=3.0, analyzer=tiny_analyzer, clock=clock,
                            on_built=built.append, on_failed=failed.append)
    assert isinstance(watcher.build_if_stale(), BuildResult)  # nothing published yet
    built.clear()
    return root, out, clock, watcher, built, failed


def edit(root, rel, extra):
    path = root / "articles" / rel
    path.write_text(path.read_text("utf-8") + extra, "utf-8")


def test_a_burst_of_edits_becomes_one_build_after_the_quiet_period(setup):
    root, out, clock, watcher, built, failed = setup
    before = read_current(out)
    assert watcher.poll() is None
    edit(root, "withdraw/arrival.md", "\n周末照常到账。\n")
    assert watcher.poll() is None
    clock.now += 0.5
    edit(root, "transfer/wrong-person.md", "\n也可以拨打客服热线。\n")
    assert watcher.poll() is None
    clock.now += 0.7  # 0.7 s since the last edit: still settling
    assert watcher.poll() is None and built == []
    clock.now += 0.4
    result = watcher.poll()
    assert isinstance(result, BuildResult) and built == [result] and failed == []
    assert read_current(out) == result.version != before
    answers = {a.id: a.answer for a in load_index(out).articles}
    assert "周末照常到账" in answers["wd-time"] and "客服热线" in answers["tr-wrong"]
    clock.now += 5
    assert watcher.poll() is None and len(built) == 1  # nothing new


def test_edits_that_never_stop_still_build_after_max_delay(setup):
    root, out, clock, watcher, built, failed = setup
    for i in range(8):
        edit(root, "withdraw/arrival.md", f"\n补充{i}。\n")
        watcher.poll()
        clock.now += 0.5
    assert len(built) == 1  # at 3 s, although the files never went quiet


def test_a_broken_article_keeps_the_previous_index_until_it_is_fixed(setup):
    root, out, clock, watcher, built, failed = setup
    good = read_current(out)
    bad = root / "articles" / "password" / "broken.md"
    bad.write_text("---\nid: broken\ncategory: password\n---\n没有标题的文章\n", "utf-8")
    watcher.poll()
    clock.now += 1.5
    error = watcher.poll()
    assert isinstance(error, CorpusError) and failed == [error] and built == []
    assert "password/broken.md:1: missing 'question'" in str(error.problems[0])
    assert read_current(out) == good
    clock.now += 5
    assert watcher.poll() is None  # no retry until something changes
    bad.write_text(article_text({"id": "broken", "question": "积分怎么用？", "category": "password",
                                 "answer": "在积分中心兑换礼品。"}), "utf-8")
    watcher.poll()
    clock.now += 1.5
    assert isinstance(watcher.poll(), BuildResult)
    assert len(load_index(out).articles) == len(TINY_ARTICLES) + 1


def settle(watcher, clock):
    """Poll once to notice a change, let the debounce pass, poll again: what that poll built, if anything."""
    watcher.poll()
    clock.now += 1.5
    return watcher.poll()


def test_new_and_deleted_articles_the_dictionary_and_lists_count_as_changes(setup):
    root, out, clock, watcher, built, failed = setup

    (root / "articles" / "withdraw" / "arrival.md").unlink()
    assert isinstance(settle(watcher, clock), BuildResult) and len(load_index(out).articles) == 3
    (root / "dict" / "synonyms.txt").write_text("提现 取钱\n", "utf-8")
    assert isinstance(settle(watcher, clock), BuildResult)
    (root / "scope.yml").write_text("ours: [易钱包]\nothers: [微信]\n", "utf-8")
    assert isinstance(settle(watcher, clock), BuildResult) and load_index(out).scope.others == ("微信",)
    (root / "popular.yml").write_text("- pw-login\n", "utf-8")
    assert isinstance(settle(watcher, clock), BuildResult)
    # Editor droppings are not part of the corpus.
    (root / "articles" / "password" / ".forgot-login.md.swp").write_text("x")
    (root / "articles" / "password" / "forgot-login.md~").write_text("x")
    assert settle(watcher, clock) is None


def test_an_editors_lock_file_neither_fails_a_build_nor_hides_the_next_one(setup):
    root, out, clock, watcher, built, failed = setup

    lock = root / "articles" / "password" / ".#forgot-login.md"
    lock.symlink_to("root@host.1234:1700000000")  # Emacs, while the buffer has unsaved changes
    assert settle(watcher, clock) is None  # not part of the corpus
    edit(root, "withdraw/arrival.md", "\n周末也到账。\n")
    assert isinstance(settle(watcher, clock), BuildResult) and failed == []
    lock.unlink()
    assert settle(watcher, clock) is None
    # A dangling link that is an article fails the build; removing it is a change, and the next build
    # succeeds: the corpus is the published one again, so it publishes nothing.
    gone = root / "articles" / "password" / "gone.md"
    gone.symlink_to("nowhere")
    assert isinstance(settle(watcher, clock), CorpusError)
    gone.unlink()
    result = settle(watcher, clock)
    assert isinstance(result, BuildResult) and result.unchanged and result.version == read_current(out)
    # A misnamed article is reported; renaming it is seen.
    misnamed = root / "articles" / "password" / "points.MD"
    misnamed.write_text(article_text({"id": "pts", "question": "积分怎么用？", "category": "password",
                                      "answer": "在积分中心兑换礼品。"}), "utf-8")
    error = settle(watcher, clock)
    assert isinstance(error, CorpusError) and "points.MD:1: not read" in str(error)
    misnamed.rename(misnamed.with_suffix(".md"))
    assert isinstance(settle(watcher, clock), BuildResult) and len(load_index(out).articles) == len(TINY_ARTICLES) + 1


def test_a_file_saved_unchanged_publishes_nothing(setup, capsys):
    from faq_search.cli import _print_built

    root, out, clock, watcher, built, failed = setup
    published, versions = read_current(out), sorted(p.name for p in (out / "versions").iterdir())
    path = root / "articles" / "withdraw" / "arrival.md"
    path.write_text(path.read_text("utf-8"), "utf-8")  # saved as it was: seen, built, nothing to publish
    result = settle(watcher, clock)
    assert isinstance(result, BuildResult) and result.unchanged and built == [result] and failed == []
    assert read_current(out) == published == result.version
    assert sorted(p.name for p in (out / "versions").iterdir()) == versions
    _print_built(result, quiet=False)  # what --watch prints
    assert capsys.readouterr().out == f"index up to date: {published} ({len(TINY_ARTICLES)} articles)\n"


def test_build_if_stale_skips_a_fresh_index(setup):
    root, out, clock, watcher, built, failed = setup
    assert watcher.build_if_stale() is None and built == []


@pytest.mark.e2e
def test_the_watch_command_publishes_edits_and_reports_broken_articles(make_corpus, tmp_path):
    root, out = make_corpus(), tmp_path / "index"
    log = open(tmp_path / "watch.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "faq_search.cli", "build", "--watch", "--corpus", str(root), "--out", str(out),
         "--interval", "0.05", "--debounce", "0.2"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(lambda: read_current(out) is not None, 60, "the first build")
        first = read_current(out)
        edit(root, "withdraw/arrival.md", "\n周末照常到账。\n")
        wait_for(lambda: read_current(out) != first, 20, "a rebuild after an edit")
        second = read_current(out)
        edit(root, "withdraw/arrival.md", "")  # saved unchanged: no publish
        wait_for(lambda: "index up to date" in (tmp_path / "watch.log").read_text("utf-8"), 20, "the unchanged build")
        assert read_current(out) == second
        (root / "articles" / "password" / "broken.md").write_text("---\nid: [\n---\n答\n", "utf-8")
        wait_for(lambda: "build failed" in (tmp_path / "watch.log").read_text("utf-8"), 20, "the error")
        assert read_current(out) == second
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        log.seek(0)
        output = log.read()
        log.close()
    assert code == 0, output
    assert "password/broken.md:" in output and f"the published index is unchanged ({second})" in output
    assert output.count("built v") == 2


def test_a_build_that_failed_for_the_disk_not_the_corpus_is_tried_again_without_an_edit(setup, monkeypatch):
    import faq_search.watch

    root, out, clock, watcher, built, failed = setup
    real_build = faq_search.watch.build_index
    disk = {"full": True}

    def build(*args, **kwargs):
        if disk["full"]:
            raise OSError(28, "No space left on device")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(faq_search.watch, "build_index", build)
    before = read_current(out)
    edit(root, "withdraw/arrival.md", "\n周末照常到账。\n")
    assert isinstance(settle(watcher, clock), OSError) and read_current(out) == before
    clock.now += 29
    assert watcher.poll() is None  # not at every poll: 30 s, then twice as long each time
    clock.now += 1
    assert isinstance(watcher.poll(), OSError) and len(failed) == 2
    clock.now += 59
    assert watcher.poll() is None
    disk["full"] = False  # space freed: the edit is published with no other edit
    clock.now += 1
    assert isinstance(watcher.poll(), BuildResult) and read_current(out) != before
    clock.now += 1000
    assert watcher.poll() is None and len(built) == 1
