"""A test-only in-process integration: actions whose output is not plain JSON, and a notify
that records what it was sent. Loaded with ``PLUGINS=[HTTP_MANIFEST, MANIFEST]``."""
from __future__ import annotations

import decimal
import threading
from datetime import datetime
from typing import Any

from marshmallow import Schema

from atom.integrations.base import Integration
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest

SENT: list[tuple[str | None, str]] = []
_LOCK = threading.Lock()


class NoCredentials(Schema):
    pass


class Empty(Schema):
    pass


class ProbeIntegration(Integration):
    def health_check(self) -> None:
        return None

    def stamp(self, data: dict[str, Any]) -> dict[str, Any]:
        """Output with values JSON cannot carry as they are."""
        return {"at": datetime(2026, 1, 2, 3, 4, 5), "amount": decimal.Decimal("1.50"), "raw": b"\x00\x01"}

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        with _LOCK:
            SENT.append((channel, message))
        return {"delivered": True}


MANIFEST = Manifest(
    slug="probe",
    display_name="Probe",
    category="generic",
    description="Test-only integration.",
    auth=AuthScheme(kind="none", fields=NoCredentials),
    integration="tests.atom.engine.probe_plugin:ProbeIntegration",
    actions=(Action("stamp", "Output that is not plain JSON", Empty, {"type": "object", "properties": {"at": {}, "amount": {}, "raw": {}}}, {}),),
)
