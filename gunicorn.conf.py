"""gunicorn settings for `make run`; HOST, PORT and WEB_CONCURRENCY override."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Load the app (jieba + index) once in the master, then fork: workers share its pages.
preload_app = True
accesslog = "-"
timeout = 30
