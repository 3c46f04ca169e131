import json
import subprocess
import sys

from faq_search.querylog import QueryLog, read_events
from tests.conftest import ROOT


def test_search_and_view_events_have_the_shared_shape(tmp_path):
    log = QueryLog(tmp_path / "data" / "queries.jsonl", clock=lambda: 1700000000.123456)
    log.search("忘记密码", results=3, top_id="pw-login", confident=True, index_version="v1", route="/api/search")
    log.view("pw-login", query="忘记密码")
    lines = (tmp_path / "data" / "queries.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"ts": 1700000000.123, "event": "search", "query": "忘记密码", "results": 3, "top_id": "pw-login",
         "confident": True, "index_version": "v1", "route": "/api/search"},
        {"ts": 1700000000.123, "event": "view", "article_id": "pw-login", "query": "忘记密码"},
    ]


def test_personal_data_never_reaches_the_file(tmp_path):
    path = tmp_path / "queries.jsonl"
    log = QueryLog(path)
    log.search("手机13812345678换了怎么改", 1, "x", False, "v1", "/")
    log.view("x", query="卡号6222 0212 3456 7890扣款")
    text = path.read_text("utf-8")
    assert "13812345678" not in text and "6222" not in text
    assert "[phone]" in text and "[bank_card]" in text


def test_read_skips_torn_and_foreign_lines_and_filters_by_time(tmp_path):
    path = tmp_path / "queries.jsonl"
    path.write_text(
        '{"ts": 10, "event": "search", "query": "a"}\n'
        "not json\n"
        '["a list"]\n'
        '{"event": "search"}\n'
        '{"ts": 20, "event": "view", "article_id": "x"}\n'
        '{"ts": 30, "event": "sea',
        "utf-8",
    )
    assert [e["ts"] for e in read_events(path)] == [10, 20]
    assert [e["ts"] for e in read_events(path, since=15)] == [20]
    assert list(read_events(tmp_path / "missing.jsonl")) == []


def test_lines_older_than_since_are_skipped_before_they_are_parsed(tmp_path, monkeypatch):
    path = tmp_path / "queries.jsonl"
    for ts in range(100):
        QueryLog(path, clock=lambda: 1700000000 + ts).search("问题", 1, "x", True, "v1", "/api/search")
    with path.open("a", encoding="utf-8") as f:  # by hand: the ts read as written, or parsed to be sure
        f.write('{"ts": 1700000001, "event": "view"}\n{"event": "view", "ts": 1700000002}\n{"ts": 17e8,"event":"view"}\n')
    parsed, loads = [], json.loads
    monkeypatch.setattr(json, "loads", lambda raw: parsed.append(raw) or loads(raw))
    assert [e["ts"] for e in read_events(path, since=1700000095)] == [1700000095 + i for i in range(5)]
    assert len(parsed) == 5 + 1  # the newest lines, and the one that does not open with its ts


WRITER = """
import sys
from faq_search.querylog import QueryLog
log = QueryLog(sys.argv[1])
for i in range(200):
    log.search("问题%s-%d" % (sys.argv[2], i) + "长" * 150, 1, "x", True, "v", "/api/search")
"""


def test_concurrent_writers_never_interleave_lines(tmp_path):
    # gunicorn workers are processes sharing one file.
    path = tmp_path / "queries.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w)], cwd=ROOT) for w in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    events = list(read_events(path))
    assert len(events) == 800
    assert len(path.read_text("utf-8").splitlines()) == 800


# The file's size limit (RLIMIT_FSIZE) makes the kernel write part of a line and return the short count, as a
# disk that fills up within a line does; past it, writing fails (EFBIG).
SHORT_WRITE = """
import os, resource, signal, sys
from faq_search.querylog import QueryLog
log = QueryLog(sys.argv[1])
log.search("忘记密码", 1, "pw-login", True, "v", "/api/search")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limits = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(sys.argv[1]) + 40, limits[1]))  # 40 bytes of the next
try:
    log.search("提现多久到账", 1, "wd-time", True, "v", "/api/search")
except OSError as e:
    print(e)
resource.setrlimit(resource.RLIMIT_FSIZE, limits)  # space freed
log.search("银行卡限额", 0, None, False, "v", "/api/search")
"""


def test_a_line_cut_short_by_a_full_disk_is_reported_and_the_next_event_starts_a_line(tmp_path):
    path = tmp_path / "queries.jsonl"
    out = subprocess.run([sys.executable, "-c", SHORT_WRITE, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "short write, 40 of" in out.stdout
    assert [e["query"] for e in read_events(path)] == ["忘记密码", "银行卡限额"]
    assert path.read_text("utf-8").count("\n") == 2
