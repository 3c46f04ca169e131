"""End to end: real gunicorn (2 workers, preloaded) on a free port, queried over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def server(real_index, tmp_path):
    port = free_port()
    env = {**os.environ, "FAQ_INDEX_DIR": str(real_index), "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log = open(tmp_path / "gunicorn.log", "w+")
    proc = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "server:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(base + "/healthz")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail("gunicorn did not start:\n" + log.read())
        time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_real_server_answers_the_password_question_first(server):
    for q in ("忘记登录密码了怎么办", "忘記登錄密碼了怎麼辦", "忘记登录密码了怎么办？"):
        status, body = get(server + "/api/search?" + urllib.parse.urlencode({"q": q}))
        assert status == 200
        assert body["results"][0]["id"] == "password-forgot-login-password"


def test_real_server_errors_are_json(server):
    status, body = get(server + "/api/search?q=")
    assert status == 400 and body["error"]["code"] == "missing_query"
    status, body = get(server + "/nope")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_raw_utf8_query_like_curl_sends_it(server):
    # curl 'http://host/api/search?q=中文' puts raw UTF-8 bytes in the request line.
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall("GET /api/search?q=忘记登录密码了怎么办 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(body)["results"][0]["id"] == "password-forgot-login-password"
