"""Scale-out: two server processes (replicas) on one index directory both follow a newly published version."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY_ARTICLES

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
