"""Fixtures for the intelligence tests: the engine tests' app (its engine closed after the
test), the scripted loopback service, an http connection to it and the API helper."""
from __future__ import annotations

from tests.atom.engine.conftest import api  # noqa: F401  (fixtures)
from tests.atom.engine.conftest import app  # noqa: F401
from tests.atom.engine.conftest import conn  # noqa: F401
from tests.atom.engine.conftest import fake  # noqa: F401
