"""The ``atom`` command (console script ``atom = atom.cli:main``).

ATOM's commands (connections, workflows, executions, alerts, health, test, users, keys, ...)
call the functions the REST API calls; Flask's ``run``, ``shell`` and ``routes``, Flask-Migrate's
``db`` and the extensions' commands are listed apart in ``atom --help``. The shared command
classes, error handling and output helpers are in :mod:`atom.cli.base`; one module per area.
"""
from __future__ import annotations

import click

from atom import __version__
from atom.cli.base import AtomGroup


def _create_app():
    from atom import create_app

    return create_app()


@click.group("atom", cls=AtomGroup, create_app=_create_app, add_version_option=False)
@click.version_option(__version__, prog_name="atom", message="%(prog)s %(version)s")
def main() -> None:
    """ATOM: integration hub and workflow automation.

    \b
    A new install: atom db upgrade, then atom users bootstrap (the first admin),
    then atom run (development) or gunicorn -c config/gunicorn.conf.py wsgi:app.
    List commands take --json; errors are one line on stderr with a non-zero exit.
    """


# Each module adds its commands to ``main`` (imported for that effect, in help order).
from atom.cli import connections  # noqa: E402,F401
from atom.cli import workflows  # noqa: E402,F401
from atom.cli import accounts  # noqa: E402,F401
from atom.cli import plugins  # noqa: E402,F401
from atom.cli import intelligence_optimise  # noqa: E402,F401
from atom.cli import intelligence_troubleshoot  # noqa: E402,F401
from atom.cli import intelligence_language  # noqa: E402,F401
from atom.cli import worker  # noqa: E402,F401
from atom.monitoring.cli import alerts_cmd  # noqa: E402
from atom.monitoring.cli import anomaly_cmd  # noqa: E402
from atom.monitoring.cli import health_cmd  # noqa: E402
from atom.monitoring.cli import monitoring_cmd  # noqa: E402
from atom.monitoring.cli import scheduler_cmd  # noqa: E402
from atom.monitoring.cli import test_cmd  # noqa: E402

for _command in (alerts_cmd, health_cmd, test_cmd, anomaly_cmd, monitoring_cmd, scheduler_cmd):
    main.add_command(_command)
