"""HubSpot CRM: contacts, deals and notes; contact and deal webhooks."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
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

_RECORD = obj(required=("id",), id=STR, properties=obj(), createdAt=maybe(STR),
              updatedAt=maybe(STR), archived=BOOL)
_EVENT = obj(required=("eventId", "subscriptionType", "objectId"), eventId=INT,
             subscriptionId=INT, portalId=INT, appId=INT, occurredAt=INT, subscriptionType=STR,
             attemptNumber=INT, objectId=INT, changeSource=STR, propertyName=STR,
             propertyValue=STR)


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
    auth=AuthScheme(
        kind="bearer", fields=HubSpotCredentials, secret="access_token",
        oauth2=OAuth2Spec(authorize_url="https://app.hubspot.com/oauth/authorize",
                          token_url="https://api.hubapi.com/oauth/v1/token",
                          scopes=("crm.objects.contacts.read", "crm.objects.contacts.write",
                                  "crm.objects.deals.read", "crm.objects.deals.write"),
                          pkce=False)),
    integration="plugins.hubspot.integration:HubSpotIntegration",
    aliases=("hubspot crm", "hub spot", "hubspot sales hub"),
    # Private apps on Free/Starter: 100 requests per 10 s (higher tiers allow 190).
    rate_limit=RateLimit(per_second=10, burst=10),
    actions=(
        Action("create_contact", "Create a contact", CreateContactInput, _RECORD,
               example={"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}, words=("new contact", "add a contact", "lead", "add to CRM"),
               description="Fails with a validation error when the email already exists."),
        Action("update_contact", "Update a contact", UpdateContactInput, _RECORD,
               example={"contact_id": "1246965", "properties": {"lifecyclestage": "customer"}}, words=("update contact", "change contact", "mark as customer"), idempotent=True),
        Action("get_contact", "Get a contact", GetContactInput, _RECORD,
               example={"email": "ada@example.com"}, words=("find contact", "look up contact", "contact details"),
               idempotent=True, read_only=True, description="By record id or by email."),
        Action("search_contacts", "Search contacts", SearchContactsInput,
               obj(required=("total", "results"), total=INT, results=arr(_RECORD),
                   next_after=maybe(STR)),
               example={"query": "ada", "limit": 10}, words=("search contacts", "find contacts"),
               idempotent=True, read_only=True,
               description="One page; pass next_after back as after for the next one."),
        Action("create_deal", "Create a deal", CreateDealInput, _RECORD,
               example={"dealname": "Acme renewal", "amount": 52000}, words=("new deal", "opportunity", "create deal"),
               description="Optionally associated with a contact."),
        Action("list_deals", "List deals", ListDealsInput, listing("deals", _RECORD),
               example={"max_results": 10}, words=("deals", "pipeline", "opportunities"),
               idempotent=True, read_only=True,
               description="Follows paging.next.after until max_results deals."),
        Action("create_note", "Add a note", CreateNoteInput, _RECORD,
               example={"body": "Called about the renewal", "contact_id": "1246965"}, words=("note", "log a call", "add a note"),
               description="Attached to a contact and/or a deal."),
    ),
    triggers=(
        Trigger("contact_created", "Contact created",
                _event(3816279340, "contact.creation", 1246965, changeFlag="CREATED"), _EVENT,
                words=("new contact", "contact created", "new lead")),
        Trigger("contact_updated", "Contact property changed",
                _event(3816279341, "contact.propertyChange", 1246965,
                       propertyName="lifecyclestage", propertyValue="customer"), _EVENT,
                words=("contact updated", "contact changed", "lifecycle stage changes")),
        Trigger("contact_deleted", "Contact deleted",
                _event(3816279342, "contact.deletion", 1246965, changeFlag="DELETED"), _EVENT,
                words=("contact deleted", "contact removed")),
        Trigger("deal_created", "Deal created",
                _event(3816279343, "deal.creation", 9120448, changeFlag="CREATED"), _EVENT,
                words=("new deal", "deal created")),
        Trigger("deal_updated", "Deal property changed",
                _event(3816279344, "deal.propertyChange", 9120448,
                       propertyName="dealstage", propertyValue="closedwon"), _EVENT,
                words=("deal updated", "deal stage changes", "deal won")),
        Trigger("deal_deleted", "Deal deleted",
                _event(3816279345, "deal.deletion", 9120448, changeFlag="DELETED"), _EVENT,
                words=("deal deleted",)),
    ),
    webhook=WebhookSpec(scheme="hubspot_v3", secret_field="client_secret"),
    contract=Contract("fake", notes="HubSpot publishes no openly licensed OpenAPI copy here: "
                                    "tests/plugins/hubspot/fake_hubspot.py follows the public "
                                    "reference (CRM v3 objects, search, associations)."),
)
