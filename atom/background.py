"""What a serving process runs besides requests: execution recovery and the scheduler.

Called from ``wsgi.py`` (every gunicorn worker) and ``atom scheduler``; never from
``create_app``, so tests and CLI commands start no threads.
"""
from __future__ import annotations

from flask import Flask

from atom.engine import get_engine


def start(app: Flask) -> None:
    """Resume executions a dead process left behind, and take part in the scheduler election;
    under Celery, connect to the broker before the first request needs it."""
    from atom.engine.triggers import maintenance_jobs
    from atom.engine.triggers import schedule_jobs
    from atom.scheduler import start_scheduler

    if app.config.get("EXECUTOR") == "celery":
        from atom.engine.celery_app import connect_producer

        connect_producer(app)
    get_engine(app).start_recovery_loop(app.config.get("EXECUTION_RECOVERY_INTERVAL_S", 15.0))
    scheduler = start_scheduler(app)
    scheduler.add_provider(schedule_jobs)
    scheduler.add_provider(maintenance_jobs)
