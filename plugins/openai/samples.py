"""Sample webhook events of the OpenAI triggers (pure data), in the shape of OpenAI's webhook
event reference (https://platform.openai.com/docs/api-reference/webhook-events): a thin signal
naming the object; ``get_response`` fetches the result."""
from __future__ import annotations

RESPONSE_COMPLETED = {"id": "evt_685343a1381c819085d44c354e1b330e", "object": "event",
                      "created_at": 1750287018, "type": "response.completed",
                      "data": {"id": "resp_abc123"}}
RESPONSE_FAILED = {"id": "evt_685343a1381c819085d44c354e1b330f", "object": "event",
                   "created_at": 1750287019, "type": "response.failed",
                   "data": {"id": "resp_abc124"}}
BATCH_COMPLETED = {"id": "evt_685343a1381c819085d44c354e1b3310", "object": "event",
                   "created_at": 1750287020, "type": "batch.completed",
                   "data": {"id": "batch_abc123"}}
