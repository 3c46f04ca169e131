"""End to end: real gunicorn (2 workers, preloaded) on a free port, queried over HTTP."""

import json
import socket
import urllib.parse
import urllib.request

import pytest

from tests.conftest import http_get, running_gunicorn

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_and_log(real_index, tmp_path):
    with running_gunicorn(real_index, tmp_path) as (base, _proc, log):
        yield base, log


@pytest.fixture
def server(server_and_log):
    return server_and_log[0]


def get(url: str):
    return http_get(url)


def raw_request(server: str, data: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send ``data`` as it is over a socket (no client tidies it up): (status line, headers, body)."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status.encode(), {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


def test_real_server_answers_the_password_question_first(server):
    for q in ("忘记登录密码了怎么办", "忘記登錄密碼了怎麼辦", "忘记登录密码了怎么办？"):
        status, body = get(server + "/api/search?" + urllib.parse.urlencode({"q": q}))
        assert status == 200
        assert body["results"][0]["id"] == "password-forgot-login-password"


QUESTION = b'{"query":"te test"}'


def te_question(headers: bytes, body: bytes = QUESTION) -> bytes:
    return b"POST /api/question HTTP/1.1\r\nContent-Type: application/json\r\n" + headers + b"\r\n" + body


# Personal data a client may put where gunicorn quotes the request in its own words.
SECRET = b"13812345678"


def test_real_server_errors_are_json(server_and_log, tmp_path):
    server, log = server_and_log
    status, body = get(server + "/api/search?q=")
    assert status == 400 and body["error"]["code"] == "missing_query"
    status, body = get(server + "/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
    long_line = "GET /api/search?" + urllib.parse.urlencode({"q": "我的钱为什么还没到账" * 100}) + " HTTP/1.1\r\n\r\n"
    many_headers = b"".join(b"X-%d: 1\r\n" % i for i in range(101))
    # A space left unencoded: gunicorn reads "phone 138… HTTP/1.1" as the version.
    spaced = b"GET /api/search?q=my phone " + SECRET + b" HTTP/1.1\r\n\r\n"
    refused = [
        # gunicorn refuses these before the app sees them (its limits stay); they used to get its HTML page.
        (long_line.encode(), 414, "request_line_too_long"),
        (b"GET /healthz HTTP/1.1\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
        (b"GET /healthz HTTP/1.1\r\n" + many_headers + b"\r\n", 431, "headers_too_large"),
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
        (b"GET /healthz HTTP/9.9\r\n\r\n", 400, "bad_request"),
        (b"GET /healthz HTTP/1.x\r\n\r\n", 400, "bad_request"),
        (spaced, 400, "bad_request"),
        (b"GET /healthz HTTP/1.1\r\nX-" + SECRET + b" (a): 1\r\n\r\n", 400, "bad_request"),
        (b"GET /healthz HTTP/1.1\r\nExpect: " + SECRET + b"\r\n\r\n", 417, "http_error"),
        (b"POST /api/question HTTP/1.1\r\nTransfer-Encoding: zstd\r\n\r\n", 501, "http_error"),
        # gunicorn accepts these but does not decode them: the app would read the coded bytes as the body.
        (te_question(b"Transfer-Encoding: gzip\r\n"), 501, "http_error"),
        (te_question(b"Transfer-Encoding: deflate\r\nContent-Length: 19\r\n"), 501, "http_error"),
        (te_question(b"Transfer-Encoding: gzip, chunked\r\n", b"13\r\n" + QUESTION + b"\r\n0\r\n\r\n"), 501, "http_error"),
        (te_question(b"Transfer-Encoding: identity\r\nContent-Length: 19\r\n"), 501, "http_error"),
    ]
    for request, status, code in refused + [
        # Werkzeug's routing drops the leading slashes gunicorn keeps: these used to answer 200.
        (b"GET //api/search?q=abc HTTP/1.1\r\nConnection: close\r\n\r\n", 404, "not_found"),
        (b"GET /// HTTP/1.1\r\nConnection: close\r\n\r\n", 404, "not_found"),
    ]:
        status_line, headers, body = raw_request(server, request)
        assert status_line.startswith(b"HTTP/1.1 %d " % status), (request[:40], status_line, body[:200])
        assert headers["content-type"] == "application/json" and headers["x-content-type-options"] == "nosniff"
        assert json.loads(body)["error"]["code"] == code and json.loads(body)["error"]["message"]
        assert SECRET not in body  # gunicorn's words quoted the request line or header
    assert b"%20" in raw_request(server, spaced)[2]  # says what went wrong, not "Invalid HTTP Version"
    # Each refusal writes the one JSON request record (gunicorn wrote a plain-text warning quoting the
    # request), and is counted; gunicorn's own lines are JSON too.
    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["status"], r["error"]) for r in records if r.get("route") == "unreadable"] == [
        (status, code) for _, status, code in refused] + [(400, "bad_request")]
    assert any(r["logger"] == "gunicorn.error" and r["msg"].startswith("Booting worker") for r in records)
    assert SECRET.decode() not in text
    with urllib.request.urlopen(server + "/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("faq_http_requests_total{") and 'route="unreadable"' in line) == len(refused) + 1
    assert not (tmp_path / "data" / "feedback.sqlite3").exists()  # no question stored from a coded body
    # chunked alone is implemented
    status_line, _, _ = raw_request(server, te_question(b"Transfer-Encoding: chunked\r\nConnection: close\r\n",
                                                         b"13\r\n" + QUESTION + b"\r\n0\r\n\r\n"))
    assert status_line.startswith(b"HTTP/1.1 201 "), status_line
    # A malformed one is read by the app, not refused by the worker: the message names the problem too.
    status_line, _, body = raw_request(server, te_question(b"Transfer-Encoding: chunked\r\nConnection: close\r\n",
                                                           b"zz\r\n\r\n"))
    assert status_line.startswith(b"HTTP/1.1 400 ") and json.loads(body)["error"] == {
        "code": "bad_request", "message": "the request body cannot be read: Invalid chunk size: b'zz'"}
    status_line, headers, body = raw_request(server, b"OPTIONS /api/search HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status_line.startswith(b"HTTP/1.1 204 ") and "GET" in headers["allow"] and "content-type" not in headers


def test_a_long_pasted_question_gets_the_json_error_not_gunicorns_page(server_and_log):
    server, log = server_and_log
    # 600 Chinese characters are 5,400 bytes percent-encoded: past gunicorn's default request line (4,094).
    status, body = get(server + "/api/search?" + urllib.parse.urlencode({"q": "我的钱为什么还没到账" * 60}))
    assert status == 400 and body["error"]["code"] == "query_too_long"
    # Replicas on one host must not take each other's control socket (gunicorn 25.1+ opens one per user).
    assert "Control socket" not in log.read_text()


def test_raw_utf8_query_like_curl_sends_it(server):
    # curl 'http://host/api/search?q=中文' puts raw UTF-8 bytes in the request line.
    request = "GET /api/search?q=忘记登录密码了怎么办 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    status_line, _, body = raw_request(server, request)
    assert status_line.startswith(b"HTTP/1.1 200"), status_line
    assert json.loads(body)["results"][0]["id"] == "password-forgot-login-password"



def test_make_runs_gunicorn_so_that_stopping_make_stops_it(shared_tiny_index, tmp_path):
    """make runs a recipe line with /bin/sh -c and, sent SIGTERM (systemd, kill), passes it to that shell only:
    a shell that does not exec gunicorn dies alone and leaves gunicorn serving, the port taken. The `run`
    recipe as make runs it (variables filled in, nothing installed), then make's SIGTERM to its child."""
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import ROOT, free_port, wait_for, worker_pids

    makefile = (ROOT / "Makefile").read_text("utf-8")
    (recipe,) = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M).group(1).strip().splitlines()
    port = free_port()
    values = {"INDEX": str(shared_tiny_index), "HOST": "127.0.0.1", "PORT": str(port),
              "VENV": str(Path(sys.executable).parent.parent)}
    line = re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], recipe)
    env = {**os.environ, "FAQ_DATA_DIR": str(tmp_path / "data"), "TMPDIR": str(tmp_path)}
    with open(tmp_path / "run.log", "w") as log:
        shell = subprocess.Popen(["/bin/sh", "-c", line], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def answers() -> bool:
        try:
            return http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        except OSError:  # not listening yet
            return False

    def both_workers_answer() -> bool:
        """Each worker has answered: it handles signals as a worker. One booting when the SIGTERM came
        (2 ms after its fork, in one CI run) had not yet: gunicorn's master stopped it only after its
        30 s graceful timeout."""
        answers()
        said = (tmp_path / "run.log").read_text("utf-8").splitlines()
        return len({json.loads(line)["pid"] for line in said if '"route": "/healthz"' in line}) >= 2

    def gunicorn_master() -> int:
        """The shell itself once it exec'd gunicorn, else the shell's child."""
        children = worker_pids(shell.pid)
        return children.pop() if len(children) == 1 else shell.pid

    master = shell.pid
    try:
        wait_for(answers, 60, "the server")
        wait_for(both_workers_answer, 60, "both workers answering")
        master = gunicorn_master()
        workers = worker_pids(master)
        shell.send_signal(signal.SIGTERM)  # what make does to its children when it is terminated
        shell.wait(timeout=30)
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in {master} | workers), 30,
                 "gunicorn to stop with make")
    finally:
        master = gunicorn_master() if shell.poll() is None else master
        for pid in (master, shell.pid):  # left running: stopped by their pids
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGTERM)
        shell.wait(timeout=30)
