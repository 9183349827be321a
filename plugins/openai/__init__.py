"""OpenAI: the "AI step" of a workflow (draft, summarise, classify text from earlier steps),
embeddings and moderation; background responses signalled by OpenAI's project webhooks.

Vendor references used:
- API reference and the OpenAPI description: https://platform.openai.com/docs/api-reference
  (openai/openai-openapi, ``shared/specs/openai.json``): chat completions, responses,
  embeddings, moderations, models.
- Errors: https://platform.openai.com/docs/guides/error-codes (``{"error": {"message", "type",
  "param", "code"}}``; 429 ``rate_limit_exceeded`` vs ``insufficient_quota``).
- Rate limits: https://platform.openai.com/docs/guides/rate-limits (``x-ratelimit-*`` headers,
  resets as durations such as ``6m0s``).
- Structured outputs: https://platform.openai.com/docs/guides/structured-outputs
  (``response_format: {"type": "json_schema", ...}`` with ``strict: true``).
- Webhooks: https://platform.openai.com/docs/guides/webhooks (Standard Webhooks signatures;
  openai/openai-python ``src/openai/resources/webhooks.py``).
"""
