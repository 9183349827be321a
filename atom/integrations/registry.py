"""Plugin discovery through the ``atom.integrations`` entry-point group.

Each plugin ends up in one of four states: ``loaded``, ``disabled`` (by config),
``unavailable`` (an optional dependency is missing) or ``broken`` (anything else, with the
reason). A broken plugin is logged once at ERROR and, in strict mode, raises.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any
from typing import Iterable
from typing import Mapping

from marshmallow import Schema

from atom.integrations.base import Integration
from atom.integrations.manifest import API_KEY_LOCATIONS
from atom.integrations.manifest import AUTH_KINDS
from atom.integrations.manifest import CATEGORIES
from atom.integrations.manifest import Manifest
from atom.integrations.webhooks import SCHEMES

logger = logging.getLogger(__name__)

GROUP = "atom.integrations"
SLUG = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class PluginError(Exception):
    """A plugin failed validation; the message says why."""


class UnknownPlugin(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no integration named {slug!r}")
        self.slug = slug


@dataclass
class Plugin:
    name: str
    state: str  # loaded | disabled | unavailable | broken
    manifest: Manifest | None = None
    integration_class: type[Integration] | None = None
    reason: str = ""

    @property
    def loaded(self) -> bool:
        return self.state == "loaded"


def resolve(dotted: str) -> Any:
    """Import ``package.module:attribute``."""
    module, _, attr = dotted.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class Registry:
    """The plugins of one app; built once by ``create_app`` and kept in ``app.extensions``."""

    def __init__(self, plugins: Iterable[Plugin]) -> None:
        self._plugins = {p.name: p for p in plugins}

    def all(self) -> list[Plugin]:
        return sorted(self._plugins.values(), key=lambda p: p.name)

    def loaded(self) -> list[Plugin]:
        return [p for p in self.all() if p.loaded]

    def get(self, slug: str) -> Plugin:
        """Return a loaded plugin by slug or alias; raise :class:`UnknownPlugin` otherwise."""
        plugin = self._plugins.get(slug)
        if plugin is None:
            plugin = next((p for p in self.loaded() if _matches_alias(p, slug)), None)
        if plugin is None or not plugin.loaded:
            raise UnknownPlugin(slug)
        return plugin

    def __contains__(self, slug: str) -> bool:
        try:
            self.get(slug)
        except UnknownPlugin:
            return False
        return True


def _matches_alias(plugin: Plugin, text: str) -> bool:
    wanted = text.strip().lower()
    manifest = plugin.manifest
    return manifest is not None and (
        wanted == manifest.display_name.lower() or wanted in (a.lower() for a in manifest.aliases)
    )


def discover(
    sources: Iterable[tuple[str, Any]] | None = None,
    enabled: list[str] | None = None,
    disabled: Iterable[str] = (),
    strict: bool = False,
) -> Registry:
    """Load plugins from ``sources`` (name, object-or-dotted-path) or the entry-point group."""
    if sources is None:
        sources = [(ep.name, ep) for ep in entry_points(group=GROUP)]
    plugins: list[Plugin] = []
    seen: set[str] = set()
    for name, source in sources:
        if name in seen:
            plugins.append(_broken(name, "duplicate plugin name", strict))
            continue
        seen.add(name)
        if name in set(disabled) or (enabled is not None and name not in enabled):
            plugins.append(Plugin(name, "disabled", reason="disabled by configuration"))
            continue
        plugins.append(_load(name, source, strict))
    return Registry(plugins)


def _load(name: str, source: Any, strict: bool) -> Plugin:
    try:
        manifest = source.load() if hasattr(source, "load") else (
            resolve(source) if isinstance(source, str) else source
        )
        validate_manifest(name, manifest)
        missing = [m for m in manifest.requires if importlib.util.find_spec(m) is None]
        if missing:
            reason = f"missing optional dependency: {', '.join(missing)}"
            logger.info("integration %s unavailable: %s", name, reason)
            return Plugin(name, "unavailable", manifest=manifest, reason=reason)
        cls = resolve(manifest.integration)
        validate_class(manifest, cls)
    except Exception as exc:  # any failure of a plugin is reported, never swallowed into None
        return _broken(name, f"{type(exc).__name__}: {exc}", strict, exc)
    return Plugin(name, "loaded", manifest=manifest, integration_class=cls)


def _broken(name: str, reason: str, strict: bool, exc: Exception | None = None) -> Plugin:
    logger.error("integration %s is broken: %s", name, reason, exc_info=exc)
    if strict:
        raise PluginError(f"integration {name} is broken: {reason}") from exc
    return Plugin(name, "broken", reason=reason)


def validate_manifest(name: str, manifest: Any) -> None:
    """Check what the registry promises about every loaded manifest."""
    if not isinstance(manifest, Manifest):
        raise PluginError(f"entry point does not point at a Manifest (got {type(manifest).__name__})")
    problems = []
    if manifest.slug != name:
        problems.append(f"slug {manifest.slug!r} differs from the entry-point name {name!r}")
    if not SLUG.match(manifest.slug):
        problems.append(f"slug {manifest.slug!r} is not lower snake_case")
    if manifest.category not in CATEGORIES:
        problems.append(f"unknown category {manifest.category!r}")
    if manifest.auth.kind not in AUTH_KINDS:
        problems.append(f"unknown auth kind {manifest.auth.kind!r}")
    if not _is_schema(manifest.auth.fields):
        problems.append("auth.fields is not a marshmallow Schema")
    if manifest.settings is not None and not _is_schema(manifest.settings):
        problems.append("settings is not a marshmallow Schema")
    names = [a.name for a in manifest.actions]
    if len(set(names)) != len(names):
        problems.append("duplicate action names")
    problems += [f"action {a.name}: input is not a marshmallow Schema"
                 for a in manifest.actions if not _is_schema(a.input)]
    problems += [f"trigger {t.name}: sample payload is not an object"
                 for t in manifest.triggers if not isinstance(t.sample, dict)]
    if manifest.webhook is not None and manifest.webhook.scheme not in SCHEMES:
        problems.append(f"unknown webhook scheme {manifest.webhook.scheme!r}")
    problems += _auth_problems(manifest)
    problems += [f"action {a.name}: output is not a JSON Schema object"
                 for a in manifest.actions if not isinstance(a.output, Mapping)
                 or not a.output.get("type")]
    problems += [f"action {a.name}: no input example" for a in manifest.actions
                 if not isinstance(a.example, Mapping)]
    problems += [f"trigger {t.name}: delivered by webhook but the manifest declares no scheme"
                 for t in manifest.triggers if t.kind == "webhook" and manifest.webhook is None]
    if problems:
        raise PluginError("; ".join(problems))


def _auth_problems(manifest: Manifest) -> list[str]:
    scheme = manifest.auth
    if not _is_schema(scheme.fields):
        return []
    declared = set(scheme.fields().fields)
    problems = [f"auth applies credential field {f!r} that the credentials schema lacks"
                for f in sorted(scheme.applied_fields() - declared)]
    if scheme.kind in ("bearer", "api_key") and scheme.location == "header" and not scheme.secret:
        problems.append(f"{scheme.kind} auth names no secret field")
    if scheme.location not in API_KEY_LOCATIONS:
        problems.append(f"unknown api_key location {scheme.location!r}")
    if scheme.kind == "api_key" and scheme.location == "query" and not scheme.params:
        problems.append("query api_key auth names no parameters")
    if scheme.kind == "basic" and not scheme.username:
        problems.append("basic auth names no username field")
    if scheme.kind == "custom" and not scheme.signer:
        problems.append("custom auth names no signer")
    if scheme.kind == "oauth2" and scheme.oauth2 is None:
        problems.append("oauth2 auth declares no OAuth2Spec (authorize and token URLs)")
    return problems


def validate_class(manifest: Manifest, cls: Any) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Integration)):
        raise PluginError(f"{manifest.integration} is not an Integration subclass")
    missing = [a.name for a in manifest.actions if not callable(getattr(cls, a.name, None))]
    if missing:
        raise PluginError(f"actions without a method: {', '.join(missing)}")
    if cls.health_check is Integration.health_check:
        raise PluginError("no health_check implementation")
    webhook_triggers = [t for t in manifest.triggers if t.kind == "webhook"]
    if webhook_triggers and cls.parse_webhook is Integration.parse_webhook:
        raise PluginError("webhook triggers declared but parse_webhook is not implemented")
    missing = [f"{t.name} ({t.delivery.method})" for t in manifest.poll_triggers()
               if not callable(getattr(cls, t.delivery.method, None))]
    if missing:
        raise PluginError(f"poll triggers without their method: {', '.join(missing)}")


def _is_schema(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, Schema)
