"""Index changes under a running gunicorn: publishing under load, corrupt versions, starting without an index."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from faq_search.corpus import load_corpus
from faq_search.build import build_index
from faq_search.index import publish, read_current
from tests.conftest import REAL_CORPUS, ROOT, http_get, running_gunicorn, wait_for, worker_pids, write_corpus

pytestmark = pytest.mark.e2e

TOKEN = "load-test-admin-token-0123456789"
JSONL_FIELDS = ("id", "question", "similar_questions", "answer", "category", "tags")
QUERIES = ["忘记登录密码了怎么办", "提现多久到账", "转账转错人了", "怎么绑定银行卡", "积分怎么兑换", "账户被冻结了"]


def new_article(i: int) -> str:
    return json.dumps({"id": f"load-test-{i}", "question": f"压力测试问题{i}号怎么处理？", "category": "account",
                       "similar_questions": [f"测试问题{i}", f"第{i}号测试"], "tags": ["测试"],
                       "answer": f"这是第{i}篇压力测试文章的答案。"}, ensure_ascii=False) + "\n"


PUBLISHES = 12


def test_a_dozen_publishes_under_steady_load_lose_no_request(real_index, real_analyzer, tmp_path):
    # The real knowledge base as JSON Lines: the same articles, and a rebuild skips parsing 133 YAML headers.
    corpus = tmp_path / "kb.jsonl"
    articles = load_corpus(REAL_CORPUS).articles
    corpus.write_text("".join(json.dumps({f: getattr(a, f) for f in JSONL_FIELDS}, ensure_ascii=False) + "\n"
                              for a in articles), "utf-8")
    index = tmp_path / "index"
    shutil.copytree(real_index / "cache", index / "cache")  # analysed tokens: rebuilds analyse one article
    build_index(corpus, index, REAL_CORPUS / "dict", analyzer=real_analyzer)
    base_articles = len(articles)
    watch_log = open(tmp_path / "watch.log", "w+")
    builder = subprocess.Popen(
        [sys.executable, str(ROOT / "build_index.py"), "--watch", "--corpus", str(corpus), "--out", str(index),
         "--dict", str(REAL_CORPUS / "dict"), "--interval", "0.05", "--debounce", "0.1"],
        cwd=ROOT, stdout=watch_log, stderr=subprocess.STDOUT,
    )
    results: list[tuple[int, str | None]] = []
    failures: list[str] = []
    stop = threading.Event()
    try:
        with running_gunicorn(index, tmp_path, FAQ_RELOAD_INTERVAL=0.2, FAQ_RATE_API=0,
                              FAQ_ADMIN_TOKEN=TOKEN) as (base, server, server_log):
            def load(n: int):
                # Steady, not saturating: the builder needs a share of the two cores to publish at all.
                i = n
                while not stop.wait(0.02):
                    q = QUERIES[i % len(QUERIES)]
                    i += 1
                    try:
                        status, body = http_get(base + "/api/search?" + urllib.parse.urlencode({"q": q}))
                        results.append((status, body.get("index_version")))
                    except Exception as e:  # noqa: BLE001 — a refused connection is a failure too
                        failures.append(repr(e))

            threads = [threading.Thread(target=load, args=(n,)) for n in range(2)]
            for t in threads:
                t.start()
            wait_for(lambda: "watching" in (tmp_path / "watch.log").read_text(), 60, "the watcher to start")
            published = [read_current(index)]
            t0 = time.monotonic()
            for i in range(1, PUBLISHES + 1):
                with open(corpus, "a", encoding="utf-8") as f:
                    f.write(new_article(i))
                # 90 s: the fifth article moves the training sample enough to retrain the reranker, which
                # takes 8 s on a quiet machine and 22 s on a busy one.
                published.append(wait_for(
                    lambda: (v := read_current(index)) != published[-1] and v, 90, f"version {i} to be published"))
            publish_seconds = time.monotonic() - t0
            newest = published[-1]

            # Every worker ends on the newest version: ask each one (the admin stats carry the pid).
            workers = worker_pids(server.pid)
            assert len(workers) == 2
            seen: dict[int, str] = {}

            def all_workers_on_newest():
                status, body = http_get(base + "/admin/stats", headers={"Authorization": f"Bearer {TOKEN}"})
                assert status == 200, body
                seen[body["pid"]] = body["index_version"]
                return all(seen.get(pid) == newest for pid in workers)

            wait_for(all_workers_on_newest, 20, "every worker to serve the newest version", interval=0.01)
            time.sleep(0.3)  # a little more load on the newest version
            stop.set()
            for t in threads:
                t.join(timeout=30)
            status, health = http_get(base + "/healthz")
            metrics = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    finally:
        stop.set()
        builder.terminate()  # stops after the build it is in, if any
        builder.wait(timeout=90)
        watch_log.close()
    assert "build failed" not in (tmp_path / "watch.log").read_text()

    statuses = Counter(s for s, _ in results)
    assert failures == [] and set(statuses) == {200}, (statuses, failures[:3])
    assert len(results) >= 200, f"only {len(results)} requests in {publish_seconds:.1f}s"
    versions_served = {v for _, v in results}
    assert len(versions_served) >= 5  # the load really spanned many versions
    assert results[-1][1] == newest and health["articles"] == base_articles + PUBLISHES
    assert len(set(published)) == PUBLISHES + 1
    # /metrics adds up both workers' counters: every search of the load is counted once.
    counted = sum(float(v) for v in re.findall(r'faq_http_requests_total\{[^}]*route="/api/search"[^}]*\} (\S+)', metrics))
    assert counted == len(results)
    for pid in workers:
        assert re.search(rf'faq_index_info\{{pid="{pid}",version="{newest}"\}} 1\.0', metrics), pid
    # One series a version a worker served would grow without end under --watch.
    assert set(re.findall(r'faq_index_info\{[^}]*version="([^"]+)"', metrics)) == {newest}
    print(f"\n{len(results)} requests, all 200, while publishing {PUBLISHES} versions in {publish_seconds:.1f}s")


def test_a_corrupt_version_is_refused_and_logged_while_the_old_one_serves(tmp_path, tiny_analyzer):
    index = tmp_path / "index"
    v1 = build_index(write_corpus(tmp_path / "c1"), index, analyzer=tiny_analyzer).version
    with running_gunicorn(index, tmp_path, FAQ_RELOAD_INTERVAL=0.1, FAQ_RATE_API=0) as (base, _server, log):
        # Build the next version elsewhere, truncate a file, then publish it here.
        staging = tmp_path / "staging"
        v2 = build_index(write_corpus(tmp_path / "c2", categories={"password": "密码", "transfer": "转账",
                                                                     "withdraw": "提现及到账"}),
                         staging, analyzer=tiny_analyzer).version
        shutil.copytree(staging / "versions" / v2, index / "versions" / v2)
        npy = index / "versions" / v2 / "arrays" / "questions.char.data.npy"
        npy.write_bytes(npy.read_bytes()[:-64])
        publish(index, v2)
        refusals = lambda: len(re.findall(rf'"level": "error".*index version {v2} refused: .*checksum mismatch in arrays/questions.char.data.npy',
                                          log.read_text()))
        answers = []
        while refusals() < 2:  # both workers tried it
            answers.append(http_get(base + "/api/search?q=" + urllib.parse.quote("忘记密码")))
            assert len(answers) < 2000, log.read_text()[-3000:]
            time.sleep(0.01)
        assert {s for s, _ in answers} == {200} and {b["index_version"] for _, b in answers} == {v1}
        assert http_get(base + "/healthz")[1]["index_version"] == v1

        # The next good version is picked up.
        v3 = build_index(write_corpus(tmp_path / "c3"), index, analyzer=tiny_analyzer).version
        wait_for(lambda: all(http_get(base + "/healthz")[1]["index_version"] == v3 for _ in range(6)), 20, "v3")


def test_one_forced_reload_makes_every_worker_retry_a_repaired_version(tmp_path, tiny_analyzer):
    # Only the worker that answered it retried: the others skipped the repaired version until a restart.
    index = tmp_path / "index"
    v1 = build_index(write_corpus(tmp_path / "c1"), index, analyzer=tiny_analyzer).version
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running_gunicorn(index, tmp_path, workers=3, FAQ_RELOAD_INTERVAL=0.1, FAQ_RATE_API=0,
                          FAQ_ADMIN_TOKEN=TOKEN) as (base, server, log):
        workers = wait_for(lambda: len(pids := worker_pids(server.pid)) == 3 and pids, 30, "the 3 workers to start")
        staging = tmp_path / "staging"
        v2 = build_index(write_corpus(tmp_path / "c2", categories={"password": "密码", "transfer": "转账",
                                                                     "withdraw": "提现及到账"}),
                         staging, analyzer=tiny_analyzer).version
        shutil.copytree(staging / "versions" / v2, index / "versions" / v2)
        vocab = index / "versions" / v2 / "vocab.json"
        good = vocab.read_bytes()
        vocab.write_bytes(good[: len(good) // 2])
        publish(index, v2)
        wait_for(lambda: len(re.findall(f"index version {v2} refused", log.read_text())) >= 3, 20,
                 "every worker to refuse the corrupt version")
        vocab.write_bytes(good)  # repaired in place
        time.sleep(0.5)  # several checks of the pointer: the workers do not retry unasked
        assert f"serving index version {v2}" not in log.read_text()

        t0 = time.monotonic()
        request = urllib.request.Request(base + "/admin/reload", data=b'{"force": true}', method="POST",
                                         headers={**auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            answer = json.loads(r.read())
        assert answer["every_worker"] is True and answer["pid"] in workers
        seen: dict[int, str] = {}

        def every_worker_on_v2():
            status, body = http_get(base + "/admin/stats", headers=auth)
            assert status == 200, body
            seen[body["pid"]] = body["index_version"]
            return all(seen.get(pid) == v2 for pid in workers)

        wait_for(every_worker_on_v2, 20, "every worker to serve the repaired version", interval=0.01)
        seconds = time.monotonic() - t0
        # The same workers (none restarted), each loading it once.
        assert worker_pids(server.pid) == workers and seen.keys() == workers
        time.sleep(0.5)
        assert len(re.findall(f"serving index version {v2}", log.read_text())) == 3
        assert http_get(base + "/healthz")[1] == {"status": "ok", "index_version": v2, "articles": 4}
        assert v1 != v2
    print(f"\nevery worker of 3 served the repaired version {seconds:.2f}s after one forced reload")


def test_a_server_started_without_an_index_answers_503_json_then_recovers(tmp_path, tiny_analyzer):
    index = tmp_path / "index"
    def serving(log) -> set[int]:
        """The processes that logged serving a version."""
        records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{") and line.endswith("}")]
        return {r["pid"] for r in records if r["msg"].startswith("serving index version")}

    with running_gunicorn(index, tmp_path, FAQ_RELOAD_INTERVAL=0.1, FAQ_RATE_API=0) as (base, _server, _log):
        status, body = http_get(base + "/api/search?q=" + urllib.parse.quote("密码"))
        assert status == 503 and body["error"]["code"] == "index_unavailable" and str(index) not in body["error"]["message"]
        status, body = http_get(base + "/healthz")
        assert status == 503 and body["status"] == "unavailable" and body["reason"]
        with pytest.raises(urllib.error.HTTPError) as page:  # the page explains, with a 503 for the balancer
            urllib.request.urlopen(base + "/")
        assert page.value.code == 503 and "暂时不可用" in page.value.read().decode()
        assert "no published index" in _log.read_text()  # the reason, with its path, is the operator's

        build_index(write_corpus(tmp_path / "corpus"), index, analyzer=tiny_analyzer)
        # Each worker loads the version on its own (jieba's dictionary first), unasked. Answers in a row do not
        # tell that both have: on a loaded machine a dozen could all meet the one that loaded first.
        wait_for(lambda: worker_pids(_server.pid) <= serving(_log), 20, "both workers to serve the version")
        search = base + "/api/search?q=" + urllib.parse.quote("密码")
        assert {http_get(url)[0] for url in (search, base + "/healthz") for _ in range(6)} == {200}
        status, body = http_get(base + "/healthz")
        assert status == 200 and body["articles"] == 4


def test_workers_load_a_new_version_and_its_completions_before_a_request_asks(tmp_path, tiny_analyzer):
    from tests.conftest import TINY_ARTICLES

    index = tmp_path / "index"
    v1 = build_index(write_corpus(tmp_path / "c1"), index, analyzer=tiny_analyzer).version
    with running_gunicorn(index, tmp_path, FAQ_RELOAD_INTERVAL=0.2, FAQ_RATE_API=0) as (base, _server, log):
        assert http_get(base + "/healthz")[1]["index_version"] == v1
        edited = {k: dict(v) for k, v in TINY_ARTICLES.items()}
        edited["password/forgot-login.md"]["similar"] = [*edited["password/forgot-login.md"]["similar"], "登不上去怎么破"]
        v2 = build_index(write_corpus(tmp_path / "c2", edited), index, analyzer=tiny_analyzer).version
        # No request meanwhile: each worker's follower loads the version, then its completions, by itself.
        wait_for(lambda: len(re.findall(f"serving index version {v2}", log.read_text())) >= 2, 20, "both workers on v2")
        time.sleep(1.0)  # the completions follow within a turn or two of the follower
        # So the first requests each worker answers after the publish come from the new version.
        answers = [http_get(base + "/api/suggest?q=" + urllib.parse.quote("怎么破"))[1] for _ in range(6)]
        assert {a["index_version"] for a in answers} == {v2}
        assert all([s["id"] for s in a["suggestions"]] == ["pw-login"] for a in answers), answers


def test_faq_search_serve_runs_like_make_run_and_follows_the_index(tmp_path, tiny_analyzer):
    """`faq-search serve` sets the same fork hooks as gunicorn.conf.py: its workers follow a publish too."""
    from tests.conftest import TINY_ARTICLES, free_port

    index = tmp_path / "index"
    build_index(write_corpus(tmp_path / "c1"), index, analyzer=tiny_analyzer)
    port, log_path = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "FAQ_DATA_DIR": str(tmp_path / "data"), "FAQ_RELOAD_INTERVAL": "0.2",
           "FAQ_RATE_API": "0"}
    cli = [sys.executable, "-m", "faq_search.cli", "serve", "--index", str(index), "--port", str(port), "--workers", "2"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cli, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 60, "faq-search serve to answer")
        edited = {k: dict(v) for k, v in TINY_ARTICLES.items()}
        edited["withdraw/arrival.md"]["similar"] = [*edited["withdraw/arrival.md"]["similar"], "提现咋还没到账呢"]
        v2 = build_index(write_corpus(tmp_path / "c2", edited), index, analyzer=tiny_analyzer).version
        wait_for(lambda: len(re.findall(f"serving index version {v2}", log_path.read_text())) >= 2, 20,
                 "both workers of faq-search serve on v2")
        assert http_get(base + "/api/search?q=" + urllib.parse.quote("提现咋还没到账"))[1]["index_version"] == v2
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        return http_get(base + "/healthz", timeout=2)[0] == 200
    except OSError:
        return False
