"""One contract for every installed plugin: declarations, schemas, masking and error mapping.

Parametrised over the entry-point group, so a new plugin is checked without editing this file.
"""
from __future__ import annotations

import re
from importlib.metadata import entry_points

import pytest
import requests
import responses
from marshmallow import fields
from marshmallow import validate

from atom.integrations.catalogue import describe
from atom.integrations.errors import IntegrationError
from atom.integrations.manifest import Manifest
from atom.integrations.registry import GROUP
from atom.integrations.registry import discover
from atom.integrations.vault import mask_credentials
from atom.state import get_state

ENTRY_POINTS = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
FAKE = "http://127.0.0.1:9499"
ANY = re.compile(r"http://127\.0\.0\.1:9499/.*")


def sample(schema_cls) -> dict:
    """Plausible values for every field of a credentials schema."""
    values = {}
    for name, field in schema_cls().fields.items():
        choices = [v.choices for v in _validators(field) if isinstance(v, validate.OneOf)]
        if "example" in field.metadata:
            values[name] = field.metadata["example"]
        elif choices:
            values[name] = list(choices[0])[0]
        elif isinstance(field, fields.Email):
            values[name] = "bot@example.com"
        elif isinstance(field, fields.Url):
            values[name] = FAKE
        elif isinstance(field, (fields.Integer, fields.Float)):
            values[name] = 1
        elif isinstance(field, fields.Boolean):
            values[name] = True
        else:
            values[name] = f"contract-{name}-0123456789abcdef"
    return values


def _validators(field) -> list:
    if field.validate is None:
        return []
    return list(field.validate) if isinstance(field.validate, (list, tuple)) else [field.validate]


@pytest.fixture(params=ENTRY_POINTS, ids=lambda ep: ep.name)
def manifest(request) -> Manifest:
    ep = request.param
    plugin = discover([(ep.name, ep)], strict=True).get(ep.name)
    return plugin.manifest


@pytest.fixture
def integ(app, manifest):
    with app.app_context():
        return get_state(app).runtime.build(
            manifest.slug, None, "contract", {"base_url": FAKE, "max_attempts": 1},
            manifest.auth.fields().load(sample(manifest.auth.fields)))


def test_the_manifest_is_complete(manifest):
    assert manifest.display_name and manifest.description
    assert manifest.aliases, "plain-English aliases are needed by the text-to-workflow parser"
    assert len(manifest.actions) >= 4
    assert manifest.rate_limit.per_second > 0 and manifest.rate_limit.burst >= 1
    for action in manifest.actions:
        assert re.match(r"^[a-z]+(_[a-z]+)*$", action.name), action.name
        action.input()  # the schema instantiates
        assert action.output, f"{action.name} describes no output"
    for trigger in manifest.triggers:
        assert trigger.sample, f"{trigger.name} has no sample payload"
    assert manifest.triggers, "every plugin emits at least one event"
    assert manifest.webhook is not None


def test_the_catalogue_entry_has_json_schemas(manifest):
    entry = describe(manifest)
    for action in entry["actions"]:
        assert action["input_schema"]["type"] == "object"
    for name in manifest.secret_fields():
        assert entry["credentials_schema"]["properties"][name]["writeOnly"] is True


def test_secret_fields_are_masked(manifest):
    creds = sample(manifest.auth.fields)
    secrets = manifest.secret_fields()
    assert secrets, "a plugin with credentials flags its secrets"
    masked = mask_credentials(creds, secrets)
    for name in secrets:
        if name in creds:
            assert masked[name] != creds[name]
            assert creds[name] not in str(masked)


def test_the_blueprint_registers_under_its_slug(app, manifest):
    if manifest.blueprint:
        assert any(rule.rule.startswith(f"/integrations/{manifest.slug}") for rule in app.url_map.iter_rules())


@pytest.mark.parametrize("failure, code", [
    ({"status": 500, "json": {"error": "boom"}}, "upstream"),
    ({"body": requests.ReadTimeout("slow")}, "timeout"),
    ({"status": 401, "json": {"ok": False, "error": "invalid_auth", "message": "no"}}, "auth"),
])
def test_the_health_check_maps_failures_to_error_classes(app, integ, failure, code):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for method in ("GET", "POST"):
            mocked.add(method, ANY, **failure)
        with pytest.raises(IntegrationError) as info:
            integ.health_check()
    assert info.value.code == code


def test_the_health_check_reaches_the_configured_base_url(app, integ):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for method in ("GET", "POST"):
            mocked.add(method, ANY, status=500)
        with pytest.raises(IntegrationError):
            integ.health_check()
        assert mocked.calls, "the health check made no request"
        assert all(call.request.url.startswith(FAKE) for call in mocked.calls)
