"""A generic REST connection: any HTTP API with bearer, basic or API-key auth."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.shapes import ANY
from atom.integrations.shapes import INT
from atom.integrations.shapes import obj
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from plugins.http.schemas import BodyInput
from plugins.http.schemas import HttpCredentials
from plugins.http.schemas import HttpSettings
from plugins.http.schemas import Path
from plugins.http.schemas import RequestInput

_OUT = obj(required=("status", "headers", "body"), status=INT, headers=obj(), body=ANY,
           about="body is parsed JSON when the answer is JSON, else text")

MANIFEST = Manifest(
    slug="http",
    display_name="HTTP / REST",
    category="generic",
    description="Call any REST API; receive HMAC-signed webhooks.",
    auth=AuthScheme(kind="custom", fields=HttpCredentials,
                    signer="plugins.http.integration:user_auth"),
    settings=HttpSettings,
    integration="plugins.http.integration:HttpIntegration",
    aliases=("rest", "rest api", "webhook", "http request", "api"),
    rate_limit=RateLimit(per_second=20, burst=20),
    actions=(
        Action("request", "Send a request", RequestInput, _OUT,
               example={"method": "GET", "path": "/status"},
               description="Any method; POST/PATCH are retried only with an idempotency key.",
               words=("http request", "call the api", "hit the endpoint")),
        Action("get", "GET a resource", Path, _OUT, example={"path": "/status"},
               idempotent=True, read_only=True, words=("fetch", "get", "download", "read")),
        Action("post", "POST JSON", BodyInput, _OUT,
               example={"path": "/events", "json": {"event": "deploy.finished"}},
               words=("post", "send", "call a webhook", "submit")),
        Action("put", "PUT JSON", BodyInput, _OUT,
               example={"path": "/items/42", "json": {"state": "done"}},
               idempotent=True, words=("put", "replace")),
        Action("patch", "PATCH JSON", BodyInput, _OUT,
               example={"path": "/items/42", "json": {"state": "done"}},
               words=("patch", "update")),
        Action("delete", "DELETE a resource", Path, _OUT, example={"path": "/items/42"},
               idempotent=True, words=("delete", "remove")),
    ),
    triggers=(
        Trigger("webhook_received", "Webhook received", {"event": "order.created", "id": 42},
                obj(), words=("webhook", "incoming webhook", "http callback", "someone posts"),
                description="Any JSON POSTed to the connection's hook URL, signed with "
                            "X-Atom-Timestamp: <unix seconds> and X-Signature-256: "
                            "sha256=<hex HMAC-SHA256(secret, \"<timestamp>.<body>\")>, "
                            "within 5 minutes; a replayed signature is a duplicate"),
    ),
    webhook=WebhookSpec(scheme="hmac_sha256", secret_field="webhook_secret",
                        delivery_header="X-Delivery-Id"),
    contract=Contract("fake", notes="any REST API: tests use local fakes (responses and a "
                                    "loopback HTTP server)"),
)
