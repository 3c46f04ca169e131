"""WSGI entry for gunicorn: `gunicorn -c gunicorn.conf.py server:app`."""

from faq_search.web import create_app

app = create_app()
