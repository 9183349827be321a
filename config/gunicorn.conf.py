"""gunicorn settings: ``gunicorn -c config/gunicorn.conf.py wsgi:app``.

Every value can be overridden with the usual ``GUNICORN_CMD_ARGS`` or the ``ATOM_*`` variables read
here.
"""
import os
from pathlib import Path

bind = os.environ.get("ATOM_BIND", "127.0.0.1:5058")
workers = int(os.environ.get("ATOM_WEB_WORKERS", "2"))
threads = int(os.environ.get("ATOM_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("ATOM_WEB_TIMEOUT", "60"))
# Seconds an idle keep-alive connection stays open; 0 closes it after each response. A kept
# connection stays on the worker that accepted it, so a client (a load balancer, a proxy with
# upstream keep-alive) holding a few of them can pin all its traffic to one worker, which then
# serves on one core (tests/perf/bench_workers.py: two keep-alive clients, one worker served
# 100% in one run of six; with 0, never more than 54%). With 0, every request is accepted
# anew by whichever worker is free.
keepalive = int(os.environ.get("ATOM_WEB_KEEPALIVE", "0"))
graceful_timeout = 30
# Each worker builds its own app: sessions, thread pools and locks must not cross a fork.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("ATOM_GUNICORN_LOGLEVEL", "info")
# Redact the query string (it may carry a token) from access log lines.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'

# Prometheus multiprocess mode (atom.monitoring.prometheus): /metrics sums the counters of every
# worker. ATOM_PROMETHEUS_MULTIPROC_DIR names a folder of the deployment's own (emptied at start);
# PROMETHEUS_MULTIPROC_DIR, prometheus-client's own variable, works too. It is set here, in the
# master, so that every worker has it before it imports prometheus-client.
multiproc_dir = (os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                 or os.environ.get("ATOM_PROMETHEUS_MULTIPROC_DIR") or "")
if multiproc_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir


def on_starting(server):
    """Empty the multiprocess folder: files of an earlier run's processes would be summed in."""
    if not multiproc_dir:
        return
    folder = Path(multiproc_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.suffix == ".db":
            path.unlink()


def child_exit(server, worker):
    """A dead worker's live gauges go; its counters stay in the sums (they were counted)."""
    if multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, multiproc_dir)
