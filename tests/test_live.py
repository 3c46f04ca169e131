"""LiveSearcher: following the CURRENT pointer; in the background, a new version never stalls get()."""

import shutil
import threading
import time

import pytest

from faq_search import live as live_module
from faq_search.build import build_index
from faq_search.live import LiveSearcher
from tests.conftest import TINY_ARTICLES, build_app

EXTRA = {"id": "pts", "question": "积分怎么兑换？", "category": "password", "answer": "在积分中心选择商品兑换。"}


def wait_for_version(live: LiveSearcher, version: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if live.get().version == version:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.timing
def test_a_new_version_loads_in_the_background_while_the_old_one_answers(make_corpus, tmp_path, tiny_analyzer,
                                                                          monkeypatch):
    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    live = LiveSearcher(out, interval=0.0, analyzer=tiny_analyzer, background=True)
    assert live.get().version == v1
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out,
                     analyzer=tiny_analyzer).version
    release, loading = threading.Event(), threading.Event()
    real_load = live_module.Searcher.load

    def slow_load(*args, **kwargs):  # a big index: loading and warming take seconds
        loading.set()
        assert release.wait(10)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(live_module.Searcher, "load", slow_load)
    t0 = time.monotonic()
    assert live.get().version == v1  # starts the reload, answers with what it has
    assert loading.wait(5)
    for _ in range(20):
        assert live.get().version == v1
    # Waiting for the load would take until release (10 s): 5 s leaves room for a busy machine.
    assert time.monotonic() - t0 < 5.0, "get() waited for the load"
    assert all(h.id != "pts" for h in live.get().search("积分兑换"))
    release.set()
    assert wait_for_version(live, v2)
    assert live.get().search("积分兑换")[0].id == "pts"


def test_a_version_that_fails_to_load_in_the_background_keeps_the_old_one(make_corpus, tmp_path, tiny_analyzer):
    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    live = LiveSearcher(out, interval=0.0, analyzer=tiny_analyzer, background=True)
    # Another corpus: an unchanged one would publish nothing.
    edited = {**TINY_ARTICLES["withdraw/arrival.md"], "answer": "提现两小时内到账。"}
    broken = build_index(make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": edited}, name="v2"), out,
                         analyzer=tiny_analyzer)
    (broken.path / "vocab.json").write_text("{}", "utf-8")  # checksum no longer matches
    assert live.get().version == v1
    deadline = time.monotonic() + 10
    while live.error is None and time.monotonic() < deadline:
        live.get()
        time.sleep(0.01)
    assert live.error and broken.version in live.error and live.get().version == v1
    # The reload's lock was released: the next good version is still picked up.
    v3 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v3"), out,
                     analyzer=tiny_analyzer).version
    assert wait_for_version(live, v3)


def test_a_reload_during_a_background_load_answers_at_once_and_loads_nothing_more(make_corpus, tmp_path,
                                                                                   tiny_analyzer, monkeypatch):
    # The admin reload waited for the follower's load of the new version, holding its worker for seconds.
    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    live = LiveSearcher(out, interval=0.0, analyzer=tiny_analyzer, background=True)
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out,
                     analyzer=tiny_analyzer).version
    release, loading = threading.Event(), threading.Event()
    real_load = live_module.Searcher.load
    loads = []

    def slow_load(*args, **kwargs):
        loads.append(kwargs.get("version"))
        loading.set()
        release.wait(10)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(live_module.Searcher, "load", slow_load)
    try:
        assert live.get().version == v1 and loading.wait(5)  # the follower is loading v2, holding the lock
        said = []
        admin = threading.Thread(target=lambda: said.extend(live.reload(force=force) for force in (False, True)))
        admin.start()
        admin.join(5)
        assert not admin.is_alive(), "the reload waited for the load"
        assert said == [(False, v2), (False, v2)] and live.current.version == v1 and live.loading == v2
    finally:
        release.set()
    assert wait_for_version(live, v2) and loads == [v2]
    assert live.reload(force=True) == (False, None)  # v2 served: nothing to load again
    with live._lock:
        assert loads == [v2] and live.loading is None


def test_listeners_hear_of_each_swap_and_a_failing_one_stops_nothing(make_corpus, tmp_path, tiny_analyzer, caplog):
    out = tmp_path / "ix"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    live = LiveSearcher(out, interval=0.0, analyzer=tiny_analyzer, background=False)
    heard = []
    live.subscribe(lambda s: 1 / 0)
    live.subscribe(lambda s: heard.append(s.version))
    assert live.get() and heard == []  # the version it started with is told by a forked worker's first get()
    v2 = build_index(make_corpus({**TINY_ARTICLES, "password/points.md": EXTRA}, name="v2"), out,
                     analyzer=tiny_analyzer).version
    assert live.get().version == v2 and heard == [v2]
    assert "index listener failed" in caplog.text



def test_a_pointer_naming_no_version_is_reported_and_a_restart_serves_the_newest_sound_one(
        make_corpus, tmp_path, tiny_analyzer, caplog):
    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    client = build_app(out, tmp_path / "data", tiny_analyzer).test_client()
    newer = out / "versions" / "v99990101T000000000000Z-broken00"  # a newer version that is not sound
    shutil.copytree(out / "versions" / v1, newer)
    (newer / "vocab.json").write_text("{}", "utf-8")
    for name, pointer in [("deleted", None), ("empty", b""), ("not UTF-8", b"\xff\xfe")]:
        caplog.clear()
        # A person or a sync tool deletes or mangles the pointer: still serving, but /healthz and the log say so.
        if pointer is None:
            (out / "CURRENT").unlink()
        else:
            (out / "CURRENT").write_bytes(pointer)
        for _ in range(2):
            body = client.get("/healthz").get_json()
            assert body["status"] == "stale" and body["index_version"] == v1 and body["refused_version"] is None, name
            assert body["reason"].startswith("the pointer CURRENT is ") and str(out) not in body["reason"], name
        assert caplog.text.count(f"still serving {v1}") == 1, name
        # A restart serves the newest sound version, with the command that points CURRENT at it.
        live = LiveSearcher(out, interval=0.0, analyzer=tiny_analyzer, background=False)
        assert live.get().version == v1 and live.pointer_error == body["reason"], name
        assert f"serving the newest sound version {v1} while the pointer CURRENT is" in caplog.text, name
        assert f"mv {out / 'CURRENT.rollback'} {out / 'CURRENT'}" in caplog.text, name
        (out / "CURRENT").write_text(v1 + "\n")
        assert client.get("/healthz").get_json() == {"status": "ok", "index_version": v1, "articles": 4}
        assert live.get().version == v1 and live.pointer_error is None and live.error is None
