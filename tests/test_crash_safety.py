"""A builder that dies at any moment leaves the published index intact.

In-process: the build is made to fail before each of its file-system steps in turn. For real: a
builder process on a corpus big enough to take seconds is SIGKILLed at random moments and right as
its new version directory appears, while a reader keeps loading whatever CURRENT names.
"""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

import faq_search.index as index_module
from faq_search.corpus import load_corpus
from faq_search.build import build_index
from faq_search.index import load_index, prune, read_current
from faq_search.live import LiveSearcher
from faq_search.search import Searcher
from tests.conftest import REAL_CORPUS, ROOT, TINY_ARTICLES, write_corpus


class Crash(BaseException):
    """Stands for the process dying: BaseException, so no `except Exception` in the builder catches it."""


def leftovers(out):
    return sorted(p.name for p in (out / "versions").iterdir() if p.name.startswith(".tmp-"))


def assert_published_index_is_intact(out, allowed: set[str]):
    current = read_current(out)
    assert current in allowed, (current, allowed)
    data = load_index(out)  # verifies every file's checksum
    assert data.version == current and data.articles
    assert current not in leftovers(out)


def test_a_build_failing_before_any_of_its_steps_never_breaks_the_published_index(tmp_path, monkeypatch, tiny_analyzer):
    v1_corpus = write_corpus(tmp_path / "c1")
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2_corpus = write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra})
    real = {name: getattr(index_module, name) for name in ("_write_file", "_fsync_path", "prune")}
    step = 0
    while True:
        out = tmp_path / f"ix{step}"
        v1 = build_index(v1_corpus, out, analyzer=tiny_analyzer).version
        calls = 0

        def crashing(name):
            def wrapper(*args, **kwargs):
                nonlocal calls
                calls += 1
                if calls > step:
                    raise Crash(f"{name} at step {step}")
                return real[name](*args, **kwargs)
            return wrapper

        with monkeypatch.context() as m:
            for name in real:
                m.setattr(index_module, name, crashing(name))
            try:
                v2 = build_index(v2_corpus, out, analyzer=tiny_analyzer).version
                finished = True
            except Crash:
                finished = False
        published = read_current(out)
        assert_published_index_is_intact(out, {v1} if published == v1 else {published})
        if published != v1:  # the pointer moved: only ever to the complete new version
            assert len(load_index(out).articles) == 5
        # The next build succeeds whatever was left behind; after a crash past the pointer the
        # published version is this corpus's already, and nothing is written.
        rebuilt = build_index(v2_corpus, out, analyzer=tiny_analyzer)
        v3 = rebuilt.version
        assert rebuilt.unchanged == (published != v1)
        assert_published_index_is_intact(out, {v3})
        if finished:
            assert published == v2
            break
        step += 1
        assert step < 50, "the build never finished"
    assert step >= 8  # it did fail at each write, fsync, rename-then-fsync, pointer and prune step


def test_prune_removes_versions_and_leftovers_but_never_the_published_one(tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    # Two corpora: a rebuild of an unchanged one would publish nothing.
    edited = {**TINY_ARTICLES["withdraw/arrival.md"], "answer": "提现两小时内到账。"}
    old, middle = (build_index(write_corpus(tmp_path / f"c{i}", articles), out, analyzer=tiny_analyzer).version
                   for i, articles in enumerate([None, {**TINY_ARTICLES, "withdraw/arrival.md": edited}]))
    assert old != middle
    newer = ["v99990101T000000000000Z-aaaaaaaa", "v99990101T000000000001Z-aaaaaaaa"]
    for name in newer:
        shutil.copytree(out / "versions" / middle, out / "versions" / name)
    stale, fresh = out / "versions" / ".tmp-vdead-123", out / "versions" / ".tmp-vbusy-456"
    stale.mkdir()
    fresh.mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    (out / "cache").mkdir(exist_ok=True)
    cache_files = {name: out / "cache" / name for name in (
        ".dictionary-x-y.npz.123.tmp", "analysis-x.npz.123.tmp.npz", ".dictionary-x-y.npz.456.tmp", "analysis-x.npz")}
    for name, path in cache_files.items():
        path.write_bytes(b"half written")
        if "123" in name or name == "analysis-x.npz":
            os.utime(path, (two_hours_ago, two_hours_ago))
    (out / "CURRENT").write_text(old + "\n")  # e.g. an operator rolled back
    prune(out, previous=newer[0])
    # Kept: the published one, the one it replaced, and no more (the newest, newer[1], has the same content
    # as newer[0]); the fresh leftover may belong to a running builder.
    assert sorted(p.name for p in (out / "versions").iterdir()) == sorted([fresh.name, old, newer[0]])
    # Of the cache, only the stale temporary files go.
    assert {n for n, p in cache_files.items() if p.exists()} == {".dictionary-x-y.npz.456.tmp", "analysis-x.npz"}
    assert_published_index_is_intact(out, {old})


# --- real processes, killed ---------------------------------------------------------------------

def big_corpus(path, copies: int):
    """The real knowledge base ``copies`` times over as JSON Lines (distinct ids and text)."""
    articles = load_corpus(REAL_CORPUS).articles
    with open(path, "w", encoding="utf-8") as f:
        for k in range(copies):
            for a in articles:
                f.write(json.dumps({"id": f"{a.id}-{k}", "question": f"{a.question}（{k}）",
                                    "similar_questions": list(a.similar_questions), "answer": f"{a.answer}\n编号{k}",
                                    "category": a.category, "tags": list(a.tags)}, ensure_ascii=False) + "\n")


@pytest.mark.e2e
def test_sigkilled_builders_leave_the_published_index_intact(tmp_path, real_analyzer):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    corpus, out = tmp_path / "big.jsonl", tmp_path / "index"
    big_corpus(corpus, copies=3)
    dict_dir = REAL_CORPUS / "dict"
    first = build_index(corpus, out, dict_dir, analyzer=real_analyzer).version
    published = {first}

    # A reader following CURRENT all along, as a server would: it must never meet a broken version.
    live = LiveSearcher(out, interval=0.0, analyzer=real_analyzer)
    errors, stop = [], threading.Event()

    def follow():
        while not stop.is_set():
            live.refresh()
            if live.error:
                errors.append(live.error)

    reader = threading.Thread(target=follow)
    reader.start()

    def run_builder(kill_when, fresh_analysis: bool):
        if fresh_analysis:  # a long analysis phase to land in; the cache comes back for the runs after
            shutil.rmtree(tmp_path / "cache-aside", ignore_errors=True)
            (out / "cache").rename(tmp_path / "cache-aside")
        # Each run changes the corpus, so a finished build would publish a new version.
        with open(corpus, "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": f"extra-{len(runs)}", "question": f"第{len(runs)}个新问题？",
                                "answer": "新答案。", "category": "account"}, ensure_ascii=False) + "\n")
        before = set(os.listdir(out / "versions"))
        proc = subprocess.Popen([sys.executable, str(ROOT / "build_index.py"), "--corpus", str(corpus),
                                 "--out", str(out), "--dict", str(dict_dir), "-q"], cwd=ROOT)
        started = time.monotonic()
        while proc.poll() is None and not kill_when(before, time.monotonic() - started):
            if time.monotonic() - started > 90:
                proc.kill()
                pytest.fail("builder took more than 90 s")
            time.sleep(0.001)
        proc.kill()
        proc.wait(timeout=30)
        if fresh_analysis:
            shutil.rmtree(out / "cache", ignore_errors=True)
            (tmp_path / "cache-aside").rename(out / "cache")
        return time.monotonic() - started

    new_dir = lambda prefix: lambda before, _t: any(n.startswith(prefix) for n in set(os.listdir(out / "versions")) - before)
    at = lambda seconds: lambda _before, t: t >= seconds
    # (description, trigger, analyse without the cache)
    plan = [
        ("while analysing", at(rng.uniform(1.0, 3.0)), True),
        ("as the temporary version directory appears", new_dir(".tmp-"), False),
        ("as the new version directory appears", new_dir("v"), False),
        ("at a random moment", at(rng.uniform(0.5, 4.0)), False),
        ("at a random moment", at(rng.uniform(0.5, 4.0)), False),
    ]
    runs = []
    try:
        for what, trigger, fresh in plan:
            seconds = run_builder(trigger, fresh)
            current = read_current(out)
            runs.append((what, round(seconds, 2), current not in published))
            published.add(current)
            assert_published_index_is_intact(out, published)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert errors == [], (errors[:3], f"seed {seed}", runs)
    assert live.current.version == read_current(out)
    # And the next build, after all that debris, publishes normally (of a changed corpus: the last run
    # may have published this one, and an unchanged corpus publishes nothing).
    with open(corpus, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "extra-final", "question": "最后一个新问题？", "answer": "新答案。",
                            "category": "account"}, ensure_ascii=False) + "\n")
    final = build_index(corpus, out, dict_dir, analyzer=real_analyzer)
    assert not final.unchanged
    assert_published_index_is_intact(out, {final.version})
    # Searchable (the corpus holds numbered near-copies of each article, so only the topic is checked).
    top = Searcher.load(out, analyzer=real_analyzer).search("忘记登录密码怎么办", k=3)
    assert top and top[0].category == "password"
    print(f"\nseed {seed}; kills (when, seconds, had published): {runs}")


def test_a_build_waits_for_the_running_one_then_publishes_the_corpus_as_it_is_then(make_corpus, tmp_path, tiny_analyzer):
    from faq_search.build import check_index
    from faq_search.index import build_lock

    corpus, out = make_corpus(), tmp_path / "index"
    first = build_index(corpus, out, analyzer=tiny_analyzer).version
    waited, done = [], []
    # Another build holds the index directory (the test stands for it).
    with build_lock(out):
        second = threading.Thread(target=lambda: done.append(build_index(corpus, out, analyzer=tiny_analyzer,
                                                                         on_wait=waited.append)))
        second.start()
        deadline = time.monotonic() + 30
        while not waited and time.monotonic() < deadline:
            time.sleep(0.01)
        assert waited and f"pid {os.getpid()}" in waited[0] and "waiting for another build" in waited[0]
        since = re.search(r"since (\S+ \S+) UTC\)", waited[0])  # with its zone: the holder's may not be ours
        assert since and abs(datetime.strptime(since[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
                             - time.time()) < 600
        assert read_current(out) == first and not done  # it waits: read nothing, published nothing
        # The corpus changes while it waits: it must build what is there once its turn comes.
        path = corpus / "articles" / "withdraw" / "fee.md"
        path.write_text(TINY_FEE_ARTICLE, "utf-8")
    second.join(timeout=60)
    assert done and read_current(out) == done[0].version != first
    assert check_index(corpus, out, analyzer=tiny_analyzer)[0]
    assert "wd-fee" in {a.id for a in load_index(out).articles}
    assert (out / ".build.lock").read_text() == ""  # nobody holds it now


TINY_FEE_ARTICLE = """---
id: wd-fee
question: 提现要手续费吗？
category: withdraw
---
每月前2000元提现免费，超出部分收取0.1%手续费。
"""


def test_a_killed_builder_and_its_orphaned_children_do_not_hold_up_the_next_build(make_corpus, tmp_path, tiny_analyzer):
    corpus, out = make_corpus(), tmp_path / "index"
    # A builder that forked a child (as the completions and worker pools do) and is then SIGKILLed: the
    # kernel frees its lock, and the orphan, still running, must not hold it.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import os, sys, time\n"
        "from faq_search.index import build_lock\n"
        f"with build_lock({str(out)!r}):\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        time.sleep(120); os._exit(0)\n"
        "    print(child, flush=True); time.sleep(120)\n")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    orphan = int(holder.stdout.readline())
    try:
        waited = []
        blocked = threading.Thread(target=lambda: build_index(corpus, out, analyzer=tiny_analyzer, on_wait=waited.append))
        blocked.start()
        deadline = time.monotonic() + 30
        while not waited and time.monotonic() < deadline:
            time.sleep(0.01)
        assert waited and f"pid {holder.pid}" in waited[0]
        holder.kill()
        holder.wait(timeout=30)
        blocked.join(timeout=60)
        assert not blocked.is_alive() and read_current(out) is not None
        os.kill(orphan, 0)  # the orphan is still running all along
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
        try:
            os.kill(orphan, 9)
        except ProcessLookupError:
            pass


def test_a_build_failing_on_a_full_disk_removes_what_it_wrote(tmp_path, monkeypatch, tiny_analyzer, capsys):
    from faq_search.cli import build_main

    out = tmp_path / "ix"
    v1 = build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer).version
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2_corpus = write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra})
    real, calls = index_module._write_npy, []

    def full_disk(path, arr):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        return real(path, arr)

    monkeypatch.setattr(index_module, "_write_npy", full_disk)
    assert build_main(["--corpus", str(v2_corpus), "--out", str(out), "-q"]) == 2
    # The write names no file: the build says where it was writing.
    assert f"No space left on device (writing under {out})" in capsys.readouterr().err and len(calls) > 3
    assert leftovers(out) == []  # a retry has the space back
    assert_published_index_is_intact(out, {v1})
    # make run's --ensure serves the published index and says what to do: not "fix the problems above".
    calls.clear()
    assert build_main(["--corpus", str(v2_corpus), "--out", str(out), "-q", "--ensure"]) == 0
    said = capsys.readouterr().err
    assert "make it writable or free space there to publish it" in said and "problems above" not in said
    assert_published_index_is_intact(out, {v1})


@pytest.mark.parametrize("failing, written", [("_write_npy", 2), ("_write_file", 1)])  # an array; the manifest
def test_completions_failing_on_a_full_disk_leave_no_temporary_directory(tmp_path, monkeypatch, tiny_analyzer, caplog,
                                                                         failing, written):
    # Their half-written completions/.tmp-<version>-<pid> stayed an hour, the disk still full for the retry.
    from faq_search import completions as completions_module

    out = tmp_path / "ix"
    v1 = build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer).version
    real, calls = getattr(completions_module, failing), []

    def full_disk(path, data):
        calls.append(path)
        if len(calls) > written:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(completions_module, failing, full_disk)
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2 = build_index(write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra}), out,
                     analyzer=tiny_analyzer)
    assert len(calls) > written and f"completions of {v2.version} not written" in caplog.text
    assert read_current(out) == v2.version  # published all the same: servers build its completions
    assert sorted(p.name for p in (out / "completions").iterdir()) == [v1]
    calls.clear()
    monkeypatch.setattr(completions_module, failing, real)
    build_index(write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra}), out,
                analyzer=tiny_analyzer)  # the space freed: the up-to-date build writes them
    assert sorted(p.name for p in (out / "completions").iterdir()) == sorted([v1, v2.version])


def test_a_build_removes_a_killed_builders_half_written_directories_first(tmp_path, monkeypatch, tiny_analyzer,
                                                                          capsys):
    # A builder killed mid-write (the OOM killer) leaves its half-written version (0.4 GiB at 100k entries). Only
    # a publish removed it, and only an hour later: on the disk it had filled, every build failed and none did.
    from faq_search.cli import build_main

    out = tmp_path / "ix"
    v1 = build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer).version
    left = [out / "versions" / ".tmp-v20991231T000000000000Z-deadbeef-99999", out / "versions" / ".tmp-texts-99999",
            out / "completions" / ".tmp-build-99999", out / "completions" / f".tmp-{v1}-99999"]
    for d in left:
        d.mkdir(parents=True)
        (d / "part.npy").write_bytes(b"half written")

    def full_disk(path, arr):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_module, "_write_npy", full_disk)
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2_corpus = write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra})
    assert build_main(["--corpus", str(v2_corpus), "--out", str(out), "-q"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert [d.name for d in left if d.exists()] == []  # builds take turns: whoever wrote them is dead
    assert_published_index_is_intact(out, {v1})


def test_a_full_disk_after_the_publish_is_a_warning_not_a_failed_build(tmp_path, monkeypatch, tiny_analyzer, capsys,
                                                                        caplog):
    # The row features cached after the switch (0.1 GiB at 100k entries) failing on a full disk said "build
    # failed; the published index is unchanged (<the new version>)", exit 2, with the new version serving.
    from faq_search import incremental
    from faq_search.cli import build_main

    out = tmp_path / "ix"
    v1 = build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer).version

    def full_disk(path, tmp, arrays):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(incremental, "write_npz", full_disk)
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2_corpus = write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra})
    assert build_main(["--corpus", str(v2_corpus), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    v2 = read_current(out)
    assert v2 != v1 and captured.out.startswith(f"built {v2}: 5 articles"), captured
    assert "build failed" not in captured.err and "error" not in captured.err, captured.err
    assert f"row features of {v2} not cached: [Errno 28] No space left on device" in caplog.text
    assert_published_index_is_intact(out, {v2})


def test_a_pointer_that_cannot_be_written_leaves_no_unpublished_version(tmp_path, monkeypatch, tiny_analyzer, capsys):
    # The disk filled up by the version itself: its pointer could not be written, and the complete version it
    # would have named stayed in versions/, never published, taking the room a retry needed.
    from faq_search.cli import build_main

    out = tmp_path / "ix"
    v1 = build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer).version
    real = index_module._write_file

    def full_disk(path, data):
        if path.name.startswith(".CURRENT."):
            real(path, data[:1])  # a part written, then the disk is full
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(index_module, "_write_file", full_disk)
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    v2_corpus = write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra})
    assert build_main(["--corpus", str(v2_corpus), "--out", str(out), "-q"]) == 2
    # What failed and where, not the exception's class (`build failed: OSError`).
    assert (f"build failed: No space left on device (writing under {out}); the published index is unchanged ({v1})"
            in capsys.readouterr().err)
    assert sorted(p.name for p in (out / "versions").iterdir()) == [v1]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".CURRENT")) == []
    assert_published_index_is_intact(out, {v1})


def test_a_cache_write_failing_on_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch, tiny_analyzer):
    # Builds run from cron left one *.tmp.npz (512 kB here) in index/cache/ per failed write, never removed.
    from faq_search import features

    out = tmp_path / "ix"
    build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer)
    real = features.np.savez

    def full_disk(file, **arrays):
        real(file, **arrays)  # written, then the disk is full before it is closed
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(features.np, "savez", full_disk)
    with pytest.raises(OSError):
        features.TokenCache.empty().save(out / "cache" / "tokens.npz")
    extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
    with pytest.raises(OSError):
        build_index(write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra}), out, analyzer=tiny_analyzer)
    assert sorted(p.name for p in out.rglob("*.tmp*")) == []


def test_a_build_removes_the_cache_files_a_dead_builder_was_writing(tmp_path, tiny_analyzer):
    # A builder killed while writing a cache (up to 0.2 GiB a file at 100k entries) left it an hour, and then
    # until a publish swept it: on the disk it had filled, every build failed before that.
    import os
    import subprocess
    import sys

    out = tmp_path / "ix"
    build_index(write_corpus(tmp_path / "c1"), out, analyzer=tiny_analyzer)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        cache = out / "cache"
        dead = [cache / f"analysis-0123456789abcdef.npz.{gone.pid}.tmp.npz", cache / f".rows-v1.{gone.pid}.tmp.npz",
                cache / f".dictionary-0123456789abcdef-0123456789ab.npz.{gone.pid}.tmp"]
        alive = [cache / f"analysis-0123456789abcdef.npz.{running.pid}.tmp.npz",  # an orphan still writing
                 cache / f".dictionary-0123456789abcdef-0123456789ab.npz.{running.pid}.tmp",
                 cache / "notes.tmp.npz"]  # no pid: whose it is is unknown
        for p in (*dead, *alive):
            p.write_bytes(b"x" * 1024)
        extra = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心兑换。"}
        build_index(write_corpus(tmp_path / "c2", {**TINY_ARTICLES, "password/points.md": extra}), out,
                    analyzer=tiny_analyzer)
        assert [p.name for p in dead if p.exists()] == []
        assert [p.name for p in alive if not p.exists()] == []  # left to the hour-old sweep
        assert os.kill(running.pid, 0) is None
    finally:
        running.kill()
        running.wait()
