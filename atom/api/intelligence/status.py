"""``GET /workflows/enhanced/status``: each component, whether it is available and why, its
model's version and how much history it learnt from."""
from __future__ import annotations

import importlib
from typing import Any

from flask import current_app
from marshmallow import Schema
from marshmallow import fields

from atom.api.intelligence import blp
from atom.intelligence import COMPONENTS
from atom.intelligence import enabled
from atom.intelligence import models_config

# component -> the module whose ``status()`` describes its model
MODULES = {
    "intelligence": "atom.intelligence.language",
    "prediction": "atom.intelligence.prediction",
    "optimization": "atom.intelligence.optimisation",
    "troubleshooting": "atom.intelligence.troubleshooting",
    "monitoring": "atom.intelligence.workflow_health",
    "cross_service": "atom.intelligence.dependencies",
}


class ComponentOut(Schema):
    available = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={
        "description": "why it is not available (the switch that is off), null when it is"})
    setting = fields.String(metadata={"description": "the switch that turns it on or off"})
    model = fields.String(allow_none=True, metadata={"description": "what it runs on"})
    version = fields.String(allow_none=True, metadata={"description": "model version"})
    trained_at = fields.String(allow_none=True)
    trained_on = fields.Dict(allow_none=True, metadata={
        "description": "how much history the model learnt from (executions, workflows, ...)"})
    evaluation = fields.Dict(allow_none=True, metadata={
        "description": "figures on history held back from training (prediction: Brier "
                       "score, the base rate's Brier score, calibration error)"})
    details = fields.Dict(allow_none=True)


class StatusOut(Schema):
    status = fields.String(metadata={"description": "operational, degraded (a component is "
                                                    "switched off) or disabled (all are)"})
    offline = fields.Boolean(metadata={"description": "always true: nothing leaves the machine"})
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentOut))
    config = fields.Dict(metadata={"description": "AI_MODELS_CONFIG as in effect"})


def component_status(name: str) -> dict[str, Any]:
    on = enabled(name)
    out: dict[str, Any] = {"available": on, "setting": COMPONENTS[name],
                           "reason": None if on else f"{COMPONENTS[name]} is false"}
    described = importlib.import_module(MODULES[name]).status(current_app)
    out.update({k: v for k, v in described.items() if k not in out})
    return out


@blp.route("/status", methods=["GET"])
@blp.response(200, StatusOut)
def intelligence_status():
    """Each intelligence component: available or not and why, model versions, history."""
    components = {name: component_status(name) for name in COMPONENTS}
    up = sum(c["available"] for c in components.values())
    state = "operational" if up == len(components) else "disabled" if not up else "degraded"
    return {"status": state, "offline": True, "components": components,
            "config": models_config()}
