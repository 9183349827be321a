"""The WSGI entry point: ``gunicorn -c config/gunicorn.conf.py wsgi:app``."""
from __future__ import annotations

from atom import create_app

app = create_app()
