"""Shared fixtures: tiny corpora written per test, analyzers, a built index, the app and client."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from faq_search.analysis import Analyzer, load_synonyms, load_user_words
from faq_search.build import build_index

ROOT = Path(__file__).resolve().parent.parent
REAL_CORPUS = ROOT / "corpus"

@pytest.fixture(autouse=True)
def _no_columns(monkeypatch):
    """The CLI wraps at COLUMNS when it is set: a shell exporting it would move the lines tests compare."""
    monkeypatch.delenv("COLUMNS", raising=False)


# A tiny wallet knowledge base: enough to show a ranking bug, small enough to read.
TINY_ARTICLES = {
    "password/forgot-login.md": dict(
        id="pw-login", question="忘记登录密码怎么办？", category="password", tags=["密码"],
        similar=["登录密码忘了", "密码想不起来登不上", "找回登录密码"], related=["pw-pay"],
        answer="在登录页点「忘记密码」，输入注册手机号和短信验证码后设置新的登录密码。",
    ),
    "password/forgot-pay.md": dict(
        id="pw-pay", question="忘记支付密码怎么办？", category="password", tags=["密码", "支付"],
        similar=["支付密码忘了", "付款密码不记得了"],
        answer="进入「我的 → 设置 → 安全中心 → 重置支付密码」，完成人脸识别后设置新的六位支付密码。",
    ),
    "transfer/wrong-person.md": dict(
        id="tr-wrong", question="转账转错人了怎么办？", category="transfer", tags=["转账"],
        similar=["钱转错人了", "转账打错账户"],
        answer="在转账详情里联系对方退回；联系不上可在客服中心提交转错账申请，我们会在1到3个工作日内联系收款人。",
    ),
    "withdraw/arrival.md": dict(
        id="wd-time", question="提现多久到账？", category="withdraw", tags=["提现"],
        similar=["提现几天到", "取现什么时候到银行卡"],
        answer="提现一般2小时内到账，最晚次日24点前到账，节假日不受影响。",
    ),
}
TINY_CATEGORIES = {"password": "密码", "transfer": "转账", "withdraw": "提现"}
TINY_USER_WORDS = "登录密码 2000\n支付密码 2000\n转错账 100\n"
TINY_SYNONYMS = "怎么 如何 咋 咋办 怎么办\n转账 转帐\n提现 取现\n登录 登陆\n多久 几天\n忘记 忘了\n"


def article_text(a: dict) -> str:
    lines = ["---", f"id: {a['id']}", f"question: {a['question']}"]
    if a.get("similar"):
        lines.append("similar_questions:")
        lines += [f"  - {s}" for s in a["similar"]]
    lines.append(f"category: {a['category']}")
    if a.get("tags"):
        lines.append(f"tags: [{', '.join(a['tags'])}]")
    if a.get("related"):
        lines.append(f"related: [{', '.join(a['related'])}]")
    if a.get("aliases"):
        lines.append(f"aliases: [{', '.join(a['aliases'])}]")
    lines += ["---", a["answer"], ""]
    return "\n".join(lines)


def write_corpus(root: Path, articles: dict | None = None, categories: dict | None = None) -> Path:
    """A corpus directory at ``root``: the tiny one unless ``articles`` (path → dict or text) is given."""
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "dict").mkdir(exist_ok=True)
    (root / "dict" / "user_words.txt").write_text(TINY_USER_WORDS, "utf-8")
    (root / "dict" / "synonyms.txt").write_text(TINY_SYNONYMS, "utf-8")
    cats = TINY_CATEGORIES if categories is None else categories
    if cats:
        (root / "categories.yml").write_text("".join(f"{k}: {v}\n" for k, v in cats.items()), "utf-8")
    for rel, a in (TINY_ARTICLES if articles is None else articles).items():
        path = root / "articles" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(a if isinstance(a, str) else article_text(a), "utf-8")
    return root


@pytest.fixture
def make_corpus(tmp_path):
    """make_corpus(articles=None, categories=None) → a corpus directory in tmp_path."""

    def make(articles: dict | None = None, categories: dict | None = None, name: str = "corpus") -> Path:
        return write_corpus(tmp_path / name, articles, categories)

    return make


@pytest.fixture(scope="session")
def tiny_analyzer() -> Analyzer:
    return Analyzer(
        [(line.split()[0], int(line.split()[1])) for line in TINY_USER_WORDS.splitlines()],
        [line.split() for line in TINY_SYNONYMS.splitlines()],
    )


@pytest.fixture(scope="session")
def real_analyzer() -> Analyzer:
    return Analyzer(load_user_words(REAL_CORPUS / "dict" / "user_words.txt"), load_synonyms(REAL_CORPUS / "dict" / "synonyms.txt"))


@pytest.fixture
def tiny_index(make_corpus, tmp_path, tiny_analyzer) -> Path:
    out = tmp_path / "index"
    build_index(make_corpus(), out, analyzer=tiny_analyzer)
    return out


@pytest.fixture(scope="session")
def shared_tiny_index(tmp_path_factory, tiny_analyzer) -> Path:
    """The tiny index built once per session: for tests that only read it (never publish into it)."""
    root = tmp_path_factory.mktemp("shared-tiny")
    build_index(write_corpus(root / "corpus"), root / "index", analyzer=tiny_analyzer)
    return root / "index"


def build_app(index_dir: Path, data_dir: Path, analyzer: Analyzer, **config):
    """The app over ``index_dir``, reusing ``analyzer`` (no jieba start-up), its data in ``data_dir``."""
    from faq_search.live import LiveSearcher
    from faq_search.web import create_app

    # Swaps in the request that notices them, so a test sees a new version at its next request.
    live = LiveSearcher(index_dir, interval=config.pop("interval", 0.0), analyzer=analyzer,
                        background=config.pop("background", False))
    return create_app({"FAQ_INDEX_DIR": str(index_dir), "FAQ_DATA_DIR": str(data_dir), **config}, live=live)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, real_analyzer) -> Path:
    out = tmp_path_factory.mktemp("real") / "index"
    build_index(REAL_CORPUS, out, analyzer=real_analyzer)
    return out


@pytest.fixture
def app_factory(tiny_analyzer, tmp_path):
    def make(index_dir: Path, **config):
        # Runtime data (the query log) stays in the test's tmp dir.
        return build_app(index_dir, config.pop("FAQ_DATA_DIR", tmp_path / "data"), tiny_analyzer, **config)

    return make


@pytest.fixture
def client(app_factory, tiny_index):
    return app_factory(tiny_index).test_client()


def assert_error(response, status: int, code: str) -> dict:
    """Every error is JSON {"error": {"code", "message"}} with the given status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.content_type
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


@contextlib.contextmanager
def read_only_directory(path: Path):
    """``path`` unwritable by this process while in the block: mode 0o555, and for root, whom modes do not
    stop, the immutable attribute (the test is skipped where chattr cannot set it)."""
    mode = path.stat().st_mode & 0o7777
    path.chmod(0o555)
    as_root = os.geteuid() == 0
    if as_root and (not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode):
        path.chmod(mode)
        pytest.skip("running as root and chattr +i is not available here")
    try:
        yield path
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


# --- real servers (tests marked e2e) ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, headers: dict | None = None, timeout: float = 10):
    """(status, parsed JSON body) of a GET; HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


@contextlib.contextmanager
def running_gunicorn(index_dir: Path, workdir: Path, workers: int = 2, **env):
    """gunicorn as `make run` starts it (gunicorn.conf.py, preloaded) on a free port.

    Yields (base URL, process, log path) once /healthz answers (200, or 503 without an index).
    Runtime data goes to ``workdir/data``; ``env`` adds settings.
    """
    port = free_port()
    full_env = {**os.environ, "FAQ_INDEX_DIR": str(index_dir), "FAQ_DATA_DIR": str(workdir / "data"),
                "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers),
                **{k: str(v) for k, v in env.items()}}
    log_path = workdir / f"gunicorn-{port}.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "server:app"], cwd=ROOT, env=full_env,
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http_get(base + "/healthz", timeout=2)
                break
            except (OSError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not start:\n" + log_path.read_text())
            time.sleep(0.1)
        yield base, proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def worker_pids(master: int) -> set[int]:
    """gunicorn's workers: the processes whose parent is the master (Linux /proc)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.add(int(stat.parent.name))
    return pids


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns a truthy value (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
