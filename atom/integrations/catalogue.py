"""The integration catalogue: what each loaded plugin offers, as JSON (schemas as JSON Schema)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from atom.integrations.manifest import Manifest
from atom.integrations.registry import Plugin
from atom.integrations.registry import Registry


@lru_cache(maxsize=1)
def _converter() -> Any:
    plugin = MarshmallowPlugin()
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

    out: dict[str, Any] = {
        "name": manifest.slug,
        "display_name": manifest.display_name,
        "category": manifest.category,
        "description": manifest.description,
        "docs_url": manifest.docs_url,
        "aliases": list(manifest.aliases),
        "auth": {"kind": manifest.auth.kind, "secret_fields": sorted(manifest.secret_fields())},
        "rate_limit": {"per_second": manifest.rate_limit.per_second, "burst": manifest.rate_limit.burst},
        "actions": [a.name for a in manifest.actions],
        "triggers": [t.name for t in manifest.triggers],
        "webhook": None if manifest.webhook is None else {"scheme": manifest.webhook.scheme},
    }
    if detail:
        out["credentials_schema"] = json_schema(manifest.auth.fields)
        out["settings_schema"] = json_schema(settings_schema(manifest))
        out["actions"] = [
            {
                "name": a.name,
                "title": a.title,
                "description": a.description,
                "input_schema": json_schema(a.input),
                "output": a.output,
                "idempotent": a.idempotent,
                "read_only": a.read_only,
            }
            for a in manifest.actions
        ]
        out["triggers"] = [
            {"name": t.name, "title": t.title, "kind": t.kind, "description": t.description,
             "sample": t.sample}
            for t in manifest.triggers
        ]
    return out


def problem(plugin: Plugin) -> dict[str, Any]:
    return {"name": plugin.name, "state": plugin.state, "reason": plugin.reason}


def catalogue(registry: Registry, detail: bool = False) -> dict[str, Any]:
    return {
        "integrations": [describe(p.manifest, detail) for p in registry.loaded() if p.manifest],
        "not_loaded": [problem(p) for p in registry.all() if not p.loaded],
    }
