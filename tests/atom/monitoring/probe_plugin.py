"""A test-only plugin: its health check can raise a plain exception (a plugin bug), and it has
read-only actions with and without required input (for ``atom test``)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import fields

from atom.integrations.base import Integration
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest


class NoCredentials(Schema):
    pass


class ProbeSettings(Schema):
    base_url = fields.Url(required=True, require_tld=False)
    mode = fields.String(load_default="ok")


class Empty(Schema):
    pass


class LookupInput(Schema):
    key = fields.String(required=True)


class ProbeIntegration(Integration):
    def health_check(self) -> None:
        if self.connection.settings.get("mode") == "bug":
            raise RuntimeError("a bug in the plugin")
        self.http.get("/health", operation="health")

    def ping(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"status": self.http.get("/ping").status_code}

    def lookup(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"status": self.http.get(f"/lookup/{data['key']}").status_code}

    find = fetch = lookup


MANIFEST = Manifest(
    slug="probe",
    display_name="Probe",
    category="developer",
    description="Test plugin for monitoring",
    auth=AuthScheme(kind="none", fields=NoCredentials),
    settings=ProbeSettings,
    integration="tests.atom.monitoring.probe_plugin:ProbeIntegration",
    actions=(
        Action("ping", "Ping", Empty, {"type": "object", "properties": {"status": {}}}, {}, idempotent=True, read_only=True),
        Action("lookup", "Look up", LookupInput, {"type": "object", "properties": {"status": {}}},
               {"key": "abc"}, idempotent=True, read_only=True),
        Action("find", "Find", LookupInput, {"type": "object", "properties": {"status": {}}},
               {}, idempotent=True, read_only=True),
        Action("fetch", "Fetch", LookupInput, {"type": "object", "properties": {"status": {}}},
               {"key": "gone"}, idempotent=True, read_only=True),
    ),
)
