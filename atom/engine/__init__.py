"""The workflow engine: definitions, expressions, the runner, triggers."""
from __future__ import annotations

from flask import Flask
from flask import current_app


def init_app(app: Flask) -> None:
    from atom.engine import polling
    from atom.engine.engine import Engine

    app.extensions["atom_engine"] = Engine(app)
    polling.init_app(app)  # the poll job's state (cursors live in the database); no thread


def get_engine(app: Flask | None = None):
    return (app or current_app).extensions["atom_engine"]
