"""Request log lines, /metrics and the query log written by the app."""

import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from faq_search.querylog import read_events
from faq_search.web.observability import JsonFormatter, configure_logging, prepare_metrics_dir
from tests.conftest import ROOT, TINY_ARTICLES, assert_error, http_get, running_gunicorn, wait_for, worker_pids

REQUEST_FIELDS = {"method", "route", "status", "latency_ms", "results", "confident", "index_version"}


def request_lines(caplog):
    return [r.data for r in caplog.records if r.name == "faq_search.requests"]


def test_one_log_record_per_request_with_search_details(client, caplog):
    caplog.set_level(logging.INFO, logger="faq_search.requests")
    client.get("/api/search?q=忘记登录密码了怎么办")
    client.get("/api/search?q=推荐一部电影")
    client.get("/api/search?q=")
    client.get("/api/articles/pw-login")
    client.get("/nope")
    lines = request_lines(caplog)
    assert len(lines) == 5 and all(set(line) == REQUEST_FIELDS for line in lines)
    found, nothing, bad, article, missing = lines
    assert found["route"] == "/api/search" and found["status"] == 200 and found["method"] == "GET"
    assert found["results"] >= 1 and found["confident"] is True and found["index_version"].startswith("v")
    assert isinstance(found["latency_ms"], float) and found["latency_ms"] >= 0
    assert nothing["results"] == 0 and nothing["confident"] is False
    assert bad["status"] == 400 and bad["results"] is None and bad["index_version"] == found["index_version"]
    assert article["route"] == "/api/articles/<article_id>"
    assert missing["route"] == "unmatched" and missing["status"] == 404


def test_page_searches_are_logged_too(client, caplog):
    caplog.set_level(logging.INFO, logger="faq_search.requests")
    client.get("/?q=提现多久到账")
    (line,) = request_lines(caplog)
    assert line["route"] == "/" and line["results"] >= 1


def test_json_formatter_writes_one_line_per_record():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(stream)
    try:
        logging.getLogger("faq_search.requests").info("request", extra={"data": {"route": "/api/search", "status": 200}})
        try:
            raise ValueError("multi\nline")
        except ValueError:
            logging.getLogger("faq_search.live").exception("index refused")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = map(json.loads, lines)
    assert first["msg"] == "request" and first["route"] == "/api/search" and first["status"] == 200
    assert first["level"] == "info" and first["logger"] == "faq_search.requests" and first["pid"] > 0
    assert second["level"] == "error" and "ValueError: multi" in second["exc"]


def test_formatter_survives_odd_values():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "问 %s", ("\x00",), None)
    record.data = {"obj": object(), "text": "中文"}
    out = json.loads(JsonFormatter().format(record))
    assert out["msg"] == "问 \x00" and out["text"] == "中文" and out["obj"].startswith("<object")


# --- metrics --------------------------------------------------------------------------------------

def metric_value(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                return float(value)
    return None


def test_metrics_count_requests_latency_and_answers(client):
    for q in ("忘记登录密码了怎么办", "忘记登录密码了怎么办", "推荐一部电影"):
        client.get("/api/search", query_string={"q": q})
    client.get("/api/search?q=")
    client.head("/api/search?q=推荐一部电影")  # a request, not a search
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert metric_value(text, "faq_http_requests_total", route="/api/search", method="HEAD", status="200") == 1
    assert metric_value(text, "faq_http_requests_total", route="/api/search", method="GET", status="200") == 3
    assert metric_value(text, "faq_http_requests_total", route="/api/search", status="400") == 1
    assert metric_value(text, "faq_http_request_duration_seconds_count", route="/api/search") == 5
    assert metric_value(text, "faq_http_request_duration_seconds_bucket", route="/api/search", le="+Inf") == 5
    assert metric_value(text, "faq_searches_total", route="/api/search", outcome="confident") == 2
    assert metric_value(text, "faq_searches_total", route="/api/search", outcome="none") == 1
    version = client.get("/healthz").get_json()["index_version"]
    assert metric_value(text, "faq_index_info", version=version) == 1
    assert metric_value(text, "faq_index_articles") == 4


def test_made_up_methods_share_one_metrics_series(client):
    for method in ("FOOBAR", "LKIXSFBGML", "QWERTY"):
        assert client.open("/healthz", method=method).status_code == 405
    text = client.get("/metrics").get_data(as_text=True)
    assert "FOOBAR" not in text and "QWERTY" not in text
    assert metric_value(text, "faq_http_requests_total", route="unmatched", method="other", status="405") == 3


def publish_edited(out, make_corpus, analyzer) -> str:
    """Publish a second version into ``out`` (another corpus: an unchanged one would publish nothing)."""
    from faq_search.build import build_index

    edited = {**TINY_ARTICLES["withdraw/arrival.md"], "answer": "提现两小时内到账。"}
    return build_index(make_corpus({**TINY_ARTICLES, "withdraw/arrival.md": edited}, name="v2"), out,
                       analyzer=analyzer).version


def test_metrics_follow_a_new_index_version_swapped_in_the_background(app_factory, make_corpus, tmp_path, tiny_analyzer):
    from prometheus_client import generate_latest

    from faq_search.build import build_index

    out = tmp_path / "ix"
    v1 = build_index(make_corpus(), out, analyzer=tiny_analyzer).version
    app = app_factory(out, background=True)
    client = app.test_client()
    client.get("/metrics")
    v2 = publish_edited(out, make_corpus, tiny_analyzer)
    live = app.extensions["faq_live"]
    # As a worker's index-follower thread does: no request answered after the swap.
    wait_for(lambda: live.get().version == v2, 10, "the background swap")
    text = generate_latest(app.extensions["faq_metrics"].registry).decode()  # not /metrics: it updates them itself
    assert metric_value(text, "faq_index_info", version=v2) == 1
    assert f'version="{v1}"' not in text  # a series a version, kept forever, grew without end


def test_prepare_metrics_dir_creates_exports_and_removes_its_own(tmp_path):
    env = {}
    d = prepare_metrics_dir(env)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(d.path) and d.path.is_dir() and d.owned
    (d.path / "counter_123.db").write_bytes(b"this server's")
    assert prepare_metrics_dir(env) is d and (d.path / "counter_123.db").exists()  # settings read again (HUP)
    d.cleanup()
    assert not d.path.exists()


def test_prepare_metrics_dir_empties_a_given_one_and_keeps_it(tmp_path):
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "keep.txt").write_text("not ours")
    d = prepare_metrics_dir({"PROMETHEUS_MULTIPROC_DIR": str(given)})
    assert not (given / "counter_123.db").exists() and (given / "keep.txt").exists()
    (given / "counter_456.db").write_bytes(b"this server's")
    assert prepare_metrics_dir({"PROMETHEUS_MULTIPROC_DIR": str(given)}) is d
    assert (given / "counter_456.db").exists()
    d.cleanup()
    assert given.exists()


def test_metrics_that_cannot_be_read_are_503_and_fail_no_search(app_factory, shared_tiny_index, tmp_path):
    (tmp_path / "blocked").write_text("a file where the metrics directory should be")
    client = app_factory(shared_tiny_index, PROMETHEUS_MULTIPROC_DIR=tmp_path / "blocked" / "metrics").test_client()
    assert client.get("/api/search?q=忘记登录密码").status_code == 200
    assert_error(client.get("/metrics"), 503, "metrics_unavailable")


def scrape(base: str) -> str:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        return r.read().decode()


@pytest.mark.e2e
def test_gunicorn_workers_report_their_index_unasked_and_dead_ones_go(tiny_index, make_corpus, tiny_analyzer, tmp_path):
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    from faq_search.index import read_current

    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def info_pids(text):
        return {int(p) for p in re.findall(r'faq_index_info\{pid="(\d+)"', text)}

    def served(metrics_dir):
        """{pid: version at 1} from the workers' files, as /metrics sums them, but without a request."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(metrics_dir))
        return {int(s.labels["pid"]): s.labels["version"] for m in registry.collect() if m.name == "faq_index_info"
                for s in m.samples if s.value == 1}

    # Each worker's index follower looks every 0.2 s, not every second: the reports below come sooner.
    settings = {"TMPDIR": tmp, "FAQ_RATE_API": 0, "FAQ_RELOAD_INTERVAL": 0.2}
    with running_gunicorn(tiny_index, tmp_path, **settings) as (base, server, log):
        (metrics_dir,) = tmp.glob("faq-search-metrics-*")  # made by gunicorn.conf.py
        workers = wait_for(lambda: len(pids := worker_pids(server.pid)) == 2 and pids, 20, "both workers to start")
        # Each worker says what it serves on starting, and after a publish, without answering a request.
        v1 = read_current(tiny_index)
        wait_for(lambda: served(metrics_dir) == dict.fromkeys(workers, v1), 20, "both workers to report their index")
        v2 = publish_edited(tiny_index, make_corpus, tiny_analyzer)
        wait_for(lambda: served(metrics_dir) == dict.fromkeys(workers, v2), 20, "both workers to report the new one")
        # A worker that has answered a request (running_gunicorn's /healthz): it has counters to keep.
        victim = next(json.loads(line)["pid"] for line in log.read_text().splitlines()
                      if line.startswith("{") and json.loads(line)["msg"] == "request")
        healthz = metric_value(scrape(base), "faq_http_requests_total", route="/healthz")
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(worker_pids(server.pid) - {victim}) == 2, 20, "gunicorn to replace the worker")
        wait_for(lambda: not (metrics_dir / f"gauge_liveall_{victim}.db").exists(), 20, "the dead worker's gauges to go")
        # Its replacement, forked with the master's version, reports the published one before any request.
        wait_for(lambda: served(metrics_dir) == dict.fromkeys(worker_pids(server.pid), v2), 20, "its replacement to report")
        text = scrape(base)
        assert victim not in info_pids(text)
        assert f'version="{v1}"' not in text  # versions served before are not listed: they would pile up
        # Its counters still count: requests it answered are not lost from the totals, which hold them in
        # one file for all exited workers, not one file each.
        assert metric_value(text, "faq_http_requests_total", route="/healthz") == healthz
        assert not (metrics_dir / f"counter_{victim}.db").exists() and (metrics_dir / "counter_exited.db").exists()
    assert not metrics_dir.exists()



def test_an_exited_workers_counts_are_kept_in_one_file_not_one_per_worker(tmp_path):
    from prometheus_client import CollectorRegistry
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector

    from faq_search.web.observability import worker_exited

    def worker_files(pid, searches, latency):
        """What a worker that answered ``searches`` searches leaves: its counter and histogram files."""
        for kind, key, value in (
            ("counter", mmap_key("faq_searches", "faq_searches_total", ["route", "outcome"],
                                 ["/api/search", "confident"], "h"), searches),
            ("histogram", mmap_key("faq_http_request_duration_seconds", "faq_http_request_duration_seconds_sum",
                                   ["route"], ["/api/search"], "h"), latency),
        ):
            f = MmapedDict(str(tmp_path / f"{kind}_{pid}.db"))
            f.write_value(key, value, 0.0)
            f.close()

    def totals():
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(tmp_path))
        return {(s.name, s.labels["route"]): s.value for m in registry.collect() for s in m.samples}

    worker_files(1, 5, 0.5)  # the worker that stays
    for pid in range(100, 150):  # replaced one after the other (timeouts, reloads, --max-requests)
        worker_files(pid, 2, 0.25)
        worker_exited(pid, str(tmp_path))
    assert totals() == {("faq_searches_total", "/api/search"): 5 + 50 * 2,
                        ("faq_http_request_duration_seconds_sum", "/api/search"): 0.5 + 50 * 0.25}
    # Every scrape reads every file: they must not grow in number with the workers that ever ran.
    assert len(list(tmp_path.glob("*.db"))) <= 4
    # The master never waits long behind a scrape (one hanging on a disk): the worker's files stay, counted.
    import fcntl

    worker_files(200, 3, 0.0)
    with open(tmp_path / "exited.lock", "rb") as scrape:
        fcntl.flock(scrape, fcntl.LOCK_SH)
        worker_exited(200, str(tmp_path))
    assert (tmp_path / "counter_200.db").exists() and totals()[("faq_searches_total", "/api/search")] == 5 + 50 * 2 + 3


@pytest.mark.e2e
def test_gunicorn_keeps_counting_across_a_reload_and_a_removed_metrics_directory(shared_tiny_index, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def log_records(log, msg):
        lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
        return [r for r in map(json.loads, lines) if r["msg"].startswith(msg)]

    def replace_workers(server, how):
        old = worker_pids(server.pid)
        how(old)
        wait_for(lambda: len(pids := worker_pids(server.pid) - old) == 2 and pids, 20, "two new workers")

    def search_twice_each():
        return {http_get(base + url)[0] for url in ("/healthz", "/api/search?q=" + quote("忘记登录密码")) for _ in range(2)}

    with running_gunicorn(shared_tiny_index, tmp_path, TMPDIR=tmp, FAQ_RATE_API=0) as (base, server, log):
        (metrics_dir,) = tmp.glob("faq-search-metrics-*")
        assert search_twice_each() == {200}
        # A reload (HUP) runs gunicorn.conf.py again: the counts so far are this server's, kept.
        replace_workers(server, lambda _: server.send_signal(signal.SIGHUP))
        assert metric_value(scrape(base), "faq_searches_total", outcome="confident") == 2
        # The directory removed, a file in its way: workers forked now cannot write metrics, but answer.
        shutil.rmtree(metrics_dir)
        metrics_dir.write_text("in the way")
        replace_workers(server, lambda old: [os.kill(pid, signal.SIGKILL) for pid in old])
        assert search_twice_each() == {200}
        assert http_get(base + "/metrics")[0] == 503
        assert 1 <= len(log_records(log, "metrics not recorded")) <= 2  # once per worker, not per request
        # Out of the way: the directory is made again before the next write, and counts start over.
        metrics_dir.unlink()
        assert search_twice_each() == {200}
        assert metric_value(scrape(base), "faq_searches_total", outcome="confident") == 2
        assert log_records(log, "metrics directory")
    assert not metrics_dir.exists()  # removed at the stop, after a reload too


@pytest.mark.e2e
def test_a_failed_start_leaves_no_metrics_directory(shared_tiny_index, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "FAQ_INDEX_DIR": str(shared_tiny_index), "FAQ_RATE_API": "abc"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    out = subprocess.run([str(gunicorn), "-c", "gunicorn.conf.py", "server:app"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "FAQ_RATE_API" in out.stderr  # the app fails to load: no on_exit
    assert list(tmp.iterdir()) == []


# --- the query log --------------------------------------------------------------------------------

def test_searches_and_article_views_reach_the_query_log_redacted(app_factory, shared_tiny_index, tmp_path):
    client = app_factory(shared_tiny_index, FAQ_DATA_DIR=tmp_path / "d").test_client()
    client.get("/api/search", query_string={"q": "手机13812345678忘记登录密码"})
    client.get("/?q=提现多久到账")
    client.get("/api/articles/pw-login", query_string={"q": "忘记密码 me@example.com"})
    client.get("/api/articles/nope")  # 404: no view
    client.get("/api/search?q=")  # 400: no search
    for url in ("/api/search?q=密码锁定", "/?q=密码锁定", "/api/articles/pw-login?q=密码锁定"):
        assert client.head(url).status_code == 200  # checks of a link, not a search or a view
    search, page, view = read_events(tmp_path / "d" / "queries.jsonl")
    assert search["query"] == "手机[phone]忘记登录密码" and search["route"] == "/api/search"
    assert search["top_id"] == "pw-login" and search["confident"] is True and search["results"] >= 1
    assert page["route"] == "/" and page["top_id"] == "wd-time"
    assert view == {"ts": view["ts"], "event": "view", "article_id": "pw-login", "query": "忘记密码 [email]"}
    assert "13812345678" not in (tmp_path / "d" / "queries.jsonl").read_text("utf-8")


def test_the_query_log_can_be_turned_off(app_factory, shared_tiny_index, tmp_path):
    client = app_factory(shared_tiny_index, FAQ_DATA_DIR=tmp_path / "d", FAQ_QUERY_LOG=0).test_client()
    assert client.get("/api/search?q=密码").status_code == 200
    assert not (tmp_path / "d").exists()


def test_an_unwritable_query_log_does_not_fail_searches(app_factory, shared_tiny_index, tmp_path, caplog):
    (tmp_path / "d").write_text("a file where the directory should be")
    client = app_factory(shared_tiny_index, FAQ_DATA_DIR=tmp_path / "d").test_client()
    with caplog.at_level(logging.ERROR):
        assert client.get("/api/search?q=密码").status_code == 200
    assert any("query log not written" in r.getMessage() for r in caplog.records)


def test_a_long_query_that_led_to_a_view_is_redacted_before_it_is_cut(app_factory, shared_tiny_index, tmp_path):
    # Cut first, the card number straddling the limit kept its first digits: too few to read as a card.
    client = app_factory(shared_tiny_index, FAQ_DATA_DIR=tmp_path / "d", FAQ_MAX_QUERY_CHARS=30).test_client()
    typed = "我的卡号" + "很" * 20 + "6222 0212 3456 7890 123扣款失败"
    assert client.get("/api/articles/pw-login", query_string={"q": typed}).status_code == 200
    (view,) = read_events(tmp_path / "d" / "queries.jsonl")
    assert view["query"] == ("我的卡号" + "很" * 20 + "[bank_card]扣款失败")[:30]
    assert not re.search(r"[0-9]{4}", view["query"])
