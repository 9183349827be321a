"""Every action of every spec-described plugin, run with its own ``example`` through the API
against Prism serving the vendor's spec: Prism accepts the request (a request it rejects comes
back as an error) and the output fits the action's ``output_schema``.

A plugin whose contract is a documented fake (``Contract("fake", "tests/plugins/<slug>/fake.py")``)
runs the same way against that fake: the module's ``contract_server()`` context manager starts
it, seeded for the examples, and yields the ``settings`` and ``credentials`` of a connection
to it.

Parametrised over the installed plugins, so a new plugin is checked without editing this file.
"""
from __future__ import annotations

import contextlib
import importlib
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
                  for action in manifest.actions]
    return cases


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


# -- documented fakes ----------------------------------------------------------------------------

def _fake_actions():
    cases = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        manifest = discover([(ep.name, ep)], strict=True).get(ep.name).manifest
        contract = manifest.contract
        if contract is None or contract.source != "fake" or not (contract.file or "").endswith(".py"):
            continue
        cases += [pytest.param(manifest, action, id=f"{manifest.slug}.{action.name}")
                  for action in manifest.actions]
    return cases


@pytest.fixture
def fake_connection(create_connection):
    with contextlib.ExitStack() as stack:
        def make(manifest) -> dict:
            module = importlib.import_module(
                manifest.contract.file.removesuffix(".py").replace("/", "."))
            if not hasattr(module, "contract_server"):
                pytest.fail(f"{manifest.contract.file} has no contract_server(): a context "
                            f"manager that starts the fake seeded for the examples and yields "
                            f"{{'settings': ..., 'credentials': ...}}")
            served = stack.enter_context(module.contract_server())
            settings = {**manifest.contract.settings, **served["settings"], "max_attempts": 1,
                        "rate_limit_per_second": 1000, "rate_limit_burst": 1000}
            return create_connection(manifest.slug, settings, served["credentials"])

        yield make


@pytest.mark.parametrize("manifest, action", _fake_actions())
def test_the_example_runs_against_the_documented_fake(client, keys, fake_connection, manifest,
                                                      action):
    conn = fake_connection(manifest)
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action.name}",
                           headers=keys["editor"], json=dict(action.example))
    body = response.get_json()
    assert response.status_code == 200, body
    errors = list(Draft202012Validator(dict(action.output)).iter_errors(body["output"]))
    assert not errors, f"output does not fit output_schema: {errors[0].message} at {list(errors[0].path)}"


def _fake_manifests():
    seen = {}
    for param in _fake_actions():
        manifest = param.values[0]
        seen.setdefault(manifest.slug, pytest.param(manifest, id=manifest.slug))
    return list(seen.values())


@pytest.mark.parametrize("manifest", _fake_manifests())
def test_the_health_check_passes_against_the_documented_fake(client, keys, fake_connection,
                                                             manifest):
    conn = fake_connection(manifest)
    result = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert result["ok"], result
