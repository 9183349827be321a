"""OpenAI: the AI step of a workflow (draft, summarise, classify text from earlier steps),
chat completions and responses, embeddings, moderation; background-response webhooks."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import ANY
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import NUM
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.openai import samples
from plugins.openai.schemas import ClassifyInput
from plugins.openai.schemas import EmbeddingsInput
from plugins.openai.schemas import GetResponseInput
from plugins.openai.schemas import ModerationInput
from plugins.openai.schemas import OpenAICredentials
from plugins.openai.schemas import OpenAISettings
from plugins.openai.schemas import PromptInput
from plugins.openai.schemas import ResponseInput
from plugins.openai.schemas import SummarizeInput

_USAGE = obj(input_tokens=maybe(INT), output_tokens=maybe(INT), total_tokens=maybe(INT),
             about="tokens billed for the call")
_TEXT = dict(id=maybe(STR), model=maybe(STR), text=maybe(STR), finish_reason=maybe(STR),
             usage=_USAGE)
_CHAT = obj(required=("text", "model", "finish_reason", "usage"), refusal=maybe(STR),
            json=ANY, **_TEXT,
            about="text is the answer; json the parsed answer when response_format is json "
                  "(null if it is not JSON); finish_reason stop, length, content_filter, ...")
_RESPONSE = obj(required=("id", "status", "text", "usage"), status=maybe(STR),
                error=maybe(STR), json=ANY, **_TEXT,
                about="status completed, incomplete, queued or in_progress (background), "
                      "failed; text is the output_text")
_CLASSIFIED = obj(required=("label", "matched", "model", "usage"), label=STR, matched=BOOL,
                  labels=arr(STR), refusal=maybe(STR), **_TEXT,
                  about="label is exactly one of labels; matched is false when the model's "
                        "answer was none of them and fallback_label was used")
_EMBEDDINGS = obj(required=("embeddings", "count", "model"), embeddings=arr(arr(NUM)),
                  count=INT, dimensions=maybe(INT), model=maybe(STR), usage=_USAGE,
                  about="one vector per input text, in input order")
_MODERATION = obj(required=("flagged", "results", "count"), id=maybe(STR), model=maybe(STR),
                  flagged=BOOL, count=INT,
                  results=arr(obj(flagged=BOOL, categories=arr(STR), category_scores=obj())),
                  about="flagged is true when any input is; categories lists the flagged ones")
_EVENT = obj(required=("id", "type", "data"), id=STR, object=STR, created_at=INT, type=STR,
             data=obj(required=("id",), id=STR))

_PROMPT_EXAMPLE = {"prompt": "Draft a two-sentence reply to {name}, who wrote: {message}",
                   "system": "You are a friendly support agent for Acme.",
                   "variables": {"name": "Dana", "message": "My invoice shows the wrong VAT "
                                                            "number."},
                   "model": "gpt-4o-mini", "temperature": 0.3, "max_output_tokens": 200}

MANIFEST = Manifest(
    slug="openai",
    display_name="OpenAI",
    category="ai",
    description="The AI step of a workflow: draft, summarise or classify text from earlier "
                "steps (ChatGPT models through chat completions or the Responses API), create "
                "embeddings, check text with moderation. Triggers come from OpenAI's project "
                "webhooks, which only signal background work (a background response or a batch "
                "finished): OpenAI has no events for ordinary generations, which answer at once.",
    docs_url="https://platform.openai.com/docs/api-reference",
    auth=AuthScheme(kind="bearer", fields=OpenAICredentials, secret="api_key"),
    integration="plugins.openai.integration:OpenAIIntegration",
    base_url="https://api.openai.com/v1",
    aliases=("openai", "chatgpt", "gpt", "ai", "llm", "ai step", "language model"),
    # Limits are per model and usage tier (read from the x-ratelimit-* headers at run time);
    # this only smooths bursts: tier 1 allows 500 requests a minute on gpt-4o-mini.
    rate_limit=RateLimit(per_second=5, burst=10),
    settings=OpenAISettings,
    actions=(
        Action("chat_completion", "Ask a model (chat completion)", PromptInput, _CHAT,
               example=_PROMPT_EXAMPLE,
               description="The prompt (rendered from earlier steps) as the user's message, "
                           "system as the instructions; {name} placeholders come from "
                           "variables. Not retried after it may have run (each run is billed).",
               words=("ask ai", "ask chatgpt", "generate text", "draft", "write", "prompt",
                      "chat completion", "gpt")),
        Action("create_response", "Generate a response (Responses API)", ResponseInput,
               _RESPONSE,
               example={"prompt": "Write a one-line subject for: {body}",
                        "variables": {"body": "Your order #1042 has shipped."},
                        "max_output_tokens": 60},
               description="OpenAI's newer API; background: true queues long work and the "
                           "response_completed trigger fires when it is done.",
               words=("responses api", "generate", "ai response", "background job")),
        Action("get_response", "Get a response", GetResponseInput, _RESPONSE,
               example={"response_id": "resp_67ccd3a9da748190baa7f1570fe91ac6"},
               idempotent=True, read_only=True,
               words=("get response", "fetch ai result", "response status")),
        Action("summarize_text", "Summarise text", SummarizeInput,
               obj(required=("text", "model", "usage"), **_TEXT,
                   about="text is the summary"),
               example={"text": "Hi team, the Q3 launch moves to 14 October because the "
                                "payment provider needs two more weeks. Marketing keeps the "
                                "same budget. Please update your plans by Friday. — Sam",
                        "max_words": 40, "style": "bullets", "focus": "dates and decisions"},
               description="A summary of at most max_words words, as a paragraph, bullets or "
                           "one line.",
               words=("summarise", "summarize", "summary", "tl;dr", "digest", "condense",
                      "key points")),
        Action("classify_text", "Classify text", ClassifyInput, _CLASSIFIED,
               example={"text": "I was charged twice for my subscription this month.",
                        "labels": ["billing", "bug", "feature request", "other"],
                        "instructions": "billing: charges, invoices, refunds",
                        "fallback_label": "other"},
               description="Exactly one of labels, asked for with a structured-output schema "
                           "and checked: an answer outside them fails the step unless "
                           "fallback_label is given.",
               words=("classify", "categorise", "categorize", "label", "tag", "triage",
                      "sentiment", "route")),
        Action("embeddings", "Create embeddings", EmbeddingsInput, _EMBEDDINGS,
               example={"input": ["How do I reset my password?", "Refund policy"],
                        "model": "text-embedding-3-small", "dimensions": 256},
               idempotent=True, words=("embedding", "embeddings", "vector", "vectorize",
                                       "semantic search")),
        Action("moderation", "Check text (moderation)", ModerationInput, _MODERATION,
               example={"input": "You are all idiots and I will find you."},
               idempotent=True, read_only=True,
               words=("moderate", "moderation", "content filter", "is this toxic",
                      "check for abuse")),
    ),
    triggers=(
        Trigger("response_completed", "Background response completed",
                samples.RESPONSE_COMPLETED, _EVENT,
                description="A response created with background: true finished; data.id is "
                            "the response (get_response reads it).",
                words=("ai finished", "response completed", "background response done")),
        Trigger("response_failed", "Background response failed, incomplete or cancelled",
                samples.RESPONSE_FAILED, _EVENT,
                words=("ai failed", "response failed", "response cancelled")),
        Trigger("batch_completed", "Batch completed", samples.BATCH_COMPLETED, _EVENT,
                words=("batch completed", "batch done")),
    ),
    webhook=WebhookSpec(scheme="standard_webhooks", secret_field="webhook_secret",
                        delivery_header="webhook-id"),
    contract=Contract("openapi", "openai.json"),
)
