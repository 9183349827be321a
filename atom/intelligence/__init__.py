"""Built-in intelligence, offline: text -> workflow (:mod:`.language`), success and duration
prediction (:mod:`.prediction`), optimisation findings (:mod:`.optimisation`), troubleshooting
(:mod:`.troubleshooting`), the cross-service dependency map (:mod:`.dependencies`) and
per-workflow health (:mod:`.workflow_health`).

Each component has a switch, named as the product documents name it; a component switched off
answers 503 through the API and says so in ``GET /api/v2/workflows/enhanced/status``.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask import current_app

# component -> the setting that switches it on
COMPONENTS: dict[str, str] = {
    "intelligence": "AI_WORKFLOW_ENABLED",
    "prediction": "AI_WORKFLOW_ENABLED",
    "optimization": "WORKFLOW_OPTIMIZATION_ENABLED",
    "troubleshooting": "WORKFLOW_OPTIMIZATION_ENABLED",
    "monitoring": "ENHANCED_MONITORING_ENABLED",
    "cross_service": "CROSS_SERVICE_ORCHESTRATION_ENABLED",
}


def enabled(component: str, app: Flask | None = None) -> bool:
    app = app or current_app
    return bool(app.config.get(COMPONENTS[component], True))


def models_config(app: Flask | None = None) -> dict[str, Any]:
    """``AI_MODELS_CONFIG`` as checked and merged over the defaults at start-up."""
    return dict((app or current_app).config["AI_MODELS_CONFIG"])
