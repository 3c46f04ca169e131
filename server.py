"""WSGI entry for gunicorn: `gunicorn -c gunicorn.conf.py server:app`."""

from faq_search.web import create_app
from faq_search.web.observability import configure_logging

configure_logging()  # every log record, request lines included, as one JSON line on stderr
app = create_app()
