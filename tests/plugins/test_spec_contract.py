"""Every action of every spec-described plugin, run with its own ``example`` through the API
against Prism serving the vendor's spec: Prism accepts the request (a request it rejects comes
back as an error) and the output fits the action's ``output_schema``.

Parametrised over the installed plugins, so a new plugin is checked without editing this file.
"""
from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from jsonschema import Draft202012Validator

from atom.integrations.registry import GROUP
from atom.integrations.registry import discover
from tests.plugins.test_contract import sample

pytestmark = pytest.mark.prism


def _spec_actions():
    cases = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        manifest = discover([(ep.name, ep)], strict=True).get(ep.name).manifest
        contract = manifest.contract
        if contract is None or contract.source != "openapi":
            continue
        cases += [pytest.param(manifest, action, id=f"{manifest.slug}.{action.name}")
                  for action in manifest.actions if action.name not in contract.outside_spec]
    return cases


def _openapi_manifests():
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        manifest = discover([(ep.name, ep)], strict=True).get(ep.name).manifest
        if manifest.contract is not None and manifest.contract.source == "openapi":
            yield pytest.param(manifest, id=manifest.slug)


@pytest.mark.parametrize("manifest", list(_openapi_manifests()))
def test_actions_outside_the_spec_are_few_named_and_explained(manifest):
    """An action left out of the Prism run must exist and the notes must say why; most of a
    plugin's actions still run against the spec."""
    outside = manifest.contract.outside_spec
    names = {a.name for a in manifest.actions}
    assert set(outside) <= names, f"not actions: {sorted(set(outside) - names)}"
    assert not outside or manifest.contract.notes, "say in notes what the spec lacks"
    assert len(outside) * 2 < len(manifest.actions), "most actions run against the spec"


@pytest.fixture
def spec_connection(prism, create_connection):
    made: dict[str, dict] = {}

    def make(manifest) -> dict:
        if manifest.slug not in made:
            contract = manifest.contract
            url = prism(contract.file.removesuffix(".json")) + contract.base_path
            settings = {**contract.settings, "base_url": url, "max_attempts": 1,
                        "rate_limit_per_second": 1000, "rate_limit_burst": 1000}
            made[manifest.slug] = create_connection(manifest.slug, settings,
                                                    sample(manifest.auth.fields, manifest.auth))
        return made[manifest.slug]

    return make


@pytest.mark.parametrize("manifest, action", _spec_actions())
def test_the_example_runs_against_the_vendor_spec(client, keys, spec_connection, manifest, action):
    conn = spec_connection(manifest)
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action.name}",
                           headers=keys["editor"], json=dict(action.example))
    body = response.get_json()
    assert response.status_code == 200, body
    errors = list(Draft202012Validator(dict(action.output)).iter_errors(body["output"]))
    assert not errors, f"output does not fit output_schema: {errors[0].message} at {list(errors[0].path)}"


def _spec_manifests():
    seen = {}
    for param in _spec_actions():
        manifest = param.values[0]
        seen.setdefault(manifest.slug, pytest.param(manifest, id=manifest.slug))
    return list(seen.values())


@pytest.mark.parametrize("manifest", _spec_manifests())
def test_the_health_check_passes_against_the_vendor_spec(client, keys, spec_connection, manifest):
    conn = spec_connection(manifest)
    result = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert result["ok"], result


# -- documented fakes ---------------------------------------------------------------------------
#
# A plugin whose contract is a fake names its module (``Contract("fake", "tests/plugins/<slug>/
# fake.py")``); that module's ``contract_fake()`` starts the fake, seeded with what the examples
# name, and returns an object with ``settings`` and ``credentials`` for a connection to it and
# ``stop()``. Fakes that name no module (tested by their own plugin tests) are skipped here.


def _fake_contracts():
    cases = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        manifest = discover([(ep.name, ep)], strict=True).get(ep.name).manifest
        contract = manifest.contract
        if contract is None or contract.source != "fake" or not contract.file:
            continue
        cases += [pytest.param(manifest, action, id=f"{manifest.slug}.{action.name}")
                  for action in manifest.actions]
    return cases


@pytest.fixture
def fake_connection(create_connection):
    import importlib

    started = []

    def make(manifest) -> dict:
        module = importlib.import_module(manifest.contract.file.removesuffix(".py")
                                         .replace("/", "."))
        fake = module.contract_fake()
        started.append(fake)
        settings = {**manifest.contract.settings, **fake.settings, "max_attempts": 1,
                    "rate_limit_per_second": 1000, "rate_limit_burst": 1000}
        return create_connection(manifest.slug, settings, fake.credentials)

    yield make
    for fake in started:
        fake.stop()


@pytest.mark.parametrize("manifest, action", _fake_contracts())
def test_the_example_runs_against_the_documented_fake(client, keys, fake_connection, manifest,
                                                      action):
    conn = fake_connection(manifest)
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action.name}",
                           headers=keys["editor"], json=dict(action.example))
    body = response.get_json()
    assert response.status_code == 200, body
    errors = list(Draft202012Validator(dict(action.output)).iter_errors(body["output"]))
    assert not errors, f"output does not fit output_schema: {errors[0].message} at {list(errors[0].path)}"
    health = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert health.get_json()["ok"], health.get_json()
