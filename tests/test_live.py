"""LiveSearcher: following the CURRENT pointer; in the background, a new version never stalls get()."""

import threading
import time

import pytest

from faq_search import live as live_module
from faq_search.build import build_index
from faq_search.live import LiveSearcher
from tests.conftest import TINY_ARTICLES

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
    assert time.monotonic() - t0 < 1.0, "get() waited for the load"
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
