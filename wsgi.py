"""The WSGI entry point: ``gunicorn -c config/gunicorn.conf.py wsgi:app``.

Each worker builds its app, resumes executions left by dead processes, and joins the
scheduler election (one process of the deployment runs the scheduler).
"""
from __future__ import annotations

from atom import create_app
from atom.background import start

app = create_app()
start(app)
