"""Text -> workflow: ``POST /workflows/enhanced/intelligence/analyze`` (what was understood) and
``POST /workflows/enhanced/intelligence/generate`` (a validated definition, with ``save: true``
created as ``POST /api/v2/ai-workflows`` creates one: 201).

Both only read unless ``save`` is true, so a viewer may call them; saving needs the editor
role (:func:`atom.api.auth.reads_only`)."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import current_app
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates

from atom.api.auth import actor
from atom.api.auth import reads_only
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.intelligence import blp
from atom.api.intelligence import requires
from atom.api.schemas import StrictSchema
from atom.engine.definition import DefinitionError
from atom.engine.workflows import create_workflow
from atom.engine.workflows import present
from atom.extensions import db
from atom.intelligence import enabled
from atom.intelligence import language
from atom.intelligence import optimisation
from atom.intelligence import prediction

STRATEGIES = ("performance", "cost", "reliability", "hybrid")


class LanguageContextIn(Schema):
    """What the caller knows besides the words; unknown keys are kept and ignored."""

    class Meta:
        unknown = "include"

    timezone = fields.String(metadata={"description": "IANA time zone for schedules "
                                                      "(default UTC)", "example": "Europe/Paris"})

    @validates("timezone")
    def _zone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"unknown time zone {value!r}") from exc


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("describe the workflow in words")


class LanguageAnalyzeIn(StrictSchema):
    user_input = fields.String(required=True, validate=[
        validate.Length(min=1, max=language.MAX_INPUT), _not_blank],
        metadata={"description": f"the request in plain English (at most {language.MAX_INPUT} "
                                 "characters)",
                  "example": "When a GitHub pull request is opened, post to #code-review in Slack"})
    context = fields.Nested(LanguageContextIn, load_default=dict)


class LanguageGenerateIn(LanguageAnalyzeIn):
    optimization_strategy = fields.String(validate=validate.OneOf(STRATEGIES), allow_none=True)
    enhanced_intelligence = fields.Boolean(load_default=False)
    save = fields.Boolean(load_default=False, metadata={
        "description": "true: create the workflow (editor role), answering 201"})


class LanguageTriggerOut(Schema):
    type = fields.String(metadata={"enum": ["event", "schedule", "webhook", "manual"]})
    service = fields.String()
    event = fields.String()
    cron = fields.String()
    timezone = fields.String()
    times = fields.List(fields.String())
    confidence = fields.Float()
    matched = fields.Raw(metadata={"description": "the words that decided it"})
    alternatives = fields.List(fields.String(), metadata={
        "description": "other services the trigger clause names (\"GitHub or GitLab\"), asked about"})


class LanguageActionOut(Schema):
    service = fields.String()
    action = fields.String()
    title = fields.String()
    confidence = fields.Float()
    matched = fields.List(fields.String(), metadata={"description": "the words that matched"})


class LanguageThresholdOut(Schema):
    field = fields.String()
    op = fields.String(metadata={"enum": [">", ">=", "<", "<=", "=="]})
    value = fields.Float()
    currency = fields.String()
    text = fields.String()


class LanguageEntitiesOut(Schema):
    channels = fields.List(fields.String())
    labels = fields.List(fields.String())
    thresholds = fields.List(fields.Nested(LanguageThresholdOut))
    recipients = fields.List(fields.String())
    folders = fields.List(fields.String())
    times = fields.List(fields.String())


class LanguageQuestionOut(Schema):
    field = fields.String()
    question = fields.String()


class LanguageAnalysisOut(Schema):
    text = fields.String()
    trigger = fields.Nested(LanguageTriggerOut)
    actions = fields.List(fields.Nested(LanguageActionOut))
    entities = fields.Nested(LanguageEntitiesOut)
    questions = fields.List(fields.Nested(LanguageQuestionOut))
    confidence = fields.Float()
    confidence_threshold = fields.Float()


class LanguageGenerateOut(Schema):
    workflow = fields.Dict(metadata={"description": "the definition (validated); after save, "
                                                    "the created workflow as GET "
                                                    "/api/v2/ai-workflows/{id} shows it"})
    saved = fields.Boolean()
    analysis = fields.Nested(LanguageAnalysisOut)
    connections = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "service -> the connection chosen (enabled, healthy first)"})
    missing_connections = fields.List(fields.String(), metadata={
        "description": "services used without a connection yet"})
    explanation = fields.String()
    confidence = fields.Float()
    optimization_strategy = fields.String(allow_none=True)
    optimization = fields.Dict(allow_none=True, metadata={
        "description": "with optimization_strategy: the safe findings of that strategy applied "
                       "to the draft (`applied`) and those left for a person (`left`), as "
                       "POST .../optimization/analyze reports them; null without a strategy or "
                       "while WORKFLOW_OPTIMIZATION_ENABLED is false"})
    enhanced_intelligence = fields.Boolean()
    prediction = fields.Dict(allow_none=True, metadata={
        "description": "with enhanced_intelligence: the draft's predicted success rate and "
                       "completion time, as GET .../prediction/{id} gives them (from its "
                       "services' and actions' history, since it has none of its own)"})


@blp.route("/intelligence/analyze", methods=["POST"])
@reads_only
@requires("intelligence")
@blp.arguments(LanguageAnalyzeIn)
@blp.response(200, LanguageAnalysisOut)
def intelligence_analyze(body: dict[str, Any]):
    """What a plain-English request asks for: trigger, actions, entities, questions."""
    return language.analyze(body["user_input"], body["context"])


@blp.route("/intelligence/generate", methods=["POST"])
@reads_only
@requires("intelligence")
@blp.arguments(LanguageGenerateIn)
@blp.response(200, LanguageGenerateOut)
@blp.alt_response(201, schema=LanguageGenerateOut, description="saved: the workflow was created")
def intelligence_generate(body: dict[str, Any]):
    """A complete workflow definition from a plain-English request; ``save: true`` creates it."""
    if body["save"]:
        require("editor")
    result = language.generate(body["user_input"], body["context"],
                               optimization_strategy=body.get("optimization_strategy"))
    result["optimization"] = None
    strategy = body.get("optimization_strategy")
    if strategy and enabled("optimization"):
        result["workflow"], applied, left = optimisation.optimise_draft(result["workflow"], strategy)
        result["optimization"] = {"strategy": strategy,
                                  "applied": [f.to_dict() for f in applied],
                                  "left": [f.to_dict() for f in left]}
    result["enhanced_intelligence"] = body["enhanced_intelligence"]
    result["prediction"] = None
    if body["enhanced_intelligence"] and enabled("prediction"):
        result["prediction"] = prediction.predict(result["workflow"])
    result["saved"] = False
    if not body["save"]:
        return result
    if not result["analysis"]["actions"]:
        raise ApiError(422, "nothing to save: no action was recognised in the request",
                       errors={"user_input": ["name a service to act on (e.g. post to Slack)"]})
    try:
        workflow = create_workflow(result["workflow"], actor())
    except DefinitionError as exc:
        db.session.rollback()
        first = next(iter(exc.errors))
        raise ApiError(422, f"the generated workflow is not valid: {first}: {exc.errors[first]}",
                       errors={"user_input": [f"{first}: {exc.errors[first]}"]}) from exc
    current_app.logger.info("generated workflow %s saved by %s", workflow.id, actor())
    result["workflow"] = present(workflow)
    result["saved"] = True
    return result, 201
