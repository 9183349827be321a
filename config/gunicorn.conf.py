"""gunicorn settings: ``gunicorn -c config/gunicorn.conf.py wsgi:app``.

Every value can be overridden with the usual ``GUNICORN_CMD_ARGS`` or the ``ATOM_*`` variables read
here.
"""
import os

bind = os.environ.get("ATOM_BIND", "127.0.0.1:5058")
workers = int(os.environ.get("ATOM_WEB_WORKERS", "2"))
threads = int(os.environ.get("ATOM_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("ATOM_WEB_TIMEOUT", "60"))
graceful_timeout = 30
# Each worker builds its own app: sessions, thread pools and locks must not cross a fork.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("ATOM_GUNICORN_LOGLEVEL", "info")
# Redact the query string (it may carry a token) from access log lines.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
