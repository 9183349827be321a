"""OpenAI API: chat completions, responses, embeddings, moderation, and the text steps built on
them (summarise, classify); background-response webhooks.

See the package docstring for the vendor pages. OpenAI documents no idempotency key for
generations, so the client never retries a generation that may have run (a 5xx or a dropped
connection after sending): only a 429, which OpenAI did not process, is retried. Embeddings and
moderation have no side effect and are retried as reads.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any
from typing import Iterator
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.webhooks import WebhookRequest
from plugins.openai import payloads

DEFAULT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
MODERATION_MODEL = "omni-moderation-latest"
# "1s", "6m0s", "20ms", "1h2m3.5s": the reset durations of the x-ratelimit-reset-* headers.
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# OpenAI's ``param`` (root of "messages[0].content", "text.format") -> our input field.
_PARAMS = {"messages": "prompt", "prompt": "prompt", "instructions": "system",
           "max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens",
           "max_output_tokens": "max_output_tokens", "response_format": "response_format",
           "text": "response_format", "model": "model", "temperature": "temperature",
           "dimensions": "dimensions", "previous_response_id": "previous_response_id",
           "background": "background"}
# Webhook event types -> triggers (https://platform.openai.com/docs/api-reference/webhook-events).
EVENTS = {"response.completed": "response_completed", "response.failed": "response_failed",
          "response.incomplete": "response_failed", "response.cancelled": "response_failed",
          "batch.completed": "batch_completed"}


def duration(value: str | None) -> float | None:
    """Seconds in an OpenAI reset duration (``6m0s``, ``20ms``, or a bare number of seconds)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _count(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _error(response: requests.Response) -> dict[str, Any]:
    error = json_or_empty(response).get("error")
    return error if isinstance(error, dict) else {}


def _field(param: Any, path: str) -> str:
    """Our input field for OpenAI's ``param``; ``input`` is the prompt on /responses."""
    if not isinstance(param, str) or not param:
        return "_request"
    root = re.split(r"[.\[]", param, maxsplit=1)[0]
    if root == "input":
        return "prompt" if path.endswith("/responses") else "input"
    return _PARAMS.get(root, root[:60])


class OpenAIIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        """``OpenAI-Organization`` / ``OpenAI-Project`` from the settings (keys that belong to
        several organisations or projects; https://platform.openai.com/docs/api-reference/authentication)."""
        settings = self.connection.settings
        headers = {}
        if settings.get("organization"):
            headers["OpenAI-Organization"] = settings["organization"]
        if settings.get("project"):
            headers["OpenAI-Project"] = settings["project"]
        return headers

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """``x-ratelimit-remaining-requests`` and its ``-reset-requests`` duration; when the
        token budget is spent (``x-ratelimit-remaining-tokens: 0``) its reset wins."""
        headers = response.headers
        tokens = _count(headers.get("x-ratelimit-remaining-tokens"))
        if tokens == 0:
            return 0, duration(headers.get("x-ratelimit-reset-tokens"))
        left = _count(headers.get("x-ratelimit-remaining-requests"))
        if left is None:
            return None, None
        return left, duration(headers.get("x-ratelimit-reset-requests"))

    def raise_for_response(self, response: requests.Response) -> None:
        """OpenAI's ``{"error": {"message", "type", "param", "code"}}`` by status: 400/422 name
        the field (``param``), 404 an unknown model, 401/403 auth, 429 a rate limit except
        ``insufficient_quota`` (billing: permanent, never retried), 5xx transient."""
        status = response.status_code
        if status < 400:
            return
        error = _error(response)
        code = str(error.get("code") or error.get("type") or "")
        text = str(error.get("message") or snippet(response))[:500]
        message = f"OpenAI answered {status}{f' ({code})' if code else ''}: {text}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None and response.headers.get("retry-after-ms"):
            ms = _count(response.headers["retry-after-ms"].split(".")[0])
            retry_after = ms / 1000.0 if ms is not None else None
        path = urlsplit(response.request.url or "").path if response.request is not None else ""
        if status == 429:
            if code == "insufficient_quota":
                raise UpstreamError(f"{message} — the account is out of credit or over its "
                                    "monthly budget: not retried (add credit or raise the "
                                    "project's limit)", status=status, permanent=True)
            if retry_after is None:
                _, retry_after = self.parse_rate_limit(response)
            raise RateLimited(message, status=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status in (400, 422):
            raise ValidationFailed(message, status=status,
                                   details={_field(error.get("param"), path): [text]})
        if status == 404:
            name = "model" if code == "model_not_found" else _field(error.get("param"), path)
            raise ValidationFailed(message, status=status, details={name: [text]})
        if status in (408, 409) or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        models = json_or_empty(self.http.get("models", operation="health")).get("data")
        if not isinstance(models, list):
            raise UpstreamError("GET /models answered without a model list; is base_url "
                                "OpenAI's API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def chat_completion(self, data: dict[str, Any]) -> dict[str, Any]:
        prompt, system = self._prompt(data)
        body = payloads.chat_body(self._model(data), prompt, system, data)
        return payloads.chat(self._post("chat/completions", body, "chat_completion"),
                             json_mode=data.get("response_format") == "json")

    def create_response(self, data: dict[str, Any]) -> dict[str, Any]:
        prompt, system = self._prompt(data)
        body = payloads.responses_body(self._model(data), prompt, system, data)
        return payloads.response(self._post("responses", body, "create_response"),
                                 json_mode=data.get("response_format") == "json")

    def get_response(self, data: dict[str, Any]) -> dict[str, Any]:
        body = json_or_empty(self.http.get(f"responses/{quote(data['response_id'], safe='')}",
                                           operation="get_response"))
        return payloads.response(body)

    def embeddings(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"model": data.get("model") or EMBEDDING_MODEL, "input": data["input"]}
        if data.get("dimensions"):
            body["dimensions"] = data["dimensions"]
        return payloads.embeddings(self._post("embeddings", body, "embeddings", idempotent=True))

    def moderation(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"model": data.get("model") or MODERATION_MODEL, "input": data["input"]}
        return payloads.moderation(self._post("moderations", body, "moderation",
                                              idempotent=True))

    def summarize_text(self, data: dict[str, Any]) -> dict[str, Any]:
        """A chat completion with summarising instructions; the summary is ``text``."""
        shape = {"paragraph": "one paragraph", "bullets": "a bulleted list (one '- ' per line)",
                 "one_line": "a single sentence"}[data["style"]]
        system = (f"Summarise the user's text as {shape} of at most {data['max_words']} words. "
                  "Keep names, numbers, dates and decisions exactly as written; add nothing "
                  "that is not in the text. Answer with the summary only.")
        if data.get("focus"):
            system += f" Focus on: {data['focus']}."
        if data.get("language"):
            system += f" Write it in {data['language']}."
        body = payloads.chat_body(self._model(data), data["text"], system, data)
        with _renamed({"prompt": "text"}):
            return payloads.chat(self._post("chat/completions", body, "summarize_text"))

    def classify_text(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exactly one of ``labels``: asked for with a strict JSON schema whose ``label`` is an
        enum of them (structured outputs), then checked here, since a model without structured
        outputs or a refusal can still answer something else: that is an error naming the
        labels, unless ``fallback_label`` is given."""
        labels = data["labels"]
        system = ("Classify the user's text. Choose exactly one label from this list and "
                  "answer with it as the label field: " + "; ".join(labels) + ".")
        if data.get("instructions"):
            system += f"\n\nHow to choose: {data['instructions']}"
        settings = {**data, "temperature": data.get("temperature", 0)}
        body = payloads.chat_body(self._model(data), data["text"], system, settings,
                                  response_format=payloads.label_schema(labels))
        with _renamed({"prompt": "text", "response_format": "model"}):
            out = payloads.chat(self._post("chat/completions", body, "classify_text"))
        label = payloads.match_label(out["text"], labels)
        matched = label is not None
        if label is None:
            if data.get("fallback_label") is None:
                said = out["refusal"] if out["text"] is None and out["refusal"] else out["text"]
                raise UpstreamError(
                    f"the model answered {str(said)[:200]!r}, which is none of the labels "
                    f"({', '.join(labels)[:300]}); give fallback_label to use one instead",
                    permanent=True)
            label = data["fallback_label"]
        return {**out, "label": label, "matched": matched, "labels": labels}

    # -- webhooks --------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery (``{"id": "evt_...", "type": "response.completed", "data":
        {"id": "resp_..."}}``): a signal; get_response fetches the result. Deduplicated by the
        event id (``webhook-id`` when the body has none)."""
        if not isinstance(payload, dict):
            return []
        name = EVENTS.get(str(payload.get("type")))
        if name is None:
            return []
        delivery = str(payload.get("id") or req.headers.get("webhook-id") or "")
        return [InboundEvent(name, delivery, payload)] if delivery else []

    # -- helpers ---------------------------------------------------------------------------

    def _model(self, data: dict[str, Any]) -> str:
        return data.get("model") or self.connection.settings.get("default_model") \
            or DEFAULT_MODEL

    @staticmethod
    def _prompt(data: dict[str, Any]) -> tuple[str, str | None]:
        variables = data.get("variables")
        return payloads.fill(data["prompt"], variables), payloads.fill(data.get("system"),
                                                                      variables)

    def _post(self, path: str, body: dict[str, Any], operation: str,
              idempotent: bool | None = None) -> dict[str, Any]:
        answer = json_or_empty(self.http.post(path, json=body, operation=operation,
                                              idempotent=idempotent))
        if not answer:
            raise UpstreamError(f"OpenAI answered {operation} without a body", permanent=True)
        return answer


@contextmanager
def _renamed(names: dict[str, str]) -> Iterator[None]:
    """Name the inputs of a convenience action (its ``text``) in validation errors."""
    try:
        yield
    except ValidationFailed as exc:
        exc.details = {names.get(k, k): v for k, v in exc.details.items()}
        raise
