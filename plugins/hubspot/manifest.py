"""HubSpot CRM: contacts, deals and notes; contact and deal webhooks."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from plugins.hubspot.schemas import CreateContactInput
from plugins.hubspot.schemas import CreateDealInput
from plugins.hubspot.schemas import CreateNoteInput
from plugins.hubspot.schemas import GetContactInput
from plugins.hubspot.schemas import HubSpotCredentials
from plugins.hubspot.schemas import ListDealsInput
from plugins.hubspot.schemas import SearchContactsInput
from plugins.hubspot.schemas import UpdateContactInput

_RECORD = "{id, properties, createdAt, updatedAt, archived}"


def _event(event_id: int, kind: str, object_id: int, **extra: object) -> dict[str, object]:
    """One element of the JSON array HubSpot posts (each element is one ATOM event)."""
    return {"eventId": event_id, "subscriptionId": 2381047, "portalId": 62515, "appId": 1160452,
            "occurredAt": 1718187330512, "subscriptionType": kind, "attemptNumber": 0,
            "objectId": object_id, "changeSource": "CRM_UI", **extra}


MANIFEST = Manifest(
    slug="hubspot",
    display_name="HubSpot",
    category="crm",
    description="Create and update HubSpot contacts, deals and notes; react to CRM changes.",
    docs_url="https://developers.hubspot.com/docs/api/crm/understanding-the-crm",
    base_url="https://api.hubapi.com",
    auth=AuthScheme(kind="bearer", fields=HubSpotCredentials),
    integration="plugins.hubspot.integration:HubSpotIntegration",
    aliases=("hubspot crm", "hub spot", "hubspot sales hub"),
    # Private apps on Free/Starter: 100 requests per 10 s (higher tiers allow 190).
    rate_limit=RateLimit(per_second=10, burst=10),
    actions=(
        Action("create_contact", "Create a contact", CreateContactInput, _RECORD,
               description="Fails with a validation error when the email already exists."),
        Action("update_contact", "Update a contact", UpdateContactInput, _RECORD, idempotent=True),
        Action("get_contact", "Get a contact", GetContactInput, _RECORD,
               idempotent=True, read_only=True, description="By record id or by email."),
        Action("search_contacts", "Search contacts", SearchContactsInput,
               "{total, results: [record], next_after}", idempotent=True, read_only=True,
               description="One page; pass next_after back as after for the next one."),
        Action("create_deal", "Create a deal", CreateDealInput, _RECORD,
               description="Optionally associated with a contact."),
        Action("list_deals", "List deals", ListDealsInput, "{deals: [record], count}",
               idempotent=True, read_only=True,
               description="Follows paging.next.after until max_results deals."),
        Action("create_note", "Add a note", CreateNoteInput, _RECORD,
               description="Attached to a contact and/or a deal."),
    ),
    triggers=(
        Trigger("contact_created", "Contact created",
                _event(3816279340, "contact.creation", 1246965, changeFlag="CREATED")),
        Trigger("contact_updated", "Contact property changed",
                _event(3816279341, "contact.propertyChange", 1246965,
                       propertyName="lifecyclestage", propertyValue="customer")),
        Trigger("contact_deleted", "Contact deleted",
                _event(3816279342, "contact.deletion", 1246965, changeFlag="DELETED")),
        Trigger("deal_created", "Deal created",
                _event(3816279343, "deal.creation", 9120448, changeFlag="CREATED")),
        Trigger("deal_updated", "Deal property changed",
                _event(3816279344, "deal.propertyChange", 9120448,
                       propertyName="dealstage", propertyValue="closedwon")),
        Trigger("deal_deleted", "Deal deleted",
                _event(3816279345, "deal.deletion", 9120448, changeFlag="DELETED")),
    ),
    webhook=WebhookSpec(scheme="hubspot_v3", secret_field="client_secret"),
)
