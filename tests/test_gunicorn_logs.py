"""gunicorn's own log lines are JSON records like the app's (tests/test_e2e.py reads a real server's log)."""

import io
import json
import logging
import runpy

import pytest
from gunicorn.config import Config

from faq_search.web.workers import JsonLogger
from tests.conftest import ROOT


@pytest.fixture
def gunicorn_error_log():
    """gunicorn's error logger, its handlers put back afterwards (the logger is global)."""
    log = logging.getLogger("gunicorn.error")
    handlers = log.handlers[:]
    yield log
    log.handlers[:] = handlers


def test_gunicorns_lines_are_json_records_and_a_log_config_keeps_its_format(gunicorn_error_log, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # gunicorn.conf.py makes a temporary one
    cfg = Config()
    cfg.set("logger_class", runpy.run_path(str(ROOT / "gunicorn.conf.py"))["logger_class"])
    assert cfg.logger_class is JsonLogger
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    logger = cfg.logger_class(cfg)
    logger.info("Booting worker with pid: %s", 4242)
    record = json.loads(stderr.getvalue())
    assert (record["logger"], record["level"], record["msg"]) == ("gunicorn.error", "info", "Booting worker with pid: 4242")

    # A handler an operator added (a --log-config, say) is theirs to format.
    theirs = logging.StreamHandler(stderr)
    theirs.setFormatter(logging.Formatter("plain %(message)s"))
    gunicorn_error_log.addHandler(theirs)
    stderr.seek(0), stderr.truncate()
    cfg.logger_class(cfg).info("Starting gunicorn")
    lines = stderr.getvalue().splitlines()
    assert "plain Starting gunicorn" in lines
    assert [json.loads(line)["msg"] for line in lines if line.startswith("{")] == ["Starting gunicorn"]


def test_a_new_worker_ends_at_a_sigterm_sent_before_it_sets_its_handlers(monkeypatch):
    # Forked with the master's handlers, a worker only queued a SIGTERM sent in its first milliseconds, and
    # gunicorn's master waited out its 30 s graceful timeout for it (a CI run stopping right after a boot).
    import signal

    from faq_search import web
    from faq_search.web import workers

    class Server:
        class app:
            wsgi = staticmethod(lambda: None)

    monkeypatch.setattr(web, "follow_index", lambda app: None)
    before = signal.signal(signal.SIGTERM, lambda *_: None)  # as the master's handler would queue it
    try:
        workers.post_fork(Server(), None)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)
