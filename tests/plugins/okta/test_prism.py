"""The health check and every action against Prism serving Okta's management OpenAPI
description; every request is checked for request ``sl-violations``."""
from __future__ import annotations

import pytest

from plugins.okta.manifest import MANIFEST
from tests.plugins.conftest import assert_all_accepted
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

CASES = {
    "create_user": ({"profile": {"firstName": "Isaac", "lastName": "Brock",
                                 "email": "isaac.brock@example.com", "costCenter": "R&D"},
                     "activate": False, "group_ids": ["00g1emaKYZTWRYYRRTSK"]},
                    {"id": "00ub0oNGTSWTBKOLGLNR", "status": "STAGED",
                     "group_ids": ["00g1emaKYZTWRYYRRTSK"]}),
    "get_user": ({"user_id": "isaac.brock@example.com"}, {"id": "00ub0oNGTSWTBKOLGLNR"}),
    "deactivate_user": ({"user_id": "00ub0oNGTSWTBKOLGLNR", "send_email": True},
                        {"status": "DEPROVISIONED"}),
    "add_user_to_group": ({"group_id": "00g1emaKYZTWRYYRRTSK", "user_id": "00ub0oNGTSWTBKOLGLNR"},
                          {"member": True}),
    "remove_user_from_group": ({"group_id": "00g1emaKYZTWRYYRRTSK",
                                "user_id": "00ub0oNGTSWTBKOLGLNR"}, {"member": False}),
    "list_users": ({"filter": "status eq \"ACTIVE\"", "max_items": 5}, {}),
    "list_groups": ({"search": "type eq \"OKTA_GROUP\"", "max_items": 5}, {}),
}


@pytest.fixture
def prism_url(prism):
    return prism("okta")


@pytest.fixture
def prism_okta(prism_url, okta_connection):
    return okta_connection({"base_url": prism_url + "/api/v1", "max_attempts": 1,
                            "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_okta, sent_to_prism, check_connection):
    assert check_connection(prism_okta).get_json()["ok"] is True
    (call,) = sent_to_prism
    assert_prism_accepted(call.response)
    assert call.request.headers["Authorization"].startswith("SSWS ")


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_okta, sent_to_prism, run_action, action):
    given, expected = CASES[action]
    r = run_action(prism_okta, action, given)
    assert r.status_code == 200, r.get_json()
    assert_all_accepted(sent_to_prism)
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected


def test_the_check_catches_a_request_the_spec_rejects(prism_url):
    """A control: a user without a profile is a request violation."""
    import requests

    bad = requests.post(f"{prism_url}/api/v1/users", json={"groupIds": ["x"]},
                        headers={"Authorization": "SSWS x"}, timeout=10)
    with pytest.raises(AssertionError, match="profile"):
        assert_prism_accepted(bad)


def test_prisms_429_is_a_rate_limit(prism_url, okta_connection, live):
    from atom.integrations.errors import RateLimited

    integ = live(okta_connection({"base_url": prism_url + "/api/v1", "max_attempts": 1}))
    with pytest.raises(RateLimited, match="E0000047"):
        integ.http.get("users", headers={"Prefer": "code=429"})
