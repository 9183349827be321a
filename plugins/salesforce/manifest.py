"""Salesforce: create, update, upsert and read records of any sObject, SOQL queries and
object descriptions; new and changed records by polling."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.salesforce import samples
from plugins.salesforce.schemas import CreateRecordInput
from plugins.salesforce.schemas import DescribeObjectInput
from plugins.salesforce.schemas import GetRecordInput
from plugins.salesforce.schemas import QueryInput
from plugins.salesforce.schemas import RecordTriggerParams
from plugins.salesforce.schemas import SalesforceCredentials
from plugins.salesforce.schemas import SalesforceSettings
from plugins.salesforce.schemas import UpdateRecordInput
from plugins.salesforce.schemas import UpsertRecordInput

# Record ids of the examples: the contract fake (tests/plugins/salesforce/fake.py) seeds them.
EXAMPLE_LEAD = "00Q5e00000AbCdEEAZ"

_RECORD = obj(about="The record's fields by API name", Id=STR,
              CreatedDate=maybe(STR), SystemModstamp=maybe(STR))
_WRITE = obj(required=("id", "object"), id=STR, object=STR, success=BOOL, created=BOOL)
_FIELD = obj(required=("name",), name=STR, label=maybe(STR), type=maybe(STR),
             length=maybe(INT), nillable=maybe(BOOL), createable=maybe(BOOL),
             updateable=maybe(BOOL), external_id=maybe(BOOL), unique=maybe(BOOL),
             reference_to=arr(STR), picklist_values=arr(maybe(STR)))
_TRIGGER = obj(required=("Id", "change_id"), about="The record's fields by API name, and "
                                                   "change_id: Id@SystemModstamp (or CreatedDate)",
               Id=STR, CreatedDate=STR, SystemModstamp=STR, change_id=STR)
_LEAD = {"LastName": "Lovelace", "FirstName": "Ada", "Company": "Analytical Engines Ltd",
         "Email": "ada@example.com"}

MANIFEST = Manifest(
    slug="salesforce",
    display_name="Salesforce",
    category="crm",
    description="Create, update, upsert (by external id) and read records of any Salesforce "
                "object, run SOQL queries, describe objects; react to new and changed "
                "records. Connect with OAuth 2.0 (web server flow with PKCE); the org's "
                "instance_url comes from the token response. An admin's OAuth app sets "
                "login_url in its settings (https://login.salesforce.com, "
                "https://test.salesforce.com for sandboxes, or a My Domain).",
    docs_url="https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/",
    auth=AuthScheme(
        kind="oauth2", fields=SalesforceCredentials,
        # {login_url} fills from the OAuth app's settings (it decides where the client secret
        # goes). The token answer has no expires_in: the token is refreshed on a 401
        # INVALID_SESSION_ID; refresh tokens do not rotate by default (verify: a connected
        # app may enable rotation).
        oauth2=OAuth2Spec(authorize_url="{login_url}/services/oauth2/authorize",
                          token_url="{login_url}/services/oauth2/token",
                          scopes=("api", "refresh_token"), pkce=True)),
    integration="plugins.salesforce.integration:SalesforceIntegration",
    settings=SalesforceSettings,
    aliases=("sfdc", "salesforce crm", "sales cloud", "service cloud", "force.com", "sf"),
    # The org's allocation is per rolling 24 hours (100,000 + per-licence adder), read from
    # Sforce-Limit-Info on every answer; about 25 long-running requests may run at once.
    rate_limit=RateLimit(per_second=20, burst=25),
    actions=(
        Action("create_record", "Create a record", CreateRecordInput, _WRITE,
               example={"object": "Lead", "fields": _LEAD},
               description="Any object: fields by API name (LastName, Company, My_Field__c).",
               words=("new lead", "create lead", "add contact", "new account", "new record",
                      "create opportunity")),
        Action("update_record", "Update a record", UpdateRecordInput,
               obj(required=("id", "object"), id=STR, object=STR, updated=BOOL),
               example={"object": "Lead", "record_id": EXAMPLE_LEAD,
                        "fields": {"Status": "Working - Contacted"}},
               idempotent=True,
               words=("update lead", "change status", "edit record", "update opportunity")),
        Action("upsert_record", "Create or update a record by external id", UpsertRecordInput,
               obj(required=("object", "created"), id=maybe(STR), object=STR, created=BOOL,
                   external_id_field=STR, external_id=STR),
               example={"object": "Lead", "external_id_field": "External_Id__c",
                        "external_id": "WEB-1001", "fields": _LEAD},
               idempotent=True,
               description="Creates the record when no record has the external id (created: "
                           "true), else updates it; two matches are an error.",
               words=("upsert", "create or update", "sync record", "match by external id")),
        Action("get_record", "Get a record", GetRecordInput,
               obj(required=("id", "object", "record"), id=STR, object=STR, record=_RECORD),
               example={"object": "Lead", "record_id": EXAMPLE_LEAD,
                        "fields": ["Name", "Company", "Status"]},
               idempotent=True, read_only=True,
               words=("look up lead", "get account", "record details")),
        Action("query", "Run a SOQL query", QueryInput,
               listing("records", _RECORD, total_size=INT, done=BOOL),
               example={"soql": "SELECT Id, Name, Company FROM Lead WHERE Status = "
                                "'Open - Not Contacted' ORDER BY CreatedDate",
                        "max_items": 50},
               idempotent=True, read_only=True,
               description="Follows nextRecordsUrl until max_items records.",
               words=("soql", "search records", "find leads", "list opportunities", "report")),
        Action("describe_object", "Describe an object", DescribeObjectInput,
               listing("fields", _FIELD, name=STR, label=maybe(STR), label_plural=maybe(STR),
                       key_prefix=maybe(STR), custom=maybe(BOOL), createable=maybe(BOOL),
                       updateable=maybe(BOOL), queryable=maybe(BOOL)),
               example={"object": "Lead"},
               idempotent=True, read_only=True,
               description="The object's fields: types, required (not nillable), picklist "
                           "values, external ids.",
               words=("fields of", "object metadata", "picklist values", "schema")),
    ),
    triggers=(
        Trigger("record_created", "New record", samples.RECORD_CREATED, _TRIGGER,
                delivery=Poll("poll_record_created", cursor="CreatedDate", item_id="Id",
                              interval_s=60),
                params=RecordTriggerParams,
                description="Each new record of the object (Lead by default), oldest first.",
                words=("new lead", "lead created", "new salesforce lead", "new account",
                       "new opportunity", "new contact")),
        Trigger("record_updated", "New or changed record", samples.RECORD_UPDATED, _TRIGGER,
                delivery=Poll("poll_record_updated", cursor="SystemModstamp",
                              item_id="change_id", interval_s=60),
                params=RecordTriggerParams,
                description="Each change of a record of the object (SystemModstamp moves; a "
                            "new record counts as a change).",
                words=("lead updated", "record changed", "opportunity updated",
                       "status changed", "stage changed")),
    ),
    contract=Contract("fake", "tests/plugins/salesforce/fake.py",
                      notes="Salesforce publishes no OpenAPI description of the REST API: "
                            "tests/plugins/salesforce/fake.py is a stateful fake following the "
                            "REST API Developer Guide (sobjects, upsert, SOQL with "
                            "nextRecordsUrl, describe, limits, error bodies, "
                            "Sforce-Limit-Info, the OAuth token endpoint)."),
)
