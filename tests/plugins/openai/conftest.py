"""Fixtures of the OpenAI plugin tests: connections, and OpenAI faked at the HTTP seam
(``responses``) for what Prism cannot give (real answers, errors, rate-limit headers)."""
from __future__ import annotations

import pytest
import responses

OPENAI = "https://api.openai.com/v1"
KEY = "sk-proj-test0123456789abcdefghijklmnop"
# The Standard Webhooks secret of the spec's published example.
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def chat_answer(content, finish_reason="stop", refusal=None) -> dict:
    """A chat completion as OpenAI answers it (API reference, "The chat completion object")."""
    return {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion",
            "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": refusal, "annotations": []}}],
            "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}}


def error(message: str, type_: str, param=None, code=None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@pytest.fixture
def fake_openai():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def openai_connection(create_connection):
    def make(settings: dict | None = None, **credentials: str) -> dict:
        return create_connection("openai", {"max_attempts": 3, **(settings or {})},
                                 {"api_key": KEY, **credentials})

    return make
