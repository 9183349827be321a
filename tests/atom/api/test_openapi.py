"""The OpenAPI document describes the API, and its docs page needs no CDN."""
from __future__ import annotations

import re


def test_the_openapi_document_lists_every_api_route_with_bearer_security(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v2"):
            path = re.sub(r"<(?:\w+:)?([^>]+)>", r"{\1}", rule.rule)
            assert path in documented, path
    create = spec["paths"]["/api/v2/connections"]["post"]
    assert "requestBody" in create


def test_the_docs_page_loads_only_local_assets(client, alice):
    client.post("/login", data=alice)  # the page is for signed-in users (issue 10)
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "openapi.json" in html
    assets = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert assets
    for src in assets:
        assert src.startswith("/"), src
        assert client.get(src).status_code == 200, src


# -- the document tells the truth (issue 7, item 10) ---------------------------------------------

OPERATIONS = ("get", "put", "post", "patch", "delete")
READS_JSON = [("post", "/api/v2/connections"), ("patch", "/api/v2/connections/{conn_id}"),
              ("post", "/api/v2/connections/{conn_id}/actions/{action}"),
              ("post", "/api/v2/ai-workflows"), ("put", "/api/v2/ai-workflows/{wf_id}"),
              ("post", "/api/v2/ai-workflows/{wf_id}/execute"),
              ("post", "/api/v2/ai-workflows/templates/{name}/instantiate"),
              ("put", "/api/v2/monitoring/thresholds"), ("post", "/api/v2/monitoring/channels"),
              ("post", "/api/v2/monitoring/maintenance")]


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in OPERATIONS:
                yield path, method, operation


def _resolve(spec, response):
    ref = response.get("$ref")
    return spec["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response


def test_every_operation_documents_its_success_and_error_answers(client):
    spec = client.get("/api/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"code", "message"}
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, (method, path)
        for code in success:
            if code != "204":
                schema = responses[code]["content"]["application/json"]["schema"]
                assert "$ref" in schema, (method, path, code)
        expected = {"400", "401", "403", "default"} | ({"404"} if "{" in path else set())
        assert expected <= set(responses), (method, path, set(responses))
        for code in expected:
            body = _resolve(spec, responses[code])["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_routes_that_read_json_document_their_request_body(client):
    spec = client.get("/api/openapi.json").get_json()
    for method, path in READS_JSON:
        body = spec["paths"][path][method]["requestBody"]
        assert body["content"]["application/json"]["schema"]["$ref"], (method, path)
    workflow = spec["components"]["schemas"]["WorkflowIn"]["properties"]
    assert {"name", "trigger", "steps", "trigger_service", "action_services"} <= set(workflow)


def test_create_operations_link_to_the_operations_on_what_they_created(client):
    spec = client.get("/api/openapi.json").get_json()
    links = spec["paths"]["/api/v2/connections"]["post"]["responses"]["201"]["links"]
    assert {link["operationRef"] for link in links.values()} == {
        "#/paths/~1api~1v2~1connections~1{conn_id}/get",
        "#/paths/~1api~1v2~1connections~1{conn_id}/patch",
        "#/paths/~1api~1v2~1connections~1{conn_id}/delete",
        "#/paths/~1api~1v2~1connections~1{conn_id}~1test/post",
        "#/paths/~1api~1v2~1connections~1{conn_id}~1webhook-secret~1reveal/post",
    }
    assert all(link["parameters"] == {"conn_id": "$response.body#/id"} for link in links.values())
    workflow = spec["paths"]["/api/v2/ai-workflows"]["post"]["responses"]["201"]["links"]
    assert "#/paths/~1api~1v2~1ai-workflows~1{wf_id}~1execute/post" in {
        link["operationRef"] for link in workflow.values()}
    execute = spec["paths"]["/api/v2/ai-workflows/{wf_id}/execute"]["post"]["responses"]["202"]
    assert execute["links"]["PostCancel"]["parameters"] == {"ex_id": "$response.body#/id"}
    for link in [*links.values(), *workflow.values(), *execute["links"].values()]:
        path, method = link["operationRef"][len("#/paths/"):].rsplit("/", 1)
        assert method in spec["paths"][path.replace("~1", "/").replace("~0", "~")]


def test_the_mechanism_documents_a_blueprint_added_later(app):
    """Another blueprint (say /api/v2/keys) gets the error answers and the links unchanged."""
    from flask_smorest import Api
    from flask_smorest import Blueprint
    from marshmallow import Schema
    from marshmallow import fields

    from atom.api import inputs
    from atom.api.openapi import StandardResponses
    from atom.api.schemas import Error

    class KeyOut(Schema):
        id = fields.Integer()

    class KeyIn(Schema):
        name = fields.String()

    other = type(app)("later")
    other.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    inputs.init_app(other)
    plugin = StandardResponses()
    api = Api()
    api.ERROR_SCHEMA = Error
    api.init_app(other, spec_kwargs={"extra_plugins": [plugin]})
    blp = Blueprint("keys", __name__, url_prefix="/api/v2/keys")

    @blp.route("", methods=["POST"])
    @blp.arguments(KeyIn)
    @blp.response(201, KeyOut)
    def create(data):
        return {"id": 1}

    @blp.route("/<id:key_id>", methods=["DELETE"])
    @blp.response(204)
    def revoke(key_id):
        return ""

    api.register_blueprint(blp)
    plugin.add_links()
    spec = api.spec.to_dict()
    post = spec["paths"]["/api/v2/keys"]["post"]["responses"]
    assert {"201", "400", "401", "403", "422", "default"} <= set(post)
    assert post["201"]["links"]["Delete"]["parameters"] == {"key_id": "$response.body#/id"}
    delete = spec["paths"]["/api/v2/keys/{key_id}"]["delete"]["responses"]
    assert {"204", "404", "409", "default"} <= set(delete)
    assert spec["paths"]["/api/v2/keys/{key_id}"]["parameters"][0]["schema"]["maximum"] == 2**63 - 1


def test_a_405_names_the_allowed_methods(client, keys):
    response = client.open("/api/v2/monitoring/system", method="TRACE", headers=keys["admin"])
    assert response.status_code == 405
    assert response.headers["Allow"]
    assert "GET" in response.headers["Allow"]
    assert response.get_json()["code"] == "method_not_allowed"


def test_a_second_app_of_the_process_serves_the_same_document_as_a_freshly_built_one(app_factory, tmp_path):
    """The document is built once per process and reused (it is most of create_app's time):
    reused, it is the very document a fresh build gives, and it is served."""
    from atom.api import _SPECS

    first = app_factory().test_client().get("/api/openapi.json").get_json()
    assert _SPECS  # kept for the next app
    reused = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'b.db'}")
    _SPECS.clear()
    fresh = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'c.db'}")
    fresh_doc = fresh.test_client().get("/api/openapi.json").get_json()
    assert reused.test_client().get("/api/openapi.json").get_json() == first == fresh_doc
    assert "/api/v2/connections" in fresh_doc["paths"]
