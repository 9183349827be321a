"""Plugin discovery: loaded, disabled, unavailable, broken — never a silent None."""
from __future__ import annotations

import dataclasses
import logging
from configparser import ConfigParser
from pathlib import Path

import pytest

from atom.integrations.registry import PluginError
from atom.integrations.registry import UnknownPlugin
from atom.integrations.registry import discover
from plugins.http.manifest import MANIFEST

ROOT = Path(__file__).resolve().parents[3]


def test_it_loads_a_manifest_and_finds_it_by_slug_or_alias():
    registry = discover([("http", MANIFEST)])
    assert registry.get("http").loaded
    assert registry.get("REST API").name == "http"
    with pytest.raises(UnknownPlugin):
        registry.get("nope")


def test_a_broken_plugin_is_reported_by_name_and_reason(caplog):
    caplog.set_level(logging.ERROR)
    registry = discover([("http", MANIFEST), ("ghost", "plugins.ghost.manifest:MANIFEST")])
    ghost = next(p for p in registry.all() if p.name == "ghost")
    assert ghost.state == "broken"
    assert "ModuleNotFoundError" in ghost.reason
    assert "ghost" in caplog.text
    with pytest.raises(UnknownPlugin):
        registry.get("ghost")


def test_strict_mode_raises_for_a_broken_plugin():
    with pytest.raises(PluginError, match="ghost"):
        discover([("ghost", "plugins.ghost.manifest:MANIFEST")], strict=True)


@pytest.mark.parametrize("change, reason", [
    ({"slug": "other"}, "differs from the entry-point name"),
    ({"category": "weird"}, "unknown category"),
    ({"integration": "plugins.http.schemas:HttpSettings"}, "not an Integration subclass"),
    ({"actions": MANIFEST.actions + MANIFEST.actions[:1]}, "duplicate action"),
])
def test_invalid_manifests_are_broken_with_the_reason(change, reason):
    bad = dataclasses.replace(MANIFEST, **change)
    plugin = discover([("http", bad)]).all()[0]
    assert plugin.state == "broken"
    assert reason in plugin.reason


def test_a_missing_optional_dependency_makes_it_unavailable_not_broken():
    needy = dataclasses.replace(MANIFEST, requires=("surely_not_installed_pkg",))
    plugin = discover([("http", needy)], strict=True).all()[0]
    assert plugin.state == "unavailable"
    assert "surely_not_installed_pkg" in plugin.reason


def test_plugins_can_be_disabled_or_allow_listed():
    assert discover([("http", MANIFEST)], disabled=["http"]).all()[0].state == "disabled"
    assert discover([("http", MANIFEST)], enabled=["slack"]).all()[0].state == "disabled"


def test_every_plugin_package_has_an_entry_point():
    parser = ConfigParser()
    parser.read(ROOT / "setup.cfg")
    declared = {line.split("=")[0].strip(): line.split("=")[1].strip()
                for line in parser["options.entry_points"]["atom.integrations"].strip().splitlines()}
    packages = {p.parent.name for p in (ROOT / "plugins").glob("*/manifest.py")}
    assert packages == set(declared)
    for name, target in declared.items():
        assert target == f"plugins.{name}.manifest:MANIFEST"
