"""``atom worker``: a Celery worker that runs executions (``ATOM_EXECUTOR=celery``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import AtomCommand
from atom.cli.base import OneLineError
from atom.cli.base import require_schema

LOGLEVELS = ("debug", "info", "warning", "error", "critical")


@main.command("worker", cls=AtomCommand)
@click.option("--concurrency", type=click.IntRange(1, 1000), default=None,
              help="Executions run at once (default ATOM_MAX_CONCURRENT_EXECUTIONS); their steps "
                   "share ATOM_WORKER_THREADS threads.")
@click.option("--queues", default=None,
              help="Comma-separated queues to serve (default ATOM_CELERY_QUEUE).")
@click.option("--loglevel", type=click.Choice(LOGLEVELS), default="info", show_default=True)
@click.option("--no-recovery", is_flag=True,
              help="Do not look for executions left by dead processes here (web processes do).")
@with_appcontext
def worker_cmd(concurrency: int | None, queues: str | None, loglevel: str,
               no_recovery: bool) -> None:
    """Run executions sent to the broker until stopped (Ctrl-C or SIGTERM: warm shutdown).

    \b
    Needs ATOM_EXECUTOR=celery, ATOM_BROKER_URL and PostgreSQL; start as many as you need,
    on any machine that reaches the broker and the database.
    """
    from atom.engine.celery_app import run_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["EXECUTOR"] != "celery":
        raise OneLineError("atom worker needs ATOM_EXECUTOR=celery (and ATOM_BROKER_URL); "
                           f"this deployment uses ATOM_EXECUTOR={app.config['EXECUTOR']}")
    names = [q.strip() for q in (queues or app.config["CELERY_QUEUE"]).split(",") if q.strip()]
    if not names:
        raise OneLineError("--queues: name at least one queue")
    require_schema(app)
    run_worker(app, concurrency or app.config["MAX_CONCURRENT_EXECUTIONS"], names, loglevel,
               recovery=not no_recovery)
