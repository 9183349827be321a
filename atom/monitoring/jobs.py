"""The monitoring jobs, as a scheduler provider (``SCHEDULER_PROVIDERS``)."""
from __future__ import annotations

import logging

from flask import Flask

from atom.monitoring.checks import run_round
from atom.monitoring.monitor import get_monitor
from atom.monitoring.rollup import maintain
from atom.scheduler import JobSpec

logger = logging.getLogger(__name__)


def health_jobs(app: Flask) -> list[JobSpec]:
    """A health-check round every ``HEALTH_CHECK_INTERVAL_S`` (none when it is 0), and the
    hourly roll-up and pruning of metrics."""
    jobs = [JobSpec("monitoring:maintenance", run_maintenance, "interval", {"hours": 1},
                    {"app": app}),
            JobSpec("monitoring:notify", notify_job, "interval",
                    {"seconds": float(app.config["ALERT_NOTIFY_TICK_S"])}, {"app": app})]
    interval = float(app.config["HEALTH_CHECK_INTERVAL_S"])
    if interval > 0:
        jobs.append(JobSpec("health:round", scheduled_round, "interval", {"seconds": interval},
                            {"app": app}))
    return jobs


def scheduled_round(app: Flask) -> None:
    """One scheduled round; its checks start spread over the configured jitter."""
    interval = float(app.config["HEALTH_CHECK_INTERVAL_S"])
    jitter = min(float(app.config["HEALTH_CHECK_JITTER_S"]), interval / 4)
    try:
        run_round(app, jitter_s=jitter)
    except Exception:  # never let one bad round take the job down
        logger.exception("scheduled health round failed")


def notify_job(app: Flask) -> None:
    """The ``monitoring:notify`` job: wake this process's delivery thread (group waits and
    reminders fall due between rounds)."""
    get_monitor(app).notifier.nudge()


def run_maintenance(app: Flask) -> None:
    try:
        maintain(app)
    except Exception:
        logger.exception("metrics maintenance failed")
