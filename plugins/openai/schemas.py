"""Credentials, settings and action inputs of the OpenAI plugin."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

# Model ids: "gpt-4o-mini", "o3", "text-embedding-3-small", "ft:gpt-4o-mini:acme::abc123".
MODEL = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$",
                        error="an OpenAI model id, such as gpt-4o-mini")
# Organisation ("org-...") and project ("proj_...") ids go into headers: no spaces or controls.
_HEADER_ID = r"^[A-Za-z0-9_\-]{1,100}$"
PROMPT = validate.Length(min=1, max=400_000)
# A placeholder name in a prompt: {customer_name}.
VARIABLE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESPONSE_ID = validate.Regexp(r"^resp_[A-Za-z0-9]{1,200}$", error="a response id (resp_...)")


class OpenAICredentials(Schema):
    api_key = fields.String(
        required=True, validate=validate.Length(min=8, max=512),
        metadata={"secret": True, "description": "API key (a project key, sk-proj-...)",
                  "example": "sk-proj-contract0123456789abcdef"})
    webhook_secret = fields.String(
        validate=validate.Length(min=8, max=512),
        metadata={"secret": True,
                  "description": "Signing secret of the project webhook (whsec_...), shown "
                                 "once when the webhook is created in OpenAI's dashboard; only "
                                 "for the background-response triggers"})


class OpenAISettings(Schema):
    organization = fields.String(
        validate=validate.Regexp(_HEADER_ID, error="an organisation id (org-...)"),
        metadata={"description": "Sent as OpenAI-Organization (keys that belong to several "
                                 "organisations)"})
    project = fields.String(
        validate=validate.Regexp(_HEADER_ID, error="a project id (proj_...)"),
        metadata={"description": "Sent as OpenAI-Project (user keys used for a project)"})
    default_model = fields.String(
        validate=MODEL,
        metadata={"description": "Model of the text actions when a step names none "
                                 "(default gpt-4o-mini)"})


def _model(description: str = "Model id (default: the connection's default_model, else "
                              "gpt-4o-mini)") -> fields.String:
    return fields.String(validate=MODEL, metadata={"description": description})


class _Generation(Schema):
    model = _model()
    temperature = fields.Float(validate=validate.Range(min=0, max=2),
                               metadata={"description": "0 (focused) to 2 (varied)"})
    max_output_tokens = fields.Integer(validate=validate.Range(min=1, max=128_000),
                                       metadata={"description": "Cap on the answer's tokens"})


class PromptInput(_Generation):
    """A prompt, already rendered by the engine ({{ steps.x.output... }}), plus placeholders."""

    prompt = fields.String(required=True, validate=PROMPT,
                           metadata={"description": "What to ask; {name} placeholders are "
                                                    "filled from variables"})
    system = fields.String(validate=validate.Length(min=1, max=100_000),
                           metadata={"description": "Instructions: how the model should "
                                                    "behave"})
    variables = fields.Dict(
        keys=fields.String(validate=validate.Regexp(VARIABLE, error="a placeholder name: "
                                                                    "letters, digits, _")),
        values=fields.Raw(allow_none=True), validate=validate.Length(max=100),
        metadata={"description": "Values for {name} placeholders in prompt and system "
                                 "(other braces are left as they are)"})
    response_format = fields.String(
        load_default="text", validate=validate.OneOf(("text", "json")),
        metadata={"description": "json: the model answers one JSON object, returned parsed "
                                 "in json"})

    @validates_schema
    def _scalars(self, data: dict[str, Any], **_: Any) -> None:
        for name, value in (data.get("variables") or {}).items():
            if isinstance(value, (dict, list)):
                raise ValidationError({name: ["a text, number or boolean"]},
                                      field_name="variables")


class ResponseInput(PromptInput):
    background = fields.Boolean(
        load_default=False,
        metadata={"description": "Run in the background: the answer comes back queued; the "
                                 "response_completed trigger (or get_response) gives the "
                                 "result"})
    previous_response_id = fields.String(validate=RESPONSE_ID,
                                         metadata={"description": "Continue that conversation"})


class GetResponseInput(Schema):
    response_id = fields.String(required=True, validate=RESPONSE_ID)


class _TextOrList(fields.Field):
    """A string, or a list of 1 to 2048 strings (what /embeddings and /moderations take)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            items = [value]
        elif isinstance(value, list) and 1 <= len(value) <= 2048:
            items = value
        else:
            raise ValidationError("a text or a list of 1 to 2048 texts")
        for item in items:
            if not isinstance(item, str) or not 1 <= len(item) <= 400_000:
                raise ValidationError("each text: 1 to 400,000 characters")
        return value


class EmbeddingsInput(Schema):
    input = _TextOrList(required=True, metadata={"description": "A text or a list of texts"})
    model = _model("Embedding model (default text-embedding-3-small)")
    dimensions = fields.Integer(validate=validate.Range(min=1, max=3072),
                                metadata={"description": "Shorten the vectors (text-embedding-3 "
                                                         "models)"})


class ModerationInput(Schema):
    input = _TextOrList(required=True, metadata={"description": "A text or a list of texts"})
    model = _model("Moderation model (default omni-moderation-latest)")


class SummarizeInput(_Generation):
    text = fields.String(required=True, validate=PROMPT,
                         metadata={"description": "The text to summarise (an email, a ticket, "
                                                  "a transcript)"})
    max_words = fields.Integer(load_default=100, validate=validate.Range(min=5, max=2000),
                               metadata={"description": "About how long the summary may be"})
    style = fields.String(load_default="paragraph",
                          validate=validate.OneOf(("paragraph", "bullets", "one_line")))
    focus = fields.String(validate=validate.Length(min=1, max=2000),
                          metadata={"description": "What the summary should keep (action "
                                                   "items, the customer's problem, ...)"})
    language = fields.String(validate=validate.Length(min=2, max=40),
                             metadata={"description": "Write the summary in this language "
                                                      "(default: the text's)"})


class ClassifyInput(_Generation):
    text = fields.String(required=True, validate=PROMPT)
    labels = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                         required=True, validate=validate.Length(min=2, max=100),
                         metadata={"description": "The labels to choose from: the answer is "
                                                  "exactly one of them"})
    instructions = fields.String(validate=validate.Length(min=1, max=10_000),
                                 metadata={"description": "What the labels mean, how to choose"})
    fallback_label = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "One of labels, used when the model's answer is none of them "
                                 "(else the step fails)"})

    @validates_schema
    def _labels(self, data: dict[str, Any], **_: Any) -> None:
        labels = data.get("labels") or []
        if len({label.strip().casefold() for label in labels}) != len(labels):
            raise ValidationError("labels must differ (ignoring case and spaces)",
                                  field_name="labels")
        fallback = data.get("fallback_label")
        if fallback is not None and labels and fallback not in labels:
            raise ValidationError("must be one of labels", field_name="fallback_label")
