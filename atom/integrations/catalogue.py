"""The integration catalogue: what each loaded plugin offers, as JSON (schemas as JSON Schema)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from atom.integrations.manifest import Manifest
from atom.integrations.manifest import Poll
from atom.integrations.manifest import Trigger
from atom.integrations.registry import Plugin
from atom.integrations.registry import Registry


@lru_cache(maxsize=1)
def _converter() -> Any:
    # A resolver that names no schema makes apispec inline nested schemas: a catalogue entry's
    # input_schema stands alone (no $ref to components it does not carry).
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    APISpec("atom", "1", "3.0.3", plugins=[plugin])
    return plugin.converter


def json_schema(schema: type[Schema] | Schema) -> dict[str, Any]:
    """Convert a marshmallow schema to JSON Schema (via apispec's converter)."""
    instance = schema() if isinstance(schema, type) else schema
    converted = _converter().schema2jsonschema(instance)
    secret = [n for n, f in instance.fields.items() if f.metadata.get("secret")]
    for name in secret:
        converted["properties"].get(instance.fields[name].data_key or name, {})["writeOnly"] = True
    return converted


def describe(manifest: Manifest, detail: bool = True) -> dict[str, Any]:
    from atom.integrations.runtime import settings_schema

    webhook = None if manifest.webhook is None else {"scheme": manifest.webhook.scheme}
    out: dict[str, Any] = {
        "name": manifest.slug,
        "display_name": manifest.display_name,
        "category": manifest.category,
        "description": manifest.description,
        "docs_url": manifest.docs_url,
        "aliases": list(manifest.aliases),
        "auth": {**manifest.auth.describe(), "secret_fields": sorted(manifest.secret_fields())},
        "oauth2": manifest.auth.oauth2 is not None,
        "rate_limit": {"per_second": manifest.rate_limit.per_second, "burst": manifest.rate_limit.burst},
        "actions": [a.name for a in manifest.actions],
        "triggers": [t.name for t in manifest.triggers],
        "webhook": webhook,
        "contract": None if manifest.contract is None else {
            "source": manifest.contract.source, "file": manifest.contract.file},
    }
    if detail:
        out["credentials_schema"] = json_schema(manifest.auth.fields)
        out["settings_schema"] = json_schema(settings_schema(manifest))
        out["actions"] = [
            {
                "name": a.name,
                "title": a.title,
                "description": a.description,
                "input_schema": {**json_schema(a.input), "example": dict(a.example)},
                "output_schema": dict(a.output),
                "example": dict(a.example),
                "idempotent": a.idempotent,
                "read_only": a.read_only,
                "words": list(a.words),
            }
            for a in manifest.actions
        ]
        out["triggers"] = [
            {"name": t.name, "title": t.title, "kind": t.kind, "description": t.description,
             "delivery": delivery(t, webhook), "payload_schema": dict(t.payload),
             "params_schema": json_schema(t.params) if t.params else None,
             "sample": t.sample, "words": list(t.words)}
            for t in manifest.triggers
        ]
    return out


def delivery(trigger: Trigger, webhook: dict[str, Any] | None) -> dict[str, Any]:
    """How a trigger's events arrive: a verified webhook (its scheme) or a poll."""
    d = trigger.delivery
    if isinstance(d, Poll):
        return {"kind": "poll", "method": d.method, "cursor": d.cursor, "item_id": d.item_id,
                "interval_s": d.interval_s}
    return {"kind": "webhook", **(webhook or {})}


def problem(plugin: Plugin) -> dict[str, Any]:
    return {"name": plugin.name, "state": plugin.state, "reason": plugin.reason}


def catalogue(registry: Registry, detail: bool = False) -> dict[str, Any]:
    return {
        "integrations": [describe(p.manifest, detail) for p in registry.loaded() if p.manifest],
        "not_loaded": [problem(p) for p in registry.all() if not p.loaded],
    }
