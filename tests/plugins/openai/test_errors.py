"""OpenAI's errors as users see them: the field named from ``param``, 429 with Retry-After or
x-ratelimit-* resets, insufficient_quota never retried, generations not retried after a 5xx,
and the rate-limit headers feeding the connection's bucket."""
from __future__ import annotations

import pytest
import requests

from plugins.openai.integration import duration
from tests.plugins.openai.conftest import OPENAI
from tests.plugins.openai.conftest import chat_answer
from tests.plugins.openai.conftest import error

CHAT = {"prompt": "hi"}


@pytest.mark.parametrize("value, seconds", [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02),
                                            ("1h2m3.5s", 3723.5), ("0.5", 0.5),
                                            ("soon", None), ("", None), ("5x", None)])
def test_reset_durations(value, seconds):
    assert duration(value) == seconds


def test_a_400_names_our_field(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", status=400, json=error(
        "Invalid 'max_completion_tokens': integer below minimum value.",
        "invalid_request_error", "max_completion_tokens", "integer_below_min_value"))
    r = run_action(openai_connection(), "chat_completion", CHAT)
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == ["max_output_tokens"]
    assert len(fake_openai.calls) == 1


def test_a_convenience_action_names_its_own_input(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", status=400, json=error(
        "This model's maximum context length is 128000 tokens.", "invalid_request_error",
        "messages", "context_length_exceeded"))
    r = run_action(openai_connection(), "summarize_text", {"text": "long"})
    assert list(r.get_json()["errors"]) == ["text"]


def test_an_unknown_model_names_model(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", status=404, json=error(
        "The model `gpt-9` does not exist or you do not have access to it.",
        "invalid_request_error", None, "model_not_found"))
    r = run_action(openai_connection(), "chat_completion", {**CHAT, "model": "gpt-9"})
    assert r.status_code == 422 and "model" in r.get_json()["errors"]


def test_a_bad_key_is_an_auth_error(fake_openai, openai_connection, check_connection):
    fake_openai.get(f"{OPENAI}/models", status=401, json=error(
        "Incorrect API key provided: sk-proj-****mnop.", "invalid_request_error", None,
        "invalid_api_key"))
    result = check_connection(openai_connection()).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(fake_openai.calls) == 1


def test_429_waits_for_retry_after_then_succeeds(fake_openai, openai_connection, run_action,
                                                 sleeps):
    fake_openai.post(f"{OPENAI}/chat/completions", status=429, headers={"Retry-After": "2"},
                     json=error("Rate limit reached for gpt-4o-mini on requests per min",
                                "requests", None, "rate_limit_exceeded"))
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer("ok"))
    r = run_action(openai_connection(), "chat_completion", CHAT)
    assert r.status_code == 200
    assert len(fake_openai.calls) == 2
    assert any(2.0 <= s <= 2.3 for s in sleeps)


def test_429_without_retry_after_waits_for_the_reset(fake_openai, openai_connection,
                                                     run_action, sleeps):
    fake_openai.post(f"{OPENAI}/chat/completions", status=429, json=error(
        "Rate limit reached for gpt-4o-mini on tokens per min", "tokens", None,
        "rate_limit_exceeded"), headers={"x-ratelimit-remaining-requests": "40",
                                         "x-ratelimit-remaining-tokens": "0",
                                         "x-ratelimit-reset-tokens": "6s"})
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer("ok"))
    assert run_action(openai_connection(), "chat_completion", CHAT).status_code == 200
    assert any(6.0 <= s <= 6.7 for s in sleeps)


def test_insufficient_quota_is_permanent_and_not_retried(fake_openai, openai_connection,
                                                         run_action, sleeps):
    fake_openai.post(f"{OPENAI}/chat/completions", status=429, headers={"Retry-After": "1"},
                     json=error("You exceeded your current quota, please check your plan and "
                                "billing details.", "insufficient_quota", None,
                                "insufficient_quota"))
    r = run_action(openai_connection(), "chat_completion", CHAT)
    body = r.get_json()
    assert (r.status_code, body["code"]) == (502, "upstream")
    assert "not retried" in body["message"]
    assert len(fake_openai.calls) == 1 and not sleeps


def test_a_generation_is_not_retried_after_a_5xx(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", status=500, json=error(
        "The server had an error while processing your request.", "server_error"))
    r = run_action(openai_connection(), "chat_completion", CHAT)
    assert r.get_json()["code"] == "upstream"
    assert len(fake_openai.calls) == 1  # it may have run (and been billed)


def test_embeddings_are_retried_after_a_5xx(fake_openai, openai_connection, run_action, sleeps):
    fake_openai.post(f"{OPENAI}/embeddings", status=503, json=error("overloaded", "server_error"))
    fake_openai.post(f"{OPENAI}/embeddings", json={"data": [{"index": 0, "embedding": [1.0]}],
                                                   "model": "m", "usage": {}})
    assert run_action(openai_connection(), "embeddings", {"input": "a"}).status_code == 200
    assert len(fake_openai.calls) == 2


def test_a_dropped_connection_is_not_retried_for_a_generation(fake_openai, openai_connection,
                                                              run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", body=requests.ConnectionError("reset"))
    assert run_action(openai_connection(), "chat_completion", CHAT).get_json()["code"] == "upstream"
    assert len(fake_openai.calls) == 1


def test_rate_limit_headers_feed_the_bucket(fake_openai, openai_connection, live):
    fake_openai.get(f"{OPENAI}/models", json={"data": []}, headers={
        "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms", "x-ratelimit-remaining-tokens": "199000",
        "x-ratelimit-reset-tokens": "6m0s"})
    integ = live(openai_connection())
    response = integ.http.get("models")
    assert integ.parse_rate_limit(response) == (499, 0.12)
    response.headers["x-ratelimit-remaining-tokens"] = "0"
    assert integ.parse_rate_limit(response) == (0, 360.0)
