"""A generic REST connection: any HTTP API with bearer, basic or API-key auth."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from plugins.http.schemas import BodyInput
from plugins.http.schemas import HttpCredentials
from plugins.http.schemas import HttpSettings
from plugins.http.schemas import Path
from plugins.http.schemas import RequestInput

_OUT = "{status, headers, body} (body is parsed JSON when the answer is JSON)"

MANIFEST = Manifest(
    slug="http",
    display_name="HTTP / REST",
    category="generic",
    description="Call any REST API; receive HMAC-signed webhooks.",
    auth=AuthScheme(kind="custom", fields=HttpCredentials),
    settings=HttpSettings,
    integration="plugins.http.integration:HttpIntegration",
    aliases=("rest", "rest api", "webhook", "http request", "api"),
    rate_limit=RateLimit(per_second=20, burst=20),
    actions=(
        Action("request", "Send a request", RequestInput, _OUT,
               description="Any method; POST/PATCH are retried only with an idempotency key."),
        Action("get", "GET a resource", Path, _OUT, idempotent=True, read_only=True),
        Action("post", "POST JSON", BodyInput, _OUT),
        Action("put", "PUT JSON", BodyInput, _OUT, idempotent=True),
        Action("patch", "PATCH JSON", BodyInput, _OUT),
        Action("delete", "DELETE a resource", Path, _OUT, idempotent=True),
    ),
    triggers=(
        Trigger("webhook_received", "Webhook received", {"event": "order.created", "id": 42},
                description="Any JSON POSTed to the connection's hook URL, signed with "
                            "X-Atom-Timestamp: <unix seconds> and X-Signature-256: "
                            "sha256=<hex HMAC-SHA256(secret, \"<timestamp>.<body>\")>, "
                            "within 5 minutes; a replayed signature is a duplicate"),
    ),
    webhook=WebhookSpec(scheme="hmac_sha256", secret_field="webhook_secret",
                        delivery_header="X-Delivery-Id"),
)
