"""Scale-out: two server processes (replicas) on one index directory both follow a newly published version;
deploy/nginx.conf in front of them."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.bench_http import nginx_conf
from faq_search.web.security import HEADERS
from tests.conftest import ROOT, TINY_ARTICLES, build_app
from tests.test_e2e import raw_request

pytestmark = pytest.mark.e2e

NEW_ARTICLE = {
    "withdraw/fee.md": dict(
        id="wd-fee", question="提现收手续费吗？", category="withdraw", tags=["提现", "手续费"],
        similar=["提现要手续费吗", "取现扣不扣钱"],
        answer="每月前2万元提现免费，超出部分按0.1%收取手续费。",
    ),
}


def publish(corpus: Path, index: Path) -> str:
    """Build and publish with build_index.py, as an editor would; returns the published version."""
    subprocess.run([sys.executable, "build_index.py", "--corpus", str(corpus), "--out", str(index), "--quiet"],
                   cwd=ROOT, check=True, timeout=120)
    return (index / "CURRENT").read_text("utf-8").strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def poll(check, timeout: float, what: str, interval: float = 0.1):
    """Call ``check`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as e:
            last = e
        time.sleep(interval)
    pytest.fail(f"{what} within {timeout}s; last: {last!r}")


@pytest.fixture
def replicas(make_corpus, tmp_path):
    """Two gunicorn replicas (2 workers each) started on one freshly built index directory."""
    corpus = make_corpus()
    index = tmp_path / "index"
    v1 = publish(corpus, index)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    procs, bases = [], []
    try:
        for n in range(2):
            port = free_port()
            env = {**os.environ, "FAQ_INDEX_DIR": str(index), "HOST": "127.0.0.1", "PORT": str(port),
                   "WEB_CONCURRENCY": "2", "FAQ_RELOAD_INTERVAL": "0.2"}
            log = open(tmp_path / f"replica{n}.log", "w")
            procs.append((subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "server:app"], cwd=ROOT, env=env,
                                           stdout=log, stderr=log), log))
            bases.append(f"http://127.0.0.1:{port}")
        for (proc, _), base in zip(procs, bases):
            def up(proc=proc, base=base):
                if proc.poll() is not None:
                    pytest.fail(f"replica exited with {proc.returncode}: see {tmp_path}")
                return get(base + "/healthz")[0] == 200
            poll(up, 60, f"{base} healthy", interval=0.2)
        yield corpus, index, v1, bases
    finally:
        for proc, log in procs:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


def serves(base: str, version: str, times: int = 8) -> bool:
    """``times`` answers in a row from ``base`` carry ``version``: every worker has switched."""
    return all(get(base + "/healthz")[1]["index_version"] == version for _ in range(times))


def test_both_replicas_switch_to_a_newly_published_version(replicas, make_corpus):
    corpus, index, v1, bases = replicas
    for base in bases:
        status, body = get(base + "/healthz")
        assert status == 200 and body["index_version"] == v1 and body["articles"] == len(TINY_ARTICLES)

    # An editor adds an article; the builder publishes v2 into the same directory.
    make_corpus({**TINY_ARTICLES, **NEW_ARTICLE})
    v2 = publish(corpus, index)
    assert v2 != v1

    for base in bases:
        poll(lambda base=base: serves(base, v2), 30, f"{base} serving {v2}")
        status, body = get(base + "/api/search?" + urllib.parse.urlencode({"q": "提现手续费"}))
        assert status == 200 and body["index_version"] == v2
        assert body["results"][0]["id"] == "wd-fee"
        assert get(base + "/healthz")[1]["articles"] == len(TINY_ARTICLES) + 1
    # Completions come from the data the builder published beside v2, mapped by every worker.
    assert (index / "completions" / v2 / "manifest.json").is_file()
    for base in bases:
        def completes(base=base):
            return all(get(base + "/api/suggest?q=shouxufei")[1]["suggestions"][:1] == [
                {"id": "wd-fee", "question": "提现收手续费吗？", "category": "withdraw",
                 "matched": "提现收手续费吗？", "span": [3, 6]}] for _ in range(8))
        poll(completes, 30, f"{base} completing shouxufei from {v2}")


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def balancer(tmp_path):
    """deploy/nginx.conf on loopback, started as its comment says on an empty prefix, in front of two
    replica ports where nothing listens: what nginx answers itself."""
    with running_nginx(tmp_path, [free_port(), free_port()]) as base:
        yield base


@contextmanager
def running_nginx(tmp_path: Path, replica_ports: list[int]):
    """deploy/nginx.conf on a free loopback port in front of ``replica_ports``; yields its base URL."""
    if not os.access(NGINX, os.X_OK):
        # `make test` installs nginx first and sets FAQ_REQUIRE_NGINX, so CI fails rather than skips.
        message = f"{NGINX} is missing: `make test` installs it (apt-get install nginx)"
        if os.environ.get("FAQ_REQUIRE_NGINX"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    prefix, conf, port = tmp_path / "lb", tmp_path / "nginx.conf", free_port()
    prefix.mkdir()
    conf.write_text(nginx_conf(replica_ports, port))
    command = [NGINX, "-p", f"{prefix}/", "-c", str(conf)]
    checked = subprocess.run(command + ["-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr  # it needed <prefix>/tmp made by hand
    with open(tmp_path / "nginx.out", "wb") as out:
        proc = subprocess.Popen(command + ["-g", "daemon off;"], stdout=out, stderr=out)

    def listening():
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    try:
        poll(listening, 10, "nginx listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def security_headers(headers: dict[str, str]) -> dict[str, str | None]:
    return {name: headers.get(name.lower()) for name in HEADERS}


def test_nginx_answers_its_own_errors_in_the_apis_json_with_the_apps_headers(balancer, tmp_path):
    for request, status, code in [
        # A body past nginx's 1 MB (smaller ones reach the app, which answers 413 past FAQ_MAX_BODY_BYTES).
        (b"POST /api/question HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 2_000_000,
         413, "too_large"),
        (b"POST /api/question HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "http_error"),
        (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_error"),
        (b"GET /api/search?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_line_too_long"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
        # Every replica down: the API, /healthz and any other path but the pages keep the JSON.
        (b"GET /api/search?q=abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 503, "no_replica"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 503, "no_replica"),
        (b"GET /agents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 503, "no_replica"),
    ]:
        status_line, headers, body = raw_request(balancer, request)
        assert status_line.startswith(b"HTTP/1.1 %d " % status), (request[:40], status_line, body[:200])
        assert headers["content-type"] == "application/json" and json.loads(body)["error"]["code"] == code
        assert security_headers(headers) == HEADERS, request[:40]
        assert headers.get("retry-after") == ("5" if code == "no_replica" else None)
        assert headers.get("server") == "nginx", headers.get("server")  # no version
    # Its access log has the paths, never what was asked (the query string, the referring search page).
    secret = b"13812345678"
    raw_request(balancer, b"GET /api/search?q=%s HTTP/1.1\r\nHost: x\r\nReferer: http://x/?q=%s\r\n"
                          b"Connection: close\r\n\r\n" % (secret, secret))
    log, errors = tmp_path / "lb" / "access.log", tmp_path / "lb" / "error.log"
    poll(lambda: log.exists() and log.read_bytes().count(b'"GET /api/search HTTP/1.1" 503') >= 2, 10,
         "the access log flushed")
    for text in (log.read_bytes(), errors.read_bytes() if errors.exists() else b""):
        assert secret not in text and b"q=abc" not in text


def test_with_every_replica_down_the_pages_say_so_in_chinese(balancer):
    contact = (ROOT / "corpus" / "articles" / "service" / "working-hours.md").read_text("utf-8")
    for path in (b"/", b"/?q=%E5%BF%98%E8%AE%B0%E5%AF%86%E7%A0%81", b"/agent"):
        status_line, headers, body = raw_request(balancer, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path)
        assert status_line.startswith(b"HTTP/1.1 503 ") and headers["retry-after"] == "5", (path, status_line)
        assert headers["content-type"] == "text/html; charset=utf-8" and security_headers(headers) == HEADERS
        page = body.decode("utf-8")
        assert page.startswith("<!doctype html>") and "请过几秒钟刷新本页再试" in page
        # How to reach us, as the knowledge base says it.
        hotlines = re.findall(r"\d{3}-\d{3}-\d{4}", page)
        assert hotlines and all(h in contact for h in hotlines) and "在线客服" in page


def test_an_old_browsers_own_form_is_taken_through_nginx_on_a_port_of_its_own(tiny_index, tiny_analyzer, tmp_path):
    # nginx passed `Host $host`, which drops :8080: the app compared the browser's Origin
    # (http://host:8080) with "host", and refused the forms of browsers without Sec-Fetch-Site.
    from werkzeug.serving import make_server

    app = build_app(tiny_index, tmp_path / "data", tiny_analyzer, FAQ_PROXY_HOPS=1)
    replica = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=replica.serve_forever, daemon=True)
    serving.start()
    try:
        with running_nginx(tmp_path, [replica.server_port]) as base:
            host = base.removeprefix("http://")
            body = urllib.parse.urlencode({"query": "能用美元吗", "contact": ""}).encode()

            def post(origin: str) -> int:
                status_line, _headers, _body = raw_request(base, (
                    f"POST /question HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nConnection: close\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
                return int(status_line.split()[1])

            assert post(base) == 200
            # Another port is another origin: still refused, as is a name the browser did not ask for.
            assert post("http://127.0.0.1") == 403 and post(f"http://127.0.0.1:{free_port()}") == 403
            assert post(f"http://localhost:{host.split(':')[1]}") == 403
    finally:
        replica.shutdown()
        serving.join(timeout=10)
