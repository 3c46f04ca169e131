"""The requests gunicorn refuses itself get JSON errors however the server is started (tests/test_e2e.py
checks the answers on a real server started as `make run` does)."""

import io
import runpy

import pytest
from gunicorn.app.base import BaseApplication
from gunicorn.config import Config as GunicornConfig
from gunicorn.http.errors import InvalidChunkSize, NoMoreData

from faq_search.cli import main
from faq_search.web.workers import unimplemented_coding
from tests.conftest import ROOT, assert_error


def test_faq_search_serve_runs_gunicorn_with_the_json_error_worker_and_limits(shared_tiny_index, tmp_path, monkeypatch,
                                                                            capsys):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # not a temporary directory left behind
    monkeypatch.setenv("FAQ_INDEX_DIR", str(shared_tiny_index))  # cmd_serve sets it; restored afterwards
    started = []
    monkeypatch.setattr(BaseApplication, "run", lambda self: started.append(self.cfg))
    assert main(["serve", "--index", str(shared_tiny_index)]) == 0
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    (cfg,) = started
    assert cfg.worker_class_str == conf["worker_class"] == "faq_search.web.workers.JsonErrorWorker"
    # Every other setting of gunicorn.conf.py too (its control socket off: replicas on a host fought over it).
    expected = GunicornConfig()
    for name, value in conf.items():
        if name in expected.settings and not callable(value) and name not in ("bind", "workers"):
            expected.set(name, value)
            assert cfg.settings[name].get() == expected.settings[name].get(), name
    assert cfg.control_socket_disable is True
    # A port or a number of workers of 0 or less is a usage error, not the environment's value in its place.
    for option in (["--port", "0"], ["--port", "65536"], ["--workers", "0"], ["--workers", "-2"]):
        with pytest.raises(SystemExit) as info:
            main(["serve", "--index", str(shared_tiny_index), *option])
        assert info.value.code == 2 and f"argument {option[0]}: must be" in capsys.readouterr().err
    assert main(["serve", "--index", str(shared_tiny_index), "--port", "18999", "--workers", "3"]) == 0
    assert len(started) == 2 and started[1].bind[0].endswith(":18999") and started[1].workers == 3


def test_threads_are_refused_at_start_not_ignored():
    # gunicorn would run our sync worker one request at a time whatever --threads said: it says so instead.
    from faq_search.web.workers import JsonErrorWorker

    cfg = GunicornConfig()
    cfg.set("worker_class", "faq_search.web.workers.JsonErrorWorker")
    JsonErrorWorker.check_config(cfg, None)  # gunicorn's default, 1 thread: started
    cfg.set("threads", 4)
    assert cfg.worker_class is JsonErrorWorker  # not switched to gthread: gunicorn only does so for *SyncWorker
    with pytest.raises(RuntimeError, match=r"threads = 4: .*JsonErrorWorker.* one request at a time .*WEB_CONCURRENCY"):
        JsonErrorWorker.check_config(cfg, None)


@pytest.mark.parametrize("headers, refused", [
    ([], None),
    ([("TRANSFER-ENCODING", "chunked")], None),
    ([("TRANSFER-ENCODING", " Chunked ")], None),
    ([("TRANSFER-ENCODING", "gzip")], "gzip"),
    ([("TRANSFER-ENCODING", "deflate"), ("CONTENT-LENGTH", "19")], "deflate"),
    ([("TRANSFER-ENCODING", "gzip, chunked")], "gzip, chunked"),
    ([("TRANSFER-ENCODING", "gzip"), ("TRANSFER-ENCODING", "chunked")], "gzip, chunked"),
    ([("TRANSFER-ENCODING", "identity")], "identity"),
])
def test_only_chunked_alone_is_a_transfer_coding_the_worker_lets_through(headers, refused):
    # gunicorn lets gzip, deflate, compress and identity through undecoded; the worker answers 501 (test_e2e.py).
    assert unimplemented_coding(headers) == refused


class MalformedChunks:
    """A chunked body as gunicorn hands it to the app (wsgi.input), raising what gunicorn raises reading it."""

    def __init__(self, error: Exception):
        self.error = error

    def read(self, size=-1):
        raise self.error


@pytest.mark.parametrize("environ, said", [
    ({"wsgi.input": MalformedChunks(InvalidChunkSize(b"zz")), "wsgi.input_terminated": True}, "Invalid chunk size: b'zz'"),
    # Cut short: the client stopped sending (half-closed) before the chunk of size 0.
    ({"wsgi.input": MalformedChunks(NoMoreData()), "wsgi.input_terminated": True}, "ended before its last chunk"),
    # Under a server that does not terminate the input (gunicorn does: there the app reads what came).
    ({"wsgi.input": io.BytesIO(b'{"query"'), "CONTENT_LENGTH": "19"}, "before the length its Content-Length header announced"),
])
def test_a_body_the_server_cannot_read_is_refused_saying_why(app_factory, shared_tiny_index, environ, said):
    # gunicorn reads the body only when the app asks: its error reaches Werkzeug, not the worker's handler.
    r = app_factory(shared_tiny_index).test_client().post("/api/question", content_type="application/json",
                                                          environ_overrides=environ)
    assert said in assert_error(r, 400, "bad_request")["error"]["message"]
