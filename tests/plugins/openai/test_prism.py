"""The health check and every action against Prism serving OpenAI's OpenAPI description: each
request the client sends is checked for request ``sl-violations`` (Prism answers 422 for a
body the spec rejects, its own problem+json without the header, so the status is checked too)."""
from __future__ import annotations

import pytest

from plugins.openai.manifest import MANIFEST
from tests.plugins.conftest import assert_all_accepted
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

CASES = {
    "chat_completion": ({"prompt": "Hi {name}", "variables": {"name": "Dana"},
                         "system": "Be brief", "model": "gpt-4o-mini", "temperature": 0.2,
                         "max_output_tokens": 50, "response_format": "json"},
                        {"text": "string", "json": None, "finish_reason": "stop"}),
    "create_response": ({"prompt": "Hi", "system": "Be brief", "max_output_tokens": 50,
                         "temperature": 1.0, "response_format": "json", "background": True,
                         "previous_response_id": "resp_abc123"},
                        {"status": "completed", "finish_reason": "stop"}),
    "get_response": ({"response_id": "resp_abc123"}, {"status": "completed"}),
    "summarize_text": ({"text": "A long email.", "style": "one_line", "max_words": 20,
                        "focus": "dates", "language": "French"}, {"text": "string"}),
    "classify_text": ({"text": "Charged twice", "labels": ["billing", "bug"],
                       "fallback_label": "bug", "instructions": "billing: money"},
                      {"label": "bug", "matched": False}),
    "embeddings": ({"input": "hello", "dimensions": 8}, {"count": 1}),
    "moderation": ({"input": ["a", "b"], "model": "omni-moderation-latest"}, {"flagged": True}),
}


@pytest.fixture
def prism_url(prism):
    return prism("openai")


@pytest.fixture
def prism_openai(prism_url, openai_connection):
    return openai_connection({"base_url": prism_url, "max_attempts": 1,
                              "organization": "org-contract", "project": "proj_contract",
                              "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_openai, sent_to_prism, check_connection):
    assert check_connection(prism_openai).get_json()["ok"] is True
    (call,) = sent_to_prism
    assert_prism_accepted(call.response)
    assert call.request.headers["OpenAI-Organization"] == "org-contract"
    assert call.request.headers["OpenAI-Project"] == "proj_contract"


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_openai, sent_to_prism, run_action, action):
    given, expected = CASES[action]
    r = run_action(prism_openai, action, given)
    assert r.status_code == 200, r.get_json()
    assert_all_accepted(sent_to_prism)
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected


def test_the_check_catches_a_request_the_spec_rejects(prism_url):
    """A control: a chat body without messages gets Prism's 422 (no 2xx)."""
    import requests

    bad = requests.post(f"{prism_url}/chat/completions", json={"model": "gpt-4o-mini"},
                        headers={"Authorization": "Bearer x"}, timeout=10)
    assert bad.status_code == 422


def test_prisms_429_is_retried_after_its_retry_after(prism_url, openai_connection, live,
                                                     sleeps):
    """The spec's TooManyRequests response carries Retry-After: 1."""
    from atom.integrations.errors import RateLimited

    integ = live(openai_connection({"base_url": prism_url, "max_attempts": 2}))
    with pytest.raises(RateLimited):
        integ.http.post("chat/completions", headers={"Prefer": "code=429"},
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user",
                                                                    "content": "hi"}]})
    assert sleeps and 1.0 <= sleeps[0] <= 1.2  # the server's wait plus jitter
