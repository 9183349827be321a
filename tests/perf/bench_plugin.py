"""An in-memory integration for the engine benchmark: ``noop`` returns at once, ``sleep``
waits like an I/O-bound call. Steps using it go through the engine's real action path
(connection lookup, ``ConnectionRuntime.run_action``, input schema, idempotency scope) with no
network, so what is measured is the engine's own cost. Passed to the app as
``PLUGINS=[MANIFEST]`` (see ``atom.state._explicit_plugins``)."""
from __future__ import annotations

import time
from typing import Any

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.integrations.base import Integration
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit


class NoCredentials(Schema):
    pass


class NoopInput(Schema):
    tag = fields.String()


class SleepInput(Schema):
    ms = fields.Float(required=True, validate=validate.Range(min=0, max=60_000))


class BenchIntegration(Integration):
    def health_check(self) -> None:
        return None

    def noop(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def sleep(self, data: dict[str, Any]) -> dict[str, Any]:
        time.sleep(data["ms"] / 1000.0)
        return {"slept_ms": data["ms"]}


MANIFEST = Manifest(
    slug="bench",
    display_name="Benchmark",
    category="generic",
    description="In-memory actions for the engine benchmark.",
    auth=AuthScheme(kind="none", fields=NoCredentials),
    integration="tests.perf.bench_plugin:BenchIntegration",
    rate_limit=RateLimit(per_second=1_000_000, burst=1_000_000),
    actions=(
        Action("noop", "Do nothing", NoopInput, {"type": "object", "properties": {"ok": {}}}, {}, idempotent=True),
        Action("sleep", "Sleep like an I/O call", SleepInput, {"type": "object", "properties": {"slept_ms": {}}}, {}, idempotent=True),
    ),
)
