"""The integration catalogue: ``/api/v2/integrations`` and ``/api/enhanced/management/discover``."""
from __future__ import annotations

from flask_smorest import Blueprint

from atom.api.auth import authenticate
from atom.api.openapi import ok
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate_items
from atom.api.schemas import CatalogueOut
from atom.api.schemas import IntegrationOut
from atom.integrations.catalogue import catalogue
from atom.integrations.catalogue import describe
from atom.state import get_state

blp = Blueprint("integrations", __name__, url_prefix="/api/v2/integrations",
                description="Installed integrations, their actions, triggers and schemas")
blp.before_request(authenticate)

enhanced_blp = Blueprint("enhanced", __name__, url_prefix="/api/enhanced",
                         description="Compatibility paths of the product documents")
enhanced_blp.before_request(authenticate)


@blp.route("")
@blp.arguments(PageQuery, location="query")
@blp.alt_response(200, **ok(CatalogueOut))
def list_integrations(query):
    """List loaded integrations by name, and plugins that did not load with the reason."""
    return _page(catalogue(get_state().registry), query)


@blp.route("/<name>")
@blp.alt_response(200, **ok(IntegrationOut))
def get_integration(name: str):
    """One integration with its credential/settings schemas and every action's input schema."""
    return describe(get_state().registry.get(name).manifest, detail=True)


@enhanced_blp.route("/management/discover")
@enhanced_blp.arguments(PageQuery, location="query")
@enhanced_blp.alt_response(200, **ok(CatalogueOut))
def discover(query):
    """The full catalogue, with every schema (same data as ``/api/v2/integrations/{name}``)."""
    return _page(catalogue(get_state().registry, detail=True), query)


def _page(found: dict, query: dict) -> dict:
    page = paginate_items(found["integrations"], query, key=lambda i: (i["name"],))
    return page.answer("integrations", page.rows, not_loaded=found["not_loaded"])
