"""What the OpenAI actions send and return, against OpenAI faked at the HTTP seam with real
answer shapes: placeholders, JSON mode, summaries, and classify_text choosing exactly one label
(Prism's placeholder answers cannot exercise that)."""
from __future__ import annotations

import json

import pytest

from tests.plugins.openai.conftest import KEY
from tests.plugins.openai.conftest import OPENAI
from tests.plugins.openai.conftest import chat_answer


def sent(fake) -> dict:
    return json.loads(fake.calls[-1].request.body)


def test_chat_completion_fills_placeholders_and_returns_text_and_usage(
        fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer("Hi Dana, sorry!"))
    r = run_action(openai_connection({"organization": "org-acme", "project": "proj_x1"}),
                   "chat_completion",
                   {"prompt": "Reply to {name} about {topic}; keep {this} as is",
                    "system": "You help {name}.", "variables": {"name": "Dana", "topic": 3}})
    assert r.status_code == 200, r.get_json()
    body = sent(fake_openai)
    assert body["messages"] == [
        {"role": "system", "content": "You help Dana."},
        {"role": "user", "content": "Reply to Dana about 3; keep {this} as is"}]
    assert body["model"] == "gpt-4o-mini"
    request = fake_openai.calls[-1].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["OpenAI-Organization"] == "org-acme"
    assert request.headers["OpenAI-Project"] == "proj_x1"
    assert "Idempotency-Key" not in request.headers
    out = r.get_json()["output"]
    assert (out["text"], out["finish_reason"]) == ("Hi Dana, sorry!", "stop")
    assert out["usage"] == {"input_tokens": 19, "output_tokens": 10, "total_tokens": 29}


def test_json_mode_asks_for_json_and_parses_the_answer(fake_openai, openai_connection,
                                                       run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer('{"priority": "high"}'))
    r = run_action(openai_connection({"default_model": "gpt-4.1"}), "chat_completion",
                   {"prompt": "Rate this ticket", "response_format": "json",
                    "max_output_tokens": 30, "temperature": 0})
    body = sent(fake_openai)
    assert body["response_format"] == {"type": "json_object"}
    assert "JSON" in body["messages"][0]["content"]  # JSON mode needs the word in the messages
    assert (body["model"], body["max_completion_tokens"], body["temperature"]) == ("gpt-4.1", 30, 0)
    assert r.get_json()["output"]["json"] == {"priority": "high"}


def test_create_response_extracts_output_text(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/responses", json={
        "id": "resp_1", "object": "response", "status": "incomplete", "model": "gpt-4o-mini",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "reasoning", "id": "rs_1", "summary": []},
                   {"type": "message", "id": "msg_1", "role": "assistant", "content": [
                       {"type": "output_text", "text": "Your order ", "annotations": []},
                       {"type": "output_text", "text": "shipped", "annotations": []}]}],
        "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}})
    r = run_action(openai_connection(), "create_response",
                   {"prompt": "Subject for {b}", "variables": {"b": "x"}, "system": "Short",
                    "background": True})
    body = sent(fake_openai)
    assert body == {"model": "gpt-4o-mini", "input": "Subject for x", "instructions": "Short",
                    "background": True}
    out = r.get_json()["output"]
    assert (out["text"], out["status"], out["finish_reason"]) == (
        "Your order shipped", "incomplete", "max_output_tokens")


def test_summarize_sends_the_text_with_summary_instructions(fake_openai, openai_connection,
                                                           run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer("- Launch: 14 Oct"))
    r = run_action(openai_connection(), "summarize_text",
                   {"text": "Launch moves to 14 October.", "max_words": 30, "style": "bullets"})
    messages = sent(fake_openai)["messages"]
    assert "30 words" in messages[0]["content"] and "bulleted" in messages[0]["content"]
    assert messages[1] == {"role": "user", "content": "Launch moves to 14 October."}
    assert r.get_json()["output"]["text"] == "- Launch: 14 Oct"


@pytest.mark.parametrize("answer, label", [
    ('{"label": "bug"}', "bug"),
    ('{"label": "Feature request"}', "feature request"),
    ("billing", "billing"),
    (' "Billing". ', "billing"),
])
def test_classify_returns_exactly_one_of_the_labels(fake_openai, openai_connection, run_action,
                                                     answer, label):
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer(answer))
    r = run_action(openai_connection(), "classify_text",
                   {"text": "The app crashes", "labels": ["billing", "bug", "feature request"]})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["label"], out["matched"]) == (label, True)
    body = sent(fake_openai)
    schema = body["response_format"]["json_schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["strict"] is True
    assert schema["schema"]["properties"]["label"]["enum"] == ["billing", "bug",
                                                               "feature request"]
    assert body["temperature"] == 0
    assert body["messages"][1] == {"role": "user", "content": "The app crashes"}


def test_an_answer_outside_the_labels_fails_clearly(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer('{"label": "urgent"}'))
    r = run_action(openai_connection(), "classify_text",
                   {"text": "x", "labels": ["billing", "bug"]})
    assert r.status_code == 502
    message = r.get_json()["message"]
    assert "'{\"label\": \"urgent\"}'" in message and "billing, bug" in message
    assert "fallback_label" in message
    assert len(fake_openai.calls) == 1


def test_a_refusal_uses_the_fallback_label(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions",
                     json=chat_answer(None, refusal="I can't help with that."))
    r = run_action(openai_connection(), "classify_text",
                   {"text": "x", "labels": ["billing", "other"], "fallback_label": "other"})
    out = r.get_json()["output"]
    assert (out["label"], out["matched"], out["refusal"]) == ("other", False,
                                                              "I can't help with that.")


@pytest.mark.parametrize("given, field", [
    ({"text": "x", "labels": ["a"]}, "labels"),
    ({"text": "x", "labels": ["a", " A "]}, "labels"),
    ({"text": "x", "labels": ["a", "b"], "fallback_label": "c"}, "fallback_label"),
])
def test_bad_labels_are_refused_before_any_call(fake_openai, openai_connection, run_action,
                                                given, field):
    r = run_action(openai_connection(), "classify_text", given)
    assert r.status_code == 422 and field in r.get_json()["errors"]
    assert not fake_openai.calls


def test_embeddings_keep_the_input_order(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/embeddings", json={
        "object": "list", "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 1, "embedding": [0.3, 0.4]},
                 {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "usage": {"prompt_tokens": 8, "total_tokens": 8}})
    r = run_action(openai_connection(), "embeddings", {"input": ["a", "b"], "dimensions": 2})
    assert sent(fake_openai) == {"model": "text-embedding-3-small", "input": ["a", "b"],
                                 "dimensions": 2}
    out = r.get_json()["output"]
    assert out["embeddings"] == [[0.1, 0.2], [0.3, 0.4]]
    assert (out["count"], out["dimensions"]) == (2, 2)


@pytest.mark.parametrize("bad", [[], [""], [1], "", {"a": 1}])
def test_embedding_input_is_checked(fake_openai, openai_connection, run_action, bad):
    r = run_action(openai_connection(), "embeddings", {"input": bad})
    assert r.status_code == 422 and "input" in r.get_json()["errors"]


def test_moderation_lists_the_flagged_categories(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/moderations", json={
        "id": "modr-1", "model": "omni-moderation-latest",
        "results": [{"flagged": True, "categories": {"harassment": True, "violence": False},
                     "category_scores": {"harassment": 0.91, "violence": 0.02}}]})
    out = run_action(openai_connection(), "moderation", {"input": "you idiot"}).get_json()["output"]
    assert out["flagged"] is True
    assert out["results"][0]["categories"] == ["harassment"]


def test_a_response_id_cannot_leave_the_path(fake_openai, openai_connection, run_action):
    r = run_action(openai_connection(), "get_response", {"response_id": "resp_../../files"})
    assert r.status_code == 422 and "response_id" in r.get_json()["errors"]
    assert not fake_openai.calls


def test_the_api_key_is_never_in_an_output(fake_openai, openai_connection, run_action):
    fake_openai.post(f"{OPENAI}/chat/completions", json=chat_answer(f"your key is {KEY}"))
    r = run_action(openai_connection(), "chat_completion", {"prompt": "echo"})
    assert KEY not in r.get_data(as_text=True)
