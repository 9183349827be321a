"""Prediction: ``GET /workflows/enhanced/prediction/{workflow_id}`` (also carried by
``GET /api/v2/ai-workflows/{id}``) and ``POST /workflows/enhanced/models/retrain``."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields

from atom.api.auth import actor
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.intelligence import blp
from atom.api.intelligence import requires
from atom.extensions import db
from atom.intelligence import prediction
from atom.models.audit import record


class DurationOut(Schema):
    p50 = fields.Float(allow_none=True, metadata={"description": "median completion time, ms"})
    p90 = fields.Float(allow_none=True, metadata={"description": "90th percentile, ms"})
    critical_path = fields.List(fields.String(), metadata={
        "description": "the longest chain of steps by expected time"})
    sources = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "per step, where its attempt durations were drawn from"})


class RiskFactorOut(Schema):
    kind = fields.String(metadata={"description": "step_failures, no_retry, timeout, "
                                                  "service_health or critical_path"})
    step = fields.String(allow_none=True)
    service = fields.String(allow_none=True)
    evidence = fields.Dict(metadata={"description": "the figures it rests on (counts, rates, "
                                                    "execution ids)"})
    impact = fields.Float(metadata={"description": "change in the predicted success rate it "
                                                   "accounts for (negative lowers it)"})
    effect = fields.String()


class PredictionOut(Schema):
    workflow_id = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)
    success_rate = fields.Float(metadata={"description": "predicted probability that the next "
                                                         "run succeeds"})
    duration_ms = fields.Nested(DurationOut)
    risk_factors = fields.List(fields.Nested(RiskFactorOut))
    confidence = fields.Float(metadata={"description": "0-1: evidence / (evidence + "
                                                       "min_history)"})
    based_on = fields.Dict(metadata={"description": "executions: of this workflow; "
                                                    "service_history: calls, checks and step "
                                                    "attempts of its services elsewhere"})
    model_version = fields.String()
    model = fields.Dict(metadata={"description": "the parameters used"})


class ModelStateOut(Schema):
    id = fields.Integer()
    component = fields.String()
    version = fields.String()
    trained_at = fields.String()
    samples = fields.Integer(metadata={"description": "executions trained on"})
    held_back = fields.Integer(metadata={"description": "newest executions held back to score"})
    metrics = fields.Dict(metadata={"description": "on the held-back part: brier, "
                                                   "base_rate_brier, own_rate_brier, "
                                                   "calibration_error (ECE, 10 bins), "
                                                   "duration_median_relative_error, per "
                                                   "workflow"})
    params = fields.Dict()
    rates = fields.Dict(metadata={"description": "attempt failure rate per service.action"})


@blp.route("/prediction/<id:workflow_id>", methods=["GET"])
@requires("prediction")
@blp.response(200, PredictionOut)
def workflow_prediction(workflow_id: int):
    """The predicted success rate, completion time (p50, p90), risk factors and confidence
    of a workflow's next run."""
    try:
        return prediction.predict(workflow_id)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from exc


@blp.route("/models/retrain", methods=["POST"])
@requires("prediction")
@blp.response(200, ModelStateOut)
def retrain():
    """Retrain the prediction model now (editor): newest 20% of history held back and
    scored; the new state is live at once."""
    require("editor")
    state = prediction.train()
    record(actor(), "intelligence.retrain", f"model:{state.id}", version=state.version)
    db.session.commit()
    return prediction.present_state(state)
