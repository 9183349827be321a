"""Request bodies and output shapes of the OpenAI plugin (pure functions over JSON).

Chat Completions: https://platform.openai.com/docs/api-reference/chat/create (``choices[0].
message.content``, ``finish_reason``, ``usage.prompt_tokens``/``completion_tokens``).
Responses: https://platform.openai.com/docs/api-reference/responses/create (``output[]`` items of
type ``message`` whose ``content[]`` parts of type ``output_text`` make the SDKs' ``output_text``;
``status``, ``incomplete_details.reason``, ``usage.input_tokens``/``output_tokens``).
"""
from __future__ import annotations

import json
import re
from typing import Any

from atom.integrations.helpers import compact

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
JSON_HINT = "Answer with one JSON object."


def fill(template: str | None, variables: dict[str, Any] | None) -> str | None:
    """``template`` with each ``{name}`` that ``variables`` defines replaced by its value; other
    braces (a JSON example in the prompt) stay as they are. Replacements are not re-scanned."""
    if template is None or not variables:
        return template

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            return match.group(0)
        given = variables[name]
        if given is None:
            return ""
        if isinstance(given, bool):
            return "true" if given else "false"
        return str(given)

    return _PLACEHOLDER.sub(value, template)


def _wants_json_hint(system: str | None, prompt: str) -> bool:
    # OpenAI's JSON mode refuses a request whose messages never mention JSON.
    return "json" not in f"{system or ''} {prompt}".lower()


def chat_body(model: str, prompt: str, system: str | None, data: dict[str, Any],
              response_format: dict[str, Any] | None = None) -> dict[str, Any]:
    """A /chat/completions body: the system message (if any) and the prompt as the user's."""
    if data.get("response_format") == "json" and response_format is None:
        response_format = {"type": "json_object"}
        if _wants_json_hint(system, prompt):
            system = f"{system}\n\n{JSON_HINT}" if system else JSON_HINT
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}]
    return compact(model=model, messages=messages, temperature=data.get("temperature"),
                   max_completion_tokens=data.get("max_output_tokens"),
                   response_format=response_format)


def responses_body(model: str, prompt: str, system: str | None,
                   data: dict[str, Any]) -> dict[str, Any]:
    """A /responses body (``instructions`` is the system prompt)."""
    text = None
    if data.get("response_format") == "json":
        text = {"format": {"type": "json_object"}}
        if _wants_json_hint(system, prompt):
            system = f"{system}\n\n{JSON_HINT}" if system else JSON_HINT
    return compact(model=model, input=prompt, instructions=system,
                   temperature=data.get("temperature"),
                   max_output_tokens=data.get("max_output_tokens"), text=text,
                   background=True if data.get("background") else None,
                   previous_response_id=data.get("previous_response_id"))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage(raw: Any) -> dict[str, int | None]:
    """Token counts under one set of names for both APIs (input, output, total)."""
    raw = raw if isinstance(raw, dict) else {}
    return {"input_tokens": _int(raw.get("input_tokens", raw.get("prompt_tokens"))),
            "output_tokens": _int(raw.get("output_tokens", raw.get("completion_tokens"))),
            "total_tokens": _int(raw.get("total_tokens"))}


def parsed_json(text: str | None) -> Any:
    """The answer as JSON when it is JSON, else None."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def chat(body: dict[str, Any], json_mode: bool = False) -> dict[str, Any]:
    """The first choice of a chat completion as the actions return it."""
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) \
        else {}
    message = first.get("message") if isinstance(first.get("message"), dict) else {}
    text = message.get("content") if isinstance(message.get("content"), str) else None
    out = {"id": body.get("id"), "model": body.get("model"), "text": text,
           "finish_reason": first.get("finish_reason"),
           "refusal": message.get("refusal") if isinstance(message.get("refusal"), str) else None,
           "usage": usage(body.get("usage"))}
    if json_mode:
        out["json"] = parsed_json(text)
    return out


def output_text(body: dict[str, Any]) -> str | None:
    """What the SDKs call ``output_text``: every output_text part of every message item."""
    parts = []
    for item in body.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "output_text" \
                    and isinstance(part.get("text"), str):
                parts.append(part["text"])
    return "".join(parts) if parts else None


def response(body: dict[str, Any], json_mode: bool = False) -> dict[str, Any]:
    """A Responses API object as the actions return it; ``finish_reason`` is ``stop`` when
    completed, the incomplete reason (``max_output_tokens``, ``content_filter``) when not."""
    status = body.get("status")
    details = body.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    text = output_text(body)
    out = {"id": body.get("id"), "model": body.get("model"), "status": status, "text": text,
           "finish_reason": reason or ("stop" if status == "completed" else status),
           "error": error.get("message") if error else None, "usage": usage(body.get("usage"))}
    if json_mode:
        out["json"] = parsed_json(text)
    return out


def match_label(answer: str | None, labels: list[str]) -> str | None:
    """The label ``answer`` names: the structured ``{"label": ...}`` answer, or the bare text;
    exactly, else ignoring case, spaces and surrounding quotes or a final full stop."""
    if answer is None:
        return None
    value: Any = parsed_json(answer)
    if isinstance(value, dict):
        value = value.get("label")
    candidate = value if isinstance(value, str) else answer
    if candidate in labels:
        return candidate
    key = candidate.strip().rstrip(".").strip().strip("\"'`").strip().casefold()
    return next((label for label in labels if label.strip().casefold() == key), None)


def label_schema(labels: list[str]) -> dict[str, Any]:
    """The structured-output format that makes the model answer exactly one label."""
    return {"type": "json_schema", "json_schema": {
        "name": "classification", "strict": True,
        "schema": {"type": "object", "properties": {"label": {"type": "string", "enum": labels}},
                   "required": ["label"], "additionalProperties": False}}}


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    data = sorted((d for d in body.get("data") or [] if isinstance(d, dict)),
                  key=lambda d: d.get("index") or 0)
    vectors = [d.get("embedding") for d in data]
    return {"embeddings": vectors, "count": len(vectors),
            "dimensions": len(vectors[0]) if vectors and isinstance(vectors[0], list) else None,
            "model": body.get("model"), "usage": usage(body.get("usage"))}


def moderation(body: dict[str, Any]) -> dict[str, Any]:
    results = []
    for r in body.get("results") or []:
        if not isinstance(r, dict):
            continue
        categories = r.get("categories") if isinstance(r.get("categories"), dict) else {}
        results.append({"flagged": bool(r.get("flagged")),
                        "categories": sorted(k for k, v in categories.items() if v is True),
                        "category_scores": r.get("category_scores") or {}})
    return {"id": body.get("id"), "model": body.get("model"),
            "flagged": any(r["flagged"] for r in results), "results": results,
            "count": len(results)}
