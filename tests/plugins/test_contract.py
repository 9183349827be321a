"""One contract for every installed plugin: declarations, schemas, masking and error mapping.

Parametrised over the entry-point group, so a new plugin is checked without editing this file.
"""
from __future__ import annotations

import json
import re
from importlib.metadata import entry_points

import pytest
import requests
import responses
from marshmallow import fields
from marshmallow import validate

from jsonschema import Draft202012Validator
from marshmallow import RAISE

from atom.integrations.base import Integration
from atom.integrations.catalogue import describe
from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.manifest import Poll
from atom.integrations.webhooks import SCHEMES
from atom.integrations.errors import IntegrationError
from atom.integrations.manifest import Manifest
from atom.integrations.registry import GROUP
from atom.integrations.registry import discover
from atom.integrations.vault import mask_credentials
from atom.state import get_state

ENTRY_POINTS = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
FAKE = "http://127.0.0.1:9499"
ANY = re.compile(r"http://127\.0\.0\.1:9499/.*")


OAUTH_FIELDS = frozenset(OAuth2Tokens().fields)


def sample(schema_cls, scheme=None) -> dict:
    """Plausible values for every field of a credentials schema.

    With the manifest's auth ``scheme``, the credentials of its static kind (no OAuth2
    tokens), or for an OAuth2-only scheme an access token without a refresh token.
    """
    values = {}
    skip = set()
    if scheme is not None:
        skip = set(OAUTH_FIELDS) - ({"access_token"} if scheme.kind == "oauth2"
                                    or scheme.secret == "access_token" else set())
    for name, field in schema_cls().fields.items():
        if name in skip:
            continue
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
            manifest.auth.fields().load(sample(manifest.auth.fields, manifest.auth)))


def test_the_manifest_is_complete(manifest):
    assert manifest.display_name and manifest.description
    assert manifest.aliases, "plain-English aliases are needed by the text-to-workflow parser"
    assert len(manifest.actions) >= 4
    assert manifest.rate_limit.per_second > 0 and manifest.rate_limit.burst >= 1
    for action in manifest.actions:
        assert re.match(r"^[a-z]+(_[a-z]+)*$", action.name), action.name
        action.input()  # the schema instantiates
    for trigger in manifest.triggers:
        assert trigger.sample, f"{trigger.name} has no sample payload"
    assert manifest.triggers, "every plugin emits at least one event"
    assert manifest.contract is not None, "say what the plugin is tested against"
    assert manifest.contract.source in ("openapi", "graphql", "fake", "moto")
    if manifest.contract.source != "fake":
        assert manifest.contract.file, "a spec or schema contract names its file"


def test_auth_is_declared_once_in_the_manifest(manifest):
    scheme = manifest.auth
    declared = set(scheme.fields().fields)
    assert scheme.applied_fields() <= declared
    # Every field the scheme sends is secret, so it is encrypted, masked and redacted.
    assert scheme.applied_fields() <= manifest.secret_fields() | {
        scheme.username} - {None}, "a credential the scheme sends is not flagged secret"
    if scheme.kind == "oauth2" or scheme.oauth2 is not None:
        assert scheme.oauth2 is not None
        assert {"access_token", "refresh_token"} <= declared
        assert {"access_token", "refresh_token"} <= manifest.secret_fields()
    if manifest.webhook is not None:
        assert manifest.webhook.scheme in SCHEMES
        assert manifest.webhook.secret_field in declared


def test_no_plugin_builds_its_own_auth(manifest):
    plugin = discover([(manifest.slug, next(e for e in ENTRY_POINTS if e.name == manifest.slug))],
                      strict=True).get(manifest.slug)
    assert plugin.integration_class.auth is Integration.auth, \
        "declare the auth in the manifest (a custom signer if need be)"


def test_every_action_has_an_output_schema_and_an_example_its_input_accepts(manifest):
    for action in manifest.actions:
        Draft202012Validator.check_schema(dict(action.output))
        assert action.output.get("type") == "object", f"{action.name}: output is an object"
        assert action.output.get("properties"), f"{action.name}: output names its fields"
        assert action.example, f"{action.name} has no example"
        action.input(unknown=RAISE).load(dict(action.example))


def test_every_trigger_says_how_it_is_delivered_and_its_sample_fits(manifest):
    for trigger in manifest.triggers:
        Draft202012Validator.check_schema(dict(trigger.payload))
        errors = list(Draft202012Validator(dict(trigger.payload)).iter_errors(dict(trigger.sample)))
        assert not errors, f"{trigger.name}: sample does not fit its payload schema: {errors[0].message}"
        assert trigger.words, f"{trigger.name}: give the words people use for it"
        if isinstance(trigger.delivery, Poll):
            assert trigger.delivery.cursor and trigger.delivery.item_id
            assert trigger.delivery.interval_s >= 5
            assert _lookup(trigger.sample, trigger.delivery.item_id) is not None, \
                f"{trigger.name}: the sample lacks the item id {trigger.delivery.item_id!r}"
        else:
            assert manifest.webhook is not None, f"{trigger.name} is a webhook without a scheme"


def test_words_for_people_are_data(manifest):
    words = [*manifest.aliases, *(w for a in manifest.actions for w in a.words)]
    assert all(isinstance(w, str) and w.strip() == w and w for w in words)
    missing = [a.name for a in manifest.actions if not a.words]
    assert not missing, f"actions without the words people use for them: {missing}"


def _lookup(payload, path: str):
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def test_the_catalogue_entry_has_json_schemas(manifest):
    entry = describe(manifest)
    for action in entry["actions"]:
        assert action["input_schema"]["type"] == "object"
        assert action["input_schema"]["example"] == action["example"]
        assert "$ref" not in json.dumps(action["input_schema"]), "the schema stands alone"
        errors = list(Draft202012Validator(action["input_schema"]).iter_errors(action["example"]))
        assert not errors, f"{action['name']}: the example does not fit the shown input schema"
        assert action["output_schema"]["type"] == "object"
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
