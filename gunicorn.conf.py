"""gunicorn settings for `make run`; HOST, PORT and WEB_CONCURRENCY override."""

import os

from faq_search.web.observability import prepare_metrics_dir, worker_exited
from faq_search.web.workers import post_fork, pre_fork  # noqa: F401 - gunicorn reads these hooks by name

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Load the app (jieba + index) once in the master, then fork: workers share its pages.
preload_app = True
# The app logs one JSON line per request; gunicorn's access log would repeat it.
accesslog = None
timeout = 30
# A query of up to ~900 Chinese characters (percent-encoded, 9 bytes each) reaches the app, which answers
# 400 query_too_long in JSON; gunicorn's default 4094 answered longer ones with its own HTML page.
limit_request_line = 8190
# Past that limit, and for headers too large or malformed requests, gunicorn answers before the app: this
# worker (sync, like gunicorn's default) writes those answers as JSON errors too, not HTML pages.
worker_class = "faq_search.web.workers.JsonErrorWorker"
# gunicorn's own lines (Starting gunicorn, Booting worker, a worker timing out) as JSON records, like the app's.
logger_class = "faq_search.web.workers.JsonLogger"
# gunicorn 25.1+ opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl): replicas on a
# host would take it from each other. Nothing here uses it.
control_socket_disable = True

# Workers write metrics to files in one directory, /metrics sums them; must exist before the app loads.
# gunicorn runs this file again on HUP: the same directory comes back, its counts kept.
_metrics_dir = prepare_metrics_dir(os.environ)


def child_exit(server, worker):
    worker_exited(worker.pid, str(_metrics_dir.path))


def on_exit(server):
    _metrics_dir.cleanup()
